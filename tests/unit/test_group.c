/* Group engine (include/mls/group.h): create, add, join, remove, update,
 * messages both ways, staged commits, wrong epochs, tampering,
 * serialization. */
#include "mls/group.h"
#include "test.h"

#include <string.h>

static const mls_env *env;

typedef struct member {
    mls_identity *id;
    mls_group *g;
    mls_buf kp, bundle;
} member;

static void member_init(member *m, uint16_t suite, const char *name)
{
    memset(m, 0, sizeof(*m));
    CHECK_OK(mls_identity_generate(env, suite, mls_bytes_of((const uint8_t *)name, strlen(name)),
                                   &m->id));
    CHECK_OK(mls_key_package_create(env, m->id, NULL, &m->kp, &m->bundle));
}

static void member_clear(member *m)
{
    mls_group_free(m->g);
    mls_identity_free(m->id);
    mls_buf_clear(&m->kp);
    mls_buf_clear(&m->bundle);
}

static int same_epoch(const mls_group *a, const mls_group *b)
{
    mls_bytes x = mls_group_epoch_authenticator(a), y = mls_group_epoch_authenticator(b);
    return mls_group_epoch(a) == mls_group_epoch(b) && x.n == y.n && memcmp(x.p, y.p, x.n) == 0;
}

/* from sends text, to receives it. */
static void message(member *from, member *to, const char *text)
{
    mls_buf ct;
    mls_process_result r;

    mls_buf_init(&ct);
    memset(&r, 0, sizeof(r));
    CHECK_OK(mls_group_protect(from->g, mls_bytes_of((const uint8_t *)"ad", 2),
                               mls_bytes_of((const uint8_t *)text, strlen(text)), &ct));
    CHECK_OK(mls_group_process(to->g, mls_buf_view(&ct), &r));
    CHECK(r.kind == MLS_RESULT_APPLICATION);
    CHECK(r.sender_leaf == mls_group_own_leaf(from->g));
    CHECK(r.application_data.n == strlen(text) &&
          memcmp(r.application_data.p, text, r.application_data.n) == 0);
    CHECK(r.authenticated_data.n == 2);
    /* A replay is refused. */
    mls_process_result_clear(&r);
    CHECK(mls_group_process(to->g, mls_buf_view(&ct), &r) != 0);
    mls_buf_clear(&ct);
}

static void serialize_roundtrip(const mls_group *g)
{
    mls_buf a, b;
    mls_group *h = NULL;

    mls_buf_init(&a);
    mls_buf_init(&b);
    CHECK_OK(mls_group_serialize(g, &a));
    CHECK_OK(mls_group_deserialize(env, mls_buf_view(&a), &h));
    if (h) {
        CHECK_OK(mls_group_serialize(h, &b));
        CHECK(a.n == b.n && memcmp(a.p, b.p, a.n) == 0);
        CHECK(same_epoch(g, h));
    }
    /* Truncated state is refused. */
    if (a.n > 10) {
        mls_group *bad = NULL;
        CHECK(mls_group_deserialize(env, mls_bytes_of(a.p, a.n - 1), &bad) != 0);
        CHECK(bad == NULL);
    }
    mls_group_free(h);
    mls_buf_clear(&a);
    mls_buf_clear(&b);
}

static void run_suite(uint16_t suite, int private_handshake)
{
    member A, B, C;
    mls_group_config cfg;
    mls_staged_commit *sc = NULL;
    mls_process_result r;
    mls_bytes kps[2];
    size_t used = 99;
    mls_buf before, after, tmp;

    memset(&r, 0, sizeof(r));
    mls_buf_init(&before);
    mls_buf_init(&after);
    mls_buf_init(&tmp);
    member_init(&A, suite, "alice");
    member_init(&B, suite, "bob");
    member_init(&C, suite, "carol");
    mls_group_config_default(&cfg);
    cfg.handshake_private = private_handshake;

    CHECK_OK(mls_key_package_validate(env, mls_buf_view(&B.kp), suite, NULL));
    CHECK_OK(mls_group_create(env, A.id, mls_bytes_of((const uint8_t *)"group", 5), NULL, 0, &cfg,
                              &A.g));
    CHECK(mls_group_epoch(A.g) == 0);
    CHECK(mls_group_member_count(A.g) == 1);

    /* A adds B and C in one commit. */
    kps[0] = mls_buf_view(&B.kp);
    kps[1] = mls_buf_view(&C.kp);
    CHECK_OK(mls_group_serialize(A.g, &before));
    CHECK_OK(mls_group_add_members(A.g, kps, 2, &sc));
    if (!sc)
        goto out;
    /* Staging changes nothing but the sender's ratchet position. */
    CHECK(mls_group_epoch(A.g) == 0);
    CHECK(mls_staged_commit_welcome_count(sc) == 2);
    CHECK(mls_staged_commit_epoch(sc) == 1);
    CHECK_OK(mls_group_merge_staged(A.g, sc));
    CHECK(mls_group_merge_staged(A.g, sc) == MLS_ERR_STATE);
    CHECK(mls_group_epoch(A.g) == 1);
    CHECK(mls_group_member_count(A.g) == 3);
    {
        mls_bytes bb = mls_buf_view(&B.bundle);
        mls_bytes cb = mls_buf_view(&C.bundle);
        mls_bytes both[2] = {cb, bb};
        CHECK_OK(mls_group_join(env, B.id, mls_staged_commit_welcome(sc), &bb, 1, NULL, &used,
                                &B.g));
        CHECK(used == 0);
        CHECK_OK(mls_group_join(env, C.id, mls_staged_commit_welcome(sc), both, 2, NULL, &used,
                                &C.g));
        CHECK(used == 0);
    }
    mls_staged_commit_free(sc);
    sc = NULL;
    if (!B.g || !C.g)
        goto out;
    CHECK(same_epoch(A.g, B.g));
    CHECK(same_epoch(A.g, C.g));
    {
        mls_member mb;
        CHECK_OK(mls_group_member(A.g, 1, &mb));
        CHECK(mb.identity.n == 3 && memcmp(mb.identity.p, "bob", 3) == 0);
        uint32_t leaf = 0;
        CHECK_OK(mls_group_find_member(C.g, mls_bytes_of((const uint8_t *)"carol", 5), &leaf));
        CHECK(leaf == mls_group_own_leaf(C.g));
    }

    message(&A, &B, "hello bob");
    message(&B, &A, "hello alice");
    message(&C, &B, "hi from carol");

    /* B updates (empty commit with path); A and C process. */
    CHECK_OK(mls_group_self_update(B.g, &sc));
    CHECK_OK(mls_group_process(A.g, mls_staged_commit_message(sc), &r));
    CHECK(r.kind == MLS_RESULT_COMMIT && r.n_updated == 1);
    mls_process_result_clear(&r);
    /* B's own commit echoed back is refused; B merges instead. */
    CHECK(mls_group_process(B.g, mls_staged_commit_message(sc), &r) == MLS_ERR_STATE);
    CHECK_OK(mls_group_process(C.g, mls_staged_commit_message(sc), &r));
    mls_process_result_clear(&r);
    CHECK_OK(mls_group_merge_staged(B.g, sc));
    mls_staged_commit_free(sc);
    sc = NULL;
    CHECK(same_epoch(A.g, B.g) && same_epoch(A.g, C.g));

    /* A discarded commit leaves A's state as it was. */
    mls_buf_reset(&before);
    CHECK_OK(mls_group_serialize(A.g, &before));
    CHECK_OK(mls_group_self_update(A.g, &sc));
    mls_staged_commit_free(sc);
    sc = NULL;
    CHECK(mls_group_epoch(A.g) == 2);

    /* A commit for the wrong epoch is refused, the group unchanged. */
    CHECK_OK(mls_group_self_update(C.g, &sc));
    CHECK_OK(mls_group_process(A.g, mls_staged_commit_message(sc), &r));
    mls_process_result_clear(&r);
    mls_buf_reset(&before);
    CHECK_OK(mls_group_serialize(A.g, &before));
    CHECK(mls_group_process(A.g, mls_staged_commit_message(sc), &r) == MLS_ERR_WRONG_EPOCH);
    CHECK_OK(mls_group_serialize(A.g, &after));
    CHECK(before.n == after.n && memcmp(before.p, after.p, before.n) == 0);
    CHECK_OK(mls_group_process(B.g, mls_staged_commit_message(sc), &r));
    mls_process_result_clear(&r);
    CHECK_OK(mls_group_merge_staged(C.g, sc));
    mls_staged_commit_free(sc);
    sc = NULL;
    CHECK(same_epoch(A.g, B.g) && same_epoch(A.g, C.g));

    /* Tampered commit: every byte flip is refused and changes nothing. */
    CHECK_OK(mls_group_self_update(A.g, &sc));
    {
        mls_bytes msg = mls_staged_commit_message(sc);
        /* A PrivateMessage makes the receiver derive (not consume) the
         * sender's ratchet secrets; do that first so that the state
         * comparison below sees only real changes. */
        CHECK_OK(mls_buf_set(&tmp, msg.p, msg.n));
        tmp.p[tmp.n - 1] ^= 0x01;
        CHECK(mls_group_process(B.g, mls_buf_view(&tmp), &r) != 0);
        mls_buf_reset(&before);
        CHECK_OK(mls_group_serialize(B.g, &before));
        for (size_t i = 0; i < msg.n; i += 1 + msg.n / 97) {
            CHECK_OK(mls_buf_set(&tmp, msg.p, msg.n));
            tmp.p[i] ^= 0x01;
            CHECK(mls_group_process(B.g, mls_buf_view(&tmp), &r) != 0);
        }
        mls_buf_reset(&after);
        CHECK_OK(mls_group_serialize(B.g, &after));
        CHECK(before.n == after.n && memcmp(before.p, after.p, before.n) == 0);
        CHECK(mls_group_process(B.g, mls_bytes_of(msg.p, msg.n - 1), &r) != 0);
        CHECK_OK(mls_group_process(B.g, msg, &r));
        mls_process_result_clear(&r);
        CHECK_OK(mls_group_process(C.g, msg, &r));
        mls_process_result_clear(&r);
    }
    CHECK_OK(mls_group_merge_staged(A.g, sc));
    mls_staged_commit_free(sc);
    sc = NULL;
    CHECK(same_epoch(A.g, B.g) && same_epoch(A.g, C.g));
    message(&B, &C, "after update");

    /* Tampered application message. */
    CHECK_OK(mls_group_protect(A.g, mls_bytes_of(NULL, 0), mls_bytes_of((const uint8_t *)"x", 1),
                               &tmp));
    tmp.p[tmp.n - 1] ^= 0x80;
    CHECK(mls_group_process(B.g, mls_buf_view(&tmp), &r) != 0);
    tmp.p[tmp.n - 1] ^= 0x80;
    CHECK_OK(mls_group_process(B.g, mls_buf_view(&tmp), &r));
    mls_process_result_clear(&r);

    serialize_roundtrip(A.g);
    serialize_roundtrip(B.g);

    /* A removes B; C follows; B learns it was removed. */
    {
        uint32_t bl = mls_group_own_leaf(B.g);
        CHECK_OK(mls_group_remove_members(A.g, &bl, 1, &sc));
        CHECK_OK(mls_group_process(C.g, mls_staged_commit_message(sc), &r));
        CHECK(r.n_removed == 1 && r.removed[0].leaf == bl);
        mls_process_result_clear(&r);
        CHECK_OK(mls_group_process(B.g, mls_staged_commit_message(sc), &r));
        CHECK(r.self_removed == 1);
        mls_process_result_clear(&r);
        CHECK(!mls_group_is_active(B.g));
        CHECK_OK(mls_group_merge_staged(A.g, sc));
        mls_staged_commit_free(sc);
        sc = NULL;
        CHECK(same_epoch(A.g, C.g));
        CHECK(mls_group_member_count(A.g) == 2);
    }
    message(&C, &A, "bob is gone");

    /* Exporter agrees. */
    {
        mls_buf x, y;
        mls_buf_init(&x);
        mls_buf_init(&y);
        CHECK_OK(mls_group_export_secret(A.g, "test", mls_bytes_of((const uint8_t *)"c", 1), 42,
                                         &x));
        CHECK_OK(mls_group_export_secret(C.g, "test", mls_bytes_of((const uint8_t *)"c", 1), 42,
                                         &y));
        CHECK(x.n == 42 && y.n == 42 && memcmp(x.p, y.p, 42) == 0);
        mls_buf_clear(&x);
        mls_buf_clear(&y);
    }
out:
    mls_staged_commit_free(sc);
    mls_process_result_clear(&r);
    mls_buf_clear(&before);
    mls_buf_clear(&after);
    mls_buf_clear(&tmp);
    member_clear(&A);
    member_clear(&B);
    member_clear(&C);
}

/* Offset of the last occurrence of needle in hay, or -1. */
static long last_index(const mls_buf *hay, const uint8_t *needle, size_t n)
{
    for (size_t i = hay->n >= n ? hay->n - n + 1 : 0; i-- > 0;)
        if (memcmp(hay->p + i, needle, n) == 0)
            return (long)i;
    return -1;
}

/*
 * A past epoch's secret tree may be larger than the current one (removing
 * the rightmost member truncates the tree, RFC 9420 §12.1.3): such a state
 * round-trips, but a past tree claiming more leaves than the group ever had
 * is refused before the reader allocates for them (a 1.7 KB state claiming
 * 2^31 leaves took seconds; tests/fuzz/regressions/fuzz_group_state).
 */
static void test_past_secret_tree_bound(void)
{
    member A, B, C;
    mls_staged_commit *sc = NULL;
    mls_bytes kps[2];
    mls_buf st;
    uint8_t pat[12];
    long off;
    uint32_t cl;

    member_init(&A, 1, "alice");
    member_init(&B, 1, "bob");
    member_init(&C, 1, "carol");
    mls_buf_init(&st);
    CHECK_OK(mls_group_create(env, A.id, mls_bytes_of((const uint8_t *)"g", 1), NULL, 0, NULL,
                              &A.g));
    kps[0] = mls_buf_view(&B.kp);
    kps[1] = mls_buf_view(&C.kp);
    CHECK_OK(mls_group_add_members(A.g, kps, 2, &sc));
    CHECK_OK(mls_group_merge_staged(A.g, sc));
    mls_staged_commit_free(sc);
    sc = NULL;
    /* Leaves 0, 1, 2 in a 4-leaf tree; removing leaf 2 leaves 2 leaves. */
    cl = 2;
    CHECK_OK(mls_group_remove_members(A.g, &cl, 1, &sc));
    CHECK_OK(mls_group_merge_staged(A.g, sc));
    mls_staged_commit_free(sc);
    CHECK(mls_group_member_count(A.g) == 2);
    serialize_roundtrip(A.g);

    /* The past epoch's secret tree starts with u32 n_leaves = 4 and the
     * config's max_forward and max_retained (state offsets 17..24). */
    CHECK_OK(mls_group_serialize(A.g, &st));
    CHECK(st.n > 25);
    memcpy(pat, "\0\0\0\4", 4);
    memcpy(pat + 4, st.p + 17, 8);
    off = last_index(&st, pat, sizeof(pat));
    CHECK(off > 25);
    if (off > 25) {
        static const uint8_t counts[][4] = {{0, 0, 0, 8}, {0, 0x10, 0, 0}, {0x80, 0, 0, 0}};
        for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
            mls_group *h = NULL;
            memcpy(st.p + off, counts[i], 4);
            CHECK_ERR(mls_group_deserialize(env, mls_buf_view(&st), &h), MLS_ERR_MALFORMED);
            CHECK(h == NULL);
        }
    }
    mls_buf_clear(&st);
    member_clear(&A);
    member_clear(&B);
    member_clear(&C);
}

/*
 * mls_group_forget_past_epochs: a late message of a forgotten epoch is
 * refused, one of a kept epoch still read; the serialized state shrinks
 * and no longer holds the forgotten epoch's record; the lowered window
 * holds across later commits and a serialization round trip.
 */
static void test_forget_past_epochs(void)
{
    member A, B;
    mls_staged_commit *sc = NULL;
    mls_process_result r;
    mls_group_config cfg;
    mls_buf late[3], st2, st1, st0;
    mls_group *h = NULL;
    int i;

    member_init(&A, 1, "alice");
    member_init(&B, 1, "bob");
    mls_buf_init(&st2);
    mls_buf_init(&st1);
    mls_buf_init(&st0);
    memset(&r, 0, sizeof(r));
    CHECK_OK(mls_group_create(env, A.id, mls_bytes_of((const uint8_t *)"g", 1), NULL, 0, NULL,
                              &A.g));
    {
        mls_bytes kp = mls_buf_view(&B.kp), bb = mls_buf_view(&B.bundle);
        size_t used;
        CHECK_OK(mls_group_add_members(A.g, &kp, 1, &sc));
        CHECK_OK(mls_group_merge_staged(A.g, sc));
        CHECK_OK(mls_group_join(env, B.id, mls_staged_commit_welcome(sc), &bb, 1, NULL, &used,
                                &B.g));
        mls_staged_commit_free(sc);
        sc = NULL;
    }
    if (!B.g)
        goto out;
    /* B sends a message in each of epochs 1, 2, 3 that A reads only after
     * the commits that end them (A at epoch 4, two past epochs kept). */
    for (i = 0; i < 3; i++) {
        mls_buf_init(&late[i]);
        CHECK_OK(mls_group_protect(B.g, mls_bytes_of(NULL, 0),
                                   mls_bytes_of((const uint8_t *)"late", 4), &late[i]));
        CHECK_OK(mls_group_self_update(A.g, &sc));
        CHECK_OK(mls_group_process(B.g, mls_staged_commit_message(sc), &r));
        mls_process_result_clear(&r);
        CHECK_OK(mls_group_merge_staged(A.g, sc));
        mls_staged_commit_free(sc);
        sc = NULL;
    }
    CHECK(mls_group_epoch(A.g) == 4);
    CHECK_OK(mls_group_serialize(A.g, &st2));
    CHECK_ERR(mls_group_forget_past_epochs(NULL, 1), MLS_ERR_ARG);
    CHECK_OK(mls_group_forget_past_epochs(A.g, 1));
    mls_group_get_config(A.g, &cfg);
    CHECK(cfg.max_past_epochs == 1);
    CHECK_OK(mls_group_serialize(A.g, &st1));
    CHECK(st1.n < st2.n);
    /* Epoch 2 is forgotten, epoch 3 is kept (epoch 1 went with the
     * default window of two). */
    CHECK(mls_group_process(A.g, mls_buf_view(&late[0]), &r) != 0);
    CHECK(mls_group_process(A.g, mls_buf_view(&late[1]), &r) != 0);
    mls_process_result_clear(&r);
    CHECK_OK(mls_group_process(A.g, mls_buf_view(&late[2]), &r));
    CHECK(r.kind == MLS_RESULT_APPLICATION);
    mls_process_result_clear(&r);
    /* The window stays at one across a commit and a round trip. */
    CHECK_OK(mls_group_self_update(A.g, &sc));
    CHECK_OK(mls_group_merge_staged(A.g, sc));
    mls_staged_commit_free(sc);
    sc = NULL;
    mls_buf_reset(&st1);
    CHECK_OK(mls_group_serialize(A.g, &st1));
    CHECK_OK(mls_group_deserialize(env, mls_buf_view(&st1), &h));
    if (h) {
        mls_group_get_config(h, &cfg);
        CHECK(cfg.max_past_epochs == 1);
    }
    /* keep 0: nothing of past epochs is left; a larger keep never raises
     * the window again. */
    CHECK_OK(mls_group_forget_past_epochs(A.g, 0));
    CHECK_OK(mls_group_forget_past_epochs(A.g, 5));
    mls_group_get_config(A.g, &cfg);
    CHECK(cfg.max_past_epochs == 0);
    CHECK_OK(mls_group_serialize(A.g, &st0));
    CHECK(st0.n < st1.n);
    serialize_roundtrip(A.g);
    for (i = 0; i < 3; i++)
        mls_buf_clear(&late[i]);
out:
    mls_group_free(h);
    mls_buf_clear(&st2);
    mls_buf_clear(&st1);
    mls_buf_clear(&st0);
    member_clear(&A);
    member_clear(&B);
}

int main(void)
{
    env = mls_env_default();
    test_forget_past_epochs();
    test_past_secret_tree_bound();
    for (uint16_t s = 1; s <= 7; s++) {
        run_suite(s, 0);
        run_suite(s, 1);
    }
    TEST_MAIN_END("test_group");
}
