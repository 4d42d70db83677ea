/*
 * Randomized self-test of the group engine: members in one process perform
 * hundreds of random operations (adds, removes, updates, proposals by
 * reference, several proposals in one commit, external joins and rejoins,
 * extension changes, application messages, state persistence); after each
 * operation every member's epoch and epoch authenticator must equal every
 * other's.
 *
 * MLS_RANDOM_SEED chooses the sequence (default 1); MLS_RANDOM_OPS the
 * number of operations (default 300).
 */
#include "mls/group.h"
#include "test.h"

#include <stdint.h>
#include <string.h>

#define MAX_MEMBERS 12
#define MIN_MEMBERS 3
#define APP_EXT 0xF0A1u

static const mls_env *env;
static uint64_t rng_state;
static unsigned next_name;

static uint32_t rnd(uint32_t n)
{
    /* xorshift64*: the operation sequence only, not key material. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32) % n;
}

typedef struct client {
    mls_identity *id;
    mls_group *g;
    mls_buf kp, bundle;
} client;

static client members[MAX_MEMBERS];
static size_t n_members;
static uint16_t suite = MLS_SUITE_X25519_AES128GCM_SHA256_ED25519;

static int new_client(client *c)
{
    char name[32];
    uint16_t ext = APP_EXT;
    int n = snprintf(name, sizeof(name), "user%u", next_name++);

    memset(c, 0, sizeof(*c));
    if (mls_identity_generate(env, suite, mls_bytes_of((const uint8_t *)name, (size_t)n),
                              &c->id) != 0 ||
        mls_identity_support_extensions(c->id, &ext, 1) != 0 ||
        mls_key_package_create(env, c->id, NULL, &c->kp, &c->bundle) != 0)
        return -1;
    return 0;
}

static void client_clear(client *c)
{
    mls_group_free(c->g);
    mls_identity_free(c->id);
    mls_buf_clear(&c->kp);
    mls_buf_clear(&c->bundle);
    memset(c, 0, sizeof(*c));
}

static void drop_member(size_t i)
{
    client_clear(&members[i]);
    members[i] = members[n_members - 1];
    memset(&members[n_members - 1], 0, sizeof(client));
    n_members--;
}

static int check_agreement(const char *op)
{
    mls_bytes a = mls_group_epoch_authenticator(members[0].g);
    for (size_t i = 1; i < n_members; i++) {
        mls_bytes b = mls_group_epoch_authenticator(members[i].g);
        if (mls_group_epoch(members[i].g) != mls_group_epoch(members[0].g) || a.n != b.n ||
            memcmp(a.p, b.p, a.n) != 0 ||
            mls_group_member_count(members[i].g) != n_members) {
            fprintf(stderr, "disagreement after %s (member %zu, epoch %llu vs %llu)\n", op, i,
                    (unsigned long long)mls_group_epoch(members[i].g),
                    (unsigned long long)mls_group_epoch(members[0].g));
            return -1;
        }
    }
    return 0;
}

/* Every member but `except` processes msg; those removed leave. */
static int deliver(mls_bytes msg, size_t except, int expect_kind)
{
    for (size_t i = 0; i < n_members; i++) {
        mls_process_result r;
        int err;
        if (i == except)
            continue;
        memset(&r, 0, sizeof(r));
        err = mls_group_process(members[i].g, msg, &r);
        if (err || r.kind != expect_kind) {
            fprintf(stderr, "member %zu: process: %s (kind %d)\n", i, mls_errname(err), r.kind);
            mls_process_result_clear(&r);
            return -1;
        }
        mls_process_result_clear(&r);
    }
    return 0;
}

static void drop_inactive(void)
{
    for (size_t i = n_members; i-- > 0;)
        if (!mls_group_is_active(members[i].g))
            drop_member(i);
}

/* The committer's staged commit: everyone else processes it, the
 * committer merges, the added clients join. */
static int finish_commit(size_t committer, mls_staged_commit *sc, client *joiners, size_t n_join)
{
    int rc = -1;
    if (deliver(mls_staged_commit_message(sc), committer, MLS_RESULT_COMMIT))
        goto out;
    if (mls_group_merge_staged(members[committer].g, sc) != 0)
        goto out;
    drop_inactive();
    for (size_t j = 0; j < n_join; j++) {
        mls_bytes b = mls_buf_view(&joiners[j].bundle);
        mls_join_options jo;
        memset(&jo, 0, sizeof(jo));
        if (rnd(2))
            jo.ratchet_tree = mls_staged_commit_ratchet_tree(sc);
        if (mls_group_join(env, joiners[j].id, mls_staged_commit_welcome(sc), &b, 1, &jo, NULL,
                           &joiners[j].g) != 0) {
            fprintf(stderr, "join failed\n");
            goto out;
        }
        members[n_members++] = joiners[j];
        memset(&joiners[j], 0, sizeof(client));
    }
    rc = 0;
out:
    for (size_t j = 0; j < n_join; j++)
        client_clear(&joiners[j]);
    mls_staged_commit_free(sc);
    return rc;
}

static int op_add(void)
{
    client j[3];
    mls_bytes kps[3];
    size_t n = 1 + rnd(3), c = rnd((uint32_t)n_members);
    mls_staged_commit *sc = NULL;

    if (n_members + n > MAX_MEMBERS)
        n = MAX_MEMBERS - n_members;
    if (n == 0)
        return 0;
    memset(j, 0, sizeof(j));
    for (size_t i = 0; i < n; i++) {
        if (new_client(&j[i]))
            return -1;
        kps[i] = mls_buf_view(&j[i].kp);
    }
    if (mls_group_add_members(members[c].g, kps, n, &sc) != 0) {
        for (size_t i = 0; i < n; i++)
            client_clear(&j[i]);
        return -1;
    }
    return finish_commit(c, sc, j, n);
}

static int op_remove(void)
{
    size_t c = rnd((uint32_t)n_members), v;
    uint32_t leaf;
    mls_staged_commit *sc = NULL;

    if (n_members <= MIN_MEMBERS)
        return 0;
    do
        v = rnd((uint32_t)n_members);
    while (v == c);
    leaf = mls_group_own_leaf(members[v].g);
    if (mls_group_remove_members(members[c].g, &leaf, 1, &sc) != 0)
        return -1;
    return finish_commit(c, sc, NULL, 0);
}

static int op_update(void)
{
    size_t c = rnd((uint32_t)n_members);
    mls_staged_commit *sc = NULL;
    if (mls_group_self_update(members[c].g, &sc) != 0)
        return -1;
    return finish_commit(c, sc, NULL, 0);
}

/* Proposals from several members (update, remove, add), then one commit
 * by reference, with an Add by value as well. */
static int op_proposals(void)
{
    size_t c = rnd((uint32_t)n_members), p1 = rnd((uint32_t)n_members);
    client j[2];
    size_t n_join = 0;
    mls_commit_options o;
    mls_staged_commit *sc = NULL;
    mls_buf msg;
    mls_bytes kp;
    int rc = -1;

    memset(j, 0, sizeof(j));
    memset(&o, 0, sizeof(o));
    mls_buf_init(&msg);
    /* p1 proposes to update itself (if it is not the committer). */
    if (p1 != c) {
        if (mls_group_propose_self_update(members[p1].g, &msg) != 0 ||
            deliver(mls_buf_view(&msg), p1, MLS_RESULT_PROPOSAL))
            goto out;
    }
    /* Someone proposes to remove a member other than the committer. */
    if (n_members > MIN_MEMBERS + 1) {
        size_t p2 = rnd((uint32_t)n_members), v;
        do
            v = rnd((uint32_t)n_members);
        while (v == c || v == p2);
        if (mls_group_propose_remove(members[p2].g, mls_group_own_leaf(members[v].g), &msg) != 0 ||
            deliver(mls_buf_view(&msg), p2, MLS_RESULT_PROPOSAL))
            goto out;
    }
    /* Someone proposes an Add. */
    if (n_members + 2 <= MAX_MEMBERS) {
        size_t p3 = rnd((uint32_t)n_members);
        if (new_client(&j[n_join]))
            goto out;
        if (mls_group_propose_add(members[p3].g, mls_buf_view(&j[n_join].kp), &msg) != 0 ||
            deliver(mls_buf_view(&msg), p3, MLS_RESULT_PROPOSAL))
            goto out;
        n_join++;
        /* And the committer adds one more by value. */
        if (new_client(&j[n_join]))
            goto out;
        kp = mls_buf_view(&j[n_join].kp);
        o.add = &kp;
        o.n_add = 1;
        n_join++;
    }
    o.include_pending_proposals = 1;
    o.force_path = rnd(2);
    if (mls_group_commit(members[c].g, &o, &sc) != 0)
        goto out;
    if (mls_staged_commit_welcome_count(sc) != n_join)
        goto out;
    rc = finish_commit(c, sc, j, n_join);
    n_join = 0;
out:
    for (size_t i = 0; i < n_join; i++)
        client_clear(&j[i]);
    mls_buf_clear(&msg);
    return rc;
}

static int op_external_join(void)
{
    size_t src = rnd((uint32_t)n_members);
    client c;
    mls_buf gi, commit;
    mls_external_join_options xo;
    int rc = -1;

    if (n_members >= MAX_MEMBERS)
        return 0;
    mls_buf_init(&gi);
    mls_buf_init(&commit);
    memset(&xo, 0, sizeof(xo));
    if (new_client(&c))
        return -1;
    if (mls_group_group_info(members[src].g, 1, &gi) != 0 ||
        mls_group_external_join(env, c.id, mls_buf_view(&gi), &xo, &commit, &c.g) != 0)
        goto out;
    if (deliver(mls_buf_view(&commit), SIZE_MAX, MLS_RESULT_COMMIT))
        goto out;
    members[n_members++] = c;
    memset(&c, 0, sizeof(c));
    rc = 0;
out:
    client_clear(&c);
    mls_buf_clear(&gi);
    mls_buf_clear(&commit);
    return rc;
}

/* A member loses its state and rejoins by external commit, removing its
 * old leaf (RFC 9420 §12.4.3.2 "resync"); the tree comes out of band. */
static int op_rejoin(void)
{
    size_t v = rnd((uint32_t)n_members), src;
    mls_buf gi, tree, commit;
    mls_external_join_options xo;
    mls_group *ng = NULL;
    int rc = -1;

    do
        src = rnd((uint32_t)n_members);
    while (src == v);
    mls_buf_init(&gi);
    mls_buf_init(&tree);
    mls_buf_init(&commit);
    memset(&xo, 0, sizeof(xo));
    xo.remove_old_leaf = 1;
    xo.old_leaf = mls_group_own_leaf(members[v].g);
    if (mls_group_group_info(members[src].g, 0, &gi) != 0 ||
        mls_group_ratchet_tree(members[src].g, &tree) != 0)
        goto out;
    xo.ratchet_tree = mls_buf_view(&tree);
    if (mls_group_external_join(env, members[v].id, mls_buf_view(&gi), &xo, &commit, &ng) != 0)
        goto out;
    mls_group_free(members[v].g);
    members[v].g = NULL;
    for (size_t i = 0; i < n_members; i++) {
        mls_process_result r;
        if (i == v)
            continue;
        memset(&r, 0, sizeof(r));
        if (mls_group_process(members[i].g, mls_buf_view(&commit), &r) != 0 ||
            r.n_removed != 1 || r.n_added != 1) {
            mls_process_result_clear(&r);
            goto out;
        }
        mls_process_result_clear(&r);
    }
    members[v].g = ng;
    ng = NULL;
    rc = 0;
out:
    if (rc && !members[v].g)
        members[v].g = ng, ng = NULL;
    mls_group_free(ng);
    mls_buf_clear(&gi);
    mls_buf_clear(&tree);
    mls_buf_clear(&commit);
    return rc;
}

static int op_extensions(void)
{
    size_t c = rnd((uint32_t)n_members);
    uint8_t name[8];
    mls_ext e;
    mls_staged_commit *sc = NULL;
    mls_bytes got;

    for (size_t i = 0; i < sizeof(name); i++)
        name[i] = (uint8_t)rnd(256);
    e.type = APP_EXT;
    e.data = mls_bytes_of(name, sizeof(name));
    if (mls_group_set_extensions(members[c].g, &e, 1, &sc) != 0)
        return -1;
    if (finish_commit(c, sc, NULL, 0))
        return -1;
    for (size_t i = 0; i < n_members; i++)
        if (mls_group_extension(members[i].g, APP_EXT, &got) != 0 || got.n != sizeof(name) ||
            memcmp(got.p, name, sizeof(name)) != 0)
            return -1;
    return 0;
}

static int op_messages(void)
{
    size_t s = rnd((uint32_t)n_members);
    uint8_t text[64];
    size_t len = 1 + rnd(sizeof(text));
    mls_buf ct;
    int rc = -1;

    for (size_t i = 0; i < len; i++)
        text[i] = (uint8_t)rnd(256);
    mls_buf_init(&ct);
    if (mls_group_protect(members[s].g, mls_bytes_of(NULL, 0), mls_bytes_of(text, len), &ct) != 0)
        goto out;
    for (size_t i = 0; i < n_members; i++) {
        mls_process_result r;
        if (i == s)
            continue;
        memset(&r, 0, sizeof(r));
        if (mls_group_process(members[i].g, mls_buf_view(&ct), &r) != 0 ||
            r.kind != MLS_RESULT_APPLICATION || r.application_data.n != len ||
            memcmp(r.application_data.p, text, len) != 0) {
            mls_process_result_clear(&r);
            goto out;
        }
        mls_process_result_clear(&r);
    }
    rc = 0;
out:
    mls_buf_clear(&ct);
    return rc;
}

/* A member persists and restores its state; the copy must be exact. */
static int op_persist(void)
{
    size_t v = rnd((uint32_t)n_members);
    mls_buf a, b;
    mls_group *h = NULL;
    int rc = -1;

    mls_buf_init(&a);
    mls_buf_init(&b);
    if (mls_group_serialize(members[v].g, &a) != 0 ||
        mls_group_deserialize(env, mls_buf_view(&a), &h) != 0 ||
        mls_group_serialize(h, &b) != 0 || a.n != b.n || memcmp(a.p, b.p, a.n) != 0)
        goto out;
    mls_group_free(members[v].g);
    members[v].g = h;
    h = NULL;
    rc = 0;
out:
    mls_group_free(h);
    mls_buf_clear(&a);
    mls_buf_clear(&b);
    return rc;
}

int main(void)
{
    const char *seed = getenv("MLS_RANDOM_SEED");
    const char *ops = getenv("MLS_RANDOM_OPS");
    long n_ops = ops ? atol(ops) : 300;
    static const char *names[] = {"add", "remove", "update", "proposals", "external join",
                                  "rejoin", "extensions", "messages", "persist"};
    int (*const fns[])(void) = {op_add,      op_remove, op_update,     op_proposals, op_external_join,
                                op_rejoin,   op_extensions, op_messages, op_persist};
    static const uint32_t weight[] = {3, 3, 3, 3, 1, 1, 1, 6, 2};
    uint32_t total = 0;
    mls_group_config cfg;
    mls_staged_commit *sc = NULL;
    client j[2];
    mls_bytes kps[2];

    env = mls_env_default();
    rng_state = seed ? strtoull(seed, NULL, 0) : 1;
    if (rng_state == 0)
        rng_state = 1;
    printf("test_group_random: seed %llu, %ld operations\n", (unsigned long long)rng_state, n_ops);
    for (size_t i = 0; i < sizeof(weight) / sizeof(weight[0]); i++)
        total += weight[i];

    /* Three members to start: A creates, adds B and C. */
    mls_group_config_default(&cfg);
    cfg.handshake_private = (int)(rng_state & 1);
    CHECK(new_client(&members[0]) == 0);
    CHECK_OK(mls_group_create(env, members[0].id, mls_bytes_of(NULL, 0), NULL, 0, &cfg,
                              &members[0].g));
    n_members = 1;
    CHECK(new_client(&j[0]) == 0);
    CHECK(new_client(&j[1]) == 0);
    kps[0] = mls_buf_view(&j[0].kp);
    kps[1] = mls_buf_view(&j[1].kp);
    CHECK_OK(mls_group_add_members(members[0].g, kps, 2, &sc));
    CHECK(sc && finish_commit(0, sc, j, 2) == 0);
    CHECK(n_members == 3 && check_agreement("setup") == 0);

    for (long k = 0; k < n_ops && test_failures == 0; k++) {
        uint32_t x = rnd(total), i = 0;
        while (x >= weight[i])
            x -= weight[i++];
        if (fns[i]() != 0) {
            fprintf(stderr, "operation %ld (%s) failed\n", k, names[i]);
            CHECK(0);
            break;
        }
        CHECK(n_members >= 1 && check_agreement(names[i]) == 0);
    }
    printf("test_group_random: %zu members at epoch %llu\n", n_members,
           (unsigned long long)mls_group_epoch(members[0].g));
    while (n_members)
        drop_member(n_members - 1);
    TEST_MAIN_END("test_group_random");
}
