/* audit: who did what to people and access, and to flows, kept in audit_log.
 *
 * An entry is added to the same batch as the change it describes, so both commit or neither
 * does. GET /api/audit (admins) reads them back, newest first. */
#ifndef FLOWD_AUDIT_H
#define FLOWD_AUDIT_H
#include <cjson/cJSON.h>

struct db_batch;
struct principal;

/* Adds an INSERT of one entry to b. actor NULL: anonymous ("-"). target may be NULL; details
 * (may be NULL) is copied, never kept. Returns 0 or ERR_NOMEM. */
int audit_add(struct db_batch *b, const struct principal *actor, const char *action,
              const char *target, const cJSON *details);

struct http_req;

/* For a change whose success is known only once its batch committed (a conditional write:
 * ON CONFLICT DO NOTHING, WHERE revision = ...): records the entry in a transaction of its
 * own, right after. The actor is req's caller, identified again from the in-memory mirror.
 * A failure is logged, never replied: call it just before the reply. */
void audit_after(struct http_req *req, const char *action, const char *target,
                 const cJSON *details);

#endif
