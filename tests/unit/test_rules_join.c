/*
 * RFC 9420 validity rules for joining, one test per rule (the table in
 * docs/libmls.md): §12.4.3.1 joining from a Welcome (KeyPackage lookup,
 * GroupSecrets, PSKs, GroupInfo signature and suite, tree hash, parent
 * hashes, leaves, own leaf, path secret, GroupContext extensions,
 * confirmation tag) and §12.4.3.2 external commits (exactly one
 * ExternalInit, only Remove and PSK besides, no references, a path, the
 * Remove of the joiner's own old leaf).  Welcomes are built from a real
 * staged commit's secrets with one thing wrong; external commits are
 * built complete and consistent by the test (rules_fixture.h).
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

/* ---------------------------------------------------------------- Welcome */

typedef struct wcraft {
    void (*gi_hook)(mls_group_info *gi, void *arg);   /* re-signs if it wants */
    void (*gs_hook)(mls_group_secrets *gs, void *arg);
    void *arg;
    int corrupt_secrets;
} wcraft;

static mls_staged_commit *cur_sc; /* the commit the Welcomes are for */

/* Signs gi as A. */
static void gi_resign(mls_group_info *gi)
{
    mls_buf_clear(&gi->signature);
    CHECK_OK(mls_group_info_sign(M[0].g->suite, env, gi, mls_buf_view(&M[0].id->sig_sk)));
}

/*
 * A Welcome from A for kp, in the epoch of cur_sc (an Add commit of A
 * without path): GroupInfo of the new epoch with the tree, GroupSecrets
 * with the joiner secret, welcome secret from it and the GroupSecrets'
 * PSKs (looked up in A's group).
 */
static int craft_welcome(const mls_key_package *kp, const wcraft *w, mls_buf *out)
{
    const mls_suite *s = M[0].g->suite;
    mls_epoch_state *next = &cur_sc->next;
    mls_group_info gi;
    mls_group_secrets gs;
    mls_message m;
    const mls_psk_id *ids[4];
    uint8_t psk[MLS_MAX_HASH], ws[MLS_MAX_HASH];
    size_t psk_len = 0;
    int err;

    memset(&gi, 0, sizeof(gi));
    memset(&gs, 0, sizeof(gs));
    memset(&m, 0, sizeof(m));
    if ((err = mls_group_make_group_info(M[0].g, next, 1, &gi)) != 0)
        goto out;
    if (w && w->gi_hook)
        w->gi_hook(&gi, w->arg);
    if ((err = mls_buf_set(&gs.joiner_secret, next->sec.joiner_secret, s->nh)) != 0)
        goto out;
    if (w && w->gs_hook)
        w->gs_hook(&gs, w->arg);
    for (size_t i = 0; i < gs.n_psks && i < 4; i++)
        ids[i] = &gs.psks[i];
    /* A PSK A does not know: welcome secret without it. */
    if (gs.n_psks && mls_group_psk_secret(M[0].g, NULL, ids, gs.n_psks, psk, &psk_len) != 0)
        psk_len = 0;
    if ((err = mls_welcome_secret(s, mls_buf_view(&gs.joiner_secret), mls_bytes_of(psk, psk_len),
                                  ws)) != 0)
        goto out;
    m.version = MLS_VERSION_MLS10;
    m.wire_format = MLS_WIRE_WELCOME;
    m.welcome.cipher_suite = s->id;
    m.welcome.secrets = calloc(1, sizeof(mls_encrypted_group_secrets));
    if (!m.welcome.secrets) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    m.welcome.n_secrets = 1;
    if ((err = mls_welcome_encrypt_group_info(s, mls_bytes_of(ws, s->nh), &gi,
                                              &m.welcome.encrypted_group_info)) != 0 ||
        (err = mls_key_package_ref(s, kp, &m.welcome.secrets[0].new_member)) != 0 ||
        (err = mls_welcome_encrypt_group_secrets(
             s, env, mls_buf_view(&kp->init_key), mls_buf_view(&m.welcome.encrypted_group_info),
             &gs, &m.welcome.secrets[0].encrypted_group_secrets)) != 0)
        goto out;
    if (w && w->corrupt_secrets)
        m.welcome.secrets[0].encrypted_group_secrets.ciphertext.p[0] ^= 1;
    mls_buf_reset(out);
    err = mls_message_encode(&m, out);
out:
    mls_wipe(psk, sizeof(psk));
    mls_wipe(ws, sizeof(ws));
    mls_group_info_clear(&gi);
    mls_group_secrets_clear(&gs);
    mls_message_clear(&m);
    return err;
}

/* The joiner (identity id, bundle) joins from welcome; returns the error
 * and checks that no group came out of a failure. */
static int join_with(const mls_identity *id, const mls_buf *bundle, const mls_buf *welcome,
                     const mls_join_options *jo, mls_group **out)
{
    mls_group *g = NULL;
    mls_bytes b = mls_buf_view(bundle);
    int err = mls_group_join(env, id, mls_buf_view(welcome), &b, 1, jo, NULL, &g);
    CHECK(err ? g == NULL : g != NULL);
    if (out)
        *out = g;
    else
        mls_group_free(g);
    return err;
}

static void gi_flip_signature(mls_group_info *gi, void *arg)
{
    (void)arg;
    gi->signature.p[0] ^= 1;
}

static void gi_signer(mls_group_info *gi, void *arg)
{
    gi->signer = *(const uint32_t *)arg;
    gi_resign(gi);
}

static void gi_tree_hash(mls_group_info *gi, void *arg)
{
    (void)arg;
    gi->group_context.tree_hash.p[0] ^= 1;
    gi_resign(gi);
}

static void gi_conf_tag(mls_group_info *gi, void *arg)
{
    (void)arg;
    gi->confirmation_tag.p[0] ^= 1;
    gi_resign(gi);
}

static void gi_suite(mls_group_info *gi, void *arg)
{
    (void)arg;
    gi->group_context.cipher_suite = MLS_SUITE_P256_AES128GCM_SHA256_P256;
    gi_resign(gi);
}

static void gi_no_tree(mls_group_info *gi, void *arg)
{
    (void)arg;
    for (size_t i = 0; i < gi->extensions.n; i++)
        if (gi->extensions.v[i].type == MLS_EXT_RATCHET_TREE)
            gi->extensions.v[i].type = 0xF0AA; /* an unknown one, ignored */
    gi_resign(gi);
}

static void gi_gc_extension(mls_group_info *gi, void *arg)
{
    mls_extension_list *l = &gi->group_context.extensions;
    mls_extension *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
    (void)arg;
    if (!nv)
        return;
    l->v = nv;
    memset(&l->v[l->n], 0, sizeof(mls_extension));
    l->v[l->n++].type = EXT_NONE;
    gi_resign(gi);
}

/* Which node of the GroupInfo's tree gi_bad_tree breaks. */
enum tree_mut { TREE_PARENT_HASH = 1, TREE_LEAF_SIGNATURE };

/* Breaks the ratchet_tree extension, then fixes the GroupContext's
 * tree_hash to the broken tree and re-signs: only the tree's own
 * validity is wrong. */
static void gi_bad_tree(mls_group_info *gi, void *arg)
{
    int mode = *(const int *)arg;
    mls_extension *e = NULL;
    mls_ratchet_tree rt;
    mls_rtree t;
    uint8_t h[MLS_MAX_HASH];
    const mls_suite *s = M[0].g->suite;

    memset(&rt, 0, sizeof(rt));
    memset(&t, 0, sizeof(t));
    for (size_t i = 0; i < gi->extensions.n; i++)
        if (gi->extensions.v[i].type == MLS_EXT_RATCHET_TREE)
            e = &gi->extensions.v[i];
    if (!e)
        return;
    CHECK_OK(mls_ratchet_tree_decode_bytes(mls_buf_view(&e->data), &rt));
    for (size_t i = 0; i < rt.n; i++) {
        mls_node *nd = &rt.nodes[i];
        if (mode == TREE_PARENT_HASH && nd->type == MLS_NODE_PARENT &&
            nd->parent.parent_hash.n) {
            nd->parent.parent_hash.p[0] ^= 1;
            break;
        }
        if (mode == TREE_LEAF_SIGNATURE && nd->type == MLS_NODE_LEAF && i == 2) {
            nd->leaf.signature.p[0] ^= 1;
            break;
        }
    }
    mls_buf_reset(&e->data);
    CHECK_OK(mls_ratchet_tree_encode(&rt, &e->data));
    CHECK_OK(mls_rtree_import(&t, s, &rt));
    CHECK_OK(mls_rtree_root_hash(&t, h));
    mls_buf_reset(&gi->group_context.tree_hash);
    CHECK_OK(mls_buf_append(&gi->group_context.tree_hash, h, s->nh));
    gi_resign(gi);
    mls_rtree_clear(&t);
    mls_ratchet_tree_clear(&rt);
}

typedef struct psk_spec {
    int n;
    uint8_t type, usage;
    size_t nonce_len;
    const char *name;
    uint64_t epoch;
} psk_spec;

static void gs_psks(mls_group_secrets *gs, void *arg)
{
    const psk_spec *ps = arg;
    gs->psks = calloc((size_t)ps->n + 1, sizeof(mls_psk_id));
    for (int i = 0; gs->psks && i < ps->n; i++) {
        mls_psk_id *id = &gs->psks[i];
        psk_external(id, ps->name, ps->nonce_len);
        id->psk_nonce.p[0] = (uint8_t)i;
        if (ps->type == MLS_PSK_RESUMPTION) {
            id->type = MLS_PSK_RESUMPTION;
            id->usage = ps->usage;
            id->psk_epoch = ps->epoch;
            CHECK_OK(mls_buf_copy(&id->psk_group_id, &M[0].g->cur.ctx.group_id));
        }
        gs->n_psks = (size_t)i + 1;
    }
}

static void gs_path_secret(mls_group_secrets *gs, void *arg)
{
    uint8_t junk[MLS_MAX_HASH];
    (void)arg;
    memset(junk, 0x42, sizeof(junk));
    gs->has_path_secret = 1;
    CHECK_OK(mls_buf_set(&gs->path_secret, junk, M[0].g->suite->nh));
}

static int resumption_of_a(void *ctx, mls_bytes group_id, uint64_t epoch, mls_buf *psk)
{
    mls_psk_id id;
    int err;
    (void)ctx;
    memset(&id, 0, sizeof(id));
    id.type = MLS_PSK_RESUMPTION;
    id.psk_epoch = epoch;
    if ((err = mls_buf_set(&id.psk_group_id, group_id.p, group_id.n)) == 0)
        err = mls_group_psk_value(M[0].g, NULL, &id, psk);
    mls_psk_id_clear(&id);
    return err;
}

static void kp_other_lifetime(mls_key_package *kp, void *arg)
{
    (void)arg;
    kp->leaf_node.lifetime.not_after -= 1;
}

/* RFC 9420 §12.4.3.1, step by step. */
static void test_welcome_rules(void)
{
    member X, Y;
    mls_kp_bundle xb;
    mls_buf w, bundle2, kp2;
    mls_bytes v;
    mls_group *joined = NULL;
    mls_identity *p256 = NULL;
    mls_join_options jo;
    wcraft wc;
    uint32_t idx;
    int mode;

    BEGIN();
    memset(&xb, 0, sizeof(xb));
    memset(&wc, 0, sizeof(wc));
    memset(&jo, 0, sizeof(jo));
    mls_buf_init(&w);
    mls_buf_init(&bundle2);
    mls_buf_init(&kp2);
    member_make(&X, "xavier", 1);
    member_make(&Y, "yvonne", 1);
    /* A commits with path once so that the tree has parent nodes, then
     * adds X without path: the Welcomes below are for that epoch. */
    {
        mls_staged_commit *sc = NULL;
        CHECK_OK(mls_group_self_update(M[0].g, &sc));
        if (sc) {
            CHECK_OK(all_process(mls_staged_commit_message(sc), 0));
            CHECK_OK(mls_group_merge_staged(M[0].g, sc));
        }
        mls_staged_commit_free(sc);
    }
    v = mls_buf_view(&X.kp);
    CHECK_OK(mls_group_add_members(M[0].g, &v, 1, &cur_sc));
    if (!cur_sc)
        goto out;
    CHECK_OK(mls_kp_bundle_decode(mls_buf_view(&X.bundle), &xb));

    /* Control: the crafted Welcome works, and agrees with A's epoch. */
    CHECK_OK(craft_welcome(&xb.kp, NULL, &w));
    CHECK_OK(join_with(X.id, &X.bundle, &w, NULL, &joined));

    /* No KeyPackage of ours (Y's bundle): MLS_ERR_NOT_FOUND. */
    CHECK_ERR(join_with(Y.id, &Y.bundle, &w, NULL, NULL), MLS_ERR_NOT_FOUND);
    /* A joiner of another suite. */
    CHECK_OK(mls_identity_generate(env, MLS_SUITE_P256_AES128GCM_SHA256_P256, str_bytes("x"),
                                   &p256));
    CHECK_ERR(join_with(p256, &X.bundle, &w, NULL, NULL), MLS_ERR_UNSUPPORTED);
    /* GroupSecrets that do not decrypt. */
    wc.corrupt_secrets = 1;
    CHECK_OK(craft_welcome(&xb.kp, &wc, &w));
    CHECK(join_with(X.id, &X.bundle, &w, NULL, NULL) != 0);
    memset(&wc, 0, sizeof(wc));
    /* GroupInfo: bad signature; signer another member, a blank leaf,
     * outside the tree; another suite. */
    wc.gi_hook = gi_flip_signature;
    CHECK_OK(craft_welcome(&xb.kp, &wc, &w));
    CHECK_ERR(join_with(X.id, &X.bundle, &w, NULL, NULL), MLS_ERR_SIGNATURE);
    wc.gi_hook = gi_signer;
    wc.arg = &idx;
    idx = 1;
    CHECK_OK(craft_welcome(&xb.kp, &wc, &w));
    CHECK_ERR(join_with(X.id, &X.bundle, &w, NULL, NULL), MLS_ERR_SIGNATURE);
    idx = 5;
    CHECK_OK(craft_welcome(&xb.kp, &wc, &w));
    CHECK_ERR(join_with(X.id, &X.bundle, &w, NULL, NULL), MLS_ERR_INVALID);
    idx = 1000;
    CHECK_OK(craft_welcome(&xb.kp, &wc, &w));
    CHECK_ERR(join_with(X.id, &X.bundle, &w, NULL, NULL), MLS_ERR_INVALID);
    wc.gi_hook = gi_suite;
    CHECK_OK(craft_welcome(&xb.kp, &wc, &w));
    CHECK_ERR(join_with(X.id, &X.bundle, &w, NULL, NULL), MLS_ERR_INVALID);
    /* Tree: hash mismatch; missing (then given out of band: the previous
     * epoch's tree does not match); a parent hash; a leaf signature. */
    wc.gi_hook = gi_tree_hash;
    CHECK_OK(craft_welcome(&xb.kp, &wc, &w));
    CHECK_ERR(join_with(X.id, &X.bundle, &w, NULL, NULL), MLS_ERR_INVALID);
    wc.gi_hook = gi_no_tree;
    CHECK_OK(craft_welcome(&xb.kp, &wc, &w));
    CHECK_ERR(join_with(X.id, &X.bundle, &w, NULL, NULL), MLS_ERR_NOT_FOUND);
    {
        mls_buf old_tree;
        mls_buf_init(&old_tree);
        CHECK_OK(mls_group_ratchet_tree(M[0].g, &old_tree));
        jo.ratchet_tree = mls_buf_view(&old_tree);
        CHECK_ERR(join_with(X.id, &X.bundle, &w, &jo, NULL), MLS_ERR_INVALID);
        jo.ratchet_tree = mls_staged_commit_ratchet_tree(cur_sc);
        CHECK_OK(join_with(X.id, &X.bundle, &w, &jo, NULL));
        memset(&jo, 0, sizeof(jo));
        mls_buf_clear(&old_tree);
    }
    wc.gi_hook = gi_bad_tree;
    wc.arg = &mode;
    mode = TREE_PARENT_HASH;
    CHECK_OK(craft_welcome(&xb.kp, &wc, &w));
    CHECK_ERR(join_with(X.id, &X.bundle, &w, NULL, NULL), MLS_ERR_INVALID);
    mode = TREE_LEAF_SIGNATURE;
    CHECK_OK(craft_welcome(&xb.kp, &wc, &w));
    CHECK(join_with(X.id, &X.bundle, &w, NULL, NULL) != 0);
    /* A GroupContext extension the joiner does not support. */
    wc.gi_hook = gi_gc_extension;
    CHECK_OK(craft_welcome(&xb.kp, &wc, &w));
    CHECK_ERR(join_with(X.id, &X.bundle, &w, NULL, NULL), MLS_ERR_INVALID);
    /* Confirmation tag. */
    wc.gi_hook = gi_conf_tag;
    CHECK_OK(craft_welcome(&xb.kp, &wc, &w));
    CHECK_ERR(join_with(X.id, &X.bundle, &w, NULL, NULL), MLS_ERR_MAC);
    memset(&wc, 0, sizeof(wc));
    /* Our leaf is not in the tree (Y was never added). */
    {
        mls_kp_bundle yb;
        memset(&yb, 0, sizeof(yb));
        CHECK_OK(mls_kp_bundle_decode(mls_buf_view(&Y.bundle), &yb));
        CHECK_OK(craft_welcome(&yb.kp, NULL, &w));
        CHECK_ERR(join_with(Y.id, &Y.bundle, &w, NULL, NULL), MLS_ERR_INVALID);
        mls_kp_bundle_clear(&yb);
    }
    /* A leaf with our keys that is not byte for byte our KeyPackage's. */
    {
        mls_kp_bundle b2;
        memset(&b2, 0, sizeof(b2));
        CHECK_OK(mls_kp_bundle_decode(mls_buf_view(&X.bundle), &b2));
        kp_other_lifetime(&b2.kp, NULL);
        kp_resign(X.id, &b2.kp);
        CHECK_OK(mls_kp_bundle_encode(&b2.kp, mls_buf_view(&b2.init_sk),
                                      mls_buf_view(&b2.enc_sk), &bundle2));
        CHECK_OK(craft_welcome(&b2.kp, NULL, &w));
        CHECK_ERR(join_with(X.id, &bundle2, &w, NULL, NULL), MLS_ERR_INVALID);
        mls_kp_bundle_clear(&b2);
    }
    /* A path secret that does not give the tree's keys. */
    wc.gs_hook = gs_path_secret;
    CHECK_OK(craft_welcome(&xb.kp, &wc, &w));
    CHECK_ERR(join_with(X.id, &X.bundle, &w, NULL, NULL), MLS_ERR_INVALID);
    /* PSKs: unavailable; nonce length; two reinit/branch; a branch PSK
     * with a GroupInfo epoch other than 1. */
    {
        psk_spec ps;
        memset(&ps, 0, sizeof(ps));
        ps.n = 1;
        ps.name = "unknown";
        ps.nonce_len = M[0].g->suite->nh;
        wc.gs_hook = gs_psks;
        wc.arg = &ps;
        CHECK_OK(craft_welcome(&xb.kp, &wc, &w));
        CHECK_ERR(join_with(X.id, &X.bundle, &w, NULL, NULL), MLS_ERR_NOT_FOUND);
        ps.nonce_len = 5;
        CHECK_OK(craft_welcome(&xb.kp, &wc, &w));
        CHECK_ERR(join_with(X.id, &X.bundle, &w, NULL, NULL), MLS_ERR_INVALID);
        jo.psks.resumption = resumption_of_a;
        ps.nonce_len = M[0].g->suite->nh;
        ps.type = MLS_PSK_RESUMPTION;
        ps.usage = MLS_PSK_USAGE_BRANCH;
        ps.epoch = mls_group_epoch(M[0].g);
        ps.n = 2;
        CHECK_OK(craft_welcome(&xb.kp, &wc, &w));
        CHECK_ERR(join_with(X.id, &X.bundle, &w, &jo, NULL), MLS_ERR_INVALID);
        ps.n = 1;
        CHECK_OK(craft_welcome(&xb.kp, &wc, &w));
        CHECK_ERR(join_with(X.id, &X.bundle, &w, &jo, NULL), MLS_ERR_INVALID);
        /* The same PSK with usage application passes these checks (and
         * fails only the confirmation tag, A's epoch having no PSK). */
        ps.usage = MLS_PSK_USAGE_APPLICATION;
        CHECK_OK(craft_welcome(&xb.kp, &wc, &w));
        CHECK_ERR(join_with(X.id, &X.bundle, &w, &jo, NULL), MLS_ERR_MAC);
        memset(&jo, 0, sizeof(jo));
    }
    CHECK_OK(mls_group_merge_staged(M[0].g, cur_sc));
    if (joined)
        CHECK(same_epoch(joined, M[0].g));
out:
    mls_staged_commit_free(cur_sc);
    cur_sc = NULL;
    mls_group_free(joined);
    mls_identity_free(p256);
    mls_kp_bundle_clear(&xb);
    member_clear(&X);
    member_clear(&Y);
    mls_buf_clear(&w);
    mls_buf_clear(&bundle2);
    mls_buf_clear(&kp2);
    fixture_teardown();
}

/* ---------------------------------------------------------------- external commits */

typedef struct xcraft {
    mls_proposal_or_ref por[6];
    size_t n;
    int n_external_init;  /* ExternalInit proposals placed first */
    int no_path;
} xcraft;

static void xcraft_clear(xcraft *c)
{
    for (size_t i = 0; i < c->n; i++)
        mls_proposal_or_ref_clear(&c->por[i]);
    memset(c, 0, sizeof(*c));
}

/*
 * An external commit by `id` against the public state of member m's group
 * (what a GroupInfo gives): c's ExternalInits (a real kem_output to the
 * epoch's external key) then c's proposals, the joiner at the leftmost
 * free leaf with a path encrypted under the provisional GroupContext,
 * signed by id, key schedule from the external init secret.
 */
static int craft_external(member *m, const mls_identity *id, const xcraft *c, mls_buf *out)
{
    mls_group *g = m->g;
    const mls_suite *s = g->suite;
    static const char xlabel[] = "MLS 1.0 external init secret";
    mls_proposal_or_ref por[8];
    mls_prop_item items[8];
    size_t n = 0, k = 0, i;
    mls_buf xsk, xpk, kem, tsk, tpk;
    mls_hpke_ctx hc;
    uint8_t init[MLS_MAX_HASH];
    mls_epoch_state next;
    mls_applied ap;
    mls_treekem_pending pd;
    mls_leaf_node tmpl;
    mls_framed_content fc;
    mls_authenticated_content ac;
    mls_framing_ctx fctx;
    mls_message msg;
    uint32_t leaf;
    int err;

    memset(por, 0, sizeof(por));
    memset(&hc, 0, sizeof(hc));
    memset(&next, 0, sizeof(next));
    memset(&ap, 0, sizeof(ap));
    memset(&pd, 0, sizeof(pd));
    memset(&tmpl, 0, sizeof(tmpl));
    memset(&fc, 0, sizeof(fc));
    memset(&ac, 0, sizeof(ac));
    memset(&msg, 0, sizeof(msg));
    mls_buf_init(&xsk);
    mls_buf_init(&xpk);
    mls_buf_init(&kem);
    mls_buf_init(&tsk);
    mls_buf_init(&tpk);
    if ((err = mls_key_schedule_external_keypair(s, mls_bytes_of(g->cur.sec.external_secret, s->nh),
                                                 &xsk, &xpk)) != 0 ||
        (err = mls_hpke_setup_base_s(s, env, mls_buf_view(&xpk), mls_bytes_of(NULL, 0), &kem,
                                     &hc)) != 0 ||
        (err = mls_hpke_ctx_export(&hc, mls_bytes_of((const uint8_t *)xlabel, sizeof(xlabel) - 1),
                                   init, s->nh)) != 0)
        goto out;
    for (int x = 0; x < c->n_external_init; x++) {
        por[n].type = MLS_POR_PROPOSAL;
        por[n].proposal.type = MLS_PROPOSAL_EXTERNAL_INIT;
        if ((err = mls_buf_copy(&por[n].proposal.external_init.kem_output, &kem)) != 0)
            goto out;
        n++;
    }
    for (i = 0; i < c->n; i++)
        if ((err = mls_proposal_or_ref_copy(&por[n++], &c->por[i])) != 0)
            goto out;
    for (i = 0; i < n; i++)
        if (por[i].type == MLS_POR_PROPOSAL) {
            items[k].p = &por[i].proposal;
            items[k].sender.type = MLS_SENDER_NEW_MEMBER_COMMIT;
            items[k].sender.index = 0;
            items[k].pending = NULL;
            k++;
        }
    if ((err = fresh_next(g, &next)) != 0)
        goto out;
    if (mls_proposals_apply(g, &next, items, k, &ap) != 0) {
        mls_applied_clear(&ap);
        mls_epoch_state_clear(&next);
        if ((err = fresh_next(g, &next)) != 0)
            goto out;
    }
    next.ctx.epoch = g->cur.ctx.epoch + 1;
    if ((err = mls_hpke_generate_keypair(s, env, &tsk, &tpk)) != 0 ||
        (err = mls_identity_make_leaf(id, NULL, mls_buf_view(&tpk), MLS_LEAF_SOURCE_COMMIT, NULL,
                                      mls_bytes_of(NULL, 0), mls_bytes_of(NULL, 0), 0,
                                      &tmpl)) != 0 ||
        (err = mls_rtree_add_leaf(&next.tree, &tmpl, &leaf)) != 0 ||
        (err = mls_treekem_path_create(&next.tree, leaf, &tmpl, mls_buf_view(&id->sig_sk),
                                       mls_buf_view(&g->cur.ctx.group_id), env, &pd)) != 0 ||
        (err = mls_epoch_set_tree_hash(s, &next)) != 0 || (err = mls_epoch_encode_ctx(&next)) != 0 ||
        (err = mls_treekem_path_encrypt(&pd, &next.tree, mls_buf_view(&next.ctx_enc), NULL, 0,
                                        env)) != 0)
        goto out;
    fc.content_type = MLS_CONTENT_COMMIT;
    fc.epoch = g->cur.ctx.epoch;
    fc.sender.type = MLS_SENDER_NEW_MEMBER_COMMIT;
    if ((err = mls_buf_copy(&fc.group_id, &g->cur.ctx.group_id)) != 0)
        goto out;
    fc.commit.proposals = calloc(n + 1, sizeof(mls_proposal_or_ref));
    if (!fc.commit.proposals) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < n; i++) {
        if ((err = mls_proposal_or_ref_copy(&fc.commit.proposals[i], &por[i])) != 0)
            goto out;
        fc.commit.n_proposals = i + 1;
    }
    if (!c->no_path) {
        fc.commit.has_path = 1;
        fc.commit.path = pd.update_path;
        memset(&pd.update_path, 0, sizeof(pd.update_path));
    }
    memset(&fctx, 0, sizeof(fctx));
    fctx.suite = s;
    fctx.group_id = mls_buf_view(&g->cur.ctx.group_id);
    fctx.epoch = g->cur.ctx.epoch;
    fctx.group_context = mls_buf_view(&g->cur.ctx_enc);
    if ((err = mls_framing_sign(&fctx, env, MLS_WIRE_PUBLIC_MESSAGE, &fc,
                                mls_buf_view(&id->sig_sk), &ac)) != 0)
        goto out;
    if (mls_epoch_from_commit(g, NULL, &ac, ap.psks, ap.n_psks, mls_bytes_of(init, s->nh),
                                    mls_bytes_of(pd.commit_secret, s->nh), mls_bytes_of(NULL, 0),
                                    &next) != 0)
        memset(next.conf_tag, 0, sizeof(next.conf_tag));
    if ((err = mls_buf_set(&ac.auth.confirmation_tag, next.conf_tag, s->nh)) != 0 ||
        (err = mls_framing_protect_public(&fctx, &ac, &msg)) != 0)
        goto out;
    mls_buf_reset(out);
    err = mls_message_wrap(&msg, out);
out:
    for (i = 0; i < 8; i++)
        mls_proposal_or_ref_clear(&por[i]);
    mls_wipe(init, sizeof(init));
    mls_hpke_ctx_clear(&hc);
    mls_applied_clear(&ap);
    mls_epoch_state_clear(&next);
    mls_treekem_pending_clear(&pd);
    mls_leaf_node_clear(&tmpl);
    mls_framed_content_clear(&fc);
    mls_authenticated_content_clear(&ac);
    mls_message_clear(&msg);
    mls_buf_clear(&xsk);
    mls_buf_clear(&xpk);
    mls_buf_clear(&kem);
    mls_buf_clear(&tsk);
    mls_buf_clear(&tpk);
    return err;
}

static int psk_lookup(void *ctx, mls_bytes id, mls_buf *psk)
{
    (void)ctx;
    if (id.n != 4 || memcmp(id.p, "psk1", 4) != 0)
        return MLS_ERR_NOT_FOUND;
    return mls_buf_set(psk, "0123456789abcdef", 16);
}

/* RFC 9420 §12.2 (external commits), §12.4.3.2. */
static void test_external_commit_rules(void)
{
    member X;
    xcraft c;
    mls_buf msg, ref, kp;
    mls_process_result r;
    mls_psk_store st;

    BEGIN();
    memset(&c, 0, sizeof(c));
    memset(&r, 0, sizeof(r));
    memset(&st, 0, sizeof(st));
    mls_buf_init(&msg);
    mls_buf_init(&ref);
    mls_buf_init(&kp);
    member_make(&X, "xavier", 1);
    st.external = psk_lookup;
    mls_group_set_psk_store(M[1].g, &st);
    mls_group_set_psk_store(M[0].g, &st);

    /* Controls: a join; a join with a PSK; a resync of B by B. */
    c.n_external_init = 1;
    CHECK_OK(craft_external(&M[0], X.id, &c, &msg));
    CHECK_OK(accepts_copy(M[1].g, mls_buf_view(&msg), &r));
    CHECK(r.kind == MLS_RESULT_COMMIT && r.n_added == 1 && r.sender_type == 4);
    mls_process_result_clear(&r);
    por_psk(&c.por[c.n++], "psk1", M[0].g->suite->nh);
    CHECK_OK(craft_external(&M[0], X.id, &c, &msg));
    CHECK_OK(accepts_copy(M[1].g, mls_buf_view(&msg), NULL));
    xcraft_clear(&c);
    c.n_external_init = 1;
    por_remove(&c.por[c.n++], 1);
    CHECK_OK(craft_external(&M[0], M[1].id, &c, &msg));
    CHECK_OK(accepts_copy(M[2].g, mls_buf_view(&msg), &r));
    CHECK(r.n_removed == 1 && r.n_added == 1);
    mls_process_result_clear(&r);

    /* A Remove of someone else (X removes B); through the API too. */
    CHECK_OK(craft_external(&M[0], X.id, &c, &msg));
    REJECTS(M[2].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    {
        mls_buf gi, out;
        mls_group *ng = NULL;
        mls_external_join_options xo;
        mls_buf_init(&gi);
        mls_buf_init(&out);
        memset(&xo, 0, sizeof(xo));
        xo.remove_old_leaf = 1;
        xo.old_leaf = 1;
        CHECK_OK(mls_group_group_info(M[0].g, 1, &gi));
        CHECK_ERR(mls_group_external_join(env, X.id, mls_buf_view(&gi), &xo, &out, &ng),
                  MLS_ERR_INVALID);
        CHECK(ng == NULL);
        xo.old_leaf = 7;
        CHECK_ERR(mls_group_external_join(env, X.id, mls_buf_view(&gi), &xo, &out, &ng),
                  MLS_ERR_INVALID);
        mls_buf_clear(&gi);
        mls_buf_clear(&out);
    }
    /* Two Removes. */
    por_remove(&c.por[c.n++], 2);
    CHECK_OK(craft_external(&M[0], M[1].id, &c, &msg));
    REJECTS(M[3].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    xcraft_clear(&c);

    /* No ExternalInit; two. */
    c.n_external_init = 0;
    CHECK_OK(craft_external(&M[0], X.id, &c, &msg));
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    por_psk(&c.por[c.n++], "psk1", M[0].g->suite->nh);
    CHECK_OK(craft_external(&M[0], X.id, &c, &msg));
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    xcraft_clear(&c);
    c.n_external_init = 2;
    CHECK_OK(craft_external(&M[0], X.id, &c, &msg));
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    xcraft_clear(&c);

    /* Other proposal types: Add, Update, GroupContextExtensions, ReInit. */
    c.n_external_init = 1;
    kp_make(M[3].id, NULL, NULL, 0, &kp, NULL);
    {
        member Y;
        member_make(&Y, "yvonne", 1);
        por_add(&c.por[c.n++], mls_buf_view(&Y.kp));
        CHECK_OK(craft_external(&M[0], X.id, &c, &msg));
        REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
        member_clear(&Y);
    }
    xcraft_clear(&c);
    c.n_external_init = 1;
    por_value(&c.por[c.n], MLS_PROPOSAL_UPDATE);
    update_leaf(&M[0], &c.por[c.n++].proposal.update.leaf_node, NULL);
    CHECK_OK(craft_external(&M[0], X.id, &c, &msg));
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    xcraft_clear(&c);
    c.n_external_init = 1;
    {
        mls_ext e = {EXT_ALL, {(const uint8_t *)"a", 1}};
        por_gce(&c.por[c.n++], &e, 1);
    }
    CHECK_OK(craft_external(&M[0], X.id, &c, &msg));
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    xcraft_clear(&c);
    c.n_external_init = 1;
    por_value(&c.por[c.n], MLS_PROPOSAL_REINIT);
    CHECK_OK(mls_buf_set(&c.por[c.n].proposal.reinit.group_id, "g2", 2));
    c.por[c.n].proposal.reinit.version = MLS_VERSION_MLS10;
    c.por[c.n++].proposal.reinit.cipher_suite = SUITE;
    CHECK_OK(craft_external(&M[0], X.id, &c, &msg));
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    xcraft_clear(&c);

    /* A proposal by reference (one every member holds). */
    {
        mls_proposal p;
        memset(&p, 0, sizeof(p));
        p.type = MLS_PROPOSAL_REMOVE;
        p.remove.removed = 3;
        CHECK_OK(craft_proposal(&M[2], &p, &msg, &ref));
        CHECK_OK(all_process(mls_buf_view(&msg), -1));
    }
    c.n_external_init = 1;
    por_ref(&c.por[c.n++], &ref);
    CHECK_OK(craft_external(&M[0], X.id, &c, &msg));
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    xcraft_clear(&c);

    /* No path. */
    c.n_external_init = 1;
    c.no_path = 1;
    CHECK_OK(craft_external(&M[0], X.id, &c, &msg));
    REJECTS(M[1].g, mls_buf_view(&msg), MLS_ERR_INVALID);
    xcraft_clear(&c);

    member_clear(&X);
    mls_buf_clear(&msg);
    mls_buf_clear(&ref);
    mls_buf_clear(&kp);
    fixture_teardown();
}

int main(void)
{
    env = mls_env_default();
    test_welcome_rules();
    test_external_commit_rules();
    TEST_MAIN_END("test_rules_join");
}
