/* A log event's and a log page's text without jansson (event_text.h). */
#include "event_text.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "proto.h"

typedef srv_text tbuf;

static char *room(tbuf *b, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap * 2 > b->n + n ? b->cap * 2 : b->n + n;
        char *p = realloc(b->p, cap);
        if (!p)
            return NULL;
        b->p = p;
        b->cap = cap;
    }
    return b->p + b->n;
}

static int put(tbuf *b, const char *s, size_t n)
{
    char *d = room(b, n);
    if (!d)
        return -1;
    memcpy(d, s, n);
    b->n += n;
    return 0;
}

/* A JSON string as json_dumps writes it (RFC 8259 §7): '"' and '\' and
 * the control characters escaped, everything else (UTF-8 included) as
 * it is. */
static int put_str(tbuf *b, const char *s)
{
    size_t n = strlen(s);
    char *d = room(b, n * 6 + 2);
    if (!d)
        return -1;
    char *o = d;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        default:
            o += snprintf(o, 6, "u%04X", c);
            break;
        }
    }
    *o++ = '"';
    b->n += (size_t)(o - d);
    return 0;
}

static int put_int(tbuf *b, int64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "%" PRId64, v);
    return put(b, t, (size_t)n);
}

static int put_b64(tbuf *b, const uint8_t *p, size_t n)
{
    char *d = room(b, CHAT_B64_LEN(n) + 2);
    if (!d)
        return -1;
    d[0] = '"';
    size_t k = chat_b64_encode_to(p, n, d + 1);
    d[k + 1] = '"';
    b->n += k + 2;
    return 0;
}

#define KEY(b, k) put(b, k, sizeof k - 1)

char *srv_event_log_text_plain(const srv_group *g, const srv_log_entry *e)
{
    size_t len;
    return srv_event_log_text_at(g, e, 0, &len);
}

/* The entry's members as handlers.c's entry_json orders them, then
 * "event" when with_event; e->meta is the caller's (NULL here). */
static int put_entry(tbuf *b, const srv_group *g, const srv_log_entry *e, int with_event)
{
    enum chat_kind k = e->kind == SRV_KIND_COMMIT    ? CHAT_KIND_COMMIT
                       : e->kind == SRV_KIND_MESSAGE ? CHAT_KIND_MESSAGE
                                                     : CHAT_KIND_PROPOSAL;
    size_t guess = 192 + strlen(g->name) + CHAT_B64_LEN(g->gid_len) + CHAT_B64_LEN(e->data.n) +
                   (e->sender ? strlen(e->sender) : 0);
    if (!room(b, guess))
        return -1;
    return KEY(b, "{\"group\":") || put_str(b, g->name) || KEY(b, ",\"group_id\":") ||
           put_b64(b, g->gid, g->gid_len) || KEY(b, ",\"seq\":") ||
           put_int(b, (int64_t)e->seq) || KEY(b, ",\"epoch\":") ||
           put_int(b, (int64_t)e->epoch) || KEY(b, ",\"kind\":") ||
           put_str(b, chat_kind_name(k)) || KEY(b, ",\"sender\":") ||
           put_str(b, e->sender ? e->sender : "") || KEY(b, ",\"sender_id\":") ||
           put_int(b, e->sender_id) || KEY(b, ",\"time\":") || put_int(b, e->time) ||
           KEY(b, ",\"message\":") || put_b64(b, e->data.p, e->data.n) ||
           (with_event &&
            (KEY(b, ",\"event\":") || put_str(b, chat_event_name(CHAT_EVENT_LOG)))) ||
           put(b, "}", 1);
}

char *srv_event_log_text_at(const srv_group *g, const srv_log_entry *e, size_t prefix,
                            size_t *len)
{
    if (e->meta)
        return NULL;
    tbuf b = {NULL, 0, 0};
    if (!room(&b, prefix + 1)) /* before the entry: the prefix */
        return NULL;
    b.n = prefix;
    if (put_entry(&b, g, e, 1) || put(&b, "", 1)) {
        free(b.p);
        return NULL;
    }
    *len = b.n - prefix - 1; /* without the NUL */
    return b.p;
}

int srv_text_put(srv_text *t, const char *s, size_t n)
{
    return put(t, s, n);
}

int srv_text_log_entry(srv_text *t, const srv_group *g, const srv_log_entry *e)
{
    if (e->meta)
        return -1;
    size_t n = t->n;
    if (put_entry(t, g, e, 0)) {
        t->n = n;
        return -1;
    }
    return 0;
}
