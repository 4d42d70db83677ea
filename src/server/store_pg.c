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
 * travel in binary.
 */
#include "store.h"

#include <endian.h>
#include <libpq-fe.h>
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

enum stmt_id {
    Q_USER_INSERT, Q_USER_BY_NAME, Q_USER_BY_ID, Q_USER_BY_KEY, Q_USER_RENAME,
    Q_RENAME_INSERT, Q_RENAME_FIND,
    Q_KP_INSERT, Q_KP_DROP_LR, Q_KP_COUNT, Q_KP_HAS_LR, Q_KP_CLAIM, Q_KP_LR, Q_KP_DELETE_USER,
    Q_GROUP_INSERT, Q_GROUP_BY_NAME, Q_GROUP_BY_GID, Q_GROUP_BY_REF, Q_GROUP_ADVANCE,
    Q_GROUP_SET_INFO, Q_GROUP_GET_INFO, Q_GROUP_SET_VIEW, Q_GROUP_GET_VIEW, Q_GROUPS_OF_USER,
    Q_MEMBER_GET, Q_MEMBER_LIST, Q_MEMBER_ADD, Q_MEMBER_REMOVE, Q_AUDIENCE,
    Q_LOG_BUMP, Q_LOG_INSERT, Q_LOG_FETCH, Q_LOG_FIRST, Q_LOG_BY_MSG_ID, Q_LOG_SAME_COMMIT,
    Q_WELCOME_INSERT, Q_WELCOME_GC, Q_INBOX_INSERT, Q_INBOX_LIST, Q_INBOX_STATS, Q_INBOX_DELETE,
    Q_PURGE_LOG, Q_PURGE_KP_AGE, Q_PURGE_KP_EXPIRED, Q_PURGE_INBOX, Q_PURGE_WELCOMES,
    Q_DB_SIZE,
    Q_PENDING_INSERT, Q_PENDING_COUNT, Q_PENDING_DELETE, Q_PENDING_FOR_ADMIN, Q_PENDING_FOR_USER,
    Q_COUNT
};

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

#define MAX_PARAMS 10
/* PostgreSQL's type oids for the parameter kinds. */
#define OID_INT8 20
#define OID_BYTEA 17
#define OID_TEXT 25

/* Seconds between attempts to re-establish a lost connection, and how
 * long one attempt may block the event loop (unless the URI says). */
#define RECONNECT_SECONDS 1
#define CONNECT_TIMEOUT "5"

typedef struct pg_store {
    srv_store base;
    char *uri;
    PGconn *db;      /* requests, in one transaction per turn */
    PGconn *listen;  /* LISTEN only */
    int prepared;    /* statements prepared on db */
    int commit_failed;
    int resync_owed; /* the listen connection was lost: tell the caller */
    time_t db_retry, listen_retry;
} pg_store;

static pg_store *S(srv_store *st)
{
    return (pg_store *)st;
}

/* Binary parameters of one statement; the int8 values live here until
 * the statement ran. */
typedef struct pgp {
    int n;
    const char *v[MAX_PARAMS];
    int len[MAX_PARAMS];
    int fmt[MAX_PARAMS];
    uint64_t be[MAX_PARAMS];
} pgp;

static void p_int(pgp *p, int64_t x)
{
    p->be[p->n] = htobe64((uint64_t)x);
    p->v[p->n] = (const char *)&p->be[p->n];
    p->len[p->n] = 8;
    p->fmt[p->n++] = 1;
}

static void p_bytes(pgp *p, mls_bytes b)
{
    /* A zero-length value must still be a value, not NULL. */
    p->v[p->n] = b.n ? (const char *)b.p : "";
    p->len[p->n] = (int)b.n;
    p->fmt[p->n++] = 1;
}

/* bytea or NULL when empty. */
static void p_bytes_or_null(pgp *p, mls_bytes b)
{
    p_bytes(p, b);
    if (!b.n)
        p->v[p->n - 1] = NULL;
}

static void p_text(pgp *p, const char *t)
{
    p->v[p->n] = t;
    p->len[p->n] = t ? (int)strlen(t) : 0;
    p->fmt[p->n++] = 1;
}

static int64_t g_int(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8)
        return 0;
    uint64_t be;
    memcpy(&be, PQgetvalue(r, row, col), 8);
    return (int64_t)be64toh(be);
}

static mls_bytes g_bytes(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return mls_bytes_of(NULL, 0);
    return mls_bytes_of((const uint8_t *)PQgetvalue(r, row, col),
                        (size_t)PQgetlength(r, row, col));
}

/* NULL for SQL NULL; binary text is the raw bytes, NUL-terminated by libpq. */
static const char *g_text(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static void copy_text(char *dst, size_t cap, const PGresult *r, int row, int col)
{
    const char *t = g_text(r, row, col);
    size_t n = t ? (size_t)PQgetlength(r, row, col) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, t, n);
    dst[n] = 0;
}

static size_t copy_blob(uint8_t *dst, size_t cap, const PGresult *r, int row, int col)
{
    mls_bytes b = g_bytes(r, row, col);
    size_t n = b.n > cap ? cap : b.n;
    if (n)
        memcpy(dst, b.p, n);
    return n;
}

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
static PGresult *run(pg_store *s, enum stmt_id id, const pgp *p, int *err)
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
static int run_done(pg_store *s, enum stmt_id id, const pgp *p, int64_t *changed)
{
    int err;
    PGresult *r = run(s, id, p, &err);
    if (r && changed)
        *changed = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return err;
}

/* A plain command (transaction control) on the requests connection. */
static int simple(pg_store *s, const char *sql, const char *expect_status)
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
    if (simple(s, "BEGIN", NULL) == SRV_OK)
        return SRV_OK;
    /* A connection that died while idle (server restarted, failed over,
     * backend terminated) shows only now: reconnect at once, so no
     * request is refused for it. */
    if (PQstatus(s->db) != CONNECTION_BAD)
        return SRV_STORE_ERR;
    s->db_retry = 0;
    if (db_ready(s))
        return SRV_STORE_ERR;
    return simple(s, "BEGIN", NULL);
}

static int b_batch_commit(srv_store *st)
{
    pg_store *s = S(st);
    int err = simple(s, "COMMIT", "COMMIT");
    s->commit_failed = err != SRV_OK;
    return err;
}

static int b_batch_rollback(srv_store *st)
{
    pg_store *s = S(st);
    if (PQtransactionStatus(s->db) == PQTRANS_IDLE)
        return SRV_OK;
    return simple(s, "ROLLBACK", NULL);
}

static int b_change_begin(srv_store *st)
{
    return simple(S(st), "SAVEPOINT change", NULL);
}

static int b_change_end(srv_store *st, int keep)
{
    pg_store *s = S(st);
    int err = SRV_OK;
    /* Rolling back to the savepoint also releases the row locks the
     * change took and drops the notices it queued. */
    if (!keep)
        err = simple(s, "ROLLBACK TO SAVEPOINT change", NULL);
    int err2 = simple(s, "RELEASE SAVEPOINT change", NULL);
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
    PGresult *r = run(s, Q_DB_SIZE, NULL, &err);
    int64_t n = r && PQntuples(r) == 1 ? g_int(r, 0, 0) : -1;
    PQclear(r);
    return n;
}

/* ------------------------------------------------------------ users */

/* The first column of the single row as an id; SRV_CONFLICT when the
 * statement returned none (ON CONFLICT DO NOTHING). */
static int returned_id(pg_store *s, enum stmt_id id, const pgp *p, int64_t *out)
{
    int err;
    PGresult *r = run(s, id, p, &err);
    if (r) {
        if (PQntuples(r) == 1)
            *out = g_int(r, 0, 0);
        else
            err = SRV_CONFLICT;
    }
    PQclear(r);
    return err;
}

static int b_user_create(srv_store *st, const char *name, uint16_t suite, mls_bytes key,
                         int64_t now, int64_t *id)
{
    pgp p = {0};
    p_text(&p, name);
    p_int(&p, suite);
    p_bytes(&p, key);
    p_int(&p, now);
    return returned_id(S(st), Q_USER_INSERT, &p, id);
}

static int user_row(pg_store *s, enum stmt_id id, const pgp *p, srv_user *out)
{
    int err;
    PGresult *r = run(s, id, p, &err);
    if (r && PQntuples(r) == 0) {
        err = SRV_NOT_FOUND;
    } else if (r) {
        out->id = g_int(r, 0, 0);
        copy_text(out->name, sizeof out->name, r, 0, 1);
        out->suite = (uint16_t)g_int(r, 0, 2);
        out->key_len = copy_blob(out->key, sizeof out->key, r, 0, 3);
    }
    PQclear(r);
    return err;
}

static int b_user_by_name(srv_store *st, const char *name, srv_user *out)
{
    pgp p = {0};
    p_text(&p, name);
    return user_row(S(st), Q_USER_BY_NAME, &p, out);
}

static int b_user_by_id(srv_store *st, int64_t id, srv_user *out)
{
    pgp p = {0};
    p_int(&p, id);
    return user_row(S(st), Q_USER_BY_ID, &p, out);
}

static int b_user_by_key(srv_store *st, mls_bytes key, srv_user *out)
{
    pgp p = {0};
    p_bytes(&p, key);
    return user_row(S(st), Q_USER_BY_KEY, &p, out);
}

static int b_user_rename(srv_store *st, int64_t id, const char *name)
{
    pg_store *s = S(st);
    pgp p = {0};
    int64_t n = 0;
    p_text(&p, name);
    p_int(&p, id);
    /* A name taken is a unique violation, which would abort the whole
     * transaction in PostgreSQL (SQLite fails only the statement): the
     * statement gets a savepoint of its own. */
    int guard = PQtransactionStatus(s->db) == PQTRANS_INTRANS;
    if (guard && simple(s, "SAVEPOINT rename", NULL))
        return SRV_STORE_ERR;
    int err = run_done(s, Q_USER_RENAME, &p, &n);
    if (guard) {
        int e2 = err == SRV_CONFLICT ? simple(s, "ROLLBACK TO SAVEPOINT rename", NULL) : SRV_OK;
        if (!e2)
            e2 = simple(s, "RELEASE SAVEPOINT rename", NULL);
        if (e2)
            return e2;
    }
    return err ? err : n == 1 ? SRV_OK : SRV_NOT_FOUND;
}

static int b_rename_record(srv_store *st, int64_t id, const char *old_name, int64_t now)
{
    pgp p = {0};
    p_int(&p, id);
    p_text(&p, old_name);
    p_int(&p, now);
    return run_done(S(st), Q_RENAME_INSERT, &p, NULL);
}

static int b_rename_known(srv_store *st, int64_t id, const char *old_name)
{
    pgp p = {0};
    int err;
    p_int(&p, id);
    p_text(&p, old_name);
    PGresult *r = run(S(st), Q_RENAME_FIND, &p, &err);
    if (r && PQntuples(r) == 0)
        err = SRV_NOT_FOUND;
    PQclear(r);
    return err;
}

/* ------------------------------------------------------------ key packages */

static int b_kp_add(srv_store *st, int64_t user_id, mls_bytes kp, int last_resort,
                    uint64_t not_after, int64_t now)
{
    pgp p = {0};
    p_int(&p, user_id);
    p_bytes(&p, kp);
    p_int(&p, last_resort ? 1 : 0);
    /* not_after beyond INT64_MAX is stored as INT64_MAX: "never". */
    p_int(&p, not_after > INT64_MAX ? INT64_MAX : (int64_t)not_after);
    p_int(&p, now);
    return run_done(S(st), Q_KP_INSERT, &p, NULL);
}

static int b_kp_drop_last_resort(srv_store *st, int64_t user_id)
{
    pgp p = {0};
    p_int(&p, user_id);
    return run_done(S(st), Q_KP_DROP_LR, &p, NULL);
}

static int count_query(pg_store *s, enum stmt_id id, int64_t user_id, int64_t now, int64_t *out)
{
    pgp p = {0};
    int err;
    p_int(&p, user_id);
    p_int(&p, now);
    PGresult *r = run(s, id, &p, &err);
    if (r)
        *out = PQntuples(r) == 1 ? g_int(r, 0, 0) : 0;
    PQclear(r);
    return err;
}

static int b_kp_count(srv_store *st, int64_t user_id, int64_t now, int64_t *count,
                      int *has_last_resort)
{
    pg_store *s = S(st);
    int64_t c = 0, lr = 0;
    int err = count_query(s, Q_KP_COUNT, user_id, now, &c);
    if (!err)
        err = count_query(s, Q_KP_HAS_LR, user_id, now, &lr);
    if (!err) {
        *count = c;
        *has_last_resort = lr > 0;
    }
    return err;
}

/* The first row's first column into out; SRV_NOT_FOUND if no row. */
static int kp_pick(pg_store *s, enum stmt_id id, int64_t user_id, int64_t now, mls_buf *out)
{
    pgp p = {0};
    int err;
    p_int(&p, user_id);
    p_int(&p, now);
    PGresult *r = run(s, id, &p, &err);
    if (r && PQntuples(r) == 0) {
        err = SRV_NOT_FOUND;
    } else if (r) {
        mls_bytes b = g_bytes(r, 0, 0);
        if (mls_buf_set(out, b.p, b.n))
            err = SRV_STORE_ERR;
    }
    PQclear(r);
    return err;
}

static int b_kp_claim(srv_store *st, int64_t user_id, int64_t now, mls_buf *out,
                      int *last_resort)
{
    pg_store *s = S(st);
    int err = kp_pick(s, Q_KP_CLAIM, user_id, now, out);
    if (!err) {
        *last_resort = 0;
        return SRV_OK;
    }
    if (err != SRV_NOT_FOUND)
        return err;
    err = kp_pick(s, Q_KP_LR, user_id, now, out);
    if (!err)
        *last_resort = 1;
    return err;
}

static int b_kp_delete_user(srv_store *st, int64_t user_id)
{
    pgp p = {0};
    p_int(&p, user_id);
    return run_done(S(st), Q_KP_DELETE_USER, &p, NULL);
}

/* ------------------------------------------------------------ groups */

static int b_group_create(srv_store *st, const char *name, mls_bytes gid, uint64_t epoch,
                          int64_t admin_id, int64_t now, int64_t *ref)
{
    pgp p = {0};
    p_text(&p, name);
    p_bytes(&p, gid);
    p_int(&p, (int64_t)epoch);
    p_int(&p, admin_id);
    p_int(&p, now);
    return returned_id(S(st), Q_GROUP_INSERT, &p, ref);
}

static void group_cols(const PGresult *r, int row, srv_group *g)
{
    g->ref = g_int(r, row, 0);
    copy_text(g->name, sizeof g->name, r, row, 1);
    g->gid_len = copy_blob(g->gid, sizeof g->gid, r, row, 2);
    g->epoch = (uint64_t)g_int(r, row, 3);
    g->last_seq = (uint64_t)g_int(r, row, 4);
    g->admin_id = g_int(r, row, 5);
}

static int group_row(pg_store *s, enum stmt_id id, const pgp *p, srv_group *out)
{
    int err;
    PGresult *r = run(s, id, p, &err);
    if (r && PQntuples(r) == 0)
        err = SRV_NOT_FOUND;
    else if (r)
        group_cols(r, 0, out);
    PQclear(r);
    return err;
}

static int b_group_by_name(srv_store *st, const char *name, srv_group *out)
{
    pgp p = {0};
    p_text(&p, name);
    return group_row(S(st), Q_GROUP_BY_NAME, &p, out);
}

static int b_group_by_gid(srv_store *st, mls_bytes gid, srv_group *out)
{
    pgp p = {0};
    p_bytes(&p, gid);
    return group_row(S(st), Q_GROUP_BY_GID, &p, out);
}

static int b_group_by_ref(srv_store *st, int64_t ref, srv_group *out)
{
    pgp p = {0};
    p_int(&p, ref);
    return group_row(S(st), Q_GROUP_BY_REF, &p, out);
}

static int b_group_advance_epoch(srv_store *st, int64_t ref, uint64_t expected)
{
    pgp p = {0};
    int64_t n = 0;
    p_int(&p, ref);
    p_int(&p, (int64_t)expected);
    int err = run_done(S(st), Q_GROUP_ADVANCE, &p, &n);
    return err ? err : n == 1 ? SRV_OK : SRV_CONFLICT;
}

static int b_group_set_info(srv_store *st, int64_t ref, mls_bytes gi)
{
    pgp p = {0};
    p_bytes_or_null(&p, gi);
    p_int(&p, ref);
    return run_done(S(st), Q_GROUP_SET_INFO, &p, NULL);
}

/* A group's blob column into out; SRV_NOT_FOUND when NULL. */
static int group_blob(srv_store *st, enum stmt_id id, int64_t ref, mls_buf *out)
{
    pgp p = {0};
    int err;
    p_int(&p, ref);
    PGresult *r = run(S(st), id, &p, &err);
    if (r && (PQntuples(r) == 0 || PQgetisnull(r, 0, 0))) {
        err = SRV_NOT_FOUND;
    } else if (r) {
        mls_bytes b = g_bytes(r, 0, 0);
        if (mls_buf_set(out, b.p, b.n))
            err = SRV_STORE_ERR;
    }
    PQclear(r);
    return err;
}

static int b_group_get_info(srv_store *st, int64_t ref, mls_buf *out)
{
    return group_blob(st, Q_GROUP_GET_INFO, ref, out);
}

static int b_group_get_view(srv_store *st, int64_t ref, mls_buf *out)
{
    return group_blob(st, Q_GROUP_GET_VIEW, ref, out);
}

static int b_group_set_view(srv_store *st, int64_t ref, mls_bytes view)
{
    pgp p = {0};
    p_bytes(&p, view);
    p_int(&p, ref);
    return run_done(S(st), Q_GROUP_SET_VIEW, &p, NULL);
}

static void member_cols(const PGresult *r, int row, srv_member *m)
{
    m->user_id = g_int(r, row, 0);
    copy_text(m->username, sizeof m->username, r, row, 1);
    m->role = g_int(r, row, 2) == SRV_ROLE_ADMIN ? SRV_ROLE_ADMIN : SRV_ROLE_MEMBER;
    m->joined_seq = (uint64_t)g_int(r, row, 3);
    m->left = !PQgetisnull(r, row, 4);
    m->left_seq = m->left ? (uint64_t)g_int(r, row, 4) : 0;
}

static int b_groups_of_user(srv_store *st, int64_t user_id, srv_group_cb cb, void *ctx)
{
    pgp p = {0};
    int err;
    p_int(&p, user_id);
    PGresult *r = run(S(st), Q_GROUPS_OF_USER, &p, &err);
    for (int i = 0; r && i < PQntuples(r); i++) {
        srv_group g;
        srv_member m;
        memset(&m, 0, sizeof m);
        group_cols(r, i, &g);
        m.user_id = user_id;
        m.role = g_int(r, i, 6) == SRV_ROLE_ADMIN ? SRV_ROLE_ADMIN : SRV_ROLE_MEMBER;
        m.joined_seq = (uint64_t)g_int(r, i, 7);
        if ((err = cb(ctx, &g, &m)) != 0)
            break;
    }
    PQclear(r);
    return err;
}

static int b_member_get(srv_store *st, int64_t ref, int64_t user_id, srv_member *out)
{
    pgp p = {0};
    int err;
    p_int(&p, ref);
    p_int(&p, user_id);
    PGresult *r = run(S(st), Q_MEMBER_GET, &p, &err);
    if (r && PQntuples(r) == 0)
        err = SRV_NOT_FOUND;
    else if (r)
        member_cols(r, 0, out);
    PQclear(r);
    return err;
}

static int members(pg_store *s, enum stmt_id id, const pgp *p, srv_member_cb cb, void *ctx)
{
    int err;
    PGresult *r = run(s, id, p, &err);
    for (int i = 0; r && i < PQntuples(r); i++) {
        srv_member m;
        member_cols(r, i, &m);
        if ((err = cb(ctx, &m)) != 0)
            break;
    }
    PQclear(r);
    return err;
}

static int b_member_list(srv_store *st, int64_t ref, srv_member_cb cb, void *ctx)
{
    pgp p = {0};
    p_int(&p, ref);
    return members(S(st), Q_MEMBER_LIST, &p, cb, ctx);
}

static int b_audience(srv_store *st, int64_t ref, uint64_t after, srv_member_cb cb, void *ctx)
{
    pgp p = {0};
    p_int(&p, ref);
    p_int(&p, after > INT64_MAX ? INT64_MAX : (int64_t)after);
    return members(S(st), Q_AUDIENCE, &p, cb, ctx);
}

static int b_member_add(srv_store *st, int64_t ref, int64_t user_id, enum srv_role role,
                        uint64_t joined_seq)
{
    pgp p = {0};
    p_int(&p, ref);
    p_int(&p, user_id);
    p_int(&p, (int64_t)role);
    p_int(&p, (int64_t)joined_seq);
    return run_done(S(st), Q_MEMBER_ADD, &p, NULL);
}

static int b_member_remove(srv_store *st, int64_t ref, int64_t user_id, uint64_t left_seq)
{
    pgp p = {0};
    int64_t n = 0;
    p_int(&p, (int64_t)left_seq);
    p_int(&p, ref);
    p_int(&p, user_id);
    int err = run_done(S(st), Q_MEMBER_REMOVE, &p, &n);
    return err ? err : n == 1 ? SRV_OK : SRV_NOT_FOUND;
}

/* ------------------------------------------------------------ log */

static int b_log_append(srv_store *st, int64_t ref, uint64_t epoch, enum srv_kind kind,
                        int64_t sender_id, mls_bytes data, const char *meta, mls_bytes msg_id,
                        int64_t now, uint64_t *seq)
{
    pg_store *s = S(st);
    pgp p = {0};
    int err;
    p_int(&p, ref);
    /* The group row stays locked until COMMIT: the next seq of any
     * process waits for this one to commit or roll back (gap-free). */
    PGresult *r = run(s, Q_LOG_BUMP, &p, &err);
    if (r && PQntuples(r) == 0)
        err = SRV_NOT_FOUND;
    int64_t next = r && !err ? g_int(r, 0, 0) : 0;
    PQclear(r);
    if (err)
        return err;
    pgp q = {0};
    int64_t got = 0;
    p_int(&q, ref);
    p_int(&q, next);
    p_int(&q, (int64_t)epoch);
    p_int(&q, (int64_t)kind);
    p_int(&q, sender_id);
    p_bytes(&q, data);
    p_text(&q, meta);
    p_int(&q, now);
    p_bytes_or_null(&q, msg_id);
    err = returned_id(s, Q_LOG_INSERT, &q, &got);
    if (!err)
        *seq = (uint64_t)next;
    return err;
}

static int log_ref_row(pg_store *s, enum stmt_id id, const pgp *p, srv_log_ref *out)
{
    int err;
    PGresult *r = run(s, id, p, &err);
    if (r && PQntuples(r) == 0) {
        err = SRV_NOT_FOUND;
    } else if (r) {
        out->seq = (uint64_t)g_int(r, 0, 0);
        out->epoch = (uint64_t)g_int(r, 0, 1);
        out->kind = (enum srv_kind)g_int(r, 0, 2);
    }
    PQclear(r);
    return err;
}

static int b_log_find_msg_id(srv_store *st, int64_t ref, int64_t sender_id, mls_bytes msg_id,
                             srv_log_ref *out)
{
    pgp p = {0};
    p_int(&p, ref);
    p_int(&p, sender_id);
    p_bytes(&p, msg_id);
    return log_ref_row(S(st), Q_LOG_BY_MSG_ID, &p, out);
}

static int b_log_find_commit(srv_store *st, int64_t ref, uint64_t epoch, int64_t sender_id,
                             mls_bytes data, srv_log_ref *out)
{
    pgp p = {0};
    p_int(&p, ref);
    p_int(&p, (int64_t)epoch);
    p_int(&p, sender_id);
    p_bytes(&p, data);
    return log_ref_row(S(st), Q_LOG_SAME_COMMIT, &p, out);
}

static int b_log_fetch(srv_store *st, int64_t ref, uint64_t after, uint64_t upto, int limit,
                       srv_log_cb cb, void *ctx)
{
    pgp p = {0};
    int err;
    p_int(&p, ref);
    p_int(&p, after > INT64_MAX ? INT64_MAX : (int64_t)after);
    p_int(&p, upto > INT64_MAX ? INT64_MAX : (int64_t)upto);
    p_int(&p, limit);
    PGresult *r = run(S(st), Q_LOG_FETCH, &p, &err);
    for (int i = 0; r && i < PQntuples(r); i++) {
        srv_log_entry e;
        e.seq = (uint64_t)g_int(r, i, 0);
        e.epoch = (uint64_t)g_int(r, i, 1);
        e.kind = (enum srv_kind)g_int(r, i, 2);
        e.sender_id = g_int(r, i, 3);
        e.sender = g_text(r, i, 4);
        e.time = g_int(r, i, 5);
        e.data = g_bytes(r, i, 6);
        e.meta = g_text(r, i, 7);
        if ((err = cb(ctx, &e)) != 0)
            break;
    }
    if (err == SRV_STOP)
        err = SRV_OK;
    PQclear(r);
    return err;
}

static int b_log_first_seq(srv_store *st, int64_t ref, uint64_t *first)
{
    pgp p = {0};
    int err;
    p_int(&p, ref);
    PGresult *r = run(S(st), Q_LOG_FIRST, &p, &err);
    if (r && (PQntuples(r) != 1 || PQgetisnull(r, 0, 0)))
        err = SRV_NOT_FOUND;
    else if (r)
        *first = (uint64_t)g_int(r, 0, 0);
    PQclear(r);
    return err;
}

/* ------------------------------------------------------------ inbox */

static int b_welcome_add(srv_store *st, mls_bytes welcome, mls_bytes gi, int64_t now,
                         int64_t *welcome_id)
{
    pgp p = {0};
    p_bytes(&p, welcome);
    p_bytes_or_null(&p, gi);
    p_int(&p, (int64_t)(welcome.n + gi.n));
    p_int(&p, now);
    return returned_id(S(st), Q_WELCOME_INSERT, &p, welcome_id);
}

static int b_inbox_add(srv_store *st, int64_t user_id, int64_t ref, uint64_t seq, uint64_t epoch,
                       int64_t sender_id, int64_t welcome_id, int64_t now, int64_t *id)
{
    pgp p = {0};
    p_int(&p, user_id);
    p_int(&p, ref);
    p_int(&p, (int64_t)seq);
    p_int(&p, (int64_t)epoch);
    p_int(&p, sender_id);
    p_int(&p, welcome_id);
    p_int(&p, now);
    return returned_id(S(st), Q_INBOX_INSERT, &p, id);
}

static int b_inbox_stats(srv_store *st, int64_t user_id, srv_inbox_stats *out)
{
    pgp p = {0};
    int err;
    p_int(&p, user_id);
    PGresult *r = run(S(st), Q_INBOX_STATS, &p, &err);
    if (r && PQntuples(r) == 1) {
        out->entries = g_int(r, 0, 0);
        out->bytes = g_int(r, 0, 1);
    } else if (r) {
        err = SRV_STORE_ERR;
    }
    PQclear(r);
    return err;
}

static int b_inbox_list(srv_store *st, int64_t user_id, int64_t after, int limit,
                        srv_inbox_cb cb, void *ctx)
{
    pgp p = {0};
    int err;
    p_int(&p, user_id);
    p_int(&p, after);
    p_int(&p, limit);
    PGresult *r = run(S(st), Q_INBOX_LIST, &p, &err);
    for (int i = 0; r && i < PQntuples(r); i++) {
        srv_group g;
        srv_inbox_entry e;
        e.id = g_int(r, i, 0);
        e.seq = (uint64_t)g_int(r, i, 1);
        e.epoch = (uint64_t)g_int(r, i, 2);
        e.sender_id = g_int(r, i, 3);
        e.sender = g_text(r, i, 4);
        e.time = g_int(r, i, 5);
        e.welcome = g_bytes(r, i, 6);
        e.group_info = g_bytes(r, i, 7);
        g.ref = g_int(r, i, 8);
        copy_text(g.name, sizeof g.name, r, i, 9);
        g.gid_len = copy_blob(g.gid, sizeof g.gid, r, i, 10);
        g.epoch = (uint64_t)g_int(r, i, 11);
        g.last_seq = (uint64_t)g_int(r, i, 12);
        g.admin_id = g_int(r, i, 13);
        e.group = &g;
        if ((err = cb(ctx, &e)) != 0)
            break;
    }
    if (err == SRV_STOP)
        err = SRV_OK;
    PQclear(r);
    return err;
}

static int b_inbox_ack(srv_store *st, int64_t user_id, int64_t id, int *deleted)
{
    pg_store *s = S(st);
    pgp p = {0};
    int err;
    p_int(&p, id);
    p_int(&p, user_id);
    PGresult *r = run(s, Q_INBOX_DELETE, &p, &err);
    int64_t welcome_id = r && PQntuples(r) == 1 ? g_int(r, 0, 0) : 0;
    PQclear(r);
    if (err)
        return err;
    /* The last recipient to ack takes the shared Welcome with it. */
    if (welcome_id) {
        pgp w = {0};
        p_int(&w, welcome_id);
        if ((err = run_done(s, Q_WELCOME_GC, &w, NULL)) != SRV_OK)
            return err;
    }
    *deleted = welcome_id != 0;
    return SRV_OK;
}

/* ------------------------------------------------------------ maintenance */

static int purge_one(pg_store *s, enum stmt_id id, int64_t before, int64_t *count)
{
    pgp p = {0};
    int64_t n = 0;
    p_int(&p, before);
    int err = run_done(s, id, &p, &n);
    if (!err)
        *count += n;
    return err;
}

static int b_purge(srv_store *st, int64_t log_before, int64_t kp_before, int64_t inbox_before,
                   int64_t now, srv_purge_counts *counts)
{
    pg_store *s = S(st);
    srv_purge_counts c = {0, 0, 0};
    int err = SRV_OK;
    if (log_before > 0)
        err = purge_one(s, Q_PURGE_LOG, log_before, &c.log_entries);
    if (!err && kp_before > 0)
        err = purge_one(s, Q_PURGE_KP_AGE, kp_before, &c.key_packages);
    if (!err)
        err = purge_one(s, Q_PURGE_KP_EXPIRED, now, &c.key_packages);
    if (!err && inbox_before > 0)
        err = purge_one(s, Q_PURGE_INBOX, inbox_before, &c.inbox_entries);
    if (!err && c.inbox_entries)
        err = run_done(s, Q_PURGE_WELCOMES, NULL, NULL);
    if (!err)
        *counts = c;
    return err;
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

/* ------------------------------------------------------------ pending invitations */

static int b_pending_add(srv_store *st, int64_t ref, const char *username, int64_t inviter_id,
                         int64_t now)
{
    pgp p = {0};
    p_int(&p, ref);
    p_text(&p, username);
    p_int(&p, inviter_id);
    p_int(&p, now);
    return run_done(S(st), Q_PENDING_INSERT, &p, NULL);
}

static int b_pending_count(srv_store *st, int64_t ref, int64_t *count)
{
    pgp p = {0};
    int err;
    p_int(&p, ref);
    PGresult *r = run(S(st), Q_PENDING_COUNT, &p, &err);
    if (r && PQntuples(r) == 1)
        *count = g_int(r, 0, 0);
    else if (r)
        err = SRV_STORE_ERR;
    PQclear(r);
    return err;
}

static int b_pending_delete(srv_store *st, int64_t ref, const char *username)
{
    pgp p = {0};
    p_int(&p, ref);
    p_text(&p, username);
    return run_done(S(st), Q_PENDING_DELETE, &p, NULL);
}

static int pending_rows(pg_store *s, enum stmt_id id, const pgp *p, srv_pending_cb cb, void *ctx)
{
    int err;
    PGresult *r = run(s, id, p, &err);
    for (int i = 0; r && i < PQntuples(r); i++) {
        srv_pending pe;
        memset(&pe, 0, sizeof pe);
        pe.group_ref = g_int(r, i, 0);
        copy_text(pe.group, sizeof pe.group, r, i, 1);
        copy_text(pe.username, sizeof pe.username, r, i, 2);
        copy_text(pe.inviter, sizeof pe.inviter, r, i, 3);
        pe.time = g_int(r, i, 4);
        if ((err = cb(ctx, &pe)) != 0)
            break;
    }
    PQclear(r);
    return err == SRV_STOP ? SRV_OK : err;
}

static int b_pending_for_admin(srv_store *st, int64_t admin_id, srv_pending_cb cb, void *ctx)
{
    pgp p = {0};
    p_int(&p, admin_id);
    return pending_rows(S(st), Q_PENDING_FOR_ADMIN, &p, cb, ctx);
}

static int b_pending_for_user(srv_store *st, const char *username, srv_pending_cb cb, void *ctx)
{
    pgp p = {0};
    p_text(&p, username);
    return pending_rows(S(st), Q_PENDING_FOR_USER, &p, cb, ctx);
}

static const struct srv_store_ops pg_ops = {
    .close = b_close,
    .batch_begin = b_batch_begin,
    .batch_commit = b_batch_commit,
    .batch_rollback = b_batch_rollback,
    .change_begin = b_change_begin,
    .change_end = b_change_end,
    .user_create = b_user_create,
    .user_by_name = b_user_by_name,
    .user_by_id = b_user_by_id,
    .user_by_key = b_user_by_key,
    .user_rename = b_user_rename,
    .rename_record = b_rename_record,
    .rename_known = b_rename_known,
    .kp_add = b_kp_add,
    .kp_drop_last_resort = b_kp_drop_last_resort,
    .kp_count = b_kp_count,
    .kp_claim = b_kp_claim,
    .kp_delete_user = b_kp_delete_user,
    .group_create = b_group_create,
    .group_by_name = b_group_by_name,
    .group_by_gid = b_group_by_gid,
    .group_advance_epoch = b_group_advance_epoch,
    .group_set_info = b_group_set_info,
    .group_get_info = b_group_get_info,
    .group_set_view = b_group_set_view,
    .group_get_view = b_group_get_view,
    .groups_of_user = b_groups_of_user,
    .member_get = b_member_get,
    .member_list = b_member_list,
    .member_add = b_member_add,
    .member_remove = b_member_remove,
    .log_append = b_log_append,
    .log_fetch = b_log_fetch,
    .log_first_seq = b_log_first_seq,
    .log_find_msg_id = b_log_find_msg_id,
    .log_find_commit = b_log_find_commit,
    .welcome_add = b_welcome_add,
    .inbox_add = b_inbox_add,
    .inbox_stats = b_inbox_stats,
    .inbox_list = b_inbox_list,
    .inbox_ack = b_inbox_ack,
    .purge = b_purge,
    .size_bytes = b_size_bytes,
    .health = b_health,
    .checkpoint = b_checkpoint,
    .group_by_ref = b_group_by_ref,
    .audience = b_audience,
    .notices = b_notices,
    .pending_add = b_pending_add,
    .pending_count = b_pending_count,
    .pending_delete = b_pending_delete,
    .pending_for_admin = b_pending_for_admin,
    .pending_for_user = b_pending_for_user,
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
