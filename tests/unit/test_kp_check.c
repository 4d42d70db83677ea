/* mls_key_package_diagnose (include/mls/inspect.h): one case per reason.
 * Bad KeyPackages are built through the internals: decode a good one,
 * break one rule, re-sign what the rule does not cover, re-encode. */
#include "mls/inspect.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "key_package.h"

static mls_identity *alice;
static uint64_t fixed_now;

static uint64_t now_fixed(void *ctx)
{
    (void)ctx;
    return fixed_now;
}

static int random_default(void *ctx, uint8_t *out, size_t n)
{
    (void)ctx;
    const mls_env *d = mls_env_default();
    return d->random(d->ctx, out, n);
}

static const mls_env clock_env = {.random = random_default, .now = now_fixed, .ctx = NULL};

static mls_bytes str(const char *s)
{
    return mls_bytes_of((const uint8_t *)s, strlen(s));
}

enum { RESIGN_NONE = 0, RESIGN_LEAF = 1, RESIGN_KP = 2, RESIGN_BOTH = 3 };

typedef void (*mutate_fn)(mls_key_package *kp);

/* A KeyPackage MLSMessage of alice's with `mutate` applied and the chosen
 * signatures made again over the changed contents. */
static void make_kp(mutate_fn mutate, int resign, mls_buf *out)
{
    mls_buf good, bundle, tbs;
    mls_key_package kp;
    mls_message m;
    const mls_suite *s = mls_suite_get(MLS_SUITE_X25519_AES128GCM_SHA256_ED25519);
    mls_bytes sk = mls_identity_signature_private_key(alice);

    mls_buf_init(&good);
    mls_buf_init(&bundle);
    mls_buf_init(&tbs);
    CHECK_OK(mls_key_package_create(mls_env_default(), alice, NULL, &good, &bundle));
    CHECK_OK(mls_key_package_from_message(mls_buf_view(&good), &kp));
    if (mutate)
        mutate(&kp);
    if (resign & RESIGN_LEAF) {
        CHECK_OK(mls_leaf_node_tbs_encode(&kp.leaf_node, mls_bytes_of(NULL, 0), 0, &tbs));
        CHECK_OK(mls_sign_with_label(s, mls_env_default(), sk, "LeafNodeTBS", mls_buf_view(&tbs),
                                     &kp.leaf_node.signature));
        mls_buf_reset(&tbs);
    }
    if (resign & RESIGN_KP) {
        CHECK_OK(mls_key_package_tbs_encode(&kp, &tbs));
        CHECK_OK(mls_sign_with_label(s, mls_env_default(), sk, "KeyPackageTBS",
                                     mls_buf_view(&tbs), &kp.signature));
    }
    memset(&m, 0, sizeof m);
    m.version = MLS_VERSION_MLS10;
    m.wire_format = MLS_WIRE_KEY_PACKAGE;
    m.key_package = kp;
    mls_buf_reset(out);
    CHECK_OK(mls_message_encode(&m, out));
    mls_key_package_clear(&kp);
    mls_buf_clear(&good);
    mls_buf_clear(&bundle);
    mls_buf_clear(&tbs);
}

/* Runs the check and compares the reason and the error. */
static void expect(const char *what, mls_bytes in, uint16_t suite, int want_reason, int want_err)
{
    mls_key_package_info info;
    int reason = -1;
    int err = mls_key_package_diagnose(&clock_env, in, suite, &info, &reason);
    test_checks++;
    if (reason != want_reason || err != want_err) {
        test_failures++;
        fprintf(stderr, "%s: got %s / %s, want %s / %s (detail: %s)\n", what,
                mls_kp_reason_name(reason), mls_errname(err), mls_kp_reason_name(want_reason),
                mls_errname(want_err), mls_error_detail());
    }
    /* Every refusal names its rule with an RFC section. */
    if (want_reason != MLS_KP_OK)
        CHECK(strstr(mls_error_detail(), "RFC 9420 §") != NULL);
}

static void expect_kp(const char *what, mutate_fn mutate, int resign, int want_reason,
                      int want_err)
{
    mls_buf b;
    mls_buf_init(&b);
    make_kp(mutate, resign, &b);
    expect(what, mls_buf_view(&b), 0, want_reason, want_err);
    mls_buf_clear(&b);
}

static void set_version(mls_key_package *kp)
{
    kp->version = 2;
}
static void set_suite(mls_key_package *kp)
{
    kp->cipher_suite = 0x0042;
}
static void set_source_update(mls_key_package *kp)
{
    kp->leaf_node.source = MLS_LEAF_SOURCE_UPDATE;
}
static void drop_cap_version(mls_key_package *kp)
{
    kp->leaf_node.capabilities.versions.n = 0;
}
static void drop_cap_suite(mls_key_package *kp)
{
    mls_u16_list *l = &kp->leaf_node.capabilities.cipher_suites;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] == MLS_SUITE_X25519_AES128GCM_SHA256_ED25519)
            l->v[i] = MLS_SUITE_P256_AES128GCM_SHA256_P256;
}
static void drop_cap_credential(mls_key_package *kp)
{
    kp->leaf_node.capabilities.credentials.n = 0;
}
/* Replaces an extension list with the given types (empty data). */
static void set_exts(mls_extension_list *l, uint16_t a, uint16_t b, size_t n)
{
    for (size_t i = 0; i < l->n; i++)
        mls_buf_clear(&l->v[i].data);
    free(l->v);
    l->v = calloc(2, sizeof *l->v);
    l->n = n;
    l->v[0].type = a;
    l->v[1].type = b;
}
static void duplicate_ext(mls_key_package *kp)
{
    set_exts(&kp->extensions, 0xF0F0, 0xF0F0, 2);
}
static void unlisted_leaf_ext(mls_key_package *kp)
{
    set_exts(&kp->leaf_node.extensions, 0xF0F1, 0, 1);
}
static void short_init_key(mls_key_package *kp)
{
    kp->init_key.n--;
}
static void long_signature_key(mls_key_package *kp)
{
    uint8_t zero = 0;
    CHECK_OK(mls_buf_append(&kp->leaf_node.signature_key, &zero, 1));
}
static void reuse_init_key(mls_key_package *kp)
{
    CHECK_OK(mls_buf_set(&kp->init_key, kp->leaf_node.encryption_key.p,
                         kp->leaf_node.encryption_key.n));
}
static void break_leaf_signature(mls_key_package *kp)
{
    kp->leaf_node.signature.p[0] ^= 1;
}
static void break_signature(mls_key_package *kp)
{
    kp->signature.p[0] ^= 1;
}

static void test_reasons(void)
{
    mls_buf good, other;
    mls_key_package_info info;
    int reason = -1;

    mls_buf_init(&good);
    mls_buf_init(&other);
    make_kp(NULL, RESIGN_NONE, &good);

    /* Valid, with its info. */
    expect("valid", mls_buf_view(&good), 0, MLS_KP_OK, MLS_OK);
    expect("valid, suite expected", mls_buf_view(&good), MLS_SUITE_X25519_AES128GCM_SHA256_ED25519,
           MLS_KP_OK, MLS_OK);
    CHECK_OK(mls_key_package_diagnose(&clock_env, mls_buf_view(&good), 0, &info, &reason));
    CHECK(info.suite == MLS_SUITE_X25519_AES128GCM_SHA256_ED25519);
    CHECK(info.credential_type == MLS_CREDENTIAL_TYPE_BASIC);
    CHECK(info.identity.n == 5 && memcmp(info.identity.p, "alice", 5) == 0);
    CHECK(info.signature_key.n == 32 &&
          memcmp(info.signature_key.p, mls_identity_signature_key(alice).p, 32) == 0);
    CHECK(!info.last_resort);
    CHECK(info.not_before <= fixed_now && fixed_now <= info.not_after);
    CHECK(info.key_package.p == good.p + 4 && info.key_package.n == good.n - 4);
    /* A bare KeyPackage is read when the bytes are no MLSMessage. */
    expect("bare", mls_bytes_of(good.p + 4, good.n - 4), 0, MLS_KP_OK, MLS_OK);
    CHECK_OK(mls_key_package_diagnose(&clock_env, mls_bytes_of(good.p + 4, good.n - 4), 0, &info,
                                      NULL));
    CHECK(info.key_package.p == good.p + 4);

    /* Decoding. */
    expect("garbage", str("not a key package"), 0, MLS_KP_MALFORMED, MLS_ERR_MALFORMED);
    expect("truncated", mls_bytes_of(good.p, good.n - 1), 0, MLS_KP_MALFORMED, MLS_ERR_MALFORMED);
    {
        /* An MLSMessage of another wire format. */
        mls_message m;
        memset(&m, 0, sizeof m);
        m.version = MLS_VERSION_MLS10;
        m.wire_format = MLS_WIRE_PRIVATE_MESSAGE;
        m.private_message.content_type = MLS_CONTENT_APPLICATION;
        CHECK_OK(mls_buf_set(&m.private_message.group_id, "g", 1));
        CHECK_OK(mls_message_encode(&m, &other));
        mls_message_clear(&m);
        expect("private message", mls_buf_view(&other), 0, MLS_KP_NOT_KEY_PACKAGE,
               MLS_ERR_MALFORMED);
    }

    /* One case per rule. */
    expect_kp("version", set_version, RESIGN_KP, MLS_KP_VERSION, MLS_ERR_UNSUPPORTED);
    expect_kp("suite", set_suite, RESIGN_KP, MLS_KP_SUITE_UNSUPPORTED, MLS_ERR_UNSUPPORTED);
    expect("suite mismatch", mls_buf_view(&good), MLS_SUITE_P256_AES128GCM_SHA256_P256,
           MLS_KP_SUITE_MISMATCH, MLS_ERR_UNSUPPORTED);
    expect_kp("leaf source", set_source_update, RESIGN_BOTH, MLS_KP_LEAF_SOURCE, MLS_ERR_INVALID);
    expect_kp("cap version", drop_cap_version, RESIGN_BOTH, MLS_KP_CAP_VERSION, MLS_ERR_INVALID);
    expect_kp("cap suite", drop_cap_suite, RESIGN_BOTH, MLS_KP_CAP_SUITE, MLS_ERR_INVALID);
    expect_kp("cap credential", drop_cap_credential, RESIGN_BOTH, MLS_KP_CAP_CREDENTIAL,
              MLS_ERR_INVALID);
    expect_kp("duplicate extension", duplicate_ext, RESIGN_KP, MLS_KP_DUPLICATE_EXTENSION,
              MLS_ERR_INVALID);
    expect_kp("unlisted leaf extension", unlisted_leaf_ext, RESIGN_BOTH, MLS_KP_CAP_EXTENSION,
              MLS_ERR_INVALID);
    expect_kp("init key length", short_init_key, RESIGN_KP, MLS_KP_KEY_LENGTH, MLS_ERR_INVALID);
    expect_kp("signature key length", long_signature_key, RESIGN_NONE,
              MLS_KP_SIGNATURE_KEY_LENGTH, MLS_ERR_INVALID);
    expect_kp("init key reused", reuse_init_key, RESIGN_KP, MLS_KP_INIT_KEY_REUSED,
              MLS_ERR_INVALID);
    {
        uint64_t now = fixed_now;
        CHECK_OK(mls_key_package_diagnose(&clock_env, mls_buf_view(&good), 0, &info, NULL));
        fixed_now = info.not_before - 1;
        expect("not yet valid", mls_buf_view(&good), 0, MLS_KP_NOT_YET_VALID, MLS_ERR_EXPIRED);
        fixed_now = info.not_after + 1;
        expect("expired", mls_buf_view(&good), 0, MLS_KP_EXPIRED, MLS_ERR_EXPIRED);
        fixed_now = now;
    }
    expect_kp("leaf signature", break_leaf_signature, RESIGN_KP, MLS_KP_LEAF_SIGNATURE,
              MLS_ERR_SIGNATURE);
    expect_kp("signature", break_signature, RESIGN_NONE, MLS_KP_SIGNATURE, MLS_ERR_SIGNATURE);

    /* The last-resort flag. */
    {
        mls_key_package_options opt;
        mls_buf lr, bundle;
        memset(&opt, 0, sizeof opt);
        opt.last_resort = 1;
        mls_buf_init(&lr);
        mls_buf_init(&bundle);
        CHECK_OK(mls_key_package_create(mls_env_default(), alice, &opt, &lr, &bundle));
        CHECK_OK(mls_key_package_diagnose(&clock_env, mls_buf_view(&lr), 0, &info, NULL));
        CHECK(info.last_resort);
        mls_buf_clear(&lr);
        mls_buf_clear(&bundle);
    }

    /* Arguments. */
    CHECK_ERR(mls_key_package_diagnose(NULL, mls_buf_view(&good), 0, &info, &reason), MLS_ERR_ARG);

    mls_buf_clear(&good);
    mls_buf_clear(&other);
}

static void test_reason_texts(void)
{
    for (int r = MLS_KP_OK; r <= MLS_KP_SIGNATURE; r++) {
        CHECK(strncmp(mls_kp_reason_name(r), "MLS_KP_", 7) == 0);
        CHECK(strcmp(mls_kp_reason_text(r), "unknown reason") != 0);
    }
    CHECK(strcmp(mls_kp_reason_name(MLS_KP_EXPIRED), "MLS_KP_EXPIRED") == 0);
    CHECK(strcmp(mls_kp_reason_text(-1), "unknown reason") == 0);
    CHECK(strcmp(mls_kp_reason_name(1000), "MLS_KP_UNKNOWN") == 0);
}

int main(void)
{
    fixed_now = mls_env_default()->now(NULL);
    CHECK_OK(mls_identity_generate(mls_env_default(), MLS_SUITE_X25519_AES128GCM_SHA256_ED25519,
                                   str("alice"), &alice));
    test_reasons();
    test_reason_texts();
    mls_identity_free(alice);
    TEST_MAIN_END("test_kp_check");
}
