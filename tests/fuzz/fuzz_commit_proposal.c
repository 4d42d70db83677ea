/*
 * Commit and Proposal (RFC 9420 §12.1, §12.4) decoders: exact re-encoding
 * and deep copies.  Input: a selector byte (even: Commit, odd: Proposal)
 * then the structure.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "messages.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mls_bytes in;
    mls_buf out;

    if (size < 1)
        return 0;
    in = mls_bytes_of(data + 1, size - 1);
    mls_buf_init(&out);
    if (data[0] % 2 == 0) {
        mls_commit c, copy;
        if (mls_commit_decode_bytes(in, &c) == MLS_OK) {
            if (mls_commit_encode(&c, &out) != MLS_OK)
                abort();
            fuzz_expect_same(in, mls_buf_view(&out));
            mls_buf_reset(&out);
            if (mls_commit_copy(&copy, &c) != MLS_OK || mls_commit_encode(&copy, &out) != MLS_OK)
                abort();
            fuzz_expect_same(in, mls_buf_view(&out));
            mls_commit_clear(&copy);
            mls_commit_clear(&c);
        }
    } else {
        mls_proposal p, copy;
        if (mls_proposal_decode_bytes(in, &p) == MLS_OK) {
            if (mls_proposal_encode(&p, &out) != MLS_OK)
                abort();
            fuzz_expect_same(in, mls_buf_view(&out));
            mls_buf_reset(&out);
            if (mls_proposal_copy(&copy, &p) != MLS_OK ||
                mls_proposal_encode(&copy, &out) != MLS_OK)
                abort();
            fuzz_expect_same(in, mls_buf_view(&out));
            mls_proposal_clear(&copy);
            mls_proposal_clear(&p);
        }
    }
    mls_buf_clear(&out);
    return 0;
}
