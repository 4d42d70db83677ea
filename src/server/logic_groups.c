/* Delivery rules of groups: registry, group.info's access rule,
 * first-commit-wins, the ordered log and the inbox (docs/PROTOCOL.md §7). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logic.h"
#include "logic_int.h"
#include "metrics.h"
#include "mlsmsg.h"
#include "validate.h"

/* Window of epochs for application messages: the current one and the one
 * before it (docs/PROTOCOL.md §7.5). */
#define APP_EPOCH_WINDOW 1

/* Stores the view's serialization as the group's. */
static int store_view(srv_logic *L, const srv_group *g, const mls_public_group *pg, srv_err *e)
{
    mls_buf b;
    mls_buf_init(&b);
    int err = mls_public_group_serialize(pg, &b) ? SRV_STORE_ERR
                                                 : L->store->ops->group_set_view(
                                                       L->store, g->ref, mls_buf_view(&b));
    mls_buf_clear(&b);
    return err ? logic_refuse_store(e) : 0;
}

int srv_logic_group_create(srv_logic *L, const srv_user *caller, const char *name,
                           mls_bytes gid, uint64_t epoch, mls_bytes group_info, srv_group *out,
                           srv_err *e)
{
    srv_store *st = L->store;
    srv_group g;
    mls_public_group *pg = NULL;
    int rc = -1;
    if (logic_need_caller(caller, e))
        return -1;
    if (!srv_valid_group_name(name))
        return srv_refuse(e, CHAT_ERR_BAD_GROUP_NAME,
                          "group names are 1-64 characters a-z 0-9 _ - . starting with a letter "
                          "or digit");
    if (gid.n == 0 || gid.n > SRV_GROUP_ID_MAX)
        return srv_refuse(e, CHAT_ERR_BAD_REQUEST, "group_id must be 1 to 255 bytes");
    int err = st->ops->group_by_name(st, name, &g);
    if (err == SRV_OK)
        return srv_refuse(e, CHAT_ERR_GROUP_EXISTS, "group '%s' exists", name);
    if (err == SRV_NOT_FOUND)
        err = st->ops->group_by_gid(st, gid, &g);
    if (err == SRV_OK)
        return srv_refuse(e, CHAT_ERR_GROUP_EXISTS, "this MLS group id is already registered");
    if (err != SRV_NOT_FOUND)
        return logic_refuse_store(e);
    /* docs/PROTOCOL.md §7.1: the group starts as the view of its creator's
     * GroupInfo says, and the view judges every later commit. */
    if (srv_validate_create(L, caller, name, gid, epoch, group_info, &pg, e))
        goto out;
    int64_t ref = 0;
    err = st->ops->group_create(st, name, gid, epoch, caller->id, logic_now(L), &ref);
    if (err == SRV_CONFLICT) {
        srv_refuse(e, CHAT_ERR_GROUP_EXISTS, "group '%s' exists", name);
        goto out;
    }
    if (!err)
        err = st->ops->member_add(st, ref, caller->id, SRV_ROLE_ADMIN, 0);
    if (!err)
        err = st->ops->group_set_info(st, ref, group_info);
    if (err) {
        logic_refuse_store(e);
        goto out;
    }
    memset(out, 0, sizeof *out);
    out->ref = ref;
    if (store_view(L, out, pg, e))
        goto out;
    snprintf(out->name, sizeof out->name, "%s", name);
    memcpy(out->gid, gid.p, gid.n);
    out->gid_len = gid.n;
    out->epoch = epoch;
    out->admin_id = caller->id;
    rc = 0;
out:
    mls_public_group_free(pg);
    return rc;
}

int srv_logic_group_find(srv_logic *L, const char *name, mls_bytes gid, srv_group *out,
                         srv_err *e)
{
    srv_store *st = L->store;
    int err = name ? st->ops->group_by_name(st, name, out) : st->ops->group_by_gid(st, gid, out);
    if (err == SRV_NOT_FOUND)
        return srv_refuse(e, CHAT_ERR_UNKNOWN_GROUP, "no group named '%s'",
                          name ? name : "(by id)");
    return err ? logic_refuse_store(e) : 0;
}

/* The caller's current membership of g. */
static int member_of(srv_logic *L, const srv_user *u, const srv_group *g, srv_member *m,
                     srv_err *e)
{
    int err = L->store->ops->member_get(L->store, g->ref, u->id, m);
    if (err == SRV_NOT_FOUND || (!err && m->left))
        return srv_refuse(e, CHAT_ERR_NOT_MEMBER, "you are not on the roster of '%s'", g->name);
    return err ? logic_refuse_store(e) : 0;
}

/* ------------------------------------------------------------ group.info */

void srv_group_view_init(srv_group_view *v)
{
    memset(v, 0, sizeof *v);
    mls_buf_init(&v->group_info);
}

void srv_group_view_clear(srv_group_view *v)
{
    if (!v)
        return;
    free(v->members);
    mls_buf_clear(&v->group_info);
    srv_group_view_init(v);
}

typedef struct member_list {
    srv_member *items;
    size_t n, cap;
} member_list;

static int collect_member(void *ctx, const srv_member *m)
{
    member_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        srv_member *p = realloc(l->items, cap * sizeof *p);
        if (!p)
            return SRV_STORE_ERR;
        l->items = p;
        l->cap = cap;
    }
    l->items[l->n++] = *m;
    return 0;
}

int srv_logic_group_info(srv_logic *L, const srv_user *caller, const char *name, mls_bytes gid,
                         srv_group_view *v, srv_err *e)
{
    srv_store *st = L->store;
    srv_user admin;
    srv_member me;
    member_list roster = {NULL, 0, 0};
    if (logic_need_caller(caller, e))
        return -1;
    if (srv_logic_group_find(L, name, gid, &v->group, e)) {
        if (e->code != CHAT_ERR_UNKNOWN_GROUP)
            return -1;
        v->exists = 0;
        return 0;
    }
    v->exists = 1;
    int err = st->ops->member_get(st, v->group.ref, caller->id, &me);
    if (err && err != SRV_NOT_FOUND)
        return logic_refuse_store(e);
    v->member = err == SRV_OK && !me.left;
    /* docs/PROTOCOL.md §7.2: a non-member learns only that the name is
     * taken; its administrator, epoch, sequence numbers, roster and
     * GroupInfo (the ratchet tree's public keys) are for members. */
    if (!v->member) {
        srv_group name_only;
        memset(&name_only, 0, sizeof name_only);
        snprintf(name_only.name, sizeof name_only.name, "%s", v->group.name);
        v->group = name_only;
        return 0;
    }
    if (st->ops->user_by_id(st, v->group.admin_id, &admin) ||
        st->ops->log_first_seq(st, v->group.ref, &v->first_seq))
        return logic_refuse_store(e);
    snprintf(v->admin, sizeof v->admin, "%s", admin.name);
    v->role = me.role;
    if (st->ops->member_list(st, v->group.ref, collect_member, &roster)) {
        free(roster.items);
        return logic_refuse_store(e);
    }
    v->members = roster.items;
    v->n_members = roster.n;
    v->has_group_info = st->ops->group_get_info(st, v->group.ref, &v->group_info) == SRV_OK;
    return 0;
}

int srv_logic_group_list(srv_logic *L, const srv_user *caller, srv_group_cb cb, void *ctx,
                         srv_err *e)
{
    if (logic_need_caller(caller, e))
        return -1;
    return L->store->ops->groups_of_user(L->store, caller->id, cb, ctx) ? logic_refuse_store(e)
                                                                        : 0;
}

/* ------------------------------------------------------------ commit, send */

/* A retry of a request already accepted (docs/PROTOCOL.md §7.7): 1 with
 * *ref set if u stored msg_id in g, 0 if not, -1 refused. */
static int find_retry(srv_logic *L, const srv_user *u, const srv_group *g, mls_bytes msg_id,
                      int commit, srv_log_ref *ref, srv_err *e)
{
    if (msg_id.n == 0)
        return 0;
    if (msg_id.n > SRV_MSG_ID_MAX)
        return srv_refuse(e, CHAT_ERR_BAD_REQUEST, "msg_id is at most %d bytes", SRV_MSG_ID_MAX);
    int err = L->store->ops->log_find_msg_id(L->store, g->ref, u->id, msg_id, ref);
    if (err == SRV_NOT_FOUND)
        return 0;
    if (err)
        return logic_refuse_store(e);
    if ((ref->kind == SRV_KIND_COMMIT) != commit)
        return srv_refuse(e, CHAT_ERR_BAD_REQUEST, "msg_id was used for a %s",
                          chat_req_name(commit ? CHAT_REQ_GROUP_SEND : CHAT_REQ_GROUP_COMMIT));
    return 1;
}

/* Roster before a change: the recipients of its log event. */
typedef struct id_list {
    int64_t *ids;
    size_t n, cap;
} id_list;

static int collect_id(void *ctx, const srv_member *m)
{
    id_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        int64_t *p = realloc(l->ids, cap * sizeof *p);
        if (!p)
            return SRV_STORE_ERR;
        l->ids = p;
        l->cap = cap;
    }
    l->ids[l->n++] = m->user_id;
    return 0;
}

/* to == NULL: for the members on the roster now (logic.h). */
static void emit_log(srv_logic *L, const srv_group *g, const srv_log_entry *le, const id_list *to)
{
    if (L->sink.on_log)
        L->sink.on_log(L->sink.ctx, g, le, to ? to->ids : NULL, to ? to->n : 0);
}

int srv_logic_roster_ids(srv_logic *L, int64_t ref, int64_t **ids, size_t *n)
{
    id_list roster = {NULL, 0, 0};
    if (L->store->ops->member_list(L->store, ref, collect_id, &roster)) {
        free(roster.ids);
        return -1;
    }
    *ids = roster.ids;
    *n = roster.n;
    return 0;
}

int srv_logic_on_roster(srv_logic *L, int64_t ref, int64_t user_id)
{
    srv_member m;
    int err = L->store->ops->member_get(L->store, ref, user_id, &m);
    if (err == SRV_NOT_FOUND)
        return 0;
    return err ? -1 : !m.left;
}

static int check_header(const srv_group *g, mls_bytes msg, srv_mls_header *h, srv_err *e)
{
    const char *why = "malformed";
    if (srv_mls_read_header(msg, h, &why))
        return srv_refuse(e, CHAT_ERR_MALFORMED_MLS, "%s", why);
    if (!srv_mls_header_group_is(h, mls_bytes_of(g->gid, g->gid_len)))
        return srv_refuse(e, CHAT_ERR_WRONG_GROUP, "the message's group_id is not that of '%s'",
                          g->name);
    return 0;
}

static int refuse_epoch(srv_err *e, enum chat_err code, uint64_t got, uint64_t current)
{
    srv_refuse(e, code, "message is for epoch %llu but the group is at epoch %llu",
               (unsigned long long)got, (unsigned long long)current);
    e->extra_key = "current_epoch";
    e->extra = (int64_t)current;
    return -1;
}

/* Appends "name" entries as a JSON array to meta; usernames need no
 * escaping (§2 character set). */
static void meta_list(char *meta, size_t cap, const char *key, const char **l, size_t n)
{
    size_t o = strlen(meta);
    o += (size_t)snprintf(meta + o, o < cap ? cap - o : 0, "%s\"%s\":[", o > 1 ? "," : "", key);
    for (size_t i = 0; i < n && o < cap; i++)
        o += (size_t)snprintf(meta + o, cap - o, "%s\"%s\"", i ? "," : "", l[i]);
    if (o < cap)
        snprintf(meta + o, cap - o, "]");
}

/* The commit's clear header (docs/PROTOCOL.md §7.4): this group, the
 * request's epoch; Welcomes and GroupInfo decode. */
static int check_commit_objects(const srv_group *g, const srv_commit_req *r, srv_err *e)
{
    const char *why = "malformed";
    srv_mls_header h;
    if (check_header(g, r->commit, &h, e))
        return -1;
    if (h.epoch != r->epoch)
        return srv_refuse(e, CHAT_ERR_BAD_REQUEST,
                          "commit's epoch %llu differs from the request's %llu",
                          (unsigned long long)h.epoch, (unsigned long long)r->epoch);
    for (size_t w = 0; w < r->n_welcomes; w++)
        if (srv_mls_check_welcome(r->welcomes[w].welcome, &why))
            return srv_refuse(e, CHAT_ERR_MALFORMED_MLS, "welcome %zu: %s", w, why);
    if (r->group_info.n) {
        srv_mls_header gi;
        if (srv_mls_check_group_info(r->group_info, &gi, &why))
            return srv_refuse(e, CHAT_ERR_MALFORMED_MLS, "group_info: %s", why);
    }
    return 0;
}

/* The caller is on the roster; an external commit from anyone else is
 * not a resync (docs/PROTOCOL.md §7.4, rule external). */
static int commit_caller(srv_logic *L, const srv_user *u, const srv_group *g, mls_bytes commit,
                         srv_err *e)
{
    srv_member me;
    mls_message_info info;
    if (!member_of(L, u, g, &me, e))
        return 0;
    if (e->code == CHAT_ERR_NOT_MEMBER && mls_message_inspect(commit, &info) == MLS_OK &&
        info.wire_format == MLS_WIRE_PUBLIC_MESSAGE &&
        info.sender_type == MLS_SENDER_NEW_MEMBER_COMMIT)
        srv_refuse_rule(e, CHAT_RULE_EXTERNAL, "an external commit is accepted only as the "
                        "resync of a member on the roster of '%s'", g->name);
    return -1;
}

static int in_roster(const srv_roster *r, int64_t id, enum srv_role *role)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->items[i].user_id == id) {
            if (role)
                *role = r->items[i].role;
            return 1;
        }
    return 0;
}

/* The roster becomes what the view says after the commit: newcomers join
 * at seq, members gone leave at seq, roles follow the administrators
 * extension.  The names added and removed go to the log entry's meta. */
static int apply_roster(srv_logic *L, const srv_group *g, const member_list *before,
                        const srv_roster *after, uint64_t seq, char *meta, size_t cap,
                        srv_err *e)
{
    srv_store *st = L->store;
    const char **added = calloc(after->n + 1, sizeof *added);
    const char **removed = calloc(before->n + 1, sizeof *removed);
    size_t n_added = 0, n_removed = 0;
    int rc = -1;
    if (!added || !removed) {
        srv_refuse(e, CHAT_ERR_INTERNAL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < before->n; i++) {
        const srv_member *m = &before->items[i];
        enum srv_role role = SRV_ROLE_MEMBER;
        int err = SRV_OK;
        if (!in_roster(after, m->user_id, &role)) {
            removed[n_removed++] = m->username;
            err = st->ops->member_remove(st, g->ref, m->user_id, seq);
        } else if (role != m->role) {
            err = st->ops->member_add(st, g->ref, m->user_id, role, m->joined_seq);
        }
        if (err) {
            logic_refuse_store(e);
            goto out;
        }
    }
    for (size_t i = 0; i < after->n; i++) {
        int known = 0;
        for (size_t k = 0; k < before->n && !known; k++)
            known = before->items[k].user_id == after->items[i].user_id;
        if (known)
            continue;
        added[n_added++] = after->items[i].name;
        if (st->ops->member_add(st, g->ref, after->items[i].user_id, after->items[i].role,
                                seq)) {
            logic_refuse_store(e);
            goto out;
        }
        /* A pending invitation of the user is done (§7.8). */
        if (logic_invites_done(L, g->ref, after->items[i].name, e))
            goto out;
    }
    meta_list(meta, cap, "add", added, n_added);
    meta_list(meta, cap, "remove", removed, n_removed);
    strncat(meta, "}", cap - strlen(meta) - 1);
    rc = 0;
out:
    free(added);
    free(removed);
    return rc;
}

/* RFC 9420 §14: a Welcome reaches its invitee only because its commit
 * was accepted, in the same transaction.  It is stored once and each
 * recipient's entry refers to it (PROTOCOL §7.6). */
static int deliver_welcomes(srv_logic *L, const srv_user *u, const srv_group *g,
                            const srv_commit_req *r, const srv_commit_outcome *o, uint64_t seq,
                            int64_t now, srv_err *e)
{
    for (size_t w = 0; w < r->n_welcomes; w++) {
        mls_bytes welcome = r->welcomes[w].welcome;
        int64_t wid = 0;
        int stored = 0;
        for (size_t i = 0; i < o->n_deliveries; i++) {
            const srv_delivery *d = &o->deliveries[i];
            int64_t id = 0;
            if (d->welcome != w)
                continue;
            if (!stored && L->store->ops->welcome_add(L->store, welcome, r->group_info, now, &wid))
                return logic_refuse_store(e);
            stored = 1;
            if (logic_inbox_admit(L, d->to.id, d->to.name, welcome.n + r->group_info.n, e))
                return -1;
            if (L->store->ops->inbox_add(L->store, d->to.id, g->ref, seq, r->epoch + 1, u->id, wid,
                                         now, &id))
                return logic_refuse_store(e);
            srv_inbox_entry ie = {id, g, seq, r->epoch + 1, u->id, u->name, now, welcome,
                                  r->group_info};
            if (L->sink.on_inbox)
                L->sink.on_inbox(L->sink.ctx, d->to.id, &ie);
        }
    }
    return 0;
}

int srv_logic_commit(srv_logic *L, const srv_user *u, const srv_commit_req *r, uint64_t *seq,
                     uint64_t *new_epoch, int *duplicate, srv_err *e)
{
    srv_store *st = L->store;
    srv_group g;
    mls_public_group *pg = NULL;
    srv_commit_outcome oc;
    member_list before = {NULL, 0, 0};
    id_list roster = {NULL, 0, 0};
    char meta[4096] = "{";
    srv_log_ref prev;
    int rc = -1;
    memset(&oc, 0, sizeof oc);
    if (logic_need_caller(u, e) ||
        srv_logic_group_find(L, r->group, mls_bytes_of(NULL, 0), &g, e))
        goto out;
    /* A retry of an accepted commit gets its original result, also when
     * the commit removed the caller: by msg_id, or (without one) because
     * the commit accepted for that epoch is byte for byte this one. */
    int found = find_retry(L, u, &g, r->msg_id, 1, &prev, e);
    if (found == 0 && g.epoch > r->epoch) {
        int err = st->ops->log_find_commit(st, g.ref, r->epoch, u->id, r->commit, &prev);
        found = err == SRV_OK ? 1 : err == SRV_NOT_FOUND ? 0 : logic_refuse_store(e);
    }
    if (found) {
        if (found > 0) {
            *seq = prev.seq;
            *new_epoch = prev.epoch + 1;
            *duplicate = 1;
            rc = 0;
        }
        goto out;
    }
    if (commit_caller(L, u, &g, r->commit, e) || check_commit_objects(&g, r, e))
        goto out;
    /* First commit wins: a commit for another epoch is stale before it is
     * judged (the view is at the current epoch only). */
    if (r->epoch != g.epoch) {
        refuse_epoch(e, CHAT_ERR_STALE_EPOCH, r->epoch, g.epoch);
        goto out;
    }
    if (srv_validate_load(L, &g, &pg, e) || srv_validate_commit(L, pg, u, r, &oc, e))
        goto out;
    /* The compare-and-set on the epoch inside the transaction stays the
     * guard against a concurrent writer (several processes, Decision 8). */
    int err = st->ops->group_advance_epoch(st, g.ref, r->epoch);
    if (err == SRV_CONFLICT) {
        refuse_epoch(e, CHAT_ERR_STALE_EPOCH, r->epoch, g.epoch);
        goto out;
    }
    if (err || st->ops->member_list(st, g.ref, collect_id, &roster) ||
        st->ops->member_list(st, g.ref, collect_member, &before)) {
        logic_refuse_store(e);
        goto out;
    }
    int64_t now = logic_now(L);
    /* The log entry's seq is the next one: the roster changes carry it. */
    uint64_t next = g.last_seq + 1;
    if (apply_roster(L, &g, &before, &oc.roster, next, meta, sizeof meta, e))
        goto out;
    if (st->ops->log_append(st, g.ref, r->epoch, SRV_KIND_COMMIT, u->id, r->commit, meta,
                            r->msg_id, now, seq)) {
        logic_refuse_store(e);
        goto out;
    }
    if (*seq != next) {
        srv_refuse(e, CHAT_ERR_INTERNAL, "the log moved during the commit");
        goto out;
    }
    if (st->ops->group_set_info(st, g.ref, r->group_info)) {
        logic_refuse_store(e);
        goto out;
    }
    if (store_view(L, &g, pg, e) || deliver_welcomes(L, u, &g, r, &oc, *seq, now, e))
        goto out;
    *new_epoch = r->epoch + 1;
    *duplicate = 0;
    g.epoch = *new_epoch;
    g.last_seq = *seq;
    srv_log_entry le = {*seq, r->epoch, SRV_KIND_COMMIT, u->id, u->name, now, r->commit, meta};
    emit_log(L, &g, &le, &roster);
    srv_metrics_accepted(chat_kind_name(CHAT_KIND_COMMIT));
    rc = 0;
out:
    mls_public_group_free(pg);
    srv_commit_outcome_clear(&oc);
    free(before.items);
    free(roster.ids);
    return rc;
}

/* A message's retry (docs/PROTOCOL.md §7.7) is answered as the first time
 * was, whatever changed since (a member removed, the epoch moved on).
 * Where a new message is accepted the store's append finds a stored
 * msg_id itself (SRV_CONFLICT: the SQLite store before it changed
 * anything), so a message costs no lookup of its own; the lookup runs
 * only for a request refused otherwise, a conflict, or a proposal (whose
 * judgement writes the group's view, so it is not judged again). */
int srv_logic_send(srv_logic *L, const srv_user *u, const char *group, mls_bytes msg,
                   mls_bytes msg_id, uint64_t *seq, uint64_t *epoch, int *duplicate, srv_err *e)
{
    srv_store *st = L->store;
    srv_group g;
    srv_member me;
    srv_mls_header h;
    srv_log_ref prev;
    mls_public_group *pg = NULL;
    srv_err why;
    int rc = -1, found = 0, looked = 0;
    if (logic_need_caller(u, e) || srv_logic_group_find(L, group, mls_bytes_of(NULL, 0), &g, e))
        goto out;
    if (msg_id.n > SRV_MSG_ID_MAX) {
        srv_refuse(e, CHAT_ERR_BAD_REQUEST, "msg_id is at most %d bytes", SRV_MSG_ID_MAX);
        goto out;
    }
    if (member_of(L, u, &g, &me, e) || check_header(&g, msg, &h, e))
        goto refused;
    if (h.content_type == MLS_CONTENT_PROPOSAL) {
        found = find_retry(L, u, &g, msg_id, 0, &prev, e);
        looked = 1;
        if (found)
            goto retry;
    }
    if (h.content_type == MLS_CONTENT_COMMIT) {
        srv_refuse(e, CHAT_ERR_BAD_REQUEST, "commits go through group.commit");
        goto refused;
    }
    /* RFC 9420 §6: application data is only sent as PrivateMessage. */
    if (h.content_type == MLS_CONTENT_APPLICATION && h.wire_format != MLS_WIRE_PRIVATE_MESSAGE) {
        srv_refuse(e, CHAT_ERR_BAD_REQUEST, "application messages must be PrivateMessages");
        goto refused;
    }
    if (h.content_type == MLS_CONTENT_PROPOSAL) {
        /* A proposal is judged by the view of the current epoch, where a
         * commit may include it by reference (docs/PROTOCOL.md §7.5). */
        if (h.epoch != g.epoch) {
            refuse_epoch(e, CHAT_ERR_WRONG_EPOCH, h.epoch, g.epoch);
            goto refused;
        }
        if (srv_validate_load(L, &g, &pg, e) || srv_validate_proposal(L, pg, u, msg, e) ||
            store_view(L, &g, pg, e))
            goto refused;
    } else if (h.epoch > g.epoch || h.epoch + APP_EPOCH_WINDOW < g.epoch) {
        refuse_epoch(e, CHAT_ERR_WRONG_EPOCH, h.epoch, g.epoch);
        goto refused;
    }
    enum srv_kind kind =
        h.content_type == MLS_CONTENT_APPLICATION ? SRV_KIND_MESSAGE : SRV_KIND_PROPOSAL;
    int64_t now = logic_now(L);
    int err = st->ops->log_append(st, g.ref, h.epoch, kind, u->id, msg, NULL, msg_id, now, seq);
    if (err == SRV_CONFLICT && msg_id.n) {
        /* Stored already.  What this change did is undone (a store may
         * have bumped the sequence before its insert failed), then the
         * first answer is looked up. */
        if (st->ops->change_end(st, 0) || st->ops->change_begin(st)) {
            logic_refuse_store(e);
            goto out;
        }
        found = find_retry(L, u, &g, msg_id, 0, &prev, e);
        if (!found)
            logic_refuse_store(e);
        goto retry;
    }
    if (err) {
        logic_refuse_store(e);
        goto out;
    }
    *epoch = h.epoch;
    *duplicate = 0;
    g.last_seq = *seq;
    srv_log_entry le = {*seq, h.epoch, kind, u->id, u->name, now, msg, NULL};
    /* Neither changes the roster: the event is for the members on it. */
    emit_log(L, &g, &le, NULL);
    srv_metrics_accepted(
        chat_kind_name(kind == SRV_KIND_MESSAGE ? CHAT_KIND_MESSAGE : CHAT_KIND_PROPOSAL));
    rc = 0;
    goto out;
refused:
    /* Refused as new; a retry of an accepted message still gets its
     * answer, and a msg_id used for a commit its own refusal (a proposal
     * was looked up before it was judged, and its refusal stands: what
     * its judgement wrote is undone with it). */
    if (!looked) {
        why = *e;
        found = find_retry(L, u, &g, msg_id, 0, &prev, e);
        if (!found)
            *e = why;
    }
retry:
    if (found > 0) {
        *seq = prev.seq;
        *epoch = prev.epoch;
        *duplicate = 1;
        rc = 0;
    }
out:
    mls_public_group_free(pg);
    return rc;
}

/* ------------------------------------------------------------ log.fetch */

typedef struct fetch_count {
    srv_log_cb cb;
    void *ctx;
    size_t n, bytes, budget;
    uint64_t last;
    int full; /* the byte budget ended the page */
} fetch_count;

/* A page never grows past its byte budget: the entry that would cross it
 * is left for the next page (the first entry always fits: it is at most
 * --max-message, well under the budget). */
static int count_entry(void *ctx, const srv_log_entry *le)
{
    fetch_count *f = ctx;
    size_t cost = logic_page_cost(le->data.n) + (le->meta ? strlen(le->meta) : 0);
    if (f->budget && f->n > 0 && f->bytes + cost > f->budget) {
        f->full = 1;
        return SRV_STOP;
    }
    f->n++;
    f->bytes += cost;
    f->last = le->seq;
    return f->cb(f->ctx, le);
}

int srv_logic_fetch(srv_logic *L, const srv_user *caller, const char *group, uint64_t after,
                    int limit, srv_log_cb cb, void *ctx, srv_group *g, uint64_t *last_seq,
                    int *more, srv_err *e)
{
    srv_store *st = L->store;
    srv_member m;
    uint64_t first = 0;
    if (logic_need_caller(caller, e) ||
        srv_logic_group_find(L, group, mls_bytes_of(NULL, 0), g, e))
        return -1;
    /* A member who left still reads up to its removal (PROTOCOL §7.5). */
    int err = st->ops->member_get(st, g->ref, caller->id, &m);
    if (err == SRV_NOT_FOUND)
        return srv_refuse(e, CHAT_ERR_NOT_MEMBER, "you were never on the roster of '%s'", group);
    if (err || st->ops->log_first_seq(st, g->ref, &first))
        return logic_refuse_store(e);
    /* Entries before joining belong to epochs the member cannot read; the
     * commit that added it reached it as a Welcome. */
    uint64_t start = after > m.joined_seq ? after : m.joined_seq;
    if (start + 1 < first) {
        srv_refuse(e, CHAT_ERR_CURSOR_EXPIRED, "entries after %llu were purged; oldest is %llu",
                   (unsigned long long)start, (unsigned long long)first);
        e->extra_key = "first_seq";
        e->extra = (int64_t)first;
        return -1;
    }
    uint64_t upto = m.left ? m.left_seq : UINT64_MAX;
    fetch_count f = {cb, ctx, 0, 0, L->limits.page_bytes, 0, 0};
    if (st->ops->log_fetch(st, g->ref, start, upto, limit, count_entry, &f))
        return logic_refuse_store(e);
    *last_seq = g->last_seq < upto ? g->last_seq : upto;
    *more = (f.full || f.n == (size_t)limit) && f.last < *last_seq;
    return 0;
}
