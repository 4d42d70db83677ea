/* Directory checks.  See directory.h. */
#include "directory.h"

#include <stdio.h>
#include <string.h>

#include "core.h"
#include "pins.h"

static void warn_mismatch(struct cli_session *s, const char *group, const char *user,
                          mls_bytes key)
{
    char fp[CLI_FINGERPRINT_LEN + 1];
    cli_fingerprint(key, fp);
    cli_notice(s, group, 1,
               "WARNING: the key of %s in #%s (%s) is not the key the server's directory "
               "holds for %s: do not trust messages from this member",
               user, group, fp, user);
}

static void verify_reply(void *ctx, json_t *reply)
{
    struct cli_req *r = ctx;
    struct cli_session *s = r->s;
    struct cli_reply rp;
    mls_buf key;

    mls_buf_init(&key);
    cli_proto_reply(reply, &rp);
    if (rp.err == CLI_PERR_DISCONNECTED)
        goto out;
    if (!rp.ok) {
        cli_notice(s, r->name[0] ? r->name : NULL, 1,
                   "WARNING: %s (a member of #%s) is not in the server's directory: %s", r->user,
                   r->name, rp.message);
        goto out;
    }
    if (cli_proto_user_lookup_reply(reply, &key) != 0)
        goto out;
    /* The directory's answer is one more sighting: it never replaces the
     * pin (a server that swaps a key is caught here too). */
    (void)cli_pins_see(s, r->name[0] ? r->name : NULL, r->user, mls_buf_view(&key),
                       "the server's directory");
    if (cli_store_dir_put(s->store, r->user, mls_buf_view(&key)) != 0)
        cli_log("directory: cannot cache %s", r->user);
    if (!mls_ct_equal(mls_buf_view(&key), mls_buf_view(&r->key)))
        warn_mismatch(s, r->name, r->user, mls_buf_view(&r->key));
out:
    mls_buf_clear(&key);
    cli_req_free(r);
}

void cli_dir_verify_member(struct cli_session *s, struct cli_grp *g, const char *user,
                           mls_bytes key)
{
    mls_buf cached;
    struct cli_req *r;
    char source[96];
    int rc;

    if (!cli_valid_username(user)) {
        cli_notice(s, g->rec.name, 1, "WARNING: #%s has a member with an invalid name",
                   g->rec.name);
        return;
    }
    snprintf(source, sizeof source, "a member's credential in #%s", g->rec.name);
    (void)cli_pins_see(s, g->rec.name, user, key, source);
    mls_buf_init(&cached);
    rc = cli_store_dir_get(s->store, user, &cached);
    if (rc == 0) {
        if (!mls_ct_equal(mls_buf_view(&cached), key))
            warn_mismatch(s, g->rec.name, user, key);
        mls_buf_clear(&cached);
        return;
    }
    mls_buf_clear(&cached);
    if (!s->authed)
        return;
    r = cli_req_new(s, g, g->rec.name);
    if (!r)
        return;
    snprintf(r->user, sizeof r->user, "%s", user);
    if (mls_buf_set(&r->key, key.p, key.n) != MLS_OK) {
        cli_req_free(r);
        return;
    }
    cli_req_send(s, cli_proto_user_lookup(user), verify_reply, r);
}

void cli_dir_verify_all(struct cli_session *s, struct cli_grp *g)
{
    uint32_t i, n = mls_group_leaf_count(g->mls);
    for (i = 0; i < n; i++) {
        mls_member m;
        char name[40];
        if (mls_group_member(g->mls, i, &m) != MLS_OK || i == mls_group_own_leaf(g->mls))
            continue;
        cli_bytes_to_name(m.identity, name, sizeof name);
        cli_dir_verify_member(s, g, name, m.signature_key);
    }
}

int cli_dir_check_key_package(struct cli_session *s, struct cli_grp *g, const char *name,
                              mls_bytes key_package, mls_bytes dir_key)
{
    mls_key_package_info info;
    int rc = mls_key_package_validate(s->env, key_package, mls_group_suite(g->mls), &info);
    if (rc != MLS_OK) {
        cli_notice(s, g->rec.name, 1, "cannot invite %s: their KeyPackage is not valid (%s)",
                   name, mls_strerror(rc));
        return -1;
    }
    if (cli_rule_key_package(info.identity, info.signature_key, name, dir_key) != CLI_RULE_OK) {
        cli_notice(s, g->rec.name, 1,
                   "cannot invite %s: the KeyPackage the server gave is not signed by the key "
                   "of %s in the directory",
                   name, name);
        return -1;
    }
    /* The directory and the KeyPackage agree, but both come from the
     * server: only the pin tells a key the server swapped from the key
     * this user had when we first saw them. */
    if (cli_pins_see(s, g->rec.name, name, info.signature_key, "a KeyPackage the server gave") ==
        CLI_PIN_CHANGED) {
        cli_notice(s, g->rec.name, 1,
                   "cannot invite %s: the server gave a key that is not the one pinned for %s; "
                   "nothing was committed", name, name);
        return -1;
    }
    if (cli_store_dir_put(s->store, name, dir_key) != 0)
        cli_log("directory: cannot cache %s", name);
    return 0;
}
