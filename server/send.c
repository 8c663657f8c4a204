/* send: builds the curl transfer of one delivery attempt and turns its outcome into a verdict.
 *
 * Invariant: a job lives from send_start until its completion callback, which curlm calls
 * exactly once; the job owns everything the transfer reads (upload text, recipient list) and
 * everything it collects (response body up to SEND_RESPONSE_MAX, a subset of the headers), and
 * frees them there. Only http, https, smtp and smtps are allowed, and redirects are not
 * followed: a delivery goes where its configuration says and nowhere else. Webhooks
 * (action.http) also obey netallow.h: the URL's host must be allowed, and the address
 * connected to must not be link-local or unspecified. */
#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <uv.h>
#include "graph/err.h"
#include "graph/tmpl.h"
#include "server/curlm.h"
#include "server/mailmsg.h"
#include "server/netallow.h"
#include "server/provider.h"
#include "server/send.h"

#define DEFAULT_TIMEOUT_MS 10000
#define SMTP_TIMEOUT_MS 30000
#define CONNECT_TIMEOUT_MS 10000

struct job {
  send_done_cb cb;
  void *ud;
  int smtp;
  cJSON *expect;         /* webhook: the accepted statuses (NULL: 2xx) */
  char *upload;          /* smtp: the message */
  size_t upload_len, upload_off;
  struct curl_slist *rcpt;
  char mail_from[520];   /* smtp: "<addr>" */
  char *resp;            /* response body, NUL-terminated */
  size_t resp_len;
  int truncated;
  cJSON *resp_headers;   /* of the last response (a 100 Continue does not count) */
  char errbuf[CURL_ERROR_SIZE];
  uint64_t start_ns;     /* uv_hrtime at submission */
  char blocked[64];      /* webhooks: an address netallow refused, or "" */
};

static const char *const kept_headers[] = {"content-type", "location", "retry-after",
                                           "x-request-id", "request-id", "etag",
                                           "idempotency-replayed", NULL};

static void job_free(struct job *j) {
  cJSON_Delete(j->expect);
  free(j->upload);
  curl_slist_free_all(j->rcpt);
  free(j->resp);
  cJSON_Delete(j->resp_headers);
  free(j);
}

/* ---- collecting the response ---- */

/* Length of the valid UTF-8 sequence at s, or 0. */
static int utf8_seq(const unsigned char *s) {
  int n = s[0] < 0x80 ? 1 : s[0] >= 0xC2 && s[0] <= 0xDF ? 2 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
          : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 0;
  for (int i = 1; i < n; i++)
    if ((s[i] & 0xC0) != 0x80)
      return 0;
  if ((n == 3 && s[0] == 0xE0 && s[1] < 0xA0) || (n == 3 && s[0] == 0xED && s[1] > 0x9F) ||
      (n == 4 && s[0] == 0xF0 && s[1] < 0x90) || (n == 4 && s[0] == 0xF4 && s[1] > 0x8F))
    return 0; /* overlong, surrogate, or past U+10FFFF */
  return n;
}

void send_utf8_clean(char *s) {
  for (unsigned char *p = (unsigned char *)s; *p;) {
    int n = utf8_seq(p);
    if (n == 0)
      *p++ = '?';
    else
      p += n;
  }
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  struct job *j = ud;
  size_t len = size * n, room = SEND_RESPONSE_MAX - j->resp_len;
  if (len > room)
    j->truncated = 1;
  size_t take = len < room ? len : room;
  if (take) {
    char *b = realloc(j->resp, j->resp_len + take + 1);
    if (!b)
      return 0;
    memcpy(b + j->resp_len, p, take);
    j->resp = b;
    j->resp_len += take;
    b[j->resp_len] = '\0';
  }
  return len; /* the rest is read and dropped: the transfer still completes */
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  struct job *j = ud;
  size_t len = size * n;
  if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) { /* a new response starts */
    cJSON_Delete(j->resp_headers);
    j->resp_headers = cJSON_CreateObject();
    return len;
  }
  const char *colon = memchr(p, ':', len);
  if (!colon || !j->resp_headers || colon - p > 60)
    return len;
  char name[64], value[512];
  size_t nl = (size_t)(colon - p);
  for (size_t i = 0; i < nl; i++)
    name[i] = (char)tolower((unsigned char)p[i]);
  name[nl] = '\0';
  const char *v = colon + 1, *end = p + len;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  for (const char *const *k = kept_headers; *k; k++)
    if (strcmp(*k, name) == 0) {
      snprintf(value, sizeof value, "%.*s", (int)(end - v), v);
      send_utf8_clean(value);
      cJSON_DeleteItemFromObjectCaseSensitive(j->resp_headers, name);
      cJSON_AddStringToObject(j->resp_headers, name, value);
    }
  return len;
}

static size_t on_read(char *p, size_t size, size_t n, void *ud) {
  struct job *j = ud;
  size_t room = size * n, left = j->upload_len - j->upload_off;
  size_t take = left < room ? left : room;
  memcpy(p, j->upload + j->upload_off, take);
  j->upload_off += take;
  return take;
}

/* ---- verdicts ---- */

static enum send_verdict curl_verdict(CURLcode c) {
  switch (c) {
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT:
  case CURLE_NOT_BUILT_IN:
  case CURLE_LOGIN_DENIED:
  case CURLE_TOO_MANY_REDIRECTS:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_BAD_FUNCTION_ARGUMENT:
  case CURLE_REMOTE_ACCESS_DENIED:
    return SEND_FAIL;
  default:
    return SEND_RETRY; /* connection trouble and timeouts pass; max_attempts bounds the rest */
  }
}

static int status_matches(long status, const cJSON *e) {
  if (cJSON_IsNumber(e))
    return status == (long)e->valuedouble;
  const char *s = cJSON_GetStringValue(e);
  if (s && strlen(s) == 3 && s[0] >= '1' && s[0] <= '5' && strcmp(s + 1, "xx") == 0)
    return status / 100 == s[0] - '0';
  return 0;
}

static int expected(long status, const cJSON *expect) {
  if (!expect)
    return status >= 200 && status < 300;
  if (!cJSON_IsArray(expect))
    return status_matches(status, expect);
  const cJSON *e;
  cJSON_ArrayForEach(e, expect) {
    if (status_matches(status, e))
      return 1;
  }
  return 0;
}

static long retry_after_ms(const cJSON *headers) {
  const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(headers, "retry-after"));
  if (!v || !*v)
    return 0;
  if (strspn(v, "0123456789") == strlen(v))
    return atol(v) > 86400 ? 86400000L : atol(v) * 1000L;
  time_t at = curl_getdate(v, NULL), now = time(NULL);
  return at > now ? (long)(at - now) * 1000L : 0;
}

/* Milliseconds since the job was submitted: what a send costs as the loop sees it, queueing
 * included (curl's own timers start later and read a cached clock). */
static double elapsed_ms(const struct job *j) {
  return (double)((uv_hrtime() - j->start_ns) / 1000) / 1000.0;
}

static cJSON *http_response(struct job *j, long status, double duration_ms) {
  cJSON *r = cJSON_CreateObject();
  cJSON_AddNumberToObject(r, "status", status);
  cJSON_AddItemToObject(r, "headers", j->resp_headers ? j->resp_headers : cJSON_CreateObject());
  j->resp_headers = NULL;
  cJSON *body = j->resp && !j->truncated ? cJSON_Parse(j->resp) : NULL;
  if (!body)
    body = j->resp ? cJSON_CreateString(j->resp) : cJSON_CreateNull();
  cJSON_AddItemToObject(r, "body", body);
  if (j->truncated)
    cJSON_AddBoolToObject(r, "truncated", 1);
  cJSON_AddNumberToObject(r, "duration_ms", duration_ms);
  return r;
}

static void judge_http(struct job *j, CURL *easy, CURLcode rc, struct send_result *r) {
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK && j->blocked[0]) { /* curl saw only "could not connect" */
    r->verdict = SEND_FAIL;
    snprintf(r->error, sizeof r->error, "blocked: the URL's host resolves to %s, a link-local "
             "or unspecified address, which action.http may not reach", j->blocked);
    return;
  }
  if (rc != CURLE_OK) {
    r->verdict = curl_verdict(rc);
    snprintf(r->error, sizeof r->error, "%s%s%s", curl_easy_strerror(rc),
             j->errbuf[0] ? ": " : "", j->errbuf);
    return;
  }
  if (j->resp)
    send_utf8_clean(j->resp);
  r->response = http_response(j, status, elapsed_ms(j));
  if (expected(status, j->expect)) {
    r->verdict = SEND_OK;
    return;
  }
  r->verdict = status >= 500 || status == 408 || status == 429 ? SEND_RETRY : SEND_FAIL;
  r->retry_after_ms = retry_after_ms(cJSON_GetObjectItemCaseSensitive(r->response, "headers"));
  snprintf(r->error, sizeof r->error, "HTTP %ld%s%.200s", status, j->resp ? ": " : "",
           j->resp ? j->resp : "");
}

static void judge_smtp(struct job *j, CURL *easy, CURLcode rc, struct send_result *r) {
  long code = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
  r->response = cJSON_CreateObject();
  cJSON_AddNumberToObject(r->response, "code", code);
  cJSON_AddNumberToObject(r->response, "duration_ms", elapsed_ms(j));
  if (rc == CURLE_OK) {
    r->verdict = SEND_OK;
    return;
  }
  /* The server's last reply decides when there is one: 4xx is transient, 5xx permanent. */
  r->verdict = code >= 500 ? SEND_FAIL : code >= 400 ? SEND_RETRY : curl_verdict(rc);
  snprintf(r->error, sizeof r->error, "%s%s%s (SMTP %ld)", curl_easy_strerror(rc),
           j->errbuf[0] ? ": " : "", j->errbuf, code);
}

static void on_done(void *ud, CURL *easy, CURLcode rc) {
  struct job *j = ud;
  struct send_result r = {0};
  if (rc == CURLE_ABORTED_BY_CALLBACK) {
    r.verdict = SEND_ABORTED;
    snprintf(r.error, sizeof r.error, "cancelled");
  } else if (j->smtp) {
    judge_smtp(j, easy, rc, &r);
  } else {
    judge_http(j, easy, rc, &r);
  }
  send_utf8_clean(r.error); /* a cut response snippet may end inside a character */
  send_done_cb cb = j->cb;
  void *cb_ud = j->ud;
  /* curlm cleans easy up after we return: nothing of the job may be reachable from it. */
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, NULL);
  curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, NULL);
  job_free(j);
  cb(cb_ud, &r);
}

void send_result_free(struct send_result *r) {
  cJSON_Delete(r->response);
  r->response = NULL;
}

/* ---- building transfers ---- */

static int fail(struct send_result *r, const char *fmt, const char *arg) {
  r->verdict = SEND_FAIL;
  snprintf(r->error, sizeof r->error, fmt, arg ? arg : "");
  return ERR_INVAL;
}

static const char *str(const cJSON *o, const char *key) {
  return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static long num(const cJSON *o, const char *key, long dflt) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? (long)v->valuedouble : dflt;
}

static struct job *job_new(CURL **easy, long timeout_ms, long cap_ms) {
  struct job *j = calloc(1, sizeof *j);
  *easy = j ? curl_easy_init() : NULL;
  if (!*easy) {
    free(j);
    return NULL;
  }
  if (timeout_ms <= 0 || timeout_ms > cap_ms)
    timeout_ms = cap_ms;
  curl_easy_setopt(*easy, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(*easy, CURLOPT_CONNECTTIMEOUT_MS,
                   timeout_ms < CONNECT_TIMEOUT_MS ? timeout_ms : (long)CONNECT_TIMEOUT_MS);
  curl_easy_setopt(*easy, CURLOPT_ERRORBUFFER, j->errbuf);
  curl_easy_setopt(*easy, CURLOPT_USERAGENT, "flowd/" FLOWD_VERSION);
  return j;
}

/* Adds "Name: value", refusing values that would start another header. */
static int add_header(struct curl_slist **h, const char *name, const char *value) {
  if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
    return ERR_INVAL;
  size_t n = strlen(name) + strlen(value) + 3;
  char *line = malloc(n);
  if (!line)
    return ERR_NOMEM;
  snprintf(line, n, "%s: %s", name, value);
  struct curl_slist *s = curl_slist_append(*h, line);
  free(line);
  if (!s)
    return ERR_NOMEM;
  *h = s;
  return 0;
}

static int has_header(const struct curl_slist *h, const char *name) {
  size_t n = strlen(name);
  for (; h; h = h->next)
    if (strncasecmp(h->data, name, n) == 0 && h->data[n] == ':')
      return 1;
  return 0;
}

/* The delivery's key, unless the configuration sends one of its own. */
static int add_key(struct curl_slist **h, const char *key) {
  return has_header(*h, "Idempotency-Key") ? 0 : add_header(h, "Idempotency-Key", key);
}

/* Sets method and body: a string body goes as it is, any other JSON value as JSON. */
static int set_body(CURL *easy, struct curl_slist **h, const char *method, const cJSON *body) {
  if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
    curl_easy_setopt(easy, strcmp(method, "GET") == 0 ? CURLOPT_HTTPGET : CURLOPT_NOBODY, 1L);
    return 0;
  }
  char *text = NULL;
  if (cJSON_IsString(body)) {
    text = strdup(body->valuestring);
  } else if (body && !cJSON_IsNull(body)) {
    text = cJSON_PrintUnformatted(body);
    if (text && !has_header(*h, "Content-Type") &&
        add_header(h, "Content-Type", "application/json") != 0) {
      free(text);
      return ERR_NOMEM;
    }
  } else {
    text = strdup("");
  }
  if (!text)
    return ERR_NOMEM;
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(text));
  curl_easy_setopt(easy, CURLOPT_COPYPOSTFIELDS, text);
  if (strcmp(method, "POST") != 0)
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
  free(text);
  return 0;
}

static int method_ok(const char *m) {
  static const char *const ok[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", NULL};
  for (const char *const *o = ok; *o; o++)
    if (strcmp(*o, m) == 0)
      return 1;
  return 0;
}

static void http_common(CURL *easy, struct job *j, const char *url) {
  curl_easy_setopt(easy, CURLOPT_URL, url);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, j);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, j);
}

/* Submits easy with headers h (both taken over). */
static int submit(struct curlm *m, CURL *easy, struct curl_slist *h, struct job *j,
                  send_done_cb cb, void *ud, struct send_result *r) {
  j->cb = cb;
  j->ud = ud;
  j->start_ns = uv_hrtime();
  int rc = curlm_submit(m, easy, h, on_done, j);
  if (rc) {
    job_free(j);
    r->verdict = SEND_RETRY;
    snprintf(r->error, sizeof r->error, "cannot start the transfer: %s", err_str(rc));
  }
  return rc;
}

/* Undoes a transfer being built (any of easy, h, j may be NULL) and says why in r. */
static int abandon(CURL *easy, struct curl_slist *h, struct job *j, int rc,
                   struct send_result *r, const char *what) {
  curl_slist_free_all(h);
  curl_easy_cleanup(easy);
  if (j)
    job_free(j);
  if (rc != ERR_NOMEM && r->verdict != SEND_FAIL)
    fail(r, "%s", what);
  return rc;
}

/* Webhooks: refuses an address netallow does not allow before connecting to it (curl then
 * tries the host's next address, if any). */
static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a) {
  struct job *j = ud;
  if (purpose == CURLSOCKTYPE_IPCXN &&
      !netallow_address(&a->addr, j->blocked, sizeof j->blocked))
    return CURL_SOCKET_BAD;
  return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* Refuses (SEND_FAIL) a webhook URL that FLOWD_HTTP_ALLOW does not allow. */
static int url_allowed(const char *url, struct send_result *r) {
  struct err_detail e = {{0}, {0}};
  char why[400];
  if (netallow_init(&e) != 0)
    return fail(r, "FLOWD_HTTP_ALLOW is not valid, so action.http sends nothing: %.300s",
                e.msg);
  if (!netallow_url(url, why, sizeof why))
    return fail(r, "blocked: %s", why);
  return 0;
}

static int start_webhook(struct curlm *m, const cJSON *d, long cap, send_done_cb cb, void *ud,
                         struct send_result *r) {
  const cJSON *req = cJSON_GetObjectItemCaseSensitive(d, "request");
  const char *url = str(req, "url");
  const char *method = str(req, "method") ? str(req, "method") : "POST";
  if (!url || !*url)
    return fail(r, "the webhook request has no url%s", NULL);
  if (url_allowed(url, r))
    return ERR_INVAL;
  if (!method_ok(method))
    return fail(r, "unsupported HTTP method \"%.100s\"", method);
  CURL *easy;
  struct job *j = job_new(&easy, num(req, "timeout_ms", DEFAULT_TIMEOUT_MS), cap);
  if (!j)
    return ERR_NOMEM;
  struct curl_slist *h = NULL;
  int rc = 0;
  const cJSON *hv, *expect = cJSON_GetObjectItemCaseSensitive(req, "expect");
  cJSON_ArrayForEach(hv, cJSON_GetObjectItemCaseSensitive(req, "headers")) {
    if (!rc && cJSON_IsString(hv))
      rc = add_header(&h, hv->string, hv->valuestring);
  }
  if (!rc)
    rc = add_key(&h, str(d, "idempotency_key"));
  if (!rc)
    rc = set_body(easy, &h, method, cJSON_GetObjectItemCaseSensitive(req, "body"));
  if (!rc && expect && !(j->expect = cJSON_Duplicate(expect, 1)))
    rc = ERR_NOMEM;
  if (rc)
    return abandon(easy, h, j, rc, r, "a webhook header is not valid");
  http_common(easy, j, url);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, j);
  return submit(m, easy, h, j, cb, ud, r);
}

/* ---- http provider ---- */

static void put(cJSON *o, const char *key, cJSON *v) {
  cJSON_DeleteItemFromObjectCaseSensitive(o, key);
  cJSON_AddItemToObject(o, key, v ? v : cJSON_CreateNull());
}

static cJSON *copy_or_null(const cJSON *v) { return v ? cJSON_Duplicate(v, 1) : NULL; }

/* What templates see: the delivery's request members, then the delivery's own fields. */
static cJSON *template_data(const cJSON *d) {
  const cJSON *req = cJSON_GetObjectItemCaseSensitive(d, "request");
  cJSON *data = cJSON_IsObject(req) ? cJSON_Duplicate(req, 1) : cJSON_CreateObject();
  if (!data)
    return NULL;
  put(data, "to", copy_or_null(cJSON_GetObjectItemCaseSensitive(d, "to")));
  put(data, "text", copy_or_null(cJSON_GetObjectItemCaseSensitive(d, "body")));
  put(data, "body", copy_or_null(cJSON_GetObjectItemCaseSensitive(d, "body")));
  put(data, "subject", copy_or_null(cJSON_GetObjectItemCaseSensitive(d, "subject")));
  put(data, "channel", copy_or_null(cJSON_GetObjectItemCaseSensitive(d, "channel")));
  put(data, "idempotency_key",
      copy_or_null(cJSON_GetObjectItemCaseSensitive(d, "idempotency_key")));
  put(data, "delivery_id", copy_or_null(cJSON_GetObjectItemCaseSensitive(d, "id")));
  put(data, "run_id", copy_or_null(cJSON_GetObjectItemCaseSensitive(d, "run_id")));
  put(data, "node_id", copy_or_null(cJSON_GetObjectItemCaseSensitive(d, "node_id")));
  return data;
}

/* Renders every string inside the JSON value t as a template against data. */
static int render_json(const cJSON *t, const cJSON *data, cJSON **out, struct err_detail *e) {
  *out = NULL;
  if (cJSON_IsString(t)) {
    char *s = NULL;
    int rc = tmpl_render_str(t->valuestring, data, NULL, &s, e);
    if (rc)
      return rc;
    *out = cJSON_CreateString(s);
    free(s);
    return *out ? 0 : ERR_NOMEM;
  }
  if (!cJSON_IsArray(t) && !cJSON_IsObject(t))
    return (*out = cJSON_Duplicate(t, 1)) ? 0 : ERR_NOMEM;
  cJSON *c = cJSON_IsArray(t) ? cJSON_CreateArray() : cJSON_CreateObject();
  const cJSON *item;
  cJSON_ArrayForEach(item, t) {
    cJSON *v;
    int rc = render_json(item, data, &v, e);
    if (rc) {
      cJSON_Delete(c);
      return rc;
    }
    if (cJSON_IsArray(t))
      cJSON_AddItemToArray(c, v);
    else
      cJSON_AddItemToObject(c, item->string, v);
  }
  *out = c;
  return 0;
}

static int provider_headers(const cJSON *cfg, const cJSON *data, const char *key,
                            struct curl_slist **h, struct send_result *r) {
  int rc = 0;
  const cJSON *hv;
  cJSON_ArrayForEach(hv, cJSON_GetObjectItemCaseSensitive(cfg, "headers")) {
    char *v = NULL;
    struct err_detail e = {{0}, {0}};
    if (!rc && cJSON_IsString(hv) && !(rc = tmpl_render_str(hv->valuestring, data, NULL, &v, &e)))
      rc = add_header(h, hv->string, v);
    free(v);
    if (rc && rc != ERR_NOMEM)
      return fail(r, "the provider's header %s does not render to a valid value", hv->string);
  }
  const cJSON *auth = cJSON_GetObjectItemCaseSensitive(cfg, "auth");
  const char *type = str(auth, "type");
  char line[1024];
  if (!rc && type && strcmp(type, "bearer") == 0) {
    snprintf(line, sizeof line, "Bearer %s", str(auth, "token") ? str(auth, "token") : "");
    rc = add_header(h, "Authorization", line);
  } else if (!rc && type && strcmp(type, "header") == 0 && str(auth, "name")) {
    rc = add_header(h, str(auth, "name"), str(auth, "value") ? str(auth, "value") : "");
  }
  return rc ? rc : add_key(h, key);
}

static void set_basic_auth(CURL *easy, const cJSON *cfg) {
  const cJSON *auth = cJSON_GetObjectItemCaseSensitive(cfg, "auth");
  if (!str(auth, "type") || strcmp(str(auth, "type"), "basic") != 0)
    return;
  curl_easy_setopt(easy, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
  curl_easy_setopt(easy, CURLOPT_USERNAME, str(auth, "username"));
  curl_easy_setopt(easy, CURLOPT_PASSWORD, str(auth, "password"));
}

static int start_http_provider(struct curlm *m, const cJSON *d, const cJSON *cfg, long cap,
                               send_done_cb cb, void *ud, struct send_result *r) {
  const char *url = str(cfg, "url"), *method = str(cfg, "method") ? str(cfg, "method") : "POST";
  if (!url || !method_ok(method))
    return fail(r, "the provider has no valid url or method%s", NULL);
  CURL *easy = NULL;
  struct curl_slist *h = NULL;
  struct job *j = NULL;
  struct err_detail e = {{0}, {0}};
  const cJSON *bt = cJSON_GetObjectItemCaseSensitive(cfg, "body");
  cJSON *body = NULL, *data = template_data(d);
  int rc = data ? render_json(bt ? bt : data, data, &body, &e) : ERR_NOMEM;
  if (rc && rc != ERR_NOMEM)
    fail(r, "the provider's body template does not render: %.300s", e.msg);
  if (!rc && !(j = job_new(&easy, num(cfg, "timeout_ms", DEFAULT_TIMEOUT_MS), cap)))
    rc = ERR_NOMEM;
  if (!rc)
    rc = provider_headers(cfg, data, str(d, "idempotency_key"), &h, r);
  if (!rc)
    rc = set_body(easy, &h, method, body);
  cJSON_Delete(data);
  cJSON_Delete(body);
  if (rc)
    return abandon(easy, h, j, rc, r, "a provider header does not render to a valid value");
  set_basic_auth(easy, cfg);
  http_common(easy, j, url);
  return submit(m, easy, h, j, cb, ud, r);
}

/* ---- smtp provider ---- */

static int smtp_message(struct job *j, const cJSON *d, const cJSON *cfg, struct send_result *r) {
  const cJSON *req = cJSON_GetObjectItemCaseSensitive(d, "request");
  const char *from = str(req, "from") ? str(req, "from") : str(cfg, "from");
  struct mailmsg msg = {from, str(d, "to"), str(d, "subject"), str(d, "body"),
                        str(d, "idempotency_key"), time(NULL)};
  char from_addr[512], to_addr[512];
  if (!from || mailmsg_address(from, 1, from_addr, sizeof from_addr) != 0)
    return fail(r, "the sender \"%.200s\" is not an e-mail address", from);
  if (!msg.to || mailmsg_address(msg.to, 1, to_addr, sizeof to_addr) != 0)
    return fail(r, "the recipient \"%.200s\" is not an e-mail address", msg.to);
  int rc = mailmsg_build(&msg, &j->upload, &j->upload_len);
  if (rc == ERR_INVAL)
    return fail(r, "the message has a line break in a header%s", NULL);
  if (rc)
    return rc;
  if (!(j->rcpt = curl_slist_append(NULL, to_addr)))
    return ERR_NOMEM;
  snprintf(j->mail_from, sizeof j->mail_from, "%s", from_addr);
  return 0;
}

static void smtp_url(const cJSON *cfg, char *url, size_t len) {
  const char *tls = str(cfg, "starttls") ? str(cfg, "starttls") : "starttls";
  const char *host = str(cfg, "host");
  int implicit = strcmp(tls, "tls") == 0;
  long port = num(cfg, "port", implicit ? 465 : strcmp(tls, "starttls") == 0 ? 587 : 25);
  int v6 = strchr(host, ':') != NULL;
  snprintf(url, len, "%s://%s%s%s:%ld", implicit ? "smtps" : "smtp", v6 ? "[" : "", host,
           v6 ? "]" : "", port);
}

static int start_smtp(struct curlm *m, const cJSON *d, const cJSON *cfg, long cap,
                      send_done_cb cb, void *ud, struct send_result *r) {
  if (!str(cfg, "host"))
    return fail(r, "the smtp provider has no host%s", NULL);
  CURL *easy;
  struct job *j = job_new(&easy, num(cfg, "timeout_ms", SMTP_TIMEOUT_MS), cap);
  if (!j)
    return ERR_NOMEM;
  int rc = smtp_message(j, d, cfg, r);
  if (rc) {
    curl_easy_cleanup(easy);
    job_free(j);
    return rc;
  }
  char url[600];
  smtp_url(cfg, url, sizeof url);
  j->smtp = 1;
  curl_easy_setopt(easy, CURLOPT_URL, url);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(easy, CURLOPT_MAIL_FROM, j->mail_from);
  curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, j->rcpt);
  curl_easy_setopt(easy, CURLOPT_READFUNCTION, on_read);
  curl_easy_setopt(easy, CURLOPT_READDATA, j);
  curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)j->upload_len);
  const char *tls = str(cfg, "starttls") ? str(cfg, "starttls") : "starttls";
  if (strcmp(tls, "starttls") == 0)
    curl_easy_setopt(easy, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
  if (str(cfg, "username")) {
    curl_easy_setopt(easy, CURLOPT_USERNAME, str(cfg, "username"));
    curl_easy_setopt(easy, CURLOPT_PASSWORD, str(cfg, "password") ? str(cfg, "password") : "");
  }
  return submit(m, easy, NULL, j, cb, ud, r);
}

/* Out of memory is worth another attempt; any other failure has set its verdict. */
static int finish_start(int rc, struct send_result *r) {
  if (rc == ERR_NOMEM && r->verdict == SEND_OK) {
    r->verdict = SEND_RETRY;
    snprintf(r->error, sizeof r->error, "out of memory");
  }
  return rc;
}

int send_start(struct curlm *m, const cJSON *d, long timeout_cap_ms, send_done_cb cb,
               void *ud, struct send_result *r) {
  memset(r, 0, sizeof *r);
  const char *channel = str(d, "channel"), *type = str(d, "provider_type");
  const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(d, "provider_config");
  const char *key = str(d, "idempotency_key");
  int rc;
  if (!key || strpbrk(key, "\r\n"))
    return fail(r, "the delivery has no usable idempotency key%s", NULL);
  if (channel && strcmp(channel, "webhook") == 0)
    return finish_start(start_webhook(m, d, timeout_cap_ms, cb, ud, r), r);
  if (!type)
    return fail(r, "no provider \"%.200s\" (create it under /api/providers)",
                str(d, "provider") ? str(d, "provider") : "(default)");
  /* Secrets are stored sealed (provider.h): open a copy for this send only. curl copies
   * every string it is given, so the copy is wiped and freed once the transfer is set up. */
  struct err_detail e = {{0}, {0}};
  cJSON *open = NULL;
  rc = provider_opened(cfg, &open, &e);
  if (rc)
    return rc == ERR_NOMEM ? finish_start(rc, r) : fail(r, "%s", e.msg);
  if (strcmp(type, "http") == 0)
    rc = start_http_provider(m, d, open, timeout_cap_ms, cb, ud, r);
  else
    rc = start_smtp(m, d, open, timeout_cap_ms, cb, ud, r);
  provider_free_opened(open);
  return finish_start(rc, r);
}
