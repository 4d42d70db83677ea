/* Group sync.  See sync.h. */
#include "sync.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consent.h"
#include "core.h"
#include "pins.h"
#include "directory.h"
#include "gcommit.h"
#include "judge.h"
#include "join.h"
#include "outbox.h"
#include "rejoin.h"
#include "sync_int.h"
#include "textsafe.h"

/* The most PROTOCOL.md §7.5 allows a page; one transaction each. */
#define SYNC_FETCH_LIMIT 500

/* ---------------------------------------------------------------- lines */

void sync_lines_add(struct lines *q, enum line_kind kind, const char *sender, int64_t time,
                    const char *fmt, ...)
{
    va_list ap;
    char *buf;
    int len;
    if (q->n == 8)
        return;
    /* Sized to the text: a message may be up to CLI_TEXT_MAX bytes and is
     * never cut. */
    va_start(ap, fmt);
    len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0 || !(buf = malloc((size_t)len + 1)))
        return;
    va_start(ap, fmt);
    vsnprintf(buf, (size_t)len + 1, fmt, ap);
    va_end(ap);
    q->item[q->n].kind = kind;
    snprintf(q->item[q->n].sender, sizeof q->item[q->n].sender, "%s", sender ? sender : "");
    q->item[q->n].text = buf;
    q->item[q->n].time = time;
    if (q->item[q->n].text)
        q->n++;
}

/* Records system lines in history (inside the caller's transaction). */
static int lines_record(struct cli_session *s, struct cli_grp *g, struct lines *q)
{
    size_t i;
    for (i = 0; i < q->n; i++)
        if (q->item[i].kind >= LINE_SYSTEM &&
            cli_store_history_add(s->store, g->rec.name, -1, q->item[i].time, NULL,
                                  q->item[i].text) < 0)
            return -1;
    return 0;
}

/* The lines of a catch-up page: shown once the page's transaction is
 * committed, so nothing is shown that a crash would make happen again. */
struct page_lines {
    struct line *item;
    size_t n, cap;
};

/* Moves q's lines to the end of p (a line that does not fit is dropped,
 * as lines_add drops the ninth). */
static void page_take(struct page_lines *p, struct lines *q)
{
    size_t i;
    for (i = 0; i < q->n; i++) {
        if (p->n == p->cap) {
            size_t cap = p->cap ? p->cap * 2 : 64;
            struct line *n = realloc(p->item, cap * sizeof *n);
            if (!n) {
                free(q->item[i].text);
                continue;
            }
            p->item = n;
            p->cap = cap;
        }
        p->item[p->n++] = q->item[i];
    }
    q->n = 0;
}

static void show_line(struct cli_session *s, struct cli_grp *g, const struct line *o)
{
    if (o->kind <= LINE_OWN) {
        if (s->ev.message)
            s->ev.message(s->ev.ctx, g->rec.name, o->sender, o->text, o->time,
                          o->kind == LINE_OWN);
    } else {
        cli_notice(s, g->rec.name, o->kind == LINE_ERROR, "%s", o->text);
    }
}

/* Shows (when asked) and frees n held lines: the one flush of a page's
 * and of an entry's lines. */
static void show_and_free(struct cli_session *s, struct cli_grp *g, struct line *item, size_t n,
                          int show)
{
    size_t i;
    for (i = 0; i < n; i++) {
        /* An invitation not accepted yet: stored, not shown (consent.h). */
        if (show && cli_consent_shown(g))
            show_line(s, g, &item[i]);
        free(item[i].text);
    }
}

static void page_flush(struct cli_session *s, struct cli_grp *g, struct page_lines *p, int show)
{
    show_and_free(s, g, p->item, p->n, show);
    free(p->item);
    memset(p, 0, sizeof *p);
}

static void lines_flush(struct cli_session *s, struct cli_grp *g, struct lines *q, int show)
{
    show_and_free(s, g, q->item, q->n, show);
    q->n = 0;
}

/* ---------------------------------------------------------------- states */

void cli_sync_mark_broken(struct cli_session *s, struct cli_grp *g, const char *why)
{
    /* A commit of ours in flight is void (its epoch is not ours any
     * more); the pending pair now means the external commit. */
    mls_buf_clear(&g->rec.pending_commit);
    mls_buf_clear(&g->rec.pending_state);
    g->rejoin_tries = 0;
    if (cli_phase_set(g, CLI_PHASE_REJOINING) != 0)
        return;
    if (cli_grp_save(s, g) != 0)
        cli_log("cannot save group state");
    cli_notice(s, g->rec.name, 1, "#%s is out of sync (%s): rejoining it", g->rec.name, why);
    cli_changed(s);
    cli_rejoin_start(s, g);
}

/* A commit the server accepted broke the chat's rules (PROTOCOL.md §7.4):
 * the server should have refused it, so this is evidence of a server that
 * misbehaves (or of a member and a server working together).  Said loudly,
 * recorded in the history, and g is no longer followed: it stays in the
 * last epoch this client verified, and a rejoin (which would adopt the
 * state the commit made) is never tried from here (phase REFUSED is
 * final). */
void sync_refuse_commit(struct cli_session *s, struct cli_grp *g, const struct cli_log_entry *e,
                        const struct cli_judgement *j)
{
    char line[768];
    snprintf(g->refusal, sizeof g->refusal, "refused a commit by %s (rule %s: %s)", j->committer,
             cli_verdict_rule(j->verdict), cli_verdict_text(j->verdict));
    snprintf(line, sizeof line,
             "REFUSED: a commit to #%s by %s (log %lld) breaks rule %s: %s. The server accepted "
             "it, which it must not: the server is misbehaving. This client no longer follows "
             "#%s and stays in epoch %llu, the last it verified.",
             g->rec.name, j->committer, (long long)e->seq, cli_verdict_rule(j->verdict),
             cli_verdict_text(j->verdict), g->rec.name,
             (unsigned long long)mls_group_epoch(g->mls));
    cli_grp_commit_settled(g);
    if (cli_phase_set(g, CLI_PHASE_REFUSED) != 0)
        return;
    if (cli_store_begin(s->store) != 0 || cli_grp_save(s, g) != 0 ||
        cli_store_history_add(s->store, g->rec.name, -1, e->time, NULL, line) < 0 ||
        cli_store_commit(s->store) != 0) {
        cli_store_rollback(s->store);
        cli_log("cannot save group state");
    }
    cli_notice(s, g->rec.name, 1, "%s", line);
    cli_changed(s);
}

/* We were removed from g: what was waiting to be sent there never will be. */
struct drop_ctx {
    const char *group;
    int64_t ids[64];
    size_t n;
};

static void drop_cb(void *ctx, int64_t id, const char *group, const char *text, mls_bytes ct)
{
    struct drop_ctx *d = ctx;
    (void)text;
    (void)ct;
    if (strcmp(group, d->group) == 0 && d->n < sizeof d->ids / sizeof d->ids[0])
        d->ids[d->n++] = id;
}

static void drop_outbox(struct cli_session *s, struct cli_grp *g)
{
    struct drop_ctx d;
    size_t i, dropped = 0;
    memset(&d, 0, sizeof d);
    d.group = g->rec.name;
    if (cli_store_outbox_each(s->store, drop_cb, &d) != 0)
        return;
    for (i = 0; i < d.n; i++)
        if (cli_store_outbox_delete(s->store, d.ids[i]) == 0)
            dropped++;
    if (dropped > 0)
        cli_notice(s, g->rec.name, 1, "%zu unsent message%s to #%s dropped: you are no longer "
                   "a member", dropped, dropped == 1 ? "" : "s", g->rec.name);
}

void cli_sync_disconnected(struct cli_grp *g)
{
    g->sync.fetching = 0;
    g->sync.refetch = 0;
    if (g->phase == CLI_PHASE_MEMBER || g->phase == CLI_PHASE_COMMITTING)
        cli_phase_set(g, CLI_PHASE_CATCHING_UP);
}

/* ---------------------------------------------------------------- entries */

/* Another member's message, proposal or commit: 1 when processed (the
 * state moved; a commit is left staged in *sc with its next state in
 * *next), 0 when it cannot be read (skipped), -1 when g cannot go on. */
static int other_entry(struct cli_session *s, struct cli_grp *g, const struct cli_log_entry *e,
                       mls_process_result *res, struct lines *q, mls_staged_commit **sc,
                       mls_buf *next)
{
    char who[40];
    char *text;
    int err = mls_group_process_staged(g->mls, mls_buf_view(&e->message), res, sc);
    if (err != MLS_OK) {
        if (e->kind == CLI_LOG_COMMIT) {
            cli_sync_mark_broken(s, g, "a commit could not be processed");
            return -1;
        }
        cli_notice(s, g->rec.name, 1, "a %s from %s in #%s (log %lld) cannot be read: %s",
                   e->kind_name, e->sender ? e->sender : "?", g->rec.name, (long long)e->seq,
                   mls_strerror(err));
        return 0;
    }
    if (*sc) {
        if (sync_commit_step(s, g, e, res, *sc, q, next) != 0) {
            mls_staged_commit_free(*sc);
            *sc = NULL;
            return -1;
        }
        return 1;
    }
    if (res->kind != MLS_RESULT_APPLICATION)
        return 1;
    /* The name shown is the one MLS authenticated, not the server's. */
    cli_member_name(g->mls, res->sender_leaf, who, sizeof who);
    cli_log("message in #%s from leaf %u (%s), server says %s", g->rec.name, res->sender_leaf,
            who, e->sender ? e->sender : "?");
    if (!who[0])
        snprintf(who, sizeof who, "%s", e->sender ? e->sender : "?");
    /* Sanitized once here for what is stored; a pasted block keeps its
     * newlines and tabs (textsafe.h). */
    text = cli_textsafe_lines((const char *)res->application_data.p, res->application_data.n);
    if (text)
        sync_lines_add(q, LINE_MESSAGE, who, e->time, "%s", text);
    free(text);
    return 1;
}

/*
 * Processes log entry e of g in order.  Returns 0 when processed (the
 * cursor moved), 1 when there is a gap before it (fetch first), -1 when
 * the group cannot go on.  The new MLS state, the cursor and the history
 * rows are written in one transaction (DESIGN Decision 4): its own, or,
 * inside a catch-up page (page not NULL), a savepoint of the page's, and
 * then the lines wait in page until that is committed.
 */
static int process_entry(struct cli_session *s, struct cli_grp *g, const struct cli_log_entry *e,
                         struct page_lines *page)
{
    mls_process_result res;
    mls_staged_commit *sc = NULL;
    struct lines q;
    int rc = -1, processed = 0, swapped = 0;
    int own = e->sender && strcmp(e->sender, s->ident.username) == 0;
    int64_t outbox_id = -1, old_cursor = g->rec.cursor;
    mls_bytes msg = mls_buf_view(&e->message);
    mls_buf old_state; /* the saved state before this entry, for a failed save */
    mls_buf next;      /* a staged commit's state after it */

    mls_buf_init(&old_state);
    mls_buf_init(&next);
    memset(&res, 0, sizeof res);
    memset(&q, 0, sizeof q);
    if (!cli_grp_active(g))
        return -1;
    if (e->seq <= g->rec.cursor)
        return 0;
    if (e->seq != g->rec.cursor + 1)
        return 1;
    if (!e->kind_name) {
        cli_notice(s, g->rec.name, 1, "malformed log entry %lld in #%s skipped",
                   (long long)e->seq, g->rec.name);
        goto advance;
    }
    if (e->kind == CLI_LOG_COMMIT) {
        if (g->rec.pending_commit.n > 0 &&
            mls_ct_equal(msg, mls_buf_view(&g->rec.pending_commit))) {
            if (sync_own_commit(s, g, e, &q) != 0) {
                cli_sync_mark_broken(s, g, "cannot load our own commit");
                goto out;
            }
            goto advance;
        }
        if (own) {
            /* A commit of ours we no longer have the staged state of. */
            cli_sync_mark_broken(s, g, "our own commit was accepted but its state was lost");
            goto out;
        }
    }
    if (own && e->kind == CLI_LOG_MESSAGE) {
        char *text = NULL;
        if (cli_outbox_find_own(s, g, msg, &outbox_id, &text) == 0)
            sync_lines_add(&q, LINE_OWN, s->ident.username, e->time, "%s", text);
        free(text);
        goto advance;
    }
    if (own)
        goto advance;
    processed = other_entry(s, g, e, &res, &q, &sc, &next);
    if (processed < 0)
        goto out;

advance:
    if (sc || processed) {
        old_state = g->rec.state;
        mls_buf_init(&g->rec.state);
        swapped = 1;
    }
    if (sc) {
        /* Stage, save, then merge: the store gets the state after the
         * commit with the cursor; memory moves only once that is
         * committed (README "staged commits"). */
        g->rec.state = next;
        mls_buf_init(&next);
    } else if (processed) {
        /* An application message or proposal moved the secret tree or
         * the pending proposals: the state as it is now. */
        if (cli_grp_snapshot(g) != 0)
            goto fail_db;
    }
    /* Removed by this commit: saved so, and the phase follows once saved. */
    if (sc && res.self_removed)
        g->rec.status = cli_phase_status(CLI_PHASE_REMOVED);
    g->rec.cursor = e->seq;
    if (cli_store_begin(s->store) != 0)
        goto fail_db;
    if (cli_grp_save(s, g) != 0 || lines_record(s, g, &q) != 0)
        goto fail_db;
    if (q.n > 0 && q.item[0].kind <= LINE_OWN) {
        int dup = cli_store_history_add(s->store, g->rec.name, e->seq, e->time,
                                        q.item[0].sender, q.item[0].text);
        if (dup < 0)
            goto fail_db;
        if (dup == 1) {
            /* Already shown once (no message is displayed twice). */
            free(q.item[0].text);
            memmove(&q.item[0], &q.item[1], (q.n - 1) * sizeof q.item[0]);
            q.n--;
        }
    }
    if (outbox_id >= 0 && cli_store_outbox_delete(s->store, outbox_id) != 0)
        goto fail_db;
    if (cli_store_commit(s->store) != 0)
        goto fail_db;
    if (outbox_id >= 0)
        cli_outbox_delivered(s, g, outbox_id);
    if (sc) {
        /* Consumed by the merge; freed at out: like a discarded one. */
        int err = mls_group_merge_staged(g->mls, sc);
        /* The store already holds the merged state: if memory could not
         * follow (it cannot, after a successful stage), read it back. */
        if (err != MLS_OK && cli_grp_reload(s, g) != 0) {
            cli_log("cannot load the state after a commit");
            cli_sync_mark_broken(s, g, "the state after a commit could not be loaded");
        }
        if (res.self_removed)
            cli_phase_set(g, CLI_PHASE_REMOVED);
    }
    if (page)
        page_take(page, &q);
    else
        lines_flush(s, g, &q, 1);
    if (res.self_removed && g->phase == CLI_PHASE_REMOVED) {
        g->leaving = 0;
        drop_outbox(s, g);
        if (g->rec.consent == CLI_CONSENT_DECLINED) {
            /* The invitation the user declined is done with. */
            cli_notice(s, NULL, 0, "you left #%s (the invitation you declined)", g->rec.name);
            cli_consent_forget(s, g);
        } else if (g->rec.consent == CLI_CONSENT_INVITED) {
            /* Removed before answering: nothing left to accept. */
            cli_notice(s, NULL, 0, "the invitation to #%s was withdrawn (you were removed "
                       "before answering it)", g->rec.name);
            cli_consent_forget(s, g);
        }
    }
    if (e->kind == CLI_LOG_COMMIT || !cli_grp_active(g))
        cli_changed(s);
    rc = 0;
    goto out;
fail_db:
    cli_store_rollback(s->store);
    /* Memory goes back to what the store still holds: the cursor and the
     * state before this entry.  A staged commit is simply dropped (memory
     * never moved); an application message had moved the secret tree, so
     * that state is read back. */
    g->rec.cursor = old_cursor;
    g->rec.status = cli_phase_status(g->phase);
    if (swapped) {
        mls_buf_clear(&g->rec.state);
        g->rec.state = old_state;
        mls_buf_init(&old_state);
    }
    if (!sc && processed && cli_grp_reload(s, g) != 0)
        cli_log("cannot restore the group state");
    cli_notice(s, g->rec.name, 1, "cannot save the state of #%s; stopping", g->rec.name);
    rc = -1;
out:
    lines_flush(s, g, &q, 0);
    mls_staged_commit_free(sc);
    mls_process_result_clear(&res);
    mls_buf_clear(&old_state);
    mls_buf_clear(&next);
    return rc;
}

/* ---------------------------------------------------------------- pages */

/* Another member's application message by the server's word, in order:
 * part of a run for mls_group_process_batch (MLS has the last word: a
 * commit among them stops the batch and goes through process_entry). */
static int batchable(struct cli_session *s, const struct cli_log_entry *e, int64_t seq)
{
    return e->seq == seq && e->kind_name && e->kind == CLI_LOG_MESSAGE && e->message.n > 0 &&
           !(e->sender && strcmp(e->sender, s->ident.username) == 0);
}

/*
 * A run is processed in pieces of RUN_PIECE entries through
 * mls_group_process_batch_start / mls_batch_finish: while one piece's
 * signatures are verified on the library's pool, the results of the
 * piece before are sanitized, stored and queued for display here, so that
 * this work no longer leaves the second core idle (BENCHMARKS.md,
 * "Client catch-up", third round).  The last piece of a page is carried
 * over the page's end (struct sync_carry), and verifies while the next
 * page is read and parsed: a piece is about as many verifications as
 * one core does while the main thread turns from one page to the next.
 */
#define RUN_PIECE 100

/* The name shown for a result is the one MLS authenticated, not the
 * server's; read from the group before the next piece borrows it. */
typedef char run_name[40];

/*
 * The results [from, to) of a run, in order: a line and a history row for
 * each application message, the cursor on the last.  0, or -1 when the
 * store failed.
 */
static int run_store(struct cli_session *s, struct cli_grp *g, const struct cli_log_entry *ents,
                     const mls_process_result *res, const run_name *who, size_t from, size_t to,
                     struct lines *q, struct page_lines *page)
{
    for (size_t k = from; k < to; k++) {
        const struct cli_log_entry *e = &ents[k];
        char *text;
        int dup;
        g->rec.cursor = e->seq;
        if (res[k].kind != MLS_RESULT_APPLICATION)
            continue;
        text = cli_text_sanitize((const char *)res[k].application_data.p,
                                 res[k].application_data.n);
        if (!text)
            continue;
        dup = cli_store_history_add(s->store, g->rec.name, e->seq, e->time, who[k], text);
        if (dup < 0) {
            free(text);
            return -1;
        }
        /* Already shown once (no message is displayed twice). */
        if (dup == 0)
            sync_lines_add(q, LINE_MESSAGE, who[k], e->time, "%s", text);
        free(text);
        page_take(page, q);
    }
    return 0;
}

/*
 * The carried piece: when the next page is already asked for, the last
 * piece of a run that ends a page is left out of the page's transaction
 * (committed with the cursor before it, its lines shown), then started
 * (decrypted, its signatures handed to the pool) and left verifying
 * while the event loop reads and parses the next page; the reply with
 * that page takes it as its first piece, inside its own transaction
 * (fetch_reply), and decodes its entries meanwhile.  A transaction then
 * no longer holds exactly one page, but it still holds the state,
 * cursor and history of the entries it covers together: a crash reads
 * the carried piece again.  While it is out the group is lent to the
 * batch (mls_batch_finish, include/mls/group.h): the event loop's hook
 * settles it before anything else can run (cli_sync_before).
 */
struct sync_carry {
    mls_batch *b;               /* NULL once taken by run_batch */
    struct cli_log_entry *ents; /* owned messages; strings in page */
    mls_bytes *msgs;            /* what b reads until finished */
    size_t n;
    json_t *page, *prev;        /* the replies the strings are in */
};

static void carry_free(struct sync_carry *c)
{
    if (!c)
        return;
    mls_batch_free(c->b); /* unfinished: the group as before the piece */
    for (size_t k = 0; c->ents && k < c->n; k++)
        mls_buf_clear(&c->ents[k].message);
    free(c->ents);
    free(c->msgs);
    json_decref(c->page);
    json_decref(c->prev);
    free(c);
}

/*
 * A run of n batchable entries from cursor + 1 on, processed piece by
 * piece (RUN_PIECE), the results of one piece stored while the next is
 * verified; each result is what other_entry makes of it one by one (a
 * line and a history row for application data; a message that cannot be
 * read is said and skipped), and the group's state and cursor are saved
 * once at the end.  Inside the page's transaction.  `in`: a carried
 * piece, the batch of ents[0 .. in->n), taken as the first piece.
 * `leave`: the run ends the page and the next page is asked for, so its
 * last piece is left to be carried (*left gets its length; 0 when none
 * is left).  Returns how many entries were consumed (fewer than n when
 * a commit stopped the batch or a piece is left), -1 when the store
 * failed (g as the store has it before the run).
 */
static int run_batch(struct cli_session *s, struct cli_grp *g, const struct cli_log_entry *ents,
                     size_t n, struct page_lines *page, struct sync_carry *in, int leave,
                     size_t *left)
{
    mls_bytes *msgs = calloc(n, sizeof *msgs);
    mls_process_result *res = calloc(n, sizeof *res);
    run_name *who = calloc(n, sizeof *who);
    int64_t old_cursor = g->rec.cursor;
    size_t i = 0, k, done = 0, filled = 0, stored = 0, bn = 0;
    int moved = 0, swapped = 0, rc = -1, err = MLS_OK;
    mls_batch *b = NULL;
    struct lines q;
    mls_buf old_state; /* the saved state before the run, for a failed save */

    memset(&q, 0, sizeof q);
    mls_buf_init(&old_state);
    *left = 0;
    if (in && (in->n > n || !in->b)) {
        /* Not the entries it was started on (cannot happen: they lead
         * the page): abandoned, the group as before it. */
        mls_batch_free(in->b);
        in->b = NULL;
        in = NULL;
    }
    if (!msgs || !res || !who) {
        cli_notice(s, g->rec.name, 1, "cannot read the log of #%s: out of memory", g->rec.name);
        goto out;
    }
    for (k = 0; k < n; k++)
        msgs[k] = mls_buf_view(&ents[k].message);
    if (cli_store_begin(s->store) != 0)
        goto out;
    /* Pieces [i, i + bn) in turn; results [stored, i) are waiting to be
     * stored, which is done while the next piece is verified. */
    while (i < n || stored < i) {
        if (i == 0 && in) {
            b = in->b;
            in->b = NULL;
            bn = in->n;
            err = MLS_OK;
        } else if (i < n) {
            bn = n - i < RUN_PIECE ? n - i : RUN_PIECE;
            if (leave && i + bn == n && i > 0) {
                *left = bn;
                bn = 0;
            } else {
                err = mls_group_process_batch_start(s->env, g->mls, msgs + i, bn,
                                                    MLS_BATCH_STOP_AT_COMMIT, &b);
            }
        }
        /* While the pool verifies: the piece before, stored. */
        if (run_store(s, g, ents, res, who, stored, i, &q, page) != 0) {
            mls_batch_free(b); /* g as before the piece */
            b = NULL;
            goto fail_db;
        }
        stored = i;
        if (i == n || *left)
            break;
        if (err == MLS_OK) {
            err = mls_batch_finish(b, res + i, &done);
            filled = i + done;
        } else {
            done = 0;
        }
        mls_batch_free(b);
        b = NULL;
        for (k = i; k < i + done; k++) {
            const struct cli_log_entry *e = &ents[k];
            if (res[k].kind != MLS_RESULT_APPLICATION)
                continue;
            cli_member_name(g->mls, res[k].sender_leaf, who[k], sizeof who[k]);
            if (!who[k][0])
                snprintf(who[k], sizeof who[k], "%s", e->sender ? e->sender : "?");
        }
        if (done > 0)
            moved = 1;
        i += done;
        if (err == MLS_OK) {
            if (done < bn) {
                /* A commit: judged one by one, after what came before. */
                if (run_store(s, g, ents, res, who, stored, i, &q, page) != 0)
                    goto fail_db;
                stored = i;
                break;
            }
            continue;
        }
        /* Said in its place among the page's lines, as other_entry says
         * it one by one: after the results before it. */
        if (run_store(s, g, ents, res, who, stored, i, &q, page) != 0)
            goto fail_db;
        sync_lines_add(&q, LINE_ERROR, NULL, ents[i].time,
                  "a %s from %s in #%s (log %lld) cannot be read: %s", ents[i].kind_name,
                  ents[i].sender ? ents[i].sender : "?", g->rec.name, (long long)ents[i].seq,
                  mls_strerror(err));
        page_take(page, &q);
        g->rec.cursor = ents[i].seq;
        i++;
        stored = i;
    }
    /* The state as it is now, once for the whole run. */
    if (moved) {
        old_state = g->rec.state;
        mls_buf_init(&g->rec.state);
        swapped = 1;
        if (cli_grp_snapshot(g) != 0)
            goto fail_db;
    }
    if (cli_grp_save(s, g) != 0 || cli_store_commit(s->store) != 0)
        goto fail_db;
    rc = (int)i;
    goto out;
fail_db:
    cli_store_rollback(s->store);
    /* The run's savepoint is undone: memory goes back to what the store
     * holds, the cursor and the state before the run. */
    *left = 0;
    g->rec.cursor = old_cursor;
    if (swapped) {
        mls_buf_clear(&g->rec.state);
        g->rec.state = old_state;
        mls_buf_init(&old_state);
    }
    if (moved && cli_grp_reload(s, g) != 0)
        cli_log("cannot restore the group state");
    cli_notice(s, g->rec.name, 1, "cannot save the state of #%s; stopping", g->rec.name);
    rc = -1;
out:
    lines_flush(s, g, &q, 0);
    mls_buf_clear(&old_state);
    for (k = 0; res && k < filled; k++)
        mls_process_result_clear(&res[k]);
    free(msgs);
    free(res);
    free(who);
    return rc;
}

/*
 * The n entries a page leaves (process_page), started as a carried
 * piece: NULL if it cannot be.  Their messages stay the page's until
 * carry_adopt moves them (the batch reads the same bytes).
 */
static struct sync_carry *carry_start(struct cli_session *s, struct cli_grp *g,
                                      const struct cli_log_entry *ents, size_t n)
{
    struct sync_carry *c = calloc(1, sizeof *c);
    if (!c || !(c->ents = calloc(n, sizeof *c->ents)) || !(c->msgs = calloc(n, sizeof *c->msgs)))
        goto fail;
    c->n = n;
    for (size_t k = 0; k < n; k++)
        c->msgs[k] = mls_buf_view(&ents[k].message);
    if (mls_group_process_batch_start(s->env, g->mls, c->msgs, n, MLS_BATCH_STOP_AT_COMMIT,
                                      &c->b) != MLS_OK)
        goto fail;
    return c;
fail:
    carry_free(c);
    return NULL;
}

/* The entries c was started on (ents[0 .. c->n)) become its own: their
 * messages move, and the replies their strings are in are held (prev:
 * the page of the carried piece before, whose entries lead this one's
 * when its batch was abandoned). */
static void carry_adopt(struct sync_carry *c, struct cli_log_entry *ents, json_t *page,
                        json_t *prev)
{
    for (size_t k = 0; k < c->n; k++) {
        c->ents[k] = ents[k];
        mls_buf_init(&ents[k].message);
    }
    c->page = json_incref(page);
    c->prev = prev ? json_incref(prev) : NULL;
}

/*
 * The entries of one log.fetch page, in one transaction (state, cursor
 * and history rows of all of them: a crash mid-page replays the page);
 * runs of other members' messages through run_batch, everything else
 * through process_entry; the lines are shown once it is committed.
 * `in`: a carried piece, started on ents[0 .. in->n) (taken, or
 * abandoned if they are not processed).  `leave`: the next page is asked
 * for, so a run that ends the page leaves its last piece out of this
 * transaction: *carried gets it, started (its entries still ents'; the
 * caller moves them into it: carry_adopt), or NULL.  Returns 0 when all
 * were processed (or carried), 1 for a gap before entry *gap_seq, -1
 * when g cannot go on.
 */
static int process_page(struct cli_session *s, struct cli_grp *g, const struct cli_log_entry *ents,
                        size_t n, int64_t *gap_seq, struct sync_carry *in, int leave,
                        struct sync_carry **carried)
{
    struct page_lines page;
    struct cli_group_rec saved;
    struct sync_carry *c = NULL;
    size_t i = 0, left = 0;
    int rc = 0;

    *carried = NULL;
    memset(&page, 0, sizeof page);
    memset(&saved, 0, sizeof saved);
    /* What memory goes back to if the page cannot be committed. */
    saved.cursor = g->rec.cursor;
    saved.status = g->rec.status;
    if (mls_buf_copy(&saved.state, &g->rec.state) != MLS_OK ||
        mls_buf_copy(&saved.pending_commit, &g->rec.pending_commit) != MLS_OK ||
        mls_buf_copy(&saved.pending_state, &g->rec.pending_state) != MLS_OK ||
        cli_store_begin(s->store) != 0) {
        cli_group_rec_clear(&saved);
        if (in) {
            mls_batch_free(in->b);
            in->b = NULL;
        }
        cli_notice(s, g->rec.name, 1, "cannot save the state of #%s; stopping", g->rec.name);
        return -1;
    }
    while (i < n) {
        const struct cli_log_entry *e = &ents[i];
        size_t m = 0;
        int r;
        if (!cli_grp_active(g)) {
            rc = -1;
            break;
        }
        if (e->seq <= g->rec.cursor) {
            i++;
            continue;
        }
        if (e->seq != g->rec.cursor + 1) {
            *gap_seq = e->seq;
            rc = 1;
            break;
        }
        while (i + m < n && batchable(s, &ents[i + m], g->rec.cursor + 1 + (int64_t)m))
            m++;
        if (m > 0) {
            size_t lft = 0;
            r = run_batch(s, g, e, m, &page, i == 0 ? in : NULL, leave && i + m == n, &lft);
            if (r < 0) {
                rc = -1;
                break;
            }
            i += (size_t)r;
            if (lft > 0) {
                left = lft;
                break;
            }
            if ((size_t)r == m)
                continue;
            e = &ents[i]; /* the commit that stopped it */
        }
        r = process_entry(s, g, e, &page);
        if (r != 0) {
            if (r == 1)
                *gap_seq = e->seq;
            rc = r;
            break;
        }
        i++;
    }
    if (in && in->b) {
        /* Its entries were not reached: the group as before them. */
        mls_batch_free(in->b);
        in->b = NULL;
    }
    if (left > 0 && !(c = carry_start(s, g, ents + n - left, left))) {
        /* Not carried after all: processed in this transaction. */
        size_t l2 = 0;
        if (run_batch(s, g, ents + n - left, left, &page, NULL, 0, &l2) < 0)
            rc = -1;
    }
    /* A carried piece verifies from here on, beside the commit, the
     * page's lines and the reading of the next page: none of them
     * changes the group. */
    if (cli_store_commit(s->store) != 0) {
        cli_store_rollback(s->store);
        carry_free(c); /* the group as before the piece, then reloaded */
        c = NULL;
        g->rec.cursor = saved.cursor;
        g->rec.status = saved.status;
        mls_buf_clear(&g->rec.state);
        g->rec.state = saved.state;
        mls_buf_clear(&g->rec.pending_commit);
        g->rec.pending_commit = saved.pending_commit;
        mls_buf_clear(&g->rec.pending_state);
        g->rec.pending_state = saved.pending_state;
        memset(&saved, 0, sizeof saved);
        if (cli_grp_reload(s, g) != 0)
            cli_log("cannot restore the group state");
        cli_notice(s, g->rec.name, 1, "cannot save the state of #%s; stopping", g->rec.name);
        page_flush(s, g, &page, 0);
        rc = -1;
    } else {
        page_flush(s, g, &page, 1);
    }
    cli_group_rec_clear(&saved);
    *carried = c;
    return rc;
}

static void fetch_reply(void *ctx, json_t *reply);

void cli_sync_settle(struct cli_session *s, struct cli_grp *g)
{
    struct sync_carry *c = g->sync.carry;
    struct sync_carry *none = NULL;
    int64_t gap = 0;
    if (!c)
        return;
    g->sync.carry = NULL;
    /* Its own transaction; the next page, when it comes, follows it. */
    (void)process_page(s, g, c->ents, c->n, &gap, c, 0, &none);
    carry_free(c);
}

void cli_sync_carry_drop(struct cli_grp *g)
{
    /* Unfinished: the batch puts the group back as before the piece,
     * whose entries stay after the saved cursor. */
    carry_free(g->sync.carry);
    g->sync.carry = NULL;
}

void cli_sync_before(struct cli_session *s, void (*cb)(void *cb_ctx, json_t *reply), void *cb_ctx)
{
    struct cli_grp *g, *next;
    for (g = s->groups; g; g = next) {
        next = g->next;
        /* The reply with g's next page takes the piece itself. */
        if (g->sync.carry && !(cb == fetch_reply && cb_ctx == g))
            cli_sync_settle(s, g);
    }
}

/* ---------------------------------------------------------------- reading */

void cli_sync_after_change(struct cli_session *s, struct cli_grp *g)
{
    if (!s->authed || !cli_grp_synced(g) || g->sync.fetching || !cli_grp_active(g))
        return;
    if (g->op)
        cli_commit_continue(g->op);
    else
        cli_commit_roles_tick(s, g);
    cli_outbox_pump(s, g);
}

/* First catch-up after logging in (or joining) is complete. */
static void caught_up(struct cli_session *s, struct cli_grp *g)
{
    /* Whatever was sent before and is not in the log was not accepted:
     * it goes again (newly encrypted). */
    cli_outbox_reset(s, g);
    if (g->rec.pending_commit.n > 0 && !g->op) {
        /* A commit prepared before a restart that the server never
         * accepted (it would be in the log). */
        mls_buf_clear(&g->rec.pending_commit);
        mls_buf_clear(&g->rec.pending_state);
        if (cli_grp_save(s, g) != 0)
            cli_log("cannot save group");
        cli_notice(s, g->rec.name, 1, "a change to #%s prepared before a restart was not "
                   "accepted by the server; repeat it if it is still wanted", g->rec.name);
    }
    cli_phase_set(g, g->rec.pending_commit.n > 0 ? CLI_PHASE_COMMITTING : CLI_PHASE_MEMBER);
    cli_changed(s);
    cli_sync_after_change(s, g);
}

static void retry_fire(void *ctx)
{
    struct cli_grp *g = ctx;
    g->sync.wait = 0;
    cli_sync_fetch(g->s, g);
}

/* log.fetch refused: a reason for the group, or -1 to stop reading. */
static void fetch_refused(struct cli_session *s, struct cli_grp *g, const struct cli_reply *rp)
{
    switch (rp->err) {
    case CLI_PERR_UNKNOWN_GROUP:
        if (g->rec.cursor == 0 && cli_grp_is_admin(g->mls, s->ident.username) &&
            mls_group_epoch(g->mls) == 0) {
            /* We created it but the server never confirmed: create again. */
            cli_join_create_send(s, g);
            return;
        }
        break;
    case CLI_PERR_NOT_MEMBER:
        if (cli_phase_set(g, CLI_PHASE_REMOVED) != 0)
            return;
        if (cli_grp_save(s, g) != 0)
            cli_log("cannot save group");
        cli_notice(s, g->rec.name, 1, "you are no longer a member of #%s", g->rec.name);
        cli_changed(s);
        return;
    case CLI_PERR_CURSOR_EXPIRED:
        cli_sync_mark_broken(s, g, "the server no longer has the messages since your last visit");
        return;
    case CLI_PERR_RATE_LIMITED:
    case CLI_PERR_INTERNAL:
        /* Read again once the server allows it: nothing else would. */
        g->sync.wait = 1;
        cli_timer_start(s->net, &g->sync.timer,
                        (uint64_t)(rp->retry_after > 0 && rp->retry_after < 3600
                                       ? rp->retry_after
                                       : 1) * 1000u,
                        retry_fire, g);
        return;
    default:
        break;
    }
    cli_notice(s, g->rec.name, 1, "cannot read the log of #%s: %s", g->rec.name, rp->message);
}

/* The longest wait between two reads of a log with a hole. */
#define SYNC_GAP_MAX_DELAY 60u

/* The server answered log.fetch with a page whose first unread entry is
 * not cursor + 1: entries are missing from its log (PROTOCOL.md §7.5
 * promises none).  A protocol error shown to the user, read again with
 * a doubling delay, never a busy loop. */
static void fetch_gap(struct cli_session *s, struct cli_grp *g, int64_t seq)
{
    unsigned delay = g->sync.gap_delay ? g->sync.gap_delay * 2 : 1;
    if (delay > SYNC_GAP_MAX_DELAY)
        delay = SYNC_GAP_MAX_DELAY;
    if (g->sync.gap_delay == 0 || delay < SYNC_GAP_MAX_DELAY)
        cli_notice(s, g->rec.name, 1, "the server's log of #%s skips from %lld to %lld "
                   "(a protocol error); reading it again in %u s", g->rec.name,
                   (long long)g->rec.cursor, (long long)seq, delay);
    g->sync.gap_delay = delay;
    g->sync.refetch = 0;
    g->sync.wait = 1;
    cli_timer_start(s->net, &g->sync.timer, (uint64_t)delay * 1000u, retry_fire, g);
}

static void fetch_after(struct cli_session *s, struct cli_grp *g, int64_t after);

static void fetch_reply(void *ctx, json_t *reply)
{
    struct cli_grp *g = ctx;
    struct cli_session *s = g->s;
    struct sync_carry *c = g->sync.carry, *next = NULL;
    struct cli_reply rp;
    struct cli_log_entry *ents = NULL;
    size_t i, n, k = 0;
    int64_t gap = 0;
    int r, prefetched = 0;

    g->sync.fetching = 0;
    cli_proto_reply(reply, &rp);
    /* A carried piece leads this page into its transaction when the page
     * follows it; otherwise it is settled on its own first. */
    if (c && !(rp.ok && g->sync.after == c->ents[c->n - 1].seq)) {
        cli_sync_settle(s, g);
        c = NULL;
    }
    g->sync.carry = NULL;
    if (rp.err == CLI_PERR_DISCONNECTED)
        return;
    if (!rp.ok) {
        fetch_refused(s, g, &rp);
        return;
    }
    if (g->sync.after > (c ? c->ents[c->n - 1].seq : g->rec.cursor)) {
        /* A page prefetched after one that stopped short: it does not
         * follow our cursor.  Read again only if someone asked. */
        if (g->sync.refetch && !g->sync.wait && cli_grp_active(g)) {
            g->sync.refetch = 0;
            cli_sync_fetch(s, g);
        }
        return;
    }
    n = cli_proto_entries_count(reply);
    ents = calloc(n + (c ? c->n : 0) + 1, sizeof *ents);
    if (!ents) {
        g->sync.carry = c;
        cli_sync_settle(s, g);
        cli_notice(s, g->rec.name, 1, "cannot read the log of #%s: out of memory", g->rec.name);
        return;
    }
    /* The carried entries first (their messages move here; the batch
     * reads the same bytes), then the page's: parsed and decoded while
     * the carried piece is verified. */
    for (i = 0; c && i < c->n; i++) {
        ents[k] = c->ents[i];
        mls_buf_init(&c->ents[i].message);
        k++;
    }
    for (i = 0; i < n; i++) {
        mls_buf_init(&ents[k].message);
        if (cli_proto_log_entry(cli_proto_entry_at(reply, i), &ents[k]) != 0) {
            mls_buf_clear(&ents[k].message);
            continue; /* no seq: nothing to place */
        }
        k++;
    }
    /* The next page is asked for now, so the server reads it while this
     * one is processed: only when this one follows the cursor without a
     * hole, so that it will be processed to its end unless g stops. */
    if (k > 0 && cli_proto_fetch_more(reply) && ents[0].seq <= g->rec.cursor + 1 &&
        ents[k - 1].seq - ents[0].seq == (int64_t)k - 1 && ents[k - 1].seq > g->rec.cursor) {
        fetch_after(s, g, ents[k - 1].seq);
        prefetched = g->sync.fetching;
    }
    r = process_page(s, g, ents, k, &gap, c, prefetched, &next);
    if (next) {
        carry_adopt(next, ents + k - next->n, reply, c ? c->page : NULL);
        g->sync.carry = next;
    }
    for (i = 0; i < k; i++)
        mls_buf_clear(&ents[i].message);
    free(ents);
    carry_free(c); /* its batch taken or abandoned, its messages moved */
    if (r == 1) {
        /* A page starts after our cursor: the hole is in the server's
         * log itself, not a live event that overtook it. */
        fetch_gap(s, g, gap);
        return;
    }
    if (r < 0)
        return;
    g->sync.gap_delay = 0;
    if (!cli_grp_active(g) || prefetched)
        return;
    if (cli_proto_fetch_more(reply) || g->sync.refetch) {
        g->sync.refetch = 0;
        cli_sync_fetch(s, g);
        return;
    }
    if (!cli_grp_synced(g))
        caught_up(s, g);
    else
        cli_sync_after_change(s, g);
}

/* One log.fetch of the entries after `after` in flight. */
static void fetch_after(struct cli_session *s, struct cli_grp *g, int64_t after)
{
    json_t *req = cli_proto_log_fetch(g->rec.name, after, SYNC_FETCH_LIMIT);
    if (req && cli_net_request(s->net, req, fetch_reply, g) >= 0) {
        g->sync.fetching = 1;
        g->sync.after = after;
    }
}

void cli_sync_fetch(struct cli_session *s, struct cli_grp *g)
{
    if (!s->authed || !cli_grp_active(g))
        return;
    if (g->sync.fetching || g->sync.wait) {
        g->sync.refetch = 1;
        return;
    }
    fetch_after(s, g, g->rec.cursor);
}

void cli_sync_on_log_event(struct cli_session *s, json_t *ev)
{
    struct cli_log_entry e;
    struct cli_grp *g;

    memset(&e, 0, sizeof e);
    mls_buf_init(&e.message);
    if (cli_proto_log_entry(ev, &e) != 0 || !e.group)
        goto out;
    g = cli_grp_find(s, e.group);
    if (!cli_grp_active(g) || e.seq <= g->rec.cursor)
        goto out;
    if (e.seq == g->rec.cursor + 1 && cli_grp_synced(g)) {
        if (process_entry(s, g, &e, NULL) == 0)
            cli_sync_after_change(s, g);
        goto out;
    }
    cli_sync_fetch(s, g);
out:
    mls_buf_clear(&e.message);
}
