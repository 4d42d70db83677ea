/*
 * Internal: OpenSSL 3.0 EVP_PKEYs built from the raw key encodings MLS uses
 * (RFC 9420 §5.1.1, RFC 9180 §7.1.1), shared by signature.c and hpke.c.
 *
 *  - X25519, X448, Ed25519, Ed448: raw private and public bytes (RFC 7748,
 *    RFC 8032).
 *  - P-256, P-384, P-521: the private key is the big-endian scalar of
 *    exactly Nsk bytes (left-padded), in [1, n-1]; the public key is the
 *    uncompressed SEC1 point 0x04 || x || y of exactly Npk bytes, on the
 *    curve and not the point at infinity.
 *
 * Built only from OSSL_PARAM / EVP_PKEY_fromdata and the non-deprecated
 * EC_GROUP / EC_POINT arithmetic (no EC_KEY).
 */
#ifndef MLS_PKEY_H
#define MLS_PKEY_H

#include <openssl/evp.h>

#include "mls/mls.h"

typedef struct mls_curve {
    const char *type;  /* OpenSSL key type: "X25519", "X448", "ED25519", "ED448", "EC" */
    const char *group; /* OpenSSL group name for "EC" ("P-256" ...), else NULL */
    int nid;           /* curve NID for "EC", else 0 */
    size_t nsk;        /* encoded private key length */
    size_t npk;        /* encoded public key length */
    uint8_t top_mask;  /* NIST curves: mask for the first scalar byte that
                        * leaves the bit length of the order (RFC 9180
                        * §7.1.3 "bitmask"); 0xff otherwise */
} mls_curve;

extern const mls_curve mls_curve_x25519, mls_curve_x448, mls_curve_ed25519, mls_curve_ed448,
    mls_curve_p256, mls_curve_p384, mls_curve_p521;

static inline int mls_curve_is_ec(const mls_curve *c)
{
    return c->nid != 0;
}

/* A private key (without its public part).  MLS_ERR_INVALID if sk has the
 * wrong length or, on a NIST curve, is 0 or not below the group order. */
MLS_MUST_CHECK int mls_pkey_from_private(const mls_curve *c, mls_bytes sk, EVP_PKEY **out);
/* A private key together with its public key (c->npk bytes, the one the
 * caller already holds): OpenSSL 3.0 derives the public key of an X25519,
 * X448, Ed25519 or Ed448 private key on import unless it is given, so this
 * costs no scalar multiplication.  The pair is trusted to match (it comes
 * from our own state); a mismatch makes a DH or signature fail to verify
 * elsewhere, never leaks the private key. */
MLS_MUST_CHECK int mls_pkey_from_keypair(const mls_curve *c, mls_bytes sk, mls_bytes pk,
                                         EVP_PKEY **out);
/* A public key.  MLS_ERR_MALFORMED for a wrong length or point format,
 * MLS_ERR_INVALID for a point not on the curve. */
MLS_MUST_CHECK int mls_pkey_from_public(const mls_curve *c, mls_bytes pk, EVP_PKEY **out);
/* Writes the c->npk byte public key of sk to pk. */
MLS_MUST_CHECK int mls_pkey_public_from_private(const mls_curve *c, mls_bytes sk, uint8_t *pk);
/* Writes the c->npk byte public key of sk to pk and, if out is not NULL,
 * the private key to *out, computing the public key once: for a caller that
 * needs both (HPKE Encap and Decap), instead of mls_pkey_public_from_private
 * followed by mls_pkey_from_private, which derives it a second time. */
MLS_MUST_CHECK int mls_pkey_keypair_from_private(const mls_curve *c, mls_bytes sk, uint8_t *pk,
                                                 EVP_PKEY **out);
/* For X25519 and X448 only: the public key of sk (c->npk bytes to pk)
 * and, in *out, an EVP_PKEY of sk to be used for EVP_PKEY_derive only.
 * OpenSSL 3.0 derives the public key on import with a generic fixed-base
 * multiplication that costs more than its optimized Montgomery ladder, so
 * this computes pk = X(sk, u) with the ladder, u the base point (RFC 7748
 * §6.1), through a key imported without its public half and used for that
 * one derive only; *out (may be NULL) is then imported with both halves,
 * which costs no multiplication.  MLS_ERR_ARG for other curves. */
MLS_MUST_CHECK int mls_pkey_x_dh_keypair(const mls_curve *c, mls_bytes sk, uint8_t *pk,
                                         EVP_PKEY **out);
/* NIST curves: MLS_OK if sk (c->nsk bytes, big-endian) is in [1, n-1],
 * MLS_ERR_INVALID otherwise. */
MLS_MUST_CHECK int mls_ec_scalar_check(const mls_curve *c, mls_bytes sk);

/* Replaces the contents of two output buffers together: either both are
 * written or neither is. */
MLS_MUST_CHECK int mls_buf_set_pair(mls_buf *a, mls_bytes va, mls_buf *b, mls_bytes vb);

#endif
