/* http: libwebsockets plumbing (one context on the flowd loop), routing, replies, static files.
 *
 * Invariants: a struct http_req lives from LWS_CALLBACK_HTTP until both (a) its reply was
 * made and (b) it was written or its connection closed. Writes happen only in the writeable
 * callback, one lws_write() per callback: first the headers, then the body in chunks; over
 * HTTP/1 a body of up to SMALL_BODY bytes goes in the headers' write (one send, and one
 * writeable callback, per reply such as an event's 202). */
#include <errno.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "graph/err.h"
#include "server/http.h"
#include "server/log.h"
#include "server/ws.h"

#define CHUNK (64 * 1024)
#define HEADERS_MAX 2048
#define SMALL_BODY 4096
#define MAX_ROUTES 128
#define MAX_STATUSES 12
#define NBUCKETS 12
#define HANDLER_TIMEOUT_S 60 /* a reply may wait this long on the database */

static const double buckets[NBUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,   0.1,   0.25,   0.5,   1,     2.5};

struct route_stats {
  int status[MAX_STATUSES];
  unsigned long long count[MAX_STATUSES];
  unsigned long long hist[NBUCKETS + 1];
  double sum;
};

struct pss { /* libwebsockets' per-connection data for the HTTP protocol */
  struct http_req *req;
};

static struct {
  struct lws_context *ctx;
  struct server *srv;
  uv_loop_t *loop;
  const struct http_route *routes;
  int nroutes;
  char web_dir[512];
  int draining;
  int in_flight;
  int idle_timeout_s, body_timeout_s; /* see http.h */
  struct route_stats stats[MAX_ROUTES + 1]; /* last: static files and not found */
} H;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---- metrics ---- */

static void record(struct http_req *req) {
  struct route_stats *st = &H.stats[req->route >= 0 ? req->route : H.nroutes];
  double secs = (now_ns() - req->start_ns) / 1e9;
  int i;
  for (i = 0; i < MAX_STATUSES && st->status[i] && st->status[i] != req->status; i++)
    ;
  if (i < MAX_STATUSES) {
    st->status[i] = req->status;
    st->count[i]++;
  }
  int b;
  for (b = 0; b < NBUCKETS && secs > buckets[b]; b++)
    ;
  st->hist[b]++;
  st->sum += secs;
}

static int append_text(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int append_text(char **buf, size_t *len, size_t *cap, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
    va_end(ap);
    if (n < 0)
      return -1;
    if ((size_t)n < *cap - *len) {
      *len += n;
      return 0;
    }
    size_t ncap = *cap * 2 + n;
    char *nb = realloc(*buf, ncap);
    if (!nb)
      return -1;
    *buf = nb;
    *cap = ncap;
  }
}

char *http_metrics_text(void) {
  size_t len = 0, cap = 8192;
  char *out = malloc(cap);
  if (!out)
    return NULL;
  out[0] = '\0';
  append_text(&out, &len, &cap, "# HELP flowd_http_requests_total HTTP requests by route and "
              "status.\n# TYPE flowd_http_requests_total counter\n");
  for (int r = 0; r <= H.nroutes; r++) {
    const char *name = r < H.nroutes ? (H.routes[r].name ? H.routes[r].name
                                                         : H.routes[r].pattern) : "other";
    for (int i = 0; i < MAX_STATUSES && H.stats[r].status[i]; i++)
      append_text(&out, &len, &cap, "flowd_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                  name, H.stats[r].status[i], H.stats[r].count[i]);
  }
  append_text(&out, &len, &cap, "# HELP flowd_http_request_duration_seconds Time from request "
              "to reply.\n# TYPE flowd_http_request_duration_seconds histogram\n");
  unsigned long long cum[NBUCKETS + 1] = {0};
  double sum = 0;
  for (int r = 0; r <= H.nroutes; r++) {
    for (int b = 0; b <= NBUCKETS; b++)
      cum[b] += H.stats[r].hist[b];
    sum += H.stats[r].sum;
  }
  unsigned long long acc = 0;
  for (int b = 0; b < NBUCKETS; b++) {
    acc += cum[b];
    append_text(&out, &len, &cap, "flowd_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                buckets[b], acc);
  }
  acc += cum[NBUCKETS];
  append_text(&out, &len, &cap,
              "flowd_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
              "flowd_http_request_duration_seconds_sum %.6f\n"
              "flowd_http_request_duration_seconds_count %llu\n",
              acc, sum, acc);
  return out;
}

/* ---- requests ---- */

static void req_free(struct http_req *req) {
  free(req->body);
  free(req->resp);
  free(req);
}

static enum http_method method_of(struct lws *wsi) {
  static const struct { enum lws_token_indexes tok; enum http_method m; } map[] = {
      {WSI_TOKEN_GET_URI, HTTP_GET},       {WSI_TOKEN_POST_URI, HTTP_POST},
      {WSI_TOKEN_PUT_URI, HTTP_PUT},       {WSI_TOKEN_PATCH_URI, HTTP_PATCH},
      {WSI_TOKEN_DELETE_URI, HTTP_DELETE}, {WSI_TOKEN_OPTIONS_URI, HTTP_OPTIONS},
  };
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (lws_hdr_total_length(wsi, map[i].tok) > 0)
      return map[i].m;
  return HTTP_OTHER;
}

static void copy_header(struct lws *wsi, enum lws_token_indexes tok, char *dst, int len) {
  dst[0] = '\0';
  if (lws_hdr_total_length(wsi, tok) > 0 && lws_hdr_copy(wsi, dst, len, tok) < 0)
    dst[0] = '\0';
}

/* Query fragments are kept '\n'-separated: lws has already decoded each one, so joining
 * them with '&' would make "a=x%26y" ambiguous. */
static void copy_query(struct lws *wsi, char *dst, size_t len) {
  size_t o = 0;
  dst[0] = '\0';
  char frag[1024];
  for (int i = 0; o < len; i++) {
    int n = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
    if (n < 0)
      break;
    if (o + n + 2 > len)
      break;
    if (o)
      dst[o++] = '\n';
    memcpy(dst + o, frag, n);
    o += n;
    dst[o] = '\0';
  }
}

const char *http_query_param(const struct http_req *req, const char *name, char *buf,
                             size_t len) {
  size_t nl = strlen(name);
  const char *p = req->query;
  while (*p) {
    const char *end = strchr(p, '\n');
    size_t flen = end ? (size_t)(end - p) : strlen(p);
    if (flen >= nl && strncmp(p, name, nl) == 0 && (flen == nl || p[nl] == '=')) {
      size_t vl = flen > nl ? flen - nl - 1 : 0;
      if (vl >= len)
        vl = len - 1;
      memcpy(buf, p + nl + (flen > nl), vl);
      buf[vl] = '\0';
      return buf;
    }
    p += flen + (end != NULL);
  }
  return NULL;
}

const char *http_param(const struct http_req *req, int i) {
  return i >= 0 && i < HTTP_MAX_PARAMS ? req->params[i] : NULL;
}

/* Matches path against pattern; fills req->params. */
static int match(struct http_req *req, const char *pattern, const char *path) {
  char *pb = req->param_buf;
  char *pend = req->param_buf + sizeof req->param_buf;
  int np = 0;
  while (*pattern && *path) {
    if (*pattern == '{') {
      const char *close = strchr(pattern, '}');
      const char *seg_end = strchr(path, '/');
      size_t sl = seg_end ? (size_t)(seg_end - path) : strlen(path);
      if (!close || sl == 0 || np == HTTP_MAX_PARAMS || pb + sl + 1 > pend)
        return 0;
      memcpy(pb, path, sl);
      pb[sl] = '\0';
      req->params[np++] = pb;
      pb += sl + 1;
      pattern = close + 1;
      path += sl;
      continue;
    }
    if (*pattern != *path)
      return 0;
    pattern++;
    path++;
  }
  return *pattern == '\0' && *path == '\0';
}

/* ---- replies ---- */

static void schedule_write(struct http_req *req) {
  if (req->wsi)
    lws_callback_on_writable(req->wsi);
}

void http_add_header(struct http_req *req, const char *name, const char *value) {
  size_t l = strlen(req->resp_headers);
  snprintf(req->resp_headers + l, sizeof req->resp_headers - l, "%s: %s\r\n", name, value);
}

void http_reply(struct http_req *req, int status, const char *content_type, const char *body,
                size_t len) {
  if (req->replied) {
    log_error("second reply to one request", "path=%s", log_quote(req->path));
    return;
  }
  req->replied = 1;
  H.in_flight--;
  req->status = status;
  snprintf(req->resp_type, sizeof req->resp_type, "%s", content_type);
  req->resp = malloc(LWS_PRE + len + 1);
  if (req->resp) {
    memcpy(req->resp + LWS_PRE, body, len);
    req->resp_len = len;
  }
  record(req);
  if (!req->wsi) {
    req_free(req); /* the client went away while we worked */
    return;
  }
  schedule_write(req);
}

void http_reply_json(struct http_req *req, int status, cJSON *json) {
  char *text = json ? cJSON_PrintUnformatted(json) : NULL;
  if (text) {
    http_reply(req, status, "application/json", text, strlen(text));
  } else {
    http_reply(req, status, "application/json", "{}", 2);
  }
  free(text);
  cJSON_Delete(json);
}

void http_error(struct http_req *req, int status, const char *code, const char *message,
                cJSON *details) {
  cJSON *root = cJSON_CreateObject();
  cJSON *err = cJSON_AddObjectToObject(root, "error");
  cJSON_AddStringToObject(err, "code", code);
  cJSON_AddStringToObject(err, "message", message);
  if (details)
    cJSON_AddItemToObject(err, "details", details);
  else
    cJSON_AddNullToObject(err, "details");
  http_reply_json(req, status, root);
}

/* ---- JSON limits ---- */

int http_json_limits(const char *text, size_t len, size_t *offset) {
  int depth = 0, in_string = 0;
  size_t start = 0;
  for (size_t i = 0; i < len; i++) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        i++; /* the escaped byte cannot end the string */
      else if (c == '"')
        in_string = 0;
      if (in_string && i - start > HTTP_MAX_JSON_STRING) {
        *offset = start;
        return ERR_TOOBIG;
      }
    } else if (c == '"') {
      in_string = 1;
      start = i;
    } else if (c == '[' || c == '{') {
      if (++depth > HTTP_MAX_JSON_DEPTH) {
        *offset = i;
        return ERR_TOODEEP;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      depth--;
    }
  }
  return 0;
}

/* Replies for a body past a JSON limit and returns 1; returns 0 when it is within them. */
static int refuse_json_limits(struct http_req *req) {
  size_t off = 0;
  int rc = http_json_limits(req->body, req->body_len, &off);
  if (rc == 0)
    return 0;
  cJSON *d = cJSON_CreateObject();
  cJSON_AddNumberToObject(d, "offset", (double)off);
  char msg[160];
  if (rc == ERR_TOODEEP) {
    cJSON_AddNumberToObject(d, "limit", HTTP_MAX_JSON_DEPTH);
    snprintf(msg, sizeof msg, "the JSON body is nested deeper than %d levels (at byte %zu)",
             HTTP_MAX_JSON_DEPTH, off);
    http_error(req, 400, "too_deep", msg, d);
  } else {
    cJSON_AddNumberToObject(d, "limit", HTTP_MAX_JSON_STRING);
    snprintf(msg, sizeof msg, "the JSON body has a string longer than %d bytes (at byte %zu)",
             HTTP_MAX_JSON_STRING, off);
    http_error(req, 413, "string_too_long", msg, d);
  }
  return 1;
}

cJSON *http_body_json(struct http_req *req) {
  if (!req->body || req->body_len == 0) {
    http_error(req, 400, "invalid_json", "the request body is empty; a JSON document is required",
               NULL);
    return NULL;
  }
  /* cJSON recurses once per nesting level: the limits are checked before it runs. */
  if (refuse_json_limits(req))
    return NULL;
  const char *end = NULL;
  /* The length includes the NUL, which cJSON checks for when asked to reject trailing bytes. */
  cJSON *doc = cJSON_ParseWithLengthOpts(req->body, req->body_len + 1, &end, 1);
  if (!doc) {
    size_t pos = end ? (size_t)(end - req->body) : 0;
    char msg[160];
    snprintf(msg, sizeof msg, "the request body is not valid JSON (error at byte %zu)", pos);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "offset", (double)pos);
    http_error(req, 400, "invalid_json", msg, d);
  }
  return doc;
}

/* ---- static files ---- */

static const char *mime_of(const char *path) {
  static const struct { const char *ext, *type; } m[] = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".json", "application/json"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
      {".ico", "image/x-icon"}, {".woff2", "font/woff2"}, {".map", "application/json"},
      {".txt", "text/plain; charset=utf-8"}};
  const char *dot = strrchr(path, '.');
  for (size_t i = 0; dot && i < sizeof m / sizeof m[0]; i++)
    if (strcmp(dot, m[i].ext) == 0)
      return m[i].type;
  return "application/octet-stream";
}

static int read_file(const char *path, char **out, size_t *len) {
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return -1;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return -1;
  }
  char *buf = malloc(st.st_size + 1);
  ssize_t n = buf ? read(fd, buf, st.st_size) : -1;
  close(fd);
  if (n != st.st_size) {
    free(buf);
    return -1;
  }
  *out = buf;
  *len = n;
  return 0;
}

/* Serves the editor. Paths without an extension are the single-page app's routes. */
static void serve_static(struct http_req *req) {
  if (!H.web_dir[0] || (req->method != HTTP_GET)) {
    http_error(req, 404, "not_found", "no such route", NULL);
    return;
  }
  if (strstr(req->path, "..")) {
    http_error(req, 404, "not_found", "no such file", NULL);
    return;
  }
  char file[1600];
  const char *last = strrchr(req->path, '/');
  int spa = !last || !strchr(last, '.');
  snprintf(file, sizeof file, "%s%s", H.web_dir, spa ? "/index.html" : req->path);
  char *body;
  size_t len;
  if (read_file(file, &body, &len) != 0) {
    http_error(req, 404, "not_found", "no such file", NULL);
    return;
  }
  if (strncmp(req->path, "/assets/", 8) == 0)
    http_add_header(req, "Cache-Control", "public, max-age=31536000, immutable");
  else
    http_add_header(req, "Cache-Control", "no-cache");
  http_reply(req, 200, mime_of(file), body, len);
  free(body);
}

static void dispatch(struct http_req *req) {
  /* A request without a body is dispatched at once; lws may still report its (empty) body
   * as complete afterwards. */
  if (req->dispatched)
    return;
  req->dispatched = 1;
  /* The body is in (lws shortened the timeout while reading it): the reply may now wait on
   * the database; lws would otherwise drop the request after a few seconds. */
  if (req->wsi)
    lws_set_timeout(req->wsi, PENDING_TIMEOUT_HTTP_CONTENT, HANDLER_TIMEOUT_S);
  if (H.draining && strcmp(req->path, "/healthz") != 0) {
    http_add_header(req, "Retry-After", "1");
    http_error(req, 503, "shutting_down", "flowd is shutting down", NULL);
    return;
  }
  int path_matched = 0;
  for (int i = 0; i < H.nroutes; i++) {
    if (!match(req, H.routes[i].pattern, req->path))
      continue;
    path_matched = 1;
    if (H.routes[i].method != req->method)
      continue;
    req->route = i;
    H.routes[i].handler(req);
    return;
  }
  if (path_matched) {
    http_error(req, 405, "method_not_allowed", "this route does not take that method", NULL);
    return;
  }
  if (strncmp(req->path, "/api/", 5) == 0 || strcmp(req->path, "/api") == 0) {
    http_error(req, 404, "not_found", "no such route", NULL);
    return;
  }
  serve_static(req);
}

/* ---- writing ---- */

/* Writes the headers, and a small body with them over HTTP/1 (an HTTP/2 stream frames its
 * body apart). */
static int write_headers(struct lws *wsi, struct http_req *req) {
  unsigned char buf[LWS_PRE + HEADERS_MAX + SMALL_BODY];
  unsigned char *start = buf + LWS_PRE, *p = start, *end = start + HEADERS_MAX - 1;
  if (lws_add_http_common_headers(wsi, req->status, req->resp_type, req->resp_len, &p, end))
    return -1;
  char *line = req->resp_headers;
  while (*line) {
    char *colon = strchr(line, ':');
    char *eol = strstr(line, "\r\n");
    if (!colon || !eol)
      break;
    char name[128], value[384];
    snprintf(name, sizeof name, "%.*s:", (int)(colon - line), line);
    snprintf(value, sizeof value, "%.*s", (int)(eol - colon - 2), colon + 2);
    if (lws_add_http_header_by_name(wsi, (unsigned char *)name, (unsigned char *)value,
                                    (int)strlen(value), &p, end))
      return -1;
    line = eol + 2;
  }
  req->headers_sent = 1;
  if (req->resp_len > SMALL_BODY || lws_get_network_wsi(wsi) != wsi)
    return lws_finalize_write_http_header(wsi, start, &p, end) ? -1 : 0;
  if (lws_finalize_http_header(wsi, &p, end))
    return -1;
  if (req->resp_len > 0)
    memcpy(p, req->resp + LWS_PRE, req->resp_len);
  int n = (int)(p - start) + (int)req->resp_len;
  if (lws_write(wsi, start, (size_t)n, LWS_WRITE_HTTP_HEADERS) != n)
    return -1;
  req->resp_off = req->resp_len;
  return 0;
}

/* Returns -1 to close the connection, 0 to keep it. */
static int on_writeable(struct lws *wsi, struct pss *pss) {
  struct http_req *req = pss->req;
  if (!req || !req->replied)
    return 0;
  if (!req->headers_sent) {
    if (write_headers(wsi, req))
      return -1;
    if (req->resp_off < req->resp_len) {
      lws_callback_on_writable(wsi);
      return 0;
    }
  } else {
    size_t left = req->resp_len - req->resp_off;
    size_t n = left > CHUNK ? CHUNK : left;
    int final = n == left;
    /* lws may use the LWS_PRE bytes before the pointer; they were already sent. */
    unsigned char *ptr = req->resp + LWS_PRE + req->resp_off;
    if (lws_write(wsi, ptr, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
      return -1;
    req->resp_off += n;
    if (!final) {
      lws_callback_on_writable(wsi);
      return 0;
    }
  }
  pss->req = NULL;
  req_free(req);
  return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* ---- the libwebsockets callback ---- */

static int begin_request(struct lws *wsi, struct pss *pss, const char *uri) {
  struct http_req *req = calloc(1, sizeof *req);
  if (!req)
    return -1;
  req->srv = H.srv;
  req->wsi = wsi;
  req->route = -1;
  req->start_ns = now_ns();
  req->method = method_of(wsi);
  snprintf(req->path, sizeof req->path, "%s", uri);
  copy_query(wsi, req->query, sizeof req->query);
  copy_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, req->authorization, sizeof req->authorization);
  copy_header(wsi, WSI_TOKEN_HTTP_COOKIE, req->cookie, sizeof req->cookie);
  copy_header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, req->content_type, sizeof req->content_type);
  char cl[32];
  copy_header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, cl, sizeof cl);
  req->content_length = cl[0] ? atol(cl) : -1;
  pss->req = req;
  H.in_flight++;
  int has_body = req->content_length > 0;
  /* A body must be complete within the body timeout (checked again as it arrives, since lws
   * re-arms its own short timeout with every chunk); dispatch() then allows for the reply. */
  lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT,
                  has_body ? H.body_timeout_s : HANDLER_TIMEOUT_S);
  if (req->content_length > HTTP_MAX_BODY) {
    http_error(req, 413, "body_too_large", "the request body is larger than 8 MiB", NULL);
    return 0;
  }
  if (!has_body)
    dispatch(req);
  return 0;
}

static int on_body(struct http_req *req, const void *in, size_t len) {
  if (req->replied || len == 0)
    return 0;
  /* lws restarts its timeout with each chunk, so a client trickling a byte at a time would
   * hold the connection forever: the body has one deadline, counted from the headers. */
  if (now_ns() - req->start_ns > (uint64_t)H.body_timeout_s * 1000000000ull) {
    log_warn("dropped a request whose body arrived too slowly", "path=%s received=%zu",
             log_quote(req->path), req->body_len);
    return -1;
  }
  if (req->body_len + len > HTTP_MAX_BODY) {
    http_error(req, 413, "body_too_large", "the request body is larger than 8 MiB", NULL);
    return 0;
  }
  if (req->body_len + len + 1 > req->body_cap) {
    size_t cap = req->body_cap ? req->body_cap * 2 : 4096;
    while (cap < req->body_len + len + 1)
      cap *= 2;
    char *b = realloc(req->body, cap);
    if (!b)
      return -1;
    req->body = b;
    req->body_cap = cap;
  }
  memcpy(req->body + req->body_len, in, len);
  req->body_len += len;
  req->body[req->body_len] = '\0';
  return 0;
}

static void end_request(struct pss *pss) {
  struct http_req *req = pss->req;
  if (!req)
    return;
  pss->req = NULL;
  if (req->replied) {
    req_free(req);
  } else if (!req->dispatched) {
    /* The client went away (or was dropped) before its body was complete: no handler has the
     * request, so nothing will ever reply to it. */
    H.in_flight--;
    req_free(req);
  } else {
    req->wsi = NULL; /* freed by its reply */
  }
}

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                         void *in, size_t len) {
  struct pss *pss = user;
  switch (reason) {
  case LWS_CALLBACK_HTTP:
    if (pss->req)
      end_request(pss);
    return begin_request(wsi, pss, in ? (const char *)in : "/");
  case LWS_CALLBACK_HTTP_BODY:
    return pss->req ? on_body(pss->req, in, len) : 0;
  case LWS_CALLBACK_HTTP_BODY_COMPLETION:
    if (pss->req && !pss->req->replied)
      dispatch(pss->req);
    return 0;
  case LWS_CALLBACK_HTTP_WRITEABLE:
    return on_writeable(wsi, pss);
  case LWS_CALLBACK_CLOSED_HTTP:
  case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    end_request(pss);
    return 0;
  default:
    break;
  }
  return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static void lws_log(int level, const char *line) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s", line);
  msg[strcspn(msg, "\n")] = '\0';
  log_msg(level == LLL_ERR ? LOG_ERROR : LOG_WARN, "libwebsockets", "detail=%s",
          log_quote(msg));
}

/* A timeout in seconds from the environment (1 s to 1 h), else dflt. These belong with the
 * other settings in config.c; they are read here until the config module grows them. */
static int env_seconds(const char *name, int dflt) {
  const char *v = getenv(name);
  if (!v || !*v)
    return dflt;
  char *end;
  long s = strtol(v, &end, 10);
  if (*end || s < 1 || s > 3600) {
    log_warn("ignoring an invalid timeout (whole seconds, 1 to 3600)", "name=%s value=%s",
             name, log_quote(v));
    return dflt;
  }
  return (int)s;
}

int http_start(struct server *srv, uv_loop_t *loop, const char *host, int port,
               const struct http_route *routes, const char *web_dir) {
  H.srv = srv;
  H.idle_timeout_s = env_seconds("FLOWD_HTTP_IDLE_TIMEOUT", HTTP_IDLE_TIMEOUT_S);
  H.body_timeout_s = env_seconds("FLOWD_HTTP_BODY_TIMEOUT", HTTP_BODY_TIMEOUT_S);
  H.loop = loop;
  H.routes = routes;
  for (H.nroutes = 0; routes[H.nroutes].pattern; H.nroutes++)
    ;
  if (H.nroutes > MAX_ROUTES)
    return ERR_RANGE;
  snprintf(H.web_dir, sizeof H.web_dir, "%s", web_dir ? web_dir : "");
  lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);

  static struct lws_protocols protocols[3];
  protocols[0] = (struct lws_protocols){"http", http_callback, sizeof(struct pss), 0, 0, NULL, 0};
  protocols[1] = *ws_protocol(); /* websocket hub (ws.c): upgrades of GET /ws */
  protocols[2] = (struct lws_protocols){NULL, NULL, 0, 0, 0, NULL, 0};
  /* Websocket clients send no subprotocol: this vhost option makes the hub the protocol they
   * land on. Plain HTTP still goes to protocols[0], since there are no mounts. */
  static const struct lws_protocol_vhost_options ws_default = {NULL, NULL, "default", "1"};
  static struct lws_protocol_vhost_options ws_pvo = {NULL, &ws_default, NULL, ""};
  ws_pvo.name = protocols[1].name;
  /* Websockets: a PING after 30 s without proof of life, hang up 30 s later (lws' default
   * is 5 min). Checked: HTTP/1 keep-alive connections are not affected by it. */
  static const lws_retry_bo_t ws_idle = {.secs_since_valid_ping = 30,
                                         .secs_since_valid_hangup = 60};

  static void *foreign[1];
  foreign[0] = loop;
  struct lws_context_creation_info info;
  memset(&info, 0, sizeof info);
  info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
  info.foreign_loops = foreign;
  H.ctx = lws_create_context(&info);
  if (!H.ctx) {
    log_error("libwebsockets context failed (is libwebsockets-evlib-uv installed?)", NULL);
    return ERR_IO;
  }
  struct lws_context_creation_info vi;
  memset(&vi, 0, sizeof vi);
  vi.port = port;
  vi.iface = host;
  vi.protocols = protocols;
  vi.vhost_name = "flowd";
  vi.options = strchr(host, ':') ? 0 : LWS_SERVER_OPTION_DISABLE_IPV6;
  /* Idle keep-alive connections are closed after this (checked: lws also drops a connection
   * whose request headers take longer than about 10 s to arrive). */
  vi.keepalive_timeout = H.idle_timeout_s;
  vi.pvo = &ws_pvo;
  vi.retry_and_idle_policy = &ws_idle;
  if (!lws_create_vhost(H.ctx, &vi)) {
    log_error("cannot listen", "addr=%s port=%d", log_quote(host), port);
    return ERR_IO;
  }
  return 0;
}

void http_drain(void) { H.draining = 1; }
int http_in_flight(void) { return H.in_flight; }

void http_stop(void) {
  if (H.ctx)
    lws_context_destroy(H.ctx);
}

void http_free(void) {
  if (H.ctx) {
    lws_context_destroy(H.ctx);
    H.ctx = NULL;
  }
}
