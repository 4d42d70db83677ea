/* The public codec (include/mls/codec.h): thin wrappers over the library's
 * own strict codec (lib/codec.h), so applications get exactly its rules. */
#include "mls/codec.h"

#include "codec.h"

/* The two reader structs have the same fields; the internal one is used
 * through a copy so neither layout depends on the other. */
static mls_reader to_internal(const mls_tls_reader *r)
{
    mls_reader in;
    in.p = r->p;
    in.n = r->n;
    in.off = r->off;
    return in;
}

static mls_tls_reader to_public(const mls_reader *in)
{
    mls_tls_reader r;
    r.p = in->p;
    r.n = in->n;
    r.off = in->off;
    return r;
}

void mls_tls_reader_init(mls_tls_reader *r, mls_bytes in)
{
    r->p = in.p;
    r->n = in.p ? in.n : 0;
    r->off = 0;
}

size_t mls_tls_reader_left(const mls_tls_reader *r)
{
    return r->n - r->off;
}

int mls_tls_reader_done(const mls_tls_reader *r)
{
    mls_reader in = to_internal(r);
    return mls_reader_done(&in);
}

/* Runs one internal read and advances the public reader on success. */
#define READ_VIA(r, call)                                                      \
    do {                                                                       \
        mls_reader in_ = to_internal(r);                                       \
        int err_ = (call);                                                     \
        if (!err_)                                                             \
            (r)->off = in_.off;                                                \
        return err_;                                                           \
    } while (0)

int mls_tls_read_u8(mls_tls_reader *r, uint8_t *v)
{
    READ_VIA(r, mls_read_u8(&in_, v));
}

int mls_tls_read_u16(mls_tls_reader *r, uint16_t *v)
{
    READ_VIA(r, mls_read_u16(&in_, v));
}

int mls_tls_read_u32(mls_tls_reader *r, uint32_t *v)
{
    READ_VIA(r, mls_read_u32(&in_, v));
}

int mls_tls_read_u64(mls_tls_reader *r, uint64_t *v)
{
    READ_VIA(r, mls_read_u64(&in_, v));
}

int mls_tls_read_fixed(mls_tls_reader *r, size_t n, mls_bytes *out)
{
    READ_VIA(r, mls_read_fixed(&in_, n, out));
}

int mls_tls_read_opaque(mls_tls_reader *r, mls_bytes *out)
{
    READ_VIA(r, mls_read_vec_bytes(&in_, out));
}

int mls_tls_read_optional(mls_tls_reader *r, int *present)
{
    READ_VIA(r, mls_read_optional(&in_, present));
}

int mls_tls_read_vector(mls_tls_reader *r, mls_tls_reader *sub)
{
    mls_reader in = to_internal(r);
    mls_reader s;
    int err = mls_read_vec(&in, &s);
    if (!err) {
        r->off = in.off;
        *sub = to_public(&s);
    }
    return err;
}

int mls_tls_write_u8(mls_buf *w, uint8_t v)
{
    return mls_write_u8(w, v);
}

int mls_tls_write_u16(mls_buf *w, uint16_t v)
{
    return mls_write_u16(w, v);
}

int mls_tls_write_u32(mls_buf *w, uint32_t v)
{
    return mls_write_u32(w, v);
}

int mls_tls_write_u64(mls_buf *w, uint64_t v)
{
    return mls_write_u64(w, v);
}

int mls_tls_write_fixed(mls_buf *w, mls_bytes b)
{
    return mls_write_fixed(w, b.p, b.n);
}

int mls_tls_write_opaque(mls_buf *w, mls_bytes b)
{
    return mls_write_vec(w, b.p, b.n);
}

int mls_tls_write_vector_begin(mls_buf *w, size_t *mark)
{
    return mls_write_vec_begin(w, mark);
}

int mls_tls_write_vector_end(mls_buf *w, size_t mark)
{
    return mls_write_vec_end(w, mark);
}
