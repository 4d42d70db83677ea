/* Client helpers: base64, fingerprints, names, UTF-8, log, time. */
#include "util.h"
#include "textsafe.h"

#include "b64.h"
#include "names.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mls/group.h"

static FILE *log_fp;

char *cli_b64_encode(const uint8_t *p, size_t n)
{
    return chat_b64_encode(p, n);
}

/* The client's contract: out is replaced, and only on success. */
int cli_b64_decode(const char *text, mls_buf *out)
{
    mls_buf tmp;
    int rc = -1;

    mls_buf_init(&tmp);
    if (chat_b64_decode(text, strlen(text), &tmp) == MLS_OK &&
        mls_buf_set(out, tmp.p, tmp.n) == MLS_OK)
        rc = 0;
    mls_buf_clear(&tmp);
    return rc;
}

void cli_fingerprint(mls_bytes key, char out[CLI_FINGERPRINT_LEN + 1])
{
    if (mls_signature_key_fingerprint(key, out) != MLS_OK)
        out[0] = 0;
}

int cli_valid_username(const char *s)
{
    return chat_valid_name(s, CHAT_USERNAME_MAX);
}

int cli_valid_groupname(const char *s)
{
    return chat_valid_name(s, CHAT_GROUPNAME_MAX);
}

void cli_lowercase(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* Length of the UTF-8 sequence at s (at most n bytes), 0 if malformed.
 * RFC 3629 §4: no overlongs, no surrogates, nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len, i;
    uint32_t c;
    if (n == 0)
        return 0;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        c = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        c = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        c = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
        (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

static int is_control(uint32_t cp)
{
    return (cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
}

int cli_text_printable(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t off = 0;
    while (off < n) {
        uint32_t cp;
        size_t k = utf8_seq(p + off, n - off, &cp);
        if (k == 0 || is_control(cp))
            return 0;
        off += k;
    }
    return 1;
}

char *cli_text_sanitize(const char *s, size_t n)
{
    /* One policy for every terminal-bound string: textsafe.h. */
    return cli_textsafe(s, n);
}

uint64_t cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t cli_time(void)
{
    return (uint64_t)time(NULL);
}

void cli_log_open(void)
{
    const char *path = getenv("MLSCHAT_DEBUG");
    if (path && *path && !log_fp)
        log_fp = fopen(path, "a");
}

void cli_log(const char *fmt, ...)
{
    va_list ap;
    struct timespec ts;
    if (!log_fp)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    fprintf(log_fp, "%lld.%03ld ", (long long)ts.tv_sec, ts.tv_nsec / 1000000);
    va_start(ap, fmt);
    vfprintf(log_fp, fmt, ap);
    va_end(ap);
    fputc('\n', log_fp);
    fflush(log_fp);
}

void cli_log_close(void)
{
    if (log_fp)
        fclose(log_fp);
    log_fp = NULL;
}

char *cli_strdupf(const char *fmt, ...)
{
    va_list ap;
    int n;
    char *out;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    out = malloc((size_t)n + 1);
    if (!out)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(out, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return out;
}

int cli_tls_put_vec(mls_buf *w, const uint8_t *p, size_t n)
{
    uint8_t hdr[4];
    size_t h;
    /* RFC 9420 §2.1.2: the shortest of the 1, 2 and 4 byte forms. */
    if (n < 0x40) {
        hdr[0] = (uint8_t)n;
        h = 1;
    } else if (n < 0x4000) {
        hdr[0] = (uint8_t)(0x40 | (n >> 8));
        hdr[1] = (uint8_t)n;
        h = 2;
    } else if (n < 0x40000000) {
        hdr[0] = (uint8_t)(0x80 | (n >> 24));
        hdr[1] = (uint8_t)(n >> 16);
        hdr[2] = (uint8_t)(n >> 8);
        hdr[3] = (uint8_t)n;
        h = 4;
    } else {
        return -1;
    }
    if (mls_buf_append(w, hdr, h) != MLS_OK || (n && mls_buf_append(w, p, n) != MLS_OK))
        return -1;
    return 0;
}

int cli_tls_put_u16(mls_buf *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    return mls_buf_append(w, b, 2) == MLS_OK ? 0 : -1;
}

int cli_tls_put_u64(mls_buf *w, uint64_t v)
{
    uint8_t b[8];
    int i;
    for (i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    return mls_buf_append(w, b, 8) == MLS_OK ? 0 : -1;
}

int cli_tls_get_vec(mls_bytes in, size_t *off, mls_bytes *out)
{
    size_t o = *off, len, h;
    uint8_t b;
    if (o >= in.n)
        return -1;
    b = in.p[o];
    switch (b >> 6) {
    case 0:
        len = b & 0x3f;
        h = 1;
        break;
    case 1:
        if (in.n - o < 2)
            return -1;
        len = ((size_t)(b & 0x3f) << 8) | in.p[o + 1];
        h = 2;
        if (len < 0x40)
            return -1;
        break;
    case 2:
        if (in.n - o < 4)
            return -1;
        len = ((size_t)(b & 0x3f) << 24) | ((size_t)in.p[o + 1] << 16) |
              ((size_t)in.p[o + 2] << 8) | in.p[o + 3];
        h = 4;
        if (len < 0x4000)
            return -1;
        break;
    default:
        return -1;
    }
    if (in.n - o - h < len)
        return -1;
    out->p = in.p + o + h;
    out->n = len;
    *off = o + h + len;
    return 0;
}
