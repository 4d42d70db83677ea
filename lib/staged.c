/*
 * The staged commit (RFC 9420 §12.4; the model of OpenMLS StagedCommit and
 * mlspp): its description for the application, judged on the group before
 * the commit, merging it into the group, and the state merging leads to.
 * A staged commit holds the complete next epoch and everything merging
 * allocates, so that a merge after a successful stage cannot fail.
 */
#include "commit.h"

#include <stdlib.h>
#include <string.h>

#include "epoch.h"

void mls_staged_commit_free(mls_staged_commit *sc)
{
    if (!sc)
        return;
    mls_epoch_state_clear(&sc->next);
    free(sc->changed);
    mls_reinit_clear(&sc->reinit_prop);
    mls_secret_tree_clear(&sc->stree);
    mls_install_prep_clear(&sc->prep);
    mls_sc_member_clear(&sc->committer);
    mls_sc_member_clear(&sc->path_leaf);
    for (size_t i = 0; i < sc->n_props; i++)
        mls_sc_proposal_clear(&sc->props[i]);
    free(sc->props);
    mls_extension_list_clear(&sc->old_exts);
    mls_extension_list_clear(&sc->new_exts);
    free(sc->old_ext_views);
    free(sc->new_ext_views);
    mls_buf_clear(&sc->authenticated_data);
    mls_buf_clear(&sc->message);
    mls_buf_clear(&sc->welcome);
    mls_buf_clear(&sc->group_info);
    mls_buf_clear(&sc->ratchet_tree);
    for (size_t i = 0; i < sc->n_welcome; i++) {
        mls_buf_clear(&sc->refs[i]);
        mls_buf_clear(&sc->identities[i]);
    }
    free(sc->refs);
    free(sc->identities);
    mls_identity_free(sc->new_id);
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

/* ---------------------------------------------------------------- description */

static int u32_push(uint32_t **v, size_t *n, uint32_t x)
{
    uint32_t *nv = realloc(*v, (*n + 2) * sizeof(uint32_t));
    if (!nv)
        return MLS_ERR_NOMEM;
    nv[(*n)++] = x;
    *v = nv;
    return 0;
}

int mls_staged_describe(const mls_group *g, mls_staged_commit *sc, const mls_prop_item *items,
                        size_t n, const mls_applied *ap, uint8_t sender_type, uint32_t committer,
                        int has_path, mls_bytes authenticated_data)
{
    const mls_rtree *before = &g->cur.tree, *after = &sc->next.tree;
    int external = sender_type == MLS_SENDER_NEW_MEMBER_COMMIT;
    size_t i, k = 0;
    int err;

    sc->sender_type = sender_type;
    sc->sender_leaf = committer;
    sc->has_path = has_path;
    sc->external_init = ap->external_init != NULL;
    /* The committer as the group knew it before the commit (RFC 9420
     * §12.4.2: the commit is judged by the sender's current leaf); an
     * external joiner has only its new leaf. */
    if ((err = mls_sc_member_set(&sc->committer, committer,
                                 mls_rtree_leaf(external ? after : before, committer))) != 0)
        return err;
    if (has_path &&
        (err = mls_sc_member_set(&sc->path_leaf, committer, mls_rtree_leaf(after, committer))) != 0)
        return err;
    sc->props = calloc(n + 1, sizeof(*sc->props));
    if (!sc->props)
        return MLS_ERR_NOMEM;
    for (i = 0; i < n; i++) {
        const mls_prop_item *it = &items[i];
        uint32_t add_leaf = UINT32_MAX;
        /* mls_proposals_apply adds in the commit's order. */
        if (it->p->type == MLS_PROPOSAL_ADD && k < ap->n_added)
            add_leaf = ap->added[k++];
        if ((err = mls_sc_proposal_build(it->p, &it->sender, it->pending != NULL,
                                         it->pending ? mls_buf_view(&it->pending->ref)
                                                     : mls_bytes_of(NULL, 0),
                                         before, add_leaf, &sc->props[i])) != 0)
            return err;
        sc->n_props = i + 1;
    }
    if (ap->gce) {
        sc->gce = 1;
        if ((err = mls_extension_list_copy(&sc->old_exts, &g->cur.ctx.extensions)) != 0 ||
            (err = mls_extension_list_copy(&sc->new_exts, &sc->next.ctx.extensions)) != 0 ||
            (err = mls_ext_views(&sc->old_exts, &sc->old_ext_views, &sc->n_old_ext_views)) != 0 ||
            (err = mls_ext_views(&sc->new_exts, &sc->new_ext_views, &sc->n_new_ext_views)) != 0)
            return err;
    }
    if ((err = mls_buf_set(&sc->authenticated_data, authenticated_data.p, authenticated_data.n)) !=
        0)
        return err;
    /* The leaves whose signature key the commit may change (kept for late
     * application messages of the old epoch, group.c). */
    for (i = 0; i < ap->n_updated; i++)
        if ((err = u32_push(&sc->changed, &sc->n_changed, ap->updated[i])) != 0)
            return err;
    for (i = 0; i < ap->n_removed; i++)
        if ((err = u32_push(&sc->changed, &sc->n_changed, ap->removed[i])) != 0)
            return err;
    for (i = 0; i < ap->n_added; i++)
        if ((err = u32_push(&sc->changed, &sc->n_changed, ap->added[i])) != 0)
            return err;
    if (has_path && (err = u32_push(&sc->changed, &sc->n_changed, committer)) != 0)
        return err;
    return 0;
}

int mls_staged_commit_summary(const mls_staged_commit *sc, mls_commit_summary *out)
{
    if (!sc || !out)
        return MLS_ERR_ARG;
    memset(out, 0, sizeof(*out));
    out->own = sc->own;
    out->epoch = sc->epoch - 1;
    out->new_epoch = sc->epoch;
    out->sender_type = sc->sender_type;
    out->sender_leaf = sc->sender_leaf;
    mls_sc_member_view(&sc->committer, &out->committer);
    out->has_path = sc->has_path;
    if (sc->has_path)
        mls_sc_member_view(&sc->path_leaf, &out->path_leaf);
    out->n_proposals = sc->n_props;
    for (size_t i = 0; i < sc->n_props; i++) {
        switch (sc->props[i].p.type) {
        case MLS_PROPOSAL_ADD: out->n_adds++; break;
        case MLS_PROPOSAL_REMOVE: out->n_removes++; break;
        case MLS_PROPOSAL_UPDATE: out->n_updates++; break;
        case MLS_PROPOSAL_PSK: out->n_psks++; break;
        default: break;
        }
    }
    out->extensions_changed = sc->gce;
    out->old_extensions = sc->old_ext_views;
    out->n_old_extensions = sc->n_old_ext_views;
    out->new_extensions = sc->new_ext_views;
    out->n_new_extensions = sc->n_new_ext_views;
    out->reinit = sc->reinit;
    out->external_init = sc->external_init;
    out->self_removed = sc->self_removed;
    out->authenticated_data = mls_buf_view(&sc->authenticated_data);
    return 0;
}

int mls_staged_commit_proposal(const mls_staged_commit *sc, size_t i, mls_proposal_info *out)
{
    if (!sc || !out)
        return MLS_ERR_ARG;
    if (i >= sc->n_props)
        return MLS_ERR_NOT_FOUND;
    mls_sc_proposal_view(&sc->props[i], out);
    return 0;
}

/* ---------------------------------------------------------------- the process result */

static void change_clear(mls_member_change *c)
{
    mls_buf_clear(&c->credential);
    mls_buf_clear(&c->identity);
    mls_buf_clear(&c->signature_key);
    mls_buf_clear(&c->old_credential);
    mls_buf_clear(&c->old_identity);
    mls_buf_clear(&c->old_signature_key);
}

static void changes_free(mls_member_change *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        change_clear(&v[i]);
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
    change_clear(&r->committer);
    memset(r, 0, sizeof(*r));
}

/* c gets m (and the old values from old, may be NULL). */
static int change_set(mls_member_change *c, const mls_sc_member *m, const mls_sc_member *old)
{
    int err;

    c->leaf = m->leaf;
    if ((err = mls_buf_copy(&c->credential, &m->credential)) != 0 ||
        (err = mls_buf_copy(&c->identity, &m->identity)) != 0 ||
        (err = mls_buf_copy(&c->signature_key, &m->signature_key)) != 0)
        return err;
    if (old && ((err = mls_buf_copy(&c->old_credential, &old->credential)) != 0 ||
                (err = mls_buf_copy(&c->old_identity, &old->identity)) != 0 ||
                (err = mls_buf_copy(&c->old_signature_key, &old->signature_key)) != 0))
        return err;
    return 0;
}

int mls_staged_result(const mls_staged_commit *sc, mls_process_result *out)
{
    int external = sc->sender_type == MLS_SENDER_NEW_MEMBER_COMMIT;
    int path_update = sc->has_path && !external;
    size_t i, na = 0, nr = 0, nu = 0;
    mls_process_result r;
    int err;

    memset(&r, 0, sizeof(r));
    r.kind = MLS_RESULT_COMMIT;
    r.epoch = sc->epoch - 1;
    r.new_epoch = sc->epoch;
    r.sender_type = sc->sender_type;
    r.sender_leaf = sc->sender_leaf;
    r.extensions_changed = sc->gce;
    r.reinit = sc->reinit;
    r.self_removed = sc->self_removed;
    r.has_path = sc->has_path;
    r.external_init = sc->external_init;
    for (i = 0; i < sc->n_props; i++) {
        uint16_t t = sc->props[i].p.type;
        na += t == MLS_PROPOSAL_ADD;
        nr += t == MLS_PROPOSAL_REMOVE;
        nu += t == MLS_PROPOSAL_UPDATE;
        r.n_psks += t == MLS_PROPOSAL_PSK;
    }
    /* added: the Adds in order, then an external committer; removed: as
     * they were; updated: the Update senders, then a committer whose path
     * replaced its leaf. */
    r.added = calloc(na + 2, sizeof(*r.added));
    r.removed = calloc(nr + 1, sizeof(*r.removed));
    r.updated = calloc(nu + 2, sizeof(*r.updated));
    if (!r.added || !r.removed || !r.updated) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < sc->n_props; i++) {
        const mls_sc_proposal *d = &sc->props[i];
        if (d->p.type == MLS_PROPOSAL_ADD) {
            if ((err = change_set(&r.added[r.n_added++], &d->after, NULL)) != 0)
                goto out;
        } else if (d->p.type == MLS_PROPOSAL_REMOVE) {
            if ((err = change_set(&r.removed[r.n_removed++], &d->before, NULL)) != 0)
                goto out;
        } else if (d->p.type == MLS_PROPOSAL_UPDATE) {
            if ((err = change_set(&r.updated[r.n_updated++], &d->after, &d->before)) != 0)
                goto out;
        }
    }
    if (path_update &&
        (err = change_set(&r.updated[r.n_updated++], &sc->path_leaf, &sc->committer)) != 0)
        goto out;
    if (external && (err = change_set(&r.added[r.n_added++], &sc->committer, NULL)) != 0)
        goto out;
    if ((err = change_set(&r.committer, &sc->committer, NULL)) != 0 ||
        (err = mls_buf_copy(&r.authenticated_data, &sc->authenticated_data)) != 0)
        goto out;
    *out = r;
    memset(&r, 0, sizeof(r));
out:
    mls_process_result_clear(&r);
    return err;
}

/* ---------------------------------------------------------------- merging */

static int staged_check(const mls_group *g, const mls_staged_commit *sc)
{
    if (sc->merged || sc->group != g || g->cur.ctx.epoch + 1 != sc->epoch)
        return MLS_ERR_STATE;
    /* RFC 9420 §12.1.5: nothing is committed after a ReInit; a removed
     * member follows no commit. */
    if (g->reinit_pending || !g->active)
        return MLS_ERR_STATE;
    return 0;
}

int mls_group_merge_staged(mls_group *g, mls_staged_commit *sc)
{
    int err;

    if (!g || !sc)
        return MLS_ERR_ARG;
    if ((err = staged_check(g, sc)) != 0)
        return err;
    if (sc->self_removed) {
        /* We cannot follow into the new epoch: the group only reads the
         * rest of its last epoch. */
        if (sc->has_stree) {
            mls_secret_tree_clear(&g->stree);
            g->stree = sc->stree;
            memset(&sc->stree, 0, sizeof(sc->stree));
        }
        g->active = 0;
        mls_group_clear_pending_proposals(g);
        sc->merged = 1;
        return 0;
    }
    if ((err = mls_group_install_prepared(g, &sc->next, &sc->prep,
                                          sc->has_stree ? &sc->stree : NULL)) != 0)
        return err;
    if (sc->own)
        mls_treekem_priv_prune(&g->cur.priv, &g->cur.tree);
    if (sc->new_id) {
        /* A rename of ours: our leaf now carries its credential. */
        mls_identity_free(g->id);
        g->id = sc->new_id;
        sc->new_id = NULL;
    }
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


int mls_staged_commit_next_state(const mls_staged_commit *sc, mls_buf *out)
{
    const mls_group *g;
    mls_group *c = NULL;
    mls_epoch_state e;
    mls_secret_tree st;
    mls_buf w;
    int err;

    if (!sc || !out)
        return MLS_ERR_ARG;
    g = sc->group;
    if ((err = staged_check(g, sc)) != 0)
        return err;
    memset(&e, 0, sizeof(e));
    memset(&st, 0, sizeof(st));
    mls_buf_init(&w);
    /* The merge, done on a copy of the group: the same steps as
     * mls_group_merge_staged, with a deep copy of the next epoch. */
    if ((err = mls_group_serialize(g, &w)) != 0 ||
        (err = mls_group_deserialize(g->env, mls_buf_view(&w), &c)) != 0)
        goto out;
    if (sc->has_stree) {
        if ((err = mls_group_stree_copy(g, &sc->stree, &st)) != 0)
            goto out;
        mls_secret_tree_clear(&c->stree);
        c->stree = st;
        memset(&st, 0, sizeof(st));
    }
    if (sc->self_removed) {
        c->active = 0;
        mls_group_clear_pending_proposals(c);
    } else {
        if ((err = mls_epoch_state_copy(&e, &sc->next)) != 0 ||
            (err = mls_group_install_epoch(c, &e, sc->changed, sc->n_changed)) != 0)
            goto out;
        if (sc->own)
            mls_treekem_priv_prune(&c->cur.priv, &c->cur.tree);
        if (sc->new_id) {
            mls_identity *id = NULL;
            if ((err = mls_identity_dup(sc->new_id, &id)) != 0)
                goto out;
            mls_identity_free(c->id);
            c->id = id;
        }
        if (sc->reinit) {
            c->reinit_pending = 1;
            mls_reinit_clear(&c->reinit);
            if ((err = mls_reinit_copy(&c->reinit, &sc->reinit_prop)) != 0)
                goto out;
        }
    }
    err = mls_group_serialize(c, out);
out:
    mls_buf_clear(&w);
    mls_epoch_state_clear(&e);
    mls_secret_tree_clear(&st);
    mls_group_free(c);
    return err;
}
