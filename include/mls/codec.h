/*
 * libmls public codec: the TLS presentation language of RFC 9420 §2.1 for
 * an application's own structures (e.g. the contents of its GroupContext
 * extensions, or what it signs with mls_identity_sign), with the same
 * strictness as the library's own decoders:
 *
 *   - <V> vectors carry the variable-length integer of RFC 9420 §2.1.2;
 *     the writer emits the minimal encoding, the reader rejects a
 *     non-minimal one and the prefix 11;
 *   - a nested vector is read as a sub-reader that must be consumed
 *     exactly (mls_tls_reader_done), so no byte goes unread;
 *   - every read checks the remaining length first and fails with
 *     MLS_ERR_MALFORMED rather than reading past the end.
 *
 * Writers append to an mls_buf; on error the buffer may hold a partial
 * encoding (discard it).
 *
 *     mls_tls_reader r, names;
 *     mls_tls_reader_init(&r, data);
 *     if (mls_tls_read_vector(&r, &names) || ...)        // opaque names<V><V>
 *     while (mls_tls_reader_left(&names)) { mls_tls_read_opaque(&names, &n); ... }
 *     err = mls_tls_reader_done(&r);
 */
#ifndef MLS_CODEC_PUBLIC_H
#define MLS_CODEC_PUBLIC_H

#include "mls/mls.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A strict reader over borrowed bytes. */
typedef struct mls_tls_reader {
    const uint8_t *p;
    size_t n;   /* total bytes */
    size_t off; /* bytes consumed */
} mls_tls_reader;

MLS_API void mls_tls_reader_init(mls_tls_reader *r, mls_bytes in);
/* Bytes not yet read. */
MLS_API size_t mls_tls_reader_left(const mls_tls_reader *r);
/* MLS_OK when every byte was read, MLS_ERR_TRAILING otherwise. */
MLS_API MLS_MUST_CHECK int mls_tls_reader_done(const mls_tls_reader *r);

MLS_API MLS_MUST_CHECK int mls_tls_read_u8(mls_tls_reader *r, uint8_t *v);
MLS_API MLS_MUST_CHECK int mls_tls_read_u16(mls_tls_reader *r, uint16_t *v);
MLS_API MLS_MUST_CHECK int mls_tls_read_u32(mls_tls_reader *r, uint32_t *v);
MLS_API MLS_MUST_CHECK int mls_tls_read_u64(mls_tls_reader *r, uint64_t *v);
/* n raw bytes (a fixed-length array), borrowed from the input. */
MLS_API MLS_MUST_CHECK int mls_tls_read_fixed(mls_tls_reader *r, size_t n, mls_bytes *out);
/* opaque data<V>, borrowed from the input. */
MLS_API MLS_MUST_CHECK int mls_tls_read_opaque(mls_tls_reader *r, mls_bytes *out);
/* A <V> vector of structures: its body as a sub-reader, which the caller
 * reads and then checks with mls_tls_reader_done. */
MLS_API MLS_MUST_CHECK int mls_tls_read_vector(mls_tls_reader *r, mls_tls_reader *sub);
/* optional<T> presence octet (RFC 9420 §2.1.1): 0 or 1, else malformed. */
MLS_API MLS_MUST_CHECK int mls_tls_read_optional(mls_tls_reader *r, int *present);

MLS_API MLS_MUST_CHECK int mls_tls_write_u8(mls_buf *w, uint8_t v);
MLS_API MLS_MUST_CHECK int mls_tls_write_u16(mls_buf *w, uint16_t v);
MLS_API MLS_MUST_CHECK int mls_tls_write_u32(mls_buf *w, uint32_t v);
MLS_API MLS_MUST_CHECK int mls_tls_write_u64(mls_buf *w, uint64_t v);
MLS_API MLS_MUST_CHECK int mls_tls_write_fixed(mls_buf *w, mls_bytes b);
/* opaque data<V>; MLS_ERR_TOO_LARGE beyond 2^30-1 bytes. */
MLS_API MLS_MUST_CHECK int mls_tls_write_opaque(mls_buf *w, mls_bytes b);
/* A <V> vector of structures: begin, write its elements, end; *mark
 * remembers where it started.  end writes the minimal length prefix. */
MLS_API MLS_MUST_CHECK int mls_tls_write_vector_begin(mls_buf *w, size_t *mark);
MLS_API MLS_MUST_CHECK int mls_tls_write_vector_end(mls_buf *w, size_t mark);

#ifdef __cplusplus
}
#endif
#endif
