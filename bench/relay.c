/*
 * The non-durable floor of fan-out (make bench-server): a minimal relay on
 * libwebsockets that speaks just enough of docs/PROTOCOL.md for
 * bench/loadgen.c: a challenge on open, `ok` to every request without a
 * check (no signature verification, no database), and for `group.send`
 * the `log` event, built once, to every connection added by a
 * `group.commit` (one group).  What the real server costs above this is
 * its durability, its checks and its bookkeeping.
 *
 * It runs on the loop the server runs on (libev's epoll through the
 * libwebsockets plugin, src/server/transport.c), so that what the
 * comparison measures is the server's work per request and not a
 * difference of loops; `poll` as second argument runs it on
 * libwebsockets' default poll() loop instead, the server's loop before.
 *
 *   relay PORT [poll]
 */
#include <ev.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

/* A payload shared by every connection it is queued on. */
typedef struct shared {
    int refs;
    size_t len;
    unsigned char data[]; /* LWS_PRE bytes of headroom, then the text */
} shared;

typedef struct qitem {
    struct qitem *next;
    shared *p;
} qitem;

typedef struct rconn {
    struct lws *wsi;
    char name[40];
    int member;
    char *rx;
    size_t rx_len;
    qitem *head, *tail;
    struct rconn *prev, *next;
} rconn;

static rconn *all;
static rconn **members;
static size_t n_members, cap_members;
static long seq;
static volatile int stop;

static shared *shared_new(const char *text)
{
    size_t n = strlen(text);
    shared *p = malloc(sizeof *p + LWS_PRE + n);
    if (!p)
        return NULL;
    p->refs = 0;
    p->len = n;
    memcpy(p->data + LWS_PRE, text, n);
    return p;
}

static void unref(shared *p)
{
    if (p && --p->refs <= 0)
        free(p);
}

static void enqueue(rconn *c, shared *p)
{
    qitem *q = malloc(sizeof *q);
    if (!q)
        return;
    q->next = NULL;
    q->p = p;
    p->refs++;
    if (c->tail)
        c->tail->next = q;
    else
        c->head = q;
    c->tail = q;
    lws_callback_on_writable(c->wsi);
}

static void send_text(rconn *c, char *text)
{
    if (!text)
        return;
    shared *p = shared_new(text);
    free(text);
    if (p)
        enqueue(c, p);
}

static void add_member(rconn *c)
{
    if (c->member)
        return;
    if (n_members == cap_members) {
        cap_members = cap_members ? cap_members * 2 : 1024;
        rconn **m = realloc(members, cap_members * sizeof *m);
        if (!m)
            return;
        members = m;
    }
    members[n_members++] = c;
    c->member = 1;
}

static void drop_member(rconn *c)
{
    for (size_t i = 0; c->member && i < n_members; i++)
        if (members[i] == c) {
            members[i] = members[--n_members];
            c->member = 0;
        }
}

static void on_request(rconn *c, json_t *req)
{
    const char *type = json_string_value(json_object_get(req, "type"));
    json_t *r = json_object();
    json_object_set(r, "id", json_object_get(req, "id"));
    json_object_set_new(r, "type", json_string(type ? type : ""));
    json_object_set_new(r, "ok", json_true());
    if (type && (!strcmp(type, "register") || !strcmp(type, "login"))) {
        const char *u = json_string_value(json_object_get(req, "username"));
        snprintf(c->name, sizeof c->name, "%s", u ? u : "");
        json_object_set_new(r, "user_id", json_integer(1));
    } else if (type && !strcmp(type, "group.create")) {
        add_member(c);
    } else if (type && !strcmp(type, "group.commit")) {
        /* Added members by name; a linear scan, once per commit. */
        json_t *add = json_object_get(req, "add");
        for (rconn *x = all; x; x = x->next)
            for (size_t i = 0; i < json_array_size(add); i++)
                if (!strcmp(x->name, json_string_value(json_array_get(add, i))))
                    add_member(x);
        json_object_set_new(r, "seq", json_integer(++seq));
    } else if (type && !strcmp(type, "group.send")) {
        json_object_set_new(r, "seq", json_integer(++seq));
        json_t *e = json_object();
        json_object_set(e, "group", json_object_get(req, "group"));
        json_object_set_new(e, "seq", json_integer(seq));
        json_object_set_new(e, "epoch", json_integer(0));
        json_object_set_new(e, "kind", json_string("message"));
        json_object_set_new(e, "sender", json_string(c->name));
        json_object_set(e, "message", json_object_get(req, "message"));
        json_object_set_new(e, "event", json_string("log"));
        char *t = json_dumps(e, JSON_COMPACT);
        json_decref(e);
        shared *p = t ? shared_new(t) : NULL;
        free(t);
        if (p) {
            p->refs++; /* held while queuing */
            for (size_t i = 0; i < n_members; i++)
                enqueue(members[i], p);
            unref(p);
        }
    }
    send_text(c, json_dumps(r, JSON_COMPACT));
    json_decref(r);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    rconn *c = user;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED: {
        memset(c, 0, sizeof *c);
        c->wsi = wsi;
        c->next = all;
        if (all)
            all->prev = c;
        all = c;
        unsigned char nonce[32];
        lws_get_random(lws_get_context(wsi), nonce, sizeof nonce);
        char b64[64], text[256];
        lws_b64_encode_string((const char *)nonce, sizeof nonce, b64, sizeof b64);
        snprintf(text, sizeof text,
                 "{\"event\":\"challenge\",\"nonce\":\"%s\",\"server_time\":%ld,"
                 "\"protocol\":1,\"max_message\":1048576}",
                 b64, (long)time(NULL));
        send_text(c, strdup(text));
        return 0;
    }
    case LWS_CALLBACK_CLOSED:
        drop_member(c);
        if (c->prev)
            c->prev->next = c->next;
        else
            all = c->next;
        if (c->next)
            c->next->prev = c->prev;
        while (c->head) {
            qitem *q = c->head;
            c->head = q->next;
            unref(q->p);
            free(q);
        }
        free(c->rx);
        return 0;
    case LWS_CALLBACK_RECEIVE: {
        char *rx = realloc(c->rx, c->rx_len + len);
        if (!rx)
            return -1;
        c->rx = rx;
        memcpy(c->rx + c->rx_len, in, len);
        c->rx_len += len;
        if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
            return 0;
        json_t *req = json_loadb(c->rx, c->rx_len, 0, NULL);
        c->rx_len = 0;
        if (req)
            on_request(c, req);
        json_decref(req);
        return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE:
        while (c->head) {
            qitem *q = c->head;
            if (lws_write(wsi, q->p->data + LWS_PRE, q->p->len, LWS_WRITE_TEXT) < (int)q->p->len)
                return -1;
            c->head = q->next;
            if (!c->head)
                c->tail = NULL;
            unref(q->p);
            free(q);
            if (lws_send_pipe_choked(wsi))
                break;
        }
        if (c->head)
            lws_callback_on_writable(wsi);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {"mlschat.v1", callback, sizeof(rconn), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: relay PORT [poll]\n");
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = atoi(argv[1]);
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    info.gid = -1;
    info.uid = -1;
    info.fd_limit_per_thread = (unsigned)rl.rlim_cur;
    int use_poll = argc > 2 && !strcmp(argv[2], "poll");
    struct ev_loop *loop = NULL;
    void *foreign[1];
    if (!use_poll) {
        loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
        if (!loop)
            return 1;
        foreign[0] = loop;
        info.options |= LWS_SERVER_OPTION_LIBEV;
        info.foreign_loops = foreign;
    }
    struct lws_context *ctx = lws_create_context(&info);
    if (!ctx) {
        if (loop)
            ev_loop_destroy(loop);
        return 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    if (loop) {
        /* stop is seen at the next wake-up (the benchmark ends the relay
         * with SIGKILL anyway). */
        while (!stop && ev_run(loop, EVRUN_ONCE))
            ;
    } else {
        while (!stop && lws_service(ctx, 0) >= 0)
            ;
    }
    lws_context_destroy(ctx);
    if (loop)
        ev_loop_destroy(loop);
    free(members);
    return 0;
}
