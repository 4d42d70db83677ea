/*
 * The ratchet tree (RFC 9420 §4, §7, §12.1): see ratchet_tree.h for the
 * representation and the cost of each operation, ratchet_tree_int.h for
 * how its jobs are split over the ratchet_tree*.c files.  This file holds
 * the storage: the key indexes, the overlay slots, the credential type and
 * subtree counts, and every mutation.
 */
#include "ratchet_tree_int.h"

#include <stdlib.h>
#include <string.h>

uint32_t mls_rtree_width(const mls_rtree *t)
{
    return mls_tm_node_width(t->n_leaves);
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
 * (The slot table itself is in ratchet_tree_int.h.) */

/* Slots any single mutating operation may touch: the leaf, its direct
 * path, and the roots dropped or added by truncation / extension. */
#define OV_OP_SLOTS (3u * MLS_TREE_MAX_DEPTH + 8u)

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
int mls_rt_tree_find(const mls_rtree *t, int sig, mls_bytes key, uint32_t *leaf)
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
int mls_rt_ensure_cap(mls_rtree *t, uint32_t width)
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
 * trees count in mls_rt_index_leaf and put_node; an overlay keeps its own
 * copy of the counts, which replaces the base's when it is applied. */

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

int mls_rt_index_leaf(mls_rtree *t, uint32_t leaf)
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
void mls_rt_rebuild_counts(mls_rtree *t)
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
    err = mls_rt_ensure_cap(&t, w ? w : 1);
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
        err = mls_rt_index_leaf(&t, i);
        if (err)
            goto out;
    }
    *dst = t;
    return MLS_OK;
out:
    mls_rtree_clear(&t);
    return err;
}

/* ================================================================ key lookup */

int mls_rtree_find_encryption_key(const mls_rtree *t, mls_bytes key, uint32_t *leaf)
{
    return mls_rt_tree_find(t, 0, key, leaf);
}

int mls_rtree_find_signature_key(const mls_rtree *t, mls_bytes key, uint32_t *leaf)
{
    return mls_rt_tree_find(t, 1, key, leaf);
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
    int err = mls_rt_ensure_cap(t->base ? t->base : t, mls_tm_node_width(leaves));
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
    if (!mls_rt_tree_find(t, 0, mls_buf_view(&ln->encryption_key), &other) && other != leaf)
        return MLS_ERR_INVALID;
    if (!mls_rt_tree_find(t, 1, mls_buf_view(&ln->signature_key), &other) && other != leaf)
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
    if ((err = mls_rt_ensure_cap(b, need ? need : 1)) != 0)
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
