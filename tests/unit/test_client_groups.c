/* The group phase machine (src/client/groups.c): the transition table
 * of core.h, each allowed transition and each refused one, and the
 * status each phase is saved as. */
#include <string.h>

#include "core.h"
#include "test.h"

static void test_table(void)
{
    /* The table of core.h, row by row: 1 where a transition is allowed. */
    static const int want[CLI_PHASE_COUNT][CLI_PHASE_COUNT] = {
        /*             new cre cat mem com rej stu rem ref */
        /* new */      {1,  1,  1,  0,  0,  1,  0,  1,  1},
        /* creating */ {0,  1,  1,  1,  0,  0,  0,  0,  0},
        /* catching */ {0,  1,  1,  1,  1,  1,  0,  1,  1},
        /* member */   {0,  0,  1,  1,  1,  1,  0,  1,  1},
        /* commit */   {0,  0,  1,  1,  1,  1,  0,  1,  1},
        /* rejoin */   {0,  0,  1,  0,  0,  1,  1,  1,  0},
        /* stuck */    {0,  0,  0,  0,  0,  0,  1,  0,  0},
        /* removed */  {0,  0,  0,  0,  0,  0,  0,  1,  0},
        /* refused */  {0,  0,  0,  0,  0,  0,  0,  0,  1},
    };
    int f, t;
    for (f = 0; f < CLI_PHASE_COUNT; f++)
        for (t = 0; t < CLI_PHASE_COUNT; t++)
            if (cli_phase_allowed((enum cli_phase)f, (enum cli_phase)t) != want[f][t]) {
                fprintf(stderr, "%s -> %s\n", cli_phase_name((enum cli_phase)f),
                        cli_phase_name((enum cli_phase)t));
                CHECK(0);
            } else {
                CHECK(1);
            }
    CHECK(!cli_phase_allowed((enum cli_phase)CLI_PHASE_COUNT, CLI_PHASE_MEMBER));
    CHECK(!cli_phase_allowed(CLI_PHASE_MEMBER, (enum cli_phase)CLI_PHASE_COUNT));
}

static void test_status(void)
{
    CHECK(cli_phase_status(CLI_PHASE_CREATING) == CLI_GROUP_JOINED);
    CHECK(cli_phase_status(CLI_PHASE_CATCHING_UP) == CLI_GROUP_JOINED);
    CHECK(cli_phase_status(CLI_PHASE_MEMBER) == CLI_GROUP_JOINED);
    CHECK(cli_phase_status(CLI_PHASE_COMMITTING) == CLI_GROUP_JOINED);
    CHECK(cli_phase_status(CLI_PHASE_REJOINING) == CLI_GROUP_BROKEN);
    CHECK(cli_phase_status(CLI_PHASE_STUCK) == CLI_GROUP_BROKEN);
    CHECK(cli_phase_status(CLI_PHASE_REMOVED) == CLI_GROUP_REMOVED);
    CHECK(cli_phase_status(CLI_PHASE_REFUSED) == CLI_GROUP_REFUSED);
}

static void test_set(void)
{
    struct cli_grp g;
    memset(&g, 0, sizeof g);
    snprintf(g.rec.name, sizeof g.rec.name, "lobby");
    CHECK(g.phase == CLI_PHASE_NEW);
    CHECK(cli_phase_set(&g, CLI_PHASE_MEMBER) == -1 && g.phase == CLI_PHASE_NEW);
    CHECK(cli_phase_set(&g, CLI_PHASE_CREATING) == 0 && g.rec.status == CLI_GROUP_JOINED);
    CHECK(cli_phase_set(&g, CLI_PHASE_CATCHING_UP) == 0);
    CHECK(!cli_grp_synced(&g));
    CHECK(cli_phase_set(&g, CLI_PHASE_MEMBER) == 0 && cli_grp_synced(&g));
    CHECK(cli_phase_set(&g, CLI_PHASE_COMMITTING) == 0 && cli_grp_synced(&g));
    /* Settling our commit clears the pending pair and ends COMMITTING. */
    cli_grp_commit_settled(&g);
    CHECK(g.phase == CLI_PHASE_MEMBER && g.rec.pending_commit.n == 0);
    CHECK(cli_phase_set(&g, CLI_PHASE_REJOINING) == 0 && g.rec.status == CLI_GROUP_BROKEN);
    CHECK(cli_phase_set(&g, CLI_PHASE_MEMBER) == -1 && g.phase == CLI_PHASE_REJOINING);
    CHECK(cli_phase_set(&g, CLI_PHASE_STUCK) == 0);
    CHECK(cli_phase_set(&g, CLI_PHASE_REJOINING) == -1 && g.phase == CLI_PHASE_STUCK);
    /* Without an MLS state no phase is active. */
    CHECK(!cli_grp_active(&g));
}

int main(void)
{
    test_table();
    test_status();
    test_set();
    TEST_MAIN_END("client groups");
}
