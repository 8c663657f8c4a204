/* ratelimit: token buckets in a small chained hash table.
 *
 * Invariant: a bucket is remembered only while it is not full; every SWEEP_EVERY takes, the
 * buckets that have refilled since are dropped, so memory follows the credentials active in
 * the last burst/rate seconds, not every credential ever seen. Only authenticated
 * credentials reach this table (auth.c), so its keys cannot be invented by a client. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "graph/err.h"
#include "graph/text.h"
#include "server/log.h"
#include "server/ratelimit.h"

#define NBINS 1024
#define SWEEP_EVERY 512
#define KEY_MAX 72

struct bucket {
  struct bucket *next;
  int cls;
  double tokens;
  uint64_t last_ms;
  char key[KEY_MAX];
};

static struct {
  struct ratelimit_spec spec[2];
  struct bucket *bins[NBINS];
  int count;
  unsigned takes;
} R = {.spec = {{100, 200}, {1000, 2000}}};

static unsigned hash(int cls, const char *key) {
  return (unsigned)((text_hash(key) ^ (uint64_t)cls) % NBINS);
}

/* ---- parsing ---- */

static int unit_seconds(const char *u, size_t n, double *secs) {
  static const struct { const char *name; double secs; } units[] = {
      {"s", 1}, {"sec", 1}, {"second", 1}, {"m", 60}, {"min", 60}, {"minute", 60},
      {"h", 3600}, {"hour", 3600}};
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (strlen(units[i].name) == n && strncasecmp(u, units[i].name, n) == 0) {
      *secs = units[i].secs;
      return 0;
    }
  return ERR_INVAL;
}

static const char *skip_space(const char *p) {
  while (isspace((unsigned char)*p))
    p++;
  return p;
}

int ratelimit_parse(const char *text, struct ratelimit_spec *out) {
  const char *p = skip_space(text ? text : "");
  if (strcasecmp(p, "off") == 0 || strcmp(p, "0") == 0) {
    *out = (struct ratelimit_spec){0, 0};
    return 0;
  }
  char *end;
  double n = strtod(p, &end);
  if (end == p || !(n > 0) || n > 1e9 || *end != '/')
    return ERR_INVAL;
  const char *u = end + 1;
  size_t ul = strspn(u, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
  double secs;
  if (unit_seconds(u, ul, &secs) != 0)
    return ERR_INVAL;
  double rate = n / secs, burst = rate < 1 ? 1 : ceil(rate);
  p = skip_space(u + ul);
  if (strncasecmp(p, "burst", 5) == 0) {
    const char *b = skip_space(p + 5);
    burst = strtod(b, &end);
    if (end == b || !(burst >= 1) || burst > 1e9)
      return ERR_INVAL;
    p = skip_space(end);
  }
  if (*p)
    return ERR_INVAL;
  *out = (struct ratelimit_spec){rate, burst};
  return 0;
}

static int init_one(enum ratelimit_class cls, const char *env, const char *dflt) {
  const char *v = getenv(env);
  struct ratelimit_spec s;
  if (!v || !*v)
    v = dflt;
  if (ratelimit_parse(v, &s) != 0) {
    log_error("invalid rate limit (expected e.g. \"100/s burst 200\", \"6000/min\" or \"off\")",
              "name=%s value=%s", env, log_quote(v));
    return ERR_INVAL;
  }
  ratelimit_set(cls, &s);
  if (s.rate > 0)
    log_info("rate limit per credential", "name=%s rate_per_s=%g burst=%g", env, s.rate,
             s.burst);
  else
    log_info("rate limit per credential is off", "name=%s", env);
  return 0;
}

int ratelimit_init(void) {
  if (init_one(RATELIMIT_API, "FLOWD_RATE_LIMIT", RATELIMIT_DEFAULT_API) != 0)
    return ERR_INVAL;
  return init_one(RATELIMIT_EVENTS, "FLOWD_RATE_LIMIT_EVENTS", RATELIMIT_DEFAULT_EVENTS);
}

/* ---- buckets ---- */

static void forget_where(int (*drop)(const struct bucket *, uint64_t), uint64_t now_ms) {
  for (int i = 0; i < NBINS; i++) {
    struct bucket **pp = &R.bins[i];
    while (*pp) {
      struct bucket *b = *pp;
      if (drop(b, now_ms)) {
        *pp = b->next;
        free(b);
        R.count--;
      } else {
        pp = &b->next;
      }
    }
  }
}

static double refilled(const struct bucket *b, uint64_t now_ms) {
  const struct ratelimit_spec *s = &R.spec[b->cls];
  double since = now_ms > b->last_ms ? (double)(now_ms - b->last_ms) : 0;
  double t = b->tokens + since / 1000.0 * s->rate;
  return t > s->burst ? s->burst : t;
}

static int is_full(const struct bucket *b, uint64_t now_ms) {
  return refilled(b, now_ms) >= R.spec[b->cls].burst;
}

static int always(const struct bucket *b, uint64_t now_ms) {
  (void)b;
  (void)now_ms;
  return 1;
}

void ratelimit_reset(void) { forget_where(always, 0); }

void ratelimit_set(enum ratelimit_class cls, const struct ratelimit_spec *spec) {
  R.spec[cls] = *spec;
  ratelimit_reset(); /* buckets were sized for the old limit */
}

const struct ratelimit_spec *ratelimit_get(enum ratelimit_class cls) { return &R.spec[cls]; }

int ratelimit_buckets(void) { return R.count; }

static struct bucket *find_or_add(enum ratelimit_class cls, const char *key, uint64_t now_ms) {
  unsigned h = hash(cls, key);
  for (struct bucket *b = R.bins[h]; b; b = b->next)
    if (b->cls == (int)cls && strcmp(b->key, key) == 0)
      return b;
  struct bucket *b = calloc(1, sizeof *b);
  if (!b)
    return NULL;
  b->cls = cls;
  b->tokens = R.spec[cls].burst;
  b->last_ms = now_ms;
  snprintf(b->key, sizeof b->key, "%s", key);
  b->next = R.bins[h];
  R.bins[h] = b;
  R.count++;
  return b;
}

int64_t ratelimit_take(enum ratelimit_class cls, const char *key, uint64_t now_ms) {
  const struct ratelimit_spec *s = &R.spec[cls];
  if (s->rate <= 0)
    return 0;
  if (++R.takes % SWEEP_EVERY == 0)
    forget_where(is_full, now_ms);
  struct bucket *b = find_or_add(cls, key, now_ms);
  if (!b)
    return 0; /* out of memory: let the request through rather than refuse everyone */
  if (now_ms > b->last_ms) {
    b->tokens = refilled(b, now_ms);
    b->last_ms = now_ms;
  }
  if (b->tokens >= 1) {
    b->tokens -= 1;
    return 0;
  }
  int64_t wait = (int64_t)ceil((1 - b->tokens) / s->rate * 1000.0);
  return wait > 0 ? wait : 1;
}
