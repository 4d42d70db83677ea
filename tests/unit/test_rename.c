/* A commit that renames its committer (mls_commit_options.new_identity):
 * the UpdatePath leaf carries the new basic credential under the same
 * signature key; the other member sees the change (old_identity ->
 * identity, same key); the renamer's group signs with the new identity
 * from then on, also after a serialize round trip; a different key or
 * suite is MLS_ERR_ARG and changes nothing. */
#include "mls/group.h"
#include "test.h"

#include <string.h>

#define SUITE MLS_SUITE_X25519_AES128GCM_SHA256_ED25519

static const mls_env *env;

static mls_bytes str(const char *s)
{
    return mls_bytes_of((const uint8_t *)s, strlen(s));
}

static int eq(mls_bytes a, const char *s)
{
    return a.n == strlen(s) && memcmp(a.p, s, a.n) == 0;
}

/* Processes a commit in g; fills r (caller clears). */
static void process(mls_group *g, mls_bytes msg, mls_process_result *r)
{
    memset(r, 0, sizeof(*r));
    CHECK_OK(mls_group_process(g, msg, r));
    CHECK(r->kind == MLS_RESULT_COMMIT);
}

int main(void)
{
    mls_identity *alice = NULL, *bob = NULL, *robert = NULL, *other = NULL, *suite2 = NULL;
    mls_group *ga = NULL, *gb = NULL, *copy = NULL;
    mls_staged_commit *sc = NULL;
    mls_commit_options o;
    mls_process_result r;
    mls_buf kp, bundle, before, after, msg;
    mls_bytes kpv, b;
    mls_join_options jo;
    mls_member m;
    uint32_t leaf;

    env = mls_env_default();
    mls_buf_init(&kp);
    mls_buf_init(&bundle);
    mls_buf_init(&before);
    mls_buf_init(&after);
    mls_buf_init(&msg);
    CHECK_OK(mls_identity_generate(env, SUITE, str("alice"), &alice));
    CHECK_OK(mls_identity_generate(env, SUITE, str("bob"), &bob));
    CHECK_OK(mls_identity_from_private_key(SUITE, mls_identity_signature_private_key(bob),
                                           str("robert"), &robert));
    CHECK_OK(mls_identity_generate(env, SUITE, str("robert"), &other));
    CHECK_OK(mls_identity_from_private_key(MLS_SUITE_X25519_CHACHA20POLY1305_SHA256_ED25519,
                                           mls_identity_signature_private_key(bob), str("robert"),
                                           &suite2));

    /* alice and bob in one group. */
    CHECK_OK(mls_group_create(env, alice, str("rename"), NULL, 0, NULL, &ga));
    CHECK_OK(mls_key_package_create(env, bob, NULL, &kp, &bundle));
    kpv = mls_buf_view(&kp);
    CHECK_OK(mls_group_add_members(ga, &kpv, 1, &sc));
    memset(&jo, 0, sizeof(jo));
    b = mls_buf_view(&bundle);
    CHECK_OK(mls_group_join(env, bob, mls_staged_commit_welcome(sc), &b, 1, &jo, NULL, &gb));
    CHECK_OK(mls_group_merge_staged(ga, sc));
    mls_staged_commit_free(sc);
    sc = NULL;

    /* Another key, or another suite: refused, nothing changed. */
    CHECK_OK(mls_group_serialize(gb, &before));
    memset(&o, 0, sizeof(o));
    o.new_identity = other;
    CHECK_ERR(mls_group_commit(gb, &o, &sc), MLS_ERR_ARG);
    o.new_identity = suite2;
    CHECK_ERR(mls_group_commit(gb, &o, &sc), MLS_ERR_ARG);
    CHECK(sc == NULL);
    CHECK_OK(mls_group_serialize(gb, &after));
    CHECK(before.n == after.n && memcmp(before.p, after.p, before.n) == 0);

    /* bob renames himself to robert: the path leaf carries the new name. */
    o.new_identity = robert;
    CHECK_OK(mls_group_commit(gb, &o, &sc));
    CHECK_OK(mls_buf_set(&msg, mls_staged_commit_message(sc).p, mls_staged_commit_message(sc).n));
    mls_buf_reset(&after);
    CHECK_OK(mls_staged_commit_next_state(sc, &after));
    CHECK_OK(mls_group_merge_staged(gb, sc));
    mls_staged_commit_free(sc);
    sc = NULL;
    /* next_state is the merged state, identity included. */
    mls_buf_reset(&before);
    CHECK_OK(mls_group_serialize(gb, &before));
    CHECK(before.n == after.n && memcmp(before.p, after.p, before.n) == 0);
    CHECK_OK(mls_group_member(gb, mls_group_own_leaf(gb), &m));
    CHECK(eq(m.identity, "robert"));

    process(ga, mls_buf_view(&msg), &r);
    CHECK(r.n_updated == 1 && r.has_path);
    CHECK(eq(mls_buf_view(&r.updated[0].old_identity), "bob"));
    CHECK(eq(mls_buf_view(&r.updated[0].identity), "robert"));
    CHECK(mls_ct_equal(mls_buf_view(&r.updated[0].signature_key),
                       mls_buf_view(&r.updated[0].old_signature_key)));
    mls_process_result_clear(&r);
    CHECK_OK(mls_group_find_member(ga, str("robert"), &leaf));
    CHECK_ERR(mls_group_find_member(ga, str("bob"), &leaf), MLS_ERR_NOT_FOUND);
    CHECK(mls_ct_equal(mls_group_epoch_authenticator(ga), mls_group_epoch_authenticator(gb)));

    /* Later commits keep the new name, also from a reloaded state. */
    CHECK_OK(mls_group_deserialize(env, mls_buf_view(&before), &copy));
    mls_group_free(gb);
    gb = copy;
    CHECK_OK(mls_group_self_update(gb, &sc));
    mls_buf_reset(&msg);
    CHECK_OK(mls_buf_set(&msg, mls_staged_commit_message(sc).p, mls_staged_commit_message(sc).n));
    CHECK_OK(mls_group_merge_staged(gb, sc));
    mls_staged_commit_free(sc);
    sc = NULL;
    process(ga, mls_buf_view(&msg), &r);
    CHECK(r.n_updated == 1 && eq(mls_buf_view(&r.updated[0].identity), "robert") &&
          eq(mls_buf_view(&r.updated[0].old_identity), "robert"));
    mls_process_result_clear(&r);

    mls_group_free(ga);
    mls_group_free(gb);
    mls_identity_free(alice);
    mls_identity_free(bob);
    mls_identity_free(robert);
    mls_identity_free(other);
    mls_identity_free(suite2);
    mls_buf_clear(&kp);
    mls_buf_clear(&bundle);
    mls_buf_clear(&before);
    mls_buf_clear(&after);
    mls_buf_clear(&msg);
    TEST_MAIN_END("test_rename");
}
