/* Pending invitations (docs/PROTOCOL.md §7.8): an administrator may
 * invite a user who cannot be added yet (the seed: "an administrator
 * invites people by name before they start").  The server keeps the
 * name, never a key; once the user has published KeyPackages, the
 * group's administrators are told, and any of their clients adds the user
 * by an ordinary commit, which every member verifies as usual. */
#include <stdlib.h>
#include <string.h>

#include "logic.h"
#include "logic_int.h"

int srv_logic_invite_pending(srv_logic *L, const srv_user *caller, const char *group,
                             const char *username, srv_err *e)
{
    srv_store *st = L->store;
    srv_group g;
    srv_member m;
    srv_user u;
    int64_t count = 0;
    int err;

    if (logic_need_caller(caller, e))
        return -1;
    if (!srv_valid_username(username))
        return srv_refuse(e, CHAT_ERR_BAD_USERNAME, "invalid username");
    if (srv_logic_group_find(L, group, mls_bytes_of(NULL, 0), &g, e))
        return -1;
    err = st->ops->member_get(st, g.ref, caller->id, &m);
    if (err == SRV_NOT_FOUND || (!err && m.left))
        return srv_refuse(e, CHAT_ERR_NOT_MEMBER, "you are not on the roster of '%s'", g.name);
    if (err)
        return logic_refuse_store(e);
    /* The same rule as adding (§7.4): only administrators invite. */
    if (m.role != SRV_ROLE_ADMIN)
        return srv_refuse(e, CHAT_ERR_FORBIDDEN, "only an administrator of '%s' invites",
                          g.name);
    err = st->ops->user_by_name(st, username, &u);
    if (!err) {
        err = st->ops->member_get(st, g.ref, u.id, &m);
        if (!err && !m.left)
            return srv_refuse(e, CHAT_ERR_BAD_ROSTER, "'%s' is on the roster of '%s' already",
                              username, g.name);
        if (err == SRV_NOT_FOUND || (!err && m.left))
            err = SRV_OK;
    } else if (err == SRV_NOT_FOUND) {
        err = SRV_OK;
    }
    if (err || st->ops->pending_count(st, g.ref, &count))
        return logic_refuse_store(e);
    if (count >= SRV_PENDING_MAX)
        return srv_refuse(e, CHAT_ERR_TOO_LARGE, "'%s' has %d pending invitations already",
                          g.name, SRV_PENDING_MAX);
    if (st->ops->pending_add(st, g.ref, username, caller->id, logic_now(L)))
        return logic_refuse_store(e);
    return 0;
}

typedef struct list_ctx {
    srv_logic *L;
    srv_invite_cb cb;
    void *ctx;
    int mine;
} list_ctx;

static int list_row(void *ctx, const srv_pending *p)
{
    list_ctx *c = ctx;
    srv_store *st = c->L->store;
    srv_user u;
    int64_t count = 0;
    int ready = 0, lr = 0, err;

    if (!c->mine) {
        err = st->ops->user_by_name(st, p->username, &u);
        if (err == SRV_OK) {
            if (st->ops->kp_count(st, u.id, logic_now(c->L), &count, &lr))
                return SRV_STORE_ERR;
            ready = count > 0 || lr;
        } else if (err != SRV_NOT_FOUND) {
            return SRV_STORE_ERR;
        }
    }
    return c->cb(c->ctx, p, ready, c->mine);
}

int srv_logic_invite_list(srv_logic *L, const srv_user *caller, srv_invite_cb cb, void *ctx,
                          srv_err *e)
{
    list_ctx c = {L, cb, ctx, 0};
    if (logic_need_caller(caller, e))
        return -1;
    if (L->store->ops->pending_for_admin(L->store, caller->id, list_row, &c))
        return logic_refuse_store(e);
    c.mine = 1;
    if (L->store->ops->pending_for_user(L->store, caller->name, list_row, &c))
        return logic_refuse_store(e);
    return 0;
}

typedef struct admins {
    int64_t *ids;
    size_t n, cap;
} admins;

static int admin_row(void *ctx, const srv_member *m)
{
    admins *a = ctx;
    if (m->role != SRV_ROLE_ADMIN)
        return 0;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        int64_t *p = realloc(a->ids, cap * sizeof *p);
        if (!p)
            return SRV_STORE_ERR;
        a->ids = p;
        a->cap = cap;
    }
    a->ids[a->n++] = m->user_id;
    return 0;
}

typedef struct ready_ctx {
    srv_logic *L;
} ready_ctx;

static int ready_row(void *ctx, const srv_pending *p)
{
    ready_ctx *r = ctx;
    srv_logic *L = r->L;
    admins a = {NULL, 0, 0};
    int err = L->store->ops->member_list(L->store, p->group_ref, admin_row, &a);
    /* The roster comes ordered by user id, as the sink expects. */
    if (!err && a.n > 0 && L->sink.on_invite)
        L->sink.on_invite(L->sink.ctx, p->group, p->username, a.ids, a.n);
    free(a.ids);
    return err;
}

int logic_invites_ready(srv_logic *L, const srv_user *caller, srv_err *e)
{
    ready_ctx r = {L};
    if (L->store->ops->pending_for_user(L->store, caller->name, ready_row, &r))
        return logic_refuse_store(e);
    return 0;
}

int logic_invites_done(srv_logic *L, int64_t ref, const char *username, srv_err *e)
{
    return L->store->ops->pending_delete(L->store, ref, username) ? logic_refuse_store(e) : 0;
}
