/* Per-credential rate limits against a real flowd: a credential past its bucket gets 429
 * with Retry-After, other credentials and the events bucket are not affected, the bucket
 * refills, and requests without credentials or to /healthz are not counted. */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "tests/helpers.h"
#include "tests/integration/people_client.h"
#include "tests/test.h"

static struct flowd_proc P;

struct answer {
  long status;
  long retry_after; /* -1: no Retry-After header */
  char code[64];
};

static size_t on_header(char *buf, size_t size, size_t n, void *ud) {
  struct answer *a = ud;
  size_t len = size * n;
  if (len > 13 && strncasecmp(buf, "Retry-After: ", 13) == 0)
    a->retry_after = atol(buf + 13);
  return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud) {
  char **body = ud;
  size_t len = size * n, old = *body ? strlen(*body) : 0;
  char *b = realloc(*body, old + len + 1);
  memcpy(b + old, buf, len);
  b[old + len] = '\0';
  *body = b;
  return len;
}

/* One request with token (NULL: none); the status, Retry-After and error code. */
static struct answer ask(const char *token, const char *method, const char *path,
                         const char *body) {
  struct answer a = {0, -1, ""};
  char url[512], auth[300];
  char *text = NULL;
  snprintf(url, sizeof url, "%s%s", P.url, path);
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", token ? token : "");
  CURL *c = curl_easy_init();
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  if (token)
    h = curl_slist_append(h, auth);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  if (body)
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &a);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &text);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
  if (curl_easy_perform(c) == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  cJSON *j = text ? cJSON_Parse(text) : NULL;
  const char *code =
      cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code"));
  snprintf(a.code, sizeof a.code, "%s", code ? code : "");
  cJSON_Delete(j);
  free(text);
  return a;
}

TEST_PG(rate_limit_answers_429_with_retry_after_per_credential) {
  const char *env[] = {"FLOWD_RATE_LIMIT=1/s burst 3", "FLOWD_RATE_LIMIT_EVENTS=2/min burst 2",
                       NULL};
  flowd_start(&P, NULL, "test", env);
  flowd_wait_ready(&P, 60000);
  char key[200];
  pc_add_key(&P, "[\"read\",\"events:write\"]", 0, key, NULL, NULL); /* the admin's 1st */

  /* The admin token's bucket of 3: two more requests, then 429 until it refills. */
  ASSERT_INT_EQ(ask(TEST_ADMIN_TOKEN, "GET", "/api/flows", NULL).status, 200);
  ASSERT_INT_EQ(ask(TEST_ADMIN_TOKEN, "GET", "/api/flows", NULL).status, 200);
  struct answer a = ask(TEST_ADMIN_TOKEN, "GET", "/api/flows", NULL);
  ASSERT_INT_EQ(a.status, 429);
  ASSERT_STR_EQ(a.code, "rate_limited");
  ASSERT_INT_EQ(a.retry_after, 1);
  /* Not counted: another credential, no credential, /healthz. */
  ASSERT_INT_EQ(ask(key, "GET", "/api/flows", NULL).status, 200);
  ASSERT_INT_EQ(ask(NULL, "GET", "/api/flows", NULL).status, 401);
  for (int i = 0; i < 10; i++)
    ASSERT_INT_EQ(ask(NULL, "GET", "/healthz", NULL).status, 200);
  sleep_ms(1100);
  ASSERT_INT_EQ(ask(TEST_ADMIN_TOKEN, "GET", "/api/flows", NULL).status, 200);
  ASSERT_INT_EQ(ask(TEST_ADMIN_TOKEN, "GET", "/api/flows", NULL).status, 429);

  /* Events have their own bucket per credential: the admin token may still post two. */
  const char *ev = "{\"type\":\"order.created\",\"data\":{\"id\":\"O1\"}}";
  ASSERT_INT_EQ(ask(TEST_ADMIN_TOKEN, "POST", "/api/events", ev).status, 202);
  ASSERT_INT_EQ(ask(TEST_ADMIN_TOKEN, "POST", "/api/events", ev).status, 202);
  a = ask(TEST_ADMIN_TOKEN, "POST", "/api/events", ev);
  ASSERT_INT_EQ(a.status, 429);
  ASSERT_STR_EQ(a.code, "rate_limited");
  ASSERT_INT_OP(a.retry_after, >=, 20); /* 2 per minute: the next token in about 30 s */
  ASSERT_INT_OP(a.retry_after, <=, 30);
  ASSERT_INT_EQ(ask(key, "POST", "/api/events", ev).status, 202);
  /* A refused event was not stored: three 202s, three events. */
  char *n = sql_value(test_pg_conninfo(), "SELECT count(*) FROM events");
  ASSERT_STR_EQ(n, "3");
  free(n);
  ASSERT_INT_EQ(flowd_stop(&P, SIGTERM, 30000), 0);
  char *log = flowd_log(&P);
  ASSERT_STR_CONTAINS(log, "name=FLOWD_RATE_LIMIT rate_per_s=1 burst=3");
  free(log);
}

TEST_PG(rate_limit_invalid_setting_stops_start_up) {
  const char *env[] = {"FLOWD_RATE_LIMIT=lots", NULL};
  flowd_start(&P, NULL, "test", env);
  ASSERT_INT_NE(flowd_wait_exit(&P, 60000), 0);
  char *log = flowd_log(&P);
  ASSERT_STR_CONTAINS(log, "invalid rate limit");
  free(log);
}
