/* provider: validation, secret masking and encryption at rest of provider configurations.
 *
 * Invariant: which fields are secret is decided in one place (each_secret: secret_paths,
 * provider_secret_header, and body members named like a secret), used to mask, to keep
 * secrets on update, to seal them for storage and to open them for a send, so a field cannot
 * be treated as secret in one direction and not in the other. Unknown fields are refused: a
 * typo in a provider's configuration should fail when it is saved, not when a message is
 * due. */
#include <ctype.h>
#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "server/mailmsg.h"
#include "server/provider.h"
#include "server/secret.h"

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

/* ---- which fields are secret ---- */

/* Called with a secret string value and the value at the same place in the old config (or
 * NULL); a non-zero return stops the walk and is returned. */
typedef int (*secret_fn)(cJSON *v, const cJSON *old, void *ud);

static cJSON *member(const cJSON *o, const char *key) {
  return o && key ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

/* Body templates: string members (at any depth) whose name says they carry a secret. */
static int each_in_body(cJSON *v, const cJSON *old, secret_fn fn, void *ud) {
  cJSON *c;
  int i = 0, rc = 0;
  cJSON_ArrayForEach(c, v) {
    const cJSON *o = cJSON_IsArray(v) ? (cJSON_IsArray(old) ? cJSON_GetArrayItem(old, i) : NULL)
                                      : member(old, c->string);
    if (cJSON_IsString(c) && c->string && provider_secret_header(c->string))
      rc = fn(c, o, ud);
    else if (cJSON_IsArray(c) || cJSON_IsObject(c))
      rc = each_in_body(c, o, fn, ud);
    if (rc)
      return rc;
    i++;
  }
  return 0;
}

static int each_secret(cJSON *config, const cJSON *old, secret_fn fn, void *ud) {
  int rc = 0;
  for (size_t i = 0; !rc && i < NSECRETS; i++) {
    const char *p = secret_paths[i][0], *k = secret_paths[i][1];
    cJSON *v = member(p ? member(config, p) : config, k);
    if (cJSON_IsString(v))
      rc = fn(v, member(p ? member(old, p) : old, k), ud);
  }
  cJSON *h, *headers = member(config, "headers");
  cJSON_ArrayForEach(h, headers) {
    if (!rc && cJSON_IsString(h) && h->string && provider_secret_header(h->string))
      rc = fn(h, member(member(old, "headers"), h->string), ud);
  }
  cJSON *body = member(config, "body");
  if (!rc && (cJSON_IsObject(body) || cJSON_IsArray(body)))
    rc = each_in_body(body, member(old, "body"), fn, ud);
  return rc;
}

static int is_masked(cJSON *v, const cJSON *old, void *ud) {
  (void)old;
  (void)ud;
  return strcmp(v->valuestring, PROVIDER_MASK) == 0;
}

int provider_validate(const char *type, const cJSON *config, struct err_detail *d) {
  if (!type || (strcmp(type, "http") != 0 && strcmp(type, "smtp") != 0))
    return err_set(d, ERR_INVAL, "type", "type must be \"smtp\" or \"http\"");
  if (!cJSON_IsObject(config))
    return bad(d, "config", "must be an object");
  int rc = strcmp(type, "http") == 0 ? check_http(config, d) : check_smtp(config, d);
  /* The walk only reads: the cast is for the callback's shared signature. */
  if (!rc && each_secret((cJSON *)config, NULL, is_masked, NULL))
    rc = err_set(d, ERR_INVAL, "config", "a secret is still masked (" PROVIDER_MASK
                 "): send the secret itself");
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

/* ---- masking, keeping, sealing, opening ---- */

static int mask_one(cJSON *v, const cJSON *old, void *ud) {
  (void)old;
  (void)ud;
  return cJSON_SetValuestring(v, PROVIDER_MASK) ? 0 : ERR_NOMEM;
}

cJSON *provider_masked(const cJSON *config) {
  cJSON *c = cJSON_Duplicate(config, 1);
  if (c)
    each_secret(c, NULL, mask_one, NULL);
  return c;
}

static int keep_one(cJSON *v, const cJSON *old, void *ud) {
  (void)ud;
  if (strcmp(v->valuestring, PROVIDER_MASK) == 0 && cJSON_IsString(old))
    cJSON_SetValuestring(v, old->valuestring);
  return 0;
}

void provider_keep_secrets(cJSON *config, const cJSON *old) {
  if (cJSON_IsObject(config) && cJSON_IsObject(old))
    each_secret(config, old, keep_one, NULL);
}

/* Stored values that are already sealed (kept from the old config) stay as they are. */
static int seal_one(cJSON *v, const cJSON *old, void *ud) {
  (void)old;
  (void)ud;
  if (!v->valuestring[0] || secret_is_sealed(v->valuestring))
    return 0;
  char *sealed = NULL;
  int rc = secret_seal(v->valuestring, &sealed);
  if (!rc && !cJSON_SetValuestring(v, sealed))
    rc = ERR_NOMEM;
  free(sealed);
  return rc;
}

int provider_seal_secrets(cJSON *config) {
  return cJSON_IsObject(config) ? each_secret(config, NULL, seal_one, NULL) : 0;
}

/* Values stored before secrets were encrypted are plain: they are used as they are. */
static int open_one(cJSON *v, const cJSON *old, void *ud) {
  (void)old;
  if (!secret_is_sealed(v->valuestring))
    return 0;
  char *plain = NULL;
  int rc = secret_open(v->valuestring, &plain);
  if (!rc && !cJSON_SetValuestring(v, plain))
    rc = ERR_NOMEM;
  if (plain) {
    sodium_memzero(plain, strlen(plain));
    free(plain);
  }
  if (rc && rc != ERR_NOMEM)
    err_set(ud, rc, v->string ? v->string : "",
            "the provider's secret %s cannot be decrypted: %s", v->string ? v->string : "",
            rc == ERR_BADSTATE ? "this process has no secret key"
                               : "it was saved with another FLOWD_SECRET_KEY (every process "
                                 "must have the same key), or it was altered");
  return rc;
}

int provider_opened(const cJSON *config, cJSON **out, struct err_detail *d) {
  cJSON *c = config ? cJSON_Duplicate(config, 1) : cJSON_CreateObject();
  *out = NULL;
  if (!c)
    return ERR_NOMEM;
  int rc = each_secret(c, NULL, open_one, d);
  if (rc) {
    provider_free_opened(c);
    return rc;
  }
  *out = c;
  return 0;
}

static int wipe_one(cJSON *v, const cJSON *old, void *ud) {
  (void)old;
  (void)ud;
  sodium_memzero(v->valuestring, strlen(v->valuestring));
  return 0;
}

void provider_free_opened(cJSON *config) {
  if (config)
    each_secret(config, NULL, wipe_one, NULL);
  cJSON_Delete(config);
}
