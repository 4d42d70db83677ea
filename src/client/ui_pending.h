/*
 * The curses UI's own messages on their way out (issue 11): shown at once
 * below the group's lines, marked "sending", then "sent", until the log
 * gives them back (then they are ordinary lines in log order), or
 * "not sent" with the server's reason.
 */
#ifndef CLI_UI_PENDING_H
#define CLI_UI_PENDING_H

#include <stddef.h>
#include <stdint.h>

#include "ui_scrollback.h"

struct ui_pending_item {
    int64_t id;
    char *group;
    char *text;              /* as typed (sanitized) */
    int state;               /* enum cli_out_state */
    struct ui_sb_line line;  /* what is drawn: text with its mark */
};

struct ui_pending {
    struct ui_pending_item *it;
    size_t n, cap;
};

void ui_pending_init(struct ui_pending *p);
void ui_pending_clear(struct ui_pending *p);
/* Applies an outgoing event (texts already sanitized); 1 if the group's
 * lines changed, 0 if not, -1 when out of memory.  A failure is moved
 * into the group's scrollback sb as an error line. */
int ui_pending_event(struct ui_pending *p, struct ui_sb *sb, const char *user, const char *group,
                     int64_t id, int state, const char *text, const char *reason, int64_t now);
/* The k-th pending line of group (0 the oldest), NULL past the last. */
const struct ui_sb_line *ui_pending_line(const struct ui_pending *p, const char *group, size_t k);
/* How many lines group has pending. */
size_t ui_pending_count(const struct ui_pending *p, const char *group);

#endif
