/* api_keys: API keys (admins: create, list, revoke) and the audit log (admins: read).
 *
 * A key is "fk_" and 64 hex digits, shown once at creation; the database keeps its hash and
 * its first characters, to recognise it in lists. A key may carry an HMAC secret (also shown
 * once): requests made with it must then be signed (auth_check_signature). Revoking is
 * immediate on this process and reaches the others through the flowd_auth NOTIFY. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "server/api_people.h"
#include "server/api_util.h"
#include "server/audit.h"
#include "server/auth.h"
#include "server/authdb.h"
#include "server/db.h"
#include "server/fields.h"
#include "server/http.h"
#include "server/server.h"

#define KEY_JSON                                                                           \
  "json_build_object('id', k.id, 'name', k.name, 'prefix', k.prefix, 'scopes', k.scopes, " \
  "'hmac', k.hmac_secret IS NOT NULL, 'created_by', k.created_by, 'created_at', "          \
  "k.created_at, 'revoked_at', k.revoked_at, 'last_used_at', k.last_used_at)"

static void list_done(void *data, int rc, const struct db_result *r) {
  struct http_req *req = data;
  if (rc)
    api_db_error(req, rc, r);
  else
    api_reply_text_json(req, 200, api_row_text(r, 0, 0));
}

void api_keys_list(struct http_req *req) {
  if (!auth_require(req, AUTH_ADMIN, NULL))
    return;
  db_query(req->srv->db, "keys_list",
           "SELECT json_build_object('keys', coalesce(json_agg(" KEY_JSON
           " ORDER BY k.created_at DESC, k.id), '[]')) FROM api_keys k",
           0, NULL, list_done, req);
}

/* ---- creating ---- */

struct key_op {
  struct http_req *req;
  char key[80];
  char secret[80]; /* "" when the key signs nothing */
};

static void key_op_free(struct key_op *op) {
  sodium_memzero(op, sizeof *op);
  free(op);
}

static void created(void *data, int rc, const struct db_result *r) {
  struct key_op *op = data;
  cJSON *out = rc ? NULL : api_row_json(r, 0, 0);
  if (rc) {
    fields_db_error(op->req, rc, r, NULL);
  } else if (!out) {
    http_error(op->req, 500, "internal", "the key was not returned", NULL);
  } else {
    cJSON_AddStringToObject(out, "key", op->key);
    if (op->secret[0])
      cJSON_AddStringToObject(out, "hmac_secret", op->secret);
    http_add_header(op->req, "Cache-Control", "no-store");
    http_reply_json(op->req, 201, out);
  }
  key_op_free(op);
}

static int check_scopes(struct http_req *req, const cJSON *v) {
  if (!fields_text_list(req, v, "scopes", 0))
    return 0;
  if (cJSON_GetArraySize(v) == 0)
    return api_bad_field(req, "invalid_field", "scopes", "\"scopes\" must list at least one of "
                         "read, manage, admin, events:write");
  int i = 0;
  for (const cJSON *e = v->child; e; e = e->next, i++)
    if (!auth_scope_bit(e->valuestring)) {
      char at[32];
      snprintf(at, sizeof at, "scopes/%d", i);
      return api_bad_field(req, "invalid_field", at, "unknown scope \"%s\": use read, manage, "
                           "admin or events:write", e->valuestring);
    }
  return 1;
}

static int check_key_body(struct http_req *req, const cJSON *b) {
  static const char *const allowed[] = {"name", "scopes", "hmac", NULL};
  const cJSON *v;
  return fields_only(req, b, allowed, NULL) &&
         fields_text(req, cJSON_GetObjectItem(b, "name"), "name", FIELDS_TEXT_MAX, 0) &&
         check_scopes(req, cJSON_GetObjectItem(b, "scopes")) &&
         (!(v = cJSON_GetObjectItem(b, "hmac")) || fields_bool(req, v, "hmac"));
}

static void insert_key(struct http_req *req, const struct principal *who, const cJSON *body,
                       struct key_op *op) {
  char id[FIELDS_ID_MAX + 1], hash[65], prefix[12];
  fields_new_id("k_", id, sizeof id);
  authdb_random(op->key, sizeof op->key, "fk_");
  if (cJSON_IsTrue(cJSON_GetObjectItem(body, "hmac")))
    authdb_random(op->secret, sizeof op->secret, "");
  authdb_hash(op->key, hash);
  snprintf(prefix, sizeof prefix, "%.10s", op->key);
  char *scopes = cJSON_PrintUnformatted(cJSON_GetObjectItem(body, "scopes"));
  const char *params[7] = {id, cJSON_GetObjectItem(body, "name")->valuestring, hash, prefix,
                           scopes, op->secret[0] ? op->secret : NULL, who->name};
  struct db_batch *b = db_batch_new();
  db_batch_add(b, NULL,
               "INSERT INTO api_keys AS k (id, name, key_hash, prefix, scopes, hmac_secret, "
               "created_by) VALUES ($1, $2, $3, $4, ARRAY(SELECT jsonb_array_elements_text("
               "$5::jsonb)), $6, $7) RETURNING " KEY_JSON,
               7, params);
  cJSON *d = cJSON_CreateObject();
  cJSON_AddItemReferenceToObject(d, "name", cJSON_GetObjectItem(body, "name"));
  cJSON_AddItemReferenceToObject(d, "scopes", cJSON_GetObjectItem(body, "scopes"));
  cJSON_AddBoolToObject(d, "hmac", op->secret[0] != '\0');
  audit_add(b, who, "key.created", id, d);
  cJSON_Delete(d);
  db_submit(req->srv->db, b, created, op);
  free(scopes);
}

void api_keys_create(struct http_req *req) {
  struct principal who;
  if (!auth_require(req, AUTH_ADMIN, &who))
    return;
  cJSON *body = http_body_json(req);
  if (!body)
    return;
  if (check_key_body(req, body)) {
    struct key_op *op = calloc(1, sizeof *op);
    if (!op) {
      http_error(req, 500, "internal", "out of memory", NULL);
    } else {
      op->req = req;
      insert_key(req, &who, body, op);
    }
  }
  cJSON_Delete(body);
}

/* ---- revoking ---- */

static void revoked(void *data, int rc, const struct db_result *r) {
  struct http_req *req = data;
  if (rc) {
    fields_db_error(req, rc, r, NULL);
    return;
  }
  authdb_forget_key(http_param(req, 0));
  http_reply(req, 204, "application/json", "", 0);
}

void api_keys_delete(struct http_req *req) {
  struct principal who;
  if (!auth_require(req, AUTH_ADMIN, &who))
    return;
  const char *id = http_param(req, 0);
  struct db_batch *b = db_batch_new();
  db_batch_add(b, NULL,
               "SELECT flowd_check(EXISTS (SELECT 1 FROM api_keys WHERE id = $1), 'Z0404', "
               "'no such API key')",
               1, &id);
  db_batch_add(b, NULL,
               "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1", 1,
               &id);
  audit_add(b, &who, "key.revoked", id, NULL);
  db_submit(req->srv->db, b, revoked, req);
}

/* ---- the audit log ---- */

/* A whole number in [lo, hi] from query parameter name into buf; NULL when absent; replies
 * 400 and sets *bad when malformed. */
static const char *int_param(struct http_req *req, const char *name, long lo, long hi,
                             char *buf, size_t len, int *bad) {
  const char *v = http_query_param(req, name, buf, len);
  if (!v)
    return NULL;
  char *end;
  long n = strtol(v, &end, 10);
  if (!*v || *end || n < lo || n > hi) {
    api_bad_field(req, "invalid_field", name, "\"%s\" must be a whole number from %ld to %ld",
                  name, lo, hi);
    *bad = 1;
  }
  return v;
}

void api_audit_list(struct http_req *req) {
  if (!auth_require(req, AUTH_ADMIN, NULL))
    return;
  char actor[128], action[128], target[128], before[32], limit[32];
  int bad = 0;
  const char *params[5] = {
      http_query_param(req, "actor", actor, sizeof actor),
      http_query_param(req, "action", action, sizeof action),
      http_query_param(req, "target", target, sizeof target),
      int_param(req, "before", 1, 0x7fffffffffffffffL, before, sizeof before, &bad),
      NULL};
  if (!bad)
    params[4] = int_param(req, "limit", 1, 1000, limit, sizeof limit, &bad);
  if (bad)
    return;
  db_query(req->srv->db, "audit_list",
           "WITH e AS (SELECT * FROM audit_log WHERE ($1::text IS NULL OR actor = $1) AND "
           "($2::text IS NULL OR action = $2) AND ($3::text IS NULL OR target = $3) AND "
           "($4::bigint IS NULL OR id < $4) ORDER BY id DESC LIMIT coalesce($5::int, 100)) "
           "SELECT json_build_object('entries', coalesce(json_agg(json_build_object('id', e.id, "
           "'at', e.at, 'actor', e.actor, 'action', e.action, 'target', e.target, 'details', "
           "e.details) ORDER BY e.id DESC), '[]'), 'next_before', min(e.id)) FROM e",
           5, params, list_done, req);
}
