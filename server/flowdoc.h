/* flowdoc: checks of a flow document that come before graph validation (shape of the
 * envelope: object, name, id, size, depth) and the validation call the flows API shares. */
#ifndef FLOWD_FLOWDOC_H
#define FLOWD_FLOWDOC_H
#include <cjson/cJSON.h>

struct http_req;

#define FLOWDOC_MAX_NODES 5000
#define FLOWDOC_MAX_DEPTH 64

/* Checks doc's envelope. id_from_path (may be NULL) is the flow id of the URL: doc's id must
 * be absent or equal, and is set to it. Without one, a missing id is generated. On a problem
 * replies 400 naming the field and returns 0; returns 1 when the handler may go on. */
int flowdoc_check(struct http_req *req, cJSON *doc, const char *id_from_path);

/* SQL for a JSON object of the ids a flow may refer to: {"staff": [...], "team": [...],
 * "provider": [...]}. Handlers fetch it with the flow they validate. */
#define FLOWDOC_REFS_SQL                                                                   \
  "jsonb_build_object('staff', coalesce((SELECT jsonb_agg(id) FROM staff), '[]'), "       \
  "'team', coalesce((SELECT jsonb_agg(id) FROM teams), '[]'), "                          \
  "'provider', coalesce((SELECT jsonb_agg(id) FROM providers), '[]'))"

/* Validates doc as a graph against refs (FLOWDOC_REFS_SQL's object; NULL: references are not
 * checked); returns a new array of problems. strict: a missing reference is an error
 * (publish), else a warning (drafts may name staff not created yet). *errors (may be NULL)
 * receives the number of errors. */
cJSON *flowdoc_problems(const cJSON *doc, const cJSON *refs, int strict, int *errors);

#endif
