/*
 * Internals shared by the files of the ratchet tree (see ratchet_tree.h for
 * the representation and the cost of each operation), one job each:
 *
 *   ratchet_tree.c           storage: key indexes, overlay slots, lifetime,
 *                            credential type and subtree counts, copy, key
 *                            lookup, mutation (§12.1), overlay apply
 *   ratchet_tree_wire.c      import (§12.4.3.3 structure checks) and export
 *   ratchet_tree_query.c     index lists, accessors, roster, resolution and
 *                            filtered direct path (§4.1.2)
 *   ratchet_tree_hash.c      tree hash (§7.8), parent hashes (§7.9)
 *   ratchet_tree_validate.c  leaf validation (§7.3), join verification
 *
 * The index math and the slot readers stay static inline: they are on the
 * hot paths (tree hashing, resolution, counts).  The few larger helpers
 * are declared at the end with the mls_rt_ prefix; like all of lib/ they
 * are hidden from the shared library by -fvisibility=hidden.
 */
#ifndef MLS_RATCHET_TREE_INT_H
#define MLS_RATCHET_TREE_INT_H

#include <stdlib.h>

#include "ratchet_tree.h"

/* ================================================================ full-tree math
 *
 * The tree is always full, so a node's relatives do not depend on the tree
 * size except at the root; these helpers skip the checks of tree_math.c on
 * the hot paths. */

static inline uint32_t lvl(uint32_t x)
{
    return mls_tm_level(x);
}
static inline uint32_t left_of(uint32_t x)
{
    return x - (1u << (lvl(x) - 1));
}
static inline uint32_t right_of(uint32_t x)
{
    return x + (1u << (lvl(x) - 1));
}
static inline uint32_t parent_of(uint32_t x)
{
    uint32_t k = lvl(x);
    return ((x >> (k + 1)) & 1u) ? x - (1u << k) : x + (1u << k);
}
/* Leaf-index range [lo, hi] under node x. */
static inline void leaf_range(uint32_t x, uint32_t *lo, uint32_t *hi)
{
    uint32_t half = (1u << lvl(x)) - 1u;
    *lo = (x - half) / 2;
    *hi = (x + half) / 2;
}

static inline uint32_t root_of(const mls_rtree *t)
{
    return mls_tm_root(t->n_leaves);
}

/* ================================================================ overlay slots
 *
 * An overlay's touched slots: open addressing by node index with linear
 * probing, load factor <= 1/2, no deletion (a slot lives as long as the
 * overlay).  A slot starts as a copy of the base's slot (its node borrowed,
 * owned = 0); a node the overlay puts in, or copies to change it in place,
 * is owned (owned = 1). */

struct mls_rtree_ov_slot {
    mls_node *node;
    uint32_t x;
    uint32_t nonblank;
    uint32_t members;
    uint8_t used;
    uint8_t owned;
    uint8_t hash_ok;
    uint8_t hash[MLS_MAX_HASH];
};

static inline size_t ov_home(uint32_t x)
{
    uint32_t h = x;
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    h *= 0x846ca68bu;
    h ^= h >> 16;
    return h;
}

static inline struct mls_rtree_ov_slot *ov_get(const mls_rtree *t, uint32_t x)
{
    if (!t->ov_cap)
        return NULL;
    size_t mask = t->ov_cap - 1;
    for (size_t i = ov_home(x) & mask;; i = (i + 1) & mask) {
        struct mls_rtree_ov_slot *sl = &t->ov[i];
        if (!sl->used)
            return NULL;
        if (sl->x == x)
            return sl;
    }
}

/* Reading a slot of a plain tree or an overlay.  A slot of a plain tree
 * beyond its width (below its capacity) is blank with zero counts; a slot
 * an overlay did not touch reads the base. */
static inline mls_node *node_at(const mls_rtree *t, uint32_t x)
{
    if (!t->base)
        return t->nodes[x];
    const struct mls_rtree_ov_slot *sl = ov_get(t, x);
    if (sl)
        return sl->node;
    return x < t->base->cap_nodes ? t->base->nodes[x] : NULL;
}

static inline uint32_t nonblank_at(const mls_rtree *t, uint32_t x)
{
    if (!t->base)
        return t->nonblank[x];
    const struct mls_rtree_ov_slot *sl = ov_get(t, x);
    if (sl)
        return sl->nonblank;
    return x < t->base->cap_nodes ? t->base->nonblank[x] : 0;
}

static inline uint32_t members_at(const mls_rtree *t, uint32_t x)
{
    if (!t->base)
        return t->members[x];
    const struct mls_rtree_ov_slot *sl = ov_get(t, x);
    if (sl)
        return sl->members;
    return x < t->base->cap_nodes ? t->base->members[x] : 0;
}

/* The credential type count entry of type, or NULL (see ratchet_tree.c). */
static inline mls_rtree_cred_count *cred_find(const mls_rtree *t, uint16_t type)
{
    for (size_t i = 0; i < t->n_creds; i++)
        if (t->creds[i].type == type)
            return &t->creds[i];
    return NULL;
}

/* Sorted leaf lists: qsort / bsearch order, membership. */
static inline int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static inline int excluded(const uint32_t *ex, size_t n, uint32_t leaf)
{
    return ex && n && bsearch(&leaf, ex, n, sizeof(*ex), cmp_u32) != NULL;
}

/* ratchet_tree.c */
MLS_MUST_CHECK int mls_rt_ensure_cap(mls_rtree *t, uint32_t width);
void mls_rt_rebuild_counts(mls_rtree *t);
MLS_MUST_CHECK int mls_rt_index_leaf(mls_rtree *t, uint32_t leaf);
MLS_MUST_CHECK int mls_rt_tree_find(const mls_rtree *t, int sig, mls_bytes key, uint32_t *leaf);

/* ratchet_tree_query.c */
MLS_MUST_CHECK int mls_rt_resolve(const mls_rtree *t, uint32_t x, const uint32_t *ex,
                                  size_t n_ex, mls_index_list *out);

#endif
