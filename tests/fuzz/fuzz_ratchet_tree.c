/*
 * Ratchet tree import and validation (RFC 9420 §12.4.3.3, §7.8, §7.9,
 * §7.3), the path every joiner runs on a tree from a Welcome, GroupInfo
 * or the Delivery Service: decode (exact re-encoding), import, export
 * (must give back the input: a valid wire tree ends in a non-blank node),
 * tree hashes, resolutions, filtered direct paths, parent-hash and leaf
 * validation.  Nothing may crash, whatever the tree.
 *
 * Input: cipher suite (u8), group_id length (u8), group_id (the group the
 * leaves of source update/commit are signed for), then ratchet_tree<V>.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "messages.h"
#include "ratchet_tree.h"

/* Resolutions of every node cost O(n^2) in all; keep the inputs where the
 * fuzzer spends its time small. */
#define MAX_NODES_FOR_WALK 4096u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const mls_suite *s;
    mls_bytes gid, in;
    mls_ratchet_tree wire;
    mls_rtree t, copy;
    mls_buf out;
    uint8_t hash[MLS_MAX_HASH];

    if (size < 2 || (size_t)data[1] + 2 > size)
        return 0;
    s = mls_suite_get(data[0]);
    if (!s)
        return 0;
    gid = mls_bytes_of(data + 2, data[1]);
    in = mls_bytes_of(data + 2 + data[1], size - 2 - data[1]);

    mls_buf_init(&out);
    if (mls_ratchet_tree_decode_bytes(in, &wire) == MLS_OK) {
        if (mls_ratchet_tree_encode(&wire, &out) != MLS_OK)
            abort();
        fuzz_expect_same(in, mls_buf_view(&out));
        mls_ratchet_tree_clear(&wire);
    }
    mls_buf_reset(&out);

    mls_rtree_init(&t, s);
    if (mls_rtree_import_bytes(&t, s, in) != MLS_OK) {
        mls_rtree_clear(&t);
        mls_buf_clear(&out);
        return 0;
    }
    if (mls_rtree_encode(&t, &out) != MLS_OK)
        abort();
    fuzz_expect_same(in, mls_buf_view(&out));

    if (mls_rtree_width(&t) <= MAX_NODES_FOR_WALK) {
        mls_index_list res = {NULL, 0, 0};
        for (uint32_t x = 0; x < mls_rtree_width(&t); x++)
            (void)!mls_rtree_resolution(&t, x, NULL, 0, &res);
        for (uint32_t leaf = 0; leaf < mls_rtree_n_leaves(&t); leaf++) {
            uint32_t path[MLS_TREE_MAX_DEPTH], copath[MLS_TREE_MAX_DEPTH];
            size_t len;
            (void)!mls_rtree_filtered_direct_path(&t, leaf, path, copath, &len);
        }
        (void)!mls_rtree_roster(&t, &res);
        mls_index_list_clear(&res);
    }
    (void)!mls_rtree_root_hash(&t, hash);
    (void)!mls_rtree_verify_parent_hashes(&t);
    {
        mls_leaf_check chk = {gid, NULL, 1, FUZZ_NOW, NULL, NULL, NULL};
        (void)!mls_rtree_verify_leaves(&t, &chk);
    }
    /* A copy is the same tree. */
    memset(&copy, 0, sizeof copy);
    if (mls_rtree_copy(&copy, &t) != MLS_OK)
        abort();
    mls_buf_reset(&out);
    if (mls_rtree_encode(&copy, &out) != MLS_OK)
        abort();
    fuzz_expect_same(in, mls_buf_view(&out));
    mls_rtree_clear(&copy);
    mls_rtree_clear(&t);
    mls_buf_clear(&out);
    return 0;
}
