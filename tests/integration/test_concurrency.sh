# A per-queue concurrency limit is never exceeded, measured from inside the
# jobs, while the worker has more threads than the limit.
source "$(dirname "$0")/lib.sh"

mkdir "$TEST_DIR/running"
cat >"$TEST_DIR/job.sh" <<SCRIPT
#!/bin/sh
# Marks itself running, records how many run now, then unmarks itself.
mark="$TEST_DIR/running/\$ZJOB_ID"
touch "\$mark"
ls "$TEST_DIR/running" | wc -l >>"$TEST_DIR/counts"
sleep 0.1
rm -f "\$mark"
SCRIPT
chmod +x "$TEST_DIR/job.sh"
cat >"$TEST_DIR/worker.yml" <<YAML
threads: 8
queues:
  - name: limited
    exec: $TEST_DIR/job.sh
    concurrency: 2
  - name: echo
YAML

start_broker
start_worker w1 -c "$TEST_DIR/worker.yml"
wait_workers 1

seq 40 | timeout 60 "$ZJOB" map limited >/dev/null || fail "map exited $?"
[ "$(wc -l <"$TEST_DIR/counts")" = 40 ] || fail "not every job recorded"
max=$(sort -n "$TEST_DIR/counts" | tail -n1)
[ "$max" -le 2 ] || fail "$max jobs ran at once on a queue limited to 2"
[ "$max" -eq 2 ] || fail "never 2 at once: the limit was not exercised"
pass "40 jobs, at most $max at once with concurrency 2 and 8 threads"
