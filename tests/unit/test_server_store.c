/* Unit tests for src/server/store_sqlite.c through the store.h interface,
 * on temporary databases: migrations, users, the log (paging, msg_id,
 * first-commit-wins), KeyPackage claims, inbox, transactions, retention;
 * and the same on src/server/store_pg.c when MLSCHAT_TEST_PG_DB names a
 * fresh PostgreSQL database (tests/integration/pg_test.sh). */
#include <sqlite3.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "test.h"

static char dir[] = "/tmp/mlschat-store-XXXXXX";
static char path[256];
static int n_db;

/* A fresh database path in the temporary directory. */
static const char *new_path(void)
{
    snprintf(path, sizeof path, "%s/t%d.db", dir, n_db++);
    return path;
}

static int user_version(const char *p)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_open(p, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static int exec(const char *p, const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open(p, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static mls_bytes B(const char *s)
{
    return mls_bytes_of((const uint8_t *)s, strlen(s));
}

/* Runs body inside one batch and one kept change, as the server does. */
#define IN_CHANGE(st, body)                                                    \
    do {                                                                       \
        CHECK_OK((st)->ops->batch_begin(st));                                  \
        CHECK_OK((st)->ops->change_begin(st));                                 \
        body;                                                                  \
        CHECK_OK((st)->ops->change_end((st), 1));                              \
        CHECK_OK((st)->ops->batch_commit(st));                                 \
    } while (0)

/* Pending invitations (migration 4): one per (group, username), listed
 * for the group's administrators and for the invitee, gone once done. */
static int pending_row(void *ctx, const srv_pending *p)
{
    char *s = ctx;
    size_t o = strlen(s);
    snprintf(s + o, 256 - o, "%s/%s/%s;", p->group, p->username, p->inviter);
    return 0;
}

static void test_pending(void)
{
    srv_store *st = NULL;
    const char *p = new_path();
    int64_t alice = 0, bob = 0, ref = 0, n = -1;
    char seen[256];
    static const uint8_t k1[32] = {1}, k2[32] = {2};
    CHECK_OK(srv_store_sqlite_open(p, &st));
    if (!st)
        return;
    CHECK_OK(st->ops->batch_begin(st));
    CHECK_OK(st->ops->user_create(st, "alice", 1, mls_bytes_of(k1, 32), 1, &alice));
    CHECK_OK(st->ops->user_create(st, "bob", 1, mls_bytes_of(k2, 32), 1, &bob));
    CHECK_OK(st->ops->group_create(st, "lobby", mls_bytes_of(k1, 8), 1, alice, 1, &ref));
    CHECK_OK(st->ops->member_add(st, ref, alice, SRV_ROLE_ADMIN, 0));
    CHECK_OK(st->ops->member_add(st, ref, bob, SRV_ROLE_MEMBER, 1));
    CHECK_OK(st->ops->pending_add(st, ref, "carol", alice, 5));
    CHECK_OK(st->ops->pending_add(st, ref, "carol", alice, 6));
    CHECK_OK(st->ops->pending_add(st, ref, "dave", alice, 7));
    CHECK_OK(st->ops->pending_count(st, ref, &n));
    CHECK(n == 2);
    seen[0] = 0;
    CHECK_OK(st->ops->pending_for_admin(st, alice, pending_row, seen));
    CHECK(strcmp(seen, "lobby/carol/alice;lobby/dave/alice;") == 0);
    seen[0] = 0;
    CHECK_OK(st->ops->pending_for_admin(st, bob, pending_row, seen));
    CHECK(seen[0] == 0);
    seen[0] = 0;
    CHECK_OK(st->ops->pending_for_user(st, "dave", pending_row, seen));
    CHECK(strcmp(seen, "lobby/dave/alice;") == 0);
    CHECK_OK(st->ops->pending_delete(st, ref, "dave"));
    seen[0] = 0;
    CHECK_OK(st->ops->pending_for_user(st, "dave", pending_row, seen));
    CHECK(seen[0] == 0);
    CHECK_OK(st->ops->batch_commit(st));
    st->ops->close(st);
}

static void test_migrations(void)
{
    srv_store *st = NULL;
    const char *p = new_path();
    CHECK_OK(srv_store_sqlite_open(p, &st));
    st->ops->close(st);
    CHECK(user_version(p) == 5);
    /* Reopening runs nothing again. */
    CHECK_OK(srv_store_sqlite_open(p, &st));
    st->ops->close(st);
    CHECK(user_version(p) == 5);
    /* A schema newer than this server is refused, not touched. */
    CHECK(exec(p, "PRAGMA user_version = 99") == SQLITE_OK);
    st = NULL;
    CHECK(srv_store_sqlite_open(p, &st) == SRV_STORE_ERR && st == NULL);
    CHECK(user_version(p) == 99);
    /* An unusable path fails cleanly. */
    CHECK(srv_store_sqlite_open("/nonexistent-dir/x.db", &st) == SRV_STORE_ERR);
}

/* Migration 4: the public view per group and the registered renames. */
/* Group views and registered renames on a store where user and group are
 * free names. */
static void check_views_renames(srv_store *st, const char *user, const char *group)
{
    int64_t uid = 0, ref = 0;
    mls_buf b;
    mls_buf_init(&b);
    IN_CHANGE(st, CHECK_OK(st->ops->user_create(st, user, 1, B(user), 100, &uid)));
    IN_CHANGE(st, CHECK_OK(st->ops->group_create(st, group, B(group), 0, uid, 100, &ref)));
    CHECK(st->ops->group_get_view(st, ref, &b) == SRV_NOT_FOUND && b.n == 0);
    IN_CHANGE(st, CHECK_OK(st->ops->group_set_view(st, ref, B("view-1"))));
    CHECK_OK(st->ops->group_get_view(st, ref, &b));
    CHECK(b.n == 6 && memcmp(b.p, "view-1", 6) == 0);
    /* A change undone leaves the view as it was. */
    CHECK_OK(st->ops->batch_begin(st));
    CHECK_OK(st->ops->change_begin(st));
    CHECK_OK(st->ops->group_set_view(st, ref, B("view-2")));
    CHECK_OK(st->ops->change_end(st, 0));
    CHECK_OK(st->ops->batch_commit(st));
    CHECK_OK(st->ops->group_get_view(st, ref, &b));
    CHECK(b.n == 6 && memcmp(b.p, "view-1", 6) == 0);

    CHECK(st->ops->rename_known(st, uid, "al") == SRV_NOT_FOUND);
    IN_CHANGE(st, CHECK_OK(st->ops->rename_record(st, uid, "al", 200)));
    IN_CHANGE(st, CHECK_OK(st->ops->rename_record(st, uid, "al", 300))); /* again: no error */
    CHECK_OK(st->ops->rename_known(st, uid, "al"));
    CHECK(st->ops->rename_known(st, uid + 1, "al") == SRV_NOT_FOUND);
    CHECK(st->ops->rename_known(st, uid, user) == SRV_NOT_FOUND);
    mls_buf_clear(&b);
}

static void test_views_renames(void)
{
    srv_store *st = NULL;
    CHECK_OK(srv_store_sqlite_open(new_path(), &st));
    if (!st)
        return;
    check_views_renames(st, "alice", "g");
    st->ops->close(st);
}

/* A database written by schema version 1 (server 0.1.0): migration 2 keeps
 * its data and adds msg_id. */
static void test_migration_from_v1(void)
{
    static const char v1[] =
        "CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE,"
        " suite INTEGER NOT NULL, sig_key BLOB NOT NULL UNIQUE, created INTEGER NOT NULL);"
        "CREATE TABLE key_packages (id INTEGER PRIMARY KEY,"
        " user_id INTEGER NOT NULL REFERENCES users(id), data BLOB NOT NULL,"
        " last_resort INTEGER NOT NULL, not_after INTEGER NOT NULL, created INTEGER NOT NULL);"
        "CREATE INDEX key_packages_user ON key_packages(user_id, last_resort, id);"
        "CREATE TABLE groups (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        " group_id BLOB NOT NULL UNIQUE, epoch INTEGER NOT NULL, last_seq INTEGER NOT NULL,"
        " admin_id INTEGER NOT NULL REFERENCES users(id), group_info BLOB,"
        " created INTEGER NOT NULL);"
        "CREATE TABLE members (group_ref INTEGER NOT NULL REFERENCES groups(id),"
        " user_id INTEGER NOT NULL REFERENCES users(id), role INTEGER NOT NULL,"
        " joined_seq INTEGER NOT NULL, left_seq INTEGER,"
        " PRIMARY KEY (group_ref, user_id)) WITHOUT ROWID;"
        "CREATE INDEX members_user ON members(user_id);"
        "CREATE TABLE log (group_ref INTEGER NOT NULL REFERENCES groups(id),"
        " seq INTEGER NOT NULL, epoch INTEGER NOT NULL, kind INTEGER NOT NULL,"
        " sender_id INTEGER NOT NULL, data BLOB NOT NULL, meta TEXT,"
        " created INTEGER NOT NULL, PRIMARY KEY (group_ref, seq)) WITHOUT ROWID;"
        "CREATE UNIQUE INDEX log_one_commit ON log(group_ref, epoch) WHERE kind = 1;"
        "CREATE INDEX log_created ON log(created);"
        "CREATE TABLE inbox (id INTEGER PRIMARY KEY,"
        " user_id INTEGER NOT NULL REFERENCES users(id),"
        " group_ref INTEGER NOT NULL REFERENCES groups(id), seq INTEGER NOT NULL,"
        " epoch INTEGER NOT NULL, sender_id INTEGER NOT NULL, welcome BLOB NOT NULL,"
        " group_info BLOB, created INTEGER NOT NULL);"
        "CREATE INDEX inbox_user ON inbox(user_id, id);"
        "INSERT INTO users VALUES (1, 'alice', 1, x'01', 100);"
        "INSERT INTO groups VALUES (1, 'g', x'aa', 0, 1, 1, NULL, 100);"
        "INSERT INTO members VALUES (1, 1, 1, 0, NULL);"
        "INSERT INTO log VALUES (1, 1, 0, 2, 1, x'beef', NULL, 100);"
        "INSERT INTO inbox VALUES (7, 1, 1, 1, 1, 1, x'cafe', x'01', 100);"
        "PRAGMA user_version = 1;";
    const char *p = new_path();
    srv_store *st = NULL;
    srv_group g;
    srv_log_ref ref;
    uint64_t seq = 0;
    CHECK(exec(p, v1) == SQLITE_OK);
    CHECK_OK(srv_store_sqlite_open(p, &st));
    if (!st)
        return;
    CHECK(user_version(p) == 5);
    CHECK_OK(st->ops->group_by_name(st, "g", &g));
    CHECK(g.last_seq == 1);
    /* Version 3 moved the inbox's Welcome into its own table. */
    srv_inbox_stats stats;
    CHECK_OK(st->ops->inbox_stats(st, 1, &stats));
    CHECK(stats.entries == 1 && stats.bytes == 3);
    CHECK(st->ops->log_find_msg_id(st, g.ref, 1, B("m1"), &ref) == SRV_NOT_FOUND);
    IN_CHANGE(st, CHECK_OK(st->ops->log_append(st, g.ref, 0, SRV_KIND_MESSAGE, 1, B("x"), NULL,
                                                B("m1"), 200, &seq)));
    CHECK(seq == 2);
    CHECK_OK(st->ops->log_find_msg_id(st, g.ref, 1, B("m1"), &ref));
    CHECK(ref.seq == 2);
    st->ops->close(st);
}

static void test_users(srv_store *st)
{
    int64_t a = 0, b = 0;
    srv_user u;
    IN_CHANGE(st, {
        CHECK_OK(st->ops->user_create(st, "alice", 1, B("KA"), 10, &a));
        CHECK_OK(st->ops->user_create(st, "bob", 2, B("KB"), 10, &b));
        CHECK(st->ops->user_create(st, "alice", 1, B("KC"), 10, &a) == SRV_CONFLICT);
        CHECK(st->ops->user_create(st, "carol", 1, B("KA"), 10, &a) == SRV_CONFLICT);
    });
    CHECK(a > 0 && b > a);
    CHECK_OK(st->ops->user_by_name(st, "bob", &u));
    CHECK(u.id == b && u.suite == 2 && u.key_len == 2 && memcmp(u.key, "KB", 2) == 0);
    CHECK_OK(st->ops->user_by_id(st, a, &u));
    CHECK(strcmp(u.name, "alice") == 0);
    CHECK_OK(st->ops->user_by_key(st, B("KB"), &u));
    CHECK(u.id == b);
    CHECK(st->ops->user_by_name(st, "nobody", &u) == SRV_NOT_FOUND);
    CHECK(st->ops->user_by_key(st, B("KZ"), &u) == SRV_NOT_FOUND);
    IN_CHANGE(st, {
        CHECK(st->ops->user_rename(st, b, "alice") == SRV_CONFLICT);
        CHECK_OK(st->ops->user_rename(st, b, "bobby"));
        CHECK(st->ops->user_rename(st, 9999, "x") == SRV_NOT_FOUND);
    });
    CHECK_OK(st->ops->user_by_id(st, b, &u));
    CHECK(strcmp(u.name, "bobby") == 0);
    /* Restore the name used by the other tests. */
    IN_CHANGE(st, CHECK_OK(st->ops->user_rename(st, b, "bob")));
}

typedef struct collect {
    uint64_t seqs[64];
    size_t n;
} collect;

static int on_entry(void *ctx, const srv_log_entry *e)
{
    collect *c = ctx;
    if (c->n < 64)
        c->seqs[c->n++] = e->seq;
    return 0;
}

static void test_log(srv_store *st)
{
    srv_group g;
    srv_log_ref ref;
    int64_t ref_id = 0;
    uint64_t seq = 0, first = 0;
    collect c;
    IN_CHANGE(st, {
        CHECK_OK(st->ops->group_create(st, "lobby", B("gid-lobby"), 0, 1, 10, &ref_id));
        CHECK(st->ops->group_create(st, "lobby", B("other"), 0, 1, 10, &ref_id) == SRV_CONFLICT);
        CHECK(st->ops->group_create(st, "other", B("gid-lobby"), 0, 1, 10, &ref_id) ==
              SRV_CONFLICT);
    });
    CHECK_OK(st->ops->group_by_gid(st, B("gid-lobby"), &g));
    CHECK(strcmp(g.name, "lobby") == 0 && g.epoch == 0 && g.last_seq == 0 && g.admin_id == 1);
    CHECK_OK(st->ops->log_first_seq(st, g.ref, &first));
    CHECK(first == 1);
    /* Ten messages, then paging. */
    IN_CHANGE(st, {
        for (int i = 0; i < 10; i++) {
            char id[8];
            snprintf(id, sizeof id, "m%d", i);
            CHECK_OK(st->ops->log_append(st, g.ref, 0, SRV_KIND_MESSAGE, 1, B("data"), NULL,
                                         i % 2 ? B(id) : mls_bytes_of(NULL, 0), 100 + i,
                                         &seq));
            CHECK(seq == (uint64_t)i + 1);
        }
    });
    memset(&c, 0, sizeof c);
    CHECK_OK(st->ops->log_fetch(st, g.ref, 0, UINT64_MAX, 3, on_entry, &c));
    CHECK(c.n == 3 && c.seqs[0] == 1 && c.seqs[2] == 3);
    memset(&c, 0, sizeof c);
    CHECK_OK(st->ops->log_fetch(st, g.ref, 3, UINT64_MAX, 3, on_entry, &c));
    CHECK(c.n == 3 && c.seqs[0] == 4 && c.seqs[2] == 6);
    memset(&c, 0, sizeof c);
    CHECK_OK(st->ops->log_fetch(st, g.ref, 8, UINT64_MAX, 3, on_entry, &c));
    CHECK(c.n == 2 && c.seqs[0] == 9 && c.seqs[1] == 10);
    memset(&c, 0, sizeof c);
    CHECK_OK(st->ops->log_fetch(st, g.ref, 2, 5, 100, on_entry, &c));
    CHECK(c.n == 3 && c.seqs[0] == 3 && c.seqs[2] == 5);
    memset(&c, 0, sizeof c);
    CHECK_OK(st->ops->log_fetch(st, g.ref, 10, UINT64_MAX, 100, on_entry, &c));
    CHECK(c.n == 0);
    CHECK_OK(st->ops->group_by_name(st, "lobby", &g));
    CHECK(g.last_seq == 10);

    /* msg_id: found per (group, sender), unique. */
    CHECK_OK(st->ops->log_find_msg_id(st, g.ref, 1, B("m3"), &ref));
    CHECK(ref.seq == 4 && ref.epoch == 0 && ref.kind == SRV_KIND_MESSAGE);
    CHECK(st->ops->log_find_msg_id(st, g.ref, 2, B("m3"), &ref) == SRV_NOT_FOUND);
    CHECK(st->ops->log_find_msg_id(st, g.ref, 1, B("m2"), &ref) == SRV_NOT_FOUND);
    CHECK_OK(st->ops->batch_begin(st));
    CHECK_OK(st->ops->change_begin(st));
    CHECK(st->ops->log_append(st, g.ref, 0, SRV_KIND_MESSAGE, 1, B("d"), NULL, B("m3"), 200,
                              &seq) == SRV_CONFLICT);
    CHECK_OK(st->ops->change_end(st, 0));
    CHECK_OK(st->ops->change_begin(st));
    CHECK_OK(st->ops->log_append(st, g.ref, 0, SRV_KIND_MESSAGE, 2, B("d"), NULL, B("m3"), 200,
                                 &seq));
    CHECK_OK(st->ops->change_end(st, 1));
    CHECK_OK(st->ops->batch_commit(st));
    CHECK(seq == 11);

    /* First commit wins: compare-and-set on the epoch, one commit per
     * epoch in the log. */
    CHECK_OK(st->ops->batch_begin(st));
    CHECK_OK(st->ops->change_begin(st));
    CHECK_OK(st->ops->group_advance_epoch(st, g.ref, 0));
    CHECK_OK(st->ops->log_append(st, g.ref, 0, SRV_KIND_COMMIT, 1, B("commit-a"), "{}",
                                 B("c0"), 300, &seq));
    CHECK_OK(st->ops->change_end(st, 1));
    CHECK_OK(st->ops->change_begin(st));
    CHECK(st->ops->group_advance_epoch(st, g.ref, 0) == SRV_CONFLICT);
    CHECK(st->ops->log_append(st, g.ref, 0, SRV_KIND_COMMIT, 2, B("commit-b"), "{}",
                              mls_bytes_of(NULL, 0), 300, &seq) == SRV_CONFLICT);
    CHECK_OK(st->ops->change_end(st, 0));
    CHECK_OK(st->ops->batch_commit(st));
    CHECK_OK(st->ops->group_by_name(st, "lobby", &g));
    CHECK(g.epoch == 1 && g.last_seq == 12);
    CHECK_OK(st->ops->log_find_commit(st, g.ref, 0, 1, B("commit-a"), &ref));
    CHECK(ref.seq == 12 && ref.kind == SRV_KIND_COMMIT && ref.epoch == 0);
    CHECK(st->ops->log_find_commit(st, g.ref, 0, 1, B("commit-b"), &ref) == SRV_NOT_FOUND);
    CHECK(st->ops->log_find_commit(st, g.ref, 0, 2, B("commit-a"), &ref) == SRV_NOT_FOUND);
    CHECK(st->ops->log_find_commit(st, g.ref, 1, 1, B("commit-a"), &ref) == SRV_NOT_FOUND);
    CHECK_OK(st->ops->log_find_msg_id(st, g.ref, 1, B("c0"), &ref));
    CHECK(ref.seq == 12 && ref.kind == SRV_KIND_COMMIT);
}

static void test_transactions(srv_store *st)
{
    srv_group g;
    uint64_t seq = 0;
    CHECK_OK(st->ops->group_by_name(st, "lobby", &g));
    uint64_t last = g.last_seq;
    /* A refused change is undone; the batch's other changes stay. */
    CHECK_OK(st->ops->batch_begin(st));
    CHECK_OK(st->ops->change_begin(st));
    CHECK_OK(st->ops->log_append(st, g.ref, 1, SRV_KIND_MESSAGE, 1, B("kept"), NULL,
                                 mls_bytes_of(NULL, 0), 400, &seq));
    CHECK_OK(st->ops->change_end(st, 1));
    CHECK_OK(st->ops->change_begin(st));
    CHECK_OK(st->ops->log_append(st, g.ref, 1, SRV_KIND_MESSAGE, 1, B("undone"), NULL,
                                 mls_bytes_of(NULL, 0), 400, &seq));
    CHECK_OK(st->ops->group_advance_epoch(st, g.ref, 1));
    CHECK_OK(st->ops->change_end(st, 0));
    CHECK_OK(st->ops->batch_commit(st));
    CHECK_OK(st->ops->group_by_name(st, "lobby", &g));
    CHECK(g.last_seq == last + 1 && g.epoch == 1);
    /* A rolled-back batch leaves nothing. */
    CHECK_OK(st->ops->batch_begin(st));
    CHECK_OK(st->ops->change_begin(st));
    CHECK_OK(st->ops->log_append(st, g.ref, 1, SRV_KIND_MESSAGE, 1, B("lost"), NULL,
                                 mls_bytes_of(NULL, 0), 400, &seq));
    CHECK_OK(st->ops->change_end(st, 1));
    CHECK_OK(st->ops->batch_rollback(st));
    CHECK_OK(st->ops->group_by_name(st, "lobby", &g));
    CHECK(g.last_seq == last + 1);
}

static void test_key_packages(srv_store *st)
{
    const int64_t now = 1000;
    int64_t count = 0;
    int lr = 0;
    mls_buf out;
    mls_buf_init(&out);
    IN_CHANGE(st, {
        CHECK_OK(st->ops->kp_add(st, 1, B("kp1"), 0, 5000, now));
        CHECK_OK(st->ops->kp_add(st, 1, B("expired"), 0, 999, now));
        CHECK_OK(st->ops->kp_add(st, 1, B("kp2"), 0, UINT64_MAX, now));
        CHECK_OK(st->ops->kp_add(st, 1, B("lr-old"), 1, 5000, now));
        CHECK_OK(st->ops->kp_drop_last_resort(st, 1));
        CHECK_OK(st->ops->kp_add(st, 1, B("lr"), 1, 5000, now));
    });
    CHECK_OK(st->ops->kp_count(st, 1, now, &count, &lr));
    CHECK(count == 2 && lr == 1);
    CHECK(st->ops->kp_claim(st, 2, now, &out, &lr) == SRV_NOT_FOUND);
    /* A claim in a change that is undone gives nothing away. */
    CHECK_OK(st->ops->batch_begin(st));
    CHECK_OK(st->ops->change_begin(st));
    CHECK_OK(st->ops->kp_claim(st, 1, now, &out, &lr));
    CHECK(out.n == 3 && memcmp(out.p, "kp1", 3) == 0 && lr == 0);
    CHECK_OK(st->ops->change_end(st, 0));
    CHECK_OK(st->ops->batch_commit(st));
    CHECK_OK(st->ops->kp_count(st, 1, now, &count, &lr));
    CHECK(count == 2);
    /* Oldest first, each once, expired never, then the last resort
     * (kept). */
    static const char *const want[] = {"kp1", "kp2", "lr", "lr"};
    static const int want_lr[] = {0, 0, 1, 1};
    for (int i = 0; i < 4; i++) {
        mls_buf_reset(&out);
        IN_CHANGE(st, CHECK_OK(st->ops->kp_claim(st, 1, now, &out, &lr)));
        CHECK(out.n == strlen(want[i]) && memcmp(out.p, want[i], out.n) == 0);
        CHECK(lr == want_lr[i]);
    }
    CHECK_OK(st->ops->kp_count(st, 1, now, &count, &lr));
    CHECK(count == 0 && lr == 1);
    /* The last resort expires too. */
    CHECK(st->ops->kp_claim(st, 1, 6000, &out, &lr) == SRV_NOT_FOUND);
    IN_CHANGE(st, CHECK_OK(st->ops->kp_delete_user(st, 1)));
    CHECK(st->ops->kp_claim(st, 1, now, &out, &lr) == SRV_NOT_FOUND);
    mls_buf_clear(&out);
}

typedef struct inbox_seen {
    int64_t ids[8];
    size_t n;
    int ok;
} inbox_seen;

static int on_inbox(void *ctx, const srv_inbox_entry *e)
{
    inbox_seen *s = ctx;
    if (s->n < 8)
        s->ids[s->n++] = e->id;
    s->ok = strcmp(e->group->name, "lobby") == 0 && e->welcome.n == 7 && e->seq == 12 &&
            e->sender && strcmp(e->sender, "alice") == 0;
    return 0;
}

static void test_inbox_and_members(srv_store *st)
{
    srv_group g;
    srv_member m;
    int64_t id1 = 0, id2 = 0, w1 = 0, w2 = 0;
    int deleted = 0;
    inbox_seen seen;
    srv_inbox_stats stats;
    CHECK_OK(st->ops->group_by_name(st, "lobby", &g));
    IN_CHANGE(st, {
        CHECK_OK(st->ops->member_add(st, g.ref, 1, SRV_ROLE_ADMIN, 0));
        CHECK_OK(st->ops->member_add(st, g.ref, 2, SRV_ROLE_MEMBER, 12));
        CHECK_OK(st->ops->welcome_add(st, B("welcome"), B("gi"), 500, &w1));
        CHECK_OK(st->ops->welcome_add(st, B("welcome"), mls_bytes_of(NULL, 0), 500, &w2));
        CHECK_OK(st->ops->inbox_add(st, 2, g.ref, 12, 1, 1, w1, 500, &id1));
        CHECK_OK(st->ops->inbox_add(st, 2, g.ref, 12, 1, 1, w2, 500, &id2));
    });
    /* The bytes count for the recipient: "welcome" + "gi", "welcome". */
    CHECK_OK(st->ops->inbox_stats(st, 2, &stats));
    CHECK(stats.entries == 2 && stats.bytes == 16);
    /* Pages: after an id, at most limit. */
    memset(&seen, 0, sizeof seen);
    CHECK_OK(st->ops->inbox_list(st, 2, 0, 1, on_inbox, &seen));
    CHECK(seen.n == 1 && seen.ids[0] == id1);
    memset(&seen, 0, sizeof seen);
    CHECK_OK(st->ops->inbox_list(st, 2, id1, 10, on_inbox, &seen));
    CHECK(seen.n == 1 && seen.ids[0] == id2);
    CHECK_OK(st->ops->member_get(st, g.ref, 2, &m));
    CHECK(m.role == SRV_ROLE_MEMBER && m.joined_seq == 12 && !m.left &&
          strcmp(m.username, "bob") == 0);
    memset(&seen, 0, sizeof seen);
    CHECK_OK(st->ops->inbox_list(st, 2, 0, 100, on_inbox, &seen));
    CHECK(seen.n == 2 && seen.ids[0] == id1 && seen.ids[1] == id2 && seen.ok);
    IN_CHANGE(st, {
        CHECK_OK(st->ops->inbox_ack(st, 1, id1, &deleted)); /* not alice's */
        CHECK(deleted == 0);
        CHECK_OK(st->ops->inbox_ack(st, 2, id1, &deleted));
        CHECK(deleted == 1);
        CHECK_OK(st->ops->inbox_ack(st, 2, id1, &deleted));
        CHECK(deleted == 0);
    });
    memset(&seen, 0, sizeof seen);
    CHECK_OK(st->ops->inbox_list(st, 2, 0, 100, on_inbox, &seen));
    CHECK(seen.n == 1 && seen.ids[0] == id2);
    CHECK_OK(st->ops->inbox_stats(st, 2, &stats));
    CHECK(stats.entries == 1 && stats.bytes == 7);
    IN_CHANGE(st, {
        CHECK_OK(st->ops->member_remove(st, g.ref, 2, 13));
        CHECK(st->ops->member_remove(st, g.ref, 2, 14) == SRV_NOT_FOUND);
    });
    CHECK_OK(st->ops->member_get(st, g.ref, 2, &m));
    CHECK(m.left && m.left_seq == 13);
    /* Rejoining clears the departure. */
    IN_CHANGE(st, CHECK_OK(st->ops->member_add(st, g.ref, 2, SRV_ROLE_MEMBER, 20)));
    CHECK_OK(st->ops->member_get(st, g.ref, 2, &m));
    CHECK(!m.left && m.joined_seq == 20);
}

static void test_retention(srv_store *st)
{
    srv_group g;
    srv_purge_counts pc;
    uint64_t first = 0, seq = 0;
    int64_t count = 0;
    int lr = 0;
    collect c;
    CHECK_OK(st->ops->group_by_name(st, "lobby", &g));
    IN_CHANGE(st, {
        CHECK_OK(st->ops->kp_add(st, 2, B("old"), 0, 99999, 100));
        CHECK_OK(st->ops->kp_add(st, 2, B("new"), 0, 99999, 2000));
        CHECK_OK(st->ops->kp_add(st, 2, B("expiring"), 0, 1500, 2000));
    });
    /* Entries created before 300 go (seqs 1..11 were created at 100..200). */
    IN_CHANGE(st, CHECK_OK(st->ops->purge(st, 300, 1000, 0, 1600, &pc)));
    CHECK(pc.log_entries == 11 && pc.key_packages == 2);
    CHECK_OK(st->ops->log_first_seq(st, g.ref, &first));
    CHECK(first == 12);
    memset(&c, 0, sizeof c);
    CHECK_OK(st->ops->log_fetch(st, g.ref, 0, UINT64_MAX, 100, on_entry, &c));
    CHECK(c.n > 0 && c.seqs[0] == 12);
    CHECK_OK(st->ops->kp_count(st, 2, 1600, &count, &lr));
    CHECK(count == 1);
    /* Purged msg_ids are forgotten with their entries. */
    srv_log_ref ref;
    CHECK(st->ops->log_find_msg_id(st, g.ref, 1, B("m3"), &ref) == SRV_NOT_FOUND);
    /* Zero means keep: nothing but expired KeyPackages goes. */
    IN_CHANGE(st, CHECK_OK(st->ops->purge(st, 0, 0, 0, 1600, &pc)));
    CHECK(pc.log_entries == 0 && pc.key_packages == 0 && pc.inbox_entries == 0);
    /* Inbox entries expire (--inbox-ttl) and take their Welcome along. */
    srv_inbox_stats stats;
    CHECK_OK(st->ops->inbox_stats(st, 2, &stats));
    CHECK(stats.entries == 1);
    IN_CHANGE(st, CHECK_OK(st->ops->purge(st, 0, 0, 501, 1600, &pc)));
    CHECK(pc.inbox_entries == 1);
    CHECK_OK(st->ops->inbox_stats(st, 2, &stats));
    CHECK(stats.entries == 0 && stats.bytes == 0);
    /* Sequence numbers continue after a purge, also of everything. */
    IN_CHANGE(st, CHECK_OK(st->ops->purge(st, 100000, 0, 0, 1600, &pc)));
    CHECK_OK(st->ops->log_first_seq(st, g.ref, &first));
    CHECK_OK(st->ops->group_by_name(st, "lobby", &g));
    CHECK(first == g.last_seq + 1);
    IN_CHANGE(st, CHECK_OK(st->ops->log_append(st, g.ref, 1, SRV_KIND_MESSAGE, 1, B("x"), NULL,
                                                mls_bytes_of(NULL, 0), 500, &seq)));
    CHECK(seq == first);
    int64_t wal = -1;
    CHECK(st->ops->size_bytes(st, &wal) > 0 && wal >= 0);
    const char *why = NULL;
    CHECK(st->ops->health(st, &why) == SRV_OK);
    CHECK_OK(st->ops->checkpoint(st));
    CHECK(st->ops->size_bytes(st, &wal) > 0 && wal == 0);
}

int main(void)
{
    srv_store *st = NULL;
    srv_log_set_level(SRV_LOG_ERROR);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_migrations();
    test_pending();
    test_views_renames();
    test_migration_from_v1();
    const char *p = new_path();
    CHECK_OK(srv_store_sqlite_open(p, &st));
    if (st) {
        test_users(st);
        test_log(st);
        test_transactions(st);
        test_key_packages(st);
        test_inbox_and_members(st);
        /* Everything committed survives a reopen. */
        st->ops->close(st);
        st = NULL;
        CHECK_OK(srv_store_sqlite_open(p, &st));
    }
    if (st) {
        srv_group g;
        CHECK_OK(st->ops->group_by_name(st, "lobby", &g));
        CHECK(g.epoch == 1 && g.last_seq == 13);
        test_retention(st);
        st->ops->close(st);
    }
    /* The same tests on PostgreSQL when tests/integration/pg_test.sh names
     * a fresh database: the two stores keep the same semantics. */
    const char *pg = getenv("MLSCHAT_TEST_PG_DB");
    if (pg) {
        st = NULL;
        CHECK_OK(srv_store_pg_open(pg, &st));
        if (st) {
            test_users(st);
            test_log(st);
            test_transactions(st);
            test_key_packages(st);
            test_inbox_and_members(st);
            check_views_renames(st, "vera", "views");
            st->ops->close(st);
            st = NULL;
            CHECK_OK(srv_store_pg_open(pg, &st));
        }
        if (st) {
            srv_group g;
            CHECK_OK(st->ops->group_by_name(st, "lobby", &g));
            CHECK(g.epoch == 1 && g.last_seq == 13);
            test_retention(st);
            st->ops->close(st);
        }
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    TEST_MAIN_END("test_server_store");
}
