/*
 * libmls public group view: a group as an observer without secrets sees it
 * (RFC 9420: the ratchet tree, the GroupContext and the interim transcript
 * hash), for a Delivery Service that validates every commit before it
 * enters a group's log.  The models are OpenMLS's PublicGroup and mls-rs's
 * external client.
 *
 *   pg = from a GroupInfo (+ ratchet tree), or from a member's mls_group;
 *   for each handshake MLSMessage (PublicMessage only) in log order:
 *       mls_public_group_process(pg, msg, &st)    verify, stage
 *       inspect st (committer, adds, removes, updates, extensions, ...)
 *       mls_public_group_merge(pg, st)            accept: apply
 *       or mls_public_staged_free(st)             refuse: pg unchanged
 *   mls_public_staged_check_group_info(st, gi)    a GroupInfo offered with
 *                                                 the commit
 *   mls_public_group_serialize / _deserialize     persist between messages
 *
 * What the view checks (docs/libmls.md "Public group view" has the rule
 * table): the framing rules of §6; the sender's signature against its leaf
 * (or KeyPackage, path leaf, external sender) as it stands before the
 * commit; every rule of §12.2 on the proposal list that needs no secret;
 * KeyPackages (§10.1, lifetime at env->now); the UpdatePath's public part
 * (§7.5, §12.4.2: one node per filtered direct path node, unique keys,
 * leaf signature with source commit, parent hash chain, required
 * capabilities); the new tree hash, GroupContext and transcript hashes
 * (§8.2).
 *
 * What it cannot check, because each needs a secret of the epoch: the
 * membership tag of a member's PublicMessage (§6.2, a MAC under the
 * membership_key), the confirmation tag of a commit (§6.1, a MAC under the
 * next epoch's confirmation_key), the encrypted path secrets, PSK values,
 * the ExternalInit kem_output and a GroupInfo's external_pub.  A commit
 * the view accepts may therefore still be refused by the members if its
 * sender forged those; it cannot change who is in the group in a way the
 * view did not report.  PrivateMessages cannot be read at all: the view
 * refuses them (MLS_ERR_INVALID).
 *
 * Ownership as in mls/group.h: views borrow from the object they came
 * from and stay valid until it changes or is freed.
 */
#ifndef MLS_PUBLIC_GROUP_H
#define MLS_PUBLIC_GROUP_H

#include "mls/group.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mls_public_group mls_public_group;
typedef struct mls_public_staged mls_public_staged;

/* ---------------------------------------------------------------- creating */

/*
 * From a GroupInfo MLSMessage (RFC 9420 §12.4.3) and the ratchet tree
 * (empty: the GroupInfo's ratchet_tree extension), validated as a joiner
 * validates them (§12.4.3.1): the tree's structure, tree hash equal to the
 * GroupContext's, parent hashes, every leaf (signature, capabilities,
 * unique keys, credential types), the GroupContext extensions supported by
 * every member, and the GroupInfo's signature by its signer's leaf.
 * MLS_ERR_NOT_FOUND if no tree is given or carried.  env (for KeyPackage
 * lifetimes) must outlive the view.
 */
MLS_API MLS_MUST_CHECK int mls_public_group_from_group_info(const mls_env *env, mls_bytes group_info,
                                                    mls_bytes ratchet_tree,
                                                    mls_public_group **out);
/* The public part of a member's group in its current epoch, with the
 * proposals it holds (for a creator's first view, and for tests).
 * MLS_ERR_STATE for a group that was removed. */
MLS_API MLS_MUST_CHECK int mls_public_group_from_group(const mls_group *g, mls_public_group **out);
MLS_API void mls_public_group_free(mls_public_group *pg);

/* ---------------------------------------------------------------- accessors */

MLS_API mls_bytes mls_public_group_id(const mls_public_group *pg);
MLS_API uint64_t mls_public_group_epoch(const mls_public_group *pg);
MLS_API uint16_t mls_public_group_suite(const mls_public_group *pg);
/* The encoded GroupContext (RFC 9420 §8.1) and its tree_hash. */
MLS_API mls_bytes mls_public_group_context(const mls_public_group *pg);
MLS_API mls_bytes mls_public_group_tree_hash(const mls_public_group *pg);
/* Leaves (members and blanks) and members. */
MLS_API uint32_t mls_public_group_leaf_count(const mls_public_group *pg);
MLS_API uint32_t mls_public_group_member_count(const mls_public_group *pg);
/* The member at a leaf; MLS_ERR_NOT_FOUND for a blank leaf or outside. */
MLS_API MLS_MUST_CHECK int mls_public_group_member(const mls_public_group *pg, uint32_t leaf,
                                           mls_member *out);
/* GroupContext extension by type; MLS_ERR_NOT_FOUND if absent. */
MLS_API MLS_MUST_CHECK int mls_public_group_extension(const mls_public_group *pg, uint16_t type,
                                              mls_bytes *data);
/* The ratchet tree (RFC 9420 §12.4.3.3), out replaced. */
MLS_API MLS_MUST_CHECK int mls_public_group_ratchet_tree(const mls_public_group *pg, mls_buf *out);
/* 1 once a ReInit was committed: the view accepts nothing more. */
MLS_API int mls_public_group_is_reinit_pending(const mls_public_group *pg);
/* Proposals received in this epoch, not yet committed. */
MLS_API size_t mls_public_group_pending_proposals(const mls_public_group *pg);

/* ---------------------------------------------------------------- persistence */

/* Versioned, canonical: deserialize(serialize(pg)) serializes to the same
 * bytes.  Holds nothing secret.  Deserializing checks the tree's structure
 * and that its hash is the GroupContext's (not the leaf signatures again). */
MLS_API MLS_MUST_CHECK int mls_public_group_serialize(const mls_public_group *pg, mls_buf *out);
MLS_API MLS_MUST_CHECK int mls_public_group_deserialize(const mls_env *env, mls_bytes in,
                                                mls_public_group **out);

/* ---------------------------------------------------------------- processing */

/*
 * Verifies one handshake MLSMessage of the view's group and epoch, a
 * PublicMessage carrying a Proposal or a Commit, and stages its effect
 * (the view is unchanged until mls_public_group_merge).  Checks, in
 * order: decoding (MLS_ERR_MALFORMED...), wire format PublicMessage
 * (MLS_ERR_INVALID), group_id (MLS_ERR_WRONG_GROUP), epoch
 * (MLS_ERR_WRONG_EPOCH), a committed ReInit (MLS_ERR_STATE), the sender
 * rules of §6.1 and the lengths of the tags (MLS_ERR_INVALID,
 * MLS_ERR_MALFORMED), the sender (a blank or unknown leaf, external
 * sender index: MLS_ERR_INVALID), its signature (MLS_ERR_SIGNATURE), then
 * the proposal or commit rules (MLS_ERR_INVALID, MLS_ERR_EXPIRED for a
 * KeyPackage out of its lifetime).  Proposals by reference resolve against
 * the proposals merged into the view in this epoch.
 */
MLS_API MLS_MUST_CHECK int mls_public_group_process(mls_public_group *pg, mls_bytes message,
                                            mls_public_staged **out);
/* Applies a staged message: a proposal joins the pending ones, a commit
 * moves the view to the new epoch.  MLS_ERR_STATE if the view is no longer
 * where the staged message was made (then free it).  st is consumed: only
 * mls_public_staged_free remains. */
MLS_API MLS_MUST_CHECK int mls_public_group_merge(mls_public_group *pg, mls_public_staged *st);
MLS_API void mls_public_staged_free(mls_public_staged *st);

/*
 * A GroupInfo MLSMessage offered with a commit: it must carry exactly the
 * new GroupContext (MLS_ERR_WRONG_GROUP, MLS_ERR_WRONG_EPOCH, or
 * MLS_ERR_INVALID for any other difference), the commit's confirmation
 * tag, a ratchet_tree extension (if any) equal to the new tree
 * (MLS_ERR_INVALID), and be signed by the committer (signer: MLS_ERR_INVALID;
 * signature: MLS_ERR_SIGNATURE).  The _group_ form checks against the
 * view's current epoch and the committer of the last merged commit (any
 * member when it is unknown: a view made from a GroupInfo or a group).
 */
MLS_API MLS_MUST_CHECK int mls_public_staged_check_group_info(const mls_public_staged *st,
                                                      mls_bytes group_info);
MLS_API MLS_MUST_CHECK int mls_public_group_check_group_info(const mls_public_group *pg,
                                                     mls_bytes group_info);

/* ---------------------------------------------------------------- inspection */

enum mls_public_kind { MLS_PUBLIC_PROPOSAL = 2, MLS_PUBLIC_COMMIT = 3 };

/* MLS_PUBLIC_PROPOSAL or MLS_PUBLIC_COMMIT. */
MLS_API int mls_public_staged_kind(const mls_public_staged *st);
/* The epoch the view will be in after merging (the message's own epoch for
 * a proposal, +1 for a commit). */
MLS_API uint64_t mls_public_staged_epoch(const mls_public_staged *st);
/* The sender: RFC 9420 §6 sender type (1 member, 2 external,
 * 3 new_member_proposal, 4 new_member_commit) and index (member: its leaf;
 * new_member_commit: the leaf it joins at; external: sender index). */
MLS_API void mls_public_staged_sender(const mls_public_staged *st, uint8_t *sender_type,
                              uint32_t *index);
/* FramedContent.authenticated_data of the message. */
MLS_API mls_bytes mls_public_staged_authenticated_data(const mls_public_staged *st);

/* A leaf a message changes, before and after (views into the staged
 * message).  has_before is 0 for a new member, has_after 0 for a removed
 * one.  A change of credential (a rename) shows as before.credential !=
 * after.credential. */
typedef struct mls_public_change {
    uint32_t leaf; /* UINT32_MAX: not placed yet (an Add proposal) */
    int has_before;
    mls_member before;
    int has_after;
    mls_member after;
    /* A member a commit adds by an Add proposal: the KeyPackageRef
     * (RFC 9420 §5.2) a Welcome addresses it by; empty otherwise. */
    mls_bytes key_package_ref;
} mls_public_change;

/* The committer (or proposer) as a change: before = its leaf before the
 * commit (none for a new member), after = its leaf once the commit's path
 * is applied (the same leaf without a path; none for an external sender). */
MLS_API MLS_MUST_CHECK int mls_public_staged_committer(const mls_public_staged *st,
                                               mls_public_change *out);

enum mls_public_change_kind {
    MLS_PUBLIC_ADDED = 1,   /* Add proposals; the external committer */
    MLS_PUBLIC_REMOVED = 2, /* Remove proposals */
    MLS_PUBLIC_UPDATED = 3  /* Update proposals; a member committer's path */
};
MLS_API size_t mls_public_staged_change_count(const mls_public_staged *st, int kind);
MLS_API MLS_MUST_CHECK int mls_public_staged_change(const mls_public_staged *st, int kind, size_t i,
                                            mls_public_change *out);

/* Each proposal of the commit (or the proposal itself), in order. */
typedef struct mls_public_proposal {
    uint16_t type;        /* RFC 9420 §17.4 proposal type */
    int by_reference;     /* committed by reference (else by value) */
    uint8_t sender_type;  /* who proposed it */
    uint32_t sender_index;
} mls_public_proposal;
MLS_API size_t mls_public_staged_proposal_count(const mls_public_staged *st);
MLS_API MLS_MUST_CHECK int mls_public_staged_proposal(const mls_public_staged *st, size_t i,
                                              mls_public_proposal *out);

/* 1 if a GroupContextExtensions proposal replaces the extensions; the
 * extensions before (after = 0) and after (after = 1), by type and by
 * position (MLS_ERR_NOT_FOUND when absent / past the end). */
MLS_API int mls_public_staged_extensions_changed(const mls_public_staged *st);
MLS_API MLS_MUST_CHECK int mls_public_staged_extension(const mls_public_staged *st, int after,
                                               uint16_t type, mls_bytes *data);
MLS_API MLS_MUST_CHECK int mls_public_staged_extension_at(const mls_public_staged *st, int after,
                                                  size_t i, mls_ext *out);

/* The ReInit proposal's parameters (any pointer may be NULL);
 * MLS_ERR_NOT_FOUND without one. */
MLS_API MLS_MUST_CHECK int mls_public_staged_reinit(const mls_public_staged *st, mls_bytes *group_id,
                                            uint16_t *version, uint16_t *suite);
/* 1 if the commit carries an ExternalInit (an external commit). */
MLS_API int mls_public_staged_external_init(const mls_public_staged *st);

/* The PreSharedKey proposals' ids (RFC 9420 §8.4), in order. */
typedef struct mls_public_psk {
    uint8_t type;        /* 1 external, 2 resumption */
    mls_bytes psk_id;    /* external */
    uint8_t usage;       /* resumption: 1 application, 2 reinit, 3 branch */
    mls_bytes group_id;  /* resumption */
    uint64_t epoch;      /* resumption */
} mls_public_psk;
MLS_API size_t mls_public_staged_psk_count(const mls_public_staged *st);
MLS_API MLS_MUST_CHECK int mls_public_staged_psk(const mls_public_staged *st, size_t i,
                                         mls_public_psk *out);

#ifdef __cplusplus
}
#endif
#endif
