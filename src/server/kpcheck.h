/*
 * KeyPackage validation on upload (RFC 9420 §10.1, §7.3), for the server's
 * directory rules: the KeyPackage must belong to the uploader.  The rules
 * of RFC 9420 are libmls's (mls_key_package_diagnose, include/mls/inspect.h);
 * the ones here are the server's policy.
 */
#ifndef SRV_KPCHECK_H
#define SRV_KPCHECK_H

#include "mls/mls.h"

typedef struct srv_kp_expect {
    uint16_t suite;      /* the uploader's registered suite */
    mls_bytes sig_key;   /* the uploader's registered signature key */
    const char *identity; /* the uploader's username */
    uint64_t now;
} srv_kp_expect;

typedef struct srv_kp_info {
    mls_bytes key_package; /* the bare KeyPackage inside the input */
    uint64_t not_after;
} srv_kp_info;

/* Accepts an MLSMessage(mls_key_package), or a bare KeyPackage when the
 * input does not decode as an MLSMessage at all (docs/PROTOCOL.md §6).
 * Returns 0, or MLS_ERR_MALFORMED (does not decode) or another MLS error
 * (decodes but fails a check) with *why a readable reason. */
int srv_kp_validate(mls_bytes in, const srv_kp_expect *x, srv_kp_info *info, const char **why);

#endif
