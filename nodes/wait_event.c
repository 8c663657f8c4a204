/* wait.event: waits for an event of a type for which `when` holds (it sees `incoming`, the
 * awaited event, besides the run scope); takes port "event", or "timeout" once `timeout`
 * has passed. Without a timeout it waits until the run is cancelled. */
#include <stdint.h>
#include <stdlib.h>
#include "graph/cond.h"
#include "nodes/node.h"
#include "nodes/render.h"
#include "nodes/step.h"

struct state {
  struct cond *when;  /* NULL: any event of the type */
  int64_t timeout_ms; /* -1: none */
};

static int compile(struct node_compile *ctx, const cJSON *config, void **out) {
  struct state *st = calloc(1, sizeof *st);
  if (!(*out = st))
    return ERR_NOMEM;
  st->timeout_ms = -1;
  node_parse_duration(ctx, cJSON_GetObjectItemCaseSensitive(config, "timeout"), "/timeout",
                      &st->timeout_ms);
  return node_compile_cond(ctx, cJSON_GetObjectItemCaseSensitive(config, "when"), "/when",
                           &st->when);
}

static void free_state(void *p) {
  struct state *st = p;
  if (st)
    cond_free(st->when);
  free(st);
}

static const char *const ports[] = {"event", "timeout", NULL};

/* Deferred choice: the first event of the type whose condition matches (it sees
 * "incoming") takes port "event"; the timeout takes "timeout". */
static void execute(struct step *s) {
  const struct state *st = step_state(s);
  const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(step_config(s), "type"));
  if (!step_resumed(s)) {
    int64_t due = st->timeout_ms >= 0 ? step_now_ms(s) + st->timeout_ms : 0;
    cJSON *w = cJSON_CreateObject();
    cJSON_AddNumberToObject(w, "due_ms", (double)due);
    step_wait_event(s, type, due, w);
    return;
  }
  const cJSON *incoming = step_signal(s);
  if (incoming) {
    int ok = node_test(s, st->when, incoming, "when");
    if (ok < 0)
      return;
    if (ok) {
      step_done(s, "event", cJSON_Duplicate(incoming, 1));
      return;
    }
  }
  int64_t due = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(step_waited(s), "due_ms"));
  if (due > 0 && (step_due_reached(s) || due <= step_now_ms(s))) {
    cJSON *out = cJSON_CreateObject();
    cJSON_AddBoolToObject(out, "timed_out", 1);
    step_done(s, "timeout", out);
    return;
  }
  step_wait_event(s, type, due, cJSON_Duplicate(step_waited(s), 1));
}

const struct node_type node_type_wait_event = {
    .name = "wait.event",
    .group = NODE_CONTROL,
    .title = "Wait for event",
    .description = "Waits for an event of a type (matching when) and takes the event port, or "
                   "the timeout port after timeout.",
    .ports = ports,
    .schema = "schema/nodes/wait.event.json",
    .ops = {.compile = compile, .free_state = free_state, .execute = execute},
};
