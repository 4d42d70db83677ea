/*
 * Inside the curses UI: the state ui_curses.c (drawing, lines, status,
 * the terminal) and ui_input.c (the input line, keys, paste, questions)
 * share.  Not seen outside those two files.
 */
#ifndef CLI_UI_CURSES_INT_H
#define CLI_UI_CURSES_INT_H

#include <stdint.h>
#include <wchar.h>

#include <curses.h>

#include "ui.h"
#include "ui_archive.h"
#include "ui_paste.h"
#include "ui_pending.h"
#include "ui_scrollback.h"
#include "ui_text.h"
#include "util.h"

/* The input line holds one message: CLI_TEXT_MAX bytes of UTF-8 at most
 * (checked as typed), so never more code points than that. */
#define INPUT_MAX CLI_TEXT_MAX
/* From here on the input line shows how many bytes it holds. */
#define INPUT_COUNTER_FROM (CLI_TEXT_MAX / 10 * 9)
/* Key codes of our own for the bracketed paste markers (define_key). */
#define KEY_PASTE_BEGIN (KEY_MAX + 1)
#define KEY_PASTE_END (KEY_MAX + 2)
#define HIST_MAX 200

struct ui_curses {
    struct cli_ui base;
    int started;

    struct ui_sb sb;
    struct ui_sb_group *cur; /* on screen */
    int scroll;              /* rows scrolled back from the bottom */
    /* Between clear() and the next status(): the application replays the
     * history of the group it switches to; collected here, then merged. */
    int replaying;
    struct ui_sb_group replay;

    /* Scratch for drawing. */
    struct ui_cells cells;
    size_t *starts;
    size_t starts_cap;

    wchar_t input[INPUT_MAX + 1];
    size_t ilen, icur;
    char *hist[HIST_MAX];
    size_t n_hist;
    size_t hidx; /* == n_hist: editing a new line */
    wchar_t draft[INPUT_MAX + 1];
    size_t draft_len;

    size_t ibytes; /* UTF-8 bytes of the input line */
    int full;      /* a key was refused at the limit (until the next edit) */

    int mentions; /* messages naming the user since the last line typed */

    /* A pasted block being collected (bracketed paste), and one waiting
     * for a yes (above UI_PASTE_CONFIRM_*). */
    struct ui_paste paste;
    char *paste_msg;
    /* The questions on the input line: the paste's first, then the
     * application's (on_answer). */
    char *ask_paste, *ask_app;

    /* The status, sanitized. */
    char *st_user, *st_group, *st_conn, *st_others, *st_topic;
    int st_members;
    int st_queued;

    /* Own messages not back from the log yet, drawn below each group's
     * lines. */
    struct ui_pending pend;

    /* Older stored lines above the scrollback (PgUp past its top). */
    struct ui_archive arch;
};

/* ui_curses.c */
void ui_curses_redraw(struct ui_curses *u);
void ui_curses_show(struct cli_ui *ui, enum cli_line_kind kind, const char *group,
                    const char *sender, const char *text, int64_t when);
/* The lines of the group on screen, oldest first: pages read back, its
 * scrollback, own messages on their way; and the idx-th of them. */
size_t ui_curses_lines(struct ui_curses *u);
const struct ui_sb_line *ui_curses_line(struct ui_curses *u, size_t idx);
/* Rows of line l of group gname at width cols. */
int ui_curses_line_rows(struct ui_curses *u, const struct ui_sb_line *l, const char *gname,
                        int cols);

/* ui_input.c */
/* Recounts the input line's UTF-8 bytes (u->ibytes). */
void ui_input_count(struct ui_curses *u);
/* Keeps u->scroll between the bottom and the oldest line. */
void ui_input_clamp_scroll(struct ui_curses *u);
/* The ops readable() and ask() of ui.h. */
void ui_input_readable(struct cli_ui *ui);
void ui_input_ask(struct cli_ui *ui, const char *question);

#endif
