/* RFC 9420 §5.1.2, §5.1.3, §5.2, §8, §9: MLS-level crypto helpers. */
#include "crypto.h"

#include "detail.h"

#include "codec.h"

#include <string.h>

#define MLS_LABEL_PREFIX "MLS 1.0 "

/* Writes opaque label<V> = "MLS 1.0 " + label. */
static int write_label(mls_buf *w, mls_bytes label)
{
    size_t mark;
    int err = mls_write_vec_begin(w, &mark);
    if (!err)
        err = mls_buf_append(w, MLS_LABEL_PREFIX, strlen(MLS_LABEL_PREFIX));
    if (!err)
        err = mls_buf_append(w, label.p, label.n);
    if (!err)
        err = mls_write_vec_end(w, mark);
    return err;
}

static mls_bytes label_of(const char *label)
{
    return mls_bytes_of((const uint8_t *)label, strlen(label));
}

int mls_expand_with_label_bytes(const mls_suite *s, mls_bytes secret, mls_bytes label,
                                mls_bytes context, uint8_t *out, size_t len)
{
    /* struct { uint16 length; opaque label<V>; opaque context<V>; } KDFLabel; */
    uint8_t store[256];
    mls_buf info;
    int err;
    if (len > 0xffff)
        return MLS_ERR_ARG;
    mls_buf_init_stack(&info, store, sizeof(store));
    err = mls_write_u16(&info, (uint16_t)len);
    if (!err)
        err = write_label(&info, label);
    if (!err)
        err = mls_write_vec_bytes(&info, context);
    if (!err)
        err = mls_hkdf_expand(s, secret, mls_buf_view(&info), out, len);
    mls_buf_clear(&info);
    return err;
}

int mls_expand_with_label(const mls_suite *s, mls_bytes secret, const char *label,
                          mls_bytes context, uint8_t *out, size_t len)
{
    return mls_expand_with_label_bytes(s, secret, label_of(label), context, out, len);
}

int mls_derive_secret(const mls_suite *s, mls_bytes secret, const char *label,
                      uint8_t out[MLS_MAX_HASH])
{
    return mls_expand_with_label(s, secret, label, mls_bytes_of(NULL, 0), out, s->nh);
}

int mls_derive_tree_secret(const mls_suite *s, mls_bytes secret, const char *label,
                           uint32_t generation, uint8_t *out, size_t len)
{
    uint8_t ctx[4] = {(uint8_t)(generation >> 24), (uint8_t)(generation >> 16),
                      (uint8_t)(generation >> 8), (uint8_t)generation};
    return mls_expand_with_label(s, secret, label, mls_bytes_of(ctx, 4), out, len);
}

int mls_ref_hash(const mls_suite *s, const char *label, mls_bytes value, uint8_t out[MLS_MAX_HASH])
{
    /* struct { opaque label<V>; opaque value<V>; } RefHashInput;  Note: the
     * label here is used verbatim ("MLS 1.0 KeyPackage Reference"). */
    mls_buf in;
    size_t mark;
    int err;
    mls_buf_init(&in);
    err = mls_write_vec_begin(&in, &mark);
    if (!err)
        err = mls_buf_append(&in, label, strlen(label));
    if (!err)
        err = mls_write_vec_end(&in, mark);
    if (!err)
        err = mls_write_vec_bytes(&in, value);
    if (!err)
        err = mls_hash(s, mls_buf_view(&in), out);
    mls_buf_clear(&in);
    return err;
}

/* struct { opaque label<V>; opaque content<V>; } SignContent / EncryptContext */
static int labeled_content(mls_buf *w, const char *label, mls_bytes content)
{
    int err = write_label(w, label_of(label));
    if (!err)
        err = mls_write_vec_bytes(w, content);
    return err;
}

int mls_sign_with_label(const mls_suite *s, const mls_env *env, mls_bytes sk, const char *label,
                        mls_bytes content, mls_buf *sig)
{
    mls_buf tbs;
    mls_buf_init(&tbs);
    int err = labeled_content(&tbs, label, content);
    if (!err)
        err = mls_sig_sign(s, env, sk, mls_buf_view(&tbs), sig);
    mls_buf_clear(&tbs);
    return err;
}

int mls_verify_with_label(const mls_suite *s, mls_bytes pk, const char *label, mls_bytes content,
                          mls_bytes sig)
{
    mls_buf tbs;
    mls_buf_init(&tbs);
    int err = labeled_content(&tbs, label, content);
    if (!err && (err = mls_sig_verify(s, pk, mls_buf_view(&tbs), sig)) != 0)
        err = MLS_DETAIL(err, "RFC 9420 §5.1.2: VerifyWithLabel: the signature does not verify");
    mls_buf_clear(&tbs);
    return err;
}

int mls_encrypt_with_label(const mls_suite *s, const mls_env *env, mls_bytes pk,
                           const char *label, mls_bytes context, mls_bytes pt,
                           mls_buf *kem_output, mls_buf *ct)
{
    mls_buf info;
    mls_buf_init(&info);
    int err = labeled_content(&info, label, context);
    if (!err)
        err = mls_hpke_seal_base(s, env, pk, mls_buf_view(&info), mls_bytes_of(NULL, 0), pt,
                                 kem_output, ct);
    mls_buf_clear(&info);
    return err;
}

int mls_encrypt_context_hash(const mls_suite *s, const char *label, mls_bytes context,
                             uint8_t out[MLS_MAX_HASH])
{
    mls_buf info;
    mls_buf_init(&info);
    int err = labeled_content(&info, label, context);
    if (!err)
        err = mls_hpke_info_hash(s, mls_buf_view(&info), out);
    mls_buf_clear(&info);
    return err;
}

int mls_encrypt_with_label_hashed(const mls_suite *s, const mls_env *env, mls_bytes pk,
                                  mls_bytes context_hash, mls_bytes pt, mls_buf *kem_output,
                                  mls_buf *ct)
{
    return mls_hpke_seal_base_hashed(s, env, pk, context_hash, mls_bytes_of(NULL, 0), pt,
                                     kem_output, ct);
}

int mls_decrypt_with_label_kp(const mls_suite *s, mls_bytes sk, mls_bytes pk, const char *label,
                              mls_bytes context, mls_bytes kem_output, mls_bytes ct, mls_buf *pt)
{
    mls_buf info;
    mls_buf_init(&info);
    int err = labeled_content(&info, label, context);
    if (!err)
        err = mls_hpke_open_base_kp(s, kem_output, sk, pk, mls_buf_view(&info),
                                    mls_bytes_of(NULL, 0), ct, pt);
    mls_buf_clear(&info);
    return err;
}

int mls_decrypt_with_label(const mls_suite *s, mls_bytes sk, const char *label,
                           mls_bytes context, mls_bytes kem_output, mls_bytes ct, mls_buf *pt)
{
    return mls_decrypt_with_label_kp(s, sk, mls_bytes_of(NULL, 0), label, context, kem_output, ct,
                                     pt);
}
