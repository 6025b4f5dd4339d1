# The broker gathers a worker's DoneAcks for a few milliseconds (or until
# it holds a batch of ids) instead of answering every Done at once; every
# outcome must still be acknowledged. A worker stopped after its jobs are
# done says in its goodbye how many outcomes were never acknowledged: none,
# both after a pipelined map (batches) and after jobs run one at a time
# (each ack left to the broker's timer).
source "$(dirname "$0")/lib.sh"

start_broker
start_worker w1 --threads 2 --queue echo
worker=$LAST_PID
wait_workers 1

seq 1000 | "$ZJOB" map echo >"$TEST_DIR/out"
seq 1000 | cmp - "$TEST_DIR/out" || fail "map output differs"
for n in $(seq 5); do
    [ "$("$ZJOB" submit echo "one-$n" --wait)" = "one-$n" ] ||
        fail "job one-$n did not echo"
done
# the last acks wait for the broker's timer (milliseconds), not longer
sleep 0.3

kill -TERM "$worker"
for _ in $(seq 100); do
    kill -0 "$worker" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$worker" 2>/dev/null && fail "worker did not stop in 10 s"
line=$(grep worker_goodbye "$TEST_DIR/worker-w1.log" || true)
[ -n "$line" ] || fail "no worker_goodbye line in the worker's log"
finished=$(sed -n 's/.*finished=\([0-9]*\).*/\1/p' <<<"$line")
unacked=$(sed -n 's/.*unacked=\([0-9]*\).*/\1/p' <<<"$line")
[ "$finished" = 1005 ] || fail "worker finished $finished jobs, not 1005"
[ "$unacked" = 0 ] || fail "$unacked outcomes never acknowledged: $line"
pass "1005 outcomes (a map of 1000, then 5 one at a time) all acknowledged"
