/* Unit tests for src/common/proto.c: the protocol's words (request types,
 * error codes, events) round-trip between enum and string, unknown names
 * are recognised as such, and the lists are exactly, in order, the tables
 * of docs/PROTOCOL.md (read from the top of the tree, where make runs the
 * tests). */
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
    CHECK(n == 18);
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
    /* PROTOCOL.md §8: 38 codes on WebSocket plus two HTTP-only ones. */
    CHECK(n == 40);
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
    CHECK(CHAT_EVENT_COUNT == 5);
    CHECK(strcmp(chat_event_name(CHAT_EVENT_LOG), "log") == 0);
    CHECK(chat_event_from_string("ping") == CHAT_EVENT_UNKNOWN);
    CHECK(chat_event_from_string(NULL) == CHAT_EVENT_UNKNOWN);
    CHECK(chat_event_name(CHAT_EVENT_UNKNOWN) == NULL);
}

/* The first cells of the table rows (lines "| `word` |") after the line
 * starting with `heading`, up to the next heading, compared in order with
 * names(1 .. count-1). */
static void check_doc_table(const char *heading, const char *(*name)(int), int count)
{
    FILE *f = fopen("docs/PROTOCOL.md", "r");
    char line[512];
    int in = 0, i = 1;
    CHECK(f != NULL);
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, heading, strlen(heading)) == 0) {
            in = 1;
            continue;
        }
        if (in && line[0] == '#')
            break;
        if (!in || strncmp(line, "| `", 3) != 0)
            continue;
        char *end = strchr(line + 3, '`');
        if (!end)
            continue;
        *end = 0;
        const char *want = i < count ? name(i) : "(none)";
        if (strcmp(line + 3, want) != 0)
            fprintf(stderr, "PROTOCOL.md %s: row %d is '%s', proto.h has '%s'\n", heading, i,
                    line + 3, want);
        CHECK(strcmp(line + 3, want) == 0);
        i++;
    }
    fclose(f);
    CHECK(in == 1 && i == count);
}

static const char *req_at(int i)
{
    return chat_req_name((enum chat_req)i);
}

static const char *err_at(int i)
{
    return chat_err_name((enum chat_err)i);
}

static void test_kinds_roles(void)
{
    for (int i = CHAT_KIND_UNKNOWN + 1; i < CHAT_KIND_COUNT; i++)
        CHECK(chat_kind_from_string(chat_kind_name((enum chat_kind)i)) == (enum chat_kind)i);
    for (int i = CHAT_ROLE_UNKNOWN + 1; i < CHAT_ROLE_COUNT; i++)
        CHECK(chat_role_from_string(chat_role_name((enum chat_role)i)) == (enum chat_role)i);
    CHECK(strcmp(chat_kind_name(CHAT_KIND_PROPOSAL), "proposal") == 0);
    CHECK(strcmp(chat_role_name(CHAT_ROLE_ADMIN), "admin") == 0);
    CHECK(chat_kind_from_string("Commit") == CHAT_KIND_UNKNOWN);
    CHECK(chat_role_from_string("owner") == CHAT_ROLE_UNKNOWN);
    CHECK(chat_role_from_string(NULL) == CHAT_ROLE_UNKNOWN);
    CHECK(chat_kind_name(CHAT_KIND_COUNT) == NULL);
    for (int i = CHAT_RULE_UNKNOWN + 1; i < CHAT_RULE_COUNT; i++)
        CHECK(chat_rule_from_string(chat_rule_name((enum chat_rule)i)) == (enum chat_rule)i);
    CHECK(strcmp(chat_rule_name(CHAT_RULE_LAST_ADMIN), "last_admin") == 0);
    CHECK(chat_rule_from_string("admin") == CHAT_RULE_UNKNOWN);
    CHECK(chat_rule_name(CHAT_RULE_COUNT) == NULL);
}

static const char *rule_at(int i)
{
    return chat_rule_name((enum chat_rule)i);
}

int main(void)
{
    test_requests();
    test_unknown_requests();
    test_errors();
    test_unknown_errors();
    test_events();
    test_kinds_roles();
    check_doc_table("### Request types", req_at, CHAT_REQ_COUNT);
    check_doc_table("## 8. Errors", err_at, CHAT_ERR_COUNT);
    check_doc_table("#### Validation rules", rule_at, CHAT_RULE_COUNT);
    TEST_MAIN_END("test_common_proto");
}
