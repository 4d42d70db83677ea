/*
 * deserialization.json (test-vectors.md "Vector Deserialization"): each
 * vlbytes_header is the RFC 9420 §2.1.2 variable-length header of a vector;
 * it must decode, as a whole, to `length`, and `length` must encode back to
 * exactly the header bytes (minimal encoding).
 */
#include "codec.h"
#include "vec.h"

int vec_deserialization(json_t *entry)
{
    mls_buf header, enc;
    uint64_t want;
    uint32_t got;
    mls_reader r;
    int rc = -1;

    mls_buf_init(&header);
    mls_buf_init(&enc);
    if (vec_hex(entry, "vlbytes_header", &header) || vec_uint(entry, "length", &want))
        goto out;
    mls_reader_init(&r, header.p, header.n);
    if (mls_read_varint(&r, &got) || mls_reader_done(&r)) {
        vec_fail("vlbytes_header does not decode as one varint");
        goto out;
    }
    if (got != want) {
        vec_fail("decoded length %u, want %llu", (unsigned)got, (unsigned long long)want);
        goto out;
    }
    if (mls_write_varint(&enc, (size_t)want)) {
        vec_fail("length does not encode");
        goto out;
    }
    rc = vec_expect_bytes("encoded header", mls_buf_view(&header), mls_buf_view(&enc));
out:
    mls_buf_clear(&header);
    mls_buf_clear(&enc);
    return rc;
}
