/* The staff rows action.assign keeps in memory for its fixed strategy (server/staffcache.c):
 * a change to a staff member or to their presence is seen by the very next run, in the
 * process that made it and, through NOTIFY, in another process on the same database. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include "tests/helpers.h"
#include "tests/integration/exec_util.h"
#include "tests/test.h"

/* Assigns every new order to s_lan and writes down who that was, as the run saw them. */
#define WHO_FLOW                                                                              \
  "{\"id\":\"f_who\",\"name\":\"Who\",\"nodes\":["                                          \
  "{\"id\":\"t\",\"type\":\"trigger.record\",\"config\":{\"kind\":\"order\",\"on\":\"created\"}}," \
  "{\"id\":\"a\",\"type\":\"action.assign\",\"config\":{\"target\":\"order\","              \
  "\"strategy\":\"fixed\",\"staff\":\"s_lan\"}},"                                           \
  "{\"id\":\"u\",\"type\":\"action.update_record\",\"config\":{\"target\":\"order\","       \
  "\"set\":{\"who\":\"{{staff.name}}|{{staff.online}}\"}}},"                                \
  "{\"id\":\"n\",\"type\":\"action.update_record\",\"config\":{\"target\":\"order\","       \
  "\"set\":{\"who\":\"nobody\"}}}],"                                                        \
  "\"edges\":[{\"from\":\"t\",\"to\":\"a\"},{\"from\":\"a\",\"port\":\"assigned\",\"to\":\"u\"}," \
  "{\"from\":\"a\",\"port\":\"unassigned\",\"to\":\"n\"}]}"

static void call(struct flowd_proc *p, const char *method, const char *path, const char *body,
                 long want) {
  struct http_resp r;
  ASSERT_INT_EQ(api_do(p, method, path, body, &r), 0);
  ASSERT_INT_EQ(r.status, want);
  http_resp_free(&r);
}

/* Posts order id to p and waits until its run wrote down who it was assigned to. */
static void expect_who(struct flowd_proc *p, const char *id, const char *who) {
  char body[128], sql[160];
  snprintf(body, sizeof body, "{\"type\":\"order.created\",\"data\":{\"id\":\"%s\"}}", id);
  event_post(p, body);
  snprintf(sql, sizeof sql,
           "SELECT data->>'who' FROM records WHERE kind = 'order' AND id = '%s'", id);
  wait_sql(sql, who, 5000);
}

static void setup(struct flowd_proc *p) {
  call(p, "POST", "/api/staff", "{\"id\":\"s_lan\",\"name\":\"Lan\"}", 201);
  flow_install(p, WHO_FLOW);
}

TEST_PG(staffcache_a_change_in_this_process_is_seen_by_the_next_run) {
  struct flowd_proc p;
  flowd_start(&p, NULL, "test", NULL);
  flowd_wait_ready(&p, 60000);
  setup(&p);
  expect_who(&p, "O1", "Lan|false");
  expect_who(&p, "O2", "Lan|false"); /* from memory now */
  call(&p, "PATCH", "/api/staff/s_lan", "{\"name\":\"Lan B\"}", 200);
  expect_who(&p, "O3", "Lan B|false");
  call(&p, "PUT", "/api/staff/s_lan/presence", "{\"online\":true}", 200);
  expect_who(&p, "O4", "Lan B|true");
  call(&p, "DELETE", "/api/staff/s_lan", NULL, 204);
  expect_who(&p, "O5", "nobody");
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

TEST_PG(staffcache_a_change_made_through_another_process_reaches_this_one) {
  struct flowd_proc a, b;
  flowd_start(&a, NULL, "test", NULL);
  flowd_start(&b, NULL, "test", NULL);
  flowd_wait_ready(&a, 60000);
  flowd_wait_ready(&b, 60000);
  setup(&a);
  expect_who(&b, "O1", "Lan|false"); /* b keeps s_lan's row */
  call(&a, "PATCH", "/api/staff/s_lan", "{\"name\":\"Lan B\"}", 200);
  /* b learns of it through NOTIFY, well before its rows would expire (10 s). */
  sleep_ms(300);
  expect_who(&b, "O2", "Lan B|false");
  call(&a, "DELETE", "/api/staff/s_lan", NULL, 204);
  sleep_ms(300);
  expect_who(&b, "O3", "nobody");
  ASSERT_INT_EQ(flowd_stop(&a, SIGTERM, 30000), 0);
  ASSERT_INT_EQ(flowd_stop(&b, SIGTERM, 30000), 0);
}
