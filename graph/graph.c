/* graph: parses a flow document into a DAG and reports every problem of it.
 *
 * The pass runs in stages, each reporting what it finds and passing on what is usable:
 * header -> nodes (shape, id, type, config schema, compile) -> edges (ends, ports) -> adjacency
 * -> triggers -> topological order and cycles -> reachability. Edges live in compressed rows:
 * every port of every node has a global id (the node's port base + the port index), and
 * port_off[gp]..port_off[gp+1] are its targets in succ[]. Node ids are found through an
 * open-addressing hash, so the whole pass is linear in the size of the document. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/graph.h"
#include "graph/jsonschema.h"
#include "graph/timefmt.h"
#include "graph/text.h"
#include "nodes/registry.h"

#define DEFAULT_PRIORITY 100
#define DEFAULT_BACKOFF_MS 2000

enum { N_DUP = 1, N_NOID = 2 }; /* graph_node.flags */

struct graph_node {
  char *id;                     /* own copy; NULL when the document gave none */
  const struct node_type *type; /* NULL: unknown type */
  cJSON *config;                /* own copy; {} when absent */
  void *state;
  size_t index;
  int flags;
  int join_any, retry_max;
  int64_t retry_backoff_ms;
  size_t nports, port_base; /* this node's ports are global ports port_base.. */
  const char **ports;       /* into graph.port_names */
  const size_t *port_off;   /* &graph.port_off[port_base]; nports + 1 entries */
  const size_t *succ;       /* graph.succ */
  size_t in_degree;
  const size_t *preds; /* into graph.preds */
};

struct graph {
  char *id, *name;
  int priority;
  size_t n;
  struct graph_node *nodes;
  const char **port_names; /* all ports of all nodes, by global port id */
  size_t nports;
  size_t *port_off; /* nports + 1 */
  size_t *succ;     /* target node of each edge, grouped by global port */
  size_t *succ_edge; /* the document index of that edge (for messages) */
  size_t *preds, *pred_off;
  size_t *topo, *triggers;
  size_t ntopo, ntriggers;
  size_t *slots; /* id hash: node index + 1, 0 empty */
  size_t cap;
};

/* One edge whose two ends exist. port is SIZE_MAX when the port is unknown; such edges
 * count only for reachability (so that a misnamed port is one problem, not a cascade). */
struct edge {
  size_t from, to, port, k;
};

struct pctx {
  cJSON *problems;
  size_t errors;
  int nomem;
  const struct graph_refs *refs;
};

/* ---- problems ---------------------------------------------------------------------- */

static void vproblem(struct pctx *p, const char *path, const char *node, const char *code,
                     enum node_severity sev, const char *fmt, va_list ap) {
  char msg[1024];
  vsnprintf(msg, sizeof msg, fmt, ap);
  cJSON *o = cJSON_CreateObject();
  if (!o || !cJSON_AddStringToObject(o, "path", path) ||
      !(node ? cJSON_AddStringToObject(o, "node", node) : cJSON_AddNullToObject(o, "node")) ||
      !cJSON_AddStringToObject(o, "code", code) || !cJSON_AddStringToObject(o, "message", msg) ||
      !cJSON_AddStringToObject(o, "severity", sev == NODE_ERROR ? "error" : "warning") ||
      !cJSON_AddItemToArray(p->problems, o)) {
    cJSON_Delete(o);
    p->nomem = 1;
  }
  if (sev == NODE_ERROR)
    p->errors++;
}

static void problem(struct pctx *p, const char *path, const char *node, const char *code,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void problem(struct pctx *p, const char *path, const char *node, const char *code,
                    const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vproblem(p, path, node, code, NODE_ERROR, fmt, ap);
  va_end(ap);
}

static void warning(struct pctx *p, const char *path, const char *node, const char *code,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void warning(struct pctx *p, const char *path, const char *node, const char *code,
                    const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vproblem(p, path, node, code, NODE_WARNING, fmt, ap);
  va_end(ap);
}

size_t graph_error_count(const cJSON *problems) {
  size_t n = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, problems) {
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "severity"));
    n += s && !strcmp(s, "error");
  }
  return n;
}

/* ---- small helpers ------------------------------------------------------------------ */

static char *dupstr(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d)
    memcpy(d, s, n);
  return d;
}

static const cJSON *get(const cJSON *o, const char *k) {
  return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* The registered type closest to a misspelt one, or NULL. */
static const char *closest_type(const char *name) {
  const char *best = NULL;
  size_t bd = 4, len = strlen(name);
  for (size_t i = 0; i < node_type_count(); i++) {
    size_t d = text_edit_distance(name, node_type_at(i)->name);
    if (d < bd && d * 3 <= len)
      bd = d, best = node_type_at(i)->name;
  }
  return best;
}

/* ---- the id hash -------------------------------------------------------------------- */

static int hash_init(struct graph *g) {
  g->cap = 16;
  while (g->cap < g->n * 2)
    g->cap <<= 1;
  g->slots = calloc(g->cap, sizeof *g->slots);
  return g->slots ? 0 : ERR_NOMEM;
}

/* Returns the index of the node called id, or SIZE_MAX. */
static size_t hash_find(const struct graph *g, const char *id) {
  if (!g->slots || !id)
    return SIZE_MAX;
  for (size_t h = text_hash(id) & (g->cap - 1);; h = (h + 1) & (g->cap - 1)) {
    size_t s = g->slots[h];
    if (!s)
      return SIZE_MAX;
    if (!strcmp(g->nodes[s - 1].id, id))
      return s - 1;
  }
}

/* Inserts node i; returns the index of an earlier node with its id, or SIZE_MAX. */
static size_t hash_insert(struct graph *g, size_t i) {
  const char *id = g->nodes[i].id;
  size_t h = text_hash(id) & (g->cap - 1);
  for (; g->slots[h]; h = (h + 1) & (g->cap - 1))
    if (!strcmp(g->nodes[g->slots[h] - 1].id, id))
      return g->slots[h] - 1;
  g->slots[h] = i + 1;
  return SIZE_MAX;
}

/* ---- header and nodes ----------------------------------------------------------------- */

static int parse_header(struct pctx *p, struct graph *g, const cJSON *doc) {
  const cJSON *id = get(doc, "id"), *name = get(doc, "name"), *prio = get(doc, "priority");
  g->priority = DEFAULT_PRIORITY;
  if (id && !cJSON_IsString(id))
    problem(p, "/id", NULL, "invalid_document", "id must be a string");
  else if (id && !(g->id = dupstr(id->valuestring)))
    return ERR_NOMEM;
  if (name && !cJSON_IsString(name))
    problem(p, "/name", NULL, "invalid_document", "name must be a string");
  else if (name && !(g->name = dupstr(name->valuestring)))
    return ERR_NOMEM;
  double d = cJSON_IsNumber(prio) ? prio->valuedouble : 0.5;
  if (prio && !(d >= -1e9 && d <= 1e9 && d == (double)(long)d)) /* range first: no UB cast */
    problem(p, "/priority", NULL, "invalid_document",
            "priority must be an integer between -1000000000 and 1000000000");
  else if (prio)
    g->priority = (int)prio->valuedouble;
  return 0;
}

/* Paths are formatted only when there is a problem to report: most nodes have none. */
static const char *doc_node_path(char *buf, size_t len, size_t i, const char *field) {
  snprintf(buf, len, "/nodes/%zu%s%s", i, field ? "/" : "", field ? field : "");
  return buf;
}

/* Node-level fields besides config: join and position. */
static void parse_node_extras(struct pctx *p, struct graph_node *n, const cJSON *item) {
  char path[64];
  const cJSON *join = get(item, "join"), *pos = get(item, "position");
  if (join) {
    const char *j = cJSON_GetStringValue(join);
    if (j && !strcmp(j, "any"))
      n->join_any = 1;
    else if (!j || strcmp(j, "all"))
      problem(p, doc_node_path(path, sizeof path, n->index, "join"), n->id, "invalid_document",
              "join must be \"any\" (run on the first incoming edge) or \"all\" (the default)");
  }
  if (pos && !(cJSON_IsObject(pos) && cJSON_IsNumber(get(pos, "x")) &&
               cJSON_IsNumber(get(pos, "y"))))
    problem(p, doc_node_path(path, sizeof path, n->index, "position"), n->id, "invalid_document",
            "position must be an object with numbers x and y");
}

static void parse_node_type(struct pctx *p, struct graph_node *n, const cJSON *item) {
  char path[64];
  const char *type = cJSON_GetStringValue(get(item, "type"));
  if (!type) {
    problem(p, doc_node_path(path, sizeof path, n->index, "type"), n->id, "invalid_document",
            "node %s%s%sneeds a type (a string)", n->id ? "\"" : "", n->id ? n->id : "",
            n->id ? "\" " : "");
  } else if (!(n->type = node_type_find(type))) {
    const char *hint = closest_type(type);
    problem(p, doc_node_path(path, sizeof path, n->index, "type"), n->id, "unknown_type",
            "unknown node type \"%s\"%s%s%s", type, hint ? " (did you mean \"" : "",
            hint ? hint : "", hint ? "\"?)" : "");
  }
}

/* Shape, id, type, join, position; copies id and config. */
static int parse_node(struct pctx *p, struct graph *g, size_t i, const cJSON *item) {
  struct graph_node *n = &g->nodes[i];
  char path[64];
  n->index = i;
  n->flags = N_NOID;
  if (!cJSON_IsObject(item)) {
    problem(p, doc_node_path(path, sizeof path, i, NULL), NULL, "invalid_document",
            "a node must be an object");
    return 0;
  }
  const char *id = cJSON_GetStringValue(get(item, "id"));
  if (!id || !id[0]) {
    problem(p, doc_node_path(path, sizeof path, i, "id"), NULL, "invalid_document",
            "node needs an id (a non-empty string)");
  } else {
    if (!(n->id = dupstr(id)))
      return ERR_NOMEM;
    n->flags = 0;
    size_t first = hash_insert(g, i);
    if (first != SIZE_MAX) {
      n->flags |= N_DUP;
      problem(p, doc_node_path(path, sizeof path, i, "id"), id, "duplicate_id",
              "node id \"%s\" is already used by /nodes/%zu", id, first);
    }
  }
  parse_node_type(p, n, item);
  parse_node_extras(p, n, item);
  const cJSON *config = get(item, "config");
  n->config = config ? cJSON_Duplicate(config, 1) : cJSON_CreateObject();
  return n->config ? 0 : ERR_NOMEM;
}

/* Lays out every node's ports one after another in port_names. */
static int collect_ports(struct graph *g) {
  size_t total = 0;
  for (size_t i = 0; i < g->n; i++) {
    struct graph_node *n = &g->nodes[i];
    n->port_base = total;
    n->nports = n->type ? node_type_ports(n->type, n->config, NULL, 0) : 0;
    total += n->nports;
  }
  g->nports = total;
  g->port_names = calloc(total + 1, sizeof *g->port_names);
  if (!g->port_names)
    return ERR_NOMEM;
  for (size_t i = 0; i < g->n; i++) {
    struct graph_node *n = &g->nodes[i];
    n->ports = g->port_names + n->port_base;
    if (n->type)
      node_type_ports(n->type, n->config, n->ports, n->nports);
  }
  return 0;
}

/* ---- node configs: schema, then compile ------------------------------------------------ */

struct node_report_ud {
  struct pctx *p;
  const char *node;
};

/* Format failures get the code of what is wrong (a duration, a template, a cron line);
 * every other schema violation is "schema". */
static const char *schema_code(const struct jsonschema_error *e) {
  if (e->format && !strcmp(e->format, "duration"))
    return "duration";
  if (e->format && !strcmp(e->format, "template"))
    return "template";
  if (e->format && !strcmp(e->format, "cron"))
    return "cron";
  return "schema";
}

static void on_schema_error(void *ud, const struct jsonschema_error *e) {
  struct node_report_ud *r = ud;
  problem(r->p, e->path, r->node, schema_code(e), "%s", e->message);
}

static void on_compile_problem(void *ud, const char *path, const char *code,
                               enum node_severity sev, const char *message) {
  struct node_report_ud *r = ud;
  if (sev == NODE_ERROR)
    problem(r->p, path, r->node, code, "%s", message);
  else
    warning(r->p, path, r->node, code, "%s", message);
}

static int ref_exists(void *ud, const char *kind, const char *id) {
  const struct graph_refs *refs = ud;
  return refs->exists(refs->ud, kind, id);
}

/* An action's retry policy; the schema has already checked its shape. */
static void parse_retry(struct graph_node *n) {
  const cJSON *retry = get(n->config, "retry");
  n->retry_backoff_ms = DEFAULT_BACKOFF_MS;
  if (cJSON_IsNumber(get(retry, "max")))
    n->retry_max = (int)get(retry, "max")->valuedouble;
  const char *b = cJSON_GetStringValue(get(retry, "backoff"));
  if (b && duration_parse(b, &n->retry_backoff_ms, NULL) != 0)
    n->retry_backoff_ms = DEFAULT_BACKOFF_MS;
}

static int check_config(struct pctx *p, struct graph_node *n) {
  const struct jsonschema *schema = node_type_schema(n->type);
  char at[64];
  snprintf(at, sizeof at, "/nodes/%zu/config", n->index);
  struct node_report_ud ud = {p, n->id};
  if (!schema) /* node_registry_check reports this at start-up */
    return ERR_NOTFOUND;
  int rc = jsonschema_validate(schema, n->config, at, "config", on_schema_error, &ud);
  if (rc)
    return rc < 0 ? rc : 0; /* compile may rely on a config that passed its schema */
  struct node_compile ctx = {
      .node_id = n->id ? n->id : "",
      .path = at,
      .report = on_compile_problem,
      .report_ud = &ud,
      .ref_exists = p->refs && p->refs->exists ? ref_exists : NULL,
      .ref_ud = (void *)p->refs,
      .missing_ref = p->refs && p->refs->missing_is_error ? NODE_ERROR : NODE_WARNING,
  };
  rc = n->type->ops.compile(&ctx, n->config, &n->state);
  if (n->type->group == NODE_ACTION)
    parse_retry(n);
  return rc;
}

/* ---- edges ------------------------------------------------------------------------------ */

static size_t port_index(const struct graph_node *n, const char *port) {
  for (size_t i = 0; i < n->nports; i++)
    if (!strcmp(n->ports[i], port))
      return i;
  return SIZE_MAX;
}

/* "true, false" for messages. */
static void port_list(const struct graph_node *n, char *buf, size_t len) {
  buf[0] = '\0';
  for (size_t i = 0, used = 0; i < n->nports && used + 1 < len; i++) {
    snprintf(buf + used, len - used, "%s%s", i ? ", " : "", n->ports[i]);
    used = strlen(buf);
  }
}

static void report_missing_port(struct pctx *p, const struct graph_node *n, const cJSON *edge,
                                size_t k, const char *port) {
  char path[64], ports[512];
  snprintf(path, sizeof path, get(edge, "port") ? "/edges/%zu/port" : "/edges/%zu", k);
  port_list(n, ports, sizeof ports);
  if (n->nports == 0)
    problem(p, path, n->id, "edge_from_missing_port",
            "node \"%s\" (%s) has no ports: nothing can follow it", n->id, n->type->name);
  else
    problem(p, path, n->id, "edge_from_missing_port",
            "node \"%s\" (%s) has no port \"%s\"; its ports are %s", n->id, n->type->name, port,
            ports);
}

static const char *edge_path(char *buf, size_t len, size_t k, const char *field) {
  snprintf(buf, len, "/edges/%zu%s%s", k, field ? "/" : "", field ? field : "");
  return buf;
}

/* Reports a missing or unknown end of edge k; other is the node at the other end, if any. */
static void report_end(struct pctx *p, const cJSON *edge, size_t k, const char *end,
                       const char *id, const struct graph_node *other) {
  char path[64];
  edge_path(path, sizeof path, k, end);
  if (!id || !id[0])
    problem(p, path, other ? other->id : NULL, "invalid_document",
            "an edge needs %s (a node id)", end);
  else
    problem(p, path, other ? other->id : NULL,
            !strcmp(end, "from") ? "edge_from_missing_node" : "edge_to_missing_node",
            "edge %s \"%s\": there is no node \"%s\"", end, id, id);
}

/* Checks edge k; on success fills *e (port SIZE_MAX when only its ends are usable). */
static int parse_edge(struct pctx *p, const struct graph *g, const cJSON *edge, size_t k,
                      struct edge *e) {
  char path[64];
  if (!cJSON_IsObject(edge)) {
    problem(p, edge_path(path, sizeof path, k, NULL), NULL, "invalid_document",
            "an edge must be an object {from, port?, to}");
    return 0;
  }
  const cJSON *port = get(edge, "port");
  if (port && !cJSON_IsString(port)) {
    problem(p, edge_path(path, sizeof path, k, "port"), NULL, "invalid_document",
            "port must be a string");
    return 0;
  }
  const char *from_id = cJSON_GetStringValue(get(edge, "from"));
  const char *to_id = cJSON_GetStringValue(get(edge, "to"));
  size_t from = hash_find(g, from_id), to = hash_find(g, to_id);
  const struct graph_node *f = from != SIZE_MAX ? &g->nodes[from] : NULL;
  const struct graph_node *t = to != SIZE_MAX ? &g->nodes[to] : NULL;
  if (!f)
    report_end(p, edge, k, "from", from_id, t);
  if (!t)
    report_end(p, edge, k, "to", to_id, f);
  if (!f || !t)
    return 0;
  *e = (struct edge){from, to, SIZE_MAX, k};
  if (t->type && t->type->group == NODE_TRIGGER) {
    problem(p, edge_path(path, sizeof path, k, "to"), t->id, "edge_into_trigger",
            "edge into trigger \"%s\": a trigger starts runs and has no incoming edges", t->id);
    return 0;
  }
  if (!f->type) /* unknown type, already reported: its ports are unknown */
    return 1;
  const char *name = port ? port->valuestring : "out";
  e->port = port_index(f, name);
  if (e->port == SIZE_MAX)
    report_missing_port(p, f, edge, k, name);
  return 1;
}

static int cmp_edges(const void *a, const void *b) {
  const struct edge *x = a, *y = b;
  if (x->from != y->from) return x->from < y->from ? -1 : 1;
  if (x->port != y->port) return x->port < y->port ? -1 : 1;
  if (x->to != y->to) return x->to < y->to ? -1 : 1;
  return x->k < y->k ? -1 : x->k > y->k;
}

/* A second edge with the same from, port and to would make its target wait for one edge
 * twice; it is dropped with a warning. Sorting makes repeats neighbours. */
static int drop_repeated_edges(struct pctx *p, const struct graph *g, struct edge *es,
                               size_t ne) {
  struct edge *sorted = malloc((ne + 1) * sizeof *sorted);
  if (!sorted)
    return ERR_NOMEM;
  memcpy(sorted, es, ne * sizeof *es);
  qsort(sorted, ne, sizeof *sorted, cmp_edges);
  for (size_t i = 1; i < ne; i++) {
    const struct edge *a = &sorted[i - 1], *b = &sorted[i];
    if (b->port == SIZE_MAX || a->from != b->from || a->port != b->port || a->to != b->to)
      continue;
    char path[48];
    snprintf(path, sizeof path, "/edges/%zu", b->k);
    warning(p, path, g->nodes[b->from].id, "invalid_document",
            "this edge repeats /edges/%zu and is ignored", a->k);
    for (size_t j = 0; j < ne; j++) /* rare: a linear search is fine */
      if (es[j].k == b->k)
        es[j].port = SIZE_MAX;
  }
  free(sorted);
  return 0;
}

/* Fills port_off/succ/succ_edge (edges with a known port) and in-degrees/predecessors. */
static int build_adjacency(struct graph *g, const struct edge *es, size_t ne) {
  g->port_off = calloc(g->nports + 2, sizeof *g->port_off);
  g->pred_off = calloc(g->n + 2, sizeof *g->pred_off);
  g->succ = malloc((ne + 1) * sizeof *g->succ);
  g->succ_edge = malloc((ne + 1) * sizeof *g->succ_edge);
  g->preds = malloc((ne + 1) * sizeof *g->preds);
  if (!g->port_off || !g->pred_off || !g->succ || !g->succ_edge || !g->preds)
    return ERR_NOMEM;
  for (size_t i = 0; i < ne; i++)
    if (es[i].port != SIZE_MAX) {
      g->port_off[g->nodes[es[i].from].port_base + es[i].port + 1]++;
      g->pred_off[es[i].to + 1]++;
    }
  for (size_t i = 0; i < g->nports; i++)
    g->port_off[i + 1] += g->port_off[i];
  for (size_t i = 0; i < g->n; i++)
    g->pred_off[i + 1] += g->pred_off[i];
  size_t *fill = calloc(g->nports + g->n + 1, sizeof *fill);
  if (!fill)
    return ERR_NOMEM;
  for (size_t i = 0; i < ne; i++) { /* document order within each port */
    if (es[i].port == SIZE_MAX)
      continue;
    size_t gp = g->nodes[es[i].from].port_base + es[i].port, at = g->port_off[gp] + fill[gp]++;
    g->succ[at] = es[i].to;
    g->succ_edge[at] = es[i].k;
    g->preds[g->pred_off[es[i].to] + fill[g->nports + es[i].to]++] = es[i].from;
  }
  free(fill);
  for (size_t i = 0; i < g->n; i++) {
    struct graph_node *n = &g->nodes[i];
    n->port_off = g->port_off + n->port_base;
    n->succ = g->succ;
    n->preds = g->preds + g->pred_off[i];
    n->in_degree = g->pred_off[i + 1] - g->pred_off[i];
  }
  return 0;
}

/* Every edge whose ends exist, by source: what reachability follows. */
struct reach {
  size_t *off, *to;
};

static int build_reach(const struct graph *g, const struct edge *es, size_t ne,
                       struct reach *r) {
  r->off = calloc(g->n + 2, sizeof *r->off);
  r->to = malloc((ne + 1) * sizeof *r->to);
  size_t *fill = calloc(g->n + 1, sizeof *fill);
  int rc = r->off && r->to && fill ? 0 : ERR_NOMEM;
  for (size_t i = 0; !rc && i < ne; i++)
    r->off[es[i].from + 1]++;
  for (size_t i = 0; !rc && i < g->n; i++)
    r->off[i + 1] += r->off[i];
  for (size_t i = 0; !rc && i < ne; i++)
    r->to[r->off[es[i].from] + fill[es[i].from]++] = es[i].to;
  free(fill);
  return rc;
}

/* ---- triggers, order, cycles, reachability --------------------------------------------- */

static int usable(const struct graph_node *n) { return !(n->flags & (N_DUP | N_NOID)); }

static int find_triggers(struct pctx *p, struct graph *g) {
  if (!(g->triggers = malloc((g->n + 1) * sizeof *g->triggers)))
    return ERR_NOMEM;
  for (size_t i = 0; i < g->n; i++)
    if (g->nodes[i].type && g->nodes[i].type->group == NODE_TRIGGER && usable(&g->nodes[i]))
      g->triggers[g->ntriggers++] = i;
  if (!g->ntriggers)
    problem(p, "/nodes", NULL, "no_trigger",
            "the flow has no trigger; add one (trigger.record, trigger.event, "
            "trigger.schedule or trigger.manual)");
  return 0;
}

/* Successors of node i over all its ports: succ[first..last). */
static void node_succ_range(const struct graph *g, size_t i, size_t *first, size_t *last) {
  const struct graph_node *n = &g->nodes[i];
  *first = g->port_off[n->port_base];
  *last = g->port_off[n->port_base + n->nports];
}

/* Kahn's algorithm seeded in document order; returns 1 when every node got a place. */
static int topo_sort(struct graph *g) {
  size_t *indeg = malloc((g->n + 1) * sizeof *indeg);
  g->topo = malloc((g->n + 1) * sizeof *g->topo);
  if (!indeg || !g->topo) {
    free(indeg);
    return ERR_NOMEM;
  }
  for (size_t i = 0; i < g->n; i++)
    if (!(indeg[i] = g->nodes[i].in_degree))
      g->topo[g->ntopo++] = i;
  for (size_t head = 0; head < g->ntopo; head++) {
    size_t first, last;
    node_succ_range(g, g->topo[head], &first, &last);
    for (size_t e = first; e < last; e++)
      if (--indeg[g->succ[e]] == 0)
        g->topo[g->ntopo++] = g->succ[e];
  }
  free(indeg);
  return g->ntopo == g->n;
}

struct tarjan {
  size_t *index, *low, *stack, *call, *pos, *comp, *parent, *queue, *walk;
  unsigned char *on;
  size_t counter, sp, ncomp;
};

/* Names one cycle of the strongly connected component comp (members[0..count)): the
 * shortest way from its first node (in document order) back to itself, found by BFS. */
static void report_cycle(struct pctx *p, const struct graph *g, struct tarjan *t,
                         const size_t *members, size_t count) {
  size_t s = members[0], comp = t->comp[s], head = 0, tail = 0, close_u = SIZE_MAX, close_k = 0;
  for (size_t i = 1; i < count; i++)
    if (members[i] < s)
      s = members[i];
  for (size_t i = 0; i < count; i++)
    t->parent[members[i]] = SIZE_MAX;
  t->queue[tail++] = s;
  t->parent[s] = s;
  while (head < tail && close_u == SIZE_MAX) {
    size_t u = t->queue[head++], first, last;
    node_succ_range(g, u, &first, &last);
    for (size_t e = first; e < last && close_u == SIZE_MAX; e++) {
      size_t w = g->succ[e];
      if (w == s)
        close_u = u, close_k = g->succ_edge[e];
      else if (t->comp[w] == comp && t->parent[w] == SIZE_MAX)
        t->parent[w] = u, t->queue[tail++] = w;
    }
  }
  /* Walk back from close_u to s, then print forwards. */
  size_t len = 0;
  for (size_t v = close_u;; v = t->parent[v]) {
    t->walk[len++] = v;
    if (v == s)
      break;
  }
  char msg[900] = "cycle: ", path[48];
  for (size_t i = len; i-- > 0;) {
    size_t used = strlen(msg);
    snprintf(msg + used, sizeof msg - used, "%s -> ", g->nodes[t->walk[i]].id);
  }
  size_t used = strlen(msg);
  snprintf(msg + used, sizeof msg - used, "%s", g->nodes[s].id);
  if (count > len) {
    used = strlen(msg);
    snprintf(msg + used, sizeof msg - used, " (%zu nodes in all loop through each other)",
             count);
  }
  snprintf(path, sizeof path, "/edges/%zu", close_k);
  problem(p, path, g->nodes[s].id, "cycle", "%s", msg);
}

/* Pops the component rooted at v off the Tarjan stack and reports it when it loops. */
static void pop_component(struct pctx *p, const struct graph *g, struct tarjan *t, size_t v) {
  size_t j = t->sp;
  do
    t->on[t->stack[--j]] = 0, t->comp[t->stack[j]] = t->ncomp;
  while (t->stack[j] != v);
  size_t count = t->sp - j, first, last;
  int self_loop = 0;
  node_succ_range(g, v, &first, &last);
  for (size_t e = first; e < last; e++)
    self_loop |= g->succ[e] == v;
  if (count > 1 || self_loop)
    report_cycle(p, g, t, t->stack + j, count);
  t->sp = j;
  t->ncomp++;
}

static void tarjan_visit(struct tarjan *t, const struct graph *g, size_t v, size_t *depth) {
  t->index[v] = t->low[v] = t->counter++;
  t->stack[t->sp++] = v;
  t->on[v] = 1;
  size_t last;
  t->call[*depth] = v;
  node_succ_range(g, v, &t->pos[*depth], &last);
  (*depth)++;
}

/* Tarjan's strongly connected components, iteratively (flows can be deep). */
static void tarjan_run(struct pctx *p, const struct graph *g, struct tarjan *t) {
  for (size_t i = 0; i < g->n; i++)
    t->index[i] = SIZE_MAX;
  for (size_t s = 0; s < g->n; s++) {
    if (t->index[s] != SIZE_MAX)
      continue;
    size_t depth = 0;
    tarjan_visit(t, g, s, &depth);
    while (depth) {
      size_t v = t->call[depth - 1], first, last;
      node_succ_range(g, v, &first, &last);
      if (t->pos[depth - 1] < last) {
        size_t w = g->succ[t->pos[depth - 1]++];
        if (t->index[w] == SIZE_MAX)
          tarjan_visit(t, g, w, &depth);
        else if (t->on[w] && t->index[w] < t->low[v])
          t->low[v] = t->index[w];
        continue;
      }
      if (t->low[v] == t->index[v])
        pop_component(p, g, t, v);
      if (--depth) {
        size_t u = t->call[depth - 1];
        if (t->low[v] < t->low[u])
          t->low[u] = t->low[v];
      }
    }
  }
}

static int find_cycles(struct pctx *p, const struct graph *g) {
  struct tarjan t = {0};
  size_t n = g->n + 1;
  size_t **arrays[] = {&t.index, &t.low, &t.stack, &t.call, &t.pos,
                       &t.comp,  &t.parent, &t.queue, &t.walk};
  int rc = 0;
  for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
    if (!(*arrays[i] = malloc(n * sizeof **arrays[i])))
      rc = ERR_NOMEM;
  if (!(t.on = calloc(n, 1)))
    rc = ERR_NOMEM;
  if (!rc)
    tarjan_run(p, g, &t);
  for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
    free(*arrays[i]);
  free(t.on);
  return rc;
}

static int check_reachable(struct pctx *p, const struct graph *g, const struct reach *r) {
  if (!g->ntriggers)
    return 0; /* "no trigger" says it all */
  unsigned char *seen = calloc(g->n + 1, 1);
  size_t *queue = malloc((g->n + 1) * sizeof *queue), tail = 0;
  if (!seen || !queue) {
    free(seen);
    free(queue);
    return ERR_NOMEM;
  }
  for (size_t i = 0; i < g->ntriggers; i++)
    seen[g->triggers[i]] = 1, queue[tail++] = g->triggers[i];
  for (size_t head = 0; head < tail; head++)
    for (size_t e = r->off[queue[head]]; e < r->off[queue[head] + 1]; e++)
      if (!seen[r->to[e]])
        seen[r->to[e]] = 1, queue[tail++] = r->to[e];
  for (size_t i = 0; i < g->n; i++) {
    if (seen[i] || !usable(&g->nodes[i]))
      continue;
    char path[48];
    snprintf(path, sizeof path, "/nodes/%zu", i);
    problem(p, path, g->nodes[i].id, "unreachable",
            "node \"%s\" is not reachable from any trigger, so it would never run",
            g->nodes[i].id);
  }
  free(seen);
  free(queue);
  return 0;
}

/* ---- the pass ------------------------------------------------------------------------- */

static int parse_nodes(struct pctx *p, struct graph *g, const cJSON *nodes) {
  g->n = (size_t)cJSON_GetArraySize(nodes);
  g->nodes = calloc(g->n + 1, sizeof *g->nodes);
  if (!g->nodes || hash_init(g))
    return ERR_NOMEM;
  size_t i = 0;
  const cJSON *item;
  cJSON_ArrayForEach(item, nodes) {
    int rc = parse_node(p, g, i++, item);
    if (rc)
      return rc;
  }
  int rc = collect_ports(g);
  for (i = 0; !rc && i < g->n; i++)
    if (g->nodes[i].type)
      rc = check_config(p, &g->nodes[i]);
  return rc;
}

static int parse_edges(struct pctx *p, struct graph *g, const cJSON *edges, struct reach *r) {
  size_t ne = 0, k = 0;
  struct edge *es = malloc(((size_t)cJSON_GetArraySize(edges) + 1) * sizeof *es);
  if (!es)
    return ERR_NOMEM;
  const cJSON *edge;
  cJSON_ArrayForEach(edge, edges) {
    if (parse_edge(p, g, edge, k++, &es[ne]))
      ne++;
  }
  int rc = drop_repeated_edges(p, g, es, ne);
  if (!rc)
    rc = build_adjacency(g, es, ne);
  if (!rc)
    rc = build_reach(g, es, ne, r);
  free(es);
  return rc;
}

static int parse_document(struct pctx *p, struct graph *g, const cJSON *doc) {
  if (!cJSON_IsObject(doc)) {
    problem(p, "", NULL, "invalid_document", "a flow must be a JSON object");
    return 0;
  }
  const cJSON *nodes = get(doc, "nodes"), *edges = get(doc, "edges");
  int rc = parse_header(p, g, doc);
  if (rc)
    return rc;
  if (!cJSON_IsArray(nodes)) {
    problem(p, "/nodes", NULL, "invalid_document",
            nodes ? "nodes must be an array" : "a flow needs nodes (an array)");
    return 0;
  }
  if (edges && !cJSON_IsArray(edges)) {
    problem(p, "/edges", NULL, "invalid_document", "edges must be an array");
    edges = NULL;
  }
  struct reach r = {0};
  rc = parse_nodes(p, g, nodes);
  if (!rc)
    rc = parse_edges(p, g, edges, &r);
  if (!rc)
    rc = find_triggers(p, g);
  if (!rc) {
    int complete = topo_sort(g); /* nodes left out of the order sit on or behind a cycle */
    rc = complete < 0 ? complete : complete ? 0 : find_cycles(p, g);
  }
  if (!rc)
    rc = check_reachable(p, g, &r);
  free(r.off);
  free(r.to);
  return rc;
}

int graph_parse(const cJSON *doc, const struct graph_refs *refs, struct graph **out,
                cJSON **problems) {
  *out = NULL;
  struct pctx p = {.problems = cJSON_CreateArray(), .refs = refs};
  *problems = p.problems;
  struct graph *g = p.problems ? calloc(1, sizeof *g) : NULL;
  if (!g)
    return ERR_NOMEM;
  int rc = parse_document(&p, g, doc);
  if (!rc && p.nomem)
    rc = ERR_NOMEM;
  if (!rc && p.errors)
    rc = ERR_INVAL;
  if (rc) {
    graph_free(g);
    return rc;
  }
  *out = g;
  return 0;
}

void graph_free(struct graph *g) {
  if (!g)
    return;
  for (size_t i = 0; g->nodes && i < g->n; i++) {
    struct graph_node *n = &g->nodes[i];
    if (n->type)
      n->type->ops.free_state(n->state);
    cJSON_Delete(n->config);
    free(n->id);
  }
  free(g->nodes);
  free(g->id);
  free(g->name);
  free(g->port_names);
  free(g->port_off);
  free(g->succ);
  free(g->succ_edge);
  free(g->preds);
  free(g->pred_off);
  free(g->topo);
  free(g->triggers);
  free(g->slots);
  free(g);
}

/* ---- accessors -------------------------------------------------------------------------- */

const char *graph_id(const struct graph *g) { return g->id; }
const char *graph_name(const struct graph *g) { return g->name; }
int graph_priority(const struct graph *g) { return g->priority; }
size_t graph_node_count(const struct graph *g) { return g->n; }

const struct graph_node *graph_node_at(const struct graph *g, size_t i) {
  return i < g->n ? &g->nodes[i] : NULL;
}

const struct graph_node *graph_find(const struct graph *g, const char *id) {
  size_t i = hash_find(g, id);
  return i == SIZE_MAX ? NULL : &g->nodes[i];
}

const size_t *graph_topo_order(const struct graph *g, size_t *n) {
  *n = g->ntopo;
  return g->topo;
}

const size_t *graph_triggers(const struct graph *g, size_t *n) {
  *n = g->ntriggers;
  return g->triggers;
}

const char *graph_node_id(const struct graph_node *n) { return n->id; }
size_t graph_node_index(const struct graph_node *n) { return n->index; }
const struct node_type *graph_node_type(const struct graph_node *n) { return n->type; }
const cJSON *graph_node_config(const struct graph_node *n) { return n->config; }
const void *graph_node_state(const struct graph_node *n) { return n->state; }
int graph_node_join_any(const struct graph_node *n) { return n->join_any; }

void graph_node_retry(const struct graph_node *n, int *max, int64_t *backoff_ms) {
  *max = n->retry_max;
  *backoff_ms = n->retry_backoff_ms;
}

size_t graph_node_port_count(const struct graph_node *n) { return n->nports; }

const char *graph_node_port_name(const struct graph_node *n, size_t port) {
  return port < n->nports ? n->ports[port] : NULL;
}

int graph_node_port_index(const struct graph_node *n, const char *name) {
  size_t i = name ? port_index(n, name) : SIZE_MAX;
  return i == SIZE_MAX ? -1 : (int)i;
}

const size_t *graph_node_successors(const struct graph_node *n, size_t port, size_t *count) {
  if (port >= n->nports) {
    *count = 0;
    return NULL;
  }
  *count = n->port_off[port + 1] - n->port_off[port];
  return n->succ + n->port_off[port];
}

size_t graph_node_in_degree(const struct graph_node *n) { return n->in_degree; }

const size_t *graph_node_predecessors(const struct graph_node *n, size_t *count) {
  *count = n->in_degree;
  return n->preds;
}
