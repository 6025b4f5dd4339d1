# The broker is killed and restarted on its journal while a worker runs a
# job and holds an unacknowledged result: the worker does not wait out its
# liveness window (set long here) but registers again as soon as the new
# broker answers "unknown worker", names the jobs it holds and re-sends its
# results; both jobs end succeeded exactly once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/audit.sh"

broker_args=(--heartbeat 200ms --liveness 3 --journal "$TEST_DIR/journal"
    --fsync always)
mkdir -p "$TEST_DIR/journal"
start_broker_fixed "${broker_args[@]}"
# Liveness 10 x 200 ms: silence alone would take 2 s to notice.
start_worker w1 --heartbeat 200ms --liveness 10 --threads 2 --queue sleep
wait_workers 1

ids="$TEST_DIR/ids"
"$ZJOB" submit sleep 300 >>"$ids"  # finishes while the broker is down
"$ZJOB" submit sleep 1500 >>"$ids" # still runs when the broker is back
sleep 0.1
kill -KILL "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null || true
sleep 0.5
restart_ms=$(date +%s%3N)
restart_broker "${broker_args[@]}"
wait_workers 1
rejoin_ms=$(($(date +%s%3N) - restart_ms))
[ "$rejoin_ms" -lt 1500 ] ||
    fail "w1 took $rejoin_ms ms to register with the restarted broker"
grep -q 'event=worker_reregister' "$TEST_DIR/worker-w1.log" ||
    fail "w1 did not register again on 'unknown worker'"
! grep -q 'event=broker_lost' "$TEST_DIR/worker-w1.log" ||
    fail "w1 waited for silence instead of re-registering"

wait_final 30 "$ids"
audit_ids "$ids" succeeded
attempts=$(jq -r .attempt "$TEST_DIR/audit.json" | tr '\n' ' ')
pass "w1 rejoined the restarted broker in $rejoin_ms ms;" \
    "2 jobs succeeded once (attempts: $attempts)"
