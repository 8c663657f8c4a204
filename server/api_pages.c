/* api_pages: fan-page settings (see api_pages.h). A page needs no row to exist: a page id
 * that staff work on (staff.pages) and conversations name is a page; its row only holds its
 * settings, so GET of a page without one answers 404 and PUT creates it. */
#include <stdio.h>
#include <string.h>
#include "server/api_pages.h"
#include "server/api_util.h"
#include "server/audit.h"
#include "server/auth.h"
#include "server/db.h"
#include "server/fields.h"
#include "server/http.h"
#include "server/server.h"

#define PAGE_JSON                                                                          \
  "json_build_object('id', g.id, 'name', g.name, 'private_assignment', "                   \
  "g.private_assignment, 'created_at', g.created_at, 'updated_at', g.updated_at)"
#define SELECT_PAGE "SELECT " PAGE_JSON " FROM pages g WHERE g.id = $1"

static const char *const WRITABLE[] = {"id", "name", "private_assignment", NULL};
static const char *const READ_ONLY[] = {"created_at", "updated_at", NULL};

static void reply_row(void *data, int rc, const struct db_result *r) {
  api_reply_row(data, rc, r, r->n - 1, "page");
}

void api_pages_list(struct http_req *req) {
  if (!auth_require(req, AUTH_MANAGER, NULL))
    return;
  db_query(req->srv->db, "pages_list",
           "SELECT json_build_object('pages', coalesce(json_agg(" PAGE_JSON
           " ORDER BY g.id), '[]')) FROM pages g",
           0, NULL, reply_row, req);
}

void api_pages_get(struct http_req *req) {
  if (!auth_require(req, AUTH_MANAGER, NULL))
    return;
  const char *id = http_param(req, 0);
  db_query(req->srv->db, "pages_get", SELECT_PAGE, 1, &id, reply_row, req);
}

/* The body's fields are each acceptable (else a 400 naming the field was sent). */
static int valid_body(struct http_req *req, const cJSON *body, const char *id) {
  cJSON *idv = cJSON_CreateString(id);
  int ok = fields_id(req, idv, "id");
  cJSON_Delete(idv);
  if (!ok || !fields_only(req, body, WRITABLE, READ_ONLY))
    return 0;
  const cJSON *given = cJSON_GetObjectItem(body, "id");
  if (given && (!cJSON_IsString(given) || strcmp(given->valuestring, id) != 0))
    return api_bad_field(req, "invalid_field", "id", "\"id\" must be absent or equal the "
                         "URL's id");
  const cJSON *name = cJSON_GetObjectItem(body, "name");
  const cJSON *priv = cJSON_GetObjectItem(body, "private_assignment");
  return (!name || fields_text(req, name, "name", FIELDS_TEXT_MAX, 0)) &&
         (!priv || fields_bool(req, priv, "private_assignment"));
}

/* PUT creates the page or changes the fields it names (absent ones stay as they are). */
void api_pages_put(struct http_req *req) {
  struct principal who;
  if (!auth_require(req, AUTH_ADMIN, &who))
    return;
  const char *id = http_param(req, 0);
  cJSON *body = http_body_json(req);
  if (!body)
    return;
  if (valid_body(req, body, id)) {
    const cJSON *priv = cJSON_GetObjectItem(body, "private_assignment");
    const char *params[3] = {id, cJSON_GetStringValue(cJSON_GetObjectItem(body, "name")),
                             !priv ? NULL : cJSON_IsTrue(priv) ? "true" : "false"};
    struct db_batch *b = db_batch_new();
    db_batch_add(b, NULL,
                 "INSERT INTO pages AS g (id, name, private_assignment) VALUES ($1, "
                 "coalesce($2, ''), coalesce($3::boolean, false)) ON CONFLICT (id) DO UPDATE "
                 "SET name = coalesce($2, g.name), private_assignment = coalesce($3::boolean, "
                 "g.private_assignment), updated_at = now()",
                 3, params);
    audit_add(b, &who, "page.updated", id, body);
    db_batch_add(b, NULL, SELECT_PAGE, 1, params);
    db_submit(req->srv->db, b, reply_row, req);
  }
  cJSON_Delete(body);
}

int pages_staff_may_read(struct http_req *req, const char *kind) {
  if (!strcmp(kind, "conversation") || !strcmp(kind, "task"))
    return 1;
  http_error(req, 403, "forbidden", "staff members may read only conversations and their own "
             "tasks", NULL);
  return 0;
}
