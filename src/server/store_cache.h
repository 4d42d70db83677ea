/*
 * The SQLite store's memory of the rows every request reads (issue 13
 * item 2): groups by name, group id and row id, each group's current
 * roster, and users by id.  A group.send then runs its two writes and
 * the msg_id lookup instead of nine statements.
 *
 * The database stays the source of truth.  The cache is only correct
 * because one process writes it (main.c locks the database file) and
 * every write goes through the store, which tells the cache in the same
 * call:
 *   - a write updates the cached row in place or forgets it, and marks
 *     the group (or user) as touched in the open change;
 *   - change_end(keep = 0) forgets what the change touched, a rolled
 *     back batch what the batch touched: the next read loads the row
 *     again from the database, where the rollback undid it.
 * Touching also covers rows loaded after a write in the same change (they
 * hold uncommitted data), because forgetting does not depend on whether
 * the row was cached when it was written.
 *
 * Memory is bounded (about 18 MiB when full): past SRV_CACHE_GROUPS
 * groups everything is dropped, past SRV_CACHE_ROWS roster rows the other
 * rosters, past SRV_CACHE_USERS users the users, and they load again.
 * Not used for PostgreSQL, where other processes write the same rows.
 */
#ifndef SRV_STORE_CACHE_H
#define SRV_STORE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define SRV_CACHE_GROUPS 8192
#define SRV_CACHE_ROWS 65536
#define SRV_CACHE_USERS 32768

typedef struct srv_cache srv_cache;

srv_cache *srv_cache_new(void);
void srv_cache_free(srv_cache *c);

/* Transactions, as the store sees them (store.h). */
void srv_cache_batch_begin(srv_cache *c);
/* committed = 0: the batch was rolled back. */
void srv_cache_batch_end(srv_cache *c, int committed);
void srv_cache_change_begin(srv_cache *c);
void srv_cache_change_end(srv_cache *c, int keep);

/* Lookups: 1 and *out on a hit, 0 on a miss. */
int srv_cache_group_by_name(srv_cache *c, const char *name, srv_group *out);
int srv_cache_group_by_gid(srv_cache *c, mls_bytes gid, srv_group *out);
int srv_cache_group_by_ref(srv_cache *c, int64_t ref, srv_group *out);
/* A group row just read from the database. */
void srv_cache_group_put(srv_cache *c, const srv_group *g);
/* A write to the group's row: the new epoch or last_seq when the write
 * succeeded (the cached row follows), forgotten otherwise. */
void srv_cache_group_epoch(srv_cache *c, int64_t ref, uint64_t epoch);
void srv_cache_group_last_seq(srv_cache *c, int64_t ref, uint64_t last_seq);
void srv_cache_group_forget(srv_cache *c, int64_t ref);

/* The current roster (ordered by user id), valid until the next call
 * into the cache; 1 on a hit. */
int srv_cache_roster(srv_cache *c, int64_t ref, const srv_member **rows, size_t *n);
/* Takes rows (malloc'd, ordered by user id) whatever the outcome. */
void srv_cache_roster_put(srv_cache *c, int64_t ref, srv_member *rows, size_t n);
/* A roster write (member added or removed). */
void srv_cache_roster_forget(srv_cache *c, int64_t ref);

int srv_cache_user(srv_cache *c, int64_t id, srv_user *out);
void srv_cache_user_put(srv_cache *c, const srv_user *u);
/* A write to the user's row (a rename): the user and every roster, which
 * carry usernames, are forgotten. */
void srv_cache_user_forget(srv_cache *c, int64_t id);

typedef struct srv_cache_stats {
    uint64_t hits, misses;
    size_t groups, rows, users;
} srv_cache_stats;
void srv_cache_get_stats(const srv_cache *c, srv_cache_stats *out);

#endif
