/* Provider secrets at rest against a real flowd and PostgreSQL: they are stored sealed with
 * the process's key (never as written), shown masked, opened for a send, kept sealed across
 * an update that sends the mask back; a generated key lives in the data folder and is said
 * so in the log; a process with another key fails the send saying why. */
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

#define SEND_MS 20000

static struct flowd_proc P;

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

static void call_ok(const char *method, const char *path, const char *body, long want) {
  struct http_resp r = call(method, path, body, want);
  http_resp_free(&r);
}

/* Inserts a delivery with the statement outbox_add puts in a step's transaction. */
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

/* Waits until delivery id is final; returns "status|error". */
static char *wait_final(long long id) {
  char sql[300];
  snprintf(sql, sizeof sql, "SELECT status || '|' || coalesce(error, '') FROM deliveries "
           "WHERE id = %lld AND status IN ('sent', 'failed')", id);
  double deadline = mono_ms() + SEND_MS;
  for (;;) {
    char *v = sql_value(test_pg_conninfo(), sql);
    if (v[0])
      return v;
    free(v);
    if (mono_ms() > deadline) {
      char *log = flowd_log(&P);
      test_fail(__FILE__, __LINE__, "delivery %lld never became final; log:\n%s", id, log);
    }
    sleep_ms(40);
  }
}

static char *opened(const char *sealed) {
  unsigned char k[SECRET_KEY_BYTES];
  ASSERT_INT_EQ(secret_key_parse(TEST_SECRET_KEY, k), 0);
  secret_use_key(k);
  char *plain = NULL;
  ASSERT_INT_EQ(secret_open(sealed, &plain), 0);
  return plain;
}

#define GW_JSON                                                                             \
  "{\"id\":\"gw\",\"type\":\"http\",\"config\":{\"url\":\"%s/send\",\"headers\":{"          \
  "\"X-Api-Key\":\"hdr-secret-1\",\"X-Shop\":\"plain-shop\"},\"body\":{\"to\":\"{{{to}}}\","  \
  "\"account\":{\"api_token\":\"body-secret-1\"},\"text\":\"{{{text}}}\"},"                 \
  "\"auth\":{\"type\":\"bearer\",\"token\":\"auth-secret-1\"}}}"

TEST_PG(secret_provider_secrets_are_stored_sealed_and_opened_only_to_send) {
  struct sink k;
  sink_http_start(&k, 0, NULL);
  flowd_start(&P, NULL, "test", NULL);
  flowd_wait_ready(&P, 60000);
  char json[1024];
  snprintf(json, sizeof json, GW_JSON, k.url);
  struct http_resp r = call("POST", "/api/providers", json, 201);
  ASSERT(strstr(r.body, "secret") == NULL); /* the reply masks every one of them */
  http_resp_free(&r);
  call_ok("POST", "/api/providers", "{\"id\":\"mail\",\"type\":\"smtp\",\"config\":{\"host\":"
          "\"127.0.0.1\",\"port\":2525,\"starttls\":\"none\",\"username\":\"u\",\"password\":"
          "\"smtp-secret-1\",\"from\":\"shop@example.com\"}}", 201);

  /* At rest: no secret as written; each one sealed, and it opens to what was written. */
  char *all = sql_value(test_pg_conninfo(), "SELECT string_agg(config::text, ' ') FROM providers");
  ASSERT(strstr(all, "secret") == NULL);
  ASSERT_STR_CONTAINS(all, "plain-shop"); /* what is not secret stays readable */
  free(all);
  static const char *const fields[][2] = {
      {"config->'auth'->>'token'", "auth-secret-1"},
      {"config->'headers'->>'X-Api-Key'", "hdr-secret-1"},
      {"config->'body'->'account'->>'api_token'", "body-secret-1"}};
  char sealed[3][512];
  for (int i = 0; i < 3; i++) {
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT %s FROM providers WHERE id = 'gw'", fields[i][0]);
    char *v = sql_value(test_pg_conninfo(), sql), *plain = opened(v);
    ASSERT_STR_EQ(plain, fields[i][1]);
    snprintf(sealed[i], sizeof sealed[i], "%s", v);
    free(plain);
    free(v);
  }

  /* Sending opens them: the gateway gets the real values. */
  struct outbox_item it = {.channel = "sms", .provider = "gw", .to = "0901",
                           .body = "hello", .idempotency_key = "sec-1"};
  char *fin = wait_final(insert(&it));
  ASSERT_STR_EQ(fin, "sent|");
  free(fin);
  cJSON *recs = sink_records(&k), *r0 = cJSON_GetArrayItem(recs, 0);
  cJSON *h = cJSON_GetObjectItem(r0, "headers");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(h, "authorization")),
                "Bearer auth-secret-1");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(h, "x-api-key")), "hdr-secret-1");
  ASSERT_STR_CONTAINS(cJSON_GetStringValue(cJSON_GetObjectItem(r0, "body")),
                      "\"api_token\":\"body-secret-1\"");
  cJSON_Delete(recs);

  /* The API masks them all; sending the masks back keeps the very same sealed values. */
  r = call("GET", "/api/providers/gw", NULL, 200);
  ASSERT(strstr(r.body, "secret") == NULL);
  ASSERT_STR_CONTAINS(r.body, "\"api_token\":\"********\"");
  http_resp_free(&r);
  snprintf(json, sizeof json,
           "{\"config\":{\"url\":\"%s/send\",\"headers\":{\"X-Api-Key\":\"********\"},"
           "\"body\":{\"account\":{\"api_token\":\"********\"}},\"auth\":{\"type\":\"bearer\","
           "\"token\":\"auth-secret-2\"}}}", k.url);
  call_ok("PUT", "/api/providers/gw", json, 200);
  for (int i = 1; i < 3; i++) {
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT %s FROM providers WHERE id = 'gw'", fields[i][0]);
    char *v = sql_value(test_pg_conninfo(), sql);
    ASSERT_STR_EQ(v, sealed[i]);
    free(v);
  }
  char *v = sql_value(test_pg_conninfo(),
                     "SELECT config->'auth'->>'token' FROM providers WHERE id = 'gw'");
  char *plain = opened(v);
  ASSERT_STR_EQ(plain, "auth-secret-2");
  free(plain);
  free(v);
  ASSERT_INT_EQ(flowd_stop(&P, SIGTERM, 30000), 0);
  sink_stop(&k);
}

TEST_PG(secret_key_is_generated_into_the_data_folder_and_other_keys_cannot_send) {
  struct sink k;
  sink_http_start(&k, 0, NULL);
  /* No FLOWD_SECRET_KEY: a key is made in the data folder, and the log says so. */
  const char *none[] = {"FLOWD_SECRET_KEY=", NULL};
  flowd_start(&P, NULL, "test", none);
  flowd_wait_ready(&P, 60000);
  char path[700];
  snprintf(path, sizeof path, "%s/secret-key", P.data_dir);
  char *key = read_text(path);
  ASSERT_NOT_NULL(key);
  ASSERT_INT_EQ(strlen(key), 65); /* 64 hex digits and a newline */
  char json[1024];
  snprintf(json, sizeof json, GW_JSON, k.url);
  call_ok("POST", "/api/providers", json, 201);
  ASSERT_INT_EQ(flowd_stop(&P, SIGTERM, 30000), 0);
  char *log = flowd_log(&P);
  ASSERT_STR_CONTAINS(log, "no FLOWD_SECRET_KEY set: generated the key");
  free(log);

  /* The same folder again: the same key, read back; sends work. */
  char dir[512];
  snprintf(dir, sizeof dir, "%s", P.data_dir);
  flowd_start(&P, dir, "test", none);
  flowd_wait_ready(&P, 60000);
  struct outbox_item it = {.channel = "sms", .provider = "gw", .to = "0901", .body = "a",
                           .idempotency_key = "gen-1"};
  char *fin = wait_final(insert(&it));
  ASSERT_STR_EQ(fin, "sent|");
  free(fin);
  ASSERT_INT_EQ(flowd_stop(&P, SIGTERM, 30000), 0);
  char *again = read_text(path);
  ASSERT_STR_EQ(again, key);
  free(again);
  free(key);

  /* Another key (the tests' own): the send fails at once, saying why. */
  flowd_start(&P, NULL, "test", NULL);
  flowd_wait_ready(&P, 60000);
  it.idempotency_key = "gen-2";
  fin = wait_final(insert(&it));
  ASSERT_STR_CONTAINS(fin, "failed|the provider's secret");
  ASSERT_STR_CONTAINS(fin, "another FLOWD_SECRET_KEY");
  free(fin);
  ASSERT_INT_EQ(sink_count(&k), 1);
  ASSERT_INT_EQ(flowd_stop(&P, SIGTERM, 30000), 0);

  /* A FLOWD_SECRET_KEY that is not 32 bytes stops start-up. */
  const char *bad[] = {"FLOWD_SECRET_KEY=abc123", NULL};
  flowd_start(&P, NULL, "test", bad);
  ASSERT_INT_NE(flowd_wait_exit(&P, 60000), 0);
  log = flowd_log(&P);
  ASSERT_STR_CONTAINS(log, "FLOWD_SECRET_KEY must be 32 bytes");
  free(log);
  sink_stop(&k);
}
