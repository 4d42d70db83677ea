/*
 * API handlers: parse JSON requests (jansson), authenticate, validate, call
 * the delivery logic and build responses and events (docs/PROTOCOL.md).
 */
#ifndef SRV_HANDLERS_H
#define SRV_HANDLERS_H

#include "srv.h"

/* A WebSocket opened: queue the challenge. */
void srv_handle_open(srv *s, srv_conn *c);
/* One complete WebSocket text message. */
void srv_handle_message(srv *s, srv_conn *c, const char *text, size_t len);
/* A complete message that broke a transport limit or rule. */
void srv_handle_refusal(srv *s, srv_conn *c, const char *code, const char *message);
/* An HTTP GET: fills c->http_status / http_body / http_type (held). */
void srv_handle_http(srv *s, srv_conn *c, const char *method, const char *uri);
/* Periodic maintenance: purging per the retention options. */
void srv_handle_purge(srv *s);

#endif
