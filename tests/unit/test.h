/* Minimal unit-test helpers: every check prints where it failed and the
 * test exits non-zero at the end if any failed. */
#ifndef MLS_TEST_H
#define MLS_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#endif
