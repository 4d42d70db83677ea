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

/* Appends the Prometheus text exposition to out. */
int srv_metrics_render(mls_buf *out, int64_t db_bytes, double uptime);

#endif
