/*
 * HPKE (RFC 9180) base mode with DHKEM over X25519, X448, P-256, P-384,
 * P-521, HKDF-SHA256/384/512 and AES-GCM / ChaCha20-Poly1305, as the MLS
 * cipher suites need it.  OpenSSL 3.0 has no HPKE API, so this is ours.
 */
#ifndef MLS_HPKE_H
#define MLS_HPKE_H

#include "suite.h"

/* An HPKE context after SetupBaseS/SetupBaseR (RFC 9180 §5.1). */
typedef struct mls_hpke_ctx {
    const mls_suite *suite;
    uint8_t key[MLS_MAX_AEAD_KEY];
    uint8_t base_nonce[MLS_MAX_AEAD_NONCE];
    uint8_t exporter_secret[MLS_MAX_HASH];
    uint64_t seq;
} mls_hpke_ctx;

void mls_hpke_ctx_clear(mls_hpke_ctx *ctx);

/*
 * Errors: MLS_ERR_UNSUPPORTED for a suite whose HPKE ids do not match its
 * algorithms; MLS_ERR_MALFORMED for a public key or enc of the wrong length
 * or point format; MLS_ERR_INVALID for a point off the curve, a small-order
 * X25519/X448 key (all-zero DH output) or a private key of the wrong length
 * or out of range; MLS_ERR_DECRYPT for a failed AEAD open; MLS_ERR_RANDOM if
 * env->random fails.  Outputs are written only on success.
 */

/* RFC 9180 §7.1.3 DeriveKeyPair (rejection sampling on the NIST curves).
 * sk (SerializePrivateKey, Nsk bytes) and pk (SerializePublicKey, Npk
 * bytes) are replaced. */
MLS_MUST_CHECK int mls_hpke_derive_keypair(const mls_suite *s, mls_bytes ikm, mls_buf *sk,
                                           mls_buf *pk);
/* GenerateKeyPair: random ikm of Nsk bytes from env, then DeriveKeyPair. */
MLS_MUST_CHECK int mls_hpke_generate_keypair(const mls_suite *s, const mls_env *env,
                                             mls_buf *sk, mls_buf *pk);
/* Public key of a serialized private key; pk is replaced. */
MLS_MUST_CHECK int mls_hpke_public_from_private(const mls_suite *s, mls_bytes sk, mls_buf *pk);

/* SetupBaseS: enc is appended to *enc.  The context keeps a pointer to s. */
MLS_MUST_CHECK int mls_hpke_setup_base_s(const mls_suite *s, const mls_env *env, mls_bytes pk,
                                         mls_bytes info, mls_buf *enc, mls_hpke_ctx *ctx);
MLS_MUST_CHECK int mls_hpke_setup_base_r(const mls_suite *s, mls_bytes enc, mls_bytes sk,
                                         mls_bytes info, mls_hpke_ctx *ctx);
/* Seal/Open with the nonce of the current sequence number (RFC 9180 §5.2),
 * which advances only on success; ct / pt are appended.  Export (§5.3)
 * writes len <= 255 * Nh bytes. */
MLS_MUST_CHECK int mls_hpke_ctx_seal(mls_hpke_ctx *ctx, mls_bytes aad, mls_bytes pt, mls_buf *ct);
MLS_MUST_CHECK int mls_hpke_ctx_open(mls_hpke_ctx *ctx, mls_bytes aad, mls_bytes ct, mls_buf *pt);
MLS_MUST_CHECK int mls_hpke_ctx_export(const mls_hpke_ctx *ctx, mls_bytes exporter_context,
                                       uint8_t *out, size_t len);

/* Single-shot SealBase / OpenBase (RFC 9180 §6.1): enc and ct are
 * appended, pt is appended. */
MLS_MUST_CHECK int mls_hpke_seal_base(const mls_suite *s, const mls_env *env, mls_bytes pk,
                                      mls_bytes info, mls_bytes aad, mls_bytes pt, mls_buf *enc,
                                      mls_buf *ct);
MLS_MUST_CHECK int mls_hpke_open_base(const mls_suite *s, mls_bytes enc, mls_bytes sk,
                                      mls_bytes info, mls_bytes aad, mls_bytes ct, mls_buf *pt);
/* OpenBase with pk, the public key of sk that the caller already holds
 * (Npk bytes; empty: computed from sk): Decap then needs one scalar
 * multiplication instead of two. */
MLS_MUST_CHECK int mls_hpke_open_base_kp(const mls_suite *s, mls_bytes enc, mls_bytes sk,
                                         mls_bytes pk, mls_bytes info, mls_bytes aad,
                                         mls_bytes ct, mls_buf *pt);

/* RFC 9180 §5.1 info_hash = LabeledExtract("", "info_hash", info), and
 * SealBase with it precomputed: a sender sealing to many recipients under
 * one long info (a Welcome's encrypted GroupInfo, RFC 9420 §12.4.3.1)
 * hashes the info once instead of once per recipient.  Added by the group
 * engine. */
MLS_MUST_CHECK int mls_hpke_info_hash(const mls_suite *s, mls_bytes info,
                                      uint8_t out[MLS_MAX_HASH]);
MLS_MUST_CHECK int mls_hpke_seal_base_hashed(const mls_suite *s, const mls_env *env,
                                             mls_bytes pk, mls_bytes info_hash, mls_bytes aad,
                                             mls_bytes pt, mls_buf *enc, mls_buf *ct);

#endif
