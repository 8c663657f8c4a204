/* registry: the one table of every node type, their compiled config schemas, and the
 * catalog the editor builds its palette and forms from (GET /api/node-types).
 *
 * Invariant: the table is const and complete at compile time; the compiled schemas are
 * built once (on first use, thread-safely) and live until the process exits. */
#ifndef FLOWD_REGISTRY_H
#define FLOWD_REGISTRY_H
#include <stddef.h>
#include <cjson/cJSON.h>
#include "graph/err.h"
#include "nodes/node.h"

struct jsonschema;

/* Checks the table at start-up: unique names, required fields and ops, an "error" port on
 * every action, a schema that is embedded, compiles, describes an object and (for actions)
 * has `retry`. Returns 0, or a negative ERR_* code with detail (may be NULL) naming the type
 * in path and the fault in msg. */
int node_registry_check(struct err_detail *detail);

/* The same check over any table of n types (the tests feed it broken ones). */
int node_registry_check_types(const struct node_type *const *table, size_t n,
                              struct err_detail *detail);

/* Number of types, and the i-th (i < node_type_count()), in registry order. */
size_t node_type_count(void);
const struct node_type *node_type_at(size_t i);

/* The type called name, or NULL. */
const struct node_type *node_type_find(const char *name);

/* The compiled config schema of t (owned by the registry), or NULL when it failed to load
 * (node_registry_check says why). */
const struct jsonschema *node_type_schema(const struct node_type *t);

/* The ports of a node of type t with this config: t->ops.ports when the type has dynamic
 * ports, else its fixed list. Same contract as node_ops.ports. */
size_t node_type_ports(const struct node_type *t, const cJSON *config, const char **names,
                       size_t cap);

/* Returns a new cJSON array (caller frees) with one entry per type:
 * {name, group, title, description, ports, dynamic_ports?, schema}. NULL on failure. */
cJSON *node_catalog_json(void);

#endif
