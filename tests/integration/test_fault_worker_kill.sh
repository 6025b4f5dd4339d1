# SIGKILL a worker while it runs jobs: the broker notices its silence and
# requeues what it held within liveness x heartbeat (plus one heartbeat
# tick), the jobs run elsewhere and all 400 succeed, each exactly once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/audit.sh"

beat_ms=200
liveness=3
fast=(--heartbeat "${beat_ms}ms" --liveness "$liveness")
start_broker "${fast[@]}"

ids="$TEST_DIR/ids"
for i in $(seq 400); do echo $((20 + i * 7 % 31)); done |
    submit_many sleep "$ids"

for name in w1 w2 w3; do
    start_worker "$name" "${fast[@]}" --threads 2 --queue sleep
    [ "$name" = w2 ] && victim=$LAST_PID
done
wait_workers 3
sleep 0.5

cut_off_worker w2 "$victim" KILL "$ids"

wait_final 60 "$ids"
audit_ids "$ids" succeeded
lost=$(stat_of worker_lost)
[ "$lost" -gt 0 ] || fail "stats: worker_lost is $lost after a SIGKILL"
[ "$(stat_of running)" = 0 ] || fail "stats: jobs left running"
# A Done sent just before the kill may still land, so a held job can end
# on w2 at attempt 1; the rest ran again elsewhere, at a later attempt.
moved=$(jq -r "select(.id == ($(IFS=,; echo "${HELD[*]}"))) |
    select(.worker != \"w2\") | .attempt" "$TEST_DIR/audit.json")
[ -n "$moved" ] || fail "no job held by the killed w2 finished elsewhere"
! grep -qx 1 <<<"$moved" || fail "a requeued job kept its first attempt"
pass "killed w2 holding ${#HELD[@]} jobs; requeued in $RECOVERY_MS ms" \
    "(bound $((liveness * beat_ms + beat_ms + 500)) ms); 400 succeeded once; worker_lost=$lost"
