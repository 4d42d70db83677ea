/* Delivery rules: directory, KeyPackages, groups, log, inbox. */
#include "logic.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kpcheck.h"
#include "metrics.h"
#include "mlsmsg.h"
#include "names.h"
#include "mls/inspect.h"

/* Window of epochs for application messages: the current one and the one
 * before it (docs/PROTOCOL.md §7.5). */
#define APP_EPOCH_WINDOW 1
#define CLAIM_BURST 10.0

int srv_refuse(srv_err *e, const char *code, const char *fmt, ...)
{
    va_list ap;
    e->code = code;
    e->extra_key = NULL;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

static int refuse_store(srv_err *e)
{
    return srv_refuse(e, "internal", "storage failure; nothing was changed");
}

static int refuse_username(srv_err *e)
{
    return srv_refuse(e, "bad_username",
                      "usernames are 1-32 characters a-z 0-9 _ - . starting with a letter or "
                      "digit");
}

int srv_valid_username(const char *name)
{
    return chat_valid_name(name, SRV_USERNAME_MAX);
}

int srv_valid_group_name(const char *name)
{
    return chat_valid_name(name, SRV_NAME_MAX);
}

/* ------------------------------------------------------------ directory */

int srv_logic_register(srv *s, const char *username, uint16_t suite, mls_bytes key,
                       srv_user *out, srv_err *e)
{
    srv_store *st = s->store;
    srv_user existing;
    if (!srv_valid_username(username))
        return refuse_username(e);
    if (!mls_suite_supported(suite))
        return srv_refuse(e, "unsupported_suite", "cipher suite %u is not supported", suite);
    if (!srv_auth_key_ok(suite, key))
        return srv_refuse(e, "bad_key", "signature key has the wrong length for suite %u",
                          suite);
    int err = st->ops->user_by_name(st, username, &existing);
    if (err == SRV_OK)
        return srv_refuse(e, "username_taken", "username '%s' is already registered", username);
    if (err != SRV_NOT_FOUND)
        return refuse_store(e);
    err = st->ops->user_by_key(st, key, &existing);
    if (err == SRV_OK)
        return srv_refuse(e, "bad_key", "this signature key belongs to another user");
    if (err != SRV_NOT_FOUND)
        return refuse_store(e);
    int64_t id = 0;
    err = st->ops->user_create(st, username, suite, key, srv_time(), &id);
    if (err == SRV_CONFLICT)
        return srv_refuse(e, "username_taken", "username '%s' is already registered", username);
    if (err)
        return refuse_store(e);
    memset(out, 0, sizeof *out);
    out->id = id;
    snprintf(out->name, sizeof out->name, "%s", username);
    out->suite = suite;
    memcpy(out->key, key.p, key.n);
    out->key_len = key.n;
    return 0;
}

int srv_logic_rename(srv *s, srv_user *u, const char *username, srv_err *e)
{
    srv_store *st = s->store;
    srv_user other;
    if (!srv_valid_username(username))
        return refuse_username(e);
    int err = st->ops->user_by_name(st, username, &other);
    if (err == SRV_OK)
        return other.id == u->id ? 0
                                 : srv_refuse(e, "username_taken", "username '%s' is taken",
                                              username);
    if (err != SRV_NOT_FOUND)
        return refuse_store(e);
    err = st->ops->user_rename(st, u->id, username);
    if (err == SRV_CONFLICT)
        return srv_refuse(e, "username_taken", "username '%s' is taken", username);
    /* Stored KeyPackages name the old identity in their credential. */
    if (!err)
        err = st->ops->kp_delete_user(st, u->id);
    if (err)
        return refuse_store(e);
    snprintf(u->name, sizeof u->name, "%s", username);
    return 0;
}

/* ------------------------------------------------------------ KeyPackages */

int srv_logic_kp_upload(srv *s, const srv_user *u, const mls_bytes *kps, size_t n,
                        int last_resort, srv_err *e)
{
    srv_store *st = s->store;
    int64_t now = srv_time();
    srv_kp_expect x = {u->suite, mls_bytes_of(u->key, u->key_len), u->name, (uint64_t)now};
    if (n == 0)
        return srv_refuse(e, "bad_request", "key_packages is empty");
    if (last_resort && n != 1)
        return srv_refuse(e, "bad_request", "a last-resort upload holds exactly one KeyPackage");
    if (last_resort && st->ops->kp_drop_last_resort(st, u->id))
        return refuse_store(e);
    for (size_t i = 0; i < n; i++) {
        srv_kp_info info;
        const char *why = "invalid";
        int verr = srv_kp_validate(kps[i], &x, &info, &why);
        if (verr) {
            srv_refuse(e, verr == MLS_ERR_MALFORMED ? "malformed_mls" : "invalid_key_package",
                       "KeyPackage %zu: %s", i, why);
            e->extra_key = "index";
            e->extra = (int64_t)i;
            return -1;
        }
        if (st->ops->kp_add(st, u->id, info.key_package, last_resort, info.not_after, now))
            return refuse_store(e);
    }
    return 0;
}

int srv_logic_kp_claim(srv *s, srv_user_state *requester, const char *username, srv_user *target,
                       mls_buf *kp, int *last_resort, srv_err *e)
{
    srv_store *st = s->store;
    int wait = srv_bucket_take(&requester->claims, s->cfg.claim_rate / 60.0,
                               s->cfg.claim_rate < CLAIM_BURST ? s->cfg.claim_rate : CLAIM_BURST,
                               srv_now_us());
    if (wait) {
        srv_refuse(e, "rate_limited", "too many KeyPackage claims; retry in %d s", wait);
        e->extra_key = "retry_after";
        e->extra = wait;
        return -1;
    }
    int err = st->ops->user_by_name(st, username, target);
    if (err == SRV_NOT_FOUND)
        return srv_refuse(e, "unknown_user", "no user named '%s'", username);
    if (err)
        return refuse_store(e);
    err = st->ops->kp_claim(st, target->id, srv_time(), kp, last_resort);
    if (err == SRV_NOT_FOUND)
        return srv_refuse(e, "no_key_package", "'%s' has no KeyPackage left", username);
    if (err)
        return refuse_store(e);
    srv_metrics_claimed();
    return 0;
}

/* ------------------------------------------------------------ groups */

int srv_logic_group_create(srv *s, const srv_user *u, const char *name, mls_bytes gid,
                           uint64_t epoch, srv_group *out, srv_err *e)
{
    srv_store *st = s->store;
    srv_group g;
    if (!srv_valid_group_name(name))
        return srv_refuse(e, "bad_group_name",
                          "group names are 1-64 characters a-z 0-9 _ - . starting with a letter "
                          "or digit");
    if (gid.n == 0 || gid.n > SRV_GROUP_ID_MAX)
        return srv_refuse(e, "bad_request", "group_id must be 1 to 255 bytes");
    int err = st->ops->group_by_name(st, name, &g);
    if (err == SRV_OK)
        return srv_refuse(e, "group_exists", "group '%s' exists", name);
    if (err == SRV_NOT_FOUND)
        err = st->ops->group_by_gid(st, gid, &g);
    if (err == SRV_OK)
        return srv_refuse(e, "group_exists", "this MLS group id is already registered");
    if (err != SRV_NOT_FOUND)
        return refuse_store(e);
    int64_t ref = 0;
    err = st->ops->group_create(st, name, gid, epoch, u->id, srv_time(), &ref);
    if (err == SRV_CONFLICT)
        return srv_refuse(e, "group_exists", "group '%s' exists", name);
    if (!err)
        err = st->ops->member_add(st, ref, u->id, SRV_ROLE_ADMIN, 0);
    if (err)
        return refuse_store(e);
    memset(out, 0, sizeof *out);
    out->ref = ref;
    snprintf(out->name, sizeof out->name, "%s", name);
    memcpy(out->gid, gid.p, gid.n);
    out->gid_len = gid.n;
    out->epoch = epoch;
    out->admin_id = u->id;
    return 0;
}

int srv_logic_group_find(srv *s, const char *name, mls_bytes gid, srv_group *out, srv_err *e)
{
    srv_store *st = s->store;
    int err = name ? st->ops->group_by_name(st, name, out) : st->ops->group_by_gid(st, gid, out);
    if (err == SRV_NOT_FOUND)
        return srv_refuse(e, "unknown_group", "no group named '%s'", name ? name : "(by id)");
    return err ? refuse_store(e) : 0;
}

/* The caller's current membership of g. */
static int member_of(srv *s, const srv_user *u, const srv_group *g, srv_member *m, srv_err *e)
{
    int err = s->store->ops->member_get(s->store, g->ref, u->id, m);
    if (err == SRV_NOT_FOUND || (!err && m->left))
        return srv_refuse(e, "not_member", "you are not on the roster of '%s'", g->name);
    return err ? refuse_store(e) : 0;
}

/* A retry of a request already accepted (docs/PROTOCOL.md §7.7): 1 with
 * *ref set if u stored msg_id in g, 0 if not, -1 refused. */
static int find_retry(srv *s, const srv_user *u, const srv_group *g, mls_bytes msg_id,
                      int commit, srv_log_ref *ref, srv_err *e)
{
    if (msg_id.n == 0)
        return 0;
    if (msg_id.n > SRV_MSG_ID_MAX)
        return srv_refuse(e, "bad_request", "msg_id is at most %d bytes", SRV_MSG_ID_MAX);
    int err = s->store->ops->log_find_msg_id(s->store, g->ref, u->id, msg_id, ref);
    if (err == SRV_NOT_FOUND)
        return 0;
    if (err)
        return refuse_store(e);
    if ((ref->kind == SRV_KIND_COMMIT) != commit)
        return srv_refuse(e, "bad_request", "msg_id was used for a %s",
                          commit ? "group.send" : "group.commit");
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

static int check_header(const srv_group *g, mls_bytes msg, srv_mls_header *h, srv_err *e)
{
    const char *why = "malformed";
    if (srv_mls_read_header(msg, h, &why))
        return srv_refuse(e, "malformed_mls", "%s", why);
    if (!srv_mls_header_group_is(h, mls_bytes_of(g->gid, g->gid_len)))
        return srv_refuse(e, "wrong_group", "the message's group_id is not that of '%s'",
                          g->name);
    return 0;
}

static int refuse_epoch(srv_err *e, const char *code, uint64_t got, uint64_t current)
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
static int check_roster(srv *s, const srv_user *u, const srv_member *me, const srv_group *g,
                        const srv_commit_req *r, srv_user *added, srv_user *removed, srv_err *e)
{
    srv_store *st = s->store;
    for (size_t i = 0; i < r->n_add; i++) {
        srv_member m;
        if (in_list(r->add, i, r->add[i]))
            return srv_refuse(e, "bad_roster", "'%s' is added twice", r->add[i]);
        int err = st->ops->user_by_name(st, r->add[i], &added[i]);
        if (err == SRV_NOT_FOUND)
            return srv_refuse(e, "unknown_user", "no user named '%s'", r->add[i]);
        if (err)
            return refuse_store(e);
        err = st->ops->member_get(st, g->ref, added[i].id, &m);
        if (err == SRV_OK && !m.left)
            return srv_refuse(e, "bad_roster", "'%s' is already a member", r->add[i]);
        if (err && err != SRV_NOT_FOUND)
            return refuse_store(e);
        int welcomed = 0;
        for (size_t w = 0; w < r->n_welcomes && !welcomed; w++)
            welcomed = in_list(r->welcomes[w].recipients, r->welcomes[w].n_recipients, r->add[i]);
        if (!welcomed)
            return srv_refuse(e, "bad_roster", "added user '%s' has no Welcome", r->add[i]);
    }
    for (size_t w = 0; w < r->n_welcomes; w++)
        for (size_t k = 0; k < r->welcomes[w].n_recipients; k++)
            if (!in_list(r->add, r->n_add, r->welcomes[w].recipients[k]))
                return srv_refuse(e, "bad_roster", "Welcome recipient '%s' is not in add",
                                  r->welcomes[w].recipients[k]);
    for (size_t i = 0; i < r->n_remove; i++) {
        srv_member m;
        if (in_list(r->remove, i, r->remove[i]) || in_list(r->add, r->n_add, r->remove[i]))
            return srv_refuse(e, "bad_roster", "'%s' is listed twice", r->remove[i]);
        int err = st->ops->user_by_name(st, r->remove[i], &removed[i]);
        if (err == SRV_OK)
            err = st->ops->member_get(st, g->ref, removed[i].id, &m);
        if (err == SRV_NOT_FOUND || (!err && m.left))
            return srv_refuse(e, "bad_roster", "'%s' is not a member", r->remove[i]);
        if (err)
            return refuse_store(e);
        int self = removed[i].id == u->id;
        if (self && me->role == SRV_ROLE_ADMIN)
            return srv_refuse(e, "forbidden", "the administrator cannot leave the group");
        if (!self && me->role != SRV_ROLE_ADMIN)
            return srv_refuse(e, "forbidden", "only the administrator can remove members");
    }
    if (r->n_add && me->role != SRV_ROLE_ADMIN)
        return srv_refuse(e, "forbidden", "only the administrator can add members");
    return 0;
}

static int check_commit_objects(const srv_group *g, const srv_commit_req *r, srv_err *e)
{
    const char *why = "malformed";
    srv_mls_header h;
    if (check_header(g, r->commit, &h, e))
        return -1;
    if (h.content_type != MLS_CONTENT_COMMIT)
        return srv_refuse(e, "bad_request", "commit does not hold a Commit");
    if (h.epoch != r->epoch)
        return srv_refuse(e, "bad_request", "commit's epoch %llu differs from the request's %llu",
                          (unsigned long long)h.epoch, (unsigned long long)r->epoch);
    for (size_t w = 0; w < r->n_welcomes; w++)
        if (srv_mls_check_welcome(r->welcomes[w].welcome, &why))
            return srv_refuse(e, "malformed_mls", "welcome %zu: %s", w, why);
    if (r->group_info.n) {
        srv_mls_header gi;
        if (srv_mls_check_group_info(r->group_info, &gi, &why))
            return srv_refuse(e, "malformed_mls", "group_info: %s", why);
        if (!srv_mls_header_group_is(&gi, mls_bytes_of(g->gid, g->gid_len)) ||
            gi.epoch != r->epoch + 1)
            return srv_refuse(e, "bad_request",
                              "group_info is not for this group's next epoch");
    }
    return 0;
}

static int apply_commit(srv *s, const srv_user *u, const srv_group *g, const srv_commit_req *r,
                        const srv_user *added, const srv_user *removed, uint64_t seq,
                        srv_err *e)
{
    srv_store *st = s->store;
    int64_t now = srv_time();
    for (size_t i = 0; i < r->n_add; i++)
        if (st->ops->member_add(st, g->ref, added[i].id, SRV_ROLE_MEMBER, seq))
            return refuse_store(e);
    for (size_t i = 0; i < r->n_remove; i++)
        if (st->ops->member_remove(st, g->ref, removed[i].id, seq))
            return refuse_store(e);
    if (r->group_info.n && st->ops->group_set_info(st, g->ref, r->group_info))
        return refuse_store(e);
    /* RFC 9420 §14: the Welcome reaches the invitee only because its
     * commit was accepted, in the same transaction. */
    for (size_t w = 0; w < r->n_welcomes; w++) {
        for (size_t k = 0; k < r->welcomes[w].n_recipients; k++) {
            const srv_user *to = NULL;
            for (size_t i = 0; i < r->n_add && !to; i++)
                if (strcmp(added[i].name, r->welcomes[w].recipients[k]) == 0)
                    to = &added[i];
            int64_t id = 0;
            if (!to || st->ops->inbox_add(st, to->id, g->ref, seq, r->epoch + 1, u->id,
                                          r->welcomes[w].welcome, r->group_info, now, &id))
                return refuse_store(e);
            srv_inbox_entry ie = {id, g, seq, r->epoch + 1, u->id, u->name, now,
                                  r->welcomes[w].welcome, r->group_info};
            srv_push_inbox(s, to->id, &ie);
        }
    }
    return 0;
}

int srv_logic_commit(srv *s, const srv_user *u, const srv_commit_req *r, uint64_t *seq,
                     uint64_t *new_epoch, int *duplicate, srv_err *e)
{
    srv_store *st = s->store;
    srv_group g;
    srv_member me;
    srv_user *added = NULL, *removed = NULL;
    id_list roster = {NULL, 0, 0};
    char meta[4096] = "{";
    srv_log_ref prev;
    int rc = -1;
    if (srv_logic_group_find(s, r->group, mls_bytes_of(NULL, 0), &g, e))
        goto out;
    /* A retry of an accepted commit gets its original result, also when
     * the commit removed the caller: by msg_id, or (without one) because
     * the commit accepted for that epoch is byte for byte this one. */
    int found = find_retry(s, u, &g, r->msg_id, 1, &prev, e);
    if (found == 0 && g.epoch > r->epoch) {
        int err = st->ops->log_find_commit(st, g.ref, r->epoch, u->id, r->commit, &prev);
        found = err == SRV_OK ? 1 : err == SRV_NOT_FOUND ? 0 : refuse_store(e);
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
    if (member_of(s, u, &g, &me, e) || check_commit_objects(&g, r, e))
        goto out;
    added = calloc(r->n_add + 1, sizeof *added);
    removed = calloc(r->n_remove + 1, sizeof *removed);
    if (!added || !removed) {
        srv_refuse(e, "internal", "out of memory");
        goto out;
    }
    /* First commit wins: compare-and-set on the epoch inside the
     * transaction; anything else is stale. */
    int err = st->ops->group_advance_epoch(st, g.ref, r->epoch);
    if (err == SRV_CONFLICT) {
        refuse_epoch(e, "stale_epoch", r->epoch, g.epoch);
        goto out;
    }
    if (err) {
        refuse_store(e);
        goto out;
    }
    if (check_roster(s, u, &me, &g, r, added, removed, e))
        goto out;
    if (st->ops->member_list(st, g.ref, collect_id, &roster)) {
        refuse_store(e);
        goto out;
    }
    meta_list(meta, sizeof meta, "add", r->add, r->n_add);
    meta_list(meta, sizeof meta, "remove", r->remove, r->n_remove);
    strncat(meta, "}", sizeof meta - strlen(meta) - 1);
    int64_t now = srv_time();
    if (st->ops->log_append(st, g.ref, r->epoch, SRV_KIND_COMMIT, u->id, r->commit, meta,
                            r->msg_id, now, seq)) {
        refuse_store(e);
        goto out;
    }
    if (apply_commit(s, u, &g, r, added, removed, *seq, e))
        goto out;
    *new_epoch = r->epoch + 1;
    *duplicate = 0;
    g.epoch = *new_epoch;
    g.last_seq = *seq;
    srv_log_entry le = {*seq, r->epoch, SRV_KIND_COMMIT, u->id, u->name, now, r->commit, meta};
    srv_push_log(s, &g, &le, roster.ids, roster.n);
    srv_metrics_accepted("commit");
    rc = 0;
out:
    free(added);
    free(removed);
    free(roster.ids);
    return rc;
}

int srv_logic_send(srv *s, const srv_user *u, const char *group, mls_bytes msg,
                   mls_bytes msg_id, uint64_t *seq, uint64_t *epoch, int *duplicate, srv_err *e)
{
    srv_store *st = s->store;
    srv_group g;
    srv_member me;
    srv_mls_header h;
    srv_log_ref prev;
    id_list roster = {NULL, 0, 0};
    int rc = -1;
    if (srv_logic_group_find(s, group, mls_bytes_of(NULL, 0), &g, e))
        goto out;
    int found = find_retry(s, u, &g, msg_id, 0, &prev, e);
    if (found) {
        if (found > 0) {
            *seq = prev.seq;
            *epoch = prev.epoch;
            *duplicate = 1;
            rc = 0;
        }
        goto out;
    }
    if (member_of(s, u, &g, &me, e) || check_header(&g, msg, &h, e))
        goto out;
    if (h.content_type == MLS_CONTENT_COMMIT) {
        srv_refuse(e, "bad_request", "commits go through group.commit");
        goto out;
    }
    /* RFC 9420 §6: application data is only sent as PrivateMessage. */
    if (h.content_type == MLS_CONTENT_APPLICATION && h.wire_format != MLS_WIRE_PRIVATE_MESSAGE) {
        srv_refuse(e, "bad_request", "application messages must be PrivateMessages");
        goto out;
    }
    if (h.epoch > g.epoch || h.epoch + APP_EPOCH_WINDOW < g.epoch) {
        refuse_epoch(e, "wrong_epoch", h.epoch, g.epoch);
        goto out;
    }
    if (st->ops->member_list(st, g.ref, collect_id, &roster)) {
        refuse_store(e);
        goto out;
    }
    enum srv_kind kind = h.content_type == MLS_CONTENT_APPLICATION ? SRV_KIND_MESSAGE : SRV_KIND_PROPOSAL;
    int64_t now = srv_time();
    if (st->ops->log_append(st, g.ref, h.epoch, kind, u->id, msg, NULL, msg_id, now, seq)) {
        refuse_store(e);
        goto out;
    }
    *epoch = h.epoch;
    *duplicate = 0;
    g.last_seq = *seq;
    srv_log_entry le = {*seq, h.epoch, kind, u->id, u->name, now, msg, NULL};
    srv_push_log(s, &g, &le, roster.ids, roster.n);
    srv_metrics_accepted(kind == SRV_KIND_MESSAGE ? "message" : "proposal");
    rc = 0;
out:
    free(roster.ids);
    return rc;
}

int srv_logic_fetch_range(srv *s, const srv_user *u, const char *group, uint64_t after,
                          srv_group *g, uint64_t *from, uint64_t *upto, srv_err *e)
{
    srv_store *st = s->store;
    srv_member m;
    uint64_t first = 0;
    if (srv_logic_group_find(s, group, mls_bytes_of(NULL, 0), g, e))
        return -1;
    int err = st->ops->member_get(st, g->ref, u->id, &m);
    if (err == SRV_NOT_FOUND)
        return srv_refuse(e, "not_member", "you were never on the roster of '%s'", group);
    if (err || st->ops->log_first_seq(st, g->ref, &first))
        return refuse_store(e);
    /* Entries before joining belong to epochs the member cannot read; the
     * commit that added it reached it as a Welcome. */
    uint64_t start = after > m.joined_seq ? after : m.joined_seq;
    if (start + 1 < first) {
        srv_refuse(e, "cursor_expired", "entries after %llu were purged; oldest is %llu",
                   (unsigned long long)start, (unsigned long long)first);
        e->extra_key = "first_seq";
        e->extra = (int64_t)first;
        return -1;
    }
    *from = start;
    *upto = m.left ? m.left_seq : UINT64_MAX;
    return 0;
}
