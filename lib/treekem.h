/*
 * TreeKEM (RFC 9420 §7.4-§7.6, and the "path" steps of §12.4.1/§12.4.2):
 * a member's private view of the ratchet tree, creating an UpdatePath as a
 * committer, merging and decrypting an UpdatePath as a receiver.
 *
 * Derivations (RFC 9420 §7.4):
 *   path_secret[n+1] = DeriveSecret(path_secret[n], "path")
 *   node_secret      = DeriveSecret(path_secret, "node")
 *   node_priv, node_pub = KEM.DeriveKeyPair(node_secret)
 *   commit_secret    = DeriveSecret(path_secret of the root, "path")
 *
 * Two-phase use, because the path secrets are encrypted under the
 * provisional GroupContext, whose tree_hash is the hash of the tree with the
 * path applied (§12.4.2):
 *
 *   committer:  apply proposals to a provisional copy of the tree;
 *               mls_treekem_path_create(...)       -> tree has the new path,
 *                                                     pending holds secrets
 *               mls_rtree_root_hash(tree)          -> build GroupContext
 *               mls_treekem_path_encrypt(pending, gc_bytes, added, ...)
 *               once the commit is accepted: adopt pending->priv.
 *   receiver:   apply proposals to a provisional copy of the tree;
 *               mls_treekem_path_merge(tree, sender, path, group_id)
 *               mls_rtree_root_hash(tree)          -> build GroupContext
 *               mls_treekem_path_decrypt(tree, priv, sender, path,
 *                                        gc_bytes, added, &new_priv, cs)
 *               once the commit is confirmed: adopt new_priv.
 *   joiner:     mls_treekem_priv_init(priv, suite, own leaf, leaf HPKE key)
 *               mls_treekem_priv_set_path_secret(priv, tree, ancestor, ps)
 *               with the GroupSecrets path_secret, at the lowest common
 *               ancestor of the committer's and the joiner's leaves.
 *
 * Nothing here modifies a private state in place on the receiving side: the
 * new state is a separate object, so a commit that later fails its
 * confirmation tag leaves the member's state untouched.
 */
#ifndef MLS_TREEKEM_H
#define MLS_TREEKEM_H

#include "ratchet_tree.h"

/* One private key of a node on the member's direct path, or its leaf. */
typedef struct mls_treekem_key {
    uint32_t node;  /* node index */
    mls_buf sk;     /* HPKE private key (secret) */
    mls_buf pk;     /* its public key, to match against the tree */
} mls_treekem_key;

/*
 * A member's private TreeKEM state.  keys[0..n_keys) are the private keys
 * the member holds: its leaf's (node 2*leaf) and those of parent nodes on
 * its direct path.  A key is usable only while the tree node it belongs to
 * carries the same public key (checked at use), so keys of nodes that were
 * blanked or replaced are simply never used and are pruned by
 * mls_treekem_priv_prune.
 */
typedef struct mls_treekem_priv {
    const mls_suite *suite;
    uint32_t leaf;
    mls_treekem_key keys[MLS_TREE_MAX_DEPTH + 1];
    size_t n_keys;
} mls_treekem_priv;

/* Wipes every private key; safe on a zeroed state and twice. */
void mls_treekem_priv_clear(mls_treekem_priv *p);
MLS_MUST_CHECK int mls_treekem_priv_copy(mls_treekem_priv *dst, const mls_treekem_priv *src);
/* A state holding only the leaf's HPKE private key (its public key is
 * computed).  p must be cleared or zeroed. */
MLS_MUST_CHECK int mls_treekem_priv_init(mls_treekem_priv *p, const mls_suite *s, uint32_t leaf,
                                         mls_bytes leaf_sk);
/* Replaces the leaf private key (own Update proposal committed). */
MLS_MUST_CHECK int mls_treekem_priv_set_leaf_key(mls_treekem_priv *p, mls_bytes leaf_sk);
/* Sets the private key of one node from its path secret (node_secret =
 * DeriveSecret(path_secret, "node"), DeriveKeyPair), nothing else. */
MLS_MUST_CHECK int mls_treekem_priv_set_node_secret(mls_treekem_priv *p, uint32_t node,
                                                    mls_bytes path_secret);
/*
 * Joining (§12.4.3.1): path_secret is that of `node` (an ancestor of the
 * member's leaf); derives the keys of node and of every node above it on
 * the member's filtered direct path in t, and checks each derived public
 * key against the tree (MLS_ERR_INVALID on a mismatch, nothing changed).
 * If commit_secret is non-NULL it gets DeriveSecret(root path_secret,
 * "path") (suite->nh bytes).
 */
MLS_MUST_CHECK int mls_treekem_priv_set_path_secret(mls_treekem_priv *p, const mls_rtree *t,
                                                    uint32_t node, mls_bytes path_secret,
                                                    uint8_t *commit_secret);
/* Drops keys whose node is outside t, blank, or carries another public key;
 * a key for a node that is not the leaf or an ancestor is dropped too. */
void mls_treekem_priv_prune(mls_treekem_priv *p, const mls_rtree *t);
/* MLS_OK if every held key's node is non-blank in t and carries the
 * public key of the private key (the treekem vector's consistency check),
 * MLS_ERR_INVALID otherwise. */
MLS_MUST_CHECK int mls_treekem_priv_check(const mls_treekem_priv *p, const mls_rtree *t);
/* The private key held for node, or NULL (also when the tree node no
 * longer carries its public key). */
const mls_treekem_key *mls_treekem_priv_find(const mls_treekem_priv *p, const mls_rtree *t,
                                             uint32_t node);

/* ---------------------------------------------------------------- committer */

/* What a committer has between creating its path and encrypting it. */
typedef struct mls_treekem_pending {
    const mls_suite *suite;
    uint32_t leaf;
    size_t len;                              /* filtered direct path length */
    uint32_t path[MLS_TREE_MAX_DEPTH];
    uint32_t copath[MLS_TREE_MAX_DEPTH];
    uint8_t path_secret[MLS_TREE_MAX_DEPTH][MLS_MAX_HASH]; /* secret */
    uint8_t commit_secret[MLS_MAX_HASH];     /* secret, suite->nh bytes */
    mls_update_path update_path;             /* ciphertexts after _encrypt */
    mls_treekem_priv priv;                   /* the committer's new state */
} mls_treekem_pending;

void mls_treekem_pending_clear(mls_treekem_pending *pd);

/*
 * RFC 9420 §7.4-§7.5 and §12.4.2 (committer): in t (the provisional tree
 * with the commit's proposals applied), blanks the direct path of `leaf`,
 * draws a fresh leaf path secret from env, derives the leaf key pair and
 * path keys over the filtered direct path, sets those parents (empty
 * unmerged_leaves), computes the parent hashes, and replaces the leaf with
 * a copy of `leaf_tmpl` whose encryption_key, leaf_node_source (commit) and
 * parent_hash are set and which is signed with sig_sk (LeafNodeTBS with
 * group_id and leaf).  On success t holds the new path and pd (cleared or
 * zeroed) the secrets, the UpdatePath without ciphertexts, the commit
 * secret and the committer's new private state.  On error t is unchanged
 * except for MLS_ERR_NOMEM.
 */
MLS_MUST_CHECK int mls_treekem_path_create(mls_rtree *t, uint32_t leaf,
                                           const mls_leaf_node *leaf_tmpl, mls_bytes sig_sk,
                                           mls_bytes group_id, const mls_env *env,
                                           mls_treekem_pending *pd);
/*
 * Fills pd->update_path's encrypted_path_secret: for each filtered direct
 * path node, EncryptWithLabel(pk, "UpdatePathNode", group_context,
 * path_secret) to every node of the copath child's resolution in t, less
 * the leaves in added[0..n_added) (new members of this commit).
 * group_context is the serialized provisional GroupContext.
 */
MLS_MUST_CHECK int mls_treekem_path_encrypt(mls_treekem_pending *pd, const mls_rtree *t,
                                            mls_bytes group_context, const uint32_t *added,
                                            size_t n_added, const mls_env *env);

/* ---------------------------------------------------------------- receiver */

/*
 * RFC 9420 §7.5 "merges UpdatePath into the tree" (receiver), on t (the
 * provisional tree with the proposals applied): checks that the path has
 * one node per filtered direct path node of `sender`, each key of the
 * suite's length and none of the path's keys (parents' and leaf's) used
 * twice in it, by another leaf or by a parent off the sender's direct path
 * (§12.4.2), validates the new leaf (source commit;
 * mls_leaf_node_validate with group_id: signature over group_id/sender,
 * its own capabilities; keys unique among the other leaves), computes the
 * parent hashes and checks the leaf's parent_hash (MLS_ERR_INVALID), then
 * blanks the direct path, sets the filtered path's parents and replaces the
 * leaf.  Required capabilities of the group and credential compatibility
 * with the other members (mls_rtree_check_leaf_fits) are the caller's.
 * On error t is unchanged (except for MLS_ERR_NOMEM).
 */
MLS_MUST_CHECK int mls_treekem_path_merge(mls_rtree *t, uint32_t sender,
                                          const mls_update_path *path, mls_bytes group_id);
/*
 * RFC 9420 §7.5 "decrypts the path secrets" (receiver), on t after
 * mls_treekem_path_merge: finds the lowest filtered direct path node whose
 * copath child holds the member, the member's position in that child's
 * resolution (less added[0..n_added)), decrypts with the key held for that
 * resolution node, derives up to the root and checks every derived public
 * key against the UpdatePath (MLS_ERR_INVALID).  new_priv (cleared or
 * zeroed) gets a copy of priv with those keys; commit_secret gets
 * suite->nh bytes; path_secret_out (may be NULL) gets the decrypted path
 * secret (suite->nh bytes) and *path_secret_node its node.
 * MLS_ERR_ARG if the member is the sender; MLS_ERR_NOT_FOUND if it holds
 * no key for its resolution node.
 */
MLS_MUST_CHECK int mls_treekem_path_decrypt(const mls_rtree *t, const mls_treekem_priv *priv,
                                            uint32_t sender, const mls_update_path *path,
                                            mls_bytes group_context, const uint32_t *added,
                                            size_t n_added, mls_treekem_priv *new_priv,
                                            uint8_t *commit_secret, uint8_t *path_secret_out,
                                            uint32_t *path_secret_node);
/*
 * The path secret a committer sends a new member in GroupSecrets
 * (§12.4.3.1): that of the lowest node of the committer's filtered direct
 * path which is an ancestor of new_leaf.  MLS_ERR_NOT_FOUND if there is
 * none (empty path).  out gets suite->nh bytes, *node its node index.
 */
MLS_MUST_CHECK int mls_treekem_pending_path_secret_for(const mls_treekem_pending *pd,
                                                       uint32_t new_leaf, uint8_t *out,
                                                       uint32_t *node);

#endif
