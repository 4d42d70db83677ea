/*
 * Identities: a signature key pair, a credential (RFC 9420 §5.3) and the
 * capabilities advertised in our leaf nodes (§7.2).
 */
#include "identity.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"

#define IDENTITY_FORMAT_VERSION 1

void mls_identity_free(mls_identity *id)
{
    if (!id)
        return;
    /* The signing key object cached by mls_sig_sign goes with the key. */
    if (id->suite && id->sig_sk.n)
        mls_sig_forget(id->suite, mls_buf_view(&id->sig_sk));
    mls_buf_clear(&id->sig_sk);
    mls_buf_clear(&id->sig_pk);
    mls_credential_clear(&id->cred);
    mls_buf_clear(&id->cred_enc);
    mls_u16_list_clear(&id->extensions);
    free(id);
}

/* Builds an identity from a private key and a decoded credential (taken
 * over by the identity on success). */
static int identity_build(uint16_t suite, mls_bytes sk, mls_credential *cred, mls_identity **out)
{
    const mls_suite *s = mls_suite_get(suite);
    mls_identity *id = NULL;
    int err;

    if (!s)
        return MLS_ERR_UNSUPPORTED;
    id = calloc(1, sizeof(*id));
    if (!id)
        return MLS_ERR_NOMEM;
    id->suite = s;
    if ((err = mls_buf_set(&id->sig_sk, sk.p, sk.n)) != 0)
        goto out;
    if ((err = mls_sig_public_from_private(s, sk, &id->sig_pk)) != 0)
        goto out;
    if ((err = mls_credential_encode(cred, &id->cred_enc)) != 0)
        goto out;
    id->cred = *cred;
    memset(cred, 0, sizeof(*cred));
    *out = id;
    id = NULL;
out:
    mls_identity_free(id);
    return err;
}

int mls_identity_from_private_key(uint16_t suite, mls_bytes signature_private_key,
                                  mls_bytes identity, mls_identity **out)
{
    mls_credential cred;
    int err;

    if (!out)
        return MLS_ERR_ARG;
    memset(&cred, 0, sizeof(cred));
    cred.type = MLS_CREDENTIAL_BASIC;
    if ((err = mls_buf_set(&cred.identity, identity.p, identity.n)) != 0)
        return err;
    err = identity_build(suite, signature_private_key, &cred, out);
    mls_credential_clear(&cred);
    return err;
}

int mls_identity_from_credential(uint16_t suite, mls_bytes signature_private_key,
                                 mls_bytes credential, mls_identity **out)
{
    mls_credential cred;
    int err;

    if (!out)
        return MLS_ERR_ARG;
    if ((err = mls_credential_decode_bytes(credential, &cred)) != 0)
        return err;
    err = identity_build(suite, signature_private_key, &cred, out);
    mls_credential_clear(&cred);
    return err;
}

int mls_identity_generate(const mls_env *env, uint16_t suite, mls_bytes identity,
                          mls_identity **out)
{
    const mls_suite *s = mls_suite_get(suite);
    mls_buf sk, pk;
    int err;

    if (!s)
        return MLS_ERR_UNSUPPORTED;
    if (!env || !out)
        return MLS_ERR_ARG;
    mls_buf_init(&sk);
    mls_buf_init(&pk);
    err = mls_sig_keygen(s, env, &sk, &pk);
    if (!err)
        err = mls_identity_from_private_key(suite, mls_buf_view(&sk), identity, out);
    mls_buf_clear(&sk);
    mls_buf_clear(&pk);
    return err;
}

int mls_identity_dup(const mls_identity *id, mls_identity **out)
{
    mls_credential cred;
    mls_identity *n = NULL;
    int err;

    if ((err = mls_credential_copy(&cred, &id->cred)) != 0)
        return err;
    err = identity_build(id->suite->id, mls_buf_view(&id->sig_sk), &cred, &n);
    mls_credential_clear(&cred);
    if (err)
        return err;
    if (id->extensions.n) {
        err = mls_identity_support_extensions(n, id->extensions.v, id->extensions.n);
        if (err) {
            mls_identity_free(n);
            return err;
        }
    }
    *out = n;
    return 0;
}

/* RFC 9420 §7.2: default extension types must not be listed. */
static int ext_is_default(uint16_t t)
{
    return t >= MLS_EXT_APPLICATION_ID && t <= MLS_EXT_EXTERNAL_SENDERS;
}

int mls_identity_support_extensions(mls_identity *id, const uint16_t *types, size_t n)
{
    size_t add = 0, i;
    uint16_t *v;

    if (!id || (n && !types))
        return MLS_ERR_ARG;
    for (i = 0; i < n; i++)
        add += !ext_is_default(types[i]);
    v = realloc(id->extensions.v, (id->extensions.n + add + 1) * sizeof(uint16_t));
    if (!v)
        return MLS_ERR_NOMEM;
    id->extensions.v = v;
    for (i = 0; i < n; i++) {
        if (ext_is_default(types[i]) || mls_u16_list_contains(&id->extensions, types[i]))
            continue;
        id->extensions.v[id->extensions.n++] = types[i];
    }
    return 0;
}

uint16_t mls_identity_suite(const mls_identity *id)
{
    return id->suite->id;
}

mls_bytes mls_identity_signature_key(const mls_identity *id)
{
    return mls_buf_view(&id->sig_pk);
}

mls_bytes mls_identity_signature_private_key(const mls_identity *id)
{
    return mls_buf_view(&id->sig_sk);
}

mls_bytes mls_identity_credential(const mls_identity *id)
{
    return mls_buf_view(&id->cred_enc);
}

mls_bytes mls_identity_name(const mls_identity *id)
{
    if (id->cred.type != MLS_CREDENTIAL_BASIC)
        return mls_bytes_of(NULL, 0);
    return mls_buf_view(&id->cred.identity);
}

static int u16_list_set(mls_u16_list *l, const uint16_t *v, size_t n)
{
    l->v = malloc((n ? n : 1) * sizeof(uint16_t));
    if (!l->v)
        return MLS_ERR_NOMEM;
    if (n)
        memcpy(l->v, v, n * sizeof(uint16_t));
    l->n = n;
    return 0;
}

int mls_identity_capabilities(const mls_identity *id, mls_capabilities *out)
{
    static const uint16_t versions[] = {MLS_VERSION_MLS10};
    static const uint16_t suites[] = {1, 2, 3, 4, 5, 6, 7};
    uint16_t creds[2] = {MLS_CREDENTIAL_BASIC, 0};
    mls_capabilities c;
    uint16_t *ext = NULL;
    size_t n_ext = 0, i;
    int err;

    memset(&c, 0, sizeof(c));
    ext = malloc((id->extensions.n + 1) * sizeof(uint16_t));
    if (!ext)
        return MLS_ERR_NOMEM;
    ext[n_ext++] = MLS_EXTENSION_LAST_RESORT;
    for (i = 0; i < id->extensions.n; i++)
        if (id->extensions.v[i] != MLS_EXTENSION_LAST_RESORT)
            ext[n_ext++] = id->extensions.v[i];
    if (id->cred.type != MLS_CREDENTIAL_BASIC)
        creds[1] = id->cred.type;
    if ((err = u16_list_set(&c.versions, versions, 1)) != 0 ||
        (err = u16_list_set(&c.cipher_suites, suites, 7)) != 0 ||
        (err = u16_list_set(&c.extensions, ext, n_ext)) != 0 ||
        (err = u16_list_set(&c.proposals, NULL, 0)) != 0 ||
        (err = u16_list_set(&c.credentials, creds, creds[1] ? 2 : 1)) != 0) {
        mls_capabilities_clear(&c);
        goto out;
    }
    mls_capabilities_clear(out);
    *out = c;
out:
    free(ext);
    return err;
}

int mls_identity_sign_leaf(const mls_identity *id, const mls_env *env, mls_leaf_node *ln,
                           mls_bytes group_id, uint32_t leaf_index)
{
    mls_buf tbs, sig;
    int err;

    mls_buf_init(&tbs);
    mls_buf_init(&sig);
    err = mls_leaf_node_tbs_encode(ln, group_id, leaf_index, &tbs);
    if (!err)
        err = mls_sign_with_label(id->suite, env, mls_buf_view(&id->sig_sk), "LeafNodeTBS",
                                  mls_buf_view(&tbs), &sig);
    if (!err) {
        mls_buf_clear(&ln->signature);
        ln->signature = sig;
        mls_buf_init(&sig);
    }
    mls_buf_clear(&tbs);
    mls_buf_clear(&sig);
    return err;
}

int mls_identity_make_leaf(const mls_identity *id, const mls_env *env, mls_bytes encryption_key,
                           uint8_t source, const mls_lifetime *lifetime, mls_bytes parent_hash,
                           mls_bytes group_id, uint32_t leaf_index, mls_leaf_node *out)
{
    mls_leaf_node ln;
    int err;

    memset(&ln, 0, sizeof(ln));
    ln.source = source;
    if ((err = mls_buf_set(&ln.encryption_key, encryption_key.p, encryption_key.n)) != 0 ||
        (err = mls_buf_copy(&ln.signature_key, &id->sig_pk)) != 0 ||
        (err = mls_credential_copy(&ln.credential, &id->cred)) != 0 ||
        (err = mls_identity_capabilities(id, &ln.capabilities)) != 0)
        goto out;
    if (source == MLS_LEAF_SOURCE_KEY_PACKAGE && lifetime)
        ln.lifetime = *lifetime;
    if (source == MLS_LEAF_SOURCE_COMMIT &&
        (err = mls_buf_set(&ln.parent_hash, parent_hash.p, parent_hash.n)) != 0)
        goto out;
    if (env && (err = mls_identity_sign_leaf(id, env, &ln, group_id, leaf_index)) != 0)
        goto out;
    mls_leaf_node_clear(out);
    *out = ln;
    memset(&ln, 0, sizeof(ln));
out:
    mls_leaf_node_clear(&ln);
    return err;
}

int mls_identity_write(const mls_identity *id, mls_buf *w)
{
    int err;

    if ((err = mls_write_u8(w, IDENTITY_FORMAT_VERSION)) != 0 ||
        (err = mls_write_u16(w, id->suite->id)) != 0 ||
        (err = mls_write_vec(w, id->sig_sk.p, id->sig_sk.n)) != 0 ||
        (err = mls_credential_encode(&id->cred, w)) != 0 ||
        (err = mls_u16_list_encode(&id->extensions, w)) != 0)
        return err;
    return 0;
}

int mls_identity_read(mls_reader *r, mls_identity **out)
{
    mls_credential cred;
    mls_u16_list ext;
    mls_identity *id = NULL;
    mls_bytes sk;
    uint16_t suite;
    uint8_t ver;
    int err;

    memset(&cred, 0, sizeof(cred));
    memset(&ext, 0, sizeof(ext));
    if ((err = mls_read_u8(r, &ver)) != 0)
        return err;
    if (ver != IDENTITY_FORMAT_VERSION)
        return MLS_ERR_UNSUPPORTED;
    if ((err = mls_read_u16(r, &suite)) != 0 || (err = mls_read_vec_bytes(r, &sk)) != 0 ||
        (err = mls_credential_decode(r, &cred)) != 0)
        goto out;
    if ((err = mls_u16_list_decode(r, &ext)) != 0)
        goto out;
    if ((err = identity_build(suite, sk, &cred, &id)) != 0)
        goto out;
    if (ext.n && (err = mls_identity_support_extensions(id, ext.v, ext.n)) != 0)
        goto out;
    *out = id;
    id = NULL;
out:
    mls_identity_free(id);
    mls_credential_clear(&cred);
    mls_u16_list_clear(&ext);
    return err;
}

int mls_identity_serialize(const mls_identity *id, mls_buf *out)
{
    mls_buf w;
    int err;

    if (!id || !out)
        return MLS_ERR_ARG;
    mls_buf_init(&w);
    err = mls_identity_write(id, &w);
    if (!err) {
        mls_buf_clear(out);
        *out = w;
        return 0;
    }
    mls_buf_clear(&w);
    return err;
}

int mls_identity_deserialize(mls_bytes in, mls_identity **out)
{
    mls_identity *id = NULL;
    mls_reader r;
    int err;

    if (!out)
        return MLS_ERR_ARG;
    mls_reader_init_bytes(&r, in);
    if ((err = mls_identity_read(&r, &id)) != 0)
        return err;
    if ((err = mls_reader_done(&r)) != 0) {
        mls_identity_free(id);
        return err;
    }
    *out = id;
    return 0;
}

int mls_identity_sign(const mls_env *env, const mls_identity *id, const char *label,
                      mls_bytes content, mls_buf *sig)
{
    mls_buf s;
    int err;

    if (!id || !env || !label || !sig)
        return MLS_ERR_ARG;
    mls_buf_init(&s);
    err = mls_sign_with_label(id->suite, env, mls_buf_view(&id->sig_sk), label, content, &s);
    if (!err) {
        mls_buf_clear(sig);
        *sig = s;
        return 0;
    }
    mls_buf_clear(&s);
    return err;
}

int mls_signature_verify(uint16_t suite, mls_bytes signature_key, const char *label,
                         mls_bytes content, mls_bytes sig)
{
    const mls_suite *s = mls_suite_get(suite);

    if (!s)
        return MLS_ERR_UNSUPPORTED;
    if (!label)
        return MLS_ERR_ARG;
    mls_error_detail_clear();
    return mls_verify_with_label(s, signature_key, label, content, sig);
}

int mls_credential_basic_identity(mls_bytes credential, mls_bytes *identity)
{
    mls_reader r;
    uint16_t type;
    mls_bytes id;
    int err;

    mls_reader_init_bytes(&r, credential);
    if ((err = mls_read_u16(&r, &type)) != 0)
        return err;
    if (type != MLS_CREDENTIAL_BASIC)
        return MLS_ERR_UNSUPPORTED;
    if ((err = mls_read_vec_bytes(&r, &id)) != 0)
        return err;
    if ((err = mls_reader_done(&r)) != 0)
        return err;
    *identity = id;
    return 0;
}

int mls_signature_key_fingerprint(mls_bytes signature_key, char out[MLS_FINGERPRINT_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    /* docs/PROTOCOL.md §2: SHA-256 whatever the key's suite, so a key has
     * one fingerprint; suite 0x0001's hash is SHA-256. */
    const mls_suite *sha256 = mls_suite_get(MLS_SUITE_X25519_AES128GCM_SHA256_ED25519);
    uint8_t h[MLS_MAX_HASH];
    char txt[MLS_FINGERPRINT_SIZE];
    size_t i, o = 0;
    int err;

    if (!out || (!signature_key.p && signature_key.n))
        return MLS_ERR_ARG;
    if ((err = mls_hash(sha256, signature_key, h)) != 0)
        return err;
    /* 32 bytes as 64 lowercase hex digits, ':' after every 4. */
    for (i = 0; i < sha256->nh; i++) {
        if (i > 0 && i % 2 == 0)
            txt[o++] = ':';
        txt[o++] = hex[h[i] >> 4];
        txt[o++] = hex[h[i] & 15];
    }
    txt[o] = 0;
    memcpy(out, txt, sizeof txt);
    return 0;
}
