/* Flows API against a real flowd and PostgreSQL: drafts with revisions, validation, publish,
 * activation, versions, export/import, and the editor's tools; good and bad input. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/helpers.h"
#include "tests/integration/exec_util.h"
#include "tests/test.h"

static struct flowd_proc P;

/* The staff OWNER_FLOW assigns to. */
static void create_staff(void) {
  const char *bodies[] = {"{\"id\":\"s_lan\",\"name\":\"Lan\"}",
                          "{\"id\":\"s_minh\",\"name\":\"Minh\"}"};
  for (int i = 0; i < 2; i++) {
    struct http_resp r;
    if (api_do(&P, "POST", "/api/staff", bodies[i], &r) != 0 || r.status != 201)
      test_fail(__FILE__, __LINE__, "creating staff: %ld %s", r.status, r.body ? r.body : "");
    http_resp_free(&r);
  }
}

static void start(void) {
  flowd_start(&P, NULL, "test", NULL);
  flowd_wait_ready(&P, 60000);
  create_staff();
}

static void stop(void) { ASSERT_INT_EQ(flowd_stop(&P, SIGTERM, 30000), 0); }

/* Makes a request and checks its status; returns the response (free with http_resp_free). */
static struct http_resp call(const char *method, const char *path, const char *body,
                             long want) {
  struct http_resp r;
  if (api_do(&P, method, path, body, &r) != 0)
    test_fail(__FILE__, __LINE__, "%s %s: no response", method, path);
  if (r.status != want)
    test_fail(__FILE__, __LINE__, "%s %s: status %ld, want %ld; body: %s", method, path,
              r.status, want, r.body ? r.body : "");
  return r;
}

static const char *err_code(const struct http_resp *r) {
  return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(r->json, "error"), "code"));
}

static const char *err_field(const struct http_resp *r) {
  cJSON *d = cJSON_GetObjectItem(cJSON_GetObjectItem(r->json, "error"), "details");
  return cJSON_GetStringValue(cJSON_GetObjectItem(d, "field"));
}

static int num(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItem(o, k);
  return cJSON_IsNumber(v) ? v->valueint : -1;
}

/* A flow with the problems code of one problem or NULL. */
static int has_problem(const cJSON *problems, const char *code) {
  const cJSON *p;
  cJSON_ArrayForEach(p, problems) {
    if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(p, "code")), code) == 0)
      return 1;
  }
  return 0;
}

#define OWNER_FLOW                                                                          \
  "{\"id\":\"f_owner\",\"name\":\"Owner by order source\",\"priority\":100,\"nodes\":["    \
  "{\"id\":\"t\",\"type\":\"trigger.record\",\"config\":{\"kind\":\"order\",\"on\":\"created\"}}," \
  "{\"id\":\"s\",\"type\":\"branch.switch\",\"config\":{\"cases\":["                       \
  "{\"port\":\"website\",\"when\":{\"==\":[{\"var\":\"order.source\"},\"website\"]}},"     \
  "{\"port\":\"facebook\",\"when\":{\"==\":[{\"var\":\"order.source\"},\"facebook\"]}}]}}," \
  "{\"id\":\"a1\",\"type\":\"action.assign\",\"config\":{\"target\":\"customer\",\"strategy\":\"fixed\",\"staff\":\"s_lan\"}}," \
  "{\"id\":\"a2\",\"type\":\"action.assign\",\"config\":{\"target\":\"customer\",\"strategy\":\"fixed\",\"staff\":\"s_minh\"}}]," \
  "\"edges\":[{\"from\":\"t\",\"to\":\"s\"},{\"from\":\"s\",\"port\":\"website\",\"to\":\"a1\"}," \
  "{\"from\":\"s\",\"port\":\"facebook\",\"to\":\"a2\"}]}"

#define CYCLE_FLOW                                                                          \
  "{\"id\":\"f_cycle\",\"name\":\"Cycle\",\"nodes\":["                                      \
  "{\"id\":\"t\",\"type\":\"trigger.manual\",\"config\":{}},"                              \
  "{\"id\":\"a\",\"type\":\"set\",\"config\":{\"values\":{\"x\":1}}},"                     \
  "{\"id\":\"b\",\"type\":\"set\",\"config\":{\"values\":{\"y\":2}}}],"                    \
  "\"edges\":[{\"from\":\"t\",\"to\":\"a\"},{\"from\":\"a\",\"to\":\"b\"},{\"from\":\"b\",\"to\":\"a\"}]}"

TEST_PG(flows_api_requires_a_valid_token) {
  start();
  char url[128];
  snprintf(url, sizeof url, "%s/api/flows", P.url);
  struct http_resp r;
  ASSERT_INT_EQ(http_do("GET", url, NULL, NULL, &r), 0);
  ASSERT_INT_EQ(r.status, 401);
  ASSERT_STR_EQ(err_code(&r), "unauthorized");
  http_resp_free(&r);
  const char *bad[] = {"Authorization: Bearer wrong-token", NULL};
  ASSERT_INT_EQ(http_do("GET", url, NULL, bad, &r), 0);
  ASSERT_INT_EQ(r.status, 401);
  http_resp_free(&r);
  stop();
}

TEST_PG(flows_create_read_list_and_delete) {
  start();
  struct http_resp r = call("POST", "/api/flows", OWNER_FLOW, 201);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "id")), "f_owner");
  ASSERT_INT_EQ(num(r.json, "revision"), 1);
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "problems")), 0);
  ASSERT(cJSON_IsNull(cJSON_GetObjectItem(r.json, "active_version")));
  http_resp_free(&r);

  r = call("GET", "/api/flows/f_owner", NULL, 200);
  cJSON *draft = cJSON_GetObjectItem(r.json, "draft");
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(draft, "nodes")), 4);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "created_by")), "admin");
  http_resp_free(&r);

  r = call("GET", "/api/flows", NULL, 200);
  cJSON *flows = cJSON_GetObjectItem(r.json, "flows");
  ASSERT_INT_EQ(cJSON_GetArraySize(flows), 1);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(flows, 0), "name")),
                "Owner by order source");
  http_resp_free(&r);

  /* Without an id, one is generated. */
  r = call("POST", "/api/flows", "{\"name\":\"No id\",\"nodes\":[],\"edges\":[]}", 201);
  const char *gen = cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "id"));
  ASSERT(gen && strncmp(gen, "f_", 2) == 0);
  http_resp_free(&r);

  r = call("DELETE", "/api/flows/f_owner", NULL, 204);
  http_resp_free(&r);
  r = call("GET", "/api/flows/f_owner", NULL, 404);
  http_resp_free(&r);
  r = call("DELETE", "/api/flows/f_owner", NULL, 404);
  http_resp_free(&r);
  stop();
}

TEST_PG(flows_create_rejects_bad_input_and_saves_nothing) {
  start();
  struct http_resp r = call("POST", "/api/flows", "{\"name\": ", 400);
  ASSERT_STR_EQ(err_code(&r), "invalid_json");
  http_resp_free(&r);
  r = call("POST", "/api/flows", "[1,2]", 400);
  ASSERT_STR_EQ(err_code(&r), "invalid_document");
  http_resp_free(&r);
  r = call("POST", "/api/flows", "{\"nodes\":[]}", 400);
  ASSERT_STR_EQ(err_field(&r), "name");
  ASSERT_STR_CONTAINS(r.body, "\\\"name\\\" is required");
  http_resp_free(&r);
  r = call("POST", "/api/flows", "{\"name\":\"x\",\"id\":\"bad id!\"}", 400);
  ASSERT_STR_EQ(err_field(&r), "id");
  http_resp_free(&r);
  r = call("POST", "/api/flows", "{\"name\":7}", 400);
  ASSERT_STR_EQ(err_field(&r), "name");
  http_resp_free(&r);
  /* Deeply nested documents are refused before anything looks inside them. */
  char deep[2000] = "{\"name\":\"deep\",\"x\":";
  for (int i = 0; i < 100; i++)
    strcat(deep, "[");
  for (int i = 0; i < 100; i++)
    strcat(deep, "]");
  strcat(deep, "}");
  r = call("POST", "/api/flows", deep, 400);
  ASSERT_STR_EQ(err_code(&r), "too_deep");
  http_resp_free(&r);
  r = call("POST", "/api/flows", "", 400);
  ASSERT_STR_EQ(err_code(&r), "invalid_json");
  http_resp_free(&r);

  r = call("POST", "/api/flows", OWNER_FLOW, 201);
  http_resp_free(&r);
  r = call("POST", "/api/flows", OWNER_FLOW, 409);
  ASSERT_STR_EQ(err_code(&r), "exists");
  http_resp_free(&r);
  r = call("GET", "/api/flows", NULL, 200);
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "flows")), 1);
  http_resp_free(&r);
  stop();
}

TEST_PG(flows_draft_may_be_invalid_and_comes_back_with_its_problems) {
  start();
  struct http_resp r = call("POST", "/api/flows", CYCLE_FLOW, 201);
  ASSERT(has_problem(cJSON_GetObjectItem(r.json, "problems"), "cycle"));
  http_resp_free(&r);
  r = call("GET", "/api/flows/f_cycle", NULL, 200);
  ASSERT(has_problem(cJSON_GetObjectItem(r.json, "problems"), "cycle"));
  http_resp_free(&r);
  r = call("POST", "/api/flows/validate", CYCLE_FLOW, 200);
  ASSERT(has_problem(cJSON_GetObjectItem(r.json, "problems"), "cycle"));
  ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(r.json, "valid")));
  http_resp_free(&r);
  r = call("POST", "/api/flows/validate", OWNER_FLOW, 200);
  ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "valid")));
  http_resp_free(&r);
  stop();
}

TEST_PG(flows_save_based_on_an_old_revision_gets_409_with_the_current_one) {
  start();
  struct http_resp r = call("POST", "/api/flows", OWNER_FLOW, 201);
  http_resp_free(&r);
  /* Tab 1 saves on revision 1. */
  r = call("PUT", "/api/flows/f_owner",
           "{\"revision\":1,\"flow\":{\"name\":\"Renamed in tab 1\",\"nodes\":[],\"edges\":[]}}",
           200);
  ASSERT_INT_EQ(num(r.json, "revision"), 2);
  http_resp_free(&r);
  /* Tab 2 still has revision 1. */
  r = call("PUT", "/api/flows/f_owner",
           "{\"revision\":1,\"name\":\"Renamed in tab 2\",\"nodes\":[],\"edges\":[]}", 409);
  ASSERT_STR_EQ(err_code(&r), "revision_conflict");
  cJSON *d = cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "error"), "details");
  ASSERT_INT_EQ(num(d, "revision"), 2);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(d, "updated_by")), "admin");
  http_resp_free(&r);
  r = call("GET", "/api/flows/f_owner", NULL, 200);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "name")), "Renamed in tab 1");
  http_resp_free(&r);
  /* Overwrite: save again on the revision the conflict named. */
  r = call("PUT", "/api/flows/f_owner",
           "{\"revision\":2,\"name\":\"Renamed in tab 2\",\"nodes\":[],\"edges\":[]}", 200);
  ASSERT_INT_EQ(num(r.json, "revision"), 3);
  http_resp_free(&r);

  r = call("PUT", "/api/flows/f_owner", "{\"name\":\"no revision\"}", 400);
  ASSERT_STR_EQ(err_field(&r), "revision");
  http_resp_free(&r);
  r = call("PUT", "/api/flows/f_owner", "{\"revision\":3,\"id\":\"other\",\"name\":\"x\"}", 400);
  ASSERT_STR_EQ(err_field(&r), "id");
  http_resp_free(&r);
  r = call("PUT", "/api/flows/nope", "{\"revision\":1,\"name\":\"x\"}", 404);
  http_resp_free(&r);
  stop();
}

TEST_PG(flows_publish_refuses_invalid_drafts_and_versions_are_immutable) {
  start();
  struct http_resp r = call("POST", "/api/flows", CYCLE_FLOW, 201);
  http_resp_free(&r);
  r = call("POST", "/api/flows/f_cycle/publish", NULL, 422);
  ASSERT_STR_EQ(err_code(&r), "invalid_flow");
  cJSON *d = cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "error"), "details");
  ASSERT(has_problem(cJSON_GetObjectItem(d, "problems"), "cycle"));
  http_resp_free(&r);
  r = call("GET", "/api/flows/f_cycle/versions", NULL, 200);
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "versions")), 0);
  http_resp_free(&r);

  r = call("POST", "/api/flows", OWNER_FLOW, 201);
  http_resp_free(&r);
  r = call("POST", "/api/flows/f_owner/publish", NULL, 201);
  ASSERT_INT_EQ(num(r.json, "version"), 1);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "created_by")), "admin");
  http_resp_free(&r);
  /* Change the draft: version 1 keeps what was published. */
  r = call("PUT", "/api/flows/f_owner",
           "{\"revision\":1,\"flow\":" OWNER_FLOW "}", 200);
  http_resp_free(&r);
  r = call("POST", "/api/flows/f_owner/publish", NULL, 201);
  ASSERT_INT_EQ(num(r.json, "version"), 2);
  ASSERT_INT_EQ(num(r.json, "revision"), 2);
  http_resp_free(&r);
  r = call("GET", "/api/flows/f_owner/versions", NULL, 200);
  cJSON *vs = cJSON_GetObjectItem(r.json, "versions");
  ASSERT_INT_EQ(cJSON_GetArraySize(vs), 2);
  ASSERT_INT_EQ(num(cJSON_GetArrayItem(vs, 0), "version"), 2);
  http_resp_free(&r);
  r = call("GET", "/api/flows/f_owner/versions/1", NULL, 200);
  ASSERT_INT_EQ(num(r.json, "revision"), 1);
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "doc"),
                                                      "nodes")), 4);
  http_resp_free(&r);
  r = call("GET", "/api/flows/f_owner/versions/9", NULL, 404);
  http_resp_free(&r);
  r = call("GET", "/api/flows/f_owner/versions/x", NULL, 400);
  ASSERT_STR_EQ(err_field(&r), "version");
  http_resp_free(&r);
  r = call("POST", "/api/flows/nope/publish", NULL, 404);
  http_resp_free(&r);
  stop();
}

TEST_PG(flows_activate_and_deactivate_versions) {
  start();
  struct http_resp r = call("POST", "/api/flows", OWNER_FLOW, 201);
  http_resp_free(&r);
  r = call("POST", "/api/flows/f_owner/activate", NULL, 409);
  ASSERT_STR_EQ(err_code(&r), "not_published");
  http_resp_free(&r);
  r = call("POST", "/api/flows/f_owner/publish", NULL, 201);
  http_resp_free(&r);
  r = call("POST", "/api/flows/f_owner/publish", NULL, 201);
  http_resp_free(&r);
  r = call("POST", "/api/flows/f_owner/activate", NULL, 200);
  ASSERT_INT_EQ(num(r.json, "active_version"), 2);
  http_resp_free(&r);
  r = call("POST", "/api/flows/f_owner/activate", "{\"version\":1}", 200);
  ASSERT_INT_EQ(num(r.json, "active_version"), 1);
  http_resp_free(&r);
  r = call("POST", "/api/flows/f_owner/activate", "{\"version\":5}", 400);
  ASSERT_STR_EQ(err_field(&r), "version");
  http_resp_free(&r);
  r = call("POST", "/api/flows/f_owner/activate", "{\"version\":\"two\"}", 400);
  ASSERT_STR_EQ(err_field(&r), "version");
  http_resp_free(&r);
  r = call("GET", "/api/flows/f_owner", NULL, 200);
  ASSERT_INT_EQ(num(r.json, "active_version"), 1);
  ASSERT_INT_EQ(num(r.json, "latest_version"), 2);
  http_resp_free(&r);
  r = call("POST", "/api/flows/f_owner/deactivate", NULL, 200);
  ASSERT(cJSON_IsNull(cJSON_GetObjectItem(r.json, "active_version")));
  http_resp_free(&r);
  r = call("POST", "/api/flows/nope/activate", NULL, 404);
  http_resp_free(&r);
  r = call("POST", "/api/flows/nope/deactivate", NULL, 404);
  http_resp_free(&r);
  stop();
}

TEST_PG(flows_export_and_import_round_trip) {
  start();
  struct http_resp r = call("POST", "/api/flows", OWNER_FLOW, 201);
  http_resp_free(&r);
  r = call("GET", "/api/flows/f_owner/export", NULL, 200);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "format")), "flowd.flow/1");
  cJSON *flow = cJSON_GetObjectItem(r.json, "flow");
  cJSON_ReplaceItemInObject(flow, "id", cJSON_CreateString("f_owner_copy"));
  char *text = cJSON_PrintUnformatted(r.json);
  http_resp_free(&r);
  r = call("POST", "/api/flows/import", text, 201);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "id")), "f_owner_copy");
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "problems")), 0);
  http_resp_free(&r);
  r = call("POST", "/api/flows/import", text, 409);
  http_resp_free(&r);
  free(text);
  r = call("POST", "/api/flows/import", "\"not a flow\"", 400);
  http_resp_free(&r);
  r = call("GET", "/api/flows/nope/export", NULL, 404);
  http_resp_free(&r);
  stop();
}

/* The five scenario flows of SPEC can be saved, validated, published and activated. */
TEST_PG(scenario_flows_save_validate_publish_and_activate) {
  char dir[600];
  snprintf(dir, sizeof dir, "%s/tests/fixtures/flows", test_source_dir());
  DIR *d = opendir(dir);
  ASSERT_NOT_NULL(d);
  start();
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strstr(e->d_name, ".json"))
      continue;
    char path[900];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    char *text = read_text(path);
    ASSERT_NOT_NULL(text);
    struct http_resp r = call("POST", "/api/flows", text, 201);
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "id"));
    /* A draft may name staff, teams and providers that do not exist yet (warnings);
     * publishing needs them: create them, then publish. */
    const cJSON *pr;
    cJSON_ArrayForEach(pr, cJSON_GetObjectItem(r.json, "problems")) {
      if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(pr, "severity")), "warning") ||
          strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(pr, "code")), "missing_reference"))
        test_fail(__FILE__, __LINE__, "%s has problems: %s", e->d_name, r.body);
    }
    create_missing_refs(&P, cJSON_GetObjectItem(r.json, "problems"));
    char url[300];
    snprintf(url, sizeof url, "/api/flows/%s/publish", id);
    struct http_resp p = call("POST", url, NULL, 201);
    http_resp_free(&p);
    snprintf(url, sizeof url, "/api/flows/%s/activate", id);
    p = call("POST", url, NULL, 200);
    ASSERT_INT_EQ(num(p.json, "active_version"), 1);
    http_resp_free(&p);
    http_resp_free(&r);
    free(text);
    n++;
  }
  closedir(d);
  ASSERT(n >= 5);
  stop();
}

TEST_PG(node_types_catalog_lists_every_spec_type) {
  start();
  struct http_resp r = call("GET", "/api/node-types", NULL, 200);
  cJSON *types = cJSON_GetObjectItem(r.json, "node_types");
  static const char *spec[] = {
      "trigger.record", "trigger.event", "trigger.schedule", "trigger.manual", "branch.if",
      "branch.switch", "delay", "wait.event", "set", "stop", "action.update_record",
      "action.assign", "action.create_task", "action.send_sms", "action.send_email",
      "action.robocall", "action.send_message", "action.http", "action.notify"};
  for (size_t i = 0; i < sizeof spec / sizeof spec[0]; i++) {
    const cJSON *t, *found = NULL;
    cJSON_ArrayForEach(t, types) {
      if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(t, "name")), spec[i]) == 0)
        found = t;
    }
    if (!found)
      test_fail(__FILE__, __LINE__, "node type %s missing from the catalog", spec[i]);
    ASSERT(cJSON_IsObject(cJSON_GetObjectItem(found, "schema")));
    ASSERT(cJSON_IsArray(cJSON_GetObjectItem(found, "ports")));
    ASSERT(cJSON_IsString(cJSON_GetObjectItem(found, "group")));
  }
  http_resp_free(&r);
  stop();
}

TEST_PG(conditions_eval_answers_and_points_at_errors) {
  start();
  struct http_resp r = call("POST", "/api/conditions/eval",
                            "{\"when\":{\"and\":[{\">=\":[{\"var\":\"order.amount\"},50000]},"
                            "{\"==\":[{\"var\":\"order.city\"},\"Hà Nội\"]}]},"
                            "\"data\":{\"order\":{\"amount\":60000,\"city\":\"Hà Nội\"}}}", 200);
  ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "result")));
  ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "matched")));
  http_resp_free(&r);
  r = call("POST", "/api/conditions/eval",
           "{\"when\":{\"domain\":[[\"country\",\"in\",[\"United States\",\"Canada\"]]]},"
           "\"data\":{\"country\":\"Vietnam\"}}", 200);
  ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(r.json, "result")));
  http_resp_free(&r);
  r = call("POST", "/api/conditions/eval",
           "{\"when\":{\"and\":[true,{\"nosuchop\":[1]}]},\"data\":{}}", 422);
  ASSERT_STR_EQ(err_code(&r), "invalid_condition");
  cJSON *d = cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "error"), "details");
  ASSERT_STR_CONTAINS(cJSON_GetStringValue(cJSON_GetObjectItem(d, "path")), "/and/1");
  ASSERT_STR_CONTAINS(r.body, "nosuchop");
  http_resp_free(&r);
  r = call("POST", "/api/conditions/eval", "{\"data\":{}}", 400);
  ASSERT_STR_EQ(err_field(&r), "when");
  http_resp_free(&r);
  r = call("POST", "/api/conditions/eval", "{\"when\": tru", 400);
  http_resp_free(&r);
  stop();
}

TEST_PG(templates_render_answers_and_points_at_errors) {
  start();
  struct http_resp r = call("POST", "/api/templates/render",
                            "{\"template\":\"Đơn #ORDER_ID# của {{customer.name}}: {{order.amount}}đ\","
                            "\"data\":{\"order\":{\"id\":\"DH42\",\"amount\":150000},"
                            "\"customer\":{\"name\":\"Lan & Minh\"}}}", 200);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "text")),
                "Đơn DH42 của Lan &amp; Minh: 150000đ");
  http_resp_free(&r);
  r = call("POST", "/api/templates/render",
           "{\"template\":\"{{>p}}\",\"partials\":{\"p\":\"[{{x}}]\"},\"data\":{\"x\":1.21}}", 200);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "text")), "[1.21]");
  http_resp_free(&r);
  r = call("POST", "/api/templates/render", "{\"template\":\"a\\n{{#items}}b\",\"data\":{}}", 422);
  ASSERT_STR_EQ(err_code(&r), "invalid_template");
  ASSERT_STR_CONTAINS(r.body, "line 2");
  http_resp_free(&r);
  r = call("POST", "/api/templates/render", "{\"template\":5}", 400);
  ASSERT_STR_EQ(err_field(&r), "template");
  http_resp_free(&r);
  r = call("POST", "/api/templates/render", "{\"template\":\"x\",\"partials\":[]}", 400);
  ASSERT_STR_EQ(err_field(&r), "partials");
  http_resp_free(&r);
  stop();
}

TEST_PG(flows_missing_references_warn_on_drafts_and_block_publishing) {
  flowd_start(&P, NULL, "test", NULL);
  flowd_wait_ready(&P, 60000);
  /* No staff yet: the draft saves with warnings naming them; publishing refuses. */
  struct http_resp r = call("POST", "/api/flows", OWNER_FLOW, 201);
  cJSON *problems = cJSON_GetObjectItem(r.json, "problems");
  ASSERT_INT_EQ(cJSON_GetArraySize(problems), 2);
  cJSON *p0 = cJSON_GetArrayItem(problems, 0);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(p0, "code")), "missing_reference");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(p0, "severity")), "warning");
  ASSERT_STR_CONTAINS(cJSON_GetStringValue(cJSON_GetObjectItem(p0, "message")), "s_lan");
  http_resp_free(&r);
  r = call("POST", "/api/flows/validate", OWNER_FLOW, 200);
  ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "valid")));
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "problems")), 2);
  http_resp_free(&r);
  r = call("POST", "/api/flows/f_owner/publish", NULL, 422);
  ASSERT_STR_CONTAINS(r.body, "missing_reference");
  http_resp_free(&r);
  create_staff();
  r = call("GET", "/api/flows/f_owner", NULL, 200);
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "problems")), 0);
  http_resp_free(&r);
  r = call("POST", "/api/flows/f_owner/publish", NULL, 201);
  http_resp_free(&r);
  stop();
}
