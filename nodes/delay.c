/* delay: waits for a duration (`for`) or until a time (`until`, a template rendering an
 * RFC 3339 time). A constant `until` is parsed now, so a typo is a problem of the flow rather
 * than a failed run. */
#include <stdint.h>
#include <stdlib.h>
#include "graph/timefmt.h"
#include "graph/tmpl.h"
#include "nodes/node.h"
#include "nodes/render.h"
#include "nodes/step.h"

struct state {
  int64_t for_ms;     /* -1 when the delay is `until` */
  struct tmpl *until; /* NULL when the delay is `for` */
};

static int compile(struct node_compile *ctx, const cJSON *config, void **out) {
  struct state *st = calloc(1, sizeof *st);
  if (!(*out = st))
    return ERR_NOMEM;
  st->for_ms = -1;
  node_parse_duration(ctx, cJSON_GetObjectItemCaseSensitive(config, "for"), "/for",
                      &st->for_ms);
  const cJSON *until = cJSON_GetObjectItemCaseSensitive(config, "until");
  int rc = node_compile_tmpl(ctx, until, "/until", &st->until);
  if (rc || !st->until || !tmpl_is_constant(st->until))
    return rc;
  int64_t ms;
  struct err_detail d = {"", ""};
  if (time_parse_rfc3339(until->valuestring, &ms, &d) != 0)
    node_report(ctx, NODE_ERROR, "duration", "/until",
                "until is neither a time (RFC 3339, e.g. 2026-01-31T09:00:00+07:00) nor a "
                "template: %s", d.msg);
  return 0;
}

static void free_state(void *p) {
  struct state *st = p;
  if (st)
    tmpl_free(st->until);
  free(st);
}

static const char *const ports[] = {"out", NULL};

/* Waits `for` a duration or `until` a rendered time (a time already past: goes on at once).
 * The due time is in the database, so the delay survives restarts. */
static void execute(struct step *s) {
  const struct state *st = step_state(s);
  if (step_resumed(s)) {
    if (!step_due_reached(s)) {
      step_wait(s, cJSON_GetNumberValue(cJSON_GetObjectItem(step_waited(s), "due_ms")),
                cJSON_Duplicate(step_waited(s), 1));
      return;
    }
    cJSON *out = cJSON_Duplicate(step_waited(s), 1);
    step_done(s, "out", out);
    return;
  }
  int64_t due;
  if (st->for_ms >= 0) {
    due = step_now_ms(s) + st->for_ms;
  } else {
    char *text = node_render(s, st->until, "until");
    if (!text)
      return;
    struct err_detail d = {{0}, {0}};
    int rc = time_parse_rfc3339(text, &due, &d);
    if (rc) {
      step_fail(s, 0, "until: \"%s\" is not an RFC 3339 time", text);
      free(text);
      return;
    }
    free(text);
  }
  cJSON *out = cJSON_CreateObject();
  char at[40];
  time_format_rfc3339(due, at, sizeof at);
  cJSON_AddStringToObject(out, "until", at);
  cJSON_AddNumberToObject(out, "due_ms", (double)due);
  if (due <= step_now_ms(s)) {
    step_done(s, "out", out);
    return;
  }
  step_wait(s, due, out);
}

const struct node_type node_type_delay = {
    .name = "delay",
    .group = NODE_CONTROL,
    .title = "Delay",
    .description = "Waits for a duration, or until a time.",
    .ports = ports,
    .schema = "schema/nodes/delay.json",
    .ops = {.compile = compile, .free_state = free_state, .execute = execute},
};
