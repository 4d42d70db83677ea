/* Pages of stored history above the curses scrollback
 * (src/client/ui_archive.h): order, row ids, the bound and the gap. */
#include <stdio.h>

#include "test.h"
#include "ui_archive.h"

/* A page of rows [from, to] as the database would give it. */
static size_t page(struct ui_archive *a, int older, int64_t from, int64_t to, int limit)
{
    char text[32];
    int64_t id;
    int n = 0;
    for (id = from; id <= to; id++, n++) {
        snprintf(text, sizeof text, "line %lld", (long long)id);
        CHECK(ui_archive_take(a, id, 1, id, "alice", text) == 0);
    }
    return ui_archive_put(a, older, n ? from : 0, n ? to : 0, n, limit);
}

static void test_up_and_down(void)
{
    struct ui_archive a;
    size_t i;
    ui_archive_init(&a);
    /* Rows 1..1500 stored; the replay began at 1301: pages go up. */
    CHECK(page(&a, 1, 1101, 1300, UI_ARCHIVE_PAGE) == 0);
    CHECK(a.n == 200 && a.lo == 1101 && a.hi == 1300 && !a.top_done && !a.below_gap);
    for (i = 0; i < 4; i++)
        CHECK(page(&a, 1, a.lo - 200, a.lo - 1, UI_ARCHIVE_PAGE) == 0);
    CHECK(a.n == UI_ARCHIVE_LINES && a.lo == 301 && a.hi == 1300);
    /* One more: 200 lines go at the bottom, a gap is left there. */
    CHECK(page(&a, 1, 101, 300, UI_ARCHIVE_PAGE) == 200);
    CHECK(a.n == UI_ARCHIVE_LINES && a.lo == 101 && a.hi == 1100 && a.below_gap);
    CHECK(a.id[0] == 101 && a.id[a.n - 1] == 1100);
    CHECK(strcmp(a.l[0].text, "line 101") == 0);
    /* The first page is short: the top of the history. */
    CHECK(page(&a, 1, 1, 100, UI_ARCHIVE_PAGE) == 100);
    CHECK(a.top_done && a.lo == 1 && a.hi == 1000 && strcmp(a.l[0].text, "line 1") == 0);
    /* Down again: the gap fills, the top goes. */
    CHECK(page(&a, 0, 1001, 1200, UI_ARCHIVE_PAGE) == 200);
    CHECK(a.lo == 201 && a.hi == 1200 && !a.top_done && a.below_gap);
    CHECK(page(&a, 0, 1201, 1300, UI_ARCHIVE_PAGE) == 100);
    CHECK(!a.below_gap && a.hi == 1300 && strcmp(a.l[a.n - 1].text, "line 1300") == 0);
    for (i = 1; i < a.n; i++)
        CHECK(a.id[i] == a.id[i - 1] + 1);
    ui_archive_reset(&a);
    CHECK(a.n == 0 && a.lo == 0);
    /* Nothing stored before the replay. */
    CHECK(page(&a, 1, 1, 0, UI_ARCHIVE_PAGE) == 0);
    CHECK(a.top_done && a.n == 0);
    ui_archive_clear(&a);
    ui_archive_clear(&a);
}

int main(void)
{
    test_up_and_down();
    TEST_MAIN_END("test_client_ui_archive");
}
