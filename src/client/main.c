/*
 * mlschat terminal client.
 *
 *   ./client --server http://hostname:NNNN [--config DIR] [--ca-file FILE] [--create]
 *            [--passphrase-file F] <groupname> <username>
 *
 * Sets up the config directory, the session (store, identity, network),
 * the UI (curses on a terminal, line mode otherwise) and runs the one
 * event loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <termios.h>

#include <openssl/crypto.h>

#include "commands.h"
#include "seal.h"
#include "textsafe.h"
#include "util.h"

#define PASSPHRASE_MAX 1024

static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    unsigned char b = (unsigned char)sig;
    int saved = errno;
    if (write(sig_pipe[1], &b, 1) < 0) {
        /* Nothing to do: the pipe is full, a wake-up is pending anyway. */
    }
    errno = saved;
}

/* "client: why" on stderr, through the sanitizer (it may quote what the
 * server or another member sent). */
static void fail(const char *why)
{
    char *t = cli_textsafe_str(why);
    fprintf(stderr, "client: %s\n", t ? t : "out of memory");
    free(t);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ./client --server http://hostname:NNNN [--config DIR] [--ca-file FILE]\n"
            "                [--create] [--passphrase-file FILE] <groupname> <username>\n"
            "       ./client --help | --version\n"
            "\n"
            "End-to-end encrypted group chat over MLS (RFC 9420).\n"
            "\n"
            "  --server URL     the mlschat server (http:// or https://); also --server=URL\n"
            "  --config DIR     keys, groups and history (default ~/.mlschat); several\n"
            "                   usernames may share one directory\n"
            "  --ca-file FILE   extra CA certificates for https:// servers\n"
            "  --create         create <groupname> if the server has no such group (you\n"
            "                   become its administrator); an existing group just opens.\n"
            "                   Without it the full screen asks, line mode refuses\n"
            "  --passphrase-file FILE\n"
            "                   protect the data key (DIR/key) with the passphrase on\n"
            "                   the first line of FILE; MLSCHAT_PASSPHRASE does the same\n"
            "                   for scripts, and on a terminal the client asks when the\n"
            "                   key file needs one\n"
            "  --help, -h       this text\n"
            "  --version        the version\n"
            "\n"
            "A new group is created by its first user (with --create, or by answering y);\n"
            "others join when an administrator types /invite <username>.  Commands:\n"
            "/invite user..., /list, /groups, /switch group|N, /join [--create] group,\n"
            "/invites, /decline group, /topic [text], /update, /me action, /search text,\n"
            "/op user, /deop user, /kick user, /leave, /nick newname, /whois user,\n"
            "/verify user [ok|accept], /code, /reconnect, /help, and\n"
            "/quit (exits the program; you stay a member of your groups).\n"
            "Other lines are messages to the current group (//text sends /text).\n"
            "\n"
            "Keys (full screen): Enter sends; Left/Right, Home/End, Ctrl-A/Ctrl-E,\n"
            "Ctrl-B/Ctrl-F move; Backspace, Delete/Ctrl-D, Ctrl-K, Ctrl-U, Ctrl-W delete;\n"
            "Up/Down (Ctrl-P/Ctrl-N) recall earlier lines; PgUp/PgDn scroll back; Alt+1..9\n"
            "switch groups; Tab completes commands, member names and group names; Ctrl-L\n"
            "redraws; y/n (Esc) answer a question; while offline any key reconnects at once.\n"
            "\n"
            "When stdin is not a terminal, lines are read from stdin and shown on stdout\n"
            "(line mode); the exit status is 1 when something typed was not sent.\n");
}

/* mkdir -p with mode 0700 for what it creates. */
static int make_dirs(const char *path)
{
    char *p = strdup(path), *q;
    int rc = -1;
    if (!p)
        return -1;
    for (q = p + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = 0;
        if (mkdir(p, 0700) != 0 && errno != EEXIST)
            goto out;
        *q = '/';
    }
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
        goto out;
    rc = 0;
out:
    free(p);
    return rc;
}

/* Cuts a passphrase at its first line end. */
static void first_line(char *p)
{
    p[strcspn(p, "\r\n")] = 0;
}

/* The first line of path into out[PASSPHRASE_MAX]: 0, or -1 with err. */
static int read_passphrase_file(const char *path, char *out, char *err, size_t errlen)
{
    size_t n = 0;
    ssize_t r;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;
    if (fd < 0) {
        snprintf(err, errlen, "cannot read the passphrase file %s: %s", path, strerror(errno));
        return -1;
    }
    while (n < PASSPHRASE_MAX - 1 && (r = read(fd, out + n, PASSPHRASE_MAX - 1 - n)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "cannot read the passphrase file %s: %s", path,
                     strerror(errno));
            goto out;
        }
        n += (size_t)r;
    }
    out[n] = 0;
    first_line(out);
    if (!*out) {
        snprintf(err, errlen, "the passphrase file %s is empty", path);
        goto out;
    }
    rc = 0;
out:
    close(fd);
    return rc;
}

/* Asks on the terminal, without echo: 0, or -1 (no terminal, nothing
 * typed). */
static int ask_passphrase(const char *keyfile, char *out)
{
    struct termios old, quiet;
    FILE *tty = fopen("/dev/tty", "r+");
    int rc = -1, restore = 0;
    if (!tty)
        return -1;
    fprintf(tty, "passphrase for %s: ", keyfile);
    fflush(tty);
    if (tcgetattr(fileno(tty), &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        restore = tcsetattr(fileno(tty), TCSAFLUSH, &quiet) == 0;
    }
    if (fgets(out, PASSPHRASE_MAX, tty)) {
        first_line(out);
        rc = *out ? 0 : -1;
    }
    if (restore)
        (void)tcsetattr(fileno(tty), TCSAFLUSH, &old);
    fputc('\n', tty);
    fclose(tty);
    return rc;
}

/*
 * The data key of the config directory (seal.h).  The passphrase comes
 * from --passphrase-file, else MLSCHAT_PASSPHRASE, else (a key file that
 * needs one, on a terminal) the terminal.  Nothing is opened or changed
 * before the key is known: a wrong passphrase leaves every file as it was.
 */
static int load_data_key(const char *config, const char *pass_file, int ask,
                         struct cli_seal_key *key, char *err, size_t errlen)
{
    char pass[PASSPHRASE_MAX], *path = cli_seal_key_path(config);
    const char *env = getenv("MLSCHAT_PASSPHRASE");
    int rc = -1, have = 0;

    pass[0] = 0;
    if (!path) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (pass_file) {
        if (read_passphrase_file(pass_file, pass, err, errlen) != 0)
            goto out;
        have = 1;
    } else if (env && *env) {
        snprintf(pass, sizeof pass, "%s", env);
        have = 1;
    } else if (ask && cli_seal_key_file_protected(path) == 1 && ask_passphrase(path, pass) == 0) {
        have = 1;
    }
    if (cli_seal_key_load(path, have ? pass : NULL, NULL, key, err, errlen) != CLI_SEAL_KEY_OK)
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(pass, sizeof pass);
    free(path);
    return rc;
}

static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (strcmp(argv[*i], name) == 0 && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

static void stdin_readable(void *ctx)
{
    struct cli_app *app = ctx;
    app->ui->ops->readable(app->ui);
}

static void signal_readable(void *ctx)
{
    struct cli_app *app = ctx;
    unsigned char b[16];
    ssize_t n = read(sig_pipe[0], b, sizeof b), i;
    for (i = 0; i < n; i++) {
        if (b[i] == SIGWINCH) {
            app->ui->ops->resize(app->ui);
        } else if (b[i] == SIGTSTP) {
            if (app->ui->ops->suspend)
                app->ui->ops->suspend(app->ui);
        } else if (app->quitting) {
            app->done = 1; /* a second ^C: leave now */
            cli_session_stop(app->s);
        } else {
            cli_app_quit(app);
        }
    }
}

static void ui_input(void *ctx, const char *line)
{
    cli_app_input(ctx, line);
}

static int ui_complete(void *ctx, const char *before, char *out, size_t max)
{
    return cli_app_complete(ctx, before, out, max);
}

static void ui_eof(void *ctx)
{
    struct cli_app *app = ctx;
    cli_net_unwatch_fd(cli_session_net(app->s), STDIN_FILENO);
    cli_app_quit(app);
}

static void ui_key(void *ctx)
{
    cli_app_reconnect(ctx, 0);
}

static int ui_page(void *ctx, const char *group, int older, int64_t id, int limit,
                   int64_t *first, int64_t *last)
{
    return cli_app_page(ctx, group, older, id, limit, first, last);
}

static void ui_answer(void *ctx, int yes)
{
    cli_app_create_answer(ctx, yes);
}

static void ui_switch(void *ctx, int n)
{
    cli_app_switch_index(ctx, n);
}

int main(int argc, char **argv)
{
    const char *server = NULL, *config = NULL, *ca_file = NULL, *pass_file = NULL, *v;
    struct cli_seal_key data_key;
    char *pos[2] = {NULL, NULL}, group[65], user[33], err[512], *config_alloc = NULL;
    int npos = 0, i, rc = 1, line_mode, create = 0;
    struct cli_app app;
    struct cli_ui_callbacks cb;
    struct cli_session_events ev;
    struct cli_session_config sc;
    struct sigaction sa;

    memset(&app, 0, sizeof app);
    memset(&data_key, 0, sizeof data_key);
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("mlschat client %s (MLS RFC 9420, protocol v1)\n", CLI_VERSION);
            return 0;
        }
        if ((v = opt_value(argc, argv, &i, "--server")) != NULL) {
            server = v;
        } else if ((v = opt_value(argc, argv, &i, "--config")) != NULL) {
            config = v;
        } else if ((v = opt_value(argc, argv, &i, "--ca-file")) != NULL) {
            ca_file = v;
        } else if ((v = opt_value(argc, argv, &i, "--passphrase-file")) != NULL) {
            pass_file = v;
        } else if (strcmp(argv[i], "--create") == 0) {
            create = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            snprintf(err, sizeof err, "unknown or incomplete option %s", argv[i]);
            fail(err);
            fputc('\n', stderr);
            usage(stderr);
            return 2;
        } else if (npos < 2) {
            pos[npos++] = argv[i];
        } else {
            fprintf(stderr, "client: too many arguments\n\n");
            usage(stderr);
            return 2;
        }
    }
    if (!server || npos != 2) {
        usage(stderr);
        return 2;
    }
    if (pos[0][0] == '#')
        pos[0]++;
    snprintf(group, sizeof group, "%s", pos[0]);
    snprintf(user, sizeof user, "%s", pos[1]);
    cli_lowercase(group);
    cli_lowercase(user);
    if (strlen(pos[0]) > 64 || !cli_valid_groupname(group)) {
        snprintf(err, sizeof err, "\"%s\" is not a valid group name (1-64 of a-z 0-9 _ - ., "
                 "starting with a letter or digit)", pos[0]);
        fail(err);
        return 2;
    }
    if (strlen(pos[1]) > 32 || !cli_valid_username(user)) {
        snprintf(err, sizeof err, "\"%s\" is not a valid username (1-32 of a-z 0-9 _ - ., "
                 "starting with a letter or digit)", pos[1]);
        fail(err);
        return 2;
    }
    if (!config) {
        const char *home = getenv("HOME");
        if (!home || !*home) {
            fprintf(stderr, "client: HOME is not set; use --config DIR\n");
            return 2;
        }
        config_alloc = cli_strdupf("%s/.mlschat", home);
        if (!config_alloc)
            return 1;
        config = config_alloc;
    }
    /* Everything the client writes is private to the user. */
    umask(077);
    if (make_dirs(config) != 0) {
        snprintf(err, sizeof err, "cannot create the config directory %s: %s", config,
                 strerror(errno));
        fail(err);
        goto out;
    }
    cli_log_open();

    setlocale(LC_ALL, "");
    line_mode = !isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO);
    if (getenv("MLSCHAT_LINE_MODE"))
        line_mode = 1;
    if (load_data_key(config, pass_file, !line_mode, &data_key, err, sizeof err) != 0) {
        fail(err);
        goto out;
    }
    memset(&cb, 0, sizeof cb);
    cb.on_input = ui_input;
    cb.on_eof = ui_eof;
    cb.on_switch_index = ui_switch;
    cb.on_complete = ui_complete;
    cb.on_answer = ui_answer;
    cb.on_key = ui_key;
    cb.on_page = ui_page;
    cb.ctx = &app;
    if (!line_mode && MB_CUR_MAX == 1)
        setlocale(LC_CTYPE, "C.UTF-8"); /* UTF-8 text needs a UTF-8 locale */
    app.line_mode = line_mode;
    app.ui = line_mode ? cli_ui_line_new(&cb) : cli_ui_curses_new(&cb);
    if (!app.ui)
        goto out;

    cli_app_session_events(&app, &ev);
    memset(&sc, 0, sizeof sc);
    sc.username = user;
    sc.config_dir = config;
    sc.server_url = server;
    sc.ca_file = ca_file;
    sc.data_key = &data_key;
    if (cli_session_new(&sc, &ev, &app.s, err, sizeof err) != 0) {
        fail(err);
        goto out;
    }

    if (pipe(sig_pipe) != 0)
        goto out;
    fcntl(sig_pipe[0], F_SETFL, O_NONBLOCK);
    fcntl(sig_pipe[1], F_SETFL, O_NONBLOCK);
    fcntl(sig_pipe[0], F_SETFD, FD_CLOEXEC);
    fcntl(sig_pipe[1], F_SETFD, FD_CLOEXEC);

    if (app.ui->ops->start(app.ui) != 0) {
        fprintf(stderr, "client: cannot start the terminal UI\n");
        goto out;
    }
    /* After the UI start: ours replace the handlers curses installs. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGWINCH, &sa, NULL);
    if (!line_mode)
        sigaction(SIGTSTP, &sa, NULL); /* the UI stops itself, terminal restored */
    signal(SIGPIPE, SIG_IGN);

    if (cli_net_watch_fd(cli_session_net(app.s), sig_pipe[0], signal_readable, &app) != 0 ||
        cli_net_watch_fd(cli_session_net(app.s), STDIN_FILENO, stdin_readable, &app) != 0) {
        app.ui->ops->stop(app.ui);
        fprintf(stderr, "client: cannot watch the terminal\n");
        goto out;
    }

    snprintf(app.current, sizeof app.current, "%s", group);
    snprintf(app.want, sizeof app.want, "%s", group);
    snprintf(app.start, sizeof app.start, "%s", group);
    if (!app.ui->all_groups)
        cli_app_switch(&app, group, 0);
    else
        cli_app_show_history_marked(&app, group);
    app.ui->ops->show(app.ui, CLI_LINE_SYSTEM, NULL, NULL, "connecting ...", (int64_t)cli_time());
    cli_app_status(&app);
    cli_session_start(app.s);
    if (create)
        cli_session_create(app.s, group);
    else
        cli_session_join(app.s, group);

    while (!app.done) {
        int served = cli_net_service(cli_session_net(app.s));
        /* Line mode writes whole turns (a catch-up page at once), not
         * single lines: what a turn showed is out before the next wait. */
        if (line_mode)
            fflush(stdout);
        if (served < 0)
            break;
    }
    rc = app.exit_code;
    app.ui->ops->stop(app.ui);
    if (rc != 0) {
        fail(app.fatal[0] ? app.fatal : "exiting after an error");
    } else if (!line_mode) {
        /* The full screen is gone with what it said: what was left
         * unsent is said again on the normal terminal, and the exit
         * status tells (line mode's quit has done both already). */
        char groups[256];
        int unsent = cli_session_unsent(app.s, groups, sizeof groups);
        if (unsent > 0) {
            char why[512];
            snprintf(why, sizeof why, "%d message%s for %s not sent yet; kept, and sent next time",
                     unsent, unsent == 1 ? "" : "s", groups);
            fail(why);
            rc = 1;
        }
    }
out:
    cli_session_free(app.s);
    if (app.ui)
        app.ui->ops->free(app.ui);
    if (sig_pipe[0] >= 0)
        close(sig_pipe[0]);
    if (sig_pipe[1] >= 0)
        close(sig_pipe[1]);
    free(config_alloc);
    cli_seal_key_clear(&data_key);
    cli_log_close();
    return rc;
}
