/* trigger.schedule: starts a run on a cron schedule in a time zone. The schema's "cron"
 * format already checks the expression, so compile has nothing left to check. Activation
 * lists the node in flow_schedules and the scheduler (server/sched.c, with the cron and time
 * zone arithmetic in schema/007_schedules.sql) starts its runs, each with a schedule.fired
 * event {flow_id, node_id, cron, timezone, scheduled_at}; an unknown time zone is refused
 * when the flow is activated. */
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

const struct node_type node_type_trigger_schedule = {
    .name = "trigger.schedule",
    .group = NODE_TRIGGER,
    .title = "Schedule",
    .description = "Starts a run on a cron schedule.",
    .ports = ports,
    .schema = "schema/nodes/trigger.schedule.json",
    .ops = {.compile = compile, .free_state = free_state, .execute = execute},
};
