/* trigger.manual: starts a run by hand (POST /api/flows/{id}/test); `sample` is the event
 * test runs use. Nothing to compile beyond the schema. */
#include <stdlib.h>
#include "nodes/node.h"
#include "nodes/render.h"
#include "nodes/step.h"

static int compile(struct node_compile *ctx, const cJSON *config, void **out) {
  *out = NULL;
  return 0;
}

static void free_state(void *p) { (void)p; }

static const char *const ports[] = {"out", NULL};

/* Fires with the event (a test event, or the sample) as its output. */
static void execute(struct step *s) { step_done(s, "out", node_event_copy(s)); }

const struct node_type node_type_trigger_manual = {
    .name = "trigger.manual",
    .group = NODE_TRIGGER,
    .title = "Manual",
    .description = "Starts a run by hand or from a test run.",
    .ports = ports,
    .schema = "schema/nodes/trigger.manual.json",
    .ops = {.compile = compile, .free_state = free_state, .execute = execute},
};
