/*
 * The store interface on SQLite: WAL mode, synchronous=FULL (a COMMIT is on
 * disk when it returns, so an acknowledged message survives kill -9 and
 * power loss), a versioned schema with migrations, prepared statements
 * only, prepared once and reset after each use.
 */
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* Each migration brings the schema from version i to i + 1, in one
 * transaction with the version bump. */
static const char *const migrations[] = {
    "CREATE TABLE users ("
    " id INTEGER PRIMARY KEY,"
    " username TEXT NOT NULL UNIQUE,"
    " suite INTEGER NOT NULL,"
    " sig_key BLOB NOT NULL UNIQUE,"
    " created INTEGER NOT NULL);"
    "CREATE TABLE key_packages ("
    " id INTEGER PRIMARY KEY,"
    " user_id INTEGER NOT NULL REFERENCES users(id),"
    " data BLOB NOT NULL,"
    " last_resort INTEGER NOT NULL,"
    " not_after INTEGER NOT NULL,"
    " created INTEGER NOT NULL);"
    "CREATE INDEX key_packages_user ON key_packages(user_id, last_resort, id);"
    "CREATE TABLE groups ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " group_id BLOB NOT NULL UNIQUE,"
    " epoch INTEGER NOT NULL,"
    " last_seq INTEGER NOT NULL,"
    " admin_id INTEGER NOT NULL REFERENCES users(id),"
    " group_info BLOB,"
    " created INTEGER NOT NULL);"
    "CREATE TABLE members ("
    " group_ref INTEGER NOT NULL REFERENCES groups(id),"
    " user_id INTEGER NOT NULL REFERENCES users(id),"
    " role INTEGER NOT NULL,"
    " joined_seq INTEGER NOT NULL,"
    " left_seq INTEGER,"
    " PRIMARY KEY (group_ref, user_id)) WITHOUT ROWID;"
    "CREATE INDEX members_user ON members(user_id);"
    "CREATE TABLE log ("
    " group_ref INTEGER NOT NULL REFERENCES groups(id),"
    " seq INTEGER NOT NULL,"
    " epoch INTEGER NOT NULL,"
    " kind INTEGER NOT NULL,"
    " sender_id INTEGER NOT NULL,"
    " data BLOB NOT NULL,"
    " meta TEXT,"
    " created INTEGER NOT NULL,"
    " PRIMARY KEY (group_ref, seq)) WITHOUT ROWID;"
    /* Belt and braces for first-commit-wins: one commit per (group, epoch). */
    "CREATE UNIQUE INDEX log_one_commit ON log(group_ref, epoch) WHERE kind = 1;"
    "CREATE INDEX log_created ON log(created);"
    "CREATE TABLE inbox ("
    " id INTEGER PRIMARY KEY,"
    " user_id INTEGER NOT NULL REFERENCES users(id),"
    " group_ref INTEGER NOT NULL REFERENCES groups(id),"
    " seq INTEGER NOT NULL,"
    " epoch INTEGER NOT NULL,"
    " sender_id INTEGER NOT NULL,"
    " welcome BLOB NOT NULL,"
    " group_info BLOB,"
    " created INTEGER NOT NULL);"
    "CREATE INDEX inbox_user ON inbox(user_id, id);",
    /* 2: idempotent retries (docs/PROTOCOL.md §7.7): the sender's msg_id
     * lives with its log entry, so retention purges both together. */
    "ALTER TABLE log ADD COLUMN msg_id BLOB;"
    "CREATE UNIQUE INDEX log_msg_id ON log(group_ref, sender_id, msg_id)"
    " WHERE msg_id IS NOT NULL;",
    /* 3: a Welcome is stored once and each recipient's inbox entry refers
     * to it (a commit welcoming 300 users stored 300 copies before);
     * bytes is what the entry costs its recipient (inbox byte limit). */
    "CREATE TABLE welcomes ("
    " id INTEGER PRIMARY KEY,"
    " data BLOB NOT NULL,"
    " group_info BLOB,"
    " bytes INTEGER NOT NULL,"
    " created INTEGER NOT NULL);"
    "INSERT INTO welcomes(id, data, group_info, bytes, created)"
    " SELECT id, welcome, group_info, length(welcome) + coalesce(length(group_info), 0), created"
    " FROM inbox;"
    "CREATE TABLE inbox_v3 ("
    " id INTEGER PRIMARY KEY,"
    " user_id INTEGER NOT NULL REFERENCES users(id),"
    " group_ref INTEGER NOT NULL REFERENCES groups(id),"
    " seq INTEGER NOT NULL,"
    " epoch INTEGER NOT NULL,"
    " sender_id INTEGER NOT NULL,"
    " welcome_id INTEGER NOT NULL REFERENCES welcomes(id),"
    " created INTEGER NOT NULL);"
    "INSERT INTO inbox_v3(id, user_id, group_ref, seq, epoch, sender_id, welcome_id, created)"
    " SELECT id, user_id, group_ref, seq, epoch, sender_id, id, created FROM inbox;"
    "DROP TABLE inbox;"
    "ALTER TABLE inbox_v3 RENAME TO inbox;"
    "CREATE INDEX inbox_user ON inbox(user_id, id);"
    "CREATE INDEX inbox_welcome ON inbox(welcome_id);"
    "CREATE INDEX inbox_created ON inbox(created);",
    /* 4: server-validated governance (docs/PROTOCOL.md §7.4): each group's
     * libmls public view, written with the log entry it follows, and the
     * names users gave up by user.rename, so that a member's credential
     * rename commit is recognised as theirs. */
    "ALTER TABLE groups ADD COLUMN public_view BLOB;"
    "CREATE TABLE renames ("
    " user_id INTEGER NOT NULL REFERENCES users(id),"
    " old_name TEXT NOT NULL,"
    " created INTEGER NOT NULL,"
    " PRIMARY KEY (user_id, old_name)) WITHOUT ROWID;",
    /* 5: invitations of users who cannot be added yet (not registered, or
     * no KeyPackage): kept by username until an administrator's client
     * adds the user (docs/PROTOCOL.md §7.8). */
    "CREATE TABLE pending_invites ("
    " group_ref INTEGER NOT NULL REFERENCES groups(id),"
    " username TEXT NOT NULL,"
    " inviter_id INTEGER NOT NULL REFERENCES users(id),"
    " created INTEGER NOT NULL,"
    " PRIMARY KEY (group_ref, username)) WITHOUT ROWID;"
    "CREATE INDEX pending_invites_user ON pending_invites(username);",
};
#define N_MIGRATIONS (sizeof migrations / sizeof migrations[0])

enum stmt_id {
    Q_BEGIN, Q_COMMIT, Q_ROLLBACK, Q_SAVEPOINT, Q_RELEASE, Q_ROLLBACK_TO,
    Q_USER_INSERT, Q_USER_BY_NAME, Q_USER_BY_ID, Q_USER_BY_KEY, Q_USER_RENAME,
    Q_RENAME_INSERT, Q_RENAME_FIND,
    Q_KP_INSERT, Q_KP_DROP_LR, Q_KP_COUNT, Q_KP_HAS_LR, Q_KP_OLDEST, Q_KP_LR, Q_KP_DELETE,
    Q_KP_DELETE_USER,
    Q_GROUP_INSERT, Q_GROUP_BY_NAME, Q_GROUP_BY_GID, Q_GROUP_ADVANCE, Q_GROUP_SET_INFO,
    Q_GROUP_GET_INFO, Q_GROUP_SET_VIEW, Q_GROUP_GET_VIEW, Q_GROUPS_OF_USER,
    Q_MEMBER_GET, Q_MEMBER_LIST, Q_MEMBER_ADD, Q_MEMBER_REMOVE,
    Q_LOG_BUMP, Q_LOG_INSERT, Q_LOG_FETCH, Q_LOG_FIRST, Q_LOG_BY_MSG_ID, Q_LOG_SAME_COMMIT,
    Q_WELCOME_INSERT, Q_WELCOME_GC, Q_INBOX_INSERT, Q_INBOX_LIST, Q_INBOX_STATS, Q_INBOX_DELETE,
    Q_PURGE_LOG, Q_PURGE_KP_AGE, Q_PURGE_KP_EXPIRED, Q_PURGE_INBOX, Q_PURGE_WELCOMES,
    Q_CHECKPOINT,
    Q_PENDING_INSERT, Q_PENDING_COUNT, Q_PENDING_DELETE, Q_PENDING_FOR_ADMIN, Q_PENDING_FOR_USER,
    Q_COUNT
};

#define GROUP_COLS "id, name, group_id, epoch, last_seq, admin_id"

static const char *const stmt_sql[Q_COUNT] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_SAVEPOINT] = "SAVEPOINT change",
    [Q_RELEASE] = "RELEASE change",
    [Q_ROLLBACK_TO] = "ROLLBACK TO change",
    [Q_USER_INSERT] = "INSERT INTO users(username, suite, sig_key, created) VALUES (?,?,?,?)",
    [Q_USER_BY_NAME] = "SELECT id, username, suite, sig_key FROM users WHERE username = ?",
    [Q_USER_BY_ID] = "SELECT id, username, suite, sig_key FROM users WHERE id = ?",
    [Q_USER_BY_KEY] = "SELECT id, username, suite, sig_key FROM users WHERE sig_key = ?",
    [Q_USER_RENAME] = "UPDATE users SET username = ? WHERE id = ?",
    [Q_RENAME_INSERT] = "INSERT INTO renames(user_id, old_name, created) VALUES (?,?,?)"
                        " ON CONFLICT(user_id, old_name) DO NOTHING",
    [Q_RENAME_FIND] = "SELECT 1 FROM renames WHERE user_id = ? AND old_name = ?",
    [Q_KP_INSERT] = "INSERT INTO key_packages(user_id, data, last_resort, not_after, created)"
                    " VALUES (?,?,?,?,?)",
    [Q_KP_DROP_LR] = "DELETE FROM key_packages WHERE user_id = ? AND last_resort = 1",
    [Q_KP_COUNT] = "SELECT count(*) FROM key_packages"
                   " WHERE user_id = ? AND last_resort = 0 AND not_after >= ?",
    [Q_KP_HAS_LR] = "SELECT count(*) FROM key_packages"
                    " WHERE user_id = ? AND last_resort = 1 AND not_after >= ?",
    [Q_KP_OLDEST] = "SELECT id, data FROM key_packages"
                    " WHERE user_id = ? AND last_resort = 0 AND not_after >= ?"
                    " ORDER BY id LIMIT 1",
    [Q_KP_LR] = "SELECT id, data FROM key_packages"
                " WHERE user_id = ? AND last_resort = 1 AND not_after >= ?"
                " ORDER BY id DESC LIMIT 1",
    [Q_KP_DELETE] = "DELETE FROM key_packages WHERE id = ?",
    [Q_KP_DELETE_USER] = "DELETE FROM key_packages WHERE user_id = ?",
    [Q_GROUP_INSERT] = "INSERT INTO groups(name, group_id, epoch, last_seq, admin_id, created)"
                       " VALUES (?,?,?,0,?,?)",
    [Q_GROUP_BY_NAME] = "SELECT " GROUP_COLS " FROM groups WHERE name = ?",
    [Q_GROUP_BY_GID] = "SELECT " GROUP_COLS " FROM groups WHERE group_id = ?",
    /* The epoch stays an integer: at 2^63 - 1 it has no successor (the
     * logic refuses first; this keeps SQLite from making it a float). */
    [Q_GROUP_ADVANCE] = "UPDATE groups SET epoch = epoch + 1 WHERE id = ? AND epoch = ?"
                        " AND epoch < 9223372036854775807",
    [Q_GROUP_SET_INFO] = "UPDATE groups SET group_info = ? WHERE id = ?",
    [Q_GROUP_GET_INFO] = "SELECT group_info FROM groups WHERE id = ?",
    [Q_GROUP_SET_VIEW] = "UPDATE groups SET public_view = ? WHERE id = ?",
    [Q_GROUP_GET_VIEW] = "SELECT public_view FROM groups WHERE id = ?",
    [Q_GROUPS_OF_USER] = "SELECT g.id, g.name, g.group_id, g.epoch, g.last_seq, g.admin_id,"
                         " m.role, m.joined_seq FROM members m JOIN groups g ON g.id = m.group_ref"
                         " WHERE m.user_id = ? AND m.left_seq IS NULL ORDER BY g.name",
    [Q_MEMBER_GET] = "SELECT m.user_id, u.username, m.role, m.joined_seq, m.left_seq"
                     " FROM members m JOIN users u ON u.id = m.user_id"
                     " WHERE m.group_ref = ? AND m.user_id = ?",
    [Q_MEMBER_LIST] = "SELECT m.user_id, u.username, m.role, m.joined_seq, m.left_seq"
                      " FROM members m JOIN users u ON u.id = m.user_id"
                      " WHERE m.group_ref = ? AND m.left_seq IS NULL ORDER BY m.user_id",
    [Q_MEMBER_ADD] = "INSERT INTO members(group_ref, user_id, role, joined_seq, left_seq)"
                     " VALUES (?,?,?,?,NULL) ON CONFLICT(group_ref, user_id) DO UPDATE SET"
                     " role = excluded.role, joined_seq = excluded.joined_seq, left_seq = NULL",
    [Q_MEMBER_REMOVE] = "UPDATE members SET left_seq = ?"
                        " WHERE group_ref = ? AND user_id = ? AND left_seq IS NULL",
    [Q_LOG_BUMP] = "UPDATE groups SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq",
    [Q_LOG_INSERT] = "INSERT INTO log(group_ref, seq, epoch, kind, sender_id, data, meta, created,"
                     " msg_id) VALUES (?,?,?,?,?,?,?,?,?)",
    [Q_LOG_BY_MSG_ID] = "SELECT seq, epoch, kind FROM log"
                        " WHERE group_ref = ? AND sender_id = ? AND msg_id = ?",
    [Q_LOG_SAME_COMMIT] = "SELECT seq, epoch, kind FROM log WHERE group_ref = ? AND epoch = ?"
                          " AND kind = 1 AND sender_id = ? AND data = ?",
    [Q_LOG_FETCH] = "SELECT l.seq, l.epoch, l.kind, l.sender_id, u.username, l.created, l.data,"
                    " l.meta FROM log l LEFT JOIN users u ON u.id = l.sender_id"
                    " WHERE l.group_ref = ? AND l.seq > ? AND l.seq <= ? ORDER BY l.seq LIMIT ?",
    [Q_LOG_FIRST] = "SELECT coalesce((SELECT min(seq) FROM log WHERE group_ref = ?1),"
                    " (SELECT last_seq + 1 FROM groups WHERE id = ?1))",
    [Q_WELCOME_INSERT] = "INSERT INTO welcomes(data, group_info, bytes, created) VALUES (?,?,?,?)",
    [Q_WELCOME_GC] = "DELETE FROM welcomes WHERE id = ?1"
                     " AND NOT EXISTS (SELECT 1 FROM inbox WHERE welcome_id = ?1)",
    [Q_INBOX_INSERT] = "INSERT INTO inbox(user_id, group_ref, seq, epoch, sender_id, welcome_id,"
                       " created) VALUES (?,?,?,?,?,?,?)",
    [Q_INBOX_LIST] = "SELECT i.id, i.seq, i.epoch, i.sender_id, u.username, i.created, w.data,"
                     " w.group_info, g.id, g.name, g.group_id, g.epoch, g.last_seq, g.admin_id"
                     " FROM inbox i JOIN groups g ON g.id = i.group_ref"
                     " JOIN welcomes w ON w.id = i.welcome_id"
                     " LEFT JOIN users u ON u.id = i.sender_id WHERE i.user_id = ? AND i.id > ?"
                     " ORDER BY i.id LIMIT ?",
    [Q_INBOX_STATS] = "SELECT count(*), coalesce(sum(w.bytes), 0) FROM inbox i"
                      " JOIN welcomes w ON w.id = i.welcome_id WHERE i.user_id = ?",
    [Q_INBOX_DELETE] = "DELETE FROM inbox WHERE id = ? AND user_id = ? RETURNING welcome_id",
    [Q_PURGE_LOG] = "DELETE FROM log WHERE created < ?",
    [Q_PURGE_KP_AGE] = "DELETE FROM key_packages WHERE created < ?",
    [Q_PURGE_KP_EXPIRED] = "DELETE FROM key_packages WHERE not_after < ?",
    [Q_PURGE_INBOX] = "DELETE FROM inbox WHERE created < ?",
    [Q_PURGE_WELCOMES] = "DELETE FROM welcomes"
                         " WHERE NOT EXISTS (SELECT 1 FROM inbox WHERE welcome_id = welcomes.id)",
    [Q_CHECKPOINT] = "PRAGMA wal_checkpoint(TRUNCATE)",
    [Q_PENDING_INSERT] = "INSERT INTO pending_invites(group_ref, username, inviter_id, created)"
                         " VALUES (?,?,?,?) ON CONFLICT(group_ref, username) DO NOTHING",
    [Q_PENDING_COUNT] = "SELECT count(*) FROM pending_invites WHERE group_ref = ?",
    [Q_PENDING_DELETE] = "DELETE FROM pending_invites WHERE group_ref = ? AND username = ?",
    /* The pending invitations of the groups where the user is an
     * administrator on the roster. */
    [Q_PENDING_FOR_ADMIN] = "SELECT p.group_ref, g.name, p.username, u.username, p.created"
                            " FROM pending_invites p JOIN groups g ON g.id = p.group_ref"
                            " JOIN members m ON m.group_ref = p.group_ref AND m.user_id = ?"
                            " AND m.left_seq IS NULL AND m.role = 1"
                            " LEFT JOIN users u ON u.id = p.inviter_id"
                            " ORDER BY g.name, p.username",
    [Q_PENDING_FOR_USER] = "SELECT p.group_ref, g.name, p.username, u.username, p.created"
                           " FROM pending_invites p JOIN groups g ON g.id = p.group_ref"
                           " LEFT JOIN users u ON u.id = p.inviter_id WHERE p.username = ?"
                           " ORDER BY g.name",
};

typedef struct sqlite_store {
    srv_store base;
    sqlite3 *db;
    char *path;
    int commit_failed; /* the last COMMIT failed (disk full, I/O error) */
    sqlite3_stmt *stmt[Q_COUNT];
} sqlite_store;

static sqlite_store *S(srv_store *st)
{
    return (sqlite_store *)st;
}

static int fail(sqlite_store *s, const char *what)
{
    srv_log(SRV_LOG_ERROR, "sqlite: %s: %s", what, sqlite3_errmsg(s->db));
    return SRV_STORE_ERR;
}

/* Returns the statement ready for binding. */
static sqlite3_stmt *q(sqlite_store *s, enum stmt_id id)
{
    sqlite3_stmt *st = s->stmt[id];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

/* Steps a statement that returns no rows; resets it. */
static int exec_done(sqlite_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    int err = SRV_OK;
    if (rc == SQLITE_CONSTRAINT)
        err = SRV_CONFLICT;
    else if (rc != SQLITE_DONE)
        err = fail(s, what);
    sqlite3_reset(st);
    return err;
}

static int run(srv_store *st, enum stmt_id id)
{
    sqlite_store *s = S(st);
    return exec_done(s, q(s, id), stmt_sql[id]);
}

/* 1 if the database file at the path is no longer the one open (renamed
 * or deleted under the server): writes would go to a file nobody will
 * open again, so they are refused. */
static int db_moved(sqlite_store *s)
{
    int moved = 0;
    /* An in-memory database has no file and cannot move. */
    if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SQLITE_OK)
        return 0;
    return moved != 0;
}

static int b_batch_begin(srv_store *st)
{
    sqlite_store *s = S(st);
    if (db_moved(s)) {
        srv_log(SRV_LOG_ERROR, "database %s was moved or deleted: refusing writes", s->path);
        return SRV_STORE_ERR;
    }
    return run(st, Q_BEGIN);
}

static int b_batch_commit(srv_store *st)
{
    int err = run(st, Q_COMMIT);
    S(st)->commit_failed = err != SRV_OK;
    return err;
}

static int b_health(srv_store *st, const char **why)
{
    sqlite_store *s = S(st);
    if (db_moved(s)) {
        *why = "database file moved or deleted";
        return SRV_STORE_ERR;
    }
    if (s->commit_failed) {
        *why = "the last database commit failed";
        return SRV_STORE_ERR;
    }
    return SRV_OK;
}

static int b_checkpoint(srv_store *st)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_CHECKPOINT);
    int rc;
    while ((rc = sqlite3_step(q1)) == SQLITE_ROW)
        ;
    sqlite3_reset(q1);
    return rc == SQLITE_DONE ? SRV_OK : fail(s, "wal checkpoint");
}
static int b_batch_rollback(srv_store *st) { return run(st, Q_ROLLBACK); }
static int b_change_begin(srv_store *st) { return run(st, Q_SAVEPOINT); }

static int b_change_end(srv_store *st, int keep)
{
    int err = SRV_OK;
    if (!keep)
        err = run(st, Q_ROLLBACK_TO);
    int err2 = run(st, Q_RELEASE);
    return err ? err : err2;
}

static int bind_bytes(sqlite3_stmt *st, int i, mls_bytes b)
{
    /* A zero-length blob must still be a blob, not NULL. */
    static const uint8_t empty = 0;
    return sqlite3_bind_blob(st, i, b.n ? (const void *)b.p : (const void *)&empty, (int)b.n,
                             SQLITE_TRANSIENT);
}

static void copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, t, n);
    dst[n] = 0;
}

static size_t copy_blob(uint8_t *dst, size_t cap, sqlite3_stmt *st, int col)
{
    const void *p = sqlite3_column_blob(st, col);
    size_t n = p ? (size_t)sqlite3_column_bytes(st, col) : 0;
    if (n > cap)
        n = cap;
    if (n)
        memcpy(dst, p, n);
    return n;
}

static mls_bytes col_bytes(sqlite3_stmt *st, int col)
{
    const uint8_t *p = sqlite3_column_blob(st, col);
    return mls_bytes_of(p, p ? (size_t)sqlite3_column_bytes(st, col) : 0);
}

/* ------------------------------------------------------------ users */

static int b_user_create(srv_store *st, const char *name, uint16_t suite, mls_bytes key,
                         int64_t now, int64_t *id)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_USER_INSERT);
    sqlite3_bind_text(q1, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(q1, 2, suite);
    bind_bytes(q1, 3, key);
    sqlite3_bind_int64(q1, 4, now);
    int err = exec_done(s, q1, "user insert");
    if (!err)
        *id = sqlite3_last_insert_rowid(s->db);
    return err;
}

static int user_row(sqlite_store *s, sqlite3_stmt *st, srv_user *out, const char *what)
{
    int rc = sqlite3_step(st);
    int err = SRV_OK;
    if (rc == SQLITE_ROW) {
        out->id = sqlite3_column_int64(st, 0);
        copy_text(out->name, sizeof out->name, st, 1);
        out->suite = (uint16_t)sqlite3_column_int(st, 2);
        out->key_len = copy_blob(out->key, sizeof out->key, st, 3);
    } else if (rc == SQLITE_DONE) {
        err = SRV_NOT_FOUND;
    } else {
        err = fail(s, what);
    }
    sqlite3_reset(st);
    return err;
}

static int b_user_by_name(srv_store *st, const char *name, srv_user *out)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_USER_BY_NAME);
    sqlite3_bind_text(q1, 1, name, -1, SQLITE_TRANSIENT);
    return user_row(s, q1, out, "user by name");
}

static int b_user_by_id(srv_store *st, int64_t id, srv_user *out)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_USER_BY_ID);
    sqlite3_bind_int64(q1, 1, id);
    return user_row(s, q1, out, "user by id");
}

static int b_user_by_key(srv_store *st, mls_bytes key, srv_user *out)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_USER_BY_KEY);
    bind_bytes(q1, 1, key);
    return user_row(s, q1, out, "user by key");
}

static int b_user_rename(srv_store *st, int64_t id, const char *name)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_USER_RENAME);
    sqlite3_bind_text(q1, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q1, 2, id);
    int err = exec_done(s, q1, "user rename");
    if (!err && sqlite3_changes(s->db) != 1)
        err = SRV_NOT_FOUND;
    return err;
}

static int b_rename_record(srv_store *st, int64_t id, const char *old_name, int64_t now)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_RENAME_INSERT);
    sqlite3_bind_int64(q1, 1, id);
    sqlite3_bind_text(q1, 2, old_name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q1, 3, now);
    return exec_done(s, q1, "rename record");
}

static int b_rename_known(srv_store *st, int64_t id, const char *old_name)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_RENAME_FIND);
    sqlite3_bind_int64(q1, 1, id);
    sqlite3_bind_text(q1, 2, old_name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(q1);
    int err = rc == SQLITE_ROW ? SRV_OK : rc == SQLITE_DONE ? SRV_NOT_FOUND : fail(s, "rename find");
    sqlite3_reset(q1);
    return err;
}

/* ------------------------------------------------------------ key packages */

static int b_kp_add(srv_store *st, int64_t user_id, mls_bytes kp, int last_resort,
                    uint64_t not_after, int64_t now)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_KP_INSERT);
    sqlite3_bind_int64(q1, 1, user_id);
    bind_bytes(q1, 2, kp);
    sqlite3_bind_int(q1, 3, last_resort ? 1 : 0);
    /* not_after beyond INT64_MAX is stored as INT64_MAX: "never". */
    sqlite3_bind_int64(q1, 4, not_after > INT64_MAX ? INT64_MAX : (int64_t)not_after);
    sqlite3_bind_int64(q1, 5, now);
    return exec_done(s, q1, "key package insert");
}

static int b_kp_drop_last_resort(srv_store *st, int64_t user_id)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_KP_DROP_LR);
    sqlite3_bind_int64(q1, 1, user_id);
    return exec_done(s, q1, "key package drop last resort");
}

static int count_query(sqlite_store *s, enum stmt_id id, int64_t user_id, int64_t now,
                       int64_t *out)
{
    sqlite3_stmt *q1 = q(s, id);
    sqlite3_bind_int64(q1, 1, user_id);
    sqlite3_bind_int64(q1, 2, now);
    int err = SRV_OK;
    if (sqlite3_step(q1) == SQLITE_ROW)
        *out = sqlite3_column_int64(q1, 0);
    else
        err = fail(s, "key package count");
    sqlite3_reset(q1);
    return err;
}

static int b_kp_count(srv_store *st, int64_t user_id, int64_t now, int64_t *count,
                      int *has_last_resort)
{
    sqlite_store *s = S(st);
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

/* One row (id, data) of a KeyPackage select into out; SRV_NOT_FOUND if none. */
static int kp_pick(sqlite_store *s, enum stmt_id id, int64_t user_id, int64_t now,
                   int64_t *row, mls_buf *out)
{
    sqlite3_stmt *q1 = q(s, id);
    sqlite3_bind_int64(q1, 1, user_id);
    sqlite3_bind_int64(q1, 2, now);
    int rc = sqlite3_step(q1);
    int err = SRV_OK;
    if (rc == SQLITE_ROW) {
        *row = sqlite3_column_int64(q1, 0);
        mls_bytes b = col_bytes(q1, 1);
        if (mls_buf_set(out, b.p, b.n))
            err = SRV_STORE_ERR;
    } else if (rc == SQLITE_DONE) {
        err = SRV_NOT_FOUND;
    } else {
        err = fail(s, "key package select");
    }
    sqlite3_reset(q1);
    return err;
}

static int b_kp_claim(srv_store *st, int64_t user_id, int64_t now, mls_buf *out,
                      int *last_resort)
{
    sqlite_store *s = S(st);
    int64_t row = 0;
    int err = kp_pick(s, Q_KP_OLDEST, user_id, now, &row, out);
    if (!err) {
        sqlite3_stmt *d = q(s, Q_KP_DELETE);
        sqlite3_bind_int64(d, 1, row);
        err = exec_done(s, d, "key package delete");
        if (!err)
            *last_resort = 0;
        return err;
    }
    if (err != SRV_NOT_FOUND)
        return err;
    err = kp_pick(s, Q_KP_LR, user_id, now, &row, out);
    if (!err)
        *last_resort = 1;
    return err;
}

static int b_kp_delete_user(srv_store *st, int64_t user_id)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_KP_DELETE_USER);
    sqlite3_bind_int64(q1, 1, user_id);
    return exec_done(s, q1, "key package delete user");
}

/* ------------------------------------------------------------ groups */

static int b_group_create(srv_store *st, const char *name, mls_bytes gid, uint64_t epoch,
                          int64_t admin_id, int64_t now, int64_t *ref)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_GROUP_INSERT);
    sqlite3_bind_text(q1, 1, name, -1, SQLITE_TRANSIENT);
    bind_bytes(q1, 2, gid);
    sqlite3_bind_int64(q1, 3, (int64_t)epoch);
    sqlite3_bind_int64(q1, 4, admin_id);
    sqlite3_bind_int64(q1, 5, now);
    int err = exec_done(s, q1, "group insert");
    if (!err)
        *ref = sqlite3_last_insert_rowid(s->db);
    return err;
}

static void group_cols(sqlite3_stmt *st, srv_group *g)
{
    g->ref = sqlite3_column_int64(st, 0);
    copy_text(g->name, sizeof g->name, st, 1);
    g->gid_len = copy_blob(g->gid, sizeof g->gid, st, 2);
    g->epoch = (uint64_t)sqlite3_column_int64(st, 3);
    g->last_seq = (uint64_t)sqlite3_column_int64(st, 4);
    g->admin_id = sqlite3_column_int64(st, 5);
}

static int group_row(sqlite_store *s, sqlite3_stmt *st, srv_group *out)
{
    int rc = sqlite3_step(st);
    int err = SRV_OK;
    if (rc == SQLITE_ROW)
        group_cols(st, out);
    else if (rc == SQLITE_DONE)
        err = SRV_NOT_FOUND;
    else
        err = fail(s, "group select");
    sqlite3_reset(st);
    return err;
}

static int b_group_by_name(srv_store *st, const char *name, srv_group *out)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_GROUP_BY_NAME);
    sqlite3_bind_text(q1, 1, name, -1, SQLITE_TRANSIENT);
    return group_row(s, q1, out);
}

static int b_group_by_gid(srv_store *st, mls_bytes gid, srv_group *out)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_GROUP_BY_GID);
    bind_bytes(q1, 1, gid);
    return group_row(s, q1, out);
}

static int b_group_advance_epoch(srv_store *st, int64_t ref, uint64_t expected)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_GROUP_ADVANCE);
    sqlite3_bind_int64(q1, 1, ref);
    sqlite3_bind_int64(q1, 2, (int64_t)expected);
    int err = exec_done(s, q1, "group advance epoch");
    if (!err && sqlite3_changes(s->db) != 1)
        err = SRV_CONFLICT;
    return err;
}

static int b_group_set_info(srv_store *st, int64_t ref, mls_bytes gi)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_GROUP_SET_INFO);
    if (gi.n)
        bind_bytes(q1, 1, gi);
    else
        sqlite3_bind_null(q1, 1);
    sqlite3_bind_int64(q1, 2, ref);
    return exec_done(s, q1, "group set info");
}

/* A group's BLOB column read by statement id (NULL: SRV_NOT_FOUND). */
static int group_blob(srv_store *st, int id, int64_t ref, mls_buf *out, const char *what)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, id);
    sqlite3_bind_int64(q1, 1, ref);
    int rc = sqlite3_step(q1);
    int err = SRV_OK;
    if (rc == SQLITE_ROW && sqlite3_column_type(q1, 0) == SQLITE_BLOB) {
        mls_bytes b = col_bytes(q1, 0);
        if (mls_buf_set(out, b.p, b.n))
            err = SRV_STORE_ERR;
    } else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        err = SRV_NOT_FOUND;
    } else {
        err = fail(s, what);
    }
    sqlite3_reset(q1);
    return err;
}

static int b_group_get_info(srv_store *st, int64_t ref, mls_buf *out)
{
    return group_blob(st, Q_GROUP_GET_INFO, ref, out, "group get info");
}

static int b_group_get_view(srv_store *st, int64_t ref, mls_buf *out)
{
    return group_blob(st, Q_GROUP_GET_VIEW, ref, out, "group get view");
}

static int b_group_set_view(srv_store *st, int64_t ref, mls_bytes view)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_GROUP_SET_VIEW);
    bind_bytes(q1, 1, view);
    sqlite3_bind_int64(q1, 2, ref);
    return exec_done(s, q1, "group set view");
}

static void member_cols(sqlite3_stmt *st, srv_member *m)
{
    m->user_id = sqlite3_column_int64(st, 0);
    copy_text(m->username, sizeof m->username, st, 1);
    m->role = sqlite3_column_int(st, 2) == SRV_ROLE_ADMIN ? SRV_ROLE_ADMIN : SRV_ROLE_MEMBER;
    m->joined_seq = (uint64_t)sqlite3_column_int64(st, 3);
    m->left = sqlite3_column_type(st, 4) != SQLITE_NULL;
    m->left_seq = m->left ? (uint64_t)sqlite3_column_int64(st, 4) : 0;
}

static int b_groups_of_user(srv_store *st, int64_t user_id, srv_group_cb cb, void *ctx)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_GROUPS_OF_USER);
    sqlite3_bind_int64(q1, 1, user_id);
    int rc, err = SRV_OK;
    while ((rc = sqlite3_step(q1)) == SQLITE_ROW) {
        srv_group g;
        srv_member m;
        memset(&m, 0, sizeof m);
        group_cols(q1, &g);
        m.user_id = user_id;
        m.role = sqlite3_column_int(q1, 6) == SRV_ROLE_ADMIN ? SRV_ROLE_ADMIN : SRV_ROLE_MEMBER;
        m.joined_seq = (uint64_t)sqlite3_column_int64(q1, 7);
        if ((err = cb(ctx, &g, &m)) != 0)
            break;
    }
    if (!err && rc != SQLITE_DONE)
        err = fail(s, "groups of user");
    sqlite3_reset(q1);
    return err;
}

static int b_member_get(srv_store *st, int64_t ref, int64_t user_id, srv_member *out)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_MEMBER_GET);
    sqlite3_bind_int64(q1, 1, ref);
    sqlite3_bind_int64(q1, 2, user_id);
    int rc = sqlite3_step(q1);
    int err = SRV_OK;
    if (rc == SQLITE_ROW)
        member_cols(q1, out);
    else if (rc == SQLITE_DONE)
        err = SRV_NOT_FOUND;
    else
        err = fail(s, "member get");
    sqlite3_reset(q1);
    return err;
}

static int b_member_list(srv_store *st, int64_t ref, srv_member_cb cb, void *ctx)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_MEMBER_LIST);
    sqlite3_bind_int64(q1, 1, ref);
    int rc, err = SRV_OK;
    while ((rc = sqlite3_step(q1)) == SQLITE_ROW) {
        srv_member m;
        member_cols(q1, &m);
        if ((err = cb(ctx, &m)) != 0)
            break;
    }
    if (!err && rc != SQLITE_DONE)
        err = fail(s, "member list");
    sqlite3_reset(q1);
    return err;
}

static int b_member_add(srv_store *st, int64_t ref, int64_t user_id, enum srv_role role,
                        uint64_t joined_seq)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_MEMBER_ADD);
    sqlite3_bind_int64(q1, 1, ref);
    sqlite3_bind_int64(q1, 2, user_id);
    sqlite3_bind_int(q1, 3, (int)role);
    sqlite3_bind_int64(q1, 4, (int64_t)joined_seq);
    return exec_done(s, q1, "member add");
}

static int b_member_remove(srv_store *st, int64_t ref, int64_t user_id, uint64_t left_seq)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_MEMBER_REMOVE);
    sqlite3_bind_int64(q1, 1, (int64_t)left_seq);
    sqlite3_bind_int64(q1, 2, ref);
    sqlite3_bind_int64(q1, 3, user_id);
    int err = exec_done(s, q1, "member remove");
    if (!err && sqlite3_changes(s->db) != 1)
        err = SRV_NOT_FOUND;
    return err;
}

/* ------------------------------------------------------------ log */

static int b_log_append(srv_store *st, int64_t ref, uint64_t epoch, enum srv_kind kind,
                        int64_t sender_id, mls_bytes data, const char *meta, mls_bytes msg_id,
                        int64_t now, uint64_t *seq)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *b = q(s, Q_LOG_BUMP);
    sqlite3_bind_int64(b, 1, ref);
    int rc = sqlite3_step(b);
    int64_t next = rc == SQLITE_ROW ? sqlite3_column_int64(b, 0) : -1;
    sqlite3_reset(b);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? SRV_NOT_FOUND : fail(s, "log bump");
    sqlite3_stmt *q1 = q(s, Q_LOG_INSERT);
    sqlite3_bind_int64(q1, 1, ref);
    sqlite3_bind_int64(q1, 2, next);
    sqlite3_bind_int64(q1, 3, (int64_t)epoch);
    sqlite3_bind_int(q1, 4, (int)kind);
    sqlite3_bind_int64(q1, 5, sender_id);
    bind_bytes(q1, 6, data);
    if (meta)
        sqlite3_bind_text(q1, 7, meta, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(q1, 7);
    sqlite3_bind_int64(q1, 8, now);
    if (msg_id.n)
        bind_bytes(q1, 9, msg_id);
    else
        sqlite3_bind_null(q1, 9);
    int err = exec_done(s, q1, "log insert");
    if (!err)
        *seq = (uint64_t)next;
    return err;
}

/* One (seq, epoch, kind) row into out; SRV_NOT_FOUND if none. */
static int log_ref_row(sqlite_store *s, sqlite3_stmt *st, srv_log_ref *out)
{
    int rc = sqlite3_step(st);
    int err = SRV_OK;
    if (rc == SQLITE_ROW) {
        out->seq = (uint64_t)sqlite3_column_int64(st, 0);
        out->epoch = (uint64_t)sqlite3_column_int64(st, 1);
        out->kind = (enum srv_kind)sqlite3_column_int(st, 2);
    } else if (rc == SQLITE_DONE) {
        err = SRV_NOT_FOUND;
    } else {
        err = fail(s, "log lookup");
    }
    sqlite3_reset(st);
    return err;
}

static int b_log_find_msg_id(srv_store *st, int64_t ref, int64_t sender_id, mls_bytes msg_id,
                             srv_log_ref *out)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_LOG_BY_MSG_ID);
    sqlite3_bind_int64(q1, 1, ref);
    sqlite3_bind_int64(q1, 2, sender_id);
    bind_bytes(q1, 3, msg_id);
    return log_ref_row(s, q1, out);
}

static int b_log_find_commit(srv_store *st, int64_t ref, uint64_t epoch, int64_t sender_id,
                             mls_bytes data, srv_log_ref *out)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_LOG_SAME_COMMIT);
    sqlite3_bind_int64(q1, 1, ref);
    sqlite3_bind_int64(q1, 2, (int64_t)epoch);
    sqlite3_bind_int64(q1, 3, sender_id);
    bind_bytes(q1, 4, data);
    return log_ref_row(s, q1, out);
}

static int b_log_fetch(srv_store *st, int64_t ref, uint64_t after, uint64_t upto, int limit,
                       srv_log_cb cb, void *ctx)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_LOG_FETCH);
    sqlite3_bind_int64(q1, 1, ref);
    sqlite3_bind_int64(q1, 2, (int64_t)after);
    sqlite3_bind_int64(q1, 3, upto > INT64_MAX ? INT64_MAX : (int64_t)upto);
    sqlite3_bind_int(q1, 4, limit);
    int rc, err = SRV_OK;
    while ((rc = sqlite3_step(q1)) == SQLITE_ROW) {
        srv_log_entry e;
        e.seq = (uint64_t)sqlite3_column_int64(q1, 0);
        e.epoch = (uint64_t)sqlite3_column_int64(q1, 1);
        e.kind = (enum srv_kind)sqlite3_column_int(q1, 2);
        e.sender_id = sqlite3_column_int64(q1, 3);
        e.sender = (const char *)sqlite3_column_text(q1, 4);
        e.time = sqlite3_column_int64(q1, 5);
        e.data = col_bytes(q1, 6);
        e.meta = (const char *)sqlite3_column_text(q1, 7);
        if ((err = cb(ctx, &e)) != 0)
            break;
    }
    if (err == SRV_STOP)
        err = SRV_OK;
    else if (!err && rc != SQLITE_DONE)
        err = fail(s, "log fetch");
    sqlite3_reset(q1);
    return err;
}

static int b_log_first_seq(srv_store *st, int64_t ref, uint64_t *first)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_LOG_FIRST);
    sqlite3_bind_int64(q1, 1, ref);
    int err = SRV_OK;
    if (sqlite3_step(q1) == SQLITE_ROW && sqlite3_column_type(q1, 0) != SQLITE_NULL)
        *first = (uint64_t)sqlite3_column_int64(q1, 0);
    else
        err = SRV_NOT_FOUND;
    sqlite3_reset(q1);
    return err;
}

/* ------------------------------------------------------------ inbox */

static int b_welcome_add(srv_store *st, mls_bytes welcome, mls_bytes gi, int64_t now,
                         int64_t *welcome_id)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_WELCOME_INSERT);
    bind_bytes(q1, 1, welcome);
    if (gi.n)
        bind_bytes(q1, 2, gi);
    else
        sqlite3_bind_null(q1, 2);
    sqlite3_bind_int64(q1, 3, (int64_t)(welcome.n + gi.n));
    sqlite3_bind_int64(q1, 4, now);
    int err = exec_done(s, q1, "welcome insert");
    if (!err)
        *welcome_id = sqlite3_last_insert_rowid(s->db);
    return err;
}

static int b_inbox_add(srv_store *st, int64_t user_id, int64_t ref, uint64_t seq, uint64_t epoch,
                       int64_t sender_id, int64_t welcome_id, int64_t now, int64_t *id)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_INBOX_INSERT);
    sqlite3_bind_int64(q1, 1, user_id);
    sqlite3_bind_int64(q1, 2, ref);
    sqlite3_bind_int64(q1, 3, (int64_t)seq);
    sqlite3_bind_int64(q1, 4, (int64_t)epoch);
    sqlite3_bind_int64(q1, 5, sender_id);
    sqlite3_bind_int64(q1, 6, welcome_id);
    sqlite3_bind_int64(q1, 7, now);
    int err = exec_done(s, q1, "inbox insert");
    if (!err)
        *id = sqlite3_last_insert_rowid(s->db);
    return err;
}

static int b_inbox_stats(srv_store *st, int64_t user_id, srv_inbox_stats *out)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_INBOX_STATS);
    sqlite3_bind_int64(q1, 1, user_id);
    int err = SRV_OK;
    if (sqlite3_step(q1) == SQLITE_ROW) {
        out->entries = sqlite3_column_int64(q1, 0);
        out->bytes = sqlite3_column_int64(q1, 1);
    } else {
        err = fail(s, "inbox stats");
    }
    sqlite3_reset(q1);
    return err;
}

static int b_inbox_list(srv_store *st, int64_t user_id, int64_t after, int limit,
                        srv_inbox_cb cb, void *ctx)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_INBOX_LIST);
    sqlite3_bind_int64(q1, 1, user_id);
    sqlite3_bind_int64(q1, 2, after);
    sqlite3_bind_int(q1, 3, limit);
    int rc, err = SRV_OK;
    while ((rc = sqlite3_step(q1)) == SQLITE_ROW) {
        srv_group g;
        srv_inbox_entry e;
        e.id = sqlite3_column_int64(q1, 0);
        e.seq = (uint64_t)sqlite3_column_int64(q1, 1);
        e.epoch = (uint64_t)sqlite3_column_int64(q1, 2);
        e.sender_id = sqlite3_column_int64(q1, 3);
        e.sender = (const char *)sqlite3_column_text(q1, 4);
        e.time = sqlite3_column_int64(q1, 5);
        e.welcome = col_bytes(q1, 6);
        e.group_info = col_bytes(q1, 7);
        g.ref = sqlite3_column_int64(q1, 8);
        copy_text(g.name, sizeof g.name, q1, 9);
        g.gid_len = copy_blob(g.gid, sizeof g.gid, q1, 10);
        g.epoch = (uint64_t)sqlite3_column_int64(q1, 11);
        g.last_seq = (uint64_t)sqlite3_column_int64(q1, 12);
        g.admin_id = sqlite3_column_int64(q1, 13);
        e.group = &g;
        if ((err = cb(ctx, &e)) != 0)
            break;
    }
    if (err == SRV_STOP)
        err = SRV_OK;
    else if (!err && rc != SQLITE_DONE)
        err = fail(s, "inbox list");
    sqlite3_reset(q1);
    return err;
}

static int b_inbox_ack(srv_store *st, int64_t user_id, int64_t id, int *deleted)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_INBOX_DELETE);
    sqlite3_bind_int64(q1, 1, id);
    sqlite3_bind_int64(q1, 2, user_id);
    int rc = sqlite3_step(q1);
    int64_t welcome_id = rc == SQLITE_ROW ? sqlite3_column_int64(q1, 0) : 0;
    if (rc == SQLITE_ROW)
        rc = sqlite3_step(q1);
    sqlite3_reset(q1);
    if (rc != SQLITE_DONE)
        return fail(s, "inbox delete");
    /* The last recipient to ack takes the shared Welcome with it. */
    if (welcome_id) {
        sqlite3_stmt *q2 = q(s, Q_WELCOME_GC);
        sqlite3_bind_int64(q2, 1, welcome_id);
        int err = exec_done(s, q2, "welcome gc");
        if (err)
            return err;
    }
    *deleted = welcome_id != 0;
    return SRV_OK;
}

/* ------------------------------------------------------------ maintenance */

static int purge_one(sqlite_store *s, enum stmt_id id, int64_t before, int64_t *count)
{
    sqlite3_stmt *q1 = q(s, id);
    sqlite3_bind_int64(q1, 1, before);
    int err = exec_done(s, q1, stmt_sql[id]);
    if (!err)
        *count += sqlite3_changes(s->db);
    return err;
}

static int b_purge(srv_store *st, int64_t log_before, int64_t kp_before, int64_t inbox_before,
                   int64_t now, srv_purge_counts *counts)
{
    sqlite_store *s = S(st);
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
        err = exec_done(s, q(s, Q_PURGE_WELCOMES), "purge welcomes");
    if (!err)
        *counts = c;
    return err;
}

static int64_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

static int64_t b_size_bytes(srv_store *st, int64_t *wal_bytes)
{
    sqlite_store *s = S(st);
    size_t n = strlen(s->path);
    char *wal = malloc(n + 5);
    if (!wal)
        return -1;
    memcpy(wal, s->path, n);
    memcpy(wal + n, "-wal", 5);
    int64_t w = file_size(wal);
    free(wal);
    if (wal_bytes)
        *wal_bytes = w;
    return file_size(s->path) + w;
}

static void b_close(srv_store *st)
{
    sqlite_store *s = S(st);
    if (!s)
        return;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    if (s->db)
        sqlite3_close(s->db);
    free(s->path);
    free(s);
}

/* ------------------------------------------------------------ pending invitations */

static int b_pending_add(srv_store *st, int64_t ref, const char *username, int64_t inviter_id,
                         int64_t now)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_PENDING_INSERT);
    sqlite3_bind_int64(q1, 1, ref);
    sqlite3_bind_text(q1, 2, username, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q1, 3, inviter_id);
    sqlite3_bind_int64(q1, 4, now);
    return exec_done(s, q1, "pending add");
}

static int b_pending_count(srv_store *st, int64_t ref, int64_t *count)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_PENDING_COUNT);
    sqlite3_bind_int64(q1, 1, ref);
    int err = SRV_OK;
    if (sqlite3_step(q1) == SQLITE_ROW)
        *count = sqlite3_column_int64(q1, 0);
    else
        err = fail(s, "pending count");
    sqlite3_reset(q1);
    return err;
}

static int b_pending_delete(srv_store *st, int64_t ref, const char *username)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_PENDING_DELETE);
    sqlite3_bind_int64(q1, 1, ref);
    sqlite3_bind_text(q1, 2, username, -1, SQLITE_TRANSIENT);
    return exec_done(s, q1, "pending delete");
}

static int pending_rows(sqlite_store *s, sqlite3_stmt *q1, srv_pending_cb cb, void *ctx)
{
    int rc, err = SRV_OK;
    while ((rc = sqlite3_step(q1)) == SQLITE_ROW) {
        srv_pending p;
        memset(&p, 0, sizeof p);
        p.group_ref = sqlite3_column_int64(q1, 0);
        copy_text(p.group, sizeof p.group, q1, 1);
        copy_text(p.username, sizeof p.username, q1, 2);
        copy_text(p.inviter, sizeof p.inviter, q1, 3);
        p.time = sqlite3_column_int64(q1, 4);
        if ((err = cb(ctx, &p)) != 0)
            break;
    }
    if (err == SRV_STOP)
        err = SRV_OK;
    else if (!err && rc != SQLITE_DONE)
        err = fail(s, "pending list");
    sqlite3_reset(q1);
    return err;
}

static int b_pending_for_admin(srv_store *st, int64_t admin_id, srv_pending_cb cb, void *ctx)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_PENDING_FOR_ADMIN);
    sqlite3_bind_int64(q1, 1, admin_id);
    return pending_rows(s, q1, cb, ctx);
}

static int b_pending_for_user(srv_store *st, const char *username, srv_pending_cb cb, void *ctx)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_PENDING_FOR_USER);
    sqlite3_bind_text(q1, 1, username, -1, SQLITE_TRANSIENT);
    return pending_rows(s, q1, cb, ctx);
}

static const struct srv_store_ops sqlite_ops = {
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
    .pending_add = b_pending_add,
    .pending_count = b_pending_count,
    .pending_delete = b_pending_delete,
    .pending_for_admin = b_pending_for_admin,
    .pending_for_user = b_pending_for_user,
};

static int exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        srv_log(SRV_LOG_ERROR, "sqlite: %s", msg ? msg : "error");
        sqlite3_free(msg);
        return SRV_STORE_ERR;
    }
    return SRV_OK;
}

/* Schema version lives in PRAGMA user_version; each migration runs in one
 * transaction together with its version bump. */
static int migrate(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int version = 0, err = SRV_OK;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        err = SRV_STORE_ERR;
        goto out;
    }
    version = sqlite3_column_int(st, 0);
    /* A statement left running would lock the tables a migration drops. */
    sqlite3_reset(st);
    if (version > (int)N_MIGRATIONS) {
        srv_log(SRV_LOG_ERROR, "database schema version %d is newer than this server (%d)",
                version, (int)N_MIGRATIONS);
        err = SRV_STORE_ERR;
        goto out;
    }
    for (int v = version; v < (int)N_MIGRATIONS && !err; v++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
        err = exec_sql(db, "BEGIN IMMEDIATE");
        if (!err)
            err = exec_sql(db, migrations[v]);
        if (!err)
            err = exec_sql(db, bump);
        if (!err)
            err = exec_sql(db, "COMMIT");
        else
            exec_sql(db, "ROLLBACK");
        if (!err)
            srv_log(SRV_LOG_INFO, "database schema migrated to version %d", v + 1);
    }
out:
    sqlite3_finalize(st);
    return err;
}

int srv_store_sqlite_open(const char *path, srv_store **out)
{
    sqlite_store *s = calloc(1, sizeof *s);
    int err = SRV_STORE_ERR;
    if (!s)
        return SRV_STORE_ERR;
    s->base.ops = &sqlite_ops;
    s->path = strdup(path);
    if (!s->path)
        goto out;
    /* The database holds who talks to whom: created mode 0600.  SQLite
     * gives the WAL and shared-memory files the database's mode. */
    mode_t old_mask = umask(077);
    int orc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    umask(old_mask);
    if (orc != SQLITE_OK) {
        srv_log(SRV_LOG_ERROR, "cannot open database %s: %s", path,
                s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(s->db, 5000);
    /* WAL + synchronous=FULL: the WAL is fsynced at every COMMIT, so an
     * acknowledged transaction survives power loss, not only kill -9.
     * Throughput comes from batching a whole event-loop turn into one
     * COMMIT instead of weakening this. */
    /* journal_size_limit: a WAL grown by a burst is truncated back after
     * each checkpoint instead of keeping its high-water size. */
    char limit[64];
    snprintf(limit, sizeof limit, "PRAGMA journal_size_limit=%d", SRV_WAL_LIMIT);
    old_mask = umask(077);
    int perr = exec_sql(s->db, "PRAGMA journal_mode=WAL") ||
               exec_sql(s->db, "PRAGMA synchronous=FULL") ||
               exec_sql(s->db, "PRAGMA foreign_keys=ON") || exec_sql(s->db, limit) ||
               migrate(s->db);
    umask(old_mask);
    if (perr)
        goto out;
    for (int i = 0; i < Q_COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i],
                               NULL) != SQLITE_OK) {
            srv_log(SRV_LOG_ERROR, "sqlite prepare %s: %s", stmt_sql[i], sqlite3_errmsg(s->db));
            goto out;
        }
    }
    err = SRV_OK;
out:
    if (err)
        b_close(&s->base);
    else
        *out = &s->base;
    return err;
}
