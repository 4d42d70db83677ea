/* RFC 9420 §8: key schedule, PSK secret, exporter; §6.3.2 sender data keys;
 * §12.4.3.1 welcome keys. */
#include "key_schedule.h"

#include "codec.h"
#include "crypto.h"
#include "hpke.h"

#include <string.h>

static const uint8_t zeros[MLS_MAX_HASH];

void mls_epoch_secrets_clear(mls_epoch_secrets *e)
{
    if (e)
        mls_wipe(e, sizeof(*e));
}

/* A secret input that is either Nh bytes or empty for the all-zero value
 * (RFC 9420 §8: "0 represents an all-zero byte string of length KDF.Nh"). */
static int secret_or_zero(const mls_suite *s, mls_bytes in, mls_bytes *out)
{
    if (in.n == 0) {
        *out = mls_bytes_of(zeros, s->nh);
        return MLS_OK;
    }
    if (in.n != s->nh)
        return MLS_ERR_ARG;
    *out = in;
    return MLS_OK;
}

int mls_key_schedule_joiner(const mls_suite *s, mls_bytes init_secret, mls_bytes commit_secret,
                            mls_bytes group_context, uint8_t out[MLS_MAX_HASH])
{
    uint8_t prk[MLS_MAX_HASH];
    mls_bytes commit;
    int err;

    if (!s || init_secret.n != s->nh)
        return MLS_ERR_ARG;
    if ((err = secret_or_zero(s, commit_secret, &commit)))
        return err;
    /* The salt of KDF.Extract comes from above in the diagram of §8
     * (init_secret), the IKM from the left (commit_secret). */
    err = mls_hkdf_extract(s, init_secret, commit, prk);
    if (!err)
        err = mls_expand_with_label(s, mls_bytes_of(prk, s->nh), "joiner", group_context, out,
                                    s->nh);
    mls_wipe(prk, sizeof(prk));
    return err;
}

int mls_key_schedule_from_joiner(const mls_suite *s, mls_bytes joiner_secret,
                                 mls_bytes psk_secret, mls_bytes group_context,
                                 mls_epoch_secrets *out)
{
    /* RFC 9420 §8, table "Epoch-Derived Secrets". */
    static const struct {
        const char *label;
        size_t offset;
    } derived[] = {
        {"sender data", offsetof(mls_epoch_secrets, sender_data_secret)},
        {"encryption", offsetof(mls_epoch_secrets, encryption_secret)},
        {"exporter", offsetof(mls_epoch_secrets, exporter_secret)},
        {"external", offsetof(mls_epoch_secrets, external_secret)},
        {"confirm", offsetof(mls_epoch_secrets, confirmation_key)},
        {"membership", offsetof(mls_epoch_secrets, membership_key)},
        {"resumption", offsetof(mls_epoch_secrets, resumption_psk)},
        {"authentication", offsetof(mls_epoch_secrets, epoch_authenticator)},
        {"init", offsetof(mls_epoch_secrets, init_secret)},
    };
    mls_epoch_secrets e;
    uint8_t member[MLS_MAX_HASH], epoch[MLS_MAX_HASH];
    mls_bytes psk;
    int err;

    if (!s || joiner_secret.n != s->nh)
        return MLS_ERR_ARG;
    if ((err = secret_or_zero(s, psk_secret, &psk)))
        return err;
    memset(&e, 0, sizeof(e));
    e.suite = s;
    memcpy(e.joiner_secret, joiner_secret.p, s->nh);
    /* member = KDF.Extract(salt = joiner_secret, ikm = psk_secret). */
    if ((err = mls_hkdf_extract(s, joiner_secret, psk, member)))
        goto out;
    mls_bytes m = mls_bytes_of(member, s->nh);
    if ((err = mls_derive_secret(s, m, "welcome", e.welcome_secret)) ||
        (err = mls_expand_with_label(s, m, "epoch", group_context, epoch, s->nh)))
        goto out;
    for (size_t i = 0; i < sizeof(derived) / sizeof(derived[0]); i++) {
        uint8_t *dst = (uint8_t *)&e + derived[i].offset;
        if ((err = mls_derive_secret(s, mls_bytes_of(epoch, s->nh), derived[i].label, dst)))
            goto out;
    }
    *out = e;
out:
    mls_wipe(&e, sizeof(e));
    mls_wipe(member, sizeof(member));
    mls_wipe(epoch, sizeof(epoch));
    return err;
}

int mls_key_schedule_epoch(const mls_suite *s, mls_bytes init_secret, mls_bytes commit_secret,
                           mls_bytes psk_secret, mls_bytes group_context, mls_epoch_secrets *out)
{
    uint8_t joiner[MLS_MAX_HASH];
    int err = mls_key_schedule_joiner(s, init_secret, commit_secret, group_context, joiner);
    if (!err)
        err = mls_key_schedule_from_joiner(s, mls_bytes_of(joiner, s->nh), psk_secret,
                                           group_context, out);
    mls_wipe(joiner, sizeof(joiner));
    return err;
}

int mls_key_schedule_external_keypair(const mls_suite *s, mls_bytes external_secret, mls_buf *sk,
                                      mls_buf *pk)
{
    if (!s || external_secret.n != s->nh)
        return MLS_ERR_ARG;
    return mls_hpke_derive_keypair(s, external_secret, sk, pk);
}

int mls_exporter(const mls_suite *s, mls_bytes exporter_secret, mls_bytes label,
                 mls_bytes context, uint8_t *out, size_t length)
{
    uint8_t derived[MLS_MAX_HASH], ctx_hash[MLS_MAX_HASH];
    int err;

    if (!s || exporter_secret.n != s->nh || length > 0xffff || length > 255 * s->nh)
        return MLS_ERR_ARG;
    if ((err = mls_expand_with_label_bytes(s, exporter_secret, label, mls_bytes_of(NULL, 0),
                                           derived, s->nh)) ||
        (err = mls_hash(s, context, ctx_hash)))
        goto out;
    err = mls_expand_with_label(s, mls_bytes_of(derived, s->nh), "exported",
                                mls_bytes_of(ctx_hash, s->nh), out, length);
out:
    mls_wipe(derived, sizeof(derived));
    mls_wipe(ctx_hash, sizeof(ctx_hash));
    return err;
}

int mls_psk_secret(const mls_suite *s, const mls_psk_input *psks, size_t n,
                   uint8_t out[MLS_MAX_HASH])
{
    uint8_t secret[MLS_MAX_HASH], extracted[MLS_MAX_HASH], input[MLS_MAX_HASH];
    mls_buf label;
    int err = MLS_OK;

    if (!s || n > 0xffff || (n && !psks))
        return MLS_ERR_ARG;
    mls_buf_init(&label);
    /* psk_secret_[0] = 0 */
    memset(secret, 0, sizeof(secret));
    for (size_t i = 0; i < n; i++) {
        /* struct { PreSharedKeyID id; uint16 index; uint16 count; } PSKLabel; */
        mls_buf_reset(&label);
        if ((err = mls_buf_append(&label, psks[i].id.p, psks[i].id.n)) ||
            (err = mls_write_u16(&label, (uint16_t)i)) ||
            (err = mls_write_u16(&label, (uint16_t)n)))
            goto out;
        /* psk_extracted_[i] = KDF.Extract(0, psk_[i]) */
        if ((err = mls_hkdf_extract(s, mls_bytes_of(zeros, s->nh), psks[i].psk, extracted)))
            goto out;
        /* psk_input_[i] = ExpandWithLabel(psk_extracted_[i], "derived psk",
         *                                 PSKLabel, KDF.Nh) */
        if ((err = mls_expand_with_label(s, mls_bytes_of(extracted, s->nh), "derived psk",
                                         mls_buf_view(&label), input, s->nh)))
            goto out;
        /* psk_secret_[i+1] = KDF.Extract(psk_input_[i], psk_secret_[i]) */
        if ((err = mls_hkdf_extract(s, mls_bytes_of(input, s->nh), mls_bytes_of(secret, s->nh),
                                    secret)))
            goto out;
    }
    memcpy(out, secret, s->nh);
out:
    mls_buf_clear(&label);
    mls_wipe(secret, sizeof(secret));
    mls_wipe(extracted, sizeof(extracted));
    mls_wipe(input, sizeof(input));
    return err;
}

int mls_sender_data_key_nonce(const mls_suite *s, mls_bytes sender_data_secret,
                              mls_bytes ciphertext, uint8_t key[MLS_MAX_AEAD_KEY],
                              uint8_t nonce[MLS_MAX_AEAD_NONCE])
{
    uint8_t k[MLS_MAX_AEAD_KEY], nn[MLS_MAX_AEAD_NONCE];
    int err;

    if (!s || sender_data_secret.n != s->nh)
        return MLS_ERR_ARG;
    /* ciphertext_sample = ciphertext[0..KDF.Nh-1], or all of a shorter one */
    mls_bytes sample = mls_bytes_of(ciphertext.p, ciphertext.n < s->nh ? ciphertext.n : s->nh);
    err = mls_expand_with_label(s, sender_data_secret, "key", sample, k, s->nk);
    if (!err)
        err = mls_expand_with_label(s, sender_data_secret, "nonce", sample, nn, s->nn);
    if (!err) {
        memcpy(key, k, s->nk);
        memcpy(nonce, nn, s->nn);
    }
    mls_wipe(k, sizeof(k));
    mls_wipe(nn, sizeof(nn));
    return err;
}

int mls_welcome_key_nonce(const mls_suite *s, mls_bytes welcome_secret,
                          uint8_t key[MLS_MAX_AEAD_KEY], uint8_t nonce[MLS_MAX_AEAD_NONCE])
{
    uint8_t k[MLS_MAX_AEAD_KEY], nn[MLS_MAX_AEAD_NONCE];
    int err;

    if (!s || welcome_secret.n != s->nh)
        return MLS_ERR_ARG;
    err = mls_expand_with_label(s, welcome_secret, "nonce", mls_bytes_of(NULL, 0), nn, s->nn);
    if (!err)
        err = mls_expand_with_label(s, welcome_secret, "key", mls_bytes_of(NULL, 0), k, s->nk);
    if (!err) {
        memcpy(key, k, s->nk);
        memcpy(nonce, nn, s->nn);
    }
    mls_wipe(k, sizeof(k));
    mls_wipe(nn, sizeof(nn));
    return err;
}
