/* The client's GroupInfo leaf locator (src/client/ginfo.c) on GroupInfos
 * made by the group engine: every member's leaf is found, with blanks in
 * the tree too; unknown keys, truncated, extended and foreign bytes are
 * told apart. */
#include "ginfo.h"
#include "mls/group.h"
#include "mls/mls.h"
#include "test.h"

#define SUITE 1 /* MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519 */
#define USERS 5

static mls_identity *make_id(const mls_env *env, const char *name)
{
    mls_identity *id = NULL;
    CHECK_OK(mls_identity_generate(env, SUITE, mls_bytes_of((const uint8_t *)name, strlen(name)),
                                   &id));
    return id;
}

/* Applies a staged commit (the Delivery Service accepted it). */
static void commit(mls_group *g, mls_staged_commit *sc)
{
    CHECK(sc != NULL);
    if (sc)
        CHECK_OK(mls_group_merge_staged(g, sc));
    mls_staged_commit_free(sc);
}

static void test_find(void)
{
    const mls_env *env = mls_env_default();
    static const char *const names[USERS] = {"alice", "bob", "carol", "dave", "erin"};
    mls_identity *ids[USERS];
    mls_buf kp[USERS], bundle[USERS], gi;
    mls_bytes kps[USERS];
    mls_group *g = NULL;
    mls_staged_commit *sc = NULL;
    uint32_t leaf = 99, two[1] = {2};
    size_t i;
    mls_identity *stranger = make_id(env, "mallory");

    mls_buf_init(&gi);
    for (i = 0; i < USERS; i++) {
        ids[i] = make_id(env, names[i]);
        mls_buf_init(&kp[i]);
        mls_buf_init(&bundle[i]);
        if (i > 0) {
            CHECK_OK(mls_key_package_create(env, ids[i], NULL, &kp[i], &bundle[i]));
            kps[i - 1] = mls_buf_view(&kp[i]);
        }
    }
    CHECK_OK(mls_group_create(env, ids[0], mls_bytes_of(NULL, 0), NULL, 0, NULL, &g));
    CHECK_OK(mls_group_add_members(g, kps, USERS - 1, &sc));
    commit(g, sc);
    sc = NULL;

    CHECK_OK(mls_group_group_info(g, 1, &gi));
    for (i = 0; i < USERS; i++) {
        CHECK(cli_group_info_find_leaf(mls_buf_view(&gi), mls_identity_signature_key(ids[i]),
                                       &leaf) == 0);
        CHECK(leaf == i);
    }
    leaf = 99;
    CHECK(cli_group_info_find_leaf(mls_buf_view(&gi), mls_identity_signature_key(stranger),
                                   &leaf) == 1);
    CHECK(leaf == 99);
    CHECK(cli_group_info_find_leaf(mls_buf_view(&gi), mls_bytes_of(NULL, 0), &leaf) == 1);

    /* A blank leaf in the middle: the others keep their indexes. */
    CHECK_OK(mls_group_remove_members(g, two, 1, &sc));
    commit(g, sc);
    CHECK_OK(mls_group_group_info(g, 1, &gi));
    CHECK(cli_group_info_find_leaf(mls_buf_view(&gi), mls_identity_signature_key(ids[2]),
                                   &leaf) == 1);
    CHECK(cli_group_info_find_leaf(mls_buf_view(&gi), mls_identity_signature_key(ids[4]),
                                   &leaf) == 0 &&
          leaf == 4);
    CHECK(cli_group_info_find_leaf(mls_buf_view(&gi), mls_identity_signature_key(ids[1]),
                                   &leaf) == 0 &&
          leaf == 1);

    /* Every truncation and one byte more do not parse. */
    leaf = 99;
    for (i = 0; i < gi.n; i++)
        CHECK(cli_group_info_find_leaf(mls_bytes_of(gi.p, i), mls_identity_signature_key(ids[1]),
                                       &leaf) == -1);
    {
        mls_buf longer;
        mls_buf_init(&longer);
        CHECK_OK(mls_buf_set(&longer, gi.p, gi.n));
        CHECK_OK(mls_buf_append(&longer, (const uint8_t *)"", 1));
        CHECK(cli_group_info_find_leaf(mls_buf_view(&longer), mls_identity_signature_key(ids[1]),
                                       &leaf) == -1);
        /* Another wire format (a KeyPackage) is not a GroupInfo. */
        CHECK(cli_group_info_find_leaf(mls_buf_view(&kp[1]), mls_identity_signature_key(ids[1]),
                                       &leaf) == -1);
        mls_buf_clear(&longer);
    }
    CHECK(leaf == 99);

    /* Without the ratchet tree there is nothing to find. */
    CHECK_OK(mls_group_group_info(g, 0, &gi));
    CHECK(cli_group_info_find_leaf(mls_buf_view(&gi), mls_identity_signature_key(ids[1]),
                                   &leaf) == -1);

    mls_group_free(g);
    mls_buf_clear(&gi);
    mls_identity_free(stranger);
    for (i = 0; i < USERS; i++) {
        mls_identity_free(ids[i]);
        mls_buf_clear(&kp[i]);
        mls_buf_clear(&bundle[i]);
    }
}

int main(void)
{
    test_find();
    TEST_MAIN_END("test_client_ginfo");
}
