/*
 * libFuzzer harness for the MLSMessage decoder (RFC 9420 §6).  The encoding
 * is canonical, so whatever decodes must re-encode to exactly the input;
 * a deep copy must re-encode to it as well.  Any difference aborts.  The
 * routing helper mls_message_group_id and the public mls_message_inspect
 * must agree with the decoder (views inside the input); the tree view of a
 * GroupInfo and the KeyPackage check run on what decodes.
 * Input: an MLSMessage.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "messages.h"
#include "mls/group.h"
#include "mls/inspect.h"

static void expect_inside(mls_bytes v, const uint8_t *data, size_t size)
{
    if (v.n && (v.p < data || v.p + v.n > data + size))
        abort();
}

/* mls_message_inspect of a decodable message succeeds and reports what
 * the decoder saw. */
static void check_inspect(const mls_message *m, const uint8_t *data, size_t size)
{
    mls_message_info info;
    mls_tree_view *t = NULL;

    if (mls_message_inspect(mls_bytes_of(data, size), &info) != MLS_OK ||
        info.wire_format != m->wire_format)
        abort();
    expect_inside(info.group_id, data, size);
    expect_inside(info.authenticated_data, data, size);
    if (m->wire_format == MLS_WIRE_GROUP_INFO) {
        fuzz_expect_same(mls_buf_view(&m->group_info.group_context.group_id), info.group_id);
        if (info.has_ratchet_tree && mls_tree_view_from_group_info(mls_bytes_of(data, size), &t) ==
                                         MLS_OK) {
            /* Every non-blank leaf is a member found by its own key. */
            for (uint32_t i = 0; i < mls_tree_view_leaf_count(t); i++) {
                mls_member mb;
                uint32_t at;
                if (mls_tree_view_member(t, i, &mb) == MLS_OK && mb.signature_key.n &&
                    (mls_tree_view_find(t, mb.signature_key, mls_bytes_of(NULL, 0), &at) !=
                         MLS_OK ||
                     at > i))
                    abort();
            }
        }
        mls_tree_view_free(t);
    } else if (m->wire_format == MLS_WIRE_KEY_PACKAGE) {
        /* The reason is MLS_KP_OK exactly when the check passes. */
        int reason = -1;
        int err = mls_key_package_diagnose(mls_env_default(), mls_bytes_of(data, size), 0, NULL,
                                           &reason);
        if ((err == MLS_OK) != (reason == MLS_KP_OK))
            abort();
    }
}

static void expect_same(const mls_message *m, const uint8_t *data, size_t size)
{
    mls_buf w;
    mls_buf_init(&w);
    if (mls_message_encode(m, &w) != MLS_OK)
        abort();
    fuzz_expect_same(mls_bytes_of(data, size), mls_buf_view(&w));
    mls_buf_clear(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mls_message m, copy;
    mls_bytes gid;
    uint64_t epoch;
    int routed = mls_message_group_id(mls_bytes_of(data, size), &gid, &epoch);

    if (mls_message_decode_bytes(mls_bytes_of(data, size), &m) != MLS_OK)
        return 0;
    expect_same(&m, data, size);
    if (mls_message_copy(&copy, &m) != MLS_OK)
        abort();
    expect_same(&copy, data, size);
    /* A decodable PublicMessage / PrivateMessage routes to its group_id,
     * a view into the input. */
    if (m.wire_format == MLS_WIRE_PUBLIC_MESSAGE || m.wire_format == MLS_WIRE_PRIVATE_MESSAGE) {
        const mls_buf *want = m.wire_format == MLS_WIRE_PUBLIC_MESSAGE
                                  ? &m.public_message.content.group_id
                                  : &m.private_message.group_id;
        if (routed != MLS_OK)
            abort();
        fuzz_expect_same(mls_buf_view(want), gid);
        if (gid.n && (gid.p < data || gid.p + gid.n > data + size))
            abort();
    }
    check_inspect(&m, data, size);
    mls_message_clear(&copy);
    mls_message_clear(&m);
    return 0;
}
