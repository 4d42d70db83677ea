/* Delivery rules of groups: registry, group.info's access rule,
 * first-commit-wins, the ordered log and the inbox (docs/PROTOCOL.md §7). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logic.h"
#include "logic_int.h"
#include "metrics.h"
#include "mlsmsg.h"

/* Window of epochs for application messages: the current one and the one
 * before it (docs/PROTOCOL.md §7.5). */
#define APP_EPOCH_WINDOW 1

int srv_logic_group_create(srv_logic *L, const srv_user *caller, const char *name,
                           mls_bytes gid, uint64_t epoch, srv_group *out, srv_err *e)
{
    srv_store *st = L->store;
    srv_group g;
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
    int64_t ref = 0;
    err = st->ops->group_create(st, name, gid, epoch, caller->id, logic_now(L), &ref);
    if (err == SRV_CONFLICT)
        return srv_refuse(e, CHAT_ERR_GROUP_EXISTS, "group '%s' exists", name);
    if (!err)
        err = st->ops->member_add(st, ref, caller->id, SRV_ROLE_ADMIN, 0);
    if (err)
        return logic_refuse_store(e);
    memset(out, 0, sizeof *out);
    out->ref = ref;
    snprintf(out->name, sizeof out->name, "%s", name);
    memcpy(out->gid, gid.p, gid.n);
    out->gid_len = gid.n;
    out->epoch = epoch;
    out->admin_id = caller->id;
    return 0;
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

static void emit_log(srv_logic *L, const srv_group *g, const srv_log_entry *le, const id_list *to)
{
    if (L->sink.on_log)
        L->sink.on_log(L->sink.ctx, g, le, to->ids, to->n);
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

static int in_list(const char **list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return 1;
    return 0;
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

/* Roster checks of docs/PROTOCOL.md §7.4, and the resolved user ids. */
static int check_roster(srv_logic *L, const srv_user *u, const srv_member *me,
                        const srv_group *g, const srv_commit_req *r, srv_user *added,
                        srv_user *removed, srv_err *e)
{
    srv_store *st = L->store;
    for (size_t i = 0; i < r->n_add; i++) {
        srv_member m;
        if (in_list(r->add, i, r->add[i]))
            return srv_refuse(e, CHAT_ERR_BAD_ROSTER, "'%s' is added twice", r->add[i]);
        int err = st->ops->user_by_name(st, r->add[i], &added[i]);
        if (err == SRV_NOT_FOUND)
            return srv_refuse(e, CHAT_ERR_UNKNOWN_USER, "no user named '%s'", r->add[i]);
        if (err)
            return logic_refuse_store(e);
        err = st->ops->member_get(st, g->ref, added[i].id, &m);
        if (err == SRV_OK && !m.left)
            return srv_refuse(e, CHAT_ERR_BAD_ROSTER, "'%s' is already a member", r->add[i]);
        if (err && err != SRV_NOT_FOUND)
            return logic_refuse_store(e);
        int welcomed = 0;
        for (size_t w = 0; w < r->n_welcomes && !welcomed; w++)
            welcomed = in_list(r->welcomes[w].recipients, r->welcomes[w].n_recipients, r->add[i]);
        if (!welcomed)
            return srv_refuse(e, CHAT_ERR_BAD_ROSTER, "added user '%s' has no Welcome",
                              r->add[i]);
    }
    for (size_t w = 0; w < r->n_welcomes; w++)
        for (size_t k = 0; k < r->welcomes[w].n_recipients; k++)
            if (!in_list(r->add, r->n_add, r->welcomes[w].recipients[k]))
                return srv_refuse(e, CHAT_ERR_BAD_ROSTER, "Welcome recipient '%s' is not in add",
                                  r->welcomes[w].recipients[k]);
    for (size_t i = 0; i < r->n_remove; i++) {
        srv_member m;
        if (in_list(r->remove, i, r->remove[i]) || in_list(r->add, r->n_add, r->remove[i]))
            return srv_refuse(e, CHAT_ERR_BAD_ROSTER, "'%s' is listed twice", r->remove[i]);
        int err = st->ops->user_by_name(st, r->remove[i], &removed[i]);
        if (err == SRV_OK)
            err = st->ops->member_get(st, g->ref, removed[i].id, &m);
        if (err == SRV_NOT_FOUND || (!err && m.left))
            return srv_refuse(e, CHAT_ERR_BAD_ROSTER, "'%s' is not a member", r->remove[i]);
        if (err)
            return logic_refuse_store(e);
        int self = removed[i].id == u->id;
        if (self && me->role == SRV_ROLE_ADMIN)
            return srv_refuse(e, CHAT_ERR_FORBIDDEN, "the administrator cannot leave the group");
        if (!self && me->role != SRV_ROLE_ADMIN)
            return srv_refuse(e, CHAT_ERR_FORBIDDEN, "only the administrator can remove members");
    }
    if (r->n_add && me->role != SRV_ROLE_ADMIN)
        return srv_refuse(e, CHAT_ERR_FORBIDDEN, "only the administrator can add members");
    return 0;
}

static int check_commit_objects(const srv_group *g, const srv_commit_req *r, srv_err *e)
{
    const char *why = "malformed";
    srv_mls_header h;
    if (check_header(g, r->commit, &h, e))
        return -1;
    if (h.content_type != MLS_CONTENT_COMMIT)
        return srv_refuse(e, CHAT_ERR_BAD_REQUEST, "commit does not hold a Commit");
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
        if (!srv_mls_header_group_is(&gi, mls_bytes_of(g->gid, g->gid_len)) ||
            gi.epoch != r->epoch + 1)
            return srv_refuse(e, CHAT_ERR_BAD_REQUEST,
                              "group_info is not for this group's next epoch");
    }
    return 0;
}

static int apply_commit(srv_logic *L, const srv_user *u, const srv_group *g,
                        const srv_commit_req *r, const srv_user *added, const srv_user *removed,
                        uint64_t seq, int64_t now, srv_err *e)
{
    srv_store *st = L->store;
    for (size_t i = 0; i < r->n_add; i++)
        if (st->ops->member_add(st, g->ref, added[i].id, SRV_ROLE_MEMBER, seq))
            return logic_refuse_store(e);
    for (size_t i = 0; i < r->n_remove; i++)
        if (st->ops->member_remove(st, g->ref, removed[i].id, seq))
            return logic_refuse_store(e);
    if (r->group_info.n && st->ops->group_set_info(st, g->ref, r->group_info))
        return logic_refuse_store(e);
    /* RFC 9420 §14: the Welcome reaches the invitee only because its
     * commit was accepted, in the same transaction.  It is stored once
     * and each recipient's entry refers to it (PROTOCOL §7.6). */
    for (size_t w = 0; w < r->n_welcomes; w++) {
        int64_t wid = 0;
        if (st->ops->welcome_add(st, r->welcomes[w].welcome, r->group_info, now, &wid))
            return logic_refuse_store(e);
        for (size_t k = 0; k < r->welcomes[w].n_recipients; k++) {
            const srv_user *to = NULL;
            for (size_t i = 0; i < r->n_add && !to; i++)
                if (strcmp(added[i].name, r->welcomes[w].recipients[k]) == 0)
                    to = &added[i];
            int64_t id = 0;
            if (!to)
                return logic_refuse_store(e);
            if (logic_inbox_admit(L, to->id, to->name,
                                  r->welcomes[w].welcome.n + r->group_info.n, e))
                return -1;
            if (st->ops->inbox_add(st, to->id, g->ref, seq, r->epoch + 1, u->id, wid, now, &id))
                return logic_refuse_store(e);
            srv_inbox_entry ie = {id, g, seq, r->epoch + 1, u->id, u->name, now,
                                  r->welcomes[w].welcome, r->group_info};
            if (L->sink.on_inbox)
                L->sink.on_inbox(L->sink.ctx, to->id, &ie);
        }
    }
    return 0;
}

int srv_logic_commit(srv_logic *L, const srv_user *u, const srv_commit_req *r, uint64_t *seq,
                     uint64_t *new_epoch, int *duplicate, srv_err *e)
{
    srv_store *st = L->store;
    srv_group g;
    srv_member me;
    srv_user *added = NULL, *removed = NULL;
    id_list roster = {NULL, 0, 0};
    char meta[4096] = "{";
    srv_log_ref prev;
    int rc = -1;
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
    if (member_of(L, u, &g, &me, e) || check_commit_objects(&g, r, e))
        goto out;
    added = calloc(r->n_add + 1, sizeof *added);
    removed = calloc(r->n_remove + 1, sizeof *removed);
    if (!added || !removed) {
        srv_refuse(e, CHAT_ERR_INTERNAL, "out of memory");
        goto out;
    }
    /* First commit wins: compare-and-set on the epoch inside the
     * transaction; anything else is stale. */
    int err = st->ops->group_advance_epoch(st, g.ref, r->epoch);
    if (err == SRV_CONFLICT) {
        refuse_epoch(e, CHAT_ERR_STALE_EPOCH, r->epoch, g.epoch);
        goto out;
    }
    if (err) {
        logic_refuse_store(e);
        goto out;
    }
    if (check_roster(L, u, &me, &g, r, added, removed, e))
        goto out;
    if (st->ops->member_list(st, g.ref, collect_id, &roster)) {
        logic_refuse_store(e);
        goto out;
    }
    meta_list(meta, sizeof meta, "add", r->add, r->n_add);
    meta_list(meta, sizeof meta, "remove", r->remove, r->n_remove);
    strncat(meta, "}", sizeof meta - strlen(meta) - 1);
    int64_t now = logic_now(L);
    if (st->ops->log_append(st, g.ref, r->epoch, SRV_KIND_COMMIT, u->id, r->commit, meta,
                            r->msg_id, now, seq)) {
        logic_refuse_store(e);
        goto out;
    }
    if (apply_commit(L, u, &g, r, added, removed, *seq, now, e))
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
    free(added);
    free(removed);
    free(roster.ids);
    return rc;
}

int srv_logic_send(srv_logic *L, const srv_user *u, const char *group, mls_bytes msg,
                   mls_bytes msg_id, uint64_t *seq, uint64_t *epoch, int *duplicate, srv_err *e)
{
    srv_store *st = L->store;
    srv_group g;
    srv_member me;
    srv_mls_header h;
    srv_log_ref prev;
    id_list roster = {NULL, 0, 0};
    int rc = -1;
    if (logic_need_caller(u, e) || srv_logic_group_find(L, group, mls_bytes_of(NULL, 0), &g, e))
        goto out;
    int found = find_retry(L, u, &g, msg_id, 0, &prev, e);
    if (found) {
        if (found > 0) {
            *seq = prev.seq;
            *epoch = prev.epoch;
            *duplicate = 1;
            rc = 0;
        }
        goto out;
    }
    if (member_of(L, u, &g, &me, e) || check_header(&g, msg, &h, e))
        goto out;
    if (h.content_type == MLS_CONTENT_COMMIT) {
        srv_refuse(e, CHAT_ERR_BAD_REQUEST, "commits go through group.commit");
        goto out;
    }
    /* RFC 9420 §6: application data is only sent as PrivateMessage. */
    if (h.content_type == MLS_CONTENT_APPLICATION && h.wire_format != MLS_WIRE_PRIVATE_MESSAGE) {
        srv_refuse(e, CHAT_ERR_BAD_REQUEST, "application messages must be PrivateMessages");
        goto out;
    }
    if (h.epoch > g.epoch || h.epoch + APP_EPOCH_WINDOW < g.epoch) {
        refuse_epoch(e, CHAT_ERR_WRONG_EPOCH, h.epoch, g.epoch);
        goto out;
    }
    if (st->ops->member_list(st, g.ref, collect_id, &roster)) {
        logic_refuse_store(e);
        goto out;
    }
    enum srv_kind kind =
        h.content_type == MLS_CONTENT_APPLICATION ? SRV_KIND_MESSAGE : SRV_KIND_PROPOSAL;
    int64_t now = logic_now(L);
    if (st->ops->log_append(st, g.ref, h.epoch, kind, u->id, msg, NULL, msg_id, now, seq)) {
        logic_refuse_store(e);
        goto out;
    }
    *epoch = h.epoch;
    *duplicate = 0;
    g.last_seq = *seq;
    srv_log_entry le = {*seq, h.epoch, kind, u->id, u->name, now, msg, NULL};
    emit_log(L, &g, &le, &roster);
    srv_metrics_accepted(
        chat_kind_name(kind == SRV_KIND_MESSAGE ? CHAT_KIND_MESSAGE : CHAT_KIND_PROPOSAL));
    rc = 0;
out:
    free(roster.ids);
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
