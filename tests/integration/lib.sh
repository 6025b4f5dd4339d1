# Shared helpers for the integration tests: each test sources this file,
# gets its own temporary folder, starts the real programs on ephemeral
# loopback ports, and has everything it started stopped by pid on exit.
set -euo pipefail

: "${ZJOB_BIN_DIR:?set ZJOB_BIN_DIR to the build folder}"
BIN="$ZJOB_BIN_DIR/bin"
ZJOB="$BIN/zjob"
TEST_NAME=$(basename "$0" .sh)
TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/zjob-$TEST_NAME.XXXXXX")
PIDS=()

# Stops every process this test started, by pid, then removes its folder
# unless the test failed (the logs are kept for the reader then).
cleanup() {
    local status=$?
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    # A sanitizer report from any program fails the test, even when the
    # program's exit status was not looked at.
    if grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
        "$TEST_DIR"/*.log >/dev/null 2>&1; then
        echo "$TEST_NAME: FAIL: sanitizer report in" \
            "$(grep -l -E 'Sanitizer|runtime error:' "$TEST_DIR"/*.log)" >&2
        status=1
    fi
    if [ "$status" -eq 0 ]; then
        rm -rf "$TEST_DIR"
    else
        echo "$TEST_NAME: FAILED; logs kept in $TEST_DIR" >&2
        for log in "$TEST_DIR"/*.log; do
            [ -f "$log" ] || continue
            echo "--- tail of $log" >&2
            tail -n 20 "$log" >&2
        done
    fi
    exit "$status"
}
trap cleanup EXIT

fail() {
    echo "$TEST_NAME: FAIL: $*" >&2
    exit 1
}

pass() {
    echo "$TEST_NAME: PASS: $*"
}

# start_broker [ARG...]: runs zjob-broker on ephemeral loopback ports and
# exports ZJOB_BROKER (client endpoint) and WORKER_EP.
start_broker() {
    local endpoints="$TEST_DIR/endpoints"
    rm -f "$endpoints"
    "$BIN/zjob-broker" --clients 'tcp://127.0.0.1:*' \
        --workers 'tcp://127.0.0.1:*' --endpoints-file "$endpoints" \
        --fsync never "$@" >>"$TEST_DIR/broker.log" 2>&1 &
    BROKER_PID=$!
    PIDS+=("$BROKER_PID")
    for _ in $(seq 100); do
        [ -s "$endpoints" ] && break
        kill -0 "$BROKER_PID" 2>/dev/null || fail "broker exited at start"
        sleep 0.1
    done
    [ -s "$endpoints" ] || fail "broker wrote no endpoints in 10 s"
    ZJOB_BROKER=$(awk '$1 == "clients" {print $2}' "$endpoints")
    WORKER_EP=$(awk '$1 == "workers" {print $2}' "$endpoints")
    export ZJOB_BROKER WORKER_EP
}

# start_worker NAME [ARG...]: runs zjob-worker against the test's broker;
# its pid is left in LAST_PID.
start_worker() {
    local name=$1
    shift
    "$BIN/zjob-worker" --broker "$WORKER_EP" --name "$name" "$@" \
        >>"$TEST_DIR/worker-$name.log" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}

# wait_workers N: waits up to 10 s until the broker lists N workers.
wait_workers() {
    local want=$1 have=
    for _ in $(seq 100); do
        have=$("$ZJOB" workers --json | jq 'length')
        [ "$have" = "$want" ] && return 0
        sleep 0.1
    done
    fail "expected $want workers, broker lists $have"
}

# job_field ID FIELD: one field of `zjob status --json` for one job.
job_field() {
    "$ZJOB" status --json "$1" | jq -r "if type == \"array\" then .[0] \
        else . end | .$2"
}
