/* api_flows: the flow drafts: list, create, read, update (with a revision: a save based on an
 * old revision gets 409 with the current one), delete, validate.
 * A draft may be invalid; it is stored as sent and returned with its problems. */
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

/* The JSON the API shows for a flow row (table alias f). */
#define FLOW_JSON                                                                        \
  "json_build_object('id', f.id, 'name', f.name, 'revision', f.revision, "               \
  "'active_version', f.active_version, 'latest_version', "                              \
  "(SELECT max(version) FROM flow_versions v WHERE v.flow_id = f.id), "                 \
  "'created_at', f.created_at, 'created_by', f.created_by, 'updated_at', f.updated_at, " \
  "'updated_by', f.updated_by"

static void list_done(void *data, int rc, const struct db_result *r) {
  struct http_req *req = data;
  if (rc) {
    api_db_error(req, rc, r);
    return;
  }
  api_reply_text_json(req, 200, api_row_text(r, 0, 0));
}

void api_flows_list(struct http_req *req) {
  if (!auth_require(req, AUTH_MANAGER, NULL))
    return;
  db_query(req->srv->db, "flows_list",
           "SELECT json_build_object('flows', coalesce(json_agg(" FLOW_JSON
           ") ORDER BY f.name, f.id), '[]'::json)) FROM flows f",
           0, NULL, list_done, req);
}

/* Replies with the flow row JSON of statement stmt plus its draft and problems (the row
 * carries the ids references are checked against; they are not part of the reply). */
static void reply_flow(struct http_req *req, int status, const struct db_result *r, int stmt) {
  cJSON *flow = api_row_json(r, stmt, 0);
  if (!flow) {
    http_error(req, 404, "not_found", "no such flow", NULL);
    return;
  }
  cJSON *refs = cJSON_DetachItemFromObject(flow, "refs");
  cJSON *draft = cJSON_GetObjectItem(flow, "draft");
  cJSON_AddItemToObject(flow, "problems", flowdoc_problems(draft, refs, 0, NULL));
  cJSON_Delete(refs);
  http_reply_json(req, status, flow);
}

static void get_done(void *data, int rc, const struct db_result *r) {
  struct http_req *req = data;
  if (rc)
    api_db_error(req, rc, r);
  else
    reply_flow(req, 200, r, 0);
}

#define SELECT_FLOW                                                                        \
  "SELECT " FLOW_JSON ", 'draft', f.draft, 'refs', " FLOWDOC_REFS_SQL ") FROM flows f "     \
  "WHERE f.id = $1"

void api_flows_get(struct http_req *req) {
  if (!auth_require(req, AUTH_MANAGER, NULL))
    return;
  const char *id = http_param(req, 0);
  db_query(req->srv->db, "flows_get", SELECT_FLOW, 1, &id, get_done, req);
}

static void create_done(void *data, int rc, const struct db_result *r) {
  struct http_req *req = data;
  if (rc) {
    api_db_error(req, rc, r);
    return;
  }
  if (api_rows(r, 0) == 0) {
    http_error(req, 409, "exists", "a flow with this id already exists", NULL);
    return;
  }
  /* Audit: the insert happened (ON CONFLICT DO NOTHING returned the row). */
  cJSON *d = cJSON_CreateObject();
  cJSON_AddBoolToObject(d, "imported", strcmp(req->path, "/api/flows/import") == 0);
  audit_after(req, "flow.created", api_row_text(r, 0, 0), d);
  cJSON_Delete(d);
  reply_flow(req, 201, r, 1);
}

/* Inserts doc as a new draft (shared by create and import). */
static void insert_flow(struct http_req *req, cJSON *doc, const struct principal *who) {
  char *text = cJSON_PrintUnformatted(doc);
  const char *params[4] = {cJSON_GetStringValue(cJSON_GetObjectItem(doc, "id")),
                           cJSON_GetStringValue(cJSON_GetObjectItem(doc, "name")), text,
                           who->name};
  struct db_batch *b = db_batch_new();
  db_batch_add(b, "flows_insert",
               "INSERT INTO flows (id, name, draft, created_by, updated_by) "
               "VALUES ($1, $2, $3::jsonb, $4, $4) ON CONFLICT (id) DO NOTHING RETURNING id",
               4, params);
  db_batch_add(b, "flows_get", SELECT_FLOW, 1, params);
  db_submit(req->srv->db, b, create_done, req);
  free(text);
}

void api_flows_create(struct http_req *req) {
  struct principal who;
  if (!auth_require(req, AUTH_ADMIN, &who))
    return;
  cJSON *doc = http_body_json(req);
  if (!doc)
    return;
  if (flowdoc_check(req, doc, NULL))
    insert_flow(req, doc, &who);
  cJSON_Delete(doc);
}

/* Import takes a flow document, or the {"flow": ...} envelope that export writes. */
void api_flows_import(struct http_req *req) {
  struct principal who;
  if (!auth_require(req, AUTH_ADMIN, &who))
    return;
  cJSON *body = http_body_json(req);
  if (!body)
    return;
  cJSON *doc = cJSON_IsObject(cJSON_GetObjectItem(body, "flow"))
                   ? cJSON_DetachItemFromObject(body, "flow")
                   : body;
  if (flowdoc_check(req, doc, NULL))
    insert_flow(req, doc, &who);
  if (doc != body)
    cJSON_Delete(doc);
  cJSON_Delete(body);
}

static void update_done(void *data, int rc, const struct db_result *r) {
  struct http_req *req = data;
  if (rc) {
    api_db_error(req, rc, r);
    return;
  }
  if (api_rows(r, 0) == 1) {
    audit_after(req, "flow.updated", http_param(req, 0), NULL); /* the revision matched */
    reply_flow(req, 200, r, 1);
    return;
  }
  cJSON *cur = api_row_json(r, 1, 0);
  if (!cur) {
    http_error(req, 404, "not_found", "no such flow", NULL);
    return;
  }
  cJSON *d = cJSON_CreateObject();
  const char *by = cJSON_GetStringValue(cJSON_GetObjectItem(cur, "updated_by"));
  const char *at = cJSON_GetStringValue(cJSON_GetObjectItem(cur, "updated_at"));
  int rev = cJSON_GetObjectItem(cur, "revision")->valueint;
  cJSON_AddNumberToObject(d, "revision", rev);
  cJSON_AddStringToObject(d, "updated_by", by ? by : "");
  cJSON_AddStringToObject(d, "updated_at", at ? at : "");
  char msg[512];
  snprintf(msg, sizeof msg,
           "the flow was changed by %s at %s (now revision %d): reload it, or save again with "
           "revision %d to overwrite",
           by ? by : "someone", at ? at : "?", rev, rev);
  http_error(req, 409, "revision_conflict", msg, d);
  cJSON_Delete(cur);
}

void api_flows_update(struct http_req *req) {
  struct principal who;
  if (!auth_require(req, AUTH_ADMIN, &who))
    return;
  cJSON *body = http_body_json(req);
  if (!body)
    return;
  /* Either {"revision": N, "flow": {...}} or the flow document with a "revision" member. */
  cJSON *rev = cJSON_DetachItemFromObject(body, "revision");
  cJSON *doc = cJSON_IsObject(cJSON_GetObjectItem(body, "flow"))
                   ? cJSON_DetachItemFromObject(body, "flow")
                   : body;
  const char *id = http_param(req, 0);
  if (!cJSON_IsNumber(rev) || rev->valuedouble < 1 || rev->valuedouble != (int)rev->valuedouble) {
    api_bad_field(req, "invalid_field", "revision",
                  "\"revision\" is required: the revision this edit is based on (a positive "
                  "integer)");
  } else if (flowdoc_check(req, doc, id)) {
    char *text = cJSON_PrintUnformatted(doc);
    char revbuf[16];
    snprintf(revbuf, sizeof revbuf, "%d", rev->valueint);
    const char *params[5] = {id, cJSON_GetStringValue(cJSON_GetObjectItem(doc, "name")), text,
                             who.name, revbuf};
    struct db_batch *b = db_batch_new();
    db_batch_add(b, "flows_update",
                 "UPDATE flows SET draft = $3::jsonb, name = $2, revision = revision + 1, "
                 "updated_at = now(), updated_by = $4 WHERE id = $1 AND revision = $5::int "
                 "RETURNING id",
                 5, params);
    db_batch_add(b, "flows_get", SELECT_FLOW, 1, params);
    db_submit(req->srv->db, b, update_done, req);
    free(text);
  }
  cJSON_Delete(rev);
  if (doc != body)
    cJSON_Delete(doc);
  cJSON_Delete(body);
}

static void delete_done(void *data, int rc, const struct db_result *r) {
  struct http_req *req = data;
  if (rc)
    api_db_error(req, rc, r);
  else if (api_rows(r, 0) == 0)
    http_error(req, 404, "not_found", "no such flow", NULL);
  else {
    audit_after(req, "flow.deleted", http_param(req, 0), NULL); /* a row was deleted */
    http_reply(req, 204, "application/json", "", 0);
  }
}

void api_flows_delete(struct http_req *req) {
  if (!auth_require(req, AUTH_ADMIN, NULL))
    return;
  const char *id = http_param(req, 0);
  struct db_batch *b = db_batch_new();
  db_batch_add(b, "flows_delete", "DELETE FROM flows WHERE id = $1 RETURNING id", 1, &id);
  db_batch_add(b, "flows_notify", "SELECT pg_notify('flowd_flows', $1)", 1, &id);
  db_submit(req->srv->db, b, delete_done, req);
}

struct validate_ctx {
  struct http_req *req;
  cJSON *doc;
};

static void validate_refs(void *data, int rc, const struct db_result *r) {
  struct validate_ctx *vc = data;
  if (rc) {
    api_db_error(vc->req, rc, r);
  } else {
    cJSON *refs = api_row_json(r, 0, 0);
    int errors = 0;
    cJSON *out = cJSON_CreateObject();
    cJSON_AddItemToObject(out, "problems", flowdoc_problems(vc->doc, refs, 0, &errors));
    cJSON_AddBoolToObject(out, "valid", errors == 0);
    cJSON_Delete(refs);
    http_reply_json(vc->req, 200, out);
  }
  cJSON_Delete(vc->doc);
  free(vc);
}

void api_flows_validate(struct http_req *req) {
  if (!auth_require(req, AUTH_MANAGER, NULL))
    return;
  cJSON *doc = http_body_json(req);
  if (!doc)
    return;
  if (api_json_depth(doc) > FLOWDOC_MAX_DEPTH) {
    api_bad_field(req, "too_deep", "", "the flow is nested deeper than %d levels",
                  FLOWDOC_MAX_DEPTH);
    cJSON_Delete(doc);
    return;
  }
  struct validate_ctx *vc = malloc(sizeof *vc);
  vc->req = req;
  vc->doc = doc;
  db_query(req->srv->db, "flows_refs", "SELECT " FLOWDOC_REFS_SQL, 0, NULL, validate_refs, vc);
}
