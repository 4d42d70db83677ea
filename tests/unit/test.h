/* Minimal unit-test helpers: every check prints where it failed and the
 * test exits non-zero at the end if any failed. */
#ifndef MLS_TEST_H
#define MLS_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mls/mls.h"
#include "test_env.h"

static int test_failures;
static int test_checks;

#define CHECK(cond)                                                            \
    do {                                                                       \
        test_checks++;                                                         \
        if (!(cond)) {                                                         \
            test_failures++;                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
        }                                                                      \
    } while (0)

#define CHECK_OK(expr)                                                         \
    do {                                                                       \
        int check_ok_rc_ = (expr);                                             \
        test_checks++;                                                         \
        if (check_ok_rc_ != 0) {                                               \
            test_failures++;                                                   \
            fprintf(stderr, "%s:%d: %s returned %d (%s)\n", __FILE__,          \
                    __LINE__, #expr, check_ok_rc_, mls_errname(check_ok_rc_)); \
        }                                                                      \
    } while (0)

#define CHECK_ERR(expr, want)                                                  \
    do {                                                                       \
        int check_err_rc_ = (expr);                                            \
        test_checks++;                                                         \
        if (check_err_rc_ != (want)) {                                         \
            test_failures++;                                                   \
            fprintf(stderr, "%s:%d: %s returned %s, want %s\n", __FILE__,      \
                    __LINE__, #expr, mls_errname(check_err_rc_),               \
                    mls_errname(want));                                        \
        }                                                                      \
    } while (0)

#define TEST_MAIN_END(name)                                                    \
    do {                                                                       \
        printf("%s: %d checks, %d failed\n", name, test_checks,                \
               test_failures);                                                 \
        return test_failures ? 1 : 0;                                          \
    } while (0)

/* Decodes a hex string into a freshly malloc'd buffer; returns length. */
static inline size_t test_unhex(const char *hex, unsigned char **out)
{
    size_t n = strlen(hex) / 2;
    unsigned char *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        p[i] = (unsigned char)v;
    }
    *out = p;
    return n;
}

/* Decodes hex into out (at most cap bytes); returns the length. */
static inline size_t test_unhex_to(const char *hex, uint8_t *out, size_t cap)
{
    unsigned char *p;
    size_t n = test_unhex(hex, &p);
    if (n > cap)
        n = cap;
    memcpy(out, p, n);
    free(p);
    return n;
}

/* Decodes hex into an owned buffer (aborts when out of memory). */
static inline mls_buf test_hexbuf(const char *hex)
{
    unsigned char *p;
    size_t n = test_unhex(hex, &p);
    mls_buf b;
    mls_buf_init(&b);
    if (mls_buf_append(&b, p, n))
        abort();
    free(p);
    return b;
}

/* 1 if got holds exactly the bytes the hex string spells. */
static inline int test_eq_hex(mls_bytes got, const char *hex)
{
    mls_buf want = test_hexbuf(hex);
    int ok = got.n == want.n && (got.n == 0 || memcmp(got.p, want.p, got.n) == 0);
    mls_buf_clear(&want);
    return ok;
}

static inline int test_same(const uint8_t *a, const uint8_t *b, size_t n)
{
    return memcmp(a, b, n) == 0;
}

/* mls_env callbacks: a random source that always fails, a clock at 0. */
static inline int test_failing_random(void *ctx, uint8_t *out, size_t n)
{
    (void)ctx;
    (void)out;
    (void)n;
    return -1;
}

static inline uint64_t test_no_time(void *ctx)
{
    (void)ctx;
    return 0;
}

#endif
