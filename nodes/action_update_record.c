/* action.update_record: sets fields of the record of kind `target` in scope, through the same
 * path as any record update; string values are templates. */
#include <stdlib.h>
#include <string.h>
#include "nodes/node.h"
#include "nodes/render.h"
#include "nodes/step.h"

struct state {
  const char *target; /* the record kind, in the config */
  struct node_value *fields;
  size_t nfields;
};

static int compile(struct node_compile *ctx, const cJSON *config, void **out) {
  struct state *st = calloc(1, sizeof *st);
  if (!(*out = st))
    return ERR_NOMEM;
  st->target = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(config, "target"));
  int rc = node_compile_values(ctx, cJSON_GetObjectItemCaseSensitive(config, "set"), "/set",
                               &st->fields, &st->nfields);
  for (size_t i = 0; i < st->nfields; i++)
    if (!strcmp(st->fields[i].name, "id"))
      node_report(ctx, NODE_ERROR, "schema", "/set/id", "set.id: a record's id cannot change");
  return rc;
}

static void free_state(void *p) {
  struct state *st = p;
  if (st)
    node_free_values(st->fields, st->nfields);
  free(st);
}

static const char *const ports[] = {"out", "error", NULL};

/* Sets fields of the target record (a record in the run's scope) through the same path as
 * an event, so a changed status raises <kind>.status_changed and starts its rules. */
static void execute(struct step *s) {
  const struct state *st = step_state(s);
  const cJSON *rec = cJSON_GetObjectItem(step_scope(s), st->target);
  if (!cJSON_IsObject(rec)) {
    step_fail(s, 0, "target: there is no %s in this run", st->target);
    return;
  }
  cJSON *set = node_render_values(s, st->fields, st->nfields);
  if (!set)
    return;
  cJSON *out = cJSON_CreateObject();
  cJSON_AddStringToObject(out, "kind", st->target);
  cJSON_AddStringToObject(out, "id", cJSON_GetStringValue(cJSON_GetObjectItem(rec, "id")));
  cJSON_AddItemToObject(out, "set", cJSON_Duplicate(set, 1));
  if (step_update_record(s, st->target, NULL, set) != 0) {
    cJSON_Delete(out);
    step_fail(s, 0, "target: the %s in this run has no id", st->target);
    return;
  }
  step_done(s, "out", out);
}

const struct node_type node_type_action_update_record = {
    .name = "action.update_record",
    .group = NODE_ACTION,
    .title = "Update record",
    .description = "Sets fields of a record in scope.",
    .ports = ports,
    .schema = "schema/nodes/action.update_record.json",
    .ops = {.compile = compile, .free_state = free_state, .execute = execute},
};
