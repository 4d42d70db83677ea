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
/* g is caught up: send op if it waits for that. */
void cli_commit_continue(struct cli_commit *op);
/* Our commit is in the log: g takes the state prepared for it (and the
 * operation ends).  0, or -1 when that state is unreadable. */
int cli_commit_adopt(struct cli_session *s, struct cli_grp *g);
void cli_commit_free(struct cli_commit *op);

#endif
