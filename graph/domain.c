/* domain: Odoo-style domains compiled once into a tree of AND / OR / NOT / term nodes.
 *
 * Key invariant: the compiled tree owns copies of everything it needs (values, split paths,
 * patterns) and never changes after compilation, so matching only reads it and the record.
 * Logic is two-valued: every term is true or false for any record, and "!" is an exact
 * complement. Negative term operators (!=, not in, not like, not any) are their positive twin
 * with a negate flag applied at the leaf, so a dotted path stays existential ("some line is not
 * done") while an unset relation makes the whole term false (odoo-domain.md section 5.3). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/domain.h"
#include "graph/jsonnum.h"
#include "graph/text.h"

#define MAX_DEPTH 128 /* nesting of logical operators and any-subdomains */
#define MAX_SEGS 32   /* dots in one path */
#define PAT_ONE 0xFFFFFFFEu /* "_": exactly one character */
#define PAT_RUN 0xFFFFFFFFu /* "%": any run of characters */

enum top { T_TRUE, T_FALSE, T_EQ, T_IN, T_LT, T_LE, T_GT, T_GE, T_LIKE, T_ANY };

/* A value a field is compared with: a string, a number or true (false and null mean unset and
 * are kept as match_unset instead). */
struct dval {
  int type; /* cJSON_String, cJSON_Number or cJSON_True */
  double n;
  char *s;
};

struct term {
  enum top op;
  int negate;        /* the complement of op */
  char *pathbuf;     /* the path, dots replaced by NULs; segs point into it */
  const char *segs[MAX_SEGS];
  int nsegs;
  int match_unset;   /* T_EQ, T_IN: an unset field matches */
  struct dval *vals; /* T_EQ, T_IN */
  int nvals;
  struct dval cmp;   /* ordering operators */
  int cmp_date;      /* cmp is a date-only string: compare a datetime's date part */
  uint32_t *pat;     /* T_LIKE: code points, PAT_ONE, PAT_RUN (folded when fold) */
  int npat, fold;
  struct dnode *sub; /* T_ANY */
};

enum dkind { DN_AND, DN_OR, DN_NOT, DN_TERM };

struct dnode {
  enum dkind kind;
  int depth;
  int n;
  struct dnode **kids;
  struct term *t;
};

struct domain {
  struct dnode *root;
};

/* ------------------------------------------------------------------------------------------
 * Text helpers */

/* Simple case folding for ilike, covering the scripts our users write (Vietnamese included). */
static uint32_t fold(uint32_t c) {
  if (c < 0x80)
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
    return c + 32;
  if ((c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177))
    return c | 1; /* pairs: even upper, odd lower */
  if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
    return c & 1 ? c + 1 : c; /* pairs: odd upper, even lower */
  if (c == 0x178)
    return 0xFF;
  if (c == 0x1A0 || c == 0x1AF)
    return c + 1; /* Ơ Ư */
  if (c >= 0x1E00 && c <= 0x1EFF && (c < 0x1E96 || c > 0x1E9F))
    return c | 1;
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2)
    return c + 32;
  if (c >= 0x410 && c <= 0x42F)
    return c + 32;
  if (c >= 0x400 && c <= 0x40F)
    return c + 80;
  return c;
}

/* SQL LIKE over code points: PAT_ONE is one character, PAT_RUN any run. On a mismatch we go
 * back to the last PAT_RUN and let it take one more character, which is enough for patterns
 * with only these two wildcards. */
static int pat_match(const uint32_t *pat, int npat, const char *str, int folded) {
  const unsigned char *s = (const unsigned char *)str, *end = s + strlen(str), *star_s = NULL;
  int pi = 0, star = -1;
  uint32_t c;
  while (s < end) {
    int w = text_utf8_next(s, end, &c);
    if (folded)
      c = fold(c);
    if (pi < npat && pat[pi] == PAT_RUN) {
      star = pi++;
      star_s = s;
    } else if (pi < npat && (pat[pi] == PAT_ONE || pat[pi] == c)) {
      pi++;
      s += w;
    } else if (star >= 0) {
      pi = star + 1;
      star_s += text_utf8_next(star_s, end, &c);
      s = star_s;
    } else {
      return 0;
    }
  }
  while (pi < npat && pat[pi] == PAT_RUN)
    pi++;
  return pi == npat;
}

/* "YYYY-MM-DD" at the start of s. */
static int starts_with_date(const char *s) {
  static const char shape[] = "dddd-dd-dd";
  for (int i = 0; i < 10; i++)
    if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != '-')
      return 0;
  return 1;
}

static int is_datetime(const char *s) {
  return strlen(s) > 10 && (s[10] == ' ' || s[10] == 'T') && starts_with_date(s);
}

/* ------------------------------------------------------------------------------------------
 * Matching */

static int node_match(const struct dnode *n, const cJSON *rec);

/* cJSON's own type tests are out-of-line library calls; matching is hot enough to inline
 * them. jt(NULL) is cJSON_Invalid. */
static inline int jt(const cJSON *j) { return j ? j->type & 0xFF : cJSON_Invalid; }

/* Unset: absent, null, false or an empty array (odoo-domain.md section 3). */
static int is_unset(const cJSON *f) {
  int t = jt(f);
  return t == cJSON_Invalid || t == cJSON_NULL || t == cJSON_False ||
         (t == cJSON_Array && !f->child);
}

static int scalar_eq(const cJSON *f, const struct dval *v) {
  switch (v->type) {
  case cJSON_Number: return jt(f) == cJSON_Number && f->valuedouble == v->n;
  case cJSON_String:
    return jt(f) == cJSON_String && f->valuestring && !strcmp(f->valuestring, v->s);
  default: return jt(f) == cJSON_True;
  }
}

static int in_vals(const cJSON *f, const struct term *t) {
  for (int i = 0; i < t->nvals; i++)
    if (scalar_eq(f, &t->vals[i]))
      return 1;
  return 0;
}

/* = and in; on an array field (x2many) they mean "contains". */
static int eq_match(const cJSON *f, const struct term *t) {
  if (is_unset(f))
    return t->match_unset;
  if (jt(f) != cJSON_Array)
    return in_vals(f, t);
  for (const cJSON *e = f->child; e; e = e->next)
    if (in_vals(e, t))
      return 1;
  return 0;
}

static int order_one(const cJSON *f, const struct term *t) {
  int c;
  if (t->cmp.type == cJSON_Number) {
    if (jt(f) != cJSON_Number)
      return 0;
    c = f->valuedouble < t->cmp.n ? -1 : f->valuedouble > t->cmp.n;
  } else {
    if (jt(f) != cJSON_String || !f->valuestring)
      return 0;
    /* A date against a datetime covers the whole day: compare the date part only. */
    c = t->cmp_date && is_datetime(f->valuestring) ? strncmp(f->valuestring, t->cmp.s, 10)
                                                    : strcmp(f->valuestring, t->cmp.s);
  }
  switch (t->op) {
  case T_LT: return c < 0;
  case T_LE: return c <= 0;
  case T_GT: return c > 0;
  default: return c >= 0;
  }
}

static int like_one(const cJSON *f, const struct term *t) {
  char num[JSONNUM_BUFSIZE];
  const char *s;
  if (cJSON_IsString(f) && f->valuestring)
    s = f->valuestring;
  else if (cJSON_IsNumber(f))
    s = jsonnum_format(f->valuedouble, num);
  else if (cJSON_IsTrue(f))
    s = "true";
  else
    return 0;
  return pat_match(t->pat, t->npat, s, t->fold);
}

static int any_one(const cJSON *f, const struct term *t) {
  return cJSON_IsObject(f) && node_match(t->sub, f);
}

/* Ordering, like and any hold for an array field when they hold for one of its elements. */
static int some_element(const cJSON *f, const struct term *t,
                        int (*one)(const cJSON *, const struct term *)) {
  if (is_unset(f))
    return 0;
  if (jt(f) != cJSON_Array)
    return one(f, t);
  for (const cJSON *e = f->child; e; e = e->next)
    if (one(e, t))
      return 1;
  return 0;
}

/* The operator applied to the value at the end of the path (NULL when absent). */
static int leaf(const struct term *t, const cJSON *f) {
  int r;
  switch (t->op) {
  case T_EQ:
  case T_IN: r = eq_match(f, t); break;
  case T_LIKE: r = some_element(f, t, like_one); break;
  case T_ANY: r = some_element(f, t, any_one); break;
  default: r = some_element(f, t, order_one); break;
  }
  return t->negate ? !r : r;
}

/* Member lookup is most of a match's time (cJSON objects are lists of members). Checking the
 * first byte before calling strcmp measured faster than both a plain strcmp and an inline
 * byte loop. Keys are never empty (compile_path rejects empty segments). */
static const cJSON *member(const cJSON *o, const char *key) {
  for (const cJSON *c = o->child; c; c = c->next)
    if (c->string && c->string[0] == key[0] && strcmp(c->string, key) == 0)
      return c;
  return NULL;
}

/* Follows segment i of the path from rec. Through a relation the term is existential: some
 * related record (the object, or an element of the array) must satisfy the rest; none does
 * when the relation is unset. */
static int follow(const struct term *t, const cJSON *rec, int i) {
  const cJSON *f = jt(rec) == cJSON_Object ? member(rec, t->segs[i]) : NULL;
  if (i == t->nsegs - 1)
    return leaf(t, f);
  if (jt(f) == cJSON_Object)
    return follow(t, f, i + 1);
  if (jt(f) != cJSON_Array)
    return 0;
  for (const cJSON *e = f->child; e; e = e->next)
    if (jt(e) == cJSON_Object && follow(t, e, i + 1))
      return 1;
  return 0;
}

static int node_match(const struct dnode *n, const cJSON *rec) {
  switch (n->kind) {
  case DN_AND:
    for (int i = 0; i < n->n; i++)
      if (!node_match(n->kids[i], rec))
        return 0;
    return 1;
  case DN_OR:
    for (int i = 0; i < n->n; i++)
      if (node_match(n->kids[i], rec))
        return 1;
    return 0;
  case DN_NOT: return !node_match(n->kids[0], rec);
  default:
    if (n->t->op == T_TRUE || n->t->op == T_FALSE)
      return n->t->op == T_TRUE;
    return follow(n->t, rec, 0);
  }
}

/* ------------------------------------------------------------------------------------------
 * Freeing */

static void node_free(struct dnode *n);

static void term_free(struct term *t) {
  if (!t)
    return;
  free(t->pathbuf);
  for (int i = 0; i < t->nvals; i++)
    free(t->vals[i].s);
  free(t->vals);
  free(t->cmp.s);
  free(t->pat);
  node_free(t->sub);
  free(t);
}

static void node_free(struct dnode *n) {
  if (!n)
    return;
  for (int i = 0; i < n->n; i++)
    node_free(n->kids[i]);
  free(n->kids);
  term_free(n->t);
  free(n);
}

/* ------------------------------------------------------------------------------------------
 * Compiling terms. struct cpath is the JSON Pointer of the item being compiled. */

struct cpath {
  char buf[512];
  size_t len;
};

static size_t cp_push(struct cpath *p, int i) {
  size_t old = p->len;
  int w = snprintf(p->buf + p->len, sizeof p->buf - p->len, "/%d", i);
  if (w > 0 && (size_t)w < sizeof p->buf - p->len)
    p->len += (size_t)w;
  p->buf[p->len] = '\0';
  return old;
}

static void cp_pop(struct cpath *p, size_t old) {
  p->len = old;
  p->buf[old] = '\0';
}

/* err_set at the current path plus one more index. */
static int fail_at(struct err_detail *d, int code, struct cpath *p, int i, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail_at(struct err_detail *d, int code, struct cpath *p, int i, const char *fmt, ...) {
  char msg[sizeof d->msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  size_t mark = cp_push(p, i);
  err_set(d, code, p->buf, "%s", msg);
  cp_pop(p, mark);
  return code;
}

struct opdef {
  const char *name;
  enum top op;
  int negate;
  int substring; /* like family: match anywhere (%v%) rather than the whole string */
  int fold;      /* like family: case-insensitive */
};

static const struct opdef term_ops[] = {
    {"=", T_EQ, 0, 0, 0},         {"==", T_EQ, 0, 0, 0},        {"!=", T_EQ, 1, 0, 0},
    {"<>", T_EQ, 1, 0, 0},        {"=?", T_EQ, 0, 0, 0},        {"<", T_LT, 0, 0, 0},
    {"<=", T_LE, 0, 0, 0},        {">", T_GT, 0, 0, 0},         {">=", T_GE, 0, 0, 0},
    {"in", T_IN, 0, 0, 0},        {"not in", T_IN, 1, 0, 0},    {"like", T_LIKE, 0, 1, 0},
    {"not like", T_LIKE, 1, 1, 0}, {"ilike", T_LIKE, 0, 1, 1},  {"not ilike", T_LIKE, 1, 1, 1},
    {"=like", T_LIKE, 0, 0, 0},   {"=ilike", T_LIKE, 0, 0, 1},  {"any", T_ANY, 0, 0, 0},
    {"not any", T_ANY, 1, 0, 0},
};

/* Finds the operator, matched case-insensitively (older Odoo lower-cases operators too). */
static const struct opdef *find_op(const char *name) {
  char low[16];
  size_t n = strlen(name);
  if (n >= sizeof low)
    return NULL;
  for (size_t i = 0; i <= n; i++)
    low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
  for (size_t i = 0; i < sizeof term_ops / sizeof term_ops[0]; i++)
    if (!strcmp(term_ops[i].name, low))
      return &term_ops[i];
  return NULL;
}

static int is_scalar(const cJSON *v) {
  return cJSON_IsString(v) || cJSON_IsNumber(v) || cJSON_IsBool(v) || cJSON_IsNull(v);
}

/* Copies a string, number or true into dv. */
static int dval_set(struct dval *dv, const cJSON *v) {
  dv->type = v->type & 0xFF;
  dv->n = v->valuedouble;
  if (dv->type == cJSON_String && !(dv->s = strdup(v->valuestring ? v->valuestring : "")))
    return ERR_NOMEM;
  return 0;
}

/* The values of = and in: a list, or one scalar. false and null become match_unset. */
static int compile_values(struct term *t, const cJSON *v, struct cpath *p,
                          struct err_detail *d) {
  int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 1, i = 0;
  if (!cJSON_IsArray(v) && !is_scalar(v))
    return fail_at(d, ERR_PARSE, p, 2, "the value must be a string, number, boolean, null "
                   "or a list of them");
  if (!(t->vals = calloc(n ? (size_t)n : 1, sizeof *t->vals)))
    return ERR_NOMEM;
  for (const cJSON *e = cJSON_IsArray(v) ? v->child : v; e && i < n; e = e->next, i++) {
    if (!is_scalar(e)) {
      size_t mark = cp_push(p, 2);
      fail_at(d, ERR_PARSE, p, i, "a list value must hold strings, numbers, booleans or "
              "null");
      cp_pop(p, mark);
      return ERR_PARSE;
    }
    if (cJSON_IsNull(e) || cJSON_IsFalse(e))
      t->match_unset = 1;
    else if (dval_set(&t->vals[t->nvals++], e))
      return ERR_NOMEM;
  }
  return 0;
}

static int compile_ordering(struct term *t, const cJSON *v, struct cpath *p,
                            struct err_detail *d) {
  if (cJSON_IsNull(v) || cJSON_IsFalse(v)) {
    t->op = T_FALSE; /* comparing with "unset" matches nothing */
    return 0;
  }
  if (!cJSON_IsString(v) && !cJSON_IsNumber(v))
    return fail_at(d, ERR_PARSE, p, 2, "an ordering operator needs a number or a string");
  if (dval_set(&t->cmp, v))
    return ERR_NOMEM;
  t->cmp_date = t->cmp.type == cJSON_String && strlen(t->cmp.s) == 10 &&
                starts_with_date(t->cmp.s);
  return 0;
}

/* Turns the pattern text into code points and wildcards; backslash escapes the next
 * character, as in PostgreSQL. */
static int compile_pattern(struct term *t, const char *v, int substring) {
  const unsigned char *p = (const unsigned char *)v, *end = p + strlen(v);
  int k = 0;
  if (!(t->pat = malloc(sizeof *t->pat * (strlen(v) + 2))))
    return ERR_NOMEM;
  if (substring)
    t->pat[k++] = PAT_RUN;
  while (p < end) {
    uint32_t c, tok;
    p += text_utf8_next(p, end, &c);
    if (c == '\\' && p < end)
      p += text_utf8_next(p, end, &c), tok = t->fold ? fold(c) : c;
    else
      tok = c == '%' ? PAT_RUN : c == '_' ? PAT_ONE : t->fold ? fold(c) : c;
    if (!(tok == PAT_RUN && k > 0 && t->pat[k - 1] == PAT_RUN))
      t->pat[k++] = tok;
  }
  if (substring && t->pat[k - 1] != PAT_RUN)
    t->pat[k++] = PAT_RUN;
  t->npat = k;
  return 0;
}

static int compile_like(struct term *t, const struct opdef *op, const cJSON *v,
                        struct cpath *p, struct err_detail *d) {
  char num[JSONNUM_BUFSIZE];
  const char *text = NULL;
  if (cJSON_IsString(v))
    text = v->valuestring ? v->valuestring : "";
  else if (cJSON_IsNumber(v) && op->substring) /* Odoo casts numbers for like/ilike only */
    text = jsonnum_format(v->valuedouble, num);
  if (!text)
    return fail_at(d, ERR_PARSE, p, 2, "operator \"%s\" needs a string pattern", op->name);
  if (!*text)
    return fail_at(d, ERR_PARSE, p, 2, "operator \"%s\" with an empty pattern is ambiguous "
                   "(Odoo versions disagree); use = or != with false instead", op->name);
  t->fold = op->fold;
  return compile_pattern(t, text, op->substring);
}

static int parse(const cJSON *list, struct cpath *p, int nest, struct dnode **out,
                 struct err_detail *d);

/* The value part of a term, by operator. */
static int compile_value(struct term *t, const struct opdef *op, const cJSON *v,
                         struct cpath *p, int nest, struct err_detail *d) {
  int rc;
  switch (op->op) {
  case T_EQ:
    if (!strcmp(op->name, "=?") && (cJSON_IsNull(v) || cJSON_IsFalse(v))) {
      t->op = T_TRUE; /* "equal if a value is given": none was */
      return 0;
    }
    if (cJSON_IsArray(v) && v->child)
      t->op = T_IN; /* Odoo rewrites = [list] into in */
    if (cJSON_IsArray(v) && !v->child) {
      t->match_unset = 1; /* = [] reads as "is unset" */
      return 0;
    }
    return compile_values(t, v, p, d);
  case T_IN: return compile_values(t, v, p, d);
  case T_LIKE: return compile_like(t, op, v, p, d);
  case T_ANY: {
    if (!cJSON_IsArray(v))
      return fail_at(d, ERR_PARSE, p, 2, "operator \"%s\" needs a domain (an array)", op->name);
    size_t mark = cp_push(p, 2);
    rc = parse(v, p, nest + 1, &t->sub, d);
    cp_pop(p, mark);
    return rc;
  }
  default: return compile_ordering(t, v, p, d);
  }
}

/* The field: a non-empty dotted path without empty segments. */
static int compile_path(struct term *t, const cJSON *f, struct cpath *p, struct err_detail *d) {
  if (!cJSON_IsString(f) || !f->valuestring || !*f->valuestring)
    return fail_at(d, ERR_PARSE, p, 0, "the field must be a non-empty string");
  if (!(t->pathbuf = strdup(f->valuestring)))
    return ERR_NOMEM;
  for (char *s = t->pathbuf;; s++) {
    if (t->nsegs == MAX_SEGS)
      return fail_at(d, ERR_PARSE, p, 0, "the path \"%s\" is too long", f->valuestring);
    t->segs[t->nsegs++] = s;
    s = strchr(s, '.');
    if (!s)
      break;
    *s = '\0';
  }
  for (int i = 0; i < t->nsegs; i++)
    if (!*t->segs[i])
      return fail_at(d, ERR_PARSE, p, 0, "the path \"%s\" has an empty segment", f->valuestring);
  return 0;
}

/* [1, "=", 1] and [0, "=", 1]: the constant terms; any other number as field is an error. */
static int constant_term(const cJSON *f, const cJSON *o, const cJSON *v) {
  if (!cJSON_IsNumber(f) || !cJSON_IsNumber(v) || v->valuedouble != 1 ||
      strcmp(o->valuestring, "=") != 0)
    return -1;
  return f->valuedouble == 1 ? T_TRUE : f->valuedouble == 0 ? T_FALSE : -1;
}

static int compile_term(const cJSON *item, struct cpath *p, int nest, struct term **out,
                        struct err_detail *d) {
  const cJSON *f = item->child, *o = f ? f->next : NULL, *v = o ? o->next : NULL;
  if (cJSON_GetArraySize(item) != 3)
    return err_set(d, ERR_PARSE, p->buf, "a term must be [field, operator, value]; this one "
                   "has %d elements", cJSON_GetArraySize(item));
  if (!cJSON_IsString(o) || !o->valuestring)
    return fail_at(d, ERR_PARSE, p, 1, "the operator must be a string");
  const struct opdef *op = find_op(o->valuestring);
  if (!op && (!strcmp(o->valuestring, "child_of") || !strcmp(o->valuestring, "parent_of")))
    return fail_at(d, ERR_PARSE, p, 1, "operator \"%s\" needs a hierarchy of records, which "
                   "flowd does not have", o->valuestring);
  if (!op)
    return fail_at(d, ERR_PARSE, p, 1, "unknown domain operator \"%s\"", o->valuestring);
  struct term *t = calloc(1, sizeof *t);
  if (!t)
    return ERR_NOMEM;
  t->op = op->op;
  t->negate = op->negate;
  int rc, k = constant_term(f, o, v);
  if (k >= 0)
    t->op = (enum top)k, rc = 0;
  else if (!(rc = compile_path(t, f, p, d)))
    rc = compile_value(t, op, v, p, nest, d);
  if (rc) {
    term_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

/* ------------------------------------------------------------------------------------------
 * Compiling the logical layer: the list is read right to left with a stack (odoo-domain.md
 * section 2.3); whatever is left on the stack at the end is AND-ed. */

static struct dnode *new_node(enum dkind kind, int nkids) {
  struct dnode *n = calloc(1, sizeof *n);
  if (n && nkids && !(n->kids = calloc((size_t)nkids, sizeof *n->kids))) {
    free(n);
    return NULL;
  }
  if (n)
    n->kind = kind;
  return n;
}

static void add_kid(struct dnode *n, struct dnode *kid) {
  n->kids[n->n++] = kid;
  if (kid->depth + 1 > n->depth)
    n->depth = kid->depth + 1;
}

/* AND or OR of kids[0..k), left to right; nested nodes of the same kind are merged in, so
 * long chains stay flat. Takes ownership of the kids, also on failure. */
static struct dnode *make_nary(enum dkind kind, struct dnode **kids, int k) {
  int total = 0;
  for (int i = 0; i < k; i++)
    total += kids[i]->kind == kind ? kids[i]->n : 1;
  struct dnode *n = new_node(kind, total);
  for (int i = 0; i < k; i++) {
    if (n && kids[i]->kind == kind) {
      for (int j = 0; j < kids[i]->n; j++)
        add_kid(n, kids[i]->kids[j]);
      kids[i]->n = 0;
      node_free(kids[i]);
    } else if (n) {
      add_kid(n, kids[i]);
    } else {
      node_free(kids[i]);
    }
  }
  return n;
}

/* NOT of kid; a double negation cancels. Takes ownership of kid. */
static struct dnode *make_not(struct dnode *kid) {
  if (kid->kind == DN_NOT) {
    struct dnode *inner = kid->kids[0];
    kid->n = 0;
    node_free(kid);
    return inner;
  }
  struct dnode *n = new_node(DN_NOT, 1);
  if (n)
    add_kid(n, kid);
  else
    node_free(kid);
  return n;
}

/* One item: a logical operator (taking its operands from the stack) or a term. */
static int parse_item(const cJSON *it, struct cpath *p, int nest, struct dnode **stack,
                      int *top, struct err_detail *d) {
  struct dnode *n = NULL;
  if (cJSON_IsString(it) && it->valuestring && strlen(it->valuestring) == 1 &&
      strchr("&|!", it->valuestring[0])) {
    int need = it->valuestring[0] == '!' ? 1 : 2;
    if (*top < need)
      return err_set(d, ERR_PARSE, p->buf, "operator \"%s\" needs %d operand%s after it",
                     it->valuestring, need, need == 1 ? "" : "s");
    *top -= need;
    if (need == 1)
      n = make_not(stack[*top]);
    else
      n = make_nary(it->valuestring[0] == '&' ? DN_AND : DN_OR,
                    (struct dnode *[]){stack[*top + 1], stack[*top]}, 2);
  } else if (cJSON_IsArray(it)) {
    struct term *t = NULL;
    int rc = compile_term(it, p, nest, &t, d);
    if (rc)
      return rc;
    if (!(n = new_node(DN_TERM, 0))) {
      term_free(t);
      return ERR_NOMEM;
    }
    n->t = t;
    n->depth = 1 + (t->sub ? t->sub->depth : 0);
  } else {
    return err_set(d, ERR_PARSE, p->buf, "a domain item must be a term [field, operator, "
                   "value] or one of \"&\", \"|\", \"!\"");
  }
  if (!n)
    return ERR_NOMEM;
  stack[(*top)++] = n;
  if (n->depth > MAX_DEPTH)
    return err_set(d, ERR_TOODEEP, p->buf, "domain nested more than %d levels deep", MAX_DEPTH);
  return 0;
}

static int parse(const cJSON *list, struct cpath *p, int nest, struct dnode **out,
                 struct err_detail *d) {
  int n = cJSON_GetArraySize(list), top = 0, rc = 0;
  if (nest > MAX_DEPTH)
    return err_set(d, ERR_TOODEEP, p->buf, "domain nested more than %d levels deep", MAX_DEPTH);
  const cJSON **items = malloc(sizeof *items * (size_t)(n + 1));
  struct dnode **stack = malloc(sizeof *stack * (size_t)(n + 1));
  if (!items || !stack)
    rc = ERR_NOMEM;
  int i = 0;
  for (const cJSON *c = list->child; c && !rc; c = c->next)
    items[i++] = c;
  for (i = n - 1; i >= 0 && !rc; i--) {
    size_t mark = cp_push(p, i);
    rc = parse_item(items[i], p, nest, stack, &top, d);
    cp_pop(p, mark);
  }
  if (!rc && top == 0) {
    struct term *t = calloc(1, sizeof *t); /* the empty domain matches everything */
    if (t && (*out = new_node(DN_TERM, 0)))
      (*out)->t = t, t->op = T_TRUE;
    else
      free(t), rc = ERR_NOMEM;
  } else if (!rc && top == 1) {
    *out = stack[0];
  } else if (!rc) {
    for (i = 0; i < top / 2; i++) { /* the stack's top is the leftmost expression */
      struct dnode *x = stack[i];
      stack[i] = stack[top - 1 - i];
      stack[top - 1 - i] = x;
    }
    *out = make_nary(DN_AND, stack, top);
    rc = *out ? 0 : ERR_NOMEM;
  }
  for (i = 0; rc && stack && i < top; i++)
    node_free(stack[i]);
  free(items);
  free(stack);
  return rc;
}

/* ------------------------------------------------------------------------------------------
 * Public interface */

int domain_compile(const cJSON *list, struct domain **out, struct err_detail *detail) {
  struct cpath p = {.len = 0};
  if (!out)
    return err_set(detail, ERR_INVAL, "", "no place for the compiled domain");
  *out = NULL;
  if (!cJSON_IsArray(list))
    return err_set(detail, ERR_PARSE, "", "a domain must be an array");
  struct domain *dm = calloc(1, sizeof *dm);
  int rc = dm ? parse(list, &p, 0, &dm->root, detail) : ERR_NOMEM;
  if (rc == ERR_NOMEM)
    err_set(detail, rc, "", "out of memory compiling the domain");
  if (rc) {
    domain_free(dm);
    return rc;
  }
  *out = dm;
  return 0;
}

int domain_match(const struct domain *dm, const cJSON *record) {
  return dm ? node_match(dm->root, record) : 0;
}

void domain_free(struct domain *dm) {
  if (!dm)
    return;
  node_free(dm->root);
  free(dm);
}
