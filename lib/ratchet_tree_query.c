/*
 * Reading the ratchet tree: index lists, accessors, the roster, and the
 * resolutions and filtered direct paths of RFC 9420 §4.1.2.
 */
#include "ratchet_tree_int.h"

#include <stdlib.h>
#include <string.h>

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

/* ================================================================ resolution */

/* RFC 9420 §4.1.2: a non-blank node resolves to itself followed by its
 * unmerged leaves; a blank leaf to nothing; a blank parent to the
 * resolutions of its children.  All-blank subtrees are skipped in O(1). */
int mls_rt_resolve(const mls_rtree *t, uint32_t x, const uint32_t *ex, size_t n_ex,
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
    err = mls_rt_resolve(t, left_of(x), ex, n_ex, out);
    if (!err)
        err = mls_rt_resolve(t, right_of(x), ex, n_ex, out);
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
    err = mls_rt_resolve(t, node, ex, n_exclude, &l);
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
