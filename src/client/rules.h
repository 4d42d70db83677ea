/*
 * The chat's own rules, on top of RFC 9420 (README.md "Chat-level MLS
 * choices"): the encoding of its two GroupContext extensions and the
 * decisions about who may do what.  Pure functions over plain data (no
 * MLS objects, no network, no store), so each rule has a unit test
 * (tests/unit/test_client_rules.c) that shows it allowing and refusing.
 *
 *   0xF000 "mlschat group name":     struct { opaque name<V>; }
 *   0xF001 "mlschat administrators": struct { opaque usernames<V><V>; }
 *   0xF002 "mlschat topic":          struct { opaque topic<V>; }
 *                                    (UTF-8, at most CHAT_TOPIC_MAX bytes)
 */
#ifndef CLI_RULES_H
#define CLI_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "mls/mls.h"

#define CLI_EXT_GROUP_NAME 0xF000u
#define CLI_EXT_ADMINS 0xF001u
#define CLI_EXT_TOPIC 0xF002u
/* The same numbers as CHAT_EXT_* and CHAT_TOPIC_MAX of src/common/proto.h
 * (checked in rules.c). */
#define CLI_TOPIC_MAX 512u

/* ---------------------------------------------------------------- extensions */

/* out is replaced.  0, or -1 when out of memory. */
int cli_ext_name_encode(const char *name, mls_buf *out);
/* The name in an 0xF000 extension's data, NUL-terminated into out.  0, or
 * -1 when the data is malformed, empty, has trailing bytes or does not
 * fit in max. */
int cli_ext_name_decode(mls_bytes data, char *out, size_t max);
/* out is replaced.  0, or -1 when out of memory. */
int cli_ext_admins_encode(const char *const *names, size_t n, mls_buf *out);
/* out is replaced.  0, or -1 when out of memory or topic is longer than
 * CLI_TOPIC_MAX bytes or not well-formed UTF-8 text. */
int cli_ext_topic_encode(const char *topic, mls_buf *out);
/* The topic in an 0xF002 extension's data, NUL-terminated into out (max
 * at least CLI_TOPIC_MAX + 1).  0, or -1 when the data is malformed, has
 * trailing bytes, is longer than CLI_TOPIC_MAX or holds a NUL byte.  The
 * text is the sender's: it passes the display sanitizer before it is
 * shown. */
int cli_ext_topic_decode(mls_bytes data, char *out, size_t max);
/* /topic text: only an administrator (CLI_RULE_NOT_ADMIN), text at most
 * CLI_TOPIC_MAX bytes of valid UTF-8 (CLI_RULE_TOO_LONG). */
enum cli_verdict cli_rule_topic(mls_bytes admins, const char *self, const char *text);

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
    CLI_RULE_KEY_MISMATCH,       /* a key other than the directory's */
    CLI_RULE_IDENTITY,           /* a credential's name or key changed, or a user twice */
    CLI_RULE_EXTENSIONS,         /* the group name changed, or a malformed admin list */
    CLI_RULE_LAST_ADMIN,         /* no administrator would be left */
    CLI_RULE_NOT_MEMBER,         /* the user is not a member of the group */
    CLI_RULE_NOT_TRUSTED,        /* a state not reached from the last trusted epoch */
    CLI_RULE_TOO_LONG            /* a topic over CLI_TOPIC_MAX bytes, or not UTF-8 */
};
#define CLI_RULE_LAST CLI_RULE_TOO_LONG
/* A short reason for the user. */
const char *cli_verdict_text(enum cli_verdict v);
/* The rule's name as PROTOCOL.md §7.4 spells the server's (admin_required,
 * external, identity, extensions, last_admin), or a short name of ours. */
const char *cli_verdict_rule(enum cli_verdict v);

/* A leaf, as the rules see it (identity: the basic credential's). */
struct cli_leaf {
    uint32_t leaf;
    mls_bytes identity, signature_key;
};

/* One proposal a commit applies (RFC 9420 §12.1). */
enum cli_change_kind {
    CLI_CHANGE_ADD = 1,
    CLI_CHANGE_REMOVE,
    CLI_CHANGE_UPDATE,
    CLI_CHANGE_EXTENSIONS,   /* GroupContextExtensions */
    CLI_CHANGE_REINIT,
    CLI_CHANGE_PSK,
    CLI_CHANGE_EXTERNAL_INIT,
    CLI_CHANGE_OTHER
};

struct cli_change {
    enum cli_change_kind kind;
    /* Sent by a member (leaf proposer) and committed by reference: the
     * only way a non-administrator's departure gets into a commit. */
    int by_member, by_reference;
    uint32_t proposer;
    struct cli_leaf before; /* Remove: the removed member; Update: the sender before */
    struct cli_leaf after;  /* Add: the new member; Update: the sender after */
};

/* What an incoming commit does, judged on the group before it (RFC 9420
 * §12.4.2: the committer is its leaf before the commit, never the tree
 * after, where a renamed leaf could pose as someone else). */
struct cli_commit_facts {
    int external;              /* sender new_member_commit (RFC 9420 §12.4.3.2) */
    struct cli_leaf committer; /* member: its leaf before; external: the joiner */
    int has_path;
    struct cli_leaf path_leaf; /* the committer's leaf after its UpdatePath */
    /* The members before the commit. */
    const struct cli_leaf *members;
    size_t n_members;
    const struct cli_change *changes;
    size_t n_changes;
    /* The chat's extensions before and after (after = before when no
     * GroupContextExtensions is applied); present flags. */
    int has_name_before, has_name_after, has_admins_before, has_admins_after;
    mls_bytes name_before, name_after, admins_before, admins_after;
    int has_topic_after;
    mls_bytes topic_after;
    /* Decides a leaf whose identity or signature key changes (a registered
     * rename, pins.h); NULL: cli_rule_rename_ok. */
    enum cli_verdict (*rename_ok)(void *ctx, const struct cli_leaf *before,
                                  const struct cli_leaf *after);
    void *rename_ctx;
};

/*
 * May this commit be followed?  The rules of PROTOCOL.md §7.4, the same
 * the server applies, for when the server does not:
 *   - admin_required: adds, removes of others, GroupContext extension
 *     changes, ReInit and PSKs only from a committer named in the
 *     administrators extension before the commit; anyone may commit the
 *     removal of a member that proposed it itself (by reference);
 *   - identity: no leaf's identity or signature key changes (Update or
 *     the committer's path) unless f->rename_ok allows it; nobody twice;
 *   - external: an external commit only as a resync (ExternalInit and the
 *     Remove of one leaf with the joiner's identity and signature key);
 *   - extensions: the group name never changes or disappears; the
 *     administrators list stays well formed, non-empty, of members; a
 *     topic, when there is one, is well formed and at most
 *     CLI_TOPIC_MAX bytes;
 *   - last_admin: some administrator stays a member.
 */
enum cli_verdict cli_rule_commit(const struct cli_commit_facts *f);

/* A leaf's credential changes from old to new (identity or signature key)
 * with nobody to ask about registered renames: refused (CLI_RULE_IDENTITY).
 * The client asks pins.h (cli_pins_rename) through facts.rename_ok. */
enum cli_verdict cli_rule_rename_ok(const struct cli_leaf *old_leaf,
                                    const struct cli_leaf *new_leaf);

/* A group as a rejoin must find it again (views). */
struct cli_group_facts {
    const struct cli_leaf *members;
    size_t n_members;
    int has_admins, has_name;
    mls_bytes admins, name, group_id;
};

/*
 * Rejoining by an external commit (RFC 9420 §12.4.3.2) from a GroupInfo
 * the server serves: the state it leads to (`offered`) must be the last
 * one this client verified itself (`trusted`): the same group id, name and
 * administrators, the same members with the same signature keys (our own
 * leaf, identity `self`, aside: it is the one being replaced), and the
 * GroupInfo signed (signer_key) by a member of `trusted`.
 * CLI_RULE_WRONG_GROUP for another group id or name, CLI_RULE_NOT_TRUSTED
 * otherwise.
 */
enum cli_verdict cli_rule_rejoin(const struct cli_group_facts *trusted,
                                 const struct cli_group_facts *offered, mls_bytes signer_key,
                                 mls_bytes self);

/* The administrators named in an 0xF001 extension's data, each passed to
 * each() in order.  0, or -1 when malformed (nothing is passed). */
int cli_ext_admins_each(mls_bytes data, void (*each)(void *ctx, mls_bytes name), void *ctx);

/* Role commands (README "Commands"), by the administrators extension of
 * the current epoch; self is our name, target the user named,
 * target_member whether target is in the group. */
/* /op target (make_admin 1) or /deop target (0): only an administrator;
 * the target a member; /op of an administrator or /deop of a member is
 * CLI_RULE_DUPLICATE (nothing to do); the last administrator cannot drop
 * itself (CLI_RULE_LAST_ADMIN). */
enum cli_verdict cli_rule_set_admin(mls_bytes admins, const char *self, const char *target,
                                    int target_member, int make_admin);
/* /kick target: only an administrator, a member other than self. */
enum cli_verdict cli_rule_kick(mls_bytes admins, const char *self, const char *target,
                               int target_member);
/* /leave: anyone, but an administrator only when another administrator
 * is a member (other_admin_member) to commit its departure and keep the
 * group administered. */
enum cli_verdict cli_rule_leave(mls_bytes admins, const char *self, int other_admin_member);

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
