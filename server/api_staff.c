/* api_staff: the staff directory: list, create, read, update, delete (SPEC §2).
 *
 * A password is hashed (Argon2id, off the loop) before anything is written and is never
 * returned: responses say only "has_password". Team membership lives in team_members and is
 * written in the same transaction as the rest, so staff.teams and teams.members always agree.
 * Each write is one batch: checks (flowd_check), the change, its audit entry, the new row. */
#include <ctype.h>
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
#include "server/pwhash.h"
#include "server/server.h"
#include "server/staffcache.h"

#define SELECT_STAFF "SELECT " STAFF_JSON " FROM staff s WHERE s.id = $1"
#define JSON_TEXT_ARRAY(n) "ARRAY(SELECT jsonb_array_elements_text($" #n "::jsonb))"

static const char *const WRITABLE[] = {"id", "name", "email", "phone", "roles", "teams",
                                       "pages", "attrs", "access", "password", NULL};
static const char *const READ_ONLY[] = {"has_password", "online", "created_at", "updated_at",
                                        NULL};
/* What a staff member may change about themselves. */
static const char *const SELF[] = {"id", "name", "phone", "password", NULL};

struct staff_op {
  struct http_req *req;
  struct principal who;
  cJSON *body;
  char id[FIELDS_ID_MAX + 1];
  char *hash; /* the new password's hash, or NULL */
  void (*write)(struct staff_op *op);
};

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItem(o, k); }

static void op_free(struct staff_op *op) {
  cJSON_Delete(op->body);
  free(op->hash);
  free(op);
}

/* ---- reading ---- */

static void reply_row(void *data, int rc, const struct db_result *r) {
  api_reply_row(data, rc, r, 0, "staff member");
}

void api_staff_list(struct http_req *req) {
  struct principal who;
  if (!auth_require(req, AUTH_STAFF, &who))
    return;
  if (who.role == AUTH_STAFF)
    db_query(req->srv->db, "staff_list_public",
             "SELECT json_build_object('staff', coalesce(json_agg(" STAFF_PUBLIC_JSON
             " ORDER BY s.name, s.id), '[]')) FROM staff s",
             0, NULL, reply_row, req);
  else
    db_query(req->srv->db, "staff_list",
             "SELECT json_build_object('staff', coalesce(json_agg(" STAFF_JSON
             " ORDER BY s.name, s.id), '[]')) FROM staff s",
             0, NULL, reply_row, req);
}

void api_staff_get(struct http_req *req) {
  struct principal who;
  if (!auth_require(req, AUTH_STAFF, &who))
    return;
  const char *id = http_param(req, 0);
  if (who.role == AUTH_STAFF && strcmp(who.staff_id, id) != 0) {
    http_error(req, 403, "forbidden", "staff members may read only their own record", NULL);
    return;
  }
  db_query(req->srv->db, "staff_get", SELECT_STAFF, 1, &id, reply_row, req);
}

/* ---- checking a body ---- */

static int check_access(struct http_req *req, const cJSON *v) {
  const char *s = cJSON_GetStringValue(v);
  if (!s || (strcmp(s, "admin") && strcmp(s, "manager") && strcmp(s, "staff")))
    return api_bad_field(req, "invalid_field", "access",
                         "\"access\" must be \"admin\", \"manager\" or \"staff\"");
  return 1;
}

static int check_password(struct http_req *req, const cJSON *v) {
  if (cJSON_IsNull(v))
    return 1;
  const char *s = cJSON_GetStringValue(v);
  if (!s || strlen(s) < PWHASH_MIN_LEN || strlen(s) > PWHASH_MAX_LEN)
    return api_bad_field(req, "invalid_field", "password",
                         "\"password\" must be a string of %d to %d bytes, or null (no login)",
                         PWHASH_MIN_LEN, PWHASH_MAX_LEN);
  return 1;
}

/* path_id: the id in the URL (updates), or NULL (creation). */
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
  return (!(v = get(b, "name")) || fields_text(req, v, "name", FIELDS_TEXT_MAX, 0)) &&
         (!(v = get(b, "email")) || fields_email(req, v, "email")) &&
         (!(v = get(b, "phone")) || fields_text(req, v, "phone", FIELDS_TEXT_MAX, 1)) &&
         (!(v = get(b, "roles")) || fields_text_list(req, v, "roles", 0)) &&
         (!(v = get(b, "pages")) || fields_text_list(req, v, "pages", 0)) &&
         (!(v = get(b, "teams")) || fields_text_list(req, v, "teams", 1)) &&
         (!(v = get(b, "attrs")) || fields_object(req, v, "attrs")) &&
         (!(v = get(b, "access")) || check_access(req, v)) &&
         (!(v = get(b, "password")) || check_password(req, v));
}

static int forbid(struct http_req *req, const char *field, const char *msg) {
  cJSON *d = NULL;
  if (field) {
    d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "field", field);
  }
  http_error(req, 403, "forbidden", msg, d);
  return 0;
}

static int listed(const char *name, const char *const *list) {
  for (int i = 0; list[i]; i++)
    if (strcmp(list[i], name) == 0)
      return 1;
  return 0;
}

/* Whether who may make this change; the target's own access is checked in SQL. */
static int may_write(struct http_req *req, const struct principal *who, const cJSON *b,
                     const char *target) {
  if (who->role == AUTH_ADMIN)
    return 1;
  if (target && who->staff_id[0] && strcmp(who->staff_id, target) == 0) {
    for (const cJSON *m = b->child; m; m = m->next)
      if (!listed(m->string, SELF) && !listed(m->string, READ_ONLY))
        return forbid(req, m->string, "you may change only your own name, phone and password");
    return 1;
  }
  if (who->role < AUTH_MANAGER)
    return forbid(req, NULL, "staff members may change only their own record");
  const char *access = cJSON_GetStringValue(get(b, "access"));
  if (access && strcmp(access, "staff") != 0)
    return forbid(req, "access", "only an admin may give manager or admin access");
  return 1;
}

/* ---- writing ---- */

static void lower(char *s) {
  for (; *s; s++)
    *s = (char)tolower((unsigned char)*s);
}

/* The names of the fields a write changed, for the audit log (never their values). */
static cJSON *changed_fields(const cJSON *b) {
  cJSON *d = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(d, "fields");
  for (const cJSON *m = b->child; m; m = m->next)
    for (int i = 0; WRITABLE[i]; i++)
      if (strcmp(WRITABLE[i], m->string) == 0)
        cJSON_AddItemToArray(list, cJSON_CreateString(m->string));
  return d;
}

static void write_done(void *data, int rc, const struct db_result *r) {
  struct staff_op *op = data;
  if (rc) {
    struct fields_ref ref = {get(op->body, "teams"), "teams", NULL};
    fields_db_error(op->req, rc, r, &ref);
  } else {
    staffcache_clear(); /* before the reply: the next run of this process sees the change */
    /* Sessions whose password or role just changed are looked up afresh here at once;
     * other processes hear of it through the flowd_auth NOTIFY. */
    if (get(op->body, "password") || get(op->body, "access"))
      authdb_forget_staff(op->id, NULL);
    const char *t = api_row_text(r, r->n - 1, 0);
    api_reply_text_json(op->req, op->req->method == HTTP_POST ? 201 : 200, t ? t : "{}");
  }
  op_free(op);
}

/* Membership: keep the teams listed, join the new ones (at the end of each team). */
static void add_teams(struct db_batch *b, const char *id, const cJSON *teams) {
  char *json = fields_json(teams, "[]");
  const char *params[2] = {id, json};
  db_batch_add(b, NULL,
               "DELETE FROM team_members WHERE staff_id = $1 AND team_id NOT IN "
               "(SELECT jsonb_array_elements_text($2::jsonb))",
               2, params);
  db_batch_add(b, NULL,
               "INSERT INTO team_members (team_id, staff_id, position) "
               "SELECT t, $1, coalesce((SELECT max(position) FROM team_members m "
               "WHERE m.team_id = t), 0) + 1 FROM jsonb_array_elements_text($2::jsonb) t "
               "ON CONFLICT (team_id, staff_id) DO NOTHING",
               2, params);
  free(json);
}

static void write_create(struct staff_op *op) {
  const cJSON *b = op->body;
  char *email = cJSON_IsString(get(b, "email")) ? strdup(get(b, "email")->valuestring) : NULL;
  if (email)
    lower(email);
  char *roles = fields_json(get(b, "roles"), "[]"), *pages = fields_json(get(b, "pages"), "[]");
  char *attrs = fields_json(get(b, "attrs"), "{}");
  const char *access = cJSON_GetStringValue(get(b, "access"));
  const char *params[9] = {op->id, cJSON_GetStringValue(get(b, "name")), email,
                           cJSON_GetStringValue(get(b, "phone")), roles, pages, attrs,
                           access ? access : "staff", op->hash};
  struct db_batch *batch = db_batch_new();
  db_batch_add(batch, NULL,
               "INSERT INTO staff (id, name, email, phone, roles, pages, attrs, access_role, "
               "password_hash) VALUES ($1, $2, $3, $4, " JSON_TEXT_ARRAY(5) ", "
               JSON_TEXT_ARRAY(6) ", $7::jsonb, $8, $9)",
               9, params);
  db_batch_add(batch, NULL,
               "INSERT INTO staff_presence (staff_id) VALUES ($1)", 1, params);
  if (get(b, "teams"))
    add_teams(batch, op->id, get(b, "teams"));
  cJSON *d = changed_fields(b);
  audit_add(batch, &op->who, "staff.created", op->id, d);
  cJSON_Delete(d);
  db_batch_add(batch, NULL, SELECT_STAFF, 1, params);
  db_submit(op->req->srv->db, batch, write_done, op);
  free(email);
  free(roles);
  free(pages);
  free(attrs);
}

static void hashed(void *data, const char *hash) {
  struct staff_op *op = data;
  if (!hash || !(op->hash = strdup(hash))) {
    http_error(op->req, 500, "internal", "could not hash the password", NULL);
    op_free(op);
    return;
  }
  op->write(op);
}

/* Hashes the password first when the body sets one; then op->write. */
static void start(struct staff_op *op) {
  const char *pw = cJSON_GetStringValue(get(op->body, "password"));
  if (!pw) {
    op->write(op);
    return;
  }
  if (pwhash_hash(op->req->srv->loop, pw, hashed, op) != 0) {
    http_error(op->req, 500, "internal", "out of memory", NULL);
    op_free(op);
  }
}

static struct staff_op *op_new(struct http_req *req, const struct principal *who, cJSON *body,
                               void (*write)(struct staff_op *)) {
  struct staff_op *op = calloc(1, sizeof *op);
  if (!op) {
    http_error(req, 500, "internal", "out of memory", NULL);
    cJSON_Delete(body);
    return NULL;
  }
  op->req = req;
  op->who = *who;
  op->body = body;
  op->write = write;
  return op;
}

void api_staff_create(struct http_req *req) {
  struct principal who;
  if (!auth_require(req, AUTH_MANAGER, &who))
    return;
  cJSON *body = http_body_json(req);
  if (!body)
    return;
  if (!check_body(req, body, NULL) || !may_write(req, &who, body, NULL)) {
    cJSON_Delete(body);
    return;
  }
  struct staff_op *op = op_new(req, &who, body, write_create);
  if (!op)
    return;
  const char *id = cJSON_GetStringValue(get(body, "id"));
  if (id)
    snprintf(op->id, sizeof op->id, "%s", id);
  else
    fields_new_id("s_", op->id, sizeof op->id);
  start(op);
}

/* ---- updating and deleting ---- */

#define CHECK_EXISTS                                                                      \
  "SELECT flowd_check(EXISTS (SELECT 1 FROM staff WHERE id = $1), 'Z0404', "              \
  "'no such staff member')"
/* Managers may change only members whose access is "staff" (themselves: see may_write). */
#define CHECK_STAFF_LEVEL                                                                 \
  "SELECT flowd_check((SELECT access_role = 'staff' FROM staff WHERE id = $1), 'Z0403', "  \
  "'only an admin may change a manager or an admin')"

/* The UPDATE of the columns a PATCH sets; $1 is the id. */
struct upd {
  char sql[1024];
  size_t len;
  const char *params[10];
  char *owned[10];
  int n;
};

static void upd_set(struct upd *u, const char *col_fmt, const char *value, char *owned) {
  u->params[u->n] = value;
  u->owned[u->n] = owned;
  u->n++;
  u->len += snprintf(u->sql + u->len, sizeof u->sql - u->len, ", ");
  u->len += snprintf(u->sql + u->len, sizeof u->sql - u->len, col_fmt, u->n);
}

static void upd_build(struct upd *u, const struct staff_op *op) {
  const cJSON *b = op->body, *v;
  memset(u, 0, sizeof *u);
  u->len = snprintf(u->sql, sizeof u->sql, "UPDATE staff SET updated_at = now()");
  u->params[u->n++] = op->id;
  if ((v = get(b, "name")))
    upd_set(u, "name = $%d", v->valuestring, NULL);
  if ((v = get(b, "email"))) {
    char *email = cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
    if (email)
      lower(email);
    upd_set(u, "email = $%d", email, email);
  }
  if ((v = get(b, "phone")))
    upd_set(u, "phone = $%d", cJSON_GetStringValue(v), NULL);
  char *j;
  if ((v = get(b, "roles")) && (j = cJSON_PrintUnformatted(v)))
    upd_set(u, "roles = ARRAY(SELECT jsonb_array_elements_text($%d::jsonb))", j, j);
  if ((v = get(b, "pages")) && (j = cJSON_PrintUnformatted(v)))
    upd_set(u, "pages = ARRAY(SELECT jsonb_array_elements_text($%d::jsonb))", j, j);
  if ((v = get(b, "attrs")) && (j = cJSON_PrintUnformatted(v)))
    upd_set(u, "attrs = $%d::jsonb", j, j);
  if ((v = get(b, "access")))
    upd_set(u, "access_role = $%d", v->valuestring, NULL);
  if (get(b, "password"))
    upd_set(u, "password_hash = $%d", op->hash, NULL);
  snprintf(u->sql + u->len, sizeof u->sql - u->len, " WHERE id = $1");
}

static void write_update(struct staff_op *op) {
  const char *params[2] = {op->id, NULL};
  int self = op->who.staff_id[0] && strcmp(op->who.staff_id, op->id) == 0;
  struct db_batch *b = db_batch_new();
  db_batch_add(b, NULL, CHECK_EXISTS, 1, params);
  if (op->who.role != AUTH_ADMIN && !self)
    db_batch_add(b, NULL, CHECK_STAFF_LEVEL, 1, params);
  struct upd u;
  upd_build(&u, op);
  db_batch_add(b, NULL, u.sql, u.n, u.params);
  for (int i = 0; i < u.n; i++)
    free(u.owned[i]);
  if (get(op->body, "teams"))
    add_teams(b, op->id, get(op->body, "teams"));
  /* A new password ends every other session of the member (keeping the caller's own). */
  if (get(op->body, "password")) {
    params[1] = self && op->who.kind == AUTH_KIND_SESSION ? op->who.cred_hash : NULL;
    db_batch_add(b, NULL,
                 "DELETE FROM sessions WHERE staff_id = $1 AND token_hash IS DISTINCT FROM $2",
                 2, params);
  }
  cJSON *d = changed_fields(op->body);
  audit_add(b, &op->who, "staff.updated", op->id, d);
  cJSON_Delete(d);
  db_batch_add(b, NULL, SELECT_STAFF, 1, params);
  db_submit(op->req->srv->db, b, write_done, op);
}

void api_staff_update(struct http_req *req) {
  struct principal who;
  if (!auth_require(req, AUTH_STAFF, &who))
    return;
  cJSON *body = http_body_json(req);
  if (!body)
    return;
  const char *id = http_param(req, 0);
  if (!check_body(req, body, id) || !may_write(req, &who, body, id)) {
    cJSON_Delete(body);
    return;
  }
  struct staff_op *op = op_new(req, &who, body, write_update);
  if (!op)
    return;
  snprintf(op->id, sizeof op->id, "%s", id);
  start(op);
}

static void delete_done(void *data, int rc, const struct db_result *r) {
  struct http_req *req = data;
  if (rc) {
    fields_db_error(req, rc, r, NULL);
    return;
  }
  staffcache_clear();
  authdb_forget_staff(http_param(req, 0), NULL);
  http_reply(req, 204, "application/json", "", 0);
}

void api_staff_delete(struct http_req *req) {
  struct principal who;
  if (!auth_require(req, AUTH_MANAGER, &who))
    return;
  const char *id = http_param(req, 0);
  struct db_batch *b = db_batch_new();
  db_batch_add(b, NULL, CHECK_EXISTS, 1, &id);
  if (who.role != AUTH_ADMIN)
    db_batch_add(b, NULL, CHECK_STAFF_LEVEL, 1, &id);
  db_batch_add(b, NULL, "DELETE FROM staff WHERE id = $1", 1, &id);
  audit_add(b, &who, "staff.deleted", id, NULL);
  db_submit(req->srv->db, b, delete_done, req);
}
