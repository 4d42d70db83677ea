/*
 * libmls group engine: the application API of RFC 9420.
 *
 * An application holds
 *   - one mls_identity per (cipher suite, signature key, credential);
 *   - the KeyPackages it published, each with its private bundle (the init
 *     and leaf encryption private keys) which it stores until the
 *     KeyPackage is used;
 *   - one mls_group per group it is a member of.
 *
 * All messages in and out are serialized MLSMessage bytes (RFC 9420 §6)
 * unless a function says otherwise.  The library does no I/O; every
 * operation that changes a group is all-or-nothing: on error the group is
 * exactly as it was.
 *
 * Typical flow (see docs/libmls.md and examples/example.c):
 *
 *   creator:  mls_group_create -> mls_group_commit (adds) -> send the
 *             commit to the Delivery Service -> accepted: merge the staged
 *             commit and forward its Welcome; rejected: free it, process
 *             what the DS has, try again.
 *   joiner:   mls_group_join with the Welcome and its KeyPackage bundle.
 *   everyone: mls_group_process for every MLSMessage of the group, in the
 *             order of the DS; mls_group_protect for application data;
 *             mls_group_serialize after every change to persist.  Or,
 *             to judge a commit before it applies and persist state and
 *             cursor together: mls_group_process_staged -> inspect
 *             (mls_staged_commit_summary) -> mls_staged_commit_next_state
 *             -> mls_group_merge_staged, or free it to discard.
 *
 * Ownership: objects ending in _new/_create/_join/_deserialize are freed
 * with the matching _free.  Views (mls_bytes) returned by accessors borrow
 * from the object and stay valid until the object is next modified or
 * freed.  mls_buf outputs are replaced on success (their old contents
 * wiped) and untouched on error.
 */
#ifndef MLS_GROUP_H
#define MLS_GROUP_H

#include "mls/mls.h"
#include "mls/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- constants */

/* Protocol constants (extension and credential types): mls/types.h. */

/* A borrowed extension: type and extension_data. */
typedef struct mls_ext {
    uint16_t type;
    mls_bytes data;
} mls_ext;

/* ---------------------------------------------------------------- identity */

/*
 * A signer: cipher suite, signature key pair and credential (RFC 9420
 * §5.3), plus the capabilities its leaf nodes advertise.  Every leaf node
 * and KeyPackage made from it lists, besides the defaults, the extension
 * types added with mls_identity_support_extensions: a group can only use a
 * GroupContext extension that every member supports (RFC 9420 §12.1.7,
 * §13.4), so all clients of an application should declare the same ones.
 */
typedef struct mls_identity mls_identity;

/* A fresh signature key pair for `suite` and a basic credential holding
 * `identity` (e.g. a user name). */
MLS_API MLS_MUST_CHECK int mls_identity_generate(const mls_env *env, uint16_t suite, mls_bytes identity,
                                         mls_identity **out);
/* From a stored signature private key (the encoding of lib/suite.h: raw
 * Ed25519/Ed448 seed, ECDSA big-endian scalar) and a basic credential
 * identity. */
MLS_API MLS_MUST_CHECK int mls_identity_from_private_key(uint16_t suite, mls_bytes signature_private_key,
                                                 mls_bytes identity, mls_identity **out);
/* From a signature private key and any encoded Credential (RFC 9420 §5.3,
 * e.g. x509). */
MLS_API MLS_MUST_CHECK int mls_identity_from_credential(uint16_t suite, mls_bytes signature_private_key,
                                                mls_bytes credential, mls_identity **out);
MLS_API void mls_identity_free(mls_identity *id);

/* Adds application extension types (and proposal types) to the
 * capabilities of every leaf node made from now on. */
MLS_API MLS_MUST_CHECK int mls_identity_support_extensions(mls_identity *id, const uint16_t *types,
                                                   size_t n);

MLS_API uint16_t mls_identity_suite(const mls_identity *id);
MLS_API mls_bytes mls_identity_signature_key(const mls_identity *id);         /* public */
MLS_API mls_bytes mls_identity_signature_private_key(const mls_identity *id); /* secret */
MLS_API mls_bytes mls_identity_credential(const mls_identity *id);            /* encoded Credential */
/* The identity of a basic credential (empty view for other types). */
MLS_API mls_bytes mls_identity_name(const mls_identity *id);

/* Persisting an identity (private key, credential, capabilities): the
 * bytes hold a secret. */
MLS_API MLS_MUST_CHECK int mls_identity_serialize(const mls_identity *id, mls_buf *out);
MLS_API MLS_MUST_CHECK int mls_identity_deserialize(mls_bytes in, mls_identity **out);

/*
 * RFC 9420 §5.1.2 SignWithLabel with the identity's key, for application
 * uses of the same key (e.g. answering a server's challenge).  The label
 * gets the "MLS 1.0 " prefix; choose labels MLS itself does not use.
 * sig is replaced.
 */
MLS_API MLS_MUST_CHECK int mls_identity_sign(const mls_env *env, const mls_identity *id,
                                     const char *label, mls_bytes content, mls_buf *sig);
/* VerifyWithLabel: MLS_OK or MLS_ERR_SIGNATURE. */
MLS_API MLS_MUST_CHECK int mls_signature_verify(uint16_t suite, mls_bytes signature_key,
                                        const char *label, mls_bytes content, mls_bytes sig);

/* Decodes an encoded basic Credential: its identity is a view into
 * `credential`.  MLS_ERR_UNSUPPORTED for other credential types. */
MLS_API MLS_MUST_CHECK int mls_credential_basic_identity(mls_bytes credential, mls_bytes *identity);

/* ---------------------------------------------------------------- KeyPackages */

typedef struct mls_key_package_options {
    /* Validity from now - 1 hour to now + lifetime_seconds (RFC 9420
     * §7.2 Lifetime); 0 means 90 days. */
    uint64_t lifetime_seconds;
    /* Adds the last_resort extension (MLS_EXTENSION_LAST_RESORT). */
    int last_resort;
    /* Further KeyPackage extensions (RFC 9420 §10), carried as given. */
    const mls_ext *extensions;
    size_t n_extensions;
} mls_key_package_options;

/*
 * A new KeyPackage (RFC 9420 §10) signed by `id`.  key_package gets the
 * MLSMessage (wire format mls_key_package) to publish; private_bundle gets
 * the bytes the application must keep secret until the KeyPackage is used
 * to join (they hold the init and leaf encryption private keys and the
 * KeyPackage itself).  opt may be NULL.
 */
MLS_API MLS_MUST_CHECK int mls_key_package_create(const mls_env *env, const mls_identity *id,
                                          const mls_key_package_options *opt,
                                          mls_buf *key_package, mls_buf *private_bundle);

/* Information about a KeyPackage, views into the message it was parsed
 * from. */
typedef struct mls_key_package_info {
    uint16_t suite;
    mls_bytes signature_key;
    mls_bytes credential; /* encoded Credential */
    mls_bytes identity;   /* basic credential identity, else empty */
    uint64_t not_before, not_after;
    int last_resort;
    uint16_t credential_type; /* MLS_CREDENTIAL_TYPE_* */
    mls_bytes key_package;    /* the bare KeyPackage (RFC 9420 §10) */
} mls_key_package_info;

/*
 * Full validation of a KeyPackage MLSMessage as a group or a Delivery
 * Service would do it (RFC 9420 §10.1): decode, version, known suite
 * (and == expected_suite unless 0), leaf node source, capabilities include
 * the suite and version, unique extensions, init key distinct from the
 * encryption key, both signatures, and lifetime at env->now.
 * info (may be NULL) borrows from key_package.
 */
MLS_API MLS_MUST_CHECK int mls_key_package_validate(const mls_env *env, mls_bytes key_package,
                                            uint16_t expected_suite, mls_key_package_info *info);
/* RFC 9420 §5.2 KeyPackageRef of a KeyPackage MLSMessage (out replaced). */
MLS_API MLS_MUST_CHECK int mls_key_package_message_ref(mls_bytes key_package, mls_buf *out);
/* The KeyPackageRef a private bundle belongs to. */
MLS_API MLS_MUST_CHECK int mls_key_package_bundle_ref(mls_bytes private_bundle, mls_buf *out);

/* ---------------------------------------------------------------- groups */

typedef struct mls_group mls_group;

/* Per-group settings, kept in the serialized state. */
typedef struct mls_group_config {
    /* Send proposals and commits as PrivateMessage (1) or PublicMessage
     * (0).  Application data is always PrivateMessage. */
    int handshake_private;
    /* Pad PrivateMessage content to a multiple of this many bytes (0: no
     * padding). */
    uint32_t padding_block;
    /* Application messages of this many previous epochs can still be
     * decrypted (their keys are kept until then). */
    uint32_t max_past_epochs;
    /* Out-of-order tolerance within an epoch (RFC 9420 §9.4): largest
     * generation jump accepted and how many skipped keys are kept per
     * sender (0 for both: the library defaults 1000 and 64). */
    uint32_t max_forward;
    uint32_t max_retained;
    /* Put the ratchet tree into Welcome messages' GroupInfo (ratchet_tree
     * extension).  With 0 the application sends mls_group_ratchet_tree
     * out of band. */
    int ratchet_tree_in_welcome;
} mls_group_config;

/* The defaults: handshake_private 0, padding 0, max_past_epochs 2,
 * max_forward 1000, max_retained 64, ratchet_tree_in_welcome 1. */
MLS_API void mls_group_config_default(mls_group_config *cfg);

/*
 * A new one-member group at epoch 0 (RFC 9420 §11).  group_id empty: 32
 * random bytes.  extensions: the initial GroupContext extensions (each
 * must be supported by id, see mls_identity_support_extensions).  The
 * group keeps a copy of id and a pointer to env (which must outlive it).
 * cfg NULL: the defaults.
 */
MLS_API MLS_MUST_CHECK int mls_group_create(const mls_env *env, const mls_identity *id,
                                    mls_bytes group_id, const mls_ext *extensions,
                                    size_t n_extensions, const mls_group_config *cfg,
                                    mls_group **out);
MLS_API void mls_group_free(mls_group *g);

/* Changes the settings (takes effect for the next message sent/received). */
MLS_API MLS_MUST_CHECK int mls_group_set_config(mls_group *g, const mls_group_config *cfg);
MLS_API void mls_group_get_config(const mls_group *g, mls_group_config *cfg);
/*
 * Forward secrecy for late messages (RFC 9420 §15.2): deletes the keys of
 * all but the `keep` most recent past epochs now (a following
 * mls_group_serialize no longer holds them), and lowers max_past_epochs
 * to keep when it is larger, so no more are kept from now on.  keep 0:
 * only the current epoch's messages can be read.  MLS_ERR_ARG for NULL.
 */
MLS_API MLS_MUST_CHECK int mls_group_forget_past_epochs(mls_group *g, uint32_t keep);

/* ---------------------------------------------------------------- state, roster */

MLS_API mls_bytes mls_group_id(const mls_group *g);
MLS_API uint64_t mls_group_epoch(const mls_group *g);
MLS_API uint16_t mls_group_suite(const mls_group *g);
/* Our own leaf index. */
MLS_API uint32_t mls_group_own_leaf(const mls_group *g);
/* RFC 9420 §8.7 epoch_authenticator of the current epoch. */
MLS_API mls_bytes mls_group_epoch_authenticator(const mls_group *g);
/* 1 after a commit with a ReInit proposal was applied: the group may only
 * be used to read old messages (RFC 9420 §12.1.5) and to create or join
 * its successor (mls_group_reinit_create, mls_join_options.groups). */
MLS_API int mls_group_is_reinit_pending(const mls_group *g);
/* The successor's group_id (a view into g), version and cipher suite from
 * the committed ReInit; any pointer may be NULL.  MLS_ERR_NOT_FOUND when no
 * ReInit was committed. */
MLS_API MLS_MUST_CHECK int mls_group_reinit_target(const mls_group *g, mls_bytes *group_id,
                                           uint16_t *version, uint16_t *suite);

/* RFC 9420 §8.5 MLS-Exporter(label, context, length); out replaced. */
MLS_API MLS_MUST_CHECK int mls_group_export_secret(const mls_group *g, const char *label,
                                           mls_bytes context, size_t length, mls_buf *out);

/* Number of leaves of the tree (members plus blank leaves): valid leaf
 * indices are 0 .. mls_group_leaf_count()-1. */
MLS_API uint32_t mls_group_leaf_count(const mls_group *g);
/* Number of members (non-blank leaves). */
MLS_API uint32_t mls_group_member_count(const mls_group *g);

/* One member, as views into the group (valid until it changes). */
typedef struct mls_member {
    uint32_t leaf;
    mls_bytes credential;    /* encoded Credential */
    uint16_t credential_type;
    mls_bytes identity;      /* basic credential identity, else empty */
    mls_bytes signature_key;
    mls_bytes encryption_key;
} mls_member;

/* MLS_ERR_NOT_FOUND for a blank leaf or an index outside the tree. */
MLS_API MLS_MUST_CHECK int mls_group_member(const mls_group *g, uint32_t leaf, mls_member *out);
/* The first member whose basic credential identity equals `identity`. */
MLS_API MLS_MUST_CHECK int mls_group_find_member(const mls_group *g, mls_bytes identity, uint32_t *leaf);

/* GroupContext extensions (RFC 9420 §13): data of the extension of that
 * type, MLS_ERR_NOT_FOUND if absent. */
MLS_API MLS_MUST_CHECK int mls_group_extension(const mls_group *g, uint16_t type, mls_bytes *data);
MLS_API size_t mls_group_extension_count(const mls_group *g);
/* The i-th GroupContext extension, in order. */
MLS_API MLS_MUST_CHECK int mls_group_extension_at(const mls_group *g, size_t i, mls_ext *out);

/* The current ratchet tree (optional<Node> ratchet_tree<V>, RFC 9420
 * §12.4.3.3), for sending beside a Welcome or GroupInfo. */
MLS_API MLS_MUST_CHECK int mls_group_ratchet_tree(const mls_group *g, mls_buf *out);
/* A signed GroupInfo MLSMessage of the current epoch (RFC 9420 §12.4.3),
 * with the external_pub extension so that it allows external joins, and
 * the ratchet tree if with_ratchet_tree. */
MLS_API MLS_MUST_CHECK int mls_group_group_info(const mls_group *g, int with_ratchet_tree,
                                        mls_buf *out);

/* ---------------------------------------------------------------- persistence */

/*
 * The whole state (versioned format, includes private keys: store it
 * encrypted).  deserialize(serialize(g)) gives a group whose serialization
 * is byte-identical.  env is kept like in mls_group_create.
 */
MLS_API MLS_MUST_CHECK int mls_group_serialize(const mls_group *g, mls_buf *out);
MLS_API MLS_MUST_CHECK int mls_group_deserialize(const mls_env *env, mls_bytes in, mls_group **out);

/* ---------------------------------------------------------------- PSKs */

/*
 * Where pre-shared keys come from (RFC 9420 §8.4).  external: the PSK for
 * an external psk_id.  resumption: the resumption_psk of epoch `epoch` of
 * group `group_id` (the group itself answers for its own recent epochs;
 * this is asked for others).  Return 0 and set *psk, or MLS_ERR_NOT_FOUND.
 * Either pointer may be NULL.
 */
typedef struct mls_psk_store {
    int (*external)(void *ctx, mls_bytes psk_id, mls_buf *psk);
    int (*resumption)(void *ctx, mls_bytes group_id, uint64_t epoch, mls_buf *psk);
    void *ctx;
} mls_psk_store;

/* Sets the PSK lookup used by the group when it processes commits with
 * PreSharedKey proposals (not serialized: set it again after
 * deserializing).  store is copied; NULL removes it. */
MLS_API void mls_group_set_psk_store(mls_group *g, const mls_psk_store *store);

/* ---------------------------------------------------------------- commits */

/* The parameters of a successor group for a ReInit proposal (RFC 9420
 * §12.1.5): group_id (empty: 32 random bytes), protocol version (0: MLS
 * 1.0; never lower than the group's), cipher suite, and the successor's
 * GroupContext extensions. */
typedef struct mls_reinit_params {
    mls_bytes group_id;
    uint16_t version;
    uint16_t suite;
    const mls_ext *extensions;
    size_t n_extensions;
} mls_reinit_params;

/*
 * What to put into a commit.  Everything here is sent by value; proposals
 * received earlier (mls_group_process returned MLS_RESULT_PROPOSAL) are
 * included by reference when include_pending_proposals is set.
 * The commit has an UpdatePath when the RFC requires it (§12.4: Update,
 * Remove, ExternalInit, GroupContextExtensions or an empty commit) or when
 * force_path is set.
 */
typedef struct mls_commit_options {
    /* KeyPackage MLSMessages to add (RFC 9420 §12.1.1). */
    const mls_bytes *add;
    size_t n_add;
    /* Leaf indices to remove (§12.1.3). */
    const uint32_t *remove;
    size_t n_remove;
    /* Replace or add these GroupContext extensions and drop those of the
     * types in remove_extensions; all others are kept.  Any of them makes
     * a GroupContextExtensions proposal (§12.1.7). */
    const mls_ext *set_extensions;
    size_t n_set_extensions;
    const uint16_t *remove_extensions;
    size_t n_remove_extensions;
    /* External PSK ids to inject (§12.1.4); their values come from the
     * group's mls_psk_store. */
    const mls_bytes *external_psks;
    size_t n_external_psks;
    /* Include every valid pending proposal by reference. */
    int include_pending_proposals;
    /* Always send an UpdatePath (refreshes our leaf: a self-update). */
    int force_path;
    /* FramedContent.authenticated_data (sent in clear). */
    mls_bytes authenticated_data;
    /* A ReInit proposal (RFC 9420 §12.1.5, §11.2).  It must be the only
     * proposal of the commit (§12.2; MLS_ERR_INVALID otherwise); the suite
     * must be one libmls implements (MLS_ERR_UNSUPPORTED).  After merging,
     * the group only reads old messages and mls_group_reinit_create makes
     * the successor. */
    const mls_reinit_params *reinit;
    /* This commit's wire format (enum mls_handshake_choice): 0 follows
     * the group's handshake_private setting. */
    int handshake;
    /* Whether this commit's Welcome carries the ratchet tree (enum
     * mls_tree_choice): 0 follows the group's ratchet_tree_in_welcome. */
    int ratchet_tree_in_welcome;
    /* A new credential of ours (a rename): the commit has an UpdatePath
     * whose leaf carries this identity's credential (RFC 9420 §12.4.2: a
     * path leaf may change the credential).  Same suite and signature key
     * as the group's identity, else MLS_ERR_ARG.  Once the commit is
     * merged (and in mls_staged_commit_next_state) the group uses it for
     * everything it signs and every later leaf.  NULL: unchanged. */
    const mls_identity *new_identity;
} mls_commit_options;

/* Per-commit choices of mls_commit_options; 0 is always "as the group's
 * mls_group_config says".  MLS_ERR_ARG for other values. */
enum mls_handshake_choice {
    MLS_HANDSHAKE_GROUP_DEFAULT = 0,
    MLS_HANDSHAKE_PUBLIC = 1,   /* PublicMessage (RFC 9420 §6.2) */
    MLS_HANDSHAKE_PRIVATE = 2   /* PrivateMessage (RFC 9420 §6.3) */
};
enum mls_tree_choice {
    MLS_TREE_GROUP_DEFAULT = 0,
    MLS_TREE_IN_WELCOME = 1,    /* ratchet_tree extension in the GroupInfo */
    MLS_TREE_OUT_OF_BAND = 2    /* send mls_staged_commit_ratchet_tree beside it */
};

/*
 * A commit that has been verified or built but not applied: our own
 * (mls_group_commit) or a received one (mls_group_process_staged).  The
 * group is unchanged until mls_group_merge_staged.  Free with
 * mls_staged_commit_free whether merged or not (freeing unmerged is the
 * discard).
 */
typedef struct mls_staged_commit mls_staged_commit;

/* Builds a commit from opt (NULL: an empty commit with a path, a self-
 * update).  Fails with MLS_ERR_INVALID if the proposals break a rule of
 * RFC 9420 §12.2 (e.g. removing an empty leaf, adding a KeyPackage of a
 * member already in the group). */
MLS_API MLS_MUST_CHECK int mls_group_commit(mls_group *g, const mls_commit_options *opt,
                                    mls_staged_commit **out);
/* Shorthands for mls_group_commit. */
MLS_API MLS_MUST_CHECK int mls_group_add_members(mls_group *g, const mls_bytes *key_packages, size_t n,
                                         mls_staged_commit **out);
MLS_API MLS_MUST_CHECK int mls_group_remove_members(mls_group *g, const uint32_t *leaves, size_t n,
                                            mls_staged_commit **out);
MLS_API MLS_MUST_CHECK int mls_group_self_update(mls_group *g, mls_staged_commit **out);
MLS_API MLS_MUST_CHECK int mls_group_set_extensions(mls_group *g, const mls_ext *set, size_t n_set,
                                            mls_staged_commit **out);

/* The Commit MLSMessage to send to the Delivery Service. */
MLS_API mls_bytes mls_staged_commit_message(const mls_staged_commit *sc);
/* The Welcome MLSMessage for the added members (empty if none). */
MLS_API mls_bytes mls_staged_commit_welcome(const mls_staged_commit *sc);
/* A signed GroupInfo MLSMessage of the new epoch (with external_pub and
 * the ratchet tree), for external joins. */
MLS_API mls_bytes mls_staged_commit_group_info(const mls_staged_commit *sc);
/* The ratchet tree of the new epoch, to send beside the Welcome when
 * ratchet_tree_in_welcome is 0. */
MLS_API mls_bytes mls_staged_commit_ratchet_tree(const mls_staged_commit *sc);
/* The epoch the group will be in after merging. */
MLS_API uint64_t mls_staged_commit_epoch(const mls_staged_commit *sc);
/* Members the Welcome is for: their KeyPackageRef and basic identity. */
MLS_API size_t mls_staged_commit_welcome_count(const mls_staged_commit *sc);
MLS_API MLS_MUST_CHECK int mls_staged_commit_welcome_member(const mls_staged_commit *sc, size_t i,
                                                    mls_bytes *key_package_ref,
                                                    mls_bytes *identity);

/*
 * RFC 9420 §11.2 step 3: creates the successor of `old`, a group whose
 * ReInit commit has been applied (merged or processed).  *out gets a new
 * group at epoch 0 made with the ReInit's group_id, version, cipher suite
 * and extensions, created by `id` (an identity for the new cipher suite);
 * *staged its first commit, which adds key_packages (KeyPackage
 * MLSMessages for the new suite of all other members of the old group:
 * the caller gathers them, libmls does not compare the memberships) and
 * carries a PreSharedKey proposal of type resumption, usage reinit, for
 * old's current epoch (the epoch the ReInit commit started), as does the
 * Welcome.  Send the commit's Welcome to the members; merge *staged into
 * *out (mls_group_merge_staged) once the Delivery Service accepted it.
 * Free both in any case.  old is not changed and keeps that epoch's
 * resumption PSK.  MLS_ERR_STATE if old has no committed ReInit; MLS_ERR_ARG if id
 * is not of the ReInit's suite; MLS_ERR_UNSUPPORTED for another version
 * than MLS 1.0 or an empty group_id.  cfg NULL: the defaults.
 */
MLS_API MLS_MUST_CHECK int mls_group_reinit_create(const mls_env *env, const mls_group *old,
                                           const mls_identity *id, const mls_bytes *key_packages,
                                           size_t n, const mls_group_config *cfg,
                                           mls_group **out, mls_staged_commit **staged);

/*
 * Applies a staged commit: our own once the Delivery Service has accepted
 * it, a received one once the application has inspected it and accepts
 * it.  It does what mls_group_process does for a commit: the epoch
 * advances, the pending proposals of the old epoch are dropped (committed
 * or not, RFC 9420 §12.4), the old epoch's keys join the past epochs kept
 * for late application messages (max_past_epochs), its resumption PSK is
 * kept; a commit that removes us makes the group inactive instead.  After
 * a successful stage it fails only with MLS_ERR_ARG or, when g is not the
 * group in the epoch the commit was staged in (it moved on, or the commit
 * was merged already), MLS_ERR_STATE: then free the staged commit.  The
 * staged commit is consumed (only free remains).
 */
MLS_API MLS_MUST_CHECK int mls_group_merge_staged(mls_group *g, mls_staged_commit *sc);
MLS_API void mls_staged_commit_free(mls_staged_commit *sc);

/*
 * The serialized group state (mls_group_serialize format) the group will
 * have after merging sc: exactly the bytes mls_group_serialize gives
 * after mls_group_merge_staged, if nothing else changes the group in
 * between.  For persisting "next state + cursor" in one transaction before
 * merging in memory.  out replaced; it holds private keys.  MLS_ERR_STATE
 * like mls_group_merge_staged.  O(group state).
 */
MLS_API MLS_MUST_CHECK int mls_staged_commit_next_state(const mls_staged_commit *sc, mls_buf *out);

/* ---------------------------------------------------------------- inspecting commits */

/*
 * One proposal, as a staged commit applies it or as it waits in the
 * pending list.  Views valid while the staged commit lives (for pending
 * proposals: until the group next changes).  Members are judged on the
 * tree before the commit.
 */
typedef struct mls_proposal_info {
    uint16_t type;          /* enum mls_proposal_type (RFC 9420 §17.4) */
    uint8_t sender_type;    /* enum mls_sender_type (RFC 9420 §6) */
    uint32_t sender_index;  /* member: leaf index; external: index into
                             * external_senders */
    int by_reference;       /* committed by ProposalRef (else by value) */
    mls_bytes ref;          /* its ProposalRef when by reference or pending */
    /* Remove: the removed member; Update: the sender's leaf before. */
    int has_before;
    mls_member before;
    /* Add: the new member (leaf: the index it gets; UINT32_MAX for a
     * pending proposal); Update: the sender's new leaf. */
    int has_after;
    mls_member after;
    /* GroupContextExtensions: the complete new list; ReInit: the
     * successor's extensions. */
    const mls_ext *extensions;
    size_t n_extensions;
    /* ReInit (RFC 9420 §12.1.5). */
    mls_bytes reinit_group_id;
    uint16_t reinit_version, reinit_suite;
    /* PreSharedKey (RFC 9420 §8.4): psk_type 1 external (psk_id), 2
     * resumption (psk_usage, psk_group_id, psk_epoch). */
    uint8_t psk_type;
    mls_bytes psk_id;
    uint8_t psk_usage;
    mls_bytes psk_group_id;
    uint64_t psk_epoch;
    mls_bytes psk_nonce;
    /* ExternalInit (RFC 9420 §12.1.6). */
    mls_bytes kem_output;
} mls_proposal_info;

/* What a staged commit does, judged on the group before it.  Views valid
 * while the staged commit lives. */
typedef struct mls_commit_summary {
    int own;                /* made by this group (mls_group_commit) */
    uint64_t epoch;         /* the epoch it was sent in */
    uint64_t new_epoch;
    uint8_t sender_type;    /* MLS_SENDER_MEMBER or _NEW_MEMBER_COMMIT */
    uint32_t sender_leaf;   /* member: its leaf; external: the joiner's leaf */
    /* The committer: a member as its leaf was before the commit; for an
     * external commit the joiner's new leaf. */
    mls_member committer;
    /* An UpdatePath: the committer's leaf after the commit (for a member
     * compare with committer to see a credential change). */
    int has_path;
    mls_member path_leaf;
    /* Every proposal applied, in the commit's order:
     * mls_staged_commit_proposal(sc, 0 .. n_proposals-1). */
    size_t n_proposals;
    size_t n_adds, n_removes, n_updates, n_psks;
    /* A GroupContextExtensions proposal: the lists before and after. */
    int extensions_changed;
    const mls_ext *old_extensions;
    size_t n_old_extensions;
    const mls_ext *new_extensions;
    size_t n_new_extensions;
    int reinit;             /* a ReInit (its proposal has the parameters) */
    int external_init;      /* an ExternalInit: an external commit */
    int self_removed;       /* we are removed: merging makes g inactive */
    mls_bytes authenticated_data;
} mls_commit_summary;

MLS_API MLS_MUST_CHECK int mls_staged_commit_summary(const mls_staged_commit *sc,
                                             mls_commit_summary *out);
/* The i-th proposal of the commit; MLS_ERR_NOT_FOUND past the end. */
MLS_API MLS_MUST_CHECK int mls_staged_commit_proposal(const mls_staged_commit *sc, size_t i,
                                              mls_proposal_info *out);

/* ---------------------------------------------------------------- proposals */

/* Standalone proposals (RFC 9420 §12.1), sent for someone else to commit.
 * The group remembers its own proposals like received ones so a later
 * commit by anyone can include them.  out gets the MLSMessage. */
MLS_API MLS_MUST_CHECK int mls_group_propose_add(mls_group *g, mls_bytes key_package, mls_buf *out);
MLS_API MLS_MUST_CHECK int mls_group_propose_remove(mls_group *g, uint32_t leaf, mls_buf *out);
MLS_API MLS_MUST_CHECK int mls_group_propose_self_update(mls_group *g, mls_buf *out);
MLS_API MLS_MUST_CHECK int mls_group_propose_extensions(mls_group *g, const mls_ext *extensions,
                                                size_t n, mls_buf *out);
MLS_API MLS_MUST_CHECK int mls_group_propose_external_psk(mls_group *g, mls_bytes psk_id,
                                                  mls_buf *out);
/* Number of proposals received (or sent) in this epoch and not yet
 * committed; and forgetting them. */
MLS_API size_t mls_group_pending_proposals(const mls_group *g);
/* The i-th pending proposal (in the order received), with its ProposalRef
 * (RFC 9420 §5.2), type and sender, judged on the current tree.  Views
 * valid until the group next changes.  MLS_ERR_NOT_FOUND past the end. */
MLS_API MLS_MUST_CHECK int mls_group_pending_proposal(const mls_group *g, size_t i,
                                              mls_proposal_info *out);
MLS_API void mls_group_clear_pending_proposals(mls_group *g);

/* ---------------------------------------------------------------- incoming messages */

enum mls_result_kind {
    MLS_RESULT_APPLICATION = 1, /* application data */
    MLS_RESULT_PROPOSAL = 2,    /* a proposal, stored for a later commit */
    MLS_RESULT_COMMIT = 3       /* a commit, applied: the epoch advanced */
};

/* A member added, removed or updated by a commit. */
typedef struct mls_member_change {
    uint32_t leaf;
    mls_buf credential;    /* encoded Credential */
    mls_buf identity;      /* basic credential identity, else empty */
    mls_buf signature_key;
    /* updated: the leaf before the commit (a credential change shows as
     * old_identity != identity); empty for added and removed. */
    mls_buf old_credential;
    mls_buf old_identity;
    mls_buf old_signature_key;
} mls_member_change;

typedef struct mls_process_result {
    int kind;                 /* enum mls_result_kind */
    uint64_t epoch;           /* epoch of the message */
    uint8_t sender_type;      /* RFC 9420 §6: 1 member, 2 external,
                               * 3 new_member_proposal, 4 new_member_commit */
    uint32_t sender_leaf;     /* member: its leaf index; new member commit:
                               * the leaf it joined at */
    mls_buf authenticated_data;
    /* MLS_RESULT_APPLICATION */
    mls_buf application_data;
    /* MLS_RESULT_PROPOSAL: its RFC 9420 §17.4 proposal type */
    uint16_t proposal_type;
    /* MLS_RESULT_COMMIT: the new epoch's changes */
    mls_member_change *added;
    size_t n_added;
    mls_member_change *removed; /* as they were before removal */
    size_t n_removed;
    mls_member_change *updated; /* leaf replaced by an Update or the path */
    size_t n_updated;
    int extensions_changed;     /* a GroupContextExtensions was applied */
    int self_removed;           /* we were removed: the group is inactive */
    int reinit;                 /* a ReInit was committed */
    uint64_t new_epoch;         /* the epoch the commit starts */
    /* The committer before the commit (member; leaf, credential and keys
     * as they were), or an external commit's joiner as it joined.  The
     * full description: mls_staged_commit_summary. */
    mls_member_change committer;
    int has_path;
    int external_init;          /* an external commit */
    size_t n_psks;              /* PreSharedKey proposals applied */
} mls_process_result;

MLS_API void mls_process_result_clear(mls_process_result *r);

/*
 * Processes one MLSMessage of this group (PublicMessage or PrivateMessage)
 * in Delivery Service order: verifies it (signature, membership tag,
 * confirmation tag, all rules of RFC 9420 §12), and on success applies it.
 * Application messages of up to max_past_epochs previous epochs are
 * accepted.  On error the group is unchanged and *res is untouched.
 * MLS_ERR_WRONG_EPOCH for a handshake message of another epoch (e.g. a
 * commit that lost the race at the DS), MLS_ERR_WRONG_GROUP for another
 * group, MLS_ERR_STATE for a commit of our own (merge the staged commit
 * instead; a client that lost its staged commit rejoins with
 * mls_group_external_join) or a group we were removed from.
 */
MLS_API MLS_MUST_CHECK int mls_group_process(mls_group *g, mls_bytes message, mls_process_result *res);

/*
 * Like mls_group_process, but a commit is verified completely (every rule
 * of RFC 9420 §12.4.2, the same errors) and staged, not applied: *res gets
 * kind MLS_RESULT_COMMIT and its description, *staged the staged commit
 * holding the next epoch, and g stays exactly as it was (its
 * serialization is byte-identical).  Inspect it
 * (mls_staged_commit_summary, mls_staged_commit_proposal), persist
 * mls_staged_commit_next_state with the cursor if wanted, then
 * mls_group_merge_staged, or mls_staged_commit_free to discard (the same
 * message can be processed again).  Application messages and proposals are
 * processed as by mls_group_process and *staged is set to NULL.  On error
 * *res and *staged are untouched.
 */
MLS_API MLS_MUST_CHECK int mls_group_process_staged(mls_group *g, mls_bytes message,
                                            mls_process_result *res,
                                            mls_staged_commit **staged);

/*
 * Processes msgs[0..n), messages of this group in Delivery Service order,
 * with exactly the outcome of calling mls_group_process on each in turn
 * and stopping at the first failure, but faster: runs of application
 * PrivateMessages of the current epoch are decrypted in order (the secret
 * tree ratchets, RFC 9420 §9) and their FramedContent signatures (§6.1)
 * verified together through env's executor (env->parallel_for; env NULL:
 * the group's own environment).  Handshake messages and application
 * messages of past epochs are barriers, processed one by one as by
 * mls_group_process (a commit is staged and merged).
 *
 * flags MLS_BATCH_STOP_AT_COMMIT: stop before a commit instead, leaving it
 * unprocessed, so that the application can judge it with
 * mls_group_process_staged and then call again from the message after it.
 *
 * results has room for n; results[0 .. *done) are filled (clear each with
 * mls_process_result_clear).  Returns 0 with *done == n when all were
 * processed, 0 with *done < n when stopped before the commit
 * msgs[*done]; otherwise the error mls_group_process gives for
 * msgs[*done], the first that failed.  The group has changed for exactly
 * the messages before *done: its serialization is that after processing
 * them one by one.
 */
#define MLS_BATCH_STOP_AT_COMMIT 1u
MLS_API MLS_MUST_CHECK int mls_group_process_batch(const mls_env *env, mls_group *g,
                                                   const mls_bytes *msgs, size_t n,
                                                   unsigned flags, mls_process_result *results,
                                                   size_t *done);

/*
 * The same in two calls, so that the application works while the
 * signatures are verified (e.g. parses the next page of the log, stores
 * the results of the batch before):
 *
 * mls_group_process_batch_start decrypts the first run of application
 * messages (those before the first barrier) in log order on the calling
 * thread, hands their signature checks to the environment's executor and
 * returns at once with *out.  Only the library's pool
 * (mls_pool_parallel_for, e.g. mls_env_default_parallel) verifies in the
 * background, on its worker threads, while it runs no other loop; with
 * any other executor or none the checks run in mls_batch_finish.  While a
 * batch holds the pool, loops started on it elsewhere run sequentially in
 * their callers.
 *
 * mls_batch_finish waits for the checks (the calling thread verifies
 * too), judges the run and processes the rest of msgs, with the results,
 * *done and return value of mls_group_process_batch, which is these two
 * calls; it may be called once.  mls_batch_free frees the batch (NULL is
 * fine).
 *
 * Between start and finish the group is lent to the batch and must not
 * change: only calls taking it as const mls_group * (members, epoch,
 * extensions: what the verifications also only read) may be made on g,
 * from the thread that started the batch; any other call on g, freeing
 * g, the pool or env, or changing msgs (read again by finish) is a
 * caller error.  A batch freed without finish stops its checks, waits
 * for those running and leaves g exactly as before start (start changes
 * only the secret tree, and puts back its copy); nothing of msgs is then
 * processed.  All calls on a batch come from one thread.
 */
typedef struct mls_batch mls_batch;
MLS_API MLS_MUST_CHECK int mls_group_process_batch_start(const mls_env *env, mls_group *g,
                                                         const mls_bytes *msgs, size_t n,
                                                         unsigned flags, mls_batch **out);
MLS_API MLS_MUST_CHECK int mls_batch_finish(mls_batch *b, mls_process_result *results,
                                            size_t *done);
MLS_API void mls_batch_free(mls_batch *b);

/* 1 once we have been removed from the group (no more sending). */
MLS_API int mls_group_is_active(const mls_group *g);

/* ---------------------------------------------------------------- application data */

/* Encrypts application data as a PrivateMessage MLSMessage (RFC 9420
 * §6.3) of the current epoch.  authenticated_data is sent in clear but
 * authenticated (may be empty). */
MLS_API MLS_MUST_CHECK int mls_group_protect(mls_group *g, mls_bytes authenticated_data,
                                     mls_bytes plaintext, mls_buf *out);

/* ---------------------------------------------------------------- joining */

/* Which group a message belongs to, without a group: the group_id and
 * epoch of a PublicMessage/PrivateMessage (views into message), for
 * routing. */
MLS_API MLS_MUST_CHECK int mls_message_group_id(mls_bytes message, mls_bytes *group_id,
                                        uint64_t *epoch);

/* The KeyPackageRefs a Welcome is addressed to (views into welcome). */
MLS_API MLS_MUST_CHECK int mls_welcome_refs(mls_bytes welcome, mls_bytes *refs, size_t max,
                                    size_t *n);

typedef struct mls_join_options {
    /* The ratchet tree (optional<Node> ratchet_tree<V>) when the Welcome's
     * GroupInfo does not carry it; empty otherwise. */
    mls_bytes ratchet_tree;
    /* PSKs the Welcome may require (RFC 9420 §12.4.3.1). */
    mls_psk_store psks;
    /* NULL: mls_group_config_default. */
    const mls_group_config *config;
    /* Our groups whose resumption PSKs (RFC 9420 §8.6) the Welcome may
     * use: their current and recent epochs' resumption_psk are found here
     * before psks.resumption is asked.  Giving the old group of a ReInit
     * also makes the checks of §11.2 (see mls_group_join). */
    const mls_group *const *groups;
    size_t n_groups;
} mls_join_options;

/*
 * Joins from a Welcome MLSMessage (RFC 9420 §12.4.3.1).  bundles are the
 * private bundles of our unused KeyPackages (from mls_key_package_create);
 * the one the Welcome is for is used and its index written to *used (may
 * be NULL): delete it afterwards, unless it is a last-resort one.  The
 * whole tree is validated (O(n)).  opt may be NULL.
 *
 * Reinitialization (§11.2), for each group G of opt->groups: a Welcome
 * with a resumption PSK of usage reinit naming G must name G's current
 * epoch, G must have a committed ReInit, and the new GroupContext's
 * group_id, version, cipher suite and extensions must equal the ReInit's;
 * a Welcome for the group_id of G's ReInit must carry that PSK.
 * MLS_ERR_INVALID otherwise.
 */
MLS_API MLS_MUST_CHECK int mls_group_join(const mls_env *env, const mls_identity *id,
                                  mls_bytes welcome, const mls_bytes *bundles, size_t n_bundles,
                                  const mls_join_options *opt, size_t *used, mls_group **out);

typedef struct mls_external_join_options {
    /* The ratchet tree if the GroupInfo has no ratchet_tree extension. */
    mls_bytes ratchet_tree;
    /* Rejoin after losing our state (RFC 9420 §12.4.3.2): also remove
     * this old leaf of ours in the same commit. */
    int remove_old_leaf;
    uint32_t old_leaf;
    /* External PSKs to inject, looked up in psks. */
    const mls_bytes *external_psks;
    size_t n_external_psks;
    mls_psk_store psks;
    mls_bytes authenticated_data;
    const mls_group_config *config;
} mls_external_join_options;

/*
 * Joins by an external commit (RFC 9420 §12.4.3.2) from a GroupInfo
 * MLSMessage carrying external_pub.  *commit gets the Commit MLSMessage to
 * send; *out the group in the new epoch.  If the Delivery Service rejects
 * the commit, free the group and try again with a newer GroupInfo.
 */
MLS_API MLS_MUST_CHECK int mls_group_external_join(const mls_env *env, const mls_identity *id,
                                           mls_bytes group_info,
                                           const mls_external_join_options *opt,
                                           mls_buf *commit, mls_group **out);

/* ---------------------------------------------------------------- authentication */

/* Fingerprint of a signature key for display and out-of-band checks, one
 * format for every suite (docs/PROTOCOL.md §2): SHA-256 of the raw public
 * key as 64 lowercase hex digits in 16 groups of 4 joined by ':'
 * ("3fa2:09bc:...", 79 characters), NUL-terminated in out. */
#define MLS_FINGERPRINT_SIZE 80
MLS_API MLS_MUST_CHECK int mls_signature_key_fingerprint(mls_bytes signature_key,
                                                         char out[MLS_FINGERPRINT_SIZE]);

#ifdef __cplusplus
}
#endif
#endif
