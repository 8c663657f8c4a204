/* provider: validation and secret masking of provider configurations.
 *
 * Invariant: the list of secret fields lives in one place (secret_paths and
 * provider_secret_header), used both to mask and to keep secrets on update, so a field cannot
 * be masked in one direction and lost in the other. Unknown fields are refused: a typo in a
 * provider's configuration should fail when it is saved, not when a message is due. */
#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "server/mailmsg.h"
#include "server/provider.h"

/* Secret fields: a key directly in config, or in config.auth. */
static const char *const secret_paths[][2] = {
    {NULL, "password"}, {"auth", "token"}, {"auth", "password"}, {"auth", "value"}};
#define NSECRETS (sizeof secret_paths / sizeof secret_paths[0])

int provider_id_ok(const char *id) {
  size_t n = id ? strlen(id) : 0;
  return n >= 1 && n <= 64 &&
         strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static int token_ok(const char *s) {
  size_t n = s ? strlen(s) : 0;
  return n > 0 && n <= 100 &&
         strspn(s, "!#$%&'*+.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") == n;
}

static int bad(struct err_detail *d, const char *field, const char *msg) {
  return err_set(d, ERR_INVAL, field, "%s %s", field, msg);
}

static int only_fields(const cJSON *o, const char *const *names, const char *prefix,
                       struct err_detail *d) {
  const cJSON *f;
  cJSON_ArrayForEach(f, o) {
    int known = 0;
    for (const char *const *n = names; *n && !known; n++)
      known = strcmp(*n, f->string) == 0;
    if (!known) {
      char field[200];
      snprintf(field, sizeof field, "%s.%.120s", prefix, f->string);
      return bad(d, field, "is not a known field");
    }
  }
  return 0;
}

/* Optional string field: absent is fine, present must be a (non-empty when required) string. */
static int want_string(const cJSON *o, const char *key, int required, const char *field,
                       struct err_detail *d) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!v)
    return required ? bad(d, field, "is required") : 0;
  if (!cJSON_IsString(v) || (required && !v->valuestring[0]))
    return bad(d, field, required ? "must be a non-empty string" : "must be a string");
  if (strpbrk(v->valuestring, "\r\n"))
    return bad(d, field, "must not contain line breaks");
  return 0;
}

static int want_int(const cJSON *o, const char *key, int lo, int hi, const char *field,
                    struct err_detail *d) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!v)
    return 0;
  if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble ||
      v->valuedouble < lo || v->valuedouble > hi)
    return err_set(d, ERR_INVAL, field, "%s must be an integer from %d to %d", field, lo, hi);
  return 0;
}

static int want_enum(const cJSON *o, const char *key, const char *const *values,
                     const char *field, const char *list, struct err_detail *d) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!v)
    return 0;
  for (const char *const *e = values; cJSON_IsString(v) && *e; e++)
    if (strcmp(*e, v->valuestring) == 0)
      return 0;
  return err_set(d, ERR_INVAL, field, "%s must be one of %s", field, list);
}

/* An http(s) URL with a host, as curl will read it. */
static int url_ok(const char *url) {
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL;
  int ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
           curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
           curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host[0] &&
           (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(u);
  return ok;
}

static int check_auth(const cJSON *auth, struct err_detail *d) {
  static const char *const types[] = {"bearer", "basic", "header", NULL};
  if (!cJSON_IsObject(auth))
    return bad(d, "config.auth", "must be an object");
  int rc = want_string(auth, "type", 1, "config.auth.type", d);
  if (!rc)
    rc = want_enum(auth, "type", types, "config.auth.type", "bearer, basic, header", d);
  if (rc)
    return rc;
  const char *type = cJSON_GetObjectItemCaseSensitive(auth, "type")->valuestring;
  if (strcmp(type, "bearer") == 0) {
    static const char *const f[] = {"type", "token", NULL};
    return (rc = only_fields(auth, f, "config.auth", d)) ? rc
           : want_string(auth, "token", 1, "config.auth.token", d);
  }
  if (strcmp(type, "basic") == 0) {
    static const char *const f[] = {"type", "username", "password", NULL};
    if ((rc = only_fields(auth, f, "config.auth", d)) ||
        (rc = want_string(auth, "username", 1, "config.auth.username", d)))
      return rc;
    return want_string(auth, "password", 1, "config.auth.password", d);
  }
  static const char *const f[] = {"type", "name", "value", NULL};
  if ((rc = only_fields(auth, f, "config.auth", d)) ||
      (rc = want_string(auth, "value", 1, "config.auth.value", d)))
    return rc;
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(auth, "name");
  return token_ok(cJSON_GetStringValue(name)) ? 0
         : bad(d, "config.auth.name", "must be an HTTP header name");
}

static int check_headers(const cJSON *h, struct err_detail *d) {
  if (!cJSON_IsObject(h))
    return bad(d, "config.headers", "must be an object of header name to template");
  const cJSON *v;
  cJSON_ArrayForEach(v, h) {
    char field[200];
    snprintf(field, sizeof field, "config.headers.%.120s", v->string);
    if (!token_ok(v->string))
      return bad(d, field, "is not an HTTP header name");
    if (!cJSON_IsString(v) || strpbrk(v->valuestring, "\r\n"))
      return bad(d, field, "must be a string without line breaks");
  }
  return 0;
}

static int check_http(const cJSON *c, struct err_detail *d) {
  static const char *const fields[] = {"url", "method", "headers", "body", "auth",
                                       "timeout_ms", NULL};
  static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", NULL};
  int rc = only_fields(c, fields, "config", d);
  if (!rc)
    rc = want_string(c, "url", 1, "config.url", d);
  if (!rc && !url_ok(cJSON_GetObjectItemCaseSensitive(c, "url")->valuestring))
    rc = bad(d, "config.url", "must be an http:// or https:// URL with a host");
  if (!rc)
    rc = want_enum(c, "method", methods, "config.method", "GET, POST, PUT, PATCH, DELETE", d);
  if (!rc && cJSON_GetObjectItemCaseSensitive(c, "headers"))
    rc = check_headers(cJSON_GetObjectItemCaseSensitive(c, "headers"), d);
  if (!rc && cJSON_GetObjectItemCaseSensitive(c, "auth"))
    rc = check_auth(cJSON_GetObjectItemCaseSensitive(c, "auth"), d);
  if (!rc)
    rc = want_int(c, "timeout_ms", PROVIDER_TIMEOUT_MIN_MS, PROVIDER_TIMEOUT_MAX_MS,
                  "config.timeout_ms", d);
  return rc;
}

static int check_smtp(const cJSON *c, struct err_detail *d) {
  static const char *const fields[] = {"host", "port", "starttls", "username", "password",
                                       "from", "timeout_ms", NULL};
  static const char *const tls[] = {"none", "starttls", "tls", NULL};
  int rc = only_fields(c, fields, "config", d);
  if (!rc)
    rc = want_string(c, "host", 1, "config.host", d);
  if (!rc && strpbrk(cJSON_GetObjectItemCaseSensitive(c, "host")->valuestring, " /@?#[]"))
    rc = bad(d, "config.host", "must be a host name or IP address");
  if (!rc)
    rc = want_int(c, "port", 1, 65535, "config.port", d);
  if (!rc)
    rc = want_enum(c, "starttls", tls, "config.starttls", "none, starttls, tls", d);
  if (!rc)
    rc = want_string(c, "username", 0, "config.username", d);
  if (!rc)
    rc = want_string(c, "password", 0, "config.password", d);
  if (!rc && cJSON_GetObjectItemCaseSensitive(c, "password") &&
      !cJSON_GetObjectItemCaseSensitive(c, "username"))
    rc = bad(d, "config.username", "is required with a password");
  if (!rc)
    rc = want_string(c, "from", 1, "config.from", d);
  char addr[512];
  if (!rc && mailmsg_address(cJSON_GetObjectItemCaseSensitive(c, "from")->valuestring, 0, addr,
                             sizeof addr) != 0)
    rc = bad(d, "config.from", "must be an e-mail address (\"a@b.c\" or \"Name <a@b.c>\")");
  if (!rc)
    rc = want_int(c, "timeout_ms", PROVIDER_TIMEOUT_MIN_MS, PROVIDER_TIMEOUT_MAX_MS,
                  "config.timeout_ms", d);
  return rc;
}

int provider_validate(const char *type, const cJSON *config, struct err_detail *d) {
  if (!type || (strcmp(type, "http") != 0 && strcmp(type, "smtp") != 0))
    return err_set(d, ERR_INVAL, "type", "type must be \"smtp\" or \"http\"");
  if (!cJSON_IsObject(config))
    return bad(d, "config", "must be an object");
  int rc = strcmp(type, "http") == 0 ? check_http(config, d) : check_smtp(config, d);
  for (size_t i = 0; !rc && i < NSECRETS; i++) {
    const cJSON *o = secret_paths[i][0]
                         ? cJSON_GetObjectItemCaseSensitive(config, secret_paths[i][0])
                         : config;
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, secret_paths[i][1]));
    if (v && strcmp(v, PROVIDER_MASK) == 0)
      rc = err_set(d, ERR_INVAL, "config", "a secret is still masked (" PROVIDER_MASK
                   "): send the secret itself");
  }
  return rc;
}

int provider_secret_header(const char *name) {
  static const char *const words[] = {"auth", "token", "secret", "key", "password",
                                      "signature", "cookie", NULL};
  char low[128];
  size_t n = 0;
  for (; name[n] && n < sizeof low - 1; n++)
    low[n] = (char)tolower((unsigned char)name[n]);
  low[n] = '\0';
  if (strcmp(low, "idempotency-key") == 0)
    return 0;
  for (const char *const *w = words; *w; w++)
    if (strstr(low, *w))
      return 1;
  return 0;
}

void provider_mask_headers(cJSON *headers) {
  cJSON *h;
  cJSON_ArrayForEach(h, headers) {
    if (h->string && provider_secret_header(h->string) && cJSON_IsString(h))
      cJSON_SetValuestring(h, PROVIDER_MASK);
  }
}

static cJSON *secret_parent(cJSON *config, size_t i) {
  return secret_paths[i][0] ? cJSON_GetObjectItemCaseSensitive(config, secret_paths[i][0])
                            : config;
}

cJSON *provider_masked(const cJSON *config) {
  cJSON *c = cJSON_Duplicate(config, 1);
  for (size_t i = 0; c && i < NSECRETS; i++) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(secret_parent(c, i), secret_paths[i][1]);
    if (cJSON_IsString(v))
      cJSON_SetValuestring(v, PROVIDER_MASK);
  }
  provider_mask_headers(cJSON_GetObjectItemCaseSensitive(c, "headers"));
  return c;
}

static void keep_one(cJSON *parent, const char *key, const cJSON *old_parent) {
  cJSON *v = cJSON_GetObjectItemCaseSensitive(parent, key);
  const cJSON *o = cJSON_GetObjectItemCaseSensitive(old_parent, key);
  if (cJSON_IsString(v) && strcmp(v->valuestring, PROVIDER_MASK) == 0 && cJSON_IsString(o))
    cJSON_SetValuestring(v, o->valuestring);
}

void provider_keep_secrets(cJSON *config, const cJSON *old) {
  if (!cJSON_IsObject(config) || !cJSON_IsObject(old))
    return;
  for (size_t i = 0; i < NSECRETS; i++) {
    const cJSON *op = secret_paths[i][0]
                          ? cJSON_GetObjectItemCaseSensitive(old, secret_paths[i][0])
                          : old;
    keep_one(secret_parent(config, i), secret_paths[i][1], op);
  }
  cJSON *h, *headers = cJSON_GetObjectItemCaseSensitive(config, "headers");
  cJSON_ArrayForEach(h, headers) {
    if (h->string && provider_secret_header(h->string))
      keep_one(headers, h->string, cJSON_GetObjectItemCaseSensitive(old, "headers"));
  }
}
