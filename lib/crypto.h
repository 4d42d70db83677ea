/*
 * The MLS-level cryptographic functions of RFC 9420 §5 and §8:
 * ExpandWithLabel, DeriveSecret, DeriveTreeSecret, SignWithLabel /
 * VerifyWithLabel, EncryptWithLabel / DecryptWithLabel, RefHash.
 */
#ifndef MLS_CRYPTO_H
#define MLS_CRYPTO_H

#include "hpke.h"

/* RFC 9420 §8: KDF.Expand(secret, KDFLabel{length, "MLS 1.0 " + label,
 * context}, length). */
MLS_MUST_CHECK int mls_expand_with_label(const mls_suite *s, mls_bytes secret, const char *label,
                                         mls_bytes context, uint8_t *out, size_t len);
/* The same with a label of arbitrary bytes (RFC 9420 §8.5: exporter labels
 * are chosen by applications and need not be C strings). */
MLS_MUST_CHECK int mls_expand_with_label_bytes(const mls_suite *s, mls_bytes secret,
                                               mls_bytes label, mls_bytes context, uint8_t *out,
                                               size_t len);
/* DeriveSecret(secret, label) = ExpandWithLabel(secret, label, "", Nh). */
MLS_MUST_CHECK int mls_derive_secret(const mls_suite *s, mls_bytes secret, const char *label,
                                     uint8_t out[MLS_MAX_HASH]);
/* RFC 9420 §9: DeriveTreeSecret(secret, label, generation, length). */
MLS_MUST_CHECK int mls_derive_tree_secret(const mls_suite *s, mls_bytes secret, const char *label,
                                          uint32_t generation, uint8_t *out, size_t len);

/* RFC 9420 §5.1.2: SignContent{"MLS 1.0 " + label, content}. */
MLS_MUST_CHECK int mls_sign_with_label(const mls_suite *s, const mls_env *env, mls_bytes sk,
                                       const char *label, mls_bytes content, mls_buf *sig);
MLS_MUST_CHECK int mls_verify_with_label(const mls_suite *s, mls_bytes pk, const char *label,
                                         mls_bytes content, mls_bytes sig);

/* RFC 9420 §5.1.3: EncryptContext{"MLS 1.0 " + label, context} as HPKE info. */
MLS_MUST_CHECK int mls_encrypt_with_label(const mls_suite *s, const mls_env *env, mls_bytes pk,
                                          const char *label, mls_bytes context, mls_bytes pt,
                                          mls_buf *kem_output, mls_buf *ct);
MLS_MUST_CHECK int mls_decrypt_with_label(const mls_suite *s, mls_bytes sk, const char *label,
                                          mls_bytes context, mls_bytes kem_output, mls_bytes ct,
                                          mls_buf *pt);

/* DecryptWithLabel with the public key of sk given (see
 * mls_hpke_open_base_kp); pk empty: the same as mls_decrypt_with_label. */
MLS_MUST_CHECK int mls_decrypt_with_label_kp(const mls_suite *s, mls_bytes sk, mls_bytes pk,
                                             const char *label, mls_bytes context,
                                             mls_bytes kem_output, mls_bytes ct, mls_buf *pt);

/* EncryptWithLabel in two steps for many recipients of one context: the
 * HPKE info_hash of EncryptContext{label, context} (s->nh bytes), then
 * the encryption with it.  Same output as mls_encrypt_with_label. */
MLS_MUST_CHECK int mls_encrypt_context_hash(const mls_suite *s, const char *label,
                                            mls_bytes context, uint8_t out[MLS_MAX_HASH]);
MLS_MUST_CHECK int mls_encrypt_with_label_hashed(const mls_suite *s, const mls_env *env,
                                                 mls_bytes pk, mls_bytes context_hash,
                                                 mls_bytes pt, mls_buf *kem_output,
                                                 mls_buf *ct);

/* RFC 9420 §5.2: RefHash(label, value) = Hash(RefHashInput{label, value}).
 * out is s->nh bytes. */
MLS_MUST_CHECK int mls_ref_hash(const mls_suite *s, const char *label, mls_bytes value,
                                uint8_t out[MLS_MAX_HASH]);

#endif
