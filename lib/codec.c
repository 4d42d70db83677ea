/* RFC 9420 §2.1: presentation language codec. */
#include "codec.h"

#include <string.h>

void mls_reader_init(mls_reader *r, const uint8_t *p, size_t n)
{
    r->p = p;
    r->n = p ? n : 0;
    r->off = 0;
}

int mls_reader_done(const mls_reader *r)
{
    return r->off == r->n ? MLS_OK : MLS_ERR_TRAILING;
}

static int take(mls_reader *r, size_t n, const uint8_t **out)
{
    if (mls_reader_left(r) < n)
        return MLS_ERR_MALFORMED;
    *out = r->p + r->off;
    r->off += n;
    return MLS_OK;
}

int mls_read_u8(mls_reader *r, uint8_t *v)
{
    const uint8_t *p;
    int err = take(r, 1, &p);
    if (err)
        return err;
    *v = p[0];
    return MLS_OK;
}

int mls_read_u16(mls_reader *r, uint16_t *v)
{
    const uint8_t *p;
    int err = take(r, 2, &p);
    if (err)
        return err;
    *v = (uint16_t)((p[0] << 8) | p[1]);
    return MLS_OK;
}

int mls_read_u32(mls_reader *r, uint32_t *v)
{
    const uint8_t *p;
    int err = take(r, 4, &p);
    if (err)
        return err;
    *v = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    return MLS_OK;
}

int mls_read_u64(mls_reader *r, uint64_t *v)
{
    const uint8_t *p;
    int err = take(r, 8, &p);
    if (err)
        return err;
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x = (x << 8) | p[i];
    *v = x;
    return MLS_OK;
}

int mls_read_varint(mls_reader *r, uint32_t *v)
{
    /* RFC 9420 §2.1.2: the top two bits of the first byte give the length
     * (00: 1 byte, 01: 2, 10: 4); 11 is invalid.  The value must use the
     * shortest encoding. */
    if (mls_reader_left(r) < 1)
        return MLS_ERR_MALFORMED;
    uint8_t first = r->p[r->off];
    unsigned prefix = first >> 6;
    size_t len = prefix == 0 ? 1 : prefix == 1 ? 2 : prefix == 2 ? 4 : 0;
    if (len == 0 || mls_reader_left(r) < len)
        return MLS_ERR_MALFORMED;
    const uint8_t *p = r->p + r->off;
    uint32_t x = first & 0x3f;
    for (size_t i = 1; i < len; i++)
        x = (x << 8) | p[i];
    if (mls_varint_size(x) != len)
        return MLS_ERR_MALFORMED;
    r->off += len;
    *v = x;
    return MLS_OK;
}

int mls_read_fixed(mls_reader *r, size_t n, mls_bytes *out)
{
    const uint8_t *p;
    int err = take(r, n, &p);
    if (err)
        return err;
    out->p = p;
    out->n = n;
    return MLS_OK;
}

int mls_read_vec(mls_reader *r, mls_reader *sub)
{
    size_t save = r->off;
    uint32_t len;
    int err = mls_read_varint(r, &len);
    if (err)
        return err;
    if (mls_reader_left(r) < len) {
        r->off = save;
        return MLS_ERR_MALFORMED;
    }
    mls_reader_init(sub, r->p + r->off, len);
    r->off += len;
    return MLS_OK;
}

int mls_read_vec_bytes(mls_reader *r, mls_bytes *out)
{
    mls_reader sub;
    int err = mls_read_vec(r, &sub);
    if (err)
        return err;
    out->p = sub.p;
    out->n = sub.n;
    return MLS_OK;
}

int mls_read_vec_buf(mls_reader *r, mls_buf *out)
{
    mls_bytes b;
    size_t save = r->off;
    int err = mls_read_vec_bytes(r, &b);
    if (err)
        return err;
    err = mls_buf_set(out, b.p, b.n);
    if (err)
        r->off = save;
    return err;
}

int mls_read_optional(mls_reader *r, int *present)
{
    uint8_t b;
    size_t save = r->off;
    int err = mls_read_u8(r, &b);
    if (err)
        return err;
    if (b > 1) {
        r->off = save;
        return MLS_ERR_MALFORMED;
    }
    *present = b;
    return MLS_OK;
}

static int put_be(mls_buf *w, uint64_t v, size_t n)
{
    uint8_t tmp[8];
    for (size_t i = 0; i < n; i++)
        tmp[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    return mls_buf_append(w, tmp, n);
}

int mls_write_u8(mls_buf *w, uint8_t v) { return put_be(w, v, 1); }
int mls_write_u16(mls_buf *w, uint16_t v) { return put_be(w, v, 2); }
int mls_write_u32(mls_buf *w, uint32_t v) { return put_be(w, v, 4); }
int mls_write_u64(mls_buf *w, uint64_t v) { return put_be(w, v, 8); }

size_t mls_varint_size(size_t v)
{
    if (v < 0x40)
        return 1;
    if (v < 0x4000)
        return 2;
    if (v <= MLS_VARINT_MAX)
        return 4;
    return 0;
}

static void encode_varint(uint8_t *out, size_t v, size_t len)
{
    if (len == 1) {
        out[0] = (uint8_t)v;
    } else if (len == 2) {
        out[0] = (uint8_t)(0x40 | (v >> 8));
        out[1] = (uint8_t)v;
    } else {
        out[0] = (uint8_t)(0x80 | (v >> 24));
        out[1] = (uint8_t)(v >> 16);
        out[2] = (uint8_t)(v >> 8);
        out[3] = (uint8_t)v;
    }
}

int mls_write_varint(mls_buf *w, size_t v)
{
    size_t len = mls_varint_size(v);
    uint8_t tmp[4];
    if (len == 0)
        return MLS_ERR_TOO_LARGE;
    encode_varint(tmp, v, len);
    return mls_buf_append(w, tmp, len);
}

int mls_write_fixed(mls_buf *w, const uint8_t *p, size_t n)
{
    return mls_buf_append(w, p, n);
}

int mls_write_vec(mls_buf *w, const uint8_t *p, size_t n)
{
    int err = mls_write_varint(w, n);
    if (err)
        return err;
    return mls_buf_append(w, p, n);
}

int mls_write_vec_begin(mls_buf *w, size_t *mark)
{
    /* Reserve one byte; most vectors are short. */
    int err = mls_buf_append(w, "", 1);
    if (err)
        return err;
    *mark = w->n;
    return MLS_OK;
}

int mls_write_vec_end(mls_buf *w, size_t mark)
{
    size_t body = w->n - mark;
    size_t len = mls_varint_size(body);
    if (len == 0)
        return MLS_ERR_TOO_LARGE;
    if (len > 1) {
        int err = mls_buf_reserve(w, len - 1);
        if (err)
            return err;
        memmove(w->p + mark + len - 1, w->p + mark, body);
        w->n += len - 1;
    }
    encode_varint(w->p + mark - 1, body, len);
    return MLS_OK;
}
