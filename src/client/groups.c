/* Group objects, their persistence and their phase.  See core.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "sync.h"
#include "gcommit.h"

/* ---------------------------------------------------------------- phases */

static const char *const phase_names[CLI_PHASE_COUNT] = {
    "new", "creating", "catching up", "member", "committing",
    "rejoining", "stuck", "removed", "refused",
};

#define P(x) (1u << CLI_PHASE_##x)
/* The allowed transitions, by the phase they leave (see core.h). */
static const unsigned phase_next[CLI_PHASE_COUNT] = {
    [CLI_PHASE_NEW] = P(CREATING) | P(CATCHING_UP) | P(REJOINING) | P(REMOVED) | P(REFUSED),
    [CLI_PHASE_CREATING] = P(CATCHING_UP) | P(MEMBER),
    [CLI_PHASE_CATCHING_UP] = P(MEMBER) | P(COMMITTING) | P(CREATING) | P(REJOINING) |
                              P(REMOVED) | P(REFUSED),
    [CLI_PHASE_MEMBER] = P(CATCHING_UP) | P(COMMITTING) | P(REJOINING) | P(REMOVED) | P(REFUSED),
    [CLI_PHASE_COMMITTING] = P(MEMBER) | P(CATCHING_UP) | P(REJOINING) | P(REMOVED) |
                             P(REFUSED),
    [CLI_PHASE_REJOINING] = P(CATCHING_UP) | P(STUCK) | P(REMOVED),
    [CLI_PHASE_STUCK] = 0,
    [CLI_PHASE_REMOVED] = 0,
    [CLI_PHASE_REFUSED] = 0,
};
#undef P

const char *cli_phase_name(enum cli_phase p)
{
    return (unsigned)p < CLI_PHASE_COUNT ? phase_names[p] : "?";
}

int cli_phase_allowed(enum cli_phase from, enum cli_phase to)
{
    if ((unsigned)from >= CLI_PHASE_COUNT || (unsigned)to >= CLI_PHASE_COUNT)
        return 0;
    return from == to || (phase_next[from] & (1u << to)) != 0;
}

int cli_phase_status(enum cli_phase p)
{
    switch (p) {
    case CLI_PHASE_REJOINING:
    case CLI_PHASE_STUCK:
        return CLI_GROUP_BROKEN;
    case CLI_PHASE_REMOVED:
        return CLI_GROUP_REMOVED;
    case CLI_PHASE_REFUSED:
        return CLI_GROUP_REFUSED;
    default:
        return CLI_GROUP_JOINED;
    }
}

int cli_phase_set(struct cli_grp *g, enum cli_phase to)
{
    if (!cli_phase_allowed(g->phase, to)) {
        cli_log("#%s: no transition from %s to %s", g->rec.name, cli_phase_name(g->phase),
                cli_phase_name(to));
        return -1;
    }
    if (g->phase != to)
        cli_log("#%s: %s -> %s", g->rec.name, cli_phase_name(g->phase), cli_phase_name(to));
    g->phase = to;
    g->rec.status = cli_phase_status(to);
    return 0;
}

/* ---------------------------------------------------------------- objects */

struct cli_grp *cli_grp_find(const struct cli_session *s, const char *name)
{
    struct cli_grp *g;
    for (g = s->groups; g; g = g->next)
        if (strcmp(g->rec.name, name) == 0)
            return g;
    return NULL;
}

int cli_grp_active(const struct cli_grp *g)
{
    if (!g || !g->mls)
        return 0;
    switch (g->phase) {
    case CLI_PHASE_CREATING:
    case CLI_PHASE_CATCHING_UP:
    case CLI_PHASE_MEMBER:
    case CLI_PHASE_COMMITTING:
        return 1;
    default:
        return 0;
    }
}

int cli_grp_synced(const struct cli_grp *g)
{
    return g && (g->phase == CLI_PHASE_MEMBER || g->phase == CLI_PHASE_COMMITTING);
}

struct cli_grp *cli_grp_add(struct cli_session *s, const char *name)
{
    struct cli_grp *g = calloc(1, sizeof *g), **pp;
    if (!g)
        return NULL;
    g->s = s;
    g->phase = CLI_PHASE_NEW;
    snprintf(g->rec.name, sizeof g->rec.name, "%s", name);
    g->rec.joined_at = ++s->join_order;
    for (pp = &s->groups; *pp; pp = &(*pp)->next)
        ;
    *pp = g;
    return g;
}

static void grp_free(struct cli_grp *g)
{
    struct cli_req *r;
    if (!g)
        return;
    /* Replies still on their way no longer refer to it. */
    for (r = g->s->reqs; r; r = r->next)
        if (r->g == g)
            r->g = NULL;
    if (g->op)
        cli_commit_free(g->op);
    cli_outbox_clear(&g->out);
    cli_timer_stop(&g->sync.timer);
    cli_net_forget(g->s->net, g);
    cli_sync_carry_drop(g);
    mls_group_free(g->mls);
    cli_group_rec_clear(&g->rec);
    free(g);
}

void cli_grp_remove(struct cli_session *s, struct cli_grp *g)
{
    struct cli_grp **pp;
    for (pp = &s->groups; *pp; pp = &(*pp)->next) {
        if (*pp == g) {
            *pp = g->next;
            break;
        }
    }
    grp_free(g);
}

void cli_grp_free_all(struct cli_session *s)
{
    while (s->groups) {
        struct cli_grp *g = s->groups;
        s->groups = g->next;
        grp_free(g);
    }
}

/* ---------------------------------------------------------------- persistence */

int cli_grp_snapshot(struct cli_grp *g)
{
    mls_buf out;
    mls_buf_init(&out);
    if (mls_group_serialize(g->mls, &out) != MLS_OK) {
        mls_buf_clear(&out);
        return -1;
    }
    mls_buf_clear(&g->rec.state);
    g->rec.state = out;
    return 0;
}

int cli_grp_reload(struct cli_session *s, struct cli_grp *g)
{
    mls_group *m = NULL;
    /* Nothing may hold the group it replaces. */
    cli_sync_carry_drop(g);
    if (mls_group_deserialize(s->env, mls_buf_view(&g->rec.state), &m) != MLS_OK)
        return -1;
    mls_group_free(g->mls);
    g->mls = m;
    return 0;
}

int cli_grp_save(struct cli_session *s, struct cli_grp *g)
{
    return cli_store_group_put(s->store, &g->rec);
}

void cli_grp_commit_settled(struct cli_grp *g)
{
    mls_buf_clear(&g->rec.pending_commit);
    mls_buf_clear(&g->rec.pending_state);
    if (g->phase == CLI_PHASE_COMMITTING)
        cli_phase_set(g, CLI_PHASE_MEMBER);
}

/* ---------------------------------------------------------------- names */

int cli_grp_is_admin(const mls_group *m, const char *user)
{
    mls_bytes data;
    if (!m || mls_group_extension(m, CLI_EXT_ADMINS, &data) != MLS_OK)
        return 0;
    return cli_ext_admins_has(data, user);
}

int cli_grp_name_of(const mls_group *m, char *out, size_t max)
{
    mls_bytes data;
    if (mls_group_extension(m, CLI_EXT_GROUP_NAME, &data) != MLS_OK)
        return -1;
    return cli_ext_name_decode(data, out, max);
}

void cli_member_name(const mls_group *m, uint32_t leaf, char *out, size_t max)
{
    mls_member mb;
    out[0] = 0;
    if (mls_group_member(m, leaf, &mb) == MLS_OK && mb.identity.n > 0 && mb.identity.n < max) {
        memcpy(out, mb.identity.p, mb.identity.n);
        out[mb.identity.n] = 0;
    }
}

void cli_bytes_to_name(mls_bytes b, char *out, size_t max)
{
    size_t n = b.n < max - 1 ? b.n : max - 1;
    memcpy(out, b.p, n);
    out[n] = 0;
    if (!cli_valid_username(out))
        snprintf(out, max, "(invalid name)");
}
