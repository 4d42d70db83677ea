/* Grapheme cells, widths and wrapping for the curses UI (ui_text.h). */
#define _XOPEN_SOURCE 700

#include "ui_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "textsafe.h"

#define DOTTED_CIRCLE 0x25CC
#define REPLACEMENT 0xFFFD

void ui_cells_reset(struct ui_cells *v)
{
    v->n = 0;
    v->failed = 0;
}

void ui_cells_free(struct ui_cells *v)
{
    if (!v)
        return;
    free(v->c);
    memset(v, 0, sizeof *v);
}

static struct ui_cell *cell_new(struct ui_cells *v)
{
    struct ui_cell *c;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 128;
        struct ui_cell *p = realloc(v->c, cap * sizeof *p);
        if (!p) {
            v->failed = 1;
            return NULL;
        }
        v->c = p;
        v->cap = cap;
    }
    c = &v->c[v->n++];
    memset(c, 0, sizeof *c);
    return c;
}

int ui_cp_attaches(wchar_t c)
{
    return cli_textsafe_cp_ok((uint32_t)c) && wcwidth(c) == 0;
}

/* Adds code point c; open says whether the last cell may take a
 * zero-width character (not across calls: each piece of a line starts
 * its own cells).  Returns the index of the cell c went to. */
static size_t add_cp(struct ui_cells *v, wchar_t c, unsigned char style, int *open)
{
    struct ui_cell *cell;
    int w;

    if (!cli_textsafe_cp_ok((uint32_t)c)) {
        c = REPLACEMENT;
        w = 1;
    } else {
        w = wcwidth(c);
    }
    if (w == 0 && *open && v->n > 0) {
        size_t k = wcslen(v->c[v->n - 1].wc);
        if (k < UI_CELL_CHARS)
            v->c[v->n - 1].wc[k] = c;
        return v->n - 1;
    }
    cell = cell_new(v);
    if (!cell)
        return v->n;
    cell->style = style;
    if (w == 0) {
        /* Nothing to sit on: a visible base. */
        cell->wc[0] = DOTTED_CIRCLE;
        cell->wc[1] = c;
        cell->width = 1;
    } else if (w < 0) {
        cell->wc[0] = REPLACEMENT;
        cell->width = 1;
    } else {
        cell->wc[0] = c;
        cell->width = (unsigned char)(w > 2 ? 2 : w);
    }
    *open = 1;
    return v->n - 1;
}

/* One code point from UTF-8 at s (s[0] != 0); malformed: U+FFFD, 1 byte. */
static size_t utf8_next(const unsigned char *s, wchar_t *out)
{
    uint32_t c;
    size_t k, i;
    if (s[0] < 0x80) {
        *out = s[0];
        return 1;
    }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        c = s[0] & 0x1F;
        k = 2;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        c = s[0] & 0x0F;
        k = 3;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        c = s[0] & 0x07;
        k = 4;
    } else {
        *out = REPLACEMENT;
        return 1;
    }
    for (i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *out = REPLACEMENT;
            return 1;
        }
        c = (c << 6) | (s[i] & 0x3F);
    }
    if ((k == 3 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) || (k == 4 && (c < 0x10000 || c > 0x10FFFF))) {
        *out = REPLACEMENT;
        return 1;
    }
    *out = (wchar_t)c;
    return k;
}

int ui_cell_is_break(const struct ui_cell *c)
{
    return c->wc[0] == L'\n';
}

void ui_cells_add_utf8(struct ui_cells *v, const char *s, unsigned char style)
{
    const unsigned char *p = (const unsigned char *)s;
    int open = 0, col = 0;
    while (*p) {
        wchar_t c;
        struct ui_cell *cell;
        size_t before = v->n;
        p += utf8_next(p, &c);
        if (c == L'\n') {
            /* A row break of a multi-line message: a cell of no width
             * that ui_wrap ends the row at. */
            cell = cell_new(v);
            if (!cell)
                return;
            cell->wc[0] = L'\n';
            cell->style = style;
            open = 0;
            col = 0;
            continue;
        }
        if (c == L'\t') {
            /* Spaces up to the next tab stop of this line of the text. */
            do {
                add_cp(v, L' ', style, &open);
            } while (++col % UI_TAB_STOP != 0);
            open = 0;
            continue;
        }
        add_cp(v, c, style, &open);
        if (v->n > before)
            col += v->c[v->n - 1].width;
    }
}

void ui_cells_add_wcs(struct ui_cells *v, const wchar_t *w, size_t n, unsigned char style,
                      size_t *map)
{
    size_t i;
    int open = 0;
    for (i = 0; i < n; i++) {
        size_t at = add_cp(v, w[i], style, &open);
        if (map)
            map[i] = at;
    }
    if (map)
        map[n] = v->n;
}

int ui_cells_width(const struct ui_cells *v, size_t from, size_t to)
{
    int w = 0;
    size_t i;
    for (i = from; i < to && i < v->n; i++)
        w += v->c[i].width;
    return w;
}

size_t ui_cluster_prev(const wchar_t *w, size_t n, size_t i)
{
    (void)n;
    if (i == 0)
        return 0;
    i--;
    while (i > 0 && ui_cp_attaches(w[i]))
        i--;
    return i;
}

size_t ui_cluster_next(const wchar_t *w, size_t n, size_t i)
{
    if (i >= n)
        return n;
    i++;
    while (i < n && ui_cp_attaches(w[i]))
        i++;
    return i;
}

int ui_wrap_indent(int cols, int indent)
{
    return indent > 0 && indent <= cols / 2 ? indent : 0;
}

static int is_space(const struct ui_cell *c)
{
    return c->wc[0] == L' ' && c->wc[1] == 0;
}

size_t ui_wrap(const struct ui_cells *v, int cols, int indent, size_t min_break, size_t *starts)
{
    size_t rows = 0, i = 0;
    indent = ui_wrap_indent(cols, indent);
    if (cols < 1)
        cols = 1;
    starts[rows++] = 0;
    while (i < v->n) {
        int avail = rows == 1 ? cols : cols - indent, x = 0;
        size_t j = i, s, next;
        while (j < v->n && !ui_cell_is_break(&v->c[j]) && x + v->c[j].width <= avail)
            x += v->c[j++].width;
        if (j == v->n)
            break;
        if (ui_cell_is_break(&v->c[j])) {
            /* A line of a multi-line message ends here. */
            if (j + 1 >= v->n)
                break;
            starts[rows++] = j + 1;
            i = j + 1;
            continue;
        }
        if (j == i)
            j = i + 1; /* a wide character in one column: alone on its row */
        next = j;
        if (j >= min_break && j < v->n && is_space(&v->c[j]))
            next = j + 1; /* the space at the edge goes with the break */
        /* Break after the last space of the row (the words stay whole). */
        for (s = j; next == j && s > i + 1; s--) {
            if (s - 1 >= min_break && is_space(&v->c[s - 1])) {
                next = s;
                break;
            }
        }
        if (next >= v->n)
            break;
        starts[rows++] = next;
        i = next;
    }
    return rows;
}

/* The input line holds code points; what it hands up is UTF-8. */
size_t ui_utf8_to_wcs(const char *s, wchar_t *out, size_t max)
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

size_t ui_wcs_to_utf8(const wchar_t *w, size_t n, char *out, size_t max)
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

size_t ui_utf8_len(wchar_t c)
{
    uint32_t u = (uint32_t)c;
    if (u < 0x80)
        return 1;
    if (u < 0x800)
        return 2;
    if (u >= 0xd800 && u <= 0xdfff)
        return 0;
    return u < 0x10000 ? 3 : 4;
}
