#!/bin/sh
# Acceptance tests of pinned keys and verification (tests/integration/
# test_keys.py): the real server, real clients in line mode, and a proxy
# that swaps a user's key in the server's answers.
set -eu
cd "$(dirname "$0")/../.."
CLIENT=./client
SERVER=./server
[ -n "${BUILD:-}" ] && [ -x "$BUILD/bin/client" ] && CLIENT="$BUILD/bin/client"
[ -n "${BUILD:-}" ] && [ -x "$BUILD/bin/server" ] && SERVER="$BUILD/bin/server"
exec python3 tests/integration/test_keys.py "$CLIENT" "$SERVER" "${1:-}"
