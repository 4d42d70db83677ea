/*
 * libFuzzer harness for the MLSMessage decoder (RFC 9420 §6).  The encoding
 * is canonical, so whatever decodes must re-encode to exactly the input;
 * a deep copy must re-encode to it as well.  Any difference aborts.  The
 * routing helper mls_message_group_id must agree with the decoder.
 * Input: an MLSMessage.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "messages.h"
#include "mls/group.h"

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
    mls_message_clear(&copy);
    mls_message_clear(&m);
    return 0;
}
