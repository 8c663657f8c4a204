/* action.notify: shows an in-app notification to a staff member (picked like an assignee)
 * over the websocket. */
#include <stdlib.h>
#include "graph/tmpl.h"
#include "nodes/node.h"
#include "nodes/picker.h"

enum { T_TITLE, T_TEXT, NT };
static const char *const tmpl_fields[] = {"title", "text", NULL};

struct state {
  struct picker *staff;
  struct tmpl *t[NT];
};

static int compile(struct node_compile *ctx, const cJSON *config, void **out) {
  struct state *st = calloc(1, sizeof *st);
  if (!(*out = st))
    return ERR_NOMEM;
  int rc = node_compile_fields(ctx, config, tmpl_fields, st->t);
  if (!rc)
    rc = picker_compile(ctx, cJSON_GetObjectItemCaseSensitive(config, "staff"), "/staff",
                        &st->staff);
  return rc;
}

static void free_state(void *p) {
  struct state *st = p;
  if (!st)
    return;
  node_free_tmpls(st->t, NT);
  picker_free(st->staff);
  free(st);
}

static const char *const ports[] = {"out", "error", NULL};

const struct node_type node_type_action_notify = {
    .name = "action.notify",
    .group = NODE_ACTION,
    .title = "Notify staff",
    .description = "Shows a notification in the app of a staff member, over the websocket.",
    .ports = ports,
    .schema = "schema/nodes/action.notify.json",
    .ops = {.compile = compile, .free_state = free_state},
};
