#!/bin/sh
# The server over PostgreSQL (issue 14), on a temporary cluster
# (scripts/pg-cluster.sh: initdb/pg_ctl on a free port in a temporary
# directory, as the postgres user, removed at the end): the store's unit
# tests on it (test_server_store, the SQLite store's tests run on
# store_pg.c), the server acceptance tests (test_server.py) with every
# server on a fresh database of it, and the multi-process tests
# (test_pg.py): two server processes over one database with protocol and
# real clients, racing commits, lost database connections, one process
# killed under load.
# Usage: tests/integration/pg_test.sh [test-name-substring]
set -eu
cd "$(dirname "$0")/../.."
if [ "${1:-}" != "--in-cluster" ]; then
    exec sh scripts/pg-cluster.sh sh "$0" --in-cluster "${1:-}"
fi
ONLY="${2:-}"
BIN=./server
CLIENT=./client
UNIT=build/rel/bin/test_server_store
if [ -n "${BUILD:-}" ]; then
    [ -x "$BUILD/bin/server" ] && BIN="$BUILD/bin/server"
    [ -x "$BUILD/bin/client" ] && CLIENT="$BUILD/bin/client"
    UNIT="$BUILD/bin/test_server_store"
    [ -x "$BUILD/bin/mlsforge" ] && export MLSFORGE="$BUILD/bin/mlsforge"
fi
if [ -x "$UNIT" ] && [ -z "$ONLY" ]; then
    echo "== store unit tests on PostgreSQL"
    psql -q -X "$MLSCHAT_TEST_PG/postgres" -c "CREATE DATABASE unit"
    MLSCHAT_TEST_PG_DB="$MLSCHAT_TEST_PG/unit" "$UNIT"
fi
echo "== server acceptance tests over PostgreSQL"
python3 tests/integration/test_server.py "$BIN" "$ONLY"
echo "== several server processes over one PostgreSQL database"
python3 tests/integration/test_pg.py "$BIN" "$CLIENT" "$ONLY"
