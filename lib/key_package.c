/*
 * KeyPackages (RFC 9420 §10): creation with a private bundle, validation,
 * references.
 */
#include "key_package.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "detail.h"
#include "identity.h"

#define KP_BUNDLE_VERSION 1
/* RFC 9420 §7.2: applications choose the default lifetime. */
#define KP_DEFAULT_LIFETIME (90ull * 24 * 3600)
/* Allowance for clock skew between the client and the group. */
#define KP_BACKDATE 3600ull

void mls_kp_bundle_clear(mls_kp_bundle *b)
{
    if (!b)
        return;
    mls_key_package_clear(&b->kp);
    mls_buf_clear(&b->init_sk);
    mls_buf_clear(&b->enc_sk);
}

int mls_kp_bundle_decode(mls_bytes in, mls_kp_bundle *out)
{
    mls_kp_bundle b;
    mls_reader r, sub;
    uint8_t ver;
    int err;

    memset(&b, 0, sizeof(b));
    mls_reader_init_bytes(&r, in);
    if ((err = mls_read_u8(&r, &ver)) != 0)
        return err;
    if (ver != KP_BUNDLE_VERSION)
        return MLS_ERR_UNSUPPORTED;
    if ((err = mls_read_vec(&r, &sub)) != 0)
        return err;
    if ((err = mls_key_package_decode(&sub, &b.kp)) != 0)
        goto out;
    if ((err = mls_reader_done(&sub)) != 0 || (err = mls_read_vec_buf(&r, &b.init_sk)) != 0 ||
        (err = mls_read_vec_buf(&r, &b.enc_sk)) != 0 || (err = mls_reader_done(&r)) != 0)
        goto out;
    *out = b;
    return 0;
out:
    mls_kp_bundle_clear(&b);
    return err;
}

int mls_kp_bundle_encode(const mls_key_package *kp, mls_bytes init_sk, mls_bytes enc_sk,
                         mls_buf *out)
{
    mls_buf w;
    size_t mark;
    int err;

    mls_buf_init(&w);
    if ((err = mls_write_u8(&w, KP_BUNDLE_VERSION)) != 0 ||
        (err = mls_write_vec_begin(&w, &mark)) != 0 ||
        (err = mls_key_package_encode(kp, &w)) != 0 || (err = mls_write_vec_end(&w, mark)) != 0 ||
        (err = mls_write_vec_bytes(&w, init_sk)) != 0 ||
        (err = mls_write_vec_bytes(&w, enc_sk)) != 0) {
        mls_buf_clear(&w);
        return err;
    }
    mls_buf_clear(out);
    *out = w;
    return 0;
}

int mls_key_package_from_message(mls_bytes msg, mls_key_package *out)
{
    mls_message m;
    int err;

    if ((err = mls_message_decode_bytes(msg, &m)) != 0)
        return err;
    if (m.wire_format != MLS_WIRE_KEY_PACKAGE) {
        mls_message_clear(&m);
        return MLS_ERR_INVALID;
    }
    *out = m.key_package;
    return 0;
}

static int ext_list_from(const mls_ext *v, size_t n, int last_resort, mls_extension_list *out)
{
    size_t i, k = 0;
    int err;

    out->v = calloc(n + 1, sizeof(mls_extension));
    if (!out->v)
        return MLS_ERR_NOMEM;
    if (last_resort)
        out->v[k++].type = MLS_EXTENSION_LAST_RESORT;
    for (i = 0; i < n; i++) {
        if (last_resort && v[i].type == MLS_EXTENSION_LAST_RESORT)
            continue;
        out->v[k].type = v[i].type;
        if ((err = mls_buf_set(&out->v[k].data, v[i].data.p, v[i].data.n)) != 0) {
            out->n = k + 1;
            return err;
        }
        k++;
    }
    out->n = k;
    return mls_extension_list_check_unique(out);
}

int mls_key_package_create(const mls_env *env, const mls_identity *id,
                           const mls_key_package_options *opt, mls_buf *key_package,
                           mls_buf *private_bundle)
{
    const mls_suite *s;
    mls_key_package kp;
    mls_buf init_pk, enc_pk, init_sk, enc_sk, tbs, msg, bundle;
    mls_lifetime lt;
    uint64_t now, life;
    int err;

    if (!id || !env || !key_package || !private_bundle)
        return MLS_ERR_ARG;
    s = id->suite;
    memset(&kp, 0, sizeof(kp));
    mls_buf_init(&init_pk);
    mls_buf_init(&enc_pk);
    mls_buf_init(&init_sk);
    mls_buf_init(&enc_sk);
    mls_buf_init(&tbs);
    mls_buf_init(&msg);
    mls_buf_init(&bundle);

    now = env->now(env->ctx);
    life = opt && opt->lifetime_seconds ? opt->lifetime_seconds : KP_DEFAULT_LIFETIME;
    lt.not_before = now > KP_BACKDATE ? now - KP_BACKDATE : 0;
    lt.not_after = now + life < now ? UINT64_MAX : now + life;

    if ((err = mls_hpke_generate_keypair(s, env, &init_sk, &init_pk)) != 0 ||
        (err = mls_hpke_generate_keypair(s, env, &enc_sk, &enc_pk)) != 0)
        goto out;
    kp.version = MLS_VERSION_MLS10;
    kp.cipher_suite = s->id;
    if ((err = mls_buf_copy(&kp.init_key, &init_pk)) != 0)
        goto out;
    if ((err = mls_identity_make_leaf(id, env, mls_buf_view(&enc_pk),
                                      MLS_LEAF_SOURCE_KEY_PACKAGE, &lt, mls_bytes_of(NULL, 0),
                                      mls_bytes_of(NULL, 0), 0, &kp.leaf_node)) != 0)
        goto out;
    if ((err = ext_list_from(opt ? opt->extensions : NULL, opt ? opt->n_extensions : 0,
                             opt && opt->last_resort, &kp.extensions)) != 0)
        goto out;
    /* RFC 9420 §10: signature = SignWithLabel(., "KeyPackageTBS", KeyPackageTBS) */
    if ((err = mls_key_package_tbs_encode(&kp, &tbs)) != 0 ||
        (err = mls_sign_with_label(s, env, mls_buf_view(&id->sig_sk), "KeyPackageTBS",
                                   mls_buf_view(&tbs), &kp.signature)) != 0)
        goto out;

    if ((err = mls_write_u16(&msg, MLS_VERSION_MLS10)) != 0 ||
        (err = mls_write_u16(&msg, MLS_WIRE_KEY_PACKAGE)) != 0 ||
        (err = mls_key_package_encode(&kp, &msg)) != 0)
        goto out;
    if ((err = mls_kp_bundle_encode(&kp, mls_buf_view(&init_sk), mls_buf_view(&enc_sk),
                                    &bundle)) != 0)
        goto out;
    mls_buf_clear(key_package);
    *key_package = msg;
    mls_buf_init(&msg);
    mls_buf_clear(private_bundle);
    *private_bundle = bundle;
    mls_buf_init(&bundle);
out:
    mls_key_package_clear(&kp);
    mls_buf_clear(&init_pk);
    mls_buf_clear(&enc_pk);
    mls_buf_clear(&init_sk);
    mls_buf_clear(&enc_sk);
    mls_buf_clear(&tbs);
    mls_buf_clear(&msg);
    mls_buf_clear(&bundle);
    return err;
}

static int ext_is_default(uint16_t t)
{
    return t >= MLS_EXT_APPLICATION_ID && t <= MLS_EXT_EXTERNAL_SENDERS;
}

int mls_key_package_check(const mls_suite *s, const mls_key_package *kp, int check_lifetime,
                          uint64_t now)
{
    const mls_leaf_node *ln = &kp->leaf_node;
    size_t i;
    int err;

    if ((err = mls_key_package_verify(s, kp)) != 0)
        return err;
    if ((err = mls_extension_list_check_unique(&kp->extensions)) != 0 ||
        (err = mls_extension_list_check_unique(&ln->extensions)) != 0)
        return MLS_DETAIL(err, "RFC 9420 §13: an extension type appears twice");
    /* RFC 9420 §7.3: the leaf supports the suite and version it is used
     * with, its own credential type, and lists its non-default
     * extensions. */
    if (!mls_u16_list_contains(&ln->capabilities.cipher_suites, s->id) ||
        !mls_u16_list_contains(&ln->capabilities.versions, MLS_VERSION_MLS10) ||
        !mls_u16_list_contains(&ln->capabilities.credentials, ln->credential.type))
        return MLS_DETAIL(MLS_ERR_INVALID,
                          "RFC 9420 §7.2: capabilities lack the suite, mls10 or the credential type");
    for (i = 0; i < ln->extensions.n; i++)
        if (!ext_is_default(ln->extensions.v[i].type) &&
            !mls_u16_list_contains(&ln->capabilities.extensions, ln->extensions.v[i].type))
            return MLS_DETAIL(MLS_ERR_INVALID,
                              "RFC 9420 §7.2: leaf extension not listed in capabilities");
    if (check_lifetime && (now < ln->lifetime.not_before || now > ln->lifetime.not_after))
        return MLS_DETAIL(MLS_ERR_EXPIRED, "RFC 9420 §7.2: lifetime does not include now");
    return 0;
}

int mls_key_package_validate(const mls_env *env, mls_bytes key_package, uint16_t expected_suite,
                             mls_key_package_info *info)
{
    mls_key_package kp;
    const mls_suite *s;
    mls_key_package_info inf;
    mls_reader r;
    int err;

    if (!env)
        return MLS_ERR_ARG;
    mls_error_detail_clear();
    if ((err = mls_key_package_from_message(key_package, &kp)) != 0)
        return err;
    s = mls_suite_get(kp.cipher_suite);
    if (!s || (expected_suite && kp.cipher_suite != expected_suite)) {
        err = MLS_ERR_UNSUPPORTED;
        goto out;
    }
    if ((err = mls_key_package_check(s, &kp, 1, env->now(env->ctx))) != 0)
        goto out;
    if (info) {
        /* Views into the caller's bytes: re-read the positions of the
         * fields (the decoded copy is freed below). */
        mls_bytes skip;
        memset(&inf, 0, sizeof(inf));
        inf.suite = kp.cipher_suite;
        inf.not_before = kp.leaf_node.lifetime.not_before;
        inf.not_after = kp.leaf_node.lifetime.not_after;
        inf.last_resort = mls_extension_list_find(&kp.extensions, MLS_EXTENSION_LAST_RESORT) != NULL;
        /* RFC 9420 §6: the KeyPackage follows version and wire_format. */
        inf.key_package = mls_bytes_of(key_package.p + 4, key_package.n - 4);
        mls_reader_init_bytes(&r, key_package);
        /* MLSMessage header, version, suite, init_key, encryption_key */
        if ((err = mls_read_fixed(&r, 8, &skip)) != 0 ||
            (err = mls_read_vec_bytes(&r, &skip)) != 0 ||
            (err = mls_read_vec_bytes(&r, &skip)) != 0 ||
            (err = mls_read_vec_bytes(&r, &inf.signature_key)) != 0)
            goto out;
        {
            size_t start = r.off;
            mls_credential c;
            uint16_t type;
            if ((err = mls_credential_decode(&r, &c)) != 0)
                goto out;
            type = c.type;
            mls_credential_clear(&c);
            inf.credential = mls_bytes_of(key_package.p + start, r.off - start);
            inf.credential_type = type;
            if (type == MLS_CREDENTIAL_BASIC &&
                (err = mls_credential_basic_identity(inf.credential, &inf.identity)) != 0)
                goto out;
        }
        *info = inf;
    }
out:
    mls_key_package_clear(&kp);
    return err;
}

int mls_key_package_message_ref(mls_bytes key_package, mls_buf *out)
{
    mls_key_package kp;
    const mls_suite *s;
    int err;

    if (!out)
        return MLS_ERR_ARG;
    if ((err = mls_key_package_from_message(key_package, &kp)) != 0)
        return err;
    s = mls_suite_get(kp.cipher_suite);
    err = s ? mls_key_package_ref(s, &kp, out) : MLS_ERR_UNSUPPORTED;
    mls_key_package_clear(&kp);
    return err;
}

int mls_key_package_bundle_ref(mls_bytes private_bundle, mls_buf *out)
{
    mls_kp_bundle b;
    const mls_suite *s;
    int err;

    if (!out)
        return MLS_ERR_ARG;
    if ((err = mls_kp_bundle_decode(private_bundle, &b)) != 0)
        return err;
    s = mls_suite_get(b.kp.cipher_suite);
    err = s ? mls_key_package_ref(s, &b.kp, out) : MLS_ERR_UNSUPPORTED;
    mls_kp_bundle_clear(&b);
    return err;
}
