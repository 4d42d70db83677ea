/*
 * Unit tests for the server's governance (src/server/validate.c through
 * logic, docs/PROTOCOL.md §7.1, §7.4, §7.5): commits and proposals made
 * with libmls's public API by real members, judged by the server's public
 * view of the group.  Each rule has a refused case, checked for the exact
 * error and rule and for leaving the store and the stored view
 * byte-identical; the honest cases are accepted and the roster follows
 * the view.
 */
#include <unistd.h>

#include "log.h"
#include "logic.h"
#include "mls/group.h"
#include "mls/public_group.h"
#include "group_state.h" /* rename_commit swaps a group's identity */
#include "server_chat.h"
#include "test.h"

static char dir[] = "/tmp/mlschat-validate-XXXXXX";
static int64_t clock_wall = 1700000000;

static int64_t test_wall(void *ctx)
{
    (void)ctx;
    return clock_wall;
}

static int64_t test_mono_us(void *ctx)
{
    (void)ctx;
    return 0;
}

static int n_inbox;
static int64_t inbox_user;

static void on_inbox(void *ctx, int64_t user_id, const srv_inbox_entry *e)
{
    (void)ctx;
    (void)e;
    n_inbox++;
    inbox_user = user_id;
}

#define REQUEST(L, rc, call)                                                   \
    do {                                                                       \
        srv_err end_err_;                                                      \
        CHECK_OK(srv_logic_batch_begin(L));                                    \
        CHECK_OK(srv_logic_change_begin((L), &end_err_));                      \
        (rc) = (call);                                                         \
        CHECK_OK(srv_logic_change_end((L), (rc) == 0, &end_err_));             \
        CHECK_OK(srv_logic_batch_commit(L));                                   \
    } while (0)

enum { ALICE, BOB, CAROL, MALLORY, N_USERS };
static const char *const names[N_USERS] = {"alice", "bob", "carol", "mallory"};

typedef struct world {
    srv_logic L;
    mls_identity *id[N_USERS];
    srv_user user[N_USERS];
    mls_group *g[N_USERS]; /* each member's group, NULL when not in it */
} world;

static mls_bytes str(const char *s)
{
    return mls_bytes_of((const uint8_t *)s, strlen(s));
}

/* ------------------------------------------------------------ snapshots */

typedef struct snapshot {
    char text[8192];
    mls_buf view, gi;
} snapshot;

static int snap_member(void *ctx, const srv_member *m)
{
    char *s = ctx;
    size_t o = strlen(s);
    snprintf(s + o, 8192 - o, "m%lld/%s/%d/%llu/%d;", (long long)m->user_id, m->username,
             (int)m->role, (unsigned long long)m->joined_seq, m->left);
    return 0;
}

static int snap_entry(void *ctx, const srv_log_entry *e)
{
    char *s = ctx;
    size_t o = strlen(s);
    snprintf(s + o, 8192 - o, "e%llu/%llu/%d/%zu;", (unsigned long long)e->seq,
             (unsigned long long)e->epoch, (int)e->kind, e->data.n);
    return 0;
}

static int snap_inbox(void *ctx, const srv_inbox_entry *e)
{
    char *s = ctx;
    size_t o = strlen(s);
    snprintf(s + o, 8192 - o, "i%lld/%llu;", (long long)e->id, (unsigned long long)e->seq);
    return 0;
}

/* Every row a commit or proposal may write, and the stored view. */
static void snap_take(world *w, snapshot *s)
{
    srv_store *st = w->L.store;
    srv_group g;
    s->text[0] = 0;
    mls_buf_reset(&s->view);
    mls_buf_reset(&s->gi);
    if (st->ops->group_by_name(st, "lobby", &g) == SRV_OK) {
        snprintf(s->text, sizeof s->text, "g%llu/%llu;", (unsigned long long)g.epoch,
                 (unsigned long long)g.last_seq);
        CHECK_OK(st->ops->group_get_view(st, g.ref, &s->view));
        (void)st->ops->group_get_info(st, g.ref, &s->gi);
        CHECK_OK(st->ops->member_list(st, g.ref, snap_member, s->text));
        CHECK_OK(st->ops->log_fetch(st, g.ref, 0, UINT64_MAX, 1000, snap_entry, s->text));
    }
    for (int i = 0; i < N_USERS; i++)
        CHECK_OK(st->ops->inbox_list(st, w->user[i].id, 0, 1000, snap_inbox, s->text));
}

static int buf_equal(const mls_buf *a, const mls_buf *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0);
}

static int snap_equal(const snapshot *a, const snapshot *b)
{
    return strcmp(a->text, b->text) == 0 && buf_equal(&a->view, &b->view) &&
           buf_equal(&a->gi, &b->gi);
}

/* ------------------------------------------------------------ requests */

static int commit(world *w, int who, mls_bytes msg, mls_bytes gi, const mls_bytes *welcome,
                  uint64_t epoch, srv_err *e)
{
    srv_welcome_req wr = {welcome ? *welcome : str(""), NULL, 0};
    srv_commit_req r;
    uint64_t seq = 0, new_epoch = 0;
    int dup = 0, rc;
    memset(&r, 0, sizeof r);
    r.group = "lobby";
    r.epoch = epoch;
    r.commit = msg;
    r.group_info = gi;
    r.welcomes = &wr;
    r.n_welcomes = welcome ? 1 : 0;
    REQUEST(&w->L, rc, srv_logic_commit(&w->L, &w->user[who], &r, &seq, &new_epoch, &dup, e));
    return rc;
}

static int commit_staged(world *w, int who, const mls_staged_commit *sc, srv_err *e)
{
    mls_bytes wel = mls_staged_commit_welcome(sc);
    return commit(w, who, mls_staged_commit_message(sc), mls_staged_commit_group_info(sc),
                  wel.n ? &wel : NULL, mls_staged_commit_epoch(sc) - 1, e);
}

static int send_msg(world *w, int who, mls_bytes msg, srv_err *e)
{
    uint64_t seq = 0, epoch = 0;
    int dup = 0, rc;
    REQUEST(&w->L, rc,
            srv_logic_send(&w->L, &w->user[who], "lobby", msg, str(""), &seq, &epoch, &dup, e));
    return rc;
}

/* The same with a msg_id: its seq and whether it was a retry. */
static int send_with_id(world *w, int who, mls_bytes msg, const char *msg_id, uint64_t *seq,
                        int *dup)
{
    uint64_t epoch = 0;
    int rc;
    srv_err e;
    REQUEST(&w->L, rc,
            srv_logic_send(&w->L, &w->user[who], "lobby", msg, str(msg_id), seq, &epoch, dup, &e));
    return rc;
}

/* A commit of alice's whose Welcome lists its recipients. */
static int commit_listed(world *w, const mls_staged_commit *sc, const srv_welcome_req *wr,
                         srv_err *e)
{
    srv_commit_req r;
    uint64_t seq = 0, ne = 0;
    int dup = 0, rc;
    memset(&r, 0, sizeof r);
    r.group = "lobby";
    r.epoch = mls_staged_commit_epoch(sc) - 1;
    r.commit = mls_staged_commit_message(sc);
    r.group_info = mls_staged_commit_group_info(sc);
    r.welcomes = wr;
    r.n_welcomes = 1;
    REQUEST(&w->L, rc, srv_logic_commit(&w->L, &w->user[ALICE], &r, &seq, &ne, &dup, e));
    return rc;
}

/* A refusal: exactly this rule, nothing changed. */
#define REFUSED(w, call, want_rule)                                            \
    do {                                                                       \
        snapshot b_, a_;                                                       \
        srv_err e_;                                                            \
        mls_buf_init(&b_.view);                                                \
        mls_buf_init(&b_.gi);                                                  \
        mls_buf_init(&a_.view);                                                \
        mls_buf_init(&a_.gi);                                                  \
        snap_take((w), &b_);                                                   \
        n_inbox = 0;                                                           \
        int rc_ = (call);                                                      \
        CHECK(rc_ == -1);                                                      \
        CHECK(e_.code == CHAT_ERR_INVALID_COMMIT);                             \
        CHECK(e_.rule == (want_rule));                                         \
        if (rc_ != -1 || e_.rule != (want_rule))                               \
            fprintf(stderr, "  got %s rule %s: %s\n", chat_err_name(e_.code),  \
                    chat_rule_name(e_.rule) ? chat_rule_name(e_.rule) : "-",   \
                    e_.message);                                               \
        snap_take((w), &a_);                                                   \
        CHECK(snap_equal(&b_, &a_));                                           \
        CHECK(n_inbox == 0);                                                   \
        mls_buf_clear(&b_.view);                                               \
        mls_buf_clear(&b_.gi);                                                 \
        mls_buf_clear(&a_.view);                                               \
        mls_buf_clear(&a_.gi);                                                 \
    } while (0)

#define ACCEPTED(call)                                                         \
    do {                                                                       \
        srv_err e_;                                                            \
        int rc_ = (call);                                                      \
        CHECK(rc_ == 0);                                                       \
        if (rc_)                                                               \
            fprintf(stderr, "  refused: %s rule %s: %s\n",                     \
                    chat_err_name(e_.code),                                    \
                    chat_rule_name(e_.rule) ? chat_rule_name(e_.rule) : "-",   \
                    e_.message);                                               \
    } while (0)

/* Every member but `except` processes an accepted handshake message. */
static void deliver(world *w, int except, mls_bytes msg)
{
    for (int i = 0; i < N_USERS; i++) {
        mls_process_result res;
        if (i == except || !w->g[i])
            continue;
        memset(&res, 0, sizeof res);
        CHECK_OK(mls_group_process(w->g[i], msg, &res));
        mls_process_result_clear(&res);
    }
}

static void kp_make(world *w, int who, mls_buf *kp, mls_buf *bundle)
{
    mls_buf_init(kp);
    mls_buf_init(bundle);
    CHECK_OK(mls_key_package_create(mls_env_default(), w->id[who], NULL, kp, bundle));
}

/* Roster as "name:role,..." in user id order. */
static void roster_text(world *w, char *out, size_t cap)
{
    srv_group_view v;
    srv_err e;
    int rc;
    out[0] = 0;
    srv_group_view_init(&v);
    REQUEST(&w->L, rc, srv_logic_group_info(&w->L, &w->user[ALICE], "lobby", str(""), &v, &e));
    for (size_t i = 0; rc == 0 && i < v.n_members; i++) {
        size_t o = strlen(out);
        snprintf(out + o, cap - o, "%s%s:%s", i ? "," : "", v.members[i].username,
                 v.members[i].role == SRV_ROLE_ADMIN ? "admin" : "member");
    }
    srv_group_view_clear(&v);
}

/* ------------------------------------------------------------ set-up */

static int world_init(world *w, const char *path)
{
    srv_store *st = NULL;
    srv_err e;
    int rc = 0;
    memset(w, 0, sizeof *w);
    if (srv_store_sqlite_open(path, &st))
        return -1;
    w->L.store = st;
    w->L.clock.wall = test_wall;
    w->L.clock.mono_us = test_mono_us;
    w->L.sink.on_inbox = on_inbox;
    for (int i = 0; i < N_USERS; i++) {
        if (chat_identity(names[i], &w->id[i]))
            return -1;
        REQUEST(&w->L, rc,
                srv_logic_register(&w->L, names[i], MLS_SUITE_X25519_AES128GCM_SHA256_ED25519,
                                   mls_identity_signature_key(w->id[i]), &w->user[i], &e));
        if (rc)
            return -1;
    }
    return 0;
}

static void world_clear(world *w)
{
    for (int i = 0; i < N_USERS; i++) {
        mls_identity_free(w->id[i]);
        mls_group_free(w->g[i]);
    }
    if (w->L.store)
        w->L.store->ops->close(w->L.store);
}

static int create(world *w, int who, const char *name, mls_bytes gid, mls_bytes gi, srv_err *e)
{
    srv_group g;
    int rc;
    REQUEST(&w->L, rc, srv_logic_group_create(&w->L, &w->user[who], name, gid, 0, gi, &g, e));
    return rc;
}

/* ------------------------------------------------------------ group.create */

static void test_create(world *w)
{
    mls_group *other = NULL, *bobs = NULL, *lobby = NULL;
    mls_buf gi, gi_other, gi_bob;
    mls_buf_init(&gi);
    mls_buf_init(&gi_other);
    mls_buf_init(&gi_bob);
    /* A group whose name extension says another name. */
    CHECK_OK(chat_group(w->id[ALICE], "alice", "lobby-gid", "other", &other));
    /* Bob's group, offered by alice. */
    CHECK_OK(chat_group(w->id[BOB], "bob", "lobby-gid", "lobby", &bobs));
    CHECK_OK(chat_group(w->id[ALICE], "alice", "lobby-gid", "lobby", &lobby));
    if (!other || !bobs || !lobby)
        goto out;
    CHECK_OK(mls_group_group_info(other, 1, &gi_other));
    CHECK_OK(mls_group_group_info(bobs, 1, &gi_bob));
    CHECK_OK(mls_group_group_info(lobby, 1, &gi));

    REFUSED(w, create(w, ALICE, "lobby", str("lobby-gid"), mls_buf_view(&gi_other), &e_),
            CHAT_RULE_EXTENSIONS);
    REFUSED(w, create(w, ALICE, "lobby", str("lobby-gid"), mls_buf_view(&gi_bob), &e_),
            CHAT_RULE_IDENTITY);
    REFUSED(w, create(w, ALICE, "lobby", str("another-gid"), mls_buf_view(&gi), &e_),
            CHAT_RULE_GROUP_INFO);
    REFUSED(w, create(w, ALICE, "lobby", str("lobby-gid"), str("not a GroupInfo"), &e_),
            CHAT_RULE_MLS);
    ACCEPTED(create(w, ALICE, "lobby", str("lobby-gid"), mls_buf_view(&gi), &e_));
    w->g[ALICE] = lobby;
    lobby = NULL;
    char r[256];
    roster_text(w, r, sizeof r);
    CHECK(strcmp(r, "alice:admin") == 0);
out:
    mls_group_free(other);
    mls_group_free(bobs);
    mls_group_free(lobby);
    mls_buf_clear(&gi);
    mls_buf_clear(&gi_other);
    mls_buf_clear(&gi_bob);
}

/* ------------------------------------------------------------ adds */

/* The administrator adds bob and carol with one Welcome; both join. */
static void test_add(world *w)
{
    mls_buf kp[2], bundle[2];
    mls_bytes kps[2];
    mls_staged_commit *sc = NULL;
    mls_commit_options o;
    kp_make(w, BOB, &kp[0], &bundle[0]);
    kp_make(w, CAROL, &kp[1], &bundle[1]);
    kps[0] = mls_buf_view(&kp[0]);
    kps[1] = mls_buf_view(&kp[1]);
    memset(&o, 0, sizeof o);
    o.add = kps;
    o.n_add = 2;
    CHECK_OK(chat_commit(w->g[ALICE], &o, &sc));
    if (!sc)
        goto out;
    n_inbox = 0;
    ACCEPTED(commit_staged(w, ALICE, sc, &e_));
    CHECK(n_inbox == 2);
    for (int i = BOB; i <= CAROL; i++) {
        mls_bytes b = mls_buf_view(&bundle[i - BOB]);
        CHECK_OK(mls_group_join(mls_env_default(), w->id[i], mls_staged_commit_welcome(sc), &b,
                                1, NULL, NULL, &w->g[i]));
    }
    CHECK_OK(mls_group_merge_staged(w->g[ALICE], sc));
    char r[256];
    roster_text(w, r, sizeof r);
    CHECK(strcmp(r, "alice:admin,bob:member,carol:member") == 0);
out:
    mls_staged_commit_free(sc);
    for (int i = 0; i < 2; i++) {
        mls_buf_clear(&kp[i]);
        mls_buf_clear(&bundle[i]);
    }
}

/* ------------------------------------------------------------ refusals */

static void set_exts(mls_commit_options *o, mls_ext *ext, mls_buf *name, mls_buf *admins,
                     const char *group, const char *const *adm, size_t n_adm)
{
    CHECK_OK(chat_ext_name(group, name));
    CHECK_OK(chat_ext_admins(adm, n_adm, admins));
    ext[0].type = CHAT_EXT_NAME;
    ext[0].data = mls_buf_view(name);
    ext[1].type = CHAT_EXT_ADMINS;
    ext[1].data = mls_buf_view(admins);
    o->set_extensions = ext;
    o->n_set_extensions = 2;
}

/* An extension change by alice; refused with rule. */
static void refuse_exts(world *w, const char *group, const char *const *adm, size_t n,
                        enum chat_rule rule)
{
    mls_commit_options o;
    mls_ext ext[2];
    mls_buf name, admins;
    mls_staged_commit *sc = NULL;
    mls_buf_init(&name);
    mls_buf_init(&admins);
    memset(&o, 0, sizeof o);
    set_exts(&o, ext, &name, &admins, group, adm, n);
    CHECK_OK(chat_commit(w->g[ALICE], &o, &sc));
    if (sc)
        REFUSED(w, commit_staged(w, ALICE, sc, &e_), rule);
    mls_staged_commit_free(sc);
    mls_buf_clear(&name);
    mls_buf_clear(&admins);
}

static void test_refusals(world *w)
{
    mls_staged_commit *sc = NULL, *sc2 = NULL;
    mls_commit_options o;
    mls_buf kp, bundle, junk, prop, ext_commit;
    mls_group *ext_group = NULL;
    mls_identity *fake = NULL;
    uint64_t epoch = mls_group_epoch(w->g[ALICE]);
    mls_buf_init(&junk);
    mls_buf_init(&prop);
    mls_buf_init(&ext_commit);
    kp_make(w, MALLORY, &kp, &bundle);
    mls_bytes kpv = mls_buf_view(&kp);

    /* not_public: a PrivateMessage commit. */
    memset(&o, 0, sizeof o);
    o.handshake = MLS_HANDSHAKE_PRIVATE;
    CHECK_OK(mls_group_commit(w->g[ALICE], &o, &sc));
    if (sc)
        REFUSED(w, commit_staged(w, ALICE, sc, &e_), CHAT_RULE_NOT_PUBLIC);
    mls_staged_commit_free(sc);
    sc = NULL;

    /* mls: alice's commit with a byte of its signature changed (suite 1:
     * signature<64>, confirmation_tag<32>, membership_tag<32> at the end). */
    CHECK_OK(chat_commit(w->g[ALICE], NULL, &sc));
    if (sc) {
        mls_bytes m = mls_staged_commit_message(sc);
        CHECK_OK(mls_buf_set(&junk, m.p, m.n));
        junk.p[junk.n - 1 - 32 - 1 - 32 - 10] ^= 1;
        REFUSED(w, commit(w, ALICE, mls_buf_view(&junk), mls_staged_commit_group_info(sc), NULL,
                          epoch, &e_),
                CHAT_RULE_MLS);
        /* sender: bob sends alice's commit. */
        REFUSED(w, commit_staged(w, BOB, sc, &e_), CHAT_RULE_SENDER);
        /* group_info: missing, or another commit's. */
        REFUSED(w, commit(w, ALICE, mls_staged_commit_message(sc), str(""), NULL, epoch, &e_),
                CHAT_RULE_GROUP_INFO);
        CHECK_OK(chat_commit(w->g[ALICE], NULL, &sc2));
        if (sc2)
            REFUSED(w, commit(w, ALICE, mls_staged_commit_message(sc),
                              mls_staged_commit_group_info(sc2), NULL, epoch, &e_),
                    CHAT_RULE_GROUP_INFO);
    }
    mls_staged_commit_free(sc);
    mls_staged_commit_free(sc2);
    sc = sc2 = NULL;

    /* admin_required: bob adds mallory; bob removes carol. */
    memset(&o, 0, sizeof o);
    o.add = &kpv;
    o.n_add = 1;
    CHECK_OK(chat_commit(w->g[BOB], &o, &sc));
    if (sc)
        REFUSED(w, commit_staged(w, BOB, sc, &e_), CHAT_RULE_ADMIN_REQUIRED);
    mls_staged_commit_free(sc);
    sc = NULL;
    uint32_t carol_leaf = 2;
    memset(&o, 0, sizeof o);
    o.remove = &carol_leaf;
    o.n_remove = 1;
    CHECK_OK(chat_commit(w->g[BOB], &o, &sc));
    if (sc)
        REFUSED(w, commit_staged(w, BOB, sc, &e_), CHAT_RULE_ADMIN_REQUIRED);
    mls_staged_commit_free(sc);
    sc = NULL;
    /* ... and proposing carol's removal. */
    CHECK_OK(mls_group_propose_remove(w->g[BOB], carol_leaf, &prop));
    REFUSED(w, send_msg(w, BOB, mls_buf_view(&prop), &e_), CHAT_RULE_ADMIN_REQUIRED);

    /* identity: a KeyPackage named mallory with a key that is not hers. */
    mls_buf fkp, fbundle;
    mls_buf_init(&fkp);
    mls_buf_init(&fbundle);
    CHECK_OK(chat_identity("mallory", &fake));
    if (fake)
        CHECK_OK(mls_key_package_create(mls_env_default(), fake, NULL, &fkp, &fbundle));
    mls_bytes fkpv = mls_buf_view(&fkp);
    memset(&o, 0, sizeof o);
    o.add = &fkpv;
    o.n_add = 1;
    CHECK_OK(chat_commit(w->g[ALICE], &o, &sc));
    if (sc)
        REFUSED(w, commit_staged(w, ALICE, sc, &e_), CHAT_RULE_IDENTITY);
    mls_staged_commit_free(sc);
    sc = NULL;
    mls_buf_clear(&fkp);
    mls_buf_clear(&fbundle);

    /* welcome: mallory added without her Welcome. */
    memset(&o, 0, sizeof o);
    o.add = &kpv;
    o.n_add = 1;
    CHECK_OK(chat_commit(w->g[ALICE], &o, &sc));
    if (sc) {
        REFUSED(w, commit(w, ALICE, mls_staged_commit_message(sc),
                          mls_staged_commit_group_info(sc), NULL, epoch, &e_),
                CHAT_RULE_WELCOME);
        /* ... or with the recipients listed wrong. */
        const char *carol[] = {"carol"};
        srv_welcome_req wr = {mls_staged_commit_welcome(sc), carol, 1};
        REFUSED(w, commit_listed(w, sc, &wr, &e_), CHAT_RULE_WELCOME);
    }
    mls_staged_commit_free(sc);
    sc = NULL;

    /* extensions and last_admin. */
    const char *alice[] = {"alice"}, *alice_mallory[] = {"alice", "mallory"},
               *mallory[] = {"mallory"};
    refuse_exts(w, "renamed", alice, 1, CHAT_RULE_EXTENSIONS);
    refuse_exts(w, "lobby", alice_mallory, 2, CHAT_RULE_EXTENSIONS);
    refuse_exts(w, "lobby", mallory, 1, CHAT_RULE_LAST_ADMIN);

    /* external: "bob" joins from the GroupInfo with a key that is not
     * bob's and removes nothing (not a resync). */
    mls_external_join_options jo;
    mls_identity *other_bob = NULL;
    mls_buf gi;
    mls_buf_init(&gi);
    memset(&jo, 0, sizeof jo);
    CHECK_OK(chat_identity("bob", &other_bob));
    CHECK_OK(mls_group_group_info(w->g[ALICE], 1, &gi));
    if (other_bob)
        CHECK_OK(mls_group_external_join(mls_env_default(), other_bob, mls_buf_view(&gi), &jo,
                                         &ext_commit, &ext_group));
    if (ext_group) {
        mls_buf egi;
        mls_buf_init(&egi);
        CHECK_OK(mls_group_group_info(ext_group, 1, &egi));
        REFUSED(w, commit(w, BOB, mls_buf_view(&ext_commit), mls_buf_view(&egi), NULL, epoch,
                          &e_),
                CHAT_RULE_EXTERNAL);
        mls_buf_clear(&egi);
    }
    mls_group_free(ext_group);
    mls_identity_free(other_bob);
    mls_buf_clear(&gi);

    mls_identity_free(fake);
    mls_buf_clear(&kp);
    mls_buf_clear(&bundle);
    mls_buf_clear(&junk);
    mls_buf_clear(&prop);
    mls_buf_clear(&ext_commit);
}

/* The topic (0xF002): a commit of `len` bytes of topic by member `who`,
 * refused with `rule` (CHAT_RULE_UNKNOWN: accepted and delivered). */
static void topic_commit(world *w, int who, size_t len, enum chat_rule rule)
{
    char text[CHAT_TOPIC_MAX + 2];
    mls_commit_options o;
    mls_ext ext;
    mls_buf topic;
    mls_staged_commit *sc = NULL;
    mls_buf_init(&topic);
    memset(text, 't', len);
    text[len] = 0;
    CHECK_OK(chat_ext_name(text, &topic)); /* the same struct { opaque <V>; } */
    ext.type = CHAT_EXT_TOPIC;
    ext.data = mls_buf_view(&topic);
    memset(&o, 0, sizeof o);
    o.set_extensions = &ext;
    o.n_set_extensions = 1;
    CHECK_OK(chat_commit(w->g[who], &o, &sc));
    if (sc && rule != CHAT_RULE_UNKNOWN) {
        REFUSED(w, commit_staged(w, who, sc, &e_), rule);
    } else if (sc) {
        ACCEPTED(commit_staged(w, who, sc, &e_));
        deliver(w, who, mls_staged_commit_message(sc));
        CHECK_OK(mls_group_merge_staged(w->g[who], sc));
    }
    mls_staged_commit_free(sc);
    mls_buf_clear(&topic);
}

/* Only an administrator sets the topic, at most CHAT_TOPIC_MAX bytes. */
static void test_topic(world *w)
{
    topic_commit(w, BOB, 5, CHAT_RULE_ADMIN_REQUIRED);
    topic_commit(w, ALICE, CHAT_TOPIC_MAX + 1, CHAT_RULE_EXTENSIONS);
    topic_commit(w, ALICE, CHAT_TOPIC_MAX, CHAT_RULE_UNKNOWN);
    topic_commit(w, BOB, 1, CHAT_RULE_ADMIN_REQUIRED);
}

/* ------------------------------------------------------------ honest changes */

/* A member updates its own leaf (a commit with only a path). */
static void test_self_update(world *w)
{
    mls_staged_commit *sc = NULL;
    CHECK_OK(chat_commit(w->g[BOB], NULL, &sc));
    if (!sc)
        return;
    ACCEPTED(commit_staged(w, BOB, sc, &e_));
    deliver(w, BOB, mls_staged_commit_message(sc));
    CHECK_OK(mls_group_merge_staged(w->g[BOB], sc));
    mls_staged_commit_free(sc);
}

/* Carol proposes her own removal (/leave); alice commits it by reference;
 * carol leaves the roster. */
static void test_self_remove(world *w)
{
    mls_buf prop;
    mls_staged_commit *sc = NULL;
    mls_commit_options o;
    uint32_t leaf = 0;
    mls_buf_init(&prop);
    CHECK_OK(mls_group_find_member(w->g[CAROL], str("carol"), &leaf));
    CHECK_OK(mls_group_propose_remove(w->g[CAROL], leaf, &prop));
    uint64_t seq1 = 0, seq2 = 0;
    int dup1 = -1, dup2 = -1;
    CHECK(send_with_id(w, CAROL, mls_buf_view(&prop), "leave-1", &seq1, &dup1) == 0 && dup1 == 0);
    /* Its retry is answered as the first time was, not judged again (the
     * view holds the proposal once: the commit below includes it). */
    CHECK(send_with_id(w, CAROL, mls_buf_view(&prop), "leave-1", &seq2, &dup2) == 0 &&
          dup2 == 1 && seq2 == seq1);
    deliver(w, CAROL, mls_buf_view(&prop));
    memset(&o, 0, sizeof o);
    o.include_pending_proposals = 1;
    CHECK_OK(chat_commit(w->g[ALICE], &o, &sc));
    if (sc) {
        ACCEPTED(commit_staged(w, ALICE, sc, &e_));
        deliver(w, ALICE, mls_staged_commit_message(sc));
        CHECK_OK(mls_group_merge_staged(w->g[ALICE], sc));
    }
    mls_staged_commit_free(sc);
    mls_group_free(w->g[CAROL]);
    w->g[CAROL] = NULL;
    char r[256];
    roster_text(w, r, sizeof r);
    CHECK(strcmp(r, "alice:admin,bob:member") == 0);
    mls_buf_clear(&prop);
}

/* Bob rejoins by an external commit from the GroupInfo the server keeps
 * (§7.2) that removes his old leaf: the resync, accepted. */
static void test_resync(world *w)
{
    mls_external_join_options jo;
    mls_group *ng = NULL;
    mls_buf commit_msg, ngi;
    srv_group_view v;
    srv_err e;
    int rc;
    mls_buf_init(&commit_msg);
    mls_buf_init(&ngi);
    srv_group_view_init(&v);
    REQUEST(&w->L, rc, srv_logic_group_info(&w->L, &w->user[BOB], "lobby", str(""), &v, &e));
    CHECK(rc == 0 && v.has_group_info);
    memset(&jo, 0, sizeof jo);
    jo.remove_old_leaf = 1;
    CHECK_OK(mls_group_find_member(w->g[ALICE], str("bob"), &jo.old_leaf));
    CHECK_OK(mls_group_external_join(mls_env_default(), w->id[BOB], mls_buf_view(&v.group_info),
                                     &jo, &commit_msg, &ng));
    if (ng && mls_group_group_info(ng, 1, &ngi) == MLS_OK) {
        rc = -1;
        ACCEPTED(rc = commit(w, BOB, mls_buf_view(&commit_msg), mls_buf_view(&ngi), NULL,
                             mls_group_epoch(ng) - 1, &e_));
        if (rc == 0) {
            deliver(w, BOB, mls_buf_view(&commit_msg));
            mls_group_free(w->g[BOB]);
            w->g[BOB] = ng;
            ng = NULL;
        }
    }
    char r[256];
    roster_text(w, r, sizeof r);
    CHECK(strcmp(r, "alice:admin,bob:member") == 0);
    mls_group_free(ng);
    mls_buf_clear(&commit_msg);
    mls_buf_clear(&ngi);
    srv_group_view_clear(&v);
}

/* Bob's commit whose path leaf carries the name `as` (with his key): the
 * group signs its path leaf with its identity, an internal of libmls
 * swapped here as /nick's commit would. */
static void rename_commit(world *w, const char *as, enum chat_rule refused)
{
    static const uint16_t types[] = {CHAT_EXT_NAME, CHAT_EXT_ADMINS, CHAT_EXT_TOPIC};
    mls_identity *id = NULL;
    mls_staged_commit *sc = NULL;
    mls_commit_options o;
    CHECK_OK(mls_identity_from_private_key(MLS_SUITE_X25519_AES128GCM_SHA256_ED25519,
                                           mls_identity_signature_private_key(w->id[BOB]),
                                           str(as), &id));
    if (!id || mls_identity_support_extensions(id, types, 3) != MLS_OK) {
        CHECK(0);
        mls_identity_free(id);
        return;
    }
    mls_identity_free(w->g[BOB]->id);
    w->g[BOB]->id = id;
    memset(&o, 0, sizeof o);
    o.force_path = 1;
    CHECK_OK(chat_commit(w->g[BOB], &o, &sc));
    if (sc && refused) {
        REFUSED(w, commit_staged(w, BOB, sc, &e_), refused);
    } else if (sc) {
        ACCEPTED(commit_staged(w, BOB, sc, &e_));
        deliver(w, BOB, mls_staged_commit_message(sc));
        CHECK_OK(mls_group_merge_staged(w->g[BOB], sc));
    }
    mls_staged_commit_free(sc);
}

/* The administrator removes a member. */
static void test_remove(world *w)
{
    mls_staged_commit *sc = NULL;
    mls_commit_options o;
    uint32_t leaf = 0;
    CHECK_OK(mls_group_find_member(w->g[ALICE], str("robert"), &leaf));
    memset(&o, 0, sizeof o);
    o.remove = &leaf;
    o.n_remove = 1;
    CHECK_OK(chat_commit(w->g[ALICE], &o, &sc));
    if (sc) {
        ACCEPTED(commit_staged(w, ALICE, sc, &e_));
        CHECK_OK(mls_group_merge_staged(w->g[ALICE], sc));
    }
    mls_staged_commit_free(sc);
    char r[256];
    roster_text(w, r, sizeof r);
    CHECK(strcmp(r, "alice:admin") == 0);
}

int main(void)
{
    world w;
    char path[128];
    srv_err e;
    int rc;
    srv_log_set_level(SRV_LOG_ERROR);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/v.db", dir);
    CHECK(world_init(&w, path) == 0);
    test_create(&w);
    if (w.g[ALICE]) {
        test_add(&w);
        test_refusals(&w);
        test_topic(&w);
        test_self_update(&w);
        test_self_remove(&w);
        test_resync(&w);
        /* Bob's credential rename: refused before user.rename registers
         * it, accepted after; never to another user's name. */
        rename_commit(&w, "robert", CHAT_RULE_IDENTITY);
        rename_commit(&w, "carol", CHAT_RULE_IDENTITY);
        REQUEST(&w.L, rc, srv_logic_rename(&w.L, &w.user[BOB], "robert", &e));
        CHECK(rc == 0);
        rename_commit(&w, "robert", CHAT_RULE_UNKNOWN);
        char r[256];
        roster_text(&w, r, sizeof r);
        CHECK(strcmp(r, "alice:admin,robert:member") == 0);
        test_remove(&w);
    }
    world_clear(&w);
    unlink(path);
    snprintf(path, sizeof path, "%s/v.db-wal", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/v.db-shm", dir);
    unlink(path);
    rmdir(dir);
    TEST_MAIN_END("test_server_validate");
}
