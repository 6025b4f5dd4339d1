# A damaged journal never stops the broker: (a) garbage appended to the
# last segment, (b) the last segment cut in the middle of its last record,
# (c) one byte flipped in an early record of an earlier segment, (d) an
# empty segment left by a crash just after its creation. Each time the
# broker starts, logs what it cut or skipped with the segment, offset and
# byte count, serves, and every job recorded before the damage is there
# (for (c), every one after the damaged record too); ids stay unique and
# the surviving jobs then run.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/audit.sh"
source "$(dirname "$0")/broker_faults.sh"

jargs=(--journal "$JOURNAL" --fsync always)

# submit_queued PREFIX N OUT: N echo jobs "PREFIX1".."PREFIXN" (no worker
# runs them yet); their ids in OUT, in order.
submit_queued() {
    : >"$3"
    for i in $(seq "$2"); do "$ZJOB" submit echo "$1$i" >>"$3"; done
}

# expect_states IDS_FILE STATE: every id of the file is in STATE.
expect_states() {
    local wrong
    wrong=$(states_of "$1" | awk -v s="$2" '$2 != s' | sed -n 1,3p)
    [ -z "$wrong" ] || fail "expected $2: $wrong"
}

# expect_line EVENT FIELD=VALUE...: the last EVENT line has these fields.
expect_line() {
    local event=$1 pair
    shift
    [ "$(log_count "$event")" -gt 0 ] || fail "no $event line logged"
    for pair in "$@"; do
        [ "$(log_field "$event" "${pair%%=*}")" = "${pair#*=}" ] ||
            fail "$event: want $pair: $(grep " event=$event " "$BROKER_LOG" |
                tail -n 1)"
    done
}

start_broker_fixed "${jargs[@]}"
submit_queued a 20 "$TEST_DIR/a.ids"
stop_broker

# (a) Garbage after the last record of the last segment.
seg1=$(segments | sed -n 1p)
size1=$(file_size "$seg1")
head -c 37 /dev/zero | tr '\0' '\377' >>"$seg1"
timed_restart "${jargs[@]}"
expect_line journal_tail_cut "segment=$seg1" "offset=$size1" \
    dropped_bytes=37 reason=bad_length
expect_line journal_replayed jobs=20
[ "$(file_size "$seg1")" = "$size1" ] || fail "the garbage was not cut off"
expect_states "$TEST_DIR/a.ids" queued
figures="garbage: restart_ms=$RESTART_MS replay_ms=$REPLAY_MS"

# (b) The last segment loses the last 7 bytes of its last record (the
# job b10): that record is cut, the rest stays.
submit_queued b 10 "$TEST_DIR/b.ids"
stop_broker
seg2=$(segments | sed -n 2p)
read -r last_off last_len < <(seg_records "$seg2" | tail -n 1)
[ "$(seg_records "$seg2" | wc -l)" = 11 ] ||
    fail "expected a next-id record and 10 jobs in $seg2"
truncate -s -7 "$seg2"
timed_restart "${jargs[@]}"
expect_line journal_tail_cut "segment=$seg2" "offset=$last_off" \
    "dropped_bytes=$((last_len + 8 - 7))" reason=bad_length
expect_line journal_replayed jobs=29
expect_states "$TEST_DIR/a.ids" queued
head -n 9 "$TEST_DIR/b.ids" >"$TEST_DIR/b9.ids"
tail -n 1 "$TEST_DIR/b.ids" >"$TEST_DIR/b10.id"
expect_states "$TEST_DIR/b9.ids" queued
expect_states "$TEST_DIR/b10.id" unknown
figures+="; torn: restart_ms=$RESTART_MS replay_ms=$REPLAY_MS"

# (c) One byte flipped in the body of job a5's record in the first
# segment, which is no longer the last: that record is skipped as damage,
# the valid records after it (a6..a20) and the later segments are read.
stop_broker
read -r off len < <(seg_records "$seg1" | sed -n 6p)
pos=$((off + 8 + len / 2))
byte=$(od -An -tu1 -j "$pos" -N 1 "$seg1" | tr -d ' ')
printf '%b' "\\$(printf %03o $((byte ^ 255)))" |
    dd of="$seg1" bs=1 seek="$pos" conv=notrunc status=none
timed_restart "${jargs[@]}"
expect_line journal_damaged "segment=$seg1" "offset=$off" \
    "skipped_bytes=$((len + 8))" reason=checksum
expect_line journal_replayed jobs=28
expect_line journal_losses damaged=1
grep -v -x "$(sed -n 5p "$TEST_DIR/a.ids")" "$TEST_DIR/a.ids" \
    >"$TEST_DIR/a19.ids"
sed -n 5p "$TEST_DIR/a.ids" >"$TEST_DIR/a5.id"
expect_states "$TEST_DIR/a19.ids" queued
expect_states "$TEST_DIR/a5.id" unknown
expect_states "$TEST_DIR/b9.ids" queued
figures+="; flipped: restart_ms=$RESTART_MS replay_ms=$REPLAY_MS"

# (d) A crash just after a segment was created leaves it empty: that is
# no damage, neither at the next start nor at the one after (when it is
# no longer the last segment). Only seg1's damage is reported again.
stop_broker
last=$(basename "$(segments | tail -n 1)" .zj)
: >"$JOURNAL/$(printf 'seg-%016x.zj' $((16#${last#seg-} + 1)))"
cuts=$(log_count journal_tail_cut)
for start in 1 2; do
    damaged=$(log_count journal_damaged)
    [ "$start" = 1 ] || stop_broker
    timed_restart "${jargs[@]}"
    expect_line journal_replayed jobs=28
    [ "$(log_count journal_tail_cut)" = "$cuts" ] ||
        fail "an empty segment was reported as a torn tail"
    [ "$(log_count journal_damaged)" = $((damaged + 1)) ] ||
        fail "an empty segment was reported as damage"
    expect_line journal_damaged "segment=$seg1"
done

# The broker serves: a new job gets a fresh id and the survivors run.
new=$("$ZJOB" submit echo c1)
[ "$new" -gt "$(sort -n "$TEST_DIR/b.ids" | tail -n 1)" ] ||
    fail "new id $new is not above the ids before"
start_worker w1 --threads 4 --queue echo
cat "$TEST_DIR/a19.ids" "$TEST_DIR/b9.ids" >"$TEST_DIR/live.ids"
echo "$new" >>"$TEST_DIR/live.ids"
wait_final 30 "$TEST_DIR/live.ids"
audit_ids "$TEST_DIR/live.ids" succeeded
[ "$("$ZJOB" result "$(sed -n 6p "$TEST_DIR/a.ids")")" = a6 ] ||
    fail "job a6 has a wrong result"
[ "$("$ZJOB" result "$(sed -n 9p "$TEST_DIR/b.ids")")" = b9 ] ||
    fail "job b9 has a wrong result"
pass "$figures"
