/* Strict base64 (RFC 4648 §4), for the server and the client. */
#include "b64.h"

#include <stdlib.h>

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Each character's value plus one; 0 for characters outside the
 * alphabet (a table: this runs over every message the server takes). */
static const uint8_t value_1[256] = {
    ['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7, ['H'] = 8,
    ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15,
    ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
    ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29,
    ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
    ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42, ['q'] = 43,
    ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50,
    ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57,
    ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

static int decode_append(const char *text, size_t len, mls_buf *out)
{
    if (len % 4)
        return MLS_ERR_MALFORMED;
    if (mls_buf_reserve(out, len / 4 * 3))
        return MLS_ERR_NOMEM;
    const uint8_t *t = (const uint8_t *)text;
    uint8_t *o = out->p + out->n;
    size_t pad = 0;
    if (len && t[len - 1] == '=')
        pad = t[len - 2] == '=' ? 2 : 1;
    for (size_t i = 0; i < len; i += 4) {
        int last = i + 4 == len;
        uint32_t v0 = value_1[t[i]], v1 = value_1[t[i + 1]];
        uint32_t v2 = last && pad == 2 ? 1 : value_1[t[i + 2]];
        uint32_t v3 = last && pad ? 1 : value_1[t[i + 3]];
        if (!v0 || !v1 || !v2 || !v3)
            return MLS_ERR_MALFORMED;
        uint32_t w = (v0 - 1) << 18 | (v1 - 1) << 12 | (v2 - 1) << 6 | (v3 - 1);
        if (last && pad) {
            /* RFC 4648 §3.5: canonical encoding, the bits under the
             * padding are zero. */
            if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
                return MLS_ERR_MALFORMED;
        }
        o[0] = (uint8_t)(w >> 16);
        o[1] = (uint8_t)(w >> 8);
        o[2] = (uint8_t)w;
        o += 3;
    }
    out->n += len / 4 * 3 - pad;
    return MLS_OK;
}

int chat_b64_decode(const char *text, size_t len, mls_buf *out)
{
    size_t before = out->n;
    int err = decode_append(text, len, out);
    if (err)
        out->n = before;
    return err;
}

char *chat_b64_encode(const uint8_t *p, size_t n)
{
    char *out = malloc((n + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    out[chat_b64_encode_to(p, n, out)] = 0;
    return out;
}

size_t chat_b64_encode_to(const uint8_t *p, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            w |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            w |= p[i + 2];
        out[o++] = alphabet[w >> 18 & 63];
        out[o++] = alphabet[w >> 12 & 63];
        out[o++] = i + 1 < n ? alphabet[w >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? alphabet[w & 63] : '=';
    }
    return o;
}
