/* action.http: calls a URL with templated url, headers and body; the response becomes the
 * node's output. A status outside `expect` (default 2xx) or a transport failure is an error
 * (retried, then the error port). */
#include <stdint.h>
#include <stdlib.h>
#include "graph/tmpl.h"
#include "nodes/node.h"

struct state {
  struct tmpl *url;
  struct node_value *headers;
  size_t nheaders;
  const cJSON *body;  /* in the config; NULL: no body */
  struct tmpl *body_tmpl; /* when body is a string */
  int64_t timeout_ms;
};

static int compile(struct node_compile *ctx, const cJSON *config, void **out) {
  struct state *st = calloc(1, sizeof *st);
  if (!(*out = st))
    return ERR_NOMEM;
  st->timeout_ms = 10000;
  node_parse_duration(ctx, cJSON_GetObjectItemCaseSensitive(config, "timeout"), "/timeout",
                      &st->timeout_ms);
  if (st->timeout_ms <= 0)
    node_report(ctx, NODE_ERROR, "duration", "/timeout", "timeout must be longer than 0s");
  st->body = cJSON_GetObjectItemCaseSensitive(config, "body");
  int rc = node_compile_tmpl(ctx, cJSON_GetObjectItemCaseSensitive(config, "url"), "/url",
                             &st->url);
  if (!rc)
    rc = node_compile_tmpl(ctx, st->body, "/body", &st->body_tmpl);
  if (!rc)
    rc = node_compile_values(ctx, cJSON_GetObjectItemCaseSensitive(config, "headers"),
                             "/headers", &st->headers, &st->nheaders);
  return rc;
}

static void free_state(void *p) {
  struct state *st = p;
  if (!st)
    return;
  tmpl_free(st->url);
  tmpl_free(st->body_tmpl);
  node_free_values(st->headers, st->nheaders);
  free(st);
}

static const char *const ports[] = {"out", "error", NULL};

const struct node_type node_type_action_http = {
    .name = "action.http",
    .group = NODE_ACTION,
    .title = "HTTP request",
    .description = "Calls a URL; the response becomes the node's output.",
    .ports = ports,
    .schema = "schema/nodes/action.http.json",
    .ops = {.compile = compile, .free_state = free_state},
};
