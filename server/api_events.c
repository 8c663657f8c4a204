/* api_events: POST /api/events: one event or an array. 202 {"accepted": [{"id",
 * "duplicate"}]} only after the events are committed (group commit with other requests).
 * Every event is checked before any is queued, so one bad event refuses the request whole
 * and nothing of it is stored. */
#include <stdio.h>
#include <string.h>
#include "graph/err.h"
#include "server/api.h"
#include "server/api_util.h"
#include "server/auth.h"
#include "server/http.h"
#include "server/intake.h"

#define MAX_BATCH 1000

static void accepted(void *data, int rc, const cJSON *acc, const cJSON *result) {
  struct http_req *req = data;
  (void)result;
  if (rc) {
    api_db_error(req, rc, NULL);
    return;
  }
  cJSON *out = cJSON_CreateObject();
  cJSON_AddItemToObject(out, "accepted", cJSON_Duplicate(acc, 1));
  http_reply_json(req, 202, out);
}

void api_events_post(struct http_req *req) {
  /* Managers and admins, and API keys with the events:write scope (a shop's webhook). */
  struct principal who;
  if (!auth_require_scope(req, AUTH_MANAGER, AUTH_SCOPE_EVENTS_WRITE, &who))
    return;
  cJSON *body = http_body_json(req);
  if (!body)
    return;
  cJSON *events = body;
  if (cJSON_IsObject(body)) {
    events = cJSON_CreateArray();
    cJSON_AddItemToArray(events, body);
  }
  int n = cJSON_GetArraySize(events);
  if (!cJSON_IsArray(events) || n == 0) {
    api_bad_field(req, "invalid_document", "", "the body must be an event object or a "
                  "non-empty array of events");
    cJSON_Delete(events);
    return;
  }
  if (n > MAX_BATCH) {
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "max", MAX_BATCH);
    http_error(req, 413, "too_many_events", "at most 1000 events per request", d);
    cJSON_Delete(events);
    return;
  }
  if (api_json_depth(events) > 32) {
    api_bad_field(req, "too_deep", "", "events are nested deeper than 32 levels");
    cJSON_Delete(events);
    return;
  }
  int i = 0;
  const cJSON *ev;
  cJSON_ArrayForEach(ev, events) {
    const char *field;
    const char *msg = intake_check_event(ev, &field);
    if (msg) {
      char where[96];
      if (cJSON_IsArray(body))
        snprintf(where, sizeof where, "[%d]%s%s", i, field[0] ? "." : "", field);
      else
        snprintf(where, sizeof where, "%s", field);
      api_bad_field(req, "invalid_event", where, "%s: %s", where[0] ? where : "event", msg);
      cJSON_Delete(events);
      return;
    }
    /* "replace" is the records API's own (PUT); events from outside always merge. */
    cJSON_DeleteItemFromObject((cJSON *)ev, "replace");
    i++;
  }
  intake_submit(events, 0, 0, accepted, req);
}
