/* action.create_task: creates a task record linked to the records in scope, with templated
 * title/text/project, an assignee picked like action.assign, a priority and a deadline (a
 * duration from now, a time, or a template rendering a time).
 *
 * The task is the record "t_<run>_<node>" of kind task, created through task.created (so a
 * retried step upserts the same task), with status "open", owner_id = the assignee (none
 * when nobody is eligible: the task is still created, unowned, and the output says why),
 * due_at, priority, project and the ids of the order, customer, lead and conversation in
 * scope. The assignee's websocket topic staff:<id> gets "task.created" after the commit (not
 * in a test run, which creates nothing). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/timefmt.h"
#include "graph/tmpl.h"
#include "nodes/node.h"
#include "nodes/pick.h"
#include "nodes/picker.h"
#include "nodes/render.h"
#include "nodes/step.h"

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
static const char *const priorities[] = {"low", "normal", "high"};

/* The deadline as RFC 3339 into buf ("" when none). Returns 0, or -1 after failing. */
static int deadline(struct step *s, const struct state *st, char *buf, size_t len) {
  buf[0] = '\0';
  if (st->deadline_in_ms >= 0) {
    time_format_rfc3339(step_now_ms(s) + st->deadline_in_ms, buf, len);
    return 0;
  }
  if (!st->t[T_DEADLINE])
    return 0;
  char *text = node_render(s, st->t[T_DEADLINE], "deadline");
  if (!text)
    return -1;
  /* A template may render a duration, a time, or nothing (then the task has no deadline). */
  int64_t ms, at;
  int rc = 0;
  if (text[0] && duration_parse(text, &ms, NULL) == 0)
    time_format_rfc3339(step_now_ms(s) + ms, buf, len);
  else if (text[0] && time_parse_rfc3339(text, &at, NULL) == 0)
    time_format_rfc3339(at, buf, len);
  else if (text[0])
    rc = -1;
  if (rc)
    step_fail(s, 0, "deadline: \"%s\" is neither a duration (2d, 4h) nor a time (RFC 3339)",
              text);
  free(text);
  return rc;
}

/* Adds <kind>_id for each linked record in scope (order_id, customer_id, lead_id, ...). */
static void add_links(struct step *s, cJSON *task) {
  static const char *const kinds[] = {"order", "customer", "lead", "conversation"};
  const cJSON *scope = step_scope(s);
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    const char *id = cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(scope, kinds[i]), "id"));
    char name[32];
    snprintf(name, sizeof name, "%s_id", kinds[i]);
    if (id)
      cJSON_AddStringToObject(task, name, id);
  }
}

/* Renders the task's own fields; NULL after failing the step. */
static cJSON *task_new(struct step *s, const struct state *st) {
  static const char *const names[] = {"title", "text", "project"};
  cJSON *task = cJSON_CreateObject();
  char id[160], due[40];
  snprintf(id, sizeof id, "t_%lld_%s", step_run_id(s), step_node_id(s));
  cJSON_AddStringToObject(task, "id", id);
  for (int i = T_TITLE; i <= T_PROJECT; i++) {
    char *text = st->t[i] ? node_render(s, st->t[i], names[i]) : NULL;
    if (st->t[i] && !text) {
      cJSON_Delete(task);
      return NULL;
    }
    if (text)
      cJSON_AddStringToObject(task, names[i], text);
    free(text);
  }
  if (deadline(s, st, due, sizeof due) != 0) {
    cJSON_Delete(task);
    return NULL;
  }
  cJSON_AddStringToObject(task, "status", "open");
  cJSON_AddStringToObject(task, "priority", priorities[st->priority]);
  cJSON_AddItemToObject(task, "due_at", due[0] ? cJSON_CreateString(due) : cJSON_CreateNull());
  add_links(s, task);
  cJSON_AddNumberToObject(task, "run_id", (double)step_run_id(s));
  return task;
}

/* Creates the task owned by the pick's staff member (res NULL or nobody: unowned) and tells
 * its owner. */
static void create(struct step *s, struct pick_result *res) {
  const struct state *st = step_state(s);
  const char *staff = res ? res->staff : NULL;
  cJSON *assignment = res ? res->output : NULL;
  cJSON *task = task_new(s, st);
  if (!task) {
    cJSON_Delete(assignment);
    return;
  }
  if (res)
    pick_record(s, res, "task", cJSON_GetStringValue(cJSON_GetObjectItem(task, "id")));
  cJSON_AddItemToObject(task, "owner_id", staff ? cJSON_CreateString(staff) : cJSON_CreateNull());
  cJSON *out = cJSON_CreateObject();
  cJSON_AddItemToObject(out, "task", cJSON_Duplicate(task, 1));
  if (assignment)
    cJSON_AddItemToObject(out, "assignee", assignment);
  if (staff && !step_is_test(s)) { /* a test run tells nobody */
    char topic[128];
    snprintf(topic, sizeof topic, "staff:%s", staff);
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddItemToObject(msg, "task", cJSON_Duplicate(task, 1));
    cJSON_AddNumberToObject(msg, "run_id", (double)step_run_id(s));
    step_publish(s, topic, "task.created", msg);
  }
  step_create_record(s, "task", task);
  step_done(s, "out", out);
}

static void execute(struct step *s) {
  const struct state *st = step_state(s);
  if (st->assignee)
    pick_run(s, st->assignee, pick_subject(s), "task", create);
  else
    create(s, NULL);
}

const struct node_type node_type_action_create_task = {
    .name = "action.create_task",
    .group = NODE_ACTION,
    .title = "Create task",
    .description = "Creates a task record, linked to the records in scope.",
    .ports = ports,
    .schema = "schema/nodes/action.create_task.json",
    .ops = {.compile = compile, .free_state = free_state, .execute = execute},
};
