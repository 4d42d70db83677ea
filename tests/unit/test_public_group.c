/*
 * The public group view (include/mls/public_group.h, lib/public_group*.c):
 * real groups built with the mls_group API (rules_fixture.h: alice, bob,
 * carol, dave at leaves 0-3, handshakes as PublicMessage) and a view that
 * follows every commit.  After each commit the view must be in the same
 * epoch with the same GroupContext (so the same tree hash and confirmed
 * transcript hash) as the members; refused messages leave the view's
 * serialization byte-identical.
 */
#include "rules_fixture.h"

#include "mls/public_group.h"

#define BEGIN()                                                                \
    do {                                                                       \
        if (fixture_setup() != 0) {                                            \
            test_failures++;                                                   \
            fprintf(stderr, "%s: fixture failed\n", __func__);                 \
            fixture_teardown();                                                \
            return;                                                            \
        }                                                                      \
    } while (0)

/* Builds c's commit from member `from` into msg. */
static void commit_of(int from, craft *c, mls_buf *msg)
{
    CHECK_OK(craft_commit(&M[from], c, msg));
}

/* The view has the member's epoch and GroupContext. */
static int same_as(const mls_public_group *pg, const mls_group *g)
{
    mls_bytes a = mls_public_group_context(pg), b = mls_buf_view(&g->cur.ctx_enc);
    mls_bytes th = mls_public_group_tree_hash(pg);
    return mls_public_group_epoch(pg) == mls_group_epoch(g) && a.n == b.n &&
           memcmp(a.p, b.p, a.n) == 0 && th.n == g->cur.ctx.tree_hash.n &&
           memcmp(th.p, g->cur.ctx.tree_hash.p, th.n) == 0 &&
           mls_public_group_leaf_count(pg) == mls_group_leaf_count(g) &&
           mls_public_group_member_count(pg) == mls_group_member_count(g);
}

static void pg_state(const mls_public_group *pg, mls_buf *out)
{
    mls_buf_reset(out);
    CHECK_OK(mls_public_group_serialize(pg, out));
}

/* pg must refuse msg with its state byte-identical; returns the error. */
static int pg_rejects_(mls_public_group *pg, mls_bytes msg, int line)
{
    mls_buf a, b;
    mls_public_staged *st = NULL;
    int err;

    mls_buf_init(&a);
    mls_buf_init(&b);
    pg_state(pg, &a);
    err = mls_public_group_process(pg, msg, &st);
    pg_state(pg, &b);
    test_checks++;
    if (err == 0 || st || a.n != b.n || memcmp(a.p, b.p, a.n) != 0) {
        test_failures++;
        fprintf(stderr, "line %d: view accepted or changed (%s)\n", line, mls_errname(err));
    }
    mls_public_staged_free(st);
    mls_buf_clear(&a);
    mls_buf_clear(&b);
    return err;
}
#define PG_REJECTS(pg, msg, want) CHECK_ERR(pg_rejects_((pg), (msg), __LINE__), (want))

/* pg stages msg; its state does not change until the merge. */
static mls_public_staged *pg_stage(mls_public_group *pg, mls_bytes msg)
{
    mls_buf a, b;
    mls_public_staged *st = NULL;

    mls_buf_init(&a);
    mls_buf_init(&b);
    pg_state(pg, &a);
    CHECK_OK(mls_public_group_process(pg, msg, &st));
    pg_state(pg, &b);
    CHECK(a.n == b.n && memcmp(a.p, b.p, a.n) == 0);
    mls_buf_clear(&a);
    mls_buf_clear(&b);
    return st;
}

/* A commit made by member `from` with o through the API: the view
 * stages it (returned, not merged), the others process it, `from` merges.
 * gi (may be NULL) gets the commit's GroupInfo. */
static mls_public_staged *commit_seen(mls_public_group *pg, int from, const mls_commit_options *o,
                                      mls_buf *gi)
{
    mls_staged_commit *sc = NULL;
    mls_public_staged *st = NULL;

    CHECK_OK(mls_group_commit(M[from].g, o, &sc));
    if (!sc)
        return NULL;
    st = pg_stage(pg, mls_staged_commit_message(sc));
    if (st) {
        CHECK_OK(mls_public_staged_check_group_info(st, mls_staged_commit_group_info(sc)));
        CHECK(mls_public_staged_epoch(st) == mls_group_epoch(M[from].g) + 1);
    }
    if (gi)
        CHECK_OK(mls_buf_set(gi, mls_staged_commit_group_info(sc).p,
                             mls_staged_commit_group_info(sc).n));
    CHECK_OK(all_process(mls_staged_commit_message(sc), from));
    CHECK_OK(mls_group_merge_staged(M[from].g, sc));
    mls_staged_commit_free(sc);
    return st;
}

/* Merges st into pg and checks pg against every active member. */
static void merge_and_compare(mls_public_group *pg, mls_public_staged *st)
{
    CHECK_OK(mls_public_group_merge(pg, st));
    mls_public_staged_free(st);
    for (int i = 0; i < 4; i++)
        if (M[i].g && mls_group_is_active(M[i].g))
            CHECK(same_as(pg, M[i].g));
}

static int view_eq(mls_bytes a, const char *s)
{
    return a.n == strlen(s) && memcmp(a.p, s, a.n) == 0;
}

static int psk_external_cb(void *ctx, mls_bytes id, mls_buf *psk)
{
    (void)ctx;
    if (!view_eq(id, "psk"))
        return MLS_ERR_NOT_FOUND;
    return mls_buf_set(psk, "0123456789abcdef0123456789abcdef", 32);
}

/* ---------------------------------------------------------------- creating */

static void test_from_group_info(void)
{
    mls_public_group *pg = NULL, *pg2 = NULL;
    mls_buf gi, gi_notree, tree, bad;

    BEGIN();
    mls_buf_init(&gi);
    mls_buf_init(&gi_notree);
    mls_buf_init(&tree);
    mls_buf_init(&bad);
    CHECK_OK(mls_group_group_info(M[2].g, 1, &gi));
    CHECK_OK(mls_group_group_info(M[2].g, 0, &gi_notree));
    CHECK_OK(mls_group_ratchet_tree(M[2].g, &tree));
    CHECK_OK(mls_public_group_from_group_info(env, mls_buf_view(&gi), mls_bytes_of(NULL, 0), &pg));
    if (pg) {
        mls_member m;
        mls_bytes gid = mls_public_group_id(pg);
        CHECK(same_as(pg, M[0].g));
        CHECK(view_eq(gid, "rules-group"));
        CHECK(mls_public_group_suite(pg) == SUITE);
        CHECK_OK(mls_public_group_member(pg, 1, &m));
        CHECK(view_eq(m.identity, "bob"));
        CHECK_ERR(mls_public_group_member(pg, 4, &m), MLS_ERR_NOT_FOUND);
        /* Any member may have signed a GroupInfo of an epoch whose
         * committer the view does not know. */
        CHECK_OK(mls_public_group_check_group_info(pg, mls_buf_view(&gi)));
    }
    CHECK_OK(mls_public_group_from_group_info(env, mls_buf_view(&gi_notree), mls_buf_view(&tree),
                                              &pg2));
    CHECK(pg2 && same_as(pg2, M[0].g));
    CHECK_ERR(mls_public_group_from_group_info(env, mls_buf_view(&gi_notree),
                                               mls_bytes_of(NULL, 0), &pg2),
              MLS_ERR_NOT_FOUND);
    /* A flipped bit in the GroupInfo's signature (its last bytes). */
    CHECK_OK(mls_buf_copy(&bad, &gi));
    bad.p[bad.n - 3] ^= 1;
    CHECK_ERR(mls_public_group_from_group_info(env, mls_buf_view(&bad), mls_bytes_of(NULL, 0),
                                               &pg2),
              MLS_ERR_SIGNATURE);
    CHECK_ERR(mls_public_group_from_group_info(env, mls_buf_view(&M[0].kp), mls_bytes_of(NULL, 0),
                                               &pg2),
              MLS_ERR_INVALID);
    mls_public_group_free(pg);
    mls_public_group_free(pg2);
    mls_buf_clear(&gi);
    mls_buf_clear(&gi_notree);
    mls_buf_clear(&tree);
    mls_buf_clear(&bad);
    fixture_teardown();
}

/* ---------------------------------------------------------------- following commits */

/* Add, remove, update path, GroupContextExtensions, a proposal by
 * reference, a PSK: the view follows, reports each change, and survives
 * serialization. */
static void test_follow_commits(void)
{
    static const uint8_t name[] = {4, 'r', 'o', 'o', 'm'};
    const mls_ext ext = {EXT_ALL, {name, sizeof name}};
    const mls_bytes psk_id = {(const uint8_t *)"psk", 3};
    mls_psk_store store = {psk_external_cb, NULL, NULL};
    mls_public_group *pg = NULL, *pg2 = NULL;
    mls_public_staged *st;
    mls_public_change ch;
    mls_public_proposal pp;
    mls_public_psk pk;
    mls_commit_options o;
    member X;
    mls_bytes kp, data;
    mls_buf gi, s1, s2, prop;
    uint32_t leaf;
    uint8_t stype;

    BEGIN();
    member_make(&X, "xavier", 1);
    mls_buf_init(&gi);
    mls_buf_init(&s1);
    mls_buf_init(&s2);
    mls_buf_init(&prop);
    for (int i = 0; i < 4; i++)
        mls_group_set_psk_store(M[i].g, &store);
    CHECK_OK(mls_public_group_from_group(M[0].g, &pg));
    if (!pg)
        goto out;
    CHECK(same_as(pg, M[0].g));

    /* alice adds xavier. */
    kp = mls_buf_view(&X.kp);
    memset(&o, 0, sizeof o);
    o.add = &kp;
    o.n_add = 1;
    st = commit_seen(pg, 0, &o, &gi);
    if (st) {
        CHECK(mls_public_staged_kind(st) == MLS_PUBLIC_COMMIT);
        mls_public_staged_sender(st, &stype, &leaf);
        CHECK(stype == 1 && leaf == 0);
        CHECK(mls_public_staged_change_count(st, MLS_PUBLIC_ADDED) == 1);
        CHECK_OK(mls_public_staged_change(st, MLS_PUBLIC_ADDED, 0, &ch));
        CHECK(ch.leaf == 4 && !ch.has_before && ch.has_after && view_eq(ch.after.identity, "xavier"));
        CHECK_OK(mls_public_staged_committer(st, &ch));
        CHECK(ch.has_before && view_eq(ch.before.identity, "alice"));
        CHECK(mls_public_staged_proposal_count(st) == 1);
        CHECK_OK(mls_public_staged_proposal(st, 0, &pp));
        CHECK(pp.type == MLS_PROPOSAL_ADD && !pp.by_reference);
        merge_and_compare(pg, st);
        CHECK_OK(mls_public_group_check_group_info(pg, mls_buf_view(&gi)));
    }

    /* bob removes carol (with a path: bob's leaf is updated too). */
    leaf = 2;
    memset(&o, 0, sizeof o);
    o.remove = &leaf;
    o.n_remove = 1;
    st = commit_seen(pg, 1, &o, NULL);
    if (st) {
        CHECK(mls_public_staged_change_count(st, MLS_PUBLIC_REMOVED) == 1);
        CHECK_OK(mls_public_staged_change(st, MLS_PUBLIC_REMOVED, 0, &ch));
        CHECK(ch.leaf == 2 && ch.has_before && !ch.has_after &&
              view_eq(ch.before.identity, "carol"));
        CHECK(mls_public_staged_change_count(st, MLS_PUBLIC_UPDATED) == 1);
        merge_and_compare(pg, st);
    }

    /* dave's self-update: same credential, new encryption key. */
    st = commit_seen(pg, 3, NULL, NULL);
    if (st) {
        CHECK_OK(mls_public_staged_change(st, MLS_PUBLIC_UPDATED, 0, &ch));
        CHECK(ch.leaf == 3 && ch.has_before && ch.has_after);
        CHECK(ch.before.credential.n == ch.after.credential.n &&
              memcmp(ch.before.credential.p, ch.after.credential.p, ch.after.credential.n) == 0);
        CHECK(!mls_ct_equal(ch.before.encryption_key, ch.after.encryption_key));
        merge_and_compare(pg, st);
    }

    /* alice sets a GroupContext extension. */
    memset(&o, 0, sizeof o);
    o.set_extensions = &ext;
    o.n_set_extensions = 1;
    st = commit_seen(pg, 0, &o, NULL);
    if (st) {
        CHECK(mls_public_staged_extensions_changed(st));
        CHECK_ERR(mls_public_staged_extension(st, 0, EXT_ALL, &data), MLS_ERR_NOT_FOUND);
        CHECK_OK(mls_public_staged_extension(st, 1, EXT_ALL, &data));
        CHECK(data.n == sizeof name && memcmp(data.p, name, sizeof name) == 0);
        merge_and_compare(pg, st);
        CHECK_OK(mls_public_group_extension(pg, EXT_ALL, &data));
    }

    /* bob proposes to remove xavier; alice commits it by reference with
     * an external PSK. */
    CHECK_OK(mls_group_propose_remove(M[1].g, 4, &prop));
    st = pg_stage(pg, mls_buf_view(&prop));
    if (st) {
        CHECK(mls_public_staged_kind(st) == MLS_PUBLIC_PROPOSAL);
        CHECK_OK(mls_public_staged_change(st, MLS_PUBLIC_REMOVED, 0, &ch));
        CHECK(ch.leaf == 4 && view_eq(ch.before.identity, "xavier"));
        CHECK_OK(mls_public_group_merge(pg, st));
        mls_public_staged_free(st);
    }
    CHECK(mls_public_group_pending_proposals(pg) == 1);
    CHECK_OK(all_process(mls_buf_view(&prop), 1));
    /* Round trip with a pending proposal. */
    pg_state(pg, &s1);
    CHECK_OK(mls_public_group_deserialize(env, mls_buf_view(&s1), &pg2));
    if (pg2) {
        pg_state(pg2, &s2);
        CHECK(s1.n == s2.n && memcmp(s1.p, s2.p, s1.n) == 0);
    }
    memset(&o, 0, sizeof o);
    o.include_pending_proposals = 1;
    o.external_psks = &psk_id;
    o.n_external_psks = 1;
    st = commit_seen(pg, 0, &o, NULL);
    if (st) {
        CHECK(mls_public_staged_proposal_count(st) == 2);
        CHECK_OK(mls_public_staged_proposal(st, 0, &pp));
        CHECK(pp.type == MLS_PROPOSAL_REMOVE && pp.by_reference && pp.sender_type == 1 &&
              pp.sender_index == 1);
        CHECK(mls_public_staged_psk_count(st) == 1);
        CHECK_OK(mls_public_staged_psk(st, 0, &pk));
        CHECK(pk.type == MLS_PSK_EXTERNAL && view_eq(pk.psk_id, "psk"));
        merge_and_compare(pg, st);
    }
    CHECK(mls_public_group_pending_proposals(pg) == 0);
    /* The deserialized view (made before the proposal commit) follows the
     * same way once it has seen the proposal. */
    mls_public_group_free(pg2);
    pg2 = NULL;

    /* Serialization round trip of the final view. */
    pg_state(pg, &s1);
    CHECK_OK(mls_public_group_deserialize(env, mls_buf_view(&s1), &pg2));
    if (pg2) {
        pg_state(pg2, &s2);
        CHECK(s1.n == s2.n && memcmp(s1.p, s2.p, s1.n) == 0);
        CHECK(same_as(pg2, M[0].g));
    }
    s1.p[s1.n / 2] ^= 1;
    {
        mls_public_group *bad = NULL;
        int err = mls_public_group_deserialize(env, mls_buf_view(&s1), &bad);
        CHECK(err != 0 && !bad);
    }
out:
    mls_public_group_free(pg);
    mls_public_group_free(pg2);
    member_clear(&X);
    mls_buf_clear(&gi);
    mls_buf_clear(&s1);
    mls_buf_clear(&s2);
    mls_buf_clear(&prop);
    fixture_teardown();
}

/* RFC 9420 §12.4.3.2: bob, who lost his state, rejoins by an external
 * commit that removes his old leaf. */
static void test_external_commit(void)
{
    mls_public_group *pg = NULL;
    mls_public_staged *st;
    mls_public_change ch;
    mls_external_join_options xo;
    mls_group *nb = NULL;
    mls_buf gi, commit;
    uint8_t stype;
    uint32_t leaf;

    BEGIN();
    mls_buf_init(&gi);
    mls_buf_init(&commit);
    CHECK_OK(mls_group_group_info(M[0].g, 1, &gi));
    CHECK_OK(mls_public_group_from_group_info(env, mls_buf_view(&gi), mls_bytes_of(NULL, 0), &pg));
    memset(&xo, 0, sizeof xo);
    xo.remove_old_leaf = 1;
    xo.old_leaf = 1;
    CHECK_OK(mls_group_external_join(env, M[1].id, mls_buf_view(&gi), &xo, &commit, &nb));
    if (!pg || !nb)
        goto out;
    st = pg_stage(pg, mls_buf_view(&commit));
    if (st) {
        mls_public_staged_sender(st, &stype, &leaf);
        CHECK(stype == 4 && leaf == 1);
        CHECK(mls_public_staged_external_init(st));
        CHECK_OK(mls_public_staged_change(st, MLS_PUBLIC_REMOVED, 0, &ch));
        CHECK(ch.leaf == 1 && view_eq(ch.before.identity, "bob"));
        CHECK_OK(mls_public_staged_change(st, MLS_PUBLIC_ADDED, 0, &ch));
        CHECK(ch.leaf == 1 && view_eq(ch.after.identity, "bob"));
        CHECK_OK(mls_public_staged_committer(st, &ch));
        CHECK(!ch.has_before && ch.has_after);
        mls_group_free(M[1].g);
        M[1].g = nb;
        nb = NULL;
        CHECK_OK(all_process(mls_buf_view(&commit), 1));
        merge_and_compare(pg, st);
    }
out:
    mls_group_free(nb);
    mls_public_group_free(pg);
    mls_buf_clear(&gi);
    mls_buf_clear(&commit);
    fixture_teardown();
}

/* RFC 9420 §11.2: a ReInit ends the group for the view too; the
 * successor's first commit (a reinit PSK) is followed by a view of it. */
static void test_reinit(void)
{
    mls_public_group *pg = NULL, *pgn = NULL;
    mls_public_staged *st;
    mls_reinit_params rp;
    mls_commit_options o;
    mls_group *ng = NULL;
    mls_staged_commit *sc = NULL;
    mls_bytes gid, kps[3];
    mls_buf kp[3], bundle[3];
    mls_public_psk pk;
    uint16_t suite;

    BEGIN();
    for (int i = 0; i < 3; i++) {
        mls_buf_init(&kp[i]);
        mls_buf_init(&bundle[i]);
    }
    CHECK_OK(mls_public_group_from_group(M[0].g, &pg));
    memset(&rp, 0, sizeof rp);
    rp.group_id = str_bytes("rules-group-2");
    rp.suite = SUITE;
    memset(&o, 0, sizeof o);
    o.reinit = &rp;
    st = pg ? commit_seen(pg, 0, &o, NULL) : NULL;
    if (!st)
        goto out;
    CHECK_OK(mls_public_staged_reinit(st, &gid, NULL, &suite));
    CHECK(view_eq(gid, "rules-group-2") && suite == SUITE);
    merge_and_compare(pg, st);
    CHECK(mls_public_group_is_reinit_pending(pg));
    /* Nothing more is accepted in the old group. */
    {
        mls_proposal p;
        mls_buf msg;
        memset(&p, 0, sizeof p);
        mls_buf_init(&msg);
        p.type = MLS_PROPOSAL_REMOVE;
        p.remove.removed = 3;
        CHECK_OK(craft_proposal(&M[1], &p, &msg, NULL));
        PG_REJECTS(pg, mls_buf_view(&msg), MLS_ERR_STATE);
        mls_buf_clear(&msg);
    }

    for (int i = 0; i < 3; i++) {
        CHECK_OK(mls_key_package_create(env, M[i + 1].id, NULL, &kp[i], &bundle[i]));
        kps[i] = mls_buf_view(&kp[i]);
    }
    CHECK_OK(mls_group_reinit_create(env, M[0].g, M[0].id, kps, 3, NULL, &ng, &sc));
    if (!ng || !sc)
        goto out;
    CHECK_OK(mls_public_group_from_group(ng, &pgn));
    if (!pgn)
        goto out;
    st = pg_stage(pgn, mls_staged_commit_message(sc));
    if (st) {
        CHECK(mls_public_staged_psk_count(st) == 1);
        CHECK_OK(mls_public_staged_psk(st, 0, &pk));
        CHECK(pk.type == MLS_PSK_RESUMPTION && pk.usage == MLS_PSK_USAGE_REINIT);
        CHECK(mls_public_staged_change_count(st, MLS_PUBLIC_ADDED) == 3);
        CHECK_OK(mls_public_group_merge(pgn, st));
        mls_public_staged_free(st);
        CHECK_OK(mls_group_merge_staged(ng, sc));
        CHECK(same_as(pgn, ng));
    }
out:
    mls_staged_commit_free(sc);
    mls_group_free(ng);
    mls_public_group_free(pg);
    mls_public_group_free(pgn);
    for (int i = 0; i < 3; i++) {
        mls_buf_clear(&kp[i]);
        mls_buf_clear(&bundle[i]);
    }
    fixture_teardown();
}

/* ---------------------------------------------------------------- refusals */

static void sender_leaf_5(mls_framed_content *fc, void *arg)
{
    (void)arg;
    fc->sender.index = 5;
}

/* Flips a bit of the UpdatePath's second node key after encryption: the
 * parent hash chain the leaf signed no longer holds (RFC 9420 §7.9.2). */
static void flip_path_key(mls_framed_content *fc, void *arg)
{
    (void)arg;
    if (fc->commit.has_path && fc->commit.path.n_nodes > 1)
        fc->commit.path.nodes[1].encryption_key.p[3] ^= 1;
}

static void test_refusals(void)
{
    mls_public_group *pg = NULL;
    mls_public_staged *st = NULL;
    mls_staged_commit *sc = NULL, *sc2 = NULL;
    mls_group *other = NULL;
    mls_group_config cfg;
    member X;
    craft c;
    mls_buf msg, bad, gi;
    mls_commit_options o;
    uint32_t leaf;

    BEGIN();
    member_make(&X, "xavier", 1);
    mls_buf_init(&msg);
    mls_buf_init(&bad);
    mls_buf_init(&gi);
    memset(&c, 0, sizeof c);
    CHECK_OK(mls_public_group_from_group(M[0].g, &pg));
    if (!pg)
        goto out;

    /* A forged signature: one bit of bob's commit's signature (before the
     * confirmation tag and membership tag, 33 bytes each). */
    CHECK_OK(mls_group_commit(M[1].g, NULL, &sc));
    if (!sc)
        goto out;
    CHECK_OK(mls_buf_set(&bad, mls_staged_commit_message(sc).p, mls_staged_commit_message(sc).n));
    bad.p[bad.n - 66 - 10] ^= 1;
    PG_REJECTS(pg, mls_buf_view(&bad), MLS_ERR_SIGNATURE);

    /* A commit "from" leaf 5, which is outside the tree. */
    c.path = 1;
    c.content_hook = sender_leaf_5;
    commit_of(0, &c, &msg);
    PG_REJECTS(pg, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);

    /* A tampered path: members and view refuse it alike. */
    c.path = 1;
    c.content_hook = flip_path_key;
    commit_of(0, &c, &msg);
    PG_REJECTS(pg, mls_buf_view(&msg), MLS_ERR_INVALID);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);

    /* The same KeyPackage added twice (§12.2). */
    por_add(&c.por[c.n++], mls_buf_view(&X.kp));
    por_add(&c.por[c.n++], mls_buf_view(&X.kp));
    commit_of(0, &c, &msg);
    PG_REJECTS(pg, mls_buf_view(&msg), MLS_ERR_INVALID);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);

    /* An Add of a member already in the group (bob's KeyPackage). */
    {
        mls_buf kp2;
        mls_buf_init(&kp2);
        kp_make(M[1].id, NULL, NULL, 0, &kp2, NULL);
        por_add(&c.por[c.n++], mls_buf_view(&kp2));
        commit_of(0, &c, &msg);
        PG_REJECTS(pg, mls_buf_view(&msg), MLS_ERR_INVALID);
        craft_clear(&c);
        mls_buf_clear(&kp2);
    }

    /* A commit for another group. */
    mls_group_config_default(&cfg);
    cfg.handshake_private = 0;
    CHECK_OK(mls_group_create(env, M[0].id, str_bytes("other-group"), NULL, 0, &cfg, &other));
    if (other) {
        CHECK_OK(mls_group_commit(other, NULL, &sc2));
        if (sc2)
            PG_REJECTS(pg, mls_staged_commit_message(sc2), MLS_ERR_WRONG_GROUP);
        mls_staged_commit_free(sc2);
        sc2 = NULL;
    }

    /* GroupInfos offered with bob's commit: his own is right; carol's of
     * the same new epoch is not signed by the committer; that of another
     * commit bob made for the same epoch carries another GroupContext. */
    st = pg_stage(pg, mls_staged_commit_message(sc));
    CHECK_OK(mls_group_commit(M[1].g, NULL, &sc2));
    if (!st || !sc2)
        goto out;
    CHECK_OK(mls_public_staged_check_group_info(st, mls_staged_commit_group_info(sc)));
    CHECK_ERR(mls_public_staged_check_group_info(st, mls_staged_commit_group_info(sc2)),
              MLS_ERR_INVALID);
    CHECK_OK(mls_group_group_info(M[2].g, 1, &gi));
    CHECK_ERR(mls_public_staged_check_group_info(st, mls_buf_view(&gi)), MLS_ERR_WRONG_EPOCH);
    CHECK_OK(all_process(mls_staged_commit_message(sc), 1));
    CHECK_OK(mls_group_merge_staged(M[1].g, sc));
    mls_buf_reset(&gi);
    CHECK_OK(mls_group_group_info(M[2].g, 1, &gi));
    CHECK_ERR(mls_public_staged_check_group_info(st, mls_buf_view(&gi)), MLS_ERR_INVALID);
    CHECK_OK(mls_public_group_merge(pg, st));
    mls_public_staged_free(st);
    st = NULL;
    CHECK(same_as(pg, M[0].g));
    CHECK_ERR(mls_public_group_check_group_info(pg, mls_buf_view(&gi)), MLS_ERR_INVALID);
    CHECK_OK(mls_public_group_check_group_info(pg, mls_staged_commit_group_info(sc)));
    /* The second commit of the old epoch, now: wrong epoch. */
    PG_REJECTS(pg, mls_staged_commit_message(sc2), MLS_ERR_WRONG_EPOCH);

    /* Remove of a blank leaf: alice removes dave, then a crafted commit
     * removes leaf 3 again. */
    leaf = 3;
    memset(&o, 0, sizeof o);
    o.remove = &leaf;
    o.n_remove = 1;
    st = commit_seen(pg, 0, &o, NULL);
    if (st)
        merge_and_compare(pg, st);
    st = NULL;
    por_remove(&c.por[c.n++], 3);
    c.path = 1;
    commit_of(0, &c, &msg);
    PG_REJECTS(pg, mls_buf_view(&msg), MLS_ERR_INVALID);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);

    /* Not a PublicMessage: an application message. */
    mls_buf_reset(&msg);
    CHECK_OK(mls_group_protect(M[1].g, mls_bytes_of(NULL, 0), str_bytes("hi"), &msg));
    PG_REJECTS(pg, mls_buf_view(&msg), MLS_ERR_INVALID);
    /* Truncated bytes. */
    PG_REJECTS(pg, mls_bytes_of(msg.p, 3), MLS_ERR_MALFORMED);
out:
    mls_public_staged_free(st);
    mls_staged_commit_free(sc);
    mls_staged_commit_free(sc2);
    mls_group_free(other);
    mls_public_group_free(pg);
    member_clear(&X);
    mls_buf_clear(&msg);
    mls_buf_clear(&bad);
    mls_buf_clear(&gi);
    craft_clear(&c);
    fixture_teardown();
}

/* The committer's path leaf renames its credential: the view shows the
 * old and the new credential (members accept it: MLS allows it, the
 * application decides, issue 9). */
static void rename_leaf(member *m, mls_leaf_node *ln, void *arg)
{
    (void)arg;
    mls_buf_reset(&ln->credential.identity);
    CHECK_OK(mls_buf_set(&ln->credential.identity, "mallory", 7));
    CHECK_OK(mls_identity_sign_leaf(m->id, env, ln, mls_buf_view(&m->g->cur.ctx.group_id),
                                    m->g->cur.priv.leaf));
}

static void test_rename_visible(void)
{
    mls_public_group *pg = NULL;
    mls_public_staged *st;
    mls_public_change ch;
    mls_buf msg;
    craft c;

    BEGIN();
    mls_buf_init(&msg);
    memset(&c, 0, sizeof c);
    CHECK_OK(mls_public_group_from_group(M[0].g, &pg));
    c.path = 1;
    c.leaf_hook = rename_leaf;
    commit_of(0, &c, &msg);
    CHECK_OK(accepts_copy(M[1].g, mls_buf_view(&msg), NULL));
    st = pg ? pg_stage(pg, mls_buf_view(&msg)) : NULL;
    if (st) {
        CHECK_OK(mls_public_staged_committer(st, &ch));
        CHECK(ch.leaf == 0 && view_eq(ch.before.identity, "alice") &&
              view_eq(ch.after.identity, "mallory"));
        CHECK(mls_ct_equal(ch.before.signature_key, ch.after.signature_key));
        CHECK_OK(mls_public_staged_change(st, MLS_PUBLIC_UPDATED, 0, &ch));
        CHECK(ch.leaf == 0 && view_eq(ch.after.identity, "mallory"));
        CHECK_OK(all_process(mls_buf_view(&msg), 0));
        CHECK_OK(mls_public_group_merge(pg, st));
        mls_public_staged_free(st);
        CHECK(same_as(pg, M[1].g));
    }
    mls_public_group_free(pg);
    mls_buf_clear(&msg);
    craft_clear(&c);
    fixture_teardown();
}

/* A staged commit can be merged once, into its own view, in its epoch. */
static void test_merge_rules(void)
{
    mls_public_group *pg = NULL, *pg2 = NULL;
    mls_public_staged *a = NULL, *b = NULL;
    mls_staged_commit *s1 = NULL, *s2 = NULL;

    BEGIN();
    CHECK_OK(mls_public_group_from_group(M[0].g, &pg));
    CHECK_OK(mls_public_group_from_group(M[0].g, &pg2));
    CHECK_OK(mls_group_commit(M[1].g, NULL, &s1));
    CHECK_OK(mls_group_commit(M[2].g, NULL, &s2));
    if (!pg || !pg2 || !s1 || !s2)
        goto out;
    a = pg_stage(pg, mls_staged_commit_message(s1));
    b = pg_stage(pg, mls_staged_commit_message(s2));
    if (!a || !b)
        goto out;
    CHECK_ERR(mls_public_group_merge(pg2, a), MLS_ERR_STATE);
    CHECK_OK(mls_public_group_merge(pg, a));
    CHECK_ERR(mls_public_group_merge(pg, a), MLS_ERR_STATE);
    /* The other commit of the same epoch lost the race. */
    CHECK_ERR(mls_public_group_merge(pg, b), MLS_ERR_STATE);
    CHECK_OK(all_process(mls_staged_commit_message(s1), 1));
    CHECK_OK(mls_group_merge_staged(M[1].g, s1));
    CHECK(same_as(pg, M[0].g));
out:
    mls_public_staged_free(a);
    mls_public_staged_free(b);
    mls_staged_commit_free(s1);
    mls_staged_commit_free(s2);
    mls_public_group_free(pg);
    mls_public_group_free(pg2);
    fixture_teardown();
}

int main(void)
{
    env = mls_env_default();
    test_from_group_info();
    test_follow_commits();
    test_external_commit();
    test_reinit();
    test_refusals();
    test_rename_visible();
    test_merge_rules();
    TEST_MAIN_END("test_public_group");
}
