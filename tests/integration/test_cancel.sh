# Cancelling a queued job and a running sleep job: each ends `cancelled`,
# the running one within a second.
source "$(dirname "$0")/lib.sh"

start_broker
start_worker w1 --threads 1 --queue sleep
wait_workers 1

running=$("$ZJOB" submit sleep 60000)
queued=$("$ZJOB" submit sleep 60000)
for _ in $(seq 50); do
    [ "$(job_field "$running" state)" = running ] && break
    sleep 0.1
done
[ "$(job_field "$running" state)" = running ] || fail "job never ran"
[ "$(job_field "$queued" state)" = queued ] || fail "second job not queued"

start_ms=$(date +%s%3N)
timeout 10 "$ZJOB" cancel "$running" "$queued" >"$TEST_DIR/cancel.out" ||
    fail "zjob cancel exited $?"
elapsed=$(($(date +%s%3N) - start_ms))
[ "$(job_field "$running" state)" = cancelled ] ||
    fail "running job is $(job_field "$running" state), want cancelled"
[ "$(job_field "$queued" state)" = cancelled ] || fail "queued not cancelled"
[ "$elapsed" -lt 1000 ] || fail "cancel took $elapsed ms"

# The worker's slot is free again: a new job runs at once.
[ "$(timeout 10 "$ZJOB" submit sleep 10 --wait)" = 10 ] ||
    fail "worker did not take a new job after the cancel"
pass "running job cancelled in $elapsed ms"
