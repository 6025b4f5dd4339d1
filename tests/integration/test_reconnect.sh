# A worker that reconnects after a broker pause keeps the jobs it runs
# (no rerun, nothing stale); a worker restarted under the same name gets
# its lost jobs requeued at once rather than after its liveness window.
source "$(dirname "$0")/lib.sh"

fast=(--heartbeat 200ms --liveness 3)
start_broker "${fast[@]}"
start_worker w1 "${fast[@]}" --threads 2 --queue sleep
wait_workers 1

a=$("$ZJOB" submit sleep 2500)
b=$("$ZJOB" submit sleep 2500)
sleep 0.5
kill -STOP "$BROKER_PID"
sleep 1.5 # past the worker's 600 ms liveness: it reconnects
kill -CONT "$BROKER_PID"
timeout 20 "$ZJOB" wait "$a" "$b" >/dev/null || fail "wait exited $?"
for id in "$a" "$b"; do
    [ "$(job_field "$id" attempt)" = 1 ] ||
        fail "job $id ran again (attempt $(job_field "$id" attempt))"
done
"$ZJOB" stats --json >"$TEST_DIR/stats.json"
[ "$(jq .worker_lost "$TEST_DIR/stats.json")" = 0 ] ||
    fail "reconnect counted as lost: $(cat "$TEST_DIR/stats.json")"
[ "$("$ZJOB" workers --json | jq length)" = 1 ] || fail "stale registration"

# A long pause while jobs flow: the worker reconnects several times and
# the broker, once back, replays every queued Register; dispatches that
# went to connections the worker had dropped are requeued, not stranded.
ids=()
for _ in $(seq 30); do ids+=("$("$ZJOB" submit sleep 300)"); done
sleep 0.2
kill -STOP "$BROKER_PID"
sleep 4
kill -CONT "$BROKER_PID"
timeout 40 "$ZJOB" wait "${ids[@]}" >/dev/null || fail "wait after pause $?"
finished=$("$ZJOB" status --json "${ids[@]}" | jq -r .state | sort | uniq -c)
[ "$(echo "$finished" | awk '{print $2}')" = succeeded ] ||
    fail "after a 4 s broker pause: $finished"
[ "$("$ZJOB" stats --json | jq .running)" = 0 ] || fail "jobs left running"

# Kill the worker mid-job and start another process under its name: the
# job is requeued as soon as the newcomer registers.
c=$("$ZJOB" submit sleep 4000 --attempts 1)
sleep 0.5
kill -KILL "$LAST_PID"
sleep 0.3
start_worker w1 "${fast[@]}" --threads 2 --queue sleep
start_ms=$(date +%s%3N)
timeout 20 "$ZJOB" wait "$c" >/dev/null || fail "requeued job: wait $?"
elapsed=$(($(date +%s%3N) - start_ms))
[ "$(job_field "$c" attempt)" = 2 ] || fail "job was not run again"
[ "$elapsed" -lt 4800 ] ||
    fail "requeue after restart took $elapsed ms for a 4000 ms job"
pass "reconnect kept 2 jobs at attempt 1; 30 jobs survived a 4 s pause; restart requeued in time"
