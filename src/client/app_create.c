/*
 * Consent to create a group.  A name the server does not know is created
 * only when the user says so: `--create` at start, `/join --create name`,
 * or, on the full screen, yes to "#x does not exist: create it? [y/N]".
 * Without it a typo would make a group for good, with the typist as its
 * administrator.  Refusing the group the client was started for ends the
 * program with status 1 (there is nothing else to show).
 */
#include "commands.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

static void say(struct cli_app *app, const char *group, int error, const char *text)
{
    app->ui->ops->show(app->ui, error ? CLI_LINE_ERROR : CLI_LINE_SYSTEM, group, NULL, text,
                       (int64_t)cli_time());
}

static void refuse_start(struct cli_app *app, const char *why)
{
    say(app, NULL, 1, why);
    snprintf(app->fatal, sizeof app->fatal, "%s", why);
    app->exit_code = 1;
    app->done = 1;
    cli_session_stop(app->s);
}

void cli_app_create_ask(struct cli_app *app, const char *group)
{
    char q[160], why[256];
    int start = strcmp(group, app->start) == 0 && !app->start_answered;

    if (!app->ui->ops->ask || app->asking[0]) {
        /* Line mode (or a question already open): the flag is the
         * consent. */
        if (start) {
            snprintf(why, sizeof why, "#%s does not exist on the server; start with --create "
                     "to create it", group);
            refuse_start(app, why);
        } else {
            snprintf(why, sizeof why, "#%s does not exist on the server; /join --create %s "
                     "creates it", group, group);
            say(app, NULL, 1, why);
        }
        return;
    }
    snprintf(app->asking, sizeof app->asking, "%s", group);
    app->asking_start = start;
    snprintf(q, sizeof q, "#%s does not exist: create it? [y/N]", group);
    app->ui->ops->ask(app->ui, q);
}

void cli_app_create_answer(struct cli_app *app, int yes)
{
    char group[65], why[256];

    if (!app->asking[0])
        return;
    snprintf(group, sizeof group, "%s", app->asking);
    app->asking[0] = 0;
    if (app->asking_start)
        app->start_answered = 1;
    if (yes) {
        snprintf(why, sizeof why, "creating #%s ...", group);
        say(app, NULL, 0, why);
        cli_session_create(app->s, group);
        return;
    }
    if (app->asking_start) {
        snprintf(why, sizeof why, "#%s does not exist on the server; not created", group);
        refuse_start(app, why);
        return;
    }
    snprintf(why, sizeof why, "#%s not created", group);
    say(app, NULL, 0, why);
}
