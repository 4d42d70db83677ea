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

srv_payload *srv_payload_adopt(char *block, size_t len)
{
    srv_payload *p = (srv_payload *)(void *)block;
    p->refs = 1;
    p->len = len;
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
    for (srv_held *h = s->unsynced_head; h; h = h->next)
        if (h->conn == c)
            h->conn = NULL;
    for (srv_queued *p = s->pending_head; p; p = p->next)
        if (p->conn == c)
            p->conn = NULL;
    c->n_pending = 0;
    c->pending_bytes = 0;
}

/* ------------------------------------------------------------ pending */

/* A request waits while another waits before it, or while the database
 * thread has the store (a COMMIT or a checkpoint in flight; a plain sync
 * leaves it to the loop). */
static int must_wait(const srv *s)
{
    return (s->in_flight && s->flight_exclusive) || s->pending_head;
}

/* A copy of a request to run later, appended to a list (head, tail); out
 * of memory, the connection is closed instead. */
static srv_queued *enqueue(srv_queued **head, srv_queued **tail, srv_conn *c,
                           enum srv_queued_kind kind, enum chat_err code, int flag,
                           const char *text, size_t len)
{
    srv_queued *p = malloc(sizeof *p + len + 1);
    if (!p) {
        srv_log(SRV_LOG_ERROR, "out of memory queuing a request: closing the connection");
        c->close_after_flush = 1;
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
        return NULL;
    }
    p->next = NULL;
    p->conn = c;
    p->kind = kind;
    p->code = code;
    p->flag = flag;
    p->len = len;
    memcpy(p->text, text, len);
    p->text[len] = 0;
    if (*tail)
        (*tail)->next = p;
    else
        *head = p;
    *tail = p;
    return p;
}

static void pend(srv *s, srv_conn *c, enum srv_queued_kind kind, enum chat_err code, int flag,
                 const char *text, size_t len)
{
    if (!enqueue(&s->pending_head, &s->pending_tail, c, kind, code, flag, text, len))
        return;
    c->n_pending++;
    c->pending_bytes += len;
    srv_rx_update(c);
}

/* A request that arrives while the connection's login is verified waits
 * for it, in order (handlers.c srv_logins_poll). */
void srv_later_push(srv_conn *c, const char *text, size_t len)
{
    if (!enqueue(&c->later_head, &c->later_tail, c, SRV_QUEUED_MESSAGE, CHAT_ERR_NONE, 0, text,
                 len))
        return;
    c->n_later++;
    c->later_bytes += len;
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
    int pause = !c->is_http && (c->n_pending + c->n_later >= SRV_QUEUED_MAX ||
                                c->pending_bytes + c->later_bytes > SRV_OUTQ_PAUSE ||
                                backlogged(c));
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
    srv_rx_update(c);
    srv_conn_dirty(s, c);
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
    /* A group's online members may have been read from a roster the
     * failed batch changed (online.c). */
    if (failed)
        srv_online_clear(s);
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

/* Waits for the disk (syncs; COMMITs over PostgreSQL) averaging up to
 * this long may run on the loop for a lone request (hand_over). */
#define SRV_INLINE_COMMIT_US 1000

static void note_commit_time(srv *s, int64_t us)
{
    s->commit_avg_us = (7 * s->commit_avg_us + us) / 8;
}

/* A store whose COMMIT is durable only after a sync (SQLite, store.h). */
static int syncs(srv *s)
{
    return srv_logic_batch_syncs(&s->logic);
}

static void finish_flight(srv *s, int failed)
{
    if (failed)
        srv_log(SRV_LOG_ERROR, "commit failed: refusing the batch's requests");
    s->in_flight = 0;
    s->flight_exclusive = 0;
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
    if (failed) {
        /* Batches committed after a failed sync chain on what may be
         * lost, and the store takes no more writes (store.h "sync"). */
        h = s->unsynced_head;
        s->unsynced_head = s->unsynced_tail = NULL;
        release(s, h, 1);
    }
}

static void append_unsynced(srv *s, srv_held *h, srv_held *tail)
{
    if (!h)
        return;
    if (s->unsynced_tail)
        s->unsynced_tail->next = h;
    else
        s->unsynced_head = h;
    s->unsynced_tail = tail;
}

/* One sync for every batch committed and not yet synced. */
static void start_sync(srv *s)
{
    if (s->in_flight || !s->unsynced_head)
        return;
    s->flight_head = s->unsynced_head;
    s->unsynced_head = s->unsynced_tail = NULL;
    s->in_flight = 1;
    s->flight_exclusive = srv_logic_checkpoint_due(&s->logic);
    srv_metrics_sync(1);
    srv_dbthread_sync(&s->db, s->flight_exclusive);
}

/* Blocks until the job in flight, if any, returned, and releases its
 * output. */
static void wait_flight(srv *s)
{
    if (!s->in_flight)
        return;
    int failed = srv_dbthread_wait(&s->db);
    /* Written by the thread before it set "finished" under the mutex
     * that srv_dbthread_wait took. */
    note_commit_time(s, s->db.commit_us);
    finish_flight(s, failed);
}

/* The open batch's COMMIT and the release of what it holds.
 *
 * A store that syncs (SQLite): the loop COMMITs here, without waiting for
 * the disk, and the batch's output waits for a sync on the database
 * thread, which covers every batch committed before it started; the next
 * batch runs meanwhile (dbthread.c).  Except a batch of one request while
 * nothing else waits and syncs are short: handing over and back costs two
 * thread wake-ups (a futex for the thread, then the loop's eventfd), about
 * 60-70 µs on the 2-core machine of BENCHMARKS.md against a sync of
 * 130-190 µs, and with one request in the turn there is nothing for the
 * loop to do meanwhile but wait for its next request, which its client
 * sends only after this answer.  Such a batch is synced here; the loop is
 * held for one sync, on average under SRV_INLINE_COMMIT_US (1 ms).
 *
 * Otherwise (PostgreSQL) the whole COMMIT goes to the thread, or runs
 * here for a lone request under the same rule.
 *
 * Output of a turn that opened no transaction (pings, refusals) goes out
 * now, or after the batches before it when some wait for the disk, so a
 * connection's answers keep their order. */
static void hand_over(srv *s)
{
    int requests = s->batch_requests;
    s->batch_requests = 0;
    srv_held *h = s->held_head, *tail = s->held_tail;
    s->held_head = s->held_tail = NULL;
    if (!s->in_batch) {
        if (s->in_flight || s->unsynced_head)
            append_unsynced(s, h, tail);
        else
            release(s, h, 0);
        return;
    }
    s->in_batch = 0;
    srv_metrics_commit(requests);
    /* Without a database thread (a harness, or none could start) every
     * batch is made durable here, the old way. */
    int alone = !s->db.running || (requests <= 1 && !s->in_flight && !s->unsynced_head &&
                                   s->commit_avg_us <= SRV_INLINE_COMMIT_US);
    if (syncs(s)) {
        if (srv_logic_batch_commit(&s->logic) != 0) {
            /* Rolled back (disk full...): the batches before it are
             * answered first. */
            wait_flight(s);
            start_sync(s);
            wait_flight(s);
            srv_log(SRV_LOG_ERROR, "commit failed: refusing the batch's requests");
            release(s, h, 1);
            return;
        }
        if (alone) {
            srv_metrics_sync(0);
            int64_t t0 = srv_now_us();
            int failed =
                srv_logic_batch_sync(&s->logic, srv_logic_checkpoint_due(&s->logic)) != 0;
            note_commit_time(s, srv_now_us() - t0);
            if (failed)
                srv_log(SRV_LOG_ERROR, "sync failed: refusing the batch's requests");
            release(s, h, failed);
            return;
        }
        append_unsynced(s, h, tail);
        start_sync(s);
    } else if (alone) {
        srv_metrics_sync(0);
        s->flight_head = h;
        int64_t t0 = srv_now_us();
        int failed = srv_logic_batch_commit(&s->logic) != 0;
        note_commit_time(s, srv_now_us() - t0);
        finish_flight(s, failed);
    } else {
        srv_metrics_sync(1);
        s->flight_head = h;
        s->in_flight = 1;
        s->flight_exclusive = 1;
        srv_dbthread_commit(&s->db);
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
        if (srv_dbthread_done(&s->db, &failed)) {
            note_commit_time(s, s->db.commit_us);
            finish_flight(s, failed);
        } else if (s->flight_exclusive) {
            return; /* the store is the thread's until its job returned */
        }
    }
    run_waiting(s);
    hand_over(s);
    start_sync(s);
}

void srv_batch_sync(srv *s)
{
    if (s->flight_exclusive)
        wait_flight(s);
    run_waiting(s);
    hand_over(s);
    while (s->in_flight || s->unsynced_head) {
        wait_flight(s);
        start_sync(s);
    }
}
