/* Bracketed paste collection (ui_paste.h). */
#include "ui_paste.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ui_text.h"
#include "util.h"

void ui_paste_init(struct ui_paste *p)
{
    memset(p, 0, sizeof *p);
}

void ui_paste_clear(struct ui_paste *p)
{
    if (!p)
        return;
    free(p->buf);
    memset(p, 0, sizeof *p);
}

void ui_paste_begin(struct ui_paste *p)
{
    p->n = 0;
    p->total = 0;
    p->after_cr = 0;
    p->active = 1;
    if (p->buf)
        p->buf[0] = 0;
}

static void put(struct ui_paste *p, wchar_t c)
{
    char enc[8];
    wchar_t w = c;
    size_t k = ui_wcs_to_utf8(&w, 1, enc, sizeof enc);

    p->total += k;
    /* Beyond the message limit nothing more is kept: the block is
     * refused whole at its end (ui_paste_too_long), so the memory a
     * huge paste takes stays bounded. */
    if (p->n + k > CLI_TEXT_MAX)
        return;
    if (p->n + k + 1 > p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 1024;
        char *q;
        while (cap < p->n + k + 1)
            cap *= 2;
        q = realloc(p->buf, cap);
        if (!q)
            return;
        p->buf = q;
        p->cap = cap;
    }
    memcpy(p->buf + p->n, enc, k);
    p->n += k;
    p->buf[p->n] = 0;
}

void ui_paste_add(struct ui_paste *p, wchar_t c)
{
    if (c == L'\r') {
        put(p, L'\n');
        p->after_cr = 1;
        return;
    }
    if (c == L'\n' && p->after_cr) {
        p->after_cr = 0;
        return;
    }
    p->after_cr = 0;
    if (c == L'\n' || c == L'\t') {
        put(p, c);
        return;
    }
    if (c < 32 || (c >= 127 && c < 160))
        return;
    put(p, c);
}

size_t ui_paste_end(struct ui_paste *p)
{
    size_t lines = 1, i;
    p->active = 0;
    if (p->n > 0 && p->buf[p->n - 1] == '\n') {
        /* The newline after the last line ends it; it is no empty line. */
        p->buf[--p->n] = 0;
        p->total--;
    }
    for (i = 0; i < p->n; i++)
        if (p->buf[i] == '\n')
            lines++;
    return lines;
}

int ui_paste_too_long(const struct ui_paste *p, size_t limit)
{
    return p->total > limit;
}

int ui_paste_needs_confirm(size_t lines, size_t bytes)
{
    return lines > UI_PASTE_CONFIRM_LINES || bytes > UI_PASTE_CONFIRM_BYTES;
}
