/* api_teams: sales teams: list, create, read, update, delete (SPEC §2).
 *
 * A team's domain and each member's domain are Odoo domain lists that must compile (a 400
 * names the field and the path inside it). Members live in team_members, the same rows
 * GET /api/staff shows as each member's teams; a write replaces them in one transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "server/api_people.h"
#include "server/api_util.h"
#include "server/audit.h"
#include "server/auth.h"
#include "server/db.h"
#include "server/fields.h"
#include "server/http.h"
#include "server/server.h"

#define TEAM_JSON                                                                          \
  "json_build_object('id', t.id, 'name', t.name, 'domain', t.domain, 'members', "          \
  "(SELECT coalesce(json_agg(json_build_object('staff', m.staff_id, 'domain', m.domain, "  \
  "'max_per_day', m.max_per_day) ORDER BY m.position), '[]') FROM team_members m "         \
  "WHERE m.team_id = t.id), 'created_at', t.created_at, 'updated_at', t.updated_at)"
#define SELECT_TEAM "SELECT " TEAM_JSON " FROM teams t WHERE t.id = $1"

static const char *const WRITABLE[] = {"id", "name", "domain", "members", NULL};
static const char *const READ_ONLY[] = {"created_at", "updated_at", NULL};
static const char *const MEMBER_FIELDS[] = {"staff", "domain", "max_per_day", NULL};

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItem(o, k); }

/* ---- reading ---- */

static void reply_row(void *data, int rc, const struct db_result *r) {
  api_reply_row(data, rc, r, 0, "team");
}

void api_teams_list(struct http_req *req) {
  if (!auth_require(req, AUTH_STAFF, NULL))
    return;
  db_query(req->srv->db, "teams_list",
           "SELECT json_build_object('teams', coalesce(json_agg(" TEAM_JSON
           " ORDER BY t.name, t.id), '[]')) FROM teams t",
           0, NULL, reply_row, req);
}

void api_teams_get(struct http_req *req) {
  if (!auth_require(req, AUTH_STAFF, NULL))
    return;
  const char *id = http_param(req, 0);
  db_query(req->srv->db, "teams_get", SELECT_TEAM, 1, &id, reply_row, req);
}

/* ---- checking a body ---- */

static int check_member(struct http_req *req, const cJSON *m, int i, const cJSON *all) {
  char at[64], f[96];
  snprintf(at, sizeof at, "members/%d", i);
  if (!cJSON_IsObject(m))
    return api_bad_field(req, "invalid_field", at, "\"%s\" must be an object {staff, domain, "
                         "max_per_day}", at);
  for (const cJSON *k = m->child; k; k = k->next) {
    int known = 0;
    for (int j = 0; MEMBER_FIELDS[j]; j++)
      known |= strcmp(MEMBER_FIELDS[j], k->string) == 0;
    snprintf(f, sizeof f, "%s/%s", at, k->string);
    if (!known)
      return api_bad_field(req, "unknown_field", f, "unknown field \"%s\"", f);
  }
  const cJSON *v;
  snprintf(f, sizeof f, "%s/staff", at);
  if (!fields_id(req, get(m, "staff"), f))
    return 0;
  for (const cJSON *o = all->child; o != m; o = o->next)
    if (strcmp(get(o, "staff")->valuestring, get(m, "staff")->valuestring) == 0)
      return api_bad_field(req, "duplicate", f, "\"%s\" is a member twice",
                           get(m, "staff")->valuestring);
  snprintf(f, sizeof f, "%s/domain", at);
  if ((v = get(m, "domain")) && !cJSON_IsNull(v) && !fields_domain(req, v, f))
    return 0;
  snprintf(f, sizeof f, "%s/max_per_day", at);
  v = get(m, "max_per_day");
  if (v && !cJSON_IsNull(v) &&
      (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e6 ||
       v->valuedouble != (int)v->valuedouble))
    return api_bad_field(req, "invalid_field", f, "\"%s\" must be a whole number from 0, or "
                         "null (no limit)", f);
  return 1;
}

static int check_body(struct http_req *req, const cJSON *b, const char *path_id) {
  if (!fields_only(req, b, WRITABLE, READ_ONLY))
    return 0;
  const cJSON *v;
  if ((v = get(b, "id")) && !fields_id(req, v, "id"))
    return 0;
  if (v && path_id && strcmp(v->valuestring, path_id) != 0)
    return api_bad_field(req, "invalid_field", "id", "\"id\" cannot change");
  if (!path_id && !get(b, "name"))
    return api_bad_field(req, "missing_field", "name", "\"name\" is required");
  if ((v = get(b, "name")) && !fields_text(req, v, "name", FIELDS_TEXT_MAX, 0))
    return 0;
  if ((v = get(b, "domain")) && !cJSON_IsNull(v) && !fields_domain(req, v, "domain"))
    return 0;
  if (!(v = get(b, "members")))
    return 1;
  if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > FIELDS_LIST_MAX)
    return api_bad_field(req, "invalid_field", "members", "\"members\" must be an array of at "
                         "most %d members", FIELDS_LIST_MAX);
  int i = 0;
  for (const cJSON *m = v->child; m; m = m->next, i++)
    if (!check_member(req, m, i, v))
      return 0;
  return 1;
}

/* ---- writing ---- */

struct team_op {
  struct http_req *req;
  cJSON *body;
};

static void write_done(void *data, int rc, const struct db_result *r) {
  struct team_op *op = data;
  if (rc) {
    struct fields_ref ref = {get(op->body, "members"), "members", "staff"};
    fields_db_error(op->req, rc, r, &ref);
  } else {
    const char *t = api_row_text(r, r->n - 1, 0);
    api_reply_text_json(op->req, op->req->method == HTTP_POST ? 201 : 200, t ? t : "{}");
  }
  cJSON_Delete(op->body);
  free(op);
}

/* Replaces the members of team id with the body's list, in its order. */
static void put_members(struct db_batch *b, const char *id, const cJSON *members) {
  char *json = cJSON_PrintUnformatted(members);
  const char *params[2] = {id, json};
  db_batch_add(b, NULL, "DELETE FROM team_members WHERE team_id = $1", 1,
               params);
  db_batch_add(b, NULL,
               "INSERT INTO team_members (team_id, staff_id, position, domain, max_per_day) "
               "SELECT $1, m->>'staff', o, CASE WHEN jsonb_typeof(m->'domain') = 'array' "
               "THEN m->'domain' END, (m->>'max_per_day')::int "
               "FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS x(m, o)",
               2, params);
  free(json);
}

static cJSON *changed_fields(const cJSON *b) {
  cJSON *d = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(d, "fields");
  for (const cJSON *m = b->child; m; m = m->next)
    if (strcmp(m->string, "created_at") && strcmp(m->string, "updated_at"))
      cJSON_AddItemToArray(list, cJSON_CreateString(m->string));
  return d;
}

/* Checks the body and sets up the operation; NULL when it replied already. */
static struct team_op *begin(struct http_req *req, const char *path_id) {
  cJSON *body = http_body_json(req);
  if (!body)
    return NULL;
  struct team_op *op = NULL;
  if (check_body(req, body, path_id) && !(op = calloc(1, sizeof *op)))
    http_error(req, 500, "internal", "out of memory", NULL);
  if (!op) {
    cJSON_Delete(body);
    return NULL;
  }
  op->req = req;
  op->body = body;
  return op;
}

void api_teams_create(struct http_req *req) {
  struct principal who;
  if (!auth_require(req, AUTH_MANAGER, &who))
    return;
  struct team_op *op = begin(req, NULL);
  if (!op)
    return;
  char id[FIELDS_ID_MAX + 1];
  const char *given = cJSON_GetStringValue(get(op->body, "id"));
  if (given)
    snprintf(id, sizeof id, "%s", given);
  else
    fields_new_id("t_", id, sizeof id);
  const cJSON *dom = get(op->body, "domain");
  char *domain = dom && !cJSON_IsNull(dom) ? cJSON_PrintUnformatted(dom) : strdup("[]");
  const char *params[3] = {id, cJSON_GetStringValue(get(op->body, "name")), domain};
  struct db_batch *b = db_batch_new();
  db_batch_add(b, NULL, "INSERT INTO teams (id, name, domain) VALUES ($1, $2, $3::jsonb)",
               3, params);
  if (get(op->body, "members"))
    put_members(b, id, get(op->body, "members"));
  cJSON *d = changed_fields(op->body);
  audit_add(b, &who, "team.created", id, d);
  cJSON_Delete(d);
  db_batch_add(b, NULL, SELECT_TEAM, 1, params);
  db_submit(req->srv->db, b, write_done, op);
  free(domain);
}

#define TEAM_EXISTS                                                                        \
  "SELECT flowd_check(EXISTS (SELECT 1 FROM teams WHERE id = $1), 'Z0404', 'no such team')"

void api_teams_update(struct http_req *req) {
  struct principal who;
  if (!auth_require(req, AUTH_MANAGER, &who))
    return;
  const char *id = http_param(req, 0);
  struct team_op *op = begin(req, id);
  if (!op)
    return;
  const cJSON *dom = get(op->body, "domain");
  char *domain = !dom ? NULL : cJSON_IsNull(dom) ? strdup("[]") : cJSON_PrintUnformatted(dom);
  const char *params[3] = {id, cJSON_GetStringValue(get(op->body, "name")), domain};
  struct db_batch *b = db_batch_new();
  db_batch_add(b, NULL, TEAM_EXISTS, 1, params);
  db_batch_add(b, NULL,
               "UPDATE teams SET name = coalesce($2, name), domain = coalesce($3::jsonb, "
               "domain), updated_at = now() WHERE id = $1",
               3, params);
  if (get(op->body, "members"))
    put_members(b, id, get(op->body, "members"));
  cJSON *d = changed_fields(op->body);
  audit_add(b, &who, "team.updated", id, d);
  cJSON_Delete(d);
  db_batch_add(b, NULL, SELECT_TEAM, 1, params);
  db_submit(req->srv->db, b, write_done, op);
  free(domain);
}

static void delete_done(void *data, int rc, const struct db_result *r) {
  struct http_req *req = data;
  if (rc)
    fields_db_error(req, rc, r, NULL);
  else
    http_reply(req, 204, "application/json", "", 0);
}

void api_teams_delete(struct http_req *req) {
  struct principal who;
  if (!auth_require(req, AUTH_MANAGER, &who))
    return;
  const char *id = http_param(req, 0);
  struct db_batch *b = db_batch_new();
  db_batch_add(b, NULL, TEAM_EXISTS, 1, &id);
  db_batch_add(b, NULL, "DELETE FROM teams WHERE id = $1", 1, &id);
  audit_add(b, &who, "team.deleted", id, NULL);
  db_submit(req->srv->db, b, delete_done, req);
}
