/* Strict standard base64 with padding (RFC 4648 §4), as the protocol uses. */
#ifndef SRV_B64_H
#define SRV_B64_H

#include <stddef.h>
#include <stdint.h>

#include "mls/mls.h"

/* Appends the decoding of text to out.  Refuses characters outside the
 * alphabet, missing or misplaced padding and non-zero padding bits.
 * Returns 0 or MLS_ERR_MALFORMED (MLS_ERR_NOMEM on allocation failure). */
int srv_b64_decode(const char *text, size_t len, mls_buf *out);
/* Returns a NUL-terminated malloc'd encoding, or NULL. */
char *srv_b64_encode(const uint8_t *p, size_t n);

#endif
