/*
 * Commits (RFC 9420 §12.4): creating one as a staged commit (§12.4.1),
 * merging it, and processing a received one (§12.4.2).
 */
#include "group_state.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "key_package.h"
#include "transcript.h"

/* ---------------------------------------------------------------- shared */

/* A fresh next-epoch state to which the commit is applied: copies of the
 * current context and private keys, and an overlay over the current tree
 * (O(1); it records only the slots the commit changes, so a failed commit
 * leaves the current tree as it was and a successful one is written into
 * it by mls_group_install_epoch in O(changed slots)). */
static int next_from_current(mls_group *g, mls_epoch_state *next)
{
    int err;

    memset(next, 0, sizeof(*next));
    if ((err = mls_group_context_copy(&next->ctx, &g->cur.ctx)) != 0 ||
        (err = mls_rtree_overlay(&next->tree, &g->cur.tree)) != 0 ||
        (err = mls_treekem_priv_copy(&next->priv, &g->cur.priv)) != 0) {
        mls_epoch_state_clear(next);
        return err;
    }
    return 0;
}

int mls_epoch_set_tree_hash(const mls_suite *s, mls_epoch_state *next)
{
    uint8_t th[MLS_MAX_HASH];
    int err;

    if ((err = mls_rtree_root_hash(&next->tree, th)) != 0)
        return err;
    return mls_buf_set(&next->ctx.tree_hash, th, s->nh);
}

/*
 * RFC 9420 §8.2, §8: from the signed commit content, the new confirmed
 * transcript hash, GroupContext, key schedule, confirmation tag and
 * interim transcript hash of next.  init_secret and commit_secret as the
 * key schedule wants them; psk_secret from the commit's PSKs.
 */
int mls_commit_advance_schedule(const mls_group *g, const mls_psk_store *store,
                                const mls_authenticated_content *ac, const mls_applied *ap,
                                mls_bytes init_secret, mls_bytes commit_secret,
                                mls_epoch_state *next)
{
    const mls_suite *s = g->suite;
    uint8_t cth[MLS_MAX_HASH], psk[MLS_MAX_HASH];
    size_t psk_len = 0;
    mls_buf in;
    int err;

    mls_buf_init(&in);
    if ((err = mls_confirmed_transcript_hash_input_encode(ac->wire_format, &ac->content,
                                                          mls_buf_view(&ac->auth.signature),
                                                          &in)) != 0 ||
        (err = mls_transcript_confirmed(s, mls_bytes_of(g->cur.interim, s->nh),
                                        mls_buf_view(&in), cth)) != 0 ||
        (err = mls_buf_set(&next->ctx.confirmed_transcript_hash, cth, s->nh)) != 0 ||
        (err = mls_epoch_encode_ctx(next)) != 0)
        goto out;
    if ((err = mls_group_psk_secret(g, store, ap->psks, ap->n_psks, psk, &psk_len)) != 0)
        goto out;
    if ((err = mls_key_schedule_epoch(s, init_secret, commit_secret,
                                      mls_bytes_of(psk, psk_len), mls_buf_view(&next->ctx_enc),
                                      &next->sec)) != 0 ||
        (err = mls_confirmation_tag(s, mls_bytes_of(next->sec.confirmation_key, s->nh),
                                    mls_bytes_of(cth, s->nh), next->conf_tag)) != 0)
        goto out;
out:
    mls_wipe(psk, sizeof(psk));
    mls_buf_clear(&in);
    return err;
}

static int u32_append(uint32_t **v, size_t *n, const uint32_t *add, size_t k)
{
    uint32_t *nv = realloc(*v, (*n + k + 1) * sizeof(uint32_t));
    if (!nv)
        return MLS_ERR_NOMEM;
    if (k)
        memcpy(nv + *n, add, k * sizeof(uint32_t));
    *n += k;
    *v = nv;
    return 0;
}

/* The leaves whose signature key the commit may change. */
static int changed_leaves(const mls_applied *ap, int has_path, uint32_t committer,
                          uint32_t **out, size_t *n)
{
    int err;
    *out = NULL;
    *n = 0;
    if ((err = u32_append(out, n, ap->updated, ap->n_updated)) != 0 ||
        (err = u32_append(out, n, ap->removed, ap->n_removed)) != 0 ||
        (err = u32_append(out, n, ap->added, ap->n_added)) != 0 ||
        (has_path && (err = u32_append(out, n, &committer, 1)) != 0)) {
        free(*out);
        *out = NULL;
        return err;
    }
    return 0;
}

/* RFC 9420 §8.3: the external init secret from the ExternalInit
 * kem_output, with the external key pair of the current epoch. */
static int external_init_secret(const mls_group *g, mls_bytes kem_output,
                                uint8_t out[MLS_MAX_HASH])
{
    const mls_suite *s = g->suite;
    static const char label[] = "MLS 1.0 external init secret";
    mls_hpke_ctx hc;
    mls_buf sk, pk;
    int err;

    memset(&hc, 0, sizeof(hc));
    mls_buf_init(&sk);
    mls_buf_init(&pk);
    err = mls_key_schedule_external_keypair(s, mls_bytes_of(g->cur.sec.external_secret, s->nh),
                                            &sk, &pk);
    if (!err)
        err = mls_hpke_setup_base_r(s, kem_output, mls_buf_view(&sk), mls_bytes_of(NULL, 0), &hc);
    if (!err)
        err = mls_hpke_ctx_export(&hc, mls_bytes_of((const uint8_t *)label, sizeof(label) - 1),
                                  out, s->nh);
    if (err && err != MLS_ERR_NOMEM)
        err = MLS_ERR_INVALID;
    mls_hpke_ctx_clear(&hc);
    mls_buf_clear(&sk);
    mls_buf_clear(&pk);
    return err;
}

/* ---------------------------------------------------------------- creating */

void mls_staged_commit_free(mls_staged_commit *sc)
{
    if (!sc)
        return;
    mls_epoch_state_clear(&sc->next);
    free(sc->changed);
    mls_buf_clear(&sc->message);
    mls_buf_clear(&sc->welcome);
    mls_buf_clear(&sc->group_info);
    mls_buf_clear(&sc->ratchet_tree);
    mls_reinit_clear(&sc->reinit_prop);
    for (size_t i = 0; i < sc->n_welcome; i++) {
        mls_buf_clear(&sc->refs[i]);
        mls_buf_clear(&sc->identities[i]);
    }
    free(sc->refs);
    free(sc->identities);
    free(sc);
}

mls_bytes mls_staged_commit_message(const mls_staged_commit *sc)
{
    return mls_buf_view(&sc->message);
}

mls_bytes mls_staged_commit_welcome(const mls_staged_commit *sc)
{
    return mls_buf_view(&sc->welcome);
}

mls_bytes mls_staged_commit_group_info(const mls_staged_commit *sc)
{
    return mls_buf_view(&sc->group_info);
}

mls_bytes mls_staged_commit_ratchet_tree(const mls_staged_commit *sc)
{
    return mls_buf_view(&sc->ratchet_tree);
}

uint64_t mls_staged_commit_epoch(const mls_staged_commit *sc)
{
    return sc->epoch;
}

size_t mls_staged_commit_welcome_count(const mls_staged_commit *sc)
{
    return sc->n_welcome;
}

int mls_staged_commit_welcome_member(const mls_staged_commit *sc, size_t i,
                                     mls_bytes *key_package_ref, mls_bytes *identity)
{
    if (i >= sc->n_welcome)
        return MLS_ERR_NOT_FOUND;
    if (key_package_ref)
        *key_package_ref = mls_buf_view(&sc->refs[i]);
    if (identity)
        *identity = mls_buf_view(&sc->identities[i]);
    return 0;
}

int mls_group_merge_staged(mls_group *g, mls_staged_commit *sc)
{
    int err;

    if (!g || !sc)
        return MLS_ERR_ARG;
    if (sc->merged || sc->group != g || g->cur.ctx.epoch + 1 != sc->epoch)
        return MLS_ERR_STATE;
    if ((err = mls_group_install_epoch(g, &sc->next, sc->changed, sc->n_changed)) != 0)
        return err;
    mls_treekem_priv_prune(&g->cur.priv, &g->cur.tree);
    if (sc->reinit) {
        /* RFC 9420 §11.2: the group keeps the ReInit's parameters for
         * creating or joining the successor. */
        g->reinit_pending = 1;
        mls_reinit_clear(&g->reinit);
        g->reinit = sc->reinit_prop;
        memset(&sc->reinit_prop, 0, sizeof(sc->reinit_prop));
    }
    sc->merged = 1;
    return 0;
}

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

uint16_t mls_group_handshake_wire_format(const mls_group *g)
{
    return g->cfg.handshake_private ? MLS_WIRE_PRIVATE_MESSAGE : MLS_WIRE_PUBLIC_MESSAGE;
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
    int has_path, err;

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
    sc->epoch = g->cur.ctx.epoch + 1;
    if ((err = build_list(g, opt, extra_psk, &cl)) != 0)
        goto out;
    /* RFC 9420 §12.4.1: a valid list (§12.2), KeyPackage lifetimes
     * checked since we are the sender (§7.3). */
    if ((err = mls_proposals_validate(g, cl.items, cl.n_items, 0, own, 1)) != 0)
        goto out;
    if ((err = next_from_current(g, &sc->next)) != 0 ||
        (err = mls_proposals_apply(g, &sc->next, cl.items, cl.n_items, &ap)) != 0)
        goto out;
    sc->next.ctx.epoch = sc->epoch;
    has_path = ap.path_required || opt->force_path;

    if (has_path) {
        const mls_leaf_node *cur = mls_rtree_leaf(&g->cur.tree, own);
        /* A fresh leaf of ours: same keys and credential, capabilities of
         * the identity (TreeKEM sets the encryption key, source, parent
         * hash and signs). */
        if ((err = mls_identity_make_leaf(g->id, NULL, mls_buf_view(&cur->encryption_key),
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
    if ((err = mls_framing_sign(&fctx, g->env, mls_group_handshake_wire_format(g), &fc,
                                mls_buf_view(&g->id->sig_sk), &ac)) != 0)
        goto out;
    if ((err = mls_commit_advance_schedule(g, store, &ac, &ap, mls_bytes_of(g->cur.sec.init_secret, s->nh),
                                has_path ? mls_bytes_of(pd.commit_secret, s->nh)
                                         : mls_bytes_of(NULL, 0),
                                &sc->next)) != 0)
        goto out;
    if ((err = mls_buf_set(&ac.auth.confirmation_tag, sc->next.conf_tag, s->nh)) != 0 ||
        (err = mls_transcript_interim(s, mls_buf_view(&sc->next.ctx.confirmed_transcript_hash),
                                      mls_bytes_of(sc->next.conf_tag, s->nh),
                                      sc->next.interim)) != 0)
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
        (err = mls_welcome_build(g, &sc->next, &ap, &pd, has_path, &m.group_info, sc)) != 0)
        goto out;
    if ((err = changed_leaves(&ap, has_path, own, &sc->changed, &sc->n_changed)) != 0)
        goto out;
    sc->reinit = ap.reinit != NULL;
    if (ap.reinit && (err = mls_reinit_copy(&sc->reinit_prop, ap.reinit)) != 0)
        goto out;
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

/* ---------------------------------------------------------------- processing */

static int change_set(mls_member_change *c, uint32_t leaf, const mls_leaf_node *ln)
{
    int err;
    memset(c, 0, sizeof(*c));
    c->leaf = leaf;
    if (!ln)
        return 0;
    if ((err = mls_credential_encode(&ln->credential, &c->credential)) != 0 ||
        (err = mls_buf_copy(&c->signature_key, &ln->signature_key)) != 0)
        return err;
    if (ln->credential.type == MLS_CREDENTIAL_BASIC &&
        (err = mls_buf_copy(&c->identity, &ln->credential.identity)) != 0)
        return err;
    return 0;
}

static void changes_free(mls_member_change *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        mls_buf_clear(&v[i].credential);
        mls_buf_clear(&v[i].identity);
        mls_buf_clear(&v[i].signature_key);
    }
    free(v);
}

void mls_process_result_clear(mls_process_result *r)
{
    if (!r)
        return;
    mls_buf_clear(&r->authenticated_data);
    mls_buf_clear(&r->application_data);
    changes_free(r->added, r->n_added);
    changes_free(r->removed, r->n_removed);
    changes_free(r->updated, r->n_updated);
    memset(r, 0, sizeof(*r));
}

static int changes_fill(const mls_rtree *t, const uint32_t *leaves, size_t n,
                        mls_member_change **out)
{
    mls_member_change *v = calloc(n + 1, sizeof(*v));
    int err;
    if (!v)
        return MLS_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if ((err = change_set(&v[i], leaves[i], mls_rtree_leaf(t, leaves[i]))) != 0) {
            changes_free(v, n);
            return err;
        }
    }
    *out = v;
    return 0;
}

/* Resolves the Commit's ProposalOrRefs against the pending proposals. */
static int resolve_items(const mls_group *g, const mls_commit *c, const mls_sender *committer,
                         mls_prop_item *items)
{
    for (size_t i = 0; i < c->n_proposals; i++) {
        const mls_proposal_or_ref *por = &c->proposals[i];
        if (por->type == MLS_POR_PROPOSAL) {
            items[i].p = &por->proposal;
            items[i].sender = *committer;
            items[i].pending = NULL;
            continue;
        }
        size_t k;
        for (k = 0; k < g->n_props; k++)
            if (mls_ct_equal(mls_buf_view(&g->props[k].ref), mls_buf_view(&por->reference)))
                break;
        /* RFC 9420 §12.4.2: a reference to an unknown proposal makes the
         * commit invalid. */
        if (k == g->n_props)
            return MLS_ERR_INVALID;
        items[i].p = &g->props[k].proposal;
        items[i].sender = g->props[k].sender;
        items[i].pending = &g->props[k];
    }
    return 0;
}

int mls_commit_process(mls_group *g, const mls_authenticated_content *ac,
                       mls_process_result *res)
{
    const mls_suite *s = g->suite;
    const mls_commit *c = &ac->content.commit;
    const mls_sender *snd = &ac->content.sender;
    mls_epoch_state next;
    mls_applied ap;
    mls_prop_item *items = NULL;
    mls_treekem_priv base;
    mls_reinit ri;
    mls_process_result r;
    uint8_t commit_secret[MLS_MAX_HASH], init[MLS_MAX_HASH];
    uint32_t *changed = NULL, committer, own = g->cur.priv.leaf;
    size_t n_changed = 0, i;
    int external, self_removed = 0, err;

    memset(&next, 0, sizeof(next));
    memset(&ap, 0, sizeof(ap));
    memset(&base, 0, sizeof(base));
    memset(&ri, 0, sizeof(ri));
    memset(&r, 0, sizeof(r));
    external = snd->type == MLS_SENDER_NEW_MEMBER_COMMIT;
    if (!external && snd->type != MLS_SENDER_MEMBER)
        return MLS_ERR_INVALID;
    if (!external && snd->index == own)
        return MLS_ERR_STATE;
    committer = external ? UINT32_MAX : snd->index;

    items = calloc(c->n_proposals + 1, sizeof(*items));
    if (!items)
        return MLS_ERR_NOMEM;
    if ((err = resolve_items(g, c, snd, items)) != 0)
        goto out;
    if ((err = mls_proposals_validate(g, items, c->n_proposals, external, committer, 0)) != 0)
        goto out;
    if ((err = next_from_current(g, &next)) != 0 ||
        (err = mls_proposals_apply(g, &next, items, c->n_proposals, &ap)) != 0)
        goto out;
    next.ctx.epoch = g->cur.ctx.epoch + 1;
    /* RFC 9420 §12.4: the path is required by some proposal types and for
     * an empty commit. */
    if (ap.path_required && !c->has_path) {
        err = MLS_ERR_INVALID;
        goto out;
    }
    for (i = 0; i < ap.n_removed; i++)
        self_removed |= ap.removed[i] == own;
    if ((err = mls_treekem_priv_copy(&base, &g->cur.priv)) != 0)
        goto out;
    if (ap.own_update && (err = mls_treekem_priv_set_leaf_key(&base,
                                                              mls_buf_view(&ap.own_leaf_sk))) != 0)
        goto out;

    if (c->has_path) {
        const mls_leaf_node *ln = &c->path.leaf_node;
        mls_leaf_check chk;
        /* §12.4.2: an external committer takes the leftmost free leaf. */
        if (external) {
            /* §12.2: its Remove removes an old appearance of the joiner. */
            if ((err = mls_external_remove_check(g, items, c->n_proposals, &ln->credential,
                                                 mls_buf_view(&ln->encryption_key))) != 0)
                goto out;
            if ((err = mls_rtree_add_leaf(&next.tree, ln, &committer)) != 0) {
                err = err == MLS_ERR_NOMEM ? err : MLS_ERR_INVALID;
                goto out;
            }
        } else {
            const mls_leaf_node *old = mls_rtree_leaf(&g->cur.tree, committer);
            /* §12.4.2: a new encryption key for the committer's leaf. */
            if (!old || mls_ct_equal(mls_buf_view(&old->encryption_key),
                                     mls_buf_view(&ln->encryption_key))) {
                err = MLS_ERR_INVALID;
                goto out;
            }
        }
        /* §7.3 checks of the new leaf that TreeKEM does not make, against
         * the new GroupContext's required capabilities. */
        mls_required_capabilities rc;
        const mls_extension *rce =
            mls_extension_list_find(&next.ctx.extensions, MLS_EXT_REQUIRED_CAPABILITIES);
        memset(&rc, 0, sizeof(rc));
        memset(&chk, 0, sizeof(chk));
        chk.group_id = mls_buf_view(&g->cur.ctx.group_id);
        if (rce && mls_required_capabilities_decode_bytes(mls_buf_view(&rce->data), &rc) == 0)
            chk.required = &rc;
        err = ln->source != MLS_LEAF_SOURCE_COMMIT ||
                      mls_leaf_node_validate(s, ln, committer, &chk) != 0 ||
                      mls_rtree_check_leaf_fits(&next.tree, ln, committer) != 0
                  ? MLS_ERR_INVALID
                  : 0;
        mls_required_capabilities_clear(&rc);
        if (err)
            goto out;
        if ((err = mls_treekem_path_merge(&next.tree, committer, &c->path,
                                          mls_buf_view(&g->cur.ctx.group_id))) != 0)
            goto out;
        if ((err = mls_epoch_set_tree_hash(s, &next)) != 0 || (err = mls_epoch_encode_ctx(&next)) != 0)
            goto out;
        if (self_removed) {
            /* We cannot follow into the new epoch: report and stop. */
            goto removed;
        }
        mls_treekem_priv_clear(&next.priv);
        if ((err = mls_treekem_path_decrypt(&next.tree, &base, committer, &c->path,
                                            mls_buf_view(&next.ctx_enc), ap.added, ap.n_added,
                                            &next.priv, commit_secret, NULL, NULL)) != 0) {
            err = err == MLS_ERR_NOMEM ? err : MLS_ERR_INVALID;
            goto out;
        }
    } else {
        if ((err = mls_epoch_set_tree_hash(s, &next)) != 0)
            goto out;
        if (self_removed)
            goto removed;
        mls_treekem_priv_clear(&next.priv);
        if ((err = mls_treekem_priv_copy(&next.priv, &base)) != 0)
            goto out;
    }
    mls_treekem_priv_prune(&next.priv, &next.tree);

    if (external) {
        if ((err = external_init_secret(g, mls_buf_view(&ap.external_init->kem_output), init)) != 0)
            goto out;
    } else {
        memcpy(init, g->cur.sec.init_secret, s->nh);
    }
    if ((err = mls_commit_advance_schedule(g, NULL, ac, &ap, mls_bytes_of(init, s->nh),
                                c->has_path ? mls_bytes_of(commit_secret, s->nh)
                                            : mls_bytes_of(NULL, 0),
                                &next)) != 0)
        goto out;
    /* §12.4.2: the confirmation tag must match. */
    if ((err = mls_confirmation_tag_verify(s, mls_bytes_of(next.sec.confirmation_key, s->nh),
                                           mls_buf_view(&next.ctx.confirmed_transcript_hash),
                                           mls_buf_view(&ac->auth.confirmation_tag))) != 0)
        goto out;
    if ((err = mls_transcript_interim(s, mls_buf_view(&next.ctx.confirmed_transcript_hash),
                                      mls_buf_view(&ac->auth.confirmation_tag), next.interim)) != 0)
        goto out;
    memcpy(next.conf_tag, ac->auth.confirmation_tag.p, s->nh);

removed:
    /* The summary: removed members as they were, the others as they are. */
    r.kind = MLS_RESULT_COMMIT;
    r.epoch = g->cur.ctx.epoch;
    r.sender_type = snd->type;
    r.sender_leaf = committer;
    r.extensions_changed = ap.gce;
    r.reinit = ap.reinit != NULL;
    r.self_removed = self_removed;
    if ((err = changes_fill(&g->cur.tree, ap.removed, ap.n_removed, &r.removed)) != 0)
        goto out;
    r.n_removed = ap.n_removed;
    if ((err = changes_fill(&next.tree, ap.added, ap.n_added, &r.added)) != 0)
        goto out;
    r.n_added = ap.n_added;
    if ((err = changed_leaves(&ap, c->has_path && !external, committer, &changed, &n_changed)) !=
        0)
        goto out;
    /* updated: the Update senders and a committer whose path replaced its
     * leaf (an external committer counts as added). */
    {
        size_t nu = ap.n_updated + (c->has_path && !external);
        uint32_t *ul = calloc(nu + 1, sizeof(uint32_t));
        if (!ul) {
            err = MLS_ERR_NOMEM;
            goto out;
        }
        if (ap.n_updated)
            memcpy(ul, ap.updated, ap.n_updated * sizeof(uint32_t));
        if (c->has_path && !external)
            ul[ap.n_updated] = committer;
        err = changes_fill(&next.tree, ul, nu, &r.updated);
        free(ul);
        if (err)
            goto out;
        r.n_updated = nu;
    }
    if (external) {
        /* The joiner is reported as added. */
        mls_member_change *na = realloc(r.added, (r.n_added + 1) * sizeof(*na));
        if (!na) {
            err = MLS_ERR_NOMEM;
            goto out;
        }
        r.added = na;
        if ((err = change_set(&r.added[r.n_added], committer,
                              mls_rtree_leaf(&next.tree, committer))) != 0)
            goto out;
        r.n_added++;
        if ((err = u32_append(&changed, &n_changed, &committer, 1)) != 0)
            goto out;
    }
    if ((err = mls_buf_copy(&r.authenticated_data, &ac->content.authenticated_data)) != 0)
        goto out;
    if (ap.reinit && (err = mls_reinit_copy(&ri, ap.reinit)) != 0)
        goto out;
    if (self_removed) {
        g->active = 0;
        mls_group_clear_pending_proposals(g);
    } else {
        if ((err = mls_group_install_epoch(g, &next, changed, n_changed)) != 0)
            goto out;
        if (r.reinit) {
            /* RFC 9420 §11.2: kept for creating or joining the successor. */
            g->reinit_pending = 1;
            mls_reinit_clear(&g->reinit);
            g->reinit = ri;
            memset(&ri, 0, sizeof(ri));
        }
    }
    *res = r;
    memset(&r, 0, sizeof(r));
out:
    mls_process_result_clear(&r);
    mls_applied_clear(&ap);
    mls_epoch_state_clear(&next);
    mls_treekem_priv_clear(&base);
    mls_reinit_clear(&ri);
    mls_wipe(commit_secret, sizeof(commit_secret));
    mls_wipe(init, sizeof(init));
    free(changed);
    free(items);
    return err;
}
