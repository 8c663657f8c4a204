/* api_runs: runs: list with filters and paging, one run with its steps, cancel, retry from
 * the failed step; and POST /api/flows/{id}/test (runs the draft, effects recorded). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/err.h"
#include "graph/graph.h"
#include "server/api.h"
#include "server/api_util.h"
#include "server/auth.h"
#include "server/db.h"
#include "server/exec.h"
#include "server/exec_internal.h"
#include "server/flowdoc.h"
#include "server/http.h"
#include "server/server.h"

#define RUN_JSON                                                                           \
  "jsonb_build_object('id', r.id, 'flow_id', r.flow_id, 'flow_version', r.flow_version, "  \
  "'status', r.status, 'event_id', r.event_id, 'record', CASE WHEN r.record_kind IS NULL " \
  "THEN NULL ELSE r.record_kind || ':' || r.record_id END, 'test', r.test, 'error', "      \
  "r.error, 'reason', r.reason, 'created_at', r.created_at, 'updated_at', r.updated_at, "  \
  "'finished_at', r.finished_at, 'due_at', r.due_at, 'depth', r.depth)"

static void text_done(void *data, int rc, const struct db_result *r) {
  api_reply_row(data, rc, r, 0, "run");
}

static int valid_status(const char *s) {
  static const char *const ok[] = {"running", "waiting", "succeeded", "failed", "cancelled"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    if (!strcmp(s, ok[i]))
      return 1;
  return 0;
}

void api_runs_list(struct http_req *req) {
  if (!auth_require(req, AUTH_MANAGER, NULL))
    return;
  char flow[128], status[32], record[256], limit[16], before[32];
  const char *f = http_query_param(req, "flow", flow, sizeof flow);
  const char *st = http_query_param(req, "status", status, sizeof status);
  const char *rec = http_query_param(req, "record", record, sizeof record);
  const char *lim = http_query_param(req, "limit", limit, sizeof limit);
  const char *bef = http_query_param(req, "before", before, sizeof before);
  if (st && !valid_status(st)) {
    api_bad_field(req, "invalid_field", "status",
                  "status must be running, waiting, succeeded, failed or cancelled");
    return;
  }
  if (rec && !strchr(rec, ':')) {
    api_bad_field(req, "invalid_field", "record", "record must be kind:id, e.g. order:DH42");
    return;
  }
  long n = lim ? strtol(lim, NULL, 10) : 50;
  if (lim && (n < 1 || n > 500)) {
    api_bad_field(req, "invalid_field", "limit", "limit must be 1 to 500");
    return;
  }
  char *end = NULL;
  if (bef && (strtoll(bef, &end, 10) <= 0 || *end)) {
    api_bad_field(req, "invalid_field", "before", "before must be a run id");
    return;
  }
  char nbuf[16];
  snprintf(nbuf, sizeof nbuf, "%ld", n);
  const char *kind = NULL, *rid = NULL;
  char kbuf[128] = "";
  if (rec) {
    snprintf(kbuf, sizeof kbuf, "%.*s", (int)(strchr(rec, ':') - rec), rec);
    kind = kbuf;
    rid = strchr(rec, ':') + 1;
  }
  const char *params[6] = {f, st, kind, rid, nbuf, bef};
  db_query(req->srv->db, "runs_list",
           "SELECT jsonb_build_object('runs', coalesce(jsonb_agg(" RUN_JSON " ORDER BY r.id DESC), "
           "'[]'), 'next_before', CASE WHEN count(*) = $5::int THEN min(r.id) END) FROM ("
           "SELECT * FROM runs WHERE ($1::text IS NULL OR flow_id = $1) AND ($2::text IS NULL "
           "OR status = $2) AND ($3::text IS NULL OR (record_kind = $3 AND record_id = $4)) "
           "AND ($6::bigint IS NULL OR id < $6::bigint) ORDER BY id DESC LIMIT $5::int) r",
           6, params, text_done, req);
}

static int valid_id(struct http_req *req, const char *id) {
  char *end;
  long long v = strtoll(id, &end, 10);
  if (*end || v <= 0) {
    api_bad_field(req, "invalid_field", "id", "a run id is a positive integer");
    return 0;
  }
  return 1;
}

#define RUN_WITH_STEPS                                                                     \
  "SELECT " RUN_JSON " || jsonb_build_object('event', (SELECT jsonb_build_object('id', "   \
  "e.id, 'type', e.type, 'key', e.key, 'at', e.at, 'data', e.data) FROM events e WHERE "   \
  "e.id = r.event_id), 'vars', r.scope->'vars', 'steps', coalesce((SELECT jsonb_agg("      \
  "jsonb_build_object('node', s.node_id, 'status', s.status, 'attempt', s.attempt, "       \
  "'port', s.port, 'started_at', s.started_at, 'finished_at', s.finished_at, 'output', "   \
  "s.output, 'error', s.error) ORDER BY s.id) FROM steps s WHERE s.run_id = r.id), '[]')) " \
  "FROM runs r WHERE r.id = $1::bigint"

void api_runs_get(struct http_req *req) {
  if (!auth_require(req, AUTH_MANAGER, NULL))
    return;
  const char *id = http_param(req, 0);
  if (valid_id(req, id))
    db_query(req->srv->db, "runs_get", RUN_WITH_STEPS, 1, &id, text_done, req);
}

static void changed_done(void *data, int rc, const struct db_result *r) {
  struct http_req *req = data;
  if (rc) {
    api_db_error(req, rc, r);
    return;
  }
  cJSON *run = api_row_json(r, 0, 0);
  if (run) {
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(run, "status"));
    if (status && !strcmp(status, "cancelled")) {
      cJSON *msg = cJSON_CreateObject();
      cJSON_AddStringToObject(msg, "status", "cancelled");
      cJSON_AddStringToObject(msg, "reason", "cancelled through the API");
      exec_publish_run(cJSON_GetObjectItem(run, "id")->valuedouble,
                       cJSON_GetStringValue(cJSON_GetObjectItem(run, "flow_id")),
                       "run.finished", msg);
    }
    http_reply_json(req, 200, run);
    return;
  }
  const char *cur = api_row_text(r, 1, 0);
  if (!cur) {
    http_error(req, 404, "not_found", "no such run", NULL);
    return;
  }
  cJSON *d = cJSON_CreateObject();
  cJSON_AddStringToObject(d, "status", cur);
  char msg[160];
  snprintf(msg, sizeof msg, "the run is %s: %s", cur,
           strstr(req->path, "/cancel") ? "only running or waiting runs can be cancelled"
                                        : "only a run that failed at a step can be retried");
  http_error(req, 409, "conflict", msg, d);
}

void api_runs_cancel(struct http_req *req) {
  struct principal who;
  if (!auth_require(req, AUTH_MANAGER, &who))
    return;
  const char *id = http_param(req, 0);
  if (!valid_id(req, id))
    return;
  const char *params[2] = {id, who.name};
  struct db_batch *b = db_batch_new();
  db_batch_add(b, "runs_cancel",
               "UPDATE runs r SET status = 'cancelled', due_at = NULL, finished_at = now(), "
               "updated_at = now(), reason = 'cancelled by ' || $2 WHERE id = $1::bigint AND "
               "status IN ('running', 'waiting') RETURNING " RUN_JSON, 2, params);
  db_batch_add(b, "runs_status", "SELECT status FROM runs WHERE id = $1::bigint", 1, params);
  db_submit(req->srv->db, b, changed_done, req);
}

void api_runs_retry(struct http_req *req) {
  if (!auth_require(req, AUTH_MANAGER, NULL))
    return;
  const char *id = http_param(req, 0);
  if (!valid_id(req, id))
    return;
  struct db_batch *b = db_batch_new();
  /* The executor sees "~retry" and starts a new attempt of every failed node. */
  db_batch_add(b, "runs_retry",
               "UPDATE runs r SET status = 'running', due_at = now(), finished_at = NULL, "
               "error = NULL, updated_at = now(), state = state || '{\"~retry\": true}' "
               "WHERE id = $1::bigint AND status = 'failed' AND EXISTS (SELECT 1 FROM "
               "jsonb_each(state) e WHERE jsonb_typeof(e.value) = 'array' AND "
               "(e.value->>0)::int = 6) RETURNING " RUN_JSON, 1, &id);
  db_batch_add(b, "runs_status", "SELECT status FROM runs WHERE id = $1::bigint", 1, &id);
  db_submit(req->srv->db, b, changed_done, req);
}

/* ---- test runs ---- */

static void test_finished(void *data, long long run_id, int rc) {
  struct http_req *req = data;
  if (rc) {
    api_db_error(req, rc, NULL);
    return;
  }
  char id[24];
  snprintf(id, sizeof id, "%lld", run_id);
  const char *p = id;
  db_query(req->srv->db, "runs_get", RUN_WITH_STEPS, 1, &p, text_done, req);
}

struct test_ctx {
  struct http_req *req;
  cJSON *event;
};

static void draft_loaded(void *data, int rc, const struct db_result *r) {
  struct test_ctx *tc = data;
  struct http_req *req = tc->req;
  cJSON *draft = rc == 0 ? api_row_json(r, 0, 0) : NULL;
  if (rc || !draft) {
    if (rc)
      api_db_error(req, rc, r);
    else
      http_error(req, 404, "not_found", "no such flow", NULL);
    cJSON_Delete(tc->event);
    free(tc);
    return;
  }
  struct graph *g = NULL;
  cJSON *problems = NULL;
  graph_parse(draft, NULL, &g, &problems);
  cJSON_Delete(draft);
  if (!g) {
    cJSON *d = cJSON_CreateObject();
    cJSON_AddItemToObject(d, "problems", problems);
    http_error(req, 422, "invalid_flow", "the draft has problems to fix before a test run", d);
  } else {
    cJSON_Delete(problems);
    exec_test_run(g, http_param(req, 0), tc->event, test_finished, req);
  }
  cJSON_Delete(tc->event);
  free(tc);
}

void api_flows_test(struct http_req *req) {
  if (!auth_require(req, AUTH_ADMIN, NULL))
    return;
  cJSON *body = req->body_len ? http_body_json(req) : cJSON_CreateObject();
  if (!body)
    return;
  cJSON *ev = cJSON_DetachItemFromObject(body, "event");
  cJSON_Delete(body);
  if (ev && !cJSON_IsObject(ev)) {
    cJSON_Delete(ev);
    api_bad_field(req, "invalid_field", "event", "\"event\" must be an object {type, data}");
    return;
  }
  struct test_ctx *tc = calloc(1, sizeof *tc);
  tc->req = req;
  tc->event = ev ? ev : cJSON_CreateObject();
  const char *id = http_param(req, 0);
  db_query(req->srv->db, "flows_draft_only", "SELECT draft FROM flows WHERE id = $1", 1, &id,
           draft_loaded, tc);
}
