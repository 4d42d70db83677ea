/* Helpers shared by the logic's files (logic.c, logic_groups.c); not for
 * other layers. */
#ifndef SRV_LOGIC_INT_H
#define SRV_LOGIC_INT_H

#include "logic.h"

static inline int64_t logic_now(const srv_logic *L)
{
    return L->clock.wall(L->clock.ctx);
}

static inline int logic_refuse_store(srv_err *e)
{
    return srv_refuse(e, CHAT_ERR_INTERNAL, "%s", chat_err_text(CHAT_ERR_INTERNAL));
}

/* Requests that act for a user need one (docs/PROTOCOL.md §3). */
static inline int logic_need_caller(const srv_user *caller, srv_err *e)
{
    return caller ? 0 : srv_refuse(e, CHAT_ERR_UNAUTHENTICATED, "log in first");
}

/* Room in a recipient's inbox for one more entry of bytes (limits
 * inbox_max and inbox_max_bytes); refuses inbox_full. */
int logic_inbox_admit(srv_logic *L, int64_t user_id, const char *username, size_t bytes,
                      srv_err *e);

/* What an entry of n binary bytes costs a page: base64 plus the fields
 * around it. */
static inline size_t logic_page_cost(size_t n)
{
    return (n + 2) / 3 * 4 + 512;
}

#endif
