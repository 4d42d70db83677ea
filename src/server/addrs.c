/*
 * Open WebSockets per peer address (the --max-per-address limit), in a
 * hash table: a new connection costs one lookup, not a scan of every open
 * connection (which made accepting 10,000 connections quadratic).
 */
#include <stdlib.h>
#include <string.h>

#include "srv.h"

struct srv_addr_count {
    struct srv_addr_count *next;
    int n;
    char addr[SRV_ADDR_MAX + 1];
};

static size_t addr_hash(const srv *s, const char *addr)
{
    /* FNV-1a: addresses are short and not chosen by an attacker beyond
     * their own. */
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return (size_t)h & (s->n_addr_buckets - 1);
}

static srv_addr_count *find(const srv *s, const char *addr)
{
    if (!s->n_addr_buckets)
        return NULL;
    for (srv_addr_count *a = s->addrs[addr_hash(s, addr)]; a; a = a->next)
        if (strcmp(a->addr, addr) == 0)
            return a;
    return NULL;
}

int srv_conns_from(const srv *s, const char *addr)
{
    const srv_addr_count *a = find(s, addr);
    return a ? a->n : 0;
}

static int grow(srv *s)
{
    size_t n = s->n_addr_buckets ? s->n_addr_buckets * 2 : 256;
    srv_addr_count **t = calloc(n, sizeof *t);
    if (!t)
        return -1;
    srv_addr_count **old = s->addrs;
    size_t old_n = s->n_addr_buckets;
    s->addrs = t;
    s->n_addr_buckets = n;
    for (size_t i = 0; i < old_n; i++)
        while (old[i]) {
            srv_addr_count *a = old[i];
            old[i] = a->next;
            size_t b = addr_hash(s, a->addr);
            a->next = t[b];
            t[b] = a;
        }
    free(old);
    return 0;
}

void srv_addr_add(srv *s, const char *addr)
{
    srv_addr_count *a = find(s, addr);
    if (a) {
        a->n++;
        return;
    }
    if (s->n_addrs >= s->n_addr_buckets && grow(s))
        return;
    a = calloc(1, sizeof *a);
    if (!a)
        return;
    strncpy(a->addr, addr, SRV_ADDR_MAX);
    a->n = 1;
    size_t b = addr_hash(s, addr);
    a->next = s->addrs[b];
    s->addrs[b] = a;
    s->n_addrs++;
}

void srv_addr_remove(srv *s, const char *addr)
{
    if (!s->n_addr_buckets)
        return;
    srv_addr_count **pp = &s->addrs[addr_hash(s, addr)];
    for (; *pp; pp = &(*pp)->next) {
        srv_addr_count *a = *pp;
        if (strcmp(a->addr, addr) != 0)
            continue;
        if (--a->n <= 0) {
            *pp = a->next;
            free(a);
            s->n_addrs--;
        }
        return;
    }
}

void srv_addrs_clear(srv *s)
{
    for (size_t i = 0; i < s->n_addr_buckets; i++)
        while (s->addrs[i]) {
            srv_addr_count *a = s->addrs[i];
            s->addrs[i] = a->next;
            free(a);
        }
    free(s->addrs);
    s->addrs = NULL;
    s->n_addr_buckets = s->n_addrs = 0;
}
