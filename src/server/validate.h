/*
 * Governance the server enforces (docs/PROTOCOL.md §7.1, §7.4, §7.5): every
 * handshake message is checked with the group's libmls public view
 * (include/mls/public_group.h) before it may enter the log, and the roster
 * is derived from the view, never from lists the client declares.
 *
 * Only logic (logic_groups.c) calls this; it reads the store (directory,
 * registered renames) but writes nothing.  A refusal is invalid_commit
 * with its rule (srv_refuse_rule).  Views are loaded per request and
 * freed, so a refused message leaves no trace in memory either.
 */
#ifndef SRV_VALIDATE_H
#define SRV_VALIDATE_H

#include "logic.h"
#include "mls/public_group.h"

/* The chat's GroupContext extensions (docs/PROTOCOL.md §7.1, §7.4;
 * src/common/proto.h). */
#define SRV_EXT_GROUP_NAME CHAT_EXT_GROUP_NAME
#define SRV_EXT_ADMINS CHAT_EXT_ADMINS
#define SRV_EXT_TOPIC CHAT_EXT_TOPIC

/* A roster as the view defines it: one entry per member leaf. */
typedef struct srv_roster_entry {
    int64_t user_id;
    char name[SRV_NAME_MAX + 1]; /* the user's current username */
    enum srv_role role;
} srv_roster_entry;

typedef struct srv_roster {
    srv_roster_entry *items;
    size_t n;
} srv_roster;

void srv_roster_clear(srv_roster *r);

/* One Welcome to deliver: index into the request's welcomes, recipient. */
typedef struct srv_delivery {
    size_t welcome;
    srv_user to;
} srv_delivery;

/* The outcome of an accepted commit: the view moved to the next epoch
 * (merged), its roster, and the Welcome deliveries. */
typedef struct srv_commit_outcome {
    srv_roster roster;
    srv_delivery *deliveries;
    size_t n_deliveries;
} srv_commit_outcome;

void srv_commit_outcome_clear(srv_commit_outcome *o);

static inline const mls_env *srv_logic_env(const srv_logic *L)
{
    return L->env ? L->env : mls_env_default();
}

/* group.create: builds the view from the creator's GroupInfo and checks
 * it (group id, epoch, one member who is the caller, name and
 * administrators extensions).  *out is the new view. */
int srv_validate_create(srv_logic *L, const srv_user *caller, const char *name, mls_bytes gid,
                        uint64_t epoch, mls_bytes group_info, mls_public_group **out,
                        srv_err *e);

/* The group's stored view; internal error if there is none or it does
 * not deserialize. */
int srv_validate_load(srv_logic *L, const srv_group *g, mls_public_group **out, srv_err *e);

/* group.commit: verifies r->commit with pg and every rule of §7.4; on
 * success pg is in the next epoch and *out holds the roster and the
 * deliveries.  On refusal pg may have been changed: the caller frees it. */
int srv_validate_commit(srv_logic *L, mls_public_group *pg, const srv_user *caller,
                        const srv_commit_req *r, srv_commit_outcome *out, srv_err *e);

/* group.send of a PublicMessage proposal: verified and merged into pg's
 * pending proposals. */
int srv_validate_proposal(srv_logic *L, mls_public_group *pg, const srv_user *caller,
                          mls_bytes msg, srv_err *e);

/* The roster pg defines (members by signature key in the directory;
 * role admin when named in the administrators extension). */
int srv_validate_roster(srv_logic *L, const mls_public_group *pg, srv_roster *out, srv_err *e);

#endif
