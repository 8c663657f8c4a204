/* audit: one INSERT per entry, inside the caller's transaction. */
#include <stdlib.h>
#include "server/audit.h"
#include "server/auth.h"
#include "server/db.h"

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
