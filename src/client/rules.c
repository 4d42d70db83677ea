/* The chat's rules.  See rules.h. */
#include "rules.h"

#include <string.h>

#include "util.h"

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
    }
    return "refused";
}

static int bytes_eq(mls_bytes a, mls_bytes b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

enum cli_verdict cli_rule_commit(const struct cli_commit_facts *f)
{
    if (f->external) {
        /* RFC 9420 §12.4.3.2 lets anyone with the GroupInfo join; the
         * chat takes it only as a member's resync (its old leaf removed,
         * same name, same key), else it would be a way in without an
         * administrator's invitation. */
        if (f->n_added != 1 || f->n_removed != 1 || !f->joined || !f->removed ||
            f->extensions_changed || f->self_removed || f->joined->identity.n == 0 ||
            !bytes_eq(f->joined->identity, f->removed->identity) ||
            !mls_ct_equal(f->joined->signature_key, f->removed->signature_key))
            return CLI_RULE_EXTERNAL_NOT_RESYNC;
        return CLI_RULE_OK;
    }
    if ((f->n_added > 0 || f->extensions_changed) &&
        (!f->committer || !cli_ext_admins_has(f->admins_before, f->committer)))
        return CLI_RULE_NOT_ADMIN;
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
