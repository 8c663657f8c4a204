/* Where action.http may send (server/netallow.h), end to end: a flow posts to URLs taken
 * from the event, and each webhook delivery either reaches the sink or fails with a
 * "blocked" error that says why, at once, without a retry. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/helpers.h"
#include "tests/integration/exec_util.h"
#include "tests/sinks.h"
#include "tests/test.h"

#define RUN_MS 15000

static struct flowd_proc P;
static struct sink H;

#define HOOK_FLOW                                                                            \
  "{\"id\":\"f_allow\",\"name\":\"Allow\",\"nodes\":["                                       \
  "{\"id\":\"t\",\"type\":\"trigger.record\",\"config\":{\"kind\":\"order\",\"on\":\"created\"}}," \
  "{\"id\":\"hook\",\"type\":\"action.http\",\"config\":{\"url\":\"{{{order.url}}}\"}},"      \
  "{\"id\":\"oops\",\"type\":\"set\",\"config\":{\"values\":{\"why\":\"{{{nodes.hook.error}}}\"}}}]," \
  "\"edges\":[{\"from\":\"t\",\"to\":\"hook\"},{\"from\":\"hook\",\"port\":\"error\",\"to\":\"oops\"}]}"

static void start(const char **env) {
  sink_http_start(&H, 0, NULL);
  flowd_start(&P, NULL, "test", env);
  flowd_wait_ready(&P, 60000);
  flow_install(&P, HOOK_FLOW);
}

static void stop(void) {
  ASSERT_INT_EQ(flowd_stop(&P, SIGTERM, 30000), 0);
  sink_stop(&H);
}

/* Posts an order whose webhook goes to url (each test uses a url once); waits until its
 * delivery is final and returns its error ("" when it was sent). */
static char *hook(const char *order, const char *url) {
  char body[600], sql[600];
  snprintf(body, sizeof body, "{\"type\":\"order.created\",\"data\":{\"id\":\"%s\","
           "\"url\":\"%s\"}}", order, url);
  event_post(&P, body);
  snprintf(sql, sizeof sql, "SELECT count(*) FROM deliveries WHERE request->>'url' = '%s' "
           "AND status IN ('sent', 'failed')", url);
  wait_sql(sql, "1", RUN_MS);
  snprintf(sql, sizeof sql, "SELECT coalesce(error, '') FROM deliveries WHERE "
           "request->>'url' = '%s'", url);
  return sql_value(test_pg_conninfo(), sql);
}

static void expect_blocked(const char *order, const char *url, const char *why) {
  char *err = hook(order, url);
  if (!strstr(err, "blocked") || !strstr(err, why))
    test_fail(__FILE__, __LINE__, "%s: error \"%s\", want \"blocked\" and \"%s\"", url, err, why);
  free(err);
}

TEST_PG(allow_unset_reaches_any_host_except_link_local_and_unspecified) {
  start(NULL);
  char url[200];
  snprintf(url, sizeof url, "%s/ok", H.url);
  char *err = hook("A1", url);
  ASSERT_STR_EQ(err, "");
  free(err);
  ASSERT_INT_EQ(sink_count(&H), 1);
  /* Cloud metadata services answer on link-local addresses: never reached, however named. */
  expect_blocked("A2", "http://169.254.169.254/latest/meta-data/", "169.254.169.254");
  expect_blocked("A3", "http://[::ffff:169.254.169.254]/", "link-local");
  snprintf(url, sizeof url, "http://0.0.0.0:%d/x", H.port);
  expect_blocked("A4", url, "0.0.0.0");
  ASSERT_INT_EQ(sink_count(&H), 1);
  /* Refused for good: one attempt each, no retries. */
  char *n = sql_value(test_pg_conninfo(), "SELECT count(*) || '/' || sum(attempts) FROM "
                      "deliveries WHERE status = 'failed' AND error LIKE 'blocked:%'");
  ASSERT_STR_EQ(n, "3/3");
  free(n);
  stop();
}

TEST_PG(allow_list_limits_action_http_to_its_hosts_and_ports) {
  struct sink other;
  sink_http_start(&other, 0, NULL);
  /* The sink's port is known only once it runs: the list names it. */
  sink_http_start(&H, 0, NULL);
  char allow[200];
  snprintf(allow, sizeof allow, "FLOWD_HTTP_ALLOW=hooks.example.test, 127.0.0.1:%d ,"
           "*.shop.example.test:8443", H.port);
  const char *env[] = {allow, NULL};
  flowd_start(&P, NULL, "test", env);
  flowd_wait_ready(&P, 60000);
  flow_install(&P, HOOK_FLOW);
  char url[200];
  snprintf(url, sizeof url, "%s/ok", H.url);
  char *err = hook("B1", url);
  ASSERT_STR_EQ(err, "");
  free(err);
  /* Another port of an allowed host, another name for it, a host not on the list. */
  snprintf(url, sizeof url, "%s/no", other.url);
  expect_blocked("B2", url, "is not in FLOWD_HTTP_ALLOW");
  snprintf(url, sizeof url, "http://localhost:%d/no", H.port);
  expect_blocked("B3", url, "localhost");
  expect_blocked("B4", "https://evil.example.test/x", "evil.example.test:443");
  expect_blocked("B5", "https://api.shop.example.test/x", "api.shop.example.test:443");
  ASSERT_INT_EQ(sink_count(&H), 1);
  ASSERT_INT_EQ(sink_count(&other), 0);
  ASSERT_INT_EQ(flowd_stop(&P, SIGTERM, 30000), 0);
  char *log = flowd_log(&P);
  ASSERT_STR_CONTAINS(log, "action.http may reach only the hosts of FLOWD_HTTP_ALLOW");
  free(log);
  sink_stop(&H);
  sink_stop(&other);
}

TEST(allow_an_invalid_list_stops_start_up_saying_why) {
  const char *env[] = {"FLOWD_HTTP_ALLOW=bad host name!", NULL};
  struct flowd_proc p;
  flowd_start(&p, NULL, NULL, env);
  ASSERT_INT_EQ(flowd_wait_exit(&p, 30000), 2);
  char *log = flowd_log(&p);
  ASSERT_STR_CONTAINS(log, "invalid FLOWD_HTTP_ALLOW");
  free(log);
}
