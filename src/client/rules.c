/* The chat's rules.  See rules.h. */
#include "rules.h"

#include <string.h>

#include "proto.h"
#include "session.h"
#include "util.h"

/* One number on both sides of the wire (src/common/proto.h). */
_Static_assert(CLI_EXT_GROUP_NAME == CHAT_EXT_GROUP_NAME && CLI_EXT_ADMINS == CHAT_EXT_ADMINS &&
                   CLI_EXT_TOPIC == CHAT_EXT_TOPIC && CLI_TOPIC_MAX == CHAT_TOPIC_MAX,
               "the chat's extensions are the protocol's");
_Static_assert(CLI_TOPIC_TEXT_MAX == CLI_TOPIC_MAX + 1, "session.h has room for a topic");

int cli_ext_name_encode(const char *name, mls_buf *out)
{
    mls_buf_reset(out);
    return cli_tls_put_vec(out, (const uint8_t *)name, strlen(name));
}

int cli_ext_name_decode(mls_bytes data, char *out, size_t max)
{
    mls_bytes name;
    size_t off = 0;
    if (cli_tls_get_vec(data, &off, &name) != 0 || off != data.n || name.n == 0 ||
        name.n >= max || memchr(name.p, 0, name.n))
        return -1;
    memcpy(out, name.p, name.n);
    out[name.n] = 0;
    return 0;
}

int cli_ext_topic_encode(const char *topic, mls_buf *out)
{
    size_t n = strlen(topic);
    if (n > CLI_TOPIC_MAX || !cli_text_printable(topic, n))
        return -1;
    mls_buf_reset(out);
    return cli_tls_put_vec(out, (const uint8_t *)topic, n);
}

int cli_ext_topic_decode(mls_bytes data, char *out, size_t max)
{
    mls_bytes topic;
    size_t off = 0;
    if (cli_tls_get_vec(data, &off, &topic) != 0 || off != data.n ||
        topic.n > CLI_TOPIC_MAX || topic.n >= max || (topic.n && memchr(topic.p, 0, topic.n)))
        return -1;
    if (topic.n)
        memcpy(out, topic.p, topic.n);
    out[topic.n] = 0;
    return 0;
}

int cli_ext_admins_encode(const char *const *names, size_t n, mls_buf *out)
{
    mls_buf body;
    size_t i;
    int rc = -1;
    mls_buf_init(&body);
    mls_buf_reset(out);
    for (i = 0; i < n; i++)
        if (cli_tls_put_vec(&body, (const uint8_t *)names[i], strlen(names[i])) != 0)
            goto out;
    rc = cli_tls_put_vec(out, body.p, body.n);
out:
    mls_buf_clear(&body);
    return rc;
}

int cli_ext_admins_has(mls_bytes data, const char *user)
{
    mls_bytes list, item;
    size_t off = 0, o2 = 0, n = strlen(user);
    int found = 0;
    if (cli_tls_get_vec(data, &off, &list) != 0 || off != data.n)
        return 0;
    /* The whole list must parse: a malformed one names nobody. */
    while (o2 < list.n) {
        if (cli_tls_get_vec(list, &o2, &item) != 0)
            return 0;
        if (n > 0 && item.n == n && memcmp(item.p, user, n) == 0)
            found = 1;
    }
    return found;
}

const char *cli_verdict_text(enum cli_verdict v)
{
    switch (v) {
    case CLI_RULE_OK:
        return "allowed";
    case CLI_RULE_NOT_ADMIN:
        return "a member who is not an administrator changed the group";
    case CLI_RULE_EXTERNAL_NOT_RESYNC:
        return "someone joined by an external commit without an invitation";
    case CLI_RULE_BAD_NAME:
        return "not a valid username";
    case CLI_RULE_SELF:
        return "that is you";
    case CLI_RULE_ALREADY_MEMBER:
        return "already a member";
    case CLI_RULE_DUPLICATE:
        return "named twice";
    case CLI_RULE_WRONG_GROUP:
        return "an MLS group other than the one named";
    case CLI_RULE_KEY_MISMATCH:
        return "not the key of the server's directory";
    case CLI_RULE_IDENTITY:
        return "a member's name or key was changed, or a user is in the group twice";
    case CLI_RULE_EXTENSIONS:
        return "the group name or the administrators list was changed against the rules";
    case CLI_RULE_LAST_ADMIN:
        return "no administrator would be left";
    case CLI_RULE_NOT_MEMBER:
        return "not a member of the group";
    case CLI_RULE_NOT_TRUSTED:
        return "not the group as this client last verified it";
    case CLI_RULE_TOO_LONG:
        return "the topic is longer than 512 bytes or not valid text";
    }
    return "refused";
}

const char *cli_verdict_rule(enum cli_verdict v)
{
    switch (v) {
    case CLI_RULE_OK:
        return "ok";
    case CLI_RULE_NOT_ADMIN:
        return "admin_required";
    case CLI_RULE_EXTERNAL_NOT_RESYNC:
        return "external";
    case CLI_RULE_IDENTITY:
        return "identity";
    case CLI_RULE_EXTENSIONS:
        return "extensions";
    case CLI_RULE_LAST_ADMIN:
        return "last_admin";
    case CLI_RULE_KEY_MISMATCH:
        return "key";
    case CLI_RULE_WRONG_GROUP:
        return "group";
    case CLI_RULE_NOT_TRUSTED:
        return "trust";
    default:
        return "input";
    }
}

static int bytes_eq(mls_bytes a, mls_bytes b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

int cli_ext_admins_each(mls_bytes data, void (*each)(void *ctx, mls_bytes name), void *ctx)
{
    mls_bytes list, item;
    size_t off = 0, o2 = 0;
    if (cli_tls_get_vec(data, &off, &list) != 0 || off != data.n)
        return -1;
    /* Parsed whole before anything is passed: a malformed list names
     * nobody. */
    while (o2 < list.n)
        if (cli_tls_get_vec(list, &o2, &item) != 0)
            return -1;
    o2 = 0;
    while (o2 < list.n) {
        if (cli_tls_get_vec(list, &o2, &item) != 0)
            return -1;
        each(ctx, item);
    }
    return 0;
}

enum cli_verdict cli_rule_rename_ok(const struct cli_leaf *old_leaf,
                                    const struct cli_leaf *new_leaf)
{
    /* A rename is a registered change of the user's name with the same
     * key (PROTOCOL.md §7.4 "identity"); this client does not yet know
     * the registrations, so nothing passes. */
    (void)old_leaf;
    (void)new_leaf;
    return CLI_RULE_IDENTITY;
}

/* The same leaf with the same name and key, or a rename that is allowed. */
static enum cli_verdict leaf_kept(const struct cli_commit_facts *f, const struct cli_leaf *before,
                                  const struct cli_leaf *after)
{
    if (bytes_eq(before->identity, after->identity) &&
        mls_ct_equal(before->signature_key, after->signature_key))
        return CLI_RULE_OK;
    if (f->rename_ok)
        return f->rename_ok(f->rename_ctx, before, after) == CLI_RULE_OK ? CLI_RULE_OK
                                                                       : CLI_RULE_IDENTITY;
    return cli_rule_rename_ok(before, after);
}

static int leaf_removed(const struct cli_commit_facts *f, uint32_t leaf)
{
    size_t i;
    for (i = 0; i < f->n_changes; i++)
        if (f->changes[i].kind == CLI_CHANGE_REMOVE && f->changes[i].before.leaf == leaf)
            return 1;
    return 0;
}

/* Is identity a member after the commit (members not removed, members
 * added)?  Identities of kept leaves do not change (checked first). */
/* The identity member m has after the commit: a rename (the committer's
 * path leaf, or an Update of m's leaf) changes it; the rename itself is
 * judged by the identity rule. */
static mls_bytes identity_after(const struct cli_commit_facts *f, const struct cli_leaf *m)
{
    size_t i;
    if (!f->external && f->has_path && m->leaf == f->committer.leaf &&
        f->path_leaf.identity.n > 0)
        return f->path_leaf.identity;
    for (i = 0; i < f->n_changes; i++)
        if (f->changes[i].kind == CLI_CHANGE_UPDATE && f->changes[i].before.leaf == m->leaf &&
            f->changes[i].after.identity.n > 0)
            return f->changes[i].after.identity;
    return m->identity;
}

static int member_after(const struct cli_commit_facts *f, mls_bytes identity)
{
    size_t i;
    if (identity.n == 0)
        return 0;
    if (f->external && bytes_eq(f->committer.identity, identity))
        return 1; /* the joiner */
    for (i = 0; i < f->n_members; i++)
        if (!leaf_removed(f, f->members[i].leaf) &&
            bytes_eq(identity_after(f, &f->members[i]), identity))
            return 1;
    for (i = 0; i < f->n_changes; i++)
        if (f->changes[i].kind == CLI_CHANGE_ADD && bytes_eq(f->changes[i].after.identity, identity))
            return 1;
    return 0;
}

struct admin_find {
    mls_bytes who;
    int found;
};

static void admin_find_one(void *ctx, mls_bytes name)
{
    struct admin_find *a = ctx;
    if (a->who.n > 0 && bytes_eq(a->who, name))
        a->found = 1;
}

static int admins_has_bytes(mls_bytes data, mls_bytes who)
{
    struct admin_find a;
    a.who = who;
    a.found = 0;
    return cli_ext_admins_each(data, admin_find_one, &a) == 0 && a.found;
}

struct admin_count_names {
    size_t n;
};

static void count_names(void *ctx, mls_bytes name)
{
    struct admin_count_names *c = ctx;
    (void)name;
    c->n++;
}

struct admin_count {
    const struct cli_commit_facts *f;
    size_t members, others, all;
};

static void admin_count_one(void *ctx, mls_bytes name)
{
    struct admin_count *c = ctx;
    c->all++;
    if (member_after(c->f, name))
        c->members++;
    else
        c->others++;
}

static enum cli_verdict check_external(const struct cli_commit_facts *f)
{
    const struct cli_change *removed = NULL;
    size_t i, n_init = 0;
    /* RFC 9420 §12.4.3.2 lets anyone with the GroupInfo join; the chat
     * takes it only as a member's resync (its old leaf removed, same name,
     * same key), else it would be a way in without an administrator. */
    for (i = 0; i < f->n_changes; i++) {
        if (f->changes[i].kind == CLI_CHANGE_REMOVE && !removed)
            removed = &f->changes[i];
        else if (f->changes[i].kind == CLI_CHANGE_EXTERNAL_INIT)
            n_init++;
        else
            return CLI_RULE_EXTERNAL_NOT_RESYNC;
    }
    if (!removed || n_init != 1 || f->committer.identity.n == 0 ||
        !bytes_eq(removed->before.identity, f->committer.identity) ||
        !mls_ct_equal(removed->before.signature_key, f->committer.signature_key))
        return CLI_RULE_EXTERNAL_NOT_RESYNC;
    return CLI_RULE_OK;
}

enum cli_verdict cli_rule_commit(const struct cli_commit_facts *f)
{
    struct admin_count ac;
    enum cli_verdict v;
    size_t i, j;
    int admin;

    if (f->external) {
        v = check_external(f);
        if (v != CLI_RULE_OK)
            return v;
        admin = 0;
    } else {
        /* RFC 9420 §12.4.2: the committer as its leaf was before the
         * commit, by the administrators of the epoch it was made in. */
        admin = f->has_admins_before && admins_has_bytes(f->admins_before, f->committer.identity);
        for (i = 0; i < f->n_changes; i++) {
            const struct cli_change *c = &f->changes[i];
            switch (c->kind) {
            case CLI_CHANGE_REMOVE:
                /* A member may leave: its own proposal, by reference. */
                if (!admin && !(c->by_member && c->by_reference && c->proposer == c->before.leaf))
                    return CLI_RULE_NOT_ADMIN;
                break;
            case CLI_CHANGE_UPDATE:
                if (!admin)
                    return CLI_RULE_NOT_ADMIN;
                v = leaf_kept(f, &c->before, &c->after);
                if (v != CLI_RULE_OK)
                    return v;
                break;
            default:
                /* Add, GroupContextExtensions, ReInit, PSK (and what a
                 * member commit cannot carry). */
                if (!admin)
                    return CLI_RULE_NOT_ADMIN;
                break;
            }
        }
        if (f->has_path) {
            v = leaf_kept(f, &f->committer, &f->path_leaf);
            if (v != CLI_RULE_OK)
                return v;
        }
    }
    /* Nobody twice: an added identity is not kept from before nor added
     * twice. */
    for (i = 0; i < f->n_changes; i++) {
        const struct cli_change *c = &f->changes[i];
        if (c->kind != CLI_CHANGE_ADD)
            continue;
        if (c->after.identity.n == 0)
            return CLI_RULE_IDENTITY;
        for (j = 0; j < f->n_members; j++)
            if (!leaf_removed(f, f->members[j].leaf) &&
                bytes_eq(f->members[j].identity, c->after.identity))
                return CLI_RULE_IDENTITY;
        for (j = 0; j < i; j++)
            if (f->changes[j].kind == CLI_CHANGE_ADD &&
                bytes_eq(f->changes[j].after.identity, c->after.identity))
                return CLI_RULE_IDENTITY;
    }
    /* The group's name is fixed at creation. */
    if (!f->has_name_after || f->has_name_before != f->has_name_after ||
        !bytes_eq(f->name_before, f->name_after))
        return CLI_RULE_EXTENSIONS;
    memset(&ac, 0, sizeof ac);
    ac.f = f;
    if (!f->has_admins_after || cli_ext_admins_each(f->admins_after, admin_count_one, &ac) != 0 ||
        ac.all == 0)
        return CLI_RULE_EXTENSIONS;
    if (ac.members == 0)
        return CLI_RULE_LAST_ADMIN;
    if (ac.others > 0)
        return CLI_RULE_EXTENSIONS;
    /* The topic: well formed and bounded, as the server checks it. */
    if (f->has_topic_after) {
        char topic[CLI_TOPIC_MAX + 1];
        if (cli_ext_topic_decode(f->topic_after, topic, sizeof topic) != 0)
            return CLI_RULE_EXTENSIONS;
    }
    return CLI_RULE_OK;
}

/* Every member of a other than self is in b, same identity and key. */
static int members_within(const struct cli_group_facts *a, const struct cli_group_facts *b,
                          mls_bytes self)
{
    size_t i, j;
    for (i = 0; i < a->n_members; i++) {
        int found = 0;
        if (bytes_eq(a->members[i].identity, self))
            continue;
        for (j = 0; j < b->n_members && !found; j++)
            found = bytes_eq(a->members[i].identity, b->members[j].identity) &&
                    mls_ct_equal(a->members[i].signature_key, b->members[j].signature_key);
        if (!found)
            return 0;
    }
    return 1;
}

enum cli_verdict cli_rule_rejoin(const struct cli_group_facts *trusted,
                                 const struct cli_group_facts *offered, mls_bytes signer_key,
                                 mls_bytes self)
{
    size_t i;
    int signer = 0;
    if (!bytes_eq(trusted->group_id, offered->group_id) || !trusted->has_name ||
        !offered->has_name || !bytes_eq(trusted->name, offered->name))
        return CLI_RULE_WRONG_GROUP;
    if (trusted->has_admins != offered->has_admins || !bytes_eq(trusted->admins, offered->admins))
        return CLI_RULE_NOT_TRUSTED;
    if (!members_within(trusted, offered, self) || !members_within(offered, trusted, self))
        return CLI_RULE_NOT_TRUSTED;
    /* Only members of the trusted epoch could sign a GroupInfo of it (or of
     * an epoch reached from it by key updates). */
    for (i = 0; i < trusted->n_members && !signer; i++)
        signer = signer_key.n > 0 && mls_ct_equal(trusted->members[i].signature_key, signer_key);
    if (!signer)
        return CLI_RULE_NOT_TRUSTED;
    return CLI_RULE_OK;
}

enum cli_verdict cli_rule_set_admin(mls_bytes admins, const char *self, const char *target,
                                    int target_member, int make_admin)
{
    int is_admin;
    if (!cli_ext_admins_has(admins, self))
        return CLI_RULE_NOT_ADMIN;
    if (strlen(target) > 32 || !cli_valid_username(target))
        return CLI_RULE_BAD_NAME;
    if (!target_member)
        return CLI_RULE_NOT_MEMBER;
    is_admin = cli_ext_admins_has(admins, target);
    if (make_admin)
        return is_admin ? CLI_RULE_DUPLICATE : CLI_RULE_OK;
    if (!is_admin)
        return CLI_RULE_DUPLICATE;
    if (strcmp(target, self) == 0) {
        struct admin_count_names c;
        memset(&c, 0, sizeof c);
        if (cli_ext_admins_each(admins, count_names, &c) != 0 || c.n < 2)
            return CLI_RULE_LAST_ADMIN;
    }
    return CLI_RULE_OK;
}

enum cli_verdict cli_rule_kick(mls_bytes admins, const char *self, const char *target,
                               int target_member)
{
    if (!cli_ext_admins_has(admins, self))
        return CLI_RULE_NOT_ADMIN;
    if (strlen(target) > 32 || !cli_valid_username(target))
        return CLI_RULE_BAD_NAME;
    if (strcmp(target, self) == 0)
        return CLI_RULE_SELF;
    if (!target_member)
        return CLI_RULE_NOT_MEMBER;
    return CLI_RULE_OK;
}

enum cli_verdict cli_rule_leave(mls_bytes admins, const char *self, int other_admin_member)
{
    if (cli_ext_admins_has(admins, self) && !other_admin_member)
        return CLI_RULE_LAST_ADMIN;
    return CLI_RULE_OK;
}

enum cli_verdict cli_rule_topic(mls_bytes admins, const char *self, const char *text)
{
    if (!cli_ext_admins_has(admins, self))
        return CLI_RULE_NOT_ADMIN;
    if (strlen(text) > CLI_TOPIC_MAX || !cli_text_printable(text, strlen(text)))
        return CLI_RULE_TOO_LONG;
    return CLI_RULE_OK;
}

enum cli_verdict cli_rule_may_invite(mls_bytes admins, const char *user)
{
    return cli_ext_admins_has(admins, user) ? CLI_RULE_OK : CLI_RULE_NOT_ADMIN;
}

enum cli_verdict cli_rule_invite_target(const char *name, const char *self, int is_member,
                                        int listed)
{
    if (strlen(name) > 32 || !cli_valid_username(name))
        return CLI_RULE_BAD_NAME;
    if (strcmp(name, self) == 0)
        return CLI_RULE_SELF;
    if (is_member)
        return CLI_RULE_ALREADY_MEMBER;
    if (listed)
        return CLI_RULE_DUPLICATE;
    return CLI_RULE_OK;
}

enum cli_verdict cli_rule_key_package(mls_bytes kp_identity, mls_bytes kp_signature_key,
                                      const char *name, mls_bytes directory_key)
{
    if (!bytes_eq(kp_identity, mls_bytes_of((const uint8_t *)name, strlen(name))))
        return CLI_RULE_KEY_MISMATCH;
    if (directory_key.n == 0 || !mls_ct_equal(kp_signature_key, directory_key))
        return CLI_RULE_KEY_MISMATCH;
    return CLI_RULE_OK;
}

enum cli_verdict cli_rule_group_is(mls_bytes name_ext, const char *name, mls_bytes group_id,
                                   mls_bytes expected_id)
{
    char got[80];
    if (cli_ext_name_decode(name_ext, got, sizeof got) != 0 || strcmp(got, name) != 0)
        return CLI_RULE_WRONG_GROUP;
    if (expected_id.n > 0 && !bytes_eq(group_id, expected_id))
        return CLI_RULE_WRONG_GROUP;
    return CLI_RULE_OK;
}

enum cli_verdict cli_rule_inviter(mls_bytes admins, const char *sender)
{
    if (!sender || !cli_ext_admins_has(admins, sender))
        return CLI_RULE_NOT_ADMIN;
    return CLI_RULE_OK;
}
