/*
 * Proof of possession of a user's signature key (docs/PROTOCOL.md §3):
 * SignWithLabel(sk, "mlschat auth v1", AuthContent) over the server's
 * single-use challenge nonce, plus fingerprints and replay detection.
 */
#ifndef SRV_AUTH_H
#define SRV_AUTH_H

#include "auth_content.h"
#include "mls/group.h"

#define SRV_AUTH_LABEL CHAT_AUTH_LABEL
#define SRV_NONCE_LEN 32
#define SRV_FINGERPRINT_LEN (MLS_FINGERPRINT_SIZE - 1) /* PROTOCOL.md §2: 79 */

/* What a register or login request claims: the AuthContent it signed. */
typedef chat_auth_content srv_auth_claim;

/* 0 if sig is a valid signature of the claim by sig_key; MLS_ERR_SIGNATURE
 * if not; MLS_ERR_UNSUPPORTED for an unknown suite. */
int srv_auth_verify(const srv_auth_claim *c, mls_bytes sig);

/* Fills out with SRV_FINGERPRINT_LEN characters plus NUL
 * (mls_signature_key_fingerprint; "" if hashing fails). */
void srv_auth_fingerprint(mls_bytes key, char out[SRV_FINGERPRINT_LEN + 1]);

/* 1 if the suite exists and the key has its signature key length. */
int srv_auth_key_ok(uint16_t suite, mls_bytes key);

/* Remembers a nonce as used (the last few thousand are kept). */
void srv_nonce_mark_used(const uint8_t nonce[SRV_NONCE_LEN]);
/* 1 if the nonce was used recently. */
int srv_nonce_was_used(mls_bytes nonce);

#endif
