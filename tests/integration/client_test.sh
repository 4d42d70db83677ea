#!/bin/sh
# Acceptance tests of ./client (tests/integration/test_client.py): the real
# server on free ports with temporary databases, several real clients in
# line mode, a stalling proxy, and tmux for the curses UI.
set -eu
cd "$(dirname "$0")/../.."
CLIENT=./client
SERVER=./server
[ -n "${BUILD:-}" ] && [ -x "$BUILD/bin/client" ] && CLIENT="$BUILD/bin/client"
[ -n "${BUILD:-}" ] && [ -x "$BUILD/bin/server" ] && SERVER="$BUILD/bin/server"
exec python3 tests/integration/test_client.py "$CLIENT" "$SERVER" "${1:-}"
