/* The JSON protocol, client side.  See protocol.h and docs/PROTOCOL.md.
 * Request types, error codes, events and log kinds come from the shared
 * lists of src/common/proto.h, AuthContent from auth_content.h; the field
 * names of the messages are written here only. */
#include "protocol.h"

#include <stdlib.h>
#include <string.h>

#include "auth_content.h"
#include "proto.h"
#include "util.h"

/* A request with its type (the shared list's word). */
static json_t *request(enum chat_req type)
{
    return json_pack("{s:s}", "type", chat_req_name(type));
}

/* The server's codes are the shared list's (src/common/proto.h); this
 * table only pairs them with the client's enum, in its order. */
static const enum chat_err perr_codes[] = {
    CHAT_ERR_NONE,
    CHAT_ERR_BAD_JSON,
    CHAT_ERR_BAD_REQUEST,
    CHAT_ERR_UNKNOWN_TYPE,
    CHAT_ERR_BAD_BASE64,
    CHAT_ERR_TOO_LARGE,
    CHAT_ERR_RATE_LIMITED,
    CHAT_ERR_TOO_MANY_CONNECTIONS,
    CHAT_ERR_UNAUTHENTICATED,
    CHAT_ERR_ALREADY_AUTHENTICATED,
    CHAT_ERR_BAD_CHALLENGE,
    CHAT_ERR_REPLAY,
    CHAT_ERR_CHALLENGE_EXPIRED,
    CHAT_ERR_BAD_TIMESTAMP,
    CHAT_ERR_BAD_SIGNATURE,
    CHAT_ERR_BAD_USERNAME,
    CHAT_ERR_USERNAME_TAKEN,
    CHAT_ERR_UNKNOWN_USER,
    CHAT_ERR_UNSUPPORTED_SUITE,
    CHAT_ERR_BAD_KEY,
    CHAT_ERR_MALFORMED_MLS,
    CHAT_ERR_INVALID_KEY_PACKAGE,
    CHAT_ERR_NO_KEY_PACKAGE,
    CHAT_ERR_BAD_GROUP_NAME,
    CHAT_ERR_GROUP_EXISTS,
    CHAT_ERR_UNKNOWN_GROUP,
    CHAT_ERR_NOT_MEMBER,
    CHAT_ERR_FORBIDDEN,
    CHAT_ERR_WRONG_GROUP,
    CHAT_ERR_STALE_EPOCH,
    CHAT_ERR_WRONG_EPOCH,
    CHAT_ERR_BAD_ROSTER,
    CHAT_ERR_CURSOR_EXPIRED,
    CHAT_ERR_UNAVAILABLE,
    CHAT_ERR_INTERNAL,
};
_Static_assert(sizeof perr_codes / sizeof perr_codes[0] == CLI_PERR_UNKNOWN,
               "one shared code per server error of enum cli_perr");

const char *cli_perr_name(enum cli_perr e)
{
    if ((size_t)e < sizeof perr_codes / sizeof perr_codes[0])
        return chat_err_name(perr_codes[e]);
    switch (e) {
    case CLI_PERR_DISCONNECTED:
        return "disconnected";
    case CLI_PERR_MALFORMED:
        return "malformed reply";
    default:
        return "error";
    }
}

enum cli_perr cli_perr_parse(const char *code)
{
    enum chat_err c = chat_err_from_string(code);
    size_t i;
    for (i = CLI_PERR_OK + 1; i < sizeof perr_codes / sizeof perr_codes[0]; i++)
        if (perr_codes[i] == c)
            return (enum cli_perr)i;
    return CLI_PERR_UNKNOWN;
}

int cli_perr_temporary(enum cli_perr e)
{
    return e == CLI_PERR_RATE_LIMITED || e == CLI_PERR_INTERNAL || e == CLI_PERR_UNAVAILABLE;
}

/* ---------------------------------------------------------------- readers */

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* An integer field: 0 and *v, 1 when absent, -1 when of another type. */
static int jint(json_t *o, const char *k, int64_t *v)
{
    json_t *x = json_object_get(o, k);
    if (!x)
        return 1;
    if (!json_is_integer(x))
        return -1;
    *v = (int64_t)json_integer_value(x);
    return 0;
}

/* A boolean field: 1, 0, or -1 when absent or of another type. */
static int jbool(json_t *o, const char *k)
{
    json_t *x = json_object_get(o, k);
    if (!json_is_boolean(x))
        return -1;
    return json_is_true(x);
}

/* A base64 field into out: 0, 1 when absent, -1 when malformed. */
static int jb64(json_t *o, const char *k, mls_buf *out)
{
    json_t *x = json_object_get(o, k);
    if (!x)
        return 1;
    if (!json_is_string(x) || cli_b64_decode(json_string_value(x), out) != 0)
        return -1;
    return 0;
}

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

/* req with a string field added; NULL (req freed) when out of memory. */
static json_t *with_str(json_t *req, const char *key, const char *value)
{
    if (req && json_object_set_new(req, key, json_string(value)) != 0) {
        json_decref(req);
        return NULL;
    }
    return req;
}

/* An ok reply: an object with "ok": true. */
static int is_ok(json_t *reply)
{
    return json_is_object(reply) && json_is_true(json_object_get(reply, "ok"));
}

void cli_proto_reply(json_t *reply, struct cli_reply *out)
{
    json_t *ok;
    memset(out, 0, sizeof *out);
    out->current_epoch = -1;
    if (!reply) {
        out->err = CLI_PERR_DISCONNECTED;
        out->message = cli_perr_name(out->err);
        return;
    }
    ok = json_object_get(reply, "ok");
    if (!json_is_object(reply) || !json_is_boolean(ok)) {
        out->err = CLI_PERR_MALFORMED;
        out->message = cli_perr_name(out->err);
        return;
    }
    if (json_is_true(ok)) {
        out->ok = 1;
        out->message = cli_perr_name(CLI_PERR_OK);
        return;
    }
    out->err = jstr(reply, "error") ? cli_perr_parse(jstr(reply, "error")) : CLI_PERR_MALFORMED;
    out->message = jstr(reply, "message") ? jstr(reply, "message")
                   : jstr(reply, "error") ? jstr(reply, "error")
                                          : cli_perr_name(out->err);
    if (jint(reply, "retry_after", &out->retry_after) != 0 || out->retry_after < 0)
        out->retry_after = 0;
    if (jint(reply, "current_epoch", &out->current_epoch) != 0)
        out->current_epoch = -1;
    if (jint(reply, "server_time", &out->server_time) != 0 || out->server_time < 0)
        out->server_time = 0;
    out->nonce = jstr(reply, "nonce");
}

/* ---------------------------------------------------------------- requests */

const char *cli_proto_auth_label(void)
{
    return CHAT_AUTH_LABEL;
}

int cli_proto_auth_content(int registering, mls_bytes nonce, uint64_t timestamp,
                           const char *username, uint16_t suite, mls_bytes signature_key,
                           mls_buf *out)
{
    chat_auth_content c;
    c.action = chat_req_name(registering ? CHAT_REQ_REGISTER : CHAT_REQ_LOGIN);
    c.nonce = nonce;
    c.timestamp = timestamp;
    c.username = username;
    c.suite = suite;
    c.sig_key = signature_key;
    mls_buf_reset(out);
    /* PROTOCOL.md §3: struct AuthContent, encoded as the server checks it. */
    return chat_auth_content_encode(&c, out) == MLS_OK ? 0 : -1;
}

json_t *cli_proto_auth(int registering, const char *username, const char *nonce_b64,
                       uint64_t timestamp, mls_bytes signature, uint16_t suite,
                       mls_bytes signature_key)
{
    json_t *req = request(registering ? CHAT_REQ_REGISTER : CHAT_REQ_LOGIN);
    if (!req || json_object_set_new(req, "username", json_string(username)) != 0 ||
        json_object_set_new(req, "nonce", json_string(nonce_b64)) != 0 ||
        json_object_set_new(req, "timestamp", json_integer((json_int_t)timestamp)) != 0 ||
        jset_b64(req, "signature", signature) != 0)
        goto fail;
    if (registering && (json_object_set_new(req, "cipher_suite", json_integer(suite)) != 0 ||
                        jset_b64(req, "signature_key", signature_key) != 0))
        goto fail;
    return req;
fail:
    json_decref(req);
    return NULL;
}

json_t *cli_proto_kp_count(void)
{
    return request(CHAT_REQ_KP_COUNT);
}

json_t *cli_proto_kp_upload(const mls_bytes *key_packages, size_t n, int last_resort)
{
    json_t *arr = json_array(), *req = NULL;
    size_t i;
    if (!arr)
        return NULL;
    for (i = 0; i < n; i++) {
        char *t = cli_b64_encode(key_packages[i].p, key_packages[i].n);
        if (!t || json_array_append_new(arr, json_string(t)) != 0) {
            free(t);
            goto out;
        }
        free(t);
    }
    req = request(CHAT_REQ_KP_UPLOAD);
    if (req && (json_object_set(req, "key_packages", arr) != 0 ||
                json_object_set_new(req, "last_resort", json_boolean(last_resort)) != 0)) {
        json_decref(req);
        req = NULL;
    }
out:
    json_decref(arr);
    return req;
}

json_t *cli_proto_kp_claim(const char *username)
{
    return with_str(request(CHAT_REQ_KP_CLAIM), "username", username);
}

json_t *cli_proto_user_lookup(const char *username)
{
    return with_str(request(CHAT_REQ_USER_LOOKUP), "username", username);
}

json_t *cli_proto_user_rename(const char *username)
{
    return with_str(request(CHAT_REQ_USER_RENAME), "username", username);
}

json_t *cli_proto_group_create(const char *name, mls_bytes group_id, mls_bytes group_info)
{
    json_t *req = with_str(request(CHAT_REQ_GROUP_CREATE), "name", name);
    if (req && (json_object_set_new(req, "epoch", json_integer(0)) != 0 ||
                jset_b64(req, "group_id", group_id) != 0 ||
                jset_b64(req, "group_info", group_info) != 0)) {
        json_decref(req);
        return NULL;
    }
    return req;
}

json_t *cli_proto_group_info(const char *name)
{
    return with_str(request(CHAT_REQ_GROUP_INFO), "name", name);
}

json_t *cli_proto_group_list(void)
{
    return request(CHAT_REQ_GROUP_LIST);
}

json_t *cli_proto_group_send(const char *group, mls_bytes message, mls_bytes msg_id)
{
    json_t *req = with_str(request(CHAT_REQ_GROUP_SEND), "group", group);
    if (req && (jset_b64(req, "message", message) != 0 ||
                (msg_id.n > 0 && jset_b64(req, "msg_id", msg_id) != 0))) {
        json_decref(req);
        return NULL;
    }
    return req;
}

json_t *cli_proto_group_commit(const char *group, uint64_t epoch, mls_bytes commit,
                               mls_bytes group_info, mls_bytes welcome)
{
    json_t *req = with_str(request(CHAT_REQ_GROUP_COMMIT), "group", group);
    json_t *w = NULL, *welcomes = NULL;
    if (!req || json_object_set_new(req, "epoch", json_integer((json_int_t)epoch)) != 0 ||
        jset_b64(req, "commit", commit) != 0 ||
        (group_info.n > 0 && jset_b64(req, "group_info", group_info) != 0))
        goto fail;
    if (welcome.n > 0) {
        /* PROTOCOL.md §7.4: the server derives the recipients from the
         * Welcome's KeyPackageRefs. */
        w = json_object();
        welcomes = json_array();
        if (!w || !welcomes || jset_b64(w, "welcome", welcome) != 0 ||
            json_array_append(welcomes, w) != 0 || json_object_set(req, "welcomes", welcomes) != 0)
            goto fail;
    }
    json_decref(w);
    json_decref(welcomes);
    return req;
fail:
    json_decref(w);
    json_decref(welcomes);
    json_decref(req);
    return NULL;
}

json_t *cli_proto_log_fetch(const char *group, int64_t after, int limit)
{
    json_t *req = with_str(request(CHAT_REQ_LOG_FETCH), "group", group);
    if (req && (json_object_set_new(req, "after", json_integer((json_int_t)after)) != 0 ||
                json_object_set_new(req, "limit", json_integer(limit)) != 0)) {
        json_decref(req);
        return NULL;
    }
    return req;
}

json_t *cli_proto_inbox_fetch(void)
{
    return request(CHAT_REQ_INBOX_FETCH);
}

json_t *cli_proto_inbox_ack(int64_t inbox_id)
{
    json_t *req = request(CHAT_REQ_INBOX_ACK);
    if (req && json_object_set_new(req, "ids", json_pack("[I]", (json_int_t)inbox_id)) != 0) {
        json_decref(req);
        return NULL;
    }
    return req;
}

/* ---------------------------------------------------------------- replies */

const char *cli_proto_auth_fingerprint(json_t *reply)
{
    const char *f = jstr(reply, "fingerprint");
    return f ? f : "?";
}

int cli_proto_kp_count_reply(json_t *reply, struct cli_kp_count *out)
{
    struct cli_kp_count r;
    int rc;
    if (!is_ok(reply))
        return -1;
    memset(&r, 0, sizeof r);
    r.low_water = 10;
    if (jint(reply, "count", &r.count) < 0 || (rc = jint(reply, "low_water", &r.low_water)) < 0)
        return -1;
    if (r.low_water < 1)
        r.low_water = 10;
    r.last_resort = jbool(reply, "last_resort") == 1;
    *out = r;
    return 0;
}

int cli_proto_kp_upload_reply(json_t *reply, struct cli_kp_upload *out)
{
    struct cli_kp_upload r;
    if (!is_ok(reply))
        return -1;
    memset(&r, 0, sizeof r);
    if (jint(reply, "stored", &r.stored) < 0 || jint(reply, "count", &r.count) < 0)
        return -1;
    r.last_resort = jbool(reply, "last_resort") == 1;
    *out = r;
    return 0;
}

int cli_proto_kp_claim_reply(json_t *reply, mls_buf *key_package)
{
    /* RFC 9420 §6: MLSMessage header, version mls10 (1), wire_format
     * mls_key_package (5), before the bare KeyPackage. */
    static const uint8_t hdr[4] = {0x00, 0x01, 0x00, 0x05};
    mls_buf bare;
    int rc = -1;
    mls_buf_init(&bare);
    if (!is_ok(reply) || jb64(reply, "key_package", &bare) != 0 || bare.n == 0)
        goto out;
    mls_buf_reset(key_package);
    if (mls_buf_append(key_package, hdr, sizeof hdr) != MLS_OK ||
        mls_buf_append(key_package, bare.p, bare.n) != MLS_OK)
        goto out;
    rc = 0;
out:
    mls_buf_clear(&bare);
    return rc;
}

int cli_proto_user_lookup_reply(json_t *reply, mls_buf *signature_key)
{
    if (!is_ok(reply) || jb64(reply, "signature_key", signature_key) != 0 ||
        signature_key->n == 0)
        return -1;
    return 0;
}

int cli_proto_group_create_reply(json_t *reply, int64_t *last_seq)
{
    int64_t v = 0;
    if (!is_ok(reply) || jint(reply, "last_seq", &v) < 0 || v < 0)
        return -1;
    *last_seq = v;
    return 0;
}

int cli_proto_group_info_reply(json_t *reply, struct cli_group_info_reply *out)
{
    int exists, member, gi, gid;
    if (!is_ok(reply))
        return -1;
    exists = jbool(reply, "exists");
    member = jbool(reply, "member");
    if (exists < 0)
        return -1;
    out->exists = exists;
    out->member = exists && member == 1;
    out->admin = jstr(reply, "admin");
    gi = jb64(reply, "group_info", &out->group_info);
    gid = jb64(reply, "group_id", &out->group_id);
    if (gi < 0 || gid < 0)
        return -1;
    out->has_group_info = gi == 0 && gid == 0;
    return 0;
}

size_t cli_proto_group_list_count(json_t *reply)
{
    return is_ok(reply) ? json_array_size(json_object_get(reply, "groups")) : 0;
}

const char *cli_proto_group_list_name(json_t *reply, size_t i)
{
    return jstr(json_array_get(json_object_get(reply, "groups"), i), "name");
}

int cli_proto_seq_reply(json_t *reply, int64_t *seq)
{
    int64_t v = 0;
    if (!is_ok(reply) || jint(reply, "seq", &v) != 0 || v < 1)
        return -1;
    *seq = v;
    return 0;
}

size_t cli_proto_entries_count(json_t *reply)
{
    return is_ok(reply) ? json_array_size(json_object_get(reply, "entries")) : 0;
}

json_t *cli_proto_entry_at(json_t *reply, size_t i)
{
    return json_array_get(json_object_get(reply, "entries"), i);
}

int cli_proto_fetch_more(json_t *reply)
{
    return jbool(reply, "more") == 1;
}

int cli_proto_log_entry(json_t *e, struct cli_log_entry *out)
{
    const char *kind;
    json_t *add;
    size_t i;

    out->group = jstr(e, "group");
    out->seq = -1;
    out->time = 0;
    out->kind = CLI_LOG_OTHER;
    out->kind_name = NULL;
    out->n_added = 0;
    mls_buf_reset(&out->message);
    if (!json_is_object(e) || jint(e, "seq", &out->seq) != 0 || out->seq < 1)
        return -1;
    if (jint(e, "time", &out->time) < 0)
        out->time = 0;
    out->sender = jstr(e, "sender");
    kind = jstr(e, "kind");
    if (!kind || jb64(e, "message", &out->message) != 0 || out->message.n == 0) {
        mls_buf_reset(&out->message);
        return 0; /* malformed: the caller skips it in order */
    }
    out->kind_name = kind;
    switch (chat_kind_from_string(kind)) {
    case CHAT_KIND_MESSAGE:
        out->kind = CLI_LOG_MESSAGE;
        break;
    case CHAT_KIND_COMMIT:
        out->kind = CLI_LOG_COMMIT;
        break;
    case CHAT_KIND_PROPOSAL:
        out->kind = CLI_LOG_PROPOSAL;
        break;
    default:
        break;
    }
    add = json_object_get(e, "add");
    for (i = 0; i < json_array_size(add) && out->n_added < CLI_LOG_MAX_ADD; i++) {
        const char *n = json_string_value(json_array_get(add, i));
        if (n)
            out->added[out->n_added++] = n;
    }
    return 0;
}

int cli_proto_inbox_entry(json_t *e, struct cli_inbox_entry *out)
{
    out->inbox_id = -1;
    out->seq = -1;
    out->group = jstr(e, "group");
    out->sender = jstr(e, "sender");
    if (!json_is_object(e) || jint(e, "inbox_id", &out->inbox_id) != 0)
        return -1;
    if (!out->group || jint(e, "seq", &out->seq) != 0 || out->seq < 0 ||
        jb64(e, "welcome", &out->welcome) != 0 || jb64(e, "group_id", &out->group_id) != 0)
        return -1;
    return 0;
}

/* ---------------------------------------------------------------- invitations */

json_t *cli_proto_invite_pending(const char *group, const char *username)
{
    return with_str(with_str(request(CHAT_REQ_INVITE_PENDING), "group", group), "username",
                    username);
}

json_t *cli_proto_invite_list(void)
{
    return request(CHAT_REQ_INVITE_LIST);
}

int cli_proto_invite_list_reply(json_t *reply, cli_invite_cb cb, void *ctx)
{
    static const char *const keys[2] = {"pending", "invited"};
    size_t k, i;
    for (k = 0; k < 2; k++) {
        json_t *arr = json_object_get(reply, keys[k]), *o;
        if (!json_is_array(arr))
            return -1;
        json_array_foreach(arr, i, o) {
            struct cli_invite inv;
            memset(&inv, 0, sizeof inv);
            inv.mine = (int)k;
            inv.group = jstr(o, "group");
            inv.inviter = jstr(o, "inviter");
            inv.username = jstr(o, "username");
            inv.ready = json_is_true(json_object_get(o, "ready"));
            if (!inv.group || !inv.inviter || (!inv.mine && !inv.username))
                return -1;
            cb(ctx, &inv);
        }
    }
    return 0;
}

const char *cli_proto_invite_event(json_t *ev, const char **username)
{
    *username = jstr(ev, "username");
    return *username ? jstr(ev, "group") : NULL;
}

/* ---------------------------------------------------------------- events */

enum cli_event_kind cli_proto_event(json_t *ev)
{
    switch (chat_event_from_string(jstr(ev, "event"))) {
    case CHAT_EVENT_CHALLENGE:
        return CLI_EVENT_CHALLENGE;
    case CHAT_EVENT_LOG:
        return CLI_EVENT_LOG;
    case CHAT_EVENT_INBOX:
        return CLI_EVENT_INBOX;
    case CHAT_EVENT_INVITE:
        return CLI_EVENT_INVITE;
    default:
        return CLI_EVENT_OTHER;
    }
}

const char *cli_proto_challenge_nonce(json_t *ev)
{
    return jstr(ev, "nonce");
}
