/*
 * The public group view's accessors, the inspection of a staged message,
 * and the check of a GroupInfo offered with a commit (RFC 9420 §12.4.3).
 */
#include "public_group.h"

#include <stdlib.h>
#include <string.h>

#include "welcome.h"

/* ---------------------------------------------------------------- the view */

mls_bytes mls_public_group_id(const mls_public_group *pg)
{
    return mls_buf_view(&pg->ctx.group_id);
}

uint64_t mls_public_group_epoch(const mls_public_group *pg)
{
    return pg->ctx.epoch;
}

uint16_t mls_public_group_suite(const mls_public_group *pg)
{
    return pg->suite->id;
}

mls_bytes mls_public_group_context(const mls_public_group *pg)
{
    return mls_buf_view(&pg->ctx_enc);
}

mls_bytes mls_public_group_tree_hash(const mls_public_group *pg)
{
    return mls_buf_view(&pg->ctx.tree_hash);
}

uint32_t mls_public_group_leaf_count(const mls_public_group *pg)
{
    return mls_rtree_n_leaves(&pg->tree);
}

uint32_t mls_public_group_member_count(const mls_public_group *pg)
{
    return mls_rtree_member_count(&pg->tree);
}

int mls_public_group_is_reinit_pending(const mls_public_group *pg)
{
    return pg->reinit_pending;
}

size_t mls_public_group_pending_proposals(const mls_public_group *pg)
{
    return pg->n_props;
}

static void member_of(const mls_leaf_node *ln, uint32_t leaf, mls_bytes cred, mls_member *out)
{
    memset(out, 0, sizeof(*out));
    out->leaf = leaf;
    out->credential = cred;
    out->credential_type = ln->credential.type;
    if (ln->credential.type == MLS_CREDENTIAL_BASIC)
        out->identity = mls_buf_view(&ln->credential.identity);
    out->signature_key = mls_buf_view(&ln->signature_key);
    out->encryption_key = mls_buf_view(&ln->encryption_key);
}

void mls_pg_leaf_member(const mls_pg_leaf *l, uint32_t leaf, mls_member *out)
{
    if (!l->present) {
        memset(out, 0, sizeof(*out));
        out->leaf = leaf;
        return;
    }
    member_of(&l->ln, leaf, mls_buf_view(&l->cred), out);
}

/* The encoded credential comes from a per-leaf cache built on demand (a
 * logically const operation, as in mls_group_member). */
int mls_public_group_member(const mls_public_group *pg, uint32_t leaf, mls_member *out)
{
    mls_public_group *mpg = (mls_public_group *)pg;
    const mls_leaf_node *ln;
    uint32_t n;
    int err;

    if (!pg || !out)
        return MLS_ERR_ARG;
    ln = mls_rtree_leaf(&pg->tree, leaf);
    if (!ln)
        return MLS_ERR_NOT_FOUND;
    n = mls_rtree_n_leaves(&pg->tree);
    if (pg->n_cred_cache != n) {
        mls_buf *c = calloc(n, sizeof(*c));
        if (!c)
            return MLS_ERR_NOMEM;
        mls_public_group_cache_clear(mpg);
        mpg->cred_cache = c;
        mpg->n_cred_cache = n;
    }
    if (pg->cred_cache[leaf].n == 0 &&
        (err = mls_credential_encode(&ln->credential, &mpg->cred_cache[leaf])) != 0)
        return err;
    member_of(ln, leaf, mls_buf_view(&pg->cred_cache[leaf]), out);
    return 0;
}

int mls_public_group_extension(const mls_public_group *pg, uint16_t type, mls_bytes *data)
{
    const mls_extension *e = mls_extension_list_find(&pg->ctx.extensions, type);
    if (!e)
        return MLS_ERR_NOT_FOUND;
    *data = mls_buf_view(&e->data);
    return 0;
}

int mls_public_group_ratchet_tree(const mls_public_group *pg, mls_buf *out)
{
    mls_buf w;
    int err;

    if (!pg || !out)
        return MLS_ERR_ARG;
    mls_buf_init(&w);
    if ((err = mls_rtree_encode(&pg->tree, &w)) != 0) {
        mls_buf_clear(&w);
        return err;
    }
    mls_buf_clear(out);
    *out = w;
    return 0;
}

/* ---------------------------------------------------------------- GroupInfo */

/*
 * RFC 9420 §12.4.3: a GroupInfo for the epoch (ctx_enc, tree, conf_tag)
 * signed by `committer` (UINT32_MAX: any member).  The signer is
 * authenticated first, then every field compared.  The external_pub
 * extension cannot be checked: it derives from the epoch's
 * external_secret.
 */
static int check_group_info(const mls_suite *s, const mls_group_context *ctx, mls_bytes ctx_enc,
                            const mls_rtree *tree, const uint8_t *conf_tag, uint32_t committer,
                            mls_bytes group_info)
{
    const mls_leaf_node *signer;
    const mls_extension *e;
    const mls_group_info *gi;
    mls_message m;
    mls_buf w;
    int err;

    mls_buf_init(&w);
    if ((err = mls_message_decode_bytes(group_info, &m)) != 0)
        return err;
    gi = &m.group_info;
    if (m.wire_format != MLS_WIRE_GROUP_INFO) {
        err = MLS_ERR_INVALID;
        goto out;
    }
    if (!mls_ct_equal(mls_buf_view(&gi->group_context.group_id), mls_buf_view(&ctx->group_id))) {
        err = MLS_ERR_WRONG_GROUP;
        goto out;
    }
    if (gi->group_context.epoch != ctx->epoch) {
        err = MLS_ERR_WRONG_EPOCH;
        goto out;
    }
    signer = mls_rtree_leaf(tree, gi->signer);
    if (!signer || (committer != UINT32_MAX && gi->signer != committer)) {
        err = MLS_ERR_INVALID;
        goto out;
    }
    if ((err = mls_group_info_verify(s, gi, mls_buf_view(&signer->signature_key))) != 0)
        goto out;
    err = MLS_ERR_INVALID;
    if (mls_group_context_encode(&gi->group_context, &w) != 0 ||
        !mls_ct_equal(mls_buf_view(&w), ctx_enc) ||
        !mls_ct_equal(mls_buf_view(&gi->confirmation_tag), mls_bytes_of(conf_tag, s->nh)) ||
        mls_extension_list_check_unique(&gi->extensions) != 0)
        goto out;
    /* §12.4.3.3: a carried tree must be the epoch's, node for node. */
    e = mls_extension_list_find(&gi->extensions, MLS_EXT_RATCHET_TREE);
    if (e) {
        mls_buf_reset(&w);
        if ((err = mls_rtree_encode(tree, &w)) != 0)
            goto out;
        err = MLS_ERR_INVALID;
        if (!mls_ct_equal(mls_buf_view(&w), mls_buf_view(&e->data)))
            goto out;
    }
    err = 0;
out:
    mls_buf_clear(&w);
    mls_message_clear(&m);
    return err;
}

int mls_public_staged_check_group_info(const mls_public_staged *st, mls_bytes group_info)
{
    if (!st)
        return MLS_ERR_ARG;
    if (st->kind != MLS_PUBLIC_COMMIT)
        return MLS_ERR_STATE;
    return check_group_info(st->pg->suite, &st->ctx, mls_buf_view(&st->ctx_enc), &st->tree,
                            st->conf_tag, st->committer_leaf, group_info);
}

int mls_public_group_check_group_info(const mls_public_group *pg, mls_bytes group_info)
{
    if (!pg)
        return MLS_ERR_ARG;
    return check_group_info(pg->suite, &pg->ctx, mls_buf_view(&pg->ctx_enc), &pg->tree,
                            pg->conf_tag, pg->committer, group_info);
}

/* ---------------------------------------------------------------- staged */

int mls_public_staged_kind(const mls_public_staged *st)
{
    return st->kind;
}

uint64_t mls_public_staged_epoch(const mls_public_staged *st)
{
    return st->kind == MLS_PUBLIC_COMMIT ? st->ctx.epoch : st->base_epoch;
}

void mls_public_staged_sender(const mls_public_staged *st, uint8_t *sender_type,
                              uint32_t *index)
{
    if (sender_type)
        *sender_type = st->sender.type;
    if (index)
        *index = st->sender.index;
}

mls_bytes mls_public_staged_authenticated_data(const mls_public_staged *st)
{
    return mls_buf_view(&st->authenticated_data);
}

static void change_view(const mls_pg_change *c, mls_public_change *out)
{
    memset(out, 0, sizeof(*out));
    out->leaf = c->leaf;
    out->has_before = c->before.present;
    out->has_after = c->after.present;
    mls_pg_leaf_member(&c->before, c->leaf, &out->before);
    mls_pg_leaf_member(&c->after, c->leaf, &out->after);
    out->key_package_ref = mls_buf_view(&c->kp_ref);
}

int mls_public_staged_committer(const mls_public_staged *st, mls_public_change *out)
{
    if (!st || !out)
        return MLS_ERR_ARG;
    change_view(&st->committer, out);
    return 0;
}

size_t mls_public_staged_change_count(const mls_public_staged *st, int kind)
{
    if (kind < MLS_PUBLIC_ADDED || kind > MLS_PUBLIC_UPDATED)
        return 0;
    return st->n_changes[kind - 1];
}

int mls_public_staged_change(const mls_public_staged *st, int kind, size_t i,
                             mls_public_change *out)
{
    if (!st || !out || kind < MLS_PUBLIC_ADDED || kind > MLS_PUBLIC_UPDATED)
        return MLS_ERR_ARG;
    if (i >= st->n_changes[kind - 1])
        return MLS_ERR_NOT_FOUND;
    change_view(&st->changes[kind - 1][i], out);
    return 0;
}

size_t mls_public_staged_proposal_count(const mls_public_staged *st)
{
    return st->n_props;
}

int mls_public_staged_proposal(const mls_public_staged *st, size_t i, mls_public_proposal *out)
{
    if (!st || !out)
        return MLS_ERR_ARG;
    if (i >= st->n_props)
        return MLS_ERR_NOT_FOUND;
    *out = st->props[i];
    return 0;
}

int mls_public_staged_extensions_changed(const mls_public_staged *st)
{
    return st->gce;
}

int mls_public_staged_extension(const mls_public_staged *st, int after, uint16_t type,
                                mls_bytes *data)
{
    const mls_extension *e;

    if (!st || !data)
        return MLS_ERR_ARG;
    e = mls_extension_list_find(after ? &st->ext_after : &st->ext_before, type);
    if (!e)
        return MLS_ERR_NOT_FOUND;
    *data = mls_buf_view(&e->data);
    return 0;
}

int mls_public_staged_extension_at(const mls_public_staged *st, int after, size_t i,
                                   mls_ext *out)
{
    const mls_extension_list *l;

    if (!st || !out)
        return MLS_ERR_ARG;
    l = after ? &st->ext_after : &st->ext_before;
    if (i >= l->n)
        return MLS_ERR_NOT_FOUND;
    out->type = l->v[i].type;
    out->data = mls_buf_view(&l->v[i].data);
    return 0;
}

int mls_public_staged_reinit(const mls_public_staged *st, mls_bytes *group_id,
                             uint16_t *version, uint16_t *suite)
{
    if (!st)
        return MLS_ERR_ARG;
    if (!st->has_reinit)
        return MLS_ERR_NOT_FOUND;
    if (group_id)
        *group_id = mls_buf_view(&st->reinit.group_id);
    if (version)
        *version = st->reinit.version;
    if (suite)
        *suite = st->reinit.cipher_suite;
    return 0;
}

int mls_public_staged_external_init(const mls_public_staged *st)
{
    return st->external_init;
}

size_t mls_public_staged_psk_count(const mls_public_staged *st)
{
    return st->n_psks;
}

int mls_public_staged_psk(const mls_public_staged *st, size_t i, mls_public_psk *out)
{
    const mls_psk_id *p;

    if (!st || !out)
        return MLS_ERR_ARG;
    if (i >= st->n_psks)
        return MLS_ERR_NOT_FOUND;
    p = &st->psks[i];
    memset(out, 0, sizeof(*out));
    out->type = p->type;
    out->psk_id = mls_buf_view(&p->psk_id);
    out->usage = p->usage;
    out->group_id = mls_buf_view(&p->psk_group_id);
    out->epoch = p->psk_epoch;
    return 0;
}
