/*
 * Processing a received commit (RFC 9420 §12.4.2) into a staged commit:
 * every rule is checked and the next epoch computed without changing the
 * group; staged.c describes and merges it.
 */
#include "commit.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "epoch.h"

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

/* §7.3 checks of the committer's new leaf that TreeKEM does not make,
 * against the new GroupContext's required capabilities. */
static int check_path_leaf(const mls_group *g, const mls_epoch_state *next,
                           const mls_leaf_node *ln, uint32_t committer)
{
    mls_required_capabilities rc;
    mls_leaf_check chk;
    const mls_extension *rce =
        mls_extension_list_find(&next->ctx.extensions, MLS_EXT_REQUIRED_CAPABILITIES);
    int err;

    memset(&rc, 0, sizeof(rc));
    memset(&chk, 0, sizeof(chk));
    chk.group_id = mls_buf_view(&g->cur.ctx.group_id);
    if (rce && mls_required_capabilities_decode_bytes(mls_buf_view(&rce->data), &rc) == 0)
        chk.required = &rc;
    err = ln->source != MLS_LEAF_SOURCE_COMMIT ||
                  mls_leaf_node_validate(g->suite, ln, committer, &chk) != 0 ||
                  mls_rtree_check_leaf_fits(&next->tree, ln, committer) != 0
              ? MLS_ERR_INVALID
              : 0;
    mls_required_capabilities_clear(&rc);
    return err;
}

int mls_commit_stage(mls_group *g, const mls_authenticated_content *ac, mls_secret_tree *stree,
                     mls_staged_commit **out)
{
    const mls_suite *s = g->suite;
    const mls_commit *c = &ac->content.commit;
    const mls_sender *snd = &ac->content.sender;
    mls_staged_commit *sc = NULL;
    mls_epoch_state *next;
    mls_applied ap;
    mls_prop_item *items = NULL;
    mls_treekem_priv base;
    uint8_t commit_secret[MLS_MAX_HASH], init[MLS_MAX_HASH];
    uint32_t committer, own = g->cur.priv.leaf;
    size_t i;
    int external, self_removed = 0, err;

    memset(&ap, 0, sizeof(ap));
    memset(&base, 0, sizeof(base));
    external = snd->type == MLS_SENDER_NEW_MEMBER_COMMIT;
    if (!external && snd->type != MLS_SENDER_MEMBER)
        return MLS_ERR_INVALID;
    if (!external && snd->index == own)
        return MLS_ERR_STATE;
    committer = external ? UINT32_MAX : snd->index;

    sc = calloc(1, sizeof(*sc));
    items = calloc(c->n_proposals + 1, sizeof(*items));
    if (!sc || !items) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    sc->group = g;
    sc->epoch = g->cur.ctx.epoch + 1;
    next = &sc->next;
    if ((err = resolve_items(g, c, snd, items)) != 0)
        goto out;
    if ((err = mls_proposals_validate(g, items, c->n_proposals, external, committer, 0)) != 0)
        goto out;
    if ((err = mls_epoch_begin(g, next)) != 0 ||
        (err = mls_proposals_apply(g, next, items, c->n_proposals, &ap)) != 0)
        goto out;
    next->ctx.epoch = sc->epoch;
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
        if (external) {
            /* §12.2: its Remove removes an old appearance of the joiner. */
            if ((err = mls_external_remove_check(g, items, c->n_proposals, &ln->credential,
                                                 mls_buf_view(&ln->encryption_key))) != 0)
                goto out;
            /* §12.4.2: an external committer takes the leftmost free leaf. */
            if ((err = mls_rtree_add_leaf(&next->tree, ln, &committer)) != 0) {
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
        if ((err = check_path_leaf(g, next, ln, committer)) != 0)
            goto out;
        if ((err = mls_treekem_path_merge(&next->tree, committer, &c->path,
                                          mls_buf_view(&g->cur.ctx.group_id))) != 0)
            goto out;
        if ((err = mls_epoch_set_tree_hash(s, next)) != 0 || (err = mls_epoch_encode_ctx(next)) != 0)
            goto out;
        /* Removed: we cannot follow into the new epoch; only the
         * description is made. */
        if (!self_removed) {
            mls_treekem_priv_clear(&next->priv);
            if ((err = mls_treekem_path_decrypt(&next->tree, &base, committer, &c->path,
                                                mls_buf_view(&next->ctx_enc), ap.added,
                                                ap.n_added, &next->priv, commit_secret, NULL,
                                                NULL)) != 0) {
                err = err == MLS_ERR_NOMEM ? err : MLS_ERR_INVALID;
                goto out;
            }
        }
    } else {
        if ((err = mls_epoch_set_tree_hash(s, next)) != 0)
            goto out;
        if (!self_removed) {
            mls_treekem_priv_clear(&next->priv);
            if ((err = mls_treekem_priv_copy(&next->priv, &base)) != 0)
                goto out;
        }
    }
    if (!self_removed) {
        mls_treekem_priv_prune(&next->priv, &next->tree);
        if (external) {
            if ((err = mls_epoch_external_init_receive(
                     g, mls_buf_view(&ap.external_init->kem_output), init)) != 0)
                goto out;
        } else {
            memcpy(init, g->cur.sec.init_secret, s->nh);
        }
        /* §12.4.2: the new epoch, with the confirmation tag verified. */
        if ((err = mls_epoch_from_commit(g, NULL, ac, ap.psks, ap.n_psks, mls_bytes_of(init, s->nh),
                                         c->has_path ? mls_bytes_of(commit_secret, s->nh)
                                                     : mls_bytes_of(NULL, 0),
                                         mls_buf_view(&ac->auth.confirmation_tag), next)) != 0)
            goto out;
    }
    sc->self_removed = self_removed;
    if ((err = mls_staged_describe(g, sc, items, c->n_proposals, &ap, snd->type, committer,
                                   c->has_path, mls_buf_view(&ac->content.authenticated_data))) !=
        0)
        goto out;
    sc->reinit = ap.reinit != NULL;
    if (ap.reinit && (err = mls_reinit_copy(&sc->reinit_prop, ap.reinit)) != 0)
        goto out;
    /* Everything merging allocates, now (merging then cannot fail). */
    if (!self_removed) {
        if ((err = mls_group_install_prepare(g, next, sc->changed, sc->n_changed, &sc->prep)) != 0)
            goto out;
        sc->prepared = 1;
    }
    if (stree) {
        sc->stree = *stree;
        memset(stree, 0, sizeof(*stree));
        sc->has_stree = 1;
    }
    *out = sc;
    sc = NULL;
out:
    mls_staged_commit_free(sc);
    mls_applied_clear(&ap);
    mls_treekem_priv_clear(&base);
    mls_wipe(commit_secret, sizeof(commit_secret));
    mls_wipe(init, sizeof(init));
    free(items);
    return err;
}
