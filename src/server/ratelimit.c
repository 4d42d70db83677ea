/* Token buckets. */
#include "ratelimit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t srv_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int srv_bucket_take_n(srv_bucket *b, double n, double rate, double burst, int64_t now_us)
{
    if (n > burst)
        return -1;
    if (b->last_us == 0) {
        b->tokens = burst;
        b->last_us = now_us;
    }
    b->tokens += (double)(now_us - b->last_us) / 1e6 * rate;
    if (b->tokens > burst)
        b->tokens = burst;
    b->last_us = now_us;
    if (b->tokens >= n) {
        b->tokens -= n;
        return 0;
    }
    /* Whole seconds until enough tokens, rounded up. */
    double secs = (n - b->tokens) / rate;
    int wait = (int)secs;
    if (wait < secs)
        wait++;
    return wait < 1 ? 1 : wait;
}

int srv_bucket_take(srv_bucket *b, double rate, double burst, int64_t now_us)
{
    return srv_bucket_take_n(b, 1.0, rate, burst, now_us);
}

srv_bucket *srv_bucket_map_get(srv_bucket_map *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->items[i].key, key) == 0)
            return &m->items[i].b;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        srv_keyed_bucket *p = realloc(m->items, cap * sizeof *p);
        if (!p)
            return NULL;
        m->items = p;
        m->cap = cap;
    }
    srv_keyed_bucket *k = &m->items[m->n++];
    memset(k, 0, sizeof *k);
    snprintf(k->key, sizeof k->key, "%s", key);
    return &k->b;
}

void srv_bucket_map_sweep(srv_bucket_map *m, int64_t now_us, int64_t idle_us)
{
    size_t j = 0;
    for (size_t i = 0; i < m->n; i++)
        if (now_us - m->items[i].b.last_us < idle_us)
            m->items[j++] = m->items[i];
    m->n = j;
}

void srv_bucket_map_clear(srv_bucket_map *m)
{
    if (!m)
        return;
    free(m->items);
    m->items = NULL;
    m->n = m->cap = 0;
}
