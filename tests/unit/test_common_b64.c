/* Unit tests for src/common/b64.c: strict base64 (RFC 4648 §4). */
#include "b64.h"
#include "test.h"

static int decode_str(const char *t, mls_buf *out)
{
    mls_buf_reset(out);
    return chat_b64_decode(t, strlen(t), out);
}

static void test_vectors(void)
{
    /* RFC 4648 §10 */
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                      "Zm9vYmFy"};
    mls_buf b;
    mls_buf_init(&b);
    for (size_t i = 0; i < 7; i++) {
        char *t = chat_b64_encode((const uint8_t *)plain[i], strlen(plain[i]));
        CHECK(t && strcmp(t, enc[i]) == 0);
        free(t);
        CHECK_OK(decode_str(enc[i], &b));
        CHECK(b.n == strlen(plain[i]) && (b.n == 0 || memcmp(b.p, plain[i], b.n) == 0));
    }
    /* Every byte value and the two last alphabet characters. */
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    char *t = chat_b64_encode(all, sizeof all);
    CHECK(t && strlen(t) == 344 && strchr(t, '+') && strchr(t, '/'));
    mls_buf_reset(&b);
    CHECK_OK(chat_b64_decode(t, strlen(t), &b));
    CHECK(b.n == 256 && memcmp(b.p, all, 256) == 0);
    free(t);
    mls_buf_clear(&b);
}

static void test_round_trip(void)
{
    uint8_t data[100];
    mls_buf b;
    mls_buf_init(&b);
    srand(7);
    for (size_t n = 0; n <= sizeof data; n++) {
        for (size_t i = 0; i < n; i++)
            data[i] = (uint8_t)rand();
        char *t = chat_b64_encode(data, n);
        CHECK(t != NULL && strlen(t) == (n + 2) / 3 * 4);
        mls_buf_reset(&b);
        CHECK_OK(chat_b64_decode(t, strlen(t), &b));
        CHECK(b.n == n && (n == 0 || memcmp(b.p, data, n) == 0));
        free(t);
    }
    mls_buf_clear(&b);
}

static void test_rejects(void)
{
    static const char *const bad[] = {
        "Zg",        /* missing padding */
        "Zg=",       /* length not a multiple of 4 */
        "Zg===",     /* too much padding */
        "Z===",      /* three padding characters */
        "====",      /* only padding */
        "Zg==Zg==",  /* padding in the middle */
        "Zm=v",      /* '=' before a data character */
        "Zh==",      /* non-zero bits under the padding */
        "Zm9=",      /* non-zero bits under the padding */
        "Zm9v\n",    /* whitespace */
        " Zm9",      /* whitespace */
        "Zm-_",      /* URL-safe alphabet */
        "Zm9*",      /* outside the alphabet */
        "Zm\x80v",   /* non-ASCII */
    };
    mls_buf b;
    mls_buf_init(&b);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_ERR(decode_str(bad[i], &b), MLS_ERR_MALFORMED);
    /* An embedded NUL is outside the alphabet. */
    mls_buf_reset(&b);
    CHECK_ERR(chat_b64_decode("Zm\0v", 4, &b), MLS_ERR_MALFORMED);
    /* Length-bounded: bytes after len are not read. */
    mls_buf_reset(&b);
    CHECK_OK(chat_b64_decode("Zm9v!!!!", 4, &b));
    CHECK(b.n == 3 && memcmp(b.p, "foo", 3) == 0);
    mls_buf_clear(&b);
}

int main(void)
{
    test_vectors();
    test_round_trip();
    test_rejects();
    TEST_MAIN_END("test_common_b64");
}
