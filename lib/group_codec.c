/*
 * Serialization of the whole group state, so an application can persist
 * after every message.  Versioned, canonical (deserialize then serialize
 * gives the same bytes), strict on input like every decoder here.
 *
 *   u32 magic "MLSG", u16 format version, u16 cipher suite
 *   config: u8 handshake_private, u32 padding_block, u32 max_past_epochs,
 *           u32 max_forward, u32 max_retained, u8 ratchet_tree_in_welcome
 *   identity (lib/identity.c)
 *   GroupContext, opaque ratchet_tree<V>
 *   private keys: u32 leaf, u8 n, n x (u32 node, opaque sk<V>)
 *   epoch secrets: 9 x Nh (sender data, encryption, exporter, external,
 *           confirmation, membership, resumption, authenticator, init)
 *   interim transcript hash Nh, confirmation tag Nh
 *   secret tree (lib/secret_tree.c)
 *   u32 n pending proposals x (ref<V>, Proposal, u8 sender type,
 *           u32 sender index, own_leaf_sk<V>)
 *   u32 n past epochs x (u64 epoch, ctx<V>, Nh sender data secret,
 *           secret tree, u32 n x (u32 leaf, signature_key<V>))
 *   u32 n resumption PSKs x (u64 epoch, Nh psk)
 *   u8 active, u8 reinit_pending, and when reinit_pending the committed
 *           ReInit proposal (RFC 9420 §12.1.5), whose parameters the
 *           successor group must match (§11.2)
 */
#include "group_state.h"
#include "hpke.h"

#include <stdlib.h>
#include <string.h>

#define GROUP_MAGIC 0x4d4c5347u /* "MLSG" */

/* The epoch secrets kept in the state, in order. */
static uint8_t *secret_at(mls_epoch_secrets *s, int i)
{
    switch (i) {
    case 0: return s->sender_data_secret;
    case 1: return s->encryption_secret;
    case 2: return s->exporter_secret;
    case 3: return s->external_secret;
    case 4: return s->confirmation_key;
    case 5: return s->membership_key;
    case 6: return s->resumption_psk;
    case 7: return s->epoch_authenticator;
    default: return s->init_secret;
    }
}
#define N_SECRETS 9

int mls_group_serialize(const mls_group *g, mls_buf *out)
{
    const mls_suite *s;
    mls_epoch_secrets *sec;
    mls_buf w;
    size_t mark, i, k;
    int err;

    if (!g || !out)
        return MLS_ERR_ARG;
    s = g->suite;
    sec = (mls_epoch_secrets *)&g->cur.sec;
    mls_buf_init(&w);
#define W(expr)                                                                \
    do {                                                                       \
        if ((err = (expr)) != 0)                                               \
            goto out;                                                          \
    } while (0)
    W(mls_write_u32(&w, GROUP_MAGIC));
    W(mls_write_u16(&w, MLS_GROUP_STATE_VERSION));
    W(mls_write_u16(&w, s->id));
    W(mls_write_u8(&w, g->cfg.handshake_private ? 1 : 0));
    W(mls_write_u32(&w, g->cfg.padding_block));
    W(mls_write_u32(&w, g->cfg.max_past_epochs));
    W(mls_write_u32(&w, g->cfg.max_forward));
    W(mls_write_u32(&w, g->cfg.max_retained));
    W(mls_write_u8(&w, g->cfg.ratchet_tree_in_welcome ? 1 : 0));
    W(mls_identity_write(g->id, &w));
    W(mls_group_context_encode(&g->cur.ctx, &w));
    W(mls_write_vec_begin(&w, &mark));
    W(mls_rtree_encode(&g->cur.tree, &w));
    W(mls_write_vec_end(&w, mark));
    W(mls_write_u32(&w, g->cur.priv.leaf));
    W(mls_write_u8(&w, (uint8_t)g->cur.priv.n_keys));
    for (i = 0; i < g->cur.priv.n_keys; i++) {
        W(mls_write_u32(&w, g->cur.priv.keys[i].node));
        W(mls_write_vec(&w, g->cur.priv.keys[i].sk.p, g->cur.priv.keys[i].sk.n));
    }
    for (i = 0; i < N_SECRETS; i++)
        W(mls_write_fixed(&w, secret_at(sec, (int)i), s->nh));
    W(mls_write_fixed(&w, g->cur.interim, s->nh));
    W(mls_write_fixed(&w, g->cur.conf_tag, s->nh));
    W(mls_secret_tree_write(&g->stree, &w));
    W(mls_write_u32(&w, (uint32_t)g->n_props));
    for (i = 0; i < g->n_props; i++) {
        const mls_pending_proposal *pp = &g->props[i];
        W(mls_write_vec(&w, pp->ref.p, pp->ref.n));
        W(mls_proposal_encode(&pp->proposal, &w));
        W(mls_write_u8(&w, pp->sender.type));
        W(mls_write_u32(&w, pp->sender.index));
        W(mls_write_vec(&w, pp->own_leaf_sk.p, pp->own_leaf_sk.n));
    }
    W(mls_write_u32(&w, (uint32_t)g->n_past));
    for (i = 0; i < g->n_past; i++) {
        const mls_past_epoch *p = &g->past[i];
        W(mls_write_u64(&w, p->epoch));
        W(mls_write_vec(&w, p->ctx_enc.p, p->ctx_enc.n));
        W(mls_write_fixed(&w, p->sender_data_secret, s->nh));
        W(mls_secret_tree_write(&p->stree, &w));
        W(mls_write_u32(&w, (uint32_t)p->n_ch));
        for (k = 0; k < p->n_ch; k++) {
            W(mls_write_u32(&w, p->ch_leaf[k]));
            W(mls_write_vec(&w, p->ch_key[k].p, p->ch_key[k].n));
        }
    }
    W(mls_write_u32(&w, (uint32_t)g->n_res));
    for (i = 0; i < g->n_res; i++) {
        W(mls_write_u64(&w, g->res[i].epoch));
        W(mls_write_fixed(&w, g->res[i].psk, s->nh));
    }
    W(mls_write_u8(&w, g->active ? 1 : 0));
    W(mls_write_u8(&w, g->reinit_pending ? 1 : 0));
    if (g->reinit_pending)
        W(mls_reinit_encode(&g->reinit, &w));
#undef W
    mls_buf_clear(out);
    *out = w;
    return 0;
out:
    mls_buf_clear(&w);
    return err;
}

static int read_bool(mls_reader *r, int *v)
{
    uint8_t b;
    int err = mls_read_u8(r, &b);
    if (err)
        return err;
    if (b > 1)
        return MLS_ERR_MALFORMED;
    *v = b;
    return 0;
}

/* Fixed-size secret of Nh bytes. */
static int read_nh(mls_reader *r, const mls_suite *s, uint8_t *out)
{
    mls_bytes b;
    int err = mls_read_fixed(r, s->nh, &b);
    if (!err)
        memcpy(out, b.p, s->nh);
    return err;
}

/* A count of items of at least min_size bytes each, bounded by the input
 * left so that no allocation follows a forged count. */
static int read_count(mls_reader *r, size_t min_size, uint32_t *n)
{
    int err = mls_read_u32(r, n);
    if (!err && (size_t)*n > mls_reader_left(r) / min_size)
        return MLS_ERR_MALFORMED;
    return err;
}

/* The number of leaves of a tree holding leaf index x: the smallest power
 * of two above x. */
static uint64_t leaves_holding(uint32_t x)
{
    uint64_t n = 1;
    while (n <= x)
        n *= 2;
    return n;
}

/*
 * Bounds on the leaf counts of the n past epochs' secret trees, from a
 * first pass over the records at r (a copy: the caller reads them again).
 * A secret tree has its epoch's ratchet tree leaf count, and a ratchet tree
 * only shrinks by truncation when a commit removes the members of its right
 * half (RFC 9420 §12.1.3), whose leaves that epoch's record then lists as
 * changed.  So an epoch had at most as many leaves as the next one or as a
 * tree holding its largest changed leaf; the epoch after the newest record
 * is the current one, with cur_leaves.  Without this bound a record of a
 * few bytes could make the reader allocate for 2^31 leaves.
 */
static int past_leaf_bounds(mls_reader r, const mls_suite *s, uint32_t n, uint32_t cur_leaves,
                            uint32_t *max_leaves)
{
    uint64_t bound = cur_leaves;
    uint32_t i, k, nch, leaf, tree_leaves;
    uint64_t epoch;
    mls_reader sub;
    mls_bytes b;
    int err;

    for (i = 0; i < n; i++) {
        uint64_t held = 0;
        if ((err = mls_read_u64(&r, &epoch)) || (err = mls_read_vec(&r, &sub)) ||
            (err = mls_read_fixed(&r, s->nh, &b)) ||
            (err = mls_secret_tree_skip(&r, s, &tree_leaves)) || (err = mls_read_u32(&r, &nch)))
            return err;
        for (k = 0; k < nch; k++) {
            if ((err = mls_read_u32(&r, &leaf)) || (err = mls_read_vec(&r, &sub)))
                return err;
            if (leaves_holding(leaf) > held)
                held = leaves_holding(leaf);
        }
        max_leaves[i] = held > UINT32_MAX ? UINT32_MAX : (uint32_t)held;
    }
    /* Newest to oldest: each epoch's bound includes the later ones'. */
    for (i = n; i-- > 0;) {
        if (max_leaves[i] > bound)
            bound = max_leaves[i];
        max_leaves[i] = (uint32_t)bound;
    }
    return 0;
}

int mls_group_deserialize(const mls_env *env, mls_bytes in, mls_group **out)
{
    const mls_suite *s;
    mls_identity *id = NULL;
    mls_group *g = NULL;
    mls_group_config cfg;
    mls_reader r, sub;
    uint32_t magic, n, i, k;
    uint16_t ver, suite;
    uint32_t *max_leaves = NULL;
    uint8_t nk;
    int err;

    if (!env || !out)
        return MLS_ERR_ARG;
    mls_reader_init_bytes(&r, in);
    memset(&cfg, 0, sizeof(cfg));
#define R(expr)                                                                \
    do {                                                                       \
        if ((err = (expr)) != 0)                                               \
            goto out;                                                          \
    } while (0)
#define BAD(cond)                                                              \
    do {                                                                       \
        if (cond) {                                                            \
            err = MLS_ERR_MALFORMED;                                           \
            goto out;                                                          \
        }                                                                      \
    } while (0)
    R(mls_read_u32(&r, &magic));
    BAD(magic != GROUP_MAGIC);
    R(mls_read_u16(&r, &ver));
    if (ver != MLS_GROUP_STATE_VERSION)
        return MLS_ERR_UNSUPPORTED;
    R(mls_read_u16(&r, &suite));
    s = mls_suite_get(suite);
    if (!s)
        return MLS_ERR_UNSUPPORTED;
    R(read_bool(&r, &cfg.handshake_private));
    R(mls_read_u32(&r, &cfg.padding_block));
    R(mls_read_u32(&r, &cfg.max_past_epochs));
    R(mls_read_u32(&r, &cfg.max_forward));
    R(mls_read_u32(&r, &cfg.max_retained));
    R(read_bool(&r, &cfg.ratchet_tree_in_welcome));
    R(mls_identity_read(&r, &id));
    BAD(id->suite != s);
    R(mls_group_alloc(env, id, &cfg, &g));
    R(mls_group_context_decode(&r, &g->cur.ctx));
    BAD(g->cur.ctx.cipher_suite != s->id);
    R(mls_epoch_encode_ctx(&g->cur));
    mls_rtree_clear(&g->cur.tree);
    R(mls_read_vec(&r, &sub));
    R(mls_rtree_import_bytes(&g->cur.tree, s,
                             mls_bytes_of(sub.p + sub.off, mls_reader_left(&sub))));
    /* The tree hash cache is filled here, with the O(n) decoding, and not
     * by the first commit processed after loading; the tree must be the
     * one the GroupContext names (RFC 9420 §8.1 tree_hash). */
    {
        uint8_t th[MLS_MAX_HASH];
        R(mls_rtree_root_hash(&g->cur.tree, th));
        BAD(g->cur.ctx.tree_hash.n != s->nh || memcmp(th, g->cur.ctx.tree_hash.p, s->nh) != 0);
    }
    R(mls_read_u32(&r, &g->cur.priv.leaf));
    BAD(!mls_rtree_leaf(&g->cur.tree, g->cur.priv.leaf));
    g->cur.priv.suite = s;
    R(mls_read_u8(&r, &nk));
    BAD(nk > MLS_TREE_MAX_DEPTH + 1);
    for (i = 0; i < nk; i++) {
        mls_treekem_key *key = &g->cur.priv.keys[i];
        R(mls_read_u32(&r, &key->node));
        R(mls_read_vec_buf(&r, &key->sk));
        g->cur.priv.n_keys = i + 1;
        R(mls_hpke_public_from_private(s, mls_buf_view(&key->sk), &key->pk));
    }
    g->cur.sec.suite = s;
    for (i = 0; i < N_SECRETS; i++)
        R(read_nh(&r, s, secret_at(&g->cur.sec, (int)i)));
    R(read_nh(&r, s, g->cur.interim));
    R(read_nh(&r, s, g->cur.conf_tag));
    /* The current epoch's secret tree has the ratchet tree's leaf count. */
    R(mls_secret_tree_read(&r, s, mls_rtree_n_leaves(&g->cur.tree), &g->stree));
    R(read_count(&r, 8, &n));
    g->props = calloc(n + 1, sizeof(*g->props));
    if (!g->props) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < n; i++) {
        mls_pending_proposal *pp = &g->props[i];
        g->n_props = i + 1;
        R(mls_read_vec_buf(&r, &pp->ref));
        R(mls_proposal_decode(&r, &pp->proposal));
        R(mls_read_u8(&r, &pp->sender.type));
        R(mls_read_u32(&r, &pp->sender.index));
        R(mls_read_vec_buf(&r, &pp->own_leaf_sk));
    }
    R(read_count(&r, 8 + 1 + s->nh, &n));
    g->past = calloc(n + 1, sizeof(*g->past));
    max_leaves = calloc(n + 1, sizeof(*max_leaves));
    if (!g->past || !max_leaves) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    R(past_leaf_bounds(r, s, n, mls_rtree_n_leaves(&g->cur.tree), max_leaves));
    for (i = 0; i < n; i++) {
        mls_past_epoch *p = &g->past[i];
        uint32_t nch;
        g->n_past = i + 1;
        R(mls_read_u64(&r, &p->epoch));
        R(mls_read_vec_buf(&r, &p->ctx_enc));
        R(read_nh(&r, s, p->sender_data_secret));
        R(mls_secret_tree_read(&r, s, max_leaves[i], &p->stree));
        R(read_count(&r, 5, &nch));
        p->ch_leaf = calloc(nch + 1, sizeof(uint32_t));
        p->ch_key = calloc(nch + 1, sizeof(mls_buf));
        if (!p->ch_leaf || !p->ch_key) {
            err = MLS_ERR_NOMEM;
            goto out;
        }
        for (k = 0; k < nch; k++) {
            p->n_ch = k + 1;
            R(mls_read_u32(&r, &p->ch_leaf[k]));
            R(mls_read_vec_buf(&r, &p->ch_key[k]));
        }
    }
    R(read_count(&r, 8 + s->nh, &n));
    g->res = calloc(n + 1, sizeof(*g->res));
    if (!g->res) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < n; i++) {
        R(mls_read_u64(&r, &g->res[i].epoch));
        R(read_nh(&r, s, g->res[i].psk));
        g->n_res = i + 1;
    }
    R(read_bool(&r, &g->active));
    R(read_bool(&r, &g->reinit_pending));
    if (g->reinit_pending)
        R(mls_reinit_decode(&r, &g->reinit));
    R(mls_reader_done(&r));
#undef R
#undef BAD
    *out = g;
    g = NULL;
out:
    free(max_leaves);
    mls_identity_free(id);
    mls_group_free(g);
    if (err == MLS_ERR_TRAILING || err == MLS_ERR_ARG)
        err = MLS_ERR_MALFORMED;
    return err;
}
