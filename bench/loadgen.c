#define _GNU_SOURCE /* memmem */
/*
 * The server's load generator (make bench-server): one thread, epoll, many
 * non-blocking WebSocket clients speaking docs/PROTOCOL.md with real
 * logins (RFC 9420 §5.1.2 SignWithLabel over the challenge through
 * libmls's mls_identity_sign) and real MLS groups: group.create carries
 * the GroupInfo of a libmls group with the chat's GroupContext extensions,
 * members are added by real commits of real KeyPackages (the server
 * validates handshake messages with its public view of the group).  The
 * application messages are not real PrivateMessages: the server reads
 * only their clear header (RFC 9420 §6.3: version, wire format, group_id,
 * epoch, content type) and checks that they decode completely, so random
 * bytes of a chat message's size framed as a PrivateMessage cost it
 * exactly what a real one does.
 *
 *   loadgen PORT ingest SENDERS SECONDS [IDLE]
 *       each sender in its own group, one group.send in flight at a time,
 *       IDLE further logged-in connections open and silent;
 *       prints "INGEST senders msgs_per_s p50_ms p99_ms"
 *   loadgen PORT fanout MEMBERS RATE SECONDS IDLE [SERVER_PID]
 *       one sender and MEMBERS receivers in one group, RATE msg/s; IDLE
 *       further logged-in connections stay open and silent; prints
 *       "IDLE n bytes_per_conn" (server RSS growth, needs SERVER_PID) and
 *       "FANOUT members idle p50_ms p99_ms received expected"
 *   loadgen PORT login N
 *       registers N users, closes them, then logs all N in again;
 *       prints "LOGIN n logins_per_s"
 *   With LOADGEN_CDF=FILE in the environment the latency percentiles
 *   0, 1, ..., 100 (and 99.9) go to FILE, "percentile ms" per line.
 *   loadgen verify N
 *       the single-core signature verification floor of the login's
 *       signature; prints "VERIFY verifies_per_s"
 *
 * The same frames work against bench/relay.c, the non-durable baseline.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth_content.h"
#include "b64.h"
#include "mls/group.h"

#define SUITE 1
/* A PrivateMessage of a short chat line: 16 bytes of encrypted sender data
 * and a 180-byte ciphertext (text, padding, AEAD tag). */
#define CIPHERTEXT_BYTES 180
/* Connections between connect() and their login's answer, at most. */
#define HANDSHAKES_MAX 256

typedef enum role { R_SENDER, R_MEMBER, R_IDLE, R_CREATOR } role;

typedef struct conn {
    int fd;
    role role;
    int index;
    int upgraded, logged_in, ready, closed, login_action;
    char name[40];
    mls_identity *id;
    EVP_PKEY *sk; /* id's signing key, imported once (see sign_auth) */
    uint8_t *in;
    size_t in_len, in_cap;
    uint8_t *out;
    size_t out_len, out_off, out_cap;
    int want_write;
    int64_t next_id;
    double sent_at; /* ingest: the request in flight */
    int64_t group_epoch;
    uint8_t group_id[64];
    size_t group_id_len;
    mls_group *group;        /* a creator's MLS group */
    mls_staged_commit *staged; /* its commit waiting for the server's ok */
} conn;

static const mls_env *env;
static int epfd, port;
static conn *conns;
static int n_conns, handshaking, next_to_open, n_logged_in, n_ready;
static char prefix[16];

/* Measurements. */
static double *lat;
static size_t n_lat, cap_lat;
static long acks;
static int measuring;
/* fanout: send time of the k-th message, seq of the first. */
static double *sent_times;
static long n_sent, seq_base = -1, received;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "loadgen: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void add_lat(double ms)
{
    if (n_lat == cap_lat) {
        cap_lat = cap_lat ? cap_lat * 2 : 65536;
        lat = realloc(lat, cap_lat * sizeof *lat);
        if (!lat)
            die("out of memory");
    }
    lat[n_lat++] = ms;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double p)
{
    if (!n_lat)
        return 0;
    qsort(lat, n_lat, sizeof *lat, cmp_double);
    size_t i = (size_t)(p * (double)(n_lat - 1) + 0.5);
    return lat[i];
}

/* ------------------------------------------------------------ bytes */

static void out_reserve(conn *c, size_t n)
{
    if (c->out_len + n <= c->out_cap)
        return;
    size_t cap = c->out_cap ? c->out_cap : 1024;
    while (cap < c->out_len + n)
        cap *= 2;
    c->out = realloc(c->out, cap);
    if (!c->out)
        die("out of memory");
    c->out_cap = cap;
}

static void want_write(conn *c, int on)
{
    if (c->want_write == on || c->closed)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0u), .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_write = on;
}

static void flush(conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            die("%s: write: %s", c->name, strerror(errno));
        }
        c->out_off += (size_t)n;
    }
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    want_write(c, c->out_len > 0);
}

/* A masked frame (RFC 6455 §5.2: every client frame is masked). */
static void send_frame(conn *c, int opcode, const void *p, size_t n)
{
    uint8_t head[14];
    size_t h = 0;
    head[h++] = (uint8_t)(0x80 | opcode);
    if (n < 126) {
        head[h++] = (uint8_t)(0x80 | n);
    } else if (n < 65536) {
        head[h++] = 0x80 | 126;
        head[h++] = (uint8_t)(n >> 8);
        head[h++] = (uint8_t)n;
    } else {
        head[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            head[h++] = (uint8_t)(n >> (8 * i));
    }
    uint32_t r = (uint32_t)rand();
    uint8_t mask[4] = {(uint8_t)r, (uint8_t)(r >> 8), (uint8_t)(r >> 16), (uint8_t)(r >> 24)};
    memcpy(head + h, mask, 4);
    h += 4;
    out_reserve(c, h + n);
    memcpy(c->out + c->out_len, head, h);
    uint8_t *d = c->out + c->out_len + h;
    for (size_t i = 0; i < n; i++)
        d[i] = ((const uint8_t *)p)[i] ^ mask[i & 3];
    c->out_len += h + n;
    flush(c);
}

static void send_json(conn *c, json_t *o)
{
    json_object_set_new(o, "id", json_integer(++c->next_id));
    char *t = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!t)
        die("json_dumps");
    send_frame(c, 1, t, strlen(t));
    free(t);
}

static void set_b64(json_t *o, const char *key, const uint8_t *p, size_t n)
{
    char *t = chat_b64_encode(p, n);
    if (!t)
        die("out of memory");
    json_object_set_new(o, key, json_string(t));
    free(t);
}

/* MLS encodings (RFC 9420 §2.1): minimal varint vectors, big-endian. */
static size_t put_vec(uint8_t *d, const uint8_t *p, size_t n)
{
    size_t h;
    if (n < 64) {
        d[0] = (uint8_t)n;
        h = 1;
    } else {
        d[0] = (uint8_t)(0x40 | (n >> 8));
        d[1] = (uint8_t)n;
        h = 2;
    }
    if (p)
        memcpy(d + h, p, n);
    else
        RAND_bytes(d + h, (int)n);
    return h + n;
}

static size_t put_u64(uint8_t *d, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        d[i] = (uint8_t)(v >> (56 - 8 * i));
    return 8;
}

/* RFC 9420 §6.3.1 PrivateMessage, content type application. */
static size_t private_message(uint8_t *d, const conn *c)
{
    size_t n = 0;
    d[n++] = 0, d[n++] = 1; /* mls10 */
    d[n++] = 0, d[n++] = 2; /* mls_private_message */
    n += put_vec(d + n, c->group_id, c->group_id_len);
    n += put_u64(d + n, (uint64_t)c->group_epoch);
    d[n++] = 1; /* application */
    n += put_vec(d + n, (const uint8_t *)"", 0);
    n += put_vec(d + n, NULL, 16);
    n += put_vec(d + n, NULL, CIPHERTEXT_BYTES);
    return n;
}

/* ------------------------------------------------------------ protocol */

static void send_group_send(conn *c)
{
    uint8_t msg[512], msg_id[16];
    size_t n = private_message(msg, c);
    RAND_bytes(msg_id, sizeof msg_id);
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string("group.send"));
    json_object_set_new(o, "group", json_string(c->name));
    set_b64(o, "message", msg, n);
    set_b64(o, "msg_id", msg_id, sizeof msg_id);
    c->sent_at = now_s();
    send_json(c, o);
}

/* The chat's GroupContext extensions (docs/PROTOCOL.md §7.1): 0xF000 the
 * group name, struct { opaque name<V>; }, and 0xF001 the administrators,
 * struct { opaque usernames<V><V>; }. */
static const uint16_t chat_exts[2] = {0xF000, 0xF001};

static void send_group_create(conn *c)
{
    uint8_t name_ext[128], inner[128], admins_ext[256];
    size_t nl = strnlen(c->name, sizeof c->name);
    if (nl > 63)
        die("name too long");
    size_t n1 = put_vec(name_ext, (const uint8_t *)c->name, nl);
    size_t ni = put_vec(inner, (const uint8_t *)c->name, nl);
    size_t n2 = put_vec(admins_ext, inner, ni);
    mls_ext exts[2] = {{chat_exts[0], mls_bytes_of(name_ext, n1)},
                       {chat_exts[1], mls_bytes_of(admins_ext, n2)}};
    mls_buf info;
    mls_buf_init(&info);
    if (mls_group_create(env, c->id, mls_bytes_of(NULL, 0), exts, 2, NULL, &c->group) ||
        mls_group_group_info(c->group, 1, &info))
        die("%s: cannot create the MLS group", c->name);
    mls_bytes gid = mls_group_id(c->group);
    if (gid.n > sizeof c->group_id)
        die("group id too long");
    memcpy(c->group_id, gid.p, gid.n);
    c->group_id_len = gid.n;
    c->group_epoch = 0;
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string("group.create"));
    json_object_set_new(o, "name", json_string(c->name));
    set_b64(o, "group_id", c->group_id, c->group_id_len);
    json_object_set_new(o, "epoch", json_integer(0));
    set_b64(o, "group_info", info.p, info.n);
    mls_buf_clear(&info);
    send_json(c, o);
}

/* Adds members [from, to) in one real commit (RFC 9420 §12.1.1) with one
 * Welcome; the creator merges it when the server accepted it. */
static void send_add_commit(conn *c, int from, int to)
{
    size_t n = (size_t)(to - from);
    mls_buf *kps = calloc(n, sizeof *kps);
    mls_bytes *views = calloc(n, sizeof *views);
    if (!kps || !views)
        die("out of memory");
    for (size_t i = 0; i < n; i++) {
        mls_buf bundle;
        mls_buf_init(&kps[i]);
        mls_buf_init(&bundle);
        if (mls_key_package_create(env, conns[from + (int)i].id, NULL, &kps[i], &bundle))
            die("key package");
        mls_buf_clear(&bundle);
        views[i] = mls_buf_view(&kps[i]);
    }
    if (mls_group_add_members(c->group, views, n, &c->staged))
        die("%s: cannot build the add commit", c->name);
    json_t *o = json_object(), *add = json_array(), *wl = json_array(), *w = json_object();
    json_object_set_new(o, "type", json_string("group.commit"));
    json_object_set_new(o, "group", json_string(c->name));
    json_object_set_new(o, "epoch", json_integer(c->group_epoch));
    mls_bytes m = mls_staged_commit_message(c->staged);
    set_b64(o, "commit", m.p, m.n);
    m = mls_staged_commit_group_info(c->staged);
    set_b64(o, "group_info", m.p, m.n);
    for (int i = from; i < to; i++)
        json_array_append_new(add, json_string(conns[i].name));
    /* Recipients and add as the first protocol version read them; the
     * validating server derives both from the commit and checks them. */
    json_object_set_new(w, "recipients", json_deep_copy(add));
    m = mls_staged_commit_welcome(c->staged);
    set_b64(w, "welcome", m.p, m.n);
    json_array_append_new(wl, w);
    json_object_set_new(o, "add", add);
    json_object_set_new(o, "welcomes", wl);
    send_json(c, o);
    for (size_t i = 0; i < n; i++)
        mls_buf_clear(&kps[i]);
    free(kps);
    free(views);
}

/* A QUIC-style variable-length vector length (RFC 9420 §2.1.2). */
static size_t put_varint(uint8_t *p, size_t n)
{
    if (n < 64) {
        p[0] = (uint8_t)n;
        return 1;
    }
    if (n < 16384) {
        p[0] = (uint8_t)(0x40 | (n >> 8));
        p[1] = (uint8_t)n;
        return 2;
    }
    p[0] = (uint8_t)(0x80 | (n >> 24));
    p[1] = (uint8_t)(n >> 16);
    p[2] = (uint8_t)(n >> 8);
    p[3] = (uint8_t)n;
    return 4;
}

/* SignWithLabel(sk, CHAT_AUTH_LABEL, content) (RFC 9420 §5.1.2) with the
 * connection's own EVP_PKEY.  mls_identity_sign would do the same, but
 * libmls caches the imported keys of a few identities only, so with
 * thousands of connections every signature re-imported its key (for
 * Ed25519 a scalar multiplication, as dear as the signature): the load
 * generator, on the same two cores as the server, then measured itself
 * in the logins benchmark. */
static void sign_auth(conn *c, mls_bytes content, mls_buf *sig)
{
    static const char prefix_label[] = "MLS 1.0 " CHAT_AUTH_LABEL;
    size_t ln = sizeof prefix_label - 1, tn = 0;
    uint8_t *tbs = malloc(ln + content.n + 8);
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    size_t len = 64;
    if (!tbs || !mctx || mls_buf_reserve(sig, len))
        die("out of memory");
    tn += put_varint(tbs + tn, ln);
    memcpy(tbs + tn, prefix_label, ln);
    tn += ln;
    tn += put_varint(tbs + tn, content.n);
    memcpy(tbs + tn, content.p, content.n);
    tn += content.n;
    if (EVP_DigestSignInit(mctx, NULL, NULL, NULL, c->sk) != 1 ||
        EVP_DigestSign(mctx, sig->p + sig->n, &len, tbs, tn) != 1)
        die("%s: signing failed", c->name);
    sig->n += len;
    EVP_MD_CTX_free(mctx);
    free(tbs);
}

static void answer_challenge(conn *c, json_t *ev)
{
    mls_buf nonce, content, sig;
    mls_buf_init(&nonce);
    mls_buf_init(&content);
    mls_buf_init(&sig);
    const char *nt = json_string_value(json_object_get(ev, "nonce"));
    if (!nt || chat_b64_decode(nt, strlen(nt), &nonce))
        die("%s: bad challenge", c->name);
    const char *action = c->login_action ? "login" : "register";
    mls_bytes key = mls_identity_signature_key(c->id);
    int64_t ts = json_integer_value(json_object_get(ev, "server_time"));
    chat_auth_content ac = {action, mls_buf_view(&nonce), (uint64_t)ts, c->name, SUITE, key};
    if (chat_auth_content_encode(&ac, &content))
        die("%s: signing failed", c->name);
    sign_auth(c, mls_buf_view(&content), &sig);
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(action));
    json_object_set_new(o, "username", json_string(c->name));
    if (!c->login_action) {
        json_object_set_new(o, "cipher_suite", json_integer(SUITE));
        set_b64(o, "signature_key", key.p, key.n);
    }
    set_b64(o, "nonce", nonce.p, nonce.n);
    json_object_set_new(o, "timestamp", json_integer(ts));
    set_b64(o, "signature", sig.p, sig.n);
    send_json(c, o);
    mls_buf_clear(&nonce);
    mls_buf_clear(&content);
    mls_buf_clear(&sig);
}

static void on_ready(conn *c)
{
    c->ready = 1;
    n_ready++;
}

static void on_response(conn *c, json_t *r)
{
    const char *type = json_string_value(json_object_get(r, "type"));
    if (!type)
        die("%s: unparsed request", c->name);
    if (!json_is_true(json_object_get(r, "ok")))
        die("%s: %s refused: %s: %s", c->name, type,
            json_string_value(json_object_get(r, "error")),
            json_string_value(json_object_get(r, "message")));
    if (!strcmp(type, "register") || !strcmp(type, "login")) {
        c->logged_in = 1;
        n_logged_in++;
        handshaking--;
        if (c->role != R_SENDER && c->role != R_CREATOR)
            on_ready(c);
        else
            send_group_create(c);
    } else if (!strcmp(type, "group.create")) {
        on_ready(c);
    } else if (!strcmp(type, "group.commit")) {
        if (!c->staged || mls_group_merge_staged(c->group, c->staged))
            die("%s: cannot merge the commit", c->name);
        mls_staged_commit_free(c->staged);
        c->staged = NULL;
        c->group_epoch = (int64_t)mls_group_epoch(c->group);
        seq_base = json_integer_value(json_object_get(r, "seq"));
        on_ready(c);
    } else if (!strcmp(type, "group.send")) {
        if (c->role == R_SENDER) {
            if (measuring) {
                acks++;
                add_lat((now_s() - c->sent_at) * 1e3);
            }
            send_group_send(c);
        }
    }
}

/* A pushed log entry: found by a scan for "seq" (a full JSON parse of
 * 100,000 events a second would make the load generator the bottleneck). */
static void on_log_event(const char *t, size_t n)
{
    static const char key[] = "\"seq\":";
    const char *p = memmem(t, n, key, sizeof key - 1);
    if (!p || seq_base < 0)
        return;
    long seq = strtol(p + sizeof key - 1, NULL, 10);
    long k = seq - seq_base - 1;
    if (k < 0 || k >= n_sent)
        return;
    received++;
    add_lat((now_s() - sent_times[k]) * 1e3);
}

static void on_text(conn *c, const char *t, size_t n)
{
    if (memmem(t, n, "\"event\":\"log\"", 13)) {
        if (c->role == R_MEMBER)
            on_log_event(t, n);
        return;
    }
    json_t *o = json_loadb(t, n, 0, NULL);
    if (!o)
        die("%s: unparsable frame", c->name);
    const char *ev = json_string_value(json_object_get(o, "event"));
    if (ev) {
        if (!strcmp(ev, "challenge"))
            answer_challenge(c, o);
        else if (!strcmp(ev, "log") && c->role == R_MEMBER)
            on_log_event(t, n);
    } else {
        on_response(c, o);
    }
    json_decref(o);
}

static void conn_close(conn *c)
{
    if (c->closed)
        return;
    close(c->fd);
    c->closed = 1;
    free(c->in);
    free(c->out);
    c->in = c->out = NULL;
    c->in_len = c->in_cap = c->out_len = c->out_cap = c->out_off = 0;
}

/* Frames in c->in (RFC 6455 §5.2; server frames are not masked). */
static void parse_frames(conn *c)
{
    size_t off = 0;
    for (;;) {
        size_t avail = c->in_len - off;
        const uint8_t *p = c->in + off;
        if (avail < 2)
            break;
        int opcode = p[0] & 0x0f;
        uint64_t len = p[1] & 0x7f;
        size_t h = 2;
        if (len == 126) {
            if (avail < 4)
                break;
            len = (uint64_t)p[2] << 8 | p[3];
            h = 4;
        } else if (len == 127) {
            if (avail < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | p[2 + i];
            h = 10;
        }
        if (avail < h + len)
            break;
        if (!(p[0] & 0x80))
            die("%s: fragmented frame", c->name);
        if (opcode == 1)
            on_text(c, (const char *)p + h, (size_t)len);
        else if (opcode == 9)
            send_frame(c, 10, p + h, (size_t)len);
        else if (opcode == 8)
            die("%s: closed by the server", c->name);
        off += h + (size_t)len;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
}

static void on_readable(conn *c)
{
    for (;;) {
        if (c->in_cap - c->in_len < 65536) {
            c->in_cap = c->in_cap ? c->in_cap * 2 : 131072;
            c->in = realloc(c->in, c->in_cap);
            if (!c->in)
                die("out of memory");
        }
        ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            die("%s: read: %s", c->name, strerror(errno));
        }
        if (n == 0)
            die("%s: connection closed by the server", c->name);
        c->in_len += (size_t)n;
        if (!c->upgraded) {
            uint8_t *e = memmem(c->in, c->in_len, "\r\n\r\n", 4);
            if (!e)
                continue;
            if (c->in_len < 13 || memcmp(c->in + 9, "101", 3))
                die("%s: upgrade refused: %.40s", c->name, (char *)c->in);
            size_t hl = (size_t)(e + 4 - c->in);
            memmove(c->in, c->in + hl, c->in_len - hl);
            c->in_len -= hl;
            c->upgraded = 1;
        }
        parse_frames(c);
        if (c->closed)
            return;
    }
}

static void conn_open(conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket: %s", strerror(errno));
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) && errno != EINPROGRESS)
        die("connect: %s", strerror(errno));
    c->closed = 0;
    c->upgraded = c->logged_in = c->ready = 0;
    c->want_write = 0;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
    char req[256];
    uint8_t key[16];
    RAND_bytes(key, sizeof key);
    char *k = chat_b64_encode(key, sizeof key);
    int n = snprintf(req, sizeof req,
                     "GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     port, k);
    free(k);
    out_reserve(c, (size_t)n);
    memcpy(c->out, req, (size_t)n);
    c->out_len = (size_t)n;
    want_write(c, 1);
    handshaking++;
}

/* Turns the loop until done() or the deadline; opens connections
 * [next_to_open, n_conns) HANDSHAKES_MAX at a time meanwhile. */
static void run_until(int (*done)(void), double deadline, void (*tick)(double))
{
    struct epoll_event evs[256];
    while (!done()) {
        while (next_to_open < n_conns && handshaking < HANDSHAKES_MAX)
            conn_open(&conns[next_to_open++]);
        double t = now_s();
        if (t > deadline)
            die("timed out (%d of %d logged in, %d ready)", n_logged_in, n_conns, n_ready);
        if (tick)
            tick(t);
        int n = epoll_wait(epfd, evs, 256, 1);
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (c->closed)
                continue;
            if (evs[i].events & (EPOLLERR | EPOLLHUP))
                die("%s: socket error", c->name);
            if (evs[i].events & EPOLLOUT)
                flush(c);
            if (evs[i].events & EPOLLIN)
                on_readable(c);
        }
    }
}

static int all_ready(void)
{
    return n_ready == n_conns;
}

/* The identity's basic credential carries the username (the server
 * checks it against the caller's): a renamed connection gets a new one. */
static void new_identity(conn *c)
{
    mls_identity_free(c->id);
    c->id = NULL;
    EVP_PKEY_free(c->sk);
    if (mls_identity_generate(env, SUITE, mls_bytes_of((const uint8_t *)c->name, strlen(c->name)),
                              &c->id) ||
        mls_identity_support_extensions(c->id, chat_exts, 2))
        die("identity");
    /* Suite 1: Ed25519, the private key is the 32-byte seed (RFC 8032). */
    mls_bytes sk = mls_identity_signature_private_key(c->id);
    c->sk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk.p, sk.n);
    if (!c->sk)
        die("identity");
}

static void make_conns(int n, role r, const char *tag)
{
    conns = calloc((size_t)n, sizeof *conns);
    if (!conns)
        die("out of memory");
    n_conns = n;
    for (int i = 0; i < n; i++) {
        conn *c = &conns[i];
        c->role = r;
        c->index = i;
        c->fd = -1;
        c->closed = 1;
        snprintf(c->name, sizeof c->name, "%s%s%d", tag, prefix, i);
        new_identity(c);
    }
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static long rss_bytes(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = atol(line + 6);
    fclose(f);
    return kb * 1024;
}

/* ------------------------------------------------------------ scenarios */

static double t_end;
static int time_is_up(void)
{
    return now_s() >= t_end;
}

static void write_cdf(void)
{
    const char *path = getenv("LOADGEN_CDF");
    FILE *f = path ? fopen(path, "w") : NULL;
    if (!f)
        return;
    for (int p = 0; p <= 100; p++) {
        fprintf(f, "%d %.3f\n", p, pct(p / 100.0));
        if (p == 99)
            fprintf(f, "99.9 %.3f\n", pct(0.999));
    }
    fclose(f);
}

static int ingest(int senders, double seconds, int idle)
{
    make_conns(senders + idle, R_SENDER, "s");
    for (int i = senders; i < senders + idle; i++) {
        conns[i].role = R_IDLE;
        conns[i].name[0] = 'i';
        new_identity(&conns[i]);
    }
    run_until(all_ready, now_s() + 600, NULL);
    for (int i = 0; i < senders; i++)
        send_group_send(&conns[i]);
    /* Half a second of warm-up, then the measured window. */
    t_end = now_s() + 0.5;
    run_until(time_is_up, t_end + 10, NULL);
    measuring = 1;
    double t0 = now_s();
    t_end = t0 + seconds;
    run_until(time_is_up, t_end + 10, NULL);
    double rate = (double)acks / (now_s() - t0);
    printf("INGEST %d %.1f %.3f %.3f\n", senders, rate, pct(0.5), pct(0.99));
    write_cdf();
    return 0;
}

static conn *creator;
static int fan_rate;
static double fan_t0, fan_stop;
static long fan_total;

static void fan_tick(double t)
{
    if (t >= fan_stop)
        return;
    long due = (long)((t - fan_t0) * fan_rate) + 1;
    if (due > fan_total)
        due = fan_total;
    while (n_sent < due) {
        sent_times[n_sent++] = now_s();
        send_group_send(creator);
    }
}

static int fan_done(void)
{
    return n_sent == fan_total && (received == fan_total * (n_conns - 1) || now_s() > t_end);
}

static int fanout(int members, int rate, double seconds, int idle, int pid)
{
    /* conns[0] is the group's creator (the sender), then the members, then
     * the idle connections. */
    int total = 1 + members + idle;
    make_conns(total, R_MEMBER, "m");
    conns[0].role = R_CREATOR;
    snprintf(conns[0].name, sizeof conns[0].name, "c%s", prefix);
    new_identity(&conns[0]);
    for (int i = 1 + members; i < total; i++) {
        conns[i].role = R_IDLE;
        conns[i].name[0] = 'i';
        new_identity(&conns[i]);
    }
    creator = &conns[0];
    /* Members and creator first; idle connections after, so the server's
     * memory can be read before and after them. */
    n_conns = 1 + members;
    run_until(all_ready, now_s() + 300, NULL);
    /* Commits of 250 adds: with its Welcome (ratchet tree included) and
     * GroupInfo a request stays well under the 1 MiB message limit. */
    for (int from = 1; from <= members; from += 250) {
        int to = from + 250 > members + 1 ? members + 1 : from + 250;
        n_ready--;
        creator->ready = 0;
        send_add_commit(creator, from, to);
        run_until(all_ready, now_s() + 120, NULL);
    }
    /* Let the inbox events of the commit drain. */
    t_end = now_s() + 1;
    run_until(time_is_up, t_end + 10, NULL);
    if (idle) {
        long before = pid ? rss_bytes(pid) : -1;
        n_conns = total;
        run_until(all_ready, now_s() + 600, NULL);
        t_end = now_s() + 1;
        run_until(time_is_up, t_end + 10, NULL);
        long after = pid ? rss_bytes(pid) : -1;
        if (before > 0 && after > 0)
            printf("IDLE %d %.0f\n", idle, (double)(after - before) / idle);
    }
    n_conns = 1 + members;
    fan_rate = rate;
    fan_total = (long)(rate * seconds);
    sent_times = calloc((size_t)fan_total, sizeof *sent_times);
    if (!sent_times)
        die("out of memory");
    fan_t0 = now_s();
    fan_stop = fan_t0 + seconds + 1;
    t_end = fan_t0 + seconds + 10;
    /* seq_base is the last commit's seq: messages follow it in send order. */
    run_until(fan_done, t_end + 10, fan_tick);
    printf("FANOUT %d %d %.3f %.3f %ld %ld\n", members, idle, pct(0.5), pct(0.99), received,
           fan_total * members);
    write_cdf();
    return 0;
}

/* The server's count of open WebSockets (its /metrics), or -1 when it
 * has none to tell (the relay) or cannot be asked. */
static long server_connections(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    static const char req[] = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) ||
        write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char buf[65536];
    size_t n = 0;
    ssize_t k;
    while (n < sizeof buf - 1 && (k = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)k;
    close(fd);
    buf[n] = 0;
    const char *line = strstr(buf, "\nmlschat_connections ");
    return line ? strtol(line + 21, NULL, 10) : -1;
}

static int login(int n)
{
    make_conns(n, R_IDLE, "l");
    run_until(all_ready, now_s() + 600, NULL);
    for (int i = 0; i < n; i++) {
        conn_close(&conns[i]);
        conns[i].login_action = 1;
    }
    /* The logins are timed once the server has closed the registrations'
     * connections: tearing down 10,000 connections is not a login (it
     * was about a fifth of the server's time in the timed window). */
    double settle = now_s() + 30;
    while (now_s() < settle && server_connections() > 0)
        usleep(10000);
    n_ready = n_logged_in = 0;
    next_to_open = 0;
    handshaking = 0;
    double t0 = now_s();
    run_until(all_ready, t0 + 600, NULL);
    printf("LOGIN %d %.1f\n", n, n / (now_s() - t0));
    return 0;
}

/* The server's check of a login (src/server/auth.c), alone, on one core. */
static int verify(int n)
{
    mls_identity *id = NULL;
    mls_buf content, sig;
    mls_buf_init(&content);
    mls_buf_init(&sig);
    uint8_t nonce[32];
    RAND_bytes(nonce, sizeof nonce);
    if (mls_identity_generate(env, SUITE, mls_bytes_of((const uint8_t *)"alice", 5), &id))
        die("identity");
    mls_bytes key = mls_identity_signature_key(id);
    chat_auth_content ac = {"login", mls_bytes_of(nonce, sizeof nonce), 1, "alice", SUITE, key};
    if (chat_auth_content_encode(&ac, &content) ||
        mls_identity_sign(env, id, CHAT_AUTH_LABEL, mls_buf_view(&content), &sig))
        die("sign");
    double t0 = now_s();
    for (int i = 0; i < n; i++)
        if (mls_signature_verify(SUITE, key, CHAT_AUTH_LABEL, mls_buf_view(&content),
                                 mls_buf_view(&sig)))
            die("verify");
    printf("VERIFY %.1f\n", n / (now_s() - t0));
    mls_buf_clear(&content);
    mls_buf_clear(&sig);
    mls_identity_free(id);
    return 0;
}

int main(int argc, char **argv)
{
    env = mls_env_default();
    srand((unsigned)getpid());
    if (argc >= 3 && !strcmp(argv[1], "verify"))
        return verify(atoi(argv[2]));
    if (argc < 3)
        die("usage: loadgen PORT ingest|fanout|login ... | loadgen verify N");
    raise_nofile();
    port = atoi(argv[1]);
    snprintf(prefix, sizeof prefix, "%x", (unsigned)getpid() ^ (unsigned)time(NULL));
    epfd = epoll_create1(EPOLL_CLOEXEC);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(argv[2], "ingest") && argc >= 5)
        return ingest(atoi(argv[3]), atof(argv[4]), argc > 5 ? atoi(argv[5]) : 0);
    if (!strcmp(argv[2], "fanout") && argc >= 7)
        return fanout(atoi(argv[3]), atoi(argv[4]), atof(argv[5]), atoi(argv[6]),
                      argc > 7 ? atoi(argv[7]) : 0);
    if (!strcmp(argv[2], "login") && argc >= 4)
        return login(atoi(argv[3]));
    die("usage: loadgen PORT ingest|fanout|login ... | loadgen verify N");
}
