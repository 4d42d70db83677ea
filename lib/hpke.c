/*
 * RFC 9180 HPKE, base mode only (mode_base = 0x00), as RFC 9420 §5.1.3 uses
 * it: DHKEM over X25519, X448, P-256, P-384, P-521; HKDF-SHA256/384/512;
 * AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305.
 *
 * Two KDFs are in play (RFC 9180 §4.1, §7.1.3): the DHKEM's own KDF, fixed
 * by the KEM, runs DeriveKeyPair and ExtractAndExpand under the KEM suite_id;
 * the HPKE suite's KDF (the MLS suite's hash, hpke_kdf_id) runs the key
 * schedule and Export under the HPKE suite_id.  For all seven MLS cipher
 * suites these are the same hash (X25519 and P-256 with SHA-256, P-384 with
 * SHA-384, X448 and P-521 with SHA-512), but the code keeps them apart so
 * that it follows RFC 9180 for any combination.
 */
#include "hpke.h"

#include "codec.h"
#include "pkey.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <string.h>

/* RFC 9180 §7.1 DHKEM parameters: Nsecret equals the KEM KDF's Nh; Nenc =
 * Npk and Nsk come from the curve; Ndh is the DH output length. */
typedef struct hpke_kem {
    enum mls_kem_alg alg;
    uint16_t id;
    const mls_curve *curve;
    enum mls_hash_alg hash;
    size_t nh;
    size_t ndh;
} hpke_kem;

static const hpke_kem kems[] = {
    {MLS_KEM_P256, 0x0010, &mls_curve_p256, MLS_HASH_SHA256, 32, 32},
    {MLS_KEM_P384, 0x0011, &mls_curve_p384, MLS_HASH_SHA384, 48, 48},
    {MLS_KEM_P521, 0x0012, &mls_curve_p521, MLS_HASH_SHA512, 64, 66},
    {MLS_KEM_X25519, 0x0020, &mls_curve_x25519, MLS_HASH_SHA256, 32, 32},
    {MLS_KEM_X448, 0x0021, &mls_curve_x448, MLS_HASH_SHA512, 64, 56},
};

#define HPKE_MAX_DH 66
#define HPKE_LABEL_V1 "HPKE-v1"
#define HPKE_KEM_SUITE_ID_LEN 5
#define HPKE_SUITE_ID_LEN 10

/* RFC 9180 §7.2 KDF identifiers and §7.3 AEAD identifiers. */
static int kdf_matches(uint16_t kdf_id, enum mls_hash_alg hash)
{
    return (kdf_id == 0x0001 && hash == MLS_HASH_SHA256) ||
           (kdf_id == 0x0002 && hash == MLS_HASH_SHA384) ||
           (kdf_id == 0x0003 && hash == MLS_HASH_SHA512);
}

static int aead_matches(uint16_t aead_id, enum mls_aead_alg aead)
{
    return (aead_id == 0x0001 && aead == MLS_AEAD_AES128GCM) ||
           (aead_id == 0x0002 && aead == MLS_AEAD_AES256GCM) ||
           (aead_id == 0x0003 && aead == MLS_AEAD_CHACHA20POLY1305);
}

/* The KEM of a suite, or NULL if the suite's HPKE identifiers do not
 * describe its algorithms. */
static const hpke_kem *suite_kem(const mls_suite *s)
{
    if (!s || !kdf_matches(s->hpke_kdf_id, s->hash) || !aead_matches(s->hpke_aead_id, s->aead))
        return NULL;
    for (size_t i = 0; i < sizeof(kems) / sizeof(kems[0]); i++)
        if (kems[i].alg == s->kem && kems[i].id == s->hpke_kem_id)
            return &kems[i];
    return NULL;
}

/* A suite view whose hash is the DHKEM's KDF, for mls_hkdf_*. */
static mls_suite kem_kdf(const mls_suite *s, const hpke_kem *k)
{
    mls_suite ks = *s;
    ks.hash = k->hash;
    ks.nh = k->nh;
    return ks;
}

/* suite_id = concat("KEM", I2OSP(kem_id, 2))  (RFC 9180 §4.1) */
static mls_bytes kem_suite_id(const hpke_kem *k, uint8_t id[HPKE_KEM_SUITE_ID_LEN])
{
    id[0] = 'K';
    id[1] = 'E';
    id[2] = 'M';
    id[3] = (uint8_t)(k->id >> 8);
    id[4] = (uint8_t)k->id;
    return mls_bytes_of(id, HPKE_KEM_SUITE_ID_LEN);
}

/* suite_id = concat("HPKE", I2OSP(kem_id, 2), I2OSP(kdf_id, 2),
 *                   I2OSP(aead_id, 2))  (RFC 9180 §5.1) */
static mls_bytes hpke_suite_id(const mls_suite *s, uint8_t id[HPKE_SUITE_ID_LEN])
{
    id[0] = 'H';
    id[1] = 'P';
    id[2] = 'K';
    id[3] = 'E';
    id[4] = (uint8_t)(s->hpke_kem_id >> 8);
    id[5] = (uint8_t)s->hpke_kem_id;
    id[6] = (uint8_t)(s->hpke_kdf_id >> 8);
    id[7] = (uint8_t)s->hpke_kdf_id;
    id[8] = (uint8_t)(s->hpke_aead_id >> 8);
    id[9] = (uint8_t)s->hpke_aead_id;
    return mls_bytes_of(id, HPKE_SUITE_ID_LEN);
}

/* RFC 9180 §4: the part both labeled functions share,
 * concat("HPKE-v1", suite_id, label, data), appended to in. */
static int append_labeled(mls_buf *in, mls_bytes suite_id, const char *label, mls_bytes data)
{
    int err = mls_buf_append(in, HPKE_LABEL_V1, strlen(HPKE_LABEL_V1));
    if (!err)
        err = mls_buf_append(in, suite_id.p, suite_id.n);
    if (!err)
        err = mls_buf_append(in, label, strlen(label));
    if (!err)
        err = mls_buf_append(in, data.p, data.n);
    return err;
}

/* RFC 9180 §4: LabeledExtract(salt, label, ikm) =
 *   Extract(salt, concat("HPKE-v1", suite_id, label, ikm)).
 * out is h->nh bytes. */
static int labeled_extract(const mls_suite *h, mls_bytes suite_id, mls_bytes salt,
                           const char *label, mls_bytes ikm, uint8_t out[MLS_MAX_HASH])
{
    uint8_t store[256];
    mls_buf in;
    int err;
    mls_buf_init_stack(&in, store, sizeof(store));
    err = append_labeled(&in, suite_id, label, ikm);
    if (!err)
        err = mls_hkdf_extract(h, salt, mls_buf_view(&in), out);
    /* ikm is often secret (DH output, shared secret): wipe the copy. */
    mls_buf_clear(&in);
    return err;
}

/* RFC 9180 §4: LabeledExpand(prk, label, info, L) =
 *   Expand(prk, concat(I2OSP(L, 2), "HPKE-v1", suite_id, label, info), L). */
static int labeled_expand(const mls_suite *h, mls_bytes suite_id, mls_bytes prk,
                          const char *label, mls_bytes info, uint8_t *out, size_t len)
{
    uint8_t store[256];
    mls_buf in;
    int err;
    if (len > 0xffff)
        return MLS_ERR_ARG;
    mls_buf_init_stack(&in, store, sizeof(store));
    err = mls_write_u16(&in, (uint16_t)len);
    if (!err)
        err = append_labeled(&in, suite_id, label, info);
    if (!err)
        err = mls_hkdf_expand(h, prk, mls_buf_view(&in), out, len);
    mls_buf_clear(&in);
    return err;
}

/* RFC 9180 §7.1.3 DeriveKeyPair into fixed buffers (Nsk and Npk bytes);
 * if pkey is not NULL, also the private key as an EVP_PKEY (made while the
 * public key is computed, so a DH with it needs no further derivation). */
static int derive_keypair(const mls_suite *s, const hpke_kem *k, mls_bytes ikm,
                          uint8_t sk[MLS_MAX_KEM_SK], uint8_t pk[MLS_MAX_KEM_PK],
                          EVP_PKEY **pkey)
{
    static const uint8_t empty[1];
    const mls_curve *c = k->curve;
    mls_suite ks = kem_kdf(s, k);
    uint8_t idb[HPKE_KEM_SUITE_ID_LEN], prk[MLS_MAX_HASH];
    mls_bytes id = kem_suite_id(k, idb);
    mls_bytes vprk = mls_bytes_of(prk, k->nh);
    int err = labeled_extract(&ks, id, mls_bytes_of(empty, 0), "dkp_prk", ikm, prk);
    if (err)
        goto out;
    if (!mls_curve_is_ec(c)) {
        /* X25519, X448: sk = LabeledExpand(dkp_prk, "sk", "", Nsk); the
         * clamping happens inside the scalar multiplication. */
        err = labeled_expand(&ks, id, vprk, "sk", mls_bytes_of(empty, 0), sk, c->nsk);
    } else {
        /* NIST curves: rejection sampling over candidate scalars, with the
         * top byte masked to the order's bit length. */
        err = MLS_ERR_CRYPTO; /* DeriveKeyPairError if 256 candidates fail */
        for (unsigned counter = 0; counter <= 255; counter++) {
            uint8_t ctr = (uint8_t)counter;
            int e = labeled_expand(&ks, id, vprk, "candidate", mls_bytes_of(&ctr, 1), sk, c->nsk);
            if (e) {
                err = e;
                break;
            }
            sk[0] &= c->top_mask;
            e = mls_ec_scalar_check(c, mls_bytes_of(sk, c->nsk));
            if (e != MLS_ERR_INVALID) {
                err = e;
                break;
            }
        }
    }
    if (!err && pkey && !mls_curve_is_ec(c))
        /* An ephemeral key for one DH (Encap): its public key by the
         * ladder, see mls_pkey_x_dh_keypair. */
        err = mls_pkey_x_dh_keypair(c, mls_bytes_of(sk, c->nsk), pk, pkey);
    else if (!err)
        err = mls_pkey_keypair_from_private(c, mls_bytes_of(sk, c->nsk), pk, pkey);
out:
    if (err)
        mls_wipe(sk, MLS_MAX_KEM_SK);
    mls_wipe(prk, sizeof(prk));
    return err;
}

/* DH(skX, pkY) over EVP_PKEY_derive: Ndh bytes (the x-coordinate,
 * left-padded to the field size, on the NIST curves).  Validates pkY. */
static int dh(const hpke_kem *k, EVP_PKEY *priv, mls_bytes pk, uint8_t out[HPKE_MAX_DH])
{
    EVP_PKEY *peer = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    size_t len = k->ndh;
    /* RFC 9180 §7.1.4: the sender validates pkR, the recipient pkE. */
    int ret = mls_pkey_from_public(k->curve, pk, &peer);
    if (ret)
        goto out;
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
    if (!ctx) {
        ret = MLS_ERR_NOMEM;
        goto out;
    }
    ret = mls_curve_is_ec(k->curve) ? MLS_ERR_CRYPTO : MLS_ERR_INVALID;
    /* For X25519/X448 the only way derive fails on valid inputs is an
     * all-zero output (a small-order peer key), hence MLS_ERR_INVALID.
     * The peer key was validated when it was imported (on the curve, which
     * for these cofactor-1 curves is the whole check, RFC 9180 §7.1.4), so
     * OpenSSL's costlier full public key check (a scalar multiplication by
     * the order) is not repeated here. */
    if (EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) != 1 ||
        EVP_PKEY_derive(ctx, out, &len) != 1 || len != k->ndh)
        goto out;
    if (!mls_curve_is_ec(k->curve)) {
        /* RFC 9180 §7.1.4: reject the all-zero X25519/X448 output (checked
         * here too, not only inside OpenSSL), in constant time. */
        uint8_t acc = 0;
        for (size_t i = 0; i < len; i++)
            acc |= out[i];
        if (acc == 0)
            goto out;
    }
    ret = MLS_OK;
out:
    if (ret) {
        mls_wipe(out, HPKE_MAX_DH);
        ERR_clear_error();
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
    return ret;
}

/* RFC 9180 §4.1 ExtractAndExpand(dh, kem_context) with
 * kem_context = concat(enc, pkRm).  shared is Nsecret bytes. */
static int extract_and_expand(const mls_suite *s, const hpke_kem *k, mls_bytes dhv,
                              mls_bytes enc, mls_bytes pkrm, uint8_t shared[MLS_MAX_KEM_SECRET])
{
    static const uint8_t empty[1];
    mls_suite ks = kem_kdf(s, k);
    uint8_t idb[HPKE_KEM_SUITE_ID_LEN], prk[MLS_MAX_HASH], kctx[2 * MLS_MAX_KEM_PK];
    mls_bytes id = kem_suite_id(k, idb);
    int err;
    memcpy(kctx, enc.p, enc.n);
    memcpy(kctx + enc.n, pkrm.p, pkrm.n);
    err = labeled_extract(&ks, id, mls_bytes_of(empty, 0), "eae_prk", dhv, prk);
    if (!err)
        err = labeled_expand(&ks, id, mls_bytes_of(prk, k->nh), "shared_secret",
                             mls_bytes_of(kctx, enc.n + pkrm.n), shared, k->nh);
    mls_wipe(prk, sizeof(prk));
    return err;
}

/* RFC 9180 §4.1 Encap(pkR) with the ephemeral key pair from
 * GenerateKeyPair().  enc is Npk bytes, shared Nsecret bytes. */
static int encap(const mls_suite *s, const hpke_kem *k, const mls_env *env, mls_bytes pkr,
                 uint8_t enc[MLS_MAX_KEM_PK], uint8_t shared[MLS_MAX_KEM_SECRET])
{
    const mls_curve *c = k->curve;
    uint8_t ikm[MLS_MAX_KEM_SK], ske[MLS_MAX_KEM_SK], dhv[HPKE_MAX_DH];
    EVP_PKEY *eph = NULL;
    int err;
    if (pkr.n != c->npk)
        return MLS_ERR_MALFORMED;
    if (!env || !env->random)
        return MLS_ERR_ARG;
    /* GenerateKeyPair() = DeriveKeyPair(random(Nsk)) (RFC 9180 §4). */
    err = env->random(env->ctx, ikm, c->nsk) ? MLS_ERR_RANDOM : MLS_OK;
    if (!err)
        err = derive_keypair(s, k, mls_bytes_of(ikm, c->nsk), ske, enc, &eph);
    if (!err)
        err = dh(k, eph, pkr, dhv);
    if (!err)
        err = extract_and_expand(s, k, mls_bytes_of(dhv, k->ndh), mls_bytes_of(enc, c->npk),
                                 pkr, shared);
    mls_wipe(ikm, sizeof(ikm));
    mls_wipe(ske, sizeof(ske));
    mls_wipe(dhv, sizeof(dhv));
    EVP_PKEY_free(eph);
    return err;
}

/* RFC 9180 §4.1 Decap(enc, skR).  shared is Nsecret bytes.  pkr, when
 * not empty, is the public key of skR that the caller holds: the import
 * then derives nothing, one scalar multiplication (the DH) instead of
 * two. */
static int decap(const mls_suite *s, const hpke_kem *k, mls_bytes enc, mls_bytes skr,
                 mls_bytes known_pkr, uint8_t shared[MLS_MAX_KEM_SECRET])
{
    const mls_curve *c = k->curve;
    uint8_t pkr[MLS_MAX_KEM_PK], dhv[HPKE_MAX_DH];
    EVP_PKEY *priv = NULL;
    int err;
    if (enc.n != c->npk)
        return MLS_ERR_MALFORMED;
    /* RFC 9180 §7.1.2: a serialized private key is exactly Nsk bytes. */
    if (skr.n != c->nsk)
        return MLS_ERR_INVALID;
    /* pkRm goes into the KEM context; the key imported to compute it is
     * the one the DH uses. */
    if (known_pkr.n) {
        if (known_pkr.n != c->npk)
            return MLS_ERR_MALFORMED;
        memcpy(pkr, known_pkr.p, c->npk);
        err = mls_pkey_from_keypair(c, skr, known_pkr, &priv);
    } else {
        err = mls_pkey_keypair_from_private(c, skr, pkr, &priv);
    }
    if (!err)
        err = dh(k, priv, enc, dhv);
    if (!err)
        err = extract_and_expand(s, k, mls_bytes_of(dhv, k->ndh), enc,
                                 mls_bytes_of(pkr, c->npk), shared);
    mls_wipe(dhv, sizeof(dhv));
    EVP_PKEY_free(priv);
    return err;
}

/*
 * psk_id_hash = LabeledExtract("", "psk_id_hash", "") depends on the suite
 * alone in mode_base: computed once per process for each of the seven
 * suites instead of once per Seal/Open.
 */
#define HPKE_SUITES 7
static uint8_t psk_id_hashes[HPKE_SUITES][MLS_MAX_HASH];
static int psk_id_hash_err[HPKE_SUITES];
static CRYPTO_ONCE psk_id_once = CRYPTO_ONCE_STATIC_INIT;

static void psk_id_hash_init(void)
{
    static const uint8_t empty[1];
    const mls_bytes none = mls_bytes_of(empty, 0);
    for (uint16_t i = 0; i < HPKE_SUITES; i++) {
        const mls_suite *s = mls_suite_get((uint16_t)(i + 1));
        uint8_t idb[HPKE_SUITE_ID_LEN];
        psk_id_hash_err[i] = s ? labeled_extract(s, hpke_suite_id(s, idb), none, "psk_id_hash",
                                                 none, psk_id_hashes[i])
                               : MLS_ERR_UNSUPPORTED;
    }
}

static int psk_id_hash(const mls_suite *s, uint8_t out[MLS_MAX_HASH])
{
    static const uint8_t empty[1];
    const mls_bytes none = mls_bytes_of(empty, 0);
    uint8_t idb[HPKE_SUITE_ID_LEN];
    if (s->id >= 1 && s->id <= HPKE_SUITES && s == mls_suite_get(s->id) &&
        CRYPTO_THREAD_run_once(&psk_id_once, psk_id_hash_init) &&
        !psk_id_hash_err[s->id - 1]) {
        memcpy(out, psk_id_hashes[s->id - 1], s->nh);
        return MLS_OK;
    }
    return labeled_extract(s, hpke_suite_id(s, idb), none, "psk_id_hash", none, out);
}

/* RFC 9180 §5.1 KeySchedule for mode_base (psk = psk_id = ""), with
 * info_hash = LabeledExtract("", "info_hash", info) given (s->nh bytes).
 * The exporter_secret is derived only when `exporter` is set: single-shot
 * SealBase / OpenBase never export. */
static int key_schedule_hashed(const mls_suite *s, mls_bytes shared, mls_bytes info_hash,
                               int exporter, mls_hpke_ctx *out)
{
    static const uint8_t empty[1];
    const mls_bytes none = mls_bytes_of(empty, 0);
    uint8_t idb[HPKE_SUITE_ID_LEN], ksc[1 + 2 * MLS_MAX_HASH], secret[MLS_MAX_HASH];
    mls_bytes id = hpke_suite_id(s, idb);
    mls_bytes vksc = mls_bytes_of(ksc, 1 + 2 * s->nh);
    mls_bytes vsecret = mls_bytes_of(secret, s->nh);
    mls_hpke_ctx ctx;
    int err;
    if (info_hash.n != s->nh)
        return MLS_ERR_ARG;
    memset(&ctx, 0, sizeof(ctx));
    /* key_schedule_context = concat(mode, psk_id_hash, info_hash) */
    ksc[0] = 0x00; /* mode_base */
    memcpy(ksc + 1 + s->nh, info_hash.p, s->nh);
    err = psk_id_hash(s, ksc + 1);
    if (!err)
        err = labeled_extract(s, id, shared, "secret", none, secret);
    if (!err)
        err = labeled_expand(s, id, vsecret, "key", vksc, ctx.key, s->nk);
    if (!err)
        err = labeled_expand(s, id, vsecret, "base_nonce", vksc, ctx.base_nonce, s->nn);
    if (!err && exporter)
        err = labeled_expand(s, id, vsecret, "exp", vksc, ctx.exporter_secret, s->nh);
    if (!err) {
        ctx.suite = s;
        ctx.seq = 0;
        *out = ctx;
    }
    mls_wipe(&ctx, sizeof(ctx));
    mls_wipe(secret, sizeof(secret));
    return err;
}

int mls_hpke_info_hash(const mls_suite *s, mls_bytes info, uint8_t out[MLS_MAX_HASH])
{
    static const uint8_t empty[1];
    uint8_t idb[HPKE_SUITE_ID_LEN];
    return labeled_extract(s, hpke_suite_id(s, idb), mls_bytes_of(empty, 0), "info_hash", info,
                           out);
}

static int key_schedule(const mls_suite *s, mls_bytes shared, mls_bytes info, int exporter,
                        mls_hpke_ctx *out)
{
    uint8_t ih[MLS_MAX_HASH];
    int err = mls_hpke_info_hash(s, info, ih);
    if (!err)
        err = key_schedule_hashed(s, shared, mls_bytes_of(ih, s->nh), exporter, out);
    return err;
}

void mls_hpke_ctx_clear(mls_hpke_ctx *ctx)
{
    if (ctx)
        mls_wipe(ctx, sizeof(*ctx));
}

int mls_hpke_derive_keypair(const mls_suite *s, mls_bytes ikm, mls_buf *sk, mls_buf *pk)
{
    const hpke_kem *k = suite_kem(s);
    uint8_t skb[MLS_MAX_KEM_SK], pkb[MLS_MAX_KEM_PK];
    int err;
    if (!k)
        return MLS_ERR_UNSUPPORTED;
    err = derive_keypair(s, k, ikm, skb, pkb, NULL);
    if (!err)
        err = mls_buf_set_pair(sk, mls_bytes_of(skb, k->curve->nsk), pk,
                               mls_bytes_of(pkb, k->curve->npk));
    mls_wipe(skb, sizeof(skb));
    return err;
}

int mls_hpke_generate_keypair(const mls_suite *s, const mls_env *env, mls_buf *sk, mls_buf *pk)
{
    const hpke_kem *k = suite_kem(s);
    uint8_t ikm[MLS_MAX_KEM_SK];
    int err;
    if (!k)
        return MLS_ERR_UNSUPPORTED;
    if (!env || !env->random)
        return MLS_ERR_ARG;
    /* RFC 9180 §4: GenerateKeyPair() = DeriveKeyPair(random(Nsk)). */
    if (env->random(env->ctx, ikm, k->curve->nsk) != 0) {
        err = MLS_ERR_RANDOM;
        goto out;
    }
    err = mls_hpke_derive_keypair(s, mls_bytes_of(ikm, k->curve->nsk), sk, pk);
out:
    mls_wipe(ikm, sizeof(ikm));
    return err;
}

int mls_hpke_public_from_private(const mls_suite *s, mls_bytes sk, mls_buf *pk)
{
    const hpke_kem *k = suite_kem(s);
    uint8_t pkb[MLS_MAX_KEM_PK];
    int err;
    if (!k)
        return MLS_ERR_UNSUPPORTED;
    if (sk.n != k->curve->nsk)
        return MLS_ERR_INVALID;
    err = mls_pkey_public_from_private(k->curve, sk, pkb);
    if (!err)
        err = mls_buf_set(pk, pkb, k->curve->npk);
    return err;
}

/* SetupBaseS and SetupBaseR with the exporter secret optional. */
static int setup_s(const mls_suite *s, const mls_env *env, mls_bytes pk, mls_bytes info,
                   int exporter, mls_buf *enc, mls_hpke_ctx *ctx)
{
    const hpke_kem *k = suite_kem(s);
    uint8_t encb[MLS_MAX_KEM_PK], shared[MLS_MAX_KEM_SECRET];
    mls_hpke_ctx tmp;
    int err;
    if (!k)
        return MLS_ERR_UNSUPPORTED;
    memset(&tmp, 0, sizeof(tmp));
    err = encap(s, k, env, pk, encb, shared);
    if (!err)
        err = key_schedule(s, mls_bytes_of(shared, k->nh), info, exporter, &tmp);
    if (!err)
        err = mls_buf_append(enc, encb, k->curve->npk);
    if (!err)
        *ctx = tmp;
    mls_wipe(&tmp, sizeof(tmp));
    mls_wipe(shared, sizeof(shared));
    return err;
}

static int setup_r(const mls_suite *s, mls_bytes enc, mls_bytes sk, mls_bytes pk,
                   mls_bytes info, int exporter, mls_hpke_ctx *ctx)
{
    const hpke_kem *k = suite_kem(s);
    uint8_t shared[MLS_MAX_KEM_SECRET];
    int err;
    if (!k)
        return MLS_ERR_UNSUPPORTED;
    err = decap(s, k, enc, sk, pk, shared);
    if (!err)
        err = key_schedule(s, mls_bytes_of(shared, k->nh), info, exporter, ctx);
    mls_wipe(shared, sizeof(shared));
    return err;
}

int mls_hpke_setup_base_s(const mls_suite *s, const mls_env *env, mls_bytes pk, mls_bytes info,
                          mls_buf *enc, mls_hpke_ctx *ctx)
{
    return setup_s(s, env, pk, info, 1, enc, ctx);
}

int mls_hpke_setup_base_r(const mls_suite *s, mls_bytes enc, mls_bytes sk, mls_bytes info,
                          mls_hpke_ctx *ctx)
{
    return setup_r(s, enc, sk, mls_bytes_of(NULL, 0), info, 1, ctx);
}

/* RFC 9180 §5.2 ComputeNonce(seq) = xor(base_nonce, I2OSP(seq, Nn)). */
static void compute_nonce(const mls_hpke_ctx *ctx, uint8_t nonce[MLS_MAX_AEAD_NONCE])
{
    size_t nn = ctx->suite->nn;
    memcpy(nonce, ctx->base_nonce, nn);
    for (size_t i = 0; i < 8 && i < nn; i++)
        nonce[nn - 1 - i] ^= (uint8_t)(ctx->seq >> (8 * i));
}

/* RFC 9180 §5.2 ContextS.Seal / ContextR.Open: AEAD under the next nonce,
 * then IncrementSeq. */
static int ctx_aead(mls_hpke_ctx *ctx, int seal, mls_bytes aad, mls_bytes in, mls_buf *out)
{
    uint8_t nonce[MLS_MAX_AEAD_NONCE];
    int err;
    if (!ctx || !ctx->suite)
        return MLS_ERR_STATE;
    /* RFC 9180 §5.2: the sequence number must not wrap (our counter is 64
     * bits, below the 2^96 - 1 limit of a 12-byte nonce). */
    if (ctx->seq == UINT64_MAX)
        return MLS_ERR_STATE;
    compute_nonce(ctx, nonce);
    mls_bytes key = mls_bytes_of(ctx->key, ctx->suite->nk);
    mls_bytes n = mls_bytes_of(nonce, ctx->suite->nn);
    err = seal ? mls_aead_seal(ctx->suite, key, n, aad, in, out)
               : mls_aead_open(ctx->suite, key, n, aad, in, out);
    if (!err)
        ctx->seq++;
    mls_wipe(nonce, sizeof(nonce));
    return err;
}

int mls_hpke_ctx_seal(mls_hpke_ctx *ctx, mls_bytes aad, mls_bytes pt, mls_buf *ct)
{
    return ctx_aead(ctx, 1, aad, pt, ct);
}

int mls_hpke_ctx_open(mls_hpke_ctx *ctx, mls_bytes aad, mls_bytes ct, mls_buf *pt)
{
    return ctx_aead(ctx, 0, aad, ct, pt);
}

int mls_hpke_ctx_export(const mls_hpke_ctx *ctx, mls_bytes exporter_context, uint8_t *out,
                        size_t len)
{
    uint8_t idb[HPKE_SUITE_ID_LEN];
    if (!ctx || !ctx->suite)
        return MLS_ERR_STATE;
    /* RFC 9180 §5.3: L must not exceed 255 * Nh. */
    if (len > 255 * ctx->suite->nh)
        return MLS_ERR_ARG;
    return labeled_expand(ctx->suite, hpke_suite_id(ctx->suite, idb),
                          mls_bytes_of(ctx->exporter_secret, ctx->suite->nh), "sec",
                          exporter_context, out, len);
}

int mls_hpke_seal_base_hashed(const mls_suite *s, const mls_env *env, mls_bytes pk,
                              mls_bytes info_hash, mls_bytes aad, mls_bytes pt, mls_buf *enc,
                              mls_buf *ct)
{
    const hpke_kem *k = suite_kem(s);
    uint8_t encb[MLS_MAX_KEM_PK], shared[MLS_MAX_KEM_SECRET];
    mls_hpke_ctx ctx;
    size_t ct_start = ct->n;
    int err;
    if (!k)
        return MLS_ERR_UNSUPPORTED;
    memset(&ctx, 0, sizeof(ctx));
    err = encap(s, k, env, pk, encb, shared);
    if (!err)
        err = key_schedule_hashed(s, mls_bytes_of(shared, k->nh), info_hash, 0, &ctx);
    if (!err)
        err = mls_hpke_ctx_seal(&ctx, aad, pt, ct);
    if (!err) {
        err = mls_buf_append(enc, encb, k->curve->npk);
        if (err)
            ct->n = ct_start;
    }
    mls_hpke_ctx_clear(&ctx);
    mls_wipe(shared, sizeof(shared));
    return err;
}

int mls_hpke_seal_base(const mls_suite *s, const mls_env *env, mls_bytes pk, mls_bytes info,
                       mls_bytes aad, mls_bytes pt, mls_buf *enc, mls_buf *ct)
{
    uint8_t encstore[MLS_MAX_KEM_PK];
    mls_buf encb;
    mls_hpke_ctx ctx;
    size_t ct_start = ct->n;
    int err;
    memset(&ctx, 0, sizeof(ctx));
    mls_buf_init_stack(&encb, encstore, sizeof(encstore));
    err = setup_s(s, env, pk, info, 0, &encb, &ctx);
    if (!err)
        err = mls_hpke_ctx_seal(&ctx, aad, pt, ct);
    if (!err) {
        err = mls_buf_append(enc, encb.p, encb.n);
        if (err)
            ct->n = ct_start;
    }
    mls_hpke_ctx_clear(&ctx);
    mls_buf_clear(&encb);
    return err;
}

int mls_hpke_open_base_kp(const mls_suite *s, mls_bytes enc, mls_bytes sk, mls_bytes pk,
                          mls_bytes info, mls_bytes aad, mls_bytes ct, mls_buf *pt)
{
    mls_hpke_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    int err = setup_r(s, enc, sk, pk, info, 0, &ctx);
    if (!err)
        err = mls_hpke_ctx_open(&ctx, aad, ct, pt);
    mls_hpke_ctx_clear(&ctx);
    return err;
}

int mls_hpke_open_base(const mls_suite *s, mls_bytes enc, mls_bytes sk, mls_bytes info,
                       mls_bytes aad, mls_bytes ct, mls_buf *pt)
{
    return mls_hpke_open_base_kp(s, enc, sk, mls_bytes_of(NULL, 0), info, aad, ct, pt);
}
