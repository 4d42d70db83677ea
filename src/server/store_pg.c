/*
 * The store interface on PostgreSQL (libpq), for several server processes
 * over one database (docs/DEPLOYMENT.md).  The semantics are those of
 * store_sqlite.c; what SQLite gets from its single writer, this store gets
 * from row locks inside each turn's transaction:
 *
 *  - A group looked up inside a batch is locked (SELECT ... FOR UPDATE)
 *    until the turn commits, so every decision about a group (epoch,
 *    roster, retries by msg_id) is taken on its committed state and no
 *    other process changes it meanwhile.  First commit wins per (group,
 *    epoch) through the compare-and-set on the epoch under that lock, and
 *    sequence numbers come from the locked group row: gap-free and in one
 *    order for every process.
 *  - Uniqueness (usernames, keys, msg_id, one commit per epoch) is kept by
 *    unique indexes; inserts say ON CONFLICT DO NOTHING, so a lost race is
 *    SRV_CONFLICT, not an aborted transaction.
 *  - Each committed log and inbox entry is announced with pg_notify in its
 *    own transaction (delivered only if, and when, it commits, in commit
 *    order) on the channels mlschat_log ('<group ref>:<seq>') and
 *    mlschat_inbox ('<user id>:<inbox id>'); a second connection LISTENs.
 *
 * Durability: COMMIT returns once PostgreSQL has flushed its WAL (the
 * default synchronous_commit = on; docs/DEPLOYMENT.md), and the server
 * acknowledges nothing before COMMIT returned.  Statements are prepared
 * once per connection (again after a reconnect); parameters and results
 * travel in binary.  This file holds the connections, the schema, the
 * statements, the transactions, the notices and the ops table; the
 * operations themselves are in store_pg_data.c.
 */
#include "store_pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* Each migration brings the schema from version i to i + 1, in the one
 * transaction that also holds the migration lock and bumps the version.
 * Every integer is bigint: parameters travel as int8. */
static const char *const migrations[] = {
    "CREATE TABLE users ("
    " id bigserial PRIMARY KEY,"
    " username text NOT NULL UNIQUE,"
    " suite bigint NOT NULL,"
    " sig_key bytea NOT NULL UNIQUE,"
    " created bigint NOT NULL);"
    "CREATE TABLE key_packages ("
    " id bigserial PRIMARY KEY,"
    " user_id bigint NOT NULL REFERENCES users(id),"
    " data bytea NOT NULL,"
    " last_resort bigint NOT NULL,"
    " not_after bigint NOT NULL,"
    " created bigint NOT NULL);"
    "CREATE INDEX key_packages_user ON key_packages(user_id, last_resort, id);"
    "CREATE INDEX key_packages_created ON key_packages(created);"
    "CREATE INDEX key_packages_not_after ON key_packages(not_after);"
    "CREATE TABLE groups ("
    " id bigserial PRIMARY KEY,"
    " name text NOT NULL UNIQUE,"
    " group_id bytea NOT NULL UNIQUE,"
    " epoch bigint NOT NULL,"
    " last_seq bigint NOT NULL,"
    " admin_id bigint NOT NULL REFERENCES users(id),"
    " group_info bytea,"
    " created bigint NOT NULL);"
    "CREATE TABLE members ("
    " group_ref bigint NOT NULL REFERENCES groups(id),"
    " user_id bigint NOT NULL REFERENCES users(id),"
    " role bigint NOT NULL,"
    " joined_seq bigint NOT NULL,"
    " left_seq bigint,"
    " PRIMARY KEY (group_ref, user_id));"
    "CREATE INDEX members_user ON members(user_id);"
    "CREATE TABLE log ("
    " group_ref bigint NOT NULL REFERENCES groups(id),"
    " seq bigint NOT NULL,"
    " epoch bigint NOT NULL,"
    " kind bigint NOT NULL,"
    " sender_id bigint NOT NULL,"
    " data bytea NOT NULL,"
    " meta text,"
    " msg_id bytea,"
    " created bigint NOT NULL,"
    " PRIMARY KEY (group_ref, seq));"
    /* Belt and braces for first-commit-wins: one commit per (group, epoch);
     * and idempotent retries (docs/PROTOCOL.md §7.7) across processes. */
    "CREATE UNIQUE INDEX log_one_commit ON log(group_ref, epoch) WHERE kind = 1;"
    "CREATE UNIQUE INDEX log_msg_id ON log(group_ref, sender_id, msg_id)"
    " WHERE msg_id IS NOT NULL;"
    "CREATE INDEX log_created ON log(created);"
    "CREATE TABLE welcomes ("
    " id bigserial PRIMARY KEY,"
    " data bytea NOT NULL,"
    " group_info bytea,"
    " bytes bigint NOT NULL,"
    " created bigint NOT NULL);"
    "CREATE TABLE inbox ("
    " id bigserial PRIMARY KEY,"
    " user_id bigint NOT NULL REFERENCES users(id),"
    " group_ref bigint NOT NULL REFERENCES groups(id),"
    " seq bigint NOT NULL,"
    " epoch bigint NOT NULL,"
    " sender_id bigint NOT NULL,"
    " welcome_id bigint NOT NULL REFERENCES welcomes(id),"
    " created bigint NOT NULL);"
    "CREATE INDEX inbox_user ON inbox(user_id, id);"
    "CREATE INDEX inbox_welcome ON inbox(welcome_id);"
    "CREATE INDEX inbox_created ON inbox(created);",
    /* 2: server-validated governance (docs/PROTOCOL.md §7.4): each group's
     * libmls public view, written in the transaction of the log entry it
     * follows, and the names users gave up by user.rename. */
    "ALTER TABLE groups ADD COLUMN public_view bytea;"
    "CREATE TABLE renames ("
    " user_id bigint NOT NULL REFERENCES users(id),"
    " old_name text NOT NULL,"
    " created bigint NOT NULL,"
    " PRIMARY KEY (user_id, old_name));",
    /* 3: invitations of users who cannot be added yet (not registered, or
     * no KeyPackage): kept by username until an administrator's client
     * adds the user (docs/PROTOCOL.md §7.8). */
    "CREATE TABLE pending_invites ("
    " group_ref bigint NOT NULL REFERENCES groups(id),"
    " username text NOT NULL,"
    " inviter_id bigint NOT NULL REFERENCES users(id),"
    " created bigint NOT NULL,"
    " PRIMARY KEY (group_ref, username));"
    "CREATE INDEX pending_invites_user ON pending_invites(username);",
};
#define N_MIGRATIONS (sizeof migrations / sizeof migrations[0])

/* The advisory lock that serializes migrations of processes starting
 * together ("mlschat" in ASCII). */
#define MIGRATION_LOCK "1835822184"

#define GROUP_COLS "id, name, group_id, epoch, last_seq, admin_id"

/* Each statement with its parameter types: i = int8, b = bytea, t = text. */
static const struct {
    const char *sql;
    const char *types;
} stmts[Q_COUNT] = {
    [Q_USER_INSERT] = {"INSERT INTO users(username, suite, sig_key, created) VALUES ($1,$2,$3,$4)"
                       " ON CONFLICT DO NOTHING RETURNING id", "tibi"},
    [Q_USER_BY_NAME] = {"SELECT id, username, suite, sig_key FROM users WHERE username = $1", "t"},
    [Q_USER_BY_ID] = {"SELECT id, username, suite, sig_key FROM users WHERE id = $1", "i"},
    [Q_USER_BY_KEY] = {"SELECT id, username, suite, sig_key FROM users WHERE sig_key = $1", "b"},
    [Q_USER_RENAME] = {"UPDATE users SET username = $1 WHERE id = $2", "ti"},
    [Q_RENAME_INSERT] = {"INSERT INTO renames(user_id, old_name, created) VALUES ($1,$2,$3)"
                         " ON CONFLICT (user_id, old_name) DO NOTHING", "iti"},
    [Q_RENAME_FIND] = {"SELECT 1::bigint FROM renames WHERE user_id = $1 AND old_name = $2", "it"},
    [Q_RENAME_RESERVED] = {"SELECT user_id FROM renames WHERE old_name = $1 AND created >= $2"
                           " ORDER BY created DESC LIMIT 1",
                           "ti"},
    [Q_KP_INSERT] = {"INSERT INTO key_packages(user_id, data, last_resort, not_after, created)"
                     " VALUES ($1,$2,$3,$4,$5)", "ibiii"},
    [Q_KP_DROP_LR] = {"DELETE FROM key_packages WHERE user_id = $1 AND last_resort = 1", "i"},
    [Q_KP_COUNT] = {"SELECT count(*) FROM key_packages"
                    " WHERE user_id = $1 AND last_resort = 0 AND not_after >= $2", "ii"},
    [Q_KP_HAS_LR] = {"SELECT count(*) FROM key_packages"
                     " WHERE user_id = $1 AND last_resort = 1 AND not_after >= $2", "ii"},
    /* One statement picks and deletes the oldest one-time KeyPackage; a
     * row another process is claiming is skipped, so two claims never
     * hand out the same KeyPackage. */
    [Q_KP_CLAIM] = {"DELETE FROM key_packages WHERE id = (SELECT id FROM key_packages"
                    " WHERE user_id = $1 AND last_resort = 0 AND not_after >= $2"
                    " ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING data", "ii"},
    [Q_KP_LR] = {"SELECT data FROM key_packages"
                 " WHERE user_id = $1 AND last_resort = 1 AND not_after >= $2"
                 " ORDER BY id DESC LIMIT 1", "ii"},
    [Q_KP_DELETE_USER] = {"DELETE FROM key_packages WHERE user_id = $1", "i"},
    [Q_GROUP_INSERT] = {"INSERT INTO groups(name, group_id, epoch, last_seq, admin_id, created)"
                        " VALUES ($1,$2,$3,0,$4,$5) ON CONFLICT DO NOTHING RETURNING id", "tbiii"},
    /* Inside a batch the group stays locked until the turn commits. */
    [Q_GROUP_BY_NAME] = {"SELECT " GROUP_COLS " FROM groups WHERE name = $1 FOR UPDATE", "t"},
    [Q_GROUP_BY_GID] = {"SELECT " GROUP_COLS " FROM groups WHERE group_id = $1 FOR UPDATE", "b"},
    [Q_GROUP_BY_REF] = {"SELECT " GROUP_COLS " FROM groups WHERE id = $1", "i"},
    [Q_GROUP_ADVANCE] = {"UPDATE groups SET epoch = epoch + 1 WHERE id = $1 AND epoch = $2"
                         " AND epoch < 9223372036854775807", "ii"},
    [Q_GROUP_SET_INFO] = {"UPDATE groups SET group_info = $1 WHERE id = $2", "bi"},
    [Q_GROUP_GET_INFO] = {"SELECT group_info FROM groups WHERE id = $1", "i"},
    [Q_GROUP_SET_VIEW] = {"UPDATE groups SET public_view = $1 WHERE id = $2", "bi"},
    [Q_GROUP_GET_VIEW] = {"SELECT public_view FROM groups WHERE id = $1", "i"},
    [Q_GROUPS_OF_USER] = {"SELECT g.id, g.name, g.group_id, g.epoch, g.last_seq, g.admin_id,"
                          " m.role, m.joined_seq FROM members m JOIN groups g ON g.id = m.group_ref"
                          " WHERE m.user_id = $1 AND m.left_seq IS NULL ORDER BY g.name", "i"},
    [Q_MEMBER_GET] = {"SELECT m.user_id, u.username, m.role, m.joined_seq, m.left_seq"
                      " FROM members m JOIN users u ON u.id = m.user_id"
                      " WHERE m.group_ref = $1 AND m.user_id = $2", "ii"},
    [Q_MEMBER_LIST] = {"SELECT m.user_id, u.username, m.role, m.joined_seq, m.left_seq"
                       " FROM members m JOIN users u ON u.id = m.user_id"
                       " WHERE m.group_ref = $1 AND m.left_seq IS NULL ORDER BY m.user_id", "i"},
    [Q_MEMBER_ADD] = {"INSERT INTO members(group_ref, user_id, role, joined_seq, left_seq)"
                      " VALUES ($1,$2,$3,$4,NULL) ON CONFLICT (group_ref, user_id) DO UPDATE SET"
                      " role = excluded.role, joined_seq = excluded.joined_seq, left_seq = NULL",
                      "iiii"},
    [Q_MEMBER_REMOVE] = {"UPDATE members SET left_seq = $1"
                         " WHERE group_ref = $2 AND user_id = $3 AND left_seq IS NULL", "iii"},
    [Q_AUDIENCE] = {"SELECT m.user_id, u.username, m.role, m.joined_seq, m.left_seq"
                    " FROM members m JOIN users u ON u.id = m.user_id WHERE m.group_ref = $1"
                    " AND (m.left_seq IS NULL OR m.left_seq > $2) ORDER BY m.user_id", "ii"},
    [Q_LOG_BUMP] = {"UPDATE groups SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
                    "i"},
    /* The notice goes out with the entry's COMMIT, or not at all. */
    [Q_LOG_INSERT] = {"WITH ins AS (INSERT INTO log(group_ref, seq, epoch, kind, sender_id, data,"
                      " meta, created, msg_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)"
                      " ON CONFLICT DO NOTHING RETURNING group_ref, seq)"
                      " SELECT seq, pg_notify('mlschat_log', group_ref::text || ':' || seq::text)"
                      " FROM ins", "iiiiibtib"},
    [Q_LOG_BY_MSG_ID] = {"SELECT seq, epoch, kind FROM log"
                         " WHERE group_ref = $1 AND sender_id = $2 AND msg_id = $3", "iib"},
    [Q_LOG_SAME_COMMIT] = {"SELECT seq, epoch, kind FROM log WHERE group_ref = $1 AND epoch = $2"
                           " AND kind = 1 AND sender_id = $3 AND data = $4", "iiib"},
    [Q_LOG_FETCH] = {"SELECT l.seq, l.epoch, l.kind, l.sender_id, u.username, l.created, l.data,"
                     " l.meta FROM log l LEFT JOIN users u ON u.id = l.sender_id"
                     " WHERE l.group_ref = $1 AND l.seq > $2 AND l.seq <= $3 ORDER BY l.seq"
                     " LIMIT $4", "iiii"},
    [Q_LOG_FIRST] = {"SELECT coalesce((SELECT min(seq) FROM log WHERE group_ref = $1),"
                     " (SELECT last_seq + 1 FROM groups WHERE id = $1))", "i"},
    [Q_WELCOME_INSERT] = {"INSERT INTO welcomes(data, group_info, bytes, created)"
                          " VALUES ($1,$2,$3,$4) RETURNING id", "bbii"},
    [Q_WELCOME_GC] = {"DELETE FROM welcomes WHERE id = $1"
                      " AND NOT EXISTS (SELECT 1 FROM inbox WHERE welcome_id = $1)", "i"},
    [Q_INBOX_INSERT] = {"WITH ins AS (INSERT INTO inbox(user_id, group_ref, seq, epoch, sender_id,"
                        " welcome_id, created) VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id, user_id)"
                        " SELECT id, pg_notify('mlschat_inbox', user_id::text || ':' || id::text)"
                        " FROM ins", "iiiiiii"},
    [Q_INBOX_LIST] = {"SELECT i.id, i.seq, i.epoch, i.sender_id, u.username, i.created, w.data,"
                      " w.group_info, g.id, g.name, g.group_id, g.epoch, g.last_seq, g.admin_id"
                      " FROM inbox i JOIN groups g ON g.id = i.group_ref"
                      " JOIN welcomes w ON w.id = i.welcome_id"
                      " LEFT JOIN users u ON u.id = i.sender_id WHERE i.user_id = $1 AND i.id > $2"
                      " ORDER BY i.id LIMIT $3", "iii"},
    [Q_INBOX_STATS] = {"SELECT count(*), coalesce(sum(w.bytes), 0)::bigint FROM inbox i"
                       " JOIN welcomes w ON w.id = i.welcome_id WHERE i.user_id = $1", "i"},
    [Q_INBOX_DELETE] = {"DELETE FROM inbox WHERE id = $1 AND user_id = $2 RETURNING welcome_id",
                        "ii"},
    [Q_PURGE_LOG] = {"DELETE FROM log WHERE created < $1", "i"},
    [Q_PURGE_KP_AGE] = {"DELETE FROM key_packages WHERE created < $1", "i"},
    [Q_PURGE_KP_EXPIRED] = {"DELETE FROM key_packages WHERE not_after < $1", "i"},
    [Q_PURGE_INBOX] = {"DELETE FROM inbox WHERE created < $1", "i"},
    [Q_PURGE_WELCOMES] = {"DELETE FROM welcomes WHERE NOT EXISTS"
                          " (SELECT 1 FROM inbox WHERE welcome_id = welcomes.id)", ""},
    [Q_DB_SIZE] = {"SELECT pg_database_size(current_database())", ""},
    [Q_PENDING_INSERT] = {"INSERT INTO pending_invites(group_ref, username, inviter_id, created)"
                          " VALUES ($1,$2,$3,$4) ON CONFLICT (group_ref, username) DO NOTHING",
                          "itii"},
    [Q_PENDING_COUNT] = {"SELECT count(*) FROM pending_invites WHERE group_ref = $1", "i"},
    [Q_PENDING_DELETE] = {"DELETE FROM pending_invites WHERE group_ref = $1 AND username = $2",
                          "it"},
    /* The pending invitations of the groups where the user is an
     * administrator on the roster. */
    [Q_PENDING_FOR_ADMIN] = {"SELECT p.group_ref, g.name, p.username, u.username, p.created"
                             " FROM pending_invites p JOIN groups g ON g.id = p.group_ref"
                             " JOIN members m ON m.group_ref = p.group_ref AND m.user_id = $1"
                             " AND m.left_seq IS NULL AND m.role = 1"
                             " LEFT JOIN users u ON u.id = p.inviter_id"
                             " ORDER BY g.name, p.username",
                             "i"},
    [Q_PENDING_FOR_USER] = {"SELECT p.group_ref, g.name, p.username, u.username, p.created"
                            " FROM pending_invites p JOIN groups g ON g.id = p.group_ref"
                            " LEFT JOIN users u ON u.id = p.inviter_id WHERE p.username = $1"
                            " ORDER BY g.name",
                            "t"},
};

/* PostgreSQL's type oids for the parameter kinds. */
#define OID_INT8 20
#define OID_BYTEA 17
#define OID_TEXT 25

/* Seconds between attempts to re-establish a lost connection, and how
 * long one attempt may block the event loop (unless the URI says). */
#define RECONNECT_SECONDS 1
#define CONNECT_TIMEOUT "5"

/* libpq's messages end in newlines and may span lines: one log line each. */
static const char *one_line(const char *msg, char *buf, size_t cap)
{
    size_t n = 0;
    for (const char *p = msg ? msg : ""; *p && n + 1 < cap; p++)
        buf[n++] = *p == '\n' || *p == '\t' ? ' ' : *p;
    while (n && buf[n - 1] == ' ')
        n--;
    buf[n] = 0;
    return buf;
}

static int prepare_all(pg_store *s)
{
    /* After a partial failure on a live connection some names exist. */
    PQclear(PQexec(s->db, "DEALLOCATE ALL"));
    for (int i = 0; i < Q_COUNT; i++) {
        char name[16];
        unsigned int types[MAX_PARAMS];
        int n = 0;
        for (const char *t = stmts[i].types; *t && n < MAX_PARAMS; t++)
            types[n++] = *t == 'i' ? OID_INT8 : *t == 'b' ? OID_BYTEA : OID_TEXT;
        char line[256];
        snprintf(name, sizeof name, "q%d", i);
        PGresult *r = PQprepare(s->db, name, stmts[i].sql, n, types);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            srv_log(SRV_LOG_ERROR, "postgresql: prepare %s: %s", stmts[i].sql,
                    one_line(PQerrorMessage(s->db), line, sizeof line));
        PQclear(r);
        if (!ok)
            return SRV_STORE_ERR;
    }
    s->prepared = 1;
    return SRV_OK;
}

/* The requests connection, re-established (and its statements prepared
 * again) after a loss, at most once per RECONNECT_SECONDS. */
static int db_ready(pg_store *s)
{
    if (PQstatus(s->db) == CONNECTION_OK && s->prepared)
        return SRV_OK;
    time_t now = time(NULL);
    if (now < s->db_retry)
        return SRV_STORE_ERR;
    s->db_retry = now + RECONNECT_SECONDS;
    s->prepared = 0;
    if (PQstatus(s->db) != CONNECTION_OK) {
        PQreset(s->db);
        if (PQstatus(s->db) != CONNECTION_OK) {
            char line[256];
            srv_log(SRV_LOG_ERROR, "postgresql: reconnect failed: %s",
                    one_line(PQerrorMessage(s->db), line, sizeof line));
            return SRV_STORE_ERR;
        }
        srv_log(SRV_LOG_WARN, "postgresql: reconnected");
    }
    return prepare_all(s);
}

/* Runs a prepared statement; NULL (logged) on failure, with *err set:
 * SRV_CONFLICT for a uniqueness violation, SRV_STORE_ERR otherwise. */
PGresult *pgs_run(pg_store *s, enum stmt_id id, const pgp *p, int *err)
{
    char name[16];
    snprintf(name, sizeof name, "q%d", (int)id);
    PGresult *r = PQexecPrepared(s->db, name, p ? p->n : 0, p ? p->v : NULL,
                                 p ? p->len : NULL, p ? p->fmt : NULL, 1);
    ExecStatusType rs = PQresultStatus(r);
    if (rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK) {
        *err = SRV_OK;
        return r;
    }
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (state && strcmp(state, "23505") == 0) {
        *err = SRV_CONFLICT;
    } else {
        *err = SRV_STORE_ERR;
        char line[256];
        srv_log(SRV_LOG_ERROR, "postgresql: %s: %s", stmts[id].sql,
                one_line(r ? PQresultErrorMessage(r) : PQerrorMessage(s->db), line, sizeof line));
    }
    PQclear(r);
    return NULL;
}

/* A statement whose rows do not matter; *changed = rows affected. */
int pgs_run_done(pg_store *s, enum stmt_id id, const pgp *p, int64_t *changed)
{
    int err;
    PGresult *r = pgs_run(s, id, p, &err);
    if (r && changed)
        *changed = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return err;
}

/* A plain command (transaction control) on the requests connection. */
int pgs_simple(pg_store *s, const char *sql, const char *expect_status)
{
    PGresult *r = PQexec(s->db, sql);
    int err = SRV_OK;
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        char line[256];
        srv_log(SRV_LOG_ERROR, "postgresql: %s: %s", sql,
                one_line(r ? PQresultErrorMessage(r) : PQerrorMessage(s->db), line, sizeof line));
        err = SRV_STORE_ERR;
    } else if (expect_status && strcmp(PQcmdStatus(r), expect_status) != 0) {
        /* COMMIT of a transaction an error aborted answers ROLLBACK. */
        srv_log(SRV_LOG_ERROR, "postgresql: %s ended as %s", sql, PQcmdStatus(r));
        err = SRV_STORE_ERR;
    }
    PQclear(r);
    return err;
}

/* ------------------------------------------------------------ transactions */

static int b_batch_begin(srv_store *st)
{
    pg_store *s = S(st);
    if (db_ready(s))
        return SRV_STORE_ERR;
    if (pgs_simple(s, "BEGIN", NULL) == SRV_OK)
        return SRV_OK;
    /* A connection that died while idle (server restarted, failed over,
     * backend terminated) shows only now: reconnect at once, so no
     * request is refused for it. */
    if (PQstatus(s->db) != CONNECTION_BAD)
        return SRV_STORE_ERR;
    s->db_retry = 0;
    if (db_ready(s))
        return SRV_STORE_ERR;
    return pgs_simple(s, "BEGIN", NULL);
}

static int b_batch_commit(srv_store *st)
{
    pg_store *s = S(st);
    int err = pgs_simple(s, "COMMIT", "COMMIT");
    s->commit_failed = err != SRV_OK;
    return err;
}

static int b_batch_rollback(srv_store *st)
{
    pg_store *s = S(st);
    if (PQtransactionStatus(s->db) == PQTRANS_IDLE)
        return SRV_OK;
    return pgs_simple(s, "ROLLBACK", NULL);
}

static int b_change_begin(srv_store *st)
{
    return pgs_simple(S(st), "SAVEPOINT change", NULL);
}

static int b_change_end(srv_store *st, int keep)
{
    pg_store *s = S(st);
    int err = SRV_OK;
    /* Rolling back to the savepoint also releases the row locks the
     * change took and drops the notices it queued. */
    if (!keep)
        err = pgs_simple(s, "ROLLBACK TO SAVEPOINT change", NULL);
    int err2 = pgs_simple(s, "RELEASE SAVEPOINT change", NULL);
    return err ? err : err2;
}

static int b_health(srv_store *st, const char **why)
{
    pg_store *s = S(st);
    if (PQstatus(s->db) != CONNECTION_OK) {
        *why = "database connection lost";
        return SRV_STORE_ERR;
    }
    if (s->commit_failed) {
        *why = "the last database commit failed";
        return SRV_STORE_ERR;
    }
    return SRV_OK;
}

/* PostgreSQL checkpoints its own WAL. */
static int b_checkpoint(srv_store *st)
{
    (void)st;
    return SRV_OK;
}

static int64_t b_size_bytes(srv_store *st, int64_t *wal)
{
    pg_store *s = S(st);
    int err;
    if (wal)
        *wal = 0;
    if (PQstatus(s->db) != CONNECTION_OK || !s->prepared)
        return -1;
    PGresult *r = pgs_run(s, Q_DB_SIZE, NULL, &err);
    int64_t n = r && PQntuples(r) == 1 ? g_int(r, 0, 0) : -1;
    PQclear(r);
    return n;
}

/* ------------------------------------------------------------ notices */

/* libpq's notices and the server's (a FATAL before a terminated
 * connection closes) go to the server's log, not bare to stderr. */
static void notice_to_log(void *arg, const char *message)
{
    char line[256];
    (void)arg;
    srv_log(SRV_LOG_WARN, "postgresql: %s", one_line(message, line, sizeof line));
}

/* A connection with a bounded connect time: the URI's own parameters
 * (connect_timeout among them) override the default given before it. */
static PGconn *connect_uri(const char *uri)
{
    const char *const keys[] = {"connect_timeout", "dbname", NULL};
    const char *const values[] = {CONNECT_TIMEOUT, uri, NULL};
    return PQconnectdbParams(keys, values, 1);
}

/* The LISTEN connection, (re)opened at most once per RECONNECT_SECONDS. */
static int listen_ready(pg_store *s)
{
    if (s->listen && PQstatus(s->listen) == CONNECTION_OK)
        return SRV_OK;
    time_t now = time(NULL);
    if (now < s->listen_retry)
        return SRV_STORE_ERR;
    s->listen_retry = now + RECONNECT_SECONDS;
    if (s->listen) {
        PQfinish(s->listen);
        s->listen = NULL;
        s->resync_owed = 1;
    }
    PGconn *c = connect_uri(s->uri);
    PGresult *r = NULL;
    if (PQstatus(c) == CONNECTION_OK)
        r = PQexec(c, "LISTEN mlschat_log; LISTEN mlschat_inbox");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        char line[256];
        srv_log(SRV_LOG_ERROR, "postgresql: cannot listen: %s",
                one_line(PQerrorMessage(c), line, sizeof line));
        PQclear(r);
        PQfinish(c);
        return SRV_STORE_ERR;
    }
    PQclear(r);
    PQsetNoticeProcessor(c, notice_to_log, NULL);
    if (PQsetnonblocking(c, 1) != 0) {
        PQfinish(c);
        return SRV_STORE_ERR;
    }
    s->listen = c;
    return SRV_OK;
}

/* "a:b" with two non-negative decimal integers. */
static int parse_pair(const char *t, int64_t *a, int64_t *b)
{
    char *end = NULL;
    long long x = strtoll(t, &end, 10);
    if (!end || *end != ':' || x < 0)
        return -1;
    long long y = strtoll(end + 1, &end, 10);
    if (!end || *end || y < 0)
        return -1;
    *a = x;
    *b = y;
    return 0;
}

/* Outside a transaction: the requests connection answers, or is
 * re-established now (a lost notice connection usually means it was lost
 * too, and the caller is about to read through it). */
static int db_alive(pg_store *s)
{
    if (PQtransactionStatus(s->db) == PQTRANS_IDLE) {
        PGresult *r = PQexec(s->db, "");
        PQclear(r);
    }
    if (PQstatus(s->db) == CONNECTION_BAD)
        s->db_retry = 0;
    return db_ready(s);
}

static int b_notices(srv_store *st, srv_notice_cb cb, void *ctx)
{
    pg_store *s = S(st);
    if (listen_ready(s))
        return SRV_STORE_ERR;
    if (s->resync_owed) {
        if (db_alive(s))
            return SRV_STORE_ERR;
        /* Notices sent while no connection listened are gone: the caller
         * catches up from the log, its source of truth. */
        s->resync_owed = 0;
        srv_notice n = {SRV_NOTICE_RESYNC, 0, 0, 0, 0};
        cb(ctx, &n);
    }
    if (!PQconsumeInput(s->listen)) {
        char line[256];
        srv_log(SRV_LOG_WARN, "postgresql: notice connection lost: %s",
                one_line(PQerrorMessage(s->listen), line, sizeof line));
        PQfinish(s->listen);
        s->listen = NULL;
        s->resync_owed = 1;
        return SRV_STORE_ERR;
    }
    /* The process's own entries reach its clients without a notice. */
    int self = PQstatus(s->db) == CONNECTION_OK ? PQbackendPID(s->db) : 0;
    PGnotify *m;
    while ((m = PQnotifies(s->listen)) != NULL) {
        srv_notice n = {0, 0, 0, 0, 0};
        int64_t a = 0, b = 0;
        if (m->be_pid != self && parse_pair(m->extra, &a, &b) == 0) {
            if (strcmp(m->relname, "mlschat_log") == 0) {
                n.kind = SRV_NOTICE_LOG;
                n.ref = a;
                n.seq = (uint64_t)b;
            } else if (strcmp(m->relname, "mlschat_inbox") == 0) {
                n.kind = SRV_NOTICE_INBOX;
                n.user_id = a;
                n.inbox_id = b;
            }
            if (n.kind)
                cb(ctx, &n);
        }
        PQfreemem(m);
    }
    return SRV_OK;
}

/* ------------------------------------------------------------ open */

static void b_close(srv_store *st)
{
    pg_store *s = S(st);
    if (!s)
        return;
    if (s->db)
        PQfinish(s->db);
    if (s->listen)
        PQfinish(s->listen);
    free(s->uri);
    free(s);
}

static const struct srv_store_ops pg_ops = {
    .close = b_close,
    .batch_begin = b_batch_begin,
    .batch_commit = b_batch_commit,
    .batch_rollback = b_batch_rollback,
    .change_begin = b_change_begin,
    .change_end = b_change_end,
    .user_create = pgs_user_create,
    .user_by_name = pgs_user_by_name,
    .user_by_id = pgs_user_by_id,
    .user_by_key = pgs_user_by_key,
    .user_rename = pgs_user_rename,
    .rename_record = pgs_rename_record,
    .rename_known = pgs_rename_known,
    .rename_reserved = pgs_rename_reserved,
    .kp_add = pgs_kp_add,
    .kp_drop_last_resort = pgs_kp_drop_last_resort,
    .kp_count = pgs_kp_count,
    .kp_claim = pgs_kp_claim,
    .kp_delete_user = pgs_kp_delete_user,
    .group_create = pgs_group_create,
    .group_by_name = pgs_group_by_name,
    .group_by_gid = pgs_group_by_gid,
    .group_advance_epoch = pgs_group_advance_epoch,
    .group_set_info = pgs_group_set_info,
    .group_get_info = pgs_group_get_info,
    .group_set_view = pgs_group_set_view,
    .group_get_view = pgs_group_get_view,
    .groups_of_user = pgs_groups_of_user,
    .member_get = pgs_member_get,
    .member_list = pgs_member_list,
    .member_add = pgs_member_add,
    .member_remove = pgs_member_remove,
    .log_append = pgs_log_append,
    .log_fetch = pgs_log_fetch,
    .log_first_seq = pgs_log_first_seq,
    .log_find_msg_id = pgs_log_find_msg_id,
    .log_find_commit = pgs_log_find_commit,
    .welcome_add = pgs_welcome_add,
    .inbox_add = pgs_inbox_add,
    .inbox_stats = pgs_inbox_stats,
    .inbox_list = pgs_inbox_list,
    .inbox_ack = pgs_inbox_ack,
    .purge = pgs_purge,
    .size_bytes = b_size_bytes,
    .health = b_health,
    .checkpoint = b_checkpoint,
    .group_by_ref = pgs_group_by_ref,
    .audience = pgs_audience,
    .notices = b_notices,
    .pending_add = pgs_pending_add,
    .pending_count = pgs_pending_count,
    .pending_delete = pgs_pending_delete,
    .pending_for_admin = pgs_pending_for_admin,
    .pending_for_user = pgs_pending_for_user,
};

/* One-row, one-column query of a plain SQL text, as text. */
static int query_version(PGconn *c, long long *out)
{
    PGresult *r = PQexec(c, "SELECT coalesce(max(version), 0) FROM schema_version");
    int err = SRV_STORE_ERR;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        *out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        err = SRV_OK;
    }
    PQclear(r);
    return err;
}

static int exec_sql(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) {
        char line[256];
        srv_log(SRV_LOG_ERROR, "postgresql: %s", one_line(PQerrorMessage(c), line, sizeof line));
    }
    PQclear(r);
    return ok ? SRV_OK : SRV_STORE_ERR;
}

/* The schema version lives in schema_version; all migrations due run in
 * one transaction holding an advisory lock, so processes starting
 * together migrate once, and a failed migration leaves nothing behind. */
static int migrate(PGconn *c)
{
    long long version = 0;
    int err = exec_sql(c, "BEGIN");
    if (err)
        return err;
    err = exec_sql(c, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ")");
    if (!err)
        err = exec_sql(c, "SET LOCAL client_min_messages = warning;"
                          "CREATE TABLE IF NOT EXISTS schema_version (version bigint NOT NULL)");
    if (!err)
        err = query_version(c, &version);
    if (!err && version > (long long)N_MIGRATIONS) {
        srv_log(SRV_LOG_ERROR, "database schema version %lld is newer than this server (%d)",
                version, (int)N_MIGRATIONS);
        err = SRV_STORE_ERR;
    }
    for (long long v = version; !err && v < (long long)N_MIGRATIONS; v++) {
        char bump[96];
        snprintf(bump, sizeof bump,
                 "DELETE FROM schema_version; INSERT INTO schema_version VALUES (%lld)", v + 1);
        err = exec_sql(c, migrations[v]);
        if (!err)
            err = exec_sql(c, bump);
        if (!err)
            srv_log(SRV_LOG_INFO, "database schema migrated to version %lld", v + 1);
    }
    if (!err)
        err = exec_sql(c, "COMMIT");
    else
        exec_sql(c, "ROLLBACK");
    return err;
}

int srv_store_is_pg_uri(const char *database)
{
    return strncmp(database, "postgresql://", 13) == 0 || strncmp(database, "postgres://", 11) == 0;
}

int srv_store_pg_open(const char *uri, srv_store **out)
{
    pg_store *s = calloc(1, sizeof *s);
    int err = SRV_STORE_ERR;
    if (!s)
        return SRV_STORE_ERR;
    s->base.ops = &pg_ops;
    s->uri = strdup(uri);
    if (!s->uri)
        goto out;
    s->db = connect_uri(uri);
    PQsetNoticeProcessor(s->db, notice_to_log, NULL);
    if (PQstatus(s->db) != CONNECTION_OK) {
        /* libpq's message names the host, not the password. */
        srv_log(SRV_LOG_ERROR, "cannot connect to PostgreSQL: %s", PQerrorMessage(s->db));
        goto out;
    }
    if (migrate(s->db) || prepare_all(s) || listen_ready(s))
        goto out;
    err = SRV_OK;
out:
    if (err)
        b_close(&s->base);
    else
        *out = &s->base;
    return err;
}
