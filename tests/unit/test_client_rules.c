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

/* Rule: adding members or changing the GroupContext extensions needs an
 * administrator of the epoch the commit was made in. */
static void test_commit_admin_rule(void)
{
    const char *admins[] = {"alice"};
    struct cli_commit_facts f;
    mls_buf a;

    mls_buf_init(&a);
    CHECK(cli_ext_admins_encode(admins, 1, &a) == 0);
    memset(&f, 0, sizeof f);
    f.admins_before = mls_buf_view(&a);

    f.committer = "alice";
    f.n_added = 2;
    CHECK(cli_rule_commit(&f) == CLI_RULE_OK);
    f.committer = "bob";
    CHECK(cli_rule_commit(&f) == CLI_RULE_NOT_ADMIN);
    f.n_added = 0;
    f.extensions_changed = 1;
    CHECK(cli_rule_commit(&f) == CLI_RULE_NOT_ADMIN);
    f.committer = "alice";
    CHECK(cli_rule_commit(&f) == CLI_RULE_OK);
    /* An update or a removal by anyone is allowed (the server enforces
     * who may remove whom, PROTOCOL.md §7.4). */
    f.committer = "bob";
    f.extensions_changed = 0;
    CHECK(cli_rule_commit(&f) == CLI_RULE_OK);
    f.n_removed = 1;
    CHECK(cli_rule_commit(&f) == CLI_RULE_OK);
    /* A committer we cannot name is no administrator. */
    f.n_added = 1;
    f.committer = "";
    CHECK(cli_rule_commit(&f) == CLI_RULE_NOT_ADMIN);
    f.committer = NULL;
    CHECK(cli_rule_commit(&f) == CLI_RULE_NOT_ADMIN);
    /* Without an administrators extension nobody may add. */
    f.committer = "alice";
    f.admins_before = mls_bytes_of(NULL, 0);
    CHECK(cli_rule_commit(&f) == CLI_RULE_NOT_ADMIN);
    mls_buf_clear(&a);
}

/* Rule: an external commit is accepted only as a resync. */
static void test_commit_external_rule(void)
{
    static const uint8_t k1[32] = {1}, k2[32] = {2};
    struct cli_member_ref j = {B("bob"), V(k1, sizeof k1)};
    struct cli_member_ref r = {B("bob"), V(k1, sizeof k1)};
    struct cli_member_ref other_name = {B("eve"), V(k1, sizeof k1)};
    struct cli_member_ref other_key = {B("bob"), V(k2, sizeof k2)};
    struct cli_member_ref nameless = {mls_bytes_of(NULL, 0), V(k1, sizeof k1)};
    struct cli_commit_facts f;

    memset(&f, 0, sizeof f);
    f.external = 1;
    f.committer = "";
    f.n_added = 1;
    f.n_removed = 1;
    f.joined = &j;
    f.removed = &r;
    CHECK(cli_rule_commit(&f) == CLI_RULE_OK);
    f.removed = &other_name;
    CHECK(cli_rule_commit(&f) == CLI_RULE_EXTERNAL_NOT_RESYNC);
    f.removed = &other_key;
    CHECK(cli_rule_commit(&f) == CLI_RULE_EXTERNAL_NOT_RESYNC);
    f.removed = &r;
    f.joined = &nameless;
    f.removed = &nameless;
    CHECK(cli_rule_commit(&f) == CLI_RULE_EXTERNAL_NOT_RESYNC);
    f.joined = &j;
    f.removed = &r;
    f.extensions_changed = 1;
    CHECK(cli_rule_commit(&f) == CLI_RULE_EXTERNAL_NOT_RESYNC);
    f.extensions_changed = 0;
    f.self_removed = 1;
    CHECK(cli_rule_commit(&f) == CLI_RULE_EXTERNAL_NOT_RESYNC);
    f.self_removed = 0;
    f.n_removed = 0; /* a join without removing an old leaf */
    f.removed = NULL;
    CHECK(cli_rule_commit(&f) == CLI_RULE_EXTERNAL_NOT_RESYNC);
    f.n_removed = 2;
    f.removed = &r;
    CHECK(cli_rule_commit(&f) == CLI_RULE_EXTERNAL_NOT_RESYNC);
    f.n_removed = 1;
    f.n_added = 2;
    CHECK(cli_rule_commit(&f) == CLI_RULE_EXTERNAL_NOT_RESYNC);
    f.n_added = 1;
    CHECK(cli_rule_commit(&f) == CLI_RULE_OK);
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

static void test_verdict_text(void)
{
    int v;
    for (v = CLI_RULE_OK; v <= CLI_RULE_KEY_MISMATCH; v++)
        CHECK(strlen(cli_verdict_text((enum cli_verdict)v)) > 0);
    CHECK(strcmp(cli_verdict_text(CLI_RULE_NOT_ADMIN),
                 "a member who is not an administrator changed the group") == 0);
}

int main(void)
{
    test_name_ext();
    test_admins_ext();
    test_commit_admin_rule();
    test_commit_external_rule();
    test_may_invite();
    test_invite_target();
    test_key_package_rule();
    test_group_is();
    test_inviter();
    test_verdict_text();
    TEST_MAIN_END("client rules");
}
