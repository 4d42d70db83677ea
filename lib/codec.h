/*
 * TLS presentation language as RFC 9420 §2.1 uses it: a bounded reader that
 * fails on underflow and a writer on mls_buf.
 */
#ifndef MLS_CODEC_H
#define MLS_CODEC_H

#include "mls/mls.h"

/* Largest length we accept for any single <V> vector: 2^30-1 is the varint
 * maximum (RFC 9420 §2.1.2). */
#define MLS_VARINT_MAX 0x3fffffffu

typedef struct mls_reader {
    const uint8_t *p;
    size_t n;   /* total bytes */
    size_t off; /* bytes consumed */
} mls_reader;

void mls_reader_init(mls_reader *r, const uint8_t *p, size_t n);
static inline void mls_reader_init_bytes(mls_reader *r, mls_bytes b)
{
    mls_reader_init(r, b.p, b.n);
}
static inline size_t mls_reader_left(const mls_reader *r)
{
    return r->n - r->off;
}
/* MLS_ERR_TRAILING unless every byte was consumed. */
MLS_MUST_CHECK int mls_reader_done(const mls_reader *r);

MLS_MUST_CHECK int mls_read_u8(mls_reader *r, uint8_t *v);
MLS_MUST_CHECK int mls_read_u16(mls_reader *r, uint16_t *v);
MLS_MUST_CHECK int mls_read_u32(mls_reader *r, uint32_t *v);
MLS_MUST_CHECK int mls_read_u64(mls_reader *r, uint64_t *v);
/* RFC 9420 §2.1.2 variable-length integer: prefix 11 and non-minimal
 * encodings are malformed. */
MLS_MUST_CHECK int mls_read_varint(mls_reader *r, uint32_t *v);
/* n raw bytes, borrowed from the input. */
MLS_MUST_CHECK int mls_read_fixed(mls_reader *r, size_t n, mls_bytes *out);
/* A <V> vector: its body as a sub-reader the caller must consume exactly
 * (check with mls_reader_done). */
MLS_MUST_CHECK int mls_read_vec(mls_reader *r, mls_reader *sub);
/* A <V> opaque vector, borrowed from the input. */
MLS_MUST_CHECK int mls_read_vec_bytes(mls_reader *r, mls_bytes *out);
/* A <V> opaque vector, copied into out (replacing its contents). */
MLS_MUST_CHECK int mls_read_vec_buf(mls_reader *r, mls_buf *out);
/* optional<T> presence byte: 0 or 1, anything else is malformed. */
MLS_MUST_CHECK int mls_read_optional(mls_reader *r, int *present);

MLS_MUST_CHECK int mls_write_u8(mls_buf *w, uint8_t v);
MLS_MUST_CHECK int mls_write_u16(mls_buf *w, uint16_t v);
MLS_MUST_CHECK int mls_write_u32(mls_buf *w, uint32_t v);
MLS_MUST_CHECK int mls_write_u64(mls_buf *w, uint64_t v);
MLS_MUST_CHECK int mls_write_varint(mls_buf *w, size_t v);
MLS_MUST_CHECK int mls_write_fixed(mls_buf *w, const uint8_t *p, size_t n);
/* A <V> opaque vector. */
MLS_MUST_CHECK int mls_write_vec(mls_buf *w, const uint8_t *p, size_t n);
static inline int mls_write_vec_bytes(mls_buf *w, mls_bytes b)
{
    return mls_write_vec(w, b.p, b.n);
}
/* Starts a <V> vector whose body the caller writes next; *mark remembers
 * where.  mls_write_vec_end fills in the minimal length prefix, moving the
 * body if the prefix needs more than one byte. */
MLS_MUST_CHECK int mls_write_vec_begin(mls_buf *w, size_t *mark);
MLS_MUST_CHECK int mls_write_vec_end(mls_buf *w, size_t mark);
/* Number of bytes the varint encoding of v takes (1, 2 or 4), 0 if too big. */
size_t mls_varint_size(size_t v);

#endif
