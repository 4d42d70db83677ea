/* Consent to a group.  See consent.h. */
#include "consent.h"

#include <stdio.h>
#include <string.h>

#include "core.h"
#include "join.h"
#include "sync.h"

int cli_consent_asked(const struct cli_session *s, const char *group, const struct cli_grp *old)
{
    const struct cli_req *r;
    size_t i;
    if (old && old->rec.consent != CLI_CONSENT_DECLINED)
        return 1;
    if (cli_join_is_waiting(s, group))
        return 1;
    for (i = 0; i < s->n_joins; i++)
        if (strcmp(s->joins[i], group) == 0)
            return 1;
    /* A /join being decided (its group.info is out): asked for, too. */
    for (r = s->reqs; r; r = r->next)
        if (strcmp(r->name, group) == 0)
            return 1;
    return 0;
}

int cli_consent_shown(const struct cli_grp *g)
{
    return g && g->rec.consent == CLI_CONSENT_ACCEPTED;
}

void cli_consent_mark_invited(struct cli_grp *g, const char *inviter)
{
    g->rec.consent = CLI_CONSENT_INVITED;
    snprintf(g->rec.inviter, sizeof g->rec.inviter, "%s",
             inviter && cli_valid_username(inviter) ? inviter : "");
    g->rec.invited_at = (int64_t)cli_time();
}

static const char *inviter_of(const struct cli_grp *g)
{
    return g->rec.inviter[0] ? g->rec.inviter : "an administrator";
}

void cli_consent_announce(struct cli_session *s, const struct cli_grp *g)
{
    /* Said outside the group (group NULL): the group itself shows
     * nothing until it is accepted. */
    cli_notice(s, NULL, 0, "%s invited you to #%s: /join %s or /decline %s", inviter_of(g),
               g->rec.name, g->rec.name, g->rec.name);
}

int cli_consent_accept(struct cli_session *s, const char *group)
{
    struct cli_grp *g = cli_grp_find(s, group);
    char line[200], topic[CLI_TOPIC_MAX + 1];
    if (!g || g->rec.consent != CLI_CONSENT_INVITED || !cli_grp_active(g))
        return -1;
    snprintf(line, sizeof line, "you joined #%s, invited by %s", group, inviter_of(g));
    g->rec.consent = CLI_CONSENT_ACCEPTED;
    if (cli_store_begin(s->store) != 0 || cli_grp_save(s, g) != 0 ||
        cli_store_history_add(s->store, group, -1, (int64_t)cli_time(), NULL, line) < 0 ||
        cli_store_commit(s->store) != 0) {
        cli_store_rollback(s->store);
        g->rec.consent = CLI_CONSENT_INVITED;
        cli_notice(s, NULL, 1, "cannot save the group #%s", group);
        return -1;
    }
    if (g->mls)
        cli_notice(s, group, 0, "%s (%u members)", line, mls_group_member_count(g->mls));
    else
        cli_notice(s, group, 0, "%s", line);
    if (cli_session_topic(s, group, topic, sizeof topic) == 0 && topic[0])
        cli_notice(s, group, 0, "topic of #%s: %s", group, topic);
    cli_joined(s, group);
    cli_changed(s);
    return 0;
}

int cli_consent_decline(struct cli_session *s, const char *group)
{
    struct cli_grp *g = cli_grp_find(s, group);
    if (!g || g->rec.consent != CLI_CONSENT_INVITED || !cli_grp_active(g))
        return -1;
    g->rec.consent = CLI_CONSENT_DECLINED;
    if (cli_grp_save(s, g) != 0) {
        g->rec.consent = CLI_CONSENT_INVITED;
        cli_notice(s, NULL, 1, "cannot save the group #%s", group);
        return -1;
    }
    cli_notice(s, NULL, 0, "you declined the invitation to #%s from %s: leaving it (an "
               "administrator's client completes the departure)", group, inviter_of(g));
    if (cli_grp_active(g)) {
        /* The /leave path (gcommit.h): our self-remove proposal goes out
         * in each epoch until an administrator's client commits it. */
        g->leaving = 1;
        g->leave_epoch = UINT64_MAX;
        cli_sync_after_change(s, g);
    } else {
        cli_consent_forget(s, g);
    }
    cli_changed(s);
    return 0;
}

void cli_consent_forget(struct cli_session *s, struct cli_grp *g)
{
    if (cli_store_begin(s->store) != 0 || cli_store_group_delete(s->store, g->rec.name) != 0 ||
        cli_store_history_delete(s->store, g->rec.name) != 0 || cli_store_commit(s->store) != 0) {
        cli_store_rollback(s->store);
        cli_log("cannot forget the declined group %s", g->rec.name);
        return;
    }
    cli_log("forgot the declined group %s", g->rec.name);
}

int cli_consent_loaded(struct cli_session *s, struct cli_grp *g)
{
    if (g->rec.consent == CLI_CONSENT_ACCEPTED)
        return 0;
    if (g->rec.status == CLI_GROUP_REMOVED || g->rec.status == CLI_GROUP_REFUSED) {
        /* Left, removed or no longer followed: nothing to answer. */
        cli_consent_forget(s, g);
        return 1;
    }
    if (g->rec.consent == CLI_CONSENT_DECLINED) {
        /* The departure goes out again (proposals do not outlive their
         * epoch, RFC 9420 §12.4). */
        g->leaving = 1;
        g->leave_epoch = UINT64_MAX;
    }
    return 0;
}

int cli_consent_each(const struct cli_session *s, cli_invitation_cb cb, void *ctx)
{
    const struct cli_grp *g;
    int n = 0;
    for (g = s->groups; g; g = g->next) {
        struct cli_invitation inv;
        if (g->rec.consent != CLI_CONSENT_INVITED || !cli_grp_active(g))
            continue;
        inv.group = g->rec.name;
        inv.inviter = inviter_of(g);
        inv.time = g->rec.invited_at;
        if (cb)
            cb(ctx, &inv);
        n++;
    }
    return n;
}
