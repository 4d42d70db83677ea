/*
 * Delivery rules (docs/PROTOCOL.md §3-§7): directory, KeyPackages, groups,
 * first-commit-wins, the ordered log and the inbox, and every access rule
 * (who may send which request, what a non-member sees).  Works on decoded
 * requests through a narrow context: the store interface, the limits it
 * enforces, a clock, and an event sink the transport installs.  It knows
 * nothing of JSON, sockets or connections, and calls nothing above it.
 *
 * Every request runs inside a change (srv_logic_change_begin .. _end) of
 * the turn's batch: on failure the caller ends the change with keep = 0,
 * so a refused request changes nothing.  Functions that act for a user
 * take the authenticated caller; NULL means "not logged in" and is
 * refused with CHAT_ERR_UNAUTHENTICATED.  Outputs are written only on
 * success (return 0); a refusal returns -1 with *e filled in.
 */
#ifndef SRV_LOGIC_H
#define SRV_LOGIC_H

#include "proto.h"
#include "ratelimit.h"
#include "store.h"

/* A refusal: a stable code from docs/PROTOCOL.md §8, a readable message,
 * at most one extra integer field, and for invalid_commit the rule that
 * failed (§7.4). */
typedef struct srv_err {
    enum chat_err code;
    char message[256];
    const char *extra_key;
    int64_t extra;
    enum chat_rule rule; /* CHAT_RULE_UNKNOWN: none */
} srv_err;

int srv_refuse(srv_err *e, enum chat_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* invalid_commit with its rule. */
int srv_refuse_rule(srv_err *e, enum chat_rule rule, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int srv_valid_username(const char *name);
int srv_valid_group_name(const char *name);

/* What logic tells the transport: an accepted log entry for the listed
 * users (a commit's: the roster before the change, ordered by user id;
 * users == NULL for a message or proposal, which change no roster: the
 * members on the roster now, srv_logic_roster_ids), and a new inbox
 * entry for one user.  Called inside the change; the transport holds what
 * it sends until the batch commits (docs/PROTOCOL.md §10). */
typedef struct srv_event_sink {
    void (*on_log)(void *ctx, const srv_group *g, const srv_log_entry *entry,
                   const int64_t *users, size_t n_users);
    void (*on_inbox)(void *ctx, int64_t user_id, const srv_inbox_entry *entry);
    /* username, invited to group while it could not be added, can be
     * added now (it published KeyPackages): for the listed users (the
     * group's administrators on the roster). */
    void (*on_invite)(void *ctx, const char *group, const char *username, const int64_t *users,
                      size_t n_users);
    void *ctx;
} srv_event_sink;

/* Wall-clock Unix seconds (stored times, lifetimes, retention) and
 * monotonic microseconds (rate limits). */
typedef struct srv_clock {
    int64_t (*wall)(void *ctx);
    int64_t (*mono_us)(void *ctx);
    void *ctx;
} srv_clock;

/* The limits logic enforces (docs/PROTOCOL.md §11); for every rate and
 * bound, 0 means none. */
typedef struct srv_limits {
    double claim_rate;  /* KeyPackage claims per minute per requester */
    int64_t retention;  /* seconds a log entry is kept; 0 keeps all */
    int64_t kp_ttl;     /* seconds a KeyPackage is kept; 0 keeps all */
    int64_t name_reserve; /* seconds a name given up by a rename stays its
                           * user's; 0: freed at once */
    double claim_target_rate; /* claims per minute of one target's KeyPackages */
    double last_resort_rate;  /* last-resort handouts per hour per target */
    double invite_rate;       /* Welcome recipients per minute per inviter */
    int64_t inbox_max;        /* inbox entries per recipient */
    int64_t inbox_max_bytes;  /* Welcome and GroupInfo bytes per recipient */
    int64_t inbox_ttl;        /* seconds an inbox entry is kept; 0 keeps all */
    size_t page_bytes;        /* byte budget of one log.fetch / inbox.fetch page */
} srv_limits;

typedef struct srv_logic {
    srv_store *store;
    /* libmls environment of the public group views (KeyPackage lifetimes
     * are checked at env->now); NULL: mls_env_default(). */
    const mls_env *env;
    srv_limits limits;
    srv_clock clock;
    srv_event_sink sink;
    /* Per-target KeyPackage buckets (key: the target's user id). */
    srv_bucket_map target_claims, last_resort;
} srv_logic;

/* Frees what the logic allocated for its limits (not the store). */
void srv_logic_clear(srv_logic *L);

/* The system clock: time(2) and the monotonic clock. */
srv_clock srv_clock_system(void);

/* ------------------------------------------------------------ transactions */

/* The turn's batch (store.h): begin, and commit (rolled back on failure,
 * which returns -1). */
int srv_logic_batch_begin(srv_logic *L);
int srv_logic_batch_commit(srv_logic *L);
/* 1 when a COMMIT is durable only after srv_logic_batch_sync (SQLite:
 * store.h "sync"), 0 when it is durable when it returns. */
int srv_logic_batch_syncs(const srv_logic *L);
/* Makes every batch committed so far durable (the database thread's
 * job); -1 on failure, which is final (health reports it).  checkpoint:
 * then also checkpoint the WAL (no batch may begin until it returned). */
int srv_logic_batch_sync(srv_logic *L, int checkpoint);
/* 1 when the next sync should checkpoint the WAL (store.h). */
int srv_logic_checkpoint_due(srv_logic *L);
/* Undoes the turn's batch (a harness without a transport). */
int srv_logic_batch_rollback(srv_logic *L);
/* One request's change inside the batch; keep = 0 undoes it. */
int srv_logic_change_begin(srv_logic *L, srv_err *e);
int srv_logic_change_end(srv_logic *L, int keep, srv_err *e);

/* ------------------------------------------------------------ access */

/* Who may send a request type (docs/PROTOCOL.md §3): refuses a type that
 * needs login on a connection that has none, and register / login on one
 * that has. */
int srv_logic_admit(enum chat_req type, int logged_in, srv_err *e);
/* 1 if the type is only allowed before login (register, login). */
int srv_logic_is_login(enum chat_req type);
/* The authenticated connection's user, as stored now. */
int srv_logic_caller(srv_logic *L, int64_t user_id, srv_user *out, srv_err *e);

/* ------------------------------------------------------------ directory */

int srv_logic_register(srv_logic *L, const char *username, uint16_t suite, mls_bytes key,
                       srv_user *out, srv_err *e);
/* The user a login names (the caller then checks the signature). */
int srv_logic_login_user(srv_logic *L, const char *username, srv_user *out, srv_err *e);
/* user.lookup: by user id when username is NULL. */
int srv_logic_user_lookup(srv_logic *L, const char *username, int64_t user_id, srv_user *out,
                          srv_err *e);
int srv_logic_rename(srv_logic *L, srv_user *caller, const char *username, srv_err *e);

/* ------------------------------------------------------------ KeyPackages */

int srv_logic_kp_upload(srv_logic *L, const srv_user *caller, const mls_bytes *kps, size_t n,
                        int last_resort, srv_err *e);
/* kp.count: one-time KeyPackages stored and whether a last-resort one is. */
int srv_logic_kp_status(srv_logic *L, const srv_user *caller, int64_t *count, int *last_resort,
                        srv_err *e);
/* claims: the requester's claim-rate bucket, or NULL for none. */
int srv_logic_kp_claim(srv_logic *L, const srv_user *caller, srv_bucket *claims,
                       const char *username, srv_user *target, mls_buf *kp, int *last_resort,
                       srv_err *e);

/* ------------------------------------------------------------ groups */

/* group_info: the creator's GroupInfo of the new group (docs/PROTOCOL.md
 * §7.1), from which the group's public view is built. */
int srv_logic_group_create(srv_logic *L, const srv_user *caller, const char *name,
                           mls_bytes gid, uint64_t epoch, mls_bytes group_info, srv_group *out,
                           srv_err *e);
/* The group's current roster: its user ids in order (malloc'd), or -1. */
int srv_logic_roster_ids(srv_logic *L, int64_t ref, int64_t **ids, size_t *n);
/* 1 if the user is on the group's roster now, 0 if not, -1 on a store
 * error. */
int srv_logic_on_roster(srv_logic *L, int64_t ref, int64_t user_id);
/* Finds a group by name (or by group id when name is NULL). */
int srv_logic_group_find(srv_logic *L, const char *name, mls_bytes gid, srv_group *out,
                         srv_err *e);

/* What group.info shows the caller (docs/PROTOCOL.md §7.2).  Everyone
 * sees whether the group exists and, if it does, its public fields; the
 * roster and the GroupInfo only a current member sees. */
typedef struct srv_group_view {
    int exists;
    srv_group group;
    char admin[SRV_NAME_MAX + 1];
    uint64_t first_seq;
    int member; /* the caller is on the roster */
    enum srv_role role;
    srv_member *members; /* members only; malloc'd */
    size_t n_members;
    int has_group_info; /* members only, when a committer supplied one */
    mls_buf group_info;
} srv_group_view;

void srv_group_view_init(srv_group_view *v);
void srv_group_view_clear(srv_group_view *v);
/* By name, or by group id when name is NULL.  A group that does not exist
 * is not an error: v->exists = 0. */
int srv_logic_group_info(srv_logic *L, const srv_user *caller, const char *name, mls_bytes gid,
                         srv_group_view *v, srv_err *e);
/* group.list: the caller's groups with its membership in each. */
int srv_logic_group_list(srv_logic *L, const srv_user *caller, srv_group_cb cb, void *ctx,
                         srv_err *e);

typedef struct srv_welcome_req {
    mls_bytes welcome;
    /* Optional: if given, must equal the recipients the server derives
     * from the Welcome's KeyPackageRefs. */
    const char **recipients;
    size_t n_recipients;
} srv_welcome_req;

typedef struct srv_commit_req {
    const char *group;
    uint64_t epoch;
    mls_bytes commit;
    const srv_welcome_req *welcomes;
    size_t n_welcomes;
    mls_bytes group_info; /* n == 0 when absent (refused: rule group_info) */
    mls_bytes msg_id;     /* n == 0 when absent */
} srv_commit_req;

/* *duplicate = 1 when the request repeats one already accepted
 * (docs/PROTOCOL.md §7.7): the original seq and epoch are returned and
 * nothing is stored or pushed.  Otherwise the commit is validated with the
 * group's public view (§7.4, src/server/validate.h); an accepted commit
 * produces one on_log event and one on_inbox event per Welcome recipient,
 * and the roster, epoch, GroupInfo and view follow it.  group.send of a
 * proposal is validated the same way. */
int srv_logic_commit(srv_logic *L, const srv_user *caller, const srv_commit_req *req,
                     uint64_t *seq, uint64_t *new_epoch, int *duplicate, srv_err *e);
int srv_logic_send(srv_logic *L, const srv_user *caller, const char *group, mls_bytes msg,
                   mls_bytes msg_id, uint64_t *seq, uint64_t *epoch, int *duplicate,
                   srv_err *e);

/* log.fetch: calls cb for the caller's visible entries with seq > after,
 * at most limit and, after the first, only while the page stays within
 * limits.page_bytes (an entry counts as its base64 size plus 512);
 * *last_seq is the last seq the caller may see and *more whether visible
 * entries beyond the page exist (the next page starts after the last seq
 * delivered). */
int srv_logic_fetch(srv_logic *L, const srv_user *caller, const char *group, uint64_t after,
                    int limit, srv_log_cb cb, void *ctx, srv_group *g, uint64_t *last_seq,
                    int *more, srv_err *e);

/* ------------------------------------------------------------ inbox */

/* inbox.fetch: the caller's entries with id > after, at most limit and
 * within limits.page_bytes as for srv_logic_fetch; *more when entries
 * beyond the page exist. */
int srv_logic_inbox_list(srv_logic *L, const srv_user *caller, int64_t after, int limit,
                         srv_inbox_cb cb, void *ctx, int *more, srv_err *e);
/* The invitation limit: a commit welcoming n users takes n from the
 * inviter's bucket (limits.invite_rate per minute, burst of a minute's
 * worth), or is refused rate_limited with retry_after. */
int srv_logic_invite_admit(srv_logic *L, srv_bucket *invites, size_t n, srv_err *e);
/* Acks the caller's entries; ids of others or gone are not an error. */
int srv_logic_inbox_ack(srv_logic *L, const srv_user *caller, const int64_t *ids, size_t n,
                        int64_t *acked, srv_err *e);

/* ------------------------------------------------------------ pending invitations */

/* At most this many pending invitations per group. */
#define SRV_PENDING_MAX 100

/* invite.pending (docs/PROTOCOL.md §7.8): an administrator of group
 * invites username, who cannot be added yet (not registered, or without
 * KeyPackages); kept until a commit adds username. */
int srv_logic_invite_pending(srv_logic *L, const srv_user *caller, const char *group,
                             const char *username, srv_err *e);
/* invite.list: the pending invitations of the groups the caller
 * administers (mine = 0; ready = 1 when the user can be added now: it is
 * registered and has a KeyPackage), then those naming the caller
 * (mine = 1). */
typedef int (*srv_invite_cb)(void *ctx, const srv_pending *p, int ready, int mine);
int srv_logic_invite_list(srv_logic *L, const srv_user *caller, srv_invite_cb cb, void *ctx,
                          srv_err *e);
/* After the caller published KeyPackages: tells the administrators of
 * each group that invited it (sink on_invite). */
int logic_invites_ready(srv_logic *L, const srv_user *caller, srv_err *e);
/* A commit added username to group ref: its pending invitation is done. */
int logic_invites_done(srv_logic *L, int64_t ref, const char *username, srv_err *e);

/* ------------------------------------------------------------ operations */

/* Deletes what the retention limits expire (in its own change). */
int srv_logic_purge(srv_logic *L, srv_purge_counts *counts);
/* Bytes the store uses on disk, or -1; *wal (may be NULL) the WAL's part. */
int64_t srv_logic_store_bytes(srv_logic *L, int64_t *wal);
/* 0 while the store takes writes; -1 with *why when it was moved or
 * deleted under the server or its last commit failed. */
int srv_logic_health(srv_logic *L, const char **why);
/* Checkpoints and truncates the WAL (call outside a batch). */
int srv_logic_checkpoint(srv_logic *L);
/* Forgets idle per-target buckets. */
void srv_logic_sweep(srv_logic *L);

#endif
