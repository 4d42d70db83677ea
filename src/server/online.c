/*
 * Which members of a group are online (issue 13 item 3): a group's log
 * event goes to the connections of its online members, found without
 * looking at its offline ones.
 *
 * Per group, the sorted ids of the members that were online when it was
 * last brought up to date, and the online generation then.  Each user
 * whose first connection authenticates bumps the generation and is noted
 * in a ring.  Bringing a group up to date checks only the users who came
 * online since (one roster lookup each, from the store's cache); a group
 * that fell further behind than the ring holds, whose roster changed (a
 * commit), or that was never seen, is rebuilt from its roster.  Users
 * who went offline are dropped as the event is delivered.  So an event
 * costs O(online members + users who came online since the last one),
 * not O(roster).
 *
 * A roster is read inside the open batch, which may still roll back:
 * every list goes when a batch fails (srv_online_clear), as the events
 * built from it are dropped with it.
 */
#include <stdlib.h>
#include <string.h>

#include "srv.h"

#define ONLINE_BUCKETS 4096 /* a power of two */
#define ONLINE_GROUPS_MAX 65536

struct srv_gonline {
    int64_t ref;
    uint8_t gid[SRV_GROUP_ID_MAX];
    size_t gid_len;
    int64_t *ids; /* sorted */
    size_t n, cap;
    uint64_t gen;
    struct srv_gonline *next;
};

static size_t bucket(int64_t ref)
{
    return (size_t)(((uint64_t)ref * 0x9e3779b97f4a7c15ull) >> 32) & (ONLINE_BUCKETS - 1);
}

void srv_online_came(srv *s, int64_t user_id)
{
    s->online_ring[s->online_gen % SRV_ONLINE_RING] = user_id;
    s->online_gen++;
}

static void entry_free(srv_gonline *g)
{
    free(g->ids);
    free(g);
}

void srv_online_forget_group(srv *s, int64_t ref)
{
    if (!s->online)
        return;
    for (srv_gonline **p = &s->online[bucket(ref)]; *p; p = &(*p)->next)
        if ((*p)->ref == ref) {
            srv_gonline *g = *p;
            *p = g->next;
            entry_free(g);
            s->n_online_groups--;
            return;
        }
}

void srv_online_clear(srv *s)
{
    if (!s->online)
        return;
    for (size_t i = 0; i < ONLINE_BUCKETS; i++)
        while (s->online[i]) {
            srv_gonline *g = s->online[i];
            s->online[i] = g->next;
            entry_free(g);
        }
    s->n_online_groups = 0;
}

void srv_online_free(srv *s)
{
    srv_online_clear(s);
    free(s->online);
    s->online = NULL;
}

static int online(const srv *s, int64_t user_id)
{
    srv_user_state *u = srv_user_state_find(s, user_id);
    return u && u->conns;
}

/* Index of id in g->ids, or where it would go. */
static size_t find(const srv_gonline *g, int64_t id)
{
    size_t lo = 0, hi = g->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int insert(srv_gonline *g, int64_t id)
{
    size_t at = find(g, id);
    if (at < g->n && g->ids[at] == id)
        return 0;
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 8;
        int64_t *p = realloc(g->ids, cap * sizeof *p);
        if (!p)
            return -1;
        g->ids = p;
        g->cap = cap;
    }
    memmove(g->ids + at + 1, g->ids + at, (g->n - at) * sizeof *g->ids);
    g->ids[at] = id;
    g->n++;
    return 0;
}

static int rebuild(srv *s, srv_gonline *g)
{
    int64_t *roster = NULL;
    size_t n = 0;
    if (srv_logic_roster_ids(&s->logic, g->ref, &roster, &n))
        return -1;
    g->n = 0;
    int err = 0;
    /* The roster is ordered by id: appending keeps ids sorted. */
    for (size_t i = 0; i < n && !err; i++)
        if (online(s, roster[i]))
            err = insert(g, roster[i]);
    free(roster);
    return err;
}

static srv_gonline *entry(srv *s, const srv_group *grp, int *fresh)
{
    if (!s->online && !(s->online = calloc(ONLINE_BUCKETS, sizeof *s->online)))
        return NULL;
    srv_gonline **head = &s->online[bucket(grp->ref)];
    for (srv_gonline *g = *head; g; g = g->next)
        if (g->ref == grp->ref) {
            /* A row id can come back for another group after a
             * rollback: the group id tells. */
            if (g->gid_len == grp->gid_len && memcmp(g->gid, grp->gid, grp->gid_len) == 0)
                return g;
            srv_online_forget_group(s, grp->ref);
            break;
        }
    if (s->n_online_groups >= ONLINE_GROUPS_MAX)
        srv_online_clear(s);
    srv_gonline *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->ref = grp->ref;
    memcpy(g->gid, grp->gid, grp->gid_len);
    g->gid_len = grp->gid_len;
    head = &s->online[bucket(grp->ref)];
    g->next = *head;
    *head = g;
    s->n_online_groups++;
    *fresh = 1;
    return g;
}

int srv_online_members(srv *s, const srv_group *grp, const int64_t **ids, size_t *n)
{
    int fresh = 0;
    srv_gonline *g = entry(s, grp, &fresh);
    if (!g)
        return -1;
    int err = 0;
    if (fresh || s->online_gen - g->gen > SRV_ONLINE_RING) {
        err = rebuild(s, g);
    } else {
        for (uint64_t k = g->gen; k < s->online_gen && !err; k++) {
            int64_t uid = s->online_ring[k % SRV_ONLINE_RING];
            if (!online(s, uid))
                continue;
            int on = srv_logic_on_roster(&s->logic, g->ref, uid);
            err = on < 0 ? -1 : on ? insert(g, uid) : 0;
        }
    }
    if (err) {
        srv_online_forget_group(s, grp->ref);
        return -1;
    }
    g->gen = s->online_gen;
    /* Those who went offline since. */
    size_t kept = 0;
    for (size_t i = 0; i < g->n; i++)
        if (online(s, g->ids[i]))
            g->ids[kept++] = g->ids[i];
    g->n = kept;
    *ids = g->ids;
    *n = g->n;
    return 0;
}
