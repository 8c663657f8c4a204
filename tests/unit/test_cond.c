/* Tests of conditions (graph/cond.h) beyond the public suites: compile errors and their JSON
 * Pointer paths, run-scope lookups, the SPEC examples, JavaScript coercions the jsonlogic.com
 * suite does not cover (checked against node's own semantics), non-ASCII text, compile-once use,
 * and the Odoo-domain rules of odoo-domain.md that the shared cases leave out. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/cond.h"
#include "graph/domain.h"
#include "graph/jsonlogic.h"
#include "tests/helpers.h"
#include "tests/test.h"

static cJSON *parse_or_fail(const char *file, int line, const char *text) {
  cJSON *j = cJSON_Parse(text);
  if (!j)
    test_fail(file, line, "test JSON does not parse: %s", text);
  return j;
}


/* Compiles and evaluates rule over data (NULL: no data); returns the result or ends the test. */
static cJSON *eval_or_fail(const char *file, int line, const char *rule, const char *data) {
  cJSON *r = parse_or_fail(file, line, rule), *d = data ? parse_or_fail(file, line, data) : NULL;
  struct cond *c = NULL;
  struct err_detail det = {"", ""};
  cJSON *got = NULL;
  int rc = cond_compile(r, &c, &det);
  if (!rc)
    rc = cond_eval(c, d, &got, &det);
  cond_free(c);
  cJSON_Delete(r);
  cJSON_Delete(d);
  if (rc)
    test_fail(file, line, "%s over %s: %s (%s at \"%s\")", rule, data ? data : "null",
              err_name(rc), det.msg, det.path);
  return got;
}

static void check_eval(const char *file, int line, const char *rule, const char *data,
                       const char *expected) {
  cJSON *got = eval_or_fail(file, line, rule, data), *want = parse_or_fail(file, line, expected);
  if (!json_same(got, want)) {
    char *g = cJSON_PrintUnformatted(got);
    test_fail(file, line, "%s over %s:\n  got:      %s\n  expected: %s", rule,
              data ? data : "null", g, expected);
  }
  cJSON_Delete(got);
  cJSON_Delete(want);
}
#define CHECK_EVAL(rule, data, expected) check_eval(__FILE__, __LINE__, rule, data, expected)

/* For results JSON cannot spell (NaN, Infinity): compares the number, NaN equal to NaN. */
static void check_number(const char *file, int line, const char *rule, const char *data,
                         double want) {
  cJSON *got = eval_or_fail(file, line, rule, data);
  double n = cJSON_IsNumber(got) ? got->valuedouble : 12345.678;
  int same = cJSON_IsNumber(got) && (isnan(want) ? isnan(n) : n == want);
  cJSON_Delete(got);
  if (!same)
    test_fail(file, line, "%s over %s: got %g, expected %g", rule, data ? data : "null", n, want);
}
#define CHECK_NUMBER(rule, data, want) check_number(__FILE__, __LINE__, rule, data, want)

/* Compiling doc must fail with code at path, and the message must contain msg_part. */
static void check_compile_error(const char *file, int line, const char *doc, int code,
                                const char *path, const char *msg_part) {
  cJSON *j = parse_or_fail(file, line, doc);
  struct cond *c = (struct cond *)&c; /* must come back NULL */
  struct err_detail d = {"", ""};
  int rc = cond_compile(j, &c, &d);
  cJSON_Delete(j);
  if (rc != code || c != NULL || strcmp(d.path, path) != 0 || !strstr(d.msg, msg_part)) {
    cond_free(rc ? NULL : c);
    test_fail(file, line, "%s:\n  got:      %s at \"%s\": %s\n  expected: %s at \"%s\": ...%s...",
              doc, err_name(rc), d.path, d.msg, err_name(code), path, msg_part);
  }
}
#define CHECK_COMPILE_ERROR(doc, code, path, msg) \
  check_compile_error(__FILE__, __LINE__, doc, code, path, msg)

/* cond_test of doc over data (JSON texts) must give want (1, 0 or an error code). */
static void check_test(const char *file, int line, const char *doc, const char *data, int want) {
  cJSON *j = parse_or_fail(file, line, doc), *d = data ? parse_or_fail(file, line, data) : NULL;
  struct cond *c = NULL;
  struct err_detail det = {"", ""};
  int rc = cond_compile(j, &c, &det);
  if (rc)
    test_fail(file, line, "%s does not compile: %s at \"%s\"", doc, det.msg, det.path);
  int got = cond_test(c, d, &det);
  cond_free(c);
  cJSON_Delete(j);
  cJSON_Delete(d);
  if (got != want)
    test_fail(file, line, "cond_test(%s) over %s: got %d, expected %d", doc, data ? data : "null",
              got, want);
}
#define CHECK_TEST(doc, data, want) check_test(__FILE__, __LINE__, doc, data, want)

static const char *const SCOPE =
    "{\"order\":{\"id\":\"o_17\",\"amount\":60000,\"city\":\"Hanoi\",\"source\":\"website\","
    "\"items\":[{\"sku\":\"a\",\"qty\":2},{\"sku\":\"b\",\"qty\":5}]},"
    "\"customer\":{\"name\":\"Nguyễn Văn Đức\",\"phone\":null,\"tags\":[\"vip\",\"new\"]}}";

/* ------------------------------------------------------------------------------------------
 * JSON Logic: compile errors */

TEST(jsonlogic_rejects_unknown_operator_with_path) {
  CHECK_COMPILE_ERROR("{\"and\":[{\"==\":[1,1]},{\">=\":[{\"frobnicate\":[1]},0]}]}", ERR_PARSE,
                      "/and/1/>=/0", "unknown operator \"frobnicate\"");
  CHECK_COMPILE_ERROR("{\"frobnicate\":[]}", ERR_PARSE, "", "unknown operator \"frobnicate\"");
}

TEST(jsonlogic_rejects_unknown_operator_in_unevaluated_places) {
  /* Compile time sees what a run might never reach: the else branch, the per-element logic. */
  CHECK_COMPILE_ERROR("{\"if\":[true,1,{\"nope\":2}]}", ERR_PARSE, "/if/2", "\"nope\"");
  CHECK_COMPILE_ERROR("{\"filter\":[{\"var\":\"xs\"},{\"bogus\":1}]}", ERR_PARSE, "/filter/1",
                      "\"bogus\"");
  CHECK_COMPILE_ERROR("[1,[2,{\"x\":3}]]", ERR_PARSE, "/1/1", "\"x\"");
  CHECK_COMPILE_ERROR("{\"var\":{\"oops\":\"a\"}}", ERR_PARSE, "/var", "\"oops\"");
}

TEST(jsonlogic_rejects_method_and_dotted_operators) {
  CHECK_COMPILE_ERROR("{\"method\":[\"abc\",\"toUpperCase\"]}", ERR_PARSE, "", "\"method\"");
  CHECK_COMPILE_ERROR("{\"Math.max\":[1,2]}", ERR_PARSE, "", "\"Math.max\"");
}

TEST(jsonlogic_rejects_operation_object_with_two_keys) {
  CHECK_COMPILE_ERROR("{\"or\":[false,{\"var\":\"a\",\"==\":1}]}", ERR_PARSE, "/or/1",
                      "exactly one key");
}

TEST(jsonlogic_rejects_arities_the_reference_throws_on) {
  CHECK_COMPILE_ERROR("{\"if\":[true,{\"*\":[]}]}", ERR_PARSE, "/if/1/*", "at least 1");
  CHECK_COMPILE_ERROR("{\"missing_some\":[1]}", ERR_PARSE, "/missing_some", "at least 2");
}

TEST(jsonlogic_error_paths_escape_slash_and_tilde) {
  CHECK_COMPILE_ERROR("{\"/\":[{\"a~b\":1},2]}", ERR_PARSE, "/~1/0", "\"a~b\"");
}

TEST(jsonlogic_rejects_rules_nested_too_deeply) {
  char rule[4000] = "";
  for (int i = 0; i < 300; i++)
    strcat(rule, "{\"!\":");
  strcat(rule, "true");
  for (int i = 0; i < 300; i++)
    strcat(rule, "}");
  cJSON *j = cJSON_Parse(rule);
  struct cond *c;
  struct err_detail d;
  ASSERT_NOT_NULL(j);
  ASSERT_INT_EQ(cond_compile(j, &c, &d), ERR_TOODEEP);
  ASSERT(c == NULL);
  cJSON_Delete(j);
}

TEST(jsonlogic_empty_object_is_a_literal) {
  CHECK_EVAL("{}", NULL, "{}");
  CHECK_EVAL("{\"if\":[true,{}]}", NULL, "{}");
}

/* ------------------------------------------------------------------------------------------
 * JSON Logic: the run scope and the SPEC examples */

TEST(cond_reads_dotted_paths_into_run_scope) {
  CHECK_EVAL("{\"var\":\"order.amount\"}", SCOPE, "60000");
  CHECK_EVAL("{\"var\":\"order.city\"}", SCOPE, "\"Hanoi\"");
  CHECK_EVAL("{\"var\":\"order.items.1.qty\"}", SCOPE, "5");
  CHECK_EVAL("{\"var\":\"order.items.length\"}", SCOPE, "2");
  CHECK_EVAL("{\"var\":\"customer.phone\"}", SCOPE, "null");
  CHECK_EVAL("{\"var\":[\"customer.phone.type\",\"none\"]}", SCOPE, "\"none\"");
  CHECK_EVAL("{\"var\":[\"order.missing\",{\"cat\":[\"n\",\"/a\"]}]}", SCOPE, "\"n/a\"");
  CHECK_EVAL("{\"var\":{\"cat\":[\"order.\",\"source\"]}}", SCOPE, "\"website\"");
  CHECK_EVAL("{\"var\":\"order\"}", "{\"order\":{\"a\":[1,{\"b\":null}]}}",
             "{\"a\":[1,{\"b\":null}]}");
}

TEST(cond_spec_order_amount_range_rule) {
  const char *rule = "{\"and\":[{\">=\":[{\"var\":\"order.amount\"},50000]},"
                     "{\"<=\":[{\"var\":\"order.amount\"},1000000]}]}";
  CHECK_TEST(rule, SCOPE, 1);
  CHECK_TEST(rule, "{\"order\":{\"amount\":50000}}", 1);
  CHECK_TEST(rule, "{\"order\":{\"amount\":1000000}}", 1);
  CHECK_TEST(rule, "{\"order\":{\"amount\":49999.99}}", 0);
  CHECK_TEST(rule, "{\"order\":{\"amount\":1000001}}", 0);
  CHECK_TEST(rule, "{\"order\":{\"amount\":\"60000\"}}", 1); /* numeric strings coerce */
  CHECK_TEST(rule, "{\"customer\":{}}", 0);
  CHECK_TEST(rule, NULL, 0);
  CHECK_EVAL(rule, "{\"order\":{\"amount\":10}}", "false"); /* and returns the deciding operand */
}

TEST(cond_spec_domain_country_in_list) {
  const char *doc = "{\"domain\":[[\"country\",\"in\",[\"United States\",\"Canada\"]]]}";
  CHECK_TEST(doc, "{\"country\":\"Canada\"}", 1);
  CHECK_TEST(doc, "{\"country\":\"United States\"}", 1);
  CHECK_TEST(doc, "{\"country\":\"Mexico\"}", 0);
  CHECK_TEST(doc, "{\"country\":\"canada\"}", 0);
  CHECK_TEST(doc, "{}", 0);
  CHECK_TEST(doc, NULL, 0);
  CHECK_EVAL(doc, "{\"country\":\"Canada\"}", "true");
  CHECK_EVAL(doc, "{\"country\":\"Peru\"}", "false");
}

TEST(cond_test_applies_jsonlogic_truthiness) {
  CHECK_TEST("[]", NULL, 0);
  CHECK_TEST("[0]", NULL, 1);
  CHECK_TEST("\"0\"", NULL, 1);
  CHECK_TEST("\"\"", NULL, 0);
  CHECK_TEST("0", NULL, 0);
  CHECK_TEST("-0.5", NULL, 1);
  CHECK_TEST("null", NULL, 0);
  CHECK_TEST("{}", NULL, 1);
  CHECK_TEST("{\"var\":\"tags\"}", "{\"tags\":[]}", 0);
  CHECK_TEST("{\"var\":\"tags\"}", "{\"tags\":[\"x\"]}", 1);
  CHECK_TEST("{\"/\":[0,0]}", NULL, 0); /* NaN is falsy */
  CHECK_TEST("{\"var\":\"nope\"}", "{}", 0);
}

TEST(cond_truthy_follows_jsonlogic) {
  const char *falsy[] = {"false", "null", "0", "0.0", "\"\"", "[]"};
  const char *truthy[] = {"true", "1", "-1", "\"0\"", "\"false\"", "{}", "[[]]", "[0]"};
  for (size_t i = 0; i < sizeof falsy / sizeof *falsy; i++) {
    cJSON *j = cJSON_Parse(falsy[i]);
    if (cond_truthy(j))
      test_fail(__FILE__, __LINE__, "%s should be falsy", falsy[i]);
    cJSON_Delete(j);
  }
  for (size_t i = 0; i < sizeof truthy / sizeof *truthy; i++) {
    cJSON *j = cJSON_Parse(truthy[i]);
    if (!cond_truthy(j))
      test_fail(__FILE__, __LINE__, "%s should be truthy", truthy[i]);
    cJSON_Delete(j);
  }
  ASSERT_INT_EQ(cond_truthy(NULL), 0);
}

TEST(cond_compiled_once_evaluates_many_data) {
  cJSON *rule = cJSON_Parse("{\"and\":[{\">=\":[{\"var\":\"order.amount\"},50000]},"
                            "{\"<=\":[{\"var\":\"order.amount\"},1000000]},"
                            "{\"in\":[{\"var\":\"order.city\"},[\"Hanoi\",\"Hà Nội\"]]}]}");
  struct cond *c = NULL;
  ASSERT_INT_EQ(cond_compile(rule, &c, NULL), 0);
  cJSON_Delete(rule); /* the compiled condition keeps nothing of the document */
  for (int i = 0; i < 2000; i++) {
    double amount = i * 1000.0;
    cJSON *data = cJSON_CreateObject(), *order = cJSON_AddObjectToObject(data, "order");
    cJSON_AddNumberToObject(order, "amount", amount);
    cJSON_AddStringToObject(order, "city", i % 3 == 0 ? "Hà Nội" : i % 3 == 1 ? "Hanoi" : "Huế");
    int want = amount >= 50000 && amount <= 1000000 && i % 3 != 2;
    ASSERT_INT_EQ(cond_test(c, data, NULL), want);
    cJSON *res = NULL;
    ASSERT_INT_EQ(cond_eval(c, data, &res, NULL), 0);
    ASSERT_INT_EQ(cJSON_IsTrue(res), want);
    cJSON_Delete(res);
    cJSON_Delete(data);
  }
  cond_free(c);
}

TEST(jsonlogic_result_outlives_data) {
  cJSON *rule = cJSON_Parse("{\"if\":[true,{\"var\":\"order\"}]}");
  cJSON *data = cJSON_Parse(SCOPE), *res = NULL;
  struct cond *c = NULL;
  ASSERT_INT_EQ(cond_compile(rule, &c, NULL), 0);
  ASSERT_INT_EQ(cond_eval(c, data, &res, NULL), 0);
  cJSON_Delete(data); /* the result is a copy; ASan would catch a dangling pointer below */
  char *text = cJSON_PrintUnformatted(res);
  ASSERT_STR_CONTAINS(text, "\"city\":\"Hanoi\"");
  ASSERT(res->string == NULL);
  free(text);
  cJSON_Delete(res);
  cJSON_Delete(rule);
  cond_free(c);
}

/* ------------------------------------------------------------------------------------------
 * JSON Logic: JavaScript semantics */

TEST(jsonlogic_loose_equality_follows_javascript) {
  CHECK_EVAL("{\"==\":[null,0]}", NULL, "false");
  CHECK_EVAL("{\"==\":[null,{\"var\":\"nope\"}]}", "{}", "true");
  CHECK_EVAL("{\"==\":[[],\"\"]}", NULL, "true");
  CHECK_EVAL("{\"==\":[[],0]}", NULL, "true");
  CHECK_EVAL("{\"==\":[[1,2],\"1,2\"]}", NULL, "true");
  CHECK_EVAL("{\"==\":[\"\",0]}", NULL, "true");
  CHECK_EVAL("{\"==\":[\"0\",false]}", NULL, "true");
  CHECK_EVAL("{\"==\":[\" \\t\\n\",0]}", NULL, "true");
  CHECK_EVAL("{\"==\":[\"0x10\",16]}", NULL, "true");
  CHECK_EVAL("{\"==\":[\"-0x10\",-16]}", NULL, "false");
  CHECK_EVAL("{\"==\":[\"1e3\",1000]}", NULL, "true");
  CHECK_EVAL("{\"==\":[\"1_000\",1000]}", NULL, "false");
  CHECK_EVAL("{\"==\":[\"\\u00a016\\ufeff\",16]}", NULL, "true");
  CHECK_EVAL("{\"==\":[true,\"1\"]}", NULL, "true");
  CHECK_EVAL("{\"==\":[[0],false]}", NULL, "true");
  CHECK_EVAL("{\"==\":[{\"var\":\"o\"},\"[object Object]\"]}", "{\"o\":{}}", "true");
  CHECK_EVAL("{\"==\":[{\"var\":\"o\"},{\"var\":\"o\"}]}", "{\"o\":{\"a\":1}}", "true");
  CHECK_EVAL("{\"==\":[[1],[1]]}", NULL, "false"); /* two different arrays */
  CHECK_EVAL("{\"===\":[1,1.0]}", NULL, "true");
  CHECK_EVAL("{\"!==\":[null,{\"var\":\"nope\"}]}", "{}", "false"); /* var gives null */
  CHECK_EVAL("{\"!=\":[null,false]}", NULL, "true");
  CHECK_EVAL("{\"==\":[1]}", NULL, "false"); /* 1 == undefined */
}

TEST(jsonlogic_relational_comparisons_coerce_like_javascript) {
  CHECK_EVAL("{\"<\":[\"10\",\"9\"]}", NULL, "true"); /* two strings: text order */
  CHECK_EVAL("{\"<\":[10,\"9\"]}", NULL, "false");
  CHECK_EVAL("{\">\":[null,-1]}", NULL, "true");
  CHECK_EVAL("{\"<\":[{\"var\":\"nope\"},1]}", "{}", "true"); /* null is 0 */
  CHECK_EVAL("{\">\":[[2],1]}", NULL, "true");
  CHECK_EVAL("{\"<=\":[[1,2],\"1,2\"]}", NULL, "true");
  CHECK_EVAL("{\">=\":[\"abc\",1]}", NULL, "false"); /* NaN */
  CHECK_EVAL("{\"<=\":[\"abc\",1]}", NULL, "false");
  CHECK_EVAL("{\">=\":[null,0]}", NULL, "true");
  CHECK_EVAL("{\"<\":[1]}", NULL, "false");
  CHECK_EVAL("{\"<\":[1,5,\"10\"]}", NULL, "true");
  CHECK_EVAL("{\"<=\":[1,1,0]}", NULL, "false");
}

TEST(jsonlogic_arithmetic_coerces_like_javascript) {
  CHECK_NUMBER("{\"+\":[\"3.5abc\",1]}", NULL, 4.5);
  CHECK_NUMBER("{\"-\":[\"3.5abc\",1]}", NULL, NAN);
  CHECK_NUMBER("{\"+\":[\" 0x10 \"]}", NULL, 0);
  CHECK_NUMBER("{\"-\":[\"0x10\",0]}", NULL, 16);
  CHECK_NUMBER("{\"+\":[\"Infinityx\"]}", NULL, INFINITY);
  CHECK_NUMBER("{\"*\":[\" 12 \",\"2px\"]}", NULL, 24);
  CHECK_NUMBER("{\"%\":[-5,3]}", NULL, -2);
  CHECK_NUMBER("{\"%\":[5.5,2]}", NULL, 1.5);
  CHECK_NUMBER("{\"/\":[1,0]}", NULL, INFINITY);
  CHECK_NUMBER("{\"/\":[\"6\",\"3\"]}", NULL, 2);
  CHECK_NUMBER("{\"-\":[[]]}", NULL, 0);
  CHECK_NUMBER("{\"-\":[]}", NULL, NAN);
  CHECK_NUMBER("{\"+\":[]}", NULL, 0);
  CHECK_NUMBER("{\"+\":[true]}", NULL, NAN); /* parseFloat("true") */
  CHECK_NUMBER("{\"max\":[\"3\",[7]]}", NULL, 7);
  CHECK_NUMBER("{\"max\":[1,\"x\"]}", NULL, NAN);
  CHECK_NUMBER("{\"max\":[true,null]}", NULL, 1);
  CHECK_NUMBER("{\"min\":[]}", NULL, INFINITY);
  CHECK_EVAL("{\"*\":[\"2\"]}", NULL, "\"2\""); /* reduce() hands a lone operand back */
  CHECK_EVAL("{\"/\":[0.3,0.1]}", NULL, "2.9999999999999996");
  cJSON *zero = eval_or_fail(__FILE__, __LINE__, "{\"-\":[0]}", NULL);
  char *text = cJSON_PrintUnformatted(zero);
  ASSERT_STR_EQ(text, "0"); /* JSON.stringify(-0) */
  free(text);
  cJSON_Delete(zero);
}

TEST(jsonlogic_cat_prints_values_like_javascript) {
  CHECK_EVAL("{\"cat\":[null,\"a\",[1,[2,null]],true]}", NULL, "\"a1,2,true\"");
  CHECK_EVAL("{\"cat\":[0.1,1e21,-0]}", NULL, "\"0.11e+210\"");
  CHECK_EVAL("{\"cat\":[{\"var\":\"o\"},{\"var\":\"nope\"}]}", "{\"o\":{}}", "\"[object Object]\"");
  CHECK_EVAL("{\"cat\":[]}", NULL, "\"\"");
  CHECK_EVAL("{\"cat\":[\"#\",{\"var\":\"order.id\"},\" \",{\"var\":\"order.amount\"}]}", SCOPE,
             "\"#o_17 60000\"");
}

TEST(jsonlogic_substr_edge_cases) {
  CHECK_EVAL("{\"substr\":[\"abcdef\",2,null]}", NULL, "\"\"");
  CHECK_EVAL("{\"substr\":[\"abcdef\",\"1\",\"2\"]}", NULL, "\"bc\"");
  CHECK_EVAL("{\"substr\":[\"abcdef\",1.9,2.9]}", NULL, "\"bc\"");
  CHECK_EVAL("{\"substr\":[\"abcdef\",10]}", NULL, "\"\"");
  CHECK_EVAL("{\"substr\":[\"abcdef\",-10,2]}", NULL, "\"ab\"");
  CHECK_EVAL("{\"substr\":[12345,1,2]}", NULL, "\"23\"");
  CHECK_EVAL("{\"substr\":[\"abc\"]}", NULL, "\"abc\"");
  CHECK_EVAL("{\"substr\":[]}", NULL, "\"undefined\"");
  CHECK_EVAL("{\"substr\":[\"abc\",-1]}", NULL, "\"c\"");
  /* The reference computes temp.length + end with JS "+": a string end concatenates. */
  CHECK_EVAL("{\"substr\":[\"jsonlogic\",1,\"-5\"]}", NULL, "\"\"");
}

TEST(jsonlogic_handles_non_ascii_text) {
  CHECK_EVAL("{\"cat\":[\"Xin chào \",{\"var\":\"customer.name\"}]}", SCOPE,
             "\"Xin chào Nguyễn Văn Đức\"");
  CHECK_EVAL("{\"substr\":[\"Hà Nội\",3]}", NULL, "\"Nội\"");
  CHECK_EVAL("{\"substr\":[\"Hà Nội\",-3,-1]}", NULL, "\"Nộ\"");
  CHECK_EVAL("{\"var\":\"s.length\"}", "{\"s\":\"Hà Nội\"}", "6");
  CHECK_EVAL("{\"var\":\"s.0\"}", "{\"s\":\"Đức\"}", "\"Đ\"");
  CHECK_EVAL("{\"in\":[\"Nội\",\"Hà Nội\"]}", NULL, "true");
  CHECK_EVAL("{\"==\":[{\"var\":\"c\"},\"Hà Nội\"]}", "{\"c\":\"Hà Nội\"}", "true");
  /* UTF-16 code units, as in JavaScript: an emoji is two units; a cut half becomes U+FFFD. */
  CHECK_EVAL("{\"var\":\"s.length\"}", "{\"s\":\"😀\"}", "2");
  CHECK_EVAL("{\"substr\":[\"a😀b\",1,2]}", NULL, "\"😀\"");
  CHECK_EVAL("{\"substr\":[\"😀abc\",1]}", NULL, "\"\\ufffdabc\"");
  /* String order is UTF-16 order: U+1F600 sorts before U+FF5E (byte order would say after). */
  CHECK_EVAL("{\"<\":[\"😀\",\"～\"]}", NULL, "true");
  CHECK_EVAL("{\"<\":[\"é\",\"z\"]}", NULL, "false");
}

TEST(jsonlogic_var_paths_defaults_and_indices) {
  CHECK_EVAL("{\"var\":\"a.01\"}", "{\"a\":[\"x\",\"y\"]}", "null"); /* not an index */
  CHECK_EVAL("{\"var\":\"a.1\"}", "{\"a\":[\"x\",\"y\"]}", "\"y\"");
  CHECK_EVAL("{\"var\":[\"x\",5]}", "{\"x\":null}", "null"); /* found: null, not the default */
  CHECK_EVAL("{\"var\":[\"x.y\",5]}", "{\"x\":null}", "5");
  CHECK_EVAL("{\"var\":\"0\"}", "\"abc\"", "\"a\"");
  CHECK_EVAL("{\"var\":\"a\"}", "5", "null");
  CHECK_EVAL("{\"var\":1.5}", "{\"1\":{\"5\":\"deep\"}}", "\"deep\"");
  CHECK_EVAL("{\"var\":\"\"}", "[1,2]", "[1,2]");
  CHECK_EVAL("{\"var\":\"a\"}", NULL, "null");
  CHECK_EVAL("{\"var\":[{\"var\":\"which\"},\"none\"]}", "{\"which\":\"k\",\"k\":0}", "0");
}

TEST(jsonlogic_and_or_if_return_deciding_operand) {
  CHECK_EVAL("{\"or\":[0,\"\",null]}", NULL, "null");
  CHECK_EVAL("{\"or\":[0,[],\"x\",1]}", NULL, "\"x\"");
  CHECK_EVAL("{\"and\":[1,\"a\",[1]]}", NULL, "[1]");
  CHECK_EVAL("{\"and\":[]}", NULL, "null");
  CHECK_EVAL("{\"or\":[{\"var\":\"a\"},{\"var\":\"b\"}]}", "{\"a\":0,\"b\":{\"c\":1}}",
             "{\"c\":1}");
  CHECK_EVAL("{\"if\":[{\"var\":\"a\"},\"yes\"]}", "{\"a\":\"0\"}", "\"yes\"");
  CHECK_EVAL("{\"?:\":[[],1,2]}", NULL, "2");
}

TEST(jsonlogic_array_operators_edge_cases) {
  CHECK_EVAL("{\"all\":[[1,2],{\">\":[{\"var\":\"\"},0]}]}", NULL, "true");
  CHECK_EVAL("{\"all\":[\"abc\",true]}", NULL, "false");
  CHECK_EVAL("{\"none\":[null,true]}", NULL, "true");
  CHECK_EVAL("{\"some\":[{\"var\":\"order.items\"},{\">\":[{\"var\":\"qty\"},4]}]}", SCOPE, "true");
  CHECK_EVAL("{\"map\":[5,{\"var\":\"\"}]}", NULL, "[]");
  CHECK_EVAL("{\"map\":[[1,2]]}", NULL, "[null,null]");
  CHECK_EVAL("{\"filter\":[[0,1,\"\",[],\"0\",{}],{\"var\":\"\"}]}", NULL, "[1,\"0\",{}]");
  CHECK_EVAL("{\"map\":[{\"var\":\"order.items\"},{\"var\":\"sku\"}]}", SCOPE, "[\"a\",\"b\"]");
  CHECK_EVAL("{\"map\":[{\"filter\":[{\"var\":\"xs\"},{\">\":[{\"var\":\"\"},1]}]},"
             "{\"*\":[{\"var\":\"\"},10]}]}", "{\"xs\":[1,2,3]}", "[20,30]");
  /* reduce threads an owned accumulator (an array built by merge) through every step */
  CHECK_EVAL("{\"reduce\":[[1,2,3],{\"merge\":[{\"var\":\"accumulator\"},"
             "[{\"*\":[{\"var\":\"current\"},10]}]]},[]]}", NULL, "[10,20,30]");
  CHECK_EVAL("{\"reduce\":[{\"var\":\"order.items\"},{\"+\":[{\"var\":\"accumulator\"},"
             "{\"var\":\"current.qty\"}]},0]}", SCOPE, "7");
  /* The initial value is logic too (json-logic-js 2.x evaluates it). */
  CHECK_EVAL("{\"reduce\":[{\"var\":\"xs\"},{\"+\":[{\"var\":\"accumulator\"},"
             "{\"var\":\"current\"}]},{\"var\":\"start\"}]}", "{\"xs\":[1,2],\"start\":10}", "13");
  CHECK_EVAL("{\"reduce\":[\"nope\",{\"var\":\"current\"},{\"var\":\"start\"}]}",
             "{\"start\":{\"s\":1}}", "{\"s\":1}");
  CHECK_EVAL("{\"reduce\":[[1,2],{\"var\":\"current\"}]}", NULL, "2");
  CHECK_EVAL("{\"reduce\":[{\"var\":\"xs\"},{\"var\":\"current.k\"},null]}",
             "{\"xs\":[{\"k\":[1]},{\"k\":[2]}]}", "[2]");
}

TEST(jsonlogic_in_and_merge) {
  CHECK_EVAL("{\"in\":[1,[\"1\"]]}", NULL, "false"); /* strict membership */
  CHECK_EVAL("{\"in\":[1,[1]]}", NULL, "true");
  CHECK_EVAL("{\"in\":[\"\",\"abc\"]}", NULL, "true");
  CHECK_EVAL("{\"in\":[\"a\",\"\"]}", NULL, "false");
  CHECK_EVAL("{\"in\":[1,\"a1b\"]}", NULL, "true");
  CHECK_EVAL("{\"in\":[\"a\",{\"var\":\"o\"}]}", "{\"o\":{\"a\":1}}", "false");
  CHECK_EVAL("{\"in\":[{\"var\":\"xs.0\"},{\"var\":\"xs\"}]}", "{\"xs\":[[1]]}", "true");
  CHECK_EVAL("{\"in\":[[1],[[1]]]}", NULL, "false");
  CHECK_EVAL("{\"in\":[\"vip\",{\"var\":\"customer.tags\"}]}", SCOPE, "true");
  CHECK_EVAL("{\"merge\":[[1,[2]],3,null,{\"var\":\"customer.tags\"}]}", SCOPE,
             "[1,[2],3,null,\"vip\",\"new\"]");
}

TEST(jsonlogic_missing_and_missing_some) {
  CHECK_EVAL("{\"missing\":[\"a\",\"b.c\",\"d\",\"e\"]}",
             "{\"a\":\"\",\"b\":{\"c\":0},\"d\":null,\"e\":false}", "[\"a\",\"d\"]");
  CHECK_EVAL("{\"missing\":[\"order.id\",\"customer.phone\"]}", SCOPE, "[\"customer.phone\"]");
  CHECK_EVAL("{\"missing_some\":[1,[\"a\",\"b\"]]}", "{\"b\":\"\"}", "[\"a\",\"b\"]");
  CHECK_EVAL("{\"missing_some\":[\"1\",[\"a\",\"b\"]]}", "{\"a\":1}", "[]");
}

TEST(jsonlogic_missing_some_without_a_list_is_an_evaluation_error) {
  cJSON *rule = cJSON_Parse("{\"if\":[true,{\"missing_some\":[1,{\"var\":\"keys\"}]}]}");
  struct cond *c = NULL;
  struct err_detail d;
  cJSON *res = NULL;
  ASSERT_INT_EQ(cond_compile(rule, &c, &d), 0);
  ASSERT_INT_EQ(cond_eval(c, NULL, &res, &d), ERR_EVAL);
  ASSERT(res == NULL);
  ASSERT_STR_EQ(d.path, "/if/1/missing_some");
  ASSERT_STR_CONTAINS(d.msg, "list of keys");
  ASSERT_INT_EQ(cond_test(c, NULL, NULL), ERR_EVAL);
  cond_free(c);
  cJSON_Delete(rule);
}

TEST(jsonlogic_log_passes_its_value_through) {
  CHECK_EVAL("{\"log\":{\"var\":\"order.city\"}}", SCOPE, "\"Hanoi\"");
  CHECK_EVAL("{\"log\":[{\"cat\":[\"a\",\"b\"]}]}", NULL, "\"ab\"");
}

TEST(jsonlogic_engine_can_be_used_directly) {
  cJSON *rule = cJSON_Parse("{\"var\":\"x\"}"), *data = cJSON_Parse("{\"x\":[1]}"), *res = NULL;
  struct jsonlogic *jl = NULL;
  ASSERT_INT_EQ(jsonlogic_compile(rule, &jl, NULL), 0);
  ASSERT_INT_EQ(jsonlogic_test(jl, data, NULL), 1);
  ASSERT_INT_EQ(jsonlogic_eval(jl, data, &res, NULL), 0);
  ASSERT(cJSON_IsArray(res) && cJSON_GetArraySize(res) == 1);
  cJSON_Delete(res);
  jsonlogic_free(jl);
  cJSON_Delete(rule);
  cJSON_Delete(data);
}

/* ------------------------------------------------------------------------------------------
 * Odoo domains */

TEST(domain_rejects_unknown_operator_with_path) {
  CHECK_COMPILE_ERROR("{\"domain\":[[\"a\",\"=\",1],[\"b\",\"=\",2],[\"c\",\"lik\",\"x\"]]}",
                      ERR_PARSE, "/domain/2/1", "unknown domain operator \"lik\"");
  CHECK_COMPILE_ERROR("{\"domain\":[[\"lines\",\"any\",[[\"qty\",\">\",1],[\"x\",\"~\",1]]]]}",
                      ERR_PARSE, "/domain/0/2/1/1", "\"~\"");
}

TEST(domain_rejects_operators_without_operands) {
  CHECK_COMPILE_ERROR("{\"domain\":[\"|\",[\"a\",\"=\",1]]}", ERR_PARSE, "/domain/0", "2 operands");
  CHECK_COMPILE_ERROR("{\"domain\":[\"!\"]}", ERR_PARSE, "/domain/0", "1 operand");
  CHECK_COMPILE_ERROR("{\"domain\":[[\"a\",\"=\",1],\"&\",[\"b\",\"=\",1]]}", ERR_PARSE,
                      "/domain/1", "2 operands");
}

TEST(domain_rejects_malformed_items) {
  CHECK_COMPILE_ERROR("{\"domain\":{}}", ERR_PARSE, "/domain", "must be an array");
  CHECK_COMPILE_ERROR("{\"domain\":[[\"a\",\"=\",1],5]}", ERR_PARSE, "/domain/1", "a domain item");
  CHECK_COMPILE_ERROR("{\"domain\":[\"or\",[\"a\",\"=\",1]]}", ERR_PARSE, "/domain/0",
                      "a domain item");
  CHECK_COMPILE_ERROR("{\"domain\":[[\"a\",\"=\"]]}", ERR_PARSE, "/domain/0",
                      "[field, operator, value]");
  CHECK_COMPILE_ERROR("{\"domain\":[[2,\"=\",1]]}", ERR_PARSE, "/domain/0/0", "non-empty string");
  CHECK_COMPILE_ERROR("{\"domain\":[[\"a..b\",\"=\",1]]}", ERR_PARSE, "/domain/0/0",
                      "empty segment");
  CHECK_COMPILE_ERROR("{\"domain\":[[\"a\",5,1]]}", ERR_PARSE, "/domain/0/1", "must be a string");
  CHECK_COMPILE_ERROR("{\"domain\":[[\"a\",\"in\",[1,{\"x\":1}]]]}", ERR_PARSE, "/domain/0/2/1",
                      "list value");
  CHECK_COMPILE_ERROR("{\"domain\":[[\"a\",\">\",[1]]]}", ERR_PARSE, "/domain/0/2",
                      "number or a string");
  CHECK_COMPILE_ERROR("{\"domain\":[[\"ref\",\"=like\",12]]}", ERR_PARSE, "/domain/0/2",
                      "string pattern");
  CHECK_COMPILE_ERROR("{\"domain\":[[\"name\",\"ilike\",\"\"]]}", ERR_PARSE, "/domain/0/2",
                      "empty pattern");
  CHECK_COMPILE_ERROR("{\"domain\":[[\"parent_id\",\"child_of\",3]]}", ERR_PARSE, "/domain/0/1",
                      "hierarchy");
  CHECK_COMPILE_ERROR("{\"domain\":[[\"lines\",\"any\",5]]}", ERR_PARSE, "/domain/0/2", "a domain");
}

TEST(domain_unset_values_and_negative_operators) {
  CHECK_TEST("{\"domain\":[[\"email\",\"not like\",\"spam\"]]}", "{}", 1);
  CHECK_TEST("{\"domain\":[[\"email\",\"like\",\"spam\"]]}", "{}", 0);
  CHECK_TEST("{\"domain\":[[\"user_id\",\"!=\",false]]}", "{\"user_id\":3}", 1);
  CHECK_TEST("{\"domain\":[[\"user_id\",\"!=\",false]]}", "{\"user_id\":null}", 0);
  CHECK_TEST("{\"domain\":[[\"active\",\"=\",false]]}", "{\"active\":false}", 1);
  CHECK_TEST("{\"domain\":[[\"active\",\"=\",false]]}", "{}", 1);
  CHECK_TEST("{\"domain\":[[\"active\",\"!=\",true]]}", "{\"active\":false}", 1);
  CHECK_TEST("{\"domain\":[[\"active\",\"=\",true]]}", "{\"active\":true}", 1);
  CHECK_TEST("{\"domain\":[[\"active\",\"in\",[true,false]]]}", "{}", 1);
  CHECK_TEST("{\"domain\":[[\"tags\",\"=\",false]]}", "{\"tags\":[]}", 1);
  CHECK_TEST("{\"domain\":[[\"tags\",\"not in\",[\"vip\",\"x\"]]]}", "{\"tags\":[\"new\"]}", 1);
  CHECK_TEST("{\"domain\":[[\"tags\",\"not in\",[\"vip\",\"x\"]]]}", "{\"tags\":[\"new\",\"vip\"]}",
             0);
  CHECK_TEST("{\"domain\":[[\"amount\",\"<\",5]]}", "{\"amount\":null}", 0);
  CHECK_TEST("{\"domain\":[[\"amount\",\">=\",false]]}", "{\"amount\":3}", 0);
  CHECK_TEST("{\"domain\":[[\"n\",\"=\",2]]}", "{\"n\":2.0}", 1);
  CHECK_TEST("{\"domain\":[[\"n\",\"=\",5]]}", "{\"n\":\"5\"}", 0); /* no coercion */
}

TEST(domain_dotted_paths_are_existential) {
  const char *ne = "{\"domain\":[[\"lines.state\",\"!=\",\"done\"]]}";
  const char *none_done = "{\"domain\":[\"!\",[\"lines.state\",\"=\",\"done\"]]}";
  CHECK_TEST(ne, "{\"lines\":[{\"state\":\"done\"},{\"state\":\"open\"}]}", 1);
  CHECK_TEST(ne, "{\"lines\":[{\"state\":\"done\"}]}", 0);
  CHECK_TEST(ne, "{\"lines\":[]}", 0); /* no line at all: false even for != */
  CHECK_TEST(ne, "{}", 0);
  CHECK_TEST(none_done, "{\"lines\":[]}", 1);
  CHECK_TEST(none_done, "{\"lines\":[{\"state\":\"open\"}]}", 1);
  CHECK_TEST("{\"domain\":[[\"partner.country\",\"=\",false]]}", "{\"partner\":null}", 0);
  CHECK_TEST("{\"domain\":[[\"partner.country\",\"=\",false]]}", "{\"partner\":{}}", 1);
  CHECK_TEST("{\"domain\":[[\"order.amount\",\">=\",50000]]}", SCOPE, 1);
  CHECK_TEST("{\"domain\":[[\"order.items.qty\",\">\",4]]}", SCOPE, 1);
  CHECK_TEST("{\"domain\":[[\"customer.tags\",\"=\",\"vip\"]]}", SCOPE, 1);
}

TEST(domain_like_patterns_escapes_and_case) {
  CHECK_TEST("{\"domain\":[[\"code\",\"like\",\"50\\\\%\"]]}", "{\"code\":\"save 50% now\"}", 1);
  CHECK_TEST("{\"domain\":[[\"code\",\"like\",\"50\\\\%\"]]}", "{\"code\":\"save 500 now\"}", 0);
  CHECK_TEST("{\"domain\":[[\"code\",\"like\",\"a\\\\_c\"]]}", "{\"code\":\"xabcx\"}", 0);
  CHECK_TEST("{\"domain\":[[\"name\",\"=like\",\"Đ_c\"]]}", "{\"name\":\"Đức\"}", 1);
  CHECK_TEST("{\"domain\":[[\"name\",\"=like\",\"%Đức\"]]}", "{\"name\":\"Nguyễn Văn Đức\"}", 1);
  CHECK_TEST("{\"domain\":[[\"city\",\"ilike\",\"hà nội\"]]}", "{\"city\":\"Quận 1, HÀ NỘI\"}", 1);
  CHECK_TEST("{\"domain\":[[\"city\",\"=ilike\",\"ĐÀ NẴNG\"]]}", "{\"city\":\"đà nẵng\"}", 1);
  CHECK_TEST("{\"domain\":[[\"city\",\"ilike\",\"ha noi\"]]}", "{\"city\":\"Hà Nội\"}", 0);
  CHECK_TEST("{\"domain\":[[\"ref\",\"=ilike\",\"so%\"]]}", "{\"ref\":\"SO0123\"}", 1);
  CHECK_TEST("{\"domain\":[[\"zip\",\"like\",100]]}", "{\"zip\":\"10001\"}", 1);
  CHECK_TEST("{\"domain\":[[\"qty\",\"like\",\"2_\"]]}", "{\"qty\":250}", 1);
  CHECK_TEST("{\"domain\":[[\"tags\",\"ilike\",\"VI\"]]}", "{\"tags\":[\"new\",\"vip\"]}", 1);
}

TEST(domain_operators_are_case_insensitive) {
  CHECK_TEST("{\"domain\":[[\"tag\",\"NOT IN\",[\"a\"]]]}", "{\"tag\":\"b\"}", 1);
  CHECK_TEST("{\"domain\":[[\"name\",\"ILike\",\"X\"]]}", "{\"name\":\"box\"}", 1);
}

TEST(domain_dates_compare_by_day) {
  const char *after = "{\"domain\":[[\"at\",\">\",\"2024-03-15\"]]}";
  const char *upto = "{\"domain\":[[\"at\",\"<=\",\"2024-03-15\"]]}";
  CHECK_TEST(after, "{\"at\":\"2024-03-15 23:59:59\"}", 0);
  CHECK_TEST(after, "{\"at\":\"2024-03-16 00:00:00\"}", 1);
  CHECK_TEST(upto, "{\"at\":\"2024-03-15T08:30:00Z\"}", 1);
  CHECK_TEST(upto, "{\"at\":\"2024-03-16\"}", 0);
  CHECK_TEST("{\"domain\":[[\"at\",\"<\",\"2024-03-15 08:00:00\"]]}",
             "{\"at\":\"2024-03-15 07:59:59\"}", 1);
}

TEST(domain_equality_with_lists_and_optional_values) {
  CHECK_TEST("{\"domain\":[[\"state\",\"=\",[\"sale\",\"done\"]]]}", "{\"state\":\"done\"}", 1);
  CHECK_TEST("{\"domain\":[[\"state\",\"!=\",[\"sale\",\"done\"]]]}", "{\"state\":\"done\"}", 0);
  CHECK_TEST("{\"domain\":[[\"state\",\"=\",[]]]}", "{}", 1);
  CHECK_TEST("{\"domain\":[[\"state\",\"=\",[]]]}", "{\"state\":\"x\"}", 0);
  CHECK_TEST("{\"domain\":[[\"tag\",\"in\",\"x\"]]}", "{\"tag\":\"x\"}", 1);
  CHECK_TEST("{\"domain\":[[\"tag\",\"not in\",[]]]}", "{}", 1);
  CHECK_TEST("{\"domain\":[[\"user_id\",\"=?\",7]]}", "{\"user_id\":7}", 1);
  CHECK_TEST("{\"domain\":[[\"user_id\",\"=?\",7]]}", "{\"user_id\":8}", 0);
  CHECK_TEST("{\"domain\":[[\"user_id\",\"=?\",null]]}", "{}", 1);
  CHECK_TEST("{\"domain\":[[\"a\",\"==\",1]]}", "{\"a\":1}", 1);
  CHECK_TEST("{\"domain\":[[\"a\",\"<>\",1]]}", "{\"a\":1}", 0);
}

TEST(domain_any_and_not_any) {
  const char *rec = "{\"order_line\":[{\"qty\":10,\"price\":20},{\"qty\":1,\"price\":5}],"
                    "\"partner\":{\"country\":\"VN\",\"tags\":[\"vip\"]}}";
  CHECK_TEST("{\"domain\":[[\"order_line\",\"any\",[[\"qty\",\">\",5],[\"price\",\">\",10]]]]}",
             rec, 1);
  CHECK_TEST("{\"domain\":[[\"order_line\",\"not any\",[[\"qty\",\">\",50]]]]}", rec, 1);
  CHECK_TEST("{\"domain\":[[\"partner\",\"any\",[[\"country\",\"=\",\"VN\"]]]]}", rec, 1);
  CHECK_TEST("{\"domain\":[[\"partner\",\"any\",[[\"tags\",\"=\",\"x\"]]]]}", rec, 0);
  CHECK_TEST("{\"domain\":[[\"missing\",\"any\",[]]]}", rec, 0);
  CHECK_TEST("{\"domain\":[[\"missing\",\"not any\",[]]]}", rec, 1);
}

TEST(domain_logic_layer_and_constants) {
  CHECK_TEST("{\"domain\":[]}", NULL, 1);
  CHECK_TEST("{\"domain\":[[0,\"=\",1]]}", "{}", 0);
  CHECK_TEST("{\"domain\":[\"|\",[0,\"=\",1],[1,\"=\",1]]}", "{}", 1);
  CHECK_TEST("{\"domain\":[\"!\",\"!\",[\"a\",\"=\",1]]}", "{\"a\":1}", 1);
  CHECK_TEST("{\"domain\":[\"&\",\"&\",[\"a\",\"=\",1],[\"b\",\"=\",2],[\"c\",\"=\",3]]}",
             "{\"a\":1,\"b\":2,\"c\":3}", 1);
  CHECK_TEST("{\"domain\":[\"|\",\"&\",[\"a\",\"=\",1],[\"b\",\"=\",2],[\"c\",\"=\",3]]}",
             "{\"a\":1,\"b\":9,\"c\":3}", 1);
  CHECK_TEST("{\"domain\":[\"|\",\"&\",[\"a\",\"=\",1],[\"b\",\"=\",2],[\"c\",\"=\",3]]}",
             "{\"a\":1,\"b\":9,\"c\":9}", 0);
  CHECK_TEST("{\"domain\":[[\"a\",\"=\",1]]}", "[1]", 0); /* not a record: every field unset */
}

TEST(domain_rejects_nesting_too_deep) {
  cJSON *list = cJSON_CreateArray();
  for (int i = 0; i < 200; i++)
    cJSON_AddItemToArray(list, cJSON_CreateString(i % 2 ? "&" : "|"));
  for (int i = 0; i < 201; i++)
    cJSON_AddItemToArray(list, cJSON_Parse("[\"a\",\"=\",1]"));
  struct domain *dm = NULL;
  struct err_detail d;
  ASSERT_INT_EQ(domain_compile(list, &dm, &d), ERR_TOODEEP);
  ASSERT(dm == NULL);
  cJSON_Delete(list);
}

TEST(domain_long_same_operator_chains_stay_flat) {
  cJSON *list = cJSON_CreateArray(), *rec = cJSON_Parse("{\"a\":499}");
  for (int i = 0; i < 499; i++)
    cJSON_AddItemToArray(list, cJSON_CreateString("|"));
  for (int i = 0; i < 500; i++) {
    cJSON *t = cJSON_CreateArray();
    cJSON_AddItemToArray(t, cJSON_CreateString("a"));
    cJSON_AddItemToArray(t, cJSON_CreateString("="));
    cJSON_AddItemToArray(t, cJSON_CreateNumber(i));
    cJSON_AddItemToArray(list, t);
  }
  struct domain *dm = NULL;
  ASSERT_INT_EQ(domain_compile(list, &dm, NULL), 0);
  ASSERT_INT_EQ(domain_match(dm, rec), 1);
  domain_free(dm);
  cJSON_Delete(list);
  cJSON_Delete(rec);
}
