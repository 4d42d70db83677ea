/* Leveled logging to stderr: "2024-11-26T10:00:00Z warn: text". */
#ifndef SRV_LOG_H
#define SRV_LOG_H

enum srv_log_level { SRV_LOG_ERROR = 0, SRV_LOG_WARN, SRV_LOG_INFO, SRV_LOG_DEBUG };

/* Messages above this level are dropped.  Default SRV_LOG_INFO. */
void srv_log_set_level(enum srv_log_level level);
/* Parses "error", "warn", "info", "debug"; -1 if unknown. */
int srv_log_parse_level(const char *name);
void srv_log(enum srv_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
