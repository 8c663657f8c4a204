/* Tests of flow parsing and validation: one test per problem code with a document that has
 * exactly that problem, several problems at once, the SPEC example and the five scenario
 * fixtures, and the accessors the executor uses. Documents are written with ' for " to stay
 * readable. */
#include <stdio.h>
#include <stdlib.h>
#include "graph/graph.h"
#include "tests/test.h"

/* Parses JSON written with single quotes. */
static cJSON *J(const char *text) {
  char *s = strdup(text);
  for (char *p = s; *p; p++)
    if (*p == '\'')
      *p = '"';
  cJSON *doc = cJSON_Parse(s);
  if (!doc)
    test_fail(__FILE__, __LINE__, "bad test JSON: %s", s);
  free(s);
  return doc;
}

static void log_problems(const cJSON *problems) {
  char *s = cJSON_Print(problems);
  test_log("problems: %s", s);
  free(s);
}

/* Parses text; returns the problems (caller frees); *g gets the graph when g is not NULL. */
static cJSON *parse(const char *text, const struct graph_refs *refs, struct graph **g) {
  cJSON *doc = J(text), *problems = NULL;
  struct graph *tmp = NULL;
  int rc = graph_parse(doc, refs, &tmp, &problems);
  cJSON_Delete(doc);
  ASSERT_NOT_NULL(problems);
  log_problems(problems);
  ASSERT_INT_EQ(rc, graph_error_count(problems) ? ERR_INVAL : 0);
  ASSERT_INT_EQ(tmp != NULL, rc == 0);
  if (g)
    *g = tmp;
  else
    graph_free(tmp);
  return problems;
}

static const char *field(const cJSON *p, const char *name) {
  const cJSON *v = cJSON_GetObjectItem(p, name);
  return cJSON_IsNull(v) ? "(null)" : cJSON_GetStringValue(v);
}

static char last_message[1024];

/* Asserts that text has exactly one problem, with this code, path and node (NULL: null);
 * keeps its message in last_message. */
static void expect_only(int line, const char *text, const char *code, const char *path,
                        const char *node) {
  test_log("expectation at line %d", line);
  cJSON *ps = parse(text, NULL, NULL);
  ASSERT_INT_EQ(cJSON_GetArraySize(ps), 1);
  const cJSON *p = cJSON_GetArrayItem(ps, 0);
  ASSERT_STR_EQ(field(p, "code"), code);
  ASSERT_STR_EQ(field(p, "path"), path);
  ASSERT_STR_EQ(field(p, "node"), node ? node : "(null)");
  ASSERT_STR_EQ(field(p, "severity"), "error");
  snprintf(last_message, sizeof last_message, "%s", field(p, "message"));
  cJSON_Delete(ps);
}
#define EXPECT_ONLY(text, code, path, node) expect_only(__LINE__, text, code, path, node)

#define TRIGGER "{'id':'t','type':'trigger.record','config':{'kind':'order','on':'created'}}"
#define SMS(id) "{'id':'" id "','type':'action.send_sms','config':{'text':'Hi {{customer.name}}'}}"
#define SMS_RETRY_BAD                                                                          \
  "{'id':'a','type':'action.send_sms','config':{'text':'x','retry':{'max':2,'backoff':'soon'}}}"

static const char *SPEC_EXAMPLE =
    "{ 'id': 'f_owner_by_source', 'name': 'Owner by order source', 'priority': 100,"
    "  'nodes': ["
    "    {'id': 't', 'type': 'trigger.record', 'config': {'kind': 'order', 'on': 'created'},"
    "     'position': {'x': 0, 'y': 0}},"
    "    {'id': 's', 'type': 'branch.switch', 'config': {'cases': ["
    "        {'port': 'website',  'when': {'==': [{'var': 'order.source'}, 'website']}},"
    "        {'port': 'facebook', 'when': {'==': [{'var': 'order.source'}, 'facebook']}}]}},"
    "    {'id': 'a1', 'type': 'action.assign', 'config': {'target': 'customer', 'strategy': "
    "     'fixed', 'staff': 's_lan'}},"
    "    {'id': 'a2', 'type': 'action.assign', 'config': {'target': 'customer', 'strategy': "
    "     'fixed', 'staff': 's_minh'}} ],"
    "  'edges': [ {'from': 't', 'to': 's'}, {'from': 's', 'port': 'website', 'to': 'a1'},"
    "             {'from': 's', 'port': 'facebook', 'to': 'a2'} ] }";

TEST(graph_validate_accepts_the_spec_example_flow) {
  struct graph *g = NULL;
  cJSON *ps = parse(SPEC_EXAMPLE, NULL, &g);
  ASSERT_INT_EQ(cJSON_GetArraySize(ps), 0);
  ASSERT_NOT_NULL(g);
  ASSERT_STR_EQ(graph_id(g), "f_owner_by_source");
  ASSERT_STR_EQ(graph_name(g), "Owner by order source");
  ASSERT_INT_EQ(graph_priority(g), 100);
  ASSERT_INT_EQ(graph_node_count(g), 4);
  graph_free(g);
  cJSON_Delete(ps);
}

/* ---- one test per problem code ---- */

TEST(graph_validate_rejects_a_document_that_is_not_an_object) {
  EXPECT_ONLY("[1,2]", "invalid_document", "", NULL);
}

TEST(graph_validate_rejects_nodes_that_are_not_an_array) {
  EXPECT_ONLY("{'nodes':{'t':1}}", "invalid_document", "/nodes", NULL);
  ASSERT_STR_EQ(last_message, "nodes must be an array");
}

TEST(graph_validate_rejects_a_node_without_id) {
  EXPECT_ONLY("{'nodes':[" TRIGGER ",{'type':'stop'}],'edges':[]}", "invalid_document",
              "/nodes/1/id", NULL);
}

TEST(graph_validate_rejects_a_node_without_type) {
  EXPECT_ONLY("{'nodes':[" TRIGGER ",{'id':'x'}],'edges':[{'from':'t','to':'x'}]}",
              "invalid_document", "/nodes/1/type", "x");
}

TEST(graph_validate_rejects_a_malformed_edge) {
  EXPECT_ONLY("{'nodes':[" TRIGGER "," SMS("a") "],'edges':[{'from':'t','to':'a'},{'to':'a'}]}",
              "invalid_document", "/edges/1/from", "a");
  EXPECT_ONLY("{'nodes':[" TRIGGER "," SMS("a") "],'edges':[{'from':'t','to':'a'},'t->a']}",
              "invalid_document", "/edges/1", NULL);
}

TEST(graph_validate_rejects_a_bad_join) {
  EXPECT_ONLY("{'nodes':[" TRIGGER ",{'id':'x','type':'stop','join':'first'}],"
              "'edges':[{'from':'t','to':'x'}]}",
              "invalid_document", "/nodes/1/join", "x");
}

TEST(graph_validate_rejects_unknown_type_suggesting_the_closest) {
  EXPECT_ONLY("{'nodes':[" TRIGGER ",{'id':'a','type':'action.asign','config':{}}],"
              "'edges':[{'from':'t','to':'a'}]}",
              "unknown_type", "/nodes/1/type", "a");
  ASSERT_STR_EQ(last_message, "unknown node type \"action.asign\" (did you mean \"action.assign\"?)");
}

TEST(graph_validate_rejects_duplicate_node_id) {
  EXPECT_ONLY("{'nodes':[" TRIGGER "," SMS("a") "," SMS("a") "],'edges':[{'from':'t','to':'a'}]}",
              "duplicate_id", "/nodes/2/id", "a");
  ASSERT_STR_EQ(last_message, "node id \"a\" is already used by /nodes/1");
}

TEST(graph_validate_rejects_edge_from_missing_node) {
  EXPECT_ONLY("{'nodes':[" TRIGGER "," SMS("a") "],'edges':[{'from':'t','to':'a'},"
              "{'from':'ghost','to':'a'}]}",
              "edge_from_missing_node", "/edges/1/from", "a");
  ASSERT_STR_CONTAINS(last_message, "no node \"ghost\"");
}

TEST(graph_validate_rejects_edge_from_missing_port_listing_the_ports) {
  EXPECT_ONLY("{'nodes':[" TRIGGER ",{'id':'if','type':'branch.if','config':{'when':true}},"
              SMS("a") "],'edges':[{'from':'t','to':'if'},{'from':'if','port':'yes','to':'a'}]}",
              "edge_from_missing_port", "/edges/1/port", "if");
  ASSERT_STR_EQ(last_message, "node \"if\" (branch.if) has no port \"yes\"; its ports are true, false");
}

TEST(graph_validate_rejects_edge_without_port_from_a_node_without_out) {
  EXPECT_ONLY("{'nodes':[" TRIGGER ",{'id':'if','type':'branch.if','config':{'when':true}},"
              SMS("a") "],'edges':[{'from':'t','to':'if'},{'from':'if','to':'a'}]}",
              "edge_from_missing_port", "/edges/1", "if");
}

TEST(graph_validate_rejects_edge_from_stop) {
  EXPECT_ONLY("{'nodes':[" TRIGGER ",{'id':'x','type':'stop'}," SMS("a") "],"
              "'edges':[{'from':'t','to':'x'},{'from':'t','to':'a'},{'from':'x','to':'a'}]}",
              "edge_from_missing_port", "/edges/2", "x");
  ASSERT_STR_CONTAINS(last_message, "has no ports");
}

TEST(graph_validate_rejects_edge_to_missing_node) {
  EXPECT_ONLY("{'nodes':[" TRIGGER "," SMS("a") "],'edges':[{'from':'t','to':'a'},"
              "{'from':'a','to':'nowhere'}]}",
              "edge_to_missing_node", "/edges/1/to", "a");
}

TEST(graph_validate_rejects_edge_into_trigger) {
  EXPECT_ONLY("{'nodes':[" TRIGGER "," SMS("a") "],'edges':[{'from':'t','to':'a'},"
              "{'from':'a','to':'t'}]}",
              "edge_into_trigger", "/edges/1/to", "t");
}

TEST(graph_validate_rejects_cycle_naming_its_nodes) {
  EXPECT_ONLY("{'nodes':[" TRIGGER "," SMS("a") "," SMS("b") "," SMS("c") "],"
              "'edges':[{'from':'t','to':'a'},{'from':'a','to':'b'},{'from':'b','to':'c'},"
              "{'from':'c','to':'a'}]}",
              "cycle", "/edges/3", "a");
  ASSERT_STR_EQ(last_message, "cycle: a -> b -> c -> a");
}

TEST(graph_validate_rejects_a_node_wired_to_itself) {
  EXPECT_ONLY("{'nodes':[" TRIGGER "," SMS("a") "],'edges':[{'from':'t','to':'a'},"
              "{'from':'a','port':'error','to':'a'}]}",
              "cycle", "/edges/1", "a");
  ASSERT_STR_EQ(last_message, "cycle: a -> a");
}

TEST(graph_validate_reports_each_separate_cycle) {
  cJSON *ps = parse("{'nodes':[" TRIGGER "," SMS("a") "," SMS("b") "," SMS("c") "," SMS("d") "],"
                    "'edges':[{'from':'t','to':'a'},{'from':'a','to':'b'},{'from':'b','to':'a'},"
                    "{'from':'t','to':'c'},{'from':'c','to':'d'},{'from':'d','to':'c'}]}",
                    NULL, NULL);
  ASSERT_INT_EQ(cJSON_GetArraySize(ps), 2);
  ASSERT_STR_EQ(field(cJSON_GetArrayItem(ps, 0), "code"), "cycle");
  ASSERT_STR_EQ(field(cJSON_GetArrayItem(ps, 1), "code"), "cycle");
  cJSON_Delete(ps);
}

TEST(graph_validate_rejects_flow_without_trigger) {
  EXPECT_ONLY("{'nodes':[" SMS("a") "],'edges':[]}", "no_trigger", "/nodes", NULL);
  EXPECT_ONLY("{'nodes':[]}", "no_trigger", "/nodes", NULL);
}

TEST(graph_validate_rejects_unreachable_node) {
  EXPECT_ONLY("{'nodes':[" TRIGGER "," SMS("a") "," SMS("lost") "],'edges':[{'from':'t','to':'a'}]}",
              "unreachable", "/nodes/2", "lost");
}

TEST(graph_validate_rejects_config_breaking_its_schema) {
  EXPECT_ONLY("{'nodes':[" TRIGGER ",{'id':'a','type':'action.assign','config':{'target':"
              "'customer','strategy':'random'}}],'edges':[{'from':'t','port':'out','to':'a'}]}",
              "schema", "/nodes/1/config/strategy", "a");
  ASSERT_STR_CONTAINS(last_message, "strategy must be one of \"fixed\", \"round_robin\"");
}

TEST(graph_validate_checks_a_missing_config_against_the_schema) {
  EXPECT_ONLY("{'nodes':[" TRIGGER ",{'id':'a','type':'action.send_sms'}],"
              "'edges':[{'from':'t','to':'a'}]}",
              "schema", "/nodes/1/config/text", "a");
  ASSERT_STR_EQ(last_message, "text is required");
}

TEST(graph_validate_rejects_condition_that_does_not_compile_at_its_path_inside_the_rule) {
  EXPECT_ONLY("{'nodes':[" TRIGGER ",{'id':'s','type':'branch.switch','config':{'cases':["
              "{'port':'a','when':true},{'port':'b','when':{'and':[true,{'frobnicate':[1]}]}}]}}],"
              "'edges':[{'from':'t','to':'s'}]}",
              "condition", "/nodes/1/config/cases/1/when/and/1", "s");
  ASSERT_STR_CONTAINS(last_message, "cases[1].when: ");
}

TEST(graph_validate_rejects_a_malformed_domain) {
  EXPECT_ONLY("{'nodes':[" TRIGGER ",{'id':'if','type':'branch.if','config':{'when':"
              "{'domain':[['country','between',[1,2]]]}}}],'edges':[{'from':'t','to':'if'}]}",
              "condition", "/nodes/1/config/when/domain/0/1", "if");
  ASSERT_STR_EQ(last_message, "when: unknown domain operator \"between\"");
}

TEST(graph_validate_rejects_template_that_does_not_parse) {
  EXPECT_ONLY("{'nodes':[" TRIGGER ",{'id':'a','type':'action.send_sms','config':{'text':"
              "'Hi {{#customer}} unclosed'}}],'edges':[{'from':'t','to':'a'}]}",
              "template", "/nodes/1/config/text", "a");
  ASSERT_STR_CONTAINS(last_message, "text is not a valid template");
}

TEST(graph_validate_rejects_bad_duration) {
  EXPECT_ONLY("{'nodes':[" TRIGGER ",{'id':'d','type':'delay','config':{'for':'5 minutes'}}],"
              "'edges':[{'from':'t','to':'d'}]}",
              "duration", "/nodes/1/config/for", "d");
  EXPECT_ONLY("{'nodes':[" TRIGGER "," SMS_RETRY_BAD "],'edges':[{'from':'t','to':'a'}]}",
              "duration", "/nodes/1/config/retry/backoff", "a");
}

TEST(graph_validate_rejects_a_constant_until_that_is_not_a_time) {
  EXPECT_ONLY("{'nodes':[" TRIGGER ",{'id':'d','type':'delay','config':{'until':'tomorrow'}}],"
              "'edges':[{'from':'t','to':'d'}]}",
              "duration", "/nodes/1/config/until", "d");
}

TEST(graph_validate_rejects_bad_cron) {
  EXPECT_ONLY("{'nodes':[{'id':'t','type':'trigger.schedule','config':{'cron':'0 25 * * *'}}]}",
              "cron", "/nodes/0/config/cron", "t");
  ASSERT_STR_CONTAINS(last_message, "hour field: 25 is out of range 0-23");
}

/* ---- references ---- */

static int known(void *ud, const char *kind, const char *id) {
  static const char *const ids[] = {"staff:s_lan", "staff:s_minh", "team:t_north_america",
                                    "team:t_europe", "team:t_asia", "provider:p_sms",
                                    "provider:p_call", NULL};
  char key[128];
  snprintf(key, sizeof key, "%s:%s", kind, id);
  if (ud)
    (*(int *)ud)++;
  for (int i = 0; ids[i]; i++)
    if (!strcmp(ids[i], key))
      return 1;
  return 0;
}

static const char *REF_FLOW =
    "{'nodes':[" TRIGGER ",{'id':'a','type':'action.assign','config':{'target':'order',"
    "'strategy':'fixed','staff':'s_ghost'}}],'edges':[{'from':'t','to':'a'}]}";

TEST(graph_validate_warns_about_a_missing_reference_in_a_draft) {
  struct graph_refs refs = {known, NULL, 0};
  struct graph *g = NULL;
  cJSON *ps = parse(REF_FLOW, &refs, &g);
  ASSERT_INT_EQ(cJSON_GetArraySize(ps), 1);
  const cJSON *p = cJSON_GetArrayItem(ps, 0);
  ASSERT_STR_EQ(field(p, "code"), "missing_reference");
  ASSERT_STR_EQ(field(p, "severity"), "warning");
  ASSERT_STR_EQ(field(p, "path"), "/nodes/1/config/staff");
  ASSERT_STR_EQ(field(p, "node"), "a");
  ASSERT_STR_EQ(field(p, "message"), "staff: there is no staff \"s_ghost\"");
  ASSERT_NOT_NULL(g); /* a warning does not stop the graph */
  graph_free(g);
  cJSON_Delete(ps);
}

TEST(graph_publish_treats_a_missing_reference_as_an_error) {
  struct graph_refs refs = {known, NULL, 1};
  struct graph *g = NULL;
  cJSON *ps = parse(REF_FLOW, &refs, &g);
  ASSERT_INT_EQ(cJSON_GetArraySize(ps), 1);
  ASSERT_STR_EQ(field(cJSON_GetArrayItem(ps, 0), "severity"), "error");
  ASSERT(g == NULL);
  cJSON_Delete(ps);
}

TEST(graph_validate_checks_teams_providers_and_candidate_staff) {
  struct graph_refs refs = {known, NULL, 0};
  cJSON *ps = parse("{'nodes':[" TRIGGER ",{'id':'a','type':'action.assign','config':{'target':"
                    "'lead','candidates':{'teams':['t_europe','t_mars'],'staff':['s_lan','s_x']},"
                    "'rules':[{'when':true,'staff':'s_y'}]}},{'id':'m','type':'action.send_sms',"
                    "'config':{'provider':'p_nope','text':'x'}}],'edges':[{'from':'t','to':'a'},"
                    "{'from':'a','port':'assigned','to':'m'}]}", &refs, NULL);
  ASSERT_INT_EQ(cJSON_GetArraySize(ps), 4);
  ASSERT_STR_EQ(field(cJSON_GetArrayItem(ps, 0), "path"), "/nodes/1/config/candidates/staff/1");
  ASSERT_STR_EQ(field(cJSON_GetArrayItem(ps, 1), "path"), "/nodes/1/config/candidates/teams/1");
  ASSERT_STR_EQ(field(cJSON_GetArrayItem(ps, 1), "message"),
                "candidates.teams[1]: there is no team \"t_mars\"");
  ASSERT_STR_EQ(field(cJSON_GetArrayItem(ps, 2), "path"), "/nodes/1/config/rules/0/staff");
  ASSERT_STR_EQ(field(cJSON_GetArrayItem(ps, 3), "path"), "/nodes/2/config/provider");
  cJSON_Delete(ps);
}

TEST(graph_validate_does_not_check_references_that_are_templates) {
  int calls = 0;
  struct graph_refs refs = {known, &calls, 1};
  cJSON *ps = parse("{'nodes':[" TRIGGER ",{'id':'a','type':'action.assign','config':{'target':"
                    "'order','strategy':'fixed','staff':'{{customer.owner_id}}'}}],"
                    "'edges':[{'from':'t','to':'a'}]}", &refs, NULL);
  ASSERT_INT_EQ(cJSON_GetArraySize(ps), 0);
  ASSERT_INT_EQ(calls, 0);
  cJSON_Delete(ps);
}

/* ---- several problems at once, and no cascades ---- */

TEST(graph_validate_reports_every_problem_of_a_broken_document) {
  cJSON *ps = parse(
      "{'id':7,'nodes':[{'id':'x','type':'action.send_sms','config':{'text':'{{#a}}'}},"
      "{'id':'y','type':'delay','config':{'for':'soon','extra':1}},{'id':'x','type':'stop'},"
      "{'id':'z','type':'nope'},{'id':'w','type':'branch.if','config':{'when':{'bogus':[]}}}],"
      "'edges':[{'from':'x','to':'y'},{'from':'y','to':'x'},{'from':'q','to':'x'},"
      "{'from':'w','port':'maybe','to':'y'}]}", NULL, NULL);
  /* In stage order: header, node shapes, node configs, edges, the graph as a whole. */
  static const char *const want[][2] = {
      {"invalid_document", "/id"},
      {"duplicate_id", "/nodes/2/id"},
      {"unknown_type", "/nodes/3/type"},
      {"template", "/nodes/0/config/text"},
      {"duration", "/nodes/1/config/for"},
      {"schema", "/nodes/1/config/extra"},
      {"condition", "/nodes/4/config/when"},
      {"edge_from_missing_node", "/edges/2/from"},
      {"edge_from_missing_port", "/edges/3/port"},
      {"no_trigger", "/nodes"},
      {"cycle", "/edges/1"},
  };
  size_t n = sizeof want / sizeof want[0];
  ASSERT_INT_EQ(cJSON_GetArraySize(ps), n);
  for (size_t i = 0; i < n; i++) {
    ASSERT_STR_EQ(field(cJSON_GetArrayItem(ps, (int)i), "code"), want[i][0]);
    ASSERT_STR_EQ(field(cJSON_GetArrayItem(ps, (int)i), "path"), want[i][1]);
  }
  ASSERT_STR_EQ(field(cJSON_GetArrayItem(ps, 10), "message"), "cycle: x -> y -> x");
  cJSON_Delete(ps);
}

TEST(graph_validate_does_not_cascade_from_a_misnamed_port_or_type) {
  /* The nodes behind a bad port or an unknown type are still reachable: one problem each. */
  cJSON *ps = parse("{'nodes':[" TRIGGER ",{'id':'if','type':'branch.if','config':{'when':true}},"
                    SMS("a") ",{'id':'u','type':'action.mystery'}," SMS("b") "],"
                    "'edges':[{'from':'t','to':'if'},{'from':'if','port':'ture','to':'a'},"
                    "{'from':'t','to':'u'},{'from':'u','to':'b'}]}", NULL, NULL);
  ASSERT_INT_EQ(cJSON_GetArraySize(ps), 2);
  ASSERT_STR_EQ(field(cJSON_GetArrayItem(ps, 0), "code"), "unknown_type");
  ASSERT_STR_EQ(field(cJSON_GetArrayItem(ps, 1), "code"), "edge_from_missing_port");
  cJSON_Delete(ps);
}

TEST(graph_validate_reports_what_compile_checks_beyond_the_schema) {
  cJSON *ps = parse(
      "{'nodes':[" TRIGGER ",{'id':'s','type':'branch.switch','config':{'cases':["
      "{'port':'a','when':true},{'port':'a','when':false},{'port':'default','when':true}]}},"
      "{'id':'f','type':'action.assign','config':{'target':'order','strategy':'fixed'}},"
      "{'id':'r','type':'trigger.record','config':{'kind':'order','on':'created','to':'paid'}},"
      "{'id':'c','type':'action.robocall','config':{'mode':'audio'}},"
      "{'id':'m','type':'action.send_sms','config':{'text':'" /* 201 characters */
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxx'}},"
      "{'id':'u','type':'action.update_record','config':{'target':'order','set':{'id':'1'}}}],"
      "'edges':[{'from':'t','to':'s'},{'from':'s','port':'a','to':'f'},"
      "{'from':'s','port':'default','to':'c'},{'from':'r','to':'m'},{'from':'m','to':'u'}]}",
      NULL, NULL);
  static const char *const want[] = {
      "/nodes/1/config/cases/1/port", "/nodes/1/config/cases/2/port", "/nodes/2/config/staff",
      "/nodes/3/config/to", "/nodes/4/config/audio_url", "/nodes/5/config/text",
      "/nodes/6/config/set/id"};
  ASSERT_INT_EQ(cJSON_GetArraySize(ps), 7);
  for (int i = 0; i < 7; i++) {
    ASSERT_STR_EQ(field(cJSON_GetArrayItem(ps, i), "code"), "schema");
    ASSERT_STR_EQ(field(cJSON_GetArrayItem(ps, i), "path"), want[i]);
  }
  cJSON_Delete(ps);
}

TEST(graph_validate_warns_about_a_repeated_edge_and_counts_it_once) {
  struct graph *g = NULL;
  cJSON *ps = parse("{'nodes':[" TRIGGER "," SMS("a") "],'edges':[{'from':'t','to':'a'},"
                    "{'from':'t','port':'out','to':'a'}]}", NULL, &g);
  ASSERT_INT_EQ(cJSON_GetArraySize(ps), 1);
  ASSERT_STR_EQ(field(cJSON_GetArrayItem(ps, 0), "severity"), "warning");
  ASSERT_STR_EQ(field(cJSON_GetArrayItem(ps, 0), "path"), "/edges/1");
  ASSERT_INT_EQ(graph_node_in_degree(graph_find(g, "a")), 1);
  graph_free(g);
  cJSON_Delete(ps);
}

/* ---- the scenario fixtures ---- */

static cJSON *load_fixture(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/tests/fixtures/flows/%s", test_source_dir(), name);
  FILE *f = fopen(path, "rb");
  if (!f)
    test_fail(__FILE__, __LINE__, "cannot open %s", path);
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  cJSON *doc = cJSON_Parse(buf);
  if (!doc)
    test_fail(__FILE__, __LINE__, "%s is not valid JSON", path);
  return doc;
}

TEST(graph_scenario_fixtures_validate_without_problems) {
  static const char *const fixtures[] = {"owner_by_source.json", "status_rules.json",
                                         "conversation_dispatch.json", "tasks_on_new_order.json",
                                         "lead_routing.json"};
  for (int i = 0; i < 5; i++) {
    test_log("fixture %s", fixtures[i]);
    cJSON *doc = load_fixture(fixtures[i]), *ps = NULL;
    struct graph *g = NULL;
    struct graph_refs refs = {known, NULL, 1}; /* as publish does */
    int rc = graph_parse(doc, &refs, &g, &ps);
    if (cJSON_GetArraySize(ps))
      log_problems(ps);
    ASSERT_INT_EQ(rc, 0);
    ASSERT_INT_EQ(cJSON_GetArraySize(ps), 0);
    size_t nt;
    graph_triggers(g, &nt);
    ASSERT_INT_OP(nt, >=, 1);
    graph_free(g);
    cJSON_Delete(ps);
    cJSON_Delete(doc);
  }
}

/* ---- what the executor reads ---- */

TEST(graph_groups_successors_by_port_and_counts_predecessors) {
  struct graph *g = NULL;
  cJSON *ps = parse(SPEC_EXAMPLE, NULL, &g);
  const struct graph_node *s = graph_find(g, "s");
  ASSERT_NOT_NULL(s);
  ASSERT_STR_EQ(graph_node_type(s)->name, "branch.switch");
  ASSERT_INT_EQ(graph_node_port_count(s), 3);
  ASSERT_STR_EQ(graph_node_port_name(s, 2), "default");
  ASSERT_INT_EQ(graph_node_port_index(s, "facebook"), 1);
  ASSERT_INT_EQ(graph_node_port_index(s, "nope"), -1);
  size_t n;
  const size_t *succ = graph_node_successors(s, 1, &n);
  ASSERT_INT_EQ(n, 1);
  ASSERT_STR_EQ(graph_node_id(graph_node_at(g, succ[0])), "a2");
  graph_node_successors(s, 2, &n);
  ASSERT_INT_EQ(n, 0);
  ASSERT(graph_node_successors(s, 3, &n) == NULL && n == 0);
  const size_t *pred = graph_node_predecessors(graph_find(g, "a1"), &n);
  ASSERT_INT_EQ(n, 1);
  ASSERT_INT_EQ(pred[0], graph_node_index(s));
  ASSERT_NOT_NULL(graph_node_state(s));
  ASSERT(graph_find(g, "zz") == NULL);
  graph_free(g);
  cJSON_Delete(ps);
}

TEST(graph_topo_order_puts_every_edge_forward) {
  struct graph *g = NULL;
  cJSON *doc = load_fixture("status_rules.json"), *ps = NULL;
  ASSERT_INT_EQ(graph_parse(doc, NULL, &g, &ps), 0);
  size_t n, pos[64];
  const size_t *order = graph_topo_order(g, &n);
  ASSERT_INT_EQ(n, graph_node_count(g));
  for (size_t i = 0; i < n; i++)
    pos[order[i]] = i;
  for (size_t i = 0; i < n; i++) {
    const struct graph_node *node = graph_node_at(g, i);
    for (size_t p = 0; p < graph_node_port_count(node); p++) {
      size_t c;
      const size_t *succ = graph_node_successors(node, p, &c);
      for (size_t k = 0; k < c; k++)
        ASSERT_INT_OP(pos[i], <, pos[succ[k]]);
    }
  }
  const size_t *trig = graph_triggers(g, &n);
  ASSERT_INT_EQ(n, 1);
  ASSERT_STR_EQ(graph_node_id(graph_node_at(g, trig[0])), "t");
  graph_free(g);
  cJSON_Delete(ps);
  cJSON_Delete(doc);
}

TEST(graph_reads_join_any_and_the_retry_policy) {
  struct graph *g = NULL;
  cJSON *ps = parse("{'nodes':[" TRIGGER ",{'id':'a','type':'action.send_sms','join':'any',"
                    "'config':{'text':'x','retry':{'max':5,'backoff':'1m'}}}," SMS("b") "],"
                    "'edges':[{'from':'t','to':'a'},{'from':'t','to':'b'}]}", NULL, &g);
  int max;
  int64_t backoff;
  graph_node_retry(graph_find(g, "a"), &max, &backoff);
  ASSERT_INT_EQ(max, 5);
  ASSERT_INT_EQ(backoff, 60000);
  ASSERT_INT_EQ(graph_node_join_any(graph_find(g, "a")), 1);
  graph_node_retry(graph_find(g, "b"), &max, &backoff);
  ASSERT_INT_EQ(max, 0);
  ASSERT_INT_EQ(backoff, 2000);
  ASSERT_INT_EQ(graph_node_join_any(graph_find(g, "b")), 0);
  graph_free(g);
  cJSON_Delete(ps);
}

TEST(graph_keeps_no_pointer_into_the_document) {
  cJSON *doc = J(SPEC_EXAMPLE), *ps = NULL;
  struct graph *g = NULL;
  ASSERT_INT_EQ(graph_parse(doc, NULL, &g, &ps), 0);
  cJSON_Delete(doc); /* ASan reports any later use of it */
  const struct graph_node *a1 = graph_find(g, "a1");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(graph_node_config(a1), "staff")),
                "s_lan");
  ASSERT_STR_EQ(graph_node_port_name(graph_find(g, "s"), 0), "website");
  ASSERT_STR_EQ(graph_id(g), "f_owner_by_source");
  graph_free(g);
  cJSON_Delete(ps);
}

TEST(graph_parses_a_long_chain_without_deep_recursion) {
  /* 20,000 nodes in one chain, closed into a cycle at the end. */
  enum { N = 20000 };
  cJSON *doc = cJSON_CreateObject(), *nodes = cJSON_AddArrayToObject(doc, "nodes"),
        *edges = cJSON_AddArrayToObject(doc, "edges");
  cJSON_AddItemToArray(nodes, J(TRIGGER));
  for (int i = 0; i < N; i++) {
    char node[160], edge[96];
    snprintf(node, sizeof node, "{'id':'n%d','type':'set','config':{'values':{'i':%d}}}", i, i);
    snprintf(edge, sizeof edge, "{'from':'%s%d','to':'n%d'}", i ? "n" : "t", i ? i - 1 : 0, i);
    if (!i)
      snprintf(edge, sizeof edge, "{'from':'t','to':'n0'}");
    cJSON_AddItemToArray(nodes, J(node));
    cJSON_AddItemToArray(edges, J(edge));
  }
  cJSON_AddItemToArray(edges, J("{'from':'n19999','to':'n0'}"));
  cJSON *ps = NULL;
  struct graph *g = NULL;
  ASSERT_INT_EQ(graph_parse(doc, NULL, &g, &ps), ERR_INVAL);
  ASSERT_INT_EQ(cJSON_GetArraySize(ps), 1);
  ASSERT_STR_EQ(field(cJSON_GetArrayItem(ps, 0), "code"), "cycle");
  ASSERT_STR_CONTAINS(field(cJSON_GetArrayItem(ps, 0), "message"), "cycle: n0 -> n1 -> n2");
  cJSON_Delete(ps);
  cJSON_Delete(doc);
}
