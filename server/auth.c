/* auth: who is calling (admin token, login session, API key) and the checks handlers ask for:
 * role, key scope, CSRF token on cookie writes, request-body signatures. Every secret is
 * compared in constant time; sessions and keys come from the in-memory mirror (authdb.c). */
#include <errno.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "graph/err.h"
#include "graph/timefmt.h"
#include "server/api_util.h"
#include "server/auth.h"
#include "server/authdb.h"
#include "server/config.h"
#include "server/http.h"
#include "server/log.h"
#include "server/ratelimit.h"
#include "server/secret.h"
#include "server/server.h"

#define DEFAULT_SESSION_TTL_MS (12LL * 3600 * 1000)

static char admin_token[256];
static int64_t session_ttl_ms = DEFAULT_SESSION_TTL_MS;

static int load_or_create(const char *data_dir) {
  char path[4300];
  snprintf(path, sizeof path, "%s/admin-token", data_dir);
  FILE *f = fopen(path, "r");
  if (f) {
    int ok = fgets(admin_token, sizeof admin_token, f) != NULL;
    fclose(f);
    admin_token[strcspn(admin_token, "\r\n")] = '\0';
    if (ok && admin_token[0])
      return 0;
  }
  /* First start without a configured token: make one, keep it beside the cluster. */
  unsigned char raw[24];
  randombytes_buf(raw, sizeof raw);
  sodium_bin2hex(admin_token, sizeof admin_token, raw, sizeof raw);
  mkdir(data_dir, 0755);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0)
    return err_set(NULL, ERR_IO, "", "%s", strerror(errno));
  ssize_t w = write(fd, admin_token, strlen(admin_token));
  close(fd);
  if (w < 0)
    return ERR_IO;
  log_warn("no FLOWD_ADMIN_TOKEN set: generated an admin token", "file=%s", log_quote(path));
  return 1;
}

/* FLOWD_SESSION_TTL belongs with the other settings in config.c; it is read here until the
 * config module grows it. */
static int read_session_ttl(void) {
  const char *v = getenv("FLOWD_SESSION_TTL");
  if (!v || !*v)
    return 0;
  struct err_detail d;
  int64_t ms;
  if (duration_parse(v, &ms, &d) != 0 || ms < 1000) {
    log_error("FLOWD_SESSION_TTL must be a duration of at least 1s", "value=%s", log_quote(v));
    return ERR_INVAL;
  }
  session_ttl_ms = ms;
  return 0;
}

int auth_init(const struct config *cfg) {
  if (sodium_init() < 0 || read_session_ttl() != 0)
    return ERR_IO;
  /* The other credentials' settings: per-credential rate limits, and the key of provider
   * secrets, which lives in the data folder beside the admin token when not configured. */
  if (ratelimit_init() != 0 || secret_init(cfg) != 0)
    return ERR_INVAL;
  if (cfg->admin_token[0]) {
    snprintf(admin_token, sizeof admin_token, "%s", cfg->admin_token);
    return 0;
  }
  int rc = load_or_create(cfg->data_dir);
  if (rc == 0) {
    log_info("admin token read from the data folder", "file=%s/admin-token",
             log_quote(cfg->data_dir));
  } else if (rc == 1) {
    /* The one-time setup link: shown once, when the token is made. */
    rc = 0;
    const char *h = cfg->listen_host;
    int v6 = strchr(h, ':') != NULL;
    log_info("open the editor with the admin token", "url=http://%s%s%s:%d/?token=%s",
             v6 ? "[" : "", h, v6 ? "]" : "", cfg->listen_port, admin_token);
  }
  return rc;
}

int64_t auth_session_ttl_ms(void) { return session_ttl_ms; }

static int token_equals(const char *given) {
  size_t n = strlen(admin_token);
  if (n == 0 || strlen(given) != n)
    return 0;
  return sodium_memcmp(given, admin_token, n) == 0;
}

unsigned auth_scope_bit(const char *name) {
  static const struct { const char *name; unsigned bit; } scopes[] = {
      {"read", AUTH_SCOPE_READ},
      {"manage", AUTH_SCOPE_MANAGE},
      {"admin", AUTH_SCOPE_ADMIN},
      {"events:write", AUTH_SCOPE_EVENTS_WRITE},
  };
  for (size_t i = 0; i < sizeof scopes / sizeof scopes[0]; i++)
    if (strcmp(name, scopes[i].name) == 0)
      return scopes[i].bit;
  return 0;
}

const char *auth_role_name(enum auth_role role) {
  switch (role) {
  case AUTH_ADMIN: return "admin";
  case AUTH_MANAGER: return "manager";
  case AUTH_STAFF: return "staff";
  default: return "none";
  }
}

/* ---- identification ---- */

/* The role a key's scopes give; "read" counts only for reads. */
static enum auth_role key_role(unsigned scopes, int is_read) {
  if (scopes & AUTH_SCOPE_ADMIN)
    return AUTH_ADMIN;
  if ((scopes & AUTH_SCOPE_MANAGE) || ((scopes & AUTH_SCOPE_READ) && is_read))
    return AUTH_MANAGER;
  return AUTH_NONE;
}

/* Fills p from token; p->kind and p->cred_hash are set even when the mirror says MISS, so
 * the caller can look the credential up. */
static enum authdb_found identify_token(const char *token, int is_read, struct principal *p) {
  memset(p, 0, sizeof *p);
  if (token_equals(token)) {
    p->kind = AUTH_KIND_ADMIN_TOKEN;
    p->role = AUTH_ADMIN;
    strcpy(p->name, "admin");
    return AUTHDB_FOUND;
  }
  int is_key = strncmp(token, "fk_", 3) == 0;
  if (!is_key && strncmp(token, "fs_", 3) != 0)
    return AUTHDB_DENIED;
  p->kind = is_key ? AUTH_KIND_KEY : AUTH_KIND_SESSION;
  authdb_hash(token, p->cred_hash);
  if (is_key) {
    struct authdb_key k;
    enum authdb_found f = authdb_key(p->cred_hash, &k);
    if (f == AUTHDB_FOUND) {
      p->scopes = k.scopes;
      p->role = key_role(k.scopes, is_read);
      snprintf(p->key_id, sizeof p->key_id, "%s", k.id);
      snprintf(p->name, sizeof p->name, "key:%s", k.id);
    }
    return f;
  }
  struct authdb_session s;
  enum authdb_found f = authdb_session(p->cred_hash, &s);
  if (f == AUTHDB_FOUND) {
    p->role = s.role;
    snprintf(p->staff_id, sizeof p->staff_id, "%s", s.staff_id);
    snprintf(p->name, sizeof p->name, "%s", s.staff_id);
  }
  return f;
}

/* The flowd_session value of a Cookie header into buf; NULL when absent. */
static const char *session_cookie(const char *header, char *buf, size_t len) {
  static const char name[] = "flowd_session=";
  for (const char *c = header; c && *c;) {
    while (*c == ' ' || *c == ';')
      c++;
    size_t vl = strcspn(c, ";");
    if (strncmp(c, name, sizeof name - 1) == 0 && vl - (sizeof name - 1) < len) {
      vl -= sizeof name - 1;
      memcpy(buf, c + sizeof name - 1, vl);
      buf[vl] = '\0';
      return buf;
    }
    c += vl;
  }
  return NULL;
}

static enum authdb_found identify_cookie(const char *header, struct principal *p) {
  char tok[128];
  memset(p, 0, sizeof *p);
  if (!session_cookie(header, tok, sizeof tok) || strncmp(tok, "fs_", 3) != 0)
    return AUTHDB_DENIED;
  enum authdb_found f = identify_token(tok, 1, p);
  p->via_cookie = 1;
  return f;
}

static enum authdb_found identify(const struct http_req *req, struct principal *p) {
  int is_read = req->method == HTTP_GET || req->method == HTTP_OPTIONS;
  char tok[300];
  const char *given = NULL;
  if (strncmp(req->authorization, "Bearer ", 7) == 0)
    given = req->authorization + 7;
  else
    given = http_query_param(req, "token", tok, sizeof tok);
  if (given)
    return identify_token(given, is_read, p);
  if (req->cookie[0])
    return identify_cookie(req->cookie, p);
  memset(p, 0, sizeof *p);
  return AUTHDB_DENIED;
}

/* Leaves p as "nobody" unless f found it. */
static enum auth_role settle(enum authdb_found f, struct principal *p) {
  if (f != AUTHDB_FOUND)
    memset(p, 0, sizeof *p);
  return p->role;
}

enum auth_role auth_identify(const struct http_req *req, struct principal *p) {
  return settle(identify(req, p), p);
}

enum auth_role auth_identify_token(const char *token, struct principal *p) {
  return settle(identify_token(token ? token : "", 1, p), p);
}

enum auth_role auth_identify_cookie(const char *cookie_header, struct principal *p) {
  return settle(identify_cookie(cookie_header, p), p);
}

const char *auth_header(const struct http_req *req, const char *name, char *buf, int len) {
  char key[64];
  int kl = snprintf(key, sizeof key, "%s:", name);
  if (!req->wsi || kl <= 1 || kl >= (int)sizeof key)
    return NULL;
  if (lws_hdr_custom_length(req->wsi, key, kl) < 0)
    return NULL;
  if (lws_hdr_custom_copy(req->wsi, buf, len, key, kl) < 0)
    return NULL;
  return buf;
}

/* ---- checks ---- */

/* Suspension: a credential the mirror does not know is fetched, then the route's handler
 * runs again. `resuming` is the request being re-run, which is never suspended twice. */
static struct http_req *resuming;

static void resume(void *data, int rc) {
  struct http_req *req = data;
  if (rc) {
    api_db_error(req, rc, NULL);
    return;
  }
  resuming = req;
  server_routes[req->route].handler(req);
  resuming = NULL;
}

static int suspend(struct http_req *req, const struct principal *p) {
  if (req == resuming || req->route < 0)
    return 0;
  return authdb_fetch(p->cred_hash, p->kind == AUTH_KIND_KEY, resume, req) == 0;
}

static int csrf_ok(const struct http_req *req, const struct principal *p) {
  struct authdb_session s;
  char given[128];
  if (authdb_session(p->cred_hash, &s) != AUTHDB_FOUND ||
      !auth_header(req, "x-csrf-token", given, sizeof given))
    return 0;
  size_t n = strlen(s.csrf);
  return n > 0 && strlen(given) == n && sodium_memcmp(given, s.csrf, n) == 0;
}

static int is_write(enum http_method m) {
  return m == HTTP_POST || m == HTTP_PUT || m == HTTP_PATCH || m == HTTP_DELETE;
}

/* Takes a token of the caller's bucket (ratelimit.h); when there is none, replies 429 with
 * Retry-After and returns 0. Events have their own bucket, so a shop's webhook burst does
 * not lock its key out of the rest of the API, nor the reverse. */
static int within_rate(struct http_req *req, const struct principal *p) {
  enum ratelimit_class cls = req->method == HTTP_POST && strcmp(req->path, "/api/events") == 0
                                 ? RATELIMIT_EVENTS
                                 : RATELIMIT_API;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
  int64_t wait_ms = ratelimit_take(cls, p->kind == AUTH_KIND_ADMIN_TOKEN ? "admin"
                                                                         : p->cred_hash, now_ms);
  if (wait_ms == 0)
    return 1;
  const struct ratelimit_spec *spec = ratelimit_get(cls);
  long secs = (long)((wait_ms + 999) / 1000);
  char after[24], msg[200];
  snprintf(after, sizeof after, "%ld", secs);
  snprintf(msg, sizeof msg, "too many requests with this credential (at most %g per second, "
           "bursts of %g%s): retry after %ld s", spec->rate, spec->burst,
           cls == RATELIMIT_EVENTS ? ", for events" : "", secs);
  cJSON *d = cJSON_CreateObject();
  cJSON_AddNumberToObject(d, "retry_after_s", (double)secs);
  cJSON_AddNumberToObject(d, "rate_per_s", spec->rate);
  cJSON_AddNumberToObject(d, "burst", spec->burst);
  http_add_header(req, "Retry-After", after);
  http_error(req, 429, "rate_limited", msg, d);
  return 0;
}

int auth_require_scope(struct http_req *req, enum auth_role need, unsigned scopes,
                       struct principal *p) {
  struct principal local;
  if (!p)
    p = &local;
  enum authdb_found f = identify(req, p);
  if (f == AUTHDB_MISS && suspend(req, p))
    return 0;
  if (f != AUTHDB_FOUND) {
    memset(p, 0, sizeof *p);
    http_add_header(req, "WWW-Authenticate", "Bearer");
    http_error(req, 401, "unauthorized",
               "authentication required: log in, or send Authorization: Bearer <token>", NULL);
    return 0;
  }
  if (!within_rate(req, p))
    return 0;
  if (p->via_cookie && is_write(req->method) && !csrf_ok(req, p)) {
    http_error(req, 403, "csrf",
               "a change made with the session cookie needs the session's X-CSRF-Token header",
               NULL);
    return 0;
  }
  if (p->role < need && !(p->kind == AUTH_KIND_KEY && (p->scopes & scopes))) {
    http_error(req, 403, "forbidden", "your role may not do this", NULL);
    return 0;
  }
  /* Checked here rather than by each handler, so that no write can forget it. */
  if (p->kind == AUTH_KIND_KEY && is_write(req->method) && auth_check_signature(req, p) != 0)
    return 0;
  if (p->kind == AUTH_KIND_SESSION)
    authdb_touch_session(p->cred_hash);
  else if (p->kind == AUTH_KIND_KEY)
    authdb_touch_key(p->cred_hash);
  return 1;
}

int auth_require(struct http_req *req, enum auth_role need, struct principal *p) {
  return auth_require_scope(req, need, 0, p);
}

static int bad_signature(struct http_req *req, const char *why) {
  http_error(req, 401, "bad_signature", why, NULL);
  return ERR_INVAL;
}

int auth_check_signature(struct http_req *req, const struct principal *p) {
  char secret[256], given[128];
  if (p->kind != AUTH_KIND_KEY || authdb_key_secret(p->cred_hash, secret, sizeof secret) != 0)
    return 0;
  unsigned char want[crypto_auth_hmacsha256_BYTES], got[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)(req->body ? req->body : ""),
                                req->body_len);
  crypto_auth_hmacsha256_final(&st, want);
  sodium_memzero(secret, sizeof secret);
  if (!auth_header(req, "x-flowd-signature", given, sizeof given))
    return bad_signature(req, "this API key signs its requests: send X-Flowd-Signature: "
                              "sha256=<hex HMAC-SHA256 of the body>");
  size_t bin_len = 0;
  if (strncmp(given, "sha256=", 7) != 0 || strlen(given + 7) != 2 * sizeof got ||
      sodium_hex2bin(got, sizeof got, given + 7, strlen(given + 7), NULL, &bin_len, NULL) != 0 ||
      bin_len != sizeof got)
    return bad_signature(req, "X-Flowd-Signature must be sha256=<64 hex digits>");
  if (sodium_memcmp(got, want, sizeof got) != 0)
    return bad_signature(req, "X-Flowd-Signature does not match the body");
  return 0;
}
