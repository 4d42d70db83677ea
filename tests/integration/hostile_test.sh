#!/bin/sh
# The hostile-client suite (tests/integration/test_hostile.py): valid
# requests used as weapons against the real server, each refused or
# bounded, with honest clients still served (SECURITY.md).
set -eu
cd "$(dirname "$0")/../.."
BIN=./server
[ -n "${BUILD:-}" ] && [ -x "$BUILD/bin/server" ] && BIN="$BUILD/bin/server"
[ -n "${BUILD:-}" ] && [ -x "$BUILD/bin/mlsforge" ] && export MLSFORGE="$BUILD/bin/mlsforge"
exec python3 tests/integration/test_hostile.py "$BIN" "${1:-}"
