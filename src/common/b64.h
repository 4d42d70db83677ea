/*
 * Strict standard base64 with padding (RFC 4648 §4), as the chat protocol
 * uses it; shared by the server and the client.
 */
#ifndef CHAT_B64_H
#define CHAT_B64_H

#include <stddef.h>
#include <stdint.h>

#include "mls/mls.h"

/* Appends the decoding of text[0..len) to out.  Refuses characters outside
 * the alphabet, missing or misplaced padding and non-zero padding bits.
 * Returns 0, MLS_ERR_MALFORMED or MLS_ERR_NOMEM; on error out is as it
 * was. */
int chat_b64_decode(const char *text, size_t len, mls_buf *out);
/* Returns a NUL-terminated malloc'd encoding, or NULL. */
char *chat_b64_encode(const uint8_t *p, size_t n);
/* Writes the encoding, CHAT_B64_LEN(n) characters and no NUL, to out;
 * returns its length. */
size_t chat_b64_encode_to(const uint8_t *p, size_t n, char *out);
#define CHAT_B64_LEN(n) (((n) + 2) / 3 * 4)

#endif
