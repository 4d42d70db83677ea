/*
 * The server's shared state: configuration, connections, and the output
 * queue that holds responses and events until the turn's database
 * transaction has committed (docs/PROTOCOL.md §10).
 */
#ifndef SRV_SRV_H
#define SRV_SRV_H

#include <stdint.h>
#include <stddef.h>

#include "auth.h"
#include "dbthread.h"
#include "logic.h"
#include "ratelimit.h"
#include "store.h"
#include "verifier.h"

#define SRV_VERSION "0.1.0"
#define SRV_OUTQ_MAX (16u << 20)
/* A connection whose answers, queued or held for the COMMIT, exceed this
 * has its reading paused and its requests already queued kept waiting: a
 * client that does not read its answers gets no new ones built (each may
 * be a --page-bytes page), so it costs neither CPU nor memory beyond this
 * plus one answer; it is served again as its queue drains. */
#define SRV_OUTQ_PAUSE (1u << 20)

typedef struct srv_config {
    int port;
    const char *listen;
    const char *database;
    const char *pidfile;
    const char *tls_cert;
    const char *tls_key;
    size_t max_message;
    int max_connections;
    double rate, user_rate, claim_rate;
    int64_t retention, kp_ttl, purge_interval, name_reserve;
    /* Hardening limits (docs/PROTOCOL.md §11); 0 turns a rate off. */
    int64_t login_timeout;     /* seconds an unauthenticated WebSocket may stay */
    int max_per_address;       /* open WebSockets per peer address */
    double register_rate;      /* registrations per minute per peer address */
    double invite_rate;        /* Welcome recipients per minute per inviter */
    double claim_target_rate;  /* kp.claim per minute per target */
    double last_resort_rate;   /* last-resort handouts per hour per target */
    int64_t inbox_max, inbox_max_bytes, inbox_ttl;
    int64_t page_bytes;        /* byte budget of a log.fetch / inbox.fetch page */
    int64_t ping_interval;     /* idle seconds before a WebSocket PING */
    int64_t idle_timeout;      /* seconds without proof of life before hang-up */
} srv_config;

struct srv_conn;

/* Per-user state shared by that user's connections: rate limits that a
 * reconnect must not reset, and the user's open connections, so that an
 * event for a user costs one hash lookup (users.c). */
typedef struct srv_user_state {
    int64_t user_id;
    int refs;
    int64_t idle_since;
    srv_bucket requests, claims, invites;
    struct srv_conn *conns; /* authenticated connections of this user */
    struct srv_user_state *next; /* hash chain */
} srv_user_state;

/* The text of one frame, built once and queued for every connection it
 * goes to (an event for a group's online members): counted references,
 * used by the loop thread only.  buf holds LWS_PRE bytes where
 * libwebsockets writes the frame header, then the text and a NUL; the
 * header of a server's unmasked text frame depends only on the length,
 * so the connections writing it in turn write the same bytes there. */
typedef struct srv_payload {
    int refs;
    size_t len;
    unsigned char buf[];
} srv_payload;

typedef struct srv_out {
    struct srv_out *next;
    srv_payload *p;
} srv_out;

#define SRV_ADDR_MAX 63

typedef struct srv_conn {
    struct lws *wsi;
    int is_http;
    char addr[SRV_ADDR_MAX + 1]; /* peer address, for per-address limits */
    int64_t opened;              /* wall seconds, for the login deadline */
    int64_t user_id; /* 0 until authenticated */
    char username[SRV_NAME_MAX + 1];
    uint16_t suite;
    srv_user_state *ustate;
    struct srv_conn *user_prev, *user_next; /* ustate->conns */
    uint8_t nonce[SRV_NONCE_LEN];
    int64_t nonce_time; /* wall clock seconds; 0 when consumed */
    srv_bucket requests;
    uint8_t *rx;
    size_t rx_len, rx_cap;
    srv_out *out_head, *out_tail;
    size_t out_bytes;
    size_t held_bytes; /* answers built, held for the batch's COMMIT */
    int n_pending;  /* requests queued while a COMMIT is in flight */
    size_t pending_bytes; /* and their size */
    int rx_paused;  /* reading stopped: requests queued or answers unread */
    int close_after_flush;
    int refused;    /* a refusal that closes it is queued: read no more */
    int64_t alive_us;  /* the peer's last proof of life: a frame or a PONG */
    int64_t pinged_us; /* our last PING */
    int want_ping;     /* send a PING when writable */
    int corked;        /* TCP_CORK since the handshake, until the challenge is out */
    /* Output queued this turn, written at its end (srv_flush_output). */
    int dirty;
    struct srv_conn *dirty_prev, *dirty_next;
    /* A login whose signature the verifier thread checks (verifier.h):
     * the connection's later requests wait, in order, until it is done. */
    int verifying;
    struct srv_verify_job *verify_job;
    struct srv_queued *later_head, *later_tail;
    int n_later;
    size_t later_bytes;
    int http_status;
    char *http_body;
    size_t http_len;
    const char *http_type;
    struct srv_conn *prev, *next;
} srv_conn;

/* A response or event waiting for the batch's COMMIT. */
typedef struct srv_held {
    struct srv_held *next;
    srv_conn *conn;        /* NULL once the connection closed */
    int is_response;
    int64_t id;            /* request id, -1 for null */
    const char *type;      /* request type (static: proto.h), for the failure case */
    int64_t t0_us;         /* request arrival, for the latency histogram */
    int http_status;       /* for HTTP connections */
    char *text;            /* a response's own text */
    srv_payload *shared;   /* or an event's, shared by its recipients */
} srv_held;

/* What arrived while a COMMIT was in flight, to run after it, in arrival
 * order (dbthread.c). */
enum srv_queued_kind { SRV_QUEUED_MESSAGE, SRV_QUEUED_HTTP, SRV_QUEUED_REFUSAL };

typedef struct srv_queued {
    struct srv_queued *next;
    srv_conn *conn; /* NULL once the connection closed */
    enum srv_queued_kind kind;
    enum chat_err code;     /* a refusal's */
    int flag;               /* refusal: too large (close 1009); HTTP: a GET */
    size_t len;
    char text[];            /* the message, the URI or the refusal's text */
} srv_queued;

/* Requests a connection may have queued before its reading pauses (also
 * past SRV_OUTQ_PAUSE bytes of them). */
#define SRV_QUEUED_MAX 64

typedef struct srv_addr_count srv_addr_count; /* addrs.c */

/* Delivery between processes over a shared store (relay.c). */
typedef struct srv_relay srv_relay;

/* Users whose first connection authenticated, remembered for bringing
 * the groups' online lists up to date (online.c). */
#define SRV_ONLINE_RING 4096
typedef struct srv_gonline srv_gonline;

typedef struct srv {
    srv_config cfg;
    srv_logic logic; /* the store and the delivery rules (logic.h) */
    struct lws_context *lws;
    srv_conn *conns;
    int n_conns;
    srv_conn *dirty; /* connections given output this turn (srv_flush_output) */
    srv_addr_count **addrs; /* open WebSockets per peer address (addrs.c) */
    size_t n_addr_buckets, n_addrs;
    srv_user_state **users;  /* hash by user id, n_user_buckets chains */
    size_t n_user_buckets, n_users;
    int in_batch;
    srv_held *held_head, *held_tail;  /* the open batch's output */
    srv_dbthread db;                  /* COMMITs batches off the loop */
    srv_verifier verifier;            /* checks login signatures off the loop */
    int in_flight;                    /* a COMMIT or a sync is in flight */
    int flight_exclusive;             /* ...that keeps the loop off the store */
    srv_held *flight_head;            /* its output, released after COMMIT */
    /* Output of batches committed but not yet synced (a store that syncs,
     * store.h), in order; the next sync takes it all. */
    srv_held *unsynced_head, *unsynced_tail;
    int batch_requests;               /* requests run in the open batch */
    int64_t commit_avg_us;            /* moving average of COMMIT times */
    srv_queued *pending_head, *pending_tail;
    int purge_due;                    /* the purge tick waits for the store */
    int64_t started;
    srv_bucket_map registrations; /* by peer address */
    int checkpoint_due;           /* the purge tick asks for a WAL checkpoint */
    srv_relay *relay;             /* NULL unless the store is shared (PostgreSQL) */
    srv_gonline **online;         /* per group, its online members (online.c) */
    size_t n_online_groups;
    uint64_t online_gen;          /* users who came online so far */
    int64_t online_ring[SRV_ONLINE_RING];
    volatile int stopping;
} srv;

/* Wall-clock Unix seconds. */
int64_t srv_time(void);

/* The online members of groups (online.c): a user's first authenticated
 * connection, a group whose roster may have changed, everything (a batch
 * failed), and the group's online member ids, valid until the next call
 * (-1 on a store error). */
void srv_online_came(srv *s, int64_t user_id);
void srv_online_forget_group(srv *s, int64_t ref);
void srv_online_clear(srv *s);
void srv_online_free(srv *s);
int srv_online_members(srv *s, const srv_group *g, const int64_t **ids, size_t *n);

/* Opens the turn's transaction if it is not open yet. */
int srv_batch_ensure(srv *s);
/* After every loop turn: releases the output of a batch whose COMMIT
 * returned, runs what waited for it, and hands the turn's batch to the
 * database thread (or releases the output when none was opened). */
void srv_batch_end(srv *s);
/* The same, but waits for every COMMIT: nothing is in flight after it
 * (shutdown, checkpoints). */
void srv_batch_sync(srv *s);

/* A complete WebSocket message, an HTTP GET / other method, or a
 * transport refusal (closing the connection after it): run now, or
 * queued while a COMMIT is in flight, so the store is never used by the
 * loop and the database thread at once and every connection's answers
 * keep their order. */
void srv_submit_message(srv *s, srv_conn *c, const char *text, size_t len);
void srv_submit_http(srv *s, srv_conn *c, int is_get, const char *uri);
void srv_submit_refusal(srv *s, srv_conn *c, enum chat_err code, const char *message,
                        int too_large);

/* Queues text (taken over, malloc'd) for conn after the batch commits. */
void srv_hold(srv *s, srv_conn *c, char *text, int is_response, int64_t id, const char *type,
              int64_t t0_us);
/* A payload of text (copied), one reference; NULL without memory. */
srv_payload *srv_payload_new(const char *text);
/* Where a payload's text starts in its block. */
#define SRV_PAYLOAD_TEXT_AT (offsetof(srv_payload, buf) + LWS_PRE)
/* The payload (refs 1) of a malloc'd block whose text, len bytes and a
 * NUL, was written at SRV_PAYLOAD_TEXT_AT: no copy. */
srv_payload *srv_payload_adopt(char *block, size_t len);
/* Drops a reference; the last frees it. */
void srv_payload_put(srv_payload *p);
/* srv_hold for an event sent to many connections: queues a reference to
 * p, built once (the caller keeps its own reference). */
void srv_hold_shared(srv *s, srv_conn *c, srv_payload *p);
/* Drops held output and queued requests of a closing connection. */
void srv_hold_forget(srv *s, srv_conn *c);
/* Appends text to the connection's send queue now (not held). */
void srv_send_now(srv *s, srv_conn *c, const char *text);
/* Pauses or resumes reading the connection's requests after its queued
 * requests or its send queue changed (SRV_QUEUED_MAX, SRV_OUTQ_PAUSE). */
void srv_rx_update(srv_conn *c);
/* A request that waits for the connection's login to be verified
 * (srv_conn.verifying), in order behind the others. */
void srv_later_push(srv_conn *c, const char *text, size_t len);
/* The same with a reference to p (the caller keeps its own). */
void srv_send_payload(srv *s, srv_conn *c, srv_payload *p);
/* Notes that c was given output this turn (transport.c). */
void srv_conn_dirty(srv *s, srv_conn *c);
/* Writes the output of this turn: each connection's queued frames in one
 * send, without waiting for the loop to report it writable. */
void srv_flush_output(srv *s);

/* The state of a user (created with refs 1, or refs + 1), or NULL. */
srv_user_state *srv_user_state_get(srv *s, int64_t user_id);
/* Drops a reference; the state stays a while (srv_user_states_sweep). */
void srv_user_state_put(srv *s, srv_user_state *u);
/* The state of a user if there is one (no reference taken). */
srv_user_state *srv_user_state_find(const srv *s, int64_t user_id);
/* Frees the states idle for 10 minutes (a reconnect within them keeps
 * its limits); srv_user_states_clear frees all. */
void srv_user_states_sweep(srv *s);
void srv_user_states_clear(srv *s);
/* Lists c (authenticated, c->ustate set) among its user's connections,
 * and takes it off again. */
void srv_user_link(srv_conn *c);
void srv_user_unlink(srv_conn *c);

/* Open WebSocket connections from addr (one lookup), counted by
 * srv_addr_add / srv_addr_remove as they open and close. */
int srv_conns_from(const srv *s, const char *addr);
void srv_addr_add(srv *s, const char *addr);
void srv_addr_remove(srv *s, const char *addr);
void srv_addrs_clear(srv *s);
/* Bytes waiting in all send queues, and the largest one. */
void srv_queue_bytes(const srv *s, int64_t *total, int64_t *largest);

#endif
