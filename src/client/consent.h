/*
 * Consent to a group (issue 11, README "Invitations"): a Welcome to a
 * group the user did not ask for (not the group on the command line, not
 * one opened with /join, not one the user already had) is processed: the
 * client becomes an MLS member, so its KeyPackage's private keys go as
 * for any join (RFC 9420 §16.8), but the group stays INVITED: followed,
 * its messages stored, nothing shown, not among the user's groups, until
 * /join accepts it or /decline leaves it (the /leave path) and forgets it.
 * The state is the group row's (store.h enum cli_consent), so it survives
 * restarts.
 */
#ifndef CLI_CONSENT_H
#define CLI_CONSENT_H

#include <stdint.h>

#include "session.h"

struct cli_grp;

/* 1 when the user asked for group: waited for (the command line, /join),
 * a /join not decided yet, or a group this client had (old, not one it
 * declined). */
int cli_consent_asked(const struct cli_session *s, const char *group, const struct cli_grp *old);
/* 1 when g is shown to the user (accepted). */
int cli_consent_shown(const struct cli_grp *g);
/* g was just joined through an invitation from inviter that the user did
 * not ask for: marks it INVITED (the caller saves it). */
void cli_consent_mark_invited(struct cli_grp *g, const char *inviter);
/* Tells the user about g's invitation ("alice invited you to #x: ..."). */
void cli_consent_announce(struct cli_session *s, const struct cli_grp *g);
/* /join of an INVITED group: 0 accepted (the group opens: joined event),
 * -1 when group is not an invitation (or cannot be saved; said). */
int cli_consent_accept(struct cli_session *s, const char *group);
/* /decline: 0 when group was an invitation, now leaving; -1 otherwise. */
int cli_consent_decline(struct cli_session *s, const char *group);
/* A declined group's departure was committed: its row and history go. */
void cli_consent_forget(struct cli_session *s, struct cli_grp *g);
/* At start, a loaded group: one not accepted is forgotten once it was
 * left or removed (1: the caller drops g); a declined one still a member
 * proposes its departure again (0). */
int cli_consent_loaded(struct cli_session *s, struct cli_grp *g);

/* The pending invitations in joining order (cb may be NULL); returns how
 * many. */
int cli_consent_each(const struct cli_session *s, cli_invitation_cb cb, void *ctx);

#endif
