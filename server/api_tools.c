/* api_tools: what the editor needs beside flows: the node-type catalog, and live previews of
 * conditions and templates. Errors say where in the rule or template the problem is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/cond.h"
#include "graph/tmpl.h"
#include "nodes/registry.h"
#include "server/api.h"
#include "server/api_util.h"
#include "server/auth.h"
#include "server/http.h"

#define TOOL_MAX_DEPTH 64

void api_node_types(struct http_req *req) {
  if (!auth_require(req, AUTH_STAFF, NULL))
    return;
  /* The catalog never changes while the process runs: build its text once. */
  static char *cached;
  if (!cached) {
    cJSON *out = cJSON_CreateObject();
    cJSON_AddItemToObject(out, "node_types", node_catalog_json());
    cached = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
  }
  api_reply_text_json(req, 200, cached);
}

/* Reads the JSON body and checks that it is an object of bounded depth; replies and returns
 * NULL otherwise. */
static cJSON *tool_body(struct http_req *req) {
  cJSON *body = http_body_json(req);
  if (!body)
    return NULL;
  if (!cJSON_IsObject(body)) {
    api_bad_field(req, "invalid_document", "", "the body must be a JSON object");
  } else if (api_json_depth(body) > TOOL_MAX_DEPTH) {
    api_bad_field(req, "too_deep", "", "the body is nested deeper than %d levels",
                  TOOL_MAX_DEPTH);
  } else {
    return body;
  }
  cJSON_Delete(body);
  return NULL;
}

static void reply_detail(struct http_req *req, int status, const char *code, const char *field,
                         const struct err_detail *d) {
  cJSON *det = cJSON_CreateObject();
  cJSON_AddStringToObject(det, "field", field);
  cJSON_AddStringToObject(det, "path", d->path);
  http_error(req, status, code, d->msg[0] ? d->msg : "invalid", det);
}

void api_conditions_eval(struct http_req *req) {
  if (!auth_require(req, AUTH_MANAGER, NULL))
    return;
  cJSON *body = tool_body(req);
  if (!body)
    return;
  const cJSON *when = cJSON_GetObjectItemCaseSensitive(body, "when");
  const cJSON *data = cJSON_GetObjectItemCaseSensitive(body, "data");
  struct err_detail d = {{0}, {0}};
  struct cond *c = NULL;
  cJSON *result = NULL;
  if (!when) {
    api_bad_field(req, "invalid_field", "when", "\"when\" is required: a JSON Logic rule or "
                  "{\"domain\": [...]}");
  } else if (cond_compile(when, &c, &d) != 0) {
    reply_detail(req, 422, "invalid_condition", "when", &d);
  } else if (cond_eval(c, data, &result, &d) != 0) {
    reply_detail(req, 422, "evaluation_failed", "when", &d);
  } else {
    cJSON *out = cJSON_CreateObject();
    cJSON_AddBoolToObject(out, "matched", cond_truthy(result));
    cJSON_AddItemToObject(out, "result", result);
    http_reply_json(req, 200, out);
  }
  cond_free(c);
  cJSON_Delete(body);
}

void api_templates_render(struct http_req *req) {
  if (!auth_require(req, AUTH_MANAGER, NULL))
    return;
  cJSON *body = tool_body(req);
  if (!body)
    return;
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(body, "template");
  const cJSON *data = cJSON_GetObjectItemCaseSensitive(body, "data");
  const cJSON *partials = cJSON_GetObjectItemCaseSensitive(body, "partials");
  struct err_detail d = {{0}, {0}};
  char *text = NULL;
  if (!cJSON_IsString(t)) {
    api_bad_field(req, "invalid_field", "template", "\"template\" is required: a string");
  } else if (partials && !cJSON_IsObject(partials)) {
    api_bad_field(req, "invalid_field", "partials",
                  "\"partials\" must be an object of name to template");
  } else if (tmpl_render_str(t->valuestring, data, partials, &text, &d) != 0) {
    reply_detail(req, 422, "invalid_template", "template", &d);
  } else {
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "text", text);
    http_reply_json(req, 200, out);
  }
  free(text);
  cJSON_Delete(body);
}
