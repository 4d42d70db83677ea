/*
 * The group state deserializer (mls_group_deserialize): whatever the
 * bytes, it must not crash; a state it accepts must serialize back to
 * exactly the input, and the group must be usable without crashing
 * (roster, extensions, ratchet tree, GroupInfo, exporter, sending an
 * application message, building a self-update commit).
 *
 * Input: serialized group state.  Seeds (MLS_FUZZ_SEEDS): the fixture's
 * states (fuzz.h), and bob's state after receiving a proposal, an
 * application message and commits (pending proposals, past epochs,
 * resumption PSKs, a grown tree).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static fuzz_fixture fx;

static void seed_state(const char *name, const mls_group *g)
{
    mls_buf st;
    mls_buf_init(&st);
    if (mls_group_serialize(g, &st) == MLS_OK)
        fuzz_seed(name, NULL, 0, mls_buf_view(&st));
    mls_buf_clear(&st);
}

/* Bob's state after alice's messages made by fn. */
static void seed_after(const char *name, int (*fn)(mls_group *alice, mls_buf *msg))
{
    mls_group *alice = fuzz_fixture_group(&fx, FUZZ_ALICE);
    mls_group *bob = fuzz_fixture_group(&fx, FUZZ_BOB);
    mls_process_result res;
    mls_buf msg;

    mls_buf_init(&msg);
    memset(&res, 0, sizeof res);
    if (fn(alice, &msg) == MLS_OK && mls_group_process(bob, mls_buf_view(&msg), &res) == MLS_OK) {
        seed_state(name, bob);
        mls_process_result_clear(&res);
    }
    mls_buf_clear(&msg);
    mls_group_free(bob);
    mls_group_free(alice);
}

static int make_app(mls_group *a, mls_buf *msg)
{
    return mls_group_protect(a, mls_bytes_of(NULL, 0), mls_bytes_of((const uint8_t *)"hi", 2),
                             msg);
}

static int make_proposal(mls_group *a, mls_buf *msg)
{
    return mls_group_propose_remove(a, FUZZ_CAROL, msg);
}

static int commit_msg(mls_group *a, const mls_commit_options *o, mls_buf *msg)
{
    mls_staged_commit *sc = NULL;
    int err = mls_group_commit(a, o, &sc);
    if (!err)
        err = mls_buf_set(msg, mls_staged_commit_message(sc).p, mls_staged_commit_message(sc).n);
    mls_staged_commit_free(sc);
    return err;
}

static int make_update(mls_group *a, mls_buf *msg)
{
    return commit_msg(a, NULL, msg);
}

static int make_add(mls_group *a, mls_buf *msg)
{
    mls_commit_options o;
    mls_bytes kp = mls_buf_view(&fx.kp[FUZZ_DAVE]);
    static const uint8_t ext_data[] = {2, 'x', 'y'};
    const mls_ext ext = {MLS_EXTENSION_PRIVATE_MIN, {ext_data, sizeof ext_data}};
    const mls_bytes psk = {(const uint8_t *)"psk", 3};
    memset(&o, 0, sizeof o);
    o.add = &kp;
    o.n_add = 1;
    o.set_extensions = &ext;
    o.n_set_extensions = 1;
    o.external_psks = &psk;
    o.n_external_psks = 1;
    return commit_msg(a, &o, msg);
}

static int make_remove(mls_group *a, mls_buf *msg)
{
    mls_commit_options o;
    uint32_t leaf = FUZZ_CAROL;
    memset(&o, 0, sizeof o);
    o.remove = &leaf;
    o.n_remove = 1;
    return commit_msg(a, &o, msg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fixture_init(&fx);
    if (!fuzz_writing_seeds())
        return 0;
    for (int i = FUZZ_ALICE; i <= FUZZ_CAROL; i++)
        fuzz_seed("fixture", NULL, 0, mls_buf_view(&fx.state[i]));
    seed_after("app", make_app);
    seed_after("proposal", make_proposal);
    seed_after("update", make_update);
    seed_after("add", make_add);
    seed_after("remove", make_remove);
    return 0;
}

/* Uses the accepted group g the ways an application does. */
static void exercise(mls_group *g)
{
    mls_buf out;
    mls_member m;
    mls_ext ext;
    mls_bytes data;
    mls_staged_commit *sc = NULL;
    uint32_t leaf;

    mls_buf_init(&out);
    (void)mls_group_id(g);
    (void)mls_group_epoch(g);
    (void)mls_group_epoch_authenticator(g);
    (void)mls_group_member_count(g);
    for (uint32_t i = 0; i < mls_group_leaf_count(g) && i < 1024; i++)
        (void)!mls_group_member(g, i, &m);
    (void)!mls_group_find_member(g, mls_bytes_of((const uint8_t *)"bob", 3), &leaf);
    for (size_t i = 0; i < mls_group_extension_count(g); i++)
        (void)!mls_group_extension_at(g, i, &ext);
    (void)!mls_group_extension(g, MLS_EXTENSION_PRIVATE_MIN, &data);
    (void)!mls_group_export_secret(g, "fuzz", mls_bytes_of(NULL, 0), 16, &out);
    (void)!mls_group_ratchet_tree(g, &out);
    fuzz_env_reset();
    (void)!mls_group_group_info(g, 1, &out);
    (void)!mls_group_protect(g, mls_bytes_of(NULL, 0), mls_bytes_of((const uint8_t *)"x", 1),
                             &out);
    if (mls_group_leaf_count(g) <= 64 && mls_group_self_update(g, &sc) == MLS_OK)
        (void)!mls_group_merge_staged(g, sc);
    mls_staged_commit_free(sc);
    mls_buf_clear(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mls_group *g = NULL;
    mls_buf out;

    fuzz_env_reset();
    if (mls_group_deserialize(fuzz_env(), mls_bytes_of(data, size), &g) != MLS_OK)
        return 0;
    mls_buf_init(&out);
    if (mls_group_serialize(g, &out) != MLS_OK)
        abort();
    fuzz_expect_same(mls_bytes_of(data, size), mls_buf_view(&out));
    mls_group_set_psk_store(g, fuzz_psk_store());
    exercise(g);
    mls_buf_clear(&out);
    mls_group_free(g);
    return 0;
}
