/* Pinned keys, /whois, /verify, /code.  See pins.h. */
#include "pins.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "core.h"
#include "gcommit.h"

enum pin_action { ACT_WHOIS = 1, ACT_VERIFY };

static void when(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm) == 0)
        snprintf(out, 32, "%lld", (long long)t);
}

static void changed_warning(struct cli_session *s, const char *group, const char *user,
                            const struct cli_pin *p, mls_bytes key, const char *source)
{
    char fp_old[CLI_FINGERPRINT_LEN + 1], fp_new[CLI_FINGERPRINT_LEN + 1], since[32];
    cli_fingerprint(mls_buf_view(&p->key), fp_old);
    cli_fingerprint(key, fp_new);
    when(p->pinned_at, since);
    if (p->verified)
        cli_notice(s, group, 1,
                   "SECURITY ALERT: %s's key from %s (%s) is NOT the key you VERIFIED for %s "
                   "(%s, pinned since %s): refused.  Someone, possibly the server, may be "
                   "posing as %s.  Compare safety numbers with %s in person (/verify %s); "
                   "only if they really changed keys: /verify %s accept",
                   user, source, fp_new, user, fp_old, since, user, user, user, user);
    else
        cli_notice(s, group, 1,
                   "WARNING: %s's key from %s (%s) is NOT the key pinned for %s since %s "
                   "(%s): refused.  Someone, possibly the server, may be posing as %s.  "
                   "Check with %s (/whois %s, /verify %s); only if they really changed keys: "
                   "/verify %s accept",
                   user, source, fp_new, user, since, fp_old, user, user, user, user, user);
}

enum cli_pin_verdict cli_pins_see(struct cli_session *s, const char *group, const char *user,
                                  mls_bytes key, const char *source)
{
    struct cli_pin p;
    enum cli_pin_verdict v = CLI_PIN_CHANGED;
    int rc;

    memset(&p, 0, sizeof p);
    if (strcmp(user, s->ident.username) == 0) {
        /* Our own key is known: nothing to pin, only to compare. */
        if (mls_ct_equal(key, mls_buf_view(&s->ident.sig_pk)))
            return CLI_PIN_SAME;
        cli_notice(s, group, 1, "WARNING: a key from %s claims YOUR name %s, and it is not "
                   "your key: someone, possibly the server, is posing as you", source, user);
        return CLI_PIN_CHANGED;
    }
    rc = cli_store_pin_get(s->store, user, &p);
    if (rc < 0)
        goto out;
    v = cli_pin_judge(rc == 0 ? mls_buf_view(&p.key) : mls_bytes_of(NULL, 0), key);
    if (v == CLI_PIN_FIRST) {
        rc = cli_store_pin_add(s->store, user, key, source, (int64_t)cli_time());
        if (rc < 0)
            v = CLI_PIN_CHANGED;
        cli_log("pins: %s pinned from %s", user, source);
    } else if (v == CLI_PIN_CHANGED) {
        if (cli_store_pin_offer(s->store, user, key, source, (int64_t)cli_time()) != 0)
            cli_log("pins: cannot record the key offered for %s", user);
        changed_warning(s, group, user, &p, key, source);
    }
out:
    cli_pin_clear(&p);
    return v;
}

int cli_pins_state(struct cli_session *s, const char *user, mls_bytes key, int *verified)
{
    struct cli_pin p;
    int state = 0;
    memset(&p, 0, sizeof p);
    *verified = 0;
    if (cli_store_pin_get(s->store, user, &p) == 0) {
        state = mls_ct_equal(mls_buf_view(&p.key), key) ? 1 : -1;
        *verified = p.verified;
    }
    cli_pin_clear(&p);
    return state;
}

/* ---------------------------------------------------------------- commands */

/* The groups we share with user, "#a #b", or "none". */
static void shared_groups(struct cli_session *s, const char *user, char *out, size_t max)
{
    struct cli_grp *g;
    size_t n = 0;
    out[0] = 0;
    for (g = s->groups; g; g = g->next) {
        uint32_t i, leaves;
        if (!cli_grp_active(g))
            continue;
        leaves = mls_group_leaf_count(g->mls);
        for (i = 0; i < leaves; i++) {
            char name[40];
            cli_member_name(g->mls, i, name, sizeof name);
            if (strcmp(name, user) != 0)
                continue;
            if (n + strlen(g->rec.name) + 3 < max)
                n += (size_t)snprintf(out + n, max - n, "%s#%s", n ? " " : "", g->rec.name);
            break;
        }
    }
    if (!out[0])
        snprintf(out, max, "none");
}

static void whois_print(struct cli_session *s, const char *user, const struct cli_pin *p)
{
    char fp[CLI_FINGERPRINT_LEN + 1], since[32], groups[512];
    cli_fingerprint(mls_buf_view(&p->key), fp);
    when(p->pinned_at, since);
    shared_groups(s, user, groups, sizeof groups);
    cli_notice(s, NULL, 0, "%s: key %s", user, fp);
    cli_notice(s, NULL, 0, "  pinned since %s (first seen in %s), %s", since, p->source,
               p->verified ? "VERIFIED by you" : "not verified (/verify to compare)");
    cli_notice(s, NULL, 0, "  groups you share: %s", groups);
    if (p->offered.n > 0) {
        char ofp[CLI_FINGERPRINT_LEN + 1], at[32];
        cli_fingerprint(mls_buf_view(&p->offered), ofp);
        when(p->offered_at, at);
        cli_notice(s, NULL, 1, "  a DIFFERENT key %s was offered for %s on %s (from %s) and "
                   "refused; /verify %s accept if %s really changed keys",
                   ofp, user, at, p->offered_source, user, user);
    }
}

static void verify_print(struct cli_session *s, const char *user, const struct cli_pin *p)
{
    char number[CLI_SAFETY_NUMBER_LEN + 1];
    if (cli_safety_number(s->ident.username, mls_buf_view(&s->ident.sig_pk), user,
                          mls_buf_view(&p->key), number) != 0) {
        cli_notice(s, NULL, 1, "cannot compute the safety number with %s", user);
        return;
    }
    cli_notice(s, NULL, 0, "safety number of %s and %s: %s", s->ident.username, user, number);
    cli_notice(s, NULL, 0, "  compare it with what %s's /verify %s shows (in person or on a "
               "call); if they are equal: /verify %s ok%s",
               user, s->ident.username, user, p->verified ? " (already verified)" : "");
    if (p->offered.n > 0)
        cli_notice(s, NULL, 1, "  this is the number of the PINNED key; %s was offered a "
                   "different key since (/whois %s)", user, user);
}

static void act(struct cli_session *s, const char *user, int action, const struct cli_pin *p)
{
    if (action == ACT_WHOIS)
        whois_print(s, user, p);
    else
        verify_print(s, user, p);
}

static void lookup_reply(void *ctx, json_t *reply)
{
    struct cli_req *r = ctx;
    struct cli_session *s = r->s;
    struct cli_reply rp;
    struct cli_pin p;
    mls_buf key;

    mls_buf_init(&key);
    memset(&p, 0, sizeof p);
    cli_proto_reply(reply, &rp);
    if (rp.err == CLI_PERR_DISCONNECTED) {
        cli_notice(s, NULL, 1, "%s: not connected to the server; try again", r->user);
        goto out;
    }
    if (!rp.ok) {
        cli_notice(s, NULL, 1, "%s: not in the server's directory (%s)", r->user, rp.message);
        goto out;
    }
    if (cli_proto_user_lookup_reply(reply, &key) != 0) {
        cli_notice(s, NULL, 1, "%s: the server's answer is not valid", r->user);
        goto out;
    }
    (void)cli_pins_see(s, NULL, r->user, mls_buf_view(&key), "the server's directory");
    if (cli_store_pin_get(s->store, r->user, &p) == 0)
        act(s, r->user, (int)r->id, &p);
out:
    cli_pin_clear(&p);
    mls_buf_clear(&key);
    cli_req_free(r);
}

/* Runs action on user's pin; with nothing pinned, asks the directory
 * first (that answer becomes the pin: trust on first use). */
static void with_pin(struct cli_session *s, const char *user, int action)
{
    struct cli_pin p;
    struct cli_req *r;
    int rc;

    memset(&p, 0, sizeof p);
    rc = cli_store_pin_get(s->store, user, &p);
    if (rc == 0) {
        act(s, user, action, &p);
        goto out;
    }
    if (rc < 0) {
        cli_notice(s, NULL, 1, "cannot read the pinned keys");
        goto out;
    }
    if (!s->authed) {
        cli_notice(s, NULL, 1, "no key of %s seen yet, and not connected to the server to ask "
                   "its directory; try again once connected", user);
        goto out;
    }
    r = cli_req_new(s, NULL, NULL);
    if (!r)
        goto out;
    snprintf(r->user, sizeof r->user, "%s", user);
    r->id = action;
    if (cli_req_send(s, cli_proto_user_lookup(user), lookup_reply, r) != 0)
        cli_notice(s, NULL, 1, "cannot ask the server's directory for %s", user);
out:
    cli_pin_clear(&p);
}

static int user_arg(struct cli_session *s, const char *user)
{
    if (!cli_valid_username(user)) {
        cli_notice(s, NULL, 1, "\"%s\" is not a valid username", user);
        return 0;
    }
    return 1;
}

void cli_session_whois(struct cli_session *s, const char *user)
{
    char fp[CLI_FINGERPRINT_LEN + 1], groups[512];
    if (!user_arg(s, user))
        return;
    if (strcmp(user, s->ident.username) == 0) {
        cli_fingerprint(mls_buf_view(&s->ident.sig_pk), fp);
        shared_groups(s, user, groups, sizeof groups);
        cli_notice(s, NULL, 0, "%s (you): key %s", user, fp);
        cli_notice(s, NULL, 0, "  your groups: %s", groups);
        return;
    }
    with_pin(s, user, ACT_WHOIS);
}

void cli_session_verify(struct cli_session *s, const char *user, const char *what)
{
    char fp[CLI_FINGERPRINT_LEN + 1];
    struct cli_pin p;
    int rc;

    if (!user_arg(s, user))
        return;
    if (strcmp(user, s->ident.username) == 0) {
        cli_notice(s, NULL, 1, "that is you: /verify another user to compare safety numbers");
        return;
    }
    if (!what) {
        with_pin(s, user, ACT_VERIFY);
        return;
    }
    memset(&p, 0, sizeof p);
    if (strcmp(what, "ok") == 0) {
        rc = cli_store_pin_set_verified(s->store, user, 1);
        if (rc == 0 && cli_store_pin_get(s->store, user, &p) == 0) {
            cli_fingerprint(mls_buf_view(&p.key), fp);
            cli_notice(s, NULL, 0, "%s's key %s is now marked VERIFIED", user, fp);
        } else {
            cli_notice(s, NULL, 1, "no key of %s is pinned yet: /verify %s first", user, user);
        }
    } else if (strcmp(what, "accept") == 0) {
        rc = cli_store_pin_accept(s->store, user, (int64_t)cli_time());
        if (rc == 0 && cli_store_pin_get(s->store, user, &p) == 0) {
            cli_fingerprint(mls_buf_view(&p.key), fp);
            cli_notice(s, NULL, 0, "%s's key is now pinned as %s (not verified: /verify %s "
                       "to compare safety numbers)", user, fp, user);
        } else {
            cli_notice(s, NULL, 1, "no different key of %s was seen: nothing to accept", user);
        }
    } else {
        cli_notice(s, NULL, 1, "usage: /verify user [ok|accept]");
    }
    cli_pin_clear(&p);
}

void cli_session_code(struct cli_session *s, const char *group)
{
    struct cli_grp *g = cli_grp_find(s, group);
    char code[CLI_EPOCH_CODE_LEN + 1];
    if (!cli_grp_active(g)) {
        cli_notice(s, group, 1, "you are not a member of #%s", group);
        return;
    }
    if (cli_epoch_code(mls_group_epoch_authenticator(g->mls), code) != 0) {
        cli_notice(s, group, 1, "cannot compute the code of #%s", group);
        return;
    }
    /* RFC 9420 §8.7: members in the same epoch of the same group share
     * the epoch_authenticator; a member the server split off into another
     * group or epoch does not. */
    cli_notice(s, group, 0, "code of #%s, epoch %llu: %s (members in the same epoch see the "
               "same code; compare it out of band)",
               group, (unsigned long long)mls_group_epoch(g->mls), code);
}

/* ---------------------------------------------------------------- renames */

enum cli_rename_verdict cli_pins_rename(struct cli_session *s, struct cli_grp *g, uint32_t leaf,
                                        const char *old, const char *new_name, mls_bytes old_key,
                                        mls_bytes key)
{
    struct cli_pin po, pn;
    enum cli_rename_verdict v;
    uint32_t i, n = mls_group_leaf_count(g->mls);
    int in_use = 0;

    memset(&po, 0, sizeof po);
    memset(&pn, 0, sizeof pn);
    for (i = 0; i < n; i++) {
        char name[40];
        if (i == leaf)
            continue;
        cli_member_name(g->mls, i, name, sizeof name);
        if (strcmp(name, new_name) == 0)
            in_use = 1;
    }
    if (strcmp(new_name, s->ident.username) == 0)
        in_use = 1;
    if (cli_store_pin_get(s->store, old, &po) < 0 || cli_store_pin_get(s->store, new_name, &pn) < 0) {
        v = CLI_RENAME_PIN_MISMATCH; /* never trusted by default */
        goto out;
    }
    v = cli_rename_judge(old_key, key, cli_valid_username(new_name), in_use,
                         mls_buf_view(&po.key), mls_buf_view(&pn.key));
    if (v == CLI_RENAME_OK && po.key.n > 0 && pn.key.n == 0 &&
        cli_store_pin_rename(s->store, old, new_name) < 0)
        cli_log("pins: cannot move the pin of %s to %s", old, new_name);
out:
    cli_pin_clear(&po);
    cli_pin_clear(&pn);
    return v;
}

/* ---------------------------------------------------------------- /nick */

/* Links <new>@<server>.db to the store's file, so that the next run with
 * the new name finds its keys and groups (the database records its
 * username, so the old name no longer opens it). */
static void link_store(struct cli_session *s, const char *new_name)
{
    char *real = NULL, *dir = NULL, *link = NULL;
    const char *base, *at, *slash;

    if (!s->db_path)
        return;
    real = realpath(s->db_path, NULL);
    if (!real)
        goto out;
    slash = strrchr(real, '/');
    base = slash ? slash + 1 : real;
    at = strchr(base, '@');
    slash = strrchr(s->db_path, '/');
    if (!at || !slash)
        goto out;
    dir = cli_strdupf("%.*s", (int)(slash - s->db_path), s->db_path);
    link = dir ? cli_strdupf("%s/%s%s", dir, new_name, at) : NULL;
    if (!link)
        goto out;
    if (symlink(real, link) != 0)
        cli_notice(s, NULL, 1, "cannot link %s to your database (%s): start the client with "
                   "--config pointing to a copy named for %s", link, strerror(errno), new_name);
out:
    free(real);
    free(dir);
    free(link);
}

static void nick_reply(void *ctx, json_t *reply)
{
    static const uint16_t exts[] = {CLI_EXT_GROUP_NAME, CLI_EXT_ADMINS};
    struct cli_req *r = ctx;
    struct cli_session *s = r->s;
    struct cli_reply rp;
    mls_identity *id = NULL;
    struct cli_grp *g;
    char old[33];

    cli_proto_reply(reply, &rp);
    if (!rp.ok) {
        cli_notice(s, NULL, 1, "the server did not rename you to %s: %s", r->user, rp.message);
        goto out;
    }
    /* Same key, new name: our credential from now on (KeyPackages,
     * groups created or joined, the rename commits below). */
    if (mls_identity_from_private_key(s->ident.suite, mls_buf_view(&s->ident.sig_sk),
                                      mls_bytes_of((const uint8_t *)r->user, strlen(r->user)),
                                      &id) != MLS_OK ||
        mls_identity_support_extensions(id, exts, 2) != MLS_OK) {
        cli_notice(s, NULL, 1, "renamed to %s on the server, but the new credential cannot be "
                   "made", r->user);
        goto out;
    }
    snprintf(old, sizeof old, "%s", s->ident.username);
    snprintf(s->ident.username, sizeof s->ident.username, "%s", r->user);
    if (cli_store_identity_save(s->store, &s->ident) != 0)
        cli_notice(s, NULL, 1, "cannot save your new name in the config directory");
    mls_identity_free(s->id);
    s->id = id;
    id = NULL;
    link_store(s, r->user);
    cli_notice(s, NULL, 0, "you are now %s (was %s); start the client as %s from now on",
               r->user, old, r->user);
    /* The server deleted the KeyPackages with the old name. */
    cli_account_kp_check(s);
    for (g = s->groups; g; g = g->next)
        if (cli_grp_active(g))
            cli_commit_update(s, g->rec.name);
    cli_changed(s);
out:
    mls_identity_free(id);
    cli_req_free(r);
}

void cli_session_nick(struct cli_session *s, const char *newname)
{
    struct cli_req *r;
    if (!user_arg(s, newname))
        return;
    if (strcmp(newname, s->ident.username) == 0) {
        cli_notice(s, NULL, 1, "you are already %s", newname);
        return;
    }
    if (!s->authed) {
        cli_notice(s, NULL, 1, "not connected to the server: try again once connected");
        return;
    }
    r = cli_req_new(s, NULL, NULL);
    if (!r)
        return;
    snprintf(r->user, sizeof r->user, "%s", newname);
    if (cli_req_send(s, cli_proto_user_rename(newname), nick_reply, r) != 0)
        cli_notice(s, NULL, 1, "cannot ask the server to rename you");
}
