/* api_records: records of every kind (order, customer, lead, conversation, task, ...).
 * Reads come from the records table; writes go through the same path as events
 * (<kind>.updated through the intake), so they raise status changes and start flows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "server/api.h"
#include "server/api_pages.h"
#include "server/api_util.h"
#include "server/auth.h"
#include "server/db.h"
#include "server/http.h"
#include "server/intake.h"
#include "server/server.h"

#define RECORD_JSON                                                                        \
  "jsonb_build_object('kind', r.kind, 'id', r.id, 'data', r.data, 'status', r.status, "   \
  "'owner_id', r.owner_id, 'version', r.version, 'created_at', r.created_at, "            \
  "'updated_at', r.updated_at)"

static int valid_kind(const char *k) {
  size_t n = strlen(k);
  if (n == 0 || n > 64 || !(k[0] >= 'a' && k[0] <= 'z'))
    return 0;
  for (const char *p = k; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
      return 0;
  return 1;
}

static void text_done(void *data, int rc, const struct db_result *r) {
  api_reply_row(data, rc, r, 0, "record");
}

void api_records_list(struct http_req *req) {
  /* Staff read their own tasks and the conversations of their pages (api_pages.h): viewer
   * is their id, which PAGES_VISIBLE filters on; managers and admins pass NULL (all). */
  struct principal who;
  if (!auth_require(req, AUTH_STAFF, &who))
    return;
  const char *kind = http_param(req, 0);
  if (!valid_kind(kind)) {
    api_bad_field(req, "invalid_field", "kind", "a record kind is a lowercase word");
    return;
  }
  if (who.role < AUTH_MANAGER && !pages_staff_may_read(req, kind))
    return;
  const char *viewer = who.role < AUTH_MANAGER ? who.staff_id : NULL;
  char owner[128], status[128], limit[16], after[256];
  const char *o = http_query_param(req, "owner", owner, sizeof owner);
  const char *st = http_query_param(req, "status", status, sizeof status);
  const char *lim = http_query_param(req, "limit", limit, sizeof limit);
  const char *aft = http_query_param(req, "after", after, sizeof after);
  long n = lim ? strtol(lim, NULL, 10) : 100;
  if (n < 1 || n > 1000) {
    api_bad_field(req, "invalid_field", "limit", "limit must be 1 to 1000");
    return;
  }
  char nbuf[16];
  snprintf(nbuf, sizeof nbuf, "%ld", n);
  const char *params[6] = {kind, o, st, nbuf, aft, viewer};
  db_query(req->srv->db, "records_list",
           "SELECT jsonb_build_object('records', coalesce(jsonb_agg(" RECORD_JSON " ORDER BY "
           "r.id), '[]'), 'next_after', CASE WHEN count(*) = $4::int THEN max(r.id) END) FROM "
           "(SELECT * FROM records WHERE kind = $1 AND NOT deleted AND ($2::text IS NULL OR "
           "owner_id = $2) AND ($3::text IS NULL OR status = $3) AND ($5::text IS NULL OR "
           "id > $5) AND " PAGES_VISIBLE("records", "$6") " ORDER BY id LIMIT $4::int) r",
           6, params, text_done, req);
}

void api_records_get(struct http_req *req) {
  /* As api_records_list: staff see only what PAGES_VISIBLE lets them (else 404). */
  struct principal who;
  if (!auth_require(req, AUTH_STAFF, &who))
    return;
  if (who.role < AUTH_MANAGER && !pages_staff_may_read(req, http_param(req, 0)))
    return;
  const char *params[3] = {http_param(req, 0), http_param(req, 1),
                           who.role < AUTH_MANAGER ? who.staff_id : NULL};
  db_query(req->srv->db, "records_get_visible",
           "SELECT " RECORD_JSON " FROM records r WHERE kind = $1 AND id = $2 AND NOT deleted "
           "AND " PAGES_VISIBLE("r", "$3"),
           3, params, text_done, req);
}

static void get_after_write(struct http_req *req);

static void written(void *data, int rc, const cJSON *acc, const cJSON *result) {
  struct http_req *req = data;
  (void)acc, (void)result;
  if (rc) {
    api_db_error(req, rc, NULL);
    return;
  }
  get_after_write(req);
}

static void get_after_write(struct http_req *req) {
  const char *params[2] = {http_param(req, 0), http_param(req, 1)};
  db_query(req->srv->db, "records_get",
           "SELECT " RECORD_JSON " FROM records r WHERE kind = $1 AND id = $2 AND NOT deleted",
           2, params, text_done, req);
}

/* PUT replaces the record's fields, PATCH merges them; both create it when missing. */
void api_records_write(struct http_req *req) {
  if (!auth_require(req, AUTH_MANAGER, NULL))
    return;
  const char *kind = http_param(req, 0), *id = http_param(req, 1);
  if (!valid_kind(kind)) {
    api_bad_field(req, "invalid_field", "kind", "a record kind is a lowercase word");
    return;
  }
  cJSON *data = http_body_json(req);
  if (!data)
    return;
  if (!cJSON_IsObject(data) || api_json_depth(data) > 32) {
    api_bad_field(req, "invalid_document", "", "the record must be a JSON object (at most "
                  "32 levels deep)");
    cJSON_Delete(data);
    return;
  }
  const cJSON *given = cJSON_GetObjectItem(data, "id");
  if (given && (!cJSON_IsString(given) || strcmp(given->valuestring, id) != 0)) {
    api_bad_field(req, "invalid_field", "id", "\"id\" must be absent or equal the URL's id");
    cJSON_Delete(data);
    return;
  }
  const cJSON *st = cJSON_GetObjectItem(data, "status");
  if (st && !cJSON_IsString(st) && !cJSON_IsNull(st)) {
    api_bad_field(req, "invalid_field", "status", "\"status\" must be a string");
    cJSON_Delete(data);
    return;
  }
  if (!given)
    cJSON_AddStringToObject(data, "id", id);
  cJSON *ev = cJSON_CreateObject();
  char type[96];
  snprintf(type, sizeof type, "%s.updated", kind);
  cJSON_AddStringToObject(ev, "type", type);
  cJSON_AddItemToObject(ev, "data", data);
  if (req->method == HTTP_PUT)
    cJSON_AddTrueToObject(ev, "replace");
  cJSON *events = cJSON_CreateArray();
  cJSON_AddItemToArray(events, ev);
  intake_submit(events, 0, 0, written, req);
}
