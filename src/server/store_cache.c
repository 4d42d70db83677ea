/*
 * The SQLite store's cache of groups, rosters and users (store_cache.h
 * says when it is right).  Three chained hash tables index the same group
 * entries (row id, name, group id); users have a table of their own.
 * The tables have a fixed number of buckets, sized for the bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "store_cache.h"

#define GROUP_BUCKETS 8192 /* a power of two, near SRV_CACHE_GROUPS */
#define USER_BUCKETS 16384

typedef struct centry {
    srv_group g;
    srv_member *roster; /* NULL: not cached */
    size_t n_roster;
    struct centry *next_ref, *next_name, *next_gid;
} centry;

typedef struct cuser {
    srv_user u;
    struct cuser *next;
} cuser;

/* Touched ids: of the open change, and of the batch's kept changes. */
typedef struct id_set {
    int64_t *ids;
    size_t n, cap;
} id_set;

struct srv_cache {
    centry *by_ref[GROUP_BUCKETS], *by_name[GROUP_BUCKETS], *by_gid[GROUP_BUCKETS];
    size_t n_groups, n_rows;
    cuser *users[USER_BUCKETS];
    size_t n_users;
    int in_batch, in_change;
    int lost; /* a touched id could not be recorded in this batch */
    id_set chg_groups, chg_users, bat_groups, bat_users;
    uint64_t hits, misses;
};

static size_t hash_id(int64_t id, size_t buckets)
{
    /* Fibonacci hashing: ids are sequential, the tables powers of two. */
    return (size_t)(((uint64_t)id * 0x9e3779b97f4a7c15ull) >> 32) & (buckets - 1);
}

static size_t hash_bytes(const void *p, size_t n)
{
    /* FNV-1a */
    const uint8_t *b = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return (size_t)(h ^ (h >> 32)) & (GROUP_BUCKETS - 1);
}

srv_cache *srv_cache_new(void)
{
    return calloc(1, sizeof(srv_cache));
}

static void id_set_clear(id_set *s)
{
    free(s->ids);
    memset(s, 0, sizeof *s);
}

static void drop_roster(srv_cache *c, centry *e)
{
    c->n_rows -= e->n_roster;
    free(e->roster);
    e->roster = NULL;
    e->n_roster = 0;
}

static void clear_users(srv_cache *c)
{
    for (size_t i = 0; i < USER_BUCKETS; i++) {
        for (cuser *u = c->users[i], *next; u; u = next) {
            next = u->next;
            free(u);
        }
        c->users[i] = NULL;
    }
    c->n_users = 0;
}

/* Everything goes (a bound was reached, or the cache is freed). */
static void clear_all(srv_cache *c)
{
    for (size_t i = 0; i < GROUP_BUCKETS; i++) {
        for (centry *e = c->by_ref[i], *next; e; e = next) {
            next = e->next_ref;
            free(e->roster);
            free(e);
        }
        c->by_ref[i] = c->by_name[i] = c->by_gid[i] = NULL;
    }
    clear_users(c);
    c->n_groups = c->n_rows = 0;
}

void srv_cache_free(srv_cache *c)
{
    if (!c)
        return;
    clear_all(c);
    id_set_clear(&c->chg_groups);
    id_set_clear(&c->chg_users);
    id_set_clear(&c->bat_groups);
    id_set_clear(&c->bat_users);
    free(c);
}

/* ------------------------------------------------------------ groups */

static centry *find_ref(const srv_cache *c, int64_t ref)
{
    for (centry *e = c->by_ref[hash_id(ref, GROUP_BUCKETS)]; e; e = e->next_ref)
        if (e->g.ref == ref)
            return e;
    return NULL;
}

static void forget_group(srv_cache *c, int64_t ref)
{
    centry *e = find_ref(c, ref);
    if (!e)
        return;
    centry **p = &c->by_ref[hash_id(ref, GROUP_BUCKETS)];
    while (*p != e)
        p = &(*p)->next_ref;
    *p = e->next_ref;
    p = &c->by_name[hash_bytes(e->g.name, strlen(e->g.name))];
    while (*p != e)
        p = &(*p)->next_name;
    *p = e->next_name;
    p = &c->by_gid[hash_bytes(e->g.gid, e->g.gid_len)];
    while (*p != e)
        p = &(*p)->next_gid;
    *p = e->next_gid;
    drop_roster(c, e);
    free(e);
    c->n_groups--;
}

/* A failed allocation leaves the set short: then a rollback before the
 * batch ends drops the whole cache instead (lost). */
static void id_set_add(srv_cache *c, id_set *s, int64_t id)
{
    if (s->n && s->ids[s->n - 1] == id)
        return;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        int64_t *p = realloc(s->ids, cap * sizeof *p);
        if (!p) {
            c->lost = 1;
            return;
        }
        s->ids = p;
        s->cap = cap;
    }
    s->ids[s->n++] = id;
}

static void touch_group(srv_cache *c, int64_t ref)
{
    if (c->in_change)
        id_set_add(c, &c->chg_groups, ref);
    else if (c->in_batch)
        id_set_add(c, &c->bat_groups, ref);
}

static void touch_user(srv_cache *c, int64_t id)
{
    if (c->in_change)
        id_set_add(c, &c->chg_users, id);
    else if (c->in_batch)
        id_set_add(c, &c->bat_users, id);
}

static void hit(srv_cache *c, int found)
{
    if (found)
        c->hits++;
    else
        c->misses++;
}

int srv_cache_group_by_ref(srv_cache *c, int64_t ref, srv_group *out)
{
    centry *e = find_ref(c, ref);
    hit(c, e != NULL);
    if (e)
        *out = e->g;
    return e != NULL;
}

int srv_cache_group_by_name(srv_cache *c, const char *name, srv_group *out)
{
    centry *e = c->by_name[hash_bytes(name, strlen(name))];
    while (e && strcmp(e->g.name, name) != 0)
        e = e->next_name;
    hit(c, e != NULL);
    if (e)
        *out = e->g;
    return e != NULL;
}

int srv_cache_group_by_gid(srv_cache *c, mls_bytes gid, srv_group *out)
{
    centry *e = c->by_gid[hash_bytes(gid.p, gid.n)];
    while (e && !(e->g.gid_len == gid.n && memcmp(e->g.gid, gid.p, gid.n) == 0))
        e = e->next_gid;
    hit(c, e != NULL);
    if (e)
        *out = e->g;
    return e != NULL;
}

void srv_cache_group_put(srv_cache *c, const srv_group *g)
{
    centry *e = find_ref(c, g->ref);
    if (e) {
        e->g = *g; /* name and group id never change */
        return;
    }
    if (c->n_groups >= SRV_CACHE_GROUPS)
        clear_all(c);
    if (!(e = calloc(1, sizeof *e)))
        return;
    e->g = *g;
    size_t b = hash_id(g->ref, GROUP_BUCKETS);
    e->next_ref = c->by_ref[b];
    c->by_ref[b] = e;
    b = hash_bytes(g->name, strlen(g->name));
    e->next_name = c->by_name[b];
    c->by_name[b] = e;
    b = hash_bytes(g->gid, g->gid_len);
    e->next_gid = c->by_gid[b];
    c->by_gid[b] = e;
    c->n_groups++;
}

void srv_cache_group_epoch(srv_cache *c, int64_t ref, uint64_t epoch)
{
    centry *e = find_ref(c, ref);
    if (e)
        e->g.epoch = epoch;
    touch_group(c, ref);
}

void srv_cache_group_last_seq(srv_cache *c, int64_t ref, uint64_t last_seq)
{
    centry *e = find_ref(c, ref);
    if (e)
        e->g.last_seq = last_seq;
    touch_group(c, ref);
}

void srv_cache_group_forget(srv_cache *c, int64_t ref)
{
    forget_group(c, ref);
    touch_group(c, ref);
}

/* ------------------------------------------------------------ rosters */

int srv_cache_roster(srv_cache *c, int64_t ref, const srv_member **rows, size_t *n)
{
    centry *e = find_ref(c, ref);
    int found = e && e->roster;
    hit(c, found);
    if (found) {
        *rows = e->roster;
        *n = e->n_roster;
    }
    return found;
}

void srv_cache_roster_put(srv_cache *c, int64_t ref, srv_member *rows, size_t n)
{
    centry *e = find_ref(c, ref);
    /* Only beside its group row, and never an empty one (a roster is
     * never empty while the group lives; malloc(0) may be NULL). */
    if (!e || n == 0 || n > SRV_CACHE_ROWS) {
        free(rows);
        return;
    }
    drop_roster(c, e);
    if (c->n_rows + n > SRV_CACHE_ROWS) {
        /* Drop the other rosters, keep the group rows. */
        for (size_t i = 0; i < GROUP_BUCKETS; i++)
            for (centry *o = c->by_ref[i]; o; o = o->next_ref)
                drop_roster(c, o);
    }
    e->roster = rows;
    e->n_roster = n;
    c->n_rows += n;
}

void srv_cache_roster_forget(srv_cache *c, int64_t ref)
{
    centry *e = find_ref(c, ref);
    if (e)
        drop_roster(c, e);
    touch_group(c, ref);
}

/* ------------------------------------------------------------ users */

int srv_cache_user(srv_cache *c, int64_t id, srv_user *out)
{
    cuser *u = c->users[hash_id(id, USER_BUCKETS)];
    while (u && u->u.id != id)
        u = u->next;
    hit(c, u != NULL);
    if (u)
        *out = u->u;
    return u != NULL;
}

void srv_cache_user_put(srv_cache *c, const srv_user *user)
{
    size_t b = hash_id(user->id, USER_BUCKETS);
    for (cuser *u = c->users[b]; u; u = u->next)
        if (u->u.id == user->id) {
            u->u = *user;
            return;
        }
    if (c->n_users >= SRV_CACHE_USERS)
        clear_users(c);
    cuser *u = malloc(sizeof *u);
    if (!u)
        return;
    u->u = *user;
    u->next = c->users[b];
    c->users[b] = u;
    c->n_users++;
}

static void forget_user(srv_cache *c, int64_t id)
{
    for (cuser **p = &c->users[hash_id(id, USER_BUCKETS)]; *p; p = &(*p)->next)
        if ((*p)->u.id == id) {
            cuser *u = *p;
            *p = u->next;
            free(u);
            c->n_users--;
            break;
        }
    /* Rosters carry the username. */
    for (size_t i = 0; i < GROUP_BUCKETS; i++)
        for (centry *e = c->by_ref[i]; e; e = e->next_ref)
            drop_roster(c, e);
}

void srv_cache_user_forget(srv_cache *c, int64_t id)
{
    forget_user(c, id);
    touch_user(c, id);
}

/* ------------------------------------------------------------ transactions */

static void forget_set(srv_cache *c, id_set *groups, id_set *users)
{
    if (c->lost)
        clear_all(c);
    for (size_t i = 0; i < groups->n; i++)
        forget_group(c, groups->ids[i]);
    for (size_t i = 0; i < users->n; i++)
        forget_user(c, users->ids[i]);
    groups->n = users->n = 0;
}

void srv_cache_batch_begin(srv_cache *c)
{
    c->in_batch = 1;
    c->bat_groups.n = c->bat_users.n = 0;
}

void srv_cache_batch_end(srv_cache *c, int committed)
{
    if (!committed)
        forget_set(c, &c->bat_groups, &c->bat_users);
    c->bat_groups.n = c->bat_users.n = 0;
    c->in_batch = 0;
    c->lost = 0;
}

void srv_cache_change_begin(srv_cache *c)
{
    c->in_change = 1;
    c->chg_groups.n = c->chg_users.n = 0;
}

void srv_cache_change_end(srv_cache *c, int keep)
{
    c->in_change = 0;
    if (!keep) {
        forget_set(c, &c->chg_groups, &c->chg_users);
        return;
    }
    /* The batch may still roll back what this change kept. */
    for (size_t i = 0; i < c->chg_groups.n; i++)
        touch_group(c, c->chg_groups.ids[i]);
    for (size_t i = 0; i < c->chg_users.n; i++)
        touch_user(c, c->chg_users.ids[i]);
    c->chg_groups.n = c->chg_users.n = 0;
}

void srv_cache_get_stats(const srv_cache *c, srv_cache_stats *out)
{
    out->hits = c->hits;
    out->misses = c->misses;
    out->groups = c->n_groups;
    out->rows = c->n_rows;
    out->users = c->n_users;
}
