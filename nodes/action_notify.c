/* action.notify: shows an in-app notification to a staff member (picked like an assignee)
 * over the websocket: "notify" {text, title?, run_id, flow_id, node} on staff:<id>, sent
 * after the step commits. Nobody to notify (a template that renders empty, nobody eligible)
 * is a skip with the reason, like a send to a customer without a phone. */
#include <stdio.h>
#include <stdlib.h>
#include "graph/tmpl.h"
#include "nodes/node.h"
#include "nodes/pick.h"
#include "nodes/picker.h"
#include "nodes/render.h"
#include "nodes/step.h"

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

static void picked(struct step *s, struct pick_result *res) {
  const struct state *st = step_state(s);
  if (!res->staff) {
    char why[300];
    snprintf(why, sizeof why, "nobody to notify: %s",
             cJSON_GetStringValue(cJSON_GetObjectItem(res->output, "reason")));
    cJSON_Delete(res->output);
    step_skip(s, why);
    return;
  }
  char *title = st->t[T_TITLE] ? node_render(s, st->t[T_TITLE], "title") : NULL;
  char *text = title || !st->t[T_TITLE] ? node_render(s, st->t[T_TEXT], "text") : NULL;
  if (!text) {
    free(title);
    cJSON_Delete(res->output);
    return;
  }
  cJSON *msg = cJSON_CreateObject();
  cJSON_AddStringToObject(msg, "text", text);
  if (title)
    cJSON_AddStringToObject(msg, "title", title);
  cJSON_AddNumberToObject(msg, "run_id", (double)step_run_id(s));
  cJSON_AddStringToObject(msg, "flow_id", cJSON_GetStringValue(cJSON_GetObjectItem(
                                              cJSON_GetObjectItem(step_scope(s), "flow"), "id")));
  cJSON_AddStringToObject(msg, "node", step_node_id(s));
  char topic[128];
  snprintf(topic, sizeof topic, "staff:%s", res->staff);
  cJSON *out = cJSON_Duplicate(msg, 1);
  cJSON_AddItemToObject(out, "staff", res->output);
  if (step_is_test(s)) /* a test run shows the notification in its output only */
    cJSON_Delete(msg);
  else
    step_publish(s, topic, "notify", msg);
  step_done(s, "out", out);
  free(title);
  free(text);
}

static void execute(struct step *s) {
  const struct state *st = step_state(s);
  pick_run(s, st->staff, pick_subject(s), "notify", picked);
}

const struct node_type node_type_action_notify = {
    .name = "action.notify",
    .group = NODE_ACTION,
    .title = "Notify staff",
    .description = "Shows a notification in the app of a staff member, over the websocket.",
    .ports = ports,
    .schema = "schema/nodes/action.notify.json",
    .ops = {.compile = compile, .free_state = free_state, .execute = execute},
};
