/*
 * Server-side governance (docs/PROTOCOL.md §7.4): each handshake message is
 * verified by the group's libmls public view (signature against the
 * sender's leaf as it stands before the message, RFC 9420 §12.2 proposal
 * rules, tree and transcript hashes), then judged by the chat's rules:
 * who may add, remove, rename or change the GroupContext, and what an
 * external commit may do.  The roster is what the view says after the
 * commit (DESIGN Decision 9).
 */
#include "validate.h"

#include <stdlib.h>
#include <string.h>

#include "mls/codec.h"
#include "mls/inspect.h"

void srv_roster_clear(srv_roster *r)
{
    if (!r)
        return;
    free(r->items);
    r->items = NULL;
    r->n = 0;
}

void srv_commit_outcome_clear(srv_commit_outcome *o)
{
    if (!o)
        return;
    srv_roster_clear(&o->roster);
    free(o->deliveries);
    o->deliveries = NULL;
    o->n_deliveries = 0;
}

/* ------------------------------------------------------------ helpers */

static int bytes_eq(mls_bytes a, mls_bytes b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static int bytes_is(mls_bytes b, const char *s)
{
    return bytes_eq(b, mls_bytes_of((const uint8_t *)s, strlen(s)));
}

static mls_bytes user_key(const srv_user *u)
{
    return mls_bytes_of(u->key, u->key_len);
}

/* A printable identity for messages (usernames are §2 names; anything
 * else is cut at the first unprintable byte). */
static const char *ident_str(mls_bytes id, char *buf, size_t cap)
{
    size_t n = 0;
    while (n < id.n && n + 1 < cap && id.p[n] >= 0x20 && id.p[n] < 0x7f) {
        buf[n] = (char)id.p[n];
        n++;
    }
    buf[n] = 0;
    return buf;
}

static int refuse_mls(srv_err *e, int err, const char *what)
{
    const char *detail = mls_error_detail();
    return srv_refuse_rule(e, CHAT_RULE_MLS, "%s: %s%s%s", what, mls_strerror(err),
                           detail && detail[0] ? ": " : "", detail ? detail : "");
}

/* The directory user holding this signature key: 1 found, 0 none, -1
 * store failure (refused). */
static int user_of_key(srv_logic *L, mls_bytes key, srv_user *u, srv_err *e)
{
    int err = L->store->ops->user_by_key(L->store, key, u);
    if (err == SRV_NOT_FOUND)
        return 0;
    if (err) {
        srv_refuse(e, CHAT_ERR_INTERNAL, "%s", chat_err_text(CHAT_ERR_INTERNAL));
        return -1;
    }
    return 1;
}

/* 1 if identity is u's username now or one u gave up by user.rename (a
 * leaf keeps the old name until its rename commit), 0 if not, -1 store
 * failure (refused). */
static int names_user(srv_logic *L, const srv_user *u, mls_bytes identity, srv_err *e)
{
    char name[SRV_NAME_MAX + 1];
    if (bytes_is(identity, u->name))
        return 1;
    if (identity.n == 0 || identity.n > SRV_NAME_MAX)
        return 0;
    memcpy(name, identity.p, identity.n);
    name[identity.n] = 0;
    if (strlen(name) != identity.n)
        return 0;
    int err = L->store->ops->rename_known(L->store, u->id, name);
    if (err == SRV_NOT_FOUND)
        return 0;
    if (err) {
        srv_refuse(e, CHAT_ERR_INTERNAL, "%s", chat_err_text(CHAT_ERR_INTERNAL));
        return -1;
    }
    return 1;
}

/* 0xF001: struct { opaque usernames<V><V>; }.  Calls each(ctx, name) for
 * every name; -1 if malformed. */
static int admins_each(mls_bytes data, int (*each)(void *, mls_bytes), void *ctx, size_t *n)
{
    mls_tls_reader r, list;
    mls_bytes name;
    size_t k = 0;
    mls_tls_reader_init(&r, data);
    if (mls_tls_read_vector(&r, &list) || mls_tls_reader_done(&r))
        return -1;
    while (mls_tls_reader_left(&list)) {
        if (mls_tls_read_opaque(&list, &name) || name.n == 0)
            return -1;
        if (each && each(ctx, name))
            return -1;
        k++;
    }
    *n = k;
    return 0;
}

typedef struct name_find {
    mls_bytes want;
    int found;
} name_find;

static int find_name(void *ctx, mls_bytes name)
{
    name_find *f = ctx;
    f->found |= bytes_eq(f->want, name);
    return 0;
}

/* 1 if the administrators extension data names identity. */
static int admins_has(mls_bytes data, mls_bytes identity)
{
    name_find f = {identity, 0};
    size_t n;
    return admins_each(data, find_name, &f, &n) == 0 && f.found;
}

/* 0xF000: struct { opaque name<V>; }. */
static int group_name_is(mls_bytes data, const char *name)
{
    mls_tls_reader r;
    mls_bytes v;
    mls_tls_reader_init(&r, data);
    return mls_tls_read_opaque(&r, &v) == 0 && mls_tls_reader_done(&r) == 0 && bytes_is(v, name);
}

/* 0xF002: struct { opaque topic<V>; }, at most CHAT_TOPIC_MAX bytes: the
 * server keeps every GroupInfo and serves it to each joiner, so the size
 * of what an administrator puts there is bounded (the text itself is the
 * members' business: they sanitize it for display). */
static int topic_ok(mls_bytes data)
{
    mls_tls_reader r;
    mls_bytes v;
    mls_tls_reader_init(&r, data);
    return mls_tls_read_opaque(&r, &v) == 0 && mls_tls_reader_done(&r) == 0 &&
           v.n <= CHAT_TOPIC_MAX;
}

/* ------------------------------------------------------------ roster */

typedef struct admin_scan {
    const srv_roster *roster;
    const mls_bytes *idents; /* leaf identities, parallel to roster */
    size_t members_named, others_named;
} admin_scan;

static int scan_admin(void *ctx, mls_bytes name)
{
    admin_scan *a = ctx;
    for (size_t i = 0; i < a->roster->n; i++)
        if (bytes_eq(a->idents[i], name)) {
            a->members_named++;
            return 0;
        }
    a->others_named++;
    return 0;
}

int srv_validate_roster(srv_logic *L, const mls_public_group *pg, srv_roster *out, srv_err *e)
{
    uint32_t leaves = mls_public_group_leaf_count(pg);
    srv_roster r = {calloc(leaves + 1, sizeof *r.items), 0};
    mls_bytes *idents = calloc(leaves + 1, sizeof *idents);
    mls_bytes admins, name;
    char buf[SRV_NAME_MAX + 1];
    int rc = -1;
    if (!r.items || !idents) {
        srv_refuse(e, CHAT_ERR_INTERNAL, "out of memory");
        goto out;
    }
    /* Every member is a directory user, found by its signature key (keys
     * are unique in the directory), whose leaf names it by its username or
     * a name it gave up by a registered rename; nobody is there twice. */
    for (uint32_t leaf = 0; leaf < leaves; leaf++) {
        mls_member m;
        srv_user u;
        if (mls_public_group_member(pg, leaf, &m) != MLS_OK)
            continue;
        int found = user_of_key(L, m.signature_key, &u, e);
        if (found < 0)
            goto out;
        if (!found) {
            srv_refuse_rule(e, CHAT_RULE_IDENTITY, "leaf %u ('%s'): its signature key is not a "
                            "registered user's", leaf, ident_str(m.identity, buf, sizeof buf));
            goto out;
        }
        int named = names_user(L, &u, m.identity, e);
        if (named < 0)
            goto out;
        if (!named) {
            srv_refuse_rule(e, CHAT_RULE_IDENTITY, "leaf %u: credential '%s' is not the name of "
                            "the key's owner '%s'", leaf, ident_str(m.identity, buf, sizeof buf),
                            u.name);
            goto out;
        }
        for (size_t i = 0; i < r.n; i++)
            if (r.items[i].user_id == u.id) {
                srv_refuse_rule(e, CHAT_RULE_IDENTITY, "'%s' would be in the group twice",
                                u.name);
                goto out;
            }
        r.items[r.n].user_id = u.id;
        memcpy(r.items[r.n].name, u.name, sizeof u.name);
        r.items[r.n].role = SRV_ROLE_MEMBER;
        idents[r.n++] = m.identity;
    }
    if (mls_public_group_extension(pg, SRV_EXT_GROUP_NAME, &name) != MLS_OK) {
        srv_refuse_rule(e, CHAT_RULE_EXTENSIONS, "the group name extension is missing");
        goto out;
    }
    /* The administrators: a non-empty list of members. */
    admin_scan a = {&r, idents, 0, 0};
    size_t n_admins = 0;
    if (mls_public_group_extension(pg, SRV_EXT_ADMINS, &admins) != MLS_OK ||
        admins_each(admins, scan_admin, &a, &n_admins) || n_admins == 0) {
        srv_refuse_rule(e, CHAT_RULE_EXTENSIONS,
                        "the administrators extension is missing, malformed or empty");
        goto out;
    }
    if (a.members_named == 0) {
        srv_refuse_rule(e, CHAT_RULE_LAST_ADMIN, "no administrator would be left in the group");
        goto out;
    }
    if (a.others_named) {
        srv_refuse_rule(e, CHAT_RULE_EXTENSIONS,
                        "the administrators extension names someone who is not a member");
        goto out;
    }
    for (size_t i = 0; i < r.n; i++)
        if (admins_has(admins, idents[i]))
            r.items[i].role = SRV_ROLE_ADMIN;
    *out = r;
    r.items = NULL;
    rc = 0;
out:
    free(r.items);
    free(idents);
    return rc;
}

/* ------------------------------------------------------------ group.create */

int srv_validate_create(srv_logic *L, const srv_user *u, const char *name, mls_bytes gid,
                        uint64_t epoch, mls_bytes group_info, mls_public_group **out, srv_err *e)
{
    mls_public_group *pg = NULL;
    mls_member m;
    mls_bytes data;
    char buf[SRV_NAME_MAX + 1];
    size_t n_admins = 0;
    int rc = -1;
    mls_error_detail_clear();
    int err = mls_public_group_from_group_info(srv_logic_env(L), group_info,
                                               mls_bytes_of(NULL, 0), &pg);
    if (err) {
        refuse_mls(e, err, "group_info");
        goto out;
    }
    if (!bytes_eq(mls_public_group_id(pg), gid) || mls_public_group_epoch(pg) != epoch) {
        srv_refuse_rule(e, CHAT_RULE_GROUP_INFO,
                        "the GroupInfo is not of the requested group_id and epoch");
        goto out;
    }
    /* The creator alone, as the caller: its name and its directory key. */
    uint32_t leaf = 0;
    while (leaf < mls_public_group_leaf_count(pg) && mls_public_group_member(pg, leaf, &m))
        leaf++;
    if (mls_public_group_member_count(pg) != 1 || leaf == mls_public_group_leaf_count(pg) ||
        !bytes_is(m.identity, u->name) || !bytes_eq(m.signature_key, user_key(u))) {
        srv_refuse_rule(e, CHAT_RULE_IDENTITY,
                        "a new group holds exactly its creator, with the caller's name and key");
        goto out;
    }
    if (mls_public_group_extension(pg, SRV_EXT_GROUP_NAME, &data) || !group_name_is(data, name)) {
        srv_refuse_rule(e, CHAT_RULE_EXTENSIONS, "the group name extension is not '%s'", name);
        goto out;
    }
    if (mls_public_group_extension(pg, SRV_EXT_ADMINS, &data) ||
        admins_each(data, NULL, NULL, &n_admins) || n_admins != 1 ||
        !admins_has(data, m.identity)) {
        srv_refuse_rule(e, CHAT_RULE_EXTENSIONS,
                        "the administrators extension must name exactly the creator '%s'",
                        ident_str(m.identity, buf, sizeof buf));
        goto out;
    }
    if (mls_public_group_extension(pg, SRV_EXT_TOPIC, &data) == MLS_OK && !topic_ok(data)) {
        srv_refuse_rule(e, CHAT_RULE_EXTENSIONS, "the topic extension is malformed or longer "
                        "than %u bytes", CHAT_TOPIC_MAX);
        goto out;
    }
    *out = pg;
    pg = NULL;
    rc = 0;
out:
    mls_public_group_free(pg);
    return rc;
}

int srv_validate_load(srv_logic *L, const srv_group *g, mls_public_group **out, srv_err *e)
{
    mls_public_group *pg = NULL;
    mls_buf b;
    mls_buf_init(&b);
    int err = L->store->ops->group_get_view(L->store, g->ref, &b);
    if (!err) {
        err = mls_public_group_deserialize(srv_logic_env(L), mls_buf_view(&b), &pg);
    } else if (err == SRV_NOT_FOUND) {
        /* A group created before the server kept views (schema 4): its
         * view starts from the GroupInfo the last commit left, if that is
         * of the group's current epoch. */
        err = L->store->ops->group_get_info(L->store, g->ref, &b);
        if (!err)
            err = mls_public_group_from_group_info(srv_logic_env(L), mls_buf_view(&b),
                                                   mls_bytes_of(NULL, 0), &pg);
        if (!err && (mls_public_group_epoch(pg) != g->epoch ||
                     !bytes_eq(mls_public_group_id(pg), mls_bytes_of(g->gid, g->gid_len))))
            err = -1;
    }
    mls_buf_clear(&b);
    if (err) {
        mls_public_group_free(pg);
        return srv_refuse(e, CHAT_ERR_INTERNAL, "the server has no usable public view of '%s'",
                          g->name);
    }
    *out = pg;
    return 0;
}

/* ------------------------------------------------------------ shared checks */

/* The message is a PublicMessage of this content type (RFC 9420 §6.2);
 * handshake messages travel in the clear so that the server can judge
 * them (DESIGN Decision 1). */
static int need_public(mls_bytes msg, uint8_t content_type, srv_err *e)
{
    mls_message_info info;
    if (mls_message_inspect(msg, &info) || info.wire_format != MLS_WIRE_PUBLIC_MESSAGE ||
        info.content_type != content_type)
        return srv_refuse_rule(e, CHAT_RULE_NOT_PUBLIC, "handshake messages must be "
                               "PublicMessages (RFC 9420 §6.2) holding a %s",
                               mls_content_type_name(content_type));
    return 0;
}

/* The member sender's leaf before the message is the caller's. */
static int check_sender(srv_logic *L, const srv_user *u, const mls_public_change *c, srv_err *e)
{
    char buf[SRV_NAME_MAX + 1];
    if (!c->has_before || !bytes_eq(c->before.signature_key, user_key(u)))
        return srv_refuse_rule(e, CHAT_RULE_SENDER, "the sender's leaf is not %s's", u->name);
    int named = names_user(L, u, c->before.identity, e);
    if (named < 0)
        return -1;
    if (!named)
        return srv_refuse_rule(e, CHAT_RULE_SENDER, "the sender's leaf is '%s', not %s",
                               ident_str(c->before.identity, buf, sizeof buf), u->name);
    return 0;
}

/* A leaf that stays must keep its identity and key, except through a
 * registered rename: same key, the key's owner renamed itself from the old
 * identity to the new one (docs/PROTOCOL.md §5.1). */
static int check_leaf_change(srv_logic *L, const mls_public_change *c, srv_err *e)
{
    char b1[SRV_NAME_MAX + 1], b2[SRV_NAME_MAX + 1];
    srv_user owner;
    if (!c->has_before || !c->has_after)
        return 0;
    int same_key = bytes_eq(c->before.signature_key, c->after.signature_key);
    if (same_key && bytes_eq(c->before.identity, c->after.identity) && c->after.identity.n)
        return 0;
    int found = same_key ? user_of_key(L, c->after.signature_key, &owner, e) : 0;
    if (found < 0)
        return -1;
    int renamed = found && bytes_is(c->after.identity, owner.name)
                      ? names_user(L, &owner, c->before.identity, e)
                      : 0;
    if (renamed < 0)
        return -1;
    if (!renamed)
        return srv_refuse_rule(e, CHAT_RULE_IDENTITY, "leaf %u changes its credential from '%s' "
                               "to '%s' (or its key) without a registered rename", c->leaf,
                               ident_str(c->before.identity, b1, sizeof b1),
                               ident_str(c->after.identity, b2, sizeof b2));
    return 0;
}

/* An added member is a registered user with its directory key. */
static int check_added(srv_logic *L, const mls_public_change *c, srv_user *u, srv_err *e)
{
    char buf[SRV_NAME_MAX + 1];
    ident_str(c->after.identity, buf, sizeof buf);
    int err = c->after.identity.n == strlen(buf) && buf[0]
                  ? L->store->ops->user_by_name(L->store, buf, u)
                  : SRV_NOT_FOUND;
    if (err && err != SRV_NOT_FOUND)
        return srv_refuse(e, CHAT_ERR_INTERNAL, "%s", chat_err_text(CHAT_ERR_INTERNAL));
    if (err || !bytes_eq(c->after.signature_key, user_key(u)))
        return srv_refuse_rule(e, CHAT_RULE_IDENTITY, "added member '%s' is not a registered "
                               "user with that user's signature key", buf);
    return 0;
}

static int is_admin(const mls_public_staged *st, mls_bytes identity)
{
    mls_bytes data;
    return mls_public_staged_extension(st, 0, SRV_EXT_ADMINS, &data) == MLS_OK &&
           admins_has(data, identity);
}

/* ------------------------------------------------------------ group.commit */

/* RFC 9420 §12.4.3.2 external commit, allowed only as a resync: the caller
 * (on the roster, checked by logic) joins as itself and removes exactly its
 * own old leaf. */
static int check_external(srv_logic *L, const srv_user *u, const mls_public_staged *st,
                          const mls_public_change *c, srv_err *e)
{
    size_t n_remove = 0, n_init = 0, n = mls_public_staged_proposal_count(st);
    mls_public_change old;
    if (!c->has_after || !bytes_is(c->after.identity, u->name) ||
        !bytes_eq(c->after.signature_key, user_key(u)))
        return srv_refuse_rule(e, CHAT_RULE_EXTERNAL,
                               "an external commit must join as the caller, with its key");
    for (size_t i = 0; i < n; i++) {
        mls_public_proposal p;
        if (mls_public_staged_proposal(st, i, &p))
            return srv_refuse(e, CHAT_ERR_INTERNAL, "proposal %zu unreadable", i);
        n_remove += p.type == MLS_PROPOSAL_REMOVE;
        n_init += p.type == MLS_PROPOSAL_EXTERNAL_INIT;
    }
    if (n_remove != 1 || n_init != 1 || n != 2 ||
        mls_public_staged_change_count(st, MLS_PUBLIC_REMOVED) != 1 ||
        mls_public_staged_change(st, MLS_PUBLIC_REMOVED, 0, &old) || !old.has_before ||
        !bytes_eq(old.before.signature_key, user_key(u)))
        return srv_refuse_rule(e, CHAT_RULE_EXTERNAL, "an external commit is accepted only as a "
                               "resync: ExternalInit and the Remove of the caller's old leaf");
    int named = names_user(L, u, old.before.identity, e);
    if (named < 0)
        return -1;
    return named ? 0
                 : srv_refuse_rule(e, CHAT_RULE_EXTERNAL,
                                   "the removed leaf is not the caller's old leaf");
}

/* What a committer outside the administrators extension may commit: its
 * own path, and Removes of members that proposed their own removal. */
static int check_non_admin(const mls_public_staged *st, srv_err *e)
{
    size_t n = mls_public_staged_proposal_count(st), n_remove = 0;
    size_t n_removed = mls_public_staged_change_count(st, MLS_PUBLIC_REMOVED);
    for (size_t i = 0; i < n; i++) {
        mls_public_proposal p;
        if (mls_public_staged_proposal(st, i, &p))
            return srv_refuse(e, CHAT_ERR_INTERNAL, "proposal %zu unreadable", i);
        if (p.type != MLS_PROPOSAL_REMOVE)
            return srv_refuse_rule(e, CHAT_RULE_ADMIN_REQUIRED, "only an administrator may "
                                   "commit a %s proposal", mls_proposal_type_name(p.type));
        n_remove++;
    }
    for (size_t k = 0; k < n_removed; k++) {
        mls_public_change c;
        int self = 0;
        if (mls_public_staged_change(st, MLS_PUBLIC_REMOVED, k, &c))
            return srv_refuse(e, CHAT_ERR_INTERNAL, "change %zu unreadable", k);
        for (size_t i = 0; i < n && !self; i++) {
            mls_public_proposal p;
            if (mls_public_staged_proposal(st, i, &p) == MLS_OK)
                self = p.by_reference && p.sender_type == MLS_SENDER_MEMBER &&
                       p.sender_index == c.leaf;
        }
        if (!self)
            return srv_refuse_rule(e, CHAT_RULE_ADMIN_REQUIRED, "only an administrator may "
                                   "remove others (leaf %u did not propose to leave)", c.leaf);
    }
    if (n_remove != n_removed)
        return srv_refuse_rule(e, CHAT_RULE_ADMIN_REQUIRED,
                               "only an administrator may remove others");
    return 0;
}

/* The chat's GroupContext extensions may change only by an administrator
 * (checked by the caller: a non-administrator may commit no
 * GroupContextExtensions proposal at all, whatever extension it carries,
 * the topic's included), never the group's name, and the topic stays
 * well formed and bounded. */
static int check_extensions(const mls_public_staged *st, srv_err *e)
{
    mls_bytes before, after;
    if (!mls_public_staged_extensions_changed(st))
        return 0;
    if (mls_public_staged_extension(st, 0, SRV_EXT_GROUP_NAME, &before) ||
        mls_public_staged_extension(st, 1, SRV_EXT_GROUP_NAME, &after) || !bytes_eq(before, after))
        return srv_refuse_rule(e, CHAT_RULE_EXTENSIONS, "the group name extension may not change");
    if (mls_public_staged_extension(st, 1, SRV_EXT_TOPIC, &after) == MLS_OK && !topic_ok(after))
        return srv_refuse_rule(e, CHAT_RULE_EXTENSIONS, "the topic extension is malformed or "
                               "longer than %u bytes", CHAT_TOPIC_MAX);
    return 0;
}

/* Welcome routing (RFC 9420 §12.4.3.1): each KeyPackageRef of a Welcome
 * names a member the commit adds; each such member gets one. */
typedef struct added_member {
    mls_bytes ref;
    srv_user user;
    int welcomed;
} added_member;

static int route_welcomes(const srv_commit_req *r, added_member *added, size_t n_added,
                          srv_commit_outcome *out, srv_err *e)
{
    size_t max = n_added + 1, n_refs = 0, total = 0;
    mls_bytes *refs = calloc(max, sizeof *refs);
    srv_delivery *d = NULL;
    int rc = -1;
    for (size_t w = 0; w < r->n_welcomes; w++)
        total += n_added;
    d = calloc(total + 1, sizeof *d);
    if (!refs || !d) {
        srv_refuse(e, CHAT_ERR_INTERNAL, "out of memory");
        goto out;
    }
    for (size_t w = 0; w < r->n_welcomes; w++) {
        size_t first = out->n_deliveries;
        if (mls_welcome_refs(r->welcomes[w].welcome, refs, max, &n_refs)) {
            srv_refuse_rule(e, CHAT_RULE_WELCOME, "welcome %zu is addressed to members the "
                            "commit does not add", w);
            goto out;
        }
        for (size_t k = 0; k < n_refs; k++) {
            size_t j = 0;
            while (j < n_added && !bytes_eq(added[j].ref, refs[k]))
                j++;
            if (j == n_added) {
                srv_refuse_rule(e, CHAT_RULE_WELCOME, "welcome %zu: a recipient is not a member "
                                "this commit adds", w);
                goto out;
            }
            int dup = 0;
            for (size_t x = first; x < out->n_deliveries; x++)
                dup |= d[x].to.id == added[j].user.id;
            if (!dup) {
                d[out->n_deliveries].welcome = w;
                d[out->n_deliveries].to = added[j].user;
                out->n_deliveries++;
            }
            added[j].welcomed = 1;
        }
        /* A client may still list the recipients; they must be these. */
        const srv_welcome_req *wr = &r->welcomes[w];
        for (size_t k = 0; k < wr->n_recipients; k++) {
            int listed = 0;
            for (size_t x = first; x < out->n_deliveries; x++)
                listed |= strcmp(d[x].to.name, wr->recipients[k]) == 0;
            if (!listed) {
                srv_refuse_rule(e, CHAT_RULE_WELCOME, "welcome %zu: '%s' is not one of its "
                                "recipients", w, wr->recipients[k]);
                goto out;
            }
        }
        if (wr->n_recipients && wr->n_recipients != out->n_deliveries - first) {
            srv_refuse_rule(e, CHAT_RULE_WELCOME, "welcome %zu: recipients differ from the "
                            "members it is addressed to", w);
            goto out;
        }
    }
    for (size_t j = 0; j < n_added; j++)
        if (!added[j].welcomed) {
            srv_refuse_rule(e, CHAT_RULE_WELCOME, "added member '%s' has no Welcome",
                            added[j].user.name);
            goto out;
        }
    out->deliveries = d;
    d = NULL;
    rc = 0;
out:
    if (rc)
        out->n_deliveries = 0;
    free(d);
    free(refs);
    return rc;
}

/* The changes a message makes to leaves that stay and the members it adds
 * (the external joiner excepted: check_external judged it). */
static int check_changes(srv_logic *L, const mls_public_staged *st, const uint32_t *joiner,
                         added_member *added, size_t *n_added, srv_err *e)
{
    size_t n = mls_public_staged_change_count(st, MLS_PUBLIC_UPDATED);
    for (size_t i = 0; i < n; i++) {
        mls_public_change c;
        if (mls_public_staged_change(st, MLS_PUBLIC_UPDATED, i, &c))
            return srv_refuse(e, CHAT_ERR_INTERNAL, "change %zu unreadable", i);
        if (check_leaf_change(L, &c, e))
            return -1;
    }
    n = mls_public_staged_change_count(st, MLS_PUBLIC_ADDED);
    for (size_t i = 0; i < n; i++) {
        mls_public_change c;
        srv_user u;
        if (mls_public_staged_change(st, MLS_PUBLIC_ADDED, i, &c))
            return srv_refuse(e, CHAT_ERR_INTERNAL, "change %zu unreadable", i);
        if (joiner && c.leaf == *joiner && !c.key_package_ref.n)
            continue;
        if (check_added(L, &c, &u, e))
            return -1;
        if (added && c.key_package_ref.n) {
            added[*n_added].ref = c.key_package_ref;
            added[*n_added].user = u;
            added[*n_added].welcomed = 0;
            (*n_added)++;
        }
    }
    return 0;
}

int srv_validate_commit(srv_logic *L, mls_public_group *pg, const srv_user *u,
                        const srv_commit_req *r, srv_commit_outcome *out, srv_err *e)
{
    mls_public_staged *st = NULL;
    mls_public_change c;
    added_member *added = NULL;
    size_t n_added = 0;
    uint8_t sender_type = 0;
    uint32_t index = 0;
    int rc = -1;
    memset(out, 0, sizeof *out);
    if (need_public(r->commit, MLS_CONTENT_COMMIT, e))
        goto out;
    mls_error_detail_clear();
    int err = mls_public_group_process(pg, r->commit, &st);
    if (err) {
        refuse_mls(e, err, "commit");
        goto out;
    }
    mls_public_staged_sender(st, &sender_type, &index);
    if (mls_public_staged_committer(st, &c)) {
        srv_refuse(e, CHAT_ERR_INTERNAL, "committer unreadable");
        goto out;
    }
    int external = sender_type == MLS_SENDER_NEW_MEMBER_COMMIT;
    if (external) {
        if (check_external(L, u, st, &c, e))
            goto out;
    } else if (sender_type != MLS_SENDER_MEMBER) {
        srv_refuse_rule(e, CHAT_RULE_SENDER, "a commit comes from a member or a resyncing one");
        goto out;
    } else if (check_sender(L, u, &c, e)) {
        goto out;
    } else if (!is_admin(st, c.before.identity) && check_non_admin(st, e)) {
        goto out;
    }
    added = calloc(mls_public_staged_change_count(st, MLS_PUBLIC_ADDED) + 1, sizeof *added);
    if (!added) {
        srv_refuse(e, CHAT_ERR_INTERNAL, "out of memory");
        goto out;
    }
    if (check_changes(L, st, external ? &index : NULL, added, &n_added, e) ||
        check_extensions(st, e))
        goto out;
    /* The GroupInfo the server hands to joiners and resyncing members must
     * be exactly the new epoch's, signed by the committer. */
    mls_message_info gi;
    if (!r->group_info.n) {
        srv_refuse_rule(e, CHAT_RULE_GROUP_INFO, "group_info is required with a commit");
        goto out;
    }
    mls_error_detail_clear();
    err = mls_public_staged_check_group_info(st, r->group_info);
    if (err || mls_message_inspect(r->group_info, &gi) || !gi.has_ratchet_tree) {
        const char *detail = mls_error_detail();
        srv_refuse_rule(e, CHAT_RULE_GROUP_INFO, "group_info does not match the commit: %s%s%s",
                        err ? mls_strerror(err) : "no ratchet_tree extension",
                        err && detail[0] ? ": " : "", err ? detail : "");
        goto out;
    }
    if (route_welcomes(r, added, n_added, out, e))
        goto out;
    /* Merging consumes st; freeing it remains (at out). */
    err = mls_public_group_merge(pg, st);
    if (err) {
        srv_refuse(e, CHAT_ERR_INTERNAL, "cannot apply the commit to the group's view");
        goto out;
    }
    if (srv_validate_roster(L, pg, &out->roster, e))
        goto out;
    rc = 0;
out:
    if (rc)
        srv_commit_outcome_clear(out);
    mls_public_staged_free(st);
    free(added);
    return rc;
}

/* ------------------------------------------------------------ proposals */

int srv_validate_proposal(srv_logic *L, mls_public_group *pg, const srv_user *u, mls_bytes msg,
                          srv_err *e)
{
    mls_public_staged *st = NULL;
    mls_public_change c;
    mls_public_proposal p;
    uint8_t sender_type = 0;
    uint32_t index = 0;
    int rc = -1;
    if (need_public(msg, MLS_CONTENT_PROPOSAL, e))
        goto out;
    mls_error_detail_clear();
    int err = mls_public_group_process(pg, msg, &st);
    if (err) {
        refuse_mls(e, err, "proposal");
        goto out;
    }
    mls_public_staged_sender(st, &sender_type, &index);
    if (sender_type != MLS_SENDER_MEMBER || mls_public_staged_committer(st, &c)) {
        srv_refuse_rule(e, CHAT_RULE_SENDER, "proposals come from members");
        goto out;
    }
    if (check_sender(L, u, &c, e))
        goto out;
    if (mls_public_staged_proposal(st, 0, &p)) {
        srv_refuse(e, CHAT_ERR_INTERNAL, "proposal unreadable");
        goto out;
    }
    /* A non-administrator proposes only to leave (Remove of its own leaf,
     * /leave) or to update its own leaf. */
    if (!is_admin(st, c.before.identity)) {
        mls_public_change rm;
        int own = p.type == MLS_PROPOSAL_UPDATE ||
                  (p.type == MLS_PROPOSAL_REMOVE &&
                   mls_public_staged_change(st, MLS_PUBLIC_REMOVED, 0, &rm) == MLS_OK &&
                   rm.leaf == index);
        if (!own) {
            srv_refuse_rule(e, CHAT_RULE_ADMIN_REQUIRED, "only an administrator may propose %s",
                            p.type == MLS_PROPOSAL_REMOVE ? "removing another member"
                                                          : mls_proposal_type_name(p.type));
            goto out;
        }
    }
    if (check_changes(L, st, NULL, NULL, NULL, e) || check_extensions(st, e))
        goto out;
    err = mls_public_group_merge(pg, st);
    if (err) {
        srv_refuse(e, CHAT_ERR_INTERNAL, "cannot keep the proposal in the group's view");
        goto out;
    }
    rc = 0;
out:
    mls_public_staged_free(st);
    return rc;
}
