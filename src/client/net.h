/*
 * Network layer and event loop: one libwebsockets context serves the
 * WebSocket to the server (PROTOCOL.md §1), the terminal (stdin, adopted
 * as a raw file descriptor), a self-pipe for signals, and timers.  No
 * threads.
 *
 * The connection reconnects by itself with exponential backoff after any
 * loss; requests get increasing ids and their replies are matched by id.
 * When the connection closes, every request still waiting for a reply is
 * answered with reply == NULL, so the layers above can resend what they
 * must after reconnecting.  A keepalive ping detects dead links.
 */
#ifndef CLI_NET_H
#define CLI_NET_H

#include <stdint.h>

#include <jansson.h>
#include <libwebsockets.h>

struct cli_net;

struct cli_net_handlers {
    /* The WebSocket is open (the server's challenge event follows). */
    void (*on_open)(void *ctx);
    /* The connection closed or could not be made; a reconnect is
     * already scheduled. `why` is a short reason for the user. */
    void (*on_close)(void *ctx, const char *why);
    /* A server event (a JSON object with "event"); borrowed. */
    void (*on_event)(void *ctx, json_t *ev);
    /* Called before anything above the event loop runs: a handler, a
     * reply callback (cb and cb_ctx are the one about to run; NULL
     * otherwise), a timer or a watched descriptor's callback.  The
     * client's catch-up keeps a group's last batch verifying across
     * loop turns and settles it here (sync.c, "carried piece"), so that
     * only the reading and JSON parsing of the next message run beside
     * it.  Optional. */
    void (*before)(void *ctx, void (*cb)(void *cb_ctx, json_t *reply), void *cb_ctx);
    void *ctx;
};

/* reply is borrowed; NULL when the connection closed first. */
typedef void (*cli_net_reply_cb)(void *ctx, json_t *reply);

/* Parses url (http:// or https://, host, optional port and path prefix)
 * and creates the event loop.  ca_file (may be NULL) is an extra CA
 * bundle for https.  err gets a readable reason on failure. */
int cli_net_new(const char *url, const char *ca_file, const struct cli_net_handlers *h,
                struct cli_net **out, char *err, size_t errlen);
void cli_net_free(struct cli_net *n);

/* Starts connecting now (no-op when connected or connecting). */
void cli_net_connect(struct cli_net *n);
/* Milliseconds until the next reconnect try (0 when none is scheduled:
 * connected, connecting or stopped). */
uint64_t cli_net_reconnect_in_ms(const struct cli_net *n);
/* Tries at once instead of at the scheduled time (the backoff is kept
 * for the next failure).  1 if a try started, 0 if there was nothing to
 * do (connected, connecting or stopped). */
int cli_net_reconnect_now(struct cli_net *n);
/* After a successful login: the next loss reconnects quickly again. */
void cli_net_backoff_reset(struct cli_net *n);
/* Closes the connection (on_close follows, then a reconnect). */
void cli_net_drop(struct cli_net *n);
/* Stops reconnecting (when quitting). */
void cli_net_stop(struct cli_net *n);
/* 1 when the WebSocket is open. */
int cli_net_is_open(const struct cli_net *n);
/* "host:port" for file names and messages. */
const char *cli_net_endpoint(const struct cli_net *n);

/* Sends req (stolen; an "id" is set) and calls cb with the reply.  Returns
 * the id, or -1 if not connected (cb is not called then). */
int64_t cli_net_request(struct cli_net *n, json_t *req, cli_net_reply_cb cb, void *ctx);
/* Forgets the callbacks of pending requests whose ctx is ctx (the object
 * is going away); their replies are then ignored. */
void cli_net_forget(struct cli_net *n, void *ctx);

/* Calls cb whenever fd is readable.  Returns 0 or -1. */
int cli_net_watch_fd(struct cli_net *n, int fd, void (*cb)(void *ctx), void *ctx);
/* Stops watching fd (e.g. at end of input). */
void cli_net_unwatch_fd(struct cli_net *n, int fd);

struct cli_timer {
    lws_sorted_usec_list_t sul; /* first: the scheduler links it */
    struct cli_net *net;
    void (*cb)(void *ctx);
    void *ctx;
};
/* (Re)schedules t to fire once after ms milliseconds. */
void cli_timer_start(struct cli_net *n, struct cli_timer *t, uint64_t ms, void (*cb)(void *ctx),
                     void *ctx);
void cli_timer_stop(struct cli_timer *t);

/* One turn of the event loop (waits for something to happen). */
int cli_net_service(struct cli_net *n);

#endif
