/*
 * The client's side of the JSON protocol (docs/PROTOCOL.md): typed request
 * builders, reply and event parsers, and the error codes as an enum.  It
 * is the one file of the client that knows the protocol's words: request
 * types, error codes, events and log kinds from the lists both programs
 * share (src/common/proto.h), field names in protocol.c, mirroring the
 * server's handlers (src/server/handlers.c).
 *
 * Builders return a new JSON object (NULL when out of memory) for
 * cli_net_request.  Parsers read a borrowed reply or event: strings they
 * return borrow from it (valid during the reply callback), binary fields
 * are decoded into caller-owned buffers.  A reply whose fields have the
 * wrong type or are missing is refused (-1), never half-read.
 */
#ifndef CLI_PROTOCOL_H
#define CLI_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "mls/mls.h"

/* PROTOCOL.md §8, in its order. */
enum cli_perr {
    CLI_PERR_OK = 0,
    CLI_PERR_BAD_JSON,
    CLI_PERR_BAD_REQUEST,
    CLI_PERR_UNKNOWN_TYPE,
    CLI_PERR_BAD_BASE64,
    CLI_PERR_TOO_LARGE,
    CLI_PERR_RATE_LIMITED,
    CLI_PERR_TOO_MANY_CONNECTIONS,
    CLI_PERR_UNAUTHENTICATED,
    CLI_PERR_ALREADY_AUTHENTICATED,
    CLI_PERR_BAD_CHALLENGE,
    CLI_PERR_REPLAY,
    CLI_PERR_CHALLENGE_EXPIRED,
    CLI_PERR_BAD_TIMESTAMP,
    CLI_PERR_BAD_SIGNATURE,
    CLI_PERR_BAD_USERNAME,
    CLI_PERR_USERNAME_TAKEN,
    CLI_PERR_UNKNOWN_USER,
    CLI_PERR_UNSUPPORTED_SUITE,
    CLI_PERR_BAD_KEY,
    CLI_PERR_MALFORMED_MLS,
    CLI_PERR_INVALID_KEY_PACKAGE,
    CLI_PERR_NO_KEY_PACKAGE,
    CLI_PERR_BAD_GROUP_NAME,
    CLI_PERR_GROUP_EXISTS,
    CLI_PERR_UNKNOWN_GROUP,
    CLI_PERR_NOT_MEMBER,
    CLI_PERR_FORBIDDEN,
    CLI_PERR_WRONG_GROUP,
    CLI_PERR_STALE_EPOCH,
    CLI_PERR_WRONG_EPOCH,
    CLI_PERR_BAD_ROSTER,
    CLI_PERR_CURSOR_EXPIRED,
    CLI_PERR_UNAVAILABLE,
    CLI_PERR_INTERNAL,
    /* Not codes of the server: */
    CLI_PERR_UNKNOWN,      /* an error code this client does not know */
    CLI_PERR_DISCONNECTED, /* no reply: the connection closed first */
    CLI_PERR_MALFORMED     /* the reply is not a well-formed answer */
};

/* The code's wire name ("rate_limited"), or a description for the three
 * that are not codes of the server. */
const char *cli_perr_name(enum cli_perr e);
/* The enum of a wire name; CLI_PERR_UNKNOWN for anything else. */
enum cli_perr cli_perr_parse(const char *code);
/* 1 for refusals that a later retry of the same request can overcome
 * (rate_limited, unavailable, internal). */
int cli_perr_temporary(enum cli_perr e);

/* What every reply says: ok, or why not. */
struct cli_reply {
    int ok;
    enum cli_perr err;     /* CLI_PERR_OK when ok */
    const char *message;   /* readable reason (the code's name if none) */
    int64_t retry_after;   /* rate_limited: seconds; 0 if not given */
    int64_t current_epoch; /* stale_epoch, wrong_epoch: -1 if not given */
    int64_t server_time;   /* bad_timestamp: 0 if not given */
    const char *nonce;     /* failed login: a fresh challenge, or NULL */
};
/* Reads reply (NULL: the connection closed); never fails. */
void cli_proto_reply(json_t *reply, struct cli_reply *out);

/* ---------------------------------------------------------------- requests */

/* PROTOCOL.md §3: the signed AuthContent and its SignWithLabel label. */
const char *cli_proto_auth_label(void);
int cli_proto_auth_content(int registering, mls_bytes nonce, uint64_t timestamp,
                           const char *username, uint16_t suite, mls_bytes signature_key,
                           mls_buf *out);
/* register (with suite and key) or login. */
json_t *cli_proto_auth(int registering, const char *username, const char *nonce_b64,
                       uint64_t timestamp, mls_bytes signature, uint16_t suite,
                       mls_bytes signature_key);
json_t *cli_proto_kp_count(void);
/* key_packages are MLSMessages (RFC 9420 §6, wire_format mls_key_package). */
json_t *cli_proto_kp_upload(const mls_bytes *key_packages, size_t n, int last_resort);
json_t *cli_proto_kp_claim(const char *username);
json_t *cli_proto_user_lookup(const char *username);
/* PROTOCOL.md §5.1: our new username. */
json_t *cli_proto_user_rename(const char *username);
/* group_info: the new group's GroupInfo with the ratchet tree, from which
 * the server builds its view of the group (PROTOCOL.md §7.1). */
json_t *cli_proto_group_create(const char *name, mls_bytes group_id, mls_bytes group_info);
json_t *cli_proto_group_info(const char *name);
json_t *cli_proto_group_list(void);
/* msg_id (PROTOCOL.md §7.7) may be empty. */
json_t *cli_proto_group_send(const char *group, mls_bytes message, mls_bytes msg_id);
/* group_info may be empty (never for the chat's own commits); welcome
 * (one for all added users) is sent when not empty. */
json_t *cli_proto_group_commit(const char *group, uint64_t epoch, mls_bytes commit,
                               mls_bytes group_info, mls_bytes welcome);
json_t *cli_proto_log_fetch(const char *group, int64_t after, int limit);
json_t *cli_proto_inbox_fetch(void);
json_t *cli_proto_inbox_ack(int64_t inbox_id);

/* ---------------------------------------------------------------- replies */

/* register / login: the key's fingerprint as the server shows it ("?"). */
const char *cli_proto_auth_fingerprint(json_t *reply);

struct cli_kp_count {
    int64_t count, low_water;
    int last_resort; /* the server keeps a last-resort KeyPackage of ours */
};
int cli_proto_kp_count_reply(json_t *reply, struct cli_kp_count *out);

struct cli_kp_upload {
    int64_t stored, count;
    int last_resort;
};
int cli_proto_kp_upload_reply(json_t *reply, struct cli_kp_upload *out);

/* kp.claim: the KeyPackage as an MLSMessage (the server hands out the bare
 * KeyPackage, PROTOCOL.md §6.3). */
int cli_proto_kp_claim_reply(json_t *reply, mls_buf *key_package);
/* user.lookup: the directory's signature key. */
int cli_proto_user_lookup_reply(json_t *reply, mls_buf *signature_key);
/* group.create: the log position the group starts at. */
int cli_proto_group_create_reply(json_t *reply, int64_t *last_seq);

struct cli_group_info_reply {
    int exists, member;
    const char *admin;  /* NULL if not given */
    int has_group_info; /* group_info and group_id were given */
    mls_buf group_info, group_id; /* caller-initialised */
};
int cli_proto_group_info_reply(json_t *reply, struct cli_group_info_reply *out);

/* group.list: the number of groups, and the i-th name (NULL if malformed). */
size_t cli_proto_group_list_count(json_t *reply);
const char *cli_proto_group_list_name(json_t *reply, size_t i);

/* group.send, group.commit: the log position given. */
int cli_proto_seq_reply(json_t *reply, int64_t *seq);

/* log.fetch and inbox.fetch: the entries (borrowed) and whether more
 * follow. */
size_t cli_proto_entries_count(json_t *reply);
json_t *cli_proto_entry_at(json_t *reply, size_t i);
int cli_proto_fetch_more(json_t *reply);

enum cli_log_kind { CLI_LOG_OTHER = 0, CLI_LOG_MESSAGE, CLI_LOG_COMMIT, CLI_LOG_PROPOSAL };
#define CLI_LOG_MAX_ADD 64

/* One log entry (PROTOCOL.md §7.5), from a log.fetch page or a log event. */
struct cli_log_entry {
    const char *group;  /* events only; NULL in a page */
    int64_t seq, time;
    enum cli_log_kind kind;
    const char *kind_name;
    const char *sender; /* the server's word, NULL if not given */
    mls_buf message;    /* caller-initialised */
    const char *added[CLI_LOG_MAX_ADD];
    size_t n_added;
};
/* 0, or -1 when seq is missing (the entry cannot be placed at all); other
 * malformations leave message empty and kind_name NULL (skipped in order). */
int cli_proto_log_entry(json_t *e, struct cli_log_entry *out);

/* One invitation (PROTOCOL.md §7.6). */
struct cli_inbox_entry {
    int64_t inbox_id, seq;
    const char *group, *sender;
    mls_buf welcome, group_id; /* caller-initialised */
};
int cli_proto_inbox_entry(json_t *e, struct cli_inbox_entry *out);

/* ---------------------------------------------------------------- invitations */

/* PROTOCOL.md §7.8: an invitation the server keeps for a user who cannot
 * be added yet, and the list of them. */
json_t *cli_proto_invite_pending(const char *group, const char *username);
json_t *cli_proto_invite_list(void);
struct cli_invite {
    int mine;             /* 1: naming us ("invited"); 0: of a group we administer */
    const char *group, *inviter;
    const char *username; /* mine == 0 */
    int ready;            /* mine == 0: the user can be added now */
};
typedef void (*cli_invite_cb)(void *ctx, const struct cli_invite *inv);
int cli_proto_invite_list_reply(json_t *reply, cli_invite_cb cb, void *ctx);
/* The "invite" event: the group (NULL if malformed) and *username. */
const char *cli_proto_invite_event(json_t *ev, const char **username);

/* ---------------------------------------------------------------- events */

enum cli_event_kind {
    CLI_EVENT_OTHER = 0,
    CLI_EVENT_CHALLENGE,
    CLI_EVENT_LOG,
    CLI_EVENT_INBOX,
    CLI_EVENT_INVITE
};
enum cli_event_kind cli_proto_event(json_t *ev);
/* The challenge's nonce (base64 as sent), NULL if missing. */
const char *cli_proto_challenge_nonce(json_t *ev);

#endif
