/* Tests of durations and RFC 3339 times: good and bad input, canonical forms, round trips,
 * offsets, leap years and dates that do not exist. */
#include <stdlib.h>
#include "graph/timefmt.h"
#include "tests/test.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

static int64_t dur(const char *s) {
  int64_t ms = -1;
  struct err_detail d = {{0}, {0}};
  int rc = duration_parse(s, &ms, &d);
  if (rc)
    test_fail(__FILE__, __LINE__, "duration_parse(\"%s\") failed: %s", s, d.msg);
  return ms;
}

/* Parses s expecting ERR_PARSE; returns the message. */
static const char *dur_error(const char *s) {
  static struct err_detail d;
  int64_t ms = 12345;
  int rc = duration_parse(s, &ms, &d);
  if (rc != ERR_PARSE)
    test_fail(__FILE__, __LINE__, "duration_parse(\"%s\") gave %s, want PARSE", s, err_name(rc));
  if (ms != 12345)
    test_fail(__FILE__, __LINE__, "a failed parse wrote its result");
  return d.msg;
}

static int64_t tparse(const char *s) {
  int64_t ms = 0;
  struct err_detail d = {{0}, {0}};
  int rc = time_parse_rfc3339(s, &ms, &d);
  if (rc)
    test_fail(__FILE__, __LINE__, "time_parse_rfc3339(\"%s\") failed: %s", s, d.msg);
  return ms;
}

static const char *time_error(const char *s) {
  static struct err_detail d;
  int64_t ms;
  int rc = time_parse_rfc3339(s, &ms, &d);
  if (rc != ERR_PARSE)
    test_fail(__FILE__, __LINE__, "time_parse_rfc3339(\"%s\") gave %s, want PARSE", s,
              err_name(rc));
  return d.msg;
}

static const char *tfmt(int64_t ms) {
  static char buf[40];
  return time_format_rfc3339(ms, buf, sizeof buf);
}

static const char *dfmt(int64_t ms) {
  static char buf[40];
  return duration_format(ms, buf, sizeof buf);
}

TEST(duration_parses_each_unit) {
  ASSERT_INT_EQ(dur("500ms"), 500);
  ASSERT_INT_EQ(dur("30s"), 30 * SEC);
  ASSERT_INT_EQ(dur("15m"), 15 * MIN);
  ASSERT_INT_EQ(dur("1h"), HOUR);
  ASSERT_INT_EQ(dur("2d"), 2 * DAY);
  ASSERT_INT_EQ(dur("1w"), 7 * DAY);
  ASSERT_INT_EQ(dur("0s"), 0);
  ASSERT_INT_EQ(dur("90s"), 90 * SEC);
  ASSERT_INT_EQ(dur("007m"), 7 * MIN);
}

TEST(duration_combines_units) {
  ASSERT_INT_EQ(dur("1h30m"), HOUR + 30 * MIN);
  ASSERT_INT_EQ(dur("1d12h"), DAY + 12 * HOUR);
  ASSERT_INT_EQ(dur("1w2d3h4m5s6ms"), 9 * DAY + 3 * HOUR + 4 * MIN + 5 * SEC + 6);
  ASSERT_INT_EQ(dur("30m1h"), HOUR + 30 * MIN);
  ASSERT_INT_EQ(dur("1m500ms"), MIN + 500);
}

TEST(duration_rejects_bad_input_naming_the_position) {
  ASSERT_STR_CONTAINS(dur_error(""), "empty duration");
  ASSERT_STR_EQ(dur_error("-5m"),
                "duration \"-5m\": at character 1: negative durations are not allowed");
  ASSERT_STR_EQ(dur_error("5"),
                "duration \"5\": at character 2: missing unit (ms, s, m, h, d or w)");
  ASSERT_STR_EQ(dur_error("1h30x"),
                "duration \"1h30x\": at character 5: unknown unit \"x\" (use ms, s, m, h, d or w)");
  ASSERT_STR_CONTAINS(dur_error("10min"), "at character 3: unknown unit \"min\"");
  ASSERT_STR_CONTAINS(dur_error("2y"), "at character 2: unknown unit \"y\"");
  ASSERT_STR_CONTAINS(dur_error("1.5h"), "at character 2: fractions are not allowed");
  ASSERT_STR_CONTAINS(dur_error("1h 30m"), "at character 3: expected a number, found \" \"");
  ASSERT_STR_CONTAINS(dur_error(" 1h"), "at character 1: expected a number");
  ASSERT_STR_CONTAINS(dur_error("h"), "at character 1: expected a number");
  ASSERT_STR_CONTAINS(dur_error("1H"), "unknown unit \"H\"");
  ASSERT_STR_CONTAINS(dur_error("1h2h"), "at character 4: unit \"h\" given twice");
  ASSERT_STR_CONTAINS(dur_error("1h30"), "at character 5: missing unit");
}

TEST(duration_rejects_more_than_a_hundred_years) {
  ASSERT_INT_EQ(dur("5217w"), 5217 * 7 * DAY);
  ASSERT_INT_EQ(dur("36525d"), 36525 * DAY);
  ASSERT_STR_CONTAINS(dur_error("36526d"), "at character 1: longer than 100 years");
  ASSERT_STR_CONTAINS(dur_error("36525d1ms"), "at character 7: longer than 100 years");
  ASSERT_STR_CONTAINS(dur_error("99999999999999999999999s"), "longer than 100 years");
  ASSERT_STR_CONTAINS(dur_error("9223372036854775807ms"), "longer than 100 years");
}

TEST(duration_formats_canonically) {
  ASSERT_STR_EQ(dfmt(0), "0s");
  ASSERT_STR_EQ(dfmt(500), "500ms");
  ASSERT_STR_EQ(dfmt(90 * SEC), "1m30s");
  ASSERT_STR_EQ(dfmt(HOUR + 30 * MIN), "1h30m");
  ASSERT_STR_EQ(dfmt(7 * DAY), "1w");
  ASSERT_STR_EQ(dfmt(DAY + 12 * HOUR), "1d12h");
  ASSERT_STR_EQ(dfmt(8 * DAY + 1), "1w1d1ms");
  ASSERT_STR_EQ(dfmt(-90 * SEC), "-1m30s");
  char small[4];
  ASSERT_STR_EQ(duration_format(HOUR + 30 * MIN, small, sizeof small), "1h3");
}

TEST(duration_format_round_trips) {
  const char *in[] = {
      "30s", "15m", "1h", "2d", "1w", "500ms", "1h30m", "1d12h", "1w6d23h59m59s999ms"};
  for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
    ASSERT_STR_EQ(dfmt(dur(in[i])), in[i]);
  ASSERT_STR_EQ(dfmt(dur("90m")), "1h30m");
  ASSERT_STR_EQ(dfmt(dur("30m1h")), "1h30m");
}

TEST(time_parses_utc_and_offsets) {
  ASSERT_INT_EQ(tparse("1970-01-01T00:00:00Z"), 0);
  ASSERT_INT_EQ(tparse("2026-11-22T14:38:29Z"), 1795358309000LL);
  ASSERT_INT_EQ(tparse("2026-11-22T21:38:29+07:00"), 1795358309000LL);
  ASSERT_INT_EQ(tparse("2026-11-22T09:08:29-05:30"), 1795358309000LL);
  ASSERT_INT_EQ(tparse("2026-11-22t14:38:29z"), 1795358309000LL);
  ASSERT_INT_EQ(tparse("2026-11-22T14:38:29-00:00"), 1795358309000LL);
  ASSERT_INT_EQ(tparse("1969-12-31T23:59:59.999Z"), -1);
  ASSERT_INT_EQ(tparse("2000-01-01T07:00:00+07:00"), 946684800000LL);
}

TEST(time_parses_fractional_seconds) {
  ASSERT_INT_EQ(tparse("2026-11-22T14:38:29.1Z") % 1000, 100);
  ASSERT_INT_EQ(tparse("2026-11-22T14:38:29.12Z") % 1000, 120);
  ASSERT_INT_EQ(tparse("2026-11-22T14:38:29.123Z") % 1000, 123);
  ASSERT_INT_EQ(tparse("2026-11-22T14:38:29.123999999Z") % 1000, 123);
  ASSERT_STR_CONTAINS(time_error("2026-11-22T14:38:29.Z"), "at character 21: expected a digit");
}

TEST(time_knows_leap_years) {
  ASSERT_INT_EQ(tparse("2024-02-29T00:00:00Z") + DAY, tparse("2024-03-01T00:00:00Z"));
  ASSERT_INT_EQ(tparse("2000-02-29T12:00:00Z") + DAY, tparse("2000-03-01T12:00:00Z"));
  ASSERT_STR_CONTAINS(time_error("2023-02-29T00:00:00Z"),
                      "at character 9: day 29 does not exist in 2023-02");
  ASSERT_STR_CONTAINS(time_error("1900-02-29T00:00:00Z"), "day 29 does not exist in 1900-02");
  ASSERT_STR_CONTAINS(time_error("2024-02-30T00:00:00Z"), "day 30 does not exist in 2024-02");
  ASSERT_STR_CONTAINS(time_error("2026-04-31T00:00:00Z"), "day 31 does not exist in 2026-04");
  ASSERT_STR_EQ(tfmt(tparse("2400-02-29T23:59:59.999Z")), "2400-02-29T23:59:59.999Z");
}

TEST(time_rejects_malformed_input) {
  ASSERT_STR_EQ(
      time_error("2026-13-01T00:00:00Z"),
      "time \"2026-13-01T00:00:00Z\": at character 6: month 13 is out of range (1 to 12)");
  ASSERT_STR_CONTAINS(time_error("2026-00-10T00:00:00Z"), "month 0 is out of range");
  ASSERT_STR_CONTAINS(time_error("2026-01-00T00:00:00Z"), "day 0 is out of range");
  ASSERT_STR_CONTAINS(time_error("2026-01-01T24:00:00Z"), "at character 12: hour 24");
  ASSERT_STR_CONTAINS(time_error("2026-01-01T23:60:00Z"), "minute 60");
  ASSERT_STR_CONTAINS(time_error("2026-06-30T23:59:60Z"), "second 60");
  ASSERT_STR_CONTAINS(time_error("2026-01-01 10:00:00Z"), "at character 11: expected \"T\"");
  ASSERT_STR_CONTAINS(time_error("2026-01-01T10:00:00"),
                      "at character 20: expected \"Z\" or an offset");
  ASSERT_STR_CONTAINS(time_error("2026-01-01T10:00:00+0700"), "expected \":\" in the offset");
  ASSERT_STR_CONTAINS(time_error("2026-01-01T10:00:00+24:00"), "offset hour 24");
  ASSERT_STR_CONTAINS(time_error("2026-01-01T10:00:00Z "), "at character 21: unexpected text");
  ASSERT_STR_CONTAINS(time_error("2026-1-01T10:00:00Z"),
                      "at character 7: expected a digit of the month");
  ASSERT_STR_CONTAINS(time_error("2026-01-01"), "at character 11: expected \"T\"");
  ASSERT_STR_CONTAINS(time_error(""), "at character 1: expected a digit of the year");
  ASSERT_STR_CONTAINS(time_error("2026-01-01T10:00Z"), "expected \":\" after the minute");
}

TEST(time_formats_utc_with_milliseconds) {
  ASSERT_STR_EQ(tfmt(0), "1970-01-01T00:00:00.000Z");
  ASSERT_STR_EQ(tfmt(1795358309123LL), "2026-11-22T14:38:29.123Z");
  ASSERT_STR_EQ(tfmt(-1), "1969-12-31T23:59:59.999Z");
  ASSERT_STR_EQ(tfmt(-62135596800000LL), "0001-01-01T00:00:00.000Z");
  ASSERT_STR_EQ(tfmt(253402300799999LL), "9999-12-31T23:59:59.999Z");
  ASSERT_STR_EQ(tfmt(253402300800000LL), "+010000-01-01T00:00:00.000Z");
  ASSERT_STR_EQ(tfmt(-62167219200001LL), "-000001-12-31T23:59:59.999Z");
  /* Instants spread over years 1..9999 read back as themselves; a buffer too short for the
   * whole text gets as much as fits. */
  for (int64_t ms = -62135596800000LL; ms < 253402300800000LL; ms += 7919LL * 86400007LL)
    ASSERT_INT_EQ(tparse(tfmt(ms)), ms);
  char small[11];
  ASSERT_STR_EQ(time_format_rfc3339(1795358309123LL, small, sizeof small), "2026-11-22");
}

TEST(time_round_trips) {
  const char *in[] = {"1970-01-01T00:00:00.000Z", "2026-11-22T14:38:29.123Z",
                      "2024-02-29T00:00:00.001Z", "1900-03-01T12:34:56.789Z",
                      "0000-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z",
                      "1600-02-29T06:00:00.500Z"};
  for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
    ASSERT_STR_EQ(tfmt(tparse(in[i])), in[i]);
  /* Every day over four centuries, so each month length and leap rule is crossed. */
  int64_t start = tparse("1899-12-31T00:00:00Z");
  for (int64_t day = 0; day < 146097 + 400; day++) {
    int64_t ms = start + day * DAY + 43200123;
    ASSERT_INT_EQ(tparse(tfmt(ms)), ms);
  }
  ASSERT_STR_EQ(tfmt(tparse("2026-11-22T21:38:29.5+07:00")), "2026-11-22T14:38:29.500Z");
}

TEST(time_does_not_depend_on_tz) {
  setenv("TZ", "Asia/Ho_Chi_Minh", 1);
  ASSERT_INT_EQ(tparse("2026-11-22T14:38:29Z"), 1795358309000LL);
  ASSERT_STR_EQ(tfmt(1795358309000LL), "2026-11-22T14:38:29.000Z");
  setenv("TZ", "America/New_York", 1);
  ASSERT_INT_EQ(tparse("2026-07-01T00:00:00Z"), tparse("2026-06-30T20:00:00-04:00"));
}

TEST(time_now_is_recent) {
  int64_t now = time_now_ms();
  ASSERT_INT_OP(now, >, tparse("2024-01-01T00:00:00Z"));
  ASSERT_INT_OP(now, <, tparse("2200-01-01T00:00:00Z"));
}
