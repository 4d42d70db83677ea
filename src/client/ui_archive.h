/*
 * Scrolling back over a group's whole local history on the full screen.
 * The group's scrollback (ui_scrollback.h) holds what the last switch
 * replayed (its 200 most recent stored lines) and what came since; older
 * stored lines are read from the client's database a page at a time when
 * PgUp goes past the top, into this archive above the scrollback.  It
 * holds at most UI_ARCHIVE_LINES lines: loading an older page drops lines
 * at its bottom, far below the view (then a gap is left, read again a
 * page at a time when PgDn comes near it), and loading a newer one drops
 * lines at its top.  Lines are kept with their database row ids, which
 * say where the next page starts.  No curses here
 * (tests/unit/test_client_ui_archive.c).
 */
#ifndef CLI_UI_ARCHIVE_H
#define CLI_UI_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "ui_scrollback.h"

#define UI_ARCHIVE_PAGE 200
#define UI_ARCHIVE_LINES 1000

struct ui_archive {
    struct ui_sb_line *l; /* oldest first */
    int64_t *id;          /* the row id of each line */
    size_t n, cap;
    int64_t lo, hi;       /* first and last row read (0: nothing loaded yet) */
    int top_done;         /* nothing older is stored */
    int below_gap;        /* rows between hi and the scrollback were dropped */
    /* A page on its way in (ui_archive_take), oldest first. */
    struct ui_sb_line *in;
    int64_t *in_id;
    size_t in_n, in_cap;
};

void ui_archive_init(struct ui_archive *a);
/* Frees everything and starts over (another group, or back at the end). */
void ui_archive_reset(struct ui_archive *a);
#define ui_archive_clear ui_archive_reset
/* A line of the page being read.  0, or -1 when out of memory. */
int ui_archive_take(struct ui_archive *a, int64_t id, int kind, int64_t time, const char *sender,
                    const char *text);
/* The page read is complete: rows first..last were read (count of them,
 * asked for limit); older: it goes above the archive, else below it.
 * Returns how many lines were dropped at the other end to stay within
 * UI_ARCHIVE_LINES (the caller measures them first: ui_archive_excess). */
size_t ui_archive_put(struct ui_archive *a, int older, int64_t first, int64_t last, int count,
                      int limit);
/* How many lines the archive would drop if in_n more came in. */
size_t ui_archive_excess(const struct ui_archive *a);

#endif
