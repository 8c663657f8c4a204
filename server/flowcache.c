/* flowcache: parsed flow versions. A published version never changes, so an entry is valid
 * for the life of the process; runs of a version that is still loading wait on its entry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/graph.h"
#include "server/api_util.h"
#include "server/db.h"
#include "server/exec_internal.h"
#include "server/log.h"
#include "server/server.h"

struct flow_entry {
  char flow_id[128];
  int version;
  struct graph *g; /* NULL while loading, or when the version does not parse */
  int loading;
  char error[256];
  struct xrun *waiting;
  struct flow_entry *next;
};

static struct flow_entry *entries;

static void release(struct flow_entry *e) {
  struct xrun *xr = e->waiting;
  e->waiting = NULL;
  while (xr) {
    struct xrun *next = xr->next_waiting;
    xr->next_waiting = NULL;
    xr->flow = e;
    if (e->g) {
      xr->g = e->g;
      xrun_begin(xr);
    } else {
      xrun_fail_load(xr, e->error);
    }
    xr = next;
  }
}

static void loaded(void *data, int rc, const struct db_result *r) {
  struct flow_entry *e = data;
  e->loading = 0;
  cJSON *doc = rc == 0 ? api_row_json(r, 0, 0) : NULL;
  if (doc) {
    cJSON *problems = NULL;
    graph_parse(doc, NULL, &e->g, &problems);
    if (!e->g)
      snprintf(e->error, sizeof e->error, "version %d of flow %s no longer validates",
               e->version, e->flow_id);
    cJSON_Delete(problems);
    cJSON_Delete(doc);
  } else if (rc == 0) {
    snprintf(e->error, sizeof e->error, "flow %s has no version %d", e->flow_id, e->version);
  } else {
    /* The database is away: the runs wait for their lease to expire and come back. */
    struct xrun *xr = e->waiting;
    e->waiting = NULL;
    while (xr) {
      struct xrun *next = xr->next_waiting;
      xr->flow = NULL;
      xr->g = NULL;
      xr->error = strdup("the flow could not be loaded");
      xrun_drop(xr);
      xr = next;
    }
    return;
  }
  release(e);
}

void flowcache_get(struct xrun *xr) {
  struct flow_entry *e;
  for (e = entries; e; e = e->next)
    if (e->version == xr->version && !strcmp(e->flow_id, xr->flow_id))
      break;
  if (!e) {
    e = calloc(1, sizeof *e);
    snprintf(e->flow_id, sizeof e->flow_id, "%s", xr->flow_id);
    e->version = xr->version;
    e->next = entries;
    entries = e;
  }
  if (e->g) {
    xr->flow = e;
    xr->g = e->g;
    xrun_begin(xr);
    return;
  }
  if (!e->loading && e->error[0]) {
    xrun_fail_load(xr, e->error);
    return;
  }
  xr->next_waiting = e->waiting;
  e->waiting = xr;
  if (e->loading)
    return;
  e->loading = 1;
  char v[16];
  snprintf(v, sizeof v, "%d", e->version);
  const char *params[2] = {e->flow_id, v};
  db_query(exec_server()->db, "flowcache_load",
           "SELECT doc FROM flow_versions WHERE flow_id = $1 AND version = $2::int", 2, params,
           loaded, e);
}

void flowcache_free_all(void) {
  while (entries) {
    struct flow_entry *e = entries;
    entries = e->next;
    graph_free(e->g);
    free(e);
  }
}
