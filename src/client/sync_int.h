/*
 * Group sync's internals shared by its files: sync.c (entries, pages,
 * reading the log) and sync_commit.c (judging a commit and saying what
 * it changed).
 */
#ifndef CLI_SYNC_INT_H
#define CLI_SYNC_INT_H

#include <stdint.h>

#include "core.h"
#include "judge.h"

/* What an entry shows, held until its transaction is committed. */
enum line_kind { LINE_MESSAGE = 0, LINE_OWN, LINE_SYSTEM, LINE_ERROR };

struct line {
    enum line_kind kind;
    char sender[40];
    char *text;
    int64_t time;
};

struct lines {
    struct line item[8];
    size_t n;
};

/* Queues a line (at most 8 per entry); shown once its transaction is
 * committed. */
void sync_lines_add(struct lines *q, enum line_kind kind, const char *sender, int64_t time,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* A commit the client's rules refuse: said, and g stops at it. */
void sync_refuse_commit(struct cli_session *s, struct cli_grp *g, const struct cli_log_entry *e,
                        const struct cli_judgement *j);
/* Another member's commit, staged in *sc: judged, then adopted with the
 * lines that say what it changed (sync_commit.c). */
int sync_commit_step(struct cli_session *s, struct cli_grp *g, const struct cli_log_entry *e,
                     mls_process_result *res, mls_staged_commit *sc, struct lines *q,
                     mls_buf *next);
/* Our own commit came back in the log: adopt the state we prepared. */
int sync_own_commit(struct cli_session *s, struct cli_grp *g, const struct cli_log_entry *e,
                    struct lines *q);

#endif
