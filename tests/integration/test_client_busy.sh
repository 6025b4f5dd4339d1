# Backpressure as the client sees it: `zjob map` backs off and sends
# refused jobs again until a worker drains the queue (all 300 results, in
# order); `zjob submit` to a full queue says "try later" and exits 3.
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
pass "map got all 300 results past a 50-job limit ($busy refusals); submit said try later"
