/* Unit tests for lib/key_schedule.c (RFC 9420 §8, §6.3.2, §12.4.3.1). */
#include "test.h"

#include "key_schedule.h"

#include "codec.h"
#include "crypto.h"

static int is_zero(const uint8_t *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i])
            return 0;
    return 1;
}

static const mls_suite *suite1(void)
{
    return mls_suite_get(MLS_SUITE_X25519_AES128GCM_SHA256_ED25519);
}

/* key-schedule.json entry 0, epoch 0 (suite 1). */
static void test_known_answer(void)
{
    const mls_suite *s = suite1();
    uint8_t init[32], commit[32], psk[32], gc[200], want[32];
    size_t gc_n;
    mls_epoch_secrets e;

    test_unhex_to("a897b53575b4dd35fed4466e4e714bfa949eaa72e616a9c68a47b39cb7a60d2e", init, 32);
    test_unhex_to("a22606222e350fd7f0937168fe7548fb06626ab143cba7611d641693b1447509", commit, 32);
    test_unhex_to("e871b247379522395689182736cb3d1e7b108d6ae934b802223975de8dc3f80b", psk, 32);
    gc_n = test_unhex_to(
        "0001000120a897b53575b4dd35fed4466e4e714bfa949eaa72e616a9c68a47b39cb7a60d2e"
        "0000000000000000209769e302a99c457350a8e636009b12a2fee068664004606d6318eb3a"
        "1977d818205e57c9364dc71f0f71b19ffe561ab77257c490708a47e29f8f73f2b318201d2f00",
        gc, sizeof(gc));
    CHECK_OK(mls_key_schedule_epoch(s, mls_bytes_of(init, 32), mls_bytes_of(commit, 32),
                                    mls_bytes_of(psk, 32), mls_bytes_of(gc, gc_n), &e));
    test_unhex_to("4fb996ba26b29a70f3ce6c310151ce8701cb812d027f4d4bbf5cc4e9f884638d", want, 32);
    CHECK(test_same(e.joiner_secret, want, 32));
    test_unhex_to("ddcd9ced2d264798f876cbd00a200cdc4d77311dfef96975257efb66b0ef2c4d", want, 32);
    CHECK(test_same(e.welcome_secret, want, 32));
    test_unhex_to("7375d449cde2c5a856c13c8eb52c16bf9ef29eceef59b09d1f946bd1bac24643", want, 32);
    CHECK(test_same(e.epoch_authenticator, want, 32));
    test_unhex_to("505be2ce2ff922aa11e0a03d76346dda2981f1d9edf5cf98ecfc8757f69b00c9", want, 32);
    CHECK(test_same(e.init_secret, want, 32));
    test_unhex_to("01588615c93d02c83bda0b587473303b1637a92bf80783206d963f9197c40a13", want, 32);
    CHECK(test_same(e.encryption_secret, want, 32));
    CHECK(e.suite == s);

    /* A joiner gets the same epoch from joiner_secret alone. */
    mls_epoch_secrets j;
    CHECK_OK(mls_key_schedule_from_joiner(s, mls_bytes_of(e.joiner_secret, 32),
                                          mls_bytes_of(psk, 32), mls_bytes_of(gc, gc_n), &j));
    CHECK(memcmp(&e, &j, sizeof(e)) == 0);

    /* Exporter of that epoch: label used as raw bytes. */
    uint8_t ctx[32], out[32];
    const char *label = "9ba13d54ecdec7cbefcb47b4268d7b1990fabc6d6e67681e167959389d84e4e4";
    test_unhex_to("884f1af892ab002f5be4c5d5081ade9e0e6418c6ea7a9a92e90534f19dcef785", ctx, 32);
    CHECK_OK(mls_exporter(s, mls_bytes_of(e.exporter_secret, 32),
                          mls_bytes_of((const uint8_t *)label, strlen(label)),
                          mls_bytes_of(ctx, 32), out, 32));
    test_unhex_to("dbce4e25e59ab4dfa6f6200f113ed08393cf6e7286d024811141c6a4dd11c0cb", want, 32);
    CHECK(test_same(out, want, 32));

    mls_epoch_secrets_clear(&e);
    CHECK(is_zero((const uint8_t *)&e, sizeof(e)));
    mls_epoch_secrets_clear(&e);
    mls_epoch_secrets_clear(NULL);
    mls_epoch_secrets_clear(&j);
}

static void test_determinism(void)
{
    for (uint16_t id = 1; id <= 7; id++) {
        const mls_suite *s = mls_suite_get(id);
        uint8_t init[MLS_MAX_HASH], commit[MLS_MAX_HASH], zero[MLS_MAX_HASH] = {0};
        const uint8_t gc1[] = "group context one", gc2[] = "group context two";
        mls_epoch_secrets a, b, c, d;
        memset(init, 0x11, sizeof(init));
        memset(commit, 0x22, sizeof(commit));
        mls_bytes in = mls_bytes_of(init, s->nh), cs = mls_bytes_of(commit, s->nh);
        mls_bytes g1 = mls_bytes_of(gc1, sizeof(gc1) - 1), g2 = mls_bytes_of(gc2, sizeof(gc2) - 1);

        CHECK_OK(mls_key_schedule_epoch(s, in, cs, mls_bytes_of(NULL, 0), g1, &a));
        CHECK_OK(mls_key_schedule_epoch(s, in, cs, mls_bytes_of(NULL, 0), g1, &b));
        CHECK(memcmp(&a, &b, sizeof(a)) == 0);
        /* An empty psk_secret is the all-zero one; same for commit_secret. */
        CHECK_OK(mls_key_schedule_epoch(s, in, cs, mls_bytes_of(zero, s->nh), g1, &b));
        CHECK(memcmp(&a, &b, sizeof(a)) == 0);
        CHECK_OK(mls_key_schedule_epoch(s, in, mls_bytes_of(NULL, 0), mls_bytes_of(NULL, 0), g1,
                                        &c));
        CHECK_OK(mls_key_schedule_epoch(s, in, mls_bytes_of(zero, s->nh), mls_bytes_of(NULL, 0),
                                        g1, &d));
        CHECK(memcmp(&c, &d, sizeof(c)) == 0);
        CHECK(!test_same(a.joiner_secret, c.joiner_secret, s->nh));
        /* The GroupContext enters joiner and epoch secret. */
        CHECK_OK(mls_key_schedule_epoch(s, in, cs, mls_bytes_of(NULL, 0), g2, &b));
        CHECK(!test_same(a.joiner_secret, b.joiner_secret, s->nh));
        CHECK(!test_same(a.epoch_authenticator, b.epoch_authenticator, s->nh));
        /* welcome_secret depends only on joiner and PSK, not the context. */
        CHECK_OK(mls_key_schedule_from_joiner(s, mls_bytes_of(a.joiner_secret, s->nh),
                                              mls_bytes_of(NULL, 0), g2, &d));
        CHECK(test_same(a.welcome_secret, d.welcome_secret, s->nh));
        CHECK(!test_same(a.sender_data_secret, d.sender_data_secret, s->nh));
        /* All nine derived secrets are distinct. */
        const uint8_t *all[] = {a.sender_data_secret, a.encryption_secret, a.exporter_secret,
                                a.external_secret,    a.confirmation_key,  a.membership_key,
                                a.resumption_psk,     a.epoch_authenticator, a.init_secret};
        for (size_t i = 0; i < 9; i++)
            for (size_t k = i + 1; k < 9; k++)
                CHECK(!test_same(all[i], all[k], s->nh));
        /* Bytes past Nh stay zero. */
        CHECK(is_zero(a.init_secret + s->nh, MLS_MAX_HASH - s->nh));
        mls_epoch_secrets_clear(&a);
        mls_epoch_secrets_clear(&b);
        mls_epoch_secrets_clear(&c);
        mls_epoch_secrets_clear(&d);
    }
}

static void test_bad_lengths(void)
{
    const mls_suite *s = suite1();
    uint8_t sec[64] = {1}, out[MLS_MAX_HASH];
    mls_epoch_secrets e;
    memset(&e, 0x5a, sizeof(e));
    mls_bytes ok = mls_bytes_of(sec, 32), bad = mls_bytes_of(sec, 31), gc = mls_bytes_of(sec, 5);

    CHECK_ERR(mls_key_schedule_epoch(s, bad, ok, ok, gc, &e), MLS_ERR_ARG);
    CHECK_ERR(mls_key_schedule_epoch(s, ok, bad, ok, gc, &e), MLS_ERR_ARG);
    CHECK_ERR(mls_key_schedule_epoch(s, ok, ok, mls_bytes_of(sec, 48), gc, &e), MLS_ERR_ARG);
    CHECK_ERR(mls_key_schedule_epoch(NULL, ok, ok, ok, gc, &e), MLS_ERR_ARG);
    CHECK_ERR(mls_key_schedule_from_joiner(s, bad, ok, gc, &e), MLS_ERR_ARG);
    CHECK_ERR(mls_key_schedule_joiner(s, ok, mls_bytes_of(sec, 64), gc, out), MLS_ERR_ARG);
    CHECK(e.init_secret[0] == 0x5a); /* untouched on failure */
    CHECK_ERR(mls_sender_data_key_nonce(s, bad, ok, out, out), MLS_ERR_ARG);
    CHECK_ERR(mls_welcome_key_nonce(s, bad, out, out), MLS_ERR_ARG);
    CHECK_ERR(mls_exporter(s, bad, ok, ok, out, 32), MLS_ERR_ARG);
    CHECK_ERR(mls_key_schedule_external_keypair(s, bad, NULL, NULL), MLS_ERR_ARG);
}

static void test_exporter_lengths(void)
{
    const mls_suite *s = suite1();
    uint8_t secret[32], out[8200], out2[8200];
    const uint8_t label[] = "chat export", ctx[] = "context";
    mls_bytes l = mls_bytes_of(label, sizeof(label) - 1), c = mls_bytes_of(ctx, sizeof(ctx) - 1);
    memset(secret, 0x33, sizeof(secret));
    mls_bytes es = mls_bytes_of(secret, 32);

    static const size_t lens[] = {1, 12, 16, 32, 33, 100, 255 * 32};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        memset(out, 0, sizeof(out));
        CHECK_OK(mls_exporter(s, es, l, c, out, lens[i]));
        CHECK(!is_zero(out, lens[i]));
        CHECK(is_zero(out + lens[i], sizeof(out) - lens[i]));
        CHECK_OK(mls_exporter(s, es, l, c, out2, lens[i]));
        CHECK(test_same(out, out2, lens[i]));
    }
    /* The length is bound into the output (KDFLabel.length). */
    CHECK_OK(mls_exporter(s, es, l, c, out, 16));
    CHECK_OK(mls_exporter(s, es, l, c, out2, 32));
    CHECK(!test_same(out, out2, 16));
    /* Label and context both matter; an empty context is allowed. */
    CHECK_OK(mls_exporter(s, es, mls_bytes_of(label, 4), c, out2, 16));
    CHECK(!test_same(out, out2, 16));
    CHECK_OK(mls_exporter(s, es, l, mls_bytes_of(NULL, 0), out2, 16));
    CHECK(!test_same(out, out2, 16));
    /* Labels are bytes, zeros included. */
    const uint8_t zl[3] = {'a', 0, 'b'};
    CHECK_OK(mls_exporter(s, es, mls_bytes_of(zl, 3), c, out2, 16));
    CHECK_OK(mls_exporter(s, es, mls_bytes_of(zl, 1), c, out, 16));
    CHECK(!test_same(out, out2, 16));
    /* Too long for HKDF or for the uint16 length. */
    CHECK_ERR(mls_exporter(s, es, l, c, out, 255 * 32 + 1), MLS_ERR_ARG);
    CHECK_ERR(mls_exporter(s, es, l, c, out, 70000), MLS_ERR_ARG);
}

/* PreSharedKeyID{external, psk_id<V>, psk_nonce<V>} for the tests. */
static void external_id(mls_buf *w, const uint8_t *id, size_t id_n, const uint8_t *nonce,
                        size_t nonce_n)
{
    mls_buf_init(w);
    CHECK_OK(mls_write_u8(w, 1));
    CHECK_OK(mls_write_vec(w, id, id_n));
    CHECK_OK(mls_write_vec(w, nonce, nonce_n));
}

static void test_psk_secret(void)
{
    const mls_suite *s = suite1();
    uint8_t out[MLS_MAX_HASH], out2[MLS_MAX_HASH], want[32];
    uint8_t id0[32], psk0[32], nonce0[32], id1[32], psk1[32], nonce1[32];
    mls_buf e0, e1;
    mls_psk_input in[2];

    /* No PSK: psk_secret_[0], the zero vector. */
    memset(out, 0xff, sizeof(out));
    CHECK_OK(mls_psk_secret(s, NULL, 0, out));
    CHECK(is_zero(out, s->nh));

    /* One PSK: psk_secret.json entry 1. */
    test_unhex_to("55c388e0e99fba6c1633d6b70c50ec3def72563aec7ce787847574bc27ed9d71", id0, 32);
    test_unhex_to("e0a059e7da3660c691b5accb5342a0940f0ac7ea4ae4c886186249698d845860", psk0, 32);
    test_unhex_to("66b25bdc9086da6e266ed0828040d7a9547d20ddcfd2988d48113a10afb5a23d", nonce0, 32);
    external_id(&e0, id0, 32, nonce0, 32);
    in[0].id = mls_buf_view(&e0);
    in[0].psk = mls_bytes_of(psk0, 32);
    CHECK_OK(mls_psk_secret(s, in, 1, out));
    test_unhex_to("aa6ee4e7ac86bec0a39c185ad88995e9b86eea9ecca113691090c53bcc86344c", want, 32);
    CHECK(test_same(out, want, 32));
    mls_buf_clear(&e0);

    /* Two PSKs: entry 2. */
    test_unhex_to("4e96d00ea2059b6c70d0e8777970e65677abee0c4b90e881c4cf7b4aaa8d9184", id0, 32);
    test_unhex_to("62e3157cbb3799d0f54fb873e7f7e46257a01e9e4297413e769c4f0afeb1a206", psk0, 32);
    test_unhex_to("924a5371246476aca6a92eec7d295af3c9ed3f905aaeb97dc4748ac4cdc889fd", nonce0, 32);
    test_unhex_to("8034d46a6150c7c4817f7584edf51006ec8432c55ae1de77d0ccd51c523ed97d", id1, 32);
    test_unhex_to("27f5dd47bf87802cdfac24f1bfde71595a62ea8bc6a9ab335ba23c98d5fee267", psk1, 32);
    test_unhex_to("07ade6664316831d1ceddc1f7f8b26ff132f7130f4c6c6c51f07191d8f2a328e", nonce1, 32);
    external_id(&e0, id0, 32, nonce0, 32);
    external_id(&e1, id1, 32, nonce1, 32);
    in[0].id = mls_buf_view(&e0);
    in[0].psk = mls_bytes_of(psk0, 32);
    in[1].id = mls_buf_view(&e1);
    in[1].psk = mls_bytes_of(psk1, 32);
    CHECK_OK(mls_psk_secret(s, in, 2, out));
    test_unhex_to("e582f70f0b6a48dc9a50583895bc90012147e59bf7ba90b29673075fdb646ff2", want, 32);
    CHECK(test_same(out, want, 32));
    /* Order matters (index, chaining). */
    mls_psk_input swapped[2] = {in[1], in[0]};
    CHECK_OK(mls_psk_secret(s, swapped, 2, out2));
    CHECK(!test_same(out, out2, 32));
    /* Count matters: the first PSK alone differs from its role in two. */
    CHECK_OK(mls_psk_secret(s, in, 1, out2));
    CHECK(!test_same(out, out2, 32));

    /* Many PSKs; PSK values of any length. */
    mls_psk_input many[20];
    for (size_t i = 0; i < 20; i++) {
        many[i].id = in[i % 2].id;
        many[i].psk = mls_bytes_of(psk0, i);
    }
    CHECK_OK(mls_psk_secret(s, many, 20, out));
    CHECK(!is_zero(out, 32));
    CHECK_OK(mls_psk_secret(s, many, 20, out2));
    CHECK(test_same(out, out2, 32));

    /* More PSKs than the uint16 count allows. */
    memset(out2, 0x77, sizeof(out2));
    CHECK_ERR(mls_psk_secret(s, in, 0x10000, out2), MLS_ERR_ARG);
    CHECK_ERR(mls_psk_secret(s, NULL, 1, out2), MLS_ERR_ARG);
    CHECK(out2[0] == 0x77);
    mls_buf_clear(&e0);
    mls_buf_clear(&e1);
}

static void test_sender_data_and_welcome(void)
{
    const mls_suite *s = suite1();
    uint8_t secret[32], ct[80], want[16];
    uint8_t key[MLS_MAX_AEAD_KEY], nonce[MLS_MAX_AEAD_NONCE];
    uint8_t k2[MLS_MAX_AEAD_KEY], n2[MLS_MAX_AEAD_NONCE];
    size_t ct_n;

    /* secret-tree.json entry 0, sender_data. */
    test_unhex_to("95684b805e1bbd9c71d1abaf8a1930c12112b9a06c12db937970be5bbb916573", secret, 32);
    ct_n = test_unhex_to(
        "156f2eb3fa482cff20e3a090c267ce6481d4a0976aee2adb921d70ae8a04a6494339462ac049"
        "f185e7184d8245270e54e68b72bd5df66800367c50e423cafec0260ac4dc743c24cabfc6060fc5",
        ct, sizeof(ct));
    CHECK_OK(mls_sender_data_key_nonce(s, mls_bytes_of(secret, 32), mls_bytes_of(ct, ct_n), key,
                                       nonce));
    test_unhex_to("92667d9c889a6b768c157538c0a79fed", want, 16);
    CHECK(test_same(key, want, 16));
    test_unhex_to("362785b1cc8bc775fcc216e7", want, 12);
    CHECK(test_same(nonce, want, 12));
    /* Only the first Nh bytes are sampled. */
    CHECK_OK(mls_sender_data_key_nonce(s, mls_bytes_of(secret, 32), mls_bytes_of(ct, 32), k2,
                                       n2));
    CHECK(test_same(key, k2, 16) && test_same(nonce, n2, 12));
    /* A shorter ciphertext is used whole, and gives other keys. */
    CHECK_OK(mls_sender_data_key_nonce(s, mls_bytes_of(secret, 32), mls_bytes_of(ct, 31), k2,
                                       n2));
    CHECK(!test_same(key, k2, 16));
    CHECK_OK(mls_sender_data_key_nonce(s, mls_bytes_of(secret, 32), mls_bytes_of(NULL, 0), k2,
                                       n2));

    /* Welcome key and nonce, by their definition in §12.4.3.1, all suites. */
    for (uint16_t id = 1; id <= 7; id++) {
        const mls_suite *su = mls_suite_get(id);
        uint8_t ws[MLS_MAX_HASH], wk[MLS_MAX_AEAD_KEY], wn[MLS_MAX_AEAD_NONCE];
        memset(ws, id, sizeof(ws));
        memset(key, 0, sizeof(key));
        CHECK_OK(mls_welcome_key_nonce(su, mls_bytes_of(ws, su->nh), key, nonce));
        CHECK_OK(mls_expand_with_label(su, mls_bytes_of(ws, su->nh), "key", mls_bytes_of(NULL, 0),
                                       wk, su->nk));
        CHECK_OK(mls_expand_with_label(su, mls_bytes_of(ws, su->nh), "nonce",
                                       mls_bytes_of(NULL, 0), wn, su->nn));
        CHECK(test_same(key, wk, su->nk) && test_same(nonce, wn, su->nn));
    }
}

/* key-schedule.json entry 0, epoch 0: external_pub from external_secret
 * (X25519 DeriveKeyPair of RFC 9180 §7.1.3, done by hpke.c). */
static void test_external_keypair(void)
{
    const mls_suite *s = suite1();
    uint8_t secret[32], want[32];
    mls_buf sk, pk;
    mls_buf_init(&sk);
    mls_buf_init(&pk);
    test_unhex_to("b5cb5666cfb9c501ed76715c6ed1cafbed5061cd6b86898ae5d3fd4cb05abb26", secret, 32);
    test_unhex_to("640117516be304ac1160933c894a6df9290231f1843f3685c124fc42c785c02c", want, 32);
    CHECK_OK(mls_key_schedule_external_keypair(s, mls_bytes_of(secret, 32), &sk, &pk));
    CHECK(pk.n == 32 && test_same(pk.p, want, 32));
    CHECK(sk.n == s->kem_nsk);
    mls_buf_clear(&sk);
    mls_buf_clear(&pk);
}

int main(void)
{
    test_known_answer();
    test_determinism();
    test_bad_lengths();
    test_exporter_lengths();
    test_psk_secret();
    test_sender_data_and_welcome();
    test_external_keypair();
    TEST_MAIN_END("test_key_schedule");
}
