/*
 * The ratchet tree on the wire (RFC 9420 §12.4.3.3): import with the
 * structural checks, export and encoding.
 */
#include "ratchet_tree_int.h"

#include <stdlib.h>
#include <string.h>

#include "detail.h"

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
    err = mls_rt_ensure_cap(&tr, w);
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
    mls_rt_rebuild_counts(&tr);
    for (uint32_t i = 0; i < leaves; i++) {
        /* RFC 9420 §7.3: encryption and signature keys are unique among
         * the members. */
        err = mls_rt_index_leaf(&tr, i);
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
