/* Tests of the node-type registry: the start-up check, the catalog the editor reads, ports
 * (fixed and dynamic), and the config schemas themselves. */
#include <stdio.h>
#include <stdlib.h>
#include "graph/jsonschema.h"
#include "nodes/registry.h"
#include "server/embedded.h"
#include "tests/test.h"

/* SPEC §1's node-type table: every type and its ports. */
static const struct {
  const char *name, *group, *ports;
} spec[] = {
    {"trigger.record", "trigger", "out"},
    {"trigger.event", "trigger", "out"},
    {"trigger.schedule", "trigger", "out"},
    {"trigger.manual", "trigger", "out"},
    {"branch.if", "condition", "true,false"},
    {"branch.switch", "condition", "default"},
    {"delay", "control", "out"},
    {"wait.event", "control", "event,timeout"},
    {"set", "control", "out"},
    {"stop", "control", ""},
    {"action.update_record", "action", "out,error"},
    {"action.assign", "action", "assigned,unassigned,error"},
    {"action.create_task", "action", "out,error"},
    {"action.send_sms", "action", "out,error"},
    {"action.send_email", "action", "out,error"},
    {"action.robocall", "action", "out,error"},
    {"action.send_message", "action", "out,error"},
    {"action.http", "action", "out,error"},
    {"action.notify", "action", "out,error"},
};
#define NSPEC (sizeof spec / sizeof spec[0])

static void ports_text(const cJSON *ports, char *buf, size_t len) {
  buf[0] = '\0';
  const cJSON *p;
  cJSON_ArrayForEach(p, ports) {
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "%s%s", used ? "," : "", p->valuestring);
  }
}

static const cJSON *catalog_find(const cJSON *catalog, const char *name) {
  const cJSON *e;
  cJSON_ArrayForEach(e, catalog) {
    if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "name")), name))
      return e;
  }
  return NULL;
}

TEST(node_registry_check_passes) {
  struct err_detail d = {"", ""};
  int rc = node_registry_check(&d);
  if (rc)
    test_log("%s: %s", d.path, d.msg);
  ASSERT_INT_EQ(rc, 0);
}

TEST(node_registry_holds_exactly_the_spec_types) {
  ASSERT_INT_EQ(node_type_count(), NSPEC);
  for (size_t i = 0; i < NSPEC; i++) {
    const struct node_type *t = node_type_find(spec[i].name);
    ASSERT_NOT_NULL(t);
    ASSERT_STR_EQ(t->name, spec[i].name);
    ASSERT_STR_EQ(node_group_name(t->group), spec[i].group);
    ASSERT_NOT_NULL(node_type_schema(t));
  }
  ASSERT(node_type_find("action.asign") == NULL);
  ASSERT(node_type_find(NULL) == NULL);
}

TEST(node_catalog_has_every_spec_type_with_ports_and_schema) {
  cJSON *catalog = node_catalog_json();
  ASSERT_NOT_NULL(catalog);
  ASSERT_INT_EQ(cJSON_GetArraySize(catalog), NSPEC);
  for (size_t i = 0; i < NSPEC; i++) {
    const cJSON *e = catalog_find(catalog, spec[i].name);
    ASSERT_NOT_NULL(e);
    char ports[200];
    ports_text(cJSON_GetObjectItem(e, "ports"), ports, sizeof ports);
    ASSERT_STR_EQ(ports, spec[i].ports);
    ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(e, "group")), spec[i].group);
    ASSERT_NOT_NULL(cJSON_GetStringValue(cJSON_GetObjectItem(e, "title")));
    ASSERT_NOT_NULL(cJSON_GetStringValue(cJSON_GetObjectItem(e, "description")));
    const cJSON *schema = cJSON_GetObjectItem(e, "schema");
    ASSERT(cJSON_IsObject(schema));
    ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(schema, "type")), "object");
  }
  cJSON_Delete(catalog);
}

TEST(node_catalog_marks_branch_switch_ports_as_dynamic) {
  cJSON *catalog = node_catalog_json();
  const cJSON *sw = catalog_find(catalog, "branch.switch");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(sw, "dynamic_ports")), "/cases");
  ASSERT(cJSON_GetObjectItem(catalog_find(catalog, "branch.if"), "dynamic_ports") == NULL);
  cJSON_Delete(catalog);
}

TEST(branch_switch_ports_are_its_case_ports_then_default) {
  const struct node_type *t = node_type_find("branch.switch");
  cJSON *config = cJSON_Parse("{\"cases\":[{\"port\":\"website\",\"when\":true},"
                              "{\"when\":true},{\"port\":\"facebook\",\"when\":false}]}");
  const char *names[8];
  ASSERT_INT_EQ(node_type_ports(t, config, names, 8), 3);
  ASSERT_STR_EQ(names[0], "website");
  ASSERT_STR_EQ(names[1], "facebook");
  ASSERT_STR_EQ(names[2], "default");
  ASSERT_INT_EQ(node_type_ports(t, config, names, 1), 3); /* counts beyond cap */
  cJSON_Delete(config);
  ASSERT_INT_EQ(node_type_ports(t, NULL, names, 8), 1);
  ASSERT_STR_EQ(names[0], "default");
}

TEST(fixed_ports_come_from_the_type) {
  const char *names[4];
  ASSERT_INT_EQ(node_type_ports(node_type_find("action.assign"), NULL, names, 4), 3);
  ASSERT_STR_EQ(names[1], "unassigned");
  ASSERT_INT_EQ(node_type_ports(node_type_find("stop"), NULL, names, 4), 0);
}

TEST(every_action_has_an_error_port_and_takes_retry) {
  for (size_t i = 0; i < node_type_count(); i++) {
    const struct node_type *t = node_type_at(i);
    if (t->group != NODE_ACTION)
      continue;
    int has_error = 0;
    for (size_t p = 0; t->ports[p]; p++)
      has_error |= !strcmp(t->ports[p], "error");
    ASSERT(has_error);
    const struct embedded_file *f = embedded_find(t->schema);
    ASSERT_NOT_NULL(f);
    cJSON *s = cJSON_Parse(f->data);
    ASSERT_NOT_NULL(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "properties"), "retry"));
    cJSON_Delete(s);
  }
}

/* Every field the editor shows gets a label or comes from a shared definition. */
TEST(node_schemas_give_every_field_a_title) {
  for (size_t i = 0; i < node_type_count(); i++) {
    const struct node_type *t = node_type_at(i);
    cJSON *s = cJSON_Parse(embedded_find(t->schema)->data);
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(s, "properties")) {
      if (!cJSON_GetObjectItem(p, "title") && !cJSON_GetObjectItem(p, "$ref"))
        test_fail(__FILE__, __LINE__, "%s: field %s has no title", t->name, p->string);
    }
    cJSON_Delete(s);
  }
}

static const char *widget(const char *type, const char *field) {
  static char buf[64];
  cJSON *s = cJSON_Parse(embedded_find(node_type_find(type)->schema)->data);
  const cJSON *f = cJSON_GetObjectItem(cJSON_GetObjectItem(s, "properties"), field);
  snprintf(buf, sizeof buf, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(f, "x-widget"))
                                      ? cJSON_GetStringValue(cJSON_GetObjectItem(f, "x-widget"))
                                      : "(none)");
  cJSON_Delete(s);
  return buf;
}

TEST(node_schemas_carry_widget_hints_for_the_editor) {
  ASSERT_STR_EQ(widget("branch.if", "when"), "condition");
  ASSERT_STR_EQ(widget("delay", "for"), "duration");
  ASSERT_STR_EQ(widget("action.send_sms", "text"), "template");
  ASSERT_STR_EQ(widget("action.send_sms", "provider"), "provider");
  ASSERT_STR_EQ(widget("action.assign", "staff"), "staff");
  ASSERT_STR_EQ(widget("trigger.schedule", "cron"), "cron");
}

/* action.create_task's assignee and action.notify's staff are pickers "as action.assign":
 * their shared definitions must not drift apart. */
TEST(picker_schemas_agree_across_assign_create_task_and_notify) {
  cJSON *assign = cJSON_Parse(embedded_find("schema/nodes/action.assign.json")->data);
  const char *others[] = {"schema/nodes/action.create_task.json",
                          "schema/nodes/action.notify.json"};
  for (int i = 0; i < 2; i++) {
    cJSON *o = cJSON_Parse(embedded_find(others[i])->data);
    const cJSON *defs = cJSON_GetObjectItem(o, "$defs"), *adefs = cJSON_GetObjectItem(assign, "$defs");
    ASSERT(cJSON_Compare(cJSON_GetObjectItem(defs, "candidates"),
                         cJSON_GetObjectItem(adefs, "candidates"), 1));
    ASSERT(cJSON_Compare(cJSON_GetObjectItem(defs, "rule"), cJSON_GetObjectItem(adefs, "rule"), 1));
    const cJSON *pp = cJSON_GetObjectItem(cJSON_GetObjectItem(defs, "picker"), "properties"), *f;
    cJSON_ArrayForEach(f, pp) {
      const cJSON *af = cJSON_GetObjectItem(cJSON_GetObjectItem(assign, "properties"), f->string);
      if (!af || !cJSON_Compare(f, af, 1))
        test_fail(__FILE__, __LINE__, "%s: picker field %s differs from action.assign's",
                  others[i], f->string);
    }
    cJSON_Delete(o);
  }
  cJSON_Delete(assign);
}

/* Validates config against type's schema; returns the number of violations. */
static int violations(const char *type, const char *config) {
  cJSON *c = cJSON_Parse(config);
  ASSERT_NOT_NULL(c);
  int n = jsonschema_validate(node_type_schema(node_type_find(type)), c, "", "config", NULL,
                              NULL);
  cJSON_Delete(c);
  return n;
}

TEST(node_schemas_accept_the_configs_the_spec_describes) {
  ASSERT_INT_EQ(violations("trigger.record", "{\"kind\":\"order\",\"on\":\"status_changed\","
                                             "\"from\":\"new\",\"to\":[\"confirmed\",\"paid\"],"
                                             "\"cancel_on_leave\":true}"), 0);
  ASSERT_INT_EQ(violations("trigger.schedule", "{\"cron\":\"0 9 * * 1-5\",\"timezone\":"
                                               "\"Asia/Ho_Chi_Minh\"}"), 0);
  ASSERT_INT_EQ(violations("branch.switch", "{\"cases\":[{\"port\":\"a\",\"when\":true}],"
                                            "\"match\":\"all\"}"), 0);
  ASSERT_INT_EQ(violations("delay", "{\"for\":\"1h30m\"}"), 0);
  ASSERT_INT_EQ(violations("set", "{\"values\":{\"n\":1,\"greeting\":\"Hi {{customer.name}}\","
                                  "\"o\":{\"a\":[1]}}}"), 0);
  ASSERT_INT_EQ(violations("action.assign",
                           "{\"target\":\"conversation\",\"strategy\":\"round_robin\","
                           "\"candidates\":{\"page\":\"{{conversation.page_id}}\",\"online\":true,"
                           "\"roles\":[\"sales\"],\"teams\":[\"t1\"],\"staff\":[\"s1\"],"
                           "\"where\":{\"==\":[1,1]}},\"sticky\":\"customer\","
                           "\"sticky_scope\":\"{{event.data.livestream_id}}\","
                           "\"reassign_when_offline\":true,\"rules\":[{\"when\":true,"
                           "\"staff\":\"s2\"},{\"when\":false,\"candidates\":{\"roles\":[\"x\"]}}],"
                           "\"retry\":{\"max\":3,\"backoff\":\"5s\"}}"), 0);
  ASSERT_INT_EQ(violations("action.create_task", "{\"title\":\"Order #ORDER_ID#\",\"assignee\":"
                                                 "{\"candidates\":{\"roles\":[\"sales manager\"]}},"
                                                 "\"deadline\":\"2d\",\"priority\":\"high\"}"), 0);
  ASSERT_INT_EQ(violations("action.create_task", "{\"title\":\"T\",\"assignee\":\"s_lan\"}"), 0);
  ASSERT_INT_EQ(violations("action.robocall", "{\"mode\":\"audio\",\"audio_url\":"
                                              "\"https://cdn.example.com/hello.mp3\"}"), 0);
  ASSERT_INT_EQ(violations("action.http", "{\"url\":\"https://x/{{order.id}}\",\"method\":"
                                          "\"POST\",\"headers\":{\"X-Key\":\"k\"},\"body\":{\"a\":1},"
                                          "\"expect\":[200,\"2xx\"],\"timeout\":\"5s\"}"), 0);
}

TEST(node_schemas_reject_what_the_spec_rules_out) {
  ASSERT_INT_EQ(violations("action.assign", "{\"target\":\"order\",\"strategy\":\"random\"}"), 1);
  ASSERT_INT_EQ(violations("action.assign", "{\"target\":\"order\",\"sticky\":\"page\"}"), 1);
  ASSERT_INT_EQ(violations("action.assign", "{\"target\":\"order\",\"rules\":[{\"when\":true}]}"),
                1);
  ASSERT_INT_EQ(violations("action.assign", "{\"strategy\":\"fixed\",\"staff\":\"s\"}"), 1);
  ASSERT_INT_EQ(violations("delay", "{\"for\":\"1h\",\"until\":\"2026-01-01T00:00:00Z\"}"), 1);
  ASSERT_INT_EQ(violations("delay", "{}"), 1);
  ASSERT_INT_EQ(violations("stop", "{\"outcome\":\"maybe\"}"), 1);
  ASSERT_INT_EQ(violations("action.create_task", "{\"title\":\"T\",\"priority\":\"urgent\"}"), 1);
  ASSERT_INT_EQ(violations("action.robocall", "{\"audio_url\":\"https://x/a.wav\"}"), 1);
  ASSERT_INT_EQ(violations("action.http", "{\"url\":\"u\",\"expect\":[\"200\"]}"), 1);
  ASSERT_INT_EQ(violations("action.send_sms", "{\"text\":\"hi\",\"retry\":{\"max\":-1}}"), 1);
  ASSERT_INT_EQ(violations("set", "{\"values\":{\"my-var\":1}}"), 1);
  ASSERT_INT_EQ(violations("branch.switch", "{\"cases\":[]}"), 1);
  ASSERT_INT_EQ(violations("trigger.record", "{\"kind\":\"Order\",\"on\":\"created\"}"), 1);
}

/* ---- the start-up check catches a broken table ---- */

static int no_compile(struct node_compile *ctx, const cJSON *config, void **state) {
  *state = NULL;
  return 0;
}
static void no_free(void *state) { (void)state; }
static size_t no_ports(const cJSON *config, const char **names, size_t cap) { return 0; }

static const char *const out_error[] = {"out", "error", NULL};
static const char *const out_only[] = {"out", NULL};

#define FAKE(nm, grp, prt, sch)                                                               \
  {.name = nm, .group = grp, .title = "Send SMS", .description = "d", .ports = prt,          \
   .schema = sch, .ops = {.compile = no_compile, .free_state = no_free}}

static int check_one(const struct node_type *a, const struct node_type *b, char *msg) {
  /* msg holds 1024 bytes: the detail path and message both fit. */
  const struct node_type *table[2] = {a, b};
  struct err_detail d = {"", ""};
  int rc = node_registry_check_types(table, b ? 2 : 1, &d);
  snprintf(msg, 1024, "%s: %s", d.path, d.msg);
  test_log("%s", msg);
  return rc;
}

TEST(node_registry_check_accepts_a_sound_type) {
  char msg[1024];
  struct node_type ok = FAKE("action.x", NODE_ACTION, out_error,
                             "schema/nodes/action.send_sms.json");
  ASSERT_INT_EQ(check_one(&ok, NULL, msg), 0);
}

TEST(node_registry_check_rejects_two_types_with_one_name) {
  char msg[1024];
  struct node_type a = FAKE("action.x", NODE_ACTION, out_error, "schema/nodes/action.send_sms.json");
  ASSERT_INT_EQ(check_one(&a, &a, msg), ERR_EXISTS);
  ASSERT_STR_CONTAINS(msg, "two node types share this name");
}

TEST(node_registry_check_rejects_missing_ops_and_fields) {
  char msg[1024];
  struct node_type a = FAKE("action.x", NODE_ACTION, out_error, "schema/nodes/action.send_sms.json");
  a.ops.compile = NULL;
  ASSERT_INT_EQ(check_one(&a, NULL, msg), ERR_INVAL);
  ASSERT_STR_CONTAINS(msg, "compile and free_state are required");
  struct node_type b = FAKE("action.x", NODE_ACTION, out_error, "schema/nodes/action.send_sms.json");
  b.title = NULL;
  ASSERT_INT_EQ(check_one(&b, NULL, msg), ERR_INVAL);
  struct node_type c = FAKE("action.x", NODE_ACTION, out_error, "schema/nodes/action.send_sms.json");
  c.dynamic_ports = "/cases"; /* without ops.ports */
  ASSERT_INT_EQ(check_one(&c, NULL, msg), ERR_INVAL);
  c.ops.ports = no_ports;
  ASSERT_INT_EQ(check_one(&c, NULL, msg), 0);
}

TEST(node_registry_check_rejects_an_action_without_error_port) {
  char msg[1024];
  struct node_type a = FAKE("action.x", NODE_ACTION, out_only, "schema/nodes/action.send_sms.json");
  ASSERT_INT_EQ(check_one(&a, NULL, msg), ERR_INVAL);
  ASSERT_STR_CONTAINS(msg, "every action needs an error port");
}

TEST(node_registry_check_rejects_a_missing_or_mismatched_schema) {
  char msg[1024];
  struct node_type a = FAKE("action.x", NODE_ACTION, out_error, "schema/nodes/action.nope.json");
  ASSERT_INT_EQ(check_one(&a, NULL, msg), ERR_NOTFOUND);
  ASSERT_STR_CONTAINS(msg, "is not among the embedded files");
  struct node_type b = FAKE("action.x", NODE_ACTION, out_error, "schema/nodes/delay.json");
  ASSERT_INT_EQ(check_one(&b, NULL, msg), ERR_INVAL);
  ASSERT_STR_CONTAINS(msg, "differs from the type's");
}
