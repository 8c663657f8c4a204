/* action.http: calls a URL (a webhook) with templated url, headers and body, through the
 * outbox like every other outbound message, so a call is made once per step whatever crashes
 * (and retried with the node's own policy, one Idempotency-Key for all attempts). Every
 * string inside a JSON body is a template, like a provider's body; a string body is one
 * template sent as it is. The response ({status, headers, body parsed when it is JSON,
 * duration_ms}) becomes the node's output. A status outside `expect` (default 2xx), a
 * timeout or a transport failure is an error: retried, then the error port. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "graph/tmpl.h"
#include "nodes/node.h"
#include "nodes/outbound.h"
#include "nodes/render.h"
#include "nodes/step.h"
#include "server/outbox.h"

#define DEFAULT_TIMEOUT_MS 10000

struct state {
  const char *method;  /* in the config; default POST */
  struct tmpl *url;
  struct node_value *headers;
  size_t nheaders;
  const cJSON *body;   /* in the config; NULL: no body */
  struct tmpl **body_t; /* the body's strings in depth-first order */
  size_t nbody;
  const cJSON *expect; /* in the config; NULL: 2xx */
  int64_t timeout_ms;
};

static int is_http_url(const char *s) {
  return !strncasecmp(s, "http://", 7) || !strncasecmp(s, "https://", 8);
}

static size_t count_strings(const cJSON *v) {
  if (cJSON_IsString(v))
    return 1;
  size_t n = 0;
  const cJSON *c;
  cJSON_ArrayForEach(c, v) n += count_strings(c);
  return n;
}

/* Compiles every string inside v (at path) into st->body_t, depth first. */
static int compile_body(struct node_compile *ctx, const cJSON *v, const char *path,
                        struct state *st) {
  if (cJSON_IsString(v))
    return node_compile_tmpl(ctx, v, path, &st->body_t[st->nbody++]);
  const cJSON *c;
  int i = 0, rc = 0;
  cJSON_ArrayForEach(c, v) {
    char at[512], index[24];
    snprintf(index, sizeof index, "%d", i++);
    node_path(at, sizeof at, path, cJSON_IsArray(v) ? index : c->string);
    if ((rc = compile_body(ctx, c, at, st)) != 0)
      break;
  }
  return rc;
}

static int compile(struct node_compile *ctx, const cJSON *config, void **out) {
  struct state *st = calloc(1, sizeof *st);
  if (!(*out = st))
    return ERR_NOMEM;
  st->method = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(config, "method"));
  st->expect = cJSON_GetObjectItemCaseSensitive(config, "expect");
  st->timeout_ms = DEFAULT_TIMEOUT_MS;
  node_parse_duration(ctx, cJSON_GetObjectItemCaseSensitive(config, "timeout"), "/timeout",
                      &st->timeout_ms);
  if (st->timeout_ms <= 0)
    node_report(ctx, NODE_ERROR, "duration", "/timeout", "timeout must be longer than 0s");
  st->body = cJSON_GetObjectItemCaseSensitive(config, "body");
  size_t n = count_strings(st->body);
  if (n && !(st->body_t = calloc(n, sizeof *st->body_t)))
    return ERR_NOMEM;
  const cJSON *url = cJSON_GetObjectItemCaseSensitive(config, "url");
  int rc = node_compile_tmpl(ctx, url, "/url", &st->url);
  if (!rc && st->url && tmpl_is_constant(st->url) && !is_http_url(url->valuestring))
    node_report(ctx, NODE_ERROR, "schema", "/url", "url \"%s\" is not an http or https URL",
                url->valuestring);
  if (!rc)
    rc = compile_body(ctx, st->body, "/body", st);
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
  node_free_tmpls(st->body_t, st->nbody);
  free(st->body_t);
  node_free_values(st->headers, st->nheaders);
  free(st);
}

static const char *const ports[] = {"out", "error", NULL};

/* Renders every string inside v (a copy of the body) in place, in compile's order. Returns
 * 0, or -1 after failing the step. */
static int render_body(struct step *s, const struct state *st, cJSON *v, size_t *i) {
  if (cJSON_IsString(v)) {
    char *text = node_render(s, st->body_t[(*i)++], "body");
    int ok = text && cJSON_SetValuestring(v, text);
    if (text && !ok)
      step_fail(s, 0, "body: out of memory");
    free(text);
    return ok ? 0 : -1;
  }
  cJSON *c;
  cJSON_ArrayForEach(c, v) {
    if (render_body(s, st, c, i) != 0)
      return -1;
  }
  return 0;
}

/* The webhook request of SPEC's action.http (see outbox.h), or NULL after failing the step. */
static cJSON *render_request(struct step *s, const struct state *st) {
  char *url = node_render(s, st->url, "url");
  if (!url)
    return NULL;
  if (!is_http_url(url)) {
    step_fail(s, 0, "url \"%.300s\" is not an http or https URL", url);
    free(url);
    return NULL;
  }
  cJSON *req = cJSON_CreateObject();
  cJSON_AddStringToObject(req, "method", st->method ? st->method : "POST");
  cJSON_AddStringToObject(req, "url", url);
  free(url);
  cJSON *headers = node_render_values(s, st->headers, st->nheaders);
  cJSON *body = st->body ? cJSON_Duplicate(st->body, 1) : NULL;
  size_t i = 0;
  if (!headers || (body && render_body(s, st, body, &i) != 0)) {
    cJSON_Delete(headers);
    cJSON_Delete(body);
    cJSON_Delete(req);
    return NULL;
  }
  cJSON_AddItemToObject(req, "headers", headers);
  if (body)
    cJSON_AddItemToObject(req, "body", body);
  cJSON_AddNumberToObject(req, "timeout_ms", (double)st->timeout_ms);
  cJSON_AddItemToObject(req, "expect", st->expect ? cJSON_Duplicate(st->expect, 1)
                                                  : cJSON_CreateStringArray(
                                                        (const char *const[]){"2xx"}, 1));
  return req;
}

/* The output of a call that succeeded: the response, plus which delivery carried it. */
static cJSON *shape(const cJSON *what, const cJSON *d) {
  const cJSON *resp = cJSON_GetObjectItemCaseSensitive(d, "response");
  cJSON *out = cJSON_IsObject(resp) ? cJSON_Duplicate(resp, 1) : cJSON_CreateObject();
  cJSON_AddItemToObject(out, "delivery_id",
                        cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(d, "id"), 1));
  cJSON_AddItemToObject(out, "attempts",
                        cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(d, "attempts"), 1));
  cJSON *req = cJSON_AddObjectToObject(out, "request");
  static const char *const keep[] = {"method", "url"};
  for (size_t k = 0; k < 2; k++)
    cJSON_AddItemToObject(req, keep[k],
                          cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(what, keep[k]), 1));
  return out;
}

/* First execution: render the request, queue it and wait for its delivery; resumed: the
 * delivery's final status decides (outbound_resume), its response becomes the output. */
static void execute(struct step *s) {
  const struct state *st = step_state(s);
  if (outbound_resume(s, shape))
    return;
  cJSON *req = render_request(s, st);
  if (!req)
    return;
  cJSON *what = cJSON_Duplicate(req, 1);
  cJSON_AddStringToObject(what, "channel", "webhook");
  struct outbox_item it = {.channel = "webhook",
                           .to = cJSON_GetStringValue(cJSON_GetObjectItem(req, "url")),
                           .request = req};
  outbound_send(s, &it, what);
  cJSON_Delete(req);
}

const struct node_type node_type_action_http = {
    .name = "action.http",
    .group = NODE_ACTION,
    .title = "HTTP request",
    .description = "Calls a URL; the response becomes the node's output.",
    .ports = ports,
    .schema = "schema/nodes/action.http.json",
    .ops = {.compile = compile, .free_state = free_state, .execute = execute},
};
