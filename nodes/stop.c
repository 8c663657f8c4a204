/* stop: ends the run with an outcome (succeeded or failed) and a templated reason. It has no
 * ports, so nothing follows it. */
#include <stdlib.h>
#include <string.h>
#include "graph/tmpl.h"
#include "nodes/node.h"
#include "nodes/render.h"
#include "nodes/step.h"

struct state {
  int failed;
  struct tmpl *reason; /* NULL: no reason */
};

static int compile(struct node_compile *ctx, const cJSON *config, void **out) {
  struct state *st = calloc(1, sizeof *st);
  if (!(*out = st))
    return ERR_NOMEM;
  const char *o = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(config, "outcome"));
  st->failed = o && !strcmp(o, "failed");
  return node_compile_tmpl(ctx, cJSON_GetObjectItemCaseSensitive(config, "reason"), "/reason",
                           &st->reason);
}

static void free_state(void *p) {
  struct state *st = p;
  if (st)
    tmpl_free(st->reason);
  free(st);
}

static const char *const ports[] = {NULL};

/* Ends the run now, with its outcome and rendered reason. */
static void execute(struct step *s) {
  const struct state *st = step_state(s);
  char *reason = st->reason ? node_render(s, st->reason, "reason") : NULL;
  if (st->reason && !reason)
    return;
  step_stop(s, !st->failed, reason);
  free(reason);
}

const struct node_type node_type_stop = {
    .name = "stop",
    .group = NODE_CONTROL,
    .title = "Stop",
    .description = "Ends the run with an outcome.",
    .ports = ports,
    .schema = "schema/nodes/stop.json",
    .ops = {.compile = compile, .free_state = free_state, .execute = execute},
};
