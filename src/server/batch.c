/*
 * One database transaction per event-loop turn, and the output it holds
 * back: responses and events are released only after COMMIT returned, so
 * nothing is acknowledged before it is durable (docs/PROTOCOL.md §10).
 */
#include <jansson.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    h->is_response = is_response;
    h->id = id;
    h->type = type;
    h->t0_us = t0_us;
    if (s->held_tail)
        s->held_tail->next = h;
    else
        s->held_head = h;
    s->held_tail = h;
}

void srv_hold_forget(srv *s, srv_conn *c)
{
    for (srv_held *h = s->held_head; h; h = h->next)
        if (h->conn == c)
            h->conn = NULL;
}

void srv_send_now(srv *s, srv_conn *c, const char *text)
{
    size_t n = strlen(text);
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
    srv_out *o = malloc(sizeof *o + LWS_PRE + n + 1);
    if (!o)
        return;
    o->next = NULL;
    o->len = n;
    memcpy(o->text + LWS_PRE, text, n + 1);
    if (c->out_tail)
        c->out_tail->next = o;
    else
        c->out_head = o;
    c->out_tail = o;
    c->out_bytes += n;
    (void)s;
    lws_callback_on_writable(c->wsi);
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

void srv_batch_end(srv *s)
{
    int failed = 0;
    if (s->in_batch) {
        s->in_batch = 0;
        if (srv_logic_batch_commit(&s->logic)) {
            srv_log(SRV_LOG_ERROR, "commit failed: refusing the turn's requests");
            failed = 1;
        }
        /* Committed entries go out first, then what the turn held (the
         * same order as without a relay: events before responses). */
        if (failed)
            srv_relay_drop(s);
        else
            srv_relay_flush(s);
    }
    srv_held *h = s->held_head;
    s->held_head = s->held_tail = NULL;
    int64_t now = srv_now_us();
    while (h) {
        srv_held *next = h->next;
        srv_conn *c = h->conn;
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
        } else if (c && !failed && h->text) {
            srv_send_now(s, c, h->text);
        }
        if (h->is_response && h->type)
            srv_metrics_request(h->type, (double)(now - h->t0_us) / 1e6);
        free(h->text);
        free(h);
        h = next;
    }
}

srv_user_state *srv_user_state_get(srv *s, int64_t user_id)
{
    for (srv_user_state *u = s->users; u; u = u->next)
        if (u->user_id == user_id) {
            u->refs++;
            return u;
        }
    srv_user_state *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->user_id = user_id;
    u->refs = 1;
    u->next = s->users;
    s->users = u;
    return u;
}

/* Idle user states are kept a while so a reconnect does not reset the
 * claim limit; srv_user_state_put frees those idle for 10 minutes. */
void srv_user_state_put(srv *s, srv_user_state *u)
{
    int64_t now = srv_time();
    if (u && --u->refs == 0)
        u->idle_since = now;
    srv_user_state **pp = &s->users;
    while (*pp) {
        srv_user_state *x = *pp;
        if (x->refs == 0 && now - x->idle_since > 600) {
            *pp = x->next;
            free(x);
        } else {
            pp = &x->next;
        }
    }
}
