# `zjob map` rides through a broker SIGKILL and restart on the same
# endpoints and journal (--fsync always): every input line comes out
# exactly once, in input order. Needs the broker journal.
source "$(dirname "$0")/lib.sh"

fast=(--heartbeat 200ms --liveness 3)
journal=(--journal "$TEST_DIR/journal" --fsync always)
# The broker comes back on the same ports (see start_broker_fixed).
source "$(dirname "$0")/audit.sh"
start_broker_fixed "${fast[@]}" "${journal[@]}"
slow='slow=exec:sh -c "sleep 0.02; cat"'
start_worker w1 "${fast[@]}" --threads 8 --queue "$slow"
start_worker w2 "${fast[@]}" --threads 8 --queue "$slow"
wait_workers 2

seq 1 2000 | sed 's/^/line-/' >"$TEST_DIR/input"
ZJOB_DOWN_TIMEOUT=60s timeout 150 "$ZJOB" map slow "$TEST_DIR/input" \
    --window 500 >"$TEST_DIR/output" 2>"$TEST_DIR/map.log" &
map_pid=$!
PIDS+=("$map_pid")
for _ in $(seq 300); do
    [ "$(wc -l <"$TEST_DIR/output")" -ge 200 ] && break
    kill -0 "$map_pid" 2>/dev/null || break
    sleep 0.1
done
done_before=$(wc -l <"$TEST_DIR/output")
[ "$done_before" -lt 2000 ] || fail "map ended before the broker was killed"

kill -KILL "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null || true
sleep 1
restart_broker "${fast[@]}" "${journal[@]}"

set +e
wait "$map_pid"
rc=$?
set -e
[ "$rc" = 0 ] || fail "map exited $rc across the restart: $(tail -3 \
    "$TEST_DIR/map.log")"
lines=$(wc -l <"$TEST_DIR/output")
[ "$lines" = 2000 ] || fail "map printed $lines lines, want 2000"
cmp -s "$TEST_DIR/input" "$TEST_DIR/output" ||
    fail "output differs from input: $(diff "$TEST_DIR/input" \
        "$TEST_DIR/output" | head -5)"
pass "2000 lines exactly once and in order; broker killed after $done_before"
