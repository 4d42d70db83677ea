/*
 * API handlers: parse JSON requests (jansson), check the login challenge,
 * call the delivery logic (logic.h) and serialize its answers and events
 * (docs/PROTOCOL.md).  Handlers never reach the store: every store call
 * and every access rule is logic's.
 */
#ifndef SRV_HANDLERS_H
#define SRV_HANDLERS_H

#include <jansson.h>

#include "srv.h"

/* A WebSocket opened: queue the challenge. */
void srv_handle_open(srv *s, srv_conn *c);
/* One complete WebSocket text message. */
void srv_handle_message(srv *s, srv_conn *c, const char *text, size_t len);
/* After each loop turn: finishes the logins whose signature the verifier
 * thread checked (their answers are held as any other), then runs what
 * their connections sent meanwhile. */
void srv_logins_poll(srv *s);
/* A connection closes: its login in the verifier is forgotten and what it
 * sent meanwhile dropped. */
void srv_logins_forget(srv_conn *c);
/* Starts the verifier thread (logins are checked on the loop without
 * it), and stops it, letting go of the logins it still had. */
void srv_logins_start(srv *s, void (*wake)(void *ctx), void *ctx);
void srv_logins_stop(srv *s);
/* A complete message that broke a transport limit or rule. */
void srv_handle_refusal(srv *s, srv_conn *c, enum chat_err code, const char *message);
/* An HTTP GET (http.c): fills c->http_status / http_body / http_type
 * (held). */
void srv_handle_http(srv *s, srv_conn *c, const char *method, const char *uri);
/* A user's public members (id, name, suite, signature key, fingerprint),
 * as login, user.lookup and GET /v1/users/<name> answer them. */
void srv_user_json(json_t *o, const srv_user *u);
/* A log event's frame, for as many connections as it goes to (refs 1):
 * an entry without meta written straight into it (event_text.c). */
srv_payload *srv_event_log_payload(const srv_group *g, const srv_log_entry *entry);
/* The JSON text of an inbox event (malloc'd). */
char *srv_event_inbox_text(const srv_inbox_entry *entry);
/* Periodic maintenance: purging per the retention options. */
void srv_handle_purge(srv *s);
/* Sets up s->logic on store with s->cfg's limits, the system clock and
 * the event sink that turns log and inbox events into held pushes to the
 * users' connections.  Call once cfg is final, before serving. */
void srv_handlers_init(srv *s, srv_store *store);

#endif
