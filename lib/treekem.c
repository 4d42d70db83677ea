/*
 * TreeKEM (RFC 9420 §7.4-§7.6, §12.4.1, §12.4.2): see treekem.h for the
 * two-phase flow.
 */
#include "treekem.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "executor.h"

/* 1 if leaf index `leaf` lies under node x (x is the leaf or an
 * ancestor). */
static int covers(uint32_t x, uint32_t leaf)
{
    uint32_t half = (1u << mls_tm_level(x)) - 1u;
    uint64_t lo = (x - half) / 2, hi = ((uint64_t)x + half) / 2;
    return leaf >= lo && leaf <= hi;
}

/* ================================================================ private state */

static void key_clear(mls_treekem_key *k)
{
    mls_buf_clear(&k->sk);
    mls_buf_clear(&k->pk);
    k->node = 0;
}

void mls_treekem_priv_clear(mls_treekem_priv *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_keys; i++)
        key_clear(&p->keys[i]);
    memset(p, 0, sizeof(*p));
}

int mls_treekem_priv_copy(mls_treekem_priv *dst, const mls_treekem_priv *src)
{
    mls_treekem_priv p;
    int err = MLS_OK;

    memset(&p, 0, sizeof(p));
    p.suite = src->suite;
    p.leaf = src->leaf;
    for (size_t i = 0; i < src->n_keys; i++) {
        p.keys[i].node = src->keys[i].node;
        p.n_keys = i + 1;
        err = mls_buf_copy(&p.keys[i].sk, &src->keys[i].sk);
        if (!err)
            err = mls_buf_copy(&p.keys[i].pk, &src->keys[i].pk);
        if (err) {
            mls_treekem_priv_clear(&p);
            return err;
        }
    }
    *dst = p;
    return MLS_OK;
}

static mls_treekem_key *slot_for(mls_treekem_priv *p, uint32_t node)
{
    for (size_t i = 0; i < p->n_keys; i++)
        if (p->keys[i].node == node)
            return &p->keys[i];
    if (p->n_keys == MLS_TREE_MAX_DEPTH + 1)
        return NULL;
    mls_treekem_key *k = &p->keys[p->n_keys++];
    memset(k, 0, sizeof(*k));
    k->node = node;
    return k;
}

/* Stores sk/pk for node (an ancestor of, or, the member's leaf), moving
 * the buffers in. */
static int put_key(mls_treekem_priv *p, uint32_t node, mls_buf *sk, mls_buf *pk)
{
    if (!covers(node, p->leaf))
        return MLS_ERR_ARG;
    mls_treekem_key *k = slot_for(p, node);
    if (!k)
        return MLS_ERR_STATE;
    mls_buf_clear(&k->sk);
    mls_buf_clear(&k->pk);
    k->sk = *sk;
    k->pk = *pk;
    mls_buf_init(sk);
    mls_buf_init(pk);
    return MLS_OK;
}

int mls_treekem_priv_init(mls_treekem_priv *p, const mls_suite *s, uint32_t leaf,
                          mls_bytes leaf_sk)
{
    memset(p, 0, sizeof(*p));
    p->suite = s;
    p->leaf = leaf;
    int err = mls_treekem_priv_set_leaf_key(p, leaf_sk);
    if (err)
        mls_treekem_priv_clear(p);
    return err;
}

int mls_treekem_priv_set_leaf_key(mls_treekem_priv *p, mls_bytes leaf_sk)
{
    mls_buf sk, pk;
    mls_buf_init(&sk);
    mls_buf_init(&pk);
    int err = mls_hpke_public_from_private(p->suite, leaf_sk, &pk);
    if (!err)
        err = mls_buf_set(&sk, leaf_sk.p, leaf_sk.n);
    if (!err)
        err = put_key(p, 2 * p->leaf, &sk, &pk);
    mls_buf_clear(&sk);
    mls_buf_clear(&pk);
    return err;
}

/* node_secret = DeriveSecret(path_secret, "node"); DeriveKeyPair. */
static int node_keypair(const mls_suite *s, mls_bytes path_secret, mls_buf *sk, mls_buf *pk)
{
    uint8_t node_secret[MLS_MAX_HASH];
    int err = mls_derive_secret(s, path_secret, "node", node_secret);
    if (!err)
        err = mls_hpke_derive_keypair(s, mls_bytes_of(node_secret, s->nh), sk, pk);
    mls_wipe(node_secret, sizeof(node_secret));
    return err;
}

int mls_treekem_priv_set_node_secret(mls_treekem_priv *p, uint32_t node, mls_bytes path_secret)
{
    mls_buf sk, pk;
    mls_buf_init(&sk);
    mls_buf_init(&pk);
    int err = covers(node, p->leaf) ? MLS_OK : MLS_ERR_ARG;
    if (!err)
        err = node_keypair(p->suite, path_secret, &sk, &pk);
    if (!err)
        err = put_key(p, node, &sk, &pk);
    mls_buf_clear(&sk);
    mls_buf_clear(&pk);
    return err;
}

const mls_treekem_key *mls_treekem_priv_find(const mls_treekem_priv *p, const mls_rtree *t,
                                             uint32_t node)
{
    for (size_t i = 0; i < p->n_keys; i++) {
        const mls_treekem_key *k = &p->keys[i];
        if (k->node != node)
            continue;
        mls_bytes pk = mls_rtree_node_public_key(t, node);
        if (pk.n == 0 || pk.n != k->pk.n || memcmp(pk.p, k->pk.p, pk.n) != 0)
            return NULL;
        return k;
    }
    return NULL;
}

void mls_treekem_priv_prune(mls_treekem_priv *p, const mls_rtree *t)
{
    size_t j = 0;
    for (size_t i = 0; i < p->n_keys; i++) {
        mls_treekem_key *k = &p->keys[i];
        if (covers(k->node, p->leaf) && mls_treekem_priv_find(p, t, k->node) == k) {
            if (j != i) {
                p->keys[j] = *k;
                memset(k, 0, sizeof(*k));
            }
            j++;
        } else {
            key_clear(k);
        }
    }
    p->n_keys = j;
}

int mls_treekem_priv_check(const mls_treekem_priv *p, const mls_rtree *t)
{
    for (size_t i = 0; i < p->n_keys; i++)
        if (mls_treekem_priv_find(p, t, p->keys[i].node) != &p->keys[i])
            return MLS_ERR_INVALID;
    return MLS_OK;
}

/*
 * From path_secret at path[from], derives the keys of path[from..len),
 * checks each public key against want_pk[k] (when want_pk is given) or the
 * tree node, and stores them in p.  last gets the path secret of path[len-1]
 * (suite->nh bytes).
 */
static int derive_up(mls_treekem_priv *p, const mls_rtree *t, const uint32_t *path, size_t from,
                     size_t len, mls_bytes path_secret, const mls_update_path *want,
                     uint8_t *last)
{
    const mls_suite *s = p->suite;
    uint8_t ps[MLS_MAX_HASH], next[MLS_MAX_HASH];
    mls_buf sk, pk;
    int err = MLS_OK;

    mls_buf_init(&sk);
    mls_buf_init(&pk);
    if (path_secret.n != s->nh)
        return MLS_ERR_INVALID;
    memcpy(ps, path_secret.p, s->nh);
    for (size_t k = from; k < len; k++) {
        if (k > from) {
            err = mls_derive_secret(s, mls_bytes_of(ps, s->nh), "path", next);
            if (err)
                goto out;
            memcpy(ps, next, s->nh);
        }
        err = node_keypair(s, mls_bytes_of(ps, s->nh), &sk, &pk);
        if (err)
            goto out;
        mls_bytes expect = want ? mls_buf_view(&want->nodes[k].encryption_key)
                                : mls_rtree_node_public_key(t, path[k]);
        /* RFC 9420 §7.5 step 6: derived public keys match those sent. */
        if (expect.n != pk.n || memcmp(expect.p, pk.p, pk.n) != 0) {
            err = MLS_ERR_INVALID;
            goto out;
        }
        err = put_key(p, path[k], &sk, &pk);
        if (err)
            goto out;
    }
    memcpy(last, ps, s->nh);
out:
    mls_wipe(ps, sizeof(ps));
    mls_wipe(next, sizeof(next));
    mls_buf_clear(&sk);
    mls_buf_clear(&pk);
    return err;
}

int mls_treekem_priv_set_path_secret(mls_treekem_priv *p, const mls_rtree *t, uint32_t node,
                                     mls_bytes path_secret, uint8_t *commit_secret)
{
    uint32_t path[MLS_TREE_MAX_DEPTH], copath[MLS_TREE_MAX_DEPTH];
    uint8_t last[MLS_MAX_HASH];
    mls_treekem_priv np;
    size_t len, from;
    int err;

    memset(&np, 0, sizeof(np));
    err = mls_rtree_filtered_direct_path(t, p->leaf, path, copath, &len);
    if (err)
        return err;
    for (from = 0; from < len && path[from] != node; from++)
        ;
    if (from == len)
        return MLS_ERR_INVALID;
    err = mls_treekem_priv_copy(&np, p);
    if (!err)
        err = derive_up(&np, t, path, from, len, path_secret, NULL, last);
    if (!err && commit_secret)
        err = mls_derive_secret(p->suite, mls_bytes_of(last, p->suite->nh), "path", commit_secret);
    if (!err) {
        mls_treekem_priv_clear(p);
        *p = np;
        memset(&np, 0, sizeof(np));
    }
    mls_treekem_priv_clear(&np);
    mls_wipe(last, sizeof(last));
    return err;
}

/* ================================================================ committer */

void mls_treekem_pending_clear(mls_treekem_pending *pd)
{
    if (!pd)
        return;
    mls_update_path_clear(&pd->update_path);
    mls_treekem_priv_clear(&pd->priv);
    mls_wipe(pd, sizeof(*pd));
}

/* Sets the path's parents in t: path[i] gets pks[i], parent_hash
 * phs[i+1] (empty at the top) and no unmerged leaves. */
static int set_path_nodes(mls_rtree *t, const uint32_t *path, size_t len, const mls_bytes *pks,
                          uint8_t phs[][MLS_MAX_HASH])
{
    size_t nh = t->suite->nh;
    for (size_t i = 0; i < len; i++) {
        mls_parent_node pn;
        memset(&pn, 0, sizeof(pn));
        int err = mls_buf_set(&pn.encryption_key, pks[i].p, pks[i].n);
        if (!err && i + 1 < len)
            err = mls_buf_set(&pn.parent_hash, phs[i + 1], nh);
        if (!err)
            err = mls_rtree_set_parent(t, path[i], &pn);
        mls_parent_node_clear(&pn);
        if (err)
            return err;
    }
    return MLS_OK;
}

int mls_treekem_path_create(mls_rtree *t, uint32_t leaf, const mls_leaf_node *leaf_tmpl,
                            mls_bytes sig_sk, mls_bytes group_id, const mls_env *env,
                            mls_treekem_pending *pd)
{
    const mls_suite *s = t->suite;
    mls_treekem_pending *p = NULL;
    uint8_t secret[MLS_MAX_HASH], next[MLS_MAX_HASH];
    uint8_t(*phs)[MLS_MAX_HASH] = NULL;
    mls_bytes pks[MLS_TREE_MAX_DEPTH];
    mls_buf sk, pk, tbs;
    int err;

    mls_buf_init(&sk);
    mls_buf_init(&pk);
    mls_buf_init(&tbs);
    if (leaf >= mls_rtree_n_leaves(t) || !env)
        return MLS_ERR_ARG;
    p = calloc(1, sizeof(*p));
    phs = calloc(MLS_TREE_MAX_DEPTH, sizeof(*phs));
    if (!p || !phs) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    p->suite = s;
    p->leaf = leaf;
    p->priv.suite = s;
    p->priv.leaf = leaf;
    err = mls_rtree_filtered_direct_path(t, leaf, p->path, p->copath, &p->len);
    if (err)
        goto out;

    /* RFC 9420 §7.4: a fresh leaf secret; the leaf key pair from its node
     * secret, then each path secret from the one below it.  The commit
     * secret is the path secret one step above the root's. */
    if (env->random(env->ctx, secret, s->nh) != 0) {
        err = MLS_ERR_RANDOM;
        goto out;
    }
    err = node_keypair(s, mls_bytes_of(secret, s->nh), &sk, &pk);
    if (!err)
        err = put_key(&p->priv, 2 * leaf, &sk, &pk);
    if (err)
        goto out;
    p->update_path.nodes = p->len ? calloc(p->len, sizeof(mls_update_path_node)) : NULL;
    if (p->len && !p->update_path.nodes) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    p->update_path.n_nodes = p->len;
    for (size_t i = 0; i <= p->len; i++) {
        err = mls_derive_secret(s, mls_bytes_of(secret, s->nh), "path", next);
        if (err)
            goto out;
        memcpy(secret, next, s->nh);
        if (i == p->len) {
            memcpy(p->commit_secret, secret, s->nh);
            break;
        }
        memcpy(p->path_secret[i], secret, s->nh);
        err = node_keypair(s, mls_bytes_of(secret, s->nh), &sk, &pk);
        if (!err)
            err = mls_buf_copy(&p->update_path.nodes[i].encryption_key, &pk);
        if (!err)
            err = put_key(&p->priv, p->path[i], &sk, &pk);
        if (err)
            goto out;
        pks[i] = mls_buf_view(&p->update_path.nodes[i].encryption_key);
    }

    /* §7.9: parent hashes from the root down; the leaf signs the lowest. */
    err = mls_rtree_path_parent_hashes(t, p->path, p->copath, p->len, pks, phs);
    if (err)
        goto out;
    mls_leaf_node *ln = &p->update_path.leaf_node;
    err = mls_leaf_node_copy(ln, leaf_tmpl);
    if (err)
        goto out;
    ln->source = MLS_LEAF_SOURCE_COMMIT;
    memset(&ln->lifetime, 0, sizeof(ln->lifetime));
    err = mls_buf_set(&ln->encryption_key, p->priv.keys[0].pk.p, p->priv.keys[0].pk.n);
    if (!err)
        err = mls_buf_set(&ln->parent_hash, p->len ? phs[0] : NULL, p->len ? s->nh : 0);
    if (!err)
        err = mls_leaf_node_tbs_encode(ln, group_id, leaf, &tbs);
    if (!err) {
        mls_buf_reset(&ln->signature);
        err = mls_sign_with_label(s, env, sig_sk, "LeafNodeTBS", mls_buf_view(&tbs),
                                  &ln->signature);
    }
    if (err)
        goto out;

    /* Apply to the tree: the leaf first (its key uniqueness check may
     * refuse, leaving t as it was), then the path. */
    err = mls_rtree_set_leaf(t, leaf, ln);
    if (err)
        goto out;
    err = mls_rtree_blank_path(t, leaf);
    if (!err)
        err = set_path_nodes(t, p->path, p->len, pks, phs);
    if (err)
        goto out;
    *pd = *p;
    memset(p, 0, sizeof(*p));
out:
    if (p) {
        mls_treekem_pending_clear(p);
        free(p);
    }
    free(phs);
    mls_wipe(secret, sizeof(secret));
    mls_wipe(next, sizeof(next));
    mls_buf_clear(&sk);
    mls_buf_clear(&pk);
    mls_buf_clear(&tbs);
    return err;
}

static void free_ciphertexts(mls_update_path_node *n)
{
    for (size_t j = 0; j < n->n_encrypted_path_secret; j++)
        mls_hpke_ciphertext_clear(&n->encrypted_path_secret[j]);
    free(n->encrypted_path_secret);
    n->encrypted_path_secret = NULL;
    n->n_encrypted_path_secret = 0;
}

/* One HPKE encryption of a path secret: item k of the flattened list of
 * (path node, resolution node) pairs. */
typedef struct seal_item {
    size_t node;          /* index into pd->path */
    mls_bytes pk;         /* recipient's public key */
    mls_hpke_ciphertext *out;
} seal_item;

typedef struct seal_job {
    const mls_treekem_pending *pd;
    const mls_env *env;
    const seal_item *items;
    mls_rng_tape tape;
    mls_bytes context_hash;
} seal_job;

static int seal_path_secret(void *arg, size_t k)
{
    const seal_job *j = arg;
    const seal_item *it = &j->items[k];
    const mls_suite *s = j->pd->suite;
    mls_rng_item cursor;
    mls_env ienv;
    mls_rng_tape_env(&j->tape, k, j->env, &cursor, &ienv);
    return mls_encrypt_with_label_hashed(s, &ienv, it->pk, j->context_hash,
                                         mls_bytes_of(j->pd->path_secret[it->node], s->nh),
                                         &it->out->kem_output, &it->out->ciphertext);
}

int mls_treekem_path_encrypt(mls_treekem_pending *pd, const mls_rtree *t,
                             mls_bytes group_context, const uint32_t *added, size_t n_added,
                             const mls_env *env)
{
    const mls_suite *s = pd->suite;
    mls_index_list res;
    seal_item *items = NULL;
    size_t n_items = 0, cap = 0;
    uint8_t ctx_hash[MLS_MAX_HASH];
    seal_job job;
    int err = MLS_OK;

    memset(&res, 0, sizeof(res));
    memset(&job, 0, sizeof(job));
    if (!env || !env->random)
        return MLS_ERR_ARG;
    /* EncryptContext{"UpdatePathNode", group_context} is the same for
     * every recipient: hashed into the HPKE info_hash once per commit. */
    err = mls_encrypt_context_hash(s, "UpdatePathNode", group_context, ctx_hash);
    if (err)
        goto out;
    for (size_t i = 0; i < pd->len; i++) {
        mls_update_path_node *un = &pd->update_path.nodes[i];
        free_ciphertexts(un);
        /* RFC 9420 §7.6: one ciphertext per node of the copath child's
         * resolution, new members of this commit excluded (§12.4.2). */
        err = mls_rtree_resolution(t, pd->copath[i], added, n_added, &res);
        if (err)
            goto out;
        if (!res.n)
            continue;
        un->encrypted_path_secret = calloc(res.n, sizeof(mls_hpke_ciphertext));
        if (!un->encrypted_path_secret) {
            err = MLS_ERR_NOMEM;
            goto out;
        }
        un->n_encrypted_path_secret = res.n;
        if (n_items + res.n > cap) {
            size_t ncap = cap ? 2 * cap : 64;
            while (ncap < n_items + res.n)
                ncap *= 2;
            seal_item *ni = realloc(items, ncap * sizeof(*items));
            if (!ni) {
                err = MLS_ERR_NOMEM;
                goto out;
            }
            items = ni;
            cap = ncap;
        }
        for (size_t j = 0; j < res.n; j++) {
            items[n_items].node = i;
            items[n_items].pk = mls_rtree_node_public_key(t, res.v[j]);
            items[n_items].out = &un->encrypted_path_secret[j];
            n_items++;
        }
    }
    /* The ephemeral HPKE keys' randomness (RFC 9180 §4 GenerateKeyPair,
     * Nsk bytes each) is drawn in path order before the encryptions run
     * in parallel: the same bytes go to the same recipient as in a
     * sequential loop. */
    err = mls_rng_tape_draw(env, n_items, s->kem_nsk, &job.tape);
    if (err)
        goto out;
    job.pd = pd;
    job.env = env;
    job.items = items;
    job.context_hash = mls_bytes_of(ctx_hash, s->nh);
    err = mls_exec_for(env, n_items, seal_path_secret, &job);
out:
    mls_rng_tape_clear(&job.tape);
    mls_index_list_clear(&res);
    free(items);
    return err;
}

int mls_treekem_pending_path_secret_for(const mls_treekem_pending *pd, uint32_t new_leaf,
                                        uint8_t *out, uint32_t *node)
{
    for (size_t i = 0; i < pd->len; i++) {
        if (covers(pd->path[i], new_leaf)) {
            memcpy(out, pd->path_secret[i], pd->suite->nh);
            *node = pd->path[i];
            return MLS_OK;
        }
    }
    return MLS_ERR_NOT_FOUND;
}

/* ================================================================ receiver */

static int cmp_key(const void *a, const void *b)
{
    const mls_bytes *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? -1 : 1;
    return x->n ? memcmp(x->p, y->p, x->n) : 0;
}

/* 1 if a non-blank parent under x, off the direct path of `sender` (which
 * the UpdatePath replaces), has one of the n sorted keys.  Subtrees
 * without a non-blank node are skipped. */
static int parents_use_key(const mls_rtree *t, uint32_t x, uint32_t sender, const mls_bytes *keys,
                           size_t n)
{
    uint32_t l, r, nl = mls_rtree_n_leaves(t);
    mls_bytes k;

    if (mls_tm_is_leaf(x) || mls_rtree_resolution_empty(t, x))
        return 0;
    k = mls_rtree_node_public_key(t, x);
    if (!covers(x, sender) && k.n && bsearch(&k, keys, n, sizeof(*keys), cmp_key))
        return 1;
    if (mls_tm_left(nl, x, &l) != 0 || mls_tm_right(nl, x, &r) != 0)
        return 0;
    return parents_use_key(t, l, sender, keys, n) || parents_use_key(t, r, sender, keys, n);
}

/*
 * RFC 9420 §12.4.2: "none of the public keys in the UpdatePath appear in
 * any node of the new ratchet tree": the path's keys and its leaf's are
 * pairwise distinct, used by no other leaf and by no parent off the
 * sender's direct path.  O(non-blank nodes), by the tree's key index for
 * leaves.
 */
static int path_keys_fresh(const mls_rtree *t, uint32_t sender, const mls_leaf_node *ln,
                           const mls_bytes *pks, size_t len)
{
    mls_bytes keys[MLS_TREE_MAX_DEPTH + 1];
    uint32_t other;
    size_t n = 0, i;

    for (i = 0; i < len; i++)
        keys[n++] = pks[i];
    keys[n++] = mls_buf_view(&ln->encryption_key);
    qsort(keys, n, sizeof(*keys), cmp_key);
    for (i = 0; i < n; i++) {
        if (i && cmp_key(&keys[i], &keys[i - 1]) == 0)
            return MLS_ERR_INVALID;
        if (mls_rtree_find_encryption_key(t, keys[i], &other) == 0 && other != sender)
            return MLS_ERR_INVALID;
    }
    if (mls_rtree_n_leaves(t) &&
        parents_use_key(t, mls_tm_root(mls_rtree_n_leaves(t)), sender, keys, n))
        return MLS_ERR_INVALID;
    return MLS_OK;
}

int mls_treekem_path_merge(mls_rtree *t, uint32_t sender, const mls_update_path *path,
                           mls_bytes group_id)
{
    const mls_suite *s = t->suite;
    uint32_t fp[MLS_TREE_MAX_DEPTH], cp[MLS_TREE_MAX_DEPTH];
    uint8_t(*phs)[MLS_MAX_HASH] = NULL;
    mls_bytes pks[MLS_TREE_MAX_DEPTH];
    const mls_leaf_node *ln = &path->leaf_node;
    mls_leaf_check chk;
    size_t len;
    int err;

    if (sender >= mls_rtree_n_leaves(t))
        return MLS_ERR_ARG;
    err = mls_rtree_filtered_direct_path(t, sender, fp, cp, &len);
    if (err)
        return err;
    /* RFC 9420 §12.4.2: one UpdatePathNode per filtered direct path node;
     * §7.3: the leaf comes from a commit and is signed for this group and
     * leaf index. */
    if (path->n_nodes != len || ln->source != MLS_LEAF_SOURCE_COMMIT)
        return MLS_ERR_INVALID;
    memset(&chk, 0, sizeof(chk));
    chk.group_id = group_id;
    err = mls_leaf_node_validate(s, ln, sender, &chk);
    if (err)
        return err;
    for (size_t i = 0; i < len; i++) {
        pks[i] = mls_buf_view(&path->nodes[i].encryption_key);
        if (pks[i].n != s->kem_npk)
            return MLS_ERR_INVALID;
    }
    err = path_keys_fresh(t, sender, ln, pks, len);
    if (err)
        return err;
    phs = calloc(MLS_TREE_MAX_DEPTH, sizeof(*phs));
    if (!phs)
        return MLS_ERR_NOMEM;
    err = mls_rtree_path_parent_hashes(t, fp, cp, len, pks, phs);
    if (err)
        goto out;
    /* §7.5 step 3: the leaf's parent_hash is that of the first node of its
     * filtered direct path (empty if there is none). */
    if (len ? (ln->parent_hash.n != s->nh || memcmp(ln->parent_hash.p, phs[0], s->nh) != 0)
            : ln->parent_hash.n != 0) {
        err = MLS_ERR_INVALID;
        goto out;
    }
    err = mls_rtree_set_leaf(t, sender, ln);
    if (err)
        goto out;
    err = mls_rtree_blank_path(t, sender);
    if (!err)
        err = set_path_nodes(t, fp, len, pks, phs);
out:
    free(phs);
    return err;
}

int mls_treekem_path_decrypt(const mls_rtree *t, const mls_treekem_priv *priv, uint32_t sender,
                             const mls_update_path *path, mls_bytes group_context,
                             const uint32_t *added, size_t n_added, mls_treekem_priv *new_priv,
                             uint8_t *commit_secret, uint8_t *path_secret_out,
                             uint32_t *path_secret_node)
{
    const mls_suite *s = priv->suite;
    uint32_t fp[MLS_TREE_MAX_DEPTH], cp[MLS_TREE_MAX_DEPTH];
    uint8_t last[MLS_MAX_HASH];
    mls_index_list res;
    mls_treekem_priv np;
    mls_buf ps;
    size_t len, i, j;
    int err;

    memset(&res, 0, sizeof(res));
    memset(&np, 0, sizeof(np));
    mls_buf_init(&ps);
    if (priv->leaf == sender || sender >= mls_rtree_n_leaves(t))
        return MLS_ERR_ARG;
    err = mls_rtree_filtered_direct_path(t, sender, fp, cp, &len);
    if (err)
        return err;
    if (path->n_nodes != len)
        return MLS_ERR_INVALID;
    /* §7.5: the lowest node whose copath child holds this member. */
    for (i = 0; i < len && !covers(cp[i], priv->leaf); i++)
        ;
    if (i == len)
        return MLS_ERR_NOT_FOUND;
    err = mls_rtree_resolution(t, cp[i], added, n_added, &res);
    if (err)
        goto out;
    if (path->nodes[i].n_encrypted_path_secret != res.n) {
        err = MLS_ERR_INVALID;
        goto out;
    }
    const mls_treekem_key *key = NULL;
    for (j = 0; j < res.n && !key; j++)
        key = mls_treekem_priv_find(priv, t, res.v[j]);
    if (!key) {
        err = MLS_ERR_NOT_FOUND;
        goto out;
    }
    const mls_hpke_ciphertext *c = &path->nodes[i].encrypted_path_secret[j - 1];
    /* Our key's public half is in our state: Decap derives nothing. */
    err = mls_decrypt_with_label_kp(s, mls_buf_view(&key->sk), mls_buf_view(&key->pk),
                                    "UpdatePathNode", group_context,
                                    mls_buf_view(&c->kem_output),
                                    mls_buf_view(&c->ciphertext), &ps);
    if (err)
        goto out;
    if (ps.n != s->nh) {
        err = MLS_ERR_INVALID;
        goto out;
    }
    /* The new state: keys of replaced or blanked nodes go, the path's new
     * keys from node i up come in, checked against the UpdatePath. */
    err = mls_treekem_priv_copy(&np, priv);
    if (err)
        goto out;
    mls_treekem_priv_prune(&np, t);
    err = derive_up(&np, t, fp, i, len, mls_buf_view(&ps), path, last);
    if (!err)
        err = mls_derive_secret(s, mls_bytes_of(last, s->nh), "path", commit_secret);
    if (err)
        goto out;
    if (path_secret_out)
        memcpy(path_secret_out, ps.p, s->nh);
    if (path_secret_node)
        *path_secret_node = fp[i];
    *new_priv = np;
    memset(&np, 0, sizeof(np));
out:
    mls_treekem_priv_clear(&np);
    mls_index_list_clear(&res);
    mls_buf_clear(&ps);
    mls_wipe(last, sizeof(last));
    return err;
}
