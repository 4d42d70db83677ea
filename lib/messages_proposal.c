/*
 * RFC 9420 wire structures, part 2: proposals (§12.1) and Commit (§12.4).
 */
#include "messages_internal.h"

#include <stddef.h>
#include <string.h>

MSG_GLUE(add)
MSG_GLUE(update)
MSG_GLUE(remove)
MSG_GLUE(pre_shared_key)
MSG_GLUE(reinit)
MSG_GLUE(external_init)
MSG_GLUE(group_context_extensions)
MSG_GLUE(proposal)
MSG_GLUE(proposal_or_ref)
MSG_GLUE(commit)

/* ------------------------------------------------------------ §12.1.1 Add */

int mls_add_decode(mls_reader *r, mls_add *out)
{
    memset(out, 0, sizeof(*out));
    return mls_key_package_decode(r, &out->key_package);
}

int mls_add_encode(const mls_add *x, mls_buf *w)
{
    return mls_key_package_encode(&x->key_package, w);
}

void mls_add_clear(mls_add *x)
{
    mls_key_package_clear(&x->key_package);
}

/* ------------------------------------------------------------ §12.1.2 Update */

int mls_update_decode(mls_reader *r, mls_update *out)
{
    memset(out, 0, sizeof(*out));
    return mls_leaf_node_decode(r, &out->leaf_node);
}

int mls_update_encode(const mls_update *x, mls_buf *w)
{
    return mls_leaf_node_encode(&x->leaf_node, w);
}

void mls_update_clear(mls_update *x)
{
    mls_leaf_node_clear(&x->leaf_node);
}

/* ------------------------------------------------------------ §12.1.3 Remove */

int mls_remove_decode(mls_reader *r, mls_remove *out)
{
    memset(out, 0, sizeof(*out));
    return mls_read_u32(r, &out->removed);
}

int mls_remove_encode(const mls_remove *x, mls_buf *w)
{
    return mls_write_u32(w, x->removed);
}

void mls_remove_clear(mls_remove *x)
{
    x->removed = 0;
}

/* ------------------------------------------------------------ §12.1.4 PreSharedKey */

int mls_pre_shared_key_decode(mls_reader *r, mls_pre_shared_key *out)
{
    memset(out, 0, sizeof(*out));
    return mls_psk_id_decode(r, &out->psk);
}

int mls_pre_shared_key_encode(const mls_pre_shared_key *x, mls_buf *w)
{
    return mls_psk_id_encode(&x->psk, w);
}

void mls_pre_shared_key_clear(mls_pre_shared_key *x)
{
    mls_psk_id_clear(&x->psk);
}

/* ------------------------------------------------------------ §12.1.5 ReInit */

int mls_reinit_decode(mls_reader *r, mls_reinit *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_read_vec_buf(r, &out->group_id));
    MSG_TRY(mls_read_u16(r, &out->version));
    MSG_TRY(mls_read_u16(r, &out->cipher_suite));
    MSG_TRY(mls_extension_list_decode(r, &out->extensions));
out:
    if (err) {
        mls_reinit_clear(out);
        r->off = save;
    }
    return err;
}

int mls_reinit_encode(const mls_reinit *x, mls_buf *w)
{
    int err;
    MSG_TRY(msg_write_buf(w, &x->group_id));
    MSG_TRY(mls_write_u16(w, x->version));
    MSG_TRY(mls_write_u16(w, x->cipher_suite));
    MSG_TRY(mls_extension_list_encode(&x->extensions, w));
out:
    return err;
}

void mls_reinit_clear(mls_reinit *x)
{
    mls_buf_clear(&x->group_id);
    mls_extension_list_clear(&x->extensions);
    memset(x, 0, sizeof(*x));
}

/* ------------------------------------------------------------ §12.1.6 ExternalInit */

int mls_external_init_decode(mls_reader *r, mls_external_init *out)
{
    memset(out, 0, sizeof(*out));
    return mls_read_vec_buf(r, &out->kem_output);
}

int mls_external_init_encode(const mls_external_init *x, mls_buf *w)
{
    return msg_write_buf(w, &x->kem_output);
}

void mls_external_init_clear(mls_external_init *x)
{
    mls_buf_clear(&x->kem_output);
}

/* ------------------------------------------------------------ §12.1.7 GroupContextExtensions */

int mls_group_context_extensions_decode(mls_reader *r, mls_group_context_extensions *out)
{
    memset(out, 0, sizeof(*out));
    return mls_extension_list_decode(r, &out->extensions);
}

int mls_group_context_extensions_encode(const mls_group_context_extensions *x, mls_buf *w)
{
    return mls_extension_list_encode(&x->extensions, w);
}

void mls_group_context_extensions_clear(mls_group_context_extensions *x)
{
    mls_extension_list_clear(&x->extensions);
}

/* ------------------------------------------------------------ §12.1 Proposal */

/* RFC 9420 §12.1: the proposal types this library implements. */
static const msg_variant proposal_bodies[] = {
    {MLS_PROPOSAL_ADD, offsetof(mls_proposal, add), add_dec_v, add_enc_v, add_clr_v},
    {MLS_PROPOSAL_UPDATE, offsetof(mls_proposal, update), update_dec_v, update_enc_v, update_clr_v},
    {MLS_PROPOSAL_REMOVE, offsetof(mls_proposal, remove), remove_dec_v, remove_enc_v, remove_clr_v},
    {MLS_PROPOSAL_PSK, offsetof(mls_proposal, psk), pre_shared_key_dec_v, pre_shared_key_enc_v,
     pre_shared_key_clr_v},
    {MLS_PROPOSAL_REINIT, offsetof(mls_proposal, reinit), reinit_dec_v, reinit_enc_v, reinit_clr_v},
    {MLS_PROPOSAL_EXTERNAL_INIT, offsetof(mls_proposal, external_init), external_init_dec_v,
     external_init_enc_v, external_init_clr_v},
    {MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS, offsetof(mls_proposal, group_context_extensions),
     group_context_extensions_dec_v, group_context_extensions_enc_v,
     group_context_extensions_clr_v},
};

static const msg_variant *proposal_body(uint16_t type)
{
    return msg_variant_find(proposal_bodies, sizeof(proposal_bodies) / sizeof(proposal_bodies[0]),
                            type);
}

int mls_proposal_decode(mls_reader *r, mls_proposal *out)
{
    size_t save = r->off;
    const msg_variant *v;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_read_u16(r, &out->type));
    if (!(v = proposal_body(out->type))) {
        /* RFC 9420 §12.1: the body of another proposal type has a layout
         * only its definition knows, so it cannot even be skipped (§17.2:
         * GREASE values are never sent as proposal types). */
        err = MLS_ERR_UNSUPPORTED;
        goto out;
    }
    MSG_TRY(v->dec(r, (uint8_t *)out + v->offset));
out:
    if (err) {
        mls_proposal_clear(out);
        r->off = save;
    }
    return err;
}

int mls_proposal_encode(const mls_proposal *x, mls_buf *w)
{
    const msg_variant *v;
    int err;
    MSG_TRY(mls_write_u16(w, x->type));
    if (!(v = proposal_body(x->type))) {
        err = MLS_ERR_ARG;
        goto out;
    }
    MSG_TRY(v->enc((const uint8_t *)x + v->offset, w));
out:
    return err;
}

void mls_proposal_clear(mls_proposal *x)
{
    const msg_variant *v = proposal_body(x->type);
    if (v)
        v->clr((uint8_t *)x + v->offset);
    memset(x, 0, sizeof(*x));
}

/* ------------------------------------------------------------ §12.4 ProposalOrRef, Commit */

int mls_proposal_or_ref_decode(mls_reader *r, mls_proposal_or_ref *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(msg_read_enum8(r, MLS_POR_PROPOSAL, MLS_POR_REFERENCE, &out->type));
    if (out->type == MLS_POR_PROPOSAL)
        MSG_TRY(mls_proposal_decode(r, &out->proposal));
    else
        MSG_TRY(mls_read_vec_buf(r, &out->reference));
out:
    if (err) {
        mls_proposal_or_ref_clear(out);
        r->off = save;
    }
    return err;
}

int mls_proposal_or_ref_encode(const mls_proposal_or_ref *x, mls_buf *w)
{
    int err;
    MSG_TRY(mls_write_u8(w, x->type));
    switch (x->type) {
    case MLS_POR_PROPOSAL:
        MSG_TRY(mls_proposal_encode(&x->proposal, w));
        break;
    case MLS_POR_REFERENCE:
        MSG_TRY(msg_write_buf(w, &x->reference));
        break;
    default:
        err = MLS_ERR_ARG;
        goto out;
    }
out:
    return err;
}

void mls_proposal_or_ref_clear(mls_proposal_or_ref *x)
{
    mls_proposal_clear(&x->proposal);
    mls_buf_clear(&x->reference);
    x->type = 0;
}

int mls_commit_decode(mls_reader *r, mls_commit *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(msg_read_list(r, &out->proposals, &out->n_proposals, sizeof(mls_proposal_or_ref),
                          proposal_or_ref_dec_v, proposal_or_ref_clr_v));
    MSG_TRY(mls_read_optional(r, &out->has_path));
    if (out->has_path)
        MSG_TRY(mls_update_path_decode(r, &out->path));
out:
    if (err) {
        mls_commit_clear(out);
        r->off = save;
    }
    return err;
}

int mls_commit_encode(const mls_commit *x, mls_buf *w)
{
    int err;
    MSG_TRY(msg_write_list(w, x->proposals, x->n_proposals, sizeof(mls_proposal_or_ref),
                           proposal_or_ref_enc_v));
    MSG_TRY(mls_write_u8(w, x->has_path ? 1 : 0));
    if (x->has_path)
        MSG_TRY(mls_update_path_encode(&x->path, w));
out:
    return err;
}

void mls_commit_clear(mls_commit *x)
{
    msg_clear_list(&x->proposals, &x->n_proposals, sizeof(mls_proposal_or_ref),
                   proposal_or_ref_clr_v);
    mls_update_path_clear(&x->path);
    x->has_path = 0;
}
