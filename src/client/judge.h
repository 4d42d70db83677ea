/*
 * Judging an incoming commit by the chat's rules before it is merged
 * (RFC 9420 §12.4.2 staged, README "Chat-level MLS choices"): the facts of
 * rules.h are read from libmls's description of the staged commit and
 * from the group as it is before the commit, then rules.c decides.  Also
 * what a rejoin must match: the members, administrators and name of the
 * last epoch this client verified itself.
 */
#ifndef CLI_JUDGE_H
#define CLI_JUDGE_H

#include <stddef.h>

#include "mls/group.h"
#include "rules.h"

struct cli_judgement {
    enum cli_verdict verdict;
    /* The committer's name as its leaf was before the commit ("(leaf N)"
     * when it has none), for the user. */
    char committer[48];
};

/* Judges sc, staged on g (g is still in the epoch before it); rename_ok
 * (may be NULL: no rename allowed) decides a leaf whose name or key
 * changes, see struct cli_commit_facts.  0 and *out filled, or -1 when
 * libmls cannot describe it or out of memory. */
int cli_judge_commit(const mls_group *g, const mls_staged_commit *sc,
                     enum cli_verdict (*rename_ok)(void *ctx, const struct cli_leaf *before,
                                                   const struct cli_leaf *after),
                     void *rename_ctx, struct cli_judgement *out);

/* The facts of g a rejoin is judged on (views into g, valid while g
 * lives unchanged; the member list is allocated).  0, or -1 when out of
 * memory.  cli_group_facts_clear frees the list. */
int cli_group_facts_of(const mls_group *g, struct cli_group_facts *out);
void cli_group_facts_clear(struct cli_group_facts *f);

#endif
