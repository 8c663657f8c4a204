/* branch.switch: one port per case plus "default". With match "first" the first case whose
 * `when` holds fires; with "all" every such case does; default fires when none does.
 * Port index i < ncases is case i; index ncases is default. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/cond.h"
#include "nodes/node.h"
#include "nodes/render.h"
#include "nodes/step.h"

struct state {
  int match_all;
  size_t ncases;
  struct cond **when; /* when[i] of case i */
};

static size_t ports(const cJSON *config, const char **names, size_t cap) {
  size_t n = 0;
  const cJSON *c, *cases = cJSON_GetObjectItemCaseSensitive(config, "cases");
  if (cJSON_IsArray(cases))
    cJSON_ArrayForEach(c, cases) {
      const char *port = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "port"));
      if (!port)
        continue; /* malformed: the schema reports it */
      if (n < cap)
        names[n] = port;
      n++;
    }
  if (n < cap)
    names[n] = "default";
  return n + 1;
}

/* Case ports must be unique and must not shadow the default port. */
static void check_port(struct node_compile *ctx, const cJSON *cases, size_t i,
                       const char *port) {
  char at[64];
  if (!port)
    return; /* the schema requires it; nothing to compare without one */
  snprintf(at, sizeof at, "/cases/%zu/port", i);
  if (!strcmp(port, "default")) {
    node_report(ctx, NODE_ERROR, "schema", at,
                "cases[%zu].port: \"default\" is the port taken when no case matches", i);
    return;
  }
  size_t j = 0;
  const cJSON *c;
  cJSON_ArrayForEach(c, cases) {
    if (j == i)
      break;
    const char *other = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "port"));
    if (other && !strcmp(other, port)) {
      node_report(ctx, NODE_ERROR, "schema", at,
                  "cases[%zu].port: \"%s\" is already the port of cases[%zu]", i, port, j);
      return;
    }
    j++;
  }
}

static int compile(struct node_compile *ctx, const cJSON *config, void **out) {
  struct state *st = calloc(1, sizeof *st);
  if (!(*out = st))
    return ERR_NOMEM;
  const char *match = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(config, "match"));
  st->match_all = match && !strcmp(match, "all");
  const cJSON *c, *cases = cJSON_GetObjectItemCaseSensitive(config, "cases");
  if (!(st->when = calloc((size_t)cJSON_GetArraySize(cases) + 1, sizeof *st->when)))
    return ERR_NOMEM;
  cJSON_ArrayForEach(c, cases) {
    char at[64];
    snprintf(at, sizeof at, "/cases/%zu/when", st->ncases);
    check_port(ctx, cases, st->ncases,
               cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "port")));
    int rc = node_compile_cond(ctx, cJSON_GetObjectItemCaseSensitive(c, "when"), at,
                               &st->when[st->ncases++]);
    if (rc)
      return rc;
  }
  return 0;
}

static void free_state(void *p) {
  struct state *st = p;
  if (!st)
    return;
  for (size_t i = 0; i < st->ncases; i++)
    cond_free(st->when[i]);
  free(st->when);
  free(st);
}

static const char *const fixed_ports[] = {"default", NULL};

/* Takes the port of the first matching case ("match": "first"), or of every matching case
 * ("all"); "default" when none matches. */
static void execute(struct step *s) {
  const struct state *st = step_state(s);
  const cJSON *cases = cJSON_GetObjectItemCaseSensitive(step_config(s), "cases");
  const char *ports[65];
  size_t n = 0;
  cJSON *matched = cJSON_CreateArray();
  for (size_t i = 0; i < st->ncases && n < 64; i++) {
    int ok = node_test(s, st->when[i], NULL, "cases");
    if (ok < 0) {
      cJSON_Delete(matched);
      return;
    }
    if (!ok)
      continue;
    ports[n] = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cases, (int)i), "port"));
    cJSON_AddItemToArray(matched, cJSON_CreateString(ports[n]));
    n++;
    if (!st->match_all)
      break;
  }
  if (n == 0) {
    ports[n++] = "default";
    cJSON_AddItemToArray(matched, cJSON_CreateString("default"));
  }
  ports[n] = NULL;
  cJSON *out = cJSON_CreateObject();
  cJSON_AddItemToObject(out, "ports", matched);
  step_done_ports(s, ports, out);
}

const struct node_type node_type_branch_switch = {
    .name = "branch.switch",
    .group = NODE_CONDITION,
    .title = "Switch",
    .description = "Takes the port of the first matching case (or of every matching case), "
                   "else default.",
    .ports = fixed_ports,
    .dynamic_ports = "/cases",
    .schema = "schema/nodes/branch.switch.json",
    .ops = {.compile = compile, .free_state = free_state, .ports = ports, .execute = execute},
};
