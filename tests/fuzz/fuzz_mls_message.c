/*
 * libFuzzer harness for the MLSMessage decoder (RFC 9420 §6).  The encoding
 * is canonical, so whatever decodes must re-encode to exactly the input;
 * a deep copy must re-encode to it as well.  Any difference aborts.
 */
#include <stdlib.h>
#include <string.h>

#include "messages.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void expect_same(const mls_message *m, const uint8_t *data, size_t size)
{
    mls_buf w;
    mls_buf_init(&w);
    if (mls_message_encode(m, &w) != MLS_OK || w.n != size ||
        (size && memcmp(w.p, data, size) != 0))
        abort();
    mls_buf_clear(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mls_message m, copy;

    if (mls_message_decode_bytes(mls_bytes_of(data, size), &m) != MLS_OK)
        return 0;
    expect_same(&m, data, size);
    if (mls_message_copy(&copy, &m) != MLS_OK)
        abort();
    expect_same(&copy, data, size);
    mls_message_clear(&copy);
    mls_message_clear(&m);
    return 0;
}
