/*
 * Tree hashes (RFC 9420 §7.8) and parent hashes (§7.9) of the ratchet tree:
 * computation, cached per node, and verification of the parent-hash chains.
 */
#include "ratchet_tree_int.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "detail.h"

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
    err = mls_rt_resolve(t, c, NULL, 0, res);
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
