/*
 * Live delivery between server processes over one shared store (relay.h,
 * docs/DEPLOYMENT.md).  The log is the source of truth: a notice only
 * says "group G has entries up to seq S"; the relay fetches what it has
 * not pushed yet for G, (last pushed, S], and sends each entry to the
 * connections of this process whose users may see it (joined before it,
 * not left before it: the rule of log.fetch).  This process's own entries
 * take the same path right after its COMMIT, so per group every
 * connection receives the entries in seq order without gaps or doubles,
 * whichever process accepted them.
 */
#include "relay.h"

#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "log.h"

#define RELAY_PAGE 256

typedef struct relay_group {
    srv_group g;
    uint64_t last;    /* entries up to here were pushed (or had no audience here) */
    uint64_t pending; /* this process appended up to here in the open batch */
} relay_group;

struct srv_relay {
    relay_group *groups; /* sorted by ref */
    size_t n, cap;
    int any_pending;
    int resync_due;    /* a catch-up failed part way: again at resync_at */
    int64_t resync_at;
};

int srv_relay_init(srv *s)
{
    srv_store *st = s->logic.store;
    if (!st->ops->notices || !st->ops->audience || !st->ops->group_by_ref)
        return 0;
    s->relay = calloc(1, sizeof *s->relay);
    return s->relay ? 0 : -1;
}

void srv_relay_free(srv *s)
{
    if (!s->relay)
        return;
    free(s->relay->groups);
    free(s->relay);
    s->relay = NULL;
}

static relay_group *find(srv_relay *r, int64_t ref, size_t *at)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->groups[mid].g.ref == ref)
            return &r->groups[mid];
        if (r->groups[mid].g.ref < ref)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (at)
        *at = lo;
    return NULL;
}

/* The group's record, made with last = seq - 1 (what came before reached
 * this process's clients through log.fetch) if it is new. */
static relay_group *get(srv_relay *r, const srv_group *g, uint64_t seq)
{
    size_t at = 0;
    relay_group *rg = find(r, g->ref, &at);
    if (rg)
        return rg;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        relay_group *p = realloc(r->groups, cap * sizeof *p);
        if (!p)
            return NULL;
        r->groups = p;
        r->cap = cap;
    }
    memmove(&r->groups[at + 1], &r->groups[at], (r->n - at) * sizeof *r->groups);
    r->n++;
    rg = &r->groups[at];
    memset(rg, 0, sizeof *rg);
    rg->g = *g;
    rg->last = seq ? seq - 1 : 0;
    return rg;
}

static int any_user_here(const srv *s)
{
    for (const srv_conn *c = s->conns; c; c = c->next)
        if (c->user_id)
            return 1;
    return 0;
}

/* The members who may see entries after rg->last, sorted by user id. */
typedef struct audience {
    srv_member *m;
    size_t n, cap;
} audience;

static int collect(void *ctx, const srv_member *m)
{
    audience *a = ctx;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        srv_member *p = realloc(a->m, cap * sizeof *p);
        if (!p)
            return SRV_STORE_ERR;
        a->m = p;
        a->cap = cap;
    }
    a->m[a->n++] = *m;
    return 0;
}

static const srv_member *member(const audience *a, int64_t user_id)
{
    size_t lo = 0, hi = a->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->m[mid].user_id == user_id)
            return &a->m[mid];
        if (a->m[mid].user_id < user_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int sees(const srv_member *m, uint64_t seq)
{
    return m && m->joined_seq < seq && (!m->left || seq <= m->left_seq);
}

typedef struct push_ctx {
    srv *s;
    relay_group *rg;
    const audience *a;
    size_t n;
} push_ctx;

static int push_entry(void *ctx, const srv_log_entry *e)
{
    push_ctx *p = ctx;
    srv_payload *pl = srv_event_log_payload(&p->rg->g, e);
    if (pl) {
        /* Built once, queued for every connection that may see it. */
        for (srv_conn *c = p->s->conns; c; c = c->next)
            if (c->user_id && sees(member(p->a, c->user_id), e->seq))
                srv_send_payload(p->s, c, pl);
        srv_payload_put(pl);
    }
    p->rg->last = e->seq;
    p->n++;
    return 0;
}

/* Pushes the group's entries (rg->last, upto] to this process's
 * connections that may see them; -1 if the store failed (rg->last then
 * says how far it got). */
static int deliver(srv *s, relay_group *rg, uint64_t upto)
{
    srv_store *st = s->logic.store;
    audience a = {NULL, 0, 0};
    int rc = 0;
    if (upto <= rg->last)
        return 0;
    if (!any_user_here(s)) {
        rg->last = upto;
        return 0;
    }
    if (st->ops->audience(st, rg->g.ref, rg->last, collect, &a)) {
        srv_log(SRV_LOG_WARN, "relay: cannot read the audience of %s", rg->g.name);
        rc = -1;
        goto out;
    }
    int here = 0;
    for (const srv_conn *c = s->conns; c && !here; c = c->next)
        here = c->user_id && member(&a, c->user_id) != NULL;
    if (!here) {
        rg->last = upto;
        goto out;
    }
    while (rg->last < upto) {
        push_ctx p = {s, rg, &a, 0};
        if (st->ops->log_fetch(st, rg->g.ref, rg->last, upto, RELAY_PAGE, push_entry, &p)) {
            srv_log(SRV_LOG_WARN, "relay: cannot fetch the log of %s", rg->g.name);
            rc = -1;
            break;
        }
        /* Entries purged meanwhile: the clients' log.fetch says so. */
        if (p.n == 0)
            rg->last = upto;
    }
out:
    free(a.m);
    return rc;
}

void srv_relay_local(srv *s, const srv_group *g, uint64_t seq)
{
    srv_relay *r = s->relay;
    relay_group *rg = get(r, g, seq);
    if (!rg)
        return;
    if (seq > rg->pending)
        rg->pending = seq;
    r->any_pending = 1;
}

void srv_relay_flush(srv *s)
{
    srv_relay *r = s->relay;
    if (!r || !r->any_pending)
        return;
    r->any_pending = 0;
    for (size_t i = 0; i < r->n; i++) {
        relay_group *rg = &r->groups[i];
        if (!rg->pending)
            continue;
        uint64_t upto = rg->pending;
        rg->pending = 0;
        deliver(s, rg, upto);
    }
}

void srv_relay_drop(srv *s)
{
    srv_relay *r = s->relay;
    if (!r)
        return;
    r->any_pending = 0;
    for (size_t i = 0; i < r->n; i++)
        r->groups[i].pending = 0;
}

typedef struct inbox_ctx {
    srv *s;
    int64_t user_id, id;
} inbox_ctx;

static int push_inbox_entry(void *ctx, const srv_inbox_entry *e)
{
    inbox_ctx *p = ctx;
    if (e->id != p->id)
        return SRV_STOP;
    char *text = srv_event_inbox_text(e);
    if (text) {
        for (srv_conn *c = p->s->conns; c; c = c->next)
            if (c->user_id == p->user_id)
                srv_send_now(p->s, c, text);
        free(text);
    }
    return SRV_STOP;
}

/* Every group followed here, up to its last seq now; retried a second
 * later if the store failed part way. */
static void catch_up(srv *s)
{
    srv_store *st = s->logic.store;
    srv_relay *r = s->relay;
    int failed = 0;
    for (size_t i = 0; i < r->n; i++) {
        srv_group g;
        if (st->ops->group_by_ref(st, r->groups[i].g.ref, &g) != SRV_OK ||
            deliver(s, &r->groups[i], g.last_seq))
            failed = 1;
    }
    r->resync_due = failed;
    r->resync_at = srv_time() + 1;
}

static void on_notice(void *ctx, const srv_notice *n)
{
    srv *s = ctx;
    srv_store *st = s->logic.store;
    srv_relay *r = s->relay;
    if (n->kind == SRV_NOTICE_LOG) {
        relay_group *rg = find(r, n->ref, NULL);
        if (!rg) {
            srv_group g;
            /* A group nobody here follows costs nothing until someone does. */
            if (!any_user_here(s) || st->ops->group_by_ref(st, n->ref, &g))
                return;
            rg = get(r, &g, n->seq);
        }
        if (rg)
            deliver(s, rg, n->seq);
    } else if (n->kind == SRV_NOTICE_INBOX) {
        int here = 0;
        for (const srv_conn *c = s->conns; c && !here; c = c->next)
            here = c->user_id == n->user_id;
        inbox_ctx p = {s, n->user_id, n->inbox_id};
        if (here && st->ops->inbox_list(st, n->user_id, n->inbox_id - 1, 1, push_inbox_entry, &p))
            srv_log(SRV_LOG_WARN, "relay: cannot read an inbox entry");
    } else if (n->kind == SRV_NOTICE_RESYNC) {
        srv_log(SRV_LOG_INFO, "relay: catching up %zu groups from the log", r->n);
        catch_up(s);
    }
}

void srv_relay_poll(srv *s)
{
    /* Not while a batch is open or its COMMIT runs on the database
     * thread (dbthread.c): the store is not the loop's then. */
    if (!s->relay || s->in_batch || s->in_flight)
        return;
    srv_store *st = s->logic.store;
    st->ops->notices(st, on_notice, s);
    if (s->relay->resync_due && srv_time() >= s->relay->resync_at)
        catch_up(s);
}
