/* What the SQLite store's files (store_sqlite.c: open, schema, statements,
 * transactions; store_sqlite_data.c: the operations) share; not for other
 * layers. */
#ifndef SRV_STORE_SQLITE_INT_H
#define SRV_STORE_SQLITE_INT_H

#include <sqlite3.h>
#include <stdatomic.h>

#include "log.h"
#include "store.h"
#include "store_cache.h"

enum stmt_id {
    Q_BEGIN, Q_COMMIT, Q_ROLLBACK, Q_SAVEPOINT, Q_RELEASE, Q_ROLLBACK_TO,
    Q_USER_INSERT, Q_USER_BY_NAME, Q_USER_BY_ID, Q_USER_BY_KEY, Q_USER_RENAME,
    Q_RENAME_INSERT, Q_RENAME_FIND, Q_RENAME_RESERVED,
    Q_KP_INSERT, Q_KP_DROP_LR, Q_KP_COUNT, Q_KP_HAS_LR, Q_KP_OLDEST, Q_KP_LR, Q_KP_DELETE,
    Q_KP_DELETE_USER,
    Q_GROUP_INSERT, Q_GROUP_BY_NAME, Q_GROUP_BY_GID, Q_GROUP_ADVANCE, Q_GROUP_SET_INFO,
    Q_GROUP_GET_INFO, Q_GROUP_SET_VIEW, Q_GROUP_GET_VIEW, Q_GROUPS_OF_USER,
    Q_MEMBER_GET, Q_MEMBER_LIST, Q_MEMBER_ADD, Q_MEMBER_REMOVE,
    Q_LOG_BUMP, Q_LOG_LAST_SEQ, Q_LOG_INSERT, Q_LOG_FETCH, Q_LOG_FIRST, Q_LOG_BY_MSG_ID, Q_LOG_SAME_COMMIT,
    Q_WELCOME_INSERT, Q_WELCOME_GC, Q_INBOX_INSERT, Q_INBOX_LIST, Q_INBOX_STATS, Q_INBOX_DELETE,
    Q_PURGE_LOG, Q_PURGE_KP_AGE, Q_PURGE_KP_EXPIRED, Q_PURGE_INBOX, Q_PURGE_WELCOMES,
    Q_CHECKPOINT,
    Q_PENDING_INSERT, Q_PENDING_COUNT, Q_PENDING_DELETE, Q_PENDING_FOR_ADMIN, Q_PENDING_FOR_USER,
    Q_COUNT
};

/* The SQL of each statement, prepared once at open. */
extern const char *const sqs_stmt_sql[Q_COUNT];

typedef struct sqlite_store {
    srv_store base;
    sqlite3 *db;
    char *path;
    int commit_failed; /* the last COMMIT failed (disk full, I/O error) */
    sqlite3_stmt *stmt[Q_COUNT];
    srv_cache *cache; /* store_cache.h */
    int lock_fd;      /* the database file, flock'ed: one process (lock_file) */
    /* A change's SAVEPOINT is taken before its first write (q()), so a
     * request that only reads runs no SAVEPOINT and no RELEASE. */
    int change_open, savepoint_taken;
    /* A SAVEPOINT failed: the change cannot be undone alone, so the
     * whole batch is rolled back instead of committed. */
    int batch_broken;
    /* The durability half of a COMMIT (store_sqlite.c b_sync), run by the
     * database thread: the WAL's descriptor, a connection of its own for
     * checkpoints, the WAL's frame count after the loop's last COMMIT. */
    char *wal_path; /* NULL for an in-memory database */
    int wal_fd;
    sqlite3 *ckpt_db;
    atomic_int wal_frames;
    atomic_uint wal_commits; /* COMMITs that wrote frames, counted by the hook */
    unsigned synced_commits; /* wal_commits as of the last fdatasync (thread's) */
    atomic_int sync_failed; /* an fdatasync of the WAL failed: no more writes */
} sqlite_store;

static inline sqlite_store *S(srv_store *st)
{
    return (sqlite_store *)st;
}

static inline int fail(sqlite_store *s, const char *what)
{
    srv_log(SRV_LOG_ERROR, "sqlite: %s: %s", what, sqlite3_errmsg(s->db));
    return SRV_STORE_ERR;
}

/* Returns the statement ready for binding. */
int sqs_savepoint(sqlite_store *s);

/* A prepared statement, reset and unbound.  Statements after the
 * transaction-control ones that write take the open change's SAVEPOINT
 * first. */
static inline sqlite3_stmt *q(sqlite_store *s, enum stmt_id id)
{
    sqlite3_stmt *st = s->stmt[id];
    if (s->change_open && !s->savepoint_taken && id > Q_ROLLBACK_TO && !sqlite3_stmt_readonly(st))
        sqs_savepoint(s);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

static inline int exec_done(sqlite_store *s, sqlite3_stmt *st, const char *what)
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

/* The operations (store_sqlite_data.c), gathered into the ops table in
 * store_sqlite.c. */
int sqs_user_create(srv_store *st, const char *name, uint16_t suite, mls_bytes key,
                    int64_t now, int64_t *id);
int sqs_user_by_name(srv_store *st, const char *name, srv_user *out);
int sqs_user_by_id(srv_store *st, int64_t id, srv_user *out);
int sqs_user_by_key(srv_store *st, mls_bytes key, srv_user *out);
int sqs_user_rename(srv_store *st, int64_t id, const char *name);
int sqs_rename_record(srv_store *st, int64_t id, const char *old_name, int64_t now);
int sqs_rename_known(srv_store *st, int64_t id, const char *old_name);
int sqs_rename_reserved(srv_store *st, const char *name, int64_t since, int64_t *user_id);
int sqs_kp_add(srv_store *st, int64_t user_id, mls_bytes kp, int last_resort,
               uint64_t not_after, int64_t now);
int sqs_kp_drop_last_resort(srv_store *st, int64_t user_id);
int sqs_kp_count(srv_store *st, int64_t user_id, int64_t now, int64_t *count,
                 int *has_last_resort);
int sqs_kp_claim(srv_store *st, int64_t user_id, int64_t now, mls_buf *out,
                 int *last_resort);
int sqs_kp_delete_user(srv_store *st, int64_t user_id);
int sqs_group_create(srv_store *st, const char *name, mls_bytes gid, uint64_t epoch,
                     int64_t admin_id, int64_t now, int64_t *ref);
int sqs_group_by_name(srv_store *st, const char *name, srv_group *out);
int sqs_group_by_gid(srv_store *st, mls_bytes gid, srv_group *out);
int sqs_group_advance_epoch(srv_store *st, int64_t ref, uint64_t expected);
int sqs_group_set_info(srv_store *st, int64_t ref, mls_bytes gi);
int sqs_group_get_info(srv_store *st, int64_t ref, mls_buf *out);
int sqs_group_get_view(srv_store *st, int64_t ref, mls_buf *out);
int sqs_group_set_view(srv_store *st, int64_t ref, mls_bytes view);
int sqs_groups_of_user(srv_store *st, int64_t user_id, srv_group_cb cb, void *ctx);
int sqs_member_get(srv_store *st, int64_t ref, int64_t user_id, srv_member *out);
int sqs_member_list(srv_store *st, int64_t ref, srv_member_cb cb, void *ctx);
int sqs_member_add(srv_store *st, int64_t ref, int64_t user_id, enum srv_role role,
                   uint64_t joined_seq);
int sqs_member_remove(srv_store *st, int64_t ref, int64_t user_id, uint64_t left_seq);
int sqs_log_append(srv_store *st, int64_t ref, uint64_t epoch, enum srv_kind kind,
                   int64_t sender_id, mls_bytes data, const char *meta, mls_bytes msg_id,
                   int64_t now, uint64_t *seq);
int sqs_log_find_msg_id(srv_store *st, int64_t ref, int64_t sender_id, mls_bytes msg_id,
                        srv_log_ref *out);
int sqs_log_find_commit(srv_store *st, int64_t ref, uint64_t epoch, int64_t sender_id,
                        mls_bytes data, srv_log_ref *out);
int sqs_log_fetch(srv_store *st, int64_t ref, uint64_t after, uint64_t upto, int limit,
                  srv_log_cb cb, void *ctx);
int sqs_log_first_seq(srv_store *st, int64_t ref, uint64_t *first);
int sqs_welcome_add(srv_store *st, mls_bytes welcome, mls_bytes gi, int64_t now,
                    int64_t *welcome_id);
int sqs_inbox_add(srv_store *st, int64_t user_id, int64_t ref, uint64_t seq, uint64_t epoch,
                  int64_t sender_id, int64_t welcome_id, int64_t now, int64_t *id);
int sqs_inbox_stats(srv_store *st, int64_t user_id, srv_inbox_stats *out);
int sqs_inbox_list(srv_store *st, int64_t user_id, int64_t after, int limit,
                   srv_inbox_cb cb, void *ctx);
int sqs_inbox_ack(srv_store *st, int64_t user_id, int64_t id, int *deleted);
int sqs_purge(srv_store *st, int64_t log_before, int64_t kp_before, int64_t inbox_before,
              int64_t now, srv_purge_counts *counts);
int sqs_pending_add(srv_store *st, int64_t ref, const char *username, int64_t inviter_id,
                    int64_t now);
int sqs_pending_count(srv_store *st, int64_t ref, int64_t *count);
int sqs_pending_delete(srv_store *st, int64_t ref, const char *username);
int sqs_pending_for_admin(srv_store *st, int64_t admin_id, srv_pending_cb cb, void *ctx);
int sqs_pending_for_user(srv_store *st, const char *username, srv_pending_cb cb, void *ctx);

#endif
