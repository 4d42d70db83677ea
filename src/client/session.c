/* The session's facade (session.h): it owns the modules' shared state
 * (core.h), turns network events into their calls, and answers the
 * layers above in names and text. */
#include "session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "consent.h"
#include "core.h"
#include "gcommit.h"
#include "join.h"
#include "invites.h"
#include "outbox.h"
#include "pins.h"
#include "rejoin.h"
#include "sync.h"

/* Past epochs whose keys a group keeps (see cli_session_new). */
#define SESSION_PAST_EPOCHS 1

/* ---------------------------------------------------------------- shared */

void cli_notice(struct cli_session *s, const char *group, int error, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    cli_log("notice%s: %s", error ? " (error)" : "", buf);
    /* A group the user has not accepted shows nothing (consent.h). */
    if (group && cli_grp_find(s, group) && !cli_consent_shown(cli_grp_find(s, group)))
        return;
    if (s->ev.notice)
        s->ev.notice(s->ev.ctx, group, error, buf);
}

void cli_changed(struct cli_session *s)
{
    if (s->ev.changed)
        s->ev.changed(s->ev.ctx);
}

void cli_joined(struct cli_session *s, const char *group)
{
    if (cli_grp_find(s, group) && !cli_consent_shown(cli_grp_find(s, group)))
        return;
    if (s->ev.joined)
        s->ev.joined(s->ev.ctx, group);
}

struct cli_req *cli_req_new(struct cli_session *s, struct cli_grp *g, const char *name)
{
    struct cli_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->s = s;
    r->g = g;
    if (name)
        snprintf(r->name, sizeof r->name, "%s", name);
    r->next = s->reqs;
    if (s->reqs)
        s->reqs->prevp = &r->next;
    r->prevp = &s->reqs;
    s->reqs = r;
    return r;
}

void cli_req_free(struct cli_req *r)
{
    if (!r)
        return;
    mls_buf_clear(&r->key);
    *r->prevp = r->next;
    if (r->next)
        r->next->prevp = r->prevp;
    free(r);
}

int cli_req_send(struct cli_session *s, json_t *req, cli_net_reply_cb cb, struct cli_req *r)
{
    if (!req || !r) {
        json_decref(req);
        cli_req_free(r);
        return -1;
    }
    if (cli_net_request(s->net, req, cb, r) < 0) {
        cli_req_free(r);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- network events */

static void on_open(void *ctx)
{
    struct cli_session *s = ctx;
    s->open = 1;
    snprintf(s->conn, sizeof s->conn, "logging in");
    cli_changed(s);
}

static void on_close(void *ctx, const char *why)
{
    struct cli_session *s = ctx;
    struct cli_grp *g;
    int was = s->authed;
    s->open = 0;
    s->authed = 0;
    s->listed = 0;
    s->inbox_busy = 0;
    s->kp_busy = 0;
    for (g = s->groups; g; g = g->next)
        cli_sync_disconnected(g);
    snprintf(s->conn, sizeof s->conn, "offline, reconnecting");
    if (was)
        cli_notice(s, NULL, 1, "connection to %s lost (%s); reconnecting",
                   cli_net_endpoint(s->net), why);
    else if (strcmp(why, s->last_close) != 0)
        cli_notice(s, NULL, 1, "cannot connect to %s (%s); retrying", cli_net_endpoint(s->net),
                   why);
    snprintf(s->last_close, sizeof s->last_close, "%s", why);
    cli_changed(s);
}

static void on_before(void *ctx, void (*cb)(void *cb_ctx, json_t *reply), void *cb_ctx)
{
    cli_sync_before(ctx, cb, cb_ctx);
}

static void on_event(void *ctx, json_t *ev)
{
    struct cli_session *s = ctx;
    const char *nonce;
    switch (cli_proto_event(ev)) {
    case CLI_EVENT_CHALLENGE:
        nonce = cli_proto_challenge_nonce(ev);
        s->auth_tries = 0;
        if (nonce)
            cli_account_auth(s, nonce, cli_time());
        break;
    case CLI_EVENT_LOG:
        cli_sync_on_log_event(s, ev);
        break;
    case CLI_EVENT_INBOX:
        cli_join_on_inbox_event(s, ev);
        break;
    case CLI_EVENT_INVITE:
        cli_invites_on_event(s, ev);
        break;
    case CLI_EVENT_OTHER:
        break;
    }
}

/* ---------------------------------------------------------------- life */

static void load_group_cb(void *ctx, struct cli_group_rec *rec)
{
    struct cli_session *s = ctx;
    struct cli_grp *g = cli_grp_add(s, rec->name);
    enum cli_phase phase;
    if (!g)
        return;
    g->rec = *rec;
    memset(rec, 0, sizeof *rec);
    if (g->rec.joined_at > s->join_order)
        s->join_order = g->rec.joined_at;
    switch (g->rec.status) {
    case CLI_GROUP_JOINED:
        phase = CLI_PHASE_CATCHING_UP;
        break;
    case CLI_GROUP_REMOVED:
        phase = CLI_PHASE_REMOVED;
        break;
    case CLI_GROUP_REFUSED:
        phase = CLI_PHASE_REFUSED;
        break;
    default:
        phase = CLI_PHASE_REJOINING;
        break;
    }
    if (phase == CLI_PHASE_CATCHING_UP || phase == CLI_PHASE_REMOVED) {
        if (mls_group_deserialize(s->env, mls_buf_view(&g->rec.state), &g->mls) != MLS_OK) {
            g->mls = NULL;
            phase = CLI_PHASE_REJOINING;
        } else if (mls_group_forget_past_epochs(g->mls, SESSION_PAST_EPOCHS) != MLS_OK) {
            cli_log("session: cannot narrow the past epochs of %s", g->rec.name);
        }
    }
    cli_phase_set(g, phase);
    if (cli_consent_loaded(s, g))
        cli_grp_remove(s, g);
}

/* A state saved by an older client keeps more past epochs than this one
 * does: what load_group_cb forgot is written back at once, so that it is
 * gone from the database too (secure_delete overwrites the old row). */
static int save_narrowed(struct cli_session *s)
{
    struct cli_grp *g;
    mls_buf st;
    int rc = -1;

    mls_buf_init(&st);
    for (g = s->groups; g; g = g->next) {
        if (!g->mls)
            continue;
        mls_buf_reset(&st);
        if (mls_group_serialize(g->mls, &st) != MLS_OK)
            goto out;
        if (st.n == g->rec.state.n)
            continue;
        if (mls_buf_set(&g->rec.state, st.p, st.n) != MLS_OK ||
            cli_store_group_put(s->store, &g->rec) != 0)
            goto out;
    }
    rc = 0;
out:
    mls_buf_clear(&st);
    return rc;
}

int cli_session_new(const struct cli_session_config *cfg, const struct cli_session_events *ev,
                    struct cli_session **out, char *err, size_t errlen)
{
    struct cli_session *s = calloc(1, sizeof *s);
    struct cli_net_handlers h;
    int locked = 0, rc;
    char *db_path = NULL, *p;

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->ev = *ev;
    s->env = mls_env_default_parallel();
    mls_group_config_default(&s->cfg);
    /* Handshake messages are PublicMessages (PROTOCOL.md §7.4): the server
     * validates them with its public view of the group; application
     * messages stay PrivateMessages. */
    s->cfg.handshake_private = 0;
    s->cfg.padding_block = 32;
    s->cfg.ratchet_tree_in_welcome = 1;
    /* One past epoch: the server takes application messages of the
     * current epoch and the one before only (PROTOCOL.md §7.5) and
     * delivers the log in order, so once a group is two commits past an
     * epoch no message of it can come (SECURITY.md, "secrets at rest"). */
    s->cfg.max_past_epochs = SESSION_PAST_EPOCHS;
    snprintf(s->conn, sizeof s->conn, "connecting");
    memset(&h, 0, sizeof h);
    h.on_open = on_open;
    h.on_close = on_close;
    h.on_event = on_event;
    h.before = on_before;
    h.ctx = s;
    if (cli_net_new(cfg->server_url, cfg->ca_file, &h, &s->net, err, errlen) != 0)
        goto fail;
    /* One database per user and server: several usernames can share a
     * config directory, each with its own keys and groups. */
    db_path = cli_strdupf("%s/%s@%s.db", cfg->config_dir, cfg->username,
                          cli_net_endpoint(s->net));
    if (!db_path) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (p = db_path + strlen(cfg->config_dir) + 1; *p; p++)
        if (*p == ':' || *p == '/')
            *p = '_';
    if (cli_store_open(db_path, cfg->data_key, &s->store, &locked) != 0) {
        if (locked)
            snprintf(err, errlen, "another client is already running for %s with this config "
                     "directory", cfg->username);
        else
            snprintf(err, errlen, "cannot open the database %s", db_path);
        goto fail;
    }
    if (cli_account_setup(s, cfg->username, err, errlen) != 0)
        goto fail;
    if ((rc = cli_store_group_each(s->store, load_group_cb, s)) != 0) {
        if (rc == CLI_STORE_TAMPERED)
            snprintf(err, errlen, "a group state in %s does not decrypt: the database was "
                     "altered or belongs to another key file", db_path);
        else
            snprintf(err, errlen, "cannot read the groups from %s", db_path);
        goto fail;
    }
    if (save_narrowed(s) != 0) {
        snprintf(err, errlen, "cannot save the group states to %s", db_path);
        goto fail;
    }
    s->db_path = db_path;
    *out = s;
    return 0;
fail:
    free(db_path);
    cli_session_free(s);
    return -1;
}

void cli_session_free(struct cli_session *s)
{
    if (!s)
        return;
    if (s->net) {
        cli_timer_stop(&s->kp_timer);
        cli_timer_stop(&s->invites_timer);
    }
    cli_grp_free_all(s);
    while (s->reqs)
        cli_req_free(s->reqs);
    cli_net_free(s->net);
    cli_store_close(s->store);
    free(s->db_path);
    mls_identity_free(s->id);
    cli_identity_clear(&s->ident);
    mls_buf_clear(&s->lr_ref);
    free(s);
}

struct cli_net *cli_session_net(struct cli_session *s)
{
    return s->net;
}

void cli_session_start(struct cli_session *s)
{
    struct cli_grp *g;
    /* What an earlier run left queued is on its way again. */
    cli_outbox_announce(s);
    /* Invitations still waiting for an answer, from an earlier run. */
    for (g = s->groups; g; g = g->next)
        if (g->rec.consent == CLI_CONSENT_INVITED)
            cli_consent_announce(s, g);
    cli_net_connect(s->net);
}

void cli_session_stop(struct cli_session *s)
{
    cli_net_stop(s->net);
}

const char *cli_session_connection(const struct cli_session *s)
{
    return s->conn;
}

const char *cli_session_user(const struct cli_session *s)
{
    return s->ident.username;
}

int cli_session_online(const struct cli_session *s)
{
    return s->authed;
}

int cli_session_reconnect_in(const struct cli_session *s)
{
    uint64_t ms = cli_net_reconnect_in_ms(s->net);
    return (int)((ms + 999) / 1000);
}

int cli_session_reconnect(struct cli_session *s)
{
    if (!cli_net_reconnect_now(s->net))
        return 0;
    snprintf(s->conn, sizeof s->conn, "connecting");
    cli_changed(s);
    return 1;
}

/* ---------------------------------------------------------------- commands */

void cli_session_join(struct cli_session *s, const char *group)
{
    cli_join_request(s, group);
}

void cli_session_create(struct cli_session *s, const char *group)
{
    cli_join_allow_create(s, group);
    cli_join_request(s, group);
}

int cli_session_is_member(const struct cli_session *s, const char *group)
{
    const struct cli_grp *g = cli_grp_find(s, group);
    return cli_grp_active(g) && cli_consent_shown(g);
}

int cli_session_invited(const struct cli_session *s, const char *group)
{
    const struct cli_grp *g = cli_grp_find(s, group);
    return g && g->rec.consent == CLI_CONSENT_INVITED && cli_grp_active(g);
}

int cli_session_accept(struct cli_session *s, const char *group)
{
    return cli_consent_accept(s, group);
}

int cli_session_decline(struct cli_session *s, const char *group)
{
    return cli_consent_decline(s, group);
}

int cli_session_invitations(const struct cli_session *s, cli_invitation_cb cb, void *ctx)
{
    return cli_consent_each(s, cb, ctx);
}

int cli_session_send_text(struct cli_session *s, const char *group, const char *text)
{
    return cli_outbox_queue(s, group, text);
}

void cli_session_invite(struct cli_session *s, const char *group, char *const *names, size_t n)
{
    cli_commit_invite(s, group, names, n);
}

void cli_session_update(struct cli_session *s, const char *group)
{
    cli_commit_update(s, group);
}

void cli_session_set_admin(struct cli_session *s, const char *group, const char *user,
                           int make_admin)
{
    cli_commit_set_admin(s, group, user, make_admin);
}

void cli_session_kick(struct cli_session *s, const char *group, const char *user)
{
    cli_commit_kick(s, group, user);
}

void cli_session_set_topic(struct cli_session *s, const char *group, const char *text)
{
    cli_commit_topic(s, group, text);
}

int cli_session_topic(const struct cli_session *s, const char *group, char *out, size_t max)
{
    const struct cli_grp *g = cli_grp_find(s, group);
    mls_bytes data;
    if (!g || !g->mls || max == 0)
        return -1;
    out[0] = 0;
    if (mls_group_extension(g->mls, CLI_EXT_TOPIC, &data) == MLS_OK &&
        cli_ext_topic_decode(data, out, max) != 0)
        out[0] = 0;
    return 0;
}

void cli_session_leave(struct cli_session *s, const char *group)
{
    cli_commit_leave(s, group);
}

const char *cli_session_refusal(const struct cli_session *s, const char *group)
{
    const struct cli_grp *g = cli_grp_find(s, group);
    if (!g || g->phase != CLI_PHASE_REFUSED)
        return NULL;
    return g->refusal[0] ? g->refusal : "a commit broke the chat's rules (see the history)";
}

/* ---------------------------------------------------------------- state */

int cli_session_idle(const struct cli_session *s)
{
    struct cli_grp *g;
    int sendable = 0;
    if (!s->authed || s->n_joins > 0 || s->inbox_busy || s->kp_busy || s->reqs)
        return 0;
    for (g = s->groups; g; g = g->next) {
        if (g->op || g->rec.pending_commit.n > 0 || g->sync.fetching || g->sync.wait ||
            g->rejoin_busy)
            return 0;
        switch (g->phase) {
        case CLI_PHASE_CREATING:
        case CLI_PHASE_CATCHING_UP:
            if (g->mls)
                return 0;
            break;
        case CLI_PHASE_REJOINING:
        case CLI_PHASE_COMMITTING:
            return 0;
        default:
            break;
        }
    }
    if (cli_outbox_count(s, NULL, 0, &sendable) < 0)
        return 1;
    return sendable == 0;
}

int cli_session_unsent(const struct cli_session *s, char *groups, size_t max)
{
    int n = cli_outbox_count(s, groups, max, NULL);
    return n < 0 ? 0 : n;
}

int cli_session_membership(const struct cli_session *s, const char *group)
{
    const struct cli_grp *g = cli_grp_find(s, group);
    if (g && !cli_consent_shown(g))
        return CLI_MEMBERSHIP_UNKNOWN; /* an invitation: not the user's group (yet) */
    if (cli_grp_active(g))
        return CLI_MEMBERSHIP_MEMBER;
    if (g && (g->phase == CLI_PHASE_REMOVED || g->phase == CLI_PHASE_REFUSED ||
              g->phase == CLI_PHASE_STUCK))
        return CLI_MEMBERSHIP_GONE;
    if (!g && s->authed && cli_join_is_waiting(s, group))
        return CLI_MEMBERSHIP_WAITING;
    return CLI_MEMBERSHIP_UNKNOWN;
}

int cli_session_members(struct cli_session *s, const char *group, cli_member_cb cb, void *ctx)
{
    struct cli_grp *g = cli_grp_find(s, group);
    uint32_t i, n;
    int count = 0;
    if (!g || !g->mls)
        return -1;
    n = mls_group_leaf_count(g->mls);
    for (i = 0; i < n; i++) {
        mls_member m;
        struct cli_member_info info;
        char name[40];
        mls_buf key;
        if (mls_group_member(g->mls, i, &m) != MLS_OK)
            continue;
        cli_bytes_to_name(m.identity, name, sizeof name);
        memset(&info, 0, sizeof info);
        info.username = name;
        cli_fingerprint(m.signature_key, info.fingerprint);
        info.admin = cli_grp_is_admin(g->mls, name);
        info.self = i == mls_group_own_leaf(g->mls);
        mls_buf_init(&key);
        if (info.self)
            info.verified = mls_ct_equal(m.signature_key, mls_buf_view(&s->ident.sig_pk)) ? 1 : -1;
        else if (cli_store_dir_get(s->store, name, &key) == 0)
            info.verified = mls_ct_equal(m.signature_key, mls_buf_view(&key)) ? 1 : -1;
        mls_buf_clear(&key);
        if (!info.self)
            info.pin = cli_pins_state(s, name, m.signature_key, &info.pin_verified);
        cb(ctx, &info);
        count++;
    }
    return count;
}

int cli_session_member_count(const struct cli_session *s, const char *group)
{
    struct cli_grp *g = cli_grp_find(s, group);
    return g && g->mls ? (int)mls_group_member_count(g->mls) : -1;
}

void cli_session_groups(struct cli_session *s, cli_group_cb cb, void *ctx)
{
    struct cli_grp *g;
    for (g = s->groups; g; g = g->next) {
        struct cli_group_info info;
        if (!cli_consent_shown(g))
            continue;
        memset(&info, 0, sizeof info);
        info.name = g->rec.name;
        info.unread = g->rec.unread;
        info.status = g->rec.status;
        info.admin = g->mls ? cli_grp_is_admin(g->mls, s->ident.username) : 0;
        info.members = g->mls ? (int)mls_group_member_count(g->mls) : 0;
        info.epoch = g->mls ? mls_group_epoch(g->mls) : 0;
        cb(ctx, &info);
    }
}

const char *cli_session_group_at(const struct cli_session *s, int n)
{
    struct cli_grp *g;
    int i = 0;
    for (g = s->groups; g; g = g->next)
        if (cli_consent_shown(g) && ++i == n)
            return g->rec.name;
    return NULL;
}

void cli_session_set_unread(struct cli_session *s, const char *group, int64_t unread)
{
    struct cli_grp *g = cli_grp_find(s, group);
    if (!g || g->rec.unread == unread)
        return;
    g->rec.unread = unread;
    if (cli_store_group_set_unread(s->store, group, unread) != 0)
        cli_log("cannot save unread count");
}

int64_t cli_session_unread(const struct cli_session *s, const char *group)
{
    struct cli_grp *g = cli_grp_find(s, group);
    return g ? g->rec.unread : 0;
}

struct hist_ctx {
    struct cli_session *s;
    cli_history_cb cb;
    void *ctx;
};

static void hist_cb(void *ctx, int64_t seq, int64_t time, const char *sender, const char *text)
{
    struct hist_ctx *h = ctx;
    (void)seq;
    if (!sender && !*text)
        return;
    h->cb(h->ctx, sender && strcmp(sender, h->s->ident.username) == 0, sender, text, time);
}

void cli_session_history(struct cli_session *s, const char *group, int limit, cli_history_cb cb,
                         void *ctx)
{
    struct hist_ctx h;
    h.s = s;
    h.cb = cb;
    h.ctx = ctx;
    if (cli_store_history_recent(s->store, group, limit, hist_cb, &h) != 0)
        cli_log("cannot read history");
}

struct page_ctx {
    struct cli_session *s;
    cli_history_page_cb cb;
    void *ctx;
    int64_t first, last;
};

static void page_cb(void *ctx, int64_t id, int64_t time, const char *sender, const char *text)
{
    struct page_ctx *p = ctx;
    if (!p->first)
        p->first = id;
    p->last = id;
    if (!p->cb || (!sender && !*text))
        return;
    p->cb(p->ctx, id, sender && strcmp(sender, p->s->ident.username) == 0, sender, text, time);
}

int64_t cli_session_history_boundary(struct cli_session *s, const char *group, int limit)
{
    struct page_ctx p;
    memset(&p, 0, sizeof p);
    p.s = s;
    if (cli_store_history_page(s->store, group, 1, INT64_MAX, 0, limit, page_cb, &p) < 0)
        return 0;
    return p.first;
}

int cli_session_history_page(struct cli_session *s, const char *group, int older, int64_t id,
                             int64_t bound, int limit, cli_history_page_cb cb, void *ctx,
                             int64_t *first, int64_t *last)
{
    struct page_ctx p;
    int n;
    memset(&p, 0, sizeof p);
    p.s = s;
    p.cb = cb;
    p.ctx = ctx;
    n = cli_store_history_page(s->store, group, older, id, bound, limit, page_cb, &p);
    if (n < 0)
        cli_log("cannot read a page of history");
    *first = p.first;
    *last = p.last;
    return n;
}

void cli_session_search(struct cli_session *s, const char *group, const char *text, int limit,
                        cli_history_cb cb, void *ctx)
{
    struct hist_ctx h;
    h.s = s;
    h.cb = cb;
    h.ctx = ctx;
    if (cli_store_history_search(s->store, group, text, limit, hist_cb, &h) != 0)
        cli_log("cannot search history");
}
