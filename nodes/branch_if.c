/* branch.if: takes port "true" when `when` holds, else "false". */
#include <stdlib.h>
#include "graph/cond.h"
#include "nodes/node.h"
#include "nodes/render.h"
#include "nodes/step.h"

struct state {
  struct cond *when;
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

static const char *const ports[] = {"true", "false", NULL};

/* Takes "true" or "false" by the condition, evaluated against the record as it is now. */
static void execute(struct step *s) {
  const struct state *st = step_state(s);
  int ok = node_test(s, st->when, NULL, "when");
  if (ok < 0)
    return;
  cJSON *out = cJSON_CreateObject();
  cJSON_AddBoolToObject(out, "result", ok);
  step_done(s, ok ? "true" : "false", out);
}

const struct node_type node_type_branch_if = {
    .name = "branch.if",
    .group = NODE_CONDITION,
    .title = "If",
    .description = "Takes the true port when the condition holds, else the false port.",
    .ports = ports,
    .schema = "schema/nodes/branch.if.json",
    .ops = {.compile = compile, .free_state = free_state, .execute = execute},
};
