/*
 * Group sync: a group's log processed strictly in sequence from its
 * cursor (PROTOCOL.md §7.5 client rule), from live events and from
 * log.fetch pages; the catch-up after logging in; what an entry does to
 * the group (messages shown, commits checked against the chat's rules).
 * The new MLS state, the cursor and the history rows of an entry are
 * saved in one transaction (DESIGN Decision 4).
 */
#ifndef CLI_SYNC_H
#define CLI_SYNC_H

#include <jansson.h>

struct cli_session;
struct cli_grp;

/* Reads g's log from its cursor (again, if a read is out). */
void cli_sync_fetch(struct cli_session *s, struct cli_grp *g);
/* A log event (PROTOCOL.md §7.5). */
void cli_sync_on_log_event(struct cli_session *s, json_t *ev);
/* g is caught up, or changed while caught up: run what waited for it
 * (a prepared commit, the outbox). */
void cli_sync_after_change(struct cli_session *s, struct cli_grp *g);
/* g's state can no longer follow the log: rejoin by an external commit. */
void cli_sync_mark_broken(struct cli_session *s, struct cli_grp *g, const char *why);
/* The connection is gone: every group catches up again after login. */
void cli_sync_disconnected(struct cli_grp *g);

/*
 * The last piece of a catch-up page may still be verifying when its page
 * is committed ("carried piece", sync.c): it is settled (verified, stored
 * and shown in a transaction of its own) before anything else runs on
 * the client, except the reply with the next page of its group, which
 * takes it into its own transaction.  cli_sync_before is the event loop's
 * hook for that (net.h, before); cli_sync_settle settles g's at once;
 * cli_sync_carry_drop abandons it (the group back as before the piece,
 * the cursor before it: the piece is read again), before g->mls is freed
 * or replaced.
 */
void cli_sync_before(struct cli_session *s, void (*cb)(void *cb_ctx, json_t *reply), void *cb_ctx);
void cli_sync_settle(struct cli_session *s, struct cli_grp *g);
void cli_sync_carry_drop(struct cli_grp *g);

#endif
