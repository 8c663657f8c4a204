/* walk: node and edge states of a run; see walk.h for the rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/err.h"
#include "graph/graph.h"
#include "graph/walk.h"

static const char *const state_names[] = {"unreached", "ready",  "running", "waiting",
                                          "done",      "dead",   "failed"};

const char *walk_state_name(enum walk_state s) {
  return (unsigned)s < sizeof state_names / sizeof state_names[0] ? state_names[s] : "?";
}

/* Builds the incoming-edge lists (source node and port) from the successor lists. */
static int build_incoming(struct walk *w) {
  size_t n = w->n, total = 0;
  w->in_off = calloc(n + 1, sizeof *w->in_off);
  if (!w->in_off)
    return ERR_NOMEM;
  for (size_t i = 0; i < n; i++) {
    const struct graph_node *gn = graph_node_at(w->g, i);
    for (size_t p = 0; p < graph_node_port_count(gn); p++) {
      size_t c;
      const size_t *succ = graph_node_successors(gn, p, &c);
      for (size_t k = 0; k < c; k++)
        w->in_off[succ[k] + 1]++;
      total += c;
    }
  }
  for (size_t i = 0; i < n; i++)
    w->in_off[i + 1] += w->in_off[i];
  w->in_src = malloc((total ? total : 1) * sizeof *w->in_src);
  w->in_port = malloc(total ? total : 1);
  size_t *fill = calloc(n ? n : 1, sizeof *fill);
  if (!w->in_src || !w->in_port || !fill) {
    free(fill);
    return ERR_NOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    const struct graph_node *gn = graph_node_at(w->g, i);
    for (size_t p = 0; p < graph_node_port_count(gn); p++) {
      size_t c;
      const size_t *succ = graph_node_successors(gn, p, &c);
      for (size_t k = 0; k < c; k++) {
        size_t at = w->in_off[succ[k]] + fill[succ[k]]++;
        w->in_src[at] = i;
        w->in_port[at] = (uint8_t)p;
      }
    }
  }
  free(fill);
  return 0;
}

int walk_init(struct walk *w, const struct graph *g) {
  memset(w, 0, sizeof *w);
  w->g = g;
  w->n = graph_node_count(g);
  w->nodes = calloc(w->n ? w->n : 1, sizeof *w->nodes);
  if (!w->nodes)
    return ERR_NOMEM;
  int rc = build_incoming(w);
  if (rc)
    walk_free(w);
  return rc;
}

void walk_free(struct walk *w) {
  free(w->nodes);
  free(w->in_off);
  free(w->in_src);
  free(w->in_port);
  memset(w, 0, sizeof *w);
}

/* 1 fired, 0 dead, -1 undecided: incoming edge k of a node. */
static int edge_state(const struct walk *w, size_t k) {
  const struct walk_node *src = &w->nodes[w->in_src[k]];
  if (src->state == WALK_DONE)
    return (src->ports >> w->in_port[k]) & 1 ? 1 : 0;
  if (src->state == WALK_DEAD || src->state == WALK_FAILED)
    return 0;
  return -1;
}

static void settle(struct walk *w, size_t i);

/* Re-evaluates every successor of node i after i reached a final state. */
static void propagate(struct walk *w, size_t i) {
  const struct graph_node *gn = graph_node_at(w->g, i);
  for (size_t p = 0; p < graph_node_port_count(gn); p++) {
    size_t c;
    const size_t *succ = graph_node_successors(gn, p, &c);
    for (size_t k = 0; k < c; k++)
      settle(w, succ[k]);
  }
}

/* Decides whether an UNREACHED node is READY or DEAD yet. */
static void settle(struct walk *w, size_t i) {
  struct walk_node *nd = &w->nodes[i];
  if (nd->state != WALK_UNREACHED)
    return;
  size_t fired = 0, dead = 0, total = w->in_off[i + 1] - w->in_off[i];
  for (size_t k = w->in_off[i]; k < w->in_off[i + 1]; k++) {
    int s = edge_state(w, k);
    fired += s == 1;
    dead += s == 0;
  }
  int any = graph_node_join_any(graph_node_at(w->g, i));
  if (fired > 0 && (any || fired + dead == total)) {
    nd->state = WALK_READY;
  } else if (total > 0 && dead == total) {
    nd->state = WALK_DEAD;
    propagate(w, i);
  }
}

void walk_start(struct walk *w, size_t trigger) {
  const struct graph_node *gn = graph_node_at(w->g, trigger);
  int out = graph_node_port_index(gn, "out");
  walk_done(w, trigger, out >= 0 ? 1ull << out : 0);
  /* Other triggers of the flow did not fire this run. */
  size_t nt;
  const size_t *t = graph_triggers(w->g, &nt);
  for (size_t k = 0; k < nt; k++)
    if (t[k] != trigger && w->nodes[t[k]].state == WALK_UNREACHED) {
      w->nodes[t[k]].state = WALK_DEAD;
      propagate(w, t[k]);
    }
}

long walk_next(struct walk *w) {
  size_t n;
  const size_t *order = graph_topo_order(w->g, &n);
  for (size_t k = 0; k < n; k++) {
    struct walk_node *nd = &w->nodes[order[k]];
    if (nd->state == WALK_READY) {
      nd->state = WALK_RUNNING;
      if (!(nd->flags & WALK_F_RESUME))
        nd->attempt++;
      nd->flags = 0;
      return (long)order[k];
    }
  }
  return -1;
}

void walk_done(struct walk *w, size_t i, uint64_t mask) {
  w->nodes[i].state = WALK_DONE;
  w->nodes[i].ports = mask;
  w->nodes[i].due_ms = 0;
  propagate(w, i);
}

int walk_done_port(struct walk *w, size_t i, const char *port) {
  int p = graph_node_port_index(graph_node_at(w->g, i), port);
  if (p < 0 || p >= 64)
    return ERR_INVAL;
  walk_done(w, i, 1ull << p);
  return 0;
}

void walk_wait(struct walk *w, size_t i, int64_t due_ms) {
  w->nodes[i].state = WALK_WAITING;
  w->nodes[i].due_ms = due_ms;
  w->nodes[i].flags = 0;
}

void walk_retry(struct walk *w, size_t i, int64_t due_ms) {
  walk_wait(w, i, due_ms);
  w->nodes[i].flags = WALK_F_RETRY;
}

void walk_wake(struct walk *w, size_t i) {
  struct walk_node *nd = &w->nodes[i];
  if (nd->state != WALK_WAITING)
    return;
  nd->state = WALK_READY;
  nd->flags = nd->flags & WALK_F_RETRY ? 0 : WALK_F_RESUME;
}

int walk_fail(struct walk *w, size_t i) {
  const struct graph_node *gn = graph_node_at(w->g, i);
  int p = graph_node_port_index(gn, "error");
  size_t c = 0;
  if (p >= 0)
    graph_node_successors(gn, (size_t)p, &c);
  if (p >= 0 && c > 0) {
    walk_done(w, i, 1ull << p);
    return 1;
  }
  w->nodes[i].state = WALK_FAILED;
  propagate(w, i);
  return 0;
}

/* Makes the DEAD nodes downstream of i undecided again (depth-first). */
static void revive(struct walk *w, size_t i) {
  const struct graph_node *gn = graph_node_at(w->g, i);
  for (size_t p = 0; p < graph_node_port_count(gn); p++) {
    size_t c;
    const size_t *succ = graph_node_successors(gn, p, &c);
    for (size_t k = 0; k < c; k++)
      if (w->nodes[succ[k]].state == WALK_DEAD) {
        w->nodes[succ[k]].state = WALK_UNREACHED;
        revive(w, succ[k]);
      }
  }
}

int walk_retry_failed(struct walk *w) {
  int n = 0;
  for (size_t i = 0; i < w->n; i++) {
    if (w->nodes[i].state != WALK_FAILED)
      continue;
    w->nodes[i].state = WALK_READY;
    w->nodes[i].flags = 0;
    revive(w, i);
    n++;
  }
  return n;
}

void walk_stop(struct walk *w, size_t i, int succeeded) {
  w->nodes[i].state = WALK_DONE;
  w->nodes[i].ports = 0;
  w->stopped = succeeded ? WALK_RUN_STOPPED : WALK_RUN_FAILED;
}

enum walk_run_status walk_status(const struct walk *w) {
  if (w->stopped)
    return (enum walk_run_status)w->stopped;
  int running = 0, waiting = 0;
  for (size_t i = 0; i < w->n; i++) {
    switch (w->nodes[i].state) {
    case WALK_FAILED: return WALK_RUN_FAILED;
    case WALK_READY:
    case WALK_RUNNING: running = 1; break;
    case WALK_WAITING: waiting = 1; break;
    default: break;
    }
  }
  return running ? WALK_RUN_RUNNING : waiting ? WALK_RUN_WAITING : WALK_RUN_SUCCEEDED;
}

int64_t walk_next_due(const struct walk *w) {
  int64_t due = 0;
  for (size_t i = 0; i < w->n; i++)
    if (w->nodes[i].state == WALK_WAITING && w->nodes[i].due_ms &&
        (!due || w->nodes[i].due_ms < due))
      due = w->nodes[i].due_ms;
  return due;
}

cJSON *walk_save(const struct walk *w) {
  cJSON *o = cJSON_CreateObject();
  for (size_t i = 0; o && i < w->n; i++) {
    const struct walk_node *nd = &w->nodes[i];
    if (nd->state == WALK_UNREACHED)
      continue;
    char ports[24];
    snprintf(ports, sizeof ports, "%llu", (unsigned long long)nd->ports);
    cJSON *a = cJSON_CreateArray();
    cJSON_AddItemToArray(a, cJSON_CreateNumber(nd->state));
    cJSON_AddItemToArray(a, cJSON_CreateString(ports));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(nd->attempt));
    cJSON_AddItemToArray(a, cJSON_CreateNumber((double)nd->due_ms));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(nd->flags));
    cJSON_AddItemToObject(o, graph_node_id(graph_node_at(w->g, i)), a);
  }
  if (o && w->stopped)
    cJSON_AddNumberToObject(o, "~stopped", w->stopped);
  return o;
}

int walk_load(struct walk *w, const cJSON *saved) {
  const cJSON *it;
  cJSON_ArrayForEach(it, saved) {
    if (strcmp(it->string, "~stopped") == 0) {
      w->stopped = it->valueint;
      continue;
    }
    const struct graph_node *gn = graph_find(w->g, it->string);
    if (!gn || cJSON_GetArraySize(it) < 4)
      continue;
    struct walk_node *nd = &w->nodes[graph_node_index(gn)];
    nd->state = (uint8_t)cJSON_GetArrayItem(it, 0)->valueint;
    const char *ports = cJSON_GetStringValue(cJSON_GetArrayItem(it, 1));
    nd->ports = ports ? strtoull(ports, NULL, 10) : 0;
    nd->attempt = (uint16_t)cJSON_GetArrayItem(it, 2)->valueint;
    nd->due_ms = (int64_t)cJSON_GetArrayItem(it, 3)->valuedouble;
    const cJSON *fl = cJSON_GetArrayItem(it, 4);
    nd->flags = fl ? (uint8_t)fl->valueint : 0;
    if (nd->state > WALK_FAILED)
      return ERR_PARSE;
  }
  return 0;
}
