/* exec_util: helpers for executor tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/integration/exec_util.h"
#include "tests/test.h"

/* The kind and id a missing_reference problem names: "<field>: there is no <kind> \"<id>\"". */
static int missing_ref(const char *msg, char *kind, size_t klen, char *id, size_t len) {
  const char *k = msg ? strstr(msg, "there is no ") : NULL;
  if (!k)
    return 0;
  k += strlen("there is no ");
  const char *sp = strchr(k, ' ');
  const char *a = sp ? strchr(sp, '"') : NULL, *b = a ? strchr(a + 1, '"') : NULL;
  if (!b || (size_t)(sp - k) >= klen || (size_t)(b - a - 1) >= len)
    return 0;
  snprintf(kind, klen, "%.*s", (int)(sp - k), k);
  snprintf(id, len, "%.*s", (int)(b - a - 1), a + 1);
  return 1;
}

void create_missing_refs(struct flowd_proc *p, const cJSON *problems) {
  const cJSON *pr;
  cJSON_ArrayForEach(pr, problems) {
    const char *code = cJSON_GetStringValue(cJSON_GetObjectItem(pr, "code"));
    const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(pr, "message"));
    char kind[32], id[128], body[512];
    if (!code || strcmp(code, "missing_reference") != 0 ||
        !missing_ref(msg, kind, sizeof kind, id, sizeof id))
      continue;
    const char *path;
    if (!strcmp(kind, "provider")) {
      path = "/api/providers";
      snprintf(body, sizeof body, "{\"id\":\"%s\",\"type\":\"http\",\"config\":"
               "{\"url\":\"http://127.0.0.1:9/\"}}", id);
    } else if (!strcmp(kind, "team")) {
      path = "/api/teams";
      snprintf(body, sizeof body, "{\"id\":\"%s\",\"name\":\"%s\"}", id, id);
    } else {
      path = "/api/staff";
      snprintf(body, sizeof body, "{\"id\":\"%s\",\"name\":\"%s\"}", id, id);
    }
    struct http_resp r;
    if (api_do(p, "POST", path, body, &r) != 0 || (r.status != 201 && r.status != 409))
      test_fail(__FILE__, __LINE__, "creating %s %s: %ld %s", path, id, r.status,
                r.body ? r.body : "");
    http_resp_free(&r);
  }
}

void flow_install(struct flowd_proc *p, const char *flow_json) {
  struct http_resp r;
  if (api_do(p, "POST", "/api/flows", flow_json, &r) != 0 || r.status != 201)
    test_fail(__FILE__, __LINE__, "creating the flow: %ld %s", r.status, r.body ? r.body : "");
  create_missing_refs(p, cJSON_GetObjectItem(r.json, "problems"));
  const cJSON *pr;
  cJSON_ArrayForEach(pr, cJSON_GetObjectItem(r.json, "problems")) {
    if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(pr, "code")), "missing_reference"))
      test_fail(__FILE__, __LINE__, "the flow has problems: %s", r.body);
  }
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

long long metric_value(struct flowd_proc *p, const char *name) {
  struct http_resp r;
  if (api_do(p, "GET", "/metrics", NULL, &r) != 0 || r.status != 200)
    return -1;
  /* The sample line, not the # HELP line that names it first. */
  char line[128];
  snprintf(line, sizeof line, "\n%s ", name);
  const char *at = strstr(r.body, line);
  long long v = at ? atoll(at + strlen(line)) : -1;
  http_resp_free(&r);
  return v;
}

long long sql_num(const char *sql) {
  char *v = sql_value(test_pg_conninfo(), sql);
  long long n = atoll(v);
  free(v);
  return n;
}
