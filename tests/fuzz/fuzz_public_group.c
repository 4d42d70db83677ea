/*
 * The public group view (include/mls/public_group.h): deserializing a
 * stored view and processing handshake messages with it must never crash;
 * a view it accepts must serialize back to exactly its input; a message it
 * refuses must leave the view byte-identical; a message it accepts must
 * merge into a view that survives serialize -> deserialize -> serialize.
 *
 * Input: a mode byte, then
 *   mode & 1 == 0: a serialized view, which then processes a fixed commit
 *                  (alice's self-update of the fixture group, fuzz.h);
 *   mode & 1 == 1: an MLSMessage, processed by the view of the fixture
 *                  group at epoch 1 (made from bob's group).
 *
 * Seeds (MLS_FUZZ_SEEDS): the fixture's view; commits (update, add with an
 * extension change and a PSK, remove) and proposals of the fixture group.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mls/public_group.h"

static fuzz_fixture fx;
static mls_buf view0;  /* the serialized view at epoch 1 */
static mls_buf commit0; /* alice's self-update at epoch 1 */

static void seed_msg(const char *name, mls_bytes msg)
{
    static const uint8_t mode = 1;
    fuzz_seed(name, &mode, 1, msg);
}

static void seed_commit(const char *name, const mls_commit_options *o)
{
    mls_group *a = fuzz_fixture_group(&fx, FUZZ_ALICE);
    mls_staged_commit *sc = NULL;

    if (mls_group_commit(a, o, &sc) == MLS_OK)
        seed_msg(name, mls_staged_commit_message(sc));
    mls_staged_commit_free(sc);
    mls_group_free(a);
}

static void write_seeds(void)
{
    static const uint8_t mode0 = 0;
    static const uint8_t ext_data[] = {2, 'x', 'y'};
    const mls_ext ext = {MLS_EXTENSION_PRIVATE_MIN, {ext_data, sizeof ext_data}};
    const mls_bytes psk = {(const uint8_t *)"psk", 3};
    const mls_bytes dave = mls_buf_view(&fx.kp[FUZZ_DAVE]);
    const uint32_t rm = FUZZ_CAROL;
    mls_group *c = fuzz_fixture_group(&fx, FUZZ_CAROL);
    mls_commit_options o;
    mls_buf out;

    fuzz_seed("view", &mode0, 1, mls_buf_view(&view0));
    seed_msg("commit-update", mls_buf_view(&commit0));
    memset(&o, 0, sizeof o);
    o.add = &dave;
    o.n_add = 1;
    o.set_extensions = &ext;
    o.n_set_extensions = 1;
    o.external_psks = &psk;
    o.n_external_psks = 1;
    seed_commit("commit-add", &o);
    memset(&o, 0, sizeof o);
    o.remove = &rm;
    o.n_remove = 1;
    seed_commit("commit-remove", &o);
    mls_buf_init(&out);
    if (mls_group_propose_remove(c, FUZZ_BOB, &out) == MLS_OK)
        seed_msg("propose-remove", mls_buf_view(&out));
    if (mls_group_propose_add(c, dave, &out) == MLS_OK)
        seed_msg("propose-add", mls_buf_view(&out));
    if (mls_group_propose_extensions(c, &ext, 1, &out) == MLS_OK)
        seed_msg("propose-gce", mls_buf_view(&out));
    mls_buf_clear(&out);
    mls_group_free(c);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    mls_group *b, *a;
    mls_public_group *pg = NULL;
    mls_staged_commit *sc = NULL;

    (void)argc;
    (void)argv;
    fuzz_fixture_init(&fx);
    b = fuzz_fixture_group(&fx, FUZZ_BOB);
    a = fuzz_fixture_group(&fx, FUZZ_ALICE);
    mls_buf_init(&view0);
    mls_buf_init(&commit0);
    if (mls_public_group_from_group(b, &pg) != MLS_OK ||
        mls_public_group_serialize(pg, &view0) != MLS_OK || mls_group_commit(a, NULL, &sc) != MLS_OK ||
        mls_buf_set(&commit0, mls_staged_commit_message(sc).p, mls_staged_commit_message(sc).n) !=
            MLS_OK)
        abort();
    mls_staged_commit_free(sc);
    mls_public_group_free(pg);
    mls_group_free(a);
    mls_group_free(b);
    if (fuzz_writing_seeds())
        write_seeds();
    return 0;
}

/* Reads everything the inspection offers of st. */
static void inspect(const mls_public_staged *st, mls_bytes msg)
{
    mls_public_change ch;
    mls_public_proposal pp;
    mls_public_psk pk;
    mls_ext ext;
    mls_bytes data;
    uint8_t type;
    uint32_t idx;

    (void)mls_public_staged_kind(st);
    (void)mls_public_staged_epoch(st);
    mls_public_staged_sender(st, &type, &idx);
    (void)mls_public_staged_authenticated_data(st);
    (void)!mls_public_staged_committer(st, &ch);
    for (int k = MLS_PUBLIC_ADDED; k <= MLS_PUBLIC_UPDATED; k++)
        for (size_t i = 0; i < mls_public_staged_change_count(st, k); i++)
            (void)!mls_public_staged_change(st, k, i, &ch);
    for (size_t i = 0; i < mls_public_staged_proposal_count(st); i++)
        (void)!mls_public_staged_proposal(st, i, &pp);
    for (size_t i = 0; i < mls_public_staged_psk_count(st); i++)
        (void)!mls_public_staged_psk(st, i, &pk);
    (void)mls_public_staged_extensions_changed(st);
    for (int after = 0; after <= 1; after++) {
        (void)!mls_public_staged_extension(st, after, MLS_EXTENSION_PRIVATE_MIN, &data);
        for (size_t i = 0; mls_public_staged_extension_at(st, after, i, &ext) == MLS_OK; i++)
            ;
    }
    (void)!mls_public_staged_reinit(st, &data, NULL, NULL);
    (void)mls_public_staged_external_init(st);
    /* Not a GroupInfo: refused, never a crash. */
    (void)!mls_public_staged_check_group_info(st, msg);
}

/* pg processes msg: refused, pg is unchanged; accepted, the merged view
 * round-trips. */
static void process(mls_public_group *pg, mls_bytes msg)
{
    mls_public_staged *st = NULL;
    mls_public_group *pg2 = NULL;
    mls_buf a, b;

    mls_buf_init(&a);
    mls_buf_init(&b);
    if (mls_public_group_serialize(pg, &a) != MLS_OK)
        abort();
    if (mls_public_group_process(pg, msg, &st) != MLS_OK) {
        if (st || mls_public_group_serialize(pg, &b) != MLS_OK)
            abort();
        fuzz_expect_same(mls_buf_view(&a), mls_buf_view(&b));
        goto out;
    }
    inspect(st, msg);
    if (mls_public_group_merge(pg, st) != MLS_OK || mls_public_group_serialize(pg, &a) != MLS_OK ||
        mls_public_group_deserialize(fuzz_env(), mls_buf_view(&a), &pg2) != MLS_OK ||
        mls_public_group_serialize(pg2, &b) != MLS_OK)
        abort();
    fuzz_expect_same(mls_buf_view(&a), mls_buf_view(&b));
out:
    mls_public_staged_free(st);
    mls_public_group_free(pg2);
    mls_buf_clear(&a);
    mls_buf_clear(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mls_public_group *pg = NULL;
    mls_buf out;
    mls_member m;
    mls_bytes in;

    if (size < 1)
        return 0;
    fuzz_env_reset();
    in = mls_bytes_of(data + 1, size - 1);
    mls_buf_init(&out);
    if ((data[0] & 1) == 0) {
        if (mls_public_group_deserialize(fuzz_env(), in, &pg) != MLS_OK)
            goto out;
        if (mls_public_group_serialize(pg, &out) != MLS_OK)
            abort();
        fuzz_expect_same(in, mls_buf_view(&out));
        for (uint32_t i = 0; i < mls_public_group_leaf_count(pg) && i < 1024; i++)
            (void)!mls_public_group_member(pg, i, &m);
        (void)!mls_public_group_ratchet_tree(pg, &out);
        process(pg, mls_buf_view(&commit0));
    } else {
        if (mls_public_group_deserialize(fuzz_env(), mls_buf_view(&view0), &pg) != MLS_OK)
            abort();
        process(pg, in);
    }
out:
    mls_public_group_free(pg);
    mls_buf_clear(&out);
    return 0;
}
