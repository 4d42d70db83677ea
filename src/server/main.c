/*
 * mlschat server: ./server [--port NNNN] [--database dbfile.db] [options]
 * (docs/PROTOCOL.md §11 lists the options).
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "handlers.h"
#include "log.h"
#include "relay.h"
#include "srv.h"
#include "transport.h"

static srv server;

static const char usage[] =
    "usage: ./server [--port NNNN] [--database dbfile.db] [options]\n"
    "  --port N             TCP port (default 4000)\n"
    "  --database FILE|URI  SQLite database file (default chatserver.db), or\n"
    "                       postgresql://user@host/db for a database shared by\n"
    "                       several server processes (docs/DEPLOYMENT.md)\n"
    "  --listen ADDR        address to listen on (default: all interfaces)\n"
    "  --pidfile FILE       write the process id there once listening\n"
    "  --tls-cert FILE      PEM certificate: serve HTTPS and WSS\n"
    "  --tls-key FILE       PEM private key for --tls-cert\n"
    "  --log-level LEVEL    error, warn, info (default) or debug\n"
    "  --max-message BYTES  largest request (default 1048576)\n"
    "  --max-connections N  open WebSocket connections (default 1024)\n"
    "  --rate N             requests per second per connection (default 50)\n"
    "  --user-rate N        requests per second per user (default 100)\n"
    "  --claim-rate N       KeyPackage claims per minute per user (default 30)\n"
    "  --retention SECONDS  purge log entries older than this; 0 keeps all (default 2592000)\n"
    "  --keypackage-ttl SECONDS  purge KeyPackages stored longer; 0 keeps (default 2592000)\n"
    "  --name-reserve SECONDS   a name given up by user.rename stays reserved to its\n"
    "                           user this long; 0 frees it at once (default 2592000)\n"
    "  --purge-interval SECONDS  how often to purge (default 60)\n"
    "  --login-timeout SECONDS   close a WebSocket not logged in by then (default 120)\n"
    "  --max-per-address N  open WebSockets per peer address (default 64)\n"
    "  --register-rate N    registrations per minute per peer address (default 60)\n"
    "  --invite-rate N      Welcome recipients per minute per inviter (default 300)\n"
    "  --claim-target-rate N  kp.claim per minute per target user (default 60)\n"
    "  --last-resort-rate N   last-resort KeyPackage handouts per hour per target (default 10)\n"
    "  --inbox-max N        inbox entries per recipient (default 500)\n"
    "  --inbox-max-bytes BYTES  Welcome bytes per recipient's inbox (default 67108864)\n"
    "  --inbox-ttl SECONDS  purge inbox entries older than this; 0 keeps (default 2592000)\n"
    "  --page-bytes BYTES   byte budget of a log.fetch / inbox.fetch page (default 4194304)\n"
    "  --ping-interval SECONDS  PING a WebSocket idle this long (default 30)\n"
    "  --idle-timeout SECONDS   hang up one silent this long, pings unanswered (default 75)\n"
    "  --help, --version\n";

/* Every connection is a descriptor: the soft limit goes up to the hard
 * one (capped, since libwebsockets sizes its tables by it), so that the
 * transport can index sockets directly (transport.c). */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl))
        return;
    rlim_t want = rl.rlim_max;
    if (want == RLIM_INFINITY || want > (rlim_t)1 << 20)
        want = (rlim_t)1 << 20;
    if (want > rl.rlim_cur) {
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl))
            srv_log(SRV_LOG_WARN, "cannot raise the descriptor limit: %s", strerror(errno));
    }
}

static void wake_loop(void *ctx)
{
    srv_transport_wake(ctx);
}

static void on_signal(int sig)
{
    (void)sig;
    server.stopping = 1;
    srv_transport_wake(&server);
}

static int parse_num(const char *opt, const char *v, long long min, long long max,
                     long long *out)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || !end || *end || end == v || n < min || n > max) {
        fprintf(stderr, "server: %s needs a number from %lld to %lld, not '%s'\n", opt, min, max,
                v);
        return -1;
    }
    *out = n;
    return 0;
}

/* Returns 0 to run, 1 to exit successfully, -1 on a usage error. */
static int parse_args(int argc, char **argv, srv_config *cfg)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long long n = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return 1;
        }
        if (!strcmp(a, "--version")) {
            printf("mlschat server %s\n", SRV_VERSION);
            return 1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "server: unknown option or missing value: %s\n%s", a, usage);
            return -1;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--port")) {
            if (parse_num(a, v, 1, 65535, &n))
                return -1;
            cfg->port = (int)n;
        } else if (!strcmp(a, "--database")) {
            cfg->database = v;
        } else if (!strcmp(a, "--listen")) {
            cfg->listen = v;
        } else if (!strcmp(a, "--pidfile")) {
            cfg->pidfile = v;
        } else if (!strcmp(a, "--tls-cert")) {
            cfg->tls_cert = v;
        } else if (!strcmp(a, "--tls-key")) {
            cfg->tls_key = v;
        } else if (!strcmp(a, "--log-level")) {
            int level = srv_log_parse_level(v);
            if (level < 0) {
                fprintf(stderr, "server: --log-level is error, warn, info or debug\n");
                return -1;
            }
            srv_log_set_level((enum srv_log_level)level);
        } else if (!strcmp(a, "--max-message")) {
            if (parse_num(a, v, 1024, 64 << 20, &n))
                return -1;
            cfg->max_message = (size_t)n;
        } else if (!strcmp(a, "--max-connections")) {
            if (parse_num(a, v, 1, 100000, &n))
                return -1;
            cfg->max_connections = (int)n;
        } else if (!strcmp(a, "--rate")) {
            if (parse_num(a, v, 1, 1000000, &n))
                return -1;
            cfg->rate = (double)n;
        } else if (!strcmp(a, "--user-rate")) {
            if (parse_num(a, v, 1, 1000000, &n))
                return -1;
            cfg->user_rate = (double)n;
        } else if (!strcmp(a, "--claim-rate")) {
            if (parse_num(a, v, 1, 1000000, &n))
                return -1;
            cfg->claim_rate = (double)n;
        } else if (!strcmp(a, "--retention")) {
            if (parse_num(a, v, 0, 1LL << 40, &n))
                return -1;
            cfg->retention = n;
        } else if (!strcmp(a, "--keypackage-ttl")) {
            if (parse_num(a, v, 0, 1LL << 40, &n))
                return -1;
            cfg->kp_ttl = n;
        } else if (!strcmp(a, "--name-reserve")) {
            if (parse_num(a, v, 0, 1LL << 40, &n))
                return -1;
            cfg->name_reserve = n;
        } else if (!strcmp(a, "--purge-interval")) {
            if (parse_num(a, v, 1, 1LL << 30, &n))
                return -1;
            cfg->purge_interval = n;
        } else if (!strcmp(a, "--login-timeout")) {
            if (parse_num(a, v, 1, 3600, &n))
                return -1;
            cfg->login_timeout = n;
        } else if (!strcmp(a, "--max-per-address")) {
            if (parse_num(a, v, 1, 100000, &n))
                return -1;
            cfg->max_per_address = (int)n;
        } else if (!strcmp(a, "--register-rate")) {
            if (parse_num(a, v, 0, 1000000, &n))
                return -1;
            cfg->register_rate = (double)n;
        } else if (!strcmp(a, "--invite-rate")) {
            if (parse_num(a, v, 0, 1000000, &n))
                return -1;
            cfg->invite_rate = (double)n;
        } else if (!strcmp(a, "--claim-target-rate")) {
            if (parse_num(a, v, 0, 1000000, &n))
                return -1;
            cfg->claim_target_rate = (double)n;
        } else if (!strcmp(a, "--last-resort-rate")) {
            if (parse_num(a, v, 0, 1000000, &n))
                return -1;
            cfg->last_resort_rate = (double)n;
        } else if (!strcmp(a, "--inbox-max")) {
            if (parse_num(a, v, 0, 1LL << 40, &n))
                return -1;
            cfg->inbox_max = n;
        } else if (!strcmp(a, "--inbox-max-bytes")) {
            if (parse_num(a, v, 0, 1LL << 50, &n))
                return -1;
            cfg->inbox_max_bytes = n;
        } else if (!strcmp(a, "--inbox-ttl")) {
            if (parse_num(a, v, 0, 1LL << 40, &n))
                return -1;
            cfg->inbox_ttl = n;
        } else if (!strcmp(a, "--page-bytes")) {
            /* At least two of the largest entries a request can store. */
            if (parse_num(a, v, 1 << 20, 8 << 20, &n))
                return -1;
            cfg->page_bytes = n;
        } else if (!strcmp(a, "--ping-interval")) {
            if (parse_num(a, v, 1, 3600, &n))
                return -1;
            cfg->ping_interval = n;
        } else if (!strcmp(a, "--idle-timeout")) {
            if (parse_num(a, v, 2, 7200, &n))
                return -1;
            cfg->idle_timeout = n;
        } else {
            fprintf(stderr, "server: unknown option %s\n%s", a, usage);
            return -1;
        }
    }
    if (cfg->idle_timeout <= cfg->ping_interval) {
        fprintf(stderr, "server: --idle-timeout must exceed --ping-interval\n");
        return -1;
    }
    if (!cfg->tls_cert != !cfg->tls_key) {
        fprintf(stderr, "server: --tls-cert and --tls-key go together\n");
        return -1;
    }
    return 0;
}

static int write_pidfile(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
        srv_log(SRV_LOG_ERROR, "cannot write pidfile %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    srv_config *cfg = &server.cfg;
    cfg->port = 4000;
    cfg->database = "chatserver.db";
    cfg->max_message = 1 << 20;
    cfg->max_connections = 1024;
    cfg->rate = 50;
    cfg->user_rate = 100;
    cfg->claim_rate = 30;
    cfg->retention = 2592000;
    cfg->kp_ttl = 2592000;
    cfg->name_reserve = 2592000;
    cfg->purge_interval = 60;
    cfg->login_timeout = 120;
    cfg->max_per_address = 64;
    cfg->register_rate = 60;
    cfg->invite_rate = 300;
    cfg->claim_target_rate = 60;
    cfg->last_resort_rate = 10;
    cfg->inbox_max = 500;
    cfg->inbox_max_bytes = 64 << 20;
    cfg->inbox_ttl = 2592000;
    cfg->page_bytes = 4 << 20;
    cfg->ping_interval = 30;
    cfg->idle_timeout = 75;
    int rc = parse_args(argc, argv, cfg);
    if (rc)
        return rc > 0 ? 0 : 2;

    /* glibc gives the top of the heap back once 128 KiB of it is free and
     * takes it again on the next request: two brk() system calls per
     * message, 7 % of the server's CPU at 64 senders.  Up to 1 MiB of free
     * heap top stays for reuse instead.  And blocks from 64 KiB (SQLite's
     * transient ones, e.g. around a request's SAVEPOINT) are mapped and
     * unmapped whole: in the heap they left holes between the
     * connections' long-lived blocks, 1.5 KiB per idle connection once
     * 10,000 had registered and logged in (BENCHMARKS.md). */
    mallopt(M_TRIM_THRESHOLD, 1 << 20);
    mallopt(M_MMAP_THRESHOLD, 64 << 10);

    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    server.started = srv_time();
    srv_store *store = NULL;
    int shared = srv_store_is_pg_uri(cfg->database);
    if (shared ? srv_store_pg_open(cfg->database, &store)
               : srv_store_sqlite_open(cfg->database, &store))
        return 1;
    srv_handlers_init(&server, store);
    raise_fd_limit();
    if (srv_relay_init(&server)) {
        store->ops->close(store);
        return 1;
    }
    if (srv_dbthread_start(&server.db, &server.logic, wake_loop, &server))
        srv_log(SRV_LOG_WARN, "no database thread: commits run on the event loop");
    if (srv_transport_start(&server)) {
        srv_log(SRV_LOG_ERROR, "cannot listen on %s port %d", cfg->listen ? cfg->listen : "*",
                cfg->port);
        srv_dbthread_stop(&server.db);
        srv_relay_free(&server);
        store->ops->close(store);
        return 1;
    }
    /* A PostgreSQL URI may hold a password: only its kind is logged. */
    srv_log(SRV_LOG_INFO, "mlschat server %s listening on %s%s:%d, database %s", SRV_VERSION,
            cfg->tls_cert ? "https://" : "http://", cfg->listen ? cfg->listen : "*", cfg->port,
            shared ? "PostgreSQL" : cfg->database);
    if (cfg->pidfile && write_pidfile(cfg->pidfile)) {
        srv_transport_stop(&server);
        srv_dbthread_stop(&server.db);
        srv_relay_free(&server);
        store->ops->close(store);
        return 1;
    }
    srv_logins_start(&server, wake_loop, &server);
    srv_transport_run(&server);
    srv_logins_stop(&server);
    /* The last turn's batch is committed by srv_transport_run: everything
     * acknowledged is on disk before the connections close. */
    srv_log(SRV_LOG_INFO, "shutting down");
    srv_transport_stop(&server);
    srv_dbthread_stop(&server.db);
    srv_logic_clear(&server.logic);
    srv_relay_free(&server);
    srv_bucket_map_clear(&server.registrations);
    srv_user_states_clear(&server);
    srv_online_free(&server);
    srv_addrs_clear(&server);
    store->ops->close(store);
    if (cfg->pidfile)
        unlink(cfg->pidfile);
    return 0;
}
