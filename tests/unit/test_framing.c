/* Unit tests for lib/framing.c (RFC 9420 §6). */
#include "test.h"

#include "framing.h"

#include "crypto.h"
#include "key_schedule.h"

#define N_LEAVES 4
#define SENDER 1

/* ---------------------------------------------------------------- fixture */

typedef struct fixture {
    const mls_suite *s;
    mls_buf sk[N_LEAVES], pk[N_LEAVES]; /* signature keys per leaf */
    mls_buf ext_sk, ext_pk;             /* an external sender's key */
    uint8_t membership_key[MLS_MAX_HASH];
    uint8_t sender_data_secret[MLS_MAX_HASH];
    uint8_t encryption_secret[MLS_MAX_HASH];
    mls_buf group_context;
    mls_secret_tree send_tree, recv_tree;
    mls_framing_ctx send, recv;
} fixture;

static const uint8_t group_id[] = "framing test group";
#define EPOCH 7u

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + 31u * i);
}

static void ctx_init(fixture *f, mls_framing_ctx *ctx, mls_secret_tree *tree)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->suite = f->s;
    ctx->group_id = mls_bytes_of(group_id, sizeof(group_id) - 1);
    ctx->epoch = EPOCH;
    ctx->group_context = mls_buf_view(&f->group_context);
    ctx->membership_key = mls_bytes_of(f->membership_key, f->s->nh);
    ctx->sender_data_secret = mls_bytes_of(f->sender_data_secret, f->s->nh);
    ctx->secret_tree = tree;
}

static void fixture_init(fixture *f, uint16_t suite)
{
    mls_group_context gc;
    const mls_env *env = mls_env_default();

    memset(f, 0, sizeof(*f));
    f->s = mls_suite_get(suite);
    for (int i = 0; i < N_LEAVES; i++)
        CHECK_OK(mls_sig_keygen(f->s, env, &f->sk[i], &f->pk[i]));
    CHECK_OK(mls_sig_keygen(f->s, env, &f->ext_sk, &f->ext_pk));
    fill(f->membership_key, f->s->nh, 1);
    fill(f->sender_data_secret, f->s->nh, 2);
    fill(f->encryption_secret, f->s->nh, 3);
    memset(&gc, 0, sizeof(gc));
    gc.version = MLS_VERSION_MLS10;
    gc.cipher_suite = suite;
    gc.epoch = EPOCH;
    CHECK_OK(mls_buf_set(&gc.group_id, group_id, sizeof(group_id) - 1));
    CHECK_OK(mls_buf_set(&gc.tree_hash, f->membership_key, f->s->nh));
    CHECK_OK(mls_buf_set(&gc.confirmed_transcript_hash, f->encryption_secret, f->s->nh));
    CHECK_OK(mls_group_context_encode(&gc, &f->group_context));
    mls_group_context_clear(&gc);
    mls_bytes es = mls_bytes_of(f->encryption_secret, f->s->nh);
    CHECK_OK(mls_secret_tree_init(&f->send_tree, f->s, es, N_LEAVES, NULL));
    CHECK_OK(mls_secret_tree_init(&f->recv_tree, f->s, es, N_LEAVES, NULL));
    ctx_init(f, &f->send, &f->send_tree);
    ctx_init(f, &f->recv, &f->recv_tree);
}

static void fixture_clear(fixture *f)
{
    for (int i = 0; i < N_LEAVES; i++) {
        mls_buf_clear(&f->sk[i]);
        mls_buf_clear(&f->pk[i]);
    }
    mls_buf_clear(&f->ext_sk);
    mls_buf_clear(&f->ext_pk);
    mls_buf_clear(&f->group_context);
    mls_secret_tree_clear(&f->send_tree);
    mls_secret_tree_clear(&f->recv_tree);
}

/* The group engine's role: the key of a member leaf, or of external sender
 * 0; new members' keys come from the test (new_member_pk). */
static mls_bytes new_member_pk;

static int key_lookup(void *arg, const mls_authenticated_content *ac, mls_bytes *pub)
{
    fixture *f = arg;
    switch (ac->content.sender.type) {
    case MLS_SENDER_MEMBER:
        if (ac->content.sender.index >= N_LEAVES)
            return MLS_ERR_NOT_FOUND;
        *pub = mls_buf_view(&f->pk[ac->content.sender.index]);
        return MLS_OK;
    case MLS_SENDER_EXTERNAL:
        if (ac->content.sender.index != 0)
            return MLS_ERR_NOT_FOUND;
        *pub = mls_buf_view(&f->ext_pk);
        return MLS_OK;
    default:
        *pub = new_member_pk;
        return MLS_OK;
    }
}

/* Content of the given type from the given sender. */
static void make_content(mls_framed_content *fc, uint8_t content_type, uint8_t sender_type,
                         uint32_t index)
{
    memset(fc, 0, sizeof(*fc));
    CHECK_OK(mls_buf_set(&fc->group_id, group_id, sizeof(group_id) - 1));
    fc->epoch = EPOCH;
    fc->sender.type = sender_type;
    fc->sender.index = index;
    CHECK_OK(mls_buf_set(&fc->authenticated_data, "aad", 3));
    fc->content_type = content_type;
    switch (content_type) {
    case MLS_CONTENT_APPLICATION:
        CHECK_OK(mls_buf_set(&fc->application_data, "hello, group", 12));
        break;
    case MLS_CONTENT_PROPOSAL:
        fc->proposal.type = MLS_PROPOSAL_REMOVE;
        fc->proposal.remove.removed = 2;
        break;
    default: {
        uint8_t ref[32];
        fill(ref, sizeof(ref), 9);
        fc->commit.proposals = calloc(1, sizeof(*fc->commit.proposals));
        CHECK(fc->commit.proposals != NULL);
        fc->commit.n_proposals = 1;
        fc->commit.proposals[0].type = MLS_POR_REFERENCE;
        CHECK_OK(mls_buf_set(&fc->commit.proposals[0].reference, ref, sizeof(ref)));
        break;
    }
    }
}

/* Signed content ready to protect; a Commit gets an Nh-byte tag. */
static void make_signed(fixture *f, mls_authenticated_content *ac, uint16_t wire_format,
                        uint8_t content_type, uint8_t sender_type, uint32_t index,
                        mls_bytes sig_priv)
{
    mls_framed_content fc;
    make_content(&fc, content_type, sender_type, index);
    memset(ac, 0, sizeof(*ac));
    CHECK_OK(mls_framing_sign(&f->send, mls_env_default(), wire_format, &fc, sig_priv, ac));
    if (content_type == MLS_CONTENT_COMMIT) {
        uint8_t tag[MLS_MAX_HASH];
        fill(tag, f->s->nh, 77);
        CHECK_OK(mls_buf_set(&ac->auth.confirmation_tag, tag, f->s->nh));
    }
    mls_framed_content_clear(&fc);
}

/* Encoded framed content of two AuthenticatedContents must be equal. */
static int same_content(const mls_authenticated_content *a, const mls_authenticated_content *b)
{
    mls_buf x, y;
    mls_buf_init(&x);
    mls_buf_init(&y);
    int ok = !mls_authenticated_content_encode(a, &x) && !mls_authenticated_content_encode(b, &y) &&
             x.n == y.n && memcmp(x.p, y.p, x.n) == 0;
    mls_buf_clear(&x);
    mls_buf_clear(&y);
    return ok;
}

/* Encodes msg and decodes it again (what goes over the wire). */
static void wire_copy(const mls_message *msg, mls_message *out)
{
    mls_buf w;
    mls_buf_init(&w);
    CHECK_OK(mls_message_encode(msg, &w));
    CHECK_OK(mls_message_decode_bytes(mls_buf_view(&w), out));
    mls_buf_clear(&w);
}

/* ---------------------------------------------------------------- round trips */

static void test_public_round_trip(fixture *f)
{
    static const uint8_t types[] = {MLS_CONTENT_PROPOSAL, MLS_CONTENT_COMMIT};
    for (size_t i = 0; i < sizeof(types); i++) {
        mls_authenticated_content ac, got;
        mls_message msg, back;
        memset(&msg, 0, sizeof(msg));
        memset(&back, 0, sizeof(back));
        memset(&got, 0, sizeof(got));
        make_signed(f, &ac, MLS_WIRE_PUBLIC_MESSAGE, types[i], MLS_SENDER_MEMBER, SENDER,
                    mls_buf_view(&f->sk[SENDER]));
        CHECK_OK(mls_framing_verify_signature(f->s, &ac, mls_buf_view(&f->group_context),
                                              mls_buf_view(&f->pk[SENDER])));
        CHECK_OK(mls_framing_protect_public(&f->send, &ac, &msg));
        CHECK(msg.public_message.membership_tag.n == f->s->nh);
        wire_copy(&msg, &back);
        CHECK_OK(mls_framing_unprotect_public(&f->recv, &back, key_lookup, f, &got));
        CHECK(same_content(&ac, &got));
        CHECK(got.wire_format == MLS_WIRE_PUBLIC_MESSAGE);
        mls_authenticated_content_clear(&ac);
        mls_authenticated_content_clear(&got);
        mls_message_clear(&msg);
        mls_message_clear(&back);
    }
}

/* Application data may not be sent as a PublicMessage (RFC 9420 §6). */
static void test_public_application_refused(fixture *f)
{
    mls_framed_content fc;
    mls_authenticated_content ac;
    mls_message msg;
    memset(&ac, 0, sizeof(ac));
    memset(&msg, 0, sizeof(msg));
    make_content(&fc, MLS_CONTENT_APPLICATION, MLS_SENDER_MEMBER, SENDER);
    CHECK_ERR(mls_framing_sign(&f->send, mls_env_default(), MLS_WIRE_PUBLIC_MESSAGE, &fc,
                               mls_buf_view(&f->sk[SENDER]), &ac),
              MLS_ERR_INVALID);
    CHECK_OK(mls_framing_sign(&f->send, mls_env_default(), MLS_WIRE_PRIVATE_MESSAGE, &fc,
                              mls_buf_view(&f->sk[SENDER]), &ac));
    /* Signed for PrivateMessage: refused as an argument error... */
    CHECK_ERR(mls_framing_protect_public(&f->send, &ac, &msg), MLS_ERR_ARG);
    /* ...and with the wire format forged, by the protocol rule. */
    ac.wire_format = MLS_WIRE_PUBLIC_MESSAGE;
    CHECK_ERR(mls_framing_protect_public(&f->send, &ac, &msg), MLS_ERR_INVALID);
    mls_framed_content_clear(&fc);
    mls_authenticated_content_clear(&ac);
}

/* Non-member senders: no membership tag, and the TBS carries the
 * GroupContext only for new_member_commit (RFC 9420 §6.1). */
static void test_public_non_members(fixture *f)
{
    mls_authenticated_content ac, got;
    mls_message msg, back;
    mls_framed_content fc;

    /* External sender, proposal. */
    memset(&msg, 0, sizeof(msg));
    memset(&back, 0, sizeof(back));
    memset(&got, 0, sizeof(got));
    make_signed(f, &ac, MLS_WIRE_PUBLIC_MESSAGE, MLS_CONTENT_PROPOSAL, MLS_SENDER_EXTERNAL, 0,
                mls_buf_view(&f->ext_sk));
    CHECK_OK(mls_framing_protect_public(&f->send, &ac, &msg));
    CHECK(msg.public_message.membership_tag.n == 0);
    wire_copy(&msg, &back);
    CHECK_OK(mls_framing_unprotect_public(&f->recv, &back, key_lookup, f, &got));
    CHECK(same_content(&ac, &got));
    /* The external sender's TBS does not depend on the GroupContext. */
    CHECK_OK(mls_framing_verify_signature(f->s, &ac, mls_bytes_of(NULL, 0),
                                          mls_buf_view(&f->ext_pk)));
    mls_authenticated_content_clear(&ac);
    mls_authenticated_content_clear(&got);
    mls_message_clear(&msg);
    mls_message_clear(&back);

    /* new_member_commit: signed with the new member's key, over the
     * GroupContext. */
    make_signed(f, &ac, MLS_WIRE_PUBLIC_MESSAGE, MLS_CONTENT_COMMIT,
                MLS_SENDER_NEW_MEMBER_COMMIT, 0, mls_buf_view(&f->sk[3]));
    CHECK_OK(mls_framing_protect_public(&f->send, &ac, &msg));
    wire_copy(&msg, &back);
    new_member_pk = mls_buf_view(&f->pk[3]);
    CHECK_OK(mls_framing_unprotect_public(&f->recv, &back, key_lookup, f, &got));
    CHECK(same_content(&ac, &got));
    new_member_pk = mls_buf_view(&f->pk[0]);
    mls_authenticated_content_clear(&got);
    CHECK_ERR(mls_framing_unprotect_public(&f->recv, &back, key_lookup, f, &got),
              MLS_ERR_SIGNATURE);
    mls_authenticated_content_clear(&ac);
    mls_message_clear(&msg);
    mls_message_clear(&back);

    /* Sender rules: an external sender may not commit, new_member_proposal
     * must propose an Add, and nobody but a member sends a PrivateMessage. */
    make_content(&fc, MLS_CONTENT_COMMIT, MLS_SENDER_EXTERNAL, 0);
    CHECK_ERR(mls_framing_check_sender(MLS_WIRE_PUBLIC_MESSAGE, &fc), MLS_ERR_INVALID);
    CHECK_ERR(mls_framing_sign(&f->send, mls_env_default(), MLS_WIRE_PUBLIC_MESSAGE, &fc,
                               mls_buf_view(&f->ext_sk), &ac),
              MLS_ERR_INVALID);
    mls_framed_content_clear(&fc);
    make_content(&fc, MLS_CONTENT_PROPOSAL, MLS_SENDER_NEW_MEMBER_PROPOSAL, 0);
    CHECK_ERR(mls_framing_check_sender(MLS_WIRE_PUBLIC_MESSAGE, &fc), MLS_ERR_INVALID);
    mls_framed_content_clear(&fc);
    make_content(&fc, MLS_CONTENT_PROPOSAL, MLS_SENDER_EXTERNAL, 0);
    CHECK_OK(mls_framing_check_sender(MLS_WIRE_PUBLIC_MESSAGE, &fc));
    CHECK_ERR(mls_framing_check_sender(MLS_WIRE_PRIVATE_MESSAGE, &fc), MLS_ERR_INVALID);
    CHECK_ERR(mls_framing_check_sender(MLS_WIRE_WELCOME, &fc), MLS_ERR_ARG);
    mls_framed_content_clear(&fc);
    make_content(&fc, MLS_CONTENT_APPLICATION, MLS_SENDER_NEW_MEMBER_COMMIT, 0);
    CHECK_ERR(mls_framing_check_sender(MLS_WIRE_PUBLIC_MESSAGE, &fc), MLS_ERR_INVALID);
    mls_framed_content_clear(&fc);
}

static void test_private_round_trip(fixture *f)
{
    static const uint8_t types[] = {MLS_CONTENT_APPLICATION, MLS_CONTENT_PROPOSAL,
                                    MLS_CONTENT_COMMIT};
    for (size_t i = 0; i < sizeof(types); i++) {
        mls_authenticated_content ac, got;
        mls_message msg, back;
        uint32_t gen = 99;
        memset(&msg, 0, sizeof(msg));
        memset(&back, 0, sizeof(back));
        memset(&got, 0, sizeof(got));
        make_signed(f, &ac, MLS_WIRE_PRIVATE_MESSAGE, types[i], MLS_SENDER_MEMBER, SENDER,
                    mls_buf_view(&f->sk[SENDER]));
        CHECK_OK(mls_framing_protect_private(&f->send, mls_env_default(), &ac, &msg));
        /* Only group_id, epoch, content_type and authenticated_data are in
         * the clear. */
        CHECK(msg.private_message.content_type == types[i]);
        CHECK(msg.private_message.epoch == EPOCH);
        wire_copy(&msg, &back);
        CHECK_OK(mls_framing_unprotect_private(&f->recv, &back, key_lookup, f, &got, &gen));
        CHECK(same_content(&ac, &got));
        CHECK(got.wire_format == MLS_WIRE_PRIVATE_MESSAGE);
        /* Handshake and application ratchets are separate: the proposal is
         * generation 0 of the handshake ratchet, the commit generation 1. */
        CHECK(gen == (types[i] == MLS_CONTENT_COMMIT ? 1u : 0u));
        mls_authenticated_content_clear(&ac);
        mls_authenticated_content_clear(&got);
        mls_message_clear(&msg);
        mls_message_clear(&back);
    }
}

/* ---------------------------------------------------------------- public tampering */

/* Recomputes the membership tag of a tampered PublicMessage, as a member
 * forging it could. */
static void retag(fixture *f, mls_message *m)
{
    uint8_t tag[MLS_MAX_HASH];
    CHECK_OK(mls_framing_membership_tag(f->s, f->recv.membership_key, &m->public_message.content,
                                        &m->public_message.auth, f->recv.group_context, tag));
    memcpy(m->public_message.membership_tag.p, tag, f->s->nh);
}

static void test_public_tamper(fixture *f)
{
    mls_authenticated_content ac, got;
    mls_message msg, bad;

    memset(&msg, 0, sizeof(msg));
    memset(&bad, 0, sizeof(bad));
    memset(&got, 0, sizeof(got));
    make_signed(f, &ac, MLS_WIRE_PUBLIC_MESSAGE, MLS_CONTENT_COMMIT, MLS_SENDER_MEMBER, SENDER,
                mls_buf_view(&f->sk[SENDER]));
    CHECK_OK(mls_framing_protect_public(&f->send, &ac, &msg));

    /* Membership tag. */
    wire_copy(&msg, &bad);
    bad.public_message.membership_tag.p[0] ^= 1;
    CHECK_ERR(mls_framing_unprotect_public(&f->recv, &bad, key_lookup, f, &got), MLS_ERR_MAC);
    mls_message_clear(&bad);
    /* Content, authenticated data, confirmation tag: all under the tag. */
    wire_copy(&msg, &bad);
    bad.public_message.content.authenticated_data.p[0] ^= 1;
    CHECK_ERR(mls_framing_unprotect_public(&f->recv, &bad, key_lookup, f, &got), MLS_ERR_MAC);
    mls_message_clear(&bad);
    wire_copy(&msg, &bad);
    bad.public_message.auth.confirmation_tag.p[0] ^= 1;
    CHECK_ERR(mls_framing_unprotect_public(&f->recv, &bad, key_lookup, f, &got), MLS_ERR_MAC);
    mls_message_clear(&bad);
    /* Signature: with the membership tag recomputed (a member forging),
     * the signature check catches it. */
    wire_copy(&msg, &bad);
    bad.public_message.auth.signature.p[3] ^= 1;
    CHECK_ERR(mls_framing_unprotect_public(&f->recv, &bad, key_lookup, f, &got), MLS_ERR_MAC);
    retag(f, &bad);
    CHECK_ERR(mls_framing_unprotect_public(&f->recv, &bad, key_lookup, f, &got),
              MLS_ERR_SIGNATURE);
    mls_message_clear(&bad);
    /* Signed by another member than the one named. */
    wire_copy(&msg, &bad);
    bad.public_message.content.sender.index = 2;
    retag(f, &bad);
    CHECK_ERR(mls_framing_unprotect_public(&f->recv, &bad, key_lookup, f, &got),
              MLS_ERR_SIGNATURE);
    /* A sender the engine cannot resolve: its error comes through. */
    bad.public_message.content.sender.index = 9;
    retag(f, &bad);
    CHECK_ERR(mls_framing_unprotect_public(&f->recv, &bad, key_lookup, f, &got),
              MLS_ERR_NOT_FOUND);
    mls_message_clear(&bad);
    /* Group and epoch. */
    wire_copy(&msg, &bad);
    bad.public_message.content.epoch++;
    CHECK_ERR(mls_framing_unprotect_public(&f->recv, &bad, key_lookup, f, &got),
              MLS_ERR_WRONG_EPOCH);
    mls_message_clear(&bad);
    wire_copy(&msg, &bad);
    bad.public_message.content.group_id.p[0] ^= 1;
    CHECK_ERR(mls_framing_unprotect_public(&f->recv, &bad, key_lookup, f, &got),
              MLS_ERR_WRONG_GROUP);
    mls_message_clear(&bad);
    /* A commit whose confirmation tag has the wrong length. */
    wire_copy(&msg, &bad);
    bad.public_message.auth.confirmation_tag.n--;
    CHECK_ERR(mls_framing_unprotect_public(&f->recv, &bad, key_lookup, f, &got),
              MLS_ERR_MALFORMED);
    mls_message_clear(&bad);
    /* Wrong function for the wire format. */
    CHECK_ERR(mls_framing_unprotect_private(&f->recv, &msg, key_lookup, f, &got, NULL),
              MLS_ERR_ARG);
    CHECK(got.content.group_id.n == 0); /* never written on failure */
    /* Still fine untampered. */
    CHECK_OK(mls_framing_unprotect_public(&f->recv, &msg, key_lookup, f, &got));
    mls_authenticated_content_clear(&got);

    /* Protect refuses a commit without its confirmation tag, and content
     * for another epoch or group. */
    mls_buf_clear(&ac.auth.confirmation_tag);
    mls_message_clear(&bad);
    CHECK_ERR(mls_framing_protect_public(&f->send, &ac, &bad), MLS_ERR_ARG);
    mls_authenticated_content_clear(&ac);
    mls_message_clear(&msg);

    mls_framed_content fc;
    make_content(&fc, MLS_CONTENT_PROPOSAL, MLS_SENDER_MEMBER, SENDER);
    fc.epoch = EPOCH + 1;
    CHECK_ERR(mls_framing_sign(&f->send, mls_env_default(), MLS_WIRE_PUBLIC_MESSAGE, &fc,
                               mls_buf_view(&f->sk[SENDER]), &ac),
              MLS_ERR_ARG);
    mls_framed_content_clear(&fc);
}

/* ---------------------------------------------------------------- private tampering */

/*
 * Builds a PrivateMessage by hand, the way protect_private does, but with
 * a chosen leaf index and generation in the sender data and `pad` padding
 * bytes of value pad_byte, using keys from `tree` (which may differ from
 * the ctx's).
 */
static void craft_private(fixture *f, mls_secret_tree *tree, const mls_authenticated_content *ac,
                          uint32_t leaf, uint32_t generation, size_t pad, uint8_t pad_byte,
                          mls_message *out)
{
    const mls_suite *s = f->s;
    const mls_framed_content *c = &ac->content;
    mls_private_message_content pmc;
    mls_sender_data sd;
    mls_buf pt, aad, sdb;
    uint8_t key[MLS_MAX_AEAD_KEY], nonce[MLS_MAX_AEAD_NONCE];
    enum mls_ratchet_type type =
        c->content_type == MLS_CONTENT_APPLICATION ? MLS_RATCHET_APPLICATION : MLS_RATCHET_HANDSHAKE;

    mls_buf_init(&pt);
    mls_buf_init(&aad);
    mls_buf_init(&sdb);
    memset(out, 0, sizeof(*out));
    /* PrivateMessageContent aliasing ac's body (not cleared below). */
    memset(&pmc, 0, sizeof(pmc));
    pmc.content_type = c->content_type;
    if (c->content_type == MLS_CONTENT_APPLICATION)
        pmc.application_data = c->application_data;
    else if (c->content_type == MLS_CONTENT_PROPOSAL)
        pmc.proposal = c->proposal;
    else
        pmc.commit = c->commit;
    pmc.auth = ac->auth;
    CHECK_OK(mls_private_message_content_encode(&pmc, &pt));
    for (size_t i = 0; i < pad; i++)
        CHECK_OK(mls_write_u8(&pt, i + 1 == pad ? pad_byte : 0));

    memset(&sd, 0, sizeof(sd));
    sd.leaf_index = leaf;
    sd.generation = generation;
    memcpy(sd.reuse_guard, "\x01\x02\x03\x04", 4);
    CHECK_OK(mls_secret_tree_get(tree, leaf < N_LEAVES ? leaf : 0, type, generation, key, nonce));
    for (int i = 0; i < 4; i++)
        nonce[i] ^= sd.reuse_guard[i];

    out->version = MLS_VERSION_MLS10;
    out->wire_format = MLS_WIRE_PRIVATE_MESSAGE;
    mls_private_message *pm = &out->private_message;
    CHECK_OK(mls_buf_set(&pm->group_id, c->group_id.p, c->group_id.n));
    pm->epoch = c->epoch;
    pm->content_type = c->content_type;
    CHECK_OK(mls_buf_set(&pm->authenticated_data, c->authenticated_data.p,
                         c->authenticated_data.n));
    CHECK_OK(mls_private_content_aad_encode(mls_buf_view(&pm->group_id), pm->epoch,
                                            pm->content_type,
                                            mls_buf_view(&pm->authenticated_data), &aad));
    CHECK_OK(mls_aead_seal(s, mls_bytes_of(key, s->nk), mls_bytes_of(nonce, s->nn),
                           mls_buf_view(&aad), mls_buf_view(&pt), &pm->ciphertext));
    mls_buf_reset(&aad);
    CHECK_OK(mls_sender_data_aad_encode(mls_buf_view(&pm->group_id), pm->epoch,
                                        pm->content_type, &aad));
    CHECK_OK(mls_sender_data_encode(&sd, &sdb));
    CHECK_OK(mls_sender_data_key_nonce(s, mls_bytes_of(f->sender_data_secret, s->nh),
                                       mls_buf_view(&pm->ciphertext), key, nonce));
    CHECK_OK(mls_aead_seal(s, mls_bytes_of(key, s->nk), mls_bytes_of(nonce, s->nn),
                           mls_buf_view(&aad), mls_buf_view(&sdb),
                           &pm->encrypted_sender_data));
    mls_buf_clear(&pt);
    mls_buf_clear(&aad);
    mls_buf_clear(&sdb);
}

static void test_private_tamper(fixture *f)
{
    mls_authenticated_content ac, got;
    mls_message msg, bad;
    mls_secret_tree forge_tree;
    const mls_suite *s = f->s;
    uint32_t gen;

    memset(&msg, 0, sizeof(msg));
    memset(&bad, 0, sizeof(bad));
    memset(&got, 0, sizeof(got));
    /* Fresh trees: the sender's next application generation is 0. */
    mls_secret_tree_clear(&f->send_tree);
    mls_secret_tree_clear(&f->recv_tree);
    mls_bytes es = mls_bytes_of(f->encryption_secret, s->nh);
    CHECK_OK(mls_secret_tree_init(&f->send_tree, s, es, N_LEAVES, NULL));
    CHECK_OK(mls_secret_tree_init(&f->recv_tree, s, es, N_LEAVES, NULL));
    make_signed(f, &ac, MLS_WIRE_PRIVATE_MESSAGE, MLS_CONTENT_APPLICATION, MLS_SENDER_MEMBER,
                SENDER, mls_buf_view(&f->sk[SENDER]));
    CHECK_OK(mls_framing_protect_private(&f->send, mls_env_default(), &ac, &msg));
    const mls_private_message *pm = &msg.private_message;

    /* Ciphertext, at the start (changes the sender data key too) and at the
     * end (the content's AEAD tag). */
    wire_copy(&msg, &bad);
    bad.private_message.ciphertext.p[0] ^= 1;
    CHECK_ERR(mls_framing_unprotect_private(&f->recv, &bad, key_lookup, f, &got, NULL),
              MLS_ERR_DECRYPT);
    mls_message_clear(&bad);
    wire_copy(&msg, &bad);
    bad.private_message.ciphertext.p[pm->ciphertext.n - 1] ^= 1;
    CHECK_ERR(mls_framing_unprotect_private(&f->recv, &bad, key_lookup, f, &got, NULL),
              MLS_ERR_DECRYPT);
    mls_message_clear(&bad);
    /* Sender data. */
    wire_copy(&msg, &bad);
    bad.private_message.encrypted_sender_data.p[2] ^= 1;
    CHECK_ERR(mls_framing_unprotect_private(&f->recv, &bad, key_lookup, f, &got, NULL),
              MLS_ERR_DECRYPT);
    mls_message_clear(&bad);
    /* The clear header fields are bound by the AADs. */
    wire_copy(&msg, &bad);
    bad.private_message.authenticated_data.p[0] ^= 1;
    CHECK_ERR(mls_framing_unprotect_private(&f->recv, &bad, key_lookup, f, &got, NULL),
              MLS_ERR_DECRYPT);
    mls_message_clear(&bad);
    wire_copy(&msg, &bad);
    bad.private_message.content_type = MLS_CONTENT_PROPOSAL;
    CHECK_ERR(mls_framing_unprotect_private(&f->recv, &bad, key_lookup, f, &got, NULL),
              MLS_ERR_DECRYPT);
    mls_message_clear(&bad);
    wire_copy(&msg, &bad);
    bad.private_message.epoch--;
    CHECK_ERR(mls_framing_unprotect_private(&f->recv, &bad, key_lookup, f, &got, NULL),
              MLS_ERR_WRONG_EPOCH);
    mls_message_clear(&bad);
    wire_copy(&msg, &bad);
    bad.private_message.group_id.p[1] ^= 1;
    CHECK_ERR(mls_framing_unprotect_private(&f->recv, &bad, key_lookup, f, &got, NULL),
              MLS_ERR_WRONG_GROUP);
    mls_message_clear(&bad);
    /* Wrong sender data secret on the receiving side. */
    {
        mls_framing_ctx other = f->recv;
        uint8_t sds[MLS_MAX_HASH];
        fill(sds, s->nh, 200);
        other.sender_data_secret = mls_bytes_of(sds, s->nh);
        CHECK_ERR(mls_framing_unprotect_private(&other, &msg, key_lookup, f, &got, NULL),
                  MLS_ERR_DECRYPT);
    }
    /* Wrong function for the wire format. */
    CHECK_ERR(mls_framing_unprotect_public(&f->recv, &msg, key_lookup, f, &got), MLS_ERR_ARG);

    /* Correctly encrypted by a member, but with a bad signature, non-zero
     * padding, an unknown leaf, or a sender the engine rejects: generation 0
     * of the same ratchet, from a tree of our own. */
    CHECK_OK(mls_secret_tree_init(&forge_tree, s, es, N_LEAVES, NULL));
    {
        mls_authenticated_content forged;
        make_signed(f, &forged, MLS_WIRE_PRIVATE_MESSAGE, MLS_CONTENT_APPLICATION,
                    MLS_SENDER_MEMBER, SENDER, mls_buf_view(&f->sk[2]));
        craft_private(f, &forge_tree, &forged, SENDER, 0, 0, 0, &bad);
        CHECK_ERR(mls_framing_unprotect_private(&f->recv, &bad, key_lookup, f, &got, NULL),
                  MLS_ERR_SIGNATURE);
        mls_message_clear(&bad);
        mls_authenticated_content_clear(&forged);
    }
    mls_secret_tree_clear(&forge_tree);
    CHECK_OK(mls_secret_tree_init(&forge_tree, s, es, N_LEAVES, NULL));
    craft_private(f, &forge_tree, &ac, SENDER, 0, 5, 0x01, &bad);
    CHECK_ERR(mls_framing_unprotect_private(&f->recv, &bad, key_lookup, f, &got, NULL),
              MLS_ERR_MALFORMED);
    mls_message_clear(&bad);
    mls_secret_tree_clear(&forge_tree);
    CHECK_OK(mls_secret_tree_init(&forge_tree, s, es, N_LEAVES, NULL));
    /* All-zero padding is fine: this one decrypts (and is then rejected
     * only because generation 0 is taken afterwards by msg). */
    craft_private(f, &forge_tree, &ac, SENDER, 0, 5, 0x00, &bad);
    {
        mls_framing_ctx peek_only = f->recv;
        mls_secret_tree scratch;
        CHECK_OK(mls_secret_tree_init(&scratch, s, es, N_LEAVES, NULL));
        peek_only.secret_tree = &scratch;
        CHECK_OK(mls_framing_unprotect_private(&peek_only, &bad, key_lookup, f, &got, &gen));
        CHECK(gen == 0);
        CHECK(same_content(&ac, &got));
        mls_authenticated_content_clear(&got);
        mls_secret_tree_clear(&scratch);
    }
    mls_message_clear(&bad);
    /* Leaf index outside the tree. */
    craft_private(f, &forge_tree, &ac, N_LEAVES + 5, 1, 0, 0, &bad);
    CHECK_ERR(mls_framing_unprotect_private(&f->recv, &bad, key_lookup, f, &got, NULL),
              MLS_ERR_INVALID);
    mls_message_clear(&bad);
    mls_secret_tree_clear(&forge_tree);

    /* None of that consumed generation 0: the real message still decrypts,
     * once. */
    CHECK_OK(mls_framing_unprotect_private(&f->recv, &msg, key_lookup, f, &got, &gen));
    CHECK(gen == 0);
    CHECK(same_content(&ac, &got));
    mls_authenticated_content_clear(&got);
    CHECK_ERR(mls_framing_unprotect_private(&f->recv, &msg, key_lookup, f, &got, NULL),
              MLS_ERR_KEY_USED);
    mls_message_clear(&msg);

    /* A generation too far ahead of the receiver's ratchet. */
    {
        mls_secret_tree_config wide = {100000, 4};
        CHECK_OK(mls_secret_tree_init(&forge_tree, s, es, N_LEAVES, &wide));
        craft_private(f, &forge_tree, &ac, SENDER, 5000, 0, 0, &bad);
        CHECK_ERR(mls_framing_unprotect_private(&f->recv, &bad, key_lookup, f, &got, NULL),
                  MLS_ERR_INVALID);
        mls_message_clear(&bad);
        mls_secret_tree_clear(&forge_tree);
    }

    /* Protect refuses non-member senders and content for other epochs. */
    ac.content.sender.type = MLS_SENDER_EXTERNAL;
    CHECK_ERR(mls_framing_protect_private(&f->send, mls_env_default(), &ac, &msg), MLS_ERR_ARG);
    ac.content.sender.type = MLS_SENDER_MEMBER;
    ac.content.epoch++;
    CHECK_ERR(mls_framing_protect_private(&f->send, mls_env_default(), &ac, &msg), MLS_ERR_ARG);
    ac.content.epoch--;
    ac.wire_format = MLS_WIRE_PUBLIC_MESSAGE;
    CHECK_ERR(mls_framing_protect_private(&f->send, mls_env_default(), &ac, &msg), MLS_ERR_ARG);
    mls_authenticated_content_clear(&ac);
}

/* Out-of-order delivery within the window; reuse refused. */
static void test_private_out_of_order(fixture *f)
{
    mls_authenticated_content ac, got;
    mls_message msg[4];
    uint32_t gen;
    static const int order[] = {2, 0, 3, 1};

    memset(msg, 0, sizeof(msg));
    memset(&got, 0, sizeof(got));
    make_signed(f, &ac, MLS_WIRE_PRIVATE_MESSAGE, MLS_CONTENT_APPLICATION, MLS_SENDER_MEMBER,
                SENDER, mls_buf_view(&f->sk[SENDER]));
    for (int i = 0; i < 4; i++)
        CHECK_OK(mls_framing_protect_private(&f->send, mls_env_default(), &ac, &msg[i]));
    for (int i = 0; i < 4; i++) {
        CHECK_OK(mls_framing_unprotect_private(&f->recv, &msg[order[i]], key_lookup, f, &got,
                                               &gen));
        mls_authenticated_content_clear(&got);
    }
    for (int i = 0; i < 4; i++) {
        CHECK_ERR(mls_framing_unprotect_private(&f->recv, &msg[i], key_lookup, f, &got, NULL),
                  MLS_ERR_KEY_USED);
        mls_message_clear(&msg[i]);
    }
    mls_authenticated_content_clear(&ac);
}

/* Padding policy: the plaintext is a multiple of the block size, and the
 * receiver strips the zero padding. */
static void test_padding_policy(fixture *f)
{
    mls_authenticated_content ac, got;
    mls_message msg;
    uint32_t blocks[] = {0, 1, 32, 100, 1024};

    memset(&msg, 0, sizeof(msg));
    memset(&got, 0, sizeof(got));
    make_signed(f, &ac, MLS_WIRE_PRIVATE_MESSAGE, MLS_CONTENT_PROPOSAL, MLS_SENDER_MEMBER,
                SENDER, mls_buf_view(&f->sk[SENDER]));
    for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
        f->send.padding_block = blocks[i];
        CHECK_OK(mls_framing_protect_private(&f->send, mls_env_default(), &ac, &msg));
        size_t pt_len = msg.private_message.ciphertext.n - MLS_AEAD_TAG;
        if (blocks[i] > 1)
            CHECK(pt_len % blocks[i] == 0 && pt_len >= blocks[i]);
        CHECK_OK(mls_framing_unprotect_private(&f->recv, &msg, key_lookup, f, &got, NULL));
        CHECK(same_content(&ac, &got));
        mls_authenticated_content_clear(&got);
        mls_message_clear(&msg);
    }
    f->send.padding_block = 0;
    mls_authenticated_content_clear(&ac);
}

static void test_bad_arguments(fixture *f)
{
    mls_authenticated_content ac, got;
    mls_message msg;
    mls_env broken = {.random = test_failing_random, .now = NULL, .ctx = NULL};

    memset(&msg, 0, sizeof(msg));
    memset(&got, 0, sizeof(got));
    make_signed(f, &ac, MLS_WIRE_PRIVATE_MESSAGE, MLS_CONTENT_APPLICATION, MLS_SENDER_MEMBER,
                SENDER, mls_buf_view(&f->sk[SENDER]));
    CHECK_ERR(mls_framing_protect_private(&f->send, &broken, &ac, &msg), MLS_ERR_RANDOM);
    CHECK(msg.wire_format == 0);
    CHECK_ERR(mls_framing_protect_private(NULL, mls_env_default(), &ac, &msg), MLS_ERR_ARG);
    CHECK_ERR(mls_framing_unprotect_private(&f->recv, &msg, NULL, NULL, &got, NULL),
              MLS_ERR_ARG);
    {
        mls_framing_ctx no_tree = f->send;
        no_tree.secret_tree = NULL;
        CHECK_ERR(mls_framing_protect_private(&no_tree, mls_env_default(), &ac, &msg),
                  MLS_ERR_ARG);
    }
    /* A commit signed but without its confirmation tag. */
    mls_authenticated_content_clear(&ac);
    make_signed(f, &ac, MLS_WIRE_PRIVATE_MESSAGE, MLS_CONTENT_COMMIT, MLS_SENDER_MEMBER, SENDER,
                mls_buf_view(&f->sk[SENDER]));
    mls_buf_clear(&ac.auth.confirmation_tag);
    CHECK_ERR(mls_framing_protect_private(&f->send, mls_env_default(), &ac, &msg), MLS_ERR_ARG);
    mls_authenticated_content_clear(&ac);
    /* The membership key must be Nh bytes. */
    uint8_t tag[MLS_MAX_HASH];
    mls_framed_content fc;
    mls_framed_content_auth_data auth;
    make_content(&fc, MLS_CONTENT_PROPOSAL, MLS_SENDER_MEMBER, SENDER);
    memset(&auth, 0, sizeof(auth));
    CHECK_ERR(mls_framing_membership_tag(f->s, mls_bytes_of(tag, 3), &fc, &auth,
                                         mls_buf_view(&f->group_context), tag),
              MLS_ERR_ARG);
    mls_framed_content_clear(&fc);
}

int main(void)
{
    static const uint16_t suites[] = {
        MLS_SUITE_X25519_AES128GCM_SHA256_ED25519, MLS_SUITE_P256_AES128GCM_SHA256_P256,
        MLS_SUITE_X25519_CHACHA20POLY1305_SHA256_ED25519, MLS_SUITE_X448_AES256GCM_SHA512_ED448,
        MLS_SUITE_P521_AES256GCM_SHA512_P521, MLS_SUITE_P384_AES256GCM_SHA384_P384};
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
        fixture f;
        fixture_init(&f, suites[i]);
        test_public_round_trip(&f);
        test_public_application_refused(&f);
        test_public_non_members(&f);
        test_private_round_trip(&f);
        test_public_tamper(&f);
        test_private_tamper(&f);
        test_private_out_of_order(&f);
        test_padding_policy(&f);
        test_bad_arguments(&f);
        fixture_clear(&f);
    }
    TEST_MAIN_END("test_framing");
}
