/*
 * RFC 9420 validity rules of the group engine for proposals and commits,
 * one test per rule (the table in docs/libmls.md, "Validation rules and
 * where they are tested"): §12.1 individual proposals, §12.2 proposal
 * lists, §12.3, §12.4.1/§12.4.2 commits, §7.3 leaf nodes of Adds, Updates
 * and commit paths, §10.1 KeyPackages, §12.1.8 external proposals.  Each
 * test builds the violating message from a legitimate member's keys
 * (rules_fixture.h) and checks that a receiver refuses it with the
 * expected error, its serialized state byte-identical; where the library
 * also builds such messages, that the sender refuses to.
 */
#include "rules_fixture.h"

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

/* A legitimate API commit by member `from` that every member applies. */
static void api_commit(int from, const mls_commit_options *o)
{
    mls_staged_commit *sc = NULL;
    CHECK_OK(mls_group_commit(M[from].g, o, &sc));
    if (!sc)
        return;
    CHECK_OK(all_process(mls_staged_commit_message(sc), from));
    CHECK_OK(mls_group_merge_staged(M[from].g, sc));
    mls_staged_commit_free(sc);
}

/* Sets GroupContext extensions by a legitimate commit of A. */
static void api_set_extensions(const mls_ext *e, size_t n)
{
    mls_commit_options o;
    memset(&o, 0, sizeof(o));
    o.set_extensions = e;
    o.n_set_extensions = n;
    api_commit(0, &o);
}

/* The group requires support for ext (required_capabilities). */
static void require_extension(uint16_t ext)
{
    mls_buf rc;
    mls_ext e;
    mls_buf_init(&rc);
    required_caps(ext, 0, &rc);
    e.type = MLS_EXT_REQUIRED_CAPABILITIES;
    e.data = mls_buf_view(&rc);
    api_set_extensions(&e, 1);
    mls_buf_clear(&rc);
}

/* Member `from` sends p (built by the caller) and every other member
 * stores it; ref gets its ProposalRef. */
static void propose_all(int from, const mls_proposal *p, mls_buf *ref)
{
    mls_buf msg;
    mls_buf_init(&msg);
    CHECK_OK(craft_proposal(&M[from], p, &msg, ref));
    CHECK_OK(all_process(mls_buf_view(&msg), -1));
    mls_buf_clear(&msg);
}

/* B's self-update through the API, stored by everyone; ref gets its ref. */
static void propose_update_api(int from, mls_buf *ref)
{
    mls_buf msg;
    mls_buf_init(&msg);
    CHECK_OK(mls_group_propose_self_update(M[from].g, &msg));
    CHECK_OK(all_process(mls_buf_view(&msg), from));
    mls_buf_clear(ref);
    CHECK_OK(mls_buf_copy(ref, &M[from].g->props[M[from].g->n_props - 1].ref));
    mls_buf_clear(&msg);
}

/* ---------------------------------------------------------------- controls */

/* The crafting machinery makes commits that receivers accept. */
static void test_control_crafted_commits(void)
{
    craft c;
    mls_buf msg, kp, ref;
    member X;
    mls_process_result r;

    BEGIN();
    memset(&c, 0, sizeof(c));
    memset(&r, 0, sizeof(r));
    mls_buf_init(&msg);
    mls_buf_init(&kp);
    mls_buf_init(&ref);
    member_make(&X, "xavier", 1);

    /* Add without path. */
    por_add(&c.por[c.n++], mls_buf_view(&X.kp));
    commit_of(0, &c, &msg);
    CHECK_OK(accepts_copy(M[1].g, mls_buf_view(&msg), &r));
    CHECK(r.kind == MLS_RESULT_COMMIT && r.n_added == 1);
    mls_process_result_clear(&r);
    craft_clear(&c);

    /* Remove with path, and an empty commit with path. */
    por_remove(&c.por[c.n++], 3);
    c.path = 1;
    commit_of(0, &c, &msg);
    CHECK_OK(accepts_copy(M[1].g, mls_buf_view(&msg), &r));
    CHECK(r.n_removed == 1);
    mls_process_result_clear(&r);
    CHECK_OK(accepts_copy(M[2].g, mls_buf_view(&msg), NULL));
    craft_clear(&c);
    c.path = 1;
    commit_of(2, &c, &msg);
    CHECK_OK(accepts_copy(M[0].g, mls_buf_view(&msg), NULL));
    CHECK_OK(accepts_copy(M[3].g, mls_buf_view(&msg), NULL));

    /* By reference, to a proposal of another member and to one's own
     * (RFC 9420 §12.4: "previously sent proposals from anyone (including
     * the committer)"). */
    {
        mls_proposal p;
        memset(&p, 0, sizeof(p));
        p.type = MLS_PROPOSAL_REMOVE;
        p.remove.removed = 3;
        propose_all(2, &p, &ref);
    }
    craft_clear(&c);
    por_ref(&c.por[c.n++], &ref);
    c.path = 1;
    commit_of(0, &c, &msg);
    CHECK_OK(accepts_copy(M[1].g, mls_buf_view(&msg), NULL));
    commit_of(2, &c, &msg);
    CHECK_OK(accepts_copy(M[1].g, mls_buf_view(&msg), NULL));
    CHECK_OK(accepts_copy(M[0].g, mls_buf_view(&msg), NULL));

    /* Applied for real by everyone: the epoch advances in agreement. */
    CHECK_OK(all_process(mls_buf_view(&msg), 2));
    CHECK(mls_group_epoch(M[0].g) == 2 && !mls_group_is_active(M[3].g));

    craft_clear(&c);
    member_clear(&X);
    mls_buf_clear(&msg);
    mls_buf_clear(&kp);
    mls_buf_clear(&ref);
    fixture_teardown();
}

/* ---------------------------------------------------------------- §10.1, §12.1.1 Add */

enum kp_mut {
    KP_INIT_EQ_ENC = 1,
    KP_SOURCE_UPDATE,
    KP_VERSION,
    KP_SUITE,
    KP_CAPS_NO_SUITE,
    KP_CAPS_NO_VERSION,
    KP_CAPS_NO_OWN_CRED,
    KP_LEAF_EXT_NOT_IN_CAPS,
    KP_DUP_EXT,
    KP_LEAF_SIG,
    KP_SIG,
    KP_LIFETIME_PAST
};

typedef struct kp_mut_arg {
    int mode;
    const mls_identity *id;
} kp_mut_arg;

static void u16_remove(mls_u16_list *l, uint16_t x)
{
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] != x)
            l->v[k++] = l->v[i];
    l->n = k;
}

static void ext_append(mls_extension_list *l, uint16_t type)
{
    mls_extension *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
    if (!nv)
        return;
    l->v = nv;
    memset(&l->v[l->n], 0, sizeof(mls_extension));
    l->v[l->n++].type = type;
}

static void kp_mutate(mls_key_package *kp, void *arg)
{
    kp_mut_arg *a = arg;
    mls_leaf_node *ln = &kp->leaf_node;
    int ignored;

    switch (a->mode) {
    case KP_INIT_EQ_ENC:
        mls_buf_clear(&kp->init_key);
        ignored = mls_buf_copy(&kp->init_key, &ln->encryption_key);
        (void)ignored;
        break;
    case KP_SOURCE_UPDATE:
        ln->source = MLS_LEAF_SOURCE_UPDATE;
        break;
    case KP_VERSION:
        kp->version = 2;
        break;
    case KP_SUITE:
        kp->cipher_suite = MLS_SUITE_P256_AES128GCM_SHA256_P256;
        break;
    case KP_CAPS_NO_SUITE:
        u16_remove(&ln->capabilities.cipher_suites, SUITE);
        break;
    case KP_CAPS_NO_VERSION:
        u16_remove(&ln->capabilities.versions, MLS_VERSION_MLS10);
        break;
    case KP_CAPS_NO_OWN_CRED:
        u16_remove(&ln->capabilities.credentials, MLS_CREDENTIAL_BASIC);
        break;
    case KP_LEAF_EXT_NOT_IN_CAPS:
        ext_append(&ln->extensions, EXT_NONE);
        break;
    case KP_DUP_EXT:
        ext_append(&kp->extensions, 0xF0F7);
        ext_append(&kp->extensions, 0xF0F7);
        break;
    case KP_LEAF_SIG: {
        /* A bad leaf signature under a valid KeyPackage signature. */
        mls_buf tbs;
        mls_buf_init(&tbs);
        ln->signature.p[0] ^= 1;
        CHECK_OK(mls_key_package_tbs_encode(kp, &tbs));
        mls_buf_clear(&kp->signature);
        CHECK_OK(mls_sign_with_label(a->id->suite, env, mls_buf_view(&a->id->sig_sk),
                                     "KeyPackageTBS", mls_buf_view(&tbs), &kp->signature));
        mls_buf_clear(&tbs);
        break;
    }
    case KP_SIG:
        kp->signature.p[0] ^= 1;
        break;
    case KP_LIFETIME_PAST:
        ln->lifetime.not_before = 1000;
        ln->lifetime.not_after = 2000;
        break;
    default:
        break;
    }
}

/* RFC 9420 §12.1.1: an Add whose KeyPackage is invalid per §10.1 (and its
 * leaf per §7.3) makes the commit invalid; the library refuses to add it
 * too. */
static void test_add_invalid_key_package(void)
{
    static const int modes[] = {KP_INIT_EQ_ENC,    KP_SOURCE_UPDATE,    KP_VERSION,
                                KP_SUITE,          KP_CAPS_NO_SUITE,    KP_CAPS_NO_VERSION,
                                KP_CAPS_NO_OWN_CRED, KP_LEAF_EXT_NOT_IN_CAPS, KP_DUP_EXT,
                                KP_LEAF_SIG,       KP_SIG};
    member X;
    craft c;
    mls_buf kp, msg;

    BEGIN();
    member_make(&X, "xavier", 1);
    mls_buf_init(&kp);
    mls_buf_init(&msg);
    memset(&c, 0, sizeof(c));
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        kp_mut_arg a = {modes[i], X.id};
        mls_staged_commit *sc = NULL;
        mls_bytes v;
        int resign = modes[i] != KP_LEAF_SIG && modes[i] != KP_SIG;
        kp_make(X.id, kp_mutate, &a, resign, &kp, NULL);
        v = mls_buf_view(&kp);
        por_add(&c.por[c.n++], v);
        commit_of(0, &c, &msg);
        REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
        craft_clear(&c);
        /* The committer's API refuses it (the group unchanged). */
        CHECK(mls_group_add_members(M[0].g, &v, 1, &sc) != 0 && sc == NULL);
        /* And a Delivery Service's check. */
        CHECK(mls_key_package_validate(env, v, SUITE, NULL) != 0);
    }
    member_clear(&X);
    mls_buf_clear(&kp);
    mls_buf_clear(&msg);
    fixture_teardown();
}

static uint64_t far_future(void *ctx)
{
    (void)ctx;
    return 4000000000ull;
}

/* RFC 9420 §7.3: the sender of a commit checks KeyPackage lifetimes. */
static void test_add_expired_key_package_sender(void)
{
    mls_env late;
    const mls_env *saved;
    mls_staged_commit *sc = NULL;
    mls_bytes v;
    member X;

    BEGIN();
    member_make(&X, "xavier", 1);
    late = *env;
    late.now = far_future;
    saved = M[0].g->env;
    M[0].g->env = &late;
    v = mls_buf_view(&X.kp);
    CHECK_ERR(mls_group_add_members(M[0].g, &v, 1, &sc), MLS_ERR_EXPIRED);
    CHECK(mls_key_package_validate(&late, v, SUITE, NULL) == MLS_ERR_EXPIRED);
    M[0].g->env = saved;
    member_clear(&X);
    fixture_teardown();
}

/* RFC 9420 §12.2: two Adds of the same client (same signature key, or the
 * same KeyPackage twice). */
static void test_add_duplicate_client(void)
{
    member X;
    craft c;
    mls_buf kp2, msg;
    mls_bytes both[2];
    mls_staged_commit *sc = NULL;

    BEGIN();
    member_make(&X, "xavier", 1);
    mls_buf_init(&kp2);
    mls_buf_init(&msg);
    memset(&c, 0, sizeof(c));
    kp_make(X.id, NULL, NULL, 0, &kp2, NULL);
    por_add(&c.por[c.n++], mls_buf_view(&X.kp));
    por_add(&c.por[c.n++], mls_buf_view(&kp2));
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    CHECK(strstr(mls_error_detail(), "§12.2: two Adds of one signature key") != NULL);
    craft_clear(&c);
    por_add(&c.por[c.n++], mls_buf_view(&X.kp));
    por_add(&c.por[c.n++], mls_buf_view(&X.kp));
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    both[0] = mls_buf_view(&X.kp);
    both[1] = mls_buf_view(&kp2);
    CHECK_ERR(mls_group_add_members(M[0].g, both, 2, &sc), MLS_ERR_INVALID);
    member_clear(&X);
    mls_buf_clear(&kp2);
    mls_buf_clear(&msg);
    fixture_teardown();
}

/* RFC 9420 §12.2: an Add of a client already in the group, unless a Remove
 * in the list removes it; an Update of that member does not count. */
static void test_add_existing_member(void)
{
    mls_identity *bob2 = NULL;
    mls_proposal p;
    craft c;
    mls_buf kp, msg, ref;
    mls_bytes v;
    mls_staged_commit *sc = NULL;

    BEGIN();
    mls_buf_init(&kp);
    mls_buf_init(&msg);
    mls_buf_init(&ref);
    memset(&c, 0, sizeof(c));
    memset(&p, 0, sizeof(p));
    kp_make(M[1].id, NULL, NULL, 0, &kp, NULL);
    v = mls_buf_view(&kp);
    por_add(&c.por[c.n++], v);
    commit_of(0, &c, &msg);
    REJECTS(M[2].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    CHECK_ERR(mls_group_add_members(M[0].g, &v, 1, &sc), MLS_ERR_INVALID);
    /* With a Remove of B in the same list: valid (B re-added). */
    craft_clear(&c);
    por_remove(&c.por[c.n++], 1);
    por_add(&c.por[c.n++], v);
    c.path = 1;
    commit_of(0, &c, &msg);
    CHECK_OK(accepts_copy(M[2].g, mls_buf_view(&msg), NULL));
    craft_clear(&c);

    /* B's Update moves B to a new signature key; an Add with B's old key
     * still names B, who stays in the group: invalid. */
    CHECK_OK(mls_identity_generate(env, SUITE, str_bytes("bob"), &bob2));
    p.type = MLS_PROPOSAL_UPDATE;
    update_leaf(&M[1], &p.update.leaf_node, NULL);
    {
        /* Same leaf made by B's new identity. */
        mls_leaf_node *ln = &p.update.leaf_node;
        mls_buf_clear(&ln->signature_key);
        CHECK_OK(mls_buf_copy(&ln->signature_key, &bob2->sig_pk));
        CHECK_OK(mls_identity_sign_leaf(bob2, env, ln, mls_buf_view(&M[1].g->cur.ctx.group_id), 1));
    }
    propose_all(1, &p, &ref);
    por_ref(&c.por[c.n++], &ref);
    por_add(&c.por[c.n++], v);
    c.path = 1;
    commit_of(0, &c, &msg);
    REJECTS(M[2].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    mls_proposal_clear(&p);
    mls_identity_free(bob2);
    mls_buf_clear(&kp);
    mls_buf_clear(&msg);
    mls_buf_clear(&ref);
    fixture_teardown();
}

static mls_bytes leaf_enc_key(int who)
{
    const mls_leaf_node *ln = mls_rtree_leaf(&M[who].g->cur.tree, M[who].g->cur.priv.leaf);
    return mls_buf_view(&ln->encryption_key);
}

static void kp_enc_key_of_b(mls_key_package *kp, void *arg)
{
    (void)arg;
    mls_buf_reset(&kp->leaf_node.encryption_key);
    CHECK_OK(mls_buf_append(&kp->leaf_node.encryption_key, leaf_enc_key(1).p, leaf_enc_key(1).n));
}

/* A credential type of our own (opaque body), listed in the leaf's
 * capabilities beside basic. */
static void kp_custom_credential(mls_key_package *kp, void *arg)
{
    mls_leaf_node *ln = &kp->leaf_node;
    uint16_t *nv;
    (void)arg;
    mls_credential_clear(&ln->credential);
    ln->credential.type = 0xF0F0;
    CHECK_OK(mls_buf_set(&ln->credential.opaque_body, "xavier", 6));
    nv = realloc(ln->capabilities.credentials.v,
                 (ln->capabilities.credentials.n + 1) * sizeof(uint16_t));
    if (!nv)
        return;
    ln->capabilities.credentials.v = nv;
    nv[ln->capabilities.credentials.n++] = 0xF0F0;
}

/* RFC 9420 §7.3 for an added leaf: encryption key unique in the tree;
 * credential type supported by every member. */
static void test_add_leaf_vs_tree(void)
{
    member X;
    craft c;
    mls_buf kp, msg;

    BEGIN();
    member_make(&X, "xavier", 1);
    mls_buf_init(&kp);
    mls_buf_init(&msg);
    memset(&c, 0, sizeof(c));
    kp_make(X.id, kp_enc_key_of_b, NULL, 1, &kp, NULL);
    por_add(&c.por[c.n++], mls_buf_view(&kp));
    commit_of(0, &c, &msg);
    REJECTS(M[2].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    kp_make(X.id, kp_custom_credential, NULL, 1, &kp, NULL);
    CHECK_OK(mls_key_package_validate(env, mls_buf_view(&kp), SUITE, NULL));
    por_add(&c.por[c.n++], mls_buf_view(&kp));
    commit_of(0, &c, &msg);
    REJECTS(M[2].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    member_clear(&X);
    mls_buf_clear(&kp);
    mls_buf_clear(&msg);
    fixture_teardown();
}

/* RFC 9420 §7.3, §12.1.7, §13: an added leaf supports the group's
 * required capabilities and its GroupContext extensions. */
static void test_add_capabilities(void)
{
    mls_identity *plain = NULL;
    craft c;
    mls_buf kp, msg, bnd;
    mls_bytes v;
    mls_staged_commit *sc = NULL;
    mls_ext e;

    BEGIN();
    mls_buf_init(&kp);
    mls_buf_init(&msg);
    mls_buf_init(&bnd);
    memset(&c, 0, sizeof(c));
    /* A client that supports no application extension. */
    CHECK_OK(mls_identity_generate(env, SUITE, str_bytes("plain"), &plain));
    CHECK_OK(mls_key_package_create(env, plain, NULL, &kp, &bnd));
    v = mls_buf_view(&kp);
    /* Valid before the group requires anything. */
    por_add(&c.por[c.n++], v);
    commit_of(0, &c, &msg);
    CHECK_OK(accepts_copy(M[1].g, mls_buf_view(&msg), NULL));
    /* The group uses extension EXT_ALL. */
    e.type = EXT_ALL;
    e.data = str_bytes("x");
    api_set_extensions(&e, 1);
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    CHECK_ERR(mls_group_add_members(M[0].g, &v, 1, &sc), MLS_ERR_INVALID);
    /* The group requires EXT_ALL (without using it). */
    {
        uint16_t drop = EXT_ALL;
        mls_commit_options o;
        mls_buf rc;
        mls_ext r;
        mls_buf_init(&rc);
        required_caps(EXT_ALL, 0, &rc);
        r.type = MLS_EXT_REQUIRED_CAPABILITIES;
        r.data = mls_buf_view(&rc);
        memset(&o, 0, sizeof(o));
        o.set_extensions = &r;
        o.n_set_extensions = 1;
        o.remove_extensions = &drop;
        o.n_remove_extensions = 1;
        api_commit(0, &o);
        mls_buf_clear(&rc);
    }
    CHECK(mls_group_extension(M[1].g, EXT_ALL, &e.data) == MLS_ERR_NOT_FOUND);
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    CHECK_ERR(mls_group_add_members(M[0].g, &v, 1, &sc), MLS_ERR_INVALID);
    craft_clear(&c);
    mls_identity_free(plain);
    mls_buf_clear(&kp);
    mls_buf_clear(&bnd);
    mls_buf_clear(&msg);
    fixture_teardown();
}

/* ---------------------------------------------------------------- §12.1.2 Update */

enum upd_mut { UPD_SAME_KEY = 1, UPD_SOURCE_COMMIT, UPD_WRONG_INDEX, UPD_NO_SUITE, UPD_SIG };

/* An Update from B changed per mode. */
static void bad_update(int mode, mls_proposal *p)
{
    mls_leaf_node *ln = &p->update.leaf_node;
    mls_bytes gid = mls_buf_view(&M[1].g->cur.ctx.group_id);
    uint32_t leaf = 1;

    memset(p, 0, sizeof(*p));
    p->type = MLS_PROPOSAL_UPDATE;
    update_leaf(&M[1], ln, NULL);
    switch (mode) {
    case UPD_SAME_KEY:
        mls_buf_reset(&ln->encryption_key);
        CHECK_OK(mls_buf_append(&ln->encryption_key, leaf_enc_key(1).p, leaf_enc_key(1).n));
        break;
    case UPD_SOURCE_COMMIT:
        ln->source = MLS_LEAF_SOURCE_COMMIT;
        break;
    case UPD_WRONG_INDEX:
        leaf = 2;
        break;
    case UPD_NO_SUITE:
        u16_remove(&ln->capabilities.cipher_suites, SUITE);
        break;
    default:
        break;
    }
    CHECK_OK(mls_identity_sign_leaf(M[1].id, env, ln, gid, leaf));
    if (mode == UPD_SIG)
        ln->signature.p[0] ^= 1;
}

/* RFC 9420 §12.1.2, §7.3: an invalid Update leaf is refused when the
 * proposal arrives (source update, new encryption key, signed for the
 * sender's leaf, supports the suite). */
static void test_update_invalid_leaf(void)
{
    static const int modes[] = {UPD_SAME_KEY, UPD_SOURCE_COMMIT, UPD_WRONG_INDEX, UPD_NO_SUITE,
                                UPD_SIG};
    mls_buf msg;

    BEGIN();
    mls_buf_init(&msg);
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        mls_proposal p;
        bad_update(modes[i], &p);
        CHECK_OK(craft_proposal(&M[1], &p, &msg, NULL));
        REJECTS(M[0].g, mls_buf_view(&msg), MLS_ERR_INVALID);
        mls_proposal_clear(&p);
    }
    mls_buf_clear(&msg);
    fixture_teardown();
}

static void upd_enc_key_of_c(mls_proposal *p)
{
    mls_leaf_node *ln = &p->update.leaf_node;
    mls_buf_reset(&ln->encryption_key);
    CHECK_OK(mls_buf_append(&ln->encryption_key, leaf_enc_key(2).p, leaf_enc_key(2).n));
    CHECK_OK(mls_identity_sign_leaf(M[1].id, env, ln, mls_buf_view(&M[1].g->cur.ctx.group_id),
                                    1));
}

/* RFC 9420 §7.3 for an Update in a commit: encryption key unique in the
 * new tree, required capabilities of the group. */
static void test_update_leaf_vs_group(void)
{
    mls_proposal p;
    craft c;
    mls_buf msg, ref;

    BEGIN();
    mls_buf_init(&msg);
    mls_buf_init(&ref);
    memset(&c, 0, sizeof(c));
    memset(&p, 0, sizeof(p));
    p.type = MLS_PROPOSAL_UPDATE;
    update_leaf(&M[1], &p.update.leaf_node, NULL);
    upd_enc_key_of_c(&p);
    propose_all(1, &p, &ref);
    mls_proposal_clear(&p);
    por_ref(&c.por[c.n++], &ref);
    c.path = 1;
    commit_of(0, &c, &msg);
    REJECTS(M[3].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    mls_group_clear_pending_proposals(M[0].g);
    mls_group_clear_pending_proposals(M[3].g);

    /* The group requires EXT_ABC; B's Update drops it. */
    {
        mls_commit_options o;
        uint32_t d = 3;
        mls_buf rc;
        mls_ext r;
        mls_buf_init(&rc);
        required_caps(EXT_ABC, 0, &rc);
        r.type = MLS_EXT_REQUIRED_CAPABILITIES;
        r.data = mls_buf_view(&rc);
        memset(&o, 0, sizeof(o));
        o.remove = &d;
        o.n_remove = 1;
        o.set_extensions = &r;
        o.n_set_extensions = 1;
        api_commit(0, &o);
        mls_buf_clear(&rc);
    }
    memset(&p, 0, sizeof(p));
    p.type = MLS_PROPOSAL_UPDATE;
    update_leaf(&M[1], &p.update.leaf_node, NULL);
    u16_remove(&p.update.leaf_node.capabilities.extensions, EXT_ABC);
    CHECK_OK(mls_identity_sign_leaf(M[1].id, env, &p.update.leaf_node,
                                    mls_buf_view(&M[1].g->cur.ctx.group_id), 1));
    propose_all(1, &p, &ref);
    mls_proposal_clear(&p);
    por_ref(&c.por[c.n++], &ref);
    c.path = 1;
    commit_of(0, &c, &msg);
    REJECTS(M[2].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    mls_buf_clear(&msg);
    mls_buf_clear(&ref);
    fixture_teardown();
}

/* RFC 9420 §12.2: no Update from the committer, by value or reference. */
static void test_update_by_committer(void)
{
    craft c;
    mls_buf msg, ref;

    BEGIN();
    mls_buf_init(&msg);
    mls_buf_init(&ref);
    memset(&c, 0, sizeof(c));
    por_value(&c.por[c.n], MLS_PROPOSAL_UPDATE);
    update_leaf(&M[0], &c.por[c.n++].proposal.update.leaf_node, NULL);
    c.path = 1;
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    propose_update_api(2, &ref);
    por_ref(&c.por[c.n++], &ref);
    c.path = 1;
    commit_of(2, &c, &msg);
    REJECTS(M[0].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    /* The same proposal committed by another member is fine. */
    commit_of(1, &c, &msg);
    CHECK_OK(accepts_copy(M[0].g, mls_buf_view(&msg), NULL));
    craft_clear(&c);
    mls_buf_clear(&msg);
    mls_buf_clear(&ref);
    fixture_teardown();
}

/* RFC 9420 §12.2: at most one Update or Remove per leaf. */
static void test_update_remove_same_leaf(void)
{
    craft c;
    mls_buf msg, r1, r2;

    BEGIN();
    mls_buf_init(&msg);
    mls_buf_init(&r1);
    mls_buf_init(&r2);
    memset(&c, 0, sizeof(c));
    propose_update_api(1, &r1);
    propose_update_api(1, &r2);
    /* Update and Remove of B. */
    por_ref(&c.por[c.n++], &r1);
    por_remove(&c.por[c.n++], 1);
    c.path = 1;
    commit_of(0, &c, &msg);
    REJECTS(M[2].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    /* Two Updates of B. */
    por_ref(&c.por[c.n++], &r1);
    por_ref(&c.por[c.n++], &r2);
    c.path = 1;
    commit_of(0, &c, &msg);
    REJECTS(M[2].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    /* Two Removes of D. */
    por_remove(&c.por[c.n++], 3);
    por_remove(&c.por[c.n++], 3);
    c.path = 1;
    commit_of(0, &c, &msg);
    REJECTS(M[2].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    /* The library's commit of all pending proposals prefers the Remove. */
    {
        mls_commit_options o;
        uint32_t b = 1;
        mls_staged_commit *sc = NULL;
        memset(&o, 0, sizeof(o));
        o.remove = &b;
        o.n_remove = 1;
        o.include_pending_proposals = 1;
        CHECK_OK(mls_group_commit(M[0].g, &o, &sc));
        if (sc)
            CHECK_OK(accepts_copy(M[2].g, mls_staged_commit_message(sc), NULL));
        mls_staged_commit_free(sc);
    }
    mls_buf_clear(&msg);
    mls_buf_clear(&r1);
    mls_buf_clear(&r2);
    fixture_teardown();
}

/* ---------------------------------------------------------------- §12.1.3 Remove */

/* RFC 9420 §12.1.3: a Remove names a non-blank leaf; §12.2: not the
 * committer. */
static void test_remove_rules(void)
{
    craft c;
    mls_buf msg;
    mls_staged_commit *sc = NULL;
    uint32_t leaf;

    BEGIN();
    mls_buf_init(&msg);
    memset(&c, 0, sizeof(c));
    por_remove(&c.por[c.n++], 99);
    c.path = 1;
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    leaf = 99;
    CHECK_ERR(mls_group_remove_members(M[0].g, &leaf, 1, &sc), MLS_ERR_INVALID);
    craft_clear(&c);
    /* The committer itself; mls_error_detail names the rule on both the
     * receiving and the sending side. */
    por_remove(&c.por[c.n++], 0);
    commit_of(0, &c, &msg);
    mls_error_detail_clear();
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    CHECK(strstr(mls_error_detail(), "RFC 9420 §12.2: the committer removes itself") != NULL);
    leaf = 0;
    mls_error_detail_clear();
    CHECK_ERR(mls_group_remove_members(M[0].g, &leaf, 1, &sc), MLS_ERR_INVALID);
    CHECK(strstr(mls_error_detail(), "mls_proposals_validate_env: RFC 9420 §12.2") != NULL);
    craft_clear(&c);
    /* A blank leaf: D is removed first. */
    leaf = 3;
    {
        mls_commit_options o;
        memset(&o, 0, sizeof(o));
        o.remove = &leaf;
        o.n_remove = 1;
        api_commit(0, &o);
    }
    CHECK(mls_group_leaf_count(M[1].g) == 4);
    por_remove(&c.por[c.n++], 3);
    c.path = 1;
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    CHECK_ERR(mls_group_remove_members(M[0].g, &leaf, 1, &sc), MLS_ERR_INVALID);
    craft_clear(&c);
    mls_buf_clear(&msg);
    fixture_teardown();
}

/* ---------------------------------------------------------------- §12.1.4 PSK */

static int psk_lookup(void *ctx, mls_bytes id, mls_buf *psk)
{
    (void)ctx;
    if (id.n != 4 || memcmp(id.p, "psk1", 4) != 0)
        return MLS_ERR_NOT_FOUND;
    return mls_buf_set(psk, "0123456789abcdef", 16);
}

/* RFC 9420 §12.1.4, §12.2: PSK proposals: nonce of Nh bytes, no
 * resumption PSK of usage reinit/branch, no duplicate PreSharedKeyID,
 * every PSK available. */
static void test_psk_rules(void)
{
    mls_psk_store st;
    craft c;
    mls_buf msg;
    size_t nh;
    int i;

    BEGIN();
    mls_buf_init(&msg);
    memset(&c, 0, sizeof(c));
    memset(&st, 0, sizeof(st));
    st.external = psk_lookup;
    for (i = 0; i < 4; i++)
        mls_group_set_psk_store(M[i].g, &st);
    nh = M[0].g->suite->nh;
    /* Control. */
    por_psk(&c.por[c.n++], "psk1", nh);
    commit_of(0, &c, &msg);
    CHECK_OK(accepts_copy(M[1].g, mls_buf_view(&msg), NULL));
    craft_clear(&c);
    /* Duplicate. */
    por_psk(&c.por[c.n++], "psk1", nh);
    por_psk(&c.por[c.n++], "psk1", nh);
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    /* Nonce length. */
    por_psk(&c.por[c.n++], "psk1", nh - 1);
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    /* Resumption PSKs of this group with usage reinit and branch. */
    for (int usage = MLS_PSK_USAGE_REINIT; usage <= MLS_PSK_USAGE_BRANCH; usage++) {
        mls_psk_id *id;
        uint8_t nonce[MLS_MAX_HASH];
        por_value(&c.por[c.n], MLS_PROPOSAL_PSK);
        id = &c.por[c.n++].proposal.psk.psk;
        memset(nonce, 7, sizeof(nonce));
        id->type = MLS_PSK_RESUMPTION;
        id->usage = (uint8_t)usage;
        id->psk_epoch = mls_group_epoch(M[0].g);
        CHECK_OK(mls_buf_copy(&id->psk_group_id, &M[0].g->cur.ctx.group_id));
        CHECK_OK(mls_buf_set(&id->psk_nonce, nonce, nh));
        commit_of(0, &c, &msg);
        REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
        /* With usage application the same PSK is valid. */
        id->usage = MLS_PSK_USAGE_APPLICATION;
        commit_of(0, &c, &msg);
        CHECK_OK(accepts_copy(M[1].g, mls_buf_view(&msg), NULL));
        craft_clear(&c);
    }
    /* A PSK the receiver does not have (§12.4.2: all PSKs available). */
    mls_group_set_psk_store(M[1].g, NULL);
    por_psk(&c.por[c.n++], "psk1", nh);
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_NOT_FOUND);
    craft_clear(&c);
    mls_buf_clear(&msg);
    fixture_teardown();
}

/* ---------------------------------------------------------------- §12.1.5 ReInit */

static void por_reinit(mls_proposal_or_ref *x, uint16_t version)
{
    por_value(x, MLS_PROPOSAL_REINIT);
    CHECK_OK(mls_buf_set(&x->proposal.reinit.group_id, "new-group", 9));
    x->proposal.reinit.version = version;
    x->proposal.reinit.cipher_suite = SUITE;
}

/* RFC 9420 §12.2: a ReInit alone; §12.1.5: never a lower version. */
static void test_reinit_rules(void)
{
    craft c;
    mls_buf msg;
    mls_process_result r;

    BEGIN();
    mls_buf_init(&msg);
    memset(&c, 0, sizeof(c));
    memset(&r, 0, sizeof(r));
    por_reinit(&c.por[c.n++], MLS_VERSION_MLS10);
    commit_of(0, &c, &msg);
    CHECK_OK(accepts_copy(M[1].g, mls_buf_view(&msg), &r));
    CHECK(r.reinit == 1);
    mls_process_result_clear(&r);
    por_remove(&c.por[c.n++], 3);
    c.path = 1;
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    por_psk(&c.por[c.n++], "psk1", M[0].g->suite->nh);
    por_reinit(&c.por[c.n++], MLS_VERSION_MLS10);
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    por_reinit(&c.por[c.n++], 0);
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    mls_buf_clear(&msg);
    fixture_teardown();
}

/* ---------------------------------------------------------------- §12.1.6 ExternalInit */

/* RFC 9420 §12.2: no ExternalInit in a member's commit. */
static void test_external_init_in_member_commit(void)
{
    craft c;
    mls_buf msg;
    uint8_t kem[32];

    BEGIN();
    mls_buf_init(&msg);
    memset(&c, 0, sizeof(c));
    memset(kem, 9, sizeof(kem));
    por_value(&c.por[c.n], MLS_PROPOSAL_EXTERNAL_INIT);
    CHECK_OK(mls_buf_set(&c.por[c.n++].proposal.external_init.kem_output, kem, sizeof(kem)));
    c.path = 1;
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    /* Nor as a standalone proposal from a member. */
    CHECK_OK(craft_proposal(&M[0], &c.por[0].proposal, &msg, NULL));
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    mls_buf_clear(&msg);
    fixture_teardown();
}

/* ---------------------------------------------------------------- §12.1.7 GroupContextExtensions */

/* RFC 9420 §12.2: one GroupContextExtensions; §12.1.7, §13: extensions
 * and required capabilities supported by every member after the commit
 * (those added included, those removed excluded); unique types; known
 * extensions well-formed. */
static void test_gce_rules(void)
{
    craft c;
    mls_buf msg, rc, kp, bnd;
    mls_ext e[2];
    mls_identity *plain = NULL;

    BEGIN();
    mls_buf_init(&msg);
    mls_buf_init(&rc);
    mls_buf_init(&kp);
    mls_buf_init(&bnd);
    memset(&c, 0, sizeof(c));
    e[0].type = EXT_ALL;
    e[0].data = str_bytes("a");
    e[1].type = EXT_ABC;
    e[1].data = str_bytes("b");
    /* Control. */
    por_gce(&c.por[c.n++], e, 1);
    c.path = 1;
    commit_of(0, &c, &msg);
    CHECK_OK(accepts_copy(M[1].g, mls_buf_view(&msg), NULL));
    /* Two of them. */
    por_gce(&c.por[c.n++], e, 1);
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    /* An extension D does not support; valid if D is removed too. */
    por_gce(&c.por[c.n++], e, 2);
    c.path = 1;
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    por_remove(&c.por[c.n++], 3);
    commit_of(0, &c, &msg);
    CHECK_OK(accepts_copy(M[1].g, mls_buf_view(&msg), NULL));
    craft_clear(&c);
    /* Required capabilities D lacks; valid if D is removed too. */
    required_caps(EXT_ABC, 0, &rc);
    e[1].type = MLS_EXT_REQUIRED_CAPABILITIES;
    e[1].data = mls_buf_view(&rc);
    por_gce(&c.por[c.n++], &e[1], 1);
    c.path = 1;
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    por_remove(&c.por[c.n++], 3);
    commit_of(0, &c, &msg);
    CHECK_OK(accepts_copy(M[1].g, mls_buf_view(&msg), NULL));
    craft_clear(&c);
    /* A required credential type nobody supports. */
    required_caps(0, 0xF0F0, &rc);
    e[1].data = mls_buf_view(&rc);
    por_gce(&c.por[c.n++], &e[1], 1);
    c.path = 1;
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    /* Required EXT_ALL (all members support it) with an Add of a client
     * that does not. */
    required_caps(EXT_ALL, 0, &rc);
    e[1].data = mls_buf_view(&rc);
    CHECK_OK(mls_identity_generate(env, SUITE, str_bytes("plain"), &plain));
    CHECK_OK(mls_key_package_create(env, plain, NULL, &kp, &bnd));
    por_gce(&c.por[c.n++], &e[1], 1);
    c.path = 1;
    commit_of(0, &c, &msg);
    CHECK_OK(accepts_copy(M[1].g, mls_buf_view(&msg), NULL));
    por_add(&c.por[c.n++], mls_buf_view(&kp));
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    /* The same extension type twice; a malformed external_senders. */
    e[1] = e[0];
    por_gce(&c.por[c.n++], e, 2);
    c.path = 1;
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    CHECK_OK(craft_proposal(&M[0], &c.por[0].proposal, &msg, NULL));
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    e[0].type = MLS_EXT_EXTERNAL_SENDERS;
    e[0].data = str_bytes("\x05garbage");
    por_gce(&c.por[c.n++], e, 1);
    c.path = 1;
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    /* The library's own API refuses an unsupported extension. */
    {
        mls_staged_commit *sc = NULL;
        mls_ext bad = {EXT_NONE, {NULL, 0}};
        CHECK_ERR(mls_group_set_extensions(M[0].g, &bad, 1, &sc), MLS_ERR_INVALID);
        CHECK_ERR(mls_group_propose_extensions(M[0].g, &bad, 1, &msg), MLS_ERR_INVALID);
    }
    mls_identity_free(plain);
    mls_buf_clear(&msg);
    mls_buf_clear(&rc);
    mls_buf_clear(&kp);
    mls_buf_clear(&bnd);
    fixture_teardown();
}

/* RFC 9420 §12.2: a proposal type some member does not support.  The
 * library supports no non-default type, and the body of an unknown type
 * cannot be parsed: such a commit is refused as it is decoded. */
static void test_unsupported_proposal_type(void)
{
    static const uint8_t remove3[] = {1, 0x00, 0x03, 0, 0, 0, 3};
    craft c;
    mls_buf msg;
    size_t i;

    BEGIN();
    mls_buf_init(&msg);
    memset(&c, 0, sizeof(c));
    por_remove(&c.por[c.n++], 3);
    c.path = 1;
    commit_of(0, &c, &msg);
    /* ProposalOrRef{proposal, Proposal{remove, 3}} becomes type 0x0A0A. */
    for (i = 0; i + sizeof(remove3) <= msg.n; i++)
        if (memcmp(msg.p + i, remove3, sizeof(remove3)) == 0)
            break;
    CHECK(i + sizeof(remove3) <= msg.n);
    if (i + sizeof(remove3) <= msg.n) {
        msg.p[i + 1] = 0x0A;
        msg.p[i + 2] = 0x0A;
        REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_UNSUPPORTED);
    }
    craft_clear(&c);
    mls_buf_clear(&msg);
    fixture_teardown();
}

/* ---------------------------------------------------------------- §12.4 path required */

/* RFC 9420 §12.4: the path is required for an empty commit and with
 * Update, Remove, ExternalInit or GroupContextExtensions proposals. */
static void test_path_required(void)
{
    craft c;
    mls_buf msg, ref, kp;
    mls_ext e = {EXT_ALL, {(const uint8_t *)"a", 1}};
    member X;

    BEGIN();
    mls_buf_init(&msg);
    mls_buf_init(&ref);
    mls_buf_init(&kp);
    memset(&c, 0, sizeof(c));
    member_make(&X, "xavier", 1);
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    por_remove(&c.por[c.n++], 3);
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    por_gce(&c.por[c.n++], &e, 1);
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    propose_update_api(1, &ref);
    por_ref(&c.por[c.n++], &ref);
    commit_of(0, &c, &msg);
    REJECTS(M[2].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    /* An Add together with them does not help; alone it needs no path. */
    por_add(&c.por[c.n++], mls_buf_view(&X.kp));
    commit_of(0, &c, &msg);
    REJECTS(M[2].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    por_add(&c.por[c.n++], mls_buf_view(&X.kp));
    commit_of(0, &c, &msg);
    CHECK_OK(accepts_copy(M[2].g, mls_buf_view(&msg), NULL));
    craft_clear(&c);
    member_clear(&X);
    mls_buf_clear(&msg);
    mls_buf_clear(&ref);
    mls_buf_clear(&kp);
    fixture_teardown();
}

/* ---------------------------------------------------------------- §12.4.2 references, framing */

/* RFC 9420 §12.4.2: every reference names a proposal received in the
 * current epoch. */
static void test_proposal_references(void)
{
    craft c;
    mls_buf msg, ref;
    mls_proposal p;
    uint8_t junk[32];

    BEGIN();
    mls_buf_init(&msg);
    mls_buf_init(&ref);
    memset(&c, 0, sizeof(c));
    memset(junk, 0x33, sizeof(junk));
    CHECK_OK(mls_buf_set(&ref, junk, sizeof(junk)));
    por_ref(&c.por[c.n++], &ref);
    c.path = 1;
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    /* A proposal of the previous epoch. */
    memset(&p, 0, sizeof(p));
    p.type = MLS_PROPOSAL_REMOVE;
    p.remove.removed = 3;
    propose_all(1, &p, &ref);
    api_commit(2, NULL);
    por_ref(&c.por[c.n++], &ref);
    c.path = 1;
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    craft_clear(&c);
    mls_buf_clear(&msg);
    mls_buf_clear(&ref);
    fixture_teardown();
}

static void sender_index(mls_framed_content *fc, void *arg)
{
    fc->sender.index = *(const uint32_t *)arg;
}

/* RFC 9420 §12.4.2: confirmation tag, membership tag, epoch, group id,
 * sender (a non-blank leaf of the tree). */
static void test_commit_authentication(void)
{
    craft c;
    mls_buf msg, old;
    uint32_t idx;

    BEGIN();
    mls_buf_init(&msg);
    mls_buf_init(&old);
    memset(&c, 0, sizeof(c));
    c.path = 1;
    c.bad_conf_tag = 1;
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_MAC);
    c.bad_conf_tag = 0;
    commit_of(0, &c, &msg);
    CHECK_OK(mls_buf_copy(&old, &msg));
    /* The membership tag ends a member's PublicMessage. */
    msg.p[msg.n - 1] ^= 1;
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_MAC);
    msg.p[msg.n - 1] ^= 1;
    /* group_id starts at byte 5 (after version, wire format, length). */
    msg.p[5] ^= 1;
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_WRONG_GROUP);
    msg.p[5] ^= 1;
    /* Sender outside the tree, then a blank leaf. */
    idx = 99;
    c.content_hook = sender_index;
    c.arg = &idx;
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    c.content_hook = NULL;
    {
        uint32_t d = 3;
        mls_commit_options o;
        memset(&o, 0, sizeof(o));
        o.remove = &d;
        o.n_remove = 1;
        api_commit(2, &o);
    }
    /* An old epoch's commit. */
    REJECTS(M[1].g, mls_buf_view(&old), MLS_ERR_WRONG_EPOCH);
    idx = 3;
    c.content_hook = sender_index;
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    /* Signed by A as C. */
    idx = 2;
    commit_of(0, &c, &msg);
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_SIGNATURE);
    craft_clear(&c);
    mls_buf_clear(&msg);
    mls_buf_clear(&old);
    fixture_teardown();
}

/* ---------------------------------------------------------------- §7.3, §12.4.2 commit path */

enum leaf_mut {
    LEAF_RESIGN_ONLY = 1,
    LEAF_SOURCE_UPDATE,
    LEAF_SAME_ENC_KEY,
    LEAF_ENC_KEY_OF_B,
    LEAF_SIG_KEY_OF_B,
    LEAF_SIG,
    LEAF_NO_REQUIRED_EXT,
    LEAF_CUSTOM_CRED,
    LEAF_EXT_NOT_IN_CAPS,
    LEAF_PARENT_HASH
};

static void leaf_mutate(member *m, mls_leaf_node *ln, void *arg)
{
    int mode = *(const int *)arg;
    const mls_identity *signer = m->id;
    mls_bytes gid = mls_buf_view(&m->g->cur.ctx.group_id);
    uint32_t own = m->g->cur.priv.leaf;

    switch (mode) {
    case LEAF_SOURCE_UPDATE:
        ln->source = MLS_LEAF_SOURCE_UPDATE;
        break;
    case LEAF_SAME_ENC_KEY:
        mls_buf_reset(&ln->encryption_key);
        CHECK_OK(mls_buf_append(&ln->encryption_key, leaf_enc_key(0).p, leaf_enc_key(0).n));
        break;
    case LEAF_ENC_KEY_OF_B:
        mls_buf_reset(&ln->encryption_key);
        CHECK_OK(mls_buf_append(&ln->encryption_key, leaf_enc_key(1).p, leaf_enc_key(1).n));
        break;
    case LEAF_SIG_KEY_OF_B:
        mls_buf_clear(&ln->signature_key);
        CHECK_OK(mls_buf_copy(&ln->signature_key, &M[1].id->sig_pk));
        signer = M[1].id;
        break;
    case LEAF_NO_REQUIRED_EXT:
        u16_remove(&ln->capabilities.extensions, EXT_ALL);
        break;
    case LEAF_CUSTOM_CRED: {
        uint16_t *nv = realloc(ln->capabilities.credentials.v,
                               (ln->capabilities.credentials.n + 1) * sizeof(uint16_t));
        if (!nv)
            break;
        ln->capabilities.credentials.v = nv;
        nv[ln->capabilities.credentials.n++] = 0xF0F0;
        mls_credential_clear(&ln->credential);
        ln->credential.type = 0xF0F0;
        CHECK_OK(mls_buf_set(&ln->credential.opaque_body, "alice", 5));
        break;
    }
    case LEAF_EXT_NOT_IN_CAPS:
        ext_append(&ln->extensions, EXT_NONE);
        break;
    case LEAF_PARENT_HASH:
        ln->parent_hash.p[0] ^= 1;
        break;
    default:
        break;
    }
    CHECK_OK(mls_identity_sign_leaf(signer, env, ln, gid, own));
    if (mode == LEAF_SIG)
        ln->signature.p[0] ^= 1;
}

/* RFC 9420 §12.4.2, §7.3: the committer's new leaf in the UpdatePath:
 * source commit, a new encryption key, keys unique in the tree, a valid
 * signature, the group's required capabilities, credential types
 * supported both ways, its extensions listed, the parent hash.  (Suite
 * and version in the capabilities are checked for KeyPackages and Updates
 * only: §7.3 does not list them and the interop vectors' trees omit
 * them.) */
static void test_commit_path_leaf(void)
{
    static const int modes[] = {LEAF_SOURCE_UPDATE, LEAF_SAME_ENC_KEY,    LEAF_ENC_KEY_OF_B,
                                LEAF_SIG_KEY_OF_B,  LEAF_SIG,             LEAF_NO_REQUIRED_EXT,
                                LEAF_CUSTOM_CRED,   LEAF_EXT_NOT_IN_CAPS, LEAF_PARENT_HASH};
    craft c;
    mls_buf msg;
    int mode = LEAF_RESIGN_ONLY;

    BEGIN();
    mls_buf_init(&msg);
    memset(&c, 0, sizeof(c));
    require_extension(EXT_ALL);
    c.path = 1;
    c.leaf_hook = leaf_mutate;
    c.arg = &mode;
    commit_of(0, &c, &msg);
    CHECK_OK(accepts_copy(M[1].g, mls_buf_view(&msg), NULL));
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        mode = modes[i];
        int err;
        commit_of(0, &c, &msg);
        err = rejects_(M[1].g, mls_buf_view(&msg), __LINE__);
        test_checks++;
        if (err != MLS_ERR_INVALID && err != MLS_ERR_SIGNATURE) {
            test_failures++;
            fprintf(stderr, "path leaf mode %d: %s\n", mode, mls_errname(err));
        }
    }
    craft_clear(&c);
    mls_buf_clear(&msg);
    fixture_teardown();
}

/* Which key a path node gets in path_mutate. */
enum path_mut { PATH_SAME = 1, PATH_DROP_NODE, PATH_KEY_OF_LEAF, PATH_KEY_OF_PARENT, PATH_KEY_TWICE };

/* Gives UpdatePath node 0 another key (or drops the last node) and
 * recomputes the parent hashes and the leaf's signature, so that only the
 * key's uniqueness is wrong. */
static void path_mutate(member *m, mls_epoch_state *next, mls_treekem_pending *pd, void *arg)
{
    int mode = *(const int *)arg;
    mls_update_path *up = &pd->update_path;
    mls_bytes pks[MLS_TREE_MAX_DEPTH];
    uint8_t phs[MLS_TREE_MAX_DEPTH][MLS_MAX_HASH];
    mls_bytes key;
    uint8_t copy[256];
    const mls_suite *s = m->g->suite;

    if (mode == PATH_DROP_NODE || up->n_nodes < 2)
        return;
    switch (mode) {
    case PATH_KEY_OF_LEAF:
        key = leaf_enc_key(3);
        break;
    case PATH_SAME:
        key = mls_buf_view(&up->nodes[0].encryption_key);
        break;
    case PATH_KEY_OF_PARENT:
        /* Node 5 (parent of leaves 2 and 3) is not on A's path. */
        key = mls_rtree_node_public_key(&m->g->cur.tree, 5);
        break;
    default:
        key = mls_buf_view(&up->nodes[1].encryption_key);
        break;
    }
    CHECK(key.n == s->kem_npk && key.n <= sizeof(copy));
    memcpy(copy, key.p, key.n);
    mls_buf_reset(&up->nodes[0].encryption_key);
    CHECK_OK(mls_buf_append(&up->nodes[0].encryption_key, copy, key.n));
    for (size_t i = 0; i < up->n_nodes; i++)
        pks[i] = mls_buf_view(&up->nodes[i].encryption_key);
    CHECK_OK(mls_rtree_path_parent_hashes(&next->tree, pd->path, pd->copath, pd->len, pks, phs));
    mls_buf_reset(&up->leaf_node.parent_hash);
    CHECK_OK(mls_buf_append(&up->leaf_node.parent_hash, phs[0], s->nh));
    CHECK_OK(mls_identity_sign_leaf(m->id, env, &up->leaf_node,
                                    mls_buf_view(&m->g->cur.ctx.group_id), m->g->cur.priv.leaf));
    /* The committer's provisional tree as receivers will merge it, so that
     * the path secrets are encrypted under the GroupContext they expect. */
    for (size_t i = 0; i < pd->len; i++) {
        mls_parent_node pn;
        memset(&pn, 0, sizeof(pn));
        CHECK_OK(mls_buf_append(&pn.encryption_key, pks[i].p, pks[i].n));
        if (i + 1 < pd->len)
            CHECK_OK(mls_buf_append(&pn.parent_hash, phs[i + 1], s->nh));
        CHECK_OK(mls_rtree_set_parent(&next->tree, pd->path[i], &pn));
        mls_parent_node_clear(&pn);
    }
    CHECK_OK(mls_rtree_set_leaf(&next->tree, m->g->cur.priv.leaf, &up->leaf_node));
}

/* PATH_DROP_NODE: the sent UpdatePath lacks its last node (dropped after
 * encryption, so that the UpdatePath is otherwise whole). */
static void drop_last_node(mls_framed_content *fc, void *arg)
{
    mls_update_path *up = &fc->commit.path;
    if (*(const int *)arg != PATH_DROP_NODE || !up->n_nodes)
        return;
    mls_update_path_node_clear(&up->nodes[up->n_nodes - 1]);
    up->n_nodes--;
}

/* RFC 9420 §12.4.2: one UpdatePath node per filtered direct path node;
 * none of the UpdatePath's public keys appears elsewhere in the new tree
 * (nor twice in the path). */
static void test_commit_path_nodes(void)
{
    static const int modes[] = {PATH_DROP_NODE, PATH_KEY_OF_LEAF, PATH_KEY_OF_PARENT,
                                PATH_KEY_TWICE};
    craft c;
    mls_buf msg;
    int mode;

    BEGIN();
    mls_buf_init(&msg);
    memset(&c, 0, sizeof(c));
    /* C commits so that node 5 gets a key. */
    api_commit(2, NULL);
    CHECK(mls_rtree_node_public_key(&M[0].g->cur.tree, 5).n > 0);
    c.path = 1;
    c.path_hook = path_mutate;
    c.content_hook = drop_last_node;
    c.arg = &mode;
    /* Control: the hook's recomputation alone keeps the commit valid. */
    mode = PATH_SAME;
    commit_of(0, &c, &msg);
    CHECK_OK(accepts_copy(M[1].g, mls_buf_view(&msg), NULL));
    CHECK_OK(accepts_copy(M[3].g, mls_buf_view(&msg), NULL));
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        mode = modes[i];
        commit_of(0, &c, &msg);
        REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
        REJECTS(M[3].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    }
    craft_clear(&c);
    mls_buf_clear(&msg);
    fixture_teardown();
}

/* ---------------------------------------------------------------- §12.1.8 external proposals */

/* RFC 9420 §12.1.8: proposals from external senders listed in the
 * external_senders extension (add, remove, psk, reinit,
 * group_context_extensions only), and new_member_proposal Adds. */
static void test_external_proposals(void)
{
    mls_identity *E = NULL, *F = NULL;
    mls_external_senders xs;
    mls_buf xs_enc, msg;
    mls_proposal p;
    mls_sender snd;
    mls_process_result r;
    member X;

    BEGIN();
    mls_buf_init(&xs_enc);
    mls_buf_init(&msg);
    memset(&xs, 0, sizeof(xs));
    memset(&p, 0, sizeof(p));
    memset(&r, 0, sizeof(r));
    member_make(&X, "xavier", 1);
    CHECK_OK(mls_identity_generate(env, SUITE, str_bytes("server"), &E));
    CHECK_OK(mls_identity_generate(env, SUITE, str_bytes("other"), &F));
    p.type = MLS_PROPOSAL_REMOVE;
    p.remove.removed = 3;
    snd.type = MLS_SENDER_EXTERNAL;
    snd.index = 0;
    /* Without the extension: refused. */
    CHECK_OK(craft_proposal_as(&M[0], snd, mls_buf_view(&E->sig_sk), &p, &msg, NULL));
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    /* The group lists E as external sender 0. */
    xs.v = calloc(1, sizeof(*xs.v));
    if (xs.v) {
        xs.n = 1;
        CHECK_OK(mls_buf_copy(&xs.v[0].signature_key, &E->sig_pk));
        CHECK_OK(mls_credential_copy(&xs.v[0].credential, &E->cred));
    }
    CHECK_OK(mls_external_senders_encode(&xs, &xs_enc));
    {
        mls_ext e = {MLS_EXT_EXTERNAL_SENDERS, mls_buf_view(&xs_enc)};
        api_set_extensions(&e, 1);
    }
    CHECK_OK(craft_proposal_as(&M[0], snd, mls_buf_view(&E->sig_sk), &p, &msg, NULL));
    CHECK_OK(accepts_copy(M[1].g, mls_buf_view(&msg), &r));
    CHECK(r.kind == MLS_RESULT_PROPOSAL && r.sender_type == MLS_SENDER_EXTERNAL);
    mls_process_result_clear(&r);
    /* Signed by another key, or an index beyond the list. */
    CHECK_OK(craft_proposal_as(&M[0], snd, mls_buf_view(&F->sig_sk), &p, &msg, NULL));
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_SIGNATURE);
    snd.index = 1;
    CHECK_OK(craft_proposal_as(&M[0], snd, mls_buf_view(&E->sig_sk), &p, &msg, NULL));
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    snd.index = 0;
    /* An Update or ExternalInit from an external sender. */
    p.type = MLS_PROPOSAL_UPDATE;
    update_leaf(&M[1], &p.update.leaf_node, NULL);
    CHECK_OK(craft_proposal_as(&M[0], snd, mls_buf_view(&E->sig_sk), &p, &msg, NULL));
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    mls_proposal_clear(&p);
    p.type = MLS_PROPOSAL_EXTERNAL_INIT;
    CHECK_OK(mls_buf_set(&p.external_init.kem_output, "0123456789abcdef0123456789abcdef", 32));
    CHECK_OK(craft_proposal_as(&M[0], snd, mls_buf_view(&E->sig_sk), &p, &msg, NULL));
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    mls_proposal_clear(&p);
    /* new_member_proposal: an Add of the sender's own KeyPackage only. */
    snd.type = MLS_SENDER_NEW_MEMBER_PROPOSAL;
    snd.index = 0;
    p.type = MLS_PROPOSAL_ADD;
    CHECK_OK(mls_key_package_from_message(mls_buf_view(&X.kp), &p.add.key_package));
    CHECK_OK(craft_proposal_as(&M[0], snd, mls_buf_view(&X.id->sig_sk), &p, &msg, NULL));
    CHECK_OK(accepts_copy(M[1].g, mls_buf_view(&msg), &r));
    CHECK(r.kind == MLS_RESULT_PROPOSAL && r.sender_type == MLS_SENDER_NEW_MEMBER_PROPOSAL);
    mls_process_result_clear(&r);
    CHECK_OK(craft_proposal_as(&M[0], snd, mls_buf_view(&F->sig_sk), &p, &msg, NULL));
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_SIGNATURE);
    mls_proposal_clear(&p);
    p.type = MLS_PROPOSAL_REMOVE;
    p.remove.removed = 3;
    /* Anything else is refused by the framing's sender rules (RFC 9420
     * §6, tested in test_framing), which apply on both sides. */
    CHECK_ERR(craft_proposal_as(&M[0], snd, mls_buf_view(&X.id->sig_sk), &p, &msg, NULL),
              MLS_ERR_INVALID);
    /* The external Remove, stored by everyone and committed by reference. */
    snd.type = MLS_SENDER_EXTERNAL;
    CHECK_OK(craft_proposal_as(&M[0], snd, mls_buf_view(&E->sig_sk), &p, &msg, NULL));
    CHECK_OK(all_process(mls_buf_view(&msg), -1));
    {
        mls_commit_options o;
        memset(&o, 0, sizeof(o));
        o.include_pending_proposals = 1;
        api_commit(1, &o);
    }
    CHECK(!mls_group_is_active(M[3].g) && mls_group_member_count(M[0].g) == 3);
    mls_external_senders_clear(&xs);
    mls_identity_free(E);
    mls_identity_free(F);
    member_clear(&X);
    mls_buf_clear(&xs_enc);
    mls_buf_clear(&msg);
    fixture_teardown();
}

int main(void)
{
    env = mls_env_default();
    test_control_crafted_commits();
    test_add_invalid_key_package();
    test_add_expired_key_package_sender();
    test_add_duplicate_client();
    test_add_existing_member();
    test_add_leaf_vs_tree();
    test_add_capabilities();
    test_update_invalid_leaf();
    test_update_leaf_vs_group();
    test_update_by_committer();
    test_update_remove_same_leaf();
    test_remove_rules();
    test_psk_rules();
    test_reinit_rules();
    test_external_init_in_member_commit();
    test_gce_rules();
    test_unsupported_proposal_type();
    test_path_required();
    test_proposal_references();
    test_commit_authentication();
    test_commit_path_leaf();
    test_commit_path_nodes();
    test_external_proposals();
    TEST_MAIN_END("test_rules");
}
