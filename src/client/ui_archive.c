/* Pages of stored history above the scrollback (ui_archive.h). */
#include "ui_archive.h"

#include <stdlib.h>
#include <string.h>

static void line_free(struct ui_sb_line *l)
{
    free(l->sender);
    free(l->text);
}

void ui_archive_init(struct ui_archive *a)
{
    memset(a, 0, sizeof *a);
}

void ui_archive_reset(struct ui_archive *a)
{
    size_t i;
    if (!a)
        return;
    for (i = 0; i < a->n; i++)
        line_free(&a->l[i]);
    for (i = 0; i < a->in_n; i++)
        line_free(&a->in[i]);
    free(a->l);
    free(a->id);
    free(a->in);
    free(a->in_id);
    memset(a, 0, sizeof *a);
}

/* Room for n lines in (l, id) of capacity *cap. */
static int reserve(struct ui_sb_line **l, int64_t **id, size_t *cap, size_t n)
{
    size_t c = *cap ? *cap : 64;
    struct ui_sb_line *nl;
    int64_t *ni;
    if (n <= *cap)
        return 0;
    while (c < n)
        c *= 2;
    nl = realloc(*l, c * sizeof *nl);
    if (!nl)
        return -1;
    *l = nl;
    ni = realloc(*id, c * sizeof *ni);
    if (!ni)
        return -1;
    *id = ni;
    *cap = c;
    return 0;
}

int ui_archive_take(struct ui_archive *a, int64_t id, int kind, int64_t time, const char *sender,
                    const char *text)
{
    struct ui_sb_line *l;
    if (reserve(&a->in, &a->in_id, &a->in_cap, a->in_n + 1) != 0)
        return -1;
    l = &a->in[a->in_n];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->time = time;
    l->sender = sender ? strdup(sender) : NULL;
    l->text = strdup(text ? text : "");
    if ((sender && !l->sender) || !l->text) {
        line_free(l);
        return -1;
    }
    a->in_id[a->in_n++] = id;
    return 0;
}

size_t ui_archive_excess(const struct ui_archive *a)
{
    return a->n + a->in_n > UI_ARCHIVE_LINES ? a->n + a->in_n - UI_ARCHIVE_LINES : 0;
}

size_t ui_archive_put(struct ui_archive *a, int older, int64_t first, int64_t last, int count,
                      int limit)
{
    size_t drop = ui_archive_excess(a), i;

    if (count < limit) {
        /* The page was short: the end of the stored history that way. */
        if (older)
            a->top_done = 1;
        else
            a->below_gap = 0;
    }
    if (count > 0) {
        if (older || a->lo == 0)
            a->lo = first;
        if (!older || a->hi == 0)
            a->hi = last;
    }
    if (drop > a->n) {
        /* More than a whole archive came in (cannot happen with
         * UI_ARCHIVE_PAGE < UI_ARCHIVE_LINES); the page alone is kept. */
        drop = a->n;
    }
    /* Drop at the far end first, then put the page at its end. */
    if (drop > 0) {
        if (older) {
            for (i = a->n - drop; i < a->n; i++)
                line_free(&a->l[i]);
            a->n -= drop;
            a->hi = a->n > 0 ? a->id[a->n - 1] : a->hi;
            a->below_gap = 1;
        } else {
            for (i = 0; i < drop; i++)
                line_free(&a->l[i]);
            memmove(a->l, a->l + drop, (a->n - drop) * sizeof *a->l);
            memmove(a->id, a->id + drop, (a->n - drop) * sizeof *a->id);
            a->n -= drop;
            a->lo = a->n > 0 ? a->id[0] : a->lo;
            a->top_done = 0;
        }
    }
    if (a->in_n == 0)
        return drop; /* an empty page: nothing to put (and maybe no array yet) */
    if (reserve(&a->l, &a->id, &a->cap, a->n + a->in_n) != 0) {
        for (i = 0; i < a->in_n; i++)
            line_free(&a->in[i]);
        a->in_n = 0;
        return drop;
    }
    if (older) {
        memmove(a->l + a->in_n, a->l, a->n * sizeof *a->l);
        memmove(a->id + a->in_n, a->id, a->n * sizeof *a->id);
        memcpy(a->l, a->in, a->in_n * sizeof *a->l);
        memcpy(a->id, a->in_id, a->in_n * sizeof *a->id);
    } else {
        memcpy(a->l + a->n, a->in, a->in_n * sizeof *a->l);
        memcpy(a->id + a->n, a->in_id, a->in_n * sizeof *a->id);
    }
    a->n += a->in_n;
    a->in_n = 0;
    return drop;
}
