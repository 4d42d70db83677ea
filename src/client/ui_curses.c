/*
 * The terminal UI (ncursesw): the messages of the current group scroll
 * above, a status line (user, group, connection, members, other groups
 * with unread counts) and the input line at the bottom.  Lines show the
 * time (HH:MM) before the seed's "#group <user>  text"; each group keeps
 * its own scrollback with its system lines (ui_scrollback.h), and a
 * "new since you left" line marks the first unread message on a switch.
 *
 * Text is drawn as grapheme cells through the wide-character API (one
 * cchar_t holds a base and its combining marks, ui_text.h), measured and
 * wrapped by display width at spaces, continuation rows indented under
 * the text.  Everything shown went through the sanitizer (textsafe.h)
 * first, here at the UI's entry points.
 *
 * A message may be a pasted block: its newlines end rows and its tabs
 * stop every 8 columns of its text.  Above the group's scrollback, pages
 * of older stored history are read back on demand (ui_archive.h).
 *
 * The input line, the keys, bracketed paste and the yes/no questions are
 * in ui_input.c (ui_curses_int.h is what the two share).  Bracketed
 * paste (xterm mode 2004) is on while the UI holds the terminal, off on
 * exit and while stopped by Ctrl-Z.
 */
#define _XOPEN_SOURCE 700
#define NCURSES_WIDECHAR 1

#include "ui.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <curses.h>

#include "textsafe.h"
#include "ui_curses_int.h"
#include "ui_text.h"
#include "util.h"

_Static_assert(UI_CELL_CHARS == CCHARW_MAX, "a cell is one cchar_t");

enum {
    PAIR_OWN = 1,
    PAIR_OTHER,
    PAIR_SYSTEM,
    PAIR_ERROR,
    PAIR_GROUP,
    PAIR_STATUS,
    PAIR_MARKER,
    PAIR_NICK0 /* .. PAIR_NICK0 + NICK_COLOURS - 1 */
};

/* Other people's names take one of these colours, from a hash of the
 * name, so a name keeps its colour everywhere and across runs. */
#define NICK_COLOURS 6
static const short nick_colours[NICK_COLOURS] = {COLOR_YELLOW, COLOR_BLUE,  COLOR_MAGENTA,
                                                 COLOR_CYAN,   COLOR_RED,   COLOR_WHITE};

/* Cell styles (ui_text.h keeps an index; here it becomes attributes). */
enum {
    ST_NORMAL,
    ST_TIME,
    ST_GROUP,
    ST_OWN,
    ST_OTHER,
    ST_SYSTEM,
    ST_ERROR,
    ST_MARKER,
    ST_PROMPT,
    ST_STATUS,
    ST_MENTION,
    ST_NICK0 /* .. ST_NICK0 + NICK_COLOURS - 1 */
};

static const struct {
    attr_t attr;
    short pair;
} styles[] = {
    [ST_NORMAL] = {A_NORMAL, 0},           [ST_TIME] = {A_DIM, 0},
    [ST_GROUP] = {A_NORMAL, PAIR_GROUP},   [ST_OWN] = {A_BOLD, PAIR_OWN},
    [ST_OTHER] = {A_BOLD, PAIR_OTHER},     [ST_SYSTEM] = {A_NORMAL, PAIR_SYSTEM},
    [ST_ERROR] = {A_BOLD, PAIR_ERROR},     [ST_MARKER] = {A_BOLD, PAIR_MARKER},
    [ST_PROMPT] = {A_BOLD, 0},             [ST_STATUS] = {A_REVERSE, PAIR_STATUS},
    [ST_MENTION] = {A_BOLD | A_STANDOUT, 0},
    [ST_NICK0] = {A_BOLD, PAIR_NICK0},         [ST_NICK0 + 1] = {A_BOLD, PAIR_NICK0 + 1},
    [ST_NICK0 + 2] = {A_BOLD, PAIR_NICK0 + 2}, [ST_NICK0 + 3] = {A_BOLD, PAIR_NICK0 + 3},
    [ST_NICK0 + 4] = {A_BOLD, PAIR_NICK0 + 4}, [ST_NICK0 + 5] = {A_BOLD, PAIR_NICK0 + 5},
};
_Static_assert(sizeof styles / sizeof styles[0] == ST_NICK0 + NICK_COLOURS, "a style per nick colour");

/* ------------------------------------------------------------ drawing */

static void put_cell(int y, int x, const struct ui_cell *c, int style_override)
{
    cchar_t cc;
    int st = style_override >= 0 ? style_override : c->style;
    if (setcchar(&cc, c->wc, styles[st].attr, styles[st].pair, NULL) == ERR)
        return;
    mvadd_wch(y, x, &cc);
}

/* Draws cells [from, to) on row y from column x, clipped at the edge. */
static int draw_cells(const struct ui_cells *v, size_t from, size_t to, int y, int x,
                      int style_override)
{
    size_t i;
    for (i = from; i < to; i++) {
        if (x + v->c[i].width > COLS)
            break;
        if (ui_cell_is_break(&v->c[i]))
            continue;
        put_cell(y, x, &v->c[i], style_override);
        x += v->c[i].width;
    }
    return x;
}

/* The colour style of a name (FNV-1a of its bytes). */
static int nick_style(const char *name)
{
    uint32_t h = 2166136261u;
    for (; *name; name++)
        h = (h ^ (unsigned char)*name) * 16777619u;
    return ST_NICK0 + (int)(h % NICK_COLOURS);
}

/* 1 if text names user as a word (ASCII letters in any case; a name
 * inside a longer word, "alice" in "malice", does not count). */
static int mentions(const char *text, const char *user)
{
    size_t n = user ? strlen(user) : 0;
    const char *p = text;
    if (n == 0)
        return 0;
    for (; *p; p++) {
        if (strncasecmp(p, user, n) != 0)
            continue;
        if ((p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_')) &&
            !(isalnum((unsigned char)p[n]) || p[n] == '_'))
            return 1;
    }
    return 0;
}

/* The cells of a line of group gname: where its text starts (the
 * wrapping indent and the first place a row may break). */
static void line_cells(struct ui_curses *u, const struct ui_sb_line *l, const char *gname,
                       size_t *text_at, int *indent)
{
    char ts[16] = "";
    time_t t = (time_t)l->time;
    struct tm tm;
    struct ui_cells *v = &u->cells;

    ui_cells_reset(v);
    if (l->kind != UI_LINE_MARKER && l->time > 0 && localtime_r(&t, &tm))
        strftime(ts, sizeof ts, "%H:%M ", &tm);
    ui_cells_add_utf8(v, ts, ST_TIME);
    switch (l->kind) {
    case CLI_LINE_MESSAGE:
    case CLI_LINE_OWN:
        if (strncmp(l->text, "/me ", 4) == 0 && l->text[4]) {
            /* An action (/me): "#group * alice waves". */
            ui_cells_add_utf8(v, "#", ST_GROUP);
            ui_cells_add_utf8(v, gname, ST_GROUP);
            ui_cells_add_utf8(v, " * ", ST_NORMAL);
            ui_cells_add_utf8(v, l->sender ? l->sender : "?",
                              l->kind == CLI_LINE_OWN ? ST_OWN
                                                      : nick_style(l->sender ? l->sender : "?"));
            ui_cells_add_utf8(v, " ", ST_NORMAL);
            *text_at = v->n;
            ui_cells_add_utf8(v, l->text + 4, ST_NORMAL);
            break;
        }
        ui_cells_add_utf8(v, "#", ST_GROUP);
        ui_cells_add_utf8(v, gname, ST_GROUP);
        ui_cells_add_utf8(v, " <", ST_NORMAL);
        ui_cells_add_utf8(v, l->sender ? l->sender : "?",
                          l->kind == CLI_LINE_OWN ? ST_OWN : nick_style(l->sender ? l->sender : "?"));
        ui_cells_add_utf8(v, ">  ", ST_NORMAL);
        *text_at = v->n;
        ui_cells_add_utf8(v, l->text,
                          l->kind == CLI_LINE_MESSAGE && mentions(l->text, u->st_user)
                              ? ST_MENTION
                              : ST_NORMAL);
        break;
    case CLI_LINE_SYSTEM:
        ui_cells_add_utf8(v, "-- ", ST_SYSTEM);
        *text_at = v->n;
        ui_cells_add_utf8(v, l->text, ST_SYSTEM);
        break;
    case CLI_LINE_ERROR:
        ui_cells_add_utf8(v, "!! ", ST_ERROR);
        *text_at = v->n;
        ui_cells_add_utf8(v, l->text, ST_ERROR);
        break;
    default:
        ui_cells_add_utf8(v, "---------- ", ST_MARKER);
        *text_at = v->n;
        ui_cells_add_utf8(v, l->text, ST_MARKER);
        ui_cells_add_utf8(v, " ----------", ST_MARKER);
        break;
    }
    *indent = ui_cells_width(v, 0, *text_at);
}

/* Lays out a line at width cols into u->starts; returns its rows. */
static size_t line_layout(struct ui_curses *u, const struct ui_sb_line *l, const char *gname,
                          int cols, int *indent)
{
    size_t text_at = 0;
    line_cells(u, l, gname, &text_at, indent);
    if (u->starts_cap < u->cells.n + 1) {
        size_t cap = u->cells.n + 64;
        size_t *p = realloc(u->starts, cap * sizeof *p);
        if (!p)
            return 0;
        u->starts = p;
        u->starts_cap = cap;
    }
    *indent = ui_wrap_indent(cols, *indent);
    return ui_wrap(&u->cells, cols, *indent, text_at, u->starts);
}

int ui_curses_line_rows(struct ui_curses *u, const struct ui_sb_line *l, const char *gname,
                        int cols)
{
    int indent;
    return (int)line_layout(u, l, gname, cols, &indent);
}

size_t ui_curses_lines(struct ui_curses *u)
{
    if (!u->cur)
        return 0;
    return u->arch.n + u->cur->n + ui_pending_count(&u->pend, u->cur->name);
}

const struct ui_sb_line *ui_curses_line(struct ui_curses *u, size_t idx)
{
    /* Oldest first: pages read back from the database (ui_archive.h),
     * the group's scrollback, then our own messages on their way. */
    if (idx < u->arch.n)
        return &u->arch.l[idx];
    idx -= u->arch.n;
    if (idx < u->cur->n)
        return &u->cur->l[idx];
    return ui_pending_line(&u->pend, u->cur->name, idx - u->cur->n);
}

static void draw_messages(struct ui_curses *u, int height)
{
    int cols = COLS, y = height - 1, skip = u->scroll;
    size_t idx;

    if (!u->cur)
        return;
    idx = ui_curses_lines(u);
    while (idx > 0 && y >= 0) {
        const struct ui_sb_line *l;
        int indent = 0;
        size_t rows, r;
        idx--;
        l = ui_curses_line(u, idx);
        if (!l)
            continue;
        rows = line_layout(u, l, u->cur->name, cols, &indent);
        for (r = rows; r > 0 && y >= 0; r--) {
            size_t from = u->starts[r - 1], to = r < rows ? u->starts[r] : u->cells.n;
            if (skip > 0) {
                skip--;
                continue;
            }
            draw_cells(&u->cells, from, to, y--, r > 1 ? indent : 0, -1);
        }
    }
}

/* The other groups as the application names them ("2:#dev(3)"), with a
 * '*' after those holding system lines not seen yet. */
static void status_others(struct ui_curses *u, char *out, size_t max)
{
    const char *p = u->st_others ? u->st_others : "";
    size_t o = 0;
    out[0] = 0;
    while (*p && o + 2 < max) {
        const char *end = strchr(p, ' '), *hash, *name_end;
        size_t len = end ? (size_t)(end - p) : strlen(p), nlen;
        struct ui_sb_group *g = NULL;
        char name[80];
        hash = memchr(p, '#', len);
        if (hash) {
            name_end = memchr(hash, '(', len - (size_t)(hash - p));
            nlen = (size_t)((name_end ? name_end : p + len) - hash - 1);
            if (nlen < sizeof name) {
                memcpy(name, hash + 1, nlen);
                name[nlen] = 0;
                g = ui_sb_get(&u->sb, name, 0);
            }
        }
        if (o + len + 3 >= max)
            break;
        memcpy(out + o, p, len);
        o += len;
        if (g && g->notices > 0 && g != u->cur)
            out[o++] = '*';
        if (end)
            out[o++] = ' ';
        out[o] = 0;
        p += len + (end ? 1 : 0);
    }
}

static void draw_status(struct ui_curses *u, int y)
{
    char members[32] = "", queued[32] = "", others[512], line[1024];
    struct ui_cells *v = &u->cells;

    if (u->st_members >= 0)
        snprintf(members, sizeof members, " | %d member%s", u->st_members,
                 u->st_members == 1 ? "" : "s");
    if (u->st_queued > 0)
        snprintf(queued, sizeof queued, " | %d queued", u->st_queued);
    if (u->mentions > 0) {
        size_t o = strlen(queued);
        snprintf(queued + o, sizeof queued - o, " | %d mention%s", u->mentions,
                 u->mentions == 1 ? "" : "s");
    }
    status_others(u, others, sizeof others);
    if (!u->st_user)
        snprintf(line, sizeof line, " starting");
    else
        snprintf(line, sizeof line, " %s | %s%s%s | %s%s%s%s%s%s", u->st_user,
                 u->st_group ? "#" : "", u->st_group ? u->st_group : "(no group)", members,
                 u->st_conn ? u->st_conn : "", queued, others[0] ? " | " : "", others,
                 u->st_topic ? " | " : "", u->st_topic ? u->st_topic : "");
    attron(COLOR_PAIR(PAIR_STATUS) | A_REVERSE);
    mvhline(y, 0, ' ', COLS);
    attroff(COLOR_PAIR(PAIR_STATUS) | A_REVERSE);
    ui_cells_reset(v);
    ui_cells_add_utf8(v, line, ST_STATUS);
    draw_cells(v, 0, v->n, y, 0, -1);
    if (u->scroll > 0) {
        const char *more = " [scrolled back: PgDn] ";
        int len = (int)strlen(more);
        ui_cells_reset(v);
        ui_cells_add_utf8(v, more, ST_STATUS);
        if (COLS > len)
            draw_cells(v, 0, v->n, y, COLS - len, -1);
    }
}

static void draw_input(struct ui_curses *u, int y)
{
    char prompt[160];
    struct ui_cells *v = &u->cells;
    size_t *map = malloc((u->ilen + 1) * sizeof *map), first, i, cur_cell;
    int x, avail, w;

    move(y, 0);
    clrtoeol();
    ui_input_count(u);
    if (!map)
        return;
    if (u->ask_paste || u->ask_app) {
        /* A question takes the input line until it is answered. */
        ui_cells_reset(v);
        ui_cells_add_utf8(v, u->ask_paste ? u->ask_paste : u->ask_app, ST_PROMPT);
        x = draw_cells(v, 0, v->n, y, 0, -1);
        move(y, x < COLS ? x : COLS - 1);
        free(map);
        return;
    }
    snprintf(prompt, sizeof prompt, "%s%s> ", u->st_group ? "#" : "",
             u->st_group ? u->st_group : "");
    ui_cells_reset(v);
    ui_cells_add_utf8(v, prompt, ST_PROMPT);
    x = draw_cells(v, 0, v->n, y, 0, -1);
    avail = COLS - x - 1;
    if (u->ibytes >= INPUT_COUNTER_FROM || u->full) {
        /* Near the message limit: how much is left, and that no more is
         * taken at it (nothing is ever cut when sent). */
        char counter[64];
        int cw;
        snprintf(counter, sizeof counter, " [%zu/%d%s]", u->ibytes, CLI_TEXT_MAX,
                 u->full ? " bytes: full" : "");
        ui_cells_reset(v);
        ui_cells_add_utf8(v, counter, u->full ? ST_ERROR : ST_PROMPT);
        cw = ui_cells_width(v, 0, v->n);
        if (avail - cw >= 1) {
            draw_cells(v, 0, v->n, y, COLS - cw, -1);
            avail -= cw;
        }
    }
    if (avail < 1) {
        free(map);
        return;
    }
    ui_cells_reset(v);
    ui_cells_add_wcs(v, u->input, u->ilen, ST_NORMAL, map);
    cur_cell = map[u->icur];
    /* Scroll horizontally so the cursor stays visible. */
    first = cur_cell;
    w = 0;
    while (first > 0 && w + v->c[first - 1].width <= avail)
        w += v->c[--first].width;
    draw_cells(v, first, v->n, y, x, -1);
    for (i = first; i < cur_cell; i++)
        x += v->c[i].width;
    move(y, x < COLS ? x : COLS - 1);
    free(map);
}

void ui_curses_redraw(struct ui_curses *u)
{
    int h = LINES - 2;
    if (!u->started)
        return;
    if (u->scroll == 0 && u->arch.below_gap) {
        /* Back at the end with a gap left below the pages read back:
         * they go (read again when wanted), so what is above the
         * scrollback is always contiguous. */
        ui_archive_reset(&u->arch);
    }
    erase();
    if (h > 0)
        draw_messages(u, h);
    if (LINES >= 2)
        draw_status(u, LINES - 2);
    draw_input(u, LINES - 1);
    refresh();
}

/* ------------------------------------------------------------ lines */

/* Makes g the group on screen. */
static void view(struct ui_curses *u, struct ui_sb_group *g)
{
    if (u->cur != g) {
        u->scroll = 0;
        ui_archive_reset(&u->arch);
    }
    u->cur = g;
    u->sb.keep = g;
    if (g) {
        g->notices = 0;
        ui_sb_touch(&u->sb, g);
    }
}

void ui_curses_show(struct cli_ui *ui, enum cli_line_kind kind, const char *group,
                    const char *sender, const char *text, int64_t when)
{
    struct ui_curses *u = (struct ui_curses *)ui;
    struct ui_sb_group *g;
    /* A message may be a pasted block: its lines and tabs are drawn. */
    int body = kind == CLI_LINE_MESSAGE || kind == CLI_LINE_OWN;
    char *t = body ? cli_textsafe_lines(text, strlen(text)) : cli_textsafe_str(text);
    char *s = sender ? cli_textsafe_str(sender) : NULL;
    char *gn = group ? cli_textsafe_str(group) : NULL;

    if (!t || (sender && !s) || (group && !gn))
        goto out;
    if (u->replaying) {
        ui_sb_add(&u->replay, (int)kind, when, s, t);
        goto out;
    }
    /* Lines about no group belong to the group on screen, and stay there. */
    g = ui_sb_get(&u->sb, gn ? gn : u->cur ? u->cur->name : "", 1);
    if (!g || ui_sb_add(g, (int)kind, when, s, t) != 0)
        goto out;
    if (!u->cur)
        view(u, g);
    if (kind == CLI_LINE_MESSAGE && mentions(t, u->st_user)) {
        /* Someone named you: the terminal's bell, and a count until you
         * type. */
        u->mentions++;
        beep();
    }
    if (g != u->cur) {
        /* Another group's notice: that group is marked, this one is
         * left alone. */
        g->notices++;
    } else if (u->scroll > 0) {
        /* Someone reading back keeps their place. */
        u->scroll += ui_curses_line_rows(u, &g->l[g->n - 1], g->name, COLS > 0 ? COLS : 80);
    }
    ui_curses_redraw(u);
out:
    free(t);
    free(s);
    free(gn);
}

static void curses_pending(struct cli_ui *ui, const char *group, int64_t id, int state,
                           const char *text, const char *reason)
{
    struct ui_curses *u = (struct ui_curses *)ui;
    char *gn = cli_textsafe_str(group);
    char *t = text ? cli_textsafe_lines(text, strlen(text)) : NULL;
    char *r = reason ? cli_textsafe_str(reason) : NULL;
    int rc;

    if (!gn || (text && !t) || (reason && !r))
        goto out;
    rc = ui_pending_event(&u->pend, &u->sb, u->st_user, gn, id, state, t, r,
                          (int64_t)time(NULL));
    if (rc > 0 && u->cur && strcmp(u->cur->name, gn) == 0)
        ui_curses_redraw(u);
out:
    free(gn);
    free(t);
    free(r);
}

static void curses_page_line(struct cli_ui *ui, int64_t id, enum cli_line_kind kind,
                             const char *sender, const char *text, int64_t when)
{
    struct ui_curses *u = (struct ui_curses *)ui;
    int body = kind == CLI_LINE_MESSAGE || kind == CLI_LINE_OWN;
    char *t = body ? cli_textsafe_lines(text, strlen(text)) : cli_textsafe_str(text);
    char *s = sender ? cli_textsafe_str(sender) : NULL;
    if (t && (!sender || s))
        ui_archive_take(&u->arch, id, (int)kind, when, s, t);
    free(t);
    free(s);
}

static void curses_clear(struct cli_ui *ui)
{
    struct ui_curses *u = (struct ui_curses *)ui;
    ui_sb_group_clear(&u->replay);
    u->replaying = 1;
}

/* The unread count the last status gave for group name ("N:#name(K)"). */
static long long unread_of(const struct ui_curses *u, const char *name)
{
    const char *p = u->st_others;
    size_t n = strlen(name);
    while (p && (p = strstr(p, ":#")) != NULL) {
        p += 2;
        if (strncmp(p, name, n) == 0 && (p[n] == '(' || p[n] == ' ' || p[n] == 0))
            return p[n] == '(' ? strtoll(p + n + 1, NULL, 10) : 0;
    }
    return 0;
}

static void set_str(char **dst, const char *src)
{
    free(*dst);
    *dst = src ? cli_textsafe_str(src) : NULL;
}

static void curses_status(struct cli_ui *ui, const struct cli_ui_status *st)
{
    struct ui_curses *u = (struct ui_curses *)ui;
    char *name = cli_textsafe_str(st->group ? st->group : "");
    struct ui_sb_group *g;

    if (!name)
        return;
    g = ui_sb_get(&u->sb, name, 1);
    if (u->replaying) {
        /* The replay of the group switched to is complete. */
        u->replaying = 0;
        if (g)
            ui_sb_merge(g, &u->replay, unread_of(u, name));
        ui_sb_group_clear(&u->replay);
        u->scroll = 0;
        /* A new replay: the pages read back start again above it. */
        ui_archive_reset(&u->arch);
    }
    if (g)
        view(u, g);
    free(name);
    set_str(&u->st_user, st->user);
    set_str(&u->st_group, st->group);
    set_str(&u->st_conn, st->connection);
    set_str(&u->st_others, st->others);
    set_str(&u->st_topic, st->topic);
    u->st_members = st->members;
    u->st_queued = st->queued;
    ui_curses_redraw(u);
}

static void curses_resize(struct cli_ui *ui);

/* Bracketed paste (xterm mode 2004) on, or off for the normal terminal. */
static void bracketed_paste(int on)
{
    fputs(on ? "\033[?2004h" : "\033[?2004l", stdout);
    fflush(stdout);
}

/* Ctrl-Z: the normal terminal back (paste mode off), stopped, then the
 * full screen again. */
static void curses_suspend(struct cli_ui *ui)
{
    struct ui_curses *u = (struct ui_curses *)ui;
    if (!u->started)
        return;
    bracketed_paste(0);
    endwin();
    kill(getpid(), SIGSTOP);
    bracketed_paste(1);
    clearok(curscr, TRUE);
    curses_resize(ui);
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
    ui_input_clamp_scroll(u);
    clearok(curscr, TRUE);
    ui_curses_redraw(u);
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
        init_pair(PAIR_MARKER, COLOR_RED, -1);
        for (int i = 0; i < NICK_COLOURS; i++)
            init_pair((short)(PAIR_NICK0 + i), nick_colours[i], -1);
    }
    /* The terminal wraps pasted text in ESC[200~ ... ESC[201~. */
    define_key("\033[200~", KEY_PASTE_BEGIN);
    define_key("\033[201~", KEY_PASTE_END);
    bracketed_paste(1);
    u->started = 1;
    ui_curses_redraw(u);
    return 0;
}

static void curses_stop(struct cli_ui *ui)
{
    struct ui_curses *u = (struct ui_curses *)ui;
    if (!u->started)
        return;
    u->started = 0;
    bracketed_paste(0);
    endwin();
}

static void curses_free(struct cli_ui *ui)
{
    struct ui_curses *u = (struct ui_curses *)ui;
    size_t i;
    if (!u)
        return;
    curses_stop(ui);
    ui_sb_clear(&u->sb);
    ui_sb_group_clear(&u->replay);
    ui_pending_clear(&u->pend);
    ui_paste_clear(&u->paste);
    ui_archive_clear(&u->arch);
    free(u->paste_msg);
    free(u->ask_paste);
    free(u->ask_app);
    ui_cells_free(&u->cells);
    free(u->starts);
    for (i = 0; i < u->n_hist; i++)
        free(u->hist[i]);
    free(u->st_user);
    free(u->st_group);
    free(u->st_conn);
    free(u->st_others);
    free(u->st_topic);
    free(u);
}

static const struct cli_ui_ops curses_ops = {
    curses_start, curses_stop, ui_input_readable, curses_resize, ui_curses_show, curses_clear,
    curses_status, curses_free, curses_pending, ui_input_ask, curses_suspend, curses_page_line,
};

struct cli_ui *cli_ui_curses_new(const struct cli_ui_callbacks *cb)
{
    struct ui_curses *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->base.ops = &curses_ops;
    u->base.cb = *cb;
    u->base.all_groups = 0;
    u->st_members = -1;
    ui_sb_init(&u->sb);
    ui_sb_group_init(&u->replay);
    ui_pending_init(&u->pend);
    ui_paste_init(&u->paste);
    ui_archive_init(&u->arch);
    return &u->base;
}
