/* Conformance of the condition engines against the shared public test data:
 * ../shared/conformance/jsonlogic/tests.json (the jsonlogic.com suite, 277 cases) and
 * ../shared/conformance/odoo-domain-cases.json (our Odoo-domain cases, 25). Every case runs
 * through the public cond_* interface; the counts are asserted so a truncated file cannot pass. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/cond.h"
#include "tests/helpers.h"
#include "tests/test.h"

/* Reads and parses a conformance file; ends the test with a clear message when it is missing. */
static cJSON *load_conformance(const char *rel) {
  char path[1024];
  snprintf(path, sizeof path, "%s/../shared/conformance/%s", test_source_dir(), rel);
  FILE *f = fopen(path, "rb");
  if (!f)
    test_fail(__FILE__, __LINE__, "conformance file %s is missing", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *text = malloc((size_t)n + 1);
  ASSERT_NOT_NULL(text);
  size_t got = fread(text, 1, (size_t)n, f);
  fclose(f);
  text[got] = '\0';
  cJSON *doc = cJSON_Parse(text);
  free(text);
  if (!doc)
    test_fail(__FILE__, __LINE__, "conformance file %s is not valid JSON", path);
  return doc;
}

static void log_case(const char *what, int index, const cJSON *rule, const cJSON *data,
                     const cJSON *expected, const cJSON *got, const struct err_detail *d) {
  char *r = cJSON_PrintUnformatted(rule), *da = cJSON_PrintUnformatted(data);
  char *e = cJSON_PrintUnformatted(expected), *g = got ? cJSON_PrintUnformatted(got) : NULL;
  test_log("%s case %d failed: rule %s, data %s, expected %s, got %s%s%s%s", what, index, r, da,
           e, g ? g : "(error)", d ? " [" : "", d ? d->path : "", d ? "]" : "");
  if (d)
    test_log("  error: %s", d->msg);
  free(r);
  free(da);
  free(e);
  free(g);
}

/* Compiles rule, evaluates it over data and compares with expected; logs and returns 0 on any
 * mismatch or error. */
static int run_logic_case(int index, const cJSON *rule, const cJSON *data,
                          const cJSON *expected) {
  struct cond *c = NULL;
  struct err_detail d;
  cJSON *got = NULL;
  int rc = cond_compile(rule, &c, &d);
  if (!rc)
    rc = cond_eval(c, data, &got, &d);
  int ok = !rc && json_same(got, expected);
  if (!ok)
    log_case("jsonlogic", index, rule, data, expected, got, rc ? &d : NULL);
  cJSON_Delete(got);
  cond_free(c);
  return ok;
}

TEST(jsonlogic_conformance_suite_passes_every_case) {
  cJSON *suite = load_conformance("jsonlogic/tests.json");
  int cases = 0, comments = 0, failed = 0;
  ASSERT(cJSON_IsArray(suite));
  for (const cJSON *t = suite->child; t; t = t->next) {
    if (cJSON_IsString(t)) {
      comments++;
      continue;
    }
    ASSERT_INT_EQ(cJSON_GetArraySize(t), 3);
    const cJSON *rule = t->child, *data = rule->next, *expected = data->next;
    failed += !run_logic_case(cases, rule, data, expected);
    cases++;
  }
  cJSON_Delete(suite);
  test_log("jsonlogic: %d cases, %d passed, %d comment entries skipped", cases, cases - failed,
           comments);
  ASSERT_INT_EQ(cases, 277);
  ASSERT_INT_EQ(comments, 24);
  ASSERT_INT_EQ(failed, 0);
}

static int run_domain_case(int index, const cJSON *tc) {
  const cJSON *domain = cJSON_GetObjectItemCaseSensitive(tc, "domain");
  const cJSON *record = cJSON_GetObjectItemCaseSensitive(tc, "record");
  const cJSON *expect = cJSON_GetObjectItemCaseSensitive(tc, "expect");
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(tc, "id");
  cJSON *doc = cJSON_CreateObject();
  struct cond *c = NULL;
  struct err_detail d;
  cJSON *got = NULL;
  ASSERT(domain && record && cJSON_IsBool(expect));
  cJSON_AddItemToObject(doc, "domain", cJSON_Duplicate(domain, 1));
  int rc = cond_compile(doc, &c, &d);
  if (!rc)
    rc = cond_eval(c, record, &got, &d);
  int ok = !rc && json_same(got, expect) && cond_test(c, record, NULL) == cJSON_IsTrue(expect);
  if (!ok) {
    test_log("domain case %s:", cJSON_IsString(id) ? id->valuestring : "?");
    log_case("domain", index, doc, record, expect, got, rc ? &d : NULL);
  }
  cJSON_Delete(got);
  cJSON_Delete(doc);
  cond_free(c);
  return ok;
}

TEST(domain_conformance_cases_all_pass) {
  cJSON *suite = load_conformance("odoo-domain-cases.json");
  int cases = 0, failed = 0;
  ASSERT(cJSON_IsArray(suite));
  for (const cJSON *t = suite->child; t; t = t->next) {
    if (cJSON_IsString(t))
      continue;
    failed += !run_domain_case(cases, t);
    cases++;
  }
  cJSON_Delete(suite);
  test_log("odoo domains: %d cases, %d passed", cases, cases - failed);
  ASSERT_INT_EQ(cases, 25);
  ASSERT_INT_EQ(failed, 0);
}
