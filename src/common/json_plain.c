/*
 * JSON of plain values without jansson's lexer (json_plain.h says which
 * texts, and why).  RFC 8259: §2 whitespace and structural characters,
 * §4 objects, §5 arrays, §6 numbers, §7 strings.
 */
#include "json_plain.h"

#include <string.h>

typedef struct reader {
    const char *p, *end;
} reader;

static void skip_ws(reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

/* At an opening quote: the string's characters (printable ASCII without
 * escapes) in *s and *n, r->p past the closing quote; -1 otherwise. */
static int plain_string(reader *r, const char **s, size_t *n)
{
    const char *p = r->p + 1;
    for (; p < r->end; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"') {
            *s = r->p + 1;
            *n = (size_t)(p - *s);
            r->p = p + 1;
            return 0;
        }
        if (ch < 0x20 || ch > 0x7e || ch == '\\')
            return -1;
    }
    return -1;
}

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* An integer of at most 18 digits (it fits json_int_t whatever its
 * sign).  NULL for anything else: a fraction or an exponent, a leading
 * zero, "-0", more digits. */
static json_t *plain_integer(reader *r)
{
    const char *p = r->p;
    int neg = 0;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (p == r->end || !is_digit(*p))
        return NULL;
    const char *d = p;
    json_int_t v = 0;
    while (p < r->end && is_digit(*p)) {
        if (p - d == 18)
            return NULL; /* a 19th digit: v * 10 could overflow */
        v = v * 10 + (*p++ - '0');
    }
    size_t n = (size_t)(p - d);
    if ((n > 1 && *d == '0') || (neg && v == 0))
        return NULL;
    if (p < r->end && (*p == '.' || *p == 'e' || *p == 'E'))
        return NULL;
    r->p = p;
    return json_integer(neg ? -v : v);
}

static json_t *literal(reader *r)
{
    static const struct {
        const char *word;
        size_t n;
    } words[] = {{"true", 4}, {"false", 5}, {"null", 4}};
    for (size_t i = 0; i < 3; i++) {
        if ((size_t)(r->end - r->p) >= words[i].n && !memcmp(r->p, words[i].word, words[i].n)) {
            r->p += words[i].n;
            return i == 0 ? json_true() : i == 1 ? json_false() : json_null();
        }
    }
    return NULL;
}

static json_t *value(reader *r, int depth);

/* After whitespace, the container's closing character (1, r->p past it),
 * or a comma (0, r->p past it and the whitespace after it); -1 for
 * anything else. */
static int after_item(reader *r, char close)
{
    skip_ws(r);
    if (r->p == r->end || (*r->p != close && *r->p != ','))
        return -1;
    if (*r->p++ == close)
        return 1;
    skip_ws(r);
    return 0;
}

/* At '{' or '[': 1 (r->p past it) when the container is empty. */
static int empty(reader *r, char close)
{
    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        return 1;
    }
    return 0;
}

/* At '{'. */
static json_t *object(reader *r, int depth)
{
    const char *keys[CHAT_JSON_PLAIN_KEYS];
    size_t key_lens[CHAT_JSON_PLAIN_KEYS], n_keys = 0;
    json_t *obj = json_object();
    if (!obj || empty(r, '}'))
        return obj;
    for (;;) {
        const char *k;
        size_t kn;
        if (r->p == r->end || *r->p != '"' || n_keys == CHAT_JSON_PLAIN_KEYS ||
            plain_string(r, &k, &kn))
            goto refuse;
        for (size_t i = 0; i < n_keys; i++)
            if (key_lens[i] == kn && !memcmp(keys[i], k, kn))
                goto refuse; /* jansson keeps the last or refuses, by its flags */
        keys[n_keys] = k;
        key_lens[n_keys++] = kn;
        skip_ws(r);
        if (r->p == r->end || *r->p != ':')
            goto refuse;
        r->p++;
        json_t *v = value(r, depth);
        if (!v || json_object_setn_new_nocheck(obj, k, kn, v))
            goto refuse;
        int end = after_item(r, '}');
        if (end < 0)
            goto refuse;
        if (end)
            return obj;
    }
refuse:
    json_decref(obj);
    return NULL;
}

/* At '['. */
static json_t *array(reader *r, int depth)
{
    json_t *arr = json_array();
    if (!arr || empty(r, ']'))
        return arr;
    for (;;) {
        json_t *v = value(r, depth);
        if (!v || json_array_append_new(arr, v))
            goto refuse;
        int end = after_item(r, ']');
        if (end < 0)
            goto refuse;
        if (end)
            return arr;
    }
refuse:
    json_decref(arr);
    return NULL;
}

/* A value after optional whitespace; depth counts the containers around
 * it. */
static json_t *value(reader *r, int depth)
{
    skip_ws(r);
    if (r->p == r->end)
        return NULL;
    switch (*r->p) {
    case '"': {
        const char *s;
        size_t n;
        /* Printable ASCII is valid UTF-8 and holds no NUL. */
        return plain_string(r, &s, &n) ? NULL : json_stringn_nocheck(s, n);
    }
    case '{':
        return depth < CHAT_JSON_PLAIN_DEPTH ? object(r, depth + 1) : NULL;
    case '[':
        return depth < CHAT_JSON_PLAIN_DEPTH ? array(r, depth + 1) : NULL;
    case '-':
        return plain_integer(r);
    default:
        return is_digit(*r->p) ? plain_integer(r) : literal(r);
    }
}

json_t *chat_json_plain(const char *text, size_t len)
{
    reader r = {text, text + len};
    skip_ws(&r);
    if (r.p == r.end || *r.p != '{')
        return NULL;
    json_t *obj = object(&r, 1);
    if (obj) {
        skip_ws(&r);
        if (r.p != r.end) {
            json_decref(obj);
            obj = NULL;
        }
    }
    return obj;
}
