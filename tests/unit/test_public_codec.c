/* The public codec (include/mls/codec.h): round trips, minimal varints,
 * strict sub-readers, underflow, optional presence bytes.  Public headers
 * only. */
#include "mls/codec.h"
#include "test.h"

#include <string.h>

static int same(mls_bytes a, const void *p, size_t n)
{
    return a.n == n && (n == 0 || memcmp(a.p, p, n) == 0);
}

/* struct { uint8 a; uint16 b; uint32 c; uint64 d; opaque e<V>;
 *          opaque names<V><V>; optional<uint8> f; } */
static void test_roundtrip(void)
{
    mls_buf w;
    size_t mark;
    mls_tls_reader r, names;
    uint8_t a, f;
    uint16_t b;
    uint32_t c;
    uint64_t d;
    mls_bytes e, name, fixed;
    int present;
    static const uint8_t want[] = {
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
        0x03, 'a', 'b', 'c',                   /* e<V> */
        0x07, 0x02, 'h', 'i', 0x03, 'y', 'o', 'u', /* names<V><V> */
        0x01, 0x2a,                            /* optional present, 42 */
        0xde, 0xad};                           /* fixed[2] */

    mls_buf_init(&w);
    CHECK_OK(mls_tls_write_u8(&w, 0x01));
    CHECK_OK(mls_tls_write_u16(&w, 0x0203));
    CHECK_OK(mls_tls_write_u32(&w, 0x04050607));
    CHECK_OK(mls_tls_write_u64(&w, 0x08090a0b0c0d0e0fULL));
    CHECK_OK(mls_tls_write_opaque(&w, mls_bytes_of((const uint8_t *)"abc", 3)));
    CHECK_OK(mls_tls_write_vector_begin(&w, &mark));
    CHECK_OK(mls_tls_write_opaque(&w, mls_bytes_of((const uint8_t *)"hi", 2)));
    CHECK_OK(mls_tls_write_opaque(&w, mls_bytes_of((const uint8_t *)"you", 3)));
    CHECK_OK(mls_tls_write_vector_end(&w, mark));
    CHECK_OK(mls_tls_write_u8(&w, 1));
    CHECK_OK(mls_tls_write_u8(&w, 42));
    CHECK_OK(mls_tls_write_fixed(&w, mls_bytes_of((const uint8_t *)"\xde\xad", 2)));
    CHECK(w.n == sizeof want && memcmp(w.p, want, w.n) == 0);

    mls_tls_reader_init(&r, mls_buf_view(&w));
    CHECK_OK(mls_tls_read_u8(&r, &a));
    CHECK_OK(mls_tls_read_u16(&r, &b));
    CHECK_OK(mls_tls_read_u32(&r, &c));
    CHECK_OK(mls_tls_read_u64(&r, &d));
    CHECK(a == 1 && b == 0x0203 && c == 0x04050607 && d == 0x08090a0b0c0d0e0fULL);
    CHECK_OK(mls_tls_read_opaque(&r, &e));
    CHECK(same(e, "abc", 3));
    CHECK_OK(mls_tls_read_vector(&r, &names));
    CHECK(mls_tls_reader_left(&names) == 7);
    CHECK_OK(mls_tls_read_opaque(&names, &name));
    CHECK(same(name, "hi", 2));
    /* The sub-reader is not consumed yet. */
    CHECK_ERR(mls_tls_reader_done(&names), MLS_ERR_TRAILING);
    CHECK_OK(mls_tls_read_opaque(&names, &name));
    CHECK(same(name, "you", 3));
    CHECK_OK(mls_tls_reader_done(&names));
    /* Reading past the end of a sub-reader fails even though the outer
     * reader has more bytes. */
    CHECK_ERR(mls_tls_read_u8(&names, &a), MLS_ERR_MALFORMED);
    CHECK_OK(mls_tls_read_optional(&r, &present));
    CHECK(present == 1);
    CHECK_OK(mls_tls_read_u8(&r, &f));
    CHECK(f == 42);
    CHECK_ERR(mls_tls_reader_done(&r), MLS_ERR_TRAILING);
    CHECK_OK(mls_tls_read_fixed(&r, 2, &fixed));
    CHECK(same(fixed, "\xde\xad", 2));
    CHECK_OK(mls_tls_reader_done(&r));
    /* Underflow leaves the reader where it was. */
    CHECK_ERR(mls_tls_read_u16(&r, &b), MLS_ERR_MALFORMED);
    CHECK(mls_tls_reader_left(&r) == 0);
    mls_buf_clear(&w);
}

/* RFC 9420 §2.1.2: the length prefix is the minimal varint; 64 bytes
 * need two bytes; non-minimal or prefix 11 is malformed. */
static void test_varint_rules(void)
{
    uint8_t body[64];
    mls_buf w;
    mls_tls_reader r;
    mls_bytes out;
    int present;

    memset(body, 7, sizeof body);
    mls_buf_init(&w);
    CHECK_OK(mls_tls_write_opaque(&w, mls_bytes_of(body, 63)));
    CHECK(w.n == 64 && w.p[0] == 63);
    mls_buf_reset(&w);
    CHECK_OK(mls_tls_write_opaque(&w, mls_bytes_of(body, 64)));
    CHECK(w.n == 66 && w.p[0] == 0x40 && w.p[1] == 64);
    mls_tls_reader_init(&r, mls_buf_view(&w));
    CHECK_OK(mls_tls_read_opaque(&r, &out));
    CHECK(out.n == 64);
    CHECK_OK(mls_tls_reader_done(&r));
    /* A vector whose body grows past 63 bytes moves its body. */
    {
        size_t mark;
        mls_buf_reset(&w);
        CHECK_OK(mls_tls_write_vector_begin(&w, &mark));
        for (int i = 0; i < 40; i++)
            CHECK_OK(mls_tls_write_u16(&w, (uint16_t)i));
        CHECK_OK(mls_tls_write_vector_end(&w, mark));
        CHECK(w.n == 82 && w.p[0] == 0x40 && w.p[1] == 80 && w.p[2] == 0 && w.p[81] == 39);
    }
    mls_buf_clear(&w);

    {
        static const uint8_t non_minimal[] = {0x40, 0x01, 0xaa};
        static const uint8_t prefix11[] = {0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01};
        static const uint8_t too_long[] = {0x05, 0x01, 0x02};
        static const uint8_t bad_optional[] = {0x02};
        mls_tls_reader_init(&r, mls_bytes_of(non_minimal, sizeof non_minimal));
        CHECK_ERR(mls_tls_read_opaque(&r, &out), MLS_ERR_MALFORMED);
        mls_tls_reader_init(&r, mls_bytes_of(prefix11, sizeof prefix11));
        CHECK_ERR(mls_tls_read_opaque(&r, &out), MLS_ERR_MALFORMED);
        mls_tls_reader_init(&r, mls_bytes_of(too_long, sizeof too_long));
        CHECK_ERR(mls_tls_read_opaque(&r, &out), MLS_ERR_MALFORMED);
        CHECK(mls_tls_reader_left(&r) == 3); /* nothing consumed */
        mls_tls_reader_init(&r, mls_bytes_of(bad_optional, 1));
        CHECK_ERR(mls_tls_read_optional(&r, &present), MLS_ERR_MALFORMED);
    }
    /* An empty reader. */
    mls_tls_reader_init(&r, mls_bytes_of(NULL, 0));
    CHECK_OK(mls_tls_reader_done(&r));
    CHECK_ERR(mls_tls_read_fixed(&r, 1, &out), MLS_ERR_MALFORMED);
}

int main(void)
{
    test_roundtrip();
    test_varint_rules();
    TEST_MAIN_END("test_public_codec");
}
