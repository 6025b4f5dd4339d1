# Chaos: 20,000 short jobs (echo and sleep) from four submitters while a
# bounded driver SIGKILLs workers and the broker for 60 s (every fourth
# action the broker, the rest a worker picked at random, at random times),
# restarting each (the broker on the same journal and endpoints, with
# --fsync always or batch). Every submission has a key and is sent again
# with it while the broker does not answer (exit 3). At the end: every key
# was acknowledged with one id, ids are distinct, every job is final and
# succeeded, none is missing, a resubmitted key returns its first id, and a
# clean restart replays exactly the jobs submitted (no duplicate).
# ZJOB_CHAOS_JOBS and ZJOB_CHAOS_SECONDS override the size; a sanitizer
# build (ZJOB_SANITIZE_BUILD=1) runs 5,000 jobs for 30 s.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/audit.sh"
source "$(dirname "$0")/broker_faults.sh"

if [ "${ZJOB_SANITIZE_BUILD:-0}" = 1 ]; then
    jobs=${ZJOB_CHAOS_JOBS:-5000} seconds=${ZJOB_CHAOS_SECONDS:-30}
else
    jobs=${ZJOB_CHAOS_JOBS:-20000} seconds=${ZJOB_CHAOS_SECONDS:-60}
fi
max_actions=${ZJOB_CHAOS_ACTIONS:-80}
max_broker_kills=$((seconds / 5))
submitters=4
fast=(--heartbeat 200ms --liveness 3)
# A job whose worker is killed under it is put back in line; here that
# may happen to one job many times, which must not make it dead.
bargs=("${fast[@]}" --journal "$JOURNAL" --max-lost 1000)
export ZJOB_DOWN_TIMEOUT=20s
CHAOS_LOG="$TEST_DIR/chaos.log"

start_broker_fixed "${bargs[@]}" --fsync always
WORKERS=()
for i in 1 2 3; do
    start_worker "w$i" "${fast[@]}" --threads 4 --queue sleep --queue echo
    WORKERS+=("$LAST_PID")
done
wait_workers 3

# snapshot_stats: keeps the broker's counters before it is killed (they
# start from zero in each broker process).
snapshot_stats() {
    timeout 5 "$ZJOB" stats --json >>"$TEST_DIR/stats.json" 2>/dev/null ||
        true
}

# chaos_worker: SIGKILLs one worker at random and starts it again.
chaos_worker() {
    local i=$((RANDOM % 3)) old
    old=${WORKERS[$i]}
    kill -KILL "$old"
    wait "$old" 2>/dev/null || true
    forget_pid "$old"
    sleep "0.$((RANDOM % 5))"
    start_worker "w$((i + 1))" "${fast[@]}" --threads 4 --queue sleep \
        --queue echo
    WORKERS[i]=$LAST_PID
    echo "$(now_ms) kill_worker w$((i + 1)) pid=$old new=$LAST_PID" \
        >>"$CHAOS_LOG"
}

# chaos_broker: SIGKILLs the broker and restarts it on the same journal
# and endpoints, with --fsync always or batch at random.
chaos_broker() {
    local mode=always old=$BROKER_PID down
    [ $((RANDOM % 2)) -eq 0 ] || mode="batch"
    snapshot_stats
    kill_broker
    down=$(now_ms)
    sleep "0.$((RANDOM % 8 + 1))"
    timed_restart "${bargs[@]}" --fsync "$mode"
    echo "$(now_ms) kill_broker pid=$old new=$BROKER_PID mode=$mode" \
        "down_ms=$(($(now_ms) - down)) restart_ms=$RESTART_MS" \
        "replay_ms=$REPLAY_MS jobs=$(log_field journal_replayed jobs)" \
        >>"$CHAOS_LOG"
}

begin=$(now_ms)
export SUBMIT_LIMIT=$((seconds + 240))
start_submitters "$submitters" $((jobs / submitters)) 40
: >"$CHAOS_LOG"
deadline=$((begin + seconds * 1000))
actions=0 broker_kills=0
while [ "$(now_ms)" -lt "$deadline" ] && [ "$actions" -lt "$max_actions" ]; do
    sleep "$((RANDOM % 2)).$((RANDOM % 10))"
    if [ $((actions % 4)) -eq 3 ] && [ "$broker_kills" -lt "$max_broker_kills" ]
    then
        chaos_broker
        broker_kills=$((broker_kills + 1))
    else
        chaos_worker
    fi
    actions=$((actions + 1))
done
chaos_ms=$(($(now_ms) - begin))

# The submitters finish on a calm cluster (within SUBMIT_LIMIT).
wait_submitters
submit_ms=$(($(now_ms) - begin))
refused=$(cat "$TEST_DIR"/s*.failed | wc -l)
[ "$refused" -eq 0 ] || fail "$refused submissions never acknowledged:" \
    "$(cat "$TEST_DIR"/s*.failed | sed -n 1,3p)"
ids="$TEST_DIR/ids"
collect_ids "$ids"
[ "$(wc -l <"$ids")" -eq "$jobs" ] || fail "$(wc -l <"$ids") of $jobs acked"
keys=$(cat "$TEST_DIR"/s*.acks | awk '{print $2}' | sort -u | wc -l)
[ "$keys" -eq "$jobs" ] || fail "$keys distinct keys acknowledged"

wait_final 180 "$ids"
audit_ids "$ids" succeeded

# A key sent again returns its first job, not a new one (a sample).
while read -r _ key id; do
    job_spec "${key%-*}" "${key##*-}"
    again=$("$ZJOB" submit "${SPEC[@]}" --key "$key")
    [ "$again" = "$id" ] || fail "key $key: first $id, again $again"
done < <(cat "$TEST_DIR"/s*.acks | shuf -n 100)

# A clean restart replays exactly the jobs submitted: no duplicate exists.
snapshot_stats
stop_broker
timed_restart "${bargs[@]}" --fsync always
replayed=$(log_field journal_replayed jobs)
[ "$replayed" -eq "$jobs" ] ||
    fail "the journal holds $replayed jobs, $jobs were submitted"

sum_stat() {
    jq -s "map(.$1 // 0) | add" "$TEST_DIR/stats.json"
}
worker_kills=$(grep -c ' kill_worker ' "$CHAOS_LOG" || true)
pass "jobs=$jobs succeeded_once=$jobs worker_kills=$worker_kills" \
    "broker_kills=$broker_kills (restarts $broker_kills+1 clean)" \
    "chaos_ms=$chaos_ms submit_ms=$submit_ms" \
    "total_ms=$(($(now_ms) - begin)) stale_fenced=$(sum_stat stale_results)" \
    "worker_lost=$(sum_stat worker_lost) recovered=$(sum_stat recovered)" \
    "max_restart_ms=$(sed -n 's/.*restart_ms=\([0-9]*\).*/\1/p' \
        "$CHAOS_LOG" | sort -n | tail -n 1)"
