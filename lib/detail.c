/* Error detail (lib/detail.h): the last rule that failed, per thread. */
#include "detail.h"

#include <stdio.h>

/* Both pointers are string literals (__func__ and the rule), so recording
 * costs two stores; the text is composed only when asked for. */
static _Thread_local const char *detail_where;
static _Thread_local const char *detail_rule;
static _Thread_local char detail_text[320];

void mls_detail_set(const char *where, const char *rule)
{
    detail_where = where;
    detail_rule = rule;
}

void mls_detail_get(const char **where, const char **rule)
{
    *where = detail_where;
    *rule = detail_rule;
}

void mls_error_detail_clear(void)
{
    detail_where = NULL;
    detail_rule = NULL;
}

const char *mls_error_detail(void)
{
    if (!detail_rule)
        return "";
    snprintf(detail_text, sizeof detail_text, "%s: %s", detail_where ? detail_where : "?",
             detail_rule);
    return detail_text;
}
