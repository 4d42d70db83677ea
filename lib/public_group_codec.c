/*
 * Serialization of the public group view, for a Delivery Service that
 * keeps one per group in its store.  Versioned, canonical (deserialize
 * then serialize gives the same bytes), strict on input; nothing in it is
 * secret.
 *
 *   u32 magic "MLPG", u16 format version, u16 cipher suite
 *   GroupContext, ratchet_tree<V> (RFC 9420 §12.4.3.3)
 *   interim transcript hash Nh, confirmation tag Nh
 *   u32 committer of the last merged commit (0xffffffff: unknown)
 *   u8 reinit_pending (a ReInit was committed: the group has ended)
 *   u32 n pending proposals x (ref<V>, Proposal, u8 sender type,
 *       u32 sender index)
 */
#include "public_group.h"

#include <stdlib.h>
#include <string.h>

#define PG_MAGIC 0x4d4c5047u /* "MLPG" */

int mls_public_group_serialize(const mls_public_group *pg, mls_buf *out)
{
    const mls_suite *s;
    mls_buf w;
    int err;

    if (!pg || !out)
        return MLS_ERR_ARG;
    s = pg->suite;
    mls_buf_init(&w);
    if ((err = mls_write_u32(&w, PG_MAGIC)) != 0 ||
        (err = mls_write_u16(&w, MLS_PUBLIC_GROUP_VERSION)) != 0 ||
        (err = mls_write_u16(&w, s->id)) != 0 ||
        (err = mls_group_context_encode(&pg->ctx, &w)) != 0 ||
        (err = mls_rtree_encode(&pg->tree, &w)) != 0 ||
        (err = mls_write_fixed(&w, pg->interim, s->nh)) != 0 ||
        (err = mls_write_fixed(&w, pg->conf_tag, s->nh)) != 0 ||
        (err = mls_write_u32(&w, pg->committer)) != 0 ||
        (err = mls_write_u8(&w, pg->reinit_pending ? 1 : 0)) != 0)
        goto out;
    /* The ReInit itself is not kept: the view only needs to know that the
     * group has ended (RFC 9420 §11.2). */
    if ((err = mls_write_u32(&w, (uint32_t)pg->n_props)) != 0)
        goto out;
    for (size_t i = 0; i < pg->n_props; i++) {
        const mls_pending_proposal *pp = &pg->props[i];
        if ((err = mls_write_vec_bytes(&w, mls_buf_view(&pp->ref))) != 0 ||
            (err = mls_proposal_encode(&pp->proposal, &w)) != 0 ||
            (err = mls_write_u8(&w, pp->sender.type)) != 0 ||
            (err = mls_write_u32(&w, pp->sender.index)) != 0)
            goto out;
    }
    mls_buf_clear(out);
    *out = w;
    mls_buf_init(&w);
out:
    mls_buf_clear(&w);
    return err;
}

/* The ratchet_tree<V> at r, imported into t. */
static int read_tree(mls_reader *r, const mls_suite *s, mls_rtree *t)
{
    size_t start = r->off;
    mls_reader sub;
    int err;

    if ((err = mls_read_vec(r, &sub)) != 0)
        return err;
    err = mls_rtree_import_bytes(t, s, mls_bytes_of(r->p + start, r->off - start));
    if (err == MLS_ERR_TRAILING || err == MLS_ERR_TOO_LARGE)
        err = MLS_ERR_MALFORMED;
    return err;
}

static int read_props(mls_reader *r, const mls_suite *s, mls_public_group *pg)
{
    uint32_t n;
    int err;

    if ((err = mls_read_u32(r, &n)) != 0)
        return err;
    /* Each entry takes at least Nh + 8 bytes: bound n before allocating. */
    if (n > mls_reader_left(r) / (s->nh + 8))
        return MLS_ERR_MALFORMED;
    pg->props = calloc((size_t)n + 1, sizeof(*pg->props));
    if (!pg->props)
        return MLS_ERR_NOMEM;
    for (uint32_t i = 0; i < n; i++) {
        mls_pending_proposal *pp = &pg->props[i];
        if ((err = mls_read_vec_buf(r, &pp->ref)) != 0)
            return err;
        pg->n_props++;
        if ((err = mls_proposal_decode(r, &pp->proposal)) != 0 ||
            (err = mls_read_u8(r, &pp->sender.type)) != 0 ||
            (err = mls_read_u32(r, &pp->sender.index)) != 0)
            return err;
        if (pp->ref.n != s->nh || pp->sender.type < MLS_SENDER_MEMBER ||
            pp->sender.type > MLS_SENDER_NEW_MEMBER_PROPOSAL)
            return MLS_ERR_MALFORMED;
    }
    return 0;
}

int mls_public_group_deserialize(const mls_env *env, mls_bytes in, mls_public_group **out)
{
    const mls_suite *s;
    mls_public_group *pg = NULL;
    mls_reader r;
    mls_bytes b;
    uint32_t magic;
    uint16_t version, suite;
    uint8_t reinit;
    uint8_t th[MLS_MAX_HASH];
    int err;

    if (!env || !out)
        return MLS_ERR_ARG;
    mls_reader_init_bytes(&r, in);
    if ((err = mls_read_u32(&r, &magic)) != 0 || (err = mls_read_u16(&r, &version)) != 0 ||
        (err = mls_read_u16(&r, &suite)) != 0)
        return err;
    if (magic != PG_MAGIC)
        return MLS_ERR_MALFORMED;
    if (version != MLS_PUBLIC_GROUP_VERSION)
        return MLS_ERR_UNSUPPORTED;
    s = mls_suite_get(suite);
    if (!s)
        return MLS_ERR_UNSUPPORTED;
    if ((err = mls_public_group_alloc(env, s, &pg)) != 0)
        return err;
    if ((err = mls_group_context_decode(&r, &pg->ctx)) != 0)
        goto out;
    if (pg->ctx.cipher_suite != suite || pg->ctx.version != MLS_VERSION_MLS10 ||
        pg->ctx.tree_hash.n != s->nh) {
        err = MLS_ERR_MALFORMED;
        goto out;
    }
    if ((err = read_tree(&r, s, &pg->tree)) != 0)
        goto out;
    if ((err = mls_read_fixed(&r, s->nh, &b)) != 0)
        goto out;
    memcpy(pg->interim, b.p, s->nh);
    if ((err = mls_read_fixed(&r, s->nh, &b)) != 0)
        goto out;
    memcpy(pg->conf_tag, b.p, s->nh);
    if ((err = mls_read_u32(&r, &pg->committer)) != 0 || (err = mls_read_u8(&r, &reinit)) != 0)
        goto out;
    if (reinit > 1 ||
        (pg->committer != UINT32_MAX && !mls_rtree_leaf(&pg->tree, pg->committer))) {
        err = MLS_ERR_MALFORMED;
        goto out;
    }
    pg->reinit_pending = reinit;
    if ((err = read_props(&r, s, pg)) != 0 || (err = mls_reader_done(&r)) != 0)
        goto out;
    /* The stored tree must be the one the GroupContext names. */
    if ((err = mls_rtree_root_hash(&pg->tree, th)) != 0)
        goto out;
    if (!mls_ct_equal(mls_bytes_of(th, s->nh), mls_buf_view(&pg->ctx.tree_hash))) {
        err = MLS_ERR_INVALID;
        goto out;
    }
    if ((err = mls_public_ctx_encode(&pg->ctx, &pg->ctx_enc)) != 0)
        goto out;
    *out = pg;
    pg = NULL;
out:
    mls_public_group_free(pg);
    return err;
}
