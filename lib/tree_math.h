/*
 * Array-based tree math (RFC 9420 §4, §7 and Appendix C).
 *
 * A tree with n leaves has node_width(n) = 2n-1 nodes; leaf i is node 2i,
 * parent nodes have odd indices.  RFC 9420 trees are always full (§7.7:
 * the tree grows by doubling and shrinks by halving), so n must be a power
 * of two; the largest tree we accept has 2^31 leaves, whose 2^32-1 node
 * indices fit in a uint32_t.
 *
 * Functions whose answer depends on the tree size take n_leaves and check
 * it and the node index: MLS_ERR_ARG for a bad size or an index outside the
 * tree, MLS_ERR_NOT_FOUND when the node has no such relative (a leaf has
 * no children, the root has no parent or sibling).  Outputs are written
 * only on success.
 */
#ifndef MLS_TREE_MATH_H
#define MLS_TREE_MATH_H

#include "mls/mls.h"

/* Longest direct path or copath: a tree of 2^31 leaves has depth 31. */
#define MLS_TREE_MAX_DEPTH 32
#define MLS_TREE_MAX_LEAVES 0x80000000u

/* 1 if n_leaves is a power of two in [1, 2^31], 0 otherwise. */
int mls_tm_valid_leaves(uint32_t n_leaves);
/* The exponent of the largest power of two <= x (0 for x = 0). */
uint32_t mls_tm_log2(uint32_t x);
/* Level of node x: leaves are level 0, their parents level 1, ... */
uint32_t mls_tm_level(uint32_t x);
/* 1 if node x is a leaf (even index). */
int mls_tm_is_leaf(uint32_t x);
/* Number of nodes of a tree with n leaves: 0 for 0, else 2(n-1)+1.
 * n_leaves must be at most 2^31. */
uint32_t mls_tm_node_width(uint32_t n_leaves);
/* Root node index of a tree with a valid number of leaves. */
uint32_t mls_tm_root(uint32_t n_leaves);

/* Leaf index -> node index (2 * leaf), checked against the tree size. */
MLS_MUST_CHECK int mls_tm_leaf_to_node(uint32_t n_leaves, uint32_t leaf, uint32_t *node);
/* Node index -> leaf index; MLS_ERR_ARG if the node is not a leaf of the
 * tree. */
MLS_MUST_CHECK int mls_tm_node_to_leaf(uint32_t n_leaves, uint32_t node, uint32_t *leaf);

MLS_MUST_CHECK int mls_tm_left(uint32_t n_leaves, uint32_t x, uint32_t *out);
MLS_MUST_CHECK int mls_tm_right(uint32_t n_leaves, uint32_t x, uint32_t *out);
MLS_MUST_CHECK int mls_tm_parent(uint32_t n_leaves, uint32_t x, uint32_t *out);
MLS_MUST_CHECK int mls_tm_sibling(uint32_t n_leaves, uint32_t x, uint32_t *out);

/* RFC 9420 §4.1.2: the direct path of x (its parent, grandparent, ... up to
 * and including the root), ordered from x towards the root, and the copath
 * (the siblings of x and of every node of its direct path except the root).
 * Both have the same length; the root has empty ones.  out holds
 * MLS_TREE_MAX_DEPTH entries. */
MLS_MUST_CHECK int mls_tm_direct_path(uint32_t n_leaves, uint32_t x,
                                      uint32_t out[MLS_TREE_MAX_DEPTH], size_t *len);
MLS_MUST_CHECK int mls_tm_copath(uint32_t n_leaves, uint32_t x, uint32_t out[MLS_TREE_MAX_DEPTH],
                                 size_t *len);

/* The lowest node that is x or y or an ancestor of both. */
MLS_MUST_CHECK int mls_tm_common_ancestor(uint32_t n_leaves, uint32_t x, uint32_t y,
                                          uint32_t *out);

#endif
