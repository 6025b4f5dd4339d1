# Backpressure as the client sees it: `zjob map` backs off and sends
# refused jobs again until a worker drains the queue (all 300 results, in
# order); `zjob submit` to a full queue says "try later" and exits 3; and
# map keeps the worker busy under a queue limit: 3000 lines through
# --max-queue 100 and 1000 through --max-queue 10 finish in seconds, with
# refusals a small multiple of the jobs (before its in-flight limit, map
# took 20 s and 37,000 refusals for the first, 120 s for 1,700 lines of
# the second).
source "$(dirname "$0")/lib.sh"

start_broker --max-queue 50
seq 1 300 | sed 's/^/busy-/' >"$TEST_DIR/input"
timeout 60 "$ZJOB" map echo "$TEST_DIR/input" >"$TEST_DIR/output" \
    2>"$TEST_DIR/map.log" &
map_pid=$!
sleep 2
kill -0 "$map_pid" 2>/dev/null || fail "map ended without a worker"
start_worker w1 --threads 4 --queue echo
set +e
wait "$map_pid"
rc=$?
set -e
[ "$rc" = 0 ] || fail "map exited $rc: $(tail -3 "$TEST_DIR/map.log")"
cmp -s "$TEST_DIR/input" "$TEST_DIR/output" ||
    fail "map output differs: $(diff "$TEST_DIR/input" "$TEST_DIR/output" |
        head -5)"
busy=$("$ZJOB" stats --json | jq .rejected_busy)
[ "$busy" -gt 0 ] || fail "the broker refused nothing (rejected_busy=$busy)"

# A queue nobody serves fills up; the next submit is told to try later.
seq 1 50 | sed 's/^/held-/' | timeout 30 "$ZJOB" map held --window 50 \
    >/dev/null 2>&1 &
fill_pid=$!
for _ in $(seq 100); do
    [ "$("$ZJOB" queues --json | jq '[.[] | select(.name == "held")][0].queued')" = 50 ] && break
    sleep 0.1
done
set +e
"$ZJOB" submit held one-too-many >"$TEST_DIR/submit.out" 2>"$TEST_DIR/submit.err"
rc=$?
set -e
kill "$fill_pid" 2>/dev/null || true
wait "$fill_pid" 2>/dev/null || true
[ "$rc" = 3 ] || fail "submit to a full queue exited $rc, want 3: \
$(cat "$TEST_DIR/submit.err")"
grep -q "try later" "$TEST_DIR/submit.err" ||
    fail "no 'try later' in: $(cat "$TEST_DIR/submit.err")"

# map_limited MAX_QUEUE LINES: map LINES echo jobs through a broker with
# --max-queue MAX_QUEUE and one worker; complete, in order, under 15 s
# (the sanitizer build, two tests at once), refusals under 5 per job.
map_limited() {
    local limit=$1 lines=$2 start took refused
    start_broker --max-queue "$limit"
    start_worker "w$limit" --threads 4 --queue echo
    wait_workers 1
    seq 1 "$lines" | sed 's/^/line-/' >"$TEST_DIR/in-$limit"
    start=$(date +%s%3N)
    timeout 60 "$ZJOB" map echo "$TEST_DIR/in-$limit" \
        >"$TEST_DIR/out-$limit" 2>"$TEST_DIR/map-$limit.log" ||
        fail "map under --max-queue $limit exited $?"
    took=$(($(date +%s%3N) - start))
    cmp -s "$TEST_DIR/in-$limit" "$TEST_DIR/out-$limit" ||
        fail "map under --max-queue $limit: output differs"
    refused=$("$ZJOB" stats --json | jq .rejected_busy)
    [ "$took" -lt 15000 ] ||
        fail "map of $lines lines under --max-queue $limit took $took ms"
    [ "$refused" -lt $((lines * 5)) ] ||
        fail "map under --max-queue $limit: $refused refusals for $lines jobs"
    FIGURES="${FIGURES:-}; --max-queue $limit: $lines lines in $took ms, \
$refused refusals"
}
map_limited 100 3000
map_limited 10 1000
pass "map got all 300 results past a 50-job limit ($busy refusals); \
submit said try later${FIGURES}"
