#!/bin/sh
# The server over PostgreSQL (issue 14): a temporary cluster made with
# initdb/pg_ctl on a free port in a temporary directory, run as the user
# Debian's packages expect (postgres, through runuser when we are root);
# then the store's unit tests on it (test_server_store, the SQLite store's
# tests run on store_pg.c), the server acceptance tests (test_server.py)
# with every server on a fresh database of it, and the multi-process tests (test_pg.py): two
# server processes over one database with protocol clients and real
# ./client processes, racing commits, and one process killed under load.
# The cluster is stopped and removed on exit, whatever happens.
# Usage: tests/integration/pg_test.sh [test-name-substring]
set -eu
cd "$(dirname "$0")/../.."
BIN=./server
CLIENT=./client
if [ -n "${BUILD:-}" ]; then
    [ -x "$BUILD/bin/server" ] && BIN="$BUILD/bin/server"
    [ -x "$BUILD/bin/client" ] && CLIENT="$BUILD/bin/client"
fi
sh scripts/deps.sh postgresql
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
[ -x "$PGBIN/initdb" ] || { echo "pg_test: no initdb under /usr/lib/postgresql" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mlschat-pg.XXXXXX")
chmod 755 "$TMP"
AS=""
if [ "$(id -u)" = 0 ]; then
    # initdb refuses to run as root: the cluster belongs to postgres.
    AS="runuser -u postgres --"
    chown postgres "$TMP"
fi
cleanup() {
    $AS "$PGBIN/pg_ctl" -D "$TMP/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
$AS "$PGBIN/initdb" -D "$TMP/data" -U mlschat --auth=trust -E UTF8 --no-sync >"$TMP/initdb.log" 2>&1 ||
    { cat "$TMP/initdb.log" >&2; exit 1; }
# fsync off: this cluster lives for one test run; what the tests show is
# the server's durability rule (acknowledged only after COMMIT), not the
# disk's.
$AS "$PGBIN/pg_ctl" -D "$TMP/data" -l "$TMP/postgres.log" -w -t 60 \
    -o "-p $PORT -k $TMP -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
    start >/dev/null || { cat "$TMP/postgres.log" >&2; exit 1; }
export MLSCHAT_TEST_PG="postgresql://mlschat@127.0.0.1:$PORT"
export PATH="$PGBIN:$PATH"

UNIT="${BUILD:-build/rel}/bin/test_server_store"
if [ -x "$UNIT" ]; then
    echo "== store unit tests on PostgreSQL"
    psql -q -X "$MLSCHAT_TEST_PG/postgres" -c "CREATE DATABASE unit"
    MLSCHAT_TEST_PG_DB="$MLSCHAT_TEST_PG/unit" "$UNIT"
fi
echo "== server acceptance tests over PostgreSQL"
python3 tests/integration/test_server.py "$BIN" "${1:-}"
echo "== several server processes over one PostgreSQL database"
python3 tests/integration/test_pg.py "$BIN" "$CLIENT" "${1:-}"
