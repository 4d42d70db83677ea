/*
 * The chat's own rules, on top of RFC 9420 (README.md "Chat-level MLS
 * choices"): the encoding of its two GroupContext extensions and the
 * decisions about who may do what.  Pure functions over plain data (no
 * MLS objects, no network, no store), so each rule has a unit test
 * (tests/unit/test_client_rules.c) that shows it allowing and refusing.
 *
 *   0xF000 "mlschat group name":     struct { opaque name<V>; }
 *   0xF001 "mlschat administrators": struct { opaque usernames<V><V>; }
 */
#ifndef CLI_RULES_H
#define CLI_RULES_H

#include <stddef.h>

#include "mls/mls.h"

#define CLI_EXT_GROUP_NAME 0xF000u
#define CLI_EXT_ADMINS 0xF001u

/* ---------------------------------------------------------------- extensions */

/* out is replaced.  0, or -1 when out of memory. */
int cli_ext_name_encode(const char *name, mls_buf *out);
/* The name in an 0xF000 extension's data, NUL-terminated into out.  0, or
 * -1 when the data is malformed, empty, has trailing bytes or does not
 * fit in max. */
int cli_ext_name_decode(mls_bytes data, char *out, size_t max);
/* out is replaced.  0, or -1 when out of memory. */
int cli_ext_admins_encode(const char *const *names, size_t n, mls_buf *out);
/* 1 if user is listed in an 0xF001 extension's data; 0 if not or if the
 * data is malformed (a malformed list names nobody). */
int cli_ext_admins_has(mls_bytes data, const char *user);

/* ---------------------------------------------------------------- decisions */

enum cli_verdict {
    CLI_RULE_OK = 0,
    CLI_RULE_NOT_ADMIN,          /* the change needs an administrator */
    CLI_RULE_EXTERNAL_NOT_RESYNC,/* an external commit that is not a member's resync */
    CLI_RULE_BAD_NAME,           /* not a valid username */
    CLI_RULE_SELF,               /* the user themself */
    CLI_RULE_ALREADY_MEMBER,     /* already in the group */
    CLI_RULE_DUPLICATE,          /* named twice */
    CLI_RULE_WRONG_GROUP,        /* an MLS group other than the one named */
    CLI_RULE_KEY_MISMATCH        /* a key other than the directory's */
};
/* A short reason for the user. */
const char *cli_verdict_text(enum cli_verdict v);

/* A member that is not in the tree before the commit. */
struct cli_member_ref {
    mls_bytes identity, signature_key;
};

/* What an incoming commit does, as far as the chat's rules care. */
struct cli_commit_facts {
    int external;          /* sender new_member_commit (RFC 9420 §12.4.3.2) */
    const char *committer; /* username at the committer's leaf ("" if unknown) */
    mls_bytes admins_before; /* 0xF001 data of the epoch the commit was made in */
    size_t n_added, n_removed;
    int extensions_changed, self_removed;
    /* For an external commit: the joiner and the leaf it removes, when
     * there is exactly one of each. */
    const struct cli_member_ref *joined, *removed;
};

/* May this commit be followed?  Adding members or changing the
 * GroupContext extensions needs an administrator (by the roles before the
 * commit); an external commit is accepted only as a resync: exactly one
 * joiner and one removed leaf with the same name and the same signature
 * key, no extension change, and not removing us. */
enum cli_verdict cli_rule_commit(const struct cli_commit_facts *f);

/* May user invite into a group with this administrators extension? */
enum cli_verdict cli_rule_may_invite(mls_bytes admins, const char *user);

/* Is `name` (already lowercased) a user we can invite?  self is our own
 * name, is_member whether it is in the group, listed whether it was
 * named earlier in the same /invite. */
enum cli_verdict cli_rule_invite_target(const char *name, const char *self, int is_member,
                                        int listed);

/* A KeyPackage handed out for `name` must carry that name and the
 * directory's signature key for it (DESIGN Decision 2). */
enum cli_verdict cli_rule_key_package(mls_bytes kp_identity, mls_bytes kp_signature_key,
                                      const char *name, mls_bytes directory_key);

/* A group joined (Welcome) or rejoined (GroupInfo) must be the one asked
 * for: its 0xF000 name is `name`, and when expected_id is not empty its
 * group id is expected_id. */
enum cli_verdict cli_rule_group_is(mls_bytes name_ext, const char *name, mls_bytes group_id,
                                   mls_bytes expected_id);

/* An invitation from someone who is not an administrator is followed
 * (the Welcome is valid MLS) but the user is warned. */
enum cli_verdict cli_rule_inviter(mls_bytes admins, const char *sender);

#endif
