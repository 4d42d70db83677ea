/*
 * A request's JSON when it is a flat object of plain values, read without
 * jansson's lexer.  json_loadb reads a string one character at a time
 * through its UTF-8 checks and a growing buffer; a group.send carries a
 * few hundred characters of base64, and parsing it was 14 % of the event
 * loop's time with 64 senders (BENCHMARKS.md, sixth round).
 *
 * srv_req_json_flat accepts only a strict subset of JSON:
 * - one object, not nested, at most SRV_REQ_JSON_KEYS members, no key
 *   twice;
 * - keys and string values of printable ASCII (0x20-0x7e) without
 *   escapes, so they are valid UTF-8 as they stand;
 * - integers of at most 18 digits without leading zeros ("0" itself, not
 *   "-0"), true, false and null;
 * - JSON whitespace between tokens.
 * For such a text it returns what json_loadb(text, len,
 * JSON_REJECT_DUPLICATES) returns (json_equal; the unit test and the
 * fuzz_server_json harness compare them).  For anything else, and out of
 * memory, it returns NULL and the caller asks jansson, which parses what
 * is valid and explains what is not: nothing outside the subset is judged
 * here.
 */
#ifndef SRV_REQ_JSON_H
#define SRV_REQ_JSON_H

#include <jansson.h>
#include <stddef.h>

#define SRV_REQ_JSON_KEYS 16

json_t *srv_req_json_flat(const char *text, size_t len);

#endif
