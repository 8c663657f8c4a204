/* fuzz_targets: the bodies of the libFuzzer targets (see fuzz_targets.h).
 *
 * Inputs reach each module the way they do in the server: JSON text first passes the
 * request-body limits (http_json_limits) and cJSON, exactly as http_body_json does, so a
 * finding is one a client could trigger. Built with -DFLOWD_FUZZ_TARGET=fuzz_<name>, this
 * file also defines libFuzzer's entry point for that one target. */
#include <stdlib.h>
#include <string.h>
#include "graph/cond.h"
#include "graph/domain.h"
#include "graph/graph.h"
#include "graph/tmpl.h"
#include "server/http.h"
#include "server/intake.h"
#include "tests/fuzz/fuzz_targets.h"

const struct fuzz_target fuzz_targets[] = {
    {"graph", fuzz_graph},   {"cond", fuzz_cond},     {"domain", fuzz_domain},
    {"tmpl", fuzz_tmpl},     {"intake", fuzz_intake}, {NULL, NULL},
};

/* The body as the server would hand it to a handler, or NULL. */
static cJSON *parse_body(const uint8_t *data, size_t size) {
  size_t off;
  if (http_json_limits((const char *)data, size, &off) != 0)
    return NULL;
  char *text = malloc(size + 1);
  if (!text)
    return NULL;
  memcpy(text, data, size);
  text[size] = '\0';
  cJSON *doc = cJSON_ParseWithLengthOpts(text, size + 1, NULL, 1);
  free(text);
  return doc;
}

/* References exist or not by a rule of their own, so both answers are explored. */
static int refs_exist(void *ud, const char *kind, const char *id) {
  (void)ud;
  (void)kind;
  return strlen(id) % 3 != 0;
}

int fuzz_graph(const uint8_t *data, size_t size) {
  cJSON *doc = parse_body(data, size);
  if (!doc)
    return 0;
  struct graph_refs refs = {refs_exist, NULL, size % 2};
  struct graph *g = NULL;
  cJSON *problems = NULL;
  if (graph_parse(doc, size % 4 < 2 ? &refs : NULL, &g, &problems) == 0) {
    size_t n;
    graph_topo_order(g, &n);
    for (size_t i = 0; i < graph_node_count(g); i++)
      graph_node_in_degree(graph_node_at(g, i));
    graph_free(g);
  }
  graph_error_count(problems);
  cJSON_Delete(problems);
  cJSON_Delete(doc);
  return 0;
}

/* The scope conditions and templates see when the input brings none. */
static cJSON *default_scope(void) {
  return cJSON_Parse(
      "{\"order\":{\"id\":\"DH42\",\"amount\":150000,\"status\":\"new\",\"source\":\"website\","
      "\"items\":[{\"sku\":\"A\",\"qty\":2},{\"sku\":\"B\",\"qty\":1}],\"tags\":[\"vip\"]},"
      "\"customer\":{\"id\":\"c1\",\"name\":\"Lan <3\",\"phone\":\"0901\",\"email\":null,"
      "\"city\":\"Hà Nội\"},\"vars\":{\"n\":0,\"s\":\"\",\"t\":true},\"flow\":{\"id\":\"f\"}}");
}

/* Splits [a, b] into its two members (borrowed); otherwise the whole document and NULL. */
static void split_pair(cJSON *doc, cJSON **a, cJSON **b) {
  *a = doc;
  *b = NULL;
  if (cJSON_IsArray(doc) && cJSON_GetArraySize(doc) == 2) {
    *a = cJSON_GetArrayItem(doc, 0);
    *b = cJSON_GetArrayItem(doc, 1);
  }
}

int fuzz_cond(const uint8_t *data, size_t size) {
  cJSON *doc = parse_body(data, size);
  if (!doc)
    return 0;
  cJSON *rule, *scope, *dflt = default_scope();
  split_pair(doc, &rule, &scope);
  struct cond *c = NULL;
  struct err_detail d;
  if (cond_compile(rule, &c, &d) == 0) {
    cJSON *result = NULL;
    if (cond_eval(c, scope ? scope : dflt, &result, &d) == 0)
      cond_truthy(result);
    cJSON_Delete(result);
    cond_test(c, dflt, &d);
    cond_free(c);
  }
  cJSON_Delete(dflt);
  cJSON_Delete(doc);
  return 0;
}

int fuzz_domain(const uint8_t *data, size_t size) {
  cJSON *doc = parse_body(data, size);
  if (!doc)
    return 0;
  cJSON *list, *record, *dflt = default_scope();
  split_pair(doc, &list, &record);
  struct domain *dm = NULL;
  struct err_detail d;
  /* A pair whose first member is not a list is itself the domain (e.g. [[..], "|"]). */
  if (record && !cJSON_IsArray(list)) {
    list = doc;
    record = NULL;
  }
  if (domain_compile(list, &dm, &d) == 0) {
    domain_match(dm, record ? record : cJSON_GetObjectItem(dflt, "order"));
    domain_match(dm, dflt);
    domain_match(dm, NULL);
    domain_free(dm);
  }
  cJSON_Delete(dflt);
  cJSON_Delete(doc);
  return 0;
}

int fuzz_tmpl(const uint8_t *data, size_t size) {
  char *src = malloc(size + 1);
  if (!src)
    return 0;
  memcpy(src, data, size);
  src[size] = '\0'; /* a NUL inside ends the template, as in a C string from JSON */
  cJSON *scope = default_scope();
  cJSON *partials = cJSON_Parse("{\"p\":\"[{{order.id}}]\",\"self\":\"{{>self}}\","
                                "\"items\":\"{{#order.items}}{{sku}}{{>p}}{{/order.items}}\","
                                "\"bad\":\"{{#x}}\",\"num\":5}");
  struct tmpl *t = NULL;
  struct err_detail d;
  if (tmpl_compile(src, &t, &d) == 0) {
    char *out = NULL;
    tmpl_render(t, scope, partials, &out, &d);
    free(out);
    tmpl_is_constant(t);
    tmpl_free(t);
  }
  cJSON_Delete(partials);
  cJSON_Delete(scope);
  free(src);
  return 0;
}

int fuzz_intake(const uint8_t *data, size_t size) {
  cJSON *doc = parse_body(data, size);
  if (!doc)
    return 0;
  const char *field;
  if (cJSON_IsObject(doc)) {
    intake_check_event(doc, &field);
  } else if (cJSON_IsArray(doc)) {
    const cJSON *ev;
    cJSON_ArrayForEach(ev, doc) { intake_check_event(ev, &field); }
  }
  cJSON_Delete(doc);
  return 0;
}

#ifdef FLOWD_FUZZ_TARGET
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return FLOWD_FUZZ_TARGET(data, size);
}
#endif
