/* Unit tests for src/common/names.c: PROTOCOL.md §2 name rules. */
#include "names.h"
#include "test.h"

static void test_rules(void)
{
    static const char *const good[] = {"a", "0", "alice", "bob_2", "x-y.z", "9lives", "a..", "a_"};
    static const char *const bad[] = {"",    "_a",  "-a",       ".a", "Alice",
                                      "a b", "a/b", "\xc3\xa9", "a\n"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK(chat_valid_name(good[i], CHAT_USERNAME_MAX) == 1);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(chat_valid_name(bad[i], CHAT_GROUPNAME_MAX) == 0);
}

/* Exactly max characters pass, max + 1 do not. */
static void test_lengths(void)
{
    static const size_t maxes[] = {CHAT_USERNAME_MAX, CHAT_GROUPNAME_MAX};
    char s[CHAT_GROUPNAME_MAX + 2];
    for (size_t i = 0; i < sizeof maxes / sizeof maxes[0]; i++) {
        memset(s, 'a', sizeof s);
        s[maxes[i]] = 0;
        CHECK(chat_valid_name(s, maxes[i]) == 1);
        s[maxes[i]] = 'a';
        s[maxes[i] + 1] = 0;
        CHECK(chat_valid_name(s, maxes[i]) == 0);
    }
}

int main(void)
{
    test_rules();
    test_lengths();
    TEST_MAIN_END("test_common_names");
}
