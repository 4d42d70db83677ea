/*
 * The next epoch (RFC 9420 §8, §8.2, §12.4.2, §12.4.3): one place that
 * computes an epoch's public and secret state from what started it, for
 * all four ways an epoch begins:
 *
 *   commit created (commit.c) and commit processed (commit_process.c):
 *       mls_epoch_begin, the proposals and the path change next's tree,
 *       mls_epoch_set_tree_hash, then mls_epoch_from_commit;
 *   external commit created (join.c): the same, with the init secret of
 *       mls_epoch_external_init_send (the receiver: ..._receive);
 *   Welcome (join.c): mls_epoch_from_welcome;
 *   GroupInfo of an external join (join.c): mls_epoch_from_group_info.
 *
 * Nothing here changes a group: the results go into an mls_epoch_state,
 * which the group installs (group.c) when the commit is merged.
 */
#ifndef MLS_EPOCH_H
#define MLS_EPOCH_H

#include "group_state.h"

/* A fresh next-epoch state: copies of g's context and private keys and an
 * O(1) overlay over g's tree (lib/ratchet_tree.h "Overlays"). */
MLS_MUST_CHECK int mls_epoch_begin(mls_group *g, mls_epoch_state *next);
/* Deep copy of an epoch state (the tree becomes a plain tree). */
MLS_MUST_CHECK int mls_epoch_state_copy(mls_epoch_state *dst, const mls_epoch_state *src);
/* The root tree hash of next->tree into next->ctx.tree_hash. */
MLS_MUST_CHECK int mls_epoch_set_tree_hash(const mls_suite *s, mls_epoch_state *next);

/*
 * RFC 9420 §8.2, §8: from the signed Commit ac of g's current epoch:
 * next's confirmed transcript hash, encoded GroupContext (next->ctx has its
 * new epoch and tree hash), epoch secrets (init_secret, commit_secret
 * (empty: zero), psk_secret of the PSK ids), confirmation tag and interim
 * transcript hash.  received_tag empty: the tag is computed (a commit we
 * create); otherwise it must equal the computed one (§12.4.2,
 * MLS_ERR_CRYPTO/INVALID as mls_confirmation_tag_verify says).
 */
MLS_MUST_CHECK int mls_epoch_from_commit(const mls_group *g, const mls_psk_store *store,
                                         const mls_authenticated_content *ac,
                                         const mls_psk_id *const *psks, size_t n_psks,
                                         mls_bytes init_secret, mls_bytes commit_secret,
                                         mls_bytes received_tag, mls_epoch_state *next);

/* RFC 9420 §8.3: the external init secret.  Sender: from the group's
 * external_pub, with kem_output (replaced) for the ExternalInit proposal.
 * Receiver: from kem_output and g's current external_secret
 * (MLS_ERR_INVALID when it does not decapsulate). */
MLS_MUST_CHECK int mls_epoch_external_init_send(const mls_suite *s, const mls_env *env,
                                                mls_bytes external_pub, mls_buf *kem_output,
                                                uint8_t out[MLS_MAX_HASH]);
MLS_MUST_CHECK int mls_epoch_external_init_receive(const mls_group *g, mls_bytes kem_output,
                                                   uint8_t out[MLS_MAX_HASH]);

/* RFC 9420 §12.4.3.2: the public part of a GroupInfo's epoch: context,
 * encoded context and interim transcript hash. */
MLS_MUST_CHECK int mls_epoch_from_group_info(const mls_suite *s, const mls_group_info *gi,
                                             mls_epoch_state *e);
/* RFC 9420 §12.4.3.1, §8: the same plus the key schedule from the joiner
 * secret and psk_secret, with the GroupInfo's confirmation tag verified;
 * the joiner and welcome secrets are wiped once used. */
MLS_MUST_CHECK int mls_epoch_from_welcome(const mls_suite *s, const mls_group_info *gi,
                                          mls_bytes joiner_secret, mls_bytes psk_secret,
                                          mls_epoch_state *e);

#endif
