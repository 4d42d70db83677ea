/*
 * The environment tests run the library with.  MLS_TEST_THREADS=N (N >= 1)
 * in the process environment gives it a pool of N threads as executor, so
 * that every unit test and vector runs its parallel parts through the pool
 * (results must not change: the library draws randomness before parallel
 * parts and reports the lowest failing item).  Unset: the sequential
 * default.  Included by test.h and the vector runner's vec.h, which map
 * mls_env_default() to this.
 */
#ifndef MLS_TEST_ENV_H
#define MLS_TEST_ENV_H

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>

#include "mls/mls.h"

static mls_pool *test_env_pool_;

static void test_env_free_(void)
{
    mls_pool_free(test_env_pool_);
    test_env_pool_ = NULL;
}

__attribute__((unused)) static const mls_env *test_env(void)
{
    static mls_env env;
    static int ready;
    const char *v;
    if (ready)
        return &env;
    /* The parenthesized name calls the library function, not the macro. */
    env = *(mls_env_default)();
    v = getenv("MLS_TEST_THREADS");
    if (v && *v) {
        unsigned long n = strtoul(v, NULL, 10);
        if (n < 1 || n > 64 || mls_pool_new((unsigned)n, &test_env_pool_) != 0) {
            fprintf(stderr, "MLS_TEST_THREADS=%s: cannot make the pool\n", v);
            exit(2);
        }
        /* Freed when OpenSSL cleans up at exit, before it tears down its
         * per-thread state (OPENSSL_atexit handlers run first), so the
         * workers free theirs; a plain atexit handler may run after. */
        if (!OPENSSL_atexit(test_env_free_))
            atexit(test_env_free_);
        env.parallel_for = mls_pool_parallel_for;
        env.parallel_ctx = test_env_pool_;
    }
    ready = 1;
    return &env;
}

#define mls_env_default() test_env()

#endif
