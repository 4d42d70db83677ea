/*
 * A flat JSON object of plain values without jansson's lexer
 * (req_json.h says which texts, and why).  RFC 8259: §2 whitespace and
 * structural characters, §6 numbers, §7 strings.
 */
#include "req_json.h"

#include <string.h>

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* From just after an opening quote: the closing quote of a string of
 * printable ASCII without escapes, or NULL. */
static const char *plain_string_end(const char *p, const char *end)
{
    for (; p < end; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"')
            return p;
        if (ch < 0x20 || ch > 0x7e || ch == '\\')
            return NULL;
    }
    return NULL;
}

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* An integer of at most 18 digits at *pp (it fits json_int_t whatever
 * its sign); *pp moves past it.  NULL for anything else: a fraction or an
 * exponent, a leading zero, "-0", more digits. */
static json_t *plain_integer(const char **pp, const char *end)
{
    const char *p = *pp;
    int neg = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    if (p == end || !is_digit(*p))
        return NULL;
    const char *d = p;
    json_int_t v = 0;
    while (p < end && is_digit(*p)) {
        if (p - d == 18)
            return NULL; /* a 19th digit: v * 10 could overflow */
        v = v * 10 + (*p++ - '0');
    }
    size_t n = (size_t)(p - d);
    if ((n > 1 && *d == '0') || (neg && v == 0))
        return NULL;
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E'))
        return NULL;
    *pp = p;
    return json_integer(neg ? -v : v);
}

static json_t *literal(const char **pp, const char *end)
{
    static const struct {
        const char *word;
        size_t n;
    } words[] = {{"true", 4}, {"false", 5}, {"null", 4}};
    for (size_t i = 0; i < 3; i++) {
        if ((size_t)(end - *pp) >= words[i].n && !memcmp(*pp, words[i].word, words[i].n)) {
            *pp += words[i].n;
            return i == 0 ? json_true() : i == 1 ? json_false() : json_null();
        }
    }
    return NULL;
}

json_t *srv_req_json_flat(const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    const char *keys[SRV_REQ_JSON_KEYS];
    size_t key_lens[SRV_REQ_JSON_KEYS], n_keys = 0;
    p = skip_ws(p, end);
    if (p == end || *p != '{')
        return NULL;
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') {
        p++;
        goto done;
    }
    for (;;) {
        if (p == end || *p != '"' || n_keys == SRV_REQ_JSON_KEYS)
            goto refuse;
        const char *k = p + 1, *k_end = plain_string_end(k, end);
        if (!k_end)
            goto refuse;
        size_t kn = (size_t)(k_end - k);
        for (size_t i = 0; i < n_keys; i++)
            if (key_lens[i] == kn && !memcmp(keys[i], k, kn))
                goto refuse; /* jansson tells what is wrong */
        keys[n_keys] = k;
        key_lens[n_keys++] = kn;
        p = skip_ws(k_end + 1, end);
        if (p == end || *p != ':')
            goto refuse;
        p = skip_ws(p + 1, end);
        if (p == end)
            goto refuse;
        json_t *v;
        if (*p == '"') {
            const char *s = p + 1, *s_end = plain_string_end(s, end);
            if (!s_end)
                goto refuse;
            /* Printable ASCII is valid UTF-8 and holds no NUL. */
            v = json_stringn_nocheck(s, (size_t)(s_end - s));
            p = s_end + 1;
        } else if (*p == '-' || is_digit(*p)) {
            v = plain_integer(&p, end);
        } else {
            v = literal(&p, end);
        }
        if (!v || json_object_setn_new_nocheck(obj, k, kn, v))
            goto refuse;
        p = skip_ws(p, end);
        if (p == end)
            goto refuse;
        if (*p == '}') {
            p++;
            break;
        }
        if (*p != ',')
            goto refuse;
        p = skip_ws(p + 1, end);
    }
done:
    if (skip_ws(p, end) != end)
        goto refuse;
    return obj;
refuse:
    json_decref(obj);
    return NULL;
}
