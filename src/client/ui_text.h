/*
 * Text as the terminal shows it, for the curses UI: grapheme cells (a
 * base character with the zero-width characters that follow it, drawn
 * as one ncursesw cchar_t), display widths from wcwidth(3) (what the
 * terminal itself uses), wrapping at word boundaries with an indent, and
 * the cluster boundaries the input line's cursor moves by.  No curses
 * here, so it is tested on its own (tests/unit/test_client_ui_text.c).
 *
 * A cell is what wcwidth sees as one: a spacing character and the
 * zero-width ones after it (combining marks, virama, variation
 * selectors, ZWJ, ZWNJ).  An emoji ZWJ sequence is several cells whose
 * bytes reach the terminal in order, so a terminal that draws the
 * sequence as one glyph does so.  Characters the sanitizer would not let
 * through (textsafe.h) are drawn as U+FFFD; a zero-width character with
 * no base gets U+25CC; marks beyond what one cchar_t holds are dropped
 * from the drawing (only "Zalgo" text has that many).
 */
#ifndef CLI_UI_TEXT_H
#define CLI_UI_TEXT_H

#include <stddef.h>
#include <wchar.h>

/* Characters per cell: ncursesw's CCHARW_MAX (checked in ui_curses.c). */
#define UI_CELL_CHARS 5

struct ui_cell {
    wchar_t wc[UI_CELL_CHARS + 1]; /* base then zero-width characters, NUL-terminated */
    unsigned char width;           /* columns: 1 or 2 */
    unsigned char style;           /* the caller's attribute index */
};

struct ui_cells {
    struct ui_cell *c;
    size_t n, cap;
    int failed; /* out of memory: what was added is incomplete */
};

/* Columns between tab stops in a message's text. */
#define UI_TAB_STOP 8

void ui_cells_reset(struct ui_cells *v);
void ui_cells_free(struct ui_cells *v);
/* Appends UTF-8 text (malformed bytes become U+FFFD) as cells; a newline
 * becomes a break cell (no width; ui_wrap starts a row after it) and a
 * tab spaces up to the next multiple of UI_TAB_STOP columns counted from
 * the start of s or the last newline. */
void ui_cells_add_utf8(struct ui_cells *v, const char *s, unsigned char style);
/* Appends code points; map (may be NULL, n + 1 entries) gets, for each
 * code point, the index of the cell it is drawn in, and map[n] the index
 * after the last cell. */
void ui_cells_add_wcs(struct ui_cells *v, const wchar_t *w, size_t n, unsigned char style,
                      size_t *map);
/* 1 if c is a break cell (a newline of the text, drawn as nothing). */
int ui_cell_is_break(const struct ui_cell *c);
/* Columns of cells [from, to). */
int ui_cells_width(const struct ui_cells *v, size_t from, size_t to);

/* UTF-8 to code points (malformed bytes: U+FFFD), at most max; returns
 * the count. */
size_t ui_utf8_to_wcs(const char *s, wchar_t *out, size_t max);
/* Code points to NUL-terminated UTF-8 in out[max] (what does not fit is
 * left out, surrogates are skipped); returns the bytes written. */
size_t ui_wcs_to_utf8(const wchar_t *w, size_t n, char *out, size_t max);
/* Bytes of UTF-8 that code point c takes (surrogates: 0). */
size_t ui_utf8_len(wchar_t c);

/* 1 if code point c joins the cell before it. */
int ui_cp_attaches(wchar_t c);
/* Cluster boundaries in a code point string: the one before i (i > 0)
 * and the one after i (i < n). */
size_t ui_cluster_prev(const wchar_t *w, size_t n, size_t i);
size_t ui_cluster_next(const wchar_t *w, size_t n, size_t i);

/* Rows of cells at width cols: starts[r] is the first cell of row r
 * (starts needs v->n + 1 entries).  Rows after the first begin at column
 * indent (0 when that leaves less than half the width).  A full row
 * breaks after its last space at or beyond cell min_break, else before
 * the cell that does not fit; never inside a cell; a row also ends at a
 * break cell (the next starts after it).  Returns the number
 * of rows, at least 1. */
size_t ui_wrap(const struct ui_cells *v, int cols, int indent, size_t min_break, size_t *starts);
/* The indent ui_wrap really uses. */
int ui_wrap_indent(int cols, int indent);

#endif
