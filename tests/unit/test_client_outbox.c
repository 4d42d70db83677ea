/* The outbox's ordering (src/client/outbox.c) on a real store: the next
 * entry of a group is always the first typed one the server has not
 * accepted, a refused one is offered again with the same ciphertext
 * before anything after it, accepted entries are skipped until the log
 * is read past them (also when the store reuses an id), and the retry
 * delay follows the server's retry_after or a bounded backoff. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mls/mls.h"
#include "outbox.h"
#include "store.h"
#include "seal.h"
#include "test.h"
#include "util.h"

/* Any data key: these tests are about the store, not the sealing. */
static const struct cli_seal_key test_key = {{7}};

static int64_t next_id(struct cli_store *st, const char *group, const struct cli_outbox *o,
                       int64_t cursor, char *text, size_t max, size_t *ct_len)
{
    struct cli_outbox_next n;
    int64_t id;
    if (cli_outbox_next(st, group, o, cursor, &n) != 0)
        return -2;
    id = n.id;
    if (text)
        snprintf(text, max, "%s", n.text ? n.text : "");
    if (ct_len)
        *ct_len = n.ct.n;
    cli_outbox_next_clear(&n);
    return id;
}

static void test_window(void)
{
    struct cli_outbox o;
    int i;
    memset(&o, 0, sizeof o);
    /* Accepted at seq 5 while the cursor is at 3: remembered. */
    CHECK(cli_outbox_accepted(&o, 1, 5, 3) == 0);
    CHECK(cli_outbox_is_accepted(&o, 1, 3) && cli_outbox_is_accepted(&o, 1, 4));
    /* Read back: forgotten, and its id is free again. */
    CHECK(!cli_outbox_is_accepted(&o, 1, 5));
    cli_outbox_prune(&o, 5);
    CHECK(o.n_acked == 0);
    /* An answer that comes after the log event: nothing to remember. */
    CHECK(cli_outbox_accepted(&o, 2, 6, 6) == -1 && o.n_acked == 0);
    /* The window is bounded. */
    for (i = 0; i < CLI_OUTBOX_WINDOW; i++)
        CHECK(cli_outbox_accepted(&o, 10 + i, 100 + i, 50) == 0);
    CHECK(cli_outbox_full(&o));
    CHECK(cli_outbox_accepted(&o, 999, 999, 50) == -1);
    cli_outbox_prune(&o, 100 + CLI_OUTBOX_WINDOW / 2 - 1);
    CHECK(!cli_outbox_full(&o) && o.n_acked == CLI_OUTBOX_WINDOW / 2);
}

static void test_retry(void)
{
    struct cli_outbox o;
    uint64_t prev = 0, ms;
    int i;
    memset(&o, 0, sizeof o);
    CHECK(cli_outbox_retry_ms(&o, 2) == 2000);  /* the server's word */
    memset(&o, 0, sizeof o);
    CHECK(cli_outbox_retry_ms(&o, 0) == 250);   /* else a backoff ... */
    CHECK(cli_outbox_retry_ms(&o, 0) == 500);
    for (i = 0; i < 20; i++) {
        ms = cli_outbox_retry_ms(&o, 0);
        CHECK(ms >= prev && ms <= 32000);       /* ... that is bounded */
        prev = ms;
    }
    CHECK(cli_outbox_retry_ms(&o, -1) == prev);
    CHECK(cli_outbox_retry_ms(&o, 100000) == prev); /* an absurd delay is not taken */
}

#define MID(m) mls_bytes_of(m, sizeof m)

static void test_order(void)
{
    static const uint8_t mid_a1[16] = {1}, mid_b1[16] = {2}, mid_a2[16] = {3}, mid_a3[16] = {4},
                         mid_a4[16] = {5};
    char *found = NULL;
    int64_t fid = -1;
    mls_buf mid;
    char dir[] = "/tmp/test_client_outbox_XXXXXX", *path, text[32];
    struct cli_store *st = NULL;
    struct cli_outbox o;
    int locked = 0;
    int64_t a1, a2, a3, b1, a4;
    size_t ct_len = 0;
    static const uint8_t ct[] = {9, 9, 9};

    memset(&o, 0, sizeof o);
    CHECK(mkdtemp(dir) != NULL);
    path = cli_strdupf("%s/o.db", dir);
    CHECK(path && cli_store_open(path, &test_key, &st, &locked) == 0);
    if (!st)
        goto out;
    CHECK(cli_store_outbox_add(st, "a", "one", MID(mid_a1), &a1) == 0);
    CHECK(cli_store_outbox_add(st, "b", "other group", MID(mid_b1), &b1) == 0);
    CHECK(cli_store_outbox_add(st, "a", "two", MID(mid_a2), &a2) == 0);
    CHECK(cli_store_outbox_add(st, "a", "three", MID(mid_a3), &a3) == 0);

    /* Each entry keeps its msg_id, and is found by it in its group only. */
    mls_buf_init(&mid);
    CHECK(cli_store_outbox_msg_id(st, a2, &mid) == 0 && mid.n == 16 &&
          memcmp(mid.p, mid_a2, 16) == 0);
    mls_buf_clear(&mid);
    CHECK(cli_store_outbox_find(st, "a", MID(mid_a2), &fid, &found) == 0 && fid == a2 &&
          found && !strcmp(found, "two"));
    free(found);
    found = NULL;
    CHECK(cli_store_outbox_find(st, "b", MID(mid_a2), &fid, &found) == 1 && !found);
    CHECK(cli_store_outbox_find(st, "a", mls_bytes_of(NULL, 0), &fid, &found) == 1);

    /* Typed order, per group. */
    CHECK(next_id(st, "a", &o, 0, text, sizeof text, &ct_len) == a1 && !strcmp(text, "one") &&
          ct_len == 0);
    CHECK(next_id(st, "b", &o, 0, text, sizeof text, NULL) == b1);
    CHECK(next_id(st, "c", &o, 0, NULL, 0, NULL) == -1);

    /* "one" encrypted and refused for a while (rate_limited): it stays
     * the next, with the same ciphertext. */
    CHECK(cli_store_outbox_set_ct(st, a1, mls_bytes_of(ct, sizeof ct)) == 0);
    CHECK(next_id(st, "a", &o, 0, text, sizeof text, &ct_len) == a1 && ct_len == sizeof ct);

    /* Accepted at seq 1: "two" is next, until the log is read. */
    CHECK(cli_outbox_accepted(&o, a1, 1, 0) == 0);
    CHECK(next_id(st, "a", &o, 0, text, sizeof text, NULL) == a2 && !strcmp(text, "two"));
    CHECK(cli_outbox_accepted(&o, a2, 2, 0) == 0);
    CHECK(next_id(st, "a", &o, 0, text, sizeof text, NULL) == a3);

    /* The log is read: "one" and "two" leave the outbox. */
    CHECK(cli_store_outbox_delete(st, a1) == 0 && cli_store_outbox_delete(st, a2) == 0);
    CHECK(next_id(st, "a", &o, 2, text, sizeof text, NULL) == a3 && !strcmp(text, "three"));
    CHECK(cli_outbox_accepted(&o, a3, 3, 2) == 0);
    CHECK(cli_store_outbox_delete(st, a3) == 0);

    /* The store may give the newest id again once its entry is gone; a
     * new entry with a reused id is not mistaken for the accepted one
     * once the cursor has passed it. */
    CHECK(cli_store_outbox_add(st, "a", "four", MID(mid_a4), &a4) == 0);
    CHECK(next_id(st, "a", &o, 3, text, sizeof text, NULL) == a4 && !strcmp(text, "four"));
    cli_outbox_prune(&o, 3);
    CHECK(o.n_acked == 0);
out:
    cli_store_close(st);
    if (path) {
        char *wal = cli_strdupf("%s-wal", path), *shm = cli_strdupf("%s-shm", path);
        char *lock = cli_strdupf("%s.lock", path);
        unlink(path);
        if (wal)
            unlink(wal);
        if (shm)
            unlink(shm);
        if (lock)
            unlink(lock);
        free(wal);
        free(shm);
        free(lock);
    }
    free(path);
    rmdir(dir);
}

int main(void)
{
    test_window();
    test_retry();
    test_order();
    TEST_MAIN_END("client outbox");
}
