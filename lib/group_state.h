/*
 * Internal state of an mls_group (include/mls/group.h) and the pieces the
 * group engine's files share.  The engine's modules, each calling only
 * those listed after it:
 *
 *   batch.c          many incoming messages, signatures in parallel (§6.1)
 *   group_message.c  incoming messages, standalone proposals (§6, §12.1)
 *   join.c           Welcome and external joins, ReInit successor (§11.2, §12.4.3)
 *   commit.c         creating a commit and its Welcome (§12.4.1, §12.4.3.1)
 *   commit_process.c staging a received commit (§12.4.2)
 *   staged.c         the staged commit: inspection, merge, next state
 *   epoch.c          computing the next epoch (§8, transcript, tree hash)
 *   proposals.c      proposal rules and application (§12.1-§12.3)
 *   group.c          state, accessors, epoch install, PSK lookup
 *   group_codec.c    serialization
 *
 * commit.h declares the staged commit (commit.c, commit_process.c,
 * staged.c); epoch.h the next-epoch computation.
 */
#ifndef MLS_GROUP_STATE_H
#define MLS_GROUP_STATE_H

#include "mls/group.h"

#include "framing.h"
#include "identity.h"
#include "key_schedule.h"
#include "messages.h"
#include "ratchet_tree.h"
#include "secret_tree.h"
#include "treekem.h"

/* The public part of one epoch and our private keys for it: what a commit
 * replaces as a whole. */
typedef struct mls_epoch_state {
    mls_group_context ctx;
    mls_buf ctx_enc;                 /* encoded GroupContext */
    mls_rtree tree;
    mls_treekem_priv priv;
    mls_epoch_secrets sec;
    uint8_t interim[MLS_MAX_HASH];   /* interim transcript hash */
    uint8_t conf_tag[MLS_MAX_HASH];  /* confirmation tag of this epoch */
} mls_epoch_state;

void mls_epoch_state_clear(mls_epoch_state *e);

/* A proposal received (or sent) in the current epoch (RFC 9420 §12.1). */
typedef struct mls_pending_proposal {
    mls_buf ref;           /* ProposalRef, RFC 9420 §5.2 */
    mls_proposal proposal;
    mls_sender sender;
    mls_buf own_leaf_sk;   /* our own Update: the new leaf's private key */
    /* Its description for mls_group_pending_proposal, made on demand
     * (staged.c; not serialized). */
    struct mls_sc_proposal *desc;
} mls_pending_proposal;

/* What is kept of a previous epoch to decrypt late application messages
 * (RFC 9420 §15.2). */
typedef struct mls_past_epoch {
    uint64_t epoch;
    mls_buf ctx_enc;
    uint8_t sender_data_secret[MLS_MAX_HASH];
    mls_secret_tree stree;
    /* Signature keys, as they were in this epoch, of the leaves the commit
     * that ended it changed (empty buffer: the leaf was blank).  A leaf not
     * listed here nor in a later record has its current key. */
    uint32_t *ch_leaf;
    mls_buf *ch_key;
    size_t n_ch;
} mls_past_epoch;

/* resumption_psk of a recent epoch (RFC 9420 §8.6). */
typedef struct mls_resumption_entry {
    uint64_t epoch;
    uint8_t psk[MLS_MAX_HASH];
} mls_resumption_entry;

#define MLS_GROUP_RESUMPTION_KEEP 8u
#define MLS_GROUP_STATE_VERSION 2u

struct mls_group {
    const mls_env *env;
    const mls_suite *suite;
    mls_group_config cfg;
    mls_identity *id;
    mls_epoch_state cur;
    mls_secret_tree stree;
    mls_pending_proposal *props;
    size_t n_props;
    mls_past_epoch *past;        /* oldest first */
    size_t n_past;
    mls_resumption_entry *res;   /* oldest first */
    size_t n_res;
    mls_psk_store psks;
    int active;
    int reinit_pending;
    /* The ReInit proposal of the commit that set reinit_pending (RFC 9420
     * §11.2): the parameters of the successor group. */
    mls_reinit reinit;
    /* Set only while mls_group_reinit_create builds the successor's first
     * commit: a resumption PSK with usage reinit is valid there (§12.1.4). */
    int reinit_commit;
    /* Encoded credentials of members, filled on demand by mls_group_member
     * (n_cred_cache slots, dropped at every epoch change). */
    mls_buf *cred_cache;
    uint32_t n_cred_cache;
};

/* ---------------------------------------------------------------- group.c */

/* A zeroed heap group with env, suite, config and a copy of id. */
MLS_MUST_CHECK int mls_group_alloc(const mls_env *env, const mls_identity *id,
                                   const mls_group_config *cfg, mls_group **out);
/* Encodes e->ctx into e->ctx_enc. */
MLS_MUST_CHECK int mls_epoch_encode_ctx(mls_epoch_state *e);
/* The framing context of the current epoch (borrows from g). */
void mls_group_framing_ctx(mls_group *g, mls_framing_ctx *fc);
/* A copy of src, a secret tree of g's current epoch. */
MLS_MUST_CHECK int mls_group_stree_copy(const mls_group *g, const mls_secret_tree *src,
                                        mls_secret_tree *dst);
/* Sets up the secret tree of the current epoch from cur.sec. */
MLS_MUST_CHECK int mls_group_init_secret_tree(mls_group *g);
/*
 * Installs the next epoch (taken over from *next, which is left zeroed):
 * the current epoch's decryption state moves to the past-epoch list
 * (changed[] are the leaves whose signature key may differ in the new
 * tree), the resumption PSK is remembered, pending proposals dropped.
 * In two steps so that merging a staged commit cannot fail: prepare does
 * every allocation and leaves g as it was; install_prepared then only
 * moves what prepare made (MLS_ERR_STATE if g changed epoch since).
 */
typedef struct mls_install_prep {
    uint64_t epoch;              /* g's epoch when prepared */
    size_t n_past, n_res;        /* and its list lengths */
    mls_secret_tree stree;       /* the new epoch's secret tree */
    mls_past_epoch past;         /* record of the epoch that ends */
    mls_past_epoch *past_arr;    /* n_past + 1 slots */
    mls_resumption_entry *res_arr; /* n_res + 1 slots */
} mls_install_prep;

void mls_install_prep_clear(mls_install_prep *p);
MLS_MUST_CHECK int mls_group_install_prepare(mls_group *g, mls_epoch_state *next,
                                             const uint32_t *changed, size_t n_changed,
                                             mls_install_prep *prep);
/* stree (may be NULL): replaces the current epoch's secret tree first
 * (taken over). */
MLS_MUST_CHECK int mls_group_install_prepared(mls_group *g, mls_epoch_state *next,
                                              mls_install_prep *prep, mls_secret_tree *stree);
MLS_MUST_CHECK int mls_group_install_epoch(mls_group *g, mls_epoch_state *next,
                                           const uint32_t *changed, size_t n_changed);
/* Encodes and protects ac (signed content of the current epoch) in the
 * wire format ac names into an MLSMessage. */
MLS_MUST_CHECK int mls_group_protect_content(mls_group *g, const mls_authenticated_content *ac,
                                             mls_buf *out);
/* Wire format the group sends handshake messages in by default. */
uint16_t mls_group_handshake_wire_format(const mls_group *g);
/* The resumption_psk of epoch `epoch` of g itself (its current epoch or a
 * recent one, RFC 9420 §8.6) if group_id is g's; MLS_ERR_NOT_FOUND. */
MLS_MUST_CHECK int mls_group_own_resumption_psk(const mls_group *g, mls_bytes group_id,
                                                uint64_t epoch, mls_buf *out);
/* The value of a PSK (RFC 9420 §8.4) from the group's own resumption PSKs
 * or its store; out gets the value (replaced).  MLS_ERR_NOT_FOUND. */
MLS_MUST_CHECK int mls_group_psk_value(const mls_group *g, const mls_psk_store *store,
                                       const mls_psk_id *id, mls_buf *out);
/* psk_secret over the PSK ids in order (n = 0: out gets nothing, *len 0). */
MLS_MUST_CHECK int mls_group_psk_secret(const mls_group *g, const mls_psk_store *store,
                                        const mls_psk_id *const *ids, size_t n,
                                        uint8_t out[MLS_MAX_HASH], size_t *len);
/* Signed GroupInfo of epoch e, with external_pub and optionally the tree. */
MLS_MUST_CHECK int mls_group_make_group_info(const mls_group *g, mls_epoch_state *e,
                                             int with_tree, mls_group_info *out);
/* An MLSMessage header + body encoders. */
MLS_MUST_CHECK int mls_message_wrap(const mls_message *m, mls_buf *out);
/* ProposalRef = RefHash("MLS 1.0 Proposal Reference", AuthenticatedContent). */
MLS_MUST_CHECK int mls_proposal_ref(const mls_suite *s, const mls_authenticated_content *ac,
                                    mls_buf *out);
/* The signature key of leaf `leaf` as it was in epoch `epoch` (current or
 * past); MLS_ERR_NOT_FOUND if blank. */
MLS_MUST_CHECK int mls_group_sig_key_at(const mls_group *g, uint64_t epoch, uint32_t leaf,
                                        mls_bytes *out);

/* ---------------------------------------------------------------- proposals.c */

/* RFC 9420 §12.1.7, §13: GroupContext extensions are unique, the known
 * ones parse, and every member of tree supports them and the required
 * capabilities.  O(n). */
MLS_MUST_CHECK int mls_group_check_extensions(const mls_group *g, const mls_extension_list *ext,
                                              const mls_rtree *tree);

/* One proposal of a commit, resolved. */
typedef struct mls_prop_item {
    const mls_proposal *p;
    mls_sender sender;         /* who proposed it (the committer if by value) */
    const mls_pending_proposal *pending; /* by reference: the cached entry */
} mls_prop_item;

/* The result of applying a proposal list (RFC 9420 §12.3). */
typedef struct mls_applied {
    uint32_t *added;           /* leaf index per Add, in order */
    const mls_key_package **added_kp;
    size_t n_added;
    uint32_t *updated;         /* leaves replaced by Update proposals */
    size_t n_updated;
    uint32_t *removed;
    size_t n_removed;
    const mls_psk_id **psks;   /* in order */
    size_t n_psks;
    const mls_external_init *external_init;
    const mls_reinit *reinit;
    int gce;                   /* extensions replaced */
    int path_required;
    int own_update;            /* one of the Updates is ours */
    mls_buf own_leaf_sk;       /* ... with this leaf private key */
} mls_applied;

void mls_applied_clear(mls_applied *a);

/*
 * RFC 9420 §12.2: validates the list for a commit by `committer` (a member
 * leaf, or for an external commit (external = 1) the joiner, whose leaf is
 * not yet known).  tree/ctx are the current epoch's.  check_lifetime:
 * KeyPackage lifetimes are checked (when we are the sender).
 */
MLS_MUST_CHECK int mls_proposals_validate(const mls_group *g, const mls_prop_item *items,
                                          size_t n, int external, uint32_t committer,
                                          int check_lifetime);
/*
 * RFC 9420 §12.2: the Remove of an external commit removes an old
 * appearance of the joiner: the removed leaf carries the joiner's
 * credential `cred` (byte for byte) and, when enc_key is not empty, another
 * encryption key than the joiner's new leaf (the Update criteria, §12.1.2).
 */
MLS_MUST_CHECK int mls_external_remove_check(const mls_group *g, const mls_prop_item *items,
                                             size_t n, const mls_credential *cred,
                                             mls_bytes enc_key);
/*
 * RFC 9420 §12.3: applies the list to next (a copy of the current epoch's
 * context, and an overlay over its tree, see ratchet_tree.h): extensions, Updates, Removes, Adds in order, then
 * notes PSKs, ExternalInit and ReInit.  Also checks what depends on the
 * new state (capabilities against the new extensions).
 */
MLS_MUST_CHECK int mls_proposals_apply(const mls_group *g, mls_epoch_state *next,
                                       const mls_prop_item *items, size_t n, mls_applied *out);

#endif
