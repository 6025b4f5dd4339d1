# An exec job's command dies with its worker: SIGKILL the worker while
# `sh job.sh` runs (it sleeps, then appends a line to a file); the sh is
# gone at once, so only the attempt that runs again on another worker
# appends its line. The `sleep` the sh started (a grandchild) may outlive
# the worker (see docs/worker.md); the test stops it by its pid.
source "$(dirname "$0")/lib.sh"

fast=(--heartbeat 200ms --liveness 3)
out="$TEST_DIR/ran"
cat >"$TEST_DIR/job.sh" <<SCRIPT
echo \$\$ >"$TEST_DIR/sh.\$ZJOB_ATTEMPT"
sleep 3 &
echo \$! >"$TEST_DIR/sleep.\$ZJOB_ATTEMPT"
wait
echo "ran \$ZJOB_ATTEMPT" >>"$out"
SCRIPT
queue=(--queue "slow=exec:sh $TEST_DIR/job.sh")
start_broker "${fast[@]}"
start_worker w1 "${fast[@]}" --threads 1 "${queue[@]}"
w1=$LAST_PID
wait_workers 1
id=$("$ZJOB" submit slow x)

for _ in $(seq 100); do
    [ -s "$TEST_DIR/sleep.1" ] && break
    sleep 0.1
done
[ -s "$TEST_DIR/sleep.1" ] || fail "the job did not start in 10 s"
sh_pid=$(cat "$TEST_DIR/sh.1")
PIDS+=("$(cat "$TEST_DIR/sleep.1")") # stopped by pid at the end
sleep 0.5
kill -KILL "$w1"
wait "$w1" 2>/dev/null || true

# The sh is gone (or a zombie its new parent has not reaped) within 2 s.
alive() {
    [ -e "/proc/$1" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null
}
for _ in $(seq 20); do
    alive "$sh_pid" || break
    sleep 0.1
done
if alive "$sh_pid"; then
    fail "sh (pid $sh_pid) outlived its SIGKILLed worker"
fi

start_worker w2 "${fast[@]}" --threads 1 "${queue[@]}"
"$ZJOB" wait --timeout 60s "$id" >/dev/null 2>"$TEST_DIR/wait.log" ||
    fail "job $id did not succeed: $(cat "$TEST_DIR/wait.log")"
[ "$(job_field "$id" state)" = succeeded ] || fail "job $id is not succeeded"
sleep 3.5 # longer than the first attempt would have taken to append
lines=$(wc -l <"$out")
[ "$lines" = 1 ] || fail "the job appended $lines lines: $(tr '\n' ' ' <"$out")"
[ "$(cat "$out")" = "ran 2" ] || fail "the line is '$(cat "$out")', \
not from attempt 2"
pass "the SIGKILLed worker's sh died with it; the job ran to its end once"
