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
 * The input line edits by cluster: Left/Right and Delete/^D step over a
 * base with its marks, Backspace removes the last code point (a mark
 * typed after its base, then the base: how Indic and decomposed Latin
 * input is corrected).  Arrows, Home/End, Ctrl-A/E/K/U/W, Up/Down for
 * the input history, PgUp/PgDn scroll back, Alt+1..9 switch groups.
 */
#define _XOPEN_SOURCE 700
#define NCURSES_WIDECHAR 1

#include "ui.h"

#include <ctype.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <curses.h>

#include "textsafe.h"
#include "ui_pending.h"
#include "ui_scrollback.h"
#include "ui_text.h"

_Static_assert(UI_CELL_CHARS == CCHARW_MAX, "a cell is one cchar_t");

#define INPUT_MAX 4096
#define HIST_MAX 200

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

    int mentions; /* messages naming the user since the last line typed */

    /* The status, sanitized. */
    char *st_user, *st_group, *st_conn, *st_others, *st_topic;
    int st_members;
    int st_queued;

    /* Own messages not back from the log yet, drawn below each group's
     * lines. */
    struct ui_pending pend;
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
            out[o++] = 0xFFFD;
            p++;
            continue;
        }
        for (i = 1; i < k; i++) {
            if ((p[i] & 0xc0) != 0x80)
                break;
            c = (c << 6) | (p[i] & 0x3f);
        }
        if (i < k) {
            out[o++] = 0xFFFD;
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

static int line_rows(struct ui_curses *u, const struct ui_sb_line *l, const char *gname, int cols)
{
    int indent;
    return (int)line_layout(u, l, gname, cols, &indent);
}

static void draw_messages(struct ui_curses *u, int height)
{
    int cols = COLS, y = height - 1, skip = u->scroll;
    size_t idx, npend;

    if (!u->cur)
        return;
    /* The pending own messages are the newest lines, below the rest. */
    npend = ui_pending_count(&u->pend, u->cur->name);
    idx = u->cur->n + npend;
    while (idx > 0 && y >= 0) {
        const struct ui_sb_line *l;
        int indent = 0;
        size_t rows, r;
        idx--;
        l = idx >= u->cur->n ? ui_pending_line(&u->pend, u->cur->name, idx - u->cur->n)
                             : &u->cur->l[idx];
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
    if (!map)
        return;
    snprintf(prompt, sizeof prompt, "%s%s> ", u->st_group ? "#" : "",
             u->st_group ? u->st_group : "");
    ui_cells_reset(v);
    ui_cells_add_utf8(v, prompt, ST_PROMPT);
    x = draw_cells(v, 0, v->n, y, 0, -1);
    avail = COLS - x - 1;
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

/* Makes g the group on screen. */
static void view(struct ui_curses *u, struct ui_sb_group *g)
{
    if (u->cur != g)
        u->scroll = 0;
    u->cur = g;
    u->sb.keep = g;
    if (g) {
        g->notices = 0;
        ui_sb_touch(&u->sb, g);
    }
}

static void curses_show(struct cli_ui *ui, enum cli_line_kind kind, const char *group,
                        const char *sender, const char *text, int64_t when)
{
    struct ui_curses *u = (struct ui_curses *)ui;
    struct ui_sb_group *g;
    char *t = cli_textsafe_str(text), *s = sender ? cli_textsafe_str(sender) : NULL;
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
        u->scroll += line_rows(u, &g->l[g->n - 1], g->name, COLS > 0 ? COLS : 80);
    }
    redraw(u);
out:
    free(t);
    free(s);
    free(gn);
}

static void curses_pending(struct cli_ui *ui, const char *group, int64_t id, int state,
                           const char *text, const char *reason)
{
    struct ui_curses *u = (struct ui_curses *)ui;
    char *gn = cli_textsafe_str(group), *t = text ? cli_textsafe_str(text) : NULL;
    char *r = reason ? cli_textsafe_str(reason) : NULL;
    int rc;

    if (!gn || (text && !t) || (reason && !r))
        goto out;
    rc = ui_pending_event(&u->pend, &u->sb, u->st_user, gn, id, state, t, r,
                          (int64_t)time(NULL));
    if (rc > 0 && u->cur && strcmp(u->cur->name, gn) == 0)
        redraw(u);
out:
    free(gn);
    free(t);
    free(r);
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
    u->mentions = 0;
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

/* Not before the bottom, not beyond the oldest line. */
static void clamp_scroll(struct ui_curses *u)
{
    int total = 0;
    size_t i;
    if (u->scroll <= 0 || !u->cur) {
        u->scroll = 0;
        return;
    }
    for (i = 0; i < u->cur->n && total < u->scroll + LINES; i++)
        total += line_rows(u, &u->cur->l[u->cur->n - 1 - i], u->cur->name, COLS);
    if (u->scroll > total - (LINES - 2))
        u->scroll = total - (LINES - 2) > 0 ? total - (LINES - 2) : 0;
}

static void page(struct ui_curses *u, int dir)
{
    int step = LINES - 3 > 1 ? LINES - 3 : 1;
    u->scroll += dir * step;
    clamp_scroll(u);
}

static void insert_char(struct ui_curses *u, wchar_t c)
{
    /* What a terminal would act on is not typed (C0, DEL, C1). */
    if (c < 32 || (c >= 127 && c < 160) || u->ilen >= INPUT_MAX)
        return;
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
    wcs_to_utf8(u->input, u->icur, before, INPUT_MAX * 4 + 1);
    if (u->base.cb.on_complete(u->base.cb.ctx, before, out, sizeof out) != 1)
        goto out;
    n = utf8_to_wcs(out, w, sizeof w / sizeof w[0]);
    if (u->ilen - (u->icur - ws) + n > INPUT_MAX)
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
    redraw(u);
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
        init_pair(PAIR_MARKER, COLOR_RED, -1);
        for (int i = 0; i < NICK_COLOURS; i++)
            init_pair((short)(PAIR_NICK0 + i), nick_colours[i], -1);
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
    ui_sb_clear(&u->sb);
    ui_sb_group_clear(&u->replay);
    ui_pending_clear(&u->pend);
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
    curses_start, curses_stop, curses_readable, curses_resize, curses_show, curses_clear,
    curses_status, curses_free, curses_pending,
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
    return &u->base;
}
