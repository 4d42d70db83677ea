/* What the PostgreSQL store's files (store_pg.c: connections, schema,
 * statements, transactions, notices; store_pg_data.c: the operations)
 * share; not for other layers. */
#ifndef SRV_STORE_PG_INT_H
#define SRV_STORE_PG_INT_H

#include <endian.h>
#include <libpq-fe.h>
#include <string.h>
#include <time.h>

#include "store.h"

enum stmt_id {
    Q_USER_INSERT, Q_USER_BY_NAME, Q_USER_BY_ID, Q_USER_BY_KEY, Q_USER_RENAME,
    Q_RENAME_INSERT, Q_RENAME_FIND, Q_RENAME_RESERVED,
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

#define MAX_PARAMS 10

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

static inline pg_store *S(srv_store *st)
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

static inline void p_int(pgp *p, int64_t x)
{
    p->be[p->n] = htobe64((uint64_t)x);
    p->v[p->n] = (const char *)&p->be[p->n];
    p->len[p->n] = 8;
    p->fmt[p->n++] = 1;
}

static inline void p_bytes(pgp *p, mls_bytes b)
{
    /* A zero-length value must still be a value, not NULL. */
    p->v[p->n] = b.n ? (const char *)b.p : "";
    p->len[p->n] = (int)b.n;
    p->fmt[p->n++] = 1;
}

/* bytea or NULL when empty. */
static inline void p_bytes_or_null(pgp *p, mls_bytes b)
{
    p_bytes(p, b);
    if (!b.n)
        p->v[p->n - 1] = NULL;
}

static inline void p_text(pgp *p, const char *t)
{
    p->v[p->n] = t;
    p->len[p->n] = t ? (int)strlen(t) : 0;
    p->fmt[p->n++] = 1;
}

static inline int64_t g_int(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8)
        return 0;
    uint64_t be;
    memcpy(&be, PQgetvalue(r, row, col), 8);
    return (int64_t)be64toh(be);
}

static inline mls_bytes g_bytes(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return mls_bytes_of(NULL, 0);
    return mls_bytes_of((const uint8_t *)PQgetvalue(r, row, col),
                        (size_t)PQgetlength(r, row, col));
}

/* NULL for SQL NULL; binary text is the raw bytes, NUL-terminated by libpq. */
static inline const char *g_text(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static inline void copy_text(char *dst, size_t cap, const PGresult *r, int row, int col)
{
    const char *t = g_text(r, row, col);
    size_t n = t ? (size_t)PQgetlength(r, row, col) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, t, n);
    dst[n] = 0;
}

static inline size_t copy_blob(uint8_t *dst, size_t cap, const PGresult *r, int row, int col)
{
    mls_bytes b = g_bytes(r, row, col);
    size_t n = b.n > cap ? cap : b.n;
    if (n)
        memcpy(dst, b.p, n);
    return n;
}

/* The statement runners (store_pg.c). */
PGresult *pgs_run(pg_store *s, enum stmt_id id, const pgp *p, int *err);
int pgs_run_done(pg_store *s, enum stmt_id id, const pgp *p, int64_t *changed);
int pgs_simple(pg_store *s, const char *sql, const char *expect_status);

/* The operations (store_pg_data.c), gathered into the ops table in
 * store_pg.c. */
int pgs_user_create(srv_store *st, const char *name, uint16_t suite, mls_bytes key,
                    int64_t now, int64_t *id);
int pgs_user_by_name(srv_store *st, const char *name, srv_user *out);
int pgs_user_by_id(srv_store *st, int64_t id, srv_user *out);
int pgs_user_by_key(srv_store *st, mls_bytes key, srv_user *out);
int pgs_user_rename(srv_store *st, int64_t id, const char *name);
int pgs_rename_record(srv_store *st, int64_t id, const char *old_name, int64_t now);
int pgs_rename_known(srv_store *st, int64_t id, const char *old_name);
int pgs_rename_reserved(srv_store *st, const char *name, int64_t since, int64_t *user_id);
int pgs_kp_add(srv_store *st, int64_t user_id, mls_bytes kp, int last_resort,
               uint64_t not_after, int64_t now);
int pgs_kp_drop_last_resort(srv_store *st, int64_t user_id);
int pgs_kp_count(srv_store *st, int64_t user_id, int64_t now, int64_t *count,
                 int *has_last_resort);
int pgs_kp_claim(srv_store *st, int64_t user_id, int64_t now, mls_buf *out,
                 int *last_resort);
int pgs_kp_delete_user(srv_store *st, int64_t user_id);
int pgs_group_create(srv_store *st, const char *name, mls_bytes gid, uint64_t epoch,
                     int64_t admin_id, int64_t now, int64_t *ref);
int pgs_group_by_name(srv_store *st, const char *name, srv_group *out);
int pgs_group_by_gid(srv_store *st, mls_bytes gid, srv_group *out);
int pgs_group_by_ref(srv_store *st, int64_t ref, srv_group *out);
int pgs_group_advance_epoch(srv_store *st, int64_t ref, uint64_t expected);
int pgs_group_set_info(srv_store *st, int64_t ref, mls_bytes gi);
int pgs_group_get_info(srv_store *st, int64_t ref, mls_buf *out);
int pgs_group_get_view(srv_store *st, int64_t ref, mls_buf *out);
int pgs_group_set_view(srv_store *st, int64_t ref, mls_bytes view);
int pgs_groups_of_user(srv_store *st, int64_t user_id, srv_group_cb cb, void *ctx);
int pgs_member_get(srv_store *st, int64_t ref, int64_t user_id, srv_member *out);
int pgs_member_list(srv_store *st, int64_t ref, srv_member_cb cb, void *ctx);
int pgs_audience(srv_store *st, int64_t ref, uint64_t after, srv_member_cb cb, void *ctx);
int pgs_member_add(srv_store *st, int64_t ref, int64_t user_id, enum srv_role role,
                   uint64_t joined_seq);
int pgs_member_remove(srv_store *st, int64_t ref, int64_t user_id, uint64_t left_seq);
int pgs_log_append(srv_store *st, int64_t ref, uint64_t epoch, enum srv_kind kind,
                   int64_t sender_id, mls_bytes data, const char *meta, mls_bytes msg_id,
                   int64_t now, uint64_t *seq);
int pgs_log_find_msg_id(srv_store *st, int64_t ref, int64_t sender_id, mls_bytes msg_id,
                        srv_log_ref *out);
int pgs_log_find_commit(srv_store *st, int64_t ref, uint64_t epoch, int64_t sender_id,
                        mls_bytes data, srv_log_ref *out);
int pgs_log_fetch(srv_store *st, int64_t ref, uint64_t after, uint64_t upto, int limit,
                  srv_log_cb cb, void *ctx);
int pgs_log_first_seq(srv_store *st, int64_t ref, uint64_t *first);
int pgs_welcome_add(srv_store *st, mls_bytes welcome, mls_bytes gi, int64_t now,
                    int64_t *welcome_id);
int pgs_inbox_add(srv_store *st, int64_t user_id, int64_t ref, uint64_t seq, uint64_t epoch,
                  int64_t sender_id, int64_t welcome_id, int64_t now, int64_t *id);
int pgs_inbox_stats(srv_store *st, int64_t user_id, srv_inbox_stats *out);
int pgs_inbox_list(srv_store *st, int64_t user_id, int64_t after, int limit,
                   srv_inbox_cb cb, void *ctx);
int pgs_inbox_ack(srv_store *st, int64_t user_id, int64_t id, int *deleted);
int pgs_purge(srv_store *st, int64_t log_before, int64_t kp_before, int64_t inbox_before,
              int64_t now, srv_purge_counts *counts);
int pgs_pending_add(srv_store *st, int64_t ref, const char *username, int64_t inviter_id,
                    int64_t now);
int pgs_pending_count(srv_store *st, int64_t ref, int64_t *count);
int pgs_pending_delete(srv_store *st, int64_t ref, const char *username);
int pgs_pending_for_admin(srv_store *st, int64_t admin_id, srv_pending_cb cb, void *ctx);
int pgs_pending_for_user(srv_store *st, const char *username, srv_pending_cb cb, void *ctx);

#endif
