/* Batch processing (mls_group_process_batch, lib/batch.c): the same
 * plaintexts, senders and group state bytes as mls_group_process one by
 * one, with no executor, a pool of 1 and of 4 threads; a commit in the
 * middle processed, or handed back with MLS_BATCH_STOP_AT_COMMIT; an
 * application message of the epoch before a commit; a forged signature at
 * index k fails at k with the group exactly as after the k before.  Runs
 * longer than the batch's chunks go through its pipeline (the next chunk
 * decrypted while the one before is verified): the same results and
 * bytes, a forged signature at a chunk seam and deep in a later chunk, and
 * a message that does not decrypt in a later chunk, each reported at its
 * index with the state as after the messages before it.  The same again
 * through mls_group_process_batch_start / mls_batch_finish with other
 * work between the two (processing the log one by one on another group,
 * and a second batch on another group while the first holds the pool,
 * and const reads of the lent group); a batch freed without finish
 * leaves the group as before it. */
#include "mls/group.h"
#include "test.h"

#include "group_state.h"

#include <string.h>

#define SUITE MLS_SUITE_X25519_AES128GCM_SHA256_ED25519
#define MAX_MSGS 160
/* Longer than the batch's first chunk (16) plus one whole chunk (64). */
#define LONG_RUN 120

static const mls_env *env;

typedef struct member {
    mls_identity *id;
    mls_buf kp, bundle;
    mls_group *g;
} member;

typedef struct msglog {
    mls_buf m[MAX_MSGS];
    mls_bytes v[MAX_MSGS];
    size_t n;
} msglog;

static mls_bytes str(const char *s)
{
    return mls_bytes_of((const uint8_t *)s, strlen(s));
}

static int same(mls_bytes a, mls_bytes b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static void member_init(member *m, const char *name)
{
    memset(m, 0, sizeof(*m));
    CHECK_OK(mls_identity_generate(env, SUITE, str(name), &m->id));
    CHECK_OK(mls_key_package_create(env, m->id, NULL, &m->kp, &m->bundle));
}

static void member_clear(member *m)
{
    mls_group_free(m->g);
    mls_identity_free(m->id);
    mls_buf_clear(&m->kp);
    mls_buf_clear(&m->bundle);
}

static void join(member *m, mls_bytes welcome)
{
    mls_bytes b = mls_buf_view(&m->bundle);
    CHECK_OK(mls_group_join(env, m->id, welcome, &b, 1, NULL, NULL, &m->g));
}

static void log_add(msglog *l, mls_buf *msg)
{
    if (l->n == MAX_MSGS) {
        CHECK(0);
        mls_buf_clear(msg);
        return;
    }
    l->m[l->n] = *msg;
    mls_buf_init(msg);
    l->v[l->n] = mls_buf_view(&l->m[l->n]);
    l->n++;
}

static void say(msglog *l, mls_group *g, const char *text)
{
    mls_buf out;
    mls_buf_init(&out);
    CHECK_OK(mls_group_protect(g, str("ad"), str(text), &out));
    log_add(l, &out);
}

/* A message from g signed with another identity's key (the sender's
 * ratchet moves as for a real one). */
static void forge(msglog *l, mls_group *g, const mls_identity *other, const char *text)
{
    mls_buf keep = g->id->sig_sk;
    g->id->sig_sk = other->sig_sk;
    say(l, g, text);
    g->id->sig_sk = keep;
}

static void log_clear(msglog *l)
{
    for (size_t i = 0; i < l->n; i++)
        mls_buf_clear(&l->m[i]);
    l->n = 0;
}

static void ser(const mls_group *g, mls_buf *out)
{
    mls_buf_reset(out);
    CHECK_OK(mls_group_serialize(g, out));
}

static mls_group *load(const mls_env *e, mls_bytes state)
{
    mls_group *g = NULL;
    CHECK_OK(mls_group_deserialize(e, state, &g));
    return g;
}

static void same_results(const mls_process_result *a, const mls_process_result *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        CHECK(a[i].kind == b[i].kind);
        CHECK(a[i].epoch == b[i].epoch);
        CHECK(a[i].sender_type == b[i].sender_type);
        CHECK(a[i].sender_leaf == b[i].sender_leaf);
        CHECK(same(mls_buf_view(&a[i].application_data), mls_buf_view(&b[i].application_data)));
        CHECK(same(mls_buf_view(&a[i].authenticated_data),
                   mls_buf_view(&b[i].authenticated_data)));
        CHECK(a[i].new_epoch == b[i].new_epoch);
    }
}

static void clear_results(mls_process_result *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mls_process_result_clear(&r[i]);
}

/* Processes l one by one from state; *stop gets the first failure (or
 * l->n) and its error is returned; *after the state then. */
static int sequential(mls_bytes state, const msglog *l, mls_process_result *res, size_t *stop,
                      mls_buf *after)
{
    mls_group *g = load(env, state);
    int err = 0;
    size_t i;
    for (i = 0; g && i < l->n; i++) {
        memset(&res[i], 0, sizeof(res[i]));
        if ((err = mls_group_process(g, l->v[i], &res[i])) != 0)
            break;
    }
    *stop = i;
    if (g)
        ser(g, after);
    mls_group_free(g);
    return err;
}

/* Other work while a batch is out: the log processed one by one on
 * another group, and a whole batch on a third (the first batch holds a
 * pool, so this one verifies on its caller's thread). */
static void other_work(const mls_env *e, mls_bytes state, const msglog *l)
{
    mls_process_result r[MAX_MSGS];
    mls_buf after;
    mls_group *g;
    size_t stop = 0, done = 0;
    int err;

    mls_buf_init(&after);
    err = sequential(state, l, r, &stop, &after);
    (void)err;
    clear_results(r, stop);
    g = load(e, state);
    if (g) {
        err = mls_group_process_batch(e, g, l->v, l->n, 0, r, &done);
        CHECK(done == stop);
        clear_results(r, done);
        mls_group_free(g);
    }
    mls_buf_clear(&after);
}

/* mls_group_process_batch through its two halves, other work between. */
static int split_batch(const mls_env *e, mls_group *g, const msglog *l, size_t from, size_t n,
                       unsigned flags, mls_process_result *res, size_t *done, mls_bytes other)
{
    mls_batch *b = NULL;
    int err;
    *done = 99;
    uint64_t epoch = mls_group_epoch(g);
    uint32_t members = mls_group_member_count(g);
    if ((err = mls_group_process_batch_start(e, g, l->v + from, n, flags, &b)) != 0)
        return err;
    other_work(e, other, l);
    /* Reading the lent group (const calls) is allowed; start changed
     * none of what they read. */
    CHECK(mls_group_epoch(g) == epoch);
    CHECK(mls_group_member_count(g) == members);
    err = mls_batch_finish(b, res, done);
    /* Once only. */
    CHECK_ERR(mls_batch_finish(b, res, done), MLS_ERR_ARG);
    mls_batch_free(b);
    return err;
}

/* A batch started and freed without finish: g as before, then the whole
 * log as one by one. */
static void check_abort(const mls_env *e, mls_bytes state, const msglog *l)
{
    mls_process_result seq[MAX_MSGS], bat[MAX_MSGS];
    mls_buf want, got;
    mls_group *g;
    mls_batch *b = NULL;
    size_t stop, done = 0;
    int want_err;

    mls_buf_init(&want);
    mls_buf_init(&got);
    want_err = sequential(state, l, seq, &stop, &want);
    g = load(e, state);
    if (g) {
        CHECK_OK(mls_group_process_batch_start(e, g, l->v, l->n, 0, &b));
        other_work(e, state, l);
        mls_batch_free(b);
        ser(g, &got);
        CHECK(same(state, mls_buf_view(&got)));
        CHECK_ERR(mls_group_process_batch(e, g, l->v, l->n, 0, bat, &done), want_err);
        CHECK(done == stop);
        same_results(seq, bat, stop);
        ser(g, &got);
        CHECK(same(mls_buf_view(&want), mls_buf_view(&got)));
        clear_results(bat, done);
        mls_group_free(g);
    }
    clear_results(seq, stop);
    mls_buf_clear(&want);
    mls_buf_clear(&got);
}

static void check_batch(const mls_env *e, mls_bytes state, const msglog *l, size_t step)
{
    mls_process_result seq[MAX_MSGS], bat[MAX_MSGS];
    mls_buf want, got;
    mls_group *g;
    size_t stop, done = 0, from, i;
    mls_staged_commit *sc = NULL;

    mls_buf_init(&want);
    mls_buf_init(&got);
    CHECK_OK(sequential(state, l, seq, &stop, &want));
    CHECK(stop == l->n);

    /* In one call. */
    g = load(e, state);
    if (!g)
        return;
    CHECK_OK(mls_group_process_batch(e, g, l->v, l->n, 0, bat, &done));
    CHECK(done == l->n);
    same_results(seq, bat, done);
    ser(g, &got);
    CHECK(same(mls_buf_view(&want), mls_buf_view(&got)));
    clear_results(bat, done);
    mls_group_free(g);

    /* The same in two halves, other work between. */
    g = load(e, state);
    if (!g)
        return;
    CHECK_OK(split_batch(e, g, l, 0, l->n, 0, bat, &done, state));
    CHECK(done == l->n);
    same_results(seq, bat, done);
    ser(g, &got);
    CHECK(same(mls_buf_view(&want), mls_buf_view(&got)));
    clear_results(bat, done);
    mls_group_free(g);

    /* Stopping before each commit, which is staged, judged and merged
     * by the caller; then on from the message after it. */
    g = load(e, state);
    if (!g)
        return;
    for (from = 0; from < l->n;) {
        /* Every other call in two halves. */
        if (from % 2)
            CHECK_OK(split_batch(e, g, l, from, l->n - from, MLS_BATCH_STOP_AT_COMMIT, bat + from,
                                 &done, state));
        else
            CHECK_OK(mls_group_process_batch(e, g, l->v + from, l->n - from,
                                             MLS_BATCH_STOP_AT_COMMIT, bat + from, &done));
        from += done;
        if (from == l->n)
            break;
        memset(&bat[from], 0, sizeof(bat[from]));
        CHECK_OK(mls_group_process_staged(g, l->v[from], &bat[from], &sc));
        CHECK(sc != NULL && bat[from].kind == MLS_RESULT_COMMIT);
        if (!sc)
            break;
        CHECK_OK(mls_group_merge_staged(g, sc));
        mls_staged_commit_free(sc);
        from++;
    }
    same_results(seq, bat, l->n);
    ser(g, &got);
    CHECK(same(mls_buf_view(&want), mls_buf_view(&got)));
    clear_results(bat, l->n);
    mls_group_free(g);

    /* Piece by piece, every split point. */
    for (i = 1; i < l->n; i += step) {
        g = load(e, state);
        if (!g)
            return;
        CHECK_OK(mls_group_process_batch(e, g, l->v, i, 0, bat, &done));
        CHECK(done == i);
        CHECK_OK(split_batch(e, g, l, i, l->n - i, 0, bat + i, &done, state));
        CHECK(done == l->n - i);
        same_results(seq, bat, l->n);
        ser(g, &got);
        CHECK(same(mls_buf_view(&want), mls_buf_view(&got)));
        clear_results(bat, l->n);
        mls_group_free(g);
    }
    clear_results(seq, l->n);
    mls_buf_clear(&want);
    mls_buf_clear(&got);
}

/* l fails at k for the sequential path: the batch too, state the same. */
static void check_failure(const mls_env *e, mls_bytes state, const msglog *l, size_t k, int want_err)
{
    mls_process_result seq[MAX_MSGS], bat[MAX_MSGS];
    mls_buf want, got;
    mls_group *g;
    size_t stop, done = 99;

    mls_buf_init(&want);
    mls_buf_init(&got);
    CHECK_ERR(sequential(state, l, seq, &stop, &want), want_err);
    CHECK(stop == k);
    g = load(e, state);
    if (g) {
        CHECK_ERR(mls_group_process_batch(e, g, l->v, l->n, 0, bat, &done), want_err);
        CHECK(done == k);
        if (done == k)
            same_results(seq, bat, k);
        ser(g, &got);
        CHECK(same(mls_buf_view(&want), mls_buf_view(&got)));
        clear_results(bat, done <= k ? done : 0);
        mls_group_free(g);
    }
    /* The same in two halves, other work between. */
    g = load(e, state);
    if (g) {
        CHECK_ERR(split_batch(e, g, l, 0, l->n, 0, bat, &done, state), want_err);
        CHECK(done == k);
        if (done == k)
            same_results(seq, bat, k);
        ser(g, &got);
        CHECK(same(mls_buf_view(&want), mls_buf_view(&got)));
        clear_results(bat, done <= k ? done : 0);
        /* The rest after the bad one goes on from there. */
        CHECK_OK(mls_group_process_batch(e, g, l->v + k + 1, l->n - k - 1, 0, bat, &done));
        CHECK(done == l->n - k - 1);
        clear_results(bat, done);
        mls_group_free(g);
    }
    clear_results(seq, stop);
    mls_buf_clear(&want);
    mls_buf_clear(&got);
}

int main(void)
{
    member A, B, C, D;
    mls_staged_commit *sc = NULL;
    mls_process_result r;
    msglog l, bad;
    mls_bytes kps[2];
    mls_buf s0, s1, s2;
    mls_env envs[3];
    mls_pool *p1 = NULL, *p4 = NULL;
    size_t i;
    char text[64];

    env = mls_env_default();
    memset(&l, 0, sizeof(l));
    memset(&bad, 0, sizeof(bad));
    mls_buf_init(&s0);
    mls_buf_init(&s1);
    mls_buf_init(&s2);
    member_init(&A, "alice");
    member_init(&B, "bob");
    member_init(&C, "carol");
    member_init(&D, "dave");

    CHECK_OK(mls_group_create(env, A.id, str("batch"), NULL, 0, NULL, &A.g));
    kps[0] = mls_buf_view(&B.kp);
    kps[1] = mls_buf_view(&C.kp);
    CHECK_OK(mls_group_add_members(A.g, kps, 2, &sc));
    join(&B, mls_staged_commit_welcome(sc));
    join(&C, mls_staged_commit_welcome(sc));
    CHECK_OK(mls_group_merge_staged(A.g, sc));
    mls_staged_commit_free(sc);
    if (!A.g || !B.g || !C.g)
        TEST_MAIN_END("batch");
    ser(C.g, &s0);

    /* The log C catches up: messages of B and A, B's commit, a late
     * message of A's from the epoch before it, then the new epoch. */
    for (i = 0; i < 5; i++) {
        snprintf(text, sizeof(text), "bob %zu", i);
        say(&l, B.g, text);
    }
    for (i = 0; i < 3; i++) {
        snprintf(text, sizeof(text), "alice %zu", i);
        say(&l, A.g, text);
    }
    CHECK_OK(mls_group_self_update(B.g, &sc));
    {
        mls_buf cm;
        mls_buf_init(&cm);
        CHECK_OK(mls_buf_set(&cm, mls_staged_commit_message(sc).p, mls_staged_commit_message(sc).n));
        log_add(&l, &cm);
    }
    CHECK_OK(mls_group_merge_staged(B.g, sc));
    mls_staged_commit_free(sc);
    say(&l, A.g, "alice late");
    memset(&r, 0, sizeof(r));
    CHECK_OK(mls_group_process(A.g, l.v[8], &r));
    mls_process_result_clear(&r);
    for (i = 0; i < 6; i++) {
        snprintf(text, sizeof(text), "bob new %zu", i);
        say(&l, B.g, text);
    }
    say(&l, A.g, "alice new");
    say(&l, B.g, "bob last");

    /* After the whole log: B's next six, the fourth signed with D's key. */
    for (i = 0; i < 6; i++) {
        snprintf(text, sizeof(text), "bob more %zu", i);
        if (i == 3)
            forge(&bad, B.g, D.id, text);
        else
            say(&bad, B.g, text);
    }

    envs[0] = *env;
    envs[0].parallel_for = NULL;
    envs[0].parallel_ctx = NULL;
    CHECK_OK(mls_pool_new(1, &p1));
    CHECK_OK(mls_pool_new(4, &p4));
    envs[1] = envs[0];
    envs[1].parallel_for = mls_pool_parallel_for;
    envs[1].parallel_ctx = p1;
    envs[2] = envs[1];
    envs[2].parallel_ctx = p4;

    for (i = 0; i < 3; i++) {
        mls_group *g;
        size_t done = 0;
        mls_process_result res[MAX_MSGS];
        check_batch(&envs[i], mls_buf_view(&s0), &l, 5);
        check_abort(&envs[i], mls_buf_view(&s0), &l);
        /* The state after the log, for the forged run. */
        g = load(&envs[i], mls_buf_view(&s0));
        if (!g)
            continue;
        CHECK_OK(mls_group_process_batch(&envs[i], g, l.v, l.n, 0, res, &done));
        clear_results(res, done);
        ser(g, &s1);
        mls_group_free(g);
        check_failure(&envs[i], mls_buf_view(&s1), &bad, 3, MLS_ERR_SIGNATURE);
    }
    /* Long runs (through the pipeline), from the state after l: all good;
     * forged at 16 (the first message of the second chunk), at 80 (the
     * first of the third) and at 110; the tag of message 100 broken. */
    {
        static const size_t forged_at[] = {16, 80, 110};
        msglog lng, lbad[4];
        size_t k;
        memset(&lng, 0, sizeof(lng));
        memset(lbad, 0, sizeof(lbad));
        for (i = 0; i < LONG_RUN; i++) {
            snprintf(text, sizeof(text), "long %zu", i);
            say(&lng, i % 3 == 2 ? A.g : B.g, text);
        }
        for (k = 0; k < 4; k++)
            for (i = 0; i < LONG_RUN; i++) {
                mls_group *from = i % 3 == 2 ? A.g : B.g;
                snprintf(text, sizeof(text), "long bad %zu %zu", k, i);
                if (k < 3 && i == forged_at[k])
                    forge(&lbad[k], from, D.id, text);
                else
                    say(&lbad[k], from, text);
            }
        /* The last byte of a PrivateMessage is its ciphertext's: the AEAD
         * tag no longer matches (RFC 9420 §6.3). */
        if (lbad[3].n > 100 && lbad[3].m[100].n > 0)
            lbad[3].m[100].p[lbad[3].m[100].n - 1] ^= 1;
        for (i = 0; i < 3; i++) {
            mls_group *g;
            size_t done = 0;
            mls_process_result res[MAX_MSGS];
            check_batch(&envs[i], mls_buf_view(&s1), &lng, 37);
            g = load(&envs[i], mls_buf_view(&s1));
            if (!g)
                continue;
            CHECK_OK(mls_group_process_batch(&envs[i], g, lng.v, lng.n, 0, res, &done));
            CHECK(done == lng.n);
            clear_results(res, done);
            ser(g, &s2);
            mls_group_free(g);
            /* Each bad log from the state after lng (the generations of
             * the logs before it are skipped, RFC 9420 §9.1). */
            check_abort(&envs[i], mls_buf_view(&s1), &lng);
            check_abort(&envs[i], mls_buf_view(&s2), &lbad[0]);
            for (k = 0; k < 3; k++)
                check_failure(&envs[i], mls_buf_view(&s2), &lbad[k], forged_at[k],
                              MLS_ERR_SIGNATURE);
            check_failure(&envs[i], mls_buf_view(&s2), &lbad[3], 100, MLS_ERR_DECRYPT);
        }
        log_clear(&lng);
        for (k = 0; k < 4; k++)
            log_clear(&lbad[k]);
    }
    /* Bytes that are no MLSMessage fail where they stand; empty and bad
     * arguments. */
    {
        mls_group *g = load(env, mls_buf_view(&s0));
        mls_process_result res[MAX_MSGS];
        mls_bytes two[2];
        size_t done = 99;
        two[0] = l.v[0];
        two[1] = str("not a message");
        if (g) {
            CHECK_ERR(mls_group_process_batch(env, g, two, 2, 0, res, &done), MLS_ERR_UNSUPPORTED);
            CHECK(done == 1);
            clear_results(res, done);
            CHECK_OK(mls_group_process_batch(env, g, NULL, 0, 0, NULL, &done));
            CHECK(done == 0);
            CHECK_ERR(mls_group_process_batch(env, g, NULL, 1, 0, res, &done), MLS_ERR_ARG);
            {
                mls_batch *b = NULL;
                CHECK_ERR(mls_group_process_batch_start(env, g, NULL, 1, 0, &b), MLS_ERR_ARG);
                CHECK(b == NULL);
                CHECK_ERR(mls_group_process_batch_start(env, NULL, two, 2, 0, &b), MLS_ERR_ARG);
                CHECK_ERR(mls_group_process_batch_start(env, g, two, 2, 0, NULL), MLS_ERR_ARG);
                CHECK_ERR(mls_batch_finish(NULL, res, &done), MLS_ERR_ARG);
                mls_batch_free(NULL);
                /* Nothing: finished at once. */
                CHECK_OK(mls_group_process_batch_start(env, g, NULL, 0, 0, &b));
                CHECK_OK(mls_batch_finish(b, NULL, &done));
                CHECK(done == 0);
                mls_batch_free(b);
            }
            mls_group_free(g);
        }
    }

    mls_pool_free(p1);
    mls_pool_free(p4);
    log_clear(&l);
    log_clear(&bad);
    mls_buf_clear(&s0);
    mls_buf_clear(&s1);
    mls_buf_clear(&s2);
    member_clear(&A);
    member_clear(&B);
    member_clear(&C);
    member_clear(&D);
    TEST_MAIN_END("batch");
}
