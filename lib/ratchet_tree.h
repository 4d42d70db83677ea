/*
 * The ratchet tree of RFC 9420 §4 and §7: an in-memory, array-based tree
 * that owns its nodes, with cached tree hashes, parent hashes, resolutions,
 * leaf validation and the Add / Remove / Update tree operations (§12.1).
 *
 * Representation.  A tree always has n_leaves = 2^d leaves (or none) and
 * node_width(n_leaves) node slots; leaf i is node 2i (RFC 9420 Appendix C).
 * A slot is a pointer to a heap mls_node, NULL when the node is blank, so a
 * blank node costs one pointer.  Beside the slots the tree keeps, per node,
 * the cached tree hash (suite->nh bytes) with a validity flag and the number
 * of non-blank nodes in the node's subtree (so "is the resolution empty?",
 * needed for filtered direct paths, is O(1)), and two hash indexes mapping a
 * leaf's encryption key and signature key to its leaf index.
 *
 * Performance (design decision 7).  Every mutation marks the tree hashes of
 * the changed node and its ancestors stale and fixes the subtree counts
 * along that path: O(log n).  mls_rtree_tree_hash recomputes only stale
 * nodes, so after a commit only O(log n) nodes are rehashed.  An overlay
 * (below) makes the provisional copy a commit works on O(1), so creating
 * or processing a commit touches O(log n) slots per proposal and path,
 * never all n.  Import is O(n); join verification (tree hash, parent hashes, leaves) is linear in
 * the tree size plus the total length of the unmerged_leaves lists (times
 * log n hashing for the few parents whose unmerged leaves lie under the
 * sibling).  Key lookups are expected O(1).
 *
 * Overlays.  A commit is applied to a provisional copy of the tree so that
 * a commit that fails leaves the group unchanged (RFC 9420 §12.4.2).  A
 * deep copy costs O(n); an overlay (mls_rtree_overlay) costs O(1): it is a
 * view of a base tree that records only the node slots it changes (node,
 * counts and cached hash per touched slot, in a small hash table, nodes
 * copied on write), so that creating or processing a commit touches
 * O(log n) slots per proposal and path.  Reading an untouched slot reads
 * the base.  mls_rtree_overlay_apply writes the changes into the base in
 * O(changed slots); mls_rtree_clear discards them.  The base must not be
 * mutated while an overlay over it is in use (clearing a stale overlay is
 * always safe: it frees only what it owns and never reads the base); an
 * overlay may grow the base's storage capacity and fill the base's hash
 * cache for slots it did not touch, neither of which changes the base.
 * Every function below accepts an overlay wherever it accepts a tree.
 *
 * Ownership.  Accessors return pointers into the tree, valid until the next
 * mutation of the tree (or of its base).  Functions that take a LeafNode
 * copy it.  Mutating functions either succeed or leave the tree as it was
 * (except on MLS_ERR_NOMEM from the hash indexes, where the tree is left
 * consistent but the operation may be half done; callers treat NOMEM as
 * fatal for the tree, which they work on as a provisional copy anyway).
 */
#ifndef MLS_RATCHET_TREE_H
#define MLS_RATCHET_TREE_H

#include "messages.h"
#include "tree_math.h"

/* A growable list of node or leaf indices (resolutions, rosters).  A zeroed
 * list is empty; mls_index_list_clear frees it. */
typedef struct mls_index_list {
    uint32_t *v;
    size_t n;
    size_t cap;
} mls_index_list;

void mls_index_list_clear(mls_index_list *l);
MLS_MUST_CHECK int mls_index_list_push(mls_index_list *l, uint32_t x);

/* Hash index from key bytes to a leaf index (internal to ratchet_tree.c). */
typedef struct mls_rtree_key_index {
    struct mls_rtree_key_slot *slots;
    size_t cap; /* 0 or a power of two */
    size_t n;
} mls_rtree_key_index;

/* Per credential type: how many leaves use it and how many list it in
 * capabilities.credentials (internal to the ratchet_tree*.c files). */
typedef struct mls_rtree_cred_count {
    uint16_t type;
    uint32_t used;
    uint32_t supported;
} mls_rtree_cred_count;

typedef struct mls_rtree {
    const mls_suite *suite;
    uint32_t n_leaves;    /* 0 or a power of two */
    mls_node **nodes;     /* node_width(n_leaves) slots, NULL = blank */
    uint8_t *hashes;      /* node_width * suite->nh cached tree hashes */
    uint8_t *hash_ok;     /* per node: 1 if hashes[] is current */
    uint32_t *nonblank;   /* per node: non-blank nodes in its subtree */
    uint32_t *members;    /* per node: non-blank leaves in its subtree */
    uint32_t cap_nodes;   /* allocated node slots */
    mls_rtree_key_index by_enc; /* leaf encryption_key -> leaf index */
    mls_rtree_key_index by_sig; /* leaf signature_key -> leaf index */
    mls_rtree_cred_count *creds; /* credential types of the leaves (an
                                  * overlay keeps its own full copy) */
    size_t n_creds, cap_creds;
    /* Overlay only (base != NULL): the arrays above are unused, the key
     * indexes hold the keys of the leaves the overlay put in, and ov is an
     * open-addressing table of the touched slots (ov_cap 0 or a power of
     * two), ov_max one past the highest touched node index. */
    struct mls_rtree *base;
    struct mls_rtree_ov_slot *ov;
    size_t ov_cap;
    size_t ov_n;
    uint32_t ov_max;
} mls_rtree;

/* ---------------------------------------------------------------- lifetime */

/* An empty tree (no leaves) for the suite. */
void mls_rtree_init(mls_rtree *t, const mls_suite *s);
/* Frees every node (wiping nothing secret: the tree holds public data only)
 * and zeroes t.  Safe on a zeroed tree and twice. */
void mls_rtree_clear(mls_rtree *t);
/* Deep copy (with the caches), O(n); dst must be cleared or zeroed and
 * becomes a plain tree also when src is an overlay. */
MLS_MUST_CHECK int mls_rtree_copy(mls_rtree *dst, const mls_rtree *src);
/* Makes ov (cleared or zeroed) an overlay over base, which must be a plain
 * tree (MLS_ERR_ARG otherwise): O(1).  See "Overlays" above. */
MLS_MUST_CHECK int mls_rtree_overlay(mls_rtree *ov, mls_rtree *base);
/* The base of an overlay, NULL for a plain tree. */
static inline mls_rtree *mls_rtree_overlay_base(const mls_rtree *t)
{
    return t->base;
}
/* Allocates what mls_rtree_overlay_apply needs in the base (storage and
 * key index room): the only step of applying that can fail (MLS_ERR_NOMEM,
 * the base unchanged but for capacity). */
MLS_MUST_CHECK int mls_rtree_overlay_reserve(mls_rtree *ov);
/* Writes the overlay's changes into its base, which then equals the
 * overlay's view, in O(touched slots); ov is left cleared (its nodes now
 * belong to the base).  Must directly follow a successful
 * mls_rtree_overlay_reserve, with no mutation of either tree between. */
void mls_rtree_overlay_apply(mls_rtree *ov);

/* ---------------------------------------------------------------- wire form */

/*
 * RFC 9420 §12.4.3.3: builds t (which must be cleared or zeroed) from a
 * wire ratchet_tree.  Structural checks only: the vector is non-empty, has
 * an odd length, its last node is non-blank, leaves sit at even indices and
 * parents at odd ones, unmerged_leaves name non-blank leaves in the node's
 * subtree, no two leaves share an encryption or signature key
 * (MLS_ERR_INVALID otherwise).  The tree is extended with blanks to
 * a full tree.  Cryptographic validation: mls_rtree_verify_join.
 */
MLS_MUST_CHECK int mls_rtree_import(mls_rtree *t, const mls_suite *s,
                                    const mls_ratchet_tree *wire);
/* Decode (strict, whole buffer) + import. */
MLS_MUST_CHECK int mls_rtree_import_bytes(mls_rtree *t, const mls_suite *s, mls_bytes in);
/* The wire form, without trailing blank nodes (§12.4.3.3).  *out must be
 * cleared or zeroed; it gets deep copies. */
MLS_MUST_CHECK int mls_rtree_export(const mls_rtree *t, mls_ratchet_tree *out);
/* Appends the TLS encoding of the truncated ratchet_tree<V> to w. */
MLS_MUST_CHECK int mls_rtree_encode(const mls_rtree *t, mls_buf *w);

/* ---------------------------------------------------------------- accessors */

static inline uint32_t mls_rtree_n_leaves(const mls_rtree *t)
{
    return t->n_leaves;
}
/* node_width(n_leaves). */
uint32_t mls_rtree_width(const mls_rtree *t);
/* The node, or NULL if blank or outside the tree. */
const mls_node *mls_rtree_node(const mls_rtree *t, uint32_t node);
/* The leaf node at leaf index i, or NULL if blank or outside the tree. */
const mls_leaf_node *mls_rtree_leaf(const mls_rtree *t, uint32_t leaf);
/* The parent node at (odd) node index x, or NULL if blank / not a parent. */
const mls_parent_node *mls_rtree_parent(const mls_rtree *t, uint32_t node);
/* The HPKE public key of a non-blank node (leaf or parent); an empty view
 * for a blank node. */
mls_bytes mls_rtree_node_public_key(const mls_rtree *t, uint32_t node);
/* Number of non-blank leaves. */
uint32_t mls_rtree_member_count(const mls_rtree *t);
/* Roster: the leaf indices of the non-blank leaves, ascending (replaces the
 * contents of out). */
MLS_MUST_CHECK int mls_rtree_roster(const mls_rtree *t, mls_index_list *out);
/* Leaf index whose leaf has this encryption key / signature key, or
 * MLS_ERR_NOT_FOUND.  Expected O(1). */
MLS_MUST_CHECK int mls_rtree_find_encryption_key(const mls_rtree *t, mls_bytes key,
                                                 uint32_t *leaf);
MLS_MUST_CHECK int mls_rtree_find_signature_key(const mls_rtree *t, mls_bytes key,
                                                uint32_t *leaf);

/* ---------------------------------------------------------------- structure */

/*
 * RFC 9420 §4.1.2 resolution of a node, ordered left to right (node
 * indices), with unmerged leaves after the node that lists them.  Leaves
 * whose index is in `exclude` (sorted or not, n_exclude entries; new members
 * of the commit, §12.4.2) are omitted.  Replaces the contents of out.
 */
MLS_MUST_CHECK int mls_rtree_resolution(const mls_rtree *t, uint32_t node,
                                        const uint32_t *exclude, size_t n_exclude,
                                        mls_index_list *out);
/* 1 if the resolution of node is empty (all of its subtree blank). O(1). */
int mls_rtree_resolution_empty(const mls_rtree *t, uint32_t node);
/*
 * RFC 9420 §4.1.2 filtered direct path of a leaf: the direct path minus the
 * nodes whose copath child has an empty resolution, from the leaf upwards;
 * copath[i] is the child of path[i] that is not on the leaf's direct path.
 * Both arrays hold MLS_TREE_MAX_DEPTH entries.  O(log n).
 */
MLS_MUST_CHECK int mls_rtree_filtered_direct_path(const mls_rtree *t, uint32_t leaf,
                                                  uint32_t path[MLS_TREE_MAX_DEPTH],
                                                  uint32_t copath[MLS_TREE_MAX_DEPTH],
                                                  size_t *len);

/* ---------------------------------------------------------------- operations (§7.7, §12.1) */

/*
 * RFC 9420 §12.1.1 Add: puts a copy of ln at the leftmost blank leaf, or
 * extends the tree (doubling it) when there is none, and adds the new leaf
 * index to unmerged_leaves of every non-blank parent on its direct path.
 * MLS_ERR_INVALID if its encryption or signature key is already used by a
 * leaf of the tree.  *leaf gets the new leaf index.
 */
MLS_MUST_CHECK int mls_rtree_add_leaf(mls_rtree *t, const mls_leaf_node *ln, uint32_t *leaf);
/*
 * RFC 9420 §12.1.3 Remove: blanks the leaf and its direct path, then
 * truncates: while the right half of the tree is all blank, drops it (the
 * tree never becomes empty while a leaf remains).  MLS_ERR_NOT_FOUND if the
 * leaf is blank or outside the tree.
 */
MLS_MUST_CHECK int mls_rtree_remove_leaf(mls_rtree *t, uint32_t leaf);
/*
 * RFC 9420 §12.1.2 Update: replaces the leaf with a copy of ln and blanks
 * its direct path.  MLS_ERR_NOT_FOUND if the leaf is blank; MLS_ERR_INVALID
 * if ln's encryption or signature key is used by another leaf.
 */
MLS_MUST_CHECK int mls_rtree_update_leaf(mls_rtree *t, uint32_t leaf, const mls_leaf_node *ln);
/* Blanks the direct path of a leaf (parents only). */
MLS_MUST_CHECK int mls_rtree_blank_path(mls_rtree *t, uint32_t leaf);
/*
 * Sets a parent node (odd index, NULL to blank it) to a copy of pn, for
 * TreeKEM merging an UpdatePath.  The leaf-based key indexes are untouched.
 */
MLS_MUST_CHECK int mls_rtree_set_parent(mls_rtree *t, uint32_t node, const mls_parent_node *pn);
/* Sets leaf i to a copy of ln (non-NULL), whatever was there, with the same
 * uniqueness check as update; the direct path is not touched. */
MLS_MUST_CHECK int mls_rtree_set_leaf(mls_rtree *t, uint32_t leaf, const mls_leaf_node *ln);

/* ---------------------------------------------------------------- hashes (§7.8, §7.9) */

/* RFC 9420 §7.8 tree hash of a node (suite->nh bytes into out), from the
 * cache when current; recomputes only stale nodes. */
MLS_MUST_CHECK int mls_rtree_tree_hash(mls_rtree *t, uint32_t node, uint8_t out[MLS_MAX_HASH]);
/* The tree hash of the root (the GroupContext tree_hash); MLS_ERR_STATE for
 * an empty tree. */
MLS_MUST_CHECK int mls_rtree_root_hash(mls_rtree *t, uint8_t out[MLS_MAX_HASH]);
/*
 * RFC 9420 §7.9 ParentHash of parent node P with copath child S, given
 * P's encryption_key, P's own parent_hash field and the original sibling
 * tree hash: Hash(ParentHashInput).
 */
MLS_MUST_CHECK int mls_parent_hash(const mls_suite *s, mls_bytes encryption_key,
                                   mls_bytes parent_hash, mls_bytes original_sibling_tree_hash,
                                   uint8_t out[MLS_MAX_HASH]);
/*
 * Parent hashes for the filtered direct path of `leaf` in t, for new public
 * keys pks[i] of path[i] (the path from mls_rtree_filtered_direct_path, len
 * entries): parent_hash_of_node[i] is the value of path[i].parent_hash
 * (empty for the root, as a zero-length entry), and leaf_parent_hash the
 * value the leaf's parent_hash must hold (empty when len is 0).  The
 * siblings' tree hashes are those of t, as in a commit (the UpdatePath
 * resets unmerged_leaves of the path).  phs holds len entries of
 * suite->nh bytes (phs[i] is ParentHash(path[i])).
 */
MLS_MUST_CHECK int mls_rtree_path_parent_hashes(mls_rtree *t, const uint32_t *path,
                                                const uint32_t *copath, size_t len,
                                                const mls_bytes *pks,
                                                uint8_t phs[][MLS_MAX_HASH]);
/*
 * RFC 9420 §7.9.2: every non-blank parent node is parent-hash valid with
 * respect to exactly one child side.  MLS_ERR_INVALID otherwise.  Linear in
 * the tree (see top of file).
 */
MLS_MUST_CHECK int mls_rtree_verify_parent_hashes(mls_rtree *t);

/* ---------------------------------------------------------------- leaf validation (§7.3) */

/* What a LeafNode is checked against. */
typedef struct mls_leaf_check {
    mls_bytes group_id;  /* for update/commit sources' signatures */
    /* GroupContext required_capabilities extension, or NULL */
    const mls_required_capabilities *required;
    /* Check the lifetime of key_package leaves against now (RFC 9420 §7.3
     * RECOMMENDED for received trees) when nonzero. */
    int check_lifetime;
    uint64_t now;
    /* Executor for the per-leaf checks of mls_rtree_verify_leaves (its
     * parallel_for), or NULL: sequential.  Same result either way. */
    const mls_env *env;
    /* Optional check run as the first item of the same parallel loop as
     * the leaves (a join's GroupInfo signature: one more signature that
     * would otherwise run alone before them); its failure is reported
     * before any leaf's, as when it ran first. */
    int (*first)(void *ctx);
    void *first_ctx;
} mls_leaf_check;

/*
 * RFC 9420 §7.3 checks of one leaf node standing (or about to stand) at
 * leaf index `leaf` of t, which need nothing but the leaf: the signature
 * (MLS_ERR_SIGNATURE), the version/suite/required capabilities, every leaf
 * extension listed in its capabilities, unique extension types, the
 * credential type listed in its own capabilities, lifetime when asked
 * (MLS_ERR_EXPIRED).  MLS_ERR_INVALID for other violations.
 */
MLS_MUST_CHECK int mls_leaf_node_validate(const mls_suite *s, const mls_leaf_node *ln,
                                          uint32_t leaf, const mls_leaf_check *chk);
/*
 * Checks ln against the rest of the tree as a candidate for leaf index
 * `leaf` (which may be blank or hold the leaf being replaced): its
 * encryption and signature keys are not used by another leaf, its
 * credential type is supported by every other member and it supports every
 * credential type in use by the others (§7.3).  Uses the key indexes and
 * the per-type counts of credential use and support: O(number of
 * credential types), not O(n).
 */
MLS_MUST_CHECK int mls_rtree_check_leaf_fits(const mls_rtree *t, const mls_leaf_node *ln,
                                             uint32_t leaf);
/*
 * Every leaf of the tree: mls_leaf_node_validate, uniqueness of encryption
 * keys (of leaves and parents) and of signature keys, and that every
 * member supports every credential type in use.  O(n log n) at worst
 * (sorting), no pairwise comparisons.
 */
MLS_MUST_CHECK int mls_rtree_verify_leaves(const mls_rtree *t, const mls_leaf_check *chk);
/*
 * Everything RFC 9420 §12.4.3.1 asks of a tree received on join: the root
 * tree hash equals expected_tree_hash (MLS_ERR_INVALID), parent hashes are
 * valid, leaves are valid (chk).
 */
MLS_MUST_CHECK int mls_rtree_verify_join(mls_rtree *t, mls_bytes expected_tree_hash,
                                         const mls_leaf_check *chk);

#endif
