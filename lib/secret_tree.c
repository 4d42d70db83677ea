/* RFC 9420 §9: secret tree, sender ratchets and their deletion schedule. */
#include "secret_tree.h"

#include "crypto.h"
#include "tree_math.h"

#include <stdlib.h>
#include <string.h>

/* A key and nonce of a generation skipped over, kept for a late message. */
struct mls_st_key {
    uint32_t generation;
    uint8_t key[MLS_MAX_AEAD_KEY];
    uint8_t nonce[MLS_MAX_AEAD_NONCE];
};

struct mls_st_ratchet {
    /* ratchet_secret_[N]_[next]; `next` is 2^32 once every generation has
     * been derived (then secret is wiped). */
    uint8_t secret[MLS_MAX_HASH];
    uint64_t next;
    /* Skipped generations, in increasing order, at most cfg.max_retained. */
    struct mls_st_key *kept;
    size_t n_kept;
};

struct mls_st_leaf {
    struct mls_st_ratchet r[2];
};

#define GENERATIONS ((uint64_t)1 << 32)

static void free_node(mls_secret_tree *t, uint32_t x)
{
    if (t->nodes[x]) {
        mls_wipe(t->nodes[x], t->suite->nh);
        free(t->nodes[x]);
        t->nodes[x] = NULL;
        t->n_held--;
    }
}

static void ratchet_clear(struct mls_st_ratchet *r)
{
    mls_wipe(r->secret, sizeof(r->secret));
    if (r->kept) {
        mls_wipe(r->kept, r->n_kept * sizeof(*r->kept));
        free(r->kept);
    }
    r->kept = NULL;
    r->n_kept = 0;
}

void mls_secret_tree_clear(mls_secret_tree *t)
{
    if (!t)
        return;
    if (t->nodes) {
        uint32_t w = mls_tm_node_width(t->n_leaves);
        for (uint32_t x = 0; x < w; x++)
            free_node(t, x);
        free(t->nodes);
    }
    if (t->leaves) {
        for (uint32_t i = 0; i < t->n_leaves; i++) {
            if (t->leaves[i]) {
                ratchet_clear(&t->leaves[i]->r[0]);
                ratchet_clear(&t->leaves[i]->r[1]);
                free(t->leaves[i]);
            }
        }
        free(t->leaves);
    }
    memset(t, 0, sizeof(*t));
}

int mls_secret_tree_init(mls_secret_tree *t, const mls_suite *s, mls_bytes encryption_secret,
                         uint32_t n_leaves, const mls_secret_tree_config *cfg)
{
    mls_secret_tree nt;
    int err = MLS_OK;

    if (!s || encryption_secret.n != s->nh || !mls_tm_valid_leaves(n_leaves) ||
        (cfg && cfg->max_retained > MLS_SECRET_TREE_MAX_RETAINED_LIMIT))
        return MLS_ERR_ARG;
    memset(&nt, 0, sizeof(nt));
    nt.suite = s;
    nt.n_leaves = n_leaves;
    if (cfg) {
        nt.cfg = *cfg;
    } else {
        nt.cfg.max_forward = MLS_SECRET_TREE_DEFAULT_MAX_FORWARD;
        nt.cfg.max_retained = MLS_SECRET_TREE_DEFAULT_MAX_RETAINED;
    }
    /* Slots only: no secret below the root is derived until needed. */
    nt.nodes = calloc(mls_tm_node_width(n_leaves), sizeof(*nt.nodes));
    nt.leaves = calloc(n_leaves, sizeof(*nt.leaves));
    uint32_t root = mls_tm_root(n_leaves);
    if (nt.nodes)
        nt.nodes[root] = malloc(s->nh);
    if (!nt.nodes || !nt.leaves || !nt.nodes[root]) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    memcpy(nt.nodes[root], encryption_secret.p, s->nh);
    nt.n_held = 1;
    *t = nt;
    return MLS_OK;
out:
    mls_secret_tree_clear(&nt);
    return err;
}

size_t mls_secret_tree_held_nodes(const mls_secret_tree *t)
{
    return t->n_held;
}

/*
 * RFC 9420 §9: the children of a held node x get
 * ExpandWithLabel(secret, "tree", "left"/"right", Nh); x is then deleted
 * (§9.2: it is consumed once anything derived from it is).
 */
static int split_node(mls_secret_tree *t, uint32_t x)
{
    const mls_suite *s = t->suite;
    uint32_t l, r;
    uint8_t *ls = NULL, *rs = NULL;
    int err;

    if ((err = mls_tm_left(t->n_leaves, x, &l)) || (err = mls_tm_right(t->n_leaves, x, &r)))
        return err;
    ls = malloc(s->nh);
    rs = malloc(s->nh);
    if (!ls || !rs) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    mls_bytes sec = mls_bytes_of(t->nodes[x], s->nh);
    err = mls_expand_with_label(s, sec, "tree", mls_bytes_of((const uint8_t *)"left", 4), ls,
                                s->nh);
    if (!err)
        err = mls_expand_with_label(s, sec, "tree", mls_bytes_of((const uint8_t *)"right", 5),
                                    rs, s->nh);
    if (err)
        goto out;
    t->nodes[l] = ls;
    t->nodes[r] = rs;
    t->n_held += 2;
    ls = rs = NULL;
    free_node(t, x);
out:
    if (ls) {
        mls_wipe(ls, s->nh);
        free(ls);
    }
    if (rs) {
        mls_wipe(rs, s->nh);
        free(rs);
    }
    return err;
}

/* The ratchet state of a leaf, deriving the path down to it on first use. */
static int get_leaf(mls_secret_tree *t, uint32_t leaf, struct mls_st_leaf **out)
{
    const mls_suite *s = t->suite;
    uint32_t path[MLS_TREE_MAX_DEPTH + 1];
    size_t depth = 0;
    uint32_t node, x;
    struct mls_st_leaf *st = NULL;
    int err;

    if (leaf >= t->n_leaves)
        return MLS_ERR_NOT_FOUND;
    if (t->leaves[leaf]) {
        *out = t->leaves[leaf];
        return MLS_OK;
    }
    node = 2u * leaf;
    /* Climb to the nearest held ancestor.  Invariant: a node not held has
     * either a held ancestor or (for a leaf) its ratchets, so we stop at the
     * root at the latest. */
    x = node;
    while (!t->nodes[x]) {
        path[depth++] = x;
        if ((err = mls_tm_parent(t->n_leaves, x, &x)))
            return err == MLS_ERR_NOT_FOUND ? MLS_ERR_STATE : err;
    }
    /* Split down towards the leaf; each split keeps the sibling (copath)
     * secret for the other leaves below it. */
    while (depth > 0) {
        if ((err = split_node(t, x)))
            return err;
        x = path[--depth];
    }
    st = calloc(1, sizeof(*st));
    if (!st)
        return MLS_ERR_NOMEM;
    /* RFC 9420 §9: handshake_ratchet_secret_[N]_[0] and
     * application_ratchet_secret_[N]_[0]. */
    mls_bytes sec = mls_bytes_of(t->nodes[node], s->nh);
    err = mls_expand_with_label(s, sec, "handshake", mls_bytes_of(NULL, 0),
                                st->r[MLS_RATCHET_HANDSHAKE].secret, s->nh);
    if (!err)
        err = mls_expand_with_label(s, sec, "application", mls_bytes_of(NULL, 0),
                                    st->r[MLS_RATCHET_APPLICATION].secret, s->nh);
    if (err) {
        mls_wipe(st, sizeof(*st));
        free(st);
        return err;
    }
    t->leaves[leaf] = st;
    free_node(t, node);
    *out = st;
    return MLS_OK;
}

/* RFC 9420 §9.1: key and nonce of generation r->next. */
static int derive_key_nonce(const mls_suite *s, const struct mls_st_ratchet *r, uint8_t *key,
                            uint8_t *nonce)
{
    mls_bytes sec = mls_bytes_of(r->secret, s->nh);
    uint32_t g = (uint32_t)r->next;
    int err = mls_derive_tree_secret(s, sec, "nonce", g, nonce, s->nn);
    if (!err)
        err = mls_derive_tree_secret(s, sec, "key", g, key, s->nk);
    return err;
}

/* ratchet_secret_[N]_[j+1] = DeriveTreeSecret(secret_j, "secret", j, Nh);
 * the old secret is overwritten at once. */
static int advance(const mls_suite *s, struct mls_st_ratchet *r)
{
    uint8_t next[MLS_MAX_HASH];
    int err = mls_derive_tree_secret(s, mls_bytes_of(r->secret, s->nh), "secret",
                                     (uint32_t)r->next, next, s->nh);
    if (!err) {
        r->next++;
        if (r->next == GENERATIONS)
            mls_wipe(r->secret, sizeof(r->secret));
        else
            memcpy(r->secret, next, s->nh);
    }
    mls_wipe(next, sizeof(next));
    return err;
}

/* Keeps the key of a skipped generation, dropping the oldest beyond the
 * limit.  The array has room for max_retained entries. */
static void keep_key(struct mls_st_ratchet *r, uint32_t max_retained, const struct mls_st_key *k)
{
    if (r->n_kept == max_retained) {
        mls_wipe(&r->kept[0], sizeof(r->kept[0]));
        memmove(&r->kept[0], &r->kept[1], (r->n_kept - 1) * sizeof(r->kept[0]));
        r->n_kept--;
    }
    r->kept[r->n_kept++] = *k;
}

/* Takes the kept key of generation g out of the ratchet, if it is there. */
static int take_kept(const mls_suite *s, struct mls_st_ratchet *r, uint32_t g, uint8_t *key,
                     uint8_t *nonce)
{
    size_t lo = 0, hi = r->n_kept;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->kept[mid].generation < g) {
            lo = mid + 1;
        } else if (r->kept[mid].generation > g) {
            hi = mid;
        } else {
            memcpy(key, r->kept[mid].key, s->nk);
            memcpy(nonce, r->kept[mid].nonce, s->nn);
            mls_wipe(&r->kept[mid], sizeof(r->kept[mid]));
            memmove(&r->kept[mid], &r->kept[mid + 1], (r->n_kept - mid - 1) * sizeof(r->kept[0]));
            r->n_kept--;
            /* The vacated last slot still holds a copy of the moved entry. */
            mls_wipe(&r->kept[r->n_kept], sizeof(r->kept[0]));
            return MLS_OK;
        }
    }
    return MLS_ERR_KEY_USED;
}

static int check_args(const mls_secret_tree *t, enum mls_ratchet_type type)
{
    if (!t || !t->nodes || (type != MLS_RATCHET_HANDSHAKE && type != MLS_RATCHET_APPLICATION))
        return MLS_ERR_ARG;
    return MLS_OK;
}

int mls_secret_tree_get(mls_secret_tree *t, uint32_t leaf, enum mls_ratchet_type type,
                        uint32_t generation, uint8_t key_out[MLS_MAX_AEAD_KEY],
                        uint8_t nonce_out[MLS_MAX_AEAD_NONCE])
{
    struct mls_st_leaf *st;
    struct mls_st_ratchet *r;
    struct mls_st_key k;
    int err;

    if ((err = check_args(t, type)) || (err = get_leaf(t, leaf, &st)))
        return err;
    const mls_suite *s = t->suite;
    r = &st->r[type];
    if (generation < r->next)
        return take_kept(s, r, generation, key_out, nonce_out);
    if (generation - r->next > t->cfg.max_forward)
        return MLS_ERR_INVALID;

    /* Room for the skipped keys we will keep, before changing anything. */
    if (t->cfg.max_retained && generation > r->next && !r->kept) {
        r->kept = calloc(t->cfg.max_retained, sizeof(*r->kept));
        if (!r->kept)
            return MLS_ERR_NOMEM;
    }
    memset(&k, 0, sizeof(k));
    /* RFC 9420 §9.2: the ratchet secrets of the skipped generations are
     * consumed; only the keys and nonces of the last max_retained of them
     * are kept for out-of-order messages. */
    while (r->next < generation) {
        if (generation - r->next <= t->cfg.max_retained) {
            k.generation = (uint32_t)r->next;
            if ((err = derive_key_nonce(s, r, k.key, k.nonce)))
                goto out;
            keep_key(r, t->cfg.max_retained, &k);
        }
        if ((err = advance(s, r)))
            goto out;
    }
    if ((err = derive_key_nonce(s, r, k.key, k.nonce)) || (err = advance(s, r)))
        goto out;
    memcpy(key_out, k.key, s->nk);
    memcpy(nonce_out, k.nonce, s->nn);
out:
    mls_wipe(&k, sizeof(k));
    return err;
}

int mls_secret_tree_next(mls_secret_tree *t, uint32_t leaf, enum mls_ratchet_type type,
                         uint32_t *generation, uint8_t key_out[MLS_MAX_AEAD_KEY],
                         uint8_t nonce_out[MLS_MAX_AEAD_NONCE])
{
    struct mls_st_leaf *st;
    struct mls_st_ratchet *r;
    uint8_t key[MLS_MAX_AEAD_KEY], nonce[MLS_MAX_AEAD_NONCE];
    uint32_t g;
    int err;

    if ((err = check_args(t, type)) || (err = get_leaf(t, leaf, &st)))
        return err;
    const mls_suite *s = t->suite;
    r = &st->r[type];
    if (r->next >= GENERATIONS)
        return MLS_ERR_STATE;
    g = (uint32_t)r->next;
    if ((err = derive_key_nonce(s, r, key, nonce)) || (err = advance(s, r)))
        goto out;
    memcpy(key_out, key, s->nk);
    memcpy(nonce_out, nonce, s->nn);
    *generation = g;
out:
    mls_wipe(key, sizeof(key));
    mls_wipe(nonce, sizeof(nonce));
    return err;
}

/*
 * The first secret of ratchet `type` of a leaf that has no ratchet state
 * yet, derived from its nearest held ancestor (RFC 9420 §9: "tree"
 * "left"/"right" down the path, then "handshake"/"application") without
 * storing or deleting anything.
 */
static int peek_leaf_ratchet(const mls_secret_tree *t, uint32_t leaf,
                             enum mls_ratchet_type type, uint8_t out[MLS_MAX_HASH])
{
    const mls_suite *s = t->suite;
    uint32_t path[MLS_TREE_MAX_DEPTH + 1];
    uint8_t sec[MLS_MAX_HASH], child[MLS_MAX_HASH];
    size_t depth = 0;
    uint32_t x = 2u * leaf;
    int err = MLS_OK;

    while (!t->nodes[x]) {
        path[depth++] = x;
        if ((err = mls_tm_parent(t->n_leaves, x, &x)))
            return err == MLS_ERR_NOT_FOUND ? MLS_ERR_STATE : err;
    }
    memcpy(sec, t->nodes[x], s->nh);
    while (depth > 0) {
        uint32_t c = path[--depth];
        /* In the array layout a left child has the smaller index. */
        mls_bytes side = c < x ? mls_bytes_of((const uint8_t *)"left", 4)
                               : mls_bytes_of((const uint8_t *)"right", 5);
        if ((err = mls_expand_with_label(s, mls_bytes_of(sec, s->nh), "tree", side, child,
                                         s->nh)))
            goto out;
        memcpy(sec, child, s->nh);
        x = c;
    }
    err = mls_expand_with_label(s, mls_bytes_of(sec, s->nh),
                                type == MLS_RATCHET_HANDSHAKE ? "handshake" : "application",
                                mls_bytes_of(NULL, 0), out, s->nh);
out:
    mls_wipe(sec, sizeof(sec));
    mls_wipe(child, sizeof(child));
    return err;
}

int mls_secret_tree_peek(mls_secret_tree *t, uint32_t leaf, enum mls_ratchet_type type,
                         uint32_t generation, uint8_t key_out[MLS_MAX_AEAD_KEY],
                         uint8_t nonce_out[MLS_MAX_AEAD_NONCE])
{
    struct mls_st_leaf *st;
    struct mls_st_ratchet r;
    struct mls_st_key k;
    int err;

    if ((err = check_args(t, type)))
        return err;
    const mls_suite *s = t->suite;
    const struct mls_st_ratchet *cur;
    struct mls_st_ratchet fresh;
    memset(&fresh, 0, sizeof(fresh));
    if (leaf < t->n_leaves && !t->leaves[leaf]) {
        /* A sender we have not heard from in this epoch: derive its
         * ratchet's first secret into fresh rather than through get_leaf,
         * which would store it and change the tree before the message
         * is authentic (a failed receive must leave the group as it
         * was, include/mls/group.h). */
        if ((err = peek_leaf_ratchet(t, leaf, type, fresh.secret)))
            return err;
        cur = &fresh;
    } else {
        if ((err = get_leaf(t, leaf, &st)))
            return err;
        cur = &st->r[type];
    }
    if (generation < cur->next) {
        for (size_t i = 0; i < cur->n_kept; i++) {
            if (cur->kept[i].generation == generation) {
                memcpy(key_out, cur->kept[i].key, s->nk);
                memcpy(nonce_out, cur->kept[i].nonce, s->nn);
                return MLS_OK;
            }
        }
        return MLS_ERR_KEY_USED;
    }
    if (generation - cur->next > t->cfg.max_forward)
        return MLS_ERR_INVALID;
    /* Ratchet a private copy of the secret forward; the tree's ratchet is
     * not touched. */
    memset(&r, 0, sizeof(r));
    memset(&k, 0, sizeof(k));
    memcpy(r.secret, cur->secret, s->nh);
    r.next = cur->next;
    while (r.next < generation)
        if ((err = advance(s, &r)))
            goto out;
    if ((err = derive_key_nonce(s, &r, k.key, k.nonce)))
        goto out;
    memcpy(key_out, k.key, s->nk);
    memcpy(nonce_out, k.nonce, s->nn);
out:
    mls_wipe(&r, sizeof(r));
    mls_wipe(&k, sizeof(k));
    mls_wipe(&fresh, sizeof(fresh));
    return err;
}

/* ---------------------------------------------------------------- state */

/* Serialized form (group state persistence):
 *   u32 n_leaves, u32 max_forward, u32 max_retained,
 *   u32 n_held, n_held x (u32 node, Nh secret),
 *   u32 n_leaf_states, each (u32 leaf, 2 x ratchet),
 *   ratchet = u64 next, Nh secret, u32 n_kept, n_kept x (u32 gen, Nk key, Nn nonce). */
int mls_secret_tree_write(const mls_secret_tree *t, mls_buf *w)
{
    const mls_suite *s = t->suite;
    uint32_t width = mls_tm_node_width(t->n_leaves), x, n_leaf = 0;
    int err;

    if ((err = mls_write_u32(w, t->n_leaves)) || (err = mls_write_u32(w, t->cfg.max_forward)) ||
        (err = mls_write_u32(w, t->cfg.max_retained)) ||
        (err = mls_write_u32(w, (uint32_t)t->n_held)))
        return err;
    for (x = 0; x < width; x++) {
        if (!t->nodes[x])
            continue;
        if ((err = mls_write_u32(w, x)) || (err = mls_write_fixed(w, t->nodes[x], s->nh)))
            return err;
    }
    for (x = 0; x < t->n_leaves; x++)
        n_leaf += t->leaves[x] != NULL;
    if ((err = mls_write_u32(w, n_leaf)))
        return err;
    for (x = 0; x < t->n_leaves; x++) {
        if (!t->leaves[x])
            continue;
        if ((err = mls_write_u32(w, x)))
            return err;
        for (int k = 0; k < 2; k++) {
            const struct mls_st_ratchet *r = &t->leaves[x]->r[k];
            if ((err = mls_write_u64(w, r->next)) || (err = mls_write_fixed(w, r->secret, s->nh)) ||
                (err = mls_write_u32(w, (uint32_t)r->n_kept)))
                return err;
            for (size_t i = 0; i < r->n_kept; i++)
                if ((err = mls_write_u32(w, r->kept[i].generation)) ||
                    (err = mls_write_fixed(w, r->kept[i].key, s->nk)) ||
                    (err = mls_write_fixed(w, r->kept[i].nonce, s->nn)))
                    return err;
        }
    }
    return 0;
}

static int read_ratchet(mls_reader *r, const mls_suite *s, uint32_t max_retained,
                        struct mls_st_ratchet *rt)
{
    mls_bytes b;
    uint32_t n_kept, prev = 0;
    int err;

    if ((err = mls_read_u64(r, &rt->next)) || (err = mls_read_fixed(r, s->nh, &b)) ||
        (err = mls_read_u32(r, &n_kept)))
        return err;
    if (rt->next > GENERATIONS || n_kept > max_retained)
        return MLS_ERR_MALFORMED;
    memcpy(rt->secret, b.p, s->nh);
    if (max_retained && n_kept) {
        rt->kept = calloc(max_retained, sizeof(*rt->kept));
        if (!rt->kept)
            return MLS_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < n_kept; i++) {
        struct mls_st_key *k = &rt->kept[i];
        if ((err = mls_read_u32(r, &k->generation)))
            return err;
        if ((i && k->generation <= prev) || k->generation >= rt->next)
            return MLS_ERR_MALFORMED;
        prev = k->generation;
        if ((err = mls_read_fixed(r, s->nk, &b)))
            return err;
        memcpy(k->key, b.p, s->nk);
        if ((err = mls_read_fixed(r, s->nn, &b)))
            return err;
        memcpy(k->nonce, b.p, s->nn);
        rt->n_kept++;
    }
    return 0;
}

int mls_secret_tree_skip(mls_reader *r, const mls_suite *s, uint32_t *n_leaves)
{
    uint32_t n, n_held, n_leaf, n_kept, x;
    uint64_t next;
    mls_bytes b;
    int err;

    if ((err = mls_read_u32(r, &n)) || (err = mls_read_u32(r, &x)) ||
        (err = mls_read_u32(r, &x)) || (err = mls_read_u32(r, &n_held)))
        return err;
    for (uint32_t i = 0; i < n_held; i++)
        if ((err = mls_read_u32(r, &x)) || (err = mls_read_fixed(r, s->nh, &b)))
            return err;
    if ((err = mls_read_u32(r, &n_leaf)))
        return err;
    for (uint32_t i = 0; i < n_leaf; i++) {
        if ((err = mls_read_u32(r, &x)))
            return err;
        for (int k = 0; k < 2; k++) {
            if ((err = mls_read_u64(r, &next)) || (err = mls_read_fixed(r, s->nh, &b)) ||
                (err = mls_read_u32(r, &n_kept)))
                return err;
            for (uint32_t j = 0; j < n_kept; j++)
                if ((err = mls_read_u32(r, &x)) || (err = mls_read_fixed(r, s->nk, &b)) ||
                    (err = mls_read_fixed(r, s->nn, &b)))
                    return err;
        }
    }
    *n_leaves = n;
    return 0;
}

int mls_secret_tree_read(mls_reader *r, const mls_suite *s, uint32_t max_leaves,
                         mls_secret_tree *t)
{
    mls_secret_tree nt;
    uint32_t n_held, n_leaf, width, x, prev;
    mls_bytes b;
    int err;

    memset(&nt, 0, sizeof(nt));
    nt.suite = s;
    if ((err = mls_read_u32(r, &nt.n_leaves)) || (err = mls_read_u32(r, &nt.cfg.max_forward)) ||
        (err = mls_read_u32(r, &nt.cfg.max_retained)) || (err = mls_read_u32(r, &n_held)))
        return err;
    if (!mls_tm_valid_leaves(nt.n_leaves) || nt.n_leaves > max_leaves ||
        nt.cfg.max_retained > MLS_SECRET_TREE_MAX_RETAINED_LIMIT)
        return MLS_ERR_MALFORMED;
    width = mls_tm_node_width(nt.n_leaves);
    /* Each held node takes 4 + Nh bytes: refuse counts the input cannot
     * hold before allocating. */
    if (n_held > width || (size_t)n_held * (4 + s->nh) > mls_reader_left(r))
        return MLS_ERR_MALFORMED;
    nt.nodes = calloc(width, sizeof(*nt.nodes));
    nt.leaves = calloc(nt.n_leaves, sizeof(*nt.leaves));
    if (!nt.nodes || !nt.leaves) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < n_held; i++) {
        if ((err = mls_read_u32(r, &x)))
            goto out;
        if (x >= width || nt.nodes[x] || (err = mls_read_fixed(r, s->nh, &b))) {
            err = err ? err : MLS_ERR_MALFORMED;
            goto out;
        }
        if (!(nt.nodes[x] = malloc(s->nh))) {
            err = MLS_ERR_NOMEM;
            goto out;
        }
        memcpy(nt.nodes[x], b.p, s->nh);
        nt.n_held++;
    }
    if ((err = mls_read_u32(r, &n_leaf)))
        goto out;
    if (n_leaf > nt.n_leaves) {
        err = MLS_ERR_MALFORMED;
        goto out;
    }
    prev = 0;
    for (uint32_t i = 0; i < n_leaf; i++) {
        if ((err = mls_read_u32(r, &x)))
            goto out;
        if (x >= nt.n_leaves || (i && x <= prev)) {
            err = MLS_ERR_MALFORMED;
            goto out;
        }
        prev = x;
        if (!(nt.leaves[x] = calloc(1, sizeof(*nt.leaves[x])))) {
            err = MLS_ERR_NOMEM;
            goto out;
        }
        for (int k = 0; k < 2; k++)
            if ((err = read_ratchet(r, s, nt.cfg.max_retained, &nt.leaves[x]->r[k])))
                goto out;
    }
    *t = nt;
    return 0;
out:
    mls_secret_tree_clear(&nt);
    return err;
}
