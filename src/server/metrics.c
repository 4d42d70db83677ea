/* Prometheus text format 0.0.4. */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_LABELS 64
#define TYPE_MAX 24

typedef struct counter {
    char label[TYPE_MAX + 1];
    uint64_t n;
} counter;

static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,    0.25,  0.5,    1,     2.5,  5};
#define N_BUCKETS (sizeof buckets / sizeof buckets[0])

static struct {
    int64_t connections, authenticated;
    uint64_t claimed;
    uint64_t commits, syncs[2], committed_requests;
    counter accepted[4], refused[MAX_LABELS], requests[MAX_LABELS], closed[8];
    uint64_t hist[N_BUCKETS], hist_count;
    double hist_sum;
} m;

static void bump(counter *table, size_t cap, const char *label)
{
    for (size_t i = 0; i < cap; i++) {
        if (table[i].label[0] == 0) {
            snprintf(table[i].label, sizeof table[i].label, "%s", label);
            table[i].n = 1;
            return;
        }
        if (strncmp(table[i].label, label, TYPE_MAX) == 0) {
            table[i].n++;
            return;
        }
    }
}

void srv_metrics_connection(int delta) { m.connections += delta; }
void srv_metrics_authenticated(int delta) { m.authenticated += delta; }
void srv_metrics_claimed(void) { m.claimed++; }

void srv_metrics_commit(int requests)
{
    m.commits++;
    m.committed_requests += (uint64_t)(requests > 0 ? requests : 0);
}

void srv_metrics_sync(int on_thread) { m.syncs[on_thread ? 1 : 0]++; }
void srv_metrics_closed(const char *reason) { bump(m.closed, 8, reason); }
void srv_metrics_accepted(const char *kind) { bump(m.accepted, 4, kind); }
void srv_metrics_refused(const char *reason) { bump(m.refused, MAX_LABELS, reason); }

void srv_metrics_request(const char *type, double seconds)
{
    bump(m.requests, MAX_LABELS, type);
    for (size_t i = 0; i < N_BUCKETS; i++)
        if (seconds <= buckets[i])
            m.hist[i]++;
    m.hist_count++;
    m.hist_sum += seconds;
}

static int add(mls_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add(mls_buf *out, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line)
        return MLS_ERR_ARG;
    return mls_buf_append(out, line, (size_t)n);
}

static int family(mls_buf *out, const char *name, const char *type, const char *help)
{
    int err = add(out, "# HELP %s %s\n", name, help);
    return err ? err : add(out, "# TYPE %s %s\n", name, type);
}

static int labelled(mls_buf *out, const char *name, const char *key, const counter *t,
                    size_t cap)
{
    int err = 0;
    for (size_t i = 0; i < cap && t[i].label[0] && !err; i++)
        err = add(out, "%s{%s=\"%s\"} %llu\n", name, key, t[i].label,
                  (unsigned long long)t[i].n);
    return err;
}

int srv_metrics_render(mls_buf *out, const srv_gauges *g)
{
    int err = 0;
    err |= family(out, "mlschat_connections", "gauge", "Open WebSocket connections.");
    err |= add(out, "mlschat_connections %lld\n", (long long)m.connections);
    err |= family(out, "mlschat_authenticated_connections", "gauge",
                  "WebSocket connections that completed login or register.");
    err |= add(out, "mlschat_authenticated_connections %lld\n", (long long)m.authenticated);
    err |= family(out, "mlschat_messages_accepted_total", "counter",
                  "Log entries accepted, by kind.");
    err |= labelled(out, "mlschat_messages_accepted_total", "kind", m.accepted, 4);
    err |= family(out, "mlschat_requests_refused_total", "counter",
                  "Requests refused, by error code.");
    err |= labelled(out, "mlschat_requests_refused_total", "reason", m.refused, MAX_LABELS);
    err |= family(out, "mlschat_requests_total", "counter", "Requests, by type.");
    err |= labelled(out, "mlschat_requests_total", "type", m.requests, MAX_LABELS);
    err |= family(out, "mlschat_request_duration_seconds", "histogram",
                  "From a request's arrival to its response's release after commit.");
    for (size_t i = 0; i < N_BUCKETS; i++)
        err |= add(out, "mlschat_request_duration_seconds_bucket{le=\"%g\"} %llu\n", buckets[i],
                   (unsigned long long)m.hist[i]);
    err |= add(out, "mlschat_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
               (unsigned long long)m.hist_count);
    err |= add(out, "mlschat_request_duration_seconds_sum %.6f\n", m.hist_sum);
    err |= add(out, "mlschat_request_duration_seconds_count %llu\n",
               (unsigned long long)m.hist_count);
    err |= family(out, "mlschat_commits_total", "counter", "Database COMMITs (one per batch).");
    err |= add(out, "mlschat_commits_total %llu\n", (unsigned long long)m.commits);
    err |= family(out, "mlschat_committed_requests_total", "counter",
                  "Requests carried by those COMMITs.");
    err |= add(out, "mlschat_committed_requests_total %llu\n",
               (unsigned long long)m.committed_requests);
    err |= family(out, "mlschat_disk_syncs_total", "counter",
                  "Waits for the disk (a WAL sync covering every batch committed before it, "
                  "or a durable COMMIT), by the thread that waited.");
    err |= add(out, "mlschat_disk_syncs_total{on=\"loop\"} %llu\n",
               (unsigned long long)m.syncs[0]);
    err |= add(out, "mlschat_disk_syncs_total{on=\"thread\"} %llu\n",
               (unsigned long long)m.syncs[1]);
    err |= family(out, "mlschat_key_packages_claimed_total", "counter", "KeyPackages handed out.");
    err |= add(out, "mlschat_key_packages_claimed_total %llu\n", (unsigned long long)m.claimed);
    err |= family(out, "mlschat_connections_closed_total", "counter",
                  "Connections the server closed by its own limits, by reason.");
    err |= labelled(out, "mlschat_connections_closed_total", "reason", m.closed, 8);
    err |= family(out, "mlschat_send_queue_bytes", "gauge",
                  "Bytes waiting in all WebSocket send queues.");
    err |= add(out, "mlschat_send_queue_bytes %lld\n", (long long)g->queue_bytes);
    err |= family(out, "mlschat_send_queue_max_bytes", "gauge",
                  "Bytes waiting in the largest send queue (closed past 16 MiB).");
    err |= add(out, "mlschat_send_queue_max_bytes %lld\n", (long long)g->queue_max);
    err |= family(out, "mlschat_database_bytes", "gauge", "Database plus WAL size in bytes.");
    err |= add(out, "mlschat_database_bytes %lld\n", (long long)g->db_bytes);
    err |= family(out, "mlschat_wal_bytes", "gauge", "WAL size in bytes.");
    err |= add(out, "mlschat_wal_bytes %lld\n", (long long)g->wal_bytes);
    err |= family(out, "mlschat_store_healthy", "gauge",
                  "1 while the database takes writes; 0 when it was moved, deleted or failing.");
    err |= add(out, "mlschat_store_healthy %d\n", g->store_ok ? 1 : 0);
    err |= family(out, "mlschat_uptime_seconds", "gauge", "Seconds since start.");
    err |= add(out, "mlschat_uptime_seconds %.0f\n", g->uptime);
    return err ? MLS_ERR_NOMEM : MLS_OK;
}
