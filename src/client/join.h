/*
 * Becoming a member: /join decides between joining through a pending
 * invitation (the inbox, PROTOCOL.md §7.6), creating the group, and
 * waiting for an invitation; after login, the groups the server lists
 * us in that we have no usable state of are rejoined.
 */
#ifndef CLI_JOIN_H
#define CLI_JOIN_H

#include <jansson.h>

struct cli_session;
struct cli_grp;

/* /join group (kept until logged in and the inbox was read). */
void cli_join_request(struct cli_session *s, const char *group);
/* Decides now (logged in). */
void cli_join_decide(struct cli_session *s, const char *name);
/* Reads the inbox (after login). */
void cli_join_fetch_inbox(struct cli_session *s);
/* An inbox event. */
void cli_join_on_inbox_event(struct cli_session *s, json_t *ev);
/* Asks the server to create g (again). */
void cli_join_create_send(struct cli_session *s, struct cli_grp *g);
/* The user agrees to create group if the server has no such name. */
void cli_join_allow_create(struct cli_session *s, const char *group);
/* 1 if we wait for an invitation to group. */
int cli_join_is_waiting(const struct cli_session *s, const char *group);

#endif
