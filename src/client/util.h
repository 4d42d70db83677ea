/*
 * Small helpers shared by the client's layers: base64 (RFC 4648 §4),
 * key fingerprints (PROTOCOL.md §2), name validation, UTF-8 checks, a
 * debug log and monotonic time.
 */
#ifndef CLI_UTIL_H
#define CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "mls/mls.h"

#define CLI_VERSION "0.1.0"

/* PROTOCOL.md §2: 64 hex digits in 16 groups of 4, joined by ':'. */
#define CLI_FINGERPRINT_LEN 79

/* Standard base64 with padding (src/common/b64.h).  Returns a malloc'd
 * NUL-terminated string, NULL when out of memory. */
char *cli_b64_encode(const uint8_t *p, size_t n);
/* Strict decode into out (replacing its contents): 0, or -1 when the text
 * is not canonical padded base64 or memory runs out. */
int cli_b64_decode(const char *text, mls_buf *out);

/* SHA-256 fingerprint of a raw signature public key, written to
 * out[CLI_FINGERPRINT_LEN + 1]. */
void cli_fingerprint(mls_bytes key, char out[CLI_FINGERPRINT_LEN + 1]);

/* PROTOCOL.md §2 name rules.  1 if valid. */
int cli_valid_username(const char *s);
int cli_valid_groupname(const char *s);
/* Lowercases ASCII letters in place. */
void cli_lowercase(char *s);

/* The largest message text the client sends, in bytes of UTF-8: the
 * input limit of both UIs.  Its PrivateMessage (framing, signature,
 * padding, base64 in the JSON request) stays far below the server's
 * --max-message (1 MiB by default, PROTOCOL.md §11). */
#define CLI_TEXT_MAX 16000

/* 1 if s[0..n) is well-formed UTF-8 without control characters other
 * than tab and newline (a message may hold a pasted block of lines; the
 * UIs show both without passing them to the terminal raw). */
int cli_text_printable(const char *s, size_t n);
/* Copies s into a malloc'd string made safe for a terminal (for text from
 * other members): the same as cli_textsafe (textsafe.h). */
char *cli_text_sanitize(const char *s, size_t n);

/* Monotonic milliseconds. */
uint64_t cli_now_ms(void);
/* Wall clock seconds. */
uint64_t cli_time(void);

/* Debug log: enabled when MLSCHAT_DEBUG names a file. */
void cli_log_open(void);
void cli_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_log_close(void);

/* malloc'd printf; NULL when out of memory. */
char *cli_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

/* ---- the few TLS presentation language pieces the client encodes
 * itself (RFC 9420 §2.1.2 variable-length vectors): AuthContent of
 * PROTOCOL.md §3 and the chat's GroupContext extensions. */
/* Appends opaque data<V>.  0 or -1. */
int cli_tls_put_vec(mls_buf *w, const uint8_t *p, size_t n);
int cli_tls_put_u16(mls_buf *w, uint16_t v);
int cli_tls_put_u64(mls_buf *w, uint64_t v);
/* Reads opaque data<V> at *off in in (view into in).  0 or -1. */
int cli_tls_get_vec(mls_bytes in, size_t *off, mls_bytes *out);
