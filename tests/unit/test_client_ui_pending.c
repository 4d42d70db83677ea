/* The curses UI's own messages on their way out (src/client/ui_pending.h):
 * sending, sent, back from the log, refused. */
#include "session.h"
#include "test.h"
#include "ui.h"
#include "ui_pending.h"
#include "ui_scrollback.h"

static void test_states(void)
{
    struct ui_pending p;
    struct ui_sb sb;
    struct ui_sb_group *g;
    const struct ui_sb_line *l;

    ui_pending_init(&p);
    ui_sb_init(&sb);
    CHECK(ui_pending_event(&p, &sb, "alice", "lobby", 7, CLI_OUT_SENDING, "hi", NULL, 100) == 1);
    CHECK(ui_pending_event(&p, &sb, "alice", "lobby", 8, CLI_OUT_SENDING, "again", NULL, 101) ==
          1);
    CHECK(ui_pending_event(&p, &sb, "alice", "dev", 7, CLI_OUT_SENDING, "there", NULL, 102) == 1);
    /* The same id twice is one line. */
    CHECK(ui_pending_event(&p, &sb, "alice", "lobby", 7, CLI_OUT_SENDING, "hi", NULL, 100) == 0);
    CHECK(ui_pending_count(&p, "lobby") == 2 && ui_pending_count(&p, "dev") == 1);
    l = ui_pending_line(&p, "lobby", 0);
    CHECK(l && l->kind == CLI_LINE_OWN && strcmp(l->sender, "alice") == 0 &&
          strcmp(l->text, "hi  (sending)") == 0 && l->time == 100);
    CHECK(ui_pending_line(&p, "lobby", 2) == NULL);

    /* The server has it. */
    CHECK(ui_pending_event(&p, &sb, "alice", "lobby", 7, CLI_OUT_SENT, NULL, NULL, 103) == 1);
    l = ui_pending_line(&p, "lobby", 0);
    CHECK(l && strcmp(l->text, "hi  (sent)") == 0);

    /* Back from the log: it leaves (the log's line takes its place). */
    CHECK(ui_pending_event(&p, &sb, "alice", "lobby", 7, CLI_OUT_DONE, NULL, NULL, 104) == 1);
    CHECK(ui_pending_count(&p, "lobby") == 1);
    l = ui_pending_line(&p, "lobby", 0);
    CHECK(l && strcmp(l->text, "again  (sending)") == 0);

    /* Refused for good: an error line in the group's scrollback. */
    CHECK(ui_pending_event(&p, &sb, "alice", "lobby", 8, CLI_OUT_FAILED, NULL, "too large",
                           105) == 1);
    CHECK(ui_pending_count(&p, "lobby") == 0 && ui_pending_count(&p, "dev") == 1);
    g = ui_sb_get(&sb, "lobby", 0);
    CHECK(g && g->n == 1 && g->l[0].kind == CLI_LINE_ERROR &&
          strcmp(g->l[0].text, "not sent (too large): again") == 0);
    /* Unknown ids change nothing. */
    CHECK(ui_pending_event(&p, &sb, "alice", "lobby", 99, CLI_OUT_DONE, NULL, NULL, 106) == 0);
    ui_pending_clear(&p);
    ui_pending_clear(&p);
    ui_sb_clear(&sb);
}

int main(void)
{
    test_states();
    TEST_MAIN_END("test_client_ui_pending");
}
