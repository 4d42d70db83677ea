/*
 * Descriptions of proposals and members for applications (the inspection
 * of staged commits and pending proposals, include/mls/group.h): owned
 * copies of what a leaf or proposal says, from which the public views
 * (mls_member, mls_proposal_info) are made.  Depends on the message types
 * and the tree only.
 */
#ifndef MLS_DESCRIBE_H
#define MLS_DESCRIBE_H

#include "mls/group.h"

#include "messages.h"
#include "ratchet_tree.h"

/* A member's public identity at one moment. */
typedef struct mls_sc_member {
    int present;
    uint32_t leaf;
    uint16_t credential_type;
    mls_buf credential;  /* encoded Credential */
    mls_buf identity;    /* basic credential identity */
    mls_buf signature_key;
    mls_buf encryption_key;
} mls_sc_member;

/* ln NULL: not present. */
MLS_MUST_CHECK int mls_sc_member_set(mls_sc_member *m, uint32_t leaf, const mls_leaf_node *ln);
void mls_sc_member_clear(mls_sc_member *m);
void mls_sc_member_view(const mls_sc_member *m, mls_member *out);

/* One proposal described: its copy, sender, reference and the members it
 * concerns before and after. */
typedef struct mls_sc_proposal {
    mls_proposal p;
    mls_sender sender;
    int by_reference;
    mls_buf ref;
    mls_sc_member before, after;
    mls_ext *exts;       /* views into p: GroupContextExtensions or ReInit */
    size_t n_exts;
} mls_sc_proposal;

/*
 * Describes p, sent by sender (ref: its ProposalRef, may be empty), judged
 * on tree (the tree before it applies): Remove: the removed member;
 * Update: the sender's leaf and the new one; Add: the new member at
 * add_leaf (UINT32_MAX: not known yet).
 */
MLS_MUST_CHECK int mls_sc_proposal_build(const mls_proposal *p, const mls_sender *sender,
                                         int by_reference, mls_bytes ref, const mls_rtree *tree,
                                         uint32_t add_leaf, mls_sc_proposal *out);
void mls_sc_proposal_clear(mls_sc_proposal *d);
void mls_sc_proposal_view(const mls_sc_proposal *d, mls_proposal_info *out);

/* Views of an extension list (*out freed by the caller with free()). */
MLS_MUST_CHECK int mls_ext_views(const mls_extension_list *l, mls_ext **out, size_t *n);

#endif
