/*
 * Session logic: the user's identity and login, KeyPackage pool, groups,
 * catch-up from the server's log, commits (staged, sent with their
 * Welcome, merged only once the server accepted them, retried after
 * "stale_epoch") and the outbox of typed messages.  It owns the MLS
 * objects; the layers above only see names and text.
 *
 * The work is done by the modules listed in core.h; this interface is
 * their facade.  Chat-level MLS choices (documented in README.md, encoded
 * in rules.h):
 *   - handshake and application messages are PrivateMessages;
 *   - GroupContext extension 0xF000 "mlschat group name": struct {
 *     opaque name<V>; } (the group's name on the server);
 *   - GroupContext extension 0xF001 "mlschat administrators": struct {
 *     opaque usernames<V><V>; } (who may add members);
 *   - GroupContext extension 0xF002 "mlschat topic": struct { opaque
 *     topic<V>; } (set by administrators);
 *   - the creator is the first administrator; a commit that adds members
 *     is accepted only from an administrator;
 *   - the signature key of every member's credential must be the key the
 *     server's directory holds for that username.
 */
#ifndef CLI_SESSION_H
#define CLI_SESSION_H

#include <stdint.h>

#include "net.h"
#include "store.h"

struct cli_session;

enum cli_out_state { CLI_OUT_SENDING = 1, CLI_OUT_SENT, CLI_OUT_DONE, CLI_OUT_FAILED };

struct cli_session_events {
    /* A message of a group, in log order; own is 1 for the user's own. */
    void (*message)(void *ctx, const char *group, const char *sender, const char *text,
                    int64_t time, int own);
    /* Information (error = 0) or a problem (error = 1); group may be NULL. */
    void (*notice)(void *ctx, const char *group, int error, const char *text);
    /* We are now a member of group (created or joined). */
    void (*joined)(void *ctx, const char *group);
    /* Connection state, members or groups changed: redraw the status. */
    void (*changed)(void *ctx);
    /* A typed message's way out (may be NULL): SENDING when it is
     * queued, SENT when the server has it, DONE when it came back from
     * the log (message() shows it then), FAILED (reason) when the server
     * refused it for good.  id names the message across the four. */
    void (*outgoing)(void *ctx, const char *group, int64_t id, int state, const char *text,
                     const char *reason);
    /* The session cannot go on (e.g. the username belongs to another
     * key); the client should exit with an error. */
    void (*fatal)(void *ctx, const char *text);
    /* A group asked for (start, /join) does not exist on the server and
     * the user has not agreed to create it: ask (cli_session_create) or
     * refuse.  NULL: refused with a notice. */
    void (*create_ask)(void *ctx, const char *group);
    void *ctx;
};

struct cli_session_config {
    const char *username;
    const char *config_dir; /* the database is <dir>/<user>@<host>_<port>.db */
    const char *server_url;
    const char *ca_file;
    const struct cli_seal_key *data_key; /* seals the store's secrets (seal.h) */
};

/* Opens the store, loads or creates the identity and sets up the
 * network (not yet connected).  err gets a reason on failure. */
int cli_session_new(const struct cli_session_config *cfg, const struct cli_session_events *ev,
                    struct cli_session **out, char *err, size_t errlen);
void cli_session_free(struct cli_session *s);

struct cli_net *cli_session_net(struct cli_session *s);
/* Connects; once logged in, catches up every group and reads the inbox. */
void cli_session_start(struct cli_session *s);
/* Stops reconnecting (quit). */
void cli_session_stop(struct cli_session *s);

/* "connected", "connecting", "offline" ... */
const char *cli_session_connection(const struct cli_session *s);
const char *cli_session_user(const struct cli_session *s);
/* 1 when logged in and nothing is under way that will finish by itself
 * soon: no join, rejoin, commit, catch-up or request in flight, and no
 * typed message waiting for a group it can be sent to.  Messages for a
 * group we are not a member of (yet) do not count. */
int cli_session_idle(const struct cli_session *s);
/* Messages typed and not yet in the server's log; groups (may be NULL)
 * gets "#a, #b" (the groups they are for). */
int cli_session_unsent(const struct cli_session *s, char *groups, size_t max);

enum cli_membership {
    CLI_MEMBERSHIP_UNKNOWN = 0, /* not known yet: not logged in, joining, rejoining */
    CLI_MEMBERSHIP_MEMBER,
    CLI_MEMBERSHIP_WAITING,     /* not a member: waiting for an invitation */
    CLI_MEMBERSHIP_GONE         /* removed, or no longer followed */
};
int cli_session_membership(const struct cli_session *s, const char *group);
/* 1 when logged in. */
int cli_session_online(const struct cli_session *s);
/* Seconds (rounded up) until the next reconnect try, 0 if none is
 * waiting. */
int cli_session_reconnect_in(const struct cli_session *s);
/* Reconnects at once (/reconnect, a key while offline): 1 if a try
 * started, 0 if connected or already connecting. */
int cli_session_reconnect(struct cli_session *s);

/* Joins `group`: through a pending invitation if there is one, else
 * waits for an invitation (and joins by itself when it arrives); a name
 * the server does not know is created only with consent (create_ask). */
void cli_session_join(struct cli_session *s, const char *group);
/* The same, and creates group if the server has no such name (the
 * user's consent: --create, /join --create, or yes to create_ask). */
void cli_session_create(struct cli_session *s, const char *group);
/* 1 if we are a member of group (locally) and the user accepted it. */
int cli_session_is_member(const struct cli_session *s, const char *group);

/* Invitations the user did not ask for (consent.h, README
 * "Invitations"): 1 if group is one waiting for /join or /decline. */
int cli_session_invited(const struct cli_session *s, const char *group);
/* /join of an invitation: 0 accepted (the joined event follows), -1 if
 * group is no pending invitation. */
int cli_session_accept(struct cli_session *s, const char *group);
/* /decline: 0 when leaving it (the /leave path) to forget it, -1 if group
 * is no pending invitation. */
int cli_session_decline(struct cli_session *s, const char *group);
struct cli_invitation {
    const char *group;
    const char *inviter;
    int64_t time; /* wall clock seconds */
};
typedef void (*cli_invitation_cb)(void *ctx, const struct cli_invitation *inv);
/* The pending invitations in joining order (cb may be NULL: counting);
 * returns how many. */
int cli_session_invitations(const struct cli_session *s, cli_invitation_cb cb, void *ctx);

/* Queues text for group (persisted at once) and sends it when possible:
 * also before the group is joined (it goes out, in order, once it is).
 * -1 (and a notice) when it cannot be sent at all. */
int cli_session_send_text(struct cli_session *s, const char *group, const char *text);
/* Adds users to group (administrators only). */
void cli_session_invite(struct cli_session *s, const char *group, char *const *names, size_t n);
/* Commits a fresh leaf key of ours (post-compromise security). */
void cli_session_update(struct cli_session *s, const char *group);
/* /op and /deop (make_admin 0): administrators only. */
void cli_session_set_admin(struct cli_session *s, const char *group, const char *user,
                           int make_admin);
/* /kick: administrators only. */
void cli_session_kick(struct cli_session *s, const char *group, const char *user);
/* Room for a topic and its NUL (rules.h CLI_TOPIC_MAX + 1). */
#define CLI_TOPIC_TEXT_MAX 513
/* /topic text: administrators only (a GroupContextExtensions commit). */
void cli_session_set_topic(struct cli_session *s, const char *group, const char *text);
/* The topic of group as its members agreed on it (the sender's text: the
 * UI sanitizes it), "" when none.  0, or -1 when not a member. */
int cli_session_topic(const struct cli_session *s, const char *group, char *out, size_t max);
/* /leave: a member's departure, committed by an administrator's client. */
void cli_session_leave(struct cli_session *s, const char *group);
/* Why group is no longer followed (a refused commit), or NULL. */
const char *cli_session_refusal(const struct cli_session *s, const char *group);

struct cli_member_info {
    const char *username;
    char fingerprint[80];
    int admin;
    int self;
    int verified; /* 1 matches the directory, 0 not checked yet, -1 MISMATCH */
    int pin;      /* 1 the pinned key, 0 nothing pinned, -1 NOT THE PINNED KEY */
    int pin_verified; /* the pinned key was verified (/verify user ok) */
};
typedef void (*cli_member_cb)(void *ctx, const struct cli_member_info *m);
/* Calls cb for each member of group; returns the count or -1. */
int cli_session_members(struct cli_session *s, const char *group, cli_member_cb cb, void *ctx);
/* Member count, -1 if not a member. */
int cli_session_member_count(const struct cli_session *s, const char *group);

struct cli_group_info {
    const char *name;
    int64_t unread;
    int status;  /* enum cli_group_status */
    int admin;   /* we are an administrator */
    int members;
    uint64_t epoch;
};
typedef void (*cli_group_cb)(void *ctx, const struct cli_group_info *g);
/* Our groups in joining order. */
void cli_session_groups(struct cli_session *s, cli_group_cb cb, void *ctx);
/* The n-th group (1-based) in joining order, NULL if none. */
const char *cli_session_group_at(const struct cli_session *s, int n);
void cli_session_set_unread(struct cli_session *s, const char *group, int64_t unread);
int64_t cli_session_unread(const struct cli_session *s, const char *group);

/* The last `limit` lines of group's history, oldest first (kind is
 * CLI_LINE_* of ui.h). */
typedef void (*cli_history_cb)(void *ctx, int own, const char *sender, const char *text,
                               int64_t time);
void cli_session_history(struct cli_session *s, const char *group, int limit, cli_history_cb cb,
                         void *ctx);

/* Scrolling back over the whole local history, a page at a time: the
 * row id of the oldest of group's last `limit` lines (what
 * cli_session_history gave; 0 when there is none), and a page by row id
 * (store.h, cli_store_history_page), oldest first, cb given each line's
 * row id (rows without a line, e.g. of a commit, are read but not
 * given); first and last get the ids of the first and last row read.
 * The count of rows read, or -1. */
int64_t cli_session_history_boundary(struct cli_session *s, const char *group, int limit);
typedef void (*cli_history_page_cb)(void *ctx, int64_t id, int own, const char *sender,
                                    const char *text, int64_t time);
int cli_session_history_page(struct cli_session *s, const char *group, int older, int64_t id,
                             int64_t bound, int limit, cli_history_page_cb cb, void *ctx,
                             int64_t *first, int64_t *last);

/* The last `limit` messages of group's local history containing text,
 * oldest first. */
void cli_session_search(struct cli_session *s, const char *group, const char *text, int limit,
                        cli_history_cb cb, void *ctx);

#endif
