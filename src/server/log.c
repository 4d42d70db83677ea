/* Leveled logging to stderr. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum srv_log_level current_level = SRV_LOG_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void srv_log_set_level(enum srv_log_level level)
{
    current_level = level;
}

int srv_log_parse_level(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

void srv_log(enum srv_log_level level, const char *fmt, ...)
{
    if (level > current_level)
        return;
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One fprintf per line so concurrent writers do not interleave. */
    fprintf(stderr, "%s %s: %s\n", stamp, level_names[level], line);
}
