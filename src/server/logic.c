/* Delivery rules: the context, transactions, access, directory,
 * KeyPackages and operations.  Groups and the log: logic_groups.c. */
#include "logic.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "kpcheck.h"
#include "logic_int.h"
#include "metrics.h"
#include "names.h"
#include "mls/inspect.h"

#define CLAIM_BURST 10.0

int srv_refuse(srv_err *e, enum chat_err code, const char *fmt, ...)
{
    va_list ap;
    e->code = code;
    e->extra_key = NULL;
    e->rule = CHAT_RULE_UNKNOWN;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

int srv_refuse_rule(srv_err *e, enum chat_rule rule, const char *fmt, ...)
{
    va_list ap;
    e->code = CHAT_ERR_INVALID_COMMIT;
    e->extra_key = NULL;
    e->rule = rule;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

static int refuse_username(srv_err *e)
{
    return srv_refuse(e, CHAT_ERR_BAD_USERNAME,
                      "usernames are 1-32 characters a-z 0-9 _ - . starting with a letter or "
                      "digit");
}

int srv_valid_username(const char *name)
{
    return chat_valid_name(name, CHAT_USERNAME_MAX);
}

int srv_valid_group_name(const char *name)
{
    return chat_valid_name(name, CHAT_GROUPNAME_MAX);
}

static int64_t system_wall(void *ctx)
{
    (void)ctx;
    return (int64_t)time(NULL);
}

static int64_t system_mono_us(void *ctx)
{
    (void)ctx;
    return srv_now_us();
}

srv_clock srv_clock_system(void)
{
    srv_clock c = {system_wall, system_mono_us, NULL};
    return c;
}

/* ------------------------------------------------------------ transactions */

int srv_logic_batch_begin(srv_logic *L)
{
    return L->store->ops->batch_begin(L->store) ? -1 : 0;
}

int srv_logic_batch_commit(srv_logic *L)
{
    if (L->store->ops->batch_commit(L->store) == SRV_OK)
        return 0;
    L->store->ops->batch_rollback(L->store);
    return -1;
}

int srv_logic_batch_syncs(const srv_logic *L)
{
    return L->store->ops->sync != NULL;
}

int srv_logic_batch_sync(srv_logic *L, int checkpoint)
{
    return L->store->ops->sync && L->store->ops->sync(L->store, checkpoint) != SRV_OK ? -1 : 0;
}

int srv_logic_checkpoint_due(srv_logic *L)
{
    return L->store->ops->checkpoint_due && L->store->ops->checkpoint_due(L->store);
}

int srv_logic_batch_rollback(srv_logic *L)
{
    return L->store->ops->batch_rollback(L->store) ? -1 : 0;
}

int srv_logic_change_begin(srv_logic *L, srv_err *e)
{
    return L->store->ops->change_begin(L->store) ? logic_refuse_store(e) : 0;
}

int srv_logic_change_end(srv_logic *L, int keep, srv_err *e)
{
    return L->store->ops->change_end(L->store, keep) ? logic_refuse_store(e) : 0;
}

/* ------------------------------------------------------------ access */

/* docs/PROTOCOL.md §3: before login only these are accepted. */
static int open_before_login(enum chat_req type)
{
    return type == CHAT_REQ_REGISTER || type == CHAT_REQ_LOGIN || type == CHAT_REQ_PING ||
           type == CHAT_REQ_USER_LOOKUP;
}

int srv_logic_is_login(enum chat_req type)
{
    return type == CHAT_REQ_REGISTER || type == CHAT_REQ_LOGIN;
}

int srv_logic_admit(enum chat_req type, int logged_in, srv_err *e)
{
    if (type <= CHAT_REQ_UNKNOWN || type >= CHAT_REQ_COUNT)
        return srv_refuse(e, CHAT_ERR_UNKNOWN_TYPE, "unknown request type");
    if (!logged_in && !open_before_login(type))
        return srv_refuse(e, CHAT_ERR_UNAUTHENTICATED, "log in first");
    if (logged_in && srv_logic_is_login(type))
        return srv_refuse(e, CHAT_ERR_ALREADY_AUTHENTICATED, "this connection is logged in");
    return 0;
}

int srv_logic_caller(srv_logic *L, int64_t user_id, srv_user *out, srv_err *e)
{
    return L->store->ops->user_by_id(L->store, user_id, out) ? logic_refuse_store(e) : 0;
}

/* ------------------------------------------------------------ directory */

/* A name another user gave up by a rename stays reserved to that user for
 * limits.name_reserve seconds (docs/PROTOCOL.md §5.1), so that nobody can
 * take it while members still see it in their groups.  0, or -1 after a
 * refusal. */
static int name_free_for(srv_logic *L, const char *name, int64_t caller_id, srv_err *e)
{
    int64_t holder = 0;
    if (L->limits.name_reserve <= 0)
        return 0;
    int err = L->store->ops->rename_reserved(L->store, name,
                                             logic_now(L) - L->limits.name_reserve, &holder);
    if (err == SRV_NOT_FOUND || (err == SRV_OK && holder == caller_id))
        return 0;
    if (err != SRV_OK)
        return logic_refuse_store(e);
    return srv_refuse(e, CHAT_ERR_USERNAME_TAKEN,
                      "username '%s' was given up by a rename and stays reserved to its user",
                      name);
}

int srv_logic_register(srv_logic *L, const char *username, uint16_t suite, mls_bytes key,
                       srv_user *out, srv_err *e)
{
    srv_store *st = L->store;
    srv_user existing;
    if (!srv_valid_username(username))
        return refuse_username(e);
    if (!mls_suite_supported(suite))
        return srv_refuse(e, CHAT_ERR_UNSUPPORTED_SUITE, "cipher suite %u is not supported",
                          suite);
    if (!srv_auth_key_ok(suite, key))
        return srv_refuse(e, CHAT_ERR_BAD_KEY, "signature key has the wrong length for suite %u",
                          suite);
    int err = st->ops->user_by_name(st, username, &existing);
    if (err == SRV_OK)
        return srv_refuse(e, CHAT_ERR_USERNAME_TAKEN, "username '%s' is already registered",
                          username);
    if (err != SRV_NOT_FOUND)
        return logic_refuse_store(e);
    if (name_free_for(L, username, 0, e))
        return -1;
    err = st->ops->user_by_key(st, key, &existing);
    if (err == SRV_OK)
        return srv_refuse(e, CHAT_ERR_BAD_KEY, "this signature key belongs to another user");
    if (err != SRV_NOT_FOUND)
        return logic_refuse_store(e);
    int64_t id = 0;
    err = st->ops->user_create(st, username, suite, key, logic_now(L), &id);
    if (err == SRV_CONFLICT)
        return srv_refuse(e, CHAT_ERR_USERNAME_TAKEN, "username '%s' is already registered",
                          username);
    if (err)
        return logic_refuse_store(e);
    memset(out, 0, sizeof *out);
    out->id = id;
    snprintf(out->name, sizeof out->name, "%s", username);
    out->suite = suite;
    memcpy(out->key, key.p, key.n);
    out->key_len = key.n;
    return 0;
}

int srv_logic_login_user(srv_logic *L, const char *username, srv_user *out, srv_err *e)
{
    int err = L->store->ops->user_by_name(L->store, username, out);
    if (err == SRV_NOT_FOUND)
        return srv_refuse(e, CHAT_ERR_UNKNOWN_USER, "no user named '%s'", username);
    return err ? logic_refuse_store(e) : 0;
}

int srv_logic_user_lookup(srv_logic *L, const char *username, int64_t user_id, srv_user *out,
                          srv_err *e)
{
    srv_store *st = L->store;
    int err;
    if (username) {
        if (!srv_valid_username(username))
            return srv_refuse(e, CHAT_ERR_BAD_USERNAME, "'%s' is not a valid username",
                              username);
        err = st->ops->user_by_name(st, username, out);
    } else {
        err = st->ops->user_by_id(st, user_id, out);
    }
    if (err == SRV_NOT_FOUND)
        return srv_refuse(e, CHAT_ERR_UNKNOWN_USER, "no such user");
    return err ? logic_refuse_store(e) : 0;
}

int srv_logic_rename(srv_logic *L, srv_user *caller, const char *username, srv_err *e)
{
    srv_store *st = L->store;
    srv_user other;
    if (logic_need_caller(caller, e))
        return -1;
    if (!srv_valid_username(username))
        return refuse_username(e);
    int err = st->ops->user_by_name(st, username, &other);
    if (err == SRV_OK)
        return other.id == caller->id ? 0
                                      : srv_refuse(e, CHAT_ERR_USERNAME_TAKEN,
                                                   "username '%s' is taken", username);
    if (err != SRV_NOT_FOUND)
        return logic_refuse_store(e);
    if (name_free_for(L, username, caller->id, e))
        return -1;
    err = st->ops->user_rename(st, caller->id, username);
    if (err == SRV_CONFLICT)
        return srv_refuse(e, CHAT_ERR_USERNAME_TAKEN, "username '%s' is taken", username);
    /* Stored KeyPackages name the old identity in their credential. */
    if (!err)
        err = st->ops->kp_delete_user(st, caller->id);
    /* Groups still hold leaves with the old name: the rename is recorded so
     * that the member's credential rename commit is accepted as this user's
     * (docs/PROTOCOL.md §7.4, rule identity). */
    if (!err)
        err = st->ops->rename_record(st, caller->id, caller->name, logic_now(L));
    if (err)
        return logic_refuse_store(e);
    snprintf(caller->name, sizeof caller->name, "%s", username);
    return 0;
}

/* ------------------------------------------------------------ KeyPackages */

int srv_logic_kp_upload(srv_logic *L, const srv_user *caller, const mls_bytes *kps, size_t n,
                        int last_resort, srv_err *e)
{
    srv_store *st = L->store;
    if (logic_need_caller(caller, e))
        return -1;
    int64_t now = logic_now(L);
    srv_kp_expect x = {caller->suite, mls_bytes_of(caller->key, caller->key_len), caller->name,
                       (uint64_t)now};
    if (n == 0)
        return srv_refuse(e, CHAT_ERR_BAD_REQUEST, "key_packages is empty");
    if (last_resort && n != 1)
        return srv_refuse(e, CHAT_ERR_BAD_REQUEST,
                          "a last-resort upload holds exactly one KeyPackage");
    if (last_resort && st->ops->kp_drop_last_resort(st, caller->id))
        return logic_refuse_store(e);
    for (size_t i = 0; i < n; i++) {
        srv_kp_info info;
        const char *why = "invalid";
        int verr = srv_kp_validate(kps[i], &x, &info, &why);
        if (verr) {
            srv_refuse(e,
                       verr == MLS_ERR_MALFORMED ? CHAT_ERR_MALFORMED_MLS
                                                 : CHAT_ERR_INVALID_KEY_PACKAGE,
                       "KeyPackage %zu: %s", i, why);
            e->extra_key = "index";
            e->extra = (int64_t)i;
            return -1;
        }
        if (st->ops->kp_add(st, caller->id, info.key_package, last_resort, info.not_after, now))
            return logic_refuse_store(e);
    }
    /* Whoever invited the caller before it could be added may add it now. */
    return logic_invites_ready(L, caller, e);
}

int srv_logic_kp_status(srv_logic *L, const srv_user *caller, int64_t *count, int *last_resort,
                        srv_err *e)
{
    if (logic_need_caller(caller, e))
        return -1;
    if (L->store->ops->kp_count(L->store, caller->id, logic_now(L), count, last_resort))
        return logic_refuse_store(e);
    return 0;
}

/* One token of target's bucket in map (rate per second, burst), or a
 * rate_limited refusal; rate 0 is no limit. */
static int claim_take(srv_logic *L, srv_bucket_map *map, int64_t target, double rate,
                      double burst, const char *what, srv_err *e)
{
    char key[32];
    if (rate <= 0)
        return 0;
    snprintf(key, sizeof key, "%lld", (long long)target);
    srv_bucket *b = srv_bucket_map_get(map, key);
    if (!b)
        return srv_refuse(e, CHAT_ERR_INTERNAL, "out of memory");
    int wait = srv_bucket_take(b, rate, burst < 1 ? 1 : burst, L->clock.mono_us(L->clock.ctx));
    if (!wait)
        return 0;
    srv_refuse(e, CHAT_ERR_RATE_LIMITED, "too many %s; retry in %d s", what, wait);
    e->extra_key = "retry_after";
    e->extra = wait;
    return -1;
}

int srv_logic_kp_claim(srv_logic *L, const srv_user *caller, srv_bucket *claims,
                       const char *username, srv_user *target, mls_buf *kp, int *last_resort,
                       srv_err *e)
{
    srv_store *st = L->store;
    double rate = L->limits.claim_rate;
    if (logic_need_caller(caller, e))
        return -1;
    int wait = claims ? srv_bucket_take(claims, rate / 60.0, rate < CLAIM_BURST ? rate : CLAIM_BURST,
                                        L->clock.mono_us(L->clock.ctx))
                      : 0;
    if (wait) {
        srv_refuse(e, CHAT_ERR_RATE_LIMITED, "too many KeyPackage claims; retry in %d s", wait);
        e->extra_key = "retry_after";
        e->extra = wait;
        return -1;
    }
    int err = st->ops->user_by_name(st, username, target);
    if (err == SRV_NOT_FOUND)
        return srv_refuse(e, CHAT_ERR_UNKNOWN_USER, "no user named '%s'", username);
    if (err)
        return logic_refuse_store(e);
    /* Registration is cheap, so a per-requester limit alone lets fresh
     * accounts drain a target: its KeyPackages are also handed out at a
     * bounded rate per target, and the last-resort one (reused, so each
     * handout weakens it: RFC 9420 §16.8) at a lower one. */
    if (claim_take(L, &L->target_claims, target->id, L->limits.claim_target_rate / 60.0,
                   L->limits.claim_target_rate, "claims of this user's KeyPackages", e))
        return -1;
    err = st->ops->kp_claim(st, target->id, logic_now(L), kp, last_resort);
    if (err == SRV_NOT_FOUND)
        return srv_refuse(e, CHAT_ERR_NO_KEY_PACKAGE, "'%s' has no KeyPackage left", username);
    if (err)
        return logic_refuse_store(e);
    if (*last_resort && claim_take(L, &L->last_resort, target->id,
                                   L->limits.last_resort_rate / 3600.0, L->limits.last_resort_rate,
                                   "handouts of this user's last-resort KeyPackage", e))
        return -1; /* the change is rolled back: nothing was handed out */
    srv_metrics_claimed();
    return 0;
}

void srv_logic_clear(srv_logic *L)
{
    if (!L)
        return;
    srv_bucket_map_clear(&L->target_claims);
    srv_bucket_map_clear(&L->last_resort);
}

void srv_logic_sweep(srv_logic *L)
{
    int64_t now = L->clock.mono_us(L->clock.ctx);
    /* A bucket idle for an hour refilled a minute's and an hour's worth. */
    srv_bucket_map_sweep(&L->target_claims, now, 3600LL * 1000000);
    srv_bucket_map_sweep(&L->last_resort, now, 3600LL * 1000000);
}

/* ------------------------------------------------------------ operations */

int srv_logic_purge(srv_logic *L, srv_purge_counts *counts)
{
    srv_store *st = L->store;
    int64_t now = logic_now(L);
    if (st->ops->change_begin(st))
        return -1;
    int err = st->ops->purge(st, L->limits.retention ? now - L->limits.retention : 0,
                             L->limits.kp_ttl ? now - L->limits.kp_ttl : 0,
                             L->limits.inbox_ttl ? now - L->limits.inbox_ttl : 0, now, counts);
    if (st->ops->change_end(st, err == 0) || err)
        return -1;
    return 0;
}

int64_t srv_logic_store_bytes(srv_logic *L, int64_t *wal)
{
    return L->store->ops->size_bytes(L->store, wal);
}

int srv_logic_health(srv_logic *L, const char **why)
{
    return L->store->ops->health(L->store, why) ? -1 : 0;
}

int srv_logic_checkpoint(srv_logic *L)
{
    return L->store->ops->checkpoint(L->store) ? -1 : 0;
}
