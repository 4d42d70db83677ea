/*
 * Validation of the ratchet tree's leaves (RFC 9420 §7.3): one leaf, one
 * leaf against the tree, every leaf of a tree, and a joiner's whole check
 * of a tree (§12.4.3.1).
 */
#include "ratchet_tree_int.h"

#include <stdlib.h>
#include <string.h>

#include "detail.h"
#include "executor.h"

/* ================================================================ leaf validation (§7.3) */

/* RFC 9420 §7.2: the default proposal and extension types are supported
 * by every client without being listed. */
static int ext_supported(const mls_capabilities *c, uint16_t type)
{
    return (type >= MLS_EXT_APPLICATION_ID && type <= MLS_EXT_EXTERNAL_SENDERS) ||
           mls_u16_list_contains(&c->extensions, type);
}

static int proposal_supported(const mls_capabilities *c, uint16_t type)
{
    return (type >= MLS_PROPOSAL_ADD && type <= MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS) ||
           mls_u16_list_contains(&c->proposals, type);
}

int mls_leaf_node_validate(const mls_suite *s, const mls_leaf_node *ln, uint32_t leaf,
                           const mls_leaf_check *chk)
{
    const mls_capabilities *c = &ln->capabilities;
    int err;

    if (ln->source < MLS_LEAF_SOURCE_KEY_PACKAGE || ln->source > MLS_LEAF_SOURCE_COMMIT)
        return MLS_DETAIL(MLS_ERR_INVALID, "RFC 9420 §7.2: unknown leaf_node_source");
    /* The credential type is one the leaf itself lists (§7.2). */
    if (!mls_u16_list_contains(&c->credentials, ln->credential.type))
        return MLS_DETAIL(MLS_ERR_INVALID,
                          "RFC 9420 §7.2: leaf capabilities lack its own credential type");
    /* Every leaf extension is listed in the capabilities and appears once. */
    err = mls_extension_list_check_unique(&ln->extensions);
    if (err)
        return MLS_DETAIL(err, "RFC 9420 §13: a leaf extension type appears twice");
    for (size_t i = 0; i < ln->extensions.n; i++)
        if (!ext_supported(c, ln->extensions.v[i].type))
            return MLS_DETAIL(MLS_ERR_INVALID,
                              "RFC 9420 §7.2: leaf extension not listed in capabilities");
    if (chk && chk->required) {
        const mls_required_capabilities *r = chk->required;
        for (size_t i = 0; i < r->extension_types.n; i++)
            if (!ext_supported(c, r->extension_types.v[i]))
                return MLS_DETAIL(MLS_ERR_INVALID,
                                  "RFC 9420 §11.1: leaf lacks a required extension type");
        for (size_t i = 0; i < r->proposal_types.n; i++)
            if (!proposal_supported(c, r->proposal_types.v[i]))
                return MLS_DETAIL(MLS_ERR_INVALID,
                                  "RFC 9420 §11.1: leaf lacks a required proposal type");
        for (size_t i = 0; i < r->credential_types.n; i++)
            if (!mls_u16_list_contains(&c->credentials, r->credential_types.v[i]))
                return MLS_DETAIL(MLS_ERR_INVALID,
                                  "RFC 9420 §11.1: leaf lacks a required credential type");
    }
    if (chk && chk->check_lifetime && ln->source == MLS_LEAF_SOURCE_KEY_PACKAGE &&
        (chk->now < ln->lifetime.not_before || chk->now > ln->lifetime.not_after))
        return MLS_DETAIL(MLS_ERR_EXPIRED, "RFC 9420 §7.3: leaf lifetime does not include now");
    return mls_leaf_node_verify(s, ln, chk ? chk->group_id : mls_bytes_of(NULL, 0), leaf);
}

int mls_rtree_check_leaf_fits(const mls_rtree *t, const mls_leaf_node *ln, uint32_t leaf)
{
    const mls_node *cur = leaf < t->n_leaves ? node_at(t, 2 * leaf) : NULL;
    const mls_leaf_node *cl = cur ? &cur->leaf : NULL;
    const mls_rtree_cred_count *c;
    uint32_t other;

    if (!mls_rt_tree_find(t, 0, mls_buf_view(&ln->encryption_key), &other) && other != leaf)
        return MLS_DETAIL(MLS_ERR_INVALID, "RFC 9420 §7.3: encryption key already in the tree");
    if (!mls_rt_tree_find(t, 1, mls_buf_view(&ln->signature_key), &other) && other != leaf)
        return MLS_DETAIL(MLS_ERR_INVALID, "RFC 9420 §7.3: signature key already in the tree");
    /* §7.3: every other member supports ln's credential type ... */
    uint32_t others = mls_rtree_member_count(t) - (cl ? 1u : 0u);
    c = cred_find(t, ln->credential.type);
    uint32_t sup = c ? c->supported : 0;
    if (cl && mls_u16_list_contains(&cl->capabilities.credentials, ln->credential.type))
        sup--;
    if (sup != others)
        return MLS_DETAIL(MLS_ERR_INVALID,
                          "RFC 9420 §7.3: a member does not support the leaf's credential type");
    /* ... and ln supports every type the others use. */
    for (size_t i = 0; i < t->n_creds; i++) {
        uint32_t used = t->creds[i].used - (cl && cl->credential.type == t->creds[i].type);
        if (used && !mls_u16_list_contains(&ln->capabilities.credentials, t->creds[i].type))
            return MLS_DETAIL(MLS_ERR_INVALID,
                              "RFC 9420 §7.3: the leaf does not support a credential type in use");
    }
    return MLS_OK;
}
static int cmp_u16_fn(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_bytes(const void *a, const void *b)
{
    const mls_bytes *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? -1 : 1;
    return x->n ? memcmp(x->p, y->p, x->n) : 0;
}

/* 1 if the n views contain a duplicate (sorts them). */
static int has_duplicate(mls_bytes *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_bytes);
    for (size_t i = 1; i < n; i++)
        if (cmp_bytes(&v[i - 1], &v[i]) == 0)
            return 1;
    return 0;
}

/* One item of the parallel leaf validation: the leaf at leaves[i]. */
typedef struct leaf_job {
    const mls_rtree *t;
    const mls_leaf_check *chk;
    const uint32_t *leaves;
} leaf_job;

static int validate_leaf_item(void *arg, size_t i)
{
    const leaf_job *j = arg;
    if (j->chk && j->chk->first) {
        if (i == 0)
            return j->chk->first(j->chk->first_ctx);
        i--;
    }
    const mls_node *n = node_at(j->t, 2 * j->leaves[i]);
    return mls_leaf_node_validate(j->t->suite, &n->leaf, j->leaves[i], j->chk);
}

int mls_rtree_verify_leaves(const mls_rtree *t, const mls_leaf_check *chk)
{
    uint32_t w = mls_rtree_width(t);
    mls_bytes *enc = NULL, *sig = NULL;
    uint16_t *types = NULL;
    uint32_t *leaves = NULL;
    size_t n_enc = 0, n_sig = 0, n_types = 0, n_leaves = 0;
    leaf_job job;
    int err = MLS_OK;

    if (w == 0)
        return chk && chk->first ? chk->first(chk->first_ctx) : MLS_OK;
    enc = malloc(w * sizeof(*enc));
    sig = malloc(t->n_leaves * sizeof(*sig));
    types = malloc(t->n_leaves * sizeof(*types));
    leaves = malloc(t->n_leaves * sizeof(*leaves));
    if (!enc || !sig || !types || !leaves) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    /* The per-leaf checks (a signature each: nearly all of a join's time)
     * run through the executor; the first failing leaf in tree order is
     * the one reported, as in a sequential scan. */
    for (uint32_t x = 0; x < w; x += 2)
        if (node_at(t, x))
            leaves[n_leaves++] = x / 2;
    job.t = t;
    job.chk = chk;
    job.leaves = leaves;
    err = mls_exec_for(chk ? chk->env : NULL, n_leaves + (chk && chk->first ? 1 : 0),
                       validate_leaf_item, &job);
    if (err)
        goto out;
    for (uint32_t x = 0; x < w; x++) {
        const mls_node *n = node_at(t, x);
        if (!n)
            continue;
        if (n->type == MLS_NODE_PARENT) {
            enc[n_enc++] = mls_buf_view(&n->parent.encryption_key);
            continue;
        }
        enc[n_enc++] = mls_buf_view(&n->leaf.encryption_key);
        sig[n_sig++] = mls_buf_view(&n->leaf.signature_key);
        types[n_types++] = n->leaf.credential.type;
    }
    /* RFC 9420 §7.3: encryption and signature keys are unique. */
    if (has_duplicate(enc, n_enc) || has_duplicate(sig, n_sig)) {
        err = MLS_DETAIL(MLS_ERR_INVALID, "RFC 9420 §7.3: an encryption or signature key repeats");
        goto out;
    }
    /* Distinct credential types in use, then every member supports all. */
    qsort(types, n_types, sizeof(*types), cmp_u16_fn);
    size_t d = 0;
    for (size_t i = 0; i < n_types; i++)
        if (d == 0 || types[d - 1] != types[i])
            types[d++] = types[i];
    for (uint32_t i = 0; i < t->n_leaves; i++) {
        const mls_node *n = node_at(t, 2 * i);
        if (!n)
            continue;
        for (size_t j = 0; j < d; j++)
            if (!mls_u16_list_contains(&n->leaf.capabilities.credentials, types[j])) {
                err = MLS_DETAIL(MLS_ERR_INVALID,
                                 "RFC 9420 §7.3: a member does not support a credential type in use");
                goto out;
            }
    }
out:
    free(enc);
    free(sig);
    free(types);
    free(leaves);
    return err;
}

int mls_rtree_verify_join(mls_rtree *t, mls_bytes expected_tree_hash, const mls_leaf_check *chk)
{
    uint8_t h[MLS_MAX_HASH];
    int err = mls_rtree_root_hash(t, h);
    if (err)
        return err == MLS_ERR_STATE ? MLS_ERR_INVALID : err;
    if (expected_tree_hash.n != t->suite->nh || memcmp(h, expected_tree_hash.p, t->suite->nh))
        return MLS_DETAIL(MLS_ERR_INVALID,
                          "RFC 9420 §12.4.3.1: tree hash differs from the GroupContext's");
    err = mls_rtree_verify_parent_hashes(t);
    if (!err)
        err = mls_rtree_verify_leaves(t, chk);
    return err;
}
