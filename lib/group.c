/*
 * Group state (RFC 9420 §8, §11): creation, accessors, the transition from
 * one epoch to the next, PSK lookup, GroupInfo export.
 */
#include "group_state.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "describe.h"
#include "key_package.h"
#include "transcript.h"
#include "welcome.h"

void mls_group_config_default(mls_group_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->max_past_epochs = 2;
    cfg->max_forward = MLS_SECRET_TREE_DEFAULT_MAX_FORWARD;
    cfg->max_retained = MLS_SECRET_TREE_DEFAULT_MAX_RETAINED;
    cfg->ratchet_tree_in_welcome = 1;
}

static int config_check(const mls_group_config *cfg)
{
    if (cfg->max_retained > MLS_SECRET_TREE_MAX_RETAINED_LIMIT || cfg->max_past_epochs > 1024)
        return MLS_ERR_ARG;
    return 0;
}

void mls_epoch_state_clear(mls_epoch_state *e)
{
    if (!e)
        return;
    mls_group_context_clear(&e->ctx);
    mls_buf_clear(&e->ctx_enc);
    mls_rtree_clear(&e->tree);
    mls_treekem_priv_clear(&e->priv);
    mls_epoch_secrets_clear(&e->sec);
    mls_wipe(e->interim, sizeof(e->interim));
    mls_wipe(e->conf_tag, sizeof(e->conf_tag));
}

int mls_epoch_encode_ctx(mls_epoch_state *e)
{
    mls_buf enc;
    int err;

    mls_buf_init(&enc);
    if ((err = mls_group_context_encode(&e->ctx, &enc)) != 0) {
        mls_buf_clear(&enc);
        return err;
    }
    mls_buf_clear(&e->ctx_enc);
    e->ctx_enc = enc;
    return 0;
}

static void past_clear(mls_past_epoch *p)
{
    mls_buf_clear(&p->ctx_enc);
    mls_wipe(p->sender_data_secret, sizeof(p->sender_data_secret));
    mls_secret_tree_clear(&p->stree);
    for (size_t i = 0; i < p->n_ch; i++)
        mls_buf_clear(&p->ch_key[i]);
    free(p->ch_leaf);
    free(p->ch_key);
    memset(p, 0, sizeof(*p));
}

static void pending_clear(mls_pending_proposal *pp)
{
    if (pp->desc) {
        mls_sc_proposal_clear(pp->desc);
        free(pp->desc);
        pp->desc = NULL;
    }
    mls_buf_clear(&pp->ref);
    mls_proposal_clear(&pp->proposal);
    mls_buf_clear(&pp->own_leaf_sk);
}

void mls_group_clear_pending_proposals(mls_group *g)
{
    for (size_t i = 0; i < g->n_props; i++)
        pending_clear(&g->props[i]);
    free(g->props);
    g->props = NULL;
    g->n_props = 0;
}

size_t mls_group_pending_proposals(const mls_group *g)
{
    return g->n_props;
}

int mls_group_pending_proposal(const mls_group *g, size_t i, mls_proposal_info *out)
{
    mls_pending_proposal *pp;
    int err;

    if (!g || !out)
        return MLS_ERR_ARG;
    if (i >= g->n_props)
        return MLS_ERR_NOT_FOUND;
    /* The description is made once and kept with the proposal (like the
     * credential cache of mls_group_member: not part of the state). */
    pp = (mls_pending_proposal *)&g->props[i];
    if (!pp->desc) {
        mls_sc_proposal *d = calloc(1, sizeof(*d));
        if (!d)
            return MLS_ERR_NOMEM;
        if ((err = mls_sc_proposal_build(&pp->proposal, &pp->sender, 1, mls_buf_view(&pp->ref),
                                         &g->cur.tree, UINT32_MAX, d)) != 0) {
            free(d);
            return err;
        }
        pp->desc = d;
    }
    mls_sc_proposal_view(pp->desc, out);
    return 0;
}

static void cred_cache_clear(mls_group *g)
{
    for (uint32_t i = 0; i < g->n_cred_cache; i++)
        mls_buf_clear(&g->cred_cache[i]);
    free(g->cred_cache);
    g->cred_cache = NULL;
    g->n_cred_cache = 0;
}

void mls_group_free(mls_group *g)
{
    if (!g)
        return;
    cred_cache_clear(g);
    mls_identity_free(g->id);
    mls_epoch_state_clear(&g->cur);
    mls_secret_tree_clear(&g->stree);
    mls_group_clear_pending_proposals(g);
    mls_reinit_clear(&g->reinit);
    for (size_t i = 0; i < g->n_past; i++)
        past_clear(&g->past[i]);
    free(g->past);
    if (g->res) {
        mls_wipe(g->res, g->n_res * sizeof(*g->res));
        free(g->res);
    }
    free(g);
}

int mls_group_alloc(const mls_env *env, const mls_identity *id, const mls_group_config *cfg,
                    mls_group **out)
{
    mls_group *g;
    int err;

    g = calloc(1, sizeof(*g));
    if (!g)
        return MLS_ERR_NOMEM;
    g->env = env;
    g->suite = id->suite;
    if (cfg)
        g->cfg = *cfg;
    else
        mls_group_config_default(&g->cfg);
    if ((err = config_check(&g->cfg)) != 0 || (err = mls_identity_dup(id, &g->id)) != 0) {
        mls_group_free(g);
        return err;
    }
    mls_rtree_init(&g->cur.tree, g->suite);
    g->active = 1;
    *out = g;
    return 0;
}

static mls_secret_tree_config stree_cfg(const mls_group *g)
{
    mls_secret_tree_config c;
    c.max_forward = g->cfg.max_forward ? g->cfg.max_forward : MLS_SECRET_TREE_DEFAULT_MAX_FORWARD;
    c.max_retained = g->cfg.max_forward || g->cfg.max_retained
                         ? g->cfg.max_retained
                         : MLS_SECRET_TREE_DEFAULT_MAX_RETAINED;
    return c;
}

int mls_group_init_secret_tree(mls_group *g)
{
    mls_secret_tree_config c = stree_cfg(g);
    mls_secret_tree st;
    int err;

    err = mls_secret_tree_init(&st, g->suite,
                               mls_bytes_of(g->cur.sec.encryption_secret, g->suite->nh),
                               mls_rtree_n_leaves(&g->cur.tree), &c);
    if (err)
        return err;
    mls_secret_tree_clear(&g->stree);
    g->stree = st;
    return 0;
}

int mls_group_stree_copy(const mls_group *g, const mls_secret_tree *src, mls_secret_tree *dst)
{
    mls_reader r;
    mls_buf w;
    int err;

    /* Through its serialization, which group_codec.c already relies on
     * being exact. */
    mls_buf_init(&w);
    if ((err = mls_secret_tree_write(src, &w)) == 0) {
        mls_reader_init_bytes(&r, mls_buf_view(&w));
        if ((err = mls_secret_tree_read(&r, g->suite, mls_rtree_n_leaves(&g->cur.tree), dst)) ==
                0 &&
            (err = mls_reader_done(&r)) != 0)
            mls_secret_tree_clear(dst);
    }
    mls_buf_clear(&w);
    return err;
}

void mls_group_framing_ctx(mls_group *g, mls_framing_ctx *fc)
{
    memset(fc, 0, sizeof(*fc));
    fc->suite = g->suite;
    fc->group_id = mls_buf_view(&g->cur.ctx.group_id);
    fc->epoch = g->cur.ctx.epoch;
    fc->group_context = mls_buf_view(&g->cur.ctx_enc);
    fc->membership_key = mls_bytes_of(g->cur.sec.membership_key, g->suite->nh);
    fc->sender_data_secret = mls_bytes_of(g->cur.sec.sender_data_secret, g->suite->nh);
    fc->secret_tree = &g->stree;
    fc->padding_block = g->cfg.padding_block;
}

uint16_t mls_group_handshake_wire_format(const mls_group *g)
{
    return g->cfg.handshake_private ? MLS_WIRE_PRIVATE_MESSAGE : MLS_WIRE_PUBLIC_MESSAGE;
}

int mls_group_protect_content(mls_group *g, const mls_authenticated_content *ac, mls_buf *out)
{
    mls_framing_ctx fc;
    mls_message m;
    int err;

    mls_group_framing_ctx(g, &fc);
    memset(&m, 0, sizeof(m));
    if (ac->wire_format == MLS_WIRE_PUBLIC_MESSAGE)
        err = mls_framing_protect_public(&fc, ac, &m);
    else
        err = mls_framing_protect_private(&fc, g->env, ac, &m);
    if (!err)
        err = mls_message_wrap(&m, out);
    mls_message_clear(&m);
    return err;
}

/* ---------------------------------------------------------------- creation */

int mls_group_create(const mls_env *env, const mls_identity *id, mls_bytes group_id,
                     const mls_ext *extensions, size_t n_extensions, const mls_group_config *cfg,
                     mls_group **out)
{
    const mls_suite *s;
    mls_group *g = NULL;
    mls_leaf_node ln;
    mls_buf enc_sk, enc_pk;
    mls_lifetime lt;
    uint8_t init[MLS_MAX_HASH], gid[32];
    uint32_t leaf;
    size_t i;
    int err;

    if (!env || !id || !out || (n_extensions && !extensions))
        return MLS_ERR_ARG;
    s = id->suite;
    memset(&ln, 0, sizeof(ln));
    mls_buf_init(&enc_sk);
    mls_buf_init(&enc_pk);
    if ((err = mls_group_alloc(env, id, cfg, &g)) != 0)
        return err;
    if (group_id.n == 0) {
        if (env->random(env->ctx, gid, sizeof(gid)) != 0) {
            err = MLS_ERR_RANDOM;
            goto out;
        }
        group_id = mls_bytes_of(gid, sizeof(gid));
    }
    /* RFC 9420 §11: a one-member tree with the creator's leaf. */
    if ((err = mls_hpke_generate_keypair(s, env, &enc_sk, &enc_pk)) != 0)
        goto out;
    lt.not_before = env->now(env->ctx);
    lt.not_before = lt.not_before > 3600 ? lt.not_before - 3600 : 0;
    lt.not_after = lt.not_before + 3600 + 90ull * 24 * 3600;
    if ((err = mls_identity_make_leaf(id, env, mls_buf_view(&enc_pk), MLS_LEAF_SOURCE_KEY_PACKAGE,
                                      &lt, mls_bytes_of(NULL, 0), mls_bytes_of(NULL, 0), 0,
                                      &ln)) != 0)
        goto out;
    if ((err = mls_rtree_add_leaf(&g->cur.tree, &ln, &leaf)) != 0)
        goto out;
    if ((err = mls_treekem_priv_init(&g->cur.priv, s, leaf, mls_buf_view(&enc_sk))) != 0)
        goto out;

    g->cur.ctx.version = MLS_VERSION_MLS10;
    g->cur.ctx.cipher_suite = s->id;
    if ((err = mls_buf_set(&g->cur.ctx.group_id, group_id.p, group_id.n)) != 0)
        goto out;
    g->cur.ctx.extensions.v = calloc(n_extensions + 1, sizeof(mls_extension));
    if (!g->cur.ctx.extensions.v) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < n_extensions; i++) {
        g->cur.ctx.extensions.v[i].type = extensions[i].type;
        g->cur.ctx.extensions.n = i + 1;
        if ((err = mls_buf_set(&g->cur.ctx.extensions.v[i].data, extensions[i].data.p,
                               extensions[i].data.n)) != 0)
            goto out;
    }
    if ((err = mls_group_check_extensions(g, &g->cur.ctx.extensions, &g->cur.tree)) != 0)
        goto out;
    {
        uint8_t th[MLS_MAX_HASH];
        if ((err = mls_rtree_root_hash(&g->cur.tree, th)) != 0 ||
            (err = mls_buf_set(&g->cur.ctx.tree_hash, th, s->nh)) != 0)
            goto out;
    }
    if ((err = mls_epoch_encode_ctx(&g->cur)) != 0)
        goto out;
    /* RFC 9420 §11: a fresh random init_secret, zero commit and PSK
     * secrets, empty confirmed transcript hash. */
    if (env->random(env->ctx, init, s->nh) != 0) {
        err = MLS_ERR_RANDOM;
        goto out;
    }
    if ((err = mls_key_schedule_epoch(s, mls_bytes_of(init, s->nh), mls_bytes_of(NULL, 0),
                                      mls_bytes_of(NULL, 0), mls_buf_view(&g->cur.ctx_enc),
                                      &g->cur.sec)) != 0)
        goto out;
    if ((err = mls_confirmation_tag(s, mls_bytes_of(g->cur.sec.confirmation_key, s->nh),
                                    mls_bytes_of(NULL, 0), g->cur.conf_tag)) != 0 ||
        (err = mls_transcript_interim(s, mls_bytes_of(NULL, 0),
                                      mls_bytes_of(g->cur.conf_tag, s->nh), g->cur.interim)) != 0)
        goto out;
    mls_wipe(g->cur.sec.joiner_secret, sizeof(g->cur.sec.joiner_secret));
    mls_wipe(g->cur.sec.welcome_secret, sizeof(g->cur.sec.welcome_secret));
    if ((err = mls_group_init_secret_tree(g)) != 0)
        goto out;
    *out = g;
    g = NULL;
out:
    mls_wipe(init, sizeof(init));
    mls_leaf_node_clear(&ln);
    mls_buf_clear(&enc_sk);
    mls_buf_clear(&enc_pk);
    mls_group_free(g);
    return err;
}

int mls_group_set_config(mls_group *g, const mls_group_config *cfg)
{
    int err;
    if (!g || !cfg)
        return MLS_ERR_ARG;
    if ((err = config_check(cfg)) != 0)
        return err;
    g->cfg = *cfg;
    return 0;
}

int mls_group_forget_past_epochs(mls_group *g, uint32_t keep)
{
    if (!g)
        return MLS_ERR_ARG;
    /* RFC 9420 §15.2: old epochs' keys are deleted once no message of
     * them can still be needed; the oldest go first. */
    while (g->n_past > keep) {
        past_clear(&g->past[0]);
        memmove(&g->past[0], &g->past[1], (g->n_past - 1) * sizeof(*g->past));
        memset(&g->past[g->n_past - 1], 0, sizeof(*g->past));
        g->n_past--;
    }
    if (g->cfg.max_past_epochs > keep)
        g->cfg.max_past_epochs = keep;
    return 0;
}

void mls_group_get_config(const mls_group *g, mls_group_config *cfg)
{
    *cfg = g->cfg;
}

void mls_group_set_psk_store(mls_group *g, const mls_psk_store *store)
{
    if (store)
        g->psks = *store;
    else
        memset(&g->psks, 0, sizeof(g->psks));
}

/* ---------------------------------------------------------------- accessors */

mls_bytes mls_group_id(const mls_group *g)
{
    return mls_buf_view(&g->cur.ctx.group_id);
}

uint64_t mls_group_epoch(const mls_group *g)
{
    return g->cur.ctx.epoch;
}

uint16_t mls_group_suite(const mls_group *g)
{
    return g->suite->id;
}

uint32_t mls_group_own_leaf(const mls_group *g)
{
    return g->cur.priv.leaf;
}

mls_bytes mls_group_epoch_authenticator(const mls_group *g)
{
    return mls_bytes_of(g->cur.sec.epoch_authenticator, g->suite->nh);
}

int mls_group_is_reinit_pending(const mls_group *g)
{
    return g->reinit_pending;
}

int mls_group_reinit_target(const mls_group *g, mls_bytes *group_id, uint16_t *version,
                            uint16_t *suite)
{
    if (!g)
        return MLS_ERR_ARG;
    /* A group restored from storage knows that a ReInit was committed but
     * not its parameters (the state format does not carry them). */
    if (!g->reinit_pending || g->reinit.version == 0)
        return MLS_ERR_NOT_FOUND;
    if (group_id)
        *group_id = mls_buf_view(&g->reinit.group_id);
    if (version)
        *version = g->reinit.version;
    if (suite)
        *suite = g->reinit.cipher_suite;
    return 0;
}

int mls_group_is_active(const mls_group *g)
{
    return g->active;
}

int mls_group_export_secret(const mls_group *g, const char *label, mls_bytes context,
                            size_t length, mls_buf *out)
{
    uint8_t *buf;
    int err;

    if (!g || !label || !out || length == 0 || length > 65535)
        return MLS_ERR_ARG;
    buf = malloc(length);
    if (!buf)
        return MLS_ERR_NOMEM;
    err = mls_exporter(g->suite, mls_bytes_of(g->cur.sec.exporter_secret, g->suite->nh),
                       mls_bytes_of((const uint8_t *)label, strlen(label)), context, buf, length);
    if (!err)
        err = mls_buf_set(out, buf, length);
    mls_wipe(buf, length);
    free(buf);
    return err;
}

uint32_t mls_group_leaf_count(const mls_group *g)
{
    return mls_rtree_n_leaves(&g->cur.tree);
}

uint32_t mls_group_member_count(const mls_group *g)
{
    return mls_rtree_member_count(&g->cur.tree);
}

/* The tree keeps credentials decoded; the encoded form a member view
 * promises is built on demand into a per-leaf cache that lives until the
 * epoch changes (a logically const operation). */
int mls_group_member(const mls_group *g, uint32_t leaf, mls_member *out)
{
    mls_group *mg = (mls_group *)g;
    const mls_leaf_node *ln;
    uint32_t n;
    int err;

    if (!g || !out)
        return MLS_ERR_ARG;
    ln = mls_rtree_leaf(&g->cur.tree, leaf);
    if (!ln)
        return MLS_ERR_NOT_FOUND;
    n = mls_rtree_n_leaves(&g->cur.tree);
    if (g->n_cred_cache != n) {
        mls_buf *c = calloc(n, sizeof(*c));
        if (!c)
            return MLS_ERR_NOMEM;
        cred_cache_clear(mg);
        mg->cred_cache = c;
        mg->n_cred_cache = n;
    }
    if (g->cred_cache[leaf].n == 0 &&
        (err = mls_credential_encode(&ln->credential, &mg->cred_cache[leaf])) != 0)
        return err;
    memset(out, 0, sizeof(*out));
    out->leaf = leaf;
    out->credential_type = ln->credential.type;
    if (ln->credential.type == MLS_CREDENTIAL_BASIC)
        out->identity = mls_buf_view(&ln->credential.identity);
    out->signature_key = mls_buf_view(&ln->signature_key);
    out->encryption_key = mls_buf_view(&ln->encryption_key);
    out->credential = mls_buf_view(&g->cred_cache[leaf]);
    return 0;
}

int mls_group_find_member(const mls_group *g, mls_bytes identity, uint32_t *leaf)
{
    uint32_t n = mls_rtree_n_leaves(&g->cur.tree);

    for (uint32_t i = 0; i < n; i++) {
        const mls_leaf_node *ln = mls_rtree_leaf(&g->cur.tree, i);
        if (ln && ln->credential.type == MLS_CREDENTIAL_BASIC &&
            ln->credential.identity.n == identity.n &&
            (identity.n == 0 || memcmp(ln->credential.identity.p, identity.p, identity.n) == 0)) {
            *leaf = i;
            return 0;
        }
    }
    return MLS_ERR_NOT_FOUND;
}

int mls_group_extension(const mls_group *g, uint16_t type, mls_bytes *data)
{
    const mls_extension *e = mls_extension_list_find(&g->cur.ctx.extensions, type);
    if (!e)
        return MLS_ERR_NOT_FOUND;
    *data = mls_buf_view(&e->data);
    return 0;
}

size_t mls_group_extension_count(const mls_group *g)
{
    return g->cur.ctx.extensions.n;
}

int mls_group_extension_at(const mls_group *g, size_t i, mls_ext *out)
{
    if (i >= g->cur.ctx.extensions.n)
        return MLS_ERR_NOT_FOUND;
    out->type = g->cur.ctx.extensions.v[i].type;
    out->data = mls_buf_view(&g->cur.ctx.extensions.v[i].data);
    return 0;
}

int mls_group_ratchet_tree(const mls_group *g, mls_buf *out)
{
    mls_buf w;
    int err;

    mls_buf_init(&w);
    if ((err = mls_rtree_encode(&g->cur.tree, &w)) != 0) {
        mls_buf_clear(&w);
        return err;
    }
    mls_buf_clear(out);
    *out = w;
    return 0;
}

int mls_message_wrap(const mls_message *m, mls_buf *out)
{
    mls_buf w;
    int err;

    mls_buf_init(&w);
    if ((err = mls_message_encode(m, &w)) != 0) {
        mls_buf_clear(&w);
        return err;
    }
    mls_buf_clear(out);
    *out = w;
    return 0;
}

int mls_proposal_ref(const mls_suite *s, const mls_authenticated_content *ac, mls_buf *out)
{
    uint8_t h[MLS_MAX_HASH];
    mls_buf enc;
    int err;

    mls_buf_init(&enc);
    err = mls_authenticated_content_encode(ac, &enc);
    if (!err)
        err = mls_ref_hash(s, "MLS 1.0 Proposal Reference", mls_buf_view(&enc), h);
    if (!err)
        err = mls_buf_set(out, h, s->nh);
    mls_buf_clear(&enc);
    return err;
}

int mls_group_make_group_info(const mls_group *g, mls_epoch_state *e, int with_tree,
                              mls_group_info *out)
{
    const mls_suite *s = g->suite;
    mls_group_info gi;
    mls_external_pub xp;
    mls_buf sk;
    int err;

    memset(&gi, 0, sizeof(gi));
    memset(&xp, 0, sizeof(xp));
    mls_buf_init(&sk);
    if ((err = mls_group_context_copy(&gi.group_context, &e->ctx)) != 0)
        goto out;
    gi.extensions.v = calloc(2, sizeof(mls_extension));
    if (!gi.extensions.v) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    /* RFC 9420 §12.4.3.2: external_pub lets others join by external
     * commit; §12.4.3.3 ratchet_tree carries the tree. */
    gi.extensions.n = 1;
    gi.extensions.v[0].type = MLS_EXT_EXTERNAL_PUB;
    if ((err = mls_key_schedule_external_keypair(s, mls_bytes_of(e->sec.external_secret, s->nh),
                                                 &sk, &xp.external_pub)) != 0 ||
        (err = mls_external_pub_encode(&xp, &gi.extensions.v[0].data)) != 0)
        goto out;
    if (with_tree) {
        gi.extensions.n = 2;
        gi.extensions.v[1].type = MLS_EXT_RATCHET_TREE;
        if ((err = mls_rtree_encode(&e->tree, &gi.extensions.v[1].data)) != 0)
            goto out;
    }
    if ((err = mls_buf_set(&gi.confirmation_tag, e->conf_tag, s->nh)) != 0)
        goto out;
    gi.signer = e->priv.leaf;
    if ((err = mls_group_info_sign(s, g->env, &gi, mls_buf_view(&g->id->sig_sk))) != 0)
        goto out;
    *out = gi;
    memset(&gi, 0, sizeof(gi));
out:
    mls_group_info_clear(&gi);
    mls_external_pub_clear(&xp);
    mls_buf_clear(&sk);
    return err;
}

int mls_group_group_info(const mls_group *g, int with_ratchet_tree, mls_buf *out)
{
    mls_message m;
    int err;

    if (!g || !out)
        return MLS_ERR_ARG;
    memset(&m, 0, sizeof(m));
    m.version = MLS_VERSION_MLS10;
    m.wire_format = MLS_WIRE_GROUP_INFO;
    if ((err = mls_group_make_group_info(g, (mls_epoch_state *)&g->cur, with_ratchet_tree,
                                         &m.group_info)) != 0)
        return err;
    err = mls_message_wrap(&m, out);
    mls_message_clear(&m);
    return err;
}

/* ---------------------------------------------------------------- epochs */

int mls_group_sig_key_at(const mls_group *g, uint64_t epoch, uint32_t leaf, mls_bytes *out)
{
    const mls_leaf_node *ln;

    for (size_t i = 0; i < g->n_past; i++) {
        const mls_past_epoch *p = &g->past[i];
        if (p->epoch < epoch)
            continue;
        for (size_t k = 0; k < p->n_ch; k++) {
            if (p->ch_leaf[k] != leaf)
                continue;
            if (p->ch_key[k].n == 0)
                return MLS_ERR_NOT_FOUND;
            *out = mls_buf_view(&p->ch_key[k]);
            return 0;
        }
    }
    ln = mls_rtree_leaf(&g->cur.tree, leaf);
    if (!ln)
        return MLS_ERR_NOT_FOUND;
    *out = mls_buf_view(&ln->signature_key);
    return 0;
}

void mls_install_prep_clear(mls_install_prep *p)
{
    if (!p)
        return;
    mls_secret_tree_clear(&p->stree);
    past_clear(&p->past);
    free(p->past_arr);
    free(p->res_arr); /* only zeroed slots until the install fills one */
    memset(p, 0, sizeof(*p));
}

int mls_group_install_prepare(mls_group *g, mls_epoch_state *next, const uint32_t *changed,
                              size_t n_changed, mls_install_prep *prep)
{
    mls_secret_tree_config c = stree_cfg(g);
    mls_rtree *base = mls_rtree_overlay_base(&next->tree);
    mls_install_prep p;
    size_t i;
    int err;

    /* next's tree is either a tree of its own or an overlay over the
     * current tree (epoch.c), written into it by the install. */
    if (base && base != &g->cur.tree)
        return MLS_ERR_STATE;
    memset(&p, 0, sizeof(p));
    /* Growing the base's capacity does not change the tree. */
    if (base && (err = mls_rtree_overlay_reserve(&next->tree)) != 0)
        return err;
    if ((err = mls_secret_tree_init(&p.stree, g->suite,
                                    mls_bytes_of(next->sec.encryption_secret, g->suite->nh),
                                    mls_rtree_n_leaves(&next->tree), &c)) != 0)
        goto out;
    /* RFC 9420 §15.2: what is kept of the epoch that ends (its secret tree
     * is moved in at install), with the signature keys that the changed
     * leaves had in it. */
    p.past.epoch = g->cur.ctx.epoch;
    memcpy(p.past.sender_data_secret, g->cur.sec.sender_data_secret, g->suite->nh);
    p.past.ch_leaf = calloc(n_changed + 1, sizeof(uint32_t));
    p.past.ch_key = calloc(n_changed + 1, sizeof(mls_buf));
    p.past_arr = calloc(g->n_past + 1, sizeof(*p.past_arr));
    p.res_arr = calloc(g->n_res + 1, sizeof(*p.res_arr));
    if (!p.past.ch_leaf || !p.past.ch_key || !p.past_arr || !p.res_arr) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    if ((err = mls_buf_copy(&p.past.ctx_enc, &g->cur.ctx_enc)) != 0)
        goto out;
    for (i = 0; i < n_changed; i++) {
        const mls_leaf_node *ln = mls_rtree_leaf(&g->cur.tree, changed[i]);
        p.past.ch_leaf[p.past.n_ch] = changed[i];
        p.past.n_ch++;
        if (ln && (err = mls_buf_copy(&p.past.ch_key[p.past.n_ch - 1], &ln->signature_key)) != 0)
            goto out;
    }
    p.epoch = g->cur.ctx.epoch;
    p.n_past = g->n_past;
    p.n_res = g->n_res;
    *prep = p;
    memset(&p, 0, sizeof(p));
out:
    mls_install_prep_clear(&p);
    return err;
}

int mls_group_install_prepared(mls_group *g, mls_epoch_state *next, mls_install_prep *prep,
                               mls_secret_tree *stree)
{
    mls_rtree *base = mls_rtree_overlay_base(&next->tree);
    size_t i;

    if (prep->epoch != g->cur.ctx.epoch || prep->n_past != g->n_past || prep->n_res != g->n_res ||
        (base && base != &g->cur.tree))
        return MLS_ERR_STATE;
    /* Repeated on purpose: the reservation of the prepare step is still
     * there unless the tree was changed since, which the epoch check
     * rules out; then this allocates nothing and cannot fail. */
    if (base && mls_rtree_overlay_reserve(&next->tree) != 0)
        return MLS_ERR_NOMEM;
    /* From here on nothing fails. */
    if (stree) {
        mls_secret_tree_clear(&g->stree);
        g->stree = *stree;
        memset(stree, 0, sizeof(*stree));
    }
    if (g->cfg.max_past_epochs == 0) {
        for (i = 0; i < g->n_past; i++)
            past_clear(&g->past[i]);
        g->n_past = 0;
        mls_secret_tree_clear(&g->stree);
    } else {
        if (g->n_past)
            memcpy(prep->past_arr, g->past, g->n_past * sizeof(*g->past));
        free(g->past);
        g->past = prep->past_arr;
        prep->past_arr = NULL;
        prep->past.stree = g->stree;
        memset(&g->stree, 0, sizeof(g->stree));
        g->past[g->n_past++] = prep->past;
        memset(&prep->past, 0, sizeof(prep->past));
        while (g->n_past > g->cfg.max_past_epochs) {
            past_clear(&g->past[0]);
            memmove(&g->past[0], &g->past[1], (g->n_past - 1) * sizeof(*g->past));
            g->n_past--;
        }
    }
    /* RFC 9420 §8.6: keep the resumption PSK of the epoch that ends. */
    if (g->n_res)
        memcpy(prep->res_arr, g->res, g->n_res * sizeof(*g->res));
    if (g->res) {
        mls_wipe(g->res, g->n_res * sizeof(*g->res));
        free(g->res);
    }
    g->res = prep->res_arr;
    prep->res_arr = NULL;
    g->res[g->n_res].epoch = g->cur.ctx.epoch;
    memcpy(g->res[g->n_res].psk, g->cur.sec.resumption_psk, sizeof(g->res[0].psk));
    g->n_res++;
    while (g->n_res > MLS_GROUP_RESUMPTION_KEEP) {
        mls_wipe(&g->res[0], sizeof(g->res[0]));
        memmove(&g->res[0], &g->res[1], (g->n_res - 1) * sizeof(*g->res));
        g->n_res--;
    }
    mls_secret_tree_clear(&g->stree);
    g->stree = prep->stree;
    memset(&prep->stree, 0, sizeof(prep->stree));
    if (base) {
        /* The current tree becomes the new one in O(changed slots). */
        mls_rtree_overlay_apply(&next->tree);
        next->tree = g->cur.tree;
        memset(&g->cur.tree, 0, sizeof(g->cur.tree));
    }
    mls_epoch_state_clear(&g->cur);
    g->cur = *next;
    memset(next, 0, sizeof(*next));
    /* RFC 9420 §9.2: the joiner and welcome secrets are not needed once
     * the epoch has started. */
    mls_wipe(g->cur.sec.joiner_secret, sizeof(g->cur.sec.joiner_secret));
    mls_wipe(g->cur.sec.welcome_secret, sizeof(g->cur.sec.welcome_secret));
    mls_group_clear_pending_proposals(g);
    cred_cache_clear(g);
    mls_install_prep_clear(prep);
    return 0;
}

int mls_group_install_epoch(mls_group *g, mls_epoch_state *next, const uint32_t *changed,
                            size_t n_changed)
{
    mls_install_prep prep;
    int err;

    if ((err = mls_group_install_prepare(g, next, changed, n_changed, &prep)) != 0)
        return err;
    err = mls_group_install_prepared(g, next, &prep, NULL);
    mls_install_prep_clear(&prep);
    return err;
}

/* ---------------------------------------------------------------- PSKs */

int mls_group_own_resumption_psk(const mls_group *g, mls_bytes group_id, uint64_t epoch,
                                 mls_buf *out)
{
    if (group_id.n != g->cur.ctx.group_id.n ||
        !mls_ct_equal(group_id, mls_buf_view(&g->cur.ctx.group_id)))
        return MLS_ERR_NOT_FOUND;
    if (epoch == g->cur.ctx.epoch)
        return mls_buf_set(out, g->cur.sec.resumption_psk, g->suite->nh);
    for (size_t i = 0; i < g->n_res; i++)
        if (g->res[i].epoch == epoch)
            return mls_buf_set(out, g->res[i].psk, g->suite->nh);
    return MLS_ERR_NOT_FOUND;
}

int mls_group_psk_value(const mls_group *g, const mls_psk_store *store, const mls_psk_id *id,
                        mls_buf *out)
{
    const mls_psk_store *st = store ? store : &g->psks;
    int err;

    if (id->type == MLS_PSK_EXTERNAL) {
        if (!st->external && store && g->psks.external)
            st = &g->psks;
        if (!st->external)
            return MLS_ERR_NOT_FOUND;
        err = st->external(st->ctx, mls_buf_view(&id->psk_id), out);
        return err ? MLS_ERR_NOT_FOUND : 0;
    }
    if (g && mls_group_own_resumption_psk(g, mls_buf_view(&id->psk_group_id), id->psk_epoch,
                                          out) == 0)
        return 0;
    if (!st->resumption && store && g->psks.resumption)
        st = &g->psks;
    if (!st->resumption)
        return MLS_ERR_NOT_FOUND;
    err = st->resumption(st->ctx, mls_buf_view(&id->psk_group_id), id->psk_epoch, out);
    return err ? MLS_ERR_NOT_FOUND : 0;
}

int mls_group_psk_secret(const mls_group *g, const mls_psk_store *store,
                         const mls_psk_id *const *ids, size_t n, uint8_t out[MLS_MAX_HASH],
                         size_t *len)
{
    mls_psk_input *in = NULL;
    mls_buf *vals = NULL, *encs = NULL;
    size_t i;
    int err = 0;

    *len = 0;
    if (n == 0)
        return 0;
    if (n > 0xffff)
        return MLS_ERR_INVALID;
    in = calloc(n, sizeof(*in));
    vals = calloc(n, sizeof(*vals));
    encs = calloc(n, sizeof(*encs));
    if (!in || !vals || !encs) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < n; i++) {
        if ((err = mls_group_psk_value(g, store, ids[i], &vals[i])) != 0 ||
            (err = mls_psk_id_encode(ids[i], &encs[i])) != 0)
            goto out;
        in[i].id = mls_buf_view(&encs[i]);
        in[i].psk = mls_buf_view(&vals[i]);
    }
    if ((err = mls_psk_secret(g->suite, in, n, out)) != 0)
        goto out;
    *len = g->suite->nh;
out:
    if (vals)
        for (i = 0; i < n; i++)
            mls_buf_clear(&vals[i]);
    if (encs)
        for (i = 0; i < n; i++)
            mls_buf_clear(&encs[i]);
    free(vals);
    free(encs);
    free(in);
    return err;
}
