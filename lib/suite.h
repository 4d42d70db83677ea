/*
 * Cipher suites (RFC 9420 §5.1, §17.1): one const table per suite, and the
 * primitive operations over OpenSSL 3.0 libcrypto.
 *
 * Key encodings (RFC 9420 §5.1.1):
 *  - HPKE public keys: SerializePublicKey of RFC 9180 §7.1.1 (raw X25519/X448
 *    bytes; uncompressed SEC1 point for P-256/P-384/P-521).
 *  - HPKE private keys: SerializePrivateKey (raw scalar, fixed Nsk bytes).
 *  - Signature public keys: raw Ed25519/Ed448 bytes; uncompressed SEC1 point
 *    for ECDSA.
 *  - Signature private keys (not fixed by the RFC; what the official
 *    crypto-basics vectors use): raw Ed25519/Ed448 seed (32/57 bytes); for
 *    ECDSA the big-endian scalar in [1, n-1], left-padded to 32/48/66 bytes.
 *  - Signatures (RFC 9420 §5.1.2 "encoded as specified in RFC 8446"): EdDSA
 *    R || S (64/114 bytes); ECDSA the DER-encoded Ecdsa-Sig-Value
 *    SEQUENCE { r INTEGER, s INTEGER } (RFC 8446 §4.2.3), at most 139
 *    bytes for P-521.
 */
#ifndef MLS_SUITE_H
#define MLS_SUITE_H

#include "mls/mls.h"

/* Compile-time maxima for stack buffers, over all seven suites. */
#define MLS_MAX_HASH 64      /* SHA-512 */
#define MLS_MAX_AEAD_KEY 32
#define MLS_MAX_AEAD_NONCE 12
#define MLS_AEAD_TAG 16
#define MLS_MAX_KEM_PK 133   /* P-521 uncompressed */
#define MLS_MAX_KEM_SK 66    /* P-521 scalar */
#define MLS_MAX_KEM_SECRET 64
#define MLS_MAX_SIG_PK 133
#define MLS_MAX_SIG_SK 66
#define MLS_MAX_SIG 139      /* DER ECDSA P-521 */

enum mls_hash_alg { MLS_HASH_SHA256 = 1, MLS_HASH_SHA384, MLS_HASH_SHA512 };
enum mls_aead_alg { MLS_AEAD_AES128GCM = 1, MLS_AEAD_AES256GCM, MLS_AEAD_CHACHA20POLY1305 };
enum mls_kem_alg {
    MLS_KEM_X25519 = 1, MLS_KEM_X448, MLS_KEM_P256, MLS_KEM_P384, MLS_KEM_P521
};
enum mls_sig_alg {
    MLS_SIG_ED25519 = 1, MLS_SIG_ED448, MLS_SIG_P256, MLS_SIG_P384, MLS_SIG_P521
};

typedef struct mls_suite {
    uint16_t id;
    const char *name;
    enum mls_hash_alg hash;
    enum mls_aead_alg aead;
    enum mls_kem_alg kem;
    enum mls_sig_alg sig;
    /* RFC 9180 identifiers */
    uint16_t hpke_kem_id, hpke_kdf_id, hpke_aead_id;
    size_t nh;        /* hash / KDF output length */
    size_t nk;        /* AEAD key length */
    size_t nn;        /* AEAD nonce length */
    size_t kem_nsecret, kem_nenc, kem_npk, kem_nsk;
    size_t sig_npk;   /* signature public key length */
} mls_suite;

/* NULL if the suite is not one of 0x0001..0x0007. */
const mls_suite *mls_suite_get(uint16_t id);

/* ---- hash, MAC, KDF (suite.c) */
MLS_MUST_CHECK int mls_hash(const mls_suite *s, mls_bytes in, uint8_t out[MLS_MAX_HASH]);
/* Hash of the concatenation of up to n parts. */
MLS_MUST_CHECK int mls_hash_parts(const mls_suite *s, const mls_bytes *parts, size_t n,
                                  uint8_t out[MLS_MAX_HASH]);
MLS_MUST_CHECK int mls_hmac(const mls_suite *s, mls_bytes key, mls_bytes data,
                            uint8_t out[MLS_MAX_HASH]);
/* out is s->nh bytes. */
MLS_MUST_CHECK int mls_hkdf_extract(const mls_suite *s, mls_bytes salt, mls_bytes ikm,
                                    uint8_t out[MLS_MAX_HASH]);
MLS_MUST_CHECK int mls_hkdf_expand(const mls_suite *s, mls_bytes prk, mls_bytes info,
                                   uint8_t *out, size_t len);

/* ---- AEAD (suite.c). seal appends ciphertext||tag to out; open appends the
 * plaintext to out and fails with MLS_ERR_DECRYPT on a bad tag.  The inputs
 * must not point into out.  HPKE uses these too: its AEAD (hpke_aead_id) is
 * always the suite's. */
MLS_MUST_CHECK int mls_aead_seal(const mls_suite *s, mls_bytes key, mls_bytes nonce,
                                 mls_bytes aad, mls_bytes pt, mls_buf *out);
MLS_MUST_CHECK int mls_aead_open(const mls_suite *s, mls_bytes key, mls_bytes nonce,
                                 mls_bytes aad, mls_bytes ct, mls_buf *out);

/* ---- signatures (signature.c) */
/* A fresh key pair from env->random; sk and pk are replaced (both or
 * neither). */
MLS_MUST_CHECK int mls_sig_keygen(const mls_suite *s, const mls_env *env, mls_buf *sk,
                                  mls_buf *pk);
/* pk is replaced.  MLS_ERR_INVALID for a malformed private key. */
MLS_MUST_CHECK int mls_sig_public_from_private(const mls_suite *s, mls_bytes sk, mls_buf *pk);
/* Appends the signature to sig.  EdDSA is deterministic; the ECDSA nonce
 * comes from OpenSSL's DRBG. */
MLS_MUST_CHECK int mls_sig_sign(const mls_suite *s, const mls_env *env, mls_bytes sk,
                                mls_bytes msg, mls_buf *sig);
/* mls_sig_sign keeps the imported key objects of the last few private
 * keys it signed with (so that signing does not derive the public key
 * again each time); this wipes and drops the one of sk, if any.  Called
 * when an identity is cleared. */
void mls_sig_forget(const mls_suite *s, mls_bytes sk);
/* MLS_OK if valid, MLS_ERR_SIGNATURE if not (also for a malformed key or
 * signature). */
MLS_MUST_CHECK int mls_sig_verify(const mls_suite *s, mls_bytes pk, mls_bytes msg,
                                  mls_bytes sig);

#endif
