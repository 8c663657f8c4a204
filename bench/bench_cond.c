/* bench_cond: how fast a compiled condition evaluates.
 *
 * Compiles a 10-clause JSON Logic rule and an equivalent 10-term Odoo domain once each, then
 * evaluates each N times (argv[1], default 1,000,000) over the same order/customer run scope
 * with cond_test, the path flows use to choose a branch. Every clause is true for the scope, so
 * no evaluation short-circuits. Also times cond_eval, which builds a result document.
 * Usage: bench_cond [N] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "graph/cond.h"

static const char RULE[] =
    "{\"and\":["
    "{\">=\":[{\"var\":\"order.amount\"},50000]},"
    "{\"<=\":[{\"var\":\"order.amount\"},1000000]},"
    "{\"==\":[{\"var\":\"order.city\"},\"Hanoi\"]},"
    "{\"in\":[{\"var\":\"order.source\"},[\"website\",\"facebook\",\"zalo\"]]},"
    "{\"!=\":[{\"var\":\"order.status\"},\"cancelled\"]},"
    "{\">\":[{\"var\":\"customer.orders_count\"},2]},"
    "{\"==\":[{\"var\":\"customer.country\"},\"VN\"]},"
    "{\"!\":[{\"var\":\"customer.blocked\"}]},"
    "{\"<\":[{\"var\":\"order.items_count\"},50]},"
    "{\"in\":[\"vip\",{\"var\":\"customer.tags\"}]}]}";

static const char DOMAIN[] =
    "{\"domain\":["
    "[\"order.amount\",\">=\",50000],"
    "[\"order.amount\",\"<=\",1000000],"
    "[\"order.city\",\"=\",\"Hanoi\"],"
    "[\"order.source\",\"in\",[\"website\",\"facebook\",\"zalo\"]],"
    "[\"order.status\",\"!=\",\"cancelled\"],"
    "[\"customer.orders_count\",\">\",2],"
    "[\"customer.country\",\"=\",\"VN\"],"
    "[\"customer.blocked\",\"!=\",true],"
    "[\"order.items_count\",\"<\",50],"
    "[\"customer.tags\",\"=\",\"vip\"]]}";

/* A run scope of realistic shape: the fields the conditions read sit among others. */
static const char SCOPE[] =
    "{\"event\":{\"id\":\"ev_1\",\"type\":\"order.created\",\"key\":\"k1\","
    "\"at\":\"2024-05-01T10:00:00Z\",\"data\":{}},"
    "\"order\":{\"id\":\"o_1001\",\"status\":\"new\",\"owner_id\":null,\"source\":\"facebook\","
    "\"amount\":250000,\"currency\":\"VND\",\"city\":\"Hanoi\",\"items_count\":3,"
    "\"note\":\"giao giờ hành chính\",\"created_at\":\"2024-05-01T09:59:58Z\"},"
    "\"customer\":{\"id\":\"c_77\",\"name\":\"Nguyễn Văn Đức\",\"phone\":\"+84901234567\","
    "\"email\":\"duc@example.com\",\"country\":\"VN\",\"orders_count\":5,\"blocked\":false,"
    "\"tags\":[\"new\",\"vip\"]},"
    "\"vars\":{},\"flow\":{\"id\":\"f_1\",\"name\":\"Tasks\",\"version\":3},"
    "\"run\":{\"id\":\"r_9\"}}";

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const char *name, long n, double secs) {
  printf("%-26s evals/s=%.0f ns/eval=%.1f\n", name, (double)n / secs, secs * 1e9 / (double)n);
}

/* Times n evaluations of c; with_doc uses cond_eval (a result document) instead of cond_test. */
static int time_evals(const char *name, const struct cond *c, const cJSON *scope, long n,
                      int with_doc) {
  long hits = 0;
  double t0 = now_s();
  for (long i = 0; i < n; i++) {
    if (with_doc) {
      cJSON *res = NULL;
      if (cond_eval(c, scope, &res, NULL) == 0)
        hits += cJSON_IsTrue(res);
      cJSON_Delete(res);
    } else {
      hits += cond_test(c, scope, NULL) == 1;
    }
  }
  double secs = now_s() - t0;
  if (hits != n) {
    fprintf(stderr, "%s: %ld of %ld evaluations were not true\n", name, n - hits, n);
    return 1;
  }
  report(name, n, secs);
  return 0;
}

static struct cond *compile_or_die(const char *text) {
  cJSON *doc = cJSON_Parse(text);
  struct cond *c = NULL;
  struct err_detail d;
  if (!doc || cond_compile(doc, &c, &d) != 0) {
    fprintf(stderr, "cannot compile %s: %s at \"%s\"\n", text, doc ? d.msg : "bad JSON",
            doc ? d.path : "");
    exit(1);
  }
  cJSON_Delete(doc); /* compiled once; the document is not needed any more */
  return c;
}

int main(int argc, char **argv) {
  long n = 1000000;
  if (argc > 1) {
    char *end;
    n = strtol(argv[1], &end, 10);
    if (*end || n <= 0) {
      fprintf(stderr, "usage: %s [N>0]\n", argv[0]);
      return 2;
    }
  }
  cJSON *scope = cJSON_Parse(SCOPE);
  struct cond *rule = compile_or_die(RULE), *domain = compile_or_die(DOMAIN);
  int rc = !scope;
  long warm = n < 10000 ? n : 10000;
  rc |= time_evals("warmup", rule, scope, warm, 0) || time_evals("warmup", domain, scope, warm, 0);
  if (!rc) {
    printf("N=%ld\n", n);
    rc |= time_evals("jsonlogic_10_clause", rule, scope, n, 0);
    rc |= time_evals("domain_10_term", domain, scope, n, 0);
    rc |= time_evals("jsonlogic_10_clause_doc", rule, scope, n, 1);
    rc |= time_evals("domain_10_term_doc", domain, scope, n, 1);
  }
  cond_free(rule);
  cond_free(domain);
  cJSON_Delete(scope);
  return rc;
}
