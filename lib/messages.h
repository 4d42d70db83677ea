/*
 * The data model of RFC 9420: every wire structure as a C struct, with a
 * strict decoder, a canonical encoder and a clear function, plus the
 * to-be-signed / to-be-MACed / transcript encodings built from them.
 *
 * Conventions, for every type mls_X below:
 *
 *   int  mls_X_decode(mls_reader *r, mls_X *out);
 *        Reads exactly one X from r.  *out need not be initialized; it is
 *        overwritten (so it must not hold data the caller still owns).  On
 *        success *out owns copies of all bytes (it outlives the input).  On
 *        error nothing is leaked, *out is left zeroed and r is rewound to
 *        where it was.
 *   int  mls_X_encode(const mls_X *x, mls_buf *w);
 *        Appends the canonical encoding of x to w.  Because the encoding is
 *        canonical, decode followed by encode gives back the input bytes.
 *   void mls_X_clear(mls_X *x);
 *        Wipes secrets, frees, zeroes.  Safe on a zeroed struct, safe twice.
 *   int  mls_X_copy(mls_X *dst, const mls_X *src);
 *        Deep copy into dst, which is overwritten like a decode output
 *        (zeroed on error).  src must be encodable (valid discriminants),
 *        else MLS_ERR_ARG.
 *   int  mls_X_decode_bytes(mls_bytes in, mls_X *out);
 *        Whole-buffer decode: MLS_ERR_TRAILING unless every byte is used.
 *
 * Strictness (RFC 9420 §2.1): each nested <V> vector is read through a
 * sub-reader that must be consumed exactly; varints must be minimal; an
 * optional's presence byte must be 0 or 1.  A discriminant that selects the
 * layout of what follows (wire_format, sender_type, content_type,
 * leaf_node_source, node_type, proposal_type, ProposalOrRef type, psktype)
 * must have a value the RFC defines, else the input is MLS_ERR_MALFORMED
 * (proposal types outside the RFC: MLS_ERR_UNSUPPORTED, since we cannot know
 * their layout).  Extensible values that do not select a layout (extension
 * types, capability lists, cipher suites, versions in KeyPackage/ReInit/
 * GroupContext, ResumptionPSKUsage) are carried as they are.  Credentials of
 * a type other than basic/x509 are carried as an opaque<V> body, the layout
 * deployed implementations use for new credential types (RFC 9420 §17.3
 * leaves it to the new type), so they re-encode identically.
 *
 * Decoding is syntactic only: semantic rules (duplicate extensions, tree
 * shape, lifetimes, matching suites, signatures) are checked by the modules
 * that apply them; see the *_verify functions at the end for signatures.
 */
#ifndef MLS_MESSAGES_H
#define MLS_MESSAGES_H

#include "codec.h"
#include "mls/types.h"
#include "suite.h"

/* ------------------------------------------------------------ constants */

/* ProtocolVersion, WireFormat, ContentType, SenderType, LeafNodeSource and
 * ProposalType are public: include/mls/types.h. */

/* RFC 9420 §7.8 NodeType */
enum mls_node_type { MLS_NODE_BLANK = 0, MLS_NODE_LEAF = 1, MLS_NODE_PARENT = 2 };

/* RFC 9420 §12.4 ProposalOrRefType */
enum mls_proposal_or_ref_type { MLS_POR_PROPOSAL = 1, MLS_POR_REFERENCE = 2 };

/* RFC 9420 §8.4 PSKType and ResumptionPSKUsage */
enum mls_psk_type { MLS_PSK_EXTERNAL = 1, MLS_PSK_RESUMPTION = 2 };
enum mls_resumption_psk_usage {
    MLS_PSK_USAGE_APPLICATION = 1,
    MLS_PSK_USAGE_REINIT = 2,
    MLS_PSK_USAGE_BRANCH = 3
};

/* RFC 9420 §17.5 MLS Credential Types */
enum mls_credential_type { MLS_CREDENTIAL_BASIC = 1, MLS_CREDENTIAL_X509 = 2 };

/* RFC 9420 §17.3 MLS Extension Types */
enum mls_extension_type {
    MLS_EXT_APPLICATION_ID = 1,
    MLS_EXT_RATCHET_TREE = 2,
    MLS_EXT_REQUIRED_CAPABILITIES = 3,
    MLS_EXT_EXTERNAL_PUB = 4,
    MLS_EXT_EXTERNAL_SENDERS = 5
};

/* ------------------------------------------------------------ §13 extensions */

typedef struct mls_extension {
    uint16_t type;
    mls_buf data; /* extension_data, opaque */
} mls_extension;

/* Extension extensions<V> */
typedef struct mls_extension_list {
    mls_extension *v;
    size_t n;
} mls_extension_list;

/* A list of uint16 values (Capabilities fields, RequiredCapabilities). */
typedef struct mls_u16_list {
    uint16_t *v;
    size_t n;
} mls_u16_list;

/* ------------------------------------------------------------ §5.3 credential */

typedef struct mls_credential {
    uint16_t type;
    mls_buf identity;    /* basic: identity<V> */
    mls_buf *certs;      /* x509: Certificate certificates<V>, cert_data each */
    size_t n_certs;
    mls_buf opaque_body; /* any other type: opaque<V> body, carried */
} mls_credential;

/* ------------------------------------------------------------ §7 tree nodes */

typedef struct mls_capabilities {
    mls_u16_list versions;
    mls_u16_list cipher_suites;
    mls_u16_list extensions;
    mls_u16_list proposals;
    mls_u16_list credentials;
} mls_capabilities;

typedef struct mls_lifetime {
    uint64_t not_before;
    uint64_t not_after;
} mls_lifetime;

typedef struct mls_leaf_node {
    mls_buf encryption_key; /* HPKEPublicKey */
    mls_buf signature_key;  /* SignaturePublicKey */
    mls_credential credential;
    mls_capabilities capabilities;
    uint8_t source;         /* enum mls_leaf_node_source */
    mls_lifetime lifetime;  /* source == key_package */
    mls_buf parent_hash;    /* source == commit */
    mls_extension_list extensions;
    mls_buf signature;
} mls_leaf_node;

typedef struct mls_parent_node {
    mls_buf encryption_key;
    mls_buf parent_hash;
    uint32_t *unmerged_leaves;
    size_t n_unmerged_leaves;
} mls_parent_node;

/* One entry of the ratchet tree: type MLS_NODE_BLANK is an absent
 * optional<Node>. */
typedef struct mls_node {
    uint8_t type; /* enum mls_node_type */
    union {
        mls_leaf_node leaf;
        mls_parent_node parent;
    };
} mls_node;

/* RFC 9420 §12.4.3.3: optional<Node> ratchet_tree<V>, in array order. */
typedef struct mls_ratchet_tree {
    mls_node *nodes;
    size_t n;
} mls_ratchet_tree;

/* ------------------------------------------------------------ §7.6 paths */

typedef struct mls_hpke_ciphertext {
    mls_buf kem_output;
    mls_buf ciphertext;
} mls_hpke_ciphertext;

typedef struct mls_update_path_node {
    mls_buf encryption_key;
    mls_hpke_ciphertext *encrypted_path_secret;
    size_t n_encrypted_path_secret;
} mls_update_path_node;

typedef struct mls_update_path {
    mls_leaf_node leaf_node;
    mls_update_path_node *nodes;
    size_t n_nodes;
} mls_update_path;

/* ------------------------------------------------------------ §10 key package */

typedef struct mls_key_package {
    uint16_t version;
    uint16_t cipher_suite;
    mls_buf init_key;
    mls_leaf_node leaf_node;
    mls_extension_list extensions;
    mls_buf signature;
} mls_key_package;

/* ------------------------------------------------------------ §8 group context, PSKs */

typedef struct mls_group_context {
    uint16_t version;
    uint16_t cipher_suite;
    mls_buf group_id;
    uint64_t epoch;
    mls_buf tree_hash;
    mls_buf confirmed_transcript_hash;
    mls_extension_list extensions;
} mls_group_context;

/* RFC 9420 §8.4 PreSharedKeyID */
typedef struct mls_psk_id {
    uint8_t type;          /* enum mls_psk_type */
    mls_buf psk_id;        /* external */
    uint8_t usage;         /* resumption: enum mls_resumption_psk_usage */
    mls_buf psk_group_id;  /* resumption */
    uint64_t psk_epoch;    /* resumption */
    mls_buf psk_nonce;
} mls_psk_id;

/* ------------------------------------------------------------ §12.1 proposals */

typedef struct mls_add {
    mls_key_package key_package;
} mls_add;

typedef struct mls_update {
    mls_leaf_node leaf_node;
} mls_update;

typedef struct mls_remove {
    uint32_t removed;
} mls_remove;

typedef struct mls_pre_shared_key {
    mls_psk_id psk;
} mls_pre_shared_key;

typedef struct mls_reinit {
    mls_buf group_id;
    uint16_t version;
    uint16_t cipher_suite;
    mls_extension_list extensions;
} mls_reinit;

typedef struct mls_external_init {
    mls_buf kem_output;
} mls_external_init;

typedef struct mls_group_context_extensions {
    mls_extension_list extensions;
} mls_group_context_extensions;

typedef struct mls_proposal {
    uint16_t type; /* enum mls_proposal_type */
    union {
        mls_add add;
        mls_update update;
        mls_remove remove;
        mls_pre_shared_key psk;
        mls_reinit reinit;
        mls_external_init external_init;
        mls_group_context_extensions group_context_extensions;
    };
} mls_proposal;

/* ------------------------------------------------------------ §12.4 commit */

typedef struct mls_proposal_or_ref {
    uint8_t type;          /* enum mls_proposal_or_ref_type */
    mls_proposal proposal; /* type == proposal */
    mls_buf reference;     /* type == reference: ProposalRef */
} mls_proposal_or_ref;

typedef struct mls_commit {
    mls_proposal_or_ref *proposals;
    size_t n_proposals;
    int has_path;
    mls_update_path path;
} mls_commit;

/* ------------------------------------------------------------ §6 framing */

typedef struct mls_sender {
    uint8_t type;   /* enum mls_sender_type */
    uint32_t index; /* member: leaf_index; external: sender_index */
} mls_sender;

typedef struct mls_framed_content {
    mls_buf group_id;
    uint64_t epoch;
    mls_sender sender;
    mls_buf authenticated_data;
    uint8_t content_type; /* enum mls_content_type */
    union {
        mls_buf application_data;
        mls_proposal proposal;
        mls_commit commit;
    };
} mls_framed_content;

/* confirmation_tag is on the wire only when content_type == commit, so its
 * decode and encode take the content type. */
typedef struct mls_framed_content_auth_data {
    mls_buf signature;
    mls_buf confirmation_tag;
} mls_framed_content_auth_data;

typedef struct mls_authenticated_content {
    uint16_t wire_format;
    mls_framed_content content;
    mls_framed_content_auth_data auth;
} mls_authenticated_content;

/* membership_tag is on the wire only for sender type member. */
typedef struct mls_public_message {
    mls_framed_content content;
    mls_framed_content_auth_data auth;
    mls_buf membership_tag;
} mls_public_message;

typedef struct mls_private_message {
    mls_buf group_id;
    uint64_t epoch;
    uint8_t content_type;
    mls_buf authenticated_data;
    mls_buf encrypted_sender_data;
    mls_buf ciphertext;
} mls_private_message;

/* RFC 9420 §6.3.1: the plaintext of PrivateMessage.ciphertext.  padding is
 * the number of zero bytes after auth; a non-zero padding byte is
 * malformed.  content_type comes from the enclosing PrivateMessage. */
typedef struct mls_private_message_content {
    uint8_t content_type;
    union {
        mls_buf application_data;
        mls_proposal proposal;
        mls_commit commit;
    };
    mls_framed_content_auth_data auth;
    size_t padding;
} mls_private_message_content;

/* RFC 9420 §6.3.2 SenderData */
typedef struct mls_sender_data {
    uint32_t leaf_index;
    uint32_t generation;
    uint8_t reuse_guard[4];
} mls_sender_data;

/* ------------------------------------------------------------ §12.4.3 welcome, group info */

typedef struct mls_group_info {
    mls_group_context group_context;
    mls_extension_list extensions;
    mls_buf confirmation_tag;
    uint32_t signer;
    mls_buf signature;
} mls_group_info;

/* Holds secrets: mls_group_secrets_clear wipes joiner_secret and
 * path_secret. */
typedef struct mls_group_secrets {
    mls_buf joiner_secret;
    int has_path_secret;
    mls_buf path_secret;
    mls_psk_id *psks;
    size_t n_psks;
} mls_group_secrets;

typedef struct mls_encrypted_group_secrets {
    mls_buf new_member; /* KeyPackageRef */
    mls_hpke_ciphertext encrypted_group_secrets;
} mls_encrypted_group_secrets;

typedef struct mls_welcome {
    uint16_t cipher_suite;
    mls_encrypted_group_secrets *secrets;
    size_t n_secrets;
    mls_buf encrypted_group_info;
} mls_welcome;

/* ------------------------------------------------------------ §6 MLSMessage */

typedef struct mls_message {
    uint16_t version;     /* always MLS_VERSION_MLS10 once decoded */
    uint16_t wire_format; /* enum mls_wire_format */
    union {
        mls_public_message public_message;
        mls_private_message private_message;
        mls_welcome welcome;
        mls_group_info group_info;
        mls_key_package key_package;
    };
} mls_message;

/* ------------------------------------------------------------ §12.1.8, §12.4.3 extension bodies */

/* RFC 9420 §12.1.8.1 ExternalSender */
typedef struct mls_external_sender {
    mls_buf signature_key;
    mls_credential credential;
} mls_external_sender;

/* ExternalSender external_senders<V> (extension_data of external_senders) */
typedef struct mls_external_senders {
    mls_external_sender *v;
    size_t n;
} mls_external_senders;

/* RFC 9420 §11.1 RequiredCapabilities */
typedef struct mls_required_capabilities {
    mls_u16_list extension_types;
    mls_u16_list proposal_types;
    mls_u16_list credential_types;
} mls_required_capabilities;

/* RFC 9420 §12.4.3.2 ExternalPub */
typedef struct mls_external_pub {
    mls_buf external_pub;
} mls_external_pub;

/* ================================================================ functions */

/* For each type X below: decode, encode, clear, copy and whole-buffer
 * decode, with the contract described at the top of this file. */
MLS_MUST_CHECK int mls_extension_decode(mls_reader *r, mls_extension *out);
MLS_MUST_CHECK int mls_extension_encode(const mls_extension *x, mls_buf *w);
void mls_extension_clear(mls_extension *x);
MLS_MUST_CHECK int mls_extension_copy(mls_extension *dst, const mls_extension *src);
MLS_MUST_CHECK int mls_extension_decode_bytes(mls_bytes in, mls_extension *out);

MLS_MUST_CHECK int mls_extension_list_decode(mls_reader *r, mls_extension_list *out);
MLS_MUST_CHECK int mls_extension_list_encode(const mls_extension_list *x, mls_buf *w);
void mls_extension_list_clear(mls_extension_list *x);
MLS_MUST_CHECK int mls_extension_list_copy(mls_extension_list *dst, const mls_extension_list *src);
MLS_MUST_CHECK int mls_extension_list_decode_bytes(mls_bytes in, mls_extension_list *out);

MLS_MUST_CHECK int mls_u16_list_decode(mls_reader *r, mls_u16_list *out);
MLS_MUST_CHECK int mls_u16_list_encode(const mls_u16_list *x, mls_buf *w);
void mls_u16_list_clear(mls_u16_list *x);
MLS_MUST_CHECK int mls_u16_list_copy(mls_u16_list *dst, const mls_u16_list *src);
MLS_MUST_CHECK int mls_u16_list_decode_bytes(mls_bytes in, mls_u16_list *out);

MLS_MUST_CHECK int mls_credential_decode(mls_reader *r, mls_credential *out);
MLS_MUST_CHECK int mls_credential_encode(const mls_credential *x, mls_buf *w);
void mls_credential_clear(mls_credential *x);
MLS_MUST_CHECK int mls_credential_copy(mls_credential *dst, const mls_credential *src);
MLS_MUST_CHECK int mls_credential_decode_bytes(mls_bytes in, mls_credential *out);

MLS_MUST_CHECK int mls_capabilities_decode(mls_reader *r, mls_capabilities *out);
MLS_MUST_CHECK int mls_capabilities_encode(const mls_capabilities *x, mls_buf *w);
void mls_capabilities_clear(mls_capabilities *x);
MLS_MUST_CHECK int mls_capabilities_copy(mls_capabilities *dst, const mls_capabilities *src);
MLS_MUST_CHECK int mls_capabilities_decode_bytes(mls_bytes in, mls_capabilities *out);

MLS_MUST_CHECK int mls_lifetime_decode(mls_reader *r, mls_lifetime *out);
MLS_MUST_CHECK int mls_lifetime_encode(const mls_lifetime *x, mls_buf *w);
void mls_lifetime_clear(mls_lifetime *x);
MLS_MUST_CHECK int mls_lifetime_copy(mls_lifetime *dst, const mls_lifetime *src);
MLS_MUST_CHECK int mls_lifetime_decode_bytes(mls_bytes in, mls_lifetime *out);

MLS_MUST_CHECK int mls_leaf_node_decode(mls_reader *r, mls_leaf_node *out);
MLS_MUST_CHECK int mls_leaf_node_encode(const mls_leaf_node *x, mls_buf *w);
void mls_leaf_node_clear(mls_leaf_node *x);
MLS_MUST_CHECK int mls_leaf_node_copy(mls_leaf_node *dst, const mls_leaf_node *src);
MLS_MUST_CHECK int mls_leaf_node_decode_bytes(mls_bytes in, mls_leaf_node *out);

MLS_MUST_CHECK int mls_parent_node_decode(mls_reader *r, mls_parent_node *out);
MLS_MUST_CHECK int mls_parent_node_encode(const mls_parent_node *x, mls_buf *w);
void mls_parent_node_clear(mls_parent_node *x);
MLS_MUST_CHECK int mls_parent_node_copy(mls_parent_node *dst, const mls_parent_node *src);
MLS_MUST_CHECK int mls_parent_node_decode_bytes(mls_bytes in, mls_parent_node *out);

MLS_MUST_CHECK int mls_node_decode(mls_reader *r, mls_node *out);
MLS_MUST_CHECK int mls_node_encode(const mls_node *x, mls_buf *w);
void mls_node_clear(mls_node *x);
MLS_MUST_CHECK int mls_node_copy(mls_node *dst, const mls_node *src);
MLS_MUST_CHECK int mls_node_decode_bytes(mls_bytes in, mls_node *out);

MLS_MUST_CHECK int mls_ratchet_tree_decode(mls_reader *r, mls_ratchet_tree *out);
MLS_MUST_CHECK int mls_ratchet_tree_encode(const mls_ratchet_tree *x, mls_buf *w);
void mls_ratchet_tree_clear(mls_ratchet_tree *x);
MLS_MUST_CHECK int mls_ratchet_tree_copy(mls_ratchet_tree *dst, const mls_ratchet_tree *src);
MLS_MUST_CHECK int mls_ratchet_tree_decode_bytes(mls_bytes in, mls_ratchet_tree *out);

MLS_MUST_CHECK int mls_hpke_ciphertext_decode(mls_reader *r, mls_hpke_ciphertext *out);
MLS_MUST_CHECK int mls_hpke_ciphertext_encode(const mls_hpke_ciphertext *x, mls_buf *w);
void mls_hpke_ciphertext_clear(mls_hpke_ciphertext *x);
MLS_MUST_CHECK int mls_hpke_ciphertext_copy(mls_hpke_ciphertext *dst, const mls_hpke_ciphertext *src);
MLS_MUST_CHECK int mls_hpke_ciphertext_decode_bytes(mls_bytes in, mls_hpke_ciphertext *out);

MLS_MUST_CHECK int mls_update_path_node_decode(mls_reader *r, mls_update_path_node *out);
MLS_MUST_CHECK int mls_update_path_node_encode(const mls_update_path_node *x, mls_buf *w);
void mls_update_path_node_clear(mls_update_path_node *x);
MLS_MUST_CHECK int mls_update_path_node_copy(mls_update_path_node *dst, const mls_update_path_node *src);
MLS_MUST_CHECK int mls_update_path_node_decode_bytes(mls_bytes in, mls_update_path_node *out);

MLS_MUST_CHECK int mls_update_path_decode(mls_reader *r, mls_update_path *out);
MLS_MUST_CHECK int mls_update_path_encode(const mls_update_path *x, mls_buf *w);
void mls_update_path_clear(mls_update_path *x);
MLS_MUST_CHECK int mls_update_path_copy(mls_update_path *dst, const mls_update_path *src);
MLS_MUST_CHECK int mls_update_path_decode_bytes(mls_bytes in, mls_update_path *out);

MLS_MUST_CHECK int mls_key_package_decode(mls_reader *r, mls_key_package *out);
MLS_MUST_CHECK int mls_key_package_encode(const mls_key_package *x, mls_buf *w);
void mls_key_package_clear(mls_key_package *x);
MLS_MUST_CHECK int mls_key_package_copy(mls_key_package *dst, const mls_key_package *src);
MLS_MUST_CHECK int mls_key_package_decode_bytes(mls_bytes in, mls_key_package *out);

MLS_MUST_CHECK int mls_group_context_decode(mls_reader *r, mls_group_context *out);
MLS_MUST_CHECK int mls_group_context_encode(const mls_group_context *x, mls_buf *w);
void mls_group_context_clear(mls_group_context *x);
MLS_MUST_CHECK int mls_group_context_copy(mls_group_context *dst, const mls_group_context *src);
MLS_MUST_CHECK int mls_group_context_decode_bytes(mls_bytes in, mls_group_context *out);

MLS_MUST_CHECK int mls_psk_id_decode(mls_reader *r, mls_psk_id *out);
MLS_MUST_CHECK int mls_psk_id_encode(const mls_psk_id *x, mls_buf *w);
void mls_psk_id_clear(mls_psk_id *x);
MLS_MUST_CHECK int mls_psk_id_copy(mls_psk_id *dst, const mls_psk_id *src);
MLS_MUST_CHECK int mls_psk_id_decode_bytes(mls_bytes in, mls_psk_id *out);

MLS_MUST_CHECK int mls_add_decode(mls_reader *r, mls_add *out);
MLS_MUST_CHECK int mls_add_encode(const mls_add *x, mls_buf *w);
void mls_add_clear(mls_add *x);
MLS_MUST_CHECK int mls_add_copy(mls_add *dst, const mls_add *src);
MLS_MUST_CHECK int mls_add_decode_bytes(mls_bytes in, mls_add *out);

MLS_MUST_CHECK int mls_update_decode(mls_reader *r, mls_update *out);
MLS_MUST_CHECK int mls_update_encode(const mls_update *x, mls_buf *w);
void mls_update_clear(mls_update *x);
MLS_MUST_CHECK int mls_update_copy(mls_update *dst, const mls_update *src);
MLS_MUST_CHECK int mls_update_decode_bytes(mls_bytes in, mls_update *out);

MLS_MUST_CHECK int mls_remove_decode(mls_reader *r, mls_remove *out);
MLS_MUST_CHECK int mls_remove_encode(const mls_remove *x, mls_buf *w);
void mls_remove_clear(mls_remove *x);
MLS_MUST_CHECK int mls_remove_copy(mls_remove *dst, const mls_remove *src);
MLS_MUST_CHECK int mls_remove_decode_bytes(mls_bytes in, mls_remove *out);

MLS_MUST_CHECK int mls_pre_shared_key_decode(mls_reader *r, mls_pre_shared_key *out);
MLS_MUST_CHECK int mls_pre_shared_key_encode(const mls_pre_shared_key *x, mls_buf *w);
void mls_pre_shared_key_clear(mls_pre_shared_key *x);
MLS_MUST_CHECK int mls_pre_shared_key_copy(mls_pre_shared_key *dst, const mls_pre_shared_key *src);
MLS_MUST_CHECK int mls_pre_shared_key_decode_bytes(mls_bytes in, mls_pre_shared_key *out);

MLS_MUST_CHECK int mls_reinit_decode(mls_reader *r, mls_reinit *out);
MLS_MUST_CHECK int mls_reinit_encode(const mls_reinit *x, mls_buf *w);
void mls_reinit_clear(mls_reinit *x);
MLS_MUST_CHECK int mls_reinit_copy(mls_reinit *dst, const mls_reinit *src);
MLS_MUST_CHECK int mls_reinit_decode_bytes(mls_bytes in, mls_reinit *out);

MLS_MUST_CHECK int mls_external_init_decode(mls_reader *r, mls_external_init *out);
MLS_MUST_CHECK int mls_external_init_encode(const mls_external_init *x, mls_buf *w);
void mls_external_init_clear(mls_external_init *x);
MLS_MUST_CHECK int mls_external_init_copy(mls_external_init *dst, const mls_external_init *src);
MLS_MUST_CHECK int mls_external_init_decode_bytes(mls_bytes in, mls_external_init *out);

MLS_MUST_CHECK int mls_group_context_extensions_decode(mls_reader *r, mls_group_context_extensions *out);
MLS_MUST_CHECK int mls_group_context_extensions_encode(const mls_group_context_extensions *x, mls_buf *w);
void mls_group_context_extensions_clear(mls_group_context_extensions *x);
MLS_MUST_CHECK int mls_group_context_extensions_copy(mls_group_context_extensions *dst, const mls_group_context_extensions *src);
MLS_MUST_CHECK int mls_group_context_extensions_decode_bytes(mls_bytes in, mls_group_context_extensions *out);

MLS_MUST_CHECK int mls_proposal_decode(mls_reader *r, mls_proposal *out);
MLS_MUST_CHECK int mls_proposal_encode(const mls_proposal *x, mls_buf *w);
void mls_proposal_clear(mls_proposal *x);
MLS_MUST_CHECK int mls_proposal_copy(mls_proposal *dst, const mls_proposal *src);
MLS_MUST_CHECK int mls_proposal_decode_bytes(mls_bytes in, mls_proposal *out);

MLS_MUST_CHECK int mls_proposal_or_ref_decode(mls_reader *r, mls_proposal_or_ref *out);
MLS_MUST_CHECK int mls_proposal_or_ref_encode(const mls_proposal_or_ref *x, mls_buf *w);
void mls_proposal_or_ref_clear(mls_proposal_or_ref *x);
MLS_MUST_CHECK int mls_proposal_or_ref_copy(mls_proposal_or_ref *dst, const mls_proposal_or_ref *src);
MLS_MUST_CHECK int mls_proposal_or_ref_decode_bytes(mls_bytes in, mls_proposal_or_ref *out);

MLS_MUST_CHECK int mls_commit_decode(mls_reader *r, mls_commit *out);
MLS_MUST_CHECK int mls_commit_encode(const mls_commit *x, mls_buf *w);
void mls_commit_clear(mls_commit *x);
MLS_MUST_CHECK int mls_commit_copy(mls_commit *dst, const mls_commit *src);
MLS_MUST_CHECK int mls_commit_decode_bytes(mls_bytes in, mls_commit *out);

MLS_MUST_CHECK int mls_sender_decode(mls_reader *r, mls_sender *out);
MLS_MUST_CHECK int mls_sender_encode(const mls_sender *x, mls_buf *w);
void mls_sender_clear(mls_sender *x);
MLS_MUST_CHECK int mls_sender_copy(mls_sender *dst, const mls_sender *src);
MLS_MUST_CHECK int mls_sender_decode_bytes(mls_bytes in, mls_sender *out);

MLS_MUST_CHECK int mls_framed_content_decode(mls_reader *r, mls_framed_content *out);
MLS_MUST_CHECK int mls_framed_content_encode(const mls_framed_content *x, mls_buf *w);
void mls_framed_content_clear(mls_framed_content *x);
MLS_MUST_CHECK int mls_framed_content_copy(mls_framed_content *dst, const mls_framed_content *src);
MLS_MUST_CHECK int mls_framed_content_decode_bytes(mls_bytes in, mls_framed_content *out);

MLS_MUST_CHECK int mls_authenticated_content_decode(mls_reader *r, mls_authenticated_content *out);
MLS_MUST_CHECK int mls_authenticated_content_encode(const mls_authenticated_content *x, mls_buf *w);
void mls_authenticated_content_clear(mls_authenticated_content *x);
MLS_MUST_CHECK int mls_authenticated_content_copy(mls_authenticated_content *dst, const mls_authenticated_content *src);
MLS_MUST_CHECK int mls_authenticated_content_decode_bytes(mls_bytes in, mls_authenticated_content *out);

MLS_MUST_CHECK int mls_public_message_decode(mls_reader *r, mls_public_message *out);
MLS_MUST_CHECK int mls_public_message_encode(const mls_public_message *x, mls_buf *w);
void mls_public_message_clear(mls_public_message *x);
MLS_MUST_CHECK int mls_public_message_copy(mls_public_message *dst, const mls_public_message *src);
MLS_MUST_CHECK int mls_public_message_decode_bytes(mls_bytes in, mls_public_message *out);

MLS_MUST_CHECK int mls_private_message_decode(mls_reader *r, mls_private_message *out);
MLS_MUST_CHECK int mls_private_message_encode(const mls_private_message *x, mls_buf *w);
void mls_private_message_clear(mls_private_message *x);
MLS_MUST_CHECK int mls_private_message_copy(mls_private_message *dst, const mls_private_message *src);
MLS_MUST_CHECK int mls_private_message_decode_bytes(mls_bytes in, mls_private_message *out);

MLS_MUST_CHECK int mls_sender_data_decode(mls_reader *r, mls_sender_data *out);
MLS_MUST_CHECK int mls_sender_data_encode(const mls_sender_data *x, mls_buf *w);
void mls_sender_data_clear(mls_sender_data *x);
MLS_MUST_CHECK int mls_sender_data_copy(mls_sender_data *dst, const mls_sender_data *src);
MLS_MUST_CHECK int mls_sender_data_decode_bytes(mls_bytes in, mls_sender_data *out);

MLS_MUST_CHECK int mls_group_info_decode(mls_reader *r, mls_group_info *out);
MLS_MUST_CHECK int mls_group_info_encode(const mls_group_info *x, mls_buf *w);
void mls_group_info_clear(mls_group_info *x);
MLS_MUST_CHECK int mls_group_info_copy(mls_group_info *dst, const mls_group_info *src);
MLS_MUST_CHECK int mls_group_info_decode_bytes(mls_bytes in, mls_group_info *out);

MLS_MUST_CHECK int mls_group_secrets_decode(mls_reader *r, mls_group_secrets *out);
MLS_MUST_CHECK int mls_group_secrets_encode(const mls_group_secrets *x, mls_buf *w);
void mls_group_secrets_clear(mls_group_secrets *x);
MLS_MUST_CHECK int mls_group_secrets_copy(mls_group_secrets *dst, const mls_group_secrets *src);
MLS_MUST_CHECK int mls_group_secrets_decode_bytes(mls_bytes in, mls_group_secrets *out);

MLS_MUST_CHECK int mls_encrypted_group_secrets_decode(mls_reader *r, mls_encrypted_group_secrets *out);
MLS_MUST_CHECK int mls_encrypted_group_secrets_encode(const mls_encrypted_group_secrets *x, mls_buf *w);
void mls_encrypted_group_secrets_clear(mls_encrypted_group_secrets *x);
MLS_MUST_CHECK int mls_encrypted_group_secrets_copy(mls_encrypted_group_secrets *dst, const mls_encrypted_group_secrets *src);
MLS_MUST_CHECK int mls_encrypted_group_secrets_decode_bytes(mls_bytes in, mls_encrypted_group_secrets *out);

MLS_MUST_CHECK int mls_welcome_decode(mls_reader *r, mls_welcome *out);
MLS_MUST_CHECK int mls_welcome_encode(const mls_welcome *x, mls_buf *w);
void mls_welcome_clear(mls_welcome *x);
MLS_MUST_CHECK int mls_welcome_copy(mls_welcome *dst, const mls_welcome *src);
MLS_MUST_CHECK int mls_welcome_decode_bytes(mls_bytes in, mls_welcome *out);

MLS_MUST_CHECK int mls_message_decode(mls_reader *r, mls_message *out);
MLS_MUST_CHECK int mls_message_encode(const mls_message *x, mls_buf *w);
void mls_message_clear(mls_message *x);
MLS_MUST_CHECK int mls_message_copy(mls_message *dst, const mls_message *src);
MLS_MUST_CHECK int mls_message_decode_bytes(mls_bytes in, mls_message *out);

MLS_MUST_CHECK int mls_external_sender_decode(mls_reader *r, mls_external_sender *out);
MLS_MUST_CHECK int mls_external_sender_encode(const mls_external_sender *x, mls_buf *w);
void mls_external_sender_clear(mls_external_sender *x);
MLS_MUST_CHECK int mls_external_sender_copy(mls_external_sender *dst, const mls_external_sender *src);
MLS_MUST_CHECK int mls_external_sender_decode_bytes(mls_bytes in, mls_external_sender *out);

MLS_MUST_CHECK int mls_external_senders_decode(mls_reader *r, mls_external_senders *out);
MLS_MUST_CHECK int mls_external_senders_encode(const mls_external_senders *x, mls_buf *w);
void mls_external_senders_clear(mls_external_senders *x);
MLS_MUST_CHECK int mls_external_senders_copy(mls_external_senders *dst, const mls_external_senders *src);
MLS_MUST_CHECK int mls_external_senders_decode_bytes(mls_bytes in, mls_external_senders *out);

MLS_MUST_CHECK int mls_required_capabilities_decode(mls_reader *r, mls_required_capabilities *out);
MLS_MUST_CHECK int mls_required_capabilities_encode(const mls_required_capabilities *x, mls_buf *w);
void mls_required_capabilities_clear(mls_required_capabilities *x);
MLS_MUST_CHECK int mls_required_capabilities_copy(mls_required_capabilities *dst, const mls_required_capabilities *src);
MLS_MUST_CHECK int mls_required_capabilities_decode_bytes(mls_bytes in, mls_required_capabilities *out);

MLS_MUST_CHECK int mls_external_pub_decode(mls_reader *r, mls_external_pub *out);
MLS_MUST_CHECK int mls_external_pub_encode(const mls_external_pub *x, mls_buf *w);
void mls_external_pub_clear(mls_external_pub *x);
MLS_MUST_CHECK int mls_external_pub_copy(mls_external_pub *dst, const mls_external_pub *src);
MLS_MUST_CHECK int mls_external_pub_decode_bytes(mls_bytes in, mls_external_pub *out);

/* FramedContentAuthData: the layout depends on FramedContent.content_type. */
MLS_MUST_CHECK int mls_framed_content_auth_data_decode(mls_reader *r, uint8_t content_type,
                                                       mls_framed_content_auth_data *out);
MLS_MUST_CHECK int mls_framed_content_auth_data_encode(const mls_framed_content_auth_data *x,
                                                       uint8_t content_type, mls_buf *w);
void mls_framed_content_auth_data_clear(mls_framed_content_auth_data *x);

/* PrivateMessageContent: the layout depends on PrivateMessage.content_type;
 * decode consumes all of r (the rest after auth is padding, which must be
 * all zero, else MLS_ERR_MALFORMED).  encode appends x->padding zero bytes. */
MLS_MUST_CHECK int mls_private_message_content_decode(mls_reader *r, uint8_t content_type,
                                                      mls_private_message_content *out);
MLS_MUST_CHECK int mls_private_message_content_encode(const mls_private_message_content *x,
                                                      mls_buf *w);
void mls_private_message_content_clear(mls_private_message_content *x);

/* ------------------------------------------------------------ lookups */

/* The first extension of the given type, or NULL. */
const mls_extension *mls_extension_list_find(const mls_extension_list *l, uint16_t type);
/* RFC 9420 §13: MLS_ERR_INVALID if a type occurs more than once. */
MLS_MUST_CHECK int mls_extension_list_check_unique(const mls_extension_list *l);
/* 1 if v is in the list, else 0. */
int mls_u16_list_contains(const mls_u16_list *l, uint16_t v);

/* ------------------------------------------------------------ signed / MACed / hashed encodings */

/* RFC 9420 §7.2 LeafNodeTBS.  group_id and leaf_index are written only for
 * sources update and commit (ignored for key_package). */
MLS_MUST_CHECK int mls_leaf_node_tbs_encode(const mls_leaf_node *ln, mls_bytes group_id,
                                            uint32_t leaf_index, mls_buf *w);
/* RFC 9420 §10 KeyPackageTBS. */
MLS_MUST_CHECK int mls_key_package_tbs_encode(const mls_key_package *kp, mls_buf *w);
/* RFC 9420 §12.4.3 GroupInfoTBS. */
MLS_MUST_CHECK int mls_group_info_tbs_encode(const mls_group_info *gi, mls_buf *w);

/* RFC 9420 §6.1 FramedContentTBS.  group_context is the serialized
 * GroupContext of the epoch; it is required (MLS_ERR_ARG if empty) for
 * sender types member and new_member_commit and ignored for the others. */
MLS_MUST_CHECK int mls_framed_content_tbs_encode(uint16_t wire_format,
                                                 const mls_framed_content *content,
                                                 mls_bytes group_context, mls_buf *w);
/* RFC 9420 §6.2 AuthenticatedContentTBM, the input of membership_tag:
 * FramedContentTBS (wire_format public_message) followed by the auth data. */
MLS_MUST_CHECK int mls_authenticated_content_tbm_encode(const mls_framed_content *content,
                                                        const mls_framed_content_auth_data *auth,
                                                        mls_bytes group_context, mls_buf *w);
/* RFC 9420 §8.2 ConfirmedTranscriptHashInput (content must be a commit:
 * MLS_ERR_ARG otherwise) and InterimTranscriptHashInput. */
MLS_MUST_CHECK int mls_confirmed_transcript_hash_input_encode(uint16_t wire_format,
                                                              const mls_framed_content *content,
                                                              mls_bytes signature, mls_buf *w);
MLS_MUST_CHECK int mls_interim_transcript_hash_input_encode(mls_bytes confirmation_tag,
                                                            mls_buf *w);
/* RFC 9420 §6.3.1 PrivateContentAAD and §6.3.2 SenderDataAAD. */
MLS_MUST_CHECK int mls_private_content_aad_encode(mls_bytes group_id, uint64_t epoch,
                                                  uint8_t content_type,
                                                  mls_bytes authenticated_data, mls_buf *w);
MLS_MUST_CHECK int mls_sender_data_aad_encode(mls_bytes group_id, uint64_t epoch,
                                              uint8_t content_type, mls_buf *w);
/* RFC 9420 §8.4 PSKLabel {id, index, count}. */
MLS_MUST_CHECK int mls_psk_label_encode(const mls_psk_id *id, uint16_t index, uint16_t count,
                                        mls_buf *w);

/* ------------------------------------------------------------ signatures and references
 * (lib/messages_verify.c; these use lib/crypto.h) */

/* RFC 9420 §7.3: VerifyWithLabel(signature_key, "LeafNodeTBS", LeafNodeTBS,
 * signature).  group_id/leaf_index as for mls_leaf_node_tbs_encode.
 * MLS_ERR_SIGNATURE if the signature does not verify. */
MLS_MUST_CHECK int mls_leaf_node_verify(const mls_suite *s, const mls_leaf_node *ln,
                                        mls_bytes group_id, uint32_t leaf_index);
/* RFC 9420 §10.1 checks that need no group: version mls10, cipher_suite is
 * s, leaf_node_source key_package, init_key differs from the leaf's
 * encryption_key (MLS_ERR_INVALID otherwise), the leaf node signature and
 * the KeyPackage signature ("KeyPackageTBS") under leaf_node.signature_key
 * (MLS_ERR_SIGNATURE).  Lifetime, capabilities and credential policy are
 * the caller's. */
MLS_MUST_CHECK int mls_key_package_verify(const mls_suite *s, const mls_key_package *kp);
/* RFC 9420 §5.2: KeyPackageRef = RefHash("MLS 1.0 KeyPackage Reference",
 * KeyPackage); out gets s->nh bytes (replacing its contents). */
MLS_MUST_CHECK int mls_key_package_ref(const mls_suite *s, const mls_key_package *kp,
                                       mls_buf *out);

#endif
