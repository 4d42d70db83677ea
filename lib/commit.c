/*
 * Creating a commit (RFC 9420 §12.4.1) as a staged commit, with the
 * Welcome for the members it adds (§12.4.3.1).  Merging and inspection:
 * staged.c; received commits: commit_process.c.
 */
#include "commit.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "epoch.h"
#include "key_package.h"
#include "transcript.h"
#include "welcome.h"

/* The proposals a commit carries: those we make (owned, by value) and
 * pending ones by reference. */
typedef struct commit_list {
    mls_proposal *own;     /* by value, owned */
    size_t n_own;
    mls_prop_item *items;
    size_t n_items;
    mls_proposal_or_ref *por;  /* the Commit's proposals<V> */
} commit_list;

static void commit_list_clear(commit_list *cl, size_t cap)
{
    (void)cap;
    for (size_t i = 0; i < cl->n_own; i++)
        mls_proposal_clear(&cl->own[i]);
    free(cl->own);
    free(cl->items);
    if (cl->por) {
        for (size_t i = 0; i < cl->n_items; i++)
            mls_proposal_or_ref_clear(&cl->por[i]);
        free(cl->por);
    }
    memset(cl, 0, sizeof(*cl));
}

/* New GroupContext extensions from the current ones and the options. */
static int merged_extensions(const mls_group *g, const mls_commit_options *opt,
                             mls_extension_list *out)
{
    const mls_extension_list *cur = &g->cur.ctx.extensions;
    size_t i, k, cap = cur->n + opt->n_set_extensions;
    mls_extension_list nl;
    int err = 0;

    memset(&nl, 0, sizeof(nl));
    nl.v = calloc(cap + 1, sizeof(mls_extension));
    if (!nl.v)
        return MLS_ERR_NOMEM;
    for (i = 0; i < cur->n; i++) {
        int drop = 0;
        for (k = 0; k < opt->n_remove_extensions; k++)
            drop |= opt->remove_extensions[k] == cur->v[i].type;
        for (k = 0; k < opt->n_set_extensions; k++)
            drop |= opt->set_extensions[k].type == cur->v[i].type;
        if (drop)
            continue;
        if ((err = mls_extension_copy(&nl.v[nl.n], &cur->v[i])) != 0)
            goto out;
        nl.n++;
    }
    for (k = 0; k < opt->n_set_extensions; k++) {
        nl.v[nl.n].type = opt->set_extensions[k].type;
        nl.n++;
        if ((err = mls_buf_set(&nl.v[nl.n - 1].data, opt->set_extensions[k].data.p,
                               opt->set_extensions[k].data.n)) != 0)
            goto out;
    }
    *out = nl;
    memset(&nl, 0, sizeof(nl));
out:
    mls_extension_list_clear(&nl);
    return err;
}

/* Whether a pending proposal may join the commit we are building. */
static int pending_usable(const mls_group *g, const mls_pending_proposal *pp,
                          const uint32_t *removed, size_t n_removed)
{
    mls_prop_item it;
    uint32_t own = g->cur.priv.leaf;
    size_t i;

    /* RFC 9420 §12.2: never our own Update; prefer a Remove over an Update
     * of the same leaf. */
    if (pp->proposal.type == MLS_PROPOSAL_UPDATE) {
        if (pp->sender.type == MLS_SENDER_MEMBER && pp->sender.index == own)
            return 0;
        for (i = 0; i < n_removed; i++)
            if (removed[i] == pp->sender.index)
                return 0;
    }
    if (pp->proposal.type == MLS_PROPOSAL_REINIT || pp->proposal.type == MLS_PROPOSAL_EXTERNAL_INIT)
        return 0;
    it.p = &pp->proposal;
    it.sender = pp->sender;
    it.pending = pp;
    return mls_proposals_validate(g, &it, 1, 0, own, 0) == 0;
}

/* The ReInit proposal (RFC 9420 §12.1.5) of a commit option. */
static int reinit_from_params(const mls_group *g, const mls_reinit_params *rp, mls_reinit *out)
{
    uint8_t gid[32];
    size_t i;
    int err;

    if (!mls_suite_get(rp->suite))
        return MLS_ERR_UNSUPPORTED;
    if (rp->n_extensions && !rp->extensions)
        return MLS_ERR_ARG;
    out->version = rp->version ? rp->version : MLS_VERSION_MLS10;
    out->cipher_suite = rp->suite;
    if (rp->group_id.n == 0) {
        if (g->env->random(g->env->ctx, gid, sizeof(gid)) != 0)
            return MLS_ERR_RANDOM;
        err = mls_buf_set(&out->group_id, gid, sizeof(gid));
    } else {
        err = mls_buf_set(&out->group_id, rp->group_id.p, rp->group_id.n);
    }
    if (err)
        return err;
    out->extensions.v = calloc(rp->n_extensions + 1, sizeof(mls_extension));
    if (!out->extensions.v)
        return MLS_ERR_NOMEM;
    for (i = 0; i < rp->n_extensions; i++) {
        out->extensions.v[i].type = rp->extensions[i].type;
        out->extensions.n++;
        if ((err = mls_buf_set(&out->extensions.v[i].data, rp->extensions[i].data.p,
                               rp->extensions[i].data.n)) != 0)
            return err;
    }
    /* §13.4: the successor's GroupContext extensions are unique. */
    return mls_extension_list_check_unique(&out->extensions) != 0 ? MLS_ERR_INVALID : 0;
}

static int build_list(mls_group *g, const mls_commit_options *opt, const mls_psk_id *extra_psk,
                      commit_list *cl)
{
    const mls_suite *s = g->suite;
    size_t cap, i, k;
    uint32_t *removed = NULL;
    size_t n_removed = 0;
    int err = 0;

    cap = opt->n_add + opt->n_remove + opt->n_external_psks + 3 +
          (opt->include_pending_proposals ? g->n_props : 0);
    cl->own = calloc(cap + 1, sizeof(*cl->own));
    cl->items = calloc(cap + 1, sizeof(*cl->items));
    cl->por = calloc(cap + 1, sizeof(*cl->por));
    removed = calloc(cap + 1, sizeof(*removed));
    if (!cl->own || !cl->items || !cl->por || !removed) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    /* By value. */
    for (i = 0; i < opt->n_remove; i++) {
        mls_proposal *p = &cl->own[cl->n_own++];
        p->type = MLS_PROPOSAL_REMOVE;
        p->remove.removed = opt->remove[i];
        removed[n_removed++] = opt->remove[i];
    }
    for (i = 0; i < opt->n_add; i++) {
        mls_proposal *p = &cl->own[cl->n_own];
        if ((err = mls_key_package_from_message(opt->add[i], &p->add.key_package)) != 0)
            goto out;
        p->type = MLS_PROPOSAL_ADD;
        cl->n_own++;
    }
    if (opt->n_set_extensions || opt->n_remove_extensions) {
        mls_proposal *p = &cl->own[cl->n_own];
        if ((err = merged_extensions(g, opt, &p->group_context_extensions.extensions)) != 0)
            goto out;
        p->type = MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS;
        cl->n_own++;
    }
    for (i = 0; i < opt->n_external_psks; i++) {
        mls_proposal *p = &cl->own[cl->n_own];
        uint8_t nonce[MLS_MAX_HASH];
        p->type = MLS_PROPOSAL_PSK;
        cl->n_own++;
        p->psk.psk.type = MLS_PSK_EXTERNAL;
        if (g->env->random(g->env->ctx, nonce, s->nh) != 0) {
            err = MLS_ERR_RANDOM;
            goto out;
        }
        if ((err = mls_buf_set(&p->psk.psk.psk_id, opt->external_psks[i].p,
                               opt->external_psks[i].n)) != 0 ||
            (err = mls_buf_set(&p->psk.psk.psk_nonce, nonce, s->nh)) != 0)
            goto out;
    }
    if (extra_psk) {
        mls_proposal *p = &cl->own[cl->n_own];
        p->type = MLS_PROPOSAL_PSK;
        cl->n_own++;
        if ((err = mls_psk_id_copy(&p->psk.psk, extra_psk)) != 0)
            goto out;
    }
    if (opt->reinit) {
        mls_proposal *p = &cl->own[cl->n_own];
        p->type = MLS_PROPOSAL_REINIT;
        cl->n_own++;
        if ((err = reinit_from_params(g, opt->reinit, &p->reinit)) != 0)
            goto out;
    }
    /* By reference: Removes first so that they win over Updates. */
    if (opt->include_pending_proposals) {
        for (i = 0; i < g->n_props; i++)
            if (g->props[i].proposal.type == MLS_PROPOSAL_REMOVE)
                removed[n_removed++] = g->props[i].proposal.remove.removed;
        for (i = 0; i < g->n_props; i++) {
            const mls_pending_proposal *pp = &g->props[i];
            int dup = 0;
            if (!pending_usable(g, pp, removed, n_removed))
                continue;
            /* One Remove per leaf even if it was proposed twice. */
            for (k = 0; k < cl->n_items && pp->proposal.type == MLS_PROPOSAL_REMOVE; k++)
                dup |= cl->items[k].p->type == MLS_PROPOSAL_REMOVE &&
                       cl->items[k].p->remove.removed == pp->proposal.remove.removed;
            for (k = 0; k < cl->n_own && pp->proposal.type == MLS_PROPOSAL_REMOVE; k++)
                dup |= cl->own[k].type == MLS_PROPOSAL_REMOVE &&
                       cl->own[k].remove.removed == pp->proposal.remove.removed;
            if (dup)
                continue;
            cl->items[cl->n_items].p = &pp->proposal;
            cl->items[cl->n_items].sender = pp->sender;
            cl->items[cl->n_items].pending = pp;
            cl->por[cl->n_items].type = MLS_POR_REFERENCE;
            if ((err = mls_buf_copy(&cl->por[cl->n_items].reference, &pp->ref)) != 0)
                goto out;
            cl->n_items++;
        }
    }
    for (i = 0; i < cl->n_own; i++) {
        cl->items[cl->n_items].p = &cl->own[i];
        cl->items[cl->n_items].sender.type = MLS_SENDER_MEMBER;
        cl->items[cl->n_items].sender.index = g->cur.priv.leaf;
        cl->por[cl->n_items].type = MLS_POR_PROPOSAL;
        if ((err = mls_proposal_copy(&cl->por[cl->n_items].proposal, &cl->own[i])) != 0)
            goto out;
        cl->n_items++;
    }
out:
    free(removed);
    return err;
}

/* Builds the Welcome for the added members of a commit being created.
 * gi_tree is the signed GroupInfo of next with the ratchet_tree extension
 * the commit already made (reused when the Welcome carries the tree,
 * rather than encoding and signing the whole tree again); with_tree says
 * whether it does. */
static int welcome_build(const mls_group *g, mls_epoch_state *next, const mls_applied *ap,
                         const mls_treekem_pending *pd, int has_path,
                         const mls_group_info *gi_tree, int with_tree, mls_staged_commit *sc)
{
    const mls_suite *s = g->suite;
    mls_group_info gi;
    mls_group_secrets gs;
    mls_message m;
    mls_welcome *w = &m.welcome;
    mls_buf egi, *gs_encs = NULL;
    mls_bytes *init_keys = NULL;
    uint8_t ps[MLS_MAX_HASH], ctx_hash[MLS_MAX_HASH];
    size_t i;
    int err;

    memset(&gi, 0, sizeof(gi));
    memset(&gs, 0, sizeof(gs));
    memset(&m, 0, sizeof(m));
    mls_buf_init(&egi);
    m.version = MLS_VERSION_MLS10;
    m.wire_format = MLS_WIRE_WELCOME;
    w->cipher_suite = s->id;
    sc->refs = calloc(ap->n_added + 1, sizeof(mls_buf));
    sc->identities = calloc(ap->n_added + 1, sizeof(mls_buf));
    w->secrets = calloc(ap->n_added + 1, sizeof(*w->secrets));
    gs.psks = calloc(ap->n_psks + 1, sizeof(*gs.psks));
    if (!sc->refs || !sc->identities || !w->secrets || !gs.psks) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    /* RFC 9420 §12.4.3.1: the GroupInfo of the new epoch, encrypted under
     * the welcome key. */
    if (!with_tree &&
        (err = mls_group_make_group_info(g, next, 0, &gi)) != 0)
        goto out;
    if ((err = mls_welcome_encrypt_group_info(s, mls_bytes_of(next->sec.welcome_secret, s->nh),
                                              with_tree ? gi_tree : &gi,
                                              &egi)) != 0)
        goto out;
    if ((err = mls_buf_set(&gs.joiner_secret, next->sec.joiner_secret, s->nh)) != 0 ||
        (err = mls_encrypt_context_hash(s, "Welcome", mls_buf_view(&egi), ctx_hash)) != 0)
        goto out;
    for (i = 0; i < ap->n_psks; i++) {
        if ((err = mls_psk_id_copy(&gs.psks[i], ap->psks[i])) != 0)
            goto out;
        gs.n_psks++;
    }
    gs_encs = calloc(ap->n_added + 1, sizeof(*gs_encs));
    init_keys = calloc(ap->n_added + 1, sizeof(*init_keys));
    if (!gs_encs || !init_keys) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < ap->n_added; i++) {
        const mls_key_package *kp = ap->added_kp[i];
        mls_encrypted_group_secrets *es = &w->secrets[i];
        uint32_t node;

        /* The path secret of the lowest common ancestor of the committer
         * and the new member (§12.4.3.1). */
        mls_buf_clear(&gs.path_secret);
        gs.has_path_secret = 0;
        if (has_path &&
            mls_treekem_pending_path_secret_for(pd, ap->added[i], ps, &node) == 0) {
            gs.has_path_secret = 1;
            if ((err = mls_buf_set(&gs.path_secret, ps, s->nh)) != 0)
                goto out;
        }
        w->n_secrets = i + 1;
        if ((err = mls_key_package_ref(s, kp, &es->new_member)) != 0 ||
            (err = mls_group_secrets_encode(&gs, &gs_encs[i])) != 0)
            goto out;
        init_keys[i] = mls_buf_view(&kp->init_key);
        if ((err = mls_buf_copy(&sc->refs[i], &es->new_member)) != 0)
            goto out;
        sc->n_welcome = i + 1;
        if (kp->leaf_node.credential.type == MLS_CREDENTIAL_BASIC &&
            (err = mls_buf_copy(&sc->identities[i], &kp->leaf_node.credential.identity)) != 0)
            goto out;
    }
    /* EncryptWithLabel(init_key, "Welcome", encrypted_group_info,
     * GroupSecrets) for every new member, with the context hashed once,
     * through the env's executor. */
    if ((err = mls_welcome_seal_group_secrets(s, g->env, mls_bytes_of(ctx_hash, s->nh), init_keys,
                                              gs_encs, ap->n_added, w->secrets)) != 0)
        goto out;
    w->encrypted_group_info = egi;
    mls_buf_init(&egi);
    err = mls_message_wrap(&m, &sc->welcome);
out:
    mls_wipe(ps, sizeof(ps));
    for (i = 0; gs_encs && i < ap->n_added; i++)
        mls_buf_clear(&gs_encs[i]);
    free(gs_encs);
    free(init_keys);
    mls_group_info_clear(&gi);
    mls_group_secrets_clear(&gs);
    mls_message_clear(&m);
    mls_buf_clear(&egi);
    return err;
}

int mls_group_commit(mls_group *g, const mls_commit_options *opt, mls_staged_commit **out)
{
    return mls_group_commit_psk(g, opt, NULL, NULL, out);
}

int mls_group_commit_psk(mls_group *g, const mls_commit_options *opt, const mls_psk_id *extra_psk,
                         const mls_psk_store *store, mls_staged_commit **out)
{
    const mls_suite *s;
    mls_commit_options none;
    mls_staged_commit *sc = NULL;
    commit_list cl;
    mls_applied ap;
    mls_treekem_pending pd;
    mls_framed_content fc;
    mls_authenticated_content ac;
    mls_framing_ctx fctx;
    mls_leaf_node tmpl;
    mls_group_info gi;
    mls_message m;
    uint32_t own;
    uint16_t wire;
    int has_path, with_tree, err;

    if (!g || !out)
        return MLS_ERR_ARG;
    if (!g->active || g->reinit_pending)
        return MLS_ERR_STATE;
    s = g->suite;
    own = g->cur.priv.leaf;
    memset(&none, 0, sizeof(none));
    if (!opt) {
        none.force_path = 1;
        opt = &none;
    }
    if ((opt->n_add && !opt->add) || (opt->n_remove && !opt->remove) ||
        (opt->n_set_extensions && !opt->set_extensions) ||
        (opt->n_remove_extensions && !opt->remove_extensions) ||
        (opt->n_external_psks && !opt->external_psks))
        return MLS_ERR_ARG;
    /* A rename keeps the key: the credential changes, the member does not
     * (a new key is a new member, by Remove and Add). */
    if (opt->new_identity &&
        (opt->new_identity->suite != g->id->suite ||
         !mls_ct_equal(mls_buf_view(&opt->new_identity->sig_pk), mls_buf_view(&g->id->sig_pk))))
        return MLS_ERR_ARG;
    /* The per-commit choices, else the group's settings. */
    switch (opt->handshake) {
    case MLS_HANDSHAKE_GROUP_DEFAULT: wire = mls_group_handshake_wire_format(g); break;
    case MLS_HANDSHAKE_PUBLIC: wire = MLS_WIRE_PUBLIC_MESSAGE; break;
    case MLS_HANDSHAKE_PRIVATE: wire = MLS_WIRE_PRIVATE_MESSAGE; break;
    default: return MLS_ERR_ARG;
    }
    switch (opt->ratchet_tree_in_welcome) {
    case MLS_TREE_GROUP_DEFAULT: with_tree = g->cfg.ratchet_tree_in_welcome != 0; break;
    case MLS_TREE_IN_WELCOME: with_tree = 1; break;
    case MLS_TREE_OUT_OF_BAND: with_tree = 0; break;
    default: return MLS_ERR_ARG;
    }
    memset(&cl, 0, sizeof(cl));
    memset(&ap, 0, sizeof(ap));
    memset(&pd, 0, sizeof(pd));
    memset(&fc, 0, sizeof(fc));
    memset(&ac, 0, sizeof(ac));
    memset(&tmpl, 0, sizeof(tmpl));
    memset(&gi, 0, sizeof(gi));
    memset(&m, 0, sizeof(m));

    sc = calloc(1, sizeof(*sc));
    if (!sc)
        return MLS_ERR_NOMEM;
    sc->group = g;
    sc->own = 1;
    sc->epoch = g->cur.ctx.epoch + 1;
    if ((err = build_list(g, opt, extra_psk, &cl)) != 0)
        goto out;
    /* RFC 9420 §12.4.1: a valid list (§12.2), KeyPackage lifetimes
     * checked since we are the sender (§7.3). */
    if ((err = mls_proposals_validate(g, cl.items, cl.n_items, 0, own, 1)) != 0)
        goto out;
    if ((err = mls_epoch_begin(g, &sc->next)) != 0 ||
        (err = mls_proposals_apply(g, &sc->next, cl.items, cl.n_items, &ap)) != 0)
        goto out;
    sc->next.ctx.epoch = sc->epoch;
    has_path = ap.path_required || opt->force_path || opt->new_identity;
    if (opt->new_identity && (err = mls_identity_dup(opt->new_identity, &sc->new_id)) != 0)
        goto out;

    if (has_path) {
        const mls_leaf_node *cur = mls_rtree_leaf(&g->cur.tree, own);
        /* A fresh leaf of ours: same keys and credential (the new one for
         * a rename), capabilities of the identity (TreeKEM sets the
         * encryption key, source, parent hash and signs). */
        if ((err = mls_identity_make_leaf(sc->new_id ? sc->new_id : g->id, NULL, mls_buf_view(&cur->encryption_key),
                                          MLS_LEAF_SOURCE_COMMIT, NULL, mls_bytes_of(NULL, 0),
                                          mls_bytes_of(NULL, 0), own, &tmpl)) != 0)
            goto out;
        if ((err = mls_extension_list_copy(&tmpl.extensions, &cur->extensions)) != 0)
            goto out;
        if ((err = mls_treekem_path_create(&sc->next.tree, own, &tmpl,
                                           mls_buf_view(&g->id->sig_sk),
                                           mls_buf_view(&g->cur.ctx.group_id), g->env, &pd)) != 0)
            goto out;
        /* §12.4.1: the path secrets are encrypted under the provisional
         * GroupContext (new tree hash, old transcript hash). */
        if ((err = mls_epoch_set_tree_hash(s, &sc->next)) != 0 || (err = mls_epoch_encode_ctx(&sc->next)) != 0)
            goto out;
        if ((err = mls_treekem_path_encrypt(&pd, &sc->next.tree, mls_buf_view(&sc->next.ctx_enc),
                                            ap.added, ap.n_added, g->env)) != 0)
            goto out;
        mls_treekem_priv_clear(&sc->next.priv);
        if ((err = mls_treekem_priv_copy(&sc->next.priv, &pd.priv)) != 0)
            goto out;
    } else {
        if ((err = mls_epoch_set_tree_hash(s, &sc->next)) != 0)
            goto out;
    }

    /* The Commit, signed with the current GroupContext (§6.1). */
    fc.content_type = MLS_CONTENT_COMMIT;
    fc.epoch = g->cur.ctx.epoch;
    fc.sender.type = MLS_SENDER_MEMBER;
    fc.sender.index = own;
    if ((err = mls_buf_copy(&fc.group_id, &g->cur.ctx.group_id)) != 0 ||
        (err = mls_buf_set(&fc.authenticated_data, opt->authenticated_data.p,
                           opt->authenticated_data.n)) != 0)
        goto out;
    fc.commit.proposals = cl.por;
    fc.commit.n_proposals = cl.n_items;
    cl.por = NULL;
    if (has_path) {
        fc.commit.has_path = 1;
        fc.commit.path = pd.update_path;
        memset(&pd.update_path, 0, sizeof(pd.update_path));
    }
    mls_group_framing_ctx(g, &fctx);
    if ((err = mls_framing_sign(&fctx, g->env, wire, &fc, mls_buf_view(&g->id->sig_sk), &ac)) != 0)
        goto out;
    if ((err = mls_epoch_from_commit(g, store, &ac, ap.psks, ap.n_psks,
                                     mls_bytes_of(g->cur.sec.init_secret, s->nh),
                                     has_path ? mls_bytes_of(pd.commit_secret, s->nh)
                                              : mls_bytes_of(NULL, 0),
                                     mls_bytes_of(NULL, 0), &sc->next)) != 0)
        goto out;
    if ((err = mls_buf_set(&ac.auth.confirmation_tag, sc->next.conf_tag, s->nh)) != 0)
        goto out;
    if ((err = mls_group_protect_content(g, &ac, &sc->message)) != 0)
        goto out;

    /* GroupInfo of the new epoch for external joins, and the Welcome. */
    m.version = MLS_VERSION_MLS10;
    m.wire_format = MLS_WIRE_GROUP_INFO;
    if ((err = mls_group_make_group_info(g, &sc->next, 1, &m.group_info)) != 0 ||
        (err = mls_message_wrap(&m, &sc->group_info)) != 0)
        goto out;
    /* The tree is encoded once, in the GroupInfo's ratchet_tree extension
     * (RFC 9420 §12.4.3.3), which the Welcome reuses. */
    {
        const mls_extension *rt =
            mls_extension_list_find(&m.group_info.extensions, MLS_EXT_RATCHET_TREE);
        if (!rt) {
            err = MLS_ERR_STATE;
            goto out;
        }
        if ((err = mls_buf_copy(&sc->ratchet_tree, &rt->data)) != 0)
            goto out;
    }
    if (ap.n_added &&
        (err = welcome_build(g, &sc->next, &ap, &pd, has_path, &m.group_info, with_tree, sc)) != 0)
        goto out;
    if ((err = mls_staged_describe(g, sc, cl.items, cl.n_items, &ap, MLS_SENDER_MEMBER, own,
                                   has_path, opt->authenticated_data)) != 0)
        goto out;
    sc->reinit = ap.reinit != NULL;
    if (ap.reinit && (err = mls_reinit_copy(&sc->reinit_prop, ap.reinit)) != 0)
        goto out;
    /* Everything merging allocates, now (merging then cannot fail). */
    if ((err = mls_group_install_prepare(g, &sc->next, sc->changed, sc->n_changed, &sc->prep)) !=
        0)
        goto out;
    sc->prepared = 1;
    *out = sc;
    sc = NULL;
out:
    mls_staged_commit_free(sc);
    /* ap points into cl's proposals: clear it first. */
    mls_applied_clear(&ap);
    commit_list_clear(&cl, 0);
    mls_treekem_pending_clear(&pd);
    mls_framed_content_clear(&fc);
    mls_authenticated_content_clear(&ac);
    mls_leaf_node_clear(&tmpl);
    mls_message_clear(&m);
    return err;
}

int mls_group_add_members(mls_group *g, const mls_bytes *key_packages, size_t n,
                          mls_staged_commit **out)
{
    mls_commit_options o;
    memset(&o, 0, sizeof(o));
    o.add = key_packages;
    o.n_add = n;
    return mls_group_commit(g, &o, out);
}

int mls_group_remove_members(mls_group *g, const uint32_t *leaves, size_t n,
                             mls_staged_commit **out)
{
    mls_commit_options o;
    memset(&o, 0, sizeof(o));
    o.remove = leaves;
    o.n_remove = n;
    return mls_group_commit(g, &o, out);
}

int mls_group_self_update(mls_group *g, mls_staged_commit **out)
{
    return mls_group_commit(g, NULL, out);
}

int mls_group_set_extensions(mls_group *g, const mls_ext *set, size_t n_set,
                             mls_staged_commit **out)
{
    mls_commit_options o;
    memset(&o, 0, sizeof(o));
    o.set_extensions = set;
    o.n_set_extensions = n_set;
    return mls_group_commit(g, &o, out);
}
