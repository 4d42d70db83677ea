/*
 * Rejoining.  A group we are on the roster of but whose MLS state we
 * cannot use (lost, unreadable, or a commit we cannot process) is rejoined
 * by an external commit (RFC 9420 §12.4.3.2) from the GroupInfo the server
 * keeps (PROTOCOL.md §7.2), removing our old leaf in the same commit.  It
 * is sent like any commit: the external commit and the state after it are
 * saved first (a restart sends the same bytes again, which the server
 * recognises if it accepted them, PROTOCOL.md §7.7), adopted when the
 * server accepts it, and rebuilt from a newer GroupInfo after
 * stale_epoch.  Messages of the epochs we missed cannot be read.
 */
#ifndef CLI_REJOIN_H
#define CLI_REJOIN_H

struct cli_session;
struct cli_grp;

/* Starts (or resumes) rejoining g (phase REJOINING). */
void cli_rejoin_start(struct cli_session *s, struct cli_grp *g);
/* The server lists us as a member of name, and we have no usable state
 * of it. */
void cli_rejoin_named(struct cli_session *s, const char *name);

#endif
