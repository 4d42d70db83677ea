/* Per-group scrollback of the curses UI (ui_scrollback.h). */
#include "ui_scrollback.h"

#include <stdlib.h>
#include <string.h>

#include "ui.h"

/* A system line stored in history and the same line shown live differ in
 * time by the processing delay (and the live one may carry a suffix such
 * as " (3 members)"): such a pair is one line. */
#define SB_SAME_SLACK 5

static void line_free(struct ui_sb_line *l)
{
    free(l->sender);
    free(l->text);
    memset(l, 0, sizeof *l);
}

void ui_sb_group_init(struct ui_sb_group *g)
{
    memset(g, 0, sizeof *g);
}

void ui_sb_group_clear(struct ui_sb_group *g)
{
    size_t i;
    if (!g)
        return;
    for (i = 0; i < g->n; i++)
        line_free(&g->l[i]);
    free(g->l);
    free(g->name);
    memset(g, 0, sizeof *g);
}

/* Appends l (taking its strings). */
static int push(struct ui_sb_group *g, struct ui_sb_line *l)
{
    if (g->n == UI_SB_LINES) {
        /* Drop the oldest tenth at once: one memmove per 500 lines. */
        size_t drop = UI_SB_LINES / 10, i;
        for (i = 0; i < drop; i++)
            line_free(&g->l[i]);
        memmove(g->l, g->l + drop, (g->n - drop) * sizeof *g->l);
        g->n -= drop;
    }
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 64;
        struct ui_sb_line *p;
        if (cap > UI_SB_LINES)
            cap = UI_SB_LINES;
        p = realloc(g->l, cap * sizeof *p);
        if (!p)
            return -1;
        g->l = p;
        g->cap = cap;
    }
    g->l[g->n++] = *l;
    memset(l, 0, sizeof *l);
    return 0;
}

int ui_sb_add(struct ui_sb_group *g, int kind, int64_t time, const char *sender, const char *text)
{
    struct ui_sb_line l;
    memset(&l, 0, sizeof l);
    l.kind = kind;
    l.time = time;
    l.text = strdup(text ? text : "");
    l.sender = sender ? strdup(sender) : NULL;
    if (!l.text || (sender && !l.sender) || push(g, &l) != 0) {
        line_free(&l);
        return -1;
    }
    return 0;
}

void ui_sb_init(struct ui_sb *sb)
{
    memset(sb, 0, sizeof *sb);
}

void ui_sb_clear(struct ui_sb *sb)
{
    size_t i;
    for (i = 0; i < sb->n; i++) {
        ui_sb_group_clear(sb->g[i]);
        free(sb->g[i]);
    }
    free(sb->g);
    memset(sb, 0, sizeof *sb);
}

void ui_sb_touch(struct ui_sb *sb, struct ui_sb_group *g)
{
    g->used = ++sb->tick;
}

struct ui_sb_group *ui_sb_get(struct ui_sb *sb, const char *name, int create)
{
    struct ui_sb_group *g, **p;
    size_t i;
    for (i = 0; i < sb->n; i++)
        if (strcmp(sb->g[i]->name, name) == 0)
            return sb->g[i];
    if (!create)
        return NULL;
    if (sb->n == UI_SB_GROUPS) {
        size_t old = sb->n;
        for (i = 0; i < sb->n; i++)
            if (sb->g[i] != sb->keep && (old == sb->n || sb->g[i]->used < sb->g[old]->used))
                old = i;
        if (old == sb->n)
            return NULL;
        ui_sb_group_clear(sb->g[old]);
        free(sb->g[old]);
        sb->g[old] = sb->g[--sb->n];
    }
    p = realloc(sb->g, (sb->n + 1) * sizeof *p);
    if (!p)
        return NULL;
    sb->g = p;
    g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->name = strdup(name);
    if (!g->name) {
        free(g);
        return NULL;
    }
    g->used = sb->tick;
    sb->g[sb->n++] = g;
    return g;
}

static int is_message(int kind)
{
    return kind == CLI_LINE_MESSAGE || kind == CLI_LINE_OWN;
}

static int is_system(int kind)
{
    return kind == CLI_LINE_SYSTEM || kind == CLI_LINE_ERROR;
}

/* A stored system line r and the line b kept in the buffer are one. */
static int same_system(const struct ui_sb_line *b, const struct ui_sb_line *r)
{
    size_t n = strlen(r->text);
    return b->kind == r->kind && strncmp(b->text, r->text, n) == 0 &&
           b->time + SB_SAME_SLACK >= r->time;
}

/* Puts the "new since you left" line at index pos of g. */
static void insert_marker(struct ui_sb_group *g, size_t pos)
{
    struct ui_sb_line m;
    if (g->n == UI_SB_LINES) {
        /* Full: the oldest line makes room. */
        if (pos == 0)
            return;
        line_free(&g->l[0]);
        memmove(g->l, g->l + 1, (g->n - 1) * sizeof *g->l);
        g->n--;
        pos--;
    }
    memset(&m, 0, sizeof m);
    m.kind = UI_LINE_MARKER;
    m.text = strdup("new since you left");
    if (!m.text || push(g, &m) != 0) {
        free(m.text);
        return;
    }
    m = g->l[g->n - 1];
    memmove(g->l + pos + 1, g->l + pos, (g->n - 1 - pos) * sizeof *g->l);
    g->l[pos] = m;
}

static int same_message(const struct ui_sb_line *a, const struct ui_sb_line *b)
{
    return a->kind == b->kind && a->time == b->time && !a->sender == !b->sender &&
           (!a->sender || strcmp(a->sender, b->sender) == 0) && strcmp(a->text, b->text) == 0;
}

/* Drops the replay's system lines from index `from` on that the buffer
 * already shows (each buffer line stands for one). */
static int drop_known_system(struct ui_sb_group *g, struct ui_sb_group *r, size_t from)
{
    unsigned char *used = calloc(g->n ? g->n : 1, 1);
    size_t i, j;
    if (!used)
        return -1;
    for (j = from; j < r->n; j++) {
        if (!r->l[j].text || !is_system(r->l[j].kind))
            continue;
        for (i = 0; i < g->n; i++) {
            if (g->l[i].text && !used[i] && is_system(g->l[i].kind) &&
                same_system(&g->l[i], &r->l[j])) {
                used[i] = 1;
                line_free(&r->l[j]);
                break;
            }
        }
    }
    free(used);
    return 0;
}

/* The buffer's newest message, found in the replay: the replay's lines
 * after it arrived while the group was not on screen.  -1 if there is
 * none (the buffer has no message, or more came than the replay holds). */
static long find_newest(const struct ui_sb_group *g, const struct ui_sb_group *r)
{
    size_t i, j;
    for (i = g->n; i > 0; i--) {
        if (!is_message(g->l[i - 1].kind))
            continue;
        for (j = r->n; j > 0; j--)
            if (same_message(&g->l[i - 1], &r->l[j - 1]))
                return (long)j - 1;
        return -1;
    }
    return -1;
}

void ui_sb_merge(struct ui_sb_group *g, struct ui_sb_group *r, long long unread)
{
    struct ui_sb_group out;
    size_t i, j;
    int64_t t0 = INT64_MAX;
    long k;

    ui_sb_group_init(&out);
    for (i = 0; i < g->n; i++)
        if (g->l[i].kind == UI_LINE_MARKER)
            line_free(&g->l[i]);
    k = find_newest(g, r);
    if (k >= 0) {
        /* The buffer in its order up to its newest message; then its
         * later system lines and what is new in the replay, by time (the
         * buffer's first on a tie: it had them before). */
        size_t last = 0;
        if (drop_known_system(g, r, (size_t)k + 1) != 0)
            goto out;
        for (i = 0; i < g->n; i++)
            if (g->l[i].text && is_message(g->l[i].kind))
                last = i;
        for (i = 0; i <= last; i++)
            if (g->l[i].text)
                push(&out, &g->l[i]);
        j = (size_t)k + 1;
        for (;;) {
            while (i < g->n && !g->l[i].text)
                i++;
            while (j < r->n && !r->l[j].text)
                j++;
            if (i == g->n && j == r->n)
                break;
            if (i < g->n && (j == r->n || g->l[i].time <= r->l[j].time))
                push(&out, &g->l[i++]);
            else
                push(&out, &r->l[j++]);
        }
    } else {
        /* Nothing to align on: by time.  Older than the replay is the
         * deeper scrollback, as it was; then the replay (it has every
         * message) and the buffer's newer system lines. */
        for (j = 0; j < r->n; j++)
            if (r->l[j].time < t0)
                t0 = r->l[j].time;
        for (i = 0; i < g->n; i++) {
            if (!g->l[i].text)
                continue;
            if (r->n == 0 || g->l[i].time < t0)
                push(&out, &g->l[i]);
            else if (!is_system(g->l[i].kind))
                line_free(&g->l[i]);
        }
        if (drop_known_system(g, r, 0) != 0)
            goto out;
        i = 0;
        j = 0;
        for (;;) {
            while (i < g->n && !g->l[i].text)
                i++;
            while (j < r->n && !r->l[j].text)
                j++;
            if (i == g->n && j == r->n)
                break;
            if (j < r->n && (i == g->n || r->l[j].time <= g->l[i].time))
                push(&out, &r->l[j++]);
            else
                push(&out, &g->l[i++]);
        }
    }
    /* The marker before the first unread message. */
    if (unread > 0) {
        long long seen = 0;
        for (i = out.n; i > 0; i--) {
            if (is_message(out.l[i - 1].kind) && ++seen == unread)
                break;
        }
        if (i > 0)
            insert_marker(&out, i - 1);
    }
out:
    for (i = 0; i < g->n; i++)
        line_free(&g->l[i]);
    free(g->l);
    g->l = out.l;
    g->n = out.n;
    g->cap = out.cap;
    for (j = 0; j < r->n; j++)
        line_free(&r->l[j]);
    r->n = 0;
}
