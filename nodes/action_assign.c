/* action.assign: picks one staff member (SPEC §1: rules, candidates, strategy, stickiness)
 * and makes them the owner of the `target` record. Takes "assigned", or "unassigned" when
 * nobody is eligible. The picking configuration is the config itself; see picker.h for the
 * compiled form and pick.h for how it runs.
 *
 * The owner (and, through a team, team_id) changes with step_update_record, the path of every
 * record update, and only when it differs: a sticky pick that keeps the owner raises no
 * <kind>.updated. A real change is also written to the assignments table in the same
 * transaction (what stickiness per customer and max_per_day read). */
#include <stdlib.h>
#include <string.h>
#include "nodes/node.h"
#include "nodes/pick.h"
#include "nodes/picker.h"
#include "nodes/step.h"

struct state {
  const char *target; /* the record kind, in the config */
  struct picker *picker;
};

static int compile(struct node_compile *ctx, const cJSON *config, void **out) {
  struct state *st = calloc(1, sizeof *st);
  if (!(*out = st))
    return ERR_NOMEM;
  st->target = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(config, "target"));
  return picker_compile(ctx, config, "", &st->picker);
}

static void free_state(void *p) {
  struct state *st = p;
  if (st)
    picker_free(st->picker);
  free(st);
}

static const char *const ports[] = {"assigned", "unassigned", "error", NULL};

static int same(const char *a, const char *b) { return a && b && !strcmp(a, b); }

static void picked(struct step *s, struct pick_result *res) {
  const struct state *st = step_state(s);
  if (!res->staff) {
    step_done(s, "unassigned", res->output);
    return;
  }
  /* The chosen member is the staff in play from now on ({{staff.name}}), and the output's
   * profile keeps {{nodes.<id>.profile.name}} working too. */
  if (res->profile) {
    cJSON_AddItemToObject(res->output, "profile", cJSON_Duplicate(res->profile, 1));
    step_set_staff(s, cJSON_Duplicate(res->profile, 1));
  }
  const cJSON *rec = cJSON_GetObjectItem(step_scope(s), st->target);
  const char *team = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "team_id"));
  int owner_changes = !same(res->previous, res->staff);
  if (owner_changes || (res->team && !same(team, res->team))) {
    cJSON *patch = cJSON_CreateObject();
    cJSON_AddStringToObject(patch, "owner_id", res->staff);
    if (res->team)
      cJSON_AddStringToObject(patch, "team_id", res->team);
    /* The id is read before the update: the record's own id never changes. */
    char *id = strdup(cJSON_GetStringValue(cJSON_GetObjectItem(rec, "id")));
    step_update_record(s, st->target, id, patch);
    if (owner_changes)
      pick_record(s, res, st->target, id);
    free(id);
  }
  step_done(s, "assigned", res->output);
}

/* Fails at once when the target is not in the run; otherwise the pick reports. */
static void execute(struct step *s) {
  const struct state *st = step_state(s);
  const cJSON *rec = cJSON_GetObjectItem(step_scope(s), st->target);
  if (!cJSON_IsObject(rec) || !cJSON_IsString(cJSON_GetObjectItem(rec, "id"))) {
    step_fail(s, 0, "target: there is no %s with an id in this run", st->target);
    return;
  }
  pick_run(s, st->picker, st->target, st->target, picked);
}

const struct node_type node_type_action_assign = {
    .name = "action.assign",
    .group = NODE_ACTION,
    .title = "Assign",
    .description = "Picks one staff member and makes them the owner of the target record.",
    .ports = ports,
    .schema = "schema/nodes/action.assign.json",
    .ops = {.compile = compile, .free_state = free_state, .execute = execute},
};
