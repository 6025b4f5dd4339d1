# Broker and workers with different heartbeat intervals: liveness follows
# the slower of the two on both sides, so a long job on a worker that beats
# less often than the broker expects is not taken for lost, and a worker
# does not give up on a broker that beats less often than it does.
source "$(dirname "$0")/lib.sh"

start_broker --heartbeat 200ms --liveness 3
start_worker slow --heartbeat 1s --queue sleep
start_worker quick --heartbeat 100ms --liveness 2 --queue echo
wait_workers 2

id=$("$ZJOB" submit sleep 3000)
echo=$("$ZJOB" submit echo hi)
timeout 30 "$ZJOB" wait "$id" "$echo" >/dev/null ||
    fail "jobs did not succeed: $("$ZJOB" status "$id" "$echo")"
[ "$(job_field "$id" attempt)" = 1 ] ||
    fail "the long job ran $(job_field "$id" attempt) times"
lost=$("$ZJOB" stats --json | jq .worker_lost)
[ "$lost" = 0 ] || fail "workers counted lost $lost times"
grep -q "event=worker_heartbeat_slower worker=slow " "$TEST_DIR/broker.log" ||
    fail "broker did not note the slower worker"
# the quick worker stayed registered the whole time (it would re-register
# after losing a broker it thought silent)
! grep -q "event=worker_reregister\|event=broker_lost" \
    "$TEST_DIR/worker-quick.log" ||
    fail "the quick worker lost the broker: $(cat "$TEST_DIR/worker-quick.log")"
pass "3 s job on a 1 s-heartbeat worker under a 200 ms broker: attempt 1;" \
    "a 100 ms worker keeps a 200 ms broker"
