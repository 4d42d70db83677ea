#!/bin/sh
# Acceptance tests of ./server (tests/integration/test_server.py): the real
# binary on free ports with temporary databases.
set -eu
cd "$(dirname "$0")/../.."
BIN=./server
[ -n "${BUILD:-}" ] && [ -x "$BUILD/bin/server" ] && BIN="$BUILD/bin/server"
[ -n "${BUILD:-}" ] && [ -x "$BUILD/bin/mlsforge" ] && export MLSFORGE="$BUILD/bin/mlsforge"
exec python3 tests/integration/test_server.py "$BIN" "${1:-}"
