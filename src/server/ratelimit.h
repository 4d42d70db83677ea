/* Token buckets for request rate limits, and a small map of buckets keyed
 * by a string (a peer address, a user id) for limits that outlive a
 * connection. */
#ifndef SRV_RATELIMIT_H
#define SRV_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct srv_bucket {
    double tokens;
    int64_t last_us;
} srv_bucket;

/* Takes one token from a bucket refilled at rate per second up to burst.
 * Returns 0 if taken, else the seconds until one is available (>= 1). */
int srv_bucket_take(srv_bucket *b, double rate, double burst, int64_t now_us);
/* Takes n tokens at once, or none: 0 if taken, else the seconds until n
 * are available (n must not exceed burst; then -1). */
int srv_bucket_take_n(srv_bucket *b, double n, double rate, double burst, int64_t now_us);

/* Monotonic microseconds. */
int64_t srv_now_us(void);

#define SRV_BUCKET_KEY_MAX 63

typedef struct srv_keyed_bucket {
    char key[SRV_BUCKET_KEY_MAX + 1];
    srv_bucket b;
} srv_keyed_bucket;

/* Buckets by key; a linear array, swept of idle entries (a bucket idle
 * long enough to be full again is the same as a new one). */
typedef struct srv_bucket_map {
    srv_keyed_bucket *items;
    size_t n, cap;
} srv_bucket_map;

/* The bucket for key (created on first use); NULL when out of memory. */
srv_bucket *srv_bucket_map_get(srv_bucket_map *m, const char *key);
/* Drops buckets untouched for idle_us or longer. */
void srv_bucket_map_sweep(srv_bucket_map *m, int64_t now_us, int64_t idle_us);
void srv_bucket_map_clear(srv_bucket_map *m);

#endif
