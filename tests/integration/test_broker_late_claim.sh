# A worker that comes back after the broker gave up waiting for it: the
# broker restarts while the worker is stopped (SIGSTOP), requeues the
# jobs nobody claimed, and then the worker registers holding them.
# 1. Nobody took them since: the worker gets them back at the same
#    attempt, and each runs once.
# 2. Another worker runs one again: the broker tells the first worker to
#    cancel its stale attempt at once, instead of letting it run on.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/audit.sh"
source "$(dirname "$0")/broker_faults.sh"

fast=(--heartbeat 200ms --liveness 3)
jargs=(--journal "$JOURNAL" --fsync always)
start_broker_fixed "${fast[@]}" "${jargs[@]}"
start_worker w1 "${fast[@]}" --threads 2 --queue sleep
w1=$LAST_PID
wait_workers 1

# wait_running IDS_FILE N: waits up to 10 s until N jobs of the file run.
wait_running() {
    for _ in $(seq 100); do
        [ "$(states_of "$1" | grep -c ' running$')" = "$2" ] && return 0
        sleep 0.1
    done
    fail "fewer than $2 jobs running after 10 s"
}

# restart_while_stopped: stops w1, SIGKILLs and restarts the broker, waits
# past the broker's 600 ms claim window, and lets w1 go on.
restart_while_stopped() {
    kill -STOP "$w1"
    kill_broker
    timed_restart "${fast[@]}" "${jargs[@]}"
    sleep 1.5
    kill -CONT "$w1"
}

# 1. Requeued, not taken by anyone: claimed back.
first="$TEST_DIR/first"
for ms in 2500 2600; do "$ZJOB" submit sleep "$ms" >>"$first"; done
wait_running "$first" 2
restart_while_stopped
wait_workers 1
claimed=$(log_field worker_joined claimed)
[ "$claimed" = 2 ] || fail "w1 claimed $claimed of its 2 requeued jobs"
wait_final 30 "$first"
audit_ids "$first" succeeded
attempts=$(jq -r .attempt "$TEST_DIR/audit.json" | sort -u | tr '\n' ' ')
[ "$attempts" = "1 " ] || fail "attempts after the late claim: $attempts"

# 2. Requeued and run by w2: w1's attempt is cancelled.
second="$TEST_DIR/second"
"$ZJOB" submit sleep 8000 >"$second"
wait_running "$second" 1
start_worker w2 "${fast[@]}" --threads 1 --queue sleep
wait_workers 2
restart_while_stopped
id=$(cat "$second")
for _ in $(seq 50); do
    [ "$(job_field "$id" worker)" = w2 ] && break
    sleep 0.1
done
[ "$(job_field "$id" worker)" = w2 ] || fail "the job did not move to w2"
cancelled_ms=
started=$(now_ms)
for _ in $(seq 30); do
    if [ "$(stat_of stale_results)" -ge 1 ]; then
        cancelled_ms=$(($(now_ms) - started))
        break
    fi
    sleep 0.1
done
[ -n "$cancelled_ms" ] ||
    fail "w1 still ran the stale attempt 3 s after it came back"
wait_final 30 "$second"
audit_ids "$second" succeeded
[ "$(job_field "$id" attempt)" = 2 ] ||
    fail "attempt $(job_field "$id" attempt), want 2"
pass "2 late jobs claimed back at attempt 1; a stale attempt cancelled" \
    "${cancelled_ms} ms after its worker came back"
