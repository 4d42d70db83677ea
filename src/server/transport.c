/*
 * Transport: HTTP and WebSocket on libwebsockets, one event-driven process.
 * Reassembles WebSocket messages, enforces the size and connection limits,
 * and writes queued output when a socket is writable.
 *
 * The loop is libev's (epoll on Linux), owned by the server and handed to
 * libwebsockets as a foreign loop through its libev event-library plugin
 * (Debian libwebsockets-evlib-ev).  libwebsockets' own loop is poll():
 * every turn hands the whole pollfd array to the kernel and scans it back,
 * so with 10,000 idle connections open a turn cost O(open sockets) and
 * ingest fell to a few percent of its rate without them.  epoll reports
 * only the sockets that are ready: a turn costs O(active sockets).
 *
 * libev rather than libuv: both are epoll underneath and both plugins
 * take a foreign loop, but with the libuv plugin of libwebsockets 4.1.6
 * a WebSocket closed by the server after lws_close_reason() loses its
 * close frame (the socket is shut down without it), so clients would no
 * longer learn 1008 "policy" at the login deadline or 1001 "going away"
 * at SIGTERM (docs/PROTOCOL.md §10, §11; test_hostile checks both).  The libev
 * plugin sends them as the poll() loop did, and its teardown is
 * synchronous (no close callbacks to run after lws_context_destroy).
 *
 * A turn: ev_run(EVRUN_ONCE) waits once, then runs libwebsockets'
 * callbacks for the sockets that are ready and its due timers (lws_sul:
 * tick, purge, relay); srv_batch_end then hands the turn's batch to the
 * database thread and releases the output of the one committed, as after
 * lws_service() before.  The database thread and SIGTERM wake the loop
 * with lws_cancel_service(), which writes to the pipe libwebsockets
 * watches in this loop.
 */
#include "transport.h"

#include <ev.h>

#include <libwebsockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "log.h"
#include "metrics.h"
#include "relay.h"

static srv *the_srv;
static struct ev_loop *loop;
static int loop_open;
static lws_sorted_usec_list_t purge_timer, tick_timer, relay_timer;

/* How often the loop wakes to take other processes' notices (relay.c). */
#define RELAY_POLL_US 10000

/* How long SIGTERM waits for queues to drain and close frames to go. */
#define DRAIN_SECONDS 5

/* The idle policy of every WebSocket: a PING after ping_interval seconds
 * without proof that the peer reads (a frame or a PONG), a hang-up after
 * idle_timeout; checked by the one-second tick.  Not libwebsockets'
 * "validity" timers: those keep one timer per connection in a sorted
 * list, so every connection opened and every proof of life walked the
 * timers of all the others (quadratic with 10,000 connections open). */
static void link_conn(srv *s, srv_conn *c)
{
    srv_addr_add(s, c->addr);
    c->next = s->conns;
    c->prev = NULL;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
}

static void unlink_conn(srv *s, srv_conn *c)
{
    srv_addr_remove(s, c->addr);
    if (c->prev)
        c->prev->next = c->next;
    else if (s->conns == c)
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    s->n_conns--;
}

static void dirty_unlink(srv *s, srv_conn *c);

static void conn_free(srv *s, srv_conn *c)
{
    dirty_unlink(s, c);
    srv_hold_forget(s, c);
    srv_logins_forget(c);
    while (c->out_head) {
        srv_out *o = c->out_head;
        c->out_head = o->next;
        srv_payload_put(o->p);
        free(o);
    }
    c->out_tail = NULL;
    free(c->rx);
    c->rx = NULL;
    free(c->http_body);
    c->http_body = NULL;
    if (c->user_id) {
        srv_metrics_authenticated(-1);
        srv_user_unlink(c);
        srv_user_state_put(s, c->ustate);
        c->ustate = NULL;
        c->user_id = 0;
    }
}

static int rx_append(srv *s, srv_conn *c, const void *in, size_t len)
{
    if (c->rx_len + len > s->cfg.max_message)
        return -1;
    if (c->rx_len + len > c->rx_cap) {
        size_t cap = c->rx_cap ? c->rx_cap : 4096;
        while (cap < c->rx_len + len)
            cap *= 2;
        uint8_t *p = realloc(c->rx, cap);
        if (!p)
            return -1;
        c->rx = p;
        c->rx_cap = cap;
    }
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    return 0;
}

static int on_receive(srv *s, srv_conn *c, struct lws *wsi, void *in, size_t len)
{
    if (c->close_after_flush || c->refused)
        return 0;
    c->alive_us = srv_now_us();
    if (lws_frame_is_binary(wsi)) {
        c->refused = 1;
        srv_submit_refusal(s, c, CHAT_ERR_BAD_REQUEST,
                           "binary frames are not used; send JSON text", 0);
        return 0;
    }
    int last = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
    /* A message that arrives whole (every request of a login, most of
     * the rest) is handled from libwebsockets' buffer: no copy, and no
     * buffer of ours.  Only a message in pieces (fragments, or a frame
     * longer than the protocol's rx_buffer_size) is reassembled, and its
     * buffer goes when the message is complete, so an idle connection
     * holds none (memory per idle connection, issue 13). */
    if (last && c->rx_len == 0 && len <= s->cfg.max_message) {
        srv_submit_message(s, c, (const char *)in, len);
        return 0;
    }
    if (rx_append(s, c, in, len)) {
        char msg[96];
        snprintf(msg, sizeof msg, "message exceeds the limit of %zu bytes", s->cfg.max_message);
        c->refused = 1;
        srv_submit_refusal(s, c, CHAT_ERR_TOO_LARGE, msg, 1);
        return 0;
    }
    if (!last)
        return 0;
    srv_submit_message(s, c, (const char *)c->rx, c->rx_len);
    free(c->rx);
    c->rx = NULL;
    c->rx_len = c->rx_cap = 0;
    return 0;
}

/* What one write takes: libwebsockets sends at most rx_buffer_size (plus
 * LWS_PRE + 4) per send and buffers the rest (lws_issue_raw). */
#define WRITE_CHUNK 16384

/* A server's WebSocket frame header (RFC 6455 §5.2: FIN, text, no mask)
 * for len bytes of text, len < WRITE_CHUNK (the frames drain gathers);
 * its length. */
static size_t frame_header(uint8_t *h, size_t len)
{
    h[0] = 0x81;
    if (len < 126) {
        h[1] = (uint8_t)len;
        return 2;
    }
    h[1] = 126;
    h[2] = (uint8_t)(len >> 8);
    h[3] = (uint8_t)len;
    return 4;
}

static void out_pop(srv_conn *c)
{
    srv_out *o = c->out_head;
    c->out_head = o->next;
    if (!c->out_head)
        c->out_tail = NULL;
    c->out_bytes -= o->p->len;
    srv_payload_put(o->p);
    free(o);
}

/* Writes the queued frames while the socket takes them: a lone frame as it
 * is (libwebsockets writes its header into the payload's LWS_PRE bytes,
 * so a payload shared by several connections is written by each in
 * turn), several (an answer and the event of the same message, a batch's
 * events) gathered into one buffer of frames, up to WRITE_CHUNK bytes,
 * written raw: one send and one TCP segment for all of them.  What the
 * socket does not take libwebsockets keeps, in order, and asks for the
 * writable callback itself.  -1 when the connection failed. */
static int drain(srv_conn *c, struct lws *wsi)
{
    uint8_t buf[LWS_PRE + WRITE_CHUNK];
    while (c->out_head) {
        srv_out *o = c->out_head;
        size_t total = 0;
        int k = 0;
        for (srv_out *q = o; q && total + 4 + q->p->len <= WRITE_CHUNK; q = q->next, k++)
            total += 4 + q->p->len;
        if (k < 2) {
            size_t n = o->p->len;
            if (lws_write(wsi, o->p->buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n)
                return -1;
            out_pop(c);
        } else {
            uint8_t *p = buf + LWS_PRE;
            for (int i = 0; i < k; i++) {
                srv_payload *q = c->out_head->p;
                p += frame_header(p, q->len);
                memcpy(p, q->buf + LWS_PRE, q->len);
                p += q->len;
                out_pop(c);
            }
            size_t n = (size_t)(p - (buf + LWS_PRE));
            if (lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_RAW) < (int)n)
                return -1;
        }
        /* What the socket did not take libwebsockets keeps (one write's
         * worth at most) and asks for the writable callback; the rest
         * stays in our queue, counted against SRV_OUTQ_MAX. */
        if (c->out_head && (lws_partial_buffered(wsi) || lws_send_pipe_choked(wsi)))
            break;
    }
    if (c->corked) {
        /* The handshake's 101 and the challenge leave together. */
        int fd = lws_get_socket_fd(wsi), zero = 0;
        c->corked = 0;
        if (fd >= 0)
            setsockopt(fd, IPPROTO_TCP, TCP_CORK, &zero, sizeof zero);
    }
    srv_rx_update(c);
    return 0;
}

static void dirty_unlink(srv *s, srv_conn *c)
{
    if (!c->dirty)
        return;
    if (c->dirty_prev)
        c->dirty_prev->dirty_next = c->dirty_next;
    else
        s->dirty = c->dirty_next;
    if (c->dirty_next)
        c->dirty_next->dirty_prev = c->dirty_prev;
    c->dirty_prev = c->dirty_next = NULL;
    c->dirty = 0;
}

void srv_conn_dirty(srv *s, srv_conn *c)
{
    if (c->dirty)
        return;
    c->dirty = 1;
    c->dirty_prev = NULL;
    c->dirty_next = s->dirty;
    if (s->dirty)
        s->dirty->dirty_prev = c;
    s->dirty = c;
}

/* The end of a turn: what the turn queued goes out now, not one loop turn
 * later through the writable callback (an epoll_ctl to ask for it, a
 * wait, an epoll_ctl to stop it: on a lone sender's round trip, three
 * system calls more than the send).  A connection that is to close, or
 * whose socket is full, is left to the callback. */
void srv_flush_output(srv *s)
{
    while (s->dirty) {
        srv_conn *c = s->dirty;
        dirty_unlink(s, c);
        /* Not while libwebsockets still holds bytes of an earlier write:
         * the writable callback comes once they are out, so a peer that
         * does not read keeps its backlog in our queue, where it is
         * bounded. */
        if (c->is_http || c->close_after_flush || c->want_ping || lws_partial_buffered(c->wsi)) {
            lws_callback_on_writable(c->wsi);
            continue;
        }
        if (drain(c, c->wsi)) {
            c->close_after_flush = 1;
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
        }
    }
}

static int on_writable(srv_conn *c, struct lws *wsi)
{
    if (c->want_ping) {
        /* A payload, so that the PONG echoing it is delivered to us as
         * LWS_CALLBACK_RECEIVE_PONG (an empty one is not). */
        uint8_t ping[LWS_PRE + 4] = {0};
        memcpy(ping + LWS_PRE, "mlsc", 4);
        c->want_ping = 0;
        if (lws_write(wsi, ping + LWS_PRE, 4, LWS_WRITE_PING) < 4)
            return -1;
    }
    if (!c->out_head) {
        if (drain(c, wsi)) /* uncorks */
            return -1;
        return c->close_after_flush ? -1 : 0;
    }
    if (drain(c, wsi))
        return -1;
    /* Closed on the next call, once what libwebsockets kept is out. */
    if (c->out_head || c->close_after_flush)
        lws_callback_on_writable(wsi);
    return 0;
}

static int http_write(srv_conn *c, struct lws *wsi)
{
    uint8_t hdr[LWS_PRE + 512];
    uint8_t *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
    if (lws_add_http_common_headers(wsi, (unsigned)c->http_status, c->http_type,
                                    (lws_filepos_t)c->http_len, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    if (c->http_len) {
        uint8_t *body = malloc(LWS_PRE + c->http_len);
        if (!body)
            return -1;
        memcpy(body + LWS_PRE, c->http_body, c->http_len);
        int n = lws_write(wsi, body + LWS_PRE, c->http_len, LWS_WRITE_HTTP_FINAL);
        free(body);
        if (n < (int)c->http_len)
            return -1;
    }
    free(c->http_body);
    c->http_body = NULL;
    c->http_status = 0;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int path_is_ws(struct lws *wsi)
{
    char uri[64];
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0)
        return 0;
    return strcmp(uri, "/v1/ws") == 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    srv *s = the_srv;
    srv_conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        if (!path_is_ws(wsi))
            return -1;
        /* Corked before libwebsockets sends its 101 response, the
         * challenge that follows leaves in the same segment (on_writable
         * uncorks): one wake-up of the client instead of two. */
        int fd = lws_get_socket_fd(wsi), one = 1;
        if (fd >= 0)
            setsockopt(fd, IPPROTO_TCP, TCP_CORK, &one, sizeof one);
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED: {
        memset(c, 0, sizeof *c);
        c->corked = 1;
        c->wsi = wsi;
        c->opened = srv_time();
        c->alive_us = c->pinged_us = srv_now_us();
        lws_get_peer_simple(wsi, c->addr, sizeof c->addr);
        /* Counted before linking: the connections already open. */
        int from_addr = srv_conns_from(s, c->addr);
        link_conn(s, c);
        srv_metrics_connection(1);
        if (s->stopping || s->n_conns > s->cfg.max_connections ||
            from_addr >= s->cfg.max_per_address) {
            srv_handle_refusal(s, c,
                               s->stopping ? CHAT_ERR_UNAVAILABLE : CHAT_ERR_TOO_MANY_CONNECTIONS,
                               s->stopping ? "the server is stopping"
                               : from_addr >= s->cfg.max_per_address
                                   ? "too many connections from your address"
                                   : "the server is full; try later");
            srv_metrics_closed(s->stopping ? "stopping" : "connection_limit");
            c->close_after_flush = 1;
            return 0;
        }
        srv_handle_open(s, c);
        return 0;
    }
    case LWS_CALLBACK_CLOSED:
        unlink_conn(s, c);
        srv_metrics_connection(-1);
        conn_free(s, c);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return on_receive(s, c, wsi, in, len);
    case LWS_CALLBACK_RECEIVE_PONG:
        c->alive_us = srv_now_us();
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writable(c, wsi);
    case LWS_CALLBACK_HTTP: {
        int is_get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
        c->wsi = wsi;
        c->is_http = 1;
        srv_submit_http(s, c, is_get, (const char *)in);
        return 0;
    }
    case LWS_CALLBACK_HTTP_BODY:
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!c || !c->is_http || !c->http_status)
            return 0;
        return http_write(c, wsi);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (c && c->is_http) {
            srv_hold_forget(s, c);
            free(c->http_body);
            c->http_body = NULL;
            c->is_http = 0;
        }
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* rx_buffer_size: libwebsockets gives every connection a receive buffer
 * of this size from its handshake on.  At 64 KiB it was mapped and
 * unmapped per connection (glibc maps blocks from M_MMAP_THRESHOLD,
 * main.c), 24 µs of each login; at 16 KiB it comes from the heap, where
 * only its touched first page is resident.  A longer frame arrives in
 * pieces and is reassembled (on_receive). */
static const struct lws_protocols protocols[] = {
    {"mlschat.v1", callback, sizeof(srv_conn), 16384, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void purge_tick(lws_sorted_usec_list_t *sul)
{
    srv *s = the_srv;
    /* The purge writes to the store: it runs between COMMITs (batch.c). */
    s->purge_due = 1;
    srv_user_states_sweep(s);
    srv_bucket_map_sweep(&s->registrations, srv_now_us(), 3600LL * 1000000);
    srv_logic_sweep(&s->logic);
    s->checkpoint_due = 1;
    lws_sul_schedule(s->lws, 0, sul, purge_tick, s->cfg.purge_interval * LWS_US_PER_SEC);
}

/* Once a second: the login deadline and the idle policy.  A WebSocket
 * that has not logged in within the challenge's lifetime holds a slot for
 * nothing; it is told why and closed (PROTOCOL §11).  One silent for
 * ping_interval is sent a PING, one silent for idle_timeout is dropped. */
static void tick(lws_sorted_usec_list_t *sul)
{
    srv *s = the_srv;
    int64_t now = srv_time(), now_us = srv_now_us();
    int64_t ping_us = s->cfg.ping_interval * 1000000, idle_us = s->cfg.idle_timeout * 1000000;
    for (srv_conn *c = s->conns; c; c = c->next) {
        if (c->close_after_flush)
            continue;
        if (idle_us > 0 && now_us - c->alive_us >= idle_us) {
            srv_log(SRV_LOG_DEBUG, "hanging up on %s: silent for %lld s",
                    c->user_id ? c->username : "(anonymous)", (long long)s->cfg.idle_timeout);
            c->close_after_flush = 1;
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
            continue;
        }
        if (ping_us > 0 && now_us - c->alive_us >= ping_us && now_us - c->pinged_us >= ping_us) {
            c->pinged_us = now_us;
            c->want_ping = 1;
            lws_callback_on_writable(c->wsi);
        }
        if (c->user_id || c->refused || now - c->opened < s->cfg.login_timeout)
            continue;
        srv_metrics_closed("login_timeout");
        lws_close_reason(c->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, NULL, 0);
        c->refused = 1;
        srv_submit_refusal(s, c, CHAT_ERR_LOGIN_TIMEOUT, "no login within the challenge lifetime",
                           0);
    }
    lws_sul_schedule(s->lws, 0, sul, tick, LWS_US_PER_SEC);
}

void srv_queue_bytes(const srv *s, int64_t *total, int64_t *largest)
{
    int64_t t = 0, m = 0;
    for (const srv_conn *c = s->conns; c; c = c->next) {
        t += (int64_t)c->out_bytes;
        if ((int64_t)c->out_bytes > m)
            m = (int64_t)c->out_bytes;
    }
    *total = t;
    *largest = m;
}

static void lws_logger(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    srv_log(level == LLL_ERR ? SRV_LOG_ERROR : level == LLL_WARN ? SRV_LOG_WARN : SRV_LOG_DEBUG,
            "lws: %.*s", (int)n, line);
}

/* Over a shared store: wakes the loop so that srv_transport_run takes the
 * notices between batches. */
static void relay_tick(lws_sorted_usec_list_t *sul)
{
    lws_sul_schedule(the_srv->lws, 0, sul, relay_tick, RELAY_POLL_US);
}

static void loop_close(void)
{
    if (!loop_open)
        return;
    ev_loop_destroy(loop);
    loop = NULL;
    loop_open = 0;
}

/* All zero: no validity PING, no validity hang-up (see below). */
static const lws_retry_bo_t no_validity;

int srv_transport_start(srv *s)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    the_srv = s;
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_logger);
    info.port = s->cfg.port;
    info.iface = s->cfg.listen;
    info.protocols = protocols;
    info.gid = -1;
    info.uid = -1;
    info.options = LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE |
                   LWS_SERVER_OPTION_LIBEV;
    /* Ours, so that srv_transport_run decides what a turn is; one loop,
     * since libwebsockets runs one service thread here.  EVFLAG_AUTO is
     * epoll on Linux; EVFLAG_NOSIGMASK leaves the signal mask alone (our
     * SIGTERM handler is a plain sigaction, main.c). */
    loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
    if (!loop) {
        srv_log(SRV_LOG_ERROR, "cannot create the event loop");
        return -1;
    }
    loop_open = 1;
    void *foreign[1] = {loop};
    info.foreign_loops = foreign;
    if (s->cfg.tls_cert) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = s->cfg.tls_cert;
        info.ssl_private_key_filepath = s->cfg.tls_key;
    }
    /* No fd_limit_per_thread: below the process limit, libwebsockets
     * finds a socket's connection by a linear search of its table at every
     * event; at the limit (main.c raises it) it indexes by descriptor.
     * --max-connections is enforced on ESTABLISHED instead. */
    info.fd_limit_per_thread = 0;
    /* A peer that vanished without closing (cable pulled, host gone) is
     * found by the WebSocket idle policy, and by TCP keepalive where no
     * WebSocket runs: probes after ka_time idle seconds, every
     * ka_interval, ka_probes of them. */
    info.ka_time = (int)s->cfg.ping_interval;
    info.ka_interval = 5;
    info.ka_probes = 3;
    /* No validity timers: the tick above does that job.  libwebsockets
     * otherwise gives every connection its default policy (a PING after
     * 300 s, hang-up at 310 s), armed when the connection is established
     * and re-armed on its proofs of life, by inserting it into one sorted
     * list of all connections' timers, walked from the front: with 10,000
     * connections open each login walked 10,000 entries (a quarter of the
     * server's time in the logins benchmark, perf; BENCHMARKS.md).  A
     * policy whose hang-up is 0 disarms them for this vhost. */
    info.retry_and_idle_policy = &no_validity;
    /* HTTP requests and handshakes that stall are dropped after this. */
    info.timeout_secs = 20;
    info.pcontext = &s->lws;
    s->lws = lws_create_context(&info);
    if (!s->lws) {
        /* A port taken, or the plugin missing: main.c says which port. */
        srv_log(SRV_LOG_ERROR, "libwebsockets did not start (is its libev event library, "
                               "Debian's libwebsockets-evlib-ev, installed?)");
        loop_close();
        return -1;
    }
    lws_sul_schedule(s->lws, 0, &purge_timer, purge_tick,
                     s->cfg.purge_interval * LWS_US_PER_SEC);
    lws_sul_schedule(s->lws, 0, &tick_timer, tick, LWS_US_PER_SEC);
    if (s->relay)
        lws_sul_schedule(s->lws, 0, &relay_timer, relay_tick, RELAY_POLL_US);
    return 0;
}

/* One turn: wait for the ready sockets and the due timers and run their
 * callbacks.  0 when the loop has nothing left to wait for (no listening
 * socket any more), which ends the service. */
static int turn(void)
{
    return ev_run(loop, EVRUN_ONCE);
}

void srv_transport_run(srv *s)
{
    while (!s->stopping) {
        if (!turn())
            break;
        srv_logins_poll(s);
        srv_batch_end(s);
        srv_relay_poll(s);
        /* The WAL is checkpointed and truncated between batches, every
         * purge interval, so it stays near the size of one interval's
         * writes (SQLite's own checkpoints never shrink it). */
        if (s->checkpoint_due) {
            s->checkpoint_due = 0;
            srv_batch_sync(s);
            srv_logic_checkpoint(&s->logic);
        }
        srv_flush_output(s);
    }
    /* SIGTERM: commit the last batch and what waited for it, so every
     * answer earned is queued; read no more requests (close_after_flush),
     * send what is queued, then a close frame "going away"; new
     * connections are refused. */
    srv_batch_sync(s);
    srv_flush_output(s);
    for (srv_conn *c = s->conns; c; c = c->next) {
        if (!c->close_after_flush)
            lws_close_reason(c->wsi, LWS_CLOSE_STATUS_GOINGAWAY,
                             (unsigned char *)"server stopping", 15);
        c->close_after_flush = 1;
        lws_callback_on_writable(c->wsi);
    }
    int64_t deadline = srv_time() + DRAIN_SECONDS;
    while (s->conns && srv_time() < deadline) {
        if (!turn())
            break;
        srv_logins_poll(s);
        srv_batch_end(s);
        srv_flush_output(s);
    }
    srv_batch_sync(s);
    srv_flush_output(s);
}

void srv_transport_wake(srv *s)
{
    if (s->lws)
        lws_cancel_service(s->lws);
}

void srv_transport_stop(srv *s)
{
    if (s->lws) {
        lws_sul_cancel(&purge_timer);
        lws_sul_cancel(&tick_timer);
        lws_sul_cancel(&relay_timer);
        /* With libev the teardown completes in this call and clears
         * s->lws (info.pcontext); should a close still be pending, one
         * more pass of the loop and a second call finish it (the
         * two-step destruction of foreign loops, libwebsockets 4.1
         * lib/core/context.c). */
        lws_context_destroy(s->lws);
        if (s->lws) {
            ev_run(loop, EVRUN_NOWAIT);
            lws_context_destroy(s->lws);
        }
        s->lws = NULL;
    }
    loop_close();
}
