/*
 * Unit tests for the server's delivery logic (src/server/logic.c,
 * logic_groups.c) without the transport: logic is driven through its
 * narrow context (logic.h) on a real SQLite store in a temporary file, with
 * an injected clock and an event sink that records what it is told.  MLS
 * objects are real ones made with libmls's public API.
 *
 * Each refusal is checked for its exact error code and for leaving the
 * store as it was (a signature of every row the requests could touch).
 */
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "logic.h"
#include "mls/group.h"
#include "server_chat.h"
#include "test.h"

static char dir[] = "/tmp/mlschat-logic-XXXXXX";

/* ------------------------------------------------------------ the context */

static int64_t clock_wall, clock_us;

static int64_t test_wall(void *ctx)
{
    (void)ctx;
    return clock_wall;
}

static int64_t test_mono_us(void *ctx)
{
    (void)ctx;
    return clock_us;
}

/* What the sink was told since the last reset. */
typedef struct recorder {
    int n_log, n_inbox;
    uint64_t log_seq;
    enum srv_kind log_kind;
    int64_t log_users[8];
    size_t n_log_users;
    int log_to_roster;
    int64_t inbox_user;
    uint64_t inbox_seq;
} recorder;

static recorder rec;

static void on_log(void *ctx, const srv_group *g, const srv_log_entry *e, const int64_t *users,
                   size_t n)
{
    (void)ctx;
    (void)g;
    rec.n_log++;
    rec.log_seq = e->seq;
    rec.log_kind = e->kind;
    /* users == NULL: the members on the roster now (logic.h). */
    rec.log_to_roster = users == NULL;
    rec.n_log_users = n < 8 ? n : 8;
    if (users)
        memcpy(rec.log_users, users, rec.n_log_users * sizeof *users);
}

static void on_inbox(void *ctx, int64_t user_id, const srv_inbox_entry *e)
{
    (void)ctx;
    rec.n_inbox++;
    rec.inbox_user = user_id;
    rec.inbox_seq = e->seq;
}

static int n_invite_events;
static char invite_event[160];

static void on_invite(void *ctx, const char *group, const char *username, const int64_t *users,
                      size_t n)
{
    (void)ctx;
    n_invite_events++;
    snprintf(invite_event, sizeof invite_event, "%s/%s/%zu/%lld", group, username, n,
             n ? (long long)users[0] : -1LL);
}

/* Runs call inside one batch and one change, as the server does for a
 * request: kept when it succeeded, undone when it was refused. */
#define REQUEST(L, rc, call)                                                   \
    do {                                                                       \
        srv_err end_err_;                                                      \
        CHECK_OK(srv_logic_batch_begin(L));                                    \
        CHECK_OK(srv_logic_change_begin((L), &end_err_));                      \
        (rc) = (call);                                                         \
        CHECK_OK(srv_logic_change_end((L), (rc) == 0, &end_err_));             \
        CHECK_OK(srv_logic_batch_commit(L));                                   \
    } while (0)

/* ------------------------------------------------------------ store state */

static int sig_member(void *ctx, const srv_member *m)
{
    char *s = ctx;
    size_t o = strlen(s);
    snprintf(s + o, 4096 - o, "m%lld/%d/%llu;", (long long)m->user_id, (int)m->role,
             (unsigned long long)m->joined_seq);
    return 0;
}

static int sig_entry(void *ctx, const srv_log_entry *e)
{
    char *s = ctx;
    size_t o = strlen(s);
    snprintf(s + o, 4096 - o, "e%llu/%llu/%d/%zu;", (unsigned long long)e->seq,
             (unsigned long long)e->epoch, (int)e->kind, e->data.n);
    return 0;
}

static int sig_inbox(void *ctx, const srv_inbox_entry *e)
{
    char *s = ctx;
    size_t o = strlen(s);
    snprintf(s + o, 4096 - o, "i%lld/%llu;", (long long)e->id, (unsigned long long)e->seq);
    return 0;
}

/* A group's row id, or -1. */
static int64_t g_ref(srv_logic *L, const char *name)
{
    srv_group g;
    return L->store->ops->group_by_name(L->store, name, &g) == SRV_OK ? g.ref : -1;
}

/* A text that changes whenever a row a request may write changes. */
static void store_signature(srv_logic *L, const int64_t *users, size_t n_users, char out[4096])
{
    srv_store *st = L->store;
    srv_group g;
    out[0] = 0;
    if (st->ops->group_by_name(st, "lobby", &g) == SRV_OK) {
        mls_buf gi;
        mls_buf_init(&gi);
        int has = st->ops->group_get_info(st, g.ref, &gi) == SRV_OK;
        snprintf(out, 4096, "g%llu/%llu/%zu;", (unsigned long long)g.epoch,
                 (unsigned long long)g.last_seq, has ? gi.n : 0);
        mls_buf_clear(&gi);
        CHECK_OK(st->ops->member_list(st, g.ref, sig_member, out));
        CHECK_OK(st->ops->log_fetch(st, g.ref, 0, UINT64_MAX, 1000, sig_entry, out));
    }
    for (size_t i = 0; i < n_users; i++) {
        int64_t count = 0;
        int lr = 0;
        size_t o = strlen(out);
        CHECK_OK(st->ops->kp_count(st, users[i], clock_wall, &count, &lr));
        snprintf(out + o, 4096 - o, "u%lld:%lld/%d;", (long long)users[i], (long long)count, lr);
        CHECK_OK(st->ops->inbox_list(st, users[i], 0, 1000, sig_inbox, out));
    }
}

/* ------------------------------------------------------------ fixture */

typedef struct fixture {
    srv_logic L;
    mls_identity *id[4];
    srv_user user[4];
    mls_group *alice_group;
    mls_buf welcome; /* bob's, well formed for reuse */
} fixture;

enum { ALICE, BOB, CAROL, MALLORY };
static const char *const names[4] = {"alice", "bob", "carol", "mallory"};

static mls_bytes str(const char *s)
{
    return mls_bytes_of((const uint8_t *)s, strlen(s));
}

static int fixture_init(fixture *f, const char *path)
{
    srv_store *st = NULL;
    srv_err e;
    int rc = 0;
    memset(f, 0, sizeof *f);
    mls_buf_init(&f->welcome);
    if (srv_store_sqlite_open(path, &st))
        return -1;
    f->L.store = st;
    f->L.limits.claim_rate = 2;
    f->L.limits.retention = 0;
    f->L.limits.kp_ttl = 0;
    f->L.clock.wall = test_wall;
    f->L.clock.mono_us = test_mono_us;
    f->L.sink.on_log = on_log;
    f->L.sink.on_inbox = on_inbox;
    f->L.sink.on_invite = on_invite;
    for (int i = 0; i < 4; i++) {
        if (chat_identity(names[i], &f->id[i]))
            return -1;
        REQUEST(&f->L, rc,
                srv_logic_register(&f->L, names[i], MLS_SUITE_X25519_AES128GCM_SHA256_ED25519,
                                   mls_identity_signature_key(f->id[i]), &f->user[i], &e));
        if (rc)
            return -1;
    }
    return chat_group(f->id[ALICE], "alice", "lobby-gid", "lobby", &f->alice_group);
}

static void fixture_clear(fixture *f)
{
    for (int i = 0; i < 4; i++)
        mls_identity_free(f->id[i]);
    mls_group_free(f->alice_group);
    mls_buf_clear(&f->welcome);
    if (f->L.store)
        f->L.store->ops->close(f->L.store);
}

static srv_commit_req commit_req(const mls_staged_commit *sc, uint64_t epoch)
{
    srv_commit_req r;
    memset(&r, 0, sizeof r);
    r.group = "lobby";
    r.epoch = epoch;
    r.commit = mls_staged_commit_message(sc);
    r.group_info = mls_staged_commit_group_info(sc);
    return r;
}

/* ------------------------------------------------------------ tests */

static void test_admit(void)
{
    srv_err e;
    CHECK(srv_logic_admit(CHAT_REQ_PING, 0, &e) == 0);
    CHECK(srv_logic_admit(CHAT_REQ_USER_LOOKUP, 0, &e) == 0);
    CHECK(srv_logic_admit(CHAT_REQ_LOGIN, 0, &e) == 0);
    CHECK(srv_logic_admit(CHAT_REQ_GROUP_SEND, 1, &e) == 0);
    CHECK(srv_logic_admit(CHAT_REQ_GROUP_SEND, 0, &e) == -1 && e.code == CHAT_ERR_UNAUTHENTICATED);
    CHECK(srv_logic_admit(CHAT_REQ_GROUP_INFO, 0, &e) == -1 && e.code == CHAT_ERR_UNAUTHENTICATED);
    CHECK(srv_logic_admit(CHAT_REQ_REGISTER, 1, &e) == -1 &&
          e.code == CHAT_ERR_ALREADY_AUTHENTICATED);
    CHECK(srv_logic_admit(CHAT_REQ_UNKNOWN, 1, &e) == -1 && e.code == CHAT_ERR_UNKNOWN_TYPE);
    CHECK(srv_logic_admit(CHAT_REQ_COUNT, 1, &e) == -1 && e.code == CHAT_ERR_UNKNOWN_TYPE);
}

/* Two commits for epoch 0: the first wins and makes exactly one log event
 * for the roster before it; the second is stale and changes nothing; the
 * first again is a duplicate that makes no event. */
static void test_first_commit_wins(fixture *f)
{
    srv_logic *L = &f->L;
    const int64_t ids[] = {f->user[ALICE].id};
    mls_staged_commit *c1 = NULL, *c2 = NULL;
    srv_group g;
    srv_err e;
    uint64_t seq = 0, epoch = 0;
    int dup = -1, rc;
    char before[4096], after[4096];
    mls_buf gi;

    mls_buf_init(&gi);
    CHECK_OK(mls_group_group_info(f->alice_group, 1, &gi));
    REQUEST(L, rc, srv_logic_group_create(L, &f->user[ALICE], "lobby", str("lobby-gid"), 0,
                                          mls_buf_view(&gi), &g, &e));
    mls_buf_clear(&gi);
    CHECK(rc == 0 && g.epoch == 0);
    CHECK_OK(chat_commit(f->alice_group, NULL, &c1));
    CHECK_OK(chat_commit(f->alice_group, NULL, &c2));
    if (!c1 || !c2)
        goto out;
    srv_commit_req r1 = commit_req(c1, 0), r2 = commit_req(c2, 0);

    memset(&rec, 0, sizeof rec);
    REQUEST(L, rc, srv_logic_commit(L, &f->user[ALICE], &r1, &seq, &epoch, &dup, &e));
    CHECK(rc == 0 && seq == 1 && epoch == 1 && dup == 0);
    CHECK(rec.n_log == 1 && rec.n_inbox == 0 && rec.log_seq == 1);
    CHECK(rec.log_kind == SRV_KIND_COMMIT);
    CHECK(rec.n_log_users == 1 && rec.log_users[0] == ids[0]);

    store_signature(L, ids, 1, before);
    memset(&rec, 0, sizeof rec);
    REQUEST(L, rc, srv_logic_commit(L, &f->user[ALICE], &r2, &seq, &epoch, &dup, &e));
    CHECK(rc == -1 && e.code == CHAT_ERR_STALE_EPOCH);
    CHECK(e.extra_key && strcmp(e.extra_key, "current_epoch") == 0 && e.extra == 1);
    CHECK(rec.n_log == 0);
    store_signature(L, ids, 1, after);
    CHECK(strcmp(before, after) == 0);

    /* A retry of the winner (same bytes, no msg_id) gets its result. */
    REQUEST(L, rc, srv_logic_commit(L, &f->user[ALICE], &r1, &seq, &epoch, &dup, &e));
    CHECK(rc == 0 && seq == 1 && epoch == 1 && dup == 1);
    CHECK(rec.n_log == 0);
    store_signature(L, ids, 1, after);
    CHECK(strcmp(before, after) == 0);

    CHECK_OK(mls_group_merge_staged(f->alice_group, c1));
out:
    mls_staged_commit_free(c1);
    mls_staged_commit_free(c2);
}

/* Alice adds bob: one log event for the roster before (alice), one inbox
 * event for bob, and bob is a member from the commit's seq on. */
static void test_add_member(fixture *f)
{
    srv_logic *L = &f->L;
    mls_staged_commit *sc = NULL;
    mls_buf kp, bundle;
    srv_err e;
    uint64_t seq = 0, epoch = 0;
    int dup = -1, rc;
    const char *bob[] = {"bob"};

    mls_buf_init(&kp);
    mls_buf_init(&bundle);
    CHECK_OK(mls_key_package_create(mls_env_default(), f->id[BOB], NULL, &kp, &bundle));
    mls_bytes kpv = mls_buf_view(&kp);
    mls_commit_options o;
    memset(&o, 0, sizeof o);
    o.add = &kpv;
    o.n_add = 1;
    CHECK_OK(chat_commit(f->alice_group, &o, &sc));
    if (!sc)
        goto out;
    srv_welcome_req w = {mls_staged_commit_welcome(sc), bob, 1};
    srv_commit_req r = commit_req(sc, 1);
    r.welcomes = &w;
    r.n_welcomes = 1;
    memset(&rec, 0, sizeof rec);
    REQUEST(L, rc, srv_logic_commit(L, &f->user[ALICE], &r, &seq, &epoch, &dup, &e));
    CHECK(rc == 0 && seq == 2 && epoch == 2 && dup == 0);
    CHECK(rec.n_log == 1 && rec.n_log_users == 1 && rec.log_users[0] == f->user[ALICE].id);
    CHECK(rec.n_inbox == 1 && rec.inbox_user == f->user[BOB].id && rec.inbox_seq == 2);
    CHECK_OK(mls_buf_append(&f->welcome, w.welcome.p, w.welcome.n));
    /* Merging consumes the staged commit; freeing it remains. */
    CHECK_OK(mls_group_merge_staged(f->alice_group, sc));
out:
    mls_staged_commit_free(sc);
    mls_buf_clear(&kp);
    mls_buf_clear(&bundle);
}

/* docs/PROTOCOL.md §7.8: invitations of users who cannot be added yet. */
typedef struct invites_seen {
    char text[512];
} invites_seen;

static int seen_invite(void *ctx, const srv_pending *p, int ready, int mine)
{
    invites_seen *v = ctx;
    size_t o = strlen(v->text);
    snprintf(v->text + o, sizeof v->text - o, "%s:%s/%s/%s/%d;", mine ? "mine" : "admin",
             p->group, mine ? "-" : p->username, p->inviter, ready);
    return 0;
}

static void test_pending_invites(fixture *f)
{
    srv_logic *L = &f->L;
    invites_seen v;
    srv_err e;
    mls_buf kp, bundle;
    int rc;

    mls_buf_init(&kp);
    mls_buf_init(&bundle);
    /* Only an administrator on the roster keeps an invitation. */
    REQUEST(L, rc, srv_logic_invite_pending(L, &f->user[BOB], "lobby", "dave", &e));
    CHECK(rc == -1 && e.code == CHAT_ERR_FORBIDDEN);
    REQUEST(L, rc, srv_logic_invite_pending(L, &f->user[MALLORY], "lobby", "dave", &e));
    CHECK(rc == -1 && e.code == CHAT_ERR_NOT_MEMBER);
    REQUEST(L, rc, srv_logic_invite_pending(L, &f->user[ALICE], "nowhere", "dave", &e));
    CHECK(rc == -1 && e.code == CHAT_ERR_UNKNOWN_GROUP);
    REQUEST(L, rc, srv_logic_invite_pending(L, &f->user[ALICE], "lobby", "Not A Name", &e));
    CHECK(rc == -1 && e.code == CHAT_ERR_BAD_USERNAME);
    REQUEST(L, rc, srv_logic_invite_pending(L, &f->user[ALICE], "lobby", "bob", &e));
    CHECK(rc == -1 && e.code == CHAT_ERR_BAD_ROSTER);
    /* dave has never registered; carol has, with no KeyPackage.  Twice
     * is once. */
    REQUEST(L, rc, srv_logic_invite_pending(L, &f->user[ALICE], "lobby", "dave", &e));
    CHECK(rc == 0);
    REQUEST(L, rc, srv_logic_invite_pending(L, &f->user[ALICE], "lobby", "dave", &e));
    CHECK(rc == 0);
    REQUEST(L, rc, srv_logic_invite_pending(L, &f->user[ALICE], "lobby", "carol", &e));
    CHECK(rc == 0);
    /* carol is ready when earlier tests left her a KeyPackage. */
    int64_t count = 0;
    int lr = 0;
    char want[160];
    CHECK_OK(L->store->ops->kp_count(L->store, f->user[CAROL].id, clock_wall, &count, &lr));
    snprintf(want, sizeof want, "admin:lobby/carol/alice/%d;admin:lobby/dave/alice/0;",
             count > 0 || lr);
    memset(&v, 0, sizeof v);
    REQUEST(L, rc, srv_logic_invite_list(L, &f->user[ALICE], seen_invite, &v, &e));
    CHECK(rc == 0 && strcmp(v.text, want) == 0);
    /* A member who administers nothing sees none. */
    memset(&v, 0, sizeof v);
    REQUEST(L, rc, srv_logic_invite_list(L, &f->user[BOB], seen_invite, &v, &e));
    CHECK(rc == 0 && v.text[0] == 0);
    /* The invitee sees its invitation. */
    memset(&v, 0, sizeof v);
    REQUEST(L, rc, srv_logic_invite_list(L, &f->user[CAROL], seen_invite, &v, &e));
    CHECK(rc == 0 && strcmp(v.text, "mine:lobby/-/alice/0;") == 0);
    /* carol publishes a KeyPackage: the administrators are told, and she
     * is ready. */
    n_invite_events = 0;
    CHECK_OK(mls_key_package_create(mls_env_default(), f->id[CAROL], NULL, &kp, &bundle));
    mls_bytes kpv = mls_buf_view(&kp);
    REQUEST(L, rc, srv_logic_kp_upload(L, &f->user[CAROL], &kpv, 1, 0, &e));
    CHECK(rc == 0 && n_invite_events == 1);
    snprintf(want, sizeof want, "lobby/carol/1/%lld", (long long)f->user[ALICE].id);
    CHECK(strcmp(invite_event, want) == 0);
    memset(&v, 0, sizeof v);
    REQUEST(L, rc, srv_logic_invite_list(L, &f->user[ALICE], seen_invite, &v, &e));
    CHECK(rc == 0 && strcmp(v.text, "admin:lobby/carol/alice/1;admin:lobby/dave/alice/0;") == 0);
    /* Uploads by users nobody invited tell nobody. */
    n_invite_events = 0;
    mls_buf_reset(&kp);
    mls_buf_reset(&bundle);
    CHECK_OK(mls_key_package_create(mls_env_default(), f->id[MALLORY], NULL, &kp, &bundle));
    kpv = mls_buf_view(&kp);
    REQUEST(L, rc, srv_logic_kp_upload(L, &f->user[MALLORY], &kpv, 1, 0, &e));
    CHECK(rc == 0 && n_invite_events == 0);
    mls_buf_clear(&kp);
    mls_buf_clear(&bundle);
}

/* docs/PROTOCOL.md §7.2: a non-member learns that the group exists and
 * its public fields, never the roster or the GroupInfo. */
static void test_group_info_access(fixture *f)
{
    srv_logic *L = &f->L;
    srv_group_view v;
    srv_err e;
    int rc;

    srv_group_view_init(&v);
    REQUEST(L, rc, srv_logic_group_info(L, &f->user[MALLORY], "lobby", str(""), &v, &e));
    CHECK(rc == 0 && v.exists == 1 && v.member == 0);
    /* A non-member learns that the name exists and nothing more. */
    CHECK(strcmp(v.group.name, "lobby") == 0 && v.admin[0] == 0);
    CHECK(v.group.epoch == 0 && v.group.last_seq == 0 && v.group.gid_len == 0);
    CHECK(v.first_seq == 0 && v.members == NULL && v.n_members == 0);
    CHECK(v.has_group_info == 0 && v.group_info.n == 0);
    srv_group_view_clear(&v);

    REQUEST(L, rc, srv_logic_group_info(L, &f->user[BOB], NULL, str("lobby-gid"), &v, &e));
    CHECK(rc == 0 && v.exists == 1 && v.member == 1 && v.role == SRV_ROLE_MEMBER);
    CHECK(v.n_members == 2 && v.members && v.members[0].user_id == f->user[ALICE].id &&
          v.members[0].role == SRV_ROLE_ADMIN);
    CHECK(v.has_group_info == 1 && v.group_info.n > 0);
    srv_group_view_clear(&v);

    REQUEST(L, rc, srv_logic_group_info(L, &f->user[MALLORY], "nowhere", str(""), &v, &e));
    CHECK(rc == 0 && v.exists == 0 && v.member == 0 && v.n_members == 0);
    srv_group_view_clear(&v);

    REQUEST(L, rc, srv_logic_group_info(L, NULL, "lobby", str(""), &v, &e));
    CHECK(rc == -1 && e.code == CHAT_ERR_UNAUTHENTICATED && v.exists == 0);
    srv_group_view_clear(&v);
}

/* Refusals for want of login, membership or role leave the store as it
 * was and tell the sink nothing. */
static void test_refusals(fixture *f)
{
    srv_logic *L = &f->L;
    const int64_t ids[] = {f->user[ALICE].id, f->user[BOB].id, f->user[CAROL].id,
                           f->user[MALLORY].id};
    mls_staged_commit *sc = NULL;
    mls_buf app, kp, bundle;
    srv_group g;
    srv_err e;
    uint64_t seq = 0, epoch = 0;
    int64_t acked = -1;
    int dup = -1, rc;
    char before[4096], after[4096];
    const char *carol[] = {"carol"};

    mls_buf_init(&app);
    mls_buf_init(&kp);
    mls_buf_init(&bundle);
    CHECK_OK(chat_commit(f->alice_group, NULL, &sc));
    CHECK_OK(mls_group_protect(f->alice_group, str(""), str("hello"), &app));
    CHECK_OK(mls_key_package_create(mls_env_default(), f->id[CAROL], NULL, &kp, &bundle));
    if (!sc)
        goto out;
    srv_commit_req r = commit_req(sc, 2);
    mls_bytes msg = mls_buf_view(&app), kpv = mls_buf_view(&kp);
    store_signature(L, ids, 4, before);
    memset(&rec, 0, sizeof rec);

    /* Not logged in. */
    REQUEST(L, rc, srv_logic_commit(L, NULL, &r, &seq, &epoch, &dup, &e));
    CHECK(rc == -1 && e.code == CHAT_ERR_UNAUTHENTICATED);
    REQUEST(L, rc, srv_logic_send(L, NULL, "lobby", msg, str(""), &seq, &epoch, &dup, &e));
    CHECK(rc == -1 && e.code == CHAT_ERR_UNAUTHENTICATED);
    REQUEST(L, rc, srv_logic_group_create(L, NULL, "other", str("other-gid"), 0, str("gi"), &g,
                                          &e));
    CHECK(rc == -1 && e.code == CHAT_ERR_UNAUTHENTICATED);
    REQUEST(L, rc, srv_logic_kp_upload(L, NULL, &kpv, 1, 0, &e));
    CHECK(rc == -1 && e.code == CHAT_ERR_UNAUTHENTICATED);
    int64_t one = 1;
    REQUEST(L, rc, srv_logic_inbox_ack(L, NULL, &one, 1, &acked, &e));
    CHECK(rc == -1 && e.code == CHAT_ERR_UNAUTHENTICATED);

    /* Not on the roster. */
    REQUEST(L, rc, srv_logic_commit(L, &f->user[MALLORY], &r, &seq, &epoch, &dup, &e));
    CHECK(rc == -1 && e.code == CHAT_ERR_NOT_MEMBER);
    REQUEST(L, rc,
            srv_logic_send(L, &f->user[MALLORY], "lobby", msg, str(""), &seq, &epoch, &dup, &e));
    CHECK(rc == -1 && e.code == CHAT_ERR_NOT_MEMBER);
    REQUEST(L, rc, srv_logic_fetch(L, &f->user[MALLORY], "lobby", 0, 100, sig_entry, after, &g,
                                   &seq, &dup, &e));
    CHECK(rc == -1 && e.code == CHAT_ERR_NOT_MEMBER);

    /* A member sending someone else's commit: its sender leaf is not
     * bob's (docs/PROTOCOL.md §7.4, rule sender). */
    srv_welcome_req w = {mls_buf_view(&f->welcome), carol, 1};
    srv_commit_req add = r;
    add.welcomes = &w;
    add.n_welcomes = 1;
    REQUEST(L, rc, srv_logic_commit(L, &f->user[BOB], &add, &seq, &epoch, &dup, &e));
    CHECK(rc == -1 && e.code == CHAT_ERR_INVALID_COMMIT && e.rule == CHAT_RULE_SENDER);
    /* Someone else's inbox entry: acking it is no error and no change. */
    REQUEST(L, rc, srv_logic_inbox_ack(L, &f->user[MALLORY], &one, 1, &acked, &e));
    CHECK(rc == 0 && acked == 0);

    CHECK(rec.n_log == 0 && rec.n_inbox == 0);
    store_signature(L, ids, 4, after);
    CHECK(strcmp(before, after) == 0);
out:
    mls_staged_commit_free(sc);
    mls_buf_clear(&app);
    mls_buf_clear(&kp);
    mls_buf_clear(&bundle);
}

/* A message reaches the roster; bob reads from where he joined; his
 * Welcome waits in his inbox until he acks it. */
static void test_send_fetch_inbox(fixture *f)
{
    srv_logic *L = &f->L;
    mls_buf app;
    srv_group g;
    srv_err e;
    uint64_t seq = 0, epoch = 0, last = 0;
    int dup = -1, more = -1, rc;
    char seen[4096] = "";
    int64_t acked = 0;

    mls_buf_init(&app);
    CHECK_OK(mls_group_protect(f->alice_group, str(""), str("hi bob"), &app));
    memset(&rec, 0, sizeof rec);
    REQUEST(L, rc, srv_logic_send(L, &f->user[ALICE], "lobby", mls_buf_view(&app), str("m1"), &seq,
                                  &epoch, &dup, &e));
    CHECK(rc == 0 && seq == 3 && epoch == 2 && dup == 0);
    /* A message is for the members on the roster now: alice and bob. */
    CHECK(rec.n_log == 1 && rec.log_kind == SRV_KIND_MESSAGE && rec.log_to_roster);
    int64_t *roster = NULL;
    size_t n_roster = 0;
    CHECK_OK(srv_logic_roster_ids(L, g_ref(L, "lobby"), &roster, &n_roster));
    CHECK(n_roster == 2 && roster && roster[0] == f->user[ALICE].id &&
          roster[1] == f->user[BOB].id);
    free(roster);
    CHECK(srv_logic_on_roster(L, g_ref(L, "lobby"), f->user[BOB].id) == 1);
    CHECK(srv_logic_on_roster(L, g_ref(L, "lobby"), 999999) == 0);
    REQUEST(L, rc, srv_logic_send(L, &f->user[ALICE], "lobby", mls_buf_view(&app), str("m1"), &seq,
                                  &epoch, &dup, &e));
    CHECK(rc == 0 && seq == 3 && dup == 1 && rec.n_log == 1);

    REQUEST(L, rc, srv_logic_fetch(L, &f->user[BOB], "lobby", 0, 100, sig_entry, seen, &g, &last,
                                   &more, &e));
    CHECK(rc == 0 && last == 3 && more == 0);
    CHECK(strncmp(seen, "e3/2/2/", 7) == 0 && strchr(seen, ';') == seen + strlen(seen) - 1);

    seen[0] = 0;
    REQUEST(L, rc, srv_logic_inbox_list(L, &f->user[BOB], 0, 100, sig_inbox, seen, &more, &e));
    CHECK(rc == 0 && strncmp(seen, "i1/2;", 5) == 0 && more == 0);
    int64_t id = 1;
    REQUEST(L, rc, srv_logic_inbox_ack(L, &f->user[BOB], &id, 1, &acked, &e));
    CHECK(rc == 0 && acked == 1);
    mls_buf_clear(&app);
}

/* The claim limit runs on the injected monotonic clock. */
static void test_claim_rate(fixture *f)
{
    srv_logic *L = &f->L;
    srv_bucket bucket = {0, 0};
    srv_user target;
    srv_err e;
    mls_buf kp[3], bundle[3], got;
    mls_bytes kps[3];
    int64_t count = 0;
    int lr = -1, rc;

    mls_buf_init(&got);
    for (int i = 0; i < 3; i++) {
        mls_buf_init(&kp[i]);
        mls_buf_init(&bundle[i]);
        CHECK_OK(mls_key_package_create(mls_env_default(), f->id[CAROL], NULL, &kp[i], &bundle[i]));
        kps[i] = mls_buf_view(&kp[i]);
    }
    REQUEST(L, rc, srv_logic_kp_upload(L, &f->user[CAROL], kps, 3, 0, &e));
    CHECK(rc == 0);
    REQUEST(L, rc, srv_logic_kp_status(L, &f->user[CAROL], &count, &lr, &e));
    CHECK(rc == 0 && count == 3 && lr == 0);
    clock_us = 1000000;
    for (int i = 0; i < 2; i++) {
        REQUEST(L, rc, srv_logic_kp_claim(L, &f->user[BOB], &bucket, "carol", &target, &got, &lr, &e));
        CHECK(rc == 0 && target.id == f->user[CAROL].id && got.n > 0);
    }
    REQUEST(L, rc, srv_logic_kp_claim(L, &f->user[BOB], &bucket, "carol", &target, &got, &lr, &e));
    CHECK(rc == -1 && e.code == CHAT_ERR_RATE_LIMITED && e.extra >= 1);
    clock_us += 30 * 1000000LL;
    REQUEST(L, rc, srv_logic_kp_claim(L, &f->user[BOB], &bucket, "carol", &target, &got, &lr, &e));
    CHECK(rc == 0);
    REQUEST(L, rc, srv_logic_kp_status(L, &f->user[CAROL], &count, &lr, &e));
    CHECK(rc == 0 && count == 0);
    for (int i = 0; i < 3; i++) {
        mls_buf_clear(&kp[i]);
        mls_buf_clear(&bundle[i]);
    }
    mls_buf_clear(&got);
}

/* Per-target limits: fresh requesters (no bucket of their own) still
 * meet the target's claim bucket, and the last-resort KeyPackage its own,
 * slower one; a refused last-resort claim hands out nothing. */
static void test_target_claims(fixture *f)
{
    srv_logic *L = &f->L;
    srv_user target;
    srv_err e;
    mls_buf kp[2], bundle[2], got;
    mls_bytes one;
    int64_t count = -1;
    int lr = -1, rc;

    mls_buf_init(&got);
    for (int i = 0; i < 2; i++) {
        mls_buf_init(&kp[i]);
        mls_buf_init(&bundle[i]);
        CHECK_OK(mls_key_package_create(mls_env_default(), f->id[CAROL], NULL, &kp[i], &bundle[i]));
    }
    one = mls_buf_view(&kp[0]);
    REQUEST(L, rc, srv_logic_kp_upload(L, &f->user[CAROL], &one, 1, 0, &e));
    CHECK(rc == 0);
    one = mls_buf_view(&kp[1]);
    REQUEST(L, rc, srv_logic_kp_upload(L, &f->user[CAROL], &one, 1, 1, &e));
    CHECK(rc == 0);
    L->limits.claim_target_rate = 2;
    L->limits.last_resort_rate = 1;
    clock_us = 5000 * 1000000LL;
    REQUEST(L, rc, srv_logic_kp_claim(L, &f->user[BOB], NULL, "carol", &target, &got, &lr, &e));
    CHECK(rc == 0 && lr == 0);
    REQUEST(L, rc, srv_logic_kp_claim(L, &f->user[ALICE], NULL, "carol", &target, &got, &lr, &e));
    CHECK(rc == 0 && lr == 1);
    REQUEST(L, rc, srv_logic_kp_claim(L, &f->user[MALLORY], NULL, "carol", &target, &got, &lr, &e));
    CHECK(rc == -1 && e.code == CHAT_ERR_RATE_LIMITED && e.extra >= 1);
    /* A minute later the target bucket has room, the last-resort one not. */
    clock_us += 60 * 1000000LL;
    REQUEST(L, rc, srv_logic_kp_claim(L, &f->user[MALLORY], NULL, "carol", &target, &got, &lr, &e));
    CHECK(rc == -1 && e.code == CHAT_ERR_RATE_LIMITED && e.extra > 60);
    REQUEST(L, rc, srv_logic_kp_status(L, &f->user[CAROL], &count, &lr, &e));
    CHECK(rc == 0 && count == 0 && lr == 1);
    clock_us += 3600 * 1000000LL;
    REQUEST(L, rc, srv_logic_kp_claim(L, &f->user[MALLORY], NULL, "carol", &target, &got, &lr, &e));
    CHECK(rc == 0 && lr == 1);
    L->limits.claim_target_rate = 0;
    L->limits.last_resort_rate = 0;
    srv_logic_clear(L);
    for (int i = 0; i < 2; i++) {
        mls_buf_clear(&kp[i]);
        mls_buf_clear(&bundle[i]);
    }
    mls_buf_clear(&got);
}

int main(void)
{
    fixture f;
    char path[256];
    srv_log_set_level(SRV_LOG_ERROR);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    clock_wall = (int64_t)time(NULL);
    snprintf(path, sizeof path, "%s/logic.db", dir);
    test_admit();
    int ok = fixture_init(&f, path) == 0;
    CHECK(ok);
    if (ok) {
        test_first_commit_wins(&f);
        test_add_member(&f);
        test_group_info_access(&f);
        test_refusals(&f);
        test_send_fetch_inbox(&f);
        test_claim_rate(&f);
        test_target_claims(&f);
        test_pending_invites(&f);
    }
    fixture_clear(&f);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    TEST_MAIN_END("test_server_logic");
}
