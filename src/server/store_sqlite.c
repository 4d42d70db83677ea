/*
 * The store interface on SQLite: WAL mode, a versioned schema with
 * migrations, prepared statements only, prepared once and reset after
 * each use.  This file opens and migrates the database and holds the
 * statements, the transactions and the ops table; the operations
 * themselves are in store_sqlite_data.c.
 *
 * Durability: a COMMIT is split in two.  The COMMIT itself runs with
 * synchronous=NORMAL: it appends the batch's frames to the WAL (gathered
 * into a few writes by wal_vfs.c), atomic and visible to the next batch,
 * but not yet synced.  b_sync, run by the
 * database thread (dbthread.c) while the event loop goes on with the next
 * batch, fdatasyncs the WAL: every batch committed before it started is
 * then on disk.  Nothing is acknowledged before its sync returned
 * (batch.c), so an acknowledged message survives kill -9 and power loss
 * as with synchronous=FULL; what changes is that the loop no longer waits
 * for the disk.  SQLite's own checkpoints are off (wal_autocheckpoint=0):
 * every SYNC_CHECKPOINT_FRAMES frames b_sync runs one, PASSIVE, on a
 * connection of its own while the loop begins no batch (batch.c), so
 * that its fsyncs of the WAL and the database stay off the loop and the
 * WAL starts over from its beginning afterwards.
 */
#include "store_sqlite_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wal_vfs.h"

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

#define GROUP_COLS "id, name, group_id, epoch, last_seq, admin_id"

const char *const sqs_stmt_sql[Q_COUNT] = {
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
    [Q_RENAME_RESERVED] = "SELECT user_id FROM renames WHERE old_name = ? AND created >= ?"
                          " ORDER BY created DESC LIMIT 1",
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
    /* Not UPDATE ... RETURNING: SQLite buffers RETURNING rows in an
     * ephemeral table, a pager of its own opened and closed (with a
     * 64 KiB+ page cache) on every message. */
    [Q_LOG_BUMP] = "UPDATE groups SET last_seq = last_seq + 1 WHERE id = ?",
    [Q_LOG_LAST_SEQ] = "SELECT last_seq FROM groups WHERE id = ?",
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

static int run(srv_store *st, enum stmt_id id)
{
    sqlite_store *s = S(st);
    return exec_done(s, q(s, id), sqs_stmt_sql[id]);
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
    if (atomic_load(&s->sync_failed))
        return SRV_STORE_ERR;
    if (db_moved(s)) {
        srv_log(SRV_LOG_ERROR, "database %s was moved or deleted: refusing writes", s->path);
        return SRV_STORE_ERR;
    }
    int err = run(st, Q_BEGIN);
    if (!err) {
        s->batch_broken = 0;
        srv_cache_batch_begin(s->cache);
    }
    return err;
}

static int b_batch_commit(srv_store *st)
{
    sqlite_store *s = S(st);
    /* A change that could not be undone alone (sqs_savepoint) takes the
     * batch with it: the caller rolls back. */
    int err = s->batch_broken ? SRV_STORE_ERR : run(st, Q_COMMIT);
    s->commit_failed = err != SRV_OK;
    srv_cache_batch_end(s->cache, err == SRV_OK);
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
    if (atomic_load(&s->sync_failed)) {
        *why = "syncing the WAL to disk failed (restart the server)";
        return SRV_STORE_ERR;
    }
    return SRV_OK;
}

static int exec_sql(sqlite3 *db, const char *sql);

/* WAL frames past which b_sync checkpoints: about 16 MiB of WAL with 4 KiB
 * pages.  SQLite's default for its automatic checkpoints is 1,000; a
 * checkpoint holds the loop (it begins no batch) for its copy and the
 * database file's fsync, and with 4,000 they come a quarter as often,
 * each copying a page rewritten by many batches once: 64 senders ingest
 * a quarter to a third more (BENCHMARKS.md, sixth round), for a p99
 * acknowledgement latency of about 15 ms instead of 11.  The benchmark's
 * raw SQLite floor uses the same interval (bench/sqlite_floor.c). */
#define SYNC_CHECKPOINT_FRAMES 4000

static int wal_hook(void *ctx, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    sqlite_store *s = ctx;
    atomic_store(&s->wal_frames, frames);
    atomic_fetch_add(&s->wal_commits, 1);
    return SQLITE_OK;
}

/* The WAL's descriptor, opened on first use, and the directory synced
 * once: the WAL's own directory entry must be on disk too (SQLite with
 * synchronous=FULL does the same on the WAL's first sync). */
static int wal_open(sqlite_store *s, const char *wal)
{
    int fd = open(wal, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char *dir = strdup(wal);
    char *slash = dir ? strrchr(dir, '/') : NULL;
    int dfd = -1;
    if (dir) {
        if (slash)
            *(slash == dir ? slash + 1 : slash) = 0;
        dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    int bad = dfd < 0 || fsync(dfd) != 0;
    if (dfd >= 0)
        close(dfd);
    free(dir);
    if (bad) {
        close(fd);
        return -1;
    }
    s->wal_fd = fd;
    return 0;
}

static int b_checkpoint_due(srv_store *st)
{
    return atomic_load(&S(st)->wal_frames) >= SYNC_CHECKPOINT_FRAMES;
}

/* The database thread's half of a COMMIT: see the comment at the top.
 * Touches nothing the loop uses: the WAL descriptor, the checkpoint
 * connection and two atomics.  A failed fdatasync is final: the kernel
 * may have dropped the pages it could not write, and the batches after
 * them chain their WAL checksums on top, so no later write could be
 * acknowledged safely (as PostgreSQL, which stops on such an error).
 *
 * The checkpoint runs while the loop begins no batch (batch.c), so it
 * can copy every frame, and the loop's next transaction then starts the
 * WAL over from its beginning (SQLite does that only when the WAL was
 * wholly copied): the WAL stays near SYNC_CHECKPOINT_FRAMES pages and is
 * rewritten in place, never grown, which also keeps fdatasync from
 * having to journal a new file size. */
static int b_sync(srv_store *st, int checkpoint)
{
    sqlite_store *s = S(st);
    const char *wal = s->wal_path;
    if (!wal)
        return SRV_OK; /* in memory: nothing to sync */
    if (atomic_load(&s->sync_failed))
        return SRV_STORE_ERR;
    /* Batches that wrote nothing (logins, reads) have nothing to sync.
     * Read before the fdatasync: a COMMIT after it is in the next sync. */
    unsigned commits = atomic_load(&s->wal_commits);
    if (commits == s->synced_commits && !checkpoint)
        return SRV_OK;
    if ((s->wal_fd < 0 && wal_open(s, wal)) || fdatasync(s->wal_fd) != 0) {
        srv_log(SRV_LOG_ERROR, "sqlite: syncing %s: %s; refusing writes until restarted", wal,
                strerror(errno));
        atomic_store(&s->sync_failed, 1);
        return SRV_STORE_ERR;
    }
    s->synced_commits = commits;
    if (!checkpoint)
        return SRV_OK;
    /* A new connection sees the WAL once it has read the database: until
     * then a checkpoint does nothing and says so with -1. */
    if (!s->ckpt_db &&
        (sqlite3_open_v2(s->path, &s->ckpt_db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
         exec_sql(s->ckpt_db, "PRAGMA journal_mode=WAL"))) {
        srv_log(SRV_LOG_WARN, "sqlite: checkpoint connection: %s",
                s->ckpt_db ? sqlite3_errmsg(s->ckpt_db) : "out of memory");
        sqlite3_close(s->ckpt_db);
        s->ckpt_db = NULL;
        return SRV_OK;
    }
    /* PASSIVE: no busy wait; what it cannot copy now, the next one does.
     * Its own syncs (the WAL before copying, the database after) make the
     * copy durable before the WAL is reused. */
    int log = 0, done = 0;
    if (sqlite3_wal_checkpoint_v2(s->ckpt_db, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &done) ==
            SQLITE_OK &&
        log >= 0 && done == log)
        atomic_store(&s->wal_frames, 0);
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

static int b_batch_rollback(srv_store *st)
{
    sqlite_store *s = S(st);
    s->change_open = s->savepoint_taken = 0;
    srv_cache_batch_end(s->cache, 0);
    return run(st, Q_ROLLBACK);
}

int sqs_savepoint(sqlite_store *s)
{
    s->savepoint_taken = 1;
    int err = exec_done(s, s->stmt[Q_SAVEPOINT], "savepoint");
    if (err) {
        s->savepoint_taken = 0;
        s->batch_broken = 1;
    }
    return err;
}

/* The SAVEPOINT itself waits for the change's first write (q()). */
static int b_change_begin(srv_store *st)
{
    sqlite_store *s = S(st);
    s->change_open = 1;
    s->savepoint_taken = 0;
    srv_cache_change_begin(s->cache);
    return SRV_OK;
}

static int b_change_end(srv_store *st, int keep)
{
    sqlite_store *s = S(st);
    int err = SRV_OK, err2 = SRV_OK;
    s->change_open = 0;
    if (s->savepoint_taken) {
        if (!keep)
            err = run(st, Q_ROLLBACK_TO);
        err2 = run(st, Q_RELEASE);
        s->savepoint_taken = 0;
    }
    if (err || err2)
        keep = 0; /* what the cache holds of the change may be wrong */
    srv_cache_change_end(s->cache, keep);
    return err ? err : err2;
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
    if (s->ckpt_db)
        sqlite3_close(s->ckpt_db);
    if (s->wal_fd >= 0)
        close(s->wal_fd);
    if (s->db)
        sqlite3_close(s->db);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    srv_cache_free(s->cache);
    free(s->wal_path);
    free(s->path);
    free(s);
}

static const struct srv_store_ops sqlite_ops = {
    .close = b_close,
    .batch_begin = b_batch_begin,
    .batch_commit = b_batch_commit,
    .batch_rollback = b_batch_rollback,
    .sync = b_sync,
    .checkpoint_due = b_checkpoint_due,
    .change_begin = b_change_begin,
    .change_end = b_change_end,
    .user_create = sqs_user_create,
    .user_by_name = sqs_user_by_name,
    .user_by_id = sqs_user_by_id,
    .user_by_key = sqs_user_by_key,
    .user_rename = sqs_user_rename,
    .rename_record = sqs_rename_record,
    .rename_known = sqs_rename_known,
    .rename_reserved = sqs_rename_reserved,
    .kp_add = sqs_kp_add,
    .kp_drop_last_resort = sqs_kp_drop_last_resort,
    .kp_count = sqs_kp_count,
    .kp_claim = sqs_kp_claim,
    .kp_delete_user = sqs_kp_delete_user,
    .group_create = sqs_group_create,
    .group_by_name = sqs_group_by_name,
    .group_by_gid = sqs_group_by_gid,
    .group_advance_epoch = sqs_group_advance_epoch,
    .group_set_info = sqs_group_set_info,
    .group_get_info = sqs_group_get_info,
    .group_set_view = sqs_group_set_view,
    .group_get_view = sqs_group_get_view,
    .groups_of_user = sqs_groups_of_user,
    .member_get = sqs_member_get,
    .member_list = sqs_member_list,
    .member_add = sqs_member_add,
    .member_remove = sqs_member_remove,
    .log_append = sqs_log_append,
    .log_fetch = sqs_log_fetch,
    .log_first_seq = sqs_log_first_seq,
    .log_find_msg_id = sqs_log_find_msg_id,
    .log_find_commit = sqs_log_find_commit,
    .welcome_add = sqs_welcome_add,
    .inbox_add = sqs_inbox_add,
    .inbox_stats = sqs_inbox_stats,
    .inbox_list = sqs_inbox_list,
    .inbox_ack = sqs_inbox_ack,
    .purge = sqs_purge,
    .size_bytes = b_size_bytes,
    .health = b_health,
    .checkpoint = b_checkpoint,
    .pending_add = sqs_pending_add,
    .pending_count = sqs_pending_count,
    .pending_delete = sqs_pending_delete,
    .pending_for_admin = sqs_pending_for_admin,
    .pending_for_user = sqs_pending_for_user,
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

/* One server process per SQLite database: the store's cache
 * (store_cache.h) is right only while every write goes through this
 * process.  An flock on the database file itself (SQLite's own locks are
 * fcntl locks, which flock does not touch on Linux), held until close and
 * dropped by the kernel if the process dies; readers such as sqlite3(1)
 * are not affected. */
static int lock_file(sqlite_store *s, const char *path)
{
    if (strcmp(path, ":memory:") == 0)
        return 0;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        srv_log(SRV_LOG_ERROR, "cannot open database %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int busy = errno == EWOULDBLOCK;
        srv_log(SRV_LOG_ERROR,
                busy ? "database %s is in use by another server process (a SQLite database "
                       "serves one; several share a PostgreSQL database: docs/DEPLOYMENT.md)"
                     : "cannot lock database %s: %s",
                path, strerror(errno));
        close(fd);
        return -1;
    }
    s->lock_fd = fd;
    return 0;
}

int srv_store_sqlite_open(const char *path, srv_store **out)
{
    sqlite_store *s = calloc(1, sizeof *s);
    int err = SRV_STORE_ERR;
    if (!s)
        return SRV_STORE_ERR;
    s->base.ops = &sqlite_ops;
    s->wal_fd = -1;
    s->lock_fd = -1;
    s->path = strdup(path);
    s->cache = srv_cache_new();
    if (!s->path || !s->cache)
        goto out;
    /* The database holds who talks to whom: created mode 0600.  SQLite
     * gives the WAL and shared-memory files the database's mode. */
    mode_t old_mask = umask(077);
    int locked = lock_file(s, path) == 0;
    /* The loop's connection gathers each commit's WAL frames into one
     * write (wal_vfs.h). */
    int orc = !locked ? SQLITE_CANTOPEN : srv_wal_vfs_register();
    if (orc == SQLITE_OK)
        orc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                              SRV_WAL_VFS_NAME);
    umask(old_mask);
    if (!locked)
        goto out; /* lock_file said why */
    if (orc != SQLITE_OK) {
        srv_log(SRV_LOG_ERROR, "cannot open database %s: %s", path,
                s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(s->db, 5000);
    /* The migrations commit with synchronous=FULL; then NORMAL, with the
     * WAL synced by b_sync (see the top of this file), and checkpoints
     * left to b_sync too. */
    /* journal_size_limit: a WAL grown by a burst is truncated back after
     * each checkpoint instead of keeping its high-water size. */
    char limit[64];
    snprintf(limit, sizeof limit, "PRAGMA journal_size_limit=%d", SRV_WAL_LIMIT);
    old_mask = umask(077);
    int perr = exec_sql(s->db, "PRAGMA journal_mode=WAL") ||
               exec_sql(s->db, "PRAGMA synchronous=FULL") ||
               exec_sql(s->db, "PRAGMA foreign_keys=ON") || exec_sql(s->db, limit) ||
               migrate(s->db) || exec_sql(s->db, "PRAGMA synchronous=NORMAL") ||
               exec_sql(s->db, "PRAGMA wal_autocheckpoint=0");
    umask(old_mask);
    if (perr)
        goto out;
    const char *db_file = sqlite3_db_filename(s->db, "main");
    if (db_file && *db_file && !(s->wal_path = strdup(sqlite3_filename_wal(db_file))))
        goto out;
    sqlite3_wal_hook(s->db, wal_hook, s);
    for (int i = 0; i < Q_COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, sqs_stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i],
                               NULL) != SQLITE_OK) {
            srv_log(SRV_LOG_ERROR, "sqlite prepare %s: %s", sqs_stmt_sql[i], sqlite3_errmsg(s->db));
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
