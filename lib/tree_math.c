/* RFC 9420 Appendix C: array-based trees. */
#include "tree_math.h"

int mls_tm_valid_leaves(uint32_t n_leaves)
{
    return n_leaves != 0 && (n_leaves & (n_leaves - 1)) == 0 && n_leaves <= MLS_TREE_MAX_LEAVES;
}

uint32_t mls_tm_log2(uint32_t x)
{
    uint32_t k = 0;
    if (x == 0)
        return 0;
    while (x >>= 1)
        k++;
    return k;
}

uint32_t mls_tm_level(uint32_t x)
{
    uint32_t k = 0;
    while (x & 1) {
        k++;
        x >>= 1;
    }
    return k;
}

int mls_tm_is_leaf(uint32_t x)
{
    return (x & 1) == 0;
}

uint32_t mls_tm_node_width(uint32_t n_leaves)
{
    if (n_leaves == 0)
        return 0;
    /* 2(n-1)+1 without overflow for n = 2^31. */
    return (uint32_t)(2u * (n_leaves - 1u) + 1u);
}

uint32_t mls_tm_root(uint32_t n_leaves)
{
    uint32_t w = mls_tm_node_width(n_leaves);
    return (uint32_t)((1u << mls_tm_log2(w)) - 1u);
}

/* The size is valid and x is a node of the tree. */
static int check_node(uint32_t n_leaves, uint32_t x)
{
    if (!mls_tm_valid_leaves(n_leaves) || x >= mls_tm_node_width(n_leaves))
        return MLS_ERR_ARG;
    return MLS_OK;
}

int mls_tm_leaf_to_node(uint32_t n_leaves, uint32_t leaf, uint32_t *node)
{
    if (!mls_tm_valid_leaves(n_leaves) || leaf >= n_leaves)
        return MLS_ERR_ARG;
    *node = 2u * leaf;
    return MLS_OK;
}

int mls_tm_node_to_leaf(uint32_t n_leaves, uint32_t node, uint32_t *leaf)
{
    int err = check_node(n_leaves, node);
    if (err)
        return err;
    if (!mls_tm_is_leaf(node))
        return MLS_ERR_ARG;
    *leaf = node / 2u;
    return MLS_OK;
}

/* RFC 9420 Appendix C: left(x) = x ^ (0x01 << (k - 1)) and
 * right(x) = x ^ (0x03 << (k - 1)), k = level(x); leaves have no children.
 * In a full tree the right child always exists (no truncation). */
static int child(uint32_t n_leaves, uint32_t x, uint32_t bits, uint32_t *out)
{
    int err = check_node(n_leaves, x);
    if (err)
        return err;
    uint32_t k = mls_tm_level(x);
    if (k == 0)
        return MLS_ERR_NOT_FOUND;
    *out = x ^ (bits << (k - 1));
    return MLS_OK;
}

int mls_tm_left(uint32_t n_leaves, uint32_t x, uint32_t *out)
{
    return child(n_leaves, x, 1u, out);
}

int mls_tm_right(uint32_t n_leaves, uint32_t x, uint32_t *out)
{
    return child(n_leaves, x, 3u, out);
}

/* Parent of a non-root node of a full tree. */
static uint32_t parent_step(uint32_t x)
{
    uint32_t k = mls_tm_level(x);
    uint32_t b = (x >> (k + 1)) & 1u;
    return (x | (1u << k)) ^ (b << (k + 1));
}

/* Sibling of a non-root node of a full tree: the other child of its
 * parent p, whose children are p - 2^(k-1) and p + 2^(k-1). */
static uint32_t sibling_step(uint32_t x)
{
    uint32_t p = parent_step(x);
    uint32_t half = 1u << (mls_tm_level(p) - 1);
    return x < p ? p + half : p - half;
}

/* 0 if x is a node of the tree other than its root. */
static int check_non_root(uint32_t n_leaves, uint32_t x)
{
    int err = check_node(n_leaves, x);
    if (err)
        return err;
    return x == mls_tm_root(n_leaves) ? MLS_ERR_NOT_FOUND : MLS_OK;
}

int mls_tm_parent(uint32_t n_leaves, uint32_t x, uint32_t *out)
{
    int err = check_non_root(n_leaves, x);
    if (err)
        return err;
    *out = parent_step(x);
    return MLS_OK;
}

int mls_tm_sibling(uint32_t n_leaves, uint32_t x, uint32_t *out)
{
    int err = check_non_root(n_leaves, x);
    if (err)
        return err;
    *out = sibling_step(x);
    return MLS_OK;
}

int mls_tm_direct_path(uint32_t n_leaves, uint32_t x, uint32_t out[MLS_TREE_MAX_DEPTH],
                       size_t *len)
{
    int err = check_node(n_leaves, x);
    if (err)
        return err;
    uint32_t r = mls_tm_root(n_leaves);
    size_t n = 0;
    while (x != r) {
        x = parent_step(x);
        out[n++] = x;
    }
    *len = n;
    return MLS_OK;
}

int mls_tm_copath(uint32_t n_leaves, uint32_t x, uint32_t out[MLS_TREE_MAX_DEPTH], size_t *len)
{
    int err = check_node(n_leaves, x);
    if (err)
        return err;
    uint32_t r = mls_tm_root(n_leaves);
    size_t n = 0;
    while (x != r) {
        out[n++] = sibling_step(x);
        x = parent_step(x);
    }
    *len = n;
    return MLS_OK;
}

int mls_tm_common_ancestor(uint32_t n_leaves, uint32_t x, uint32_t y, uint32_t *out)
{
    int err = check_node(n_leaves, x);
    if (!err)
        err = check_node(n_leaves, y);
    if (err)
        return err;
    /* Appendix C common_ancestor_direct.  A node at level l spans the
     * indices sharing its bits above position l; 64-bit arithmetic because
     * the shifts can reach 32 in a tree of 2^31 leaves. */
    uint64_t lx = (uint64_t)mls_tm_level(x) + 1, ly = (uint64_t)mls_tm_level(y) + 1;
    uint64_t xn = x, yn = y;
    if (lx <= ly && (xn >> ly) == (yn >> ly)) {
        *out = y;
        return MLS_OK;
    }
    if (ly <= lx && (xn >> lx) == (yn >> lx)) {
        *out = x;
        return MLS_OK;
    }
    uint64_t k = 0;
    while (xn != yn) {
        xn >>= 1;
        yn >>= 1;
        k++;
    }
    *out = (uint32_t)((xn << k) + ((uint64_t)1 << (k - 1)) - 1);
    return MLS_OK;
}
