/* Unit tests for src/server/wal_vfs.c under the SQLite store: batches of
 * messages of mixed sizes, each batch's WAL frames reaching the file in a
 * few writes instead of two per frame; after every COMMIT another
 * connection on the default VFS (what `sqlite3 .backup` is) sees every
 * committed message and nothing else, and the database checks whole; a
 * rolled-back batch leaves nothing; a transaction longer than the page
 * cache (frames rewritten before its commit, checksums after it) is
 * whole in a copy of the files as a crash leaves them; a write of the
 * gathered frames that
 * fails (the file size limit) fails that COMMIT, publishes nothing, and
 * the next batch commits; after a reopen every committed message is
 * there. */
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "store_sqlite_int.h"
#include "test.h"
#include "wal_vfs.h"

static char dir[] = "/tmp/mlschat-walvfs-XXXXXX";
static int64_t user, group;
static uint8_t blob[6000];

static int64_t count_rows(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM log", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static int quick_check(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int ok = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        ok = !strcmp((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    return ok;
}

/* One batch of n messages of varied sizes; 0 when all went in. */
static int append_batch(srv_store *st, int n, unsigned seed)
{
    int err = 0;
    for (int i = 0; i < n && !err; i++) {
        uint64_t seq;
        size_t len = 1 + (seed * 7919u + (unsigned)i * 104729u) % sizeof blob;
        err |= st->ops->change_begin(st);
        err |= st->ops->log_append(st, group, 0, SRV_KIND_MESSAGE, user, mls_bytes_of(blob, len),
                                   NULL, mls_bytes_of(NULL, 0), 100, &seq);
        err |= st->ops->change_end(st, 1);
    }
    return err;
}

static int copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    int ok = a && b;
    char buf[65536];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof buf, a)) > 0)
        ok = fwrite(buf, 1, n, b) == n;
    if (a)
        fclose(a);
    if (b && fclose(b))
        ok = 0;
    return ok ? 0 : -1;
}

/* The messages in a copy of the database and its WAL as they are on disk
 * now (no -shm: SQLite recovers the WAL index from the WAL, checking
 * every frame's checksum), or -1 when the copy is not a sound database. */
static int64_t crash_copy_rows(const char *db_path)
{
    char from[300], to[300], to_wal[300], from_wal[300];
    snprintf(from, sizeof from, "%s", db_path);
    snprintf(from_wal, sizeof from_wal, "%s-wal", db_path);
    snprintf(to, sizeof to, "%s/crash.db", dir);
    snprintf(to_wal, sizeof to_wal, "%s/crash.db-wal", dir);
    char shm[310];
    snprintf(shm, sizeof shm, "%s/crash.db-shm", dir);
    unlink(shm);
    if (copy_file(from, to) || copy_file(from_wal, to_wal))
        return -1;
    sqlite3 *db = NULL;
    int64_t n = -1;
    if (sqlite3_open_v2(to, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK && quick_check(db))
        n = count_rows(db);
    sqlite3_close(db);
    unlink(to);
    unlink(to_wal);
    unlink(shm);
    return n;
}

static int64_t wal_size(const char *db_path)
{
    char wal[300];
    snprintf(wal, sizeof wal, "%s-wal", db_path);
    struct stat sb;
    return stat(wal, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

int main(void)
{
    srv_log_set_level(SRV_LOG_ERROR);
    CHECK(mkdtemp(dir) != NULL);
    for (size_t i = 0; i < sizeof blob; i++)
        blob[i] = (uint8_t)(i * 31 + 7);
    char path[256];
    snprintf(path, sizeof path, "%s/w.db", dir);
    srv_store *st = NULL;
    CHECK_OK(srv_store_sqlite_open(path, &st));
    if (!st)
        TEST_MAIN_END("server_wal_vfs");
    CHECK_OK(st->ops->batch_begin(st));
    CHECK_OK(st->ops->user_create(st, "u", 1, mls_bytes_of((const uint8_t *)"K", 1), 1, &user));
    CHECK_OK(st->ops->group_create(st, "g", mls_bytes_of((const uint8_t *)"gid", 3), 1, user, 1,
                                   &group));
    CHECK_OK(st->ops->batch_commit(st));

    /* The reader: another connection, the default VFS. */
    sqlite3 *reader = NULL;
    CHECK(sqlite3_open_v2(path, &reader, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);

    unsigned long w0, f0, o0, w1, f1, o1;
    srv_wal_vfs_counts(&w0, &f0, &o0);
    int64_t total = 0, bad = 0;
    int commits = 0;
    for (int b = 0; b < 60; b++) {
        int n = 1 + b % 30;
        CHECK_OK(st->ops->batch_begin(st));
        CHECK_OK(append_batch(st, n, (unsigned)b));
        if (b % 7 == 3) {
            CHECK_OK(st->ops->batch_rollback(st));
        } else {
            CHECK_OK(st->ops->batch_commit(st));
            total += n;
            commits++;
        }
        bad += count_rows(reader) != total;
    }
    CHECK(bad == 0);
    CHECK(quick_check(reader));
    CHECK(crash_copy_rows(path) == total);
    srv_wal_vfs_counts(&w1, &f1, &o1);
    /* Two writes per frame came in; a few per commit went out. */
    CHECK(w1 - w0 > 2 * (unsigned long)total);
    CHECK(f1 - f0 >= (unsigned long)commits);
    CHECK((f1 - f0) * 8 < w1 - w0);

    /* A transaction longer than the page cache: SQLite writes frames
     * before its commit, rewrites pages it already wrote (the group's
     * row, bumped per message), then the checksums after them.  Those
     * rewrites go to the file at once, so a copy of the database and
     * its WAL as they are on disk (what a crash leaves; no -shm) recovers
     * every committed message. */
    CHECK(sqlite3_exec(S(st)->db, "PRAGMA cache_size=8", NULL, NULL, NULL) == SQLITE_OK);
    CHECK_OK(st->ops->batch_begin(st));
    CHECK_OK(append_batch(st, 300, 7));
    CHECK_OK(st->ops->batch_commit(st));
    total += 300;
    CHECK(sqlite3_exec(S(st)->db, "PRAGMA cache_size=-2000", NULL, NULL, NULL) == SQLITE_OK);
    srv_wal_vfs_counts(&w1, &f1, &o1);
    CHECK(o1 > o0);
    CHECK(count_rows(reader) == total);
    CHECK(crash_copy_rows(path) == total);

    /* A write of the gathered frames that fails: the file may not grow
     * (RLIMIT_FSIZE; the signal it raises is ignored, the write fails with
     * EFBIG).  That COMMIT fails and publishes nothing. */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    int64_t size = wal_size(path);
    CHECK(size > 0);
    lim = old;
    lim.rlim_cur = (rlim_t)size;
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    CHECK_OK(st->ops->batch_begin(st));
    CHECK_OK(append_batch(st, 20, 99));
    CHECK(st->ops->batch_commit(st) != SRV_OK);
    (void)st->ops->batch_rollback(st);
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    CHECK(count_rows(reader) == total);
    CHECK(quick_check(reader));
    /* And the store goes on. */
    CHECK_OK(st->ops->batch_begin(st));
    CHECK_OK(append_batch(st, 5, 100));
    CHECK_OK(st->ops->batch_commit(st));
    total += 5;
    CHECK(count_rows(reader) == total);
    sqlite3_close(reader);

    /* Everything committed is there after a reopen. */
    st->ops->close(st);
    st = NULL;
    CHECK_OK(srv_store_sqlite_open(path, &st));
    if (st) {
        CHECK(count_rows(S(st)->db) == total);
        CHECK(quick_check(S(st)->db));
        st->ops->close(st);
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    TEST_MAIN_END("server_wal_vfs");
}
