# Audit helpers for the fault tests, sourced after lib.sh: submit many jobs
# and keep their ids, then check that every accepted job came to exactly
# one final state and that none is missing; measure how long a dead
# worker's jobs stay stranded; keep a crashing worker restarted.

FINAL_STATES='succeeded failed cancelled timed_out dead'

# submit_many QUEUE IDS_FILE [SUBMIT_ARG...] < PAYLOADS: submits one job per
# input line (four submitters at once) and appends each accepted id to
# IDS_FILE. Fails the test when a submission is refused or an id is missing.
submit_many() {
    local queue=$1 ids=$2
    shift 2
    local payloads="$TEST_DIR/payloads.$RANDOM"
    cat >"$payloads"
    xargs -d '\n' -P 4 -I{} "$ZJOB" submit "$queue" {} "$@" \
        <"$payloads" >>"$ids" || fail "submit_many: a submission failed"
    local want have
    want=$(wc -l <"$payloads")
    have=$(grep -c -E '^[0-9]+$' "$ids" || true)
    [ "$have" -ge "$want" ] || fail "submit_many: $want submitted, $have ids"
}

# status_all IDS_FILE OUT_FILE: `zjob status --json` for every id in the
# file (200 per call), one JSON object per line in OUT_FILE.
status_all() {
    : >"$2"
    # status exits 1 when an id is unknown; the audit reports which.
    xargs -n 200 "$ZJOB" status --json <"$1" >>"$2" 2>>"$TEST_DIR/audit.log" ||
        true
}

# audit_ids IDS_FILE [STATE]: every id in the file was accepted once, the
# broker knows each of them exactly once, each is in a final state and,
# when STATE is given, all are in that one. Prints the count per state;
# leaves the records in $TEST_DIR/audit.json for further checks.
audit_ids() {
    local ids=$1 want=${2:-}
    local records="$TEST_DIR/audit.json" total distinct
    total=$(wc -l <"$ids")
    distinct=$(sort -u "$ids" | wc -l)
    [ "$total" -gt 0 ] || fail "audit: no ids to audit in $ids"
    [ "$total" = "$distinct" ] ||
        fail "audit: $total ids accepted, only $distinct distinct"
    status_all "$ids" "$records"
    local seen missing twice
    seen=$(grep -o '"id":[0-9]*' "$records" | cut -d: -f2 | sort)
    missing=$(comm -23 <(sort -u "$ids") <(echo "$seen" | sort -u) | head -5)
    [ -z "$missing" ] || fail "audit: jobs missing at the broker: $missing"
    twice=$(echo "$seen" | uniq -d | head -5)
    [ -z "$twice" ] || fail "audit: jobs reported more than once: $twice"
    [ "$(echo "$seen" | wc -l)" = "$total" ] ||
        fail "audit: $total ids, $(echo "$seen" | wc -l) records"
    local state
    for state in $(jq -r .state "$records" | sort -u); do
        case " $FINAL_STATES " in
            *" $state "*) ;;
            *) fail "audit: jobs not final: $(jq -c "select(.state == \
\"$state\") | {id, state, worker}" "$records" | head -3)" ;;
        esac
        [ -z "$want" ] || [ "$state" = "$want" ] ||
            fail "audit: expected all $want: $(jq -c "select(.state != \
\"$want\") | {id, state, attempt, error}" "$records" | head -3)"
    done
    echo "$TEST_NAME: audit: $total jobs, each once:" \
        "$(jq -r .state "$records" | sort | uniq -c | tr -s ' \n' ' ')"
}

# stat_of NAME: one counter of `zjob stats --json`.
stat_of() {
    "$ZJOB" stats --json | jq -r ".$1"
}

# held_by WORKER IDS_FILE: the ids of the file running on WORKER now.
held_by() {
    local records="$TEST_DIR/held.json"
    status_all "$2" "$records"
    jq -r "select(.state == \"running\" and .worker == \"$1\") | .id" \
        "$records"
}

# wait_released WORKER SINCE_MS LIMIT_MS ID...: waits until none of the ids
# runs on WORKER any more (requeued, running elsewhere or final) and prints
# the milliseconds from SINCE_MS (`date +%s%3N`) until then; fails the test
# when that passes LIMIT_MS.
wait_released() {
    local worker=$1 since_ms=$2 limit_ms=$3
    shift 3
    local now_ms left
    while :; do
        left=$("$ZJOB" status --json "$@" | jq -r "select(.state == \
\"running\" and .worker == \"$worker\") | .id" | wc -l)
        now_ms=$(date +%s%3N)
        [ "$left" -eq 0 ] && break
        [ $((now_ms - since_ms)) -le "$limit_ms" ] ||
            fail "$left jobs still held by $worker after $limit_ms ms"
        sleep 0.02
    done
    echo $((now_ms - since_ms))
}

# wait_final TIMEOUT_S IDS_FILE: waits until every job of the file is final.
wait_final() {
    xargs "$ZJOB" wait --timeout "$1s" <"$2" >/dev/null 2>>"$TEST_DIR/wait.log" ||
        true # failed jobs make wait exit 1; the audit judges the states
}

# supervise_worker NAME MAX_RESTARTS [ARG...]: runs zjob-worker NAME in a
# bounded supervise loop: when it dies by a signal it is started again, by
# its pid, at most MAX_RESTARTS times; a clean exit ends the loop. The
# supervisor's pid goes to PIDS (a TERM to it drains the current worker)
# and each restart adds a line to $TEST_DIR/restarts-NAME.
supervise_worker() {
    local name=$1 max=$2
    shift 2
    : >"$TEST_DIR/restarts-$name"
    (
        child=
        trap '[ -z "$child" ] || kill -TERM "$child" 2>/dev/null
              wait "$child" 2>/dev/null; exit 0' TERM
        restarts=0
        while :; do
            "$BIN/zjob-worker" --broker "$WORKER_EP" --name "$name" "$@" \
                >>"$TEST_DIR/worker-$name.log" 2>&1 &
            child=$!
            rc=0
            wait "$child" 2>/dev/null || rc=$?
            [ "$rc" -gt 128 ] || exit "$rc"
            [ "$restarts" -lt "$max" ] || exit 1
            restarts=$((restarts + 1))
            echo "pid=$child rc=$rc" >>"$TEST_DIR/restarts-$name"
        done
    ) &
    PIDS+=("$!")
}

# start_broker_fixed [ARG...]: like start_broker, but on two ports drawn
# at random from 20000-31999, below both the kernel's range for outgoing
# connections and the range ZeroMQ draws `*` ports from, so that no other
# test or connection takes them while the broker is down for a restart.
start_broker_fixed() {
    local port
    for _ in $(seq 20); do
        port=$((20000 + RANDOM % 6000 * 2))
        ZJOB_BROKER="tcp://127.0.0.1:$port"
        WORKER_EP="tcp://127.0.0.1:$((port + 1))"
        export ZJOB_BROKER WORKER_EP
        if s_broker_launch "$@"; then
            return 0
        fi
    done
    fail "broker found no free pair of ports in 20 tries"
}

# restart_broker [ARG...]: starts zjob-broker again on the endpoints of
# start_broker_fixed (the old one must be gone), so that clients and
# workers find it where they left it. A port still held for a moment is
# tried again, for up to 10 s.
restart_broker() {
    for _ in $(seq 40); do
        s_broker_launch "$@" && return 0
        sleep 0.25
    done
    fail "restarted broker could not bind $ZJOB_BROKER and $WORKER_EP"
}

# s_broker_launch [ARG...]: one start of zjob-broker on ZJOB_BROKER and
# WORKER_EP; returns 1 when it could not bind them, fails the test when it
# exits for another reason or does not come up in 10 s.
s_broker_launch() {
    local endpoints="$TEST_DIR/endpoints" log="$TEST_DIR/broker.log" mark
    rm -f "$endpoints"
    mark=$(grep -c 'event=bind_failed' "$log" 2>/dev/null || true)
    "$BIN/zjob-broker" --clients "$ZJOB_BROKER" --workers "$WORKER_EP" \
        --endpoints-file "$endpoints" "$@" >>"$log" 2>&1 &
    BROKER_PID=$!
    PIDS+=("$BROKER_PID")
    for _ in $(seq 100); do
        [ -s "$endpoints" ] && return 0
        kill -0 "$BROKER_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -s "$endpoints" ] && return 0
    [ "$(grep -c 'event=bind_failed' "$log")" -gt "${mark:-0}" ] ||
        fail "broker exited at start or did not come up in 10 s"
    return 1
}

# cut_off_worker NAME PID SIGNAL IDS_FILE: sends SIGNAL (KILL, STOP) to the
# worker NAME at PID and checks that the broker puts the jobs it held back
# in line within one liveness window plus a tick and 500 ms of slack (the
# caller sets liveness and beat_ms). Leaves the jobs in HELD and the time
# taken in RECOVERY_MS.
cut_off_worker() {
    local name=$1 pid=$2 signal=$3 ids=$4 since bound
    since=$(date +%s%3N)
    kill "-$signal" "$pid"
    mapfile -t HELD < <(held_by "$name" "$ids")
    [ "${#HELD[@]}" -gt 0 ] || fail "$name ran nothing when it got SIG$signal"
    bound=$((liveness * beat_ms + beat_ms + 500))
    RECOVERY_MS=$(wait_released "$name" "$since" 5000 "${HELD[@]}")
    [ "$RECOVERY_MS" -le "$bound" ] ||
        fail "$name's jobs were requeued after $RECOVERY_MS ms (bound $bound ms)"
}
