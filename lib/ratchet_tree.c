/*
 * The ratchet tree (RFC 9420 §4, §7, §12.1): see ratchet_tree.h for the
 * representation and the cost of each operation.
 */
#include "ratchet_tree.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "detail.h"
#include "executor.h"

/* ================================================================ index lists */

void mls_index_list_clear(mls_index_list *l)
{
    if (!l)
        return;
    free(l->v);
    memset(l, 0, sizeof(*l));
}

int mls_index_list_push(mls_index_list *l, uint32_t x)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        uint32_t *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return MLS_ERR_NOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = x;
    return MLS_OK;
}

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

uint32_t mls_rtree_width(const mls_rtree *t)
{
    return mls_tm_node_width(t->n_leaves);
}

static inline uint32_t root_of(const mls_rtree *t)
{
    return mls_tm_root(t->n_leaves);
}

/* ================================================================ key index
 *
 * Open addressing with linear probing and backward-shift deletion.  Keys
 * are borrowed from the leaf nodes of the tree (stable heap buffers); an
 * entry is removed before its leaf is freed or replaced. */

struct mls_rtree_key_slot {
    const uint8_t *p;
    size_t n;
    uint32_t leaf;
    uint8_t used;
};

static uint64_t key_hash(const uint8_t *p, size_t n)
{
    /* FNV-1a over all bytes, then a splitmix64 finalizer to spread the
     * bits over the table index. */
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)n;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

static void ki_clear(mls_rtree_key_index *ki)
{
    free(ki->slots);
    memset(ki, 0, sizeof(*ki));
}

static long ki_slot_of(const mls_rtree_key_index *ki, const uint8_t *p, size_t n)
{
    if (!ki->cap)
        return -1;
    size_t mask = ki->cap - 1;
    for (size_t i = key_hash(p, n) & mask;; i = (i + 1) & mask) {
        const struct mls_rtree_key_slot *s = &ki->slots[i];
        if (!s->used)
            return -1;
        if (s->n == n && (n == 0 || memcmp(s->p, p, n) == 0))
            return (long)i;
    }
}

static void ki_put(mls_rtree_key_index *ki, const uint8_t *p, size_t n, uint32_t leaf)
{
    size_t mask = ki->cap - 1;
    size_t i = key_hash(p, n) & mask;
    while (ki->slots[i].used)
        i = (i + 1) & mask;
    ki->slots[i].p = p;
    ki->slots[i].n = n;
    ki->slots[i].leaf = leaf;
    ki->slots[i].used = 1;
    ki->n++;
}

/* Room for `extra` more keys at load factor <= 1/2. */
static int ki_reserve(mls_rtree_key_index *ki, size_t extra)
{
    size_t need = (ki->n + extra) * 2;
    if (need <= ki->cap)
        return MLS_OK;
    size_t cap = ki->cap ? ki->cap : 16;
    while (cap < need)
        cap *= 2;
    struct mls_rtree_key_slot *old = ki->slots;
    size_t old_cap = ki->cap;
    ki->slots = calloc(cap, sizeof(*ki->slots));
    if (!ki->slots) {
        ki->slots = old;
        return MLS_ERR_NOMEM;
    }
    ki->cap = cap;
    ki->n = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].used)
            ki_put(ki, old[i].p, old[i].n, old[i].leaf);
    free(old);
    return MLS_OK;
}

static void ki_del(mls_rtree_key_index *ki, const uint8_t *p, size_t n, uint32_t leaf)
{
    long at = ki_slot_of(ki, p, n);
    if (at < 0 || ki->slots[at].leaf != leaf)
        return;
    size_t mask = ki->cap - 1;
    size_t i = (size_t)at;
    /* Backward-shift deletion keeps every probe sequence unbroken. */
    for (size_t j = (i + 1) & mask; ki->slots[j].used; j = (j + 1) & mask) {
        size_t home = key_hash(ki->slots[j].p, ki->slots[j].n) & mask;
        /* Move j into the hole i unless j's home lies cyclically in (i, j]. */
        int stays = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            ki->slots[i] = ki->slots[j];
            i = j;
        }
    }
    memset(&ki->slots[i], 0, sizeof(ki->slots[i]));
    ki->n--;
}

static int ki_find(const mls_rtree_key_index *ki, mls_bytes key, uint32_t *leaf)
{
    long at = ki_slot_of(ki, key.p, key.n);
    if (at < 0)
        return MLS_ERR_NOT_FOUND;
    *leaf = ki->slots[at].leaf;
    return MLS_OK;
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

/* Slots any single mutating operation may touch: the leaf, its direct
 * path, and the roots dropped or added by truncation / extension. */
#define OV_OP_SLOTS (3u * MLS_TREE_MAX_DEPTH + 8u)

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

static struct mls_rtree_ov_slot *ov_get(const mls_rtree *t, uint32_t x)
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

/* Room for `extra` more slots; moves the table (slot pointers die). */
static int ov_reserve(mls_rtree *t, size_t extra)
{
    size_t need = (t->ov_n + extra) * 2;
    if (need <= t->ov_cap)
        return MLS_OK;
    size_t cap = t->ov_cap ? t->ov_cap : 64;
    while (cap < need)
        cap *= 2;
    struct mls_rtree_ov_slot *nv = calloc(cap, sizeof(*nv));
    if (!nv)
        return MLS_ERR_NOMEM;
    for (size_t i = 0; i < t->ov_cap; i++) {
        if (!t->ov[i].used)
            continue;
        size_t j = ov_home(t->ov[i].x) & (cap - 1);
        while (nv[j].used)
            j = (j + 1) & (cap - 1);
        nv[j] = t->ov[i];
    }
    free(t->ov);
    t->ov = nv;
    t->ov_cap = cap;
    return MLS_OK;
}

/* Before a mutating operation: an overlay makes room for the slots it may
 * touch, so that touching never fails halfway. */
static int prep_mutation(mls_rtree *t)
{
    return t->base ? ov_reserve(t, OV_OP_SLOTS) : MLS_OK;
}

/* The overlay slot of x, created from the base's slot if new (room was
 * reserved by prep_mutation). */
static struct mls_rtree_ov_slot *touch(mls_rtree *t, uint32_t x)
{
    struct mls_rtree_ov_slot *sl = ov_get(t, x);
    if (sl)
        return sl;
    const mls_rtree *b = t->base;
    size_t mask = t->ov_cap - 1, i = ov_home(x) & mask;
    while (t->ov[i].used)
        i = (i + 1) & mask;
    sl = &t->ov[i];
    memset(sl, 0, sizeof(*sl));
    sl->used = 1;
    sl->x = x;
    if (x < b->cap_nodes) {
        sl->node = b->nodes[x];
        sl->nonblank = b->nonblank[x];
        sl->members = b->members[x];
        sl->hash_ok = b->hash_ok[x];
        if (sl->hash_ok)
            memcpy(sl->hash, b->hashes + (size_t)x * t->suite->nh, t->suite->nh);
    }
    t->ov_n++;
    if (x >= t->ov_max)
        t->ov_max = x + 1;
    return sl;
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

/* The cached tree hash of x, or NULL when stale. */
static const uint8_t *cached_hash(const mls_rtree *t, uint32_t x)
{
    if (t->base) {
        const struct mls_rtree_ov_slot *sl = ov_get(t, x);
        if (sl)
            return sl->hash_ok ? sl->hash : NULL;
        t = t->base;
        if (x >= t->cap_nodes)
            return NULL;
    }
    return t->hash_ok[x] ? t->hashes + (size_t)x * t->suite->nh : NULL;
}

/* Leaf index whose leaf has this key (sig: signature key, else encryption
 * key).  An overlay looks in its own index (leaves it put in), then in the
 * base's, where a hit counts only if the overlay did not replace that
 * leaf. */
static int tree_find(const mls_rtree *t, int sig, mls_bytes key, uint32_t *leaf)
{
    uint32_t l;
    if (ki_find(sig ? &t->by_sig : &t->by_enc, key, leaf) == MLS_OK)
        return MLS_OK;
    if (!t->base)
        return MLS_ERR_NOT_FOUND;
    if (ki_find(sig ? &t->base->by_sig : &t->base->by_enc, key, &l) != MLS_OK ||
        l >= t->n_leaves)
        return MLS_ERR_NOT_FOUND;
    const struct mls_rtree_ov_slot *sl = ov_get(t, 2 * l);
    if (sl && sl->node != t->base->nodes[2 * l])
        return MLS_ERR_NOT_FOUND;
    *leaf = l;
    return MLS_OK;
}

/* ================================================================ lifetime */

void mls_rtree_init(mls_rtree *t, const mls_suite *s)
{
    memset(t, 0, sizeof(*t));
    t->suite = s;
}

static void node_free(mls_node *n)
{
    if (!n)
        return;
    mls_node_clear(n);
    free(n);
}

void mls_rtree_clear(mls_rtree *t)
{
    if (!t)
        return;
    /* An overlay frees what it owns and never reads its base (which may be
     * gone by now). */
    for (size_t i = 0; i < t->ov_cap; i++)
        if (t->ov[i].used && t->ov[i].owned)
            node_free(t->ov[i].node);
    free(t->ov);
    uint32_t w = mls_rtree_width(t);
    if (t->nodes)
        for (uint32_t i = 0; i < w && i < t->cap_nodes; i++)
            node_free(t->nodes[i]);
    free(t->nodes);
    free(t->hashes);
    free(t->hash_ok);
    free(t->nonblank);
    free(t->members);
    ki_clear(&t->by_enc);
    ki_clear(&t->by_sig);
    free(t->creds);
    memset(t, 0, sizeof(*t));
}

/* Makes room for `width` node slots; new slots are blank and stale. */
static int ensure_cap(mls_rtree *t, uint32_t width)
{
    if (width <= t->cap_nodes)
        return MLS_OK;
    size_t nh = t->suite->nh;
    uint32_t cap = t->cap_nodes ? t->cap_nodes : 1;
    while (cap < width)
        cap = cap * 2 + 1;
    mls_node **nodes = realloc(t->nodes, cap * sizeof(*nodes));
    if (!nodes)
        return MLS_ERR_NOMEM;
    t->nodes = nodes;
    uint8_t *hashes = realloc(t->hashes, (size_t)cap * nh);
    if (!hashes)
        return MLS_ERR_NOMEM;
    t->hashes = hashes;
    uint8_t *ok = realloc(t->hash_ok, cap);
    if (!ok)
        return MLS_ERR_NOMEM;
    t->hash_ok = ok;
    uint32_t *nb = realloc(t->nonblank, cap * sizeof(*nb));
    if (!nb)
        return MLS_ERR_NOMEM;
    t->nonblank = nb;
    uint32_t *mb = realloc(t->members, cap * sizeof(*mb));
    if (!mb)
        return MLS_ERR_NOMEM;
    t->members = mb;
    for (uint32_t i = t->cap_nodes; i < cap; i++) {
        t->nodes[i] = NULL;
        t->hash_ok[i] = 0;
        t->nonblank[i] = 0;
        t->members[i] = 0;
    }
    t->cap_nodes = cap;
    return MLS_OK;
}

/* ================================================================ credential type counts
 *
 * §7.3 asks that every member support the credential types of all members;
 * counting, per type, the leaves that use it and the leaves that list it
 * makes checking one leaf O(types) instead of a scan of the tree.  Plain
 * trees count in index_leaf and put_node; an overlay keeps its own copy of
 * the counts, which replaces the base's when it is applied. */

static mls_rtree_cred_count *cred_find(const mls_rtree *t, uint16_t type)
{
    for (size_t i = 0; i < t->n_creds; i++)
        if (t->creds[i].type == type)
            return &t->creds[i];
    return NULL;
}

/* Room for the entries leaf ln may add. */
static int cred_reserve(mls_rtree *t, const mls_leaf_node *ln)
{
    size_t need = t->n_creds + ln->capabilities.credentials.n + 1;
    if (need <= t->cap_creds)
        return MLS_OK;
    mls_rtree_cred_count *v = realloc(t->creds, need * sizeof(*v));
    if (!v)
        return MLS_ERR_NOMEM;
    t->creds = v;
    t->cap_creds = need;
    return MLS_OK;
}

/* The entry of type, created at zero (room reserved by cred_reserve). */
static mls_rtree_cred_count *cred_entry(mls_rtree *t, uint16_t type)
{
    mls_rtree_cred_count *c = cred_find(t, type);
    if (c)
        return c;
    c = &t->creds[t->n_creds++];
    c->type = type;
    c->used = 0;
    c->supported = 0;
    return c;
}

/* Counts leaf ln in (d = 1) or out (d = -1); a type listed twice in its
 * capabilities counts once. */
static void cred_count(mls_rtree *t, const mls_leaf_node *ln, int d)
{
    const mls_u16_list *l = &ln->capabilities.credentials;
    cred_entry(t, ln->credential.type)->used += (uint32_t)d;
    for (size_t i = 0; i < l->n; i++) {
        size_t k = 0;
        while (k < i && l->v[k] != l->v[i])
            k++;
        if (k == i)
            cred_entry(t, l->v[i])->supported += (uint32_t)d;
    }
}

/* ================================================================ key indexes of a plain tree */

static int index_leaf(mls_rtree *t, uint32_t leaf)
{
    const mls_node *n = t->nodes[2 * leaf];
    if (!n)
        return MLS_OK;
    int err = ki_reserve(&t->by_enc, 1);
    if (!err)
        err = ki_reserve(&t->by_sig, 1);
    if (!err)
        err = cred_reserve(t, &n->leaf);
    if (err)
        return err;
    if (ki_slot_of(&t->by_enc, n->leaf.encryption_key.p, n->leaf.encryption_key.n) >= 0 ||
        ki_slot_of(&t->by_sig, n->leaf.signature_key.p, n->leaf.signature_key.n) >= 0)
        return MLS_ERR_INVALID;
    ki_put(&t->by_enc, n->leaf.encryption_key.p, n->leaf.encryption_key.n, leaf);
    ki_put(&t->by_sig, n->leaf.signature_key.p, n->leaf.signature_key.n, leaf);
    cred_count(t, &n->leaf, 1);
    return MLS_OK;
}

static void unindex_leaf(mls_rtree *t, uint32_t leaf)
{
    const mls_node *n = t->nodes[2 * leaf];
    if (!n)
        return;
    ki_del(&t->by_enc, n->leaf.encryption_key.p, n->leaf.encryption_key.n, leaf);
    ki_del(&t->by_sig, n->leaf.signature_key.p, n->leaf.signature_key.n, leaf);
}

/* Writes the subtree counts of x and marks its tree hash stale. */
static void put_counts_stale(mls_rtree *t, uint32_t x, uint32_t nonblank, uint32_t members)
{
    if (!t->base) {
        t->nonblank[x] = nonblank;
        t->members[x] = members;
        t->hash_ok[x] = 0;
        return;
    }
    struct mls_rtree_ov_slot *sl = touch(t, x);
    sl->nonblank = nonblank;
    sl->members = members;
    sl->hash_ok = 0;
}

/* Subtree counts of x from its own slot and its children's counts; its
 * hash becomes stale. */
static void set_counts(mls_rtree *t, uint32_t x)
{
    uint32_t c = node_at(t, x) ? 1u : 0u;
    if (lvl(x) == 0) {
        put_counts_stale(t, x, c, c);
        return;
    }
    put_counts_stale(t, x, c + nonblank_at(t, left_of(x)) + nonblank_at(t, right_of(x)),
                     members_at(t, left_of(x)) + members_at(t, right_of(x)));
}

/* Recomputes the subtree counts and marks the tree hashes stale from x up
 * to the root: O(log n). */
static void fix_up(mls_rtree *t, uint32_t x)
{
    uint32_t root = root_of(t);
    for (;;) {
        set_counts(t, x);
        if (x == root)
            break;
        x = parent_of(x);
    }
}

/* Counts and stale flags of the whole tree, bottom up: O(n). */
static void rebuild_counts(mls_rtree *t)
{
    uint32_t w = mls_rtree_width(t);
    uint32_t depth = mls_tm_level(root_of(t));
    for (uint32_t k = 0; k <= depth; k++) {
        uint32_t step = 1u << (k + 1), first = (1u << k) - 1u;
        for (uint32_t x = first; x < w; x += step)
            set_counts(t, x);
    }
}

int mls_rtree_copy(mls_rtree *dst, const mls_rtree *src)
{
    mls_rtree t;
    int err;
    uint32_t w = mls_rtree_width(src);

    mls_rtree_init(&t, src->suite);
    err = ensure_cap(&t, w ? w : 1);
    if (err)
        goto out;
    t.n_leaves = src->n_leaves;
    for (uint32_t i = 0; i < w; i++) {
        const mls_node *n = node_at(src, i);
        const uint8_t *h = cached_hash(src, i);
        t.nonblank[i] = nonblank_at(src, i);
        t.members[i] = members_at(src, i);
        t.hash_ok[i] = h != NULL;
        if (h)
            memcpy(t.hashes + (size_t)i * src->suite->nh, h, src->suite->nh);
        if (!n)
            continue;
        t.nodes[i] = calloc(1, sizeof(mls_node));
        if (!t.nodes[i]) {
            err = MLS_ERR_NOMEM;
            goto out;
        }
        err = mls_node_copy(t.nodes[i], n);
        if (err) {
            free(t.nodes[i]);
            t.nodes[i] = NULL;
            goto out;
        }
    }
    for (uint32_t i = 0; i < t.n_leaves; i++) {
        err = index_leaf(&t, i);
        if (err)
            goto out;
    }
    *dst = t;
    return MLS_OK;
out:
    mls_rtree_clear(&t);
    return err;
}

/* ================================================================ import / export */

/* Structural checks of §12.4.3.3 and §7, then takes the nodes of wire
 * (which is left empty). */
static int import_take(mls_rtree *t, const mls_suite *s, mls_ratchet_tree *wire)
{
    mls_rtree tr;
    int err;
    size_t n = wire->n;

    mls_rtree_init(&tr, s);
    if (!s)
        return MLS_ERR_ARG;
    /* RFC 9420 §12.4.3.3: the last node is non-blank and the vector holds
     * the nodes of a tree (odd length, leaves at even positions). */
    if (n == 0 || n % 2 == 0 || wire->nodes[n - 1].type == MLS_NODE_BLANK ||
        n > (size_t)mls_tm_node_width(MLS_TREE_MAX_LEAVES))
        return MLS_DETAIL(MLS_ERR_INVALID,
                          "RFC 9420 §12.4.3.3: the node vector is not a tree (length, last node)");
    uint32_t leaves = 1;
    while ((size_t)mls_tm_node_width(leaves) < n)
        leaves *= 2;
    for (size_t i = 0; i < n; i++) {
        const mls_node *nd = &wire->nodes[i];
        if (nd->type == MLS_NODE_BLANK)
            continue;
        if ((i % 2 == 0) != (nd->type == MLS_NODE_LEAF))
            return MLS_DETAIL(MLS_ERR_INVALID,
                              "RFC 9420 §4.1: a leaf at an odd or a parent at an even position");
        if (nd->type == MLS_NODE_PARENT) {
            uint32_t lo, hi;
            leaf_range((uint32_t)i, &lo, &hi);
            for (size_t j = 0; j < nd->parent.n_unmerged_leaves; j++) {
                uint32_t u = nd->parent.unmerged_leaves[j];
                /* An unmerged leaf lies under the node and is a member. */
                if (u < lo || u > hi || 2 * (size_t)u >= n ||
                    wire->nodes[2 * (size_t)u].type != MLS_NODE_LEAF)
                    return MLS_DETAIL(MLS_ERR_INVALID,
                                      "RFC 9420 §7.1: unmerged leaf not a member below the node");
            }
        }
    }

    uint32_t w = mls_tm_node_width(leaves);
    err = ensure_cap(&tr, w);
    if (err)
        goto out;
    tr.n_leaves = leaves;
    for (size_t i = 0; i < n; i++) {
        if (wire->nodes[i].type == MLS_NODE_BLANK)
            continue;
        tr.nodes[i] = malloc(sizeof(mls_node));
        if (!tr.nodes[i]) {
            err = MLS_ERR_NOMEM;
            goto out;
        }
        /* Move: the wire node's buffers now belong to the tree. */
        memcpy(tr.nodes[i], &wire->nodes[i], sizeof(mls_node));
        memset(&wire->nodes[i], 0, sizeof(mls_node));
    }
    rebuild_counts(&tr);
    for (uint32_t i = 0; i < leaves; i++) {
        /* RFC 9420 §7.3: encryption and signature keys are unique among
         * the members. */
        err = index_leaf(&tr, i);
        if (err)
            goto out;
    }
    *t = tr;
    return MLS_OK;
out:
    mls_rtree_clear(&tr);
    return err;
}

int mls_rtree_import(mls_rtree *t, const mls_suite *s, const mls_ratchet_tree *wire)
{
    mls_ratchet_tree copy;
    int err = mls_ratchet_tree_copy(&copy, wire);
    if (err)
        return err;
    err = import_take(t, s, &copy);
    mls_ratchet_tree_clear(&copy);
    return err;
}

int mls_rtree_import_bytes(mls_rtree *t, const mls_suite *s, mls_bytes in)
{
    mls_ratchet_tree wire;
    int err = mls_ratchet_tree_decode_bytes(in, &wire);
    if (err)
        return err;
    err = import_take(t, s, &wire);
    mls_ratchet_tree_clear(&wire);
    return err;
}

/* Number of wire entries: up to the last non-blank node. */
static uint32_t used_width(const mls_rtree *t)
{
    uint32_t w = mls_rtree_width(t);
    while (w > 0 && !node_at(t, w - 1))
        w--;
    return w;
}

int mls_rtree_export(const mls_rtree *t, mls_ratchet_tree *out)
{
    mls_ratchet_tree r;
    int err = MLS_OK;
    uint32_t w = used_width(t);

    memset(&r, 0, sizeof(r));
    if (w) {
        r.nodes = calloc(w, sizeof(mls_node));
        if (!r.nodes)
            return MLS_ERR_NOMEM;
    }
    r.n = w;
    for (uint32_t i = 0; i < w; i++) {
        if (!node_at(t, i))
            continue;
        err = mls_node_copy(&r.nodes[i], node_at(t, i));
        if (err)
            goto out;
    }
    *out = r;
    return MLS_OK;
out:
    mls_ratchet_tree_clear(&r);
    return err;
}

int mls_rtree_encode(const mls_rtree *t, mls_buf *w)
{
    size_t mark;
    int err;
    uint32_t uw = used_width(t);

    err = mls_write_vec_begin(w, &mark);
    for (uint32_t i = 0; !err && i < uw; i++) {
        if (!node_at(t, i)) {
            err = mls_write_u8(w, 0);
        } else {
            err = mls_write_u8(w, 1);
            if (!err)
                err = mls_node_encode(node_at(t, i), w);
        }
    }
    if (!err)
        err = mls_write_vec_end(w, mark);
    return err;
}

/* ================================================================ accessors */

const mls_node *mls_rtree_node(const mls_rtree *t, uint32_t node)
{
    if (node >= mls_rtree_width(t))
        return NULL;
    return node_at(t, node);
}

const mls_leaf_node *mls_rtree_leaf(const mls_rtree *t, uint32_t leaf)
{
    if (leaf >= t->n_leaves || !node_at(t, 2 * leaf))
        return NULL;
    return &node_at(t, 2 * leaf)->leaf;
}

const mls_parent_node *mls_rtree_parent(const mls_rtree *t, uint32_t node)
{
    if (node >= mls_rtree_width(t) || !(node & 1) || !node_at(t, node))
        return NULL;
    return &node_at(t, node)->parent;
}

mls_bytes mls_rtree_node_public_key(const mls_rtree *t, uint32_t node)
{
    const mls_node *n = mls_rtree_node(t, node);
    if (!n)
        return mls_bytes_of(NULL, 0);
    if (n->type == MLS_NODE_LEAF)
        return mls_buf_view(&n->leaf.encryption_key);
    return mls_buf_view(&n->parent.encryption_key);
}

uint32_t mls_rtree_member_count(const mls_rtree *t)
{
    return t->n_leaves ? members_at(t, root_of(t)) : 0;
}

int mls_rtree_roster(const mls_rtree *t, mls_index_list *out)
{
    mls_index_list l;
    memset(&l, 0, sizeof(l));
    for (uint32_t i = 0; i < t->n_leaves; i++) {
        if (!node_at(t, 2 * i))
            continue;
        int err = mls_index_list_push(&l, i);
        if (err) {
            mls_index_list_clear(&l);
            return err;
        }
    }
    mls_index_list_clear(out);
    *out = l;
    return MLS_OK;
}

int mls_rtree_find_encryption_key(const mls_rtree *t, mls_bytes key, uint32_t *leaf)
{
    return tree_find(t, 0, key, leaf);
}

int mls_rtree_find_signature_key(const mls_rtree *t, mls_bytes key, uint32_t *leaf)
{
    return tree_find(t, 1, key, leaf);
}

/* ================================================================ resolution */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int excluded(const uint32_t *ex, size_t n, uint32_t leaf)
{
    return ex && n && bsearch(&leaf, ex, n, sizeof(*ex), cmp_u32) != NULL;
}

/* RFC 9420 §4.1.2: a non-blank node resolves to itself followed by its
 * unmerged leaves; a blank leaf to nothing; a blank parent to the
 * resolutions of its children.  All-blank subtrees are skipped in O(1). */
static int resolve(const mls_rtree *t, uint32_t x, const uint32_t *ex, size_t n_ex,
                   mls_index_list *out)
{
    int err;
    if (nonblank_at(t, x) == 0)
        return MLS_OK;
    const mls_node *n = node_at(t, x);
    if (n) {
        if (n->type == MLS_NODE_LEAF)
            return excluded(ex, n_ex, x / 2) ? MLS_OK : mls_index_list_push(out, x);
        err = mls_index_list_push(out, x);
        for (size_t i = 0; !err && i < n->parent.n_unmerged_leaves; i++) {
            uint32_t u = n->parent.unmerged_leaves[i];
            if (!excluded(ex, n_ex, u))
                err = mls_index_list_push(out, 2 * u);
        }
        return err;
    }
    err = resolve(t, left_of(x), ex, n_ex, out);
    if (!err)
        err = resolve(t, right_of(x), ex, n_ex, out);
    return err;
}

int mls_rtree_resolution(const mls_rtree *t, uint32_t node, const uint32_t *exclude,
                         size_t n_exclude, mls_index_list *out)
{
    mls_index_list l;
    uint32_t *ex = NULL;
    int err;

    if (node >= mls_rtree_width(t))
        return MLS_ERR_ARG;
    memset(&l, 0, sizeof(l));
    if (n_exclude) {
        ex = malloc(n_exclude * sizeof(*ex));
        if (!ex)
            return MLS_ERR_NOMEM;
        memcpy(ex, exclude, n_exclude * sizeof(*ex));
        qsort(ex, n_exclude, sizeof(*ex), cmp_u32);
    }
    err = resolve(t, node, ex, n_exclude, &l);
    free(ex);
    if (err) {
        mls_index_list_clear(&l);
        return err;
    }
    mls_index_list_clear(out);
    *out = l;
    return MLS_OK;
}

int mls_rtree_resolution_empty(const mls_rtree *t, uint32_t node)
{
    return node >= mls_rtree_width(t) || nonblank_at(t, node) == 0;
}

int mls_rtree_filtered_direct_path(const mls_rtree *t, uint32_t leaf,
                                   uint32_t path[MLS_TREE_MAX_DEPTH],
                                   uint32_t copath[MLS_TREE_MAX_DEPTH], size_t *len)
{
    uint32_t dp[MLS_TREE_MAX_DEPTH], cp[MLS_TREE_MAX_DEPTH];
    size_t n, k = 0;
    int err;

    if (leaf >= t->n_leaves)
        return MLS_ERR_ARG;
    err = mls_tm_direct_path(t->n_leaves, 2 * leaf, dp, &n);
    if (!err)
        err = mls_tm_copath(t->n_leaves, 2 * leaf, cp, &n);
    if (err)
        return err;
    for (size_t i = 0; i < n; i++) {
        if (nonblank_at(t, cp[i]) == 0)
            continue;
        path[k] = dp[i];
        copath[k] = cp[i];
        k++;
    }
    *len = k;
    return MLS_OK;
}

/* ================================================================ mutation */

/* Grows the tree to twice its leaves (or one leaf): the old tree becomes
 * the left subtree of a new blank root.  The new slots are blank already
 * (slots beyond the width always are); an overlay grows its base's
 * storage so that every slot it can read exists there. */
static int extend(mls_rtree *t)
{
    uint32_t leaves = t->n_leaves ? t->n_leaves * 2 : 1;
    if (t->n_leaves >= MLS_TREE_MAX_LEAVES)
        return MLS_ERR_TOO_LARGE;
    int err = ensure_cap(t->base ? t->base : t, mls_tm_node_width(leaves));
    if (err)
        return err;
    t->n_leaves = leaves;
    fix_up(t, root_of(t));
    return MLS_OK;
}

/* Replaces the node in slot x with nn (NULL to blank), freeing the old
 * node if the tree owns it; for a leaf, keeps the key indexes in step (the
 * caller checked uniqueness and reserved room).  Counts are the caller's
 * (fix_up). */
static void put_node(mls_rtree *t, uint32_t x, mls_node *nn)
{
    int is_leaf = !(x & 1);
    if (is_leaf && node_at(t, x))
        cred_count(t, &node_at(t, x)->leaf, -1);
    if (!t->base) {
        if (is_leaf)
            unindex_leaf(t, x / 2);
        node_free(t->nodes[x]);
        t->nodes[x] = nn;
    } else {
        struct mls_rtree_ov_slot *sl = touch(t, x);
        /* A borrowed node stays the base's; the overlay's index holds only
         * the keys of nodes it owns. */
        if (sl->owned && sl->node) {
            const mls_leaf_node *ol = &sl->node->leaf;
            if (is_leaf) {
                ki_del(&t->by_enc, ol->encryption_key.p, ol->encryption_key.n, x / 2);
                ki_del(&t->by_sig, ol->signature_key.p, ol->signature_key.n, x / 2);
            }
            node_free(sl->node);
        }
        sl->node = nn;
        sl->owned = nn != NULL;
    }
    if (is_leaf && nn) {
        ki_put(&t->by_enc, nn->leaf.encryption_key.p, nn->leaf.encryption_key.n, x / 2);
        ki_put(&t->by_sig, nn->leaf.signature_key.p, nn->leaf.signature_key.n, x / 2);
        cred_count(t, &nn->leaf, 1);
    }
}

/* The parent node in slot x, to be changed in place: an overlay first
 * replaces a node it borrows from its base with its own copy. */
static int parent_for_write(mls_rtree *t, uint32_t x, mls_node **out)
{
    if (!t->base) {
        *out = t->nodes[x];
        return MLS_OK;
    }
    struct mls_rtree_ov_slot *sl = touch(t, x);
    if (sl->node && !sl->owned) {
        mls_node *c = calloc(1, sizeof(*c));
        if (!c)
            return MLS_ERR_NOMEM;
        int err = mls_node_copy(c, sl->node);
        if (err) {
            free(c);
            return err;
        }
        sl->node = c;
        sl->owned = 1;
    }
    *out = sl->node;
    return MLS_OK;
}

/* RFC 9420 §12.1.3: while the right subtree of the root is all blank,
 * drop it and the root (the left child becomes the root).  The dropped
 * right half is blank already; the root is blanked and its counts
 * zeroed, as every slot beyond the width must be. */
static void truncate_tree(mls_rtree *t)
{
    while (t->n_leaves > 1) {
        uint32_t root = root_of(t);
        if (nonblank_at(t, right_of(root)) != 0)
            break;
        put_node(t, root, NULL);
        put_counts_stale(t, root, 0, 0);
        t->n_leaves /= 2;
    }
}

static int new_leaf_node(const mls_leaf_node *ln, mls_node **out)
{
    mls_node *n = calloc(1, sizeof(*n));
    if (!n)
        return MLS_ERR_NOMEM;
    int err = mls_leaf_node_copy(&n->leaf, ln);
    if (err) {
        free(n);
        return err;
    }
    n->type = MLS_NODE_LEAF;
    *out = n;
    return MLS_OK;
}

/* ln's keys are free for leaf index `leaf` and the indexes have room. */
static int check_keys(mls_rtree *t, const mls_leaf_node *ln, uint32_t leaf)
{
    uint32_t other;
    if (!tree_find(t, 0, mls_buf_view(&ln->encryption_key), &other) && other != leaf)
        return MLS_ERR_INVALID;
    if (!tree_find(t, 1, mls_buf_view(&ln->signature_key), &other) && other != leaf)
        return MLS_ERR_INVALID;
    int err = ki_reserve(&t->by_enc, 1);
    if (!err)
        err = ki_reserve(&t->by_sig, 1);
    if (!err)
        err = cred_reserve(t, ln);
    return err;
}

static void blank_path(mls_rtree *t, uint32_t leaf)
{
    uint32_t root = root_of(t);
    uint32_t x = 2 * leaf;
    while (x != root) {
        x = parent_of(x);
        if (node_at(t, x))
            put_node(t, x, NULL);
    }
    fix_up(t, 2 * leaf);
}

int mls_rtree_blank_path(mls_rtree *t, uint32_t leaf)
{
    if (leaf >= t->n_leaves)
        return MLS_ERR_ARG;
    int err = prep_mutation(t);
    if (err)
        return err;
    blank_path(t, leaf);
    return MLS_OK;
}

int mls_rtree_add_leaf(mls_rtree *t, const mls_leaf_node *ln, uint32_t *leaf)
{
    mls_node *nn = NULL;
    uint32_t i;
    int err;

    if ((err = prep_mutation(t)) != 0)
        return err;
    err = check_keys(t, ln, UINT32_MAX);
    if (err)
        return err;
    /* Leftmost blank leaf: descend towards the left child whenever it has
     * a blank leaf (fewer members than leaves): O(log n). */
    if (t->n_leaves == 0 || members_at(t, root_of(t)) == t->n_leaves) {
        i = t->n_leaves;
    } else {
        uint32_t x = root_of(t);
        while (lvl(x) > 0)
            x = members_at(t, left_of(x)) < (1u << (lvl(x) - 1)) ? left_of(x) : right_of(x);
        i = x / 2;
    }
    err = new_leaf_node(ln, &nn);
    if (err)
        return err;
    if (i == t->n_leaves) {
        err = extend(t);
        if (err) {
            node_free(nn);
            return err;
        }
    }
    put_node(t, 2 * i, nn);
    /* RFC 9420 §12.1.1: the new leaf is unmerged at every non-blank parent
     * on its direct path. */
    uint32_t root = root_of(t), x = 2 * i;
    while (x != root) {
        x = parent_of(x);
        mls_node *p;
        if (!node_at(t, x))
            continue;
        if ((err = parent_for_write(t, x, &p)) != 0)
            break;
        uint32_t *v = realloc(p->parent.unmerged_leaves,
                              (p->parent.n_unmerged_leaves + 1) * sizeof(uint32_t));
        if (!v) {
            err = MLS_ERR_NOMEM;
            break;
        }
        p->parent.unmerged_leaves = v;
        v[p->parent.n_unmerged_leaves++] = i;
    }
    fix_up(t, 2 * i);
    if (err)
        return err;
    *leaf = i;
    return MLS_OK;
}

int mls_rtree_remove_leaf(mls_rtree *t, uint32_t leaf)
{
    if (leaf >= t->n_leaves || !node_at(t, 2 * leaf))
        return MLS_ERR_NOT_FOUND;
    int err = prep_mutation(t);
    if (err)
        return err;
    put_node(t, 2 * leaf, NULL);
    blank_path(t, leaf);
    truncate_tree(t);
    return MLS_OK;
}

int mls_rtree_set_leaf(mls_rtree *t, uint32_t leaf, const mls_leaf_node *ln)
{
    mls_node *nn;
    int err;

    if (leaf >= t->n_leaves || !ln)
        return MLS_ERR_ARG;
    if ((err = prep_mutation(t)) != 0)
        return err;
    err = check_keys(t, ln, leaf);
    if (err)
        return err;
    err = new_leaf_node(ln, &nn);
    if (err)
        return err;
    put_node(t, 2 * leaf, nn);
    fix_up(t, 2 * leaf);
    return MLS_OK;
}

int mls_rtree_update_leaf(mls_rtree *t, uint32_t leaf, const mls_leaf_node *ln)
{
    if (leaf >= t->n_leaves || !node_at(t, 2 * leaf))
        return MLS_ERR_NOT_FOUND;
    int err = mls_rtree_set_leaf(t, leaf, ln);
    if (err)
        return err;
    return mls_rtree_blank_path(t, leaf);
}

int mls_rtree_set_parent(mls_rtree *t, uint32_t node, const mls_parent_node *pn)
{
    mls_node *nn = NULL;
    int err;
    if (node >= mls_rtree_width(t) || !(node & 1))
        return MLS_ERR_ARG;
    if ((err = prep_mutation(t)) != 0)
        return err;
    if (pn) {
        nn = calloc(1, sizeof(*nn));
        if (!nn)
            return MLS_ERR_NOMEM;
        err = mls_parent_node_copy(&nn->parent, pn);
        if (err) {
            free(nn);
            return err;
        }
        nn->type = MLS_NODE_PARENT;
    }
    put_node(t, node, nn);
    fix_up(t, node);
    return MLS_OK;
}

/* ================================================================ overlay apply */

int mls_rtree_overlay(mls_rtree *ov, mls_rtree *base)
{
    if (!ov || !base || base->base)
        return MLS_ERR_ARG;
    mls_rtree_init(ov, base->suite);
    if (base->n_creds) {
        ov->creds = malloc(base->n_creds * sizeof(*ov->creds));
        if (!ov->creds)
            return MLS_ERR_NOMEM;
        memcpy(ov->creds, base->creds, base->n_creds * sizeof(*ov->creds));
        ov->n_creds = ov->cap_creds = base->n_creds;
    }
    ov->base = base;
    ov->n_leaves = base->n_leaves;
    return MLS_OK;
}

int mls_rtree_overlay_reserve(mls_rtree *ov)
{
    mls_rtree *b = ov->base;
    size_t new_leaves = 0;
    int err;

    if (!b)
        return MLS_ERR_ARG;
    uint32_t need = mls_rtree_width(ov);
    if (ov->ov_max > need)
        need = ov->ov_max;
    if ((err = ensure_cap(b, need ? need : 1)) != 0)
        return err;
    for (size_t i = 0; i < ov->ov_cap; i++) {
        const struct mls_rtree_ov_slot *sl = &ov->ov[i];
        if (sl->used && sl->owned && !(sl->x & 1))
            new_leaves++;
    }
    if ((err = ki_reserve(&b->by_enc, new_leaves)) != 0 ||
        (err = ki_reserve(&b->by_sig, new_leaves)) != 0)
        return err;
    return MLS_OK;
}

void mls_rtree_overlay_apply(mls_rtree *ov)
{
    mls_rtree *b = ov->base;
    size_t nh = b->suite->nh;

    /* The base's keys of the leaves the overlay replaced go first (their
     * nodes are still alive), then the slots, then the new leaves' keys:
     * a key that moved between leaves is never in the index twice. */
    for (size_t i = 0; i < ov->ov_cap; i++) {
        const struct mls_rtree_ov_slot *sl = &ov->ov[i];
        if (sl->used && !(sl->x & 1) && b->nodes[sl->x] != sl->node)
            unindex_leaf(b, sl->x / 2);
    }
    for (size_t i = 0; i < ov->ov_cap; i++) {
        const struct mls_rtree_ov_slot *sl = &ov->ov[i];
        uint32_t x = sl->x;
        if (!sl->used)
            continue;
        if (b->nodes[x] != sl->node) {
            node_free(b->nodes[x]);
            b->nodes[x] = sl->node;
        }
        b->nonblank[x] = sl->nonblank;
        b->members[x] = sl->members;
        b->hash_ok[x] = sl->hash_ok;
        if (sl->hash_ok)
            memcpy(b->hashes + (size_t)x * nh, sl->hash, nh);
    }
    for (size_t i = 0; i < ov->ov_cap; i++) {
        const struct mls_rtree_ov_slot *sl = &ov->ov[i];
        if (!sl->used || !sl->owned || (sl->x & 1))
            continue;
        const mls_leaf_node *ln = &sl->node->leaf;
        ki_put(&b->by_enc, ln->encryption_key.p, ln->encryption_key.n, sl->x / 2);
        ki_put(&b->by_sig, ln->signature_key.p, ln->signature_key.n, sl->x / 2);
    }
    b->n_leaves = ov->n_leaves;
    free(b->creds);
    b->creds = ov->creds;
    b->n_creds = ov->n_creds;
    b->cap_creds = ov->cap_creds;
    /* The nodes now belong to the base. */
    free(ov->ov);
    ki_clear(&ov->by_enc);
    ki_clear(&ov->by_sig);
    memset(ov, 0, sizeof(*ov));
}

/* ================================================================ tree hash (§7.8) */

/* LeafNodeHashInput / ParentNodeHashInput prefix for node x: node_type,
 * leaf_index or optional<ParentNode> (the latter with unmerged leaves in
 * `drop` (sorted, n_drop) removed, for original sibling tree hashes). */
static int write_leaf_input(mls_buf *w, uint32_t leaf, const mls_node *n)
{
    int err = mls_write_u8(w, MLS_NODE_LEAF);
    if (!err)
        err = mls_write_u32(w, leaf);
    if (!err)
        err = mls_write_u8(w, n ? 1 : 0);
    if (!err && n)
        err = mls_leaf_node_encode(&n->leaf, w);
    return err;
}

static int write_parent_opt(mls_buf *w, const mls_node *n, const uint32_t *drop, size_t n_drop)
{
    int err = mls_write_u8(w, n ? 1 : 0);
    if (err || !n)
        return err;
    const mls_parent_node *p = &n->parent;
    size_t mark;
    err = mls_write_vec_bytes(w, mls_buf_view(&p->encryption_key));
    if (!err)
        err = mls_write_vec_bytes(w, mls_buf_view(&p->parent_hash));
    if (!err)
        err = mls_write_vec_begin(w, &mark);
    for (size_t i = 0; !err && i < p->n_unmerged_leaves; i++)
        if (!excluded(drop, n_drop, p->unmerged_leaves[i]))
            err = mls_write_u32(w, p->unmerged_leaves[i]);
    if (!err)
        err = mls_write_vec_end(w, mark);
    return err;
}

static int hash_buf(const mls_suite *s, mls_buf *b, uint8_t *out)
{
    uint8_t h[MLS_MAX_HASH];
    int err = mls_hash(s, mls_buf_view(b), h);
    if (!err)
        memcpy(out, h, s->nh);
    return err;
}

static int parent_hash_input_hash(const mls_suite *s, const mls_node *n, const uint32_t *drop,
                                  size_t n_drop, const uint8_t *lh, const uint8_t *rh,
                                  uint8_t *out)
{
    uint8_t stack[512];
    mls_buf b;
    mls_buf_init_stack(&b, stack, sizeof(stack));
    int err = mls_write_u8(&b, MLS_NODE_PARENT);
    if (!err)
        err = write_parent_opt(&b, n, drop, n_drop);
    if (!err)
        err = mls_write_vec(&b, lh, s->nh);
    if (!err)
        err = mls_write_vec(&b, rh, s->nh);
    if (!err)
        err = hash_buf(s, &b, out);
    mls_buf_clear(&b);
    return err;
}

static int leaf_hash(const mls_suite *s, uint32_t leaf, const mls_node *n, uint8_t *out)
{
    uint8_t stack[512];
    mls_buf b;
    mls_buf_init_stack(&b, stack, sizeof(stack));
    int err = write_leaf_input(&b, leaf, n);
    if (!err)
        err = hash_buf(s, &b, out);
    mls_buf_clear(&b);
    return err;
}

/* Cached tree hash of x; recomputes stale nodes only (depth <= 32).  An
 * overlay computes the slots it touched and takes the others from its
 * base (whose subtrees under an untouched slot are untouched too, since
 * every change touches the whole path above it), caching them there. */
static int th(mls_rtree *t, uint32_t x, const uint8_t **out)
{
    size_t nh = t->suite->nh;
    uint8_t *h, *ok;
    int err;

    if (t->base) {
        struct mls_rtree_ov_slot *sl = ov_get(t, x);
        if (!sl) {
            if (x >= t->base->cap_nodes)
                return MLS_ERR_STATE;
            return th(t->base, x, out);
        }
        h = sl->hash;
        ok = &sl->hash_ok;
    } else {
        h = t->hashes + (size_t)x * nh;
        ok = &t->hash_ok[x];
    }
    if (!*ok) {
        if (lvl(x) == 0) {
            err = leaf_hash(t->suite, x / 2, node_at(t, x), h);
        } else {
            const uint8_t *lh, *rh;
            err = th(t, left_of(x), &lh);
            if (!err)
                err = th(t, right_of(x), &rh);
            if (!err)
                err = parent_hash_input_hash(t->suite, node_at(t, x), NULL, 0, lh, rh, h);
        }
        if (err)
            return err;
        *ok = 1;
    }
    *out = h;
    return MLS_OK;
}

int mls_rtree_tree_hash(mls_rtree *t, uint32_t node, uint8_t out[MLS_MAX_HASH])
{
    const uint8_t *h;
    if (node >= mls_rtree_width(t))
        return MLS_ERR_ARG;
    int err = th(t, node, &h);
    if (!err)
        memcpy(out, h, t->suite->nh);
    return err;
}

int mls_rtree_root_hash(mls_rtree *t, uint8_t out[MLS_MAX_HASH])
{
    if (!t->n_leaves)
        return MLS_ERR_STATE;
    return mls_rtree_tree_hash(t, root_of(t), out);
}

/*
 * Tree hash of x in the tree where the leaves drop[0..n_drop) (sorted,
 * all under x) are blanked and removed from every unmerged_leaves list
 * (§7.9 original_sibling_tree_hash).  Only the O(n_drop log n) nodes above
 * dropped leaves are rehashed; the others come from the cache.
 */
static int th_without(mls_rtree *t, uint32_t x, const uint32_t *drop, size_t n_drop,
                      uint8_t *out)
{
    const uint8_t *cached;
    int err;

    if (n_drop == 0) {
        err = th(t, x, &cached);
        if (!err)
            memcpy(out, cached, t->suite->nh);
        return err;
    }
    if (lvl(x) == 0)
        return leaf_hash(t->suite, x / 2, NULL, out);
    /* Leaves of the left child are those below x's middle. */
    uint32_t mid = (x + 1) / 2; /* first leaf index of the right child */
    size_t k = 0;
    while (k < n_drop && drop[k] < mid)
        k++;
    uint8_t lh[MLS_MAX_HASH], rh[MLS_MAX_HASH];
    err = th_without(t, left_of(x), drop, k, lh);
    if (!err)
        err = th_without(t, right_of(x), drop + k, n_drop - k, rh);
    if (!err)
        err = parent_hash_input_hash(t->suite, node_at(t, x), drop, n_drop, lh, rh, out);
    return err;
}

/* ================================================================ parent hash (§7.9) */

int mls_parent_hash(const mls_suite *s, mls_bytes encryption_key, mls_bytes parent_hash,
                    mls_bytes original_sibling_tree_hash, uint8_t out[MLS_MAX_HASH])
{
    uint8_t stack[512];
    mls_buf b;
    mls_buf_init_stack(&b, stack, sizeof(stack));
    int err = mls_write_vec_bytes(&b, encryption_key);
    if (!err)
        err = mls_write_vec_bytes(&b, parent_hash);
    if (!err)
        err = mls_write_vec_bytes(&b, original_sibling_tree_hash);
    if (!err)
        err = mls_hash(s, mls_buf_view(&b), out);
    mls_buf_clear(&b);
    return err;
}

int mls_rtree_path_parent_hashes(mls_rtree *t, const uint32_t *path, const uint32_t *copath,
                                 size_t len, const mls_bytes *pks, uint8_t phs[][MLS_MAX_HASH])
{
    size_t nh = t->suite->nh;
    (void)path;
    /* RFC 9420 §7.9: computed from the root down; the topmost node's own
     * parent_hash is empty. */
    for (size_t i = len; i-- > 0;) {
        const uint8_t *sib;
        int err = th(t, copath[i], &sib);
        if (!err)
            err = mls_parent_hash(t->suite, pks[i],
                                  i + 1 < len ? mls_bytes_of(phs[i + 1], nh)
                                              : mls_bytes_of(NULL, 0),
                                  mls_bytes_of(sib, nh), phs[i]);
        if (err)
            return err;
    }
    return MLS_OK;
}

/* The parent_hash field of a node, or NULL when it has none (blank, or a
 * leaf not from a commit). */
static const mls_buf *node_parent_hash(const mls_node *n)
{
    if (!n)
        return NULL;
    if (n->type == MLS_NODE_PARENT)
        return &n->parent.parent_hash;
    if (n->leaf.source == MLS_LEAF_SOURCE_COMMIT)
        return &n->leaf.parent_hash;
    return NULL;
}

/*
 * RFC 9420 §7.9.2 for parent P = x and child side c (sibling s): the
 * resolution of c minus P's unmerged leaves under c must be a single node
 * D, and D.parent_hash must be ParentHash(P) with copath child s.  `mark`
 * is a zeroed scratch array of node flags, left zeroed.  *valid gets 1 or 0.
 */
static int side_valid(mls_rtree *t, uint32_t x, uint32_t c, uint32_t s, uint8_t *mark,
                      mls_index_list *res, const uint32_t *sorted_unmerged, int *valid)
{
    const mls_parent_node *p = &node_at(t, x)->parent;
    uint32_t clo, chi, slo, shi;
    size_t matched = 0;
    int ok = 1, err;

    *valid = 0;
    res->n = 0;
    err = resolve(t, c, NULL, 0, res);
    if (err)
        return err;
    for (size_t i = 0; i < res->n; i++)
        mark[res->v[i]] = 1;
    leaf_range(c, &clo, &chi);
    for (size_t i = 0; i < p->n_unmerged_leaves; i++) {
        uint32_t u = p->unmerged_leaves[i];
        if (u < clo || u > chi)
            continue;
        /* Each unmerged leaf under c is in c's resolution, once. */
        if (!mark[2 * u]) {
            ok = 0;
            break;
        }
        mark[2 * u] = 0;
        matched++;
    }
    uint32_t d = UINT32_MAX;
    for (size_t i = 0; i < res->n; i++) {
        if (mark[res->v[i]])
            d = res->v[i];
        mark[res->v[i]] = 0;
    }
    if (!ok || res->n != matched + 1 || d == UINT32_MAX)
        return MLS_OK;

    const mls_buf *dph = node_parent_hash(node_at(t, d));
    if (!dph)
        return MLS_OK;
    /* original_sibling_tree_hash: s's tree hash without P's unmerged
     * leaves (sorted_unmerged) that lie under s. */
    leaf_range(s, &slo, &shi);
    size_t a = 0, n_unm = p->n_unmerged_leaves;
    while (a < n_unm && sorted_unmerged[a] < slo)
        a++;
    size_t b = a;
    while (b < n_unm && sorted_unmerged[b] <= shi)
        b++;
    uint8_t osth[MLS_MAX_HASH], ph[MLS_MAX_HASH];
    size_t nh = t->suite->nh;
    /* No unmerged leaves: sorted_unmerged may be NULL, and NULL + 0 is
     * undefined behaviour in C. */
    err = th_without(t, s, b > a ? sorted_unmerged + a : NULL, b - a, osth);
    if (!err)
        err = mls_parent_hash(t->suite, mls_buf_view(&p->encryption_key),
                              mls_buf_view(&p->parent_hash), mls_bytes_of(osth, nh), ph);
    if (err)
        return err;
    *valid = dph->n == nh && memcmp(dph->p, ph, nh) == 0;
    return MLS_OK;
}

int mls_rtree_verify_parent_hashes(mls_rtree *t)
{
    uint32_t w = mls_rtree_width(t);
    uint8_t *mark = NULL;
    uint32_t *sorted = NULL;
    size_t sorted_cap = 0;
    mls_index_list res;
    int err = MLS_OK;

    memset(&res, 0, sizeof(res));
    if (w == 0)
        return MLS_OK;
    mark = calloc(w, 1);
    if (!mark)
        return MLS_ERR_NOMEM;
    for (uint32_t x = 1; x < w; x += 2) {
        const mls_node *n = node_at(t, x);
        if (!n)
            continue;
        size_t nu = n->parent.n_unmerged_leaves;
        if (nu > sorted_cap) {
            uint32_t *v = realloc(sorted, nu * sizeof(*v));
            if (!v) {
                err = MLS_ERR_NOMEM;
                goto out;
            }
            sorted = v;
            sorted_cap = nu;
        }
        if (nu) {
            memcpy(sorted, n->parent.unmerged_leaves, nu * sizeof(*sorted));
            qsort(sorted, nu, sizeof(*sorted), cmp_u32);
        }
        int vl, vr;
        err = side_valid(t, x, left_of(x), right_of(x), mark, &res, sorted, &vl);
        if (!err)
            err = side_valid(t, x, right_of(x), left_of(x), mark, &res, sorted, &vr);
        if (err)
            goto out;
        /* RFC 9420 §7.9.2: each non-blank parent is covered by exactly one
         * chain link from below. */
        if (vl + vr != 1) {
            err = MLS_DETAIL(MLS_ERR_INVALID,
                             "RFC 9420 §7.9.2: parent node not covered by exactly one parent-hash chain");
            goto out;
        }
    }
out:
    free(mark);
    free(sorted);
    mls_index_list_clear(&res);
    return err;
}

/* ================================================================ leaf validation (§7.3) */

/* RFC 9420 §7.2: the default proposal and extension types are supported
 * by every client without being listed. */
static int ext_supported(const mls_capabilities *c, uint16_t type)
{
    return (type >= MLS_EXT_APPLICATION_ID && type <= MLS_EXT_EXTERNAL_SENDERS) ||
           mls_u16_list_contains(&c->extensions, type);
}

static int proposal_supported(const mls_capabilities *c, uint16_t type)
{
    return (type >= MLS_PROPOSAL_ADD && type <= MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS) ||
           mls_u16_list_contains(&c->proposals, type);
}

int mls_leaf_node_validate(const mls_suite *s, const mls_leaf_node *ln, uint32_t leaf,
                           const mls_leaf_check *chk)
{
    const mls_capabilities *c = &ln->capabilities;
    int err;

    if (ln->source < MLS_LEAF_SOURCE_KEY_PACKAGE || ln->source > MLS_LEAF_SOURCE_COMMIT)
        return MLS_DETAIL(MLS_ERR_INVALID, "RFC 9420 §7.2: unknown leaf_node_source");
    /* The credential type is one the leaf itself lists (§7.2). */
    if (!mls_u16_list_contains(&c->credentials, ln->credential.type))
        return MLS_DETAIL(MLS_ERR_INVALID,
                          "RFC 9420 §7.2: leaf capabilities lack its own credential type");
    /* Every leaf extension is listed in the capabilities and appears once. */
    err = mls_extension_list_check_unique(&ln->extensions);
    if (err)
        return MLS_DETAIL(err, "RFC 9420 §13: a leaf extension type appears twice");
    for (size_t i = 0; i < ln->extensions.n; i++)
        if (!ext_supported(c, ln->extensions.v[i].type))
            return MLS_DETAIL(MLS_ERR_INVALID,
                              "RFC 9420 §7.2: leaf extension not listed in capabilities");
    if (chk && chk->required) {
        const mls_required_capabilities *r = chk->required;
        for (size_t i = 0; i < r->extension_types.n; i++)
            if (!ext_supported(c, r->extension_types.v[i]))
                return MLS_DETAIL(MLS_ERR_INVALID,
                                  "RFC 9420 §11.1: leaf lacks a required extension type");
        for (size_t i = 0; i < r->proposal_types.n; i++)
            if (!proposal_supported(c, r->proposal_types.v[i]))
                return MLS_DETAIL(MLS_ERR_INVALID,
                                  "RFC 9420 §11.1: leaf lacks a required proposal type");
        for (size_t i = 0; i < r->credential_types.n; i++)
            if (!mls_u16_list_contains(&c->credentials, r->credential_types.v[i]))
                return MLS_DETAIL(MLS_ERR_INVALID,
                                  "RFC 9420 §11.1: leaf lacks a required credential type");
    }
    if (chk && chk->check_lifetime && ln->source == MLS_LEAF_SOURCE_KEY_PACKAGE &&
        (chk->now < ln->lifetime.not_before || chk->now > ln->lifetime.not_after))
        return MLS_DETAIL(MLS_ERR_EXPIRED, "RFC 9420 §7.3: leaf lifetime does not include now");
    return mls_leaf_node_verify(s, ln, chk ? chk->group_id : mls_bytes_of(NULL, 0), leaf);
}

int mls_rtree_check_leaf_fits(const mls_rtree *t, const mls_leaf_node *ln, uint32_t leaf)
{
    const mls_node *cur = leaf < t->n_leaves ? node_at(t, 2 * leaf) : NULL;
    const mls_leaf_node *cl = cur ? &cur->leaf : NULL;
    const mls_rtree_cred_count *c;
    uint32_t other;

    if (!tree_find(t, 0, mls_buf_view(&ln->encryption_key), &other) && other != leaf)
        return MLS_DETAIL(MLS_ERR_INVALID, "RFC 9420 §7.3: encryption key already in the tree");
    if (!tree_find(t, 1, mls_buf_view(&ln->signature_key), &other) && other != leaf)
        return MLS_DETAIL(MLS_ERR_INVALID, "RFC 9420 §7.3: signature key already in the tree");
    /* §7.3: every other member supports ln's credential type ... */
    uint32_t others = mls_rtree_member_count(t) - (cl ? 1u : 0u);
    c = cred_find(t, ln->credential.type);
    uint32_t sup = c ? c->supported : 0;
    if (cl && mls_u16_list_contains(&cl->capabilities.credentials, ln->credential.type))
        sup--;
    if (sup != others)
        return MLS_DETAIL(MLS_ERR_INVALID,
                          "RFC 9420 §7.3: a member does not support the leaf's credential type");
    /* ... and ln supports every type the others use. */
    for (size_t i = 0; i < t->n_creds; i++) {
        uint32_t used = t->creds[i].used - (cl && cl->credential.type == t->creds[i].type);
        if (used && !mls_u16_list_contains(&ln->capabilities.credentials, t->creds[i].type))
            return MLS_DETAIL(MLS_ERR_INVALID,
                              "RFC 9420 §7.3: the leaf does not support a credential type in use");
    }
    return MLS_OK;
}
static int cmp_u16_fn(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_bytes(const void *a, const void *b)
{
    const mls_bytes *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? -1 : 1;
    return x->n ? memcmp(x->p, y->p, x->n) : 0;
}

/* 1 if the n views contain a duplicate (sorts them). */
static int has_duplicate(mls_bytes *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_bytes);
    for (size_t i = 1; i < n; i++)
        if (cmp_bytes(&v[i - 1], &v[i]) == 0)
            return 1;
    return 0;
}

/* One item of the parallel leaf validation: the leaf at leaves[i]. */
typedef struct leaf_job {
    const mls_rtree *t;
    const mls_leaf_check *chk;
    const uint32_t *leaves;
} leaf_job;

static int validate_leaf_item(void *arg, size_t i)
{
    const leaf_job *j = arg;
    const mls_node *n = node_at(j->t, 2 * j->leaves[i]);
    return mls_leaf_node_validate(j->t->suite, &n->leaf, j->leaves[i], j->chk);
}

int mls_rtree_verify_leaves(const mls_rtree *t, const mls_leaf_check *chk)
{
    uint32_t w = mls_rtree_width(t);
    mls_bytes *enc = NULL, *sig = NULL;
    uint16_t *types = NULL;
    uint32_t *leaves = NULL;
    size_t n_enc = 0, n_sig = 0, n_types = 0, n_leaves = 0;
    leaf_job job;
    int err = MLS_OK;

    if (w == 0)
        return MLS_OK;
    enc = malloc(w * sizeof(*enc));
    sig = malloc(t->n_leaves * sizeof(*sig));
    types = malloc(t->n_leaves * sizeof(*types));
    leaves = malloc(t->n_leaves * sizeof(*leaves));
    if (!enc || !sig || !types || !leaves) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    /* The per-leaf checks (a signature each: nearly all of a join's time)
     * run through the executor; the first failing leaf in tree order is
     * the one reported, as in a sequential scan. */
    for (uint32_t x = 0; x < w; x += 2)
        if (node_at(t, x))
            leaves[n_leaves++] = x / 2;
    job.t = t;
    job.chk = chk;
    job.leaves = leaves;
    err = mls_exec_for(chk ? chk->env : NULL, n_leaves, validate_leaf_item, &job);
    if (err)
        goto out;
    for (uint32_t x = 0; x < w; x++) {
        const mls_node *n = node_at(t, x);
        if (!n)
            continue;
        if (n->type == MLS_NODE_PARENT) {
            enc[n_enc++] = mls_buf_view(&n->parent.encryption_key);
            continue;
        }
        enc[n_enc++] = mls_buf_view(&n->leaf.encryption_key);
        sig[n_sig++] = mls_buf_view(&n->leaf.signature_key);
        types[n_types++] = n->leaf.credential.type;
    }
    /* RFC 9420 §7.3: encryption and signature keys are unique. */
    if (has_duplicate(enc, n_enc) || has_duplicate(sig, n_sig)) {
        err = MLS_DETAIL(MLS_ERR_INVALID, "RFC 9420 §7.3: an encryption or signature key repeats");
        goto out;
    }
    /* Distinct credential types in use, then every member supports all. */
    qsort(types, n_types, sizeof(*types), cmp_u16_fn);
    size_t d = 0;
    for (size_t i = 0; i < n_types; i++)
        if (d == 0 || types[d - 1] != types[i])
            types[d++] = types[i];
    for (uint32_t i = 0; i < t->n_leaves; i++) {
        const mls_node *n = node_at(t, 2 * i);
        if (!n)
            continue;
        for (size_t j = 0; j < d; j++)
            if (!mls_u16_list_contains(&n->leaf.capabilities.credentials, types[j])) {
                err = MLS_DETAIL(MLS_ERR_INVALID,
                                 "RFC 9420 §7.3: a member does not support a credential type in use");
                goto out;
            }
    }
out:
    free(enc);
    free(sig);
    free(types);
    free(leaves);
    return err;
}

int mls_rtree_verify_join(mls_rtree *t, mls_bytes expected_tree_hash, const mls_leaf_check *chk)
{
    uint8_t h[MLS_MAX_HASH];
    int err = mls_rtree_root_hash(t, h);
    if (err)
        return err == MLS_ERR_STATE ? MLS_ERR_INVALID : err;
    if (expected_tree_hash.n != t->suite->nh || memcmp(h, expected_tree_hash.p, t->suite->nh))
        return MLS_DETAIL(MLS_ERR_INVALID,
                          "RFC 9420 §12.4.3.1: tree hash differs from the GroupContext's");
    err = mls_rtree_verify_parent_hashes(t);
    if (!err)
        err = mls_rtree_verify_leaves(t, chk);
    return err;
}
