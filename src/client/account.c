/* The user's account.  See account.h. */
#include "account.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "invites.h"
#include "join.h"
#include "sync.h"

#define ACCOUNT_KP_CHECK_MS (10u * 60u * 1000u)
#define ACCOUNT_KP_BATCH 100
#define ACCOUNT_AUTH_TRIES 4

/* ---------------------------------------------------------------- identity */

int cli_account_setup(struct cli_session *s, const char *username, char *err, size_t errlen)
{
    /* RFC 9420 §12.1.7: every member's leaf must list an extension type
     * before a GroupContext may carry it. */
    static const uint16_t exts[] = {CLI_EXT_GROUP_NAME, CLI_EXT_ADMINS, CLI_EXT_TOPIC};
    mls_bytes name = mls_bytes_of((const uint8_t *)username, strlen(username));
    int rc = cli_store_identity_load(s->store, &s->ident);

    if (rc == CLI_STORE_TAMPERED) {
        snprintf(err, errlen, "the stored signature key does not decrypt: the database was "
                 "altered or belongs to another key file");
        return -1;
    }
    if (rc < 0) {
        snprintf(err, errlen, "cannot read the identity from the config directory");
        return -1;
    }
    if (rc == 0 && strcmp(s->ident.username, username) != 0) {
        snprintf(err, errlen, "this database belongs to %s, not %s", s->ident.username, username);
        return -1;
    }
    if (rc == 1) {
        /* First run: a fresh signature key pair; its private half stays
         * in the 0600 database in the 0700 config directory, sealed with
         * the data key (seal.h). */
        cli_identity_clear(&s->ident);
        if (mls_identity_generate(s->env, CLI_SUITE, name, &s->id) != MLS_OK) {
            snprintf(err, errlen, "cannot generate a signature key");
            return -1;
        }
        snprintf(s->ident.username, sizeof s->ident.username, "%s", username);
        s->ident.suite = CLI_SUITE;
        if (mls_buf_set(&s->ident.sig_sk, mls_identity_signature_private_key(s->id).p,
                        mls_identity_signature_private_key(s->id).n) != MLS_OK ||
            mls_buf_set(&s->ident.sig_pk, mls_identity_signature_key(s->id).p,
                        mls_identity_signature_key(s->id).n) != MLS_OK ||
            cli_store_identity_save(s->store, &s->ident) != 0) {
            snprintf(err, errlen, "cannot save the new identity");
            return -1;
        }
    } else if (mls_identity_from_private_key(s->ident.suite, mls_buf_view(&s->ident.sig_sk), name,
                                             &s->id) != MLS_OK) {
        snprintf(err, errlen, "the stored signature key is unusable");
        return -1;
    }
    if (mls_identity_support_extensions(s->id, exts, sizeof exts / sizeof exts[0]) != MLS_OK) {
        snprintf(err, errlen, "cannot set up the identity");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- login */

static void auth_reply(void *ctx, json_t *reply);

void cli_account_auth(struct cli_session *s, const char *nonce_b64, uint64_t timestamp)
{
    int registering = !s->ident.registered;
    mls_buf nonce, content, sig;
    json_t *req;
    mls_bytes pk = mls_buf_view(&s->ident.sig_pk);

    mls_buf_init(&nonce);
    mls_buf_init(&content);
    mls_buf_init(&sig);
    if (cli_b64_decode(nonce_b64, &nonce) != 0) {
        cli_notice(s, NULL, 1, "the server sent a malformed challenge");
        goto out;
    }
    /* PROTOCOL.md §3: AuthContent, signed with SignWithLabel. */
    if (cli_proto_auth_content(registering, mls_buf_view(&nonce), timestamp, s->ident.username,
                               s->ident.suite, pk, &content) != 0 ||
        mls_identity_sign(s->env, s->id, cli_proto_auth_label(), mls_buf_view(&content), &sig) !=
            MLS_OK)
        goto out;
    req = cli_proto_auth(registering, s->ident.username, nonce_b64, timestamp,
                         mls_buf_view(&sig), s->ident.suite, pk);
    if (!req)
        goto out;
    s->auth_tries++;
    cli_net_request(s->net, req, auth_reply, s);
out:
    mls_buf_clear(&nonce);
    mls_buf_clear(&content);
    mls_buf_clear(&sig);
}

static void after_login(struct cli_session *s)
{
    struct cli_grp *g;

    s->authed = 1;
    s->ever_authed = 1;
    s->auth_tries = 0;
    s->last_close[0] = 0;
    cli_net_backoff_reset(s->net);
    snprintf(s->conn, sizeof s->conn, "connected");
    cli_changed(s);
    cli_account_kp_check(s);
    for (g = s->groups; g; g = g->next) {
        if (!cli_grp_active(g))
            continue;
        /* A group.create lost with the connection shows as unknown_group
         * in the log read, which sends it again. */
        cli_phase_set(g, CLI_PHASE_CATCHING_UP);
        cli_sync_fetch(s, g);
    }
    /* Invitations first: a group joined through one needs no rejoin. */
    cli_join_fetch_inbox(s);
    /* Invitations the server keeps: ours to complete, or waiting for us. */
    cli_invites_check(s);
}

static void fatal(struct cli_session *s, const char *text)
{
    if (s->ev.fatal)
        s->ev.fatal(s->ev.ctx, text);
}

static void auth_reply(void *ctx, json_t *reply)
{
    struct cli_session *s = ctx;
    struct cli_reply rp;
    char buf[512];

    cli_proto_reply(reply, &rp);
    if (rp.err == CLI_PERR_DISCONNECTED)
        return;
    if (rp.ok) {
        if (!s->ident.registered || s->login_after_taken) {
            s->ident.registered = 1;
            s->login_after_taken = 0;
            if (cli_store_identity_save(s->store, &s->ident) != 0)
                cli_notice(s, NULL, 1, "cannot record the registration");
            cli_notice(s, NULL, 0, "registered %s on %s (key %s)", s->ident.username,
                       cli_net_endpoint(s->net), cli_proto_auth_fingerprint(reply));
        } else {
            cli_notice(s, NULL, 0, "logged in as %s on %s", s->ident.username,
                       cli_net_endpoint(s->net));
        }
        after_login(s);
        return;
    }
    if (s->login_after_taken) {
        /* Logging in with our key did not work either: the name is
         * another key's after all. */
        snprintf(buf, sizeof buf,
                 "the server refused to register %s: %s. The username belongs to another key; "
                 "this config directory does not hold it.",
                 s->ident.username, s->taken_msg);
        fatal(s, buf);
        return;
    }
    switch (rp.err) {
    case CLI_PERR_USERNAME_TAKEN:
        if (!s->ident.registered && rp.nonce) {
            /* Perhaps our own registration: the server saved it and its
             * answer was lost.  Logging in with the same key tells; only
             * the key's holder can (issue 11). */
            s->ident.registered = 1;
            s->login_after_taken = 1;
            snprintf(s->taken_msg, sizeof s->taken_msg, "%s", rp.message);
            cli_notice(s, NULL, 0, "%s is registered already: logging in with our key",
                       s->ident.username);
            break;
        }
        /* fall through */
    case CLI_PERR_BAD_KEY:
        snprintf(buf, sizeof buf,
                 "the server refused to register %s: %s. The username belongs to another key; "
                 "this config directory does not hold it.",
                 s->ident.username, rp.message);
        fatal(s, buf);
        return;
    case CLI_PERR_BAD_SIGNATURE:
        snprintf(buf, sizeof buf, "the server refused our key for %s: %s", s->ident.username,
                 rp.message);
        fatal(s, buf);
        return;
    case CLI_PERR_UNKNOWN_USER:
        if (!s->ident.registered)
            break;
        /* The server no longer knows us (a new server database): register
         * the same key again. */
        cli_notice(s, NULL, 0, "the server does not know %s: registering again",
                   s->ident.username);
        s->ident.registered = 0;
        if (cli_store_identity_save(s->store, &s->ident) != 0)
            cli_notice(s, NULL, 1, "cannot record the registration state");
        break;
    default:
        break;
    }
    if (rp.nonce && s->auth_tries < ACCOUNT_AUTH_TRIES) {
        uint64_t t = cli_time();
        if (rp.err == CLI_PERR_BAD_TIMESTAMP && rp.server_time > 0)
            t = (uint64_t)rp.server_time;
        cli_account_auth(s, rp.nonce, t);
        return;
    }
    cli_notice(s, NULL, 1, "login failed: %s", rp.message);
    cli_net_drop(s->net);
}

/* ---------------------------------------------------------------- KeyPackages */

static void kp_timer_fire(void *ctx)
{
    cli_account_kp_check(ctx);
}

static void kp_upload_reply(void *ctx, json_t *reply)
{
    struct cli_session *s = ctx;
    struct cli_reply rp;
    struct cli_kp_upload up;

    s->kp_busy = 0;
    cli_proto_reply(reply, &rp);
    if (rp.err == CLI_PERR_DISCONNECTED)
        return;
    if (!rp.ok || cli_proto_kp_upload_reply(reply, &up) != 0) {
        cli_notice(s, NULL, 1, "the server refused our KeyPackages: %s", rp.message);
        return;
    }
    if (s->lr_ref.n > 0 && up.last_resort) {
        if (cli_store_kp_delete_old_last_resort(s->store, mls_buf_view(&s->lr_ref)) != 0)
            cli_log("kp: cannot forget old last-resort bundles");
        mls_buf_reset(&s->lr_ref);
    }
    cli_log("kp: stored %lld, count %lld", (long long)up.stored, (long long)up.count);
    /* One request per kind: see whether another batch is needed. */
    cli_account_kp_check(s);
}

/* Makes n KeyPackages, stores their private bundles first (a Welcome may
 * come as soon as the server has them), then uploads them. */
static void kp_upload(struct cli_session *s, int n, int last_resort)
{
    mls_buf kps[ACCOUNT_KP_BATCH], bundle, ref;
    mls_bytes views[ACCOUNT_KP_BATCH];
    json_t *req;
    int i, ok = 0;
    mls_key_package_options opt;

    if (n > ACCOUNT_KP_BATCH)
        n = ACCOUNT_KP_BATCH;
    for (i = 0; i < ACCOUNT_KP_BATCH; i++)
        mls_buf_init(&kps[i]);
    mls_buf_init(&bundle);
    mls_buf_init(&ref);
    memset(&opt, 0, sizeof opt);
    opt.last_resort = last_resort;
    if (cli_store_begin(s->store) != 0)
        goto out;
    for (i = 0; i < n; i++) {
        if (mls_key_package_create(s->env, s->id, &opt, &kps[i], &bundle) != MLS_OK ||
            mls_key_package_message_ref(mls_buf_view(&kps[i]), &ref) != MLS_OK ||
            cli_store_kp_add(s->store, mls_buf_view(&ref), mls_buf_view(&bundle),
                             last_resort) != 0)
            goto out;
        views[i] = mls_buf_view(&kps[i]);
        if (last_resort && mls_buf_set(&s->lr_ref, ref.p, ref.n) != MLS_OK)
            goto out;
    }
    if (cli_store_commit(s->store) != 0)
        goto out;
    ok = 1;
    req = cli_proto_kp_upload(views, (size_t)n, last_resort);
    if (req && cli_net_request(s->net, req, kp_upload_reply, s) >= 0)
        s->kp_busy = 1;
out:
    if (!ok) {
        cli_store_rollback(s->store);
        cli_notice(s, NULL, 1, "cannot create KeyPackages");
    }
    for (i = 0; i < ACCOUNT_KP_BATCH; i++)
        mls_buf_clear(&kps[i]);
    mls_buf_clear(&bundle);
    mls_buf_clear(&ref);
}

static void kp_count_reply(void *ctx, json_t *reply)
{
    struct cli_session *s = ctx;
    struct cli_kp_count c;
    s->kp_busy = 0;
    if (cli_proto_kp_count_reply(reply, &c) != 0)
        return;
    if (!c.last_resort) {
        kp_upload(s, 1, 1);
        return;
    }
    if (c.count < c.low_water) {
        int64_t n = 2 * c.low_water - c.count;
        kp_upload(s, (int)(n > ACCOUNT_KP_BATCH ? ACCOUNT_KP_BATCH : n), 0);
    }
}

void cli_account_kp_check(struct cli_session *s)
{
    json_t *req;
    cli_timer_start(s->net, &s->kp_timer, ACCOUNT_KP_CHECK_MS, kp_timer_fire, s);
    if (!s->authed || s->kp_busy)
        return;
    req = cli_proto_kp_count();
    if (req && cli_net_request(s->net, req, kp_count_reply, s) >= 0)
        s->kp_busy = 1;
}
