#!/bin/sh
# Acceptance tests of invitations and topics (tests/integration/
# test_invites.py): the real server, real clients in line mode, commits
# crafted by mlsforge and a proxy that rewrites the server's log.
set -eu
cd "$(dirname "$0")/../.."
CLIENT=./client
SERVER=./server
[ -n "${BUILD:-}" ] && [ -x "$BUILD/bin/client" ] && CLIENT="$BUILD/bin/client"
[ -n "${BUILD:-}" ] && [ -x "$BUILD/bin/server" ] && SERVER="$BUILD/bin/server"
exec python3 tests/integration/test_invites.py "$CLIENT" "$SERVER" "${1:-}"
