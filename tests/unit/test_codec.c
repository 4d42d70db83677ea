/* Unit tests for lib/codec.c: the RFC 9420 §2.1 reader and writer. */
#include "codec.h"
#include "test.h"

static int read_varint_hex(const char *hex, uint32_t *v, size_t *used)
{
    unsigned char *p;
    size_t n = test_unhex(hex, &p);
    mls_reader r;
    mls_reader_init(&r, p, n);
    int err = mls_read_varint(&r, v);
    *used = r.off;
    free(p);
    return err;
}

static void test_varint_decode(void)
{
    uint32_t v = 0;
    size_t used = 0;

    CHECK_OK(read_varint_hex("00", &v, &used));
    CHECK(v == 0 && used == 1);
    CHECK_OK(read_varint_hex("3f", &v, &used));
    CHECK(v == 63 && used == 1);
    CHECK_OK(read_varint_hex("4040", &v, &used));
    CHECK(v == 64 && used == 2);
    CHECK_OK(read_varint_hex("7fff", &v, &used));
    CHECK(v == 16383 && used == 2);
    CHECK_OK(read_varint_hex("80004000", &v, &used));
    CHECK(v == 16384 && used == 4);
    CHECK_OK(read_varint_hex("bfffffff", &v, &used));
    CHECK(v == 0x3fffffff && used == 4);

    /* §2.1.2: prefix 11 is invalid */
    CHECK_ERR(read_varint_hex("c0000000", &v, &used), MLS_ERR_MALFORMED);
    CHECK_ERR(read_varint_hex("ffffffffffffffff", &v, &used), MLS_ERR_MALFORMED);
    CHECK(used == 0);
    /* non-minimal encodings */
    CHECK_ERR(read_varint_hex("4000", &v, &used), MLS_ERR_MALFORMED);
    CHECK_ERR(read_varint_hex("403f", &v, &used), MLS_ERR_MALFORMED);
    CHECK_ERR(read_varint_hex("80000000", &v, &used), MLS_ERR_MALFORMED);
    CHECK_ERR(read_varint_hex("80003fff", &v, &used), MLS_ERR_MALFORMED);
    /* truncated */
    CHECK_ERR(read_varint_hex("", &v, &used), MLS_ERR_MALFORMED);
    CHECK_ERR(read_varint_hex("40", &v, &used), MLS_ERR_MALFORMED);
    CHECK_ERR(read_varint_hex("800040", &v, &used), MLS_ERR_MALFORMED);
    CHECK(used == 0);
}

static void test_varint_encode(void)
{
    static const struct {
        size_t v;
        const char *hex;
    } cases[] = {{0, "00"},          {63, "3f"},          {64, "4040"},
                 {16383, "7fff"},    {16384, "80004000"}, {0x3fffffff, "bfffffff"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mls_buf w;
        unsigned char *want;
        size_t n = test_unhex(cases[i].hex, &want);
        mls_buf_init(&w);
        CHECK_OK(mls_write_varint(&w, cases[i].v));
        CHECK(w.n == n && memcmp(w.p, want, n) == 0);
        CHECK(mls_varint_size(cases[i].v) == n);
        mls_buf_clear(&w);
        free(want);
    }
    mls_buf w;
    mls_buf_init(&w);
    CHECK_ERR(mls_write_varint(&w, 0x40000000), MLS_ERR_TOO_LARGE);
    CHECK(w.n == 0);
    CHECK(mls_varint_size(0x40000000) == 0);
    mls_buf_clear(&w);
}

static void test_fixed_ints(void)
{
    static const uint8_t in[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    mls_reader r;
    uint8_t a;
    uint16_t b;
    uint32_t c;
    uint64_t d;

    mls_reader_init(&r, in, sizeof(in));
    CHECK_OK(mls_read_u8(&r, &a));
    CHECK_OK(mls_read_u16(&r, &b));
    CHECK_OK(mls_read_u32(&r, &c));
    CHECK_OK(mls_read_u64(&r, &d));
    CHECK(a == 1 && b == 0x0203 && c == 0x04050607u && d == 0x08090a0b0c0d0e0fULL);
    CHECK_OK(mls_reader_done(&r));
    CHECK_ERR(mls_read_u8(&r, &a), MLS_ERR_MALFORMED);

    mls_reader_init(&r, in, 7);
    CHECK_ERR(mls_read_u64(&r, &d), MLS_ERR_MALFORMED);
    CHECK(r.off == 0);
    CHECK_ERR(mls_reader_done(&r), MLS_ERR_TRAILING);

    mls_buf w;
    mls_buf_init(&w);
    CHECK_OK(mls_write_u8(&w, 1));
    CHECK_OK(mls_write_u16(&w, 0x0203));
    CHECK_OK(mls_write_u32(&w, 0x04050607u));
    CHECK_OK(mls_write_u64(&w, 0x08090a0b0c0d0e0fULL));
    CHECK(w.n == sizeof(in) && memcmp(w.p, in, sizeof(in)) == 0);
    mls_buf_clear(&w);
}

static void test_optional(void)
{
    static const uint8_t in[] = {0, 1, 2};
    mls_reader r;
    int present = -1;

    mls_reader_init(&r, in, sizeof(in));
    CHECK_OK(mls_read_optional(&r, &present));
    CHECK(present == 0);
    CHECK_OK(mls_read_optional(&r, &present));
    CHECK(present == 1);
    /* §2.1.1: a presence byte other than 0 or 1 is malformed */
    present = -1;
    CHECK_ERR(mls_read_optional(&r, &present), MLS_ERR_MALFORMED);
    CHECK(present == -1 && r.off == 2);
    mls_reader_init(&r, in, 0);
    CHECK_ERR(mls_read_optional(&r, &present), MLS_ERR_MALFORMED);
}

static void test_nested_vectors(void)
{
    /* outer<V> = { inner<V> = {aa bb}, cc }: the sub-reader of outer has
     * one trailing byte after inner. */
    static const uint8_t in[] = {0x04, 0x02, 0xaa, 0xbb, 0xcc};
    mls_reader r, outer, inner;
    mls_bytes b;

    mls_reader_init(&r, in, sizeof(in));
    CHECK_OK(mls_read_vec(&r, &outer));
    CHECK_OK(mls_reader_done(&r));
    CHECK_OK(mls_read_vec(&outer, &inner));
    CHECK(inner.n == 2 && inner.p[0] == 0xaa);
    CHECK_ERR(mls_reader_done(&outer), MLS_ERR_TRAILING);

    /* a length beyond the input is malformed and consumes nothing */
    static const uint8_t longer[] = {0x05, 1, 2, 3, 4};
    mls_reader_init(&r, longer, sizeof(longer));
    CHECK_ERR(mls_read_vec(&r, &outer), MLS_ERR_MALFORMED);
    CHECK(r.off == 0);
    CHECK_ERR(mls_read_vec_bytes(&r, &b), MLS_ERR_MALFORMED);
    static const uint8_t huge[] = {0xbf, 0xff, 0xff, 0xff, 0};
    mls_reader_init(&r, huge, sizeof(huge));
    CHECK_ERR(mls_read_vec(&r, &outer), MLS_ERR_MALFORMED);
    CHECK(r.off == 0);

    /* a non-minimal length prefix is malformed */
    static const uint8_t nonmin[] = {0x40, 0x01, 0xaa};
    mls_reader_init(&r, nonmin, sizeof(nonmin));
    CHECK_ERR(mls_read_vec(&r, &outer), MLS_ERR_MALFORMED);

    /* read_vec_buf copies */
    mls_buf copy;
    mls_buf_init(&copy);
    mls_reader_init(&r, in + 1, 3);
    CHECK_OK(mls_read_vec_buf(&r, &copy));
    CHECK(copy.n == 2 && copy.p != in + 2 && copy.p[1] == 0xbb);
    mls_buf_clear(&copy);
}

static void test_write_vec_begin_end(void)
{
    static const size_t sizes[] = {0, 63, 64, 16383, 16384, 20000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i], mark;
        uint8_t *body = malloc(n ? n : 1);
        for (size_t j = 0; j < n; j++)
            body[j] = (uint8_t)(j * 7 + 1);
        mls_buf w, direct;
        mls_buf_init(&w);
        mls_buf_init(&direct);
        CHECK_OK(mls_write_u8(&w, 0xee)); /* something before the vector */
        CHECK_OK(mls_write_vec_begin(&w, &mark));
        CHECK_OK(mls_write_fixed(&w, body, n));
        CHECK_OK(mls_write_vec_end(&w, mark));
        CHECK_OK(mls_write_u8(&w, 0xdd)); /* and after it */

        CHECK_OK(mls_write_u8(&direct, 0xee));
        CHECK_OK(mls_write_vec(&direct, body, n));
        CHECK_OK(mls_write_u8(&direct, 0xdd));
        CHECK(w.n == direct.n && memcmp(w.p, direct.p, w.n) == 0);
        CHECK(w.n == 2 + mls_varint_size(n) + n);

        mls_reader r;
        mls_bytes got;
        uint8_t b;
        mls_reader_init(&r, w.p, w.n);
        CHECK_OK(mls_read_u8(&r, &b));
        CHECK_OK(mls_read_vec_bytes(&r, &got));
        CHECK(got.n == n && (n == 0 || memcmp(got.p, body, n) == 0));
        CHECK_OK(mls_read_u8(&r, &b));
        CHECK(b == 0xdd);
        CHECK_OK(mls_reader_done(&r));
        mls_buf_clear(&w);
        mls_buf_clear(&direct);
        free(body);
    }

    /* nested begin/end where the inner vector grows past one length byte */
    mls_buf w;
    size_t outer, inner;
    mls_buf_init(&w);
    CHECK_OK(mls_write_vec_begin(&w, &outer));
    CHECK_OK(mls_write_vec_begin(&w, &inner));
    for (int i = 0; i < 100; i++)
        CHECK_OK(mls_write_u8(&w, (uint8_t)i));
    CHECK_OK(mls_write_vec_end(&w, inner));
    CHECK_OK(mls_write_vec_end(&w, outer));
    CHECK(w.n == 2 + 2 + 100);
    CHECK(w.p[0] == 0x40 && w.p[1] == 102 && w.p[2] == 0x40 && w.p[3] == 100 && w.p[4] == 0);
    mls_buf_clear(&w);
}

int main(void)
{
    test_varint_decode();
    test_varint_encode();
    test_fixed_ints();
    test_optional();
    test_nested_vectors();
    test_write_vec_begin_end();
    TEST_MAIN_END("test_codec");
}
