/*
 * KeyPackages (RFC 9420 §10): creation, validation, the private bundle an
 * application keeps until the KeyPackage is used.
 */
#ifndef MLS_KEY_PACKAGE_H
#define MLS_KEY_PACKAGE_H

#include "mls/group.h"
#include "messages.h"

/* A decoded private bundle (from mls_key_package_create). */
typedef struct mls_kp_bundle {
    mls_key_package kp;
    mls_buf init_sk;
    mls_buf enc_sk;
} mls_kp_bundle;

/* The bundle bytes for a KeyPackage and its two private keys (replaces
 * out). */
MLS_MUST_CHECK int mls_kp_bundle_encode(const mls_key_package *kp, mls_bytes init_sk,
                                        mls_bytes enc_sk, mls_buf *out);
MLS_MUST_CHECK int mls_kp_bundle_decode(mls_bytes in, mls_kp_bundle *out);
void mls_kp_bundle_clear(mls_kp_bundle *b);

/* Decodes an MLSMessage that must carry a KeyPackage (*out zeroed). */
MLS_MUST_CHECK int mls_key_package_from_message(mls_bytes msg, mls_key_package *out);

/*
 * RFC 9420 §10.1 validation of a KeyPackage for suite s: the checks of
 * mls_key_package_verify plus unique extension types (KeyPackage and
 * leaf), leaf extensions and credential type listed in the leaf's
 * capabilities, the suite and version in its capabilities, and, when
 * check_lifetime, now within the lifetime (MLS_ERR_EXPIRED).
 */
MLS_MUST_CHECK int mls_key_package_check(const mls_suite *s, const mls_key_package *kp,
                                         int check_lifetime, uint64_t now);

#endif
