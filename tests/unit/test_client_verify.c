/* Verification and pins: the safety number (stable, symmetric, changes
 * with a key or a name), the epoch code (equal for equal authenticators,
 * different otherwise), the pin verdict, and the pin store (first sight,
 * same key, a changed key kept apart until accepted, verified, rename,
 * the rename rule,
 * the migration of an older database's directory cache). */
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "mls/mls.h"
#include "store.h"
#include "seal.h"
#include "test.h"
#include "util.h"
#include "verify.h"

/* Any data key: these tests are about the store, not the sealing. */
static const struct cli_seal_key test_key = {{7}};

static const uint8_t KA[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                               17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t KB[32] = {32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17,
                               16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};

static int is_grouped(const char *s, size_t groups, size_t width)
{
    size_t i, n = groups * width + groups - 1;
    if (strlen(s) != n)
        return 0;
    for (i = 0; i < n; i++) {
        int sep = (i + 1) % (width + 1) == 0;
        if (sep ? s[i] != ' ' : (s[i] < '0' || s[i] > '9'))
            return 0;
    }
    return 1;
}

static void test_safety_number(void)
{
    char ab[CLI_SAFETY_NUMBER_LEN + 1], ba[CLI_SAFETY_NUMBER_LEN + 1];
    char again[CLI_SAFETY_NUMBER_LEN + 1], other[CLI_SAFETY_NUMBER_LEN + 1];
    uint8_t kb2[32];
    mls_bytes a = mls_bytes_of(KA, 32), b = mls_bytes_of(KB, 32);

    CHECK(cli_safety_number("alice", a, "bob", b, ab) == 0);
    CHECK(is_grouped(ab, 12, 5));
    /* Symmetric: both users read the same number. */
    CHECK(cli_safety_number("bob", b, "alice", a, ba) == 0);
    CHECK(strcmp(ab, ba) == 0);
    /* Stable. */
    CHECK(cli_safety_number("alice", a, "bob", b, again) == 0);
    CHECK(strcmp(ab, again) == 0);
    /* One bit of one key changes it. */
    memcpy(kb2, KB, 32);
    kb2[31] ^= 1;
    CHECK(cli_safety_number("alice", a, "bob", mls_bytes_of(kb2, 32), other) == 0);
    CHECK(strcmp(ab, other) != 0);
    /* So does the name under the same key. */
    CHECK(cli_safety_number("alice", a, "robert", b, other) == 0);
    CHECK(strcmp(ab, other) != 0);
    /* Name and key are length-prefixed: moving a byte across the line
     * between them gives another number. */
    CHECK(cli_safety_number("alice", a, "bo", mls_bytes_of(KB, 31), other) == 0);
    CHECK(strcmp(ab, other) != 0);
}

static void test_epoch_code(void)
{
    uint8_t auth[32], auth2[32];
    char c1[CLI_EPOCH_CODE_LEN + 1], c2[CLI_EPOCH_CODE_LEN + 1];
    memset(auth, 0x5a, sizeof auth);
    memcpy(auth2, auth, sizeof auth);
    CHECK(cli_epoch_code(mls_bytes_of(auth, 32), c1) == 0);
    CHECK(is_grouped(c1, 6, 4));
    CHECK(cli_epoch_code(mls_bytes_of(auth2, 32), c2) == 0);
    CHECK(strcmp(c1, c2) == 0);
    auth2[0] ^= 0x80;
    CHECK(cli_epoch_code(mls_bytes_of(auth2, 32), c2) == 0);
    CHECK(strcmp(c1, c2) != 0);
    CHECK(cli_epoch_code(mls_bytes_of(NULL, 0), c2) == -1);
}

static void test_judge(void)
{
    mls_bytes a = mls_bytes_of(KA, 32), b = mls_bytes_of(KB, 32);
    CHECK(cli_pin_judge(mls_bytes_of(NULL, 0), a) == CLI_PIN_FIRST);
    CHECK(cli_pin_judge(a, a) == CLI_PIN_SAME);
    CHECK(cli_pin_judge(a, b) == CLI_PIN_CHANGED);
    CHECK(cli_pin_judge(a, mls_bytes_of(KA, 31)) == CLI_PIN_CHANGED);
}

static void test_rename_judge(void)
{
    mls_bytes a = mls_bytes_of(KA, 32), b = mls_bytes_of(KB, 32), none = mls_bytes_of(NULL, 0);
    CHECK(cli_rename_judge(a, a, 1, 0, none, none) == CLI_RENAME_OK);
    CHECK(cli_rename_judge(a, a, 1, 0, a, none) == CLI_RENAME_OK);
    CHECK(cli_rename_judge(a, a, 1, 0, a, a) == CLI_RENAME_OK);
    /* A new key is a new member, never a rename. */
    CHECK(cli_rename_judge(a, b, 1, 0, a, none) == CLI_RENAME_KEY_CHANGED);
    CHECK(cli_rename_judge(a, a, 0, 0, a, none) == CLI_RENAME_BAD_NAME);
    /* Taking another member's name. */
    CHECK(cli_rename_judge(a, a, 1, 1, a, none) == CLI_RENAME_NAME_IN_USE);
    /* The pins disagree: the old name was pinned to another key, or the
     * new name is pinned to someone else's. */
    CHECK(cli_rename_judge(a, a, 1, 0, b, none) == CLI_RENAME_PIN_MISMATCH);
    CHECK(cli_rename_judge(a, a, 1, 0, a, b) == CLI_RENAME_PIN_MISMATCH);
}

static void test_pin_store(const char *dir)
{
    char *path = cli_strdupf("%s/pins.db", dir);
    struct cli_store *st = NULL;
    struct cli_pin p;
    mls_bytes a = mls_bytes_of(KA, 32), b = mls_bytes_of(KB, 32);
    int locked;

    memset(&p, 0, sizeof p);
    CHECK(cli_store_open(path, &test_key, &st, &locked) == 0);
    CHECK(cli_store_pin_get(st, "bob", &p) == 1);
    /* First sight pins; a second add never replaces it. */
    CHECK(cli_store_pin_add(st, "bob", a, "a KeyPackage", 1000) == 0);
    CHECK(cli_store_pin_add(st, "bob", b, "the directory", 2000) == 1);
    CHECK(cli_store_pin_get(st, "bob", &p) == 0);
    CHECK(mls_ct_equal(mls_buf_view(&p.key), a));
    CHECK(p.pinned_at == 1000 && strcmp(p.source, "a KeyPackage") == 0);
    CHECK(p.verified == 0 && p.offered.n == 0);
    CHECK(cli_pin_judge(mls_buf_view(&p.key), a) == CLI_PIN_SAME);
    CHECK(cli_pin_judge(mls_buf_view(&p.key), b) == CLI_PIN_CHANGED);
    cli_pin_clear(&p);
    /* Nothing offered: nothing to accept. */
    CHECK(cli_store_pin_accept(st, "bob", 3000) == 1);
    CHECK(cli_store_pin_set_verified(st, "bob", 1) == 0);
    CHECK(cli_store_pin_set_verified(st, "nobody", 1) == 1);
    /* A changed key is kept apart; the pin stays until accepted. */
    CHECK(cli_store_pin_offer(st, "bob", b, "the server's directory", 4000) == 0);
    CHECK(cli_store_pin_get(st, "bob", &p) == 0);
    CHECK(mls_ct_equal(mls_buf_view(&p.key), a) && p.verified == 1);
    CHECK(mls_ct_equal(mls_buf_view(&p.offered), b) && p.offered_at == 4000);
    CHECK(strcmp(p.offered_source, "the server's directory") == 0);
    cli_pin_clear(&p);
    CHECK(cli_store_pin_accept(st, "bob", 5000) == 0);
    CHECK(cli_store_pin_get(st, "bob", &p) == 0);
    CHECK(mls_ct_equal(mls_buf_view(&p.key), b));
    CHECK(p.verified == 0 && p.offered.n == 0 && p.pinned_at == 5000);
    cli_pin_clear(&p);
    /* A rename moves the pin; never onto a name pinned already. */
    CHECK(cli_store_pin_add(st, "carol", a, "x", 1) == 0);
    CHECK(cli_store_pin_rename(st, "bob", "carol") == 1);
    CHECK(cli_store_pin_rename(st, "bob", "robert") == 0);
    CHECK(cli_store_pin_get(st, "bob", &p) == 1);
    CHECK(cli_store_pin_get(st, "robert", &p) == 0);
    CHECK(mls_ct_equal(mls_buf_view(&p.key), b));
    cli_pin_clear(&p);
    cli_store_close(st);
    /* Kept across a reopen. */
    CHECK(cli_store_open(path, &test_key, &st, &locked) == 0);
    CHECK(cli_store_pin_get(st, "robert", &p) == 0);
    cli_pin_clear(&p);
    cli_store_close(st);
    unlink(path);
    free(path);
}

/* A database of a client before pins (schema version 0): its directory
 * cache becomes the pins. */
static void test_migration(const char *dir)
{
    char *path = cli_strdupf("%s/old.db", dir);
    struct cli_store *st = NULL;
    struct cli_pin p;
    sqlite3 *db = NULL;
    int locked;

    memset(&p, 0, sizeof p);
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "CREATE TABLE directory(username TEXT PRIMARY KEY, sig_key BLOB "
                       "NOT NULL); INSERT INTO directory VALUES ('dave', x'0102');",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK(cli_store_open(path, &test_key, &st, &locked) == 0);
    CHECK(cli_store_pin_get(st, "dave", &p) == 0);
    CHECK(p.key.n == 2 && p.key.p[0] == 1 && p.key.p[1] == 2);
    cli_pin_clear(&p);
    cli_store_close(st);
    /* A database of a newer client is refused, not misread. */
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK(cli_store_open(path, &test_key, &st, &locked) == -1 && locked == 0);
    unlink(path);
    free(path);
}

int main(void)
{
    char dir[] = "/tmp/test_client_verify_XXXXXX";
    char *lock;
    test_safety_number();
    test_epoch_code();
    test_judge();
    test_rename_judge();
    CHECK(mkdtemp(dir) != NULL);
    test_pin_store(dir);
    test_migration(dir);
    lock = cli_strdupf("%s/pins.db.lock", dir);
    unlink(lock);
    free(lock);
    lock = cli_strdupf("%s/old.db.lock", dir);
    unlink(lock);
    free(lock);
    {
        char *cmd = cli_strdupf("rm -rf %s", dir);
        CHECK(system(cmd) == 0);
        free(cmd);
    }
    TEST_MAIN_END("test_client_verify");
}
