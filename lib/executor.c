/*
 * Executors for data-parallel loops (see executor.h and the env section of
 * include/mls/mls.h): the sequential one, the pthread pool the library
 * ships, and the pre-drawn randomness that keeps results independent of
 * either.
 */
#include "executor.h"

#include "detail.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- loops */

static int run_sequential(size_t n, int (*fn)(void *arg, size_t i), void *arg)
{
    for (size_t i = 0; i < n; i++) {
        int err = fn(arg, i);
        if (err)
            return err;
    }
    return MLS_OK;
}

/* An item run through an executor, with the error detail it records
 * (lib/detail.h, per thread) kept per item: the caller's thread then
 * shows the detail of the lowest failing item, as after a sequential
 * loop. */
typedef struct detail_wrap {
    int (*fn)(void *arg, size_t i);
    void *arg;
    int *errs;
    const char **where, **rule;
} detail_wrap;

static int run_wrapped(void *vp, size_t i)
{
    detail_wrap *w = vp;
    int err;
    mls_detail_set(NULL, NULL);
    err = w->fn(w->arg, i);
    w->errs[i] = err;
    if (err)
        mls_detail_get(&w->where[i], &w->rule[i]);
    return err;
}

int mls_exec_for(const mls_env *env, size_t n, int (*fn)(void *arg, size_t i), void *arg)
{
    detail_wrap w;
    const char *where0, *rule0;
    int err;
    if (!fn)
        return MLS_ERR_ARG;
    if (!env || !env->parallel_for || n < 2)
        return run_sequential(n, fn, arg);
    memset(&w, 0, sizeof(w));
    w.fn = fn;
    w.arg = arg;
    w.errs = calloc(n, sizeof(*w.errs));
    w.where = calloc(n, sizeof(*w.where));
    w.rule = calloc(n, sizeof(*w.rule));
    if (!w.errs || !w.where || !w.rule) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    mls_detail_get(&where0, &rule0);
    err = env->parallel_for(env->parallel_ctx, n, run_wrapped, &w);
    /* The detail a sequential loop leaves: that of the first failing
     * item, or the one from before if that item recorded none. */
    mls_detail_set(where0, rule0);
    for (size_t i = 0; err && i < n; i++)
        if (w.errs[i]) {
            if (w.rule[i])
                mls_detail_set(w.where[i], w.rule[i]);
            break;
        }
out:
    free(w.errs);
    free(w.where);
    free(w.rule);
    return err;
}

/* ---------------------------------------------------------------- randomness */

int mls_rng_tape_draw(const mls_env *env, size_t n, size_t per_item, mls_rng_tape *t)
{
    memset(t, 0, sizeof(*t));
    if (!env || !env->random)
        return MLS_ERR_ARG;
    if (n == 0 || per_item == 0)
        return MLS_OK;
    if (n > SIZE_MAX / per_item)
        return MLS_ERR_NOMEM;
    t->bytes = malloc(n * per_item);
    if (!t->bytes)
        return MLS_ERR_NOMEM;
    t->per_item = per_item;
    t->n = n;
    /* One call per item, in item order: the same calls, with the same
     * sizes, that a sequential loop makes. */
    for (size_t i = 0; i < n; i++)
        if (env->random(env->ctx, t->bytes + i * per_item, per_item) != 0) {
            mls_rng_tape_clear(t);
            return MLS_ERR_RANDOM;
        }
    return MLS_OK;
}

static int tape_random(void *ctx, uint8_t *out, size_t n)
{
    mls_rng_item *c = ctx;
    if (n > c->left)
        return 1;
    memcpy(out, c->p, n);
    mls_wipe((void *)(uintptr_t)c->p, n);
    c->p += n;
    c->left -= n;
    return 0;
}

static uint64_t tape_now(void *ctx)
{
    const mls_rng_item *c = ctx;
    return c->parent && c->parent->now ? c->parent->now(c->parent->ctx) : 0;
}

void mls_rng_tape_env(const mls_rng_tape *t, size_t i, const mls_env *parent,
                      mls_rng_item *cursor, mls_env *out)
{
    memset(out, 0, sizeof(*out));
    cursor->p = i < t->n ? t->bytes + i * t->per_item : NULL;
    cursor->left = i < t->n ? t->per_item : 0;
    cursor->parent = parent;
    out->random = tape_random;
    out->now = tape_now;
    out->ctx = cursor;
    /* Items run no nested parallel loops of their own: sequential. */
}

void mls_rng_tape_clear(mls_rng_tape *t)
{
    if (!t)
        return;
    if (t->bytes)
        mls_wipe(t->bytes, t->n * t->per_item);
    free(t->bytes);
    memset(t, 0, sizeof(*t));
}

/* ---------------------------------------------------------------- the pool */

/*
 * A fixed set of worker threads and one loop at a time: the caller of
 * mls_pool_parallel_for works on items too, so a pool of `threads` runs
 * that many items at once with threads - 1 workers.  Items are handed out
 * one by one under the lock (an item is a public-key operation, tens of
 * microseconds or more, so the lock is not the bottleneck).  Once an item
 * fails, items above it are skipped (they cannot change the result), items
 * below it still run (one of them may fail at a lower index).  A second
 * loop started while one runs (another thread, or an item's own nested
 * loop) runs sequentially in its caller instead of waiting.  A loop in
 * the background (mls_exec_async_*, below) holds the pool the same way
 * from its begin to its end.
 */
struct mls_pool {
    pthread_mutex_t lock;
    pthread_cond_t work;
    pthread_cond_t done;
    pthread_t *workers;
    unsigned n_workers;
    int stop;
    int busy;
    int cancel; /* the current loop's items not yet started are skipped */
    /* the current loop */
    int (*fn)(void *arg, size_t i);
    void *arg;
    size_t n, next, finished, fail_i;
    int fail_err;
};

/* Takes and runs items of the current loop until none is left; called
 * and returns with the lock held. */
static void pool_work(mls_pool *p)
{
    while (p->next < p->n) {
        size_t i = p->next++;
        int (*fn)(void *, size_t) = p->fn;
        void *arg = p->arg;
        int skip = i > p->fail_i || p->cancel;
        int err = 0;
        pthread_mutex_unlock(&p->lock);
        if (!skip)
            err = fn(arg, i);
        pthread_mutex_lock(&p->lock);
        if (err && i < p->fail_i) {
            p->fail_i = i;
            p->fail_err = err;
        }
        if (++p->finished == p->n)
            pthread_cond_broadcast(&p->done);
    }
}

static void *pool_worker(void *vp)
{
    mls_pool *p = vp;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->next >= p->n)
            pthread_cond_wait(&p->work, &p->lock);
        if (p->stop)
            break;
        pool_work(p);
    }
    pthread_mutex_unlock(&p->lock);
    /* OpenSSL's per-thread state (its error queue, set up by the first
     * call that marks it) is freed here, on the thread that made it; the
     * thread-exit hook OpenSSL relies on otherwise does not run for
     * threads joined from an atexit handler. */
    OPENSSL_thread_stop();
    return NULL;
}

static unsigned core_count(void)
{
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c < 1 ? 1u : c > 256 ? 256u : (unsigned)c;
}

int mls_pool_new(unsigned threads, mls_pool **out)
{
    mls_pool *p;
    int err = MLS_OK;
    if (!out)
        return MLS_ERR_ARG;
    if (threads == 0)
        threads = core_count();
    if (threads > 256)
        return MLS_ERR_ARG;
    p = calloc(1, sizeof(*p));
    if (!p)
        return MLS_ERR_NOMEM;
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p);
        return MLS_ERR_NOMEM;
    }
    if (pthread_cond_init(&p->work, NULL) != 0) {
        pthread_mutex_destroy(&p->lock);
        free(p);
        return MLS_ERR_NOMEM;
    }
    if (pthread_cond_init(&p->done, NULL) != 0) {
        pthread_cond_destroy(&p->work);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return MLS_ERR_NOMEM;
    }
    if (threads > 1) {
        p->workers = calloc(threads - 1, sizeof(*p->workers));
        if (!p->workers)
            err = MLS_ERR_NOMEM;
        for (unsigned i = 0; !err && i < threads - 1; i++) {
            if (pthread_create(&p->workers[i], NULL, pool_worker, p) != 0)
                err = MLS_ERR_NOMEM;
            else
                p->n_workers++;
        }
    }
    if (err) {
        mls_pool_free(p);
        return err;
    }
    *out = p;
    return MLS_OK;
}

void mls_pool_free(mls_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->n_workers; i++)
        pthread_join(p->workers[i], NULL);
    free(p->workers);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* Under p->lock, with the pool free: it takes the loop fn(arg, i) for
 * the items [0, n) (n may grow, mls_exec_async_add). */
static void pool_take(mls_pool *p, int (*fn)(void *arg, size_t i), void *arg, size_t n)
{
    p->busy = 1;
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->next = 0;
    p->finished = 0;
    p->fail_i = SIZE_MAX;
    p->fail_err = MLS_OK;
    p->cancel = 0;
}

/* Under p->lock: the caller runs items too until none is left, waits for
 * the workers' last ones, frees the pool and returns the loop's error. */
static int pool_finish(mls_pool *p)
{
    pool_work(p);
    while (p->finished < p->n)
        pthread_cond_wait(&p->done, &p->lock);
    int err = p->fail_err;
    p->fn = NULL;
    p->arg = NULL;
    p->n = p->next = p->finished = 0;
    p->cancel = 0;
    p->busy = 0;
    return err;
}

int mls_pool_parallel_for(void *pool, size_t n, int (*fn)(void *arg, size_t i), void *arg)
{
    mls_pool *p = pool;
    int err;
    if (!fn)
        return MLS_ERR_ARG;
    if (!p || p->n_workers == 0 || n < 2)
        return run_sequential(n, fn, arg);
    pthread_mutex_lock(&p->lock);
    if (p->busy) {
        pthread_mutex_unlock(&p->lock);
        return run_sequential(n, fn, arg);
    }
    pool_take(p, fn, arg, n);
    pthread_cond_broadcast(&p->work);
    err = pool_finish(p);
    pthread_mutex_unlock(&p->lock);
    return err;
}

/* ---------------------------------------------------------------- in the background */

/* The pool's loop with an open end: workers take items as they are
 * added (pool_worker wakes on `work`); the caller takes none until the
 * end, where it runs what is left and waits for the rest. */
static int pool_async_begin(mls_pool *p, int (*fn)(void *arg, size_t i), void *arg)
{
    int ok = 0;
    pthread_mutex_lock(&p->lock);
    if (!p->busy && p->n_workers > 0) {
        pool_take(p, fn, arg, 0);
        ok = 1;
    }
    pthread_mutex_unlock(&p->lock);
    return ok;
}

static void pool_async_add(mls_pool *p, size_t n)
{
    pthread_mutex_lock(&p->lock);
    if (n > p->n) {
        p->n = n;
        pthread_cond_broadcast(&p->work);
    }
    pthread_mutex_unlock(&p->lock);
}

static int pool_async_end(mls_pool *p, int cancel)
{
    int err;
    pthread_mutex_lock(&p->lock);
    if (cancel)
        p->cancel = 1;
    err = pool_finish(p);
    pthread_mutex_unlock(&p->lock);
    return err;
}

void mls_exec_async_begin(const mls_env *env, int (*fn)(void *arg, size_t i), void *arg,
                          mls_exec_async *a)
{
    memset(a, 0, sizeof(*a));
    a->env = env;
    a->fn = fn;
    a->arg = arg;
    a->open = 1;
    /* Only our own pool can take items without its caller waiting for
     * them; the executor interface of mls_env is a blocking loop. */
    if (env && env->parallel_for == mls_pool_parallel_for && env->parallel_ctx &&
        pool_async_begin(env->parallel_ctx, fn, arg))
        a->pool = env->parallel_ctx;
}

void mls_exec_async_add(mls_exec_async *a, size_t n)
{
    if (!a->open || n <= a->n)
        return;
    a->n = n;
    if (a->pool)
        pool_async_add(a->pool, n);
}

int mls_exec_async_wait(mls_exec_async *a)
{
    int err;
    if (!a->open)
        return MLS_ERR_ARG;
    a->open = 0;
    if (a->pool)
        err = pool_async_end(a->pool, 0);
    else
        err = mls_exec_for(a->env, a->n, a->fn, a->arg);
    a->pool = NULL;
    return err;
}

void mls_exec_async_cancel(mls_exec_async *a)
{
    if (!a->open)
        return;
    a->open = 0;
    if (a->pool)
        (void)pool_async_end(a->pool, 1);
    a->pool = NULL;
}

/* ---------------------------------------------------------------- the default */

static mls_pool *default_pool;
static mls_env default_parallel_env;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void default_pool_free(void)
{
    mls_pool_free(default_pool);
    default_pool = NULL;
}

static void default_pool_init(void)
{
    /* Seed OpenSSL's DRBG here, on one thread, before any worker uses
     * it (thread-safe on its own; this keeps first-use set-up off the
     * parallel path).  The suites' algorithms are fetched under
     * CRYPTO_THREAD_run_once on first use. */
    uint8_t b[1];
    (void)!RAND_bytes(b, 1);
    if (mls_pool_new(0, &default_pool) != 0) {
        default_pool = NULL;
        return;
    }
    default_parallel_env = *mls_env_default();
    default_parallel_env.parallel_for = mls_pool_parallel_for;
    default_parallel_env.parallel_ctx = default_pool;
    /* Freed when OpenSSL cleans up (its handlers run before it tears
     * down the per-thread state the workers free on their way out). */
    if (!OPENSSL_atexit(default_pool_free))
        atexit(default_pool_free);
}

const mls_env *mls_env_default_parallel(void)
{
    /* Without a pool (thread creation failed) the sequential default. */
    if (pthread_once(&default_once, default_pool_init) != 0 || !default_pool)
        return mls_env_default();
    return &default_parallel_env;
}
