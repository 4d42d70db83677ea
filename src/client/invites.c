/* Pending invitations.  See invites.h. */
#include "invites.h"

#include <stdio.h>
#include <string.h>

#include "consent.h"
#include "core.h"
#include "gcommit.h"

/* A group busy with another change is asked again after this long, at
 * most INVITES_TRIES times in a row. */
#define INVITES_RETRY_MS 1000u
#define INVITES_TRIES 30

static void keep_reply(void *ctx, json_t *reply)
{
    struct cli_req *r = ctx;
    struct cli_session *s = r->s;
    struct cli_reply rp;

    cli_proto_reply(reply, &rp);
    if (rp.ok)
        cli_notice(s, r->name, 0,
                   "the server keeps the invitation of %s to #%s: %s is added as soon as %s has "
                   "started the client (by your client, or another administrator's)",
                   r->user, r->name, r->user, r->user);
    else if (rp.err != CLI_PERR_DISCONNECTED)
        cli_notice(s, r->name, 1, "cannot invite %s: %s", r->user, rp.message);
    cli_req_free(r);
}

void cli_invites_keep(struct cli_session *s, const char *group, const char *username,
                      const char *why)
{
    struct cli_req *r = cli_req_new(s, cli_grp_find(s, group), group);
    if (!r)
        return;
    snprintf(r->user, sizeof r->user, "%s", username);
    cli_notice(s, group, 0, "%s cannot be added to #%s yet (%s)", username, group, why);
    cli_req_send(s, cli_proto_invite_pending(group, username), keep_reply, r);
}

/* username can be added to group now, if we administer it: 0 done or
 * not for us, 1 when the group is busy (try again later). */
static int add_now(struct cli_session *s, const char *group, const char *username)
{
    struct cli_grp *g = cli_grp_find(s, group);
    char name[33];
    char *names[1];

    if (!cli_grp_active(g) || !cli_grp_is_admin(g->mls, s->ident.username))
        return 0;
    if (g->op || g->phase == CLI_PHASE_REJOINING)
        return 1;
    snprintf(name, sizeof name, "%s", username);
    names[0] = name;
    cli_notice(s, group, 0, "%s has started the client: adding them to #%s (invited earlier)",
               username, group);
    cli_commit_invite(s, group, names, 1);
    return 0;
}

struct check_ctx {
    struct cli_session *s;
    int busy;
};

static void invite_cb(void *ctx, const struct cli_invite *inv)
{
    struct check_ctx *c = ctx;
    struct cli_session *s = c->s;
    if (inv->mine) {
        if (cli_grp_active(cli_grp_find(s, inv->group)))
            return; /* a member already (or invited: consent.h) */
        if (cli_consent_asked(s, inv->group, cli_grp_find(s, inv->group)))
            cli_notice(s, inv->group, 0,
                       "an invitation to #%s from %s is waiting: you join as soon as an "
                       "administrator's client adds you (now if one is online, else when one "
                       "starts)", inv->group, inv->inviter[0] ? inv->inviter : "an administrator");
        else
            cli_notice(s, NULL, 0,
                       "an invitation to #%s from %s is waiting: once an administrator's client "
                       "adds you, /join %s accepts it", inv->group,
                       inv->inviter[0] ? inv->inviter : "an administrator", inv->group);
        return;
    }
    if (inv->ready && add_now(s, inv->group, inv->username))
        c->busy = 1;
}

static void retry_fire(void *ctx)
{
    struct cli_session *s = ctx;
    if (s->authed)
        cli_invites_check(s);
}

static void list_reply(void *ctx, json_t *reply)
{
    struct cli_session *s = ctx;
    struct check_ctx c;
    struct cli_reply rp;

    s->invites_busy = 0;
    cli_proto_reply(reply, &rp);
    if (s->invites_again && rp.err != CLI_PERR_DISCONNECTED) {
        /* An event came meanwhile: this answer may be older than it. */
        s->invites_again = 0;
        cli_invites_check(s);
        return;
    }
    if (!rp.ok) {
        if (rp.err != CLI_PERR_DISCONNECTED)
            cli_log("invite.list: %s", rp.message);
        return;
    }
    memset(&c, 0, sizeof c);
    c.s = s;
    if (cli_proto_invite_list_reply(reply, invite_cb, &c) != 0)
        cli_log("invite.list: malformed reply");
    if (c.busy && s->invites_tries++ < INVITES_TRIES)
        cli_timer_start(s->net, &s->invites_timer, INVITES_RETRY_MS, retry_fire, s);
    else if (!c.busy)
        s->invites_tries = 0;
}

void cli_invites_check(struct cli_session *s)
{
    json_t *req;
    if (s->invites_busy) {
        s->invites_again = 1;
        return;
    }
    req = cli_proto_invite_list();
    if (req && cli_net_request(s->net, req, list_reply, s) >= 0)
        s->invites_busy = 1;
}

void cli_invites_on_event(struct cli_session *s, json_t *ev)
{
    const char *username = NULL, *group = cli_proto_invite_event(ev, &username);
    if (!group)
        return;
    /* Listing again also covers a group busy right now. */
    cli_log("invite event: %s may join #%s", username, group);
    cli_invites_check(s);
}
