/* Unit tests for lib/secret_tree.c (RFC 9420 §9). */
#include "test.h"

#include "secret_tree.h"

#include "crypto.h"

static const mls_suite *suite1(void)
{
    return mls_suite_get(MLS_SUITE_X25519_AES128GCM_SHA256_ED25519);
}

static mls_bytes secret_of(const uint8_t *p, const mls_suite *s)
{
    return mls_bytes_of(p, s->nh);
}

/* secret-tree.json entry 0 (one leaf, suite 1): generations 0 and 15. */
static void test_known_answer(void)
{
    const mls_suite *s = suite1();
    uint8_t enc[32], want[16], key[MLS_MAX_AEAD_KEY], nonce[MLS_MAX_AEAD_NONCE];
    mls_secret_tree t;

    test_unhex_to("d69fcc35969e94680461974bd26c7cda7594cbf45985c4bf668c3b3118b765ab", enc, 32);
    CHECK_OK(mls_secret_tree_init(&t, s, secret_of(enc, s), 1, NULL));
    CHECK_OK(mls_secret_tree_get(&t, 0, MLS_RATCHET_APPLICATION, 0, key, nonce));
    test_unhex_to("442e691710646617a21e41482d868a4e", want, 16);
    CHECK(test_same(key, want, 16));
    test_unhex_to("c76e37884536a9ce33fb3070", want, 12);
    CHECK(test_same(nonce, want, 12));
    CHECK_OK(mls_secret_tree_get(&t, 0, MLS_RATCHET_HANDSHAKE, 15, key, nonce));
    test_unhex_to("6121c93d8e92e76320087e5d646a3bf2", want, 16);
    CHECK(test_same(key, want, 16));
    test_unhex_to("961e5b73d62b72743b900c88", want, 12);
    CHECK(test_same(nonce, want, 12));
    /* The handshake ratchet moved; the application one did not. */
    CHECK_OK(mls_secret_tree_get(&t, 0, MLS_RATCHET_HANDSHAKE, 0, key, nonce));
    test_unhex_to("a2d6b8a9255478e9b79a076872ae3563", want, 16);
    CHECK(test_same(key, want, 16));
    CHECK_OK(mls_secret_tree_get(&t, 0, MLS_RATCHET_APPLICATION, 15, key, nonce));
    test_unhex_to("0f2d1b9e1d5c09abefb0edabd8349e9f", want, 16);
    CHECK(test_same(key, want, 16));
    mls_secret_tree_clear(&t);
    mls_secret_tree_clear(&t);
}

/* A sender's keys (mls_secret_tree_next) are what a receiver gets for the
 * same generations, in any order within the window. */
static void test_send_receive_out_of_order(void)
{
    const mls_suite *s = suite1();
    uint8_t enc[MLS_MAX_HASH];
    uint8_t keys[10][MLS_MAX_AEAD_KEY], nonces[10][MLS_MAX_AEAD_NONCE];
    uint8_t key[MLS_MAX_AEAD_KEY], nonce[MLS_MAX_AEAD_NONCE];
    mls_secret_tree snd, rcv;
    uint32_t g;

    memset(enc, 0x42, sizeof(enc));
    CHECK_OK(mls_secret_tree_init(&snd, s, secret_of(enc, s), 8, NULL));
    CHECK_OK(mls_secret_tree_init(&rcv, s, secret_of(enc, s), 8, NULL));
    for (uint32_t i = 0; i < 10; i++) {
        CHECK_OK(mls_secret_tree_next(&snd, 5, MLS_RATCHET_APPLICATION, &g, keys[i], nonces[i]));
        CHECK(g == i);
    }
    /* Handshake ratchet of the same leaf is independent. */
    CHECK_OK(mls_secret_tree_next(&snd, 5, MLS_RATCHET_HANDSHAKE, &g, key, nonce));
    CHECK(g == 0 && !test_same(key, keys[0], s->nk));

    static const uint32_t order[] = {3, 0, 9, 1, 2, 8, 4, 7, 5, 6};
    for (size_t i = 0; i < 10; i++) {
        uint32_t gen = order[i];
        CHECK_OK(mls_secret_tree_get(&rcv, 5, MLS_RATCHET_APPLICATION, gen, key, nonce));
        CHECK(test_same(key, keys[gen], s->nk) && test_same(nonce, nonces[gen], s->nn));
    }
    /* Every one was consumed: asking again fails, for old and newest alike. */
    for (uint32_t gen = 0; gen < 10; gen++)
        CHECK_ERR(mls_secret_tree_get(&rcv, 5, MLS_RATCHET_APPLICATION, gen, key, nonce),
                  MLS_ERR_KEY_USED);
    /* The sender continues at generation 10, the receiver follows. */
    CHECK_OK(mls_secret_tree_next(&snd, 5, MLS_RATCHET_APPLICATION, &g, keys[0], nonces[0]));
    CHECK(g == 10);
    CHECK_OK(mls_secret_tree_get(&rcv, 5, MLS_RATCHET_APPLICATION, 10, key, nonce));
    CHECK(test_same(key, keys[0], s->nk));
    /* A sender's own key cannot be had again either. */
    CHECK_ERR(mls_secret_tree_get(&snd, 5, MLS_RATCHET_APPLICATION, 10, key, nonce),
              MLS_ERR_KEY_USED);
    mls_secret_tree_clear(&snd);
    mls_secret_tree_clear(&rcv);
}

static void test_window(void)
{
    const mls_suite *s = suite1();
    uint8_t enc[MLS_MAX_HASH], key[MLS_MAX_AEAD_KEY], nonce[MLS_MAX_AEAD_NONCE];
    uint8_t k7[MLS_MAX_AEAD_KEY], n7[MLS_MAX_AEAD_NONCE];
    mls_secret_tree_config cfg = {10, 3};
    mls_secret_tree t, ref;

    memset(enc, 7, sizeof(enc));
    CHECK_OK(mls_secret_tree_init(&t, s, secret_of(enc, s), 2, &cfg));
    CHECK_OK(mls_secret_tree_init(&ref, s, secret_of(enc, s), 2, NULL));
    /* More than max_forward ahead: refused, and nothing changed. */
    memset(key, 0xee, sizeof(key));
    CHECK_ERR(mls_secret_tree_get(&t, 1, MLS_RATCHET_APPLICATION, 11, key, nonce),
              MLS_ERR_INVALID);
    CHECK(key[0] == 0xee);
    CHECK_ERR(mls_secret_tree_get(&t, 1, MLS_RATCHET_APPLICATION, 0xffffffffu, key, nonce),
              MLS_ERR_INVALID);
    /* Exactly max_forward ahead is fine. */
    CHECK_OK(mls_secret_tree_get(&t, 1, MLS_RATCHET_APPLICATION, 10, key, nonce));
    /* Only the last 3 skipped generations (7, 8, 9) were kept. */
    CHECK_ERR(mls_secret_tree_get(&t, 1, MLS_RATCHET_APPLICATION, 6, key, nonce),
              MLS_ERR_KEY_USED);
    CHECK_ERR(mls_secret_tree_get(&t, 1, MLS_RATCHET_APPLICATION, 0, key, nonce),
              MLS_ERR_KEY_USED);
    CHECK_OK(mls_secret_tree_get(&t, 1, MLS_RATCHET_APPLICATION, 7, key, nonce));
    CHECK_OK(mls_secret_tree_get(&ref, 1, MLS_RATCHET_APPLICATION, 7, k7, n7));
    CHECK(test_same(key, k7, s->nk) && test_same(nonce, n7, s->nn));
    /* The window moves with the ratchet: up to 10 beyond the next one. */
    CHECK_OK(mls_secret_tree_get(&t, 1, MLS_RATCHET_APPLICATION, 21, key, nonce));
    CHECK_ERR(mls_secret_tree_get(&t, 1, MLS_RATCHET_APPLICATION, 33, key, nonce),
              MLS_ERR_INVALID);
    /* 8 and 9 were pushed out by 18, 19, 20. */
    CHECK_ERR(mls_secret_tree_get(&t, 1, MLS_RATCHET_APPLICATION, 8, key, nonce),
              MLS_ERR_KEY_USED);
    CHECK_OK(mls_secret_tree_get(&t, 1, MLS_RATCHET_APPLICATION, 18, key, nonce));
    CHECK_OK(mls_secret_tree_get(&t, 1, MLS_RATCHET_APPLICATION, 20, key, nonce));
    CHECK_OK(mls_secret_tree_get(&t, 1, MLS_RATCHET_APPLICATION, 19, key, nonce));
    CHECK_ERR(mls_secret_tree_get(&t, 1, MLS_RATCHET_APPLICATION, 19, key, nonce),
              MLS_ERR_KEY_USED);
    mls_secret_tree_clear(&t);
    mls_secret_tree_clear(&ref);

    /* max_retained 0: strictly in order. */
    cfg.max_retained = 0;
    CHECK_OK(mls_secret_tree_init(&t, s, secret_of(enc, s), 2, &cfg));
    CHECK_OK(mls_secret_tree_get(&t, 0, MLS_RATCHET_HANDSHAKE, 2, key, nonce));
    CHECK_ERR(mls_secret_tree_get(&t, 0, MLS_RATCHET_HANDSHAKE, 1, key, nonce),
              MLS_ERR_KEY_USED);
    CHECK_OK(mls_secret_tree_get(&t, 0, MLS_RATCHET_HANDSHAKE, 3, key, nonce));
    mls_secret_tree_clear(&t);
}

/* RFC 9420 §9.2: node secrets are deleted as soon as their children are
 * derived, leaf secrets as soon as the ratchets are. */
static void test_deletion_schedule(void)
{
    const mls_suite *s = suite1();
    uint8_t enc[MLS_MAX_HASH], key[MLS_MAX_AEAD_KEY], nonce[MLS_MAX_AEAD_NONCE];
    mls_secret_tree t;
    uint32_t g;

    memset(enc, 1, sizeof(enc));
    CHECK_OK(mls_secret_tree_init(&t, s, secret_of(enc, s), 8, NULL));
    CHECK(mls_secret_tree_held_nodes(&t) == 1);
    /* Leaf 0: root, 3, 1 and leaf 0 consumed; copath 2, 5, 11 held. */
    CHECK_OK(mls_secret_tree_get(&t, 0, MLS_RATCHET_APPLICATION, 0, key, nonce));
    CHECK(mls_secret_tree_held_nodes(&t) == 3);
    CHECK(t.nodes[7] == NULL && t.nodes[3] == NULL && t.nodes[1] == NULL && t.nodes[0] == NULL);
    CHECK(t.nodes[2] && t.nodes[5] && t.nodes[11]);
    /* Leaf 1 uses the held node 2. */
    CHECK_OK(mls_secret_tree_next(&t, 1, MLS_RATCHET_HANDSHAKE, &g, key, nonce));
    CHECK(mls_secret_tree_held_nodes(&t) == 2);
    /* Every leaf reached: no node secret left at all. */
    for (uint32_t leaf = 2; leaf < 8; leaf++)
        CHECK_OK(mls_secret_tree_get(&t, leaf, MLS_RATCHET_HANDSHAKE, 0, key, nonce));
    CHECK(mls_secret_tree_held_nodes(&t) == 0);
    /* The ratchets still work for every leaf. */
    for (uint32_t leaf = 0; leaf < 8; leaf++)
        CHECK_OK(mls_secret_tree_get(&t, leaf, MLS_RATCHET_APPLICATION, 1, key, nonce));
    mls_secret_tree_clear(&t);
    CHECK(t.nodes == NULL && t.leaves == NULL);
}

/* Peeking never changes the tree, also for a leaf not used yet (found by
 * tests/fuzz/fuzz_group_process: a PrivateMessage whose sender data
 * decrypted but whose content did not changed the group's state), and it
 * gives the keys mls_secret_tree_get gives afterwards. */
static void test_peek_changes_nothing(void)
{
    const mls_suite *s = suite1();
    uint8_t enc[MLS_MAX_HASH], k1[MLS_MAX_AEAD_KEY], n1[MLS_MAX_AEAD_NONCE];
    uint8_t k2[MLS_MAX_AEAD_KEY], n2[MLS_MAX_AEAD_NONCE];
    mls_secret_tree t;
    mls_buf before, after;

    memset(enc, 7, sizeof(enc));
    mls_buf_init(&before);
    mls_buf_init(&after);
    CHECK_OK(mls_secret_tree_init(&t, s, secret_of(enc, s), 8, NULL));
    /* Leaf 2 used, so leaf 3 hangs below a held node; leaf 6 below the
     * root's right child. */
    CHECK_OK(mls_secret_tree_get(&t, 2, MLS_RATCHET_APPLICATION, 0, k1, n1));
    CHECK_OK(mls_secret_tree_write(&t, &before));
    for (uint32_t leaf = 0; leaf < 8; leaf++) {
        for (int type = 0; type < 2; type++) {
            enum mls_ratchet_type rt = type ? MLS_RATCHET_APPLICATION : MLS_RATCHET_HANDSHAKE;
            CHECK_OK(mls_secret_tree_peek(&t, leaf, rt, 3, k1, n1));
            mls_buf_reset(&after);
            CHECK_OK(mls_secret_tree_write(&t, &after));
            CHECK(after.n == before.n && test_same(after.p, before.p, before.n));
        }
    }
    /* What was peeked is what get returns. */
    CHECK_OK(mls_secret_tree_peek(&t, 6, MLS_RATCHET_HANDSHAKE, 5, k1, n1));
    CHECK_OK(mls_secret_tree_get(&t, 6, MLS_RATCHET_HANDSHAKE, 5, k2, n2));
    CHECK(test_same(k1, k2, s->nk) && test_same(n1, n2, s->nn));
    CHECK_OK(mls_secret_tree_peek(&t, 3, MLS_RATCHET_APPLICATION, 0, k1, n1));
    CHECK_OK(mls_secret_tree_get(&t, 3, MLS_RATCHET_APPLICATION, 0, k2, n2));
    CHECK(test_same(k1, k2, s->nk) && test_same(n1, n2, s->nn));
    mls_buf_clear(&before);
    mls_buf_clear(&after);
    mls_secret_tree_clear(&t);
}

/* A large group: only the path to the leaf used is derived. */
static void test_large_tree(void)
{
    const mls_suite *s = mls_suite_get(MLS_SUITE_P384_AES256GCM_SHA384_P384);
    uint8_t enc[MLS_MAX_HASH], key[MLS_MAX_AEAD_KEY], nonce[MLS_MAX_AEAD_NONCE];
    uint8_t key2[MLS_MAX_AEAD_KEY], nonce2[MLS_MAX_AEAD_NONCE];
    mls_secret_tree t, u;

    memset(enc, 9, sizeof(enc));
    CHECK_OK(mls_secret_tree_init(&t, s, secret_of(enc, s), 1u << 16, NULL));
    CHECK_OK(mls_secret_tree_init(&u, s, secret_of(enc, s), 1u << 16, NULL));
    CHECK_OK(mls_secret_tree_get(&t, 40000, MLS_RATCHET_APPLICATION, 3, key, nonce));
    CHECK(mls_secret_tree_held_nodes(&t) == 16);
    CHECK_OK(mls_secret_tree_get(&t, 40001, MLS_RATCHET_APPLICATION, 0, key, nonce));
    CHECK(mls_secret_tree_held_nodes(&t) == 15);
    CHECK_OK(mls_secret_tree_get(&t, 65535, MLS_RATCHET_HANDSHAKE, 0, key, nonce));
    /* Same result whatever the order in which leaves are reached. */
    CHECK_OK(mls_secret_tree_get(&u, 65535, MLS_RATCHET_HANDSHAKE, 0, key2, nonce2));
    CHECK(test_same(key, key2, s->nk) && test_same(nonce, nonce2, s->nn));
    CHECK_OK(mls_secret_tree_get(&t, 40000, MLS_RATCHET_APPLICATION, 2, key, nonce));
    CHECK_OK(mls_secret_tree_get(&u, 40000, MLS_RATCHET_APPLICATION, 2, key2, nonce2));
    CHECK(test_same(key, key2, s->nk) && test_same(nonce, nonce2, s->nn));
    mls_secret_tree_clear(&t);
    mls_secret_tree_clear(&u);
}

static void test_bad_arguments(void)
{
    const mls_suite *s = suite1();
    uint8_t enc[MLS_MAX_HASH], key[MLS_MAX_AEAD_KEY], nonce[MLS_MAX_AEAD_NONCE];
    mls_secret_tree t, zero;
    mls_secret_tree_config big = {1000, MLS_SECRET_TREE_MAX_RETAINED_LIMIT + 1};
    uint32_t g = 77;

    memset(enc, 3, sizeof(enc));
    memset(&zero, 0, sizeof(zero));
    CHECK_ERR(mls_secret_tree_init(&t, s, secret_of(enc, s), 0, NULL), MLS_ERR_ARG);
    CHECK_ERR(mls_secret_tree_init(&t, s, secret_of(enc, s), 6, NULL), MLS_ERR_ARG);
    CHECK_ERR(mls_secret_tree_init(&t, s, mls_bytes_of(enc, 31), 4, NULL), MLS_ERR_ARG);
    CHECK_ERR(mls_secret_tree_init(&t, NULL, secret_of(enc, s), 4, NULL), MLS_ERR_ARG);
    CHECK_ERR(mls_secret_tree_init(&t, s, secret_of(enc, s), 4, &big), MLS_ERR_ARG);
    CHECK_ERR(mls_secret_tree_get(&zero, 0, MLS_RATCHET_HANDSHAKE, 0, key, nonce), MLS_ERR_ARG);
    mls_secret_tree_clear(&zero);
    mls_secret_tree_clear(NULL);

    CHECK_OK(mls_secret_tree_init(&t, s, secret_of(enc, s), 4, NULL));
    CHECK_ERR(mls_secret_tree_get(&t, 4, MLS_RATCHET_HANDSHAKE, 0, key, nonce),
              MLS_ERR_NOT_FOUND);
    CHECK_ERR(mls_secret_tree_get(&t, 0xffffffffu, MLS_RATCHET_HANDSHAKE, 0, key, nonce),
              MLS_ERR_NOT_FOUND);
    CHECK_ERR(mls_secret_tree_next(&t, 4, MLS_RATCHET_APPLICATION, &g, key, nonce),
              MLS_ERR_NOT_FOUND);
    CHECK_ERR(mls_secret_tree_get(&t, 0, (enum mls_ratchet_type)2, 0, key, nonce), MLS_ERR_ARG);
    CHECK_ERR(mls_secret_tree_next(&t, 0, (enum mls_ratchet_type)-1, &g, key, nonce),
              MLS_ERR_ARG);
    CHECK(g == 77);
    /* Refused requests did not touch the tree. */
    CHECK(mls_secret_tree_held_nodes(&t) == 1);
    mls_secret_tree_clear(&t);
}

/* Every suite: key and nonce have the AEAD's sizes and differ by leaf. */
static void test_all_suites(void)
{
    for (uint16_t id = 1; id <= 7; id++) {
        const mls_suite *s = mls_suite_get(id);
        uint8_t enc[MLS_MAX_HASH], k0[MLS_MAX_AEAD_KEY], n0[MLS_MAX_AEAD_NONCE];
        uint8_t k1[MLS_MAX_AEAD_KEY], n1[MLS_MAX_AEAD_NONCE];
        uint8_t node[MLS_MAX_HASH], hs[MLS_MAX_HASH], want[MLS_MAX_AEAD_KEY];
        mls_secret_tree t;
        memset(enc, id, sizeof(enc));
        CHECK_OK(mls_secret_tree_init(&t, s, secret_of(enc, s), 2, NULL));
        CHECK_OK(mls_secret_tree_get(&t, 0, MLS_RATCHET_HANDSHAKE, 0, k0, n0));
        CHECK_OK(mls_secret_tree_get(&t, 1, MLS_RATCHET_HANDSHAKE, 0, k1, n1));
        CHECK(!test_same(k0, k1, s->nk) && !test_same(n0, n1, s->nn));
        /* By hand for leaf 1: right child, handshake ratchet, key of gen 0. */
        CHECK_OK(mls_expand_with_label(s, secret_of(enc, s), "tree",
                                       mls_bytes_of((const uint8_t *)"right", 5), node, s->nh));
        CHECK_OK(mls_expand_with_label(s, secret_of(node, s), "handshake", mls_bytes_of(NULL, 0),
                                       hs, s->nh));
        CHECK_OK(mls_derive_tree_secret(s, secret_of(hs, s), "key", 0, want, s->nk));
        CHECK(test_same(want, k1, s->nk));
        mls_secret_tree_clear(&t);
    }
}

int main(void)
{
    test_known_answer();
    test_send_receive_out_of_order();
    test_window();
    test_deletion_schedule();
    test_peek_changes_nothing();
    test_large_tree();
    test_bad_arguments();
    test_all_suites();
    TEST_MAIN_END("test_secret_tree");
}
