# Broker policies: per-queue attempts, the dead set's count cap, the memory
# limit ("try later", nothing accepted dropped) and the journal keeping the
# dead set (with payloads, so that a retry still works) across a restart.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/audit.sh"

start_broker_fixed --retry-backoff 10ms --queue-attempts "flaky=3,other=9" \
    --dead-max 2 --max-memory 4k --journal "$TEST_DIR/journal" --fsync always
start_worker w1 --threads 2 --queue "flaky=builtin:fail" --queue echo
wait_workers 1

# flaky gets 3 attempts from the broker's per-queue setting; a job's own
# --attempts still wins.
a=$("$ZJOB" submit flaky one)
b=$("$ZJOB" submit flaky two --attempts 1)
timeout 30 "$ZJOB" wait "$a" "$b" >/dev/null 2>&1 || true
[ "$(job_field "$a" state)" = dead ] || fail "flaky job is $(job_field "$a" state)"
[ "$(job_field "$a" attempt)" = 3 ] ||
    fail "flaky job ran $(job_field "$a" attempt) times, want 3"
[ "$(job_field "$b" state)" = failed ] ||
    fail "one-attempt job is $(job_field "$b" state), want failed"

# The dead set keeps 2: a third dead job evicts the oldest.
c=$("$ZJOB" submit flaky three)
d=$("$ZJOB" submit flaky four)
timeout 30 "$ZJOB" wait "$c" "$d" >/dev/null 2>&1 || true
dead=$("$ZJOB" dead --json | jq -r '[.[].id] | sort | @csv')
want=$(printf '%s\n%s\n' "$c" "$d" | sort | paste -sd,)
[ "$dead" = "$want" ] || fail "dead set holds $dead, want $want"
[ "$(job_field "$a" state)" = unknown ] ||
    fail "evicted job still answers: $(job_field "$a" state)"
grep -q "event=dead_evicted job=$a" "$TEST_DIR/broker.log" ||
    fail "eviction not logged"

# Memory: 4 KiB of payloads and results. Dead jobs hold theirs; fill up
# with queued jobs nobody serves, then a submit over the limit is refused
# with a clear message and exit 3, and what was accepted stays.
payload=$(head -c 1500 /dev/zero | tr '\0' x)
q1=$("$ZJOB" submit idle "$payload")
set +e
"$ZJOB" submit idle "$payload" >"$TEST_DIR/q2.out" 2>&1
rc2=$?
"$ZJOB" submit idle "$payload" >"$TEST_DIR/q3.out" 2>"$TEST_DIR/busy.err"
rc=$?
set -e
[ "$rc2" = 0 ] || fail "second submit under the limit exited $rc2"
[ "$rc" = 3 ] || fail "submit over the memory limit exited $rc, want 3"
grep -q "memory limit" "$TEST_DIR/busy.err" ||
    fail "busy message: $(cat "$TEST_DIR/busy.err")"
[ "$(job_field "$q1" state)" = queued ] || fail "accepted job was dropped"
# A payload larger than the whole limit is refused for good, not "later".
big=$(head -c 5000 /dev/zero | tr '\0' y)
set +e
"$ZJOB" submit idle "$big" >/dev/null 2>"$TEST_DIR/big.err"
rc=$?
printf 'small\n%s\nafter\n' "$big" |
    timeout 20 "$ZJOB" map echo >"$TEST_DIR/big.out" 2>"$TEST_DIR/bigmap.err"
maprc=$?
set -e
[ "$rc" = 1 ] || fail "submit larger than max-memory exited $rc, want 1"
grep -q "larger than the broker's memory limit" "$TEST_DIR/big.err" ||
    fail "oversize message: $(cat "$TEST_DIR/big.err")"
[ "$maprc" = 1 ] || fail "map with an oversize line exited $maprc, want 1"
[ "$(sed -n 1p "$TEST_DIR/big.out"):$(sed -n 3p "$TEST_DIR/big.out")" = \
    small:after ] || fail "map around an oversize line: $(cat "$TEST_DIR/big.out")"
[ "$("$ZJOB" stats --json | jq .rejected_busy)" -ge 1 ] ||
    fail "rejected_busy not counted"

# Restart on the journal: the dead set and the queued jobs come back, and
# a dead job can still be retried (its payload was kept).
kill -KILL "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null || true
restart_broker --retry-backoff 10ms --queue-attempts "flaky=3" \
    --journal "$TEST_DIR/journal"
[ "$(job_field "$q1" state)" = queued ] || fail "queued job lost in restart"
dead=$("$ZJOB" dead --json | jq -r '[.[].id] | sort | @csv')
[ "$dead" = "$want" ] || fail "dead set after restart: $dead, want $want"
"$ZJOB" retry "$c" >/dev/null
timeout 30 "$ZJOB" wait "$c" >/dev/null 2>&1 || true
[ "$(job_field "$c" state)" = dead ] || fail "retried job: $(job_field "$c" state)"
[ "$(job_field "$c" error)" = three ] ||
    fail "retried job's error '$(job_field "$c" error)': payload not kept"
pass "queue attempts, dead cap, memory limit, dead set across a restart"
