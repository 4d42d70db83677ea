/*
 * The public group view (include/mls/public_group.h): creating it from a
 * GroupInfo or a member's group, verifying and staging PublicMessage
 * proposals and commits (RFC 9420 §6.2, §12.1-§12.4) without any secret of
 * the epoch, and merging what was staged.
 *
 * Processing a commit follows the receiver's steps of §12.4.2 minus those
 * that need secrets: the proposal list is resolved and validated (§12.2,
 * shared with the group engine through proposals.h), applied to an
 * overlay of the tree (§12.3), the UpdatePath's public keys merged and its
 * parent hashes checked (§7.5, §7.9, treekem.h), the new tree hash and
 * confirmed transcript hash make the new GroupContext, and the interim
 * transcript hash follows from the (unverifiable) confirmation tag (§8.2).
 */
#include "public_group.h"

#include <stdlib.h>
#include <string.h>

#include "proposals.h"
#include "transcript.h"
#include "treekem.h"
#include "welcome.h"

/* ---------------------------------------------------------------- lifetime */

int mls_public_group_alloc(const mls_env *env, const mls_suite *s, mls_public_group **out)
{
    mls_public_group *pg = calloc(1, sizeof(*pg));
    if (!pg)
        return MLS_ERR_NOMEM;
    pg->env = env;
    pg->suite = s;
    pg->committer = UINT32_MAX;
    mls_rtree_init(&pg->tree, s);
    *out = pg;
    return 0;
}

void mls_public_group_cache_clear(mls_public_group *pg)
{
    for (uint32_t i = 0; pg->cred_cache && i < pg->n_cred_cache; i++)
        mls_buf_clear(&pg->cred_cache[i]);
    free(pg->cred_cache);
    pg->cred_cache = NULL;
    pg->n_cred_cache = 0;
}

static void props_clear(mls_pending_proposal *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        mls_buf_clear(&v[i].ref);
        mls_proposal_clear(&v[i].proposal);
        mls_buf_clear(&v[i].own_leaf_sk);
    }
    free(v);
}

void mls_public_group_free(mls_public_group *pg)
{
    if (!pg)
        return;
    mls_group_context_clear(&pg->ctx);
    mls_buf_clear(&pg->ctx_enc);
    mls_rtree_clear(&pg->tree);
    props_clear(pg->props, pg->n_props);
    mls_public_group_cache_clear(pg);
    free(pg);
}

void mls_pg_leaf_clear(mls_pg_leaf *l)
{
    mls_leaf_node_clear(&l->ln);
    mls_buf_clear(&l->cred);
    l->present = 0;
}

static void change_clear(mls_pg_change *c)
{
    mls_pg_leaf_clear(&c->before);
    mls_pg_leaf_clear(&c->after);
    mls_buf_clear(&c->kp_ref);
}

void mls_public_staged_free(mls_public_staged *st)
{
    if (!st)
        return;
    mls_buf_clear(&st->authenticated_data);
    change_clear(&st->committer);
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; st->changes[k] && i < st->n_changes[k]; i++)
            change_clear(&st->changes[k][i]);
        free(st->changes[k]);
    }
    free(st->props);
    mls_extension_list_clear(&st->ext_before);
    mls_extension_list_clear(&st->ext_after);
    mls_reinit_clear(&st->reinit);
    for (size_t i = 0; st->psks && i < st->n_psks; i++)
        mls_psk_id_clear(&st->psks[i]);
    free(st->psks);
    mls_buf_clear(&st->prop.ref);
    mls_proposal_clear(&st->prop.proposal);
    mls_group_context_clear(&st->ctx);
    mls_buf_clear(&st->ctx_enc);
    /* Clearing an overlay frees only what it owns (ratchet_tree.h), so this
     * is safe even after the view moved on. */
    mls_rtree_clear(&st->tree);
    free(st);
}

int mls_public_ctx_encode(const mls_group_context *ctx, mls_buf *out)
{
    mls_buf w;
    int err;

    mls_buf_init(&w);
    if ((err = mls_group_context_encode(ctx, &w)) != 0) {
        mls_buf_clear(&w);
        return err;
    }
    mls_buf_clear(out);
    *out = w;
    return 0;
}

/* ---------------------------------------------------------------- from a GroupInfo */

int mls_public_import_tree(const mls_suite *s, const mls_group_info *gi, mls_bytes given,
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

/* The required_capabilities extension of a GroupContext into chk (rc is
 * then the caller's to clear). */
static int leaf_check_of(const mls_group_context *ctx, mls_required_capabilities *rc,
                         mls_leaf_check *chk)
{
    const mls_extension *e =
        mls_extension_list_find(&ctx->extensions, MLS_EXT_REQUIRED_CAPABILITIES);

    memset(rc, 0, sizeof(*rc));
    memset(chk, 0, sizeof(*chk));
    chk->group_id = mls_buf_view(&ctx->group_id);
    if (e) {
        if (mls_required_capabilities_decode_bytes(mls_buf_view(&e->data), rc) != 0)
            return MLS_ERR_INVALID;
        chk->required = rc;
    }
    return 0;
}

int mls_public_verify_tree_and_info(const mls_suite *s, mls_rtree *t, const mls_group_info *gi)
{
    const mls_leaf_node *signer = mls_rtree_leaf(t, gi->signer);
    mls_required_capabilities rc;
    mls_leaf_check chk;
    int err;

    if (!signer)
        return MLS_ERR_INVALID;
    if ((err = mls_group_info_verify(s, gi, mls_buf_view(&signer->signature_key))) != 0)
        return err;
    if ((err = leaf_check_of(&gi->group_context, &rc, &chk)) != 0)
        return err;
    err = mls_rtree_verify_join(t, mls_buf_view(&gi->group_context.tree_hash), &chk);
    mls_required_capabilities_clear(&rc);
    return err;
}

int mls_public_group_from_group_info(const mls_env *env, mls_bytes group_info,
                                     mls_bytes ratchet_tree, mls_public_group **out)
{
    const mls_suite *s;
    mls_message m;
    mls_public_group *pg = NULL;
    const mls_group_info *gi;
    int err;

    if (!env || !out)
        return MLS_ERR_ARG;
    if ((err = mls_message_decode_bytes(group_info, &m)) != 0)
        return err;
    gi = &m.group_info;
    if (m.wire_format != MLS_WIRE_GROUP_INFO) {
        err = MLS_ERR_INVALID;
        goto out;
    }
    s = mls_suite_get(gi->group_context.cipher_suite);
    if (!s || gi->group_context.version != MLS_VERSION_MLS10) {
        err = MLS_ERR_UNSUPPORTED;
        goto out;
    }
    /* RFC 9420 §6.1: confirmation tags are MAC outputs, Nh bytes. */
    if (gi->confirmation_tag.n != s->nh || gi->group_context.tree_hash.n != s->nh ||
        (gi->group_context.epoch > 0 && gi->group_context.confirmed_transcript_hash.n != s->nh)) {
        err = MLS_ERR_INVALID;
        goto out;
    }
    if ((err = mls_public_group_alloc(env, s, &pg)) != 0)
        goto out;
    if ((err = mls_public_import_tree(s, gi, ratchet_tree, &pg->tree)) != 0 ||
        (err = mls_public_verify_tree_and_info(s, &pg->tree, gi)) != 0)
        goto out;
    /* RFC 9420 §12.1.7, §13: the extensions parse and every member
     * supports them. */
    if ((err = mls_extensions_check(&gi->group_context.extensions, &pg->tree)) != 0)
        goto out;
    if ((err = mls_group_context_copy(&pg->ctx, &gi->group_context)) != 0 ||
        (err = mls_public_ctx_encode(&pg->ctx, &pg->ctx_enc)) != 0)
        goto out;
    /* §8.2: the interim transcript hash a joiner computes. */
    if ((err = mls_transcript_interim(s, mls_buf_view(&pg->ctx.confirmed_transcript_hash),
                                      mls_buf_view(&gi->confirmation_tag), pg->interim)) != 0)
        goto out;
    memcpy(pg->conf_tag, gi->confirmation_tag.p, s->nh);
    *out = pg;
    pg = NULL;
out:
    mls_public_group_free(pg);
    mls_message_clear(&m);
    return err;
}

/* ---------------------------------------------------------------- from a group */

static int props_copy(mls_pending_proposal **dst, const mls_pending_proposal *src, size_t n)
{
    mls_pending_proposal *v = calloc(n + 1, sizeof(*v));
    int err = 0;

    if (!v)
        return MLS_ERR_NOMEM;
    for (size_t i = 0; i < n && !err; i++) {
        v[i].sender = src[i].sender;
        if ((err = mls_buf_copy(&v[i].ref, &src[i].ref)) == 0)
            err = mls_proposal_copy(&v[i].proposal, &src[i].proposal);
    }
    if (err) {
        props_clear(v, n);
        return err;
    }
    *dst = v;
    return 0;
}

int mls_public_group_from_group(const mls_group *g, mls_public_group **out)
{
    mls_public_group *pg = NULL;
    const mls_suite *s;
    int err;

    if (!g || !out)
        return MLS_ERR_ARG;
    if (!g->active)
        return MLS_ERR_STATE;
    s = g->suite;
    if ((err = mls_public_group_alloc(g->env, s, &pg)) != 0)
        return err;
    if ((err = mls_group_context_copy(&pg->ctx, &g->cur.ctx)) != 0 ||
        (err = mls_public_ctx_encode(&pg->ctx, &pg->ctx_enc)) != 0 ||
        (err = mls_rtree_copy(&pg->tree, &g->cur.tree)) != 0 ||
        (err = props_copy(&pg->props, g->props, g->n_props)) != 0)
        goto out;
    pg->n_props = g->n_props;
    memcpy(pg->interim, g->cur.interim, s->nh);
    memcpy(pg->conf_tag, g->cur.conf_tag, s->nh);
    pg->reinit_pending = g->reinit_pending;
    *out = pg;
    pg = NULL;
out:
    mls_public_group_free(pg);
    return err;
}

/* ---------------------------------------------------------------- recording changes */

static int leaf_record(mls_pg_leaf *l, const mls_leaf_node *ln)
{
    int err;

    if (!ln)
        return 0;
    if ((err = mls_leaf_node_copy(&l->ln, ln)) != 0)
        return err;
    if ((err = mls_credential_encode(&ln->credential, &l->cred)) != 0) {
        mls_leaf_node_clear(&l->ln);
        return err;
    }
    l->present = 1;
    return 0;
}

static int change_record(mls_pg_change *c, uint32_t leaf, const mls_leaf_node *before,
                         const mls_leaf_node *after)
{
    int err;

    memset(c, 0, sizeof(*c));
    c->leaf = leaf;
    if ((err = leaf_record(&c->before, before)) != 0 ||
        (err = leaf_record(&c->after, after)) != 0) {
        change_clear(c);
        return err;
    }
    return 0;
}

/* Appends a change of kind k (enum mls_public_change_kind). */
static int change_push(mls_public_staged *st, int k, uint32_t leaf, const mls_leaf_node *before,
                       const mls_leaf_node *after)
{
    mls_pg_change *v = realloc(st->changes[k - 1], (st->n_changes[k - 1] + 1) * sizeof(*v));
    int err;

    if (!v)
        return MLS_ERR_NOMEM;
    st->changes[k - 1] = v;
    if ((err = change_record(&v[st->n_changes[k - 1]], leaf, before, after)) != 0)
        return err;
    st->n_changes[k - 1]++;
    return 0;
}

static int psks_record(mls_public_staged *st, const mls_psk_id *const *ids, size_t n)
{
    int err;

    st->psks = calloc(n + 1, sizeof(*st->psks));
    if (!st->psks)
        return MLS_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if ((err = mls_psk_id_copy(&st->psks[i], ids[i])) != 0)
            return err;
        st->n_psks++;
    }
    return 0;
}

/* What the inspection reports of one proposal list (items, n): the
 * proposals, PSK ids, ReInit, ExternalInit and extension lists (before:
 * the view's; after: next_ext). */
static int record_list(mls_public_staged *st, const mls_prop_item *items, size_t n,
                       const mls_extension_list *next_ext)
{
    const mls_psk_id **ids = calloc(n + 1, sizeof(*ids));
    size_t n_ids = 0;
    int err = 0;

    st->props = calloc(n + 1, sizeof(*st->props));
    if (!st->props || !ids) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const mls_proposal *p = items[i].p;
        st->props[i].type = p->type;
        st->props[i].by_reference = items[i].pending != NULL;
        st->props[i].sender_type = items[i].sender.type;
        st->props[i].sender_index = items[i].sender.index;
        switch (p->type) {
        case MLS_PROPOSAL_PSK:
            ids[n_ids++] = &p->psk.psk;
            break;
        case MLS_PROPOSAL_REINIT:
            mls_reinit_clear(&st->reinit);
            if ((err = mls_reinit_copy(&st->reinit, &p->reinit)) != 0)
                goto out;
            st->has_reinit = 1;
            break;
        case MLS_PROPOSAL_EXTERNAL_INIT:
            st->external_init = 1;
            break;
        case MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS:
            st->gce = 1;
            break;
        default:
            break;
        }
    }
    st->n_props = n;
    if ((err = psks_record(st, ids, n_ids)) != 0 ||
        (err = mls_extension_list_copy(&st->ext_before, &st->pg->ctx.extensions)) != 0 ||
        (err = mls_extension_list_copy(&st->ext_after, next_ext)) != 0)
        goto out;
out:
    free(ids);
    return err;
}

/* ---------------------------------------------------------------- framing */

/* External senders of the GroupContext (decoded into xs). */
static int sig_key(const mls_public_group *pg, const mls_framed_content *c,
                   mls_external_senders *xs, mls_bytes *pub)
{
    const mls_leaf_node *ln;
    const mls_extension *e;

    /* RFC 9420 §6.1: the key that must have signed the content, as the
     * view stands before the message. */
    switch (c->sender.type) {
    case MLS_SENDER_MEMBER:
        ln = mls_rtree_leaf(&pg->tree, c->sender.index);
        if (!ln)
            return MLS_ERR_INVALID;
        *pub = mls_buf_view(&ln->signature_key);
        return 0;
    case MLS_SENDER_EXTERNAL:
        /* §12.1.8.1: an index into the external_senders extension. */
        e = mls_extension_list_find(&pg->ctx.extensions, MLS_EXT_EXTERNAL_SENDERS);
        if (!e || mls_external_senders_decode_bytes(mls_buf_view(&e->data), xs) != 0 ||
            c->sender.index >= xs->n)
            return MLS_ERR_INVALID;
        *pub = mls_buf_view(&xs->v[c->sender.index].signature_key);
        return 0;
    case MLS_SENDER_NEW_MEMBER_PROPOSAL:
        if (c->content_type != MLS_CONTENT_PROPOSAL || c->proposal.type != MLS_PROPOSAL_ADD)
            return MLS_ERR_INVALID;
        *pub = mls_buf_view(&c->proposal.add.key_package.leaf_node.signature_key);
        return 0;
    case MLS_SENDER_NEW_MEMBER_COMMIT:
        if (c->content_type != MLS_CONTENT_COMMIT || !c->commit.has_path)
            return MLS_ERR_INVALID;
        *pub = mls_buf_view(&c->commit.path.leaf_node.signature_key);
        return 0;
    default:
        return MLS_ERR_INVALID;
    }
}

/*
 * RFC 9420 §6.2 as far as it goes without the membership key: group,
 * epoch, sender rules, tag lengths, the signature.  The membership tag of
 * a member sender is a MAC under the epoch's membership_key, which the
 * view does not have: only its length is checked.
 */
static int verify_public(const mls_public_group *pg, const mls_public_message *pm)
{
    const mls_suite *s = pg->suite;
    const mls_framed_content *c = &pm->content;
    mls_authenticated_content ac;
    mls_external_senders xs;
    mls_bytes pub;
    int err;

    memset(&xs, 0, sizeof(xs));
    if (!mls_ct_equal(mls_buf_view(&c->group_id), mls_buf_view(&pg->ctx.group_id)))
        return MLS_ERR_WRONG_GROUP;
    if (c->epoch != pg->ctx.epoch)
        return MLS_ERR_WRONG_EPOCH;
    /* §11.2: after a ReInit the group accepts no more handshakes. */
    if (pg->reinit_pending)
        return MLS_ERR_STATE;
    if ((err = mls_framing_check_sender(MLS_WIRE_PUBLIC_MESSAGE, c)) != 0)
        return err;
    if ((c->content_type == MLS_CONTENT_COMMIT && pm->auth.confirmation_tag.n != s->nh) ||
        (c->sender.type == MLS_SENDER_MEMBER && pm->membership_tag.n != s->nh))
        return MLS_ERR_MALFORMED;
    if ((err = sig_key(pg, c, &xs, &pub)) != 0)
        goto out;
    /* Borrowed: ac is never cleared. */
    ac.wire_format = MLS_WIRE_PUBLIC_MESSAGE;
    ac.content = pm->content;
    ac.auth = pm->auth;
    err = mls_framing_verify_signature(s, &ac, mls_buf_view(&pg->ctx_enc), pub);
out:
    mls_external_senders_clear(&xs);
    return err;
}

static void proposal_env(const mls_public_group *pg, mls_proposal_env *pe)
{
    memset(pe, 0, sizeof(*pe));
    pe->suite = pg->suite;
    pe->ctx = &pg->ctx;
    pe->tree = &pg->tree;
    pe->now = pg->env->now(pg->env->ctx);
    /* RFC 9420 §11.2: a reinit resumption PSK belongs in the successor
     * group's first commit, the one at epoch 0; the view cannot tell a
     * successor from another new group, so it allows it there. */
    pe->reinit_ok = pg->ctx.epoch == 0;
    pe->own_leaf = UINT32_MAX;
    pe->env = pg->env;
}

/* ---------------------------------------------------------------- proposals */

static int stage_proposal(mls_public_group *pg, const mls_authenticated_content *ac,
                          mls_public_staged *st)
{
    const mls_proposal *p = &ac->content.proposal;
    const mls_sender *snd = &ac->content.sender;
    const mls_leaf_node *cur = NULL;
    mls_proposal_env pe;
    mls_prop_item it;
    int err;

    /* §12.1.8: what an external sender may propose. */
    if (snd->type == MLS_SENDER_EXTERNAL &&
        !(p->type == MLS_PROPOSAL_ADD || p->type == MLS_PROPOSAL_REMOVE ||
          p->type == MLS_PROPOSAL_PSK || p->type == MLS_PROPOSAL_REINIT ||
          p->type == MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS))
        return MLS_ERR_INVALID;
    proposal_env(pg, &pe);
    it.p = p;
    it.sender = *snd;
    it.pending = NULL;
    if ((err = mls_proposals_validate_env(&pe, &it, 1, 0, UINT32_MAX, 1)) != 0)
        return err;
    if (p->type == MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS &&
        (mls_extension_list_check_unique(&p->group_context_extensions.extensions) != 0 ||
         mls_extensions_check(&p->group_context_extensions.extensions, &pg->tree) != 0))
        return MLS_ERR_INVALID;
    if ((err = mls_proposal_ref(pg->suite, ac, &st->prop.ref)) != 0 ||
        (err = mls_proposal_copy(&st->prop.proposal, p)) != 0)
        return err;
    st->prop.sender = *snd;
    if (snd->type == MLS_SENDER_MEMBER)
        cur = mls_rtree_leaf(&pg->tree, snd->index);
    if ((err = change_record(&st->committer, snd->index, cur, cur)) != 0)
        return err;
    if ((err = record_list(st, &it, 1,
                           p->type == MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS
                               ? &p->group_context_extensions.extensions
                               : &pg->ctx.extensions)) != 0)
        return err;
    switch (p->type) {
    case MLS_PROPOSAL_ADD:
        return change_push(st, MLS_PUBLIC_ADDED, UINT32_MAX, NULL, &p->add.key_package.leaf_node);
    case MLS_PROPOSAL_REMOVE:
        return change_push(st, MLS_PUBLIC_REMOVED, p->remove.removed,
                           mls_rtree_leaf(&pg->tree, p->remove.removed), NULL);
    case MLS_PROPOSAL_UPDATE:
        return change_push(st, MLS_PUBLIC_UPDATED, snd->index, cur, &p->update.leaf_node);
    default:
        return 0;
    }
}

/* ---------------------------------------------------------------- commits */

/* Resolves the Commit's ProposalOrRefs against the view's proposals. */
static int resolve_items(const mls_public_group *pg, const mls_commit *c,
                         const mls_sender *committer, mls_prop_item *items)
{
    for (size_t i = 0; i < c->n_proposals; i++) {
        const mls_proposal_or_ref *por = &c->proposals[i];
        size_t k;
        if (por->type == MLS_POR_PROPOSAL) {
            items[i].p = &por->proposal;
            items[i].sender = *committer;
            items[i].pending = NULL;
            continue;
        }
        for (k = 0; k < pg->n_props; k++)
            if (mls_ct_equal(mls_buf_view(&pg->props[k].ref), mls_buf_view(&por->reference)))
                break;
        /* RFC 9420 §12.4.2: a reference to an unknown proposal makes the
         * commit invalid. */
        if (k == pg->n_props)
            return MLS_ERR_INVALID;
        items[i].p = &pg->props[k].proposal;
        items[i].sender = pg->props[k].sender;
        items[i].pending = &pg->props[k];
    }
    return 0;
}

/* RFC 9420 §7.3 checks of the committer's new leaf that TreeKEM does not
 * make: source commit, validity against the new GroupContext's required
 * capabilities, credential types fitting the other members. */
static int check_path_leaf(const mls_public_group *pg, const mls_public_staged *st,
                           const mls_leaf_node *ln, uint32_t committer)
{
    mls_required_capabilities rc;
    mls_leaf_check chk;
    int err;

    if (ln->source != MLS_LEAF_SOURCE_COMMIT)
        return MLS_ERR_INVALID;
    if ((err = leaf_check_of(&st->ctx, &rc, &chk)) != 0)
        return err;
    chk.group_id = mls_buf_view(&pg->ctx.group_id);
    err = mls_leaf_node_validate(pg->suite, ln, committer, &chk) != 0 ||
                  mls_rtree_check_leaf_fits(&st->tree, ln, committer) != 0
              ? MLS_ERR_INVALID
              : 0;
    mls_required_capabilities_clear(&rc);
    return err;
}

/* The changes the inspection reports, from the applied list ap. */
static int record_commit(mls_public_staged *st, const mls_applied *ap, int external,
                         int has_path)
{
    const mls_rtree *old = &st->pg->tree, *nt = &st->tree;
    uint32_t c = st->committer_leaf;
    size_t i;
    int err;

    if ((err = change_record(&st->committer, c, external ? NULL : mls_rtree_leaf(old, c),
                             mls_rtree_leaf(nt, c))) != 0)
        return err;
    for (i = 0; i < ap->n_added; i++) {
        if ((err = change_push(st, MLS_PUBLIC_ADDED, ap->added[i], NULL,
                               mls_rtree_leaf(nt, ap->added[i]))) != 0)
            return err;
        /* RFC 9420 §12.4.3.1: a Welcome names its recipients by the
         * KeyPackageRef of the KeyPackage their Add carried, so that a
         * Delivery Service can route it to exactly the added members. */
        if ((err = mls_key_package_ref(st->pg->suite, ap->added_kp[i],
                                       &st->changes[MLS_PUBLIC_ADDED - 1][i].kp_ref)) != 0)
            return err;
    }
    if (external &&
        (err = change_push(st, MLS_PUBLIC_ADDED, c, NULL, mls_rtree_leaf(nt, c))) != 0)
        return err;
    for (i = 0; i < ap->n_removed; i++)
        if ((err = change_push(st, MLS_PUBLIC_REMOVED, ap->removed[i],
                               mls_rtree_leaf(old, ap->removed[i]), NULL)) != 0)
            return err;
    for (i = 0; i < ap->n_updated; i++)
        if ((err = change_push(st, MLS_PUBLIC_UPDATED, ap->updated[i],
                               mls_rtree_leaf(old, ap->updated[i]),
                               mls_rtree_leaf(nt, ap->updated[i]))) != 0)
            return err;
    if (has_path && !external &&
        (err = change_push(st, MLS_PUBLIC_UPDATED, c, mls_rtree_leaf(old, c),
                           mls_rtree_leaf(nt, c))) != 0)
        return err;
    return 0;
}

static int stage_commit(mls_public_group *pg, const mls_authenticated_content *ac,
                        mls_public_staged *st)
{
    const mls_suite *s = pg->suite;
    const mls_commit *c = &ac->content.commit;
    const mls_sender *snd = &ac->content.sender;
    mls_proposal_env pe;
    mls_prop_item *items = NULL;
    mls_applied ap;
    mls_buf in;
    uint8_t cth[MLS_MAX_HASH];
    uint32_t committer;
    int external, err;

    memset(&ap, 0, sizeof(ap));
    mls_buf_init(&in);
    /* RFC 9420 §6.1 (mls_framing_check_sender): a commit comes from a
     * member or a new member. */
    external = snd->type == MLS_SENDER_NEW_MEMBER_COMMIT;
    committer = external ? UINT32_MAX : snd->index;
    items = calloc(c->n_proposals + 1, sizeof(*items));
    if (!items)
        return MLS_ERR_NOMEM;
    proposal_env(pg, &pe);
    if ((err = resolve_items(pg, c, snd, items)) != 0 ||
        (err = mls_proposals_validate_env(&pe, items, c->n_proposals, external, committer, 1)) !=
            0)
        goto out;
    if ((err = mls_group_context_copy(&st->ctx, &pg->ctx)) != 0 ||
        (err = mls_rtree_overlay(&st->tree, &pg->tree)) != 0 ||
        (err = mls_proposals_apply_env(&pe, &st->ctx, &st->tree, items, c->n_proposals, &ap)) !=
            0)
        goto out;
    st->ctx.epoch = pg->ctx.epoch + 1;
    /* §12.4: some proposal types, and an empty commit, require a path. */
    if (ap.path_required && !c->has_path) {
        err = MLS_ERR_INVALID;
        goto out;
    }
    if (c->has_path) {
        const mls_leaf_node *ln = &c->path.leaf_node;
        if (external) {
            /* §12.4.3.2: its Remove removes an old appearance of the
             * joiner; the joiner takes the leftmost free leaf. */
            if ((err = mls_external_remove_check_tree(&pg->tree, items, c->n_proposals,
                                                      &ln->credential,
                                                      mls_buf_view(&ln->encryption_key))) != 0)
                goto out;
            if ((err = mls_rtree_add_leaf(&st->tree, ln, &committer)) != 0) {
                err = err == MLS_ERR_NOMEM ? err : MLS_ERR_INVALID;
                goto out;
            }
        } else {
            const mls_leaf_node *old = mls_rtree_leaf(&pg->tree, committer);
            /* §12.4.2: a new encryption key for the committer's leaf. */
            if (!old || mls_ct_equal(mls_buf_view(&old->encryption_key),
                                     mls_buf_view(&ln->encryption_key))) {
                err = MLS_ERR_INVALID;
                goto out;
            }
        }
        if ((err = check_path_leaf(pg, st, ln, committer)) != 0)
            goto out;
        /* §7.5, §7.9: one node per filtered direct path node, unique keys,
         * the leaf's signature and the parent hash chain. */
        if ((err = mls_treekem_path_merge(&st->tree, committer, &c->path,
                                          mls_buf_view(&pg->ctx.group_id))) != 0)
            goto out;
    }
    st->committer_leaf = committer;
    st->sender.index = external ? committer : snd->index;
    /* §8.2: new tree hash, confirmed transcript hash from the commit's
     * content and signature, GroupContext, and the interim transcript hash
     * from the confirmation tag (which only members can verify). */
    if ((err = mls_rtree_root_hash(&st->tree, cth)) != 0 ||
        (err = mls_buf_set(&st->ctx.tree_hash, cth, s->nh)) != 0)
        goto out;
    if ((err = mls_confirmed_transcript_hash_input_encode(ac->wire_format, &ac->content,
                                                          mls_buf_view(&ac->auth.signature),
                                                          &in)) != 0 ||
        (err = mls_transcript_confirmed(s, mls_bytes_of(pg->interim, s->nh), mls_buf_view(&in),
                                        cth)) != 0 ||
        (err = mls_buf_set(&st->ctx.confirmed_transcript_hash, cth, s->nh)) != 0 ||
        (err = mls_public_ctx_encode(&st->ctx, &st->ctx_enc)) != 0 ||
        (err = mls_transcript_interim(s, mls_bytes_of(cth, s->nh),
                                      mls_buf_view(&ac->auth.confirmation_tag), st->interim)) != 0)
        goto out;
    memcpy(st->conf_tag, ac->auth.confirmation_tag.p, s->nh);
    if ((err = record_list(st, items, c->n_proposals, &st->ctx.extensions)) != 0 ||
        (err = record_commit(st, &ap, external, c->has_path)) != 0)
        goto out;
out:
    mls_applied_clear(&ap);
    mls_buf_clear(&in);
    free(items);
    return err;
}

/* ---------------------------------------------------------------- process, merge */

int mls_public_group_process(mls_public_group *pg, mls_bytes message, mls_public_staged **out)
{
    mls_message m;
    mls_authenticated_content ac;
    mls_public_staged *st = NULL;
    const mls_public_message *pm;
    int err;

    if (!pg || !out)
        return MLS_ERR_ARG;
    if ((err = mls_message_decode_bytes(message, &m)) != 0)
        return err;
    /* The view reads PublicMessages only (a PrivateMessage's content is
     * encrypted under keys it does not have). */
    if (m.wire_format != MLS_WIRE_PUBLIC_MESSAGE) {
        err = MLS_ERR_INVALID;
        goto out;
    }
    pm = &m.public_message;
    if ((err = verify_public(pg, pm)) != 0)
        goto out;
    st = calloc(1, sizeof(*st));
    if (!st) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    st->pg = pg;
    st->base_epoch = pg->ctx.epoch;
    st->sender = pm->content.sender;
    st->committer_leaf = UINT32_MAX;
    if ((err = mls_buf_copy(&st->authenticated_data, &pm->content.authenticated_data)) != 0)
        goto out;
    /* Borrowed from m: never cleared itself. */
    ac.wire_format = MLS_WIRE_PUBLIC_MESSAGE;
    ac.content = pm->content;
    ac.auth = pm->auth;
    if (pm->content.content_type == MLS_CONTENT_PROPOSAL) {
        st->kind = MLS_PUBLIC_PROPOSAL;
        err = stage_proposal(pg, &ac, st);
    } else {
        st->kind = MLS_PUBLIC_COMMIT;
        err = stage_commit(pg, &ac, st);
    }
    if (err)
        goto out;
    *out = st;
    st = NULL;
out:
    mls_public_staged_free(st);
    mls_message_clear(&m);
    return err;
}

static int merge_proposal(mls_public_group *pg, mls_public_staged *st)
{
    mls_pending_proposal *np;

    for (size_t i = 0; i < pg->n_props; i++)
        if (mls_ct_equal(mls_buf_view(&pg->props[i].ref), mls_buf_view(&st->prop.ref)))
            return 0; /* the same proposal again: already held */
    np = realloc(pg->props, (pg->n_props + 1) * sizeof(*np));
    if (!np)
        return MLS_ERR_NOMEM;
    pg->props = np;
    pg->props[pg->n_props++] = st->prop;
    memset(&st->prop, 0, sizeof(st->prop));
    return 0;
}

int mls_public_group_merge(mls_public_group *pg, mls_public_staged *st)
{
    int err;

    if (!pg || !st)
        return MLS_ERR_ARG;
    if (st->pg != pg || st->base_epoch != pg->ctx.epoch || pg->reinit_pending || !st->kind)
        return MLS_ERR_STATE;
    if (st->kind == MLS_PUBLIC_PROPOSAL) {
        if ((err = merge_proposal(pg, st)) != 0)
            return err;
        st->kind = 0;
        return 0;
    }
    /* The only step that can fail comes first (ratchet_tree.h). */
    if ((err = mls_rtree_overlay_reserve(&st->tree)) != 0)
        return err;
    mls_rtree_overlay_apply(&st->tree);
    mls_group_context_clear(&pg->ctx);
    pg->ctx = st->ctx;
    memset(&st->ctx, 0, sizeof(st->ctx));
    mls_buf_clear(&pg->ctx_enc);
    pg->ctx_enc = st->ctx_enc;
    memset(&st->ctx_enc, 0, sizeof(st->ctx_enc));
    memcpy(pg->interim, st->interim, sizeof(pg->interim));
    memcpy(pg->conf_tag, st->conf_tag, sizeof(pg->conf_tag));
    pg->committer = st->committer_leaf;
    /* §12.4.2: proposals not committed are dropped with the epoch. */
    props_clear(pg->props, pg->n_props);
    pg->props = NULL;
    pg->n_props = 0;
    pg->reinit_pending = st->has_reinit;
    mls_public_group_cache_clear(pg);
    st->kind = 0;
    return 0;
}
