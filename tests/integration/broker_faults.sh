# Helpers for the broker fault tests, sourced after lib.sh and audit.sh:
# kill and restart the broker on its journal and endpoints and time it,
# read fields of its log lines, submit jobs from bounded background loops
# that keep every acknowledged id, and look inside journal segments.

JOURNAL="$TEST_DIR/journal"
BROKER_LOG="$TEST_DIR/broker.log"

# now_ms: milliseconds since the epoch.
now_ms() {
    local t=${EPOCHREALTIME/./}
    echo "${t:0:-3}"
}

# log_field EVENT FIELD [NTH]: FIELD's value in the NTH-last broker log line
# of event=EVENT (1: the last); empty when there is none.
log_field() {
    local line
    line=$(grep " event=$1 " "$BROKER_LOG" | tail -n "${3:-1}" | sed -n 1p)
    sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$line"
}

# log_count EVENT: how many broker log lines have event=EVENT.
log_count() {
    grep -c " event=$1 " "$BROKER_LOG" || true
}

# forget_pid PID: takes a reaped pid off PIDS, so that the clean-up at
# exit never signals a process that reused the number.
forget_pid() {
    local kept=() pid
    for pid in "${PIDS[@]}"; do
        [ "$pid" = "$1" ] || kept+=("$pid")
    done
    PIDS=("${kept[@]}")
}

# stop_pid PID: SIGTERMs one of our processes, gives it 10 s, then
# SIGKILLs it; reaps it and takes it off PIDS.
stop_pid() {
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    forget_pid "$1"
}

# kill_broker: SIGKILLs the broker by its pid and reaps it.
kill_broker() {
    kill -KILL "$BROKER_PID"
    wait "$BROKER_PID" 2>/dev/null || true
    forget_pid "$BROKER_PID"
}

# stop_broker: SIGTERMs the broker, waits for it (10 s at most), reaps it.
stop_broker() {
    kill -TERM "$BROKER_PID"
    for _ in $(seq 100); do
        kill -0 "$BROKER_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$BROKER_PID" 2>/dev/null && fail "broker ignored SIGTERM for 10 s"
    wait "$BROKER_PID" 2>/dev/null || true
    forget_pid "$BROKER_PID"
}

# timed_restart ARG...: restart_broker on the same endpoints with ARG and
# sets RESTART_MS to the milliseconds until it wrote its endpoints (it has
# replayed its journal by then) and REPLAY_MS to the replay's own took_ms.
timed_restart() {
    local begin
    begin=$(now_ms)
    restart_broker "$@"
    RESTART_MS=$(($(now_ms) - begin))
    REPLAY_MS=$(log_field journal_replayed took_ms)
}

# job_spec NAME I: sets SPEC to the queue and payload of job I of a mix of
# short jobs: every fourth an echo of "NAME-I", one in twenty a sleep of
# 100 to 300 ms, the rest sleeps of 5 to 45 ms.
job_spec() {
    local i=$2
    if [ $((i % 4)) -eq 0 ]; then
        SPEC=(echo "$1-$i")
    elif [ $((i % 20)) -eq 1 ]; then
        SPEC=(sleep $((i % 5 * 50 + 100)))
    else
        SPEC=(sleep $((i % 9 * 5 + 5)))
    fi
}

# submitter NAME COUNT TRIES [SUBMIT_ARG...]: submits COUNT jobs of the
# job_spec mix, one `zjob submit` each, keyed NAME-I when TRIES > 1. A
# submission that fails with exit 3 (unreachable or busy) is sent again
# with the same key, TRIES times at most; one that fails otherwise, or
# runs out of tries, is written to $TEST_DIR/NAME.failed and not retried.
# Each acknowledged job adds "ACK_MS KEY ID" to $TEST_DIR/NAME.acks.
submitter() {
    local name=$1 count=$2 tries=$3
    shift 3
    local acks="$TEST_DIR/$name.acks" failed="$TEST_DIR/$name.failed"
    local out="$TEST_DIR/$name.out"
    local i try rc id key t
    : >"$acks"
    : >"$failed"
    for i in $(seq "$count"); do
        job_spec "$name" "$i"
        key=()
        [ "$tries" -le 1 ] || key=(--key "$name-$i")
        for try in $(seq "$tries"); do
            rc=0
            "$ZJOB" submit "${SPEC[@]}" "${key[@]}" "$@" >"$out" \
                2>>"$TEST_DIR/$name.log" || rc=$?
            [ "$rc" -eq 3 ] || break
            sleep 0.2
        done
        id=
        read -r id <"$out" || true
        if [ "$rc" -eq 0 ] && [[ $id =~ ^[0-9]+$ ]]; then
            t=${EPOCHREALTIME/./}
            echo "${t:0:-3} $name-$i $id" >>"$acks"
        else
            echo "$name-$i rc=$rc tries=$try" >>"$failed"
        fi
    done
}

# start_submitters N COUNT TRIES [SUBMIT_ARG...]: N submitters s1..sN in
# the background, each under one `timeout` of SUBMIT_LIMIT seconds (600
# unless set) that bounds it and every `zjob` it runs (their process
# group); their pids go to SUBMITTERS (and PIDS).
start_submitters() {
    local n=$1 k
    shift
    export -f submitter job_spec
    export ZJOB TEST_DIR
    SUBMITTERS=()
    for k in $(seq "$n"); do
        timeout "${SUBMIT_LIMIT:-600}" bash -c 'submitter "$@"' submitter \
            "s$k" "$@" &
        SUBMITTERS+=("$!")
        PIDS+=("$!")
    done
}

# wait_submitters: waits for the submitters started last.
wait_submitters() {
    local pid
    for pid in "${SUBMITTERS[@]}"; do
        wait "$pid" || fail "a submitter exited $?"
        forget_pid "$pid"
    done
}

# acked_count: acknowledged submissions so far, over all submitters.
acked_count() {
    cat "$TEST_DIR"/s*.acks 2>/dev/null | wc -l
}

# wait_acked N SECONDS: waits until N submissions were acknowledged.
wait_acked() {
    local deadline=$(($(now_ms) + $2 * 1000))
    while [ "$(acked_count)" -lt "$1" ]; do
        [ "$(now_ms)" -lt "$deadline" ] ||
            fail "only $(acked_count) of $1 submissions acknowledged in $2 s"
        sleep 0.1
    done
}

# collect_ids OUT: every acknowledged id, one a line.
collect_ids() {
    cat "$TEST_DIR"/s*.acks | awk '{print $3}' >"$1"
}

# segments: the journal's segment files, oldest first.
segments() {
    find "$JOURNAL" -name 'seg-*.zj' | sort
}

# seg_records FILE: "OFFSET LENGTH" of every whole record in a segment (the
# framing of broker/journal.c: an 8-byte magic, then per record a 4-byte
# little-endian body length, a 4-byte crc and the body).
seg_records() {
    od -An -v -tu1 "$1" | tr -s ' \n' '\n' | sed '/^$/d' | awk '
        { b[NR - 1] = $1 }
        END {
            off = 8
            while (off + 8 <= NR) {
                len = b[off] + 256 * (b[off + 1] + 256 * (b[off + 2] + \
                      256 * b[off + 3]))
                if (off + 8 + len > NR) break
                print off, len
                off += 8 + len
            }
        }'
}

# file_size FILE: its size in bytes.
file_size() {
    stat -c %s "$1"
}

# states_of IDS_FILE: "ID STATE" for every id in the file, in its order
# (status exits 1 when one is unknown; its state says so).
states_of() {
    { xargs "$ZJOB" status --json <"$1" 2>/dev/null || true; } |
        jq -r '"\(.id) \(.state)"'
}

# kill_scenario MODE JOBS: the broker with `--fsync MODE` on a journal,
# two workers, four submitters sending JOBS short jobs in all; once a third
# were acknowledged and six long jobs run, the broker is SIGKILLed and
# restarted on the same journal and endpoints. Then: every acknowledged id
# reached exactly one final state (succeeded) and none is missing, a
# result finished before the kill is still answerable, a job submitted
# after the restart gets a larger id than any before. Sets KILL_FIGURES to
# a line of figures.
kill_scenario() {
    local mode=$1 jobs=$2
    local fast=(--heartbeat 200ms --liveness 3)
    local jargs=(--journal "$JOURNAL" --fsync "$mode")
    export ZJOB_DOWN_TIMEOUT=30s
    start_broker_fixed "${fast[@]}" "${jargs[@]}"
    start_worker w1 "${fast[@]}" --threads 4 --queue sleep --queue echo
    start_worker w2 "${fast[@]}" --threads 4 --queue sleep --queue echo
    wait_workers 2

    local early
    early=$("$ZJOB" submit echo "finished-before-the-kill")
    "$ZJOB" wait --timeout 20s "$early" >/dev/null || fail "early job failed"

    start_submitters 4 $((jobs / 4)) 1
    wait_acked $((jobs / 3)) 90
    # Six long jobs make sure that jobs are running (and waiting behind
    # them) when the broker dies.
    local long="$TEST_DIR/long.ids"
    for _ in $(seq 6); do "$ZJOB" submit sleep 1500 >>"$long"; done
    sleep 0.3
    local before busy kill_at
    before=$("$ZJOB" stats --json)
    busy=$(jq '.running' <<<"$before")
    kill_at=$(now_ms)
    kill_broker
    local acked_at_kill max_before
    acked_at_kill=$(acked_count)
    max_before=$(cat "$TEST_DIR"/s*.acks | awk '{print $3}' | sort -n | tail -1)
    sleep 0.3
    timed_restart "${fast[@]}" "${jargs[@]}"
    local down_ms=$(($(now_ms) - kill_at))
    local recovered replayed
    recovered=$(stat_of recovered)
    replayed=$(log_field journal_replayed jobs)
    [ "$recovered" -gt 0 ] || fail "stats: recovered=$recovered after restart"
    [ "$busy" -ge 6 ] || fail "only $busy jobs were running at the kill"

    wait_submitters
    local ids="$TEST_DIR/ids" failed
    collect_ids "$ids"
    echo "$early" >>"$ids"
    cat "$long" >>"$ids"
    failed=$(cat "$TEST_DIR"/s*.failed | wc -l)
    wait_final 120 "$ids"
    audit_ids "$ids" succeeded

    [ "$("$ZJOB" result "$early")" = "finished-before-the-kill" ] ||
        fail "the result of job $early did not survive the restart"
    local after
    after=$("$ZJOB" submit echo after)
    [ "$after" -gt "$(sort -n "$ids" | tail -1)" ] ||
        fail "id $after after the restart is not above the ids before"
    [ "$after" -gt "$max_before" ] || fail "id $after reused"
    local echoes
    echoes=$(jq -r 'select(.queue == "echo") | .id' "$TEST_DIR/audit.json" |
        sed -n 1,3p)
    for id in $echoes; do
        [[ $("$ZJOB" result "$id") == s[0-9]*-[0-9]* ]] ||
            fail "job $id has result '$("$ZJOB" result "$id")'"
    done
    KILL_FIGURES="accepted=$(wc -l <"$ids") refused=$failed"
    KILL_FIGURES+=" acked_at_kill=$acked_at_kill running_at_kill=$busy"
    KILL_FIGURES+=" replayed_jobs=$replayed recovered=$recovered"
    KILL_FIGURES+=" kill_to_serving_ms=$down_ms restart_ms=$RESTART_MS"
    KILL_FIGURES+=" replay_ms=$REPLAY_MS"
    KILL_FIGURES+=" journal_bytes=$(du -sb "$JOURNAL" | cut -f1)"
    KILL_FIGURES+=" claimed=$(log_field worker_joined claimed)"
}
