/* api_presence: PUT /api/staff/{id}/presence {online} sets a member's API flag (a staff
 * member only their own); GET /api/presence lists everyone's presence. The online state
 * itself is presence.c's: the flag OR an open websocket. */
#include <string.h>
#include "server/api_people.h"
#include "server/api_util.h"
#include "server/auth.h"
#include "server/db.h"
#include "server/http.h"
#include "server/presence.h"
#include "server/server.h"

static void put_done(void *data, int rc, const struct db_result *r) {
  struct http_req *req = data;
  if (rc) {
    api_db_error(req, rc, r);
    return;
  }
  if (api_rows(r, 0) == 0) {
    http_error(req, 404, "not_found", "no such staff member", NULL);
    return;
  }
  presence_publish(r, 1);
  const char *t = api_row_text(r, 2, 0);
  api_reply_text_json(req, 200, t ? t : "{}");
}

void api_presence_put(struct http_req *req) {
  struct principal who;
  if (!auth_require(req, AUTH_STAFF, &who))
    return;
  const char *id = http_param(req, 0);
  if (who.role < AUTH_MANAGER && strcmp(who.staff_id, id) != 0) {
    http_error(req, 403, "forbidden", "staff members may set only their own presence", NULL);
    return;
  }
  cJSON *body = http_body_json(req);
  if (!body)
    return;
  cJSON *online = cJSON_GetObjectItem(body, "online");
  if (!cJSON_IsObject(body) || !cJSON_IsBool(online)) {
    api_bad_field(req, "invalid_field", "online", "\"online\" must be true or false");
  } else {
    struct db_batch *b = db_batch_new();
    presence_batch_api(b, id, cJSON_IsTrue(online), "api");
    db_submit(req->srv->db, b, put_done, req);
  }
  cJSON_Delete(body);
}

static void list_done(void *data, int rc, const struct db_result *r) {
  struct http_req *req = data;
  if (rc)
    api_db_error(req, rc, r);
  else
    api_reply_text_json(req, 200, api_row_text(r, 0, 0));
}

void api_presence_list(struct http_req *req) {
  if (!auth_require(req, AUTH_STAFF, NULL))
    return;
  db_query(req->srv->db, "presence_list",
           "SELECT json_build_object('presence', coalesce(json_agg(" PRESENCE_JSON
           " ORDER BY s.name, s.id), '[]')) FROM staff s "
           "LEFT JOIN staff_presence p ON p.staff_id = s.id",
           0, NULL, list_done, req);
}
