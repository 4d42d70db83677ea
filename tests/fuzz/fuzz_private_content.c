/*
 * The decrypted parts of a PrivateMessage (RFC 9420 §6.3): the
 * PrivateMessageContent decoder, whose layout depends on the content type
 * of the enclosing message, and SenderData.  What decodes must re-encode
 * to exactly the input (padding included).
 *
 * Input: a content type byte (0: the rest is a SenderData), then the
 * plaintext.  Content types the RFC does not define must be refused.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "messages.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mls_bytes in;
    mls_buf out;
    mls_reader r;

    if (size < 1)
        return 0;
    in = mls_bytes_of(data + 1, size - 1);
    mls_buf_init(&out);
    if (data[0] == 0) {
        mls_sender_data sd, copy;
        if (mls_sender_data_decode_bytes(in, &sd) == MLS_OK) {
            if (mls_sender_data_encode(&sd, &out) != MLS_OK)
                abort();
            fuzz_expect_same(in, mls_buf_view(&out));
            mls_buf_reset(&out);
            if (mls_sender_data_copy(&copy, &sd) != MLS_OK ||
                mls_sender_data_encode(&copy, &out) != MLS_OK)
                abort();
            fuzz_expect_same(in, mls_buf_view(&out));
            mls_sender_data_clear(&copy);
            mls_sender_data_clear(&sd);
        }
    } else {
        mls_private_message_content pmc;
        mls_reader_init_bytes(&r, in);
        if (mls_private_message_content_decode(&r, data[0], &pmc) == MLS_OK) {
            if (data[0] < MLS_CONTENT_APPLICATION || data[0] > MLS_CONTENT_COMMIT ||
                pmc.content_type != data[0])
                abort();
            if (mls_private_message_content_encode(&pmc, &out) != MLS_OK)
                abort();
            fuzz_expect_same(in, mls_buf_view(&out));
            mls_private_message_content_clear(&pmc);
        }
    }
    mls_buf_clear(&out);
    return 0;
}
