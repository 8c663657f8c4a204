/* graph: a flow document (SPEC §1 Flow) parsed once into a DAG, or the list of everything
 * that is wrong with it.
 *
 * graph_parse checks the whole document and reports EVERY problem it finds, each as
 *   {"path": JSON Pointer into the document, "node": node id or null,
 *    "code": stable code, "message": one sentence, "severity": "error" | "warning"}
 * Codes: invalid_document, unknown_type, duplicate_id, edge_from_missing_node,
 * edge_from_missing_port, edge_to_missing_node, edge_into_trigger, cycle, no_trigger,
 * unreachable, schema, condition, template, duration (also constant times that do not
 * parse), cron, missing_reference. Warnings: missing_reference (unless
 * refs->missing_is_error), a repeated edge (invalid_document; it is ignored) and advisory
 * "schema" notes about a field that has no effect. Everything else is an error.
 * Problems come in stage order: header, node shapes, node configs, edges, whole graph.
 *
 * Invariant: a struct graph exists only for a document without errors; it is immutable
 * after graph_parse and owns private copies of everything it hands out (ids, port names,
 * configs, compiled node state), so the document may be freed at once and one graph may
 * serve any number of runs. Node and port indexes are stable: node i is the document's
 * nodes[i]; port p of a node is its p-th port in node_type_ports() order. */
#ifndef FLOWD_GRAPH_H
#define FLOWD_GRAPH_H
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "graph/err.h"
#include "nodes/node.h"

struct graph;
struct graph_node;

/* How references to staff, teams and providers are checked (the server answers from the
 * database). exists() is called synchronously during graph_parse, once per constant
 * reference: it should answer from memory (a set loaded beforehand), not run a query per
 * call. It returns 1 (exists), 0 (missing) or a negative ERR_* code (cannot tell: nothing
 * is reported). kind is "staff", "team" or "provider". */
struct graph_refs {
  int (*exists)(void *ud, const char *kind, const char *id);
  void *ud;
  int missing_is_error; /* publish: a missing reference is an error, not a warning */
};

/* Parses and validates doc (not taken over; nothing points into it afterwards). refs may be
 * NULL (references are not checked). *problems is always set to a new cJSON array (caller
 * frees), empty when all is well, except on ERR_NOMEM where it may be NULL. Returns 0 with
 * *out a new graph (free with graph_free) when there is no error (warnings allowed);
 * ERR_INVAL with *out NULL when the problems contain an error; ERR_NOMEM. */
int graph_parse(const cJSON *doc, const struct graph_refs *refs, struct graph **out,
                cJSON **problems);

void graph_free(struct graph *g);

/* The number of problems of severity "error" in a problems array. */
size_t graph_error_count(const cJSON *problems);

/* ---- the flow ---- */
const char *graph_id(const struct graph *g);   /* NULL when the document has none */
const char *graph_name(const struct graph *g); /* NULL when the document has none */
int graph_priority(const struct graph *g);     /* lower runs first; 100 when absent */

size_t graph_node_count(const struct graph *g);
const struct graph_node *graph_node_at(const struct graph *g, size_t i); /* NULL if i >= n */
const struct graph_node *graph_find(const struct graph *g, const char *id); /* or NULL */

/* Node indexes: every node in an order where each edge goes forward; ties keep document
 * order. */
const size_t *graph_topo_order(const struct graph *g, size_t *n);
/* Node indexes of the triggers, in document order (at least one). */
const size_t *graph_triggers(const struct graph *g, size_t *n);

/* ---- one node (pointers stay valid as long as the graph) ---- */
const char *graph_node_id(const struct graph_node *n);
size_t graph_node_index(const struct graph_node *n);
const struct node_type *graph_node_type(const struct graph_node *n);
const cJSON *graph_node_config(const struct graph_node *n); /* {} when the node had none */
const void *graph_node_state(const struct graph_node *n);   /* from type->ops.compile */
int graph_node_join_any(const struct graph_node *n); /* "join": "any": run on the first edge */
/* Actions: retries after the first attempt (0: none) and the first backoff (doubling). */
void graph_node_retry(const struct graph_node *n, int *max, int64_t *backoff_ms);

size_t graph_node_port_count(const struct graph_node *n);
const char *graph_node_port_name(const struct graph_node *n, size_t port); /* or NULL */
int graph_node_port_index(const struct graph_node *n, const char *name);  /* or -1 */
/* Node indexes the edges from port lead to, in document order of the edges. */
const size_t *graph_node_successors(const struct graph_node *n, size_t port, size_t *count);
/* Incoming edges, counted once per edge (a join waits for each to fire or die). */
size_t graph_node_in_degree(const struct graph_node *n);
/* Node index at the other end of each incoming edge (in_degree entries). */
const size_t *graph_node_predecessors(const struct graph_node *n, size_t *count);

#endif
