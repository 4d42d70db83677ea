/*
 * passive-client-welcome.json, passive-client-handling-commit.json,
 * passive-client-random.json (test-vectors.md "Passive Client
 * Scenarios"): a client joins from a Welcome (with the tree in it or
 * beside it, and external PSKs) and follows every epoch's proposals and
 * commit through the public API, checking the epoch authenticator each
 * time.
 */
#include "vec.h"

#include <string.h>

#include "hpke.h"
#include "key_package.h"
#include "mls/group.h"

typedef struct psk_table {
    mls_buf *ids;
    mls_buf *psks;
    size_t n;
} psk_table;

static int psk_external(void *ctx, mls_bytes id, mls_buf *psk)
{
    const psk_table *t = ctx;
    for (size_t i = 0; i < t->n; i++)
        if (t->ids[i].n == id.n && (id.n == 0 || memcmp(t->ids[i].p, id.p, id.n) == 0))
            return mls_buf_set(psk, t->psks[i].p, t->psks[i].n);
    return MLS_ERR_NOT_FOUND;
}

static void psk_table_clear(psk_table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        mls_buf_clear(&t->ids[i]);
        mls_buf_clear(&t->psks[i]);
    }
    free(t->ids);
    free(t->psks);
    memset(t, 0, sizeof(*t));
}

static int psk_table_load(json_t *entry, psk_table *t)
{
    json_t *arr = json_object_get(entry, "external_psks");
    size_t n = json_is_array(arr) ? json_array_size(arr) : 0;

    memset(t, 0, sizeof(*t));
    if (!json_is_array(arr)) {
        vec_fail("external_psks missing");
        return -1;
    }
    t->ids = calloc(n + 1, sizeof(mls_buf));
    t->psks = calloc(n + 1, sizeof(mls_buf));
    if (!t->ids || !t->psks)
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i);
        t->n = i + 1;
        if (vec_hex(e, "psk_id", &t->ids[i]) || vec_hex(e, "psk", &t->psks[i]))
            return -1;
    }
    return 0;
}

/* The vectors give NIST-curve private keys without leading zero bytes (a
 * 65-byte P-521 scalar); the library keeps them left-padded to the fixed
 * size (lib/suite.h, RFC 9180 §7.1.2 Nsk), so pad them. */
static int pad_key(size_t want, mls_buf *sk)
{
    uint8_t tmp[MLS_MAX_SIG_SK > MLS_MAX_KEM_SK ? MLS_MAX_SIG_SK : MLS_MAX_KEM_SK];
    int err;

    if (want == 0 || sk->n >= want || want > sizeof(tmp))
        return MLS_OK;
    memset(tmp, 0, sizeof(tmp));
    memcpy(tmp + (want - sk->n), sk->p, sk->n);
    err = mls_buf_set(sk, tmp, want);
    mls_wipe(tmp, sizeof(tmp));
    return err;
}

static size_t ecdsa_sk_size(const mls_suite *s)
{
    return s->sig == MLS_SIG_P256 ? 32 : s->sig == MLS_SIG_P384 ? 48 : s->sig == MLS_SIG_P521 ? 66 : 0;
}

static size_t kem_sk_size(const mls_suite *s)
{
    return s->kem == MLS_KEM_P256 || s->kem == MLS_KEM_P384 || s->kem == MLS_KEM_P521
               ? s->kem_nsk
               : 0;
}

/* The private keys must be those of the KeyPackage's public keys. */
static int check_keys(const mls_suite *s, const mls_key_package *kp, mls_bytes sig_priv,
                      mls_bytes enc_priv, mls_bytes init_priv)
{
    mls_buf pk;
    int ok;

    mls_buf_init(&pk);
    ok = mls_sig_public_from_private(s, sig_priv, &pk) == 0 &&
         !vec_expect_bytes("signature_key", mls_buf_view(&kp->leaf_node.signature_key),
                           mls_buf_view(&pk)) &&
         mls_hpke_public_from_private(s, enc_priv, &pk) == 0 &&
         !vec_expect_bytes("encryption_key", mls_buf_view(&kp->leaf_node.encryption_key),
                           mls_buf_view(&pk)) &&
         mls_hpke_public_from_private(s, init_priv, &pk) == 0 &&
         !vec_expect_bytes("init_key", mls_buf_view(&kp->init_key), mls_buf_view(&pk));
    mls_buf_clear(&pk);
    return ok ? 0 : -1;
}

static int passive_client(json_t *entry)
{
    const mls_suite *s;
    mls_buf kp_msg, sig_priv, enc_priv, init_priv, welcome, tree, bundle, cred, msg;
    mls_key_package kp;
    mls_identity *id = NULL;
    mls_group *g = NULL;
    mls_join_options jo;
    mls_process_result res;
    psk_table psks;
    json_t *epochs, *rt;
    int rc = -1, err;

    mls_buf_init(&kp_msg);
    mls_buf_init(&sig_priv);
    mls_buf_init(&enc_priv);
    mls_buf_init(&init_priv);
    mls_buf_init(&welcome);
    mls_buf_init(&tree);
    mls_buf_init(&bundle);
    mls_buf_init(&cred);
    mls_buf_init(&msg);
    memset(&kp, 0, sizeof(kp));
    memset(&jo, 0, sizeof(jo));
    memset(&res, 0, sizeof(res));
    memset(&psks, 0, sizeof(psks));

    if (vec_suite(entry, &s) || vec_hex(entry, "key_package", &kp_msg) ||
        vec_hex(entry, "signature_priv", &sig_priv) ||
        vec_hex(entry, "encryption_priv", &enc_priv) || vec_hex(entry, "init_priv", &init_priv) ||
        vec_hex(entry, "welcome", &welcome) || psk_table_load(entry, &psks))
        goto out;
    if (pad_key(ecdsa_sk_size(s), &sig_priv) || pad_key(kem_sk_size(s), &enc_priv) ||
        pad_key(kem_sk_size(s), &init_priv)) {
        vec_fail("padding keys");
        goto out;
    }
    if ((err = mls_key_package_from_message(mls_buf_view(&kp_msg), &kp)) != 0) {
        vec_fail("key_package: %s", mls_errname(err));
        goto out;
    }
    if (check_keys(s, &kp, mls_buf_view(&sig_priv), mls_buf_view(&enc_priv),
                   mls_buf_view(&init_priv))) {
        vec_fail("private keys do not match the KeyPackage");
        goto out;
    }
    rt = json_object_get(entry, "ratchet_tree");
    if (rt && !json_is_null(rt) && vec_hex_value(rt, &tree))
        goto out;

    /* The client: its identity (key and credential of the KeyPackage) and
     * the KeyPackage's private bundle. */
    if ((err = mls_credential_encode(&kp.leaf_node.credential, &cred)) != 0 ||
        (err = mls_identity_from_credential(s->id, mls_buf_view(&sig_priv), mls_buf_view(&cred),
                                            &id)) != 0 ||
        (err = mls_kp_bundle_encode(&kp, mls_buf_view(&init_priv), mls_buf_view(&enc_priv),
                                    &bundle)) != 0) {
        vec_fail("identity: %s", mls_errname(err));
        goto out;
    }
    jo.ratchet_tree = mls_buf_view(&tree);
    jo.psks.external = psk_external;
    jo.psks.ctx = &psks;
    {
        mls_bytes b = mls_buf_view(&bundle);
        if ((err = mls_group_join(mls_env_default(), id, mls_buf_view(&welcome), &b, 1, &jo, NULL,
                                  &g)) != 0) {
            vec_fail("join: %s", mls_errname(err));
            goto out;
        }
    }
    if (vec_expect(entry, "initial_epoch_authenticator", mls_group_epoch_authenticator(g)))
        goto out;

    epochs = json_object_get(entry, "epochs");
    if (!json_is_array(epochs)) {
        vec_fail("epochs missing");
        goto out;
    }
    for (size_t e = 0; e < json_array_size(epochs); e++) {
        json_t *ep = json_array_get(epochs, e);
        json_t *props = json_object_get(ep, "proposals");
        for (size_t i = 0; json_is_array(props) && i < json_array_size(props); i++) {
            if (vec_hex_value(json_array_get(props, i), &msg))
                goto out;
            if ((err = mls_group_process(g, mls_buf_view(&msg), &res)) != 0 ||
                res.kind != MLS_RESULT_PROPOSAL) {
                vec_fail("epoch %zu proposal %zu: %s", e, i, mls_errname(err));
                goto out;
            }
            mls_process_result_clear(&res);
        }
        if (vec_hex(ep, "commit", &msg))
            goto out;
        if ((err = mls_group_process(g, mls_buf_view(&msg), &res)) != 0 ||
            res.kind != MLS_RESULT_COMMIT) {
            vec_fail("epoch %zu commit: %s", e, mls_errname(err));
            goto out;
        }
        mls_process_result_clear(&res);
        if (vec_expect(ep, "epoch_authenticator", mls_group_epoch_authenticator(g))) {
            vec_fail("epoch %zu: epoch_authenticator", e);
            goto out;
        }
    }
    rc = 0;
out:
    mls_process_result_clear(&res);
    mls_group_free(g);
    mls_identity_free(id);
    mls_key_package_clear(&kp);
    psk_table_clear(&psks);
    mls_buf_clear(&kp_msg);
    mls_buf_clear(&sig_priv);
    mls_buf_clear(&enc_priv);
    mls_buf_clear(&init_priv);
    mls_buf_clear(&welcome);
    mls_buf_clear(&tree);
    mls_buf_clear(&bundle);
    mls_buf_clear(&cred);
    mls_buf_clear(&msg);
    return rc;
}

int vec_passive_client_welcome(json_t *entry)
{
    return passive_client(entry);
}

int vec_passive_client_handling_commit(json_t *entry)
{
    return passive_client(entry);
}

int vec_passive_client_random(json_t *entry)
{
    return passive_client(entry);
}
