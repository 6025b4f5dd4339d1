# `zjob map` prints results in input order even when jobs finish out of
# order, keeps blank lines, and exits 1 with an empty line for a failure.
source "$(dirname "$0")/lib.sh"

start_broker
start_worker w1 --threads 8 --queue sleep --queue echo --queue fail
start_worker w2 --threads 8 --queue sleep --queue echo --queue fail
wait_workers 2

# Sleep jobs of shuffled lengths finish in another order than submitted;
# sleep's result is its payload, so the output must equal the input.
shuf -i 0-40 -n 200 -r --random-source=<(yes) >"$TEST_DIR/sleeps"
timeout 60 "$ZJOB" map sleep "$TEST_DIR/sleeps" >"$TEST_DIR/sleeps.out" ||
    fail "map sleep exited $?"
cmp -s "$TEST_DIR/sleeps" "$TEST_DIR/sleeps.out" ||
    fail "sleep results out of order: $(diff "$TEST_DIR/sleeps" \
        "$TEST_DIR/sleeps.out" | head -5)"

seq 1 20000 | sed 's/^/payload-/' >"$TEST_DIR/echo"
timeout 120 "$ZJOB" map echo - <"$TEST_DIR/echo" >"$TEST_DIR/echo.out" ||
    fail "map echo exited $?"
cmp -s "$TEST_DIR/echo" "$TEST_DIR/echo.out" || fail "echo map differs"

printf 'a\n\nb\n' | timeout 30 "$ZJOB" map echo >"$TEST_DIR/blank.out"
[ "$(cat "$TEST_DIR/blank.out")" = "$(printf 'a\n\nb')" ] ||
    fail "blank line not kept: $(od -c "$TEST_DIR/blank.out" | head -3)"

[ -z "$(timeout 30 "$ZJOB" map echo </dev/null)" ] || fail "empty input"

set +e
printf 'one\ntwo\nthree\n' | timeout 30 "$ZJOB" map fail \
    >"$TEST_DIR/fail.out" 2>"$TEST_DIR/fail.err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "map over failing jobs exited $rc, want 1"
[ "$(cat "$TEST_DIR/fail.out")" = "$(printf '\n\n')" ] ||
    fail "failed jobs must print empty lines"
grep -q "two" "$TEST_DIR/fail.err" || fail "error text missing on stderr"
grep -q "^zjob: line 2 (job [1-9][0-9]*): .*two" "$TEST_DIR/fail.err" ||
    fail "a failed job's line must name it: $(cat "$TEST_DIR/fail.err")"

# A line the broker refuses (over its 1 MiB payload limit) never became a
# job: its error names the line only, and the other lines still run.
set +e
{
    echo small
    head -c 1048600 /dev/zero | tr '\0' x
    echo
    echo last
} | timeout 30 "$ZJOB" map echo >"$TEST_DIR/refused.out" \
    2>"$TEST_DIR/refused.err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "map with a refused line exited $rc, want 1"
[ "$(cat "$TEST_DIR/refused.out")" = "$(printf 'small\n\nlast')" ] ||
    fail "refused line: unexpected output"
grep -q "^zjob: line 2: payload of 1048600 bytes exceeds" \
    "$TEST_DIR/refused.err" ||
    fail "refused line: $(cat "$TEST_DIR/refused.err")"
pass "200 shuffled sleeps and 20000 echoes came back in input order"
