/* timefmt: durations ("30s", "15m", "1h30m", "2d", "1w") and RFC 3339 times.
 * All instants are milliseconds since the Unix epoch (UTC). */
#ifndef FLOWD_TIMEFMT_H
#define FLOWD_TIMEFMT_H
#include <stddef.h>
#include <stdint.h>
#include "graph/err.h"

/* Parses a duration: one or more <digits><unit> groups, units ms s m h d w, in any order
 * without repeats being required (e.g. "1h30m", "90s", "2d"). Whitespace is not allowed.
 * Returns 0 and *ms, or ERR_PARSE with detail->msg naming the offending position. Each unit
 * may appear once ("1h2h" is a typo, not 3h); signs, fractions ("1.5h") and totals over
 * 100 years (36525 days) are rejected. */
int duration_parse(const char *s, int64_t *ms, struct err_detail *detail);

/* Writes the canonical form of ms ("1h30m", "1w1d", "0s"; largest unit first, zero parts
 * left out) into buf, truncating to len; returns buf. */
char *duration_format(int64_t ms, char *buf, size_t len);

/* Parses an RFC 3339 date-time ("2026-11-22T14:38:29Z", "...+07:00", fractional seconds).
 * Returns 0 and *ms, or ERR_PARSE. "T" and "Z" may be lower case; digits past milliseconds
 * are truncated; dates that do not exist (Feb 30) and leap second 60 are rejected. */
int time_parse_rfc3339(const char *s, int64_t *ms, struct err_detail *detail);

/* Writes ms as RFC 3339 UTC with milliseconds ("2026-11-22T14:38:29.123Z"); buf >= 32. */
char *time_format_rfc3339(int64_t ms, char *buf, size_t len);

/* Milliseconds since the epoch, now (wall clock). */
int64_t time_now_ms(void);

#endif
