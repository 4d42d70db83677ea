#!/bin/sh
# make install-check: the library as an application sees it.
#   1. make install PREFIX=<temporary directory>
#   2. examples/example.c compiled with `pkg-config --cflags --libs libmls`
#      from that prefix, run against the installed libmls.so
#   3. the same with `pkg-config --static` against the installed libmls.a
#   4. libmls.so exports only mls_ symbols (nm -D --defined-only)
# Usage: sh scripts/install-check.sh BUILD_DIR   (MAKE, CC from make)
set -eu
B=$1
MAKE=${MAKE:-make}
CC=${CC:-cc}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}

# The sanitizer build's objects need the sanitizer runtime in every link;
# the packaging is checked on the release build.
if [ "${SANITIZE:-}" = 1 ]; then
    echo "install-check: skipped in the SANITIZE=1 build"
    exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/libmls-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
prefix=$tmp/prefix

$MAKE --no-print-directory -s install PREFIX="$prefix" >/dev/null

for f in include/mls/mls.h include/mls/group.h lib/libmls.a lib/libmls.so \
         lib/libmls.so.0 lib/pkgconfig/libmls.pc; do
    [ -e "$prefix/$f" ] || { echo "install-check: $prefix/$f missing" >&2; exit 1; }
done

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cflags=$($PKG_CONFIG --cflags libmls)
libs=$($PKG_CONFIG --libs libmls)
slibs=$($PKG_CONFIG --static --libs libmls)

# Shared: the program needs libmls.so.0 at run time, found through
# LD_LIBRARY_PATH (no rpath).
$CC -std=c11 -Wall -Wextra -Werror $cflags -o "$tmp/example-shared" examples/example.c $libs
readelf -d "$tmp/example-shared" | grep -q 'NEEDED.*libmls\.so\.0' || {
    echo "install-check: example-shared does not link libmls.so.0" >&2; exit 1; }
LD_LIBRARY_PATH="$prefix/lib" "$tmp/example-shared" >/dev/null

# Static: the same flags with --static, the archive named explicitly
# (-l:libmls.a) because the linker prefers the .so beside it.
slibs_a=$(printf '%s\n' "$slibs" | sed 's/-lmls\b/-l:libmls.a/')
$CC -std=c11 -Wall -Wextra -Werror $cflags -o "$tmp/example-static" examples/example.c $slibs_a
if readelf -d "$tmp/example-static" | grep -q 'NEEDED.*libmls'; then
    echo "install-check: example-static still needs libmls.so" >&2; exit 1
fi
"$tmp/example-static" >/dev/null

# The soname carries the major version.
readelf -d "$prefix/lib/libmls.so" | grep -q 'SONAME.*\[libmls\.so\.0\]' || {
    echo "install-check: libmls.so has no soname libmls.so.0" >&2; exit 1; }

# Only the public functions (MLS_API) are exported.
bad=$(nm -D --defined-only "$prefix/lib/libmls.so" | awk '{print $NF}' | grep -v '^mls_' || true)
if [ -n "$bad" ]; then
    echo "install-check: libmls.so exports non-mls_ symbols:" >&2
    echo "$bad" >&2
    exit 1
fi
n=$(nm -D --defined-only "$prefix/lib/libmls.so" | wc -l)
echo "install-check: ok (example shared and static from $PKG_CONFIG_PATH; $n exported mls_ symbols)"
