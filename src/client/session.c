/* Session logic: identity, login, KeyPackages, groups, catch-up, commits,
 * outbox.  See session.h. */
#include "session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ginfo.h"
#include "mls/group.h"
#include "util.h"

#define S_SUITE MLS_SUITE_X25519_AES128GCM_SHA256_ED25519
#define S_AUTH_LABEL "mlschat auth v1"
#define S_FETCH_LIMIT 200
#define S_MAX_COMMIT_RETRIES 8
#define S_MAX_INVITE 50
#define S_KP_CHECK_MS (10u * 60u * 1000u)
#define S_MAX_TEXT 16000
/* RFC 9420 §6 Sender: sender_type new_member_commit (an external commit). */
#define S_SENDER_NEW_MEMBER_COMMIT 4

enum commit_kind { COMMIT_ADD = 1, COMMIT_UPDATE };
enum commit_state { OP_CLAIMING = 1, OP_READY, OP_SENT };

struct s_group;

struct s_claim {
    struct s_commit *op;
    char name[33];
    mls_buf kp;      /* KeyPackage MLSMessage */
    mls_buf dir_key; /* the directory's key for name */
    int got_kp, got_dir, failed;
};

struct s_commit {
    struct cli_session *s;
    struct s_group *g;
    enum commit_kind kind;
    enum commit_state state;
    struct s_claim *claims;
    size_t n_claims;
    size_t outstanding;
    int retries;
    json_t *req; /* the group.commit request, to resend after a reconnect */
};

struct s_group {
    struct s_group *next;
    struct cli_session *s;
    struct cli_group_rec rec;
    mls_group *mls;
    int fetching, refetch, synced;
    struct s_commit *op;
    /* Rejoining by an external commit (status BROKEN): a request is out;
     * attempts after stale_epoch; stuck: it failed for a reason a retry
     * does not fix (said to the user). */
    int rejoin_busy, rejoin_tries, stuck;
};

/* Context of one request that needs more than the session. */
struct s_req {
    struct s_req *next, **prevp;
    struct cli_session *s;
    struct s_group *g;
    char name[65];
    char user[33];
    int64_t id;
    mls_buf key;
};

struct cli_session {
    struct cli_session_events ev;
    struct cli_store *store;
    struct cli_net *net;
    const mls_env *env;
    struct cli_identity ident;
    mls_identity *id;
    mls_group_config cfg;

    int open, authed, auth_tries;
    int ever_authed; /* logged in at least once in this run */
    int listed;      /* group.list asked since this login */
    char conn[80];
    char last_close[128]; /* the last reason a connection failed */
    struct s_group *groups;
    struct s_req *reqs;
    char waiting[16][65]; /* groups waiting for an invitation */
    size_t n_waiting;
    char joins[16][65];   /* /join requests to run once logged in */
    size_t n_joins;
    int inbox_busy;
    int inbox_again;
    int kp_busy;
    mls_buf lr_ref;       /* ref of the last-resort KeyPackage being uploaded */
    struct cli_timer kp_timer;
    int64_t join_order;
};

/* ------------------------------------------------------------ small helpers */

static void notice(struct cli_session *s, const char *group, int error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void notice(struct cli_session *s, const char *group, int error, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    cli_log("notice%s: %s", error ? " (error)" : "", buf);
    if (s->ev.notice)
        s->ev.notice(s->ev.ctx, group, error, buf);
}

static void changed(struct cli_session *s)
{
    if (s->ev.changed)
        s->ev.changed(s->ev.ctx);
}

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int64_t jint(json_t *o, const char *k, int64_t dflt)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

static int jok(json_t *reply)
{
    return reply && json_is_true(json_object_get(reply, "ok"));
}

static const char *jerr(json_t *reply)
{
    const char *e = reply ? jstr(reply, "error") : NULL;
    return e ? e : (reply ? "error" : "disconnected");
}

static const char *jmsg(json_t *reply)
{
    const char *m = reply ? jstr(reply, "message") : NULL;
    return m ? m : jerr(reply);
}

/* Sets key to base64(p, n); -1 when out of memory. */
static int jset_b64(json_t *o, const char *key, mls_bytes b)
{
    char *t = cli_b64_encode(b.p, b.n);
    int rc;
    if (!t)
        return -1;
    rc = json_object_set_new(o, key, json_string(t));
    free(t);
    return rc;
}

static struct s_req *req_new(struct cli_session *s, struct s_group *g, const char *name)
{
    struct s_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->s = s;
    r->g = g;
    if (name)
        snprintf(r->name, sizeof r->name, "%s", name);
    r->next = s->reqs;
    if (s->reqs)
        s->reqs->prevp = &r->next;
    r->prevp = &s->reqs;
    s->reqs = r;
    return r;
}

static void req_free(struct s_req *r)
{
    if (!r)
        return;
    mls_buf_clear(&r->key);
    *r->prevp = r->next;
    if (r->next)
        r->next->prevp = r->prevp;
    free(r);
}

/* Sends req with a s_req context; frees the context if it cannot be sent. */
static int send_req(struct cli_session *s, json_t *req, cli_net_reply_cb cb, struct s_req *r)
{
    if (!req || !r) {
        json_decref(req);
        req_free(r);
        return -1;
    }
    if (cli_net_request(s->net, req, cb, r) < 0) {
        req_free(r);
        return -1;
    }
    return 0;
}

static struct s_group *group_find(const struct cli_session *s, const char *name)
{
    struct s_group *g;
    for (g = s->groups; g; g = g->next)
        if (strcmp(g->rec.name, name) == 0)
            return g;
    return NULL;
}

static int group_active(const struct s_group *g)
{
    return g && g->rec.status == CLI_GROUP_JOINED && g->mls;
}

/* The username of the member at leaf, into out (empty if none). */
static void member_name(const mls_group *m, uint32_t leaf, char *out, size_t max)
{
    mls_member mb;
    out[0] = 0;
    if (mls_group_member(m, leaf, &mb) == MLS_OK && mb.identity.n > 0 && mb.identity.n < max) {
        memcpy(out, mb.identity.p, mb.identity.n);
        out[mb.identity.n] = 0;
    }
}

static void bytes_to_name(mls_bytes b, char *out, size_t max)
{
    size_t n = b.n < max - 1 ? b.n : max - 1;
    memcpy(out, b.p, n);
    out[n] = 0;
    if (!cli_valid_username(out))
        snprintf(out, max, "(invalid name)");
}

/* ------------------------------------------------------------ chat extensions */

static int ext_name_encode(const char *name, mls_buf *out)
{
    return cli_tls_put_vec(out, (const uint8_t *)name, strlen(name));
}

static int ext_admins_encode(char *const *names, size_t n, mls_buf *out)
{
    mls_buf body;
    size_t i;
    int rc = -1;
    mls_buf_init(&body);
    for (i = 0; i < n; i++)
        if (cli_tls_put_vec(&body, (const uint8_t *)names[i], strlen(names[i])) != 0)
            goto out;
    rc = cli_tls_put_vec(out, body.p, body.n);
out:
    mls_buf_clear(&body);
    return rc;
}

/* 1 if user is listed in the group's administrators extension. */
static int is_admin(const mls_group *m, const char *user)
{
    mls_bytes data, list, item;
    size_t off = 0, o2 = 0;
    if (!m || mls_group_extension(m, CLI_EXT_ADMINS, &data) != MLS_OK)
        return 0;
    if (cli_tls_get_vec(data, &off, &list) != 0 || off != data.n)
        return 0;
    while (o2 < list.n) {
        if (cli_tls_get_vec(list, &o2, &item) != 0)
            return 0;
        if (item.n == strlen(user) && memcmp(item.p, user, item.n) == 0)
            return 1;
    }
    return 0;
}

/* The group name from the GroupContext extension, into out. */
static int group_name_of(const mls_group *m, char *out, size_t max)
{
    mls_bytes data, name;
    size_t off = 0;
    if (mls_group_extension(m, CLI_EXT_GROUP_NAME, &data) != MLS_OK ||
        cli_tls_get_vec(data, &off, &name) != 0 || off != data.n || name.n == 0 ||
        name.n >= max)
        return -1;
    memcpy(out, name.p, name.n);
    out[name.n] = 0;
    return 0;
}

/* ------------------------------------------------------------ persistence */

/* Serializes the live MLS state into rec.state. */
static int group_snapshot(struct s_group *g)
{
    mls_buf out;
    mls_buf_init(&out);
    if (mls_group_serialize(g->mls, &out) != MLS_OK) {
        mls_buf_clear(&out);
        return -1;
    }
    mls_buf_clear(&g->rec.state);
    g->rec.state = out;
    return 0;
}

/* Reloads the live MLS state from rec.state (after a refused change). */
static int group_reload(struct cli_session *s, struct s_group *g)
{
    mls_group *m = NULL;
    if (mls_group_deserialize(s->env, mls_buf_view(&g->rec.state), &m) != MLS_OK)
        return -1;
    mls_group_free(g->mls);
    g->mls = m;
    return 0;
}

static int group_save(struct cli_session *s, struct s_group *g)
{
    return cli_store_group_put(s->store, &g->rec);
}

static void group_free(struct s_group *g);

/* ------------------------------------------------------------ forward */

static void fetch_log(struct cli_session *s, struct s_group *g);
static void pump_outbox(struct cli_session *s, struct s_group *g);
static void commit_run(struct s_commit *op);
static void commit_free(struct s_commit *op);
static void verify_member(struct cli_session *s, struct s_group *g, const char *user,
                          mls_bytes key);
static void fetch_inbox(struct cli_session *s);
static void join_decide(struct cli_session *s, const char *name);
static void kp_check(struct cli_session *s);

/* ------------------------------------------------------------ identity */

static int identity_setup(struct cli_session *s, const char *username, char *err, size_t errlen)
{
    static const uint16_t exts[] = {CLI_EXT_GROUP_NAME, CLI_EXT_ADMINS};
    mls_bytes name = mls_bytes_of((const uint8_t *)username, strlen(username));
    int rc = cli_store_identity_load(s->store, &s->ident);

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
         * in the 0600 database in the 0700 config directory. */
        cli_identity_clear(&s->ident);
        if (mls_identity_generate(S_SUITE, s->env, name, &s->id) != MLS_OK) {
            snprintf(err, errlen, "cannot generate a signature key");
            return -1;
        }
        snprintf(s->ident.username, sizeof s->ident.username, "%s", username);
        s->ident.suite = S_SUITE;
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
    if (mls_identity_support_extensions(s->id, exts, 2) != MLS_OK) {
        snprintf(err, errlen, "cannot set up the identity");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ login */

static void auth_reply(void *ctx, json_t *reply);

static void send_auth(struct cli_session *s, const char *nonce_b64, uint64_t timestamp)
{
    const char *action = s->ident.registered ? "login" : "register";
    mls_buf nonce, content, sig;
    json_t *req = NULL;
    mls_bytes pk = mls_buf_view(&s->ident.sig_pk);

    mls_buf_init(&nonce);
    mls_buf_init(&content);
    mls_buf_init(&sig);
    if (cli_b64_decode(nonce_b64, &nonce) != 0) {
        notice(s, NULL, 1, "the server sent a malformed challenge");
        goto out;
    }
    /* PROTOCOL.md §3: AuthContent, signed with SignWithLabel. */
    if (cli_tls_put_vec(&content, (const uint8_t *)action, strlen(action)) != 0 ||
        cli_tls_put_vec(&content, nonce.p, nonce.n) != 0 ||
        cli_tls_put_u64(&content, timestamp) != 0 ||
        cli_tls_put_vec(&content, (const uint8_t *)s->ident.username,
                        strlen(s->ident.username)) != 0 ||
        cli_tls_put_u16(&content, s->ident.suite) != 0 ||
        cli_tls_put_vec(&content, pk.p, pk.n) != 0)
        goto out;
    if (mls_identity_sign(s->id, s->env, S_AUTH_LABEL, mls_buf_view(&content), &sig) != MLS_OK)
        goto out;
    req = json_pack("{s:s, s:s, s:s, s:I}", "type", action, "username", s->ident.username,
                    "nonce", nonce_b64, "timestamp", (json_int_t)timestamp);
    if (!req || jset_b64(req, "signature", mls_buf_view(&sig)) != 0)
        goto out;
    if (!s->ident.registered) {
        if (json_object_set_new(req, "cipher_suite", json_integer(s->ident.suite)) != 0 ||
            jset_b64(req, "signature_key", pk) != 0)
            goto out;
    }
    s->auth_tries++;
    cli_net_request(s->net, req, auth_reply, s);
    req = NULL;
out:
    json_decref(req);
    mls_buf_clear(&nonce);
    mls_buf_clear(&content);
    mls_buf_clear(&sig);
}

static void after_login(struct cli_session *s)
{
    struct s_group *g;

    s->authed = 1;
    s->ever_authed = 1;
    s->auth_tries = 0;
    s->last_close[0] = 0;
    cli_net_backoff_reset(s->net);
    snprintf(s->conn, sizeof s->conn, "connected");
    changed(s);
    kp_check(s);
    for (g = s->groups; g; g = g->next) {
        g->synced = 0;
        if (g->rec.status == CLI_GROUP_JOINED)
            fetch_log(s, g);
    }
    /* Invitations first: a group joined through one needs no rejoin. */
    fetch_inbox(s);
}

static void auth_reply(void *ctx, json_t *reply)
{
    struct cli_session *s = ctx;
    const char *e = jerr(reply);
    const char *nonce = reply ? jstr(reply, "nonce") : NULL;

    if (!reply)
        return;
    if (jok(reply)) {
        if (!s->ident.registered) {
            s->ident.registered = 1;
            if (cli_store_identity_save(s->store, &s->ident) != 0)
                notice(s, NULL, 1, "cannot record the registration");
            notice(s, NULL, 0, "registered %s on %s (key %s)", s->ident.username,
                   cli_net_endpoint(s->net), jstr(reply, "fingerprint") ? jstr(reply, "fingerprint") : "?");
        } else {
            notice(s, NULL, 0, "logged in as %s on %s", s->ident.username,
                   cli_net_endpoint(s->net));
        }
        after_login(s);
        return;
    }
    if (strcmp(e, "username_taken") == 0 || strcmp(e, "bad_key") == 0) {
        if (s->ev.fatal) {
            char buf[512];
            snprintf(buf, sizeof buf,
                     "the server refused to register %s: %s. The username belongs to "
                     "another key; this config directory does not hold it.",
                     s->ident.username, jmsg(reply));
            s->ev.fatal(s->ev.ctx, buf);
        }
        return;
    }
    if (strcmp(e, "unknown_user") == 0 && s->ident.registered) {
        /* The server no longer knows us (a new server database): register
         * the same key again. */
        notice(s, NULL, 0, "the server does not know %s: registering again",
               s->ident.username);
        s->ident.registered = 0;
        if (cli_store_identity_save(s->store, &s->ident) != 0)
            notice(s, NULL, 1, "cannot record the registration state");
    } else if (strcmp(e, "bad_signature") == 0) {
        if (s->ev.fatal) {
            char buf[256];
            snprintf(buf, sizeof buf, "the server refused our key for %s: %s",
                     s->ident.username, jmsg(reply));
            s->ev.fatal(s->ev.ctx, buf);
        }
        return;
    }
    if (nonce && s->auth_tries < 4) {
        uint64_t t = cli_time();
        if (strcmp(e, "bad_timestamp") == 0 && jint(reply, "server_time", 0) > 0)
            t = (uint64_t)jint(reply, "server_time", 0);
        send_auth(s, nonce, t);
        return;
    }
    notice(s, NULL, 1, "login failed: %s", jmsg(reply));
    cli_net_drop(s->net);
}

/* ------------------------------------------------------------ KeyPackages */

static void kp_timer_fire(void *ctx)
{
    struct cli_session *s = ctx;
    kp_check(s);
}

static void kp_upload_reply(void *ctx, json_t *reply)
{
    struct cli_session *s = ctx;
    s->kp_busy = 0;
    if (!reply)
        return;
    if (!jok(reply)) {
        notice(s, NULL, 1, "the server refused our KeyPackages: %s", jmsg(reply));
        return;
    }
    if (s->lr_ref.n > 0 && json_is_true(json_object_get(reply, "last_resort"))) {
        if (cli_store_kp_delete_old_last_resort(s->store, mls_buf_view(&s->lr_ref)) != 0)
            cli_log("kp: cannot forget old last-resort bundles");
        mls_buf_reset(&s->lr_ref);
    }
    cli_log("kp: stored %lld, count %lld", (long long)jint(reply, "stored", 0),
            (long long)jint(reply, "count", 0));
    /* One request per kind: see whether another batch is needed. */
    kp_check(s);
}

/* Makes n KeyPackages, stores their private bundles first (a Welcome may
 * come as soon as the server has them), then uploads them. */
static void kp_upload(struct cli_session *s, int n, int last_resort)
{
    json_t *arr = json_array(), *req = NULL;
    mls_buf kp, bundle, ref;
    int i, ok = 0;
    mls_key_package_options opt;

    mls_buf_init(&kp);
    mls_buf_init(&bundle);
    mls_buf_init(&ref);
    memset(&opt, 0, sizeof opt);
    opt.last_resort = last_resort;
    if (!arr || cli_store_begin(s->store) != 0)
        goto out;
    for (i = 0; i < n; i++) {
        if (mls_key_package_create(s->id, s->env, &opt, &kp, &bundle) != MLS_OK ||
            mls_key_package_message_ref(mls_buf_view(&kp), &ref) != MLS_OK ||
            cli_store_kp_add(s->store, mls_buf_view(&ref), mls_buf_view(&bundle),
                             last_resort) != 0)
            goto out;
        {
            char *t = cli_b64_encode(kp.p, kp.n);
            if (!t || json_array_append_new(arr, json_string(t)) != 0) {
                free(t);
                goto out;
            }
            free(t);
        }
        if (last_resort && mls_buf_set(&s->lr_ref, ref.p, ref.n) != MLS_OK)
            goto out;
    }
    if (cli_store_commit(s->store) != 0)
        goto out;
    ok = 1;
    req = json_pack("{s:s, s:O, s:b}", "type", "kp.upload", "key_packages", arr, "last_resort",
                    last_resort);
    if (req && cli_net_request(s->net, req, kp_upload_reply, s) >= 0)
        s->kp_busy = 1;
    req = NULL;
out:
    if (!ok) {
        cli_store_rollback(s->store);
        notice(s, NULL, 1, "cannot create KeyPackages");
    }
    json_decref(arr);
    json_decref(req);
    mls_buf_clear(&kp);
    mls_buf_clear(&bundle);
    mls_buf_clear(&ref);
}

static void kp_count_reply(void *ctx, json_t *reply)
{
    struct cli_session *s = ctx;
    int64_t count, low;
    s->kp_busy = 0;
    if (!jok(reply))
        return;
    count = jint(reply, "count", 0);
    low = jint(reply, "low_water", 10);
    if (low < 1)
        low = 10;
    if (!json_is_true(json_object_get(reply, "last_resort"))) {
        kp_upload(s, 1, 1);
        return;
    }
    if (count < low) {
        int64_t n = 2 * low - count;
        kp_upload(s, (int)(n > 100 ? 100 : n), 0);
    }
}

static void kp_check(struct cli_session *s)
{
    json_t *req;
    cli_timer_start(s->net, &s->kp_timer, S_KP_CHECK_MS, kp_timer_fire, s);
    if (!s->authed || s->kp_busy)
        return;
    req = json_pack("{s:s}", "type", "kp.count");
    if (req && cli_net_request(s->net, req, kp_count_reply, s) >= 0)
        s->kp_busy = 1;
}

/* ------------------------------------------------------------ processing the log */

/* Lines to show once the transaction that records them has committed. */
struct s_out {
    int kind; /* 0 message, 1 own message, 2 notice, 3 error */
    char sender[33];
    char *text;
    int64_t time;
};
struct s_outq {
    struct s_out item[8];
    size_t n;
};

static void outq_add(struct s_outq *q, int kind, const char *sender, int64_t time, const char *fmt,
                     ...) __attribute__((format(printf, 5, 6)));

static void outq_add(struct s_outq *q, int kind, const char *sender, int64_t time, const char *fmt,
                     ...)
{
    va_list ap;
    char buf[2048];
    if (q->n == 8)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    q->item[q->n].kind = kind;
    snprintf(q->item[q->n].sender, sizeof q->item[q->n].sender, "%s", sender ? sender : "");
    q->item[q->n].text = strdup(buf);
    q->item[q->n].time = time;
    if (q->item[q->n].text)
        q->n++;
}

/* Records system lines in history (inside the caller's transaction). */
static int outq_record(struct cli_session *s, struct s_group *g, struct s_outq *q)
{
    size_t i;
    for (i = 0; i < q->n; i++)
        if (q->item[i].kind >= 2 &&
            cli_store_history_add(s->store, g->rec.name, -1, q->item[i].time, NULL,
                                  q->item[i].text) < 0)
            return -1;
    return 0;
}

static void outq_flush(struct cli_session *s, struct s_group *g, struct s_outq *q, int show)
{
    size_t i;
    for (i = 0; i < q->n; i++) {
        struct s_out *o = &q->item[i];
        if (show) {
            if (o->kind <= 1) {
                if (s->ev.message)
                    s->ev.message(s->ev.ctx, g->rec.name, o->sender, o->text, o->time,
                                  o->kind == 1);
            } else {
                notice(s, g->rec.name, o->kind == 3, "%s", o->text);
            }
        }
        free(o->text);
    }
    q->n = 0;
}

/* Joins up to 8 names from a change list: "a, b, c". */
static void change_names(const mls_member_change *c, size_t n, char *out, size_t max)
{
    size_t i, o = 0;
    out[0] = 0;
    for (i = 0; i < n && o + 40 < max; i++) {
        char name[40];
        bytes_to_name(mls_buf_view(&c[i].identity), name, sizeof name);
        o += (size_t)snprintf(out + o, max - o, "%s%s", i ? ", " : "", name);
    }
}

/* Finds our outbox entry whose ciphertext is ct. */
struct s_find_ct {
    const char *group;
    mls_bytes ct;
    int64_t id;
    char *text;
};

static void find_ct_cb(void *ctx, int64_t id, const char *group, const char *text, mls_bytes ct)
{
    struct s_find_ct *f = ctx;
    if (f->text || strcmp(group, f->group) != 0 || ct.n != f->ct.n || ct.n == 0 ||
        memcmp(ct.p, f->ct.p, ct.n) != 0)
        return;
    f->id = id;
    f->text = strdup(text);
}

static void rejoin_start(struct cli_session *s, struct s_group *g);

/* g's state can no longer follow the log: rejoin by an external commit. */
static void mark_broken(struct cli_session *s, struct s_group *g, const char *why)
{
    g->rec.status = CLI_GROUP_BROKEN;
    g->stuck = 0;
    g->rejoin_tries = 0;
    /* A commit of ours in flight is void (its epoch is not ours any
     * more); the pending pair now means the external commit. */
    mls_buf_clear(&g->rec.pending_commit);
    mls_buf_clear(&g->rec.pending_state);
    if (group_save(s, g) != 0)
        cli_log("cannot save group state");
    notice(s, g->rec.name, 1, "#%s is out of sync (%s): rejoining it", g->rec.name, why);
    changed(s);
    rejoin_start(s, g);
}

/* A member broke the chat's rules: stop following g (a rejoin would
 * accept the change). */
static void mark_refused(struct cli_session *s, struct s_group *g, const char *why)
{
    g->rec.status = CLI_GROUP_REFUSED;
    if (group_save(s, g) != 0)
        cli_log("cannot save group state");
    notice(s, g->rec.name, 1,
           "#%s: %s; this client no longer follows it (an administrator can remove and "
           "re-invite you)",
           g->rec.name, why);
    changed(s);
}

/* Our own commit came back in the log: adopt the state we prepared. */
static int adopt_own_commit(struct cli_session *s, struct s_group *g, json_t *e,
                            struct s_outq *q)
{
    mls_group *m = NULL;
    json_t *add = json_object_get(e, "add");
    char names[512] = "";
    size_t i, o = 0;

    if (mls_group_deserialize(s->env, mls_buf_view(&g->rec.pending_state), &m) != MLS_OK)
        return -1;
    mls_group_free(g->mls);
    g->mls = m;
    mls_buf_clear(&g->rec.state);
    g->rec.state = g->rec.pending_state;
    memset(&g->rec.pending_state, 0, sizeof g->rec.pending_state);
    mls_buf_clear(&g->rec.pending_commit);
    for (i = 0; i < json_array_size(add) && o + 40 < sizeof names; i++) {
        const char *n = json_string_value(json_array_get(add, i));
        if (n)
            o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", o ? ", " : "", n);
    }
    if (o > 0)
        outq_add(q, 2, NULL, jint(e, "time", 0), "you invited %s to #%s", names, g->rec.name);
    else
        outq_add(q, 2, NULL, jint(e, "time", 0), "you updated your keys in #%s (epoch %llu)",
                 g->rec.name, (unsigned long long)mls_group_epoch(g->mls));
    if (g->op) {
        commit_free(g->op);
        g->op = NULL;
    }
    return 0;
}

/* A commit of another member was applied: describe it, check the
 * administrator rule; returns -1 (and restores the old state) when the
 * commit breaks the rule. */
static int check_commit(struct cli_session *s, struct s_group *g, const mls_process_result *res,
                        int64_t time, struct s_outq *q)
{
    char committer[40], names[512];
    size_t i;

    member_name(g->mls, res->sender_leaf, committer, sizeof committer);
    if (!committer[0])
        snprintf(committer, sizeof committer, "(leaf %u)", res->sender_leaf);
    if (res->sender_type == S_SENDER_NEW_MEMBER_COMMIT) {
        /* An external commit (RFC 9420 §12.4.3.2; the engine reports the
         * joiner as added).  The chat accepts it only as a resync: a member
         * that lost its state rejoins and removes its own old leaf, same
         * name and same signature key.  Anything else would let someone in
         * without an administrator's invitation. */
        const mls_member_change *j = res->n_added == 1 ? &res->added[0] : NULL;
        const mls_member_change *old = res->n_removed == 1 ? &res->removed[0] : NULL;
        char n[40];
        if (!j || !old || res->extensions_changed || res->self_removed ||
            j->identity.n == 0 || j->identity.n != old->identity.n ||
            memcmp(j->identity.p, old->identity.p, j->identity.n) != 0 ||
            !mls_ct_equal(mls_buf_view(&j->signature_key), mls_buf_view(&old->signature_key))) {
            if (group_reload(s, g) != 0)
                cli_log("cannot restore the group state");
            mark_refused(s, g, "someone joined by an external commit without an invitation");
            return -1;
        }
        bytes_to_name(mls_buf_view(&j->identity), n, sizeof n);
        outq_add(q, 2, NULL, time, "%s rejoined #%s (their client had lost its state of the "
                 "group)", n, g->rec.name);
        verify_member(s, g, n, mls_buf_view(&j->signature_key));
        return 0;
    }
    if (res->n_added > 0 || res->extensions_changed) {
        /* The rule holds against the roles before this commit. */
        mls_group *old = NULL;
        int ok = 0;
        if (mls_group_deserialize(s->env, mls_buf_view(&g->rec.state), &old) == MLS_OK) {
            ok = is_admin(old, committer);
            mls_group_free(old);
        }
        if (!ok) {
            if (group_reload(s, g) != 0)
                cli_log("cannot restore the group state");
            mark_refused(s, g, "a member who is not an administrator changed the group");
            return -1;
        }
    }
    if (res->n_added > 0) {
        change_names(res->added, res->n_added, names, sizeof names);
        outq_add(q, 2, NULL, time, "%s invited %s to #%s", committer, names, g->rec.name);
        for (i = 0; i < res->n_added; i++) {
            char n[40];
            bytes_to_name(mls_buf_view(&res->added[i].identity), n, sizeof n);
            verify_member(s, g, n, mls_buf_view(&res->added[i].signature_key));
        }
    }
    if (res->self_removed) {
        outq_add(q, 3, NULL, time, "%s removed you from #%s", committer, g->rec.name);
        g->rec.status = CLI_GROUP_REMOVED;
    } else if (res->n_removed > 0) {
        change_names(res->removed, res->n_removed, names, sizeof names);
        outq_add(q, 2, NULL, time, "%s removed %s from #%s", committer, names, g->rec.name);
    }
    if (res->n_added == 0 && res->n_removed == 0 && !res->self_removed)
        outq_add(q, 2, NULL, time, "%s updated their keys in #%s (epoch %llu)", committer,
                 g->rec.name, (unsigned long long)mls_group_epoch(g->mls));
    for (i = 0; i < res->n_updated; i++) {
        char n[40];
        bytes_to_name(mls_buf_view(&res->updated[i].identity), n, sizeof n);
        verify_member(s, g, n, mls_buf_view(&res->updated[i].signature_key));
    }
    return 0;
}

/*
 * Processes log entry e of g in order.  Returns 0 when processed (the
 * cursor moved), 1 when there is a gap before it (fetch first), -1 when
 * the group cannot go on.  The new MLS state, the cursor and the history
 * rows are written in one transaction (DESIGN Decision 4).
 */
static int process_entry(struct cli_session *s, struct s_group *g, json_t *e)
{
    int64_t seq = jint(e, "seq", -1), time = jint(e, "time", 0);
    const char *kind = jstr(e, "kind"), *sender = jstr(e, "sender"), *msg_b64 = jstr(e, "message");
    mls_buf msg;
    mls_process_result res;
    struct s_outq q;
    int rc = -1, processed = 0, own = sender && strcmp(sender, s->ident.username) == 0;
    int64_t outbox_id = -1;
    int64_t old_cursor = g->rec.cursor;
    char *text = NULL;
    char who[40];

    mls_buf_init(&msg);
    memset(&res, 0, sizeof res);
    memset(&q, 0, sizeof q);
    if (!group_active(g))
        return -1;
    if (seq <= g->rec.cursor)
        return 0;
    if (seq != g->rec.cursor + 1)
        return 1;
    if (!kind || !msg_b64 || cli_b64_decode(msg_b64, &msg) != 0) {
        notice(s, g->rec.name, 1, "malformed log entry %lld in #%s skipped", (long long)seq,
               g->rec.name);
        goto advance;
    }

    if (strcmp(kind, "commit") == 0) {
        if (g->rec.pending_commit.n > 0 && msg.n == g->rec.pending_commit.n &&
            memcmp(msg.p, g->rec.pending_commit.p, msg.n) == 0) {
            if (adopt_own_commit(s, g, e, &q) != 0) {
                mark_broken(s, g, "cannot load our own commit");
                goto out;
            }
            goto advance;
        }
        if (own) {
            /* A commit of ours we no longer have the staged state of. */
            mark_broken(s, g, "our own commit was accepted but its state was lost");
            goto out;
        }
        if (mls_group_process(g->mls, mls_buf_view(&msg), &res) != MLS_OK ||
            res.kind != MLS_RESULT_COMMIT) {
            mark_broken(s, g, "a commit could not be processed");
            goto out;
        }
        processed = 1;
        /* Another commit won this epoch: ours, if any, was refused. */
        mls_buf_clear(&g->rec.pending_commit);
        mls_buf_clear(&g->rec.pending_state);
        if (check_commit(s, g, &res, time, &q) != 0)
            goto out;
        goto advance;
    }

    if (own && strcmp(kind, "message") == 0) {
        struct s_find_ct f;
        memset(&f, 0, sizeof f);
        f.group = g->rec.name;
        f.ct = mls_buf_view(&msg);
        if (cli_store_outbox_each(s->store, find_ct_cb, &f) == 0 && f.text) {
            outbox_id = f.id;
            text = f.text;
            outq_add(&q, 1, s->ident.username, time, "%s", text);
        } else {
            free(f.text);
        }
        goto advance;
    }
    if (own)
        goto advance;

    {
        int err = mls_group_process(g->mls, mls_buf_view(&msg), &res);
        if (err != MLS_OK) {
            notice(s, g->rec.name, 1, "a %s from %s in #%s (log %lld) cannot be read: %s",
                   strcmp(kind, "message") == 0 ? "message" : kind, sender ? sender : "?",
                   g->rec.name, (long long)seq, mls_strerror(err));
            goto advance;
        }
    }
    processed = 1;
    if (res.kind == MLS_RESULT_APPLICATION) {
        /* The name shown is the one MLS authenticated, not the server's. */
        member_name(g->mls, res.sender_leaf, who, sizeof who);
        cli_log("message in #%s from leaf %u (%s), server says %s", g->rec.name,
                res.sender_leaf, who, sender ? sender : "?");
        if (!who[0])
            snprintf(who, sizeof who, "%s", sender ? sender : "?");
        text = cli_text_sanitize((const char *)res.application_data.p, res.application_data.n);
        if (text)
            outq_add(&q, 0, who, time, "%s", text);
    } else if (res.kind == MLS_RESULT_COMMIT) {
        mls_buf_clear(&g->rec.pending_commit);
        mls_buf_clear(&g->rec.pending_state);
        if (check_commit(s, g, &res, time, &q) != 0)
            goto out;
    }

advance:
    if (processed && group_snapshot(g) != 0)
        goto out;
    g->rec.cursor = seq;
    if (cli_store_begin(s->store) != 0)
        goto fail_db;
    if (group_save(s, g) != 0 || outq_record(s, g, &q) != 0)
        goto fail_db;
    if (q.n > 0 && q.item[0].kind <= 1) {
        int dup = cli_store_history_add(s->store, g->rec.name, seq, time, q.item[0].sender,
                                        q.item[0].text);
        if (dup < 0)
            goto fail_db;
        if (dup == 1) {
            /* Already shown once (no message is displayed twice). */
            free(q.item[0].text);
            memmove(&q.item[0], &q.item[1], (q.n - 1) * sizeof q.item[0]);
            q.n--;
        }
    }
    if (outbox_id >= 0 && cli_store_outbox_delete(s->store, outbox_id) != 0)
        goto fail_db;
    if (cli_store_commit(s->store) != 0)
        goto fail_db;
    outq_flush(s, g, &q, 1);
    if (strcmp(kind ? kind : "", "commit") == 0 || g->rec.status != CLI_GROUP_JOINED)
        changed(s);
    rc = 0;
    goto out;
fail_db:
    cli_store_rollback(s->store);
    g->rec.cursor = old_cursor;
    if (group_reload(s, g) != 0)
        cli_log("cannot restore the group state");
    notice(s, g->rec.name, 1, "cannot save the state of #%s; stopping", g->rec.name);
    rc = -1;
out:
    outq_flush(s, g, &q, 0);
    free(text);
    mls_process_result_clear(&res);
    mls_buf_clear(&msg);
    return rc;
}

/* Called when g is caught up (after a fetch) or changed while caught up. */
static void group_after_change(struct cli_session *s, struct s_group *g)
{
    if (!s->authed || !g->synced || g->fetching || !group_active(g))
        return;
    if (g->op && g->op->state == OP_READY)
        commit_run(g->op);
    pump_outbox(s, g);
}

struct s_reset_ct {
    struct cli_session *s;
    const char *group;
};

static void reset_ct_cb(void *ctx, int64_t id, const char *group, const char *text, mls_bytes ct)
{
    struct s_reset_ct *r = ctx;
    (void)text;
    if (ct.n > 0 && strcmp(group, r->group) == 0 &&
        cli_store_outbox_set_ct(r->s->store, id, mls_bytes_of(NULL, 0)) != 0)
        cli_log("outbox: cannot reset entry %lld", (long long)id);
}

/* First catch-up after logging in is complete. */
static void group_synced(struct cli_session *s, struct s_group *g)
{
    struct s_reset_ct r;
    g->synced = 1;
    /* Whatever was sent before and is not in the log was not accepted:
     * it goes again (newly encrypted). */
    r.s = s;
    r.group = g->rec.name;
    if (cli_store_outbox_each(s->store, reset_ct_cb, &r) != 0)
        cli_log("outbox: cannot scan");
    if (g->rec.pending_commit.n > 0 && !g->op) {
        /* A commit prepared before a restart that the server never
         * accepted (it would be in the log). */
        mls_buf_clear(&g->rec.pending_commit);
        mls_buf_clear(&g->rec.pending_state);
        if (group_save(s, g) != 0)
            cli_log("cannot save group");
        notice(s, g->rec.name, 1, "a change to #%s prepared before a restart was not "
               "accepted by the server; repeat it if it is still wanted", g->rec.name);
    }
    changed(s);
    group_after_change(s, g);
}

static void create_send(struct cli_session *s, struct s_group *g);

static void fetch_reply(void *ctx, json_t *reply)
{
    struct s_group *g = ctx;
    struct cli_session *s = g->s;
    json_t *entries;
    size_t i;
    const char *e;

    g->fetching = 0;
    if (!reply)
        return;
    if (!jok(reply)) {
        e = jerr(reply);
        if (strcmp(e, "unknown_group") == 0 && g->rec.cursor == 0 && is_admin(g->mls, s->ident.username) &&
            mls_group_epoch(g->mls) == 0) {
            /* We created it but the server never confirmed: create again. */
            create_send(s, g);
            return;
        }
        if (strcmp(e, "not_member") == 0) {
            g->rec.status = CLI_GROUP_REMOVED;
            if (group_save(s, g) != 0)
                cli_log("cannot save group");
            notice(s, g->rec.name, 1, "you are no longer a member of #%s", g->rec.name);
            changed(s);
            return;
        }
        if (strcmp(e, "cursor_expired") == 0) {
            mark_broken(s, g, "the server no longer has the messages since your last visit");
            return;
        }
        if (strcmp(e, "rate_limited") == 0) {
            g->refetch = 1;
            return;
        }
        notice(s, g->rec.name, 1, "cannot read the log of #%s: %s", g->rec.name, jmsg(reply));
        return;
    }
    entries = json_object_get(reply, "entries");
    for (i = 0; i < json_array_size(entries); i++) {
        int r = process_entry(s, g, json_array_get(entries, i));
        if (r == 1) {
            g->refetch = 1;
            break;
        }
        if (r < 0)
            return;
    }
    if (!group_active(g))
        return;
    if (json_is_true(json_object_get(reply, "more")) || g->refetch) {
        g->refetch = 0;
        fetch_log(s, g);
        return;
    }
    if (!g->synced)
        group_synced(s, g);
    else
        group_after_change(s, g);
}

static void fetch_log(struct cli_session *s, struct s_group *g)
{
    json_t *req;
    if (!s->authed || !group_active(g))
        return;
    if (g->fetching) {
        g->refetch = 1;
        return;
    }
    req = json_pack("{s:s, s:s, s:I, s:i}", "type", "log.fetch", "group", g->rec.name, "after",
                    (json_int_t)g->rec.cursor, "limit", S_FETCH_LIMIT);
    if (req && cli_net_request(s->net, req, fetch_reply, g) >= 0)
        g->fetching = 1;
}

static void on_log_event(struct cli_session *s, json_t *ev)
{
    const char *name = jstr(ev, "group");
    struct s_group *g = name ? group_find(s, name) : NULL;
    int64_t seq = jint(ev, "seq", -1);
    if (!group_active(g) || seq <= g->rec.cursor)
        return;
    if (seq == g->rec.cursor + 1 && g->synced) {
        if (process_entry(s, g, ev) == 0)
            group_after_change(s, g);
        return;
    }
    fetch_log(s, g);
}

/* ------------------------------------------------------------ outbox */

struct s_unsent {
    const char *group;
    int64_t *ids;
    char **texts;
    size_t n, cap;
};

static void unsent_cb(void *ctx, int64_t id, const char *group, const char *text, mls_bytes ct)
{
    struct s_unsent *u = ctx;
    if (ct.n > 0 || strcmp(group, u->group) != 0)
        return;
    if (u->n == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 8;
        int64_t *ids = realloc(u->ids, cap * sizeof *ids);
        char **texts;
        if (!ids)
            return;
        u->ids = ids;
        texts = realloc(u->texts, cap * sizeof *texts);
        if (!texts)
            return;
        u->texts = texts;
        u->cap = cap;
    }
    u->texts[u->n] = strdup(text);
    if (u->texts[u->n])
        u->ids[u->n++] = id;
}

static void send_reply(void *ctx, json_t *reply)
{
    struct s_req *r = ctx;
    struct cli_session *s = r->s;
    struct s_group *g = r->g;
    int64_t id = r->id;
    const char *e;

    req_free(r);
    if (!reply || !g)
        return; /* resent after the next catch-up if not in the log */
    if (jok(reply)) {
        if (jint(reply, "seq", 0) > g->rec.cursor)
            fetch_log(s, g);
        return;
    }
    e = jerr(reply);
    if (strcmp(e, "wrong_epoch") == 0 || strcmp(e, "rate_limited") == 0) {
        /* Encrypt again after catching up. */
        if (cli_store_outbox_set_ct(s->store, id, mls_bytes_of(NULL, 0)) != 0)
            cli_log("outbox: cannot reset %lld", (long long)id);
        fetch_log(s, g);
        return;
    }
    notice(s, g->rec.name, 1, "a message to #%s was refused by the server: %s", g->rec.name,
           jmsg(reply));
    if (cli_store_outbox_delete(s->store, id) != 0)
        cli_log("outbox: cannot delete %lld", (long long)id);
}

/* Encrypts and sends every unsent outbox entry of g, in order. */
static void pump_outbox(struct cli_session *s, struct s_group *g)
{
    struct s_unsent u;
    size_t i;
    mls_buf ct;

    if (!s->authed || !group_active(g) || !g->synced || g->fetching ||
        g->rec.pending_commit.n > 0)
        return;
    memset(&u, 0, sizeof u);
    u.group = g->rec.name;
    mls_buf_init(&ct);
    if (cli_store_outbox_each(s->store, unsent_cb, &u) != 0)
        goto out;
    for (i = 0; i < u.n; i++) {
        json_t *req;
        struct s_req *r;
        mls_bytes text = mls_bytes_of((const uint8_t *)u.texts[i], strlen(u.texts[i]));
        if (mls_group_protect(g->mls, mls_bytes_of(NULL, 0), text, &ct) != MLS_OK) {
            notice(s, g->rec.name, 1, "cannot encrypt a message for #%s", g->rec.name);
            if (group_reload(s, g) != 0)
                cli_log("cannot restore group state");
            break;
        }
        /* The ratchet moved: the new state and the ciphertext (to know
         * it in the log later) are saved together before sending. */
        if (group_snapshot(g) != 0 || cli_store_begin(s->store) != 0) {
            cli_store_rollback(s->store);
            break;
        }
        if (group_save(s, g) != 0 ||
            cli_store_outbox_set_ct(s->store, u.ids[i], mls_buf_view(&ct)) != 0 ||
            cli_store_commit(s->store) != 0) {
            cli_store_rollback(s->store);
            notice(s, g->rec.name, 1, "cannot save the state of #%s", g->rec.name);
            break;
        }
        req = json_pack("{s:s, s:s}", "type", "group.send", "group", g->rec.name);
        if (!req || jset_b64(req, "message", mls_buf_view(&ct)) != 0) {
            json_decref(req);
            break;
        }
        r = req_new(s, g, NULL);
        if (r)
            r->id = u.ids[i];
        if (send_req(s, req, send_reply, r) != 0)
            break;
    }
out:
    for (i = 0; i < u.n; i++)
        free(u.texts[i]);
    free(u.texts);
    free(u.ids);
    mls_buf_clear(&ct);
}

static int is_waiting(const struct cli_session *s, const char *group)
{
    size_t i;
    for (i = 0; i < s->n_waiting; i++)
        if (strcmp(s->waiting[i], group) == 0)
            return 1;
    return 0;
}

int cli_session_send_text(struct cli_session *s, const char *group, const char *text)
{
    struct s_group *g = group_find(s, group);
    int64_t id;
    size_t n = strlen(text);

    if (g && (g->rec.status == CLI_GROUP_REMOVED || g->rec.status == CLI_GROUP_REFUSED)) {
        notice(s, group, 1, "not sent: you are no longer a member of #%s", group);
        return -1;
    }
    if (n > S_MAX_TEXT) {
        notice(s, group, 1, "message too long (%zu bytes, at most %d)", n, S_MAX_TEXT);
        return -1;
    }
    if (!cli_text_printable(text, n)) {
        notice(s, group, 1, "message not sent: it is not valid UTF-8 text");
        return -1;
    }
    /* Kept in the outbox until the server has it in the log, also when
     * the group is not joined yet: sent, in order, once it is. */
    if (cli_store_outbox_add(s->store, group, text, &id) != 0) {
        notice(s, group, 1, "cannot queue the message");
        return -1;
    }
    if (!group_active(g)) {
        /* Before login nothing is known about membership; while joining
         * or rejoining it goes out shortly. */
        if (s->authed && is_waiting(s, group))
            notice(s, group, 0, "you are not a member of #%s yet: the message is kept and "
                   "sent once an administrator has invited you", group);
        return 0;
    }
    if (!s->authed && s->ever_authed)
        notice(s, group, 0, "not connected: the message will be sent after reconnecting");
    pump_outbox(s, g);
    return 0;
}

/* ------------------------------------------------------------ directory checks */

static void verify_reply(void *ctx, json_t *reply)
{
    struct s_req *r = ctx;
    struct cli_session *s = r->s;
    mls_buf key;
    char fp[CLI_FINGERPRINT_LEN + 1];

    mls_buf_init(&key);
    if (!reply)
        goto out;
    if (!jok(reply)) {
        notice(s, r->name[0] ? r->name : NULL, 1,
               "WARNING: %s (a member of #%s) is not in the server's directory: %s", r->user,
               r->name, jmsg(reply));
        goto out;
    }
    if (!jstr(reply, "signature_key") || cli_b64_decode(jstr(reply, "signature_key"), &key) != 0)
        goto out;
    if (cli_store_dir_put(s->store, r->user, mls_buf_view(&key)) != 0)
        cli_log("directory: cannot cache %s", r->user);
    if (!mls_ct_equal(mls_buf_view(&key), mls_buf_view(&r->key))) {
        cli_fingerprint(mls_buf_view(&r->key), fp);
        notice(s, r->name, 1,
               "WARNING: the key of %s in #%s (%s) is not the key the server's directory "
               "holds for %s: do not trust messages from this member",
               r->user, r->name, fp, r->user);
    }
out:
    mls_buf_clear(&key);
    req_free(r);
}

/* Checks that user's credential key in g is the directory's key for user
 * (DESIGN Decision 2), from the cache or by asking the server. */
static void verify_member(struct cli_session *s, struct s_group *g, const char *user,
                          mls_bytes key)
{
    mls_buf cached;
    struct s_req *r;
    json_t *req;
    int rc;

    if (!cli_valid_username(user)) {
        notice(s, g->rec.name, 1, "WARNING: #%s has a member with an invalid name",
               g->rec.name);
        return;
    }
    mls_buf_init(&cached);
    rc = cli_store_dir_get(s->store, user, &cached);
    if (rc == 0) {
        if (!mls_ct_equal(mls_buf_view(&cached), key)) {
            char fp[CLI_FINGERPRINT_LEN + 1];
            cli_fingerprint(key, fp);
            notice(s, g->rec.name, 1,
                   "WARNING: the key of %s in #%s (%s) is not the key the server's "
                   "directory holds for %s: do not trust messages from this member",
                   user, g->rec.name, fp, user);
        }
        mls_buf_clear(&cached);
        return;
    }
    mls_buf_clear(&cached);
    if (!s->authed)
        return;
    r = req_new(s, g, g->rec.name);
    if (!r)
        return;
    snprintf(r->user, sizeof r->user, "%s", user);
    if (mls_buf_set(&r->key, key.p, key.n) != MLS_OK) {
        req_free(r);
        return;
    }
    req = json_pack("{s:s, s:s}", "type", "user.lookup", "username", user);
    send_req(s, req, verify_reply, r);
}

static void verify_all(struct cli_session *s, struct s_group *g)
{
    uint32_t i, n = mls_group_leaf_count(g->mls);
    for (i = 0; i < n; i++) {
        mls_member m;
        char name[40];
        if (mls_group_member(g->mls, i, &m) != MLS_OK || i == mls_group_own_leaf(g->mls))
            continue;
        bytes_to_name(m.identity, name, sizeof name);
        verify_member(s, g, name, m.signature_key);
    }
}

/* ------------------------------------------------------------ commits */

static void commit_free(struct s_commit *op)
{
    size_t i;
    if (!op)
        return;
    cli_net_forget(op->s->net, op);
    for (i = 0; i < op->n_claims; i++) {
        cli_net_forget(op->s->net, &op->claims[i]);
        mls_buf_clear(&op->claims[i].kp);
        mls_buf_clear(&op->claims[i].dir_key);
    }
    if (op->g && op->g->op == op)
        op->g->op = NULL;
    free(op->claims);
    json_decref(op->req);
    free(op);
}

static void commit_reply(void *ctx, json_t *reply)
{
    struct s_commit *op = ctx;
    struct cli_session *s = op->s;
    struct s_group *g = op->g;
    const char *e;

    if (!reply) {
        /* Lost with the connection: after catching up, the log says
         * whether it was accepted; if not, it is sent again. */
        op->state = OP_READY;
        return;
    }
    if (jok(reply)) {
        /* Merged when its log entry is processed (in order). */
        if (jint(reply, "seq", 0) > g->rec.cursor)
            fetch_log(s, g);
        return;
    }
    e = jerr(reply);
    /* The commit was refused: nothing of it happened. */
    if (g->rec.pending_commit.n > 0) {
        mls_buf_clear(&g->rec.pending_commit);
        mls_buf_clear(&g->rec.pending_state);
        if (group_save(s, g) != 0)
            cli_log("cannot save group");
    }
    json_decref(op->req);
    op->req = NULL;
    if (strcmp(e, "stale_epoch") == 0 && ++op->retries <= S_MAX_COMMIT_RETRIES) {
        /* DESIGN Decision 3: catch up and build the commit again. */
        notice(s, g->rec.name, 0, "#%s changed meanwhile (epoch %lld): catching up and "
               "retrying", g->rec.name, (long long)jint(reply, "current_epoch", -1));
        op->state = OP_READY;
        fetch_log(s, g);
        return;
    }
    notice(s, g->rec.name, 1, "the server refused the change to #%s: %s", g->rec.name,
           jmsg(reply));
    commit_free(op);
    changed(s);
}

static void commit_run(struct s_commit *op)
{
    struct cli_session *s = op->s;
    struct s_group *g = op->g;
    mls_staged_commit *sc = NULL;
    mls_commit_options copt;
    mls_bytes *kps = NULL;
    mls_buf commit, welcome, info, post;
    json_t *req = NULL, *welcomes = NULL;
    size_t i, n = 0;
    uint64_t epoch;
    int rc;

    if (op->state != OP_READY || !s->authed || !g->synced || g->fetching || !group_active(g))
        return;
    if (op->req && g->rec.pending_commit.n > 0) {
        /* Not accepted before the connection was lost: the same bundle
         * goes again (the server takes one commit per epoch). */
        json_incref(op->req);
        if (cli_net_request(s->net, op->req, commit_reply, op) >= 0)
            op->state = OP_SENT;
        return;
    }
    json_decref(op->req);
    op->req = NULL;
    mls_buf_init(&commit);
    mls_buf_init(&welcome);
    mls_buf_init(&info);
    mls_buf_init(&post);
    kps = calloc(op->n_claims + 1, sizeof *kps);
    if (!kps)
        goto fail;
    for (i = 0; i < op->n_claims; i++) {
        if (op->claims[i].failed)
            continue;
        kps[n++] = mls_buf_view(&op->claims[i].kp);
    }
    epoch = mls_group_epoch(g->mls);
    /* PROTOCOL.md §7.4: commits are PublicMessages so that the server can
     * validate them, also in groups whose saved state predates that. */
    memset(&copt, 0, sizeof copt);
    copt.handshake = MLS_HANDSHAKE_PUBLIC;
    if (op->kind == COMMIT_ADD) {
        copt.add = kps;
        copt.n_add = n;
    }
    rc = mls_group_commit(g->mls, &copt, &sc);
    if (rc != MLS_OK) {
        notice(s, g->rec.name, 1, "cannot build the change to #%s: %s", g->rec.name,
               mls_strerror(rc));
        goto fail;
    }
    if (mls_buf_set(&commit, mls_staged_commit_message(sc).p, mls_staged_commit_message(sc).n) !=
            MLS_OK ||
        mls_buf_set(&welcome, mls_staged_commit_welcome(sc).p,
                    mls_staged_commit_welcome(sc).n) != MLS_OK ||
        mls_buf_set(&info, mls_staged_commit_group_info(sc).p,
                    mls_staged_commit_group_info(sc).n) != MLS_OK)
        goto fail;
    /* The state after the commit is prepared now and kept beside the
     * commit, but adopted only when the commit shows up in the log: the
     * group itself stays in this epoch (DESIGN Decision 3), and a crash in
     * between loses nothing. */
    rc = mls_group_merge_staged(g->mls, sc);
    if (rc != MLS_OK || mls_group_serialize(g->mls, &post) != MLS_OK || group_reload(s, g) != 0) {
        if (group_reload(s, g) != 0)
            cli_log("cannot restore group state");
        goto fail;
    }
    if (mls_buf_copy(&g->rec.pending_commit, &commit) != MLS_OK)
        goto fail;
    g->rec.pending_state = post;
    memset(&post, 0, sizeof post);
    if (group_save(s, g) != 0)
        goto fail_pending;
    req = json_pack("{s:s, s:s, s:I}", "type", "group.commit", "group", g->rec.name, "epoch",
                    (json_int_t)epoch);
    if (!req || jset_b64(req, "commit", mls_buf_view(&commit)) != 0 ||
        jset_b64(req, "group_info", mls_buf_view(&info)) != 0)
        goto fail_pending;
    if (n > 0) {
        /* The server derives the recipients from the Welcome's
         * KeyPackageRefs (PROTOCOL.md §7.4). */
        json_t *w = json_object();
        welcomes = json_array();
        if (!w || !welcomes || jset_b64(w, "welcome", mls_buf_view(&welcome)) != 0 ||
            json_array_append_new(welcomes, w) != 0 ||
            json_object_set(req, "welcomes", welcomes) != 0) {
            json_decref(w);
            goto fail_pending;
        }
    }
    op->req = req;
    json_incref(req);
    req = NULL;
    if (cli_net_request(s->net, op->req, commit_reply, op) < 0) {
        op->state = OP_READY; /* sent after reconnecting */
        goto out;
    }
    op->state = OP_SENT;
    goto out;
fail_pending:
    mls_buf_clear(&g->rec.pending_commit);
    mls_buf_clear(&g->rec.pending_state);
    if (group_save(s, g) != 0)
        cli_log("cannot save group");
fail:
    notice(s, g->rec.name, 1, "the change to #%s was not made", g->rec.name);
    commit_free(op);
out:
    mls_staged_commit_free(sc);
    json_decref(req);
    json_decref(welcomes);
    free(kps);
    mls_buf_clear(&commit);
    mls_buf_clear(&welcome);
    mls_buf_clear(&info);
    mls_buf_clear(&post);
}

/* All claims answered: check each KeyPackage against the directory. */
static void claims_done(struct s_commit *op)
{
    struct cli_session *s = op->s;
    size_t i, ok = 0;
    for (i = 0; i < op->n_claims; i++) {
        struct s_claim *c = &op->claims[i];
        mls_key_package_info info;
        int rc;
        if (c->failed)
            continue;
        if (!c->got_kp || !c->got_dir) {
            notice(s, op->g->rec.name, 1, "cannot invite %s: no KeyPackage or directory entry",
                   c->name);
            c->failed = 1;
            continue;
        }
        rc = mls_key_package_validate(mls_buf_view(&c->kp), mls_group_suite(op->g->mls), s->env,
                                      &info);
        if (rc != MLS_OK) {
            notice(s, op->g->rec.name, 1, "cannot invite %s: their KeyPackage is not valid (%s)",
                   c->name, mls_strerror(rc));
            c->failed = 1;
            continue;
        }
        if (info.identity.n != strlen(c->name) ||
            memcmp(info.identity.p, c->name, info.identity.n) != 0 ||
            !mls_ct_equal(info.signature_key, mls_buf_view(&c->dir_key))) {
            notice(s, op->g->rec.name, 1,
                   "cannot invite %s: the KeyPackage the server gave is not signed by the key "
                   "of %s in the directory",
                   c->name, c->name);
            c->failed = 1;
            continue;
        }
        if (cli_store_dir_put(s->store, c->name, mls_buf_view(&c->dir_key)) != 0)
            cli_log("directory: cannot cache %s", c->name);
        ok++;
    }
    if (ok == 0) {
        commit_free(op);
        return;
    }
    op->state = OP_READY;
    if (op->g->synced && !op->g->fetching)
        commit_run(op);
}

static void claim_step(struct s_claim *c)
{
    struct s_commit *op = c->op;
    if (--op->outstanding == 0)
        claims_done(op);
}

static void claim_kp_reply(void *ctx, json_t *reply)
{
    struct s_claim *c = ctx;
    struct cli_session *s = c->op->s;
    mls_buf bare;
    mls_buf_init(&bare);
    if (!jok(reply)) {
        const char *e = jerr(reply);
        if (strcmp(e, "no_key_package") == 0)
            notice(s, c->op->g->rec.name, 1,
                   "cannot invite %s: %s has no KeyPackage left on this server (the one-time "
                   "keys an invitation needs); %s must start the client again, which publishes "
                   "new ones, then invite again",
                   c->name, c->name, c->name);
        else if (strcmp(e, "unknown_user") == 0)
            notice(s, c->op->g->rec.name, 1,
                   "cannot invite %s: %s has no account on this server yet; %s must start the "
                   "client once (it registers the name and publishes the KeyPackages an "
                   "invitation needs), then invite again",
                   c->name, c->name, c->name);
        else
            notice(s, c->op->g->rec.name, 1, "cannot invite %s: %s", c->name, jmsg(reply));
        c->failed = 1;
    } else if (!jstr(reply, "key_package") || cli_b64_decode(jstr(reply, "key_package"), &bare) != 0) {
        c->failed = 1;
    } else {
        /* The server hands out the bare KeyPackage (PROTOCOL.md §6.3); the
         * group engine takes it as an MLSMessage (RFC 9420 §6: version
         * mls10, wire_format mls_key_package). */
        static const uint8_t hdr[4] = {0x00, 0x01, 0x00, 0x05};
        mls_buf_reset(&c->kp);
        if (mls_buf_append(&c->kp, hdr, 4) == MLS_OK &&
            mls_buf_append(&c->kp, bare.p, bare.n) == MLS_OK)
            c->got_kp = 1;
        else
            c->failed = 1;
    }
    mls_buf_clear(&bare);
    claim_step(c);
}

static void claim_dir_reply(void *ctx, json_t *reply)
{
    struct s_claim *c = ctx;
    if (jok(reply) && jstr(reply, "signature_key") &&
        cli_b64_decode(jstr(reply, "signature_key"), &c->dir_key) == 0)
        c->got_dir = 1;
    else
        c->failed = 1;
    claim_step(c);
}

static struct s_commit *commit_new(struct cli_session *s, struct s_group *g,
                                   enum commit_kind kind, size_t n_claims)
{
    struct s_commit *op = calloc(1, sizeof *op);
    if (!op)
        return NULL;
    op->claims = calloc(n_claims + 1, sizeof *op->claims);
    if (!op->claims) {
        free(op);
        return NULL;
    }
    op->s = s;
    op->g = g;
    op->kind = kind;
    g->op = op;
    return op;
}

void cli_session_invite(struct cli_session *s, const char *group, char *const *names, size_t n)
{
    struct s_group *g = group_find(s, group);
    struct s_commit *op;
    size_t i, j, k = 0;

    if (!group_active(g)) {
        notice(s, group, 1, "you are not a member of #%s", group);
        return;
    }
    if (!is_admin(g->mls, s->ident.username)) {
        notice(s, group, 1, "only administrators of #%s can invite", group);
        return;
    }
    if (g->op) {
        notice(s, group, 1, "another change to #%s is in progress; try again in a moment", group);
        return;
    }
    if (!s->authed) {
        notice(s, group, 1, "not connected: try again once connected");
        return;
    }
    if (n > S_MAX_INVITE) {
        notice(s, group, 1, "at most %d users at once", S_MAX_INVITE);
        return;
    }
    op = commit_new(s, g, COMMIT_ADD, n);
    if (!op)
        return;
    for (i = 0; i < n; i++) {
        struct s_claim *c = &op->claims[k];
        uint32_t leaf;
        int dup = 0;
        snprintf(c->name, sizeof c->name, "%s", names[i]);
        cli_lowercase(c->name);
        if (strlen(names[i]) > 32 || !cli_valid_username(c->name)) {
            notice(s, group, 1, "\"%s\" is not a valid username", names[i]);
            continue;
        }
        if (strcmp(c->name, s->ident.username) == 0) {
            notice(s, group, 1, "you are already in #%s", group);
            continue;
        }
        if (mls_group_find_member(g->mls, mls_bytes_of((const uint8_t *)c->name,
                                                       strlen(c->name)),
                                  &leaf) == MLS_OK) {
            notice(s, group, 1, "%s is already a member of #%s", c->name, group);
            continue;
        }
        for (j = 0; j < k; j++)
            if (strcmp(op->claims[j].name, c->name) == 0)
                dup = 1;
        if (dup)
            continue;
        c->op = op;
        k++;
    }
    op->n_claims = k;
    if (k == 0) {
        commit_free(op);
        return;
    }
    op->state = OP_CLAIMING;
    op->outstanding = 2 * k;
    for (i = 0; i < k; i++) {
        struct s_claim *c = &op->claims[i];
        json_t *lk = json_pack("{s:s, s:s}", "type", "user.lookup", "username", c->name);
        json_t *cl = json_pack("{s:s, s:s}", "type", "kp.claim", "username", c->name);
        if (!lk || cli_net_request(s->net, lk, claim_dir_reply, c) < 0) {
            c->failed = 1;
            op->outstanding--;
        }
        if (!cl || cli_net_request(s->net, cl, claim_kp_reply, c) < 0) {
            c->failed = 1;
            op->outstanding--;
        }
    }
    if (op->outstanding == 0)
        claims_done(op);
}

void cli_session_update(struct cli_session *s, const char *group)
{
    struct s_group *g = group_find(s, group);
    struct s_commit *op;
    if (!group_active(g)) {
        notice(s, group, 1, "you are not a member of #%s", group);
        return;
    }
    if (g->op) {
        notice(s, group, 1, "another change to #%s is in progress; try again in a moment", group);
        return;
    }
    op = commit_new(s, g, COMMIT_UPDATE, 0);
    if (!op)
        return;
    op->state = OP_READY;
    if (!s->authed)
        notice(s, group, 0, "not connected: the key update will be sent after reconnecting");
    group_after_change(s, g);
}

/* ------------------------------------------------------------ joining */

static struct s_group *group_add(struct cli_session *s, const char *name)
{
    struct s_group *g = calloc(1, sizeof *g), **pp;
    if (!g)
        return NULL;
    g->s = s;
    snprintf(g->rec.name, sizeof g->rec.name, "%s", name);
    g->rec.joined_at = ++s->join_order;
    for (pp = &s->groups; *pp; pp = &(*pp)->next)
        ;
    *pp = g;
    return g;
}

static void group_remove(struct cli_session *s, struct s_group *g)
{
    struct s_group **pp;
    for (pp = &s->groups; *pp; pp = &(*pp)->next) {
        if (*pp == g) {
            *pp = g->next;
            break;
        }
    }
    group_free(g);
}

static void group_free(struct s_group *g)
{
    struct s_req *r;
    if (!g)
        return;
    /* Replies still on their way no longer refer to it. */
    for (r = g->s->reqs; r; r = r->next)
        if (r->g == g)
            r->g = NULL;
    if (g->op)
        commit_free(g->op);
    cli_net_forget(g->s->net, g);
    mls_group_free(g->mls);
    cli_group_rec_clear(&g->rec);
    free(g);
}

static void waiting_remove(struct cli_session *s, const char *name)
{
    size_t i;
    for (i = 0; i < s->n_waiting; i++) {
        if (strcmp(s->waiting[i], name) == 0) {
            memmove(s->waiting[i], s->waiting[i + 1],
                    (s->n_waiting - i - 1) * sizeof s->waiting[0]);
            s->n_waiting--;
            return;
        }
    }
}

static void inbox_ack(struct cli_session *s, int64_t inbox_id)
{
    json_t *req = json_pack("{s:s, s:[I]}", "type", "inbox.ack", "ids", (json_int_t)inbox_id);
    if (req)
        cli_net_request(s->net, req, NULL, NULL);
}

/* Joins through an invitation (PROTOCOL.md §7.6).  Returns 1 if the
 * entry was consumed (joined, or unusable), 0 if it should stay. */
static int join_from_inbox(struct cli_session *s, json_t *e)
{
    const char *name = jstr(e, "group"), *sender = jstr(e, "sender");
    const char *welcome_b64 = jstr(e, "welcome"), *gid_b64 = jstr(e, "group_id");
    int64_t seq = jint(e, "seq", -1);
    mls_buf welcome, gid, bundles_buf[16];
    mls_bytes refs[16], bundles[16];
    size_t n_refs = 0, n_bundles = 0, used = 0, i;
    int lr[16];
    mls_group *m = NULL;
    mls_join_options jo;
    struct s_group *g, *old;
    char gname[80], joined_line[200];
    int consumed = 1, last_resort = 0;

    mls_buf_init(&welcome);
    mls_buf_init(&gid);
    for (i = 0; i < 16; i++)
        mls_buf_init(&bundles_buf[i]);
    if (!name || !welcome_b64 || !gid_b64 || seq < 0 || !cli_valid_groupname(name) ||
        cli_b64_decode(welcome_b64, &welcome) != 0 || cli_b64_decode(gid_b64, &gid) != 0) {
        notice(s, NULL, 1, "a malformed invitation was ignored");
        goto out;
    }
    old = group_find(s, name);
    if (old && group_active(old)) {
        if (old->rec.group_id.n == gid.n && memcmp(old->rec.group_id.p, gid.p, gid.n) == 0)
            goto out; /* joined already */
        notice(s, name, 1, "an invitation to another group named #%s was ignored", name);
        goto out;
    }
    if (mls_welcome_refs(mls_buf_view(&welcome), refs, 16, &n_refs) != MLS_OK) {
        notice(s, name, 1, "the invitation to #%s is malformed", name);
        goto out;
    }
    for (i = 0; i < n_refs && n_bundles < 16; i++) {
        if (cli_store_kp_get(s->store, refs[i], &bundles_buf[n_bundles], &lr[n_bundles]) == 0) {
            bundles[n_bundles] = mls_buf_view(&bundles_buf[n_bundles]);
            n_bundles++;
        }
    }
    if (n_bundles == 0) {
        notice(s, name, 1, "the invitation to #%s from %s is for a KeyPackage this config "
               "directory does not have", name, sender ? sender : "?");
        goto out;
    }
    memset(&jo, 0, sizeof jo);
    jo.config = &s->cfg;
    {
        int rc = mls_group_join(s->env, s->id, mls_buf_view(&welcome), bundles, n_bundles, &jo,
                                &used, &m);
        if (rc != MLS_OK) {
            notice(s, name, 1, "cannot join #%s through the invitation from %s: %s", name,
                   sender ? sender : "?", mls_strerror(rc));
            goto out;
        }
    }
    last_resort = lr[used];
    if (group_name_of(m, gname, sizeof gname) != 0 || strcmp(gname, name) != 0) {
        notice(s, name, 1, "the invitation to #%s is for an MLS group named differently; "
               "ignored", name);
        goto out;
    }
    if (!sender || !is_admin(m, sender))
        notice(s, name, 1, "WARNING: the invitation to #%s comes from %s, who is not an "
               "administrator of it", name, sender ? sender : "?");
    if (old)
        group_remove(s, old);
    g = group_add(s, name);
    if (!g)
        goto out;
    if (mls_buf_set(&g->rec.group_id, mls_group_id(m).p, mls_group_id(m).n) != MLS_OK)
        goto fail_group;
    g->mls = m;
    m = NULL;
    if (group_snapshot(g) != 0)
        goto fail_group;
    g->rec.cursor = seq;
    g->rec.status = CLI_GROUP_JOINED;
    snprintf(joined_line, sizeof joined_line, "you joined #%s, invited by %s", name,
             sender ? sender : "?");
    if (cli_store_begin(s->store) != 0)
        goto fail_group;
    if (group_save(s, g) != 0 ||
        (!last_resort && cli_store_kp_delete(s->store, bundles[used]) != 0) ||
        cli_store_history_add(s->store, name, -1, (int64_t)cli_time(), NULL, joined_line) < 0) {
        cli_store_rollback(s->store);
        goto fail_group;
    }
    if (cli_store_commit(s->store) != 0) {
        cli_store_rollback(s->store);
        goto fail_group;
    }
    waiting_remove(s, name);
    notice(s, name, 0, "%s (%u members)", joined_line, mls_group_member_count(g->mls));
    if (s->ev.joined)
        s->ev.joined(s->ev.ctx, name);
    changed(s);
    verify_all(s, g);
    fetch_log(s, g);
    kp_check(s);
    goto out;
fail_group:
    notice(s, name, 1, "cannot save the new group #%s", name);
    if (g)
        group_remove(s, g);
    consumed = 0;
out:
    mls_group_free(m);
    mls_buf_clear(&welcome);
    mls_buf_clear(&gid);
    for (i = 0; i < 16; i++)
        mls_buf_clear(&bundles_buf[i]);
    return consumed;
}

static void rejoin_named(struct cli_session *s, const char *name);
static void rejoin_start(struct cli_session *s, struct s_group *g);

static void list_reply(void *ctx, json_t *reply)
{
    struct s_req *r = ctx;
    struct cli_session *s = r->s;
    json_t *groups;
    struct s_group *g;
    size_t i;

    req_free(r);
    if (!jok(reply))
        return;
    /* Groups whose state we lost entirely (no row left), and those out of
     * sync since an earlier run. */
    groups = json_object_get(reply, "groups");
    for (i = 0; i < json_array_size(groups); i++) {
        const char *name = jstr(json_array_get(groups, i), "name");
        if (name && cli_valid_groupname(name) && !group_find(s, name))
            rejoin_named(s, name);
    }
    for (g = s->groups; g; g = g->next)
        if (g->rec.status == CLI_GROUP_BROKEN)
            rejoin_start(s, g);
}

/* After the invitations of this login were used: which groups the server
 * has us on the roster of (PROTOCOL.md §7.3). */
static void list_groups(struct cli_session *s)
{
    json_t *req = json_pack("{s:s}", "type", "group.list");
    s->listed = 1;
    send_req(s, req, list_reply, req_new(s, NULL, NULL));
}

static void inbox_reply(void *ctx, json_t *reply)
{
    struct cli_session *s = ctx;
    json_t *entries;
    size_t i;
    char joins[16][65];
    size_t n_joins;

    s->inbox_busy = 0;
    if (!reply)
        return;
    entries = jok(reply) ? json_object_get(reply, "entries") : NULL;
    for (i = 0; i < json_array_size(entries); i++) {
        json_t *e = json_array_get(entries, i);
        if (join_from_inbox(s, e))
            inbox_ack(s, jint(e, "inbox_id", -1));
    }
    if (s->inbox_again) {
        s->inbox_again = 0;
        fetch_inbox(s);
        return;
    }
    /* Now that invitations were used, the /join requests made before. */
    n_joins = s->n_joins;
    memcpy(joins, s->joins, sizeof joins);
    s->n_joins = 0;
    for (i = 0; i < n_joins; i++)
        join_decide(s, joins[i]);
    /* And the groups still waited for (after a reconnect). */
    for (i = 0; i < s->n_waiting; i++)
        if (!group_active(group_find(s, s->waiting[i])))
            cli_log("still waiting for an invitation to #%s", s->waiting[i]);
    if (!s->listed)
        list_groups(s);
}

static void fetch_inbox(struct cli_session *s)
{
    json_t *req;
    if (!s->authed)
        return;
    if (s->inbox_busy) {
        s->inbox_again = 1;
        return;
    }
    req = json_pack("{s:s}", "type", "inbox.fetch");
    if (req && cli_net_request(s->net, req, inbox_reply, s) >= 0)
        s->inbox_busy = 1;
}

static void create_reply(void *ctx, json_t *reply)
{
    struct s_req *r = ctx;
    struct cli_session *s = r->s;
    struct s_group *g = r->g;
    char name[65];

    snprintf(name, sizeof name, "%s", r->name);
    req_free(r);
    if (!reply || !g)
        return; /* the catch-up after reconnecting finds out */
    if (jok(reply)) {
        g->rec.cursor = jint(reply, "last_seq", 0);
        if (group_save(s, g) != 0)
            cli_log("cannot save group");
        notice(s, name, 0, "created #%s; you are its administrator: /invite users to it", name);
        g->synced = 0;
        fetch_log(s, g);
        if (s->ev.joined)
            s->ev.joined(s->ev.ctx, name);
        changed(s);
        return;
    }
    /* Not created: forget the local group. */
    if (cli_store_group_delete(s->store, name) != 0)
        cli_log("cannot delete group %s", name);
    group_remove(s, g);
    if (strcmp(jerr(reply), "group_exists") == 0) {
        join_decide(s, name); /* someone was faster */
        return;
    }
    notice(s, name, 1, "cannot create #%s: %s", name, jmsg(reply));
    changed(s);
}

static void create_send(struct cli_session *s, struct s_group *g)
{
    json_t *req = json_pack("{s:s, s:s, s:i}", "type", "group.create", "name", g->rec.name,
                            "epoch", 0);
    mls_buf info;

    /* PROTOCOL.md §7.1: the server builds its public view of the group
     * from this GroupInfo (with the ratchet tree). */
    mls_buf_init(&info);
    if (!req || jset_b64(req, "group_id", mls_buf_view(&g->rec.group_id)) != 0 ||
        mls_group_group_info(g->mls, 1, &info) != MLS_OK ||
        jset_b64(req, "group_info", mls_buf_view(&info)) != 0) {
        json_decref(req);
        mls_buf_clear(&info);
        return;
    }
    mls_buf_clear(&info);
    send_req(s, req, create_reply, req_new(s, g, g->rec.name));
}

/* Creates `name`: a new MLS group with the chat's GroupContext extensions,
 * saved before the server is asked so a crash cannot lose it. */
static void create_group(struct cli_session *s, const char *name)
{
    char *me = s->ident.username;
    mls_buf name_ext, admins_ext;
    mls_ext exts[2];
    mls_group *m = NULL;
    struct s_group *g = NULL;
    int rc;

    mls_buf_init(&name_ext);
    mls_buf_init(&admins_ext);
    if (ext_name_encode(name, &name_ext) != 0 || ext_admins_encode(&me, 1, &admins_ext) != 0)
        goto fail;
    exts[0].type = CLI_EXT_GROUP_NAME;
    exts[0].data = mls_buf_view(&name_ext);
    exts[1].type = CLI_EXT_ADMINS;
    exts[1].data = mls_buf_view(&admins_ext);
    rc = mls_group_create(s->env, s->id, mls_bytes_of(NULL, 0), exts, 2, &s->cfg, &m);
    if (rc != MLS_OK) {
        notice(s, name, 1, "cannot create the MLS group: %s", mls_strerror(rc));
        goto out;
    }
    g = group_add(s, name);
    if (!g || mls_buf_set(&g->rec.group_id, mls_group_id(m).p, mls_group_id(m).n) != MLS_OK)
        goto fail;
    g->mls = m;
    m = NULL;
    g->rec.status = CLI_GROUP_JOINED;
    g->rec.cursor = 0;
    if (group_snapshot(g) != 0 || group_save(s, g) != 0)
        goto fail;
    create_send(s, g);
    goto out;
fail:
    notice(s, name, 1, "cannot create #%s", name);
    if (g)
        group_remove(s, g);
out:
    mls_group_free(m);
    mls_buf_clear(&name_ext);
    mls_buf_clear(&admins_ext);
}

/* ------------------------------------------------------------ rejoining */

/*
 * A group we are on the roster of but whose MLS state we cannot use (lost,
 * unreadable, or a commit we cannot process) is rejoined by an external
 * commit (RFC 9420 §12.4.3.2) from the GroupInfo the server keeps
 * (PROTOCOL.md §7.2), removing our old leaf in the same commit.  It is
 * sent like any commit: the external commit and the state after it are
 * saved first (a restart sends the same bytes again, which the server
 * recognises if it accepted them, PROTOCOL.md §7.7), adopted when the
 * server accepts it, and rebuilt from a newer GroupInfo after
 * stale_epoch.  Messages of the epochs we missed cannot be read.
 */

static void rejoin_stuck(struct cli_session *s, struct s_group *g, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void rejoin_stuck(struct cli_session *s, struct s_group *g, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    g->stuck = 1;
    notice(s, g->rec.name, 1, "cannot rejoin #%s: %s", g->rec.name, buf);
    changed(s);
}

/* We are not on the roster (any more). */
static void rejoin_not_member(struct cli_session *s, struct s_group *g)
{
    char name[65];
    snprintf(name, sizeof name, "%s", g->rec.name);
    mls_buf_clear(&g->rec.pending_commit);
    mls_buf_clear(&g->rec.pending_state);
    if (g->rec.state.n == 0) {
        /* Never saved (its row was lost): nothing to keep. */
        group_remove(s, g);
    } else {
        g->rec.status = CLI_GROUP_REMOVED;
        if (group_save(s, g) != 0)
            cli_log("cannot save group");
    }
    notice(s, name, 1, "you are no longer a member of #%s", name);
    changed(s);
}

static void rejoin_adopt(struct cli_session *s, struct s_group *g, int64_t seq)
{
    mls_group *m = NULL;
    char line[256];

    if (mls_group_deserialize(s->env, mls_buf_view(&g->rec.pending_state), &m) != MLS_OK) {
        rejoin_stuck(s, g, "the state prepared for it is unreadable");
        return;
    }
    mls_group_free(g->mls);
    g->mls = m;
    mls_buf_clear(&g->rec.state);
    g->rec.state = g->rec.pending_state;
    memset(&g->rec.pending_state, 0, sizeof g->rec.pending_state);
    mls_buf_clear(&g->rec.pending_commit);
    g->rec.status = CLI_GROUP_JOINED;
    g->rec.cursor = seq;
    g->rejoin_tries = 0;
    g->stuck = 0;
    snprintf(line, sizeof line, "you rejoined #%s (epoch %llu); messages sent while this client "
             "was out of sync cannot be read", g->rec.name,
             (unsigned long long)mls_group_epoch(g->mls));
    if (cli_store_begin(s->store) != 0 || group_save(s, g) != 0 ||
        cli_store_history_add(s->store, g->rec.name, -1, (int64_t)cli_time(), NULL, line) < 0 ||
        cli_store_commit(s->store) != 0) {
        cli_store_rollback(s->store);
        notice(s, g->rec.name, 1, "cannot save the state of #%s", g->rec.name);
    }
    notice(s, g->rec.name, 0, "%s", line);
    if (s->ev.joined)
        s->ev.joined(s->ev.ctx, g->rec.name);
    changed(s);
    verify_all(s, g);
    g->synced = 0;
    fetch_log(s, g);
}

static void rejoin_commit_reply(void *ctx, json_t *reply)
{
    struct s_req *r = ctx;
    struct cli_session *s = r->s;
    struct s_group *g = r->g;
    const char *e;

    req_free(r);
    if (!g)
        return;
    g->rejoin_busy = 0;
    if (!reply || g->rec.status != CLI_GROUP_BROKEN)
        return; /* sent again after logging in */
    if (jok(reply)) {
        rejoin_adopt(s, g, jint(reply, "seq", 0));
        return;
    }
    e = jerr(reply);
    mls_buf_clear(&g->rec.pending_commit);
    mls_buf_clear(&g->rec.pending_state);
    if (g->rec.state.n > 0 && group_save(s, g) != 0)
        cli_log("cannot save group");
    if (strcmp(e, "stale_epoch") == 0 && ++g->rejoin_tries <= S_MAX_COMMIT_RETRIES) {
        /* DESIGN Decision 3: a newer GroupInfo, a new external commit. */
        notice(s, g->rec.name, 0, "#%s changed meanwhile (epoch %lld): rejoining from its "
               "new state", g->rec.name, (long long)jint(reply, "current_epoch", -1));
        rejoin_start(s, g);
        return;
    }
    if (strcmp(e, "not_member") == 0) {
        rejoin_not_member(s, g);
        return;
    }
    rejoin_stuck(s, g, "the server refused the external commit: %s", jmsg(reply));
}

/* Sends the saved external commit with the GroupInfo of the epoch it
 * starts (the server keeps it for the next one to join or rejoin). */
static void rejoin_send(struct cli_session *s, struct s_group *g)
{
    mls_group *m = NULL;
    mls_buf info;
    json_t *req = NULL;

    mls_buf_init(&info);
    if (mls_group_deserialize(s->env, mls_buf_view(&g->rec.pending_state), &m) != MLS_OK ||
        mls_group_group_info(m, 1, &info) != MLS_OK || mls_group_epoch(m) == 0) {
        mls_buf_clear(&g->rec.pending_commit);
        mls_buf_clear(&g->rec.pending_state);
        rejoin_stuck(s, g, "the state prepared for it is unreadable");
        goto out;
    }
    req = json_pack("{s:s, s:s, s:I}", "type", "group.commit", "group", g->rec.name, "epoch",
                    (json_int_t)(mls_group_epoch(m) - 1));
    if (!req || jset_b64(req, "commit", mls_buf_view(&g->rec.pending_commit)) != 0 ||
        jset_b64(req, "group_info", mls_buf_view(&info)) != 0)
        goto out;
    if (send_req(s, req, rejoin_commit_reply, req_new(s, g, g->rec.name)) == 0)
        g->rejoin_busy = 1;
    req = NULL;
out:
    json_decref(req);
    mls_group_free(m);
    mls_buf_clear(&info);
}

/* Builds the external commit from the server's GroupInfo of g. */
static void rejoin_build(struct cli_session *s, struct s_group *g, mls_bytes gi, mls_bytes gid)
{
    mls_external_join_options jo;
    mls_group *m = NULL;
    mls_buf commit, state;
    uint32_t old = 0;
    char gname[80];
    int rc;

    mls_buf_init(&commit);
    mls_buf_init(&state);
    memset(&jo, 0, sizeof jo);
    jo.config = &s->cfg;
    rc = cli_group_info_find_leaf(gi, mls_buf_view(&s->ident.sig_pk), &old);
    if (rc < 0) {
        rejoin_stuck(s, g, "the server's GroupInfo of it is malformed");
        goto out;
    }
    if (rc == 0) {
        /* RFC 9420 §12.4.3.2: our old leaf goes in the same commit. */
        jo.remove_old_leaf = 1;
        jo.old_leaf = old;
    }
    rc = mls_group_external_join(s->env, s->id, gi, &jo, &commit, &m);
    if (rc != MLS_OK) {
        rejoin_stuck(s, g, "%s", mls_strerror(rc));
        goto out;
    }
    if (group_name_of(m, gname, sizeof gname) != 0 || strcmp(gname, g->rec.name) != 0 ||
        mls_group_id(m).n != gid.n || memcmp(mls_group_id(m).p, gid.p, gid.n) != 0) {
        rejoin_stuck(s, g, "the server's GroupInfo is for another group");
        goto out;
    }
    if (mls_group_serialize(m, &state) != MLS_OK ||
        mls_buf_set(&g->rec.group_id, gid.p, gid.n) != MLS_OK ||
        (g->rec.state.n == 0 && mls_buf_set(&g->rec.state, state.p, state.n) != MLS_OK))
        goto fail;
    mls_buf_clear(&g->rec.pending_commit);
    mls_buf_clear(&g->rec.pending_state);
    g->rec.pending_commit = commit;
    g->rec.pending_state = state;
    mls_buf_init(&commit);
    mls_buf_init(&state);
    if (group_save(s, g) != 0) {
        mls_buf_clear(&g->rec.pending_commit);
        mls_buf_clear(&g->rec.pending_state);
        goto fail;
    }
    rejoin_send(s, g);
    goto out;
fail:
    rejoin_stuck(s, g, "cannot save the state prepared for it");
out:
    mls_group_free(m);
    mls_buf_clear(&commit);
    mls_buf_clear(&state);
}

static void rejoin_info_reply(void *ctx, json_t *reply)
{
    struct s_req *r = ctx;
    struct cli_session *s = r->s;
    struct s_group *g = r->g;
    mls_buf gi, gid;

    req_free(r);
    if (!g)
        return;
    g->rejoin_busy = 0;
    if (!reply || g->rec.status != CLI_GROUP_BROKEN)
        return; /* asked again after logging in */
    if (!jok(reply)) {
        rejoin_stuck(s, g, "%s", jmsg(reply));
        return;
    }
    if (!json_is_true(json_object_get(reply, "exists")) ||
        !json_is_true(json_object_get(reply, "member"))) {
        rejoin_not_member(s, g);
        return;
    }
    if (!jstr(reply, "group_info")) {
        rejoin_stuck(s, g, "the server holds no GroupInfo of it (nobody changed the group "
                     "since it was created); an administrator can remove and re-invite you");
        return;
    }
    mls_buf_init(&gi);
    mls_buf_init(&gid);
    if (cli_b64_decode(jstr(reply, "group_info"), &gi) != 0 || !jstr(reply, "group_id") ||
        cli_b64_decode(jstr(reply, "group_id"), &gid) != 0)
        rejoin_stuck(s, g, "the server's answer is malformed");
    else
        rejoin_build(s, g, mls_buf_view(&gi), mls_buf_view(&gid));
    mls_buf_clear(&gi);
    mls_buf_clear(&gid);
}

static void rejoin_start(struct cli_session *s, struct s_group *g)
{
    json_t *req;
    if (!s->authed || g->rejoin_busy || g->stuck || g->rec.status != CLI_GROUP_BROKEN)
        return;
    if (g->rec.pending_commit.n > 0 && g->rec.pending_state.n > 0) {
        /* Prepared before a restart or a lost connection: the same bytes. */
        rejoin_send(s, g);
        return;
    }
    req = json_pack("{s:s, s:s}", "type", "group.info", "name", g->rec.name);
    if (send_req(s, req, rejoin_info_reply, req_new(s, g, g->rec.name)) == 0)
        g->rejoin_busy = 1;
}

/* The server lists us as a member of name, and we have no usable state
 * of it. */
static void rejoin_named(struct cli_session *s, const char *name)
{
    struct s_group *g = group_find(s, name);
    if (!g) {
        g = group_add(s, name);
        if (!g)
            return;
        g->rec.status = CLI_GROUP_BROKEN;
    }
    if (g->rec.status != CLI_GROUP_BROKEN)
        return;
    if (!g->rejoin_busy && !g->stuck)
        notice(s, name, 0, "you are a member of #%s but this client has no usable state of "
               "it: rejoining", name);
    rejoin_start(s, g);
}

static void info_reply(void *ctx, json_t *reply)
{
    struct s_req *r = ctx;
    struct cli_session *s = r->s;
    char name[65];
    size_t i;

    snprintf(name, sizeof name, "%s", r->name);
    req_free(r);
    if (!reply) {
        /* Asked again after reconnecting. */
        if (s->n_joins < 16)
            snprintf(s->joins[s->n_joins++], sizeof s->joins[0], "%s", name);
        return;
    }
    if (!jok(reply)) {
        notice(s, name, 1, "cannot look up #%s: %s", name, jmsg(reply));
        return;
    }
    if (group_active(group_find(s, name))) {
        if (s->ev.joined)
            s->ev.joined(s->ev.ctx, name);
        return;
    }
    if (!json_is_true(json_object_get(reply, "exists"))) {
        create_group(s, name);
        return;
    }
    if (json_is_true(json_object_get(reply, "member"))) {
        struct s_group *g = group_find(s, name);
        if (g && g->rec.status != CLI_GROUP_BROKEN) {
            /* Removed or refused here: rejoining would undo that. */
            notice(s, name, 1, "the server lists you as a member of #%s, but this client no "
                   "longer follows it; an administrator can remove and re-invite you", name);
            return;
        }
        rejoin_named(s, name);
        return;
    }
    for (i = 0; i < s->n_waiting; i++)
        if (strcmp(s->waiting[i], name) == 0)
            break;
    if (i == s->n_waiting && s->n_waiting < 16)
        snprintf(s->waiting[s->n_waiting++], sizeof s->waiting[0], "%s", name);
    notice(s, name, 0, "#%s exists (administrator: %s); an administrator must /invite %s. "
           "You will join by yourself as soon as the invitation arrives.",
           name, jstr(reply, "admin") ? jstr(reply, "admin") : "?", s->ident.username);
    changed(s);
}

static void join_decide(struct cli_session *s, const char *name)
{
    json_t *req;
    if (group_active(group_find(s, name))) {
        if (s->ev.joined)
            s->ev.joined(s->ev.ctx, name);
        return;
    }
    req = json_pack("{s:s, s:s}", "type", "group.info", "name", name);
    send_req(s, req, info_reply, req_new(s, NULL, name));
}

void cli_session_join(struct cli_session *s, const char *group)
{
    if (group_active(group_find(s, group))) {
        if (s->ev.joined)
            s->ev.joined(s->ev.ctx, group);
        return;
    }
    if (!s->authed || s->inbox_busy) {
        size_t i;
        for (i = 0; i < s->n_joins; i++)
            if (strcmp(s->joins[i], group) == 0)
                return;
        if (s->n_joins < 16)
            snprintf(s->joins[s->n_joins++], sizeof s->joins[0], "%s", group);
        return;
    }
    join_decide(s, group);
}

int cli_session_is_member(const struct cli_session *s, const char *group)
{
    return group_active(group_find(s, group));
}

/* ------------------------------------------------------------ network events */

static void on_open(void *ctx)
{
    struct cli_session *s = ctx;
    s->open = 1;
    snprintf(s->conn, sizeof s->conn, "logging in");
    changed(s);
}

static void on_close(void *ctx, const char *why)
{
    struct cli_session *s = ctx;
    struct s_group *g;
    int was = s->authed;
    s->open = 0;
    s->authed = 0;
    s->listed = 0;
    s->inbox_busy = 0;
    s->kp_busy = 0;
    for (g = s->groups; g; g = g->next) {
        g->synced = 0;
        g->fetching = 0;
        g->refetch = 0;
    }
    snprintf(s->conn, sizeof s->conn, "offline, reconnecting");
    if (was)
        notice(s, NULL, 1, "connection to %s lost (%s); reconnecting", cli_net_endpoint(s->net),
               why);
    else if (strcmp(why, s->last_close) != 0)
        notice(s, NULL, 1, "cannot connect to %s (%s); retrying", cli_net_endpoint(s->net), why);
    snprintf(s->last_close, sizeof s->last_close, "%s", why);
    changed(s);
}

static void on_event(void *ctx, json_t *ev)
{
    struct cli_session *s = ctx;
    const char *type = jstr(ev, "event");
    if (strcmp(type, "challenge") == 0) {
        const char *nonce = jstr(ev, "nonce");
        s->auth_tries = 0;
        if (nonce)
            send_auth(s, nonce, cli_time());
    } else if (strcmp(type, "log") == 0) {
        on_log_event(s, ev);
    } else if (strcmp(type, "inbox") == 0) {
        if (join_from_inbox(s, ev))
            inbox_ack(s, jint(ev, "inbox_id", -1));
    }
}

/* ------------------------------------------------------------ public API */

static void load_group_cb(void *ctx, struct cli_group_rec *rec)
{
    struct cli_session *s = ctx;
    struct s_group *g = group_add(s, rec->name);
    if (!g)
        return;
    g->rec = *rec;
    memset(rec, 0, sizeof *rec);
    if (g->rec.joined_at > s->join_order)
        s->join_order = g->rec.joined_at;
    if (g->rec.status == CLI_GROUP_JOINED || g->rec.status == CLI_GROUP_REMOVED) {
        if (mls_group_deserialize(s->env, mls_buf_view(&g->rec.state), &g->mls) != MLS_OK) {
            g->mls = NULL;
            g->rec.status = CLI_GROUP_BROKEN;
        }
    }
}

int cli_session_new(const struct cli_session_config *cfg, const struct cli_session_events *ev,
                    struct cli_session **out, char *err, size_t errlen)
{
    struct cli_session *s = calloc(1, sizeof *s);
    struct cli_net_handlers h;
    int locked = 0;
    char *db_path = NULL, *p;

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->ev = *ev;
    s->env = mls_env_default();
    mls_group_config_default(&s->cfg);
    /* Handshake messages are PublicMessages (PROTOCOL.md §7.4): the server
     * validates them with its public view of the group; application
     * messages stay PrivateMessages. */
    s->cfg.handshake_private = 0;
    s->cfg.padding_block = 32;
    s->cfg.ratchet_tree_in_welcome = 1;
    snprintf(s->conn, sizeof s->conn, "connecting");
    memset(&h, 0, sizeof h);
    h.on_open = on_open;
    h.on_close = on_close;
    h.on_event = on_event;
    h.ctx = s;
    if (cli_net_new(cfg->server_url, cfg->ca_file, &h, &s->net, err, errlen) != 0)
        goto fail;
    /* One database per user and server: several usernames can share a
     * config directory, each with its own keys and groups. */
    db_path = cli_strdupf("%s/%s@%s.db", cfg->config_dir, cfg->username,
                          cli_net_endpoint(s->net));
    if (!db_path) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (p = db_path + strlen(cfg->config_dir) + 1; *p; p++)
        if (*p == ':' || *p == '/')
            *p = '_';
    if (cli_store_open(db_path, &s->store, &locked) != 0) {
        if (locked)
            snprintf(err, errlen, "another client is already running for %s with this config "
                     "directory", cfg->username);
        else
            snprintf(err, errlen, "cannot open the database %s", db_path);
        goto fail;
    }
    if (identity_setup(s, cfg->username, err, errlen) != 0)
        goto fail;
    if (cli_store_group_each(s->store, load_group_cb, s) != 0) {
        snprintf(err, errlen, "cannot read the groups from %s", db_path);
        goto fail;
    }
    free(db_path);
    *out = s;
    return 0;
fail:
    free(db_path);
    cli_session_free(s);
    return -1;
}

void cli_session_free(struct cli_session *s)
{
    if (!s)
        return;
    if (s->net)
        cli_timer_stop(&s->kp_timer);
    while (s->groups) {
        struct s_group *g = s->groups;
        s->groups = g->next;
        group_free(g);
    }
    while (s->reqs)
        req_free(s->reqs);
    cli_net_free(s->net);
    cli_store_close(s->store);
    mls_identity_free(s->id);
    cli_identity_clear(&s->ident);
    mls_buf_clear(&s->lr_ref);
    free(s);
}

struct cli_net *cli_session_net(struct cli_session *s)
{
    return s->net;
}

void cli_session_start(struct cli_session *s)
{
    cli_net_connect(s->net);
}

void cli_session_stop(struct cli_session *s)
{
    cli_net_stop(s->net);
}

const char *cli_session_connection(const struct cli_session *s)
{
    return s->conn;
}

const char *cli_session_user(const struct cli_session *s)
{
    return s->ident.username;
}

int cli_session_online(const struct cli_session *s)
{
    return s->authed;
}

struct s_unsent_count {
    const struct cli_session *s;
    int n, sendable;
    char *groups;
    size_t max, len;
};

/* 1 if "#group" is an item of the ", "-separated list. */
static int listed_in(const char *list, const char *group)
{
    size_t n = strlen(group);
    const char *p = list;
    while ((p = strchr(p, '#')) != NULL) {
        if (strncmp(p + 1, group, n) == 0 && (p[n + 1] == ',' || p[n + 1] == 0))
            return 1;
        p++;
    }
    return 0;
}

static void unsent_count_cb(void *ctx, int64_t id, const char *group, const char *text,
                            mls_bytes ct)
{
    struct s_unsent_count *u = ctx;
    const struct s_group *g = group_find(u->s, group);
    (void)id;
    (void)text;
    (void)ct;
    u->n++;
    if (group_active(g) || (g && g->rec.status == CLI_GROUP_BROKEN && !g->stuck))
        u->sendable++;
    if (u->groups && !listed_in(u->groups, group) && u->len + strlen(group) + 4 < u->max)
        u->len += (size_t)snprintf(u->groups + u->len, u->max - u->len, "%s#%s",
                                   u->len ? ", " : "", group);
}

int cli_session_idle(const struct cli_session *s)
{
    struct s_group *g;
    struct s_unsent_count u;
    if (!s->authed || s->n_joins > 0 || s->inbox_busy || s->kp_busy || s->reqs)
        return 0;
    for (g = s->groups; g; g = g->next) {
        if (g->op || g->rec.pending_commit.n > 0 || g->fetching || g->rejoin_busy)
            return 0;
        if (group_active(g) && !g->synced)
            return 0;
        if (g->rec.status == CLI_GROUP_BROKEN && !g->stuck)
            return 0;
    }
    memset(&u, 0, sizeof u);
    u.s = s;
    if (cli_store_outbox_each(s->store, unsent_count_cb, &u) != 0)
        return 1;
    return u.sendable == 0;
}

int cli_session_unsent(const struct cli_session *s, char *groups, size_t max)
{
    struct s_unsent_count u;
    memset(&u, 0, sizeof u);
    u.s = s;
    u.groups = groups;
    u.max = max;
    if (groups && max)
        groups[0] = 0;
    if (cli_store_outbox_each(s->store, unsent_count_cb, &u) != 0)
        return 0;
    return u.n;
}

int cli_session_membership(const struct cli_session *s, const char *group)
{
    const struct s_group *g = group_find(s, group);
    if (group_active(g))
        return CLI_MEMBERSHIP_MEMBER;
    if (g && (g->rec.status == CLI_GROUP_REMOVED || g->rec.status == CLI_GROUP_REFUSED ||
              g->stuck))
        return CLI_MEMBERSHIP_GONE;
    if (!g && s->authed && is_waiting(s, group))
        return CLI_MEMBERSHIP_WAITING;
    return CLI_MEMBERSHIP_UNKNOWN;
}

int cli_session_members(struct cli_session *s, const char *group, cli_member_cb cb, void *ctx)
{
    struct s_group *g = group_find(s, group);
    uint32_t i, n;
    int count = 0;
    if (!g || !g->mls)
        return -1;
    n = mls_group_leaf_count(g->mls);
    for (i = 0; i < n; i++) {
        mls_member m;
        struct cli_member_info info;
        char name[40];
        mls_buf key;
        if (mls_group_member(g->mls, i, &m) != MLS_OK)
            continue;
        bytes_to_name(m.identity, name, sizeof name);
        memset(&info, 0, sizeof info);
        info.username = name;
        cli_fingerprint(m.signature_key, info.fingerprint);
        info.admin = is_admin(g->mls, name);
        info.self = i == mls_group_own_leaf(g->mls);
        mls_buf_init(&key);
        if (info.self)
            info.verified = mls_ct_equal(m.signature_key, mls_buf_view(&s->ident.sig_pk)) ? 1 : -1;
        else if (cli_store_dir_get(s->store, name, &key) == 0)
            info.verified = mls_ct_equal(m.signature_key, mls_buf_view(&key)) ? 1 : -1;
        mls_buf_clear(&key);
        cb(ctx, &info);
        count++;
    }
    return count;
}

int cli_session_member_count(const struct cli_session *s, const char *group)
{
    struct s_group *g = group_find(s, group);
    return g && g->mls ? (int)mls_group_member_count(g->mls) : -1;
}

void cli_session_groups(struct cli_session *s, cli_group_cb cb, void *ctx)
{
    struct s_group *g;
    for (g = s->groups; g; g = g->next) {
        struct cli_group_info info;
        memset(&info, 0, sizeof info);
        info.name = g->rec.name;
        info.unread = g->rec.unread;
        info.status = g->rec.status;
        info.admin = g->mls ? is_admin(g->mls, s->ident.username) : 0;
        info.members = g->mls ? (int)mls_group_member_count(g->mls) : 0;
        info.epoch = g->mls ? mls_group_epoch(g->mls) : 0;
        cb(ctx, &info);
    }
}

const char *cli_session_group_at(const struct cli_session *s, int n)
{
    struct s_group *g;
    int i = 1;
    for (g = s->groups; g; g = g->next, i++)
        if (i == n)
            return g->rec.name;
    return NULL;
}

void cli_session_set_unread(struct cli_session *s, const char *group, int64_t unread)
{
    struct s_group *g = group_find(s, group);
    if (!g || g->rec.unread == unread)
        return;
    g->rec.unread = unread;
    if (cli_store_group_set_unread(s->store, group, unread) != 0)
        cli_log("cannot save unread count");
}

int64_t cli_session_unread(const struct cli_session *s, const char *group)
{
    struct s_group *g = group_find(s, group);
    return g ? g->rec.unread : 0;
}

struct s_hist {
    struct cli_session *s;
    cli_history_cb cb;
    void *ctx;
};

static void hist_cb(void *ctx, int64_t seq, int64_t time, const char *sender, const char *text)
{
    struct s_hist *h = ctx;
    (void)seq;
    if (!sender && !*text)
        return;
    h->cb(h->ctx, sender && strcmp(sender, h->s->ident.username) == 0, sender, text, time);
}

void cli_session_history(struct cli_session *s, const char *group, int limit, cli_history_cb cb,
                         void *ctx)
{
    struct s_hist h;
    h.s = s;
    h.cb = cb;
    h.ctx = ctx;
    if (cli_store_history_recent(s->store, group, limit, hist_cb, &h) != 0)
        cli_log("cannot read history");
}
