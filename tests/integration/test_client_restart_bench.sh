# The pipelined client API rides through a broker restart even when its
# caller polls without waiting (zjob_client_poll with timeout 0, as
# zjob-bench does while its window has room): the broker is SIGKILLed
# while results stream back and restarted on the same journal and
# endpoints; the bench still collects every one of its jobs.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/audit.sh"

count=5000
fast=(--heartbeat 200ms --liveness 3)
journal=(--journal "$TEST_DIR/journal" --fsync always)
start_broker_fixed "${fast[@]}" "${journal[@]}"
# prefetch 0: slow enough that the kill lands while jobs are in flight
start_worker w1 "${fast[@]}" --threads 1 --prefetch 0 --queue echo
wait_workers 1

timeout 120 "$BIN/zjob-bench" --broker "$ZJOB_BROKER" --count "$count" \
    --window "$count" --deadline 60s >"$TEST_DIR/bench.out" \
    2>"$TEST_DIR/bench.log" &
bench_pid=$!

# SIGKILL the broker once a few hundred results went out, not all.
done_at_kill=0
for _ in $(seq 400); do
    done_at_kill=$("$ZJOB" stats --json 2>/dev/null | jq -r .succeeded) ||
        done_at_kill=0
    [ "${done_at_kill:-0}" -ge 300 ] && break
    sleep 0.05
done
kill -KILL "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null || true
[ "$done_at_kill" -ge 300 ] || fail "only $done_at_kill jobs done in 20 s"
[ "$done_at_kill" -lt "$count" ] ||
    fail "all $count jobs were done before the kill: nothing to ride through"
sleep 1
restart_broker "${fast[@]}" "${journal[@]}"

rc=0
wait "$bench_pid" || rc=$?
[ "$rc" = 0 ] || fail "zjob-bench exited $rc after the restart: \
$(tail -n 3 "$TEST_DIR/bench.out" "$TEST_DIR/bench.log")"
grep -q "^completed $count of $count jobs" "$TEST_DIR/bench.out" ||
    fail "bench did not report $count jobs: $(cat "$TEST_DIR/bench.out")"
pass "zjob-bench collected all $count results across a broker SIGKILL \
and restart ($done_at_kill done at the kill)"
