# SIGKILL the broker mid-run with --fsync batch (group commit) and restart
# it on the same journal and endpoints: every acknowledged job of 3000
# (1500 in a sanitizer build) comes to exactly one final state and none is
# lost.
#
# Why a process kill shows no batch window: SIGKILL ends the process, not
# the machine. Every write(2) the broker made is in the page cache, which
# the kernel keeps and writes out; only a power loss or kernel crash drops
# what was written but not yet fsynced. And the broker releases a
# SubmitReply only once its batch is fsynced, so even a machine crash
# loses no acknowledged job: what batch mode can lose is a submission in
# the group being written, whose client has not been answered and sends
# it again (with its key); test_broker_crash_window.sh plays such a
# machine crash. The price of batch is latency, not loss, so that is what
# is measured here, on a journal of its own, per mode: the time of 50
# submits one after another (each waits until its record is durable), and
# of a map of 3000 echo jobs (1000 in a sanitizer build; a window of jobs
# in flight) with the jobs per fsync over it (the mean group size).
# Expected loss under a kill: zero, asserted below.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/audit.sh"
source "$(dirname "$0")/broker_faults.sh"

# measure MODE: prints "MODE submit_ms=.. map_N_ms=.. jobs_per_sync=.."
# for a broker with `--fsync MODE` on the measurement journal.
measure() {
    local mode=$1 begin submit_ms map_ms syncs per_sync=n/a
    restart_broker --journal "$TEST_DIR/measure" --fsync "$mode"
    wait_workers 1
    begin=$(now_ms)
    for i in $(seq 50); do "$ZJOB" submit echo "m$i" >/dev/null; done
    submit_ms=$(($(now_ms) - begin))
    syncs=$(stat_of journal_syncs)
    begin=$(now_ms)
    seq "$map_jobs" | "$ZJOB" map echo >"$TEST_DIR/map.out" ||
        fail "the measurement map failed"
    map_ms=$(($(now_ms) - begin))
    syncs=$(($(stat_of journal_syncs) - syncs))
    [ "$(wc -l <"$TEST_DIR/map.out")" = "$map_jobs" ] ||
        fail "map lost results"
    stop_broker
    [ "$syncs" -eq 0 ] ||
        per_sync=$(awk "BEGIN {printf \"%.1f\", $map_jobs / $syncs}")
    echo "$mode submit_ms=$((submit_ms / 50)).$((submit_ms % 50 / 5))" \
        "map_${map_jobs}_ms=$map_ms jobs_per_sync=$per_sync"
}

map_jobs=3000
[ "${ZJOB_SANITIZE_BUILD:-0}" != 1 ] || map_jobs=1000

# The measurement brokers: fixed endpoints, then restarted on them,
# with one worker that follows them.
start_broker_fixed --journal "$TEST_DIR/measure" --fsync never
start_worker m --threads 4 --queue echo
wait_workers 1
stop_broker
figures=()
for mode in never batch always; do
    figures+=("$(measure "$mode")")
done
stop_pid "$LAST_PID"
for line in "${figures[@]}"; do echo "$TEST_NAME: measured: $line"; done
batch_group=$(sed -n 's/^batch .*jobs_per_sync=//p' <<<"${figures[1]}")

jobs=${ZJOB_KILL_JOBS:-3000}
[ "${ZJOB_SANITIZE_BUILD:-0}" != 1 ] || jobs=${ZJOB_KILL_JOBS:-1500}
kill_scenario batch "$jobs"
syncs=$(stat_of journal_syncs)
[ "$syncs" -gt 0 ] || fail "stats: journal_syncs=$syncs in batch mode"
pass "$KILL_FIGURES lost=0 batch_jobs_per_sync=$batch_group" \
    "syncs_since_restart=$syncs"
