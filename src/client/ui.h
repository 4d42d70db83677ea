/*
 * The user interface: a full-screen ncursesw UI for terminals
 * (ui_curses.c) and a plain line mode for scripts (ui_line.c).  The UI
 * shows lines and a status, and hands typed lines up; it knows nothing of
 * MLS, the network or the store.  Both UIs pass every string they are
 * given through the sanitizer (textsafe.h) before it reaches the
 * terminal: callers hand over text as they have it.
 */
#ifndef CLI_UI_H
#define CLI_UI_H

#include <stddef.h>
#include <stdint.h>

enum cli_line_kind {
    CLI_LINE_MESSAGE = 1, /* "#group <sender>  text" */
    CLI_LINE_OWN,         /* the same, sent by this user */
    CLI_LINE_SYSTEM,      /* joins, removals, invitations, information */
    CLI_LINE_ERROR        /* something went wrong */
};

struct cli_ui_status {
    const char *user;
    const char *group;      /* current group, NULL if none */
    const char *connection; /* "connected", "connecting", ... */
    int members;            /* of the current group, -1 if unknown */
    /* Other groups, space-separated "N:#name" or "N:#name(unread)"; may
     * be "".  The curses UI reads the unread count of the group it
     * switches to from here (its "new since you left" marker). */
    const char *others;
    int queued;             /* typed messages not yet in the server's log */
    const char *topic;      /* the current group's topic (raw), NULL if none */
};

struct cli_ui_callbacks {
    /* A line the user typed (without newline, UTF-8). */
    void (*on_input)(void *ctx, const char *line);
    /* End of input (line mode). */
    void (*on_eof)(void *ctx);
    /* Alt+N: switch to the N-th group (1-based). */
    void (*on_switch_index)(void *ctx, int n);
    /* Tab: before is the input up to the cursor (UTF-8); out gets what
     * replaces its last word.  1 when out is set, 0 when nothing fits. */
    int (*on_complete)(void *ctx, const char *before, char *out, size_t max);
    /* The answer to ask(): 1 yes, 0 no (n, Esc, Enter). */
    void (*on_answer)(void *ctx, int yes);
    /* Scrolling back past the oldest line (curses): a page of group's
     * stored history is given through page_line() before this returns,
     * oldest first: older 1, the `limit` rows just before row id (0:
     * before the rows the last switch replayed); older 0, those just
     * after row id and before the replayed ones.  first and last get the
     * ids of the first and last row read; returns the rows read or -1. */
    int (*on_page)(void *ctx, const char *group, int older, int64_t id, int limit,
                   int64_t *first, int64_t *last);
    /* A key was pressed (curses; while offline it reconnects at once). */
    void (*on_key)(void *ctx);
    void *ctx;
};

struct cli_ui;

struct cli_ui_ops {
    /* Takes over the terminal / stdin. */
    int (*start)(struct cli_ui *ui);
    /* Gives the terminal back. */
    void (*stop)(struct cli_ui *ui);
    /* stdin is readable. */
    void (*readable)(struct cli_ui *ui);
    /* The terminal size changed. */
    void (*resize)(struct cli_ui *ui);
    /* Shows a line.  group may be NULL (not about one group: the curses
     * UI keeps it with the group on screen); sender is NULL for system
     * and error lines; time is Unix seconds.  A system line for a group
     * not on screen is kept in that group's scrollback and marks it. */
    void (*show)(struct cli_ui *ui, enum cli_line_kind kind, const char *group,
                 const char *sender, const char *text, int64_t time);
    /* Another group is about to be shown: the lines shown from here to
     * the next status() are its recent stored history (the curses UI
     * merges them into the group's own scrollback; line mode ignores
     * it). */
    void (*clear)(struct cli_ui *ui);
    void (*status)(struct cli_ui *ui, const struct cli_ui_status *st);
    void (*free)(struct cli_ui *ui);
    /* A typed message's way out (enum cli_out_state of session.h); NULL
     * when the UI shows a message only once it is back from the log
     * (line mode).  The curses UI shows it at once, marked "sending",
     * then "sent", or "not sent" with the reason, until DONE (then
     * show() has it in log order). */
    void (*pending)(struct cli_ui *ui, const char *group, int64_t id, int state,
                    const char *text, const char *reason);
    /* A yes/no question in place of the input line until answered
     * (on_answer); NULL where nobody can answer (line mode). */
    void (*ask)(struct cli_ui *ui, const char *question);
    /* Ctrl-Z (SIGTSTP): gives the terminal back, stops, takes it again
     * when continued; NULL in line mode (the default action stops it). */
    void (*suspend)(struct cli_ui *ui);
    /* A line of a page on_page asked for (NULL in line mode). */
    void (*page_line)(struct cli_ui *ui, int64_t id, enum cli_line_kind kind, const char *sender,
                      const char *text, int64_t time);
};

struct cli_ui {
    const struct cli_ui_ops *ops;
    struct cli_ui_callbacks cb;
    /* 1: every group's lines are shown in one stream (line mode); 0: only
     * the current group's (others count as unread). */
    int all_groups;
};

struct cli_ui *cli_ui_line_new(const struct cli_ui_callbacks *cb);
struct cli_ui *cli_ui_curses_new(const struct cli_ui_callbacks *cb);

#endif
