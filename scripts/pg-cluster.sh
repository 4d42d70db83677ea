#!/bin/sh
# Runs a command beside a temporary PostgreSQL cluster: initdb/pg_ctl in a
# temporary directory on a free port, as the user Debian's packages expect
# (postgres, through runuser when we are root; initdb refuses root).  The
# command finds the cluster in MLSCHAT_TEST_PG (a libpq URI without a
# database name; user mlschat, trust authentication on 127.0.0.1 only) and
# PostgreSQL's programs (psql, createdb) on PATH.  The cluster is stopped
# and removed when the command ends, whatever happens; the command's exit
# status is the script's.
# Usage: scripts/pg-cluster.sh COMMAND [ARG...]
set -eu
sh "$(dirname "$0")/deps.sh" postgresql
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] ||
    { echo "pg-cluster: no initdb under /usr/lib/postgresql" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mlschat-pg.XXXXXX")
chmod 755 "$TMP"
AS=""
if [ "$(id -u)" = 0 ]; then
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
# fsync off: the cluster lives for one run; the tests show the server's
# rule (acknowledged only after COMMIT), not the disk's, and the benchmark
# says so beside its numbers.
$AS "$PGBIN/pg_ctl" -D "$TMP/data" -l "$TMP/postgres.log" -w -t 60 \
    -o "-p $PORT -k $TMP -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
    start >/dev/null || { cat "$TMP/postgres.log" >&2; exit 1; }
export MLSCHAT_TEST_PG="postgresql://mlschat@127.0.0.1:$PORT"
export PATH="$PGBIN:$PATH"
rc=0
"$@" || rc=$?
exit $rc
