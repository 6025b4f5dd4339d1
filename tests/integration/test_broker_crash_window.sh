# A machine crash, played: the broker runs with a shim that logs the size
# of each journal file every time an fsync of it returns; after a SIGKILL,
# each file is cut back to its last durable size (what a power loss may
# leave at worst) before the broker restarts on it.
# - With --fsync batch, acknowledgements wait for their group's fsync: no
#   acknowledged job may be lost, and each one comes to one final state.
# - With --fsync never, nothing is ever fsynced: the same crash must lose
#   acknowledged jobs. That the test sees this loss is what shows it would
#   see one in batch mode.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/audit.sh"

SHIM="$ZJOB_BIN_DIR/lib/zjob-syncshim.so"
[ -f "$SHIM" ] || fail "no sync shim at $SHIM"
SYNC_LOG="$TEST_DIR/synced"
JOURNAL="$TEST_DIR/journal"
# A sanitizer build wants its runtime first; the shim is loaded before it.
SHIM_ASAN="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

# start_shimmed MODE: the broker on fixed ports, its syncs logged.
start_shimmed() {
    ZJOB_SYNC_LOG="$SYNC_LOG" LD_PRELOAD="$SHIM" ASAN_OPTIONS="$SHIM_ASAN" \
        start_broker_fixed --journal "$JOURNAL" --fsync "$1"
}

# submitter N COUNT: submits up to COUNT sleep jobs one by one with keys,
# appending each acknowledged id to acked.N; stops at the first failure.
submitter() {
    local n=$1 count=$2 i id
    for i in $(seq "$count"); do
        id=$(ZJOB_DOWN_TIMEOUT=300ms "$ZJOB" submit sleep 30 --key "s$n-$i" \
            2>/dev/null) || return 0
        echo "$id" >>"$TEST_DIR/acked.$n"
    done
}

# crash: SIGKILLs the broker and the submitters, then cuts every journal
# segment back to the size its last fsync covered. Prints the bytes cut.
crash() {
    kill -KILL "$BROKER_PID"
    wait "$BROKER_PID" 2>/dev/null || true
    for pid in "${SUBMITTERS[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    local cut=0 seg size synced
    for seg in "$JOURNAL"/seg-*.zj; do
        size=$(stat -c %s "$seg")
        synced=$(awk -v name="$(basename "$seg")" \
            '{ n = split($2, p, "/"); if (p[n] == name && $1 > s) s = $1 }
             END { print s + 0 }' "$SYNC_LOG" 2>/dev/null || echo 0)
        truncate -s "$synced" "$seg"
        cut=$((cut + size - synced))
    done
    echo "$cut"
}

# run_phase MODE SECONDS: a broker in MODE, one worker, three submitters
# for SECONDS, then the crash. Leaves the acknowledged ids in acked.all.
run_phase() {
    rm -rf "$JOURNAL" "$SYNC_LOG" "$TEST_DIR"/acked.*
    start_shimmed "$1"
    if [ -z "$WORKER_PID" ]; then
        # one worker for both phases: it rides through every restart
        start_worker w1 --threads 8 --queue sleep
        WORKER_PID=$LAST_PID
    fi
    SUBMITTERS=()
    for n in 1 2 3; do
        : >"$TEST_DIR/acked.$n"
        submitter "$n" 400 &
        SUBMITTERS+=("$!")
        PIDS+=("$!")
    done
    sleep "$2"
    CUT=$(crash)
    cat "$TEST_DIR"/acked.[123] >"$TEST_DIR/acked.all"
    ACKED=$(wc -l <"$TEST_DIR/acked.all")
    [ "$ACKED" -gt 20 ] || fail "$1: only $ACKED jobs acknowledged before the crash"
    restart_broker --journal "$JOURNAL" --fsync "$1"
}

# batch: nothing acknowledged is lost.
WORKER_PID=
run_phase batch 3
grep -q 'event=journal_replayed' "$TEST_DIR/broker.log" ||
    fail "batch: no replay logged"
wait_final 60 "$TEST_DIR/acked.all"
audit_ids "$TEST_DIR/acked.all" succeeded
syncs=$(grep -c . "$SYNC_LOG")
pass "batch: $ACKED acknowledged, 0 lost; $CUT unsynced bytes cut at the" \
    "crash; $syncs fsyncs logged"

# never: the same crash loses acknowledged jobs.
kill -TERM "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null || true
run_phase never 2
status_all "$TEST_DIR/acked.all" "$TEST_DIR/never.json"
known=$(jq -r .state "$TEST_DIR/never.json" | grep -vc '^unknown$' || true)
lost=$((ACKED - known))
[ "$lost" -gt 0 ] ||
    fail "never: the played crash lost nothing ($ACKED acknowledged):" \
        "the test cannot see a loss"
pass "never: $lost of $ACKED acknowledged jobs lost to the played crash," \
    "as expected without fsync"
