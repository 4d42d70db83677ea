/*
 * RFC 9420 wire structures, part 4: GroupInfo (§12.4.3), GroupSecrets,
 * EncryptedGroupSecrets and Welcome (§12.4.3.1), and the MLSMessage
 * envelope (§6).
 */
#include "messages_internal.h"

#include <stddef.h>
#include <string.h>

MSG_GLUE(group_info)
MSG_GLUE(group_secrets)
MSG_GLUE(encrypted_group_secrets)
MSG_GLUE(welcome)
MSG_GLUE(message)
MSG_ADAPTERS(psk_id)
MSG_ADAPTERS(public_message)
MSG_ADAPTERS(private_message)
MSG_ADAPTERS(key_package)

/* ------------------------------------------------------------ GroupInfo */

int mls_group_info_decode(mls_reader *r, mls_group_info *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_group_context_decode(r, &out->group_context));
    MSG_TRY(mls_extension_list_decode(r, &out->extensions));
    MSG_TRY(mls_read_vec_buf(r, &out->confirmation_tag));
    MSG_TRY(mls_read_u32(r, &out->signer));
    MSG_TRY(mls_read_vec_buf(r, &out->signature));
out:
    if (err) {
        mls_group_info_clear(out);
        r->off = save;
    }
    return err;
}

int mls_group_info_tbs_encode(const mls_group_info *x, mls_buf *w)
{
    int err;
    MSG_TRY(mls_group_context_encode(&x->group_context, w));
    MSG_TRY(mls_extension_list_encode(&x->extensions, w));
    MSG_TRY(msg_write_buf(w, &x->confirmation_tag));
    MSG_TRY(mls_write_u32(w, x->signer));
out:
    return err;
}

int mls_group_info_encode(const mls_group_info *x, mls_buf *w)
{
    int err;
    MSG_TRY(mls_group_info_tbs_encode(x, w));
    MSG_TRY(msg_write_buf(w, &x->signature));
out:
    return err;
}

void mls_group_info_clear(mls_group_info *x)
{
    mls_group_context_clear(&x->group_context);
    mls_extension_list_clear(&x->extensions);
    mls_buf_clear(&x->confirmation_tag);
    mls_buf_clear(&x->signature);
    x->signer = 0;
}

/* ------------------------------------------------------------ GroupSecrets */

int mls_group_secrets_decode(mls_reader *r, mls_group_secrets *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_read_vec_buf(r, &out->joiner_secret));
    /* optional<PathSecret>, PathSecret being struct { opaque path_secret<V>; } */
    MSG_TRY(mls_read_optional(r, &out->has_path_secret));
    if (out->has_path_secret)
        MSG_TRY(mls_read_vec_buf(r, &out->path_secret));
    MSG_TRY(msg_read_list(r, &out->psks, &out->n_psks, sizeof(mls_psk_id), psk_id_dec_v,
                          psk_id_clr_v));
out:
    if (err) {
        mls_group_secrets_clear(out);
        r->off = save;
    }
    return err;
}

int mls_group_secrets_encode(const mls_group_secrets *x, mls_buf *w)
{
    int err;
    MSG_TRY(msg_write_buf(w, &x->joiner_secret));
    MSG_TRY(mls_write_u8(w, x->has_path_secret ? 1 : 0));
    if (x->has_path_secret)
        MSG_TRY(msg_write_buf(w, &x->path_secret));
    MSG_TRY(msg_write_list(w, x->psks, x->n_psks, sizeof(mls_psk_id), psk_id_enc_v));
out:
    return err;
}

void mls_group_secrets_clear(mls_group_secrets *x)
{
    /* mls_buf_clear wipes: joiner_secret and path_secret are secrets. */
    mls_buf_clear(&x->joiner_secret);
    mls_buf_clear(&x->path_secret);
    x->has_path_secret = 0;
    msg_clear_list(&x->psks, &x->n_psks, sizeof(mls_psk_id), psk_id_clr_v);
}

/* ------------------------------------------------------------ Welcome */

int mls_encrypted_group_secrets_decode(mls_reader *r, mls_encrypted_group_secrets *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_read_vec_buf(r, &out->new_member));
    MSG_TRY(mls_hpke_ciphertext_decode(r, &out->encrypted_group_secrets));
out:
    if (err) {
        mls_encrypted_group_secrets_clear(out);
        r->off = save;
    }
    return err;
}

int mls_encrypted_group_secrets_encode(const mls_encrypted_group_secrets *x, mls_buf *w)
{
    int err;
    MSG_TRY(msg_write_buf(w, &x->new_member));
    MSG_TRY(mls_hpke_ciphertext_encode(&x->encrypted_group_secrets, w));
out:
    return err;
}

void mls_encrypted_group_secrets_clear(mls_encrypted_group_secrets *x)
{
    mls_buf_clear(&x->new_member);
    mls_hpke_ciphertext_clear(&x->encrypted_group_secrets);
}

int mls_welcome_decode(mls_reader *r, mls_welcome *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_read_u16(r, &out->cipher_suite));
    MSG_TRY(msg_read_list(r, &out->secrets, &out->n_secrets, sizeof(mls_encrypted_group_secrets),
                          encrypted_group_secrets_dec_v, encrypted_group_secrets_clr_v));
    MSG_TRY(mls_read_vec_buf(r, &out->encrypted_group_info));
out:
    if (err) {
        mls_welcome_clear(out);
        r->off = save;
    }
    return err;
}

int mls_welcome_encode(const mls_welcome *x, mls_buf *w)
{
    int err;
    MSG_TRY(mls_write_u16(w, x->cipher_suite));
    MSG_TRY(msg_write_list(w, x->secrets, x->n_secrets, sizeof(mls_encrypted_group_secrets),
                           encrypted_group_secrets_enc_v));
    MSG_TRY(msg_write_buf(w, &x->encrypted_group_info));
out:
    return err;
}

void mls_welcome_clear(mls_welcome *x)
{
    msg_clear_list(&x->secrets, &x->n_secrets, sizeof(mls_encrypted_group_secrets),
                   encrypted_group_secrets_clr_v);
    mls_buf_clear(&x->encrypted_group_info);
    x->cipher_suite = 0;
}

/* ------------------------------------------------------------ MLSMessage */

/* RFC 9420 §6: the select on wire_format. */
static const msg_variant message_bodies[] = {
    {MLS_WIRE_PUBLIC_MESSAGE, offsetof(mls_message, public_message), public_message_dec_v,
     public_message_enc_v, public_message_clr_v},
    {MLS_WIRE_PRIVATE_MESSAGE, offsetof(mls_message, private_message), private_message_dec_v,
     private_message_enc_v, private_message_clr_v},
    {MLS_WIRE_WELCOME, offsetof(mls_message, welcome), welcome_dec_v, welcome_enc_v, welcome_clr_v},
    {MLS_WIRE_GROUP_INFO, offsetof(mls_message, group_info), group_info_dec_v, group_info_enc_v,
     group_info_clr_v},
    {MLS_WIRE_KEY_PACKAGE, offsetof(mls_message, key_package), key_package_dec_v, key_package_enc_v,
     key_package_clr_v},
};

static const msg_variant *message_body(uint16_t wire_format)
{
    return msg_variant_find(message_bodies, sizeof(message_bodies) / sizeof(message_bodies[0]),
                            wire_format);
}

int mls_message_decode(mls_reader *r, mls_message *out)
{
    size_t save = r->off;
    const msg_variant *v;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_read_u16(r, &out->version));
    /* RFC 9420 §6: version = mls10; another version's layout is unknown. */
    if (out->version != MLS_VERSION_MLS10) {
        err = MLS_ERR_UNSUPPORTED;
        goto out;
    }
    MSG_TRY(mls_read_u16(r, &out->wire_format));
    if (!(v = message_body(out->wire_format))) {
        /* The select has no case for it: nothing after it can be read. */
        err = MLS_ERR_MALFORMED;
        goto out;
    }
    MSG_TRY(v->dec(r, (uint8_t *)out + v->offset));
out:
    if (err) {
        mls_message_clear(out);
        r->off = save;
    }
    return err;
}

int mls_message_encode(const mls_message *x, mls_buf *w)
{
    const msg_variant *v;
    int err;
    if (x->version != MLS_VERSION_MLS10)
        return MLS_ERR_ARG;
    MSG_TRY(mls_write_u16(w, x->version));
    MSG_TRY(mls_write_u16(w, x->wire_format));
    if (!(v = message_body(x->wire_format))) {
        err = MLS_ERR_ARG;
        goto out;
    }
    MSG_TRY(v->enc((const uint8_t *)x + v->offset, w));
out:
    return err;
}

void mls_message_clear(mls_message *x)
{
    const msg_variant *v = message_body(x->wire_format);
    if (v)
        v->clr((uint8_t *)x + v->offset);
    memset(x, 0, sizeof(*x));
}
