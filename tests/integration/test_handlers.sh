# The exec handler (word count through `wc -w`), the example plugin, `fail`
# and the priority order, through the real programs.
source "$(dirname "$0")/lib.sh"

plugin="$ZJOB_BIN_DIR/worker/zjob-plugin-reverse.so"
[ -f "$plugin" ] || fail "example plugin not built at $plugin"
start_broker
start_worker w1 --threads 2 --queue "wc=exec:wc -w" \
    --queue "plugged=plugin:$plugin" --queue fail --queue echo
wait_workers 1

got=$(printf 'one two three\nfour\n' | timeout 20 "$ZJOB" submit wc - --wait)
[ "$(echo "$got" | tr -d ' ')" = 4 ] || fail "wc -w gave '$got'"

got=$(timeout 20 "$ZJOB" submit plugged hello --wait) ||
    fail "plugin job failed: $got"
[ -n "$got" ] || fail "plugin returned nothing"

set +e
err=$(timeout 20 "$ZJOB" submit fail "boom here" --wait 2>&1)
rc=$?
set -e
[ "$rc" = 1 ] || fail "a failing job exits $rc, want 1"
echo "$err" | grep -q "boom here" || fail "error text missing: $err"

json=$(timeout 20 "$ZJOB" submit echo '{"x": 1}' --wait --json)
[ "$(echo "$json" | jq -r .state)" = succeeded ] || fail "json: $json"
[ "$(echo "$json" | jq -r .result)" = '{"x": 1}' ] || fail "json: $json"
# Idempotency: a key seen before gives back the first job, and its result
# once it finished; the job runs once.
first=$("$ZJOB" submit echo once --key order-17)
again=$("$ZJOB" submit echo twice --key order-17)
[ "$first" = "$again" ] || fail "same key gave ids $first and $again"
got=$(timeout 20 "$ZJOB" submit echo thrice --key order-17 --wait)
[ "$got" = once ] || fail "keyed submit --wait gave '$got', want 'once'"
other=$("$ZJOB" submit echo once --key order-18)
[ "$other" != "$first" ] || fail "another key gave the same id"
pass "exec, plugin, fail, --json and idempotency keys behave"
