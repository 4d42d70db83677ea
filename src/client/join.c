/* Becoming a member.  See join.h. */
#include "join.h"

#include <stdio.h>
#include <string.h>

#include "account.h"
#include "consent.h"
#include "core.h"
#include "directory.h"
#include "rejoin.h"
#include "sync.h"

#define JOIN_MAX_REFS 16

int cli_join_is_waiting(const struct cli_session *s, const char *group)
{
    size_t i;
    for (i = 0; i < s->n_waiting; i++)
        if (strcmp(s->waiting[i], group) == 0)
            return 1;
    return 0;
}

static void waiting_remove(struct cli_session *s, const char *name)
{
    size_t i;
    for (i = 0; i < s->n_waiting; i++) {
        if (strcmp(s->waiting[i], name) == 0) {
            memmove(s->waiting[i], s->waiting[i + 1],
                    (s->n_waiting - i - 1) * sizeof s->waiting[0]);
            s->n_waiting--;
            return;
        }
    }
}

static void inbox_ack(struct cli_session *s, int64_t inbox_id)
{
    json_t *req = cli_proto_inbox_ack(inbox_id);
    if (req)
        cli_net_request(s->net, req, NULL, NULL);
}

/* Saves the group joined through a Welcome, with the cursor at the
 * commit that added us, and deletes the KeyPackage's private keys in the
 * same transaction (forward secrecy: kept, they would let whoever holds
 * the Welcome and later reads this database decrypt the group).  The
 * last-resort one stays: it is meant for reuse (RFC 9420 §16.8). */
static int join_save(struct cli_session *s, struct cli_grp *g, mls_bytes used_ref,
                     const char *line)
{
    if (cli_store_begin(s->store) != 0)
        return -1;
    if (cli_grp_save(s, g) != 0 ||
        (used_ref.n > 0 && cli_store_kp_delete(s->store, used_ref) != 0) ||
        cli_store_history_add(s->store, g->rec.name, -1, (int64_t)cli_time(), NULL, line) < 0 ||
        cli_store_commit(s->store) != 0) {
        cli_store_rollback(s->store);
        return -1;
    }
    return 0;
}

/* Joins through an invitation (PROTOCOL.md §7.6).  Returns 1 if the
 * entry was consumed (joined, or unusable), 0 if it should stay. */
static int join_from_inbox(struct cli_session *s, const struct cli_inbox_entry *e)
{
    const char *name = e->group, *sender = e->sender ? e->sender : "?";
    mls_buf used_ref, bundles_buf[JOIN_MAX_REFS];
    mls_bytes refs[JOIN_MAX_REFS], bundles[JOIN_MAX_REFS], ext = mls_bytes_of(NULL, 0);
    size_t n_refs = 0, n_bundles = 0, used = 0, i;
    int lr[JOIN_MAX_REFS];
    mls_group *m = NULL;
    mls_join_options jo;
    struct cli_grp *g = NULL, *old;
    char joined_line[200], topic[CLI_TOPIC_MAX + 1];
    int consumed = 1, rc, asked;

    mls_buf_init(&used_ref);
    for (i = 0; i < JOIN_MAX_REFS; i++)
        mls_buf_init(&bundles_buf[i]);
    if (!cli_valid_groupname(name)) {
        cli_notice(s, NULL, 1, "a malformed invitation was ignored");
        goto out;
    }
    old = cli_grp_find(s, name);
    if (old && cli_grp_active(old)) {
        if (!mls_ct_equal(mls_buf_view(&old->rec.group_id), mls_buf_view(&e->group_id)))
            cli_notice(s, name, 1, "an invitation to another group named #%s was ignored", name);
        goto out; /* else joined already */
    }
    if (mls_welcome_refs(mls_buf_view(&e->welcome), refs, JOIN_MAX_REFS, &n_refs) != MLS_OK) {
        cli_notice(s, name, 1, "the invitation to #%s is malformed", name);
        goto out;
    }
    for (i = 0; i < n_refs && n_bundles < JOIN_MAX_REFS; i++) {
        if (cli_store_kp_get(s->store, refs[i], &bundles_buf[n_bundles], &lr[n_bundles]) == 0) {
            bundles[n_bundles] = mls_buf_view(&bundles_buf[n_bundles]);
            n_bundles++;
        }
    }
    if (n_bundles == 0) {
        cli_notice(s, name, 1, "the invitation to #%s from %s is for a KeyPackage this config "
                   "directory does not have", name, sender);
        goto out;
    }
    memset(&jo, 0, sizeof jo);
    jo.config = &s->cfg;
    rc = mls_group_join(s->env, s->id, mls_buf_view(&e->welcome), bundles, n_bundles, &jo,
                        &used, &m);
    if (rc != MLS_OK) {
        cli_notice(s, name, 1, "cannot join #%s through the invitation from %s: %s", name,
                   sender, mls_strerror(rc));
        goto out;
    }
    if (!lr[used] && mls_key_package_bundle_ref(bundles[used], &used_ref) != MLS_OK) {
        cli_notice(s, name, 1, "the KeyPackage used to join #%s is unreadable", name);
        goto out;
    }
    if (mls_group_extension(m, CLI_EXT_GROUP_NAME, &ext) != MLS_OK ||
        cli_rule_group_is(ext, name, mls_group_id(m), mls_bytes_of(NULL, 0)) != CLI_RULE_OK) {
        cli_notice(s, name, 1, "the invitation to #%s is for an MLS group named differently; "
                   "ignored", name);
        goto out;
    }
    /* A group this client was in (removed, refused, out of sync) is the
     * same MLS group or none: a new group under the old name would let
     * whoever made it pose as the group we knew (issue 9, safe rejoin). */
    if (old && old->rec.group_id.n > 0 &&
        cli_rule_group_is(ext, name, mls_group_id(m), mls_buf_view(&old->rec.group_id)) !=
            CLI_RULE_OK) {
        cli_notice(s, name, 1, "REFUSED: the invitation to #%s from %s is for another MLS group "
                   "than the #%s this client was in; ignored", name, sender, name);
        goto out;
    }
    ext = mls_bytes_of(NULL, 0);
    if (mls_group_extension(m, CLI_EXT_ADMINS, &ext) != MLS_OK ||
        cli_rule_inviter(ext, e->sender) != CLI_RULE_OK)
        cli_notice(s, name, 1, "WARNING: the invitation to #%s comes from %s, who is not an "
                   "administrator of it", name, sender);
    /* Consent (consent.h): decided before the old group object goes. */
    asked = cli_consent_asked(s, name, old);
    if (old)
        cli_grp_remove(s, old);
    g = cli_grp_add(s, name);
    if (!g)
        goto out;
    if (mls_buf_set(&g->rec.group_id, mls_group_id(m).p, mls_group_id(m).n) != MLS_OK)
        goto fail_group;
    g->mls = m;
    m = NULL;
    if (cli_grp_snapshot(g) != 0 || cli_phase_set(g, CLI_PHASE_CATCHING_UP) != 0)
        goto fail_group;
    g->rec.cursor = e->seq;
    if (asked)
        snprintf(joined_line, sizeof joined_line, "you joined #%s, invited by %s", name, sender);
    else
        snprintf(joined_line, sizeof joined_line, "%s invited you to #%s", sender, name);
    if (!asked)
        cli_consent_mark_invited(g, e->sender);
    if (join_save(s, g, mls_buf_view(&used_ref), joined_line) != 0)
        goto fail_group;
    waiting_remove(s, name);
    if (asked) {
        cli_notice(s, name, 0, "%s (%u members)", joined_line, mls_group_member_count(g->mls));
        if (cli_session_topic(s, name, topic, sizeof topic) == 0 && topic[0])
            cli_notice(s, name, 0, "topic of #%s: %s", name, topic);
        cli_joined(s, name);
    } else {
        cli_consent_announce(s, g);
    }
    cli_changed(s);
    cli_dir_verify_all(s, g);
    cli_sync_fetch(s, g);
    cli_account_kp_check(s);
    goto out;
fail_group:
    cli_notice(s, name, 1, "cannot save the new group #%s", name);
    if (g)
        cli_grp_remove(s, g);
    consumed = 0;
out:
    mls_group_free(m);
    mls_buf_clear(&used_ref);
    for (i = 0; i < JOIN_MAX_REFS; i++)
        mls_buf_clear(&bundles_buf[i]);
    return consumed;
}

/* An inbox entry: joined (or unusable) entries are acknowledged. */
static void inbox_entry(struct cli_session *s, json_t *ev)
{
    struct cli_inbox_entry e;
    memset(&e, 0, sizeof e);
    mls_buf_init(&e.welcome);
    mls_buf_init(&e.group_id);
    if (cli_proto_inbox_entry(ev, &e) != 0) {
        cli_notice(s, NULL, 1, "a malformed invitation was ignored");
        if (e.inbox_id >= 0)
            inbox_ack(s, e.inbox_id);
    } else if (join_from_inbox(s, &e)) {
        inbox_ack(s, e.inbox_id);
    }
    mls_buf_clear(&e.welcome);
    mls_buf_clear(&e.group_id);
}

void cli_join_on_inbox_event(struct cli_session *s, json_t *ev)
{
    inbox_entry(s, ev);
}

static void list_reply(void *ctx, json_t *reply)
{
    struct cli_req *r = ctx;
    struct cli_session *s = r->s;
    struct cli_grp *g;
    size_t i, n;

    cli_req_free(r);
    /* Groups whose state we lost entirely (no row left), and those out of
     * sync since an earlier run. */
    n = cli_proto_group_list_count(reply);
    for (i = 0; i < n; i++) {
        const char *name = cli_proto_group_list_name(reply, i);
        if (name && cli_valid_groupname(name) && !cli_grp_find(s, name))
            cli_rejoin_named(s, name);
    }
    for (g = s->groups; g; g = g->next)
        if (g->phase == CLI_PHASE_REJOINING)
            cli_rejoin_start(s, g);
}

/* After the invitations of this login were used: which groups the server
 * has us on the roster of (PROTOCOL.md §7.3). */
static void list_groups(struct cli_session *s)
{
    s->listed = 1;
    cli_req_send(s, cli_proto_group_list(), list_reply, cli_req_new(s, NULL, NULL));
}

static void inbox_reply(void *ctx, json_t *reply)
{
    struct cli_session *s = ctx;
    char joins[CLI_MAX_WAITING][65];
    size_t i, n, n_joins;

    s->inbox_busy = 0;
    if (!reply)
        return;
    n = cli_proto_entries_count(reply);
    for (i = 0; i < n; i++)
        inbox_entry(s, cli_proto_entry_at(reply, i));
    if (s->inbox_again) {
        s->inbox_again = 0;
        cli_join_fetch_inbox(s);
        return;
    }
    /* Now that invitations were used, the /join requests made before. */
    n_joins = s->n_joins;
    memcpy(joins, s->joins, sizeof joins);
    s->n_joins = 0;
    for (i = 0; i < n_joins; i++)
        cli_join_decide(s, joins[i]);
    /* And the groups still waited for (after a reconnect). */
    for (i = 0; i < s->n_waiting; i++)
        if (!cli_grp_active(cli_grp_find(s, s->waiting[i])))
            cli_log("still waiting for an invitation to #%s", s->waiting[i]);
    if (!s->listed)
        list_groups(s);
}

void cli_join_fetch_inbox(struct cli_session *s)
{
    json_t *req;
    if (!s->authed)
        return;
    if (s->inbox_busy) {
        s->inbox_again = 1;
        return;
    }
    req = cli_proto_inbox_fetch();
    if (req && cli_net_request(s->net, req, inbox_reply, s) >= 0)
        s->inbox_busy = 1;
}

/* ---------------------------------------------------------------- creating */

static void create_reply(void *ctx, json_t *reply)
{
    struct cli_req *r = ctx;
    struct cli_session *s = r->s;
    struct cli_grp *g = r->g;
    struct cli_reply rp;
    char name[65];
    int64_t last_seq = 0;

    snprintf(name, sizeof name, "%s", r->name);
    cli_req_free(r);
    cli_proto_reply(reply, &rp);
    if (rp.err == CLI_PERR_DISCONNECTED || !g)
        return; /* the catch-up after reconnecting finds out */
    if (rp.ok && cli_proto_group_create_reply(reply, &last_seq) == 0) {
        g->rec.cursor = last_seq;
        cli_phase_set(g, CLI_PHASE_CATCHING_UP);
        if (cli_grp_save(s, g) != 0)
            cli_log("cannot save group");
        cli_notice(s, name, 0, "created #%s; you are its administrator: /invite users to it",
                   name);
        cli_sync_fetch(s, g);
        cli_joined(s, name);
        cli_changed(s);
        return;
    }
    /* Not created: forget the local group. */
    if (cli_store_group_delete(s->store, name) != 0)
        cli_log("cannot delete group %s", name);
    cli_grp_remove(s, g);
    if (rp.err == CLI_PERR_GROUP_EXISTS) {
        cli_join_decide(s, name); /* someone was faster */
        return;
    }
    cli_notice(s, name, 1, "cannot create #%s: %s", name, rp.message);
    cli_changed(s);
}

void cli_join_create_send(struct cli_session *s, struct cli_grp *g)
{
    mls_buf info;

    if (cli_phase_set(g, CLI_PHASE_CREATING) != 0)
        return;
    /* PROTOCOL.md §7.1: the server builds its public view of the group
     * from this GroupInfo (with the ratchet tree). */
    mls_buf_init(&info);
    if (mls_group_group_info(g->mls, 1, &info) == MLS_OK)
        cli_req_send(s,
                     cli_proto_group_create(g->rec.name, mls_buf_view(&g->rec.group_id),
                                            mls_buf_view(&info)),
                     create_reply, cli_req_new(s, g, g->rec.name));
    mls_buf_clear(&info);
}

/* Creates `name`: a new MLS group with the chat's GroupContext extensions,
 * saved before the server is asked so a crash cannot lose it. */
static void create_group(struct cli_session *s, const char *name)
{
    const char *me = s->ident.username;
    mls_buf name_ext, admins_ext;
    mls_ext exts[2];
    mls_group *m = NULL;
    struct cli_grp *g = NULL;
    int rc;

    mls_buf_init(&name_ext);
    mls_buf_init(&admins_ext);
    if (cli_ext_name_encode(name, &name_ext) != 0 ||
        cli_ext_admins_encode(&me, 1, &admins_ext) != 0)
        goto fail;
    exts[0].type = CLI_EXT_GROUP_NAME;
    exts[0].data = mls_buf_view(&name_ext);
    exts[1].type = CLI_EXT_ADMINS;
    exts[1].data = mls_buf_view(&admins_ext);
    rc = mls_group_create(s->env, s->id, mls_bytes_of(NULL, 0), exts, 2, &s->cfg, &m);
    if (rc != MLS_OK) {
        cli_notice(s, name, 1, "cannot create the MLS group: %s", mls_strerror(rc));
        goto out;
    }
    g = cli_grp_add(s, name);
    if (!g || mls_buf_set(&g->rec.group_id, mls_group_id(m).p, mls_group_id(m).n) != MLS_OK)
        goto fail;
    g->mls = m;
    m = NULL;
    g->rec.cursor = 0;
    if (cli_phase_set(g, CLI_PHASE_CREATING) != 0 || cli_grp_snapshot(g) != 0 ||
        cli_grp_save(s, g) != 0)
        goto fail;
    cli_join_create_send(s, g);
    goto out;
fail:
    cli_notice(s, name, 1, "cannot create #%s", name);
    if (g)
        cli_grp_remove(s, g);
out:
    mls_group_free(m);
    mls_buf_clear(&name_ext);
    mls_buf_clear(&admins_ext);
}

/* ---------------------------------------------------------------- deciding */

static int create_allowed(const struct cli_session *s, const char *name)
{
    size_t i;
    for (i = 0; i < s->n_create_ok; i++)
        if (strcmp(s->create_ok[i], name) == 0)
            return 1;
    return 0;
}

void cli_join_allow_create(struct cli_session *s, const char *group)
{
    if (create_allowed(s, group))
        return;
    if (s->n_create_ok == CLI_MAX_WAITING) {
        /* The oldest consent goes: it was used long ago. */
        memmove(s->create_ok[0], s->create_ok[1], sizeof s->create_ok[0] * (CLI_MAX_WAITING - 1));
        s->n_create_ok--;
    }
    snprintf(s->create_ok[s->n_create_ok++], sizeof s->create_ok[0], "%s", group);
}

static void info_reply(void *ctx, json_t *reply)
{
    struct cli_req *r = ctx;
    struct cli_session *s = r->s;
    struct cli_reply rp;
    struct cli_group_info_reply info;
    struct cli_grp *g;
    char name[65];

    snprintf(name, sizeof name, "%s", r->name);
    cli_req_free(r);
    cli_proto_reply(reply, &rp);
    memset(&info, 0, sizeof info);
    mls_buf_init(&info.group_info);
    mls_buf_init(&info.group_id);
    if (rp.err == CLI_PERR_DISCONNECTED) {
        /* Asked again after reconnecting. */
        if (s->n_joins < CLI_MAX_WAITING)
            snprintf(s->joins[s->n_joins++], sizeof s->joins[0], "%s", name);
        goto out;
    }
    if (!rp.ok || cli_proto_group_info_reply(reply, &info) != 0) {
        cli_notice(s, name, 1, "cannot look up #%s: %s", name, rp.message);
        goto out;
    }
    g = cli_grp_find(s, name);
    if (cli_grp_active(g)) {
        cli_joined(s, name);
        goto out;
    }
    if (!info.exists) {
        /* A name the server does not know is created only with the
         * user's consent: a typo must not make a group for good. */
        if (create_allowed(s, name))
            create_group(s, name);
        else if (s->ev.create_ask)
            s->ev.create_ask(s->ev.ctx, name);
        else
            cli_notice(s, name, 1, "#%s does not exist on the server; not created", name);
        goto out;
    }
    if (info.member) {
        if (g && g->phase != CLI_PHASE_REJOINING) {
            /* Removed or refused here: rejoining would undo that. */
            cli_notice(s, name, 1, "the server lists you as a member of #%s, but this client no "
                       "longer follows it; an administrator can remove and re-invite you", name);
            goto out;
        }
        cli_rejoin_named(s, name);
        goto out;
    }
    if (!cli_join_is_waiting(s, name) && s->n_waiting < CLI_MAX_WAITING)
        snprintf(s->waiting[s->n_waiting++], sizeof s->waiting[0], "%s", name);
    /* The server tells a non-member only that the name exists
     * (PROTOCOL.md §7.2), not who administers it. */
    cli_notice(s, name, 0, "#%s exists; an administrator must /invite %s. "
               "You will join by yourself as soon as the invitation arrives.",
               name, s->ident.username);
    cli_changed(s);
out:
    mls_buf_clear(&info.group_info);
    mls_buf_clear(&info.group_id);
}

void cli_join_decide(struct cli_session *s, const char *name)
{
    if (cli_grp_active(cli_grp_find(s, name))) {
        cli_joined(s, name);
        return;
    }
    cli_req_send(s, cli_proto_group_info(name), info_reply, cli_req_new(s, NULL, name));
}

void cli_join_request(struct cli_session *s, const char *group)
{
    struct cli_grp *g = cli_grp_find(s, group);
    size_t i;
    /* Asking for a group one was invited to accepts the invitation. */
    if (g && g->rec.consent == CLI_CONSENT_INVITED && cli_grp_active(g)) {
        cli_consent_accept(s, group);
        return;
    }
    if (g && g->rec.consent == CLI_CONSENT_DECLINED && cli_grp_active(g)) {
        cli_notice(s, NULL, 1, "you declined the invitation to #%s; once your departure is "
                   "complete, an administrator can invite you again", group);
        return;
    }
    if (cli_grp_active(g)) {
        cli_joined(s, group);
        return;
    }
    if (!s->authed || s->inbox_busy) {
        for (i = 0; i < s->n_joins; i++)
            if (strcmp(s->joins[i], group) == 0)
                return;
        if (s->n_joins < CLI_MAX_WAITING)
            snprintf(s->joins[s->n_joins++], sizeof s->joins[0], "%s", group);
        return;
    }
    cli_join_decide(s, group);
}
