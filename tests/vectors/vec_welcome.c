/* welcome.json: a joiner decrypts a Welcome (RFC 9420 §12.4.3.1) and checks
 * the GroupInfo's signature and confirmation tag, using lib/welcome.h. */
#include "vec.h"

#include <string.h>

#include "key_schedule.h"
#include "welcome.h"

int vec_welcome(json_t *entry)
{
    const mls_suite *s;
    mls_buf init_priv, signer_pub, kp_raw, welcome_raw;
    mls_message kp_msg, w_msg;
    mls_group_secrets gs;
    mls_group_info gi;
    mls_epoch_secrets es;
    mls_buf gc;
    const mls_encrypted_group_secrets *egs;
    uint8_t welcome_secret[MLS_MAX_HASH];
    int rc = -1, err;

    mls_buf_init(&init_priv);
    mls_buf_init(&signer_pub);
    mls_buf_init(&kp_raw);
    mls_buf_init(&welcome_raw);
    mls_buf_init(&gc);
    memset(&kp_msg, 0, sizeof(kp_msg));
    memset(&w_msg, 0, sizeof(w_msg));
    memset(&gs, 0, sizeof(gs));
    memset(&gi, 0, sizeof(gi));
    memset(&es, 0, sizeof(es));
    if (vec_suite(entry, &s))
        goto out;
    if (vec_hex(entry, "init_priv", &init_priv) || vec_hex(entry, "signer_pub", &signer_pub) ||
        vec_hex(entry, "key_package", &kp_raw) || vec_hex(entry, "welcome", &welcome_raw))
        goto out;
    if ((err = mls_message_decode_bytes(mls_buf_view(&kp_raw), &kp_msg)) ||
        (err = mls_message_decode_bytes(mls_buf_view(&welcome_raw), &w_msg))) {
        vec_fail("decode: %s", mls_errname(err));
        goto out;
    }
    if (kp_msg.wire_format != MLS_WIRE_KEY_PACKAGE || w_msg.wire_format != MLS_WIRE_WELCOME) {
        vec_fail("unexpected wire formats %u, %u", kp_msg.wire_format, w_msg.wire_format);
        goto out;
    }
    const mls_welcome *w = &w_msg.welcome;
    if ((err = mls_welcome_find_secrets_for_key_package(s, w, &kp_msg.key_package, &egs))) {
        vec_fail("no secrets for the key package: %s", mls_errname(err));
        goto out;
    }
    if ((err = mls_welcome_decrypt_group_secrets(s, w, egs, mls_buf_view(&init_priv), &gs))) {
        vec_fail("group secrets: %s", mls_errname(err));
        goto out;
    }
    /* No PSKs: psk_secret is the zero vector. */
    if ((err = mls_welcome_secret(s, mls_buf_view(&gs.joiner_secret), mls_bytes_of(NULL, 0),
                                  welcome_secret)) ||
        (err = mls_welcome_decrypt_group_info(s, w, mls_bytes_of(welcome_secret, s->nh), &gi))) {
        vec_fail("group info: %s", mls_errname(err));
        goto out;
    }
    if ((err = mls_group_info_verify(s, &gi, mls_buf_view(&signer_pub)))) {
        vec_fail("group info signature: %s", mls_errname(err));
        goto out;
    }
    /* The key schedule of the joined epoch gives the confirmation key. */
    if ((err = mls_group_context_encode(&gi.group_context, &gc)) ||
        (err = mls_key_schedule_from_joiner(s, mls_buf_view(&gs.joiner_secret),
                                            mls_bytes_of(NULL, 0), mls_buf_view(&gc), &es))) {
        vec_fail("key schedule: %s", mls_errname(err));
        goto out;
    }
    if (vec_expect_bytes("welcome_secret", mls_bytes_of(es.welcome_secret, s->nh),
                         mls_bytes_of(welcome_secret, s->nh)))
        goto out;
    if ((err = mls_group_info_verify_confirmation_tag(s, &gi,
                                                      mls_bytes_of(es.confirmation_key, s->nh)))) {
        vec_fail("confirmation tag: %s", mls_errname(err));
        goto out;
    }
    rc = 0;
out:
    mls_wipe(welcome_secret, sizeof(welcome_secret));
    mls_epoch_secrets_clear(&es);
    mls_group_info_clear(&gi);
    mls_group_secrets_clear(&gs);
    mls_message_clear(&kp_msg);
    mls_message_clear(&w_msg);
    mls_buf_clear(&init_priv);
    mls_buf_clear(&signer_pub);
    mls_buf_clear(&kp_raw);
    mls_buf_clear(&welcome_raw);
    mls_buf_clear(&gc);
    return rc;
}
