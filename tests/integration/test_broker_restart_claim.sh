# A worker keeps running its jobs while the broker is SIGKILLed and
# restarted on the same journal and endpoints: when it registers again it
# claims what it holds, the broker hands none of it to anyone else, and
# each job finishes once, at attempt 1, with its own result.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/audit.sh"
source "$(dirname "$0")/broker_faults.sh"

fast=(--heartbeat 200ms --liveness 3)
jargs=(--journal "$JOURNAL" --fsync always)
start_broker_fixed "${fast[@]}" "${jargs[@]}"
start_worker w1 "${fast[@]}" --threads 4 --queue sleep
start_worker w2 "${fast[@]}" --threads 4 --queue sleep
wait_workers 2

# Eight jobs of 3 to 3.7 s: four on each worker, all running at the kill.
ids="$TEST_DIR/ids"
for i in $(seq 8); do "$ZJOB" submit sleep $((3000 + i * 100)) >>"$ids"; done
for _ in $(seq 100); do
    [ "$(states_of "$ids" | grep -c ' running$')" = 8 ] && break
    sleep 0.1
done
[ "$(states_of "$ids" | grep -c ' running$')" = 8 ] ||
    fail "the eight jobs were not all running in 10 s"
started=$(now_ms)
kill_broker
sleep 0.5
timed_restart "${fast[@]}" "${jargs[@]}"
wait_workers 2
[ "$(log_field journal_replayed running)" = 8 ] ||
    fail "replay found $(log_field journal_replayed running) running, want 8"
claimed=$(grep ' event=worker_joined ' "$BROKER_LOG" | tail -n 2 |
    sed 's/.* claimed=\([0-9]*\).*/\1/' | awk '{sum += $1} END {print sum}')
[ "$claimed" = 8 ] || fail "workers claimed $claimed of 8 jobs"

wait_final 30 "$ids"
done_ms=$(($(now_ms) - started))
audit_ids "$ids" succeeded
attempts=$(jq -r .attempt "$TEST_DIR/audit.json" | sort -u | tr '\n' ' ')
[ "$attempts" = "1 " ] || fail "attempts after the restart: $attempts"
i=0
while read -r id; do
    i=$((i + 1))
    [ "$("$ZJOB" result "$id")" = $((3000 + i * 100)) ] ||
        fail "job $id has result '$("$ZJOB" result "$id")'"
done <"$ids"
# A job run again would have started after the kill.
late=$(jq -r "select(.started_ms >= $started) | .id" "$TEST_DIR/audit.json")
[ -z "$late" ] || fail "jobs started again after the kill: $late"
[ "$(stat_of retried)" = 0 ] || fail "stats: retried=$(stat_of retried)"
[ "$(stat_of worker_lost)" = 0 ] || fail "stats: a worker counted lost"
pass "8 jobs claimed by 2 workers, done at attempt 1 ${done_ms} ms after" \
    "the kill; restart_ms=$RESTART_MS replay_ms=$REPLAY_MS"
