/* fields: request-body checks with 400s that name the field, and database failures of the
 * people and access API mapped to the status a client can act on. */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/cond.h"
#include "graph/err.h"
#include "server/api_util.h"
#include "server/db.h"
#include "server/fields.h"
#include "server/http.h"

static int listed(const char *name, const char *const *list) {
  for (int i = 0; list && list[i]; i++)
    if (strcmp(name, list[i]) == 0)
      return 1;
  return 0;
}

int fields_only(struct http_req *req, const cJSON *body, const char *const *allowed,
                const char *const *ignored) {
  if (!cJSON_IsObject(body))
    return api_bad_field(req, "invalid_body", "", "the body must be a JSON object");
  if (api_json_depth(body) > 32)
    return api_bad_field(req, "too_deep", "", "the body is nested deeper than 32 levels");
  for (const cJSON *m = body->child; m; m = m->next)
    if (!listed(m->string, allowed) && !listed(m->string, ignored))
      return api_bad_field(req, "unknown_field", m->string, "unknown field \"%s\"", m->string);
  return 1;
}

int fields_id(struct http_req *req, const cJSON *v, const char *field) {
  const char *s = cJSON_GetStringValue(v);
  size_t n = s ? strlen(s) : 0;
  int ok = n > 0 && n <= FIELDS_ID_MAX;
  for (size_t i = 0; ok && i < n; i++)
    ok = isalnum((unsigned char)s[i]) || strchr("_-.:", s[i]);
  if (!ok)
    return api_bad_field(req, "invalid_field", field,
                         "\"%s\" must be an id: 1 to %d letters, digits, \"_\", \"-\", \".\" "
                         "or \":\"", field, FIELDS_ID_MAX);
  return 1;
}

int fields_text(struct http_req *req, const cJSON *v, const char *field, size_t max,
                int nullable) {
  if (nullable && cJSON_IsNull(v))
    return 1;
  const char *s = cJSON_GetStringValue(v);
  if (!s || !*s || strlen(s) > max)
    return api_bad_field(req, "invalid_field", field, "\"%s\" must be a string of 1 to %zu "
                         "bytes%s", field, max, nullable ? ", or null" : "");
  return 1;
}

int fields_email(struct http_req *req, const cJSON *v, const char *field) {
  if (cJSON_IsNull(v))
    return 1;
  const char *s = cJSON_GetStringValue(v);
  const char *at = s ? strchr(s, '@') : NULL;
  if (!s || !at || at == s || !at[1] || strchr(at + 1, '@') || strpbrk(s, " \t\r\n") ||
      strlen(s) > FIELDS_TEXT_MAX)
    return api_bad_field(req, "invalid_field", field,
                         "\"%s\" must be an e-mail address (name@domain), or null", field);
  return 1;
}

int fields_text_list(struct http_req *req, const cJSON *v, const char *field, int ids) {
  if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > FIELDS_LIST_MAX)
    return api_bad_field(req, "invalid_field", field, "\"%s\" must be an array of at most %d "
                         "strings", field, FIELDS_LIST_MAX);
  int i = 0;
  char at[160];
  for (const cJSON *e = v->child; e; e = e->next, i++) {
    snprintf(at, sizeof at, "%s/%d", field, i);
    if (ids ? !fields_id(req, e, at) : !fields_text(req, e, at, FIELDS_TEXT_MAX, 0))
      return 0;
    for (const cJSON *p = v->child; p != e; p = p->next)
      if (strcmp(p->valuestring, e->valuestring) == 0)
        return api_bad_field(req, "duplicate", at, "\"%s\" is listed twice", e->valuestring);
  }
  return 1;
}

int fields_object(struct http_req *req, const cJSON *v, const char *field) {
  if (!cJSON_IsObject(v))
    return api_bad_field(req, "invalid_field", field, "\"%s\" must be an object", field);
  return 1;
}

int fields_bool(struct http_req *req, const cJSON *v, const char *field) {
  if (!cJSON_IsBool(v))
    return api_bad_field(req, "invalid_field", field, "\"%s\" must be true or false", field);
  return 1;
}

int fields_domain(struct http_req *req, const cJSON *v, const char *field) {
  if (!cJSON_IsArray(v))
    return api_bad_field(req, "invalid_domain", field, "\"%s\" must be a domain list, e.g. "
                         "[[\"country\", \"in\", [\"US\", \"CA\"]]]", field);
  cJSON *doc = cJSON_CreateObject();
  cJSON_AddItemReferenceToObject(doc, "domain", (cJSON *)v);
  struct cond *c = NULL;
  struct err_detail d = {{0}, {0}};
  int rc = cond_compile(doc, &c, &d);
  cJSON_Delete(doc);
  cond_free(c);
  if (rc == 0)
    return 1;
  /* d.path is relative to {"domain": ...}; the client wants it relative to the list. */
  const char *path = strncmp(d.path, "/domain", 7) == 0 ? d.path + 7 : d.path;
  cJSON *det = cJSON_CreateObject();
  cJSON_AddStringToObject(det, "field", field);
  cJSON_AddStringToObject(det, "path", path);
  char msg[1200];
  snprintf(msg, sizeof msg, "\"%.100s\" is not a valid domain at \"%.255s\": %.511s", field, path,
           d.msg);
  http_error(req, 400, "invalid_domain", msg, det);
  return 0;
}

void fields_new_id(const char *prefix, char *buf, size_t len) {
  unsigned char raw[6];
  char hex[13];
  randombytes_buf(raw, sizeof raw);
  sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
  snprintf(buf, len, "%s%s", prefix, hex);
}

char *fields_json(const cJSON *v, const char *fallback) {
  return v ? cJSON_PrintUnformatted(v) : strdup(fallback);
}

/* ---- database failures ---- */

/* The first line of a libpq error message, without "ERROR:  ". */
static void primary(const char *err, char *buf, size_t len) {
  const char *s = err ? err : "";
  if (strncmp(s, "ERROR:  ", 8) == 0)
    s += 8;
  snprintf(buf, len, "%.*s", (int)strcspn(s, "\n"), s);
}

/* The value in "Key (col)=(value)" of the DETAIL line. */
static void key_value(const char *err, char *buf, size_t len) {
  const char *k = err ? strstr(err, ")=(") : NULL;
  buf[0] = '\0';
  if (!k)
    return;
  k += 3;
  const char *end = strstr(k, ") ");
  snprintf(buf, len, "%.*s", end ? (int)(end - k) : 0, k);
}

/* ref's list item holding value, as a field path; ref->field when none does. */
static void ref_path(const struct fields_ref *ref, const char *value, char *buf, size_t len) {
  snprintf(buf, len, "%s", ref ? ref->field : "");
  int i = 0;
  for (const cJSON *e = ref && ref->list ? ref->list->child : NULL; e; e = e->next, i++) {
    const cJSON *id = ref->key ? cJSON_GetObjectItem(e, ref->key) : e;
    const char *s = cJSON_GetStringValue(id);
    if (s && strcmp(s, value) == 0) {
      snprintf(buf, len, ref->key ? "%s/%d/%s" : "%s/%d", ref->field, i, ref->key ? ref->key : "");
      return;
    }
  }
}

static void unique_violation(struct http_req *req, const char *err) {
  const char *field = strstr(err, "_email_key\"") ? "email" : "id";
  char value[200], msg[300];
  key_value(err, value, sizeof value);
  snprintf(msg, sizeof msg, "%s \"%s\" is already taken", field, value);
  cJSON *d = cJSON_CreateObject();
  cJSON_AddStringToObject(d, "field", field);
  http_error(req, 409, "exists", msg, d);
}

void fields_db_error(struct http_req *req, int rc, const struct db_result *r,
                     const struct fields_ref *ref) {
  const char *state = rc == ERR_DB && r ? r->sqlstate : NULL;
  char msg[300], value[200], path[200];
  primary(r ? r->error : NULL, msg, sizeof msg);
  if (state && strcmp(state, "Z0404") == 0) {
    http_error(req, 404, "not_found", msg, NULL);
  } else if (state && strcmp(state, "Z0403") == 0) {
    http_error(req, 403, "forbidden", msg, NULL);
  } else if (state && strcmp(state, "23505") == 0) {
    unique_violation(req, r->error);
  } else if (state && strcmp(state, "23503") == 0 && ref) {
    key_value(r->error, value, sizeof value);
    ref_path(ref, value, path, sizeof path);
    api_bad_field(req, "unknown_reference", path, "\"%s\" refers to \"%s\", which does not "
                  "exist", path, value);
  } else {
    api_db_error(req, rc, r);
  }
}
