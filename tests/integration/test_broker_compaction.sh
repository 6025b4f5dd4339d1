# The journal stays proportional to the live jobs, not to history: with
# --journal-compact 256k and results expiring after 1 s, tens of thousands
# of small jobs go through while the journal folder stays under 4 MB and
# compactions are logged; jobs queued the whole time (no worker serves
# their queue) are rewritten by each compaction and, after a SIGKILL and a
# restart, are still queued, then run.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/audit.sh"
source "$(dirname "$0")/broker_faults.sh"

jobs=${ZJOB_COMPACT_JOBS:-40000}
limit=$((4 << 20))
jargs=(--journal "$JOURNAL" --fsync batch --journal-compact 256k
    --result-ttl 1s)
start_broker_fixed "${jargs[@]}"

held="$TEST_DIR/held.ids"
for i in $(seq 50); do "$ZJOB" submit held "h$i" >>"$held"; done

# Samples the journal folder's size until told to stop (bounded).
(
    for _ in $(seq 3000); do
        [ -e "$TEST_DIR/stop-sampling" ] && break
        du -sb "$JOURNAL" | cut -f1
        sleep 0.05
    done
) >"$TEST_DIR/sizes" &
sampler=$!
PIDS+=("$sampler")

# prefetch 0: the rate the 1 s result expiry is sized for
start_worker w1 --threads 4 --prefetch 0 --queue echo
worker=$LAST_PID
seq "$jobs" >"$TEST_DIR/input"
begin=$(now_ms)
timeout 120 "$ZJOB" map echo "$TEST_DIR/input" >"$TEST_DIR/output" ||
    fail "map exited $?"
map_ms=$(($(now_ms) - begin))
cmp -s "$TEST_DIR/input" "$TEST_DIR/output" || fail "map output differs"
touch "$TEST_DIR/stop-sampling"
wait "$sampler"
stop_pid "$worker"

max=$(sort -n "$TEST_DIR/sizes" | tail -n 1)
compactions=$(log_count journal_compacted)
[ "$compactions" -ge 2 ] || fail "$compactions compactions logged"
# Every byte written was either deleted by a compaction or is still there,
# so this is a lower bound of the bytes written in all.
reclaimed=$(grep ' event=journal_compacted ' "$BROKER_LOG" |
    sed 's/.* before_bytes=\([0-9]*\) after_bytes=\([0-9]*\).*/\1 \2/' |
    awk '{sum += $1 - $2} END {print sum}')
written=$((reclaimed + $(du -sb "$JOURNAL" | cut -f1)))
[ "$max" -lt "$limit" ] || fail "journal reached $max bytes (limit $limit)"
[ "$written" -gt $((2 * max)) ] ||
    fail "wrote only $written bytes, peak $max: nothing to show"
bytes=$(stat_of journal_bytes)
[ "$bytes" -lt "$limit" ] || fail "stats: journal_bytes=$bytes"

# The held jobs survive a kill and a restart after all those compactions.
kill_broker
timed_restart "${jargs[@]}"
wrong=$(states_of "$held" | awk '$2 != "queued"' | sed -n 1,3p)
[ -z "$wrong" ] || fail "held jobs not queued after the restart: $wrong"
replayed=$(log_field journal_replayed records)
start_worker w2 --threads 4 --queue held=builtin:echo
wait_final 30 "$held"
audit_ids "$held" succeeded
[ "$("$ZJOB" result "$(sed -n 50p "$held")")" = h50 ] ||
    fail "held job 50 has a wrong result"
pass "$jobs jobs in $map_ms ms; $compactions compactions; journal peak" \
    "$max bytes, $bytes at the end, >= $written written;" \
    "restart_ms=$RESTART_MS replay_ms=$REPLAY_MS records=$replayed"
