/*
 * Pending invitations (PROTOCOL.md §7.8, issue 11): inviting a user who
 * cannot be added yet (never started the client, or has no KeyPackage
 * left) leaves the invitation with the server; an administrator's client
 * adds the user once it can (told by the "invite" event, or finding it at
 * login), and the invitee's client says on its first start that an
 * invitation is waiting.
 */
#ifndef CLI_INVITES_H
#define CLI_INVITES_H

#include <jansson.h>

struct cli_session;

/* username cannot be added to group now (why): asks the server to keep
 * the invitation. */
void cli_invites_keep(struct cli_session *s, const char *group, const char *username,
                      const char *why);
/* After login: adds the users of pending invitations who can be added
 * now, and tells the user about invitations waiting for it. */
void cli_invites_check(struct cli_session *s);
/* The "invite" event. */
void cli_invites_on_event(struct cli_session *s, json_t *ev);

#endif
