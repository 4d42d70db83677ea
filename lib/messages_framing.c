/*
 * RFC 9420 wire structures, part 3: message framing (§6): Sender,
 * FramedContent, FramedContentAuthData, AuthenticatedContent,
 * PublicMessage, PrivateMessage, PrivateMessageContent, SenderData, and the
 * encodings that are signed, MACed, hashed or used as AEAD data (§6.1,
 * §6.2, §6.3, §8.2).
 */
#include "messages_internal.h"

#include <string.h>

MSG_GLUE(sender)
MSG_GLUE(framed_content)
MSG_GLUE(authenticated_content)
MSG_GLUE(public_message)
MSG_GLUE(private_message)
MSG_GLUE(sender_data)

/* ------------------------------------------------------------ Sender */

int mls_sender_decode(mls_reader *r, mls_sender *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(msg_read_enum8(r, MLS_SENDER_MEMBER, MLS_SENDER_NEW_MEMBER_COMMIT, &out->type));
    if (out->type == MLS_SENDER_MEMBER || out->type == MLS_SENDER_EXTERNAL)
        MSG_TRY(mls_read_u32(r, &out->index));
out:
    if (err) {
        mls_sender_clear(out);
        r->off = save;
    }
    return err;
}

int mls_sender_encode(const mls_sender *x, mls_buf *w)
{
    int err;
    if (x->type < MLS_SENDER_MEMBER || x->type > MLS_SENDER_NEW_MEMBER_COMMIT)
        return MLS_ERR_ARG;
    MSG_TRY(mls_write_u8(w, x->type));
    if (x->type == MLS_SENDER_MEMBER || x->type == MLS_SENDER_EXTERNAL)
        MSG_TRY(mls_write_u32(w, x->index));
out:
    return err;
}

void mls_sender_clear(mls_sender *x)
{
    memset(x, 0, sizeof(*x));
}

/* ------------------------------------------------------------ content bodies */

/* The select on content_type shared by FramedContent and
 * PrivateMessageContent.  The three members share a union: only the one
 * content_type names is live. */
static int body_decode(mls_reader *r, uint8_t content_type, mls_buf *application_data,
                       mls_proposal *proposal, mls_commit *commit)
{
    switch (content_type) {
    case MLS_CONTENT_APPLICATION:
        mls_buf_init(application_data);
        return mls_read_vec_buf(r, application_data);
    case MLS_CONTENT_PROPOSAL:
        return mls_proposal_decode(r, proposal);
    case MLS_CONTENT_COMMIT:
        return mls_commit_decode(r, commit);
    default:
        return MLS_ERR_MALFORMED;
    }
}

static int body_encode(mls_buf *w, uint8_t content_type, const mls_buf *application_data,
                       const mls_proposal *proposal, const mls_commit *commit)
{
    switch (content_type) {
    case MLS_CONTENT_APPLICATION:
        return msg_write_buf(w, application_data);
    case MLS_CONTENT_PROPOSAL:
        return mls_proposal_encode(proposal, w);
    case MLS_CONTENT_COMMIT:
        return mls_commit_encode(commit, w);
    default:
        return MLS_ERR_ARG;
    }
}

static void body_clear(uint8_t content_type, mls_buf *application_data, mls_proposal *proposal,
                       mls_commit *commit)
{
    switch (content_type) {
    case MLS_CONTENT_APPLICATION:
        mls_buf_clear(application_data);
        break;
    case MLS_CONTENT_PROPOSAL:
        mls_proposal_clear(proposal);
        break;
    case MLS_CONTENT_COMMIT:
        mls_commit_clear(commit);
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------ FramedContent */

int mls_framed_content_decode(mls_reader *r, mls_framed_content *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_read_vec_buf(r, &out->group_id));
    MSG_TRY(mls_read_u64(r, &out->epoch));
    MSG_TRY(mls_sender_decode(r, &out->sender));
    MSG_TRY(mls_read_vec_buf(r, &out->authenticated_data));
    MSG_TRY(msg_read_enum8(r, MLS_CONTENT_APPLICATION, MLS_CONTENT_COMMIT, &out->content_type));
    MSG_TRY(body_decode(r, out->content_type, &out->application_data, &out->proposal,
                        &out->commit));
out:
    if (err) {
        mls_framed_content_clear(out);
        r->off = save;
    }
    return err;
}

int mls_framed_content_encode(const mls_framed_content *x, mls_buf *w)
{
    int err;
    MSG_TRY(msg_write_buf(w, &x->group_id));
    MSG_TRY(mls_write_u64(w, x->epoch));
    MSG_TRY(mls_sender_encode(&x->sender, w));
    MSG_TRY(msg_write_buf(w, &x->authenticated_data));
    MSG_TRY(mls_write_u8(w, x->content_type));
    MSG_TRY(body_encode(w, x->content_type, &x->application_data, &x->proposal, &x->commit));
out:
    return err;
}

void mls_framed_content_clear(mls_framed_content *x)
{
    mls_buf_clear(&x->group_id);
    mls_buf_clear(&x->authenticated_data);
    body_clear(x->content_type, &x->application_data, &x->proposal, &x->commit);
    memset(x, 0, sizeof(*x));
}

/* ------------------------------------------------------------ FramedContentAuthData */

int mls_framed_content_auth_data_decode(mls_reader *r, uint8_t content_type,
                                        mls_framed_content_auth_data *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    if (content_type < MLS_CONTENT_APPLICATION || content_type > MLS_CONTENT_COMMIT) {
        err = MLS_ERR_ARG;
        goto out;
    }
    MSG_TRY(mls_read_vec_buf(r, &out->signature));
    /* RFC 9420 §6.1: only commits carry a confirmation_tag. */
    if (content_type == MLS_CONTENT_COMMIT)
        MSG_TRY(mls_read_vec_buf(r, &out->confirmation_tag));
out:
    if (err) {
        mls_framed_content_auth_data_clear(out);
        r->off = save;
    }
    return err;
}

int mls_framed_content_auth_data_encode(const mls_framed_content_auth_data *x,
                                        uint8_t content_type, mls_buf *w)
{
    int err;
    if (content_type < MLS_CONTENT_APPLICATION || content_type > MLS_CONTENT_COMMIT)
        return MLS_ERR_ARG;
    MSG_TRY(msg_write_buf(w, &x->signature));
    if (content_type == MLS_CONTENT_COMMIT)
        MSG_TRY(msg_write_buf(w, &x->confirmation_tag));
out:
    return err;
}

void mls_framed_content_auth_data_clear(mls_framed_content_auth_data *x)
{
    mls_buf_clear(&x->signature);
    mls_buf_clear(&x->confirmation_tag);
}

/* ------------------------------------------------------------ AuthenticatedContent */

int mls_authenticated_content_decode(mls_reader *r, mls_authenticated_content *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_read_u16(r, &out->wire_format));
    /* RFC 9420 §6: content is framed only as a public or private message. */
    if (out->wire_format != MLS_WIRE_PUBLIC_MESSAGE &&
        out->wire_format != MLS_WIRE_PRIVATE_MESSAGE) {
        err = MLS_ERR_MALFORMED;
        goto out;
    }
    MSG_TRY(mls_framed_content_decode(r, &out->content));
    MSG_TRY(mls_framed_content_auth_data_decode(r, out->content.content_type, &out->auth));
out:
    if (err) {
        mls_authenticated_content_clear(out);
        r->off = save;
    }
    return err;
}

int mls_authenticated_content_encode(const mls_authenticated_content *x, mls_buf *w)
{
    int err;
    MSG_TRY(mls_write_u16(w, x->wire_format));
    MSG_TRY(mls_framed_content_encode(&x->content, w));
    MSG_TRY(mls_framed_content_auth_data_encode(&x->auth, x->content.content_type, w));
out:
    return err;
}

void mls_authenticated_content_clear(mls_authenticated_content *x)
{
    mls_framed_content_clear(&x->content);
    mls_framed_content_auth_data_clear(&x->auth);
    x->wire_format = 0;
}

/* ------------------------------------------------------------ PublicMessage */

int mls_public_message_decode(mls_reader *r, mls_public_message *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_framed_content_decode(r, &out->content));
    MSG_TRY(mls_framed_content_auth_data_decode(r, out->content.content_type, &out->auth));
    /* RFC 9420 §6.2: only members have a membership key to MAC with. */
    if (out->content.sender.type == MLS_SENDER_MEMBER)
        MSG_TRY(mls_read_vec_buf(r, &out->membership_tag));
out:
    if (err) {
        mls_public_message_clear(out);
        r->off = save;
    }
    return err;
}

int mls_public_message_encode(const mls_public_message *x, mls_buf *w)
{
    int err;
    MSG_TRY(mls_framed_content_encode(&x->content, w));
    MSG_TRY(mls_framed_content_auth_data_encode(&x->auth, x->content.content_type, w));
    if (x->content.sender.type == MLS_SENDER_MEMBER)
        MSG_TRY(msg_write_buf(w, &x->membership_tag));
out:
    return err;
}

void mls_public_message_clear(mls_public_message *x)
{
    mls_framed_content_clear(&x->content);
    mls_framed_content_auth_data_clear(&x->auth);
    mls_buf_clear(&x->membership_tag);
}

/* ------------------------------------------------------------ PrivateMessage */

int mls_private_message_decode(mls_reader *r, mls_private_message *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_read_vec_buf(r, &out->group_id));
    MSG_TRY(mls_read_u64(r, &out->epoch));
    MSG_TRY(msg_read_enum8(r, MLS_CONTENT_APPLICATION, MLS_CONTENT_COMMIT, &out->content_type));
    MSG_TRY(mls_read_vec_buf(r, &out->authenticated_data));
    MSG_TRY(mls_read_vec_buf(r, &out->encrypted_sender_data));
    MSG_TRY(mls_read_vec_buf(r, &out->ciphertext));
out:
    if (err) {
        mls_private_message_clear(out);
        r->off = save;
    }
    return err;
}

int mls_private_message_encode(const mls_private_message *x, mls_buf *w)
{
    int err;
    if (x->content_type < MLS_CONTENT_APPLICATION || x->content_type > MLS_CONTENT_COMMIT)
        return MLS_ERR_ARG;
    MSG_TRY(msg_write_buf(w, &x->group_id));
    MSG_TRY(mls_write_u64(w, x->epoch));
    MSG_TRY(mls_write_u8(w, x->content_type));
    MSG_TRY(msg_write_buf(w, &x->authenticated_data));
    MSG_TRY(msg_write_buf(w, &x->encrypted_sender_data));
    MSG_TRY(msg_write_buf(w, &x->ciphertext));
out:
    return err;
}

void mls_private_message_clear(mls_private_message *x)
{
    mls_buf_clear(&x->group_id);
    mls_buf_clear(&x->authenticated_data);
    mls_buf_clear(&x->encrypted_sender_data);
    mls_buf_clear(&x->ciphertext);
    memset(x, 0, sizeof(*x));
}

/* ------------------------------------------------------------ PrivateMessageContent */

int mls_private_message_content_decode(mls_reader *r, uint8_t content_type,
                                       mls_private_message_content *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    if (content_type < MLS_CONTENT_APPLICATION || content_type > MLS_CONTENT_COMMIT) {
        err = MLS_ERR_ARG;
        goto out;
    }
    out->content_type = content_type;
    MSG_TRY(body_decode(r, content_type, &out->application_data, &out->proposal, &out->commit));
    MSG_TRY(mls_framed_content_auth_data_decode(r, content_type, &out->auth));
    /* RFC 9420 §6.3.1: the rest is padding, which MUST be all zero bytes;
     * anything else makes the message malformed. */
    out->padding = mls_reader_left(r);
    {
        uint8_t acc = 0;
        for (size_t i = 0; i < out->padding; i++)
            acc |= r->p[r->off + i];
        if (acc) {
            err = MLS_ERR_MALFORMED;
            goto out;
        }
    }
    r->off = r->n;
out:
    if (err) {
        mls_private_message_content_clear(out);
        r->off = save;
    }
    return err;
}

int mls_private_message_content_encode(const mls_private_message_content *x, mls_buf *w)
{
    static const uint8_t zeros[64];
    int err;
    MSG_TRY(body_encode(w, x->content_type, &x->application_data, &x->proposal, &x->commit));
    MSG_TRY(mls_framed_content_auth_data_encode(&x->auth, x->content_type, w));
    for (size_t left = x->padding; left > 0;) {
        size_t k = left < sizeof(zeros) ? left : sizeof(zeros);
        MSG_TRY(mls_write_fixed(w, zeros, k));
        left -= k;
    }
out:
    return err;
}

void mls_private_message_content_clear(mls_private_message_content *x)
{
    body_clear(x->content_type, &x->application_data, &x->proposal, &x->commit);
    mls_framed_content_auth_data_clear(&x->auth);
    memset(x, 0, sizeof(*x));
}

/* ------------------------------------------------------------ SenderData */

int mls_sender_data_decode(mls_reader *r, mls_sender_data *out)
{
    size_t save = r->off;
    mls_bytes guard;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_read_u32(r, &out->leaf_index));
    MSG_TRY(mls_read_u32(r, &out->generation));
    MSG_TRY(mls_read_fixed(r, sizeof(out->reuse_guard), &guard));
    memcpy(out->reuse_guard, guard.p, sizeof(out->reuse_guard));
out:
    if (err) {
        mls_sender_data_clear(out);
        r->off = save;
    }
    return err;
}

int mls_sender_data_encode(const mls_sender_data *x, mls_buf *w)
{
    int err;
    MSG_TRY(mls_write_u32(w, x->leaf_index));
    MSG_TRY(mls_write_u32(w, x->generation));
    MSG_TRY(mls_write_fixed(w, x->reuse_guard, sizeof(x->reuse_guard)));
out:
    return err;
}

void mls_sender_data_clear(mls_sender_data *x)
{
    mls_wipe(x, sizeof(*x));
}

/* ------------------------------------------------------------ signed and MACed encodings */

int mls_framed_content_tbs_encode(uint16_t wire_format, const mls_framed_content *content,
                                  mls_bytes group_context, mls_buf *w)
{
    int with_context = content->sender.type == MLS_SENDER_MEMBER ||
                       content->sender.type == MLS_SENDER_NEW_MEMBER_COMMIT;
    int err;

    /* RFC 9420 §6.1: members and new members committing sign the epoch's
     * GroupContext along with the content. */
    if (with_context && group_context.n == 0)
        return MLS_ERR_ARG;
    MSG_TRY(mls_write_u16(w, MLS_VERSION_MLS10));
    MSG_TRY(mls_write_u16(w, wire_format));
    MSG_TRY(mls_framed_content_encode(content, w));
    if (with_context)
        MSG_TRY(mls_write_fixed(w, group_context.p, group_context.n));
out:
    return err;
}

int mls_authenticated_content_tbm_encode(const mls_framed_content *content,
                                         const mls_framed_content_auth_data *auth,
                                         mls_bytes group_context, mls_buf *w)
{
    int err;
    /* RFC 9420 §6.2: membership tags exist only on PublicMessage. */
    MSG_TRY(mls_framed_content_tbs_encode(MLS_WIRE_PUBLIC_MESSAGE, content, group_context, w));
    MSG_TRY(mls_framed_content_auth_data_encode(auth, content->content_type, w));
out:
    return err;
}

int mls_confirmed_transcript_hash_input_encode(uint16_t wire_format,
                                               const mls_framed_content *content,
                                               mls_bytes signature, mls_buf *w)
{
    int err;
    if (content->content_type != MLS_CONTENT_COMMIT)
        return MLS_ERR_ARG;
    MSG_TRY(mls_write_u16(w, wire_format));
    MSG_TRY(mls_framed_content_encode(content, w));
    MSG_TRY(mls_write_vec_bytes(w, signature));
out:
    return err;
}

int mls_interim_transcript_hash_input_encode(mls_bytes confirmation_tag, mls_buf *w)
{
    return mls_write_vec_bytes(w, confirmation_tag);
}

int mls_private_content_aad_encode(mls_bytes group_id, uint64_t epoch, uint8_t content_type,
                                   mls_bytes authenticated_data, mls_buf *w)
{
    int err;
    MSG_TRY(mls_write_vec_bytes(w, group_id));
    MSG_TRY(mls_write_u64(w, epoch));
    MSG_TRY(mls_write_u8(w, content_type));
    MSG_TRY(mls_write_vec_bytes(w, authenticated_data));
out:
    return err;
}

int mls_sender_data_aad_encode(mls_bytes group_id, uint64_t epoch, uint8_t content_type,
                               mls_buf *w)
{
    int err;
    MSG_TRY(mls_write_vec_bytes(w, group_id));
    MSG_TRY(mls_write_u64(w, epoch));
    MSG_TRY(mls_write_u8(w, content_type));
out:
    return err;
}
