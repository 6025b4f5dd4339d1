# Adaptive prefetch: a worker that ran short jobs holds many beyond its
# threads, yet long jobs still go to idle threads on every worker first,
# and once its jobs run long it gives that credit back, so nothing waits
# on one worker while another could run it.
source "$(dirname "$0")/lib.sh"

start_broker
start_worker w1 --threads 2 --queue echo --queue sleep
wait_workers 1
seq 3000 >"$TEST_DIR/input"
"$ZJOB" map echo "$TEST_DIR/input" >"$TEST_DIR/output"
cmp -s "$TEST_DIR/input" "$TEST_DIR/output" || fail "map output differs"
start_worker w2 --threads 2 --queue echo --queue sleep
wait_workers 2

# running_on NAME: jobs the broker counts as running on worker NAME.
running_on() {
    "$ZJOB" workers --json | jq ".[] | select(.name == \"$1\") | .running"
}

# run_sleeps N: sends N sleeps of 1.5 s in one batch (zjob map), waits
# until 4 of them run (or all N when fewer), and prints "running-on-w1
# running-on-w2 queued".
run_sleeps() {
    local want=$(($1 < 4 ? $1 : 4)) w1 w2 queued
    seq "$1" | sed 's/.*/1500/' | "$ZJOB" map sleep >/dev/null &
    local map=$!
    for _ in $(seq 50); do
        w1=$(running_on w1)
        w2=$(running_on w2)
        [ $((w1 + w2)) -ge "$want" ] && break
        sleep 0.05
    done
    queued=$("$ZJOB" queues --json | jq '.[] | select(.name == "sleep") |
        .queued')
    echo "$w1 $w2 $queued"
    wait "$map" || fail "map of sleeps exited $?"
}

# w1 arrives with its prefetch grown; the long jobs still spread.
spread=$(run_sleeps 4)
[ "$spread" = "2 2 0" ] ||
    fail "4 long jobs on w1, w2, queued: $spread (want 2 2 0)"
# Now w1 has given its prefetch back: 4 threads in all, 2 jobs wait.
spread=$(run_sleeps 6)
[ "$spread" = "2 2 2" ] ||
    fail "6 long jobs on w1, w2, queued: $spread (want 2 2 2)"
pass "long jobs spread over idle threads first; the grown prefetch was" \
    "given back"
