/* action.assign: picks one staff member (SPEC §1: rules, candidates, strategy, stickiness)
 * and makes them the owner of the `target` record. Takes "assigned", or "unassigned" when
 * nobody is eligible. The picking configuration is the config itself; see picker.h. */
#include <stdlib.h>
#include "nodes/node.h"
#include "nodes/picker.h"

struct state {
  const char *target; /* the record kind, in the config */
  struct picker *picker;
};

static int compile(struct node_compile *ctx, const cJSON *config, void **out) {
  struct state *st = calloc(1, sizeof *st);
  if (!(*out = st))
    return ERR_NOMEM;
  st->target = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(config, "target"));
  return picker_compile(ctx, config, "", &st->picker);
}

static void free_state(void *p) {
  struct state *st = p;
  if (st)
    picker_free(st->picker);
  free(st);
}

static const char *const ports[] = {"assigned", "unassigned", "error", NULL};

const struct node_type node_type_action_assign = {
    .name = "action.assign",
    .group = NODE_ACTION,
    .title = "Assign",
    .description = "Picks one staff member and makes them the owner of the target record.",
    .ports = ports,
    .schema = "schema/nodes/action.assign.json",
    .ops = {.compile = compile, .free_state = free_state},
};
