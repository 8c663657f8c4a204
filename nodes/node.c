/* node: the helpers compile ops report through. They turn the detail of the condition,
 * template and duration parsers into problems with absolute JSON Pointer paths, so that every
 * node type reports the same way. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/cond.h"
#include "graph/timefmt.h"
#include "graph/tmpl.h"
#include "nodes/node.h"

const char *node_group_name(enum node_group g) {
  switch (g) {
  case NODE_TRIGGER: return "trigger";
  case NODE_CONDITION: return "condition";
  case NODE_ACTION: return "action";
  case NODE_CONTROL: return "control";
  }
  return "unknown";
}

/* Turns a subpath into a readable field name: "/cases/0/when" -> "cases[0].when". */
static void field_name(const char *subpath, char *buf, size_t len) {
  size_t n = 0;
  buf[0] = '\0';
  for (const char *p = subpath; *p && n + 2 < len;) {
    p++; /* the '/' */
    size_t seg = strcspn(p, "/");
    int index = seg > 0 && strspn(p, "0123456789") >= seg;
    if (index)
      buf[n++] = '[';
    else if (n)
      buf[n++] = '.';
    for (size_t i = 0; i < seg && n + 2 < len; i++)
      buf[n++] = p[i];
    if (index && n + 1 < len)
      buf[n++] = ']';
    p += seg;
  }
  buf[n] = '\0';
  if (n == 0)
    snprintf(buf, len, "config");
}

void node_report(struct node_compile *ctx, enum node_severity severity, const char *code,
                 const char *subpath, const char *fmt, ...) {
  char path[512], msg[768];
  snprintf(path, sizeof path, "%s%s", ctx->path, subpath ? subpath : "");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (severity == NODE_ERROR)
    ctx->errors++;
  ctx->report(ctx->report_ud, path, code, severity, msg);
}

const char *node_path(char *buf, size_t len, const char *prefix, const char *key) {
  size_t n = strlen(prefix);
  if (n + 2 > len)
    n = len - 2;
  memmove(buf, prefix, n); /* prefix may be buf itself */
  buf[n++] = '/';
  for (; *key && n + 3 < len; key++) {
    if (*key == '~' || *key == '/') {
      buf[n++] = '~';
      buf[n++] = *key == '~' ? '0' : '1';
    } else {
      buf[n++] = *key;
    }
  }
  if (n < len)
    buf[n] = '\0';
  return buf;
}

int node_compile_cond(struct node_compile *ctx, const cJSON *v, const char *subpath,
                      struct cond **out) {
  *out = NULL;
  if (!v)
    return 0;
  struct err_detail d = {"", ""};
  int rc = cond_compile(v, out, &d);
  if (rc == ERR_NOMEM)
    return rc;
  if (rc) {
    char name[128], at[512];
    field_name(subpath, name, sizeof name);
    snprintf(at, sizeof at, "%s%s", subpath, d.path);
    node_report(ctx, NODE_ERROR, "condition", at, "%s: %s", name,
                d.msg[0] ? d.msg : "the condition does not compile");
  }
  return 0;
}

int node_compile_tmpl(struct node_compile *ctx, const cJSON *v, const char *subpath,
                      struct tmpl **out) {
  *out = NULL;
  if (!cJSON_IsString(v))
    return 0;
  struct err_detail d = {"", ""};
  int rc = tmpl_compile(v->valuestring, out, &d);
  if (rc == ERR_NOMEM)
    return rc;
  if (rc) {
    char name[128];
    field_name(subpath, name, sizeof name);
    node_report(ctx, NODE_ERROR, "template", subpath, "%s is not a valid template: %s", name,
                d.msg[0] ? d.msg : "it does not parse");
  }
  return 0;
}

int node_parse_duration(struct node_compile *ctx, const cJSON *v, const char *subpath,
                        int64_t *ms) {
  if (!v)
    return 0;
  struct err_detail d = {"", ""};
  char name[128];
  field_name(subpath, name, sizeof name);
  if (!cJSON_IsString(v)) {
    node_report(ctx, NODE_ERROR, "duration", subpath, "%s must be a duration such as 15m", name);
    return 0;
  }
  if (duration_parse(v->valuestring, ms, &d) == 0)
    return 1;
  node_report(ctx, NODE_ERROR, "duration", subpath, "%s is not a valid duration: %s", name,
              d.msg[0] ? d.msg : "expected e.g. 30s, 15m, 1h30m, 2d");
  return 0;
}

void node_check_ref(struct node_compile *ctx, const char *kind, const cJSON *v,
                    const char *subpath) {
  if (!ctx->ref_exists || !cJSON_IsString(v) || !v->valuestring[0])
    return;
  const char *id = v->valuestring;
  if (strstr(id, "{{") || strchr(id, '#'))
    return; /* a template: what it renders is only known at run time */
  if (ctx->ref_exists(ctx->ref_ud, kind, id) != 0)
    return;
  char name[128];
  field_name(subpath, name, sizeof name);
  node_report(ctx, ctx->missing_ref, "missing_reference", subpath,
              "%s: there is no %s \"%s\"", name, kind, id);
}

int node_compile_fields(struct node_compile *ctx, const cJSON *config,
                        const char *const *names, struct tmpl **out) {
  char at[512];
  for (size_t i = 0; names[i]; i++) {
    int rc = node_compile_tmpl(ctx, cJSON_GetObjectItemCaseSensitive(config, names[i]),
                               node_path(at, sizeof at, "", names[i]), &out[i]);
    if (rc)
      return rc;
  }
  return 0;
}

void node_free_tmpls(struct tmpl **t, size_t n) {
  for (size_t i = 0; i < n; i++)
    tmpl_free(t[i]);
}

int node_compile_values(struct node_compile *ctx, const cJSON *obj, const char *subpath,
                        struct node_value **out, size_t *n) {
  *out = NULL;
  *n = 0;
  int count = cJSON_GetArraySize(obj);
  if (count <= 0)
    return 0;
  struct node_value *v = *out = calloc((size_t)count, sizeof *v);
  if (!v)
    return ERR_NOMEM;
  char at[512];
  const cJSON *m;
  cJSON_ArrayForEach(m, obj) {
    struct node_value *e = &v[(*n)++];
    e->name = m->string;
    e->value = m;
    int rc = node_compile_tmpl(ctx, m, node_path(at, sizeof at, subpath, m->string), &e->tmpl);
    if (rc)
      return rc;
  }
  return 0;
}

void node_free_values(struct node_value *v, size_t n) {
  for (size_t i = 0; v && i < n; i++)
    tmpl_free(v[i].tmpl);
  free(v);
}
