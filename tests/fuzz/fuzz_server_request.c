/*
 * The server's request path without sockets: srv_handle_message (JSON
 * parsing, authentication state, validation, the delivery logic, the store
 * interface on an in-memory SQLite database) and the MLS checks it makes of
 * uploaded objects (src/server/mlsmsg.h, kpcheck.h).  Nothing may crash or
 * leak, whatever a client sends.
 *
 * The store holds users alice, bob, carol and dave (the fixture's
 * identities, fuzz.h), dave's KeyPackage, and group "lobby" (the fixture
 * group, epoch 1, alice administrator, bob and carol members).  Every
 * request runs in a batch that is rolled back afterwards, so each input
 * sees the same store.
 *
 * Input: a mode byte (taken modulo 6), then
 *   0: a WebSocket text message on a connection that has not logged in
 *      (its challenge nonce is 32 zero bytes);
 *   1: the same on a connection logged in as alice;
 *   2: an MLSMessage for srv_mls_read_header;
 *   3: a KeyPackage upload for srv_kp_validate (alice uploading);
 *   4: a Welcome for srv_mls_check_welcome;
 *   5: a GroupInfo for srv_mls_check_group_info.
 * Seeds (MLS_FUZZ_SEEDS): one request of every type, with real MLS
 * objects of the fixture group where the request carries one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "fuzz.h"
#include "handlers.h"
#include "kpcheck.h"
#include "log.h"
#include "logic.h"
#include "mls/public_group.h"
#include "mlsmsg.h"
#include "srv.h"

static fuzz_fixture fx;
static srv server;
static srv_conn anon, alice;
static int64_t user_ids[FUZZ_N_IDS];
static const char *names[FUZZ_N_IDS] = {"alice", "bob", "carol", "dave"};

static void must(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_server_request: set-up failed: %s\n", what);
        abort();
    }
}

static void setup_store(void)
{
    srv_store *st = server.logic.store;
    srv_group g;
    srv_user u;
    mls_group *a;
    mls_public_group *pg = NULL;
    mls_buf view;
    int64_t ref = 0;

    mls_buf_init(&view);
    must(st->ops->batch_begin(st) == SRV_OK, "batch");
    for (int i = 0; i < FUZZ_N_IDS; i++)
        must(st->ops->user_create(st, names[i], MLS_SUITE_X25519_AES128GCM_SHA256_ED25519,
                                  mls_identity_signature_key(fx.id[i]), srv_time(),
                                  &user_ids[i]) == SRV_OK,
             "user");
    must(st->ops->user_by_id(st, user_ids[FUZZ_ALICE], &u) == SRV_OK, "alice");
    /* The fixture group has no chat extensions, so group.create would
     * refuse its GroupInfo: the store gets the group and its public view
     * directly, and commits reach the view's checks. */
    a = fuzz_fixture_group(&fx, FUZZ_ALICE);
    must(a && mls_public_group_from_group(a, &pg) == MLS_OK &&
             mls_public_group_serialize(pg, &view) == MLS_OK,
         "view");
    must(st->ops->group_create(st, "lobby", mls_group_id(a), mls_group_epoch(a), u.id,
                               srv_time(), &ref) == SRV_OK &&
             st->ops->member_add(st, ref, u.id, SRV_ROLE_ADMIN, 0) == SRV_OK &&
             st->ops->group_set_view(st, ref, mls_buf_view(&view)) == SRV_OK &&
             st->ops->group_by_name(st, "lobby", &g) == SRV_OK,
         "group");
    mls_public_group_free(pg);
    mls_group_free(a);
    mls_buf_clear(&view);
    for (int i = FUZZ_BOB; i <= FUZZ_CAROL; i++)
        must(st->ops->member_add(st, g.ref, user_ids[i], SRV_ROLE_MEMBER, 0) == SRV_OK,
             "member");
    must(st->ops->kp_add(st, user_ids[FUZZ_DAVE], mls_buf_view(&fx.kp[FUZZ_DAVE]), 0,
                         FUZZ_NOW + 86400 * 365 * 10, srv_time()) == SRV_OK,
         "KeyPackage");
    must(st->ops->batch_commit(st) == SRV_OK, "commit");
}

/* The two connections, as they are before every input. */
static void reset_conns(void)
{
    memset(&anon, 0, sizeof anon);
    anon.nonce_time = srv_time();
    anon.requests.tokens = 0;
    alice.user_id = user_ids[FUZZ_ALICE];
    snprintf(alice.username, sizeof alice.username, "alice");
    alice.suite = MLS_SUITE_X25519_AES128GCM_SHA256_ED25519;
    alice.nonce_time = 0;
    alice.prev = alice.next = NULL;
    server.conns = &alice;
    server.n_conns = 1;
}

/* ------------------------------------------------------------ seeds */

static void seed_json(const char *name, uint8_t mode, const char *json)
{
    fuzz_seed(name, &mode, 1, mls_bytes_of((const uint8_t *)json, strlen(json)));
}

static char *b64(mls_bytes b)
{
    char *t = chat_b64_encode(b.p, b.n);
    must(t != NULL, "base64");
    return t;
}

static void write_seeds(void)
{
    static const uint8_t m_hdr = 2, m_kp = 3, m_welcome = 4, m_gi = 5;
    mls_group *a = fuzz_fixture_group(&fx, FUZZ_ALICE);
    mls_staged_commit *sc = NULL;
    mls_buf app, kp, bundle;
    mls_bytes dave = mls_buf_view(&fx.kp[FUZZ_DAVE]);
    char *t_app, *t_kp, *t_commit, *t_welcome, *t_gi;
    char buf[65536];
    mls_key_package_options kp_opt;

    memset(&kp_opt, 0, sizeof kp_opt);
    kp_opt.lifetime_seconds = 100ull * 365 * 86400;
    mls_buf_init(&app);
    mls_buf_init(&kp);
    mls_buf_init(&bundle);
    must(mls_group_protect(a, mls_bytes_of(NULL, 0), mls_bytes_of((const uint8_t *)"hi", 2),
                           &app) == MLS_OK,
         "protect");
    /* The server checks lifetimes against its clock, not FUZZ_NOW. */
    must(mls_key_package_create(fx.id[FUZZ_ALICE], fuzz_env(), &kp_opt, &kp, &bundle) == MLS_OK,
         "KeyPackage");
    must(mls_group_add_members(a, &dave, 1, &sc) == MLS_OK, "commit");
    t_app = b64(mls_buf_view(&app));
    t_kp = b64(mls_buf_view(&kp));
    t_commit = b64(mls_staged_commit_message(sc));
    t_welcome = b64(mls_staged_commit_welcome(sc));
    t_gi = b64(mls_staged_commit_group_info(sc));

    seed_json("register", 0,
              "{\"id\":1,\"type\":\"register\",\"username\":\"eve\",\"cipher_suite\":1,"
              "\"signature_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\","
              "\"signature\":\"AAAA\",\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\","
              "\"timestamp\":1700000000}");
    seed_json("login", 0,
              "{\"id\":2,\"type\":\"login\",\"username\":\"alice\",\"signature\":\"AAAA\","
              "\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"timestamp\":1}");
    seed_json("ping", 0, "{\"id\":3,\"type\":\"ping\"}");
    seed_json("lookup", 0, "{\"id\":4,\"type\":\"user.lookup\",\"username\":\"bob\"}");
    seed_json("lookup-id", 1, "{\"id\":4,\"type\":\"user.lookup\",\"user_id\":2}");
    seed_json("rename", 1, "{\"id\":5,\"type\":\"user.rename\",\"username\":\"alicia\"}");
    seed_json("kp-count", 1, "{\"id\":6,\"type\":\"kp.count\"}");
    seed_json("kp-claim", 1, "{\"id\":7,\"type\":\"kp.claim\",\"username\":\"dave\"}");
    seed_json("group-create", 1,
              "{\"id\":8,\"type\":\"group.create\",\"name\":\"new\",\"group_id\":\"Z2lk\","
              "\"epoch\":0}");
    seed_json("group-info", 1, "{\"id\":9,\"type\":\"group.info\",\"name\":\"lobby\"}");
    seed_json("group-info-gid", 1,
              "{\"id\":9,\"type\":\"group.info\",\"group_id\":\"ZnV6ei1ncm91cA==\"}");
    seed_json("group-list", 1, "{\"id\":10,\"type\":\"group.list\"}");
    seed_json("log-fetch", 1,
              "{\"id\":11,\"type\":\"log.fetch\",\"group\":\"lobby\",\"after\":0,\"limit\":5}");
    seed_json("inbox-fetch", 1, "{\"id\":12,\"type\":\"inbox.fetch\"}");
    seed_json("inbox-ack", 1, "{\"id\":13,\"type\":\"inbox.ack\",\"ids\":[1,2]}");
    snprintf(buf, sizeof buf,
             "{\"id\":14,\"type\":\"kp.upload\",\"key_packages\":[\"%s\"],\"last_resort\":false}",
             t_kp);
    seed_json("kp-upload", 1, buf);
    snprintf(buf, sizeof buf,
             "{\"id\":15,\"type\":\"group.send\",\"group\":\"lobby\",\"message\":\"%s\","
             "\"msg_id\":\"AQI=\"}",
             t_app);
    seed_json("group-send", 1, buf);
    snprintf(buf, sizeof buf,
             "{\"id\":16,\"type\":\"group.commit\",\"group\":\"lobby\",\"epoch\":1,"
             "\"commit\":\"%s\",\"welcomes\":[{\"welcome\":\"%s\",\"recipients\":[\"dave\"]}],"
             "\"group_info\":\"%s\",\"add\":[\"dave\"],\"remove\":[],\"msg_id\":\"AQI=\"}",
             t_commit, t_welcome, t_gi);
    seed_json("group-commit", 1, buf);

    fuzz_seed("header", &m_hdr, 1, mls_buf_view(&app));
    fuzz_seed("header", &m_hdr, 1, mls_staged_commit_message(sc));
    fuzz_seed("kp", &m_kp, 1, mls_buf_view(&kp));
    fuzz_seed("welcome", &m_welcome, 1, mls_staged_commit_welcome(sc));
    fuzz_seed("group-info", &m_gi, 1, mls_staged_commit_group_info(sc));

    free(t_app);
    free(t_kp);
    free(t_commit);
    free(t_welcome);
    free(t_gi);
    mls_staged_commit_free(sc);
    mls_buf_clear(&app);
    mls_buf_clear(&kp);
    mls_buf_clear(&bundle);
    mls_group_free(a);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    srv_log_set_level(SRV_LOG_ERROR);
    fuzz_fixture_init(&fx);
    server.cfg.max_message = 1 << 20;
    server.cfg.max_connections = 16;
    /* No rate limit: every input must see the same server. */
    server.cfg.rate = server.cfg.user_rate = server.cfg.claim_rate = 1e12;
    server.cfg.retention = server.cfg.kp_ttl = 2592000;
    srv_store *st = NULL;
    must(srv_store_sqlite_open(":memory:", &st) == SRV_OK, "store");
    srv_handlers_init(&server, st);
    setup_store();
    alice.ustate = srv_user_state_get(&server, user_ids[FUZZ_ALICE]);
    srv_user_link(&alice);
    if (fuzz_writing_seeds())
        write_seeds();
    return 0;
}

/* ------------------------------------------------------------ the target */

static void request(srv_conn *c, const uint8_t *text, size_t len)
{
    srv_handle_message(&server, c, (const char *)text, len);
    if (getenv("MLS_FUZZ_VERBOSE"))
        for (srv_held *h = server.held_head; h; h = h->next)
            fprintf(stderr, "%.200s\n", h->text ? h->text : "(no text)");
    /* Drop the output (there is no socket) and undo the batch. */
    srv_hold_forget(&server, &anon);
    srv_hold_forget(&server, &alice);
    if (server.in_batch) {
        if (srv_logic_batch_rollback(&server.logic))
            abort();
        server.in_batch = 0;
    }
    srv_batch_end(&server);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mls_bytes in;
    srv_mls_header h;
    const char *why = NULL;

    if (size < 1)
        return 0;
    in = mls_bytes_of(data + 1, size - 1);
    reset_conns();
    switch (data[0] % 6) {
    case 0:
        request(&anon, in.p, in.n);
        break;
    case 1:
        request(&alice, in.p, in.n);
        break;
    case 2:
        (void)srv_mls_read_header(in, &h, &why);
        break;
    case 3: {
        srv_kp_expect x = {MLS_SUITE_X25519_AES128GCM_SHA256_ED25519,
                           mls_identity_signature_key(fx.id[FUZZ_ALICE]), "alice", FUZZ_NOW};
        srv_kp_info info;
        if (srv_kp_validate(in, &x, &info, &why) == 0 && info.key_package.n &&
            (info.key_package.p < in.p || info.key_package.p + info.key_package.n > in.p + in.n))
            abort();
        break;
    }
    case 4:
        (void)srv_mls_check_welcome(in, &why);
        break;
    default:
        (void)srv_mls_check_group_info(in, &h, &why);
        break;
    }
    return 0;
}
