/* Tests of the JSON Schema validator: each keyword of the subset, every violation reported
 * with its JSON Pointer and a message naming the field, formats, $ref, compile errors. */
#include <stdio.h>
#include <stdlib.h>
#include "graph/jsonschema.h"
#include "tests/test.h"

#define MAXV 32

struct violations {
  int n;
  char path[MAXV][640];
  char keyword[MAXV][32];
  char format[MAXV][32];
  char message[MAXV][512];
};

static void collect(void *ud, const struct jsonschema_error *e) {
  struct violations *v = ud;
  if (v->n == MAXV)
    return;
  snprintf(v->path[v->n], sizeof v->path[0], "%s", e->path);
  snprintf(v->keyword[v->n], sizeof v->keyword[0], "%s", e->keyword);
  snprintf(v->format[v->n], sizeof v->format[0], "%s", e->format ? e->format : "");
  snprintf(v->message[v->n], sizeof v->message[0], "%s", e->message);
  v->n++;
}

/* Validates the JSON text value against the schema text; returns the violation count. */
static int check(const char *schema, const char *value, struct violations *v) {
  struct jsonschema *s = NULL;
  struct err_detail d = {"", ""};
  int rc = jsonschema_parse(schema, &s, &d);
  if (rc)
    test_fail(__FILE__, __LINE__, "schema does not compile: %s at %s", d.msg, d.path);
  cJSON *doc = cJSON_Parse(value);
  ASSERT_NOT_NULL(doc);
  memset(v, 0, sizeof *v);
  int n = jsonschema_validate(s, doc, "/config", "config", collect, v);
  for (int i = 0; i < v->n; i++)
    test_log("%s [%s] %s", v->path[i], v->keyword[i], v->message[i]);
  cJSON_Delete(doc);
  jsonschema_free(s);
  ASSERT_INT_EQ(n, v->n);
  return n;
}

static const char *OBJ =
    "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"kind\"],"
    "\"properties\":{\"kind\":{\"type\":\"string\"},\"strategy\":{\"enum\":[\"fixed\","
    "\"round_robin\"]},\"max\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":5},"
    "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"minLength\":1}}}}";

TEST(jsonschema_accepts_a_valid_value_without_violations) {
  struct violations v;
  ASSERT_INT_EQ(check(OBJ, "{\"kind\":\"order\",\"strategy\":\"fixed\",\"max\":3,"
                           "\"tags\":[\"a\",\"b\"]}", &v), 0);
}

TEST(jsonschema_reports_type_mismatch_with_pointer_and_field_name) {
  struct violations v;
  ASSERT_INT_EQ(check(OBJ, "{\"kind\":42}", &v), 1);
  ASSERT_STR_EQ(v.path[0], "/config/kind");
  ASSERT_STR_EQ(v.keyword[0], "type");
  ASSERT_STR_EQ(v.message[0], "kind must be a string, not a number");
}

TEST(jsonschema_reports_every_violation_not_just_the_first) {
  struct violations v;
  ASSERT_INT_EQ(check(OBJ, "{\"strategy\":\"rr\",\"max\":9,\"tags\":[\"\", 3],\"x\":1}", &v),
                6);
  ASSERT_STR_EQ(v.path[0], "/config/kind");
  ASSERT_STR_EQ(v.message[0], "kind is required");
  ASSERT_STR_EQ(v.path[1], "/config/strategy");
  ASSERT_STR_EQ(v.message[1], "strategy must be one of \"fixed\", \"round_robin\" (got \"rr\")");
  ASSERT_STR_EQ(v.path[2], "/config/max");
  ASSERT_STR_EQ(v.message[2], "max must be <= 5 (got 9)");
  ASSERT_STR_EQ(v.path[3], "/config/tags/0");
  ASSERT_STR_EQ(v.message[3], "tags[0] must not be empty");
  ASSERT_STR_EQ(v.path[4], "/config/tags/1");
  ASSERT_STR_EQ(v.message[4], "tags[1] must be a string, not a number");
  ASSERT_STR_EQ(v.path[5], "/config/x");
  ASSERT_STR_EQ(v.keyword[5], "additionalProperties");
  ASSERT_STR_EQ(v.message[5], "unknown field \"x\" in config");
}

TEST(jsonschema_unknown_field_suggests_the_closest_known_one) {
  struct violations v;
  ASSERT_INT_EQ(check(OBJ, "{\"kind\":\"a\",\"stratgy\":\"fixed\"}", &v), 1);
  ASSERT_STR_EQ(v.message[0], "unknown field \"stratgy\" in config (did you mean \"strategy\"?)");
}

TEST(jsonschema_root_type_error_names_the_root) {
  struct violations v;
  ASSERT_INT_EQ(check(OBJ, "[1]", &v), 1);
  ASSERT_STR_EQ(v.path[0], "/config");
  ASSERT_STR_EQ(v.message[0], "config must be an object, not an array");
}

TEST(jsonschema_integer_rejects_fractions_and_types_may_be_a_list) {
  struct violations v;
  ASSERT_INT_EQ(check("{\"type\":\"integer\"}", "2.5", &v), 1);
  ASSERT_STR_EQ(v.message[0], "config must be an integer, not a number");
  ASSERT_INT_EQ(check("{\"type\":\"integer\"}", "2.0", &v), 0);
  ASSERT_INT_EQ(check("{\"type\":[\"string\",\"null\"]}", "null", &v), 0);
  ASSERT_INT_EQ(check("{\"type\":[\"string\",\"null\"]}", "true", &v), 1);
  ASSERT_STR_EQ(v.message[0], "config must be null or a string, not a boolean");
}

TEST(jsonschema_checks_const_and_exclusive_bounds) {
  struct violations v;
  ASSERT_INT_EQ(check("{\"const\":\"any\"}", "\"all\"", &v), 1);
  ASSERT_STR_EQ(v.message[0], "config must be \"any\"");
  ASSERT_INT_EQ(check("{\"exclusiveMinimum\":0,\"exclusiveMaximum\":1}", "0", &v), 1);
  ASSERT_STR_EQ(v.message[0], "config must be > 0 (got 0)");
  ASSERT_INT_EQ(check("{\"exclusiveMinimum\":0,\"exclusiveMaximum\":1}", "0.5", &v), 0);
}

TEST(jsonschema_counts_string_length_in_code_points) {
  struct violations v;
  /* "Đơn" is three characters but five bytes. */
  ASSERT_INT_EQ(check("{\"type\":\"string\",\"maxLength\":3}", "\"\xc4\x90\xc6\xa1n\"", &v), 0);
  ASSERT_INT_EQ(check("{\"type\":\"string\",\"maxLength\":2}", "\"\xc4\x90\xc6\xa1n\"", &v), 1);
  ASSERT_STR_EQ(v.message[0], "config must be at most 2 characters long (has 3)");
  ASSERT_INT_EQ(check("{\"type\":\"string\",\"minLength\":2}", "\"a\"", &v), 1);
  ASSERT_STR_EQ(v.message[0], "config must be at least 2 characters long");
}

TEST(jsonschema_pattern_is_an_unanchored_posix_regex) {
  struct violations v;
  const char *s = "{\"type\":\"string\",\"pattern\":\"^[a-z][a-z0-9_]*$\"}";
  ASSERT_INT_EQ(check(s, "\"order_2\"", &v), 0);
  ASSERT_INT_EQ(check(s, "\"Order\"", &v), 1);
  ASSERT_STR_EQ(v.keyword[0], "pattern");
  ASSERT_STR_EQ(v.message[0], "config must match the pattern ^[a-z][a-z0-9_]*$");
  ASSERT_INT_EQ(check("{\"pattern\":\"mp3\"}", "\"a.mp3?x\"", &v), 0);
}

TEST(jsonschema_x_error_replaces_the_message_of_a_constraint) {
  struct violations v;
  ASSERT_INT_EQ(check("{\"type\":\"string\",\"pattern\":\"^[a-z]+$\",\"x-error\":\"must be a "
                      "lower-case word\"}", "\"A1\"", &v), 1);
  ASSERT_STR_EQ(v.message[0], "config must be a lower-case word");
  ASSERT_INT_EQ(check("{\"type\":\"string\",\"x-error\":\"must be a word\"}", "1", &v), 1);
  ASSERT_STR_EQ(v.message[0], "config must be a string, not a number");
}

TEST(jsonschema_checks_array_size_and_unique_items) {
  struct violations v;
  const char *s = "{\"type\":\"array\",\"minItems\":1,\"maxItems\":3,\"uniqueItems\":true}";
  ASSERT_INT_EQ(check(s, "[]", &v), 1);
  ASSERT_STR_EQ(v.message[0], "config must not be empty");
  ASSERT_INT_EQ(check(s, "[1,2,3,4]", &v), 1);
  ASSERT_STR_EQ(v.message[0], "config must have at most 3 items (has 4)");
  ASSERT_INT_EQ(check(s, "[\"a\",\"b\",\"a\"]", &v), 1);
  ASSERT_STR_EQ(v.path[0], "/config/2");
  ASSERT_STR_EQ(v.message[0], "config[2] repeats item 0");
}

TEST(jsonschema_checks_object_size_and_property_names) {
  struct violations v;
  const char *s = "{\"type\":\"object\",\"minProperties\":1,\"propertyNames\":{\"pattern\":"
                  "\"^[a-z]+$\"},\"additionalProperties\":{\"type\":\"string\"}}";
  ASSERT_INT_EQ(check(s, "{}", &v), 1);
  ASSERT_STR_EQ(v.message[0], "config must have at least 1 field");
  ASSERT_INT_EQ(check(s, "{\"ok\":\"x\",\"Bad\":\"y\",\"n\":1}", &v), 2);
  ASSERT_STR_EQ(v.path[0], "/config/Bad");
  ASSERT_STR_EQ(v.keyword[0], "propertyNames");
  ASSERT_STR_CONTAINS(v.message[0], "\"Bad\" is not an allowed name in config");
  ASSERT_STR_EQ(v.path[1], "/config/n");
  ASSERT_STR_EQ(v.message[1], "n must be a string, not a number");
}

TEST(jsonschema_escapes_tilde_and_slash_in_pointers) {
  struct violations v;
  ASSERT_INT_EQ(check("{\"additionalProperties\":{\"type\":\"string\"}}", "{\"a/b~c\":1}", &v),
                1);
  ASSERT_STR_EQ(v.path[0], "/config/a~1b~0c");
}

TEST(jsonschema_names_nested_fields_by_dotted_path) {
  struct violations v;
  const char *s = "{\"properties\":{\"cases\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
                  "\"required\":[\"port\"],\"properties\":{\"when\":{\"type\":\"object\"}}}}}}";
  ASSERT_INT_EQ(check(s, "{\"cases\":[{\"port\":\"a\",\"when\":{}},{\"when\":1}]}", &v), 2);
  ASSERT_STR_EQ(v.path[0], "/config/cases/1/port");
  ASSERT_STR_EQ(v.message[0], "cases[1].port is required");
  ASSERT_STR_EQ(v.path[1], "/config/cases/1/when");
  ASSERT_STR_EQ(v.message[1], "cases[1].when must be an object, not a number");
}

TEST(jsonschema_resolves_refs_to_defs_including_recursive_ones) {
  struct violations v;
  const char *s = "{\"$defs\":{\"tree\":{\"type\":\"object\",\"additionalProperties\":false,"
                  "\"properties\":{\"v\":{\"type\":\"integer\"},\"kids\":{\"type\":\"array\","
                  "\"items\":{\"$ref\":\"#/$defs/tree\"}}}}},\"$ref\":\"#/$defs/tree\"}";
  ASSERT_INT_EQ(check(s, "{\"v\":1,\"kids\":[{\"v\":2,\"kids\":[{\"v\":3}]}]}", &v), 0);
  ASSERT_INT_EQ(check(s, "{\"v\":1,\"kids\":[{\"v\":2,\"kids\":[{\"v\":\"x\"}]}]}", &v), 1);
  ASSERT_STR_EQ(v.path[0], "/config/kids/0/kids/0/v");
  ASSERT_STR_EQ(v.message[0], "kids[0].kids[0].v must be an integer, not a string");
}

TEST(jsonschema_ref_loop_without_progress_is_reported_not_followed_forever) {
  struct violations v;
  ASSERT_INT_EQ(check("{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/a\"}},\"$ref\":\"#/$defs/a\"}",
                      "1", &v), 1);
  ASSERT_STR_CONTAINS(v.message[0], "nested too deeply");
}

TEST(jsonschema_oneof_reports_the_branch_that_accepted_the_type) {
  struct violations v;
  const char *s = "{\"oneOf\":[{\"type\":\"string\",\"minLength\":1},{\"type\":\"object\","
                  "\"required\":[\"strategy\"]}]}";
  ASSERT_INT_EQ(check(s, "\"s_lan\"", &v), 0);
  ASSERT_INT_EQ(check(s, "{}", &v), 1);
  ASSERT_STR_EQ(v.path[0], "/config/strategy");
  ASSERT_STR_EQ(v.message[0], "strategy is required");
  ASSERT_INT_EQ(check(s, "7", &v), 1);
  ASSERT_STR_EQ(v.keyword[0], "type");
  ASSERT_STR_EQ(v.message[0], "config must be an object or a string, not a number");
}

TEST(jsonschema_oneof_rejects_a_value_matching_two_branches) {
  struct violations v;
  const char *s = "{\"oneOf\":[{\"required\":[\"for\"]},{\"required\":[\"until\"]}],"
                  "\"x-error\":\"needs either for or until, not both\"}";
  ASSERT_INT_EQ(check(s, "{\"for\":\"1h\"}", &v), 0);
  ASSERT_INT_EQ(check(s, "{\"for\":\"1h\",\"until\":\"x\"}", &v), 1);
  ASSERT_STR_EQ(v.keyword[0], "oneOf");
  ASSERT_STR_EQ(v.message[0], "config needs either for or until, not both");
  ASSERT_INT_EQ(check(s, "{}", &v), 1);
  ASSERT_STR_EQ(v.message[0], "config needs either for or until, not both");
}

TEST(jsonschema_anyof_and_allof_combine_schemas) {
  struct violations v;
  const char *any = "{\"anyOf\":[{\"type\":\"integer\",\"minimum\":100},{\"type\":\"string\","
                    "\"pattern\":\"^[1-5]xx$\"}]}";
  ASSERT_INT_EQ(check(any, "200", &v), 0);
  ASSERT_INT_EQ(check(any, "\"2xx\"", &v), 0);
  ASSERT_INT_EQ(check(any, "\"9xx\"", &v), 1);
  ASSERT_STR_EQ(v.keyword[0], "pattern");
  const char *all = "{\"allOf\":[{\"minimum\":1},{\"maximum\":3}]}";
  ASSERT_INT_EQ(check(all, "2", &v), 0);
  ASSERT_INT_EQ(check(all, "4", &v), 1);
}

TEST(jsonschema_false_schema_rejects_and_true_schema_accepts) {
  struct violations v;
  ASSERT_INT_EQ(check("{\"properties\":{\"a\":false,\"b\":true}}", "{\"a\":1,\"b\":[2]}", &v),
                1);
  ASSERT_STR_EQ(v.message[0], "a is not allowed here");
}

TEST(jsonschema_format_duration_uses_the_duration_parser) {
  struct violations v;
  const char *s = "{\"type\":\"string\",\"format\":\"duration\"}";
  ASSERT_INT_EQ(check(s, "\"1h30m\"", &v), 0);
  ASSERT_INT_EQ(check(s, "\"5 minutes\"", &v), 1);
  ASSERT_STR_EQ(v.keyword[0], "format");
  ASSERT_STR_EQ(v.format[0], "duration");
  ASSERT_STR_CONTAINS(v.message[0], "config is not a valid duration");
}

TEST(jsonschema_format_template_reports_the_parse_error) {
  struct violations v;
  const char *s = "{\"type\":\"string\",\"format\":\"template\"}";
  ASSERT_INT_EQ(check(s, "\"Hi {{customer.name}}\"", &v), 0);
  ASSERT_INT_EQ(check(s, "\"Hi {{#items}} never closed\"", &v), 1);
  ASSERT_STR_EQ(v.format[0], "template");
  ASSERT_STR_CONTAINS(v.message[0], "config is not a valid template: ");
}

TEST(jsonschema_format_cron_checks_fields_and_ranges) {
  char msg[200];
  ASSERT_INT_EQ(jsonschema_check_format("cron", "0 9 * * 1-5", msg, sizeof msg), 1);
  ASSERT_INT_EQ(jsonschema_check_format("cron", "*/15 8-18 1,15 jan-jun mon", msg, sizeof msg),
                1);
  ASSERT_INT_EQ(jsonschema_check_format("cron", "@daily", msg, sizeof msg), 1);
  ASSERT_INT_EQ(jsonschema_check_format("cron", "0 25 * * *", msg, sizeof msg), 0);
  ASSERT_STR_EQ(msg, "hour field: 25 is out of range 0-23");
  ASSERT_INT_EQ(jsonschema_check_format("cron", "0 9 * *", msg, sizeof msg), 0);
  ASSERT_STR_CONTAINS(msg, "needs 5 fields");
  ASSERT_INT_EQ(jsonschema_check_format("cron", "0 9 * * * *", msg, sizeof msg), 0);
  ASSERT_INT_EQ(jsonschema_check_format("cron", "0 9 * * 5-1", msg, sizeof msg), 0);
  ASSERT_STR_CONTAINS(msg, "backwards");
  ASSERT_INT_EQ(jsonschema_check_format("cron", "@sometimes", msg, sizeof msg), 0);
}

TEST(jsonschema_format_email_uri_and_date_time) {
  ASSERT_INT_EQ(jsonschema_check_format("email", "lan@shop.vn", NULL, 0), 1);
  ASSERT_INT_EQ(jsonschema_check_format("email", "lan@shop", NULL, 0), 0);
  ASSERT_INT_EQ(jsonschema_check_format("email", "lan shop@x.vn", NULL, 0), 0);
  ASSERT_INT_EQ(jsonschema_check_format("uri", "https://cdn.example.com/a.mp3", NULL, 0), 1);
  ASSERT_INT_EQ(jsonschema_check_format("uri", "cdn.example.com/a.mp3", NULL, 0), 0);
  ASSERT_INT_EQ(jsonschema_check_format("date-time", "2026-11-22T14:38:29+07:00", NULL, 0), 1);
  ASSERT_INT_EQ(jsonschema_check_format("date-time", "22/11/2026", NULL, 0), 0);
  ASSERT_INT_EQ(jsonschema_check_format("colour", "red", NULL, 0), ERR_NOTFOUND);
}

TEST(jsonschema_format_ignores_values_that_are_not_strings) {
  struct violations v;
  ASSERT_INT_EQ(check("{\"format\":\"duration\"}", "5", &v), 0);
}

static int compile_error(const char *schema, struct err_detail *d) {
  struct jsonschema *s = (struct jsonschema *)1;
  int rc = jsonschema_parse(schema, &s, d);
  ASSERT(s == NULL);
  return rc;
}

TEST(jsonschema_compile_rejects_unknown_keywords_refs_patterns_and_formats) {
  struct err_detail d;
  ASSERT_INT_EQ(compile_error("{\"properties\":{\"a\":{\"tpye\":\"string\"}}}", &d), ERR_PARSE);
  ASSERT_STR_EQ(d.path, "/properties/a/tpye");
  ASSERT_STR_CONTAINS(d.msg, "unsupported keyword \"tpye\"");
  ASSERT_INT_EQ(compile_error("{\"$ref\":\"#/$defs/nope\"}", &d), ERR_PARSE);
  ASSERT_STR_EQ(d.path, "/$ref");
  ASSERT_INT_EQ(compile_error("{\"pattern\":\"(\"}", &d), ERR_PARSE);
  ASSERT_STR_CONTAINS(d.msg, "pattern does not compile");
  ASSERT_INT_EQ(compile_error("{\"format\":\"colour\"}", &d), ERR_PARSE);
  ASSERT_INT_EQ(compile_error("{\"type\":\"text\"}", &d), ERR_PARSE);
  ASSERT_INT_EQ(compile_error("{\"oneOf\":[{\"type\":\"string\"},{\"minimum\":\"x\"}]}", &d),
                ERR_PARSE);
  ASSERT_STR_EQ(d.path, "/oneOf/1/minimum");
  ASSERT_INT_EQ(compile_error("not json", &d), ERR_PARSE);
}

TEST(jsonschema_compile_accepts_annotations_and_x_keywords) {
  struct violations v;
  ASSERT_INT_EQ(check("{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
                      "\"title\":\"T\",\"description\":\"D\",\"default\":1,\"examples\":[1],"
                      "\"x-widget\":\"duration\",\"$comment\":\"c\"}", "1", &v), 0);
}

TEST(jsonschema_validates_missing_value_as_missing) {
  struct jsonschema *s = NULL;
  ASSERT_INT_EQ(jsonschema_parse("{\"type\":\"object\"}", &s, NULL), 0);
  struct violations v = {0};
  ASSERT_INT_EQ(jsonschema_validate(s, NULL, "", NULL, collect, &v), 1);
  ASSERT_STR_EQ(v.path[0], "");
  ASSERT_STR_EQ(v.message[0], "value is missing; it must be an object");
  jsonschema_free(s);
}

TEST(jsonschema_long_paths_are_kept_whole) {
  /* Forty levels of nesting: the pointer outgrows the in-place buffer and must move. */
  char schema[8192] = "", value[4096] = "";
  for (int i = 0; i < 40; i++) {
    strcat(schema, "{\"properties\":{\"level_name\":");
    strcat(value, "{\"level_name\":");
  }
  strcat(schema, "{\"type\":\"string\"}");
  strcat(value, "1");
  for (int i = 0; i < 40; i++) {
    strcat(schema, "}}");
    strcat(value, "}");
  }
  struct violations v;
  ASSERT_INT_EQ(check(schema, value, &v), 1);
  ASSERT_INT_EQ(strlen(v.path[0]), strlen("/config") + 40 * strlen("/level_name"));
}
