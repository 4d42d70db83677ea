/* EVP_PKEYs from the raw MLS key encodings (see pkey.h). */
#include "pkey.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <string.h>

const mls_curve mls_curve_x25519 = {"X25519", NULL, 0, 32, 32, 0xff};
const mls_curve mls_curve_x448 = {"X448", NULL, 0, 56, 56, 0xff};
const mls_curve mls_curve_ed25519 = {"ED25519", NULL, 0, 32, 32, 0xff};
const mls_curve mls_curve_ed448 = {"ED448", NULL, 0, 57, 57, 0xff};
const mls_curve mls_curve_p256 = {"EC", "P-256", NID_X9_62_prime256v1, 32, 65, 0xff};
const mls_curve mls_curve_p384 = {"EC", "P-384", NID_secp384r1, 48, 97, 0xff};
/* 66 bytes hold 528 bits; the order has 521, so 7 bits of the first byte
 * are masked off. */
const mls_curve mls_curve_p521 = {"EC", "P-521", NID_secp521r1, 66, 133, 0x01};

/* EVP_PKEY_fromdata over a parameter list; the caller maps failure. */
static int fromdata(const mls_curve *c, const OSSL_PARAM *params, int selection,
                    EVP_PKEY **out)
{
    int ok = 0;
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, c->type, NULL);
    if (ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
        EVP_PKEY_fromdata(ctx, &pkey, selection, (OSSL_PARAM *)params) == 1 && pkey) {
        *out = pkey;
        ok = 1;
    }
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

/* The scalar as a BIGNUM in secure memory, cleared when freed. */
static BIGNUM *scalar_bn(mls_bytes sk)
{
    BIGNUM *bn = BN_secure_new();
    if (!bn)
        return NULL;
    if (!BN_bin2bn(sk.p, (int)sk.n, bn)) {
        BN_clear_free(bn);
        return NULL;
    }
    BN_set_flags(bn, BN_FLG_CONSTTIME);
    return bn;
}

int mls_ec_scalar_check(const mls_curve *c, mls_bytes sk)
{
    int ret = MLS_ERR_INVALID;
    BIGNUM *bn = NULL;
    EC_GROUP *group = NULL;
    if (!mls_curve_is_ec(c))
        return MLS_ERR_ARG;
    /* Other implementations serialize the scalar without leading zero
     * bytes (the vectors hold 65-byte P-521 keys): any length up to the
     * field size is accepted, the value decides. */
    if (sk.n == 0 || sk.n > c->nsk)
        return MLS_ERR_INVALID;
    group = EC_GROUP_new_by_curve_name_ex(NULL, NULL, c->nid);
    bn = scalar_bn(sk);
    if (!group || !bn) {
        ret = MLS_ERR_NOMEM;
        goto out;
    }
    /* RFC 9180 §7.1.3 / SEC1: a private key is a scalar in [1, n-1]. */
    if (!BN_is_zero(bn) && BN_cmp(bn, EC_GROUP_get0_order(group)) < 0)
        ret = MLS_OK;
out:
    BN_clear_free(bn);
    EC_GROUP_free(group);
    return ret;
}

/* Private key import, with the public key too when pk.n is not 0. */
static int import_private(const mls_curve *c, mls_bytes sk, mls_bytes pk, EVP_PKEY **out)
{
    int ret;
    OSSL_PARAM params[4];
    size_t i = 0;
    BIGNUM *bn = NULL;
    /* OSSL_PARAM_construct_BN wants the integer in native byte order. */
    uint8_t native[66];
    if (sk.n > sizeof(native) || (!mls_curve_is_ec(c) && sk.n != c->nsk))
        return MLS_ERR_INVALID;
    if (mls_curve_is_ec(c)) {
        ret = mls_ec_scalar_check(c, sk);
        if (ret)
            return ret;
        bn = scalar_bn(sk);
        if (!bn)
            return MLS_ERR_NOMEM;
        ret = MLS_ERR_CRYPTO;
        if (BN_bn2nativepad(bn, native, (int)c->nsk) != (int)c->nsk)
            goto out;
        params[i++] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                       (char *)c->group, 0);
        params[i++] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, native, c->nsk);
    } else {
        params[i++] =
            OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, (void *)sk.p, sk.n);
    }
    if (pk.n)
        params[i++] =
            OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pk.p, pk.n);
    params[i] = OSSL_PARAM_construct_end();
    ret = fromdata(c, params, EVP_PKEY_KEYPAIR, out) ? MLS_OK : MLS_ERR_CRYPTO;
out:
    mls_wipe(native, sizeof(native));
    BN_clear_free(bn);
    if (ret)
        ERR_clear_error();
    return ret;
}

int mls_pkey_from_private(const mls_curve *c, mls_bytes sk, EVP_PKEY **out)
{
    return import_private(c, sk, mls_bytes_of(NULL, 0), out);
}

int mls_pkey_from_keypair(const mls_curve *c, mls_bytes sk, mls_bytes pk, EVP_PKEY **out)
{
    if (pk.n != c->npk || (mls_curve_is_ec(c) && pk.p[0] != 0x04))
        return MLS_ERR_MALFORMED;
    return import_private(c, sk, pk, out);
}

int mls_pkey_from_public(const mls_curve *c, mls_bytes pk, EVP_PKEY **out)
{
    OSSL_PARAM params[3];
    size_t i = 0;
    if (pk.n != c->npk)
        return MLS_ERR_MALFORMED;
    if (mls_curve_is_ec(c)) {
        /* RFC 8446 §4.2.8.2 UncompressedPointRepresentation: legacy_form 4. */
        if (pk.p[0] != 0x04)
            return MLS_ERR_MALFORMED;
        params[i++] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                       (char *)c->group, 0);
    }
    params[i++] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pk.p, pk.n);
    params[i] = OSSL_PARAM_construct_end();
    /* For the NIST curves OpenSSL decodes the point with EC_POINT_oct2point,
     * which rejects a point that is not on the curve; the curves have
     * cofactor 1, so every point on them is in the prime-order group. */
    if (!fromdata(c, params, EVP_PKEY_PUBLIC_KEY, out)) {
        ERR_clear_error();
        return MLS_ERR_INVALID;
    }
    return MLS_OK;
}

static int ec_public_from_private(const mls_curve *c, mls_bytes sk, uint8_t *pk)
{
    int ret = MLS_ERR_CRYPTO;
    EC_GROUP *group = NULL;
    EC_POINT *point = NULL;
    BIGNUM *bn = NULL;
    BN_CTX *bnctx = NULL;
    ret = mls_ec_scalar_check(c, sk);
    if (ret)
        return ret;
    ret = MLS_ERR_CRYPTO;
    group = EC_GROUP_new_by_curve_name_ex(NULL, NULL, c->nid);
    point = group ? EC_POINT_new(group) : NULL;
    bn = scalar_bn(sk);
    bnctx = BN_CTX_secure_new();
    if (!group || !point || !bn || !bnctx) {
        ret = MLS_ERR_NOMEM;
        goto out;
    }
    if (EC_POINT_mul(group, point, bn, NULL, NULL, bnctx) != 1)
        goto out;
    if (EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, pk, c->npk, bnctx) !=
        c->npk)
        goto out;
    ret = MLS_OK;
out:
    BN_CTX_free(bnctx);
    BN_clear_free(bn);
    EC_POINT_clear_free(point);
    EC_GROUP_free(group);
    if (ret)
        ERR_clear_error();
    return ret;
}

int mls_pkey_keypair_from_private(const mls_curve *c, mls_bytes sk, uint8_t *pk,
                                  EVP_PKEY **out)
{
    int ret;
    size_t len = 0;
    EVP_PKEY *pkey = NULL;
    if (mls_curve_is_ec(c)) {
        /* OpenSSL imports an EC private key without deriving its public
         * point (ECDH does not need it), so the point is computed once
         * here and the import costs no scalar multiplication. */
        ret = ec_public_from_private(c, sk, pk);
        if (!ret && out)
            ret = mls_pkey_from_private(c, sk, out);
        return ret;
    }
    /* X25519, X448 public key alone: by the ladder (cheaper in OpenSSL
     * 3.0 than the fixed-base multiplication of its import). */
    if (!out && (c == &mls_curve_x25519 || c == &mls_curve_x448))
        return mls_pkey_x_dh_keypair(c, sk, pk, NULL);
    /* For X25519, X448, Ed25519 and Ed448 OpenSSL derives the public key
     * when it imports the private one: the imported key is both the
     * source of pk and the key handed out, one scalar multiplication. */
    ret = mls_pkey_from_private(c, sk, &pkey);
    if (ret)
        return ret;
    if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pk, c->npk, &len) != 1 ||
        len != c->npk) {
        ERR_clear_error();
        EVP_PKEY_free(pkey);
        return MLS_ERR_CRYPTO;
    }
    if (out)
        *out = pkey;
    else
        EVP_PKEY_free(pkey);
    return MLS_OK;
}

/* The base points u = 9 (X25519) and u = 5 (X448), little-endian
 * (RFC 7748 §4.1, §4.2), imported once per process. */
static EVP_PKEY *base_x25519, *base_x448;
static CRYPTO_ONCE base_once = CRYPTO_ONCE_STATIC_INIT;

static void base_points_init(void)
{
    uint8_t u[56];
    memset(u, 0, sizeof(u));
    u[0] = 9;
    if (mls_pkey_from_public(&mls_curve_x25519, mls_bytes_of(u, 32), &base_x25519) != MLS_OK)
        base_x25519 = NULL;
    u[0] = 5;
    if (mls_pkey_from_public(&mls_curve_x448, mls_bytes_of(u, 56), &base_x448) != MLS_OK)
        base_x448 = NULL;
}

int mls_pkey_x_dh_keypair(const mls_curve *c, mls_bytes sk, uint8_t *pk, EVP_PKEY **out)
{
    /* The public half the scalar-only key is imported with: X25519/X448
     * derive reads the private scalar alone, and this key never leaves. */
    static const uint8_t no_public[56];
    EVP_PKEY *priv = NULL, *base;
    EVP_PKEY_CTX *ctx = NULL;
    size_t len = c->npk;
    int ret;
    if (c != &mls_curve_x25519 && c != &mls_curve_x448)
        return MLS_ERR_ARG;
    if (!CRYPTO_THREAD_run_once(&base_once, base_points_init))
        return MLS_ERR_CRYPTO;
    base = c == &mls_curve_x25519 ? base_x25519 : base_x448;
    if (!base)
        return MLS_ERR_CRYPTO;
    ret = import_private(c, sk, mls_bytes_of(no_public, c->npk), &priv);
    if (ret)
        return ret;
    ret = MLS_ERR_CRYPTO;
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
    if (ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer_ex(ctx, base, 0) == 1 &&
        EVP_PKEY_derive(ctx, pk, &len) == 1 && len == c->npk)
        ret = MLS_OK;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(priv);
    if (ret) {
        ERR_clear_error();
        return ret;
    }
    /* The key handed out holds the true pair; given both halves, the
     * import multiplies nothing. */
    if (out)
        ret = import_private(c, sk, mls_bytes_of(pk, c->npk), out);
    return ret;
}

int mls_pkey_public_from_private(const mls_curve *c, mls_bytes sk, uint8_t *pk)
{
    return mls_pkey_keypair_from_private(c, sk, pk, NULL);
}

int mls_buf_set_pair(mls_buf *a, mls_bytes va, mls_buf *b, mls_bytes vb)
{
    mls_buf ta, tb;
    int err;
    mls_buf_init(&ta);
    mls_buf_init(&tb);
    err = mls_buf_append(&ta, va.p, va.n);
    if (!err)
        err = mls_buf_append(&tb, vb.p, vb.n);
    if (err) {
        mls_buf_clear(&ta);
        mls_buf_clear(&tb);
        return err;
    }
    mls_buf_clear(a);
    *a = ta;
    mls_buf_clear(b);
    *b = tb;
    return MLS_OK;
}
