# A job past its timeout ends `timed_out`, and its exec'd child (a grand
# child of the worker) is gone.
source "$(dirname "$0")/lib.sh"

start_broker
start_worker w1 --threads 2 \
    --queue "slow=exec:sh -c 'echo \$\$ >>$TEST_DIR/pids; exec sleep 60'"
wait_workers 1

start_ms=$(date +%s%3N)
id=$("$ZJOB" submit slow x --timeout 500ms)
set +e
timeout 20 "$ZJOB" wait "$id" >"$TEST_DIR/wait.out" 2>&1
rc=$?
set -e
elapsed=$(($(date +%s%3N) - start_ms))
[ "$rc" = 1 ] || fail "wait on a timed-out job exited $rc, want 1"
[ "$(job_field "$id" state)" = timed_out ] ||
    fail "state is $(job_field "$id" state), want timed_out"
[ "$elapsed" -lt 5000 ] || fail "timeout took $elapsed ms"

child=$(head -n1 "$TEST_DIR/pids")
[ -n "$child" ] || fail "the exec'd child never started"
for _ in $(seq 50); do
    kill -0 "$child" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$child" 2>/dev/null; then
    fail "exec'd child $child still runs after the timeout"
fi
pass "timed out after $elapsed ms; child $child is gone"
