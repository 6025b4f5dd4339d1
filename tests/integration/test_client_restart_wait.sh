# Blocking waits ride through a silent broker (SIGSTOP past the client's
# liveness) and through a broker SIGKILL and restart on the same endpoints
# and journal: `zjob submit --wait`, `zjob wait` and `zjob map` still
# print every result once. The restart part needs the broker journal.
# `zjob wait` and `zjob map` started while the broker is down wait for it
# (the down timeout, not the 3 s a quick command gives a broker that
# never answered) and collect their results; `zjob status` meanwhile still
# fails fast.
source "$(dirname "$0")/lib.sh"

fast=(--heartbeat 200ms --liveness 3)
journal=(--journal "$TEST_DIR/journal" --fsync always)
# The broker comes back on the same ports (see start_broker_fixed).
source "$(dirname "$0")/audit.sh"
start_broker_fixed "${fast[@]}" "${journal[@]}"
start_worker w1 "${fast[@]}" --threads 4 --queue sleep --queue echo
wait_workers 1

# 1. Silence: the broker stops for 5 s (the client's liveness is 3 s).
timeout 60 "$ZJOB" submit sleep 1500 --wait >"$TEST_DIR/stop.out" \
    2>"$TEST_DIR/stop.log" &
submit_pid=$!
ids=()
for n in 1 2 3; do ids+=("$("$ZJOB" submit sleep "${n}00")"); done
seq 1 300 >"$TEST_DIR/input"
timeout 60 "$ZJOB" map echo "$TEST_DIR/input" >"$TEST_DIR/map-stop.out" \
    2>"$TEST_DIR/map-stop.log" &
map_pid=$!
timeout 60 "$ZJOB" wait "${ids[@]}" >"$TEST_DIR/wait-stop.out" \
    2>"$TEST_DIR/wait-stop.log" &
wait_pid=$!
sleep 0.3
kill -STOP "$BROKER_PID"
sleep 5
kill -CONT "$BROKER_PID"
wait "$submit_pid" || fail "submit --wait across a pause exited $?: \
$(cat "$TEST_DIR/stop.log")"
[ "$(cat "$TEST_DIR/stop.out")" = 1500 ] || fail "submit --wait printed \
'$(cat "$TEST_DIR/stop.out")'"
wait "$wait_pid" || fail "wait across a pause exited $?"
[ "$(sort "$TEST_DIR/wait-stop.out" | tr '\n' ' ')" = "100 200 300 " ] ||
    fail "wait printed '$(cat "$TEST_DIR/wait-stop.out")'"
wait "$map_pid" || fail "map across a pause exited $?"
cmp -s "$TEST_DIR/input" "$TEST_DIR/map-stop.out" || fail "map output differs"

# 2. Restart: SIGKILL the broker while a job runs, start it again on the
# same endpoints and journal; the waiting client gets the one result.
timeout 90 "$ZJOB" submit sleep 2000 --wait >"$TEST_DIR/kill.out" \
    2>"$TEST_DIR/kill.log" &
submit_pid=$!
id=$("$ZJOB" submit sleep 1000)
timeout 90 "$ZJOB" wait "$id" "$id" >"$TEST_DIR/wait-kill.out" \
    2>"$TEST_DIR/wait-kill.log" &
wait_pid=$!
sleep 0.5
kill -KILL "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null || true
sleep 1.5
restart_broker "${fast[@]}" "${journal[@]}"
wait "$submit_pid" || fail "submit --wait across a restart exited $?: \
$(cat "$TEST_DIR/kill.log")"
[ "$(cat "$TEST_DIR/kill.out")" = 2000 ] || fail "submit --wait printed \
'$(cat "$TEST_DIR/kill.out")' after the restart"
wait "$wait_pid" || fail "wait across a restart exited $?: \
$(cat "$TEST_DIR/wait-kill.log")"
[ "$(cat "$TEST_DIR/wait-kill.out")" = 1000 ] ||
    fail "wait printed '$(cat "$TEST_DIR/wait-kill.out")' (want one line)"

# 3. Started while the broker is down: it comes back 5 s later.
id=$("$ZJOB" submit sleep 1000)
kill -KILL "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null || true
timeout 90 "$ZJOB" wait "$id" >"$TEST_DIR/wait-down.out" \
    2>"$TEST_DIR/wait-down.log" &
wait_pid=$!
seq 1 20 | timeout 90 "$ZJOB" map echo >"$TEST_DIR/map-down.out" \
    2>"$TEST_DIR/map-down.log" &
map_pid=$!
start=$(date +%s%3N)
set +e
"$ZJOB" status "$id" >/dev/null 2>"$TEST_DIR/status-down.err"
rc=$?
set -e
took=$(($(date +%s%3N) - start))
[ "$rc" = 3 ] || fail "status against a dead broker exited $rc"
[ "$took" -lt 5000 ] || fail "status against a dead broker took $took ms"
sleep $((5 - took / 1000))
kill -0 "$wait_pid" 2>/dev/null || fail "wait gave up while the broker \
was down: $(cat "$TEST_DIR/wait-down.log")"
restart_broker "${fast[@]}" "${journal[@]}"
wait "$wait_pid" || fail "wait started while the broker was down exited \
$?: $(cat "$TEST_DIR/wait-down.log")"
[ "$(cat "$TEST_DIR/wait-down.out")" = 1000 ] ||
    fail "wait printed '$(cat "$TEST_DIR/wait-down.out")' after the restart"
grep -q "not answering; waiting up to 60s" "$TEST_DIR/wait-down.log" ||
    fail "wait did not say why it waits: $(cat "$TEST_DIR/wait-down.log")"
wait "$map_pid" || fail "map started while the broker was down exited $?"
[ "$(tr '\n' ' ' <"$TEST_DIR/map-down.out")" = "$(seq 1 20 | tr '\n' ' ')" ] ||
    fail "map printed '$(tr '\n' ' ' <"$TEST_DIR/map-down.out")'"
pass "submit --wait, wait and map rode through a 5 s pause and a restart; \
wait and map started while it was down waited for it (status failed in \
$took ms)"
