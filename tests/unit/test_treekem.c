/*
 * TreeKEM unit tests: a committer's UpdatePath (with a member added in the
 * same commit) decrypted by every other member and by the joiner through
 * its GroupSecrets path secret; new private states; tampered signatures,
 * parent hashes, ciphertexts and contexts refused; pruning after removal.
 * Over three suites (X25519, P-256, X448).
 */
#include "test_member.h"
#include "treekem.h"

#include "crypto.h"

/* The provisional GroupContext stand-in: any fixed bytes work for the
 * round trip, as long as both sides use the same. */
static mls_bytes gc_of(mls_rtree *t, uint8_t h[MLS_MAX_HASH])
{
    if (mls_rtree_root_hash(t, h))
        memset(h, 0, MLS_MAX_HASH);
    return mls_bytes_of(h, t->suite->nh);
}

static void test_group(const mls_suite *s, struct member *m)
{
    mls_bytes gid = mls_bytes_of((const uint8_t *)"g", 1);
    mls_rtree t, c, r;
    mls_treekem_priv priv[6], np;
    mls_treekem_pending pd;
    uint32_t leaf;
    uint8_t h[MLS_MAX_HASH], cs[MLS_MAX_HASH];

    memset(priv, 0, sizeof(priv));
    memset(&np, 0, sizeof(np));
    memset(&pd, 0, sizeof(pd));
    memset(&c, 0, sizeof(c));
    memset(&r, 0, sizeof(r));
    mls_rtree_init(&t, s);
    for (uint32_t i = 0; i < 4; i++) {
        CHECK_OK(mls_rtree_add_leaf(&t, &m[i].ln, &leaf));
        CHECK_OK(mls_treekem_priv_init(&priv[i], s, i, mls_buf_view(&m[i].enc_sk)));
        CHECK_OK(mls_treekem_priv_check(&priv[i], &t));
    }
    /* A key for a node that is not an ancestor is refused. */
    uint8_t zero[MLS_MAX_HASH] = {0};
    CHECK_ERR(mls_treekem_priv_set_node_secret(&priv[0], 5, mls_bytes_of(zero, s->nh)),
              MLS_ERR_ARG);

    /* Leaf 0 commits, adding leaf 4 in the same commit. */
    CHECK_OK(mls_rtree_copy(&c, &t));
    CHECK_OK(mls_rtree_add_leaf(&c, &m[4].ln, &leaf));
    CHECK(leaf == 4);
    uint32_t added[] = {4};
    CHECK_OK(mls_rtree_copy(&r, &c)); /* the receivers' view before the path */
    CHECK_OK(mls_treekem_path_create(&c, 0, &m[0].ln, mls_buf_view(&m[0].sig_sk), gid,
                                     mls_env_default(), &pd));
    CHECK(pd.len == 3); /* nodes 1, 3, 7: 7's copath child holds only leaf 4 */
    CHECK_OK(mls_treekem_path_encrypt(&pd, &c, gc_of(&c, h), added, 1, mls_env_default()));
    CHECK(pd.update_path.nodes[2].n_encrypted_path_secret == 0);
    CHECK(pd.update_path.nodes[1].n_encrypted_path_secret == 2);
    CHECK_OK(mls_rtree_verify_parent_hashes(&c));
    CHECK_OK(mls_treekem_priv_check(&pd.priv, &c));

    /* Each other member merges and decrypts to the same commit secret. */
    for (uint32_t j = 1; j < 4; j++) {
        mls_rtree v;
        memset(&v, 0, sizeof(v));
        CHECK_OK(mls_rtree_copy(&v, &r));
        CHECK_OK(mls_treekem_path_merge(&v, 0, &pd.update_path, gid));
        uint8_t hv[MLS_MAX_HASH];
        CHECK(memcmp(gc_of(&v, hv).p, h, s->nh) == 0);
        mls_treekem_priv_clear(&np);
        CHECK_OK(mls_treekem_path_decrypt(&v, &priv[j], 0, &pd.update_path, gc_of(&v, hv), added,
                                          1, &np, cs, NULL, NULL));
        CHECK(memcmp(cs, pd.commit_secret, s->nh) == 0);
        CHECK_OK(mls_treekem_priv_check(&np, &v));
        /* The old state is untouched; the new one has the root key. */
        CHECK(mls_treekem_priv_find(&np, &v, 7) != NULL);
        CHECK(mls_treekem_priv_find(&priv[j], &v, 7) == NULL);
        /* Wrong context: decryption fails. */
        mls_treekem_priv np2;
        memset(&np2, 0, sizeof(np2));
        CHECK_ERR(mls_treekem_path_decrypt(&v, &priv[j], 0, &pd.update_path,
                                           mls_bytes_of(zero, s->nh), added, 1, &np2, cs, NULL,
                                           NULL),
                  MLS_ERR_DECRYPT);
        mls_treekem_priv_clear(&np2);
        mls_rtree_clear(&v);
    }

    /* The joiner gets the path secret of node 7 and derives the root. */
    uint8_t ps[MLS_MAX_HASH];
    uint32_t node;
    CHECK_OK(mls_treekem_pending_path_secret_for(&pd, 4, ps, &node));
    CHECK(node == 7);
    CHECK_OK(mls_treekem_priv_init(&priv[4], s, 4, mls_buf_view(&m[4].enc_sk)));
    CHECK_OK(mls_treekem_priv_set_path_secret(&priv[4], &c, node, mls_bytes_of(ps, s->nh), cs));
    CHECK(memcmp(cs, pd.commit_secret, s->nh) == 0);
    CHECK_OK(mls_treekem_priv_check(&priv[4], &c));
    ps[0] ^= 1;
    CHECK_ERR(mls_treekem_priv_set_path_secret(&priv[4], &c, node, mls_bytes_of(ps, s->nh), cs),
              MLS_ERR_INVALID);

    /* A second commit from leaf 4 reaches leaf 0 (new state) and the
     * others. */
    mls_treekem_priv_clear(&priv[0]);
    priv[0] = pd.priv;
    memset(&pd.priv, 0, sizeof(pd.priv));
    mls_treekem_pending_clear(&pd);
    mls_rtree_clear(&r);
    CHECK_OK(mls_rtree_copy(&r, &c));
    CHECK_OK(mls_treekem_path_create(&c, 4, &m[4].ln, mls_buf_view(&m[4].sig_sk), gid,
                                     mls_env_default(), &pd));
    CHECK_OK(mls_treekem_path_encrypt(&pd, &c, gc_of(&c, h), NULL, 0, mls_env_default()));
    {
        mls_rtree v;
        memset(&v, 0, sizeof(v));
        CHECK_OK(mls_rtree_copy(&v, &r));
        CHECK_OK(mls_treekem_path_merge(&v, 4, &pd.update_path, gid));
        mls_treekem_priv_clear(&np);
        CHECK_OK(mls_treekem_path_decrypt(&v, &priv[0], 4, &pd.update_path, gc_of(&v, h), NULL, 0,
                                          &np, cs, NULL, NULL));
        CHECK(memcmp(cs, pd.commit_secret, s->nh) == 0);
        /* The sender cannot decrypt its own path. */
        CHECK_ERR(mls_treekem_path_decrypt(&v, &pd.priv, 4, &pd.update_path, gc_of(&v, h), NULL,
                                           0, &np, cs, NULL, NULL),
                  MLS_ERR_ARG);
        mls_rtree_clear(&v);
    }

    /* Tampering with the UpdatePath. */
    {
        mls_update_path bad;
        mls_rtree v;
        memset(&v, 0, sizeof(v));
        CHECK_OK(mls_update_path_copy(&bad, &pd.update_path));
        CHECK_OK(mls_rtree_copy(&v, &r));
        bad.leaf_node.signature.p[0] ^= 1;
        CHECK_ERR(mls_treekem_path_merge(&v, 4, &bad, gid), MLS_ERR_SIGNATURE);
        bad.leaf_node.signature.p[0] ^= 1;
        /* Another group id: the signature does not cover it. */
        CHECK_ERR(mls_treekem_path_merge(&v, 4, &bad, mls_bytes_of((const uint8_t *)"x", 1)),
                  MLS_ERR_SIGNATURE);
        /* A replaced path key breaks the parent hash the leaf signed. */
        bad.nodes[0].encryption_key.p[1] ^= 1;
        CHECK_ERR(mls_treekem_path_merge(&v, 4, &bad, gid), MLS_ERR_INVALID);
        bad.nodes[0].encryption_key.p[1] ^= 1;
        /* A missing node. */
        bad.n_nodes--;
        CHECK_ERR(mls_treekem_path_merge(&v, 4, &bad, gid), MLS_ERR_INVALID);
        bad.n_nodes++;
        /* Nothing changed in v: the genuine path still merges. */
        CHECK_OK(mls_treekem_path_merge(&v, 4, &bad, gid));
        /* A corrupted ciphertext for member 0. */
        uint32_t fp[MLS_TREE_MAX_DEPTH], cp[MLS_TREE_MAX_DEPTH];
        size_t len;
        CHECK_OK(mls_rtree_filtered_direct_path(&v, 4, fp, cp, &len));
        CHECK(len == 1 && fp[0] == 7);
        bad.nodes[0].encrypted_path_secret[0].ciphertext.p[0] ^= 1;
        mls_treekem_priv_clear(&np);
        CHECK_ERR(mls_treekem_path_decrypt(&v, &priv[0], 4, &bad, gc_of(&v, h), NULL, 0, &np, cs,
                                           NULL, NULL),
                  MLS_ERR_DECRYPT);
        mls_update_path_clear(&bad);
        mls_rtree_clear(&v);
    }

    /* After member 4 is removed, pruning drops keys of blanked nodes. */
    CHECK_OK(mls_rtree_remove_leaf(&c, 4));
    mls_treekem_priv_prune(&priv[2], &c);
    CHECK_OK(mls_treekem_priv_check(&priv[2], &c));
    CHECK(mls_treekem_priv_find(&priv[2], &c, 2 * 2) != NULL);

    mls_treekem_pending_clear(&pd);
    mls_treekem_pending_clear(&pd);
    mls_treekem_priv_clear(&np);
    for (int i = 0; i < 6; i++)
        mls_treekem_priv_clear(&priv[i]);
    mls_rtree_clear(&t);
    mls_rtree_clear(&c);
    mls_rtree_clear(&r);
}

int main(void)
{
    static const uint16_t suites[] = {MLS_SUITE_X25519_AES128GCM_SHA256_ED25519,
                                      MLS_SUITE_P256_AES128GCM_SHA256_P256,
                                      MLS_SUITE_X448_CHACHA20POLY1305_SHA512_ED448};
    for (size_t k = 0; k < sizeof(suites) / sizeof(suites[0]); k++) {
        const mls_suite *s = mls_suite_get(suites[k]);
        struct member m[6];
        for (int i = 0; i < 6; i++)
            CHECK_OK(make_member(s, i, &m[i]));
        test_group(s, m);
        for (int i = 0; i < 6; i++)
            member_clear(&m[i]);
    }
    TEST_MAIN_END("test_treekem");
}
