/* bench_validate: how long graph_parse takes on a 1,000-node flow with chains, branches,
 * joins, conditions (JSON Logic and domains) and templates. The target is under 5 ms.
 *
 * Usage: bench_validate [iterations] (default 200). Prints one line:
 *   validate_1000_nodes ms/op=... p50=... p99=... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "graph/graph.h"
#include "nodes/registry.h"

#define BLOCKS 99 /* 10 nodes each, plus the trigger and a tail of 9: 1,000 nodes */

static cJSON *add_node(cJSON *nodes, const char *id, const char *type, const char *config) {
  cJSON *n = cJSON_CreateObject(), *c = cJSON_Parse(config);
  if (!c) {
    fprintf(stderr, "bad config for %s: %s\n", id, config);
    exit(1);
  }
  cJSON_AddStringToObject(n, "id", id);
  cJSON_AddStringToObject(n, "type", type);
  cJSON_AddItemToObject(n, "config", c);
  cJSON *pos = cJSON_AddObjectToObject(n, "position");
  cJSON_AddNumberToObject(pos, "x", cJSON_GetArraySize(nodes) * 10);
  cJSON_AddNumberToObject(pos, "y", 0);
  cJSON_AddItemToArray(nodes, n);
  return n;
}

static void add_edge(cJSON *edges, const char *from, const char *port, const char *to) {
  cJSON *e = cJSON_CreateObject();
  cJSON_AddStringToObject(e, "from", from);
  if (port)
    cJSON_AddStringToObject(e, "port", port);
  cJSON_AddStringToObject(e, "to", to);
  cJSON_AddItemToArray(edges, e);
}

/* One block: an if whose true side is a chain sms -> delay -> e-mail and whose false side is
 * a switch over four actions; everything joins in an http call that leads to the next block. */
static void add_block(cJSON *nodes, cJSON *edges, int k, const char *prev, const char *port) {
  char id[10][32], cfg[1024];
  static const char *const names[] = {"if", "sms", "wait", "mail", "sw",
                                      "assign", "task", "set", "upd", "join"};
  for (int i = 0; i < 10; i++)
    snprintf(id[i], sizeof id[i], "%s_%d", names[i], k);
  snprintf(cfg, sizeof cfg, "{\"when\":{\"and\":[{\">=\":[{\"var\":\"order.amount\"},%d]},"
           "{\"in\":[{\"var\":\"order.city\"},[\"Hanoi\",\"Saigon\"]]}]}}", k * 1000);
  add_node(nodes, id[0], "branch.if", cfg);
  add_node(nodes, id[1], "action.send_sms", "{\"provider\":\"p_sms\",\"text\":\"Don #ORDER_ID# "
           "cua {{customer.name}}: {{order.amount}} VND\",\"retry\":{\"max\":3,\"backoff\":\"5s\"}}");
  add_node(nodes, id[2], "delay", "{\"for\":\"1h30m\"}");
  add_node(nodes, id[3], "action.send_email", "{\"subject\":\"Order {{order.id}}\",\"body\":"
           "\"Hello {{customer.name}},\\n{{#order.items}}- {{name}} x {{qty}}\\n{{/order.items}}\"}");
  add_node(nodes, id[4], "branch.switch", "{\"cases\":[{\"port\":\"vip\",\"when\":{\"domain\":"
           "[[\"customer.tier\",\"=\",\"vip\"],[\"order.amount\",\">\",50000]]}},{\"port\":\"new\","
           "\"when\":{\"==\":[{\"var\":\"customer.orders\"},1]}},{\"port\":\"fix\",\"when\":"
           "{\"!\":[{\"var\":\"order.address\"}]}}]}");
  add_node(nodes, id[5], "action.assign", "{\"target\":\"order\",\"strategy\":\"round_robin\","
           "\"candidates\":{\"roles\":[\"sales\"],\"online\":true,\"where\":{\"==\":[{\"var\":"
           "\"staff.attrs.city\"},{\"var\":\"order.city\"}]}},\"sticky\":\"customer\"}");
  add_node(nodes, id[6], "action.create_task", "{\"title\":\"Welcome #NAME#\",\"text\":\"Call "
           "{{customer.phone}}\",\"assignee\":{\"candidates\":{\"roles\":[\"sales manager\"]}},"
           "\"deadline\":\"1d\",\"priority\":\"high\"}");
  add_node(nodes, id[7], "set", "{\"values\":{\"note\":\"{{order.id}}-{{customer.id}}\",\"n\":1}}");
  add_node(nodes, id[8], "action.update_record", "{\"target\":\"order\",\"set\":{\"note\":"
           "\"Check the address of {{customer.name}}\"}}");
  cJSON *join = add_node(nodes, id[9], "action.http", "{\"method\":\"POST\",\"url\":"
                         "\"https://hooks.example.com/orders/{{order.id}}\",\"headers\":"
                         "{\"X-Flow\":\"{{flow.id}}\"},\"body\":{\"ok\":true},\"timeout\":\"5s\"}");
  cJSON_AddStringToObject(join, "join", "any");
  add_edge(edges, prev, port, id[0]);
  add_edge(edges, id[0], "true", id[1]);
  add_edge(edges, id[1], NULL, id[2]);
  add_edge(edges, id[2], NULL, id[3]);
  add_edge(edges, id[0], "false", id[4]);
  add_edge(edges, id[4], "vip", id[5]);
  add_edge(edges, id[4], "new", id[6]);
  add_edge(edges, id[4], "default", id[7]);
  add_edge(edges, id[4], "fix", id[8]);
  add_edge(edges, id[3], NULL, id[9]);
  add_edge(edges, id[5], "assigned", id[9]);
  add_edge(edges, id[6], NULL, id[9]);
  add_edge(edges, id[7], NULL, id[9]);
  add_edge(edges, id[8], NULL, id[9]);
}

static cJSON *make_flow(void) {
  cJSON *doc = cJSON_CreateObject();
  cJSON_AddStringToObject(doc, "id", "f_bench");
  cJSON_AddStringToObject(doc, "name", "Benchmark flow");
  cJSON *nodes = cJSON_AddArrayToObject(doc, "nodes"), *edges = cJSON_AddArrayToObject(doc, "edges");
  add_node(nodes, "t", "trigger.record", "{\"kind\":\"order\",\"on\":\"created\"}");
  char prev[32] = "t";
  for (int k = 0; k < BLOCKS; k++) {
    add_block(nodes, edges, k, prev, k ? "out" : NULL);
    snprintf(prev, sizeof prev, "join_%d", k);
  }
  for (int i = 0; i < 9; i++) {
    char id[32];
    snprintf(id, sizeof id, "tail_%d", i);
    add_node(nodes, id, "set", "{\"values\":{\"step\":\"{{vars.step}}+1\"}}");
    add_edge(edges, prev, NULL, id);
    snprintf(prev, sizeof prev, "%s", id);
  }
  return doc;
}

static int all_exist(void *ud, const char *kind, const char *id) { return 1; }

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  int iterations = argc > 1 ? atoi(argv[1]) : 200;
  if (iterations < 1)
    iterations = 1;
  struct err_detail d;
  if (node_registry_check(&d)) {
    fprintf(stderr, "node registry: %s: %s\n", d.path, d.msg);
    return 1;
  }
  cJSON *doc = make_flow();
  struct graph_refs refs = {all_exist, NULL, 1};
  double *ms = malloc(iterations * sizeof *ms), total = 0;
  for (int i = -5; i < iterations; i++) { /* five warm-up rounds */
    struct graph *g = NULL;
    cJSON *problems = NULL;
    double t0 = now_ms();
    int rc = graph_parse(doc, &refs, &g, &problems);
    double dt = now_ms() - t0;
    if (rc || cJSON_GetArraySize(problems)) {
      char *s = cJSON_Print(problems);
      fprintf(stderr, "the benchmark flow is not valid (%d nodes): %s\n",
              cJSON_GetArraySize(cJSON_GetObjectItem(doc, "nodes")), s);
      return 1;
    }
    graph_free(g);
    cJSON_Delete(problems);
    if (i >= 0)
      ms[i] = dt, total += dt;
  }
  qsort(ms, iterations, sizeof *ms, cmp_double);
  printf("validate_%d_nodes ms/op=%.3f p50=%.3f p99=%.3f\n",
         cJSON_GetArraySize(cJSON_GetObjectItem(doc, "nodes")), total / iterations,
         ms[iterations / 2], ms[(int)(iterations * 0.99)]);
  free(ms);
  cJSON_Delete(doc);
  return 0;
}
