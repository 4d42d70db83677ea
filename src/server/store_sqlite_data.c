/*
 * The store operations on SQLite (users, renames, KeyPackages, groups,
 * members, the log, welcomes, inboxes, pending invitations, purging):
 * each binds its prepared statement (store_sqlite.c), steps it and copies
 * the row out.  Groups, rosters and users by id are answered from the
 * cache when it has them, and every write tells the cache
 * (store_cache.h).
 */
#include "store_sqlite_int.h"

#include <stdlib.h>
#include <string.h>

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

int sqs_user_create(srv_store *st, const char *name, uint16_t suite, mls_bytes key,
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

int sqs_user_by_name(srv_store *st, const char *name, srv_user *out)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_USER_BY_NAME);
    sqlite3_bind_text(q1, 1, name, -1, SQLITE_TRANSIENT);
    return user_row(s, q1, out, "user by name");
}

int sqs_user_by_id(srv_store *st, int64_t id, srv_user *out)
{
    sqlite_store *s = S(st);
    if (srv_cache_user(s->cache, id, out))
        return SRV_OK;
    sqlite3_stmt *q1 = q(s, Q_USER_BY_ID);
    sqlite3_bind_int64(q1, 1, id);
    int err = user_row(s, q1, out, "user by id");
    if (!err)
        srv_cache_user_put(s->cache, out);
    return err;
}

int sqs_user_by_key(srv_store *st, mls_bytes key, srv_user *out)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_USER_BY_KEY);
    bind_bytes(q1, 1, key);
    return user_row(s, q1, out, "user by key");
}

int sqs_user_rename(srv_store *st, int64_t id, const char *name)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_USER_RENAME);
    sqlite3_bind_text(q1, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q1, 2, id);
    srv_cache_user_forget(s->cache, id);
    int err = exec_done(s, q1, "user rename");
    if (!err && sqlite3_changes(s->db) != 1)
        err = SRV_NOT_FOUND;
    return err;
}

int sqs_rename_record(srv_store *st, int64_t id, const char *old_name, int64_t now)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_RENAME_INSERT);
    sqlite3_bind_int64(q1, 1, id);
    sqlite3_bind_text(q1, 2, old_name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q1, 3, now);
    return exec_done(s, q1, "rename record");
}

int sqs_rename_known(srv_store *st, int64_t id, const char *old_name)
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

int sqs_rename_reserved(srv_store *st, const char *name, int64_t since, int64_t *user_id)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_RENAME_RESERVED);
    sqlite3_bind_text(q1, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q1, 2, since);
    int rc = sqlite3_step(q1);
    int err = rc == SQLITE_ROW ? SRV_OK : rc == SQLITE_DONE ? SRV_NOT_FOUND
                                                            : fail(s, "rename reserved");
    if (err == SRV_OK)
        *user_id = sqlite3_column_int64(q1, 0);
    sqlite3_reset(q1);
    return err;
}

/* ------------------------------------------------------------ key packages */

int sqs_kp_add(srv_store *st, int64_t user_id, mls_bytes kp, int last_resort,
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

int sqs_kp_drop_last_resort(srv_store *st, int64_t user_id)
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

int sqs_kp_count(srv_store *st, int64_t user_id, int64_t now, int64_t *count,
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

int sqs_kp_claim(srv_store *st, int64_t user_id, int64_t now, mls_buf *out,
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

int sqs_kp_delete_user(srv_store *st, int64_t user_id)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_KP_DELETE_USER);
    sqlite3_bind_int64(q1, 1, user_id);
    return exec_done(s, q1, "key package delete user");
}

/* ------------------------------------------------------------ groups */

int sqs_group_create(srv_store *st, const char *name, mls_bytes gid, uint64_t epoch,
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
    if (!err) {
        *ref = sqlite3_last_insert_rowid(s->db);
        /* Not cached yet; a rollback forgets what reads cache of it. */
        srv_cache_group_forget(s->cache, *ref);
    }
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
    if (rc == SQLITE_ROW) {
        group_cols(st, out);
        srv_cache_group_put(s->cache, out);
    } else if (rc == SQLITE_DONE) {
        err = SRV_NOT_FOUND;
    } else {
        err = fail(s, "group select");
    }
    sqlite3_reset(st);
    return err;
}

int sqs_group_by_name(srv_store *st, const char *name, srv_group *out)
{
    sqlite_store *s = S(st);
    if (srv_cache_group_by_name(s->cache, name, out))
        return SRV_OK;
    sqlite3_stmt *q1 = q(s, Q_GROUP_BY_NAME);
    sqlite3_bind_text(q1, 1, name, -1, SQLITE_TRANSIENT);
    return group_row(s, q1, out);
}

int sqs_group_by_gid(srv_store *st, mls_bytes gid, srv_group *out)
{
    sqlite_store *s = S(st);
    if (srv_cache_group_by_gid(s->cache, gid, out))
        return SRV_OK;
    sqlite3_stmt *q1 = q(s, Q_GROUP_BY_GID);
    bind_bytes(q1, 1, gid);
    return group_row(s, q1, out);
}

int sqs_group_advance_epoch(srv_store *st, int64_t ref, uint64_t expected)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_GROUP_ADVANCE);
    sqlite3_bind_int64(q1, 1, ref);
    sqlite3_bind_int64(q1, 2, (int64_t)expected);
    int err = exec_done(s, q1, "group advance epoch");
    if (!err && sqlite3_changes(s->db) != 1)
        err = SRV_CONFLICT;
    if (err == SRV_OK)
        srv_cache_group_epoch(s->cache, ref, expected + 1);
    else if (err != SRV_CONFLICT)
        srv_cache_group_forget(s->cache, ref);
    return err;
}

int sqs_group_set_info(srv_store *st, int64_t ref, mls_bytes gi)
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

int sqs_group_get_info(srv_store *st, int64_t ref, mls_buf *out)
{
    return group_blob(st, Q_GROUP_GET_INFO, ref, out, "group get info");
}

int sqs_group_get_view(srv_store *st, int64_t ref, mls_buf *out)
{
    return group_blob(st, Q_GROUP_GET_VIEW, ref, out, "group get view");
}

int sqs_group_set_view(srv_store *st, int64_t ref, mls_bytes view)
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

int sqs_groups_of_user(srv_store *st, int64_t user_id, srv_group_cb cb, void *ctx)
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

/* The current roster read from the table into *list (malloc'd, ordered by
 * user id; NULL when empty). */
static int roster_read(sqlite_store *s, int64_t ref, srv_member **list, size_t *n)
{
    sqlite3_stmt *q1 = q(s, Q_MEMBER_LIST);
    sqlite3_bind_int64(q1, 1, ref);
    srv_member *rows = NULL;
    size_t len = 0, cap = 0;
    int rc, err = SRV_OK;
    while ((rc = sqlite3_step(q1)) == SQLITE_ROW) {
        if (len == cap) {
            size_t c2 = cap ? cap * 2 : 16;
            srv_member *p = realloc(rows, c2 * sizeof *p);
            if (!p) {
                err = SRV_STORE_ERR;
                break;
            }
            rows = p;
            cap = c2;
        }
        member_cols(q1, &rows[len++]);
    }
    if (!err && rc != SQLITE_DONE)
        err = fail(s, "member list");
    sqlite3_reset(q1);
    if (err) {
        free(rows);
        return err;
    }
    *list = rows;
    *n = len;
    return SRV_OK;
}

int sqs_member_get(srv_store *st, int64_t ref, int64_t user_id, srv_member *out)
{
    sqlite_store *s = S(st);
    const srv_member *rows;
    size_t n;
    /* A current member from the cached roster (ordered by user id);
     * members who left, and strangers, from the table. */
    if (srv_cache_roster(s->cache, ref, &rows, &n)) {
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (rows[mid].user_id < user_id)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < n && rows[lo].user_id == user_id) {
            *out = rows[lo];
            return SRV_OK;
        }
    }
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

int sqs_member_list(srv_store *st, int64_t ref, srv_member_cb cb, void *ctx)
{
    sqlite_store *s = S(st);
    const srv_member *cached;
    srv_member *rows = NULL;
    size_t n = 0;
    /* The callback may call the store (and so change the cache): it
     * always runs over a list of our own. */
    if (srv_cache_roster(s->cache, ref, &cached, &n)) {
        if (!(rows = malloc(n * sizeof *rows)))
            return SRV_STORE_ERR;
        memcpy(rows, cached, n * sizeof *rows);
    } else {
        int err = roster_read(s, ref, &rows, &n);
        if (err)
            return err;
        srv_member *copy = n ? malloc(n * sizeof *copy) : NULL;
        if (copy) {
            memcpy(copy, rows, n * sizeof *copy);
            srv_cache_roster_put(s->cache, ref, copy, n);
        }
    }
    int err = SRV_OK;
    for (size_t i = 0; i < n && !err; i++)
        err = cb(ctx, &rows[i]);
    free(rows);
    return err;
}

int sqs_member_add(srv_store *st, int64_t ref, int64_t user_id, enum srv_role role,
                   uint64_t joined_seq)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_MEMBER_ADD);
    sqlite3_bind_int64(q1, 1, ref);
    sqlite3_bind_int64(q1, 2, user_id);
    sqlite3_bind_int(q1, 3, (int)role);
    sqlite3_bind_int64(q1, 4, (int64_t)joined_seq);
    srv_cache_roster_forget(s->cache, ref);
    return exec_done(s, q1, "member add");
}

int sqs_member_remove(srv_store *st, int64_t ref, int64_t user_id, uint64_t left_seq)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_MEMBER_REMOVE);
    sqlite3_bind_int64(q1, 1, (int64_t)left_seq);
    sqlite3_bind_int64(q1, 2, ref);
    sqlite3_bind_int64(q1, 3, user_id);
    srv_cache_roster_forget(s->cache, ref);
    int err = exec_done(s, q1, "member remove");
    if (!err && sqlite3_changes(s->db) != 1)
        err = SRV_NOT_FOUND;
    return err;
}

/* ------------------------------------------------------------ log */

/* The row first, then the group's sequence bump: a msg_id stored already
 * fails the INSERT (the unique index log_msg_id: SRV_CONFLICT) before
 * anything changed, so that the logic needs no lookup of its own before
 * every message (logic_groups.c srv_logic_send).  One process writes
 * this database (store_sqlite.c lock_file), so the next seq read first
 * stays the next until the bump. */
int sqs_log_append(srv_store *st, int64_t ref, uint64_t epoch, enum srv_kind kind,
                   int64_t sender_id, mls_bytes data, const char *meta, mls_bytes msg_id,
                   int64_t now, uint64_t *seq)
{
    sqlite_store *s = S(st);
    srv_group g;
    int64_t next;
    if (srv_cache_group_by_ref(s->cache, ref, &g)) {
        next = (int64_t)g.last_seq + 1;
    } else {
        sqlite3_stmt *l = q(s, Q_LOG_LAST_SEQ);
        sqlite3_bind_int64(l, 1, ref);
        int rc = sqlite3_step(l);
        next = rc == SQLITE_ROW ? sqlite3_column_int64(l, 0) + 1 : -1;
        sqlite3_reset(l);
        if (rc == SQLITE_DONE)
            return SRV_NOT_FOUND;
        if (rc != SQLITE_ROW)
            return fail(s, "log seq");
    }
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
    if (err)
        return err;
    sqlite3_stmt *b = q(s, Q_LOG_BUMP);
    sqlite3_bind_int64(b, 1, ref);
    err = exec_done(s, b, "log bump");
    if (!err && sqlite3_changes(s->db) != 1)
        err = fail(s, "log bump");
    if (err) {
        srv_cache_group_forget(s->cache, ref);
        return err;
    }
    srv_cache_group_last_seq(s->cache, ref, (uint64_t)next);
    *seq = (uint64_t)next;
    return SRV_OK;
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

int sqs_log_find_msg_id(srv_store *st, int64_t ref, int64_t sender_id, mls_bytes msg_id,
                        srv_log_ref *out)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_LOG_BY_MSG_ID);
    sqlite3_bind_int64(q1, 1, ref);
    sqlite3_bind_int64(q1, 2, sender_id);
    bind_bytes(q1, 3, msg_id);
    return log_ref_row(s, q1, out);
}

int sqs_log_find_commit(srv_store *st, int64_t ref, uint64_t epoch, int64_t sender_id,
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

int sqs_log_fetch(srv_store *st, int64_t ref, uint64_t after, uint64_t upto, int limit,
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

int sqs_log_first_seq(srv_store *st, int64_t ref, uint64_t *first)
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

int sqs_welcome_add(srv_store *st, mls_bytes welcome, mls_bytes gi, int64_t now,
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

int sqs_inbox_add(srv_store *st, int64_t user_id, int64_t ref, uint64_t seq, uint64_t epoch,
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

int sqs_inbox_stats(srv_store *st, int64_t user_id, srv_inbox_stats *out)
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

int sqs_inbox_list(srv_store *st, int64_t user_id, int64_t after, int limit,
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

int sqs_inbox_ack(srv_store *st, int64_t user_id, int64_t id, int *deleted)
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
    int err = exec_done(s, q1, sqs_stmt_sql[id]);
    if (!err)
        *count += sqlite3_changes(s->db);
    return err;
}

int sqs_purge(srv_store *st, int64_t log_before, int64_t kp_before, int64_t inbox_before,
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

/* ------------------------------------------------------------ pending invitations */

int sqs_pending_add(srv_store *st, int64_t ref, const char *username, int64_t inviter_id,
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

int sqs_pending_count(srv_store *st, int64_t ref, int64_t *count)
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

int sqs_pending_delete(srv_store *st, int64_t ref, const char *username)
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

int sqs_pending_for_admin(srv_store *st, int64_t admin_id, srv_pending_cb cb, void *ctx)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_PENDING_FOR_ADMIN);
    sqlite3_bind_int64(q1, 1, admin_id);
    return pending_rows(s, q1, cb, ctx);
}

int sqs_pending_for_user(srv_store *st, const char *username, srv_pending_cb cb, void *ctx)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q1 = q(s, Q_PENDING_FOR_USER);
    sqlite3_bind_text(q1, 1, username, -1, SQLITE_TRANSIENT);
    return pending_rows(s, q1, cb, ctx);
}
