/* Unit tests for src/server/ratelimit.c: token buckets. */
#include "ratelimit.h"

#include <stdio.h>
#include "mls/mls.h"
#include "test.h"

#define SEC 1000000LL

static void test_burst_and_refill(void)
{
    srv_bucket b = {0, 0};
    int64_t t = 100 * SEC;
    /* A fresh bucket holds the whole burst. */
    for (int i = 0; i < 10; i++)
        CHECK(srv_bucket_take(&b, 5, 10, t) == 0);
    CHECK(srv_bucket_take(&b, 5, 10, t) == 1);
    /* Refill at 5 per second: after 1 s, five more. */
    t += SEC;
    for (int i = 0; i < 5; i++)
        CHECK(srv_bucket_take(&b, 5, 10, t) == 0);
    CHECK(srv_bucket_take(&b, 5, 10, t) >= 1);
    /* A refused take costs nothing; a fifth of a second buys one. */
    t += SEC / 5 + 1;
    CHECK(srv_bucket_take(&b, 5, 10, t) == 0);
    CHECK(srv_bucket_take(&b, 5, 10, t) >= 1);
}

static void test_cap_and_wait(void)
{
    srv_bucket b = {0, 0};
    int64_t t = 5 * SEC;
    CHECK(srv_bucket_take(&b, 1, 3, t) == 0);
    /* A long idle period fills up to the burst, not beyond. */
    t += 3600 * SEC;
    for (int i = 0; i < 3; i++)
        CHECK(srv_bucket_take(&b, 1, 3, t) == 0);
    CHECK(srv_bucket_take(&b, 1, 3, t) == 1);
    /* Slow rates: the wait is the time to the next token, in whole
     * seconds, rounded up (30 per minute: 2 s). */
    srv_bucket c = {0, 0};
    CHECK(srv_bucket_take(&c, 0.5, 1, t) == 0);
    CHECK(srv_bucket_take(&c, 0.5, 1, t) == 2);
    CHECK(srv_bucket_take(&c, 0.5, 1, t + SEC / 2) == 2);
    CHECK(srv_bucket_take(&c, 0.5, 1, t + SEC) == 1);
    CHECK(srv_bucket_take(&c, 0.5, 1, t + 2 * SEC) == 0);
    srv_bucket d = {0, 0};
    CHECK(srv_bucket_take(&d, 1.0 / 60, 1, t) == 0);
    CHECK(srv_bucket_take(&d, 1.0 / 60, 1, t) == 60);
}

/* Several tokens at once (invitations): all or none. */
static void test_take_n(void)
{
    srv_bucket b = {0, 0};
    int64_t t = 7 * SEC;
    CHECK(srv_bucket_take_n(&b, 30, 1, 40, t) == 0);
    CHECK(srv_bucket_take_n(&b, 11, 1, 40, t) == 1);
    CHECK(srv_bucket_take_n(&b, 20, 1, 40, t) == 10);
    CHECK(srv_bucket_take_n(&b, 10, 1, 40, t) == 0);
    CHECK(srv_bucket_take_n(&b, 41, 1, 40, t) == -1);
    CHECK(srv_bucket_take_n(&b, 2, 1, 40, t + 2 * SEC) == 0);
}

static void test_map(void)
{
    srv_bucket_map m = {NULL, 0, 0};
    int64_t t = 9 * SEC;
    char key[16];
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "10.0.0.%d", i);
        srv_bucket *b = srv_bucket_map_get(&m, key);
        CHECK(b != NULL && srv_bucket_take(b, 1, 2, t + i * SEC) == 0);
    }
    CHECK(m.n == 40);
    /* The same key finds the same bucket. */
    srv_bucket *b = srv_bucket_map_get(&m, "10.0.0.3");
    CHECK(b != NULL && srv_bucket_take(b, 1, 2, t + 3 * SEC) == 0);
    CHECK(srv_bucket_take(b, 1, 2, t + 3 * SEC) == 1);
    CHECK(m.n == 40);
    /* Idle ones go; busy ones stay. */
    srv_bucket_map_sweep(&m, t + 40 * SEC, 10 * SEC);
    CHECK(m.n == 9);
    srv_bucket_map_clear(&m);
    CHECK(m.n == 0 && m.items == NULL);
    srv_bucket_map_clear(&m);
}

static void test_clock(void)
{
    int64_t a = srv_now_us();
    int64_t b = srv_now_us();
    CHECK(a > 0 && b >= a);
}

int main(void)
{
    test_burst_and_refill();
    test_cap_and_wait();
    test_take_n();
    test_map();
    test_clock();
    TEST_MAIN_END("test_server_ratelimit");
}
