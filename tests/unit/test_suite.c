/*
 * Cipher suite primitives: the suite table, hash, HKDF (RFC 5869), AEAD and
 * the signature schemes of all seven suites (RFC 9420 §5.1).  mls_buf and
 * the codec are tested in their own files.
 */
#include "suite.h"
#include "test.h"

/* A random source that returns the byte pattern[k] repeated on its k-th
 * call (the last pattern from then on), so keygen is reproducible and
 * rejection sampling can be exercised. */
struct pattern_rng {
    const uint8_t *pattern;
    size_t n, calls;
};

static int pattern_random(void *ctx, uint8_t *out, size_t n)
{
    struct pattern_rng *r = ctx;
    size_t k = r->calls < r->n ? r->calls : r->n - 1;
    memset(out, r->pattern[k], n);
    r->calls++;
    return 0;
}

static int is_ecdsa(const mls_suite *s)
{
    return s->sig == MLS_SIG_P256 || s->sig == MLS_SIG_P384 || s->sig == MLS_SIG_P521;
}

static size_t sig_sk_len(const mls_suite *s)
{
    switch (s->sig) {
    case MLS_SIG_ED25519:
    case MLS_SIG_P256:
        return 32;
    case MLS_SIG_ED448:
        return 57;
    case MLS_SIG_P384:
        return 48;
    case MLS_SIG_P521:
        return 66;
    }
    return 0;
}

static void test_suite_table(void)
{
    CHECK(mls_suite_get(0) == NULL);
    CHECK(mls_suite_get(8) == NULL);
    CHECK(mls_suite_get(0xffff) == NULL);
    for (uint16_t id = 1; id <= 7; id++) {
        const mls_suite *s = mls_suite_get(id);
        CHECK(s != NULL && s->id == id);
        if (!s)
            continue;
        CHECK(s->nh <= MLS_MAX_HASH && s->nk <= MLS_MAX_AEAD_KEY && s->nn <= MLS_MAX_AEAD_NONCE);
        CHECK(s->kem_npk <= MLS_MAX_KEM_PK && s->kem_nsk <= MLS_MAX_KEM_SK);
        CHECK(s->kem_nsecret <= MLS_MAX_KEM_SECRET && s->sig_npk <= MLS_MAX_SIG_PK);
    }
}

static void test_hash(void)
{
    static const struct {
        uint16_t suite;
        const char *digest;
    } abc[] = {
        {1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {7, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358b"
            "aeca134c825a7"},
        {4, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a83"
            "6ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
    };
    for (size_t i = 0; i < sizeof(abc) / sizeof(abc[0]); i++) {
        const mls_suite *s = mls_suite_get(abc[i].suite);
        uint8_t out[MLS_MAX_HASH];
        mls_bytes parts[3] = {mls_bytes_of((const uint8_t *)"a", 1), mls_bytes_of(NULL, 0),
                              mls_bytes_of((const uint8_t *)"bc", 2)};
        CHECK_OK(mls_hash(s, mls_bytes_of((const uint8_t *)"abc", 3), out));
        CHECK(test_eq_hex(mls_bytes_of(out, s->nh), abc[i].digest));
        memset(out, 0, sizeof(out));
        CHECK_OK(mls_hash_parts(s, parts, 3, out));
        CHECK(test_eq_hex(mls_bytes_of(out, s->nh), abc[i].digest));
    }
}

static void test_hkdf(void)
{
    const mls_suite *s = mls_suite_get(MLS_SUITE_X25519_AES128GCM_SHA256_ED25519);
    uint8_t prk[MLS_MAX_HASH], okm[42];
    mls_buf ikm = test_hexbuf("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
    mls_buf salt = test_hexbuf("000102030405060708090a0b0c");
    mls_buf info = test_hexbuf("f0f1f2f3f4f5f6f7f8f9");

    /* RFC 5869 A.1, test case 1. */
    CHECK_OK(mls_hkdf_extract(s, mls_buf_view(&salt), mls_buf_view(&ikm), prk));
    CHECK(test_eq_hex(mls_bytes_of(prk, 32),
                      "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"));
    CHECK_OK(mls_hkdf_expand(s, mls_bytes_of(prk, 32), mls_buf_view(&info), okm, sizeof(okm)));
    CHECK(test_eq_hex(mls_bytes_of(okm, 42),
                      "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ec"
                      "c4c5bf34007208d5b887185865"));

    /* RFC 5869 A.3, test case 3: empty salt and info. */
    CHECK_OK(mls_hkdf_extract(s, mls_bytes_of(NULL, 0), mls_buf_view(&ikm), prk));
    CHECK(test_eq_hex(mls_bytes_of(prk, 32),
                      "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04"));
    CHECK_OK(mls_hkdf_expand(s, mls_bytes_of(prk, 32), mls_bytes_of(NULL, 0), okm, sizeof(okm)));
    CHECK(test_eq_hex(mls_bytes_of(okm, 42),
                      "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c"
                      "738d2d9d201395faa4b61a96c8"));

    /* Expanding a secret in place gives the same bytes. */
    {
        uint8_t buf[64];
        memcpy(buf, prk, 32);
        CHECK_OK(mls_hkdf_expand(s, mls_bytes_of(buf, 32), mls_bytes_of(NULL, 0), buf, 42));
        CHECK(memcmp(buf, okm, 42) == 0);
    }

    /* L is at most 255 * HashLen; L = 0 is a no-op. */
    CHECK_ERR(mls_hkdf_expand(s, mls_bytes_of(prk, 32), mls_bytes_of(NULL, 0), NULL,
                              255 * 32 + 1),
              MLS_ERR_ARG);
    CHECK_OK(mls_hkdf_expand(s, mls_bytes_of(prk, 32), mls_bytes_of(NULL, 0), NULL, 0));

    mls_buf_clear(&ikm);
    mls_buf_clear(&salt);
    mls_buf_clear(&info);
}

static void test_aead(const mls_suite *s)
{
    static const uint8_t msg[] = "attack at dawn";
    uint8_t key[MLS_MAX_AEAD_KEY], nonce[MLS_MAX_AEAD_NONCE];
    const mls_bytes aad = mls_bytes_of((const uint8_t *)"header", 6);
    mls_buf ct, pt, bad;
    mls_buf_init(&ct);
    mls_buf_init(&pt);
    mls_buf_init(&bad);
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(i * 7 + s->id);
    for (size_t i = 0; i < sizeof(nonce); i++)
        nonce[i] = (uint8_t)(0xa0 + i);
    mls_bytes k = mls_bytes_of(key, s->nk), n = mls_bytes_of(nonce, s->nn);

    /* seal appends: a prefix in the buffer stays. */
    CHECK_OK(mls_buf_append(&ct, "PFX", 3));
    CHECK_OK(mls_aead_seal(s, k, n, aad, mls_bytes_of(msg, sizeof(msg)), &ct));
    CHECK(ct.n == 3 + sizeof(msg) + MLS_AEAD_TAG && memcmp(ct.p, "PFX", 3) == 0);
    mls_bytes c = mls_bytes_of(ct.p + 3, ct.n - 3);
    CHECK_OK(mls_aead_open(s, k, n, aad, c, &pt));
    CHECK(pt.n == sizeof(msg) && memcmp(pt.p, msg, sizeof(msg)) == 0);

    /* Every flipped bit position of the first and last byte, aad, key and
     * nonce is detected, and nothing is appended. */
    for (size_t pos = 0; pos < c.n; pos += c.n - 1) {
        for (int bit = 0; bit < 8; bit++) {
            CHECK_OK(mls_buf_set(&bad, c.p, c.n));
            bad.p[pos] ^= (uint8_t)(1u << bit);
            mls_buf_reset(&pt);
            CHECK_ERR(mls_aead_open(s, k, n, aad, mls_buf_view(&bad), &pt), MLS_ERR_DECRYPT);
            CHECK(pt.n == 0);
        }
    }
    CHECK_ERR(mls_aead_open(s, k, n, mls_bytes_of(aad.p, 5), c, &pt), MLS_ERR_DECRYPT);
    CHECK_ERR(mls_aead_open(s, k, n, mls_bytes_of(NULL, 0), c, &pt), MLS_ERR_DECRYPT);
    key[0] ^= 1;
    CHECK_ERR(mls_aead_open(s, k, n, aad, c, &pt), MLS_ERR_DECRYPT);
    key[0] ^= 1;
    nonce[s->nn - 1] ^= 1;
    CHECK_ERR(mls_aead_open(s, k, n, aad, c, &pt), MLS_ERR_DECRYPT);
    nonce[s->nn - 1] ^= 1;
    /* Truncated: one byte short, shorter than the tag, empty. */
    CHECK_ERR(mls_aead_open(s, k, n, aad, mls_bytes_of(c.p, c.n - 1), &pt), MLS_ERR_DECRYPT);
    CHECK_ERR(mls_aead_open(s, k, n, aad, mls_bytes_of(c.p, MLS_AEAD_TAG - 1), &pt),
              MLS_ERR_DECRYPT);
    CHECK_ERR(mls_aead_open(s, k, n, aad, mls_bytes_of(NULL, 0), &pt), MLS_ERR_DECRYPT);
    CHECK(pt.n == 0);

    /* Wrong key or nonce lengths are caller errors. */
    CHECK_ERR(mls_aead_seal(s, mls_bytes_of(key, s->nk - 1), n, aad, c, &bad), MLS_ERR_ARG);
    CHECK_ERR(mls_aead_open(s, k, mls_bytes_of(nonce, s->nn - 1), aad, c, &pt), MLS_ERR_ARG);

    /* Empty plaintext and empty aad. */
    mls_buf_reset(&ct);
    CHECK_OK(mls_aead_seal(s, k, n, mls_bytes_of(NULL, 0), mls_bytes_of(NULL, 0), &ct));
    CHECK(ct.n == MLS_AEAD_TAG);
    CHECK_OK(mls_aead_open(s, k, n, mls_bytes_of(NULL, 0), mls_buf_view(&ct), &pt));
    CHECK(pt.n == 0);

    mls_buf_clear(&ct);
    mls_buf_clear(&pt);
    mls_buf_clear(&bad);
}

/* RFC 8032 §7.1 TEST 1 and §7.4 "Blank": known answers for EdDSA. */
static void test_eddsa_known_answers(void)
{
    static const struct {
        uint16_t suite;
        const char *sk, *pk, *sig;
    } kat[] = {
        {MLS_SUITE_X25519_AES128GCM_SHA256_ED25519,
         "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
         "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3"
         "9701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
        {MLS_SUITE_X448_AES256GCM_SHA512_ED448,
         "6c82a562cb808d10d632be89c8513ebf6c929f34ddfa8c9f63c9960ef6e348a3528c8a3fcc2f044e39a3fc"
         "5b94492f8f032e7549a20098f95b",
         "5fd7449b59b461fd2ce787ec616ad46a1da1342485a70e1f8a0ea75d80e96778edf124769b46c7061bd678"
         "3df1e50f6cd1fa1abeafe8256180",
         "533a37f6bbe457251f023c0d88f976ae2dfb504a843e34d2074fd823d41a591f2b233f034f628281f2fd7a"
         "22ddd47d7828c59bd0a21bfd3980ff0d2028d4b18a9df63e006c5d1c2d345b925d8dc00b4104852db99ac5"
         "c7cdda8530a113a0f4dbb61149f05a7363268c71d95808ff2e652600"},
    };
    for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
        const mls_suite *s = mls_suite_get(kat[i].suite);
        mls_buf sk = test_hexbuf(kat[i].sk), pk, sig;
        mls_buf_init(&pk);
        mls_buf_init(&sig);
        CHECK_OK(mls_sig_public_from_private(s, mls_buf_view(&sk), &pk));
        CHECK(test_eq_hex(mls_buf_view(&pk), kat[i].pk));
        CHECK_OK(mls_sig_sign(s, mls_env_default(), mls_buf_view(&sk), mls_bytes_of(NULL, 0),
                              &sig));
        CHECK(test_eq_hex(mls_buf_view(&sig), kat[i].sig));
        CHECK_OK(mls_sig_verify(s, mls_buf_view(&pk), mls_bytes_of(NULL, 0), mls_buf_view(&sig)));
        mls_buf_clear(&sk);
        mls_buf_clear(&pk);
        mls_buf_clear(&sig);
    }
}

/* RFC 6979 A.2.5: the P-256 key pair (x, U). */
static void test_ecdsa_public_known_answer(void)
{
    const mls_suite *s = mls_suite_get(MLS_SUITE_P256_AES128GCM_SHA256_P256);
    mls_buf sk = test_hexbuf("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721"),
            pk;
    mls_buf_init(&pk);
    CHECK_OK(mls_sig_public_from_private(s, mls_buf_view(&sk), &pk));
    CHECK(test_eq_hex(mls_buf_view(&pk),
                      "0460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
                      "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299"));
    mls_buf_clear(&sk);
    mls_buf_clear(&pk);
}

static void expect_bad_sig(const mls_suite *s, mls_bytes pk, mls_bytes msg, mls_bytes sig)
{
    CHECK_ERR(mls_sig_verify(s, pk, msg, sig), MLS_ERR_SIGNATURE);
}

static void test_signatures(const mls_suite *s)
{
    static const uint8_t msg_b[] = "MLS 1.0 signed content";
    const mls_bytes msg = mls_bytes_of(msg_b, sizeof(msg_b));
    const mls_env *env = mls_env_default();
    mls_buf sk, pk, sk2, pk2, sig, sig2, bad, der;
    mls_buf *bufs[] = {&sk, &pk, &sk2, &pk2, &sig, &sig2, &bad, &der};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        mls_buf_init(bufs[i]);

    CHECK_OK(mls_sig_keygen(s, env, &sk, &pk));
    CHECK(sk.n == sig_sk_len(s) && pk.n == s->sig_npk);
    if (is_ecdsa(s))
        CHECK(pk.p[0] == 0x04);
    CHECK_OK(mls_sig_public_from_private(s, mls_buf_view(&sk), &pk2));
    CHECK(mls_ct_equal(mls_buf_view(&pk), mls_buf_view(&pk2)));

    CHECK_OK(mls_sig_sign(s, env, mls_buf_view(&sk), msg, &sig));
    CHECK(sig.n > 0 && sig.n <= MLS_MAX_SIG);
    if (is_ecdsa(s))
        CHECK(sig.p[0] == 0x30); /* DER SEQUENCE */
    else
        CHECK(sig.n == (s->sig == MLS_SIG_ED25519 ? 64u : 114u));
    CHECK_OK(mls_sig_verify(s, mls_buf_view(&pk), msg, mls_buf_view(&sig)));
    /* sign appends. */
    CHECK_OK(mls_sig_sign(s, env, mls_buf_view(&sk), mls_bytes_of(NULL, 0), &sig2));
    size_t first = sig2.n;
    CHECK_OK(mls_sig_sign(s, env, mls_buf_view(&sk), mls_bytes_of(NULL, 0), &sig2));
    CHECK_OK(mls_sig_verify(s, mls_buf_view(&pk), mls_bytes_of(NULL, 0),
                            mls_bytes_of(sig2.p, first)));
    CHECK_OK(mls_sig_verify(s, mls_buf_view(&pk), mls_bytes_of(NULL, 0),
                            mls_bytes_of(sig2.p + first, sig2.n - first)));

    /* Tampered message, every flipped byte of the signature, truncated,
     * extended and empty signatures, another key. */
    expect_bad_sig(s, mls_buf_view(&pk), mls_bytes_of(msg_b, sizeof(msg_b) - 1),
                   mls_buf_view(&sig));
    CHECK_OK(mls_buf_set(&bad, msg_b, sizeof(msg_b)));
    bad.p[0] ^= 0x20;
    expect_bad_sig(s, mls_buf_view(&pk), mls_buf_view(&bad), mls_buf_view(&sig));
    for (size_t i = 0; i < sig.n; i++) {
        CHECK_OK(mls_buf_set(&bad, sig.p, sig.n));
        bad.p[i] ^= 0x01;
        expect_bad_sig(s, mls_buf_view(&pk), msg, mls_buf_view(&bad));
    }
    expect_bad_sig(s, mls_buf_view(&pk), msg, mls_bytes_of(sig.p, sig.n - 1));
    expect_bad_sig(s, mls_buf_view(&pk), msg, mls_bytes_of(NULL, 0));
    CHECK_OK(mls_buf_set(&bad, sig.p, sig.n));
    CHECK_OK(mls_buf_append(&bad, "", 1));
    expect_bad_sig(s, mls_buf_view(&pk), msg, mls_buf_view(&bad));
    CHECK_OK(mls_sig_keygen(s, env, &sk2, &pk2));
    expect_bad_sig(s, mls_buf_view(&pk2), msg, mls_buf_view(&sig));

    if (is_ecdsa(s)) {
        /* A BER-but-not-DER re-encoding of the same (r, s): r with a
         * superfluous leading zero byte.  Only short-form lengths are
         * rewritten, so this runs for P-256 and P-384. */
        if (sig.p[1] < 0x7f && sig.p[2] == 0x02 && sig.p[3] < 0x7f) {
            uint8_t hdr[5] = {0x30, (uint8_t)(sig.p[1] + 1), 0x02, (uint8_t)(sig.p[3] + 1), 0x00};
            CHECK_OK(mls_buf_set(&der, hdr, sizeof(hdr)));
            CHECK_OK(mls_buf_append(&der, sig.p + 4, sig.n - 4));
            expect_bad_sig(s, mls_buf_view(&pk), msg, mls_buf_view(&der));
        }
        /* Raw r || s instead of DER. */
        CHECK_OK(mls_buf_set(&bad, sig.p, sig.n));
        memset(bad.p, 0x42, bad.n);
        expect_bad_sig(s, mls_buf_view(&pk), msg, mls_buf_view(&bad));
    }

    /* Malformed public keys: wrong lengths; for ECDSA a compressed prefix,
     * a point off the curve and the all-zero encoding. */
    expect_bad_sig(s, mls_bytes_of(pk.p, pk.n - 1), msg, mls_buf_view(&sig));
    expect_bad_sig(s, mls_bytes_of(NULL, 0), msg, mls_buf_view(&sig));
    CHECK_OK(mls_buf_set(&bad, pk.p, pk.n));
    CHECK_OK(mls_buf_append(&bad, "", 1));
    expect_bad_sig(s, mls_buf_view(&bad), msg, mls_buf_view(&sig));
    if (is_ecdsa(s)) {
        CHECK_OK(mls_buf_set(&bad, pk.p, pk.n));
        bad.p[0] = 0x02;
        expect_bad_sig(s, mls_buf_view(&bad), msg, mls_buf_view(&sig));
        CHECK_OK(mls_buf_set(&bad, pk.p, pk.n));
        bad.p[bad.n - 1] ^= 0x01;
        expect_bad_sig(s, mls_buf_view(&bad), msg, mls_buf_view(&sig));
        memset(bad.p + 1, 0, bad.n - 1);
        expect_bad_sig(s, mls_buf_view(&bad), msg, mls_buf_view(&sig));
    } else {
        CHECK_OK(mls_buf_set(&bad, pk.p, pk.n));
        bad.p[0] ^= 0x01;
        expect_bad_sig(s, mls_buf_view(&bad), msg, mls_buf_view(&sig));
    }

    /* Malformed private keys are refused and nothing is appended: EdDSA
     * keys of the wrong length, ECDSA scalars longer than the field (a
     * shorter ECDSA scalar is a smaller number, which is valid). */
    mls_buf_reset(&sig2);
    if (!is_ecdsa(s)) {
        CHECK_ERR(mls_sig_sign(s, env, mls_bytes_of(sk.p, sk.n - 1), msg, &sig2),
                  MLS_ERR_INVALID);
        CHECK_ERR(mls_sig_public_from_private(s, mls_bytes_of(sk.p, sk.n - 1), &pk2),
                  MLS_ERR_INVALID);
    } else {
        CHECK_OK(mls_buf_set(&bad, sk.p, sk.n));
        CHECK_OK(mls_buf_append(&bad, "", 1));
        CHECK_ERR(mls_sig_sign(s, env, mls_buf_view(&bad), msg, &sig2), MLS_ERR_INVALID);
        CHECK_ERR(mls_sig_public_from_private(s, mls_buf_view(&bad), &pk2), MLS_ERR_INVALID);
    }
    if (is_ecdsa(s)) {
        CHECK_OK(mls_buf_set(&bad, sk.p, sk.n));
        memset(bad.p, 0, bad.n);
        CHECK_ERR(mls_sig_sign(s, env, mls_buf_view(&bad), msg, &sig2), MLS_ERR_INVALID);
        memset(bad.p, 0xff, bad.n);
        CHECK_ERR(mls_sig_sign(s, env, mls_buf_view(&bad), msg, &sig2), MLS_ERR_INVALID);
        CHECK_ERR(mls_sig_public_from_private(s, mls_buf_view(&bad), &pk2), MLS_ERR_INVALID);
    }
    CHECK(sig2.n == 0);

    /* Keygen draws from env: the same bytes give the same key pair. */
    {
        static const uint8_t p1[] = {0x5a};
        struct pattern_rng r1 = {p1, 1, 0}, r2 = {p1, 1, 0};
        mls_env e1 = {.random = pattern_random, .now = test_no_time, .ctx = &r1},
               e2 = {.random = pattern_random, .now = test_no_time, .ctx = &r2};
        CHECK_OK(mls_sig_keygen(s, &e1, &sk, &pk));
        CHECK_OK(mls_sig_keygen(s, &e2, &sk2, &pk2));
        CHECK(mls_ct_equal(mls_buf_view(&sk), mls_buf_view(&sk2)));
        CHECK(mls_ct_equal(mls_buf_view(&pk), mls_buf_view(&pk2)));
        CHECK(sk.p[sk.n - 1] == 0x5a);
    }
    if (is_ecdsa(s)) {
        /* Rejection sampling: all-0xff is >= n (also after the P-521 mask)
         * and all-zero is 0; the third draw is taken. */
        static const uint8_t p3[] = {0xff, 0x00, 0x11};
        struct pattern_rng r = {p3, 3, 0};
        mls_env e = {.random = pattern_random, .now = test_no_time, .ctx = &r};
        CHECK_OK(mls_sig_keygen(s, &e, &sk, &pk));
        CHECK(r.calls == 3);
        CHECK(sk.p[1] == 0x11 && sk.p[0] == (s->sig == MLS_SIG_P521 ? 0x01 : 0x11));
        CHECK_OK(mls_sig_sign(s, env, mls_buf_view(&sk), msg, &sig2));
        CHECK_OK(mls_sig_verify(s, mls_buf_view(&pk), msg, mls_buf_view(&sig2)));
        /* A source that never yields a valid scalar makes keygen fail. */
        static const uint8_t pff[] = {0xff};
        struct pattern_rng rf = {pff, 1, 0};
        mls_env ef = {.random = pattern_random, .now = test_no_time, .ctx = &rf};
        CHECK_ERR(mls_sig_keygen(s, &ef, &sk2, &pk2), MLS_ERR_RANDOM);
    }
    {
        mls_env broken = {.random = test_failing_random, .now = test_no_time, .ctx = NULL};
        mls_buf a, b;
        mls_buf_init(&a);
        mls_buf_init(&b);
        CHECK_ERR(mls_sig_keygen(s, &broken, &a, &b), MLS_ERR_RANDOM);
        CHECK(a.n == 0 && b.n == 0);
        mls_buf_clear(&a);
        mls_buf_clear(&b);
    }

    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        mls_buf_clear(bufs[i]);
}

int main(void)
{
    test_suite_table();
    test_hash();
    test_hkdf();
    test_eddsa_known_answers();
    test_ecdsa_public_known_answer();
    for (uint16_t id = 1; id <= 7; id++) {
        test_aead(mls_suite_get(id));
        test_signatures(mls_suite_get(id));
    }
    TEST_MAIN_END("test_suite");
}
