/* mls_welcome_open (include/mls/inspect.h): a Welcome of a real group
 * opened with the new member's bundle, without joining; wrong bundles,
 * truncated input and a Welcome that needs a PSK.  Public headers only. */
#include "mls/inspect.h"
#include "test.h"

#include <string.h>

static const mls_env *env;

static mls_bytes str(const char *s)
{
    return mls_bytes_of((const uint8_t *)s, strlen(s));
}

static int same(mls_bytes a, mls_bytes b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* The external PSK "psk-1" for the PSK case. */
static int psk_external(void *ctx, mls_bytes psk_id, mls_buf *psk)
{
    (void)ctx;
    if (!same(psk_id, str("psk-1")))
        return MLS_ERR_NOT_FOUND;
    return mls_buf_set(psk, "0123456789abcdef0123456789abcdef", 32);
}

static void test_open(void)
{
    mls_identity *alice = NULL, *bob = NULL, *carol = NULL;
    mls_group *g = NULL;
    mls_staged_commit *sc = NULL;
    mls_buf bob_kp, bob_bundle, carol_kp, carol_bundle, ref;
    mls_welcome_contents c;
    mls_message_info info;
    mls_tree_view *t = NULL;
    mls_bytes kp, welcome, bundles[2];
    uint32_t leaf;

    mls_buf_init(&bob_kp);
    mls_buf_init(&bob_bundle);
    mls_buf_init(&carol_kp);
    mls_buf_init(&carol_bundle);
    mls_buf_init(&ref);
    memset(&c, 0, sizeof c);
    CHECK_OK(mls_identity_generate(env, MLS_SUITE_X25519_AES128GCM_SHA256_ED25519, str("alice"),
                                   &alice));
    CHECK_OK(mls_identity_generate(env, MLS_SUITE_X25519_AES128GCM_SHA256_ED25519, str("bob"),
                                   &bob));
    CHECK_OK(mls_identity_generate(env, MLS_SUITE_X25519_AES128GCM_SHA256_ED25519, str("carol"),
                                   &carol));
    CHECK_OK(mls_key_package_create(env, bob, NULL, &bob_kp, &bob_bundle));
    CHECK_OK(mls_key_package_create(env, carol, NULL, &carol_kp, &carol_bundle));
    CHECK_OK(mls_group_create(env, alice, str("group-w"), NULL, 0, NULL, &g));
    kp = mls_buf_view(&bob_kp);
    CHECK_OK(mls_group_add_members(g, &kp, 1, &sc));
    welcome = mls_staged_commit_welcome(sc);
    CHECK_OK(mls_group_merge_staged(g, sc));

    /* Bob's bundle second: the index says which one was used. */
    bundles[0] = mls_buf_view(&carol_bundle);
    bundles[1] = mls_buf_view(&bob_bundle);
    CHECK_OK(mls_welcome_open(welcome, bundles, 2, &c));
    CHECK(c.bundle_index == 1);
    CHECK(c.suite == MLS_SUITE_X25519_AES128GCM_SHA256_ED25519);
    CHECK_OK(mls_key_package_bundle_ref(mls_buf_view(&bob_bundle), &ref));
    CHECK(same(mls_buf_view(&c.key_package_ref), mls_buf_view(&ref)));
    CHECK(c.n_psks == 0 && c.psks == NULL);
    /* An Add-only commit of a one-member group has no UpdatePath, so no
     * path_secret for the joiner (RFC 9420 §12.4.3.1). */
    CHECK(c.has_path_secret == 0);
    /* The GroupInfo is the committer's new epoch, with the tree: bob's
     * leaf is in it. */
    CHECK_OK(mls_message_inspect(mls_buf_view(&c.group_info), &info));
    CHECK(info.wire_format == MLS_WIRE_GROUP_INFO);
    CHECK(same(info.group_id, mls_group_id(g)));
    CHECK(info.epoch == mls_group_epoch(g) && info.epoch == 1);
    CHECK(info.signer_leaf == 0);
    CHECK(info.has_ratchet_tree);
    CHECK_OK(mls_tree_view_from_group_info(mls_buf_view(&c.group_info), &t));
    CHECK(mls_tree_view_leaf_count(t) == 2);
    CHECK_OK(mls_tree_view_find(t, mls_bytes_of(NULL, 0), str("bob"), &leaf));
    CHECK(leaf == 1);
    mls_tree_view_free(t);
    mls_welcome_contents_clear(&c);
    CHECK(c.group_info.n == 0 && c.key_package_ref.n == 0);

    /* Another KeyPackage's bundle, or none: not found. */
    CHECK_ERR(mls_welcome_open(welcome, bundles, 1, &c), MLS_ERR_NOT_FOUND);
    CHECK(strstr(mls_error_detail(), "12.4.3.1") != NULL);
    mls_welcome_contents_clear(&c);
    CHECK_ERR(mls_welcome_open(welcome, NULL, 0, &c), MLS_ERR_NOT_FOUND);
    mls_welcome_contents_clear(&c);
    /* A bundle that is no bundle is skipped like in mls_group_join. */
    bundles[0] = str("not a bundle");
    CHECK_OK(mls_welcome_open(welcome, bundles, 2, &c));
    CHECK(c.bundle_index == 1);
    mls_welcome_contents_clear(&c);

    /* Truncated Welcome, and a message that is not a Welcome. */
    CHECK_ERR(mls_welcome_open(mls_bytes_of(welcome.p, welcome.n - 5), bundles + 1, 1, &c),
              MLS_ERR_MALFORMED);
    mls_welcome_contents_clear(&c);
    CHECK_ERR(mls_welcome_open(mls_staged_commit_message(sc), bundles + 1, 1, &c),
              MLS_ERR_INVALID);
    mls_welcome_contents_clear(&c);
    CHECK_ERR(mls_welcome_open(welcome, NULL, 1, &c), MLS_ERR_ARG);
    mls_staged_commit_free(sc);
    sc = NULL;

    /* A Welcome whose epoch injects an external PSK: not openable without
     * it, but the PSK is named and reported.  The commit has an
     * UpdatePath now (two members), so carol gets a path_secret. */
    {
        mls_psk_store st = {psk_external, NULL, NULL};
        mls_commit_options o;
        mls_bytes psk_id = str("psk-1");
        memset(&o, 0, sizeof o);
        mls_group_set_psk_store(g, &st);
        kp = mls_buf_view(&carol_kp);
        o.add = &kp;
        o.n_add = 1;
        o.external_psks = &psk_id;
        o.n_external_psks = 1;
        o.force_path = 1;
        CHECK_OK(mls_group_commit(g, &o, &sc));
        bundles[0] = mls_buf_view(&carol_bundle);
        CHECK_ERR(mls_welcome_open(mls_staged_commit_welcome(sc), bundles, 1, &c),
                  MLS_ERR_NOT_FOUND);
        CHECK(strstr(mls_error_detail(), "external PSK 70736b2d31") != NULL);
        CHECK(c.bundle_index == 0 && c.key_package_ref.n > 0);
        CHECK(c.has_path_secret == 1);
        CHECK(c.n_psks == 1 && c.psks[0].psk_type == 1);
        CHECK(same(mls_buf_view(&c.psks[0].psk_id), psk_id));
        CHECK(c.psks[0].psk_nonce.n == 32);
        CHECK(c.group_info.n == 0);
        mls_welcome_contents_clear(&c);
    }

    mls_welcome_contents_clear(&c);
    mls_staged_commit_free(sc);
    mls_group_free(g);
    mls_identity_free(alice);
    mls_identity_free(bob);
    mls_identity_free(carol);
    mls_buf_clear(&bob_kp);
    mls_buf_clear(&bob_bundle);
    mls_buf_clear(&carol_kp);
    mls_buf_clear(&carol_bundle);
    mls_buf_clear(&ref);
}

int main(void)
{
    env = mls_env_default();
    test_open();
    TEST_MAIN_END("test_welcome_open");
}
