/* api_deliveries: providers (CRUD with validation and masked secrets) and the deliveries list.
 *
 * Invariant: no reply of this file carries a provider secret: every provider config goes
 * through provider_masked and every delivery's request headers through
 * provider_mask_headers before it is sent. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "server/api_deliveries.h"
#include "server/api_util.h"
#include "server/auth.h"
#include "server/db.h"
#include "server/http.h"
#include "server/provider.h"
#include "server/server.h"

#define PROVIDER_JSON                                                                       \
  "json_build_object('id', p.id, 'type', p.type, 'config', p.config, 'created_at', "       \
  "p.created_at, 'updated_at', p.updated_at)"

#define LIST_DEFAULT 50
#define LIST_MAX 500

/* Replaces the config of a provider object with its masked copy. */
static void mask_provider(cJSON *p) {
  cJSON *masked = provider_masked(cJSON_GetObjectItemCaseSensitive(p, "config"));
  if (masked)
    cJSON_ReplaceItemInObjectCaseSensitive(p, "config", masked);
}

/* Replies with the provider of statement stmt, row 0 (404 when there is none). */
static void reply_provider(struct http_req *req, int status, const struct db_result *r,
                           int stmt) {
  cJSON *p = api_row_json(r, stmt, 0);
  if (!p) {
    http_error(req, 404, "not_found", "no such provider", NULL);
    return;
  }
  mask_provider(p);
  http_reply_json(req, status, p);
}

static void list_done(void *data, int rc, const struct db_result *r) {
  struct http_req *req = data;
  if (rc) {
    api_db_error(req, rc, r);
    return;
  }
  cJSON *list = api_row_json(r, 0, 0), *p;
  cJSON_ArrayForEach(p, list) { mask_provider(p); }
  cJSON *out = cJSON_CreateObject();
  cJSON_AddItemToObject(out, "providers", list ? list : cJSON_CreateArray());
  http_reply_json(req, 200, out);
}

void api_providers_list(struct http_req *req) {
  if (!auth_require(req, AUTH_MANAGER, NULL))
    return;
  db_query(req->srv->db, "providers_list",
           "SELECT coalesce(json_agg(" PROVIDER_JSON " ORDER BY p.id), '[]') FROM providers p",
           0, NULL, list_done, req);
}

static void get_done(void *data, int rc, const struct db_result *r) {
  struct http_req *req = data;
  if (rc)
    api_db_error(req, rc, r);
  else
    reply_provider(req, 200, r, 0);
}

void api_providers_get(struct http_req *req) {
  if (!auth_require(req, AUTH_MANAGER, NULL))
    return;
  const char *id = http_param(req, 0);
  db_query(req->srv->db, "providers_get",
           "SELECT " PROVIDER_JSON " FROM providers p WHERE p.id = $1", 1, &id, get_done, req);
}

/* Checks {id, type, config} (id from the path when path_id is set). Replies 400 naming the
 * field and returns 0 when something is wrong. */
static int check_provider(struct http_req *req, const cJSON *body, const char *path_id) {
  if (!cJSON_IsObject(body))
    return api_bad_field(req, "invalid_document", "", "the body must be a JSON object");
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(body, "id");
  if (path_id && id && !(cJSON_IsString(id) && strcmp(id->valuestring, path_id) == 0))
    return api_bad_field(req, "invalid_field", "id", "id must match the URL (%s)", path_id);
  if (!path_id && !provider_id_ok(cJSON_GetStringValue(id)))
    return api_bad_field(req, "invalid_field", "id",
                         "id is required: 1-64 letters, digits, '_', '.' or '-'");
  const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "type"));
  struct err_detail d = {{0}, {0}};
  if (provider_validate(type, cJSON_GetObjectItemCaseSensitive(body, "config"), &d) != 0)
    return api_bad_field(req, "invalid_field", d.path, "%s", d.msg);
  return 1;
}

/* Secrets are stored encrypted (provider_seal_secrets); replies mask them anyway. Replies
 * 500 and returns 0 when that cannot be done. */
static int seal(struct http_req *req, cJSON *body) {
  if (provider_seal_secrets(cJSON_GetObjectItemCaseSensitive(body, "config")) == 0)
    return 1;
  http_error(req, 500, "internal", "the provider's secrets could not be encrypted", NULL);
  return 0;
}

static void create_done(void *data, int rc, const struct db_result *r) {
  struct http_req *req = data;
  if (rc)
    api_db_error(req, rc, r);
  else if (api_rows(r, 0) == 0)
    http_error(req, 409, "exists", "a provider with this id already exists", NULL);
  else
    reply_provider(req, 201, r, 0);
}

void api_providers_create(struct http_req *req) {
  if (!auth_require(req, AUTH_ADMIN, NULL))
    return;
  cJSON *body = http_body_json(req);
  if (!body)
    return;
  if (check_provider(req, body, NULL) && seal(req, body)) {
    char *config = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(body, "config"));
    const char *p[3] = {cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "id")),
                        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "type")),
                        config};
    db_query(req->srv->db, "providers_insert",
             "INSERT INTO providers AS p (id, type, config) VALUES ($1, $2, $3::jsonb) "
             "ON CONFLICT (id) DO NOTHING RETURNING " PROVIDER_JSON,
             3, p, create_done, req);
    free(config);
  }
  cJSON_Delete(body);
}

static void update_done(void *data, int rc, const struct db_result *r) {
  struct http_req *req = data;
  if (rc)
    api_db_error(req, rc, r);
  else
    reply_provider(req, 200, r, 0);
}

/* The stored provider is loaded: keep the secrets sent back masked, validate, write. */
static void update_loaded(void *data, int rc, const struct db_result *r) {
  struct http_req *req = data;
  cJSON *body = req->user, *old = rc ? NULL : api_row_json(r, 0, 0);
  req->user = NULL;
  if (rc) {
    api_db_error(req, rc, r);
  } else if (!old) {
    http_error(req, 404, "not_found", "no such provider", NULL);
  } else {
    const cJSON *old_type = cJSON_GetObjectItemCaseSensitive(old, "type");
    if (!cJSON_GetObjectItemCaseSensitive(body, "type"))
      cJSON_AddItemToObject(body, "type", cJSON_Duplicate(old_type, 1));
    provider_keep_secrets(cJSON_GetObjectItemCaseSensitive(body, "config"),
                          cJSON_GetObjectItemCaseSensitive(old, "config"));
    const char *id = http_param(req, 0);
    if (check_provider(req, body, id) && seal(req, body)) {
      char *config = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(body, "config"));
      const char *p[3] = {id, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "type")),
                          config};
      db_query(req->srv->db, "providers_update",
               "UPDATE providers p SET type = $2, config = $3::jsonb, updated_at = now() "
               "WHERE p.id = $1 RETURNING " PROVIDER_JSON,
               3, p, update_done, req);
      free(config);
    }
  }
  cJSON_Delete(old);
  cJSON_Delete(body);
}

void api_providers_update(struct http_req *req) {
  if (!auth_require(req, AUTH_ADMIN, NULL))
    return;
  cJSON *body = http_body_json(req);
  if (!body)
    return;
  if (!cJSON_IsObject(body)) {
    api_bad_field(req, "invalid_document", "", "the body must be a JSON object");
    cJSON_Delete(body);
    return;
  }
  req->user = body;
  const char *id = http_param(req, 0);
  db_query(req->srv->db, "providers_get",
           "SELECT " PROVIDER_JSON " FROM providers p WHERE p.id = $1", 1, &id, update_loaded,
           req);
}

static void delete_done(void *data, int rc, const struct db_result *r) {
  struct http_req *req = data;
  if (rc)
    api_db_error(req, rc, r);
  else if (api_rows(r, 0) == 0)
    http_error(req, 404, "not_found", "no such provider", NULL);
  else
    http_reply(req, 204, "application/json", "", 0);
}

void api_providers_delete(struct http_req *req) {
  if (!auth_require(req, AUTH_ADMIN, NULL))
    return;
  const char *id = http_param(req, 0);
  db_query(req->srv->db, "providers_delete", "DELETE FROM providers WHERE id = $1 RETURNING id",
           1, &id, delete_done, req);
}

/* ---- deliveries ---- */

#define DELIVERY_JSON                                                                      \
  "json_build_object('id', d.id, 'run_id', d.run_id, 'step_id', d.step_id, 'node_id', "    \
  "d.node_id, 'channel', d.channel, 'provider', d.provider, 'to', d.\"to\", 'subject', "   \
  "d.subject, 'body', d.body, 'request', d.request, 'idempotency_key', d.idempotency_key, " \
  "'status', d.status, 'attempts', d.attempts, 'max_attempts', d.max_attempts, "          \
  "'next_attempt_at', d.next_attempt_at, 'response', d.response, 'error', d.error, "       \
  "'test', d.test, 'created_at', d.created_at, 'updated_at', d.updated_at)"

static void mask_delivery(cJSON *d) {
  cJSON *req = cJSON_GetObjectItemCaseSensitive(d, "request");
  provider_mask_headers(cJSON_GetObjectItemCaseSensitive(req, "headers"));
}

static void deliveries_done(void *data, int rc, const struct db_result *r) {
  struct http_req *req = data;
  if (rc) {
    api_db_error(req, rc, r);
    return;
  }
  cJSON *list = api_row_json(r, 0, 0), *d, *last = NULL;
  if (!list)
    list = cJSON_CreateArray();
  cJSON_ArrayForEach(d, list) {
    mask_delivery(d);
    last = d;
  }
  int limit = (int)(intptr_t)req->user;
  req->user = NULL;
  cJSON *out = cJSON_CreateObject();
  cJSON_AddItemToObject(out, "deliveries", list);
  if (last && cJSON_GetArraySize(list) == limit)
    cJSON_AddItemToObject(out, "next_before",
                          cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(last, "id"), 1));
  else
    cJSON_AddNullToObject(out, "next_before");
  http_reply_json(req, 200, out);
}

static int is_id(const char *s) {
  return s && *s && strlen(s) <= 18 && strspn(s, "0123456789") == strlen(s);
}

static int one_of(const char *s, const char *const *values) {
  for (; *values; values++)
    if (strcmp(s, *values) == 0)
      return 1;
  return 0;
}

/* Reads the list's query into p (run, status, channel, before, limit). Replies 400 and
 * returns 0 on bad input. */
static int list_query(struct http_req *req, char bufs[5][64], const char *p[5]) {
  static const char *const statuses[] = {"pending", "sending", "sent", "failed", "recorded",
                                         NULL};
  static const char *const channels[] = {"sms", "email", "robocall", "chat", "webhook", NULL};
  static const char *const names[] = {"run", "status", "channel", "before", "limit"};
  for (int i = 0; i < 5; i++)
    p[i] = http_query_param(req, names[i], bufs[i], 64);
  if (p[0] && !is_id(p[0]))
    return api_bad_field(req, "invalid_field", "run", "run must be a run id");
  if (p[1] && !one_of(p[1], statuses))
    return api_bad_field(req, "invalid_field", "status",
                         "status must be pending, sending, sent, failed or recorded");
  if (p[2] && !one_of(p[2], channels))
    return api_bad_field(req, "invalid_field", "channel",
                         "channel must be sms, email, robocall, chat or webhook");
  if (p[3] && !is_id(p[3]))
    return api_bad_field(req, "invalid_field", "before", "before must be a delivery id");
  long limit = p[4] ? strtol(p[4], NULL, 10) : LIST_DEFAULT;
  if (p[4] && (!is_id(p[4]) || limit < 1 || limit > LIST_MAX))
    return api_bad_field(req, "invalid_field", "limit", "limit must be from 1 to %d",
                         LIST_MAX);
  snprintf(bufs[4], 64, "%ld", limit);
  p[4] = bufs[4];
  return 1;
}

void api_deliveries_list(struct http_req *req) {
  if (!auth_require(req, AUTH_MANAGER, NULL))
    return;
  char bufs[5][64];
  const char *p[5];
  if (!list_query(req, bufs, p))
    return;
  req->user = (void *)(intptr_t)atoi(p[4]);
  /* Unnamed: planned with the actual filters each time, so each uses its index. */
  db_query(req->srv->db, NULL,
           "SELECT coalesce(json_agg(x.j ORDER BY x.id DESC), '[]') FROM (SELECT d.id, "
           DELIVERY_JSON " AS j FROM deliveries d WHERE ($1::bigint IS NULL OR d.run_id = $1) "
           "AND ($2::text IS NULL OR d.status = $2) AND ($3::text IS NULL OR d.channel = $3) "
           "AND ($4::bigint IS NULL OR d.id < $4) ORDER BY d.id DESC LIMIT $5::int) x",
           5, p, deliveries_done, req);
}

static void delivery_done(void *data, int rc, const struct db_result *r) {
  struct http_req *req = data;
  if (rc) {
    api_db_error(req, rc, r);
    return;
  }
  cJSON *d = api_row_json(r, 0, 0);
  if (!d) {
    http_error(req, 404, "not_found", "no such delivery", NULL);
    return;
  }
  mask_delivery(d);
  http_reply_json(req, 200, d);
}

void api_deliveries_get(struct http_req *req) {
  if (!auth_require(req, AUTH_MANAGER, NULL))
    return;
  const char *id = http_param(req, 0);
  if (!is_id(id)) {
    http_error(req, 404, "not_found", "no such delivery", NULL);
    return;
  }
  db_query(req->srv->db, "deliveries_get",
           "SELECT " DELIVERY_JSON " FROM deliveries d WHERE d.id = $1::bigint", 1, &id,
           delivery_done, req);
}
