#!/bin/sh
# Acceptance tests of ./server (tests/integration/test_server.py): the real
# binary on free ports with temporary databases.
set -eu
cd "$(dirname "$0")/../.."
exec python3 tests/integration/test_server.py ./server "${1:-}"
