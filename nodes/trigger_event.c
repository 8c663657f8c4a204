/* trigger.event: starts a run on an event of a type (message.received, comment.created,
 * livestream.comment, call.missed or any custom type) for which `when` holds. */
#include <stdlib.h>
#include "graph/cond.h"
#include "nodes/node.h"
#include "nodes/render.h"
#include "nodes/step.h"

struct state {
  struct cond *when; /* NULL: every event of the type */
};

static int compile(struct node_compile *ctx, const cJSON *config, void **out) {
  struct state *st = calloc(1, sizeof *st);
  if (!(*out = st))
    return ERR_NOMEM;
  return node_compile_cond(ctx, cJSON_GetObjectItemCaseSensitive(config, "when"), "/when",
                           &st->when);
}

static void free_state(void *p) {
  struct state *st = p;
  if (st)
    cond_free(st->when);
  free(st);
}

static const char *const ports[] = {"out", NULL};

static void execute(struct step *s) {
  const struct state *st = step_state(s);
  node_trigger_fire(s, st ? st->when : NULL);
}

const struct node_type node_type_trigger_event = {
    .name = "trigger.event",
    .group = NODE_TRIGGER,
    .title = "Event",
    .description = "Starts a run on an event of a type: a message, a comment, a missed call or "
                   "any custom type.",
    .ports = ports,
    .schema = "schema/nodes/trigger.event.json",
    .ops = {.compile = compile, .free_state = free_state, .execute = execute},
};
