/*
 * The executor (lib/executor.c, mls_env.parallel_for): the pool runs every
 * item once and reports the lowest failing index whatever the thread
 * count; a tampered leaf among 1,000 is found with the same error in
 * parallel as sequentially; commits and Welcomes made with the pool are
 * byte-identical to sequential ones from the same randomness; the loop in
 * the background (mls_exec_async_*) gives the same results.
 */
#include "test_member.h"

#include "executor.h"
#include "mls/group.h"

#define SUITE MLS_SUITE_X25519_AES128GCM_SHA256_ED25519
#define LOOP_N 1000

typedef struct loop_arg {
    unsigned char hits[LOOP_N];
    size_t fail_a, fail_b;
    mls_pool *nested; /* a pool to start a loop on from inside an item */
} loop_arg;

static int count_item(void *vp, size_t i)
{
    loop_arg *a = vp;
    a->hits[i]++;
    return 0;
}

static int loop_item(void *vp, size_t i)
{
    loop_arg *a = vp;
    a->hits[i]++;
    if (a->nested && i % 97 == 0) {
        /* A loop started from inside a loop runs in its caller. */
        loop_arg inner;
        memset(&inner, 0, sizeof(inner));
        if (mls_pool_parallel_for(a->nested, 50, count_item, &inner) != 0)
            return MLS_ERR_STATE;
        for (size_t k = 0; k < 50; k++)
            if (inner.hits[k] != 1)
                return MLS_ERR_STATE;
    }
    if (i == a->fail_a)
        return MLS_ERR_SIGNATURE;
    if (i == a->fail_b)
        return MLS_ERR_EXPIRED;
    return 0;
}

static void test_pool_loops(unsigned threads)
{
    mls_pool *p = NULL;
    loop_arg a;
    CHECK_OK(mls_pool_new(threads, &p));
    if (!p)
        return;
    memset(&a, 0, sizeof(a));
    a.fail_a = a.fail_b = SIZE_MAX;
    a.nested = p;
    CHECK_OK(mls_pool_parallel_for(p, LOOP_N, loop_item, &a));
    for (size_t i = 0; i < LOOP_N; i++)
        CHECK(a.hits[i] == 1);
    /* Two failures: the lower index's error, every time. */
    for (int rep = 0; rep < 20; rep++) {
        memset(&a, 0, sizeof(a));
        a.fail_a = 700;
        a.fail_b = 500;
        CHECK_ERR(mls_pool_parallel_for(p, LOOP_N, loop_item, &a), MLS_ERR_EXPIRED);
        for (size_t i = 0; i <= 500; i++)
            CHECK(a.hits[i] == 1);
        a.fail_a = 3;
        memset(a.hits, 0, sizeof(a.hits));
        CHECK_ERR(mls_pool_parallel_for(p, LOOP_N, loop_item, &a), MLS_ERR_SIGNATURE);
    }
    /* Zero and one item. */
    memset(&a, 0, sizeof(a));
    a.fail_a = a.fail_b = SIZE_MAX;
    CHECK_OK(mls_pool_parallel_for(p, 0, loop_item, &a));
    CHECK_OK(mls_pool_parallel_for(p, 1, loop_item, &a));
    CHECK(a.hits[0] == 1 && a.hits[1] == 0);
    mls_pool_free(p);
    mls_pool_free(NULL);
}

/*
 * The loop in the background (mls_exec_async_*): items added in steps
 * while the caller goes on (its own loops on the held pool run in it),
 * each run once, the lower failing index's error from wait; cancel
 * skips what has not started and frees the pool; a second background
 * loop while one holds the pool, and one without an executor, run their
 * items in wait.
 */
static void test_async_loops(unsigned threads)
{
    mls_pool *p = NULL;
    mls_env e, none;
    mls_exec_async a, b;
    loop_arg la, lb, inner;
    size_t i;
    int ok;

    CHECK_OK(mls_pool_new(threads, &p));
    if (!p)
        return;
    e = *mls_env_default();
    e.parallel_for = mls_pool_parallel_for;
    e.parallel_ctx = p;
    none = *mls_env_default();
    none.parallel_for = NULL;

    memset(&la, 0, sizeof(la));
    la.fail_a = la.fail_b = SIZE_MAX;
    la.nested = p;
    mls_exec_async_begin(&e, loop_item, &la, &a);
    mls_exec_async_add(&a, 10);
    memset(&inner, 0, sizeof(inner));
    CHECK_OK(mls_pool_parallel_for(p, 50, count_item, &inner));
    mls_exec_async_add(&a, 300);
    mls_exec_async_add(&a, 200); /* never fewer */
    /* A second one while the first holds the pool. */
    memset(&lb, 0, sizeof(lb));
    lb.fail_a = lb.fail_b = SIZE_MAX;
    mls_exec_async_begin(&e, count_item, &lb, &b);
    mls_exec_async_add(&b, LOOP_N);
    mls_exec_async_add(&a, LOOP_N);
    CHECK_OK(mls_exec_async_wait(&b));
    CHECK_OK(mls_exec_async_wait(&a));
    CHECK_ERR(mls_exec_async_wait(&a), MLS_ERR_ARG);
    ok = 1;
    for (i = 0; i < 50; i++)
        ok &= inner.hits[i] == 1;
    for (i = 0; i < LOOP_N; i++)
        ok &= la.hits[i] == 1 && lb.hits[i] == 1;
    CHECK(ok);

    /* Two failures: the lower index's error. */
    for (int rep = 0; rep < 10; rep++) {
        memset(&la, 0, sizeof(la));
        la.fail_a = 700;
        la.fail_b = 500;
        mls_exec_async_begin(&e, loop_item, &la, &a);
        mls_exec_async_add(&a, 600);
        mls_exec_async_add(&a, LOOP_N);
        CHECK_ERR(mls_exec_async_wait(&a), MLS_ERR_EXPIRED);
        ok = 1;
        for (i = 0; i <= 500; i++)
            ok &= la.hits[i] == 1;
        CHECK(ok);
    }

    /* Cancelled: nothing runs twice, and the pool is free again. */
    memset(&la, 0, sizeof(la));
    la.fail_a = la.fail_b = SIZE_MAX;
    mls_exec_async_begin(&e, loop_item, &la, &a);
    mls_exec_async_add(&a, LOOP_N);
    mls_exec_async_cancel(&a);
    mls_exec_async_cancel(&a);
    ok = 1;
    for (i = 0; i < LOOP_N; i++)
        ok &= la.hits[i] <= 1;
    CHECK(ok);
    memset(&inner, 0, sizeof(inner));
    CHECK_OK(mls_pool_parallel_for(p, LOOP_N, count_item, &inner));

    /* Without an executor: the items run in wait, not before. */
    memset(&la, 0, sizeof(la));
    la.fail_a = la.fail_b = SIZE_MAX;
    mls_exec_async_begin(&none, loop_item, &la, &a);
    mls_exec_async_add(&a, LOOP_N);
    CHECK(la.hits[0] == 0 && la.hits[LOOP_N - 1] == 0);
    CHECK_OK(mls_exec_async_wait(&a));
    CHECK(la.hits[0] == 1 && la.hits[LOOP_N - 1] == 1);

    /* No items. */
    mls_exec_async_begin(&e, loop_item, &la, &a);
    CHECK_OK(mls_exec_async_wait(&a));
    memset(&a, 0, sizeof(a));
    mls_exec_async_cancel(&a);
    mls_pool_free(p);
}

struct first_ctx {
    int *calls, *fail;
};

/* Counts its runs (atomically enough: it runs once per loop). */
static int first_item(void *ctx)
{
    struct first_ctx *fc = ctx;
    (*fc->calls)++;
    return *fc->fail ? MLS_ERR_SIGNATURE : MLS_OK;
}

/* 1,000 leaves, two of them bad: the lower one's error, with any executor. */
static void test_tampered_leaves(const mls_env *par)
{
    const mls_suite *s = mls_suite_get(SUITE);
    const size_t n = 1000;
    struct member *m = calloc(n, sizeof(*m));
    mls_bytes gid = mls_bytes_of((const uint8_t *)"group", 5);
    mls_rtree t, u;
    mls_leaf_check seq, pc;
    mls_leaf_node bad;
    uint32_t leaf;

    if (!m) {
        CHECK(0);
        return;
    }
    mls_rtree_init(&t, s);
    for (size_t i = 0; i < n; i++) {
        CHECK_OK(make_member(s, (int)i, &m[i]));
        CHECK_OK(mls_rtree_add_leaf(&t, &m[i].ln, &leaf));
    }
    memset(&seq, 0, sizeof(seq));
    seq.group_id = gid;
    seq.check_lifetime = 1;
    seq.now = 1000;
    pc = seq;
    pc.env = par;
    CHECK_OK(mls_rtree_verify_leaves(&t, &seq));
    CHECK_OK(mls_rtree_verify_leaves(&t, &pc));

    /* A tampered signature at 613 and an expired leaf at 811. */
    CHECK_OK(mls_rtree_copy(&u, &t));
    CHECK_OK(mls_leaf_node_copy(&bad, mls_rtree_leaf(&u, 613)));
    bad.signature.p[7] ^= 0x01;
    CHECK_OK(mls_rtree_set_leaf(&u, 613, &bad));
    mls_leaf_node_clear(&bad);
    CHECK_OK(mls_leaf_node_copy(&bad, mls_rtree_leaf(&u, 811)));
    bad.lifetime.not_after = 10;
    CHECK_OK(sign_leaf(s, &bad, mls_buf_view(&m[811].sig_sk), gid, 811));
    CHECK_OK(mls_rtree_set_leaf(&u, 811, &bad));
    mls_leaf_node_clear(&bad);
    {
        /* The same error, and the same rule named (mls_error_detail is
         * per thread: the pool carries the failing item's to the caller). */
        char want[400];
        mls_error_detail_clear();
        CHECK_ERR(mls_rtree_verify_leaves(&u, &seq), MLS_ERR_SIGNATURE);
        snprintf(want, sizeof(want), "%s", mls_error_detail());
        mls_error_detail_clear();
        CHECK_ERR(mls_rtree_verify_leaves(&u, &pc), MLS_ERR_SIGNATURE);
        CHECK(want[0] != 0 && strcmp(want, mls_error_detail()) == 0);
    }
    /* An expired one below both: that one is reported. */
    CHECK_OK(mls_leaf_node_copy(&bad, mls_rtree_leaf(&u, 250)));
    bad.lifetime.not_after = 10;
    CHECK_OK(sign_leaf(s, &bad, mls_buf_view(&m[250].sig_sk), gid, 250));
    CHECK_OK(mls_rtree_set_leaf(&u, 250, &bad));
    mls_leaf_node_clear(&bad);
    {
        char want[400];
        mls_error_detail_clear();
        CHECK_ERR(mls_rtree_verify_leaves(&u, &seq), MLS_ERR_EXPIRED);
        snprintf(want, sizeof(want), "%s", mls_error_detail());
        mls_error_detail_clear();
        CHECK_ERR(mls_rtree_verify_leaves(&u, &pc), MLS_ERR_EXPIRED);
        CHECK(want[0] != 0 && strcmp(want, mls_error_detail()) == 0);
    }
    /* The first item (a join's GroupInfo signature) runs once in the
     * same loop; its failure is reported before every leaf's. */
    {
        int calls = 0, fail = 0;
        struct first_ctx fc = {&calls, &fail};
        seq.first = pc.first = first_item;
        seq.first_ctx = pc.first_ctx = &fc;
        CHECK_ERR(mls_rtree_verify_leaves(&u, &seq), MLS_ERR_EXPIRED);
        CHECK_ERR(mls_rtree_verify_leaves(&u, &pc), MLS_ERR_EXPIRED);
        CHECK(calls == 2);
        CHECK_OK(mls_rtree_verify_leaves(&t, &pc));
        CHECK(calls == 3);
        fail = 1;
        CHECK_ERR(mls_rtree_verify_leaves(&u, &seq), MLS_ERR_SIGNATURE);
        CHECK_ERR(mls_rtree_verify_leaves(&u, &pc), MLS_ERR_SIGNATURE);
        CHECK_ERR(mls_rtree_verify_leaves(&t, &pc), MLS_ERR_SIGNATURE);
        CHECK(calls == 6);
    }
    mls_rtree_clear(&u);
    mls_rtree_clear(&t);
    for (size_t i = 0; i < n; i++)
        member_clear(&m[i]);
    free(m);
}

/* A deterministic random source: SplitMix64 over a counter. */
static int det_random(void *ctx, uint8_t *out, size_t n)
{
    uint64_t *st = ctx;
    for (size_t i = 0; i < n; i++) {
        uint64_t z = (*st += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        out[i] = (uint8_t)(z ^ (z >> 31));
    }
    return 0;
}

static uint64_t det_now(void *ctx)
{
    (void)ctx;
    return 1700000000;
}

#define GROUP_N 24

/* Creates a group, adds GROUP_N members in one commit, makes one joiner
 * join and the creator update; appends every commit and Welcome to out. */
static void group_run(mls_pool *pool, mls_buf *out)
{
    uint64_t st = 42;
    mls_env env = {.random = det_random, .now = det_now, .ctx = &st};
    mls_identity *ids[GROUP_N + 1] = {0};
    mls_buf kps[GROUP_N + 1], bundles[GROUP_N + 1];
    mls_bytes kpv[GROUP_N];
    mls_group *g = NULL, *j = NULL;
    mls_staged_commit *sc = NULL;
    char name[16];

    if (pool) {
        env.parallel_for = mls_pool_parallel_for;
        env.parallel_ctx = pool;
    }
    for (int i = 0; i <= GROUP_N; i++) {
        int len = snprintf(name, sizeof(name), "m%d", i);
        mls_buf_init(&kps[i]);
        mls_buf_init(&bundles[i]);
        CHECK_OK(mls_identity_generate(&env, SUITE, mls_bytes_of((const uint8_t *)name,
                                                                 (size_t)len), &ids[i]));
        CHECK_OK(mls_key_package_create(&env, ids[i], NULL, &kps[i], &bundles[i]));
        if (i)
            kpv[i - 1] = mls_buf_view(&kps[i]);
    }
    CHECK_OK(mls_group_create(&env, ids[0], mls_bytes_of((const uint8_t *)"g", 1), NULL, 0,
                              NULL, &g));
    if (!g)
        goto out;
    CHECK_OK(mls_group_add_members(g, kpv, GROUP_N, &sc));
    if (!sc)
        goto out;
    CHECK_OK(mls_buf_append(out, mls_staged_commit_message(sc).p, mls_staged_commit_message(sc).n));
    CHECK_OK(mls_buf_append(out, mls_staged_commit_welcome(sc).p, mls_staged_commit_welcome(sc).n));
    {
        mls_bytes b = mls_buf_view(&bundles[7]);
        CHECK_OK(mls_group_join(&env, ids[7], mls_staged_commit_welcome(sc), &b, 1, NULL, NULL,
                                &j));
    }
    CHECK_OK(mls_group_merge_staged(g, sc));
    mls_staged_commit_free(sc); /* merged: freed by its owner */
    sc = NULL;
    CHECK_OK(mls_group_self_update(g, &sc));
    if (sc) {
        mls_process_result r;
        CHECK_OK(mls_buf_append(out, mls_staged_commit_message(sc).p,
                                mls_staged_commit_message(sc).n));
        memset(&r, 0, sizeof(r));
        if (j)
            CHECK_OK(mls_group_process(j, mls_staged_commit_message(sc), &r));
        mls_process_result_clear(&r);
    }
out:
    mls_staged_commit_free(sc);
    mls_group_free(g);
    mls_group_free(j);
    for (int i = 0; i <= GROUP_N; i++) {
        mls_identity_free(ids[i]);
        mls_buf_clear(&kps[i]);
        mls_buf_clear(&bundles[i]);
    }
}

static void test_identical_output(void)
{
    mls_buf a, b, c;
    mls_pool *p2 = NULL, *p4 = NULL;
    mls_buf_init(&a);
    mls_buf_init(&b);
    mls_buf_init(&c);
    CHECK_OK(mls_pool_new(2, &p2));
    CHECK_OK(mls_pool_new(4, &p4));
    group_run(NULL, &a);
    group_run(p2, &b);
    group_run(p4, &c);
    CHECK(a.n > 0);
    CHECK(mls_ct_equal(mls_buf_view(&a), mls_buf_view(&b)));
    CHECK(mls_ct_equal(mls_buf_view(&a), mls_buf_view(&c)));
    mls_pool_free(p2);
    mls_pool_free(p4);
    mls_buf_clear(&a);
    mls_buf_clear(&b);
    mls_buf_clear(&c);
}

/* Randomness drawn ahead: each item gets its own bytes, no more. */
static void test_rng_tape(void)
{
    uint64_t st = 7, st2 = 7;
    mls_env env = {.random = det_random, .now = det_now, .ctx = &st};
    mls_env ref = {.random = det_random, .now = det_now, .ctx = &st2};
    mls_rng_tape t;
    mls_rng_item cur;
    mls_env ie;
    uint8_t x[16], y[16];
    CHECK_OK(mls_rng_tape_draw(&env, 3, 16, &t));
    for (size_t i = 0; i < 3; i++) {
        mls_rng_tape_env(&t, i, &env, &cur, &ie);
        CHECK(ie.random(ie.ctx, x, 16) == 0);
        CHECK(ref.random(ref.ctx, y, 16) == 0);
        CHECK(memcmp(x, y, 16) == 0);
        CHECK(ie.random(ie.ctx, x, 1) != 0);
        CHECK(ie.now(ie.ctx) == 1700000000);
    }
    mls_rng_tape_clear(&t);
    mls_rng_tape_clear(&t);
}

int main(void)
{
    mls_pool *p4 = NULL;
    mls_env par;
    test_pool_loops(1);
    test_pool_loops(2);
    test_pool_loops(4);
    test_async_loops(1);
    test_async_loops(2);
    test_async_loops(4);
    test_rng_tape();
    CHECK_OK(mls_pool_new(4, &p4));
    par = *mls_env_default();
    par.parallel_for = mls_pool_parallel_for;
    par.parallel_ctx = p4;
    test_tampered_leaves(&par);
    test_tampered_leaves(mls_env_default_parallel());
    mls_pool_free(p4);
    test_identical_output();
    TEST_MAIN_END("test_executor");
}
