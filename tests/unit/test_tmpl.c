/* Tests of tmpl beyond the Mustache spec: legacy #TOKEN#s, numbers, Vietnamese text, compile
 * errors with their positions, compile-once render-many, and the choices the spec leaves to us. */
#include <stdio.h>
#include <stdlib.h>
#include <cjson/cJSON.h>
#include "graph/jsonnum.h"
#include "graph/tmpl.h"
#include "tests/test.h"

static const char *ORDER = "{\"order\": {\"id\": \"SO1024\", \"amount\": 50000},"
                           " \"customer\": {\"name\": \"Nguyễn Văn An\", \"phone\": \"0901234567\","
                           "               \"email\": \"an@example.vn\"}}";

/* Renders src against the JSON text data (NULL for no data); fails the test on error. */
static char *render(const char *src, const char *data) {
  cJSON *d = data ? cJSON_Parse(data) : NULL;
  if (data && !d)
    test_fail(__FILE__, __LINE__, "bad test data: %s", data);
  struct err_detail det = {{0}, {0}};
  char *out = NULL;
  int rc = tmpl_render_str(src, d, NULL, &out, &det);
  cJSON_Delete(d);
  if (rc)
    test_fail(__FILE__, __LINE__, "render of \"%s\" failed: %s (%s)", src, err_name(rc), det.msg);
  return out;
}

#define CHECK(src, data, want)                                                                     \
  do {                                                                                             \
    char *got_ = render((src), (data));                                                            \
    ASSERT_STR_EQ(got_, (want));                                                                   \
    free(got_);                                                                                    \
  } while (0)

/* Compiles src expecting failure with code; returns the message. */
static const char *compile_error(const char *src, int code) {
  static struct err_detail det;
  struct tmpl *t = NULL;
  memset(&det, 0, sizeof det);
  int rc = tmpl_compile(src, &t, &det);
  if (rc != code)
    test_fail(__FILE__, __LINE__, "compile of \"%s\": got %s, want %s", src, err_name(rc),
              err_name(code));
  if (t)
    test_fail(__FILE__, __LINE__, "a failed compile returned a template");
  return det.msg;
}

TEST(tmpl_legacy_tokens_render_order_and_customer_fields) {
  CHECK("#ORDER_ID#|#NAME#|#PHONE#|#EMAIL#", ORDER,
        "SO1024|Nguyễn Văn An|0901234567|an@example.vn");
  CHECK("Mã đơn: #ORDER_ID#.", "{\"order\": {\"id\": 1024}}", "Mã đơn: 1024.");
}

TEST(tmpl_legacy_tokens_are_not_html_escaped) {
  CHECK("#NAME# / {{customer.name}}", "{\"customer\": {\"name\": \"Tom & <Jerry>\"}}",
        "Tom & <Jerry> / Tom &amp; &lt;Jerry&gt;");
}

TEST(tmpl_legacy_tokens_with_missing_values_render_empty) {
  CHECK("[#ORDER_ID#][#NAME#][#PHONE#][#EMAIL#]", "{}", "[][][][]");
  CHECK("[#NAME#]", NULL, "[]");
  CHECK("[#PHONE#]", "{\"customer\": {\"phone\": null}}", "[]");
}

TEST(tmpl_unknown_hash_words_stay_as_written) {
  CHECK("#FOO# #ORDER# #name# #NAME #ORDER_ID", ORDER, "#FOO# #ORDER# #name# #NAME #ORDER_ID");
  CHECK("##NAME## and #FOO#NAME#", ORDER, "#Nguyễn Văn An# and #FOONguyễn Văn An");
  {
    struct tmpl *t = NULL;
    ASSERT_INT_EQ(tmpl_compile("Giảm 10% cho đơn #1 #FOO#", &t, NULL), 0);
    ASSERT_INT_EQ(tmpl_is_constant(t), 1);
    tmpl_free(t);
  }
}

TEST(tmpl_legacy_tokens_mix_with_mustache) {
  CHECK("Đơn #ORDER_ID# của {{customer.name}}", ORDER, "Đơn SO1024 của Nguyễn Văn An");
  CHECK("{{#customer}}Chào {{name}}, đơn #ORDER_ID# đã giao.{{/customer}}", ORDER,
        "Chào Nguyễn Văn An, đơn SO1024 đã giao.");
  /* A legacy token on a line is text, so a section tag beside it is not standalone. */
  CHECK("#NAME# {{#order}}\nok{{/order}}", ORDER, "Nguyễn Văn An \nok");
}

TEST(tmpl_numbers_print_as_javascript_does) {
  CHECK("{{power}} {{mph}} {{amount}}", "{\"power\": 1.21, \"mph\": 85, \"amount\": 50000}",
        "1.21 85 50000");
  CHECK("{{a}} {{b}} {{c}} {{d}}", "{\"a\": 0.1, \"b\": -3, \"c\": 1e21, \"d\": 2.50}",
        "0.1 -3 1e+21 2.5");
  CHECK("{{yes}} {{no}}", "{\"yes\": true, \"no\": false}", "true false");
  CHECK("{{a}} {{b}} {{c}}", "{\"a\": -0, \"b\": 9007199254740991, \"c\": 1152921504606846976}",
        "0 9007199254740991 1152921504606847000");
}

/* Integers take a short path in tmpl; it must print exactly what jsonnum prints. */
TEST(tmpl_numbers_agree_with_jsonnum) {
  struct tmpl *t = NULL;
  ASSERT_INT_EQ(tmpl_compile("{{n}}", &t, NULL), 0);
  cJSON *d = cJSON_CreateObject();
  cJSON *n = cJSON_AddNumberToObject(d, "n", 0);
  double v = 1;
  for (int i = 0; i < 2000; i++) {
    double vals[4] = {v, -v, v + 0.5, v < 1e15 ? (double)(int64_t)v - 1 : v * 3};
    for (int k = 0; k < 4; k++) {
      char want[JSONNUM_BUFSIZE], *got = NULL;
      cJSON_SetNumberValue(n, vals[k]);
      jsonnum_format(vals[k], want);
      ASSERT_INT_EQ(tmpl_render(t, d, NULL, &got, NULL), 0);
      ASSERT_STR_EQ(got, want);
      free(got);
    }
    v = v * 1.37 + 1; /* walks past 2^53 and up to 1e21 and beyond */
    if (v > 1e30)
      v = 3;
  }
  cJSON_Delete(d);
  tmpl_free(t);
}

TEST(tmpl_vietnamese_text_passes_through) {
  CHECK("Xin chào {{name}}, đơn hàng của bạn đã được giao thành công. Cảm ơn bạn! 🎉",
        "{\"name\": \"Trần Thị Bích Ngọc\"}",
        "Xin chào Trần Thị Bích Ngọc, đơn hàng của bạn đã được giao thành công. Cảm ơn bạn! 🎉");
  CHECK("{{{note}}}", "{\"note\": \"Giao trước 17h, gọi trước khi đến\"}",
        "Giao trước 17h, gọi trước khi đến");
}

TEST(tmpl_empty_string_and_zero_are_falsy_sections) {
  CHECK("[{{#s}}yes{{/s}}{{^s}}no{{/s}}]", "{\"s\": \"\"}", "[no]");
  CHECK("[{{#n}}yes{{/n}}{{^n}}no{{/n}}]", "{\"n\": 0}", "[no]");
  CHECK("[{{#s}}{{.}}{{/s}}]", "{\"s\": \"0\"}", "[0]");
  CHECK("[{{#n}}{{.}}{{/n}}]", "{\"n\": 7}", "[7]");
  CHECK("[{{#o}}yes{{/o}}]", "{\"o\": {}}", "[yes]");
}

TEST(tmpl_truthy_scalars_are_pushed_and_sigils_may_be_padded) {
  CHECK("{{#flag}}[{{.}}]{{/flag}}", "{\"flag\": true}", "[true]");
  CHECK("{{ #items }}{{ . }},{{ /items }}{{ ^none }}-{{ /none }}", "{\"items\": [1, 2]}", "1,2,-");
}

TEST(tmpl_objects_and_arrays_interpolate_as_json) {
  const char *d = "{\"o\": {\"a\": [1, 2.5, \"x<\\n\"], \"b\": null, \"c\": true}}";
  CHECK("{{{o}}}", d, "{\"a\":[1,2.5,\"x<\\n\"],\"b\":null,\"c\":true}");
  CHECK("{{o.a}}", d, "[1,2.5,&quot;x&lt;\\n&quot;]");
}

TEST(tmpl_numeric_segments_index_arrays) {
  CHECK("{{items.0.name}}/{{items.1.name}}/{{items.2.name}}/{{items.01.name}}",
        "{\"items\": [{\"name\": \"Áo\"}, {\"name\": \"Quần\"}]}", "Áo/Quần//");
}

TEST(tmpl_compiles_once_and_renders_many) {
  struct tmpl *t = NULL;
  ASSERT_INT_EQ(tmpl_compile("{{#items}}{{name}} x{{qty}}\n{{/items}}Tổng: {{total}}", &t, NULL),
                0);
  ASSERT_INT_EQ(tmpl_is_constant(t), 0);
  const char *data[3] = {"{\"items\": [{\"name\": \"Áo\", \"qty\": 2}], \"total\": 300000}",
                         "{\"items\": [], \"total\": 0}",
                         "{\"items\": [{\"name\": \"A\", \"qty\": 1}, {\"name\": \"B\", \"qty\": "
                         "3}], \"total\": 1.5}"};
  const char *want[3] = {"Áo x2\nTổng: 300000", "Tổng: 0", "A x1\nB x3\nTổng: 1.5"};
  for (int round = 0; round < 2; round++)
    for (int i = 0; i < 3; i++) {
      cJSON *d = cJSON_Parse(data[i]);
      char *out = NULL;
      ASSERT_INT_EQ(tmpl_render(t, d, NULL, &out, NULL), 0);
      ASSERT_STR_EQ(out, want[i]);
      free(out);
      cJSON_Delete(d);
    }
  tmpl_free(t);
}

TEST(tmpl_is_constant_only_without_tags) {
  const struct {
    const char *src;
    int constant;
  } cases[] = {{"", 1},       {"Cảm ơn bạn!", 1}, {"{ not a tag }", 1}, {"#FOO#", 1}, {"{{a}}", 0},
               {"#NAME#", 0}, {"{{! note }}", 0}, {"{{#a}}{{/a}}", 0},  {"{{>p}}", 0}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct tmpl *t = NULL;
    ASSERT_INT_EQ(tmpl_compile(cases[i].src, &t, NULL), 0);
    if (tmpl_is_constant(t) != cases[i].constant)
      test_fail(__FILE__, __LINE__, "tmpl_is_constant(\"%s\") != %d", cases[i].src,
                cases[i].constant);
    tmpl_free(t);
  }
}

TEST(tmpl_compile_errors_name_line_and_column) {
  ASSERT_STR_EQ(compile_error("Hello\n  {{#items}}x", ERR_PARSE),
                "line 2, column 3: unclosed section \"items\"");
  ASSERT_STR_EQ(compile_error("{{#a}}\n{{#b}}x{{/a}}", ERR_PARSE),
                "line 2, column 8: closing tag \"a\" does not match open section \"b\"");
  ASSERT_STR_EQ(compile_error("x {{/a}}", ERR_PARSE),
                "line 1, column 3: closing tag \"a\" without an open section");
  ASSERT_STR_EQ(compile_error("Chào {{name", ERR_PARSE),
                "line 1, column 6: unclosed tag: expected \"}}\"");
  ASSERT_STR_EQ(compile_error("a\nb\nĐơn {{{x}}", ERR_PARSE),
                "line 3, column 5: unclosed tag: expected \"}}}\"");
  ASSERT_STR_CONTAINS(compile_error("\n {{=<% %> x=}}", ERR_PARSE),
                      "line 2, column 2: bad delimiters");
  ASSERT_STR_CONTAINS(compile_error("{{=<%=}}", ERR_PARSE), "line 1, column 1: bad delimiters");
  ASSERT_STR_CONTAINS(compile_error("{{=<% %>}}", ERR_PARSE), "unclosed tag: expected \"=}}\"");
  ASSERT_STR_EQ(compile_error("{{=<% %>=}}\n<%#a%><%/b%>", ERR_PARSE),
                "line 2, column 7: closing tag \"b\" does not match open section \"a\"");
  ASSERT_STR_EQ(compile_error("x{{}}", ERR_PARSE), "line 1, column 2: empty tag name");
  ASSERT_STR_EQ(compile_error("{{a b}}", ERR_PARSE), "line 1, column 1: invalid tag name \"a b\"");
  ASSERT_STR_EQ(compile_error("{{a..b}}", ERR_PARSE),
                "line 1, column 1: invalid tag name \"a..b\"");
  ASSERT_STR_EQ(compile_error("{{> }}", ERR_PARSE), "line 1, column 1: empty partial name");
}

TEST(tmpl_deep_nesting_is_an_error_not_a_crash) {
  char src[2048] = "";
  for (int i = 0; i < 101; i++)
    strcat(src, "{{#a}}");
  ASSERT_STR_CONTAINS(compile_error(src, ERR_TOODEEP), "nested deeper than 100");

  cJSON *partials = cJSON_Parse("{\"loop\": \"x{{>loop}}\"}");
  char *out = NULL;
  struct err_detail det = {{0}, {0}};
  ASSERT_INT_EQ(tmpl_render_str("{{>loop}}", NULL, partials, &out, &det), ERR_TOODEEP);
  ASSERT(out == NULL);
  ASSERT_STR_CONTAINS(det.msg, "nested deeper than");
  cJSON_Delete(partials);
}

TEST(tmpl_partials_missing_bad_and_failing) {
  cJSON *p = cJSON_Parse("{\"n\": 5, \"bad\": \"a\\n {{#x}}\", \"ok\": \"[{{v}}]\"}");
  cJSON *d = cJSON_Parse("{\"v\": \"Hà Nội\"}");
  char *out = NULL;
  struct err_detail det = {{0}, {0}};
  ASSERT_INT_EQ(tmpl_render_str("<{{>missing}}>{{>ok}}", d, p, &out, &det), 0);
  ASSERT_STR_EQ(out, "<>[Hà Nội]");
  free(out);
  ASSERT_INT_EQ(tmpl_render_str("<{{>ok}}>", d, NULL, &out, &det), 0);
  ASSERT_STR_EQ(out, "<>");
  free(out);
  ASSERT_INT_EQ(tmpl_render_str("{{>n}}", d, p, &out, &det), ERR_TYPE);
  ASSERT_STR_EQ(det.msg, "partial \"n\" is not a string");
  /* The indented copy fails too, but the message gives the columns of the partial as written. */
  ASSERT_INT_EQ(tmpl_render_str("  {{>bad}}\n", d, p, &out, &det), ERR_PARSE);
  ASSERT_STR_EQ(det.msg, "partial \"bad\": line 2, column 2: unclosed section \"x\"");
  cJSON_Delete(p);
  cJSON_Delete(d);
}

TEST(tmpl_rejects_null_arguments) {
  char *out = (char *)1;
  ASSERT_INT_EQ(tmpl_compile(NULL, NULL, NULL), ERR_INVAL);
  ASSERT_INT_EQ(tmpl_render(NULL, NULL, NULL, &out, NULL), ERR_INVAL);
  ASSERT(out == NULL);
  ASSERT_INT_EQ(tmpl_is_constant(NULL), 0);
  tmpl_free(NULL);
}
