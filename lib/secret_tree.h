/*
 * The secret tree and its per-sender hash ratchets (RFC 9420 §9).
 *
 * The tree is derived lazily: at first only the root (encryption_secret) is
 * held; the first time a leaf is needed, the secrets on the path from the
 * nearest held ancestor down to that leaf are derived, each parent secret
 * deleted as soon as both children exist, and the leaf secret deleted as
 * soon as its two ratchets are initialised (RFC 9420 §9.2).  A leaf costs
 * O(log n) derivations once; the tree holds an array of node slots and the
 * state of the leaves actually used.
 *
 * Each ratchet keeps its current secret and the next generation it will
 * derive.  Keys for generations skipped over while moving forward are kept,
 * up to max_retained of the most recent ones, so that messages delivered out
 * of order can still be decrypted; a generation more than max_forward ahead
 * is refused, so a forged generation cannot make us ratchet billions of
 * times.  A key handed out is deleted from the tree: asking again gives
 * MLS_ERR_KEY_USED (forward secrecy, RFC 9420 §9.2).
 */
#ifndef MLS_SECRET_TREE_H
#define MLS_SECRET_TREE_H

#include "codec.h"
#include "suite.h"

/* RFC 9420 §9: the two ratchets of every leaf. */
enum mls_ratchet_type { MLS_RATCHET_HANDSHAKE = 0, MLS_RATCHET_APPLICATION = 1 };

#define MLS_SECRET_TREE_DEFAULT_MAX_FORWARD 1000u
#define MLS_SECRET_TREE_DEFAULT_MAX_RETAINED 64u
/* Upper bound for max_retained (its keys are allocated at once). */
#define MLS_SECRET_TREE_MAX_RETAINED_LIMIT 65536u

typedef struct mls_secret_tree_config {
    /* Largest distance a requested generation may lie ahead of the next one
     * the ratchet would derive. */
    uint32_t max_forward;
    /* Most keys of skipped generations kept per ratchet (oldest dropped
     * first); 0 keeps none, so only in-order delivery works. */
    uint32_t max_retained;
} mls_secret_tree_config;

struct mls_st_leaf;

typedef struct mls_secret_tree {
    const mls_suite *suite;
    uint32_t n_leaves;
    mls_secret_tree_config cfg;
    /* node_width(n_leaves) slots: a held node secret (suite->nh bytes) or
     * NULL when not yet derived or already deleted. */
    uint8_t **nodes;
    /* n_leaves slots: ratchet state once the leaf has been reached. */
    struct mls_st_leaf **leaves;
    size_t n_held; /* non-NULL entries of nodes */
} mls_secret_tree;

/*
 * Sets up the tree of an epoch with n_leaves leaves (a power of two, as the
 * ratchet tree) from its encryption_secret (suite->nh bytes), copied in.
 * cfg may be NULL for the defaults; MLS_ERR_ARG for a max_retained above
 * MLS_SECRET_TREE_MAX_RETAINED_LIMIT.  Clear with mls_secret_tree_clear.
 */
MLS_MUST_CHECK int mls_secret_tree_init(mls_secret_tree *t, const mls_suite *s,
                                        mls_bytes encryption_secret, uint32_t n_leaves,
                                        const mls_secret_tree_config *cfg);

/* Wipes every held secret and key and frees the memory.  Safe on a zeroed
 * tree and safe to call twice. */
void mls_secret_tree_clear(mls_secret_tree *t);

/*
 * Key and nonce of generation `generation` of the ratchet `type` of leaf
 * `leaf`, for decrypting a received message (RFC 9420 §9.1).  key_out gets
 * suite->nk bytes, nonce_out suite->nn bytes (before the reuse_guard, which
 * framing applies).  The key is consumed: it is deleted from the tree.
 *
 * Errors: MLS_ERR_NOT_FOUND if the leaf is outside the tree, MLS_ERR_KEY_USED
 * if that generation was already handed out or dropped from the retained
 * keys, MLS_ERR_INVALID if it lies more than max_forward ahead, MLS_ERR_ARG
 * for a bad type.
 */
MLS_MUST_CHECK int mls_secret_tree_get(mls_secret_tree *t, uint32_t leaf,
                                       enum mls_ratchet_type type, uint32_t generation,
                                       uint8_t key_out[MLS_MAX_AEAD_KEY],
                                       uint8_t nonce_out[MLS_MAX_AEAD_NONCE]);

/*
 * Key and nonce for sending our next message from leaf `leaf`: the next
 * generation of the ratchet, whose number goes to *generation.  Consumed like
 * mls_secret_tree_get.  MLS_ERR_STATE when the ratchet has used all 2^32
 * generations.
 */
MLS_MUST_CHECK int mls_secret_tree_next(mls_secret_tree *t, uint32_t leaf,
                                        enum mls_ratchet_type type, uint32_t *generation,
                                        uint8_t key_out[MLS_MAX_AEAD_KEY],
                                        uint8_t nonce_out[MLS_MAX_AEAD_NONCE]);

/*
 * The key and nonce mls_secret_tree_get would return for this generation,
 * without consuming them: nothing in the tree changes (for a leaf not used
 * yet in this epoch, the path down to it is derived in temporary storage).  A
 * receiver peeks, decrypts and authenticates the message, and only then
 * consumes the key with mls_secret_tree_get, so a forged or corrupted
 * message cannot make it lose a key (RFC 9420 §9.2 asks for deletion once a
 * key has been used to decrypt a message).  Same errors as
 * mls_secret_tree_get.
 */
MLS_MUST_CHECK int mls_secret_tree_peek(mls_secret_tree *t, uint32_t leaf,
                                        enum mls_ratchet_type type, uint32_t generation,
                                        uint8_t key_out[MLS_MAX_AEAD_KEY],
                                        uint8_t nonce_out[MLS_MAX_AEAD_NONCE]);

/* Number of node secrets currently held (for tests of the deletion
 * schedule). */
size_t mls_secret_tree_held_nodes(const mls_secret_tree *t);

/* Persistence (group state serialization): appends the whole state of t
 * to w; reads it back into t (overwritten; cleared on error).  The reader
 * allocates per leaf, so it takes the largest leaf count the caller's
 * other state allows and refuses a tree claiming more (MLS_ERR_MALFORMED)
 * before allocating.  mls_secret_tree_skip moves r past one written tree,
 * allocating nothing, and gives the leaf count it claims.  Added by the
 * group engine. */
MLS_MUST_CHECK int mls_secret_tree_write(const mls_secret_tree *t, mls_buf *w);
MLS_MUST_CHECK int mls_secret_tree_read(mls_reader *r, const mls_suite *s, uint32_t max_leaves,
                                        mls_secret_tree *t);
MLS_MUST_CHECK int mls_secret_tree_skip(mls_reader *r, const mls_suite *s, uint32_t *n_leaves);

#endif
