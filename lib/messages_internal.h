/*
 * Internal helpers shared by the messages_*.c files: generic <V> lists of
 * structs, and the boilerplate every type gets (whole-buffer decode, deep
 * copy through the canonical encoding).
 */
#ifndef MLS_MESSAGES_INTERNAL_H
#define MLS_MESSAGES_INTERNAL_H

#include "messages.h"

typedef int (*msg_dec_fn)(mls_reader *r, void *out);
typedef int (*msg_enc_fn)(const void *x, mls_buf *w);
typedef void (*msg_clr_fn)(void *x);

/* arrayp is the address of the caller's array pointer (T **), written with
 * memcpy so the helpers stay free of type punning. */
/* Reads a <V> vector of elements of size elem, each decoded by dec from a
 * sub-reader that must be consumed exactly.  The array grows with the
 * elements actually decoded, never by a claimed length.  On error every
 * decoded element is cleared and *v, *n are untouched. */
MLS_MUST_CHECK int msg_read_list(mls_reader *r, void *arrayp, size_t *n, size_t elem,
                                 msg_dec_fn dec, msg_clr_fn clr);
/* Writes n elements as a <V> vector. */
MLS_MUST_CHECK int msg_write_list(mls_buf *w, const void *v, size_t n, size_t elem,
                                  msg_enc_fn enc);
/* Clears each element, frees the array, sets *v = NULL and *n = 0. */
void msg_clear_list(void *arrayp, size_t *n, size_t elem, msg_clr_fn clr);

/* One case of a select on a uint16 tag (RFC 9420 §2.1.3 variants): the tag
 * value, where its body lives in the struct, and the body's codec.  Each
 * tagged struct lists its cases once; decode, encode and clear all
 * dispatch through that table. */
typedef struct msg_variant {
    uint16_t tag;
    size_t offset;
    msg_dec_fn dec;
    msg_enc_fn enc;
    msg_clr_fn clr;
} msg_variant;

/* The case of table[0..n) for tag, or NULL. */
const msg_variant *msg_variant_find(const msg_variant *table, size_t n, uint16_t tag);

/* Whole-buffer decode: dec must consume all of in. */
MLS_MUST_CHECK int msg_decode_bytes(mls_bytes in, void *out, msg_dec_fn dec, msg_clr_fn clr);
/* Deep copy: encode src, decode the bytes into dst (size bytes, zeroed on
 * error). */
MLS_MUST_CHECK int msg_copy(void *dst, size_t size, const void *src, msg_enc_fn enc,
                            msg_dec_fn dec);

/* Runs expr, jumps to the function's exit label "out" on error. */
#define MSG_TRY(expr)                                                          \
    do {                                                                       \
        if ((err = (expr)) != 0)                                               \
            goto out;                                                          \
    } while (0)

/* Reads one of the enum values lo..hi as a uint8; others are malformed. */
MLS_MUST_CHECK int msg_read_enum8(mls_reader *r, uint8_t lo, uint8_t hi, uint8_t *v);
/* Encoding of an owned opaque<V>. */
static inline int msg_write_buf(mls_buf *w, const mls_buf *b)
{
    return mls_write_vec(w, b->p, b->n);
}

/* MSG_ADAPTERS(X) defines void-pointer adapters X_dec_v / X_enc_v / X_clr_v
 * of type mls_X for the list helpers, static inline so a file may leave
 * some unused.  A file uses it alone for types of another file it keeps in
 * lists. */
#define MSG_ADAPTERS(X)                                                        \
    static inline int X##_dec_v(mls_reader *r, void *out)                      \
    {                                                                          \
        return mls_##X##_decode(r, (mls_##X *)out);                            \
    }                                                                          \
    static inline int X##_enc_v(const void *x, mls_buf *w)                     \
    {                                                                          \
        return mls_##X##_encode((const mls_##X *)x, w);                        \
    }                                                                          \
    static inline void X##_clr_v(void *x)                                      \
    {                                                                          \
        mls_##X##_clear((mls_##X *)x);                                         \
    }

/* MSG_GLUE(X), in the file that defines mls_X: the adapters, and the public
 * mls_X_decode_bytes and mls_X_copy, which are the same for every type. */
#define MSG_GLUE(X)                                                            \
    MSG_ADAPTERS(X)                                                            \
    int mls_##X##_decode_bytes(mls_bytes in, mls_##X *out)                     \
    {                                                                          \
        return msg_decode_bytes(in, out, X##_dec_v, X##_clr_v);                \
    }                                                                          \
    int mls_##X##_copy(mls_##X *dst, const mls_##X *src)                       \
    {                                                                          \
        return msg_copy(dst, sizeof(*dst), src, X##_enc_v, X##_dec_v);         \
    }

#endif
