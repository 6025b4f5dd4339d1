# A worker cut off (SIGSTOP) past the liveness window comes back late
# (SIGCONT): the broker had requeued its jobs and they ran elsewhere; the
# results it then sends for the superseded attempts are fenced out and
# counted, and every job has exactly one final result, from its current
# attempt (each result names the attempt that made it).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/audit.sh"

beat_ms=200
liveness=3
fast=(--heartbeat "${beat_ms}ms" --liveness "$liveness")
start_broker "${fast[@]}"
# The quotes keep $ZJOB_ID for the exec child to expand.
# shellcheck disable=SC2016
handler='att=exec:sh -c '\''sleep 0.4; echo "$ZJOB_ID $ZJOB_ATTEMPT"'\'
start_worker w1 "${fast[@]}" --threads 3 --queue "$handler"
victim=$LAST_PID
start_worker w2 "${fast[@]}" --threads 3 --queue "$handler"
wait_workers 2

ids="$TEST_DIR/ids"
seq 30 | submit_many att "$ids"
sleep 0.2
cut_off_worker w1 "$victim" STOP "$ids"
# Stay away well past the liveness window: its jobs' children finish
# meanwhile, so w1 has attempt-1 results to send when it comes back.
sleep 1
kill -CONT "$victim"

wait_final 60 "$ids"
audit_ids "$ids" succeeded
wait_workers 2
stale=""
for _ in $(seq 50); do
    stale=$(stat_of stale_results)
    [ "$stale" -gt 0 ] && break
    sleep 0.1
done
[ "$stale" -gt 0 ] || fail "stats: no stale result fenced out (stale=$stale)"
# The result of every job comes from the attempt the broker counts.
mismatch=$(jq -r 'select(.result != "\(.id) \(.attempt)\n") |
    "\(.id) attempt \(.attempt) result \(.result)"' "$TEST_DIR/audit.json")
[ -z "$mismatch" ] || fail "results from another attempt: $mismatch"
rerun=$(jq -r "select(.id == ($(IFS=,; echo "${HELD[*]}"))) |
    select(.attempt >= 2) | .id" "$TEST_DIR/audit.json" | wc -l)
[ "$rerun" = "${#HELD[@]}" ] ||
    fail "of ${#HELD[@]} jobs held by the stopped w1, $rerun ran again"
pass "stopped w1 holding ${#HELD[@]} jobs; requeued in $RECOVERY_MS ms" \
    "(bound $((liveness * beat_ms + beat_ms + 500)) ms); $stale stale results fenced; 30 succeeded once," \
    "each result from its final attempt"
