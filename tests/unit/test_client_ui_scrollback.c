/* The curses UI's per-group scrollback (src/client/ui_scrollback.h):
 * bounds, the merge of a replayed history with the lines kept, the
 * "new since you left" marker. */
#include "test.h"
#include "ui.h"
#include "ui_scrollback.h"

static int line_is(const struct ui_sb_group *g, size_t i, int kind, const char *text)
{
    return i < g->n && g->l[i].kind == kind && strcmp(g->l[i].text, text) == 0;
}

static void test_bounds(void)
{
    struct ui_sb sb;
    struct ui_sb_group *g, *first;
    size_t i;
    char name[16];

    ui_sb_init(&sb);
    g = ui_sb_get(&sb, "lobby", 1);
    CHECK(g && ui_sb_get(&sb, "lobby", 0) == g && ui_sb_get(&sb, "none", 0) == NULL);
    for (i = 0; i <= UI_SB_LINES; i++) {
        snprintf(name, sizeof name, "%zu", i);
        CHECK_OK(ui_sb_add(g, CLI_LINE_MESSAGE, (int64_t)i, "bob", name));
    }
    /* Full: the oldest tenth went at once. */
    CHECK(g->n == UI_SB_LINES - UI_SB_LINES / 10 + 1);
    CHECK(strcmp(g->l[g->n - 1].text, "5000") == 0);
    CHECK(strcmp(g->l[0].text, "500") == 0);

    /* At most UI_SB_GROUPS buffers; the one on screen stays. */
    first = g;
    sb.keep = first;
    for (i = 0; i < UI_SB_GROUPS + 5; i++) {
        snprintf(name, sizeof name, "g%zu", i);
        ui_sb_touch(&sb, ui_sb_get(&sb, name, 1));
    }
    CHECK(sb.n == UI_SB_GROUPS);
    CHECK(ui_sb_get(&sb, "lobby", 0) == first);
    CHECK(ui_sb_get(&sb, "g0", 0) == NULL);
    ui_sb_clear(&sb);
    ui_sb_clear(&sb);
}

static void test_merge_first_visit(void)
{
    struct ui_sb_group g, r;
    ui_sb_group_init(&g);
    ui_sb_group_init(&r);
    ui_sb_add(&r, CLI_LINE_SYSTEM, 5, NULL, "you joined #g");
    ui_sb_add(&r, CLI_LINE_MESSAGE, 10, "bob", "one");
    ui_sb_add(&r, CLI_LINE_OWN, 11, "alice", "two");
    ui_sb_add(&r, CLI_LINE_MESSAGE, 12, "bob", "three");
    ui_sb_merge(&g, &r, 2);
    CHECK(g.n == 5 && r.n == 0);
    CHECK(line_is(&g, 0, CLI_LINE_SYSTEM, "you joined #g"));
    CHECK(line_is(&g, 1, CLI_LINE_MESSAGE, "one"));
    CHECK(line_is(&g, 2, UI_LINE_MARKER, "new since you left"));
    CHECK(line_is(&g, 3, CLI_LINE_OWN, "two"));
    CHECK(line_is(&g, 4, CLI_LINE_MESSAGE, "three"));
    /* Switching in again with nothing new: the old marker goes. */
    ui_sb_add(&r, CLI_LINE_MESSAGE, 10, "bob", "one");
    ui_sb_add(&r, CLI_LINE_OWN, 11, "alice", "two");
    ui_sb_add(&r, CLI_LINE_MESSAGE, 12, "bob", "three");
    ui_sb_merge(&g, &r, 0);
    CHECK(g.n == 4);
    CHECK(line_is(&g, 0, CLI_LINE_SYSTEM, "you joined #g"));
    CHECK(line_is(&g, 3, CLI_LINE_MESSAGE, "three"));
    ui_sb_group_clear(&g);
    ui_sb_group_clear(&r);
}

static void test_merge_back(void)
{
    struct ui_sb_group g, r;
    ui_sb_group_init(&g);
    ui_sb_group_init(&r);
    /* What the buffer held when the user switched away. */
    ui_sb_add(&g, CLI_LINE_MESSAGE, 5, "bob", "m0");
    ui_sb_add(&g, CLI_LINE_MESSAGE, 10, "bob", "m1");
    ui_sb_add(&g, CLI_LINE_SYSTEM, 20, NULL, "members of #g (2):");
    ui_sb_add(&g, CLI_LINE_MESSAGE, 30, "bob", "m2");
    /* A notice that arrived while away (kept in the buffer). */
    ui_sb_add(&g, CLI_LINE_SYSTEM, 45, NULL, "bob updated their keys in #g (epoch 3)");
    /* The replay: the last stored lines, with m3 new and the same notice
     * as stored in history (its log time). */
    ui_sb_add(&r, CLI_LINE_MESSAGE, 10, "bob", "m1");
    ui_sb_add(&r, CLI_LINE_MESSAGE, 30, "bob", "m2");
    ui_sb_add(&r, CLI_LINE_MESSAGE, 40, "bob", "m3");
    ui_sb_add(&r, CLI_LINE_SYSTEM, 44, NULL, "bob updated their keys in #g (epoch 3)");
    ui_sb_merge(&g, &r, 1);
    CHECK(g.n == 7);
    CHECK(line_is(&g, 0, CLI_LINE_MESSAGE, "m0"));
    CHECK(line_is(&g, 1, CLI_LINE_MESSAGE, "m1"));
    CHECK(line_is(&g, 2, CLI_LINE_SYSTEM, "members of #g (2):"));
    CHECK(line_is(&g, 3, CLI_LINE_MESSAGE, "m2"));
    CHECK(line_is(&g, 4, UI_LINE_MARKER, "new since you left"));
    CHECK(line_is(&g, 5, CLI_LINE_MESSAGE, "m3"));
    CHECK(line_is(&g, 6, CLI_LINE_SYSTEM, "bob updated their keys in #g (epoch 3)"));
    /* An empty replay keeps everything. */
    ui_sb_merge(&g, &r, 0);
    CHECK(g.n == 6 && line_is(&g, 5, CLI_LINE_SYSTEM, "bob updated their keys in #g (epoch 3)"));
    ui_sb_group_clear(&g);
    ui_sb_group_clear(&r);
}

/* Lines of the same second keep the order they arrived in: what the user
 * saw before leaving, then what came while away. */
static void test_merge_same_second(void)
{
    struct ui_sb_group g, r;
    ui_sb_group_init(&g);
    ui_sb_group_init(&r);
    ui_sb_add(&g, CLI_LINE_MESSAGE, 10, "bob", "m1");
    ui_sb_add(&g, CLI_LINE_SYSTEM, 20, NULL, "commands:");
    ui_sb_add(&g, CLI_LINE_SYSTEM, 20, NULL, "joining #second ...");
    ui_sb_add(&r, CLI_LINE_MESSAGE, 9, "bob", "m0");
    ui_sb_add(&r, CLI_LINE_MESSAGE, 10, "bob", "m1");
    ui_sb_add(&r, CLI_LINE_MESSAGE, 20, "carol", "unread one");
    ui_sb_merge(&g, &r, 1);
    CHECK(g.n == 5);
    CHECK(line_is(&g, 0, CLI_LINE_MESSAGE, "m1"));
    CHECK(line_is(&g, 2, CLI_LINE_SYSTEM, "joining #second ..."));
    CHECK(line_is(&g, 3, UI_LINE_MARKER, "new since you left"));
    CHECK(line_is(&g, 4, CLI_LINE_MESSAGE, "unread one"));
    ui_sb_group_clear(&g);
    ui_sb_group_clear(&r);
}

int main(void)
{
    test_bounds();
    test_merge_first_visit();
    test_merge_back();
    test_merge_same_second();
    TEST_MAIN_END("test_client_ui_scrollback");
}
