/*
 * The durable-ingest floor of this disk (make bench-server): raw SQLite
 * inserting rows shaped like the server's log entries, with the server's
 * settings (WAL, synchronous=FULL), K rows per transaction.
 *
 *   sqlite_floor DBFILE ROWS_PER_TXN SECONDS [BYTES]
 *
 * Prints "FLOOR k rows_per_second".  Nothing else runs in between, so this
 * is what the disk and SQLite allow at that batch size; the server's
 * ingest at the same batch size is compared against it.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "sqlite_floor: %s: %s\n", sql, err ? err : "?");
        sqlite3_free(err);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: sqlite_floor DBFILE ROWS_PER_TXN SECONDS [BYTES]\n");
        return 2;
    }
    const char *path = argv[1];
    int k = atoi(argv[2]);
    double seconds = atof(argv[3]);
    size_t bytes = argc > 4 ? (size_t)atol(argv[4]) : 300;
    int rc = 1;
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL;
    unsigned char *blob = malloc(bytes);
    if (k < 1 || seconds <= 0 || !blob)
        goto out;
    for (size_t i = 0; i < bytes; i++)
        blob[i] = (unsigned char)rand();
    unlink(path);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        goto out;
    /* The server's settings and the shape of its log table (store_sqlite.c). */
    if (exec(db, "PRAGMA journal_mode=WAL") || exec(db, "PRAGMA synchronous=FULL") ||
        exec(db, "CREATE TABLE log (group_ref INTEGER NOT NULL, seq INTEGER NOT NULL,"
                 " epoch INTEGER NOT NULL, kind INTEGER NOT NULL, sender_id INTEGER NOT NULL,"
                 " data BLOB NOT NULL, meta TEXT, created INTEGER NOT NULL,"
                 " PRIMARY KEY (group_ref, seq)) WITHOUT ROWID;"
                 "CREATE INDEX log_created ON log(created);"))
        goto out;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO log (group_ref, seq, epoch, kind, sender_id, data, created)"
                           " VALUES (?, ?, 0, 2, ?, ?, ?)",
                           -1, &ins, NULL) != SQLITE_OK)
        goto out;
    long rows = 0, seq = 0;
    double t0 = now_s(), t = t0;
    while (t - t0 < seconds) {
        if (exec(db, "BEGIN IMMEDIATE"))
            goto out;
        for (int i = 0; i < k; i++) {
            /* k senders, each in its own group, as in the server benchmark. */
            sqlite3_bind_int64(ins, 1, i + 1);
            sqlite3_bind_int64(ins, 2, seq + 1);
            sqlite3_bind_int64(ins, 3, i + 1);
            sqlite3_bind_blob(ins, 4, blob, (int)bytes, SQLITE_STATIC);
            sqlite3_bind_int64(ins, 5, (sqlite3_int64)time(NULL));
            if (sqlite3_step(ins) != SQLITE_DONE)
                goto out;
            sqlite3_reset(ins);
        }
        seq++;
        if (exec(db, "COMMIT"))
            goto out;
        rows += k;
        t = now_s();
    }
    printf("FLOOR %d %.1f\n", k, (double)rows / (t - t0));
    rc = 0;
out:
    if (rc && db)
        fprintf(stderr, "sqlite_floor: %s\n", sqlite3_errmsg(db));
    sqlite3_finalize(ins);
    sqlite3_close(db);
    free(blob);
    return rc;
}
