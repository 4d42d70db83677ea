/* Group sync.  See sync.h. */
#include "sync.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "pins.h"
#include "directory.h"
#include "gcommit.h"
#include "join.h"
#include "outbox.h"
#include "rejoin.h"

#define SYNC_FETCH_LIMIT 200
/* RFC 9420 §6 Sender: sender_type new_member_commit (an external commit). */
#define SYNC_SENDER_NEW_MEMBER_COMMIT 4

/* ---------------------------------------------------------------- lines */

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

static void lines_add(struct lines *q, enum line_kind kind, const char *sender, int64_t time,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void lines_add(struct lines *q, enum line_kind kind, const char *sender, int64_t time,
                      const char *fmt, ...)
{
    va_list ap;
    char buf[2048];
    if (q->n == 8)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    q->item[q->n].kind = kind;
    snprintf(q->item[q->n].sender, sizeof q->item[q->n].sender, "%s", sender ? sender : "");
    q->item[q->n].text = strdup(buf);
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

static void lines_flush(struct cli_session *s, struct cli_grp *g, struct lines *q, int show)
{
    size_t i;
    for (i = 0; i < q->n; i++) {
        struct line *o = &q->item[i];
        if (show) {
            if (o->kind <= LINE_OWN) {
                if (s->ev.message)
                    s->ev.message(s->ev.ctx, g->rec.name, o->sender, o->text, o->time,
                                  o->kind == LINE_OWN);
            } else {
                cli_notice(s, g->rec.name, o->kind == LINE_ERROR, "%s", o->text);
            }
        }
        free(o->text);
    }
    q->n = 0;
}

/* Joins up to 8 names from a change list: "a, b, c". */
static void change_names(const mls_member_change *c, size_t n, char *out, size_t max)
{
    size_t i, o = 0;
    out[0] = 0;
    for (i = 0; i < n && o + 40 < max; i++) {
        char name[40];
        cli_bytes_to_name(mls_buf_view(&c[i].identity), name, sizeof name);
        o += (size_t)snprintf(out + o, max - o, "%s%s", i ? ", " : "", name);
    }
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

/* A member broke the chat's rules: stop following g (a rejoin would
 * accept the change). */
static void mark_refused(struct cli_session *s, struct cli_grp *g, const char *why)
{
    if (cli_phase_set(g, CLI_PHASE_REFUSED) != 0)
        return;
    if (cli_grp_save(s, g) != 0)
        cli_log("cannot save group state");
    cli_notice(s, g->rec.name, 1,
               "#%s: %s; this client no longer follows it (an administrator can remove and "
               "re-invite you)",
               g->rec.name, why);
    cli_changed(s);
}

void cli_sync_disconnected(struct cli_grp *g)
{
    g->sync.fetching = 0;
    g->sync.refetch = 0;
    if (g->phase == CLI_PHASE_MEMBER || g->phase == CLI_PHASE_COMMITTING)
        cli_phase_set(g, CLI_PHASE_CATCHING_UP);
}

/* ---------------------------------------------------------------- commits */

/* Describes an accepted commit of another member and checks it against
 * the chat's rules (rules.h); the rules hold against the roles before
 * the commit.  Returns CLI_RULE_OK, or why the commit is refused. */
/* A leaf whose credential changed its name (a /nick): allowed only as
 * pins.h's cli_pins_rename says, then shown as "old is now new". */
static enum cli_verdict rename_step(struct cli_session *s, struct cli_grp *g,
                                    const mls_member_change *u, int64_t time, struct lines *q)
{
    char old[40], now[40];
    cli_bytes_to_name(mls_buf_view(&u->old_identity), old, sizeof old);
    cli_bytes_to_name(mls_buf_view(&u->identity), now, sizeof now);
    if (strcmp(old, now) == 0)
        return CLI_RULE_OK;
    switch (cli_pins_rename(s, g, u->leaf, old, now, mls_buf_view(&u->old_signature_key),
                            mls_buf_view(&u->signature_key))) {
    case CLI_RENAME_OK:
        lines_add(q, LINE_SYSTEM, NULL, time, "%s is now %s", old, now);
        return CLI_RULE_OK;
    case CLI_RENAME_BAD_NAME:
        return CLI_RULE_BAD_NAME;
    case CLI_RENAME_NAME_IN_USE:
        return CLI_RULE_ALREADY_MEMBER;
    default:
        return CLI_RULE_KEY_MISMATCH;
    }
}

static enum cli_verdict check_commit(struct cli_session *s, struct cli_grp *g, const mls_process_result *res,
                        int64_t time, struct lines *q)
{
    char committer[40], names[512];
    struct cli_commit_facts f;
    struct cli_member_ref joined, removed;
    mls_group *old = NULL;
    enum cli_verdict v;
    size_t i;

    cli_member_name(g->mls, res->sender_leaf, committer, sizeof committer);
    memset(&f, 0, sizeof f);
    f.external = res->sender_type == SYNC_SENDER_NEW_MEMBER_COMMIT;
    f.committer = committer;
    f.n_added = res->n_added;
    f.n_removed = res->n_removed;
    f.extensions_changed = res->extensions_changed;
    f.self_removed = res->self_removed;
    if (res->n_added == 1) {
        joined.identity = mls_buf_view(&res->added[0].identity);
        joined.signature_key = mls_buf_view(&res->added[0].signature_key);
        f.joined = &joined;
    }
    if (res->n_removed == 1) {
        removed.identity = mls_buf_view(&res->removed[0].identity);
        removed.signature_key = mls_buf_view(&res->removed[0].signature_key);
        f.removed = &removed;
    }
    if (!f.external && (res->n_added > 0 || res->extensions_changed) &&
        mls_group_deserialize(s->env, mls_buf_view(&g->rec.state), &old) == MLS_OK &&
        mls_group_extension(old, CLI_EXT_ADMINS, &f.admins_before) != MLS_OK)
        f.admins_before = mls_bytes_of(NULL, 0);
    v = cli_rule_commit(&f);
    mls_group_free(old); /* admins_before borrowed from it until here */
    if (v != CLI_RULE_OK)
        return v;
    for (i = 0; i < res->n_updated; i++)
        if ((v = rename_step(s, g, &res->updated[i], time, q)) != CLI_RULE_OK)
            return v;
    if (!committer[0])
        snprintf(committer, sizeof committer, "(leaf %u)", res->sender_leaf);

    if (f.external) {
        char n[40];
        cli_bytes_to_name(joined.identity, n, sizeof n);
        lines_add(q, LINE_SYSTEM, NULL, time,
                  "%s rejoined #%s (their client had lost its state of the group)", n,
                  g->rec.name);
        cli_dir_verify_member(s, g, n, joined.signature_key);
        return CLI_RULE_OK;
    }
    if (res->n_added > 0) {
        change_names(res->added, res->n_added, names, sizeof names);
        lines_add(q, LINE_SYSTEM, NULL, time, "%s invited %s to #%s", committer, names,
                  g->rec.name);
        for (i = 0; i < res->n_added; i++) {
            char n[40];
            cli_bytes_to_name(mls_buf_view(&res->added[i].identity), n, sizeof n);
            cli_dir_verify_member(s, g, n, mls_buf_view(&res->added[i].signature_key));
        }
    }
    if (res->self_removed) {
        lines_add(q, LINE_ERROR, NULL, time, "%s removed you from #%s", committer, g->rec.name);
        cli_phase_set(g, CLI_PHASE_REMOVED);
    } else if (res->n_removed > 0) {
        change_names(res->removed, res->n_removed, names, sizeof names);
        lines_add(q, LINE_SYSTEM, NULL, time, "%s removed %s from #%s", committer, names,
                  g->rec.name);
    }
    if (res->n_added == 0 && res->n_removed == 0 && !res->self_removed)
        lines_add(q, LINE_SYSTEM, NULL, time, "%s updated their keys in #%s (epoch %llu)",
                  committer, g->rec.name, (unsigned long long)mls_group_epoch(g->mls));
    for (i = 0; i < res->n_updated; i++) {
        char n[40];
        cli_bytes_to_name(mls_buf_view(&res->updated[i].identity), n, sizeof n);
        cli_dir_verify_member(s, g, n, mls_buf_view(&res->updated[i].signature_key));
    }
    return CLI_RULE_OK;
}

/* A commit was applied to g (res): ours, if any, lost this epoch; the
 * chat's rules decide whether g follows it.  0, or -1 (undone, and g no
 * longer followed). */
static int commit_accept(struct cli_session *s, struct cli_grp *g, const mls_process_result *res,
                         int64_t time, struct lines *q)
{
    enum cli_verdict v;
    cli_grp_commit_settled(g);
    v = check_commit(s, g, res, time, q);
    if (v == CLI_RULE_OK)
        return 0;
    if (cli_grp_reload(s, g) != 0)
        cli_log("cannot restore the group state");
    mark_refused(s, g, cli_verdict_text(v));
    return -1;
}

/*
 * The commit step: applies another member's commit to g (RFC 9420
 * §12.4.2), checks it against the chat's rules, and keeps it or undoes
 * it.  This is the one place that applies an incoming commit; with a
 * staged-commit API it becomes stage, check, then merge or discard.
 * Returns 0 when applied, -1 when g cannot follow (marked broken or
 * refused).
 */
static int commit_step(struct cli_session *s, struct cli_grp *g, mls_bytes msg,
                       mls_process_result *res, int64_t time, struct lines *q)
{
    if (mls_group_process(g->mls, msg, res) != MLS_OK || res->kind != MLS_RESULT_COMMIT) {
        cli_sync_mark_broken(s, g, "a commit could not be processed");
        return -1;
    }
    return commit_accept(s, g, res, time, q);
}

/* Our own commit came back in the log: adopt the state we prepared. */
static int own_commit(struct cli_session *s, struct cli_grp *g, const struct cli_log_entry *e,
                      struct lines *q)
{
    char names[512] = "";
    size_t i, o = 0;

    if (cli_commit_adopt(s, g) != 0)
        return -1;
    for (i = 0; i < e->n_added && o + 40 < sizeof names; i++)
        o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", o ? ", " : "", e->added[i]);
    if (o > 0)
        lines_add(q, LINE_SYSTEM, NULL, e->time, "you invited %s to #%s", names, g->rec.name);
    else
        lines_add(q, LINE_SYSTEM, NULL, e->time, "you updated your keys in #%s (epoch %llu)",
                  g->rec.name, (unsigned long long)mls_group_epoch(g->mls));
    return 0;
}

/* ---------------------------------------------------------------- entries */

/* Finds our outbox entry whose ciphertext is ct. */
struct find_ct {
    const char *group;
    mls_bytes ct;
    int64_t id;
    char *text;
};

static void find_ct_cb(void *ctx, int64_t id, const char *group, const char *text, mls_bytes ct)
{
    struct find_ct *f = ctx;
    if (f->text || strcmp(group, f->group) != 0 || ct.n != f->ct.n || ct.n == 0 ||
        memcmp(ct.p, f->ct.p, ct.n) != 0)
        return;
    f->id = id;
    f->text = strdup(text);
}

/* Another member's message or proposal: 1 when processed (the state
 * moved), 0 when it cannot be read (skipped), -1 when g cannot go on. */
static int other_entry(struct cli_session *s, struct cli_grp *g, const struct cli_log_entry *e,
                       mls_process_result *res, struct lines *q)
{
    char who[40];
    char *text;
    int err = mls_group_process(g->mls, mls_buf_view(&e->message), res);
    if (err != MLS_OK) {
        cli_notice(s, g->rec.name, 1, "a %s from %s in #%s (log %lld) cannot be read: %s",
                   e->kind_name, e->sender ? e->sender : "?", g->rec.name, (long long)e->seq,
                   mls_strerror(err));
        return 0;
    }
    if (res->kind == MLS_RESULT_COMMIT)
        return commit_accept(s, g, res, e->time, q) == 0 ? 1 : -1;
    if (res->kind != MLS_RESULT_APPLICATION)
        return 1;
    /* The name shown is the one MLS authenticated, not the server's. */
    cli_member_name(g->mls, res->sender_leaf, who, sizeof who);
    cli_log("message in #%s from leaf %u (%s), server says %s", g->rec.name, res->sender_leaf,
            who, e->sender ? e->sender : "?");
    if (!who[0])
        snprintf(who, sizeof who, "%s", e->sender ? e->sender : "?");
    text = cli_text_sanitize((const char *)res->application_data.p, res->application_data.n);
    if (text)
        lines_add(q, LINE_MESSAGE, who, e->time, "%s", text);
    free(text);
    return 1;
}

/*
 * Processes log entry e of g in order.  Returns 0 when processed (the
 * cursor moved), 1 when there is a gap before it (fetch first), -1 when
 * the group cannot go on.  The new MLS state, the cursor and the history
 * rows are written in one transaction (DESIGN Decision 4).
 */
static int process_entry(struct cli_session *s, struct cli_grp *g, const struct cli_log_entry *e)
{
    mls_process_result res;
    struct lines q;
    int rc = -1, processed = 0;
    int own = e->sender && strcmp(e->sender, s->ident.username) == 0;
    int64_t outbox_id = -1, old_cursor = g->rec.cursor;
    mls_bytes msg = mls_buf_view(&e->message);
    mls_buf old_state; /* the saved state before this entry, for a failed save */

    mls_buf_init(&old_state);
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
            if (own_commit(s, g, e, &q) != 0) {
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
        if (commit_step(s, g, msg, &res, e->time, &q) != 0)
            goto out;
        processed = 1;
        goto advance;
    }
    if (own && e->kind == CLI_LOG_MESSAGE) {
        struct find_ct f;
        memset(&f, 0, sizeof f);
        f.group = g->rec.name;
        f.ct = msg;
        if (cli_store_outbox_each(s->store, find_ct_cb, &f) == 0 && f.text) {
            outbox_id = f.id;
            lines_add(&q, LINE_OWN, s->ident.username, e->time, "%s", f.text);
        }
        free(f.text);
        goto advance;
    }
    if (own)
        goto advance;
    processed = other_entry(s, g, e, &res, &q);
    if (processed < 0)
        goto out;

advance:
    if (processed) {
        old_state = g->rec.state;
        mls_buf_init(&g->rec.state);
        if (cli_grp_snapshot(g) != 0)
            goto fail_db;
    }
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
    lines_flush(s, g, &q, 1);
    if (e->kind == CLI_LOG_COMMIT || !cli_grp_active(g))
        cli_changed(s);
    rc = 0;
    goto out;
fail_db:
    cli_store_rollback(s->store);
    /* Memory goes back to what the store still holds: the cursor and the
     * state before this entry (not the new state, which would leave
     * memory one epoch ahead of the cursor). */
    g->rec.cursor = old_cursor;
    if (processed) {
        mls_buf_clear(&g->rec.state);
        g->rec.state = old_state;
        mls_buf_init(&old_state);
    }
    if (cli_grp_reload(s, g) != 0)
        cli_log("cannot restore the group state");
    cli_notice(s, g->rec.name, 1, "cannot save the state of #%s; stopping", g->rec.name);
    rc = -1;
out:
    lines_flush(s, g, &q, 0);
    mls_process_result_clear(&res);
    mls_buf_clear(&old_state);
    return rc;
}

/* ---------------------------------------------------------------- reading */

void cli_sync_after_change(struct cli_session *s, struct cli_grp *g)
{
    if (!s->authed || !cli_grp_synced(g) || g->sync.fetching || !cli_grp_active(g))
        return;
    if (g->op)
        cli_commit_continue(g->op);
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

static void fetch_reply(void *ctx, json_t *reply)
{
    struct cli_grp *g = ctx;
    struct cli_session *s = g->s;
    struct cli_reply rp;
    struct cli_log_entry e;
    size_t i, n;

    g->sync.fetching = 0;
    cli_proto_reply(reply, &rp);
    if (rp.err == CLI_PERR_DISCONNECTED)
        return;
    if (!rp.ok) {
        fetch_refused(s, g, &rp);
        return;
    }
    memset(&e, 0, sizeof e);
    mls_buf_init(&e.message);
    n = cli_proto_entries_count(reply);
    for (i = 0; i < n; i++) {
        int r = cli_proto_log_entry(cli_proto_entry_at(reply, i), &e);
        if (r != 0)
            continue; /* no seq: nothing to place */
        r = process_entry(s, g, &e);
        if (r == 1) {
            g->sync.refetch = 1;
            break;
        }
        if (r < 0) {
            mls_buf_clear(&e.message);
            return;
        }
    }
    mls_buf_clear(&e.message);
    if (!cli_grp_active(g))
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

void cli_sync_fetch(struct cli_session *s, struct cli_grp *g)
{
    json_t *req;
    if (!s->authed || !cli_grp_active(g))
        return;
    if (g->sync.fetching || g->sync.wait) {
        g->sync.refetch = 1;
        return;
    }
    req = cli_proto_log_fetch(g->rec.name, g->rec.cursor, SYNC_FETCH_LIMIT);
    if (req && cli_net_request(s->net, req, fetch_reply, g) >= 0)
        g->sync.fetching = 1;
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
        if (process_entry(s, g, &e) == 0)
            cli_sync_after_change(s, g);
        goto out;
    }
    cli_sync_fetch(s, g);
out:
    mls_buf_clear(&e.message);
}
