/* The client's JSON protocol (src/client/protocol.c): requests built as
 * docs/PROTOCOL.md shows them, replies and events parsed, and unknown or
 * malformed replies refused rather than half-read. */
#include <string.h>

#include <jansson.h>

#include "mls/mls.h"
#include "protocol.h"
#include "test.h"

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j)
        fprintf(stderr, "bad test JSON: %s\n", text);
    return j;
}

static const char *S(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void test_errors(void)
{
    int e;
    CHECK(cli_perr_parse("rate_limited") == CLI_PERR_RATE_LIMITED);
    CHECK(cli_perr_parse("stale_epoch") == CLI_PERR_STALE_EPOCH);
    CHECK(cli_perr_parse("internal") == CLI_PERR_INTERNAL);
    CHECK(cli_perr_parse("no_such_code") == CLI_PERR_UNKNOWN);
    CHECK(cli_perr_parse(NULL) == CLI_PERR_UNKNOWN);
    CHECK(cli_perr_parse("ok") == CLI_PERR_UNKNOWN); /* not an error code */
    /* Every server code names itself and parses back. */
    for (e = CLI_PERR_OK + 1; e < CLI_PERR_UNKNOWN; e++)
        CHECK(cli_perr_parse(cli_perr_name((enum cli_perr)e)) == (enum cli_perr)e);
    CHECK(cli_perr_temporary(CLI_PERR_RATE_LIMITED) && cli_perr_temporary(CLI_PERR_INTERNAL));
    CHECK(!cli_perr_temporary(CLI_PERR_WRONG_EPOCH) && !cli_perr_temporary(CLI_PERR_NOT_MEMBER));
}

static void test_reply(void)
{
    struct cli_reply r;
    json_t *j;

    cli_proto_reply(NULL, &r);
    CHECK(!r.ok && r.err == CLI_PERR_DISCONNECTED);

    j = J("{\"id\":3,\"ok\":true,\"seq\":44}");
    cli_proto_reply(j, &r);
    CHECK(r.ok && r.err == CLI_PERR_OK);
    json_decref(j);

    j = J("{\"ok\":false,\"error\":\"rate_limited\",\"message\":\"too many\","
          "\"retry_after\":2}");
    cli_proto_reply(j, &r);
    CHECK(!r.ok && r.err == CLI_PERR_RATE_LIMITED && r.retry_after == 2 &&
          strcmp(r.message, "too many") == 0);
    json_decref(j);

    j = J("{\"ok\":false,\"error\":\"stale_epoch\",\"current_epoch\":7}");
    cli_proto_reply(j, &r);
    CHECK(r.err == CLI_PERR_STALE_EPOCH && r.current_epoch == 7 &&
          strcmp(r.message, "stale_epoch") == 0);
    json_decref(j);

    j = J("{\"ok\":false,\"error\":\"bad_timestamp\",\"server_time\":1732615200,"
          "\"nonce\":\"AAAA\"}");
    cli_proto_reply(j, &r);
    CHECK(r.err == CLI_PERR_BAD_TIMESTAMP && r.server_time == 1732615200 && r.nonce &&
          strcmp(r.nonce, "AAAA") == 0);
    json_decref(j);

    /* Unknown code: refused, with the code as its message. */
    j = J("{\"ok\":false,\"error\":\"brand_new\"}");
    cli_proto_reply(j, &r);
    CHECK(!r.ok && r.err == CLI_PERR_UNKNOWN && strcmp(r.message, "brand_new") == 0);
    json_decref(j);

    /* Malformed replies are never ok. */
    j = J("{\"ok\":\"yes\"}");
    cli_proto_reply(j, &r);
    CHECK(!r.ok && r.err == CLI_PERR_MALFORMED);
    json_decref(j);
    j = J("{\"seq\":1}");
    cli_proto_reply(j, &r);
    CHECK(!r.ok && r.err == CLI_PERR_MALFORMED);
    json_decref(j);
    j = J("[true]");
    cli_proto_reply(j, &r);
    CHECK(!r.ok && r.err == CLI_PERR_MALFORMED);
    json_decref(j);
    j = J("{\"ok\":false}");
    cli_proto_reply(j, &r);
    CHECK(!r.ok && r.err == CLI_PERR_MALFORMED);
    json_decref(j);
    /* A negative retry_after is ignored. */
    j = J("{\"ok\":false,\"error\":\"rate_limited\",\"retry_after\":-5}");
    cli_proto_reply(j, &r);
    CHECK(r.retry_after == 0);
    json_decref(j);
}

static void test_requests(void)
{
    static const uint8_t ct[3] = {1, 2, 3}, gid[2] = {0xff, 0};
    json_t *j, *w;
    mls_buf b;

    j = cli_proto_group_send("lobby", mls_bytes_of(ct, 3), mls_bytes_of(NULL, 0));
    CHECK(j && strcmp(S(j, "type"), "group.send") == 0 && strcmp(S(j, "group"), "lobby") == 0 &&
          strcmp(S(j, "message"), "AQID") == 0 && !json_object_get(j, "msg_id"));
    json_decref(j);
    j = cli_proto_group_send("lobby", mls_bytes_of(ct, 3), mls_bytes_of(gid, 2));
    CHECK(j && strcmp(S(j, "msg_id"), "/wA=") == 0);
    json_decref(j);

    j = cli_proto_log_fetch("lobby", 40, 100);
    CHECK(j && strcmp(S(j, "type"), "log.fetch") == 0 &&
          json_integer_value(json_object_get(j, "after")) == 40 &&
          json_integer_value(json_object_get(j, "limit")) == 100);
    json_decref(j);

    j = cli_proto_group_create("lobby", mls_bytes_of(gid, 2), mls_bytes_of(ct, 1));
    CHECK(j && strcmp(S(j, "type"), "group.create") == 0 && strcmp(S(j, "name"), "lobby") == 0 &&
          strcmp(S(j, "group_id"), "/wA=") == 0 && strcmp(S(j, "group_info"), "AQ==") == 0 &&
          json_integer_value(json_object_get(j, "epoch")) == 0);
    json_decref(j);

    /* A commit that adds: one Welcome for all added users, whom the
     * server finds by its KeyPackageRefs (PROTOCOL.md §7.4). */
    j = cli_proto_group_commit("lobby", 5, mls_bytes_of(ct, 3), mls_bytes_of(ct, 1),
                               mls_bytes_of(ct, 2));
    CHECK(j && strcmp(S(j, "type"), "group.commit") == 0 &&
          json_integer_value(json_object_get(j, "epoch")) == 5 &&
          strcmp(S(j, "commit"), "AQID") == 0 && strcmp(S(j, "group_info"), "AQ==") == 0);
    w = json_array_get(json_object_get(j, "welcomes"), 0);
    CHECK(json_array_size(json_object_get(j, "welcomes")) == 1 && w &&
          strcmp(S(w, "welcome"), "AQI=") == 0 && !json_object_get(w, "recipients") &&
          !json_object_get(j, "add"));
    json_decref(j);

    /* An update or external commit: no Welcome, no roster change, and no
     * group_info field when there is none. */
    j = cli_proto_group_commit("lobby", 5, mls_bytes_of(ct, 3), mls_bytes_of(NULL, 0),
                               mls_bytes_of(NULL, 0));
    CHECK(j && !json_object_get(j, "welcomes") && !json_object_get(j, "add") &&
          !json_object_get(j, "group_info"));
    json_decref(j);

    j = cli_proto_auth(1, "alice", "Tk9OQ0U=", 1732615200, mls_bytes_of(ct, 3), 1,
                       mls_bytes_of(ct, 2));
    CHECK(j && strcmp(S(j, "type"), "register") == 0 &&
          json_integer_value(json_object_get(j, "cipher_suite")) == 1 &&
          strcmp(S(j, "signature_key"), "AQI=") == 0 && strcmp(S(j, "signature"), "AQID") == 0);
    json_decref(j);
    j = cli_proto_auth(0, "alice", "Tk9OQ0U=", 1732615200, mls_bytes_of(ct, 3), 1,
                       mls_bytes_of(ct, 2));
    CHECK(j && strcmp(S(j, "type"), "login") == 0 && !json_object_get(j, "signature_key") &&
          !json_object_get(j, "cipher_suite"));
    json_decref(j);

    j = cli_proto_inbox_ack(3);
    CHECK(j && strcmp(S(j, "type"), "inbox.ack") == 0 &&
          json_integer_value(json_array_get(json_object_get(j, "ids"), 0)) == 3);
    json_decref(j);

    /* PROTOCOL.md §3 AuthContent: action<V> nonce<V> timestamp username<V>
     * suite signature_key<V>. */
    mls_buf_init(&b);
    CHECK(cli_proto_auth_content(0, mls_bytes_of(ct, 2), 0x0102, "al", 1, mls_bytes_of(ct, 1),
                                 &b) == 0);
    {
        static const uint8_t want[] = {5, 'l', 'o', 'g', 'i', 'n', 2, 1, 2, 0, 0, 0, 0,
                                       0, 0, 1, 2, 2, 'a', 'l', 0, 1, 1, 1};
        CHECK(b.n == sizeof want && memcmp(b.p, want, b.n) == 0);
    }
    CHECK(strcmp(cli_proto_auth_label(), "mlschat auth v1") == 0);
    mls_buf_clear(&b);
}

static void test_reply_parsers(void)
{
    json_t *j;
    int64_t v = 0;
    mls_buf b;
    struct cli_kp_count kc;
    struct cli_group_info_reply gi;

    mls_buf_init(&b);
    j = J("{\"ok\":true,\"seq\":44,\"epoch\":6}");
    CHECK(cli_proto_seq_reply(j, &v) == 0 && v == 44);
    json_decref(j);
    j = J("{\"ok\":true,\"seq\":\"44\"}");
    v = 0;
    CHECK(cli_proto_seq_reply(j, &v) == -1 && v == 0);
    json_decref(j);
    j = J("{\"ok\":false,\"seq\":44}");
    CHECK(cli_proto_seq_reply(j, &v) == -1);
    json_decref(j);

    /* kp.claim: the bare KeyPackage comes back as an MLSMessage. */
    j = J("{\"ok\":true,\"key_package\":\"AQID\"}");
    CHECK(cli_proto_kp_claim_reply(j, &b) == 0 && b.n == 7 && b.p[1] == 1 && b.p[3] == 5 &&
          b.p[4] == 1 && b.p[6] == 3);
    json_decref(j);
    j = J("{\"ok\":true,\"key_package\":\"not base64!\"}");
    CHECK(cli_proto_kp_claim_reply(j, &b) == -1);
    json_decref(j);
    j = J("{\"ok\":true}");
    CHECK(cli_proto_kp_claim_reply(j, &b) == -1);
    json_decref(j);

    j = J("{\"ok\":true,\"signature_key\":\"AQID\"}");
    CHECK(cli_proto_user_lookup_reply(j, &b) == 0 && b.n == 3);
    json_decref(j);
    j = J("{\"ok\":true,\"signature_key\":7}");
    CHECK(cli_proto_user_lookup_reply(j, &b) == -1);
    json_decref(j);

    j = J("{\"ok\":true,\"count\":3,\"last_resort\":true,\"low_water\":10}");
    CHECK(cli_proto_kp_count_reply(j, &kc) == 0 && kc.count == 3 && kc.last_resort &&
          kc.low_water == 10);
    json_decref(j);
    j = J("{\"ok\":true,\"count\":\"3\"}");
    CHECK(cli_proto_kp_count_reply(j, &kc) == -1);
    json_decref(j);

    memset(&gi, 0, sizeof gi);
    j = J("{\"ok\":true,\"exists\":true,\"member\":true,\"admin\":\"alice\","
          "\"group_id\":\"AQI=\",\"group_info\":\"AQID\"}");
    CHECK(cli_proto_group_info_reply(j, &gi) == 0 && gi.exists && gi.member &&
          strcmp(gi.admin, "alice") == 0 && gi.has_group_info && gi.group_id.n == 2 &&
          gi.group_info.n == 3);
    json_decref(j);
    j = J("{\"ok\":true,\"exists\":false}");
    CHECK(cli_proto_group_info_reply(j, &gi) == 0 && !gi.exists && !gi.member &&
          !gi.has_group_info);
    json_decref(j);
    j = J("{\"ok\":true,\"exists\":true,\"member\":true,\"group_info\":\"%%%\"}");
    CHECK(cli_proto_group_info_reply(j, &gi) == -1);
    json_decref(j);
    j = J("{\"ok\":true}");
    CHECK(cli_proto_group_info_reply(j, &gi) == -1);
    json_decref(j);
    mls_buf_clear(&gi.group_info);
    mls_buf_clear(&gi.group_id);

    j = J("{\"ok\":true,\"groups\":[{\"name\":\"lobby\"},{\"name\":7}]}");
    CHECK(cli_proto_group_list_count(j) == 2 &&
          strcmp(cli_proto_group_list_name(j, 0), "lobby") == 0 &&
          cli_proto_group_list_name(j, 1) == NULL && cli_proto_group_list_name(j, 2) == NULL);
    json_decref(j);
    j = J("{\"ok\":true,\"last_seq\":0}");
    CHECK(cli_proto_group_create_reply(j, &v) == 0 && v == 0);
    json_decref(j);
    mls_buf_clear(&b);
}

static void test_entries_and_events(void)
{
    json_t *j;
    struct cli_log_entry e;
    struct cli_inbox_entry in;

    memset(&e, 0, sizeof e);
    j = J("{\"ok\":true,\"more\":true,\"entries\":["
          "{\"seq\":44,\"kind\":\"commit\",\"sender\":\"alice\",\"time\":5,"
          "\"message\":\"AQID\",\"add\":[\"carol\",\"dave\"]},"
          "{\"seq\":45,\"kind\":\"message\",\"message\":\"!!\"},"
          "{\"kind\":\"message\",\"message\":\"AQID\"},"
          "{\"seq\":46,\"kind\":\"future\",\"message\":\"AQID\"}]}");
    CHECK(cli_proto_entries_count(j) == 4 && cli_proto_fetch_more(j));
    CHECK(cli_proto_log_entry(cli_proto_entry_at(j, 0), &e) == 0 && e.seq == 44 &&
          e.kind == CLI_LOG_COMMIT && e.time == 5 && strcmp(e.sender, "alice") == 0 &&
          e.message.n == 3 && e.n_added == 2 && strcmp(e.added[1], "dave") == 0 && !e.group);
    /* Malformed message: placed (seq known) but marked for skipping. */
    CHECK(cli_proto_log_entry(cli_proto_entry_at(j, 1), &e) == 0 && e.seq == 45 &&
          e.kind_name == NULL && e.message.n == 0);
    /* No seq: cannot be placed at all. */
    CHECK(cli_proto_log_entry(cli_proto_entry_at(j, 2), &e) == -1);
    /* A kind this client does not know is kept as "other". */
    CHECK(cli_proto_log_entry(cli_proto_entry_at(j, 3), &e) == 0 && e.kind == CLI_LOG_OTHER &&
          strcmp(e.kind_name, "future") == 0);
    json_decref(j);
    j = J("{\"ok\":false,\"error\":\"not_member\",\"entries\":[{\"seq\":1}]}");
    CHECK(cli_proto_entries_count(j) == 0 && !cli_proto_fetch_more(j));
    json_decref(j);

    j = J("{\"event\":\"log\",\"group\":\"lobby\",\"seq\":9,\"kind\":\"message\","
          "\"message\":\"AQID\"}");
    CHECK(cli_proto_event(j) == CLI_EVENT_LOG);
    CHECK(cli_proto_log_entry(j, &e) == 0 && strcmp(e.group, "lobby") == 0 &&
          e.kind == CLI_LOG_MESSAGE);
    json_decref(j);
    mls_buf_clear(&e.message);

    j = J("{\"event\":\"challenge\",\"nonce\":\"AAAA\"}");
    CHECK(cli_proto_event(j) == CLI_EVENT_CHALLENGE &&
          strcmp(cli_proto_challenge_nonce(j), "AAAA") == 0);
    json_decref(j);
    j = J("{\"event\":\"whatever\"}");
    CHECK(cli_proto_event(j) == CLI_EVENT_OTHER);
    json_decref(j);
    j = J("{\"noevent\":1}");
    CHECK(cli_proto_event(j) == CLI_EVENT_OTHER);
    json_decref(j);

    memset(&in, 0, sizeof in);
    j = J("{\"event\":\"inbox\",\"inbox_id\":3,\"group\":\"lobby\",\"group_id\":\"AQI=\","
          "\"seq\":43,\"sender\":\"alice\",\"welcome\":\"AQID\"}");
    CHECK(cli_proto_event(j) == CLI_EVENT_INBOX);
    CHECK(cli_proto_inbox_entry(j, &in) == 0 && in.inbox_id == 3 && in.seq == 43 &&
          strcmp(in.group, "lobby") == 0 && in.welcome.n == 3 && in.group_id.n == 2);
    json_decref(j);
    /* Without a welcome it is refused, but its id is known (to ack it). */
    j = J("{\"inbox_id\":4,\"group\":\"lobby\",\"group_id\":\"AQI=\",\"seq\":43}");
    CHECK(cli_proto_inbox_entry(j, &in) == -1 && in.inbox_id == 4);
    json_decref(j);
    j = J("{\"group\":\"lobby\"}");
    CHECK(cli_proto_inbox_entry(j, &in) == -1 && in.inbox_id == -1);
    json_decref(j);
    mls_buf_clear(&in.welcome);
    mls_buf_clear(&in.group_id);
}

int main(void)
{
    test_errors();
    test_reply();
    test_requests();
    test_reply_parsers();
    test_entries_and_events();
    TEST_MAIN_END("client protocol");
}
