/* api_util: shared handler helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "graph/err.h"
#include "server/api_util.h"
#include "server/db.h"
#include "server/http.h"
#include "server/log.h"

void api_db_error(struct http_req *req, int rc, const struct db_result *r) {
  if (rc == ERR_DBDOWN || rc == ERR_CANCELLED) {
    http_add_header(req, "Retry-After", "1");
    http_error(req, 503, "db_unavailable", "the database is unavailable; try again shortly",
               NULL);
    return;
  }
  log_error("database statement failed", "path=%s error=%s", log_quote(req->path),
            log_quote(r && r->error ? r->error : err_str(rc)));
  http_error(req, 500, "internal", "the database refused the request", NULL);
}

int api_rows(const struct db_result *r, int stmt) {
  if (!r || stmt >= r->n || !r->res[stmt] || PQresultStatus(r->res[stmt]) != PGRES_TUPLES_OK)
    return 0;
  return PQntuples(r->res[stmt]);
}

const char *api_row_text(const struct db_result *r, int stmt, int col) {
  if (api_rows(r, stmt) < 1 || col >= PQnfields(r->res[stmt]) ||
      PQgetisnull(r->res[stmt], 0, col))
    return NULL;
  return PQgetvalue(r->res[stmt], 0, col);
}

cJSON *api_row_json(const struct db_result *r, int stmt, int col) {
  const char *t = api_row_text(r, stmt, col);
  return t ? cJSON_Parse(t) : NULL;
}

int api_bad_field(struct http_req *req, const char *code, const char *field, const char *fmt,
                  ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  cJSON *d = cJSON_CreateObject();
  cJSON_AddStringToObject(d, "field", field);
  http_error(req, 400, code, msg, d);
  return 0;
}

int api_json_depth(const cJSON *v) {
  if (!cJSON_IsArray(v) && !cJSON_IsObject(v))
    return 0;
  int max = 0;
  for (const cJSON *c = v->child; c; c = c->next) {
    int d = api_json_depth(c);
    if (d > max)
      max = d;
  }
  return max + 1;
}

void api_reply_text_json(struct http_req *req, int status, const char *text) {
  http_reply(req, status, "application/json", text, strlen(text));
}

void api_reply_row(struct http_req *req, int rc, const struct db_result *r, int stmt,
                   const char *what) {
  const char *t = rc ? NULL : api_row_text(r, stmt, 0);
  if (rc) {
    api_db_error(req, rc, r);
  } else if (!t) {
    char msg[128];
    snprintf(msg, sizeof msg, "no such %s", what);
    http_error(req, 404, "not_found", msg, NULL);
  } else {
    api_reply_text_json(req, 200, t);
  }
}
