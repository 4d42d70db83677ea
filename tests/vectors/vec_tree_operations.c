/* tree-operations.json: RFC 9420 §12.1 Add / Update / Remove applied to a
 * ratchet tree, with tree hashes before and after. */
#include "vec.h"

#include "ratchet_tree.h"

#include <string.h>

static int expect_root_hash(mls_rtree *t, json_t *entry, const char *key)
{
    uint8_t h[MLS_MAX_HASH];
    if (mls_rtree_root_hash(t, h)) {
        vec_fail("%s: tree hash failed", key);
        return -1;
    }
    return vec_expect(entry, key, mls_bytes_of(h, t->suite->nh));
}

int vec_tree_operations(json_t *entry)
{
    const mls_suite *s;
    uint64_t sender;
    mls_buf before, prop_bytes, after, got;
    mls_proposal prop;
    mls_rtree t;
    int rc = -1, err;

    mls_buf_init(&before);
    mls_buf_init(&prop_bytes);
    mls_buf_init(&after);
    mls_buf_init(&got);
    memset(&prop, 0, sizeof(prop));
    memset(&t, 0, sizeof(t));
    if (vec_suite(entry, &s) || vec_uint(entry, "proposal_sender", &sender) ||
        vec_hex(entry, "tree_before", &before) || vec_hex(entry, "proposal", &prop_bytes) ||
        vec_hex(entry, "tree_after", &after))
        goto out;
    if ((err = mls_rtree_import_bytes(&t, s, mls_buf_view(&before)))) {
        vec_fail("tree_before: import failed: %s", mls_errname(err));
        goto out;
    }
    if (expect_root_hash(&t, entry, "tree_hash_before"))
        goto out;
    if ((err = mls_proposal_decode_bytes(mls_buf_view(&prop_bytes), &prop))) {
        vec_fail("proposal: decode failed: %s", mls_errname(err));
        goto out;
    }
    uint32_t leaf;
    switch (prop.type) {
    case MLS_PROPOSAL_ADD:
        err = mls_rtree_add_leaf(&t, &prop.add.key_package.leaf_node, &leaf);
        break;
    case MLS_PROPOSAL_UPDATE:
        err = mls_rtree_update_leaf(&t, (uint32_t)sender, &prop.update.leaf_node);
        break;
    case MLS_PROPOSAL_REMOVE:
        err = mls_rtree_remove_leaf(&t, prop.remove.removed);
        break;
    default:
        vec_fail("unexpected proposal type %u", prop.type);
        goto out;
    }
    if (err) {
        vec_fail("applying proposal type %u failed: %s", prop.type, mls_errname(err));
        goto out;
    }
    if (mls_rtree_encode(&t, &got)) {
        vec_fail("encoding tree_after failed");
        goto out;
    }
    if (vec_expect_bytes("tree_after", mls_buf_view(&after), mls_buf_view(&got)))
        goto out;
    if (expect_root_hash(&t, entry, "tree_hash_after"))
        goto out;
    rc = 0;
out:
    mls_rtree_clear(&t);
    mls_proposal_clear(&prop);
    mls_buf_clear(&before);
    mls_buf_clear(&prop_bytes);
    mls_buf_clear(&after);
    mls_buf_clear(&got);
    return rc;
}
