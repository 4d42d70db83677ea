/*
 * The staged commit (RFC 9420 §12.4): a commit verified (received,
 * commit_process.c) or built (ours, commit.c) together with the next
 * epoch it leads to, the description applications inspect, and what
 * merging it needs, prepared so that the merge cannot fail (staged.c).
 */
#ifndef MLS_COMMIT_H
#define MLS_COMMIT_H

#include "group_state.h"

#include "describe.h"

struct mls_staged_commit {
    mls_group *group;          /* the group it was made for */
    uint64_t epoch;            /* the new epoch */
    int own;                   /* made by mls_group_commit */
    mls_epoch_state next;
    uint32_t *changed;         /* leaves whose keys may have changed */
    size_t n_changed;
    int reinit;
    mls_reinit reinit_prop;    /* the committed ReInit when reinit is set */
    int self_removed;          /* a received commit removing us */
    /* A received PrivateMessage commit: the current epoch's secret tree
     * after its decryption (replaces the group's at merge, as the one-step
     * process would have changed it). */
    int has_stree;
    mls_secret_tree stree;
    mls_install_prep prep;     /* received commits: prepared at staging */
    int prepared;
    /* The description (describe.h), judged on the tree before. */
    uint8_t sender_type;
    uint32_t sender_leaf;
    int has_path;
    mls_sc_member committer, path_leaf;
    mls_sc_proposal *props;
    size_t n_props;
    int gce;
    mls_extension_list old_exts, new_exts;
    mls_ext *old_ext_views, *new_ext_views;
    size_t n_old_ext_views, n_new_ext_views;
    int external_init;
    mls_buf authenticated_data;
    /* Our own commits: what to send. */
    mls_buf message;
    mls_buf welcome;
    mls_buf group_info;
    mls_buf ratchet_tree;
    mls_buf *refs;             /* KeyPackageRef per Welcome entry */
    mls_buf *identities;
    size_t n_welcome;
    /* Our commit with mls_commit_options.new_identity: the group's
     * identity once merged. */
    mls_identity *new_id;
    int merged;
};

/* ---------------------------------------------------------------- staged.c */

/*
 * Fills the description of sc (before g changes): items/n the commit's
 * proposals, ap their application to sc->next, committer the committer's
 * leaf (the joiner's new leaf when external), has_path.  Also sc->changed.
 */
MLS_MUST_CHECK int mls_staged_describe(const mls_group *g, mls_staged_commit *sc,
                                       const mls_prop_item *items, size_t n,
                                       const mls_applied *ap, uint8_t sender_type,
                                       uint32_t committer, int has_path,
                                       mls_bytes authenticated_data);
/* The mls_process_result of a staged commit (kind COMMIT). */
MLS_MUST_CHECK int mls_staged_result(const mls_staged_commit *sc, mls_process_result *out);

/* ---------------------------------------------------------------- commit.c */

/* mls_group_commit with, besides opt, the PreSharedKey proposal extra_psk
 * (may be NULL; the successor's reinit PSK, RFC 9420 §11.2) and PSK values
 * looked up in store first (may be NULL). */
MLS_MUST_CHECK int mls_group_commit_psk(mls_group *g, const mls_commit_options *opt,
                                        const mls_psk_id *extra_psk, const mls_psk_store *store,
                                        mls_staged_commit **out);

/* ---------------------------------------------------------------- commit_process.c */

/* Verifies a received commit (content already unprotected and its
 * signature checked) and stages it; g is not changed.  stree: the secret
 * tree after a PrivateMessage's decryption (taken over), or NULL. */
MLS_MUST_CHECK int mls_commit_stage(mls_group *g, const mls_authenticated_content *ac,
                                    mls_secret_tree *stree, mls_staged_commit **out);

#endif
