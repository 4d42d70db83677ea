/*
 * Ratchet tree unit tests: Add / Remove / Update shapes and truncation,
 * resolutions with unmerged leaves, tree hash caching against a fresh
 * import, parent-hash verification (tampering refused), duplicate keys,
 * bad leaf signatures, malformed wire trees, and overlays against deep
 * copies.
 */
#include "test_member.h"
#include "treekem.h"

#include "crypto.h"

#define SUITE MLS_SUITE_X25519_AES128GCM_SHA256_ED25519

static int res_is(mls_rtree *t, uint32_t node, const uint32_t *want, size_t n)
{
    mls_index_list l;
    memset(&l, 0, sizeof(l));
    int ok = mls_rtree_resolution(t, node, NULL, 0, &l) == 0 && l.n == n &&
             (n == 0 || memcmp(l.v, want, n * sizeof(*want)) == 0);
    mls_index_list_clear(&l);
    return ok;
}

/* The tree hash from the cache equals that of a fresh import of the
 * exported tree, and export / encode agree. */
static int hash_matches_reimport(mls_rtree *t)
{
    uint8_t a[MLS_MAX_HASH], b[MLS_MAX_HASH];
    mls_buf enc;
    mls_rtree u;
    int ok = 0;
    mls_buf_init(&enc);
    memset(&u, 0, sizeof(u));
    if (mls_rtree_root_hash(t, a) || mls_rtree_encode(t, &enc) ||
        mls_rtree_import_bytes(&u, t->suite, mls_buf_view(&enc)) || mls_rtree_root_hash(&u, b))
        goto out;
    ok = memcmp(a, b, t->suite->nh) == 0;
out:
    mls_rtree_clear(&u);
    mls_buf_clear(&enc);
    return ok;
}

static void test_shapes(const mls_suite *s, struct member *m)
{
    mls_rtree t;
    uint32_t leaf;
    mls_ratchet_tree wire;
    mls_index_list roster;

    memset(&roster, 0, sizeof(roster));
    mls_rtree_init(&t, s);
    for (int i = 0; i < 5; i++) {
        CHECK_OK(mls_rtree_add_leaf(&t, &m[i].ln, &leaf));
        CHECK(leaf == (uint32_t)i);
        CHECK(hash_matches_reimport(&t));
    }
    CHECK(mls_rtree_n_leaves(&t) == 8);
    CHECK(mls_rtree_member_count(&t) == 5);
    CHECK_OK(mls_rtree_export(&t, &wire));
    CHECK(wire.n == 9); /* truncated after leaf 4 (node 8) */
    mls_ratchet_tree_clear(&wire);
    CHECK_OK(mls_rtree_find_signature_key(&t, mls_buf_view(&m[3].ln.signature_key), &leaf));
    CHECK(leaf == 3);
    CHECK_OK(mls_rtree_find_encryption_key(&t, mls_buf_view(&m[2].ln.encryption_key), &leaf));
    CHECK(leaf == 2);
    CHECK_ERR(mls_rtree_find_encryption_key(&t, mls_buf_view(&m[6].ln.encryption_key), &leaf),
              MLS_ERR_NOT_FOUND);

    /* Duplicate keys are refused and change nothing. */
    CHECK_ERR(mls_rtree_add_leaf(&t, &m[1].ln, &leaf), MLS_ERR_INVALID);
    CHECK(mls_rtree_member_count(&t) == 5);
    CHECK_ERR(mls_rtree_update_leaf(&t, 0, &m[1].ln), MLS_ERR_INVALID);

    /* Remove the last leaf: the tree halves. */
    CHECK_OK(mls_rtree_remove_leaf(&t, 4));
    CHECK(mls_rtree_n_leaves(&t) == 4);
    CHECK(hash_matches_reimport(&t));
    CHECK_ERR(mls_rtree_remove_leaf(&t, 4), MLS_ERR_NOT_FOUND);
    CHECK_ERR(mls_rtree_find_signature_key(&t, mls_buf_view(&m[4].ln.signature_key), &leaf),
              MLS_ERR_NOT_FOUND);

    /* An internal hole is filled first (leftmost blank leaf). */
    CHECK_OK(mls_rtree_remove_leaf(&t, 1));
    CHECK(mls_rtree_leaf(&t, 1) == NULL);
    CHECK(mls_rtree_n_leaves(&t) == 4);
    CHECK_OK(mls_rtree_add_leaf(&t, &m[5].ln, &leaf));
    CHECK(leaf == 1);
    CHECK_OK(mls_rtree_roster(&t, &roster));
    CHECK(roster.n == 4 && roster.v[0] == 0 && roster.v[3] == 3);

    /* Removing 3 then 2 shrinks to two leaves. */
    CHECK_OK(mls_rtree_remove_leaf(&t, 3));
    CHECK(mls_rtree_n_leaves(&t) == 4);
    CHECK_OK(mls_rtree_remove_leaf(&t, 2));
    CHECK(mls_rtree_n_leaves(&t) == 2);
    CHECK(hash_matches_reimport(&t));
    /* Down to one member and back. */
    CHECK_OK(mls_rtree_remove_leaf(&t, 1));
    CHECK(mls_rtree_n_leaves(&t) == 1);
    CHECK_OK(mls_rtree_add_leaf(&t, &m[1].ln, &leaf));
    CHECK(leaf == 1 && mls_rtree_n_leaves(&t) == 2);
    mls_index_list_clear(&roster);
    mls_rtree_clear(&t);
    mls_rtree_clear(&t); /* twice is fine */
}

static void test_paths_and_hashes(const mls_suite *s, struct member *m)
{
    mls_rtree t, u;
    mls_treekem_pending pd;
    uint32_t leaf;
    mls_bytes gid = mls_bytes_of((const uint8_t *)"group", 5);

    memset(&pd, 0, sizeof(pd));
    memset(&u, 0, sizeof(u));
    mls_rtree_init(&t, s);
    for (int i = 0; i < 3; i++)
        CHECK_OK(mls_rtree_add_leaf(&t, &m[i].ln, &leaf));
    /* Leaf 0 commits: its filtered direct path is nodes 1 and 3. */
    CHECK_OK(mls_treekem_path_create(&t, 0, &m[0].ln, mls_buf_view(&m[0].sig_sk), gid,
                                     mls_env_default(), &pd));
    CHECK(pd.len == 2 && pd.path[0] == 1 && pd.path[1] == 3);
    CHECK(mls_rtree_parent(&t, 1) != NULL && mls_rtree_parent(&t, 3) != NULL);
    CHECK_OK(mls_rtree_verify_parent_hashes(&t));
    CHECK(hash_matches_reimport(&t));

    /* Adding leaf 3 makes it unmerged at node 3 (non-blank), not at 5. */
    CHECK_OK(mls_rtree_add_leaf(&t, &m[3].ln, &leaf));
    CHECK(leaf == 3);
    const mls_parent_node *p3 = mls_rtree_parent(&t, 3);
    CHECK(p3 && p3->n_unmerged_leaves == 1 && p3->unmerged_leaves[0] == 3);
    {
        static const uint32_t r3[] = {3, 6}, r5[] = {4, 6}, r1[] = {1};
        CHECK(res_is(&t, 3, r3, 2));
        CHECK(res_is(&t, 5, r5, 2));
        CHECK(res_is(&t, 1, r1, 1));
        mls_index_list l;
        memset(&l, 0, sizeof(l));
        uint32_t ex = 3;
        CHECK_OK(mls_rtree_resolution(&t, 3, &ex, 1, &l));
        CHECK(l.n == 1 && l.v[0] == 3);
        mls_index_list_clear(&l);
    }
    /* Unmerged leaves are left out of original sibling tree hashes. */
    CHECK_OK(mls_rtree_verify_parent_hashes(&t));
    CHECK(hash_matches_reimport(&t));

    /* A tampered parent hash is refused; so is a tampered public key. */
    CHECK_OK(mls_rtree_copy(&u, &t));
    mls_parent_node pn;
    CHECK_OK(mls_parent_node_copy(&pn, mls_rtree_parent(&u, 1)));
    pn.parent_hash.p[0] ^= 1;
    CHECK_OK(mls_rtree_set_parent(&u, 1, &pn));
    CHECK_ERR(mls_rtree_verify_parent_hashes(&u), MLS_ERR_INVALID);
    pn.parent_hash.p[0] ^= 1;
    pn.encryption_key.p[3] ^= 1;
    CHECK_OK(mls_rtree_set_parent(&u, 1, &pn));
    CHECK_ERR(mls_rtree_verify_parent_hashes(&u), MLS_ERR_INVALID);
    mls_parent_node_clear(&pn);
    mls_rtree_clear(&u);

    /* verify_join: hash, parent hashes, leaf signatures. */
    uint8_t h[MLS_MAX_HASH];
    mls_leaf_check chk;
    memset(&chk, 0, sizeof(chk));
    chk.group_id = gid;
    CHECK_OK(mls_rtree_root_hash(&t, h));
    CHECK_OK(mls_rtree_verify_join(&t, mls_bytes_of(h, s->nh), &chk));
    h[0] ^= 1;
    CHECK_ERR(mls_rtree_verify_join(&t, mls_bytes_of(h, s->nh), &chk), MLS_ERR_INVALID);
    h[0] ^= 1;
    /* The committed leaf is signed for this group only. */
    chk.group_id = mls_bytes_of((const uint8_t *)"other", 5);
    CHECK_ERR(mls_rtree_verify_leaves(&t, &chk), MLS_ERR_SIGNATURE);
    chk.group_id = gid;
    /* Lifetime checks when asked. */
    chk.check_lifetime = 1;
    chk.now = 1000;
    CHECK_OK(mls_rtree_verify_leaves(&t, &chk));

    /* A bad signature on a key_package leaf. */
    CHECK_OK(mls_rtree_copy(&u, &t));
    mls_leaf_node bad;
    CHECK_OK(mls_leaf_node_copy(&bad, mls_rtree_leaf(&u, 2)));
    bad.signature.p[5] ^= 0x10;
    CHECK_OK(mls_rtree_set_leaf(&u, 2, &bad));
    CHECK_ERR(mls_rtree_verify_leaves(&u, &chk), MLS_ERR_SIGNATURE);
    /* An expired one. */
    bad.lifetime.not_after = 10;
    CHECK_OK(sign_leaf(s, &bad, mls_buf_view(&m[2].sig_sk), gid, 2));
    CHECK_OK(mls_rtree_set_leaf(&u, 2, &bad));
    CHECK_ERR(mls_rtree_verify_leaves(&u, &chk), MLS_ERR_EXPIRED);
    mls_leaf_node_clear(&bad);
    mls_rtree_clear(&u);

    /* Update blanks the direct path. */
    CHECK_OK(mls_rtree_update_leaf(&t, 1, &m[6].ln));
    CHECK(mls_rtree_parent(&t, 1) == NULL && mls_rtree_parent(&t, 3) == NULL);
    CHECK(hash_matches_reimport(&t));
    CHECK_OK(mls_rtree_verify_parent_hashes(&t));

    mls_treekem_pending_clear(&pd);
    mls_rtree_clear(&t);
}

static void test_malformed(const mls_suite *s, struct member *m)
{
    mls_rtree t, u;
    mls_buf enc;
    mls_ratchet_tree wire;
    uint32_t leaf;

    memset(&u, 0, sizeof(u));
    mls_buf_init(&enc);
    mls_rtree_init(&t, s);
    for (int i = 0; i < 3; i++)
        CHECK_OK(mls_rtree_add_leaf(&t, &m[i].ln, &leaf));
    CHECK_OK(mls_rtree_encode(&t, &enc));
    CHECK_OK(mls_rtree_import_bytes(&u, s, mls_buf_view(&enc)));
    mls_rtree_clear(&u);
    /* Every truncation and a trailing byte fail cleanly. */
    for (size_t n = 0; n < enc.n; n++)
        CHECK(mls_rtree_import_bytes(&u, s, mls_bytes_of(enc.p, n)) != 0);
    CHECK_OK(mls_buf_append(&enc, "\0", 1));
    CHECK_ERR(mls_rtree_import_bytes(&u, s, mls_buf_view(&enc)), MLS_ERR_TRAILING);
    /* An empty tree. */
    static const uint8_t empty[] = {0};
    CHECK_ERR(mls_rtree_import_bytes(&u, s, mls_bytes_of(empty, 1)), MLS_ERR_INVALID);

    CHECK_OK(mls_rtree_export(&t, &wire));
    CHECK(wire.n == 5);
    /* A trailing blank node. */
    mls_node last = wire.nodes[4];
    wire.nodes[4].type = MLS_NODE_BLANK;
    wire.n = 5;
    CHECK_ERR(mls_rtree_import(&u, s, &wire), MLS_ERR_INVALID);
    /* An even number of nodes. */
    wire.n = 4;
    CHECK_ERR(mls_rtree_import(&u, s, &wire), MLS_ERR_INVALID);
    wire.n = 5;
    wire.nodes[4] = last;
    /* A leaf at a parent position. */
    mls_node saved = wire.nodes[1];
    CHECK_OK(mls_node_copy(&wire.nodes[1], &wire.nodes[2]));
    CHECK_ERR(mls_rtree_import(&u, s, &wire), MLS_ERR_INVALID);
    mls_node_clear(&wire.nodes[1]);
    /* A parent whose unmerged leaf is outside its subtree. */
    wire.nodes[1].type = MLS_NODE_PARENT;
    CHECK_OK(mls_buf_copy(&wire.nodes[1].parent.encryption_key, &m[6].ln.encryption_key));
    wire.nodes[1].parent.unmerged_leaves = malloc(sizeof(uint32_t));
    wire.nodes[1].parent.unmerged_leaves[0] = 2;
    wire.nodes[1].parent.n_unmerged_leaves = 1;
    CHECK_ERR(mls_rtree_import(&u, s, &wire), MLS_ERR_INVALID);
    mls_node_clear(&wire.nodes[1]);
    wire.nodes[1] = saved;
    /* Two leaves with one encryption key. */
    mls_buf_clear(&wire.nodes[4].leaf.encryption_key);
    CHECK_OK(mls_buf_copy(&wire.nodes[4].leaf.encryption_key, &m[0].ln.encryption_key));
    CHECK_ERR(mls_rtree_import(&u, s, &wire), MLS_ERR_INVALID);
    mls_ratchet_tree_clear(&wire);

    mls_buf_clear(&enc);
    mls_rtree_clear(&t);
}

/* The lookup index survives many inserts and deletions. */
static void test_index_churn(const mls_suite *s, struct member *m)
{
    mls_rtree t;
    uint32_t leaf;
    mls_rtree_init(&t, s);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 8; i++)
            CHECK_OK(mls_rtree_add_leaf(&t, &m[i].ln, &leaf));
        for (int i = 0; i < 8; i += 2)
            CHECK_OK(mls_rtree_remove_leaf(&t, (uint32_t)i));
        for (int i = 1; i < 8; i += 2) {
            CHECK_OK(mls_rtree_find_signature_key(&t, mls_buf_view(&m[i].ln.signature_key),
                                                  &leaf));
            CHECK(leaf == (uint32_t)i);
        }
        for (int i = 1; i < 8; i += 2)
            CHECK_OK(mls_rtree_remove_leaf(&t, (uint32_t)i));
        CHECK(mls_rtree_member_count(&t) == 0);
        CHECK(mls_rtree_n_leaves(&t) == 1);
        mls_rtree_clear(&t);
        mls_rtree_init(&t, s);
    }
    mls_rtree_clear(&t);
}

/* Caching: after building a large tree and hashing it once, a change to
 * one leaf leaves only that leaf's path stale (O(log n) rehashing), and
 * the cached hash equals a full recomputation. */
static void test_cache(const mls_suite *s, struct member *m)
{
    enum { N = 4096 };
    mls_rtree t;
    mls_leaf_node ln;
    uint32_t leaf;
    uint8_t key[32];

    mls_rtree_init(&t, s);
    CHECK_OK(mls_leaf_node_copy(&ln, &m[0].ln));
    for (uint32_t i = 0; i < N; i++) {
        memset(key, 0, sizeof(key));
        memcpy(key, &i, sizeof(i));
        key[31] = 'e';
        CHECK_OK(mls_buf_set(&ln.encryption_key, key, sizeof(key)));
        key[31] = 's';
        CHECK_OK(mls_buf_set(&ln.signature_key, key, sizeof(key)));
        CHECK_OK(mls_rtree_add_leaf(&t, &ln, &leaf));
    }
    CHECK(mls_rtree_n_leaves(&t) == N && mls_rtree_member_count(&t) == N);
    uint8_t h[MLS_MAX_HASH];
    CHECK_OK(mls_rtree_root_hash(&t, h));
    CHECK_OK(mls_rtree_remove_leaf(&t, 1234));
    uint32_t stale = 0, w = mls_rtree_width(&t);
    for (uint32_t x = 0; x < w; x++)
        stale += !t.hash_ok[x];
    CHECK(stale == 13); /* the leaf and its 12 ancestors */
    CHECK(hash_matches_reimport(&t));
    CHECK_OK(mls_rtree_find_signature_key(&t, mls_buf_view(&ln.signature_key), &leaf));
    CHECK(leaf == N - 1);
    mls_leaf_node_clear(&ln);
    mls_rtree_clear(&t);
}

/* Overlays: the same random operations on a deep copy and on an overlay
 * give the same tree (hash, encoding, members, key lookups) at every step;
 * discarding the overlay leaves the base byte-identical, applying it makes
 * the base equal to the copy; one operation touches O(log n) slots. */
static int set_keys(mls_leaf_node *ln, uint32_t k)
{
    uint8_t key[32];
    int err;
    memset(key, 0, sizeof(key));
    memcpy(key, &k, sizeof(k));
    key[31] = 'e';
    if ((err = mls_buf_set(&ln->encryption_key, key, sizeof(key))) != 0)
        return err;
    key[31] = 's';
    return mls_buf_set(&ln->signature_key, key, sizeof(key));
}

static int same_tree(mls_rtree *a, mls_rtree *b)
{
    uint8_t ha[MLS_MAX_HASH], hb[MLS_MAX_HASH];
    mls_buf ea, eb;
    int ok = 0;
    mls_buf_init(&ea);
    mls_buf_init(&eb);
    if (mls_rtree_root_hash(a, ha) || mls_rtree_root_hash(b, hb) || mls_rtree_encode(a, &ea) ||
        mls_rtree_encode(b, &eb))
        goto out;
    ok = memcmp(ha, hb, a->suite->nh) == 0 && ea.n == eb.n && memcmp(ea.p, eb.p, ea.n) == 0 &&
         mls_rtree_n_leaves(a) == mls_rtree_n_leaves(b) &&
         mls_rtree_member_count(a) == mls_rtree_member_count(b);
    for (uint32_t i = 0; ok && i < mls_rtree_n_leaves(a); i++) {
        const mls_leaf_node *la = mls_rtree_leaf(a, i), *lb = mls_rtree_leaf(b, i);
        uint32_t fa, fb;
        ok = (la == NULL) == (lb == NULL);
        if (!ok || !la)
            continue;
        ok = mls_rtree_find_signature_key(b, mls_buf_view(&la->signature_key), &fb) == 0 &&
             fb == i &&
             mls_rtree_find_encryption_key(b, mls_buf_view(&la->encryption_key), &fa) == 0 &&
             fa == i;
    }
out:
    mls_buf_clear(&ea);
    mls_buf_clear(&eb);
    return ok;
}

static void test_overlay(const mls_suite *s, struct member *m)
{
    enum { N = 100, OPS = 60 };
    mls_rtree base, copy, ov, ov2;
    mls_leaf_node ln;
    mls_parent_node pn;
    mls_buf before;
    uint8_t pk[32];
    uint32_t leaf, next_key = 1, rnd = 12345;

    mls_rtree_init(&base, s);
    memset(&copy, 0, sizeof(copy));
    memset(&ov, 0, sizeof(ov));
    memset(&ov2, 0, sizeof(ov2));
    memset(&pn, 0, sizeof(pn));
    mls_buf_init(&before);
    CHECK_OK(mls_leaf_node_copy(&ln, &m[0].ln));
    for (uint32_t i = 0; i < N; i++) {
        CHECK_OK(set_keys(&ln, next_key++));
        CHECK_OK(mls_rtree_add_leaf(&base, &ln, &leaf));
    }
    CHECK_OK(mls_rtree_remove_leaf(&base, 7));
    CHECK_OK(mls_rtree_encode(&base, &before));

    for (int round = 0; round < 2; round++) {
        CHECK_OK(mls_rtree_copy(&copy, &base));
        CHECK_OK(mls_rtree_overlay(&ov, &base));
        CHECK_ERR(mls_rtree_overlay(&ov2, &ov), MLS_ERR_ARG);
        CHECK(same_tree(&copy, &ov));
        /* One Update: the leaf and its direct path. */
        CHECK_OK(set_keys(&ln, next_key++));
        CHECK_OK(mls_rtree_update_leaf(&ov, 3, &ln));
        CHECK_OK(mls_rtree_update_leaf(&copy, 3, &ln));
        CHECK(ov.ov_n <= 8);
        CHECK(same_tree(&copy, &ov));
        for (int op = 0; op < OPS; op++) {
            rnd = rnd * 1103515245u + 12345u;
            uint32_t r = rnd >> 8, n = mls_rtree_n_leaves(&copy), x, w = mls_rtree_width(&copy);
            int ea, eb;
            switch (r % 5) {
            case 0: /* Add (also extending the tree) */
                CHECK_OK(set_keys(&ln, next_key++));
                ea = mls_rtree_add_leaf(&copy, &ln, &leaf);
                eb = mls_rtree_add_leaf(&ov, &ln, &x);
                CHECK(ea == 0 && eb == 0 && leaf == x);
                /* A key in use is refused by both. */
                CHECK_ERR(mls_rtree_add_leaf(&ov, &ln, &x), MLS_ERR_INVALID);
                break;
            case 1: /* Remove (with truncation) */
                x = (r / 5) % n;
                ea = mls_rtree_remove_leaf(&copy, x);
                eb = mls_rtree_remove_leaf(&ov, x);
                CHECK(ea == eb);
                break;
            case 2: /* Update, sometimes to a key another leaf holds */
                x = (r / 5) % n;
                if ((r >> 20) & 1)
                    CHECK_OK(set_keys(&ln, next_key++));
                ea = mls_rtree_update_leaf(&copy, x, &ln);
                eb = mls_rtree_update_leaf(&ov, x, &ln);
                CHECK(ea == eb);
                break;
            case 3: /* A parent node, as a path merge sets it */
                x = ((r / 5) % (w / 2)) * 2 + 1;
                memset(pk, 0, sizeof(pk));
                memcpy(pk, &next_key, sizeof(next_key));
                next_key++;
                pk[31] = 'p';
                CHECK_OK(mls_buf_set(&pn.encryption_key, pk, sizeof(pk)));
                CHECK_OK(mls_rtree_set_parent(&copy, x, (r >> 20) & 1 ? &pn : NULL));
                CHECK_OK(mls_rtree_set_parent(&ov, x, (r >> 20) & 1 ? &pn : NULL));
                break;
            default: /* Add under non-blank parents (unmerged leaves) */
                CHECK_OK(set_keys(&ln, next_key++));
                CHECK_OK(mls_rtree_add_leaf(&copy, &ln, &leaf));
                CHECK_OK(mls_rtree_add_leaf(&ov, &ln, &x));
                break;
            }
            CHECK(same_tree(&copy, &ov));
        }
        if (round == 0) {
            /* Discarded: the base is as it was. */
            mls_buf after;
            mls_buf_init(&after);
            mls_rtree_clear(&ov);
            CHECK_OK(mls_rtree_encode(&base, &after));
            CHECK(after.n == before.n && memcmp(after.p, before.p, after.n) == 0);
            CHECK(hash_matches_reimport(&base));
            mls_buf_clear(&after);
        } else {
            /* Applied: the base is the copy, with consistent caches. */
            CHECK_OK(mls_rtree_overlay_reserve(&ov));
            mls_rtree_overlay_apply(&ov);
            CHECK(ov.base == NULL && ov.ov == NULL);
            CHECK(same_tree(&copy, &base));
            CHECK(hash_matches_reimport(&base));
        }
        mls_rtree_clear(&copy);
    }
    /* A stale overlay (its base changed since) is cleared safely. */
    CHECK_OK(mls_rtree_overlay(&ov, &base));
    CHECK_OK(set_keys(&ln, next_key++));
    CHECK_OK(mls_rtree_add_leaf(&ov, &ln, &leaf));
    CHECK_OK(mls_rtree_remove_leaf(&base, leaf == 0 ? 1 : 0));
    mls_rtree_clear(&ov);
    mls_parent_node_clear(&pn);
    mls_leaf_node_clear(&ln);
    mls_buf_clear(&before);
    mls_rtree_clear(&base);
}

/* §7.3 credential compatibility from the per-type counts, on a plain tree
 * and on an overlay (whose counts diverge from its base's). */
static int set_creds(mls_leaf_node *ln, uint16_t type, const uint16_t *caps, size_t n)
{
    uint16_t *v = malloc(n * sizeof(*v));
    if (!v)
        return MLS_ERR_NOMEM;
    memcpy(v, caps, n * sizeof(*v));
    free(ln->capabilities.credentials.v);
    ln->capabilities.credentials.v = v;
    ln->capabilities.credentials.n = n;
    ln->credential.type = type;
    return MLS_OK;
}

static void test_credential_types(const mls_suite *s, struct member *m)
{
    static const uint16_t basic[] = {MLS_CREDENTIAL_BASIC};
    static const uint16_t both[] = {MLS_CREDENTIAL_X509, MLS_CREDENTIAL_BASIC, MLS_CREDENTIAL_X509};
    static const uint16_t x509[] = {MLS_CREDENTIAL_X509};
    mls_rtree t, ov;
    mls_leaf_node ln;
    uint32_t leaf, k = 5000;

    mls_rtree_init(&t, s);
    memset(&ov, 0, sizeof(ov));
    CHECK_OK(mls_leaf_node_copy(&ln, &m[0].ln));
    for (int i = 0; i < 3; i++) {
        CHECK_OK(set_keys(&ln, k++));
        CHECK_OK(mls_rtree_add_leaf(&t, &ln, &leaf));
    }
    CHECK_OK(set_keys(&ln, k++));
    /* An X.509 newcomer: the members do not support it. */
    CHECK_OK(set_creds(&ln, MLS_CREDENTIAL_X509, both, 3));
    CHECK_ERR(mls_rtree_check_leaf_fits(&t, &ln, 3), MLS_ERR_INVALID);
    /* A basic newcomer that does not support basic. */
    CHECK_OK(set_creds(&ln, MLS_CREDENTIAL_BASIC, x509, 1));
    CHECK_ERR(mls_rtree_check_leaf_fits(&t, &ln, 3), MLS_ERR_INVALID);
    CHECK_OK(set_creds(&ln, MLS_CREDENTIAL_BASIC, both, 3));
    CHECK_OK(mls_rtree_check_leaf_fits(&t, &ln, 3));
    /* In an overlay every member comes to support X.509 too. */
    CHECK_OK(mls_rtree_overlay(&ov, &t));
    for (uint32_t i = 0; i < 3; i++) {
        CHECK_OK(set_keys(&ln, k++));
        CHECK_OK(mls_rtree_update_leaf(&ov, i, &ln));
    }
    CHECK_OK(set_keys(&ln, k++));
    CHECK_OK(set_creds(&ln, MLS_CREDENTIAL_X509, both, 3));
    CHECK_OK(mls_rtree_check_leaf_fits(&ov, &ln, 3));
    CHECK_ERR(mls_rtree_check_leaf_fits(&t, &ln, 3), MLS_ERR_INVALID);
    CHECK_OK(mls_rtree_add_leaf(&ov, &ln, &leaf));
    /* With an X.509 member in, a newcomer must support X.509 ... */
    CHECK_OK(set_keys(&ln, k++));
    CHECK_OK(set_creds(&ln, MLS_CREDENTIAL_BASIC, basic, 1));
    CHECK_ERR(mls_rtree_check_leaf_fits(&ov, &ln, 4), MLS_ERR_INVALID);
    /* ... except when it replaces that member. */
    CHECK_OK(mls_rtree_check_leaf_fits(&ov, &ln, leaf));
    CHECK_OK(mls_rtree_overlay_reserve(&ov));
    mls_rtree_overlay_apply(&ov);
    CHECK_ERR(mls_rtree_check_leaf_fits(&t, &ln, 4), MLS_ERR_INVALID);
    CHECK_OK(mls_rtree_remove_leaf(&t, leaf));
    CHECK_OK(mls_rtree_check_leaf_fits(&t, &ln, 4));
    mls_leaf_node_clear(&ln);
    mls_rtree_clear(&t);
}

int main(void)
{
    const mls_suite *s = mls_suite_get(SUITE);
    struct member m[8];
    for (int i = 0; i < 8; i++)
        CHECK_OK(make_member(s, i, &m[i]));
    test_shapes(s, m);
    test_paths_and_hashes(s, m);
    test_malformed(s, m);
    test_index_churn(s, m);
    test_cache(s, m);
    test_overlay(s, m);
    test_credential_types(s, m);
    for (int i = 0; i < 8; i++)
        member_clear(&m[i]);
    TEST_MAIN_END("test_ratchet_tree");
}
