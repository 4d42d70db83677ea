/* Unit tests for src/server/store_cache.c inside the SQLite store: after
 * every step of random writes, in changes kept or undone and batches
 * committed or rolled back, every cached read (groups by name and id,
 * rosters, members, users) equals the same row read with SQL on the
 * store's own connection, which sees the open transaction.  Then the
 * cache's bounds, and its hit counts (a group.send's reads come from
 * memory). */
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "store_sqlite_int.h"
#include "test.h"

static char dir[] = "/tmp/mlschat-cache-XXXXXX";

#define N_USERS 6
#define N_GROUPS 3

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned pick(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static mls_bytes B(const char *s)
{
    return mls_bytes_of((const uint8_t *)s, strlen(s));
}

static int64_t users[N_USERS], groups[N_GROUPS];

/* One integer from SQL on the store's connection; -1 when no row. */
static int64_t sql_int(sqlite3 *db, const char *sql, int64_t a, int64_t b)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, a);
        sqlite3_bind_int64(st, 2, b);
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return v;
}

static int sql_name(sqlite3 *db, const char *sql, int64_t a, char *out, size_t cap)
{
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, a);
        if (sqlite3_step(st) == SQLITE_ROW) {
            snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
            found = 1;
        }
    }
    sqlite3_finalize(st);
    return found;
}

typedef struct roster {
    int64_t ids[N_USERS + 1];
    char names[N_USERS + 1][SRV_NAME_MAX + 1];
    int roles[N_USERS + 1];
    size_t n;
} roster;

static int on_member(void *ctx, const srv_member *m)
{
    roster *r = ctx;
    if (r->n <= N_USERS) {
        r->ids[r->n] = m->user_id;
        snprintf(r->names[r->n], sizeof r->names[r->n], "%s", m->username);
        r->roles[r->n] = (int)m->role;
        r->n++;
    }
    return 0;
}

/* Every cached read against SQL; returns the number of mismatches. */
static int compare(srv_store *st)
{
    sqlite3 *db = S(st)->db;
    int bad = 0;
    for (int i = 0; i < N_USERS; i++) {
        srv_user u;
        char name[SRV_NAME_MAX + 1];
        int ok = st->ops->user_by_id(st, users[i], &u) == SRV_OK &&
                 sql_name(db, "SELECT username FROM users WHERE id = ?", users[i], name,
                          sizeof name) &&
                 strcmp(u.name, name) == 0;
        bad += !ok;
    }
    for (int g = 0; g < N_GROUPS; g++) {
        srv_group a, b;
        char name[16];
        snprintf(name, sizeof name, "g%d", g);
        int ok = st->ops->group_by_name(st, name, &a) == SRV_OK &&
                 st->ops->group_by_gid(st, mls_bytes_of(a.gid, a.gid_len), &b) == SRV_OK &&
                 a.ref == groups[g] && b.ref == a.ref && b.epoch == a.epoch &&
                 b.last_seq == a.last_seq &&
                 (int64_t)a.epoch == sql_int(db, "SELECT epoch FROM groups WHERE id = ?", a.ref, 0) &&
                 (int64_t)a.last_seq ==
                     sql_int(db, "SELECT last_seq FROM groups WHERE id = ?", a.ref, 0) &&
                 (int64_t)a.last_seq ==
                     sql_int(db, "SELECT coalesce(max(seq), 0) FROM log WHERE group_ref = ?", a.ref, 0);
        if (!ok) {
            fprintf(stderr, "group g%d differs\n", g);
            bad++;
            continue;
        }
        roster r;
        memset(&r, 0, sizeof r);
        ok = st->ops->member_list(st, groups[g], on_member, &r) == SRV_OK;
        int64_t n_sql = sql_int(db,
                                "SELECT count(*) FROM members WHERE group_ref = ?"
                                " AND left_seq IS NULL",
                                groups[g], 0);
        ok = ok && (int64_t)r.n == n_sql;
        for (size_t k = 0; ok && k < r.n; k++) {
            char uname[SRV_NAME_MAX + 1];
            ok = (k == 0 || r.ids[k - 1] < r.ids[k]) &&
                 sql_name(db, "SELECT username FROM users WHERE id = ?", r.ids[k], uname,
                          sizeof uname) &&
                 strcmp(uname, r.names[k]) == 0 &&
                 r.roles[k] == sql_int(db,
                                       "SELECT role FROM members WHERE group_ref = ?"
                                       " AND user_id = ? AND left_seq IS NULL",
                                       groups[g], r.ids[k]);
        }
        for (int i = 0; ok && i < N_USERS; i++) {
            srv_member m;
            int err = st->ops->member_get(st, groups[g], users[i], &m);
            int64_t left = sql_int(db,
                                   "SELECT coalesce(left_seq, 0) FROM members"
                                   " WHERE group_ref = ? AND user_id = ?",
                                   groups[g], users[i]);
            if (left < 0)
                ok = err == SRV_NOT_FOUND;
            else
                ok = err == SRV_OK && m.left == (left != 0) && (int64_t)m.left_seq == left;
        }
        if (!ok) {
            fprintf(stderr, "roster of g%d differs\n", g);
            bad++;
        }
    }
    return bad;
}

/* One random write; its result does not matter, only what it left. */
static void random_write(srv_store *st, int step)
{
    int64_t g = groups[pick(N_GROUPS)], u = users[pick(N_USERS)];
    srv_group row;
    uint64_t seq;
    char name[32];
    switch (pick(6)) {
    case 0:
        (void)st->ops->member_add(st, g, u, pick(2) ? SRV_ROLE_ADMIN : SRV_ROLE_MEMBER, 1);
        break;
    case 1:
        (void)st->ops->member_remove(st, g, u, (uint64_t)step + 1);
        break;
    case 2:
    case 3:
        (void)st->ops->log_append(st, g, 0, SRV_KIND_MESSAGE, u, B("m"), NULL,
                                  mls_bytes_of(NULL, 0), 100, &seq);
        break;
    case 4:
        /* The current epoch (advances) or a stale one (conflict). */
        for (int i = 0; i < N_GROUPS; i++)
            if (groups[i] == g) {
                snprintf(name, sizeof name, "g%d", i);
                if (st->ops->group_by_name(st, name, &row) == SRV_OK)
                    (void)st->ops->group_advance_epoch(st, g, row.epoch - pick(2));
            }
        break;
    default:
        /* A rename, or one refused because the name is taken. */
        snprintf(name, sizeof name, "u%d", pick(2 * N_USERS));
        (void)st->ops->user_rename(st, u, name);
        break;
    }
}

static void test_random(srv_store *st)
{
    int bad = 0;
    for (int batch = 0; batch < 300; batch++) {
        CHECK_OK(st->ops->batch_begin(st));
        int changes = 1 + (int)pick(4);
        for (int c = 0; c < changes; c++) {
            CHECK_OK(st->ops->change_begin(st));
            int writes = 1 + (int)pick(3);
            for (int w = 0; w < writes; w++) {
                random_write(st, batch);
                /* Reads in the middle of a change cache what it wrote. */
                bad += compare(st);
            }
            CHECK_OK(st->ops->change_end(st, pick(3) != 0));
            bad += compare(st);
        }
        if (pick(4))
            CHECK_OK(st->ops->batch_commit(st));
        else
            CHECK_OK(st->ops->batch_rollback(st));
        bad += compare(st);
    }
    CHECK(bad == 0);
}

/* A group.send's reads after the first: all from memory. */
static void test_hits(srv_store *st)
{
    srv_cache_stats a, b;
    srv_group g;
    srv_member m;
    srv_user u;
    roster r;
    CHECK_OK(st->ops->group_by_name(st, "g0", &g));
    srv_cache_get_stats(S(st)->cache, &a);
    for (int i = 0; i < 10; i++) {
        memset(&r, 0, sizeof r);
        CHECK_OK(st->ops->user_by_id(st, users[0], &u));
        CHECK_OK(st->ops->group_by_name(st, "g0", &g));
        CHECK_OK(st->ops->member_list(st, g.ref, on_member, &r));
        if (r.n)
            CHECK_OK(st->ops->member_get(st, g.ref, r.ids[0], &m));
    }
    srv_cache_get_stats(S(st)->cache, &b);
    CHECK(b.misses - a.misses <= 2); /* the first user and roster */
    CHECK(b.hits - a.hits >= 28);
    CHECK(b.groups == N_GROUPS && b.users == N_USERS && b.rows > 0);
}

/* The bounds: past SRV_CACHE_GROUPS groups the cache starts over, and a
 * cached group still reads right after that. */
static void test_bounds(void)
{
    srv_cache *c = srv_cache_new();
    CHECK(c != NULL);
    if (!c)
        return;
    srv_group g;
    memset(&g, 0, sizeof g);
    for (int i = 1; i <= SRV_CACHE_GROUPS + 10; i++) {
        g.ref = i;
        snprintf(g.name, sizeof g.name, "n%d", i);
        g.gid_len = (size_t)snprintf((char *)g.gid, sizeof g.gid, "id%d", i);
        srv_cache_group_put(c, &g);
    }
    srv_cache_stats s;
    srv_cache_get_stats(c, &s);
    CHECK(s.groups == 10);
    srv_group out;
    CHECK(srv_cache_group_by_name(c, "n8200", &out) && out.ref == 8200);
    CHECK(srv_cache_group_by_gid(c, B("id8201"), &out) && out.ref == 8201);
    CHECK(!srv_cache_group_by_name(c, "n5", &out));
    /* A roster beside its group, and too many rows drop the others. */
    srv_member *rows = calloc(3, sizeof *rows);
    CHECK(rows != NULL);
    srv_cache_roster_put(c, 8200, rows, 3);
    const srv_member *got;
    size_t n;
    CHECK(srv_cache_roster(c, 8200, &got, &n) && n == 3);
    srv_cache_roster_put(c, 5, calloc(2, sizeof *rows), 2); /* no group row: dropped */
    CHECK(!srv_cache_roster(c, 5, &got, &n));
    srv_cache_roster_put(c, 8201, calloc(SRV_CACHE_ROWS, sizeof *rows), SRV_CACHE_ROWS);
    CHECK(srv_cache_roster(c, 8201, &got, &n) && n == SRV_CACHE_ROWS);
    CHECK(!srv_cache_roster(c, 8200, &got, &n));
    srv_cache_get_stats(c, &s);
    CHECK(s.rows == SRV_CACHE_ROWS);
    /* A change undone forgets the group it touched, kept ones stay until
     * the batch rolls back. */
    srv_cache_batch_begin(c);
    srv_cache_change_begin(c);
    srv_cache_group_last_seq(c, 8200, 7);
    srv_cache_change_end(c, 0);
    CHECK(!srv_cache_group_by_ref(c, 8200, &out));
    srv_cache_change_begin(c);
    srv_cache_group_last_seq(c, 8201, 7);
    srv_cache_change_end(c, 1);
    CHECK(srv_cache_group_by_ref(c, 8201, &out) && out.last_seq == 7);
    srv_cache_batch_end(c, 0);
    CHECK(!srv_cache_group_by_ref(c, 8201, &out));
    CHECK(srv_cache_group_by_ref(c, 8202, &out));
    /* Past SRV_CACHE_USERS users the users start over, the groups stay. */
    srv_user u;
    memset(&u, 0, sizeof u);
    for (int i = 1; i <= SRV_CACHE_USERS + 5; i++) {
        u.id = i;
        snprintf(u.name, sizeof u.name, "u%d", i);
        srv_cache_user_put(c, &u);
    }
    srv_cache_get_stats(c, &s);
    CHECK(s.users == 5);
    srv_user got_u;
    char want[32];
    snprintf(want, sizeof want, "u%d", SRV_CACHE_USERS + 5);
    CHECK(srv_cache_user(c, SRV_CACHE_USERS + 5, &got_u) && strcmp(got_u.name, want) == 0);
    CHECK(!srv_cache_user(c, 7, &got_u));
    CHECK(srv_cache_group_by_ref(c, 8202, &out));
    /* A rename forgets the user and every roster (they carry names). */
    srv_cache_roster_put(c, 8202, calloc(2, sizeof *rows), 2);
    CHECK(srv_cache_roster(c, 8202, &got, &n));
    srv_cache_user_forget(c, SRV_CACHE_USERS + 5);
    CHECK(!srv_cache_user(c, SRV_CACHE_USERS + 5, &got_u));
    CHECK(!srv_cache_roster(c, 8202, &got, &n));
    srv_cache_free(c);
    srv_cache_free(NULL);
}

int main(void)
{
    srv_log_set_level(SRV_LOG_ERROR);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char p[300];
    snprintf(p, sizeof p, "%s/c.db", dir);
    srv_store *st = NULL;
    CHECK_OK(srv_store_sqlite_open(p, &st));
    if (st) {
        CHECK_OK(st->ops->batch_begin(st));
        for (int i = 0; i < N_USERS; i++) {
            char name[16], key[16];
            snprintf(name, sizeof name, "u%d", i);
            snprintf(key, sizeof key, "K%d", i);
            CHECK_OK(st->ops->user_create(st, name, 1, B(key), 1, &users[i]));
        }
        for (int g = 0; g < N_GROUPS; g++) {
            char name[16], gid[16];
            snprintf(name, sizeof name, "g%d", g);
            snprintf(gid, sizeof gid, "gid%d", g);
            CHECK_OK(st->ops->group_create(st, name, B(gid), 1, users[0], 1, &groups[g]));
            CHECK_OK(st->ops->member_add(st, groups[g], users[0], SRV_ROLE_ADMIN, 0));
        }
        CHECK_OK(st->ops->batch_commit(st));
        CHECK(compare(st) == 0);
        test_random(st);
        test_hits(st);
        st->ops->close(st);
    }
    test_bounds();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    TEST_MAIN_END("test_server_store_cache");
}
