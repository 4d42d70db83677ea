/* Unit tests for lib/messages_verify.c: LeafNode and KeyPackage signatures
 * (RFC 9420 §7.3, §10.1) and KeyPackageRef (§5.2), on KeyPackages built
 * and signed here with the suite and codec functions, for every suite. */
#include "crypto.h"
#include "messages.h"
#include "test.h"

typedef struct kp_keys {
    mls_buf sig_sk, sig_pk;
} kp_keys;

static int u16_list(mls_u16_list *l, const uint16_t *v, size_t n)
{
    l->v = malloc(n * sizeof *v);
    if (!l->v)
        return MLS_ERR_NOMEM;
    memcpy(l->v, v, n * sizeof *v);
    l->n = n;
    return 0;
}

/* Signs the leaf node and the KeyPackage of kp with sk (RFC 9420 §7.2,
 * §10), replacing their signatures. */
static int sign_kp(const mls_suite *s, mls_key_package *kp, mls_bytes sk)
{
    mls_buf tbs;
    int err;
    mls_buf_init(&tbs);
    mls_buf_clear(&kp->leaf_node.signature);
    mls_buf_clear(&kp->signature);
    err = mls_leaf_node_tbs_encode(&kp->leaf_node, mls_bytes_of(NULL, 0), 0, &tbs);
    if (!err)
        err = mls_sign_with_label(s, mls_env_default(), sk, "LeafNodeTBS", mls_buf_view(&tbs),
                                  &kp->leaf_node.signature);
    mls_buf_reset(&tbs);
    if (!err)
        err = mls_key_package_tbs_encode(kp, &tbs);
    if (!err)
        err = mls_sign_with_label(s, mls_env_default(), sk, "KeyPackageTBS", mls_buf_view(&tbs),
                                  &kp->signature);
    mls_buf_clear(&tbs);
    return err;
}

/* A valid, signed KeyPackage for suite s with a fresh signature key. */
static int make_kp(const mls_suite *s, mls_key_package *kp, kp_keys *keys)
{
    static const uint16_t versions[] = {MLS_VERSION_MLS10};
    static const uint16_t creds[] = {MLS_CREDENTIAL_BASIC};
    mls_buf hsk;
    int err;
    memset(kp, 0, sizeof *kp);
    mls_buf_init(&hsk);
    kp->version = MLS_VERSION_MLS10;
    kp->cipher_suite = s->id;
    err = mls_sig_keygen(s, mls_env_default(), &keys->sig_sk, &keys->sig_pk);
    if (!err)
        err = mls_hpke_generate_keypair(s, mls_env_default(), &hsk, &kp->init_key);
    mls_buf_clear(&hsk);
    if (!err)
        err = mls_hpke_generate_keypair(s, mls_env_default(), &hsk,
                                        &kp->leaf_node.encryption_key);
    if (!err)
        err = mls_buf_copy(&kp->leaf_node.signature_key, &keys->sig_pk);
    kp->leaf_node.credential.type = MLS_CREDENTIAL_BASIC;
    if (!err)
        err = mls_buf_set(&kp->leaf_node.credential.identity, "alice", 5);
    if (!err)
        err = u16_list(&kp->leaf_node.capabilities.versions, versions, 1);
    if (!err)
        err = u16_list(&kp->leaf_node.capabilities.cipher_suites, &s->id, 1);
    if (!err)
        err = u16_list(&kp->leaf_node.capabilities.credentials, creds, 1);
    kp->leaf_node.source = MLS_LEAF_SOURCE_KEY_PACKAGE;
    kp->leaf_node.lifetime.not_before = 1000;
    kp->leaf_node.lifetime.not_after = 2000;
    if (!err)
        err = sign_kp(s, kp, mls_buf_view(&keys->sig_sk));
    mls_buf_clear(&hsk);
    return err;
}

static void keys_clear(kp_keys *k)
{
    mls_buf_clear(&k->sig_sk);
    mls_buf_clear(&k->sig_pk);
}

static void flip(mls_buf *b, size_t i)
{
    b->p[i % b->n] ^= 0x01;
}

/* Encodes, decodes and verifies: the path a server takes on upload. */
static int verify_wire(const mls_suite *s, const mls_key_package *kp)
{
    mls_buf enc;
    mls_key_package back;
    int err;
    mls_buf_init(&enc);
    err = mls_key_package_encode(kp, &enc);
    if (!err)
        err = mls_key_package_decode_bytes(mls_buf_view(&enc), &back);
    if (!err) {
        err = mls_key_package_verify(s, &back);
        mls_key_package_clear(&back);
    }
    mls_buf_clear(&enc);
    return err;
}

static void test_suite(uint16_t id)
{
    const mls_suite *s = mls_suite_get(id);
    const mls_suite *other = mls_suite_get(id == 1 ? 3 : 1);
    mls_key_package kp;
    kp_keys keys;
    mls_buf ref, ref2;
    memset(&keys, 0, sizeof keys);
    mls_buf_init(&ref);
    mls_buf_init(&ref2);
    CHECK(s != NULL);
    CHECK_OK(make_kp(s, &kp, &keys));

    /* Valid, directly and after an encode/decode round trip. */
    CHECK_OK(mls_leaf_node_verify(s, &kp.leaf_node, mls_bytes_of(NULL, 0), 0));
    CHECK_OK(mls_key_package_verify(s, &kp));
    CHECK_OK(verify_wire(s, &kp));

    /* KeyPackageRef: suite hash length, deterministic, changes with the
     * KeyPackage. */
    CHECK_OK(mls_key_package_ref(s, &kp, &ref));
    CHECK(ref.n == s->nh);
    CHECK_OK(mls_key_package_ref(s, &kp, &ref2));
    CHECK(mls_ct_equal(mls_buf_view(&ref), mls_buf_view(&ref2)));

    /* Another suite than the KeyPackage's. */
    CHECK_ERR(mls_key_package_verify(other, &kp), MLS_ERR_UNSUPPORTED);

    /* Bad leaf signature: the leaf check fails, and so does the whole. */
    flip(&kp.leaf_node.signature, 7);
    CHECK_ERR(mls_leaf_node_verify(s, &kp.leaf_node, mls_bytes_of(NULL, 0), 0),
              MLS_ERR_SIGNATURE);
    CHECK_ERR(mls_key_package_verify(s, &kp), MLS_ERR_SIGNATURE);
    CHECK_ERR(verify_wire(s, &kp), MLS_ERR_SIGNATURE);
    flip(&kp.leaf_node.signature, 7);
    CHECK_OK(mls_key_package_verify(s, &kp));

    /* Bad KeyPackage signature with a good leaf. */
    flip(&kp.signature, 5);
    CHECK_OK(mls_leaf_node_verify(s, &kp.leaf_node, mls_bytes_of(NULL, 0), 0));
    CHECK_ERR(mls_key_package_verify(s, &kp), MLS_ERR_SIGNATURE);
    CHECK_ERR(verify_wire(s, &kp), MLS_ERR_SIGNATURE);
    flip(&kp.signature, 5);

    /* A signed field changed after signing: both signatures cover it. */
    kp.leaf_node.lifetime.not_after++;
    CHECK_ERR(mls_leaf_node_verify(s, &kp.leaf_node, mls_bytes_of(NULL, 0), 0),
              MLS_ERR_SIGNATURE);
    CHECK_ERR(mls_key_package_verify(s, &kp), MLS_ERR_SIGNATURE);
    kp.leaf_node.lifetime.not_after--;
    flip(&kp.init_key, 3);
    CHECK_OK(mls_leaf_node_verify(s, &kp.leaf_node, mls_bytes_of(NULL, 0), 0));
    CHECK_ERR(mls_key_package_verify(s, &kp), MLS_ERR_SIGNATURE);
    flip(&kp.init_key, 3);
    CHECK_OK(mls_key_package_verify(s, &kp));

    /* Signed by another key than the leaf's signature_key. */
    {
        mls_buf sk2, pk2;
        mls_buf_init(&sk2);
        mls_buf_init(&pk2);
        CHECK_OK(mls_sig_keygen(s, mls_env_default(), &sk2, &pk2));
        CHECK_OK(sign_kp(s, &kp, mls_buf_view(&sk2)));
        CHECK_ERR(mls_key_package_verify(s, &kp), MLS_ERR_SIGNATURE);
        CHECK_OK(sign_kp(s, &kp, mls_buf_view(&keys.sig_sk)));
        CHECK_OK(mls_key_package_verify(s, &kp));
        mls_buf_clear(&sk2);
        mls_buf_clear(&pk2);
    }

    /* RFC 9420 §10.1: init_key == encryption_key is invalid even when
     * correctly signed. */
    {
        mls_buf saved;
        mls_buf_init(&saved);
        CHECK_OK(mls_buf_copy(&saved, &kp.init_key));
        CHECK_OK(mls_buf_set(&kp.init_key, kp.leaf_node.encryption_key.p,
                             kp.leaf_node.encryption_key.n));
        CHECK_OK(sign_kp(s, &kp, mls_buf_view(&keys.sig_sk)));
        CHECK_ERR(mls_key_package_verify(s, &kp), MLS_ERR_INVALID);
        CHECK_ERR(verify_wire(s, &kp), MLS_ERR_INVALID);
        CHECK_OK(mls_buf_set(&kp.init_key, saved.p, saved.n));
        mls_buf_clear(&saved);
    }

    /* Wrong protocol version, correctly signed. */
    kp.version = 2;
    CHECK_OK(sign_kp(s, &kp, mls_buf_view(&keys.sig_sk)));
    CHECK_ERR(mls_key_package_verify(s, &kp), MLS_ERR_UNSUPPORTED);
    CHECK_ERR(verify_wire(s, &kp), MLS_ERR_UNSUPPORTED);
    kp.version = MLS_VERSION_MLS10;

    /* A KeyPackage whose cipher_suite field names another suite. */
    kp.cipher_suite = other->id;
    CHECK_OK(sign_kp(s, &kp, mls_buf_view(&keys.sig_sk)));
    CHECK_ERR(mls_key_package_verify(s, &kp), MLS_ERR_UNSUPPORTED);
    kp.cipher_suite = s->id;

    /* A leaf from an update is not a KeyPackage leaf. */
    kp.leaf_node.source = MLS_LEAF_SOURCE_UPDATE;
    CHECK_OK(sign_kp(s, &kp, mls_buf_view(&keys.sig_sk)));
    CHECK_ERR(mls_key_package_verify(s, &kp), MLS_ERR_INVALID);
    kp.leaf_node.source = MLS_LEAF_SOURCE_KEY_PACKAGE;

    CHECK_OK(sign_kp(s, &kp, mls_buf_view(&keys.sig_sk)));
    CHECK_OK(mls_key_package_verify(s, &kp));
    /* The reference covers the signature too. */
    CHECK_OK(mls_key_package_ref(s, &kp, &ref));
    flip(&kp.signature, 0);
    CHECK_OK(mls_key_package_ref(s, &kp, &ref2));
    CHECK(!mls_ct_equal(mls_buf_view(&ref), mls_buf_view(&ref2)));

    mls_key_package_clear(&kp);
    mls_key_package_clear(&kp); /* idempotent */
    keys_clear(&keys);
    mls_buf_clear(&ref);
    mls_buf_clear(&ref2);
}

/* Leaves from update and commit are signed together with group_id and
 * leaf_index (RFC 9420 §7.2). */
static void test_leaf_binding(void)
{
    const mls_suite *s = mls_suite_get(1);
    static const uint8_t gid[] = {1, 2, 3};
    mls_key_package kp;
    kp_keys keys;
    mls_buf tbs;
    memset(&keys, 0, sizeof keys);
    mls_buf_init(&tbs);
    CHECK_OK(make_kp(s, &kp, &keys));
    mls_leaf_node *ln = &kp.leaf_node;
    ln->source = MLS_LEAF_SOURCE_UPDATE;
    mls_buf_clear(&ln->signature);
    CHECK_OK(mls_leaf_node_tbs_encode(ln, mls_bytes_of(gid, 3), 4, &tbs));
    CHECK_OK(mls_sign_with_label(s, mls_env_default(), mls_buf_view(&keys.sig_sk), "LeafNodeTBS",
                                 mls_buf_view(&tbs), &ln->signature));
    CHECK_OK(mls_leaf_node_verify(s, ln, mls_bytes_of(gid, 3), 4));
    CHECK_ERR(mls_leaf_node_verify(s, ln, mls_bytes_of(gid, 3), 5), MLS_ERR_SIGNATURE);
    CHECK_ERR(mls_leaf_node_verify(s, ln, mls_bytes_of(gid, 2), 4), MLS_ERR_SIGNATURE);
    /* A malformed signature is a failed verification, not a crash. */
    mls_buf_clear(&ln->signature);
    CHECK_ERR(mls_leaf_node_verify(s, ln, mls_bytes_of(gid, 3), 4), MLS_ERR_SIGNATURE);
    mls_key_package_clear(&kp);
    keys_clear(&keys);
    mls_buf_clear(&tbs);
}

int main(void)
{
    for (uint16_t id = 1; id <= 7; id++)
        test_suite(id);
    test_leaf_binding();
    TEST_MAIN_END("test_messages_verify");
}
