# Two workers share the load: each runs a fair part of 200 short jobs.
source "$(dirname "$0")/lib.sh"

start_broker
start_worker alpha --threads 2 --queue sleep
start_worker beta --threads 2 --queue sleep
wait_workers 2

for _ in $(seq 200); do echo 10; done |
    timeout 60 "$ZJOB" map sleep >/dev/null || fail "map exited $?"
"$ZJOB" workers --json >"$TEST_DIR/workers.json"
alpha=$(jq '.[] | select(.name == "alpha") | .done' "$TEST_DIR/workers.json")
beta=$(jq '.[] | select(.name == "beta") | .done' "$TEST_DIR/workers.json")
[ $((alpha + beta)) -eq 200 ] || fail "done counts $alpha + $beta != 200"
[ "$alpha" -ge 50 ] && [ "$beta" -ge 50 ] ||
    fail "unfair split: alpha ran $alpha, beta ran $beta"
pass "alpha ran $alpha, beta ran $beta"
