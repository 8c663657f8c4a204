/* Hostile and malformed input against a real flowd: one table with a bad request for every
 * route of server_routes[] (malformed JSON, wrong types, unknown ids, bad query parameters,
 * or a method the route does not take), each answered with the status and error code it
 * must have and never a 5xx; the body limits (nesting depth, string length, body size); and
 * the slow-client timeouts (a trickled body, an idle keep-alive connection). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "server/http.h"
#include "server/server.h"
#include "tests/helpers.h"
#include "tests/test.h"

static struct flowd_proc P;

static void start_with(const char **env) {
  flowd_start(&P, NULL, "test", env);
  flowd_wait_ready(&P, 60000);
}

static void stop(void) { ASSERT_INT_EQ(flowd_stop(&P, SIGTERM, 30000), 0); }

static const char *err_code(const struct http_resp *r) {
  return cJSON_GetStringValue(
      cJSON_GetObjectItem(cJSON_GetObjectItem(r->json, "error"), "code"));
}

/* ---- one bad request per route ---- */

struct bad {
  const char *route;  /* "METHOD pattern" of the server_routes[] entry this row covers */
  const char *method, *path, *body;
  long status;
  const char *code;
};

#define FLOW "{\"id\":\"f_bad\",\"name\":\"Bad input\",\"nodes\":[]}"

static const struct bad BAD[] = {
    {"GET /healthz", "POST", "/healthz", "{}", 405, "method_not_allowed"},
    {"GET /metrics", "DELETE", "/metrics", NULL, 405, "method_not_allowed"},
    {"GET /api/node-types", "PUT", "/api/node-types", "{}", 405, "method_not_allowed"},
    {"POST /api/conditions/eval", "POST", "/api/conditions/eval", "{\"when\":", 400,
     "invalid_json"},
    {"POST /api/conditions/eval", "POST", "/api/conditions/eval",
     "{\"when\":{\"no_such_op\":[1]},\"data\":{}}", 422, "invalid_condition"},
    {"POST /api/conditions/eval", "POST", "/api/conditions/eval", "[1,2]", 400,
     "invalid_document"},
    {"POST /api/templates/render", "POST", "/api/templates/render", "{\"template\":5}", 400,
     "invalid_field"},
    {"POST /api/templates/render", "POST", "/api/templates/render",
     "{\"template\":\"{{#a}}unclosed\",\"data\":{}}", 422, "invalid_template"},
    {"GET /api/flows", "PATCH", "/api/flows", "{}", 405, "method_not_allowed"},
    {"POST /api/flows", "POST", "/api/flows", "{\"name\":", 400, "invalid_json"},
    {"POST /api/flows", "POST", "/api/flows", "{\"name\":7}", 400, "invalid_field"},
    {"POST /api/flows", "POST", "/api/flows", "\"a flow\"", 400, NULL},
    {"POST /api/flows/validate", "POST", "/api/flows/validate", "[1,", 400, "invalid_json"},
    {"POST /api/flows/import", "POST", "/api/flows/import", "nope", 400, "invalid_json"},
    {"POST /api/flows/import", "POST", "/api/flows/import", "{\"flow\":{\"name\":[]}}", 400,
     "invalid_field"},
    {"GET /api/flows/{id}", "GET", "/api/flows/no_such_flow", NULL, 404, "not_found"},
    {"PUT /api/flows/{id}", "PUT", "/api/flows/no_such_flow",
     "{\"revision\":1,\"flow\":{\"name\":\"x\",\"nodes\":[]}}", 404, "not_found"},
    {"PUT /api/flows/{id}", "PUT", "/api/flows/f_bad", "{\"revision\":\"one\",\"flow\":" FLOW "}",
     400, "invalid_field"},
    {"PUT /api/flows/{id}", "PUT", "/api/flows/f_bad", "{\"revision\":1,\"flow\":", 400,
     "invalid_json"},
    {"DELETE /api/flows/{id}", "DELETE", "/api/flows/no_such_flow", NULL, 404, "not_found"},
    {"POST /api/flows/{id}/publish", "POST", "/api/flows/no_such_flow/publish", NULL, 404,
     "not_found"},
    {"POST /api/flows/{id}/activate", "POST", "/api/flows/f_bad/activate",
     "{\"version\":\"latest\"}", 400, "invalid_field"},
    {"POST /api/flows/{id}/activate", "POST", "/api/flows/no_such_flow/activate", NULL, 404,
     "not_found"},
    {"POST /api/flows/{id}/deactivate", "POST", "/api/flows/no_such_flow/deactivate", NULL, 404,
     "not_found"},
    {"GET /api/flows/{id}/versions", "GET", "/api/flows/no_such_flow/versions", NULL, 404,
     "not_found"},
    {"GET /api/flows/{id}/versions/{n}", "GET", "/api/flows/f_bad/versions/first", NULL, 400,
     "invalid_field"},
    {"GET /api/flows/{id}/versions/{n}", "GET", "/api/flows/f_bad/versions/99", NULL, 404,
     "not_found"},
    {"GET /api/flows/{id}/export", "GET", "/api/flows/no_such_flow/export", NULL, 404,
     "not_found"},
    {"POST /api/flows/{id}/test", "POST", "/api/flows/f_bad/test", "{\"event\":42}", 400,
     "invalid_field"},
    {"POST /api/flows/{id}/test", "POST", "/api/flows/no_such_flow/test",
     "{\"event\":{\"type\":\"order.created\",\"data\":{}}}", 404, "not_found"},
    {"POST /api/events", "POST", "/api/events", "{\"type\":", 400, "invalid_json"},
    {"POST /api/events", "POST", "/api/events", "[]", 400, "invalid_document"},
    {"POST /api/events", "POST", "/api/events", "{\"type\":5,\"data\":{}}", 400,
     "invalid_event"},
    {"POST /api/events", "POST", "/api/events", "{\"type\":\"order.created\",\"data\":[1]}",
     400, "invalid_event"},
    {"GET /api/runs", "GET", "/api/runs?limit=lots", NULL, 400, "invalid_field"},
    {"GET /api/runs", "GET", "/api/runs?status=sleeping", NULL, 400, "invalid_field"},
    {"GET /api/runs/{id}", "GET", "/api/runs/abc", NULL, 400, "invalid_field"},
    {"GET /api/runs/{id}", "GET", "/api/runs/987654321", NULL, 404, "not_found"},
    {"POST /api/runs/{id}/cancel", "POST", "/api/runs/987654321/cancel", NULL, 404, "not_found"},
    {"POST /api/runs/{id}/retry", "POST", "/api/runs/987654321/retry", NULL, 404, "not_found"},
    {"GET /api/records/{kind}", "GET", "/api/records/Not-A-Kind", NULL, 400, "invalid_field"},
    {"GET /api/records/{kind}", "GET", "/api/records/order?limit=0", NULL, 400,
     "invalid_field"},
    {"GET /api/records/{kind}/{id}", "GET", "/api/records/order/no_such_order", NULL, 404,
     "not_found"},
    {"PUT /api/records/{kind}/{id}", "PUT", "/api/records/order/O1", "[\"not\",\"an\",\"object\"]",
     400, "invalid_document"},
    {"PUT /api/records/{kind}/{id}", "PUT", "/api/records/order/O1", "{\"id\":\"O2\"}", 400,
     "invalid_field"},
    {"PATCH /api/records/{kind}/{id}", "PATCH", "/api/records/order/O1", "{\"status\":5}", 400,
     "invalid_field"},
    {"PATCH /api/records/{kind}/{id}", "PATCH", "/api/records/order/O1", "{\"status\"", 400,
     "invalid_json"},
    {"GET /api/providers", "DELETE", "/api/providers", NULL, 405, "method_not_allowed"},
    {"POST /api/providers", "POST", "/api/providers", "{\"id\":\"x\",\"type\":\"fax\","
     "\"config\":{}}", 400, "invalid_field"},
    {"POST /api/providers", "POST", "/api/providers", "{\"id\":", 400, "invalid_json"},
    {"GET /api/providers/{id}", "GET", "/api/providers/no_such_provider", NULL, 404,
     "not_found"},
    {"PUT /api/providers/{id}", "PUT", "/api/providers/no_such_provider",
     "{\"type\":\"http\",\"config\":{\"url\":\"http://127.0.0.1:9/\"}}", 404, "not_found"},
    {"PUT /api/providers/{id}", "PUT", "/api/providers/x", "17", 400, "invalid_document"},
    {"DELETE /api/providers/{id}", "DELETE", "/api/providers/no_such_provider", NULL, 404,
     "not_found"},
    {"GET /api/deliveries", "GET", "/api/deliveries?run=abc", NULL, 400, "invalid_field"},
    {"GET /api/deliveries/{id}", "GET", "/api/deliveries/987654321", NULL, 404, "not_found"},
    {"GET /api/deliveries/{id}", "GET", "/api/deliveries/abc", NULL, 404, "not_found"},
    {"POST /api/login", "POST", "/api/login", "{\"email\":5,\"password\":[]}", 400, NULL},
    {"POST /api/login", "POST", "/api/login", "{\"email\"", 400, "invalid_json"},
    {"POST /api/logout", "GET", "/api/logout", NULL, 405, "method_not_allowed"},
    {"GET /api/me", "DELETE", "/api/me", NULL, 405, "method_not_allowed"},
    {"GET /api/staff", "PUT", "/api/staff", "{}", 405, "method_not_allowed"},
    {"POST /api/staff", "POST", "/api/staff", "{\"id\":\"s1\",\"name\":5}", 400,
     "invalid_field"},
    {"POST /api/staff", "POST", "/api/staff", "{\"id\":", 400, "invalid_json"},
    {"GET /api/staff/{id}", "GET", "/api/staff/no_such_staff", NULL, 404, "not_found"},
    {"PATCH /api/staff/{id}", "PATCH", "/api/staff/no_such_staff", "{\"name\":\"x\"}", 404,
     "not_found"},
    {"PATCH /api/staff/{id}", "PATCH", "/api/staff/no_such_staff", "{\"roles\":\"sales\"}", 400,
     "invalid_field"},
    {"DELETE /api/staff/{id}", "DELETE", "/api/staff/no_such_staff", NULL, 404, "not_found"},
    {"PUT /api/staff/{id}/presence", "PUT", "/api/staff/no_such_staff/presence",
     "{\"online\":\"yes\"}", 400, "invalid_field"},
    {"PUT /api/staff/{id}/presence", "PUT", "/api/staff/no_such_staff/presence",
     "{\"online\":true}", 404, "not_found"},
    {"GET /api/presence", "POST", "/api/presence", "{}", 405, "method_not_allowed"},
    {"GET /api/teams", "DELETE", "/api/teams", NULL, 405, "method_not_allowed"},
    {"POST /api/teams", "POST", "/api/teams", "{\"id\":\"t1\",\"name\":[]}", 400,
     "invalid_field"},
    {"POST /api/teams", "POST", "/api/teams", "{\"id\":\"t1\",\"name\":\"T\",\"domain\":5}", 400,
     "invalid_domain"},
    {"GET /api/teams/{id}", "GET", "/api/teams/no_such_team", NULL, 404, "not_found"},
    {"PATCH /api/teams/{id}", "PATCH", "/api/teams/no_such_team", "{\"name\":\"x\"}", 404,
     "not_found"},
    {"DELETE /api/teams/{id}", "DELETE", "/api/teams/no_such_team", NULL, 404, "not_found"},
    {"GET /api/keys", "PUT", "/api/keys", "{}", 405, "method_not_allowed"},
    {"POST /api/keys", "POST", "/api/keys", "{\"scopes\":[\"everything\"]}", 400,
     "invalid_field"},
    {"POST /api/keys", "POST", "/api/keys", "{\"scopes\":\"read\"}", 400, "invalid_field"},
    {"DELETE /api/keys/{id}", "DELETE", "/api/keys/no_such_key", NULL, 404, "not_found"},
    {"GET /api/audit", "GET", "/api/audit?limit=0", NULL, 400, "invalid_field"},
    {"GET /api/audit", "GET", "/api/audit?before=x", NULL, 400, "invalid_field"},
    {"GET /api/pages", "POST", "/api/pages", "{}", 405, "method_not_allowed"},
    {"GET /api/pages/{id}", "GET", "/api/pages/no_such_page", NULL, 404, "not_found"},
    {"PUT /api/pages/{id}", "PUT", "/api/pages/p1", "{\"id\":\"p2\"}", 400, "invalid_field"},
    {"PUT /api/pages/{id}", "PUT", "/api/pages/p1", "{\"name\":", 400, "invalid_json"},
};
#define NBAD (sizeof BAD / sizeof BAD[0])

static const char *method_name(enum http_method m) {
  static const char *const names[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
                                      "OTHER"};
  return names[m];
}

/* Every route has at least one row (and every row names a route); else fails naming them. */
static void check_coverage(void) {
  char missing[4096] = "";
  size_t n = 0;
  for (const struct http_route *rt = server_routes; rt->pattern; rt++) {
    char route[300];
    snprintf(route, sizeof route, "%s %s", method_name(rt->method), rt->pattern);
    int found = 0;
    for (size_t i = 0; i < NBAD && !found; i++)
      found = strcmp(BAD[i].route, route) == 0;
    if (!found)
      n += snprintf(missing + n, n < sizeof missing ? sizeof missing - n : 0,
                    "\n  no bad-input row for %s", route);
  }
  for (size_t i = 0; i < NBAD; i++) {
    int found = 0;
    for (const struct http_route *rt = server_routes; rt->pattern && !found; rt++) {
      char route[300];
      snprintf(route, sizeof route, "%s %s", method_name(rt->method), rt->pattern);
      found = strcmp(BAD[i].route, route) == 0;
    }
    if (!found)
      n += snprintf(missing + n, n < sizeof missing ? sizeof missing - n : 0,
                    "\n  row for a route that does not exist: %s", BAD[i].route);
  }
  if (n)
    test_fail(__FILE__, __LINE__, "BAD[] in tests/integration/test_bad_input.c does not match "
              "server_routes[]: add a bad request for each new route%s", missing);
}

TEST_PG(bad_input_every_route_refuses_malformed_requests_with_a_clear_error) {
  check_coverage();
  start_with(NULL);
  struct http_resp r;
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/flows", FLOW, &r), 0);
  ASSERT_INT_EQ(r.status, 201);
  http_resp_free(&r);
  char failures[8192] = "";
  size_t n = 0;
  for (size_t i = 0; i < NBAD; i++) {
    const struct bad *b = &BAD[i];
    if (api_do(&P, b->method, b->path, b->body, &r) != 0)
      test_fail(__FILE__, __LINE__, "%s %s: no answer", b->method, b->path);
    const char *code = err_code(&r);
    int ok = r.status == b->status && code && (!b->code || strcmp(code, b->code) == 0);
    if (!ok)
      n += snprintf(failures + n, n < sizeof failures ? sizeof failures - n : 0,
                    "\n  %s %s %s: got %ld %s, want %ld %s; body %.300s", b->method, b->path,
                    b->body ? b->body : "", r.status, code ? code : "(no error code)",
                    b->status, b->code ? b->code : "(any code)", r.body ? r.body : "");
    http_resp_free(&r);
  }
  if (n)
    test_fail(__FILE__, __LINE__, "bad requests answered wrongly:%s", failures);
  /* Nothing above was taken for a change: the flow is still revision 1, no event stored. */
  ASSERT_INT_EQ(api_do(&P, "GET", "/api/flows/f_bad", NULL, &r), 0);
  ASSERT_INT_EQ(cJSON_GetObjectItem(r.json, "revision")->valueint, 1);
  http_resp_free(&r);
  char *events = sql_value(test_pg_conninfo(), "SELECT count(*) FROM events");
  ASSERT_STR_EQ(events, "0");
  free(events);
  stop();
}

/* ---- body limits ---- */

static char *nested(int depth) {
  char *s = malloc(2 * depth + 64);
  size_t n = (size_t)sprintf(s, "{\"when\":");
  for (int i = 0; i < depth; i++)
    s[n++] = '[';
  for (int i = 0; i < depth; i++)
    s[n++] = ']';
  strcpy(s + n, ",\"data\":{}}");
  return s;
}

static void expect_error(const char *path, const char *body, long status, const char *code) {
  struct http_resp r;
  ASSERT_INT_EQ(api_do(&P, "POST", path, body, &r), 0);
  if (r.status != status || !err_code(&r) || strcmp(err_code(&r), code) != 0)
    test_fail(__FILE__, __LINE__, "POST %s: got %ld %s, want %ld %s", path, r.status,
              r.body ? r.body : "", status, code);
  http_resp_free(&r);
}

static double limit_of(const struct http_resp *r) {
  cJSON *d = cJSON_GetObjectItem(cJSON_GetObjectItem(r->json, "error"), "details");
  return cJSON_GetNumberValue(cJSON_GetObjectItem(d, "limit"));
}

TEST_PG(bad_input_deep_or_huge_json_is_refused_before_anything_parses_it) {
  start_with(NULL);
  struct http_resp r;
  /* One level more than the limit: refused by http_body_json, naming the limit. */
  char *deep = nested(HTTP_MAX_JSON_DEPTH); /* + the outer object */
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/conditions/eval", deep, &r), 0);
  ASSERT_INT_EQ(r.status, 400);
  ASSERT_STR_EQ(err_code(&r), "too_deep");
  ASSERT_INT_EQ(limit_of(&r), HTTP_MAX_JSON_DEPTH);
  http_resp_free(&r);
  free(deep);
  /* Far deeper than any parser should recurse: the same answer, at once. */
  deep = nested(500000);
  double t0 = mono_ms();
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/events", deep, &r), 0);
  ASSERT_INT_EQ(r.status, 400);
  ASSERT_STR_EQ(err_code(&r), "too_deep");
  ASSERT_INT_OP(mono_ms() - t0, <, 5000);
  http_resp_free(&r);
  free(deep);
  /* At the limit is fine (the handler then applies its own rules). */
  deep = nested(HTTP_MAX_JSON_DEPTH - 1);
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/conditions/eval", deep, &r), 0);
  ASSERT_INT_NE(r.status, 500);
  ASSERT(!err_code(&r) || strcmp(err_code(&r), "too_deep") != 0 ||
         limit_of(&r) != HTTP_MAX_JSON_DEPTH);
  http_resp_free(&r);
  free(deep);

  /* A string (or a member name) past the limit: 413, naming it. */
  size_t big = HTTP_MAX_JSON_STRING + 10;
  char *body = malloc(big + 100);
  for (int as_name = 0; as_name < 2; as_name++) {
    size_t n = (size_t)sprintf(body, as_name ? "{\"type\":\"order.created\",\"data\":{\""
                                             : "{\"type\":\"order.created\",\"data\":{\"x\":\"");
    memset(body + n, 'a', big);
    strcpy(body + n + big, as_name ? "\":1}}" : "\"}}");
    ASSERT_INT_EQ(api_do(&P, "POST", "/api/events", body, &r), 0);
    ASSERT_INT_EQ(r.status, 413);
    ASSERT_STR_EQ(err_code(&r), "string_too_long");
    ASSERT_INT_EQ(limit_of(&r), HTTP_MAX_JSON_STRING);
    http_resp_free(&r);
  }
  free(body);
  /* Escaped quotes do not end a string early, and do not hide one either. */
  expect_error("/api/conditions/eval", "{\"when\":{\"==\":[\"a\\\"[[[[\",1]},\"data\":5", 400,
               "invalid_json");

  /* The older limits still hold: body size and events per request. */
  char *huge = malloc(HTTP_MAX_BODY + 2);
  memset(huge, ' ', HTTP_MAX_BODY + 1);
  huge[HTTP_MAX_BODY + 1] = '\0';
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/events", huge, &r), 0);
  ASSERT_INT_EQ(r.status, 413);
  ASSERT_STR_EQ(err_code(&r), "body_too_large");
  http_resp_free(&r);
  free(huge);
  char *many = malloc(1001 * 40 + 10);
  size_t n = (size_t)sprintf(many, "[");
  for (int i = 0; i < 1001; i++)
    n += (size_t)sprintf(many + n, "%s{\"type\":\"a.b\",\"data\":{}}", i ? "," : "");
  strcpy(many + n, "]");
  expect_error("/api/events", many, 413, "too_many_events");
  free(many);
  char *events = sql_value(test_pg_conninfo(), "SELECT count(*) FROM events");
  ASSERT_STR_EQ(events, "0");
  free(events);
  stop();
}

/* ---- slow clients ---- */

static int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_INT_EQ(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  struct timeval tv = {0, 200000}; /* reads wait at most 200 ms */
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

/* Reads what is there; returns 1 once the server has closed the connection. */
static int closed_by_server(int fd) {
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
      return 1;
    if (n < 0)
      return 0;
  }
}

TEST_PG(bad_input_a_trickled_body_is_dropped_at_the_body_timeout) {
  const char *env[] = {"FLOWD_HTTP_BODY_TIMEOUT=2", NULL};
  start_with(env);
  int fd = connect_to(P.port);
  const char *head = "POST /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                     TEST_ADMIN_TOKEN "\r\nContent-Type: application/json\r\n"
                     "Content-Length: 200\r\n\r\n";
  ASSERT_INT_EQ(send(fd, head, strlen(head), MSG_NOSIGNAL), (long)strlen(head));
  /* A byte every 400 ms: each one arrives well within lws' own per-read timeout. */
  double t0 = mono_ms(), closed_at = 0;
  for (int i = 0; i < 200 && !closed_at; i++) {
    if (send(fd, " ", 1, MSG_NOSIGNAL) != 1 || closed_by_server(fd))
      closed_at = mono_ms() - t0;
    sleep_ms(200);
  }
  close(fd);
  test_log("the trickling client was dropped after %.0f ms", closed_at);
  ASSERT(closed_at > 1500 && closed_at < 6000);
  /* The dropped request is gone, not waiting for a reply that never comes: shutdown does not
   * have to give up on it. */
  ASSERT_INT_EQ(flowd_stop(&P, SIGTERM, 30000), 0);
  char *log = flowd_log(&P);
  ASSERT_STR_CONTAINS(log, "dropped a request whose body arrived too slowly");
  ASSERT(strstr(log, "giving up on work still in flight") == NULL);
  free(log);
}

TEST_PG(bad_input_an_idle_keep_alive_connection_is_closed) {
  const char *env[] = {"FLOWD_HTTP_IDLE_TIMEOUT=2", NULL};
  start_with(env);
  int fd = connect_to(P.port);
  const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_INT_EQ(send(fd, req, strlen(req), MSG_NOSIGNAL), (long)strlen(req));
  double t0 = mono_ms(), closed_at = 0;
  while (!closed_at && mono_ms() - t0 < 15000)
    if (closed_by_server(fd))
      closed_at = mono_ms() - t0;
  close(fd);
  test_log("the idle connection was closed after %.0f ms", closed_at);
  ASSERT(closed_at > 1500 && closed_at < 6000);
  stop();
}
