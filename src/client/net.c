/* libwebsockets client, event loop, timers and request/reply matching. */
#include "net.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_plain.h"
#include "util.h"

#define NET_MAX_MESSAGE (16u << 20)
#define NET_BACKOFF_MIN_MS 500u
#define NET_BACKOFF_MAX_MS 15000u
#define NET_KEEPALIVE_MS 10000u
#define NET_PING_TIMEOUT_MS 20000u
#define NET_MAX_WATCH 4

enum net_state { NET_IDLE, NET_CONNECTING, NET_OPEN };

struct net_frame {
    struct net_frame *next;
    size_t len;
    unsigned char *buf; /* LWS_PRE bytes of headroom, then len bytes */
};

struct net_pending {
    int64_t id;
    cli_net_reply_cb cb;
    void *ctx;
};

struct net_watch {
    int fd;
    struct lws *wsi;
    void (*cb)(void *ctx);
    void *ctx;
    int closing;
    int hung_up; /* lws is closing it: the last reads run now */
};

struct cli_net {
    struct lws_context *lws;
    struct cli_net_handlers h;
    char host[256];
    char endpoint[300];
    char path[512];
    int port;
    int tls;

    enum net_state state;
    struct lws *wsi;
    int closing;
    int stopped;
    uint64_t backoff_ms;
    struct cli_timer reconnect;
    uint64_t reconnect_at_ms; /* when the scheduled try is due (0: none) */
    struct cli_timer keepalive;
    uint64_t ping_sent_ms; /* 0: no ping outstanding */

    struct net_frame *tx_head, *tx_tail;
    char *rx;
    size_t rx_len, rx_cap;

    int64_t next_id;
    struct net_pending *pending;
    size_t n_pending, cap_pending;

    struct net_watch watch[NET_MAX_WATCH];
};

static void net_schedule_reconnect(struct cli_net *n);

/* ------------------------------------------------------------ timers */

/* Everything above the loop is entered through here first (net.h). */
static void before(struct cli_net *n, cli_net_reply_cb cb, void *cb_ctx)
{
    if (n->h.before)
        n->h.before(n->h.ctx, cb, cb_ctx);
}

static void timer_fire(lws_sorted_usec_list_t *sul)
{
    struct cli_timer *t = lws_container_of(sul, struct cli_timer, sul);
    before(t->net, NULL, NULL);
    t->cb(t->ctx);
}

void cli_timer_start(struct cli_net *n, struct cli_timer *t, uint64_t ms, void (*cb)(void *ctx),
                     void *ctx)
{
    t->net = n;
    t->cb = cb;
    t->ctx = ctx;
    lws_sul_schedule(n->lws, 0, &t->sul, timer_fire, (lws_usec_t)ms * LWS_US_PER_MS);
}

void cli_timer_stop(struct cli_timer *t)
{
    if (t->net)
        lws_sul_schedule(t->net->lws, 0, &t->sul, timer_fire, LWS_SET_TIMER_USEC_CANCEL);
}

/* ------------------------------------------------------------ queue */

static void tx_free_all(struct cli_net *n)
{
    while (n->tx_head) {
        struct net_frame *f = n->tx_head;
        n->tx_head = f->next;
        free(f->buf);
        free(f);
    }
    n->tx_tail = NULL;
}

static int tx_push(struct cli_net *n, const char *text)
{
    struct net_frame *f = calloc(1, sizeof *f);
    size_t len = strlen(text);
    if (!f)
        return -1;
    f->buf = malloc(LWS_PRE + len);
    if (!f->buf) {
        free(f);
        return -1;
    }
    memcpy(f->buf + LWS_PRE, text, len);
    f->len = len;
    if (n->tx_tail)
        n->tx_tail->next = f;
    else
        n->tx_head = f;
    n->tx_tail = f;
    if (n->wsi)
        lws_callback_on_writable(n->wsi);
    return 0;
}

/* ------------------------------------------------------------ close */

static void fail_pending(struct cli_net *n)
{
    /* Callbacks may issue new requests (refused: not open) or forget
     * others; walk a detached copy. */
    struct net_pending *p = n->pending;
    size_t i, count = n->n_pending;
    n->pending = NULL;
    n->n_pending = n->cap_pending = 0;
    for (i = 0; i < count; i++)
        if (p[i].cb) {
            before(n, NULL, NULL);
            p[i].cb(p[i].ctx, NULL);
        }
    free(p);
}

static void net_closed(struct cli_net *n, const char *why)
{
    if (n->state == NET_IDLE)
        return;
    cli_log("net: closed: %s", why);
    n->state = NET_IDLE;
    n->wsi = NULL;
    n->closing = 0;
    n->ping_sent_ms = 0;
    n->rx_len = 0;
    tx_free_all(n);
    cli_timer_stop(&n->keepalive);
    fail_pending(n);
    /* Scheduled first, as net.h promises: the handler shows when. */
    net_schedule_reconnect(n);
    before(n, NULL, NULL);
    if (n->h.on_close)
        n->h.on_close(n->h.ctx, why);
}

/* ------------------------------------------------------------ rx */

static void dispatch(struct cli_net *n, const char *text, size_t len)
{
    json_error_t jerr;
    /* Replies and events hold plain values but for names in other
     * scripts (json_plain.h); jansson reads the rest. */
    json_t *msg = chat_json_plain(text, len);
    json_t *id;

    jerr.text[0] = 0;
    if (!msg)
        msg = json_loadb(text, len, 0, &jerr);

    if (!msg || !json_is_object(msg)) {
        cli_log("net: bad JSON from server: %s", jerr.text);
        json_decref(msg);
        return;
    }
    id = json_object_get(msg, "id");
    if (json_is_integer(id)) {
        int64_t v = json_integer_value(id);
        size_t i;
        for (i = 0; i < n->n_pending; i++) {
            if (n->pending[i].id == v) {
                struct net_pending p = n->pending[i];
                memmove(&n->pending[i], &n->pending[i + 1],
                        (n->n_pending - i - 1) * sizeof *n->pending);
                n->n_pending--;
                before(n, p.cb, p.ctx);
                if (p.cb)
                    p.cb(p.ctx, msg);
                break;
            }
        }
    } else if (json_is_string(json_object_get(msg, "event"))) {
        before(n, NULL, NULL);
        if (n->h.on_event)
            n->h.on_event(n->h.ctx, msg);
    } else {
        char *dump = json_dumps(msg, JSON_COMPACT);
        cli_log("net: unmatched message: %s", dump ? dump : "?");
        free(dump);
    }
    json_decref(msg);
}

static int rx_append(struct cli_net *n, const void *in, size_t len)
{
    if (n->rx_len + len > NET_MAX_MESSAGE)
        return -1;
    if (n->rx_len + len > n->rx_cap) {
        size_t cap = n->rx_cap ? n->rx_cap : 4096;
        char *p;
        while (cap < n->rx_len + len)
            cap *= 2;
        p = realloc(n->rx, cap);
        if (!p)
            return -1;
        n->rx = p;
        n->rx_cap = cap;
    }
    memcpy(n->rx + n->rx_len, in, len);
    n->rx_len += len;
    return 0;
}

/* ------------------------------------------------------------ keepalive */

static void ping_reply(void *ctx, json_t *reply)
{
    struct cli_net *n = ctx;
    if (reply)
        n->ping_sent_ms = 0;
}

static void keepalive_tick(void *ctx)
{
    struct cli_net *n = ctx;
    if (n->state != NET_OPEN)
        return;
    if (n->ping_sent_ms && cli_now_ms() - n->ping_sent_ms > NET_PING_TIMEOUT_MS) {
        cli_log("net: no answer to ping, dropping the connection");
        cli_net_drop(n);
        return;
    }
    if (!n->ping_sent_ms) {
        json_t *req = json_pack("{s:s}", "type", "ping");
        if (req && cli_net_request(n, req, ping_reply, n) >= 0)
            n->ping_sent_ms = cli_now_ms();
    }
    cli_timer_start(n, &n->keepalive, NET_KEEPALIVE_MS, keepalive_tick, n);
}

/* ------------------------------------------------------------ lws callbacks */

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct cli_net *n = lws_context_user(lws_get_context(wsi));
    (void)user;

    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (wsi != n->wsi)
            return -1;
        n->state = NET_OPEN;
        n->rx_len = 0;
        cli_log("net: connected to %s", n->endpoint);
        cli_timer_start(n, &n->keepalive, NET_KEEPALIVE_MS, keepalive_tick, n);
        before(n, NULL, NULL);
        if (n->h.on_open)
            n->h.on_open(n->h.ctx);
        if (n->tx_head && n->wsi)
            lws_callback_on_writable(n->wsi);
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (wsi == n->wsi)
            net_closed(n, in && len ? (const char *)in : "cannot connect");
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (wsi == n->wsi)
            net_closed(n, "connection closed");
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (wsi != n->wsi)
            break;
        if (rx_append(n, in, len) != 0) {
            cli_log("net: message from server too large");
            return -1;
        }
        if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
            size_t l = n->rx_len;
            n->rx_len = 0;
            dispatch(n, n->rx, l);
        }
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (wsi != n->wsi || n->closing)
            return -1;
        if (n->tx_head) {
            struct net_frame *f = n->tx_head;
            int w = lws_write(wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT);
            n->tx_head = f->next;
            if (!n->tx_head)
                n->tx_tail = NULL;
            free(f->buf);
            free(f);
            if (w < 0)
                return -1;
            if (n->tx_head)
                lws_callback_on_writable(wsi);
        }
        break;
    default:
        break;
    }
    return 0;
}

static struct net_watch *watch_of(struct cli_net *n, struct lws *wsi)
{
    size_t i;
    for (i = 0; i < NET_MAX_WATCH; i++)
        if (n->watch[i].wsi == wsi)
            return &n->watch[i];
    return NULL;
}

static int fd_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct cli_net *n = lws_context_user(lws_get_context(wsi));
    struct net_watch *w;
    (void)user;
    (void)in;
    (void)len;

    switch (reason) {
    case LWS_CALLBACK_RAW_RX_FILE:
        w = watch_of(n, wsi);
        if (!w || w->closing)
            return -1;
        before(n, NULL, NULL);
        w->cb(w->ctx);
        if (w->closing)
            return -1;
        break;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        w = watch_of(n, wsi);
        if (!w)
            break;
        /* The other end hung up (a pipe's writer closed: POLLHUP, which
         * lws takes as a close and never reports as readable).  Whoever
         * watches must still read what is left and see the end of input,
         * or a script's last lines and its EOF would be lost. */
        w->hung_up = 1;
        before(n, NULL, NULL);
        for (int k = 0; k < 4096 && !w->closing; k++) {
            struct pollfd p = {w->fd, POLLIN, 0};
            if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR)))
                break;
            w->cb(w->ctx);
        }
        memset(w, 0, sizeof *w);
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"mlschat.v1", ws_callback, 0, 65536, 0, NULL, 0},
    {"cli-fd", fd_callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ------------------------------------------------------------ connect */

static void do_connect(void *ctx)
{
    struct cli_net *n = ctx;
    struct lws_client_connect_info ci;

    n->reconnect_at_ms = 0;
    if (n->stopped || n->state != NET_IDLE)
        return;
    memset(&ci, 0, sizeof ci);
    ci.context = n->lws;
    ci.address = n->host;
    ci.port = n->port;
    ci.path = n->path;
    ci.host = n->host;
    ci.origin = n->host;
    ci.protocol = "mlschat.v1";
    ci.ssl_connection = n->tls ? LCCSCF_USE_SSL : 0;
    ci.pwsi = &n->wsi;
    n->state = NET_CONNECTING;
    n->closing = 0;
    cli_log("net: connecting to %s%s", n->endpoint, n->path);
    if (!lws_client_connect_via_info(&ci)) {
        /* A synchronous failure may already have reported itself. */
        if (n->state == NET_CONNECTING) {
            n->wsi = NULL;
            net_closed(n, "cannot connect");
        }
    }
}

static void net_schedule_reconnect(struct cli_net *n)
{
    uint64_t delay, jitter;
    if (n->stopped)
        return;
    delay = n->backoff_ms;
    jitter = delay / 4 ? cli_now_ms() % (delay / 4) : 0;
    n->backoff_ms = n->backoff_ms * 2 > NET_BACKOFF_MAX_MS ? NET_BACKOFF_MAX_MS
                                                           : n->backoff_ms * 2;
    cli_log("net: reconnecting in %llu ms", (unsigned long long)(delay + jitter));
    n->reconnect_at_ms = cli_now_ms() + delay + jitter;
    cli_timer_start(n, &n->reconnect, delay + jitter, do_connect, n);
}

void cli_net_connect(struct cli_net *n)
{
    n->stopped = 0;
    cli_timer_stop(&n->reconnect);
    do_connect(n);
}

uint64_t cli_net_reconnect_in_ms(const struct cli_net *n)
{
    uint64_t now = cli_now_ms();
    if (n->stopped || n->state != NET_IDLE || n->reconnect_at_ms == 0)
        return 0;
    return n->reconnect_at_ms > now ? n->reconnect_at_ms - now : 1;
}

int cli_net_reconnect_now(struct cli_net *n)
{
    if (n->stopped || n->state != NET_IDLE)
        return 0;
    cli_log("net: reconnecting now, asked by the user");
    cli_timer_stop(&n->reconnect);
    do_connect(n);
    return 1;
}

void cli_net_backoff_reset(struct cli_net *n)
{
    n->backoff_ms = NET_BACKOFF_MIN_MS;
}

void cli_net_drop(struct cli_net *n)
{
    if (n->state == NET_IDLE || !n->wsi)
        return;
    n->closing = 1;
    lws_callback_on_writable(n->wsi);
}

void cli_net_stop(struct cli_net *n)
{
    n->stopped = 1;
    cli_timer_stop(&n->reconnect);
    cli_net_drop(n);
    /* The caller is leaving the loop: a poll with nothing left to wait for
     * would otherwise sleep until lws's longest timeout. */
    lws_cancel_service(n->lws);
}

int cli_net_is_open(const struct cli_net *n)
{
    return n->state == NET_OPEN && !n->closing;
}

const char *cli_net_endpoint(const struct cli_net *n)
{
    return n->endpoint;
}

/* ------------------------------------------------------------ requests */

int64_t cli_net_request(struct cli_net *n, json_t *req, cli_net_reply_cb cb, void *ctx)
{
    int64_t id = -1;
    char *text = NULL;

    if (!cli_net_is_open(n))
        goto out;
    if (n->n_pending == n->cap_pending) {
        size_t cap = n->cap_pending ? n->cap_pending * 2 : 16;
        struct net_pending *p = realloc(n->pending, cap * sizeof *p);
        if (!p)
            goto out;
        n->pending = p;
        n->cap_pending = cap;
    }
    if (json_object_set_new(req, "id", json_integer(n->next_id)) != 0)
        goto out;
    text = json_dumps(req, JSON_COMPACT);
    if (!text || tx_push(n, text) != 0)
        goto out;
    id = n->next_id++;
    n->pending[n->n_pending].id = id;
    n->pending[n->n_pending].cb = cb;
    n->pending[n->n_pending].ctx = ctx;
    n->n_pending++;
    cli_log("net: -> %.300s", text);
out:
    free(text);
    json_decref(req);
    return id;
}

void cli_net_forget(struct cli_net *n, void *ctx)
{
    size_t i;
    for (i = 0; i < n->n_pending; i++)
        if (n->pending[i].ctx == ctx)
            n->pending[i].cb = NULL;
}

/* ------------------------------------------------------------ fds */

int cli_net_watch_fd(struct cli_net *n, int fd, void (*cb)(void *ctx), void *ctx)
{
    lws_sock_file_fd_type u;
    size_t i;
    struct lws *wsi;

    for (i = 0; i < NET_MAX_WATCH; i++)
        if (!n->watch[i].cb)
            break;
    if (i == NET_MAX_WATCH)
        return -1;
    n->watch[i].fd = fd;
    n->watch[i].cb = cb;
    n->watch[i].ctx = ctx;
    n->watch[i].closing = 0;
    u.filefd = fd;
    wsi = lws_adopt_descriptor_vhost(lws_get_vhost_by_name(n->lws, "default"),
                                     LWS_ADOPT_RAW_FILE_DESC, u, "cli-fd", NULL);
    if (!wsi) {
        memset(&n->watch[i], 0, sizeof n->watch[i]);
        return -1;
    }
    n->watch[i].wsi = wsi;
    return 0;
}

void cli_net_unwatch_fd(struct cli_net *n, int fd)
{
    size_t i;
    for (i = 0; i < NET_MAX_WATCH; i++) {
        if (n->watch[i].cb && n->watch[i].fd == fd) {
            n->watch[i].closing = 1;
            if (n->watch[i].wsi && !n->watch[i].hung_up)
                lws_set_timeout(n->watch[i].wsi, PENDING_TIMEOUT_AWAITING_PROXY_RESPONSE,
                                LWS_TO_KILL_ASYNC);
        }
    }
}

/* ------------------------------------------------------------ setup */

static void lws_log_emit(int level, const char *line)
{
    (void)level;
    cli_log("lws: %s", line);
}

static int parse_url(struct cli_net *n, const char *url, char *err, size_t errlen)
{
    const char *p, *host_end, *port_start = NULL;
    size_t hlen;

    if (strncmp(url, "http://", 7) == 0) {
        n->tls = 0;
        p = url + 7;
    } else if (strncmp(url, "https://", 8) == 0) {
        n->tls = 1;
        p = url + 8;
    } else {
        snprintf(err, errlen, "the server URL must start with http:// or https://");
        return -1;
    }
    if (*p == '[') {
        host_end = strchr(p, ']');
        if (!host_end) {
            snprintf(err, errlen, "bad IPv6 address in the server URL");
            return -1;
        }
        p++;
        hlen = (size_t)(host_end - p);
        host_end++;
    } else {
        host_end = p + strcspn(p, ":/");
        hlen = (size_t)(host_end - p);
    }
    if (hlen == 0 || hlen >= sizeof n->host) {
        snprintf(err, errlen, "no host name in the server URL");
        return -1;
    }
    memcpy(n->host, p, hlen);
    n->host[hlen] = 0;
    n->port = n->tls ? 443 : 80;
    if (*host_end == ':') {
        char *end;
        long v;
        port_start = host_end + 1;
        v = strtol(port_start, &end, 10);
        if (end == port_start || v < 1 || v > 65535 || (*end && *end != '/')) {
            snprintf(err, errlen, "bad port in the server URL");
            return -1;
        }
        n->port = (int)v;
        host_end = end;
    }
    if (*host_end && *host_end != '/') {
        snprintf(err, errlen, "bad server URL");
        return -1;
    }
    /* A path prefix (reverse proxy) goes before the API path. */
    {
        size_t plen = strlen(host_end);
        while (plen > 0 && host_end[plen - 1] == '/')
            plen--;
        if (plen + sizeof "/v1/ws" > sizeof n->path) {
            snprintf(err, errlen, "server URL path too long");
            return -1;
        }
        memcpy(n->path, host_end, plen);
        memcpy(n->path + plen, "/v1/ws", sizeof "/v1/ws");
    }
    snprintf(n->endpoint, sizeof n->endpoint, "%s:%d", n->host, n->port);
    return 0;
}

int cli_net_new(const char *url, const char *ca_file, const struct cli_net_handlers *h,
                struct cli_net **out, char *err, size_t errlen)
{
    struct cli_net *n = calloc(1, sizeof *n);
    struct lws_context_creation_info info;

    if (!n) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (parse_url(n, url, err, errlen) != 0) {
        free(n);
        return -1;
    }
    n->h = *h;
    n->backoff_ms = NET_BACKOFF_MIN_MS;
    n->next_id = 1;
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.gid = (gid_t)-1;
    info.uid = (uid_t)-1;
    info.user = n;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.client_ssl_ca_filepath = ca_file;
    n->lws = lws_create_context(&info);
    if (!n->lws) {
        snprintf(err, errlen, "cannot create the network context");
        free(n);
        return -1;
    }
    *out = n;
    return 0;
}

void cli_net_free(struct cli_net *n)
{
    if (!n)
        return;
    n->stopped = 1;
    cli_timer_stop(&n->reconnect);
    cli_timer_stop(&n->keepalive);
    /* Closing connections call back: nobody above listens any more. */
    memset(&n->h, 0, sizeof n->h);
    for (size_t i = 0; i < n->n_pending; i++)
        n->pending[i].cb = NULL;
    lws_context_destroy(n->lws);
    tx_free_all(n);
    free(n->pending);
    free(n->rx);
    free(n);
}

int cli_net_service(struct cli_net *n)
{
    return lws_service(n->lws, 0);
}
