/*
 * Internal state of the public group view (include/mls/public_group.h),
 * shared by public_group.c (creating, processing, merging),
 * public_group_inspect.c (accessors, staged inspection, GroupInfo checks)
 * and public_group_codec.c (serialization).
 *
 * The view is one epoch's public part: GroupContext, ratchet tree, interim
 * transcript hash and the confirmation tag of the commit that started the
 * epoch (RFC 9420 §8.2), the proposals received in the epoch (§12.1), and
 * the leaf of that commit's committer (to check the GroupInfo it offers).
 */
#ifndef MLS_PUBLIC_GROUP_INTERNAL_H
#define MLS_PUBLIC_GROUP_INTERNAL_H

#include "mls/public_group.h"

#include "group_state.h"

#define MLS_PUBLIC_GROUP_VERSION 1u

struct mls_public_group {
    const mls_env *env;
    const mls_suite *suite;
    mls_group_context ctx;
    mls_buf ctx_enc;
    mls_rtree tree;                 /* a plain tree (never an overlay) */
    uint8_t interim[MLS_MAX_HASH];
    uint8_t conf_tag[MLS_MAX_HASH];
    uint32_t committer;             /* UINT32_MAX: unknown */
    mls_pending_proposal *props;    /* own_leaf_sk always empty */
    size_t n_props;
    int reinit_pending;
    /* Encoded credentials for mls_public_group_member, filled on demand,
     * dropped at every epoch change (as in mls_group_member). */
    mls_buf *cred_cache;
    uint32_t n_cred_cache;
};

/* A leaf as a change records it: a copy, and its encoded credential. */
typedef struct mls_pg_leaf {
    int present;
    mls_leaf_node ln;
    mls_buf cred;
} mls_pg_leaf;

typedef struct mls_pg_change {
    uint32_t leaf;
    mls_pg_leaf before, after;
    mls_buf kp_ref; /* an Add of a commit: its KeyPackageRef (§5.2) */
} mls_pg_change;

struct mls_public_staged {
    mls_public_group *pg;     /* the view it was made for */
    uint64_t base_epoch;      /* pg's epoch then */
    int kind;                 /* enum mls_public_kind */
    mls_sender sender;        /* new_member_commit: index = joined leaf */
    mls_buf authenticated_data;
    mls_pg_change committer;
    mls_pg_change *changes[3]; /* by enum mls_public_change_kind - 1 */
    size_t n_changes[3];
    mls_public_proposal *props;
    size_t n_props;
    int gce;
    mls_extension_list ext_before, ext_after;
    int has_reinit;
    mls_reinit reinit;
    int external_init;
    mls_psk_id *psks;
    size_t n_psks;
    /* MLS_PUBLIC_PROPOSAL: the proposal to remember. */
    mls_pending_proposal prop;
    /* MLS_PUBLIC_COMMIT: the next epoch; tree is an overlay over pg->tree. */
    mls_group_context ctx;
    mls_buf ctx_enc;
    mls_rtree tree;
    uint8_t interim[MLS_MAX_HASH];
    uint8_t conf_tag[MLS_MAX_HASH];
    uint32_t committer_leaf;
};

/* A zeroed view for the suite and env. */
MLS_MUST_CHECK int mls_public_group_alloc(const mls_env *env, const mls_suite *s,
                                          mls_public_group **out);
/* Drops the credential cache (the tree changed). */
void mls_public_group_cache_clear(mls_public_group *pg);
void mls_pg_leaf_clear(mls_pg_leaf *l);
/* mls_member views into a recorded leaf. */
void mls_pg_leaf_member(const mls_pg_leaf *l, uint32_t leaf, mls_member *out);
/* Encodes ctx into out (replaced). */
MLS_MUST_CHECK int mls_public_ctx_encode(const mls_group_context *ctx, mls_buf *out);

/*
 * RFC 9420 §12.4.3.1, shared with a joiner's checks: the tree from the
 * GroupInfo's ratchet_tree extension or `given` (MLS_ERR_NOT_FOUND if
 * neither), imported into t; then mls_public_verify_tree_and_info.
 */
MLS_MUST_CHECK int mls_public_import_tree(const mls_suite *s, const mls_group_info *gi,
                                          mls_bytes given, mls_rtree *t);
/* The GroupInfo's signature by its signer's leaf, the tree hash equal to
 * the GroupContext's, parent hashes, every leaf (required capabilities of
 * the GroupContext). */
MLS_MUST_CHECK int mls_public_verify_tree_and_info(const mls_suite *s, mls_rtree *t,
                                                   const mls_group_info *gi);

#endif
