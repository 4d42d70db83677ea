/*
 * RFC 9420 §5.1.1 signatures: Ed25519, Ed448 (RFC 8032) and ECDSA over
 * P-256/SHA-256, P-384/SHA-384, P-521/SHA-512, with the encodings of
 * RFC 8446 §4.2.3 (DER ECDSA signatures, R || S EdDSA signatures).
 */
#include "pkey.h"
#include "suite.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <pthread.h>
#include <string.h>

/* Tries before keygen gives up on the random source: a rejection happens
 * with probability below 2^-32 per try on every curve we use. */
#define SIG_KEYGEN_TRIES 64

static const mls_curve *sig_curve(const mls_suite *s)
{
    switch (s->sig) {
    case MLS_SIG_ED25519:
        return &mls_curve_ed25519;
    case MLS_SIG_ED448:
        return &mls_curve_ed448;
    case MLS_SIG_P256:
        return &mls_curve_p256;
    case MLS_SIG_P384:
        return &mls_curve_p384;
    case MLS_SIG_P521:
        return &mls_curve_p521;
    }
    return NULL;
}

/* The ECDSA hash of the signature scheme (RFC 8446 §4.2.3
 * ecdsa_secp256r1_sha256 etc.); NULL for EdDSA, which hashes internally. */
static const char *sig_md_name(const mls_suite *s)
{
    switch (s->sig) {
    case MLS_SIG_P256:
        return "SHA256";
    case MLS_SIG_P384:
        return "SHA384";
    case MLS_SIG_P521:
        return "SHA512";
    case MLS_SIG_ED25519:
    case MLS_SIG_ED448:
        break;
    }
    return NULL;
}

/* Fixed EdDSA signature lengths (RFC 8032 §5.1.6, §5.2.6). */
static size_t eddsa_sig_len(const mls_suite *s)
{
    return s->sig == MLS_SIG_ED25519 ? 64 : s->sig == MLS_SIG_ED448 ? 114 : 0;
}

int mls_sig_keygen(const mls_suite *s, const mls_env *env, mls_buf *sk, mls_buf *pk)
{
    const mls_curve *c = s ? sig_curve(s) : NULL;
    uint8_t skb[MLS_MAX_SIG_SK], pkb[MLS_MAX_SIG_PK];
    int ret = MLS_ERR_RANDOM;
    if (!c)
        return MLS_ERR_UNSUPPORTED;
    if (!env || !env->random)
        return MLS_ERR_ARG;
    for (int tries = 0; tries < SIG_KEYGEN_TRIES; tries++) {
        if (env->random(env->ctx, skb, c->nsk) != 0) {
            ret = MLS_ERR_RANDOM;
            goto out;
        }
        /* EdDSA: the private key is the random seed itself (RFC 8032
         * §5.1.5).  ECDSA: sample the scalar uniformly in [1, n-1] by
         * rejection, after masking the bits above the order's length. */
        if (!mls_curve_is_ec(c)) {
            ret = MLS_OK;
            break;
        }
        skb[0] &= c->top_mask;
        ret = mls_ec_scalar_check(c, mls_bytes_of(skb, c->nsk));
        if (ret != MLS_ERR_INVALID)
            break;
        ret = MLS_ERR_RANDOM;
    }
    if (ret)
        goto out;
    ret = mls_pkey_public_from_private(c, mls_bytes_of(skb, c->nsk), pkb);
    if (ret)
        goto out;
    ret = mls_buf_set_pair(sk, mls_bytes_of(skb, c->nsk), pk, mls_bytes_of(pkb, c->npk));
out:
    mls_wipe(skb, sizeof(skb));
    return ret;
}

int mls_sig_public_from_private(const mls_suite *s, mls_bytes sk, mls_buf *pk)
{
    const mls_curve *c = s ? sig_curve(s) : NULL;
    uint8_t pkb[MLS_MAX_SIG_PK];
    if (!c)
        return MLS_ERR_UNSUPPORTED;
    int ret = mls_pkey_public_from_private(c, sk, pkb);
    if (!ret)
        ret = mls_buf_set(pk, pkb, c->npk);
    return ret;
}

/*
 * Our own signing keys, imported once.  OpenSSL 3.0 derives the public key
 * of an EdDSA private key on every import (a scalar multiplication, about
 * as costly as the signature itself), and an application signs with the
 * same few keys over and over (one per identity).  The last few keys used
 * keep their EVP_PKEY here, looked up by the private key bytes (compared in
 * constant time); mls_sig_forget, called when an identity is cleared,
 * wipes an entry.  EVP_PKEYs are reference-counted and read-only once
 * built, so a key taken out under the lock is safe to sign with while
 * another thread evicts its entry.
 */
#define SIG_CACHE_SLOTS 8

typedef struct sig_slot {
    const mls_curve *curve;
    uint8_t sk[MLS_MAX_SIG_SK];
    size_t n;
    EVP_PKEY *pkey;
    uint64_t used; /* LRU stamp */
} sig_slot;

static sig_slot sig_cache[SIG_CACHE_SLOTS];
static uint64_t sig_cache_clock;
static pthread_mutex_t sig_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static void slot_clear(sig_slot *e)
{
    EVP_PKEY_free(e->pkey);
    mls_wipe(e, sizeof(*e));
}

static sig_slot *slot_find(const mls_curve *c, mls_bytes sk)
{
    for (size_t i = 0; i < SIG_CACHE_SLOTS; i++) {
        sig_slot *e = &sig_cache[i];
        if (e->pkey && e->curve == c && e->n == sk.n && CRYPTO_memcmp(e->sk, sk.p, sk.n) == 0)
            return e;
    }
    return NULL;
}

/* A reference to the EVP_PKEY of sk, from the cache or imported (and then
 * cached).  The caller frees its reference. */
static int signing_key(const mls_curve *c, mls_bytes sk, EVP_PKEY **out)
{
    sig_slot *e, *victim;
    EVP_PKEY *pkey = NULL;
    int ret;
    if (sk.n == 0 || sk.n > MLS_MAX_SIG_SK)
        return MLS_ERR_INVALID;
    pthread_mutex_lock(&sig_cache_lock);
    e = slot_find(c, sk);
    if (e && EVP_PKEY_up_ref(e->pkey) == 1) {
        e->used = ++sig_cache_clock;
        *out = e->pkey;
        pthread_mutex_unlock(&sig_cache_lock);
        return MLS_OK;
    }
    pthread_mutex_unlock(&sig_cache_lock);
    /* Imported outside the lock: other threads sign meanwhile. */
    ret = mls_pkey_from_private(c, sk, &pkey);
    if (ret)
        return ret;
    pthread_mutex_lock(&sig_cache_lock);
    if (!slot_find(c, sk) && EVP_PKEY_up_ref(pkey) == 1) {
        victim = &sig_cache[0];
        for (size_t i = 1; i < SIG_CACHE_SLOTS; i++)
            if (sig_cache[i].used < victim->used)
                victim = &sig_cache[i];
        slot_clear(victim);
        victim->curve = c;
        memcpy(victim->sk, sk.p, sk.n);
        victim->n = sk.n;
        victim->pkey = pkey;
        victim->used = ++sig_cache_clock;
    }
    pthread_mutex_unlock(&sig_cache_lock);
    *out = pkey;
    return MLS_OK;
}

void mls_sig_forget(const mls_suite *s, mls_bytes sk)
{
    const mls_curve *c = s ? sig_curve(s) : NULL;
    sig_slot *e;
    if (!c || sk.n == 0 || sk.n > MLS_MAX_SIG_SK)
        return;
    pthread_mutex_lock(&sig_cache_lock);
    e = slot_find(c, sk);
    if (e)
        slot_clear(e);
    pthread_mutex_unlock(&sig_cache_lock);
}

int mls_sig_sign(const mls_suite *s, const mls_env *env, mls_bytes sk, mls_bytes msg,
                 mls_buf *sig)
{
    static const uint8_t empty[1];
    const mls_curve *c = s ? sig_curve(s) : NULL;
    EVP_PKEY *pkey = NULL;
    EVP_MD_CTX *mctx = NULL;
    size_t len;
    int ret;
    /* EdDSA is deterministic; the ECDSA nonce comes from OpenSSL's DRBG
     * inside EVP_DigestSign, so env is not needed here. */
    (void)env;
    if (!c)
        return MLS_ERR_UNSUPPORTED;
    ret = signing_key(c, sk, &pkey);
    if (ret)
        return ret;
    mctx = EVP_MD_CTX_new();
    if (!mctx) {
        ret = MLS_ERR_NOMEM;
        goto out;
    }
    len = (size_t)EVP_PKEY_get_size(pkey);
    if (len == 0 || len > MLS_MAX_SIG) {
        ret = MLS_ERR_CRYPTO;
        goto out;
    }
    ret = mls_buf_reserve(sig, len);
    if (ret)
        goto out;
    ret = MLS_ERR_CRYPTO;
    if (EVP_DigestSignInit_ex(mctx, NULL, sig_md_name(s), NULL, NULL, pkey, NULL) != 1 ||
        EVP_DigestSign(mctx, sig->p + sig->n, &len, msg.n ? msg.p : empty, msg.n) != 1)
        goto out;
    sig->n += len;
    ret = MLS_OK;
out:
    if (ret)
        ERR_clear_error();
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_free(pkey);
    return ret;
}

int mls_sig_verify(const mls_suite *s, mls_bytes pk, mls_bytes msg, mls_bytes sig)
{
    static const uint8_t empty[1];
    const mls_curve *c = s ? sig_curve(s) : NULL;
    EVP_PKEY *pkey = NULL;
    EVP_MD_CTX *mctx = NULL;
    int ret = MLS_ERR_SIGNATURE;
    if (!c)
        return MLS_ERR_UNSUPPORTED;
    if (sig.n == 0 || sig.n > MLS_MAX_SIG)
        return MLS_ERR_SIGNATURE;
    if (!mls_curve_is_ec(c) && sig.n != eddsa_sig_len(s))
        return MLS_ERR_SIGNATURE;
    /* A malformed or invalid public key verifies nothing. */
    if (mls_pkey_from_public(c, pk, &pkey) != MLS_OK)
        return MLS_ERR_SIGNATURE;
    mctx = EVP_MD_CTX_new();
    if (!mctx) {
        ret = MLS_ERR_NOMEM;
        goto out;
    }
    /* OpenSSL rejects non-canonical DER (it re-encodes the parsed signature
     * and compares) and EdDSA signatures with S >= L. */
    if (EVP_DigestVerifyInit_ex(mctx, NULL, sig_md_name(s), NULL, NULL, pkey, NULL) == 1 &&
        EVP_DigestVerify(mctx, sig.p, sig.n, msg.n ? msg.p : empty, msg.n) == 1)
        ret = MLS_OK;
out:
    if (ret)
        ERR_clear_error();
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_free(pkey);
    return ret;
}
