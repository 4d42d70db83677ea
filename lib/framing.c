/* RFC 9420 §6: content authentication, PublicMessage, PrivateMessage. */
#include "framing.h"

#include "crypto.h"
#include "detail.h"
#include "key_schedule.h"

#include <string.h>

#define REUSE_GUARD_LEN 4

int mls_framing_check_sender(uint16_t wire_format, const mls_framed_content *content)
{
    if (!content)
        return MLS_ERR_ARG;
    if (wire_format != MLS_WIRE_PUBLIC_MESSAGE && wire_format != MLS_WIRE_PRIVATE_MESSAGE)
        return MLS_ERR_ARG;
    /* RFC 9420 §6: application messages MUST be PrivateMessages. */
    if (content->content_type == MLS_CONTENT_APPLICATION && wire_format != MLS_WIRE_PRIVATE_MESSAGE)
        return MLS_DETAIL(MLS_ERR_INVALID, "RFC 9420 §6: application data not in a PrivateMessage");
    /* §6.3.2: SenderData names a leaf, so only members encrypt. */
    if (wire_format == MLS_WIRE_PRIVATE_MESSAGE && content->sender.type != MLS_SENDER_MEMBER)
        return MLS_DETAIL(MLS_ERR_INVALID, "RFC 9420 §6.3.2: a PrivateMessage from a non-member");
    switch (content->sender.type) {
    case MLS_SENDER_MEMBER:
        return MLS_OK;
    case MLS_SENDER_EXTERNAL:
        /* §6.1: an external sender's content type MUST be proposal; which
         * proposal types it may send is the group's policy (§12.1.8). */
        return content->content_type == MLS_CONTENT_PROPOSAL
                   ? MLS_OK
                   : MLS_DETAIL(MLS_ERR_INVALID, "RFC 9420 §6.1: external sender of a non-proposal");
    case MLS_SENDER_NEW_MEMBER_PROPOSAL:
        /* §6.1: proposal, and the proposal MUST be an Add. */
        return content->content_type == MLS_CONTENT_PROPOSAL &&
                       content->proposal.type == MLS_PROPOSAL_ADD
                   ? MLS_OK
                   : MLS_DETAIL(MLS_ERR_INVALID,
                                "RFC 9420 §6.1: new_member_proposal sender of a non-Add");
    case MLS_SENDER_NEW_MEMBER_COMMIT:
        return content->content_type == MLS_CONTENT_COMMIT
                   ? MLS_OK
                   : MLS_DETAIL(MLS_ERR_INVALID,
                                "RFC 9420 §6.1: new_member_commit sender of a non-commit");
    default:
        return MLS_DETAIL(MLS_ERR_INVALID, "RFC 9420 §6: unknown sender type");
    }
}

/* The content must be for the ctx's group and epoch. */
static int same_group_epoch(const mls_framing_ctx *ctx, mls_bytes group_id, uint64_t epoch)
{
    if (group_id.n != ctx->group_id.n ||
        (group_id.n && memcmp(group_id.p, ctx->group_id.p, group_id.n) != 0))
        return MLS_ERR_WRONG_GROUP;
    if (epoch != ctx->epoch)
        return MLS_ERR_WRONG_EPOCH;
    return MLS_OK;
}

static int check_ctx(const mls_framing_ctx *ctx)
{
    if (!ctx || !ctx->suite || (ctx->group_id.n && !ctx->group_id.p) ||
        (ctx->group_context.n && !ctx->group_context.p))
        return MLS_ERR_ARG;
    return MLS_OK;
}

/* RFC 9420 §6.1: a Commit's auth carries an Nh-byte confirmation tag; other
 * content types carry none (their encoding has no field for it). */
static int tag_ok(const mls_suite *s, const mls_authenticated_content *ac)
{
    if (ac->content.content_type == MLS_CONTENT_COMMIT)
        return ac->auth.confirmation_tag.n == s->nh;
    return ac->auth.confirmation_tag.n == 0;
}

int mls_framing_sign(const mls_framing_ctx *ctx, const mls_env *env, uint16_t wire_format,
                     const mls_framed_content *content, mls_bytes sig_priv,
                     mls_authenticated_content *out)
{
    mls_authenticated_content ac;
    mls_buf tbs;
    int err;

    if ((err = check_ctx(ctx)) || !content || !out)
        return err ? err : MLS_ERR_ARG;
    if (same_group_epoch(ctx, mls_buf_view(&content->group_id), content->epoch))
        return MLS_ERR_ARG;
    if ((err = mls_framing_check_sender(wire_format, content)))
        return err;
    memset(&ac, 0, sizeof(ac));
    mls_buf_init(&tbs);
    ac.wire_format = wire_format;
    if ((err = mls_framed_content_copy(&ac.content, content)) ||
        (err = mls_framed_content_tbs_encode(wire_format, content, ctx->group_context, &tbs)) ||
        (err = mls_sign_with_label(ctx->suite, env, sig_priv, "FramedContentTBS",
                                   mls_buf_view(&tbs), &ac.auth.signature)))
        goto out;
    *out = ac;
    memset(&ac, 0, sizeof(ac));
out:
    mls_authenticated_content_clear(&ac);
    mls_buf_clear(&tbs);
    return err;
}

int mls_framing_verify_signature(const mls_suite *s, const mls_authenticated_content *ac,
                                 mls_bytes group_context, mls_bytes sig_pub)
{
    mls_buf tbs;
    int err;

    if (!s || !ac)
        return MLS_ERR_ARG;
    mls_buf_init(&tbs);
    err = mls_framed_content_tbs_encode(ac->wire_format, &ac->content, group_context, &tbs);
    if (!err)
        err = mls_verify_with_label(s, sig_pub, "FramedContentTBS", mls_buf_view(&tbs),
                                    mls_buf_view(&ac->auth.signature));
    mls_buf_clear(&tbs);
    return err;
}

int mls_framing_membership_tag(const mls_suite *s, mls_bytes membership_key,
                               const mls_framed_content *content,
                               const mls_framed_content_auth_data *auth, mls_bytes group_context,
                               uint8_t out[MLS_MAX_HASH])
{
    mls_buf tbm;
    int err;

    if (!s || !content || !auth || membership_key.n != s->nh)
        return MLS_ERR_ARG;
    mls_buf_init(&tbm);
    /* RFC 9420 §5.1: MAC is HMAC with the suite's hash. */
    err = mls_authenticated_content_tbm_encode(content, auth, group_context, &tbm);
    if (!err)
        err = mls_hmac(s, membership_key, mls_buf_view(&tbm), out);
    mls_buf_clear(&tbm);
    return err;
}

/* The signature key from the caller, then the signature. */
static int verify_with_callback(const mls_framing_ctx *ctx, const mls_authenticated_content *ac,
                                mls_framing_sig_key_fn key_fn, void *key_arg)
{
    mls_bytes pub = mls_bytes_of(NULL, 0);
    int err = key_fn(key_arg, ac, &pub);
    if (err)
        return err;
    return mls_framing_verify_signature(ctx->suite, ac, ctx->group_context, pub);
}

/* ------------------------------------------------------------ PublicMessage */

int mls_framing_protect_public(const mls_framing_ctx *ctx, const mls_authenticated_content *ac,
                               mls_message *out)
{
    const mls_suite *s;
    mls_message m;
    uint8_t tag[MLS_MAX_HASH];
    int err;

    if ((err = check_ctx(ctx)) || !ac || !out)
        return err ? err : MLS_ERR_ARG;
    s = ctx->suite;
    if (ac->wire_format != MLS_WIRE_PUBLIC_MESSAGE ||
        same_group_epoch(ctx, mls_buf_view(&ac->content.group_id), ac->content.epoch) ||
        !tag_ok(s, ac))
        return MLS_ERR_ARG;
    if ((err = mls_framing_check_sender(MLS_WIRE_PUBLIC_MESSAGE, &ac->content)))
        return err;
    memset(&m, 0, sizeof(m));
    m.version = MLS_VERSION_MLS10;
    m.wire_format = MLS_WIRE_PUBLIC_MESSAGE;
    mls_public_message *pm = &m.public_message;
    if ((err = mls_framed_content_copy(&pm->content, &ac->content)) ||
        (err = mls_buf_set(&pm->auth.signature, ac->auth.signature.p, ac->auth.signature.n)) ||
        (err = mls_buf_set(&pm->auth.confirmation_tag, ac->auth.confirmation_tag.p,
                           ac->auth.confirmation_tag.n)))
        goto out;
    /* RFC 9420 §6.2: members prove membership with the epoch's
     * membership_key; other senders have no membership tag. */
    if (ac->content.sender.type == MLS_SENDER_MEMBER) {
        if ((err = mls_framing_membership_tag(s, ctx->membership_key, &ac->content, &ac->auth,
                                              ctx->group_context, tag)) ||
            (err = mls_buf_set(&pm->membership_tag, tag, s->nh)))
            goto out;
    }
    *out = m;
    memset(&m, 0, sizeof(m));
out:
    mls_message_clear(&m);
    mls_wipe(tag, sizeof(tag));
    return err;
}

int mls_framing_unprotect_public(const mls_framing_ctx *ctx, const mls_message *msg,
                                 mls_framing_sig_key_fn key_fn, void *key_arg,
                                 mls_authenticated_content *out)
{
    const mls_suite *s;
    const mls_public_message *pm;
    mls_authenticated_content ac;
    uint8_t tag[MLS_MAX_HASH];
    int err;

    if ((err = check_ctx(ctx)) || !msg || !key_fn || !out)
        return err ? err : MLS_ERR_ARG;
    if (msg->wire_format != MLS_WIRE_PUBLIC_MESSAGE)
        return MLS_ERR_ARG;
    s = ctx->suite;
    pm = &msg->public_message;
    memset(&ac, 0, sizeof(ac));
    if ((err = same_group_epoch(ctx, mls_buf_view(&pm->content.group_id), pm->content.epoch)) ||
        (err = mls_framing_check_sender(MLS_WIRE_PUBLIC_MESSAGE, &pm->content)))
        goto out;
    ac.wire_format = MLS_WIRE_PUBLIC_MESSAGE;
    /* Borrow the message's content and auth for the checks; copied below
     * only once they pass. */
    ac.content = pm->content;
    ac.auth = pm->auth;
    if (!tag_ok(s, &ac)) {
        err = MLS_ERR_MALFORMED;
        goto borrowed;
    }
    if (pm->content.sender.type == MLS_SENDER_MEMBER) {
        if ((err = mls_framing_membership_tag(s, ctx->membership_key, &pm->content, &pm->auth,
                                              ctx->group_context, tag)))
            goto borrowed;
        if (!mls_ct_equal(mls_bytes_of(tag, s->nh), mls_buf_view(&pm->membership_tag))) {
            err = MLS_DETAIL(MLS_ERR_MAC, "RFC 9420 §6.2: membership_tag does not match");
            goto borrowed;
        }
    }
    err = verify_with_callback(ctx, &ac, key_fn, key_arg);
borrowed:
    memset(&ac, 0, sizeof(ac));
    if (err)
        goto out;
    ac.wire_format = MLS_WIRE_PUBLIC_MESSAGE;
    if ((err = mls_framed_content_copy(&ac.content, &pm->content)) ||
        (err = mls_buf_set(&ac.auth.signature, pm->auth.signature.p, pm->auth.signature.n)) ||
        (err = mls_buf_set(&ac.auth.confirmation_tag, pm->auth.confirmation_tag.p,
                           pm->auth.confirmation_tag.n)))
        goto out;
    *out = ac;
    memset(&ac, 0, sizeof(ac));
out:
    mls_authenticated_content_clear(&ac);
    mls_wipe(tag, sizeof(tag));
    return err;
}

/* ------------------------------------------------------------ PrivateMessage */

static enum mls_ratchet_type ratchet_for(uint8_t content_type)
{
    /* RFC 9420 §6.3.1: handshake messages (proposals, commits) and
     * application messages use separate ratchets. */
    return content_type == MLS_CONTENT_APPLICATION ? MLS_RATCHET_APPLICATION
                                                   : MLS_RATCHET_HANDSHAKE;
}

/* RFC 9420 §6.3.1: PrivateMessageContent without its padding. */
static int content_body_encode(const mls_authenticated_content *ac, mls_buf *w)
{
    const mls_framed_content *c = &ac->content;
    int err;
    switch (c->content_type) {
    case MLS_CONTENT_APPLICATION:
        err = mls_write_vec_bytes(w, mls_buf_view(&c->application_data));
        break;
    case MLS_CONTENT_PROPOSAL:
        err = mls_proposal_encode(&c->proposal, w);
        break;
    case MLS_CONTENT_COMMIT:
        err = mls_commit_encode(&c->commit, w);
        break;
    default:
        return MLS_ERR_ARG;
    }
    if (!err)
        err = mls_framed_content_auth_data_encode(&ac->auth, c->content_type, w);
    return err;
}

static int append_zeros(mls_buf *w, size_t n)
{
    static const uint8_t zeros[64];
    int err = MLS_OK;
    while (n > 0 && !err) {
        size_t k = n < sizeof(zeros) ? n : sizeof(zeros);
        err = mls_write_fixed(w, zeros, k);
        n -= k;
    }
    return err;
}

static void apply_reuse_guard(uint8_t *nonce, const uint8_t guard[REUSE_GUARD_LEN])
{
    /* RFC 9420 §6.3.1: the guard is XORed into the first four bytes. */
    for (size_t i = 0; i < REUSE_GUARD_LEN; i++)
        nonce[i] ^= guard[i];
}

int mls_framing_protect_private(const mls_framing_ctx *ctx, const mls_env *env,
                                const mls_authenticated_content *ac, mls_message *out)
{
    const mls_suite *s;
    const mls_framed_content *c;
    mls_message m;
    mls_sender_data sd;
    mls_buf pt, aad, sd_pt;
    uint8_t key[MLS_MAX_AEAD_KEY], nonce[MLS_MAX_AEAD_NONCE];
    uint8_t sd_key[MLS_MAX_AEAD_KEY], sd_nonce[MLS_MAX_AEAD_NONCE];
    int err;

    if ((err = check_ctx(ctx)) || !env || !env->random || !ac || !out)
        return err ? err : MLS_ERR_ARG;
    s = ctx->suite;
    c = &ac->content;
    if (!ctx->secret_tree || ctx->sender_data_secret.n != s->nh ||
        ac->wire_format != MLS_WIRE_PRIVATE_MESSAGE ||
        same_group_epoch(ctx, mls_buf_view(&c->group_id), c->epoch) || !tag_ok(s, ac) ||
        c->sender.type != MLS_SENDER_MEMBER)
        return MLS_ERR_ARG;
    if ((err = mls_framing_check_sender(MLS_WIRE_PRIVATE_MESSAGE, c)))
        return err;
    memset(&m, 0, sizeof(m));
    memset(&sd, 0, sizeof(sd));
    mls_buf_init(&pt);
    mls_buf_init(&aad);
    mls_buf_init(&sd_pt);

    /* RFC 9420 §6.3.1: content and auth, then zero padding up to the
     * policy's block size. */
    if ((err = content_body_encode(ac, &pt)))
        goto out;
    if (ctx->padding_block > 1) {
        size_t rem = pt.n % ctx->padding_block;
        if (rem && (err = append_zeros(&pt, ctx->padding_block - rem)))
            goto out;
    }
    if ((err = mls_private_content_aad_encode(mls_buf_view(&c->group_id), c->epoch,
                                              c->content_type,
                                              mls_buf_view(&c->authenticated_data), &aad)))
        goto out;

    m.version = MLS_VERSION_MLS10;
    m.wire_format = MLS_WIRE_PRIVATE_MESSAGE;
    mls_private_message *pm = &m.private_message;
    pm->epoch = c->epoch;
    pm->content_type = c->content_type;
    if ((err = mls_buf_set(&pm->group_id, c->group_id.p, c->group_id.n)) ||
        (err = mls_buf_set(&pm->authenticated_data, c->authenticated_data.p,
                           c->authenticated_data.n)))
        goto out;

    /* RFC 9420 §6.3.1: a fresh random reuse guard for every message. */
    if (env->random(env->ctx, sd.reuse_guard, sizeof(sd.reuse_guard))) {
        err = MLS_ERR_RANDOM;
        goto out;
    }
    sd.leaf_index = c->sender.index;
    /* The generation is consumed here even if a later step fails: a key
     * that may have been used must never be used again. */
    if ((err = mls_secret_tree_next(ctx->secret_tree, c->sender.index,
                                    ratchet_for(c->content_type), &sd.generation, key, nonce)))
        goto out;
    apply_reuse_guard(nonce, sd.reuse_guard);
    if ((err = mls_aead_seal(s, mls_bytes_of(key, s->nk), mls_bytes_of(nonce, s->nn),
                             mls_buf_view(&aad), mls_buf_view(&pt), &pm->ciphertext)))
        goto out;

    /* RFC 9420 §6.3.2: sender data under keys derived from a sample of the
     * content ciphertext. */
    mls_buf_reset(&aad);
    if ((err = mls_sender_data_encode(&sd, &sd_pt)) ||
        (err = mls_sender_data_aad_encode(mls_buf_view(&c->group_id), c->epoch, c->content_type,
                                          &aad)) ||
        (err = mls_sender_data_key_nonce(s, ctx->sender_data_secret,
                                         mls_buf_view(&pm->ciphertext), sd_key, sd_nonce)) ||
        (err = mls_aead_seal(s, mls_bytes_of(sd_key, s->nk), mls_bytes_of(sd_nonce, s->nn),
                             mls_buf_view(&aad), mls_buf_view(&sd_pt),
                             &pm->encrypted_sender_data)))
        goto out;
    *out = m;
    memset(&m, 0, sizeof(m));
out:
    mls_message_clear(&m);
    mls_sender_data_clear(&sd);
    mls_buf_clear(&pt);
    mls_buf_clear(&aad);
    mls_buf_clear(&sd_pt);
    mls_wipe(key, sizeof(key));
    mls_wipe(nonce, sizeof(nonce));
    mls_wipe(sd_key, sizeof(sd_key));
    mls_wipe(sd_nonce, sizeof(sd_nonce));
    return err;
}

/* RFC 9420 §6.3.2: decrypts and decodes the SenderData of pm. */
static int open_sender_data(const mls_framing_ctx *ctx, const mls_private_message *pm,
                            mls_sender_data *out)
{
    const mls_suite *s = ctx->suite;
    uint8_t key[MLS_MAX_AEAD_KEY], nonce[MLS_MAX_AEAD_NONCE];
    mls_buf aad, pt;
    int err;

    mls_buf_init(&aad);
    mls_buf_init(&pt);
    if ((err = mls_sender_data_aad_encode(mls_buf_view(&pm->group_id), pm->epoch,
                                          pm->content_type, &aad)) ||
        (err = mls_sender_data_key_nonce(s, ctx->sender_data_secret,
                                         mls_buf_view(&pm->ciphertext), key, nonce)) ||
        (err = mls_aead_open(s, mls_bytes_of(key, s->nk), mls_bytes_of(nonce, s->nn),
                             mls_buf_view(&aad), mls_buf_view(&pm->encrypted_sender_data), &pt)))
        goto out;
    /* SenderData is a fixed 12 bytes; anything else is malformed. */
    if ((err = mls_sender_data_decode_bytes(mls_buf_view(&pt), out)) && err != MLS_ERR_NOMEM)
        err = MLS_ERR_MALFORMED;
out:
    mls_buf_clear(&aad);
    mls_buf_clear(&pt);
    mls_wipe(key, sizeof(key));
    mls_wipe(nonce, sizeof(nonce));
    return err;
}

/* Moves the body of pmc into content (both unions hold the same three
 * members); pmc is left zeroed. */
static void move_body(mls_private_message_content *pmc, mls_framed_content *content)
{
    switch (pmc->content_type) {
    case MLS_CONTENT_APPLICATION:
        content->application_data = pmc->application_data;
        break;
    case MLS_CONTENT_PROPOSAL:
        content->proposal = pmc->proposal;
        break;
    default:
        content->commit = pmc->commit;
        break;
    }
    content->content_type = pmc->content_type;
    memset(pmc, 0, sizeof(*pmc));
}

/* Both unprotect calls below: with defer_pub, the signature is left to
 * the caller and the key key_fn found is handed back instead. */
static int unprotect_private(const mls_framing_ctx *ctx, const mls_message *msg,
                             mls_framing_sig_key_fn key_fn, void *key_arg,
                             mls_authenticated_content *out, uint32_t *generation,
                             mls_bytes *defer_pub)
{
    const mls_suite *s;
    const mls_private_message *pm;
    mls_sender_data sd;
    mls_private_message_content pmc;
    mls_authenticated_content ac;
    mls_buf aad, pt;
    mls_reader r;
    uint8_t key[MLS_MAX_AEAD_KEY], nonce[MLS_MAX_AEAD_NONCE];
    enum mls_ratchet_type type;
    int err;

    if ((err = check_ctx(ctx)) || !msg || !key_fn || !out)
        return err ? err : MLS_ERR_ARG;
    s = ctx->suite;
    if (msg->wire_format != MLS_WIRE_PRIVATE_MESSAGE || !ctx->secret_tree ||
        ctx->sender_data_secret.n != s->nh)
        return MLS_ERR_ARG;
    pm = &msg->private_message;
    memset(&sd, 0, sizeof(sd));
    memset(&pmc, 0, sizeof(pmc));
    memset(&ac, 0, sizeof(ac));
    mls_buf_init(&aad);
    mls_buf_init(&pt);

    if ((err = same_group_epoch(ctx, mls_buf_view(&pm->group_id), pm->epoch)))
        goto out;
    if (pm->content_type < MLS_CONTENT_APPLICATION || pm->content_type > MLS_CONTENT_COMMIT) {
        err = MLS_ERR_MALFORMED;
        goto out;
    }
    if ((err = open_sender_data(ctx, pm, &sd)))
        goto out;
    /* RFC 9420 §6.3.2: the leaf must exist; that it is not blank is checked
     * by key_fn, which must find the leaf's signature key. */
    if (sd.leaf_index >= ctx->secret_tree->n_leaves) {
        err = MLS_DETAIL(MLS_ERR_INVALID, "RFC 9420 §6.3.2: SenderData names no leaf");
        goto out;
    }
    type = ratchet_for(pm->content_type);
    /* Peek, not take: the key is consumed only once the message is
     * authentic (RFC 9420 §9.2). */
    if ((err = mls_secret_tree_peek(ctx->secret_tree, sd.leaf_index, type, sd.generation, key,
                                    nonce)))
        goto out;
    apply_reuse_guard(nonce, sd.reuse_guard);
    if ((err = mls_private_content_aad_encode(mls_buf_view(&pm->group_id), pm->epoch,
                                              pm->content_type,
                                              mls_buf_view(&pm->authenticated_data), &aad)) ||
        (err = mls_aead_open(s, mls_bytes_of(key, s->nk), mls_bytes_of(nonce, s->nn),
                             mls_buf_view(&aad), mls_buf_view(&pm->ciphertext), &pt)))
        goto out;
    /* §6.3.1: padding that is not all zero makes the message malformed. */
    mls_reader_init_bytes(&r, mls_buf_view(&pt));
    if ((err = mls_private_message_content_decode(&r, pm->content_type, &pmc))) {
        if (err != MLS_ERR_NOMEM)
            err = MLS_ERR_MALFORMED;
        goto out;
    }

    ac.wire_format = MLS_WIRE_PRIVATE_MESSAGE;
    ac.content.epoch = pm->epoch;
    ac.content.sender.type = MLS_SENDER_MEMBER;
    ac.content.sender.index = sd.leaf_index;
    ac.auth = pmc.auth;
    memset(&pmc.auth, 0, sizeof(pmc.auth));
    move_body(&pmc, &ac.content);
    if ((err = mls_buf_set(&ac.content.group_id, pm->group_id.p, pm->group_id.n)) ||
        (err = mls_buf_set(&ac.content.authenticated_data, pm->authenticated_data.p,
                           pm->authenticated_data.n)))
        goto out;
    if (!tag_ok(s, &ac)) {
        err = MLS_ERR_MALFORMED;
        goto out;
    }
    if ((err = mls_framing_check_sender(MLS_WIRE_PRIVATE_MESSAGE, &ac.content)))
        goto out;
    if (defer_pub)
        err = key_fn(key_arg, &ac, defer_pub);
    else
        err = verify_with_callback(ctx, &ac, key_fn, key_arg);
    if (err)
        goto out;
    /* Authentic (or, deferred, the caller's to prove): now the
     * generation's key is used up. */
    if ((err = mls_secret_tree_get(ctx->secret_tree, sd.leaf_index, type, sd.generation, key,
                                   nonce)))
        goto out;
    if (generation)
        *generation = sd.generation;
    *out = ac;
    memset(&ac, 0, sizeof(ac));
out:
    mls_authenticated_content_clear(&ac);
    mls_private_message_content_clear(&pmc);
    mls_sender_data_clear(&sd);
    mls_buf_clear(&aad);
    mls_buf_clear(&pt);
    mls_wipe(key, sizeof(key));
    mls_wipe(nonce, sizeof(nonce));
    return err;
}

int mls_framing_unprotect_private(const mls_framing_ctx *ctx, const mls_message *msg,
                                  mls_framing_sig_key_fn key_fn, void *key_arg,
                                  mls_authenticated_content *out, uint32_t *generation)
{
    return unprotect_private(ctx, msg, key_fn, key_arg, out, generation, NULL);
}

int mls_framing_unprotect_private_deferred(const mls_framing_ctx *ctx, const mls_message *msg,
                                           mls_framing_sig_key_fn key_fn, void *key_arg,
                                           mls_authenticated_content *out, mls_bytes *sig_pub)
{
    if (!sig_pub)
        return MLS_ERR_ARG;
    return unprotect_private(ctx, msg, key_fn, key_arg, out, NULL, sig_pub);
}
