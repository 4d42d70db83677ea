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

/* What a switch replays of a group's stored history (older lines come a
 * page at a time, app_history.c). */
#define APP_HISTORY_LINES 200

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
    char start[65];     /* the group named on the command line */
    int start_answered; /* the user answered for it (a later ask is a /join's) */
    char asking[65];    /* "create it?" is open for this group ("" if none) */
    int asking_start;   /* ... and it is the start group: no quits */
    char page_group[65]; /* the group whose replay began at row page_bound */
    int64_t page_bound;  /* (app_history.c) */
    struct cli_timer reconnect_timer; /* redraws the countdown (app_reconnect.c) */
    int reconnect_ticking;
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
/* app_create.c: the server has no group of that name (the session's
 * create_ask event): asks on the full screen, refuses in line mode. */
void cli_app_create_ask(struct cli_app *app, const char *group);
/* The answer to that question (yes 1: create it; no on the start group
 * quits with status 1). */
void cli_app_create_answer(struct cli_app *app, int yes);
/* app_reconnect.c: the connection as the status shows it (with the
 * countdown to the next try while offline; buf holds it then). */
const char *cli_app_connection(struct cli_app *app, char *buf, size_t max);
/* Reconnects at once; asked: /reconnect (says so when there is nothing
 * to do), else a key press (quiet then). */
void cli_app_reconnect(struct cli_app *app, int asked);
/* /reconnect. */
void cli_app_cmd_reconnect(struct cli_app *app, char **argv, int argc);
/* app_history.c: notes where the replay of group's history began (at a
 * switch), and gives the UI a page of older stored lines (ui.h on_page). */
void cli_app_page_mark(struct cli_app *app, const char *group);
int cli_app_page(struct cli_app *app, const char *group, int older, int64_t id, int limit,
                 int64_t *first, int64_t *last);
/* Redraws the status line. */
void cli_app_status(struct cli_app *app);
/* The session's events, wired to this app. */
void cli_app_session_events(struct cli_app *app, struct cli_session_events *ev);

#endif
