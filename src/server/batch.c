/*
 * One database transaction per batch, and the output it holds back:
 * responses and events are released only after COMMIT returned, so
 * nothing is acknowledged before it is durable (docs/PROTOCOL.md §10).
 * A batch is what the loop ran in one turn, or, when a COMMIT was in
 * flight, everything that arrived meanwhile; its COMMIT runs on the
 * database thread (dbthread.c explains the design).
 */
#include <jansson.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handlers.h"
#include "log.h"
#include "metrics.h"
#include "relay.h"
#include "srv.h"

int64_t srv_time(void)
{
    return (int64_t)time(NULL);
}

int srv_batch_ensure(srv *s)
{
    if (s->in_batch)
        return 0;
    if (srv_logic_batch_begin(&s->logic))
        return -1;
    s->in_batch = 1;
    return 0;
}

srv_payload *srv_payload_new(const char *text)
{
    size_t n = strlen(text);
    srv_payload *p = malloc(sizeof *p + LWS_PRE + n + 1);
    if (!p)
        return NULL;
    p->refs = 1;
    p->len = n;
    memcpy(p->buf + LWS_PRE, text, n + 1);
    return p;
}

void srv_payload_put(srv_payload *p)
{
    if (p && --p->refs == 0)
        free(p);
}

static void held_append(srv *s, srv_held *h)
{
    if (s->held_tail)
        s->held_tail->next = h;
    else
        s->held_head = h;
    s->held_tail = h;
}

void srv_hold(srv *s, srv_conn *c, char *text, int is_response, int64_t id, const char *type,
              int64_t t0_us)
{
    srv_held *h = calloc(1, sizeof *h);
    if (!h) {
        free(text);
        return;
    }
    h->conn = c;
    h->text = text;
    if (c && text) {
        c->held_bytes += strlen(text);
        srv_rx_update(c);
    }
    h->is_response = is_response;
    h->id = id;
    h->type = type;
    h->t0_us = t0_us;
    held_append(s, h);
}

void srv_hold_shared(srv *s, srv_conn *c, srv_payload *p)
{
    srv_held *h = calloc(1, sizeof *h);
    if (!h)
        return;
    h->conn = c;
    h->id = -1;
    h->shared = p;
    p->refs++;
    held_append(s, h);
}

void srv_hold_forget(srv *s, srv_conn *c)
{
    for (srv_held *h = s->held_head; h; h = h->next)
        if (h->conn == c)
            h->conn = NULL;
    for (srv_held *h = s->flight_head; h; h = h->next)
        if (h->conn == c)
            h->conn = NULL;
    for (srv_queued *p = s->pending_head; p; p = p->next)
        if (p->conn == c)
            p->conn = NULL;
    c->n_pending = 0;
    c->pending_bytes = 0;
}

/* ------------------------------------------------------------ pending */

static int must_wait(const srv *s)
{
    return s->in_flight || s->pending_head;
}

static void pend(srv *s, srv_conn *c, enum srv_queued_kind kind, enum chat_err code, int flag,
                 const char *text, size_t len)
{
    srv_queued *p = malloc(sizeof *p + len + 1);
    if (!p) {
        srv_log(SRV_LOG_ERROR, "out of memory queuing a request: closing the connection");
        c->close_after_flush = 1;
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
        return;
    }
    p->next = NULL;
    p->conn = c;
    p->kind = kind;
    p->code = code;
    p->flag = flag;
    p->len = len;
    memcpy(p->text, text, len);
    p->text[len] = 0;
    if (s->pending_tail)
        s->pending_tail->next = p;
    else
        s->pending_head = p;
    s->pending_tail = p;
    c->n_pending++;
    c->pending_bytes += len;
    srv_rx_update(c);
}

/* Answers not yet read by the client past SRV_OUTQ_PAUSE. */
static int backlogged(const srv_conn *c)
{
    return !c->is_http && c->out_bytes + c->held_bytes > SRV_OUTQ_PAUSE;
}

void srv_rx_update(srv_conn *c)
{
    /* A client that keeps sending while the disk syncs, or that does not
     * read what it asked for, waits on TCP, not on our memory or CPU. */
    int pause = !c->is_http && (c->n_pending >= SRV_QUEUED_MAX ||
                                c->pending_bytes > SRV_OUTQ_PAUSE || backlogged(c));
    if (pause == c->rx_paused)
        return;
    c->rx_paused = pause;
    lws_rx_flow_control(c->wsi, !pause);
}

static void run_refusal(srv *s, srv_conn *c, enum chat_err code, const char *message,
                        int too_large)
{
    srv_handle_refusal(s, c, code, message);
    if (too_large)
        lws_close_reason(c->wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
    c->close_after_flush = 1;
}

void srv_submit_message(srv *s, srv_conn *c, const char *text, size_t len)
{
    if (must_wait(s))
        pend(s, c, SRV_QUEUED_MESSAGE, CHAT_ERR_NONE, 0, text, len);
    else
        srv_handle_message(s, c, text, len);
}

void srv_submit_http(srv *s, srv_conn *c, int is_get, const char *uri)
{
    if (must_wait(s))
        pend(s, c, SRV_QUEUED_HTTP, CHAT_ERR_NONE, is_get, uri, strlen(uri));
    else
        srv_handle_http(s, c, is_get ? "GET" : "POST", uri);
}

void srv_submit_refusal(srv *s, srv_conn *c, enum chat_err code, const char *message,
                        int too_large)
{
    if (must_wait(s))
        pend(s, c, SRV_QUEUED_REFUSAL, code, too_large, message, strlen(message));
    else
        run_refusal(s, c, code, message, too_large);
}

/* Runs what arrived while the COMMIT was in flight, in arrival order,
 * into the (new) open batch. */
static void run_pending(srv *s)
{
    srv_queued *p = s->pending_head;
    s->pending_head = s->pending_tail = NULL;
    while (p) {
        srv_queued *next = p->next;
        srv_conn *c = p->conn;
        if (c && !c->close_after_flush && backlogged(c)) {
            /* Its earlier answers are unread: this request waits, in
             * order, for the next turn after they drain (its held bytes
             * only grow during this loop, so no later one runs first). */
            p->next = NULL;
            if (s->pending_tail)
                s->pending_tail->next = p;
            else
                s->pending_head = p;
            s->pending_tail = p;
            p = next;
            continue;
        }
        if (c) {
            c->n_pending--;
            c->pending_bytes -= p->len;
            /* Nothing after a refusal that closes the connection runs. */
            if (p->kind == SRV_QUEUED_HTTP)
                srv_handle_http(s, c, p->flag ? "GET" : "POST", p->text);
            else if (c->close_after_flush)
                ;
            else if (p->kind == SRV_QUEUED_MESSAGE)
                srv_handle_message(s, c, p->text, p->len);
            else
                run_refusal(s, c, p->code, p->text, p->flag);
            srv_rx_update(c);
        }
        free(p);
        p = next;
    }
}

void srv_send_payload(srv *s, srv_conn *c, srv_payload *p)
{
    size_t n = p->len;
    if (c->out_bytes + n > SRV_OUTQ_MAX) {
        /* A client that does not read: drop it, it catches up later. */
        srv_log(SRV_LOG_WARN, "closing connection of %s: send queue full",
                c->user_id ? c->username : "(anonymous)");
        if (!c->close_after_flush)
            srv_metrics_closed("send_queue");
        c->close_after_flush = 1;
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
        return;
    }
    srv_out *o = malloc(sizeof *o);
    if (!o)
        return;
    o->next = NULL;
    o->p = p;
    p->refs++;
    if (c->out_tail)
        c->out_tail->next = o;
    else
        c->out_head = o;
    c->out_tail = o;
    c->out_bytes += n;
    (void)s;
    srv_rx_update(c);
    lws_callback_on_writable(c->wsi);
}

void srv_send_now(srv *s, srv_conn *c, const char *text)
{
    srv_payload *p = srv_payload_new(text);
    if (!p)
        return;
    srv_send_payload(s, c, p);
    srv_payload_put(p);
}

/* The text a held response becomes when the batch failed to commit. */
static char *internal_error(const srv_held *h)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", h->id < 0 ? json_null() : json_integer(h->id));
    json_object_set_new(o, "type", json_string(h->type));
    json_object_set_new(o, "ok", json_false());
    json_object_set_new(o, "error", json_string(chat_err_name(CHAT_ERR_INTERNAL)));
    json_object_set_new(o, "message", json_string(chat_err_text(CHAT_ERR_INTERNAL)));
    char *t = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return t;
}

/* Sends a batch's output: as it is after COMMIT, or turned into
 * `internal` errors (events dropped) when the COMMIT failed. */
static void release(srv *s, srv_held *h, int failed)
{
    int64_t now = srv_now_us();
    while (h) {
        srv_held *next = h->next;
        srv_conn *c = h->conn;
        if (c && h->text)
            c->held_bytes -= strlen(h->text);
        if (c && c->is_http) {
            lws_callback_on_writable(c->wsi);
        } else if (c && h->is_response) {
            if (failed) {
                srv_metrics_refused(chat_err_name(CHAT_ERR_INTERNAL));
                free(h->text);
                h->text = internal_error(h);
            }
            if (h->text)
                srv_send_now(s, c, h->text);
        } else if (c && !failed && h->shared) {
            srv_send_payload(s, c, h->shared);
        } else if (c && !failed && h->text) {
            srv_send_now(s, c, h->text);
        }
        if (h->is_response && h->type)
            srv_metrics_request(h->type, (double)(now - h->t0_us) / 1e6);
        free(h->text);
        srv_payload_put(h->shared);
        free(h);
        h = next;
    }
}

static void finish_flight(srv *s, int failed)
{
    if (failed)
        srv_log(SRV_LOG_ERROR, "commit failed: refusing the batch's requests");
    s->in_flight = 0;
    /* Committed entries go out first (relay.c reads them from the store,
     * which is the loop's again), then what the batch held: the same
     * order as without a relay, events before responses. */
    if (failed)
        srv_relay_drop(s);
    else
        srv_relay_flush(s);
    srv_held *h = s->flight_head;
    s->flight_head = NULL;
    release(s, h, failed);
}

/* The open batch goes to the database thread with its output; output of
 * a turn that opened no transaction (pings, refusals) goes out now. */
static void hand_over(srv *s)
{
    if (s->in_batch && !s->db.running) {
        /* No database thread (a harness, or none could start): COMMIT
         * here, the old way. */
        s->in_batch = 0;
        s->flight_head = s->held_head;
        s->held_head = s->held_tail = NULL;
        finish_flight(s, srv_logic_batch_commit(&s->logic) != 0);
    } else if (s->in_batch) {
        s->in_batch = 0;
        s->flight_head = s->held_head;
        s->held_head = s->held_tail = NULL;
        s->in_flight = 1;
        srv_dbthread_commit(&s->db);
    } else {
        srv_held *h = s->held_head;
        s->held_head = s->held_tail = NULL;
        release(s, h, 0);
    }
}

static void run_waiting(srv *s)
{
    run_pending(s);
    if (s->purge_due) {
        s->purge_due = 0;
        srv_handle_purge(s);
    }
}

void srv_batch_end(srv *s)
{
    if (s->in_flight) {
        int failed = 0;
        if (!srv_dbthread_done(&s->db, &failed))
            return;
        finish_flight(s, failed);
    }
    run_waiting(s);
    hand_over(s);
}

void srv_batch_sync(srv *s)
{
    if (s->in_flight)
        finish_flight(s, srv_dbthread_wait(&s->db));
    run_waiting(s);
    hand_over(s);
    if (s->in_flight)
        finish_flight(s, srv_dbthread_wait(&s->db));
}
