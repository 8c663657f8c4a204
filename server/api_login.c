/* api_login: POST /api/login (e-mail and password -> a session cookie and its CSRF token),
 * POST /api/logout, GET /api/me.
 *
 * The session token is 32 random bytes; only its hash is stored. The cookie is HttpOnly,
 * SameSite=Lax and has no Max-Age: the server's sliding expiry decides when it ends, so an
 * active user is not logged out by the browser mid-day. Wrong e-mail and wrong password get
 * the same answer after the same work (one Argon2id hash either way). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/timefmt.h"
#include "server/api_people.h"
#include "server/api_util.h"
#include "server/audit.h"
#include "server/auth.h"
#include "server/authdb.h"
#include "server/db.h"
#include "server/fields.h"
#include "server/http.h"
#include "server/pwhash.h"
#include "server/server.h"

#define COOKIE_ATTRS "; Path=/; HttpOnly; SameSite=Lax"

struct login {
  struct http_req *req;
  char email[FIELDS_TEXT_MAX + 1];
  char *password;
  char staff_id[FIELDS_ID_MAX + 1];
  enum auth_role role;
  char *staff_json;
  char token[80], hash[65], csrf[65];
  int64_t expires_ms;
};

static void login_free(struct login *l) {
  if (l->password) {
    sodium_memzero(l->password, strlen(l->password));
    free(l->password);
  }
  free(l->staff_json);
  sodium_memzero(l->token, sizeof l->token);
  free(l);
}

static void failed_logged(void *data, int rc, const struct db_result *r) {}

static void refuse(struct login *l) {
  struct db_batch *b = db_batch_new();
  cJSON *d = cJSON_CreateObject();
  cJSON_AddStringToObject(d, "email", l->email);
  audit_add(b, NULL, "login.failed", l->staff_id[0] ? l->staff_id : NULL, d);
  cJSON_Delete(d);
  db_submit(l->req->srv->db, b, failed_logged, NULL);
  http_error(l->req, 401, "bad_credentials", "wrong e-mail or password", NULL);
  login_free(l);
}

static void session_saved(void *data, int rc, const struct db_result *r) {
  struct login *l = data;
  if (rc) {
    api_db_error(l->req, rc, r);
    login_free(l);
    return;
  }
  struct authdb_session s = {.role = l->role, .expires_ms = l->expires_ms};
  snprintf(s.staff_id, sizeof s.staff_id, "%s", l->staff_id);
  memcpy(s.csrf, l->csrf, sizeof s.csrf);
  authdb_put_session(l->hash, &s);
  char cookie[200], at[40];
  snprintf(cookie, sizeof cookie, "flowd_session=%s" COOKIE_ATTRS, l->token);
  http_add_header(l->req, "Set-Cookie", cookie);
  http_add_header(l->req, "Cache-Control", "no-store");
  cJSON *out = cJSON_CreateObject();
  cJSON_AddItemToObject(out, "staff", cJSON_Parse(l->staff_json));
  cJSON_AddStringToObject(out, "csrf_token", l->csrf);
  cJSON_AddStringToObject(out, "expires_at", time_format_rfc3339(l->expires_ms, at, sizeof at));
  http_reply_json(l->req, 200, out);
  login_free(l);
}

static void verified(void *data, int ok) {
  struct login *l = data;
  if (!ok) {
    refuse(l);
    return;
  }
  authdb_random(l->token, sizeof l->token, "fs_");
  authdb_random(l->csrf, sizeof l->csrf, "");
  authdb_hash(l->token, l->hash);
  int64_t ttl = auth_session_ttl_ms();
  l->expires_ms = time_now_ms() + ttl;
  char ttlbuf[24];
  snprintf(ttlbuf, sizeof ttlbuf, "%lld", (long long)ttl);
  const char *params[4] = {l->hash, l->staff_id, l->csrf, ttlbuf};
  struct db_batch *b = db_batch_new();
  db_batch_add(b, NULL,
               "INSERT INTO sessions (token_hash, staff_id, csrf_token, expires_at) "
               "VALUES ($1, $2, $3, now() + $4::bigint * interval '1 millisecond')",
               4, params);
  struct principal who = {.kind = AUTH_KIND_SESSION};
  snprintf(who.name, sizeof who.name, "%s", l->staff_id);
  audit_add(b, &who, "login", l->staff_id, NULL);
  db_submit(l->req->srv->db, b, session_saved, l);
}

static void found(void *data, int rc, const struct db_result *r) {
  struct login *l = data;
  if (rc) {
    api_db_error(l->req, rc, r);
    login_free(l);
    return;
  }
  const char *hash = NULL;
  if (api_rows(r, 0) == 1) {
    snprintf(l->staff_id, sizeof l->staff_id, "%s", api_row_text(r, 0, 0));
    hash = api_row_text(r, 0, 1);
    const char *role = api_row_text(r, 0, 2);
    l->role = strcmp(role, "admin") == 0     ? AUTH_ADMIN
              : strcmp(role, "manager") == 0 ? AUTH_MANAGER
                                             : AUTH_STAFF;
    l->staff_json = strdup(api_row_text(r, 0, 3));
  }
  if (pwhash_verify(l->req->srv->loop, hash, l->password, verified, l) != 0) {
    http_error(l->req, 500, "internal", "out of memory", NULL);
    login_free(l);
  }
}

void api_login(struct http_req *req) {
  static const char *const allowed[] = {"email", "password", NULL};
  cJSON *body = http_body_json(req);
  if (!body)
    return;
  const cJSON *email = cJSON_GetObjectItem(body, "email");
  const cJSON *pw = cJSON_GetObjectItem(body, "password");
  struct login *l = NULL;
  if (fields_only(req, body, allowed, NULL) &&
      fields_text(req, email, "email", FIELDS_TEXT_MAX, 0) &&
      fields_text(req, pw, "password", 1024, 0)) {
    l = calloc(1, sizeof *l);
    if (l && (l->password = strdup(pw->valuestring))) {
      l->req = req;
      snprintf(l->email, sizeof l->email, "%s", email->valuestring);
      const char *p = l->email;
      db_query(req->srv->db, "login_find",
               "SELECT s.id, s.password_hash, s.access_role, " STAFF_JSON
               " FROM staff s WHERE s.email = lower($1)",
               1, &p, found, l);
    } else {
      free(l);
      http_error(req, 500, "internal", "out of memory", NULL);
    }
  }
  if (cJSON_IsString(pw))
    sodium_memzero(pw->valuestring, strlen(pw->valuestring));
  cJSON_Delete(body);
}

/* ---- logout ---- */

struct logout {
  struct http_req *req;
  char hash[65];
};

static void ended(void *data, int rc, const struct db_result *r) {
  struct logout *o = data;
  if (rc) {
    api_db_error(o->req, rc, r);
  } else {
    authdb_drop_session(o->hash);
    http_add_header(o->req, "Set-Cookie", "flowd_session=" COOKIE_ATTRS "; Max-Age=0");
    http_reply(o->req, 204, "application/json", "", 0);
  }
  free(o);
}

void api_logout(struct http_req *req) {
  struct principal who;
  if (!auth_require(req, AUTH_NONE, &who))
    return;
  struct logout *o = who.kind == AUTH_KIND_SESSION ? calloc(1, sizeof *o) : NULL;
  if (!o) { /* the admin token and API keys have no session to end */
    http_reply(req, 204, "application/json", "", 0);
    return;
  }
  o->req = req;
  snprintf(o->hash, sizeof o->hash, "%s", who.cred_hash);
  const char *p = o->hash;
  struct db_batch *b = db_batch_new();
  db_batch_add(b, NULL, "DELETE FROM sessions WHERE token_hash = $1", 1, &p);
  audit_add(b, &who, "logout", who.staff_id, NULL);
  db_submit(req->srv->db, b, ended, o);
}

/* ---- me ---- */

/* Who the caller is; sessions also get their staff record and CSRF token (a page that was
 * reloaded has lost it, and only same-origin scripts can read this answer). */
static cJSON *me_json(const struct principal *who) {
  static const char *const scopes[] = {"read", "manage", "admin", "events:write"};
  static const char *const kinds[] = {"none", "admin_token", "session", "key"};
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "kind", kinds[who->kind]);
  cJSON_AddStringToObject(o, "role", auth_role_name(who->role));
  cJSON_AddStringToObject(o, "name", who->name);
  if (who->kind == AUTH_KIND_KEY) {
    cJSON *list = cJSON_AddArrayToObject(o, "scopes");
    for (size_t i = 0; i < sizeof scopes / sizeof scopes[0]; i++)
      if (who->scopes & auth_scope_bit(scopes[i]))
        cJSON_AddItemToArray(list, cJSON_CreateString(scopes[i]));
  }
  struct authdb_session s;
  if (who->kind == AUTH_KIND_SESSION && authdb_session(who->cred_hash, &s) == AUTHDB_FOUND)
    cJSON_AddStringToObject(o, "csrf_token", s.csrf);
  return o;
}

struct me {
  struct http_req *req;
  cJSON *out;
};

static void me_done(void *data, int rc, const struct db_result *r) {
  struct me *m = data;
  if (rc) {
    api_db_error(m->req, rc, r);
    cJSON_Delete(m->out);
  } else {
    cJSON *staff = api_row_json(r, 0, 0);
    cJSON_AddItemToObject(m->out, "staff", staff ? staff : cJSON_CreateNull());
    http_reply_json(m->req, 200, m->out);
  }
  free(m);
}

void api_me(struct http_req *req) {
  struct principal who;
  if (!auth_require(req, AUTH_NONE, &who))
    return;
  cJSON *out = me_json(&who);
  struct me *m = who.staff_id[0] ? malloc(sizeof *m) : NULL;
  if (!m) {
    cJSON_AddNullToObject(out, "staff");
    http_reply_json(req, 200, out);
    return;
  }
  m->req = req;
  m->out = out;
  const char *id = who.staff_id;
  db_query(req->srv->db, "me_staff", "SELECT " STAFF_JSON " FROM staff s WHERE s.id = $1", 1,
           &id, me_done, m);
}
