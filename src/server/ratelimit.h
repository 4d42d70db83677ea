/* Token buckets for request rate limits. */
#ifndef SRV_RATELIMIT_H
#define SRV_RATELIMIT_H

#include <stdint.h>

typedef struct srv_bucket {
    double tokens;
    int64_t last_us;
} srv_bucket;

/* Takes one token from a bucket refilled at rate per second up to burst.
 * Returns 0 if taken, else the seconds until one is available (>= 1). */
int srv_bucket_take(srv_bucket *b, double rate, double burst, int64_t now_us);

/* Monotonic microseconds. */
int64_t srv_now_us(void);

#endif
