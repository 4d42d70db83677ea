/* Client helpers: base64 strictness, fingerprints, names, UTF-8 checks and
 * sanitizing, the TLS vectors the client encodes itself. */
#include "mls/mls.h"
#include "test.h"
#include "util.h"

static void test_b64(void)
{
    static const char *const bad[] = {"A", "AA", "AAA", "AB==", "AAB=", "A===", "====", "AA=A",
                                      "AA AA", "AA\nA", "*AAA", "AAAA=", "QQ=="  "x"};
    mls_buf out;
    size_t i;
    char *t;

    mls_buf_init(&out);
    /* RFC 4648 §10 test vectors. */
    CHECK(cli_b64_decode("", &out) == 0 && out.n == 0);
    CHECK(cli_b64_decode("Zg==", &out) == 0 && out.n == 1 && memcmp(out.p, "f", 1) == 0);
    CHECK(cli_b64_decode("Zm8=", &out) == 0 && out.n == 2 && memcmp(out.p, "fo", 2) == 0);
    CHECK(cli_b64_decode("Zm9v", &out) == 0 && out.n == 3 && memcmp(out.p, "foo", 3) == 0);
    CHECK(cli_b64_decode("Zm9vYmFy", &out) == 0 && out.n == 6 && memcmp(out.p, "foobar", 6) == 0);
    t = cli_b64_encode((const uint8_t *)"fooba", 5);
    CHECK(t && strcmp(t, "Zm9vYmE=") == 0);
    free(t);
    t = cli_b64_encode(NULL, 0);
    CHECK(t && strcmp(t, "") == 0);
    free(t);
    /* Malformed or non-canonical texts change nothing. */
    CHECK(mls_buf_set(&out, "keep", 4) == MLS_OK);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(cli_b64_decode(bad[i], &out) == -1);
        CHECK(out.n == 4 && memcmp(out.p, "keep", 4) == 0);
    }
    /* Round trip over every byte value and length. */
    {
        uint8_t data[300];
        size_t n;
        for (i = 0; i < sizeof data; i++)
            data[i] = (uint8_t)(i * 7 + 3);
        for (n = 0; n < sizeof data; n += 37) {
            t = cli_b64_encode(data, n);
            CHECK(t && cli_b64_decode(t, &out) == 0 && out.n == n &&
                  memcmp(out.p, data, n) == 0);
            free(t);
        }
    }
    mls_buf_clear(&out);
}

static void test_fingerprint(void)
{
    char fp[CLI_FINGERPRINT_LEN + 1];
    /* SHA-256("") = e3b0c442 98fc1c14 ... */
    cli_fingerprint(mls_bytes_of(NULL, 0), fp);
    CHECK(strlen(fp) == CLI_FINGERPRINT_LEN);
    CHECK(strncmp(fp, "e3b0:c442:98fc:1c14:", 20) == 0);
}

static void test_names(void)
{
    char s[] = "Alice_1";
    CHECK(cli_valid_username("alice"));
    CHECK(cli_valid_username("a.b-c_d9"));
    CHECK(cli_valid_username("0day"));
    CHECK(!cli_valid_username(""));
    CHECK(!cli_valid_username("_alice"));
    CHECK(!cli_valid_username("Alice"));
    CHECK(!cli_valid_username("al ice"));
    CHECK(!cli_valid_username("abcdefghijabcdefghijabcdefghijabc")); /* 33 */
    CHECK(cli_valid_username("abcdefghijabcdefghijabcdefghijab"));   /* 32 */
    CHECK(cli_valid_groupname("lobby"));
    CHECK(!cli_valid_groupname("#lobby"));
    cli_lowercase(s);
    CHECK(strcmp(s, "alice_1") == 0);
}

static void test_utf8(void)
{
    char *t;
    CHECK(cli_text_printable("hello", 5));
    CHECK(cli_text_printable("h\xc3\xa9llo \xe2\x9c\x93", 10));
    CHECK(cli_text_printable("tab\there", 8));
    CHECK(!cli_text_printable("bell\a", 5));
    CHECK(!cli_text_printable("esc\x1b[2J", 7));
    CHECK(!cli_text_printable("\xc0\xaf", 2));         /* overlong */
    CHECK(!cli_text_printable("\xed\xa0\x80", 3));     /* surrogate */
    CHECK(!cli_text_printable("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    CHECK(!cli_text_printable("\xe2\x9c", 2));         /* truncated */
    CHECK(!cli_text_printable("\xc2\x9b", 2));         /* C1 CSI */
    t = cli_text_sanitize("a\x1b[2Jb\xff\xe2\x9c\x93", 10);
    CHECK(t && strcmp(t, "a^[[2Jb\xef\xbf\xbd\xe2\x9c\x93") == 0);
    free(t);
    t = cli_text_sanitize("x\0y", 3);
    CHECK(t && strcmp(t, "x^@y") == 0);
    free(t);
}

static void test_tls(void)
{
    mls_buf w;
    mls_bytes v;
    size_t off = 0, n;
    uint8_t big[300];
    static const uint8_t nonminimal[] = {0x40, 0x01, 0xaa};
    static const uint8_t prefix11[] = {0xc0, 0x00, 0x00, 0x00};

    memset(big, 0x5a, sizeof big);
    mls_buf_init(&w);
    CHECK(cli_tls_put_vec(&w, (const uint8_t *)"abc", 3) == 0);
    CHECK(cli_tls_put_vec(&w, big, sizeof big) == 0);
    CHECK(cli_tls_put_u16(&w, 0x0102) == 0);
    CHECK(cli_tls_put_u64(&w, 0x0102030405060708ull) == 0);
    CHECK(w.n == 1 + 3 + 2 + 300 + 2 + 8);
    CHECK(w.p[0] == 3 && w.p[4] == 0x41 && w.p[5] == 0x2c);
    CHECK(cli_tls_get_vec(mls_buf_view(&w), &off, &v) == 0 && v.n == 3 &&
          memcmp(v.p, "abc", 3) == 0);
    CHECK(cli_tls_get_vec(mls_buf_view(&w), &off, &v) == 0 && v.n == 300);
    CHECK(off == 306);
    /* Truncated at every length. */
    for (n = 0; n < 306; n++) {
        size_t o = 0;
        int r1 = cli_tls_get_vec(mls_bytes_of(w.p, n), &o, &v);
        if (r1 == 0)
            r1 = cli_tls_get_vec(mls_bytes_of(w.p, n), &o, &v);
        CHECK(r1 == -1);
    }
    /* RFC 9420 §2.1.2: non-minimal lengths and prefix 11 are malformed. */
    off = 0;
    CHECK(cli_tls_get_vec(mls_bytes_of(nonminimal, 3), &off, &v) == -1);
    off = 0;
    CHECK(cli_tls_get_vec(mls_bytes_of(prefix11, 4), &off, &v) == -1);
    mls_buf_clear(&w);
}

int main(void)
{
    test_b64();
    test_fingerprint();
    test_names();
    test_utf8();
    test_tls();
    TEST_MAIN_END("test_client_util");
}
