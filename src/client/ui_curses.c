/*
 * The terminal UI (ncursesw): the messages of the current group scroll
 * above, a status line (user, group, connection, members, other groups
 * with unread counts) and the input line at the bottom.  The input line
 * edits UTF-8 text (arrows, Home/End, Ctrl-A/E/K/U/W, Backspace/Delete),
 * Up/Down walk the input history, PgUp/PgDn scroll back, Alt+1..9 switch
 * groups; resizes are redrawn.
 */
#define _XOPEN_SOURCE 700
#define NCURSES_WIDECHAR 1

#include "ui.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <curses.h>

#define SB_MAX 5000
#define INPUT_MAX 4096
#define HIST_MAX 200

enum { PAIR_OWN = 1, PAIR_OTHER, PAIR_SYSTEM, PAIR_ERROR, PAIR_GROUP, PAIR_STATUS };

struct sb_line {
    enum cli_line_kind kind;
    wchar_t *text;   /* the whole rendered line */
    attr_t *attrs;   /* one per character */
    short *pairs;
    size_t len;
};

struct ui_curses {
    struct cli_ui base;
    int started;
    struct sb_line *lines;
    size_t n_lines, cap_lines;
    int scroll; /* rows scrolled back from the bottom */

    wchar_t input[INPUT_MAX + 1];
    size_t ilen, icur;
    char *hist[HIST_MAX];
    size_t n_hist;
    size_t hidx; /* == n_hist: editing a new line */
    wchar_t draft[INPUT_MAX + 1];
    size_t draft_len;

    char status[512];
    char group[80];
};

/* ------------------------------------------------------------ UTF-8 <-> UTF-32 */

static size_t utf8_to_wcs(const char *s, wchar_t *out, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    while (*p && o < max) {
        uint32_t c;
        size_t k, i;
        if (p[0] < 0x80) {
            c = p[0];
            k = 1;
        } else if ((p[0] & 0xe0) == 0xc0) {
            c = p[0] & 0x1f;
            k = 2;
        } else if ((p[0] & 0xf0) == 0xe0) {
            c = p[0] & 0x0f;
            k = 3;
        } else if ((p[0] & 0xf8) == 0xf0) {
            c = p[0] & 0x07;
            k = 4;
        } else {
            out[o++] = L'?';
            p++;
            continue;
        }
        for (i = 1; i < k; i++) {
            if ((p[i] & 0xc0) != 0x80)
                break;
            c = (c << 6) | (p[i] & 0x3f);
        }
        if (i < k) {
            out[o++] = L'?';
            p += i;
            continue;
        }
        out[o++] = (wchar_t)c;
        p += k;
    }
    return o;
}

static size_t wcs_to_utf8(const wchar_t *w, size_t n, char *out, size_t max)
{
    size_t i, o = 0;
    for (i = 0; i < n; i++) {
        uint32_t c = (uint32_t)w[i];
        if (c < 0x80 && o + 1 < max) {
            out[o++] = (char)c;
        } else if (c < 0x800 && o + 2 < max) {
            out[o++] = (char)(0xc0 | (c >> 6));
            out[o++] = (char)(0x80 | (c & 0x3f));
        } else if (c < 0x10000 && o + 3 < max) {
            if (c >= 0xd800 && c <= 0xdfff)
                continue;
            out[o++] = (char)(0xe0 | (c >> 12));
            out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
            out[o++] = (char)(0x80 | (c & 0x3f));
        } else if (c < 0x110000 && o + 4 < max) {
            out[o++] = (char)(0xf0 | (c >> 18));
            out[o++] = (char)(0x80 | ((c >> 12) & 0x3f));
            out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
            out[o++] = (char)(0x80 | (c & 0x3f));
        }
    }
    out[o] = 0;
    return o;
}

static int cell_width(wchar_t c)
{
    int w = wcwidth(c);
    return w < 0 ? 1 : w;
}

/* ------------------------------------------------------------ drawing */

static void put_cell(int y, int x, wchar_t c, attr_t a, short pair)
{
    cchar_t cc;
    wchar_t s[2];
    s[0] = wcwidth(c) < 0 ? L'?' : c;
    s[1] = 0;
    setcchar(&cc, s, a, pair, NULL);
    mvadd_wch(y, x, &cc);
}

/* Number of screen rows line l takes at width cols, and where each row
 * starts (starts may be NULL). */
static int wrap_rows(const struct sb_line *l, int cols, size_t *starts, int max)
{
    int rows = 1, x = 0;
    size_t i;
    if (starts && max > 0)
        starts[0] = 0;
    for (i = 0; i < l->len; i++) {
        int w = cell_width(l->text[i]);
        if (w == 0)
            continue;
        if (x + w > cols) {
            if (starts && rows < max)
                starts[rows] = i;
            rows++;
            x = 0;
        }
        x += w;
    }
    return rows;
}

static void draw_row(const struct sb_line *l, size_t from, size_t to, int y)
{
    int x = 0;
    size_t i;
    for (i = from; i < to; i++) {
        int w = cell_width(l->text[i]);
        if (w == 0)
            continue;
        put_cell(y, x, l->text[i], l->attrs[i], l->pairs[i]);
        x += w;
    }
}

static void draw_messages(struct ui_curses *u, int height)
{
    int cols = COLS, y = height - 1, skip = u->scroll;
    size_t idx = u->n_lines;
    size_t starts[256];

    while (idx > 0 && y >= 0) {
        const struct sb_line *l = &u->lines[--idx];
        int rows = wrap_rows(l, cols, starts, 256), r;
        if (rows > 256)
            rows = 256;
        for (r = rows - 1; r >= 0 && y >= 0; r--) {
            size_t end = r + 1 < rows ? starts[r + 1] : l->len;
            if (skip > 0) {
                skip--;
                continue;
            }
            draw_row(l, starts[r], end, y--);
        }
    }
}

static void draw_status(struct ui_curses *u, int y)
{
    wchar_t w[512];
    size_t n = utf8_to_wcs(u->status, w, 511), i;
    int x = 0;
    attron(COLOR_PAIR(PAIR_STATUS) | A_REVERSE);
    mvhline(y, 0, ' ', COLS);
    for (i = 0; i < n && x < COLS; i++) {
        int cw = cell_width(w[i]);
        if (x + cw > COLS)
            break;
        put_cell(y, x, w[i], A_REVERSE, PAIR_STATUS);
        x += cw;
    }
    if (u->scroll > 0) {
        const char *more = " [scrolled back: PgDn] ";
        int len = (int)strlen(more);
        if (COLS > len)
            mvaddstr(y, COLS - len, more);
    }
    attroff(COLOR_PAIR(PAIR_STATUS) | A_REVERSE);
}

static void draw_input(struct ui_curses *u, int y)
{
    char prompt[100];
    wchar_t wp[100];
    size_t np, i, start = 0;
    int x = 0, avail, wsum = 0, cx = 0;

    snprintf(prompt, sizeof prompt, "%s%s> ", u->group[0] ? "#" : "", u->group);
    np = utf8_to_wcs(prompt, wp, 99);
    move(y, 0);
    clrtoeol();
    for (i = 0; i < np && x < COLS; i++) {
        put_cell(y, x, wp[i], A_BOLD, 0);
        x += cell_width(wp[i]);
    }
    avail = COLS - x - 1;
    if (avail < 1)
        return;
    /* Scroll horizontally so the cursor stays visible. */
    for (i = u->icur; i > 0; i--) {
        int w = cell_width(u->input[i - 1]);
        if (wsum + w > avail)
            break;
        wsum += w;
    }
    start = i;
    cx = x;
    for (i = start; i < u->ilen; i++) {
        int w = cell_width(u->input[i]);
        if (x + w > COLS - 1)
            break;
        if (i == u->icur)
            cx = x;
        put_cell(y, x, u->input[i], A_NORMAL, 0);
        x += w;
    }
    if (u->icur >= i)
        cx = x;
    move(y, cx);
}

static void redraw(struct ui_curses *u)
{
    int h = LINES - 2;
    if (!u->started)
        return;
    erase();
    if (h > 0)
        draw_messages(u, h);
    if (LINES >= 2)
        draw_status(u, LINES - 2);
    draw_input(u, LINES - 1);
    refresh();
}

/* ------------------------------------------------------------ lines */

static void sb_free_line(struct sb_line *l)
{
    free(l->text);
    free(l->attrs);
    free(l->pairs);
}

static void sb_append(struct sb_line *l, size_t *n, const char *s, attr_t a, short pair,
                      size_t cap)
{
    size_t k = utf8_to_wcs(s, l->text + *n, cap - *n), i;
    for (i = 0; i < k; i++) {
        l->attrs[*n + i] = a;
        l->pairs[*n + i] = pair;
    }
    *n += k;
}

static void curses_show(struct cli_ui *ui, enum cli_line_kind kind, const char *group,
                        const char *sender, const char *text, int64_t when)
{
    struct ui_curses *u = (struct ui_curses *)ui;
    struct sb_line l;
    size_t cap = strlen(text) + (group ? strlen(group) : 0) + (sender ? strlen(sender) : 0) + 32;
    size_t n = 0;
    char ts[16];
    time_t t = (time_t)when;
    struct tm tm;

    memset(&l, 0, sizeof l);
    l.kind = kind;
    l.text = malloc(cap * sizeof *l.text);
    l.attrs = malloc(cap * sizeof *l.attrs);
    l.pairs = malloc(cap * sizeof *l.pairs);
    if (!l.text || !l.attrs || !l.pairs) {
        sb_free_line(&l);
        return;
    }
    /* Message lines are exactly the seed's "#groupname <username>
     * message..."; only system and error lines carry the time. */
    ts[0] = 0;
    if (kind != CLI_LINE_MESSAGE && kind != CLI_LINE_OWN && when > 0 && localtime_r(&t, &tm))
        strftime(ts, sizeof ts, "%H:%M ", &tm);
    sb_append(&l, &n, ts, A_DIM, 0, cap);
    switch (kind) {
    case CLI_LINE_MESSAGE:
    case CLI_LINE_OWN:
        sb_append(&l, &n, "#", A_NORMAL, PAIR_GROUP, cap);
        sb_append(&l, &n, group ? group : "?", A_NORMAL, PAIR_GROUP, cap);
        sb_append(&l, &n, " <", A_NORMAL, 0, cap);
        sb_append(&l, &n, sender ? sender : "?", A_BOLD,
                  kind == CLI_LINE_OWN ? PAIR_OWN : PAIR_OTHER, cap);
        sb_append(&l, &n, ">  ", A_NORMAL, 0, cap);
        sb_append(&l, &n, text, A_NORMAL, 0, cap);
        break;
    case CLI_LINE_SYSTEM:
        sb_append(&l, &n, "-- ", A_NORMAL, PAIR_SYSTEM, cap);
        sb_append(&l, &n, text, A_NORMAL, PAIR_SYSTEM, cap);
        break;
    case CLI_LINE_ERROR:
        sb_append(&l, &n, "!! ", A_BOLD, PAIR_ERROR, cap);
        sb_append(&l, &n, text, A_BOLD, PAIR_ERROR, cap);
        break;
    }
    l.len = n;
    if (u->n_lines == SB_MAX) {
        sb_free_line(&u->lines[0]);
        memmove(u->lines, u->lines + 1, (SB_MAX - 1) * sizeof *u->lines);
        u->n_lines--;
    }
    if (u->n_lines == u->cap_lines) {
        size_t c = u->cap_lines ? u->cap_lines * 2 : 256;
        struct sb_line *p = realloc(u->lines, c * sizeof *p);
        if (!p) {
            sb_free_line(&l);
            return;
        }
        u->lines = p;
        u->cap_lines = c;
    }
    u->lines[u->n_lines++] = l;
    /* Someone reading back keeps their place. */
    if (u->scroll > 0)
        u->scroll += wrap_rows(&l, COLS > 0 ? COLS : 80, NULL, 0);
    redraw(u);
}

static void curses_clear(struct cli_ui *ui)
{
    struct ui_curses *u = (struct ui_curses *)ui;
    size_t i;
    for (i = 0; i < u->n_lines; i++)
        sb_free_line(&u->lines[i]);
    u->n_lines = 0;
    u->scroll = 0;
    redraw(u);
}

static void curses_status(struct cli_ui *ui, const struct cli_ui_status *st)
{
    struct ui_curses *u = (struct ui_curses *)ui;
    char members[32] = "";
    if (st->members >= 0)
        snprintf(members, sizeof members, " | %d member%s", st->members,
                 st->members == 1 ? "" : "s");
    snprintf(u->group, sizeof u->group, "%s", st->group ? st->group : "");
    snprintf(u->status, sizeof u->status, " %s | %s%s%s | %s%s%s", st->user,
             st->group ? "#" : "", st->group ? st->group : "(no group)", members,
             st->connection, st->others && *st->others ? " | " : "",
             st->others ? st->others : "");
    redraw(u);
}

/* ------------------------------------------------------------ input */

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
    n = utf8_to_wcs(u->hist[u->hidx], w, INPUT_MAX);
    input_set(u, w, n);
}

static void submit(struct ui_curses *u)
{
    char *line = malloc(INPUT_MAX * 4 + 1);
    if (!line)
        return;
    wcs_to_utf8(u->input, u->ilen, line, INPUT_MAX * 4 + 1);
    u->ilen = u->icur = 0;
    hist_add(u, line);
    u->hidx = u->n_hist;
    u->scroll = 0;
    redraw(u);
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

/* Not before the bottom, not beyond the oldest line. */
static void clamp_scroll(struct ui_curses *u)
{
    int total = 0;
    size_t i;
    if (u->scroll <= 0) {
        u->scroll = 0;
        return;
    }
    for (i = 0; i < u->n_lines; i++)
        total += wrap_rows(&u->lines[i], COLS, NULL, 0);
    if (u->scroll > total - (LINES - 2))
        u->scroll = total - (LINES - 2) > 0 ? total - (LINES - 2) : 0;
}

static void page(struct ui_curses *u, int dir)
{
    int step = LINES - 3 > 1 ? LINES - 3 : 1;
    u->scroll += dir * step;
    clamp_scroll(u);
}

static void key_char(struct ui_curses *u, wint_t c)
{
    switch (c) {
    case L'\n':
    case L'\r':
        submit(u);
        return;
    case 127:
    case 8:
        if (u->icur > 0)
            delete_at(u, u->icur - 1, 1);
        break;
    case 1: /* ^A */
        u->icur = 0;
        break;
    case 5: /* ^E */
        u->icur = u->ilen;
        break;
    case 2: /* ^B */
        if (u->icur > 0)
            u->icur--;
        break;
    case 6: /* ^F */
        if (u->icur < u->ilen)
            u->icur++;
        break;
    case 4: /* ^D */
        if (u->icur < u->ilen)
            delete_at(u, u->icur, 1);
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
        if (c >= 32 && c != 127 && u->ilen < INPUT_MAX) {
            memmove(u->input + u->icur + 1, u->input + u->icur,
                    (u->ilen - u->icur) * sizeof *u->input);
            u->input[u->icur++] = (wchar_t)c;
            u->ilen++;
        }
        break;
    }
    redraw(u);
}

static void key_code(struct ui_curses *u, wint_t c)
{
    switch (c) {
    case KEY_ENTER:
        submit(u);
        return;
    case KEY_BACKSPACE:
        if (u->icur > 0)
            delete_at(u, u->icur - 1, 1);
        break;
    case KEY_DC:
        if (u->icur < u->ilen)
            delete_at(u, u->icur, 1);
        break;
    case KEY_LEFT:
        if (u->icur > 0)
            u->icur--;
        break;
    case KEY_RIGHT:
        if (u->icur < u->ilen)
            u->icur++;
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
    redraw(u);
}

static void curses_readable(struct cli_ui *ui)
{
    struct ui_curses *u = (struct ui_curses *)ui;
    wint_t c;
    int r;
    while ((r = get_wch(&c)) != ERR) {
        if (r == KEY_CODE_YES)
            key_code(u, c);
        else
            key_char(u, c);
    }
}

static void curses_resize(struct cli_ui *ui)
{
    struct ui_curses *u = (struct ui_curses *)ui;
    struct winsize ws;
    if (!u->started)
        return;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
        resizeterm(ws.ws_row, ws.ws_col);
    /* Someone reading back keeps reading back, within the new bounds. */
    clamp_scroll(u);
    clearok(curscr, TRUE);
    redraw(u);
}

static int curses_start(struct cli_ui *ui)
{
    struct ui_curses *u = (struct ui_curses *)ui;
    if (!initscr())
        return -1;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    if (has_colors()) {
        start_color();
        use_default_colors();
        init_pair(PAIR_OWN, COLOR_GREEN, -1);
        init_pair(PAIR_OTHER, COLOR_YELLOW, -1);
        init_pair(PAIR_SYSTEM, COLOR_CYAN, -1);
        init_pair(PAIR_ERROR, COLOR_RED, -1);
        init_pair(PAIR_GROUP, COLOR_MAGENTA, -1);
        init_pair(PAIR_STATUS, COLOR_BLUE, -1);
    }
    u->started = 1;
    redraw(u);
    return 0;
}

static void curses_stop(struct cli_ui *ui)
{
    struct ui_curses *u = (struct ui_curses *)ui;
    if (!u->started)
        return;
    u->started = 0;
    endwin();
}

static void curses_free(struct cli_ui *ui)
{
    struct ui_curses *u = (struct ui_curses *)ui;
    size_t i;
    if (!u)
        return;
    curses_stop(ui);
    for (i = 0; i < u->n_lines; i++)
        sb_free_line(&u->lines[i]);
    free(u->lines);
    for (i = 0; i < u->n_hist; i++)
        free(u->hist[i]);
    free(u);
}

static const struct cli_ui_ops curses_ops = {
    curses_start, curses_stop, curses_readable, curses_resize, curses_show, curses_clear,
    curses_status, curses_free,
};

struct cli_ui *cli_ui_curses_new(const struct cli_ui_callbacks *cb)
{
    struct ui_curses *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->base.ops = &curses_ops;
    u->base.cb = *cb;
    u->base.all_groups = 0;
    snprintf(u->status, sizeof u->status, " starting");
    return &u->base;
}
