/* set: sets run variables (vars.<name>); a string value is a template, any other JSON value
 * is used as it is. */
#include <stdlib.h>
#include "nodes/node.h"
#include "nodes/render.h"
#include "nodes/step.h"

struct state {
  struct node_value *values;
  size_t nvalues;
};

static int compile(struct node_compile *ctx, const cJSON *config, void **out) {
  struct state *st = calloc(1, sizeof *st);
  if (!(*out = st))
    return ERR_NOMEM;
  return node_compile_values(ctx, cJSON_GetObjectItemCaseSensitive(config, "values"), "/values",
                             &st->values, &st->nvalues);
}

static void free_state(void *p) {
  struct state *st = p;
  if (st)
    node_free_values(st->values, st->nvalues);
  free(st);
}

static const char *const ports[] = {"out", NULL};

/* Renders every value and stores it in vars; the output is what was set. */
static void execute(struct step *s) {
  const struct state *st = step_state(s);
  cJSON *values = node_render_values(s, st->values, st->nvalues);
  if (!values)
    return;
  const cJSON *v;
  cJSON_ArrayForEach(v, values) step_set_var(s, v->string, cJSON_Duplicate(v, 1));
  step_done(s, "out", values);
}

const struct node_type node_type_set = {
    .name = "set",
    .group = NODE_CONTROL,
    .title = "Set variables",
    .description = "Sets run variables (vars.<name>).",
    .ports = ports,
    .schema = "schema/nodes/set.json",
    .ops = {.compile = compile, .free_state = free_state, .execute = execute},
};
