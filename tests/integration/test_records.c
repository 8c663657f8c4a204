/* Records API: reads, and writes through the event path (status changes are raised). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "tests/helpers.h"
#include "tests/integration/exec_util.h"
#include "tests/test.h"

static long status_of(struct flowd_proc *p, const char *m, const char *path, const char *body,
                      struct http_resp *r) {
  if (api_do(p, m, path, body, r) != 0)
    test_fail(__FILE__, __LINE__, "%s %s: no answer", m, path);
  return r->status;
}

TEST_PG(records_write_through_the_event_path_and_read_back) {
  struct flowd_proc p;
  flowd_start(&p, NULL, "test", NULL);
  flowd_wait_ready(&p, 60000);
  struct http_resp r;
  ASSERT_INT_EQ(status_of(&p, "PUT", "/api/records/order/R1",
                          "{\"status\":\"new\",\"total\":5,\"city\":\"Huế\"}", &r), 200);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "status")), "new");
  http_resp_free(&r);
  ASSERT_INT_EQ(status_of(&p, "PATCH", "/api/records/order/R1", "{\"status\":\"confirmed\"}",
                          &r), 200);
  cJSON *data = cJSON_GetObjectItem(r.json, "data");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(data, "city")), "Huế");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(data, "status")), "confirmed");
  http_resp_free(&r);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM events WHERE type = 'order.status_changed' AND "
                        "data->>'from' = 'new' AND data->>'to' = 'confirmed'"), 1);
  /* PUT replaces every field. */
  ASSERT_INT_EQ(status_of(&p, "PUT", "/api/records/order/R1", "{\"total\":9}", &r), 200);
  data = cJSON_GetObjectItem(r.json, "data");
  ASSERT(!cJSON_GetObjectItem(data, "city"));
  http_resp_free(&r);
  ASSERT_INT_EQ(status_of(&p, "PUT", "/api/records/order/R2", "{\"total\":1}", &r), 200);
  http_resp_free(&r);
  ASSERT_INT_EQ(status_of(&p, "GET", "/api/records/order?limit=1", NULL, &r), 200);
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "records")), 1);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "next_after")), "R1");
  http_resp_free(&r);
  ASSERT_INT_EQ(status_of(&p, "GET", "/api/records/order/R2", NULL, &r), 200);
  http_resp_free(&r);
  ASSERT_INT_EQ(status_of(&p, "GET", "/api/records/order/none", NULL, &r), 404);
  http_resp_free(&r);
  ASSERT_INT_EQ(status_of(&p, "GET", "/api/records/Bad-Kind", NULL, &r), 400);
  http_resp_free(&r);
  ASSERT_INT_EQ(status_of(&p, "PUT", "/api/records/order/R3", "{\"id\":\"R4\"}", &r), 400);
  ASSERT_STR_CONTAINS(r.body, "\"field\":\"id\"");
  http_resp_free(&r);
  ASSERT_INT_EQ(status_of(&p, "PATCH", "/api/records/order/R3", "{\"status\":5}", &r), 400);
  http_resp_free(&r);
  ASSERT_INT_EQ(status_of(&p, "PATCH", "/api/records/order/R3", "[1]", &r), 400);
  http_resp_free(&r);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM records WHERE id = 'R3'"), 0);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}
