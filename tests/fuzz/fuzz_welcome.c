/*
 * Welcome, GroupInfo and GroupSecrets (RFC 9420 §12.4.3): exact
 * re-encoding and deep copies of what decodes, and the joining entry
 * points on the same bytes: mls_welcome_refs must agree with the decoder,
 * mls_group_join (with a KeyPackage the Welcome is not for) and
 * mls_group_external_join (§12.4.3.2, the GroupInfo is untrusted input
 * from the Delivery Service) must fail cleanly or succeed, never crash.
 *
 * Input: a selector byte (0 Welcome, 1 GroupInfo, 2 GroupSecrets, taken
 * modulo 3) then the bare structure.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "messages.h"
#include "mls/group.h"

#define MAX_REFS 64

static mls_identity *joiner;
static mls_buf bundle;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    mls_buf kp;
    (void)argc;
    (void)argv;
    fuzz_env_reset();
    mls_buf_init(&kp);
    mls_buf_init(&bundle);
    if (mls_identity_generate(fuzz_env(), MLS_SUITE_X25519_AES128GCM_SHA256_ED25519,
                              mls_bytes_of((const uint8_t *)"joiner", 6), &joiner) != MLS_OK ||
        mls_key_package_create(fuzz_env(), joiner, NULL, &kp, &bundle) != MLS_OK)
        abort();
    mls_buf_clear(&kp);
    return 0;
}

/* The structure behind the MLSMessage header hdr, as a message. */
static void wrap(uint16_t wire_format, mls_bytes body, mls_buf *msg)
{
    uint8_t hdr[4] = {0, 1, (uint8_t)(wire_format >> 8), (uint8_t)wire_format};
    if (mls_buf_append(msg, hdr, 4) != MLS_OK || mls_buf_append(msg, body.p, body.n) != MLS_OK)
        abort();
}

static void fuzz_welcome(mls_bytes in)
{
    mls_welcome w, copy;
    mls_buf out, msg;
    mls_bytes refs[MAX_REFS];
    size_t n = 0, used;
    mls_bytes bundles[1];
    mls_group *g = NULL;

    if (mls_welcome_decode_bytes(in, &w) != MLS_OK)
        return;
    mls_buf_init(&out);
    mls_buf_init(&msg);
    if (mls_welcome_encode(&w, &out) != MLS_OK)
        abort();
    fuzz_expect_same(in, mls_buf_view(&out));
    mls_buf_reset(&out);
    if (mls_welcome_copy(&copy, &w) != MLS_OK || mls_welcome_encode(&copy, &out) != MLS_OK)
        abort();
    fuzz_expect_same(in, mls_buf_view(&out));
    mls_welcome_clear(&copy);

    wrap(MLS_WIRE_WELCOME, in, &msg);
    if (w.n_secrets <= MAX_REFS) {
        if (mls_welcome_refs(mls_buf_view(&msg), refs, MAX_REFS, &n) != MLS_OK ||
            n != w.n_secrets)
            abort();
        for (size_t i = 0; i < n; i++)
            fuzz_expect_same(mls_buf_view(&w.secrets[i].new_member), refs[i]);
    }
    bundles[0] = mls_buf_view(&bundle);
    fuzz_env_reset();
    if (mls_group_join(fuzz_env(), joiner, mls_buf_view(&msg), bundles, 1, NULL, &used, &g) ==
        MLS_OK)
        mls_group_free(g);
    mls_buf_clear(&msg);
    mls_buf_clear(&out);
    mls_welcome_clear(&w);
}

static void fuzz_group_info(mls_bytes in)
{
    mls_group_info gi, copy;
    mls_buf out, msg, commit;
    mls_group *g = NULL;

    if (mls_group_info_decode_bytes(in, &gi) != MLS_OK)
        return;
    mls_buf_init(&out);
    mls_buf_init(&msg);
    mls_buf_init(&commit);
    if (mls_group_info_encode(&gi, &out) != MLS_OK)
        abort();
    fuzz_expect_same(in, mls_buf_view(&out));
    mls_buf_reset(&out);
    if (mls_group_info_copy(&copy, &gi) != MLS_OK || mls_group_info_encode(&copy, &out) != MLS_OK)
        abort();
    fuzz_expect_same(in, mls_buf_view(&out));
    mls_group_info_clear(&copy);
    mls_buf_reset(&out);
    (void)!mls_group_info_tbs_encode(&gi, &out);

    wrap(MLS_WIRE_GROUP_INFO, in, &msg);
    fuzz_env_reset();
    if (mls_group_external_join(fuzz_env(), joiner, mls_buf_view(&msg), NULL, &commit, &g) ==
        MLS_OK)
        mls_group_free(g);
    mls_buf_clear(&commit);
    mls_buf_clear(&msg);
    mls_buf_clear(&out);
    mls_group_info_clear(&gi);
}

static void fuzz_group_secrets(mls_bytes in)
{
    mls_group_secrets gs, copy;
    mls_buf out;

    if (mls_group_secrets_decode_bytes(in, &gs) != MLS_OK)
        return;
    mls_buf_init(&out);
    if (mls_group_secrets_encode(&gs, &out) != MLS_OK)
        abort();
    fuzz_expect_same(in, mls_buf_view(&out));
    mls_buf_reset(&out);
    if (mls_group_secrets_copy(&copy, &gs) != MLS_OK ||
        mls_group_secrets_encode(&copy, &out) != MLS_OK)
        abort();
    fuzz_expect_same(in, mls_buf_view(&out));
    mls_group_secrets_clear(&copy);
    mls_buf_clear(&out);
    mls_group_secrets_clear(&gs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mls_bytes in;
    if (size < 1)
        return 0;
    in = mls_bytes_of(data + 1, size - 1);
    switch (data[0] % 3) {
    case 0:
        fuzz_welcome(in);
        break;
    case 1:
        fuzz_group_info(in);
        break;
    default:
        fuzz_group_secrets(in);
        break;
    }
    return 0;
}
