/* jsonschema: compiles a JSON Schema document into a tree of `struct sn` and validates
 * values against it, collecting every violation.
 *
 * Invariant: the tree owns everything it points to except `ref`, which points at a node
 * owned by the schema's $defs table (or at the root); validation only reads the tree, and
 * allocates only when it records a violation. */
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/jsonschema.h"
#include "graph/timefmt.h"
#include "graph/tmpl.h"
#include "graph/text.h"

enum {
  T_NULL = 1, T_BOOL = 2, T_OBJECT = 4, T_ARRAY = 8, T_NUMBER = 16, T_STRING = 32,
  T_INTEGER = 64
};

enum fmt { F_NONE, F_DURATION, F_DATETIME, F_EMAIL, F_URI, F_CRON, F_TEMPLATE };
static const char *const fmt_names[] = {NULL, "duration", "date-time", "email", "uri", "cron",
                                        "template"};

#define MAX_DEPTH 64 /* nested schemas followed while validating; stops $ref loops */

struct sn;

struct prop {
  char *name;
  struct sn *schema;
};

struct list { /* a list of subschemas (oneOf, anyOf, allOf) */
  struct sn **v;
  size_t n;
};

/* One compiled schema. Fields left at their zero/negative defaults do not constrain. */
struct sn {
  int always; /* 1: the schema `true` (accepts anything), -1: `false` (rejects anything) */
  unsigned types;
  cJSON *enum_v, *const_v;
  double minimum, maximum;
  unsigned char has_min, has_max, excl_min, excl_max;
  long min_len, max_len, min_items, max_items, min_props, max_props; /* -1: none */
  int unique;
  int has_re;
  regex_t re;
  char *pattern;
  enum fmt format;
  struct prop *props;
  size_t nprops;
  char **required;
  size_t nrequired;
  int addl_forbidden;
  struct sn *addl, *names, *items;
  struct list one_of, any_of, all_of;
  struct sn *ref; /* not owned */
  char *x_error;
};

struct def {
  char *name;
  struct sn *node;
};

struct jsonschema {
  struct sn *root;
  struct def *defs;
  size_t ndefs;
};

/* ---- small helpers ---------------------------------------------------------------- */

static char *dupstr(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d)
    memcpy(d, s, n);
  return d;
}

static size_t utf8_len(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xC0) != 0x80)
      n++;
  return n;
}

static unsigned type_of(const cJSON *v) {
  if (!v || cJSON_IsNull(v))
    return T_NULL;
  if (cJSON_IsBool(v))
    return T_BOOL;
  if (cJSON_IsObject(v))
    return T_OBJECT;
  if (cJSON_IsArray(v))
    return T_ARRAY;
  if (cJSON_IsString(v))
    return T_STRING;
  if (cJSON_IsNumber(v)) {
    double d = v->valuedouble;
    return isfinite(d) && floor(d) == d ? (T_NUMBER | T_INTEGER) : T_NUMBER;
  }
  return 0;
}

static const char *type_article_name(unsigned t) {
  switch (t) {
  case T_NULL: return "null";
  case T_BOOL: return "a boolean";
  case T_OBJECT: return "an object";
  case T_ARRAY: return "an array";
  case T_NUMBER: return "a number";
  case T_STRING: return "a string";
  case T_INTEGER: return "an integer";
  }
  return "a value";
}

static unsigned type_bit(const char *name) {
  static const struct { const char *n; unsigned t; } tab[] = {
      {"null", T_NULL},     {"boolean", T_BOOL}, {"object", T_OBJECT},  {"array", T_ARRAY},
      {"number", T_NUMBER}, {"string", T_STRING}, {"integer", T_INTEGER}};
  for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
    if (strcmp(tab[i].n, name) == 0)
      return tab[i].t;
  return 0;
}

/* "a string or an object" for a type mask. */
static void types_text(unsigned mask, char *buf, size_t len) {
  buf[0] = '\0';
  int first = 1;
  for (unsigned t = 1; t <= T_INTEGER; t <<= 1) {
    if (!(mask & t) || (t == T_INTEGER && (mask & T_NUMBER)))
      continue;
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "%s%s", first ? "" : " or ", type_article_name(t));
    first = 0;
  }
}

/* The value printed compactly for a message, shortened to fit. */
static void value_text(const cJSON *v, char *buf, size_t len) {
  char *s = v ? cJSON_PrintUnformatted(v) : NULL;
  snprintf(buf, len, "%s", s ? s : "nothing");
  if (s && strlen(s) >= len && len > 4)
    memcpy(buf + len - 4, "...", 4);
  free(s);
}

/* ---- formats ------------------------------------------------------------------------ */

/* Parses one cron field item "a", "a-b", "*", each with an optional "/step". */
static int cron_item(const char *s, size_t n, int lo, int hi, const char *const *names,
                     char *msg, size_t msglen) {
  char item[64];
  if (n == 0 || n >= sizeof item)
    return snprintf(msg, msglen, "empty or over-long item"), 0;
  memcpy(item, s, n);
  item[n] = '\0';
  char *step = strchr(item, '/');
  if (step) {
    *step++ = '\0';
    char *end;
    long st = strtol(step, &end, 10);
    if (!*step || *end || st < 1 || st > hi)
      return snprintf(msg, msglen, "bad step \"%s\"", step), 0;
  }
  if (strcmp(item, "*") == 0)
    return 1;
  char *dash = strchr(item, '-');
  char *parts[2] = {item, dash ? dash + 1 : NULL};
  if (dash)
    *dash = '\0';
  long val[2] = {0, 0};
  for (int i = 0; i < (dash ? 2 : 1); i++) {
    char *end;
    val[i] = strtol(parts[i], &end, 10);
    if (!*parts[i] || *end) {
      int found = -1;
      for (int k = 0; names && names[k]; k++)
        if (strcasecmp(names[k], parts[i]) == 0)
          found = k + lo;
      if (found < 0)
        return snprintf(msg, msglen, "\"%s\" is not a number", parts[i]), 0;
      val[i] = found;
    }
    if (val[i] < lo || val[i] > hi)
      return snprintf(msg, msglen, "%ld is out of range %d-%d", val[i], lo, hi), 0;
  }
  if (dash && val[0] > val[1])
    return snprintf(msg, msglen, "range %ld-%ld is backwards", val[0], val[1]), 0;
  return 1;
}

/* Five fields (minute hour day-of-month month day-of-week) or an @macro. */
static int check_cron(const char *s, char *msg, size_t msglen) {
  static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
                                       "aug", "sep", "oct", "nov", "dec", NULL};
  static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};
  static const char *const macros[] = {"@yearly", "@annually", "@monthly", "@weekly",
                                       "@daily",  "@midnight", "@hourly",  NULL};
  static const struct { const char *name; int lo, hi; const char *const *names; } f[5] = {
      {"minute", 0, 59, NULL}, {"hour", 0, 23, NULL}, {"day of month", 1, 31, NULL},
      {"month", 1, 12, months}, {"day of week", 0, 7, days}};
  if (s[0] == '@') {
    for (int i = 0; macros[i]; i++)
      if (strcmp(s, macros[i]) == 0)
        return 1;
    return snprintf(msg, msglen, "unknown macro \"%s\"", s), 0;
  }
  const char *p = s;
  for (int i = 0; i < 5; i++) {
    while (*p == ' ' || *p == '\t')
      p++;
    if (!*p)
      return snprintf(msg, msglen, "needs 5 fields (minute hour day month weekday), has %d", i),
             0;
    const char *end = p + strcspn(p, " \t");
    for (const char *q = p; q <= end; q++) {
      const char *c = q;
      q += strcspn(q, ",");
      if (q > end)
        q = end;
      char why[96];
      if (!cron_item(c, (size_t)(q - c), f[i].lo, f[i].hi, f[i].names, why, sizeof why))
        return snprintf(msg, msglen, "%s field: %s", f[i].name, why), 0;
    }
    p = end;
  }
  while (*p == ' ' || *p == '\t')
    p++;
  if (*p)
    return snprintf(msg, msglen, "has more than 5 fields"), 0;
  return 1;
}

static int check_email(const char *s, char *msg, size_t msglen) {
  const char *at = strchr(s, '@');
  if (!at || at == s || strchr(at + 1, '@') || strpbrk(s, " \t\r\n<>,;\""))
    return snprintf(msg, msglen, "expected name@domain"), 0;
  const char *dot = strrchr(at + 1, '.');
  if (!dot || dot == at + 1 || !dot[1])
    return snprintf(msg, msglen, "the domain needs a dot"), 0;
  return 1;
}

static int check_uri(const char *s, char *msg, size_t msglen) {
  size_t n = 0;
  if ((s[0] | 0x20) < 'a' || (s[0] | 0x20) > 'z')
    return snprintf(msg, msglen, "expected scheme:rest, e.g. https://host/path"), 0;
  while (s[n] && (s[n] == '+' || s[n] == '-' || s[n] == '.' || (s[n] >= '0' && s[n] <= '9') ||
                  ((s[n] | 0x20) >= 'a' && (s[n] | 0x20) <= 'z')))
    n++;
  if (s[n] != ':' || !s[n + 1])
    return snprintf(msg, msglen, "expected scheme:rest, e.g. https://host/path"), 0;
  if (strpbrk(s, " \t\r\n\"<>"))
    return snprintf(msg, msglen, "contains a space or a character that must be escaped"), 0;
  return 1;
}

static int check_fmt(enum fmt f, const char *s, char *msg, size_t msglen) {
  struct err_detail d = {"", ""};
  switch (f) {
  case F_DURATION: {
    int64_t ms;
    if (duration_parse(s, &ms, &d) == 0)
      return 1;
    return snprintf(msg, msglen, "%s", d.msg[0] ? d.msg : "expected e.g. 30s, 15m, 1h30m, 2d"), 0;
  }
  case F_DATETIME: {
    int64_t ms;
    if (time_parse_rfc3339(s, &ms, &d) == 0)
      return 1;
    return snprintf(msg, msglen, "%s", d.msg[0] ? d.msg : "expected RFC 3339"), 0;
  }
  case F_TEMPLATE: {
    struct tmpl *t = NULL;
    if (tmpl_compile(s, &t, &d) == 0) {
      tmpl_free(t);
      return 1;
    }
    return snprintf(msg, msglen, "%s", d.msg[0] ? d.msg : "does not parse"), 0;
  }
  case F_EMAIL: return check_email(s, msg, msglen);
  case F_URI: return check_uri(s, msg, msglen);
  case F_CRON: return check_cron(s, msg, msglen);
  case F_NONE: return 1;
  }
  return 1;
}

static enum fmt fmt_find(const char *name) {
  for (int f = F_DURATION; f <= F_TEMPLATE; f++)
    if (strcmp(fmt_names[f], name) == 0)
      return (enum fmt)f;
  return F_NONE;
}

int jsonschema_check_format(const char *format, const char *s, char *msg, size_t msglen) {
  char dummy[8];
  enum fmt f = fmt_find(format);
  if (f == F_NONE)
    return ERR_NOTFOUND;
  if (!msg)
    msg = dummy, msglen = sizeof dummy;
  msg[0] = '\0';
  return check_fmt(f, s, msg, msglen);
}

/* ---- compiling ---------------------------------------------------------------------- */

struct cctx {
  struct jsonschema *js;
  struct err_detail *d;
  char path[192]; /* JSON Pointer inside the schema, for compile errors */
};

static void sn_free(struct sn *n);

static void list_free(struct list *l) {
  for (size_t i = 0; i < l->n; i++)
    sn_free(l->v[i]);
  free(l->v);
}

static void sn_free(struct sn *n) {
  if (!n)
    return;
  cJSON_Delete(n->enum_v);
  cJSON_Delete(n->const_v);
  if (n->has_re)
    regfree(&n->re);
  free(n->pattern);
  for (size_t i = 0; i < n->nprops; i++) {
    free(n->props[i].name);
    sn_free(n->props[i].schema);
  }
  free(n->props);
  for (size_t i = 0; i < n->nrequired; i++)
    free(n->required[i]);
  free(n->required);
  sn_free(n->addl);
  sn_free(n->names);
  sn_free(n->items);
  list_free(&n->one_of);
  list_free(&n->any_of);
  list_free(&n->all_of);
  free(n->x_error);
  free(n);
}

static struct sn *sn_new(void) {
  struct sn *n = calloc(1, sizeof *n);
  if (n)
    n->min_len = n->max_len = n->min_items = n->max_items = n->min_props = n->max_props = -1;
  return n;
}

static int cfail(struct cctx *c, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int cfail(struct cctx *c, const char *key, const char *fmt, ...) {
  if (c->d) {
    snprintf(c->d->path, sizeof c->d->path, "%s%s%s", c->path, key ? "/" : "", key ? key : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->d->msg, sizeof c->d->msg, fmt, ap);
    va_end(ap);
  }
  return ERR_PARSE;
}

static int compile_node(struct cctx *c, const cJSON *s, struct sn **out);

/* Compiles s as the subschema at c->path + "/" + seg (seg may be "a/b" for two levels). */
static int compile_sub(struct cctx *c, const char *seg, const cJSON *s, struct sn **out) {
  size_t old = strlen(c->path);
  snprintf(c->path + old, sizeof c->path - old, "/%s", seg);
  int rc = compile_node(c, s, out);
  if (rc == 0)
    c->path[old] = '\0';
  return rc;
}

static int compile_list(struct cctx *c, const cJSON *v, const char *key, struct list *l) {
  if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
    return cfail(c, key, "%s must be a non-empty array of schemas", key);
  l->n = 0;
  l->v = calloc((size_t)cJSON_GetArraySize(v), sizeof *l->v);
  if (!l->v)
    return ERR_NOMEM;
  const cJSON *it;
  cJSON_ArrayForEach(it, v) {
    char seg[64];
    snprintf(seg, sizeof seg, "%s/%zu", key, l->n);
    struct sn **slot = &l->v[l->n++]; /* counted first so that a failure frees it */
    int rc = compile_sub(c, seg, it, slot);
    if (rc)
      return rc;
  }
  return 0;
}

static int compile_type(struct cctx *c, struct sn *n, const cJSON *v) {
  if (cJSON_IsString(v)) {
    n->types = type_bit(v->valuestring);
    return n->types ? 0 : cfail(c, "type", "unknown type \"%s\"", v->valuestring);
  }
  if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
    return cfail(c, "type", "type must be a type name or a non-empty array of them");
  const cJSON *it;
  cJSON_ArrayForEach(it, v) {
    unsigned t = cJSON_IsString(it) ? type_bit(it->valuestring) : 0;
    if (!t)
      return cfail(c, "type", "unknown type in the type array");
    n->types |= t;
  }
  return 0;
}

static int compile_props(struct cctx *c, struct sn *n, const cJSON *v) {
  if (!cJSON_IsObject(v))
    return cfail(c, "properties", "properties must be an object");
  n->props = calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof *n->props);
  if (!n->props)
    return ERR_NOMEM;
  const cJSON *it;
  cJSON_ArrayForEach(it, v) {
    struct prop *p = &n->props[n->nprops];
    if (!(p->name = dupstr(it->string)))
      return ERR_NOMEM;
    n->nprops++;
    char seg[160];
    snprintf(seg, sizeof seg, "properties/%s", it->string);
    int rc = compile_sub(c, seg, it, &p->schema);
    if (rc)
      return rc;
  }
  return 0;
}

static int compile_required(struct cctx *c, struct sn *n, const cJSON *v) {
  if (!cJSON_IsArray(v))
    return cfail(c, "required", "required must be an array of names");
  n->required = calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof *n->required);
  if (!n->required)
    return ERR_NOMEM;
  const cJSON *it;
  cJSON_ArrayForEach(it, v) {
    if (!cJSON_IsString(it))
      return cfail(c, "required", "required must be an array of names");
    if (!(n->required[n->nrequired] = dupstr(it->valuestring)))
      return ERR_NOMEM;
    n->nrequired++;
  }
  return 0;
}

static int compile_count(struct cctx *c, const cJSON *v, const char *key, long *out) {
  if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1e15) ||
      floor(v->valuedouble) != v->valuedouble)
    return cfail(c, key, "%s must be a non-negative integer", key);
  *out = (long)v->valuedouble;
  return 0;
}

static int compile_number(struct cctx *c, const cJSON *v, const char *key, double *out,
                          unsigned char *has) {
  if (!cJSON_IsNumber(v))
    return cfail(c, key, "%s must be a number", key);
  *out = v->valuedouble;
  *has = 1;
  return 0;
}

static int compile_pattern(struct cctx *c, struct sn *n, const cJSON *v) {
  if (!cJSON_IsString(v))
    return cfail(c, "pattern", "pattern must be a string");
  if (!(n->pattern = dupstr(v->valuestring)))
    return ERR_NOMEM;
  int rc = regcomp(&n->re, v->valuestring, REG_EXTENDED | REG_NOSUB);
  if (rc) {
    char why[128];
    regerror(rc, &n->re, why, sizeof why);
    return cfail(c, "pattern", "pattern does not compile: %s", why);
  }
  n->has_re = 1;
  return 0;
}

static int compile_ref(struct cctx *c, struct sn *n, const cJSON *v) {
  if (!cJSON_IsString(v))
    return cfail(c, "$ref", "$ref must be a string");
  const char *r = v->valuestring;
  if (strcmp(r, "#") == 0) {
    n->ref = c->js->root;
    return 0;
  }
  if (strncmp(r, "#/$defs/", 8) == 0)
    for (size_t i = 0; i < c->js->ndefs; i++)
      if (strcmp(c->js->defs[i].name, r + 8) == 0) {
        n->ref = c->js->defs[i].node;
        return 0;
      }
  return cfail(c, "$ref", "$ref \"%s\" does not name \"#\" or an entry of $defs", r);
}

static int is_annotation(const char *k) {
  static const char *const ann[] = {"title",      "description", "default", "examples",
                                    "$schema",    "$id",         "$comment", "deprecated",
                                    "readOnly",   "writeOnly",   "$defs",    NULL};
  if (strncmp(k, "x-", 2) == 0 && strcmp(k, "x-error") != 0)
    return 1;
  for (int i = 0; ann[i]; i++)
    if (strcmp(ann[i], k) == 0)
      return 1;
  return 0;
}

/* Applies one keyword of a schema object to n. */
static int compile_keyword(struct cctx *c, struct sn *n, const cJSON *v) {
  const char *k = v->string;
  if (is_annotation(k))
    return 0;
  if (!strcmp(k, "type")) return compile_type(c, n, v);
  if (!strcmp(k, "properties")) return compile_props(c, n, v);
  if (!strcmp(k, "required")) return compile_required(c, n, v);
  if (!strcmp(k, "additionalProperties")) {
    if (cJSON_IsFalse(v))
      return n->addl_forbidden = 1, 0;
    return compile_sub(c, k, v, &n->addl);
  }
  if (!strcmp(k, "propertyNames")) return compile_sub(c, k, v, &n->names);
  if (!strcmp(k, "items")) return compile_sub(c, k, v, &n->items);
  if (!strcmp(k, "enum")) {
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
      return cfail(c, k, "enum must be a non-empty array");
    return (n->enum_v = cJSON_Duplicate(v, 1)) ? 0 : ERR_NOMEM;
  }
  if (!strcmp(k, "const")) return (n->const_v = cJSON_Duplicate(v, 1)) ? 0 : ERR_NOMEM;
  if (!strcmp(k, "minimum")) return compile_number(c, v, k, &n->minimum, &n->has_min);
  if (!strcmp(k, "maximum")) return compile_number(c, v, k, &n->maximum, &n->has_max);
  if (!strcmp(k, "exclusiveMinimum")) {
    n->excl_min = 1;
    return compile_number(c, v, k, &n->minimum, &n->has_min);
  }
  if (!strcmp(k, "exclusiveMaximum")) {
    n->excl_max = 1;
    return compile_number(c, v, k, &n->maximum, &n->has_max);
  }
  if (!strcmp(k, "minLength")) return compile_count(c, v, k, &n->min_len);
  if (!strcmp(k, "maxLength")) return compile_count(c, v, k, &n->max_len);
  if (!strcmp(k, "minItems")) return compile_count(c, v, k, &n->min_items);
  if (!strcmp(k, "maxItems")) return compile_count(c, v, k, &n->max_items);
  if (!strcmp(k, "minProperties")) return compile_count(c, v, k, &n->min_props);
  if (!strcmp(k, "maxProperties")) return compile_count(c, v, k, &n->max_props);
  if (!strcmp(k, "uniqueItems")) return n->unique = cJSON_IsTrue(v), 0;
  if (!strcmp(k, "pattern")) return compile_pattern(c, n, v);
  if (!strcmp(k, "oneOf")) return compile_list(c, v, k, &n->one_of);
  if (!strcmp(k, "anyOf")) return compile_list(c, v, k, &n->any_of);
  if (!strcmp(k, "allOf")) return compile_list(c, v, k, &n->all_of);
  if (!strcmp(k, "$ref")) return compile_ref(c, n, v);
  if (!strcmp(k, "format")) {
    n->format = cJSON_IsString(v) ? fmt_find(v->valuestring) : F_NONE;
    return n->format ? 0 : cfail(c, k, "unknown format");
  }
  if (!strcmp(k, "x-error")) {
    if (!cJSON_IsString(v))
      return cfail(c, k, "x-error must be a string");
    return (n->x_error = dupstr(v->valuestring)) ? 0 : ERR_NOMEM;
  }
  return cfail(c, k, "unsupported keyword \"%s\"", k);
}

/* Fills an already allocated node (the $defs entries exist before their bodies compile,
 * so that $refs between them resolve). */
static int compile_into(struct cctx *c, const cJSON *s, struct sn *n) {
  if (cJSON_IsBool(s)) {
    n->always = cJSON_IsTrue(s) ? 1 : -1;
    return 0;
  }
  if (!cJSON_IsObject(s))
    return cfail(c, NULL, "a schema must be an object or a boolean");
  const cJSON *v;
  cJSON_ArrayForEach(v, s) {
    int rc = compile_keyword(c, n, v);
    if (rc)
      return rc;
  }
  return 0;
}

static int compile_node(struct cctx *c, const cJSON *s, struct sn **out) {
  struct sn *n = sn_new();
  if (!n)
    return ERR_NOMEM;
  *out = n; /* owned by the parent from here on, so a failure frees it with the tree */
  return compile_into(c, s, n);
}

static int compile_defs(struct cctx *c, const cJSON *defs) {
  if (!defs)
    return 0;
  if (!cJSON_IsObject(defs))
    return cfail(c, "$defs", "$defs must be an object");
  struct jsonschema *js = c->js;
  js->defs = calloc((size_t)cJSON_GetArraySize(defs) + 1, sizeof *js->defs);
  if (!js->defs)
    return ERR_NOMEM;
  const cJSON *it;
  cJSON_ArrayForEach(it, defs) {
    struct def *d = &js->defs[js->ndefs];
    d->name = dupstr(it->string);
    d->node = sn_new();
    if (!d->name || !d->node) {
      free(d->name);
      free(d->node);
      return ERR_NOMEM;
    }
    js->ndefs++;
  }
  size_t i = 0;
  cJSON_ArrayForEach(it, defs) {
    snprintf(c->path, sizeof c->path, "/$defs/%s", it->string);
    int rc = compile_into(c, it, js->defs[i++].node);
    if (rc)
      return rc;
  }
  c->path[0] = '\0';
  return 0;
}

int jsonschema_compile(const cJSON *schema, struct jsonschema **out,
                       struct err_detail *detail) {
  *out = NULL;
  struct jsonschema *js = calloc(1, sizeof *js);
  if (!js || !(js->root = sn_new())) {
    free(js);
    return ERR_NOMEM;
  }
  struct cctx c = {.js = js, .d = detail};
  int rc = compile_defs(&c, cJSON_IsObject(schema)
                                ? cJSON_GetObjectItemCaseSensitive(schema, "$defs")
                                : NULL);
  if (rc == 0)
    rc = compile_into(&c, schema, js->root);
  if (rc) {
    if (rc == ERR_NOMEM && detail)
      err_set(detail, rc, c.path, "out of memory");
    jsonschema_free(js);
    return rc;
  }
  *out = js;
  return 0;
}

int jsonschema_parse(const char *text, struct jsonschema **out, struct err_detail *detail) {
  *out = NULL;
  cJSON *doc = cJSON_Parse(text);
  if (!doc)
    return err_set(detail, ERR_PARSE, "", "the schema is not valid JSON");
  int rc = jsonschema_compile(doc, out, detail);
  cJSON_Delete(doc);
  return rc;
}

void jsonschema_free(struct jsonschema *js) {
  if (!js)
    return;
  sn_free(js->root);
  for (size_t i = 0; i < js->ndefs; i++) {
    free(js->defs[i].name);
    sn_free(js->defs[i].node);
  }
  free(js->defs);
  free(js);
}

/* ---- validating --------------------------------------------------------------------- */

struct verr {
  char *path, *message;
  const char *keyword, *format; /* static strings */
};

struct errs { /* grows only when a violation is recorded */
  struct verr *v;
  size_t n, cap;
  int nomem;
};

struct sbuf { /* a string that starts in place and moves to the heap only when long */
  char *s;
  size_t len, cap;
  char small[200];
};

struct vctx {
  struct sbuf ptr;  /* JSON Pointer of the current value */
  struct sbuf name; /* its dotted name relative to the root ("cases[0].when") */
  const char *root_name;
  int depth;
  int nomem;
};

static void sb_init(struct sbuf *b, const char *init) {
  b->s = b->small;
  b->cap = sizeof b->small;
  b->len = 0;
  b->s[0] = '\0';
  if (init) {
    size_t n = strlen(init);
    if (n >= b->cap && (b->s = malloc(n + 1)))
      b->cap = n + 1;
    if (!b->s)
      b->s = b->small, n = 0;
    memcpy(b->s, init, n);
    b->len = n;
    b->s[n] = '\0';
  }
}

static void sb_free(struct sbuf *b) {
  if (b->s != b->small)
    free(b->s);
}

static int sb_putc(struct sbuf *b, char ch) {
  if (b->len + 2 > b->cap) {
    size_t cap = b->cap * 2;
    char *s = b->s == b->small ? malloc(cap) : realloc(b->s, cap);
    if (!s)
      return ERR_NOMEM;
    if (b->s == b->small)
      memcpy(s, b->small, b->len + 1);
    b->s = s;
    b->cap = cap;
  }
  b->s[b->len++] = ch;
  b->s[b->len] = '\0';
  return 0;
}

static int sb_puts(struct sbuf *b, const char *s) {
  for (; *s; s++)
    if (sb_putc(b, *s))
      return ERR_NOMEM;
  return 0;
}

static void sb_cut(struct sbuf *b, size_t len) {
  b->len = len;
  b->s[len] = '\0';
}

/* Descends into member key: extends the pointer (escaping ~ and /) and the dotted name. */
static void push_key(struct vctx *x, const char *key) {
  int rc = sb_putc(&x->ptr, '/');
  for (const char *k = key; *k && !rc; k++)
    rc = *k == '~' ? sb_puts(&x->ptr, "~0") : *k == '/' ? sb_puts(&x->ptr, "~1")
                                                        : sb_putc(&x->ptr, *k);
  if (!rc && x->name.len)
    rc = sb_putc(&x->name, '.');
  if (!rc)
    rc = sb_puts(&x->name, key);
  if (rc)
    x->nomem = 1;
}

static void push_index(struct vctx *x, size_t i) {
  char seg[32];
  snprintf(seg, sizeof seg, "/%zu", i);
  if (sb_puts(&x->ptr, seg))
    x->nomem = 1;
  snprintf(seg, sizeof seg, "[%zu]", i);
  if (sb_puts(&x->name, seg))
    x->nomem = 1;
}

/* The name, for messages, of the value whose dotted name is the first nlen bytes of
 * x->name (an ancestor of the current value, or the current value itself). */
static void name_at(const struct vctx *x, size_t nlen, char *buf, size_t len) {
  if (nlen == 0)
    snprintf(buf, len, "%s", x->root_name);
  else if (x->name.s[0] == '[')
    snprintf(buf, len, "%s%.*s", x->root_name, (int)nlen, x->name.s);
  else
    snprintf(buf, len, "%.*s", (int)nlen, x->name.s);
}

static void cur_name(const struct vctx *x, char *buf, size_t len) {
  name_at(x, x->name.len, buf, len);
}

static void errs_free(struct errs *e) {
  for (size_t i = 0; i < e->n; i++) {
    free(e->v[i].path);
    free(e->v[i].message);
  }
  free(e->v);
  *e = (struct errs){0};
}

static void errs_push(struct errs *e, struct verr v) {
  if (e->n == e->cap) {
    size_t cap = e->cap ? e->cap * 2 : 8;
    struct verr *nv = realloc(e->v, cap * sizeof *nv);
    if (!nv) {
      free(v.path), free(v.message), e->nomem = 1;
      return;
    }
    e->v = nv;
    e->cap = cap;
  }
  e->v[e->n++] = v;
}

/* Moves every violation of from to the end of to. */
static void errs_take(struct errs *to, struct errs *from) {
  for (size_t i = 0; i < from->n; i++)
    errs_push(to, from->v[i]);
  to->nomem |= from->nomem;
  free(from->v);
  *from = (struct errs){0};
}

/* Records a violation at the current path. Unless `whole` is set, the message is the
 * current name followed by the formatted predicate, or by the schema's x-error (which
 * explains constraints; type and format failures keep their own, more precise, words). */
static void add(struct vctx *x, struct errs *e, const struct sn *n, const char *keyword,
                int whole, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void add(struct vctx *x, struct errs *e, const struct sn *n, const char *keyword,
                int whole, const char *fmt, ...) {
  char name[200], text[600], msg[800];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  cur_name(x, name, sizeof name);
  if (whole)
    snprintf(msg, sizeof msg, "%s", text);
  else
    snprintf(msg, sizeof msg, "%s %s", name,
             n && n->x_error && strcmp(keyword, "format") && strcmp(keyword, "type") ? n->x_error
                                                                                 : text);
  struct verr v = {dupstr(x->ptr.s), dupstr(msg), keyword,
                   !strcmp(keyword, "format") && n ? fmt_names[n->format] : NULL};
  if (!v.path || !v.message) {
    free(v.path), free(v.message), e->nomem = 1;
    return;
  }
  errs_push(e, v);
}

static void validate(struct vctx *x, const struct sn *n, const cJSON *v, struct errs *e);

/* The declared property closest to key, for "did you mean" hints on typos; a hint must
 * be close relative to the key's length, or short keys would get wild guesses. */
static const char *closest_prop(const struct sn *n, const char *key) {
  const char *best = NULL;
  size_t bd = 3, len = strlen(key);
  for (size_t i = 0; i < n->nprops; i++) {
    size_t d = text_edit_distance(key, n->props[i].name);
    if (d < bd && d * 3 <= len)
      bd = d, best = n->props[i].name;
  }
  return best;
}

static const struct sn *find_prop(const struct sn *n, const char *key) {
  for (size_t i = 0; i < n->nprops; i++)
    if (n->props[i].name[0] == key[0] && strcmp(n->props[i].name, key) == 0)
      return n->props[i].schema;
  return NULL;
}

/* propertyNames: the member's name (a string) against n->names; nlen marks the object's
 * own name inside x->name, which already holds the member's. */
static void check_name(struct vctx *x, const struct sn *n, const char *key, size_t nlen,
                       struct errs *e) {
  cJSON name = {.type = cJSON_String, .valuestring = (char *)key}; /* no allocation */
  struct errs tmp = {0};
  validate(x, n->names, &name, &tmp);
  if (tmp.n) {
    char where[200];
    name_at(x, nlen, where, sizeof where);
    add(x, e, NULL, "propertyNames", 1, "\"%s\" is not an allowed name in %s%s%s", key, where,
        n->names->x_error ? ": " : "", n->names->x_error ? n->names->x_error : "");
  }
  errs_free(&tmp);
}

static void check_members(struct vctx *x, const struct sn *n, const cJSON *v, struct errs *e) {
  size_t plen = x->ptr.len, nlen = x->name.len;
  const cJSON *m;
  cJSON_ArrayForEach(m, v) {
    const struct sn *ps = find_prop(n, m->string);
    push_key(x, m->string);
    if (n->names)
      check_name(x, n, m->string, nlen, e);
    if (ps) {
      validate(x, ps, m, e);
    } else if (n->addl_forbidden) {
      const char *hint = closest_prop(n, m->string);
      char where[200];
      name_at(x, nlen, where, sizeof where);
      add(x, e, NULL, "additionalProperties", 1, "unknown field \"%s\" in %s%s%s%s", m->string,
          where, hint ? " (did you mean \"" : "", hint ? hint : "", hint ? "\"?)" : "");
    } else if (n->addl) {
      validate(x, n->addl, m, e);
    }
    sb_cut(&x->ptr, plen);
    sb_cut(&x->name, nlen);
  }
}

static void check_object(struct vctx *x, const struct sn *n, const cJSON *v, struct errs *e) {
  size_t plen = x->ptr.len, nlen = x->name.len;
  for (size_t i = 0; i < n->nrequired; i++) {
    if (cJSON_GetObjectItemCaseSensitive(v, n->required[i]))
      continue;
    push_key(x, n->required[i]);
    add(x, e, NULL, "required", 0, "is required");
    sb_cut(&x->ptr, plen);
    sb_cut(&x->name, nlen);
  }
  long count = n->min_props >= 0 || n->max_props >= 0 ? cJSON_GetArraySize(v) : 0;
  if (n->min_props >= 0 && count < n->min_props)
    add(x, e, n, "minProperties", 0, "must have at least %ld field%s", n->min_props,
        n->min_props == 1 ? "" : "s");
  if (n->max_props >= 0 && count > n->max_props)
    add(x, e, n, "maxProperties", 0, "must have at most %ld fields", n->max_props);
  if (n->nprops || n->addl_forbidden || n->addl || n->names)
    check_members(x, n, v, e);
}

static void check_array(struct vctx *x, const struct sn *n, const cJSON *v, struct errs *e) {
  long count = cJSON_GetArraySize(v);
  if (n->min_items >= 0 && count < n->min_items) {
    if (n->min_items == 1)
      add(x, e, n, "minItems", 0, "must not be empty");
    else
      add(x, e, n, "minItems", 0, "must have at least %ld items (has %ld)", n->min_items, count);
  }
  if (n->max_items >= 0 && count > n->max_items)
    add(x, e, n, "maxItems", 0, "must have at most %ld items (has %ld)", n->max_items, count);
  size_t plen = x->ptr.len, nlen = x->name.len, i = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, v) {
    if (n->unique) {
      size_t j = 0;
      for (const cJSON *p = v->child; p != it; p = p->next, j++)
        if (cJSON_Compare(p, it, 1)) {
          push_index(x, i);
          add(x, e, n, "uniqueItems", 0, "repeats item %zu", j);
          sb_cut(&x->ptr, plen);
          sb_cut(&x->name, nlen);
          break;
        }
    }
    if (n->items) {
      push_index(x, i);
      validate(x, n->items, it, e);
      sb_cut(&x->ptr, plen);
      sb_cut(&x->name, nlen);
    }
    i++;
  }
}

static void check_string(struct vctx *x, const struct sn *n, const char *s, struct errs *e) {
  if (n->min_len >= 0 || n->max_len >= 0) {
    long len = (long)utf8_len(s);
    if (n->min_len >= 0 && len < n->min_len) {
      if (n->min_len == 1)
        add(x, e, n, "minLength", 0, "must not be empty");
      else
        add(x, e, n, "minLength", 0, "must be at least %ld characters long", n->min_len);
    }
    if (n->max_len >= 0 && len > n->max_len)
      add(x, e, n, "maxLength", 0, "must be at most %ld characters long (has %ld)", n->max_len,
          len);
  }
  if (n->has_re && regexec(&n->re, s, 0, NULL, 0) != 0)
    add(x, e, n, "pattern", 0, "must match the pattern %s", n->pattern);
  char why[400];
  if (n->format && !check_fmt(n->format, s, why, sizeof why))
    add(x, e, n, "format", 0, "is not a valid %s: %s", fmt_names[n->format], why);
}

static void check_number(struct vctx *x, const struct sn *n, double d, struct errs *e) {
  if (n->has_min && (n->excl_min ? d <= n->minimum : d < n->minimum))
    add(x, e, n, n->excl_min ? "exclusiveMinimum" : "minimum", 0, "must be %s %g (got %g)",
        n->excl_min ? ">" : ">=", n->minimum, d);
  if (n->has_max && (n->excl_max ? d >= n->maximum : d > n->maximum))
    add(x, e, n, n->excl_max ? "exclusiveMaximum" : "maximum", 0, "must be %s %g (got %g)",
        n->excl_max ? "<" : "<=", n->maximum, d);
}

static void check_enum(struct vctx *x, const struct sn *n, const cJSON *v, struct errs *e) {
  const cJSON *it;
  cJSON_ArrayForEach(it, n->enum_v) if (cJSON_Compare(it, v, 1)) return;
  char list[300] = "", got[80];
  cJSON_ArrayForEach(it, n->enum_v) {
    char one[80];
    value_text(it, one, sizeof one);
    size_t used = strlen(list);
    snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", one);
  }
  value_text(v, got, sizeof got);
  add(x, e, n, "enum", 0, "must be one of %s (got %s)", list, got);
}

/* The types a branch accepts, following $ref; 0 when it does not say. */
static unsigned branch_types(const struct sn *n) {
  for (int hops = 0; n && hops < MAX_DEPTH; hops++, n = n->ref)
    if (n->types || !n->ref)
      return n->types;
  return 0;
}

/* Did the branch reject the value's type itself (rather than something inside it)? */
static int rejected_type(const struct vctx *x, const struct errs *e) {
  for (size_t i = 0; i < e->n; i++)
    if (!strcmp(e->v[i].keyword, "type") && !strcmp(e->v[i].path, x->ptr.s))
      return 1;
  return 0;
}

/* oneOf (one != 0) or anyOf. When nothing matches, the most plausible branch explains why:
 * one that accepted the value's type, with the fewest violations; when every branch
 * rejected the type, a single type error lists what would have been accepted. */
static void check_alternatives(struct vctx *x, const struct sn *n, const struct list *l,
                               int one, const cJSON *v, struct errs *e) {
  struct errs best = {0};
  int matches = 0, best_typeok = 0, have_best = 0;
  unsigned types = 0;
  for (size_t i = 0; i < l->n; i++) {
    struct errs tmp = {0};
    validate(x, l->v[i], v, &tmp);
    types |= branch_types(l->v[i]);
    if (tmp.n == 0 && !tmp.nomem) {
      matches++;
      if (!one)
        break;
      continue;
    }
    int typeok = !rejected_type(x, &tmp);
    if (!have_best || (typeok && !best_typeok) ||
        (typeok == best_typeok && tmp.n < best.n)) {
      errs_free(&best);
      best = tmp, best_typeok = typeok, have_best = 1;
    } else {
      errs_free(&tmp);
    }
  }
  const char *kw = one ? "oneOf" : "anyOf";
  if (matches > 1 && one) {
    add(x, e, n, kw, 0, "matches more than one of its allowed forms");
  } else if (matches == 0) {
    char tt[120];
    if (n->x_error) {
      add(x, e, n, kw, 0, "%s", n->x_error);
    } else if (!best_typeok && types) {
      types_text(types, tt, sizeof tt);
      add(x, e, n, "type", 0, "must be %s, not %s", tt, type_article_name(type_of(v) & ~T_INTEGER));
    } else {
      errs_take(e, &best);
    }
  }
  errs_free(&best);
}

static int check_type(struct vctx *x, const struct sn *n, const cJSON *v, struct errs *e) {
  unsigned t = type_of(v);
  if (!n->types || (n->types & t))
    return 1;
  char want[120];
  types_text(n->types, want, sizeof want);
  if (!v)
    add(x, e, n, "type", 0, "is missing; it must be %s", want);
  else
    add(x, e, n, "type", 0, "must be %s, not %s", want, type_article_name(t & ~T_INTEGER));
  return 0;
}

static void validate(struct vctx *x, const struct sn *n, const cJSON *v, struct errs *e) {
  if (++x->depth > MAX_DEPTH) {
    add(x, e, NULL, "$ref", 0, "is nested too deeply for the schema");
    x->depth--;
    return;
  }
  if (n->always) {
    if (n->always < 0)
      add(x, e, n, "false", 0, "is not allowed here");
    x->depth--;
    return;
  }
  if (n->ref)
    validate(x, n->ref, v, e);
  if (check_type(x, n, v, e)) {
    if (n->enum_v)
      check_enum(x, n, v, e);
    if (n->const_v && !cJSON_Compare(n->const_v, v, 1)) {
      char want[80];
      value_text(n->const_v, want, sizeof want);
      add(x, e, n, "const", 0, "must be %s", want);
    }
    unsigned t = type_of(v);
    if (t & T_NUMBER)
      check_number(x, n, v->valuedouble, e);
    else if (t == T_STRING)
      check_string(x, n, v->valuestring, e);
    else if (t == T_ARRAY)
      check_array(x, n, v, e);
    else if (t == T_OBJECT)
      check_object(x, n, v, e);
    for (size_t i = 0; i < n->all_of.n; i++)
      validate(x, n->all_of.v[i], v, e);
    if (n->any_of.n)
      check_alternatives(x, n, &n->any_of, 0, v, e);
    if (n->one_of.n)
      check_alternatives(x, n, &n->one_of, 1, v, e);
  }
  x->depth--;
}

int jsonschema_validate(const struct jsonschema *s, const cJSON *value, const char *base_path,
                        const char *root_name, jsonschema_report_fn report, void *ud) {
  struct vctx x = {.root_name = root_name ? root_name : "value"};
  struct errs e = {0};
  sb_init(&x.ptr, base_path);
  sb_init(&x.name, NULL);
  validate(&x, s->root, value, &e);
  int n = (int)e.n;
  for (size_t i = 0; i < e.n && report; i++) {
    struct jsonschema_error je = {e.v[i].path, e.v[i].keyword, e.v[i].format, e.v[i].message};
    report(ud, &je);
  }
  int nomem = e.nomem || x.nomem;
  errs_free(&e);
  sb_free(&x.ptr);
  sb_free(&x.name);
  return nomem ? ERR_NOMEM : n;
}
