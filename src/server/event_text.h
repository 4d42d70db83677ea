/*
 * The text of a log event (docs/PROTOCOL.md §6, "event": "log") for an
 * entry without meta, written straight into one buffer: the same bytes as
 * building it with jansson and json_dumps(JSON_COMPACT), at a fraction of
 * the cost (json_dumps of the event was a tenth of the event loop's time
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

#endif
