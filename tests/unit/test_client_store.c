/* Client store: identity, KeyPackage bundles, groups (state + cursor in
 * one transaction, rollback), history without duplicates, outbox order,
 * directory cache, file modes and the per-user lock. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mls/mls.h"
#include "store.h"
#include "seal.h"
#include "test.h"
#include "util.h"

struct hist {
    int n;
    char text[8][64];
    int64_t seq[8];
};

/* Any data key: these tests are about the store, not the sealing. */
static const struct cli_seal_key test_key = {{7}};

static void hist_cb(void *ctx, int64_t seq, int64_t time, const char *sender, const char *text)
{
    struct hist *h = ctx;
    (void)time;
    (void)sender;
    if (h->n < 8) {
        snprintf(h->text[h->n], sizeof h->text[0], "%s", text);
        h->seq[h->n++] = seq;
    }
}

struct outbox {
    int n;
    int64_t id[8];
    char text[8][32];
    size_t ct_len[8];
};

static void outbox_cb(void *ctx, int64_t id, const char *group, const char *text, mls_bytes ct)
{
    struct outbox *o = ctx;
    (void)group;
    if (o->n < 8) {
        o->id[o->n] = id;
        snprintf(o->text[o->n], sizeof o->text[0], "%s", text);
        o->ct_len[o->n++] = ct.n;
    }
}

struct groups {
    int n;
    char name[4][65];
    int64_t cursor[4];
    size_t state_len[4];
    int consent[4];
    char inviter[4][33];
    int64_t invited_at[4];
};

static void group_cb(void *ctx, struct cli_group_rec *g)
{
    struct groups *gs = ctx;
    if (gs->n < 4) {
        snprintf(gs->name[gs->n], sizeof gs->name[0], "%s", g->name);
        gs->cursor[gs->n] = g->cursor;
        gs->consent[gs->n] = g->consent;
        snprintf(gs->inviter[gs->n], sizeof gs->inviter[0], "%s", g->inviter);
        gs->invited_at[gs->n] = g->invited_at;
        gs->state_len[gs->n++] = g->state.n;
    }
}

int main(void)
{
    char dir[] = "/tmp/test_client_store_XXXXXX", *path, *path2;
    struct cli_store *st = NULL, *st2 = NULL;
    struct cli_identity id, id2;
    struct cli_group_rec g;
    struct hist h;
    struct outbox o;
    struct groups gs;
    mls_buf b;
    int locked = 0, lr = -1;
    int64_t x1, x2, x3;
    struct stat sb;

    CHECK(mkdtemp(dir) != NULL);
    path = cli_strdupf("%s/alice@host_4000.db", dir);
    path2 = cli_strdupf("%s/bob@host_4000.db", dir);
    CHECK(cli_store_open(path, &test_key, &st, &locked) == 0);
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
    /* One client per user and config directory ... */
    CHECK(cli_store_open(path, &test_key, &st2, &locked) == -1 && locked == 1);
    /* ... but several users share the directory. */
    CHECK(cli_store_open(path2, &test_key, &st2, &locked) == 0);
    cli_store_close(st2);

    memset(&id, 0, sizeof id);
    memset(&id2, 0, sizeof id2);
    CHECK(cli_store_identity_load(st, &id) == 1);
    snprintf(id.username, sizeof id.username, "alice");
    id.suite = 1;
    CHECK(mls_buf_set(&id.sig_sk, "secretkey", 9) == MLS_OK);
    CHECK(mls_buf_set(&id.sig_pk, "publickey", 9) == MLS_OK);
    CHECK(cli_store_identity_save(st, &id) == 0);
    CHECK(cli_store_identity_load(st, &id2) == 0);
    CHECK(strcmp(id2.username, "alice") == 0 && id2.suite == 1 && id2.registered == 0);
    CHECK(id2.sig_sk.n == 9 && memcmp(id2.sig_sk.p, "secretkey", 9) == 0);
    cli_identity_clear(&id);
    cli_identity_clear(&id2);

    mls_buf_init(&b);
    CHECK(cli_store_kp_add(st, mls_bytes_of((const uint8_t *)"ref1", 4),
                           mls_bytes_of((const uint8_t *)"bundle1", 7), 0) == 0);
    CHECK(cli_store_kp_add(st, mls_bytes_of((const uint8_t *)"lr1", 3),
                           mls_bytes_of((const uint8_t *)"lrb1", 4), 1) == 0);
    CHECK(cli_store_kp_add(st, mls_bytes_of((const uint8_t *)"lr2", 3),
                           mls_bytes_of((const uint8_t *)"lrb2", 4), 1) == 0);
    CHECK(cli_store_kp_get(st, mls_bytes_of((const uint8_t *)"ref1", 4), &b, &lr) == 0);
    CHECK(b.n == 7 && lr == 0);
    CHECK(cli_store_kp_get(st, mls_bytes_of((const uint8_t *)"nope", 4), &b, &lr) == 1);
    CHECK(cli_store_kp_delete_old_last_resort(st, mls_bytes_of((const uint8_t *)"lr2", 3)) == 0);
    CHECK(cli_store_kp_get(st, mls_bytes_of((const uint8_t *)"lr1", 3), &b, &lr) == 1);
    CHECK(cli_store_kp_get(st, mls_bytes_of((const uint8_t *)"lr2", 3), &b, &lr) == 0 && lr == 1);
    CHECK(cli_store_kp_delete(st, mls_bytes_of((const uint8_t *)"ref1", 4)) == 0);
    CHECK(cli_store_kp_get(st, mls_bytes_of((const uint8_t *)"ref1", 4), &b, &lr) == 1);

    /* State and cursor in one transaction; a rollback keeps the old pair. */
    memset(&g, 0, sizeof g);
    snprintf(g.name, sizeof g.name, "lobby");
    CHECK(mls_buf_set(&g.group_id, "gid", 3) == MLS_OK);
    CHECK(mls_buf_set(&g.state, "state-epoch-1", 13) == MLS_OK);
    g.cursor = 1;
    g.status = CLI_GROUP_JOINED;
    g.joined_at = 1;
    CHECK(cli_store_group_put(st, &g) == 0);
    CHECK(cli_store_begin(st) == 0);
    CHECK(mls_buf_set(&g.state, "state-epoch-2-longer", 20) == MLS_OK);
    g.cursor = 2;
    CHECK(cli_store_group_put(st, &g) == 0);
    cli_store_rollback(st);
    memset(&gs, 0, sizeof gs);
    CHECK(cli_store_group_each(st, group_cb, &gs) == 0);
    CHECK(gs.n == 1 && gs.cursor[0] == 1 && gs.state_len[0] == 13);
    CHECK(cli_store_begin(st) == 0);
    CHECK(cli_store_group_put(st, &g) == 0);
    CHECK(cli_store_commit(st) == 0);
    memset(&gs, 0, sizeof gs);
    CHECK(cli_store_group_each(st, group_cb, &gs) == 0);
    CHECK(gs.n == 1 && gs.cursor[0] == 2 && gs.state_len[0] == 20);
    CHECK(gs.consent[0] == CLI_CONSENT_ACCEPTED && gs.inviter[0][0] == 0);
    /* An invitation waiting for consent keeps who and when. */
    g.consent = CLI_CONSENT_INVITED;
    snprintf(g.inviter, sizeof g.inviter, "carol");
    g.invited_at = 1700000000;
    CHECK(cli_store_group_put(st, &g) == 0);
    memset(&gs, 0, sizeof gs);
    CHECK(cli_store_group_each(st, group_cb, &gs) == 0);
    CHECK(gs.n == 1 && gs.consent[0] == CLI_CONSENT_INVITED &&
          strcmp(gs.inviter[0], "carol") == 0 && gs.invited_at[0] == 1700000000);
    g.consent = CLI_CONSENT_ACCEPTED;
    CHECK(cli_store_group_put(st, &g) == 0);
    cli_group_rec_clear(&g);

    /* History: a message (group, seq) is stored once; system lines repeat. */
    CHECK(cli_store_history_add(st, "lobby", 5, 100, "bob", "hi") == 0);
    CHECK(cli_store_history_add(st, "lobby", 5, 100, "bob", "hi") == 1);
    CHECK(cli_store_history_add(st, "lobby", -1, 101, NULL, "sys") == 0);
    CHECK(cli_store_history_add(st, "lobby", -1, 101, NULL, "sys") == 0);
    CHECK(cli_store_history_add(st, "other", 5, 100, "bob", "elsewhere") == 0);
    memset(&h, 0, sizeof h);
    CHECK(cli_store_history_recent(st, "lobby", 2, hist_cb, &h) == 0);
    CHECK(h.n == 2 && strcmp(h.text[0], "sys") == 0 && h.seq[0] == -1);
    memset(&h, 0, sizeof h);
    CHECK(cli_store_history_recent(st, "lobby", 10, hist_cb, &h) == 0);
    CHECK(h.n == 3 && strcmp(h.text[0], "hi") == 0 && h.seq[0] == 5);
    /* A declined group's history is forgotten, the others' kept. */
    CHECK(cli_store_history_add(st, "declined", 1, 100, "bob", "gone") == 0);
    CHECK(cli_store_history_delete(st, "declined") == 0);
    memset(&h, 0, sizeof h);
    CHECK(cli_store_history_recent(st, "declined", 10, hist_cb, &h) == 0 && h.n == 0);
    memset(&h, 0, sizeof h);
    CHECK(cli_store_history_recent(st, "lobby", 10, hist_cb, &h) == 0 && h.n == 3);

    /* A catch-up page: one transaction holding each entry's own as a
     * savepoint; an inner rollback undoes only that entry, the page's
     * commit keeps the rest, an outer rollback undoes everything. */
    CHECK(cli_store_begin(st) == 0);
    CHECK(cli_store_history_add(st, "lobby", 6, 102, "bob", "page one") == 0);
    CHECK(cli_store_begin(st) == 0);
    CHECK(cli_store_history_add(st, "lobby", 7, 103, "bob", "undone") == 0);
    cli_store_rollback(st);
    CHECK(cli_store_begin(st) == 0);
    CHECK(cli_store_history_add(st, "lobby", 8, 104, "bob", "page three") == 0);
    CHECK(cli_store_commit(st) == 0);
    CHECK(cli_store_commit(st) == 0);
    CHECK(cli_store_begin(st) == 0);
    CHECK(cli_store_begin(st) == 0);
    CHECK(cli_store_history_add(st, "lobby", 9, 105, "bob", "lost") == 0);
    CHECK(cli_store_commit(st) == 0);
    cli_store_rollback(st);
    memset(&h, 0, sizeof h);
    CHECK(cli_store_history_recent(st, "lobby", 10, hist_cb, &h) == 0);
    CHECK(h.n == 5 && h.seq[3] == 6 && h.seq[4] == 8);
    /* The cached INSERT is used again after the rollback and after a
     * constraint failure (reset each time). */
    CHECK(cli_store_history_add(st, "lobby", 7, 103, "bob", "late") == 0);
    CHECK(cli_store_history_add(st, "lobby", 7, 103, "bob", "late") == 1);

    /* Outbox keeps typing order; the ciphertext is recorded and reset. */
    CHECK(cli_store_outbox_add(st, "lobby", "one", mls_bytes_of((const uint8_t *)"one", 3), &x1) == 0);
    CHECK(cli_store_outbox_add(st, "lobby", "two", mls_bytes_of((const uint8_t *)"two", 3), &x2) == 0);
    CHECK(cli_store_outbox_add(st, "lobby", "three", mls_bytes_of((const uint8_t *)"three", 3), &x3) == 0);
    CHECK(cli_store_outbox_set_ct(st, x2, mls_bytes_of((const uint8_t *)"ct", 2)) == 0);
    CHECK(cli_store_outbox_delete(st, x1) == 0);
    memset(&o, 0, sizeof o);
    CHECK(cli_store_outbox_each(st, outbox_cb, &o) == 0);
    CHECK(o.n == 2 && strcmp(o.text[0], "two") == 0 && o.ct_len[0] == 2 &&
          strcmp(o.text[1], "three") == 0 && o.ct_len[1] == 0);
    CHECK(cli_store_outbox_set_ct(st, x2, mls_bytes_of(NULL, 0)) == 0);
    memset(&o, 0, sizeof o);
    CHECK(cli_store_outbox_each(st, outbox_cb, &o) == 0);
    CHECK(o.n == 2 && o.ct_len[0] == 0);

    CHECK(cli_store_dir_get(st, "bob", &b) == 1);
    CHECK(cli_store_dir_put(st, "bob", mls_bytes_of((const uint8_t *)"bobkey", 6)) == 0);
    CHECK(cli_store_dir_get(st, "bob", &b) == 0 && b.n == 6);

    CHECK(cli_store_group_delete(st, "lobby") == 0);
    memset(&gs, 0, sizeof gs);
    CHECK(cli_store_group_each(st, group_cb, &gs) == 0 && gs.n == 0);

    /* Persisted across a reopen. */
    cli_store_close(st);
    st = NULL;
    CHECK(cli_store_open(path, &test_key, &st, &locked) == 0);
    CHECK(cli_store_dir_get(st, "bob", &b) == 0 && b.n == 6);
    cli_store_close(st);
    cli_store_close(NULL);

    mls_buf_clear(&b);
    {
        char *cmd = cli_strdupf("rm -rf %s", dir);
        if (cmd && system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
        free(cmd);
    }
    free(path);
    free(path2);
    TEST_MAIN_END("test_client_store");
}
