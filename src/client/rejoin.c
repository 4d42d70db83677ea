/* Rejoining by an external commit.  See rejoin.h. */
#include "rejoin.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "directory.h"
#include "ginfo.h"
#include "judge.h"
#include "mls/inspect.h"
#include "sync.h"

static void rejoin_stuck(struct cli_session *s, struct cli_grp *g, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* It failed for a reason a retry does not fix (said to the user). */
static void rejoin_stuck(struct cli_session *s, struct cli_grp *g, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    cli_phase_set(g, CLI_PHASE_STUCK);
    cli_notice(s, g->rec.name, 1, "cannot rejoin #%s: %s", g->rec.name, buf);
    cli_changed(s);
}

/* We are not on the roster (any more). */
static void rejoin_not_member(struct cli_session *s, struct cli_grp *g)
{
    char name[65];
    snprintf(name, sizeof name, "%s", g->rec.name);
    mls_buf_clear(&g->rec.pending_commit);
    mls_buf_clear(&g->rec.pending_state);
    if (g->rec.state.n == 0) {
        /* Never saved (its row was lost): nothing to keep. */
        cli_grp_remove(s, g);
    } else if (cli_phase_set(g, CLI_PHASE_REMOVED) == 0 && cli_grp_save(s, g) != 0) {
        cli_log("cannot save group");
    }
    cli_notice(s, name, 1, "you are no longer a member of #%s", name);
    cli_changed(s);
}

static void rejoin_adopt(struct cli_session *s, struct cli_grp *g, int64_t seq)
{
    mls_group *m = NULL;
    mls_buf old_state, old_commit;
    int64_t old_cursor = g->rec.cursor;
    char line[256];

    /* The state prepared for the external commit is read first; memory
     * (g->mls) moves only once the store holds it with the cursor, so a
     * failed save leaves both where they were. */
    if (mls_group_deserialize(s->env, mls_buf_view(&g->rec.pending_state), &m) != MLS_OK) {
        rejoin_stuck(s, g, "the state prepared for it is unreadable");
        return;
    }
    old_state = g->rec.state;
    old_commit = g->rec.pending_commit;
    g->rec.state = g->rec.pending_state;
    mls_buf_init(&g->rec.pending_state);
    mls_buf_init(&g->rec.pending_commit);
    g->rec.cursor = seq;
    g->rec.status = cli_phase_status(CLI_PHASE_CATCHING_UP);
    snprintf(line, sizeof line, "you rejoined #%s (epoch %llu); messages sent while this client "
             "was out of sync cannot be read", g->rec.name,
             (unsigned long long)mls_group_epoch(m));
    if (cli_store_begin(s->store) != 0 || cli_grp_save(s, g) != 0 ||
        cli_store_history_add(s->store, g->rec.name, -1, (int64_t)cli_time(), NULL, line) < 0 ||
        cli_store_commit(s->store) != 0) {
        cli_store_rollback(s->store);
        /* Back as it was: the next login sends the same external commit,
         * which the server recognises as accepted (PROTOCOL.md §7.7). */
        g->rec.pending_state = g->rec.state;
        g->rec.pending_commit = old_commit;
        g->rec.state = old_state;
        g->rec.cursor = old_cursor;
        g->rec.status = cli_phase_status(g->phase);
        mls_group_free(m);
        cli_notice(s, g->rec.name, 1, "cannot save the state of #%s", g->rec.name);
        return;
    }
    mls_buf_clear(&old_state);
    mls_buf_clear(&old_commit);
    mls_group_free(g->mls);
    g->mls = m;
    g->state_unverified = 0;
    g->rejoin_tries = 0;
    cli_phase_set(g, CLI_PHASE_CATCHING_UP);
    cli_notice(s, g->rec.name, 0, "%s", line);
    cli_joined(s, g->rec.name);
    cli_changed(s);
    cli_dir_verify_all(s, g);
    cli_sync_fetch(s, g);
}

static void rejoin_commit_reply(void *ctx, json_t *reply)
{
    struct cli_req *r = ctx;
    struct cli_session *s = r->s;
    struct cli_grp *g = r->g;
    struct cli_reply rp;
    int64_t seq = 0;

    cli_req_free(r);
    if (!g)
        return;
    g->rejoin_busy = 0;
    cli_proto_reply(reply, &rp);
    if (rp.err == CLI_PERR_DISCONNECTED || g->phase != CLI_PHASE_REJOINING)
        return; /* sent again after logging in */
    if (rp.ok) {
        if (cli_proto_seq_reply(reply, &seq) != 0)
            rejoin_stuck(s, g, "the server's answer is malformed");
        else
            rejoin_adopt(s, g, seq);
        return;
    }
    mls_buf_clear(&g->rec.pending_commit);
    mls_buf_clear(&g->rec.pending_state);
    if (g->rec.state.n > 0 && cli_grp_save(s, g) != 0)
        cli_log("cannot save group");
    if (rp.err == CLI_PERR_STALE_EPOCH && ++g->rejoin_tries <= CLI_MAX_COMMIT_RETRIES) {
        /* DESIGN Decision 3: a newer GroupInfo, a new external commit. */
        cli_notice(s, g->rec.name, 0, "#%s changed meanwhile (epoch %lld): rejoining from its "
                   "new state", g->rec.name, (long long)rp.current_epoch);
        cli_rejoin_start(s, g);
        return;
    }
    if (rp.err == CLI_PERR_NOT_MEMBER) {
        rejoin_not_member(s, g);
        return;
    }
    rejoin_stuck(s, g, "the server refused the external commit: %s", rp.message);
}

/* Sends the saved external commit with the GroupInfo of the epoch it
 * starts (the server keeps it for the next one to join or rejoin). */
static void rejoin_send(struct cli_session *s, struct cli_grp *g)
{
    mls_group *m = NULL;
    mls_buf info;
    json_t *req;

    mls_buf_init(&info);
    if (mls_group_deserialize(s->env, mls_buf_view(&g->rec.pending_state), &m) != MLS_OK ||
        mls_group_group_info(m, 1, &info) != MLS_OK || mls_group_epoch(m) == 0) {
        mls_buf_clear(&g->rec.pending_commit);
        mls_buf_clear(&g->rec.pending_state);
        rejoin_stuck(s, g, "the state prepared for it is unreadable");
        goto out;
    }
    req = cli_proto_group_commit(g->rec.name, mls_group_epoch(m) - 1,
                                 mls_buf_view(&g->rec.pending_commit), mls_buf_view(&info),
                                 mls_bytes_of(NULL, 0));
    if (cli_req_send(s, req, rejoin_commit_reply, cli_req_new(s, g, g->rec.name)) == 0)
        g->rejoin_busy = 1;
out:
    mls_group_free(m);
    mls_buf_clear(&info);
}

/*
 * Issue 9 "safe rejoin": the group an external commit would put us in
 * (m, built from the server's GroupInfo gi) must be the one this client
 * last verified (rec.state): same MLS group, name, administrators and
 * members, the GroupInfo signed by one of them.  Anything else would let
 * a server (or a member's commit the server should have refused) choose
 * the group for us.  Without a verified state (a new device, a lost
 * store) there is nothing to compare with: that is said, and the rejoin
 * goes on (trust on first use).  0 to go on, -1 when refused (said, and
 * g stuck).
 */
static int rejoin_trusted(struct cli_session *s, struct cli_grp *g, mls_bytes gi, const mls_group *m)
{
    struct cli_group_facts trusted, offered;
    mls_group *old = NULL;
    mls_message_info info;
    mls_tree_view *t = NULL;
    mls_member signer;
    mls_bytes signer_key = mls_bytes_of(NULL, 0);
    enum cli_verdict v;
    int rc = -1;

    memset(&trusted, 0, sizeof trusted);
    memset(&offered, 0, sizeof offered);
    if (g->rec.state.n == 0 || g->state_unverified ||
        mls_group_deserialize(s->env, mls_buf_view(&g->rec.state), &old) != MLS_OK) {
        cli_notice(s, g->rec.name, 1, "this client has no earlier state of #%s to check the "
                   "server's GroupInfo against (a new device or a lost store): rejoining from "
                   "it as the server gives it", g->rec.name);
        return 0;
    }
    if (mls_message_inspect(gi, &info) == MLS_OK &&
        mls_tree_view_from_group_info(gi, &t) == MLS_OK &&
        mls_tree_view_member(t, info.signer_leaf, &signer) == MLS_OK)
        signer_key = signer.signature_key;
    if (cli_group_facts_of(old, &trusted) != 0 || cli_group_facts_of(m, &offered) != 0) {
        rejoin_stuck(s, g, "out of memory");
        goto out;
    }
    v = cli_rule_rejoin(&trusted, &offered, signer_key, mls_bytes_of((const uint8_t *)s->ident.username, strlen(s->ident.username)));
    if (v != CLI_RULE_OK) {
        rejoin_stuck(s, g, "REFUSED: the server's GroupInfo of #%s is not the group as this "
                     "client last verified it (epoch %llu): %s; its members, administrators or "
                     "name changed without a commit this client checked, or it is not signed by "
                     "a member. The server may be misbehaving.",
                     g->rec.name, (unsigned long long)mls_group_epoch(old), cli_verdict_text(v));
        goto out;
    }
    rc = 0;
out:
    cli_group_facts_clear(&trusted);
    cli_group_facts_clear(&offered);
    mls_tree_view_free(t);
    mls_group_free(old);
    return rc;
}

/* Builds the external commit from the server's GroupInfo of g. */
static void rejoin_build(struct cli_session *s, struct cli_grp *g, mls_bytes gi, mls_bytes gid)
{
    mls_external_join_options jo;
    mls_group *m = NULL;
    mls_buf commit, state;
    mls_bytes name_ext = mls_bytes_of(NULL, 0);
    uint32_t old = 0;
    int rc;

    mls_buf_init(&commit);
    mls_buf_init(&state);
    memset(&jo, 0, sizeof jo);
    jo.config = &s->cfg;
    rc = cli_group_info_find_leaf(gi, mls_buf_view(&s->ident.sig_pk), &old);
    if (rc < 0) {
        rejoin_stuck(s, g, "the server's GroupInfo of it is malformed");
        goto out;
    }
    if (rc == 0) {
        /* RFC 9420 §12.4.3.2: our old leaf goes in the same commit. */
        jo.remove_old_leaf = 1;
        jo.old_leaf = old;
    }
    rc = mls_group_external_join(s->env, s->id, gi, &jo, &commit, &m);
    if (rc != MLS_OK) {
        rejoin_stuck(s, g, "%s", mls_strerror(rc));
        goto out;
    }
    if (mls_group_extension(m, CLI_EXT_GROUP_NAME, &name_ext) != MLS_OK ||
        cli_rule_group_is(name_ext, g->rec.name, mls_group_id(m), gid) != CLI_RULE_OK ||
        gid.n == 0) {
        rejoin_stuck(s, g, "the server's GroupInfo is for another group");
        goto out;
    }
    if (rejoin_trusted(s, g, gi, m) != 0)
        goto out;
    if (g->rec.state.n == 0)
        g->state_unverified = 1; /* what is saved below was never checked */
    if (mls_group_serialize(m, &state) != MLS_OK ||
        mls_buf_set(&g->rec.group_id, gid.p, gid.n) != MLS_OK ||
        (g->rec.state.n == 0 && mls_buf_set(&g->rec.state, state.p, state.n) != MLS_OK))
        goto fail;
    mls_buf_clear(&g->rec.pending_commit);
    mls_buf_clear(&g->rec.pending_state);
    g->rec.pending_commit = commit;
    g->rec.pending_state = state;
    mls_buf_init(&commit);
    mls_buf_init(&state);
    if (cli_grp_save(s, g) != 0) {
        mls_buf_clear(&g->rec.pending_commit);
        mls_buf_clear(&g->rec.pending_state);
        goto fail;
    }
    rejoin_send(s, g);
    goto out;
fail:
    rejoin_stuck(s, g, "cannot save the state prepared for it");
out:
    mls_group_free(m);
    mls_buf_clear(&commit);
    mls_buf_clear(&state);
}

static void rejoin_info_reply(void *ctx, json_t *reply)
{
    struct cli_req *r = ctx;
    struct cli_session *s = r->s;
    struct cli_grp *g = r->g;
    struct cli_reply rp;
    struct cli_group_info_reply info;

    cli_req_free(r);
    if (!g)
        return;
    g->rejoin_busy = 0;
    cli_proto_reply(reply, &rp);
    if (rp.err == CLI_PERR_DISCONNECTED || g->phase != CLI_PHASE_REJOINING)
        return; /* asked again after logging in */
    if (!rp.ok) {
        rejoin_stuck(s, g, "%s", rp.message);
        return;
    }
    memset(&info, 0, sizeof info);
    mls_buf_init(&info.group_info);
    mls_buf_init(&info.group_id);
    if (cli_proto_group_info_reply(reply, &info) != 0)
        rejoin_stuck(s, g, "the server's answer is malformed");
    else if (!info.exists || !info.member)
        rejoin_not_member(s, g);
    else if (!info.has_group_info)
        rejoin_stuck(s, g, "the server holds no GroupInfo of it (nobody changed the group "
                     "since it was created); an administrator can remove and re-invite you");
    else
        rejoin_build(s, g, mls_buf_view(&info.group_info), mls_buf_view(&info.group_id));
    mls_buf_clear(&info.group_info);
    mls_buf_clear(&info.group_id);
}

void cli_rejoin_start(struct cli_session *s, struct cli_grp *g)
{
    if (!s->authed || g->rejoin_busy || g->phase != CLI_PHASE_REJOINING)
        return;
    if (g->rec.pending_commit.n > 0 && g->rec.pending_state.n > 0) {
        /* Prepared before a restart or a lost connection: the same bytes. */
        rejoin_send(s, g);
        return;
    }
    if (cli_req_send(s, cli_proto_group_info(g->rec.name), rejoin_info_reply,
                     cli_req_new(s, g, g->rec.name)) == 0)
        g->rejoin_busy = 1;
}

void cli_rejoin_named(struct cli_session *s, const char *name)
{
    struct cli_grp *g = cli_grp_find(s, name);
    if (!g) {
        g = cli_grp_add(s, name);
        if (!g || cli_phase_set(g, CLI_PHASE_REJOINING) != 0)
            return;
    }
    if (g->phase != CLI_PHASE_REJOINING)
        return;
    if (!g->rejoin_busy)
        cli_notice(s, name, 0, "you are a member of #%s but this client has no usable state of "
                   "it: rejoining", name);
    cli_rejoin_start(s, g);
}
