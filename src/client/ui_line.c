/*
 * Line mode, for when stdin is not a terminal: commands and messages are
 * read line by line; every line to show goes to stdout, flushed at once,
 * so the client can be scripted and tested:
 *
 *   #group <user>  text      a message (also the user's own)
 *   *** text                 a system line
 *   !!! text                 an error
 *
 * Every string goes through the sanitizer (textsafe.h) on its way out:
 * nothing a terminal would act on reaches stdout raw.
 *
 * A line ending in a backslash continues: the backslash becomes a
 * newline and the next line is part of the same message (how a script
 * sends a multi-line message, the full screen's pasted block); a line
 * ending in two backslashes ends with one and does not continue.  A
 * message over CLI_TEXT_MAX bytes is refused whole with an error, never
 * cut.
 */
#include "ui.h"

#include "textsafe.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Longer lines are refused whole (a message is at most 16000 bytes; the
 * outbox says so for lines up to this). */
#define LINE_MAX_INPUT 65536

struct ui_line {
    struct cli_ui base;
    char *buf;
    size_t len, cap;
    int eof;
    int skipping; /* the rest of an overlong line is dropped */
    /* Lines continued by a trailing backslash, newlines between them. */
    char *cont;
    size_t cont_len, cont_lines;
    int cont_over; /* went beyond CLI_TEXT_MAX: refused when it ends */
};

static int line_start(struct cli_ui *ui)
{
    (void)ui;
    /* Fully buffered: the main loop flushes after each turn of the event
     * loop, so a catch-up page of hundreds of lines is one write. */
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    return 0;
}

static void line_stop(struct cli_ui *ui)
{
    (void)ui;
    fflush(stdout);
}

static void line_show(struct cli_ui *ui, enum cli_line_kind kind, const char *group,
                      const char *sender, const char *text, int64_t time);

/* Appends a continued line (with its newline) to the message being
 * collected; beyond the limit only the count goes on. */
static void cont_add(struct ui_line *u, const char *line, size_t n)
{
    u->cont_lines++;
    if (u->cont_over || u->cont_len + n > CLI_TEXT_MAX) {
        u->cont_over = 1;
        u->cont_len += n;
        return;
    }
    if (!u->cont) {
        u->cont = malloc(CLI_TEXT_MAX + 1);
        if (!u->cont) {
            u->cont_over = 1;
            return;
        }
    }
    memcpy(u->cont + u->cont_len, line, n);
    u->cont_len += n;
    u->cont[u->cont_len] = 0;
}

/* The collected message is complete (its last line, or end of input). */
static void cont_deliver(struct ui_line *u)
{
    char why[160];
    if (u->cont_lines == 0)
        return;
    if (u->cont_over) {
        snprintf(why, sizeof why, "message of %zu lines too long (%zu bytes, at most %d): "
                 "not sent", u->cont_lines, u->cont_len, CLI_TEXT_MAX);
        line_show(&u->base, CLI_LINE_ERROR, NULL, NULL, why, 0);
    } else {
        if (u->cont_len > 0 && u->cont[u->cont_len - 1] == '\n')
            u->cont[--u->cont_len] = 0; /* ended by end of input after a backslash */
        if (u->base.cb.on_input)
            u->base.cb.on_input(u->base.cb.ctx, u->cont);
    }
    u->cont_len = u->cont_lines = 0;
    u->cont_over = 0;
}

static void deliver(struct ui_line *u, char *line, size_t n)
{
    if (u->skipping) {
        /* The end of a line already refused: nothing of it is sent. */
        u->skipping = 0;
        return;
    }
    if (n > LINE_MAX_INPUT) {
        line_show(&u->base, CLI_LINE_ERROR, NULL, NULL,
                  "line too long (more than 65536 bytes): not sent", 0);
        return;
    }
    if (n > 0 && line[n - 1] == '\r')
        n--;
    line[n] = 0;
    if (n > 1 && line[n - 1] == '\\' && line[n - 2] == '\\') {
        line[--n] = 0; /* "\\" at the end: one backslash, and the message ends */
    } else if (n > 0 && line[n - 1] == '\\') {
        line[n - 1] = '\n';
        cont_add(u, line, n);
        return;
    }
    if (u->cont_lines == 0) {
        if (u->base.cb.on_input)
            u->base.cb.on_input(u->base.cb.ctx, line);
        return;
    }
    cont_add(u, line, n);
    cont_deliver(u);
}

static void line_readable(struct cli_ui *ui)
{
    struct ui_line *u = (struct ui_line *)ui;
    ssize_t r;
    size_t start = 0, i;

    if (u->eof)
        return;
    if (u->cap - u->len < 4096) {
        size_t cap = u->cap ? u->cap * 2 : 8192;
        char *p = realloc(u->buf, cap);
        if (!p)
            return;
        u->buf = p;
        u->cap = cap;
    }
    r = read(STDIN_FILENO, u->buf + u->len, u->cap - u->len - 1);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (r <= 0) {
        if (u->len > 0)
            deliver(u, u->buf, u->len);
        cont_deliver(u);
        u->len = 0;
        u->eof = 1;
        if (u->base.cb.on_eof)
            u->base.cb.on_eof(u->base.cb.ctx);
        return;
    }
    u->len += (size_t)r;
    for (i = 0; i < u->len; i++) {
        if (u->buf[i] == '\n') {
            deliver(u, u->buf + start, i - start);
            start = i + 1;
        }
    }
    memmove(u->buf, u->buf + start, u->len - start);
    u->len -= start;
    if (u->len > LINE_MAX_INPUT) {
        /* Longer than any message may be: refused whole, never cut into
         * pieces that would each be sent. */
        if (!u->skipping)
            line_show(ui, CLI_LINE_ERROR, NULL, NULL,
                      "line too long (more than 65536 bytes): not sent", 0);
        u->skipping = 1;
        u->len = 0;
    }
}

static void line_resize(struct cli_ui *ui)
{
    (void)ui;
}

static void line_show(struct cli_ui *ui, enum cli_line_kind kind, const char *group,
                      const char *sender, const char *text, int64_t time)
{
    char *g = cli_textsafe_str(group ? group : "?"), *s = cli_textsafe_str(sender ? sender : "?");
    char *t = cli_textsafe_str(text);
    (void)ui;
    (void)time;
    if (!g || !s || !t)
        goto out;
    switch (kind) {
    case CLI_LINE_MESSAGE:
    case CLI_LINE_OWN:
        printf("#%s <%s>  %s\n", g, s, t);
        break;
    case CLI_LINE_SYSTEM:
        printf("*** %s\n", t);
        break;
    case CLI_LINE_ERROR:
        printf("!!! %s\n", t);
        break;
    }
out:
    free(g);
    free(s);
    free(t);
}

static void line_clear(struct cli_ui *ui)
{
    (void)ui;
}

static void line_status(struct cli_ui *ui, const struct cli_ui_status *st)
{
    (void)ui;
    (void)st;
}

static void line_free(struct cli_ui *ui)
{
    struct ui_line *u = (struct ui_line *)ui;
    if (!u)
        return;
    free(u->buf);
    free(u->cont);
    free(u);
}

static const struct cli_ui_ops line_ops = {
    line_start, line_stop, line_readable, line_resize, line_show, line_clear, line_status,
    line_free, NULL, NULL, NULL, NULL,
};

struct cli_ui *cli_ui_line_new(const struct cli_ui_callbacks *cb)
{
    struct ui_line *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->base.ops = &line_ops;
    u->base.cb = *cb;
    u->base.all_groups = 1;
    return &u->base;
}
