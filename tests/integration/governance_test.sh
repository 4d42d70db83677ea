#!/bin/sh
# Governance acceptance tests (tests/integration/test_governance.py): the
# real server against commits crafted through libmls by mlsforge.
set -eu
cd "$(dirname "$0")/../.."
BIN=./server
CLIENT=./client
FORGE=build/rel/bin/mlsforge
[ -n "${BUILD:-}" ] && [ -x "$BUILD/bin/server" ] && BIN="$BUILD/bin/server"
[ -n "${BUILD:-}" ] && [ -x "$BUILD/bin/client" ] && CLIENT="$BUILD/bin/client"
[ -n "${BUILD:-}" ] && [ -x "$BUILD/bin/mlsforge" ] && FORGE="$BUILD/bin/mlsforge"
exec python3 tests/integration/test_governance.py "$BIN" "$FORGE" "$CLIENT" "${1:-}"
