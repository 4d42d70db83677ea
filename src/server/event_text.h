/*
 * The text of a log event (docs/PROTOCOL.md §6, "event": "log") for an
 * entry without meta, and of the entries of a log.fetch page, written
 * straight into one buffer: the same bytes as building it with jansson
 * and json_dumps(JSON_COMPACT), at a fraction of the cost (json_dumps of the event was a tenth of the event loop's time
 * with 64 senders; BENCHMARKS.md).  Entries with meta (commits) still go
 * through jansson (handlers.c), which merges the meta object's members.
 */
#ifndef SRV_EVENT_TEXT_H
#define SRV_EVENT_TEXT_H

#include "store.h"

/* A malloc'd NUL-terminated text, or NULL (out of memory, or e->meta). */
char *srv_event_log_text_plain(const srv_group *g, const srv_log_entry *e);
/* The same text written `prefix` bytes into the malloc'd block it
 * returns (the bytes before it left for the caller: a payload's header,
 * batch.c srv_payload_adopt); *len is the text's length. */
char *srv_event_log_text_at(const srv_group *g, const srv_log_entry *e, size_t prefix,
                            size_t *len);

/* A text that grows (malloc'd p, n bytes, no NUL unless put): a log.fetch
 * page's entries are written into one as the store reads them
 * (handlers.c h_log_fetch), where a jansson array of objects, then its
 * dump, cost the server 5 % of the machine during a client's catch-up. */
typedef struct srv_text {
    char *p;
    size_t n, cap;
} srv_text;

/* 0, or -1 when out of memory (t as it was, up to its capacity). */
int srv_text_put(srv_text *t, const char *s, size_t n);
/* The entry as a log.fetch page holds it: the event's members without
 * "event", the same bytes as json_dumps(JSON_COMPACT) of handlers.c's
 * entry_json.  -1 (t unchanged) out of memory or for an entry with meta,
 * which the caller writes with jansson. */
int srv_text_log_entry(srv_text *t, const srv_group *g, const srv_log_entry *e);

#endif
