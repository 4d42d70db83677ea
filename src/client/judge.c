/* Judging staged commits.  See judge.h. */
#include "judge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mls/types.h"
#include "util.h"

static void leaf_of(const mls_member *m, struct cli_leaf *out)
{
    out->leaf = m->leaf;
    out->identity = m->identity;
    out->signature_key = m->signature_key;
}

static enum cli_change_kind change_kind(uint16_t type)
{
    switch (type) {
    case MLS_PROPOSAL_ADD:
        return CLI_CHANGE_ADD;
    case MLS_PROPOSAL_REMOVE:
        return CLI_CHANGE_REMOVE;
    case MLS_PROPOSAL_UPDATE:
        return CLI_CHANGE_UPDATE;
    case MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS:
        return CLI_CHANGE_EXTENSIONS;
    case MLS_PROPOSAL_REINIT:
        return CLI_CHANGE_REINIT;
    case MLS_PROPOSAL_PSK:
        return CLI_CHANGE_PSK;
    case MLS_PROPOSAL_EXTERNAL_INIT:
        return CLI_CHANGE_EXTERNAL_INIT;
    default:
        return CLI_CHANGE_OTHER;
    }
}

/* The extension of type in a list; *has 0 when absent. */
static void ext_find(const mls_ext *e, size_t n, uint16_t type, int *has, mls_bytes *data)
{
    size_t i;
    *has = 0;
    *data = mls_bytes_of(NULL, 0);
    for (i = 0; i < n; i++)
        if (e[i].type == type) {
            *has = 1;
            *data = e[i].data;
            return;
        }
}

static int members_of(const mls_group *g, struct cli_leaf **out, size_t *n)
{
    uint32_t i, leaves = mls_group_leaf_count(g);
    struct cli_leaf *list = calloc((size_t)leaves + 1, sizeof *list);
    size_t k = 0;
    if (!list)
        return -1;
    for (i = 0; i < leaves; i++) {
        mls_member m;
        if (mls_group_member(g, i, &m) == MLS_OK)
            leaf_of(&m, &list[k++]);
    }
    *out = list;
    *n = k;
    return 0;
}

int cli_judge_commit(const mls_group *g, const mls_staged_commit *sc,
                     enum cli_verdict (*rename_ok)(void *ctx, const struct cli_leaf *before,
                                                   const struct cli_leaf *after),
                     void *rename_ctx, struct cli_judgement *out)
{
    mls_commit_summary sum;
    struct cli_commit_facts f;
    struct cli_leaf *members = NULL;
    struct cli_change *changes = NULL;
    size_t i, n_members = 0;
    int rc = -1;

    memset(&f, 0, sizeof f);
    if (mls_staged_commit_summary(sc, &sum) != MLS_OK ||
        members_of(g, &members, &n_members) != 0)
        goto out;
    changes = calloc(sum.n_proposals + 1, sizeof *changes);
    if (!changes)
        goto out;
    for (i = 0; i < sum.n_proposals; i++) {
        mls_proposal_info p;
        if (mls_staged_commit_proposal(sc, i, &p) != MLS_OK)
            goto out;
        changes[i].kind = change_kind(p.type);
        changes[i].by_member = p.sender_type == MLS_SENDER_MEMBER;
        changes[i].by_reference = p.by_reference;
        changes[i].proposer = p.sender_index;
        if (p.has_before)
            leaf_of(&p.before, &changes[i].before);
        if (p.has_after)
            leaf_of(&p.after, &changes[i].after);
    }
    f.external = sum.sender_type == MLS_SENDER_NEW_MEMBER_COMMIT;
    leaf_of(&sum.committer, &f.committer);
    f.has_path = sum.has_path;
    if (sum.has_path)
        leaf_of(&sum.path_leaf, &f.path_leaf);
    f.members = members;
    f.n_members = n_members;
    f.changes = changes;
    f.n_changes = sum.n_proposals;
    f.rename_ok = rename_ok;
    f.rename_ctx = rename_ctx;
    /* The extensions before are the group's own (the summary's old list
     * is only filled when a GroupContextExtensions proposal is applied). */
    f.has_name_before = mls_group_extension(g, CLI_EXT_GROUP_NAME, &f.name_before) == MLS_OK;
    f.has_admins_before = mls_group_extension(g, CLI_EXT_ADMINS, &f.admins_before) == MLS_OK;
    if (sum.extensions_changed) {
        ext_find(sum.new_extensions, sum.n_new_extensions, CLI_EXT_GROUP_NAME, &f.has_name_after,
                 &f.name_after);
        ext_find(sum.new_extensions, sum.n_new_extensions, CLI_EXT_ADMINS, &f.has_admins_after,
                 &f.admins_after);
        ext_find(sum.new_extensions, sum.n_new_extensions, CLI_EXT_TOPIC, &f.has_topic_after,
                 &f.topic_after);
    } else {
        f.has_name_after = f.has_name_before;
        f.name_after = f.name_before;
        f.has_admins_after = f.has_admins_before;
        f.admins_after = f.admins_before;
        f.has_topic_after = mls_group_extension(g, CLI_EXT_TOPIC, &f.topic_after) == MLS_OK;
    }
    out->verdict = cli_rule_commit(&f);
    /* Shown to the user: a valid username or the leaf, never raw bytes. */
    out->committer[0] = 0;
    if (f.committer.identity.n > 0 && f.committer.identity.n < 33) {
        memcpy(out->committer, f.committer.identity.p, f.committer.identity.n);
        out->committer[f.committer.identity.n] = 0;
    }
    if (!cli_valid_username(out->committer))
        snprintf(out->committer, sizeof out->committer, "(leaf %u)", sum.sender_leaf);
    rc = 0;
out:
    free(members);
    free(changes);
    return rc;
}

int cli_group_facts_of(const mls_group *g, struct cli_group_facts *out)
{
    struct cli_leaf *members = NULL;
    size_t n = 0;
    memset(out, 0, sizeof *out);
    if (members_of(g, &members, &n) != 0)
        return -1;
    out->members = members;
    out->n_members = n;
    out->has_admins = mls_group_extension(g, CLI_EXT_ADMINS, &out->admins) == MLS_OK;
    out->has_name = mls_group_extension(g, CLI_EXT_GROUP_NAME, &out->name) == MLS_OK;
    out->group_id = mls_group_id(g);
    return 0;
}

void cli_group_facts_clear(struct cli_group_facts *f)
{
    if (!f)
        return;
    free((struct cli_leaf *)f->members);
    memset(f, 0, sizeof *f);
}
