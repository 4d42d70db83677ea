/* Reinitialization (RFC 9420 §11.2, §12.1.5, §8.6): a ReInit commit to
 * another cipher suite and group_id, the successor group created with the
 * reinit resumption PSK, members joining it from the Welcome, and joins
 * refused when the Welcome does not match the ReInit. */
#include "mls/group.h"
#include "test.h"

#include "commit.h"

#include <string.h>

#define OLD_SUITE MLS_SUITE_X25519_AES128GCM_SHA256_ED25519
#define NEW_SUITE MLS_SUITE_X25519_CHACHA20POLY1305_SHA256_ED25519
#define EXT_NAME 0xF001u

static const mls_env *env;

typedef struct member {
    mls_identity *id1, *id3;     /* old suite, new suite */
    mls_buf kp1, bundle1, kp3, bundle3;
    mls_group *old, *g;
} member;

static mls_bytes str(const char *s)
{
    return mls_bytes_of((const uint8_t *)s, strlen(s));
}

static void member_init(member *m, const char *name)
{
    static const uint16_t types[] = {EXT_NAME};

    memset(m, 0, sizeof(*m));
    CHECK_OK(mls_identity_generate(env, OLD_SUITE, str(name), &m->id1));
    CHECK_OK(mls_identity_generate(env, NEW_SUITE, str(name), &m->id3));
    CHECK_OK(mls_identity_support_extensions(m->id1, types, 1));
    CHECK_OK(mls_identity_support_extensions(m->id3, types, 1));
    CHECK_OK(mls_key_package_create(env, m->id1, NULL, &m->kp1, &m->bundle1));
    CHECK_OK(mls_key_package_create(env, m->id3, NULL, &m->kp3, &m->bundle3));
}

static void member_clear(member *m)
{
    mls_group_free(m->old);
    mls_group_free(m->g);
    mls_identity_free(m->id1);
    mls_identity_free(m->id3);
    mls_buf_clear(&m->kp1);
    mls_buf_clear(&m->bundle1);
    mls_buf_clear(&m->kp3);
    mls_buf_clear(&m->bundle3);
}

static int same_epoch(const mls_group *a, const mls_group *b)
{
    mls_bytes x = mls_group_epoch_authenticator(a), y = mls_group_epoch_authenticator(b);
    return mls_group_epoch(a) == mls_group_epoch(b) && x.n == y.n && memcmp(x.p, y.p, x.n) == 0;
}

static void message(mls_group *from, mls_group *to, const char *text)
{
    mls_buf ct;
    mls_process_result r;

    mls_buf_init(&ct);
    memset(&r, 0, sizeof(r));
    CHECK_OK(mls_group_protect(from, mls_bytes_of(NULL, 0), str(text), &ct));
    CHECK_OK(mls_group_process(to, mls_buf_view(&ct), &r));
    CHECK(r.kind == MLS_RESULT_APPLICATION);
    CHECK(r.sender_leaf == mls_group_own_leaf(from));
    CHECK(r.application_data.n == strlen(text) &&
          memcmp(r.application_data.p, text, r.application_data.n) == 0);
    mls_process_result_clear(&r);
    mls_buf_clear(&ct);
}

/* Processes a commit (expects success) and returns whether it was a
 * ReInit. */
static int process_commit(mls_group *g, mls_bytes msg)
{
    mls_process_result r;
    int reinit;

    memset(&r, 0, sizeof(r));
    CHECK_OK(mls_group_process(g, msg, &r));
    CHECK(r.kind == MLS_RESULT_COMMIT);
    reinit = r.reinit;
    mls_process_result_clear(&r);
    return reinit;
}

/* A PSK store answering from an old group's resumption PSKs. */
struct old_ref {
    const mls_group *g;
};

static int old_psk(void *ctx, mls_bytes group_id, uint64_t epoch, mls_buf *psk)
{
    const struct old_ref *r = ctx;
    return mls_group_own_resumption_psk(r->g, group_id, epoch, psk);
}

/*
 * A forged successor: a group `group_id` with extensions `ext` created by
 * `by` (new suite) whose first commit adds `kp` and carries, unless
 * psk_epoch is UINT64_MAX, a reinit PSK for (old's group_id, psk_epoch).
 * welcome gets the Welcome.
 */
static void forged_welcome(const member *by, const mls_group *old, const char *group_id,
                           const mls_ext *ext, size_t n_ext, mls_bytes kp, uint64_t psk_epoch,
                           mls_buf *welcome)
{
    mls_group *g = NULL;
    mls_staged_commit *sc = NULL;
    mls_commit_options o;
    mls_psk_id pid;
    mls_psk_store st;
    struct old_ref ref;
    uint8_t nonce[32];

    memset(&pid, 0, sizeof(pid));
    memset(&o, 0, sizeof(o));
    o.add = &kp;
    o.n_add = 1;
    CHECK_OK(mls_group_create(env, by->id3, str(group_id), ext, n_ext, NULL, &g));
    if (!g)
        return;
    if (psk_epoch == UINT64_MAX) {
        CHECK_OK(mls_group_commit(g, &o, &sc));
    } else {
        memset(&st, 0, sizeof(st));
        ref.g = old;
        st.resumption = old_psk;
        st.ctx = &ref;
        memset(nonce, 0x5a, sizeof(nonce));
        pid.type = MLS_PSK_RESUMPTION;
        pid.usage = MLS_PSK_USAGE_REINIT;
        pid.psk_epoch = psk_epoch;
        CHECK_OK(mls_buf_copy(&pid.psk_group_id, &old->cur.ctx.group_id));
        CHECK_OK(mls_buf_set(&pid.psk_nonce, nonce, sizeof(nonce)));
        /* A reinit PSK is refused in an ordinary commit (§12.1.4). */
        CHECK_ERR(mls_group_commit_psk(g, &o, &pid, &st, &sc), MLS_ERR_INVALID);
        g->reinit_commit = 1;
        CHECK_OK(mls_group_commit_psk(g, &o, &pid, &st, &sc));
        g->reinit_commit = 0;
    }
    if (sc)
        CHECK_OK(mls_buf_set(welcome, mls_staged_commit_welcome(sc).p,
                             mls_staged_commit_welcome(sc).n));
    mls_psk_id_clear(&pid);
    mls_staged_commit_free(sc);
    mls_group_free(g);
}

/* Welcomes that do not match the ReInit are refused when A gives its old
 * group (RFC 9420 §11.2). */
static void forged_successors(member *A, member *C, const mls_ext *ext, const mls_ext *other_ext)
{
    mls_bytes ab = mls_buf_view(&A->bundle3);
    mls_bytes kp = mls_buf_view(&A->kp3);
    uint64_t ep = mls_group_epoch(A->old);
    mls_join_options jo;
    mls_group *x = NULL;
    mls_buf w;

    mls_buf_init(&w);
    memset(&jo, 0, sizeof(jo));
    jo.groups = (const mls_group *const[]){A->old};
    jo.n_groups = 1;

    /* A correct forgery (same parameters, reinit PSK) is accepted: the
     * helper itself is sound. */
    forged_welcome(C, C->old, "new-group", ext, 1, kp, ep, &w);
    CHECK_OK(mls_group_join(env, A->id3, mls_buf_view(&w), &ab, 1, &jo, NULL, &x));
    mls_group_free(x);
    x = NULL;

    /* §11.2: another group_id than the ReInit's. */
    forged_welcome(C, C->old, "wrong-group", ext, 1, kp, ep, &w);
    CHECK_ERR(mls_group_join(env, A->id3, mls_buf_view(&w), &ab, 1, &jo, NULL, &x),
              MLS_ERR_INVALID);
    /* ... whereas a joiner without the old group cannot tell (the PSK
     * comes from its store). */
    {
        mls_join_options po;
        struct old_ref ref = {A->old};
        memset(&po, 0, sizeof(po));
        po.psks.resumption = old_psk;
        po.psks.ctx = &ref;
        CHECK_OK(mls_group_join(env, A->id3, mls_buf_view(&w), &ab, 1, &po, NULL, &x));
        mls_group_free(x);
        x = NULL;
    }
    /* Other extensions, no extensions. */
    forged_welcome(C, C->old, "new-group", other_ext, 1, kp, ep, &w);
    CHECK_ERR(mls_group_join(env, A->id3, mls_buf_view(&w), &ab, 1, &jo, NULL, &x),
              MLS_ERR_INVALID);
    forged_welcome(C, C->old, "new-group", NULL, 0, kp, ep, &w);
    CHECK_ERR(mls_group_join(env, A->id3, mls_buf_view(&w), &ab, 1, &jo, NULL, &x),
              MLS_ERR_INVALID);
    /* The PSK of an earlier epoch than the one the ReInit started. */
    forged_welcome(C, C->old, "new-group", ext, 1, kp, ep - 1, &w);
    CHECK_ERR(mls_group_join(env, A->id3, mls_buf_view(&w), &ab, 1, &jo, NULL, &x),
              MLS_ERR_INVALID);
    /* The successor's group_id without the reinit PSK. */
    forged_welcome(C, C->old, "new-group", ext, 1, kp, UINT64_MAX, &w);
    CHECK_ERR(mls_group_join(env, A->id3, mls_buf_view(&w), &ab, 1, &jo, NULL, &x),
              MLS_ERR_INVALID);
    /* ... an ordinary Welcome otherwise. */
    CHECK_OK(mls_group_join(env, A->id3, mls_buf_view(&w), &ab, 1, NULL, NULL, &x));
    mls_group_free(x);
    mls_buf_clear(&w);
}

int main(void)
{
    member A, B, C;
    mls_staged_commit *sc = NULL;
    mls_bytes kps[2];
    mls_commit_options o;
    mls_reinit_params rp;
    mls_group_config cfg;
    mls_ext name_old = {EXT_NAME, str("#general")};
    mls_ext name_new = {EXT_NAME, str("#general-v2")};
    mls_bytes gid;
    uint16_t ver = 0, suite = 0;

    env = mls_env_default();
    member_init(&A, "alice");
    member_init(&B, "bob");
    member_init(&C, "carol");
    mls_group_config_default(&cfg);
    cfg.handshake_private = 1;

    /* The old group: A creates it and adds B and C. */
    CHECK_OK(mls_group_create(env, A.id1, str("old-group"), &name_old, 1, &cfg, &A.old));
    kps[0] = mls_buf_view(&B.kp1);
    kps[1] = mls_buf_view(&C.kp1);
    CHECK_OK(mls_group_add_members(A.old, kps, 2, &sc));
    CHECK_OK(mls_group_merge_staged(A.old, sc));
    {
        mls_bytes bb = mls_buf_view(&B.bundle1), cb = mls_buf_view(&C.bundle1);
        CHECK_OK(mls_group_join(env, B.id1, mls_staged_commit_welcome(sc), &bb, 1, NULL, NULL,
                                &B.old));
        CHECK_OK(mls_group_join(env, C.id1, mls_staged_commit_welcome(sc), &cb, 1, NULL, NULL,
                                &C.old));
    }
    mls_staged_commit_free(sc);
    sc = NULL;
    if (!A.old || !B.old || !C.old)
        goto out;
    message(A.old, B.old, "before the reinit");

    /* No successor without a committed ReInit. */
    {
        mls_group *ng = NULL;
        CHECK_ERR(mls_group_reinit_create(env, A.old, A.id3, NULL, 0, NULL, &ng, &sc),
                  MLS_ERR_STATE);
        CHECK_ERR(mls_group_reinit_target(A.old, &gid, &ver, &suite), MLS_ERR_NOT_FOUND);
    }

    /* B commits a ReInit to suite 0x0003, group "new-group" (RFC 9420
     * §12.1.5).  A ReInit must be alone; the suite must be known. */
    memset(&rp, 0, sizeof(rp));
    rp.group_id = str("new-group");
    rp.suite = NEW_SUITE;
    rp.extensions = &name_new;
    rp.n_extensions = 1;
    memset(&o, 0, sizeof(o));
    o.reinit = &rp;
    o.remove = (const uint32_t[]){2};
    o.n_remove = 1;
    CHECK_ERR(mls_group_commit(B.old, &o, &sc), MLS_ERR_INVALID);
    o.remove = NULL;
    o.n_remove = 0;
    rp.suite = 0x7777;
    CHECK_ERR(mls_group_commit(B.old, &o, &sc), MLS_ERR_UNSUPPORTED);
    rp.suite = NEW_SUITE;
    CHECK_OK(mls_group_commit(B.old, &o, &sc));
    if (!sc)
        goto out;
    CHECK(process_commit(A.old, mls_staged_commit_message(sc)) == 1);
    CHECK(process_commit(C.old, mls_staged_commit_message(sc)) == 1);
    CHECK_OK(mls_group_merge_staged(B.old, sc));
    mls_staged_commit_free(sc);
    sc = NULL;
    CHECK(mls_group_is_reinit_pending(A.old) && mls_group_is_reinit_pending(B.old) &&
          mls_group_is_reinit_pending(C.old));
    CHECK(same_epoch(A.old, B.old) && same_epoch(A.old, C.old));
    CHECK_OK(mls_group_reinit_target(C.old, &gid, &ver, &suite));
    CHECK(gid.n == 9 && memcmp(gid.p, "new-group", 9) == 0 && ver == 1 && suite == NEW_SUITE);
    /* The old group no longer sends. */
    {
        mls_buf ct;
        mls_buf_init(&ct);
        CHECK_ERR(mls_group_protect(A.old, mls_bytes_of(NULL, 0), str("x"), &ct), MLS_ERR_STATE);
        CHECK_ERR(mls_group_self_update(A.old, &sc), MLS_ERR_STATE);
    }

    /* C (not the ReInit's committer) creates the successor (§11.2 step 3):
     * an identity of another suite is refused. */
    kps[0] = mls_buf_view(&A.kp3);
    kps[1] = mls_buf_view(&B.kp3);
    CHECK_ERR(mls_group_reinit_create(env, C.old, C.id1, kps, 2, NULL, &C.g, &sc), MLS_ERR_ARG);
    CHECK_OK(mls_group_reinit_create(env, C.old, C.id3, kps, 2, &cfg, &C.g, &sc));
    if (!C.g || !sc)
        goto out;
    CHECK(mls_group_suite(C.g) == NEW_SUITE && mls_group_epoch(C.g) == 0);
    CHECK_OK(mls_group_merge_staged(C.g, sc));
    CHECK(mls_group_epoch(C.g) == 1 && mls_group_member_count(C.g) == 3);
    {
        mls_bytes e;
        CHECK_OK(mls_group_extension(C.g, EXT_NAME, &e));
        CHECK(e.n == 11 && memcmp(e.p, "#general-v2", 11) == 0);
        gid = mls_group_id(C.g);
        CHECK(gid.n == 9 && memcmp(gid.p, "new-group", 9) == 0);
    }

    forged_successors(&A, &C, &name_new, &name_old);

    /* Joining: the reinit PSK comes from the old group. */
    {
        mls_bytes welcome = mls_staged_commit_welcome(sc);
        mls_bytes ab = mls_buf_view(&A.bundle3), bb = mls_buf_view(&B.bundle3);
        mls_join_options jo;
        mls_group *x = NULL;

        /* Without the old group the PSK is not available. */
        CHECK_ERR(mls_group_join(env, A.id3, welcome, &ab, 1, NULL, NULL, &x), MLS_ERR_NOT_FOUND);
        memset(&jo, 0, sizeof(jo));
        jo.groups = (const mls_group *const[]){A.old};
        jo.n_groups = 1;
        CHECK_OK(mls_group_join(env, A.id3, welcome, &ab, 1, &jo, NULL, &A.g));
        jo.groups = (const mls_group *const[]){NULL, B.old};
        jo.n_groups = 2;
        CHECK_OK(mls_group_join(env, B.id3, welcome, &bb, 1, &jo, NULL, &B.g));
    }
    mls_staged_commit_free(sc);
    sc = NULL;
    if (!A.g || !B.g)
        goto out;
    CHECK(same_epoch(A.g, B.g) && same_epoch(A.g, C.g));
    CHECK(mls_group_suite(A.g) == NEW_SUITE && mls_group_suite(B.g) == NEW_SUITE);
    message(A.g, B.g, "hello from the new group");
    message(B.g, C.g, "hi");
    message(C.g, A.g, "hey");
    /* The successor goes on like any group. */
    CHECK_OK(mls_group_self_update(B.g, &sc));
    if (sc) {
        CHECK(process_commit(A.g, mls_staged_commit_message(sc)) == 0);
        CHECK(process_commit(C.g, mls_staged_commit_message(sc)) == 0);
        CHECK_OK(mls_group_merge_staged(B.g, sc));
        mls_staged_commit_free(sc);
        sc = NULL;
    }
    CHECK(same_epoch(A.g, B.g) && same_epoch(A.g, C.g) && mls_group_epoch(A.g) == 2);
    message(C.g, B.g, "after an update");

    /* A restored old group keeps the ReInit and its parameters, and
     * serializes to the same bytes. */
    {
        mls_buf st, st2;
        mls_group *h = NULL;
        mls_bytes gid_a, gid_h;
        uint16_t ver_a = 0, ver_h = 0, suite_a = 0, suite_h = 0;
        mls_buf_init(&st);
        mls_buf_init(&st2);
        CHECK_OK(mls_group_serialize(A.old, &st));
        CHECK_OK(mls_group_deserialize(env, mls_buf_view(&st), &h));
        if (h) {
            CHECK(mls_group_is_reinit_pending(h));
            CHECK_OK(mls_group_reinit_target(A.old, &gid_a, &ver_a, &suite_a));
            CHECK_OK(mls_group_reinit_target(h, &gid_h, &ver_h, &suite_h));
            CHECK(gid_a.n == gid_h.n && memcmp(gid_a.p, gid_h.p, gid_a.n) == 0);
            CHECK(ver_a == ver_h && suite_a == suite_h && suite_h == 0x0003);
            CHECK_OK(mls_group_serialize(h, &st2));
            CHECK(st.n == st2.n && memcmp(st.p, st2.p, st.n) == 0);
        }
        mls_group_free(h);
        mls_buf_clear(&st);
        mls_buf_clear(&st2);
    }
    /* The old group keeps its last epoch's resumption PSK. */
    {
        mls_buf psk;
        mls_buf_init(&psk);
        CHECK_OK(mls_group_own_resumption_psk(A.old, mls_group_id(A.old),
                                              mls_group_epoch(A.old), &psk));
        CHECK(psk.n == 32);
        mls_buf_clear(&psk);
    }
out:
    mls_staged_commit_free(sc);
    member_clear(&A);
    member_clear(&B);
    member_clear(&C);
    TEST_MAIN_END("test_reinit");
}
