/*
 * Group engine benchmark (make bench-mls): one group size per process.
 *
 *   bench_mls [--suite 0xNNNN] [--full] N
 *   bench_mls [--suite 0xNNNN] sig       the signature-verification floor
 *
 * Two scenarios, each with one cipher suite (default 0x0001):
 *
 * basic: a creator makes KeyPackages for N+1 other clients and adds N-1 of
 * them in one commit (bulk_add); one added member joins from the Welcome
 * (join); the creator makes an empty commit with a path (update_create),
 * the joined member processes it (update_process); the creator adds one
 * more member (add_create, add_process), removes one (remove_create,
 * remove_process); protect/unprotect of a 100-byte application message.
 * After the bulk add the tree has no parent nodes but the creator's, and
 * every added leaf is unmerged there: a path is encrypted to each member.
 *
 * full: the same group, then every odd leaf (and the last one) commits a
 * path, so that every parent node holds a key and no leaf is unmerged,
 * as in a group whose members have all updated.  The joined member commits
 * its own update; the others rejoin by an external commit that removes
 * their old leaf (RFC 9420 §12.4.3.2), which lands on the same leaf and
 * fills its direct path.  Then update, add (with the join of the added
 * member from its Welcome: join on a full tree, whose parent hashes are
 * all checked), remove, protect and unprotect as above.  A path is now
 * encrypted to log2(N) nodes.
 *
 * Every operation is repeated and its median, minimum and maximum
 * reported (9 repetitions up to N = 100, 5 at 1,000, 3 above; 101 for
 * protect/unprotect); creations are discarded but the last, processings
 * restart from a saved copy of the member's state.  The operations the
 * executor speeds up run twice per repetition, interleaved so that both
 * see the same machine load: with no executor (mode seq) and with the
 * library's default pool (mode pool, one thread per core).
 *
 * Output, one line per figure:
 *   OP scenario operation n mode median_ms min_ms max_ms repetitions
 *   SIZE scenario what n bytes
 *   FILL n seconds          (full: building the full tree)
 *   SIG verifies_per_s_1_thread verifies_per_s_pool
 * "sig" is Ed25519 (or the suite's) VerifyWithLabel over 100-byte
 * messages: the floor of join, which is one verification per member.
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
static uint16_t suite = MLS_SUITE_X25519_AES128GCM_SHA256_ED25519;
static const char *scenario = "basic";

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

/* One figure: its median and spread over the repetitions in v. */
static void report(const char *op, unsigned n, const char *mode, double *v, int reps)
{
    double m = median(v, reps); /* sorts v */
    printf("OP %s %s %u %s %.4f %.4f %.4f %d\n", scenario, op, n, mode, m, v[0], v[reps - 1], reps);
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
    TRY("identity", mls_identity_generate(env, suite, mls_bytes_of((const uint8_t *)name, (size_t)n),
                                          &c->id));
    TRY("key package", mls_key_package_create(env, c->id, NULL, &c->kp, &c->bundle));
}

#define MAX_REPS 9

/*
 * Times `reps` creations of a commit by `creator` (all discarded but the
 * last, which is returned), sequential and pooled alternately, and `reps`
 * processings of it by a member restored from its state each time; the
 * member keeps the last processed state.  Reports op_create (seq, pool)
 * and op_process.
 */
typedef int (*make_fn)(mls_group *g, void *arg, mls_staged_commit **out);

static mls_staged_commit *time_commit(const char *op, unsigned n, mls_group *creator, make_fn fn,
                                      void *arg, int reps, mls_group **member)
{
    double tc[MAX_REPS], tcp[MAX_REPS], tp[MAX_REPS], t0;
    char name[64];
    mls_staged_commit *sc = NULL;
    mls_buf state;
    mls_process_result r;

    mls_buf_init(&state);
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
    snprintf(name, sizeof(name), "%s_create", op);
    report(name, n, "seq", tc, reps);
    report(name, n, "pool", tcp, reps);
    snprintf(name, sizeof(name), "%s_process", op);
    report(name, n, "seq", tp, reps);
    return sc;
}

/* `reps` joins from welcome, sequential and pooled alternately; returns
 * the last (sequential) group. */
static mls_group *time_join(unsigned n, const client *c, mls_bytes welcome, int reps)
{
    double ts[MAX_REPS], tpl[MAX_REPS], t0;
    mls_bytes b = mls_buf_view(&c->bundle);
    mls_group *m = NULL;

    for (int i = 0; i < reps; i++) {
        for (int par = 1; par >= 0; par--) {
            mls_group_free(m);
            m = NULL;
            set_parallel(par);
            t0 = now_ms();
            TRY("join", mls_group_join(&benv, c->id, welcome, &b, 1, NULL, NULL, &m));
            (par ? tpl : ts)[i] = now_ms() - t0;
        }
    }
    report("join", n, "seq", ts, reps);
    report("join", n, "pool", tpl, reps);
    return m;
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
    const mls_suite *s = mls_suite_get(suite);
    static uint8_t msgs[N][100];
    static mls_buf sigs[N];
    mls_buf sk, pk;
    double t1[ROUNDS], t2[ROUNDS], t0;
    sig_job j;

    if (!s)
        die("suite", MLS_ERR_UNSUPPORTED);
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

static void process_commit(mls_group *g, mls_bytes msg)
{
    mls_process_result r;
    memset(&r, 0, sizeof(r));
    TRY("process", mls_group_process(g, msg, &r));
    mls_process_result_clear(&r);
}

/*
 * full scenario: every odd leaf and the last one commit a path.  Leaf i
 * (i >= 1) is others[i - 1]; the member (joined) holds leaf mleaf.  Both
 * the creator and the member process every commit.
 */
static void fill_tree(unsigned n, client *others, mls_group *g, mls_group *member)
{
    uint32_t mleaf = mls_group_own_leaf(member);
    double t0 = now_ms();
    mls_buf gi, commit;

    mls_buf_init(&gi);
    mls_buf_init(&commit);
    set_parallel(1);
    for (uint32_t leaf = 1; leaf < n; leaf++) {
        if (leaf % 2 == 0 && leaf != n - 1)
            continue;
        if (leaf == mleaf) {
            mls_staged_commit *sc;
            TRY("update", mls_group_self_update(member, &sc));
            process_commit(g, mls_staged_commit_message(sc));
            TRY("merge", mls_group_merge_staged(member, sc));
            mls_staged_commit_free(sc);
            continue;
        }
        mls_external_join_options opt;
        mls_group *x = NULL;
        memset(&opt, 0, sizeof(opt));
        opt.remove_old_leaf = 1;
        opt.old_leaf = leaf;
        mls_buf_clear(&gi);
        TRY("group info", mls_group_group_info(g, 1, &gi));
        mls_buf_clear(&commit);
        TRY("external join", mls_group_external_join(&benv, others[leaf - 1].id,
                                                     mls_buf_view(&gi), &opt, &commit, &x));
        if (mls_group_own_leaf(x) != leaf)
            die("external join landed elsewhere", MLS_ERR_INVALID);
        mls_group_free(x);
        process_commit(g, mls_buf_view(&commit));
        process_commit(member, mls_buf_view(&commit));
    }
    set_parallel(0);
    mls_buf_clear(&gi);
    mls_buf_clear(&commit);
    printf("FILL %u %.2f\n", n, (now_ms() - t0) / 1e3);
}

static void size_line(const char *what, unsigned n, size_t bytes)
{
    printf("SIZE %s %s %u %zu\n", scenario, what, n, bytes);
}

int main(int argc, char **argv)
{
    unsigned n;
    int full = 0, argi = 1;
    client creator, *others;
    mls_group *g = NULL, *member = NULL, *added = NULL;
    mls_staged_commit *sc;
    mls_bytes *kps;
    double t0, bt[MAX_REPS], btp[MAX_REPS], pt[101], ut[101];
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
    for (; argi < argc && strncmp(argv[argi], "--", 2) == 0; argi++) {
        if (strcmp(argv[argi], "--full") == 0) {
            full = 1;
            scenario = "full";
        } else if (strcmp(argv[argi], "--suite") == 0 && argi + 1 < argc) {
            suite = (uint16_t)strtoul(argv[++argi], NULL, 0);
        } else {
            fprintf(stderr, "usage: bench_mls [--suite 0xNNNN] [--full] N | sig\n");
            return 2;
        }
    }
    if (!mls_suite_get(suite)) {
        fprintf(stderr, "bench_mls: suite 0x%04x not supported\n", suite);
        return 2;
    }
    if (argi < argc && strcmp(argv[argi], "sig") == 0)
        return sig_floor();
    n = argi < argc ? (unsigned)strtoul(argv[argi], NULL, 10) : 10;
    if (n < 3) {
        fprintf(stderr, "bench_mls: N must be at least 3\n");
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

    /* Bulk add: in the full scenario only the set-up, done once. */
    sc = NULL;
    for (int i = 0; i < (full ? 1 : reps); i++) {
        for (int par = full ? 0 : 1; par >= 0; par--) {
            mls_staged_commit_free(sc);
            sc = NULL;
            set_parallel(par);
            t0 = now_ms();
            TRY("bulk add", mls_group_add_members(g, kps, n - 1, &sc));
            (par ? btp : bt)[i] = now_ms() - t0;
        }
    }
    if (!full) {
        report("bulk_add", n, "seq", bt, reps);
        report("bulk_add", n, "pool", btp, reps);
        size_line("bulk_add_commit", n, mls_staged_commit_message(sc).n);
        size_line("bulk_add_welcome", n, mls_staged_commit_welcome(sc).n);
    }
    TRY("merge", mls_group_merge_staged(g, sc));
    /* Leaf n/2 + 1 joins (others[n / 2]). */
    if (full) {
        mls_bytes b = mls_buf_view(&others[n / 2].bundle);
        set_parallel(1);
        TRY("join", mls_group_join(&benv, others[n / 2].id, mls_staged_commit_welcome(sc), &b, 1,
                                   NULL, NULL, &member));
        set_parallel(0);
    } else {
        member = time_join(n, &others[n / 2], mls_staged_commit_welcome(sc), reps);
    }
    mls_staged_commit_free(sc);
    if (full)
        fill_tree(n, others, g, member);

    sc = time_commit("update", n, g, make_update, NULL, reps, &member);
    size_line("update_commit", n, mls_staged_commit_message(sc).n);
    TRY("merge", mls_group_merge_staged(g, sc));
    mls_staged_commit_free(sc);

    sc = time_commit("add", n, g, make_add, &others[n], reps, &member);
    size_line("add_commit", n, mls_staged_commit_message(sc).n);
    TRY("merge", mls_group_merge_staged(g, sc));
    if (full) /* the join of a member into a full tree */
        added = time_join(n, &others[n], mls_staged_commit_welcome(sc), reps);
    mls_staged_commit_free(sc);

    victim = 1;
    if (victim == mls_group_own_leaf(member))
        victim = 2;
    sc = time_commit("remove", n, g, make_remove, &victim, reps, &member);
    set_parallel(0);
    size_line("remove_commit", n, mls_staged_commit_message(sc).n);
    TRY("merge", mls_group_merge_staged(g, sc));
    mls_staged_commit_free(sc);

    memset(text, 'x', sizeof(text));
    for (int i = 0; i < 101; i++) {
        mls_buf_init(&msgs[i]);
        t0 = now_ms();
        TRY("protect", mls_group_protect(g, mls_bytes_of(NULL, 0),
                                         mls_bytes_of(text, sizeof(text)), &msgs[i]));
        pt[i] = now_ms() - t0;
    }
    for (int i = 0; i < 101; i++) {
        mls_process_result r;
        memset(&r, 0, sizeof(r));
        t0 = now_ms();
        TRY("unprotect", mls_group_process(member, mls_buf_view(&msgs[i]), &r));
        ut[i] = now_ms() - t0;
        mls_process_result_clear(&r);
        mls_buf_clear(&msgs[i]);
    }
    report("protect", n, "seq", pt, 101);
    report("unprotect", n, "seq", ut, 101);
    mls_buf_init(&state);
    TRY("serialize", mls_group_serialize(g, &state));
    size_line("state", n, state.n);

    mls_buf_clear(&state);
    mls_group_free(g);
    mls_group_free(member);
    mls_group_free(added);
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
