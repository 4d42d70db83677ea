/*
 * The curses UI's input line (ui_curses_int.h): editing by grapheme
 * cluster, the input history, completion, scrolling keys, bracketed
 * paste (ui_paste.h: a pasted block becomes one message, asked about
 * above a size) and the yes/no questions that take the input line.
 */
#define _XOPEN_SOURCE 700
#define NCURSES_WIDECHAR 1

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "textsafe.h"
#include "ui_curses_int.h"
#include "ui_text.h"
#include "util.h"

/* Bytes of UTF-8 the input line holds (after every edit). */
void ui_input_count(struct ui_curses *u)
{
    size_t i;
    u->ibytes = 0;
    for (i = 0; i < u->ilen; i++)
        u->ibytes += ui_utf8_len(u->input[i]);
}

static void input_set(struct ui_curses *u, const wchar_t *w, size_t n)
{
    memcpy(u->input, w, n * sizeof *w);
    u->ilen = u->icur = n;
}

static void hist_add(struct ui_curses *u, const char *line)
{
    char *dup;
    if (!*line || (u->n_hist > 0 && strcmp(u->hist[u->n_hist - 1], line) == 0))
        return;
    dup = strdup(line);
    if (!dup)
        return;
    if (u->n_hist == HIST_MAX) {
        free(u->hist[0]);
        memmove(u->hist, u->hist + 1, (HIST_MAX - 1) * sizeof *u->hist);
        u->n_hist--;
    }
    u->hist[u->n_hist++] = dup;
}

static void hist_move(struct ui_curses *u, int dir)
{
    wchar_t w[INPUT_MAX];
    size_t n;
    if (dir < 0) {
        if (u->hidx == 0)
            return;
        if (u->hidx == u->n_hist) {
            memcpy(u->draft, u->input, u->ilen * sizeof *u->input);
            u->draft_len = u->ilen;
        }
        u->hidx--;
    } else {
        if (u->hidx >= u->n_hist)
            return;
        u->hidx++;
    }
    if (u->hidx == u->n_hist) {
        input_set(u, u->draft, u->draft_len);
        return;
    }
    n = ui_utf8_to_wcs(u->hist[u->hidx], w, INPUT_MAX);
    input_set(u, w, n);
}

static void submit(struct ui_curses *u)
{
    char *line = malloc(INPUT_MAX * 4 + 1);
    if (!line)
        return;
    ui_wcs_to_utf8(u->input, u->ilen, line, INPUT_MAX * 4 + 1);
    u->ilen = u->icur = 0;
    u->mentions = 0;
    hist_add(u, line);
    u->hidx = u->n_hist;
    u->scroll = 0;
    ui_curses_redraw(u);
    if (u->base.cb.on_input)
        u->base.cb.on_input(u->base.cb.ctx, line);
    free(line);
}

static void delete_at(struct ui_curses *u, size_t at, size_t count)
{
    memmove(u->input + at, u->input + at + count, (u->ilen - at - count) * sizeof *u->input);
    u->ilen -= count;
    if (u->icur > at + count)
        u->icur -= count;
    else if (u->icur > at)
        u->icur = at;
}

/* Backspace: the last code point before the cursor (a mark before its
 * base), so a wrong vowel sign or accent is corrected alone. */
static void delete_back(struct ui_curses *u)
{
    if (u->icur > 0)
        delete_at(u, u->icur - 1, 1);
}

/* Delete: the whole cluster under the cursor. */
static void delete_cluster(struct ui_curses *u)
{
    if (u->icur < u->ilen)
        delete_at(u, u->icur, ui_cluster_next(u->input, u->ilen, u->icur) - u->icur);
}

static void cursor_left(struct ui_curses *u)
{
    u->icur = ui_cluster_prev(u->input, u->ilen, u->icur);
}

static void cursor_right(struct ui_curses *u)
{
    u->icur = ui_cluster_next(u->input, u->ilen, u->icur);
}

/* Rows of lines [from, to) of the group on screen. */
static int rows_of(struct ui_curses *u, size_t from, size_t to)
{
    int total = 0;
    size_t i;
    for (i = from; i < to; i++) {
        const struct ui_sb_line *l = ui_curses_line(u, i);
        if (l)
            total += ui_curses_line_rows(u, l, u->cur->name, COLS);
    }
    return total;
}

/* Not before the bottom, not beyond the oldest line. */
void ui_input_clamp_scroll(struct ui_curses *u)
{
    int total = 0;
    size_t n = u->cur ? ui_curses_lines(u) : 0, i;
    if (u->scroll <= 0 || !u->cur) {
        u->scroll = 0;
        return;
    }
    for (i = 0; i < n && total < u->scroll + LINES; i++) {
        const struct ui_sb_line *l = ui_curses_line(u, n - 1 - i);
        if (l)
            total += ui_curses_line_rows(u, l, u->cur->name, COLS);
    }
    if (u->scroll > total - (LINES - 2))
        u->scroll = total - (LINES - 2) > 0 ? total - (LINES - 2) : 0;
}

/* Reads a page of stored history into the archive (older: above it,
 * else into the gap below it), keeping the view on the same lines.
 * 1 if lines came. */
static int load_page(struct ui_curses *u, int older)
{
    struct ui_archive *a = &u->arch;
    int64_t first = 0, last = 0;
    size_t excess, i;
    int n, in_rows = 0, below = older ? 0 : rows_of(u, a->n, ui_curses_lines(u));

    if (!u->base.cb.on_page || !u->cur)
        return 0;
    n = u->base.cb.on_page(u->base.cb.ctx, u->cur->name, older, older ? a->lo : a->hi,
                           UI_ARCHIVE_PAGE, &first, &last);
    if (n < 0) {
        /* Unreadable: nothing more that way (the error is logged). */
        n = 0;
    }
    excess = ui_archive_excess(a);
    if (older && excess > 0 && excess <= a->n) {
        /* Lines dropped at the bottom of the archive, far below the view. */
        u->scroll -= rows_of(u, a->n - excess, a->n);
    }
    for (i = 0; i < a->in_n; i++)
        in_rows += ui_curses_line_rows(u, &a->in[i], u->cur->name, COLS);
    ui_archive_put(a, older, first, last, n, UI_ARCHIVE_PAGE);
    if (!older && u->scroll >= below)
        u->scroll += in_rows; /* the lines now below the view were inserted under it */
    if (u->scroll < 0)
        u->scroll = 0;
    return n > 0;
}

/* PgUp (dir 1) or PgDn (-1): a screen less one row.  Going up past the
 * oldest line reads the previous page from the database; coming down to
 * a gap left below the pages read fills it first. */
static void page(struct ui_curses *u, int dir)
{
    int step = LINES - 3 > 1 ? LINES - 3 : 1, h = LINES - 2 > 0 ? LINES - 2 : 1;
    u->scroll += dir * step;
    if (dir > 0) {
        while (u->cur && !u->arch.top_done &&
               rows_of(u, 0, ui_curses_lines(u)) < u->scroll + h)
            if (!load_page(u, 1))
                break;
    } else {
        while (u->cur && u->arch.below_gap &&
               u->scroll < rows_of(u, u->arch.n, ui_curses_lines(u)) + h)
            if (!load_page(u, 0))
                break;
    }
    ui_input_clamp_scroll(u);
}

static void insert_char(struct ui_curses *u, wchar_t c)
{
    /* What a terminal would act on is not typed (C0, DEL, C1). */
    if (c < 32 || (c >= 127 && c < 160))
        return;
    if (u->ilen >= INPUT_MAX || u->ibytes + ui_utf8_len(c) > CLI_TEXT_MAX) {
        /* The message limit: refused here, as typed, and said. */
        if (!u->full)
            beep();
        u->full = 1;
        return;
    }
    u->ibytes += ui_utf8_len(c);
    memmove(u->input + u->icur + 1, u->input + u->icur, (u->ilen - u->icur) * sizeof *u->input);
    u->input[u->icur++] = c;
    u->ilen++;
}

/* Tab: the application completes the word before the cursor. */
static void complete(struct ui_curses *u)
{
    char *before = malloc(INPUT_MAX * 4 + 1), out[256];
    wchar_t w[256];
    size_t ws = u->icur, n;
    if (!before || !u->base.cb.on_complete)
        goto out;
    while (ws > 0 && u->input[ws - 1] != L' ')
        ws--;
    ui_wcs_to_utf8(u->input, u->icur, before, INPUT_MAX * 4 + 1);
    if (u->base.cb.on_complete(u->base.cb.ctx, before, out, sizeof out) != 1)
        goto out;
    n = ui_utf8_to_wcs(out, w, sizeof w / sizeof w[0]);
    if (u->ilen - (u->icur - ws) + n > INPUT_MAX || u->ibytes + strlen(out) > CLI_TEXT_MAX)
        goto out;
    memmove(u->input + ws + n, u->input + u->icur, (u->ilen - u->icur) * sizeof *u->input);
    memcpy(u->input + ws, w, n * sizeof *w);
    u->ilen = u->ilen - (u->icur - ws) + n;
    u->icur = ws + n;
out:
    free(before);
}

static void key_char(struct ui_curses *u, wint_t c)
{
    switch (c) {
    case L'\t':
        complete(u);
        break;
    case L'\n':
    case L'\r':
        submit(u);
        return;
    case 127:
    case 8:
        delete_back(u);
        break;
    case 1: /* ^A */
        u->icur = 0;
        break;
    case 5: /* ^E */
        u->icur = u->ilen;
        break;
    case 2: /* ^B */
        cursor_left(u);
        break;
    case 6: /* ^F */
        cursor_right(u);
        break;
    case 4: /* ^D */
        delete_cluster(u);
        break;
    case 11: /* ^K */
        u->ilen = u->icur;
        break;
    case 21: /* ^U */
        delete_at(u, 0, u->icur);
        break;
    case 23: /* ^W */ {
        size_t i = u->icur;
        while (i > 0 && u->input[i - 1] == L' ')
            i--;
        while (i > 0 && u->input[i - 1] != L' ')
            i--;
        delete_at(u, i, u->icur - i);
        break;
    }
    case 12: /* ^L */
        clearok(curscr, TRUE);
        break;
    case 16: /* ^P */
        hist_move(u, -1);
        break;
    case 14: /* ^N */
        hist_move(u, 1);
        break;
    case 27: /* ESC: Alt+key arrives as ESC then the key */ {
        wint_t next;
        int r = get_wch(&next);
        if (r == OK && next >= L'1' && next <= L'9') {
            if (u->base.cb.on_switch_index)
                u->base.cb.on_switch_index(u->base.cb.ctx, (int)(next - L'0'));
        }
        break;
    }
    default:
        insert_char(u, (wchar_t)c);
        break;
    }
    ui_curses_redraw(u);
}

static void key_code(struct ui_curses *u, wint_t c)
{
    switch (c) {
    case KEY_ENTER:
        submit(u);
        return;
    case KEY_BACKSPACE:
        delete_back(u);
        break;
    case KEY_DC:
        delete_cluster(u);
        break;
    case KEY_LEFT:
        cursor_left(u);
        break;
    case KEY_RIGHT:
        cursor_right(u);
        break;
    case KEY_HOME:
        u->icur = 0;
        break;
    case KEY_END:
        u->icur = u->ilen;
        break;
    case KEY_UP:
        hist_move(u, -1);
        break;
    case KEY_DOWN:
        hist_move(u, 1);
        break;
    case KEY_PPAGE:
        page(u, 1);
        break;
    case KEY_NPAGE:
        page(u, -1);
        break;
    case KEY_RESIZE:
        break;
    default:
        return;
    }
    ui_curses_redraw(u);
}

/* ------------------------------------------------------------ paste, questions */

static void error_line(struct ui_curses *u, const char *text)
{
    ui_curses_show(&u->base, CLI_LINE_ERROR, NULL, NULL, text, (int64_t)time(NULL));
}

/* A pasted block goes as one message (a leading '/' doubled: it is text,
 * not a command). */
static void paste_send(struct ui_curses *u, const char *text)
{
    char *line = malloc(strlen(text) + 2);
    if (!line)
        return;
    snprintf(line, strlen(text) + 2, "%s%s", text[0] == '/' ? "/" : "", text);
    u->mentions = 0;
    u->scroll = 0;
    if (u->base.cb.on_input)
        u->base.cb.on_input(u->base.cb.ctx, line);
    free(line);
}

/* ESC[201~: the block is complete. */
static void paste_done(struct ui_curses *u)
{
    struct ui_paste *p = &u->paste;
    size_t lines = ui_paste_end(p), i;
    char why[160];

    if (ui_paste_too_long(p, CLI_TEXT_MAX) ||
        (lines == 1 && u->ibytes + p->n > CLI_TEXT_MAX)) {
        /* Refused whole: a cut message would say something else. */
        snprintf(why, sizeof why, "paste of %zu bytes not taken: a message holds at most %d "
                 "bytes (%zu already typed)", p->total, CLI_TEXT_MAX, lines == 1 ? u->ibytes : 0);
        error_line(u, why);
        return;
    }
    if (p->n == 0)
        return;
    if (lines == 1) {
        /* One line: into the input line at the cursor, to edit and send
         * as typed (a tab becomes a space there). */
        wchar_t *w = malloc((p->n + 1) * sizeof *w);
        size_t n = w ? ui_utf8_to_wcs(p->buf, w, p->n) : 0;
        for (i = 0; i < n; i++)
            insert_char(u, w[i] == L'\t' ? L' ' : w[i]);
        free(w);
        return;
    }
    if (ui_paste_needs_confirm(lines, p->n)) {
        free(u->paste_msg);
        free(u->ask_paste);
        u->paste_msg = strdup(p->buf);
        u->ask_paste = cli_strdupf("send the pasted %zu lines (%zu bytes) as one message? [y/N]",
                                   lines, p->n);
        if (!u->paste_msg || !u->ask_paste) {
            free(u->paste_msg);
            free(u->ask_paste);
            u->paste_msg = u->ask_paste = NULL;
        }
        return;
    }
    paste_send(u, p->buf);
}

/* A key while a question is open: y/Y yes; n/N, Esc, Enter no; others
 * are ignored (the question stays). */
static void answer_key(struct ui_curses *u, int r, wint_t c)
{
    int yes;
    if (r == KEY_CODE_YES ? c == KEY_ENTER : (c == L'y' || c == L'Y'))
        yes = r != KEY_CODE_YES;
    else if (r != KEY_CODE_YES && (c == L'n' || c == L'N' || c == 27 || c == L'\r' || c == L'\n'))
        yes = 0;
    else
        return;
    if (u->ask_paste) {
        char *msg = u->paste_msg;
        free(u->ask_paste);
        u->ask_paste = NULL;
        u->paste_msg = NULL;
        if (yes && msg)
            paste_send(u, msg);
        else
            ui_curses_show(&u->base, CLI_LINE_SYSTEM, NULL, NULL, "pasted block not sent",
                        (int64_t)time(NULL));
        free(msg);
    } else {
        free(u->ask_app);
        u->ask_app = NULL;
        if (u->base.cb.on_answer)
            u->base.cb.on_answer(u->base.cb.ctx, yes);
    }
    ui_curses_redraw(u);
}

void ui_input_ask(struct cli_ui *ui, const char *question)
{
    struct ui_curses *u = (struct ui_curses *)ui;
    free(u->ask_app);
    u->ask_app = cli_textsafe_str(question);
    ui_curses_redraw(u);
}

void ui_input_readable(struct cli_ui *ui)
{
    struct ui_curses *u = (struct ui_curses *)ui;
    wint_t c;
    int r, keys = 0;
    while ((r = get_wch(&c)) != ERR) {
        if (r == KEY_CODE_YES && c == KEY_PASTE_BEGIN) {
            ui_paste_begin(&u->paste);
        } else if (r == KEY_CODE_YES && c == KEY_PASTE_END) {
            if (u->paste.active)
                paste_done(u);
            ui_curses_redraw(u);
        } else if (u->paste.active) {
            /* Inside a paste every character is text, Enter a newline. */
            if (r != KEY_CODE_YES)
                ui_paste_add(&u->paste, (wchar_t)c);
            else if (c == KEY_ENTER)
                ui_paste_add(&u->paste, L'\n');
        } else if (u->ask_paste || u->ask_app) {
            answer_key(u, r, c);
        } else {
            keys++;
            u->full = 0;
            if (r == KEY_CODE_YES)
                key_code(u, c);
            else
                key_char(u, c);
        }
    }
    /* A key pressed while offline also reconnects at once. */
    if (keys > 0 && u->base.cb.on_key)
        u->base.cb.on_key(u->base.cb.ctx);
}
