/* Unit tests for lib/welcome.c (RFC 9420 §12.4.3). */
#include "test.h"

#include "welcome.h"

#include "key_schedule.h"

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + 13u * i);
}

typedef struct world {
    const mls_suite *s;
    mls_buf init_sk, init_pk, sig_sk, sig_pk;
    uint8_t joiner[MLS_MAX_HASH], psk[MLS_MAX_HASH], ref[MLS_MAX_HASH];
    mls_group_info gi;
    mls_welcome w;
    uint8_t confirmation_key[MLS_MAX_HASH];
} world;

/* The committer's side: a signed GroupInfo with the right confirmation
 * tag, encrypted under welcome_secret, and GroupSecrets for one new member
 * (plus a decoy entry for someone else). */
static void world_init(world *x, uint16_t suite, int with_psk)
{
    const mls_env *env = mls_env_default();
    mls_group_secrets gs;
    mls_epoch_secrets es;
    mls_buf gc;
    uint8_t ws[MLS_MAX_HASH];

    memset(x, 0, sizeof(*x));
    x->s = mls_suite_get(suite);
    const mls_suite *s = x->s;
    CHECK_OK(mls_hpke_generate_keypair(s, env, &x->init_sk, &x->init_pk));
    CHECK_OK(mls_sig_keygen(s, env, &x->sig_sk, &x->sig_pk));
    fill(x->joiner, s->nh, 5);
    fill(x->psk, s->nh, 6);
    fill(x->ref, s->nh, 7);
    mls_bytes psk = with_psk ? mls_bytes_of(x->psk, s->nh) : mls_bytes_of(NULL, 0);

    mls_group_context *ctx = &x->gi.group_context;
    ctx->version = MLS_VERSION_MLS10;
    ctx->cipher_suite = suite;
    ctx->epoch = 3;
    CHECK_OK(mls_buf_set(&ctx->group_id, "g", 1));
    CHECK_OK(mls_buf_set(&ctx->tree_hash, x->ref, s->nh));
    CHECK_OK(mls_buf_set(&ctx->confirmed_transcript_hash, x->psk, s->nh));
    mls_buf_init(&gc);
    CHECK_OK(mls_group_context_encode(ctx, &gc));
    CHECK_OK(mls_key_schedule_from_joiner(s, mls_bytes_of(x->joiner, s->nh), psk,
                                          mls_buf_view(&gc), &es));
    memcpy(x->confirmation_key, es.confirmation_key, s->nh);
    CHECK_OK(mls_welcome_secret(s, mls_bytes_of(x->joiner, s->nh), psk, ws));
    /* Same welcome_secret as the full key schedule. */
    CHECK(memcmp(ws, es.welcome_secret, s->nh) == 0);
    uint8_t tag[MLS_MAX_HASH];
    CHECK_OK(mls_hmac(s, mls_bytes_of(es.confirmation_key, s->nh),
                      mls_buf_view(&ctx->confirmed_transcript_hash), tag));
    CHECK_OK(mls_buf_set(&x->gi.confirmation_tag, tag, s->nh));
    x->gi.signer = 0;
    CHECK_OK(mls_group_info_sign(s, env, &x->gi, mls_buf_view(&x->sig_sk)));

    x->w.cipher_suite = suite;
    CHECK_OK(mls_welcome_encrypt_group_info(s, mls_bytes_of(ws, s->nh), &x->gi,
                                            &x->w.encrypted_group_info));
    memset(&gs, 0, sizeof(gs));
    CHECK_OK(mls_buf_set(&gs.joiner_secret, x->joiner, s->nh));
    x->w.secrets = calloc(2, sizeof(*x->w.secrets));
    CHECK(x->w.secrets != NULL);
    x->w.n_secrets = 2;
    /* Entry 0: someone else (different ref, different key). */
    {
        mls_buf sk2, pk2;
        mls_buf_init(&sk2);
        mls_buf_init(&pk2);
        CHECK_OK(mls_hpke_generate_keypair(s, env, &sk2, &pk2));
        CHECK_OK(mls_buf_set(&x->w.secrets[0].new_member, x->psk, s->nh));
        CHECK_OK(mls_welcome_encrypt_group_secrets(s, env, mls_buf_view(&pk2),
                                                   mls_buf_view(&x->w.encrypted_group_info),
                                                   &gs, &x->w.secrets[0].encrypted_group_secrets));
        mls_buf_clear(&sk2);
        mls_buf_clear(&pk2);
    }
    CHECK_OK(mls_buf_set(&x->w.secrets[1].new_member, x->ref, s->nh));
    CHECK_OK(mls_welcome_encrypt_group_secrets(s, env, mls_buf_view(&x->init_pk),
                                               mls_buf_view(&x->w.encrypted_group_info), &gs,
                                               &x->w.secrets[1].encrypted_group_secrets));
    mls_group_secrets_clear(&gs);
    mls_epoch_secrets_clear(&es);
    mls_buf_clear(&gc);
    mls_wipe(ws, sizeof(ws));
}

static void world_clear(world *x)
{
    mls_buf_clear(&x->init_sk);
    mls_buf_clear(&x->init_pk);
    mls_buf_clear(&x->sig_sk);
    mls_buf_clear(&x->sig_pk);
    mls_group_info_clear(&x->gi);
    mls_welcome_clear(&x->w);
}

/* The joiner's side, as the group engine will run it. */
static int join(const world *x, const mls_welcome *w, mls_bytes init_sk, mls_bytes psk,
                mls_group_info *out)
{
    const mls_suite *s = x->s;
    const mls_encrypted_group_secrets *egs;
    mls_group_secrets gs;
    uint8_t ws[MLS_MAX_HASH];
    int err;

    memset(&gs, 0, sizeof(gs));
    if ((err = mls_welcome_find_secrets(w, mls_bytes_of(x->ref, s->nh), &egs)) ||
        (err = mls_welcome_decrypt_group_secrets(s, w, egs, init_sk, &gs)) ||
        (err = mls_welcome_secret(s, mls_buf_view(&gs.joiner_secret), psk, ws)) ||
        (err = mls_welcome_decrypt_group_info(s, w, mls_bytes_of(ws, s->nh), out)))
        goto out;
out:
    mls_group_secrets_clear(&gs);
    mls_wipe(ws, sizeof(ws));
    return err;
}

static void test_round_trip(uint16_t suite, int with_psk)
{
    world x;
    mls_group_info gi;
    mls_welcome w2;
    world_init(&x, suite, with_psk);
    const mls_suite *s = x.s;
    mls_bytes psk = with_psk ? mls_bytes_of(x.psk, s->nh) : mls_bytes_of(NULL, 0);
    mls_bytes other_psk = with_psk ? mls_bytes_of(NULL, 0) : mls_bytes_of(x.psk, s->nh);

    memset(&gi, 0, sizeof(gi));
    CHECK_OK(join(&x, &x.w, mls_buf_view(&x.init_sk), psk, &gi));
    CHECK_OK(mls_group_info_verify(s, &gi, mls_buf_view(&x.sig_pk)));
    CHECK_OK(mls_group_info_verify_confirmation_tag(s, &gi,
                                                    mls_bytes_of(x.confirmation_key, s->nh)));
    CHECK(gi.group_context.epoch == 3 && gi.signer == 0);

    /* Tampered signature, wrong signer, wrong confirmation key. */
    gi.signature.p[gi.signature.n / 2] ^= 1;
    CHECK_ERR(mls_group_info_verify(s, &gi, mls_buf_view(&x.sig_pk)), MLS_ERR_SIGNATURE);
    gi.signature.p[gi.signature.n / 2] ^= 1;
    gi.group_context.epoch++;
    CHECK_ERR(mls_group_info_verify(s, &gi, mls_buf_view(&x.sig_pk)), MLS_ERR_SIGNATURE);
    gi.group_context.epoch--;
    CHECK_ERR(mls_group_info_verify(s, &gi, mls_buf_view(&x.init_pk)), MLS_ERR_SIGNATURE);
    CHECK_ERR(mls_group_info_verify_confirmation_tag(s, &gi, mls_bytes_of(x.psk, s->nh)),
              MLS_ERR_MAC);
    CHECK_ERR(mls_group_info_verify_confirmation_tag(s, &gi, mls_bytes_of(x.psk, 3)),
              MLS_ERR_ARG);
    mls_group_info_clear(&gi);

    /* Wrong init key; wrong PSK secret (group secrets open, GroupInfo does
     * not); no entry for us. */
    {
        mls_buf sk2, pk2;
        mls_buf_init(&sk2);
        mls_buf_init(&pk2);
        CHECK_OK(mls_hpke_generate_keypair(s, mls_env_default(), &sk2, &pk2));
        CHECK_ERR(join(&x, &x.w, mls_buf_view(&sk2), psk, &gi), MLS_ERR_DECRYPT);
        mls_buf_clear(&sk2);
        mls_buf_clear(&pk2);
    }
    CHECK_ERR(join(&x, &x.w, mls_buf_view(&x.init_sk), other_psk, &gi), MLS_ERR_DECRYPT);
    {
        const mls_encrypted_group_secrets *egs = NULL;
        CHECK_ERR(mls_welcome_find_secrets(&x.w, mls_bytes_of(x.joiner, s->nh), &egs),
                  MLS_ERR_NOT_FOUND);
        CHECK(egs == NULL);
    }
    /* The group secrets are bound to the encrypted GroupInfo (HPKE
     * context); a changed GroupInfo ciphertext breaks both. */
    CHECK_OK(mls_welcome_copy(&w2, &x.w));
    w2.encrypted_group_info.p[0] ^= 1;
    CHECK_ERR(join(&x, &w2, mls_buf_view(&x.init_sk), psk, &gi), MLS_ERR_DECRYPT);
    mls_welcome_clear(&w2);
    CHECK_OK(mls_welcome_copy(&w2, &x.w));
    w2.secrets[1].encrypted_group_secrets.ciphertext.p[0] ^= 1;
    CHECK_ERR(join(&x, &w2, mls_buf_view(&x.init_sk), psk, &gi), MLS_ERR_DECRYPT);
    mls_welcome_clear(&w2);
    /* A Welcome that claims another suite. */
    CHECK_OK(mls_welcome_copy(&w2, &x.w));
    w2.cipher_suite = suite == 1 ? 3 : 1;
    {
        mls_key_package kp;
        const mls_encrypted_group_secrets *egs;
        memset(&kp, 0, sizeof(kp));
        kp.cipher_suite = suite;
        CHECK_ERR(mls_welcome_find_secrets_for_key_package(s, &w2, &kp, &egs),
                  MLS_ERR_UNSUPPORTED);
    }
    CHECK_ERR(join(&x, &w2, mls_buf_view(&x.init_sk), psk, &gi), MLS_ERR_INVALID);
    mls_welcome_clear(&w2);
    world_clear(&x);
}

/* GroupSecrets whose joiner_secret is not Nh bytes are refused. */
static void test_bad_group_secrets(void)
{
    world x;
    mls_group_secrets gs, got;
    const mls_encrypted_group_secrets *egs;
    world_init(&x, MLS_SUITE_X25519_AES128GCM_SHA256_ED25519, 0);
    const mls_suite *s = x.s;

    memset(&gs, 0, sizeof(gs));
    memset(&got, 0, sizeof(got));
    CHECK_OK(mls_buf_set(&gs.joiner_secret, x.joiner, s->nh - 1));
    mls_hpke_ciphertext_clear(&x.w.secrets[1].encrypted_group_secrets);
    CHECK_OK(mls_welcome_encrypt_group_secrets(s, mls_env_default(), mls_buf_view(&x.init_pk),
                                               mls_buf_view(&x.w.encrypted_group_info), &gs,
                                               &x.w.secrets[1].encrypted_group_secrets));
    CHECK_OK(mls_welcome_find_secrets(&x.w, mls_bytes_of(x.ref, s->nh), &egs));
    CHECK(egs == &x.w.secrets[1]);
    CHECK_ERR(mls_welcome_decrypt_group_secrets(s, &x.w, egs, mls_buf_view(&x.init_sk), &got),
              MLS_ERR_INVALID);
    CHECK(got.joiner_secret.n == 0);
    mls_group_secrets_clear(&gs);

    /* Arguments. */
    uint8_t out[MLS_MAX_HASH];
    CHECK_ERR(mls_welcome_secret(s, mls_bytes_of(x.joiner, 5), mls_bytes_of(NULL, 0), out),
              MLS_ERR_ARG);
    CHECK_ERR(mls_welcome_secret(s, mls_bytes_of(x.joiner, s->nh), mls_bytes_of(x.psk, 5), out),
              MLS_ERR_ARG);
    CHECK_ERR(mls_welcome_decrypt_group_info(s, &x.w, mls_bytes_of(x.joiner, 5), &x.gi),
              MLS_ERR_ARG);
    world_clear(&x);
}

int main(void)
{
    static const uint16_t suites[] = {
        MLS_SUITE_X25519_AES128GCM_SHA256_ED25519, MLS_SUITE_P256_AES128GCM_SHA256_P256,
        MLS_SUITE_X448_CHACHA20POLY1305_SHA512_ED448, MLS_SUITE_P521_AES256GCM_SHA512_P521};
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
        test_round_trip(suites[i], 0);
        test_round_trip(suites[i], 1);
    }
    test_bad_group_secrets();
    TEST_MAIN_END("test_welcome");
}
