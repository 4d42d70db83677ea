/* Group sync: another member's commit judged and adopted, and what it
 * changed said in words (see sync.h, sync_int.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory.h"
#include "gcommit.h"
#include "pins.h"
#include "rules.h"
#include "sync.h"
#include "sync_int.h"
#include "textsafe.h"

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

/* ---------------------------------------------------------------- commits */

/* Did the member at leaf propose its own removal (a /leave)? */
static int left_by_itself(const mls_staged_commit *sc, uint32_t leaf)
{
    mls_proposal_info p;
    size_t i;
    for (i = 0; mls_staged_commit_proposal(sc, i, &p) == MLS_OK; i++)
        if (p.type == MLS_PROPOSAL_REMOVE && p.has_before && p.before.leaf == leaf)
            return p.sender_type == MLS_SENDER_MEMBER && p.sender_index == leaf;
    return 0;
}

struct admin_diff {
    mls_bytes other;    /* the list compared with */
    char names[256];
    size_t o;
};

static void admin_diff_one(void *ctx, mls_bytes name)
{
    struct admin_diff *d = ctx;
    char n[40];
    cli_bytes_to_name(name, n, sizeof n);
    if (cli_ext_admins_has(d->other, n) || d->o + 40 >= sizeof d->names)
        return;
    d->o += (size_t)snprintf(d->names + d->o, sizeof d->names - d->o, "%s%s", d->o ? ", " : "",
                             n);
}

/* A GroupContext extension of the group before and after a commit that
 * changes its extensions (empty where absent); -1 when it changes none. */
static int ext_change(struct cli_grp *g, const mls_staged_commit *sc, uint16_t type,
                      mls_bytes *before, mls_bytes *after)
{
    mls_commit_summary sum;
    if (mls_staged_commit_summary(sc, &sum) != MLS_OK || !sum.extensions_changed)
        return -1;
    if (mls_group_extension(g->mls, type, before) != MLS_OK)
        *before = mls_bytes_of(NULL, 0);
    *after = mls_bytes_of(NULL, 0);
    for (size_t i = 0; i < sum.n_new_extensions; i++)
        if (sum.new_extensions[i].type == type)
            *after = sum.new_extensions[i].data;
    return 0;
}

/* "made x an administrator" / "took y's administrator role" lines. */
static void describe_admins(struct cli_grp *g, const mls_staged_commit *sc, const char *committer,
                            int64_t time, struct lines *q)
{
    mls_bytes before, after;
    struct admin_diff d;
    if (ext_change(g, sc, CLI_EXT_ADMINS, &before, &after))
        return;
    memset(&d, 0, sizeof d);
    d.other = before;
    if (cli_ext_admins_each(after, admin_diff_one, &d) == 0 && d.o > 0)
        sync_lines_add(q, LINE_SYSTEM, NULL, time, "%s made %s an administrator of #%s",
                       committer, d.names, g->rec.name);
    memset(&d, 0, sizeof d);
    d.other = after;
    if (cli_ext_admins_each(before, admin_diff_one, &d) == 0 && d.o > 0)
        sync_lines_add(q, LINE_SYSTEM, NULL, time, "%s is no longer an administrator of #%s (by %s)",
                       d.names, g->rec.name, committer);
}

/* "alice set the topic: ..." when the commit changes the topic (its text
 * passes the display sanitizer: it is the committer's). */
static void describe_topic(struct cli_grp *g, const mls_staged_commit *sc, const char *committer,
                           int64_t time, struct lines *q)
{
    mls_bytes before, after;
    char topic[CLI_TOPIC_MAX + 1];
    char *safe;
    if (ext_change(g, sc, CLI_EXT_TOPIC, &before, &after))
        return;
    if (before.n == after.n && (after.n == 0 || memcmp(before.p, after.p, after.n) == 0))
        return;
    if (after.n == 0 || cli_ext_topic_decode(after, topic, sizeof topic) != 0)
        topic[0] = 0;
    if (!topic[0]) {
        sync_lines_add(q, LINE_SYSTEM, NULL, time, "%s cleared the topic of #%s", committer,
                  g->rec.name);
        return;
    }
    safe = cli_text_sanitize(topic, strlen(topic));
    if (safe)
        sync_lines_add(q, LINE_SYSTEM, NULL, time, "%s set the topic: %s", committer, safe);
    free(safe);
}

/* What an accepted, allowed commit of another member does, for the user. */
static void describe_commit(struct cli_session *s, struct cli_grp *g, const mls_staged_commit *sc,
                            const mls_process_result *res, const char *committer, int64_t time,
                            struct lines *q)
{
    char names[512];
    size_t i;

    if (res->external_init) {
        char n[40];
        cli_bytes_to_name(mls_buf_view(&res->committer.identity), n, sizeof n);
        sync_lines_add(q, LINE_SYSTEM, NULL, time,
                  "%s rejoined #%s (their client had lost its state of the group)", n,
                  g->rec.name);
        cli_dir_verify_member(s, g, n, mls_buf_view(&res->committer.signature_key));
        return;
    }
    if (res->n_added > 0) {
        change_names(res->added, res->n_added, names, sizeof names);
        sync_lines_add(q, LINE_SYSTEM, NULL, time, "%s invited %s to #%s", committer, names,
                  g->rec.name);
        for (i = 0; i < res->n_added; i++) {
            char n[40];
            cli_bytes_to_name(mls_buf_view(&res->added[i].identity), n, sizeof n);
            cli_dir_verify_member(s, g, n, mls_buf_view(&res->added[i].signature_key));
        }
    }
    for (i = 0; i < res->n_removed; i++) {
        char n[40];
        cli_bytes_to_name(mls_buf_view(&res->removed[i].identity), n, sizeof n);
        if (res->removed[i].leaf == mls_group_own_leaf(g->mls))
            sync_lines_add(q, LINE_ERROR, NULL, time,
                      left_by_itself(sc, res->removed[i].leaf)
                          ? "you left #%s (your departure was committed by %s)"
                          : "you were removed from #%s by %s",
                      g->rec.name, committer);
        else if (left_by_itself(sc, res->removed[i].leaf))
            sync_lines_add(q, LINE_SYSTEM, NULL, time, "%s left #%s", n, g->rec.name);
        else
            sync_lines_add(q, LINE_SYSTEM, NULL, time, "%s removed %s from #%s", committer, n,
                      g->rec.name);
    }
    describe_admins(g, sc, committer, time, q);
    describe_topic(g, sc, committer, time, q);
    if (res->n_added == 0 && res->n_removed == 0 && !res->extensions_changed)
        sync_lines_add(q, LINE_SYSTEM, NULL, time, "%s updated their keys in #%s (epoch %llu)",
                  committer, g->rec.name, (unsigned long long)res->new_epoch);
    for (i = 0; i < res->n_updated; i++) {
        char n[40];
        cli_bytes_to_name(mls_buf_view(&res->updated[i].identity), n, sizeof n);
        cli_dir_verify_member(s, g, n, mls_buf_view(&res->updated[i].signature_key));
    }
}

/* A leaf's credential changed its name (a /nick): allowed only as pins.h's
 * cli_pins_rename says (a registered rename: same key, a valid name no
 * other member has, the pins agree), then shown as "old is now new". */
struct rename_ctx {
    struct cli_session *s;
    struct cli_grp *g;
    struct lines *q;
    int64_t time;
};

static enum cli_verdict rename_cb(void *ctx, const struct cli_leaf *before,
                                  const struct cli_leaf *after)
{
    struct rename_ctx *r = ctx;
    char old[40], now[40];
    cli_bytes_to_name(before->identity, old, sizeof old);
    cli_bytes_to_name(after->identity, now, sizeof now);
    if (strcmp(old, now) == 0)
        return CLI_RULE_IDENTITY; /* a new key under the same name is no rename */
    if (cli_pins_rename(r->s, r->g, before->leaf, old, now, before->signature_key,
                        after->signature_key) != CLI_RENAME_OK)
        return CLI_RULE_IDENTITY;
    sync_lines_add(r->q, LINE_SYSTEM, NULL, r->time, "%s is now %s", old, now);
    return CLI_RULE_OK;
}

/*
 * The commit step (RFC 9420 §12.4.2, README "staged commits"): another
 * member's commit, staged by libmls (g->mls untouched), judged by the
 * chat's rules on the group before it, described, and its next state
 * prepared (*next) for the caller to save with the cursor in one
 * transaction before merging *staged in memory.  0 when it is to be
 * followed; -1 when g cannot follow it (marked broken, or refused loudly);
 * *staged is then NULL.
 */
int sync_commit_step(struct cli_session *s, struct cli_grp *g, const struct cli_log_entry *e,
                       mls_process_result *res, mls_staged_commit *sc, struct lines *q,
                       mls_buf *next)
{
    struct cli_judgement j;

    struct rename_ctx rc;

    /* Whatever we had out for this epoch lost to this commit. */
    cli_grp_commit_settled(g);
    rc.s = s;
    rc.g = g;
    rc.q = q;
    rc.time = e->time;
    if (cli_judge_commit(g->mls, sc, rename_cb, &rc, &j) != 0) {
        cli_sync_mark_broken(s, g, "a commit could not be inspected");
        return -1;
    }
    if (j.verdict != CLI_RULE_OK) {
        sync_refuse_commit(s, g, e, &j);
        return -1;
    }
    if (mls_staged_commit_next_state(sc, next) != MLS_OK) {
        cli_sync_mark_broken(s, g, "the state after a commit could not be prepared");
        return -1;
    }
    describe_commit(s, g, sc, res, j.committer, e->time, q);
    return 0;
}

/* Our own commit came back in the log: adopt the state we prepared. */
int sync_own_commit(struct cli_session *s, struct cli_grp *g, const struct cli_log_entry *e,
                      struct lines *q)
{
    char names[512] = "", done[640] = "";
    const char *d = cli_commit_done_text(g);
    size_t i, o = 0;

    if (d)
        snprintf(done, sizeof done, "%s", d);
    if (cli_commit_adopt(s, g) != 0)
        return -1;
    if (done[0]) {
        sync_lines_add(q, LINE_SYSTEM, NULL, e->time, "%s", done);
        return 0;
    }
    for (i = 0; i < e->n_added && o + 40 < sizeof names; i++)
        o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", o ? ", " : "", e->added[i]);
    if (o > 0)
        sync_lines_add(q, LINE_SYSTEM, NULL, e->time, "you invited %s to #%s", names, g->rec.name);
    else
        sync_lines_add(q, LINE_SYSTEM, NULL, e->time, "you updated your keys in #%s (epoch %llu)",
                  g->rec.name, (unsigned long long)mls_group_epoch(g->mls));
    return 0;
}

