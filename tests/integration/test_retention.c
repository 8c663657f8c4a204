/* Retention: events, runs and steps live in day partitions; flowd keeps days ahead and drops
 * expired days whole (never row by row), keeping a day while one of its runs still waits. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "tests/helpers.h"
#include "tests/integration/exec_util.h"
#include "tests/test.h"

static void exec_sql(const char *sql) { free(sql_value(test_pg_conninfo(), sql)); }

TEST_PG(retention_drops_expired_days_whole_and_keeps_days_with_waiting_runs) {
  struct flowd_proc p;
  flowd_start(&p, NULL, "test", NULL);
  flowd_wait_ready(&p, 60000);
  long long today = sql_num("SELECT extract(epoch FROM now())::bigint / 86400");
  char q[512];
  /* flowd made the days ahead at start. */
  snprintf(q, sizeof q, "SELECT to_regclass('runs_d%lld') IS NOT NULL", today + 7);
  wait_sql(q, "t", 5000);
  /* Two old days: one with a finished run and its step, one with a run still waiting. */
  long long old1 = today - 40, old2 = today - 35;
  snprintf(q, sizeof q, "SELECT flowd_ensure_day(%lld), flowd_ensure_day(%lld)", old1, old2);
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
