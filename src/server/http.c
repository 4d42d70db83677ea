/*
 * The HTTP endpoints beside the WebSocket (docs/PROTOCOL.md §8):
 * GET /health, /metrics (Prometheus text, metrics.c) and
 * /v1/users/<name>.  The answer is held like any other (batch.c) and
 * written by the transport.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "logic.h"
#include "metrics.h"
#include "proto.h"

static void http_reply(srv *s, srv_conn *c, int status, const char *type, char *body)
{
    c->http_status = status;
    c->http_type = type;
    free(c->http_body);
    c->http_body = body;
    c->http_len = body ? strlen(body) : 0;
    srv_hold(s, c, NULL, 1, -1, "http", srv_now_us());
}

/* A JSON body (o taken; NULL when out of memory: an empty 200 or 503
 * body, as before when dumping failed). */
static void http_json(srv *s, srv_conn *c, int status, json_t *o)
{
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    http_reply(s, c, status, "application/json", body);
}

/* An HTTP error body with the code's default text (PROTOCOL.md §8). */
static void http_refuse(srv *s, srv_conn *c, int status, enum chat_err code)
{
    srv_metrics_refused(chat_err_name(code));
    http_json(s, c, status,
              json_pack("{s:s,s:s}", "error", chat_err_name(code), "message", chat_err_text(code)));
}

static void http_user(srv *s, srv_conn *c, const char *name)
{
    srv_user u;
    srv_err e;
    if (srv_logic_user_lookup(&s->logic, name, 0, &u, &e)) {
        http_refuse(s, c,
                    e.code == CHAT_ERR_BAD_USERNAME  ? 400
                    : e.code == CHAT_ERR_UNKNOWN_USER ? 404
                                                      : 500,
                    e.code);
        return;
    }
    json_t *o = json_object();
    if (o)
        srv_user_json(o, &u);
    http_json(s, c, 200, o);
}

void srv_handle_http(srv *s, srv_conn *c, const char *method, const char *uri)
{
    if (strcmp(method, "GET") != 0) {
        http_refuse(s, c, 405, CHAT_ERR_METHOD_NOT_ALLOWED);
        return;
    }
    if (strcmp(uri, "/health") == 0) {
        /* 503 when the store no longer takes writes: a load balancer or
         * supervisor sees what every write request would see. */
        const char *why = NULL;
        int bad = srv_logic_health(&s->logic, &why) != 0;
        json_t *o = json_pack("{s:s}", "status", bad ? "failing" : "ok");
        if (bad)
            json_object_set_new(o, "reason", json_string(why));
        json_object_set_new(o, "version", json_string(SRV_VERSION));
        json_object_set_new(o, "uptime", json_integer(srv_time() - s->started));
        http_json(s, c, bad ? 503 : 200, o);
    } else if (strcmp(uri, "/metrics") == 0) {
        mls_buf b;
        mls_buf_init(&b);
        char *body = NULL;
        const char *why = NULL;
        srv_gauges g;
        memset(&g, 0, sizeof g);
        g.db_bytes = srv_logic_store_bytes(&s->logic, &g.wal_bytes);
        srv_queue_bytes(s, &g.queue_bytes, &g.queue_max);
        g.store_ok = srv_logic_health(&s->logic, &why) == 0;
        g.uptime = (double)(srv_time() - s->started);
        if (!srv_metrics_render(&b, &g) &&
            (body = malloc(b.n + 1)) != NULL) {
            memcpy(body, b.p, b.n);
            body[b.n] = 0;
        }
        mls_buf_clear(&b);
        http_reply(s, c, body ? 200 : 500, "text/plain; version=0.0.4", body);
    } else if (strncmp(uri, "/v1/users/", 10) == 0) {
        http_user(s, c, uri + 10);
    } else {
        http_refuse(s, c, 404, CHAT_ERR_NOT_FOUND);
    }
}
