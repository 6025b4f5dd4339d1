# A job that kills every worker it runs on (the crash plugin) is given up
# as dead, with the lost-worker reason, while 200 other jobs on the same
# queue flow and succeed, and two long jobs that share its workers (four
# threads each) are not blamed: after the broker's limit of lost workers
# every job on them runs alone, and only the one that still kills its
# worker alone ends dead. The test restarts the killed workers itself, a
# bounded number of times.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/audit.sh"

plugin="$ZJOB_BIN_DIR/worker/zjob-plugin-crash.so"
[ -f "$plugin" ] || fail "crash plugin not built at $plugin"
max_lost=3 # the broker's default
fast=(--heartbeat 200ms --liveness 3)
broker_args=("${fast[@]}")
if "$BIN/zjob-broker" --help | grep -q -- '--max-lost'; then
    broker_args+=(--max-lost "$max_lost")
fi
start_broker "${broker_args[@]}"
for name in wa wb; do
    supervise_worker "$name" $((3 * max_lost)) "${fast[@]}" --threads 4 \
        --queue "crashy=plugin:$plugin" --queue sleep
done
wait_workers 2

ids="$TEST_DIR/ids"
long="$TEST_DIR/long"
seq 100 | sed 's/^/ok-/' | submit_many crashy "$ids"
for _ in 1 2 3 4; do "$ZJOB" submit sleep 1500 >>"$long"; done
crash=$("$ZJOB" submit crashy crash)
seq 101 200 | sed 's/^/ok-/' | submit_many crashy "$ids"
echo "$crash" >>"$ids"

wait_final 90 "$ids"
wait_final 90 "$long"
audit_ids "$long" succeeded
audit_ids "$ids"
state=$(job_field "$crash" state)
error=$(job_field "$crash" error)
[ "$state" = dead ] || fail "the crashing job ended $state, not dead"
grep -q -E 'worker.*(lost|died)' <<<"$error" || fail "dead job's reason is '$error'"
others=$(jq -r "select(.id != $crash) | .state" "$TEST_DIR/audit.json" |
    sort | uniq -c | tr -s ' \n' ' ')
[ "$others" = " 200 succeeded " ] || fail "the other jobs ended: $others"
bad=$(jq -r "select(.id != $crash and (.result | test(\"^ok-[0-9]+$\") |
    not)) | .id" "$TEST_DIR/audit.json" | head -3)
[ -z "$bad" ] || fail "jobs with a result that is not their payload: $bad"
restarts=$(cat "$TEST_DIR"/restarts-* | wc -l)
# max-lost crashes, plus one alone when it always had company
[ "$restarts" -ge "$max_lost" ] && [ "$restarts" -le $((max_lost + 1)) ] ||
    fail "workers crashed $restarts times for a limit of $max_lost"
lost=$(stat_of worker_lost)
[ "$lost" -ge "$max_lost" ] || fail "stats: worker_lost is $lost"
[ "$(stat_of dead)" = 1 ] || fail "stats: dead is $(stat_of dead), not 1"
wait_workers 2 # both restarted and serving again
pass "crash job dead after $restarts worker crashes ($error);" \
    "200 others succeeded once; worker_lost=$lost"
