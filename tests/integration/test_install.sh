# `cmake --install` into a fresh prefix gives the three programs, libzjob,
# its headers and a pkg-config file with which an outside program builds
# and talks to a broker.
source "$(dirname "$0")/lib.sh"

prefix="$TEST_DIR/prefix"
cmake --install "$ZJOB_BIN_DIR" --prefix "$prefix" >/dev/null ||
    fail "cmake --install failed"
for program in zjob zjob-broker zjob-worker; do
    [ -x "$prefix/bin/$program" ] || fail "$program not installed"
done
[ -f "$prefix/include/zjob/zjob.h" ] || fail "zjob.h not installed"
[ -f "$prefix/include/zjob/zjob_plugin.h" ] || fail "plugin header missing"
pc=$(find "$prefix" -name zjob.pc)
[ -n "$pc" ] || fail "zjob.pc not installed"
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
libdir=$(pkg-config --variable=libdir zjob)
[ -e "$libdir/libzjob.so" ] || fail "pkg-config libdir $libdir has no libzjob"

# Only the public API leaves the shared library.
exported=$(nm -D --defined-only "$libdir/libzjob.so" | awk '$2 == "T" {print $3}')
if echo "$exported" | grep -qv '^zjob_'; then
    fail "libzjob exports internals: $(echo "$exported" | grep -v '^zjob_' |
        head -3 | tr '\n' ' ')"
fi

# A sanitized libzjob needs its runtime loaded first in the program too.
sanitize=()
if grep -q '^ZJOB_SANITIZE:BOOL=ON' "$ZJOB_BIN_DIR/CMakeCache.txt"; then
    sanitize=(-fsanitize=address,undefined)
fi
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror "${sanitize[@]}" -o "$TEST_DIR/example" \
    "$ZJOB_SOURCE_DIR/tests/integration/install_example.c" \
    $(pkg-config --cflags --libs zjob) || fail "example does not build"

start_broker
start_worker w1 --threads 1 --queue sha256
wait_workers 1
got=$(LD_LIBRARY_PATH="$libdir" timeout 20 "$TEST_DIR/example" \
    "$ZJOB_BROKER" "installed") || fail "example failed: $got"
want=$(printf '%s' installed | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "example printed '$got', want '$want'"
pass "installed programs, headers, zjob.pc and libzjob work from outside"
