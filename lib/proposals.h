/*
 * Proposal rules (RFC 9420 §12.1-§12.3) over what they need of an epoch:
 * the suite, the GroupContext, the ratchet tree and the clock.  The group
 * engine (group_state.h: mls_proposals_validate, mls_proposals_apply) and
 * the public group view (public_group.c), which has no mls_group and no
 * secrets, share them through mls_proposal_env.
 */
#ifndef MLS_PROPOSALS_H
#define MLS_PROPOSALS_H

#include "group_state.h"

/* What a proposal list is judged against.  All borrowed. */
typedef struct mls_proposal_env {
    const mls_suite *suite;
    const mls_group_context *ctx; /* the current epoch's */
    const mls_rtree *tree;        /* the current epoch's */
    uint64_t now;                 /* for KeyPackage lifetimes */
    /* A resumption PSK with usage reinit is valid here (the successor
     * group's first commit, RFC 9420 §11.2, §12.1.4). */
    int reinit_ok;
    /* The member's own leaf (its committed Update brings a private key
     * along); UINT32_MAX when there is none (the public view). */
    uint32_t own_leaf;
    /* Its executor runs the KeyPackage checks of Add proposals; NULL:
     * sequential. */
    const mls_env *env;
} mls_proposal_env;

/* The env of g's current epoch. */
void mls_proposal_env_of_group(const mls_group *g, mls_proposal_env *pe);

/* mls_proposals_validate, mls_external_remove_check, mls_proposals_apply
 * and mls_group_check_extensions (group_state.h) without a group. */
MLS_MUST_CHECK int mls_proposals_validate_env(const mls_proposal_env *pe,
                                              const mls_prop_item *items, size_t n, int external,
                                              uint32_t committer, int check_lifetime);
MLS_MUST_CHECK int mls_external_remove_check_tree(const mls_rtree *t, const mls_prop_item *items,
                                                  size_t n, const mls_credential *cred,
                                                  mls_bytes enc_key);
MLS_MUST_CHECK int mls_proposals_apply_env(const mls_proposal_env *pe,
                                           mls_group_context *next_ctx, mls_rtree *next_tree,
                                           const mls_prop_item *items, size_t n,
                                           mls_applied *out);
MLS_MUST_CHECK int mls_extensions_check(const mls_extension_list *ext, const mls_rtree *tree);

#endif
