/*
 * The users with connections: per-user state (rate limits a reconnect
 * must not reset) in a hash table by user id, each with the list of its
 * authenticated connections.  A log event for a roster goes to the
 * connections of each roster member by one lookup per member, so its
 * cost does not grow with the connections of other users (the idle ones
 * of a big server); before, every event scanned every connection.
 */
#include <stdlib.h>

#include "srv.h"

/* States idle this long are forgotten by the sweep. */
#define IDLE_KEEP_SECONDS 600

static size_t bucket(const srv *s, int64_t user_id)
{
    /* Fibonacci hashing of the id: ids are sequential, the table a power
     * of two. */
    uint64_t h = (uint64_t)user_id * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 32) & (s->n_user_buckets - 1);
}

static int grow(srv *s)
{
    size_t n = s->n_user_buckets ? s->n_user_buckets * 2 : 1024;
    srv_user_state **t = calloc(n, sizeof *t);
    if (!t)
        return -1;
    srv_user_state **old = s->users;
    size_t old_n = s->n_user_buckets;
    s->users = t;
    s->n_user_buckets = n;
    for (size_t i = 0; i < old_n; i++)
        while (old[i]) {
            srv_user_state *u = old[i];
            old[i] = u->next;
            size_t b = bucket(s, u->user_id);
            u->next = t[b];
            t[b] = u;
        }
    free(old);
    return 0;
}

srv_user_state *srv_user_state_find(const srv *s, int64_t user_id)
{
    if (!s->n_user_buckets)
        return NULL;
    for (srv_user_state *u = s->users[bucket(s, user_id)]; u; u = u->next)
        if (u->user_id == user_id)
            return u;
    return NULL;
}

srv_user_state *srv_user_state_get(srv *s, int64_t user_id)
{
    srv_user_state *u = srv_user_state_find(s, user_id);
    if (u) {
        u->refs++;
        return u;
    }
    if (s->n_users >= s->n_user_buckets && grow(s))
        return NULL;
    u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->user_id = user_id;
    u->refs = 1;
    size_t b = bucket(s, user_id);
    u->next = s->users[b];
    s->users[b] = u;
    s->n_users++;
    return u;
}

void srv_user_state_put(srv *s, srv_user_state *u)
{
    (void)s;
    if (u && --u->refs == 0)
        u->idle_since = srv_time();
}

void srv_user_states_sweep(srv *s)
{
    int64_t now = srv_time();
    for (size_t i = 0; i < s->n_user_buckets; i++) {
        srv_user_state **pp = &s->users[i];
        while (*pp) {
            srv_user_state *x = *pp;
            if (x->refs == 0 && now - x->idle_since > IDLE_KEEP_SECONDS) {
                *pp = x->next;
                free(x);
                s->n_users--;
            } else {
                pp = &x->next;
            }
        }
    }
}

void srv_user_states_clear(srv *s)
{
    for (size_t i = 0; i < s->n_user_buckets; i++)
        while (s->users[i]) {
            srv_user_state *x = s->users[i];
            s->users[i] = x->next;
            free(x);
        }
    free(s->users);
    s->users = NULL;
    s->n_user_buckets = s->n_users = 0;
}

void srv_user_link(srv_conn *c)
{
    srv_user_state *u = c->ustate;
    if (!u)
        return;
    c->user_prev = NULL;
    c->user_next = u->conns;
    if (u->conns)
        u->conns->user_prev = c;
    u->conns = c;
}

void srv_user_unlink(srv_conn *c)
{
    srv_user_state *u = c->ustate;
    if (!u)
        return;
    if (c->user_prev)
        c->user_prev->user_next = c->user_next;
    else if (u->conns == c)
        u->conns = c->user_next;
    if (c->user_next)
        c->user_next->user_prev = c->user_prev;
    c->user_prev = c->user_next = NULL;
}
