/* xrun: one segment of one run: build the scope, walk, execute ready nodes, commit.
 * See exec.h for the model and exec_internal.h for the structures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/err.h"
#include "graph/graph.h"
#include "graph/timefmt.h"
#include "graph/walk.h"
#include "nodes/node.h"
#include "nodes/step.h"
#include "server/api_util.h"
#include "server/db.h"
#include "server/exec.h"
#include "server/exec_internal.h"
#include "server/intake.h"
#include "server/log.h"
#include "server/server.h"
#include "server/ws.h"

#define RETRY_CAP_MS (10 * 60 * 1000)

static void advance(struct xrun *xr);
static void commit(struct xrun *xr);

static const char *const step_names[] = {"succeeded", "failed", "skipped", "waiting",
                                         "cancelled"};

static void xrun_free(struct xrun *xr) {
  walk_free(&xr->walk);
  cJSON_Delete(xr->ctx);
  cJSON_Delete(xr->scope);
  cJSON_Delete(xr->steps);
  cJSON_Delete(xr->record_events);
  cJSON_Delete(xr->assignments);
  cJSON_Delete(xr->waits_add);
  cJSON_Delete(xr->waits_del);
  cJSON_Delete(xr->signals);
  cJSON_Delete(xr->publish);
  cJSON_Delete(xr->extra_publish);
  if (xr->effects)
    db_batch_free(xr->effects);
  free(xr->error);
  free(xr->reason);
  free(xr);
  exec_active_add(-1);
}

static void finish(struct xrun *xr, int rc) {
  if (xr->done_cb)
    xr->done_cb(xr->done_data, rc ? rc : xr->id, rc);
  xrun_free(xr);
}

static void iso_now(char *buf, size_t len, int64_t ms) { time_format_rfc3339(ms, buf, len); }

/* The run scope of SPEC §1: event, records by kind, nodes, vars, flow, run. What it takes
 * from the loaded context is moved, not copied: the context is not read for it again (a copy
 * and its later free were ~5% of flowd's CPU under load). */
static void build_scope(struct xrun *xr) {
  cJSON *ctx = xr->ctx;
  cJSON *saved = cJSON_GetObjectItem(ctx, "scope");
  xr->scope = cJSON_CreateObject();
  cJSON *ev = cJSON_DetachItemFromObject(ctx, "event");
  cJSON_AddItemToObject(xr->scope, "event", ev ? ev : cJSON_CreateObject());
  const char *kind = cJSON_GetStringValue(cJSON_GetObjectItem(ctx, "record_kind"));
  if (kind && cJSON_IsObject(cJSON_GetObjectItem(ctx, "record")))
    cJSON_AddItemToObject(xr->scope, kind, cJSON_DetachItemFromObject(ctx, "record"));
  if (cJSON_IsObject(cJSON_GetObjectItem(ctx, "customer")) &&
      !cJSON_GetObjectItem(xr->scope, "customer"))
    cJSON_AddItemToObject(xr->scope, "customer", cJSON_DetachItemFromObject(ctx, "customer"));
  static const char *const kept[] = {"nodes", "vars", "~waits", "staff"};
  for (size_t k = 0; k < sizeof kept / sizeof kept[0]; k++) {
    cJSON *v = cJSON_DetachItemFromObject(saved, kept[k]);
    cJSON_AddItemToObject(xr->scope, kept[k], v ? v : cJSON_CreateObject());
  }
  if (cJSON_GetObjectItem(saved, "~event"))
    cJSON_AddItemToObject(xr->scope, "~event", cJSON_DetachItemFromObject(saved, "~event"));
  cJSON *flow = cJSON_AddObjectToObject(xr->scope, "flow");
  cJSON_AddStringToObject(flow, "id", xr->flow_id);
  cJSON_AddStringToObject(flow, "name", graph_name(xr->g) ? graph_name(xr->g) : xr->flow_id);
  cJSON_AddNumberToObject(flow, "version", xr->version);
  cJSON *run = cJSON_AddObjectToObject(xr->scope, "run");
  cJSON_AddNumberToObject(run, "id", (double)xr->id);
  cJSON_AddBoolToObject(run, "test", xr->test);
}

static void add_step_row(struct xrun *xr, struct step *s, enum step_status st, const char *port,
                         const cJSON *output, const char *error) {
  cJSON *row = cJSON_CreateObject();
  char at[40];
  cJSON_AddStringToObject(row, "node_id", graph_node_id(s->node));
  cJSON_AddStringToObject(row, "status", step_names[st]);
  cJSON_AddNumberToObject(row, "attempt", xr->walk.nodes[s->index].attempt);
  if (port && st == STEP_SUCCEEDED)
    cJSON_AddStringToObject(row, "port", port);
  iso_now(at, sizeof at, s->started_ms);
  cJSON_AddStringToObject(row, "started_at", at);
  if (st != STEP_WAITING) {
    iso_now(at, sizeof at, time_now_ms());
    cJSON_AddStringToObject(row, "finished_at", at);
  }
  cJSON_AddItemToObject(row, "output", output ? cJSON_Duplicate(output, 1) : cJSON_CreateNull());
  if (error)
    cJSON_AddStringToObject(row, "error", error);
  /* One row per (node, attempt): a step that waited and finished in the same segment (a
   * test run) updates its row and keeps when it started. */
  int at_i = 0;
  cJSON *prev;
  cJSON_ArrayForEach(prev, xr->steps) {
    if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(prev, "node_id")), graph_node_id(s->node)) &&
        cJSON_GetObjectItem(prev, "attempt")->valueint == xr->walk.nodes[s->index].attempt) {
      cJSON_ReplaceItemInObject(row, "started_at",
                                cJSON_Duplicate(cJSON_GetObjectItem(prev, "started_at"), 1));
      cJSON_ReplaceItemInArray(xr->steps, at_i, row);
      row = NULL;
      break;
    }
    at_i++;
  }
  if (row)
    cJSON_AddItemToArray(xr->steps, row);

  cJSON *msg = cJSON_CreateObject();
  cJSON_AddStringToObject(msg, "node", graph_node_id(s->node));
  cJSON_AddStringToObject(msg, "status", step_names[st]);
  cJSON_AddNumberToObject(msg, "attempt", xr->walk.nodes[s->index].attempt);
  int64_t now = time_now_ms();
  cJSON_AddNumberToObject(msg, "duration_ms", (double)(now - s->started_ms));
  /* When it finished (ms since the epoch): watchers see how fresh the message is. */
  cJSON_AddNumberToObject(msg, "at", (double)now);
  if (error)
    cJSON_AddStringToObject(msg, "error", error);
  else
    cJSON_AddNullToObject(msg, "error");
  xrun_publish(xr, NULL, "node.finished", msg);
}

/* After an outcome: continue the walk unless the outcome came from inside execute (then the
 * loop in advance() continues by itself). */
static void after_outcome(struct xrun *xr) {
  xr->busy = 0;
  if (!xr->in_execute)
    advance(xr);
}

static void set_output(struct xrun *xr, struct step *s, cJSON *output) {
  cJSON *nodes = cJSON_GetObjectItem(xr->scope, "nodes");
  const char *id = graph_node_id(s->node);
  if (cJSON_GetObjectItem(nodes, id))
    cJSON_ReplaceItemInObject(nodes, id, output);
  else
    cJSON_AddItemToObject(nodes, id, output);
  cJSON_DeleteItemFromObject(cJSON_GetObjectItem(xr->scope, "~waits"), id);
}

void xrun_step_finished(struct step *s, enum step_status st, uint64_t mask, const char *port,
                        cJSON *output, const char *error) {
  struct xrun *xr = s->run;
  if (!output)
    output = cJSON_CreateObject();
  if (xr->fresh && s->index == (size_t)graph_node_index(graph_find(xr->g, xr->ctx_trigger))) {
    /* The trigger: a skip means its condition did not match this event. */
    if (st == STEP_SKIPPED) {
      xr->discard = 1;
      cJSON_Delete(output);
      xr->busy = 0;
      return;
    }
    walk_start(&xr->walk, s->index);
  } else {
    walk_done(&xr->walk, s->index, mask);
  }
  add_step_row(xr, s, st, port, output, error);
  set_output(xr, s, output);
  after_outcome(xr);
}

void xrun_step_failed(struct step *s, int retryable, const char *msg) {
  struct xrun *xr = s->run;
  int max = 0;
  int64_t backoff = 0;
  graph_node_retry(s->node, &max, &backoff);
  int attempt = xr->walk.nodes[s->index].attempt;
  cJSON *out = cJSON_CreateObject();
  cJSON_AddStringToObject(out, "error", msg);
  add_step_row(xr, s, STEP_FAILED, NULL, out, msg);
  if (retryable && attempt <= max) {
    int64_t delay = backoff > 0 ? backoff : 1000;
    for (int k = 1; k < attempt && delay < RETRY_CAP_MS; k++)
      delay *= 2;
    if (delay > RETRY_CAP_MS)
      delay = RETRY_CAP_MS;
    walk_retry(&xr->walk, s->index, xr->test ? xr->now_ms : time_now_ms() + delay);
    cJSON_Delete(out);
  } else {
    set_output(xr, s, out);
    if (!walk_fail(&xr->walk, s->index) && !xr->error) {
      char e[1200];
      snprintf(e, sizeof e, "node %s failed: %s", graph_node_id(s->node), msg);
      xr->error = strdup(e);
    }
  }
  after_outcome(xr);
}

void xrun_step_waits(struct step *s, int64_t due_ms, const char *event_type, cJSON *output) {
  struct xrun *xr = s->run;
  const char *id = graph_node_id(s->node);
  cJSON *waits = cJSON_GetObjectItem(xr->scope, "~waits");
  if (!output)
    output = cJSON_CreateObject();
  cJSON_DeleteItemFromObject(waits, id);
  cJSON_AddItemToObject(waits, id, output);
  walk_wait(&xr->walk, s->index, due_ms);
  if (event_type && !s->resumed) {
    cJSON *w = cJSON_CreateObject();
    cJSON_AddStringToObject(w, "node", id);
    cJSON_AddStringToObject(w, "type", event_type);
    cJSON_AddItemToArray(xr->waits_add, w);
  }
  /* The step's row exists from the moment it starts waiting (its started_at), and watchers
   * see it waiting; resuming and waiting again changes neither. */
  if (!s->resumed)
    add_step_row(xr, s, STEP_WAITING, NULL, output, NULL);
  /* A test run does not wait: its delays and waits end at once. */
  if (xr->test)
    xr->walk.nodes[s->index].due_ms = xr->now_ms;
  after_outcome(xr);
}

void xrun_step_stops(struct step *s, int succeeded, const char *reason) {
  struct xrun *xr = s->run;
  walk_stop(&xr->walk, s->index, succeeded);
  cJSON *out = cJSON_CreateObject();
  cJSON_AddStringToObject(out, "outcome", succeeded ? "succeeded" : "failed");
  if (reason)
    cJSON_AddStringToObject(out, "reason", reason);
  add_step_row(xr, s, STEP_SUCCEEDED, NULL, out, NULL);
  set_output(xr, s, out);
  free(xr->reason);
  xr->reason = reason ? strdup(reason) : NULL;
  if (!succeeded && !xr->error)
    xr->error = strdup(reason ? reason : "stopped as failed");
  after_outcome(xr);
}

void xrun_add_record_event(struct xrun *xr, const char *type, cJSON *data) {
  cJSON *ev = cJSON_CreateObject();
  cJSON_AddStringToObject(ev, "type", type);
  cJSON_AddItemToObject(ev, "data", data);
  cJSON_AddItemToArray(xr->record_events, ev);
}

void xrun_publish(struct xrun *xr, const char *topic, const char *type, cJSON *msg) {
  cJSON *m = cJSON_CreateObject();
  if (topic)
    cJSON_AddStringToObject(m, "topic", topic);
  cJSON_AddStringToObject(m, "type", type);
  cJSON_AddItemToObject(m, "msg", msg);
  cJSON_AddItemToArray(topic ? xr->extra_publish : xr->publish, m);
}

/* ---- the walk ---- */

/* Wakes waiting nodes whose time has come or that have a signal. */
static void wake(struct xrun *xr) {
  for (size_t i = 0; i < xr->walk.n; i++) {
    struct walk_node *nd = &xr->walk.nodes[i];
    if (nd->state != WALK_WAITING)
      continue;
    int due = nd->due_ms && nd->due_ms <= xr->now_ms;
    const char *id = graph_node_id(graph_node_at(xr->g, i));
    int signalled = 0;
    const cJSON *sg;
    cJSON_ArrayForEach(sg, xr->signals) {
      if (!cJSON_GetObjectItem(sg, "~taken") &&
          !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(sg, "node")), id))
        signalled = 1;
    }
    /* A node that waits for its delivery wakes when its latest delivery has an outcome
     * (an earlier attempt's outcome must not wake it again and again). */
    const char *latest = NULL;
    cJSON_ArrayForEach(sg, cJSON_GetObjectItem(xr->ctx, "deliveries")) {
      const char *node = cJSON_GetStringValue(cJSON_GetObjectItem(sg, "node"));
      if (node && !strcmp(node, id))
        latest = cJSON_GetStringValue(cJSON_GetObjectItem(sg, "status"));
    }
    int delivered = latest && (!strcmp(latest, "sent") || !strcmp(latest, "failed") ||
                               !strcmp(latest, "recorded"));
    if (due || signalled || delivered)
      walk_wake(&xr->walk, i);
  }
}

/* The first unconsumed signal for node id (consumed when taken). */
static const cJSON *take_signal(struct xrun *xr, const char *id) {
  cJSON *sg;
  cJSON_ArrayForEach(sg, xr->signals) {
    if (!cJSON_GetObjectItem(sg, "~taken") &&
        !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(sg, "node")), id)) {
      cJSON_AddTrueToObject(sg, "~taken");
      long long sid = (long long)cJSON_GetObjectItem(sg, "id")->valuedouble;
      if (sid > xr->max_signal)
        xr->max_signal = sid;
      return cJSON_GetObjectItem(sg, "event");
    }
  }
  return NULL;
}

static void run_step(struct xrun *xr, size_t i) {
  struct step *s = &xr->cur;
  int resumed = xr->walk.nodes[i].attempt > 0 && cJSON_GetObjectItem(
      cJSON_GetObjectItem(xr->scope, "~waits"), graph_node_id(graph_node_at(xr->g, i))) != NULL;
  int64_t due = xr->walk.nodes[i].due_ms;
  memset(s, 0, sizeof *s);
  s->run = xr;
  s->node = graph_node_at(xr->g, i);
  s->index = i;
  s->started_ms = time_now_ms();
  s->resumed = resumed;
  s->due_reached = resumed && due && due <= xr->now_ms;
  s->signal = resumed ? take_signal(xr, graph_node_id(s->node)) : NULL;
  xr->busy = 1;
  const struct node_type *t = graph_node_type(s->node);
  if (!resumed) {
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "node", graph_node_id(s->node));
    cJSON_AddNumberToObject(msg, "attempt", xr->walk.nodes[i].attempt);
    xrun_publish(xr, NULL, "node.started", msg);
  }
  xr->in_execute = 1;
  if (t->ops.execute)
    t->ops.execute(s);
  else
    step_fail(s, 0, "node type %s cannot run yet", t->name);
  xr->in_execute = 0;
}

static void advance(struct xrun *xr) {
  while (!xr->busy && !xr->discard) {
    /* A resumed wait.event that waits again may have more signals queued. */
    wake(xr);
    long i = walk_next(&xr->walk);
    if (i < 0)
      break;
    run_step(xr, (size_t)i);
  }
  if (!xr->busy)
    commit(xr);
}

/* ---- start ---- */

void xrun_drop(struct xrun *xr) { finish(xr, ERR_DBDOWN); }

void xrun_fail_load(struct xrun *xr, const char *why) {
  log_error("cannot run: the flow version does not load", "run=%lld flow=%s version=%d "
            "reason=%s", xr->id, xr->flow_id, xr->version, log_quote(why));
  if (!xr->error)
    xr->error = strdup(why);
  /* Commit the run as failed so it does not come back forever. */
  xr->g = NULL;
  commit(xr);
}

void xrun_begin(struct xrun *xr) {
  log_debug("run segment starts", "run=%lld flow=%s signals=%d deliveries=%d", xr->id,
            xr->flow_id, cJSON_GetArraySize(xr->signals),
            cJSON_GetArraySize(cJSON_GetObjectItem(xr->ctx, "deliveries")));
  if (walk_init(&xr->walk, xr->g) != 0) {
    xrun_fail_load(xr, "out of memory");
    return;
  }
  build_scope(xr);
  cJSON *state = cJSON_GetObjectItem(xr->ctx, "state");
  xr->fresh = cJSON_GetArraySize(state) == 0;
  if (!xr->fresh && walk_load(&xr->walk, state) != 0) {
    xrun_fail_load(xr, "the run's saved state does not load");
    return;
  }
  if (cJSON_IsTrue(cJSON_GetObjectItem(state, "~retry")))
    walk_retry_failed(&xr->walk);
  for (size_t i = 0; i < xr->walk.n; i++)
    xr->waited |= xr->walk.nodes[i].state == WALK_WAITING;
  if (xr->fresh) {
    const struct graph_node *t = graph_find(xr->g, xr->ctx_trigger);
    if (!t) {
      xrun_fail_load(xr, "the run's trigger node is not in the flow");
      return;
    }
    xr->walk.nodes[graph_node_index(t)].state = WALK_RUNNING;
    xr->walk.nodes[graph_node_index(t)].attempt = 1;
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddNumberToObject(msg, "version", xr->version);
    cJSON_AddBoolToObject(msg, "test", xr->test);
    xrun_publish(xr, NULL, "run.started", msg);
    run_step(xr, graph_node_index(t));
    if (xr->discard) {
      commit(xr);
      return;
    }
  }
  advance(xr);
}

void xrun_start(cJSON *ctx, const struct graph *test_graph,
                void (*done)(void *data, long long run_id, int rc), void *data) {
  struct xrun *xr = calloc(1, sizeof *xr);
  exec_active_add(1);
  xr->ctx = ctx;
  xr->id = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(ctx, "id"));
  snprintf(xr->flow_id, sizeof xr->flow_id, "%s",
           cJSON_GetStringValue(cJSON_GetObjectItem(ctx, "flow_id")));
  snprintf(xr->ctx_trigger, sizeof xr->ctx_trigger, "%s",
           cJSON_GetStringValue(cJSON_GetObjectItem(ctx, "trigger")));
  xr->version = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(ctx, "version"));
  xr->test = cJSON_IsTrue(cJSON_GetObjectItem(ctx, "test"));
  xr->depth = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(ctx, "depth"));
  xr->now_ms = time_now_ms();
  xr->steps = cJSON_CreateArray();
  xr->record_events = cJSON_CreateArray();
  xr->assignments = cJSON_CreateArray();
  xr->waits_add = cJSON_CreateArray();
  xr->waits_del = cJSON_CreateArray();
  xr->publish = cJSON_CreateArray();
  xr->extra_publish = cJSON_CreateArray();
  xr->signals = cJSON_Duplicate(cJSON_GetObjectItem(ctx, "signals"), 1);
  if (!xr->signals)
    xr->signals = cJSON_CreateArray();
  xr->effects = db_batch_new();
  xr->intake_stmt = -1;
  xr->done_cb = done;
  xr->done_data = data;
  if (test_graph) {
    xr->g = test_graph;
    xrun_begin(xr);
  } else {
    flowcache_get(xr);
  }
}

/* ---- commit ---- */

static enum run_status final_status(struct xrun *xr) {
  if (!xr->g)
    return RUN_FAILED;
  switch (walk_status(&xr->walk)) {
  case WALK_RUN_RUNNING: return RUN_RUNNING;
  case WALK_RUN_WAITING: return RUN_WAITING;
  case WALK_RUN_SUCCEEDED:
  case WALK_RUN_STOPPED: return RUN_SUCCEEDED;
  case WALK_RUN_FAILED: return RUN_FAILED;
  }
  return RUN_FAILED;
}

/* The nodes still waiting, as a PostgreSQL text[] literal. */
static char *waiting_nodes(struct xrun *xr) {
  size_t cap = 16, len = 0;
  char *s = malloc(cap);
  s[len++] = '{';
  for (size_t i = 0; xr->g && i < xr->walk.n; i++) {
    if (xr->walk.nodes[i].state != WALK_WAITING)
      continue;
    const char *id = graph_node_id(graph_node_at(xr->g, i));
    size_t need = len + strlen(id) * 2 + 8;
    if (need > cap) {
      cap = need * 2;
      s = realloc(s, cap);
    }
    if (len > 1)
      s[len++] = ',';
    s[len++] = '"';
    for (const char *p = id; *p; p++) {
      if (*p == '"' || *p == '\\')
        s[len++] = '\\';
      s[len++] = *p;
    }
    s[len++] = '"';
  }
  s[len++] = '}';
  s[len] = '\0';
  return s;
}

static void committed(void *data, int rc, const struct db_result *r);

/* What the run keeps between segments: its walk state and its scope's own parts (node
 * outputs, vars, waits); records and the event are loaded fresh each segment. */
static void saved_state(struct xrun *xr, cJSON **state, cJSON **scope, char *due, size_t len) {
  *state = *scope = NULL;
  due[0] = '\0';
  if (!xr->g)
    return;
  /* A run that succeeded is never loaded again: of its scope only the vars are shown (the
   * runs API), and its state stays as it was. A failed one keeps both for a retry. */
  int done = xr->final == RUN_SUCCEEDED;
  *state = done ? NULL : walk_save(&xr->walk);
  cJSON *keep = cJSON_CreateObject();
  static const char *const kept[] = {"vars", "nodes", "~waits", "~event", "staff"};
  for (size_t k = 0; k < (done ? 1 : sizeof kept / sizeof kept[0]); k++) {
    cJSON *v = cJSON_GetObjectItem(xr->scope, kept[k]);
    if (v)
      cJSON_AddItemToObject(keep, kept[k], cJSON_Duplicate(v, 1));
  }
  *scope = keep;
  int64_t next = walk_next_due(&xr->walk);
  if (xr->final == RUN_WAITING && next)
    time_format_rfc3339(next, due, len);
}

static char *print_free(cJSON *j) {
  char *s = j ? cJSON_PrintUnformatted(j) : NULL;
  cJSON_Delete(j);
  return s;
}

/* The run's record updates go through the intake, caused by this run (not in test runs). */
static int has_record_events(struct xrun *xr) {
  if (cJSON_GetArraySize(xr->record_events) == 0 || xr->test)
    return 0;
  if (xr->depth + 1 > INTAKE_MAX_DEPTH && !xr->reason) {
    char why[160];
    snprintf(why, sizeof why, "chain depth limit (%d) reached: this run's record updates "
             "started no further runs", INTAKE_MAX_DEPTH);
    xr->reason = strdup(why);
  }
  return 1;
}

/* Commits the segment alone, with flowd_commit_segment (also the way back when a group of
 * segments could not commit together). */
void xrun_commit_alone(struct xrun *xr) {
  char id[24], depth[16], maxd[16], maxsig[24], lease[16];
  snprintf(id, sizeof id, "%lld", xr->id);
  snprintf(depth, sizeof depth, "%d", xr->depth + 1);
  snprintf(maxd, sizeof maxd, "%d", INTAKE_MAX_DEPTH);
  snprintf(maxsig, sizeof maxsig, "%lld", xr->max_signal);
  snprintf(lease, sizeof lease, "%d", exec_lease_ms());
  struct db_batch *b = db_batch_new();
  char *steps = cJSON_PrintUnformatted(xr->steps);
  char *events = has_record_events(xr) ? cJSON_PrintUnformatted(xr->record_events) : NULL;
  char *waits = cJSON_PrintUnformatted(xr->waits_add);
  char *still = waiting_nodes(xr);
  cJSON *state_j, *scope_j;
  char due[40];
  saved_state(xr, &state_j, &scope_j, due, sizeof due);
  char *state = print_free(state_j), *scope = print_free(scope_j);
  /* Waits, signals and wake-ups need bookkeeping only in runs that ever waited. */
  const char *p[17] = {id, exec_owner(), steps, run_status_name(xr->final), state, scope,
                       due[0] ? due : NULL, xr->error, xr->reason, waits, still, maxsig,
                       events, depth, maxd, lease, xrun_touches_waits(xr) ? "true" : "false"};
  xr->intake_stmt = events ? 0 : -1;
  db_batch_add(b, "xrun_commit",
               "SELECT flowd_commit_segment($1::bigint, $2, $3::jsonb, $4, $5::jsonb, "
               "$6::jsonb, $7::timestamptz, $8, $9, $10::jsonb, $11::text[], $12::bigint, "
               "$13::jsonb, $14::int, $15::int, $16::int, $17::boolean)", 17, p);
  if (cJSON_GetArraySize(xr->assignments) > 0) {
    char *rows = cJSON_PrintUnformatted(xr->assignments);
    const char *ap[2] = {id, rows};
    db_batch_add(b, "xrun_assignments",
                 "INSERT INTO assignments (run_id, node_id, target_kind, target_id, customer_id, "
                 "scope, staff_id, team_id) SELECT $1::bigint, a.node_id, a.target_kind, "
                 "a.target_id, a.customer_id, coalesce(a.scope, ''), a.staff_id, a.team_id "
                 "FROM jsonb_to_recordset($2::jsonb) AS a(node_id text, target_kind text, "
                 "target_id text, customer_id text, scope text, staff_id text, team_id text)",
                 2, ap);
    free(rows);
  }
  db_batch_append(b, xr->effects);
  db_submit(exec_server()->db, b, committed, xr);
  free(steps);
  free(events);
  free(waits);
  free(still);
  free(state);
  free(scope);
}

int xrun_touches_waits(const struct xrun *xr) {
  return xr->waited || cJSON_GetArraySize(xr->waits_add) > 0 ||
         cJSON_GetArraySize(xr->signals) > 0 || xr->final == RUN_WAITING;
}

/* The segment as one element of flowd_commit_segments (schema/011_lighter_commits.sql). */
static cJSON *segment_json(struct xrun *xr) {
  cJSON *seg = cJSON_CreateObject();
  cJSON *state, *scope;
  char due[40];
  saved_state(xr, &state, &scope, due, sizeof due);
  /* Written as it is: cJSON prints a number beyond INT_MAX with "%1.15g" and reads it back
   * to check it (~3% of flowd's CPU for the run ids). */
  char id[24];
  snprintf(id, sizeof id, "%lld", xr->id);
  cJSON_AddRawToObject(seg, "run", id);
  cJSON_AddItemReferenceToObject(seg, "steps", xr->steps);
  cJSON_AddStringToObject(seg, "status", run_status_name(xr->final));
  cJSON_AddItemToObject(seg, "state", state ? state : cJSON_CreateNull());
  cJSON_AddItemToObject(seg, "scope", scope ? scope : cJSON_CreateNull());
  if (due[0])
    cJSON_AddStringToObject(seg, "due", due);
  if (xr->error)
    cJSON_AddStringToObject(seg, "error", xr->error);
  if (has_record_events(xr)) {
    cJSON_AddItemReferenceToObject(seg, "events", xr->record_events);
    cJSON_AddNumberToObject(seg, "depth", xr->depth + 1);
  }
  if (xr->reason)
    cJSON_AddStringToObject(seg, "reason", xr->reason);
  if (cJSON_GetArraySize(xr->assignments) > 0)
    cJSON_AddItemReferenceToObject(seg, "assignments", xr->assignments);
  if (xrun_touches_waits(xr)) {
    /* Waits to add, the nodes still waiting, the signals consumed (see the SQL). */
    cJSON_AddTrueToObject(seg, "touched");
    cJSON_AddItemReferenceToObject(seg, "waits", xr->waits_add);
    cJSON *still = cJSON_AddArrayToObject(seg, "waiting");
    for (size_t i = 0; xr->g && i < xr->walk.n; i++)
      if (xr->walk.nodes[i].state == WALK_WAITING)
        cJSON_AddItemToArray(still, cJSON_CreateString(graph_node_id(graph_node_at(xr->g, i))));
    cJSON_AddNumberToObject(seg, "max_signal", (double)xr->max_signal);
  }
  return seg;
}

static void commit(struct xrun *xr) {
  if (xr->discard) {
    char id[24];
    snprintf(id, sizeof id, "%lld", xr->id);
    struct db_batch *b = db_batch_new();
    const char *own[2] = {id, exec_owner()};
    xr->intake_stmt = -1;
    /* Everything up to the pipeline sync is one transaction: the segment commits whole. */
    db_batch_add(b, "xrun_own", "SELECT flowd_own_run($1::bigint, $2)", 2, own);
    db_batch_add(b, "xrun_discard", "DELETE FROM runs WHERE id = $1::bigint", 1, own);
    db_submit(exec_server()->db, b, committed, xr);
    return;
  }
  xr->final = final_status(xr);
  /* Segments of runs whose flow loaded commit in groups (test runs alone). */
  if (xr->g && !xr->test)
    xcommit_add(xr, segment_json(xr));
  else
    xrun_commit_alone(xr);
}

static void publish_all(struct xrun *xr) {
  const cJSON *m;
  cJSON_ArrayForEach(m, xr->publish) {
    exec_publish_run_copy((double)xr->id, xr->flow_id,
                          cJSON_GetStringValue(cJSON_GetObjectItem(m, "type")),
                          cJSON_GetObjectItem(m, "msg"));
  }
  if (xr->final != RUN_RUNNING && xr->final != RUN_WAITING) {
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "status", run_status_name(xr->final));
    if (xr->error)
      cJSON_AddStringToObject(msg, "error", xr->error);
    exec_publish_run((double)xr->id, xr->flow_id, "run.finished", msg);
  }
  cJSON_ArrayForEach(m, xr->extra_publish) {
    ws_publish(cJSON_GetStringValue(cJSON_GetObjectItem(m, "topic")),
               cJSON_GetStringValue(cJSON_GetObjectItem(m, "type")),
               cJSON_Duplicate(cJSON_GetObjectItem(m, "msg"), 1));
  }
}

void xrun_committed(struct xrun *xr, cJSON *intake_result) {
  log_debug("run segment committed", "run=%lld status=%s", xr->id,
            xr->discard ? "discarded" : run_status_name(xr->final));
  if (!xr->discard) {
    publish_all(xr);
    exec_count_commit(xr->final != RUN_RUNNING && xr->final != RUN_WAITING);
  }
  if (intake_result) {
    if (cJSON_IsTrue(cJSON_GetObjectItem(intake_result, "depth_limited")))
      log_warn("chain depth limit reached: the run's record updates started no runs",
               "run=%lld depth=%d", xr->id, xr->depth + 1);
    exec_take(intake_result);
  }
  finish(xr, 0);
}

void xrun_commit_failed(struct xrun *xr, int rc, const struct db_result *r) {
  if (r && r->sqlstate && !strcmp(r->sqlstate, "FD001"))
    log_info("run segment dropped: the run is no longer ours (cancelled or taken over)",
             "run=%lld", xr->id);
  else
    log_warn("run segment not committed; the run resumes when its lease expires",
             "run=%lld error=%s", xr->id, log_quote(r && r->error ? r->error : err_str(rc)));
  finish(xr, rc);
}

static void committed(void *data, int rc, const struct db_result *r) {
  struct xrun *xr = data;
  if (rc) {
    xrun_commit_failed(xr, rc, r);
    return;
  }
  cJSON *res = xr->intake_stmt >= 0 ? api_row_json(r, xr->intake_stmt, 0) : NULL;
  xrun_committed(xr, res);
  cJSON_Delete(res);
}
