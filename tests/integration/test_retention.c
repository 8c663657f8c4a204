/* Retention: events, runs and steps live in partitions of a period of days; flowd keeps the
 * days ahead and drops expired periods whole (never row by row), keeping a period while one
 * of its runs still waits. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "server/migrate.h"
#include "tests/helpers.h"
#include "tests/integration/exec_util.h"
#include "tests/test.h"

static void exec_sql(const char *sql) { free(sql_value(test_pg_conninfo(), sql)); }

/* Today as days since the epoch, the day in an id (flowd_day_id) and in a partition's name. */
static long long today_day(void) {
  return sql_num("SELECT extract(epoch FROM now())::bigint / 86400");
}

TEST_PG(retention_drops_expired_days_whole_and_keeps_days_with_waiting_runs) {
  struct flowd_proc p;
  flowd_start(&p, NULL, "test", NULL);
  flowd_wait_ready(&p, 60000);
  long long today = today_day();
  char q[512];
  /* flowd made the days ahead at start. */
  snprintf(q, sizeof q, "SELECT count(*) FROM history_periods WHERE day_from <= %lld AND "
           "day_to > %lld", today + 7, today + 7);
  wait_sql(q, "1", 5000);
  /* Two old one-day periods: one with a finished run and its step, one with a run still
   * waiting. */
  long long old1 = today - 40, old2 = today - 35;
  snprintf(q, sizeof q, "SELECT flowd_ensure_day(%lld, 1), flowd_ensure_day(%lld, 1)", old1,
           old2);
  exec_sql(q);
  snprintf(q, sizeof q,
           "INSERT INTO runs (id, flow_id, flow_version, trigger_node, status) VALUES "
           "((%lld::bigint << 32) | 1, 'f', 1, 't', 'succeeded'), "
           "((%lld::bigint << 32) | 1, 'f', 1, 't', 'waiting')", old1, old2);
  exec_sql(q);
  snprintf(q, sizeof q, "INSERT INTO steps (run_id, node_id, status) VALUES "
           "((%lld::bigint << 32) | 1, 't', 'succeeded')", old1);
  exec_sql(q);
  snprintf(q, sizeof q, "SELECT flowd_maintain(30, 7)::text");
  char *dropped = sql_value(test_pg_conninfo(), q);
  char want[32];
  snprintf(want, sizeof want, "{%lld}", old1);
  ASSERT_STR_EQ(dropped, want);
  free(dropped);
  snprintf(q, sizeof q, "SELECT to_regclass('runs_d%lld') IS NULL AND to_regclass('steps_d%lld') "
           "IS NULL AND to_regclass('events_d%lld') IS NULL AND to_regclass('runs_d%lld') IS "
           "NOT NULL AND to_regclass('events_d%lld') IS NOT NULL", old1, old1, old1, old2, old2);
  wait_sql(q, "t", 1000);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM runs WHERE status = 'waiting'"), 1);
  /* Once its last run is over, that day goes too. */
  exec_sql("UPDATE runs SET status = 'cancelled' WHERE status = 'waiting'");
  snprintf(want, sizeof want, "{%lld}", old2);
  dropped = sql_value(test_pg_conninfo(), "SELECT flowd_maintain(30, 7)::text");
  ASSERT_STR_EQ(dropped, want);
  free(dropped);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM runs"), 0);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

TEST(retention_setting_must_be_whole_days) {
  char cmd[700];
  snprintf(cmd, sizeof cmd, "FLOWD_RETENTION=12h '%s' --version 2>&1", test_flowd_binary());
  FILE *f = popen(cmd, "r");
  char out[512] = "";
  size_t n = fread(out, 1, sizeof out - 1, f);
  out[n] = '\0';
  int st = pclose(f);
  ASSERT_INT_EQ(WEXITSTATUS(st), 2);
  ASSERT_STR_CONTAINS(out, "invalid retention");
}

/* A 30-day retention keeps periods of 7 days: a new database has a handful of partitions for
 * the days around today instead of one per day; a period goes once its last day has expired,
 * with every row in it, and today's events, runs and steps land in today's period. A short
 * retention makes short periods. */
TEST_PG(retention_keeps_week_periods_and_drops_a_period_when_its_last_day_expires) {
  struct flowd_proc p;
  flowd_start(&p, NULL, "test", NULL);
  flowd_wait_ready(&p, 60000);
  long long today = today_day();
  char q[600];
  /* Yesterday through a week ahead: two or three periods (by where today falls in its week),
   * each with its three partitions, not nine days of them. */
  snprintf(q, sizeof q, "SELECT count(*) FROM history_periods WHERE day_to > %lld AND "
           "day_from <= %lld", today - 1, today + 7);
  long long periods = sql_num(q);
  ASSERT(periods >= 2 && periods <= 3);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM history_periods WHERE day_to - day_from <> 7"), 0);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM pg_inherits WHERE inhparent = 'runs'::regclass"),
                sql_num("SELECT count(*) FROM history_periods") + 1 /* runs_default */);
  /* Today's rows go to the period that holds today, named by its first day. */
  long long from = today - today % 7;
  snprintf(q, sizeof q, "SELECT count(*) FROM history_periods WHERE day_from = %lld AND "
           "day_to = %lld", from, from + 7);
  ASSERT_INT_EQ(sql_num(q), 1);
  exec_sql("INSERT INTO runs (flow_id, flow_version, trigger_node, status) VALUES "
           "('f', 1, 't', 'succeeded')");
  snprintf(q, sizeof q, "SELECT count(*) FROM runs_d%lld", from);
  ASSERT_INT_EQ(sql_num(q), 1);
  /* A period five to six weeks back, with a run on its first and on its last day: kept
   * while its last day is within the retention, dropped whole once that day is not. */
  long long old = today - 35 - ((today - 35) % 7 + 7) % 7;
  snprintf(q, sizeof q, "SELECT flowd_ensure_day(%lld, 7)", old + 3);
  exec_sql(q);
  snprintf(q, sizeof q,
           "INSERT INTO runs (id, flow_id, flow_version, trigger_node, status) VALUES "
           "((%lld::bigint << 32) | 1, 'f', 1, 't', 'succeeded'), "
           "((%lld::bigint << 32) | 1, 'f', 1, 't', 'failed')", old, old + 6);
  exec_sql(q);
  long long keep = today - (old + 7); /* the retention under which the period just stays */
  snprintf(q, sizeof q, "SELECT flowd_maintain(%lld, 7)::text", keep + 1);
  char *dropped = sql_value(test_pg_conninfo(), q);
  ASSERT_STR_EQ(dropped, "{}");
  free(dropped);
  snprintf(q, sizeof q, "SELECT count(*) FROM runs WHERE id < %lld::bigint << 32", old + 7);
  ASSERT_INT_EQ(sql_num(q), 2);
  snprintf(q, sizeof q, "SELECT flowd_maintain(%lld, 7)::text", keep);
  dropped = sql_value(test_pg_conninfo(), q);
  char want[32];
  snprintf(want, sizeof want, "{%lld}", old);
  ASSERT_STR_EQ(dropped, want);
  free(dropped);
  snprintf(q, sizeof q, "SELECT to_regclass('runs_d%lld') IS NULL AND to_regclass('events_d%lld') "
           "IS NULL AND to_regclass('steps_d%lld') IS NULL", old, old, old);
  wait_sql(q, "t", 1000);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM runs"), 1);
  /* A short retention keeps short periods: with 4 days, the days made from now on (20 ahead)
   * are one day each, so history is not kept a week past a 4-day retention. */
  long long covered = sql_num("SELECT max(day_to) FROM history_periods");
  dropped = sql_value(test_pg_conninfo(), "SELECT flowd_maintain(4, 20)::text");
  free(dropped);
  snprintf(q, sizeof q, "SELECT count(*) FROM history_periods WHERE day_from >= %lld AND "
           "day_to - day_from = 1", covered);
  ASSERT_INT_EQ(sql_num(q), today + 21 - covered);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

/* An upgrade from day partitions (schema before 012): the days from yesterday on that are
 * still empty are made again as periods; a day that holds rows stays, as a one-day period,
 * with its rows; afterwards every day from yesterday to a week ahead is in exactly one
 * partition, and the partitions are what history_periods says. */
TEST_PG(retention_upgrade_makes_empty_days_periods_and_keeps_days_with_rows) {
  int version = 0;
  struct err_detail e = {{0}, {0}};
  if (migrate_run_upto(test_pg_conninfo(), 10, 11, &version, &e) != 0)
    test_fail(__FILE__, __LINE__, "migrating to 11: %s", e.msg);
  ASSERT_INT_EQ(version, 11);
  long long today = today_day();
  char q[600];
  snprintf(q, sizeof q, "SELECT (to_regclass('runs_d%lld') IS NOT NULL)::int", today + 3);
  ASSERT_INT_EQ(sql_num(q), 1); /* 011 made one partition per day */
  snprintf(q, sizeof q, "SELECT flowd_ensure_day(%lld)", today - 20);
  exec_sql(q);
  snprintf(q, sizeof q,
           "INSERT INTO runs (id, flow_id, flow_version, trigger_node, status) VALUES "
           "(flowd_day_id(), 'f', 1, 't', 'succeeded'), "
           "((%lld::bigint << 32) | 1, 'f', 1, 't', 'waiting')", today - 20);
  exec_sql(q);
  if (migrate_run(test_pg_conninfo(), 10, &version, &e) != 0)
    test_fail(__FILE__, __LINE__, "migrating: %s", e.msg);
  ASSERT_INT_EQ(version, migrate_latest());
  snprintf(q, sizeof q, "SELECT count(*) FROM history_periods WHERE (day_from, day_to) IN "
           "((%lld, %lld), (%lld, %lld))", today, today + 1, today - 20, today - 19);
  ASSERT_INT_EQ(sql_num(q), 2);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM runs"), 2);
  snprintf(q, sizeof q, "SELECT count(*) FROM runs_d%lld", today);
  ASSERT_INT_EQ(sql_num(q), 1);
  snprintf(q, sizeof q, "SELECT count(*) FROM generate_series(%lld, %lld) d WHERE (SELECT "
           "count(*) FROM history_periods WHERE day_from <= d AND day_to > d) <> 1",
           today - 1, today + 7);
  ASSERT_INT_EQ(sql_num(q), 0);
  /* the day after today starts a period that ends where its week ends */
  snprintf(q, sizeof q, "SELECT day_to FROM history_periods WHERE day_from = %lld", today + 1);
  ASSERT_INT_EQ(sql_num(q), (today + 1) - (today + 1) % 7 + 7);
  const char *tables[] = {"events", "runs", "steps"};
  for (int i = 0; i < 3; i++) {
    snprintf(q, sizeof q, "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = "
             "i.inhrelid WHERE i.inhparent = '%s'::regclass AND c.relname NOT IN (SELECT "
             "'%s_d' || day_from FROM history_periods) AND c.relname <> '%s_default'",
             tables[i], tables[i], tables[i]);
    ASSERT_INT_EQ(sql_num(q), 0);
    snprintf(q, sizeof q, "SELECT count(*) FROM pg_inherits WHERE inhparent = '%s'::regclass",
             tables[i]);
    ASSERT_INT_EQ(sql_num(q), sql_num("SELECT count(*) FROM history_periods") + 1);
  }
}

/* After a long stop (no partition holds today any more), flowd makes today's partitions at
 * start, before it takes an event: the first event lands in its period, not in the default
 * partition (rows there would keep that period from ever being made). */
TEST_PG(retention_makes_todays_partitions_before_the_first_event_after_a_long_stop) {
  int version = 0;
  struct err_detail e = {{0}, {0}};
  if (migrate_run(test_pg_conninfo(), 10, &version, &e) != 0)
    test_fail(__FILE__, __LINE__, "migrating: %s", e.msg);
  exec_sql("DO $$ DECLARE r record; BEGIN FOR r IN SELECT day_from FROM history_periods WHERE "
           "day_to > (extract(epoch FROM now())::bigint / 86400)::int - 1 LOOP EXECUTE "
           "format('DROP TABLE %I, %I, %I', 'events_d' || r.day_from, 'runs_d' || r.day_from, "
           "'steps_d' || r.day_from); DELETE FROM history_periods WHERE day_from = r.day_from; "
           "END LOOP; END $$");
  long long today = today_day();
  char q[300];
  snprintf(q, sizeof q, "SELECT count(*) FROM history_periods WHERE day_from <= %lld AND "
           "day_to > %lld", today, today);
  ASSERT_INT_EQ(sql_num(q), 0);
  struct flowd_proc p;
  flowd_start(&p, NULL, "test", NULL);
  flowd_wait_ready(&p, 60000);
  event_post(&p, "{\"type\":\"order.created\",\"data\":{\"id\":\"o1\"}}");
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM events"), 1);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM events_default"), 0);
  ASSERT_INT_EQ(sql_num(q), 1);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}
