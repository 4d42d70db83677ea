/* API handlers: JSON in, logic, JSON out. */
#include "handlers.h"

#include <jansson.h>
#include <libwebsockets.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "event_text.h"
#include "json_plain.h"
#include "log.h"
#include "logic.h"
#include "metrics.h"
#include "mls/inspect.h"
#include "proto.h"
#include "relay.h"

#define CHALLENGE_TTL 120
#define CLOCK_SKEW 300
#define MAX_BATCH 100
#define MAX_LIST 1000
#define FETCH_DEFAULT 100
#define FETCH_MAX 500
#define LOW_WATER 10

/* ------------------------------------------------------------ JSON helpers */

/* Decoded binary fields live until the request is done. */
typedef struct req_ctx {
    srv *s;
    srv_logic *L;
    srv_conn *c;
    srv_user user;   /* the caller, when authenticated */
    srv_user *caller; /* &user when authenticated, else NULL */
    json_t *req;
    json_t *resp;
    mls_buf bufs[MAX_BATCH + 8];
    size_t n_bufs;
    int64_t id, t0_us; /* the request's id and arrival */
    int deferred;      /* answered later (a login in the verifier) */
    /* The answer's opening brace and a member the handler wrote as text
     * ("entries" of a log.fetch, with its key), before resp's members. */
    srv_text first;
} req_ctx;

static int get_str(req_ctx *r, json_t *obj, const char *key, const char **out, srv_err *e)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return srv_refuse(e, CHAT_ERR_BAD_REQUEST, "field '%s' must be a string", key);
    *out = json_string_value(v);
    (void)r;
    return 0;
}

static int get_u64(json_t *obj, const char *key, int required, uint64_t dflt, uint64_t *out,
                   srv_err *e)
{
    json_t *v = json_object_get(obj, key);
    if (!v && !required) {
        *out = dflt;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return srv_refuse(e, CHAT_ERR_BAD_REQUEST, "field '%s' must be a non-negative integer", key);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int decode_b64(req_ctx *r, json_t *v, const char *what, mls_bytes *out, srv_err *e)
{
    if (!json_is_string(v))
        return srv_refuse(e, CHAT_ERR_BAD_REQUEST, "field '%s' must be a base64 string", what);
    if (r->n_bufs == sizeof r->bufs / sizeof r->bufs[0])
        return srv_refuse(e, CHAT_ERR_TOO_LARGE, "too many binary fields");
    mls_buf *b = &r->bufs[r->n_bufs++];
    mls_buf_init(b);
    if (chat_b64_decode(json_string_value(v), json_string_length(v), b))
        return srv_refuse(e, CHAT_ERR_BAD_BASE64, "field '%s' is not valid base64", what);
    *out = mls_buf_view(b);
    return 0;
}

static int get_b64(req_ctx *r, json_t *obj, const char *key, mls_bytes *out, srv_err *e)
{
    return decode_b64(r, json_object_get(obj, key), key, out, e);
}

/* The optional idempotency key of group.send / group.commit: 1 to
 * SRV_MSG_ID_MAX bytes; n = 0 when absent. */
static int get_msg_id(req_ctx *r, mls_bytes *out, srv_err *e)
{
    *out = mls_bytes_of(NULL, 0);
    if (!json_object_get(r->req, "msg_id"))
        return 0;
    if (get_b64(r, r->req, "msg_id", out, e))
        return -1;
    if (out->n == 0 || out->n > SRV_MSG_ID_MAX)
        return srv_refuse(e, CHAT_ERR_BAD_REQUEST, "msg_id must be 1 to %d bytes", SRV_MSG_ID_MAX);
    return 0;
}

/* An optional array of strings; *n = 0 when absent. */
static int get_names(json_t *obj, const char *key, const char ***out, size_t *n, srv_err *e)
{
    json_t *arr = json_object_get(obj, key);
    *out = NULL;
    *n = 0;
    if (!arr)
        return 0;
    if (!json_is_array(arr))
        return srv_refuse(e, CHAT_ERR_BAD_REQUEST, "field '%s' must be an array of strings", key);
    if (json_array_size(arr) > MAX_LIST)
        return srv_refuse(e, CHAT_ERR_TOO_LARGE, "field '%s' has too many items", key);
    const char **l = calloc(json_array_size(arr) + 1, sizeof *l);
    if (!l)
        return srv_refuse(e, CHAT_ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_string(v)) {
            free(l);
            return srv_refuse(e, CHAT_ERR_BAD_REQUEST, "field '%s' must be an array of strings", key);
        }
        l[i] = json_string_value(v);
    }
    *out = l;
    *n = json_array_size(arr);
    return 0;
}

static void set_b64(json_t *obj, const char *key, mls_bytes b)
{
    char *t = chat_b64_encode(b.p, b.n);
    if (t)
        json_object_set_new(obj, key, json_string(t));
    free(t);
}

static void set_int(json_t *obj, const char *key, int64_t v)
{
    json_object_set_new(obj, key, json_integer(v));
}

static void set_str(json_t *obj, const char *key, const char *v)
{
    json_object_set_new(obj, key, json_string(v ? v : ""));
}

static char *dump(json_t *o)
{
    char *t = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return t;
}

void srv_user_json(json_t *o, const srv_user *u)
{
    char fp[SRV_FINGERPRINT_LEN + 1];
    srv_auth_fingerprint(mls_bytes_of(u->key, u->key_len), fp);
    set_int(o, "user_id", u->id);
    set_str(o, "username", u->name);
    set_int(o, "cipher_suite", u->suite);
    set_b64(o, "signature_key", mls_bytes_of(u->key, u->key_len));
    set_str(o, "fingerprint", fp);
}

static const char *kind_name(enum srv_kind k)
{
    return chat_kind_name(k == SRV_KIND_COMMIT    ? CHAT_KIND_COMMIT
                          : k == SRV_KIND_MESSAGE ? CHAT_KIND_MESSAGE
                                                  : CHAT_KIND_PROPOSAL);
}

static json_t *entry_json(const srv_group *g, const srv_log_entry *e)
{
    json_t *o = json_object();
    set_str(o, "group", g->name);
    set_b64(o, "group_id", mls_bytes_of(g->gid, g->gid_len));
    set_int(o, "seq", (int64_t)e->seq);
    set_int(o, "epoch", (int64_t)e->epoch);
    set_str(o, "kind", kind_name(e->kind));
    set_str(o, "sender", e->sender);
    set_int(o, "sender_id", e->sender_id);
    set_int(o, "time", e->time);
    set_b64(o, "message", e->data);
    if (e->meta) {
        json_t *m = json_loads(e->meta, 0, NULL);
        if (json_is_object(m))
            json_object_update(o, m);
        json_decref(m);
    }
    return o;
}

static json_t *inbox_json(const srv_inbox_entry *e)
{
    json_t *o = json_object();
    set_int(o, "inbox_id", e->id);
    set_str(o, "group", e->group->name);
    set_b64(o, "group_id", mls_bytes_of(e->group->gid, e->group->gid_len));
    set_int(o, "seq", (int64_t)e->seq);
    set_int(o, "epoch", (int64_t)e->epoch);
    set_str(o, "sender", e->sender);
    set_int(o, "time", e->time);
    set_b64(o, "welcome", e->welcome);
    if (e->group_info.n)
        set_b64(o, "group_info", e->group_info);
    return o;
}

/* ------------------------------------------------------------ pushes */

/* The event sink (logic.h) the server installs: events become JSON text
 * held for the connections of the users they are for. */
char *srv_event_inbox_text(const srv_inbox_entry *entry)
{
    json_t *o = inbox_json(entry);
    set_str(o, "event", chat_event_name(CHAT_EVENT_INBOX));
    return dump(o);
}

srv_payload *srv_event_log_payload(const srv_group *g, const srv_log_entry *entry)
{
    size_t len;
    char *block = srv_event_log_text_at(g, entry, SRV_PAYLOAD_TEXT_AT, &len);
    if (block)
        return srv_payload_adopt(block, len);
    if (!entry->meta)
        return NULL; /* out of memory */
    /* Meta (a commit's): its members merged in by jansson. */
    json_t *o = entry_json(g, entry);
    set_str(o, "event", chat_event_name(CHAT_EVENT_LOG));
    char *text = dump(o);
    srv_payload *p = text ? srv_payload_new(text) : NULL;
    free(text);
    return p;
}

static void push_log(void *ctx, const srv_group *g, const srv_log_entry *entry,
                     const int64_t *users, size_t n_users)
{
    srv *s = ctx;
    /* Over a shared store the entry goes out through the log after the
     * COMMIT, in order with the other processes' entries (relay.c). */
    if (s->relay) {
        srv_relay_local(s, g, entry->seq);
        return;
    }
    srv_payload *p = srv_event_log_payload(g, entry);
    if (!p)
        return;
    /* A message or proposal goes to the group's online members
     * (online.c), whatever the size of its roster and the number of
     * other connections; a commit to the roster before it, which it may
     * have changed.  The frame is built once for all of them. */
    if (!users) {
        if (srv_online_members(s, g, &users, &n_users)) {
            srv_log(SRV_LOG_ERROR, "cannot find the online members of %s", g->name);
            n_users = 0;
        }
    } else if (entry->kind == SRV_KIND_COMMIT) {
        srv_online_forget_group(s, g->ref);
    }
    for (size_t i = 0; i < n_users; i++) {
        srv_user_state *u = srv_user_state_find(s, users[i]);
        for (srv_conn *c = u ? u->conns : NULL; c; c = c->user_next)
            srv_hold_shared(s, c, p);
    }
    srv_payload_put(p);
}

static void push_inbox(void *ctx, int64_t user_id, const srv_inbox_entry *entry)
{
    srv *s = ctx;
    char *text = srv_event_inbox_text(entry);
    if (!text)
        return;
    srv_user_state *u = srv_user_state_find(s, user_id);
    for (srv_conn *c = u ? u->conns : NULL; c; c = c->user_next)
        srv_hold(s, c, strdup(text), 0, -1, NULL, 0);
    free(text);
}

static void push_invite(void *ctx, const char *group, const char *username,
                        const int64_t *users, size_t n_users)
{
    srv *s = ctx;
    json_t *o = json_object();
    set_str(o, "event", chat_event_name(CHAT_EVENT_INVITE));
    set_str(o, "group", group);
    set_str(o, "username", username);
    char *text = dump(o);
    srv_payload *p = text ? srv_payload_new(text) : NULL;
    free(text);
    if (!p)
        return;
    for (size_t i = 0; i < n_users; i++) {
        srv_user_state *u = srv_user_state_find(s, users[i]);
        for (srv_conn *c = u ? u->conns : NULL; c; c = c->user_next)
            srv_hold_shared(s, c, p);
    }
    srv_payload_put(p);
}

/* ------------------------------------------------------------ auth */

static void new_challenge(srv_conn *c)
{
    if (RAND_bytes(c->nonce, sizeof c->nonce) != 1)
        srv_log(SRV_LOG_ERROR, "RAND_bytes failed");
    c->nonce_time = srv_time();
}

void srv_handle_open(srv *s, srv_conn *c)
{
    new_challenge(c);
    json_t *o = json_object();
    set_str(o, "event", chat_event_name(CHAT_EVENT_CHALLENGE));
    set_b64(o, "nonce", mls_bytes_of(c->nonce, sizeof c->nonce));
    set_int(o, "server_time", srv_time());
    set_int(o, "protocol", 1);
    set_int(o, "max_message", (int64_t)s->cfg.max_message);
    char *t = dump(o);
    if (t)
        srv_send_now(s, c, t);
    free(t);
}

/* Checks the challenge answer and consumes the nonce whatever the outcome. */
static int check_challenge(req_ctx *r, mls_bytes *nonce, uint64_t *ts, srv_err *e)
{
    srv_conn *c = r->c;
    if (get_b64(r, r->req, "nonce", nonce, e) || get_u64(r->req, "timestamp", 1, 0, ts, e))
        return -1;
    int fresh = c->nonce_time != 0 && nonce->n == SRV_NONCE_LEN &&
                memcmp(nonce->p, c->nonce, SRV_NONCE_LEN) == 0;
    if (!fresh)
        return srv_nonce_was_used(*nonce)
                   ? srv_refuse(e, CHAT_ERR_REPLAY, "this challenge was already used")
                   : srv_refuse(e, CHAT_ERR_BAD_CHALLENGE, "nonce is not this connection's challenge");
    int64_t now = srv_time();
    int64_t age = now - c->nonce_time;
    srv_nonce_mark_used(c->nonce);
    c->nonce_time = 0;
    if (age > CHALLENGE_TTL)
        return srv_refuse(e, CHAT_ERR_CHALLENGE_EXPIRED, "challenge is older than %d s", CHALLENGE_TTL);
    if ((int64_t)*ts > now + CLOCK_SKEW || (int64_t)*ts < now - CLOCK_SKEW) {
        srv_refuse(e, CHAT_ERR_BAD_TIMESTAMP, "timestamp is more than %d s from server time %lld",
                   CLOCK_SKEW, (long long)now);
        e->extra_key = "server_time";
        e->extra = now;
        return -1;
    }
    return 0;
}

static void become(srv *s, srv_conn *c, const srv_user *u)
{
    c->user_id = u->id;
    snprintf(c->username, sizeof c->username, "%s", u->name);
    c->ustate = srv_user_state_get(s, u->id);
    if (c->ustate && !c->ustate->conns)
        srv_online_came(s, u->id);
    srv_user_link(c);
    srv_metrics_authenticated(1);
    srv_log(SRV_LOG_DEBUG, "connection authenticated as %s (%lld)", u->name, (long long)u->id);
}

/* Registrations per peer address (--register-rate per minute, burst of a
 * minute's worth): accounts are free, and every limit kept per account
 * is only as strong as the cost of a new one. */
static int register_admit(req_ctx *r, srv_err *e)
{
    double rate = r->s->cfg.register_rate;
    if (rate <= 0)
        return 0;
    srv_bucket *b = srv_bucket_map_get(&r->s->registrations, r->c->addr);
    if (!b)
        return srv_refuse(e, CHAT_ERR_INTERNAL, "out of memory");
    int wait = srv_bucket_take(b, rate / 60.0, rate, srv_now_us());
    if (!wait)
        return 0;
    srv_refuse(e, CHAT_ERR_RATE_LIMITED, "too many registrations from your address; retry in %d s",
               wait);
    e->extra_key = "retry_after";
    e->extra = wait;
    return -1;
}

static int h_register(req_ctx *r, srv_err *e)
{
    const char *name = NULL;
    mls_bytes key, sig, nonce;
    uint64_t suite, ts;
    srv_user u;
    if (get_str(r, r->req, "username", &name, e) || get_u64(r->req, "cipher_suite", 1, 0, &suite, e) ||
        get_b64(r, r->req, "signature_key", &key, e) || get_b64(r, r->req, "signature", &sig, e) ||
        check_challenge(r, &nonce, &ts, e))
        return -1;
    if (suite > 0xffff || !mls_suite_supported((uint16_t)suite))
        return srv_refuse(e, CHAT_ERR_UNSUPPORTED_SUITE, "cipher suite %llu is not supported",
                          (unsigned long long)suite);
    if (!srv_auth_key_ok((uint16_t)suite, key))
        return srv_refuse(e, CHAT_ERR_BAD_KEY, "signature key has the wrong length for the suite");
    srv_auth_claim claim = {chat_req_name(CHAT_REQ_REGISTER), nonce, ts, name, (uint16_t)suite,
                            key};
    if (srv_auth_verify(&claim, sig))
        return srv_refuse(e, CHAT_ERR_BAD_SIGNATURE, "signature does not verify with this key");
    if (register_admit(r, e) || srv_logic_register(r->L, name, (uint16_t)suite, key, &u, e))
        return -1;
    become(r->s, r->c, &u);
    srv_user_json(r->resp, &u);
    return 0;
}

static int h_login(req_ctx *r, srv_err *e)
{
    const char *name = NULL;
    mls_bytes sig, nonce;
    uint64_t ts;
    srv_user u;
    if (get_str(r, r->req, "username", &name, e) || get_b64(r, r->req, "signature", &sig, e) ||
        check_challenge(r, &nonce, &ts, e))
        return -1;
    if (srv_logic_login_user(r->L, name, &u, e))
        return -1;
    /* The signature check runs beside the loop when it can (verifier.h);
     * srv_logins_poll answers. */
    if (r->s->verifier.running) {
        srv_verify_job *j = srv_verify_job_new(&u, nonce.p, ts, sig);
        if (!j)
            return srv_refuse(e, CHAT_ERR_INTERNAL, "out of memory");
        j->conn = r->c;
        j->req_id = r->id;
        j->t0_us = r->t0_us;
        r->c->verifying = 1;
        r->c->verify_job = j;
        srv_verifier_submit(&r->s->verifier, j);
        r->deferred = 1;
        return 0;
    }
    srv_auth_claim claim = {chat_req_name(CHAT_REQ_LOGIN), nonce, ts, name, u.suite,
                            mls_bytes_of(u.key, u.key_len)};
    if (srv_auth_verify(&claim, sig))
        return srv_refuse(e, CHAT_ERR_BAD_SIGNATURE, "signature does not verify with %s's key", name);
    become(r->s, r->c, &u);
    srv_user_json(r->resp, &u);
    return 0;
}

/* ------------------------------------------------------------ requests */

static int h_ping(req_ctx *r, srv_err *e)
{
    (void)e;
    set_int(r->resp, "time", srv_time());
    return 0;
}

static int h_user_lookup(req_ctx *r, srv_err *e)
{
    srv_user u;
    json_t *idv = json_object_get(r->req, "user_id");
    const char *name = NULL;
    if (idv && !json_is_integer(idv))
        return srv_refuse(e, CHAT_ERR_BAD_REQUEST, "field 'user_id' must be an integer");
    if (!idv && get_str(r, r->req, "username", &name, e))
        return -1;
    if (srv_logic_user_lookup(r->L, name, idv ? json_integer_value(idv) : 0, &u, e))
        return -1;
    srv_user_json(r->resp, &u);
    return 0;
}

static int h_user_rename(req_ctx *r, srv_err *e)
{
    const char *name = NULL;
    if (get_str(r, r->req, "username", &name, e) || srv_logic_rename(r->L, r->caller, name, e))
        return -1;
    snprintf(r->c->username, sizeof r->c->username, "%s", name);
    set_int(r->resp, "user_id", r->user.id);
    set_str(r->resp, "username", r->user.name);
    return 0;
}

static int kp_status(req_ctx *r, srv_err *e)
{
    int64_t count = 0;
    int lr = 0;
    if (srv_logic_kp_status(r->L, r->caller, &count, &lr, e))
        return -1;
    set_int(r->resp, "count", count);
    json_object_set_new(r->resp, "last_resort", json_boolean(lr));
    set_int(r->resp, "low_water", LOW_WATER);
    return 0;
}

static int h_kp_upload(req_ctx *r, srv_err *e)
{
    json_t *arr = json_object_get(r->req, "key_packages");
    json_t *lr = json_object_get(r->req, "last_resort");
    mls_bytes kps[MAX_BATCH];
    if (!json_is_array(arr))
        return srv_refuse(e, CHAT_ERR_BAD_REQUEST, "field 'key_packages' must be an array");
    if (lr && !json_is_boolean(lr))
        return srv_refuse(e, CHAT_ERR_BAD_REQUEST, "field 'last_resort' must be a boolean");
    size_t n = json_array_size(arr);
    if (n > MAX_BATCH)
        return srv_refuse(e, CHAT_ERR_TOO_LARGE, "at most %d KeyPackages per upload", MAX_BATCH);
    for (size_t i = 0; i < n; i++)
        if (decode_b64(r, json_array_get(arr, i), "key_packages", &kps[i], e))
            return -1;
    if (srv_logic_kp_upload(r->L, r->caller, kps, n, json_is_true(lr), e))
        return -1;
    set_int(r->resp, "stored", (int64_t)n);
    return kp_status(r, e);
}

static int h_kp_count(req_ctx *r, srv_err *e)
{
    return kp_status(r, e);
}

static int h_kp_claim(req_ctx *r, srv_err *e)
{
    const char *name = NULL;
    srv_user target;
    mls_buf kp;
    int lr = 0;
    mls_buf_init(&kp);
    int rc = get_str(r, r->req, "username", &name, e);
    if (!rc)
        rc = srv_logic_kp_claim(r->L, r->caller, r->c->ustate ? &r->c->ustate->claims : NULL,
                                name, &target, &kp, &lr, e);
    if (!rc) {
        set_str(r->resp, "username", target.name);
        set_int(r->resp, "user_id", target.id);
        set_b64(r->resp, "key_package", mls_buf_view(&kp));
        json_object_set_new(r->resp, "last_resort", json_boolean(lr));
    }
    mls_buf_clear(&kp);
    return rc;
}

static void group_json(json_t *o, const srv_group *g, const char *admin)
{
    set_str(o, "name", g->name);
    set_b64(o, "group_id", mls_bytes_of(g->gid, g->gid_len));
    set_int(o, "epoch", (int64_t)g->epoch);
    if (admin)
        set_str(o, "admin", admin);
    set_int(o, "last_seq", (int64_t)g->last_seq);
}

static int h_group_create(req_ctx *r, srv_err *e)
{
    const char *name = NULL;
    mls_bytes gid, gi;
    uint64_t epoch;
    srv_group g;
    if (get_str(r, r->req, "name", &name, e) || get_b64(r, r->req, "group_id", &gid, e) ||
        get_u64(r->req, "epoch", 0, 0, &epoch, e) || get_b64(r, r->req, "group_info", &gi, e) ||
        srv_logic_group_create(r->L, r->caller, name, gid, epoch, gi, &g, e))
        return -1;
    group_json(r->resp, &g, r->user.name);
    return 0;
}

static const char *role_name(enum srv_role role)
{
    return chat_role_name(role == SRV_ROLE_ADMIN ? CHAT_ROLE_ADMIN : CHAT_ROLE_MEMBER);
}

static int h_group_info(req_ctx *r, srv_err *e)
{
    srv_group_view v;
    const char *name = NULL;
    mls_bytes gid = {NULL, 0};
    if (json_object_get(r->req, "group_id")) {
        if (get_b64(r, r->req, "group_id", &gid, e))
            return -1;
    } else if (get_str(r, r->req, "name", &name, e)) {
        return -1;
    }
    srv_group_view_init(&v);
    int rc = srv_logic_group_info(r->L, r->caller, name, gid, &v, e);
    if (!rc) {
        /* Logic decided what the caller may see; this only writes it. */
        json_object_set_new(r->resp, "exists", json_boolean(v.exists));
        if (v.exists)
            json_object_set_new(r->resp, "member", json_boolean(v.member));
        if (v.member) {
            group_json(r->resp, &v.group, v.admin);
            set_int(r->resp, "first_seq", (int64_t)v.first_seq);
            json_t *list = json_array();
            set_str(r->resp, "role", role_name(v.role));
            json_object_set_new(r->resp, "members", list);
            for (size_t i = 0; i < v.n_members; i++) {
                json_t *o = json_object();
                set_str(o, "username", v.members[i].username);
                set_int(o, "user_id", v.members[i].user_id);
                set_str(o, "role", role_name(v.members[i].role));
                json_array_append_new(list, o);
            }
            if (v.has_group_info)
                set_b64(r->resp, "group_info", mls_buf_view(&v.group_info));
        }
    }
    srv_group_view_clear(&v);
    return rc;
}

static int group_list_item(void *ctx, const srv_group *g, const srv_member *m)
{
    json_t *o = json_object();
    group_json(o, g, NULL);
    set_str(o, "role", role_name(m->role));
    return json_array_append_new(ctx, o) ? SRV_STORE_ERR : 0;
}

static int h_group_list(req_ctx *r, srv_err *e)
{
    json_t *list = json_array();
    json_object_set_new(r->resp, "groups", list);
    return srv_logic_group_list(r->L, r->caller, group_list_item, list, e);
}

static int h_group_commit(req_ctx *r, srv_err *e)
{
    srv_commit_req cr;
    srv_welcome_req *w = NULL;
    uint64_t seq = 0, epoch = 0;
    size_t invited = 0;
    int rc = -1, dup = 0;
    memset(&cr, 0, sizeof cr);
    json_t *wl = json_object_get(r->req, "welcomes");
    if (get_str(r, r->req, "group", &cr.group, e) || get_u64(r->req, "epoch", 1, 0, &cr.epoch, e) ||
        get_b64(r, r->req, "commit", &cr.commit, e) || get_msg_id(r, &cr.msg_id, e))
        goto out;
    /* Epochs are stored as SQLite integers (below 2^63): the last one has
     * no successor, so no commit can start from it. */
    if (cr.epoch >= (uint64_t)INT64_MAX) {
        srv_refuse(e, CHAT_ERR_OUT_OF_RANGE, "epoch %llu has no successor below 2^63",
                   (unsigned long long)cr.epoch);
        goto out;
    }
    if (json_object_get(r->req, "group_info") &&
        get_b64(r, r->req, "group_info", &cr.group_info, e))
        goto out;
    if (wl && (!json_is_array(wl) || json_array_size(wl) > MAX_BATCH)) {
        srv_refuse(e, CHAT_ERR_BAD_REQUEST, "field 'welcomes' must be an array of at most %d", MAX_BATCH);
        goto out;
    }
    cr.n_welcomes = wl ? json_array_size(wl) : 0;
    w = calloc(cr.n_welcomes + 1, sizeof *w);
    if (!w) {
        srv_refuse(e, CHAT_ERR_INTERNAL, "out of memory");
        goto out;
    }
    cr.welcomes = w;
    for (size_t i = 0; i < cr.n_welcomes; i++) {
        json_t *item = json_array_get(wl, i);
        if (!json_is_object(item)) {
            srv_refuse(e, CHAT_ERR_BAD_REQUEST, "each welcome is an object");
            goto out;
        }
        if (get_b64(r, item, "welcome", &w[i].welcome, e) ||
            get_names(item, "recipients", &w[i].recipients, &w[i].n_recipients, e))
            goto out;
        /* The invitation rate counts the Welcome's recipients (its
         * KeyPackageRefs); a malformed Welcome is refused by logic. */
        mls_message_info wi;
        invited += mls_message_inspect(w[i].welcome, &wi) == MLS_OK ? wi.n_recipients : 0;
    }
    if (srv_logic_invite_admit(r->L, r->c->ustate ? &r->c->ustate->invites : NULL, invited, e))
        goto out;
    rc = srv_logic_commit(r->L, r->caller, &cr, &seq, &epoch, &dup, e);
    if (!rc) {
        set_int(r->resp, "seq", (int64_t)seq);
        set_int(r->resp, "epoch", (int64_t)epoch);
        if (dup)
            json_object_set_new(r->resp, "duplicate", json_true());
    }
out:
    for (size_t i = 0; w && i < cr.n_welcomes; i++)
        free(w[i].recipients);
    free(w);
    return rc;
}

static int h_group_send(req_ctx *r, srv_err *e)
{
    const char *group = NULL;
    mls_bytes msg, msg_id;
    uint64_t seq = 0, epoch = 0;
    int dup = 0;
    if (get_str(r, r->req, "group", &group, e) || get_b64(r, r->req, "message", &msg, e) ||
        get_msg_id(r, &msg_id, e) ||
        srv_logic_send(r->L, r->caller, group, msg, msg_id, &seq, &epoch, &dup, e))
        return -1;
    set_int(r->resp, "seq", (int64_t)seq);
    set_int(r->resp, "epoch", (int64_t)epoch);
    if (dup)
        json_object_set_new(r->resp, "duplicate", json_true());
    return 0;
}

typedef struct fetch_ctx {
    const srv_group *g;
    srv_text *t;
    size_t n;
} fetch_ctx;

/* Each entry written into the page's text as the store reads it; one with
 * meta (a commit's) through jansson, which merges the meta's members. */
static int fetch_item(void *ctx, const srv_log_entry *e)
{
    fetch_ctx *f = ctx;
    if (f->n++ && srv_text_put(f->t, ",", 1))
        return SRV_STORE_ERR;
    if (!e->meta)
        return srv_text_log_entry(f->t, f->g, e) ? SRV_STORE_ERR : 0;
    char *text = dump(entry_json(f->g, e));
    int err = !text || srv_text_put(f->t, text, strlen(text));
    free(text);
    return err ? SRV_STORE_ERR : 0;
}

static int h_log_fetch(req_ctx *r, srv_err *e)
{
    const char *group = NULL;
    uint64_t after, limit, last = 0;
    srv_group g;
    int more = 0;
    if (get_str(r, r->req, "group", &group, e) || get_u64(r->req, "after", 0, 0, &after, e) ||
        get_u64(r->req, "limit", 0, FETCH_DEFAULT, &limit, e))
        return -1;
    if (limit < 1 || limit > FETCH_MAX)
        return srv_refuse(e, CHAT_ERR_BAD_REQUEST, "limit must be 1 to %d", FETCH_MAX);
    /* The group is filled in by logic before the first entry. */
    fetch_ctx f = {&g, &r->first, 0};
    static const char key[] = "{\"entries\":[";
    if (srv_text_put(&r->first, key, sizeof key - 1))
        return srv_refuse(e, CHAT_ERR_INTERNAL, "out of memory");
    if (srv_logic_fetch(r->L, r->caller, group, after, (int)limit, fetch_item, &f, &g, &last,
                        &more, e))
        return -1;
    if (srv_text_put(&r->first, "]", 1))
        return srv_refuse(e, CHAT_ERR_INTERNAL, "out of memory");
    set_int(r->resp, "last_seq", (int64_t)last);
    json_object_set_new(r->resp, "more", json_boolean(more));
    return 0;
}

static int inbox_item(void *ctx, const srv_inbox_entry *e)
{
    return json_array_append_new(ctx, inbox_json(e)) ? SRV_STORE_ERR : 0;
}

static int h_inbox_fetch(req_ctx *r, srv_err *e)
{
    uint64_t after, limit;
    int more = 0;
    if (get_u64(r->req, "after", 0, 0, &after, e) ||
        get_u64(r->req, "limit", 0, FETCH_DEFAULT, &limit, e))
        return -1;
    if (limit < 1 || limit > FETCH_MAX)
        return srv_refuse(e, CHAT_ERR_BAD_REQUEST, "limit must be 1 to %d", FETCH_MAX);
    json_t *list = json_array();
    json_object_set_new(r->resp, "entries", list);
    if (srv_logic_inbox_list(r->L, r->caller, (int64_t)after, (int)limit, inbox_item, list, &more,
                             e))
        return -1;
    json_object_set_new(r->resp, "more", json_boolean(more));
    return 0;
}

static int h_inbox_ack(req_ctx *r, srv_err *e)
{
    json_t *arr = json_object_get(r->req, "ids");
    int64_t ids[MAX_LIST], acked = 0;
    if (!json_is_array(arr) || json_array_size(arr) > MAX_LIST)
        return srv_refuse(e, CHAT_ERR_BAD_REQUEST, "field 'ids' must be an array of at most %d",
                          MAX_LIST);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_integer(v))
            return srv_refuse(e, CHAT_ERR_BAD_REQUEST, "field 'ids' must hold integers");
        ids[i] = json_integer_value(v);
    }
    if (srv_logic_inbox_ack(r->L, r->caller, ids, json_array_size(arr), &acked, e))
        return -1;
    set_int(r->resp, "acked", acked);
    return 0;
}

static int h_invite_pending(req_ctx *r, srv_err *e)
{
    const char *group = NULL, *username = NULL;
    return get_str(r, r->req, "group", &group, e) ||
                   get_str(r, r->req, "username", &username, e) ||
                   srv_logic_invite_pending(r->L, r->caller, group, username, e)
               ? -1
               : 0;
}

typedef struct invites_ctx {
    json_t *pending, *invited;
} invites_ctx;

static int invite_item(void *ctx, const srv_pending *p, int ready, int mine)
{
    invites_ctx *c = ctx;
    json_t *o = json_object();
    set_str(o, "group", p->group);
    set_str(o, "inviter", p->inviter);
    set_int(o, "time", p->time);
    if (!mine) {
        set_str(o, "username", p->username);
        json_object_set_new(o, "ready", json_boolean(ready));
    }
    return json_array_append_new(mine ? c->invited : c->pending, o) ? SRV_STORE_ERR : 0;
}

static int h_invite_list(req_ctx *r, srv_err *e)
{
    invites_ctx c = {json_array(), json_array()};
    json_object_set_new(r->resp, "pending", c.pending);
    json_object_set_new(r->resp, "invited", c.invited);
    return srv_logic_invite_list(r->L, r->caller, invite_item, &c, e);
}

/* ------------------------------------------------------------ dispatch */

/* One handler per request type; logic's access table (srv_logic_admit)
 * says who may call it. */
typedef int (*handler_fn)(req_ctx *r, srv_err *e);

static const handler_fn handlers[CHAT_REQ_COUNT] = {
    [CHAT_REQ_REGISTER] = h_register,         [CHAT_REQ_LOGIN] = h_login,
    [CHAT_REQ_PING] = h_ping,                 [CHAT_REQ_USER_LOOKUP] = h_user_lookup,
    [CHAT_REQ_USER_RENAME] = h_user_rename,   [CHAT_REQ_KP_UPLOAD] = h_kp_upload,
    [CHAT_REQ_KP_COUNT] = h_kp_count,         [CHAT_REQ_KP_CLAIM] = h_kp_claim,
    [CHAT_REQ_GROUP_CREATE] = h_group_create, [CHAT_REQ_GROUP_INFO] = h_group_info,
    [CHAT_REQ_GROUP_LIST] = h_group_list,     [CHAT_REQ_GROUP_COMMIT] = h_group_commit,
    [CHAT_REQ_GROUP_SEND] = h_group_send,     [CHAT_REQ_LOG_FETCH] = h_log_fetch,
    [CHAT_REQ_INBOX_FETCH] = h_inbox_fetch,   [CHAT_REQ_INBOX_ACK] = h_inbox_ack,
    [CHAT_REQ_INVITE_PENDING] = h_invite_pending, [CHAT_REQ_INVITE_LIST] = h_invite_list,
};

static char *error_text(int64_t id, enum chat_req type, const srv_err *e, const srv_conn *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", id < 0 ? json_null() : json_integer(id));
    if (type != CHAT_REQ_UNKNOWN)
        set_str(o, "type", chat_req_name(type));
    json_object_set_new(o, "ok", json_false());
    set_str(o, "error", chat_err_name(e->code));
    set_str(o, "message", e->message);
    if (e->extra_key)
        set_int(o, e->extra_key, e->extra);
    if (e->rule != CHAT_RULE_UNKNOWN)
        set_str(o, "rule", chat_rule_name(e->rule));
    /* A failed login or register consumed the challenge: offer a new one. */
    if (c && c->user_id == 0 && srv_logic_is_login(type))
        set_b64(o, "nonce", mls_bytes_of(c->nonce, sizeof c->nonce));
    return dump(o);
}

static int rate_check(srv *s, srv_conn *c, srv_err *e)
{
    int64_t now = srv_now_us();
    int wait = srv_bucket_take(&c->requests, s->cfg.rate, 2 * s->cfg.rate, now);
    if (!wait && c->ustate)
        wait = srv_bucket_take(&c->ustate->requests, s->cfg.user_rate, 2 * s->cfg.user_rate, now);
    if (!wait)
        return 0;
    srv_refuse(e, CHAT_ERR_RATE_LIMITED, "too many requests; retry in %d s", wait);
    e->extra_key = "retry_after";
    e->extra = wait;
    return -1;
}

/* Runs one handler inside its own change of the turn's transaction. */
static int run_handler(req_ctx *r, handler_fn fn, srv_err *e)
{
    const char *why = NULL;
    if (srv_batch_ensure(r->s))
        return srv_logic_health(r->L, &why)
                   ? srv_refuse(e, CHAT_ERR_UNAVAILABLE, "refusing writes: %s", why)
                   : srv_refuse(e, CHAT_ERR_INTERNAL, "%s", chat_err_text(CHAT_ERR_INTERNAL));
    r->s->batch_requests++;
    if (srv_logic_change_begin(r->L, e))
        return -1;
    int rc = 0;
    if (r->c->user_id) {
        rc = srv_logic_caller(r->L, r->c->user_id, &r->user, e);
        r->caller = &r->user;
    }
    if (!rc)
        rc = fn(r, e);
    srv_err end_err;
    if (srv_logic_change_end(r->L, rc == 0, &end_err) && rc == 0) {
        *e = end_err;
        rc = -1;
        srv_online_clear(r->s); /* as for a failed batch (online.c) */
    }
    return rc;
}

/* The answer's text: first ('{' and the handler's member), ',', then
 * out's members (out holds at least id, type and ok), appended to first
 * so that a page is not copied again.  Takes out and first's text. */
static char *put_first(char *out, srv_text *first)
{
    int err = srv_text_put(first, ",", 1) || srv_text_put(first, out + 1, strlen(out));
    free(out);
    if (err)
        return NULL;
    char *t = first->p;
    memset(first, 0, sizeof *first);
    return t;
}

void srv_handle_message(srv *s, srv_conn *c, const char *text, size_t len)
{
    if (c->verifying) {
        srv_later_push(c, text, len);
        return;
    }
    int64_t t0 = srv_now_us();
    req_ctx r;
    srv_err e = {CHAT_ERR_NONE, "", NULL, 0, CHAT_RULE_UNKNOWN};
    int64_t id = -1;
    enum chat_req type = CHAT_REQ_UNKNOWN;
    json_error_t jerr;
    memset(&r, 0, sizeof r);
    r.s = s;
    r.L = &s->logic;
    r.c = c;
    r.t0_us = t0;
    /* Most requests hold only plain values (json_plain.h). */
    r.req = chat_json_plain(text, len);
    if (!r.req)
        r.req = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    r.resp = json_object();
    int rc;
    if (!json_is_object(r.req)) {
        rc = srv_refuse(&e, CHAT_ERR_BAD_JSON, "not a JSON object: %s",
                        r.req ? "wrong type" : jerr.text);
    } else {
        json_t *idv = json_object_get(r.req, "id");
        json_t *tv = json_object_get(r.req, "type");
        if (json_is_integer(idv) && json_integer_value(idv) >= 0)
            id = json_integer_value(idv);
        if (json_is_string(tv))
            type = chat_req_from_string(json_string_value(tv));
        if (!json_is_integer(idv) || id < 0)
            rc = srv_refuse(&e, CHAT_ERR_BAD_REQUEST, "field 'id' must be a non-negative integer");
        else if (!json_is_string(tv))
            rc = srv_refuse(&e, CHAT_ERR_BAD_REQUEST, "field 'type' must be a string");
        else if (type == CHAT_REQ_UNKNOWN || !handlers[type])
            rc = srv_refuse(&e, CHAT_ERR_UNKNOWN_TYPE, "unknown request type '%s'",
                            json_string_value(tv));
        else if (rate_check(s, c, &e) || srv_logic_admit(type, c->user_id != 0, &e))
            rc = -1;
        else {
            r.id = id;
            rc = run_handler(&r, handlers[type], &e);
        }
    }
    if (r.deferred && rc == 0) {
        json_decref(r.resp);
        goto done;
    }
    if (rc && srv_logic_is_login(type) && !c->user_id && c->nonce_time == 0)
        new_challenge(c);
    char *out;
    if (rc) {
        srv_metrics_refused(chat_err_name(e.code));
        out = error_text(id, type, &e, c);
        json_decref(r.resp);
        srv_log(SRV_LOG_DEBUG, "refused %s: %s: %s", type ? chat_req_name(type) : "?",
                chat_err_name(e.code), e.message);
    } else {
        json_object_set_new(r.resp, "id", json_integer(id));
        set_str(r.resp, "type", chat_req_name(type));
        json_object_set_new(r.resp, "ok", json_true());
        out = dump(r.resp);
        if (out && r.first.n)
            out = put_first(out, &r.first);
    }
    if (out)
        srv_hold(s, c, out, 1, id, type ? chat_req_name(type) : "invalid", t0);
done:
    for (size_t i = 0; i < r.n_bufs; i++)
        mls_buf_clear(&r.bufs[i]);
    free(r.first.p);
    json_decref(r.req);
}

/* The answer to a login the verifier thread checked, as h_login and
 * srv_handle_message give it when they check it themselves. */
static void login_finish(srv *s, srv_conn *c, const srv_verify_job *j)
{
    char *out;
    if (j->result) {
        srv_err e = {CHAT_ERR_NONE, "", NULL, 0, CHAT_RULE_UNKNOWN};
        srv_refuse(&e, CHAT_ERR_BAD_SIGNATURE, "signature does not verify with %s's key",
                   j->user.name);
        srv_metrics_refused(chat_err_name(e.code));
        if (c->nonce_time == 0)
            new_challenge(c);
        out = error_text(j->req_id, CHAT_REQ_LOGIN, &e, c);
    } else {
        become(s, c, &j->user);
        json_t *o = json_object();
        srv_user_json(o, &j->user);
        json_object_set_new(o, "id", json_integer(j->req_id));
        set_str(o, "type", chat_req_name(CHAT_REQ_LOGIN));
        json_object_set_new(o, "ok", json_true());
        out = dump(o);
    }
    if (out)
        srv_hold(s, c, out, 1, j->req_id, chat_req_name(CHAT_REQ_LOGIN), j->t0_us);
}

void srv_logins_poll(srv *s)
{
    srv_verify_job *j = srv_verifier_take(&s->verifier);
    while (j) {
        srv_verify_job *next = j->next;
        srv_conn *c = j->conn;
        if (c) {
            c->verifying = 0;
            c->verify_job = NULL;
            if (!c->close_after_flush)
                login_finish(s, c, j);
            /* What it sent meanwhile, in order; a second login among it
             * waits again, and what follows it with it. */
            srv_queued *p = c->later_head;
            c->later_head = c->later_tail = NULL;
            while (p) {
                srv_queued *after = p->next;
                c->n_later--;
                c->later_bytes -= p->len;
                if (!c->close_after_flush)
                    srv_submit_message(s, c, p->text, p->len);
                free(p);
                p = after;
            }
            srv_rx_update(c);
        }
        srv_verify_job_free(j);
        j = next;
    }
}

void srv_logins_start(srv *s, void (*wake)(void *ctx), void *ctx)
{
    if (srv_verifier_start(&s->verifier, wake, ctx))
        srv_log(SRV_LOG_WARN, "no verifier thread: login signatures are checked on the loop");
}

void srv_logins_stop(srv *s)
{
    srv_verify_job *j = srv_verifier_stop(&s->verifier);
    while (j) {
        srv_verify_job *next = j->next;
        if (j->conn) {
            j->conn->verifying = 0;
            j->conn->verify_job = NULL;
        }
        srv_verify_job_free(j);
        j = next;
    }
}

void srv_logins_forget(srv_conn *c)
{
    if (c->verify_job)
        c->verify_job->conn = NULL;
    c->verify_job = NULL;
    c->verifying = 0;
    while (c->later_head) {
        srv_queued *p = c->later_head;
        c->later_head = p->next;
        free(p);
    }
    c->later_tail = NULL;
    c->n_later = 0;
    c->later_bytes = 0;
}

void srv_handle_refusal(srv *s, srv_conn *c, enum chat_err code, const char *message)
{
    srv_err e = {code, "", NULL, 0, CHAT_RULE_UNKNOWN};
    snprintf(e.message, sizeof e.message, "%s", message);
    srv_metrics_refused(chat_err_name(code));
    char *out = error_text(-1, CHAT_REQ_UNKNOWN, &e, NULL);
    if (out)
        srv_hold(s, c, out, 1, -1, "invalid", srv_now_us());
}

void srv_handle_purge(srv *s)
{
    srv_purge_counts pc = {0, 0, 0};
    if (srv_batch_ensure(s) || srv_logic_purge(&s->logic, &pc))
        return;
    if (pc.log_entries || pc.key_packages || pc.inbox_entries)
        srv_log(SRV_LOG_INFO, "purged %lld log entries, %lld KeyPackages, %lld inbox entries",
                (long long)pc.log_entries, (long long)pc.key_packages,
                (long long)pc.inbox_entries);
}

void srv_handlers_init(srv *s, srv_store *store)
{
    srv_logic *L = &s->logic;
    memset(L, 0, sizeof *L);
    L->store = store;
    L->limits.claim_rate = s->cfg.claim_rate;
    L->limits.retention = s->cfg.retention;
    L->limits.kp_ttl = s->cfg.kp_ttl;
    L->limits.name_reserve = s->cfg.name_reserve;
    L->limits.claim_target_rate = s->cfg.claim_target_rate;
    L->limits.last_resort_rate = s->cfg.last_resort_rate;
    L->limits.invite_rate = s->cfg.invite_rate;
    L->limits.inbox_max = s->cfg.inbox_max;
    L->limits.inbox_max_bytes = s->cfg.inbox_max_bytes;
    L->limits.inbox_ttl = s->cfg.inbox_ttl;
    L->limits.page_bytes = (size_t)s->cfg.page_bytes;
    L->clock = srv_clock_system();
    L->sink.on_log = push_log;
    L->sink.on_inbox = push_inbox;
    L->sink.on_invite = push_invite;
    L->sink.ctx = s;
}
