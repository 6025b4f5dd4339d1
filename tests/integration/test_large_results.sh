# Large results: a status reply stays within the message limit by leaving
# some results out (flagged), and `zjob result` still prints every one.
source "$(dirname "$0")/lib.sh"

start_broker --max-payload 1MiB --max-message 3MiB
start_worker w1 --threads 2 --queue echo
wait_workers 1

head -c 1000000 /dev/zero | tr '\0' 'a' >"$TEST_DIR/mb"
ids=()
for _ in 1 2 3 4 5; do
    ids+=("$("$ZJOB" submit echo -f "$TEST_DIR/mb")")
done
timeout 30 "$ZJOB" wait "${ids[@]}" >/dev/null || fail "wait exited $?"

"$ZJOB" status --json "${ids[@]}" >"$TEST_DIR/status.json"
omitted=$(jq -s '[.[] | select(.result_omitted)] | length' \
    "$TEST_DIR/status.json")
[ "$omitted" -ge 1 ] || fail "no result was left out of a 5 MB status reply"

timeout 30 "$ZJOB" result "${ids[@]}" >"$TEST_DIR/results" ||
    fail "result exited $?"
lengths=$(awk '{print length($0)}' "$TEST_DIR/results" | sort -u)
[ "$(wc -l <"$TEST_DIR/results")" = 5 ] && [ "$lengths" = 1000000 ] ||
    fail "result printed $(wc -l <"$TEST_DIR/results") lines of $lengths"
pass "$omitted of 5 results left out of one reply; result printed all 5"
