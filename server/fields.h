/* fields: checking the JSON bodies of the people and access API (staff, teams, keys, login).
 *
 * Every check returns 1 when the value is acceptable, or replies 400 naming the field and
 * returns 0, so handlers write `if (!fields_x(...)) return;`. A field is named by its path
 * without the leading slash: "name", "roles/2", "members/1/domain". Nothing is written to the
 * database until every field passed, so a bad request never half-saves. */
#ifndef FLOWD_FIELDS_H
#define FLOWD_FIELDS_H
#include <cjson/cJSON.h>
#include <stddef.h>

struct http_req;
struct db_result;

#define FIELDS_ID_MAX 63     /* ids: letters, digits, "_", "-", ".", ":"; at most this long */
#define FIELDS_TEXT_MAX 256  /* names, emails, phones, list items */
#define FIELDS_LIST_MAX 100  /* items in roles, pages, teams, members */

/* body is an object whose members are all in allowed or ignored (read-only fields that GET
 * returned and a client sent back unchanged). Both lists are NULL-terminated. */
int fields_only(struct http_req *req, const cJSON *body, const char *const *allowed,
                const char *const *ignored);

int fields_id(struct http_req *req, const cJSON *v, const char *field);
/* A string of 1..max bytes, or (when nullable) null. */
int fields_text(struct http_req *req, const cJSON *v, const char *field, size_t max,
                int nullable);
int fields_email(struct http_req *req, const cJSON *v, const char *field);
/* An array of distinct non-empty strings (of ids when ids is set). */
int fields_text_list(struct http_req *req, const cJSON *v, const char *field, int ids);
int fields_object(struct http_req *req, const cJSON *v, const char *field);
int fields_bool(struct http_req *req, const cJSON *v, const char *field);
/* An Odoo domain list that compiles ({"domain": v} through cond_compile); a bad one is
 * named by field and by "path", the JSON Pointer of the offending part inside it. */
int fields_domain(struct http_req *req, const cJSON *v, const char *field);

/* A fresh random id: prefix followed by 12 hex digits. */
void fields_new_id(const char *prefix, char *buf, size_t len);

/* A failed people-and-access batch as an HTTP error: the SQLSTATEs raised by flowd_check
 * (Z0404 not found, Z0403 forbidden), unique violations (409 naming the field of the
 * constraint) and foreign-key violations (400 naming the list item that refers to nothing:
 * list is the request's array, field its name, key the member holding the id when the items
 * are objects, else NULL). Anything else goes to api_db_error. */
struct fields_ref {
  const cJSON *list;
  const char *field;
  const char *key;
};
void fields_db_error(struct http_req *req, int rc, const struct db_result *r,
                     const struct fields_ref *ref);

/* JSON array v as a JSON text for a "$n::jsonb" parameter (a new string; "[]" for NULL). */
char *fields_json(const cJSON *v, const char *fallback);

#endif
