# The command-line contract: --help, --version, exit codes, bad configs.
source "$(dirname "$0")/lib.sh"

expect_rc() {
    local want=$1
    shift
    set +e
    "$@" >"$TEST_DIR/out" 2>"$TEST_DIR/err"
    local rc=$?
    set -e
    [ "$rc" = "$want" ] ||
        fail "'$*' exited $rc, want $want: $(head -c 300 "$TEST_DIR/err")"
}

for program in zjob zjob-broker zjob-worker; do
    expect_rc 0 "$BIN/$program" --help
    grep -q -- "--help" "$TEST_DIR/out" || fail "$program --help is empty"
    expect_rc 0 "$BIN/$program" --version
    grep -q "0\.1\.0" "$TEST_DIR/out" || fail "$program --version"
    expect_rc 2 "$BIN/$program" --no-such-flag
done

expect_rc 2 "$ZJOB"
expect_rc 2 "$ZJOB" frobnicate
expect_rc 2 "$ZJOB" submit
expect_rc 2 "$ZJOB" submit echo x --timeout soon
expect_rc 2 "$ZJOB" status not-a-number

printf 'threads: 2\nqueues:\n  - name: q\n    exec: [broken\n' \
    >"$TEST_DIR/bad.yml"
expect_rc 2 "$BIN/zjob-worker" -c "$TEST_DIR/bad.yml"
grep -q "bad.yml:" "$TEST_DIR/err" || fail "no file named: $(cat "$TEST_DIR/err")"
printf 'threads: many\n' >"$TEST_DIR/bad2.yml"
expect_rc 2 "$BIN/zjob-worker" -c "$TEST_DIR/bad2.yml"
grep -q "bad2.yml:1:10: threads" "$TEST_DIR/err" ||
    fail "no line/column/key: $(cat "$TEST_DIR/err")"
printf 'fsync: sometimes\n' >"$TEST_DIR/bad3.yml"
expect_rc 2 "$BIN/zjob-broker" -c "$TEST_DIR/bad3.yml"
grep -q "bad3.yml:1:8: fsync" "$TEST_DIR/err" ||
    fail "broker config error: $(cat "$TEST_DIR/err")"
expect_rc 2 "$BIN/zjob-worker" --queue "x=builtin:nonesuch"

# Nothing listens on this port: the client gives up with exit code 3.
port=$(( (RANDOM % 1000) + 61000 ))
ZJOB_BROKER="tcp://127.0.0.1:$port" expect_rc 3 timeout 60 "$ZJOB" stats
start_broker
expect_rc 0 "$ZJOB" stats

# A timeout past what the broker takes is refused for that job (exit 1).
expect_rc 1 "$ZJOB" submit echo x --timeout 18446744073709551s --wait
grep -q "10 years" "$TEST_DIR/err" || fail "huge timeout: $(cat "$TEST_DIR/err")"
expect_rc 1 "$ZJOB" status 12345
expect_rc 0 "$ZJOB" workers
grep -q "(none)" "$TEST_DIR/out" || fail "empty workers table"

# Names that are not UTF-8 are refused, by the broker, for jobs and workers.
expect_rc 1 "$ZJOB" submit $'q\xff' x
grep -q "UTF-8" "$TEST_DIR/err" || fail "bad queue name: $(cat "$TEST_DIR/err")"
expect_rc 2 timeout 20 "$BIN/zjob-worker" --broker "$WORKER_EP" \
    --queue echo --name $'bad\xffname'
grep -q "UTF-8" "$TEST_DIR/err" || fail "bad worker name: $(cat "$TEST_DIR/err")"

# A worker pointed at the client socket is told so and exits 2, instead of
# sitting there unregistered.
expect_rc 2 timeout 20 "$BIN/zjob-worker" --broker "$ZJOB_BROKER" --queue echo
grep -q "worker endpoint" "$TEST_DIR/err" ||
    fail "worker on the client port: $(cat "$TEST_DIR/err")"
expect_rc 0 "$ZJOB" queues --json
jq -e 'type == "array"' "$TEST_DIR/out" >/dev/null || fail "queues --json"
# submit --wait on a queue nobody serves says so, then still gets its
# result once a worker for it turns up.
timeout 30 "$ZJOB" submit lonely hello --wait >"$TEST_DIR/lonely.out" \
    2>"$TEST_DIR/lonely.err" &
lonely=$!
sleep 4
grep -q "no worker serves queue 'lonely'" "$TEST_DIR/lonely.err" ||
    fail "no hint for an unserved queue: $(cat "$TEST_DIR/lonely.err")"
start_worker lonely-worker --queue "lonely=builtin:echo"
wait "$lonely" || fail "submit --wait on a late-served queue exited $?"
[ "$(cat "$TEST_DIR/lonely.out")" = hello ] ||
    fail "late-served result: '$(cat "$TEST_DIR/lonely.out")'"
pass "help, version, exit codes and config errors"
