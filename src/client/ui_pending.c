/* Own messages on their way out.  See ui_pending.h. */
#include "ui_pending.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "ui.h"
#include "util.h"

void ui_pending_init(struct ui_pending *p)
{
    memset(p, 0, sizeof *p);
}

static void item_free(struct ui_pending_item *it)
{
    free(it->group);
    free(it->text);
    free(it->line.sender);
    free(it->line.text);
}

void ui_pending_clear(struct ui_pending *p)
{
    size_t i;
    for (i = 0; i < p->n; i++)
        item_free(&p->it[i]);
    free(p->it);
    ui_pending_init(p);
}

static struct ui_pending_item *find(struct ui_pending *p, const char *group, int64_t id)
{
    size_t i;
    for (i = 0; i < p->n; i++)
        if (p->it[i].id == id && strcmp(p->it[i].group, group) == 0)
            return &p->it[i];
    return NULL;
}

/* The drawn text: what was typed and where it is. */
static int mark(struct ui_pending_item *it)
{
    char *t = cli_strdupf("%s  (%s)", it->text, it->state == CLI_OUT_SENT ? "sent" : "sending");
    if (!t)
        return -1;
    free(it->line.text);
    it->line.text = t;
    return 0;
}

int ui_pending_event(struct ui_pending *p, struct ui_sb *sb, const char *user, const char *group,
                     int64_t id, int state, const char *text, const char *reason, int64_t now)
{
    struct ui_pending_item *it = find(p, group, id);
    struct ui_sb_group *g;
    char *line;
    int rc;

    switch (state) {
    case CLI_OUT_SENDING:
        if (it || !text)
            return 0;
        if (p->n == p->cap) {
            size_t cap = p->cap ? p->cap * 2 : 16;
            struct ui_pending_item *n = realloc(p->it, cap * sizeof *n);
            if (!n)
                return -1;
            p->it = n;
            p->cap = cap;
        }
        it = &p->it[p->n];
        memset(it, 0, sizeof *it);
        it->id = id;
        it->state = state;
        it->group = strdup(group);
        it->text = strdup(text);
        it->line.kind = CLI_LINE_OWN;
        it->line.time = now;
        it->line.sender = strdup(user ? user : "");
        if (!it->group || !it->text || !it->line.sender || mark(it) != 0) {
            item_free(it);
            return -1;
        }
        p->n++;
        return 1;
    case CLI_OUT_SENT:
        if (!it || it->state == CLI_OUT_SENT)
            return 0;
        it->state = state;
        return mark(it) == 0 ? 1 : -1;
    case CLI_OUT_DONE:
    case CLI_OUT_FAILED:
        if (!it)
            return 0;
        rc = 1;
        if (state == CLI_OUT_FAILED) {
            g = ui_sb_get(sb, group, 1);
            line = cli_strdupf("not sent (%s): %s", reason ? reason : "refused", it->text);
            if (!g || !line || ui_sb_add(g, CLI_LINE_ERROR, now, NULL, line) != 0)
                rc = -1;
            free(line);
        }
        item_free(it);
        memmove(it, it + 1, (size_t)(p->it + p->n - it - 1) * sizeof *it);
        p->n--;
        return rc;
    default:
        return 0;
    }
}

const struct ui_sb_line *ui_pending_line(const struct ui_pending *p, const char *group, size_t k)
{
    size_t i;
    for (i = 0; i < p->n; i++)
        if (strcmp(p->it[i].group, group) == 0 && k-- == 0)
            return &p->it[i].line;
    return NULL;
}

size_t ui_pending_count(const struct ui_pending *p, const char *group)
{
    size_t i, n = 0;
    for (i = 0; i < p->n; i++)
        n += strcmp(p->it[i].group, group) == 0;
    return n;
}
