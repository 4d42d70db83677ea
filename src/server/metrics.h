/* Prometheus counters, gauges and the request latency histogram. */
#ifndef SRV_METRICS_H
#define SRV_METRICS_H

#include <stdint.h>

#include "mls/mls.h"

void srv_metrics_connection(int delta);
void srv_metrics_authenticated(int delta);
/* kind: "commit", "message", "proposal". */
void srv_metrics_accepted(const char *kind);
/* reason: an error code (a string literal, kept by pointer). */
void srv_metrics_refused(const char *reason);
/* type: the request type (copied). */
void srv_metrics_request(const char *type, double seconds);
void srv_metrics_claimed(void);
/* One database COMMIT carrying `requests` requests (batch.c). */
void srv_metrics_commit(int requests);
/* One wait for the disk (a sync, or a COMMIT durable when it returns),
 * on the event loop or on the database thread. */
void srv_metrics_sync(int on_thread);
/* A connection closed by the server's own limits; reason: a literal
 * ("login_timeout", "connection_limit", "send_queue", "stopping"). */
void srv_metrics_closed(const char *reason);

/* What the transport and the store measure at render time. */
typedef struct srv_gauges {
    int64_t db_bytes, wal_bytes;
    int64_t queue_bytes, queue_max; /* send queues: all, and the largest */
    int store_ok;                   /* 1 healthy, 0 moved / deleted / failing */
    double uptime;
} srv_gauges;

/* Appends the Prometheus text exposition to out. */
int srv_metrics_render(mls_buf *out, const srv_gauges *g);

#endif
