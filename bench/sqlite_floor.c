/*
 * The durable-ingest floor of this disk (make bench-server): raw SQLite
 * writing what the server writes for one group.send, with the server's
 * settings (WAL, synchronous=FULL, foreign keys), K messages per
 * transaction.
 *
 *   sqlite_floor DBFILE ROWS_PER_TXN SECONDS [BYTES] [SCHEMA_DB] [CHECKPOINT_FRAMES]
 *
 * With SCHEMA_DB (a database the server created: bench-server.py starts
 * it once for that), the floor copies the server's own tables users,
 * groups and log with all their indexes, so nothing drifts from the store,
 * and each message is what the store does for it (store_sqlite_data.c
 * sqs_log_append): the group's sequence bump, its read back, and the log
 * row with its 16-byte msg_id.  Without it, the bare log table
 * of the first measurements: one INSERT per message, no msg_id index.
 *
 * CHECKPOINT_FRAMES is SQLite's wal_autocheckpoint (default 1000): the
 * benchmark passes the server's interval (store_sqlite.c), so that both
 * copy the WAL into the database as often.
 *
 * Prints "FLOOR k rows_per_second".  Nothing else runs in between, so this
 * is what the disk and SQLite allow for the same rows at that batch size;
 * the server's ingest at the same batch size is compared against it.
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

/* The server's users, groups and log tables and their indexes, tables
 * first, from the database it created. */
static int copy_schema(sqlite3 *db, const char *from)
{
    sqlite3 *src = NULL;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_open_v2(from, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(src,
                           "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND"
                           " tbl_name IN ('users', 'groups', 'log')"
                           " ORDER BY type = 'index', rowid",
                           -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "sqlite_floor: %s: %s\n", from, sqlite3_errmsg(src));
        goto out;
    }
    int n = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (exec(db, (const char *)sqlite3_column_text(st, 0)))
            goto out;
        n++;
    }
    if (step != SQLITE_DONE || n < 3) {
        fprintf(stderr, "sqlite_floor: %s holds no server schema\n", from);
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    sqlite3_close(src);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: sqlite_floor DBFILE ROWS_PER_TXN SECONDS [BYTES] [SCHEMA_DB]"
                        " [CHECKPOINT_FRAMES]\n");
        return 2;
    }
    const char *path = argv[1];
    int k = atoi(argv[2]);
    double seconds = atof(argv[3]);
    size_t bytes = argc > 4 ? (size_t)atol(argv[4]) : 300;
    const char *schema = argc > 5 && *argv[5] ? argv[5] : NULL;
    /* The server's checkpoint interval (store_sqlite.c), SQLite's default
     * 1000 otherwise. */
    int checkpoint = argc > 6 ? atoi(argv[6]) : 1000;
    int rc = 1;
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL, *bump = NULL, *last = NULL;
    unsigned char *blob = malloc(bytes);
    if (k < 1 || seconds <= 0 || !blob)
        goto out;
    for (size_t i = 0; i < bytes; i++)
        blob[i] = (unsigned char)rand();
    unlink(path);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        goto out;
    char ckpt[64];
    snprintf(ckpt, sizeof ckpt, "PRAGMA wal_autocheckpoint=%d", checkpoint);
    if (exec(db, "PRAGMA journal_mode=WAL") || exec(db, "PRAGMA synchronous=FULL") ||
        exec(db, "PRAGMA foreign_keys=ON") || exec(db, ckpt))
        goto out;
    if (schema) {
        /* One sender and k groups, as in the server benchmark (each
         * sender in its own group). */
        if (copy_schema(db, schema) || exec(db, "BEGIN") ||
            exec(db, "INSERT INTO users(id, username, suite, sig_key, created)"
                     " VALUES (1, 'floor', 1, x'00', 0)"))
            goto out;
        for (int i = 0; i < k; i++) {
            char sql[200];
            snprintf(sql, sizeof sql,
                     "INSERT INTO groups(id, name, group_id, epoch, last_seq, admin_id, created)"
                     " VALUES (%d, 'g%d', x'%08x', 0, 0, 1, 0)",
                     i + 1, i + 1, i + 1);
            if (exec(db, sql))
                goto out;
        }
        if (exec(db, "COMMIT") ||
            sqlite3_prepare_v2(db, "UPDATE groups SET last_seq = last_seq + 1 WHERE id = ?", -1,
                               &bump, NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(db, "SELECT last_seq FROM groups WHERE id = ?", -1, &last,
                               NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(db,
                               "INSERT INTO log(group_ref, seq, epoch, kind, sender_id, data,"
                               " meta, created, msg_id) VALUES (?, ?, 0, 2, 1, ?, NULL, ?, ?)",
                               -1, &ins, NULL) != SQLITE_OK)
            goto out;
    } else if (exec(db, "CREATE TABLE log (group_ref INTEGER NOT NULL, seq INTEGER NOT NULL,"
                        " epoch INTEGER NOT NULL, kind INTEGER NOT NULL,"
                        " sender_id INTEGER NOT NULL, data BLOB NOT NULL, meta TEXT,"
                        " created INTEGER NOT NULL, PRIMARY KEY (group_ref, seq)) WITHOUT ROWID;"
                        "CREATE INDEX log_created ON log(created);") ||
               sqlite3_prepare_v2(db,
                                  "INSERT INTO log (group_ref, seq, epoch, kind, sender_id,"
                                  " data, created) VALUES (?, ?, 0, 2, ?, ?, ?)",
                                  -1, &ins, NULL) != SQLITE_OK) {
        goto out;
    }
    long rows = 0, seq = 0;
    double t0 = now_s(), t = t0;
    while (t - t0 < seconds) {
        if (exec(db, "BEGIN IMMEDIATE"))
            goto out;
        for (int i = 0; i < k; i++) {
            if (bump) {
                unsigned char msg_id[16];
                for (size_t j = 0; j < sizeof msg_id; j++)
                    msg_id[j] = (unsigned char)rand();
                sqlite3_bind_int64(bump, 1, i + 1);
                if (sqlite3_step(bump) != SQLITE_DONE)
                    goto out;
                sqlite3_reset(bump);
                sqlite3_bind_int64(last, 1, i + 1);
                if (sqlite3_step(last) != SQLITE_ROW)
                    goto out;
                sqlite3_int64 next = sqlite3_column_int64(last, 0);
                sqlite3_reset(last);
                sqlite3_bind_int64(ins, 1, i + 1);
                sqlite3_bind_int64(ins, 2, next);
                sqlite3_bind_blob(ins, 3, blob, (int)bytes, SQLITE_STATIC);
                sqlite3_bind_int64(ins, 4, (sqlite3_int64)time(NULL));
                sqlite3_bind_blob(ins, 5, msg_id, (int)sizeof msg_id, SQLITE_TRANSIENT);
            } else {
                sqlite3_bind_int64(ins, 1, i + 1);
                sqlite3_bind_int64(ins, 2, seq + 1);
                sqlite3_bind_int64(ins, 3, i + 1);
                sqlite3_bind_blob(ins, 4, blob, (int)bytes, SQLITE_STATIC);
                sqlite3_bind_int64(ins, 5, (sqlite3_int64)time(NULL));
            }
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
    sqlite3_finalize(bump);
    sqlite3_finalize(last);
    sqlite3_close(db);
    free(blob);
    return rc;
}
