/* The chat's rules (src/client/rules.c): each extension codec round trip
 * and malformed input, and each decision both allowing and refusing. */
#include <string.h>

#include "mls/mls.h"
#include "rules.h"
#include "test.h"

static mls_bytes B(const char *s)
{
    return mls_bytes_of((const uint8_t *)s, strlen(s));
}

static mls_bytes V(const uint8_t *p, size_t n)
{
    return mls_bytes_of(p, n);
}

static void test_name_ext(void)
{
    mls_buf b;
    char out[80];
    static const uint8_t lobby[] = {5, 'l', 'o', 'b', 'b', 'y'};
    static const uint8_t empty[] = {0};
    static const uint8_t trailing[] = {1, 'a', 'x'};
    static const uint8_t short_[] = {5, 'l', 'o'};
    static const uint8_t nul[] = {2, 'a', 0};
    static const uint8_t nonminimal[] = {0x40, 0x01, 'a'};

    mls_buf_init(&b);
    CHECK(cli_ext_name_encode("lobby", &b) == 0);
    CHECK(b.n == sizeof lobby && memcmp(b.p, lobby, b.n) == 0);
    CHECK(cli_ext_name_decode(mls_buf_view(&b), out, sizeof out) == 0 &&
          strcmp(out, "lobby") == 0);
    /* Encoding replaces what the buffer held. */
    CHECK(cli_ext_name_encode("lobby", &b) == 0 && b.n == sizeof lobby);
    CHECK(cli_ext_name_decode(V(empty, sizeof empty), out, sizeof out) == -1);
    CHECK(cli_ext_name_decode(V(trailing, sizeof trailing), out, sizeof out) == -1);
    CHECK(cli_ext_name_decode(V(short_, sizeof short_), out, sizeof out) == -1);
    CHECK(cli_ext_name_decode(V(nul, sizeof nul), out, sizeof out) == -1);
    /* RFC 9420 §2.1.2: a non-minimal varint length is malformed. */
    CHECK(cli_ext_name_decode(V(nonminimal, sizeof nonminimal), out, sizeof out) == -1);
    CHECK(cli_ext_name_decode(V(lobby, sizeof lobby), out, 5) == -1); /* does not fit */
    CHECK(cli_ext_name_decode(V(lobby, sizeof lobby), out, 6) == 0);
    mls_buf_clear(&b);
}

static void test_admins_ext(void)
{
    const char *two[] = {"alice", "bob"};
    static const uint8_t want[] = {10, 5, 'a', 'l', 'i', 'c', 'e', 3, 'b', 'o', 'b'};
    static const uint8_t bad_item[] = {3, 5, 'a', 'l'};
    static const uint8_t trailing[] = {2, 1, 'a', 0};
    static const uint8_t empty_list[] = {0};
    mls_buf b;

    mls_buf_init(&b);
    CHECK(cli_ext_admins_encode(two, 2, &b) == 0);
    CHECK(b.n == sizeof want && memcmp(b.p, want, b.n) == 0);
    CHECK(cli_ext_admins_has(mls_buf_view(&b), "alice") == 1);
    CHECK(cli_ext_admins_has(mls_buf_view(&b), "bob") == 1);
    CHECK(cli_ext_admins_has(mls_buf_view(&b), "carol") == 0);
    CHECK(cli_ext_admins_has(mls_buf_view(&b), "ali") == 0);   /* no prefix match */
    CHECK(cli_ext_admins_has(mls_buf_view(&b), "alicex") == 0);
    CHECK(cli_ext_admins_has(mls_buf_view(&b), "") == 0);
    /* A malformed list names nobody, not even a name before the damage. */
    CHECK(cli_ext_admins_has(V(bad_item, sizeof bad_item), "a") == 0);
    CHECK(cli_ext_admins_has(V(trailing, sizeof trailing), "a") == 0);
    CHECK(cli_ext_admins_has(V(empty_list, sizeof empty_list), "alice") == 0);
    CHECK(cli_ext_admins_has(mls_bytes_of(NULL, 0), "alice") == 0);
    CHECK(cli_ext_admins_encode(two, 0, &b) == 0 && b.n == 1 && b.p[0] == 0);
    mls_buf_clear(&b);
}

/* A group of alice (admin, leaf 0), bob (1) and carol (2) named lobby,
 * for the commit rules: each test changes one fact from an allowed
 * commit. */
static const uint8_t K[4][32] = {{1}, {2}, {3}, {4}};
static struct cli_leaf MEM[3];
static mls_buf NAME, ADMINS, ADMINS2, ADMINS_BOB, ADMINS_EVE, OTHER_NAME;

static struct cli_leaf L(uint32_t leaf, const char *name, int key)
{
    struct cli_leaf l;
    l.leaf = leaf;
    l.identity = B(name);
    l.signature_key = V(K[key], 32);
    return l;
}

static void facts_setup(void)
{
    const char *a[] = {"alice"}, *a2[] = {"alice", "bob"}, *b[] = {"bob"}, *e[] = {"alice", "eve"};
    MEM[0] = L(0, "alice", 0);
    MEM[1] = L(1, "bob", 1);
    MEM[2] = L(2, "carol", 2);
    mls_buf_init(&NAME);
    mls_buf_init(&OTHER_NAME);
    mls_buf_init(&ADMINS);
    mls_buf_init(&ADMINS2);
    mls_buf_init(&ADMINS_BOB);
    mls_buf_init(&ADMINS_EVE);
    CHECK(cli_ext_name_encode("lobby", &NAME) == 0);
    CHECK(cli_ext_name_encode("other", &OTHER_NAME) == 0);
    CHECK(cli_ext_admins_encode(a, 1, &ADMINS) == 0);
    CHECK(cli_ext_admins_encode(a2, 2, &ADMINS2) == 0);
    CHECK(cli_ext_admins_encode(b, 1, &ADMINS_BOB) == 0);
    CHECK(cli_ext_admins_encode(e, 2, &ADMINS_EVE) == 0);
}

static void facts_teardown(void)
{
    mls_buf_clear(&NAME);
    mls_buf_clear(&OTHER_NAME);
    mls_buf_clear(&ADMINS);
    mls_buf_clear(&ADMINS2);
    mls_buf_clear(&ADMINS_BOB);
    mls_buf_clear(&ADMINS_EVE);
}

/* A member commit by `committer` (leaf) with no proposals, an unchanged
 * path leaf and the extensions unchanged. */
static void facts_init(struct cli_commit_facts *f, uint32_t committer)
{
    memset(f, 0, sizeof *f);
    f->committer = MEM[committer];
    f->has_path = 1;
    f->path_leaf = MEM[committer];
    f->members = MEM;
    f->n_members = 3;
    f->has_name_before = f->has_name_after = 1;
    f->name_before = f->name_after = mls_buf_view(&NAME);
    f->has_admins_before = f->has_admins_after = 1;
    f->admins_before = f->admins_after = mls_buf_view(&ADMINS);
}

static struct cli_change change(enum cli_change_kind kind, uint32_t proposer, int by_ref)
{
    struct cli_change c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.by_member = 1;
    c.by_reference = by_ref;
    c.proposer = proposer;
    return c;
}

/* Rule admin_required, judged by the committer's leaf before the commit. */
static void test_commit_admin_rule(void)
{
    struct cli_commit_facts f;
    struct cli_change c[2];

    /* A path-only commit (a key update) by anyone. */
    facts_init(&f, 1);
    CHECK(cli_rule_commit(&f) == CLI_RULE_OK);
    /* Add: the administrator yes, bob no. */
    c[0] = change(CLI_CHANGE_ADD, 0, 0);
    c[0].after = L(3, "dave", 3);
    facts_init(&f, 0);
    f.changes = c;
    f.n_changes = 1;
    CHECK(cli_rule_commit(&f) == CLI_RULE_OK);
    facts_init(&f, 1);
    f.changes = c;
    f.n_changes = 1;
    CHECK(cli_rule_commit(&f) == CLI_RULE_NOT_ADMIN);
    /* Remove of someone else: administrator only. */
    c[0] = change(CLI_CHANGE_REMOVE, 1, 0);
    c[0].before = MEM[2];
    facts_init(&f, 0);
    f.changes = c;
    f.n_changes = 1;
    CHECK(cli_rule_commit(&f) == CLI_RULE_OK);
    facts_init(&f, 1);
    f.changes = c;
    f.n_changes = 1;
    CHECK(cli_rule_commit(&f) == CLI_RULE_NOT_ADMIN);
    /* ... also when bob proposed carol's removal by reference. */
    c[0] = change(CLI_CHANGE_REMOVE, 1, 1);
    c[0].before = MEM[2];
    CHECK(cli_rule_commit(&f) == CLI_RULE_NOT_ADMIN);
    /* A member's own departure (its proposal by reference) by anyone. */
    c[0] = change(CLI_CHANGE_REMOVE, 2, 1);
    c[0].before = MEM[2];
    CHECK(cli_rule_commit(&f) == CLI_RULE_OK);
    /* ... but not as a value a non-admin committer made up. */
    c[0] = change(CLI_CHANGE_REMOVE, 2, 0);
    c[0].before = MEM[2];
    CHECK(cli_rule_commit(&f) == CLI_RULE_NOT_ADMIN);
    /* GroupContextExtensions, ReInit, PSK, Update proposals. */
    c[0] = change(CLI_CHANGE_EXTENSIONS, 1, 0);
    CHECK(cli_rule_commit(&f) == CLI_RULE_NOT_ADMIN);
    c[0] = change(CLI_CHANGE_REINIT, 1, 0);
    CHECK(cli_rule_commit(&f) == CLI_RULE_NOT_ADMIN);
    c[0] = change(CLI_CHANGE_PSK, 1, 0);
    CHECK(cli_rule_commit(&f) == CLI_RULE_NOT_ADMIN);
    c[0] = change(CLI_CHANGE_UPDATE, 2, 1);
    c[0].before = c[0].after = MEM[2];
    CHECK(cli_rule_commit(&f) == CLI_RULE_NOT_ADMIN);
    facts_init(&f, 0);
    f.changes = c;
    f.n_changes = 1;
    CHECK(cli_rule_commit(&f) == CLI_RULE_OK);
    c[0] = change(CLI_CHANGE_REINIT, 0, 0);
    CHECK(cli_rule_commit(&f) == CLI_RULE_OK);
    /* The roles before the commit count: bob making himself an
     * administrator in the same commit is still bob, a member. */
    facts_init(&f, 1);
    c[0] = change(CLI_CHANGE_EXTENSIONS, 1, 0);
    f.changes = c;
    f.n_changes = 1;
    f.admins_after = mls_buf_view(&ADMINS2);
    CHECK(cli_rule_commit(&f) == CLI_RULE_NOT_ADMIN);
    facts_init(&f, 0);
    f.changes = c;
    f.n_changes = 1;
    f.admins_after = mls_buf_view(&ADMINS2);
    CHECK(cli_rule_commit(&f) == CLI_RULE_OK); /* /op bob */
    /* Without an administrators extension nobody is one. */
    f.has_admins_before = 0;
    f.admins_before = mls_bytes_of(NULL, 0);
    CHECK(cli_rule_commit(&f) == CLI_RULE_NOT_ADMIN);
}

/* A rename judge that allows a new name under the same key. */
static enum cli_verdict same_key_rename(void *ctx, const struct cli_leaf *before,
                                        const struct cli_leaf *after)
{
    (void)ctx;
    return mls_ct_equal(before->signature_key, after->signature_key) ? CLI_RULE_OK
                                                                     : CLI_RULE_IDENTITY;
}

/* Rule identity: names and keys of leaves do not change; nobody twice. */
static void test_commit_identity_rule(void)
{
    struct cli_commit_facts f;
    struct cli_change c[2];
    struct cli_leaf alice_new_key = L(1, "alice", 3);

    /* bob's path leaf renamed to alice (the attack of issue 9). */
    facts_init(&f, 1);
    f.path_leaf = L(1, "alice", 1);
    CHECK(cli_rule_commit(&f) == CLI_RULE_IDENTITY);
    /* bob's path leaf with another signature key. */
    facts_init(&f, 1);
    f.path_leaf = L(1, "bob", 3);
    CHECK(cli_rule_commit(&f) == CLI_RULE_IDENTITY);
    /* The same for an administrator, and through an Update proposal. */
    facts_init(&f, 0);
    f.path_leaf = L(0, "mallory", 0);
    CHECK(cli_rule_commit(&f) == CLI_RULE_IDENTITY);
    facts_init(&f, 0);
    c[0] = change(CLI_CHANGE_UPDATE, 1, 1);
    c[0].before = MEM[1];
    c[0].after = alice_new_key;
    f.changes = c;
    f.n_changes = 1;
    CHECK(cli_rule_commit(&f) == CLI_RULE_IDENTITY);
    /* Without a rename judge every change is refused; with one, what it
     * allows passes (a /nick: same key, new name) and nothing else. */
    CHECK(cli_rule_rename_ok(&MEM[1], &alice_new_key) == CLI_RULE_IDENTITY);
    facts_init(&f, 1);
    f.path_leaf = L(1, "bobby", 1);
    CHECK(cli_rule_commit(&f) == CLI_RULE_IDENTITY);
    f.rename_ok = same_key_rename;
    CHECK(cli_rule_commit(&f) == CLI_RULE_OK);
    f.path_leaf = L(1, "bobby", 3);
    CHECK(cli_rule_commit(&f) == CLI_RULE_IDENTITY);
    /* Adding a member already in the group, or a user twice. */
    facts_init(&f, 0);
    c[0] = change(CLI_CHANGE_ADD, 0, 0);
    c[0].after = L(3, "bob", 3);
    f.changes = c;
    f.n_changes = 1;
    CHECK(cli_rule_commit(&f) == CLI_RULE_IDENTITY);
    c[0].after = L(3, "dave", 3);
    c[1] = change(CLI_CHANGE_ADD, 0, 0);
    c[1].after = L(4, "dave", 3);
    f.n_changes = 2;
    CHECK(cli_rule_commit(&f) == CLI_RULE_IDENTITY);
    /* Removed and added again in one commit is one bob. */
    c[0] = change(CLI_CHANGE_REMOVE, 0, 0);
    c[0].before = MEM[1];
    c[1].after = L(3, "bob", 3);
    CHECK(cli_rule_commit(&f) == CLI_RULE_OK);
    /* A nameless added leaf. */
    c[1].after = L(3, "", 3);
    c[1].after.identity = mls_bytes_of(NULL, 0);
    CHECK(cli_rule_commit(&f) == CLI_RULE_IDENTITY);
}

/* Rules extensions and last_admin. */
static void test_commit_extensions_rule(void)
{
    struct cli_commit_facts f;
    struct cli_change c[2];
    static const uint8_t malformed[] = {3, 5, 'a'};

    c[0] = change(CLI_CHANGE_EXTENSIONS, 0, 0);
    facts_init(&f, 0);
    f.changes = c;
    f.n_changes = 1;
    /* The name changes, or goes. */
    f.name_after = mls_buf_view(&OTHER_NAME);
    CHECK(cli_rule_commit(&f) == CLI_RULE_EXTENSIONS);
    f.name_after = mls_buf_view(&NAME);
    f.has_name_after = 0;
    CHECK(cli_rule_commit(&f) == CLI_RULE_EXTENSIONS);
    f.has_name_after = 1;
    CHECK(cli_rule_commit(&f) == CLI_RULE_OK);
    /* The administrators list: gone, empty, malformed, naming a non-member. */
    f.has_admins_after = 0;
    CHECK(cli_rule_commit(&f) == CLI_RULE_EXTENSIONS);
    f.has_admins_after = 1;
    f.admins_after = V((const uint8_t *)"\0", 1);
    CHECK(cli_rule_commit(&f) == CLI_RULE_EXTENSIONS);
    f.admins_after = V(malformed, sizeof malformed);
    CHECK(cli_rule_commit(&f) == CLI_RULE_EXTENSIONS);
    f.admins_after = mls_buf_view(&ADMINS_EVE);
    CHECK(cli_rule_commit(&f) == CLI_RULE_EXTENSIONS);
    /* Handing over: alice makes bob the only administrator. */
    f.admins_after = mls_buf_view(&ADMINS_BOB);
    CHECK(cli_rule_commit(&f) == CLI_RULE_OK);
    /* Kicking the only other administrator without the list changed. */
    facts_init(&f, 0);
    f.admins_before = f.admins_after = mls_buf_view(&ADMINS2);
    c[0] = change(CLI_CHANGE_REMOVE, 0, 0);
    c[0].before = MEM[1];
    f.changes = c;
    f.n_changes = 1;
    CHECK(cli_rule_commit(&f) == CLI_RULE_EXTENSIONS);
    c[1] = change(CLI_CHANGE_EXTENSIONS, 0, 0);
    f.n_changes = 2;
    f.admins_after = mls_buf_view(&ADMINS);
    CHECK(cli_rule_commit(&f) == CLI_RULE_OK);
    /* No administrator left: bob (admin) committing alice's departure
     * with a list still naming only alice. */
    facts_init(&f, 1);
    f.admins_before = mls_buf_view(&ADMINS2);
    f.admins_after = mls_buf_view(&ADMINS);
    c[0] = change(CLI_CHANGE_REMOVE, 0, 1);
    c[0].before = MEM[0];
    c[1] = change(CLI_CHANGE_EXTENSIONS, 1, 0);
    f.changes = c;
    f.n_changes = 2;
    CHECK(cli_rule_commit(&f) == CLI_RULE_LAST_ADMIN);
    f.admins_after = mls_buf_view(&ADMINS_BOB);
    CHECK(cli_rule_commit(&f) == CLI_RULE_OK);
}

/* Rule external: an external commit only as a resync. */
static void test_commit_external_rule(void)
{
    struct cli_commit_facts f;
    struct cli_change c[3];

    facts_init(&f, 1);
    f.external = 1;
    f.committer = L(3, "bob", 1);
    f.path_leaf = f.committer;
    c[0] = change(CLI_CHANGE_EXTERNAL_INIT, 0, 0);
    c[0].by_member = 0;
    c[1] = change(CLI_CHANGE_REMOVE, 0, 0);
    c[1].by_member = 0;
    c[1].before = MEM[1];
    f.changes = c;
    f.n_changes = 2;
    CHECK(cli_rule_commit(&f) == CLI_RULE_OK);
    /* The administrator resyncing stays the administrator. */
    f.committer = L(3, "alice", 0);
    c[1].before = MEM[0];
    CHECK(cli_rule_commit(&f) == CLI_RULE_OK);
    /* Another name, another key, no removal, two removals, an add. */
    f.committer = L(3, "eve", 1);
    c[1].before = MEM[1];
    CHECK(cli_rule_commit(&f) == CLI_RULE_EXTERNAL_NOT_RESYNC);
    f.committer = L(3, "bob", 3);
    CHECK(cli_rule_commit(&f) == CLI_RULE_EXTERNAL_NOT_RESYNC);
    f.committer = L(3, "bob", 1);
    f.n_changes = 1;
    CHECK(cli_rule_commit(&f) == CLI_RULE_EXTERNAL_NOT_RESYNC);
    c[2] = change(CLI_CHANGE_REMOVE, 0, 0);
    c[2].before = MEM[2];
    f.n_changes = 3;
    CHECK(cli_rule_commit(&f) == CLI_RULE_EXTERNAL_NOT_RESYNC);
    c[2] = change(CLI_CHANGE_ADD, 0, 0);
    c[2].after = L(4, "dave", 3);
    CHECK(cli_rule_commit(&f) == CLI_RULE_EXTERNAL_NOT_RESYNC);
    c[2] = change(CLI_CHANGE_EXTENSIONS, 0, 0);
    CHECK(cli_rule_commit(&f) == CLI_RULE_EXTERNAL_NOT_RESYNC);
    /* A nameless joiner. */
    f.n_changes = 2;
    f.committer.identity = mls_bytes_of(NULL, 0);
    CHECK(cli_rule_commit(&f) == CLI_RULE_EXTERNAL_NOT_RESYNC);
}

/* Role commands: /op, /deop, /kick, /leave. */
static void test_role_rules(void)
{
    mls_bytes one = mls_buf_view(&ADMINS), two = mls_buf_view(&ADMINS2);
    CHECK(cli_rule_set_admin(one, "alice", "bob", 1, 1) == CLI_RULE_OK);
    CHECK(cli_rule_set_admin(one, "bob", "carol", 1, 1) == CLI_RULE_NOT_ADMIN);
    CHECK(cli_rule_set_admin(one, "alice", "dave", 0, 1) == CLI_RULE_NOT_MEMBER);
    CHECK(cli_rule_set_admin(one, "alice", "b b", 1, 1) == CLI_RULE_BAD_NAME);
    CHECK(cli_rule_set_admin(two, "alice", "bob", 1, 1) == CLI_RULE_DUPLICATE);
    CHECK(cli_rule_set_admin(two, "alice", "bob", 1, 0) == CLI_RULE_OK);
    CHECK(cli_rule_set_admin(one, "alice", "bob", 1, 0) == CLI_RULE_DUPLICATE);
    /* The last administrator cannot drop itself; one of two can. */
    CHECK(cli_rule_set_admin(one, "alice", "alice", 1, 0) == CLI_RULE_LAST_ADMIN);
    CHECK(cli_rule_set_admin(two, "alice", "alice", 1, 0) == CLI_RULE_OK);
    CHECK(cli_rule_kick(one, "alice", "bob", 1) == CLI_RULE_OK);
    CHECK(cli_rule_kick(one, "bob", "alice", 1) == CLI_RULE_NOT_ADMIN);
    CHECK(cli_rule_kick(one, "alice", "alice", 1) == CLI_RULE_SELF);
    CHECK(cli_rule_kick(one, "alice", "dave", 0) == CLI_RULE_NOT_MEMBER);
    CHECK(cli_rule_kick(one, "alice", "", 0) == CLI_RULE_BAD_NAME);
    CHECK(cli_rule_leave(one, "bob", 0) == CLI_RULE_OK);
    CHECK(cli_rule_leave(one, "alice", 0) == CLI_RULE_LAST_ADMIN);
    CHECK(cli_rule_leave(two, "alice", 1) == CLI_RULE_OK);
}

/* Safe rejoin: the offered state is the trusted one. */
static void test_rejoin_rule(void)
{
    static const uint8_t id1[4] = {1, 2, 3, 4}, id2[4] = {9, 9, 9, 9};
    struct cli_leaf offered_m[4];
    struct cli_group_facts t, o;
    mls_bytes bob = B("bob");

    memset(&t, 0, sizeof t);
    t.members = MEM;
    t.n_members = 3;
    t.has_admins = t.has_name = 1;
    t.admins = mls_buf_view(&ADMINS);
    t.name = mls_buf_view(&NAME);
    t.group_id = V(id1, 4);
    /* bob rejoins: his old leaf replaced by a new one (same identity and
     * key), alice signed the GroupInfo. */
    offered_m[0] = MEM[0];
    offered_m[1] = L(3, "bob", 1);
    offered_m[2] = MEM[2];
    o = t;
    o.members = offered_m;
    o.n_members = 3;
    CHECK(cli_rule_rejoin(&t, &o, V(K[0], 32), bob) == CLI_RULE_OK);
    /* Signed by someone who is not a member of the trusted epoch. */
    CHECK(cli_rule_rejoin(&t, &o, V(K[3], 32), bob) == CLI_RULE_NOT_TRUSTED);
    CHECK(cli_rule_rejoin(&t, &o, mls_bytes_of(NULL, 0), bob) == CLI_RULE_NOT_TRUSTED);
    /* An intruder, a member gone, a key swapped. */
    offered_m[3] = L(4, "mallory", 3);
    o.n_members = 4;
    CHECK(cli_rule_rejoin(&t, &o, V(K[0], 32), bob) == CLI_RULE_NOT_TRUSTED);
    o.n_members = 2;
    CHECK(cli_rule_rejoin(&t, &o, V(K[0], 32), bob) == CLI_RULE_NOT_TRUSTED);
    o.n_members = 3;
    offered_m[2] = L(2, "carol", 3);
    CHECK(cli_rule_rejoin(&t, &o, V(K[0], 32), bob) == CLI_RULE_NOT_TRUSTED);
    offered_m[2] = MEM[2];
    /* Other administrators, another name, another group id. */
    o.admins = mls_buf_view(&ADMINS_BOB);
    CHECK(cli_rule_rejoin(&t, &o, V(K[0], 32), bob) == CLI_RULE_NOT_TRUSTED);
    o.admins = t.admins;
    o.name = mls_buf_view(&OTHER_NAME);
    CHECK(cli_rule_rejoin(&t, &o, V(K[0], 32), bob) == CLI_RULE_WRONG_GROUP);
    o.name = t.name;
    o.group_id = V(id2, 4);
    CHECK(cli_rule_rejoin(&t, &o, V(K[0], 32), bob) == CLI_RULE_WRONG_GROUP);
    o.group_id = t.group_id;
    CHECK(cli_rule_rejoin(&t, &o, V(K[0], 32), bob) == CLI_RULE_OK);
}

/* Rule: only administrators invite. */
static void test_may_invite(void)
{
    const char *admins[] = {"alice", "carol"};
    mls_buf a;
    mls_buf_init(&a);
    CHECK(cli_ext_admins_encode(admins, 2, &a) == 0);
    CHECK(cli_rule_may_invite(mls_buf_view(&a), "alice") == CLI_RULE_OK);
    CHECK(cli_rule_may_invite(mls_buf_view(&a), "carol") == CLI_RULE_OK);
    CHECK(cli_rule_may_invite(mls_buf_view(&a), "bob") == CLI_RULE_NOT_ADMIN);
    CHECK(cli_rule_may_invite(mls_bytes_of(NULL, 0), "alice") == CLI_RULE_NOT_ADMIN);
    mls_buf_clear(&a);
}

/* Rule: whom an /invite may name. */
static void test_invite_target(void)
{
    CHECK(cli_rule_invite_target("bob", "alice", 0, 0) == CLI_RULE_OK);
    CHECK(cli_rule_invite_target("alice", "alice", 0, 0) == CLI_RULE_SELF);
    CHECK(cli_rule_invite_target("bob", "alice", 1, 0) == CLI_RULE_ALREADY_MEMBER);
    CHECK(cli_rule_invite_target("bob", "alice", 0, 1) == CLI_RULE_DUPLICATE);
    CHECK(cli_rule_invite_target("", "alice", 0, 0) == CLI_RULE_BAD_NAME);
    CHECK(cli_rule_invite_target("b b", "alice", 0, 0) == CLI_RULE_BAD_NAME);
    CHECK(cli_rule_invite_target("abcdefghijabcdefghijabcdefghijabc", "alice", 0, 0) ==
          CLI_RULE_BAD_NAME); /* 33 characters */
    CHECK(cli_rule_invite_target("abcdefghijabcdefghijabcdefghijab", "alice", 0, 0) ==
          CLI_RULE_OK); /* 32 */
}

/* Rule: a claimed KeyPackage carries the name and the directory's key. */
static void test_key_package_rule(void)
{
    static const uint8_t k1[32] = {1}, k2[32] = {2};
    CHECK(cli_rule_key_package(B("bob"), V(k1, 32), "bob", V(k1, 32)) == CLI_RULE_OK);
    CHECK(cli_rule_key_package(B("bob"), V(k1, 32), "bob", V(k2, 32)) == CLI_RULE_KEY_MISMATCH);
    CHECK(cli_rule_key_package(B("eve"), V(k1, 32), "bob", V(k1, 32)) == CLI_RULE_KEY_MISMATCH);
    CHECK(cli_rule_key_package(B("bobby"), V(k1, 32), "bob", V(k1, 32)) ==
          CLI_RULE_KEY_MISMATCH);
    CHECK(cli_rule_key_package(B("bob"), V(k1, 31), "bob", V(k1, 32)) == CLI_RULE_KEY_MISMATCH);
    CHECK(cli_rule_key_package(B("bob"), mls_bytes_of(NULL, 0), "bob", mls_bytes_of(NULL, 0)) ==
          CLI_RULE_KEY_MISMATCH);
}

/* Rule: the group joined or rejoined is the one named. */
static void test_group_is(void)
{
    static const uint8_t id1[4] = {1, 2, 3, 4}, id2[4] = {1, 2, 3, 5};
    mls_buf n;
    mls_buf_init(&n);
    CHECK(cli_ext_name_encode("lobby", &n) == 0);
    CHECK(cli_rule_group_is(mls_buf_view(&n), "lobby", V(id1, 4), mls_bytes_of(NULL, 0)) ==
          CLI_RULE_OK);
    CHECK(cli_rule_group_is(mls_buf_view(&n), "lobby", V(id1, 4), V(id1, 4)) == CLI_RULE_OK);
    CHECK(cli_rule_group_is(mls_buf_view(&n), "lobby", V(id1, 4), V(id2, 4)) ==
          CLI_RULE_WRONG_GROUP);
    CHECK(cli_rule_group_is(mls_buf_view(&n), "lobbyx", V(id1, 4), mls_bytes_of(NULL, 0)) ==
          CLI_RULE_WRONG_GROUP);
    CHECK(cli_rule_group_is(mls_bytes_of(NULL, 0), "lobby", V(id1, 4), mls_bytes_of(NULL, 0)) ==
          CLI_RULE_WRONG_GROUP);
    mls_buf_clear(&n);
}

/* Rule: an invitation from a non-administrator is flagged. */
static void test_inviter(void)
{
    const char *admins[] = {"alice"};
    mls_buf a;
    mls_buf_init(&a);
    CHECK(cli_ext_admins_encode(admins, 1, &a) == 0);
    CHECK(cli_rule_inviter(mls_buf_view(&a), "alice") == CLI_RULE_OK);
    CHECK(cli_rule_inviter(mls_buf_view(&a), "mallory") == CLI_RULE_NOT_ADMIN);
    CHECK(cli_rule_inviter(mls_buf_view(&a), NULL) == CLI_RULE_NOT_ADMIN);
    mls_buf_clear(&a);
}

/* The topic extension (0xF002): its encoding, its bound, who may set it,
 * and a commit that changes it (an extension change: administrators). */
static void test_topic(void)
{
    static const uint8_t hello[] = {5, 'h', 'e', 'l', 'l', 'o'};
    static const uint8_t trailing[] = {1, 'a', 'b'};
    static const uint8_t nul[] = {2, 'a', 0};
    char out[CLI_TOPIC_MAX + 1], big[CLI_TOPIC_MAX + 2];
    const char *a[] = {"alice"};
    struct cli_commit_facts f;
    struct cli_change c[1];
    mls_buf b, admins;

    mls_buf_init(&b);
    mls_buf_init(&admins);
    CHECK(cli_ext_topic_encode("hello", &b) == 0);
    CHECK(b.n == sizeof hello && memcmp(b.p, hello, b.n) == 0);
    CHECK(cli_ext_topic_decode(mls_buf_view(&b), out, sizeof out) == 0 &&
          strcmp(out, "hello") == 0);
    CHECK(cli_ext_topic_encode("", &b) == 0 && b.n == 1);
    CHECK(cli_ext_topic_decode(mls_buf_view(&b), out, sizeof out) == 0 && out[0] == 0);
    CHECK(cli_ext_topic_decode(V(trailing, sizeof trailing), out, sizeof out) == -1);
    CHECK(cli_ext_topic_decode(V(nul, sizeof nul), out, sizeof out) == -1);
    CHECK(cli_ext_topic_encode("bell\a", &b) == -1); /* control characters */
    memset(big, 'x', CLI_TOPIC_MAX);
    big[CLI_TOPIC_MAX] = 0;
    CHECK(cli_ext_topic_encode(big, &b) == 0);
    CHECK(cli_ext_topic_decode(mls_buf_view(&b), out, sizeof out) == 0);
    CHECK(cli_ext_topic_decode(mls_buf_view(&b), out, CLI_TOPIC_MAX) == -1); /* no room */
    big[CLI_TOPIC_MAX] = 'x';
    big[CLI_TOPIC_MAX + 1] = 0;
    CHECK(cli_ext_topic_encode(big, &b) == -1);
    /* /topic: administrators only, bounded. */
    CHECK(cli_ext_admins_encode(a, 1, &admins) == 0);
    CHECK(cli_rule_topic(mls_buf_view(&admins), "alice", "hello") == CLI_RULE_OK);
    CHECK(cli_rule_topic(mls_buf_view(&admins), "bob", "hello") == CLI_RULE_NOT_ADMIN);
    CHECK(cli_rule_topic(mls_buf_view(&admins), "alice", big) == CLI_RULE_TOO_LONG);
    /* A commit setting it: alice yes, bob no; a malformed topic never. */
    CHECK(cli_ext_topic_encode("hello", &b) == 0);
    c[0] = change(CLI_CHANGE_EXTENSIONS, 0, 0);
    facts_init(&f, 0);
    f.changes = c;
    f.n_changes = 1;
    f.has_topic_after = 1;
    f.topic_after = mls_buf_view(&b);
    CHECK(cli_rule_commit(&f) == CLI_RULE_OK);
    f.topic_after = V(trailing, sizeof trailing);
    CHECK(cli_rule_commit(&f) == CLI_RULE_EXTENSIONS);
    facts_init(&f, 1);
    f.changes = c;
    f.n_changes = 1;
    f.has_topic_after = 1;
    f.topic_after = mls_buf_view(&b);
    CHECK(cli_rule_commit(&f) == CLI_RULE_NOT_ADMIN);
    mls_buf_clear(&b);
    mls_buf_clear(&admins);
}

static void test_verdict_text(void)
{
    int v;
    for (v = CLI_RULE_OK; v <= CLI_RULE_LAST; v++) {
        CHECK(strlen(cli_verdict_text((enum cli_verdict)v)) > 0);
        CHECK(strlen(cli_verdict_rule((enum cli_verdict)v)) > 0);
    }
    CHECK(strcmp(cli_verdict_rule(CLI_RULE_NOT_ADMIN), "admin_required") == 0);
    CHECK(strcmp(cli_verdict_rule(CLI_RULE_LAST_ADMIN), "last_admin") == 0);
    CHECK(strcmp(cli_verdict_text(CLI_RULE_NOT_ADMIN),
                 "a member who is not an administrator changed the group") == 0);
}

int main(void)
{
    test_name_ext();
    test_admins_ext();
    facts_setup();
    test_commit_admin_rule();
    test_commit_identity_rule();
    test_commit_extensions_rule();
    test_commit_external_rule();
    test_role_rules();
    test_rejoin_rule();
    test_topic();
    facts_teardown();
    test_may_invite();
    test_invite_target();
    test_key_package_rule();
    test_group_is();
    test_inviter();
    test_verdict_text();
    TEST_MAIN_END("client rules");
}
