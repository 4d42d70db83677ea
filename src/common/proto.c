/* The protocol's words: tables generated from the lists in proto.h. */
#include "proto.h"

#include <string.h>

#define NAME_(name, str) str,
#define ERR_NAME_(name, str, text) str,
static const char *const req_names[CHAT_REQ_COUNT] = {NULL, CHAT_REQUEST_LIST(NAME_)};
static const char *const err_names[CHAT_ERR_COUNT] = {"ok", CHAT_ERROR_LIST(ERR_NAME_)};
static const char *const event_names[CHAT_EVENT_COUNT] = {NULL, CHAT_EVENT_LIST(NAME_)};
static const char *const kind_names[CHAT_KIND_COUNT] = {NULL, CHAT_KIND_LIST(NAME_)};
static const char *const role_names[CHAT_ROLE_COUNT] = {NULL, CHAT_ROLE_LIST(NAME_)};
static const char *const rule_names[CHAT_RULE_COUNT] = {NULL, CHAT_RULE_LIST(NAME_)};
#undef NAME_
#undef ERR_NAME_

#define TEXT_(name, str, text) text,
static const char *const err_texts[CHAT_ERR_COUNT] = {"success", CHAT_ERROR_LIST(TEXT_)};
#undef TEXT_

/* Index of s in names[0..n), or -1.  The tables are a few dozen entries
 * and looked up once per message, so a linear scan is enough. */
static int find(const char *const *names, int n, const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], s) == 0)
            return i;
    return -1;
}

const char *chat_req_name(enum chat_req r)
{
    return (unsigned)r < CHAT_REQ_COUNT ? req_names[r] : NULL;
}

enum chat_req chat_req_from_string(const char *s)
{
    int i = find(req_names, CHAT_REQ_COUNT, s);
    return i < 0 ? CHAT_REQ_UNKNOWN : (enum chat_req)i;
}

const char *chat_err_name(enum chat_err e)
{
    return (unsigned)e < CHAT_ERR_COUNT ? err_names[e] : NULL;
}

const char *chat_err_text(enum chat_err e)
{
    return (unsigned)e < CHAT_ERR_COUNT ? err_texts[e] : NULL;
}

enum chat_err chat_err_from_string(const char *s)
{
    int i = find(err_names, CHAT_ERR_COUNT, s);
    return i < 0 ? CHAT_ERR_COUNT : (enum chat_err)i;
}

const char *chat_event_name(enum chat_event ev)
{
    return (unsigned)ev < CHAT_EVENT_COUNT ? event_names[ev] : NULL;
}

enum chat_event chat_event_from_string(const char *s)
{
    int i = find(event_names, CHAT_EVENT_COUNT, s);
    return i < 0 ? CHAT_EVENT_UNKNOWN : (enum chat_event)i;
}

const char *chat_kind_name(enum chat_kind k)
{
    return (unsigned)k < CHAT_KIND_COUNT ? kind_names[k] : NULL;
}

enum chat_kind chat_kind_from_string(const char *s)
{
    int i = find(kind_names, CHAT_KIND_COUNT, s);
    return i < 0 ? CHAT_KIND_UNKNOWN : (enum chat_kind)i;
}

const char *chat_role_name(enum chat_role r)
{
    return (unsigned)r < CHAT_ROLE_COUNT ? role_names[r] : NULL;
}

enum chat_role chat_role_from_string(const char *s)
{
    int i = find(role_names, CHAT_ROLE_COUNT, s);
    return i < 0 ? CHAT_ROLE_UNKNOWN : (enum chat_role)i;
}

const char *chat_rule_name(enum chat_rule r)
{
    return (unsigned)r < CHAT_RULE_COUNT ? rule_names[r] : NULL;
}

enum chat_rule chat_rule_from_string(const char *s)
{
    int i = find(rule_names, CHAT_RULE_COUNT, s);
    return i < 0 ? CHAT_RULE_UNKNOWN : (enum chat_rule)i;
}
