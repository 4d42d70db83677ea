/*
 * The curses UI's scrollback: one buffer of lines per group, kept for the
 * whole run (at most UI_SB_LINES lines each, UI_SB_GROUPS groups), so a
 * group's system lines (/list, errors, "created #dev") are there again
 * when one switches back.
 *
 * The application shows a group by clearing the screen and replaying its
 * recent stored history; that replay is merged into the group's buffer:
 * stored lines older than the replay stay as deeper scrollback, messages
 * come from the replay (it has the ones that arrived while the group was
 * not on screen), and the buffer's own system lines keep their places by
 * time.  The merge also places the "new since you left" marker before the
 * first of the unread messages.
 */
#ifndef CLI_UI_SCROLLBACK_H
#define CLI_UI_SCROLLBACK_H

#include <stddef.h>
#include <stdint.h>

#define UI_SB_LINES 5000
#define UI_SB_GROUPS 64
/* A line kind of the scrollback's own besides enum cli_line_kind. */
#define UI_LINE_MARKER 100

struct ui_sb_line {
    int kind;       /* enum cli_line_kind or UI_LINE_MARKER */
    int64_t time;   /* Unix seconds, 0 if none */
    char *sender;   /* NULL for system lines */
    char *text;
};

struct ui_sb_group {
    char *name;     /* "" holds lines about no group before there is one */
    struct ui_sb_line *l;
    size_t n, cap;
    int notices;    /* system lines added while another group was on screen */
    uint64_t used;  /* when last on screen (for eviction) */
};

struct ui_sb {
    struct ui_sb_group **g;
    size_t n;
    uint64_t tick;
    const struct ui_sb_group *keep; /* never evicted (the one on screen) */
};

void ui_sb_init(struct ui_sb *sb);
void ui_sb_clear(struct ui_sb *sb);
/* The buffer of a group; create: made when missing (the least recently
 * shown other one is dropped beyond UI_SB_GROUPS).  NULL if not there or
 * out of memory. */
struct ui_sb_group *ui_sb_get(struct ui_sb *sb, const char *name, int create);
/* Marks g as shown now. */
void ui_sb_touch(struct ui_sb *sb, struct ui_sb_group *g);

/* A free-standing group (the replay is collected in one). */
void ui_sb_group_init(struct ui_sb_group *g);
void ui_sb_group_clear(struct ui_sb_group *g);
/* Appends a copy of a line (the oldest goes beyond UI_SB_LINES).  0, or -1
 * when out of memory. */
int ui_sb_add(struct ui_sb_group *g, int kind, int64_t time, const char *sender, const char *text);

/* Merges the replayed history r (emptied) into g, see above, and puts
 * the marker before the last `unread` messages (none when 0). */
void ui_sb_merge(struct ui_sb_group *g, struct ui_sb_group *r, long long unread);

#endif
