/* api_versions: publishing a draft as an immutable version (refused with 422 and the problems
 * when invalid), activating a version, deactivating, listing and reading versions, export.
 * Activation changes are announced on NOTIFY channel flowd_flows so that every flowd process
 * on the database picks them up; they also rebuild the flow's trigger index and its schedules
 * (flowd_index_schedules, schema/007_schedules.sql) in the same transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "server/api.h"
#include "server/api_util.h"
#include "server/audit.h"
#include "server/auth.h"
#include "server/db.h"
#include "server/flowdoc.h"
#include "server/http.h"
#include "server/server.h"

struct publish_ctx {
  struct http_req *req;
  struct principal who;
};

static void publish_done(void *data, int rc, const struct db_result *r) {
  struct publish_ctx *cx = data;
  struct http_req *req = cx->req;
  free(cx);
  if (rc && r && r->sqlstate && strcmp(r->sqlstate, "23505") == 0) {
    http_error(req, 409, "conflict", "another publish of this flow happened at the same time; "
               "try again", NULL);
    return;
  }
  if (rc) {
    api_db_error(req, rc, r);
    return;
  }
  cJSON *v = api_row_json(r, 0, 0);
  if (!v) {
    http_error(req, 409, "revision_conflict",
               "the draft changed while it was being published; publish again", NULL);
    return;
  }
  /* Audit: the version was inserted (the revision still matched). */
  cJSON *d = cJSON_CreateObject();
  cJSON_AddItemToObject(d, "version", cJSON_Duplicate(cJSON_GetObjectItem(v, "version"), 1));
  audit_after(req, "flow.published", http_param(req, 0), d);
  cJSON_Delete(d);
  http_reply_json(req, 201, v);
}

static void publish_loaded(void *data, int rc, const struct db_result *r) {
  struct publish_ctx *cx = data;
  struct http_req *req = cx->req;
  if (rc || api_rows(r, 0) == 0) {
    free(cx);
    if (rc)
      api_db_error(req, rc, r);
    else
      http_error(req, 404, "not_found", "no such flow", NULL);
    return;
  }
  cJSON *draft = api_row_json(r, 0, 0);
  const char *revision = api_row_text(r, 0, 1);
  cJSON *refs = api_row_json(r, 0, 2);
  int errors = 0;
  /* Publishing is strict: a flow that names staff, teams or providers that do not exist
   * cannot go live. */
  cJSON *problems = flowdoc_problems(draft, refs, 1, &errors);
  cJSON_Delete(refs);
  if (errors > 0) {
    free(cx);
    char msg[160];
    snprintf(msg, sizeof msg, "the flow cannot be published: %d problem%s to fix first", errors,
             errors == 1 ? "" : "s");
    cJSON *d = cJSON_CreateObject();
    cJSON_AddItemToObject(d, "problems", problems);
    http_error(req, 422, "invalid_flow", msg, d);
    cJSON_Delete(draft);
    return;
  }
  cJSON_Delete(problems);
  char *text = cJSON_PrintUnformatted(draft);
  cJSON_Delete(draft);
  const char *params[4] = {http_param(req, 0), text, revision, cx->who.name};
  /* Publish exactly the revision that was validated: if the draft moved on, nothing is
   * inserted and the caller is told. */
  db_query(req->srv->db, "flows_publish",
           "INSERT INTO flow_versions (flow_id, version, doc, revision, created_by) "
           "SELECT $1, coalesce((SELECT max(version) FROM flow_versions WHERE flow_id = $1), 0) "
           "+ 1, $2::jsonb, $3::int, $4 WHERE EXISTS (SELECT 1 FROM flows WHERE id = $1 AND "
           "revision = $3::int) RETURNING json_build_object('flow_id', flow_id, 'version', "
           "version, 'revision', revision, 'created_at', created_at, 'created_by', created_by)",
           4, params, publish_done, cx);
  free(text);
}

void api_flows_publish(struct http_req *req) {
  struct publish_ctx *cx = calloc(1, sizeof *cx);
  if (!cx) {
    http_error(req, 500, "internal", "out of memory", NULL);
    return;
  }
  cx->req = req;
  if (!auth_require(req, AUTH_ADMIN, &cx->who)) {
    free(cx);
    return;
  }
  const char *id = http_param(req, 0);
  db_query(req->srv->db, "flows_draft",
           "SELECT draft, revision, " FLOWDOC_REFS_SQL " FROM flows WHERE id = $1", 1, &id,
           publish_loaded, cx);
}

/* The result of the statement of r that failed, or NULL. */
static const PGresult *failed_result(const struct db_result *r) {
  for (int i = 0; r && i < r->n; i++)
    if (r->res[i] && PQresultStatus(r->res[i]) == PGRES_FATAL_ERROR)
      return r->res[i];
  return NULL;
}

/* Activation refused because the database cannot read one of the flow's schedules
 * (flowd_index_schedules: an unknown time zone): 422 with the problem on its node, like a
 * publish that does not validate. */
static void schedule_refused(struct http_req *req, const struct db_result *r) {
  const PGresult *res = failed_result(r);
  const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
  cJSON *problem = detail ? cJSON_Parse(detail) : NULL;
  cJSON *d = cJSON_CreateObject();
  cJSON *problems = cJSON_AddArrayToObject(d, "problems");
  if (cJSON_IsObject(problem))
    cJSON_AddItemToArray(problems, problem);
  else
    cJSON_Delete(problem);
  http_error(req, 422, "invalid_flow", msg ? msg : "a schedule of this flow is invalid", d);
}

static void activate_done(void *data, int rc, const struct db_result *r) {
  struct http_req *req = data;
  if (rc && r && r->sqlstate && strcmp(r->sqlstate, "FD002") == 0) {
    schedule_refused(req, r);
    return;
  }
  if (rc) {
    api_db_error(req, rc, r);
    return;
  }
  if (api_rows(r, 0) == 1) {
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "id", http_param(req, 0));
    const char *v = api_row_text(r, 0, 0);
    if (v)
      cJSON_AddNumberToObject(out, "active_version", atoi(v));
    else
      cJSON_AddNullToObject(out, "active_version");
    /* Audit: the flow row was updated (activate and deactivate share this callback). */
    int deact = strstr(req->path, "/deactivate") != NULL;
    cJSON *d = cJSON_CreateObject();
    if (!deact)
      cJSON_AddItemToObject(d, "version",
                            cJSON_Duplicate(cJSON_GetObjectItem(out, "active_version"), 1));
    audit_after(req, deact ? "flow.deactivated" : "flow.activated", http_param(req, 0), d);
    cJSON_Delete(d);
    http_reply_json(req, 200, out);
    return;
  }
  if (api_rows(r, 1) == 0) {
    http_error(req, 404, "not_found", "no such flow", NULL);
    return;
  }
  const char *latest = api_row_text(r, 1, 0);
  if (!latest)
    http_error(req, 409, "not_published", "the flow has no published version: publish it first",
               NULL);
  else
    api_bad_field(req, "invalid_field", "version", "no such version (the latest is %s)", latest);
}

void api_flows_activate(struct http_req *req) {
  struct principal who;
  if (!auth_require(req, AUTH_ADMIN, &who))
    return;
  char vbuf[16] = "";
  const char *version = NULL;
  if (req->body_len > 0) {
    cJSON *body = http_body_json(req);
    if (!body)
      return;
    cJSON *v = cJSON_GetObjectItem(body, "version");
    int bad = v && !cJSON_IsNull(v) &&
              (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble != (int)v->valuedouble);
    if (!bad && cJSON_IsNumber(v)) {
      snprintf(vbuf, sizeof vbuf, "%d", v->valueint);
      version = vbuf;
    }
    cJSON_Delete(body);
    if (bad) {
      api_bad_field(req, "invalid_field", "version", "\"version\" must be a positive integer");
      return;
    }
  }
  const char *params[3] = {http_param(req, 0), version, who.name};
  struct db_batch *b = db_batch_new();
  db_batch_add(b, "flows_activate",
               "UPDATE flows f SET active_version = v.version, updated_at = now(), "
               "updated_by = $3 FROM (SELECT max(version) AS version FROM flow_versions "
               "WHERE flow_id = $1 AND ($2::int IS NULL OR version = $2::int)) v "
               "WHERE f.id = $1 AND v.version IS NOT NULL RETURNING f.active_version",
               3, params);
  db_batch_add(b, "flows_latest",
               "SELECT (SELECT max(version) FROM flow_versions WHERE flow_id = $1) FROM flows "
               "WHERE id = $1", 1, params);
  db_batch_add(b, "flows_index", "SELECT flowd_index_triggers($1)", 1, params);
  db_batch_add(b, "flows_schedules", "SELECT flowd_index_schedules($1)", 1, params);
  db_batch_add(b, "flows_notify", "SELECT pg_notify('flowd_flows', $1)", 1, params);
  db_submit(req->srv->db, b, activate_done, req);
}

void api_flows_deactivate(struct http_req *req) {
  struct principal who;
  if (!auth_require(req, AUTH_ADMIN, &who))
    return;
  const char *params[2] = {http_param(req, 0), who.name};
  struct db_batch *b = db_batch_new();
  db_batch_add(b, "flows_deactivate",
               "UPDATE flows SET active_version = NULL, updated_at = now(), updated_by = $2 "
               "WHERE id = $1 RETURNING active_version", 2, params);
  db_batch_add(b, "flows_exists", "SELECT 1 FROM flows WHERE id = $1", 1, params);
  db_batch_add(b, "flows_index", "SELECT flowd_index_triggers($1)", 1, params);
  db_batch_add(b, "flows_schedules", "SELECT flowd_index_schedules($1)", 1, params);
  db_batch_add(b, "flows_notify", "SELECT pg_notify('flowd_flows', $1)", 1, params);
  db_submit(req->srv->db, b, activate_done, req);
}

static void versions_done(void *data, int rc, const struct db_result *r) {
  api_reply_row(data, rc, r, 0, "flow");
}

void api_flows_versions(struct http_req *req) {
  if (!auth_require(req, AUTH_MANAGER, NULL))
    return;
  const char *id = http_param(req, 0);
  db_query(req->srv->db, "flows_versions",
           "SELECT json_build_object('flow_id', f.id, 'active_version', f.active_version, "
           "'versions', coalesce((SELECT json_agg(json_build_object('version', v.version, "
           "'revision', v.revision, 'created_at', v.created_at, 'created_by', v.created_by) "
           "ORDER BY v.version DESC) FROM flow_versions v WHERE v.flow_id = f.id), '[]'::json)) "
           "FROM flows f WHERE f.id = $1",
           1, &id, versions_done, req);
}

void api_flows_version(struct http_req *req) {
  if (!auth_require(req, AUTH_MANAGER, NULL))
    return;
  const char *n = http_param(req, 1);
  char *end;
  long v = strtol(n, &end, 10);
  if (*end || v < 1 || v > 1000000000) {
    api_bad_field(req, "invalid_field", "version", "the version must be a positive integer");
    return;
  }
  const char *params[2] = {http_param(req, 0), n};
  db_query(req->srv->db, "flows_version",
           "SELECT json_build_object('flow_id', flow_id, 'version', version, 'revision', "
           "revision, 'created_at', created_at, 'created_by', created_by, 'doc', doc) "
           "FROM flow_versions WHERE flow_id = $1 AND version = $2::int",
           2, params, versions_done, req);
}

static void export_done(void *data, int rc, const struct db_result *r) {
  struct http_req *req = data;
  if (rc) {
    api_db_error(req, rc, r);
    return;
  }
  cJSON *draft = api_row_json(r, 0, 0);
  if (!draft) {
    http_error(req, 404, "not_found", "no such flow", NULL);
    return;
  }
  cJSON *out = cJSON_CreateObject();
  cJSON_AddStringToObject(out, "format", "flowd.flow/1");
  cJSON_AddItemToObject(out, "flow", draft);
  char disp[160];
  snprintf(disp, sizeof disp, "attachment; filename=\"%s.flow.json\"", http_param(req, 0));
  http_add_header(req, "Content-Disposition", disp);
  http_reply_json(req, 200, out);
}

void api_flows_export(struct http_req *req) {
  if (!auth_require(req, AUTH_MANAGER, NULL))
    return;
  const char *id = http_param(req, 0);
  db_query(req->srv->db, "flows_export", "SELECT draft FROM flows WHERE id = $1", 1, &id,
           export_done, req);
}
