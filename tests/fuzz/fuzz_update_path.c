/*
 * UpdatePath (RFC 9420 §7.6): decode, exact re-encoding, deep copy.  The
 * leaf node it carries must also survive LeafNode validation (§7.3) for
 * its suite without crashing.  Input: an UpdatePath.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "messages.h"
#include "ratchet_tree.h"

static void expect_encodes_to(const mls_update_path *p, mls_bytes want)
{
    mls_buf w;
    mls_buf_init(&w);
    if (mls_update_path_encode(p, &w) != MLS_OK)
        abort();
    fuzz_expect_same(want, mls_buf_view(&w));
    mls_buf_clear(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mls_bytes in = mls_bytes_of(data, size);
    mls_update_path p, copy;
    mls_leaf_check chk = {mls_bytes_of((const uint8_t *)"group", 5), NULL, 1, FUZZ_NOW, NULL, NULL,
                          NULL};
    const mls_suite *s = mls_suite_get(MLS_SUITE_X25519_AES128GCM_SHA256_ED25519);

    if (mls_update_path_decode_bytes(in, &p) != MLS_OK)
        return 0;
    expect_encodes_to(&p, in);
    if (mls_update_path_copy(&copy, &p) != MLS_OK)
        abort();
    expect_encodes_to(&copy, in);
    (void)!mls_leaf_node_validate(s, &p.leaf_node, 0, &chk);
    mls_update_path_clear(&copy);
    mls_update_path_clear(&p);
    return 0;
}
