/* cond: a condition document dispatched to its engine: {"domain": [...]} (exactly that one
 * key) to graph/domain, anything else to graph/jsonlogic. JSON Logic has no operator named
 * "domain", so the two forms cannot be confused.
 *
 * Key invariant: a struct cond holds exactly one compiled engine and is immutable after
 * cond_compile, so it can be shared by any number of evaluations. */
#include <stdlib.h>
#include <string.h>
#include "graph/cond.h"
#include "graph/domain.h"
#include "graph/jsonlogic.h"

struct cond {
  struct jsonlogic *logic; /* exactly one of these is set */
  struct domain *domain;
};

/* The domain list of doc when doc is {"domain": ...}, else NULL. */
static const cJSON *domain_member(const cJSON *doc) {
  const cJSON *m = cJSON_IsObject(doc) ? doc->child : NULL;
  if (!m || m->next || !m->string || strcmp(m->string, "domain") != 0)
    return NULL;
  return m;
}

/* The domain engine reports paths relative to the list; ours are relative to the document. */
static void prefix_path(struct err_detail *d, const char *prefix) {
  if (!d)
    return;
  size_t n = strlen(prefix), len = strlen(d->path);
  if (len + n >= sizeof d->path)
    len = sizeof d->path - n - 1;
  memmove(d->path + n, d->path, len);
  memcpy(d->path, prefix, n);
  d->path[n + len] = '\0';
}

int cond_compile(const cJSON *doc, struct cond **out, struct err_detail *detail) {
  if (!out)
    return err_set(detail, ERR_INVAL, "", "no place for the compiled condition");
  *out = NULL;
  if (!doc)
    return err_set(detail, ERR_INVAL, "", "no condition");
  struct cond *c = calloc(1, sizeof *c);
  if (!c)
    return err_set(detail, ERR_NOMEM, "", "out of memory compiling the condition");
  const cJSON *dom = domain_member(doc);
  int rc;
  if (!dom) {
    rc = jsonlogic_compile(doc, &c->logic, detail);
  } else if (!cJSON_IsArray(dom)) {
    rc = err_set(detail, ERR_PARSE, "/domain", "\"domain\" must be an array of terms "
                 "[field, operator, value] and \"&\", \"|\", \"!\"");
  } else {
    rc = domain_compile(dom, &c->domain, detail);
    if (rc && rc != ERR_NOMEM)
      prefix_path(detail, "/domain");
  }
  if (rc) {
    cond_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

int cond_eval(const struct cond *c, const cJSON *data, cJSON **result,
              struct err_detail *detail) {
  if (!result)
    return err_set(detail, ERR_INVAL, "", "no place for the result");
  *result = NULL;
  if (!c)
    return err_set(detail, ERR_INVAL, "", "no condition");
  if (c->logic)
    return jsonlogic_eval(c->logic, data, result, detail);
  *result = cJSON_CreateBool(domain_match(c->domain, data));
  return *result ? 0 : err_set(detail, ERR_NOMEM, "", "out of memory evaluating the condition");
}

int cond_test(const struct cond *c, const cJSON *data, struct err_detail *detail) {
  if (!c)
    return err_set(detail, ERR_INVAL, "", "no condition");
  if (c->logic)
    return jsonlogic_test(c->logic, data, detail);
  return domain_match(c->domain, data);
}

int cond_truthy(const cJSON *v) { return jsonlogic_truthy(v); }

void cond_free(struct cond *c) {
  if (!c)
    return;
  jsonlogic_free(c->logic);
  domain_free(c->domain);
  free(c);
}
