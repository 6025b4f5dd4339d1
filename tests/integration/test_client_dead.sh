# The dead set from the command line: jobs out of attempts are listed by
# `zjob dead`, put back by `zjob retry` (attempts reset) and run again.
source "$(dirname "$0")/lib.sh"

start_broker --retry-backoff 10ms
start_worker w1 --threads 2 --queue fail --queue echo
wait_workers 1

ids=()
for n in 1 2 3; do
    ids+=("$("$ZJOB" submit fail "boom-$n" --attempts 2)")
done
set +e
timeout 30 "$ZJOB" wait "${ids[@]}" >/dev/null 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || fail "wait on failing jobs exited $rc, want 1"
for id in "${ids[@]}"; do
    [ "$(job_field "$id" state)" = dead ] ||
        fail "job $id is $(job_field "$id" state), want dead"
done

"$ZJOB" dead --json >"$TEST_DIR/dead.json"
[ "$(jq length "$TEST_DIR/dead.json")" = 3 ] ||
    fail "dead lists $(jq length "$TEST_DIR/dead.json") jobs, want 3"
[ "$(jq -r '[.[].attempt] | unique | @csv' "$TEST_DIR/dead.json")" = 2 ] ||
    fail "dead jobs' attempts: $(jq -c '[.[].attempt]' "$TEST_DIR/dead.json")"
[ "$(jq -r '.[0].failures' "$TEST_DIR/dead.json")" = 2 ] ||
    fail "failures not shown: $(jq -c '.[0]' "$TEST_DIR/dead.json")"
"$ZJOB" dead --queue fail --limit 2 >"$TEST_DIR/dead.txt"
[ "$(grep -c boom- "$TEST_DIR/dead.txt")" = 2 ] ||
    fail "--limit 2 printed: $(cat "$TEST_DIR/dead.txt")"
[ "$("$ZJOB" dead --queue echo --json | jq length)" = 0 ] ||
    fail "--queue echo lists jobs of another queue"

# One by id: its attempts start over (attempt numbers keep counting, for
# fencing), so it runs twice more and ends dead at attempt 4.
"$ZJOB" retry "${ids[0]}" >"$TEST_DIR/retry.out"
grep -q "^${ids[0]} " "$TEST_DIR/retry.out" ||
    fail "retry printed: $(cat "$TEST_DIR/retry.out")"
timeout 30 "$ZJOB" wait "${ids[0]}" >/dev/null 2>&1 || true
[ "$(job_field "${ids[0]}" state)" = dead ] || fail "retried job not dead"
[ "$(job_field "${ids[0]}" attempt)" = 4 ] ||
    fail "attempts not reset: attempt $(job_field "${ids[0]}" attempt)"

# Usage errors and ids that are not dead.
set +e
"$ZJOB" retry >/dev/null 2>&1
[ $? = 2 ] || fail "retry without ids must exit 2"
"$ZJOB" retry "${ids[1]}" --all >/dev/null 2>&1
[ $? = 2 ] || fail "retry ID --all must exit 2"
ok=$("$ZJOB" submit echo fine --wait)
okid=$("$ZJOB" submit echo fine2)
"$ZJOB" retry "$okid" 99999999 >/dev/null 2>"$TEST_DIR/notdead.err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "retry of a job that is not dead exited $rc, want 1"
grep -q "not dead" "$TEST_DIR/notdead.err" || fail "no 'not dead' message"
[ "$ok" = fine ] || fail "echo printed '$ok'"

# All of a queue: both remaining jobs go back and end dead again.
"$ZJOB" retry --queue fail --all >"$TEST_DIR/all.out" 2>/dev/null
[ "$(wc -l <"$TEST_DIR/all.out")" -ge 2 ] ||
    fail "retry --all printed: $(cat "$TEST_DIR/all.out")"
timeout 30 "$ZJOB" wait "${ids[@]}" >/dev/null 2>&1 || true
[ "$("$ZJOB" dead --json | jq length)" = 3 ] || fail "jobs not dead again"
pass "3 dead jobs listed, retried by id and by queue, each ran its attempts again"
