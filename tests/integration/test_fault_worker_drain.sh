# SIGTERM a worker mid-run: it hands back the jobs it had not started at
# once, lets its running jobs finish within its grace, hands back (as
# cancelled) the ones that did not, says Goodbye and exits 0 within the
# grace. Nothing is lost, nothing fails, nothing counts as a lost worker.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/audit.sh"

fast=(--heartbeat 200ms --liveness 3)
grace_ms=500
start_broker "${fast[@]}"

# Long jobs first, then short ones, all queued before w2 starts alone: it
# takes the first four, runs two (past its grace) and prefetches two.
long="$TEST_DIR/long"
for _ in $(seq 6); do echo 2500; done | submit_many sleep "$long"
short="$TEST_DIR/short"
for i in $(seq 300); do echo $((20 + i * 7 % 31)); done |
    submit_many sleep "$short"
start_worker w2 "${fast[@]}" --threads 2 --prefetch 2 --grace "${grace_ms}ms" \
    --queue sleep
victim=$LAST_PID
wait_workers 1
start_worker w1 "${fast[@]}" --threads 2 --queue sleep
start_worker w3 "${fast[@]}" --threads 2 --queue sleep
wait_workers 3
sleep 0.3

mapfile -t held < <(held_by w2 "$long")
[ "${#held[@]}" -ge 2 ] || fail "w2 holds ${#held[@]} long jobs, expected 4"
term_ms=$(date +%s%3N)
kill -TERM "$victim"
rc=0
for _ in $(seq 1000); do
    kill -0 "$victim" 2>/dev/null || break
    sleep 0.02
done
kill -0 "$victim" 2>/dev/null && fail "w2 still runs 20 s after SIGTERM"
exit_ms=$(($(date +%s%3N) - term_ms))
wait "$victim" || rc=$?
[ "$rc" = 0 ] || fail "w2 exited $rc after SIGTERM"
[ "$exit_ms" -le $((grace_ms + 1500)) ] ||
    fail "w2 took $exit_ms ms to leave with a $grace_ms ms grace"
grep -q 'event=worker_drain .*returned=[1-9]' "$TEST_DIR/worker-w2.log" ||
    fail "w2 handed back no prefetched job at the drain"
grep -q 'event=drain_cancel running=[1-9]' "$TEST_DIR/worker-w2.log" ||
    fail "w2 cancelled no running job at the end of its grace"

cat "$long" "$short" >"$TEST_DIR/ids"
wait_final 60 "$TEST_DIR/ids"
audit_ids "$TEST_DIR/ids" succeeded
for counter in failed dead worker_lost running; do
    [ "$(stat_of "$counter")" = 0 ] ||
        fail "stats: $counter is $(stat_of "$counter") after a drain"
done
elsewhere=$(jq -r "select(.id == ($(IFS=,; echo "${held[*]}"))) |
    select(.worker != \"w2\") | .id" "$TEST_DIR/audit.json" | wc -l)
[ "$elsewhere" = "${#held[@]}" ] ||
    fail "of ${#held[@]} long jobs on w2, $elsewhere finished elsewhere"
pass "w2 drained in $exit_ms ms (grace $grace_ms ms), exit 0;" \
    "${#held[@]} long jobs handed back and run elsewhere; 306 succeeded once"
