/* api_util: what every handler needs: database errors as HTTP errors, reading JSON out of
 * result rows, and 400s that name the field. */
#ifndef FLOWD_API_UTIL_H
#define FLOWD_API_UTIL_H
#include <cjson/cJSON.h>

struct http_req;
struct db_result;

/* Replies 503 for an unreachable database (with Retry-After) and 500 for anything else
 * (logged with the statement's error). */
void api_db_error(struct http_req *req, int rc, const struct db_result *r);

/* Row 0, column col of statement stmt: as text (NULL when no row or SQL NULL), or parsed as
 * JSON (a new reference, NULL when no row). */
const char *api_row_text(const struct db_result *r, int stmt, int col);
cJSON *api_row_json(const struct db_result *r, int stmt, int col);
int api_rows(const struct db_result *r, int stmt);

/* Replies 400 {"code": code, "message", "details": {"field": field}}; returns 0 so handlers
 * can `return api_bad_field(...)`. */
int api_bad_field(struct http_req *req, const char *code, const char *field, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));

/* Depth of nested arrays/objects in v (a scalar is 0). */
int api_json_depth(const cJSON *v);

/* The usual end of a read: on a database error the matching 5xx; when statement stmt
 * returned no row (or SQL NULL), 404 "no such <what>"; else 200 with the row's JSON text. */
void api_reply_row(struct http_req *req, int rc, const struct db_result *r, int stmt,
                   const char *what);

/* Replies 200 with a JSON text produced by the database (already serialised). */
void api_reply_text_json(struct http_req *req, int status, const char *text);

#endif
