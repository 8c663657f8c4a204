/* trigger.record: starts a run when a record of a kind is created, updated, changes status
 * or is deleted. Compile checks that from/to/fields fit `on` and compiles `when`. */
#include <stdlib.h>
#include <string.h>
#include "graph/cond.h"
#include "nodes/node.h"
#include "nodes/render.h"
#include "nodes/step.h"

enum on { ON_CREATED, ON_UPDATED, ON_STATUS_CHANGED, ON_DELETED };

struct state {
  enum on on;
  int cancel_on_leave; /* resolved default: true when `to` is set */
  struct cond *when;
};

static enum on parse_on(const char *s) {
  if (!s)
    return ON_CREATED;
  return !strcmp(s, "updated") ? ON_UPDATED
         : !strcmp(s, "status_changed") ? ON_STATUS_CHANGED
         : !strcmp(s, "deleted") ? ON_DELETED : ON_CREATED;
}

static void check_fields(struct node_compile *ctx, const cJSON *config, enum on on) {
  static const char *const status_only[] = {"from", "to"};
  for (int i = 0; i < 2; i++)
    if (on != ON_STATUS_CHANGED && cJSON_GetObjectItemCaseSensitive(config, status_only[i]))
      node_report(ctx, NODE_ERROR, "schema", i ? "/to" : "/from",
                  "%s applies only when on is status_changed", status_only[i]);
  if (on != ON_UPDATED && cJSON_GetObjectItemCaseSensitive(config, "fields"))
    node_report(ctx, NODE_ERROR, "schema", "/fields", "fields applies only when on is updated");
  if (cJSON_GetObjectItemCaseSensitive(config, "cancel_on_leave") &&
      !cJSON_GetObjectItemCaseSensitive(config, "to"))
    node_report(ctx, NODE_WARNING, "schema", "/cancel_on_leave",
                "cancel_on_leave has an effect only with to");
}

static int compile(struct node_compile *ctx, const cJSON *config, void **out) {
  struct state *st = calloc(1, sizeof *st);
  if (!(*out = st))
    return ERR_NOMEM;
  st->on = parse_on(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(config, "on")));
  const cJSON *col = cJSON_GetObjectItemCaseSensitive(config, "cancel_on_leave");
  st->cancel_on_leave = col ? cJSON_IsTrue(col)
                            : cJSON_GetObjectItemCaseSensitive(config, "to") != NULL;
  check_fields(ctx, config, st->on);
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

const struct node_type node_type_trigger_record = {
    .name = "trigger.record",
    .group = NODE_TRIGGER,
    .title = "Record changed",
    .description = "Starts a run when a record of a kind is created, updated, changes status "
                   "or is deleted.",
    .ports = ports,
    .schema = "schema/nodes/trigger.record.json",
    .ops = {.compile = compile, .free_state = free_state, .execute = execute},
};
