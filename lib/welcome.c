/* RFC 9420 §12.4.3, §12.4.3.1: Welcome encryption and GroupInfo signatures. */
#include "welcome.h"

#include "detail.h"
#include "executor.h"
#include "key_schedule.h"

#include <string.h>

int mls_welcome_find_secrets(const mls_welcome *w, mls_bytes key_package_ref,
                             const mls_encrypted_group_secrets **out)
{
    if (!w || !out)
        return MLS_ERR_ARG;
    for (size_t i = 0; i < w->n_secrets; i++) {
        /* A KeyPackageRef is public, so a plain comparison is fine; the
         * constant-time one costs nothing here. */
        if (mls_ct_equal(mls_buf_view(&w->secrets[i].new_member), key_package_ref)) {
            *out = &w->secrets[i];
            return MLS_OK;
        }
    }
    return MLS_ERR_NOT_FOUND;
}

int mls_welcome_find_secrets_for_key_package(const mls_suite *s, const mls_welcome *w,
                                             const mls_key_package *kp,
                                             const mls_encrypted_group_secrets **out)
{
    mls_buf ref;
    int err;

    if (!s || !w || !kp || !out)
        return MLS_ERR_ARG;
    if (w->cipher_suite != s->id || kp->cipher_suite != s->id)
        return MLS_ERR_UNSUPPORTED;
    mls_buf_init(&ref);
    err = mls_key_package_ref(s, kp, &ref);
    if (!err)
        err = mls_welcome_find_secrets(w, mls_buf_view(&ref), out);
    mls_buf_clear(&ref);
    return err;
}

int mls_welcome_decrypt_group_secrets(const mls_suite *s, const mls_welcome *w,
                                      const mls_encrypted_group_secrets *egs,
                                      mls_bytes init_priv, mls_group_secrets *out)
{
    mls_buf pt;
    mls_group_secrets gs;
    int err;

    if (!s || !w || !egs || !out)
        return MLS_ERR_ARG;
    mls_buf_init(&pt);
    memset(&gs, 0, sizeof(gs));
    /* RFC 9420 §12.4.3.1: the HPKE context binds the encrypted GroupInfo, so
     * group secrets cannot be moved to another Welcome. */
    err = mls_decrypt_with_label(s, init_priv, "Welcome", mls_buf_view(&w->encrypted_group_info),
                                 mls_buf_view(&egs->encrypted_group_secrets.kem_output),
                                 mls_buf_view(&egs->encrypted_group_secrets.ciphertext), &pt);
    if (err)
        goto out;
    if ((err = mls_group_secrets_decode_bytes(mls_buf_view(&pt), &gs)))
        goto out;
    /* joiner_secret feeds KDF.Extract as the salt of a Nh-byte schedule. */
    if (gs.joiner_secret.n != s->nh) {
        err = MLS_ERR_INVALID;
        goto out;
    }
    *out = gs;
    memset(&gs, 0, sizeof(gs));
out:
    mls_group_secrets_clear(&gs);
    mls_buf_clear(&pt);
    return err;
}

int mls_welcome_secret(const mls_suite *s, mls_bytes joiner_secret, mls_bytes psk_secret,
                       uint8_t out[MLS_MAX_HASH])
{
    static const uint8_t zeros[MLS_MAX_HASH];
    uint8_t member[MLS_MAX_HASH];
    int err;

    if (!s || joiner_secret.n != s->nh || (psk_secret.n != 0 && psk_secret.n != s->nh))
        return MLS_ERR_ARG;
    /* RFC 9420 §8: psk_secret is the all-zero vector of Nh bytes when the
     * epoch uses no PSK. */
    if (psk_secret.n == 0)
        psk_secret = mls_bytes_of(zeros, s->nh);
    err = mls_hkdf_extract(s, joiner_secret, psk_secret, member);
    if (!err)
        err = mls_derive_secret(s, mls_bytes_of(member, s->nh), "welcome", out);
    mls_wipe(member, sizeof(member));
    return err;
}

int mls_welcome_decrypt_group_info(const mls_suite *s, const mls_welcome *w,
                                   mls_bytes welcome_secret, mls_group_info *out)
{
    uint8_t key[MLS_MAX_AEAD_KEY], nonce[MLS_MAX_AEAD_NONCE];
    mls_buf pt;
    mls_group_info gi;
    int err;

    if (!s || !w || !out || welcome_secret.n != s->nh)
        return MLS_ERR_ARG;
    mls_buf_init(&pt);
    memset(&gi, 0, sizeof(gi));
    if ((err = mls_welcome_key_nonce(s, welcome_secret, key, nonce)))
        goto out;
    err = mls_aead_open(s, mls_bytes_of(key, s->nk), mls_bytes_of(nonce, s->nn),
                        mls_bytes_of(NULL, 0), mls_buf_view(&w->encrypted_group_info), &pt);
    if (err)
        goto out;
    if ((err = mls_group_info_decode_bytes(mls_buf_view(&pt), &gi)))
        goto out;
    /* RFC 9420 §12.4.3.1: the Welcome's cipher_suite is the group's. */
    if (gi.group_context.cipher_suite != w->cipher_suite ||
        gi.group_context.cipher_suite != s->id) {
        err = MLS_ERR_INVALID;
        goto out;
    }
    *out = gi;
    memset(&gi, 0, sizeof(gi));
out:
    mls_group_info_clear(&gi);
    mls_buf_clear(&pt);
    mls_wipe(key, sizeof(key));
    mls_wipe(nonce, sizeof(nonce));
    return err;
}

int mls_group_info_verify(const mls_suite *s, const mls_group_info *gi, mls_bytes signer_pub)
{
    mls_buf tbs;
    int err;

    if (!s || !gi)
        return MLS_ERR_ARG;
    mls_buf_init(&tbs);
    err = mls_group_info_tbs_encode(gi, &tbs);
    if (!err)
        err = mls_verify_with_label(s, signer_pub, "GroupInfoTBS", mls_buf_view(&tbs),
                                    mls_buf_view(&gi->signature));
    mls_buf_clear(&tbs);
    return err;
}

int mls_group_info_verify_confirmation_tag(const mls_suite *s, const mls_group_info *gi,
                                           mls_bytes confirmation_key)
{
    uint8_t want[MLS_MAX_HASH];
    int err;

    if (!s || !gi || confirmation_key.n != s->nh)
        return MLS_ERR_ARG;
    /* RFC 9420 §6.1: confirmation_tag = MAC(confirmation_key,
     * confirmed_transcript_hash); every suite's MAC is HMAC (§5.1). */
    err = mls_hmac(s, confirmation_key, mls_buf_view(&gi->group_context.confirmed_transcript_hash),
                   want);
    if (!err && !mls_ct_equal(mls_bytes_of(want, s->nh), mls_buf_view(&gi->confirmation_tag)))
        err = MLS_DETAIL(MLS_ERR_MAC, "RFC 9420 §12.4.3.1: GroupInfo confirmation_tag mismatch");
    mls_wipe(want, sizeof(want));
    return err;
}

int mls_group_info_sign(const mls_suite *s, const mls_env *env, mls_group_info *gi,
                        mls_bytes signer_priv)
{
    mls_buf tbs, sig;
    int err;

    if (!s || !gi)
        return MLS_ERR_ARG;
    mls_buf_init(&tbs);
    mls_buf_init(&sig);
    if ((err = mls_group_info_tbs_encode(gi, &tbs)) ||
        (err = mls_sign_with_label(s, env, signer_priv, "GroupInfoTBS", mls_buf_view(&tbs), &sig)))
        goto out;
    mls_buf_clear(&gi->signature);
    gi->signature = sig;
    mls_buf_init(&sig);
out:
    mls_buf_clear(&sig);
    mls_buf_clear(&tbs);
    return err;
}

int mls_welcome_encrypt_group_info(const mls_suite *s, mls_bytes welcome_secret,
                                   const mls_group_info *gi, mls_buf *out)
{
    uint8_t key[MLS_MAX_AEAD_KEY], nonce[MLS_MAX_AEAD_NONCE];
    mls_buf pt, ct;
    int err;

    if (!s || !gi || !out || welcome_secret.n != s->nh)
        return MLS_ERR_ARG;
    mls_buf_init(&pt);
    mls_buf_init(&ct);
    if ((err = mls_welcome_key_nonce(s, welcome_secret, key, nonce)) ||
        (err = mls_group_info_encode(gi, &pt)) ||
        (err = mls_aead_seal(s, mls_bytes_of(key, s->nk), mls_bytes_of(nonce, s->nn),
                             mls_bytes_of(NULL, 0), mls_buf_view(&pt), &ct)))
        goto out;
    mls_buf_clear(out);
    *out = ct;
    mls_buf_init(&ct);
out:
    mls_buf_clear(&ct);
    mls_buf_clear(&pt);
    mls_wipe(key, sizeof(key));
    mls_wipe(nonce, sizeof(nonce));
    return err;
}

int mls_welcome_encrypt_group_secrets(const mls_suite *s, const mls_env *env, mls_bytes init_key,
                                      mls_bytes encrypted_group_info,
                                      const mls_group_secrets *gs, mls_hpke_ciphertext *out)
{
    mls_buf pt;
    mls_hpke_ciphertext ct;
    int err;

    if (!s || !gs || !out)
        return MLS_ERR_ARG;
    mls_buf_init(&pt);
    memset(&ct, 0, sizeof(ct));
    if ((err = mls_group_secrets_encode(gs, &pt)) ||
        (err = mls_encrypt_with_label(s, env, init_key, "Welcome", encrypted_group_info,
                                      mls_buf_view(&pt), &ct.kem_output, &ct.ciphertext)))
        goto out;
    *out = ct;
    memset(&ct, 0, sizeof(ct));
out:
    mls_hpke_ciphertext_clear(&ct);
    mls_buf_clear(&pt);
    return err;
}

typedef struct welcome_seal_job {
    const mls_suite *s;
    const mls_env *env;
    mls_bytes context_hash;
    const mls_bytes *init_keys;
    const mls_buf *group_secrets;
    mls_encrypted_group_secrets *out;
    mls_rng_tape tape;
} welcome_seal_job;

static int seal_one(void *arg, size_t i)
{
    const welcome_seal_job *j = arg;
    mls_hpke_ciphertext *c = &j->out[i].encrypted_group_secrets;
    mls_rng_item cursor;
    mls_env ienv;
    mls_hpke_ciphertext_clear(c);
    mls_rng_tape_env(&j->tape, i, j->env, &cursor, &ienv);
    return mls_encrypt_with_label_hashed(j->s, &ienv, j->init_keys[i], j->context_hash,
                                         mls_buf_view(&j->group_secrets[i]), &c->kem_output,
                                         &c->ciphertext);
}

int mls_welcome_seal_group_secrets(const mls_suite *s, const mls_env *env, mls_bytes context_hash,
                                   const mls_bytes *init_keys, const mls_buf *group_secrets,
                                   size_t n, mls_encrypted_group_secrets *out)
{
    welcome_seal_job job;
    int err;

    if (!s || !env || (n && (!init_keys || !group_secrets || !out)))
        return MLS_ERR_ARG;
    memset(&job, 0, sizeof(job));
    /* RFC 9180 §4 GenerateKeyPair: Nsk random bytes per encryption, drawn
     * in member order before the parallel part. */
    err = mls_rng_tape_draw(env, n, s->kem_nsk, &job.tape);
    if (err)
        return err;
    job.s = s;
    job.env = env;
    job.context_hash = context_hash;
    job.init_keys = init_keys;
    job.group_secrets = group_secrets;
    job.out = out;
    err = mls_exec_for(env, n, seal_one, &job);
    mls_rng_tape_clear(&job.tape);
    return err;
}
