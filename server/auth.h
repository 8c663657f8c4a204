/* auth: who is calling, and whether they may do what they ask.
 *
 * Principals:
 *  - the admin token (FLOWD_ADMIN_TOKEN, or the one flowd generated into DATA/admin-token when
 *    none was configured) as "Authorization: Bearer <token>" or "?token=<token>";
 *  - a login session (POST /api/login): the HttpOnly cookie flowd_session, or its value as a
 *    bearer token. Cookie-authenticated writes (POST/PUT/PATCH/DELETE) must carry the
 *    session's X-CSRF-Token; bearer use needs none (browsers never add it by themselves);
 *  - an API key "fk_..." as a bearer token, whose scopes give its powers;
 *  - nobody (only /healthz and POST /api/login are open).
 *
 * Sessions and keys live in PostgreSQL; every process mirrors them in memory (authdb.c), so
 * identifying a request needs no query. Invariant: a credential the mirror does not know yet
 * (made a moment ago by another process, or slid forward by one) is looked up once:
 * auth_require then suspends the request and, when the answer is in the mirror, runs the
 * route's handler again from the start. Handlers therefore call auth_require first, before
 * any side effect, and simply return when it returns 0 (as they always did). */
#ifndef FLOWD_AUTH_H
#define FLOWD_AUTH_H
#include <stdint.h>

struct http_req;
struct config;

enum auth_role { AUTH_NONE = 0, AUTH_STAFF, AUTH_MANAGER, AUTH_ADMIN };

enum auth_kind { AUTH_KIND_NONE = 0, AUTH_KIND_ADMIN_TOKEN, AUTH_KIND_SESSION, AUTH_KIND_KEY };

/* API key scopes (POST /api/keys {"scopes": [...]}):
 *   "admin"        everything the admin may do;
 *   "manage"       everything a manager may do;
 *   "read"         what a manager may read (GET only);
 *   "events:write" POST /api/events (handlers admit it with auth_require_scope). */
enum auth_scope {
  AUTH_SCOPE_READ = 1u << 0,
  AUTH_SCOPE_MANAGE = 1u << 1,
  AUTH_SCOPE_ADMIN = 1u << 2,
  AUTH_SCOPE_EVENTS_WRITE = 1u << 3,
};

struct principal {
  enum auth_role role;
  enum auth_kind kind;
  char name[128];      /* for "who changed what": "admin", the staff id, or "key:<id>" */
  char staff_id[64];   /* sessions: the staff member; else "" */
  char key_id[64];     /* keys: the key's id; else "" */
  unsigned scopes;     /* keys: AUTH_SCOPE_* bits; else 0 */
  int via_cookie;      /* the session came from the cookie: writes need X-CSRF-Token */
  char cred_hash[65];  /* sessions and keys: hex hash of the credential; else "" */
};

/* Settles the admin token: the configured one, else DATA/admin-token (created with a random
 * token, mode 0600, on first start). Logs the one-time setup URL when it generated one.
 * Also reads FLOWD_SESSION_TTL (a duration, default 12h) and the per-credential rate limits
 * (ratelimit_init), and settles the key of provider secrets (secret_init), which lives in the
 * same data folder when not configured. Returns 0 or a negative ERR_*. */
int auth_init(const struct config *cfg);

/* How long a session lives without use (sliding). */
int64_t auth_session_ttl_ms(void);

/* Fills p from the request's credentials, from the in-memory mirror only; returns p->role.
 * p->kind is AUTH_KIND_NONE when there were no valid credentials (an authenticated key
 * without a fitting scope has kind KEY and role AUTH_NONE). */
enum auth_role auth_identify(const struct http_req *req, struct principal *p);

/* The same for a bare token (admin token, session token or API key) and for a Cookie header
 * value, for the websocket handshake. Mirror only; never suspends. */
enum auth_role auth_identify_token(const char *token, struct principal *p);
enum auth_role auth_identify_cookie(const char *cookie_header, struct principal *p);

/* Returns 1 when the handler may go on: the caller is authenticated, has at least role
 * `need` (AUTH_NONE: any authenticated caller), a cookie write carries the session's
 * X-CSRF-Token, and a write with a signing key is signed. Otherwise returns 0 after replying
 * 401 (no or bad credentials, bad signature), 403 (role too low, CSRF token missing or
 * wrong), 429 with Retry-After (the credential is past its rate limit, ratelimit.h) or 503
 * (the database could not say), or after suspending the request (see above).
 * p (may be NULL) receives the principal. */
int auth_require(struct http_req *req, enum auth_role need, struct principal *p);

/* As auth_require, but an API key holding any of `scopes` is admitted as well. */
int auth_require_scope(struct http_req *req, enum auth_role need, unsigned scopes,
                       struct principal *p);

/* When p is an API key with an HMAC secret, the body must be signed:
 * "X-Flowd-Signature: sha256=<hex HMAC-SHA256(secret, body)>". Returns 0 when the body may be
 * trusted (signed correctly, or no secret to check against); otherwise replies 401
 * (bad_signature) and returns ERR_INVAL. auth_require already does this for every write
 * (POST/PUT/PATCH/DELETE) made with such a key; handlers need not call it again. */
int auth_check_signature(struct http_req *req, const struct principal *p);

/* The value of request header name (e.g. "x-csrf-token") into buf; NULL when absent. */
const char *auth_header(const struct http_req *req, const char *name, char *buf, int len);

/* Scope names <-> bits. auth_scope_bit returns 0 for an unknown name. */
unsigned auth_scope_bit(const char *name);
const char *auth_role_name(enum auth_role role);

#endif
