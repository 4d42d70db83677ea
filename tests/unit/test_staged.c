/* Staged commits (RFC 9420 §12.4.2; include/mls/group.h): a received
 * commit is verified and staged without changing the group, inspected on
 * the tree before it, then merged or discarded; next_state is the merged
 * serialization; per-commit wire format and ratchet-tree choices; pending
 * proposals listed by reference. */
#include "mls/group.h"
#include "test.h"

#include "group_state.h"

#include <string.h>

#define SUITE MLS_SUITE_X25519_AES128GCM_SHA256_ED25519
#define EXT_NAME 0xF001u

static const mls_env *env;

typedef struct member {
    mls_identity *id;
    mls_buf kp, bundle;
    mls_group *g;
} member;

static mls_bytes str(const char *s)
{
    return mls_bytes_of((const uint8_t *)s, strlen(s));
}

static int eq(mls_bytes a, const char *s)
{
    return a.n == strlen(s) && memcmp(a.p, s, a.n) == 0;
}

static int same(mls_bytes a, mls_bytes b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static void member_init(member *m, const char *name)
{
    static const uint16_t types[] = {EXT_NAME};

    memset(m, 0, sizeof(*m));
    CHECK_OK(mls_identity_generate(env, SUITE, str(name), &m->id));
    CHECK_OK(mls_identity_support_extensions(m->id, types, 1));
    CHECK_OK(mls_key_package_create(env, m->id, NULL, &m->kp, &m->bundle));
}

static void member_clear(member *m)
{
    mls_group_free(m->g);
    mls_identity_free(m->id);
    mls_buf_clear(&m->kp);
    mls_buf_clear(&m->bundle);
    memset(m, 0, sizeof(*m));
}

static void ser(const mls_group *g, mls_buf *out)
{
    mls_buf_reset(out);
    CHECK_OK(mls_group_serialize(g, out));
}

static int psk_lookup(void *ctx, mls_bytes id, mls_buf *psk)
{
    (void)ctx;
    if (!eq(id, "psk-1"))
        return MLS_ERR_NOT_FOUND;
    return mls_buf_set(psk, "0123456789abcdef0123456789abcdef", 32);
}

static void set_psks(mls_group *g)
{
    mls_psk_store st;
    memset(&st, 0, sizeof(st));
    st.external = psk_lookup;
    mls_group_set_psk_store(g, &st);
}

/*
 * Stages msg in g and checks the contract: g byte-identical afterwards,
 * next_state; returns the staged commit and fills *res.  The caller
 * merges or frees.
 */
static mls_staged_commit *stage(mls_group *g, mls_bytes msg, mls_process_result *res)
{
    mls_staged_commit *sc = NULL;
    mls_buf before, after;

    mls_buf_init(&before);
    mls_buf_init(&after);
    ser(g, &before);
    memset(res, 0, sizeof(*res));
    CHECK_OK(mls_group_process_staged(g, msg, res, &sc));
    CHECK(sc != NULL);
    CHECK(res->kind == MLS_RESULT_COMMIT);
    ser(g, &after);
    CHECK(same(mls_buf_view(&before), mls_buf_view(&after)));
    mls_buf_clear(&before);
    mls_buf_clear(&after);
    return sc;
}

/* Merges sc into g and checks that the result is next_state. */
static void merge(mls_group *g, mls_staged_commit *sc)
{
    mls_buf next, got;

    mls_buf_init(&next);
    mls_buf_init(&got);
    CHECK_OK(mls_staged_commit_next_state(sc, &next));
    CHECK_OK(mls_group_merge_staged(g, sc));
    ser(g, &got);
    CHECK(next.n > 0 && same(mls_buf_view(&next), mls_buf_view(&got)));
    mls_staged_commit_free(sc);
    mls_buf_clear(&next);
    mls_buf_clear(&got);
}

/* An own commit: next_state, merge. */
static void merge_own(mls_group *g, mls_staged_commit *sc)
{
    merge(g, sc);
}

/* Processes a proposal (expects success). */
static void process_proposal(mls_group *g, mls_bytes msg)
{
    mls_process_result r;
    memset(&r, 0, sizeof(r));
    CHECK_OK(mls_group_process(g, msg, &r));
    CHECK(r.kind == MLS_RESULT_PROPOSAL);
    mls_process_result_clear(&r);
}

/* Processes a commit in one step (expects success). */
static void process(mls_group *g, mls_bytes msg)
{
    mls_process_result r;
    memset(&r, 0, sizeof(r));
    CHECK_OK(mls_group_process(g, msg, &r));
    CHECK(r.kind == MLS_RESULT_COMMIT);
    mls_process_result_clear(&r);
}

static void join(member *m, mls_bytes welcome, mls_bytes tree)
{
    mls_join_options jo;
    mls_bytes b = mls_buf_view(&m->bundle);

    memset(&jo, 0, sizeof(jo));
    jo.ratchet_tree = tree;
    mls_group_free(m->g);
    m->g = NULL;
    CHECK_OK(mls_group_join(env, m->id, welcome, &b, 1, &jo, NULL, &m->g));
}

/* A fresh KeyPackage for m (the old one was used). */
static void renew_kp(member *m)
{
    mls_buf_reset(&m->kp);
    mls_buf_reset(&m->bundle);
    CHECK_OK(mls_key_package_create(env, m->id, NULL, &m->kp, &m->bundle));
}

int main(void)
{
    member A, B, C, D;
    mls_staged_commit *sc = NULL, *sc2 = NULL;
    mls_process_result r, r2;
    mls_commit_summary sum;
    mls_proposal_info pi;
    mls_commit_options o;
    mls_bytes kps[2], psk_id = str("psk-1");
    mls_buf msg, s1, s2;
    mls_group *copy = NULL;
    mls_ext name = {EXT_NAME, str("#general")};
    uint32_t leaf_b, leaf_c;

    env = mls_env_default();
    member_init(&A, "alice");
    member_init(&B, "bob");
    member_init(&C, "carol");
    member_init(&D, "dave");
    mls_buf_init(&msg);
    mls_buf_init(&s1);
    mls_buf_init(&s2);

    /* A creates the group and adds B and C; own staged commit inspected. */
    CHECK_OK(mls_group_create(env, A.id, str("staged"), NULL, 0, NULL, &A.g));
    kps[0] = mls_buf_view(&B.kp);
    kps[1] = mls_buf_view(&C.kp);
    CHECK_OK(mls_group_add_members(A.g, kps, 2, &sc));
    CHECK_OK(mls_staged_commit_summary(sc, &sum));
    CHECK(sum.own && sum.epoch == 0 && sum.new_epoch == 1 && sum.n_adds == 2);
    CHECK(eq(sum.committer.identity, "alice"));
    CHECK_OK(mls_staged_commit_proposal(sc, 1, &pi));
    CHECK(pi.type == 1 && pi.has_after && eq(pi.after.identity, "carol") && pi.after.leaf == 2 &&
          !pi.by_reference);
    CHECK_ERR(mls_staged_commit_proposal(sc, 2, &pi), MLS_ERR_NOT_FOUND);
    join(&B, mls_staged_commit_welcome(sc), mls_bytes_of(NULL, 0));
    join(&C, mls_staged_commit_welcome(sc), mls_bytes_of(NULL, 0));
    merge_own(A.g, sc);
    set_psks(A.g);
    set_psks(B.g);
    set_psks(C.g);
    CHECK_OK(mls_group_find_member(A.g, str("bob"), &leaf_b));
    CHECK_OK(mls_group_find_member(A.g, str("carol"), &leaf_c));

    /* 1. B adds D.  A stages it: byte-identical, inspected, next_state;
     * discarded and processed again; a second stage of the same message
     * cannot be merged after the first (MLS_ERR_STATE). */
    kps[0] = mls_buf_view(&D.kp);
    CHECK_OK(mls_group_add_members(B.g, kps, 1, &sc));
    mls_buf_reset(&msg);
    CHECK_OK(mls_buf_set(&msg, mls_staged_commit_message(sc).p, mls_staged_commit_message(sc).n));
    join(&D, mls_staged_commit_welcome(sc), mls_bytes_of(NULL, 0));
    merge_own(B.g, sc);
    set_psks(D.g);
    ser(A.g, &s1);
    CHECK_OK(mls_group_deserialize(env, mls_buf_view(&s1), &copy));
    sc = stage(A.g, mls_buf_view(&msg), &r);
    CHECK(r.sender_type == 1 && r.sender_leaf == leaf_b && r.n_added == 1 &&
          eq(mls_buf_view(&r.added[0].identity), "dave") && r.new_epoch == 2 && !r.has_path);
    CHECK(eq(mls_buf_view(&r.committer.identity), "bob"));
    CHECK_OK(mls_staged_commit_summary(sc, &sum));
    CHECK(!sum.own && sum.sender_type == 1 && sum.sender_leaf == leaf_b &&
          eq(sum.committer.identity, "bob") && sum.n_proposals == 1 && sum.n_adds == 1 &&
          !sum.self_removed && !sum.extensions_changed);
    CHECK_OK(mls_staged_commit_proposal(sc, 0, &pi));
    CHECK(pi.type == 1 && pi.sender_type == 1 && pi.sender_index == leaf_b &&
          eq(pi.after.identity, "dave") && pi.after.leaf == 3);
    mls_process_result_clear(&r);
    mls_staged_commit_free(sc); /* discard */
    sc = stage(A.g, mls_buf_view(&msg), &r);
    mls_process_result_clear(&r);
    sc2 = stage(A.g, mls_buf_view(&msg), &r);
    mls_process_result_clear(&r);
    merge(A.g, sc);
    CHECK_ERR(mls_staged_commit_next_state(sc2, &s2), MLS_ERR_STATE);
    CHECK_ERR(mls_group_merge_staged(A.g, sc2), MLS_ERR_STATE);
    mls_staged_commit_free(sc2);
    /* The one-step process gives the same state as stage + merge. */
    process(copy, mls_buf_view(&msg));
    ser(A.g, &s1);
    ser(copy, &s2);
    CHECK(same(mls_buf_view(&s1), mls_buf_view(&s2)));
    mls_group_free(copy);
    copy = NULL;
    process(C.g, mls_buf_view(&msg));

    /* 2. Pending proposals by reference: C proposes an Update, A and B
     * list it; A commits it by reference with its own path.  B stages:
     * the Update with old and new leaf, the committer's path leaf. */
    mls_buf_reset(&msg);
    CHECK_OK(mls_group_propose_self_update(C.g, &msg));
    memset(&r, 0, sizeof(r));
    CHECK_OK(mls_group_process_staged(A.g, mls_buf_view(&msg), &r, &sc));
    CHECK(r.kind == MLS_RESULT_PROPOSAL && sc == NULL);
    mls_process_result_clear(&r);
    process_proposal(B.g, mls_buf_view(&msg));
    process_proposal(D.g, mls_buf_view(&msg));
    CHECK(mls_group_pending_proposals(A.g) == 1);
    CHECK_OK(mls_group_pending_proposal(A.g, 0, &pi));
    CHECK(pi.type == 2 && pi.sender_type == 1 && pi.sender_index == leaf_c && pi.ref.n > 0 &&
          pi.has_before && pi.has_after && eq(pi.before.identity, "carol") &&
          !same(pi.before.encryption_key, pi.after.encryption_key));
    CHECK_ERR(mls_group_pending_proposal(A.g, 1, &pi), MLS_ERR_NOT_FOUND);
    {
        mls_proposal_info pb;
        CHECK_OK(mls_group_pending_proposal(B.g, 0, &pb));
        CHECK_OK(mls_group_pending_proposal(A.g, 0, &pi));
        CHECK(same(pb.ref, pi.ref));
    }
    memset(&o, 0, sizeof(o));
    o.include_pending_proposals = 1;
    o.force_path = 1;
    CHECK_OK(mls_group_commit(A.g, &o, &sc));
    mls_buf_reset(&msg);
    CHECK_OK(mls_buf_set(&msg, mls_staged_commit_message(sc).p, mls_staged_commit_message(sc).n));
    merge_own(A.g, sc);
    sc = stage(B.g, mls_buf_view(&msg), &r);
    CHECK(r.n_updated == 2 && r.updated[0].leaf == leaf_c &&
          eq(mls_buf_view(&r.updated[0].old_identity), "carol") && r.updated[1].leaf == 0 &&
          eq(mls_buf_view(&r.updated[1].old_identity), "alice") && r.has_path);
    mls_process_result_clear(&r);
    CHECK_OK(mls_staged_commit_summary(sc, &sum));
    CHECK(sum.n_updates == 1 && sum.has_path && eq(sum.path_leaf.identity, "alice") &&
          !same(sum.committer.encryption_key, sum.path_leaf.encryption_key));
    CHECK_OK(mls_staged_commit_proposal(sc, 0, &pi));
    CHECK(pi.type == 2 && pi.by_reference && pi.ref.n > 0 && pi.sender_index == leaf_c &&
          eq(pi.before.identity, "carol") && eq(pi.after.identity, "carol"));
    merge(B.g, sc);
    CHECK(mls_group_pending_proposals(B.g) == 0);
    process(C.g, mls_buf_view(&msg));
    process(D.g, mls_buf_view(&msg));

    /* 3. The committer judged before the commit: B's path changes her
     * credential identity from "bob" to "bobby" (same key). */
    {
        mls_identity *nid = NULL;
        CHECK_OK(mls_identity_from_private_key(SUITE, mls_identity_signature_private_key(B.id),
                                               str("bobby"), &nid));
        CHECK_OK(mls_identity_support_extensions(nid, (const uint16_t[]){EXT_NAME}, 1));
        mls_identity_free(B.g->id);
        B.g->id = nid;
    }
    CHECK_OK(mls_group_self_update(B.g, &sc));
    mls_buf_reset(&msg);
    CHECK_OK(mls_buf_set(&msg, mls_staged_commit_message(sc).p, mls_staged_commit_message(sc).n));
    merge_own(B.g, sc);
    sc = stage(A.g, mls_buf_view(&msg), &r);
    CHECK_OK(mls_staged_commit_summary(sc, &sum));
    CHECK(eq(sum.committer.identity, "bob") && sum.has_path &&
          eq(sum.path_leaf.identity, "bobby") && same(sum.committer.signature_key,
                                                      sum.path_leaf.signature_key));
    CHECK(r.n_updated == 1 && eq(mls_buf_view(&r.updated[0].old_identity), "bob") &&
          eq(mls_buf_view(&r.updated[0].identity), "bobby") &&
          eq(mls_buf_view(&r.committer.identity), "bob"));
    mls_process_result_clear(&r);
    merge(A.g, sc);
    process(C.g, mls_buf_view(&msg));
    process(D.g, mls_buf_view(&msg));

    /* 4. GroupContext extensions: old and new lists. */
    CHECK_OK(mls_group_set_extensions(A.g, &name, 1, &sc));
    mls_buf_reset(&msg);
    CHECK_OK(mls_buf_set(&msg, mls_staged_commit_message(sc).p, mls_staged_commit_message(sc).n));
    merge_own(A.g, sc);
    sc = stage(B.g, mls_buf_view(&msg), &r);
    CHECK(r.extensions_changed);
    mls_process_result_clear(&r);
    CHECK_OK(mls_staged_commit_summary(sc, &sum));
    CHECK(sum.extensions_changed && sum.n_old_extensions == 0 && sum.n_new_extensions == 1 &&
          sum.new_extensions[0].type == EXT_NAME && eq(sum.new_extensions[0].data, "#general"));
    CHECK_OK(mls_staged_commit_proposal(sc, 0, &pi));
    CHECK(pi.type == 7 && pi.n_extensions == 1 && eq(pi.extensions[0].data, "#general"));
    merge(B.g, sc);
    process(C.g, mls_buf_view(&msg));
    process(D.g, mls_buf_view(&msg));

    /* 5. A PSK, and the per-commit wire format: a PrivateMessage commit
     * in a PublicMessage group, staged (decrypted on a copy of the
     * secret tree: discard and stage again works). */
    memset(&o, 0, sizeof(o));
    o.external_psks = &psk_id;
    o.n_external_psks = 1;
    o.handshake = MLS_HANDSHAKE_PRIVATE;
    CHECK_OK(mls_group_commit(A.g, &o, &sc));
    mls_buf_reset(&msg);
    CHECK_OK(mls_buf_set(&msg, mls_staged_commit_message(sc).p, mls_staged_commit_message(sc).n));
    CHECK(msg.n > 4 && msg.p[2] == 0 && msg.p[3] == 2); /* mls_private_message */
    merge_own(A.g, sc);
    sc = stage(B.g, mls_buf_view(&msg), &r);
    mls_process_result_clear(&r);
    mls_staged_commit_free(sc);
    sc = stage(B.g, mls_buf_view(&msg), &r);
    CHECK(r.n_psks == 1);
    mls_process_result_clear(&r);
    CHECK_OK(mls_staged_commit_summary(sc, &sum));
    CHECK(sum.n_psks == 1);
    CHECK_OK(mls_staged_commit_proposal(sc, 0, &pi));
    CHECK(pi.type == 4 && pi.psk_type == 1 && eq(pi.psk_id, "psk-1") && pi.psk_nonce.n == 32);
    merge(B.g, sc);
    process(C.g, mls_buf_view(&msg));
    process(D.g, mls_buf_view(&msg));
    /* ... and a PublicMessage commit in a PrivateMessage group; bad
     * choices are argument errors. */
    {
        mls_group_config cfg;
        mls_group_get_config(A.g, &cfg);
        cfg.handshake_private = 1;
        CHECK_OK(mls_group_set_config(A.g, &cfg));
        memset(&o, 0, sizeof(o));
        o.handshake = 3;
        CHECK_ERR(mls_group_commit(A.g, &o, &sc), MLS_ERR_ARG);
        o.handshake = 0;
        o.ratchet_tree_in_welcome = 3;
        CHECK_ERR(mls_group_commit(A.g, &o, &sc), MLS_ERR_ARG);
        o.ratchet_tree_in_welcome = 0;
        o.handshake = MLS_HANDSHAKE_PUBLIC;
        o.force_path = 1;
        CHECK_OK(mls_group_commit(A.g, &o, &sc));
        CHECK(mls_staged_commit_message(sc).p[3] == 1); /* mls_public_message */
        mls_staged_commit_free(sc);
        cfg.handshake_private = 0;
        CHECK_OK(mls_group_set_config(A.g, &cfg));
    }

    /* 6. The ratchet tree per commit: out of band although the group puts
     * it in Welcomes.  C removes D and re-adds her with a new KeyPackage:
     * B stages the Remove (member before removal), D stages being
     * removed. */
    renew_kp(&D);
    {
        uint32_t leaf_d;
        CHECK_OK(mls_group_find_member(C.g, str("dave"), &leaf_d));
        memset(&o, 0, sizeof(o));
        o.remove = &leaf_d;
        o.n_remove = 1;
        CHECK_OK(mls_group_commit(C.g, &o, &sc));
        mls_buf_reset(&msg);
        CHECK_OK(mls_buf_set(&msg, mls_staged_commit_message(sc).p,
                             mls_staged_commit_message(sc).n));
        merge_own(C.g, sc);
        sc = stage(B.g, mls_buf_view(&msg), &r);
        CHECK(r.n_removed == 1 && r.removed[0].leaf == leaf_d &&
              eq(mls_buf_view(&r.removed[0].identity), "dave"));
        mls_process_result_clear(&r);
        CHECK_OK(mls_staged_commit_proposal(sc, 0, &pi));
        CHECK(pi.type == 3 && pi.has_before && eq(pi.before.identity, "dave") &&
              pi.before.leaf == leaf_d);
        merge(B.g, sc);
        process(A.g, mls_buf_view(&msg));
        sc = stage(D.g, mls_buf_view(&msg), &r);
        CHECK(r.self_removed);
        mls_process_result_clear(&r);
        CHECK_OK(mls_staged_commit_summary(sc, &sum));
        CHECK(sum.self_removed);
        merge(D.g, sc);
        CHECK(!mls_group_is_active(D.g));
    }
    kps[0] = mls_buf_view(&D.kp);
    memset(&o, 0, sizeof(o));
    o.add = kps;
    o.n_add = 1;
    o.ratchet_tree_in_welcome = MLS_TREE_OUT_OF_BAND;
    CHECK_OK(mls_group_commit(A.g, &o, &sc));
    {
        mls_bytes bu = mls_buf_view(&D.bundle);
        mls_group *dg = NULL;
        CHECK_ERR(mls_group_join(env, D.id, mls_staged_commit_welcome(sc), &bu, 1, NULL, NULL,
                                 &dg),
                  MLS_ERR_NOT_FOUND);
        mls_group_free(dg);
    }
    join(&D, mls_staged_commit_welcome(sc), mls_staged_commit_ratchet_tree(sc));
    mls_buf_reset(&msg);
    CHECK_OK(mls_buf_set(&msg, mls_staged_commit_message(sc).p, mls_staged_commit_message(sc).n));
    merge_own(A.g, sc);
    process(B.g, mls_buf_view(&msg));
    process(C.g, mls_buf_view(&msg));
    /* ... and in the Welcome although the group says out of band. */
    {
        mls_group_config cfg;
        mls_group_get_config(A.g, &cfg);
        cfg.ratchet_tree_in_welcome = 0;
        CHECK_OK(mls_group_set_config(A.g, &cfg));
        member E;
        member_init(&E, "erin");
        kps[0] = mls_buf_view(&E.kp);
        memset(&o, 0, sizeof(o));
        o.add = kps;
        o.n_add = 1;
        o.ratchet_tree_in_welcome = MLS_TREE_IN_WELCOME;
        CHECK_OK(mls_group_commit(A.g, &o, &sc));
        join(&E, mls_staged_commit_welcome(sc), mls_bytes_of(NULL, 0));
        CHECK(E.g != NULL);
        mls_staged_commit_free(sc);
        member_clear(&E);
        cfg.ratchet_tree_in_welcome = 1;
        CHECK_OK(mls_group_set_config(A.g, &cfg));
    }

    /* 7. External commit: B lost her state and rejoins, removing her old
     * leaf.  A stages: new_member_commit, ExternalInit, the joiner's new
     * leaf, the Remove of the old one with its credential. */
    {
        mls_external_join_options xo;
        mls_group *nb = NULL;
        mls_buf gi, commit;
        mls_bytes bkey = mls_identity_signature_key(B.id);
        mls_buf_init(&gi);
        mls_buf_init(&commit);
        CHECK_OK(mls_group_find_member(A.g, str("bobby"), &leaf_b));
        CHECK_OK(mls_group_group_info(A.g, 1, &gi));
        memset(&xo, 0, sizeof(xo));
        xo.remove_old_leaf = 1;
        xo.old_leaf = leaf_b;
        CHECK_OK(mls_group_external_join(env, B.g->id, mls_buf_view(&gi), &xo, &commit, &nb));
        sc = stage(A.g, mls_buf_view(&commit), &r);
        CHECK(r.sender_type == 4 && r.external_init && r.n_removed == 1 &&
              r.removed[0].leaf == leaf_b && r.n_added == 1 &&
              eq(mls_buf_view(&r.added[0].identity), "bobby"));
        mls_process_result_clear(&r);
        CHECK_OK(mls_staged_commit_summary(sc, &sum));
        CHECK(sum.sender_type == 4 && sum.external_init && eq(sum.committer.identity, "bobby") &&
              same(sum.committer.signature_key, bkey) && sum.n_removes == 1);
        CHECK_OK(mls_staged_commit_proposal(sc, 0, &pi));
        CHECK(pi.type == 6 && pi.kem_output.n > 0 && pi.sender_type == 4);
        CHECK_OK(mls_staged_commit_proposal(sc, 1, &pi));
        CHECK(pi.type == 3 && eq(pi.before.identity, "bobby") && pi.before.leaf == leaf_b);
        merge(A.g, sc);
        process(C.g, mls_buf_view(&commit));
        process(D.g, mls_buf_view(&commit));
        CHECK(mls_group_epoch(A.g) == mls_group_epoch(nb));
        mls_group_free(B.g);
        B.g = nb;
        mls_buf_clear(&gi);
        mls_buf_clear(&commit);
    }

    /* 8. ReInit: the parameters are visible before merging. */
    {
        mls_reinit_params rp;
        memset(&rp, 0, sizeof(rp));
        rp.group_id = str("staged-v2");
        rp.suite = MLS_SUITE_X25519_CHACHA20POLY1305_SHA256_ED25519;
        rp.extensions = &name;
        rp.n_extensions = 1;
        memset(&o, 0, sizeof(o));
        o.reinit = &rp;
        CHECK_OK(mls_group_commit(B.g, &o, &sc));
        mls_buf_reset(&msg);
        CHECK_OK(mls_buf_set(&msg, mls_staged_commit_message(sc).p,
                             mls_staged_commit_message(sc).n));
        merge_own(B.g, sc);
        sc = stage(A.g, mls_buf_view(&msg), &r);
        CHECK(r.reinit);
        mls_process_result_clear(&r);
        CHECK_OK(mls_staged_commit_summary(sc, &sum));
        CHECK(sum.reinit && sum.n_proposals == 1);
        CHECK_OK(mls_staged_commit_proposal(sc, 0, &pi));
        CHECK(pi.type == 5 && eq(pi.reinit_group_id, "staged-v2") &&
              pi.reinit_suite == MLS_SUITE_X25519_CHACHA20POLY1305_SHA256_ED25519 &&
              pi.n_extensions == 1 && eq(pi.extensions[0].data, "#general"));
        CHECK(!mls_group_is_reinit_pending(A.g));
        merge(A.g, sc);
        CHECK(mls_group_is_reinit_pending(A.g));
    }

    /* Arguments. */
    memset(&r2, 0, sizeof(r2));
    CHECK_ERR(mls_group_process_staged(A.g, mls_buf_view(&msg), &r2, NULL), MLS_ERR_ARG);
    CHECK_ERR(mls_group_merge_staged(A.g, NULL), MLS_ERR_ARG);
    CHECK_ERR(mls_staged_commit_summary(NULL, &sum), MLS_ERR_ARG);

    mls_buf_clear(&msg);
    mls_buf_clear(&s1);
    mls_buf_clear(&s2);
    member_clear(&A);
    member_clear(&B);
    member_clear(&C);
    member_clear(&D);
    TEST_MAIN_END("test_staged");
}
