/*
 * RFC 9420 §5.1 cipher suites over OpenSSL 3.0 libcrypto: the suite tables,
 * hash, HMAC, HKDF and AEAD.  Signatures live in signature.c, HPKE in hpke.c.
 */
#include "suite.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <string.h>

/* RFC 9420 §17.1 cipher suite registry; RFC 9180 §7 identifiers. */
static const mls_suite suites[] = {
    {0x0001, "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519", MLS_HASH_SHA256,
     MLS_AEAD_AES128GCM, MLS_KEM_X25519, MLS_SIG_ED25519, 0x0020, 0x0001, 0x0001, 32, 16, 12,
     32, 32, 32, 32, 32},
    {0x0002, "MLS_128_DHKEMP256_AES128GCM_SHA256_P256", MLS_HASH_SHA256, MLS_AEAD_AES128GCM,
     MLS_KEM_P256, MLS_SIG_P256, 0x0010, 0x0001, 0x0001, 32, 16, 12, 32, 65, 65, 32, 65},
    {0x0003, "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519", MLS_HASH_SHA256,
     MLS_AEAD_CHACHA20POLY1305, MLS_KEM_X25519, MLS_SIG_ED25519, 0x0020, 0x0001, 0x0003, 32, 32,
     12, 32, 32, 32, 32, 32},
    {0x0004, "MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448", MLS_HASH_SHA512, MLS_AEAD_AES256GCM,
     MLS_KEM_X448, MLS_SIG_ED448, 0x0021, 0x0003, 0x0002, 64, 32, 12, 64, 56, 56, 56, 57},
    {0x0005, "MLS_256_DHKEMP521_AES256GCM_SHA512_P521", MLS_HASH_SHA512, MLS_AEAD_AES256GCM,
     MLS_KEM_P521, MLS_SIG_P521, 0x0012, 0x0003, 0x0002, 64, 32, 12, 64, 133, 133, 66, 133},
    {0x0006, "MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448", MLS_HASH_SHA512,
     MLS_AEAD_CHACHA20POLY1305, MLS_KEM_X448, MLS_SIG_ED448, 0x0021, 0x0003, 0x0003, 64, 32, 12,
     64, 56, 56, 56, 57},
    {0x0007, "MLS_256_DHKEMP384_AES256GCM_SHA384_P384", MLS_HASH_SHA384, MLS_AEAD_AES256GCM,
     MLS_KEM_P384, MLS_SIG_P384, 0x0011, 0x0002, 0x0002, 48, 32, 12, 48, 97, 97, 48, 97},
};

const mls_suite *mls_suite_get(uint16_t id)
{
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        if (suites[i].id == id)
            return &suites[i];
    return NULL;
}

/*
 * Digests and AEAD ciphers are fetched from the provider once per process,
 * like the HMAC implementation below: in OpenSSL 3.0 passing the legacy
 * EVP_sha256() / EVP_aes_128_gcm() objects to an init function makes it
 * fetch the implementation again (a global lock and a name lookup) on every
 * call.  A fetch that fails (an algorithm the loaded providers lack) leaves
 * NULL, and only suites using that algorithm fail, with MLS_ERR_CRYPTO.
 */
enum { MD_SHA256, MD_SHA384, MD_SHA512, MD_COUNT };
enum { CIPHER_AES128GCM, CIPHER_AES256GCM, CIPHER_CHACHA20POLY1305, CIPHER_COUNT };

/* Provider names, indexed as above; the HMAC digest parameter takes the
 * same digest names. */
static const char *const md_names[MD_COUNT] = {"SHA256", "SHA384", "SHA512"};
static const char *const cipher_names[CIPHER_COUNT] = {"AES-128-GCM", "AES-256-GCM",
                                                       "ChaCha20-Poly1305"};

static CRYPTO_ONCE algs_once = CRYPTO_ONCE_STATIC_INIT;
static EVP_MD *md_impl[MD_COUNT];
static EVP_CIPHER *cipher_impl[CIPHER_COUNT];

static void algs_fetch(void)
{
    for (int i = 0; i < MD_COUNT; i++)
        md_impl[i] = EVP_MD_fetch(NULL, md_names[i], NULL);
    for (int i = 0; i < CIPHER_COUNT; i++)
        cipher_impl[i] = EVP_CIPHER_fetch(NULL, cipher_names[i], NULL);
}

/* The suite's hash as an index into md_names / md_impl, or -1. */
static int suite_md_index(const mls_suite *s)
{
    switch (s->hash) {
    case MLS_HASH_SHA256:
        return MD_SHA256;
    case MLS_HASH_SHA384:
        return MD_SHA384;
    case MLS_HASH_SHA512:
        return MD_SHA512;
    }
    return -1;
}

/* The suite's fetched digest, or NULL. */
static const EVP_MD *suite_md(const mls_suite *s)
{
    int i = suite_md_index(s);
    if (i < 0 || !CRYPTO_THREAD_run_once(&algs_once, algs_fetch))
        return NULL;
    return md_impl[i];
}

int mls_hash_parts(const mls_suite *s, const mls_bytes *parts, size_t n, uint8_t out[MLS_MAX_HASH])
{
    int ret = MLS_ERR_CRYPTO;
    const EVP_MD *md = suite_md(s);
    if (!md)
        return MLS_ERR_CRYPTO;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return MLS_ERR_NOMEM;
    if (EVP_DigestInit_ex2(ctx, md, NULL) != 1)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (parts[i].n && EVP_DigestUpdate(ctx, parts[i].p, parts[i].n) != 1)
            goto out;
    if (EVP_DigestFinal_ex(ctx, out, NULL) != 1)
        goto out;
    ret = MLS_OK;
out:
    EVP_MD_CTX_free(ctx);
    return ret;
}

int mls_hash(const mls_suite *s, mls_bytes in, uint8_t out[MLS_MAX_HASH])
{
    return mls_hash_parts(s, &in, 1, out);
}

/*
 * The HMAC implementation is fetched from the provider once per process:
 * a fetch takes a global lock and a name lookup, and MLS computes HMACs on
 * every message.  The HMAC provider also fetches the digest again whenever
 * its digest parameter is set, so one template context per hash is set up
 * once and duplicated (which shares the fetched digest) for every MAC.
 * CRYPTO_THREAD_run_once makes the first set-up thread-safe; afterwards the
 * templates are only read.
 */
static CRYPTO_ONCE hmac_once = CRYPTO_ONCE_STATIC_INIT;
static EVP_MAC_CTX *hmac_template[MD_COUNT];

static void hmac_fetch(void)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!mac)
        return;
    for (int i = 0; i < MD_COUNT; i++) {
        OSSL_PARAM params[2];
        EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                     (char *)md_names[i], 0);
        params[1] = OSSL_PARAM_construct_end();
        if (ctx && EVP_MAC_CTX_set_params(ctx, params) != 1) {
            EVP_MAC_CTX_free(ctx);
            ctx = NULL;
        }
        hmac_template[i] = ctx;
    }
    /* The contexts hold their own references to the implementation. */
    EVP_MAC_free(mac);
}

/* A MAC context keyed with key for the suite's hash, or NULL. */
static EVP_MAC_CTX *hmac_new(const mls_suite *s, mls_bytes key)
{
    static const uint8_t empty[1];
    int i = suite_md_index(s);
    if (i < 0 || !CRYPTO_THREAD_run_once(&hmac_once, hmac_fetch) || !hmac_template[i])
        return NULL;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(hmac_template[i]);
    if (!ctx)
        return NULL;
    if (EVP_MAC_init(ctx, key.n ? key.p : empty, key.n, NULL) != 1) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

int mls_hmac(const mls_suite *s, mls_bytes key, mls_bytes data, uint8_t out[MLS_MAX_HASH])
{
    int ret = MLS_ERR_CRYPTO;
    size_t outlen = 0;
    EVP_MAC_CTX *ctx = hmac_new(s, key);
    if (!ctx)
        goto out;
    if (data.n && EVP_MAC_update(ctx, data.p, data.n) != 1)
        goto out;
    if (EVP_MAC_final(ctx, out, &outlen, MLS_MAX_HASH) != 1 || outlen != s->nh)
        goto out;
    ret = MLS_OK;
out:
    EVP_MAC_CTX_free(ctx);
    return ret;
}

int mls_hkdf_extract(const mls_suite *s, mls_bytes salt, mls_bytes ikm, uint8_t out[MLS_MAX_HASH])
{
    /* RFC 5869: PRK = HMAC-Hash(salt, IKM); an empty salt is treated by HMAC
     * as a key of zero bytes, which HMAC pads to a block of zeros, exactly as
     * HashLen zeros would be. */
    return mls_hmac(s, salt, ikm, out);
}

int mls_hkdf_expand(const mls_suite *s, mls_bytes prk, mls_bytes info, uint8_t *out, size_t len)
{
    /* RFC 5869 §2.3, written out so that no provider quirks about empty
     * keys apply: T(i) = HMAC(PRK, T(i-1) | info | i). */
    uint8_t t[MLS_MAX_HASH];
    size_t tlen = 0, done = 0;
    int ret = MLS_OK;
    if (len > 255 * s->nh)
        return MLS_ERR_ARG;
    /* The key is set once, before any output is written, so out may
     * overlap prk (a secret expanded in place); later blocks re-initialise
     * the MAC with the same key (key NULL keeps it). */
    EVP_MAC_CTX *ctx = hmac_new(s, prk);
    if (!ctx) {
        ret = MLS_ERR_CRYPTO;
        goto out;
    }
    for (uint8_t i = 1; done < len; i++) {
        size_t outlen = 0;
        if ((i > 1 && EVP_MAC_init(ctx, NULL, 0, NULL) != 1) ||
            (tlen && EVP_MAC_update(ctx, t, tlen) != 1) ||
            (info.n && EVP_MAC_update(ctx, info.p, info.n) != 1) ||
            EVP_MAC_update(ctx, &i, 1) != 1 ||
            EVP_MAC_final(ctx, t, &outlen, sizeof(t)) != 1) {
            ret = MLS_ERR_CRYPTO;
            goto out;
        }
        tlen = outlen;
        size_t take = len - done < tlen ? len - done : tlen;
        memcpy(out + done, t, take);
        done += take;
    }
out:
    mls_wipe(t, sizeof(t));
    EVP_MAC_CTX_free(ctx);
    return ret;
}

/* The suite's fetched AEAD cipher, or NULL. */
static const EVP_CIPHER *suite_cipher(const mls_suite *s)
{
    int i;
    switch (s->aead) {
    case MLS_AEAD_AES128GCM:
        i = CIPHER_AES128GCM;
        break;
    case MLS_AEAD_AES256GCM:
        i = CIPHER_AES256GCM;
        break;
    case MLS_AEAD_CHACHA20POLY1305:
        i = CIPHER_CHACHA20POLY1305;
        break;
    default:
        return NULL;
    }
    if (!CRYPTO_THREAD_run_once(&algs_once, algs_fetch))
        return NULL;
    return cipher_impl[i];
}

static int aead_begin(EVP_CIPHER_CTX *ctx, const mls_suite *s, mls_bytes key, mls_bytes nonce,
                      int enc)
{
    const EVP_CIPHER *cipher = suite_cipher(s);
    if (key.n != s->nk || nonce.n != s->nn)
        return MLS_ERR_ARG;
    if (!cipher)
        return MLS_ERR_CRYPTO;
    if (EVP_CipherInit_ex2(ctx, cipher, NULL, NULL, enc, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)nonce.n, NULL) != 1 ||
        EVP_CipherInit_ex2(ctx, NULL, key.p, nonce.p, enc, NULL) != 1)
        return MLS_ERR_CRYPTO;
    return MLS_OK;
}

int mls_aead_seal(const mls_suite *s, mls_bytes key, mls_bytes nonce, mls_bytes aad, mls_bytes pt,
                  mls_buf *out)
{
    int ret, len = 0, fin = 0;
    size_t start = out->n;
    if (pt.n > INT32_MAX - 64 || aad.n > INT32_MAX)
        return MLS_ERR_TOO_LARGE;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return MLS_ERR_NOMEM;
    ret = mls_buf_reserve(out, pt.n + MLS_AEAD_TAG);
    if (ret)
        goto out;
    ret = aead_begin(ctx, s, key, nonce, 1);
    if (ret)
        goto out;
    ret = MLS_ERR_CRYPTO;
    if (aad.n && EVP_CipherUpdate(ctx, NULL, &len, aad.p, (int)aad.n) != 1)
        goto out;
    len = 0;
    if (pt.n && EVP_CipherUpdate(ctx, out->p + start, &len, pt.p, (int)pt.n) != 1)
        goto out;
    if (EVP_CipherFinal_ex(ctx, out->p + start + len, &fin) != 1)
        goto out;
    if ((size_t)(len + fin) != pt.n)
        goto out;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, MLS_AEAD_TAG, out->p + start + pt.n) != 1)
        goto out;
    out->n = start + pt.n + MLS_AEAD_TAG;
    ret = MLS_OK;
out:
    EVP_CIPHER_CTX_free(ctx);
    return ret;
}

int mls_aead_open(const mls_suite *s, mls_bytes key, mls_bytes nonce, mls_bytes aad, mls_bytes ct,
                  mls_buf *out)
{
    int ret, len = 0, fin = 0;
    size_t start = out->n;
    uint8_t tag[MLS_AEAD_TAG];
    if (ct.n < MLS_AEAD_TAG)
        return MLS_ERR_DECRYPT;
    if (ct.n > INT32_MAX || aad.n > INT32_MAX)
        return MLS_ERR_TOO_LARGE;
    size_t ptlen = ct.n - MLS_AEAD_TAG;
    memcpy(tag, ct.p + ptlen, MLS_AEAD_TAG);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return MLS_ERR_NOMEM;
    ret = mls_buf_reserve(out, ptlen + 1);
    if (ret)
        goto out;
    ret = aead_begin(ctx, s, key, nonce, 0);
    if (ret)
        goto out;
    ret = MLS_ERR_CRYPTO;
    if (aad.n && EVP_CipherUpdate(ctx, NULL, &len, aad.p, (int)aad.n) != 1)
        goto out;
    len = 0;
    if (ptlen && EVP_CipherUpdate(ctx, out->p + start, &len, ct.p, (int)ptlen) != 1)
        goto out;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, MLS_AEAD_TAG, tag) != 1)
        goto out;
    /* The tag check happens here, in constant time inside OpenSSL. */
    if (EVP_CipherFinal_ex(ctx, out->p + start + len, &fin) != 1) {
        ret = MLS_ERR_DECRYPT;
        goto out;
    }
    if ((size_t)(len + fin) != ptlen)
        goto out;
    out->n = start + ptlen;
    ret = MLS_OK;
out:
    /* Never leave unauthenticated plaintext behind in the caller's buffer,
     * whichever step failed. */
    if (ret && out->p && out->cap > start)
        mls_wipe(out->p + start, out->cap - start);
    EVP_CIPHER_CTX_free(ctx);
    return ret;
}
