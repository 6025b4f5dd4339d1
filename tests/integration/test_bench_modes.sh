# zjob-bench's map and zmq modes: --mode map runs `zjob map` end to end on
# a cluster of its own and fails when zjob fails or its output is not the
# input; --mode zmq runs its ZeroMQ baseline in processes of its own, with
# a window and one message at a time, and refuses --broker. Every run
# leaves no process and no temp file behind.
source "$(dirname "$0")/lib.sh"

export TMPDIR="$TEST_DIR" # the bench's temp dirs land here
BENCH="$BIN/zjob-bench"

# bench NAME ARG...: runs zjob-bench with output in NAME.out and NAME.log;
# its exit status is left in RC.
bench() {
    local name=$1
    shift
    RC=0
    timeout 60 "$BENCH" "$@" >"$TEST_DIR/$name.out" \
        2>"$TEST_DIR/$name.log" || RC=$?
}

# json NAME FILTER: one value of NAME's JSON report.
json() {
    jq -r "$2" "$TEST_DIR/$1.out"
}

# no_leftovers: no child of the bench runs and no temp dir of it is left.
no_leftovers() {
    if pgrep -f -- "$TEST_DIR/zjob-bench" >/dev/null; then
        fail "bench processes still running: \
$(pgrep -a -f -- "$TEST_DIR/zjob-bench")"
    fi
    local left
    left=$(find "$TEST_DIR" -mindepth 1 -maxdepth 1 -type d -name 'zjob-*')
    [ -z "$left" ] || fail "temp dirs left behind: $left"
}

bench map --spawn --mode map --count 2000
[ "$RC" = 0 ] || fail "--mode map exited $RC: $(cat "$TEST_DIR/map.out" \
"$TEST_DIR/map.log")"
grep -q '^output matched the input: yes$' "$TEST_DIR/map.out" ||
    fail "--mode map did not report a match: $(cat "$TEST_DIR/map.out")"
rate=$(awk '/^zjob map took/ {print $6}' "$TEST_DIR/map.out")
awk -v r="$rate" 'BEGIN {exit !(r > 0)}' ||
    fail "--mode map gave no positive rate: $(cat "$TEST_DIR/map.out")"
no_leftovers
pass "--mode map: 2000 lines echoed and matched at $rate jobs/s"

bench map_journal --spawn --mode map --count 500 --size 20 --fsync always \
    --workers 1 --threads 1 --prefetch 0 --window 50 --json
[ "$RC" = 0 ] && [ "$(json map_journal .matched)" = true ] ||
    fail "--mode map with --fsync always exited $RC: \
$(cat "$TEST_DIR/map_journal.out" "$TEST_DIR/map_journal.log")"
pass "--mode map with a journaled broker and --window 50 matched"

bench map_fail --spawn --mode map --count 2000 --queue fail --json
[ "$RC" = 1 ] || fail "--mode map --queue fail exited $RC, not 1"
[ "$(json map_fail .zjob_exit)" = 1 ] &&
    [ "$(json map_fail .matched)" = false ] ||
    fail "--mode map --queue fail: $(cat "$TEST_DIR/map_fail.out")"
pass "--mode map --queue fail exits 1 (zjob exit 1, no match)"

bench map_differ --spawn --mode map --count 2000 --queue sha256 --json
[ "$RC" = 1 ] || fail "--mode map --queue sha256 exited $RC, not 1"
[ "$(json map_differ .zjob_exit)" = 0 ] &&
    [ "$(json map_differ .matched)" = false ] ||
    fail "--mode map --queue sha256: $(cat "$TEST_DIR/map_differ.out")"
pass "--mode map exits 1 when zjob succeeds but the output differs"
# A failed run keeps its cluster logs on purpose; clear them for the
# leftover check that follows.
rm -rf "$TEST_DIR"/zjob-bench.*

for window in 100 1; do
    name=zmq_$window
    bench "$name" --spawn --mode zmq --count 2000 --window "$window" --json
    [ "$RC" = 0 ] || fail "--mode zmq --window $window exited $RC: \
$(cat "$TEST_DIR/$name.out" "$TEST_DIR/$name.log")"
    [ "$(json "$name" .completed)" = 2000 ] &&
        [ "$(json "$name" .failed)" = 0 ] &&
        [ "$(json "$name" .window)" = "$window" ] &&
        json "$name" '.round_trips_per_s > 0 and .latency_us.p50 > 0' |
        grep -qx true ||
        fail "--mode zmq --window $window: $(cat "$TEST_DIR/$name.out")"
    no_leftovers
    pass "--mode zmq --window $window: 2000 round trips at \
$(json "$name" '.round_trips_per_s | floor')/s, p50 \
$(json "$name" .latency_us.p50) us"
done

bench zmq_broker --mode zmq --broker tcp://127.0.0.1:1
[ "$RC" = 2 ] || fail "--mode zmq --broker exited $RC, not 2"
grep -q -- '--spawn' "$TEST_DIR/zmq_broker.log" ||
    fail "--mode zmq --broker gave no reason: \
$(cat "$TEST_DIR/zmq_broker.log")"
pass "--mode zmq --broker is refused with exit 2"
