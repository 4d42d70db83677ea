/*
 * The store operations on PostgreSQL (users, renames, KeyPackages, groups,
 * members, the log, welcomes, inboxes, pending invitations, purging): each
 * runs its prepared statement (store_pg.c) with binary parameters and
 * copies the rows out.  Locking and notification rules: store_pg.c.
 */
#include "store_pg_int.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ users */

/* The first column of the single row as an id; SRV_CONFLICT when the
 * statement returned none (ON CONFLICT DO NOTHING). */
static int returned_id(pg_store *s, enum stmt_id id, const pgp *p, int64_t *out)
{
    int err;
    PGresult *r = pgs_run(s, id, p, &err);
    if (r) {
        if (PQntuples(r) == 1)
            *out = g_int(r, 0, 0);
        else
            err = SRV_CONFLICT;
    }
    PQclear(r);
    return err;
}

int pgs_user_create(srv_store *st, const char *name, uint16_t suite, mls_bytes key,
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
    PGresult *r = pgs_run(s, id, p, &err);
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

int pgs_user_by_name(srv_store *st, const char *name, srv_user *out)
{
    pgp p = {0};
    p_text(&p, name);
    return user_row(S(st), Q_USER_BY_NAME, &p, out);
}

int pgs_user_by_id(srv_store *st, int64_t id, srv_user *out)
{
    pgp p = {0};
    p_int(&p, id);
    return user_row(S(st), Q_USER_BY_ID, &p, out);
}

int pgs_user_by_key(srv_store *st, mls_bytes key, srv_user *out)
{
    pgp p = {0};
    p_bytes(&p, key);
    return user_row(S(st), Q_USER_BY_KEY, &p, out);
}

int pgs_user_rename(srv_store *st, int64_t id, const char *name)
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
    if (guard && pgs_simple(s, "SAVEPOINT rename", NULL))
        return SRV_STORE_ERR;
    int err = pgs_run_done(s, Q_USER_RENAME, &p, &n);
    if (guard) {
        int e2 = err == SRV_CONFLICT ? pgs_simple(s, "ROLLBACK TO SAVEPOINT rename", NULL) : SRV_OK;
        if (!e2)
            e2 = pgs_simple(s, "RELEASE SAVEPOINT rename", NULL);
        if (e2)
            return e2;
    }
    return err ? err : n == 1 ? SRV_OK : SRV_NOT_FOUND;
}

int pgs_rename_record(srv_store *st, int64_t id, const char *old_name, int64_t now)
{
    pgp p = {0};
    p_int(&p, id);
    p_text(&p, old_name);
    p_int(&p, now);
    return pgs_run_done(S(st), Q_RENAME_INSERT, &p, NULL);
}

int pgs_rename_known(srv_store *st, int64_t id, const char *old_name)
{
    pgp p = {0};
    int err;
    p_int(&p, id);
    p_text(&p, old_name);
    PGresult *r = pgs_run(S(st), Q_RENAME_FIND, &p, &err);
    if (r && PQntuples(r) == 0)
        err = SRV_NOT_FOUND;
    PQclear(r);
    return err;
}

int pgs_rename_reserved(srv_store *st, const char *name, int64_t since, int64_t *user_id)
{
    pgp p = {0};
    int err;
    p_text(&p, name);
    p_int(&p, since);
    PGresult *r = pgs_run(S(st), Q_RENAME_RESERVED, &p, &err);
    if (r && PQntuples(r) == 0)
        err = SRV_NOT_FOUND;
    else if (r)
        *user_id = g_int(r, 0, 0);
    PQclear(r);
    return err;
}

/* ------------------------------------------------------------ key packages */

int pgs_kp_add(srv_store *st, int64_t user_id, mls_bytes kp, int last_resort,
               uint64_t not_after, int64_t now)
{
    pgp p = {0};
    p_int(&p, user_id);
    p_bytes(&p, kp);
    p_int(&p, last_resort ? 1 : 0);
    /* not_after beyond INT64_MAX is stored as INT64_MAX: "never". */
    p_int(&p, not_after > INT64_MAX ? INT64_MAX : (int64_t)not_after);
    p_int(&p, now);
    return pgs_run_done(S(st), Q_KP_INSERT, &p, NULL);
}

int pgs_kp_drop_last_resort(srv_store *st, int64_t user_id)
{
    pgp p = {0};
    p_int(&p, user_id);
    return pgs_run_done(S(st), Q_KP_DROP_LR, &p, NULL);
}

static int count_query(pg_store *s, enum stmt_id id, int64_t user_id, int64_t now, int64_t *out)
{
    pgp p = {0};
    int err;
    p_int(&p, user_id);
    p_int(&p, now);
    PGresult *r = pgs_run(s, id, &p, &err);
    if (r)
        *out = PQntuples(r) == 1 ? g_int(r, 0, 0) : 0;
    PQclear(r);
    return err;
}

int pgs_kp_count(srv_store *st, int64_t user_id, int64_t now, int64_t *count,
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
    PGresult *r = pgs_run(s, id, &p, &err);
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

int pgs_kp_claim(srv_store *st, int64_t user_id, int64_t now, mls_buf *out,
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

int pgs_kp_delete_user(srv_store *st, int64_t user_id)
{
    pgp p = {0};
    p_int(&p, user_id);
    return pgs_run_done(S(st), Q_KP_DELETE_USER, &p, NULL);
}

/* ------------------------------------------------------------ groups */

int pgs_group_create(srv_store *st, const char *name, mls_bytes gid, uint64_t epoch,
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
    PGresult *r = pgs_run(s, id, p, &err);
    if (r && PQntuples(r) == 0)
        err = SRV_NOT_FOUND;
    else if (r)
        group_cols(r, 0, out);
    PQclear(r);
    return err;
}

int pgs_group_by_name(srv_store *st, const char *name, srv_group *out)
{
    pgp p = {0};
    p_text(&p, name);
    return group_row(S(st), Q_GROUP_BY_NAME, &p, out);
}

int pgs_group_by_gid(srv_store *st, mls_bytes gid, srv_group *out)
{
    pgp p = {0};
    p_bytes(&p, gid);
    return group_row(S(st), Q_GROUP_BY_GID, &p, out);
}

int pgs_group_by_ref(srv_store *st, int64_t ref, srv_group *out)
{
    pgp p = {0};
    p_int(&p, ref);
    return group_row(S(st), Q_GROUP_BY_REF, &p, out);
}

int pgs_group_advance_epoch(srv_store *st, int64_t ref, uint64_t expected)
{
    pgp p = {0};
    int64_t n = 0;
    p_int(&p, ref);
    p_int(&p, (int64_t)expected);
    int err = pgs_run_done(S(st), Q_GROUP_ADVANCE, &p, &n);
    return err ? err : n == 1 ? SRV_OK : SRV_CONFLICT;
}

int pgs_group_set_info(srv_store *st, int64_t ref, mls_bytes gi)
{
    pgp p = {0};
    p_bytes_or_null(&p, gi);
    p_int(&p, ref);
    return pgs_run_done(S(st), Q_GROUP_SET_INFO, &p, NULL);
}

/* A group's blob column into out; SRV_NOT_FOUND when NULL. */
static int group_blob(srv_store *st, enum stmt_id id, int64_t ref, mls_buf *out)
{
    pgp p = {0};
    int err;
    p_int(&p, ref);
    PGresult *r = pgs_run(S(st), id, &p, &err);
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

int pgs_group_get_info(srv_store *st, int64_t ref, mls_buf *out)
{
    return group_blob(st, Q_GROUP_GET_INFO, ref, out);
}

int pgs_group_get_view(srv_store *st, int64_t ref, mls_buf *out)
{
    return group_blob(st, Q_GROUP_GET_VIEW, ref, out);
}

int pgs_group_set_view(srv_store *st, int64_t ref, mls_bytes view)
{
    pgp p = {0};
    p_bytes(&p, view);
    p_int(&p, ref);
    return pgs_run_done(S(st), Q_GROUP_SET_VIEW, &p, NULL);
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

int pgs_groups_of_user(srv_store *st, int64_t user_id, srv_group_cb cb, void *ctx)
{
    pgp p = {0};
    int err;
    p_int(&p, user_id);
    PGresult *r = pgs_run(S(st), Q_GROUPS_OF_USER, &p, &err);
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

int pgs_member_get(srv_store *st, int64_t ref, int64_t user_id, srv_member *out)
{
    pgp p = {0};
    int err;
    p_int(&p, ref);
    p_int(&p, user_id);
    PGresult *r = pgs_run(S(st), Q_MEMBER_GET, &p, &err);
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
    PGresult *r = pgs_run(s, id, p, &err);
    for (int i = 0; r && i < PQntuples(r); i++) {
        srv_member m;
        member_cols(r, i, &m);
        if ((err = cb(ctx, &m)) != 0)
            break;
    }
    PQclear(r);
    return err;
}

int pgs_member_list(srv_store *st, int64_t ref, srv_member_cb cb, void *ctx)
{
    pgp p = {0};
    p_int(&p, ref);
    return members(S(st), Q_MEMBER_LIST, &p, cb, ctx);
}

int pgs_audience(srv_store *st, int64_t ref, uint64_t after, srv_member_cb cb, void *ctx)
{
    pgp p = {0};
    p_int(&p, ref);
    p_int(&p, after > INT64_MAX ? INT64_MAX : (int64_t)after);
    return members(S(st), Q_AUDIENCE, &p, cb, ctx);
}

int pgs_member_add(srv_store *st, int64_t ref, int64_t user_id, enum srv_role role,
                   uint64_t joined_seq)
{
    pgp p = {0};
    p_int(&p, ref);
    p_int(&p, user_id);
    p_int(&p, (int64_t)role);
    p_int(&p, (int64_t)joined_seq);
    return pgs_run_done(S(st), Q_MEMBER_ADD, &p, NULL);
}

int pgs_member_remove(srv_store *st, int64_t ref, int64_t user_id, uint64_t left_seq)
{
    pgp p = {0};
    int64_t n = 0;
    p_int(&p, (int64_t)left_seq);
    p_int(&p, ref);
    p_int(&p, user_id);
    int err = pgs_run_done(S(st), Q_MEMBER_REMOVE, &p, &n);
    return err ? err : n == 1 ? SRV_OK : SRV_NOT_FOUND;
}

/* ------------------------------------------------------------ log */

int pgs_log_append(srv_store *st, int64_t ref, uint64_t epoch, enum srv_kind kind,
                   int64_t sender_id, mls_bytes data, const char *meta, mls_bytes msg_id,
                   int64_t now, uint64_t *seq)
{
    pg_store *s = S(st);
    pgp p = {0};
    int err;
    p_int(&p, ref);
    /* The group row stays locked until COMMIT: the next seq of any
     * process waits for this one to commit or roll back (gap-free). */
    PGresult *r = pgs_run(s, Q_LOG_BUMP, &p, &err);
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
    PGresult *r = pgs_run(s, id, p, &err);
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

int pgs_log_find_msg_id(srv_store *st, int64_t ref, int64_t sender_id, mls_bytes msg_id,
                        srv_log_ref *out)
{
    pgp p = {0};
    p_int(&p, ref);
    p_int(&p, sender_id);
    p_bytes(&p, msg_id);
    return log_ref_row(S(st), Q_LOG_BY_MSG_ID, &p, out);
}

int pgs_log_find_commit(srv_store *st, int64_t ref, uint64_t epoch, int64_t sender_id,
                        mls_bytes data, srv_log_ref *out)
{
    pgp p = {0};
    p_int(&p, ref);
    p_int(&p, (int64_t)epoch);
    p_int(&p, sender_id);
    p_bytes(&p, data);
    return log_ref_row(S(st), Q_LOG_SAME_COMMIT, &p, out);
}

int pgs_log_fetch(srv_store *st, int64_t ref, uint64_t after, uint64_t upto, int limit,
                  srv_log_cb cb, void *ctx)
{
    pgp p = {0};
    int err;
    p_int(&p, ref);
    p_int(&p, after > INT64_MAX ? INT64_MAX : (int64_t)after);
    p_int(&p, upto > INT64_MAX ? INT64_MAX : (int64_t)upto);
    p_int(&p, limit);
    PGresult *r = pgs_run(S(st), Q_LOG_FETCH, &p, &err);
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

int pgs_log_first_seq(srv_store *st, int64_t ref, uint64_t *first)
{
    pgp p = {0};
    int err;
    p_int(&p, ref);
    PGresult *r = pgs_run(S(st), Q_LOG_FIRST, &p, &err);
    if (r && (PQntuples(r) != 1 || PQgetisnull(r, 0, 0)))
        err = SRV_NOT_FOUND;
    else if (r)
        *first = (uint64_t)g_int(r, 0, 0);
    PQclear(r);
    return err;
}

/* ------------------------------------------------------------ inbox */

int pgs_welcome_add(srv_store *st, mls_bytes welcome, mls_bytes gi, int64_t now,
                    int64_t *welcome_id)
{
    pgp p = {0};
    p_bytes(&p, welcome);
    p_bytes_or_null(&p, gi);
    p_int(&p, (int64_t)(welcome.n + gi.n));
    p_int(&p, now);
    return returned_id(S(st), Q_WELCOME_INSERT, &p, welcome_id);
}

int pgs_inbox_add(srv_store *st, int64_t user_id, int64_t ref, uint64_t seq, uint64_t epoch,
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

int pgs_inbox_stats(srv_store *st, int64_t user_id, srv_inbox_stats *out)
{
    pgp p = {0};
    int err;
    p_int(&p, user_id);
    PGresult *r = pgs_run(S(st), Q_INBOX_STATS, &p, &err);
    if (r && PQntuples(r) == 1) {
        out->entries = g_int(r, 0, 0);
        out->bytes = g_int(r, 0, 1);
    } else if (r) {
        err = SRV_STORE_ERR;
    }
    PQclear(r);
    return err;
}

int pgs_inbox_list(srv_store *st, int64_t user_id, int64_t after, int limit,
                   srv_inbox_cb cb, void *ctx)
{
    pgp p = {0};
    int err;
    p_int(&p, user_id);
    p_int(&p, after);
    p_int(&p, limit);
    PGresult *r = pgs_run(S(st), Q_INBOX_LIST, &p, &err);
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

int pgs_inbox_ack(srv_store *st, int64_t user_id, int64_t id, int *deleted)
{
    pg_store *s = S(st);
    pgp p = {0};
    int err;
    p_int(&p, id);
    p_int(&p, user_id);
    PGresult *r = pgs_run(s, Q_INBOX_DELETE, &p, &err);
    int64_t welcome_id = r && PQntuples(r) == 1 ? g_int(r, 0, 0) : 0;
    PQclear(r);
    if (err)
        return err;
    /* The last recipient to ack takes the shared Welcome with it. */
    if (welcome_id) {
        pgp w = {0};
        p_int(&w, welcome_id);
        if ((err = pgs_run_done(s, Q_WELCOME_GC, &w, NULL)) != SRV_OK)
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
    int err = pgs_run_done(s, id, &p, &n);
    if (!err)
        *count += n;
    return err;
}

int pgs_purge(srv_store *st, int64_t log_before, int64_t kp_before, int64_t inbox_before,
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
        err = pgs_run_done(s, Q_PURGE_WELCOMES, NULL, NULL);
    if (!err)
        *counts = c;
    return err;
}

/* ------------------------------------------------------------ pending invitations */

int pgs_pending_add(srv_store *st, int64_t ref, const char *username, int64_t inviter_id,
                    int64_t now)
{
    pgp p = {0};
    p_int(&p, ref);
    p_text(&p, username);
    p_int(&p, inviter_id);
    p_int(&p, now);
    return pgs_run_done(S(st), Q_PENDING_INSERT, &p, NULL);
}

int pgs_pending_count(srv_store *st, int64_t ref, int64_t *count)
{
    pgp p = {0};
    int err;
    p_int(&p, ref);
    PGresult *r = pgs_run(S(st), Q_PENDING_COUNT, &p, &err);
    if (r && PQntuples(r) == 1)
        *count = g_int(r, 0, 0);
    else if (r)
        err = SRV_STORE_ERR;
    PQclear(r);
    return err;
}

int pgs_pending_delete(srv_store *st, int64_t ref, const char *username)
{
    pgp p = {0};
    p_int(&p, ref);
    p_text(&p, username);
    return pgs_run_done(S(st), Q_PENDING_DELETE, &p, NULL);
}

static int pending_rows(pg_store *s, enum stmt_id id, const pgp *p, srv_pending_cb cb, void *ctx)
{
    int err;
    PGresult *r = pgs_run(s, id, p, &err);
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

int pgs_pending_for_admin(srv_store *st, int64_t admin_id, srv_pending_cb cb, void *ctx)
{
    pgp p = {0};
    p_int(&p, admin_id);
    return pending_rows(S(st), Q_PENDING_FOR_ADMIN, &p, cb, ctx);
}

int pgs_pending_for_user(srv_store *st, const char *username, srv_pending_cb cb, void *ctx)
{
    pgp p = {0};
    p_text(&p, username);
    return pending_rows(S(st), Q_PENDING_FOR_USER, &p, cb, ctx);
}
