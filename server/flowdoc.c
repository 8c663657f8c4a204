/* flowdoc: envelope checks and graph validation for the flows API. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include "graph/graph.h"
#include "server/api_util.h"
#include "server/flowdoc.h"
#include "server/http.h"

static int valid_id(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 64)
    return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          *p == '_' || *p == '-' || *p == '.'))
      return 0;
  return 1;
}

int flowdoc_check(struct http_req *req, cJSON *doc, const char *id_from_path) {
  if (!cJSON_IsObject(doc))
    return api_bad_field(req, "invalid_document", "", "a flow must be a JSON object");
  if (api_json_depth(doc) > FLOWDOC_MAX_DEPTH)
    return api_bad_field(req, "too_deep", "", "the flow is nested deeper than %d levels",
                         FLOWDOC_MAX_DEPTH);
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "name");
  if (!cJSON_IsString(name) || !name->valuestring[0])
    return api_bad_field(req, "invalid_field", "name", "\"name\" is required: a non-empty string");
  if (strlen(name->valuestring) > 200)
    return api_bad_field(req, "invalid_field", "name", "\"name\" is longer than 200 characters");
  const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(doc, "nodes");
  if (cJSON_GetArraySize(nodes) > FLOWDOC_MAX_NODES)
    return api_bad_field(req, "too_large", "nodes", "a flow may have at most %d nodes",
                         FLOWDOC_MAX_NODES);
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "id");
  if (id && !cJSON_IsString(id))
    return api_bad_field(req, "invalid_field", "id", "\"id\" must be a string");
  if (id && !valid_id(id->valuestring))
    return api_bad_field(req, "invalid_field", "id",
                         "\"id\" must be 1 to 64 letters, digits, '_', '-' or '.'");
  if (id_from_path && id && strcmp(id->valuestring, id_from_path) != 0)
    return api_bad_field(req, "invalid_field", "id",
                         "\"id\" is \"%s\" but the URL names flow \"%s\"", id->valuestring,
                         id_from_path);
  if (!id) {
    char gen[32] = "f_";
    if (id_from_path) {
      snprintf(gen, sizeof gen, "%s", id_from_path);
    } else {
      unsigned char raw[6];
      randombytes_buf(raw, sizeof raw);
      sodium_bin2hex(gen + 2, sizeof gen - 2, raw, sizeof raw);
    }
    cJSON_AddStringToObject(doc, "id", gen);
  }
  return 1;
}

/* graph_refs' look-up: answers from the id lists fetched with the flow. */
static int ref_exists(void *ud, const char *kind, const char *id) {
  const cJSON *list = cJSON_GetObjectItem((const cJSON *)ud, kind), *it;
  if (!cJSON_IsArray(list))
    return -1;
  cJSON_ArrayForEach(it, list) {
    if (cJSON_IsString(it) && strcmp(it->valuestring, id) == 0)
      return 1;
  }
  return 0;
}

cJSON *flowdoc_problems(const cJSON *doc, const cJSON *refs, int strict, int *errors) {
  struct graph *g = NULL;
  cJSON *problems = NULL;
  struct graph_refs r = {ref_exists, (void *)refs, strict};
  graph_parse(doc, refs ? &r : NULL, &g, &problems);
  graph_free(g);
  if (!problems)
    problems = cJSON_CreateArray();
  if (errors)
    *errors = (int)graph_error_count(problems);
  return problems;
}
