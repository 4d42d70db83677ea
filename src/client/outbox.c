/* The outbox.  See outbox.h. */
#include "outbox.h"

#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "mls/inspect.h"
#include "join.h"
#include "sync.h"

/* PROTOCOL.md §7.7: 16 random bytes name a message for its whole life. */
#define OUTBOX_MSG_ID_LEN 16
#define OUTBOX_MSG_ID_MAX 64

/* Tells the UI where a typed message is (session.h, outgoing). */
static void outgoing(struct cli_session *s, const char *group, int64_t id, int state,
                     const char *text, const char *reason)
{
    if (s->ev.outgoing)
        s->ev.outgoing(s->ev.ctx, group, id, state, text, reason);
}

static int new_msg_id(struct cli_session *s, uint8_t out[OUTBOX_MSG_ID_LEN])
{
    return s->env->random(s->env->ctx, out, OUTBOX_MSG_ID_LEN) == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- window */

int cli_outbox_accepted(struct cli_outbox *o, int64_t id, int64_t seq, int64_t cursor)
{
    cli_outbox_prune(o, cursor);
    /* Read back already (the log event came before the answer): nothing
     * to remember, and the id may already belong to a newer entry. */
    if (seq <= cursor || o->n_acked == CLI_OUTBOX_WINDOW)
        return -1;
    o->acked[o->n_acked].id = id;
    o->acked[o->n_acked].seq = seq;
    o->n_acked++;
    return 0;
}

int cli_outbox_is_accepted(const struct cli_outbox *o, int64_t id, int64_t cursor)
{
    size_t i;
    for (i = 0; i < o->n_acked; i++)
        if (o->acked[i].id == id && o->acked[i].seq > cursor)
            return 1;
    return 0;
}

void cli_outbox_prune(struct cli_outbox *o, int64_t cursor)
{
    size_t i = 0;
    while (i < o->n_acked) {
        if (o->acked[i].seq <= cursor)
            o->acked[i] = o->acked[--o->n_acked];
        else
            i++;
    }
}

int cli_outbox_full(const struct cli_outbox *o)
{
    return o->n_acked == CLI_OUTBOX_WINDOW;
}

uint64_t cli_outbox_retry_ms(struct cli_outbox *o, int64_t retry_after)
{
    if (o->backoff_ms == 0)
        o->backoff_ms = 250;
    else if (o->backoff_ms < 30000)
        o->backoff_ms *= 2;
    if (retry_after > 0 && retry_after < 3600)
        return (uint64_t)retry_after * 1000u;
    return o->backoff_ms;
}

void cli_outbox_clear(struct cli_outbox *o)
{
    cli_timer_stop(&o->timer);
    o->n_acked = 0;
    o->busy = 0;
    o->wait = 0;
}

/* ---------------------------------------------------------------- next entry */

struct next_ctx {
    const char *group;
    const struct cli_outbox *o;
    int64_t cursor;
    struct cli_outbox_next *next;
    int failed;
};

static void next_cb(void *ctx, int64_t id, const char *group, const char *text, mls_bytes ct)
{
    struct next_ctx *c = ctx;
    struct cli_outbox_next *n = c->next;
    if (n->id >= 0 || c->failed || strcmp(group, c->group) != 0 ||
        cli_outbox_is_accepted(c->o, id, c->cursor))
        return;
    n->text = strdup(text);
    if (!n->text || (ct.n > 0 && mls_buf_set(&n->ct, ct.p, ct.n) != MLS_OK)) {
        c->failed = 1;
        return;
    }
    n->id = id;
}

int cli_outbox_next(struct cli_store *st, const char *group, const struct cli_outbox *o,
                    int64_t cursor, struct cli_outbox_next *next)
{
    struct next_ctx c;
    memset(next, 0, sizeof *next);
    next->id = -1;
    mls_buf_init(&next->ct);
    mls_buf_init(&next->msg_id);
    memset(&c, 0, sizeof c);
    c.group = group;
    c.o = o;
    c.cursor = cursor;
    c.next = next;
    /* The store hands entries out in id order, which is the typed order:
     * a new entry's id is above every id still there. */
    if (cli_store_outbox_each(st, next_cb, &c) != 0 || c.failed ||
        (next->id >= 0 && cli_store_outbox_msg_id(st, next->id, &next->msg_id) < 0)) {
        cli_outbox_next_clear(next);
        return -1;
    }
    return 0;
}

void cli_outbox_next_clear(struct cli_outbox_next *next)
{
    free(next->text);
    next->text = NULL;
    mls_buf_clear(&next->ct);
    mls_buf_clear(&next->msg_id);
    next->id = -1;
}

/* ---------------------------------------------------------------- sending */

static void retry_fire(void *ctx)
{
    struct cli_grp *g = ctx;
    g->out.wait = 0;
    cli_outbox_pump(g->s, g);
}

static void send_reply(void *ctx, json_t *reply)
{
    struct cli_req *r = ctx;
    struct cli_session *s = r->s;
    struct cli_grp *g = r->g;
    int64_t id = r->id, seq = 0;
    struct cli_reply rp;

    cli_req_free(r);
    if (!g)
        return;
    g->out.busy = 0;
    cli_proto_reply(reply, &rp);
    if (rp.err == CLI_PERR_DISCONNECTED)
        return; /* the catch-up after reconnecting says whether it got in */
    if (rp.ok) {
        /* Also a duplicate (a copy held by a broken link got in first):
         * the answer names the log entry all the same (PROTOCOL.md §7.7). */
        g->out.backoff_ms = 0;
        outgoing(s, g->rec.name, id, CLI_OUT_SENT, NULL, NULL);
        if (cli_proto_seq_reply(reply, &seq) != 0)
            seq = g->rec.cursor + 1; /* in the log somewhere ahead */
        if (cli_outbox_accepted(&g->out, id, seq, g->rec.cursor) == 0)
            cli_sync_fetch(s, g); /* our log event has not come yet */
        cli_outbox_pump(s, g);
        return;
    }
    if (cli_perr_temporary(rp.err)) {
        /* The same ciphertext goes again later, and nothing typed after
         * it leaves before it. */
        g->out.wait = 1;
        cli_timer_start(s->net, &g->out.timer, cli_outbox_retry_ms(&g->out, rp.retry_after),
                        retry_fire, g);
        return;
    }
    if (rp.err == CLI_PERR_WRONG_EPOCH) {
        /* A commit came first: encrypt again after catching up. */
        if (cli_store_outbox_set_ct(s->store, id, mls_bytes_of(NULL, 0)) != 0)
            cli_log("outbox: cannot reset %lld", (long long)id);
        cli_sync_fetch(s, g);
        return;
    }
    cli_notice(s, g->rec.name, 1, "a message to #%s was refused by the server (%s) and is "
               "dropped: %s", g->rec.name, cli_perr_name(rp.err), rp.message);
    outgoing(s, g->rec.name, id, CLI_OUT_FAILED, NULL, rp.message);
    if (cli_store_outbox_delete(s->store, id) != 0)
        cli_log("outbox: cannot delete %lld", (long long)id);
    cli_outbox_pump(s, g);
}

/* Encrypts next's text: the ratchet moved, so the new state and the
 * ciphertext (to know it in the log later, and to send the same bytes
 * again) are saved together before anything is sent. */
static int encrypt_next(struct cli_session *s, struct cli_grp *g, struct cli_outbox_next *next)
{
    mls_bytes text = mls_bytes_of((const uint8_t *)next->text, strlen(next->text));
    /* The msg_id rides in authenticated_data (RFC 9420 §6.3.1: sent in
     * clear, covered by the AEAD): our client knows its message in the
     * log by it, whichever of its encryptions got in.  Other members
     * ignore it. */
    if (mls_group_protect(g->mls, mls_buf_view(&next->msg_id), text, &next->ct) != MLS_OK) {
        cli_notice(s, g->rec.name, 1, "cannot encrypt a message for #%s", g->rec.name);
        if (cli_grp_reload(s, g) != 0)
            cli_log("cannot restore group state");
        return -1;
    }
    if (cli_grp_snapshot(g) != 0 || cli_store_begin(s->store) != 0) {
        cli_store_rollback(s->store);
        return -1;
    }
    if (cli_grp_save(s, g) != 0 ||
        cli_store_outbox_set_ct(s->store, next->id, mls_buf_view(&next->ct)) != 0 ||
        cli_store_commit(s->store) != 0) {
        cli_store_rollback(s->store);
        cli_notice(s, g->rec.name, 1, "cannot save the state of #%s", g->rec.name);
        return -1;
    }
    return 0;
}

void cli_outbox_pump(struct cli_session *s, struct cli_grp *g)
{
    struct cli_outbox_next next;
    struct cli_req *r;

    /* Only a caught-up member with no commit of its own out encrypts:
     * the epoch is then the server's. */
    if (!s->authed || !g || !g->mls || g->phase != CLI_PHASE_MEMBER || g->sync.fetching ||
        g->out.busy || g->out.wait)
        return;
    cli_outbox_prune(&g->out, g->rec.cursor);
    if (cli_outbox_full(&g->out))
        return;
    if (cli_outbox_next(s->store, g->rec.name, &g->out, g->rec.cursor, &next) != 0)
        return;
    if (next.id < 0)
        goto out;
    if (next.msg_id.n == 0) {
        /* An entry of an older version: named now, before it is sent. */
        uint8_t mid[OUTBOX_MSG_ID_LEN];
        if (new_msg_id(s, mid) != 0 || mls_buf_set(&next.msg_id, mid, sizeof mid) != MLS_OK ||
            cli_store_outbox_set_msg_id(s->store, next.id, mls_buf_view(&next.msg_id)) != 0 ||
            cli_store_outbox_set_ct(s->store, next.id, mls_bytes_of(NULL, 0)) != 0)
            goto out;
        mls_buf_reset(&next.ct);
    }
    if (next.ct.n == 0 && encrypt_next(s, g, &next) != 0)
        goto out;
    r = cli_req_new(s, g, NULL);
    if (r)
        r->id = next.id;
    if (cli_req_send(s,
                     cli_proto_group_send(g->rec.name, mls_buf_view(&next.ct),
                                          mls_buf_view(&next.msg_id)),
                     send_reply, r) == 0)
        g->out.busy = 1;
out:
    cli_outbox_next_clear(&next);
}

int cli_outbox_queue(struct cli_session *s, const char *group, const char *text)
{
    struct cli_grp *g = cli_grp_find(s, group);
    int64_t id;
    size_t n = strlen(text);
    uint8_t mid[OUTBOX_MSG_ID_LEN];

    if (g && (g->phase == CLI_PHASE_REMOVED || g->phase == CLI_PHASE_REFUSED)) {
        cli_notice(s, group, 1, "not sent: you are no longer a member of #%s", group);
        return -1;
    }
    if (n > CLI_TEXT_MAX) {
        cli_notice(s, group, 1, "message too long (%zu bytes, at most %d)", n, CLI_TEXT_MAX);
        return -1;
    }
    if (!cli_text_printable(text, n)) {
        cli_notice(s, group, 1, "message not sent: it is not valid UTF-8 text");
        return -1;
    }
    /* Kept in the outbox until the server has it in the log, also when
     * the group is not joined yet: sent, in order, once it is. */
    if (new_msg_id(s, mid) != 0 ||
        cli_store_outbox_add(s->store, group, text, mls_bytes_of(mid, sizeof mid), &id) != 0) {
        cli_notice(s, group, 1, "cannot queue the message");
        return -1;
    }
    outgoing(s, group, id, CLI_OUT_SENDING, text, NULL);
    if (!cli_grp_active(g)) {
        /* Before login nothing is known about membership; while joining
         * or rejoining it goes out shortly. */
        if (s->authed && cli_join_is_waiting(s, group))
            cli_notice(s, group, 0, "you are not a member of #%s yet: the message is kept and "
                       "sent once an administrator has invited you", group);
        return 0;
    }
    if (!s->authed && s->ever_authed)
        cli_notice(s, group, 0, "not connected: the message will be sent after reconnecting");
    cli_outbox_pump(s, g);
    return 0;
}

/* ---------------------------------------------------------------- counting */

struct count_ctx {
    const struct cli_session *s;
    int n, sendable;
    char *groups;
    size_t max, len;
};

/* 1 if "#group" is an item of the ", "-separated list. */
static int listed_in(const char *list, const char *group)
{
    size_t n = strlen(group);
    const char *p = list;
    while ((p = strchr(p, '#')) != NULL) {
        if (strncmp(p + 1, group, n) == 0 && (p[n + 1] == ',' || p[n + 1] == 0))
            return 1;
        p++;
    }
    return 0;
}

static void count_cb(void *ctx, int64_t id, const char *group, const char *text, mls_bytes ct)
{
    struct count_ctx *u = ctx;
    const struct cli_grp *g = cli_grp_find(u->s, group);
    (void)id;
    (void)text;
    (void)ct;
    u->n++;
    if (cli_grp_active(g) || (g && g->phase == CLI_PHASE_REJOINING))
        u->sendable++;
    if (u->groups && !listed_in(u->groups, group) && u->len + strlen(group) + 4 < u->max)
        u->len += (size_t)snprintf(u->groups + u->len, u->max - u->len, "%s#%s",
                                   u->len ? ", " : "", group);
}

int cli_outbox_count(const struct cli_session *s, char *groups, size_t max, int *sendable)
{
    struct count_ctx u;
    memset(&u, 0, sizeof u);
    u.s = s;
    u.groups = groups;
    u.max = max;
    if (groups && max)
        groups[0] = 0;
    if (cli_store_outbox_each(s->store, count_cb, &u) != 0)
        return -1;
    if (sendable)
        *sendable = u.sendable;
    return u.n;
}

struct reset_ctx {
    struct cli_session *s;
    const char *group;
};

static void reset_cb(void *ctx, int64_t id, const char *group, const char *text, mls_bytes ct)
{
    struct reset_ctx *r = ctx;
    (void)text;
    if (ct.n > 0 && strcmp(group, r->group) == 0 &&
        cli_store_outbox_set_ct(r->s->store, id, mls_bytes_of(NULL, 0)) != 0)
        cli_log("outbox: cannot reset entry %lld", (long long)id);
}

void cli_outbox_reset(struct cli_session *s, struct cli_grp *g)
{
    struct reset_ctx r;
    g->out.n_acked = 0;
    r.s = s;
    r.group = g->rec.name;
    if (cli_store_outbox_each(s->store, reset_cb, &r) != 0)
        cli_log("outbox: cannot scan");
}

/* ---------------------------------------------------------------- reading back */

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

int cli_outbox_find_own(struct cli_session *s, struct cli_grp *g, mls_bytes msg, int64_t *id,
                        char **text)
{
    mls_message_info info;
    struct find_ct f;
    int rc;

    /* By its msg_id (any of its encryptions), else by the bytes (an entry
     * sent before entries had one). */
    if (mls_message_inspect(msg, &info) == MLS_OK && info.authenticated_data.n > 0 &&
        info.authenticated_data.n <= OUTBOX_MSG_ID_MAX) {
        rc = cli_store_outbox_find(s->store, g->rec.name, info.authenticated_data, id, text);
        if (rc <= 0)
            return rc;
    }
    memset(&f, 0, sizeof f);
    f.group = g->rec.name;
    f.ct = msg;
    if (cli_store_outbox_each(s->store, find_ct_cb, &f) != 0) {
        free(f.text);
        return -1;
    }
    if (!f.text)
        return 1;
    *id = f.id;
    *text = f.text;
    return 0;
}

void cli_outbox_delivered(struct cli_session *s, struct cli_grp *g, int64_t id)
{
    outgoing(s, g->rec.name, id, CLI_OUT_DONE, NULL, NULL);
}

struct replay_ctx {
    struct cli_session *s;
};

static void replay_cb(void *ctx, int64_t id, const char *group, const char *text, mls_bytes ct)
{
    struct replay_ctx *r = ctx;
    (void)ct;
    outgoing(r->s, group, id, CLI_OUT_SENDING, text, NULL);
}

void cli_outbox_announce(struct cli_session *s)
{
    struct replay_ctx r;
    r.s = s;
    if (cli_store_outbox_each(s->store, replay_cb, &r) != 0)
        cli_log("outbox: cannot scan");
}
