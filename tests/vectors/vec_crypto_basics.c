/*
 * crypto-basics.json (test-vectors.md "Crypto Basics"): RefHash,
 * ExpandWithLabel, DeriveSecret, DeriveTreeSecret, SignWithLabel /
 * VerifyWithLabel, EncryptWithLabel / DecryptWithLabel.
 */
#include <string.h>

#include "crypto.h"
#include "vec.h"

#define CB_MAX_LABEL 256

/* Copies the string member key of obj into out (NUL-terminated). */
static int get_label(json_t *obj, const char *key, char out[CB_MAX_LABEL])
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v) || json_string_length(v) >= CB_MAX_LABEL ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        vec_fail("missing or bad string member %s", key);
        return -1;
    }
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static json_t *get_obj(json_t *entry, const char *key)
{
    json_t *v = json_object_get(entry, key);
    if (!json_is_object(v))
        vec_fail("missing object %s", key);
    return json_is_object(v) ? v : NULL;
}

static int check_ref_hash(const mls_suite *s, json_t *o)
{
    char label[CB_MAX_LABEL];
    uint8_t out[MLS_MAX_HASH];
    mls_buf value;
    int rc = -1;
    mls_buf_init(&value);
    if (!o || get_label(o, "label", label) || vec_hex(o, "value", &value))
        goto out;
    if (mls_ref_hash(s, label, mls_buf_view(&value), out)) {
        vec_fail("ref_hash: RefHash failed");
        goto out;
    }
    rc = vec_expect(o, "out", mls_bytes_of(out, s->nh));
out:
    mls_buf_clear(&value);
    return rc;
}

static int check_expand_with_label(const mls_suite *s, json_t *o)
{
    char label[CB_MAX_LABEL];
    mls_buf secret, context, out;
    uint64_t length;
    int rc = -1;
    mls_buf_init(&secret);
    mls_buf_init(&context);
    mls_buf_init(&out);
    if (!o || get_label(o, "label", label) || vec_hex(o, "secret", &secret) ||
        vec_hex(o, "context", &context) || vec_uint(o, "length", &length))
        goto out;
    if (length > 0xffff || mls_buf_reserve(&out, length + 1)) {
        vec_fail("expand_with_label: bad length");
        goto out;
    }
    if (mls_expand_with_label(s, mls_buf_view(&secret), label, mls_buf_view(&context), out.p,
                              (size_t)length)) {
        vec_fail("expand_with_label: ExpandWithLabel failed");
        goto out;
    }
    out.n = (size_t)length;
    rc = vec_expect(o, "out", mls_buf_view(&out));
out:
    mls_buf_clear(&secret);
    mls_buf_clear(&context);
    mls_buf_clear(&out);
    return rc;
}

static int check_derive_secret(const mls_suite *s, json_t *o)
{
    char label[CB_MAX_LABEL];
    uint8_t out[MLS_MAX_HASH];
    mls_buf secret;
    int rc = -1;
    mls_buf_init(&secret);
    if (!o || get_label(o, "label", label) || vec_hex(o, "secret", &secret))
        goto out;
    if (mls_derive_secret(s, mls_buf_view(&secret), label, out)) {
        vec_fail("derive_secret: DeriveSecret failed");
        goto out;
    }
    rc = vec_expect(o, "out", mls_bytes_of(out, s->nh));
out:
    mls_buf_clear(&secret);
    return rc;
}

static int check_derive_tree_secret(const mls_suite *s, json_t *o)
{
    char label[CB_MAX_LABEL];
    mls_buf secret, out;
    uint64_t generation, length;
    int rc = -1;
    mls_buf_init(&secret);
    mls_buf_init(&out);
    if (!o || get_label(o, "label", label) || vec_hex(o, "secret", &secret) ||
        vec_uint(o, "generation", &generation) || vec_uint(o, "length", &length))
        goto out;
    if (generation > UINT32_MAX || length > 0xffff || mls_buf_reserve(&out, length + 1)) {
        vec_fail("derive_tree_secret: bad generation or length");
        goto out;
    }
    if (mls_derive_tree_secret(s, mls_buf_view(&secret), label, (uint32_t)generation, out.p,
                               (size_t)length)) {
        vec_fail("derive_tree_secret: DeriveTreeSecret failed");
        goto out;
    }
    out.n = (size_t)length;
    rc = vec_expect(o, "out", mls_buf_view(&out));
out:
    mls_buf_clear(&secret);
    mls_buf_clear(&out);
    return rc;
}

static int check_sign_with_label(const mls_suite *s, json_t *o)
{
    char label[CB_MAX_LABEL];
    mls_buf priv, pub, content, signature, mine, derived;
    int rc = -1, err;
    mls_buf_init(&priv);
    mls_buf_init(&pub);
    mls_buf_init(&content);
    mls_buf_init(&signature);
    mls_buf_init(&mine);
    mls_buf_init(&derived);
    if (!o || get_label(o, "label", label) || vec_hex(o, "priv", &priv) ||
        vec_hex(o, "pub", &pub) || vec_hex(o, "content", &content) ||
        vec_hex(o, "signature", &signature))
        goto out;
    /* VerifyWithLabel(pub, label, content, signature) == true */
    err = mls_verify_with_label(s, mls_buf_view(&pub), label, mls_buf_view(&content),
                                mls_buf_view(&signature));
    if (err) {
        vec_fail("sign_with_label: given signature does not verify (%s)", mls_errname(err));
        goto out;
    }
    /* VerifyWithLabel(pub, label, content, SignWithLabel(priv, label,
     * content)) == true */
    err = mls_sign_with_label(s, mls_env_default(), mls_buf_view(&priv), label,
                              mls_buf_view(&content), &mine);
    if (err) {
        vec_fail("sign_with_label: SignWithLabel failed (%s)", mls_errname(err));
        goto out;
    }
    err = mls_verify_with_label(s, mls_buf_view(&pub), label, mls_buf_view(&content),
                                mls_buf_view(&mine));
    if (err) {
        vec_fail("sign_with_label: own signature does not verify (%s)", mls_errname(err));
        goto out;
    }
    /* The key pair is consistent with our key encoding. */
    err = mls_sig_public_from_private(s, mls_buf_view(&priv), &derived);
    if (err) {
        vec_fail("sign_with_label: public key from private failed (%s)", mls_errname(err));
        goto out;
    }
    rc = vec_expect_bytes("sign_with_label pub", mls_buf_view(&pub), mls_buf_view(&derived));
out:
    mls_buf_clear(&priv);
    mls_buf_clear(&pub);
    mls_buf_clear(&content);
    mls_buf_clear(&signature);
    mls_buf_clear(&mine);
    mls_buf_clear(&derived);
    return rc;
}

static int check_encrypt_with_label(const mls_suite *s, json_t *o)
{
    char label[CB_MAX_LABEL];
    mls_buf priv, pub, context, plaintext, kem_output, ciphertext, pt, kem2, ct2, pt2;
    int rc = -1, err;
    mls_buf *all[] = {&priv, &pub, &context, &plaintext, &kem_output,
                      &ciphertext, &pt, &kem2, &ct2, &pt2};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        mls_buf_init(all[i]);
    if (!o || get_label(o, "label", label) || vec_hex(o, "priv", &priv) ||
        vec_hex(o, "pub", &pub) || vec_hex(o, "context", &context) ||
        vec_hex(o, "plaintext", &plaintext) || vec_hex(o, "kem_output", &kem_output) ||
        vec_hex(o, "ciphertext", &ciphertext))
        goto out;
    /* DecryptWithLabel(priv, label, context, kem_output, ciphertext) ==
     * plaintext */
    err = mls_decrypt_with_label(s, mls_buf_view(&priv), label, mls_buf_view(&context),
                                 mls_buf_view(&kem_output), mls_buf_view(&ciphertext), &pt);
    if (err) {
        vec_fail("encrypt_with_label: DecryptWithLabel of the given ciphertext failed (%s)",
                 mls_errname(err));
        goto out;
    }
    if (vec_expect_bytes("encrypt_with_label plaintext", mls_buf_view(&plaintext),
                         mls_buf_view(&pt)))
        goto out;
    /* EncryptWithLabel(pub, ...) then DecryptWithLabel(priv, ...) ==
     * plaintext */
    err = mls_encrypt_with_label(s, mls_env_default(), mls_buf_view(&pub), label,
                                 mls_buf_view(&context), mls_buf_view(&plaintext), &kem2, &ct2);
    if (err) {
        vec_fail("encrypt_with_label: EncryptWithLabel failed (%s)", mls_errname(err));
        goto out;
    }
    err = mls_decrypt_with_label(s, mls_buf_view(&priv), label, mls_buf_view(&context),
                                 mls_buf_view(&kem2), mls_buf_view(&ct2), &pt2);
    if (err) {
        vec_fail("encrypt_with_label: DecryptWithLabel of our ciphertext failed (%s)",
                 mls_errname(err));
        goto out;
    }
    rc = vec_expect_bytes("encrypt_with_label round trip", mls_buf_view(&plaintext),
                          mls_buf_view(&pt2));
out:
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        mls_buf_clear(all[i]);
    return rc;
}

int vec_crypto_basics(json_t *entry)
{
    const mls_suite *s;
    if (vec_suite(entry, &s))
        return -1;
    if (check_ref_hash(s, get_obj(entry, "ref_hash")) ||
        check_expand_with_label(s, get_obj(entry, "expand_with_label")) ||
        check_derive_secret(s, get_obj(entry, "derive_secret")) ||
        check_derive_tree_secret(s, get_obj(entry, "derive_tree_secret")) ||
        check_sign_with_label(s, get_obj(entry, "sign_with_label")) ||
        check_encrypt_with_label(s, get_obj(entry, "encrypt_with_label")))
        return -1;
    return 0;
}
