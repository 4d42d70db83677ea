/*
 * Joining a group (RFC 9420 §12.4.3): from a Welcome (§12.4.3.1), by an
 * external commit (§12.4.3.2), and creating a ReInit's successor (§11.2).
 */
#include "commit.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "epoch.h"
#include "hpke.h"
#include "key_package.h"
#include "welcome.h"

int mls_welcome_refs(mls_bytes welcome, mls_bytes *refs, size_t max, size_t *n)
{
    mls_reader r, list;
    uint16_t version, wf, suite;
    mls_bytes b;
    size_t k = 0;
    int err;

    if (!n || (max && !refs))
        return MLS_ERR_ARG;
    mls_reader_init_bytes(&r, welcome);
    if ((err = mls_read_u16(&r, &version)) != 0 || (err = mls_read_u16(&r, &wf)) != 0 ||
        (err = mls_read_u16(&r, &suite)) != 0)
        return err;
    if (version != MLS_VERSION_MLS10 || wf != MLS_WIRE_WELCOME)
        return MLS_ERR_INVALID;
    if ((err = mls_read_vec(&r, &list)) != 0)
        return err;
    while (mls_reader_left(&list)) {
        /* EncryptedGroupSecrets {new_member<V>, HPKECiphertext{<V>, <V>}} */
        if ((err = mls_read_vec_bytes(&list, &b)) != 0)
            return err;
        if ((err = mls_read_vec_bytes(&list, &b)) != 0 || (err = mls_read_vec_bytes(&list, &b)) != 0)
            return err;
        k++;
    }
    if ((err = mls_read_vec_bytes(&r, &b)) != 0 || (err = mls_reader_done(&r)) != 0)
        return err;
    if (k > max)
        return MLS_ERR_TOO_LARGE;
    /* Second pass for the views, now that the shape is known. */
    mls_reader_init_bytes(&r, welcome);
    if ((err = mls_read_fixed(&r, 6, &b)) != 0 || (err = mls_read_vec(&r, &list)) != 0)
        return err;
    for (size_t i = 0; i < k; i++) {
        if ((err = mls_read_vec_bytes(&list, &refs[i])) != 0 ||
            (err = mls_read_vec_bytes(&list, &b)) != 0 || (err = mls_read_vec_bytes(&list, &b)) != 0)
            return err;
    }
    *n = k;
    return 0;
}

/* ---------------------------------------------------------------- resumption PSKs */

/* A PSK store answering resumption PSKs from groups we hold, then from a
 * fallback store. */
typedef struct group_psks {
    const mls_group *const *groups;
    size_t n;
    const mls_psk_store *fallback;
} group_psks;

static int group_psks_resumption(void *ctx, mls_bytes group_id, uint64_t epoch, mls_buf *psk)
{
    const group_psks *gp = ctx;

    for (size_t i = 0; i < gp->n; i++)
        if (gp->groups[i] &&
            mls_group_own_resumption_psk(gp->groups[i], group_id, epoch, psk) == 0)
            return 0;
    if (gp->fallback && gp->fallback->resumption)
        return gp->fallback->resumption(gp->fallback->ctx, group_id, epoch, psk);
    return MLS_ERR_NOT_FOUND;
}

/* ---------------------------------------------------------------- reinitialization */

int mls_group_reinit_create(const mls_env *env, const mls_group *old, const mls_identity *id,
                            const mls_bytes *key_packages, size_t n, const mls_group_config *cfg,
                            mls_group **out, mls_staged_commit **staged)
{
    const mls_reinit *ri;
    mls_ext *exts = NULL;
    mls_group *g = NULL;
    mls_staged_commit *sc = NULL;
    mls_commit_options o;
    mls_psk_id pid;
    mls_psk_store st;
    group_psks gp;
    uint8_t nonce[MLS_MAX_HASH];
    size_t i;
    int err;

    if (!old || !env || !id || !out || !staged || (n && !key_packages))
        return MLS_ERR_ARG;
    ri = &old->reinit;
    if (!old->reinit_pending || ri->version == 0)
        return MLS_ERR_STATE;
    if (id->suite->id != ri->cipher_suite)
        return MLS_ERR_ARG;
    if (ri->version != MLS_VERSION_MLS10 || ri->group_id.n == 0)
        return MLS_ERR_UNSUPPORTED;
    memset(&pid, 0, sizeof(pid));
    exts = calloc(ri->extensions.n + 1, sizeof(*exts));
    if (!exts)
        return MLS_ERR_NOMEM;
    for (i = 0; i < ri->extensions.n; i++) {
        exts[i].type = ri->extensions.v[i].type;
        exts[i].data = mls_buf_view(&ri->extensions.v[i].data);
    }
    /* RFC 9420 §11.2: the new group has the ReInit's group_id, version,
     * cipher suite and extensions. */
    if ((err = mls_group_create(env, id, mls_buf_view(&ri->group_id), exts, ri->extensions.n, cfg,
                                &g)) != 0)
        goto out;
    /* Its first commit (and so the Welcome) carries a resumption PSK with
     * usage reinit for the old group's epoch that the ReInit commit
     * started; the nonce is fresh, KDF.Nh bytes of the new suite
     * (§12.1.4). */
    pid.type = MLS_PSK_RESUMPTION;
    pid.usage = MLS_PSK_USAGE_REINIT;
    pid.psk_epoch = old->cur.ctx.epoch;
    if (env->random(env->ctx, nonce, g->suite->nh) != 0) {
        err = MLS_ERR_RANDOM;
        goto out;
    }
    if ((err = mls_buf_copy(&pid.psk_group_id, &old->cur.ctx.group_id)) != 0 ||
        (err = mls_buf_set(&pid.psk_nonce, nonce, g->suite->nh)) != 0)
        goto out;
    memset(&o, 0, sizeof(o));
    o.add = key_packages;
    o.n_add = n;
    gp.groups = &old;
    gp.n = 1;
    gp.fallback = NULL;
    memset(&st, 0, sizeof(st));
    st.resumption = group_psks_resumption;
    st.ctx = &gp;
    g->reinit_commit = 1;
    err = mls_group_commit_psk(g, &o, &pid, &st, &sc);
    g->reinit_commit = 0;
    if (err)
        goto out;
    *out = g;
    *staged = sc;
    g = NULL;
    sc = NULL;
out:
    mls_wipe(nonce, sizeof(nonce));
    mls_psk_id_clear(&pid);
    mls_staged_commit_free(sc);
    mls_group_free(g);
    free(exts);
    return err;
}

/* RFC 9420 §11.2: the new group's GroupContext has the ReInit's
 * parameters. */
static int reinit_matches(const mls_reinit *ri, const mls_group_context *gc)
{
    mls_buf a, b;
    int ok;

    if (ri->version != gc->version || ri->cipher_suite != gc->cipher_suite ||
        ri->group_id.n != gc->group_id.n ||
        !mls_ct_equal(mls_buf_view(&ri->group_id), mls_buf_view(&gc->group_id)))
        return 0;
    mls_buf_init(&a);
    mls_buf_init(&b);
    ok = mls_extension_list_encode(&ri->extensions, &a) == 0 &&
         mls_extension_list_encode(&gc->extensions, &b) == 0 && a.n == b.n &&
         mls_ct_equal(mls_buf_view(&a), mls_buf_view(&b));
    mls_buf_clear(&a);
    mls_buf_clear(&b);
    return ok;
}

/* RFC 9420 §11.2 for every old group the joiner gave: a reinit PSK naming
 * it refers to the epoch its ReInit commit started and comes with a new
 * group matching the ReInit; a Welcome to the ReInit's group_id has that
 * PSK. */
static int reinit_check(const mls_join_options *opt, const mls_group_secrets *gs,
                        const mls_group_context *gc)
{
    for (size_t k = 0; opt && k < opt->n_groups; k++) {
        const mls_group *old = opt->groups[k];
        const mls_reinit *ri;
        int named = 0, successor;

        if (!old)
            continue;
        ri = &old->reinit;
        for (size_t i = 0; i < gs->n_psks; i++) {
            const mls_psk_id *p = &gs->psks[i];
            if (p->type != MLS_PSK_RESUMPTION || p->usage != MLS_PSK_USAGE_REINIT ||
                p->psk_group_id.n != old->cur.ctx.group_id.n ||
                !mls_ct_equal(mls_buf_view(&p->psk_group_id), mls_buf_view(&old->cur.ctx.group_id)))
                continue;
            named = 1;
            if (!old->reinit_pending || ri->version == 0 || p->psk_epoch != old->cur.ctx.epoch ||
                !reinit_matches(ri, gc))
                return MLS_ERR_INVALID;
        }
        successor = old->reinit_pending && ri->version != 0 &&
                    ri->group_id.n == gc->group_id.n &&
                    mls_ct_equal(mls_buf_view(&ri->group_id), mls_buf_view(&gc->group_id));
        if (successor && !named)
            return MLS_ERR_INVALID;
    }
    return 0;
}

/* ---------------------------------------------------------------- joining */

/* The ratchet tree of a GroupInfo's ratchet_tree extension or the
 * caller's, imported. */
static int import_tree(const mls_suite *s, const mls_group_info *gi, mls_bytes given,
                       mls_rtree *t)
{
    const mls_extension *e = mls_extension_list_find(&gi->extensions, MLS_EXT_RATCHET_TREE);
    int err;

    if (mls_extension_list_check_unique(&gi->extensions) != 0)
        return MLS_ERR_INVALID;
    if (!e && given.n == 0)
        return MLS_ERR_NOT_FOUND;
    err = mls_rtree_import_bytes(t, s, e ? mls_buf_view(&e->data) : given);
    if (err == MLS_ERR_TRAILING || err == MLS_ERR_TOO_LARGE)
        err = MLS_ERR_MALFORMED;
    return err;
}

/* The GroupInfo's signature by its signer, as the first item of the leaf
 * checks' parallel loop. */
typedef struct info_check {
    const mls_suite *s;
    const mls_group_info *gi;
    mls_bytes signer_key;
} info_check;

static int verify_info_item(void *ctx)
{
    const info_check *ic = ctx;
    return mls_group_info_verify(ic->s, ic->gi, ic->signer_key);
}

/* RFC 9420 §12.4.3.1: the tree hash, parent hashes and every leaf, and
 * the GroupInfo's signature by its signer.  The signatures (the
 * GroupInfo's and every leaf's: nearly all of a join's time) run in one
 * loop through env's executor; the GroupInfo's failure is reported first,
 * as when it was checked alone before the tree. */
static int verify_tree_and_info(const mls_suite *s, const mls_env *env, mls_rtree *t,
                                const mls_group_info *gi)
{
    const mls_leaf_node *signer = mls_rtree_leaf(t, gi->signer);
    const mls_extension *e;
    mls_required_capabilities rc;
    mls_leaf_check chk;
    info_check ic;
    int err;

    if (!signer)
        return MLS_ERR_INVALID;
    ic.s = s;
    ic.gi = gi;
    ic.signer_key = mls_buf_view(&signer->signature_key);
    memset(&rc, 0, sizeof(rc));
    memset(&chk, 0, sizeof(chk));
    chk.group_id = mls_buf_view(&gi->group_context.group_id);
    chk.env = env; /* the signatures are checked through its executor */
    chk.first = verify_info_item;
    chk.first_ctx = &ic;
    e = mls_extension_list_find(&gi->group_context.extensions, MLS_EXT_REQUIRED_CAPABILITIES);
    if (e) {
        if (mls_required_capabilities_decode_bytes(mls_buf_view(&e->data), &rc) != 0)
            return MLS_ERR_INVALID;
        chk.required = &rc;
    }
    err = mls_rtree_verify_join(t, mls_buf_view(&gi->group_context.tree_hash), &chk);
    mls_required_capabilities_clear(&rc);
    return err;
}

/* Finds the bundle the Welcome is for; *idx its index. */
static int find_bundle(const mls_suite *s, const mls_welcome *w, const mls_bytes *bundles,
                       size_t n, mls_kp_bundle *out, const mls_encrypted_group_secrets **es,
                       size_t *idx)
{
    for (size_t i = 0; i < n; i++) {
        mls_kp_bundle b;
        if (mls_kp_bundle_decode(bundles[i], &b) != 0)
            continue;
        if (b.kp.cipher_suite == s->id &&
            mls_welcome_find_secrets_for_key_package(s, w, &b.kp, es) == 0) {
            *out = b;
            *idx = i;
            return 0;
        }
        mls_kp_bundle_clear(&b);
    }
    return MLS_ERR_NOT_FOUND;
}

int mls_group_join(const mls_env *env, const mls_identity *id, mls_bytes welcome,
                   const mls_bytes *bundles, size_t n_bundles, const mls_join_options *opt,
                   size_t *used, mls_group **out)
{
    const mls_suite *s;
    mls_message m;
    mls_kp_bundle kb;
    const mls_encrypted_group_secrets *es;
    mls_group_secrets gs;
    mls_group_info gi;
    mls_group *g = NULL;
    const mls_psk_id **psks = NULL;
    uint8_t psk[MLS_MAX_HASH], ws[MLS_MAX_HASH];
    size_t psk_len = 0, idx = 0, i, n_special = 0;
    mls_psk_store st;
    group_psks gp;
    uint32_t leaf;
    mls_buf a, b;
    int err;

    if (!env || !id || !out || (n_bundles && !bundles))
        return MLS_ERR_ARG;
    memset(&kb, 0, sizeof(kb));
    memset(&gs, 0, sizeof(gs));
    memset(&gi, 0, sizeof(gi));
    mls_buf_init(&a);
    mls_buf_init(&b);
    if ((err = mls_message_decode_bytes(welcome, &m)) != 0)
        return err;
    if (m.wire_format != MLS_WIRE_WELCOME) {
        err = MLS_ERR_INVALID;
        goto out;
    }
    s = mls_suite_get(m.welcome.cipher_suite);
    if (!s || s != id->suite) {
        err = MLS_ERR_UNSUPPORTED;
        goto out;
    }
    if ((err = find_bundle(s, &m.welcome, bundles, n_bundles, &kb, &es, &idx)) != 0)
        goto out;
    /* The identity must be the one the KeyPackage was made with. */
    if (!mls_ct_equal(mls_buf_view(&kb.kp.leaf_node.signature_key), mls_buf_view(&id->sig_pk))) {
        err = MLS_ERR_ARG;
        goto out;
    }
    if ((err = mls_group_alloc(env, id, opt ? opt->config : NULL, &g)) != 0)
        goto out;
    if (opt)
        g->psks = opt->psks;
    if ((err = mls_welcome_decrypt_group_secrets(s, &m.welcome, es, mls_buf_view(&kb.init_sk),
                                                 &gs)) != 0)
        goto out;
    /* §12.4.3.1: every PSK is available; at most one reinit/branch. */
    psks = calloc(gs.n_psks + 1, sizeof(*psks));
    if (!psks) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < gs.n_psks; i++) {
        psks[i] = &gs.psks[i];
        if (gs.psks[i].type == MLS_PSK_RESUMPTION && gs.psks[i].usage != MLS_PSK_USAGE_APPLICATION)
            n_special++;
        if (gs.psks[i].psk_nonce.n != s->nh) {
            err = MLS_ERR_INVALID;
            goto out;
        }
    }
    if (n_special > 1) {
        err = MLS_ERR_INVALID;
        goto out;
    }
    /* Resumption PSKs from the groups the caller gave, then its store;
     * external ones from its store (st.external NULL falls back to it). */
    memset(&st, 0, sizeof(st));
    gp.groups = opt ? opt->groups : NULL;
    gp.n = opt && opt->groups ? opt->n_groups : 0;
    gp.fallback = opt ? &opt->psks : NULL;
    st.resumption = group_psks_resumption;
    st.ctx = &gp;
    if ((err = mls_group_psk_secret(g, &st, psks, gs.n_psks, psk, &psk_len)) != 0)
        goto out;
    if ((err = mls_welcome_secret(s, mls_buf_view(&gs.joiner_secret), mls_bytes_of(psk, psk_len),
                                  ws)) != 0 ||
        (err = mls_welcome_decrypt_group_info(s, &m.welcome, mls_bytes_of(ws, s->nh), &gi)) != 0)
        goto out;
    if (gi.group_context.version != MLS_VERSION_MLS10 || gi.group_context.cipher_suite != s->id ||
        gi.group_context.tree_hash.n != s->nh || gi.confirmation_tag.n != s->nh ||
        (gi.group_context.epoch > 0 && gi.group_context.confirmed_transcript_hash.n != s->nh)) {
        err = MLS_ERR_INVALID;
        goto out;
    }
    /* §12.4.3.1: reinit/branch groups start at epoch 1. */
    if (n_special && gi.group_context.epoch != 1) {
        err = MLS_ERR_INVALID;
        goto out;
    }
    if ((err = reinit_check(opt, &gs, &gi.group_context)) != 0)
        goto out;
    mls_rtree_clear(&g->cur.tree);
    if ((err = import_tree(s, &gi, opt ? opt->ratchet_tree : mls_bytes_of(NULL, 0),
                           &g->cur.tree)) != 0 ||
        (err = verify_tree_and_info(s, g->env, &g->cur.tree, &gi)) != 0)
        goto out;
    if ((err = mls_group_check_extensions(g, &gi.group_context.extensions, &g->cur.tree)) != 0)
        goto out;
    /* §12.4.3.1: our leaf is the KeyPackage's leaf node, byte for byte. */
    if (mls_rtree_find_encryption_key(&g->cur.tree,
                                      mls_buf_view(&kb.kp.leaf_node.encryption_key), &leaf) != 0) {
        err = MLS_ERR_INVALID;
        goto out;
    }
    if ((err = mls_leaf_node_encode(&kb.kp.leaf_node, &a)) != 0 ||
        (err = mls_leaf_node_encode(mls_rtree_leaf(&g->cur.tree, leaf), &b)) != 0)
        goto out;
    if (!mls_ct_equal(mls_buf_view(&a), mls_buf_view(&b))) {
        err = MLS_ERR_INVALID;
        goto out;
    }
    if ((err = mls_treekem_priv_init(&g->cur.priv, s, leaf, mls_buf_view(&kb.enc_sk))) != 0)
        goto out;
    if (gs.has_path_secret) {
        uint32_t anc;
        if ((err = mls_tm_common_ancestor(mls_rtree_n_leaves(&g->cur.tree), 2 * leaf,
                                          2 * gi.signer, &anc)) != 0 ||
            (err = mls_treekem_priv_set_path_secret(&g->cur.priv, &g->cur.tree, anc,
                                                    mls_buf_view(&gs.path_secret), NULL)) != 0) {
            err = err == MLS_ERR_NOMEM ? err : MLS_ERR_INVALID;
            goto out;
        }
    }
    /* §12.4.3.1: the epoch from the joiner secret, the GroupInfo's
     * confirmation tag verified. */
    if ((err = mls_epoch_from_welcome(s, &gi, mls_buf_view(&gs.joiner_secret),
                                      mls_bytes_of(psk, psk_len), &g->cur)) != 0)
        goto out;
    if ((err = mls_group_init_secret_tree(g)) != 0)
        goto out;
    if (used)
        *used = idx;
    *out = g;
    g = NULL;
out:
    mls_wipe(psk, sizeof(psk));
    mls_wipe(ws, sizeof(ws));
    free(psks);
    mls_buf_clear(&a);
    mls_buf_clear(&b);
    mls_group_free(g);
    mls_kp_bundle_clear(&kb);
    mls_group_secrets_clear(&gs);
    mls_group_info_clear(&gi);
    mls_message_clear(&m);
    return err;
}

/* ---------------------------------------------------------------- external commit */

int mls_group_external_join(const mls_env *env, const mls_identity *id, mls_bytes group_info,
                            const mls_external_join_options *opt, mls_buf *commit,
                            mls_group **out)
{
    const mls_suite *s;
    mls_external_join_options none;
    mls_message m, cm;
    mls_group *g = NULL;
    mls_external_pub xp;
    const mls_extension *e;
    mls_proposal *props = NULL;
    mls_prop_item *items = NULL;
    mls_proposal_or_ref *por = NULL;
    size_t n = 0, i;
    mls_epoch_state next;
    mls_applied ap;
    mls_treekem_pending pd;
    mls_leaf_node tmpl;
    mls_framed_content fc;
    mls_authenticated_content ac;
    mls_framing_ctx fctx;
    mls_buf kem_out, tmp_sk, tmp_pk;
    uint8_t init[MLS_MAX_HASH];
    uint32_t leaf;
    int err;

    if (!env || !id || !commit || !out)
        return MLS_ERR_ARG;
    memset(&none, 0, sizeof(none));
    if (!opt)
        opt = &none;
    memset(&xp, 0, sizeof(xp));
    memset(&next, 0, sizeof(next));
    memset(&ap, 0, sizeof(ap));
    memset(&pd, 0, sizeof(pd));
    memset(&tmpl, 0, sizeof(tmpl));
    memset(&fc, 0, sizeof(fc));
    memset(&ac, 0, sizeof(ac));
    memset(&cm, 0, sizeof(cm));
    mls_buf_init(&kem_out);
    mls_buf_init(&tmp_sk);
    mls_buf_init(&tmp_pk);
    if ((err = mls_message_decode_bytes(group_info, &m)) != 0)
        return err;
    if (m.wire_format != MLS_WIRE_GROUP_INFO) {
        err = MLS_ERR_INVALID;
        goto out;
    }
    s = mls_suite_get(m.group_info.group_context.cipher_suite);
    if (!s || s != id->suite || m.group_info.group_context.version != MLS_VERSION_MLS10) {
        err = MLS_ERR_UNSUPPORTED;
        goto out;
    }
    if ((err = mls_group_alloc(env, id, opt->config, &g)) != 0)
        goto out;
    g->psks = opt->psks;
    mls_rtree_clear(&g->cur.tree);
    if ((err = import_tree(s, &m.group_info, opt->ratchet_tree, &g->cur.tree)) != 0 ||
        (err = verify_tree_and_info(s, g->env, &g->cur.tree, &m.group_info)) != 0)
        goto out;
    /* RFC 9420 §12.4.3.2: the GroupInfo must offer an external_pub. */
    e = mls_extension_list_find(&m.group_info.extensions, MLS_EXT_EXTERNAL_PUB);
    if (!e || mls_external_pub_decode_bytes(mls_buf_view(&e->data), &xp) != 0) {
        err = MLS_ERR_INVALID;
        goto out;
    }
    if ((err = mls_epoch_from_group_info(s, &m.group_info, &g->cur)) != 0)
        goto out;
    if ((err = mls_group_check_extensions(g, &g->cur.ctx.extensions, &g->cur.tree)) != 0)
        goto out;
    /* §8.3: kem_output and the external init secret. */
    if ((err = mls_epoch_external_init_send(s, env, mls_buf_view(&xp.external_pub), &kem_out,
                                            init)) != 0)
        goto out;

    /* The proposals: ExternalInit, the Remove of our old leaf, PSKs. */
    props = calloc(opt->n_external_psks + 3, sizeof(*props));
    items = calloc(opt->n_external_psks + 3, sizeof(*items));
    por = calloc(opt->n_external_psks + 3, sizeof(*por));
    if (!props || !items || !por) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    props[n].type = MLS_PROPOSAL_EXTERNAL_INIT;
    props[n].external_init.kem_output = kem_out;
    mls_buf_init(&kem_out);
    n++;
    if (opt->remove_old_leaf) {
        props[n].type = MLS_PROPOSAL_REMOVE;
        props[n].remove.removed = opt->old_leaf;
        n++;
    }
    for (i = 0; i < opt->n_external_psks; i++) {
        uint8_t nonce[MLS_MAX_HASH];
        props[n].type = MLS_PROPOSAL_PSK;
        props[n].psk.psk.type = MLS_PSK_EXTERNAL;
        n++;
        if (env->random(env->ctx, nonce, s->nh) != 0) {
            err = MLS_ERR_RANDOM;
            goto out;
        }
        if ((err = mls_buf_set(&props[n - 1].psk.psk.psk_id, opt->external_psks[i].p,
                               opt->external_psks[i].n)) != 0 ||
            (err = mls_buf_set(&props[n - 1].psk.psk.psk_nonce, nonce, s->nh)) != 0)
            goto out;
    }
    for (i = 0; i < n; i++) {
        items[i].p = &props[i];
        items[i].sender.type = MLS_SENDER_NEW_MEMBER_COMMIT;
        por[i].type = MLS_POR_PROPOSAL;
        if ((err = mls_proposal_copy(&por[i].proposal, &props[i])) != 0)
            goto out;
    }
    if ((err = mls_proposals_validate(g, items, n, 1, UINT32_MAX, 1)) != 0 ||
        (err = mls_external_remove_check(g, items, n, &id->cred, mls_bytes_of(NULL, 0))) != 0)
        goto out;
    if ((err = mls_group_context_copy(&next.ctx, &g->cur.ctx)) != 0 ||
        (err = mls_rtree_copy(&next.tree, &g->cur.tree)) != 0 ||
        (err = mls_proposals_apply(g, &next, items, n, &ap)) != 0)
        goto out;
    next.ctx.epoch = g->cur.ctx.epoch + 1;

    /* §12.4.3.2: we take the leftmost free leaf; TreeKEM then gives it
     * its real keys.  The temporary key only keeps the tree's key
     * uniqueness rules satisfied meanwhile. */
    if ((err = mls_hpke_generate_keypair(s, env, &tmp_sk, &tmp_pk)) != 0 ||
        (err = mls_identity_make_leaf(id, NULL, mls_buf_view(&tmp_pk), MLS_LEAF_SOURCE_COMMIT,
                                      NULL, mls_bytes_of(NULL, 0), mls_bytes_of(NULL, 0), 0,
                                      &tmpl)) != 0 ||
        (err = mls_rtree_add_leaf(&next.tree, &tmpl, &leaf)) != 0)
        goto out;
    if ((err = mls_treekem_path_create(&next.tree, leaf, &tmpl, mls_buf_view(&id->sig_sk),
                                       mls_buf_view(&g->cur.ctx.group_id), env, &pd)) != 0 ||
        (err = mls_epoch_set_tree_hash(s, &next)) != 0 || (err = mls_epoch_encode_ctx(&next)) != 0 ||
        (err = mls_treekem_path_encrypt(&pd, &next.tree, mls_buf_view(&next.ctx_enc), NULL, 0,
                                        env)) != 0)
        goto out;
    if ((err = mls_treekem_priv_copy(&next.priv, &pd.priv)) != 0)
        goto out;

    /* The Commit: PublicMessage from new_member_commit, signed with the
     * GroupInfo's GroupContext. */
    fc.content_type = MLS_CONTENT_COMMIT;
    fc.epoch = g->cur.ctx.epoch;
    fc.sender.type = MLS_SENDER_NEW_MEMBER_COMMIT;
    if ((err = mls_buf_copy(&fc.group_id, &g->cur.ctx.group_id)) != 0 ||
        (err = mls_buf_set(&fc.authenticated_data, opt->authenticated_data.p,
                           opt->authenticated_data.n)) != 0)
        goto out;
    fc.commit.proposals = por;
    fc.commit.n_proposals = n;
    por = NULL;
    fc.commit.has_path = 1;
    fc.commit.path = pd.update_path;
    memset(&pd.update_path, 0, sizeof(pd.update_path));
    memset(&fctx, 0, sizeof(fctx));
    fctx.suite = s;
    fctx.group_id = mls_buf_view(&g->cur.ctx.group_id);
    fctx.epoch = g->cur.ctx.epoch;
    fctx.group_context = mls_buf_view(&g->cur.ctx_enc);
    if ((err = mls_framing_sign(&fctx, env, MLS_WIRE_PUBLIC_MESSAGE, &fc,
                                mls_buf_view(&id->sig_sk), &ac)) != 0)
        goto out;
    if ((err = mls_epoch_from_commit(g, NULL, &ac, ap.psks, ap.n_psks, mls_bytes_of(init, s->nh),
                                     mls_bytes_of(pd.commit_secret, s->nh), mls_bytes_of(NULL, 0),
                                     &next)) != 0)
        goto out;
    if ((err = mls_buf_set(&ac.auth.confirmation_tag, next.conf_tag, s->nh)) != 0)
        goto out;
    if ((err = mls_framing_protect_public(&fctx, &ac, &cm)) != 0 ||
        (err = mls_message_wrap(&cm, commit)) != 0)
        goto out;
    mls_treekem_priv_prune(&next.priv, &next.tree);
    mls_wipe(next.sec.joiner_secret, sizeof(next.sec.joiner_secret));
    mls_wipe(next.sec.welcome_secret, sizeof(next.sec.welcome_secret));
    mls_epoch_state_clear(&g->cur);
    g->cur = next;
    memset(&next, 0, sizeof(next));
    if ((err = mls_group_init_secret_tree(g)) != 0)
        goto out;
    *out = g;
    g = NULL;
out:
    mls_wipe(init, sizeof(init));
    mls_applied_clear(&ap);
    if (props)
        for (i = 0; i < n; i++)
            mls_proposal_clear(&props[i]);
    free(props);
    free(items);
    if (por)
        for (i = 0; i < n; i++)
            mls_proposal_or_ref_clear(&por[i]);
    free(por);
    mls_epoch_state_clear(&next);
    mls_treekem_pending_clear(&pd);
    mls_leaf_node_clear(&tmpl);
    mls_framed_content_clear(&fc);
    mls_authenticated_content_clear(&ac);
    mls_message_clear(&cm);
    mls_message_clear(&m);
    mls_external_pub_clear(&xp);
    mls_buf_clear(&kem_out);
    mls_buf_clear(&tmp_sk);
    mls_buf_clear(&tmp_pk);
    mls_group_free(g);
    return err;
}
