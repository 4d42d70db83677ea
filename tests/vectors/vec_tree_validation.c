/* tree-validation.json: resolutions and tree hashes of every node (RFC 9420
 * §4.1.2, §7.8), parent hashes as on join (§7.9.2), leaf signatures with
 * the group_id (§7.3). */
#include "vec.h"

#include "ratchet_tree.h"

#include <string.h>

int vec_tree_validation(json_t *entry)
{
    const mls_suite *s;
    mls_buf tree_bytes, group_id;
    mls_index_list res;
    mls_rtree t;
    int rc = -1, err;

    mls_buf_init(&tree_bytes);
    mls_buf_init(&group_id);
    memset(&res, 0, sizeof(res));
    memset(&t, 0, sizeof(t));
    if (vec_suite(entry, &s) || vec_hex(entry, "tree", &tree_bytes) ||
        vec_hex(entry, "group_id", &group_id))
        goto out;
    if ((err = mls_rtree_import_bytes(&t, s, mls_buf_view(&tree_bytes)))) {
        vec_fail("tree: import failed: %s", mls_errname(err));
        goto out;
    }
    json_t *resolutions = json_object_get(entry, "resolutions");
    json_t *hashes = json_object_get(entry, "tree_hashes");
    uint32_t w = mls_rtree_width(&t);
    if (!json_is_array(resolutions) || !json_is_array(hashes) ||
        json_array_size(resolutions) != w || json_array_size(hashes) != w) {
        vec_fail("resolutions/tree_hashes: expected %u entries", w);
        goto out;
    }
    for (uint32_t i = 0; i < w; i++) {
        json_t *want = json_array_get(resolutions, i);
        if ((err = mls_rtree_resolution(&t, i, NULL, 0, &res))) {
            vec_fail("resolution of node %u failed: %s", i, mls_errname(err));
            goto out;
        }
        if (!json_is_array(want) || json_array_size(want) != res.n) {
            vec_fail("resolution of node %u: %zu entries, want %zu", i, res.n,
                     json_array_size(want));
            goto out;
        }
        for (size_t j = 0; j < res.n; j++)
            if (json_integer_value(json_array_get(want, j)) != (json_int_t)res.v[j]) {
                vec_fail("resolution of node %u: entry %zu is %u", i, j, res.v[j]);
                goto out;
            }
        uint8_t h[MLS_MAX_HASH];
        mls_buf wh;
        mls_buf_init(&wh);
        if (mls_rtree_tree_hash(&t, i, h) || vec_hex_value(json_array_get(hashes, i), &wh)) {
            mls_buf_clear(&wh);
            vec_fail("tree hash of node %u", i);
            goto out;
        }
        int bad = vec_expect_bytes("tree hash", mls_buf_view(&wh), mls_bytes_of(h, s->nh));
        mls_buf_clear(&wh);
        if (bad) {
            vec_fail("tree hash of node %u differs", i);
            goto out;
        }
    }
    if ((err = mls_rtree_verify_parent_hashes(&t))) {
        vec_fail("parent hashes: %s", mls_errname(err));
        goto out;
    }
    mls_leaf_check chk;
    memset(&chk, 0, sizeof(chk));
    chk.group_id = mls_buf_view(&group_id);
    chk.env = mls_env_default(); /* the pool under MLS_TEST_THREADS */
    if ((err = mls_rtree_verify_leaves(&t, &chk))) {
        vec_fail("leaves: %s", mls_errname(err));
        goto out;
    }
    rc = 0;
out:
    mls_rtree_clear(&t);
    mls_index_list_clear(&res);
    mls_buf_clear(&tree_bytes);
    mls_buf_clear(&group_id);
    return rc;
}
