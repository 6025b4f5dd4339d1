# 1,000 sha256 jobs through `zjob map` equal coreutils' sha256sum, and
# sha256 of whole files through `submit -f` equals it too.
source "$(dirname "$0")/lib.sh"

start_broker
start_worker w1 --threads 2 --queue sha256
start_worker w2 --threads 2 --queue sha256
wait_workers 2

for i in $(seq 1000); do
    echo "line $i $RANDOM of the sha256 test"
done >"$TEST_DIR/input"
while IFS= read -r line; do
    printf '%s' "$line" | sha256sum | cut -d' ' -f1
done <"$TEST_DIR/input" >"$TEST_DIR/expected"

timeout 120 "$ZJOB" map sha256 "$TEST_DIR/input" >"$TEST_DIR/output" ||
    fail "zjob map exited $?"
cmp -s "$TEST_DIR/expected" "$TEST_DIR/output" ||
    fail "map output differs from sha256sum: $(diff "$TEST_DIR/expected" \
        "$TEST_DIR/output" | head -5)"

# map --files: each line names a file whose content is the payload; a file
# that cannot be read fails its own line and no other.
find "$ZJOB_SOURCE_DIR/common" -type f | sort >"$TEST_DIR/files"
echo "$TEST_DIR/no-such-file" >>"$TEST_DIR/files"
set +e
timeout 60 "$ZJOB" map --files sha256 "$TEST_DIR/files" \
    >"$TEST_DIR/file-sums" 2>"$TEST_DIR/file-errors"
rc=$?
set -e
[ "$rc" = 1 ] || fail "map --files with a missing file exited $rc, want 1"
grep -q "no-such-file" "$TEST_DIR/file-errors" || fail "missing file not named"
head -n -1 "$TEST_DIR/files" | xargs sha256sum | cut -d' ' -f1 |
    cmp -s - <(head -n -1 "$TEST_DIR/file-sums") ||
    fail "map --files digests differ from sha256sum"

for file in /etc/hostname "$0"; do
    got=$(timeout 30 "$ZJOB" submit sha256 -f "$file" --wait)
    want=$(sha256sum "$file" | cut -d' ' -f1)
    [ "$got" = "$want" ] || fail "$file: got '$got', want '$want'"
done
pass "1000 map lines, $(wc -l <"$TEST_DIR/files") files and 2 submits equal sha256sum"
