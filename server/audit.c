/* audit: one INSERT per entry, inside the caller's transaction (audit_add) or right after it
 * committed (audit_after). */
#include <stdlib.h>
#include <string.h>
#include "server/audit.h"
#include "server/auth.h"
#include "server/db.h"
#include "server/http.h"
#include "server/log.h"
#include "server/server.h"

int audit_add(struct db_batch *b, const struct principal *actor, const char *action,
              const char *target, const cJSON *details) {
  char *text = details ? cJSON_PrintUnformatted(details) : NULL;
  const char *params[4] = {actor && actor->name[0] ? actor->name : "-", action, target,
                           text ? text : "{}"};
  int rc = db_batch_add(b, NULL,
                        "INSERT INTO audit_log (actor, action, target, details) "
                        "VALUES ($1, $2, $3, $4::jsonb)",
                        4, params);
  free(text);
  return rc;
}

static void after_done(void *data, int rc, const struct db_result *r) {
  char *action = data;
  if (rc)
    log_error("an audit entry was not recorded", "action=%s reason=%s", action,
              log_quote(r && r->error ? r->error : "database unavailable"));
  free(action);
}

void audit_after(struct http_req *req, const char *action, const char *target,
                 const cJSON *details) {
  struct principal who;
  auth_identify(req, &who);
  struct db_batch *b = db_batch_new();
  char *copy = b ? strdup(action) : NULL;
  if (!copy || audit_add(b, &who, action, target, details) != 0) {
    log_error("an audit entry was not recorded", "action=%s reason=\"out of memory\"", action);
    free(copy);
    db_batch_free(b);
    return;
  }
  db_submit(req->srv->db, b, after_done, copy);
}
