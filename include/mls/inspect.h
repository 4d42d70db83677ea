/*
 * libmls inspection: reading MLS objects without a group, for Delivery
 * Services, tools and applications that route, store or display them.
 *
 *   - mls_message_inspect: what any MLSMessage says in clear (RFC 9420 §6):
 *     wire format, content type, group id, epoch and sender of handshake
 *     and application messages, the suite and recipients of a Welcome, the
 *     group and signer of a GroupInfo, the suite of a KeyPackage;
 *   - mls_tree_view: the members of a ratchet tree (RFC 9420 §7.8, §12.4.3.3)
 *     given bare or in a GroupInfo's ratchet_tree extension, and the lookup
 *     of a member by signature key or identity;
 *   - mls_welcome_open: a Welcome opened with our KeyPackage bundle,
 *     without joining: its GroupSecrets' shape and the GroupInfo;
 *   - mls_key_package_diagnose: every rule of RFC 9420 §10.1 with a reason
 *     code that says which one failed;
 *   - the cipher suites this build supports.
 *
 * Everything here decodes the whole object strictly (the same decoders the
 * group engine uses), so a message that inspects cleanly is well formed;
 * nothing here verifies a signature except mls_key_package_diagnose, and
 * nothing decrypts except mls_welcome_open.
 */
#ifndef MLS_INSPECT_H
#define MLS_INSPECT_H

#include "mls/group.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- suites */

/* 1 if this build implements cipher suite `suite` (RFC 9420 §17.1). */
MLS_API int mls_suite_supported(uint16_t suite);
/* Length in bytes of a signature public key of `suite` (32 for Ed25519,
 * 65 for P-256 uncompressed, ...); 0 for an unsupported suite. */
MLS_API size_t mls_suite_signature_key_size(uint16_t suite);
/* Length in bytes of an HPKE public key (init_key, encryption_key) of
 * `suite`; 0 for an unsupported suite. */
MLS_API size_t mls_suite_hpke_key_size(uint16_t suite);
/* The suite's name as in the IANA registry
 * ("MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519"); NULL if unsupported. */
MLS_API const char *mls_suite_name(uint16_t suite);

/* ---------------------------------------------------------------- messages */

/*
 * What an MLSMessage (RFC 9420 §6) says without a group.  Views borrow from
 * the message bytes.  Fields that do not apply to the wire format are 0 or
 * empty.
 */
typedef struct mls_message_info {
    uint16_t wire_format; /* MLS_WIRE_* */

    /* PublicMessage and PrivateMessage (and group_id, epoch for a
     * GroupInfo) */
    mls_bytes group_id;
    uint64_t epoch;
    uint8_t content_type; /* MLS_CONTENT_* */
    mls_bytes authenticated_data;
    /* PublicMessage only: a PrivateMessage's sender is encrypted
     * (sender_type 0). */
    uint8_t sender_type;  /* MLS_SENDER_* */
    uint32_t sender_leaf; /* member: leaf index; external: sender index */
    /* PublicMessage of content type proposal: its proposal type. */
    uint16_t proposal_type;

    /* Welcome, GroupInfo, KeyPackage: the cipher suite */
    uint16_t suite;
    /* GroupInfo: its GroupContext's version; KeyPackage: its version
     * (MLS_VERSION_MLS10 when valid; the MLSMessage's own version is
     * always mls10 once decoded). */
    uint16_t version;
    /* Welcome: number of recipients (EncryptedGroupSecrets); their
     * KeyPackageRefs: mls_welcome_refs. */
    size_t n_recipients;
    /* GroupInfo: the leaf that signed it, and whether it carries the
     * ratchet tree (ratchet_tree extension). */
    uint32_t signer_leaf;
    int has_ratchet_tree;
    /* GroupInfo: its external_pub extension is present (an external join
     * is possible). */
    int has_external_pub;
    /* KeyPackage: the bare KeyPackage inside the message. */
    mls_bytes key_package;
} mls_message_info;

/*
 * Decodes an MLSMessage completely and strictly and fills *info.
 * MLS_ERR_MALFORMED / MLS_ERR_TRAILING for bytes that do not decode,
 * MLS_ERR_UNSUPPORTED for another protocol version.  The cipher suite of a
 * Welcome, GroupInfo or KeyPackage is reported as found; check it with
 * mls_suite_supported.
 */
MLS_API MLS_MUST_CHECK int mls_message_inspect(mls_bytes message, mls_message_info *info);

/* "PublicMessage", "Welcome", ... for MLS_WIRE_*; "application",
 * "proposal", "commit" for MLS_CONTENT_*; "member", "external",
 * "new_member_proposal", "new_member_commit" for MLS_SENDER_*; "add",
 * "update", ... for MLS_PROPOSAL_*.  "unknown" otherwise; never NULL. */
MLS_API const char *mls_wire_format_name(uint16_t wire_format);
MLS_API const char *mls_content_type_name(uint8_t content_type);
MLS_API const char *mls_sender_type_name(uint8_t sender_type);
MLS_API const char *mls_proposal_type_name(uint16_t proposal_type);

/* ---------------------------------------------------------------- ratchet trees */

/* A decoded ratchet tree: its leaves as mls_member.  Not validated (no
 * hashes or signatures are checked): a locator for display and lookup;
 * mls_group_join and mls_group_external_join validate the tree they use. */
typedef struct mls_tree_view mls_tree_view;

/* From optional<Node> ratchet_tree<V> (RFC 9420 §12.4.3.3). */
MLS_API MLS_MUST_CHECK int mls_tree_view_from_tree(mls_bytes ratchet_tree, mls_tree_view **out);
/* From a GroupInfo MLSMessage with a ratchet_tree extension;
 * MLS_ERR_NOT_FOUND if it has none, MLS_ERR_INVALID if the bytes are
 * another wire format. */
MLS_API MLS_MUST_CHECK int mls_tree_view_from_group_info(mls_bytes group_info,
                                                         mls_tree_view **out);
MLS_API void mls_tree_view_free(mls_tree_view *t);
/* Leaves of the tree (members and blanks). */
MLS_API uint32_t mls_tree_view_leaf_count(const mls_tree_view *t);
/* The member at `leaf` (views borrow from t); MLS_ERR_NOT_FOUND for a
 * blank leaf or one beyond the tree. */
MLS_API MLS_MUST_CHECK int mls_tree_view_member(const mls_tree_view *t, uint32_t leaf,
                                                mls_member *out);
/* The leaf whose signature key equals signature_key (when it is not
 * empty) and whose basic credential identity equals identity (when it is
 * not empty).  MLS_ERR_NOT_FOUND if none; MLS_ERR_ARG if both are empty. */
MLS_API MLS_MUST_CHECK int mls_tree_view_find(const mls_tree_view *t, mls_bytes signature_key,
                                              mls_bytes identity, uint32_t *leaf);

/* Shortcut: mls_tree_view_find in the ratchet tree a GroupInfo carries,
 * e.g. to find one's own old leaf before rejoining by external commit
 * (RFC 9420 §12.4.3.2). */
MLS_API MLS_MUST_CHECK int mls_group_info_find_member(mls_bytes group_info,
                                                      mls_bytes signature_key,
                                                      mls_bytes identity, uint32_t *leaf);

/* ---------------------------------------------------------------- Welcome contents */

/* One PSK a Welcome requires (RFC 9420 §8.4 PreSharedKeyID); the buffers
 * are owned by the mls_welcome_contents. */
typedef struct mls_welcome_psk {
    uint8_t psk_type;     /* 1 external (psk_id), 2 resumption */
    mls_buf psk_id;       /* external */
    uint8_t psk_usage;    /* resumption: 1 application, 2 reinit, 3 branch */
    mls_buf psk_group_id; /* resumption */
    uint64_t psk_epoch;   /* resumption */
    mls_buf psk_nonce;
} mls_welcome_psk;

/* What a Welcome holds for one of our KeyPackages (mls_welcome_open).  A
 * zeroed struct is valid and empty. */
typedef struct mls_welcome_contents {
    uint16_t suite;
    size_t bundle_index;     /* the bundle whose KeyPackage the Welcome names */
    mls_buf key_package_ref; /* its KeyPackageRef (RFC 9420 §5.2) */
    int has_path_secret;     /* GroupSecrets carry a path_secret (§12.4.3.1) */
    mls_welcome_psk *psks;   /* the PSKs the new epoch requires */
    size_t n_psks;
    /* The decrypted GroupInfo as an MLSMessage (wire format
     * mls_group_info): read it with mls_message_inspect and
     * mls_tree_view_from_group_info.  Empty when it could not be
     * decrypted (PSKs needed). */
    mls_buf group_info;
} mls_welcome_contents;

/*
 * Opens a Welcome MLSMessage without joining (RFC 9420 §12.4.3.1): finds
 * the first of `bundles` (private bundles from mls_key_package_create)
 * whose KeyPackageRef the Welcome names, decrypts its GroupSecrets with
 * the init key (EncryptWithLabel "Welcome"), derives welcome_secret from
 * joiner_secret and the PSK secret, and decrypts the GroupInfo.
 *
 * No mls_env: opening draws no randomness and reads no clock (the
 * KeyPackage's lifetime does not matter once it was used).
 *
 * Nothing is verified beyond decryption: not the GroupInfo signature, not
 * the ratchet tree, not the confirmation tag (those need the tree and the
 * epoch secrets; mls_group_join checks them).  For display and debugging.
 *
 * No PSK store is taken: a Welcome whose GroupSecrets name PSKs cannot be
 * opened; it returns MLS_ERR_NOT_FOUND with mls_error_detail() naming the
 * first PSK, and *out still holds the bundle, the ref, has_path_secret and
 * the PSK ids (group_info empty).  *out is overwritten; release it with
 * mls_welcome_contents_clear after success and after failure.  Secrets
 * (joiner_secret, path_secret, welcome_secret) are wiped before return.
 * Errors: MLS_ERR_MALFORMED / MLS_ERR_TRAILING (bytes), MLS_ERR_INVALID
 * (not a Welcome), MLS_ERR_UNSUPPORTED (suite), MLS_ERR_NOT_FOUND (no
 * bundle matches, or PSKs needed), MLS_ERR_DECRYPT.
 */
MLS_API MLS_MUST_CHECK int mls_welcome_open(mls_bytes welcome, const mls_bytes *bundles,
                                            size_t n_bundles, mls_welcome_contents *out);
MLS_API void mls_welcome_contents_clear(mls_welcome_contents *c);

/* ---------------------------------------------------------------- KeyPackage checks */

/*
 * Why a KeyPackage is refused: one code per rule (RFC 9420 §10.1, §7.2,
 * §7.3, §13), in the order mls_key_package_diagnose checks them.
 */
#define MLS_KP_REASONS(X)                                                          \
    X(MLS_KP_OK, 0, "valid")                                                       \
    X(MLS_KP_MALFORMED, 1, "does not decode as an MLSMessage(KeyPackage) or a KeyPackage") \
    X(MLS_KP_NOT_KEY_PACKAGE, 2, "MLSMessage does not hold a KeyPackage")          \
    X(MLS_KP_VERSION, 3, "KeyPackage version is not mls10 (RFC 9420 §10.1)")       \
    X(MLS_KP_SUITE_UNSUPPORTED, 4, "cipher suite not supported (RFC 9420 §10.1)")  \
    X(MLS_KP_SUITE_MISMATCH, 5, "cipher suite is not the expected one (RFC 9420 §10.1)") \
    X(MLS_KP_LEAF_SOURCE, 6, "leaf_node_source is not key_package (RFC 9420 §7.3)") \
    X(MLS_KP_CAP_VERSION, 7, "capabilities do not include mls10 (RFC 9420 §7.2)")  \
    X(MLS_KP_CAP_SUITE, 8,                                                         \
      "capabilities do not include the KeyPackage's cipher suite (RFC 9420 §10.1)") \
    X(MLS_KP_CAP_CREDENTIAL, 9,                                                    \
      "capabilities do not include the credential type (RFC 9420 §7.2)")          \
    X(MLS_KP_DUPLICATE_EXTENSION, 10, "an extension type appears twice (RFC 9420 §13)") \
    X(MLS_KP_CAP_EXTENSION, 11,                                                    \
      "leaf extension not listed in capabilities (RFC 9420 §7.2)")                 \
    X(MLS_KP_KEY_LENGTH, 12, "HPKE key has the wrong length for the suite (RFC 9420 §10.1)") \
    X(MLS_KP_SIGNATURE_KEY_LENGTH, 13,                                             \
      "signature key has the wrong length for the suite (RFC 9420 §5.1.1)")        \
    X(MLS_KP_INIT_KEY_REUSED, 14,                                                  \
      "init_key equals the leaf encryption_key (RFC 9420 §10.1)")                  \
    X(MLS_KP_NOT_YET_VALID, 15, "lifetime starts in the future (RFC 9420 §7.2)")   \
    X(MLS_KP_EXPIRED, 16, "lifetime has ended (RFC 9420 §7.2)")                   \
    X(MLS_KP_LEAF_SIGNATURE, 17, "leaf node signature does not verify (RFC 9420 §7.2)") \
    X(MLS_KP_SIGNATURE, 18, "KeyPackage signature does not verify (RFC 9420 §10.1)")

typedef enum mls_kp_reason {
#define MLS_KP_REASON_ENUM_(name, value, text) name = value,
    MLS_KP_REASONS(MLS_KP_REASON_ENUM_)
#undef MLS_KP_REASON_ENUM_
} mls_kp_reason;

/* The text of a reason (the third column above); never NULL. */
MLS_API const char *mls_kp_reason_text(int reason);
/* Its symbolic name ("MLS_KP_EXPIRED"); never NULL. */
MLS_API const char *mls_kp_reason_name(int reason);

/*
 * Validates a KeyPackage as a group or a Delivery Service does (RFC 9420
 * §10.1) and says which rule failed.  key_package is an MLSMessage with
 * wire format mls_key_package; a bare KeyPackage is accepted only when the
 * bytes do not decode as an MLSMessage at all (one reading for any input).
 * expected_suite: 0 for any supported suite.  The lifetime is checked at
 * env->now.  *reason (may be NULL) is always written: MLS_KP_OK or the
 * first rule broken.  On success *info (may be NULL) describes the
 * KeyPackage (views into key_package; info->key_package is the bare
 * KeyPackage).  Returns MLS_OK, MLS_ERR_MALFORMED / MLS_ERR_TRAILING (the
 * bytes do not decode, or hold another wire format), MLS_ERR_UNSUPPORTED
 * (version, suite), MLS_ERR_EXPIRED (lifetime), MLS_ERR_SIGNATURE, or
 * MLS_ERR_INVALID (any other rule).  mls_error_detail() names the rule too.
 */
MLS_API MLS_MUST_CHECK int mls_key_package_diagnose(const mls_env *env, mls_bytes key_package,
                                                    uint16_t expected_suite,
                                                    mls_key_package_info *info, int *reason);

#ifdef __cplusplus
}
#endif
#endif
