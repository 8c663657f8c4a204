/* node: what a node type is — declarative const data plus a small vtable — and the context
 * through which a type's compile op reports problems.
 *
 * Each type lives in nodes/<group>_<name>.c and exports one `const struct node_type`; the
 * registry (nodes/registry.h) lists them all. Invariant: a node_type is immutable and shared;
 * everything a particular node of a flow needs at run time is in the state its compile op
 * builds, which the graph owns and frees with free_state. */
#ifndef FLOWD_NODE_H
#define FLOWD_NODE_H
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "graph/err.h"

struct cond;
struct tmpl;
struct step;

enum node_group {
  NODE_TRIGGER,   /* starts runs; has no incoming edges */
  NODE_CONDITION, /* chooses among its ports (branch.*) */
  NODE_ACTION,    /* has a side effect; has an error port and takes `retry` */
  NODE_CONTROL    /* shapes the run: delay, wait.event, set, stop */
};

enum node_severity { NODE_ERROR, NODE_WARNING };

/* The context of one compile call, filled by the graph. Compile ops do not touch it
 * directly; they go through the node_* helpers below. */
struct node_compile {
  const char *node_id; /* the node's id in the flow */
  const char *path;    /* JSON Pointer of the node's config in the document ("/nodes/3/config") */
  /* Receives each problem; path is absolute (ctx->path + the op's subpath). */
  void (*report)(void *ud, const char *path, const char *code, enum node_severity severity,
                 const char *message);
  void *report_ud;
  /* Answers "does staff/team/provider <id> exist": 1 yes, 0 no, negative when it cannot
   * tell (nothing is reported then). NULL: references are not checked. */
  int (*ref_exists)(void *ud, const char *kind, const char *id);
  void *ref_ud;
  enum node_severity missing_ref; /* severity of a missing reference (publish: NODE_ERROR) */
  int errors;                     /* errors reported so far through this context */
};

struct node_ops {
  /* Called once per node while a flow is parsed, only after the node's config passed its
   * JSON Schema (so every field has the declared type; defaults are NOT filled in).
   * MUST check what the schema cannot (conditions compile, constant times parse, field
   * combinations make sense, referenced staff/teams/providers exist) and report EVERY
   * problem through the node_* helpers, not just the first. MUST build into *state what the
   * executor will use (compiled conditions and templates, parsed durations); the state may
   * keep pointers into config, which the graph keeps alive as long as the state. MAY leave
   * *state NULL when the type needs none. MUST NOT do I/O or keep a pointer to ctx.
   * Returns 0, or a negative ERR_* code for a failure of its own (ERR_NOMEM) — never for a
   * problem of the flow. Whatever it stored in *state is freed with free_state, also when it
   * reported errors or failed, so the state must be freeable when only partly built. */
  int (*compile)(struct node_compile *ctx, const cJSON *config, void **state);

  /* Frees what compile built. MUST accept NULL and partly built states. */
  void (*free_state)(void *state);

  /* Optional: the ports of a node whose ports depend on its config (branch.switch). Called
   * for every node of the type before compile, also when its config broke the schema, so it
   * MUST tolerate a malformed config (skip what it cannot read). Writes up to cap names
   * (pointing into config or at static strings) and returns how many ports there are, in
   * port-index order. NULL: the ports are the type's fixed list. */
  size_t (*ports)(const cJSON *config, const char **names, size_t cap);

  /* Runs one step of a run (nodes/step.h): called by the executor when the node is ready,
   * and again when a wait it asked for ends (step_resumed() is then true). MUST report
   * exactly one outcome through step.h, now or later, and MUST NOT block: asynchronous work
   * is armed on the loop and reports when it completes. MAY ask for effects (record updates,
   * deliveries, messages) that commit together with the outcome. NULL: not executable yet
   * (the executor fails such a step with a clear error). */
  void (*execute)(struct step *s);
};

struct node_type {
  const char *name;          /* the document's "type", e.g. "action.assign" */
  enum node_group group;
  const char *title;         /* palette label, e.g. "Assign" */
  const char *description;   /* one sentence for the palette */
  const char *const *ports;  /* fixed output ports, NULL-terminated ({NULL}: none) */
  const char *dynamic_ports; /* NULL, or a JSON Pointer into config of the array whose items'
                                "port" fields name further ports, before the fixed ones */
  const char *schema;        /* path of the config schema among the embedded files */
  struct node_ops ops;
};

/* "trigger", "condition", "action" or "control". */
const char *node_group_name(enum node_group g);

/* ---- helpers for compile ops. subpath is a JSON Pointer relative to the node's config
 * ("/cases/0/when"); every helper reports its own problems and keeps going. ---- */

/* Reports one problem. code is one of graph.h's stable codes ("condition", "schema"...). */
void node_report(struct node_compile *ctx, enum node_severity severity, const char *code,
                 const char *subpath, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Compiles the condition v (NULL: *out = NULL). A rule that does not compile is reported
 * (code "condition") at subpath + the pointer inside the rule. Returns 0 or ERR_NOMEM. */
int node_compile_cond(struct node_compile *ctx, const cJSON *v, const char *subpath,
                      struct cond **out);

/* Compiles the template string v (NULL or not a string: *out = NULL); reports code
 * "template" when it does not parse. Returns 0 or ERR_NOMEM. */
int node_compile_tmpl(struct node_compile *ctx, const cJSON *v, const char *subpath,
                      struct tmpl **out);

/* Parses the duration string v into *ms (left alone when v is NULL); reports code
 * "duration". Returns 1 when it parsed, 0 otherwise. */
int node_parse_duration(struct node_compile *ctx, const cJSON *v, const char *subpath,
                        int64_t *ms);

/* Checks that the staff/team/provider id exists (kind "staff", "team", "provider").
 * Templates ("{{customer.owner_id}}") are resolved at run time and not checked. A missing
 * one is reported with code "missing_reference" at ctx->missing_ref severity. */
void node_check_ref(struct node_compile *ctx, const char *kind, const cJSON *v,
                    const char *subpath);

/* Compiles the top-level template fields names[0..] (NULL-terminated) of config into
 * out[0..]; absent fields give NULL. Returns 0 or ERR_NOMEM. */
int node_compile_fields(struct node_compile *ctx, const cJSON *config,
                        const char *const *names, struct tmpl **out);

/* Frees n templates. */
void node_free_tmpls(struct tmpl **t, size_t n);

/* A name -> value map whose string values are templates (set.values, update_record.set,
 * http.headers). name and value point into the config. */
struct node_value {
  const char *name;
  const cJSON *value;
  struct tmpl *tmpl; /* the compiled value when it is a string, else NULL */
};

/* Compiles every member of the object obj (at subpath). *out is a new array of *n entries
 * (free with node_free_values), also when problems were reported. Returns 0 or ERR_NOMEM. */
int node_compile_values(struct node_compile *ctx, const cJSON *obj, const char *subpath,
                        struct node_value **out, size_t *n);

void node_free_values(struct node_value *v, size_t n);

/* Writes a JSON Pointer segment for key (escaping ~ and /) after prefix into buf. */
const char *node_path(char *buf, size_t len, const char *prefix, const char *key);

#endif
