/* Inspection without a group (include/mls/inspect.h): mls_message_inspect
 * of every wire format, ratchet tree views and GroupInfo member lookup,
 * suite queries, names, the fingerprint format and error detail.  Uses the
 * public headers only. */
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

static void test_suites(void)
{
    CHECK(mls_suite_supported(MLS_SUITE_X25519_AES128GCM_SHA256_ED25519));
    CHECK(mls_suite_supported(MLS_SUITE_P384_AES256GCM_SHA384_P384));
    CHECK(!mls_suite_supported(0));
    CHECK(!mls_suite_supported(0x0008));
    CHECK(mls_suite_signature_key_size(MLS_SUITE_X25519_AES128GCM_SHA256_ED25519) == 32);
    CHECK(mls_suite_signature_key_size(MLS_SUITE_P256_AES128GCM_SHA256_P256) == 65);
    CHECK(mls_suite_signature_key_size(MLS_SUITE_X448_AES256GCM_SHA512_ED448) == 57);
    CHECK(mls_suite_signature_key_size(0x0042) == 0);
    CHECK(mls_suite_hpke_key_size(MLS_SUITE_X25519_AES128GCM_SHA256_ED25519) == 32);
    CHECK(mls_suite_hpke_key_size(0x0042) == 0);
    CHECK(mls_suite_name(MLS_SUITE_X25519_AES128GCM_SHA256_ED25519) != NULL);
    CHECK(mls_suite_name(0x0042) == NULL);
}

static void test_names(void)
{
    CHECK(strcmp(mls_wire_format_name(MLS_WIRE_WELCOME), "Welcome") == 0);
    CHECK(strcmp(mls_wire_format_name(99), "unknown") == 0);
    CHECK(strcmp(mls_content_type_name(MLS_CONTENT_COMMIT), "commit") == 0);
    CHECK(strcmp(mls_sender_type_name(MLS_SENDER_NEW_MEMBER_COMMIT), "new_member_commit") == 0);
    CHECK(strcmp(mls_proposal_type_name(MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS),
                 "group_context_extensions") == 0);
    CHECK(strcmp(mls_proposal_type_name(0x7777), "unknown") == 0);
}

/* docs/PROTOCOL.md §2: SHA-256 of the raw key, 16 groups of 4 lowercase
 * hex digits joined by ':'.  SHA-256("") = e3b0c442 98fc1c14 ... */
static void test_fingerprint(void)
{
    char fp[MLS_FINGERPRINT_SIZE];
    CHECK_OK(mls_signature_key_fingerprint(mls_bytes_of(NULL, 0), fp));
    CHECK(strcmp(fp, "e3b0:c442:98fc:1c14:9afb:f4c8:996f:b924:27ae:41e4:649b:934c:a495:"
                     "991b:7852:b855") == 0);
    CHECK(strlen(fp) == 79);
    CHECK_OK(mls_signature_key_fingerprint(str("abc"), fp));
    CHECK(strncmp(fp, "ba78:16bf:8f01:cfea:", 20) == 0);
    CHECK_ERR(mls_signature_key_fingerprint(mls_bytes_of(NULL, 3), fp), MLS_ERR_ARG);
}

typedef struct fixture {
    mls_identity *alice, *bob;
    mls_group *g;
    mls_buf bob_kp, bob_bundle;
    mls_staged_commit *sc;
    mls_buf app, gi_no_tree, tree, proposal;
} fixture;

static void fixture_init(fixture *f)
{
    mls_group_config cfg;
    mls_bytes kp;

    memset(f, 0, sizeof *f);
    mls_group_config_default(&cfg);
    cfg.handshake_private = 0; /* the commit is a PublicMessage */
    CHECK_OK(mls_identity_generate(env, MLS_SUITE_X25519_AES128GCM_SHA256_ED25519, str("alice"),
                                   &f->alice));
    CHECK_OK(mls_identity_generate(env, MLS_SUITE_X25519_AES128GCM_SHA256_ED25519, str("bob"),
                                   &f->bob));
    CHECK_OK(mls_key_package_create(env, f->bob, NULL, &f->bob_kp, &f->bob_bundle));
    CHECK_OK(mls_group_create(env, f->alice, str("group-1"), NULL, 0, &cfg, &f->g));
    kp = mls_buf_view(&f->bob_kp);
    CHECK_OK(mls_group_add_members(f->g, &kp, 1, &f->sc));
    CHECK_OK(mls_group_merge_staged(f->g, f->sc));
    CHECK_OK(mls_group_protect(f->g, str("ad!"), str("hello"), &f->app));
    CHECK_OK(mls_group_group_info(f->g, 0, &f->gi_no_tree));
    CHECK_OK(mls_group_ratchet_tree(f->g, &f->tree));
    CHECK_OK(mls_group_propose_remove(f->g, 1, &f->proposal));
}

static void fixture_clear(fixture *f)
{
    mls_staged_commit_free(f->sc);
    mls_group_free(f->g);
    mls_identity_free(f->alice);
    mls_identity_free(f->bob);
    mls_buf_clear(&f->bob_kp);
    mls_buf_clear(&f->bob_bundle);
    mls_buf_clear(&f->app);
    mls_buf_clear(&f->gi_no_tree);
    mls_buf_clear(&f->tree);
    mls_buf_clear(&f->proposal);
}

static void test_inspect_messages(fixture *f)
{
    mls_message_info info;
    mls_bytes commit = mls_staged_commit_message(f->sc);
    mls_bytes welcome = mls_staged_commit_welcome(f->sc);
    mls_bytes gi = mls_staged_commit_group_info(f->sc);

    /* The commit: PublicMessage from leaf 0 in epoch 0. */
    CHECK_OK(mls_message_inspect(commit, &info));
    CHECK(info.wire_format == MLS_WIRE_PUBLIC_MESSAGE);
    CHECK(info.content_type == MLS_CONTENT_COMMIT);
    CHECK(info.epoch == 0);
    CHECK(same(info.group_id, str("group-1")));
    CHECK(info.sender_type == MLS_SENDER_MEMBER && info.sender_leaf == 0);
    CHECK(info.group_id.p > commit.p && info.group_id.p < commit.p + commit.n);

    /* A proposal in epoch 1: its type. */
    CHECK_OK(mls_message_inspect(mls_buf_view(&f->proposal), &info));
    CHECK(info.content_type == MLS_CONTENT_PROPOSAL);
    CHECK(info.proposal_type == MLS_PROPOSAL_REMOVE);
    CHECK(info.epoch == 1);

    /* Application data: PrivateMessage, sender hidden, AAD in clear. */
    CHECK_OK(mls_message_inspect(mls_buf_view(&f->app), &info));
    CHECK(info.wire_format == MLS_WIRE_PRIVATE_MESSAGE);
    CHECK(info.content_type == MLS_CONTENT_APPLICATION);
    CHECK(info.epoch == 1 && info.sender_type == 0);
    CHECK(same(info.group_id, str("group-1")));
    CHECK(same(info.authenticated_data, str("ad!")));

    /* The Welcome: suite and one recipient. */
    CHECK_OK(mls_message_inspect(welcome, &info));
    CHECK(info.wire_format == MLS_WIRE_WELCOME);
    CHECK(info.suite == MLS_SUITE_X25519_AES128GCM_SHA256_ED25519);
    CHECK(info.n_recipients == 1);

    /* GroupInfo of epoch 1 signed by leaf 0, with and without the tree. */
    CHECK_OK(mls_message_inspect(gi, &info));
    CHECK(info.wire_format == MLS_WIRE_GROUP_INFO);
    CHECK(info.epoch == 1 && info.signer_leaf == 0);
    CHECK(info.version == MLS_VERSION_MLS10);
    CHECK(same(info.group_id, str("group-1")));
    CHECK(info.has_ratchet_tree && info.has_external_pub);
    CHECK_OK(mls_message_inspect(mls_buf_view(&f->gi_no_tree), &info));
    CHECK(!info.has_ratchet_tree);

    /* The KeyPackage: its suite and the bare KeyPackage after the 4-byte
     * MLSMessage header. */
    CHECK_OK(mls_message_inspect(mls_buf_view(&f->bob_kp), &info));
    CHECK(info.wire_format == MLS_WIRE_KEY_PACKAGE);
    CHECK(info.suite == MLS_SUITE_X25519_AES128GCM_SHA256_ED25519);
    CHECK(info.key_package.p == f->bob_kp.p + 4 && info.key_package.n == f->bob_kp.n - 4);
    {
        /* mls_key_package_validate fills the same fields. */
        mls_key_package_info kpi;
        CHECK_OK(mls_key_package_validate(env, mls_buf_view(&f->bob_kp), 0, &kpi));
        CHECK(kpi.credential_type == MLS_CREDENTIAL_TYPE_BASIC);
        CHECK(kpi.key_package.p == info.key_package.p && kpi.key_package.n == info.key_package.n);
        CHECK(same(kpi.identity, str("bob")));
    }

    /* Truncated, trailing, empty, another version: refused, info
     * untouched. */
    memset(&info, 0x5a, sizeof info);
    CHECK(mls_message_inspect(mls_bytes_of(commit.p, commit.n - 1), &info) != 0);
    CHECK(info.wire_format == 0x5a5a);
    {
        uint8_t buf[4096];
        CHECK(commit.n + 1 <= sizeof buf);
        memcpy(buf, commit.p, commit.n);
        buf[commit.n] = 0;
        CHECK_ERR(mls_message_inspect(mls_bytes_of(buf, commit.n + 1), &info), MLS_ERR_TRAILING);
        buf[1] = 2; /* version mls10 is 0x0001 */
        CHECK_ERR(mls_message_inspect(mls_bytes_of(buf, commit.n), &info), MLS_ERR_UNSUPPORTED);
    }
    CHECK(mls_message_inspect(mls_bytes_of(NULL, 0), &info) != 0);
    CHECK_ERR(mls_message_inspect(commit, NULL), MLS_ERR_ARG);
}

static void test_tree_view(fixture *f)
{
    mls_tree_view *t = NULL;
    mls_member m;
    uint32_t leaf = 99;
    mls_bytes gi = mls_staged_commit_group_info(f->sc);
    mls_bytes alice_key = mls_identity_signature_key(f->alice);
    mls_bytes bob_key = mls_identity_signature_key(f->bob);

    CHECK_OK(mls_tree_view_from_group_info(gi, &t));
    if (t) {
        CHECK(mls_tree_view_leaf_count(t) == 2);
        CHECK_OK(mls_tree_view_member(t, 1, &m));
        CHECK(m.leaf == 1 && same(m.identity, str("bob")) && same(m.signature_key, bob_key));
        CHECK(m.credential_type == MLS_CREDENTIAL_TYPE_BASIC);
        CHECK(same(m.credential, mls_identity_credential(f->bob)));
        CHECK_ERR(mls_tree_view_member(t, 2, &m), MLS_ERR_NOT_FOUND);
        CHECK_OK(mls_tree_view_find(t, bob_key, mls_bytes_of(NULL, 0), &leaf));
        CHECK(leaf == 1);
        CHECK_OK(mls_tree_view_find(t, mls_bytes_of(NULL, 0), str("alice"), &leaf));
        CHECK(leaf == 0);
        CHECK_OK(mls_tree_view_find(t, alice_key, str("alice"), &leaf));
        CHECK(leaf == 0);
        CHECK_ERR(mls_tree_view_find(t, alice_key, str("bob"), &leaf), MLS_ERR_NOT_FOUND);
        CHECK_ERR(mls_tree_view_find(t, mls_bytes_of(NULL, 0), mls_bytes_of(NULL, 0), &leaf),
                  MLS_ERR_ARG);
    }
    mls_tree_view_free(t);
    t = NULL;

    /* The same members from the bare tree. */
    CHECK_OK(mls_tree_view_from_tree(mls_buf_view(&f->tree), &t));
    if (t) {
        CHECK(mls_tree_view_leaf_count(t) == 2);
        CHECK_OK(mls_tree_view_find(t, bob_key, str("bob"), &leaf));
        CHECK(leaf == 1);
    }
    mls_tree_view_free(t);
    mls_tree_view_free(NULL);

    /* The shortcut, and its refusals. */
    leaf = 99;
    CHECK_OK(mls_group_info_find_member(gi, bob_key, mls_bytes_of(NULL, 0), &leaf));
    CHECK(leaf == 1);
    CHECK_ERR(mls_group_info_find_member(gi, str("no such key"), mls_bytes_of(NULL, 0), &leaf),
              MLS_ERR_NOT_FOUND);
    t = NULL;
    CHECK_ERR(mls_tree_view_from_group_info(mls_buf_view(&f->gi_no_tree), &t), MLS_ERR_NOT_FOUND);
    CHECK(t == NULL);
    CHECK(strstr(mls_error_detail(), "ratchet_tree") != NULL);
    CHECK_ERR(mls_tree_view_from_group_info(mls_buf_view(&f->bob_kp), &t), MLS_ERR_INVALID);
    CHECK(mls_tree_view_from_tree(str("\x05garbage"), &t) != 0);
    CHECK(t == NULL);
}

/* mls_error_detail names the function and the RFC rule of the last
 * failure; clear forgets it. */
static void test_error_detail(fixture *f)
{
    mls_buf sig;
    mls_bytes key = mls_identity_signature_key(f->alice);

    mls_error_detail_clear();
    CHECK(strcmp(mls_error_detail(), "") == 0);
    mls_buf_init(&sig);
    CHECK_OK(mls_identity_sign(env, f->alice, "test label", str("content"), &sig));
    CHECK_OK(mls_signature_verify(MLS_SUITE_X25519_AES128GCM_SHA256_ED25519, key, "test label",
                                  str("content"), mls_buf_view(&sig)));
    CHECK_ERR(mls_signature_verify(MLS_SUITE_X25519_AES128GCM_SHA256_ED25519, key, "test label",
                                   str("other"), mls_buf_view(&sig)),
              MLS_ERR_SIGNATURE);
    CHECK(strstr(mls_error_detail(), "§5.1.2") != NULL);
    mls_error_detail_clear();
    CHECK(strcmp(mls_error_detail(), "") == 0);
    mls_buf_clear(&sig);
}

int main(void)
{
    fixture f;

    env = mls_env_default();
    test_suites();
    test_names();
    test_fingerprint();
    fixture_init(&f);
    test_inspect_messages(&f);
    test_tree_view(&f);
    test_error_detail(&f);
    fixture_clear(&f);
    TEST_MAIN_END("test_inspect");
}
