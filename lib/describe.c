/*
 * Descriptions of members and proposals for applications: see describe.h.
 */
#include "describe.h"

#include <stdlib.h>
#include <string.h>

int mls_sc_member_set(mls_sc_member *m, uint32_t leaf, const mls_leaf_node *ln)
{
    int err;

    mls_sc_member_clear(m);
    m->leaf = leaf;
    if (!ln)
        return 0;
    m->present = 1;
    m->credential_type = ln->credential.type;
    if ((err = mls_credential_encode(&ln->credential, &m->credential)) != 0 ||
        (err = mls_buf_copy(&m->signature_key, &ln->signature_key)) != 0 ||
        (err = mls_buf_copy(&m->encryption_key, &ln->encryption_key)) != 0 ||
        (ln->credential.type == MLS_CREDENTIAL_BASIC &&
         (err = mls_buf_copy(&m->identity, &ln->credential.identity)) != 0)) {
        mls_sc_member_clear(m);
        return err;
    }
    return 0;
}

void mls_sc_member_clear(mls_sc_member *m)
{
    if (!m)
        return;
    mls_buf_clear(&m->credential);
    mls_buf_clear(&m->identity);
    mls_buf_clear(&m->signature_key);
    mls_buf_clear(&m->encryption_key);
    memset(m, 0, sizeof(*m));
}

void mls_sc_member_view(const mls_sc_member *m, mls_member *out)
{
    memset(out, 0, sizeof(*out));
    out->leaf = m->leaf;
    if (!m->present)
        return;
    out->credential = mls_buf_view(&m->credential);
    out->credential_type = m->credential_type;
    out->identity = mls_buf_view(&m->identity);
    out->signature_key = mls_buf_view(&m->signature_key);
    out->encryption_key = mls_buf_view(&m->encryption_key);
}

int mls_ext_views(const mls_extension_list *l, mls_ext **out, size_t *n)
{
    mls_ext *v = calloc(l->n + 1, sizeof(*v));

    if (!v)
        return MLS_ERR_NOMEM;
    for (size_t i = 0; i < l->n; i++) {
        v[i].type = l->v[i].type;
        v[i].data = mls_buf_view(&l->v[i].data);
    }
    free(*out);
    *out = v;
    *n = l->n;
    return 0;
}

int mls_sc_proposal_build(const mls_proposal *p, const mls_sender *sender, int by_reference,
                          mls_bytes ref, const mls_rtree *tree, uint32_t add_leaf,
                          mls_sc_proposal *out)
{
    mls_sc_proposal d;
    int err;

    memset(&d, 0, sizeof(d));
    d.sender = *sender;
    d.by_reference = by_reference;
    if ((err = mls_proposal_copy(&d.p, p)) != 0 || (err = mls_buf_set(&d.ref, ref.p, ref.n)) != 0)
        goto out;
    switch (p->type) {
    case MLS_PROPOSAL_ADD:
        err = mls_sc_member_set(&d.after, add_leaf, &d.p.add.key_package.leaf_node);
        break;
    case MLS_PROPOSAL_UPDATE:
        /* RFC 9420 §12.1.2: an Update replaces its sender's own leaf. */
        if ((err = mls_sc_member_set(&d.before, sender->index,
                                     mls_rtree_leaf(tree, sender->index))) == 0)
            err = mls_sc_member_set(&d.after, sender->index, &d.p.update.leaf_node);
        break;
    case MLS_PROPOSAL_REMOVE:
        err = mls_sc_member_set(&d.before, p->remove.removed,
                                mls_rtree_leaf(tree, p->remove.removed));
        break;
    case MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS:
        err = mls_ext_views(&d.p.group_context_extensions.extensions, &d.exts, &d.n_exts);
        break;
    case MLS_PROPOSAL_REINIT:
        err = mls_ext_views(&d.p.reinit.extensions, &d.exts, &d.n_exts);
        break;
    default:
        break;
    }
    if (err)
        goto out;
    *out = d;
    memset(&d, 0, sizeof(d));
out:
    mls_sc_proposal_clear(&d);
    return err;
}

void mls_sc_proposal_clear(mls_sc_proposal *d)
{
    if (!d)
        return;
    mls_proposal_clear(&d->p);
    mls_buf_clear(&d->ref);
    mls_sc_member_clear(&d->before);
    mls_sc_member_clear(&d->after);
    free(d->exts);
    memset(d, 0, sizeof(*d));
}

void mls_sc_proposal_view(const mls_sc_proposal *d, mls_proposal_info *out)
{
    const mls_proposal *p = &d->p;

    memset(out, 0, sizeof(*out));
    out->type = p->type;
    out->sender_type = d->sender.type;
    out->sender_index = d->sender.index;
    out->by_reference = d->by_reference;
    out->ref = mls_buf_view(&d->ref);
    out->has_before = d->before.present;
    out->has_after = d->after.present;
    mls_sc_member_view(&d->before, &out->before);
    mls_sc_member_view(&d->after, &out->after);
    out->extensions = d->exts;
    out->n_extensions = d->n_exts;
    switch (p->type) {
    case MLS_PROPOSAL_PSK:
        out->psk_type = p->psk.psk.type;
        out->psk_id = mls_buf_view(&p->psk.psk.psk_id);
        out->psk_usage = p->psk.psk.usage;
        out->psk_group_id = mls_buf_view(&p->psk.psk.psk_group_id);
        out->psk_epoch = p->psk.psk.psk_epoch;
        out->psk_nonce = mls_buf_view(&p->psk.psk.psk_nonce);
        break;
    case MLS_PROPOSAL_REINIT:
        out->reinit_group_id = mls_buf_view(&p->reinit.group_id);
        out->reinit_version = p->reinit.version;
        out->reinit_suite = p->reinit.cipher_suite;
        break;
    case MLS_PROPOSAL_EXTERNAL_INIT:
        out->kem_output = mls_buf_view(&p->external_init.kem_output);
        break;
    default:
        break;
    }
}
