/*
 * Internal view of mls_identity (include/mls/group.h): a signer and the
 * capabilities of the leaf nodes it makes (RFC 9420 §5.3, §7.2).
 */
#ifndef MLS_IDENTITY_H
#define MLS_IDENTITY_H

#include "mls/group.h"
#include "messages.h"

struct mls_identity {
    const mls_suite *suite;
    mls_buf sig_sk;
    mls_buf sig_pk;
    mls_credential cred;
    mls_buf cred_enc;          /* encoded Credential */
    mls_u16_list extensions;   /* non-default extension types supported */
};

/* A deep copy into a fresh heap identity. */
MLS_MUST_CHECK int mls_identity_dup(const mls_identity *id, mls_identity **out);

/* RFC 9420 §7.2: the Capabilities of our leaf nodes: version mls10, every
 * suite of the library, the non-default extension types (last_resort and
 * the application's), no non-default proposal types, the basic credential
 * type and the identity's own.  *out must be zeroed; it is replaced. */
MLS_MUST_CHECK int mls_identity_capabilities(const mls_identity *id, mls_capabilities *out);

/*
 * A signed LeafNode of ours (RFC 9420 §7.2) with the given encryption key
 * and source: key_package gets `lifetime`, commit gets `parent_hash`;
 * update and commit sign with group_id and leaf_index.  *out must be
 * zeroed or cleared.  env NULL: left unsigned (a template for TreeKEM,
 * which signs the final leaf).
 */
MLS_MUST_CHECK int mls_identity_make_leaf(const mls_identity *id, const mls_env *env,
                                          mls_bytes encryption_key, uint8_t source,
                                          const mls_lifetime *lifetime, mls_bytes parent_hash,
                                          mls_bytes group_id, uint32_t leaf_index,
                                          mls_leaf_node *out);
/* Re-signs ln in place (after its parent_hash or keys changed). */
MLS_MUST_CHECK int mls_identity_sign_leaf(const mls_identity *id, const mls_env *env,
                                          mls_leaf_node *ln, mls_bytes group_id,
                                          uint32_t leaf_index);

/* Encoding of an identity inside a serialized group state, and its
 * decoding (reader-based, strict). */
MLS_MUST_CHECK int mls_identity_write(const mls_identity *id, mls_buf *w);
MLS_MUST_CHECK int mls_identity_read(mls_reader *r, mls_identity **out);

#endif
