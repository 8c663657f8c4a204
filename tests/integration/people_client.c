/* people_client: a libcurl client that keeps what a browser would: the session cookie. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "tests/integration/people_client.h"
#include "tests/test.h"

static size_t on_header(char *buf, size_t size, size_t n, void *ud) {
  size_t len = size * n;
  if (len > 12 && strncasecmp(buf, "Set-Cookie: ", 12) == 0)
    snprintf(ud, 400, "%.*s", (int)(len - 12 - 2), buf + 12);
  return len;
}

static size_t on_body(char *ptr, size_t size, size_t n, void *ud) {
  struct http_resp *r = ud;
  size_t len = size * n;
  char *b = realloc(r->body, r->len + len + 1);
  if (!b)
    return 0;
  memcpy(b + r->len, ptr, len);
  r->body = b;
  r->len += len;
  r->body[r->len] = '\0';
  return len;
}

/* http_do, plus the Set-Cookie header of the answer into set_cookie (400 bytes). */
static int do_with_cookie(const char *url, const char *body, char *set_cookie,
                          struct http_resp *out) {
  memset(out, 0, sizeof *out);
  set_cookie[0] = '\0';
  CURL *c = curl_easy_init();
  struct curl_slist *h = curl_slist_append(NULL, "Expect:");
  h = curl_slist_append(h, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, set_cookie);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK)
    return -1;
  if (out->body)
    out->json = cJSON_Parse(out->body);
  return 0;
}

long pc_login(const struct flowd_proc *p, const char *email, const char *password,
              struct session *s) {
  char url[128], body[512];
  snprintf(url, sizeof url, "%s/api/login", p->url);
  snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
  struct http_resp r;
  memset(s, 0, sizeof *s);
  if (do_with_cookie(url, body, s->set_cookie, &r) != 0)
    test_fail(__FILE__, __LINE__, "POST /api/login: no response");
  long status = r.status;
  if (status == 200) {
    snprintf(s->cookie, sizeof s->cookie, "%.*s", (int)strcspn(s->set_cookie, ";"),
             s->set_cookie);
    const char *csrf = cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "csrf_token"));
    snprintf(s->csrf, sizeof s->csrf, "%s", csrf ? csrf : "");
  }
  http_resp_free(&r);
  return status;
}

void pc_must_login(const struct flowd_proc *p, const char *email, const char *password,
                   struct session *s) {
  long st = pc_login(p, email, password, s);
  if (st != 200 || !s->cookie[0] || !s->csrf[0])
    test_fail(__FILE__, __LINE__, "login as %s: status %ld, cookie \"%s\"", email, st,
              s->set_cookie);
}

int pc_session_do(const struct flowd_proc *p, const struct session *s, int csrf,
                  const char *method, const char *path, const char *body,
                  struct http_resp *out) {
  char url[1200], cookie[256], token[128];
  snprintf(url, sizeof url, "%s%s", p->url, path);
  snprintf(cookie, sizeof cookie, "Cookie: %s", s->cookie);
  snprintf(token, sizeof token, "X-CSRF-Token: %s", s->csrf);
  const char *h[] = {cookie, csrf ? token : NULL, NULL};
  return http_do(method, url, body, h, out);
}

int pc_bearer_do(const struct flowd_proc *p, const char *token, const char *method,
                 const char *path, const char *body, const char **extra,
                 struct http_resp *out) {
  char url[1200], auth[256];
  snprintf(url, sizeof url, "%s%s", p->url, path);
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
  const char *h[8] = {auth};
  for (int i = 0; extra && extra[i] && i < 6; i++)
    h[i + 1] = extra[i];
  return http_do(method, url, body, h, out);
}

void pc_add_staff(const struct flowd_proc *p, const char *id, const char *email,
                  const char *password, const char *access) {
  char body[1024], em[300] = "null", pw[300] = "null";
  if (email)
    snprintf(em, sizeof em, "\"%s\"", email);
  if (password)
    snprintf(pw, sizeof pw, "\"%s\"", password);
  snprintf(body, sizeof body,
           "{\"id\":\"%s\",\"name\":\"Name of %s\",\"email\":%s,\"password\":%s,"
           "\"access\":\"%s\"}",
           id, id, em, pw, access ? access : "staff");
  struct http_resp r;
  if (api_do(p, "POST", "/api/staff", body, &r) != 0)
    test_fail(__FILE__, __LINE__, "POST /api/staff: no response");
  PC_EXPECT(r, 201, "POST /api/staff");
  http_resp_free(&r);
}

void pc_add_key(const struct flowd_proc *p, const char *scopes, int hmac, char *key,
                char *secret, char *id) {
  char body[512];
  snprintf(body, sizeof body, "{\"name\":\"test key\",\"scopes\":%s,\"hmac\":%s}", scopes,
           hmac ? "true" : "false");
  struct http_resp r;
  if (api_do(p, "POST", "/api/keys", body, &r) != 0)
    test_fail(__FILE__, __LINE__, "POST /api/keys: no response");
  PC_EXPECT(r, 201, "POST /api/keys");
  const char *k = cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "key"));
  const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "hmac_secret"));
  const char *i = cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "id"));
  ASSERT_NOT_NULL(k);
  strcpy(key, k);
  if (secret)
    strcpy(secret, s ? s : "");
  if (id)
    strcpy(id, i ? i : "");
  http_resp_free(&r);
}

const char *pc_err_code(const struct http_resp *r) {
  return cJSON_GetStringValue(
      cJSON_GetObjectItem(cJSON_GetObjectItem(r->json, "error"), "code"));
}

const char *pc_err_field(const struct http_resp *r) {
  cJSON *d = cJSON_GetObjectItem(cJSON_GetObjectItem(r->json, "error"), "details");
  return cJSON_GetStringValue(cJSON_GetObjectItem(d, "field"));
}
