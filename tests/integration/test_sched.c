/* trigger.schedule against a real flowd and PostgreSQL: activation indexes a flow's
 * schedules with their next due time, a due schedule starts exactly one run (also with two
 * processes on one database), missed due times fire once, deactivation stops a schedule, an
 * unknown time zone is refused. Due times are forced through SQL, never waited for. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/helpers.h"
#include "tests/integration/exec_util.h"
#include "tests/test.h"

/* A schedule (cron, time zone JSON member or "") and a set node that keeps what the run saw
 * of its trigger event. */
#define SCHED_FLOW(id, cron, tz)                                                             \
  "{\"id\":\"" id "\",\"name\":\"Schedule " id "\",\"nodes\":["                           \
  "{\"id\":\"t\",\"type\":\"trigger.schedule\",\"config\":{\"cron\":\"" cron "\"" tz "}},"    \
  "{\"id\":\"v\",\"type\":\"set\",\"config\":{\"values\":{\"type\":\"{{event.type}}\","     \
  "\"node\":\"{{event.data.node_id}}\",\"at\":\"{{event.data.scheduled_at}}\"}}}],"          \
  "\"edges\":[{\"from\":\"t\",\"to\":\"v\"}]}"

/* Runs whose schedule.fired event was for due time `at` (RFC 3339, UTC). */
#define RUNS_AT                                                                              \
  "SELECT count(*) FROM runs r JOIN events e ON e.id = r.event_id WHERE e.type = "         \
  "'schedule.fired' AND e.data->>'scheduled_at' = '%s'"

static void exec_sql(const char *sql) { free(sql_value(test_pg_conninfo(), sql)); }

static void start(struct flowd_proc *p) {
  flowd_start(p, NULL, "test", NULL);
  flowd_wait_ready(p, 60000);
}

/* A due time `minutes_ago` whole minutes before now, as the event's scheduled_at shows it. */
static void past_minute(int minutes_ago, char *out, size_t len) {
  char q[256];
  snprintf(q, sizeof q, "SELECT to_char((date_trunc('minute', now()) - interval '%d minutes') "
           "AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')", minutes_ago);
  char *v = sql_value(test_pg_conninfo(), q);
  snprintf(out, len, "%s", v);
  free(v);
}

/* Makes the schedules of flow (NULL: all) due at `at`. No NOTIFY: a process finds them at
 * its periodic look (every 5 s at most). */
static void force_due(const char *flow, const char *at) {
  char q[512];
  snprintf(q, sizeof q, "UPDATE flow_schedules SET next_at = '%s' WHERE %s%s%s", at,
           flow ? "flow_id = '" : "true", flow ? flow : "", flow ? "'" : "");
  exec_sql(q);
}

TEST_PG(sched_activation_indexes_the_schedule_with_its_next_due_time) {
  struct flowd_proc p;
  start(&p);
  flow_install(&p, SCHED_FLOW("f_tick", "* * * * *", ""));
  flow_install(&p, SCHED_FLOW("f_nine", "0 9 * * *", ",\"timezone\":\"Asia/Ho_Chi_Minh\""));
  wait_sql("SELECT string_agg(flow_id || ' ' || version || ' ' || node_id || ' ' || cron || "
           "' ' || timezone, ',' ORDER BY flow_id) FROM flow_schedules",
           "f_nine 1 t 0 9 * * * Asia/Ho_Chi_Minh,f_tick 1 t * * * * * UTC", 1000);
  /* Every minute: the minute after activation (or, if that one came and fired meanwhile,
   * the minute after that firing). */
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM flow_schedules s JOIN flows f ON f.id = "
                        "s.flow_id WHERE s.flow_id = 'f_tick' AND (s.next_at = "
                        "date_trunc('minute', f.updated_at) + interval '1 minute' OR "
                        "s.next_at = date_trunc('minute', s.fired_at) + interval '1 minute')"),
                1);
  /* 09:00 in Ho Chi Minh City (UTC+7) within the next day. */
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM flow_schedules s JOIN flows f ON f.id = "
                        "s.flow_id WHERE s.flow_id = 'f_nine' AND "
                        "(s.next_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::time = '09:00' AND "
                        "to_char(s.next_at AT TIME ZONE 'UTC', 'HH24:MI') = '02:00' AND "
                        "s.next_at > f.updated_at AND "
                        "s.next_at <= f.updated_at + interval '1 day'"),
                1);
  /* A new active version with another cron replaces the schedule. */
  struct http_resp r;
  const char *v2 = "{\"revision\":1,\"flow\":" SCHED_FLOW("f_nine", "30 18 * * 1", "") "}";
  ASSERT_INT_EQ(api_do(&p, "PUT", "/api/flows/f_nine", v2, &r), 0);
  ASSERT_INT_EQ(r.status, 200);
  http_resp_free(&r);
  ASSERT_INT_EQ(api_do(&p, "POST", "/api/flows/f_nine/publish", NULL, &r), 0);
  ASSERT_INT_EQ(r.status, 201);
  http_resp_free(&r);
  ASSERT_INT_EQ(api_do(&p, "POST", "/api/flows/f_nine/activate", NULL, &r), 0);
  ASSERT_INT_EQ(r.status, 200);
  http_resp_free(&r);
  wait_sql("SELECT version || ' ' || cron || ' ' || timezone || ' ' || "
           "to_char(next_at AT TIME ZONE 'UTC', 'ID HH24:MI') FROM flow_schedules "
           "WHERE flow_id = 'f_nine'", "2 30 18 * * 1 UTC 1 18:30", 1000);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

TEST_PG(sched_forced_due_schedule_starts_exactly_one_run_that_finishes_and_advances) {
  struct flowd_proc p;
  start(&p);
  flow_install(&p, SCHED_FLOW("f_tick", "* * * * *", ""));
  /* Due an hour ago: sixty missed minutes, which fire once. */
  char at[40], q[512];
  past_minute(60, at, sizeof at);
  force_due("f_tick", at);
  snprintf(q, sizeof q, RUNS_AT " AND r.status = 'succeeded'", at);
  wait_sql(q, "1", 15000);
  long long run = 0;
  snprintf(q, sizeof q, "SELECT r.id FROM runs r JOIN events e ON e.id = r.event_id WHERE "
           "e.data->>'scheduled_at' = '%s'", at);
  run = sql_num(q);
  /* The run had its trigger event in scope, and ran version 1 from node t. */
  snprintf(q, sizeof q, "SELECT string_agg(node_id || ':' || status, ',' ORDER BY id) FROM "
           "steps WHERE run_id = %lld", run);
  wait_sql(q, "t:succeeded,v:succeeded", 1000);
  char want[160];
  snprintf(want, sizeof want, "schedule.fired|t|%s", at);
  snprintf(q, sizeof q, "SELECT concat_ws('|', output->>'type', output->>'node', "
           "output->>'at') FROM steps WHERE run_id = %lld AND node_id = 'v'", run);
  wait_sql(q, want, 1000);
  snprintf(q, sizeof q, "SELECT concat_ws('|', r.flow_id, r.flow_version, r.trigger_node, "
           "e.data->>'flow_id', e.data->>'cron', e.data->>'timezone') FROM runs r JOIN events e "
           "ON e.id = r.event_id WHERE r.id = %lld", run);
  wait_sql(q, "f_tick|1|t|f_tick|* * * * *|UTC", 1000);
  /* The next due time moved on: the minute after the firing, not the next missed minute. */
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM flow_schedules WHERE flow_id = 'f_tick' AND "
                        "fired_at IS NOT NULL AND next_at > fired_at AND "
                        "next_at = date_trunc('minute', fired_at) + interval '1 minute'"), 1);
  /* Still exactly one run for that due time a moment later. */
  sleep_ms(1000);
  snprintf(q, sizeof q, RUNS_AT, at);
  ASSERT_INT_EQ(sql_num(q), 1);
  /* Nor for any of the other missed minutes. */
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM events WHERE type = 'schedule.fired' AND "
                        "(data->>'scheduled_at')::timestamptz < now() - interval '2 minutes'"),
                1);
  ASSERT(metric_value(&p, "flowd_schedules_fired_total") >= 1);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

#define NFLOWS 8
#define ROUNDS 4

TEST_PG(sched_two_processes_fire_each_due_time_exactly_once) {
  struct flowd_proc a, b;
  flowd_start(&a, NULL, "test", NULL);
  flowd_start(&b, NULL, "test", NULL);
  flowd_wait_ready(&a, 60000);
  flowd_wait_ready(&b, 60000);
  /* Yearly schedules: none comes due by itself during the test. */
  static const char *const flows[NFLOWS] = {
      SCHED_FLOW("f_y0", "0 0 1 1 *", ""), SCHED_FLOW("f_y1", "0 0 1 1 *", ""),
      SCHED_FLOW("f_y2", "0 0 1 1 *", ""), SCHED_FLOW("f_y3", "0 0 1 1 *", ""),
      SCHED_FLOW("f_y4", "0 0 1 1 *", ""), SCHED_FLOW("f_y5", "0 0 1 1 *", ""),
      SCHED_FLOW("f_y6", "0 0 1 1 *", ""), SCHED_FLOW("f_y7", "0 0 1 1 *", "")};
  for (int i = 0; i < NFLOWS; i++)
    flow_install(i % 2 ? &b : &a, flows[i]);
  wait_sql("SELECT count(*) FROM flow_schedules", "8", 1000);
  char q[600], want[16];
  for (int round = 1; round <= ROUNDS; round++) {
    char at[40];
    past_minute(round * 10, at, sizeof at);
    /* Due at once for every flow, and both processes woken at the same moment (as an
     * activation's NOTIFY does), so that they race for the same rows. */
    snprintf(q, sizeof q, "UPDATE flow_schedules SET next_at = '%s'; "
             "SELECT pg_notify('flowd_flows', 'test')", at);
    exec_sql(q);
    snprintf(q, sizeof q, "SELECT (" RUNS_AT " AND r.status = 'succeeded') >= %d", at, NFLOWS);
    wait_sql(q, "t", 20000);
    snprintf(q, sizeof q, RUNS_AT, at);
    ASSERT_INT_EQ(sql_num(q), NFLOWS);
  }
  sleep_ms(1000);
  snprintf(want, sizeof want, "%d", NFLOWS * ROUNDS);
  wait_sql("SELECT count(*) FROM runs", want, 1000);
  wait_sql("SELECT count(DISTINCT (e.data->>'flow_id', e.data->>'scheduled_at')) FROM runs r "
           "JOIN events e ON e.id = r.event_id", want, 1000);
  wait_sql("SELECT count(*) FROM runs WHERE status = 'succeeded'", want, 1000);
  long long fa = metric_value(&a, "flowd_schedules_fired_total");
  long long fb = metric_value(&b, "flowd_schedules_fired_total");
  test_log("fired: %lld by one process, %lld by the other", fa, fb);
  ASSERT_INT_EQ(fa + fb, NFLOWS * ROUNDS);
  ASSERT_INT_EQ(flowd_stop(&a, SIGTERM, 30000), 0);
  ASSERT_INT_EQ(flowd_stop(&b, SIGTERM, 30000), 0);
}

TEST_PG(sched_missed_due_times_while_down_fire_once_on_start) {
  struct flowd_proc p;
  start(&p);
  flow_install(&p, SCHED_FLOW("f_tick", "* * * * *", ""));
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
  /* Down for three hours: 180 due times missed. */
  char at[40], q[512];
  past_minute(180, at, sizeof at);
  force_due("f_tick", at);
  start(&p);
  snprintf(q, sizeof q, RUNS_AT " AND r.status = 'succeeded'", at);
  wait_sql(q, "1", 15000);
  sleep_ms(1000);
  /* One run for the whole outage; the schedule goes on from now. */
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM events WHERE type = 'schedule.fired' AND "
                        "(data->>'scheduled_at')::timestamptz < now() - interval '2 minutes'"),
                1);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM flow_schedules WHERE next_at > now() - "
                        "interval '5 seconds' AND next_at <= now() + interval '1 minute'"), 1);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

TEST_PG(sched_deactivation_stops_the_schedule_and_reactivation_does_not_catch_up) {
  struct flowd_proc p;
  start(&p);
  flow_install(&p, SCHED_FLOW("f_year", "0 0 1 1 *", ""));
  wait_sql("SELECT count(*) FROM flow_schedules WHERE flow_id = 'f_year'", "1", 1000);
  char at[40];
  past_minute(30, at, sizeof at);
  struct http_resp r;
  ASSERT_INT_EQ(api_do(&p, "POST", "/api/flows/f_year/deactivate", NULL, &r), 0);
  ASSERT_INT_EQ(r.status, 200);
  http_resp_free(&r);
  /* Gone with the deactivation's commit: nothing is left to come due. */
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM flow_schedules"), 0);
  force_due(NULL, at);
  exec_sql("SELECT pg_notify('flowd_flows', 'test')");
  sleep_ms(1000);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM runs"), 0);
  /* Activated again: due next 1 January, not for what passed while it was inactive. */
  ASSERT_INT_EQ(api_do(&p, "POST", "/api/flows/f_year/activate", NULL, &r), 0);
  ASSERT_INT_EQ(r.status, 200);
  http_resp_free(&r);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM flow_schedules WHERE next_at = "
                        "date_trunc('year', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + "
                        "interval '1 year'"), 1);
  sleep_ms(500);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM runs"), 0);
  /* Deleting the flow deletes its schedule. */
  ASSERT_INT_EQ(api_do(&p, "DELETE", "/api/flows/f_year", NULL, &r), 0);
  ASSERT_INT_EQ(r.status, 204);
  http_resp_free(&r);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM flow_schedules"), 0);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

TEST_PG(sched_unknown_time_zone_is_refused_at_activation) {
  struct flowd_proc p;
  start(&p);
  struct http_resp r;
  ASSERT_INT_EQ(api_do(&p, "POST", "/api/flows",
                       SCHED_FLOW("f_mars", "0 9 * * *", ",\"timezone\":\"Mars/Olympus\""), &r),
                0);
  ASSERT_INT_EQ(r.status, 201);
  http_resp_free(&r);
  ASSERT_INT_EQ(api_do(&p, "POST", "/api/flows/f_mars/publish", NULL, &r), 0);
  ASSERT_INT_EQ(r.status, 201);
  http_resp_free(&r);
  ASSERT_INT_EQ(api_do(&p, "POST", "/api/flows/f_mars/activate", NULL, &r), 0);
  ASSERT_INT_EQ(r.status, 422);
  ASSERT_STR_CONTAINS(r.body, "unknown time zone \\\"Mars/Olympus\\\"");
  /* The problem names its node and field, as the editor shows publish problems. */
  const cJSON *pr = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(
                        cJSON_GetObjectItem(r.json, "error"), "details"), "problems"), 0);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(pr, "node")), "t");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(pr, "path")), "/nodes/0/config/timezone");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(pr, "code")), "timezone");
  http_resp_free(&r);
  /* Nothing of the activation was kept. */
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM flows WHERE active_version IS NOT NULL"), 0);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM flow_schedules"), 0);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}
