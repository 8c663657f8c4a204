/* action.create_task: creates a task record linked to the records in scope, with templated
 * title/text/project, an assignee picked like action.assign, a priority and a deadline (a
 * duration from now, a time, or a template rendering a time). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "graph/timefmt.h"
#include "graph/tmpl.h"
#include "nodes/node.h"
#include "nodes/picker.h"

enum { T_TITLE, T_TEXT, T_PROJECT, T_DEADLINE, NT };
static const char *const tmpl_fields[] = {"title", "text", "project", "deadline", NULL};

struct state {
  struct tmpl *t[NT];
  int64_t deadline_in_ms; /* >= 0: the deadline is now + this; -1: render t[T_DEADLINE] */
  int priority;           /* 0 low, 1 normal, 2 high */
  struct picker *assignee; /* NULL: the task has no owner */
};

/* A constant deadline must be a duration or a time; anything else is a typo. */
static void check_deadline(struct node_compile *ctx, struct state *st, const cJSON *v) {
  st->deadline_in_ms = -1;
  if (!st->t[T_DEADLINE] || !tmpl_is_constant(st->t[T_DEADLINE]))
    return;
  int64_t ms;
  if (duration_parse(v->valuestring, &ms, NULL) == 0) {
    st->deadline_in_ms = ms;
    return;
  }
  if (time_parse_rfc3339(v->valuestring, &ms, NULL) != 0)
    node_report(ctx, NODE_ERROR, "duration", "/deadline",
                "deadline \"%s\" is neither a duration (2d, 4h) nor a time (RFC 3339)",
                v->valuestring);
}

static int compile(struct node_compile *ctx, const cJSON *config, void **out) {
  struct state *st = calloc(1, sizeof *st);
  if (!(*out = st))
    return ERR_NOMEM;
  const char *prio = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(config, "priority"));
  st->priority = !prio ? 1 : !strcmp(prio, "low") ? 0 : !strcmp(prio, "high") ? 2 : 1;
  int rc = node_compile_fields(ctx, config, tmpl_fields, st->t);
  if (rc)
    return rc;
  check_deadline(ctx, st, cJSON_GetObjectItemCaseSensitive(config, "deadline"));
  const cJSON *assignee = cJSON_GetObjectItemCaseSensitive(config, "assignee");
  return assignee ? picker_compile(ctx, assignee, "/assignee", &st->assignee) : 0;
}

static void free_state(void *p) {
  struct state *st = p;
  if (!st)
    return;
  node_free_tmpls(st->t, NT);
  picker_free(st->assignee);
  free(st);
}

static const char *const ports[] = {"out", "error", NULL};

const struct node_type node_type_action_create_task = {
    .name = "action.create_task",
    .group = NODE_ACTION,
    .title = "Create task",
    .description = "Creates a task record, linked to the records in scope.",
    .ports = ports,
    .schema = "schema/nodes/action.create_task.json",
    .ops = {.compile = compile, .free_state = free_state},
};
