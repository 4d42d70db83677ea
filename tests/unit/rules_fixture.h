/*
 * Shared by test_rules.c and test_rules_join.c: a four-member group whose
 * members the test owns (identities, signature keys, epoch secrets), and
 * the crafting of proposals and commits at the wire level from a member's
 * keys through the library's internal structures.  A crafted commit is
 * complete and consistent (UpdatePath encrypted under the provisional
 * GroupContext, key schedule, confirmation tag, membership tag) whatever
 * its proposal list, so a receiver that refuses it refuses it for the rule
 * under test; the control tests show that the same machinery produces
 * commits receivers accept when the list is valid.
 *
 * Functions are static inline so that each test file uses what it needs.
 */
#ifndef MLS_RULES_FIXTURE_H
#define MLS_RULES_FIXTURE_H

#include "commit.h"
#include "epoch.h"
#include "test.h"

#include "crypto.h"
#include "key_package.h"
#include "transcript.h"
#include "welcome.h"

#define SUITE MLS_SUITE_X25519_AES128GCM_SHA256_ED25519
/* An extension type every member supports, one that D does not, one that
 * no member supports. */
#define EXT_ALL 0xF001u
#define EXT_ABC 0xF002u
#define EXT_NONE 0xF003u

typedef struct member {
    mls_identity *id;
    mls_group *g;
    mls_buf kp, bundle;
} member;

static const mls_env *env;
/* A, B, C, D at leaves 0, 1, 2, 3 after fixture_setup. */
static member M[4];

static inline mls_bytes str_bytes(const char *s)
{
    return mls_bytes_of((const uint8_t *)s, strlen(s));
}

static inline void member_make(member *m, const char *name, int abc)
{
    uint16_t exts[2] = {EXT_ALL, EXT_ABC};
    memset(m, 0, sizeof(*m));
    CHECK_OK(mls_identity_generate(env, SUITE, str_bytes(name), &m->id));
    CHECK_OK(mls_identity_support_extensions(m->id, exts, abc ? 2 : 1));
    CHECK_OK(mls_key_package_create(env, m->id, NULL, &m->kp, &m->bundle));
}

static inline void member_clear(member *m)
{
    mls_group_free(m->g);
    mls_identity_free(m->id);
    mls_buf_clear(&m->kp);
    mls_buf_clear(&m->bundle);
    memset(m, 0, sizeof(*m));
}

static inline int same_epoch(const mls_group *a, const mls_group *b)
{
    mls_bytes x = mls_group_epoch_authenticator(a), y = mls_group_epoch_authenticator(b);
    return mls_group_epoch(a) == mls_group_epoch(b) && x.n == y.n && memcmp(x.p, y.p, x.n) == 0;
}

/* A creates the group (handshake messages as PublicMessage, so that the
 * membership tag is exercised) and adds B, C, D in one commit. */
static inline int fixture_setup(void)
{
    static const char *names[4] = {"alice", "bob", "carol", "dave"};
    mls_group_config cfg;
    mls_staged_commit *sc = NULL;
    mls_bytes kps[3];
    int i;

    for (i = 0; i < 4; i++)
        member_make(&M[i], names[i], i < 3);
    mls_group_config_default(&cfg);
    cfg.handshake_private = 0;
    CHECK_OK(mls_group_create(env, M[0].id, str_bytes("rules-group"), NULL, 0, &cfg, &M[0].g));
    if (!M[0].g)
        return -1;
    for (i = 1; i < 4; i++)
        kps[i - 1] = mls_buf_view(&M[i].kp);
    CHECK_OK(mls_group_add_members(M[0].g, kps, 3, &sc));
    if (!sc)
        return -1;
    for (i = 1; i < 4; i++) {
        mls_bytes b = mls_buf_view(&M[i].bundle);
        mls_join_options jo;
        memset(&jo, 0, sizeof(jo));
        jo.config = &cfg;
        CHECK_OK(mls_group_join(env, M[i].id, mls_staged_commit_welcome(sc), &b, 1, &jo, NULL,
                                &M[i].g));
    }
    CHECK_OK(mls_group_merge_staged(M[0].g, sc));
    mls_staged_commit_free(sc);
    for (i = 1; i < 4; i++)
        if (!M[i].g || !same_epoch(M[0].g, M[i].g))
            return -1;
    return 0;
}

static inline void fixture_teardown(void)
{
    for (int i = 0; i < 4; i++)
        member_clear(&M[i]);
}

/* ---------------------------------------------------------------- checks */

static inline void state_of(const mls_group *g, mls_buf *out)
{
    mls_buf_reset(out);
    CHECK_OK(mls_group_serialize(g, out));
}

/* g processes msg and must refuse it with its state byte-identical;
 * returns the error for CHECK_ERR. */
static inline int rejects_(mls_group *g, mls_bytes msg, int line)
{
    mls_buf a, b;
    mls_process_result r;
    int err;

    mls_buf_init(&a);
    mls_buf_init(&b);
    memset(&r, 0, sizeof(r));
    state_of(g, &a);
    err = mls_group_process(g, msg, &r);
    state_of(g, &b);
    test_checks++;
    if (err == 0 || a.n != b.n || memcmp(a.p, b.p, a.n) != 0) {
        test_failures++;
        fprintf(stderr, "line %d: message accepted or state changed (%s)\n", line,
                mls_errname(err));
    }
    mls_process_result_clear(&r);
    mls_buf_clear(&a);
    mls_buf_clear(&b);
    return err;
}
#define REJECTS(g, msg, want) CHECK_ERR(rejects_((g), (msg), __LINE__), (want))

/* A copy of g (by serialization, with its PSK store) processes msg;
 * g itself is left alone.  Returns the error. */
static inline int accepts_copy(const mls_group *g, mls_bytes msg, mls_process_result *res)
{
    mls_buf a;
    mls_group *h = NULL;
    mls_process_result r;
    int err;

    mls_buf_init(&a);
    memset(&r, 0, sizeof(r));
    state_of(g, &a);
    err = mls_group_deserialize(env, mls_buf_view(&a), &h);
    if (!err) {
        h->psks = g->psks;
        err = mls_group_process(h, msg, &r);
    }
    if (res && !err)
        *res = r;
    else
        mls_process_result_clear(&r);
    mls_group_free(h);
    mls_buf_clear(&a);
    return err;
}

/* Every member but `except` processes msg; returns the first error. */
static inline int all_process(mls_bytes msg, int except)
{
    int first = 0;
    for (int i = 0; i < 4; i++) {
        mls_process_result r;
        int err;
        if (i == except || !M[i].g || !mls_group_is_active(M[i].g))
            continue;
        memset(&r, 0, sizeof(r));
        err = mls_group_process(M[i].g, msg, &r);
        if (err && !first)
            first = err;
        mls_process_result_clear(&r);
    }
    return first;
}

/* ---------------------------------------------------------------- KeyPackages */

typedef void (*kp_hook_fn)(mls_key_package *kp, void *arg);

/* Re-signs the KeyPackage's leaf (key_package source) and the KeyPackage
 * with the identity's key. */
static inline void kp_resign(const mls_identity *id, mls_key_package *kp)
{
    mls_buf tbs;
    mls_buf_init(&tbs);
    CHECK_OK(mls_identity_sign_leaf(id, env, &kp->leaf_node, mls_bytes_of(NULL, 0), 0));
    CHECK_OK(mls_key_package_tbs_encode(kp, &tbs));
    mls_buf_clear(&kp->signature);
    CHECK_OK(mls_sign_with_label(id->suite, env, mls_buf_view(&id->sig_sk), "KeyPackageTBS",
                                 mls_buf_view(&tbs), &kp->signature));
    mls_buf_clear(&tbs);
}

static inline void kp_encode_message(const mls_key_package *kp, mls_buf *out)
{
    mls_buf_reset(out);
    CHECK_OK(mls_write_u16(out, MLS_VERSION_MLS10));
    CHECK_OK(mls_write_u16(out, MLS_WIRE_KEY_PACKAGE));
    CHECK_OK(mls_key_package_encode(kp, out));
}

/*
 * A fresh KeyPackage of id changed by hook (NULL: none); re-signed when
 * resign is set.  out gets the MLSMessage; bundle (may be NULL) the private
 * bundle matching it.
 */
static inline void kp_make(const mls_identity *id, kp_hook_fn hook, void *arg, int resign,
                           mls_buf *out, mls_buf *bundle)
{
    mls_buf msg, bnd;
    mls_kp_bundle kb;

    mls_buf_init(&msg);
    mls_buf_init(&bnd);
    memset(&kb, 0, sizeof(kb));
    CHECK_OK(mls_key_package_create(env, id, NULL, &msg, &bnd));
    CHECK_OK(mls_kp_bundle_decode(mls_buf_view(&bnd), &kb));
    if (hook)
        hook(&kb.kp, arg);
    if (resign)
        kp_resign(id, &kb.kp);
    kp_encode_message(&kb.kp, out);
    if (bundle) {
        mls_buf_reset(bundle);
        CHECK_OK(mls_kp_bundle_encode(&kb.kp, mls_buf_view(&kb.init_sk), mls_buf_view(&kb.enc_sk),
                                      bundle));
    }
    mls_kp_bundle_clear(&kb);
    mls_buf_clear(&msg);
    mls_buf_clear(&bnd);
}

/* ---------------------------------------------------------------- proposals */

static inline void por_value(mls_proposal_or_ref *x, uint16_t type)
{
    memset(x, 0, sizeof(*x));
    x->type = MLS_POR_PROPOSAL;
    x->proposal.type = type;
}

static inline void por_remove(mls_proposal_or_ref *x, uint32_t leaf)
{
    por_value(x, MLS_PROPOSAL_REMOVE);
    x->proposal.remove.removed = leaf;
}

static inline void por_add(mls_proposal_or_ref *x, mls_bytes kp_message)
{
    por_value(x, MLS_PROPOSAL_ADD);
    CHECK_OK(mls_key_package_from_message(kp_message, &x->proposal.add.key_package));
}

static inline void por_ref(mls_proposal_or_ref *x, const mls_buf *ref)
{
    memset(x, 0, sizeof(*x));
    x->type = MLS_POR_REFERENCE;
    CHECK_OK(mls_buf_copy(&x->reference, ref));
}

static inline void psk_external(mls_psk_id *id, const char *name, size_t nonce_len)
{
    uint8_t nonce[MLS_MAX_HASH * 2];
    memset(id, 0, sizeof(*id));
    memset(nonce, 0x5a, sizeof(nonce));
    id->type = MLS_PSK_EXTERNAL;
    CHECK_OK(mls_buf_set(&id->psk_id, name, strlen(name)));
    CHECK_OK(mls_buf_set(&id->psk_nonce, nonce, nonce_len));
}

static inline void por_psk(mls_proposal_or_ref *x, const char *name, size_t nonce_len)
{
    por_value(x, MLS_PROPOSAL_PSK);
    psk_external(&x->proposal.psk.psk, name, nonce_len);
}

/* A GroupContextExtensions proposal with n extensions (type, data). */
static inline void por_gce(mls_proposal_or_ref *x, const mls_ext *e, size_t n)
{
    mls_extension_list *l;
    por_value(x, MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS);
    l = &x->proposal.group_context_extensions.extensions;
    l->v = calloc(n + 1, sizeof(mls_extension));
    for (size_t i = 0; l->v && i < n; i++) {
        l->v[i].type = e[i].type;
        CHECK_OK(mls_buf_set(&l->v[i].data, e[i].data.p, e[i].data.n));
        l->n = i + 1;
    }
}

/* A required_capabilities extension body requiring one extension type
 * (0: none) and one credential type (0: none). */
static inline void required_caps(uint16_t ext, uint16_t cred, mls_buf *out)
{
    mls_required_capabilities rc;
    memset(&rc, 0, sizeof(rc));
    rc.extension_types.v = calloc(1, sizeof(uint16_t));
    rc.credential_types.v = calloc(1, sizeof(uint16_t));
    if (ext && rc.extension_types.v) {
        rc.extension_types.v[0] = ext;
        rc.extension_types.n = 1;
    }
    if (cred && rc.credential_types.v) {
        rc.credential_types.v[0] = cred;
        rc.credential_types.n = 1;
    }
    mls_buf_reset(out);
    CHECK_OK(mls_required_capabilities_encode(&rc, out));
    mls_required_capabilities_clear(&rc);
}

/*
 * A standalone proposal from `snd` signed with sig_sk (the sender's key)
 * in m's group: out gets the MLSMessage (PublicMessage), ref (may be NULL)
 * its ProposalRef.  p is copied.
 */
static inline int craft_proposal_as(member *m, mls_sender snd, mls_bytes sig_sk,
                                    const mls_proposal *p, mls_buf *out, mls_buf *ref)
{
    mls_framed_content fc;
    mls_authenticated_content ac;
    mls_framing_ctx fctx;
    int err;

    memset(&fc, 0, sizeof(fc));
    memset(&ac, 0, sizeof(ac));
    fc.content_type = MLS_CONTENT_PROPOSAL;
    fc.epoch = m->g->cur.ctx.epoch;
    fc.sender = snd;
    if ((err = mls_buf_copy(&fc.group_id, &m->g->cur.ctx.group_id)) != 0 ||
        (err = mls_proposal_copy(&fc.proposal, p)) != 0)
        goto out;
    mls_group_framing_ctx(m->g, &fctx);
    if ((err = mls_framing_sign(&fctx, env, MLS_WIRE_PUBLIC_MESSAGE, &fc, sig_sk, &ac)) != 0)
        goto out;
    if (ref) {
        mls_buf_reset(ref);
        if ((err = mls_proposal_ref(m->g->suite, &ac, ref)) != 0)
            goto out;
    }
    mls_buf_reset(out);
    err = mls_group_protect_content(m->g, &ac, out);
out:
    mls_framed_content_clear(&fc);
    mls_authenticated_content_clear(&ac);
    return err;
}

/* The same from member m itself. */
static inline int craft_proposal(member *m, const mls_proposal *p, mls_buf *out, mls_buf *ref)
{
    mls_sender snd;
    snd.type = MLS_SENDER_MEMBER;
    snd.index = m->g->cur.priv.leaf;
    return craft_proposal_as(m, snd, mls_buf_view(&m->id->sig_sk), p, out, ref);
}

/* A signed Update leaf of m (source update) with a fresh encryption key;
 * sk (may be NULL) gets its private key. */
static inline void update_leaf(member *m, mls_leaf_node *ln, mls_buf *sk)
{
    mls_buf s, pk;
    const mls_leaf_node *cur = mls_rtree_leaf(&m->g->cur.tree, m->g->cur.priv.leaf);
    mls_buf_init(&s);
    mls_buf_init(&pk);
    memset(ln, 0, sizeof(*ln));
    CHECK_OK(mls_hpke_generate_keypair(m->g->suite, env, &s, &pk));
    CHECK_OK(mls_identity_make_leaf(m->id, NULL, mls_buf_view(&pk), MLS_LEAF_SOURCE_UPDATE, NULL,
                                    mls_bytes_of(NULL, 0), mls_bytes_of(NULL, 0), 0, ln));
    CHECK_OK(mls_extension_list_copy(&ln->extensions, &cur->extensions));
    CHECK_OK(mls_identity_sign_leaf(m->id, env, ln, mls_buf_view(&m->g->cur.ctx.group_id),
                                    m->g->cur.priv.leaf));
    if (sk) {
        mls_buf_clear(sk);
        *sk = s;
        mls_buf_init(&s);
    }
    mls_buf_clear(&s);
    mls_buf_clear(&pk);
}

/* ---------------------------------------------------------------- commits */

typedef struct craft {
    mls_proposal_or_ref por[8];
    size_t n;
    int path;           /* send an UpdatePath */
    int bad_conf_tag;   /* flip a bit of the confirmation tag */
    /* Changes the committer's new leaf (after TreeKEM made it); the hook
     * re-signs it if it wants a valid signature. */
    void (*leaf_hook)(member *m, mls_leaf_node *ln, void *arg);
    /* Changes the UpdatePath (after the leaf hook). */
    void (*path_hook)(member *m, mls_epoch_state *next, mls_treekem_pending *pd, void *arg);
    /* Changes the FramedContent before it is signed. */
    void (*content_hook)(mls_framed_content *fc, void *arg);
    void *arg;
} craft;

static inline void craft_clear(craft *c)
{
    for (size_t i = 0; i < c->n; i++)
        mls_proposal_or_ref_clear(&c->por[i]);
    memset(c, 0, sizeof(*c));
}

static inline int fresh_next(const mls_group *g, mls_epoch_state *next)
{
    int err;
    memset(next, 0, sizeof(*next));
    if ((err = mls_group_context_copy(&next->ctx, &g->cur.ctx)) != 0 ||
        (err = mls_rtree_copy(&next->tree, &g->cur.tree)) != 0 ||
        (err = mls_treekem_priv_copy(&next->priv, &g->cur.priv)) != 0)
        return err;
    return 0;
}

/*
 * A Commit from member m (a PublicMessage of its current epoch) carrying
 * exactly c's proposals, built like mls_group_commit but without its
 * validation: proposals are applied as far as the library's application
 * step allows (an invalid list is sent against the unchanged tree), the
 * UpdatePath is encrypted under the provisional GroupContext, the key
 * schedule and confirmation tag follow.  out gets the MLSMessage.
 */
static inline int craft_commit(member *m, const craft *c, mls_buf *out)
{
    mls_group *g = m->g;
    const mls_suite *s = g->suite;
    uint32_t own = g->cur.priv.leaf;
    mls_prop_item items[8];
    size_t k = 0, i, j;
    mls_epoch_state next;
    mls_applied ap;
    mls_treekem_pending pd;
    mls_leaf_node tmpl;
    mls_framed_content fc;
    mls_authenticated_content ac;
    mls_framing_ctx fctx;
    int err;

    memset(&next, 0, sizeof(next));
    memset(&ap, 0, sizeof(ap));
    memset(&pd, 0, sizeof(pd));
    memset(&tmpl, 0, sizeof(tmpl));
    memset(&fc, 0, sizeof(fc));
    memset(&ac, 0, sizeof(ac));
    for (i = 0; i < c->n; i++) {
        const mls_proposal_or_ref *x = &c->por[i];
        if (x->type == MLS_POR_PROPOSAL) {
            items[k].p = &x->proposal;
            items[k].sender.type = MLS_SENDER_MEMBER;
            items[k].sender.index = own;
            items[k].pending = NULL;
            k++;
            continue;
        }
        for (j = 0; j < g->n_props; j++)
            if (mls_ct_equal(mls_buf_view(&g->props[j].ref), mls_buf_view(&x->reference))) {
                items[k].p = &g->props[j].proposal;
                items[k].sender = g->props[j].sender;
                items[k].pending = &g->props[j];
                k++;
                break;
            }
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
    if (c->path) {
        const mls_leaf_node *cur = mls_rtree_leaf(&g->cur.tree, own);
        if ((err = mls_identity_make_leaf(g->id, NULL, mls_buf_view(&cur->encryption_key),
                                          MLS_LEAF_SOURCE_COMMIT, NULL, mls_bytes_of(NULL, 0),
                                          mls_bytes_of(NULL, 0), own, &tmpl)) != 0 ||
            (err = mls_extension_list_copy(&tmpl.extensions, &cur->extensions)) != 0 ||
            (err = mls_treekem_path_create(&next.tree, own, &tmpl, mls_buf_view(&g->id->sig_sk),
                                           mls_buf_view(&g->cur.ctx.group_id), env, &pd)) != 0)
            goto out;
        if (c->leaf_hook) {
            int ignored;
            c->leaf_hook(m, &pd.update_path.leaf_node, c->arg);
            /* Keep the tree as the receiver will see it when it can. */
            ignored = mls_rtree_set_leaf(&next.tree, own, &pd.update_path.leaf_node);
            (void)ignored;
        }
        if (c->path_hook)
            c->path_hook(m, &next, &pd, c->arg);
        if ((err = mls_epoch_set_tree_hash(s, &next)) != 0 ||
            (err = mls_epoch_encode_ctx(&next)) != 0 ||
            (err = mls_treekem_path_encrypt(&pd, &next.tree, mls_buf_view(&next.ctx_enc),
                                            ap.added, ap.n_added, env)) != 0)
            goto out;
    } else if ((err = mls_epoch_set_tree_hash(s, &next)) != 0) {
        goto out;
    }
    fc.content_type = MLS_CONTENT_COMMIT;
    fc.epoch = g->cur.ctx.epoch;
    fc.sender.type = MLS_SENDER_MEMBER;
    fc.sender.index = own;
    if ((err = mls_buf_copy(&fc.group_id, &g->cur.ctx.group_id)) != 0)
        goto out;
    fc.commit.proposals = calloc(c->n + 1, sizeof(mls_proposal_or_ref));
    if (!fc.commit.proposals) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < c->n; i++) {
        if ((err = mls_proposal_or_ref_copy(&fc.commit.proposals[i], &c->por[i])) != 0)
            goto out;
        fc.commit.n_proposals = i + 1;
    }
    if (c->path) {
        fc.commit.has_path = 1;
        fc.commit.path = pd.update_path;
        memset(&pd.update_path, 0, sizeof(pd.update_path));
    }
    if (c->content_hook)
        c->content_hook(&fc, c->arg);
    mls_group_framing_ctx(g, &fctx);
    if ((err = mls_framing_sign(&fctx, env, MLS_WIRE_PUBLIC_MESSAGE, &fc,
                                mls_buf_view(&g->id->sig_sk), &ac)) != 0)
        goto out;
    /* A PSK the committer lacks leaves a zero tag (refused either way). */
    if (mls_epoch_from_commit(g, NULL, &ac, ap.psks, ap.n_psks, mls_bytes_of(g->cur.sec.init_secret, s->nh),
                                    c->path ? mls_bytes_of(pd.commit_secret, s->nh)
                                            : mls_bytes_of(NULL, 0),
                                    mls_bytes_of(NULL, 0), &next) != 0)
        memset(next.conf_tag, 0, sizeof(next.conf_tag));
    if (c->bad_conf_tag)
        next.conf_tag[0] ^= 1;
    if ((err = mls_buf_set(&ac.auth.confirmation_tag, next.conf_tag, s->nh)) != 0)
        goto out;
    mls_buf_reset(out);
    err = mls_group_protect_content(g, &ac, out);
out:
    mls_applied_clear(&ap);
    mls_epoch_state_clear(&next);
    mls_treekem_pending_clear(&pd);
    mls_leaf_node_clear(&tmpl);
    mls_framed_content_clear(&fc);
    mls_authenticated_content_clear(&ac);
    return err;
}

#endif
