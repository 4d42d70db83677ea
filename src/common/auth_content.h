/*
 * The proof of possession of a signature key (docs/PROTOCOL.md §3), shared
 * by the server (which verifies it) and the client (which signs it):
 *
 *     struct {
 *         opaque action<V>;          "register" or "login"
 *         opaque nonce<V>;           the server's single-use challenge
 *         uint64 timestamp;
 *         opaque username<V>;
 *         uint16 cipher_suite;
 *         opaque signature_key<V>;
 *     } AuthContent;
 *
 * signed as SignWithLabel(sk, CHAT_AUTH_LABEL, AuthContent) (RFC 9420
 * §5.1.2; the library adds the "MLS 1.0 " prefix).
 */
#ifndef CHAT_AUTH_CONTENT_H
#define CHAT_AUTH_CONTENT_H

#include "mls/mls.h"

#define CHAT_AUTH_LABEL "mlschat auth v1"

typedef struct chat_auth_content {
    const char *action; /* "register" or "login" */
    mls_bytes nonce;
    uint64_t timestamp;
    const char *username;
    uint16_t suite;
    mls_bytes sig_key;
} chat_auth_content;

/* Appends the encoding of c to out.  Returns 0 or an MLS error. */
int chat_auth_content_encode(const chat_auth_content *c, mls_buf *out);

#endif
