/*
 * Reconnecting, as the user sees it: while offline the status line
 * counts down to the next try of the network's backoff (net.c), redrawn
 * once a second; /reconnect (both UIs) and any key on the full screen try
 * at once.
 */
#include "commands.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

static void tick(void *ctx)
{
    struct cli_app *app = ctx;
    app->reconnect_ticking = 0;
    if (!app->done)
        cli_app_status(app);
}

const char *cli_app_connection(struct cli_app *app, char *buf, size_t max)
{
    int in = cli_session_reconnect_in(app->s);
    if (in <= 0 || app->quitting)
        return cli_session_connection(app->s);
    snprintf(buf, max, "offline, retry in %ds%s", in, app->line_mode ? "" : " (any key: now)");
    /* The count goes on while it is shown (the timer is the status's
     * only reason to redraw while nothing else happens). */
    if (!app->reconnect_ticking) {
        app->reconnect_ticking = 1;
        cli_timer_start(cli_session_net(app->s), &app->reconnect_timer, 1000, tick, app);
    }
    return buf;
}

void cli_app_reconnect(struct cli_app *app, int asked)
{
    if (app->quitting)
        return;
    if (cli_session_reconnect(app->s)) {
        app->ui->ops->show(app->ui, CLI_LINE_SYSTEM, NULL, NULL, "reconnecting now ...",
                           (int64_t)cli_time());
        cli_app_status(app);
    } else if (asked) {
        app->ui->ops->show(app->ui, CLI_LINE_SYSTEM, NULL, NULL,
                           cli_session_online(app->s) ? "already connected"
                                                      : "already connecting",
                           (int64_t)cli_time());
    }
}

void cli_app_cmd_reconnect(struct cli_app *app, char **argv, int argc)
{
    (void)argv;
    (void)argc;
    cli_app_reconnect(app, 1);
}
