/* Unit tests for src/common/proto.c: the protocol's words (request types,
 * error codes, events) round-trip between enum and string, unknown names
 * are recognised as such, and the lists hold what PROTOCOL.md promises. */
#include "proto.h"
#include "test.h"

static void test_requests(void)
{
    int n = 0;
    for (int i = CHAT_REQ_UNKNOWN + 1; i < CHAT_REQ_COUNT; i++, n++) {
        const char *name = chat_req_name((enum chat_req)i);
        CHECK(name != NULL && name[0] != 0);
        CHECK(chat_req_from_string(name) == (enum chat_req)i);
        /* Distinct names: no two enums share a string. */
        for (int j = i + 1; j < CHAT_REQ_COUNT; j++)
            CHECK(strcmp(name, chat_req_name((enum chat_req)j)) != 0);
    }
    CHECK(n == 16);
    CHECK(strcmp(chat_req_name(CHAT_REQ_GROUP_COMMIT), "group.commit") == 0);
    CHECK(strcmp(chat_req_name(CHAT_REQ_REGISTER), "register") == 0);
    CHECK(chat_req_from_string("inbox.ack") == CHAT_REQ_INBOX_ACK);
    CHECK(chat_req_name(CHAT_REQ_UNKNOWN) == NULL);
    CHECK(chat_req_name(CHAT_REQ_COUNT) == NULL);
    CHECK(chat_req_name((enum chat_req)-1) == NULL);
}

static void test_unknown_requests(void)
{
    static const char *const bad[] = {"", "Register", "group", "group.", "group.commit ",
                                      "group_commit", "log.fetch\n", "ok", "bad_json"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(chat_req_from_string(bad[i]) == CHAT_REQ_UNKNOWN);
    CHECK(chat_req_from_string(NULL) == CHAT_REQ_UNKNOWN);
}

static void test_errors(void)
{
    int n = 0;
    for (int i = CHAT_ERR_NONE + 1; i < CHAT_ERR_COUNT; i++, n++) {
        const char *name = chat_err_name((enum chat_err)i);
        const char *text = chat_err_text((enum chat_err)i);
        CHECK(name != NULL && name[0] != 0);
        CHECK(text != NULL && text[0] != 0);
        CHECK(chat_err_from_string(name) == (enum chat_err)i);
        for (int j = i + 1; j < CHAT_ERR_COUNT; j++)
            CHECK(strcmp(name, chat_err_name((enum chat_err)j)) != 0);
    }
    /* PROTOCOL.md §8: 33 codes on WebSocket plus two HTTP-only ones. */
    CHECK(n == 35);
    CHECK(strcmp(chat_err_name(CHAT_ERR_STALE_EPOCH), "stale_epoch") == 0);
    CHECK(strcmp(chat_err_name(CHAT_ERR_INTERNAL), "internal") == 0);
    CHECK(strcmp(chat_err_text(CHAT_ERR_INTERNAL), "storage failure; nothing was changed") == 0);
    CHECK(strcmp(chat_err_name(CHAT_ERR_NONE), "ok") == 0);
    CHECK(chat_err_from_string("ok") == CHAT_ERR_NONE);
    CHECK(chat_err_name(CHAT_ERR_COUNT) == NULL);
    CHECK(chat_err_text(CHAT_ERR_COUNT) == NULL);
}

/* An unknown code must never read as success (a newer server's code). */
static void test_unknown_errors(void)
{
    static const char *const bad[] = {"", "OK", "stale-epoch", "Stale_epoch", "internal ",
                                      "group.send", "none"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(chat_err_from_string(bad[i]) == CHAT_ERR_COUNT);
    CHECK(chat_err_from_string(NULL) == CHAT_ERR_COUNT);
}

static void test_events(void)
{
    for (int i = CHAT_EVENT_UNKNOWN + 1; i < CHAT_EVENT_COUNT; i++)
        CHECK(chat_event_from_string(chat_event_name((enum chat_event)i)) == (enum chat_event)i);
    CHECK(CHAT_EVENT_COUNT == 4);
    CHECK(strcmp(chat_event_name(CHAT_EVENT_LOG), "log") == 0);
    CHECK(chat_event_from_string("ping") == CHAT_EVENT_UNKNOWN);
    CHECK(chat_event_from_string(NULL) == CHAT_EVENT_UNKNOWN);
    CHECK(chat_event_name(CHAT_EVENT_UNKNOWN) == NULL);
}

int main(void)
{
    test_requests();
    test_unknown_requests();
    test_errors();
    test_unknown_errors();
    test_events();
    TEST_MAIN_END("test_common_proto");
}
