/*
 * Inside the session: the state its modules share, not seen by the UI or
 * the commands (they use session.h).
 *
 *   session.c    the facade of session.h, network events
 *   groups.c     group objects, persistence, the phase machine
 *   account.c    identity, login, KeyPackage pool
 *   join.c       create, join through the inbox, wait for an invitation
 *   sync.c       a group's log, strictly in order from the cursor
 *   gcommit.c    our own commits (invite, update)
 *   rejoin.c     rejoining by an external commit
 *   outbox.c     typed messages, in order, through the rate limit
 *   invites.c    invitations the server keeps for users not addable yet
 *   consent.c    invitations the user did not ask for: /invites, /join, /decline
 *   directory.c  members' keys against the server's directory
 *   protocol.c   the JSON protocol;  rules.c  the chat's own rules
 */
#ifndef CLI_CORE_H
#define CLI_CORE_H

#include <stdint.h>

#include "mls/group.h"
#include "net.h"
#include "outbox.h"
#include "protocol.h"
#include "rules.h"
#include "session.h"
#include "store.h"
#include "util.h"

#define CLI_SUITE MLS_SUITE_X25519_AES128GCM_SHA256_ED25519
#define CLI_MAX_COMMIT_RETRIES 8
#define CLI_MAX_WAITING 16

/*
 * A group's phase.  Every change goes through cli_phase_set, which
 * refuses a transition not in the table of groups.c:
 *
 *   NEW          -> CREATING | CATCHING_UP | REJOINING | REMOVED | REFUSED
 *   CREATING     -> CATCHING_UP | MEMBER            (the server has it)
 *   CATCHING_UP  -> MEMBER | COMMITTING | CREATING | REJOINING | REMOVED | REFUSED
 *   MEMBER       -> CATCHING_UP | COMMITTING | REJOINING | REMOVED | REFUSED
 *   COMMITTING   -> MEMBER | CATCHING_UP | REJOINING | REMOVED | REFUSED
 *   REJOINING    -> CATCHING_UP | STUCK | REMOVED
 *   STUCK, REMOVED, REFUSED: final for this run (a new invitation makes
 *   a new group object).
 */
enum cli_phase {
    CLI_PHASE_NEW = 0,    /* just made, nothing decided */
    CLI_PHASE_CREATING,   /* made here; the server has not confirmed group.create */
    CLI_PHASE_CATCHING_UP,/* a member reading the log up to its end */
    CLI_PHASE_MEMBER,     /* a member, caught up: messages and commits go out */
    CLI_PHASE_COMMITTING, /* a member; a commit of ours is out, its next state saved */
    CLI_PHASE_REJOINING,  /* our state is unusable: rejoining by an external commit */
    CLI_PHASE_STUCK,      /* rejoining failed for a reason a retry does not fix */
    CLI_PHASE_REMOVED,    /* removed from the group (kept for its history) */
    CLI_PHASE_REFUSED     /* a member broke the chat's rules: no longer followed */
};
#define CLI_PHASE_COUNT (CLI_PHASE_REFUSED + 1)

const char *cli_phase_name(enum cli_phase p);
/* 1 if the table allows from -> to (a phase to itself is allowed). */
int cli_phase_allowed(enum cli_phase from, enum cli_phase to);
/* The status saved in the store for a phase (enum cli_group_status). */
int cli_phase_status(enum cli_phase p);

struct cli_commit;

/* Reading the log: a log.fetch is out (fetching), another is wanted
 * after it (refetch), or the server asked us to wait (wait, timer).
 * gap_delay: seconds before reading again after the server answered a
 * page with a hole in the sequence (0: no hole seen; doubles up to
 * SYNC_GAP_MAX_DELAY). */
struct cli_sync {
    int fetching, refetch, wait;
    int64_t after;          /* the cursor the log.fetch in flight reads after */
    unsigned gap_delay;
    struct cli_timer timer;
    struct sync_carry *carry; /* a piece still verifying (sync.h) */
};

struct cli_grp {
    struct cli_grp *next;
    struct cli_session *s;
    struct cli_group_rec rec;
    mls_group *mls;
    enum cli_phase phase;
    struct cli_sync sync;
    struct cli_outbox out;
    struct cli_commit *op;   /* an invite or update under way */
    int rejoin_busy;         /* a group.info or external commit is out */
    int rejoin_tries;        /* after stale_epoch */
    int leaving;             /* /leave: our self-remove proposal goes out each epoch */
    uint64_t leave_epoch;    /* the epoch it was last proposed in */
    uint64_t pending_refused;/* epoch + 1 whose departures the server refused to commit */
    char refusal[256];       /* why a commit was refused (phase REFUSED), for /list */
    int state_unverified;    /* rec.state was filled by a rejoin with nothing to check it by */
};

/* Context of one request that needs more than the session. */
struct cli_req {
    struct cli_req *next, **prevp;
    struct cli_session *s;
    struct cli_grp *g; /* NULL once the group is gone */
    char name[65];
    char user[33];
    int64_t id;
    mls_buf key;
};

struct cli_session {
    struct cli_session_events ev;
    struct cli_store *store;
    struct cli_net *net;
    const mls_env *env;
    struct cli_identity ident;
    mls_identity *id;
    mls_group_config cfg;

    int open, authed, auth_tries;
    int ever_authed; /* logged in at least once in this run */
    int login_after_taken; /* register said username_taken: trying login */
    char taken_msg[256];   /* the server's words then */
    int listed;      /* group.list asked since this login */
    char conn[80];
    char last_close[128]; /* the last reason a connection failed */
    struct cli_grp *groups;
    struct cli_req *reqs;
    char waiting[CLI_MAX_WAITING][65]; /* groups waiting for an invitation */
    size_t n_waiting;
    char joins[CLI_MAX_WAITING][65];   /* /join requests to run once logged in */
    size_t n_joins;
    /* Groups the user agreed to create if the server has no such name
     * (--create, /join --create, or yes to the question). */
    char create_ok[CLI_MAX_WAITING][65];
    size_t n_create_ok;
    int inbox_busy;
    int inbox_again;
    int kp_busy;
    mls_buf lr_ref; /* ref of the last-resort KeyPackage being uploaded */
    struct cli_timer kp_timer;
    int64_t join_order;
    int invites_busy, invites_again, invites_tries; /* invite.list (invites.c) */
    struct cli_timer invites_timer;
    char *db_path; /* the store's file (a /nick links the new name to it) */
};

/* ---------------------------------------------------------------- session.c */

void cli_notice(struct cli_session *s, const char *group, int error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void cli_changed(struct cli_session *s);
void cli_joined(struct cli_session *s, const char *group);

/* A request context (freed by cli_req_free, or by cli_req_send when the
 * request cannot be sent). */
struct cli_req *cli_req_new(struct cli_session *s, struct cli_grp *g, const char *name);
void cli_req_free(struct cli_req *r);
int cli_req_send(struct cli_session *s, json_t *req, cli_net_reply_cb cb, struct cli_req *r);

/* ---------------------------------------------------------------- groups.c */

struct cli_grp *cli_grp_find(const struct cli_session *s, const char *name);
/* 1 when g has a usable MLS state and follows the log. */
int cli_grp_active(const struct cli_grp *g);
/* 1 when g is caught up (MEMBER or COMMITTING). */
int cli_grp_synced(const struct cli_grp *g);
struct cli_grp *cli_grp_add(struct cli_session *s, const char *name);
/* Unlinks and frees g (replies on their way then find r->g NULL). */
void cli_grp_remove(struct cli_session *s, struct cli_grp *g);
void cli_grp_free_all(struct cli_session *s);
/* Changes g's phase; -1 (logged, nothing changed) if not allowed. */
int cli_phase_set(struct cli_grp *g, enum cli_phase to);
/* Serializes the live MLS state into rec.state. */
int cli_grp_snapshot(struct cli_grp *g);
/* Reloads the live MLS state from rec.state (after a refused change). */
int cli_grp_reload(struct cli_session *s, struct cli_grp *g);
int cli_grp_save(struct cli_session *s, struct cli_grp *g);
/* Our commit is settled (adopted, refused, or beaten): the pending pair
 * goes, and COMMITTING becomes MEMBER. */
void cli_grp_commit_settled(struct cli_grp *g);
/* Chat extensions of a live group. */
int cli_grp_is_admin(const mls_group *m, const char *user);
int cli_grp_name_of(const mls_group *m, char *out, size_t max);
/* The username of the member at leaf ("" if none); a credential's
 * identity as a printable name. */
void cli_member_name(const mls_group *m, uint32_t leaf, char *out, size_t max);
void cli_bytes_to_name(mls_bytes b, char *out, size_t max);

#endif
