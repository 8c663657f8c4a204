/* picker: the "who gets it" configuration shared by action.assign, action.create_task's
 * assignee and action.notify's staff: a strategy, a fixed staff member or candidates,
 * stickiness and first-match rules (SPEC §1, action.assign).
 *
 * Invariant: a compiled picker is immutable; its cJSON pointers point into the node's config,
 * which the graph keeps alive as long as the picker. */
#ifndef FLOWD_PICKER_H
#define FLOWD_PICKER_H
#include <stddef.h>
#include <cjson/cJSON.h>
#include "nodes/node.h"

enum picker_strategy { PICK_FIXED, PICK_ROUND_ROBIN, PICK_LEAST_LOADED };
enum picker_sticky { STICKY_NONE, STICKY_RECORD, STICKY_CUSTOMER };

struct picker_candidates {
  int present;                       /* the config gave candidates */
  const cJSON *staff, *roles, *teams; /* arrays of strings in the config, or NULL */
  struct tmpl *page;                 /* NULL: any page */
  int online;                        /* only staff online now */
  struct cond *where;                /* NULL: no filter; sees `staff` and the run scope */
};

struct picker_rule {
  struct cond *when;
  struct tmpl *staff; /* the rule names one staff member; NULL when it gives candidates */
  struct picker_candidates candidates;
};

struct picker {
  enum picker_strategy strategy;
  struct tmpl *staff; /* strategy fixed: the staff id (a template; constant for a plain id) */
  struct picker_candidates candidates;
  enum picker_sticky sticky;
  struct tmpl *sticky_scope; /* NULL: no scope */
  int reassign_when_offline;
  struct picker_rule *rules; /* checked in order, first match wins */
  size_t nrules;
};

/* Compiles v, either a staff id/template string (strategy fixed) or a picker object, found at
 * subpath of the node's config ("" when the picker fields are the config's own, as in
 * action.assign). Reports problems through ctx. Returns 0 or ERR_NOMEM; *out is set even when
 * problems were reported (free with picker_free). */
int picker_compile(struct node_compile *ctx, const cJSON *v, const char *subpath,
                   struct picker **out);

void picker_free(struct picker *p);

#endif
