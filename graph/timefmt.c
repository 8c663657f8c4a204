/* timefmt: durations ("1h30m") and RFC 3339 instants.
 *
 * Calendar arithmetic is done here, on the proleptic Gregorian calendar, instead of through
 * mktime/timegm: the result must not depend on the TZ environment or on the C library's time
 * zone state, and every instant is UTC milliseconds since the epoch. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "graph/timefmt.h"

#define MS_SECOND 1000LL
#define MS_MINUTE (60 * MS_SECOND)
#define MS_HOUR (60 * MS_MINUTE)
#define MS_DAY (24 * MS_HOUR)
#define MS_WEEK (7 * MS_DAY)
#define DURATION_MAX (36525 * MS_DAY) /* 100 Julian years: longer is surely a mistake */

/* Largest first, the order duration_format writes them in. */
static const struct unit {
  const char *name;
  int64_t ms;
} units[] = {{"w", MS_WEEK},   {"d", MS_DAY},    {"h", MS_HOUR},
             {"m", MS_MINUTE}, {"s", MS_SECOND}, {"ms", 1}};
#define NUNITS ((int)(sizeof units / sizeof units[0]))

/* Fails with ERR_PARSE naming what was parsed and the 1-based character position. */
__attribute__((format(printf, 5, 6))) static int
fail(struct err_detail *d, const char *what, const char *s, size_t pos, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return err_set(d, ERR_PARSE, "", "%s \"%.64s\": at character %zu: %s", what, s, pos + 1, msg);
}

/* Matches the unit at s ("ms" before "m"); returns its index in units or -1. */
static int match_unit(const char *s, size_t *len) {
  for (int i = NUNITS - 1; i >= 0; i--) {
    size_t n = strlen(units[i].name);
    if (strncmp(s, units[i].name, n) == 0 && !(s[n] >= 'a' && s[n] <= 'z')) {
      *len = n;
      return i;
    }
  }
  return -1;
}

/* Explains the character at s[i] where a number was expected. */
static int bad_number(struct err_detail *d, const char *s, size_t i) {
  if (s[i] == '-')
    return fail(d, "duration", s, i, "negative durations are not allowed");
  if (s[i] == '\0')
    return fail(d, "duration", s, i, "expected a number, found the end");
  return fail(d, "duration", s, i, "expected a number, found \"%c\"", s[i]);
}

/* Explains the character at s[i] where a unit was expected after a number. */
static int bad_unit(struct err_detail *d, const char *s, size_t i) {
  if (s[i] == '.' || s[i] == ',')
    return fail(d, "duration", s, i, "fractions are not allowed (write 1h30m, not 1.5h)");
  if (s[i] == '\0')
    return fail(d, "duration", s, i, "missing unit (ms, s, m, h, d or w)");
  size_t n = 0;
  while (n < 8 && ((s[i + n] >= 'a' && s[i + n] <= 'z') || (s[i + n] >= 'A' && s[i + n] <= 'Z')))
    n++;
  return fail(d, "duration", s, i, "unknown unit \"%.*s\" (use ms, s, m, h, d or w)",
              (int)(n ? n : 1), s + i);
}

int duration_parse(const char *s, int64_t *ms, struct err_detail *detail) {
  if (!s || !ms)
    return err_set(detail, ERR_INVAL, "", "duration_parse needs a string and an out pointer");
  if (!*s)
    return err_set(detail, ERR_PARSE, "", "empty duration (write e.g. 30s, 15m, 1h30m)");
  int64_t total = 0;
  unsigned seen = 0;
  size_t i = 0;
  while (s[i]) {
    if (s[i] < '0' || s[i] > '9')
      return bad_number(detail, s, i);
    size_t start = i;
    int64_t v = 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
      v = v * 10 + (s[i] - '0');
      if (v > DURATION_MAX)
        return fail(detail, "duration", s, start, "longer than 100 years");
    }
    size_t ulen;
    int u = match_unit(s + i, &ulen);
    if (u < 0)
      return bad_unit(detail, s, i);
    if (seen & (1u << u))
      return fail(detail, "duration", s, i, "unit \"%s\" given twice", units[u].name);
    seen |= 1u << u;
    if (v > (DURATION_MAX - total) / units[u].ms)
      return fail(detail, "duration", s, start, "longer than 100 years");
    total += v * units[u].ms;
    i += ulen;
  }
  *ms = total;
  return 0;
}

char *duration_format(int64_t ms, char *buf, size_t len) {
  char tmp[96];
  size_t k = 0;
  uint64_t m = ms < 0 ? 0 - (uint64_t)ms : (uint64_t)ms;
  if (ms < 0)
    tmp[k++] = '-';
  if (m == 0)
    k += (size_t)snprintf(tmp + k, sizeof tmp - k, "0s");
  for (int i = 0; i < NUNITS && m; i++) {
    uint64_t q = m / (uint64_t)units[i].ms;
    m %= (uint64_t)units[i].ms;
    if (q)
      k +=
          (size_t)snprintf(tmp + k, sizeof tmp - k, "%llu%s", (unsigned long long)q, units[i].name);
  }
  if (buf && len)
    snprintf(buf, len, "%s", tmp);
  return buf;
}

/* ---- calendar ---- */

static int is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int64_t y, int m) {
  static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Days from 1970-01-01 to y-m-d. Counting years from March makes the leap day the last day
 * of the counted year, and 400-year eras (146097 days) make the arithmetic exact. */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;                                   /* 0..399 */
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0..365, from March 1 */
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* 0..146096 */
  return era * 146097 + doe - 719468; /* 719468: 0000-03-01 to 1970-01-01 */
}

/* The inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

/* ---- RFC 3339 ---- */

struct cursor {
  const char *s;
  size_t i;
  struct err_detail *d;
};

/* Reads exactly n digits into *v and checks lo <= *v <= hi (field names the value). */
static int digits(struct cursor *c, int n, int lo, int hi, const char *field, int *v) {
  size_t start = c->i;
  *v = 0;
  for (int k = 0; k < n; k++, c->i++) {
    char ch = c->s[c->i];
    if (ch < '0' || ch > '9')
      return fail(c->d, "time", c->s, c->i, "expected a digit of the %s", field);
    *v = *v * 10 + (ch - '0');
  }
  if (*v < lo || *v > hi)
    return fail(c->d, "time", c->s, start, "%s %d is out of range (%d to %d)", field, *v, lo, hi);
  return 0;
}

/* Accepts one of the characters in set (for 'T'/'t' and the separators). */
static int expect(struct cursor *c, const char *set, const char *what) {
  char ch = c->s[c->i];
  if (ch == '\0' || !strchr(set, ch))
    return fail(c->d, "time", c->s, c->i, "expected %s", what);
  c->i++;
  return 0;
}

static int parse_date(struct cursor *c, int *y, int *mo, int *d) {
  int rc = digits(c, 4, 0, 9999, "year", y);
  if (!rc)
    rc = expect(c, "-", "\"-\" after the year");
  if (!rc)
    rc = digits(c, 2, 1, 12, "month", mo);
  if (!rc)
    rc = expect(c, "-", "\"-\" after the month");
  size_t at = c->i;
  if (!rc)
    rc = digits(c, 2, 1, 31, "day", d);
  if (!rc && *d > days_in_month(*y, *mo))
    rc = fail(c->d, "time", c->s, at, "day %d does not exist in %04d-%02d", *d, *y, *mo);
  return rc;
}

/* hh:mm:ss[.fraction]; fractions beyond milliseconds are truncated. */
static int parse_clock(struct cursor *c, int64_t *ms) {
  int h, m, s;
  int rc = digits(c, 2, 0, 23, "hour", &h);
  if (!rc)
    rc = expect(c, ":", "\":\" after the hour");
  if (!rc)
    rc = digits(c, 2, 0, 59, "minute", &m);
  if (!rc)
    rc = expect(c, ":", "\":\" after the minute");
  if (!rc)
    rc = digits(c, 2, 0, 59, "second", &s); /* no leap second 60: POSIX time has none */
  if (rc)
    return rc;
  int frac = 0, scale = 100;
  if (c->s[c->i] == '.') {
    c->i++;
    if (c->s[c->i] < '0' || c->s[c->i] > '9')
      return fail(c->d, "time", c->s, c->i, "expected a digit after \".\"");
    for (; c->s[c->i] >= '0' && c->s[c->i] <= '9'; c->i++, scale /= 10)
      frac += (c->s[c->i] - '0') * scale;
  }
  *ms = ((int64_t)h * 3600 + m * 60 + s) * MS_SECOND + frac;
  return 0;
}

/* Z, or +hh:mm / -hh:mm; *ms is the offset east of UTC. */
static int parse_offset(struct cursor *c, int64_t *ms) {
  char ch = c->s[c->i];
  if (ch == 'Z' || ch == 'z') {
    c->i++;
    *ms = 0;
    return 0;
  }
  if (ch != '+' && ch != '-')
    return fail(c->d, "time", c->s, c->i, "expected \"Z\" or an offset such as \"+07:00\"");
  c->i++;
  int h, m;
  int rc = digits(c, 2, 0, 23, "offset hour", &h);
  if (!rc)
    rc = expect(c, ":", "\":\" in the offset");
  if (!rc)
    rc = digits(c, 2, 0, 59, "offset minute", &m);
  if (rc)
    return rc;
  *ms = (ch == '-' ? -1 : 1) * ((int64_t)h * 60 + m) * MS_MINUTE;
  return 0;
}

int time_parse_rfc3339(const char *s, int64_t *ms, struct err_detail *detail) {
  if (!s || !ms)
    return err_set(detail, ERR_INVAL, "", "time_parse_rfc3339 needs a string and an out pointer");
  struct cursor c = {s, 0, detail};
  int y = 0, mo = 0, d = 0;
  int64_t tod = 0, offset = 0;
  int rc = parse_date(&c, &y, &mo, &d);
  if (!rc)
    rc = expect(&c, "Tt", "\"T\" between the date and the time");
  if (!rc)
    rc = parse_clock(&c, &tod);
  if (!rc)
    rc = parse_offset(&c, &offset);
  if (!rc && s[c.i] != '\0')
    rc = fail(detail, "time", s, c.i, "unexpected text after the time");
  if (rc)
    return rc;
  *ms = days_from_civil(y, mo, d) * MS_DAY + tod - offset;
  return 0;
}

char *time_format_rfc3339(int64_t ms, char *buf, size_t len) {
  if (!buf || !len)
    return buf;
  int64_t days = ms / MS_DAY, rem = ms % MS_DAY;
  if (rem < 0) { /* floor, so instants before 1970 keep a positive time of day */
    rem += MS_DAY;
    days--;
  }
  int64_t y;
  int m, d;
  civil_from_days(days, &y, &m, &d);
  int sod = (int)(rem / MS_SECOND), msec = (int)(rem % MS_SECOND);
  if (y < 0 || y > 9999) { /* the expanded form JavaScript's toISOString uses */
    snprintf(buf, len, "%c%06lld-%02d-%02dT%02d:%02d:%02d.%03dZ", y < 0 ? '-' : '+',
             (long long)(y < 0 ? -y : y), m, d, sod / 3600, sod / 60 % 60, sod % 60, msec);
    return buf;
  }
  /* By hand: each step of a run is stamped twice, and snprintf was ~2% of flowd's CPU. */
  char t[sizeof "0000-00-00T00:00:00.000Z"], *p = t;
  int v[7] = {(int)y / 100, (int)y % 100, m, d, sod / 3600, sod / 60 % 60, sod % 60};
  static const char sep[7] = {0, 0, '-', '-', 'T', ':', ':'};
  for (int i = 0; i < 7; i++) {
    if (sep[i])
      *p++ = sep[i];
    *p++ = (char)('0' + v[i] / 10);
    *p++ = (char)('0' + v[i] % 10);
  }
  *p++ = '.';
  *p++ = (char)('0' + msec / 100);
  *p++ = (char)('0' + msec / 10 % 10);
  *p++ = (char)('0' + msec % 10);
  *p++ = 'Z';
  size_t n = (size_t)(p - t) < len ? (size_t)(p - t) : len - 1; /* as much as fits */
  memcpy(buf, t, n);
  buf[n] = '\0';
  return buf;
}

int64_t time_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * MS_SECOND + ts.tv_nsec / 1000000;
}
