/* The official Mustache spec (../shared/conformance/mustache, core modules only), played
 * case by case against tmpl. Each file's case count is checked so a truncated copy cannot
 * pass, and every failing case is printed in full before the test fails. */
#include <stdio.h>
#include <stdlib.h>
#include <cjson/cJSON.h>
#include "graph/tmpl.h"
#include "tests/test.h"

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  char *buf = NULL;
  size_t len = 0, cap = 0, n;
  char chunk[8192];
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (len + n + 1 > cap) {
      cap = (len + n + 1) * 2;
      char *nb = realloc(buf, cap);
      if (!nb) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = nb;
    }
    memcpy(buf + len, chunk, n);
    len += n;
  }
  fclose(f);
  if (buf)
    buf[len] = '\0';
  return buf;
}

/* Prints a string with its control characters visible, so whitespace failures can be read. */
static void show(const char *label, const char *s) {
  char buf[4096];
  size_t k = 0;
  for (; s && *s && k + 8 < sizeof buf; s++) {
    if (*s == '\n')
      k += (size_t)snprintf(buf + k, sizeof buf - k, "\\n");
    else if (*s == '\r')
      k += (size_t)snprintf(buf + k, sizeof buf - k, "\\r");
    else if (*s == '\t')
      k += (size_t)snprintf(buf + k, sizeof buf - k, "\\t");
    else
      buf[k++] = *s;
  }
  buf[k] = '\0';
  test_log("    %-9s \"%s\"", label, s ? buf : "(null)");
}

/* Runs one case; returns 1 when it passes, else prints it and returns 0. */
static int run_case(const char *file, const cJSON *c) {
  const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(c, "name"));
  const char *src = cJSON_GetStringValue(cJSON_GetObjectItem(c, "template"));
  const char *want = cJSON_GetStringValue(cJSON_GetObjectItem(c, "expected"));
  const cJSON *data = cJSON_GetObjectItem(c, "data");
  const cJSON *partials = cJSON_GetObjectItem(c, "partials");
  struct err_detail d = {{0}, {0}};
  char *got = NULL;
  int rc = src && want ? tmpl_render_str(src, data, partials, &got, &d) : ERR_INVAL;
  int ok = rc == 0 && got && strcmp(got, want) == 0;
  if (!ok) {
    test_log("%s: \"%s\" failed (%s%s%s)", file, name ? name : "?",
             rc ? err_name(rc) : "wrong output", rc ? ": " : "", rc ? d.msg : "");
    show("template", src);
    show("expected", want);
    show("got", got);
  }
  free(got);
  return ok;
}

static void run_file(const char *file, int expect_cases) {
  char path[512];
  snprintf(path, sizeof path, "%s/../shared/conformance/mustache/%s.json", test_source_dir(), file);
  char *text = read_file(path);
  if (!text)
    test_fail(__FILE__, __LINE__, "cannot read %s: the Mustache spec data is missing", path);
  cJSON *doc = cJSON_Parse(text);
  free(text);
  if (!doc)
    test_fail(__FILE__, __LINE__, "%s is not valid JSON", path);
  const cJSON *cases = cJSON_GetObjectItem(doc, "tests");
  int n = cJSON_GetArraySize(cases), passed = 0;
  const cJSON *c;
  cJSON_ArrayForEach(c, cases) passed += run_case(file, c);
  cJSON_Delete(doc);
  test_log("%s: %d of %d cases passed", file, passed, n);
  ASSERT_INT_EQ(n, expect_cases);
  ASSERT_INT_EQ(passed, n);
}

TEST(tmpl_spec_comments) { run_file("comments", 12); }
TEST(tmpl_spec_delimiters) { run_file("delimiters", 14); }
TEST(tmpl_spec_interpolation) { run_file("interpolation", 42); }
TEST(tmpl_spec_inverted) { run_file("inverted", 22); }
TEST(tmpl_spec_partials) { run_file("partials", 12); }
TEST(tmpl_spec_sections) { run_file("sections", 34); }
