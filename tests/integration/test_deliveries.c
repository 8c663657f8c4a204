/* Deliveries against a real flowd, PostgreSQL and loopback sinks: the http and smtp providers,
 * webhooks, retries with one idempotency key, permanent failures, test deliveries, two
 * processes sharing one outbox, lease take-over, and the providers and deliveries API. */
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "server/outbox.h"
#include "server/secret.h"
#include "tests/helpers.h"
#include "tests/sinks.h"
#include "tests/test.h"

#define READY_MS 60000
#define SEND_MS 20000

static struct flowd_proc P;

static void start(void) {
  flowd_start(&P, NULL, "test", NULL);
  flowd_wait_ready(&P, READY_MS);
}

static void stop(void) { ASSERT_INT_EQ(flowd_stop(&P, SIGTERM, 30000), 0); }

static struct http_resp call(const char *method, const char *path, const char *body,
                             long want) {
  struct http_resp r;
  if (api_do(&P, method, path, body, &r) != 0)
    test_fail(__FILE__, __LINE__, "%s %s: no response", method, path);
  if (r.status != want)
    test_fail(__FILE__, __LINE__, "%s %s: status %ld, want %ld; body: %s", method, path,
              r.status, want, r.body ? r.body : "");
  return r;
}

static void add_provider(const char *json) {
  struct http_resp r = call("POST", "/api/providers", json, 201);
  http_resp_free(&r);
}

/* Inserts a delivery with the very statement outbox_add puts in a step's transaction. */
static long long insert(const struct outbox_item *it) {
  struct outbox_params p;
  ASSERT_INT_EQ(outbox_params_fill(&p, it), 0);
  PGconn *c = PQconnectdb(test_pg_conninfo());
  PGresult *r = PQexecParams(c, outbox_insert_sql, OUTBOX_NPARAMS, NULL, p.values, NULL, NULL,
                             0);
  if (PQresultStatus(r) != PGRES_TUPLES_OK)
    test_fail(__FILE__, __LINE__, "insert: %s", PQerrorMessage(c));
  long long id = atoll(PQgetvalue(r, 0, 0));
  PQclear(r);
  PQfinish(c);
  outbox_params_free(&p);
  return id;
}

static cJSON *row(long long id) {
  char sql[200];
  snprintf(sql, sizeof sql, "SELECT row_to_json(d) FROM deliveries d WHERE id = %lld", id);
  char *t = sql_value(test_pg_conninfo(), sql);
  cJSON *j = cJSON_Parse(t);
  free(t);
  return j;
}

static const char *s(const cJSON *o, const char *k) {
  return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static int n(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(v) ? v->valueint : -1;
}

/* Waits until delivery id has status; returns its row (free with cJSON_Delete). */
static cJSON *wait_status(long long id, const char *status, int timeout_ms) {
  double deadline = mono_ms() + timeout_ms;
  for (;;) {
    cJSON *d = row(id);
    if (d && s(d, "status") && strcmp(s(d, "status"), status) == 0)
      return d;
    if (mono_ms() > deadline) {
      char *text = d ? cJSON_Print(d) : strdup("(no row)");
      char *log = flowd_log(&P);
      test_fail(__FILE__, __LINE__, "delivery %lld never became %s: %s\nflowd log:\n%s", id,
                status, text, log);
    }
    cJSON_Delete(d);
    sleep_ms(40);
  }
}

static void wait_count(const struct sink *k, int want, int timeout_ms) {
  double deadline = mono_ms() + timeout_ms;
  while (sink_count(k) < want) {
    if (mono_ms() > deadline)
      test_fail(__FILE__, __LINE__, "the sink got %d requests, want %d", sink_count(k), want);
    sleep_ms(30);
  }
}

static void http_provider(const char *id, const char *url, int timeout_ms) {
  char json[1024];
  snprintf(json, sizeof json,
           "{\"id\":\"%s\",\"type\":\"http\",\"config\":{\"url\":\"%s\",\"timeout_ms\":%d}}", id,
           url, timeout_ms);
  add_provider(json);
}

TEST_PG(deliver_http_provider_renders_body_auth_and_idempotency_key) {
  struct sink k;
  sink_http_start(&k, 0, NULL);
  start();
  char json[2048];
  snprintf(json, sizeof json,
           "{\"id\":\"sms_gw\",\"type\":\"http\",\"config\":{\"url\":\"%s/sms/send\","
           "\"headers\":{\"X-Shop\":\"{{{channel}}}-shop\"},"
           "\"body\":{\"phone\":\"{{{to}}}\",\"message\":\"{{{text}}}\","
           "\"meta\":{\"key\":\"{{idempotency_key}}\",\"voice\":\"{{voice}}\",\"n\":5}},"
           "\"auth\":{\"type\":\"bearer\",\"token\":\"tok-123\"}}}",
           k.url);
  add_provider(json);
  cJSON *req = cJSON_Parse("{\"voice\":\"vi-north\"}");
  struct outbox_item it = {.run_id = 41, .step_id = 7, .node_id = "sms1", .channel = "sms",
                           .provider = "sms_gw", .to = "0901234567",
                           .body = "Đơn hàng SO1 đã xác nhận & cảm ơn <3",
                           .request = req, .idempotency_key = "run41:sms1:1"};
  long long id = insert(&it);
  cJSON_Delete(req);
  cJSON *d = wait_status(id, "sent", SEND_MS);
  ASSERT_INT_EQ(n(d, "attempts"), 1);
  cJSON *resp = cJSON_GetObjectItem(d, "response");
  ASSERT_INT_EQ(n(resp, "status"), 200);
  ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(resp, "body"), "ok")));
  ASSERT_STR_EQ(s(cJSON_GetObjectItem(resp, "headers"), "x-request-id"), "sink-1");
  cJSON_Delete(d);

  cJSON *recs = sink_records(&k);
  ASSERT_INT_EQ(cJSON_GetArraySize(recs), 1);
  cJSON *r0 = cJSON_GetArrayItem(recs, 0), *h = cJSON_GetObjectItem(r0, "headers");
  ASSERT_STR_EQ(s(r0, "method"), "POST");
  ASSERT_STR_EQ(s(r0, "path"), "/sms/send");
  ASSERT_STR_EQ(s(h, "authorization"), "Bearer tok-123");
  ASSERT_STR_EQ(s(h, "idempotency-key"), "run41:sms1:1");
  ASSERT_STR_EQ(s(h, "content-type"), "application/json");
  ASSERT_STR_EQ(s(h, "x-shop"), "sms-shop");
  ASSERT(s(h, "expect") == NULL);
  cJSON *body = cJSON_Parse(s(r0, "body"));
  ASSERT_STR_EQ(s(body, "phone"), "0901234567");
  ASSERT_STR_EQ(s(body, "message"), "Đơn hàng SO1 đã xác nhận & cảm ơn <3");
  ASSERT_STR_EQ(s(cJSON_GetObjectItem(body, "meta"), "key"), "run41:sms1:1");
  ASSERT_STR_EQ(s(cJSON_GetObjectItem(body, "meta"), "voice"), "vi-north");
  ASSERT_INT_EQ(n(cJSON_GetObjectItem(body, "meta"), "n"), 5);
  cJSON_Delete(body);
  cJSON_Delete(recs);
  stop();
  sink_stop(&k);
}

static char *crlf_to_lf(const char *in) {
  char *out = strdup(in), *w = out;
  for (const char *p = in; *p; p++)
    if (!(p[0] == '\r' && p[1] == '\n'))
      *w++ = *p;
  *w = '\0';
  return out;
}

TEST_PG(deliver_smtp_sends_a_utf8_message_to_the_sink) {
  struct sink k;
  sink_smtp_start(&k);
  start();
  char json[1024];
  snprintf(json, sizeof json,
           "{\"id\":\"mail\",\"type\":\"smtp\",\"config\":{\"host\":\"127.0.0.1\",\"port\":%d,"
           "\"starttls\":\"none\",\"from\":\"Cửa hàng Ánh Dương <shop@example.com>\"}}",
           k.port);
  add_provider(json);
  const char *subject = "Xác nhận đơn hàng #SO1024 — cảm ơn quý khách đã mua sắm tại cửa hàng "
                        "Ánh Dương, chúc quý khách một ngày tốt lành!";
  const char *text = "Chào anh Nguyễn Văn An,\n\nĐơn hàng SO1024 (1.250.000đ) đã được xác "
                     "nhận.\n.\nMột dòng chỉ có dấu chấm ở trên.\nCảm ơn quý khách!";
  /* provider NULL: the first smtp provider. */
  struct outbox_item it = {.channel = "email", .to = "Nguyễn Văn An <an@example.com>",
                           .subject = subject, .body = text,
                           .idempotency_key = "run9:mail:1"};
  long long id = insert(&it);
  cJSON *d = wait_status(id, "sent", SEND_MS);
  ASSERT_STR_EQ(s(d, "provider"), "mail");
  ASSERT_INT_EQ(n(cJSON_GetObjectItem(d, "response"), "code"), 250);
  cJSON_Delete(d);
  wait_count(&k, 1, 5000);
  cJSON *recs = sink_records(&k);
  cJSON *m = cJSON_GetArrayItem(recs, 0);
  ASSERT_STR_EQ(s(m, "mail_from"), "shop@example.com");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(m, "rcpt_tos"), 0)),
                "an@example.com");
  ASSERT_STR_EQ(s(m, "subject"), subject);
  ASSERT_STR_CONTAINS(s(m, "from"), "Cửa hàng Ánh Dương");
  ASSERT_STR_CONTAINS(s(m, "to"), "an@example.com");
  ASSERT_STR_CONTAINS(s(m, "content_type"), "charset=\"utf-8\"");
  ASSERT_STR_EQ(s(m, "idempotency_key"), "run9:mail:1");
  ASSERT_STR_CONTAINS(s(m, "message_id"), ".flowd@example.com>");
  ASSERT(strlen(s(m, "date")) > 20);
  char *body = crlf_to_lf(s(m, "body"));
  ASSERT_STR_EQ(body, "Chào anh Nguyễn Văn An,\n\nĐơn hàng SO1024 (1.250.000đ) đã được xác "
                      "nhận.\n.\nMột dòng chỉ có dấu chấm ở trên.\nCảm ơn quý khách!\n");
  free(body);
  /* Every header line of the raw message stays within 78 characters. */
  const char *raw = s(m, "raw");
  const char *end = strstr(raw, "\r\n\r\n");
  ASSERT_NOT_NULL(end);
  for (const char *line = raw; line < end;) {
    const char *nl = strstr(line, "\r\n");
    ASSERT_INT_OP(nl - line, <=, 78);
    line = nl + 2;
  }
  cJSON_Delete(recs);
  stop();
  sink_stop(&k);
}

TEST_PG(deliver_retries_with_the_same_key_until_the_sink_recovers) {
  struct sink k;
  sink_http_start(&k, 0, "{\"fail_first\":2,\"fail_status\":503}");
  start();
  http_provider("gw", k.url, 5000);
  struct outbox_item it = {.channel = "chat", .provider = "gw", .to = "psid-1", .body = "hi",
                           .idempotency_key = "retry-key-1", .max_attempts = 5,
                           .backoff_ms = 100};
  long long id = insert(&it);
  cJSON *d = wait_status(id, "sent", SEND_MS);
  ASSERT_INT_EQ(n(d, "attempts"), 3);
  cJSON_Delete(d);
  cJSON *recs = sink_records(&k), *rec;
  ASSERT_INT_EQ(cJSON_GetArraySize(recs), 3);
  int i = 0;
  cJSON_ArrayForEach(rec, recs) {
    ASSERT_STR_EQ(s(cJSON_GetObjectItem(rec, "headers"), "idempotency-key"), "retry-key-1");
    ASSERT_INT_EQ(n(rec, "status"), i++ < 2 ? 503 : 200);
  }
  cJSON_Delete(recs);
  stop();
  sink_stop(&k);
}

TEST_PG(deliver_reaches_a_sink_that_was_down_and_came_back) {
  int port = free_port(); /* nothing listens there yet */
  start();
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
  http_provider("gw", url, 2000);
  struct outbox_item it = {.channel = "robocall", .provider = "gw", .to = "0900000001",
                           .body = "xin chào", .idempotency_key = "down-up-1",
                           .max_attempts = 20, .backoff_ms = 100};
  long long id = insert(&it);
  /* Wait for two refused attempts. */
  double deadline = mono_ms() + SEND_MS;
  for (;;) {
    cJSON *d = row(id);
    int attempts = n(d, "attempts");
    ASSERT(strcmp(s(d, "status"), "sent") != 0);
    if (attempts >= 2 && s(d, "error")) {
      ASSERT_STR_CONTAINS(s(d, "error"), "onnect");
      cJSON_Delete(d);
      break;
    }
    cJSON_Delete(d);
    ASSERT(mono_ms() < deadline);
    sleep_ms(30);
  }
  struct sink k;
  sink_http_start(&k, port, NULL);
  cJSON *d = wait_status(id, "sent", SEND_MS);
  ASSERT_INT_OP(n(d, "attempts"), >=, 3);
  cJSON_Delete(d);
  ASSERT_INT_EQ(sink_count(&k), 1);
  stop();
  sink_stop(&k);
}

TEST_PG(deliver_permanent_400_fails_without_retrying) {
  struct sink k;
  sink_http_start(&k, 0, NULL);
  start();
  char url[128];
  snprintf(url, sizeof url, "%s/sms?status=400", k.url);
  http_provider("gw", url, 5000);
  struct outbox_item it = {.channel = "sms", .provider = "gw", .to = "0900000002",
                           .body = "x", .idempotency_key = "perm-400", .max_attempts = 5,
                           .backoff_ms = 50};
  long long id = insert(&it);
  cJSON *d = wait_status(id, "failed", SEND_MS);
  ASSERT_INT_EQ(n(d, "attempts"), 1);
  ASSERT_STR_CONTAINS(s(d, "error"), "HTTP 400");
  ASSERT_INT_EQ(n(cJSON_GetObjectItem(d, "response"), "status"), 400);
  cJSON_Delete(d);
  sleep_ms(300); /* time enough for a wrong retry */
  ASSERT_INT_EQ(sink_count(&k), 1);
  stop();
  sink_stop(&k);
}

TEST_PG(deliver_gives_up_after_max_attempts) {
  struct sink k;
  sink_http_start(&k, 0, "{\"fail_first\":1000,\"fail_status\":500}");
  start();
  http_provider("gw", k.url, 5000);
  struct outbox_item it = {.channel = "sms", .provider = "gw", .to = "0900000003",
                           .body = "x", .idempotency_key = "max-3", .max_attempts = 3,
                           .backoff_ms = 50};
  long long id = insert(&it);
  cJSON *d = wait_status(id, "failed", SEND_MS);
  ASSERT_INT_EQ(n(d, "attempts"), 3);
  ASSERT_STR_CONTAINS(s(d, "error"), "HTTP 500");
  ASSERT_STR_CONTAINS(s(d, "error"), "gave up after 3 attempts");
  cJSON_Delete(d);
  ASSERT_INT_EQ(sink_count(&k), 3);
  stop();
  sink_stop(&k);
}

TEST_PG(deliver_test_deliveries_are_recorded_and_never_sent) {
  struct sink k;
  sink_http_start(&k, 0, NULL);
  start();
  http_provider("gw", k.url, 5000);
  struct outbox_item t = {.channel = "sms", .provider = "gw", .to = "0900000004",
                          .body = "test run", .idempotency_key = "test-1", .test = 1};
  long long tid = insert(&t);
  struct outbox_item real = t;
  real.idempotency_key = "real-1";
  real.test = 0;
  long long rid = insert(&real);
  cJSON *d = wait_status(tid, "recorded", SEND_MS);
  ASSERT_STR_EQ(s(d, "provider"), "gw");
  ASSERT(cJSON_IsNull(cJSON_GetObjectItem(d, "response")));
  cJSON_Delete(d);
  cJSON_Delete(wait_status(rid, "sent", SEND_MS));
  cJSON *recs = sink_records(&k);
  ASSERT_INT_EQ(cJSON_GetArraySize(recs), 1);
  ASSERT_STR_EQ(s(cJSON_GetObjectItem(cJSON_GetArrayItem(recs, 0), "headers"),
                  "idempotency-key"), "real-1");
  cJSON_Delete(recs);
  stop();
  sink_stop(&k);
}

TEST_PG(deliver_webhook_uses_its_request_and_expected_status) {
  struct sink k;
  sink_http_start(&k, 0, "{\"response\":{\"order\":\"SO1\",\"accepted\":true}}");
  start();
  char json[1024];
  snprintf(json, sizeof json,
           "{\"method\":\"PUT\",\"url\":\"%s/hooks/order?x=1\",\"headers\":{\"X-Sig\":\"abc\","
           "\"Authorization\":\"Bearer hook-secret\"},\"body\":{\"a\":1},\"timeout_ms\":3000,"
           "\"expect\":[200,\"3xx\"]}",
           k.url);
  cJSON *req = cJSON_Parse(json);
  struct outbox_item ok = {.run_id = 5, .channel = "webhook", .request = req,
                           .idempotency_key = "hook-ok"};
  long long okid = insert(&ok);
  cJSON_ReplaceItemInObject(req, "expect", cJSON_CreateNumber(201));
  struct outbox_item bad = {.run_id = 5, .channel = "webhook", .request = req,
                            .idempotency_key = "hook-201", .max_attempts = 3};
  long long badid = insert(&bad);
  cJSON_Delete(req);
  cJSON *d = wait_status(okid, "sent", SEND_MS);
  cJSON *resp = cJSON_GetObjectItem(d, "response");
  ASSERT_INT_EQ(n(resp, "status"), 200);
  ASSERT_STR_EQ(s(cJSON_GetObjectItem(resp, "body"), "order"), "SO1");
  ASSERT_STR_EQ(s(cJSON_GetObjectItem(resp, "headers"), "content-type"), "application/json");
  cJSON_Delete(d);
  d = wait_status(badid, "failed", SEND_MS);
  ASSERT_INT_EQ(n(d, "attempts"), 1);
  ASSERT_STR_CONTAINS(s(d, "error"), "HTTP 200");
  cJSON_Delete(d);
  cJSON *recs = sink_records(&k), *r0 = cJSON_GetArrayItem(recs, 0);
  ASSERT_INT_EQ(cJSON_GetArraySize(recs), 2);
  ASSERT_STR_EQ(s(r0, "method"), "PUT");
  ASSERT_STR_EQ(s(r0, "path"), "/hooks/order");
  ASSERT_STR_EQ(s(r0, "query"), "x=1");
  ASSERT_STR_EQ(s(r0, "body"), "{\"a\":1}");
  ASSERT_STR_EQ(s(cJSON_GetObjectItem(r0, "headers"), "x-sig"), "abc");
  cJSON_Delete(recs);
  /* The list shows the webhook's request without its credentials. */
  struct http_resp r = call("GET", "/api/deliveries?run=5", NULL, 200);
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "deliveries")), 2);
  ASSERT(strstr(r.body, "hook-secret") == NULL);
  ASSERT_STR_CONTAINS(r.body, "\"Authorization\":\"********\"");
  ASSERT_STR_CONTAINS(r.body, "\"X-Sig\":\"abc\"");
  http_resp_free(&r);
  stop();
  sink_stop(&k);
}

/* Inserts count deliveries in one transaction with plain SQL and one NOTIFY. */
static void insert_many(const char *provider, int count, const char *prefix) {
  char sql[1024];
  snprintf(sql, sizeof sql,
           "WITH i AS (INSERT INTO deliveries (channel, provider, \"to\", body, "
           "idempotency_key, max_attempts, backoff_ms) SELECT 'sms', '%s', '09' || g, "
           "'m' || g, '%s' || g, 5, 100 FROM generate_series(1, %d) g RETURNING id) "
           "SELECT count(*) || '' FROM i, pg_notify('flowd_outbox', '') n",
           provider, prefix, count);
  free(sql_value(test_pg_conninfo(), sql));
}

static int count_where(const char *where) {
  char sql[512];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM deliveries WHERE %s", where);
  char *v = sql_value(test_pg_conninfo(), sql);
  int c = atoi(v);
  free(v);
  return c;
}

TEST_PG(deliver_two_processes_never_send_the_same_delivery_twice) {
  struct sink k;
  sink_http_start(&k, 0, "{\"delay_ms\":5}");
  struct flowd_proc q;
  start();
  flowd_start(&q, NULL, "test", NULL);
  flowd_wait_ready(&q, READY_MS);
  http_provider("gw", k.url, 5000);
  insert_many("gw", 300, "pair-");
  double deadline = mono_ms() + 60000;
  while (count_where("status = 'sent'") < 300) {
    ASSERT(mono_ms() < deadline);
    sleep_ms(50);
  }
  cJSON *recs = sink_records(&k), *rec;
  ASSERT_INT_EQ(cJSON_GetArraySize(recs), 300);
  char seen[301] = {0};
  cJSON_ArrayForEach(rec, recs) {
    const char *key = s(cJSON_GetObjectItem(rec, "headers"), "idempotency-key");
    ASSERT(key && strncmp(key, "pair-", 5) == 0);
    int i = atoi(key + 5);
    ASSERT(i >= 1 && i <= 300);
    ASSERT_INT_EQ(seen[i], 0);
    seen[i] = 1;
  }
  cJSON_Delete(recs);
  char *owners = sql_value(test_pg_conninfo(),
                           "SELECT count(DISTINCT lease_owner) FROM deliveries");
  test_log("processes that sent: %s", owners);
  free(owners);
  char *errors = sql_value(test_pg_conninfo(), "SELECT string_agg(DISTINCT error, '; ') "
                                                 "FROM deliveries WHERE attempts <> 1");
  test_log("retried: %s", errors);
  free(errors);
  ASSERT_INT_EQ(count_where("attempts <> 1"), 0);
  ASSERT_INT_EQ(flowd_stop(&q, SIGTERM, 30000), 0);
  stop();
  sink_stop(&k);
}

TEST_PG(deliver_takes_over_a_dead_process_delivery_after_its_lease) {
  struct sink k;
  sink_http_start(&k, 0, "{\"delay_ms\":10000}");
  const char *env[] = {"FLOWD_OUTBOX_LEASE_MS=1500", NULL};
  flowd_start(&P, NULL, "test", env);
  flowd_wait_ready(&P, READY_MS);
  http_provider("gw", k.url, 60000);
  struct outbox_item it = {.channel = "sms", .provider = "gw", .to = "0900000005",
                           .body = "x", .idempotency_key = "lease-1", .max_attempts = 5,
                           .backoff_ms = 50};
  long long id = insert(&it);
  wait_count(&k, 1, SEND_MS); /* the first process is sending it... */
  ASSERT_INT_EQ(flowd_stop(&P, SIGKILL, 10000), 128 + SIGKILL); /* ...and dies */
  sink_control(&k, "{}");
  flowd_start(&P, NULL, "test", env);
  flowd_wait_ready(&P, READY_MS);
  cJSON *d = wait_status(id, "sent", SEND_MS);
  ASSERT_INT_EQ(n(d, "attempts"), 2);
  cJSON_Delete(d);
  cJSON *recs = sink_records(&k), *rec;
  ASSERT_INT_EQ(cJSON_GetArraySize(recs), 2);
  cJSON_ArrayForEach(rec, recs) {
    ASSERT_STR_EQ(s(cJSON_GetObjectItem(rec, "headers"), "idempotency-key"), "lease-1");
  }
  cJSON_Delete(recs);
  stop();
  sink_stop(&k);
}

TEST_PG(deliver_shutdown_gives_a_send_in_flight_back) {
  struct sink k;
  sink_http_start(&k, 0, "{\"delay_ms\":5000}");
  start();
  http_provider("gw", k.url, 30000);
  struct outbox_item it = {.channel = "sms", .provider = "gw", .to = "0900000006",
                           .body = "x", .idempotency_key = "shutdown-1"};
  long long id = insert(&it);
  wait_count(&k, 1, SEND_MS);
  stop();
  cJSON *d = row(id);
  ASSERT_STR_EQ(s(d, "status"), "pending");
  ASSERT_INT_EQ(n(d, "attempts"), 0);
  ASSERT(cJSON_IsNull(cJSON_GetObjectItem(d, "lease_owner")));
  cJSON_Delete(d);
  sink_control(&k, "{}");
  start();
  d = wait_status(id, "sent", SEND_MS);
  ASSERT_INT_EQ(n(d, "attempts"), 1);
  cJSON_Delete(d);
  stop();
  sink_stop(&k);
}

static const char *err_field(const struct http_resp *r) {
  cJSON *d = cJSON_GetObjectItem(cJSON_GetObjectItem(r->json, "error"), "details");
  return cJSON_GetStringValue(cJSON_GetObjectItem(d, "field"));
}

static void bad_provider(const char *method, const char *path, const char *json,
                         const char *field) {
  struct http_resp r = call(method, path, json, 400);
  if (!err_field(&r) || strcmp(err_field(&r), field) != 0)
    test_fail(__FILE__, __LINE__, "%s: field %s, want %s; body %s", json,
              err_field(&r) ? err_field(&r) : "(none)", field, r.body);
  http_resp_free(&r);
}

/* The stored value of a secret (sealed: server/secret.h) opened with the tests' key, as a
 * new string. */
static char *stored_secret(const char *sql) {
  unsigned char k[SECRET_KEY_BYTES];
  ASSERT_INT_EQ(secret_key_parse(TEST_SECRET_KEY, k), 0);
  secret_use_key(k);
  char *sealed = sql_value(test_pg_conninfo(), sql), *plain = NULL;
  ASSERT(secret_is_sealed(sealed));
  ASSERT_INT_EQ(secret_open(sealed, &plain), 0);
  free(sealed);
  return plain;
}

TEST_PG(provider_api_validates_input_and_never_shows_secrets) {
  start();
  struct http_resp r = call(
      "POST", "/api/providers",
      "{\"id\":\"sms_gw\",\"type\":\"http\",\"config\":{\"url\":\"http://127.0.0.1:9/send\","
      "\"headers\":{\"X-Api-Key\":\"k-secret\",\"X-Shop\":\"a\"},"
      "\"auth\":{\"type\":\"bearer\",\"token\":\"t-secret\"}}}",
      201);
  ASSERT(strstr(r.body, "secret") == NULL);
  ASSERT_STR_EQ(s(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "config"), "auth"), "token"),
                "********");
  http_resp_free(&r);
  r = call("POST", "/api/providers",
           "{\"id\":\"mail\",\"type\":\"smtp\",\"config\":{\"host\":\"127.0.0.1\",\"port\":2525,"
           "\"starttls\":\"none\",\"username\":\"u\",\"password\":\"p-secret\","
           "\"from\":\"shop@example.com\"}}",
           201);
  http_resp_free(&r);
  r = call("GET", "/api/providers", NULL, 200);
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "providers")), 2);
  ASSERT(strstr(r.body, "secret") == NULL);
  http_resp_free(&r);
  r = call("GET", "/api/providers/mail", NULL, 200);
  ASSERT_STR_EQ(s(cJSON_GetObjectItem(r.json, "config"), "password"), "********");
  http_resp_free(&r);

  /* A PUT that sends the mask back keeps the stored secret; a new value replaces it. */
  r = call("PUT", "/api/providers/mail",
           "{\"config\":{\"host\":\"127.0.0.1\",\"port\":2526,\"starttls\":\"none\","
           "\"username\":\"u\",\"password\":\"********\",\"from\":\"shop@example.com\"}}",
           200);
  ASSERT_INT_EQ(n(cJSON_GetObjectItem(r.json, "config"), "port"), 2526);
  http_resp_free(&r);
  char *pw = stored_secret("SELECT config->>'password' FROM providers WHERE id = 'mail'");
  ASSERT_STR_EQ(pw, "p-secret");
  free(pw);
  r = call("PUT", "/api/providers/sms_gw",
           "{\"type\":\"http\",\"config\":{\"url\":\"https://127.0.0.1/x\",\"headers\":"
           "{\"X-Api-Key\":\"********\"},\"auth\":{\"type\":\"bearer\",\"token\":\"t2\"}}}",
           200);
  http_resp_free(&r);
  char *cfg = stored_secret("SELECT config->'headers'->>'X-Api-Key' FROM providers "
                            "WHERE id = 'sms_gw'");
  ASSERT_STR_EQ(cfg, "k-secret");
  free(cfg);
  cfg = stored_secret("SELECT config->'auth'->>'token' FROM providers WHERE id = 'sms_gw'");
  ASSERT_STR_EQ(cfg, "t2");
  free(cfg);

  bad_provider("POST", "/api/providers", "{\"id\":\"x\",\"type\":\"fax\",\"config\":{}}",
               "type");
  bad_provider("POST", "/api/providers", "{\"id\":\"bad id\",\"type\":\"http\"}", "id");
  bad_provider("POST", "/api/providers", "{\"id\":\"x\",\"type\":\"http\",\"config\":{}}",
               "config.url");
  bad_provider("POST", "/api/providers",
               "{\"id\":\"x\",\"type\":\"http\",\"config\":{\"url\":\"ftp://127.0.0.1/\"}}",
               "config.url");
  bad_provider("POST", "/api/providers",
               "{\"id\":\"x\",\"type\":\"http\",\"config\":{\"url\":\"http://127.0.0.1/\","
               "\"method\":\"TRACE\"}}",
               "config.method");
  bad_provider("POST", "/api/providers",
               "{\"id\":\"x\",\"type\":\"http\",\"config\":{\"url\":\"http://127.0.0.1/\","
               "\"auth\":{\"type\":\"bearer\"}}}",
               "config.auth.token");
  bad_provider("POST", "/api/providers",
               "{\"id\":\"x\",\"type\":\"http\",\"config\":{\"url\":\"http://127.0.0.1/\","
               "\"timeout_ms\":5}}",
               "config.timeout_ms");
  bad_provider("POST", "/api/providers",
               "{\"id\":\"x\",\"type\":\"smtp\",\"config\":{\"host\":\"127.0.0.1\","
               "\"port\":70000,\"from\":\"a@b.c\"}}",
               "config.port");
  bad_provider("POST", "/api/providers",
               "{\"id\":\"x\",\"type\":\"smtp\",\"config\":{\"host\":\"127.0.0.1\"}}",
               "config.from");
  bad_provider("POST", "/api/providers",
               "{\"id\":\"x\",\"type\":\"smtp\",\"config\":{\"host\":\"127.0.0.1\","
               "\"from\":\"not an address\"}}",
               "config.from");
  bad_provider("POST", "/api/providers",
               "{\"id\":\"x\",\"type\":\"smtp\",\"config\":{\"host\":\"127.0.0.1\","
               "\"from\":\"a@b.c\",\"starttls\":\"maybe\"}}",
               "config.starttls");
  bad_provider("POST", "/api/providers",
               "{\"id\":\"x\",\"type\":\"smtp\",\"config\":{\"host\":\"127.0.0.1\","
               "\"from\":\"a@b.c\",\"pasword\":\"typo\"}}",
               "config.pasword");
  bad_provider("PUT", "/api/providers/mail", "{\"id\":\"other\",\"config\":{}}", "id");
  r = call("POST", "/api/providers", "[1]", 400);
  http_resp_free(&r);
  r = call("POST", "/api/providers",
           "{\"id\":\"mail\",\"type\":\"smtp\",\"config\":{\"host\":\"h\",\"from\":\"a@b.c\"}}",
           409);
  http_resp_free(&r);
  r = call("PUT", "/api/providers/nope",
           "{\"type\":\"smtp\",\"config\":{\"host\":\"h\",\"from\":\"a@b.c\"}}", 404);
  http_resp_free(&r);
  r = call("GET", "/api/providers/nope", NULL, 404);
  http_resp_free(&r);
  r = call("DELETE", "/api/providers/mail", NULL, 204);
  http_resp_free(&r);
  r = call("DELETE", "/api/providers/mail", NULL, 404);
  http_resp_free(&r);

  char url[128];
  snprintf(url, sizeof url, "%s/api/providers", P.url);
  ASSERT_INT_EQ(http_do("GET", url, NULL, NULL, &r), 0);
  ASSERT_INT_EQ(r.status, 401);
  http_resp_free(&r);
  stop();
}

TEST_PG(deliveries_api_lists_with_filters_and_pages) {
  start();
  /* Final rows only, so the worker leaves them alone. */
  free(sql_value(test_pg_conninfo(),
                 "INSERT INTO deliveries (run_id, channel, \"to\", body, idempotency_key, "
                 "status, attempts, error) SELECT CASE WHEN g <= 4 THEN 7 ELSE 8 END, "
                 "CASE WHEN g % 2 = 0 THEN 'email' ELSE 'sms' END, 'to' || g, 'b' || g, "
                 "'k' || g, CASE WHEN g = 3 THEN 'failed' ELSE 'sent' END, 1, "
                 "CASE WHEN g = 3 THEN 'HTTP 400' END FROM generate_series(1, 6) g"));
  struct http_resp r = call("GET", "/api/deliveries", NULL, 200);
  cJSON *list = cJSON_GetObjectItem(r.json, "deliveries");
  ASSERT_INT_EQ(cJSON_GetArraySize(list), 6);
  cJSON *first = cJSON_GetArrayItem(list, 0);
  ASSERT_STR_EQ(s(first, "idempotency_key"), "k6"); /* newest first */
  ASSERT_STR_EQ(s(first, "channel"), "email");
  ASSERT_STR_EQ(s(first, "to"), "to6");
  ASSERT_STR_EQ(s(first, "body"), "b6");
  ASSERT_INT_EQ(n(first, "attempts"), 1);
  ASSERT_NOT_NULL(s(first, "created_at"));
  ASSERT_NOT_NULL(s(first, "updated_at"));
  ASSERT(cJSON_IsNull(cJSON_GetObjectItem(r.json, "next_before")));
  http_resp_free(&r);

  r = call("GET", "/api/deliveries?run=7", NULL, 200);
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "deliveries")), 4);
  http_resp_free(&r);
  r = call("GET", "/api/deliveries?status=failed", NULL, 200);
  list = cJSON_GetObjectItem(r.json, "deliveries");
  ASSERT_INT_EQ(cJSON_GetArraySize(list), 1);
  ASSERT_STR_EQ(s(cJSON_GetArrayItem(list, 0), "error"), "HTTP 400");
  http_resp_free(&r);
  r = call("GET", "/api/deliveries?channel=email&run=8", NULL, 200);
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "deliveries")), 1);
  http_resp_free(&r);

  r = call("GET", "/api/deliveries?limit=4", NULL, 200);
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "deliveries")), 4);
  int before = n(r.json, "next_before");
  ASSERT_INT_OP(before, >, 0);
  http_resp_free(&r);
  char path[128];
  snprintf(path, sizeof path, "/api/deliveries?limit=4&before=%d", before);
  r = call("GET", path, NULL, 200);
  list = cJSON_GetObjectItem(r.json, "deliveries");
  ASSERT_INT_EQ(cJSON_GetArraySize(list), 2);
  ASSERT_STR_EQ(s(cJSON_GetArrayItem(list, 1), "idempotency_key"), "k1");
  http_resp_free(&r);
  snprintf(path, sizeof path, "/api/deliveries/%d", before);
  r = call("GET", path, NULL, 200);
  ASSERT_INT_EQ(n(r.json, "id"), before);
  http_resp_free(&r);
  r = call("GET", "/api/deliveries/999999", NULL, 404);
  http_resp_free(&r);

  const char *bad[][2] = {{"/api/deliveries?status=lost", "status"},
                          {"/api/deliveries?channel=fax", "channel"},
                          {"/api/deliveries?run=abc", "run"},
                          {"/api/deliveries?limit=0", "limit"},
                          {"/api/deliveries?limit=501", "limit"},
                          {"/api/deliveries?before=-1", "before"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    r = call("GET", bad[i][0], NULL, 400);
    ASSERT_STR_EQ(err_field(&r), bad[i][1]);
    http_resp_free(&r);
  }
  stop();
}

TEST_PG(deliver_records_an_outcome_after_the_database_comes_back) {
  struct sink k;
  sink_http_start(&k, 0, "{\"delay_ms\":1500}");
  start();
  http_provider("gw", k.url, 10000);
  struct outbox_item it = {.channel = "sms", .provider = "gw", .to = "0900000007",
                           .body = "x", .idempotency_key = "db-gone-1"};
  long long id = insert(&it);
  wait_count(&k, 1, SEND_MS);
  /* The answer arrives while PostgreSQL is down: the outcome waits and is written later. */
  ASSERT_INT_EQ(test_pg_ctl("stop"), 0);
  sleep_ms(2500);
  ASSERT_INT_EQ(test_pg_ctl("start"), 0);
  cJSON *d = wait_status(id, "sent", SEND_MS);
  ASSERT_INT_EQ(n(d, "attempts"), 1);
  cJSON_Delete(d);
  ASSERT_INT_EQ(sink_count(&k), 1);
  ASSERT(pid_alive(P.pid));
  stop();
  sink_stop(&k);
}

TEST_PG(deliver_waits_as_long_as_retry_after_says_on_429) {
  struct sink k;
  sink_http_start(&k, 0, "{\"fail_first\":1,\"fail_status\":429,\"retry_after\":\"1\"}");
  start();
  http_provider("gw", k.url, 5000);
  struct outbox_item it = {.channel = "sms", .provider = "gw", .to = "0900000008",
                           .body = "x", .idempotency_key = "429-1", .max_attempts = 3,
                           .backoff_ms = 50};
  long long id = insert(&it);
  cJSON *d = wait_status(id, "sent", SEND_MS);
  ASSERT_INT_EQ(n(d, "attempts"), 2);
  cJSON_Delete(d);
  cJSON *recs = sink_records(&k);
  ASSERT_INT_EQ(cJSON_GetArraySize(recs), 2);
  double t0 = cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(recs, 0), "t"));
  double t1 = cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(recs, 1), "t"));
  ASSERT_INT_EQ(n(cJSON_GetArrayItem(recs, 0), "status"), 429);
  ASSERT_INT_OP((t1 - t0) * 1000, >=, 950); /* not the 50 ms backoff */
  cJSON_Delete(recs);
  stop();
  sink_stop(&k);
}
