/* The next-fire computation of trigger.schedule (flowd_cron_next in schema/007_schedules.sql,
 * which computes in the database so that every process reads time zones from the same tz
 * database): every cron field form, cron's day-of-month / day-of-week OR rule, wall time in
 * a time zone, DST gaps and repeats, rollovers, expressions that never match, and that the
 * database reads exactly the expressions the flow validator accepts. Times are UTC instants;
 * comments give the wall time of the zone. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/err.h"
#include "graph/jsonschema.h"
#include "server/migrate.h"
#include "tests/test.h"

static PGconn *db(void) {
  int version;
  struct err_detail e = {{0}, {0}};
  if (migrate_run(test_pg_conninfo(), 10, &version, &e) != 0)
    test_fail(__FILE__, __LINE__, "migrating: %s", e.msg);
  PGconn *c = PQconnectdb(test_pg_conninfo());
  if (PQstatus(c) != CONNECTION_OK)
    test_fail(__FILE__, __LINE__, "connecting: %s", PQerrorMessage(c));
  return c;
}

/* The next fire time after `after` as "YYYY-MM-DDTHH:MIZ" (UTC), or "never". */
static const char *next_fire(PGconn *c, const char *cron, const char *tz, const char *after) {
  static char out[64];
  const char *params[3] = {cron, tz, after};
  PGresult *r = PQexecParams(
      c, "SELECT coalesce(to_char(flowd_cron_next($1, $2, $3::timestamptz) AT TIME ZONE 'UTC', "
         "'YYYY-MM-DD\"T\"HH24:MI\"Z\"'), 'never')", 3, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    snprintf(out, sizeof out, "error: %.50s", PQresultErrorMessage(r));
    PQclear(r);
    return out;
  }
  snprintf(out, sizeof out, "%s", PQgetvalue(r, 0, 0));
  PQclear(r);
  return out;
}

#define EXPECT_NEXT(c, cron, tz, after, want)                                                \
  do {                                                                                       \
    const char *got_ = next_fire(c, cron, tz, after);                                        \
    if (strcmp(got_, want) != 0)                                                             \
      test_fail(__FILE__, __LINE__, "\"%s\" in %s after %s:\n  got:  %s\n  want: %s", cron, \
                tz, after, got_, want);                                                      \
  } while (0)

/* Follows the schedule from `after`: each next time is computed from the previous one, as
 * the scheduler does; want is NULL-terminated. */
static void expect_seq(int line, PGconn *c, const char *cron, const char *tz, const char *after,
                       const char *const *want) {
  char at[64];
  snprintf(at, sizeof at, "%s", after);
  for (int i = 0; want[i]; i++) {
    const char *got = next_fire(c, cron, tz, at);
    if (strcmp(got, want[i]) != 0)
      test_fail(__FILE__, line, "\"%s\" in %s, fire %d after %s:\n  got:  %s\n  want: %s",
                cron, tz, i + 1, at, got, want[i]);
    snprintf(at, sizeof at, "%s", got);
  }
}

TEST_PG(sched_next_every_field_form) {
  PGconn *c = db();
  const char *utc = "UTC";
  /* 2024-01-01 is a Monday. */
  EXPECT_NEXT(c, "* * * * *", utc, "2024-01-01T10:00:30Z", "2024-01-01T10:01Z");
  EXPECT_NEXT(c, "* * * * *", utc, "2024-01-01T10:00:00Z", "2024-01-01T10:01Z");
  EXPECT_NEXT(c, "5 * * * *", utc, "2024-01-01T10:05Z", "2024-01-01T11:05Z");
  EXPECT_NEXT(c, "0 9 * * *", utc, "2024-01-01T09:00Z", "2024-01-02T09:00Z");
  /* lists, ranges, steps over "*" and over a range, "a/step" = a to the maximum */
  EXPECT_NEXT(c, "10,40 * * * *", utc, "2024-01-01T10:11Z", "2024-01-01T10:40Z");
  EXPECT_NEXT(c, "0 8-10 * * *", utc, "2024-01-01T10:00Z", "2024-01-02T08:00Z");
  EXPECT_NEXT(c, "*/15 * * * *", utc, "2024-01-01T10:46Z", "2024-01-01T11:00Z");
  EXPECT_NEXT(c, "0 9-17/4 * * *", utc, "2024-01-01T13:00Z", "2024-01-01T17:00Z");
  EXPECT_NEXT(c, "0 9-17/4 * * *", utc, "2024-01-01T17:00Z", "2024-01-02T09:00Z");
  EXPECT_NEXT(c, "5/20 * * * *", utc, "2024-01-01T10:25Z", "2024-01-01T10:45Z");
  EXPECT_NEXT(c, "5/20 * * * *", utc, "2024-01-01T10:45Z", "2024-01-01T11:05Z");
  EXPECT_NEXT(c, "1-2,50-59/5 * * * *", utc, "2024-01-01T10:51Z", "2024-01-01T10:55Z");
  /* day of month, month (numbers and names, any case), day of week (names) */
  EXPECT_NEXT(c, "0 0 15 * *", utc, "2024-01-20T00:00Z", "2024-02-15T00:00Z");
  EXPECT_NEXT(c, "0 0 1 jun *", utc, "2024-01-01T00:00Z", "2024-06-01T00:00Z");
  EXPECT_NEXT(c, "0 0 1 MAR-may/2 *", utc, "2024-03-01T00:00Z", "2024-05-01T00:00Z");
  EXPECT_NEXT(c, "0 9 * * mon-fri", utc, "2024-01-05T09:00Z", "2024-01-08T09:00Z");
  EXPECT_NEXT(c, "0 9 * * 1-5", utc, "2024-01-05T09:00Z", "2024-01-08T09:00Z");
  EXPECT_NEXT(c, "0 9 * * Sat", utc, "2024-01-01T00:00Z", "2024-01-06T09:00Z");
  /* Sunday is 0 and 7, and a range may end on 7 */
  EXPECT_NEXT(c, "0 9 * * 0", utc, "2024-01-01T00:00Z", "2024-01-07T09:00Z");
  EXPECT_NEXT(c, "0 9 * * 7", utc, "2024-01-01T00:00Z", "2024-01-07T09:00Z");
  EXPECT_NEXT(c, "0 9 * * sun", utc, "2024-01-01T00:00Z", "2024-01-07T09:00Z");
  EXPECT_NEXT(c, "0 9 * * 6-7", utc, "2024-01-06T09:00Z", "2024-01-07T09:00Z");
  EXPECT_NEXT(c, "0 9 * * 6-7", utc, "2024-01-07T09:00Z", "2024-01-13T09:00Z");
  EXPECT_NEXT(c, "0 9 * * */7", utc, "2024-01-01T00:00Z", "2024-01-07T09:00Z");
  /* macros; fields separated by several blanks and tabs */
  EXPECT_NEXT(c, "@hourly", utc, "2024-01-01T10:00Z", "2024-01-01T11:00Z");
  EXPECT_NEXT(c, "@daily", utc, "2024-01-01T10:00Z", "2024-01-02T00:00Z");
  EXPECT_NEXT(c, "@midnight", utc, "2024-01-01T10:00Z", "2024-01-02T00:00Z");
  EXPECT_NEXT(c, "@weekly", utc, "2024-01-01T10:00Z", "2024-01-07T00:00Z");
  EXPECT_NEXT(c, "@monthly", utc, "2024-01-01T10:00Z", "2024-02-01T00:00Z");
  EXPECT_NEXT(c, "@yearly", utc, "2024-01-01T10:00Z", "2025-01-01T00:00Z");
  EXPECT_NEXT(c, "@annually", utc, "2024-01-01T10:00Z", "2025-01-01T00:00Z");
  EXPECT_NEXT(c, " 30  9\t* * * ", utc, "2024-01-01T10:00Z", "2024-01-02T09:30Z");
  PQfinish(c);
}

TEST_PG(sched_next_day_of_month_or_day_of_week_rule) {
  PGconn *c = db();
  /* Both restricted: either matches. 2024-01-05 is a Friday, before the 13th. */
  EXPECT_NEXT(c, "0 0 13 * 5", "UTC", "2024-01-01T00:00Z", "2024-01-05T00:00Z");
  EXPECT_NEXT(c, "0 0 13 * 5", "UTC", "2024-01-12T00:00Z", "2024-01-13T00:00Z");
  EXPECT_NEXT(c, "0 0 1,15 * mon", "UTC", "2024-01-02T00:00Z", "2024-01-08T00:00Z");
  /* One of them "*": the other decides alone. */
  EXPECT_NEXT(c, "0 0 13 * *", "UTC", "2024-01-01T00:00Z", "2024-01-13T00:00Z");
  EXPECT_NEXT(c, "0 0 * * 5", "UTC", "2024-01-06T00:00Z", "2024-01-12T00:00Z");
  /* A field starting with "*" counts as "*" (cron's rule): odd days that are Fridays. */
  EXPECT_NEXT(c, "0 0 */2 * 5", "UTC", "2024-01-06T00:00Z", "2024-01-19T00:00Z");
  EXPECT_NEXT(c, "0 0 13 * */7", "UTC", "2024-01-01T00:00Z", "2024-10-13T00:00Z");
  /* The month applies to both: the 13th of February, or a Friday in February. */
  EXPECT_NEXT(c, "0 0 13 feb 5", "UTC", "2024-01-01T00:00Z", "2024-02-02T00:00Z");
  PQfinish(c);
}

TEST_PG(sched_next_reads_the_wall_clock_of_the_time_zone) {
  PGconn *c = db();
  /* Asia/Ho_Chi_Minh is UTC+7 all year: 09:00 there is 02:00Z. 2024-06-07 is a Friday;
   * 03:00Z is 10:00 there, so the next weekday 09:00 is Monday. */
  EXPECT_NEXT(c, "0 9 * * 1-5", "Asia/Ho_Chi_Minh", "2024-06-07T03:00Z", "2024-06-10T02:00Z");
  EXPECT_NEXT(c, "0 9 * * 1-5", "Asia/Ho_Chi_Minh", "2024-06-07T01:59Z", "2024-06-07T02:00Z");
  /* Midnight there is 17:00Z the day before; the day of week is the local one. */
  EXPECT_NEXT(c, "0 0 * * 1", "Asia/Ho_Chi_Minh", "2024-06-01T00:00Z", "2024-06-02T17:00Z");
  EXPECT_NEXT(c, "0 0 1 * *", "Asia/Ho_Chi_Minh", "2024-06-15T00:00Z", "2024-06-30T17:00Z");
  EXPECT_NEXT(c, "0 9 * * *", "UTC", "2024-06-07T03:00Z", "2024-06-07T09:00Z");
  EXPECT_NEXT(c, "0 9 * * *", "America/New_York", "2024-06-07T03:00Z", "2024-06-07T13:00Z");
  EXPECT_NEXT(c, "0 9 * * *", "America/New_York", "2024-01-07T03:00Z", "2024-01-07T14:00Z");
  PQfinish(c);
}

TEST_PG(sched_next_spring_forward_fires_a_missing_wall_time_when_the_clock_jumps) {
  PGconn *c = db();
  /* New York, 2024-03-10: 02:00 EST becomes 03:00 EDT (07:00Z). 02:30 does not exist that
   * day: it fires at 03:00 EDT (07:00Z), once; the next day at 02:30 EDT (06:30Z). */
  static const char *const ny[] = {"2024-03-09T07:30Z", "2024-03-10T07:00Z",
                                   "2024-03-11T06:30Z", NULL};
  expect_seq(__LINE__, c, "30 2 * * *", "America/New_York", "2024-03-09T00:00Z", ny);
  /* Every 15 minutes keeps its real-time pace: 01:45 EST, then 03:00 EDT. */
  static const char *const q[] = {"2024-03-10T06:45Z", "2024-03-10T07:00Z",
                                  "2024-03-10T07:15Z", NULL};
  expect_seq(__LINE__, c, "*/15 * * * *", "America/New_York", "2024-03-10T06:30Z", q);
  /* Times around the gap are not disturbed. */
  EXPECT_NEXT(c, "30 1 * * *", "America/New_York", "2024-03-10T00:00Z", "2024-03-10T06:30Z");
  EXPECT_NEXT(c, "30 3 * * *", "America/New_York", "2024-03-10T00:00Z", "2024-03-10T07:30Z");
  /* Missing times and the times after the gap fire in order, each instant once: 02:10 and
   * 02:40 at 03:00, then 03:10, 03:40. */
  static const char *const two[] = {"2024-03-10T07:00Z", "2024-03-10T07:10Z",
                                    "2024-03-10T07:40Z", "2024-03-11T06:10Z", NULL};
  expect_seq(__LINE__, c, "10,40 2,3 * * *", "America/New_York", "2024-03-10T06:00Z", two);
  /* Berlin, 2025-03-30: 02:00 CET becomes 03:00 CEST (01:00Z); 02:30 fires at 03:00 CEST. */
  static const char *const be[] = {"2025-03-29T01:30Z", "2025-03-30T01:00Z",
                                   "2025-03-31T00:30Z", NULL};
  expect_seq(__LINE__, c, "30 2 * * *", "Europe/Berlin", "2025-03-28T12:00Z", be);
  PQfinish(c);
}

TEST_PG(sched_next_fall_back_fires_a_fixed_time_once_and_wildcards_through_the_repeat) {
  PGconn *c = db();
  /* New York, 2024-11-03: 02:00 EDT becomes 01:00 EST (06:00Z); 01:00-01:59 happens twice.
   * A fixed 01:30 fires at its first occurrence (01:30 EDT, 05:30Z) only. */
  static const char *const fixed[] = {"2024-11-02T05:30Z", "2024-11-03T05:30Z",
                                      "2024-11-04T06:30Z", NULL};
  expect_seq(__LINE__, c, "30 1 * * *", "America/New_York", "2024-11-02T00:00Z", fixed);
  /* Every 30 minutes fires through both 01:xx hours: real time keeps its pace. */
  static const char *const every[] = {"2024-11-03T05:00Z", "2024-11-03T05:30Z",
                                      "2024-11-03T06:00Z", "2024-11-03T06:30Z",
                                      "2024-11-03T07:00Z", NULL};
  expect_seq(__LINE__, c, "*/30 * * * *", "America/New_York", "2024-11-03T04:45Z", every);
  /* Hourly too: 01:00 EDT, 01:00 EST, 02:00 EST. */
  static const char *const hourly[] = {"2024-11-03T05:00Z", "2024-11-03T06:00Z",
                                       "2024-11-03T07:00Z", NULL};
  expect_seq(__LINE__, c, "0 * * * *", "America/New_York", "2024-11-03T04:30Z", hourly);
  /* From inside the repeated hour (01:10 EST, 06:10Z): the wildcard fires at 01:30 EST, the
   * fixed time (already fired at 01:30 EDT) waits for the next day. */
  EXPECT_NEXT(c, "*/30 * * * *", "America/New_York", "2024-11-03T06:10Z", "2024-11-03T06:30Z");
  EXPECT_NEXT(c, "30 1 * * *", "America/New_York", "2024-11-03T06:10Z", "2024-11-04T06:30Z");
  /* Berlin, 2025-10-26: 03:00 CEST becomes 02:00 CET (01:00Z); 02:30 fires at 02:30 CEST. */
  static const char *const be[] = {"2025-10-25T00:30Z", "2025-10-26T00:30Z",
                                   "2025-10-27T01:30Z", NULL};
  expect_seq(__LINE__, c, "30 2 * * *", "Europe/Berlin", "2025-10-24T12:00Z", be);
  PQfinish(c);
}

TEST_PG(sched_next_rolls_over_hours_days_months_years_and_leap_days) {
  PGconn *c = db();
  EXPECT_NEXT(c, "59 23 31 12 *", "UTC", "2024-12-31T23:58Z", "2024-12-31T23:59Z");
  EXPECT_NEXT(c, "59 23 31 12 *", "UTC", "2024-12-31T23:59Z", "2025-12-31T23:59Z");
  EXPECT_NEXT(c, "* * * * *", "UTC", "2024-12-31T23:59:59Z", "2025-01-01T00:00Z");
  EXPECT_NEXT(c, "0 0 1 1 *", "Asia/Ho_Chi_Minh", "2024-12-31T16:59Z", "2024-12-31T17:00Z");
  EXPECT_NEXT(c, "0 0 31 * *", "UTC", "2024-04-01T00:00Z", "2024-05-31T00:00Z");
  EXPECT_NEXT(c, "0 12 29 2 *", "UTC", "2024-03-01T00:00Z", "2028-02-29T12:00Z");
  /* 2100 is not a leap year: 8 years between two 29 Februaries. */
  EXPECT_NEXT(c, "0 0 29 2 *", "UTC", "2097-01-01T00:00Z", "2104-02-29T00:00Z");
  PQfinish(c);
}

TEST_PG(sched_next_is_never_for_a_date_that_does_not_exist) {
  PGconn *c = db();
  EXPECT_NEXT(c, "0 0 30 2 *", "UTC", "2024-01-01T00:00Z", "never");
  EXPECT_NEXT(c, "0 0 31 4,6,9,11 *", "UTC", "2024-01-01T00:00Z", "never");
  /* With a weekday as well, the OR rule still finds days. */
  EXPECT_NEXT(c, "0 0 30 2 1", "UTC", "2024-01-01T00:00Z", "2024-02-05T00:00Z");
  PQfinish(c);
}

/* What the validator says of s, and whether the database parses it. */
static void expect_same_verdict(PGconn *c, const char *s) {
  char msg[256] = "";
  int valid = jsonschema_check_format("cron", s, msg, sizeof msg);
  const char *params[1] = {s};
  PGresult *r = PQexecParams(c, "SELECT flowd_cron_parse($1)", 1, NULL, params, NULL, NULL, 0);
  int parsed = PQresultStatus(r) == PGRES_TUPLES_OK;
  if (valid != parsed)
    test_fail(__FILE__, __LINE__, "\"%s\": the validator %s it (%s), the database %s it (%s)",
              s, valid ? "accepts" : "refuses", msg, parsed ? "parses" : "refuses",
              PQresultErrorMessage(r));
  PQclear(r);
}

TEST_PG(sched_database_reads_exactly_the_cron_lines_the_validator_accepts) {
  PGconn *c = db();
  static const char *const lines[] = {
      /* accepted */
      "* * * * *", "0 9 * * 1-5", "*/15 8-18 1,15 jan-jun mon", "5/20 * * * *",
      "0 0 1 JAN *", "0 0 * * Sun", "0 0 * * 7", "0 0 * * 0-7", "0 0 * * fri-7", "@daily",
      "@hourly", "@annually", "59 23 31 12 6", "0 0 1-31/31 * *", "0 0 * */12 *",
      "0 0 * * */7", "+5 * * * *", "00 09 * * *", " 1 2 3 4 5 ", "1\t2\t3\t4\t5",
      "1-5,7,9-11/2 * * * *",
      /* refused */
      "", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * 32 * *",
      "* * * 0 *", "* * * 13 *", "* * * * 8", "5-1 * * * *", "*/0 * * * *", "*/60 * * * *",
      "* */24 * * *", "1,,2 * * * *", "1, * * * *", "a * * * *", "* * * foo *",
      "* * * * sat-sun", "*-5 * * * *", "1-2-3 * * * *", "1/2/3 * * * *", "@reboot",
      "@DAILY", "? * * * *", "L * * * *", "-5 * * * *", "5- * * * *", "/5 * * * *",
      NULL};
  for (int i = 0; lines[i]; i++)
    expect_same_verdict(c, lines[i]);
  PQfinish(c);
}
