/* Token buckets. */
#include "ratelimit.h"

#include <time.h>

int64_t srv_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int srv_bucket_take(srv_bucket *b, double rate, double burst, int64_t now_us)
{
    if (b->last_us == 0) {
        b->tokens = burst;
        b->last_us = now_us;
    }
    b->tokens += (double)(now_us - b->last_us) / 1e6 * rate;
    if (b->tokens > burst)
        b->tokens = burst;
    b->last_us = now_us;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    /* Whole seconds until the next token, rounded up. */
    double secs = (1.0 - b->tokens) / rate;
    int wait = (int)secs;
    if (wait < secs)
        wait++;
    return wait < 1 ? 1 : wait;
}
