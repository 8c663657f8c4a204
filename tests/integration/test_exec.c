/* The executor against a real flowd and PostgreSQL: events start runs, branches and joins,
 * record updates through the event path, status rules cancelling waiting runs, delays,
 * wait.event, cancel and retry, test runs, priorities and the chain-depth limit. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/helpers.h"
#include "tests/integration/exec_util.h"
#include "tests/test.h"

static struct flowd_proc P;

static void start(void) {
  flowd_start(&P, NULL, "test", NULL);
  flowd_wait_ready(&P, 60000);
}

static void stop(void) { ASSERT_INT_EQ(flowd_stop(&P, SIGTERM, 30000), 0); }

/* Owner by source, with update_record setting owner_id (SPEC picture 1's shape). */
#define SOURCE_FLOW                                                                          \
  "{\"id\":\"f_src\",\"name\":\"By source\",\"nodes\":["                                   \
  "{\"id\":\"t\",\"type\":\"trigger.record\",\"config\":{\"kind\":\"order\",\"on\":\"created\"}}," \
  "{\"id\":\"s\",\"type\":\"branch.switch\",\"config\":{\"cases\":["                       \
  "{\"port\":\"website\",\"when\":{\"==\":[{\"var\":\"order.source\"},\"website\"]}},"     \
  "{\"port\":\"facebook\",\"when\":{\"==\":[{\"var\":\"order.source\"},\"facebook\"]}}]}}," \
  "{\"id\":\"a1\",\"type\":\"action.update_record\",\"config\":{\"target\":\"order\",\"set\":{\"owner_id\":\"s_lan\"}}}," \
  "{\"id\":\"a2\",\"type\":\"action.update_record\",\"config\":{\"target\":\"order\",\"set\":{\"owner_id\":\"s_minh\"}}}]," \
  "\"edges\":[{\"from\":\"t\",\"to\":\"s\"},{\"from\":\"s\",\"port\":\"website\",\"to\":\"a1\"}," \
  "{\"from\":\"s\",\"port\":\"facebook\",\"to\":\"a2\"}]}"

TEST_PG(exec_event_runs_the_branch_it_matches_and_updates_the_record) {
  start();
  flow_install(&P, SOURCE_FLOW);
  event_post(&P, "{\"type\":\"order.created\",\"data\":{\"id\":\"DH1\",\"source\":\"website\"}}");
  event_post(&P, "{\"type\":\"order.created\",\"data\":{\"id\":\"DH2\",\"source\":\"facebook\"}}");
  wait_sql("SELECT count(*) FROM runs WHERE status = 'succeeded'", "2", 10000);
  wait_sql("SELECT owner_id FROM records WHERE kind = 'order' AND id = 'DH1'", "s_lan", 5000);
  wait_sql("SELECT owner_id FROM records WHERE kind = 'order' AND id = 'DH2'", "s_minh", 5000);
  /* The website run took s, a1 and never a2. */
  wait_sql("SELECT string_agg(node_id || ':' || status, ',' ORDER BY id) FROM steps WHERE "
           "run_id = (SELECT run_id FROM steps WHERE node_id = 'a1')",
           "t:succeeded,s:succeeded,a1:succeeded", 5000);
  /* The update went through the event path, caused by the run. */
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM events WHERE type = 'order.updated' AND "
                        "record_id = 'DH1' AND cause_run IS NOT NULL"), 1);
  stop();
}

TEST_PG(exec_repeated_key_is_a_duplicate_and_starts_nothing) {
  start();
  flow_install(&P, SOURCE_FLOW);
  const char *ev = "{\"type\":\"order.created\",\"key\":\"k-1\",\"data\":{\"id\":\"DH1\","
                   "\"source\":\"website\"}}";
  struct http_resp r;
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/events", ev, &r), 0);
  ASSERT_INT_EQ(r.status, 202);
  cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "accepted"), 0);
  ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(a, "duplicate")));
  double id = cJSON_GetNumberValue(cJSON_GetObjectItem(a, "id"));
  http_resp_free(&r);
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/events", ev, &r), 0);
  ASSERT_INT_EQ(r.status, 202);
  a = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "accepted"), 0);
  ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(a, "duplicate")));
  ASSERT_INT_EQ(cJSON_GetNumberValue(cJSON_GetObjectItem(a, "id")), id);
  http_resp_free(&r);
  wait_sql("SELECT count(*) FROM runs WHERE status = 'succeeded'", "1", 10000);
  sleep_ms(300);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM runs"), 1);
  stop();
}

TEST_PG(exec_events_with_bad_input_get_400_naming_the_field_and_store_nothing) {
  start();
  struct http_resp r;
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/events", "[{\"type\":\"order.created\",\"data\":"
                       "{\"id\":\"A\"}},{\"type\":\"order.created\",\"data\":{}}]", &r), 0);
  ASSERT_INT_EQ(r.status, 400);
  ASSERT_STR_CONTAINS(r.body, "[1].data.id");
  http_resp_free(&r);
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/events", "{\"type\":\"Bad Type\"}", &r), 0);
  ASSERT_INT_EQ(r.status, 400);
  ASSERT_STR_CONTAINS(r.body, "\"field\":\"type\"");
  http_resp_free(&r);
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/events", "{\"type\":\"order.status_changed\","
                       "\"data\":{\"id\":\"A\"}}", &r), 0);
  ASSERT_INT_EQ(r.status, 400);
  http_resp_free(&r);
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/events", "{\"type\":\"x.y\",\"data\":[1]}", &r), 0);
  ASSERT_INT_EQ(r.status, 400);
  ASSERT_STR_CONTAINS(r.body, "\"field\":\"data\"");
  http_resp_free(&r);
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/events", "[]", &r), 0);
  ASSERT_INT_EQ(r.status, 400);
  http_resp_free(&r);
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/events", "{\"type\":", &r), 0);
  ASSERT_INT_EQ(r.status, 400);
  http_resp_free(&r);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM events"), 0);
  stop();
}

/* Status rules: a run started when the order entered "confirmed" waits 1h; when the order
 * leaves "confirmed" the run is cancelled and its delayed step never happens. */
#define STATUS_FLOW                                                                          \
  "{\"id\":\"f_status\",\"name\":\"Confirmed\",\"nodes\":["                                \
  "{\"id\":\"t\",\"type\":\"trigger.record\",\"config\":{\"kind\":\"order\",\"on\":"        \
  "\"status_changed\",\"to\":\"confirmed\"}},"                                             \
  "{\"id\":\"now\",\"type\":\"action.update_record\",\"config\":{\"target\":\"order\",\"set\":{\"note\":\"thanks\"}}}," \
  "{\"id\":\"d\",\"type\":\"delay\",\"config\":{\"for\":\"1h\"}},"                         \
  "{\"id\":\"later\",\"type\":\"action.update_record\",\"config\":{\"target\":\"order\",\"set\":{\"note\":\"reminder\"}}}]," \
  "\"edges\":[{\"from\":\"t\",\"to\":\"now\"},{\"from\":\"t\",\"to\":\"d\"},{\"from\":\"d\",\"to\":\"later\"}]}"

TEST_PG(exec_status_rules_cancel_waiting_runs_when_the_record_leaves_the_status) {
  start();
  flow_install(&P, STATUS_FLOW);
  event_post(&P, "{\"type\":\"order.created\",\"data\":{\"id\":\"DH7\",\"status\":\"new\"}}");
  event_post(&P, "{\"type\":\"order.updated\",\"data\":{\"id\":\"DH7\",\"status\":\"confirmed\"}}");
  wait_sql("SELECT status FROM runs WHERE flow_id = 'f_status'", "waiting", 10000);
  wait_sql("SELECT data->>'note' FROM records WHERE id = 'DH7'", "thanks", 5000);
  event_post(&P, "{\"type\":\"order.updated\",\"data\":{\"id\":\"DH7\",\"status\":\"shipped\"}}");
  wait_sql("SELECT status FROM runs WHERE flow_id = 'f_status'", "cancelled", 5000);
  char *reason = sql_value(test_pg_conninfo(), "SELECT reason FROM runs WHERE flow_id = 'f_status'");
  ASSERT_STR_CONTAINS(reason, "left status \"confirmed\"");
  free(reason);
  /* Even when its time comes, the delayed step does not run. */
  free(sql_value(test_pg_conninfo(), "UPDATE runs SET due_at = now() WHERE flow_id = 'f_status'"));
  sleep_ms(600);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM steps WHERE node_id = 'later'"), 0);
  char *note = sql_value(test_pg_conninfo(), "SELECT data->>'note' FROM records WHERE id = 'DH7'");
  ASSERT_STR_EQ(note, "thanks");
  free(note);
  stop();
}

/* A delay with a condition after it: the condition sees the record as it is when the delay
 * ends, not as it was when the run started. */
#define DELAY_FLOW                                                                           \
  "{\"id\":\"f_delay\",\"name\":\"Delay\",\"nodes\":["                                     \
  "{\"id\":\"t\",\"type\":\"trigger.record\",\"config\":{\"kind\":\"order\",\"on\":\"created\"}}," \
  "{\"id\":\"d\",\"type\":\"delay\",\"config\":{\"for\":\"1s\"}},"                         \
  "{\"id\":\"paid\",\"type\":\"branch.if\",\"config\":{\"when\":{\"==\":[{\"var\":\"order.paid\"},true]}}}," \
  "{\"id\":\"yes\",\"type\":\"set\",\"config\":{\"values\":{\"r\":\"paid\"}}},"             \
  "{\"id\":\"no\",\"type\":\"set\",\"config\":{\"values\":{\"r\":\"unpaid\"}}}],"            \
  "\"edges\":[{\"from\":\"t\",\"to\":\"d\"},{\"from\":\"d\",\"to\":\"paid\"},"              \
  "{\"from\":\"paid\",\"port\":\"true\",\"to\":\"yes\"},{\"from\":\"paid\",\"port\":\"false\",\"to\":\"no\"}]}"

TEST_PG(exec_delay_fires_and_the_condition_after_it_sees_the_record_as_it_is_then) {
  start();
  flow_install(&P, DELAY_FLOW);
  event_post(&P, "{\"type\":\"order.created\",\"data\":{\"id\":\"DH9\",\"paid\":false}}");
  wait_sql("SELECT status FROM runs", "waiting", 10000);
  event_post(&P, "{\"type\":\"order.updated\",\"data\":{\"id\":\"DH9\",\"paid\":true}}");
  wait_sql("SELECT status FROM runs", "succeeded", 10000);
  char *r = sql_value(test_pg_conninfo(), "SELECT scope->'vars'->>'r' FROM runs");
  ASSERT_STR_EQ(r, "paid");
  free(r);
  /* The delay's step waited about a second. */
  ASSERT(sql_num("SELECT (extract(epoch FROM finished_at - started_at) * 1000)::int FROM "
                 "steps WHERE node_id = 'd'") >= 900);
  stop();
}

TEST_PG_SLOW(exec_delay_survives_a_restart_and_fires_when_flowd_is_back) {
  start();
  flow_install(&P, DELAY_FLOW);
  event_post(&P, "{\"type\":\"order.created\",\"data\":{\"id\":\"DH10\",\"paid\":true}}");
  wait_sql("SELECT status FROM runs", "waiting", 10000);
  flowd_stop(&P, SIGKILL, 10000);
  sleep_ms(1500); /* the delay falls due while flowd is down */
  start();
  wait_sql("SELECT status FROM runs", "succeeded", 10000);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM steps WHERE node_id = 'yes'"), 1);
  stop();
}

/* wait.event: the matching message or the timeout, whichever comes first. */
#define WAIT_FLOW                                                                            \
  "{\"id\":\"f_wait\",\"name\":\"Wait\",\"nodes\":["                                       \
  "{\"id\":\"t\",\"type\":\"trigger.record\",\"config\":{\"kind\":\"order\",\"on\":\"created\"}}," \
  "{\"id\":\"w\",\"type\":\"wait.event\",\"config\":{\"type\":\"message.received\",\"timeout\":\"2s\"," \
  "\"when\":{\"==\":[{\"var\":\"incoming.data.order_id\"},{\"var\":\"order.id\"}]}}},"       \
  "{\"id\":\"got\",\"type\":\"set\",\"config\":{\"values\":{\"r\":\"{{nodes.w.data.text}}\"}}}," \
  "{\"id\":\"late\",\"type\":\"set\",\"config\":{\"values\":{\"r\":\"timeout\"}}}],"          \
  "\"edges\":[{\"from\":\"t\",\"to\":\"w\"},{\"from\":\"w\",\"port\":\"event\",\"to\":\"got\"}," \
  "{\"from\":\"w\",\"port\":\"timeout\",\"to\":\"late\"}]}"

TEST_PG(exec_wait_event_takes_the_matching_event_or_the_timeout) {
  start();
  flow_install(&P, WAIT_FLOW);
  event_post(&P, "{\"type\":\"order.created\",\"data\":{\"id\":\"A\"}}");
  event_post(&P, "{\"type\":\"order.created\",\"data\":{\"id\":\"B\"}}");
  wait_sql("SELECT count(*) FROM runs WHERE status = 'waiting'", "2", 10000);
  /* A message for another order does not count; one for A does. */
  event_post(&P, "{\"type\":\"message.received\",\"data\":{\"order_id\":\"Z\",\"text\":\"no\"}}");
  event_post(&P, "{\"type\":\"message.received\",\"data\":{\"order_id\":\"A\",\"text\":\"hello\"}}");
  wait_sql("SELECT scope->'vars'->>'r' FROM runs WHERE record_id = 'A' AND status = 'succeeded'",
           "hello", 5000);
  wait_sql("SELECT scope->'vars'->>'r' FROM runs WHERE record_id = 'B' AND status = 'succeeded'",
           "timeout", 8000);
  stop();
}

/* Join with a dead branch runs once; "join": "any" runs on the first edge. */
#define JOIN_FLOW                                                                            \
  "{\"id\":\"f_join\",\"name\":\"Join\",\"nodes\":["                                       \
  "{\"id\":\"t\",\"type\":\"trigger.event\",\"config\":{\"type\":\"ping.sent\"}},"          \
  "{\"id\":\"i\",\"type\":\"branch.if\",\"config\":{\"when\":{\"var\":\"event.data.flag\"}}}," \
  "{\"id\":\"a\",\"type\":\"set\",\"config\":{\"values\":{\"a\":1}}},"                      \
  "{\"id\":\"b\",\"type\":\"set\",\"config\":{\"values\":{\"b\":1}}},"                      \
  "{\"id\":\"j\",\"type\":\"set\",\"config\":{\"values\":{\"j\":\"{{vars.a}}{{vars.b}}\"}}}," \
  "{\"id\":\"x\",\"type\":\"set\",\"config\":{\"values\":{\"x\":1}}},"                      \
  "{\"id\":\"y\",\"type\":\"set\",\"config\":{\"values\":{\"y\":1}}},"                      \
  "{\"id\":\"any\",\"type\":\"set\",\"join\":\"any\",\"config\":{\"values\":{\"any\":1}}}]," \
  "\"edges\":[{\"from\":\"t\",\"to\":\"i\"},{\"from\":\"i\",\"port\":\"true\",\"to\":\"a\"}," \
  "{\"from\":\"i\",\"port\":\"false\",\"to\":\"b\"},{\"from\":\"a\",\"to\":\"j\"},{\"from\":\"b\",\"to\":\"j\"}," \
  "{\"from\":\"t\",\"to\":\"x\"},{\"from\":\"t\",\"to\":\"y\"},{\"from\":\"x\",\"to\":\"any\"},{\"from\":\"y\",\"to\":\"any\"}]}"

TEST_PG(exec_join_with_a_dead_branch_runs_once_and_join_any_runs_on_the_first_edge) {
  start();
  flow_install(&P, JOIN_FLOW);
  event_post(&P, "{\"type\":\"ping.sent\",\"data\":{\"flag\":true}}");
  wait_sql("SELECT status FROM runs", "succeeded", 10000);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM steps WHERE node_id = 'j'"), 1);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM steps WHERE node_id = 'b'"), 0);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM steps WHERE node_id = 'any'"), 1);
  char *j = sql_value(test_pg_conninfo(), "SELECT scope->'vars'->>'j' FROM runs");
  ASSERT_STR_EQ(j, "1");
  free(j);
  stop();
}

/* A failing action takes its error port when wired; without one the run fails, and retry
 * starts the failed step again. */
#define FAIL_FLOW                                                                            \
  "{\"id\":\"f_fail\",\"name\":\"Fail\",\"nodes\":["                                       \
  "{\"id\":\"t\",\"type\":\"trigger.event\",\"config\":{\"type\":\"ping.sent\"}},"          \
  "{\"id\":\"u\",\"type\":\"action.update_record\",\"config\":{\"target\":\"lead\",\"set\":{\"x\":1}}}," \
  "{\"id\":\"ok\",\"type\":\"set\",\"config\":{\"values\":{\"r\":\"ok\"}}},"                \
  "{\"id\":\"oops\",\"type\":\"set\",\"config\":{\"values\":{\"r\":\"{{nodes.u.error}}\"}}}]," \
  "\"edges\":[{\"from\":\"t\",\"to\":\"u\"},{\"from\":\"u\",\"to\":\"ok\"},{\"from\":\"u\",\"port\":\"error\",\"to\":\"oops\"}]}"

TEST_PG(exec_failure_takes_the_error_port_when_wired) {
  start();
  flow_install(&P, FAIL_FLOW);
  event_post(&P, "{\"type\":\"ping.sent\",\"data\":{}}");
  wait_sql("SELECT status FROM runs", "succeeded", 10000);
  char *r = sql_value(test_pg_conninfo(), "SELECT scope->'vars'->>'r' FROM runs");
  ASSERT_STR_CONTAINS(r, "there is no lead in this run");
  free(r);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM steps WHERE node_id = 'ok'"), 0);
  stop();
}

#define FAIL_FLOW_NO_PORT                                                                    \
  "{\"id\":\"f_fail2\",\"name\":\"Fail\",\"nodes\":["                                      \
  "{\"id\":\"t\",\"type\":\"trigger.event\",\"config\":{\"type\":\"ping.sent\"}},"          \
  "{\"id\":\"u\",\"type\":\"action.update_record\",\"config\":{\"target\":\"lead\",\"set\":{\"x\":1}}}]," \
  "\"edges\":[{\"from\":\"t\",\"to\":\"u\"}]}"

TEST_PG(exec_failure_without_error_port_fails_the_run_and_retry_runs_the_step_again) {
  start();
  flow_install(&P, FAIL_FLOW_NO_PORT);
  event_post(&P, "{\"type\":\"ping.sent\",\"data\":{}}");
  wait_sql("SELECT status FROM runs", "failed", 10000);
  char *err = sql_value(test_pg_conninfo(), "SELECT error FROM runs");
  ASSERT_STR_CONTAINS(err, "node u failed");
  free(err);
  long long id = sql_num("SELECT id FROM runs");
  char path[64];
  snprintf(path, sizeof path, "/api/runs/%lld/retry", id);
  struct http_resp r;
  ASSERT_INT_EQ(api_do(&P, "POST", path, NULL, &r), 0);
  ASSERT_INT_EQ(r.status, 200);
  http_resp_free(&r);
  wait_sql("SELECT max(attempt) FROM steps WHERE node_id = 'u'", "2", 10000);
  wait_sql("SELECT status FROM runs", "failed", 5000);
  /* Retrying a run that did not fail is refused. */
  snprintf(path, sizeof path, "/api/runs/%lld/cancel", id);
  ASSERT_INT_EQ(api_do(&P, "POST", path, NULL, &r), 0);
  ASSERT_INT_EQ(r.status, 409);
  http_resp_free(&r);
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/runs/999999/retry", NULL, &r), 0);
  ASSERT_INT_EQ(r.status, 404);
  http_resp_free(&r);
  stop();
}

TEST_PG(exec_cancel_stops_a_waiting_run) {
  start();
  flow_install(&P, DELAY_FLOW);
  event_post(&P, "{\"type\":\"order.created\",\"data\":{\"id\":\"C1\"}}");
  wait_sql("SELECT status FROM runs", "waiting", 10000);
  char path[64];
  snprintf(path, sizeof path, "/api/runs/%lld/cancel", sql_num("SELECT id FROM runs"));
  struct http_resp r;
  ASSERT_INT_EQ(api_do(&P, "POST", path, NULL, &r), 0);
  ASSERT_INT_EQ(r.status, 200);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "status")), "cancelled");
  http_resp_free(&r);
  sleep_ms(1500);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM steps WHERE node_id = 'paid'"), 0);
  wait_sql("SELECT status FROM runs", "cancelled", 1000);
  stop();
}

TEST_PG(exec_runs_api_lists_with_filters_and_shows_steps) {
  start();
  flow_install(&P, SOURCE_FLOW);
  for (int i = 0; i < 5; i++) {
    char ev[200];
    snprintf(ev, sizeof ev, "{\"type\":\"order.created\",\"data\":{\"id\":\"L%d\",\"source\":"
             "\"website\"}}", i);
    event_post(&P, ev);
  }
  wait_sql("SELECT count(*) FROM runs WHERE status = 'succeeded'", "5", 10000);
  struct http_resp r;
  ASSERT_INT_EQ(api_do(&P, "GET", "/api/runs?flow=f_src&status=succeeded&limit=2", NULL, &r), 0);
  ASSERT_INT_EQ(r.status, 200);
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "runs")), 2);
  double before = cJSON_GetNumberValue(cJSON_GetObjectItem(r.json, "next_before"));
  ASSERT(before > 0);
  http_resp_free(&r);
  char path[128];
  snprintf(path, sizeof path, "/api/runs?flow=f_src&before=%.0f&limit=10", before);
  ASSERT_INT_EQ(api_do(&P, "GET", path, NULL, &r), 0);
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "runs")), 3);
  http_resp_free(&r);
  ASSERT_INT_EQ(api_do(&P, "GET", "/api/runs?record=order:L3", NULL, &r), 0);
  cJSON *run = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "runs"), 0);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(run, "record")), "order:L3");
  snprintf(path, sizeof path, "/api/runs/%.0f", cJSON_GetNumberValue(cJSON_GetObjectItem(run, "id")));
  http_resp_free(&r);
  ASSERT_INT_EQ(api_do(&P, "GET", path, NULL, &r), 0);
  cJSON *steps = cJSON_GetObjectItem(r.json, "steps");
  ASSERT_INT_EQ(cJSON_GetArraySize(steps), 3);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(steps, 1), "port")),
                "website");
  http_resp_free(&r);
  ASSERT_INT_EQ(api_do(&P, "GET", "/api/runs?status=bogus", NULL, &r), 0);
  ASSERT_INT_EQ(r.status, 400);
  http_resp_free(&r);
  ASSERT_INT_EQ(api_do(&P, "GET", "/api/runs/abc", NULL, &r), 0);
  ASSERT_INT_EQ(r.status, 400);
  http_resp_free(&r);
  ASSERT_INT_EQ(api_do(&P, "GET", "/api/runs/424242", NULL, &r), 0);
  ASSERT_INT_EQ(r.status, 404);
  http_resp_free(&r);
  stop();
}

TEST_PG(exec_test_run_of_the_draft_records_effects_without_making_them) {
  start();
  struct http_resp r;
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/flows", SOURCE_FLOW, &r), 0);
  http_resp_free(&r);
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/flows/f_src/test",
                       "{\"event\":{\"type\":\"order.created\",\"data\":{\"id\":\"T1\","
                       "\"source\":\"facebook\"}}}", &r), 0);
  ASSERT_INT_EQ(r.status, 200);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "status")), "succeeded");
  ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "test")));
  cJSON *steps = cJSON_GetObjectItem(r.json, "steps");
  ASSERT_INT_EQ(cJSON_GetArraySize(steps), 3);
  cJSON *a2 = cJSON_GetArrayItem(steps, 2);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(a2, "node")), "a2");
  http_resp_free(&r);
  /* Nothing happened to records, and no event was stored. */
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM records"), 0);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM events"), 0);
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/flows/nope/test", "{}", &r), 0);
  ASSERT_INT_EQ(r.status, 404);
  http_resp_free(&r);
  stop();
}

/* One event starts the matching flows in priority order (lower first). */
TEST_PG(exec_one_event_starts_matching_flows_in_priority_order) {
  start();
  const char *tmpl =
      "{\"id\":\"%s\",\"name\":\"%s\",\"priority\":%d,\"nodes\":["
      "{\"id\":\"t\",\"type\":\"trigger.event\",\"config\":{\"type\":\"lead.scored\"}},"
      "{\"id\":\"s\",\"type\":\"set\",\"config\":{\"values\":{\"x\":1}}}],"
      "\"edges\":[{\"from\":\"t\",\"to\":\"s\"}]}";
  char flow[512];
  snprintf(flow, sizeof flow, tmpl, "f_late", "Late", 50);
  flow_install(&P, flow);
  snprintf(flow, sizeof flow, tmpl, "f_early", "Early", 5);
  flow_install(&P, flow);
  snprintf(flow, sizeof flow, tmpl, "f_off", "Off", 1);
  struct http_resp r;
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/flows", flow, &r), 0); /* never activated */
  http_resp_free(&r);
  event_post(&P, "{\"type\":\"lead.scored\",\"data\":{}}");
  wait_sql("SELECT string_agg(flow_id, ',' ORDER BY id) FROM runs", "f_early,f_late", 10000);
  /* Deactivation takes effect at once. */
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/flows/f_early/deactivate", NULL, &r), 0);
  http_resp_free(&r);
  event_post(&P, "{\"type\":\"lead.scored\",\"data\":{}}");
  wait_sql("SELECT count(*) FROM runs", "3", 10000);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM runs WHERE flow_id = 'f_early'"), 1);
  stop();
}

/* Two flows that keep updating the same record stop at the chain-depth limit and say so. */
TEST_PG(exec_chain_of_record_updates_stops_at_the_depth_limit) {
  start();
  flow_install(&P,
               "{\"id\":\"f_loop\",\"name\":\"Loop\",\"nodes\":["
               "{\"id\":\"t\",\"type\":\"trigger.record\",\"config\":{\"kind\":\"order\",\"on\":\"updated\"}},"
               "{\"id\":\"u\",\"type\":\"action.update_record\",\"config\":{\"target\":\"order\","
               "\"set\":{\"touched\":\"{{event.id}}\"}}}],"
               "\"edges\":[{\"from\":\"t\",\"to\":\"u\"}]}");
  event_post(&P, "{\"type\":\"order.updated\",\"data\":{\"id\":\"LOOP\"}}");
  wait_sql("SELECT count(*) FROM runs WHERE status = 'succeeded'", "9", 15000);
  sleep_ms(500);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM runs"), 9);
  ASSERT_INT_EQ(sql_num("SELECT max(depth) FROM runs"), 8);
  char *reason = sql_value(test_pg_conninfo(), "SELECT reason FROM runs WHERE depth = 8");
  ASSERT_STR_CONTAINS(reason, "chain depth limit");
  free(reason);
  stop();
}

TEST_PG(exec_test_run_does_not_wait_for_delays) {
  start();
  struct http_resp r;
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/flows", DELAY_FLOW, &r), 0);
  http_resp_free(&r);
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/flows/f_delay/test",
                       "{\"event\":{\"type\":\"order.created\",\"data\":{\"id\":\"T2\","
                       "\"paid\":true}}}", &r), 0);
  ASSERT_INT_EQ(r.status, 200);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "status")), "succeeded");
  cJSON *steps = cJSON_GetObjectItem(r.json, "steps");
  ASSERT_INT_EQ(cJSON_GetArraySize(steps), 4);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(steps, 1), "status")),
                "succeeded");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(steps, 3), "node")),
                "yes");
  http_resp_free(&r);
  stop();
}

/* An action that fails for a passing reason (its database read) is retried with exponential
 * backoff: the step's attempts are recorded, and the run succeeds once the cause is gone. */
#define RETRY_FLOW                                                                           \
  "{\"id\":\"f_retry\",\"name\":\"Retry\",\"nodes\":["                                     \
  "{\"id\":\"t\",\"type\":\"trigger.record\",\"config\":{\"kind\":\"order\",\"on\":\"created\"}}," \
  "{\"id\":\"a\",\"type\":\"action.assign\",\"config\":{\"target\":\"order\",\"strategy\":"  \
  "\"round_robin\",\"candidates\":{\"staff\":[\"s_r1\"]},\"retry\":{\"max\":3,\"backoff\":\"300ms\"}}}]," \
  "\"edges\":[{\"from\":\"t\",\"to\":\"a\"}]}"

TEST_PG(exec_retryable_failure_is_retried_with_backoff_until_it_succeeds) {
  start();
  flow_install(&P, RETRY_FLOW);
  free(sql_value(test_pg_conninfo(), "INSERT INTO staff (id, name) VALUES ('s_r1', 'R') "
                                     "ON CONFLICT DO NOTHING"));
  /* The candidates cannot be read for a while. */
  free(sql_value(test_pg_conninfo(), "ALTER FUNCTION flowd_assign_candidates RENAME TO "
                                     "flowd_assign_candidates_away"));
  event_post(&P, "{\"type\":\"order.created\",\"data\":{\"id\":\"RT1\"}}");
  wait_sql("SELECT count(*) FROM steps WHERE node_id = 'a' AND status = 'failed'", "2", 10000);
  wait_sql("SELECT status FROM runs", "waiting", 5000);
  free(sql_value(test_pg_conninfo(), "ALTER FUNCTION flowd_assign_candidates_away RENAME TO "
                                     "flowd_assign_candidates"));
  wait_sql("SELECT status FROM runs", "succeeded", 10000);
  ASSERT(sql_num("SELECT max(attempt) FROM steps WHERE node_id = 'a' AND status = 'succeeded'")
         >= 3);
  /* The second attempt waited the backoff, the third twice as long. */
  ASSERT(sql_num("SELECT (extract(epoch FROM b.started_at - a.finished_at) * 1000)::int FROM "
                 "steps a JOIN steps b ON b.node_id = a.node_id AND b.attempt = 2 "
                 "WHERE a.node_id = 'a' AND a.attempt = 1") >= 250);
  ASSERT(sql_num("SELECT (extract(epoch FROM b.started_at - a.finished_at) * 1000)::int FROM "
                 "steps a JOIN steps b ON b.node_id = a.node_id AND b.attempt = 3 "
                 "WHERE a.node_id = 'a' AND a.attempt = 2") >= 550);
  wait_sql("SELECT owner_id FROM records WHERE id = 'RT1'", "s_r1", 5000);
  stop();
}

TEST_PG(exec_retries_used_up_fail_the_run_with_the_error) {
  start();
  flow_install(&P, RETRY_FLOW);
  free(sql_value(test_pg_conninfo(), "ALTER FUNCTION flowd_assign_candidates RENAME TO "
                                     "flowd_assign_candidates_away"));
  event_post(&P, "{\"type\":\"order.created\",\"data\":{\"id\":\"RT2\"}}");
  wait_sql("SELECT status FROM runs", "failed", 20000);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM steps WHERE node_id = 'a' AND status = 'failed'"),
                4);
  char *err = sql_value(test_pg_conninfo(), "SELECT error FROM runs");
  ASSERT_STR_CONTAINS(err, "node a failed");
  free(err);
  stop();
}

/* delay.until a time already past goes on at once; stop ends the run with its outcome. */
#define UNTIL_STOP_FLOW                                                                      \
  "{\"id\":\"f_until\",\"name\":\"Until\",\"nodes\":["                                     \
  "{\"id\":\"t\",\"type\":\"trigger.event\",\"config\":{\"type\":\"ping.sent\"}},"          \
  "{\"id\":\"d\",\"type\":\"delay\",\"config\":{\"until\":\"{{event.data.when}}\"}},"        \
  "{\"id\":\"x\",\"type\":\"stop\",\"config\":{\"outcome\":\"failed\",\"reason\":\"no stock for {{event.data.sku}}\"}}," \
  "{\"id\":\"after\",\"type\":\"set\",\"config\":{\"values\":{\"never\":true}}}],"           \
  "\"edges\":[{\"from\":\"t\",\"to\":\"d\"},{\"from\":\"d\",\"to\":\"x\"},{\"from\":\"d\",\"to\":\"after\"}]}"

TEST_PG(exec_delay_until_past_goes_on_at_once_and_stop_ends_the_run) {
  start();
  flow_install(&P, UNTIL_STOP_FLOW);
  event_post(&P, "{\"type\":\"ping.sent\",\"data\":{\"when\":\"2020-01-01T00:00:00Z\","
                 "\"sku\":\"A7\"}}");
  wait_sql("SELECT status FROM runs", "failed", 10000);
  char *err = sql_value(test_pg_conninfo(), "SELECT error FROM runs");
  ASSERT_STR_EQ(err, "no stock for A7");
  free(err);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM steps WHERE node_id = 'd' AND status = "
                        "'succeeded'"), 1);
  stop();
}
