/*
 * Group engine benchmark (make bench-mls): one group size per process.
 *
 *   bench_mls N
 *   bench_mls sig       the signature-verification floor
 *
 * Cipher suite 0x0001.  A creator makes KeyPackages for N+1 other clients,
 * adds N-1 of them in one commit (bulk_add_ms: creating that commit); one
 * added member joins from the Welcome (join_ms); the creator makes an
 * empty commit with a path (update_create_ms), the joined member processes
 * it (update_process_ms); the creator adds one more member (add_create_ms,
 * add_process_ms), removes one (remove_create_ms, remove_process_ms);
 * protect/unprotect of a 100-byte application message (protect_us,
 * unprotect_us).  Cheap operations are repeated and the median reported:
 * a commit is created several times (each discarded but the last) and
 * processed several times from a saved copy of the member's state.
 *
 * The operations the executor speeds up (bulk add, join, update create,
 * remove create) run twice each, interleaved: with no executor and with
 * the library's default pool (mls_env_default_parallel's, one thread per
 * core); the environment is one the benchmark owns, whose parallel_for it
 * switches between the runs.
 *
 * Output: "ROW n v1 ... v10" (sequential), "PAR n bulk join uc rc" (the
 * same operations with the pool) and "SIZES n state_bytes
 * bulk_add_commit welcome update_commit add_commit remove_commit".
 * "bench_mls sig": "SIG verifies_per_s_1_thread verifies_per_s_pool
 * threads", Ed25519 VerifyWithLabel over 100-byte messages: the floor of
 * join, which is one verification per member.
 */
#include "mls/group.h"

#include "crypto.h" /* the signature floor: internal, for this tool only */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const mls_env *env;
static mls_env benv;          /* what the groups use; parallel_for switched */
static const mls_env *pool_env; /* the library's default pool */

static int force_sequential; /* MLS_BENCH_SEQUENTIAL set: for profiling */

static void set_parallel(int on)
{
    on = on && !force_sequential;
    benv.parallel_for = on ? pool_env->parallel_for : NULL;
    benv.parallel_ctx = on ? pool_env->parallel_ctx : NULL;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, int err)
{
    fprintf(stderr, "bench_mls: %s: %s\n", what, mls_errname(err));
    exit(1);
}

#define TRY(what, expr)                                                        \
    do {                                                                       \
        int try_err_ = (expr);                                                 \
        if (try_err_)                                                          \
            die(what, try_err_);                                               \
    } while (0)

typedef struct client {
    mls_identity *id;
    mls_buf kp, bundle;
} client;

static void make_client(client *c, unsigned i)
{
    char name[32];
    int n = snprintf(name, sizeof(name), "client%u", i);
    memset(c, 0, sizeof(*c));
    TRY("identity", mls_identity_generate(env, MLS_SUITE_X25519_AES128GCM_SHA256_ED25519,
                                          mls_bytes_of((const uint8_t *)name, (size_t)n), &c->id));
    TRY("key package", mls_key_package_create(env, c->id, NULL, &c->kp, &c->bundle));
}

/*
 * Times `reps` creations of a commit by `creator` (all discarded but the
 * last, which is returned) and `reps` processings of it by a member
 * restored from `member_state` each time; the member keeps the last
 * processed state.
 */
typedef int (*make_fn)(mls_group *g, void *arg, mls_staged_commit **out);

static mls_staged_commit *time_commit(mls_group *creator, make_fn fn, void *arg, int reps,
                                      mls_group **member, double *create_ms, double *create_par_ms,
                                      double *process_ms)
{
    double tc[16], tcp[16], tp[16], t0;
    mls_staged_commit *sc = NULL;
    mls_buf state;
    mls_process_result r;

    mls_buf_init(&state);
    /* Sequential and pooled creations alternate, so that both see the
     * same machine load; the last (sequential) one is kept. */
    for (int i = 0; i < reps; i++) {
        for (int par = 1; par >= 0; par--) {
            mls_staged_commit_free(sc);
            sc = NULL;
            set_parallel(par);
            t0 = now_ms();
            TRY("commit", fn(creator, arg, &sc));
            (par ? tcp : tc)[i] = now_ms() - t0;
        }
    }
    TRY("serialize", mls_group_serialize(*member, &state));
    for (int i = 0; i < reps; i++) {
        mls_group *m = NULL;
        TRY("deserialize", mls_group_deserialize(&benv, mls_buf_view(&state), &m));
        memset(&r, 0, sizeof(r));
        t0 = now_ms();
        TRY("process", mls_group_process(m, mls_staged_commit_message(sc), &r));
        tp[i] = now_ms() - t0;
        mls_process_result_clear(&r);
        if (i == reps - 1) {
            mls_group_free(*member);
            *member = m;
        } else {
            mls_group_free(m);
        }
    }
    mls_buf_clear(&state);
    *create_ms = median(tc, reps);
    *create_par_ms = median(tcp, reps);
    *process_ms = median(tp, reps);
    return sc;
}

/* Ed25519 VerifyWithLabel per second, on one thread and through the pool. */
typedef struct sig_job {
    const mls_suite *s;
    mls_bytes pk;
    uint8_t (*msgs)[100];
    mls_buf *sigs;
} sig_job;

static int verify_item(void *arg, size_t i)
{
    const sig_job *j = arg;
    return mls_verify_with_label(j->s, j->pk, "LeafNodeTBS", mls_bytes_of(j->msgs[i], 100),
                                 mls_buf_view(&j->sigs[i]));
}

static int sig_floor(void)
{
    enum { N = 2000, ROUNDS = 5 };
    const mls_suite *s = mls_suite_get(MLS_SUITE_X25519_AES128GCM_SHA256_ED25519);
    static uint8_t msgs[N][100];
    static mls_buf sigs[N];
    mls_buf sk, pk;
    double t1[ROUNDS], t2[ROUNDS], t0;
    sig_job j;

    mls_buf_init(&sk);
    mls_buf_init(&pk);
    TRY("keygen", mls_sig_keygen(s, env, &sk, &pk));
    for (int i = 0; i < N; i++) {
        memset(msgs[i], 'm', sizeof(msgs[i]));
        msgs[i][0] = (uint8_t)i;
        msgs[i][1] = (uint8_t)(i >> 8);
        mls_buf_init(&sigs[i]);
        TRY("sign", mls_sign_with_label(s, env, mls_buf_view(&sk), "LeafNodeTBS",
                                        mls_bytes_of(msgs[i], sizeof(msgs[i])), &sigs[i]));
    }
    j.s = s;
    j.pk = mls_buf_view(&pk);
    j.msgs = msgs;
    j.sigs = sigs;
    for (int r = 0; r < ROUNDS; r++) {
        t0 = now_ms();
        for (int i = 0; i < N; i++)
            TRY("verify", verify_item(&j, (size_t)i));
        t1[r] = now_ms() - t0;
        t0 = now_ms();
        TRY("verify", pool_env->parallel_for(pool_env->parallel_ctx, N, verify_item, &j));
        t2[r] = now_ms() - t0;
    }
    printf("SIG %.0f %.0f\n", N / median(t1, ROUNDS) * 1e3, N / median(t2, ROUNDS) * 1e3);
    for (int i = 0; i < N; i++)
        mls_buf_clear(&sigs[i]);
    mls_buf_clear(&sk);
    mls_buf_clear(&pk);
    return 0;
}

static int make_update(mls_group *g, void *arg, mls_staged_commit **out)
{
    (void)arg;
    return mls_group_self_update(g, out);
}

static int make_add(mls_group *g, void *arg, mls_staged_commit **out)
{
    mls_bytes kp = mls_buf_view(&((client *)arg)->kp);
    return mls_group_add_members(g, &kp, 1, out);
}

static int make_remove(mls_group *g, void *arg, mls_staged_commit **out)
{
    return mls_group_remove_members(g, (const uint32_t *)arg, 1, out);
}

int main(int argc, char **argv)
{
    unsigned n;
    client creator, *others;
    mls_group *g = NULL, *member = NULL;
    mls_staged_commit *sc;
    mls_bytes *kps;
    double t0, bulk_ms, bulk_par, join_ms, join_par, uc, ucp, up, ac, acp, apm, rc, rcp, rp,
        pt[101], ut[101];
    size_t bulk_size, welcome_size, update_size, add_size, remove_size;
    mls_buf state, msgs[101];
    uint8_t text[100];
    uint32_t victim;

    env = mls_env_default();
    pool_env = mls_env_default_parallel();
    benv = *env;
    if (!pool_env->parallel_for) {
        fprintf(stderr, "bench_mls: no thread pool\n");
        return 1;
    }
    force_sequential = getenv("MLS_BENCH_SEQUENTIAL") != NULL;
    if (argc > 1 && strcmp(argv[1], "sig") == 0)
        return sig_floor();
    n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 10;
    if (n < 2) {
        fprintf(stderr, "bench_mls: N must be at least 2\n");
        return 2;
    }
    int reps = n <= 100 ? 9 : n <= 1000 ? 5 : 3;
    make_client(&creator, 0);
    others = calloc(n + 1, sizeof(*others));
    kps = calloc(n + 1, sizeof(*kps));
    if (!others || !kps)
        die("memory", MLS_ERR_NOMEM);
    for (unsigned i = 0; i < n + 1; i++) {
        make_client(&others[i], i + 1);
        kps[i] = mls_buf_view(&others[i].kp);
    }
    TRY("create", mls_group_create(&benv, creator.id, mls_bytes_of(NULL, 0), NULL, 0, NULL, &g));

    /* The pooled bulk add is discarded; the sequential one is kept. */
    set_parallel(1);
    t0 = now_ms();
    TRY("bulk add", mls_group_add_members(g, kps, n - 1, &sc));
    bulk_par = now_ms() - t0;
    mls_staged_commit_free(sc);
    set_parallel(0);
    t0 = now_ms();
    TRY("bulk add", mls_group_add_members(g, kps, n - 1, &sc));
    bulk_ms = now_ms() - t0;
    bulk_size = mls_staged_commit_message(sc).n;
    welcome_size = mls_staged_commit_welcome(sc).n;
    TRY("merge", mls_group_merge_staged(g, sc));
    {
        mls_bytes b = mls_buf_view(&others[n / 2].bundle);
        set_parallel(1);
        t0 = now_ms();
        TRY("join", mls_group_join(&benv, others[n / 2].id, mls_staged_commit_welcome(sc), &b, 1,
                                   NULL, NULL, &member));
        join_par = now_ms() - t0;
        mls_group_free(member);
        member = NULL;
        set_parallel(0);
        t0 = now_ms();
        TRY("join", mls_group_join(&benv, others[n / 2].id, mls_staged_commit_welcome(sc), &b, 1,
                                   NULL, NULL, &member));
        join_ms = now_ms() - t0;
    }
    mls_staged_commit_free(sc);

    sc = time_commit(g, make_update, NULL, reps, &member, &uc, &ucp, &up);
    update_size = mls_staged_commit_message(sc).n;
    TRY("merge", mls_group_merge_staged(g, sc));
    mls_staged_commit_free(sc);

    sc = time_commit(g, make_add, &others[n - 1], reps, &member, &ac, &acp, &apm);
    add_size = mls_staged_commit_message(sc).n;
    TRY("merge", mls_group_merge_staged(g, sc));
    mls_staged_commit_free(sc);

    victim = 1;
    if (victim == mls_group_own_leaf(member))
        victim = 2;
    sc = time_commit(g, make_remove, &victim, reps, &member, &rc, &rcp, &rp);
    set_parallel(0);
    remove_size = mls_staged_commit_message(sc).n;
    TRY("merge", mls_group_merge_staged(g, sc));
    mls_staged_commit_free(sc);

    memset(text, 'x', sizeof(text));
    for (int i = 0; i < 101; i++) {
        mls_buf_init(&msgs[i]);
        t0 = now_ms();
        TRY("protect", mls_group_protect(g, mls_bytes_of(NULL, 0),
                                         mls_bytes_of(text, sizeof(text)), &msgs[i]));
        pt[i] = (now_ms() - t0) * 1e3;
    }
    for (int i = 0; i < 101; i++) {
        mls_process_result r;
        memset(&r, 0, sizeof(r));
        t0 = now_ms();
        TRY("unprotect", mls_group_process(member, mls_buf_view(&msgs[i]), &r));
        ut[i] = (now_ms() - t0) * 1e3;
        mls_process_result_clear(&r);
        mls_buf_clear(&msgs[i]);
    }
    mls_buf_init(&state);
    TRY("serialize", mls_group_serialize(g, &state));

    printf("ROW %u %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.1f %.1f\n", n, bulk_ms, join_ms, uc,
           up, ac, apm, rc, rp, median(pt, 101), median(ut, 101));
    printf("PAR %u %.2f %.2f %.2f %.2f %.2f\n", n, bulk_par, join_par, ucp, acp, rcp);
    printf("SIZES %u %zu %zu %zu %zu %zu %zu\n", n, state.n, bulk_size, welcome_size,
           update_size, add_size, remove_size);

    mls_buf_clear(&state);
    mls_group_free(g);
    mls_group_free(member);
    for (unsigned i = 0; i < n + 1; i++) {
        mls_identity_free(others[i].id);
        mls_buf_clear(&others[i].kp);
        mls_buf_clear(&others[i].bundle);
    }
    mls_identity_free(creator.id);
    mls_buf_clear(&creator.kp);
    mls_buf_clear(&creator.bundle);
    free(others);
    free(kps);
    return 0;
}
