/* treekem.json: RFC 9420 §7.4-§7.6 UpdatePath processing and creation
 * with the private states of every member. */
#include "vec.h"

#include "treekem.h"

#include <stdlib.h>
#include <string.h>

struct tk_ctx {
    const mls_suite *s;
    mls_buf group_id, cth;
    uint64_t epoch;
};

/* The provisional GroupContext of the vector: its fields as given, the
 * tree hash of t, no extensions. */
static int group_context(const struct tk_ctx *c, mls_rtree *t, mls_buf *out)
{
    uint8_t h[MLS_MAX_HASH];
    mls_group_context gc;
    memset(&gc, 0, sizeof(gc));
    int err = mls_rtree_root_hash(t, h);
    if (err)
        return err;
    gc.version = MLS_VERSION_MLS10;
    gc.cipher_suite = c->s->id;
    gc.group_id = c->group_id; /* borrowed, not cleared */
    gc.epoch = c->epoch;
    gc.tree_hash.p = h;
    gc.tree_hash.n = c->s->nh;
    gc.confirmed_transcript_hash = c->cth;
    mls_buf_reset(out);
    return mls_group_context_encode(&gc, out);
}

int vec_treekem(json_t *entry)
{
    struct tk_ctx c;
    mls_buf tree_bytes, tmp, up_bytes, gc, want;
    mls_rtree tree, t1, t2, t3;
    mls_treekem_priv *priv = NULL, np;
    mls_buf *sig_priv = NULL;
    mls_update_path up;
    mls_treekem_pending pd;
    uint32_t n_leaves = 0;
    int rc = -1, err;

    memset(&c, 0, sizeof(c));
    mls_buf_init(&tree_bytes);
    mls_buf_init(&tmp);
    mls_buf_init(&up_bytes);
    mls_buf_init(&gc);
    mls_buf_init(&want);
    memset(&tree, 0, sizeof(tree));
    memset(&t1, 0, sizeof(t1));
    memset(&t2, 0, sizeof(t2));
    memset(&t3, 0, sizeof(t3));
    memset(&np, 0, sizeof(np));
    memset(&up, 0, sizeof(up));
    memset(&pd, 0, sizeof(pd));
    if (vec_suite(entry, &c.s) || vec_uint(entry, "epoch", &c.epoch) ||
        vec_hex(entry, "group_id", &c.group_id) ||
        vec_hex(entry, "confirmed_transcript_hash", &c.cth) ||
        vec_hex(entry, "ratchet_tree", &tree_bytes))
        goto out;
    const mls_suite *s = c.s;
    if ((err = mls_rtree_import_bytes(&tree, s, mls_buf_view(&tree_bytes)))) {
        vec_fail("ratchet_tree: import failed: %s", mls_errname(err));
        goto out;
    }
    n_leaves = mls_rtree_n_leaves(&tree);
    priv = calloc(n_leaves, sizeof(*priv));
    sig_priv = calloc(n_leaves, sizeof(*sig_priv));
    if (!priv || !sig_priv) {
        vec_fail("out of memory");
        goto out;
    }

    /* Private states, checked against the tree. */
    json_t *lp = json_object_get(entry, "leaves_private");
    for (size_t k = 0; k < json_array_size(lp); k++) {
        json_t *e = json_array_get(lp, k);
        uint64_t idx;
        if (vec_uint(e, "index", &idx) || vec_hex(e, "encryption_priv", &tmp))
            goto out;
        if (idx >= n_leaves || priv[idx].suite) {
            vec_fail("leaves_private: bad index %llu", (unsigned long long)idx);
            goto out;
        }
        if (vec_hex(e, "signature_priv", &sig_priv[idx]))
            goto out;
        if ((err = mls_treekem_priv_init(&priv[idx], s, (uint32_t)idx, mls_buf_view(&tmp)))) {
            vec_fail("leaf %llu: private key: %s", (unsigned long long)idx, mls_errname(err));
            goto out;
        }
        json_t *pss = json_object_get(e, "path_secrets");
        for (size_t m = 0; m < json_array_size(pss); m++) {
            uint64_t node;
            json_t *pe = json_array_get(pss, m);
            if (vec_uint(pe, "node", &node) || vec_hex(pe, "path_secret", &tmp))
                goto out;
            if ((err = mls_treekem_priv_set_node_secret(&priv[idx], (uint32_t)node,
                                                        mls_buf_view(&tmp)))) {
                vec_fail("leaf %llu node %llu: %s", (unsigned long long)idx,
                         (unsigned long long)node, mls_errname(err));
                goto out;
            }
        }
        if (mls_treekem_priv_check(&priv[idx], &tree)) {
            vec_fail("leaf %llu: private state inconsistent with the tree",
                     (unsigned long long)idx);
            goto out;
        }
    }
    for (uint32_t j = 0; j < n_leaves; j++)
        if (mls_rtree_leaf(&tree, j) && !priv[j].suite) {
            vec_fail("no private state for leaf %u", j);
            goto out;
        }

    json_t *ups = json_object_get(entry, "update_paths");
    for (size_t k = 0; k < json_array_size(ups); k++) {
        json_t *e = json_array_get(ups, k);
        uint64_t sender;
        if (vec_uint(e, "sender", &sender) || vec_hex(e, "update_path", &up_bytes))
            goto out;
        uint32_t i = (uint32_t)sender;
        if (sender >= n_leaves || !priv[i].suite) {
            vec_fail("update_paths[%zu]: bad sender", k);
            goto out;
        }
        mls_update_path_clear(&up);
        if ((err = mls_update_path_decode_bytes(mls_buf_view(&up_bytes), &up))) {
            vec_fail("update_paths[%zu]: decode: %s", k, mls_errname(err));
            goto out;
        }
        /* Merge (parent-hash validity), tree hash after, provisional GC. */
        mls_rtree_clear(&t1);
        if (mls_rtree_copy(&t1, &tree)) {
            vec_fail("tree copy failed");
            goto out;
        }
        if ((err = mls_treekem_path_merge(&t1, i, &up, mls_buf_view(&c.group_id)))) {
            vec_fail("update_paths[%zu]: merge: %s", k, mls_errname(err));
            goto out;
        }
        uint8_t h[MLS_MAX_HASH];
        if (mls_rtree_root_hash(&t1, h) ||
            vec_expect(e, "tree_hash_after", mls_bytes_of(h, s->nh)) ||
            group_context(&c, &t1, &gc))
            goto out;
        json_t *want_ps = json_object_get(e, "path_secrets");
        for (uint32_t j = 0; j < n_leaves; j++) {
            if (j == i || !mls_rtree_leaf(&tree, j))
                continue;
            uint8_t cs[MLS_MAX_HASH], ps[MLS_MAX_HASH];
            uint32_t psn;
            mls_treekem_priv_clear(&np);
            if ((err = mls_treekem_path_decrypt(&t1, &priv[j], i, &up, mls_buf_view(&gc), NULL,
                                                0, &np, cs, ps, &psn))) {
                vec_fail("update_paths[%zu]: leaf %u: decrypt: %s", k, j, mls_errname(err));
                goto out;
            }
            if (vec_hex_value(json_array_get(want_ps, j), &want) ||
                vec_expect_bytes("path secret", mls_buf_view(&want), mls_bytes_of(ps, s->nh)) ||
                vec_expect(e, "commit_secret", mls_bytes_of(cs, s->nh))) {
                vec_fail("update_paths[%zu]: leaf %u: path or commit secret differs", k, j);
                goto out;
            }
            if (mls_treekem_priv_check(&np, &t1)) {
                vec_fail("update_paths[%zu]: leaf %u: new private state inconsistent", k, j);
                goto out;
            }
        }

        /* A new UpdatePath from i: every other member derives its commit
         * secret. */
        mls_rtree_clear(&t2);
        mls_treekem_pending_clear(&pd);
        if (mls_rtree_copy(&t2, &tree))
            goto out;
        if ((err = mls_treekem_path_create(&t2, i, mls_rtree_leaf(&tree, i),
                                           mls_buf_view(&sig_priv[i]),
                                           mls_buf_view(&c.group_id), mls_env_default(), &pd))) {
            vec_fail("update_paths[%zu]: create: %s", k, mls_errname(err));
            goto out;
        }
        if (group_context(&c, &t2, &gc) ||
            (err = mls_treekem_path_encrypt(&pd, &t2, mls_buf_view(&gc), NULL, 0,
                                            mls_env_default()))) {
            vec_fail("update_paths[%zu]: encrypt failed", k);
            goto out;
        }
        if (mls_treekem_priv_check(&pd.priv, &t2)) {
            vec_fail("update_paths[%zu]: committer state inconsistent", k);
            goto out;
        }
        uint8_t h2[MLS_MAX_HASH], h3[MLS_MAX_HASH];
        if (mls_rtree_root_hash(&t2, h2))
            goto out;
        for (uint32_t j = 0; j < n_leaves; j++) {
            if (j == i || !mls_rtree_leaf(&tree, j))
                continue;
            uint8_t cs[MLS_MAX_HASH];
            mls_rtree_clear(&t3);
            mls_treekem_priv_clear(&np);
            if (mls_rtree_copy(&t3, &tree))
                goto out;
            if ((err = mls_treekem_path_merge(&t3, i, &pd.update_path,
                                              mls_buf_view(&c.group_id)))) {
                vec_fail("new path: leaf %u: merge: %s", j, mls_errname(err));
                goto out;
            }
            if (mls_rtree_root_hash(&t3, h3) || memcmp(h2, h3, s->nh) != 0) {
                vec_fail("new path: leaf %u: tree hash differs from the committer's", j);
                goto out;
            }
            if ((err = mls_treekem_path_decrypt(&t3, &priv[j], i, &pd.update_path,
                                                mls_buf_view(&gc), NULL, 0, &np, cs, NULL,
                                                NULL))) {
                vec_fail("new path: leaf %u: decrypt: %s", j, mls_errname(err));
                goto out;
            }
            if (vec_expect_bytes("new commit secret", mls_bytes_of(pd.commit_secret, s->nh),
                                 mls_bytes_of(cs, s->nh)))
                goto out;
        }
    }
    rc = 0;
out:
    for (uint32_t j = 0; priv && j < n_leaves; j++)
        mls_treekem_priv_clear(&priv[j]);
    for (uint32_t j = 0; sig_priv && j < n_leaves; j++)
        mls_buf_clear(&sig_priv[j]);
    free(priv);
    free(sig_priv);
    mls_treekem_priv_clear(&np);
    mls_treekem_pending_clear(&pd);
    mls_update_path_clear(&up);
    mls_rtree_clear(&tree);
    mls_rtree_clear(&t1);
    mls_rtree_clear(&t2);
    mls_rtree_clear(&t3);
    mls_buf_clear(&c.group_id);
    mls_buf_clear(&c.cth);
    mls_buf_clear(&tree_bytes);
    mls_buf_clear(&tmp);
    mls_buf_clear(&up_bytes);
    mls_buf_clear(&gc);
    mls_buf_clear(&want);
    return rc;
}
