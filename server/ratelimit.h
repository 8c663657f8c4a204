/* ratelimit: a token bucket per credential, in the memory of one process.
 *
 * Each credential (the admin token, a session, an API key) has one bucket per class: events
 * (POST /api/events) and everything else. A request takes one token; a bucket holds at most
 * `burst` tokens and refills at `rate` per second; an empty bucket means 429 with
 * Retry-After. The limits come from FLOWD_RATE_LIMIT and FLOWD_RATE_LIMIT_EVENTS
 * ("100/s burst 200", "6000/min", "off"). Several processes each keep their own buckets, so
 * the effective limit of a credential grows with the processes it is spread over. Buckets
 * that have refilled completely are forgotten: they are the same as new ones. */
#ifndef FLOWD_RATELIMIT_H
#define FLOWD_RATELIMIT_H
#include <stdint.h>

enum ratelimit_class { RATELIMIT_API = 0, RATELIMIT_EVENTS = 1 };

#define RATELIMIT_DEFAULT_API "100/s burst 200"
#define RATELIMIT_DEFAULT_EVENTS "1000/s burst 2000"

struct ratelimit_spec {
  double rate;  /* tokens per second; 0: no limit */
  double burst; /* bucket size, at least 1 */
};

/* Parses "N/s", "N/min" or "N/h" (also "N/second", "N/minute", "N/hour"), optionally
 * followed by "burst M" (default: N per second, at least 1), or "off" / "0" (no limit).
 * Returns 0 or ERR_INVAL. */
int ratelimit_parse(const char *text, struct ratelimit_spec *out);

/* Reads FLOWD_RATE_LIMIT and FLOWD_RATE_LIMIT_EVENTS (defaults above) and logs the limits.
 * Returns 0, or ERR_INVAL after logging which setting is wrong. */
int ratelimit_init(void);

/* Sets the limit of a class (tests and ratelimit_init). Forgets every bucket. */
void ratelimit_set(enum ratelimit_class cls, const struct ratelimit_spec *spec);
const struct ratelimit_spec *ratelimit_get(enum ratelimit_class cls);

/* Takes one token from key's bucket of class cls at now_ms (a monotonic clock). Returns 0
 * when the request may go on, else how many milliseconds until a token is available. */
int64_t ratelimit_take(enum ratelimit_class cls, const char *key, uint64_t now_ms);

/* Buckets currently remembered (for tests). */
int ratelimit_buckets(void);

/* Forgets everything (for tests and shutdown). */
void ratelimit_reset(void);

#endif
