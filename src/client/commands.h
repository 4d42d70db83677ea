/*
 * Commands and the application glue between the UI and the session: the
 * command table (/invite, /list, /groups, /switch, /join, /update, /help,
 * /quit), the current group, unread counts and what is shown where.
 */
#ifndef CLI_COMMANDS_H
#define CLI_COMMANDS_H

#include <stdint.h>

#include "net.h"
#include "session.h"
#include "ui.h"

struct cli_app {
    struct cli_ui *ui;
    struct cli_session *s;
    char current[65];   /* the group typed text goes to */
    char want[65];      /* a group we asked to join and will switch to */
    int line_mode;      /* stdin is not a terminal: scripts read the exit status */
    int quitting;       /* /quit or end of input: leave once idle */
    int done;           /* leave the event loop */
    int exit_code;
    char fatal[512];    /* why the session could not go on */
    uint64_t quit_deadline_ms;
    int quit_unsent;    /* unsent count at the last tick (progress extends the wait) */
    struct cli_timer quit_timer;
    int queued;         /* typed messages on their way (outgoing events) */
    /* The running command's arguments as typed (commas and spacing kept:
     * /topic text), valid during its run. */
    const char *args_raw;
};

/* A line typed by the user: a command or a message. */
void cli_app_input(struct cli_app *app, const char *line);
/* Alt+N. */
void cli_app_switch_index(struct cli_app *app, int n);
/* Starts leaving: waits (5 s at most, 10 s in line mode) until what was
 * typed is in the server's log and joins and changes are done.  In line
 * mode, leaving with something undone is an error (exit status 1). */
void cli_app_quit(struct cli_app *app);
/* Makes `group` the current group and shows its recent history. */
void cli_app_switch(struct cli_app *app, const char *group, int announce);
/* Shows the recent history of group. */
void cli_app_show_history(struct cli_app *app, const char *group);
/* The same between "history begins" and "history ends" lines (line mode,
 * so scripts can tell it from what arrives now); nothing at all when
 * there is no history. */
void cli_app_show_history_marked(struct cli_app *app, const char *group);
/* Tab completion of the last word of before (the input up to the
 * cursor): a command name as the first word, a group name after
 * /switch, /join or a '#', else a member of the current group.  out gets
 * the word completed (with a space after it when only one candidate
 * fits), or the candidates' common beginning (and they are listed); 1
 * when out is set. */
int cli_app_complete(struct cli_app *app, const char *before, char *out, size_t max);
/* Redraws the status line. */
void cli_app_status(struct cli_app *app);
/* The session's events, wired to this app. */
void cli_app_session_events(struct cli_app *app, struct cli_session_events *ev);

#endif
