/* Grapheme cells, widths, cluster boundaries and wrapping of the curses
 * UI (src/client/ui_text.h), in a UTF-8 locale as the client runs. */
#include <locale.h>

#include "test.h"
#include "ui_text.h"

static void test_cells(void)
{
    struct ui_cells v;
    memset(&v, 0, sizeof v);

    /* e + U+0301: one cell of two characters. */
    ui_cells_add_utf8(&v, "cafe\xcc\x81", 0);
    CHECK(v.n == 4);
    CHECK(v.c[3].wc[0] == L'e' && v.c[3].wc[1] == 0x301 && v.c[3].wc[2] == 0);
    CHECK(ui_cells_width(&v, 0, v.n) == 4);

    /* नमस्ते: न म स+् त+े, four cells (the virama and the vowel sign sit
     * on their consonants). */
    ui_cells_reset(&v);
    ui_cells_add_utf8(&v, "\xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa5\x87", 0);
    CHECK(v.n == 4);
    CHECK(v.c[2].wc[0] == 0x938 && v.c[2].wc[1] == 0x94D);
    CHECK(v.c[3].wc[0] == 0x924 && v.c[3].wc[1] == 0x947);

    /* Thai: สวัสดี -> ส ว+ั ส ด+ี */
    ui_cells_reset(&v);
    ui_cells_add_utf8(&v, "\xe0\xb8\xaa\xe0\xb8\xa7\xe0\xb8\xb1\xe0\xb8\xaa\xe0\xb8\x94\xe0\xb8\xb5", 0);
    CHECK(v.n == 4 && v.c[1].wc[1] == 0xE31 && v.c[3].wc[1] == 0xE35);

    /* Wide characters take two columns. */
    ui_cells_reset(&v);
    ui_cells_add_utf8(&v, "\xe4\xbd\xa0\xe5\xa5\xbd", 0);
    CHECK(v.n == 2 && v.c[0].width == 2 && ui_cells_width(&v, 0, 2) == 4);

    /* A mark with nothing before it gets a dotted circle; pieces added
     * separately never join. */
    ui_cells_reset(&v);
    ui_cells_add_utf8(&v, "x", 0);
    ui_cells_add_utf8(&v, "\xcc\x81", 1);
    CHECK(v.n == 2 && v.c[1].wc[0] == 0x25CC && v.c[1].wc[1] == 0x301 && v.c[1].style == 1);

    /* Bidi and invisible characters are drawn as U+FFFD, not sent. */
    ui_cells_reset(&v);
    ui_cells_add_utf8(&v, "a\xe2\x80\xae" "b\xe2\x80\x8b", 0);
    CHECK(v.n == 4 && v.c[1].wc[0] == 0xFFFD && v.c[1].wc[1] == 0 && v.c[3].wc[0] == 0xFFFD);

    /* More marks than a cchar_t holds: the first ones are kept. */
    ui_cells_reset(&v);
    ui_cells_add_utf8(&v, "a\xcc\x81\xcc\x82\xcc\x83\xcc\x84\xcc\x85\xcc\x86", 0);
    CHECK(v.n == 1 && v.c[0].wc[UI_CELL_CHARS - 1] == 0x304 && v.c[0].wc[UI_CELL_CHARS] == 0);

    /* ZWJ sequences: the joiner stays with the emoji before it. */
    ui_cells_reset(&v);
    ui_cells_add_utf8(&v, "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9", 0);
    CHECK(v.n == 2 && v.c[0].wc[1] == 0x200D && v.c[1].wc[0] == 0x1F469);

    /* Code points to cells (the input line). */
    {
        const wchar_t w[] = {L'n', 0x938, 0x94D, L'x'};
        size_t map[5];
        ui_cells_reset(&v);
        ui_cells_add_wcs(&v, w, 4, 0, map);
        CHECK(v.n == 3 && map[0] == 0 && map[1] == 1 && map[2] == 1 && map[3] == 2 &&
              map[4] == 3);
    }
    ui_cells_free(&v);
    ui_cells_free(&v);
}

static void test_clusters(void)
{
    const wchar_t w[] = {L'e', 0x301, L'x', 0x938, 0x94D, 0x924};
    CHECK(ui_cluster_next(w, 6, 0) == 2);
    CHECK(ui_cluster_next(w, 6, 2) == 3);
    CHECK(ui_cluster_next(w, 6, 3) == 5);
    CHECK(ui_cluster_next(w, 6, 6) == 6);
    CHECK(ui_cluster_prev(w, 6, 6) == 5);
    CHECK(ui_cluster_prev(w, 6, 5) == 3);
    CHECK(ui_cluster_prev(w, 6, 2) == 0);
    CHECK(ui_cluster_prev(w, 6, 0) == 0);
    CHECK(ui_cp_attaches(0x301) && ui_cp_attaches(0x200D) && !ui_cp_attaches(L'a'));
    CHECK(!ui_cp_attaches(0x202E)); /* shown as U+FFFD: a cell of its own */
}

static size_t wrap(const char *s, int cols, int indent, size_t min_break, size_t *starts)
{
    struct ui_cells v;
    size_t rows;
    memset(&v, 0, sizeof v);
    ui_cells_add_utf8(&v, s, 0);
    rows = ui_wrap(&v, cols, indent, min_break, starts);
    ui_cells_free(&v);
    return rows;
}

static void test_wrap(void)
{
    size_t st[32];
    /* At a space; the space at the edge goes with the break. */
    CHECK(wrap("aaa bbb ccc", 7, 0, 0, st) == 2 && st[1] == 8);
    CHECK(wrap("aaa bbb ccc", 9, 0, 0, st) == 2 && st[1] == 8);
    CHECK(wrap("aaa bbb ccc", 11, 0, 0, st) == 1);
    /* No space: cut at the width; continuation rows indented. */
    CHECK(wrap("abcdefgh", 3, 0, 0, st) == 3 && st[1] == 3 && st[2] == 6);
    CHECK(wrap("abcdefgh", 4, 1, 0, st) == 3 && st[1] == 4 && st[2] == 7);
    /* An indent over half the width is dropped. */
    CHECK(ui_wrap_indent(10, 6) == 0 && ui_wrap_indent(10, 5) == 5);
    /* Not inside the prefix: "ab: " is cells 0-3, the text starts at 4. */
    CHECK(wrap("ab: xxxxxxxx", 6, 0, 4, st) == 2 && st[1] == 6);
    /* A wide character is never split: it moves to the next row. */
    CHECK(wrap("ab\xe4\xbd\xa0", 3, 0, 0, st) == 2 && st[1] == 2);
    /* A combining mark stays with its base across a break. */
    CHECK(wrap("abe\xcc\x81" "d", 3, 0, 0, st) == 2 && st[1] == 3);
    CHECK(wrap("", 10, 0, 0, st) == 1 && st[0] == 0);
    /* A newline ends a row (its break cell is drawn as nothing); an
     * empty line is a row of its own. */
    CHECK(wrap("ab\ncd", 10, 0, 0, st) == 2 && st[1] == 3);
    CHECK(wrap("ab\n\ncd", 10, 0, 0, st) == 3 && st[1] == 3 && st[2] == 4);
    CHECK(wrap("abcdef\ng", 4, 0, 0, st) == 3 && st[1] == 4 && st[2] == 7);
}

static void test_lines_tabs(void)
{
    struct ui_cells v;
    memset(&v, 0, sizeof v);
    /* A tab goes to the next multiple of 8 columns of its line. */
    ui_cells_add_utf8(&v, "ab\tc", 0);
    CHECK(v.n == 9 && v.c[8].wc[0] == L'c' && ui_cells_width(&v, 0, v.n) == 9);
    ui_cells_reset(&v);
    ui_cells_add_utf8(&v, "abcdefgh\tx", 0);
    CHECK(v.n == 17 && v.c[16].wc[0] == L'x');
    /* Counted again after a newline; wide characters count two. */
    ui_cells_reset(&v);
    ui_cells_add_utf8(&v, "abc\n\xe4\xbd\xa0\tx", 0);
    CHECK(ui_cell_is_break(&v.c[3]) && v.c[3].width == 0);
    CHECK(v.n == 4 + 1 + 6 + 1 && v.c[11].wc[0] == L'x');
    ui_cells_free(&v);
}

static void test_utf8(void)
{
    wchar_t w[8];
    char out[16];
    CHECK(ui_utf8_to_wcs("a\xc3\xa9\xe4\xbd\xa0\xf0\x9f\x98\x80", w, 8) == 4);
    CHECK(w[1] == 0xE9 && w[2] == 0x4F60 && w[3] == 0x1F600);
    CHECK(ui_wcs_to_utf8(w, 4, out, sizeof out) == 10);
    CHECK(strcmp(out, "a\xc3\xa9\xe4\xbd\xa0\xf0\x9f\x98\x80") == 0);
    CHECK(ui_utf8_len(L'a') == 1 && ui_utf8_len(0xE9) == 2 && ui_utf8_len(0x4F60) == 3 &&
          ui_utf8_len(0x1F600) == 4 && ui_utf8_len(0xD800) == 0);
}

int main(void)
{
    if (!setlocale(LC_CTYPE, "C.UTF-8")) {
        fprintf(stderr, "test_client_ui_text: no C.UTF-8 locale\n");
        return 1;
    }
    test_cells();
    test_clusters();
    test_wrap();
    test_lines_tabs();
    test_utf8();
    TEST_MAIN_END("test_client_ui_text");
}
