/* Scale-out: two flowd processes on one database share the work; when one is killed under
 * load, every event that got 202 still gets exactly one finished run, the survivor takes over
 * the dead one's claimed runs when their lease expires, and nothing runs twice. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/helpers.h"
#include "tests/integration/exec_util.h"
#include "tests/test.h"

#define N 300

#define SCALE_FLOW                                                                           \
  "{\"id\":\"f_scale\",\"name\":\"Scale\",\"nodes\":["                                     \
  "{\"id\":\"t\",\"type\":\"trigger.record\",\"config\":{\"kind\":\"order\",\"on\":\"created\"}}," \
  "{\"id\":\"d\",\"type\":\"delay\",\"config\":{\"for\":\"1s\"}},"                         \
  "{\"id\":\"u\",\"type\":\"action.update_record\",\"config\":{\"target\":\"order\",\"set\":{\"done\":\"yes\"}}}]," \
  "\"edges\":[{\"from\":\"t\",\"to\":\"d\"},{\"from\":\"d\",\"to\":\"u\"}]}"

static int post(struct flowd_proc *p, int i) {
  char body[160];
  snprintf(body, sizeof body, "{\"type\":\"order.created\",\"key\":\"s-%d\",\"data\":{\"id\":"
           "\"S%d\"}}", i, i);
  struct http_resp r;
  int ok = api_do(p, "POST", "/api/events", body, &r) == 0 && r.status == 202;
  http_resp_free(&r);
  return ok;
}

TEST_PG_SLOW(scaleout_survivor_finishes_the_work_of_a_killed_process_exactly_once) {
  const char *env[] = {"FLOWD_LEASE_MS=1500", NULL};
  struct flowd_proc a, b;
  flowd_start(&a, NULL, "test", env);
  flowd_start(&b, NULL, "test", env);
  flowd_wait_ready(&a, 60000);
  flowd_wait_ready(&b, 60000);
  flow_install(&a, SCALE_FLOW);
  int accepted = 0;
  for (int i = 0; i < N / 2; i++)
    accepted += post(i % 2 ? &b : &a, i);
  ASSERT_INT_EQ(accepted, N / 2);
  /* Both processes hold waiting runs now; kill one before its delays end. */
  ASSERT(metric_value(&a, "flowd_run_segments_total") > 0);
  ASSERT(metric_value(&b, "flowd_run_segments_total") > 0);
  flowd_stop(&a, SIGKILL, 10000);
  for (int i = N / 2; i < N; i++)
    accepted += post(&b, i);
  ASSERT_INT_EQ(accepted, N);
  wait_sql("SELECT count(*) FROM runs WHERE status = 'succeeded'", "300", 60000);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM runs"), N);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM events WHERE type = 'order.updated' AND "
                        "data ? 'done'"), N);
  ASSERT_INT_EQ(sql_num("SELECT count(DISTINCT record_id) FROM events WHERE type = "
                        "'order.updated' AND data ? 'done'"), N);
  ASSERT_INT_EQ(flowd_stop(&b, SIGTERM, 30000), 0);
}
