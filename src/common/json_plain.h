/*
 * JSON texts of plain values read without jansson's lexer, for the
 * server's requests and the client's replies and events.  json_loadb
 * reads a string one character at a time through its UTF-8 checks and a
 * growing buffer; a group.send carries a few hundred characters of
 * base64 and a log.fetch page a hundred such entries: parsing requests
 * was 14 % of the server's event loop with 64 senders, parsing pages 5 %
 * of the client's catch-up (BENCHMARKS.md, sixth round).
 *
 * chat_json_plain accepts only a strict subset of JSON:
 * - an object at the top, objects and arrays inside it, at most
 *   CHAT_JSON_PLAIN_DEPTH deep; at most CHAT_JSON_PLAIN_KEYS members per
 *   object, no key twice in one object;
 * - keys and strings of printable ASCII (0x20-0x7e) without escapes, so
 *   they are valid UTF-8 as they stand;
 * - integers of at most 18 digits without leading zeros ("0" itself, not
 *   "-0"), true, false and null;
 * - JSON whitespace between tokens.
 * For such a text it returns what json_loadb(text, len, flags) returns,
 * with flags 0 or JSON_REJECT_DUPLICATES alike (json_equal; the unit test
 * test_common_json_plain and the fuzz_server_json harness compare them).
 * For anything else, and out of memory, it returns NULL and the caller
 * asks jansson, which parses what is valid and explains what is not:
 * nothing outside the subset is judged here.
 */
#ifndef CHAT_JSON_PLAIN_H
#define CHAT_JSON_PLAIN_H

#include <jansson.h>
#include <stddef.h>

#define CHAT_JSON_PLAIN_KEYS 32
#define CHAT_JSON_PLAIN_DEPTH 16

json_t *chat_json_plain(const char *text, size_t len);

#endif
