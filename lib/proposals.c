/*
 * Proposals (RFC 9420 §12.1): validity of a proposal list (§12.2) and its
 * application to the ratchet tree and GroupContext (§12.3), and the
 * GroupContext extension rules (§12.1.7, §13).
 */
#include "proposals.h"

#include <stdlib.h>
#include <string.h>

#include "detail.h"
#include "executor.h"
#include "key_package.h"

void mls_applied_clear(mls_applied *a)
{
    if (!a)
        return;
    free(a->added);
    free(a->added_kp);
    free(a->updated);
    free(a->removed);
    free(a->psks);
    mls_buf_clear(&a->own_leaf_sk);
    memset(a, 0, sizeof(*a));
}

static int ext_is_default(uint16_t t)
{
    return t >= MLS_EXT_APPLICATION_ID && t <= MLS_EXT_EXTERNAL_SENDERS;
}

static int leaf_supports_required(const mls_leaf_node *ln, const mls_required_capabilities *rc)
{
    const mls_capabilities *c = &ln->capabilities;
    size_t i;

    for (i = 0; i < rc->extension_types.n; i++)
        if (!ext_is_default(rc->extension_types.v[i]) &&
            !mls_u16_list_contains(&c->extensions, rc->extension_types.v[i]))
            return 0;
    for (i = 0; i < rc->proposal_types.n; i++) {
        uint16_t t = rc->proposal_types.v[i];
        if (!(t >= MLS_PROPOSAL_ADD && t <= MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS) &&
            !mls_u16_list_contains(&c->proposals, t))
            return 0;
    }
    for (i = 0; i < rc->credential_types.n; i++)
        if (!mls_u16_list_contains(&c->credentials, rc->credential_types.v[i]))
            return 0;
    return 1;
}

/* A leaf supports every non-default extension type of a GroupContext
 * extension list and its required capabilities. */
static int leaf_supports_ext(const mls_leaf_node *ln, const mls_extension_list *ext,
                             const mls_required_capabilities *rc)
{
    for (size_t i = 0; i < ext->n; i++)
        if (!ext_is_default(ext->v[i].type) &&
            !mls_u16_list_contains(&ln->capabilities.extensions, ext->v[i].type))
            return 0;
    return !rc || leaf_supports_required(ln, rc);
}

/* Decodes the required_capabilities extension of a list, if present.
 * *present tells whether it was. */
static int ext_required(const mls_extension_list *ext, mls_required_capabilities *rc,
                        int *present)
{
    const mls_extension *e = mls_extension_list_find(ext, MLS_EXT_REQUIRED_CAPABILITIES);
    *present = 0;
    if (!e)
        return 0;
    if (mls_required_capabilities_decode_bytes(mls_buf_view(&e->data), rc) != 0)
        return MLS_ERR_INVALID;
    *present = 1;
    return 0;
}

int mls_group_check_extensions(const mls_group *g, const mls_extension_list *ext,
                               const mls_rtree *tree)
{
    (void)g;
    return mls_extensions_check(ext, tree);
}

int mls_extensions_check(const mls_extension_list *ext, const mls_rtree *tree)
{
    mls_required_capabilities rc;
    const mls_extension *e;
    int has_rc, err;

    memset(&rc, 0, sizeof(rc));
    if (mls_extension_list_check_unique(ext) != 0)
        return MLS_DETAIL(MLS_ERR_INVALID, "RFC 9420 §13: an extension type appears twice");
    if ((err = ext_required(ext, &rc, &has_rc)) != 0)
        return MLS_DETAIL(err, "RFC 9420 §11.1: required_capabilities does not decode");
    e = mls_extension_list_find(ext, MLS_EXT_EXTERNAL_SENDERS);
    if (e) {
        mls_external_senders xs;
        if (mls_external_senders_decode_bytes(mls_buf_view(&e->data), &xs) != 0) {
            err = MLS_DETAIL(MLS_ERR_INVALID,
                             "RFC 9420 §12.1.8.1: external_senders does not decode");
            goto out;
        }
        mls_external_senders_clear(&xs);
    }
    /* RFC 9420 §12.1.7, §13: every member supports the extensions in use
     * and the required capabilities. */
    for (uint32_t i = 0; i < mls_rtree_n_leaves(tree); i++) {
        const mls_leaf_node *ln = mls_rtree_leaf(tree, i);
        if (ln && !leaf_supports_ext(ln, ext, has_rc ? &rc : NULL)) {
            err = MLS_DETAIL(MLS_ERR_INVALID,
                             "RFC 9420 §12.1.7: a member does not support the extensions");
            goto out;
        }
    }
out:
    mls_required_capabilities_clear(&rc);
    return err;
}

/* ---------------------------------------------------------------- validation */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_bytes(const void *a, const void *b)
{
    const mls_bytes *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? -1 : 1;
    return x->n ? memcmp(x->p, y->p, x->n) : 0;
}

void mls_proposal_env_of_group(const mls_group *g, mls_proposal_env *pe)
{
    memset(pe, 0, sizeof(*pe));
    pe->suite = g->suite;
    pe->ctx = &g->cur.ctx;
    pe->tree = &g->cur.tree;
    pe->now = g->env->now(g->env->ctx);
    pe->reinit_ok = g->reinit_commit;
    pe->own_leaf = g->cur.priv.leaf;
    pe->env = g->env;
}

static int psk_valid(const mls_proposal_env *pe, const mls_psk_id *id)
{
    /* RFC 9420 §12.1.4: the nonce is Nh bytes; resumption PSKs with usage
     * reinit or branch belong to those operations only (§11.2: the reinit
     * one in the successor group's first commit, which
     * mls_group_reinit_create marks with g->reinit_commit, and the
     * public view allows at epoch 0: pe->reinit_ok). */
    if (id->psk_nonce.n != pe->suite->nh)
        return 0;
    if (id->type == MLS_PSK_RESUMPTION && id->usage != MLS_PSK_USAGE_APPLICATION &&
        !(id->usage == MLS_PSK_USAGE_REINIT && pe->reinit_ok))
        return 0;
    return 1;
}

/* The KeyPackage checks of Add proposals (two signatures each), run
 * ahead through the executor: each item's result lands in kp_err[i] and
 * the in-order validation below reads it where it would have made the
 * check, so errors are the same as in a sequential pass. */
typedef struct kp_job {
    const mls_suite *s;
    const mls_prop_item *items;
    int check_lifetime;
    uint64_t now;
    int *kp_err;
} kp_job;

static int kp_check_item(void *arg, size_t i)
{
    const kp_job *j = arg;
    const mls_proposal *p = j->items[i].p;
    if (p->type == MLS_PROPOSAL_ADD)
        j->kp_err[i] =
            mls_key_package_check(j->s, &p->add.key_package, j->check_lifetime, j->now);
    return 0;
}

/* Refuses with the RFC rule broken (recorded for mls_error_detail at the
 * exit); err keeps its value. */
#define REJECT(text)                                                           \
    do {                                                                       \
        rule = (text);                                                         \
        goto out;                                                              \
    } while (0)

int mls_proposals_validate(const mls_group *g, const mls_prop_item *items, size_t n,
                           int external, uint32_t committer, int check_lifetime)
{
    mls_proposal_env pe;
    mls_proposal_env_of_group(g, &pe);
    return mls_proposals_validate_env(&pe, items, n, external, committer, check_lifetime);
}

int mls_proposals_validate_env(const mls_proposal_env *pe, const mls_prop_item *items, size_t n,
                               int external, uint32_t committer, int check_lifetime)
{
    const mls_suite *s = pe->suite;
    const mls_rtree *t = pe->tree;
    uint32_t *leaves = NULL, *removed = NULL;
    mls_bytes *keys = NULL, *psks = NULL;
    mls_buf *psk_enc = NULL;
    size_t n_leaves = 0, n_keys = 0, n_psk = 0, n_gce = 0, n_reinit = 0, n_xinit = 0, n_rm = 0;
    uint64_t now = pe->now;
    int *kp_err = NULL;
    size_t i, n_adds = 0;
    int err = MLS_ERR_INVALID;
    const char *rule = NULL; /* the RFC rule a refusal broke (mls_error_detail) */

    leaves = calloc(n + 1, sizeof(*leaves));
    removed = calloc(n + 1, sizeof(*removed));
    keys = calloc(n + 1, sizeof(*keys));
    psks = calloc(n + 1, sizeof(*psks));
    psk_enc = calloc(n + 1, sizeof(*psk_enc));
    if (!leaves || !removed || !keys || !psks || !psk_enc) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < n; i++)
        n_adds += items[i].p->type == MLS_PROPOSAL_ADD;
    if (n_adds > 1 && !external) {
        kp_job job = {s, items, check_lifetime, now, NULL};
        kp_err = calloc(n, sizeof(*kp_err));
        if (!kp_err) {
            err = MLS_ERR_NOMEM;
            goto out;
        }
        job.kp_err = kp_err;
        if ((err = mls_exec_for(pe->env, n, kp_check_item, &job)) != 0)
            goto out;
        err = MLS_ERR_INVALID;
    }
    for (i = 0; i < n; i++) {
        const mls_proposal *p = items[i].p;
        const mls_sender *snd = &items[i].sender;

        /* RFC 9420 §12.4.3.2: an external commit has no references. */
        if (external && items[i].pending)
            REJECT("RFC 9420 §12.4.3.2: an external commit includes a proposal by reference");
        switch (p->type) {
        case MLS_PROPOSAL_ADD: {
            const mls_key_package *kp = &p->add.key_package;
            if (external)
                REJECT("RFC 9420 §12.4.3.2: an external commit includes an Add");
            if (kp->cipher_suite != s->id || kp->version != pe->ctx->version)
                REJECT("RFC 9420 §12.1.1: Add KeyPackage of another suite or version");
            /* §12.1.1: the KeyPackage is valid (§10.1). */
            err = kp_err ? kp_err[i] : mls_key_package_check(s, kp, check_lifetime, now);
            if (err) {
                err = err == MLS_ERR_EXPIRED ? err : MLS_ERR_INVALID;
                REJECT("RFC 9420 §12.1.1: Add KeyPackage is not valid (§10.1)");
            }
            err = MLS_ERR_INVALID;
            keys[n_keys++] = mls_buf_view(&kp->leaf_node.signature_key);
            break;
        }
        case MLS_PROPOSAL_UPDATE: {
            const mls_leaf_node *cur, *ln = &p->update.leaf_node;
            mls_leaf_check chk;
            /* §12.2: only members propose updates, never the committer. */
            if (external || snd->type != MLS_SENDER_MEMBER || snd->index == committer)
                REJECT("RFC 9420 §12.2: Update not from a member other than the committer");
            cur = mls_rtree_leaf(t, snd->index);
            if (!cur || ln->source != MLS_LEAF_SOURCE_UPDATE)
                REJECT("RFC 9420 §12.1.2: Update of a blank leaf or leaf source not update");
            /* §7.3: a new encryption key. */
            if (ln->encryption_key.n == cur->encryption_key.n &&
                memcmp(ln->encryption_key.p, cur->encryption_key.p, cur->encryption_key.n) == 0)
                REJECT("RFC 9420 §7.3: Update does not change the encryption key");
            memset(&chk, 0, sizeof(chk));
            chk.group_id = mls_buf_view(&pe->ctx->group_id);
            if (mls_leaf_node_validate(s, ln, snd->index, &chk) != 0)
                REJECT("RFC 9420 §7.3: Update leaf node is not valid");
            if (!mls_u16_list_contains(&ln->capabilities.cipher_suites, s->id))
                REJECT("RFC 9420 §7.2: Update leaf does not support the group's suite");
            leaves[n_leaves++] = snd->index;
            break;
        }
        case MLS_PROPOSAL_REMOVE:
            /* §12.1.3: a non-blank leaf; §12.2: not the committer. */
            if (!mls_rtree_leaf(t, p->remove.removed))
                REJECT("RFC 9420 §12.1.3: Remove of a blank or absent leaf");
            if (!external && p->remove.removed == committer)
                REJECT("RFC 9420 §12.2: the committer removes itself");
            leaves[n_leaves++] = p->remove.removed;
            removed[n_rm++] = p->remove.removed;
            break;
        case MLS_PROPOSAL_PSK:
            if (!psk_valid(pe, &p->psk.psk))
                REJECT("RFC 9420 §12.1.4: PreSharedKey with a bad nonce or usage");
            if ((err = mls_psk_id_encode(&p->psk.psk, &psk_enc[n_psk])) != 0)
                goto out;
            err = MLS_ERR_INVALID;
            psks[n_psk] = mls_buf_view(&psk_enc[n_psk]);
            n_psk++;
            break;
        case MLS_PROPOSAL_REINIT:
            /* §12.1.5: never a lower version. */
            if (external || p->reinit.version < pe->ctx->version)
                REJECT("RFC 9420 §12.1.5: ReInit in an external commit or to a lower version");
            n_reinit++;
            break;
        case MLS_PROPOSAL_EXTERNAL_INIT:
            if (!external)
                REJECT("RFC 9420 §12.1.6: ExternalInit outside an external commit");
            n_xinit++;
            break;
        case MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS:
            if (external)
                REJECT("RFC 9420 §12.4.3.2: GroupContextExtensions in an external commit");
            n_gce++;
            break;
        default:
            REJECT("RFC 9420 §12.2: unknown proposal type");
        }
    }
    /* §12.2: at most one GroupContextExtensions; ReInit alone. */
    if (n_gce > 1 || (n_reinit && n > 1))
        REJECT("RFC 9420 §12.2: two GroupContextExtensions, or ReInit with others");
    /* External commit: exactly one ExternalInit, at most one Remove. */
    if (external && (n_xinit != 1 || n_rm > 1))
        REJECT("RFC 9420 §12.2: external commit without one ExternalInit or with two Removes");
    /* §12.2: one Update or Remove per leaf. */
    qsort(leaves, n_leaves, sizeof(*leaves), cmp_u32);
    for (i = 1; i < n_leaves; i++)
        if (leaves[i] == leaves[i - 1])
            REJECT("RFC 9420 §12.2: two Updates or Removes of one leaf");
    /* §12.2: distinct PSK ids. */
    qsort(psks, n_psk, sizeof(*psks), cmp_bytes);
    for (i = 1; i < n_psk; i++)
        if (cmp_bytes(&psks[i], &psks[i - 1]) == 0)
            REJECT("RFC 9420 §12.2: the same PSK twice");
    /* §12.2: Adds of distinct clients (signature keys), none already a
     * member unless a Remove of this commit removes it (an Update of that
     * member that changes its key does not: the client stays). */
    qsort(removed, n_rm, sizeof(*removed), cmp_u32);
    qsort(keys, n_keys, sizeof(*keys), cmp_bytes);
    for (i = 0; i < n_keys; i++) {
        uint32_t leaf;
        if (i && cmp_bytes(&keys[i], &keys[i - 1]) == 0)
            REJECT("RFC 9420 §12.2: two Adds of one signature key");
        if (mls_rtree_find_signature_key(t, keys[i], &leaf) == 0 &&
            !bsearch(&leaf, removed, n_rm, sizeof(*removed), cmp_u32))
            REJECT("RFC 9420 §12.2: Add of a client that is already a member");
    }
    err = 0;
out:
    if (err && rule)
        mls_detail_set(__func__, rule);
    if (psk_enc)
        for (i = 0; i < n_psk; i++)
            mls_buf_clear(&psk_enc[i]);
    free(psk_enc);
    free(psks);
    free(keys);
    free(removed);
    free(leaves);
    free(kp_err);
    return err;
}

int mls_external_remove_check(const mls_group *g, const mls_prop_item *items, size_t n,
                              const mls_credential *cred, mls_bytes enc_key)
{
    return mls_external_remove_check_tree(&g->cur.tree, items, n, cred, enc_key);
}

int mls_external_remove_check_tree(const mls_rtree *t, const mls_prop_item *items, size_t n,
                                   const mls_credential *cred, mls_bytes enc_key)
{
    mls_buf a, b;
    int err = 0;

    mls_buf_init(&a);
    mls_buf_init(&b);
    if ((err = mls_credential_encode(cred, &a)) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const mls_leaf_node *old;
        if (items[i].p->type != MLS_PROPOSAL_REMOVE)
            continue;
        old = mls_rtree_leaf(t, items[i].p->remove.removed);
        if (!old) {
            err = MLS_ERR_INVALID;
            goto out;
        }
        mls_buf_reset(&b);
        if ((err = mls_credential_encode(&old->credential, &b)) != 0)
            goto out;
        /* The same identity, and a new key as in an Update (§12.1.2). */
        if (!mls_ct_equal(mls_buf_view(&a), mls_buf_view(&b)) ||
            (enc_key.n && mls_ct_equal(enc_key, mls_buf_view(&old->encryption_key)))) {
            err = MLS_ERR_INVALID;
            goto out;
        }
    }
out:
    mls_buf_clear(&a);
    mls_buf_clear(&b);
    return err;
}

/* ---------------------------------------------------------------- application */

static int u32_push(uint32_t **v, size_t *n, uint32_t x)
{
    uint32_t *nv = realloc(*v, (*n + 1) * sizeof(uint32_t));
    if (!nv)
        return MLS_ERR_NOMEM;
    nv[(*n)++] = x;
    *v = nv;
    return 0;
}

int mls_proposals_apply(const mls_group *g, mls_epoch_state *next, const mls_prop_item *items,
                        size_t n, mls_applied *out)
{
    mls_proposal_env pe;
    mls_proposal_env_of_group(g, &pe);
    return mls_proposals_apply_env(&pe, &next->ctx, &next->tree, items, n, out);
}

int mls_proposals_apply_env(const mls_proposal_env *pe, mls_group_context *next_ctx,
                            mls_rtree *next_tree, const mls_prop_item *items, size_t n,
                            mls_applied *out)
{
    mls_applied a;
    mls_required_capabilities rc;
    int has_rc = 0, err = 0;
    size_t i, k;

    memset(&a, 0, sizeof(a));
    memset(&rc, 0, sizeof(rc));
    a.added = calloc(n + 1, sizeof(uint32_t));
    a.added_kp = calloc(n + 1, sizeof(*a.added_kp));
    a.psks = calloc(n + 1, sizeof(*a.psks));
    if (!a.added || !a.added_kp || !a.psks) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    a.path_required = n == 0;

    /* RFC 9420 §12.3: GroupContextExtensions first; the new extensions
     * govern the rest of the list. */
    for (i = 0; i < n; i++) {
        const mls_proposal *p = items[i].p;
        if (p->type != MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS)
            continue;
        mls_extension_list nl;
        if ((err = mls_extension_list_copy(&nl, &p->group_context_extensions.extensions)) != 0)
            goto out;
        mls_extension_list_clear(&next_ctx->extensions);
        next_ctx->extensions = nl;
        a.gce = 1;
    }
    if ((err = ext_required(&next_ctx->extensions, &rc, &has_rc)) != 0)
        goto out;

    /* Updates, in any order (we use list order). */
    for (i = 0; i < n; i++) {
        const mls_proposal *p = items[i].p;
        uint32_t leaf = items[i].sender.index;
        if (p->type != MLS_PROPOSAL_UPDATE)
            continue;
        if ((err = mls_rtree_update_leaf(next_tree, leaf, &p->update.leaf_node)) != 0) {
            err = err == MLS_ERR_NOMEM ? err : MLS_ERR_INVALID;
            goto out;
        }
        if ((err = u32_push(&a.updated, &a.n_updated, leaf)) != 0)
            goto out;
        if (leaf == pe->own_leaf && items[i].pending && items[i].pending->own_leaf_sk.n) {
            a.own_update = 1;
            if ((err = mls_buf_copy(&a.own_leaf_sk, &items[i].pending->own_leaf_sk)) != 0)
                goto out;
        }
    }
    /* Removes. */
    for (i = 0; i < n; i++) {
        const mls_proposal *p = items[i].p;
        if (p->type != MLS_PROPOSAL_REMOVE)
            continue;
        if ((err = mls_rtree_remove_leaf(next_tree, p->remove.removed)) != 0) {
            err = err == MLS_ERR_NOMEM ? err : MLS_ERR_INVALID;
            goto out;
        }
        if ((err = u32_push(&a.removed, &a.n_removed, p->remove.removed)) != 0)
            goto out;
    }
    /* Adds, in list order. */
    for (i = 0; i < n; i++) {
        const mls_proposal *p = items[i].p;
        uint32_t leaf;
        if (p->type != MLS_PROPOSAL_ADD)
            continue;
        if ((err = mls_rtree_add_leaf(next_tree, &p->add.key_package.leaf_node, &leaf)) != 0) {
            err = err == MLS_ERR_NOMEM ? err : MLS_ERR_INVALID;
            goto out;
        }
        a.added_kp[a.n_added] = &p->add.key_package;
        a.added[a.n_added++] = leaf;
    }
    /* PSKs in order, ExternalInit, ReInit; which types need a path. */
    for (i = 0; i < n; i++) {
        const mls_proposal *p = items[i].p;
        switch (p->type) {
        case MLS_PROPOSAL_PSK:
            a.psks[a.n_psks++] = &p->psk.psk;
            break;
        case MLS_PROPOSAL_EXTERNAL_INIT:
            a.external_init = &p->external_init;
            a.path_required = 1;
            break;
        case MLS_PROPOSAL_REINIT:
            a.reinit = &p->reinit;
            break;
        case MLS_PROPOSAL_UPDATE:
        case MLS_PROPOSAL_REMOVE:
        case MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS:
            /* RFC 9420 §12.4: path required types. */
            a.path_required = 1;
            break;
        default:
            break;
        }
    }

    /* Checks against the new state.  With new extensions every member must
     * support them (§12.1.7); otherwise only the new or changed leaves need
     * checking against the required capabilities. */
    if (a.gce) {
        if ((err = mls_extensions_check(&next_ctx->extensions, next_tree)) != 0)
            goto out;
    } else {
        for (i = 0; i < n; i++) {
            const mls_proposal *p = items[i].p;
            const mls_leaf_node *ln = p->type == MLS_PROPOSAL_ADD ? &p->add.key_package.leaf_node
                                      : p->type == MLS_PROPOSAL_UPDATE ? &p->update.leaf_node
                                                                       : NULL;
            if (ln && !leaf_supports_ext(ln, &next_ctx->extensions, has_rc ? &rc : NULL)) {
                err = MLS_ERR_INVALID;
                goto out;
            }
        }
    }
    /* §7.3: credential types of new and updated leaves are supported by
     * all members, and they support all types in use (the tree's per-type
     * counts: no scan of the members). */
    for (i = 0, k = 0; i < n; i++) {
        const mls_proposal *p = items[i].p;
        const mls_leaf_node *ln = NULL;
        uint32_t leaf = 0;
        if (p->type == MLS_PROPOSAL_ADD) {
            ln = &p->add.key_package.leaf_node;
            leaf = a.added[k++];
        } else if (p->type == MLS_PROPOSAL_UPDATE) {
            ln = &p->update.leaf_node;
            leaf = items[i].sender.index;
        }
        if (ln && mls_rtree_check_leaf_fits(next_tree, ln, leaf) != 0) {
            err = MLS_ERR_INVALID;
            goto out;
        }
    }
    *out = a;
    memset(&a, 0, sizeof(a));
out:
    mls_required_capabilities_clear(&rc);
    mls_applied_clear(&a);
    return err;
}
