/* render: what execute ops share at run time: templates and value maps rendered against the
 * run scope. */
#ifndef FLOWD_RENDER_H
#define FLOWD_RENDER_H
#include <cjson/cJSON.h>
#include <stddef.h>
#include "nodes/node.h"

struct step;

/* Renders t against the step's scope. Returns a new string, or NULL after failing the step
 * (not retryable) with a message naming what: the caller just returns. NULL t renders "". */
char *node_render(struct step *s, const struct tmpl *t, const char *what);

/* Renders a name -> value map (set.values, update_record.set): template strings are
 * rendered, other JSON is copied. Returns a new object, or NULL after failing the step. */
cJSON *node_render_values(struct step *s, const struct node_value *v, size_t n);

/* Evaluates a compiled condition against the scope (plus "incoming" when not NULL).
 * Returns 1 or 0, or -1 after failing the step. NULL c is true. */
int node_test(struct step *s, const struct cond *c, const cJSON *incoming, const char *what);

/* What every trigger that has a condition does: fires with the event as its output when
 * `when` (NULL: always) matches the run's scope; otherwise the run is discarded as if it
 * never started (the executor treats a trigger's skip that way). */
void node_trigger_fire(struct step *s, const struct cond *when);

/* The run's event (scope.event) as a new copy: what trigger nodes output. */
cJSON *node_event_copy(struct step *s);

#endif
