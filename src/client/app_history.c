/*
 * Scrolling back over a group's whole local history (the full screen's
 * PgUp past its oldest line, ui_archive.h): pages of the client's
 * database, by row id, above what the last switch replayed.  The row id
 * where that replay began is noted at the switch, so pages read later
 * never repeat a replayed line, also when messages arrive meanwhile.
 */
#include "commands.h"

#include <stdio.h>
#include <string.h>

void cli_app_page_mark(struct cli_app *app, const char *group)
{
    snprintf(app->page_group, sizeof app->page_group, "%s", group);
    app->page_bound = cli_session_history_boundary(app->s, group, APP_HISTORY_LINES);
}

static void page_cb(void *ctx, int64_t id, int own, const char *sender, const char *text,
                    int64_t time)
{
    struct cli_app *app = ctx;
    if (!app->ui->ops->page_line)
        return;
    app->ui->ops->page_line(app->ui, id,
                            sender ? (own ? CLI_LINE_OWN : CLI_LINE_MESSAGE) : CLI_LINE_SYSTEM,
                            sender, text, time);
}

int cli_app_page(struct cli_app *app, const char *group, int older, int64_t id, int limit,
                 int64_t *first, int64_t *last)
{
    *first = *last = 0;
    if (strcmp(group, app->page_group) != 0)
        cli_app_page_mark(app, group);
    if (app->page_bound == 0)
        return 0; /* nothing stored at all */
    if (older)
        return cli_session_history_page(app->s, group, 1, id ? id : app->page_bound, 0, limit,
                                        page_cb, app, first, last);
    return cli_session_history_page(app->s, group, 0, id, app->page_bound, limit, page_cb, app,
                                    first, last);
}
