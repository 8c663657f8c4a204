/* http: the HTTP side of flowd, libwebsockets on the flowd loop.
 *
 * A request is parsed into a struct http_req and handed to its route's handler once the body
 * is complete. The handler replies now or later (after database work) with exactly one
 * http_reply*() call. If the client goes away first, the request stays valid until that reply,
 * which is then dropped: handlers never need to know. */
#ifndef FLOWD_HTTP_H
#define FLOWD_HTTP_H
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct server;
struct lws;

enum http_method { HTTP_GET, HTTP_POST, HTTP_PUT, HTTP_PATCH, HTTP_DELETE, HTTP_OPTIONS,
                   HTTP_OTHER };

#define HTTP_MAX_PARAMS 4
#define HTTP_MAX_BODY (8 * 1024 * 1024)
/* Limits of a JSON body, checked before it is parsed (http_body_json): arrays and objects
 * nested at most this deep (400 too_deep), no string or member name longer than this many
 * bytes (413 string_too_long). Handlers may be stricter. */
#define HTTP_MAX_JSON_DEPTH 64
#define HTTP_MAX_JSON_STRING (1024 * 1024)
/* Timeouts (seconds; FLOWD_HTTP_IDLE_TIMEOUT and FLOWD_HTTP_BODY_TIMEOUT override them): an
 * idle keep-alive connection is closed, and a request whose body has not fully arrived this
 * long after its headers is dropped, however steadily it trickles in. */
#define HTTP_IDLE_TIMEOUT_S 30
#define HTTP_BODY_TIMEOUT_S 30

struct http_req {
  struct server *srv;
  struct lws *wsi; /* NULL once the client went away */
  enum http_method method;
  char path[1024];  /* decoded path, without the query */
  char query[2048]; /* raw query string (a=1&b=2), decoded by http_query_param */
  char authorization[512];
  char cookie[1024];
  char content_type[128];
  char *body; /* NUL-terminated */
  size_t body_len, body_cap;
  long content_length; /* -1 when absent */
  const char *params[HTTP_MAX_PARAMS]; /* {name} segments of the matched route, in order */
  char param_buf[1024];
  int route;   /* index into the route table, -1 for static files and 404 */
  int dispatched; /* handed to its handler (once) */
  void *user;  /* for handlers: state that survives until the reply */
  /* Response. */
  int replied;
  int status;
  char resp_type[64];
  char resp_headers[512]; /* extra "name: value\r\n" lines */
  unsigned char *resp;    /* LWS_PRE headroom, then the body */
  size_t resp_len, resp_off;
  int headers_sent;
  uint64_t start_ns;
};

/* A route: method, a path pattern with {name} segments, and the handler. */
struct http_route {
  enum http_method method;
  const char *pattern; /* "/api/flows/{id}/publish" */
  void (*handler)(struct http_req *req);
  const char *name; /* metrics label; defaults to the pattern */
};

/* Starts serving on host:port on loop with the given routes (terminated by a NULL pattern).
 * web_dir (may be empty) is served for paths outside /api. Returns 0 or a negative ERR_*. */
int http_start(struct server *srv, uv_loop_t *loop, const char *host, int port,
               const struct http_route *routes, const char *web_dir);

/* Stops accepting work: new requests get 503 while earlier ones finish. */
void http_drain(void);
/* Requests whose reply has not been written yet. */
int http_in_flight(void);
/* Destroys the libwebsockets context; call from inside the loop, and once more after
 * uv_run returned (libwebsockets needs both to release its handles). */
void http_stop(void);
void http_free(void);

/* Replies with body (copied). Exactly one reply per request. */
void http_reply(struct http_req *req, int status, const char *content_type, const char *body,
                size_t len);
/* Replies with json as the body; takes ownership of json (may be NULL: empty object). */
void http_reply_json(struct http_req *req, int status, cJSON *json);
/* Replies {"error": {"code", "message", "details"}}; takes ownership of details (may be NULL). */
void http_error(struct http_req *req, int status, const char *code, const char *message,
                cJSON *details);
/* Adds a response header line before the reply, e.g. ("Retry-After", "1"). */
void http_add_header(struct http_req *req, const char *name, const char *value);

/* The decoded value of query parameter name (into buf), or NULL when absent. */
const char *http_query_param(const struct http_req *req, const char *name, char *buf,
                             size_t len);
/* The route's {name} parameter i (0-based). */
const char *http_param(const struct http_req *req, int i);

/* Parses the body as JSON. On failure replies 400 (invalid_json, with the position; too_deep
 * past HTTP_MAX_JSON_DEPTH) or 413 (string_too_long past HTTP_MAX_JSON_STRING) itself and
 * returns NULL. Returns a new reference. */
cJSON *http_body_json(struct http_req *req);

/* Checks JSON text (len bytes) against HTTP_MAX_JSON_DEPTH and HTTP_MAX_JSON_STRING in one
 * pass without allocating, so a hostile document is refused before a parser or handler
 * recurses into it. Returns 0, ERR_TOODEEP or ERR_TOOBIG with *offset at the byte where the
 * limit was passed. Malformed JSON passes: the parser reports it. */
int http_json_limits(const char *text, size_t len, size_t *offset);

/* Per-route counters for /metrics: writes Prometheus text into a new string. */
char *http_metrics_text(void);

#endif
