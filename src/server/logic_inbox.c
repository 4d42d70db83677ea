/* Delivery rules of the inbox (docs/PROTOCOL.md §7.6): what a recipient's
 * inbox may hold, the pages it is read in, and the invitation limit. */
#include "logic.h"
#include "logic_int.h"

int logic_inbox_admit(srv_logic *L, int64_t user_id, const char *username, size_t bytes,
                      srv_err *e)
{
    srv_inbox_stats have = {0, 0};
    if (!L->limits.inbox_max && !L->limits.inbox_max_bytes)
        return 0;
    if (L->store->ops->inbox_stats(L->store, user_id, &have))
        return logic_refuse_store(e);
    /* Per recipient, so that no sender can fill anyone's inbox past what
     * its owner can page through; entries leave by ack or --inbox-ttl. */
    if (L->limits.inbox_max && have.entries + 1 > L->limits.inbox_max)
        return srv_refuse(e, CHAT_ERR_INBOX_FULL, "the inbox of '%s' holds %lld entries already",
                          username, (long long)have.entries);
    if (L->limits.inbox_max_bytes && have.bytes + (int64_t)bytes > L->limits.inbox_max_bytes)
        return srv_refuse(e, CHAT_ERR_INBOX_FULL,
                          "the inbox of '%s' would exceed %lld bytes", username,
                          (long long)L->limits.inbox_max_bytes);
    return 0;
}

int srv_logic_invite_admit(srv_logic *L, srv_bucket *invites, size_t n, srv_err *e)
{
    double rate = L->limits.invite_rate;
    if (!invites || !rate || n == 0)
        return 0;
    int wait = srv_bucket_take_n(invites, (double)n, rate / 60.0, rate,
                                 L->clock.mono_us(L->clock.ctx));
    if (wait < 0)
        return srv_refuse(e, CHAT_ERR_TOO_LARGE, "at most %.0f invitations per minute", rate);
    if (wait) {
        srv_refuse(e, CHAT_ERR_RATE_LIMITED, "too many invitations; retry in %d s", wait);
        e->extra_key = "retry_after";
        e->extra = wait;
        return -1;
    }
    return 0;
}

typedef struct inbox_page {
    srv_inbox_cb cb;
    void *ctx;
    size_t n, bytes, budget, limit;
    int full;
} inbox_page;

static int page_entry(void *ctx, const srv_inbox_entry *ie)
{
    inbox_page *p = ctx;
    size_t cost = logic_page_cost(ie->welcome.n) + logic_page_cost(ie->group_info.n);
    if (p->n == p->limit || (p->budget && p->n > 0 && p->bytes + cost > p->budget)) {
        p->full = 1;
        return SRV_STOP;
    }
    p->n++;
    p->bytes += cost;
    return p->cb(p->ctx, ie);
}

int srv_logic_inbox_list(srv_logic *L, const srv_user *caller, int64_t after, int limit,
                         srv_inbox_cb cb, void *ctx, int *more, srv_err *e)
{
    if (logic_need_caller(caller, e))
        return -1;
    /* One row past the page tells whether more exist. */
    inbox_page p = {cb, ctx, 0, 0, L->limits.page_bytes, (size_t)limit, 0};
    if (L->store->ops->inbox_list(L->store, caller->id, after, limit + 1, page_entry, &p))
        return logic_refuse_store(e);
    *more = p.full;
    return 0;
}

int srv_logic_inbox_ack(srv_logic *L, const srv_user *caller, const int64_t *ids, size_t n,
                        int64_t *acked, srv_err *e)
{
    int64_t total = 0;
    if (logic_need_caller(caller, e))
        return -1;
    for (size_t i = 0; i < n; i++) {
        int deleted = 0;
        if (L->store->ops->inbox_ack(L->store, caller->id, ids[i], &deleted))
            return logic_refuse_store(e);
        total += deleted;
    }
    *acked = total;
    return 0;
}
