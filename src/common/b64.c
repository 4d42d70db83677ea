/* Strict base64 (RFC 4648 §4), for the server and the client. */
#include "b64.h"

#include <stdlib.h>

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

static int decode_append(const char *text, size_t len, mls_buf *out)
{
    if (len % 4)
        return MLS_ERR_MALFORMED;
    if (mls_buf_reserve(out, len / 4 * 3))
        return MLS_ERR_NOMEM;
    for (size_t i = 0; i < len; i += 4) {
        int last = i + 4 == len;
        int pad = 0;
        if (last && text[i + 3] == '=')
            pad = text[i + 2] == '=' ? 2 : 1;
        int v[4];
        for (int k = 0; k < 4 - pad; k++)
            if ((v[k] = value(text[i + k])) < 0)
                return MLS_ERR_MALFORMED;
        for (int k = 4 - pad; k < 4; k++)
            v[k] = 0;
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                     (uint32_t)v[3];
        /* RFC 4648 §3.5: canonical encoding, the bits under the padding are
         * zero. */
        if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
            return MLS_ERR_MALFORMED;
        uint8_t b[3] = {(uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w};
        if (mls_buf_append(out, b, (size_t)(3 - pad)))
            return MLS_ERR_NOMEM;
    }
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
    out[o] = 0;
    return out;
}
