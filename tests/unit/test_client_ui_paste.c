/* Bracketed paste collection of the curses UI (src/client/ui_paste.h):
 * newlines in every form, tabs kept, controls dropped, the limit. */
#include "test.h"
#include "ui_paste.h"
#include "util.h"

static size_t paste(struct ui_paste *p, const wchar_t *w)
{
    ui_paste_begin(p);
    for (; *w; w++)
        ui_paste_add(p, *w);
    return ui_paste_end(p);
}

static void test_lines(void)
{
    struct ui_paste p;
    ui_paste_init(&p);
    /* CR (what terminals send), LF and CR LF are one newline each; the
     * newline after the last line is no empty line. */
    CHECK(paste(&p, L"a\rb\nc\r\nd\r") == 4);
    CHECK(strcmp(p.buf, "a\nb\nc\nd") == 0 && !p.active);
    /* Tabs and blank lines kept, other controls dropped. */
    CHECK(paste(&p, L"x\ty\r\r\x1b[31mz\x7f\x9b") == 3);
    CHECK(strcmp(p.buf, "x\ty\n\n[31mz") == 0);
    /* One line: no newline at all. */
    CHECK(paste(&p, L"caf\x00e9 \x4f60") == 1 && strcmp(p.buf, "caf\xc3\xa9 \xe4\xbd\xa0") == 0);
    CHECK(!ui_paste_too_long(&p, CLI_TEXT_MAX));
    /* An empty paste. */
    CHECK(paste(&p, L"") == 1 && p.n == 0);
    ui_paste_clear(&p);
    ui_paste_clear(&p);
}

static void test_limit(void)
{
    struct ui_paste p;
    size_t i;
    ui_paste_init(&p);
    ui_paste_begin(&p);
    for (i = 0; i < CLI_TEXT_MAX + 10; i++)
        ui_paste_add(&p, L'x');
    ui_paste_end(&p);
    /* Kept up to the limit only, and known to be longer: refused whole. */
    CHECK(p.n == CLI_TEXT_MAX && p.total == CLI_TEXT_MAX + 10);
    CHECK(ui_paste_too_long(&p, CLI_TEXT_MAX));
    ui_paste_begin(&p);
    for (i = 0; i < CLI_TEXT_MAX; i++)
        ui_paste_add(&p, L'x');
    ui_paste_end(&p);
    CHECK(!ui_paste_too_long(&p, CLI_TEXT_MAX));
    /* Asked above 10 lines or 2 KB. */
    CHECK(!ui_paste_needs_confirm(10, 2048));
    CHECK(ui_paste_needs_confirm(11, 10) && ui_paste_needs_confirm(2, 2049));
    ui_paste_clear(&p);
}

int main(void)
{
    test_lines();
    test_limit();
    TEST_MAIN_END("test_client_ui_paste");
}
