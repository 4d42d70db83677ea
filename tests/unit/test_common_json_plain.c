/* Unit tests for src/common/json_plain.c: every text chat_json_plain
 * accepts, json_loadb parses to an equal object, with flags 0 (the
 * client) and JSON_REJECT_DUPLICATES (the server); what lies outside its
 * subset it leaves to jansson (NULL), valid or not.  Hand-picked edge
 * cases first (numbers, literals, escapes, non-ASCII, duplicates, depth,
 * whitespace, trailing bytes), then 300,000 random texts: requests,
 * replies and events as the programs write them, mutated byte by byte. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "json_plain.h"
#include "test.h"

/* 1 when fast and jansson agree on t: fast accepted and jansson parsed the
 * same, or fast declined.  *accepted tells which. */
static int agrees(const char *t, size_t n, int *accepted)
{
    json_t *a = chat_json_plain(t, n);
    json_t *b = json_loadb(t, n, JSON_REJECT_DUPLICATES, NULL);
    json_t *c = json_loadb(t, n, 0, NULL);
    int ok = !a || (b && c && json_equal(a, b) && json_equal(a, c));
    if (!ok)
        fprintf(stderr, "  disagree on: %.*s\n", (int)n, t);
    *accepted = a != NULL;
    json_decref(a);
    json_decref(b);
    json_decref(c);
    return ok;
}

static int accepted_same(const char *t)
{
    int acc = 0;
    return agrees(t, strlen(t), &acc) && acc;
}

static int declined(const char *t)
{
    return chat_json_plain(t, strlen(t)) == NULL;
}

/* Objects k deep: {"a":{"a":...1...}}. */
static const char *nested(char *buf, size_t size, int k)
{
    size_t n = 0;
    for (int i = 0; i < k; i++)
        n += (size_t)snprintf(buf + n, size - n, "{\"a\":");
    buf[n++] = '1';
    for (int i = 0; i < k; i++)
        buf[n++] = '}';
    buf[n] = 0;
    return buf;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static const char *pieces[] = {
    "\"", "\\", "\\\"", "\\u0041", "\\u0000", ",", ":", "{", "}", "[", "]", " ", "\t", "\n",
    "\r", "\f", "0", "-", "-0", "00", "1e5", "1.5", "9223372036854775807",
    "99999999999999999999", "true", "false", "null", "tru", "nul", "\x01", "\x7f", "\xc3\xa9",
    "\xff", "\xe2\x82", "\"type\"", "\"id\":7", "\"id\":7,\"id\":8"};

int main(void)
{
    /* What the client sends: accepted, and the same as jansson's. */
    CHECK(accepted_same("{\"type\":\"group.send\",\"group\":\"team\",\"message\":"
                        "\"AAEAAiAbc+/=\",\"msg_id\":\"q83vEjRWeJA=\",\"id\":12}"));
    CHECK(accepted_same("{}"));
    CHECK(accepted_same(" \t\r\n{ \"a\" : 1 , \"b\" :\"\" }\n "));
    CHECK(accepted_same("{\"\":0}"));
    CHECK(accepted_same("{\"n\":-123456789012345678,\"m\":123456789012345678}"));
    CHECK(accepted_same("{\"t\":true,\"f\":false,\"z\":null}"));
    CHECK(accepted_same("{\"s\":\" !#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~\"}"));
    /* Nested: a page of the log, a commit's lists, empty containers. */
    CHECK(accepted_same("{\"id\":4,\"type\":\"log.fetch\",\"ok\":true,\"entries\":[{\"seq\":1,"
                        "\"message\":\"AAE=\",\"added\":[\"bob\",\"carol\"]},{\"seq\":2}],"
                        "\"last_seq\":2,\"more\":false}"));
    CHECK(accepted_same("{\"a\":[],\"b\":{},\"c\":[[1,[2]],{\"d\":[null]}]}"));
    CHECK(accepted_same("{ \"a\" : [ 1 , \"x\" , { } ] }"));

    /* Its values are the ones written. */
    json_t *o = chat_json_plain("{\"id\":-42,\"type\":\"x y\",\"ok\":true}", 33);
    CHECK(o && json_integer_value(json_object_get(o, "id")) == -42);
    CHECK(o && !strcmp(json_string_value(json_object_get(o, "type")), "x y"));
    CHECK(o && json_is_true(json_object_get(o, "ok")) && json_object_size(o) == 3);
    json_decref(o);

    /* Outside the subset: left to jansson, valid JSON or not. */
    const char *outside[] = {
        "{\"a\":\"\\n\"}",                   /* an escape */
        "{\"a\":\"\xc3\xa9\"}",              /* UTF-8 */
        "{\"\\u0061\":1}",                   /* an escaped key */
        "{\"a\":1.5}", "{\"a\":1e3}", "{\"a\":-0}", "{\"a\":01}",
        "{\"a\":1234567890123456789}",       /* 19 digits */
        "{\"a\":9999999999999999999}",       /* 19 nines: no overflow either */
        "{\"a\":-99999999999999999999999}",
        "{\"a\":[1,]}", "{\"a\":[,1]}", "{\"a\":[1 2]}", "{\"a\":[1}", "{\"a\":{]}",
        "{\"a\":[\"\\u00e9\"]}",          /* an escape inside an array */
        "[1]", "\"s\"", "1", "",             /* not an object */
        "{\"a\":1,\"a\":2}",                 /* duplicate: jansson keeps the last or refuses */
        "{\"a\":{\"b\":1,\"b\":1}}",
        "{\"a\":1}x", "{\"a\":1}{}", "{\"a\":1,}", "{,}", "{\"a\"}", "{\"a\":}",
        "{\"a\":tru}", "{\"a\":truex}", "{\"a\":1 2}", "{\"a\":\"x}", "{\"a\":\"x\"",
        "{\"a\":\"\x01\"}", "{\"a\":\"\x7f\"}", "\f{}", "{\"a\":-}", "{\"a\":--1}",
    };
    for (size_t i = 0; i < sizeof outside / sizeof *outside; i++) {
        int ok = declined(outside[i]);
        if (!ok)
            fprintf(stderr, "  accepted: %s\n", outside[i]);
        CHECK(ok);
    }
    /* A NUL inside the length. */
    CHECK(chat_json_plain("{\"a\":1}\0", 8) == NULL);
    CHECK(chat_json_plain("{\"a\":\"x\0y\"}", 11) == NULL);
    /* At most CHAT_JSON_PLAIN_DEPTH deep. */
    char deep[256];
    CHECK(accepted_same(nested(deep, sizeof deep, CHAT_JSON_PLAIN_DEPTH)));
    CHECK(declined(nested(deep, sizeof deep, CHAT_JSON_PLAIN_DEPTH + 1)));
    /* At most CHAT_JSON_PLAIN_KEYS members. */
    char many[1024];
    size_t n = 0;
    many[n++] = '{';
    for (int i = 0; i <= CHAT_JSON_PLAIN_KEYS; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "%s\"k%d\":%d", i ? "," : "", i, i);
    many[n++] = '}';
    many[n] = 0;
    CHECK(declined(many));
    int acc = 0;
    CHECK(agrees(many, n, &acc));

    /* Random texts: a request as the client writes it, then up to eight
     * edits (a piece inserted, a byte changed or removed, the text cut).
     * Every answer must agree with jansson's; both outcomes must occur. */
    const char *base[] = {
        "{\"type\":\"group.send\",\"group\":\"g\",\"message\":\"AAEAAg==\",\"msg_id\":\"AQ==\",\"id\":3}",
        "{\"type\":\"log.fetch\",\"group\":\"team\",\"after\":0,\"limit\":100,\"id\":9}",
        "{\"type\":\"login\",\"username\":\"alice\",\"timestamp\":1765000000,\"signature\":\"x\",\"id\":1}",
        "{\"id\":4,\"type\":\"log.fetch\",\"ok\":true,\"entries\":[{\"group\":\"g\",\"seq\":1,"
        "\"kind\":\"message\",\"message\":\"AAEAAg==\"},{\"seq\":2,\"added\":[\"bob\"],"
        "\"removed\":[]}],\"last_seq\":2,\"more\":false}",
    };
    int n_acc = 0, n_dec = 0, all_agree = 1;
    char buf[1024];
    for (int iter = 0; iter < 300000; iter++) {
        const char *b = base[next_rand() % (sizeof base / sizeof *base)];
        size_t len = strlen(b);
        memcpy(buf, b, len);
        int edits = (int)(next_rand() % 9);
        for (int k = 0; k < edits && len > 0; k++) {
            size_t at = next_rand() % (len + 1);
            switch (next_rand() % 4) {
            case 0: {
                const char *pc = pieces[next_rand() % (sizeof pieces / sizeof *pieces)];
                size_t pn = strlen(pc);
                if (len + pn < sizeof buf) {
                    memmove(buf + at + pn, buf + at, len - at);
                    memcpy(buf + at, pc, pn);
                    len += pn;
                }
                break;
            }
            case 1:
                if (at < len)
                    buf[at] = (char)(next_rand() & 0xff);
                break;
            case 2:
                if (at < len) {
                    memmove(buf + at, buf + at + 1, len - at - 1);
                    len--;
                }
                break;
            default:
                len = at;
            }
        }
        int a = 0;
        if (!agrees(buf, len, &a))
            all_agree = 0;
        if (a)
            n_acc++;
        else
            n_dec++;
    }
    CHECK(all_agree);
    CHECK(n_acc > 10000 && n_dec > 10000);
    printf("random texts: %d accepted, %d left to jansson\n", n_acc, n_dec);
    TEST_MAIN_END("test_common_json_plain");
}
