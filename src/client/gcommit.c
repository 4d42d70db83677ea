/* Our own commits.  See gcommit.h. */
#include "gcommit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "directory.h"
#include "invites.h"
#include "sync.h"

#define COMMIT_MAX_INVITE 50

/* ADD /invite, UPDATE /update, REMOVE /kick, ADMINS /op and /deop,
 * PENDING an administrator committing the self-removals (/leave) members
 * proposed, TOPIC /topic text. */
enum commit_kind {
    COMMIT_ADD = 1,
    COMMIT_UPDATE,
    COMMIT_REMOVE,
    COMMIT_ADMINS,
    COMMIT_PENDING,
    COMMIT_TOPIC
};
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
    char target[33]; /* REMOVE, ADMINS: the user */
    int make_admin;  /* ADMINS: /op (1) or /deop (0) */
    char topic[CLI_TOPIC_MAX + 1]; /* TOPIC: the new topic */
    char done[CLI_TOPIC_MAX + 64]; /* what the user sees once it is in the log */
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
    if (op->kind == COMMIT_PENDING)
        g->pending_refused = mls_group_epoch(g->mls) + 1; /* not again in this epoch */
    cli_commit_free(op);
    cli_changed(s);
}

#define COMMIT_NOTHING 1
#define COMMIT_MAX_REMOVED 16

struct admin_list {
    const char *names[64];
    char store[64][33];
    size_t n;
    const char *drop[COMMIT_MAX_REMOVED + 1]; /* names left out */
    size_t n_drop;
};

static void admin_list_add(void *ctx, mls_bytes name)
{
    struct admin_list *l = ctx;
    size_t i;
    if (l->n == 64 || name.n == 0 || name.n > 32)
        return;
    for (i = 0; i < l->n_drop; i++)
        if (strlen(l->drop[i]) == name.n && memcmp(l->drop[i], name.p, name.n) == 0)
            return;
    memcpy(l->store[l->n], name.p, name.n);
    l->store[l->n][name.n] = 0;
    l->names[l->n] = l->store[l->n];
    l->n++;
}

static void admin_count(void *ctx, mls_bytes name)
{
    (void)name;
    (*(size_t *)ctx)++;
}

/* The administrators extension of m without the names in drop, plus add
 * (may be NULL).  0, -1 when malformed or out of memory; *changed 0 when
 * it would be the same list. */
static int admins_without(const mls_group *m, const char *const *drop, size_t n_drop,
                          const char *add, mls_buf *out, int *changed)
{
    struct admin_list *l = calloc(1, sizeof *l);
    mls_bytes cur;
    size_t i, total = 0;
    int rc = -1;
    if (!l || n_drop > COMMIT_MAX_REMOVED || mls_group_extension(m, CLI_EXT_ADMINS, &cur) != MLS_OK)
        goto out;
    for (i = 0; i < n_drop; i++)
        l->drop[i] = drop[i];
    l->n_drop = n_drop;
    if (cli_ext_admins_each(cur, admin_list_add, l) != 0 ||
        cli_ext_admins_each(cur, admin_count, &total) != 0)
        goto out;
    *changed = l->n != total;
    if (add && l->n < 64 && !cli_ext_admins_has(cur, add)) {
        snprintf(l->store[l->n], sizeof l->store[l->n], "%s", add);
        l->names[l->n] = l->store[l->n];
        l->n++;
        *changed = 1;
    }
    rc = cli_ext_admins_encode(l->names, l->n, out);
out:
    free(l);
    return rc;
}

/* Is the pending proposal p a member's proposal to remove itself? */
static int pending_self_remove(const mls_proposal_info *p)
{
    return p->type == MLS_PROPOSAL_REMOVE && p->sender_type == MLS_SENDER_MEMBER &&
           p->has_before && p->before.leaf == p->sender_index;
}

/*
 * /kick, /op, /deop and the commit of pending departures, built on g's
 * current epoch (names are looked up now: leaves move between epochs).
 * An administrator removed (kicked, or leaving) leaves the administrators
 * extension in the same commit: PROTOCOL.md §7.4 "extensions" wants it to
 * name only members.  removed[] gets the usernames removed (for the
 * administrators extension and what the user is told).  MLS_OK, COMMIT_NOTHING, or an MLS error.
 */
static int role_commit(struct cli_commit *op, mls_staged_commit **sc, char (*removed)[33],
                       size_t *n_removed)
{
    struct cli_grp *g = op->g;
    mls_commit_options co;
    mls_ext ext;
    mls_buf admins;
    const char *drop[COMMIT_MAX_REMOVED];
    uint32_t leaves[COMMIT_MAX_REMOVED];
    size_t i, n_leaves = 0;
    int changed = 0, rc = MLS_ERR_ARG;

    mls_buf_init(&admins);
    memset(&co, 0, sizeof co);
    co.handshake = MLS_HANDSHAKE_PUBLIC; /* PROTOCOL.md §7.4 */
    *n_removed = 0;
    if (op->kind == COMMIT_TOPIC) {
        /* A GroupContextExtensions proposal (RFC 9420 §12.1.7) of the
         * topic alone: libmls keeps the other extensions as they are. */
        if (cli_ext_topic_encode(op->topic, &admins) != 0) {
            rc = MLS_ERR_ARG;
            goto out;
        }
        ext.type = CLI_EXT_TOPIC;
        ext.data = mls_buf_view(&admins);
        co.set_extensions = &ext;
        co.n_set_extensions = 1;
        rc = mls_group_commit(g->mls, &co, sc);
        goto out;
    }
    if (op->kind == COMMIT_REMOVE) {
        uint32_t leaf;
        if (mls_group_find_member(g->mls, mls_bytes_of((const uint8_t *)op->target,
                                                       strlen(op->target)),
                                  &leaf) != MLS_OK) {
            rc = COMMIT_NOTHING;
            cli_notice(op->s, g->rec.name, 1, "%s is no longer a member of #%s", op->target,
                       g->rec.name);
            goto out;
        }
        leaves[n_leaves++] = leaf;
        snprintf(removed[(*n_removed)++], 33, "%s", op->target);
        co.remove = leaves;
        co.n_remove = n_leaves;
    } else if (op->kind == COMMIT_PENDING) {
        size_t n = mls_group_pending_proposals(g->mls);
        for (i = 0; i < n && *n_removed < COMMIT_MAX_REMOVED; i++) {
            mls_proposal_info p;
            if (mls_group_pending_proposal(g->mls, i, &p) == MLS_OK && pending_self_remove(&p))
                cli_bytes_to_name(p.before.identity, removed[(*n_removed)++], 33);
        }
        if (*n_removed == 0) {
            rc = COMMIT_NOTHING;
            goto out;
        }
        co.include_pending_proposals = 1;
        {
            size_t o = 0;
            for (i = 0; i < *n_removed && o + 40 < sizeof op->done; i++)
                o += (size_t)snprintf(op->done + o, sizeof op->done - o, "%s%s", i ? ", " : "",
                                      removed[i]);
            snprintf(op->done + o, sizeof op->done - o, " left #%s (you committed it)",
                     g->rec.name);
        }
    }
    for (i = 0; i < *n_removed; i++)
        drop[i] = removed[i];
    if (op->kind == COMMIT_ADMINS) {
        const char *one[1];
        one[0] = op->target;
        rc = admins_without(g->mls, one, op->make_admin ? 0 : 1,
                            op->make_admin ? op->target : NULL, &admins, &changed);
    } else {
        rc = admins_without(g->mls, drop, *n_removed, NULL, &admins, &changed);
    }
    if (rc != 0) {
        rc = MLS_ERR_INVALID;
        goto out;
    }
    if (changed) {
        ext.type = CLI_EXT_ADMINS;
        ext.data = mls_buf_view(&admins);
        co.set_extensions = &ext;
        co.n_set_extensions = 1;
    } else if (op->kind == COMMIT_ADMINS) {
        rc = COMMIT_NOTHING;
        goto out;
    }
    rc = mls_group_commit(g->mls, &co, sc);
out:
    mls_buf_clear(&admins);
    return rc;
}

/* Builds the commit, prepares and saves the state after it, sends it. */
static void commit_build(struct cli_commit *op)
{
    struct cli_session *s = op->s;
    struct cli_grp *g = op->g;
    mls_staged_commit *sc = NULL;
    mls_commit_options copt;
    mls_bytes *kps = NULL;
    mls_buf post, admins;
    mls_ext ext;
    json_t *req = NULL;
    char removed[COMMIT_MAX_REMOVED][33];
    size_t i, n = 0, n_removed = 0;
    uint64_t epoch;
    int rc;

    mls_buf_init(&post);
    mls_buf_init(&admins);
    kps = calloc(op->n_claims + 1, sizeof *kps);
    if (!kps)
        goto fail;
    for (i = 0; i < op->n_claims; i++) {
        if (op->claims[i].failed)
            continue;
        kps[n++] = mls_buf_view(&op->claims[i].kp);
    }
    epoch = mls_group_epoch(g->mls);
    if (op->kind == COMMIT_ADD || op->kind == COMMIT_UPDATE) {
        /* PROTOCOL.md §7.4: commits are PublicMessages so that the server
         * can validate them, also in groups whose saved state predates
         * that. */
        memset(&copt, 0, sizeof copt);
        copt.handshake = MLS_HANDSHAKE_PUBLIC;
        if (op->kind == COMMIT_ADD) {
            copt.add = kps;
            copt.n_add = n;
        } else {
            /* A key update that also carries our name, when our leaf
             * still has the one before a /nick (PROTOCOL.md §5.1). */
            char own[40];
            copt.force_path = 1;
            cli_member_name(g->mls, mls_group_own_leaf(g->mls), own, sizeof own);
            if (strcmp(own, s->ident.username) != 0) {
                const char *one[1];
                int changed = 0;
                copt.new_identity = s->id;
                /* An administrator keeps the role under the new name: the
                 * same commit rewrites the administrators extension (an
                 * administrator may change it, PROTOCOL.md §7.4). */
                one[0] = own;
                if (cli_grp_is_admin(g->mls, own) &&
                    admins_without(g->mls, one, 1, s->ident.username, &admins, &changed) == 0 &&
                    changed) {
                    ext.type = CLI_EXT_ADMINS;
                    ext.data = mls_buf_view(&admins);
                    copt.set_extensions = &ext;
                    copt.n_set_extensions = 1;
                }
            }
        }
        rc = mls_group_commit(g->mls, &copt, &sc);
    } else {
        rc = role_commit(op, &sc, removed, &n_removed);
        if (rc == COMMIT_NOTHING) {
            /* Nothing left to do in this epoch (e.g. another
             * administrator committed the departures first). */
            cli_commit_free(op);
            goto out;
        }
    }
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
    if (mls_staged_commit_next_state(sc, &post) != MLS_OK)
        goto fail_pending;
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
    mls_buf_clear(&admins);
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
            cli_invites_keep(s, group, c->name, "no KeyPackage left on the server");
        else if (rp.err == CLI_PERR_UNKNOWN_USER)
            cli_invites_keep(s, group, c->name, "no account on the server yet");
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

/* ---------------------------------------------------------------- roles */

/* Our name in g is an administrator's, and whether another
 * administrator is a member. */
static int other_admin_member(const struct cli_grp *g, const char *self)
{
    uint32_t i, n = mls_group_leaf_count(g->mls);
    for (i = 0; i < n; i++) {
        char name[40];
        cli_member_name(g->mls, i, name, sizeof name);
        if (name[0] && strcmp(name, self) != 0 && cli_grp_is_admin(g->mls, name))
            return 1;
    }
    return 0;
}

static int is_member(const struct cli_grp *g, const char *name)
{
    uint32_t leaf;
    return mls_group_find_member(g->mls, mls_bytes_of((const uint8_t *)name, strlen(name)),
                                 &leaf) == MLS_OK;
}

/* Starts a role commit on g once it is caught up. */
static void role_start(struct cli_session *s, struct cli_grp *g, enum commit_kind kind,
                       const char *target, int make_admin, const char *done)
{
    struct cli_commit *op = commit_new(s, g, kind, 0);
    if (!op)
        return;
    snprintf(op->target, sizeof op->target, "%s", target ? target : "");
    op->make_admin = make_admin;
    snprintf(op->done, sizeof op->done, "%s", done);
    op->state = OP_READY;
    if (!s->authed)
        cli_notice(s, g->rec.name, 0, "not connected: the change to #%s will be sent after "
                   "reconnecting", g->rec.name);
    cli_sync_after_change(s, g);
}

/* The user named by a role command, lowercased into out; 0 if valid. */
static int role_target(struct cli_session *s, const char *group, const char *user, char *out,
                       size_t max)
{
    if (strlen(user) >= max || strlen(user) > 32) {
        cli_notice(s, group, 1, "\"%s\" is not a valid username", user);
        return -1;
    }
    snprintf(out, max, "%s", user);
    cli_lowercase(out);
    return 0;
}

static void role_refused(struct cli_session *s, const char *group, const char *what,
                         const char *user, enum cli_verdict v)
{
    switch (v) {
    case CLI_RULE_NOT_ADMIN:
        cli_notice(s, group, 1, "only administrators of #%s can %s", group, what);
        break;
    case CLI_RULE_NOT_MEMBER:
        cli_notice(s, group, 1, "%s is not a member of #%s", user, group);
        break;
    case CLI_RULE_SELF:
        cli_notice(s, group, 1, "you cannot %s yourself (/leave leaves #%s)", what, group);
        break;
    case CLI_RULE_LAST_ADMIN:
        cli_notice(s, group, 1, "you are the last administrator of #%s: make someone else an "
                   "administrator first (/op user)", group);
        break;
    case CLI_RULE_DUPLICATE:
        cli_notice(s, group, 1, "nothing to do: %s %s an administrator of #%s", user,
                   strcmp(what, "make administrators") == 0 ? "is already" : "is not", group);
        break;
    default:
        cli_notice(s, group, 1, "\"%s\" is not a valid username", user);
        break;
    }
}

void cli_commit_set_admin(struct cli_session *s, const char *group, const char *user,
                          int make_admin)
{
    struct cli_grp *g = changeable(s, group);
    mls_bytes admins = mls_bytes_of(NULL, 0);
    char target[40], done[256];
    enum cli_verdict v;
    if (!g || role_target(s, group, user, target, sizeof target) != 0)
        return;
    if (mls_group_extension(g->mls, CLI_EXT_ADMINS, &admins) != MLS_OK)
        admins = mls_bytes_of(NULL, 0);
    v = cli_rule_set_admin(admins, s->ident.username, target, is_member(g, target), make_admin);
    if (v != CLI_RULE_OK) {
        role_refused(s, group, make_admin ? "make administrators" : "remove administrators",
                     target, v);
        return;
    }
    if (make_admin)
        snprintf(done, sizeof done, "you made %s an administrator of #%s", target, group);
    else if (strcmp(target, s->ident.username) == 0)
        snprintf(done, sizeof done, "you are no longer an administrator of #%s", group);
    else
        snprintf(done, sizeof done, "%s is no longer an administrator of #%s", target, group);
    role_start(s, g, COMMIT_ADMINS, target, make_admin, done);
}

void cli_commit_kick(struct cli_session *s, const char *group, const char *user)
{
    struct cli_grp *g = changeable(s, group);
    mls_bytes admins = mls_bytes_of(NULL, 0);
    char target[40], done[256];
    enum cli_verdict v;
    if (!g || role_target(s, group, user, target, sizeof target) != 0)
        return;
    if (mls_group_extension(g->mls, CLI_EXT_ADMINS, &admins) != MLS_OK)
        admins = mls_bytes_of(NULL, 0);
    v = cli_rule_kick(admins, s->ident.username, target, is_member(g, target));
    if (v != CLI_RULE_OK) {
        role_refused(s, group, "remove members", target, v);
        return;
    }
    snprintf(done, sizeof done, "you removed %s from #%s", target, group);
    role_start(s, g, COMMIT_REMOVE, target, 0, done);
}

void cli_commit_topic(struct cli_session *s, const char *group, const char *text)
{
    struct cli_grp *g = changeable(s, group);
    mls_bytes admins = mls_bytes_of(NULL, 0);
    struct cli_commit *op;
    if (!g)
        return;
    if (mls_group_extension(g->mls, CLI_EXT_ADMINS, &admins) != MLS_OK)
        admins = mls_bytes_of(NULL, 0);
    switch (cli_rule_topic(admins, s->ident.username, text)) {
    case CLI_RULE_OK:
        break;
    case CLI_RULE_NOT_ADMIN:
        cli_notice(s, group, 1, "only administrators of #%s can set its topic", group);
        return;
    default:
        cli_notice(s, group, 1, "the topic is not set: at most %u bytes of printable text",
                   CLI_TOPIC_MAX);
        return;
    }
    op = commit_new(s, g, COMMIT_TOPIC, 0);
    if (!op)
        return;
    snprintf(op->topic, sizeof op->topic, "%s", text);
    snprintf(op->done, sizeof op->done, "you set the topic: %s", op->topic);
    op->state = OP_READY;
    if (!s->authed)
        cli_notice(s, group, 0, "not connected: the topic will be sent after reconnecting");
    cli_sync_after_change(s, g);
}

static void leave_reply(void *ctx, json_t *reply)
{
    struct cli_req *r = ctx;
    struct cli_session *s = r->s;
    struct cli_grp *g = r->g;
    struct cli_reply rp;
    cli_req_free(r);
    cli_proto_reply(reply, &rp);
    if (!g || rp.ok || rp.err == CLI_PERR_DISCONNECTED)
        return; /* after reconnecting, the next epoch check sends it again */
    if (rp.err == CLI_PERR_WRONG_EPOCH || rp.err == CLI_PERR_STALE_EPOCH) {
        g->leave_epoch = UINT64_MAX; /* proposed again once caught up */
        cli_sync_fetch(s, g);
        return;
    }
    g->leaving = 0;
    cli_notice(s, g->rec.name, 1, "the server refused your departure from #%s: %s", g->rec.name,
               rp.message);
}

/* Sends our self-remove proposal (RFC 9420 §12.1.3) in g's epoch: an
 * administrator's client commits it (we cannot: a commit never removes
 * its own committer, §12.2). */
static void leave_propose(struct cli_session *s, struct cli_grp *g)
{
    mls_group_config cfg;
    mls_buf msg;
    json_t *req;
    mls_buf_init(&msg);
    /* PROTOCOL.md §7.5: a proposal is a PublicMessage (the server validates
     * it), also in a group whose saved settings predate that. */
    mls_group_get_config(g->mls, &cfg);
    if (cfg.handshake_private) {
        cfg.handshake_private = 0;
        if (mls_group_set_config(g->mls, &cfg) != MLS_OK)
            cli_log("cannot switch #%s to public handshakes", g->rec.name);
    }
    if (mls_group_propose_remove(g->mls, mls_group_own_leaf(g->mls), &msg) != MLS_OK) {
        cli_notice(s, g->rec.name, 1, "cannot build the departure from #%s", g->rec.name);
        g->leaving = 0;
        goto out;
    }
    /* The group remembers its own proposal (the commit names it by
     * reference): saved before it goes out. */
    if (cli_grp_snapshot(g) != 0 || cli_grp_save(s, g) != 0)
        cli_log("cannot save group state");
    g->leave_epoch = mls_group_epoch(g->mls);
    req = cli_proto_group_send(g->rec.name, mls_buf_view(&msg), mls_bytes_of(NULL, 0));
    cli_req_send(s, req, leave_reply, cli_req_new(s, g, g->rec.name));
out:
    mls_buf_clear(&msg);
}

void cli_commit_leave(struct cli_session *s, const char *group)
{
    struct cli_grp *g = changeable(s, group);
    mls_bytes admins = mls_bytes_of(NULL, 0);
    if (!g)
        return;
    if (mls_group_extension(g->mls, CLI_EXT_ADMINS, &admins) != MLS_OK)
        admins = mls_bytes_of(NULL, 0);
    if (cli_rule_leave(admins, s->ident.username, other_admin_member(g, s->ident.username)) !=
        CLI_RULE_OK) {
        cli_notice(s, group, 1, "you are the last administrator of #%s: make someone else an "
                   "administrator first (/op user), then leave", group);
        return;
    }
    if (g->leaving) {
        cli_notice(s, group, 0, "your departure from #%s is already on its way", group);
        return;
    }
    g->leaving = 1;
    g->leave_epoch = UINT64_MAX;
    cli_notice(s, group, 0, "leaving #%s: an administrator's client completes it", group);
    cli_sync_after_change(s, g);
}

void cli_commit_roles_tick(struct cli_session *s, struct cli_grp *g)
{
    size_t i, n;
    if (!cli_grp_synced(g) || g->op || g->phase != CLI_PHASE_MEMBER)
        return;
    if (g->leaving && g->leave_epoch != mls_group_epoch(g->mls)) {
        /* Proposals do not outlive their epoch (RFC 9420 §12.4). */
        leave_propose(s, g);
        return;
    }
    if (!cli_grp_is_admin(g->mls, s->ident.username) ||
        g->pending_refused == mls_group_epoch(g->mls) + 1)
        return;
    n = mls_group_pending_proposals(g->mls);
    for (i = 0; i < n; i++) {
        mls_proposal_info p;
        if (mls_group_pending_proposal(g->mls, i, &p) == MLS_OK && pending_self_remove(&p)) {
            role_start(s, g, COMMIT_PENDING, NULL, 0, "");
            return;
        }
    }
}

const char *cli_commit_done_text(const struct cli_grp *g)
{
    return g->op && g->op->done[0] ? g->op->done : NULL;
}
