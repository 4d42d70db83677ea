/*
 * libmls example (docs/libmls.md): three clients in one process, with the
 * "Delivery Service" reduced to function calls.
 *
 *   alice creates a group named "#general" (an application GroupContext
 *   extension), adds bob and carol with one commit, everyone chats, bob
 *   refreshes his keys, alice removes carol, bob persists and restores
 *   his state, and the members derive a shared secret with the exporter.
 */
#include <mls/group.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Application extension type for the group name (private-use range). */
#define EXT_GROUP_NAME 0xF001

#define TRY(expr)                                                              \
    do {                                                                       \
        int err_ = (expr);                                                     \
        if (err_) {                                                            \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #expr,      \
                    mls_strerror(err_));                                       \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

static mls_bytes str(const char *s)
{
    return mls_bytes_of((const uint8_t *)s, strlen(s));
}

typedef struct client {
    const char *name;
    mls_identity *id;
    mls_buf key_package, bundle; /* published / kept secret */
    mls_group *group;
} client;

static void client_init(client *c, const char *name)
{
    uint16_t ext = EXT_GROUP_NAME;
    memset(c, 0, sizeof(*c));
    c->name = name;
    TRY(mls_identity_generate(mls_env_default(), MLS_SUITE_X25519_AES128GCM_SHA256_ED25519,
                              str(name), &c->id));
    /* Every client of the application supports the group-name extension. */
    TRY(mls_identity_support_extensions(c->id, &ext, 1));
    TRY(mls_key_package_create(mls_env_default(), c->id, NULL, &c->key_package, &c->bundle));
}

static void client_free(client *c)
{
    mls_group_free(c->group);
    mls_identity_free(c->id);
    mls_buf_clear(&c->key_package);
    mls_buf_clear(&c->bundle);
}

/* What a client does with every message the Delivery Service hands it. */
static void receive(client *c, mls_bytes msg)
{
    mls_process_result r;
    mls_member m;

    memset(&r, 0, sizeof(r));
    TRY(mls_group_process(c->group, msg, &r));
    switch (r.kind) {
    case MLS_RESULT_APPLICATION:
        TRY(mls_group_member(c->group, r.sender_leaf, &m));
        printf("  %-5s got from %.*s: %.*s\n", c->name, (int)m.identity.n,
               (const char *)m.identity.p, (int)r.application_data.n,
               (const char *)r.application_data.p);
        break;
    case MLS_RESULT_COMMIT:
        printf("  %-5s now in epoch %llu: %zu added, %zu removed, %zu updated%s\n", c->name,
               (unsigned long long)mls_group_epoch(c->group), r.n_added, r.n_removed,
               r.n_updated, r.self_removed ? " (we were removed)" : "");
        break;
    case MLS_RESULT_PROPOSAL:
        printf("  %-5s stored a proposal\n", c->name);
        break;
    }
    mls_process_result_clear(&r);
}

static void say(client *from, client **to, size_t n, const char *text)
{
    mls_buf ct;
    mls_buf_init(&ct);
    TRY(mls_group_protect(from->group, mls_bytes_of(NULL, 0), str(text), &ct));
    for (size_t i = 0; i < n; i++)
        receive(to[i], mls_buf_view(&ct));
    mls_buf_clear(&ct);
}

int main(void)
{
    const mls_env *env = mls_env_default();
    client alice, bob, carol;
    mls_staged_commit *sc;
    mls_ext name;
    mls_bytes kps[2], got;
    mls_buf state, k1, k2;

    client_init(&alice, "alice");
    client_init(&bob, "bob");
    client_init(&carol, "carol");

    /* 1. alice creates the group with its name in the GroupContext. */
    name.type = EXT_GROUP_NAME;
    name.data = str("#general");
    TRY(mls_group_create(env, alice.id, mls_bytes_of(NULL, 0), &name, 1, NULL, &alice.group));
    printf("alice created the group (epoch %llu)\n",
           (unsigned long long)mls_group_epoch(alice.group));

    /* 2. alice adds bob and carol in one commit.  The commit is staged:
     * alice's group is unchanged until the DS accepts it. */
    kps[0] = mls_buf_view(&bob.key_package);
    kps[1] = mls_buf_view(&carol.key_package);
    TRY(mls_group_add_members(alice.group, kps, 2, &sc));
    /* ... send mls_staged_commit_message(sc) to the DS; it is accepted: */
    TRY(mls_group_merge_staged(alice.group, sc));
    {
        mls_bytes b = mls_buf_view(&bob.bundle), c = mls_buf_view(&carol.bundle);
        TRY(mls_group_join(env, bob.id, mls_staged_commit_welcome(sc), &b, 1, NULL, NULL,
                           &bob.group));
        TRY(mls_group_join(env, carol.id, mls_staged_commit_welcome(sc), &c, 1, NULL, NULL,
                           &carol.group));
    }
    mls_staged_commit_free(sc);
    TRY(mls_group_extension(bob.group, EXT_GROUP_NAME, &got));
    printf("bob and carol joined %.*s: %u members\n", (int)got.n, (const char *)got.p,
           mls_group_member_count(bob.group));

    /* 3. Chat. */
    {
        client *to_all_but_alice[] = {&bob, &carol};
        client *to_all_but_bob[] = {&alice, &carol};
        say(&alice, to_all_but_alice, 2, "welcome, both of you");
        say(&bob, to_all_but_bob, 2, "thanks!");
    }

    /* 4. bob refreshes his keys (an empty commit with a path). */
    TRY(mls_group_self_update(bob.group, &sc));
    receive(&alice, mls_staged_commit_message(sc));
    receive(&carol, mls_staged_commit_message(sc));
    TRY(mls_group_merge_staged(bob.group, sc));
    mls_staged_commit_free(sc);

    /* 5. alice removes carol. */
    {
        uint32_t leaf = mls_group_own_leaf(carol.group);
        TRY(mls_group_remove_members(alice.group, &leaf, 1, &sc));
        receive(&bob, mls_staged_commit_message(sc));
        receive(&carol, mls_staged_commit_message(sc));
        TRY(mls_group_merge_staged(alice.group, sc));
        mls_staged_commit_free(sc);
    }

    /* 6. bob persists his state (as after every message) and restores it. */
    mls_buf_init(&state);
    TRY(mls_group_serialize(bob.group, &state));
    mls_group_free(bob.group);
    bob.group = NULL;
    TRY(mls_group_deserialize(env, mls_buf_view(&state), &bob.group));
    printf("bob restored %zu bytes of state\n", state.n);
    mls_buf_clear(&state);
    {
        client *to_bob[] = {&bob};
        say(&alice, to_bob, 1, "still there, bob?");
    }

    /* 7. Both derive the same secret; their epoch authenticators agree. */
    mls_buf_init(&k1);
    mls_buf_init(&k2);
    TRY(mls_group_export_secret(alice.group, "example", str("ctx"), 32, &k1));
    TRY(mls_group_export_secret(bob.group, "example", str("ctx"), 32, &k2));
    if (k1.n != k2.n || memcmp(k1.p, k2.p, k1.n) != 0) {
        fprintf(stderr, "exported secrets differ\n");
        return 1;
    }
    {
        mls_bytes a = mls_group_epoch_authenticator(alice.group);
        mls_bytes b = mls_group_epoch_authenticator(bob.group);
        if (a.n != b.n || memcmp(a.p, b.p, a.n) != 0) {
            fprintf(stderr, "epoch authenticators differ\n");
            return 1;
        }
    }
    printf("alice and bob agree on epoch %llu and on the exported secret\n",
           (unsigned long long)mls_group_epoch(alice.group));
    mls_buf_clear(&k1);
    mls_buf_clear(&k2);
    client_free(&alice);
    client_free(&bob);
    client_free(&carol);
    return 0;
}
