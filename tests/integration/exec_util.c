/* exec_util: helpers for executor tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/integration/exec_util.h"
#include "tests/test.h"

void flow_install(struct flowd_proc *p, const char *flow_json) {
  struct http_resp r;
  if (api_do(p, "POST", "/api/flows", flow_json, &r) != 0 || r.status != 201)
    test_fail(__FILE__, __LINE__, "creating the flow: %ld %s", r.status, r.body ? r.body : "");
  if (cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "problems")) > 0)
    test_fail(__FILE__, __LINE__, "the flow has problems: %s", r.body);
  char id[128], path[256];
  snprintf(id, sizeof id, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "id")));
  http_resp_free(&r);
  snprintf(path, sizeof path, "/api/flows/%s/publish", id);
  if (api_do(p, "POST", path, NULL, &r) != 0 || r.status != 201)
    test_fail(__FILE__, __LINE__, "publishing: %ld %s", r.status, r.body ? r.body : "");
  http_resp_free(&r);
  snprintf(path, sizeof path, "/api/flows/%s/activate", id);
  if (api_do(p, "POST", path, NULL, &r) != 0 || r.status != 200)
    test_fail(__FILE__, __LINE__, "activating: %ld %s", r.status, r.body ? r.body : "");
  http_resp_free(&r);
}

long long event_post(struct flowd_proc *p, const char *body) {
  struct http_resp r;
  if (api_do(p, "POST", "/api/events", body, &r) != 0 || r.status != 202)
    test_fail(__FILE__, __LINE__, "posting an event: %ld %s", r.status, r.body ? r.body : "");
  cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "accepted"), 0);
  long long id = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(first, "id"));
  http_resp_free(&r);
  return id;
}

void wait_sql(const char *sql, const char *want, int timeout_ms) {
  double deadline = mono_ms() + timeout_ms;
  char *v = NULL;
  for (;;) {
    free(v);
    v = sql_value(test_pg_conninfo(), sql);
    if (!strcmp(v, want))
      break;
    if (mono_ms() > deadline)
      test_fail(__FILE__, __LINE__, "waited %d ms for\n  %s\n  to be \"%s\"; it is \"%s\"",
                timeout_ms, sql, want, v);
    sleep_ms(25);
  }
  free(v);
}

long long sql_num(const char *sql) {
  char *v = sql_value(test_pg_conninfo(), sql);
  long long n = atoll(v);
  free(v);
  return n;
}
