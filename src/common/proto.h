/*
 * The protocol's words, written once (docs/PROTOCOL.md): request types,
 * error codes and event names as X-macro lists, shared by the server and
 * the client.  Code uses the enums, so a misspelt word is a compile error;
 * the strings exist only here.  No server or client types: both programs
 * include this header.
 */
#ifndef CHAT_PROTO_H
#define CHAT_PROTO_H

#include <stddef.h>

/* The chat's GroupContext extensions (RFC 9420 §13.3 private-use types,
 * docs/PROTOCOL.md §7.4): the group's name, its administrators and its
 * topic.  The topic is struct { opaque topic<V>; } of UTF-8 text, at most
 * CHAT_TOPIC_MAX bytes (empty: no topic). */
#define CHAT_EXT_GROUP_NAME 0xF000u
#define CHAT_EXT_ADMINS 0xF001u
#define CHAT_EXT_TOPIC 0xF002u
#define CHAT_TOPIC_MAX 512u

/* Request types (docs/PROTOCOL.md §3-§7): X(ENUM_SUFFIX, "wire name"). */
#define CHAT_REQUEST_LIST(X)                                                   \
    X(REGISTER, "register")                                                    \
    X(LOGIN, "login")                                                          \
    X(PING, "ping")                                                            \
    X(USER_LOOKUP, "user.lookup")                                              \
    X(USER_RENAME, "user.rename")                                              \
    X(KP_UPLOAD, "kp.upload")                                                  \
    X(KP_COUNT, "kp.count")                                                    \
    X(KP_CLAIM, "kp.claim")                                                    \
    X(GROUP_CREATE, "group.create")                                            \
    X(GROUP_INFO, "group.info")                                                \
    X(GROUP_LIST, "group.list")                                                \
    X(GROUP_COMMIT, "group.commit")                                            \
    X(GROUP_SEND, "group.send")                                                \
    X(LOG_FETCH, "log.fetch")                                                  \
    X(INBOX_FETCH, "inbox.fetch")                                              \
    X(INBOX_ACK, "inbox.ack")                                                  \
    X(INVITE_PENDING, "invite.pending")                                        \
    X(INVITE_LIST, "invite.list")

/* Error codes (docs/PROTOCOL.md §8): X(ENUM_SUFFIX, "code", "default text").
 * The last two occur only in HTTP error bodies. */
#define CHAT_ERROR_LIST(X)                                                     \
    X(BAD_JSON, "bad_json", "the frame is not a JSON object")                  \
    X(BAD_REQUEST, "bad_request", "a field is missing or of the wrong type or value") \
    X(UNKNOWN_TYPE, "unknown_type", "not a known request type")                \
    X(BAD_BASE64, "bad_base64", "a binary field is not valid base64")          \
    X(TOO_LARGE, "too_large", "message too large, or too many items")          \
    X(RATE_LIMITED, "rate_limited", "too many requests")                       \
    X(TOO_MANY_CONNECTIONS, "too_many_connections", "the server is full")      \
    X(UNAUTHENTICATED, "unauthenticated", "log in first")                      \
    X(ALREADY_AUTHENTICATED, "already_authenticated", "this connection is logged in") \
    X(BAD_CHALLENGE, "bad_challenge", "nonce is not this connection's challenge") \
    X(REPLAY, "replay", "this challenge was already used")                     \
    X(CHALLENGE_EXPIRED, "challenge_expired", "the challenge expired")         \
    X(BAD_TIMESTAMP, "bad_timestamp", "timestamp too far from server time")    \
    X(BAD_SIGNATURE, "bad_signature", "signature does not verify")             \
    X(BAD_USERNAME, "bad_username", "invalid username")                        \
    X(USERNAME_TAKEN, "username_taken", "username is already registered")      \
    X(UNKNOWN_USER, "unknown_user", "no such user")                            \
    X(UNSUPPORTED_SUITE, "unsupported_suite", "cipher suite is not supported") \
    X(BAD_KEY, "bad_key", "signature key wrong size or registered to another user") \
    X(MALFORMED_MLS, "malformed_mls", "bytes do not decode as the expected MLS object") \
    X(INVALID_KEY_PACKAGE, "invalid_key_package", "KeyPackage fails validation") \
    X(NO_KEY_PACKAGE, "no_key_package", "the user has no KeyPackage left")     \
    X(BAD_GROUP_NAME, "bad_group_name", "invalid group name")                  \
    X(GROUP_EXISTS, "group_exists", "group name or group id taken")            \
    X(UNKNOWN_GROUP, "unknown_group", "no such group")                         \
    X(NOT_MEMBER, "not_member", "not on the group's roster")                   \
    X(FORBIDDEN, "forbidden", "the caller's role does not allow it")           \
    X(WRONG_GROUP, "wrong_group", "the message's group_id is not this group's") \
    X(STALE_EPOCH, "stale_epoch", "commit not for the current epoch")          \
    X(WRONG_EPOCH, "wrong_epoch", "message epoch outside the window")          \
    X(BAD_ROSTER, "bad_roster", "add, remove and Welcome recipients disagree") \
    X(INVALID_COMMIT, "invalid_commit", "the commit or proposal breaks a governance rule") \
    X(CURSOR_EXPIRED, "cursor_expired", "log entries after the cursor were purged") \
    X(INBOX_FULL, "inbox_full", "the recipient's inbox is full")               \
    X(OUT_OF_RANGE, "out_of_range", "a number is outside its allowed range")   \
    X(LOGIN_TIMEOUT, "login_timeout", "no login within the challenge lifetime") \
    X(UNAVAILABLE, "unavailable", "the server's storage is failing or it is stopping") \
    X(INTERNAL, "internal", "storage failure; nothing was changed")            \
    X(NOT_FOUND, "not_found", "no such endpoint")                              \
    X(METHOD_NOT_ALLOWED, "method_not_allowed", "only GET is served over HTTP")

/* Server -> client events (docs/PROTOCOL.md §1, §3, §7.5, §7.6). */
#define CHAT_EVENT_LIST(X)                                                     \
    X(CHALLENGE, "challenge")                                                  \
    X(LOG, "log")                                                              \
    X(INBOX, "inbox")                                                          \
    X(INVITE, "invite")

/* Log entry kinds (the `kind` of §7.5) and roster roles (§7.2, §7.3). */
#define CHAT_KIND_LIST(X)                                                      \
    X(COMMIT, "commit")                                                        \
    X(MESSAGE, "message")                                                      \
    X(PROPOSAL, "proposal")

#define CHAT_ROLE_LIST(X)                                                      \
    X(MEMBER, "member")                                                        \
    X(ADMIN, "admin")

/* The `rule` of an invalid_commit refusal (docs/PROTOCOL.md §7.4). */
#define CHAT_RULE_LIST(X)                                                      \
    X(NOT_PUBLIC, "not_public")                                                \
    X(MLS, "mls")                                                              \
    X(SENDER, "sender")                                                        \
    X(ADMIN_REQUIRED, "admin_required")                                        \
    X(IDENTITY, "identity")                                                    \
    X(EXTERNAL, "external")                                                    \
    X(EXTENSIONS, "extensions")                                                \
    X(LAST_ADMIN, "last_admin")                                                \
    X(GROUP_INFO, "group_info")                                                \
    X(WELCOME, "welcome")

/* Entries of two fields (requests, events) and of three (errors) get their
 * own helper macros: C11 has no empty variadic argument. */
#define CHAT_PROTO_ENUM_(name, str) CHAT_REQ_##name,
enum chat_req {
    CHAT_REQ_UNKNOWN = 0, /* not a request type; also a zeroed field */
    CHAT_REQUEST_LIST(CHAT_PROTO_ENUM_)
    CHAT_REQ_COUNT
};
#undef CHAT_PROTO_ENUM_

#define CHAT_PROTO_ENUM_(name, str, text) CHAT_ERR_##name,
enum chat_err {
    CHAT_ERR_NONE = 0, /* success; "ok" */
    CHAT_ERROR_LIST(CHAT_PROTO_ENUM_)
    CHAT_ERR_COUNT
};
#undef CHAT_PROTO_ENUM_

#define CHAT_PROTO_ENUM_(name, str) CHAT_EVENT_##name,
enum chat_event {
    CHAT_EVENT_UNKNOWN = 0,
    CHAT_EVENT_LIST(CHAT_PROTO_ENUM_)
    CHAT_EVENT_COUNT
};
#undef CHAT_PROTO_ENUM_

#define CHAT_PROTO_ENUM_(name, str) CHAT_KIND_##name,
enum chat_kind {
    CHAT_KIND_UNKNOWN = 0,
    CHAT_KIND_LIST(CHAT_PROTO_ENUM_)
    CHAT_KIND_COUNT
};
#undef CHAT_PROTO_ENUM_

#define CHAT_PROTO_ENUM_(name, str) CHAT_ROLE_##name,
enum chat_role {
    CHAT_ROLE_UNKNOWN = 0,
    CHAT_ROLE_LIST(CHAT_PROTO_ENUM_)
    CHAT_ROLE_COUNT
};
#undef CHAT_PROTO_ENUM_

#define CHAT_PROTO_ENUM_(name, str) CHAT_RULE_##name,
enum chat_rule {
    CHAT_RULE_UNKNOWN = 0, /* not a rule; also a zeroed field */
    CHAT_RULE_LIST(CHAT_PROTO_ENUM_)
    CHAT_RULE_COUNT
};
#undef CHAT_PROTO_ENUM_

/* The wire name of a request type; NULL for CHAT_REQ_UNKNOWN or a value
 * outside the enum. */
const char *chat_req_name(enum chat_req r);
/* The request type named by s (exact, case-sensitive); CHAT_REQ_UNKNOWN
 * if there is none.  s may be NULL. */
enum chat_req chat_req_from_string(const char *s);

/* The code of an error ("ok" for CHAT_ERR_NONE); NULL outside the enum. */
const char *chat_err_name(enum chat_err e);
/* Its default human-readable text (PROTOCOL.md §8); NULL outside the enum. */
const char *chat_err_text(enum chat_err e);
/* The error named by s; CHAT_ERR_NONE for "ok", CHAT_ERR_COUNT for a code
 * this program does not know (a newer server), so that a caller cannot
 * mistake an unknown refusal for success.  s may be NULL (CHAT_ERR_COUNT). */
enum chat_err chat_err_from_string(const char *s);

/* The wire name of an event; NULL for CHAT_EVENT_UNKNOWN or outside. */
const char *chat_event_name(enum chat_event ev);
/* The event named by s; CHAT_EVENT_UNKNOWN if there is none. */
enum chat_event chat_event_from_string(const char *s);

/* Kinds and roles the same way: NULL / CHAT_*_UNKNOWN when unknown. */
const char *chat_kind_name(enum chat_kind k);
enum chat_kind chat_kind_from_string(const char *s);
const char *chat_role_name(enum chat_role r);
enum chat_role chat_role_from_string(const char *s);
/* Rules of invalid_commit the same way. */
const char *chat_rule_name(enum chat_rule r);
enum chat_rule chat_rule_from_string(const char *s);

#endif
