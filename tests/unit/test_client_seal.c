/* Secrets at rest (seal.h, and the store's sealed fields): round trip,
 * wrong key, every byte tampered, wrong row, the key file with and
 * without a passphrase (wrong passphrase changes nothing), the migration
 * of a clear database, and rows swapped in the database. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "mls/mls.h"
#include "seal.h"
#include "store.h"
#include "test.h"
#include "util.h"

/* Cheap scrypt for tests (the default costs 32 MiB and ~0.1 s a call). */
static const struct cli_seal_kdf cheap = {10, 8, 1};

/* A literal with its inner NULs (an associated data: field NUL row). */
#define LIT(s) mls_bytes_of((const uint8_t *)(s), sizeof(s) - 1)

static mls_bytes str(const char *s)
{
    return mls_bytes_of((const uint8_t *)s, strlen(s));
}

static void test_seal(void)
{
    struct cli_seal_key k1, k2;
    mls_buf a, b, pt;
    const char *msg = "the group's epoch secrets";
    size_t i;

    memset(&k1, 1, sizeof k1);
    memset(&k2, 1, sizeof k2);
    k2.k[31] ^= 1;
    mls_buf_init(&a);
    mls_buf_init(&b);
    mls_buf_init(&pt);
    CHECK(cli_seal(&k1, LIT("groups.state\0lobby"), str(msg), &a) == 0);
    CHECK(a.n == strlen(msg) + CLI_SEAL_OVERHEAD);
    /* A fresh nonce per write: the same value sealed twice differs. */
    CHECK(cli_seal(&k1, LIT("groups.state\0lobby"), str(msg), &b) == 0);
    CHECK(a.n == b.n && memcmp(a.p, b.p, a.n) != 0);
    CHECK(cli_unseal(&k1, LIT("groups.state\0lobby"), mls_buf_view(&a), &pt) == 0);
    CHECK(pt.n == strlen(msg) && memcmp(pt.p, msg, pt.n) == 0);
    /* Another key, another row: refused, out untouched. */
    CHECK(cli_unseal(&k2, LIT("groups.state\0lobby"), mls_buf_view(&a), &pt) == -1);
    CHECK(cli_unseal(&k1, LIT("groups.state\0other"), mls_buf_view(&a), &pt) == -1);
    CHECK(cli_unseal(&k1, LIT("groups.pending_state\0lobby"), mls_buf_view(&a), &pt) == -1);
    CHECK(pt.n == strlen(msg) && memcmp(pt.p, msg, pt.n) == 0);
    /* Every byte altered, and every truncation, is refused. */
    for (i = 0; i < a.n; i++) {
        a.p[i] ^= 0x20;
        CHECK(cli_unseal(&k1, LIT("groups.state\0lobby"), mls_buf_view(&a), &pt) == -1);
        a.p[i] ^= 0x20;
        CHECK(cli_unseal(&k1, LIT("groups.state\0lobby"), mls_bytes_of(a.p, i), &pt) == -1);
    }
    /* The empty value seals too. */
    CHECK(cli_seal(&k1, str("x"), mls_bytes_of(NULL, 0), &b) == 0 && b.n == CLI_SEAL_OVERHEAD);
    CHECK(cli_unseal(&k1, str("x"), mls_buf_view(&b), &pt) == 0 && pt.n == 0);
    mls_buf_clear(&a);
    mls_buf_clear(&b);
    mls_buf_clear(&pt);
}

static int read_all(const char *path, mls_buf *out)
{
    FILE *f = fopen(path, "rb");
    uint8_t buf[4096];
    size_t n;
    int rc = 0;
    mls_buf_reset(out);
    if (!f)
        return -1;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        if (mls_buf_append(out, buf, n) != MLS_OK)
            rc = -1;
    fclose(f);
    return rc;
}

static int contains(const mls_buf *hay, mls_bytes needle)
{
    size_t i;
    for (i = 0; hay->n >= needle.n && i <= hay->n - needle.n; i++)
        if (memcmp(hay->p + i, needle.p, needle.n) == 0)
            return 1;
    return 0;
}

static void test_key_file(const char *dir)
{
    char *plain = cli_strdupf("%s/plain.key", dir), *prot = cli_strdupf("%s/prot.key", dir);
    char err[256];
    struct cli_seal_key k, k2;
    struct stat sb;
    mls_buf before, after;

    mls_buf_init(&before);
    mls_buf_init(&after);
    /* No passphrase: a random key in a 0600 file, the same on reload. */
    CHECK(cli_seal_key_file_protected(plain) == 0);
    CHECK(cli_seal_key_load(plain, NULL, &cheap, &k, err, sizeof err) == CLI_SEAL_KEY_OK);
    CHECK(stat(plain, &sb) == 0 && (sb.st_mode & 0777) == 0600);
    CHECK(cli_seal_key_file_protected(plain) == 0);
    CHECK(cli_seal_key_load(plain, "", &cheap, &k2, err, sizeof err) == CLI_SEAL_KEY_OK);
    CHECK(memcmp(k.k, k2.k, sizeof k.k) == 0);
    /* A key file others may read is refused. */
    CHECK(chmod(plain, 0644) == 0);
    CHECK(cli_seal_key_load(plain, NULL, &cheap, &k2, err, sizeof err) == CLI_SEAL_KEY_ERROR);
    CHECK(strstr(err, "0600") != NULL);
    CHECK(chmod(plain, 0600) == 0);

    /* With a passphrase: the key wrapped, the file does not hold it. */
    CHECK(cli_seal_key_load(prot, "correct horse", &cheap, &k, err, sizeof err) ==
          CLI_SEAL_KEY_OK);
    CHECK(cli_seal_key_file_protected(prot) == 1);
    CHECK(read_all(prot, &before) == 0 && !contains(&before, mls_bytes_of(k.k, sizeof k.k)));
    CHECK(cli_seal_key_load(prot, "correct horse", &cheap, &k2, err, sizeof err) ==
          CLI_SEAL_KEY_OK);
    CHECK(memcmp(k.k, k2.k, sizeof k.k) == 0);
    /* Wrong or missing passphrase: a clear error, the file unchanged. */
    memset(&k2, 0, sizeof k2);
    CHECK(cli_seal_key_load(prot, "wrong horse", &cheap, &k2, err, sizeof err) ==
          CLI_SEAL_KEY_WRONG_PASSPHRASE);
    CHECK(strstr(err, "wrong passphrase") != NULL);
    CHECK(k2.k[0] == 0 && k2.k[31] == 0);
    CHECK(cli_seal_key_load(prot, NULL, &cheap, &k2, err, sizeof err) ==
          CLI_SEAL_KEY_NEED_PASSPHRASE);
    CHECK(read_all(prot, &after) == 0 && after.n == before.n &&
          memcmp(after.p, before.p, after.n) == 0);
    /* The scrypt parameters are bound to the wrap: changing them (here
     * r) fails like a wrong passphrase; a truncated file is malformed. */
    {
        FILE *f = fopen(prot, "r+b");
        uint8_t r = 9;
        CHECK(f && fseek(f, 8 + 2 + 3, SEEK_SET) == 0 && fwrite(&r, 1, 1, f) == 1);
        if (f)
            fclose(f);
        CHECK(cli_seal_key_load(prot, "correct horse", &cheap, &k2, err, sizeof err) ==
              CLI_SEAL_KEY_WRONG_PASSPHRASE);
        CHECK(truncate(prot, 40) == 0);
        CHECK(cli_seal_key_load(prot, "correct horse", &cheap, &k2, err, sizeof err) ==
              CLI_SEAL_KEY_ERROR);
        CHECK(strstr(err, "malformed") != NULL);
    }

    /* A passphrase given for an unprotected file protects it from now
     * on, keeping the key. */
    CHECK(cli_seal_key_load(plain, NULL, &cheap, &k, err, sizeof err) == CLI_SEAL_KEY_OK);
    CHECK(cli_seal_key_load(plain, "later", &cheap, &k2, err, sizeof err) == CLI_SEAL_KEY_OK);
    CHECK(memcmp(k.k, k2.k, sizeof k.k) == 0);
    CHECK(cli_seal_key_file_protected(plain) == 1);
    CHECK(stat(plain, &sb) == 0 && (sb.st_mode & 0777) == 0600);
    CHECK(cli_seal_key_load(plain, NULL, &cheap, &k2, err, sizeof err) ==
          CLI_SEAL_KEY_NEED_PASSPHRASE);
    CHECK(cli_seal_key_load(plain, "later", &cheap, &k2, err, sizeof err) == CLI_SEAL_KEY_OK);
    CHECK(memcmp(k.k, k2.k, sizeof k.k) == 0);
    cli_seal_key_clear(&k);
    cli_seal_key_clear(&k2);
    mls_buf_clear(&before);
    mls_buf_clear(&after);
    free(plain);
    free(prot);
}

struct seen {
    int n;
    char state[4][32];
};

static void group_cb(void *ctx, struct cli_group_rec *g)
{
    struct seen *s = ctx;
    if (s->n < 4)
        snprintf(s->state[s->n++], sizeof s->state[0], "%.*s", (int)g->state.n,
                 (const char *)g->state.p);
}

static int sql(const char *path, const char *q)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open(path, &db) == SQLITE_OK &&
                     sqlite3_exec(db, q, NULL, NULL, NULL) == SQLITE_OK
                 ? 0
                 : -1;
    sqlite3_close(db);
    return rc;
}

/* The database file and its WAL, as bytes. */
static void db_bytes(const char *path, mls_buf *out)
{
    char *wal = cli_strdupf("%s-wal", path);
    mls_buf w;
    mls_buf_init(&w);
    CHECK(read_all(path, out) == 0);
    if (wal && read_all(wal, &w) == 0)
        CHECK(mls_buf_append(out, w.p, w.n) == MLS_OK);
    mls_buf_clear(&w);
    free(wal);
}

static void test_store(const char *dir)
{
    char *path = cli_strdupf("%s/old@host_4000.db", dir);
    struct cli_seal_key key, other;
    struct cli_store *st = NULL;
    struct cli_identity id;
    struct seen seen;
    mls_buf b, file;
    int locked, lr;

    memset(&key, 3, sizeof key);
    memset(&other, 4, sizeof other);
    memset(&id, 0, sizeof id);
    memset(&seen, 0, sizeof seen);
    mls_buf_init(&b);
    mls_buf_init(&file);
    /* A database as an older client left it: version 2, secrets clear. */
    CHECK(sql(path,
              "CREATE TABLE identity(id INTEGER PRIMARY KEY CHECK (id = 1),"
              " username TEXT NOT NULL, suite INTEGER NOT NULL, sig_sk BLOB NOT NULL,"
              " sig_pk BLOB NOT NULL, registered INTEGER NOT NULL DEFAULT 0);"
              "CREATE TABLE key_packages(ref BLOB PRIMARY KEY, bundle BLOB NOT NULL,"
              " last_resort INTEGER NOT NULL, created INTEGER NOT NULL);"
              "CREATE TABLE groups(name TEXT PRIMARY KEY, group_id BLOB NOT NULL UNIQUE,"
              " state BLOB NOT NULL, cursor INTEGER NOT NULL, status INTEGER NOT NULL,"
              " unread INTEGER NOT NULL DEFAULT 0, joined_at INTEGER NOT NULL,"
              " pending_commit BLOB, pending_state BLOB);"
              "CREATE TABLE outbox(id INTEGER PRIMARY KEY, grp TEXT NOT NULL,"
              " text TEXT NOT NULL, ct BLOB, created INTEGER NOT NULL, msg_id BLOB);"
              "CREATE TABLE directory(username TEXT PRIMARY KEY, sig_key BLOB NOT NULL);"
              "CREATE TABLE pins(username TEXT PRIMARY KEY, sig_key BLOB NOT NULL,"
              " pinned_at INTEGER NOT NULL, source TEXT NOT NULL,"
              " verified INTEGER NOT NULL DEFAULT 0, offered_key BLOB, offered_at INTEGER,"
              " offered_source TEXT);"
              "INSERT INTO identity VALUES (1, 'alice', 1, X'5349475345435245544b4559', X'01', 1);"
              "INSERT INTO key_packages VALUES (X'0a', X'4b5042554e444c45534543', 0, 1);"
              "INSERT INTO groups VALUES ('lobby', X'67', CAST('STATELOBBYSECRET' AS BLOB),"
              " 5, 1, 0, 1, NULL, CAST('PENDINGLOBBYSECRET' AS BLOB));"
              "INSERT INTO groups VALUES ('other', X'68', CAST('STATEOTHERSECRET' AS BLOB),"
              " 7, 1, 0, 2, NULL, NULL);"
              "PRAGMA user_version = 2;") == 0);
    CHECK(chmod(path, 0600) == 0);

    /* First start: sealed in place, the clear values gone from the file. */
    CHECK(cli_store_open(path, &key, &st, &locked) == 0);
    if (!st)
        goto out;
    CHECK(cli_store_identity_load(st, &id) == 0);
    CHECK(id.sig_sk.n == 12 && memcmp(id.sig_sk.p, "SIGSECRETKEY", 12) == 0);
    CHECK(cli_store_kp_get(st, mls_bytes_of((const uint8_t *)"\n", 1), &b, &lr) == 0);
    CHECK(b.n == 11 && memcmp(b.p, "KPBUNDLESEC", 11) == 0);
    CHECK(cli_store_group_each(st, group_cb, &seen) == 0 && seen.n == 2);
    CHECK(strcmp(seen.state[0], "STATELOBBYSECRET") == 0);
    CHECK(strcmp(seen.state[1], "STATEOTHERSECRET") == 0);
    cli_store_close(st);
    st = NULL;
    db_bytes(path, &file);
    CHECK(file.n > 0);
    CHECK(!contains(&file, str("SIGSECRETKEY")));
    CHECK(!contains(&file, str("KPBUNDLESEC")));
    CHECK(!contains(&file, str("STATELOBBYSECRET")));
    CHECK(!contains(&file, str("STATEOTHERSECRET")));
    CHECK(!contains(&file, str("PENDINGLOBBYSECRET")));

    /* Another key: every sealed field is refused, clearly. */
    cli_identity_clear(&id);
    CHECK(cli_store_open(path, &other, &st, &locked) == 0);
    if (st) {
        CHECK(cli_store_identity_load(st, &id) == CLI_STORE_TAMPERED);
        CHECK(cli_store_kp_get(st, mls_bytes_of((const uint8_t *)"\n", 1), &b, &lr) ==
              CLI_STORE_TAMPERED);
        seen.n = 0;
        CHECK(cli_store_group_each(st, group_cb, &seen) == CLI_STORE_TAMPERED);
        cli_store_close(st);
        st = NULL;
    }

    /* Two groups' states swapped: neither opens in the other's row. */
    CHECK(sql(path, "UPDATE groups SET state = (SELECT state FROM groups g2"
                    " WHERE g2.name <> groups.name)") == 0);
    CHECK(cli_store_open(path, &key, &st, &locked) == 0);
    if (st) {
        seen.n = 0;
        CHECK(cli_store_group_each(st, group_cb, &seen) == CLI_STORE_TAMPERED && seen.n == 0);
        cli_store_close(st);
        st = NULL;
    }
    /* A state moved into the pending column, and a bit flipped in the
     * signature key: refused. */
    CHECK(sql(path, "UPDATE groups SET state = pending_state WHERE name = 'lobby';"
                    "UPDATE identity SET sig_sk = CAST(sig_sk AS BLOB) || X'00'") == 0);
    CHECK(cli_store_open(path, &key, &st, &locked) == 0);
    if (st) {
        cli_identity_clear(&id);
        CHECK(cli_store_identity_load(st, &id) == CLI_STORE_TAMPERED);
        seen.n = 0;
        CHECK(cli_store_group_each(st, group_cb, &seen) == CLI_STORE_TAMPERED);
        /* A state written anew opens again. */
        {
            struct cli_group_rec g;
            memset(&g, 0, sizeof g);
            snprintf(g.name, sizeof g.name, "lobby");
            CHECK(mls_buf_set(&g.group_id, "g", 1) == MLS_OK);
            CHECK(mls_buf_set(&g.state, "NEWSTATE", 8) == MLS_OK);
            g.status = 1;
            CHECK(cli_store_group_put(st, &g) == 0);
            snprintf(g.name, sizeof g.name, "other");
            CHECK(mls_buf_set(&g.group_id, "h", 1) == MLS_OK);
            CHECK(cli_store_group_put(st, &g) == 0);
            cli_group_rec_clear(&g);
        }
        seen.n = 0;
        CHECK(cli_store_group_each(st, group_cb, &seen) == 0 && seen.n == 2);
        cli_store_close(st);
        st = NULL;
    }
out:
    cli_identity_clear(&id);
    mls_buf_clear(&b);
    mls_buf_clear(&file);
    free(path);
}

int main(void)
{
    char dir[] = "/tmp/test_client_seal_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    test_seal();
    test_key_file(dir);
    test_store(dir);
    TEST_MAIN_END("test_client_seal");
}
