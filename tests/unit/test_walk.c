/* The run state machine on in-memory graphs: chains, fan-out, joins with dead branches,
 * join "any", the error port, stop, waiting, and saving/restoring the state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/graph.h"
#include "graph/walk.h"
#include "tests/test.h"

/* Builds a flow of a manual trigger "t" and "set" nodes named in ids (plus any extra nodes
 * given as JSON), with edges "a>b" or "a:port>b". */
static struct graph *build(const char *extra_nodes, const char *const *edges) {
  cJSON *doc = cJSON_CreateObject();
  cJSON_AddStringToObject(doc, "id", "f");
  cJSON_AddStringToObject(doc, "name", "walk test");
  cJSON *nodes = cJSON_Parse(extra_nodes);
  cJSON *t = cJSON_Parse("{\"id\":\"t\",\"type\":\"trigger.manual\",\"config\":{}}");
  cJSON_InsertItemInArray(nodes, 0, t);
  cJSON_AddItemToObject(doc, "nodes", nodes);
  cJSON *es = cJSON_AddArrayToObject(doc, "edges");
  for (int i = 0; edges[i]; i++) {
    char from[64], to[64], port[64] = "";
    const char *gt = strchr(edges[i], '>');
    snprintf(from, sizeof from, "%.*s", (int)(gt - edges[i]), edges[i]);
    snprintf(to, sizeof to, "%s", gt + 1);
    char *colon = strchr(from, ':');
    if (colon) {
      snprintf(port, sizeof port, "%s", colon + 1);
      *colon = '\0';
    }
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "from", from);
    if (port[0])
      cJSON_AddStringToObject(e, "port", port);
    cJSON_AddStringToObject(e, "to", to);
    cJSON_AddItemToArray(es, e);
  }
  struct graph *g = NULL;
  cJSON *problems = NULL;
  graph_parse(doc, NULL, &g, &problems);
  if (!g) {
    char *p = cJSON_Print(problems);
    test_fail(__FILE__, __LINE__, "test graph does not parse: %s", p);
  }
  cJSON_Delete(problems);
  cJSON_Delete(doc);
  return g;
}

#define SET(id) "{\"id\":\"" id "\",\"type\":\"set\",\"config\":{\"values\":{\"x\":1}}}"
#define IF(id) "{\"id\":\"" id "\",\"type\":\"branch.if\",\"config\":{\"when\":true}}"
#define HTTP(id) "{\"id\":\"" id "\",\"type\":\"action.http\",\"config\":{\"method\":\"GET\",\"url\":\"http://127.0.0.1:9/\"}}"

static size_t idx(const struct graph *g, const char *id) {
  const struct graph_node *n = graph_find(g, id);
  if (!n)
    test_fail(__FILE__, __LINE__, "no node %s", id);
  return graph_node_index(n);
}

/* Runs READY nodes one by one, each taking "out", and records the order. */
static void run_all_out(struct walk *w, char *order, size_t len) {
  long i;
  order[0] = '\0';
  while ((i = walk_next(w)) >= 0) {
    strncat(order, graph_node_id(graph_node_at(w->g, (size_t)i)), len - strlen(order) - 1);
    walk_done_port(w, (size_t)i, "out");
  }
}

TEST(walk_runs_a_chain_in_order) {
  const char *edges[] = {"t>a", "a>b", "b>c", NULL};
  struct graph *g = build("[" SET("a") "," SET("b") "," SET("c") "]", edges);
  struct walk w;
  ASSERT_INT_EQ(walk_init(&w, g), 0);
  walk_start(&w, idx(g, "t"));
  char order[64];
  run_all_out(&w, order, sizeof order);
  ASSERT_STR_EQ(order, "abc");
  ASSERT_INT_EQ(walk_status(&w), WALK_RUN_SUCCEEDED);
  walk_free(&w);
  graph_free(g);
}

TEST(walk_fans_out_to_every_target_of_a_port) {
  const char *edges[] = {"t>a", "t>b", NULL};
  struct graph *g = build("[" SET("a") "," SET("b") "]", edges);
  struct walk w;
  walk_init(&w, g);
  walk_start(&w, idx(g, "t"));
  ASSERT_INT_EQ(w.nodes[idx(g, "a")].state, WALK_READY);
  ASSERT_INT_EQ(w.nodes[idx(g, "b")].state, WALK_READY);
  walk_free(&w);
  graph_free(g);
}

TEST(walk_join_waits_for_every_incoming_edge) {
  const char *edges[] = {"t>a", "t>b", "a>j", "b>j", NULL};
  struct graph *g = build("[" SET("a") "," SET("b") "," SET("j") "]", edges);
  struct walk w;
  walk_init(&w, g);
  walk_start(&w, idx(g, "t"));
  long first = walk_next(&w);
  walk_done_port(&w, (size_t)first, "out");
  ASSERT_INT_EQ(w.nodes[idx(g, "j")].state, WALK_UNREACHED);
  long second = walk_next(&w);
  ASSERT_INT_NE(second, idx(g, "j"));
  walk_done_port(&w, (size_t)second, "out");
  ASSERT_INT_EQ(walk_next(&w), (long)idx(g, "j"));
  ASSERT_INT_EQ(walk_next(&w), -1);
  walk_free(&w);
  graph_free(g);
}

TEST(walk_join_runs_once_when_the_other_branch_is_dead) {
  /* if -> true: a -> j; false: b -> j. Only the true branch runs; j runs once. */
  const char *edges[] = {"t>i", "i:true>a", "i:false>b", "a>j", "b>j", NULL};
  struct graph *g = build("[" IF("i") "," SET("a") "," SET("b") "," SET("j") "]", edges);
  struct walk w;
  walk_init(&w, g);
  walk_start(&w, idx(g, "t"));
  ASSERT_INT_EQ(walk_next(&w), (long)idx(g, "i"));
  walk_done_port(&w, idx(g, "i"), "true");
  ASSERT_INT_EQ(w.nodes[idx(g, "b")].state, WALK_DEAD);
  char order[64];
  run_all_out(&w, order, sizeof order);
  ASSERT_STR_EQ(order, "aj");
  ASSERT_INT_EQ(walk_status(&w), WALK_RUN_SUCCEEDED);
  walk_free(&w);
  graph_free(g);
}

TEST(walk_join_is_dead_when_every_incoming_edge_is_dead) {
  const char *edges[] = {"t>i", "i:true>a", "i:true>b", "a>j", "b>j", "j>k", NULL};
  struct graph *g = build("[" IF("i") "," SET("a") "," SET("b") "," SET("j") "," SET("k") "]",
                          edges);
  struct walk w;
  walk_init(&w, g);
  walk_start(&w, idx(g, "t"));
  walk_next(&w);
  walk_done_port(&w, idx(g, "i"), "false");
  ASSERT_INT_EQ(w.nodes[idx(g, "j")].state, WALK_DEAD);
  ASSERT_INT_EQ(w.nodes[idx(g, "k")].state, WALK_DEAD);
  ASSERT_INT_EQ(walk_next(&w), -1);
  ASSERT_INT_EQ(walk_status(&w), WALK_RUN_SUCCEEDED);
  walk_free(&w);
  graph_free(g);
}

TEST(walk_join_any_runs_on_the_first_edge_and_ignores_the_rest) {
  const char *edges[] = {"t>a", "t>b", "a>j", "b>j", NULL};
  struct graph *g = build("[" SET("a") "," SET("b") ",{\"id\":\"j\",\"type\":\"set\",\"join\":"
                          "\"any\",\"config\":{\"values\":{\"x\":1}}}]", edges);
  struct walk w;
  walk_init(&w, g);
  walk_start(&w, idx(g, "t"));
  long first = walk_next(&w);
  walk_done_port(&w, (size_t)first, "out");
  ASSERT_INT_EQ(w.nodes[idx(g, "j")].state, WALK_READY);
  char order[64];
  run_all_out(&w, order, sizeof order);
  /* j ran exactly once although both of its edges fired. */
  ASSERT_INT_EQ(strlen(order), 2);
  ASSERT(strchr(order, 'j'));
  walk_free(&w);
  graph_free(g);
}

TEST(walk_failure_takes_the_error_port_when_wired) {
  const char *edges[] = {"t>h", "h>ok", "h:error>oops", NULL};
  struct graph *g = build("[" HTTP("h") "," SET("ok") "," SET("oops") "]", edges);
  struct walk w;
  walk_init(&w, g);
  walk_start(&w, idx(g, "t"));
  walk_next(&w);
  ASSERT_INT_EQ(walk_fail(&w, idx(g, "h")), 1);
  ASSERT_INT_EQ(w.nodes[idx(g, "ok")].state, WALK_DEAD);
  ASSERT_INT_EQ(walk_next(&w), (long)idx(g, "oops"));
  walk_free(&w);
  graph_free(g);
}

TEST(walk_failure_without_error_port_fails_the_run) {
  const char *edges[] = {"t>h", "h>ok", NULL};
  struct graph *g = build("[" HTTP("h") "," SET("ok") "]", edges);
  struct walk w;
  walk_init(&w, g);
  walk_start(&w, idx(g, "t"));
  walk_next(&w);
  ASSERT_INT_EQ(walk_fail(&w, idx(g, "h")), 0);
  ASSERT_INT_EQ(walk_status(&w), WALK_RUN_FAILED);
  ASSERT_INT_EQ(w.nodes[idx(g, "ok")].state, WALK_DEAD);
  walk_free(&w);
  graph_free(g);
}

TEST(walk_stop_ends_the_run_with_its_outcome) {
  const char *edges[] = {"t>a", "t>b", NULL};
  struct graph *g = build("[" SET("a") "," SET("b") "]", edges);
  struct walk w;
  walk_init(&w, g);
  walk_start(&w, idx(g, "t"));
  long a = walk_next(&w);
  walk_stop(&w, (size_t)a, 0);
  ASSERT_INT_EQ(walk_status(&w), WALK_RUN_FAILED);
  walk_free(&w);
  walk_init(&w, g);
  walk_start(&w, idx(g, "t"));
  a = walk_next(&w);
  walk_stop(&w, (size_t)a, 1);
  ASSERT_INT_EQ(walk_status(&w), WALK_RUN_STOPPED);
  walk_free(&w);
  graph_free(g);
}

TEST(walk_waiting_branch_does_not_block_the_other) {
  const char *edges[] = {"t>a", "t>b", "b>c", NULL};
  struct graph *g = build("[" SET("a") "," SET("b") "," SET("c") "]", edges);
  struct walk w;
  walk_init(&w, g);
  walk_start(&w, idx(g, "t"));
  long a = walk_next(&w);
  walk_wait(&w, (size_t)a, 5000);
  char order[64];
  run_all_out(&w, order, sizeof order);
  ASSERT_STR_EQ(order, "bc");
  ASSERT_INT_EQ(walk_status(&w), WALK_RUN_WAITING);
  ASSERT_INT_EQ(walk_next_due(&w), 5000);
  walk_wake(&w, (size_t)a);
  ASSERT_INT_EQ(walk_status(&w), WALK_RUN_RUNNING);
  ASSERT_INT_EQ(walk_next(&w), a);
  /* Resuming after a wait is the same attempt; a retry is a new one. */
  ASSERT_INT_EQ(w.nodes[a].attempt, 1);
  walk_retry(&w, (size_t)a, 6000);
  walk_wake(&w, (size_t)a);
  ASSERT_INT_EQ(walk_next(&w), a);
  ASSERT_INT_EQ(w.nodes[a].attempt, 2);
  walk_done_port(&w, (size_t)a, "out");
  ASSERT_INT_EQ(walk_status(&w), WALK_RUN_SUCCEEDED);
  walk_free(&w);
  graph_free(g);
}

TEST(walk_state_survives_save_and_load) {
  const char *edges[] = {"t>i", "i:true>a", "i:false>b", "a>c", NULL};
  struct graph *g = build("[" IF("i") "," SET("a") "," SET("b") "," SET("c") "]", edges);
  struct walk w;
  walk_init(&w, g);
  walk_start(&w, idx(g, "t"));
  walk_next(&w);
  walk_done_port(&w, idx(g, "i"), "true");
  long a = walk_next(&w);
  walk_wait(&w, (size_t)a, 123456789012LL);
  cJSON *saved = walk_save(&w);
  walk_free(&w);

  struct walk v;
  walk_init(&v, g);
  ASSERT_INT_EQ(walk_load(&v, saved), 0);
  cJSON_Delete(saved);
  ASSERT_INT_EQ(v.nodes[idx(g, "b")].state, WALK_DEAD);
  ASSERT_INT_EQ(v.nodes[a].state, WALK_WAITING);
  ASSERT_INT_EQ(v.nodes[a].due_ms, 123456789012LL);
  ASSERT_INT_EQ(walk_status(&v), WALK_RUN_WAITING);
  walk_wake(&v, (size_t)a);
  char order[64];
  run_all_out(&v, order, sizeof order);
  ASSERT_STR_EQ(order, "ac");
  walk_free(&v);
  graph_free(g);
}

TEST(walk_retry_from_the_failed_step_revives_what_its_failure_killed) {
  const char *edges[] = {"t>h", "h>a", "a>b", NULL};
  struct graph *g = build("[" HTTP("h") "," SET("a") "," SET("b") "]", edges);
  struct walk w;
  walk_init(&w, g);
  walk_start(&w, idx(g, "t"));
  walk_next(&w);
  walk_fail(&w, idx(g, "h"));
  ASSERT_INT_EQ(w.nodes[idx(g, "b")].state, WALK_DEAD);
  ASSERT_INT_EQ(walk_retry_failed(&w), 1);
  ASSERT_INT_EQ(walk_status(&w), WALK_RUN_RUNNING);
  ASSERT_INT_EQ(walk_next(&w), (long)idx(g, "h"));
  ASSERT_INT_EQ(w.nodes[idx(g, "h")].attempt, 2);
  walk_done_port(&w, idx(g, "h"), "out");
  char order[64];
  run_all_out(&w, order, sizeof order);
  ASSERT_STR_EQ(order, "ab");
  ASSERT_INT_EQ(walk_status(&w), WALK_RUN_SUCCEEDED);
  walk_free(&w);
  graph_free(g);
}
