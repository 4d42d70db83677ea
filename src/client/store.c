/* Local store on SQLite: prepare / bind / step / finalize with one exit. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "seal.h"
#include "util.h"

/* Statements prepared once and reused (reset and unbound after each use)
 * for the life of the store: a catch-up writes thousands of rows, and
 * preparing is most of the cost of a small statement.  Keyed by the SQL
 * text; a statement still in use when the same SQL is asked for again
 * (a callback of an iteration that queries the same thing) gets a
 * one-off statement instead. */
#define STORE_STMT_CACHE 48

struct cached_stmt {
    const char *sql;
    sqlite3_stmt *s;
    int busy;
};

struct cli_store {
    sqlite3 *db;
    int lock_fd;
    struct cli_seal_key key; /* the data key (seal.h): secret */
    /* Nesting of cli_store_begin: the outer level is a transaction, the
     * inner ones savepoints (a catch-up page's transaction holds the
     * entries' own). */
    int depth;
    struct cached_stmt cache[STORE_STMT_CACHE];
    size_t n_cache;
};

static const char *const schema =
    "CREATE TABLE IF NOT EXISTS identity("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " username TEXT NOT NULL, suite INTEGER NOT NULL,"
    " sig_sk BLOB NOT NULL, sig_pk BLOB NOT NULL,"
    " registered INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS key_packages("
    " ref BLOB PRIMARY KEY, bundle BLOB NOT NULL,"
    " last_resort INTEGER NOT NULL, created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS groups("
    " name TEXT PRIMARY KEY, group_id BLOB NOT NULL UNIQUE, state BLOB NOT NULL,"
    " cursor INTEGER NOT NULL, status INTEGER NOT NULL,"
    " unread INTEGER NOT NULL DEFAULT 0, joined_at INTEGER NOT NULL,"
    " pending_commit BLOB, pending_state BLOB);"
    "CREATE TABLE IF NOT EXISTS history("
    " id INTEGER PRIMARY KEY, grp TEXT NOT NULL, seq INTEGER,"
    " time INTEGER NOT NULL, sender TEXT, text TEXT NOT NULL,"
    " UNIQUE (grp, seq));"
    "CREATE INDEX IF NOT EXISTS history_grp ON history(grp, id);"
    "CREATE TABLE IF NOT EXISTS outbox("
    " id INTEGER PRIMARY KEY, grp TEXT NOT NULL, text TEXT NOT NULL,"
    " ct BLOB, created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS directory("
    " username TEXT PRIMARY KEY, sig_key BLOB NOT NULL);";

/*
 * Schema versions (PRAGMA user_version), each step one transaction:
 *   0 -> 1  pins: every user's signature key as first seen (trust on
 *           first use, DESIGN Decision 2), seeded from the directory cache
 *           of older clients (the keys they had already relied on).
 */
#define STORE_SCHEMA_VERSION 4
static const char *const migrate_1 =
    "CREATE TABLE pins("
    " username TEXT PRIMARY KEY, sig_key BLOB NOT NULL,"
    " pinned_at INTEGER NOT NULL, source TEXT NOT NULL,"
    " verified INTEGER NOT NULL DEFAULT 0,"
    " offered_key BLOB, offered_at INTEGER, offered_source TEXT);"
    "INSERT INTO pins(username, sig_key, pinned_at, source)"
    " SELECT username, sig_key, CAST(strftime('%s','now') AS INTEGER),"
    " 'the directory (cached before pinning)' FROM directory;"
    "PRAGMA user_version = 1;";
/* 2: every outbox entry has a msg_id for its whole life (PROTOCOL.md
 * §7.7); entries made before get one when they are next sent. */
static const char *const migrate_2 =
    "ALTER TABLE outbox ADD COLUMN msg_id BLOB;"
    "PRAGMA user_version = 2;";
/* 3: every field holding secret key material sealed (seal.h) by the
 * function seal_field (below) in place, in one transaction; a database
 * of an older client is encrypted at its first start with this one. */
static const char *const migrate_3 =
    "UPDATE identity SET sig_sk = seal_field('identity.sig_sk', username, sig_sk);"
    "UPDATE key_packages SET bundle = seal_field('key_packages.bundle', ref, bundle);"
    "UPDATE groups SET state = seal_field('groups.state', name, state),"
    " pending_state = seal_field('groups.pending_state', name, pending_state);"
    "PRAGMA user_version = 3;";
/* 4: a group joined through an invitation the user did not ask for waits
 * for consent (/join or /decline, README "Invitations"): the groups made
 * before were all accepted (0). */
static const char *const migrate_4 =
    "ALTER TABLE groups ADD COLUMN consent INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE groups ADD COLUMN inviter TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE groups ADD COLUMN invited_at INTEGER NOT NULL DEFAULT 0;"
    "PRAGMA user_version = 4;";

/* The sealed fields and what names their row (the associated data). */
#define F_SIG_SK "identity.sig_sk"       /* row: username */
#define F_KP_BUNDLE "key_packages.bundle" /* row: ref */
#define F_STATE "groups.state"           /* row: name */
#define F_PENDING_STATE "groups.pending_state"

/* The associated data of a sealed field: its table and column, and the
 * row's key, so that a blob copied to another row or column (or the
 * signature key of another user of the directory) does not open. */
static int field_ad(const char *field, mls_bytes row, mls_buf *ad)
{
    mls_buf_reset(ad);
    if (mls_buf_append(ad, field, strlen(field) + 1) != MLS_OK)
        return -1;
    return row.n && mls_buf_append(ad, row.p, row.n) != MLS_OK ? -1 : 0;
}

/* Seals pt for field of row into out; empty stays empty (a NULL). */
static int seal_field(struct cli_store *st, const char *field, mls_bytes row, mls_bytes pt,
                      mls_buf *out)
{
    mls_buf ad;
    int rc = -1;
    mls_buf_init(&ad);
    mls_buf_reset(out);
    if (pt.n == 0) {
        rc = 0;
        goto out;
    }
    if (field_ad(field, row, &ad) != 0 || cli_seal(&st->key, mls_buf_view(&ad), pt, out) != 0)
        goto out;
    rc = 0;
out:
    mls_buf_clear(&ad);
    return rc;
}

/* Opens a sealed field into out: 0, or CLI_STORE_TAMPERED (logged). */
static int open_field(struct cli_store *st, const char *field, mls_bytes row, mls_bytes sealed,
                      mls_buf *out)
{
    mls_buf ad;
    int rc = CLI_STORE_TAMPERED;
    mls_buf_init(&ad);
    if (sealed.n == 0) {
        mls_buf_reset(out);
        rc = 0;
        goto out;
    }
    if (field_ad(field, row, &ad) != 0) {
        rc = -1;
        goto out;
    }
    if (cli_unseal(&st->key, mls_buf_view(&ad), sealed, out) != 0) {
        cli_log("store: %s of a row does not open: altered, moved from another row, or "
                "sealed under another key", field);
        goto out;
    }
    rc = 0;
out:
    mls_buf_clear(&ad);
    return rc;
}

/* SQL seal_field(field, row, value), for migrate_3. */
static void sql_seal_field(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct cli_store *st = sqlite3_user_data(ctx);
    const char *field = (const char *)sqlite3_value_text(argv[0]);
    const void *row = sqlite3_value_blob(argv[1]), *v = sqlite3_value_blob(argv[2]);
    int row_n = sqlite3_value_bytes(argv[1]), v_n = sqlite3_value_bytes(argv[2]);
    mls_buf out;

    (void)argc;
    mls_buf_init(&out);
    if (sqlite3_value_type(argv[2]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        goto out;
    }
    if (!field || seal_field(st, field, mls_bytes_of(row, row_n > 0 ? (size_t)row_n : 0),
                             mls_bytes_of(v, v_n > 0 ? (size_t)v_n : 0), &out) != 0) {
        sqlite3_result_error(ctx, "cannot seal", -1);
        goto out;
    }
    sqlite3_result_blob(ctx, out.p, (int)out.n, SQLITE_TRANSIENT);
out:
    mls_buf_clear(&out);
}

static void db_err(struct cli_store *st, const char *what)
{
    cli_log("store: %s: %s", what, sqlite3_errmsg(st->db));
}

static int exec(struct cli_store *st, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        cli_log("store: %s: %s", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int user_version(struct cli_store *st, int *v)
{
    sqlite3_stmt *s = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
        goto out;
    if (sqlite3_step(s) != SQLITE_ROW)
        goto out;
    *v = sqlite3_column_int(s, 0);
    rc = 0;
out:
    if (rc != 0)
        db_err(st, "user_version");
    sqlite3_finalize(s);
    return rc;
}

/* One schema step in its own transaction (each ends by setting
 * user_version, so a crash between steps resumes at the next one). */
static int migrate_step(struct cli_store *st, const char *sql)
{
    if (exec(st, "BEGIN IMMEDIATE") != 0)
        return -1;
    if (exec(st, sql) != 0 || exec(st, "COMMIT") != 0) {
        cli_store_rollback(st);
        return -1;
    }
    return 0;
}

/* Brings an older database up to STORE_SCHEMA_VERSION; a newer one (a
 * later client's) is refused rather than misread. */
static int migrate(struct cli_store *st)
{
    int v;
    if (user_version(st, &v) != 0)
        return -1;
    if (v > STORE_SCHEMA_VERSION) {
        cli_log("store: schema version %d is newer than this client's (%d)", v,
                STORE_SCHEMA_VERSION);
        return -1;
    }
    if (v < 1 && migrate_step(st, migrate_1) != 0)
        return -1;
    if (v < 2 && migrate_step(st, migrate_2) != 0)
        return -1;
    if (v < 3) {
        int before = sqlite3_total_changes(st->db);
        if (migrate_step(st, migrate_3) != 0)
            return -1;
        /* Something was sealed: its clear value may still lie in free
         * pages (an older client did not set secure_delete) and in the
         * WAL.  VACUUM rewrites the file with live pages only, the
         * checkpoint empties the WAL. */
        if (sqlite3_total_changes(st->db) != before &&
            exec(st, "VACUUM; PRAGMA wal_checkpoint(TRUNCATE);") != 0)
            return -1;
    }
    if (v < 4 && migrate_step(st, migrate_4) != 0)
        return -1;
    return 0;
}

int cli_store_open(const char *path, const struct cli_seal_key *key, struct cli_store **out,
                   int *locked)
{
    struct cli_store *st = calloc(1, sizeof *st);
    char *lockpath = NULL;
    int fd;
    *locked = 0;
    if (!st)
        return -1;
    st->lock_fd = -1;
    st->key = *key;
    lockpath = cli_strdupf("%s.lock", path);
    if (!lockpath)
        goto fail;
    st->lock_fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (st->lock_fd < 0)
        goto fail;
    if (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            *locked = 1;
        goto fail;
    }
    /* Create the file ourselves so that it is 0600 from the first byte:
     * it holds the signature private key. */
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        goto fail;
    if (fchmod(fd, 0600) != 0) {
        close(fd);
        goto fail;
    }
    close(fd);
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK)
        goto fail;
    sqlite3_busy_timeout(st->db, 5000);
    if (sqlite3_create_function(st->db, "seal_field", 3, SQLITE_UTF8 | SQLITE_DIRECTONLY, st,
                                sql_seal_field, NULL, NULL) != SQLITE_OK)
        goto fail;
    /* secure_delete: a deleted KeyPackage bundle or old group state is
     * overwritten, not left in free pages (forward secrecy at rest). */
    if (exec(st, "PRAGMA secure_delete=ON; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;") !=
            0 ||
        exec(st, schema) != 0 || migrate(st) != 0)
        goto fail;
    free(lockpath);
    *out = st;
    return 0;
fail:
    free(lockpath);
    cli_store_close(st);
    return -1;
}

void cli_store_close(struct cli_store *st)
{
    size_t i;
    if (!st)
        return;
    for (i = 0; i < st->n_cache; i++)
        sqlite3_finalize(st->cache[i].s);
    st->n_cache = 0;
    /* Old page images (sealed, but perhaps of states holding epochs
     * since forgotten) leave the WAL file. */
    if (st->db && sqlite3_get_autocommit(st->db))
        (void)sqlite3_exec(st->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    if (st->db)
        sqlite3_close(st->db);
    if (st->lock_fd >= 0)
        close(st->lock_fd);
    cli_seal_key_clear(&st->key);
    free(st);
}

static int run(struct cli_store *st, const char *sql, const char *fmt, ...);

int cli_store_begin(struct cli_store *st)
{
    if (run(st, st->depth ? "SAVEPOINT nested" : "BEGIN IMMEDIATE", "") != 0)
        return -1;
    st->depth++;
    return 0;
}

int cli_store_commit(struct cli_store *st)
{
    /* A failed COMMIT leaves the level open for the caller's rollback. */
    if (run(st, st->depth > 1 ? "RELEASE nested" : "COMMIT", "") != 0)
        return -1;
    if (st->depth > 0)
        st->depth--;
    return 0;
}

void cli_store_rollback(struct cli_store *st)
{
    if (st->depth > 1) {
        /* Undoes the inner level only; the outer transaction goes on. */
        (void)run(st, "ROLLBACK TO nested", "");
        (void)run(st, "RELEASE nested", "");
        st->depth--;
        return;
    }
    st->depth = 0;
    if (!sqlite3_get_autocommit(st->db))
        (void)exec(st, "ROLLBACK");
}

/* Binds parameters described by fmt: 'i' int64, 't' text (NULL binds
 * NULL), 'b' blob (const mls_bytes *; empty binds NULL). */
static int bind_args(sqlite3_stmt *s, const char *fmt, va_list ap)
{
    int i;
    for (i = 0; fmt[i]; i++) {
        int rc;
        if (fmt[i] == 'i') {
            rc = sqlite3_bind_int64(s, i + 1, va_arg(ap, int64_t));
        } else if (fmt[i] == 't') {
            const char *t = va_arg(ap, const char *);
            rc = t ? sqlite3_bind_text(s, i + 1, t, -1, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(s, i + 1);
        } else {
            const mls_bytes *b = va_arg(ap, const mls_bytes *);
            rc = b->n ? sqlite3_bind_blob(s, i + 1, b->p, (int)b->n, SQLITE_TRANSIENT)
                      : sqlite3_bind_null(s, i + 1);
        }
        if (rc != SQLITE_OK)
            return -1;
    }
    return 0;
}

/* Gives a statement from vquery back: a cached one is reset and its
 * parameters dropped (no copy of a bound state blob stays behind); a
 * one-off one is finalized. */
static void done(struct cli_store *st, sqlite3_stmt *s)
{
    size_t i;
    if (!s)
        return;
    for (i = 0; i < st->n_cache; i++)
        if (st->cache[i].s == s) {
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
            st->cache[i].busy = 0;
            return;
        }
    sqlite3_finalize(s);
}

/* The cached statement for sql, prepared on first use. */
static sqlite3_stmt *prepare(struct cli_store *st, const char *sql)
{
    sqlite3_stmt *s = NULL;
    size_t i;
    for (i = 0; i < st->n_cache; i++)
        if (st->cache[i].sql == sql || strcmp(st->cache[i].sql, sql) == 0)
            break;
    if (i < st->n_cache && !st->cache[i].busy) {
        st->cache[i].busy = 1;
        return st->cache[i].s;
    }
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        db_err(st, sql);
        return NULL;
    }
    if (i == st->n_cache && st->n_cache < STORE_STMT_CACHE) {
        st->cache[i].sql = sql;
        st->cache[i].s = s;
        st->cache[i].busy = 1;
        st->n_cache++;
    }
    return s;
}

/* Prepares (or reuses) and binds a query; the caller steps and gives it
 * back with done(). */
static sqlite3_stmt *vquery(struct cli_store *st, const char *sql, const char *fmt, va_list ap)
{
    sqlite3_stmt *s = prepare(st, sql);
    if (!s)
        return NULL;
    if (bind_args(s, fmt, ap) != 0) {
        db_err(st, "bind");
        done(st, s);
        return NULL;
    }
    return s;
}

static sqlite3_stmt *query(struct cli_store *st, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *s = vquery(st, sql, fmt, ap);
    va_end(ap);
    return s;
}

/* Runs one statement; 1 on a constraint violation. */
static int run(struct cli_store *st, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *s;
    va_list ap;
    int rc = -1, step;

    va_start(ap, fmt);
    s = vquery(st, sql, fmt, ap);
    va_end(ap);
    if (!s)
        return -1;
    step = sqlite3_step(s);
    if (step == SQLITE_CONSTRAINT) {
        rc = 1;
        goto out;
    }
    if (step != SQLITE_DONE && step != SQLITE_ROW) {
        db_err(st, sql);
        goto out;
    }
    rc = 0;
out:
    done(st, s);
    return rc;
}

static int col_buf(sqlite3_stmt *s, int col, mls_buf *out)
{
    const void *p = sqlite3_column_blob(s, col);
    int n = sqlite3_column_bytes(s, col);
    if (n <= 0) {
        mls_buf_reset(out);
        return 0;
    }
    return mls_buf_set(out, p, (size_t)n) == MLS_OK ? 0 : -1;
}

/* A column's bytes, valid until the next step or finalize. */
static mls_bytes col_bytes(sqlite3_stmt *s, int col)
{
    const void *p = sqlite3_column_blob(s, col);
    int n = sqlite3_column_bytes(s, col);
    return mls_bytes_of(p, n > 0 ? (size_t)n : 0);
}

static mls_bytes name_bytes(const char *name)
{
    return mls_bytes_of((const uint8_t *)name, strlen(name));
}

static const char *col_text(sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    return t ? (const char *)t : NULL;
}

/* ------------------------------------------------------------ identity */

void cli_identity_clear(struct cli_identity *id)
{
    mls_buf_clear(&id->sig_sk);
    mls_buf_clear(&id->sig_pk);
    memset(id, 0, sizeof *id);
}

int cli_store_identity_load(struct cli_store *st, struct cli_identity *id)
{
    sqlite3_stmt *s = query(st, "SELECT username, suite, sig_sk, sig_pk, registered "
                                "FROM identity WHERE id = 1", "");
    int rc = -1, step;
    if (!s)
        return -1;
    step = sqlite3_step(s);
    if (step == SQLITE_DONE) {
        rc = 1;
        goto out;
    }
    if (step != SQLITE_ROW)
        goto out;
    snprintf(id->username, sizeof id->username, "%s", col_text(s, 0) ? col_text(s, 0) : "");
    id->suite = (uint16_t)sqlite3_column_int(s, 1);
    if (col_buf(s, 3, &id->sig_pk) != 0)
        goto out;
    rc = open_field(st, F_SIG_SK, name_bytes(id->username), col_bytes(s, 2), &id->sig_sk);
    if (rc != 0)
        goto out;
    id->registered = sqlite3_column_int(s, 4);
out:
    done(st, s);
    return rc;
}

int cli_store_identity_save(struct cli_store *st, const struct cli_identity *id)
{
    mls_bytes pk = mls_buf_view(&id->sig_pk), sk;
    mls_buf sealed;
    int rc = -1;
    mls_buf_init(&sealed);
    if (seal_field(st, F_SIG_SK, name_bytes(id->username), mls_buf_view(&id->sig_sk), &sealed) != 0)
        goto out;
    sk = mls_buf_view(&sealed);
    rc = run(st,
             "INSERT OR REPLACE INTO identity(id, username, suite, sig_sk, sig_pk, registered)"
             " VALUES (1, ?, ?, ?, ?, ?)",
             "tibbi", id->username, (int64_t)id->suite, &sk, &pk, (int64_t)id->registered);
out:
    mls_buf_clear(&sealed);
    return rc;
}

/* ------------------------------------------------------------ key packages */

int cli_store_kp_add(struct cli_store *st, mls_bytes ref, mls_bytes bundle, int last_resort)
{
    mls_buf sealed;
    mls_bytes b;
    int rc = -1;
    mls_buf_init(&sealed);
    if (seal_field(st, F_KP_BUNDLE, ref, bundle, &sealed) != 0)
        goto out;
    b = mls_buf_view(&sealed);
    rc = run(st,
             "INSERT OR REPLACE INTO key_packages(ref, bundle, last_resort, created)"
             " VALUES (?, ?, ?, ?)",
             "bbii", &ref, &b, (int64_t)last_resort, (int64_t)cli_time());
out:
    mls_buf_clear(&sealed);
    return rc;
}

int cli_store_kp_get(struct cli_store *st, mls_bytes ref, mls_buf *bundle, int *last_resort)
{
    sqlite3_stmt *s = query(st, "SELECT bundle, last_resort FROM key_packages WHERE ref = ?",
                            "b", &ref);
    int rc = -1, step;
    if (!s)
        return -1;
    step = sqlite3_step(s);
    if (step == SQLITE_DONE) {
        rc = 1;
        goto out;
    }
    if (step != SQLITE_ROW)
        goto out;
    rc = open_field(st, F_KP_BUNDLE, ref, col_bytes(s, 0), bundle);
    if (rc != 0)
        goto out;
    *last_resort = sqlite3_column_int(s, 1);
out:
    done(st, s);
    return rc;
}

int cli_store_kp_delete(struct cli_store *st, mls_bytes ref)
{
    return run(st, "DELETE FROM key_packages WHERE ref = ?", "b", &ref);
}

int cli_store_kp_delete_old_last_resort(struct cli_store *st, mls_bytes keep)
{
    return run(st, "DELETE FROM key_packages WHERE last_resort = 1 AND ref <> ?", "b", &keep);
}

/* ------------------------------------------------------------ groups */

void cli_group_rec_clear(struct cli_group_rec *g)
{
    mls_buf_clear(&g->group_id);
    mls_buf_clear(&g->state);
    mls_buf_clear(&g->pending_commit);
    mls_buf_clear(&g->pending_state);
    memset(g, 0, sizeof *g);
}

int cli_store_group_put(struct cli_store *st, const struct cli_group_rec *g)
{
    mls_bytes gid = mls_buf_view(&g->group_id), pc = mls_buf_view(&g->pending_commit);
    mls_bytes state, ps;
    mls_buf sstate, sps;
    int rc = -1;
    mls_buf_init(&sstate);
    mls_buf_init(&sps);
    if (seal_field(st, F_STATE, name_bytes(g->name), mls_buf_view(&g->state), &sstate) != 0 ||
        seal_field(st, F_PENDING_STATE, name_bytes(g->name), mls_buf_view(&g->pending_state),
                   &sps) != 0)
        goto out;
    state = mls_buf_view(&sstate);
    ps = mls_buf_view(&sps);
    rc = run(st,
             "INSERT OR REPLACE INTO groups(name, group_id, state, cursor, status, unread,"
             " joined_at, pending_commit, pending_state, consent, inviter, invited_at)"
             " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
             "tbbiiiibbiti", g->name, &gid, &state, g->cursor, (int64_t)g->status, g->unread,
             g->joined_at, &pc, &ps, (int64_t)g->consent, g->inviter, g->invited_at);
out:
    mls_buf_clear(&sstate);
    mls_buf_clear(&sps);
    return rc;
}

int cli_store_group_delete(struct cli_store *st, const char *name)
{
    return run(st, "DELETE FROM groups WHERE name = ?", "t", name);
}

int cli_store_group_set_unread(struct cli_store *st, const char *name, int64_t unread)
{
    return run(st, "UPDATE groups SET unread = ? WHERE name = ?", "it", unread, name);
}

int cli_store_group_each(struct cli_store *st, cli_store_group_cb cb, void *ctx)
{
    sqlite3_stmt *s = query(st,
                            "SELECT name, group_id, state, cursor, status, unread, joined_at,"
                            " pending_commit, pending_state, consent, inviter, invited_at"
                            " FROM groups ORDER BY joined_at, name",
                            "");
    int rc = -1, step;
    if (!s)
        return -1;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct cli_group_rec g;
        memset(&g, 0, sizeof g);
        snprintf(g.name, sizeof g.name, "%s", col_text(s, 0) ? col_text(s, 0) : "");
        if (col_buf(s, 1, &g.group_id) != 0 || col_buf(s, 7, &g.pending_commit) != 0) {
            cli_group_rec_clear(&g);
            goto out;
        }
        if ((rc = open_field(st, F_STATE, name_bytes(g.name), col_bytes(s, 2), &g.state)) != 0 ||
            (rc = open_field(st, F_PENDING_STATE, name_bytes(g.name), col_bytes(s, 8),
                             &g.pending_state)) != 0) {
            cli_group_rec_clear(&g);
            goto out;
        }
        rc = -1;
        g.cursor = sqlite3_column_int64(s, 3);
        g.status = sqlite3_column_int(s, 4);
        g.unread = sqlite3_column_int64(s, 5);
        g.joined_at = sqlite3_column_int64(s, 6);
        g.consent = sqlite3_column_int(s, 9);
        snprintf(g.inviter, sizeof g.inviter, "%s", col_text(s, 10) ? col_text(s, 10) : "");
        g.invited_at = sqlite3_column_int64(s, 11);
        cb(ctx, &g);
        cli_group_rec_clear(&g);
    }
    if (step != SQLITE_DONE)
        goto out;
    rc = 0;
out:
    done(st, s);
    return rc;
}

/* ------------------------------------------------------------ history */

int cli_store_history_delete(struct cli_store *st, const char *group)
{
    return run(st, "DELETE FROM history WHERE grp = ?", "t", group);
}

int cli_store_history_add(struct cli_store *st, const char *group, int64_t seq, int64_t time,
                          const char *sender, const char *text)
{
    if (seq < 0)
        return run(st, "INSERT INTO history(grp, seq, time, sender, text) VALUES (?, NULL, ?, ?, ?)",
                   "titt", group, time, sender, text);
    return run(st, "INSERT INTO history(grp, seq, time, sender, text) VALUES (?, ?, ?, ?, ?)",
               "tiitt", group, seq, time, sender, text);
}

int cli_store_history_recent(struct cli_store *st, const char *group, int limit,
                             cli_store_history_cb cb, void *ctx)
{
    sqlite3_stmt *s = query(st,
                            "SELECT seq, time, sender, text FROM (SELECT id, seq, time, sender,"
                            " text FROM history WHERE grp = ? ORDER BY id DESC LIMIT ?)"
                            " ORDER BY id",
                            "ti", group, (int64_t)limit);
    int rc = -1, step;
    if (!s)
        return -1;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_type(s, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 0);
        cb(ctx, seq, sqlite3_column_int64(s, 1), col_text(s, 2),
           col_text(s, 3) ? col_text(s, 3) : "");
    }
    if (step == SQLITE_DONE)
        rc = 0;
    done(st, s);
    return rc;
}

int cli_store_history_page(struct cli_store *st, const char *group, int older, int64_t id,
                           int64_t bound, int limit, cli_store_page_cb cb, void *ctx)
{
    /* Both by the (grp, id) index; an older page is read newest first
     * and given oldest first. */
    sqlite3_stmt *s =
        older ? query(st,
                      "SELECT id, time, sender, text FROM (SELECT id, time, sender, text"
                      " FROM history WHERE grp = ? AND id < ? ORDER BY id DESC LIMIT ?)"
                      " ORDER BY id",
                      "tii", group, id, (int64_t)limit)
              : query(st,
                      "SELECT id, time, sender, text FROM history WHERE grp = ? AND id > ?"
                      " AND id < ? ORDER BY id LIMIT ?",
                      "tiii", group, id, bound, (int64_t)limit);
    int rc = -1, step, n = 0;
    if (!s)
        return -1;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        cb(ctx, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), col_text(s, 2),
           col_text(s, 3) ? col_text(s, 3) : "");
        n++;
    }
    if (step == SQLITE_DONE)
        rc = n;
    done(st, s);
    return rc;
}

int cli_store_history_search(struct cli_store *st, const char *group, const char *text,
                             int limit, cli_store_history_cb cb, void *ctx)
{
    /* instr, not LIKE: the text is matched as typed, % and _ included;
     * lower() folds ASCII letters only (SQLite without ICU). */
    sqlite3_stmt *s = query(st,
                            "SELECT seq, time, sender, text FROM (SELECT id, seq, time, sender,"
                            " text FROM history WHERE grp = ? AND sender IS NOT NULL"
                            " AND instr(lower(text), lower(?)) > 0 ORDER BY id DESC LIMIT ?)"
                            " ORDER BY id",
                            "tti", group, text, (int64_t)limit);
    int rc = -1, step;
    if (!s)
        return -1;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_type(s, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 0);
        cb(ctx, seq, sqlite3_column_int64(s, 1), col_text(s, 2),
           col_text(s, 3) ? col_text(s, 3) : "");
    }
    if (step == SQLITE_DONE)
        rc = 0;
    done(st, s);
    return rc;
}

/* ------------------------------------------------------------ outbox */

int cli_store_outbox_add(struct cli_store *st, const char *group, const char *text,
                         mls_bytes msg_id, int64_t *id)
{
    if (run(st, "INSERT INTO outbox(grp, text, ct, created, msg_id) VALUES (?, ?, NULL, ?, ?)",
            "ttib", group, text, (int64_t)cli_time(), &msg_id) != 0)
        return -1;
    *id = sqlite3_last_insert_rowid(st->db);
    return 0;
}

int cli_store_outbox_msg_id(struct cli_store *st, int64_t id, mls_buf *msg_id)
{
    sqlite3_stmt *s = query(st, "SELECT msg_id FROM outbox WHERE id = ?", "i", id);
    int rc = -1, step;
    if (!s)
        return -1;
    step = sqlite3_step(s);
    if (step == SQLITE_ROW && sqlite3_column_bytes(s, 0) <= 0)
        rc = 1;
    else if (step == SQLITE_ROW && col_buf(s, 0, msg_id) == 0)
        rc = 0;
    else if (step == SQLITE_DONE)
        rc = 1;
    done(st, s);
    return rc;
}

int cli_store_outbox_set_msg_id(struct cli_store *st, int64_t id, mls_bytes msg_id)
{
    return run(st, "UPDATE outbox SET msg_id = ? WHERE id = ?", "bi", &msg_id, id);
}

int cli_store_outbox_find(struct cli_store *st, const char *group, mls_bytes msg_id,
                          int64_t *id, char **text)
{
    sqlite3_stmt *s;
    int rc = -1, step;
    if (msg_id.n == 0)
        return 1;
    s = query(st, "SELECT id, text FROM outbox WHERE grp = ? AND msg_id = ?", "tb", group,
              &msg_id);
    if (!s)
        return -1;
    step = sqlite3_step(s);
    if (step == SQLITE_DONE) {
        rc = 1;
    } else if (step == SQLITE_ROW) {
        *text = strdup(col_text(s, 1) ? col_text(s, 1) : "");
        if (*text) {
            *id = sqlite3_column_int64(s, 0);
            rc = 0;
        }
    }
    done(st, s);
    return rc;
}

int cli_store_outbox_set_ct(struct cli_store *st, int64_t id, mls_bytes ct)
{
    return run(st, "UPDATE outbox SET ct = ? WHERE id = ?", "bi", &ct, id);
}

int cli_store_outbox_delete(struct cli_store *st, int64_t id)
{
    return run(st, "DELETE FROM outbox WHERE id = ?", "i", id);
}

int cli_store_outbox_each(struct cli_store *st, cli_store_outbox_cb cb, void *ctx)
{
    sqlite3_stmt *s = query(st, "SELECT id, grp, text, ct FROM outbox ORDER BY id", "");
    int rc = -1, step;
    if (!s)
        return -1;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(s, 3);
        int n = sqlite3_column_bytes(s, 3);
        cb(ctx, sqlite3_column_int64(s, 0), col_text(s, 1) ? col_text(s, 1) : "",
           col_text(s, 2) ? col_text(s, 2) : "", mls_bytes_of(p, n > 0 ? (size_t)n : 0));
    }
    if (step == SQLITE_DONE)
        rc = 0;
    done(st, s);
    return rc;
}

/* ------------------------------------------------------------ directory */

int cli_store_dir_put(struct cli_store *st, const char *username, mls_bytes key)
{
    return run(st, "INSERT OR REPLACE INTO directory(username, sig_key) VALUES (?, ?)", "tb",
               username, &key);
}

int cli_store_dir_get(struct cli_store *st, const char *username, mls_buf *key)
{
    sqlite3_stmt *s = query(st, "SELECT sig_key FROM directory WHERE username = ?", "t",
                            username);
    int rc = -1, step;
    if (!s)
        return -1;
    step = sqlite3_step(s);
    if (step == SQLITE_DONE)
        rc = 1;
    else if (step == SQLITE_ROW && col_buf(s, 0, key) == 0)
        rc = 0;
    done(st, s);
    return rc;
}

/* ------------------------------------------------------------ pins */

void cli_pin_clear(struct cli_pin *p)
{
    mls_buf_clear(&p->key);
    mls_buf_clear(&p->offered);
    memset(p, 0, sizeof *p);
}

int cli_store_pin_get(struct cli_store *st, const char *username, struct cli_pin *p)
{
    sqlite3_stmt *s = query(st,
                            "SELECT sig_key, pinned_at, source, verified, offered_key, offered_at,"
                            " offered_source FROM pins WHERE username = ?",
                            "t", username);
    int rc = -1, step;
    if (!s)
        return -1;
    step = sqlite3_step(s);
    if (step == SQLITE_DONE) {
        rc = 1;
        goto out;
    }
    if (step != SQLITE_ROW || col_buf(s, 0, &p->key) != 0 || col_buf(s, 4, &p->offered) != 0)
        goto out;
    p->pinned_at = sqlite3_column_int64(s, 1);
    snprintf(p->source, sizeof p->source, "%s", col_text(s, 2) ? col_text(s, 2) : "");
    p->verified = sqlite3_column_int(s, 3);
    p->offered_at = sqlite3_column_int64(s, 5);
    snprintf(p->offered_source, sizeof p->offered_source, "%s",
             col_text(s, 6) ? col_text(s, 6) : "");
    rc = 0;
out:
    done(st, s);
    return rc;
}

int cli_store_pin_add(struct cli_store *st, const char *username, mls_bytes key,
                      const char *source, int64_t time)
{
    sqlite3_stmt *s;
    int rc = -1;
    if (key.n == 0)
        return -1;
    s = query(st,
              "INSERT OR IGNORE INTO pins(username, sig_key, pinned_at, source, verified)"
              " VALUES (?, ?, ?, ?, 0)",
              "tbit", username, &key, time, source);
    if (!s)
        return -1;
    if (sqlite3_step(s) != SQLITE_DONE) {
        db_err(st, "pin add");
        goto out;
    }
    rc = sqlite3_changes(st->db) == 1 ? 0 : 1;
out:
    done(st, s);
    return rc;
}

int cli_store_pin_offer(struct cli_store *st, const char *username, mls_bytes key,
                        const char *source, int64_t time)
{
    if (key.n == 0)
        return -1;
    return run(st,
               "UPDATE pins SET offered_key = ?, offered_at = ?, offered_source = ?"
               " WHERE username = ? AND sig_key <> ?",
               "bittb", &key, time, source, username, &key);
}

static int changed_one(struct cli_store *st, int rc)
{
    if (rc != 0)
        return rc;
    return sqlite3_changes(st->db) == 1 ? 0 : 1;
}

int cli_store_pin_accept(struct cli_store *st, const char *username, int64_t time)
{
    return changed_one(st, run(st,
                               "UPDATE pins SET sig_key = offered_key, pinned_at = ?,"
                               " source = 'accepted with /verify ' || offered_source,"
                               " verified = 0, offered_key = NULL, offered_at = NULL,"
                               " offered_source = NULL"
                               " WHERE username = ? AND offered_key IS NOT NULL",
                               "it", time, username));
}

int cli_store_pin_set_verified(struct cli_store *st, const char *username, int verified)
{
    return changed_one(st, run(st, "UPDATE pins SET verified = ? WHERE username = ?", "it",
                               (int64_t)(verified != 0), username));
}

int cli_store_pin_rename(struct cli_store *st, const char *from, const char *to)
{
    return changed_one(st, run(st, "UPDATE OR IGNORE pins SET username = ? WHERE username = ?",
                               "tt", to, from));
}
