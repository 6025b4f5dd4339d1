# The broker keeps serving after garbage bytes, malformed protobuf, a wrong
# version, oversize messages and payloads, and a stranger on the worker
# port; each gets a clear Error, and real work still flows.
source "$(dirname "$0")/lib.sh"

start_broker --max-payload 1k --max-batch 1000 --max-message 128k
start_worker w1 --threads 2 --queue echo
wait_workers 1

port=${ZJOB_BROKER##*:}
for _ in 1 2 3; do
    # Raw bytes that are not even ZMTP: the connection is dropped.
    head -c 4096 /dev/urandom >"/dev/tcp/127.0.0.1/$port" 2>/dev/null || true
done
timeout 60 "$BIN/zjob-badpeer" "$ZJOB_BROKER" "$WORKER_EP" \
    >"$TEST_DIR/badpeer.log" 2>&1 || fail "bad peer: $(grep -v '^ok' \
        "$TEST_DIR/badpeer.log")"
kill -0 "$BROKER_PID" || fail "broker died"

seq 500 | timeout 60 "$ZJOB" map echo >"$TEST_DIR/out" || fail "map $?"
cmp -s <(seq 500) "$TEST_DIR/out" || fail "results after bad input differ"
rejected=$("$ZJOB" stats --json | jq '.clients_rejected')
[ "$rejected" -ge 8 ] || fail "stats count $rejected rejected messages"
pass "$(grep -c '^ok' "$TEST_DIR/badpeer.log") checks; broker still serves"
