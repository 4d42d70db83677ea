/* Unit tests for lib/transcript.c (RFC 9420 §8.2, §6.1). */
#include "test.h"

#include "transcript.h"

/*
 * transcript-hashes.json entry 0 (suite 1).  An AuthenticatedContent of a
 * Commit ends with its confirmation tag as MAC<V> (here 0x20 and 32 bytes);
 * what precedes it is exactly ConfirmedTranscriptHashInput {wire_format,
 * content, signature<V>}.
 */
static void test_known_answer(void)
{
    const mls_suite *s = mls_suite_get(MLS_SUITE_X25519_AES128GCM_SHA256_ED25519);
    uint8_t ac[200], key[32], before[32], want_c[32], want_i[32];
    uint8_t c[MLS_MAX_HASH], i[MLS_MAX_HASH], tag[MLS_MAX_HASH];
    size_t n =
        test_unhex_to("00010567726f7570000000000000345601000000000003220220e740a6faf2db65f5853148d7"
                      "5d9a335d7c4b94ab106fe5f237bc34fdcfc745840040402280c921b6b2836ed4eca496dfa7"
                      "4a13c171f78b80822894032c4c03cc4fb9c24e505c0d0ba4e8edb63a3327442baa12555a57"
                      "f28e4cfebb4f0c42997030e207203a1d8805d8390f441a622f81bcb7347be86db7cc491d03"
                      "13163fa63c2f66aa92",
                      ac, sizeof(ac));
    test_unhex_to("26ae359a9a9760cd1066cae16f1456ea7eaf52bd85d5dba5bb15cca04a90c83f", key, 32);
    test_unhex_to("2597552c42df799cd70e99c77c4f80e834a9418096a0b2c7bc66afbc48eebaa6", before, 32);
    test_unhex_to("51a85b21149c86f3f8c2907017c449e96987242b7ba2be9db1ddd53fb2db0d1d", want_c, 32);
    test_unhex_to("193f9e11118fd08ff626069543b481ec5f04145680b612bb84d8962a2e609211", want_i, 32);
    CHECK(n == 158 && ac[n - 33] == 0x20);
    mls_bytes input = mls_bytes_of(ac, n - 33), ac_tag = mls_bytes_of(ac + n - 32, 32);

    CHECK_OK(mls_transcript_confirmed(s, mls_bytes_of(before, 32), input, c));
    CHECK(test_same(c, want_c, 32));
    CHECK_OK(mls_transcript_interim(s, mls_bytes_of(c, 32), ac_tag, i));
    CHECK(test_same(i, want_i, 32));
    memset(c, 0, sizeof(c));
    memset(i, 0, sizeof(i));
    CHECK_OK(mls_transcript_update(s, mls_bytes_of(before, 32), input, ac_tag, c, i));
    CHECK(test_same(c, want_c, 32) && test_same(i, want_i, 32));

    /* The tag in the message is MAC(confirmation_key, confirmed hash). */
    CHECK_OK(mls_confirmation_tag(s, mls_bytes_of(key, 32), mls_bytes_of(want_c, 32), tag));
    CHECK(test_same(tag, ac_tag.p, 32));
    CHECK_OK(mls_confirmation_tag_verify(s, mls_bytes_of(key, 32), mls_bytes_of(want_c, 32),
                                         ac_tag));
    /* A flipped bit, a truncated or empty tag, another key or hash: refused. */
    uint8_t bad[32];
    memcpy(bad, ac_tag.p, 32);
    bad[31] ^= 1;
    CHECK_ERR(mls_confirmation_tag_verify(s, mls_bytes_of(key, 32), mls_bytes_of(want_c, 32),
                                          mls_bytes_of(bad, 32)),
              MLS_ERR_MAC);
    CHECK_ERR(mls_confirmation_tag_verify(s, mls_bytes_of(key, 32), mls_bytes_of(want_c, 32),
                                          mls_bytes_of(ac_tag.p, 31)),
              MLS_ERR_MAC);
    CHECK_ERR(mls_confirmation_tag_verify(s, mls_bytes_of(key, 32), mls_bytes_of(want_c, 32),
                                          mls_bytes_of(NULL, 0)),
              MLS_ERR_MAC);
    CHECK_ERR(mls_confirmation_tag_verify(s, mls_bytes_of(before, 32), mls_bytes_of(want_c, 32),
                                          ac_tag),
              MLS_ERR_MAC);
    CHECK_ERR(mls_confirmation_tag_verify(s, mls_bytes_of(key, 32), mls_bytes_of(want_i, 32),
                                          ac_tag),
              MLS_ERR_MAC);
    /* The confirmation key must be Nh bytes. */
    CHECK_ERR(mls_confirmation_tag(s, mls_bytes_of(key, 31), mls_bytes_of(want_c, 32), tag),
              MLS_ERR_ARG);
    CHECK_ERR(mls_confirmation_tag_verify(s, mls_bytes_of(key, 16), mls_bytes_of(want_c, 32),
                                          ac_tag),
              MLS_ERR_ARG);
}

/* Epoch 0 starts from empty hashes; every suite gives Nh-byte outputs that
 * chain. */
static void test_chain(void)
{
    for (uint16_t id = 1; id <= 7; id++) {
        const mls_suite *s = mls_suite_get(id);
        uint8_t c1[MLS_MAX_HASH], i1[MLS_MAX_HASH], c2[MLS_MAX_HASH], i2[MLS_MAX_HASH];
        uint8_t key[MLS_MAX_HASH], tag[MLS_MAX_HASH], h[MLS_MAX_HASH];
        const uint8_t input[] = "confirmed transcript hash input";
        mls_bytes in = mls_bytes_of(input, sizeof(input) - 1);
        memset(key, 0x5c, sizeof(key));

        CHECK_OK(mls_transcript_confirmed(s, mls_bytes_of(NULL, 0), in, c1));
        CHECK_OK(mls_hash(s, in, h));
        CHECK(test_same(c1, h, s->nh));
        CHECK_OK(mls_confirmation_tag(s, mls_bytes_of(key, s->nh), mls_bytes_of(c1, s->nh), tag));
        CHECK_OK(mls_transcript_interim(s, mls_bytes_of(c1, s->nh), mls_bytes_of(tag, s->nh), i1));
        /* interim = Hash(confirmed || varint(len) || tag); a 64-byte tag
         * (SHA-512 suites) already needs the two-byte varint. */
        uint8_t buf[2 + 2 * MLS_MAX_HASH];
        size_t pre = s->nh < 64 ? 1 : 2;
        memcpy(buf, c1, s->nh);
        if (pre == 1) {
            buf[s->nh] = (uint8_t)s->nh;
        } else {
            buf[s->nh] = 0x40;
            buf[s->nh + 1] = (uint8_t)s->nh;
        }
        memcpy(buf + s->nh + pre, tag, s->nh);
        CHECK_OK(mls_hash(s, mls_bytes_of(buf, 2 * s->nh + pre), h));
        CHECK(test_same(i1, h, s->nh));
        /* The next epoch chains on the interim hash. */
        CHECK_OK(mls_transcript_update(s, mls_bytes_of(i1, s->nh), in, mls_bytes_of(tag, s->nh),
                                       c2, i2));
        CHECK(!test_same(c1, c2, s->nh) && !test_same(i1, i2, s->nh));
        /* A tag longer than 63 bytes takes a two-byte length. */
        uint8_t long_tag[100];
        memset(long_tag, 1, sizeof(long_tag));
        CHECK_OK(mls_transcript_interim(s, mls_bytes_of(c1, s->nh), mls_bytes_of(long_tag, 100),
                                        i2));
        uint8_t buf2[MLS_MAX_HASH + 2 + 100];
        memcpy(buf2, c1, s->nh);
        buf2[s->nh] = 0x40;
        buf2[s->nh + 1] = 100;
        memcpy(buf2 + s->nh + 2, long_tag, 100);
        CHECK_OK(mls_hash(s, mls_bytes_of(buf2, s->nh + 102), h));
        CHECK(test_same(i2, h, s->nh));
    }
    CHECK_ERR(mls_transcript_confirmed(NULL, mls_bytes_of(NULL, 0), mls_bytes_of(NULL, 0), NULL),
              MLS_ERR_ARG);
}

int main(void)
{
    test_known_answer();
    test_chain();
    TEST_MAIN_END("test_transcript");
}
