/*
 * Our own commits: invite (add members) and update (a fresh leaf key).
 * DESIGN Decision 3: a commit is built, the state after it prepared and
 * saved beside it (rec.pending_commit / pending_state), then sent; the
 * group stays in its epoch until the commit shows up in the log, when
 * the prepared state is adopted.  After stale_epoch the log is read and
 * the commit built again.  An invite first claims a KeyPackage of each
 * user and checks it against the directory.
 */
#ifndef CLI_GCOMMIT_H
#define CLI_GCOMMIT_H

#include <stddef.h>

struct cli_session;
struct cli_grp;
struct cli_commit;

/* /invite names... (administrators only). */
void cli_commit_invite(struct cli_session *s, const char *group, char *const *names, size_t n);
/* /update. */
void cli_commit_update(struct cli_session *s, const char *group);
/* /op user (make_admin 1) and /deop user (0): a GroupContextExtensions
 * commit of the administrators extension (administrators only; the last
 * administrator cannot drop itself). */
void cli_commit_set_admin(struct cli_session *s, const char *group, const char *user,
                          int make_admin);
/* /topic text: a GroupContextExtensions commit of the topic extension
 * (administrators only, at most CLI_TOPIC_MAX bytes). */
void cli_commit_topic(struct cli_session *s, const char *group, const char *text);
/* /kick user: an MLS Remove (administrators only); an administrator
 * kicked also leaves the administrators extension. */
void cli_commit_kick(struct cli_session *s, const char *group, const char *user);
/* /leave: a self-remove proposal (RFC 9420 §12.1.3) sent with group.send,
 * sent again in each new epoch until an administrator's client commits
 * it; an administrator may leave only when another one is a member. */
void cli_commit_leave(struct cli_session *s, const char *group);
/* g is caught up: propose our departure again in a new epoch; as an
 * administrator, commit the departures members proposed. */
void cli_commit_roles_tick(struct cli_session *s, struct cli_grp *g);
/* What the user sees when our commit under way shows up in the log
 * (NULL: the generic line). */
const char *cli_commit_done_text(const struct cli_grp *g);
/* g is caught up: send op if it waits for that. */
void cli_commit_continue(struct cli_commit *op);
/* Our commit is in the log: g takes the state prepared for it (and the
 * operation ends).  0, or -1 when that state is unreadable. */
int cli_commit_adopt(struct cli_session *s, struct cli_grp *g);
void cli_commit_free(struct cli_commit *op);

#endif
