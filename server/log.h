/* log: one logfmt line per event on stderr: ts=... level=... msg="..." key=value ...
 * Levels below the configured one (FLOWD_LOG: debug|info|warn|error) are dropped. */
#ifndef FLOWD_LOG_H
#define FLOWD_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Parses "debug", "info", "warn", "error"; returns -1 for anything else. */
int log_parse_level(const char *s);
void log_set_level(enum log_level level);
int log_enabled(enum log_level level);

/* msg is a plain sentence; fmt gives the remaining key=value pairs, e.g.
 * log_msg(LOG_INFO, "listening", "addr=%s", addr). Values with spaces must be quoted by the
 * caller with log_quote. fmt may be NULL. */
void log_msg(enum log_level level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Returns s as a logfmt value (quoted and escaped when needed) in a static ring of buffers;
 * valid until 8 more calls. */
const char *log_quote(const char *s);

#define log_debug(msg, ...) log_msg(LOG_DEBUG, msg, __VA_ARGS__)
#define log_info(msg, ...) log_msg(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...) log_msg(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_msg(LOG_ERROR, msg, __VA_ARGS__)

#endif
