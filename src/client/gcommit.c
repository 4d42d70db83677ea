/* Our own commits.  See gcommit.h. */
#include "gcommit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "directory.h"
#include "sync.h"

#define COMMIT_MAX_INVITE 50

enum commit_kind { COMMIT_ADD = 1, COMMIT_UPDATE };
/* An operation claims KeyPackages (invite only), is ready to be built or
 * sent again, or has its group.commit out. */
enum commit_state { OP_CLAIMING = 1, OP_READY, OP_SENT };

struct cli_claim {
    struct cli_commit *op;
    char name[33];
    mls_buf kp;      /* KeyPackage MLSMessage */
    mls_buf dir_key; /* the directory's key for name */
    int got_kp, got_dir, failed;
};

struct cli_commit {
    struct cli_session *s;
    struct cli_grp *g;
    enum commit_kind kind;
    enum commit_state state;
    struct cli_claim *claims;
    size_t n_claims;
    size_t outstanding;
    int retries;
    json_t *req; /* the group.commit request, to resend after a reconnect */
};

void cli_commit_free(struct cli_commit *op)
{
    size_t i;
    if (!op)
        return;
    cli_net_forget(op->s->net, op);
    for (i = 0; i < op->n_claims; i++) {
        cli_net_forget(op->s->net, &op->claims[i]);
        mls_buf_clear(&op->claims[i].kp);
        mls_buf_clear(&op->claims[i].dir_key);
    }
    if (op->g && op->g->op == op)
        op->g->op = NULL;
    free(op->claims);
    json_decref(op->req);
    free(op);
}

int cli_commit_adopt(struct cli_session *s, struct cli_grp *g)
{
    mls_group *m = NULL;
    if (mls_group_deserialize(s->env, mls_buf_view(&g->rec.pending_state), &m) != MLS_OK)
        return -1;
    mls_group_free(g->mls);
    g->mls = m;
    mls_buf_clear(&g->rec.state);
    g->rec.state = g->rec.pending_state;
    memset(&g->rec.pending_state, 0, sizeof g->rec.pending_state);
    cli_grp_commit_settled(g);
    if (g->op)
        cli_commit_free(g->op);
    return 0;
}

static void commit_run(struct cli_commit *op);

static void commit_reply(void *ctx, json_t *reply)
{
    struct cli_commit *op = ctx;
    struct cli_session *s = op->s;
    struct cli_grp *g = op->g;
    struct cli_reply rp;
    int64_t seq;

    cli_proto_reply(reply, &rp);
    if (rp.err == CLI_PERR_DISCONNECTED) {
        /* Lost with the connection: after catching up, the log says
         * whether it was accepted; if not, it is sent again. */
        op->state = OP_READY;
        return;
    }
    if (rp.ok) {
        /* Merged when its log entry is processed (in order). */
        if (cli_proto_seq_reply(reply, &seq) != 0 || seq > g->rec.cursor)
            cli_sync_fetch(s, g);
        return;
    }
    /* The commit was refused: nothing of it happened. */
    if (g->rec.pending_commit.n > 0) {
        cli_grp_commit_settled(g);
        if (cli_grp_save(s, g) != 0)
            cli_log("cannot save group");
    }
    json_decref(op->req);
    op->req = NULL;
    if (rp.err == CLI_PERR_STALE_EPOCH && ++op->retries <= CLI_MAX_COMMIT_RETRIES) {
        /* DESIGN Decision 3: catch up and build the commit again. */
        cli_notice(s, g->rec.name, 0, "#%s changed meanwhile (epoch %lld): catching up and "
                   "retrying", g->rec.name, (long long)rp.current_epoch);
        op->state = OP_READY;
        cli_sync_fetch(s, g);
        return;
    }
    cli_notice(s, g->rec.name, 1, "the server refused the change to #%s: %s", g->rec.name,
               rp.message);
    cli_commit_free(op);
    cli_changed(s);
}

/* Builds the commit, prepares and saves the state after it, sends it. */
static void commit_build(struct cli_commit *op)
{
    struct cli_session *s = op->s;
    struct cli_grp *g = op->g;
    mls_staged_commit *sc = NULL;
    mls_commit_options copt;
    mls_bytes *kps = NULL;
    mls_buf post;
    json_t *req = NULL;
    size_t i, n = 0;
    uint64_t epoch;
    int rc;

    mls_buf_init(&post);
    kps = calloc(op->n_claims + 1, sizeof *kps);
    if (!kps)
        goto fail;
    for (i = 0; i < op->n_claims; i++) {
        if (op->claims[i].failed)
            continue;
        kps[n++] = mls_buf_view(&op->claims[i].kp);
    }
    epoch = mls_group_epoch(g->mls);
    /* PROTOCOL.md §7.4: commits are PublicMessages so that the server can
     * validate them, also in groups whose saved state predates that. */
    memset(&copt, 0, sizeof copt);
    copt.handshake = MLS_HANDSHAKE_PUBLIC;
    if (op->kind == COMMIT_ADD) {
        copt.add = kps;
        copt.n_add = n;
    } else {
        /* A key update that also carries our name, when our leaf still
         * has the one before a /nick (PROTOCOL.md §5.1). */
        char own[40];
        copt.force_path = 1;
        cli_member_name(g->mls, mls_group_own_leaf(g->mls), own, sizeof own);
        if (strcmp(own, s->ident.username) != 0)
            copt.new_identity = s->id;
    }
    rc = mls_group_commit(g->mls, &copt, &sc);
    if (rc != MLS_OK) {
        cli_notice(s, g->rec.name, 1, "cannot build the change to #%s: %s", g->rec.name,
                   mls_strerror(rc));
        goto fail;
    }
    /* One Welcome for all the added users (PROTOCOL.md §7.4). */
    req = cli_proto_group_commit(g->rec.name, epoch, mls_staged_commit_message(sc),
                                 mls_staged_commit_group_info(sc),
                                 mls_staged_commit_welcome(sc));
    if (!req ||
        mls_buf_set(&g->rec.pending_commit, mls_staged_commit_message(sc).p,
                    mls_staged_commit_message(sc).n) != MLS_OK)
        goto fail_pending;
    /* The state after the commit is prepared now and kept beside the
     * commit, but adopted only when the commit shows up in the log: the
     * group itself stays in this epoch (DESIGN Decision 3), and a crash in
     * between loses nothing. */
    rc = mls_group_merge_staged(g->mls, sc);
    if (rc != MLS_OK || mls_group_serialize(g->mls, &post) != MLS_OK ||
        cli_grp_reload(s, g) != 0) {
        if (cli_grp_reload(s, g) != 0)
            cli_log("cannot restore group state");
        goto fail_pending;
    }
    mls_buf_clear(&g->rec.pending_state);
    g->rec.pending_state = post;
    mls_buf_init(&post);
    if (cli_grp_save(s, g) != 0 || cli_phase_set(g, CLI_PHASE_COMMITTING) != 0)
        goto fail_pending;
    op->req = req;
    req = NULL;
    json_incref(op->req);
    if (cli_net_request(s->net, op->req, commit_reply, op) < 0) {
        op->state = OP_READY; /* sent after reconnecting */
        goto out;
    }
    op->state = OP_SENT;
    goto out;
fail_pending:
    cli_grp_commit_settled(g);
    if (cli_grp_save(s, g) != 0)
        cli_log("cannot save group");
fail:
    cli_notice(s, g->rec.name, 1, "the change to #%s was not made", g->rec.name);
    cli_commit_free(op);
out:
    mls_staged_commit_free(sc);
    json_decref(req);
    free(kps);
    mls_buf_clear(&post);
}

static void commit_run(struct cli_commit *op)
{
    struct cli_session *s = op->s;
    struct cli_grp *g = op->g;

    if (op->state != OP_READY || !s->authed || !cli_grp_synced(g) || g->sync.fetching ||
        !cli_grp_active(g))
        return;
    if (op->req && g->rec.pending_commit.n > 0 && g->phase == CLI_PHASE_COMMITTING) {
        /* Not accepted before the connection was lost: the same bytes go
         * again (the server takes one commit per epoch). */
        json_incref(op->req);
        if (cli_net_request(s->net, op->req, commit_reply, op) >= 0)
            op->state = OP_SENT;
        return;
    }
    if (g->phase != CLI_PHASE_MEMBER)
        return;
    json_decref(op->req);
    op->req = NULL;
    commit_build(op);
}

void cli_commit_continue(struct cli_commit *op)
{
    if (op && op->state == OP_READY)
        commit_run(op);
}

/* ---------------------------------------------------------------- claims */

/* All claims answered: check each KeyPackage against the directory. */
static void claims_done(struct cli_commit *op)
{
    struct cli_session *s = op->s;
    size_t i, ok = 0;
    for (i = 0; i < op->n_claims; i++) {
        struct cli_claim *c = &op->claims[i];
        if (c->failed)
            continue;
        if (!c->got_kp || !c->got_dir) {
            cli_notice(s, op->g->rec.name, 1,
                       "cannot invite %s: no KeyPackage or directory entry", c->name);
            c->failed = 1;
            continue;
        }
        if (cli_dir_check_key_package(s, op->g, c->name, mls_buf_view(&c->kp),
                                      mls_buf_view(&c->dir_key)) != 0) {
            c->failed = 1;
            continue;
        }
        ok++;
    }
    if (ok == 0) {
        cli_commit_free(op);
        return;
    }
    op->state = OP_READY;
    commit_run(op);
}

static void claim_step(struct cli_claim *c)
{
    struct cli_commit *op = c->op;
    if (--op->outstanding == 0)
        claims_done(op);
}

static void claim_kp_reply(void *ctx, json_t *reply)
{
    struct cli_claim *c = ctx;
    struct cli_session *s = c->op->s;
    const char *group = c->op->g->rec.name;
    struct cli_reply rp;

    cli_proto_reply(reply, &rp);
    if (!rp.ok) {
        if (rp.err == CLI_PERR_NO_KEY_PACKAGE)
            cli_notice(s, group, 1,
                       "cannot invite %s: %s has no KeyPackage left on this server (the "
                       "one-time keys an invitation needs); %s must start the client again, "
                       "which publishes new ones, then invite again",
                       c->name, c->name, c->name);
        else if (rp.err == CLI_PERR_UNKNOWN_USER)
            cli_notice(s, group, 1,
                       "cannot invite %s: %s has no account on this server yet; %s must start "
                       "the client once (it registers the name and publishes the KeyPackages "
                       "an invitation needs), then invite again",
                       c->name, c->name, c->name);
        else
            cli_notice(s, group, 1, "cannot invite %s: %s", c->name, rp.message);
        c->failed = 1;
    } else if (cli_proto_kp_claim_reply(reply, &c->kp) != 0) {
        c->failed = 1;
    } else {
        c->got_kp = 1;
    }
    claim_step(c);
}

static void claim_dir_reply(void *ctx, json_t *reply)
{
    struct cli_claim *c = ctx;
    if (cli_proto_user_lookup_reply(reply, &c->dir_key) == 0)
        c->got_dir = 1;
    else
        c->failed = 1;
    claim_step(c);
}

static struct cli_commit *commit_new(struct cli_session *s, struct cli_grp *g,
                                     enum commit_kind kind, size_t n_claims)
{
    struct cli_commit *op = calloc(1, sizeof *op);
    if (!op)
        return NULL;
    op->claims = calloc(n_claims + 1, sizeof *op->claims);
    if (!op->claims) {
        free(op);
        return NULL;
    }
    op->s = s;
    op->g = g;
    op->kind = kind;
    g->op = op;
    return op;
}

/* A group we can change now, or NULL after saying why not. */
static struct cli_grp *changeable(struct cli_session *s, const char *group)
{
    struct cli_grp *g = cli_grp_find(s, group);
    if (!cli_grp_active(g)) {
        cli_notice(s, group, 1, "you are not a member of #%s", group);
        return NULL;
    }
    if (g->op) {
        cli_notice(s, group, 1, "another change to #%s is in progress; try again in a moment",
                   group);
        return NULL;
    }
    return g;
}

void cli_commit_invite(struct cli_session *s, const char *group, char *const *names, size_t n)
{
    struct cli_grp *g = changeable(s, group);
    struct cli_commit *op;
    mls_bytes admins = mls_bytes_of(NULL, 0);
    size_t i, j, k = 0;

    if (!g)
        return;
    if (mls_group_extension(g->mls, CLI_EXT_ADMINS, &admins) != MLS_OK ||
        cli_rule_may_invite(admins, s->ident.username) != CLI_RULE_OK) {
        cli_notice(s, group, 1, "only administrators of #%s can invite", group);
        return;
    }
    if (!s->authed) {
        cli_notice(s, group, 1, "not connected: try again once connected");
        return;
    }
    if (n > COMMIT_MAX_INVITE) {
        cli_notice(s, group, 1, "at most %d users at once", COMMIT_MAX_INVITE);
        return;
    }
    op = commit_new(s, g, COMMIT_ADD, n);
    if (!op)
        return;
    for (i = 0; i < n; i++) {
        struct cli_claim *c = &op->claims[k];
        uint32_t leaf;
        int member, listed = 0;
        snprintf(c->name, sizeof c->name, "%s", names[i]);
        cli_lowercase(c->name);
        member = mls_group_find_member(g->mls, mls_bytes_of((const uint8_t *)c->name,
                                                            strlen(c->name)),
                                       &leaf) == MLS_OK;
        for (j = 0; j < k; j++)
            if (strcmp(op->claims[j].name, c->name) == 0)
                listed = 1;
        switch (cli_rule_invite_target(strlen(names[i]) > 32 ? "" : c->name,
                                       s->ident.username, member, listed)) {
        case CLI_RULE_OK:
            c->op = op;
            k++;
            break;
        case CLI_RULE_SELF:
            cli_notice(s, group, 1, "you are already in #%s", group);
            break;
        case CLI_RULE_ALREADY_MEMBER:
            cli_notice(s, group, 1, "%s is already a member of #%s", c->name, group);
            break;
        case CLI_RULE_DUPLICATE:
            break;
        default:
            cli_notice(s, group, 1, "\"%s\" is not a valid username", names[i]);
            break;
        }
    }
    op->n_claims = k;
    if (k == 0) {
        cli_commit_free(op);
        return;
    }
    op->state = OP_CLAIMING;
    op->outstanding = 2 * k;
    for (i = 0; i < k; i++) {
        struct cli_claim *c = &op->claims[i];
        json_t *lk = cli_proto_user_lookup(c->name);
        json_t *cl = cli_proto_kp_claim(c->name);
        if (!lk || cli_net_request(s->net, lk, claim_dir_reply, c) < 0) {
            c->failed = 1;
            op->outstanding--;
        }
        if (!cl || cli_net_request(s->net, cl, claim_kp_reply, c) < 0) {
            c->failed = 1;
            op->outstanding--;
        }
    }
    if (op->outstanding == 0)
        claims_done(op);
}

void cli_commit_update(struct cli_session *s, const char *group)
{
    struct cli_grp *g = changeable(s, group);
    struct cli_commit *op;
    if (!g)
        return;
    op = commit_new(s, g, COMMIT_UPDATE, 0);
    if (!op)
        return;
    op->state = OP_READY;
    if (!s->authed)
        cli_notice(s, group, 0, "not connected: the key update will be sent after reconnecting");
    cli_sync_after_change(s, g);
}
