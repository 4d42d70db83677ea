/* message-protection.json: PublicMessage and PrivateMessage protection of a
 * proposal, a commit and application data (RFC 9420 §6), sender leaf 1 of a
 * two-member group, as test-vectors.md "Message Protection" prescribes. */
#include "vec.h"

#include <string.h>

#include "framing.h"

typedef struct mp_entry {
    const mls_suite *s;
    mls_buf group_id, tree_hash, cth, group_context;
    uint64_t epoch;
    mls_buf sig_priv, sig_pub, encryption_secret, sender_data_secret, membership_key;
} mp_entry;

static void mp_clear(mp_entry *e)
{
    mls_buf_clear(&e->group_id);
    mls_buf_clear(&e->tree_hash);
    mls_buf_clear(&e->cth);
    mls_buf_clear(&e->group_context);
    mls_buf_clear(&e->sig_priv);
    mls_buf_clear(&e->sig_pub);
    mls_buf_clear(&e->encryption_secret);
    mls_buf_clear(&e->sender_data_secret);
    mls_buf_clear(&e->membership_key);
}

/* The sender's key is always the entry's signature_pub. */
static int key_from_entry(void *arg, const mls_authenticated_content *ac, mls_bytes *pub)
{
    const mp_entry *e = arg;
    if (ac->content.sender.type != MLS_SENDER_MEMBER || ac->content.sender.index != 1)
        return MLS_ERR_NOT_FOUND;
    *pub = mls_buf_view(&e->sig_pub);
    return MLS_OK;
}

static void ctx_for(const mp_entry *e, mls_secret_tree *tree, mls_framing_ctx *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->suite = e->s;
    ctx->group_id = mls_buf_view(&e->group_id);
    ctx->epoch = e->epoch;
    ctx->group_context = mls_buf_view(&e->group_context);
    ctx->membership_key = mls_buf_view(&e->membership_key);
    ctx->sender_data_secret = mls_buf_view(&e->sender_data_secret);
    ctx->secret_tree = tree;
}

/* The unprotected content must be the raw value, sent by leaf 1. */
static int content_matches(const char *what, const mls_authenticated_content *ac,
                           uint8_t content_type, mls_bytes raw)
{
    mls_buf body;
    int rc = -1, err = MLS_OK;

    mls_buf_init(&body);
    if (ac->content.content_type != content_type || ac->content.sender.type != MLS_SENDER_MEMBER ||
        ac->content.sender.index != 1) {
        vec_fail("%s: wrong content type or sender", what);
        goto out;
    }
    switch (content_type) {
    case MLS_CONTENT_APPLICATION:
        err = mls_buf_set(&body, ac->content.application_data.p, ac->content.application_data.n);
        break;
    case MLS_CONTENT_PROPOSAL:
        err = mls_proposal_encode(&ac->content.proposal, &body);
        break;
    default:
        err = mls_commit_encode(&ac->content.commit, &body);
        break;
    }
    if (err) {
        vec_fail("%s: encode: %s", what, mls_errname(err));
        goto out;
    }
    rc = vec_expect_bytes(what, raw, mls_buf_view(&body));
out:
    mls_buf_clear(&body);
    return rc;
}

/* FramedContent from leaf 1 carrying the raw value. */
static int build_content(const mp_entry *e, uint8_t content_type, mls_bytes raw,
                         mls_framed_content *fc)
{
    int err;
    memset(fc, 0, sizeof(*fc));
    fc->epoch = e->epoch;
    fc->sender.type = MLS_SENDER_MEMBER;
    fc->sender.index = 1;
    fc->content_type = content_type;
    if ((err = mls_buf_set(&fc->group_id, e->group_id.p, e->group_id.n)))
        return err;
    switch (content_type) {
    case MLS_CONTENT_APPLICATION:
        return mls_buf_set(&fc->application_data, raw.p, raw.n);
    case MLS_CONTENT_PROPOSAL:
        return mls_proposal_decode_bytes(raw, &fc->proposal);
    default:
        return mls_commit_decode_bytes(raw, &fc->commit);
    }
}

/* Decodes the hex MLSMessage `key` and unprotects it. */
static int unprotect_hex(const mp_entry *e, json_t *entry, const char *key,
                         mls_secret_tree *tree, mls_authenticated_content *ac)
{
    mls_buf raw;
    mls_message msg;
    mls_framing_ctx ctx;
    int rc = -1, err;

    mls_buf_init(&raw);
    memset(&msg, 0, sizeof(msg));
    if (vec_hex(entry, key, &raw))
        goto out;
    if ((err = mls_message_decode_bytes(mls_buf_view(&raw), &msg))) {
        vec_fail("%s: decode: %s", key, mls_errname(err));
        goto out;
    }
    ctx_for(e, tree, &ctx);
    if (msg.wire_format == MLS_WIRE_PUBLIC_MESSAGE)
        err = mls_framing_unprotect_public(&ctx, &msg, key_from_entry, (void *)e, ac);
    else
        err = mls_framing_unprotect_private(&ctx, &msg, key_from_entry, (void *)e, ac, NULL);
    if (err) {
        vec_fail("%s: unprotect: %s", key, mls_errname(err));
        goto out;
    }
    rc = 0;
out:
    mls_message_clear(&msg);
    mls_buf_clear(&raw);
    return rc;
}

/* Signs and protects the raw value ourselves, encodes, decodes and
 * unprotects it again (with a separate receiving tree). */
static int round_trip(const mp_entry *e, const char *what, uint16_t wire_format,
                      uint8_t content_type, mls_bytes raw, mls_bytes confirmation_tag)
{
    mls_framed_content fc;
    mls_authenticated_content ac, got;
    mls_message msg, back;
    mls_buf wire;
    mls_secret_tree send_tree, recv_tree;
    mls_framing_ctx ctx;
    int rc = -1, err;

    memset(&fc, 0, sizeof(fc));
    memset(&ac, 0, sizeof(ac));
    memset(&got, 0, sizeof(got));
    memset(&msg, 0, sizeof(msg));
    memset(&back, 0, sizeof(back));
    memset(&send_tree, 0, sizeof(send_tree));
    memset(&recv_tree, 0, sizeof(recv_tree));
    mls_buf_init(&wire);
    if ((err = mls_secret_tree_init(&send_tree, e->s, mls_buf_view(&e->encryption_secret), 2,
                                    NULL)) ||
        (err = mls_secret_tree_init(&recv_tree, e->s, mls_buf_view(&e->encryption_secret), 2,
                                    NULL)) ||
        (err = build_content(e, content_type, raw, &fc))) {
        vec_fail("%s: setup: %s", what, mls_errname(err));
        goto out;
    }
    ctx_for(e, &send_tree, &ctx);
    if ((err = mls_framing_sign(&ctx, mls_env_default(), wire_format, &fc,
                                mls_buf_view(&e->sig_priv), &ac))) {
        vec_fail("%s: sign: %s", what, mls_errname(err));
        goto out;
    }
    if (content_type == MLS_CONTENT_COMMIT &&
        (err = mls_buf_set(&ac.auth.confirmation_tag, confirmation_tag.p, confirmation_tag.n))) {
        vec_fail("%s: %s", what, mls_errname(err));
        goto out;
    }
    if (wire_format == MLS_WIRE_PUBLIC_MESSAGE)
        err = mls_framing_protect_public(&ctx, &ac, &msg);
    else
        err = mls_framing_protect_private(&ctx, mls_env_default(), &ac, &msg);
    if (!err)
        err = mls_message_encode(&msg, &wire);
    if (!err)
        err = mls_message_decode_bytes(mls_buf_view(&wire), &back);
    if (err) {
        vec_fail("%s: protect: %s", what, mls_errname(err));
        goto out;
    }
    ctx_for(e, &recv_tree, &ctx);
    if (wire_format == MLS_WIRE_PUBLIC_MESSAGE)
        err = mls_framing_unprotect_public(&ctx, &back, key_from_entry, (void *)e, &got);
    else
        err = mls_framing_unprotect_private(&ctx, &back, key_from_entry, (void *)e, &got, NULL);
    if (err) {
        vec_fail("%s: unprotect own: %s", what, mls_errname(err));
        goto out;
    }
    rc = content_matches(what, &got, content_type, raw);
out:
    mls_framed_content_clear(&fc);
    mls_authenticated_content_clear(&ac);
    mls_authenticated_content_clear(&got);
    mls_message_clear(&msg);
    mls_message_clear(&back);
    mls_buf_clear(&wire);
    mls_secret_tree_clear(&send_tree);
    mls_secret_tree_clear(&recv_tree);
    return rc;
}

/* test-vectors.md: "For the application message, instead verify that
 * protecting as a PublicMessage fails". */
static int public_application_fails(const mp_entry *e, mls_bytes raw)
{
    mls_framed_content fc;
    mls_authenticated_content ac;
    mls_message msg;
    mls_framing_ctx ctx;
    int rc = -1, err;

    memset(&ac, 0, sizeof(ac));
    memset(&msg, 0, sizeof(msg));
    ctx_for(e, NULL, &ctx);
    if ((err = build_content(e, MLS_CONTENT_APPLICATION, raw, &fc))) {
        vec_fail("application: %s", mls_errname(err));
        goto out;
    }
    if ((err = mls_framing_sign(&ctx, mls_env_default(), MLS_WIRE_PUBLIC_MESSAGE, &fc,
                                mls_buf_view(&e->sig_priv), &ac)) != MLS_ERR_INVALID) {
        vec_fail("signing application data as PublicMessage: %s", mls_errname(err));
        goto out;
    }
    /* Also when the caller forges the wire format after signing. */
    if ((err = mls_framing_sign(&ctx, mls_env_default(), MLS_WIRE_PRIVATE_MESSAGE, &fc,
                                mls_buf_view(&e->sig_priv), &ac))) {
        vec_fail("application: sign: %s", mls_errname(err));
        goto out;
    }
    ac.wire_format = MLS_WIRE_PUBLIC_MESSAGE;
    if ((err = mls_framing_protect_public(&ctx, &ac, &msg)) != MLS_ERR_INVALID) {
        vec_fail("protecting application data as PublicMessage: %s", mls_errname(err));
        goto out;
    }
    rc = 0;
out:
    mls_framed_content_clear(&fc);
    mls_authenticated_content_clear(&ac);
    mls_message_clear(&msg);
    return rc;
}

static int check_kind(const mp_entry *e, json_t *entry, const char *name, uint8_t content_type)
{
    char key_pub[32], key_priv[32];
    mls_buf raw, tag;
    mls_secret_tree tree;
    mls_authenticated_content ac;
    int rc = -1, err;

    mls_buf_init(&raw);
    mls_buf_init(&tag);
    memset(&tree, 0, sizeof(tree));
    memset(&ac, 0, sizeof(ac));
    snprintf(key_pub, sizeof(key_pub), "%s_pub", name);
    snprintf(key_priv, sizeof(key_priv), "%s_priv", name);
    if (vec_hex(entry, name, &raw))
        goto out;
    /* A Commit needs some confirmation tag to be framed; its value is not
     * checked here (that needs the next epoch), so Nh bytes of 0xa5. */
    if (mls_buf_reserve(&tag, e->s->nh))
        goto out;
    memset(tag.p, 0xa5, e->s->nh);
    tag.n = e->s->nh;

    if (content_type != MLS_CONTENT_APPLICATION) {
        if (unprotect_hex(e, entry, key_pub, NULL, &ac) ||
            content_matches(key_pub, &ac, content_type, mls_buf_view(&raw)))
            goto out;
        mls_authenticated_content_clear(&ac);
        if (round_trip(e, key_pub, MLS_WIRE_PUBLIC_MESSAGE, content_type, mls_buf_view(&raw),
                       mls_buf_view(&tag)))
            goto out;
    } else if (public_application_fails(e, mls_buf_view(&raw))) {
        goto out;
    }

    if ((err = mls_secret_tree_init(&tree, e->s, mls_buf_view(&e->encryption_secret), 2,
                                    NULL))) {
        vec_fail("secret tree: %s", mls_errname(err));
        goto out;
    }
    if (unprotect_hex(e, entry, key_priv, &tree, &ac) ||
        content_matches(key_priv, &ac, content_type, mls_buf_view(&raw)))
        goto out;
    if (round_trip(e, key_priv, MLS_WIRE_PRIVATE_MESSAGE, content_type, mls_buf_view(&raw),
                   mls_buf_view(&tag)))
        goto out;
    rc = 0;
out:
    mls_buf_clear(&raw);
    mls_buf_clear(&tag);
    mls_secret_tree_clear(&tree);
    mls_authenticated_content_clear(&ac);
    return rc;
}

int vec_message_protection(json_t *entry)
{
    mp_entry e;
    mls_group_context gc;
    int rc = -1, err;

    memset(&e, 0, sizeof(e));
    memset(&gc, 0, sizeof(gc));
    if (vec_suite(entry, &e.s))
        goto out;
    if (vec_hex(entry, "group_id", &e.group_id) || vec_uint(entry, "epoch", &e.epoch) ||
        vec_hex(entry, "tree_hash", &e.tree_hash) ||
        vec_hex(entry, "confirmed_transcript_hash", &e.cth) ||
        vec_hex(entry, "signature_priv", &e.sig_priv) ||
        vec_hex(entry, "signature_pub", &e.sig_pub) ||
        vec_hex(entry, "encryption_secret", &e.encryption_secret) ||
        vec_hex(entry, "sender_data_secret", &e.sender_data_secret) ||
        vec_hex(entry, "membership_key", &e.membership_key))
        goto out;
    /* The GroupContext of the entry, with empty extensions. */
    gc.version = MLS_VERSION_MLS10;
    gc.cipher_suite = e.s->id;
    gc.epoch = e.epoch;
    if ((err = mls_buf_set(&gc.group_id, e.group_id.p, e.group_id.n)) ||
        (err = mls_buf_set(&gc.tree_hash, e.tree_hash.p, e.tree_hash.n)) ||
        (err = mls_buf_set(&gc.confirmed_transcript_hash, e.cth.p, e.cth.n)) ||
        (err = mls_group_context_encode(&gc, &e.group_context))) {
        vec_fail("group context: %s", mls_errname(err));
        goto out;
    }
    if (check_kind(&e, entry, "proposal", MLS_CONTENT_PROPOSAL) ||
        check_kind(&e, entry, "commit", MLS_CONTENT_COMMIT) ||
        check_kind(&e, entry, "application", MLS_CONTENT_APPLICATION))
        goto out;
    rc = 0;
out:
    mls_group_context_clear(&gc);
    mp_clear(&e);
    return rc;
}
