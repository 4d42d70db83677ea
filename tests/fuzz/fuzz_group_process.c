/*
 * The group engine's entry point for everything the Delivery Service
 * delivers: mls_group_process (RFC 9420 §6, §12) on bob's group of the
 * fixture (fuzz.h: alice, bob, carol at epoch 1).  It must never crash;
 * when it fails, bob's serialized state must be byte-identical to what it
 * was (group.h: "on error the group is unchanged"); when it succeeds, the
 * new state must survive serialize -> deserialize -> serialize unchanged.
 *
 * Input: a mode byte, then
 *   mode & 3 == 1: a Proposal, which the harness frames as a PublicMessage
 *                  from a member, signed and with a valid membership tag;
 *   mode & 3 == 2: a Commit followed by its confirmation tag (any other
 *                  length than 32 bytes: 32 zero bytes), framed likewise;
 *   otherwise:     an MLSMessage, processed as it is.
 * For the framed modes the sender is carol (leaf 2) if mode & 4, else
 * alice (leaf 0), so the fuzzer reaches the proposal and commit rules
 * behind the signature and membership tag checks.
 *
 * Seeds (MLS_FUZZ_SEEDS, fuzz.h): real proposals, commits and application
 * messages of the fixture group, raw and as framed-mode inputs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "group_state.h"

static fuzz_fixture fx;

/* ------------------------------------------------------------ seeds */

static void seed_raw(const char *name, mls_bytes msg)
{
    static const uint8_t mode = 0;
    fuzz_seed(name, &mode, 1, msg);
}

/* The framed-mode input equivalent to a PublicMessage seed. */
static void seed_framed(const char *name, mls_bytes msg, int from_carol)
{
    mls_message m;
    mls_buf body;
    uint8_t mode;

    if (mls_message_decode_bytes(msg, &m) != MLS_OK)
        abort();
    mls_buf_init(&body);
    if (m.wire_format == MLS_WIRE_PUBLIC_MESSAGE) {
        const mls_public_message *pm = &m.public_message;
        int err = MLS_OK;
        if (pm->content.content_type == MLS_CONTENT_PROPOSAL) {
            mode = 1;
            err = mls_proposal_encode(&pm->content.proposal, &body);
        } else {
            mode = 2;
            err = mls_commit_encode(&pm->content.commit, &body);
            if (!err)
                err = mls_buf_append(&body, pm->auth.confirmation_tag.p,
                                     pm->auth.confirmation_tag.n);
        }
        if (err)
            abort();
        mode |= (uint8_t)(from_carol ? 4 : 0);
        fuzz_seed(name, &mode, 1, mls_buf_view(&body));
    }
    mls_buf_clear(&body);
    mls_message_clear(&m);
}

static void seed_message(const char *name, mls_bytes msg, int from_carol)
{
    seed_raw(name, msg);
    seed_framed(name, msg, from_carol);
}

static void seed_commit(int who, int private_hs, const mls_commit_options *opt, const char *name)
{
    mls_group *g = fuzz_fixture_group(&fx, who);
    mls_staged_commit *sc = NULL;
    mls_group_config cfg;

    mls_group_get_config(g, &cfg);
    cfg.handshake_private = private_hs;
    if (mls_group_set_config(g, &cfg) == MLS_OK && mls_group_commit(g, opt, &sc) == MLS_OK)
        seed_message(name, mls_staged_commit_message(sc), who == FUZZ_CAROL);
    mls_staged_commit_free(sc);
    mls_group_free(g);
}

static void write_seeds(void)
{
    static const uint8_t ext_data[] = {3, 'a', 'b', 'c'};
    const mls_ext ext = {MLS_EXTENSION_PRIVATE_MIN, {ext_data, sizeof ext_data}};
    const mls_bytes psk = {(const uint8_t *)"psk", 3};
    const mls_bytes dave = mls_buf_view(&fx.kp[FUZZ_DAVE]);
    const uint32_t rm_carol = FUZZ_CAROL, rm_bob = FUZZ_BOB;

    for (int private_hs = 0; private_hs <= 1; private_hs++) {
        for (int who = FUZZ_ALICE; who <= FUZZ_CAROL; who += 2) {
            mls_group *g = fuzz_fixture_group(&fx, who);
            mls_group_config cfg;
            mls_buf out;
            int err;

            mls_group_get_config(g, &cfg);
            cfg.handshake_private = private_hs;
            cfg.padding_block = private_hs ? 16 : 0;
            mls_buf_init(&out);
            err = mls_group_set_config(g, &cfg);
            if (!err && mls_group_protect(g, mls_bytes_of((const uint8_t *)"ad", 2),
                                          mls_bytes_of((const uint8_t *)"hello", 5), &out) == 0)
                seed_raw("application", mls_buf_view(&out));
            if (!err && mls_group_propose_remove(g, who == FUZZ_ALICE ? rm_carol : 0, &out) == 0)
                seed_message("propose-remove", mls_buf_view(&out), who == FUZZ_CAROL);
            if (!err && mls_group_propose_self_update(g, &out) == 0)
                seed_message("propose-update", mls_buf_view(&out), who == FUZZ_CAROL);
            if (!err && mls_group_propose_add(g, dave, &out) == 0)
                seed_message("propose-add", mls_buf_view(&out), who == FUZZ_CAROL);
            if (!err && mls_group_propose_extensions(g, &ext, 1, &out) == 0)
                seed_message("propose-gce", mls_buf_view(&out), who == FUZZ_CAROL);
            if (!err && mls_group_propose_external_psk(g, psk, &out) == 0)
                seed_message("propose-psk", mls_buf_view(&out), who == FUZZ_CAROL);
            mls_buf_clear(&out);
            mls_group_free(g);

            {
                mls_commit_options o;
                memset(&o, 0, sizeof o);
                seed_commit(who, private_hs, NULL, "commit-update");
                o.add = &dave;
                o.n_add = 1;
                seed_commit(who, private_hs, &o, "commit-add");
                memset(&o, 0, sizeof o);
                o.remove = who == FUZZ_ALICE ? &rm_carol : &rm_bob;
                o.n_remove = 1;
                seed_commit(who, private_hs, &o, "commit-remove");
                memset(&o, 0, sizeof o);
                o.set_extensions = &ext;
                o.n_set_extensions = 1;
                o.external_psks = &psk;
                o.n_external_psks = 1;
                o.add = &dave;
                o.n_add = 1;
                seed_commit(who, private_hs, &o, "commit-mixed");
            }
        }
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fixture_init(&fx);
    if (fuzz_writing_seeds())
        write_seeds();
    return 0;
}

/* ------------------------------------------------------------ framing */

/* The MLSMessage carrying content, signed by member `who` for bob's
 * current epoch, with its membership tag.  0 if it cannot be built (the
 * fuzzed content breaks a rule the sender side enforces). */
static int frame(mls_group *bob, int who, mls_framed_content *content, mls_bytes tag,
                 mls_buf *out)
{
    mls_framing_ctx fc;
    mls_authenticated_content ac;
    mls_message msg;
    int ok = 0;

    mls_group_framing_ctx(bob, &fc);
    if (mls_buf_set(&content->group_id, fc.group_id.p, fc.group_id.n) != MLS_OK)
        return 0;
    content->epoch = fc.epoch;
    content->sender.type = MLS_SENDER_MEMBER;
    content->sender.index = who == FUZZ_CAROL ? 2 : 0;
    if (mls_framing_sign(&fc, fuzz_env(), MLS_WIRE_PUBLIC_MESSAGE, content,
                         mls_identity_signature_private_key(fx.id[who]), &ac) != MLS_OK)
        return 0;
    if (content->content_type == MLS_CONTENT_COMMIT &&
        mls_buf_set(&ac.auth.confirmation_tag, tag.p, tag.n) != MLS_OK)
        goto out;
    if (mls_framing_protect_public(&fc, &ac, &msg) != MLS_OK)
        goto out;
    ok = mls_message_encode(&msg, out) == MLS_OK;
    mls_message_clear(&msg);
out:
    mls_authenticated_content_clear(&ac);
    return ok;
}

/* Builds the message of a framed-mode input into out; 0 if the input
 * does not decode. */
static int build_framed(mls_group *bob, uint8_t mode, mls_bytes in, mls_buf *out)
{
    static const uint8_t zero_tag[32];
    mls_framed_content content;
    mls_reader r;
    int ok = 0, who = (mode & 4) ? FUZZ_CAROL : FUZZ_ALICE;

    memset(&content, 0, sizeof content);
    mls_reader_init_bytes(&r, in);
    if ((mode & 3) == 1) {
        content.content_type = MLS_CONTENT_PROPOSAL;
        if (mls_proposal_decode_bytes(in, &content.proposal) != MLS_OK)
            return 0;
        ok = frame(bob, who, &content, mls_bytes_of(NULL, 0), out);
    } else {
        mls_bytes tag;
        content.content_type = MLS_CONTENT_COMMIT;
        if (mls_commit_decode(&r, &content.commit) != MLS_OK)
            return 0;
        tag = mls_bytes_of(r.p + r.off, mls_reader_left(&r));
        if (tag.n != sizeof zero_tag)
            tag = mls_bytes_of(zero_tag, sizeof zero_tag);
        ok = frame(bob, who, &content, tag, out);
    }
    mls_framed_content_clear(&content);
    return ok;
}

/* ------------------------------------------------------------ the target */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mls_group *bob, *again = NULL;
    mls_buf msg, after, twice;
    mls_process_result res;
    mls_bytes in;
    int err;

    if (size < 1)
        return 0;
    in = mls_bytes_of(data + 1, size - 1);
    fuzz_env_reset();
    bob = fuzz_fixture_group(&fx, FUZZ_BOB);
    mls_buf_init(&msg);
    mls_buf_init(&after);
    mls_buf_init(&twice);
    memset(&res, 0, sizeof res);
    if ((data[0] & 3) == 1 || (data[0] & 3) == 2) {
        if (!build_framed(bob, data[0], in, &msg))
            goto out;
        in = mls_buf_view(&msg);
    }
    err = mls_group_process(bob, in, &res);
    if (getenv("MLS_FUZZ_VERBOSE"))
        fprintf(stderr, "mode %u: %s\n", data[0], mls_errname(err));
    if (mls_group_serialize(bob, &after) != MLS_OK)
        abort();
    if (err != MLS_OK) {
        /* group.h: on error the group is unchanged. */
        fuzz_expect_same(mls_buf_view(&fx.state[FUZZ_BOB]), mls_buf_view(&after));
    } else {
        mls_process_result_clear(&res);
        if (mls_group_deserialize(fuzz_env(), mls_buf_view(&after), &again) != MLS_OK ||
            mls_group_serialize(again, &twice) != MLS_OK)
            abort();
        fuzz_expect_same(mls_buf_view(&after), mls_buf_view(&twice));
        mls_group_free(again);
    }
out:
    mls_buf_clear(&twice);
    mls_buf_clear(&after);
    mls_buf_clear(&msg);
    mls_group_free(bob);
    return 0;
}
