/* The terminal text sanitizer (src/client/textsafe.h): every class it
 * neutralizes, and the scripts it must leave alone. */
#include "test.h"
#include "textsafe.h"

static int same(const char *in, size_t n, const char *want)
{
    char *t = cli_textsafe(in, n), *again;
    int ok = t && strcmp(t, want) == 0;
    if (!ok)
        fprintf(stderr, "  got \"%s\", want \"%s\"\n", t ? t : "(null)", want);
    /* A fixed point: sanitizing the result changes nothing. */
    again = t ? cli_textsafe_str(t) : NULL;
    ok = ok && again && strcmp(again, t) == 0;
    free(again);
    free(t);
    return ok;
}

#define SAME(in, want) CHECK(same(in, sizeof(in) - 1, want))
#define KEPT(in) CHECK(same(in, sizeof(in) - 1, in))

static void test_controls(void)
{
    SAME("a\x1b[2Jb", "a^[[2Jb");                      /* ESC: caret notation */
    SAME("\x1b]0;owned\x07", "^[]0;owned^G");           /* OSC title, BEL */
    SAME("x\0y", "x^@y");                               /* NUL inside */
    SAME("one\ntwo\rthree", "one^Jtwo^Mthree");         /* no line breaks */
    SAME("del\x7f", "del^?");
    SAME("tab\there", "tab here");                      /* tab: one space */
    SAME("\xc2\x9b" "31m", "<U+009B>31m");              /* C1 CSI */
    SAME("\xc2\x85", "<U+0085>");                       /* C1 NEL */
}

static void test_malformed(void)
{
    SAME("a\xff" "b", "a\xef\xbf\xbd" "b");
    SAME("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd");       /* overlong: two bytes bad */
    SAME("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* surrogate */
    SAME("\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    SAME("\xe2\x9c", "\xef\xbf\xbd");                   /* truncated: one maximal subpart */
    SAME("\xe2\x9cx", "\xef\xbf\xbdx");
    SAME("\xf0\x9f\x98", "\xef\xbf\xbd");
    SAME("\xef\xbf\xbf", "<U+FFFF>");                   /* noncharacter */
}

static void test_bidi(void)
{
    SAME("abc\xe2\x80\xae" "fdp.exe", "abc<U+202E>fdp.exe"); /* RLO */
    SAME("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad",
         "<U+202A><U+202B><U+202C><U+202D>");
    SAME("\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9",
         "<U+2066><U+2067><U+2068><U+2069>");
    SAME("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", "<U+200E><U+200F><U+061C>");
}

static void test_invisible(void)
{
    SAME("ad\xe2\x80\x8bmin", "ad<U+200B>min");         /* zero width space */
    SAME("a\xe2\x81\xa0" "b", "a<U+2060>b");            /* word joiner */
    SAME("\xef\xbb\xbfhi", "<U+FEFF>hi");               /* BOM */
    SAME("soft\xc2\xad" "hy", "soft<U+00AD>hy");
    SAME("\xe3\x85\xa4", "<U+3164>");                   /* Hangul filler */
    SAME("a\xe2\x80\xa8" "b", "a<U+2028>b");            /* line separator */
    SAME("\xf3\xa0\x81\xa1", "<U+E0061>");              /* a tag outside a flag */
}

static void test_marks(void)
{
    /* A mark with no base gets a visible one; after a base it is kept. */
    SAME("\xcc\x81" "a", "\xe2\x97\x8c\xcc\x81" "a");
    SAME("x\x1b\xcc\x81", "x^[\xe2\x97\x8c\xcc\x81");
    SAME("\xe2\x80\xae\xe0\xa5\x8d", "<U+202E>\xe2\x97\x8c\xe0\xa5\x8d");
    KEPT("cafe\xcc\x81");                               /* e + U+0301 */
    KEPT(" \xcc\x81");                                  /* on a space: a base */
    KEPT("a\xcc\x81\xcc\xa3\xcc\x88");                  /* several marks */
}

static void test_scripts(void)
{
    KEPT("\xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa5\x87 "
         "\xe0\xa4\xa6\xe0\xa5\x81\xe0\xa4\xa8\xe0\xa4\xbf\xe0\xa4\xaf\xe0\xa4\xbe"); /* नमस्ते दुनिया */
    KEPT("\xe0\xb8\xaa\xe0\xb8\xa7\xe0\xb8\xb1\xe0\xb8\xaa\xe0\xb8\x94\xe0\xb8\xb5 "
         "\xe0\xb8\x84\xe0\xb8\xa3\xe0\xb8\xb1\xe0\xb8\x9a");                       /* สวัสดี ครับ */
    KEPT("Ti\xe1\xba\xbfng Vi\xe1\xbb\x87t");                                      /* Tiếng Việt */
    KEPT("Tie\xcc\x82\xcc\x81ng");                                                 /* decomposed */
    KEPT("\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 \xd8\xa8\xd9\x90\xd8\xa7\xd9\x84\xd8\xb9\xd9\x8e"
         "\xd8\xa7\xd9\x84\xd9\x8e\xd9\x85");                                       /* Arabic, harakat */
    KEPT("\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d");                                      /* Hebrew */
    KEPT("\xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c\xe4\xb8\x96\xe7\x95\x8c "
         "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf "
         "\xec\x95\x88\xeb\x85\x95");                                               /* CJK, kana, Hangul */
    KEPT("\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7"); /* family, ZWJ */
    KEPT("\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd");                                      /* skin tone */
    KEPT("\xe2\x9d\xa4\xef\xb8\x8f");                                              /* VS16 */
    KEPT("\xf0\x9f\x87\xa9\xf0\x9f\x87\xaa");                                      /* flag DE */
    KEPT("\xf0\x9f\x8f\xb4\xf3\xa0\x81\xa7\xf3\xa0\x81\xa2\xf3\xa0\x81\xb3\xf3\xa0\x81\xa3"
         "\xf3\xa0\x81\xb4\xf3\xa0\x81\xbf");                                      /* flag of Scotland */
    KEPT("\xd9\x85\xe2\x80\x8c\xd9\x8a");                                          /* ZWNJ kept */
    KEPT("plain ASCII ~!@#$%^&*()_+{}|:\"<>?");
}

static void test_classes(void)
{
    CHECK(cli_textsafe_cp_ok('a'));
    CHECK(cli_textsafe_cp_ok(0x200D));
    CHECK(!cli_textsafe_cp_ok(0x1B));
    CHECK(!cli_textsafe_cp_ok(0x9B));
    CHECK(!cli_textsafe_cp_ok(0x202E));
    CHECK(!cli_textsafe_cp_ok(0x200B));
    CHECK(!cli_textsafe_cp_ok(0xD800));
    CHECK(cli_textsafe_is_mark(0x0301));
    CHECK(cli_textsafe_is_mark(0x094D));
    CHECK(cli_textsafe_is_mark(0x0E31));
    CHECK(!cli_textsafe_is_mark('e'));
    CHECK(!cli_textsafe_is_mark(0x200D));
    {
        char *t = cli_textsafe_str(NULL);
        CHECK(t && *t == 0);
        free(t);
    }
}

static int lines_same(const char *in, size_t n, const char *want)
{
    char *t = cli_textsafe_lines(in, n), *again;
    int ok = t && strcmp(t, want) == 0;
    if (!ok)
        fprintf(stderr, "  got \"%s\", want \"%s\"\n", t ? t : "(null)", want);
    again = t ? cli_textsafe_lines(t, strlen(t)) : NULL;
    ok = ok && again && strcmp(again, t) == 0;
    free(again);
    free(t);
    return ok;
}

#define LINES_SAME(in, want) CHECK(lines_same(in, sizeof(in) - 1, want))

/* A message body keeps its newlines and tabs; everything else is
 * neutralized as always, each line on its own. */
static void test_lines(void)
{
    LINES_SAME("a\nb\tc", "a\nb\tc");
    LINES_SAME("\x1b[2J\n\xe2\x80\xae", "^[[2J\n<U+202E>");
    /* A mark at the start of a line has no base there. */
    LINES_SAME("x\n\xcc\x81", "x\n\xe2\x97\x8c\xcc\x81");
    LINES_SAME("\r\n\0", "^M\n^@");
    LINES_SAME("", "");
    LINES_SAME("\n\n", "\n\n");
}

int main(void)
{
    test_controls();
    test_malformed();
    test_bidi();
    test_invisible();
    test_marks();
    test_scripts();
    test_classes();
    test_lines();
    TEST_MAIN_END("test_client_textsafe");
}
