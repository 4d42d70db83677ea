/*
 * Bracketed paste for the curses UI (xterm's mode 2004: the terminal
 * wraps pasted text in ESC[200~ ... ESC[201~).  What arrives between the
 * two is collected here as UTF-8, newlines (CR, LF or CR LF) and tabs
 * kept, so a pasted block becomes ONE message instead of one per line.
 * The collector stops taking text at the message limit (CLI_TEXT_MAX) and
 * remembers that it did: a block that does not fit is refused whole,
 * never cut.  No curses here (tests/unit/test_client_ui_paste.c).
 */
#ifndef CLI_UI_PASTE_H
#define CLI_UI_PASTE_H

#include <stddef.h>
#include <wchar.h>

/* Above either, a pasted block is sent only after a yes. */
#define UI_PASTE_CONFIRM_LINES 10
#define UI_PASTE_CONFIRM_BYTES 2048

struct ui_paste {
    char *buf;       /* UTF-8, NUL-terminated */
    size_t n, cap;
    size_t total;    /* bytes pasted, also beyond the limit */
    int active;      /* between ESC[200~ and ESC[201~ */
    int after_cr;    /* the last character was CR (a CR LF is one newline) */
};

void ui_paste_init(struct ui_paste *p);
void ui_paste_clear(struct ui_paste *p);
/* ESC[200~: starts an empty block. */
void ui_paste_begin(struct ui_paste *p);
/* A character of the block (CR and LF become one newline; other C0
 * controls but tab, DEL and C1 controls are dropped: a terminal would act
 * on them). */
void ui_paste_add(struct ui_paste *p, wchar_t c);
/* ESC[201~: the block is complete (p->buf holds it, without the newline
 * that ends its last line).  Its lines (1 for text with no newline). */
size_t ui_paste_end(struct ui_paste *p);
/* 1 if the block went beyond limit bytes (then it is refused whole). */
int ui_paste_too_long(const struct ui_paste *p, size_t limit);
/* 1 if a block of this size asks before it is sent. */
int ui_paste_needs_confirm(size_t lines, size_t bytes);

#endif
