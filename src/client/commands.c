/* The command table and the glue between UI and session. */
#include "commands.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pins.h"
#include "util.h"

#define APP_MAX_ARGS 64
#define APP_QUIT_WAIT_MS 5000u
/* Line mode at the end of input: a script waits this long at most for
 * what it typed to be in the server's log. */
#define APP_EOF_WAIT_MS 10000u

static void sys(struct cli_app *app, const char *group, int error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void sys(struct cli_app *app, const char *group, int error, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    app->ui->ops->show(app->ui, error ? CLI_LINE_ERROR : CLI_LINE_SYSTEM, group, NULL, buf,
                       (int64_t)cli_time());
}

/* ------------------------------------------------------------ status */

struct others_ctx {
    struct cli_app *app;
    char buf[256];
    size_t n;
    int index;
};

static void others_cb(void *ctx, const struct cli_group_info *g)
{
    struct others_ctx *o = ctx;
    o->index++;
    if (strcmp(g->name, o->app->current) == 0 || g->status != CLI_GROUP_JOINED ||
        o->n + 80 > sizeof o->buf)
        return;
    if (g->unread > 0)
        o->n += (size_t)snprintf(o->buf + o->n, sizeof o->buf - o->n, "%s%d:#%s(%lld)",
                                 o->n ? " " : "", o->index, g->name, (long long)g->unread);
    else
        o->n += (size_t)snprintf(o->buf + o->n, sizeof o->buf - o->n, "%s%d:#%s",
                                 o->n ? " " : "", o->index, g->name);
}

void cli_app_status(struct cli_app *app)
{
    struct cli_ui_status st;
    struct others_ctx o;
    char conn[96];
    char topic[CLI_TOPIC_TEXT_MAX];
    memset(&o, 0, sizeof o);
    o.app = app;
    cli_session_groups(app->s, others_cb, &o);
    st.user = cli_session_user(app->s);
    st.group = app->current[0] ? app->current : NULL;
    st.connection = cli_app_connection(app, conn, sizeof conn);
    st.members = app->current[0] ? cli_session_member_count(app->s, app->current) : -1;
    if (st.members >= 0 && !cli_session_is_member(app->s, app->current))
        st.members = -1;
    st.others = o.buf;
    st.queued = app->queued;
    st.topic = st.members >= 0 &&
                       cli_session_topic(app->s, app->current, topic, sizeof topic) == 0 &&
                       topic[0]
                   ? topic
                   : NULL;
    app->ui->ops->status(app->ui, &st);
}

/* ------------------------------------------------------------ switching */

struct history_ctx {
    struct cli_app *app;
    const char *group;
    int marked; /* line mode: between "history begins" and "history ends" */
    int n;
};

static void history_cb(void *ctx, int own, const char *sender, const char *text, int64_t time)
{
    struct history_ctx *h = ctx;
    struct cli_app *app = h->app;
    if (h->marked && h->n == 0)
        sys(app, h->group, 0, "history begins");
    h->n++;
    if (sender)
        app->ui->ops->show(app->ui, own ? CLI_LINE_OWN : CLI_LINE_MESSAGE, h->group, sender,
                           text, time);
    else
        app->ui->ops->show(app->ui, CLI_LINE_SYSTEM, h->group, NULL, text, time);
}

static void show_history(struct cli_app *app, const char *group, int marked)
{
    struct history_ctx h;
    memset(&h, 0, sizeof h);
    h.app = app;
    h.group = group;
    h.marked = marked;
    cli_session_history(app->s, group, APP_HISTORY_LINES, history_cb, &h);
    if (marked && h.n > 0)
        sys(app, group, 0, "history ends");
}

void cli_app_show_history(struct cli_app *app, const char *group)
{
    show_history(app, group, 0);
}

void cli_app_show_history_marked(struct cli_app *app, const char *group)
{
    show_history(app, group, 1);
}

void cli_app_switch(struct cli_app *app, const char *group, int announce)
{
    snprintf(app->current, sizeof app->current, "%s", group);
    cli_session_set_unread(app->s, group, 0);
    if (!app->ui->all_groups) {
        /* The screen shows one group: its recent history. */
        app->ui->ops->clear(app->ui);
        cli_app_show_history(app, group);
        cli_app_page_mark(app, group);
    }
    if (announce)
        sys(app, group, 0, "now talking in #%s", group);
    cli_app_status(app);
}

void cli_app_switch_index(struct cli_app *app, int n)
{
    const char *g = cli_session_group_at(app->s, n);
    if (!g) {
        sys(app, NULL, 1, "there is no group %d (see /groups)", n);
        return;
    }
    if (!cli_session_is_member(app->s, g)) {
        sys(app, NULL, 1, "you are no longer a member of #%s", g);
        return;
    }
    cli_app_switch(app, g, 1);
}

/* ------------------------------------------------------------ session events */

static void ev_message(void *ctx, const char *group, const char *sender, const char *text,
                       int64_t time, int own)
{
    struct cli_app *app = ctx;
    if (app->ui->all_groups || strcmp(group, app->current) == 0) {
        app->ui->ops->show(app->ui, own ? CLI_LINE_OWN : CLI_LINE_MESSAGE, group, sender, text,
                           time);
        return;
    }
    cli_session_set_unread(app->s, group, cli_session_unread(app->s, group) + 1);
    cli_app_status(app);
}

static void ev_notice(void *ctx, const char *group, int error, const char *text)
{
    struct cli_app *app = ctx;
    app->ui->ops->show(app->ui, error ? CLI_LINE_ERROR : CLI_LINE_SYSTEM, group, NULL, text,
                       (int64_t)cli_time());
}

static void ev_joined(void *ctx, const char *group)
{
    struct cli_app *app = ctx;
    if (strcmp(group, app->want) == 0) {
        app->want[0] = 0;
        if (strcmp(group, app->current) != 0)
            cli_app_switch(app, group, 1);
    } else if (!app->current[0]) {
        cli_app_switch(app, group, 1);
    }
    cli_app_status(app);
}

static void ev_changed(void *ctx)
{
    cli_app_status(ctx);
}

static void ev_outgoing(void *ctx, const char *group, int64_t id, int state, const char *text,
                        const char *reason)
{
    struct cli_app *app = ctx;
    if (state == CLI_OUT_SENDING)
        app->queued++;
    else if ((state == CLI_OUT_DONE || state == CLI_OUT_FAILED) && app->queued > 0)
        app->queued--;
    if (app->ui->ops->pending)
        app->ui->ops->pending(app->ui, group, id, state, text, reason);
    if (state != CLI_OUT_SENT)
        cli_app_status(app);
}

static void ev_fatal(void *ctx, const char *text)
{
    struct cli_app *app = ctx;
    app->ui->ops->show(app->ui, CLI_LINE_ERROR, NULL, NULL, text, (int64_t)cli_time());
    snprintf(app->fatal, sizeof app->fatal, "%s", text);
    app->exit_code = 1;
    app->done = 1;
    cli_session_stop(app->s);
}

static void ev_create_ask(void *ctx, const char *group)
{
    cli_app_create_ask(ctx, group);
}

void cli_app_session_events(struct cli_app *app, struct cli_session_events *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->message = ev_message;
    ev->notice = ev_notice;
    ev->joined = ev_joined;
    ev->changed = ev_changed;
    ev->fatal = ev_fatal;
    ev->outgoing = ev_outgoing;
    ev->create_ask = ev_create_ask;
    ev->ctx = app;
}

/* ------------------------------------------------------------ quitting */

/* Leaves the event loop; why (may be NULL) says what was left undone.
 * In line mode that is an error (exit status 1) a script can see. */
static void leave(struct cli_app *app, const char *why)
{
    if (why) {
        sys(app, NULL, app->line_mode, "%s", why);
        if (app->line_mode) {
            snprintf(app->fatal, sizeof app->fatal, "%s", why);
            app->exit_code = 1;
        }
    }
    app->done = 1;
    cli_session_stop(app->s);
}

static void quit_tick(void *ctx)
{
    struct cli_app *app = ctx;
    int idle = cli_session_idle(app->s), online = cli_session_online(app->s);
    char groups[256], why[512];
    int unsent = cli_session_unsent(app->s, groups, sizeof groups);
    int late;

    /* While the server keeps accepting what was typed (a long paste
     * under its rate limit), the wait goes on: only a stall ends it. */
    if (unsent < app->quit_unsent)
        app->quit_deadline_ms =
            cli_now_ms() + (app->line_mode ? APP_EOF_WAIT_MS : APP_QUIT_WAIT_MS);
    app->quit_unsent = unsent;
    late = cli_now_ms() >= app->quit_deadline_ms;

    if (idle && unsent == 0) {
        leave(app, NULL);
        return;
    }
    if (idle) {
        /* Nothing more will happen: they are for groups we are not in. */
        snprintf(why, sizeof why, "%d message%s for %s not sent: you are not a member yet; "
                 "kept, and sent once you are", unsent, unsent == 1 ? "" : "s", groups);
        leave(app, why);
        return;
    }
    if (late || (!app->line_mode && !online)) {
        if (unsent > 0)
            snprintf(why, sizeof why, "%s: %d message%s for %s not sent yet; kept, and sent "
                     "next time", online ? "the server did not confirm everything in time"
                                         : "not connected to the server",
                     unsent, unsent == 1 ? "" : "s", groups);
        else
            snprintf(why, sizeof why, "%s before everything was done (joining, a change "
                     "to a group or catching up)", online ? "the server did not answer in time"
                                                      : "not connected to the server");
        leave(app, app->line_mode || unsent > 0 ? why : NULL);
        return;
    }
    cli_timer_start(cli_session_net(app->s), &app->quit_timer, 50, quit_tick, app);
}

void cli_app_quit(struct cli_app *app)
{
    if (app->quitting)
        return;
    app->quitting = 1;
    app->quit_unsent = cli_session_unsent(app->s, NULL, 0);
    app->quit_deadline_ms =
        cli_now_ms() + (app->line_mode ? APP_EOF_WAIT_MS : APP_QUIT_WAIT_MS);
    quit_tick(app);
}

/* ------------------------------------------------------------ commands */

struct app_cmd {
    const char *name;
    const char *args;
    const char *help;
    int min_args, max_args;
    void (*run)(struct cli_app *app, char **argv, int argc);
};

static int need_group(struct cli_app *app)
{
    if (!app->current[0]) {
        sys(app, NULL, 1, "you are in no group yet (/join a group)");
        return 0;
    }
    switch (cli_session_membership(app->s, app->current)) {
    case CLI_MEMBERSHIP_MEMBER:
        return 1;
    case CLI_MEMBERSHIP_WAITING:
        sys(app, NULL, 1, "you are not a member of #%s yet: an administrator must /invite you",
            app->current);
        return 0;
    case CLI_MEMBERSHIP_GONE:
        sys(app, NULL, 1, "you are no longer a member of #%s", app->current);
        return 0;
    default:
        sys(app, NULL, 1, "#%s is not joined yet (%s); try again in a moment", app->current,
            cli_session_connection(app->s));
        return 0;
    }
}

static void cmd_invite(struct cli_app *app, char **argv, int argc)
{
    if (!need_group(app))
        return;
    cli_session_invite(app->s, app->current, argv, (size_t)argc);
}

static void list_cb(void *ctx, const struct cli_member_info *m)
{
    struct cli_app *app = ctx;
    const char *v = m->verified > 0 ? "key matches the directory"
                    : m->verified < 0 ? "KEY DOES NOT MATCH THE DIRECTORY"
                                      : "key not checked yet";
    const char *pin = m->pin < 0 ? "; KEY CHANGED: NOT THE PINNED KEY"
                      : m->pin_verified ? "; verified" : "";
    sys(app, app->current, m->verified < 0 || m->pin < 0, "  %s%s%s  %s  (%s%s)", m->username,
        m->admin ? " [admin]" : "", m->self ? " [you]" : "", m->fingerprint, v, pin);
}

static void cmd_list(struct cli_app *app, char **argv, int argc)
{
    const char *refused = app->current[0] ? cli_session_refusal(app->s, app->current) : NULL;
    (void)argv;
    (void)argc;
    if (refused) {
        /* Said before the list: the group is not followed any more. */
        sys(app, app->current, 1, "#%s is NOT followed: this client %s, which the server "
            "accepted: the server is misbehaving. Members of the last epoch it verified:",
            app->current, refused);
        cli_session_members(app->s, app->current, list_cb, app);
        return;
    }
    if (!need_group(app))
        return;
    sys(app, app->current, 0, "members of #%s (%d):", app->current,
        cli_session_member_count(app->s, app->current));
    cli_session_members(app->s, app->current, list_cb, app);
}

struct groups_ctx {
    struct cli_app *app;
    int index, count;
};

static void groups_cb(void *ctx, const struct cli_group_info *g)
{
    struct groups_ctx *c = ctx;
    const char *state = g->status == CLI_GROUP_JOINED    ? ""
                        : g->status == CLI_GROUP_REMOVED ? " (removed)"
                        : g->status == CLI_GROUP_REFUSED ? " (no longer followed: a member "
                                                           "broke the rules)"
                                                         : " (out of sync, rejoining)";
    c->index++;
    c->count++;
    sys(c->app, NULL, 0, "%s%d #%s  %d member%s, %lld unread%s%s",
        strcmp(g->name, c->app->current) == 0 ? "* " : "  ", c->index, g->name, g->members,
        g->members == 1 ? "" : "s", (long long)g->unread, g->admin ? ", administrator" : "", state);
}

static void cmd_groups(struct cli_app *app, char **argv, int argc)
{
    struct groups_ctx c;
    (void)argv;
    (void)argc;
    memset(&c, 0, sizeof c);
    c.app = app;
    cli_session_groups(app->s, groups_cb, &c);
    if (c.count == 0)
        sys(app, NULL, 0, "you are in no group yet");
}

static int group_arg(struct cli_app *app, char *name)
{
    if (name[0] == '#')
        memmove(name, name + 1, strlen(name));
    cli_lowercase(name);
    if (!cli_valid_groupname(name)) {
        sys(app, NULL, 1, "\"%s\" is not a valid group name (a-z, 0-9, _ - ., at most 64)",
            name);
        return 0;
    }
    return 1;
}

static void cmd_switch(struct cli_app *app, char **argv, int argc)
{
    char *end;
    long n;
    (void)argc;
    n = strtol(argv[0], &end, 10);
    if (*end == 0 && n > 0) {
        cli_app_switch_index(app, (int)n);
        return;
    }
    if (!group_arg(app, argv[0]))
        return;
    if (!cli_session_is_member(app->s, argv[0])) {
        sys(app, NULL, 1, "you are not a member of #%s (/join it first)", argv[0]);
        return;
    }
    cli_app_switch(app, argv[0], 1);
}

/* /join of a pending invitation: the group opens with what it stored
 * since (line mode shows it between the history markers; the full
 * screen when it switches to the group). */
static void accept_invitation(struct cli_app *app, const char *group)
{
    snprintf(app->want, sizeof app->want, "%s", group);
    if (app->ui->all_groups)
        cli_app_show_history_marked(app, group);
    if (cli_session_accept(app->s, group) != 0)
        app->want[0] = 0;
}

static void invites_cb(void *ctx, const struct cli_invitation *inv)
{
    struct cli_app *app = ctx;
    char when[40] = "";
    time_t t = (time_t)inv->time;
    struct tm tm;
    if (localtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
    sys(app, NULL, 0, "  #%s  from %s  %s", inv->group, inv->inviter, when);
}

static void cmd_invites(struct cli_app *app, char **argv, int argc)
{
    (void)argv;
    (void)argc;
    if (cli_session_invitations(app->s, NULL, NULL) == 0) {
        sys(app, NULL, 0, "no pending invitations");
        return;
    }
    sys(app, NULL, 0, "pending invitations (/join group or /decline group):");
    cli_session_invitations(app->s, invites_cb, app);
}

static void cmd_decline(struct cli_app *app, char **argv, int argc)
{
    (void)argc;
    if (!group_arg(app, argv[0]))
        return;
    if (cli_session_decline(app->s, argv[0]) != 0)
        sys(app, NULL, 1, "there is no pending invitation to #%s (/invites lists them)", argv[0]);
}

/* /topic prints the current group's topic, /topic text sets it. */
static void cmd_topic(struct cli_app *app, char **argv, int argc)
{
    char topic[CLI_TOPIC_TEXT_MAX];
    const char *text = app->args_raw ? app->args_raw : "";
    (void)argv;
    if (!need_group(app))
        return;
    if (argc == 0) {
        if (cli_session_topic(app->s, app->current, topic, sizeof topic) != 0 || !topic[0])
            sys(app, app->current, 0, "#%s has no topic", app->current);
        else
            sys(app, app->current, 0, "topic of #%s: %s", app->current, topic);
        return;
    }
    if (!*text) {
        sys(app, app->current, 1, "out of memory: the topic is not set");
        return;
    }
    cli_session_set_topic(app->s, app->current, text);
}

/* /join [--create] group: a pending invitation is accepted; --create is
 * the consent to make the group if the server has no such name
 * (app_create.c). */
static void cmd_join(struct cli_app *app, char **argv, int argc)
{
    int create = argc == 2 && strcmp(argv[0], "--create") == 0;
    char *name = argv[argc - 1];
    if (argc == 2 && !create) {
        sys(app, NULL, 1, "usage: /join [--create] group");
        return;
    }
    if (!group_arg(app, name))
        return;
    if (cli_session_invited(app->s, name)) {
        accept_invitation(app, name);
        return;
    }
    if (cli_session_is_member(app->s, name)) {
        cli_app_switch(app, name, 1);
        return;
    }
    snprintf(app->want, sizeof app->want, "%s", name);
    sys(app, NULL, 0, "joining #%s ...", name);
    if (create)
        cli_session_create(app->s, name);
    else
        cli_session_join(app->s, name);
}

static void cmd_update(struct cli_app *app, char **argv, int argc)
{
    (void)argv;
    (void)argc;
    if (!need_group(app))
        return;
    cli_session_update(app->s, app->current);
}

/* /me: the text "/me action" goes as an ordinary message (line mode and
 * older clients show it as it is); the full screen draws it as an
 * action, "* alice waves". */
static void cmd_me(struct cli_app *app, char **argv, int argc)
{
    /* One byte more than a message may hold: a longer action is refused
     * by the outbox as too long, never cut to fit. */
    char text[CLI_TEXT_MAX + 2];
    size_t o = 0;
    int i;
    if (!app->current[0]) {
        sys(app, NULL, 1, "you are in no group yet (/join a group)");
        return;
    }
    o = (size_t)snprintf(text, sizeof text, "/me");
    for (i = 0; i < argc && o + 2 < sizeof text; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, " %s", argv[i]);
    cli_session_send_text(app->s, app->current, text);
}

static void cmd_op(struct cli_app *app, char **argv, int argc)
{
    (void)argc;
    if (need_group(app))
        cli_session_set_admin(app->s, app->current, argv[0], 1);
}

static void cmd_deop(struct cli_app *app, char **argv, int argc)
{
    (void)argc;
    if (need_group(app))
        cli_session_set_admin(app->s, app->current, argv[0], 0);
}

static void cmd_kick(struct cli_app *app, char **argv, int argc)
{
    (void)argc;
    if (need_group(app))
        cli_session_kick(app->s, app->current, argv[0]);
}

static void cmd_leave(struct cli_app *app, char **argv, int argc)
{
    (void)argv;
    (void)argc;
    if (need_group(app))
        cli_session_leave(app->s, app->current);
}

static void cmd_whois(struct cli_app *app, char **argv, int argc)
{
    (void)argc;
    cli_lowercase(argv[0]);
    cli_session_whois(app->s, argv[0]);
}

static void cmd_verify(struct cli_app *app, char **argv, int argc)
{
    cli_lowercase(argv[0]);
    cli_session_verify(app->s, argv[0], argc > 1 ? argv[1] : NULL);
}

static void cmd_nick(struct cli_app *app, char **argv, int argc)
{
    (void)argc;
    cli_lowercase(argv[0]);
    cli_session_nick(app->s, argv[0]);
}

static void cmd_code(struct cli_app *app, char **argv, int argc)
{
    (void)argv;
    (void)argc;
    if (!need_group(app))
        return;
    cli_session_code(app->s, app->current);
}

static void cmd_help(struct cli_app *app, char **argv, int argc);

#define APP_SEARCH_LINES 50

struct search_ctx {
    struct cli_app *app;
    int n;
};

static void search_cb(void *ctx, int own, const char *sender, const char *text, int64_t time)
{
    struct search_ctx *c = ctx;
    char when[32] = "";
    time_t t = (time_t)time;
    struct tm tm;
    (void)own;
    if (localtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
    c->n++;
    sys(c->app, c->app->current, 0, "  %s <%s>  %s", when, sender ? sender : "?", text);
}

static void cmd_search(struct cli_app *app, char **argv, int argc)
{
    char text[512];
    size_t o = 0;
    int i;
    struct search_ctx c;
    if (!app->current[0]) {
        sys(app, NULL, 1, "you are in no group yet (/join a group)");
        return;
    }
    text[0] = 0;
    for (i = 0; i < argc && o + 2 < sizeof text; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "%s%s", i ? " " : "", argv[i]);
    c.app = app;
    c.n = 0;
    sys(app, app->current, 0, "search of #%s for \"%s\" (the last %d matches, local history):",
        app->current, text, APP_SEARCH_LINES);
    cli_session_search(app->s, app->current, text, APP_SEARCH_LINES, search_cb, &c);
    sys(app, app->current, 0, "%d line%s found", c.n, c.n == 1 ? "" : "s");
}

static void cmd_quit(struct cli_app *app, char **argv, int argc)
{
    (void)argv;
    (void)argc;
    cli_app_quit(app);
}

static const struct app_cmd commands[] = {
    {"invite", "user...", "invite users to the current group (administrators only)", 1,
     APP_MAX_ARGS, cmd_invite},
    {"list", "", "members of the current group with their key fingerprints", 0, 0, cmd_list},
    {"groups", "", "your groups with unread counts", 0, 0, cmd_groups},
    {"switch", "group|N", "talk in another of your groups (also Alt+1..9)", 1, 1, cmd_switch},
    {"join", "[--create] group", "join a group (through an invitation); --create makes it if "
     "it does not exist (the full screen asks)", 1, 2, cmd_join},
    {"invites", "", "invitations waiting for your answer (group, from, when)", 0, 0, cmd_invites},
    {"decline", "group", "refuse an invitation: leave that group and forget it", 1, 1,
     cmd_decline},
    {"topic", "[text]", "show the current group's topic, or set it (administrators only)", 0,
     APP_MAX_ARGS, cmd_topic},
    {"update", "", "refresh your keys in the current group", 0, 0, cmd_update},
    {"me", "action", "an action (\"* you waves\" on the full screen)", 1, APP_MAX_ARGS, cmd_me},
    {"search", "text", "find messages of the current group containing text (local history)", 1,
     APP_MAX_ARGS, cmd_search},
    {"op", "user", "make a member an administrator (administrators only)", 1, 1, cmd_op},
    {"deop", "user", "take a member's administrator role (administrators only)", 1, 1,
     cmd_deop},
    {"kick", "user", "remove a member from the current group (administrators only)", 1, 1,
     cmd_kick},
    {"leave", "", "leave the current group (an administrator's client completes it)", 0, 0,
     cmd_leave},
    {"whois", "user", "a user's key fingerprint, pinned since, verified, groups you share", 1, 1,
     cmd_whois},
    {"verify", "user [ok|accept]", "safety number with a user; ok: mark their key verified; "
     "accept: trust their new key", 1, 2, cmd_verify},
    {"code", "", "the current epoch's code, equal for every member (compare out of band)", 0, 0,
     cmd_code},
    {"nick", "newname", "change your username (in every group: others see old is now new)", 1,
     1, cmd_nick},
    {"reconnect", "", "connect to the server now instead of at the next try", 0, 0,
     cli_app_cmd_reconnect},
    {"help", "", "this list", 0, 0, cmd_help},
    {"quit", "", "exit the program (what you typed is sent first; you stay a member of "
     "your groups)", 0, 0, cmd_quit},
};

static void cmd_help(struct cli_app *app, char **argv, int argc)
{
    size_t i;
    (void)argv;
    (void)argc;
    sys(app, NULL, 0, "commands:");
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        sys(app, NULL, 0, "  /%s %s  %s", commands[i].name, commands[i].args, commands[i].help);
    sys(app, NULL, 0, "any other line is a message to the current group (start it with // "
        "to send a line beginning with /)");
}

/* Edit distance between a and b (both short), for "did you mean". */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i, j, row[33];
    if (la > 32 || lb > 32)
        return 99;
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

/* The command a mistyped name most likely meant: the one a unique
 * prefix names, else the nearest within two edits; NULL if none. */
static const char *closest_command(const char *name)
{
    const char *found = NULL, *best = NULL;
    size_t i, n = strlen(name), prefixed = 0, best_d = 3;
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        size_t d = distance(name, commands[i].name);
        if (n > 0 && strncmp(commands[i].name, name, n) == 0) {
            found = commands[i].name;
            prefixed++;
        }
        if (d < best_d) {
            best_d = d;
            best = commands[i].name;
        }
    }
    return prefixed == 1 ? found : best;
}

static void run_command(struct cli_app *app, char *line)
{
    char *argv[APP_MAX_ARGS + 1], *save = NULL, *tok, *name;
    int argc = 0;
    size_t i;

    char *raw = strdup(line);
    size_t skip = strspn(line + 1, " \t");

    skip += strcspn(line + 1 + skip, " \t");
    skip += strspn(line + 1 + skip, " \t");
    app->args_raw = raw ? raw + 1 + skip : "";
    name = strtok_r(line + 1, " \t", &save);
    if (!name) {
        sys(app, NULL, 1, "empty command; /help lists the commands");
        goto out;
    }
    while ((tok = strtok_r(NULL, " \t,", &save)) != NULL) {
        if (argc == APP_MAX_ARGS + 1)
            break;
        argv[argc++] = tok;
    }
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const struct app_cmd *c = &commands[i];
        if (strcmp(c->name, name) != 0)
            continue;
        if (argc < c->min_args || argc > c->max_args) {
            sys(app, NULL, 1, "usage: /%s %s", c->name, c->args);
            goto out;
        }
        c->run(app, argv, argc);
        goto out;
    }
    if (closest_command(name))
        sys(app, NULL, 1, "unknown command /%s; did you mean /%s? (/help lists the commands)",
            name, closest_command(name));
    else
        sys(app, NULL, 1, "unknown command /%s; /help lists the commands", name);
out:
    app->args_raw = NULL;
    free(raw);
}

void cli_app_input(struct cli_app *app, const char *line)
{
    char *copy;
    size_t n = strlen(line);

    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
        n--;
    if (n == 0)
        return; /* an empty line sends nothing */
    if (app->quitting)
        return;
    copy = malloc(n + 1);
    if (!copy)
        return;
    memcpy(copy, line, n);
    copy[n] = 0;
    if (copy[0] == '/' && copy[1] != '/') {
        run_command(app, copy);
    } else if (!app->current[0]) {
        sys(app, NULL, 1, "you are in no group yet (/join a group)");
    } else {
        /* Queued also before the group is joined: it goes out, in
         * order, once it is (the session says why if it cannot). */
        cli_session_send_text(app->s, app->current, copy[0] == '/' ? copy + 1 : copy);
    }
    free(copy);
}

/* ------------------------------------------------------------ completion */

#define APP_COMPLETE_MAX 64

struct complete_ctx {
    const char *prefix; /* what was typed of the word, without its '/' or '#' */
    char cand[APP_COMPLETE_MAX][72];
    size_t n;
};

static void complete_add(struct complete_ctx *c, const char *lead, const char *name)
{
    size_t i;
    if (strncmp(name, c->prefix, strlen(c->prefix)) != 0 || c->n == APP_COMPLETE_MAX)
        return;
    for (i = 0; i < c->n; i++)
        if (strcmp(c->cand[i] + strlen(lead), name) == 0)
            return;
    snprintf(c->cand[c->n++], sizeof c->cand[0], "%s%s", lead, name);
}

static void complete_member(void *ctx, const struct cli_member_info *m)
{
    if (!m->self)
        complete_add(ctx, "", m->username);
}

struct complete_groups {
    struct complete_ctx *c;
    const char *lead;
};

static void complete_group(void *ctx, const struct cli_group_info *g)
{
    struct complete_groups *cg = ctx;
    complete_add(cg->c, cg->lead, g->name);
}

int cli_app_complete(struct cli_app *app, const char *before, char *out, size_t max)
{
    struct complete_ctx c;
    struct complete_groups cg;
    const char *word = strrchr(before, ' ');
    size_t i, common;
    char list[512];
    int first;

    word = word ? word + 1 : before;
    first = word == before;
    memset(&c, 0, sizeof c);
    cg.c = &c;
    if (first && word[0] == '/') {
        c.prefix = word + 1;
        for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
            complete_add(&c, "/", commands[i].name);
    } else if (word[0] == '#') {
        c.prefix = word + 1;
        cg.lead = "#";
        cli_session_groups(app->s, complete_group, &cg);
    } else if (strncmp(before, "/switch ", 8) == 0 || strncmp(before, "/join ", 6) == 0) {
        c.prefix = word;
        cg.lead = "";
        cli_session_groups(app->s, complete_group, &cg);
    } else {
        if (!word[0] || !app->current[0])
            return 0;
        c.prefix = word;
        cli_session_members(app->s, app->current, complete_member, &c);
    }
    if (c.n == 0)
        return 0;
    if (c.n == 1) {
        snprintf(out, max, "%s ", c.cand[0]);
        return 1;
    }
    /* Several: their common beginning, and the list to choose from. */
    common = strlen(c.cand[0]);
    for (i = 1; i < c.n; i++) {
        size_t k = 0;
        while (k < common && c.cand[i][k] == c.cand[0][k])
            k++;
        common = k;
    }
    snprintf(out, max, "%.*s", (int)common, c.cand[0]);
    list[0] = 0;
    for (i = 0; i < c.n && strlen(list) + strlen(c.cand[i]) + 2 < sizeof list; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? " " : "",
                 c.cand[i]);
    sys(app, NULL, 0, "%s", list);
    return 1;
}
