/* jsonlogic: JSON Logic rules compiled once into a tree of nodes and evaluated over cJSON.
 *
 * Key invariant: the compiled tree is immutable and owns everything it points to; evaluation
 * reads only the tree and the data. Values met during evaluation are struct jv: scalars are
 * held inline, and strings, arrays and objects are cJSON that is either borrowed (from the data
 * or the tree's constants, valid for the whole evaluation) or owned (built by this evaluation;
 * whoever holds an owned jv frees it or hands it on). Arrays we build contain only copies, so an
 * owned value never points into the data. A result that borrows from a per-element scope
 * (filter, map, reduce) is copied before that scope goes away.
 *
 * The coercions are JavaScript's, because json-logic-js is the reference: loose equality with
 * the abstract-equality table, ToNumber/parseFloat on strings, ToString of arrays ("1,2") and
 * numbers (graph/jsonnum), relational comparison of strings by UTF-16 code unit. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/jsonlogic.h"
#include "graph/jsonnum.h"
#include "graph/text.h"

#define MAX_DEPTH 256  /* nesting of a rule; bounds the evaluator's recursion */
#define INLINE_ARGS 8  /* operators with at most this many arguments evaluate without malloc */
#define INLINE_SEGS 16 /* var paths computed at run time with at most this many dots, likewise */

/* ------------------------------------------------------------------------------------------
 * Values */

enum jv_kind { JV_UNDEF, JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ };

struct jv {
  unsigned char kind;
  unsigned char owned; /* json belongs to this value */
  union {              /* kept small: operators copy values around a lot */
    int b;             /* JV_BOOL */
    double n;          /* JV_NUM */
    const char *s;     /* JV_STR: NUL-terminated UTF-8 */
  };
  const cJSON *json;   /* JV_STR, JV_ARR, JV_OBJ (a JV_STR local to one function may lack it) */
};

static const struct jv undef_jv; /* all zero: JV_UNDEF */

static struct jv jv_bool(int b) { return (struct jv){.kind = JV_BOOL, .b = !!b}; }
static struct jv jv_num(double n) { return (struct jv){.kind = JV_NUM, .n = n}; }
static struct jv jv_null(void) { return (struct jv){.kind = JV_NULL}; }

/* A borrowed view of j; NULL (absent) is undefined. */
static struct jv jv_of(const cJSON *j) {
  if (!j)
    return undef_jv;
  switch (j->type & 0xFF) {
  case cJSON_False: return jv_bool(0);
  case cJSON_True: return jv_bool(1);
  case cJSON_Number: return jv_num(j->valuedouble);
  case cJSON_String:
    return (struct jv){.kind = JV_STR, .s = j->valuestring ? j->valuestring : "", .json = j};
  case cJSON_Array: return (struct jv){.kind = JV_ARR, .json = j};
  case cJSON_Object: return (struct jv){.kind = JV_OBJ, .json = j};
  default: return jv_null();
  }
}

/* The data handed to an evaluation: NULL there means null, not undefined. */
static struct jv jv_data(const cJSON *data) { return data ? jv_of(data) : jv_null(); }

static struct jv jv_owned(cJSON *j) {
  struct jv v = jv_of(j);
  v.owned = 1;
  return v;
}

static void jv_drop(struct jv *v) {
  if (v->owned)
    cJSON_Delete((cJSON *)v->json);
  *v = undef_jv;
}

/* Hands v on: the copy takes over ownership, v stays readable but no longer frees. */
static struct jv jv_move(struct jv *v) {
  struct jv t = *v;
  v->owned = 0;
  return t;
}

/* cJSON_Duplicate keeps an object member's key; a value we hand out must not carry one. */
static void strip_key(cJSON *j) {
  if (j->string && !(j->type & cJSON_StringIsConst))
    cJSON_free(j->string);
  j->string = NULL;
  j->type &= ~cJSON_StringIsConst;
}

/* cJSON_CreateNumber converts to int internally, which is undefined for NaN and infinities.
 * Negative zero becomes 0, as JSON.stringify writes it (cJSON would print "-0"). */
static cJSON *make_number(double n) {
  if (n == 0)
    n = 0;
  cJSON *j = cJSON_CreateNumber(isfinite(n) ? n : 0);
  if (j && !isfinite(n))
    j->valuedouble = n;
  return j;
}

/* Returns v as a new cJSON, consuming its ownership; NULL when out of memory. undefined
 * becomes null, as JSON.stringify makes it inside arrays. */
static cJSON *jv_take(struct jv *v) {
  cJSON *j;
  switch (v->kind) {
  case JV_UNDEF:
  case JV_NULL: return cJSON_CreateNull();
  case JV_BOOL: return cJSON_CreateBool(v->b);
  case JV_NUM: return make_number(v->n);
  }
  if (v->owned) {
    j = (cJSON *)v->json;
    *v = undef_jv;
    return j;
  }
  if (!v->json)
    return cJSON_CreateString(v->s);
  j = cJSON_Duplicate(v->json, 1);
  if (j)
    strip_key(j);
  return j;
}

/* Makes v independent of whatever it borrowed from. */
static int jv_own(struct jv *v) {
  if (v->kind < JV_STR || v->owned)
    return 0;
  cJSON *j = jv_take(v);
  if (!j)
    return ERR_NOMEM;
  *v = jv_owned(j);
  return 0;
}

static int jv_truthy(const struct jv *v) {
  switch (v->kind) {
  case JV_BOOL: return v->b;
  case JV_NUM: return v->n != 0 && !isnan(v->n);
  case JV_STR: return v->s[0] != '\0';
  case JV_ARR: return v->json->child != NULL; /* JSON Logic, unlike JS: [] is falsy */
  case JV_OBJ: return 1;
  default: return 0;
  }
}

/* ------------------------------------------------------------------------------------------
 * A growable string with an inline buffer, so short conversions do not allocate. A failed
 * growth sets oom and stops appending; users report ERR_NOMEM. Never copy an sbuf. */

struct sbuf {
  char *p;
  size_t len, cap;
  int oom;
  char inl[120];
};

static void sb_init(struct sbuf *b) {
  b->p = b->inl;
  b->len = 0;
  b->cap = sizeof b->inl;
  b->oom = 0;
  b->inl[0] = '\0';
}

static void sb_add(struct sbuf *b, const char *s, size_t n) {
  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap * 2;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *p = b->p == b->inl ? malloc(cap) : realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    if (b->p == b->inl)
      memcpy(p, b->inl, b->len + 1);
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void sb_adds(struct sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_free(struct sbuf *b) {
  if (b->p != b->inl)
    free(b->p);
}

/* ------------------------------------------------------------------------------------------
 * UTF-8 text seen as JavaScript sees it: a sequence of UTF-16 code units. */

static double len16(const char *s) {
  const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
  double units = 0;
  uint32_t cp;
  while (p < end) {
    p += text_utf8_next(p, end, &cp);
    units += cp >= 0x10000 ? 2 : 1;
  }
  return units;
}

/* The first UTF-16 code unit of cp: itself, or the high surrogate. */
static uint32_t unit16(uint32_t cp) { return cp < 0x10000 ? cp : 0xD800 + ((cp - 0x10000) >> 10); }

/* Compares as JavaScript's < does on strings: by UTF-16 code unit. UTF-8 byte order is code
 * point order, which differs from code unit order only between U+E000..U+FFFF and astral
 * characters, so only the first differing character needs decoding. */
static int cmp16(const char *a, const char *b) {
  size_t i = 0;
  while (a[i] && a[i] == b[i])
    i++;
  if (a[i] == b[i])
    return 0;
  size_t k = i;
  while (k > 0 && (((unsigned char)a[k] & 0xC0) == 0x80 || ((unsigned char)b[k] & 0xC0) == 0x80))
    k--;
  const unsigned char *pa = (const unsigned char *)a + k, *pb = (const unsigned char *)b + k;
  if (!*pa || !*pb)
    return *pa ? 1 : -1;
  uint32_t ca, cb;
  text_utf8_next(pa, pa + strnlen((const char *)pa, 4), &ca);
  text_utf8_next(pb, pb + strnlen((const char *)pb, 4), &cb);
  if (unit16(ca) != unit16(cb))
    return unit16(ca) < unit16(cb) ? -1 : 1;
  if (ca != cb)
    return ca < cb ? -1 : 1;
  return (unsigned char)a[i] < (unsigned char)b[i] ? -1 : 1; /* malformed bytes: any order */
}

/* Appends the code units [from, to) of s. A surrogate pair cut in half leaves a lone surrogate
 * in JavaScript, which UTF-8 cannot hold: we write U+FFFD for it, as a JS encoder would. */
static void slice16(const char *s, double from, double to, struct sbuf *out) {
  const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
  double u = 0;
  uint32_t cp;
  while (p < end && u < to) {
    int w = text_utf8_next(p, end, &cp);
    int hi_in = u >= from, lo_in = cp >= 0x10000 && u + 1 >= from && u + 1 < to;
    if (hi_in && (cp < 0x10000 || lo_in))
      sb_add(out, (const char *)p, w);
    else if (hi_in || lo_in)
      sb_adds(out, "\xEF\xBF\xBD");
    u += cp >= 0x10000 ? 2 : 1;
    p += w;
  }
}

/* ------------------------------------------------------------------------------------------
 * Numbers from strings: JavaScript's StringToNumber (Number("..."), used by ==, <, -, /, %)
 * and parseFloat (used by + and *). */

static int is_js_space(uint32_t c) {
  return c == 0x09 || c == 0x0A || c == 0x0B || c == 0x0C || c == 0x0D || c == 0x20 ||
         c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

static const char *skip_space(const char *s, const char *end) {
  uint32_t cp;
  while (s < end) {
    int w = text_utf8_next((const unsigned char *)s, (const unsigned char *)end, &cp);
    if (!is_js_space(cp))
      break;
    s += w;
  }
  return s;
}

static const char *trim_space_end(const char *s, const char *end) {
  const char *last = s;
  uint32_t cp;
  while (s < end) {
    s += text_utf8_next((const unsigned char *)s, (const unsigned char *)end, &cp);
    if (!is_js_space(cp))
      last = s;
  }
  return last;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Length of the longest prefix that is a decimal literal: [+-] digits [. digits] [e[+-]digits]
 * or [+-] . digits [...]; 0 when there is none. */
static size_t decimal_prefix(const char *s, const char *end) {
  const char *p = s;
  size_t digits = 0;
  if (p < end && (*p == '+' || *p == '-'))
    p++;
  for (; p < end && is_digit(*p); p++)
    digits++;
  if (p < end && *p == '.') {
    const char *q = p + 1;
    size_t frac = 0;
    for (; q < end && is_digit(*q); q++)
      frac++;
    if (digits + frac > 0)
      p = q, digits += frac;
  }
  if (!digits)
    return 0;
  if (p < end && (*p == 'e' || *p == 'E')) {
    const char *q = p + 1;
    if (q < end && (*q == '+' || *q == '-'))
      q++;
    const char *first = q;
    while (q < end && is_digit(*q))
      q++;
    if (q > first)
      p = q;
  }
  return (size_t)(p - s);
}

/* strtod on an exact copy: on the raw text it would also read hex, "inf" and "nan". */
static double parse_decimal(const char *s, size_t n) {
  char small[64];
  char *buf = n < sizeof small ? small : malloc(n + 1);
  if (!buf)
    return NAN;
  memcpy(buf, s, n);
  buf[n] = '\0';
  double v = strtod(buf, NULL);
  if (buf != small)
    free(buf);
  return v;
}

/* Length of a leading [+-]Infinity (0 if none); *v gets its value. */
static size_t infinity_prefix(const char *s, const char *end, double *v) {
  const char *p = s;
  int neg = 0;
  if (p < end && (*p == '+' || *p == '-'))
    neg = *p++ == '-';
  if (end - p < 8 || memcmp(p, "Infinity", 8) != 0)
    return 0;
  *v = neg ? -INFINITY : INFINITY;
  return (size_t)(p + 8 - s);
}

/* 0x.., 0o.., 0b.. literals: every character must be a digit of the base. */
static double radix_value(const char *s, const char *end, int base) {
  double v = 0;
  if (s == end)
    return NAN;
  for (; s < end; s++) {
    int d = is_digit(*s) ? *s - '0'
            : (*s >= 'a' && *s <= 'f') ? *s - 'a' + 10
            : (*s >= 'A' && *s <= 'F') ? *s - 'A' + 10
                                        : 99;
    if (d >= base)
      return NAN;
    v = v * base + d;
  }
  return v;
}

static double str_to_num(const char *str) {
  const char *end = str + strlen(str);
  const char *s = skip_space(str, end);
  end = trim_space_end(s, end);
  size_t n = (size_t)(end - s);
  double inf;
  if (n == 0)
    return 0;
  if (n > 2 && s[0] == '0') {
    int base = (s[1] | 0x20) == 'x' ? 16 : (s[1] | 0x20) == 'o' ? 8 : (s[1] | 0x20) == 'b' ? 2 : 0;
    if (base)
      return radix_value(s + 2, end, base);
  }
  if (infinity_prefix(s, end, &inf) == n)
    return inf;
  return decimal_prefix(s, end) == n ? parse_decimal(s, n) : NAN;
}

static double parse_float_str(const char *str) {
  const char *end = str + strlen(str);
  const char *s = skip_space(str, end);
  double inf;
  if (infinity_prefix(s, end, &inf))
    return inf;
  size_t n = decimal_prefix(s, end);
  return n ? parse_decimal(s, n) : NAN;
}

/* ------------------------------------------------------------------------------------------
 * Coercions. struct ctx carries what one evaluation shares: where to report, and a sticky
 * out-of-memory flag that conversions set and every operator checks when it finishes. */

struct ctx {
  struct err_detail *d;
  int oom;
};

static void to_string(const struct jv *v, struct sbuf *b);

/* Array.prototype.join(","): null elements print as nothing. */
static void join_array(const cJSON *a, struct sbuf *b) {
  for (const cJSON *c = a->child; c; c = c->next) {
    if (c != a->child)
      sb_add(b, ",", 1);
    struct jv e = jv_of(c);
    if (e.kind != JV_NULL)
      to_string(&e, b);
  }
}

/* JavaScript's String(v). */
static void to_string(const struct jv *v, struct sbuf *b) {
  char num[JSONNUM_BUFSIZE];
  switch (v->kind) {
  case JV_UNDEF: sb_adds(b, "undefined"); break;
  case JV_NULL: sb_adds(b, "null"); break;
  case JV_BOOL: sb_adds(b, v->b ? "true" : "false"); break;
  case JV_NUM: sb_adds(b, jsonnum_format(v->n, num)); break;
  case JV_STR: sb_adds(b, v->s); break;
  case JV_ARR: join_array(v->json, b); break;
  case JV_OBJ: sb_adds(b, "[object Object]"); break;
  }
}

/* Numbers from an array's or object's string form (ToPrimitive, then StringToNumber or
 * parseFloat). */
static double via_string(struct ctx *cx, const struct jv *v, double (*conv)(const char *)) {
  struct sbuf b;
  sb_init(&b);
  to_string(v, &b);
  double n = b.oom ? NAN : conv(b.p);
  cx->oom |= b.oom;
  sb_free(&b);
  return n;
}

/* JavaScript's Number(v). */
static double to_number(struct ctx *cx, const struct jv *v) {
  switch (v->kind) {
  case JV_NULL: return 0;
  case JV_BOOL: return v->b;
  case JV_NUM: return v->n;
  case JV_STR: return str_to_num(v->s);
  case JV_ARR:
  case JV_OBJ: return via_string(cx, v, str_to_num);
  default: return NAN;
  }
}

/* JavaScript's parseFloat(v). */
static double parse_float(struct ctx *cx, const struct jv *v) {
  if (v->kind == JV_NUM)
    return v->n;
  if (v->kind == JV_STR)
    return parse_float_str(v->s);
  return via_string(cx, v, parse_float_str);
}

/* ToIntegerOrInfinity. */
static double to_int(struct ctx *cx, const struct jv *v) {
  double n = to_number(cx, v);
  return isnan(n) ? 0 : isinf(n) ? n : trunc(n);
}

/* ------------------------------------------------------------------------------------------
 * Comparisons */

static int strict_eq(const struct jv *a, const struct jv *b) {
  if (a->kind != b->kind)
    return 0;
  switch (a->kind) {
  case JV_BOOL: return a->b == b->b;
  case JV_NUM: return a->n == b->n;
  case JV_STR: return strcmp(a->s, b->s) == 0;
  case JV_ARR:
  case JV_OBJ: return a->json == b->json; /* identity, as in JS */
  default: return 1;
  }
}

/* JavaScript's a == b (IsLooselyEqual). */
static int loose_eq(struct ctx *cx, const struct jv *a, const struct jv *b) {
  if (a->kind == b->kind)
    return strict_eq(a, b);
  int a_nil = a->kind <= JV_NULL, b_nil = b->kind <= JV_NULL;
  if (a_nil || b_nil)
    return a_nil && b_nil; /* null == undefined, and nothing else */
  if (a->kind == JV_BOOL || b->kind == JV_BOOL) {
    struct jv x = a->kind == JV_BOOL ? jv_num(a->b) : *a;
    struct jv y = b->kind == JV_BOOL ? jv_num(b->b) : *b;
    return loose_eq(cx, &x, &y);
  }
  int a_obj = a->kind >= JV_ARR, b_obj = b->kind >= JV_ARR;
  if (a_obj && b_obj)
    return 0;
  if (a_obj || b_obj) {
    /* An array or object meets a string or number: its string form is compared. */
    struct sbuf sb;
    sb_init(&sb);
    to_string(a_obj ? a : b, &sb);
    struct jv s = {.kind = JV_STR, .s = sb.p};
    int r = sb.oom ? 0 : loose_eq(cx, &s, a_obj ? b : a);
    cx->oom |= sb.oom;
    sb_free(&sb);
    return r;
  }
  double x = a->kind == JV_NUM ? a->n : str_to_num(a->s);
  double y = b->kind == JV_NUM ? b->n : str_to_num(b->s);
  return x == y;
}

enum { LT_FALSE = 0, LT_TRUE = 1, LT_UNDEF = 2 /* a NaN was involved */ };

static int num_lt(double x, double y) { return isnan(x) || isnan(y) ? LT_UNDEF : x < y; }

/* ToPrimitive for comparison: strings stay strings, arrays and objects become their string
 * form (in tmp); anything else is not a string (NULL). */
static const char *prim_string(const struct jv *v, struct sbuf *tmp) {
  if (v->kind == JV_STR)
    return v->s;
  if (v->kind < JV_ARR)
    return NULL;
  to_string(v, tmp);
  return tmp->p;
}

/* JavaScript's abstract relational comparison a < b: LT_TRUE, LT_FALSE or LT_UNDEF. */
static int js_lt(struct ctx *cx, const struct jv *a, const struct jv *b) {
  if (a->kind == JV_NUM && b->kind == JV_NUM)
    return num_lt(a->n, b->n);
  struct sbuf ta, tb;
  sb_init(&ta);
  sb_init(&tb);
  const char *sa = prim_string(a, &ta), *sb = prim_string(b, &tb);
  int r;
  if (ta.oom || tb.oom)
    cx->oom = 1, r = LT_UNDEF;
  else if (sa && sb)
    r = cmp16(sa, sb) < 0;
  else
    r = num_lt(sa ? str_to_num(sa) : to_number(cx, a), sb ? str_to_num(sb) : to_number(cx, b));
  sb_free(&ta);
  sb_free(&tb);
  return r;
}

/* a <= b is "not b < a", where an undefined comparison makes it false. */
static int js_le(struct ctx *cx, const struct jv *a, const struct jv *b) {
  return js_lt(cx, b, a) == LT_FALSE;
}

/* ------------------------------------------------------------------------------------------
 * The compiled tree */

struct node;
typedef int (*eval_fn)(const struct node *n, const cJSON *data, struct ctx *cx, struct jv *out);
/* An operator whose arguments are all evaluated first (the reference's default). It may move
 * an argument into *out with jv_move; the caller frees the arguments afterwards. */
typedef int (*apply_fn)(const struct node *n, struct jv *args, int argc, const cJSON *data,
                        struct ctx *cx, struct jv *out);

/* One segment of a var path; idx >= 0 when the segment is a canonical array index. */
struct seg {
  const char *key;
  size_t len;
  long idx;
};

struct node {
  eval_fn eval;
  apply_fn apply;     /* when eval is ev_eager */
  char *path;         /* JSON Pointer of the operation in the rule, for evaluation errors */
  int argc;
  struct node **argv;
  struct jv k;        /* constant: the value (borrowing kjson) */
  cJSON *kjson;
  int var_root;       /* var with an empty path: the data itself */
  struct seg *segs;   /* var with a constant path, split once */
  int nsegs;
  char *segbuf;
};

struct jsonlogic {
  struct node *root;
};

#define EVAL(n, data, cx, out) ((n)->eval((n), (data), (cx), (out)))

static int ev_const(const struct node *n, const cJSON *data, struct ctx *cx, struct jv *out) {
  *out = n->k;
  return 0;
}

/* What a missing argument of filter, map, reduce... evaluates to: undefined. */
static const struct node undef_node = {.eval = ev_const};

static const struct node *arg_node(const struct node *n, int i) {
  return i < n->argc ? n->argv[i] : &undef_node;
}

static void node_free(struct node *n) {
  if (!n)
    return;
  for (int i = 0; i < n->argc && n->argv; i++)
    node_free(n->argv[i]);
  free(n->argv);
  free(n->path);
  cJSON_Delete(n->kjson);
  free(n->segs);
  free(n->segbuf);
  free(n);
}

/* ------------------------------------------------------------------------------------------
 * var: data lookup by a dotted path, as json-logic-js does it: each step reads data[segment]
 * (object member, array index or "length", string character or "length"); a step from null or
 * a missing member ends in "not found". */

/* A canonical array index ("0", "17"; not "01" or "-1"). Nine digits at most keeps the value
 * in any long; no cJSON array comes near 10^9 elements. */
static long seg_index(const char *k, size_t len) {
  if (len == 0 || len > 9 || (len > 1 && k[0] == '0'))
    return -1;
  long v = 0;
  for (size_t i = 0; i < len; i++) {
    if (!is_digit(k[i]))
      return -1;
    v = v * 10 + (k[i] - '0');
  }
  return v;
}

/* Member lookup is most of an evaluation's time (cJSON objects are lists of members). Checking
 * the first byte before calling strncmp measured faster than both a plain strncmp and an
 * inline byte loop. An empty key has no first byte to check. */
static const cJSON *obj_get(const cJSON *o, const char *key, size_t len) {
  for (const cJSON *c = o->child; c; c = c->next)
    if (c->string && c->string[0] == (len ? key[0] : '\0') &&
        strncmp(c->string, key, len) == 0 && c->string[len] == '\0')
      return c;
  return NULL;
}

static int is_length(const struct seg *sg) {
  return sg->len == 6 && !memcmp(sg->key, "length", 6);
}

/* One step: returns 1 and sets *out when cur has the property, 0 when not, or ERR_NOMEM. */
static int descend(const struct jv *cur, const struct seg *sg, struct jv *out) {
  const cJSON *c = NULL;
  if (cur->kind == JV_OBJ) {
    c = obj_get(cur->json, sg->key, sg->len);
  } else if (cur->kind == JV_ARR && sg->idx >= 0) {
    long i = 0;
    for (c = cur->json->child; c && i < sg->idx; c = c->next)
      i++;
  } else if ((cur->kind == JV_ARR || cur->kind == JV_STR) && is_length(sg)) {
    *out = jv_num(cur->kind == JV_STR ? len16(cur->s) : cJSON_GetArraySize(cur->json));
    return 1;
  } else if (cur->kind == JV_STR && sg->idx >= 0 && sg->idx < len16(cur->s)) {
    struct sbuf b;
    sb_init(&b);
    slice16(cur->s, (double)sg->idx, (double)sg->idx + 1, &b);
    cJSON *j = b.oom ? NULL : cJSON_CreateString(b.p);
    sb_free(&b);
    if (!j)
      return ERR_NOMEM;
    *out = jv_owned(j);
    return 1;
  }
  if (!c)
    return 0;
  *out = jv_of(c);
  return 1;
}

/* The general walk, over values: handles strings, "length" and the null/undefined stops. */
static int walk_values(struct jv cur, const struct seg *segs, int n, struct jv *out) {
  for (int i = 0; i < n; i++) {
    if (cur.kind <= JV_NULL)
      return 0;
    struct jv next;
    int r = descend(&cur, &segs[i], &next);
    jv_drop(&cur);
    if (r <= 0)
      return r;
    cur = next;
  }
  *out = cur;
  return 1;
}

/* Walks a var path. Most steps go from an object to a member or from an array to an element;
 * those are taken on bare cJSON pointers, and only the rest goes through walk_values. */
static int walk(const cJSON *data, const struct seg *segs, int n, struct jv *out) {
  const cJSON *cur = data;
  for (int i = 0; i < n; i++) {
    if (cur && (cur->type & 0xFF) == cJSON_Object) {
      cur = obj_get(cur, segs[i].key, segs[i].len);
    } else if (cur && (cur->type & 0xFF) == cJSON_Array && segs[i].idx >= 0) {
      long k = 0;
      for (cur = cur->child; cur && k < segs[i].idx; cur = cur->next)
        k++;
    } else {
      return walk_values(jv_data(cur), segs + i, n - i, out);
    }
    if (!cur)
      return 0;
  }
  *out = jv_of(cur);
  return 1;
}

static int count_segs(const char *path) {
  int n = 1;
  for (; *path; path++)
    n += *path == '.';
  return n;
}

/* Splits path on dots into segs (which point into path). */
static void split_path(const char *path, struct seg *segs) {
  int i = 0;
  for (const char *p = path;; p++) {
    if (*p == '.' || *p == '\0') {
      segs[i].len = (size_t)(p - path);
      segs[i].key = path;
      segs[i].idx = seg_index(path, segs[i].len);
      i++;
      path = p + 1;
      if (!*p)
        break;
    }
  }
}

/* A path that reads the data itself: undefined, null or "". */
static int is_root_path(const struct jv *p) {
  return p->kind <= JV_NULL || (p->kind == JV_STR && !p->s[0]);
}

/* var with a path known only at run time: String(path) split on dots. Returns 1 found, 0 not
 * found, or a negative error. */
static int lookup_value(struct ctx *cx, const cJSON *data, const struct jv *path,
                        struct jv *out) {
  if (is_root_path(path)) {
    *out = jv_data(data);
    return 1;
  }
  struct sbuf b;
  struct seg inl[INLINE_SEGS], *segs = inl;
  sb_init(&b);
  to_string(path, &b);
  int n = count_segs(b.p), r = ERR_NOMEM;
  if (n > INLINE_SEGS)
    segs = malloc(sizeof *segs * (size_t)n);
  if (!b.oom && segs) {
    split_path(b.p, segs);
    r = walk(data, segs, n, out);
  }
  if (segs != inl)
    free(segs);
  sb_free(&b);
  return r;
}

static int ev_var(const struct node *n, const cJSON *data, struct ctx *cx, struct jv *out) {
  int r;
  if (n->var_root) {
    *out = jv_data(data);
    return 0;
  }
  if (n->segs) {
    r = walk(data, n->segs, n->nsegs, out);
  } else {
    struct jv path;
    r = EVAL(n->argv[0], data, cx, &path);
    if (r)
      return r;
    r = lookup_value(cx, data, &path, out);
    jv_drop(&path);
  }
  if (r)
    return r < 0 ? r : 0;
  /* Not found: the default (second argument) or null. */
  if (n->argc < 2) {
    *out = jv_null();
    return 0;
  }
  r = EVAL(n->argv[1], data, cx, out);
  if (!r && out->kind == JV_UNDEF)
    *out = jv_null();
  return r;
}

/* Compile time: a constant path is converted and split once. */
static int var_prepare(struct node *n) {
  if (n->argc == 0 || (n->argv[0]->eval == ev_const && is_root_path(&n->argv[0]->k))) {
    n->var_root = 1;
    return 0;
  }
  if (n->argv[0]->eval != ev_const)
    return 0;
  struct sbuf b;
  sb_init(&b);
  to_string(&n->argv[0]->k, &b);
  n->segbuf = b.oom ? NULL : strdup(b.p);
  sb_free(&b);
  if (!n->segbuf)
    return ERR_NOMEM;
  n->nsegs = count_segs(n->segbuf);
  n->segs = calloc((size_t)n->nsegs, sizeof *n->segs);
  if (!n->segs)
    return ERR_NOMEM;
  split_path(n->segbuf, n->segs);
  return 0;
}

/* ------------------------------------------------------------------------------------------
 * Operators that control their own evaluation: and, or, if, and the array operators. */

static int ev_eager(const struct node *n, const cJSON *data, struct ctx *cx, struct jv *out) {
  struct jv inl[INLINE_ARGS], *args = inl;
  int i, rc = 0;
  if (n->argc > INLINE_ARGS && !(args = malloc(sizeof *args * (size_t)n->argc)))
    return ERR_NOMEM;
  for (i = 0; i < n->argc && !rc; i++)
    rc = EVAL(n->argv[i], data, cx, &args[i]);
  if (rc)
    i--; /* the failed argument holds nothing */
  if (!rc) {
    *out = undef_jv;
    rc = n->apply(n, args, n->argc, data, cx, out);
    if (!rc && cx->oom) {
      jv_drop(out);
      rc = ERR_NOMEM;
    }
  }
  while (i-- > 0)
    jv_drop(&args[i]);
  if (args != inl)
    free(args);
  return rc;
}

/* and: the first falsy operand, or the last one; or: the first truthy, or the last. */
static int and_or(const struct node *n, const cJSON *data, struct ctx *cx, struct jv *out,
                  int stop_on) {
  struct jv cur = undef_jv;
  for (int i = 0; i < n->argc; i++) {
    jv_drop(&cur);
    int rc = EVAL(n->argv[i], data, cx, &cur);
    if (rc)
      return rc;
    if (jv_truthy(&cur) == stop_on)
      break;
  }
  *out = cur;
  return 0;
}

static int ev_and(const struct node *n, const cJSON *data, struct ctx *cx, struct jv *out) {
  return and_or(n, data, cx, out, 0);
}

static int ev_or(const struct node *n, const cJSON *data, struct ctx *cx, struct jv *out) {
  return and_or(n, data, cx, out, 1);
}

/* if / ?: — condition, then-value pairs, then an optional else-value; null when nothing fits. */
static int ev_if(const struct node *n, const cJSON *data, struct ctx *cx, struct jv *out) {
  int i;
  for (i = 0; i + 1 < n->argc; i += 2) {
    struct jv c;
    int rc = EVAL(n->argv[i], data, cx, &c);
    if (rc)
      return rc;
    int t = jv_truthy(&c);
    jv_drop(&c);
    if (t)
      return EVAL(n->argv[i + 1], data, cx, out);
  }
  if (i + 1 == n->argc)
    return EVAL(n->argv[i], data, cx, out);
  *out = jv_null();
  return 0;
}

/* A literal array holding logic: each element is evaluated. */
static int ev_array(const struct node *n, const cJSON *data, struct ctx *cx, struct jv *out) {
  cJSON *arr = cJSON_CreateArray();
  if (!arr)
    return ERR_NOMEM;
  for (int i = 0; i < n->argc; i++) {
    struct jv v;
    int rc = EVAL(n->argv[i], data, cx, &v);
    cJSON *j = rc ? NULL : jv_take(&v);
    if (!j) {
      cJSON_Delete(arr);
      return rc ? rc : ERR_NOMEM;
    }
    cJSON_AddItemToArray(arr, j);
  }
  *out = jv_owned(arr);
  return 0;
}

/* Appends a copy of v (consuming v) to arr. */
static int push(cJSON *arr, struct jv *v) {
  cJSON *j = jv_take(v);
  if (!j)
    return ERR_NOMEM;
  cJSON_AddItemToArray(arr, j);
  return 0;
}

/* filter and map: the second argument runs once per element of the first, with the element
 * as its data; a first argument that is not an array gives []. */
static int filter_map(const struct node *n, const cJSON *data, struct ctx *cx, struct jv *out,
                      int is_map) {
  struct jv src, r;
  cJSON *res = cJSON_CreateArray();
  int rc = res ? EVAL(arg_node(n, 0), data, cx, &src) : ERR_NOMEM;
  if (rc) {
    cJSON_Delete(res);
    return rc;
  }
  for (const cJSON *c = src.kind == JV_ARR ? src.json->child : NULL; c && !rc; c = c->next) {
    rc = EVAL(arg_node(n, 1), c, cx, &r);
    if (rc)
      break;
    if (is_map) {
      rc = push(res, &r);
    } else {
      int keep = jv_truthy(&r);
      struct jv e = jv_of(c);
      jv_drop(&r);
      if (keep)
        rc = push(res, &e);
    }
  }
  jv_drop(&src);
  if (rc)
    cJSON_Delete(res);
  else
    *out = jv_owned(res);
  return rc;
}

static int ev_filter(const struct node *n, const cJSON *data, struct ctx *cx, struct jv *out) {
  return filter_map(n, data, cx, out, 0);
}

static int ev_map(const struct node *n, const cJSON *data, struct ctx *cx, struct jv *out) {
  return filter_map(n, data, cx, out, 1);
}

/* all, none, some. Each stops at the first element whose truthiness is stop_when and then
 * answers stop_result; otherwise, and for an empty or non-array input, the other answer, except
 * that all of nothing is false (the reference's rule, unlike logic's). */
static int quantify(const struct node *n, const cJSON *data, struct ctx *cx, struct jv *out,
                    int stop_when, int stop_result, int if_empty) {
  struct jv src, r;
  int rc = EVAL(arg_node(n, 0), data, cx, &src), answer = if_empty;
  if (rc)
    return rc;
  if (src.kind == JV_ARR && src.json->child) {
    answer = !stop_result;
    for (const cJSON *c = src.json->child; c; c = c->next) {
      rc = EVAL(arg_node(n, 1), c, cx, &r);
      if (rc)
        break;
      int t = jv_truthy(&r);
      jv_drop(&r);
      if (t == stop_when) {
        answer = stop_result;
        break;
      }
    }
  }
  jv_drop(&src);
  *out = jv_bool(answer);
  return rc;
}

static int ev_all(const struct node *n, const cJSON *data, struct ctx *cx, struct jv *out) {
  return quantify(n, data, cx, out, 0, 0, 0);
}

static int ev_none(const struct node *n, const cJSON *data, struct ctx *cx, struct jv *out) {
  return quantify(n, data, cx, out, 1, 0, 1);
}

static int ev_some(const struct node *n, const cJSON *data, struct ctx *cx, struct jv *out) {
  return quantify(n, data, cx, out, 1, 1, 0);
}

/* Puts acc into scope as "accumulator": an owned value moves in, a borrowed one is referenced,
 * undefined stays absent (so var reads it as not found, as in JS). */
static int add_accumulator(cJSON *scope, struct jv *acc) {
  cJSON *j = NULL;
  if (acc->kind == JV_UNDEF)
    return 0;
  if (acc->kind < JV_STR || acc->owned) {
    j = jv_take(acc);
    if (j && cJSON_AddItemToObject(scope, "accumulator", j))
      return 0;
    cJSON_Delete(j);
    return ERR_NOMEM;
  }
  return cJSON_AddItemReferenceToObject(scope, "accumulator", (cJSON *)acc->json) ? 0
                                                                                   : ERR_NOMEM;
}

/* One reduce step: the logic over {"current": c, "accumulator": acc}. Consumes acc. */
static int reduce_step(const struct node *logic, const cJSON *c, struct ctx *cx,
                       struct jv *acc) {
  cJSON *scope = cJSON_CreateObject();
  int rc = scope ? 0 : ERR_NOMEM;
  if (!rc && !cJSON_AddItemReferenceToObject(scope, "current", (cJSON *)c))
    rc = ERR_NOMEM;
  if (!rc)
    rc = add_accumulator(scope, acc);
  jv_drop(acc); /* whatever it held now lives in scope, or is gone */
  struct jv r = undef_jv;
  if (!rc)
    rc = EVAL(logic, scope, cx, &r);
  if (!rc)
    rc = jv_own(&r); /* r may point into scope */
  cJSON_Delete(scope);
  if (rc)
    jv_drop(&r);
  *acc = r;
  return rc;
}

static int ev_reduce(const struct node *n, const cJSON *data, struct ctx *cx, struct jv *out) {
  struct jv src, acc = jv_null();
  int rc = EVAL(arg_node(n, 0), data, cx, &src);
  if (rc)
    return rc;
  if (n->argc > 2)
    rc = EVAL(n->argv[2], data, cx, &acc);
  for (const cJSON *c = src.kind == JV_ARR ? src.json->child : NULL; c && !rc; c = c->next)
    rc = reduce_step(arg_node(n, 1), c, cx, &acc);
  jv_drop(&src);
  if (rc)
    jv_drop(&acc);
  else
    *out = acc;
  return rc;
}

/* ------------------------------------------------------------------------------------------
 * Operators over evaluated arguments */

#define APPLY_PARAMS                                                                       \
  const struct node *n, struct jv *args, int argc, const cJSON *data, struct ctx *cx,      \
      struct jv *out
#define A(i) ((i) < argc ? &args[i] : &undef_jv)

static int op_eq(APPLY_PARAMS) {
  *out = jv_bool(loose_eq(cx, A(0), A(1)));
  return 0;
}

static int op_ne(APPLY_PARAMS) {
  *out = jv_bool(!loose_eq(cx, A(0), A(1)));
  return 0;
}

static int op_seq(APPLY_PARAMS) {
  *out = jv_bool(strict_eq(A(0), A(1)));
  return 0;
}

static int op_sne(APPLY_PARAMS) {
  *out = jv_bool(!strict_eq(A(0), A(1)));
  return 0;
}

static int op_gt(APPLY_PARAMS) {
  *out = jv_bool(js_lt(cx, A(1), A(0)) == LT_TRUE);
  return 0;
}

static int op_ge(APPLY_PARAMS) {
  *out = jv_bool(js_lt(cx, A(0), A(1)) == LT_FALSE);
  return 0;
}

/* < and <= take an optional third operand: a < b < c ("between"). */
static int op_lt(APPLY_PARAMS) {
  int r = js_lt(cx, A(0), A(1)) == LT_TRUE;
  if (r && A(2)->kind != JV_UNDEF)
    r = js_lt(cx, A(1), A(2)) == LT_TRUE;
  *out = jv_bool(r);
  return 0;
}

static int op_le(APPLY_PARAMS) {
  int r = js_le(cx, A(0), A(1));
  if (r && A(2)->kind != JV_UNDEF)
    r = js_le(cx, A(1), A(2));
  *out = jv_bool(r);
  return 0;
}

static int op_not(APPLY_PARAMS) {
  *out = jv_bool(!jv_truthy(A(0)));
  return 0;
}

static int op_notnot(APPLY_PARAMS) {
  *out = jv_bool(jv_truthy(A(0)));
  return 0;
}

static int op_mod(APPLY_PARAMS) {
  *out = jv_num(fmod(to_number(cx, A(0)), to_number(cx, A(1))));
  return 0;
}

static int op_div(APPLY_PARAMS) {
  *out = jv_num(to_number(cx, A(0)) / to_number(cx, A(1)));
  return 0;
}

static int op_sub(APPLY_PARAMS) {
  double a = to_number(cx, A(0));
  *out = jv_num(A(1)->kind == JV_UNDEF ? -a : a - to_number(cx, A(1)));
  return 0;
}

static int op_add(APPLY_PARAMS) {
  double sum = 0;
  for (int i = 0; i < argc; i++)
    sum += parse_float(cx, &args[i]);
  *out = jv_num(sum);
  return 0;
}

/* The reference multiplies with reduce() and no initial value, which hands back a lone operand
 * untouched ({"*":["2"]} is "2"); compile time rejects zero operands, where reduce throws. */
static int op_mul(APPLY_PARAMS) {
  if (argc == 1) {
    *out = jv_move(&args[0]);
    return 0;
  }
  double p = parse_float(cx, &args[0]);
  for (int i = 1; i < argc; i++)
    p *= parse_float(cx, &args[i]);
  *out = jv_num(p);
  return 0;
}

/* Math.min / Math.max: any NaN wins; no operands give +Infinity / -Infinity. */
static int min_max(struct jv *args, int argc, struct ctx *cx, struct jv *out, int want_max) {
  double r = want_max ? -INFINITY : INFINITY;
  for (int i = 0; i < argc; i++) {
    double x = to_number(cx, &args[i]);
    if (isnan(x) || isnan(r))
      r = NAN;
    else if (want_max ? x > r : x < r)
      r = x;
  }
  *out = jv_num(r);
  return 0;
}

static int op_max(APPLY_PARAMS) { return min_max(args, argc, cx, out, 1); }

static int op_min(APPLY_PARAMS) { return min_max(args, argc, cx, out, 0); }

/* Turns a built string into an owned value. */
static int string_result(struct sbuf *b, struct jv *out) {
  cJSON *j = b->oom ? NULL : cJSON_CreateString(b->p);
  sb_free(b);
  if (!j)
    return ERR_NOMEM;
  *out = jv_owned(j);
  return 0;
}

/* cat is Array.prototype.join(""): null and undefined print as nothing. */
static int op_cat(APPLY_PARAMS) {
  struct sbuf b;
  sb_init(&b);
  for (int i = 0; i < argc; i++)
    if (args[i].kind > JV_NULL)
      to_string(&args[i], &b);
  return string_result(&b, out);
}

/* String.prototype.substr(start, length) on UTF-16 code units, with start and length already
 * converted to integers; has_len 0 means "to the end". */
static void substr16(const char *s, double start, int has_len, double len, struct sbuf *out) {
  double size = len16(s);
  if (start < 0)
    start = fmax(size + start, 0);
  start = fmin(start, size);
  len = has_len ? fmin(fmax(len, 0), size - start) : size - start;
  slice16(s, start, start + len, out);
}

/* A negative length (the reference's addition, after PHP) stops that many characters before
 * the end: it slices from start, then keeps temp.length + length units. The reference adds
 * with JS "+", which concatenates when length is a string ("3" + "-2"), so we do too. */
static double tail_length(struct ctx *cx, double temp_len, const struct jv *len) {
  if (len->kind == JV_NUM)
    return temp_len + len->n;
  struct sbuf b;
  char num[JSONNUM_BUFSIZE];
  sb_init(&b);
  sb_adds(&b, jsonnum_format(temp_len, num));
  to_string(len, &b);
  struct jv s = {.kind = JV_STR, .s = b.p};
  double r = to_int(cx, &s);
  cx->oom |= b.oom;
  sb_free(&b);
  return r;
}

static int op_substr(APPLY_PARAMS) {
  struct sbuf src, b;
  sb_init(&src);
  sb_init(&b);
  to_string(A(0), &src); /* String(source): undefined becomes "undefined" */
  double start = to_int(cx, A(1));
  const struct jv *len = A(2);
  struct jv zero = jv_num(0);
  if (len->kind != JV_UNDEF && js_lt(cx, len, &zero) == LT_TRUE) {
    struct sbuf temp;
    sb_init(&temp);
    substr16(src.p, start, 0, 0, &temp);
    double keep = tail_length(cx, len16(temp.p), len);
    substr16(temp.p, 0, 1, isnan(keep) ? 0 : trunc(keep), &b);
    b.oom |= temp.oom;
    sb_free(&temp);
  } else {
    substr16(src.p, start, len->kind != JV_UNDEF, to_int(cx, len), &b);
  }
  b.oom |= src.oom;
  sb_free(&src);
  return string_result(&b, out);
}

/* in: substring test when the haystack is a string, strict membership when it is an array,
 * false otherwise. */
static int op_in(APPLY_PARAMS) {
  const struct jv *needle = A(0), *hay = A(1);
  int found = 0;
  if (hay->kind == JV_STR && hay->s[0]) {
    struct sbuf b;
    sb_init(&b);
    to_string(needle, &b);
    found = !b.oom && strstr(hay->s, b.p) != NULL;
    cx->oom |= b.oom;
    sb_free(&b);
  } else if (hay->kind == JV_ARR) {
    for (const cJSON *c = hay->json->child; c && !found; c = c->next) {
      struct jv e = jv_of(c);
      found = strict_eq(&e, needle);
    }
  }
  *out = jv_bool(found);
  return 0;
}

/* merge: arrays are flattened one level, anything else is appended. */
static int op_merge(APPLY_PARAMS) {
  cJSON *res = cJSON_CreateArray();
  int rc = res ? 0 : ERR_NOMEM;
  for (int i = 0; i < argc && !rc; i++) {
    if (args[i].kind != JV_ARR) {
      rc = push(res, &args[i]);
      continue;
    }
    for (const cJSON *c = args[i].json->child; c && !rc; c = c->next) {
      struct jv e = jv_of(c);
      rc = push(res, &e);
    }
  }
  if (rc)
    cJSON_Delete(res);
  else
    *out = jv_owned(res);
  return rc;
}

/* Appends key to res when {"var": key} finds null or "" in data. A key that is an array is
 * read as var's own argument list [path, default], as the reference's {"var": key} does. */
static int check_key(struct ctx *cx, const cJSON *data, const struct jv *key, cJSON *res) {
  struct jv path = *key, v = undef_jv;
  const cJSON *dflt = NULL;
  if (key->kind == JV_ARR) {
    path = jv_of(key->json->child);
    dflt = key->json->child ? key->json->child->next : NULL;
  }
  int r = lookup_value(cx, data, &path, &v);
  if (r < 0)
    return r;
  if (r == 0)
    v = jv_of(dflt);
  int missing = v.kind <= JV_NULL || (v.kind == JV_STR && !v.s[0]);
  jv_drop(&v);
  struct jv copy = *key;
  copy.owned = 0;
  return missing ? push(res, &copy) : 0;
}

static int missing_in_list(struct ctx *cx, const cJSON *data, const cJSON *list, cJSON *res) {
  int rc = 0;
  for (const cJSON *c = list->child; c && !rc; c = c->next) {
    struct jv key = jv_of(c);
    rc = check_key(cx, data, &key, res);
  }
  return rc;
}

/* missing: the keys are the arguments, or the first argument when that is an array. */
static int op_missing(APPLY_PARAMS) {
  cJSON *res = cJSON_CreateArray();
  int rc = res ? 0 : ERR_NOMEM;
  if (!rc && argc > 0 && args[0].kind == JV_ARR)
    rc = missing_in_list(cx, data, args[0].json, res);
  for (int i = 0; i < argc && !rc && args[0].kind != JV_ARR; i++)
    rc = check_key(cx, data, &args[i], res);
  if (rc)
    cJSON_Delete(res);
  else
    *out = jv_owned(res);
  return rc;
}

/* missing_some(need, keys): [] when at least need of keys are present, else the missing ones. */
static int op_missing_some(APPLY_PARAMS) {
  const struct jv *need = A(0), *opts = A(1);
  if (opts->kind <= JV_NULL)
    return err_set(cx->d, ERR_EVAL, n->path, "missing_some needs a list of keys, got %s",
                   opts->kind == JV_NULL ? "null" : "nothing");
  cJSON *res = cJSON_CreateArray();
  int rc = res ? 0 : ERR_NOMEM;
  double have = NAN;
  if (!rc && opts->kind == JV_ARR) {
    const cJSON *first = opts->json->child;
    rc = missing_in_list(cx, data, first && cJSON_IsArray(first) ? first : opts->json, res);
    have = cJSON_GetArraySize(opts->json);
  } else if (!rc) {
    rc = check_key(cx, data, opts, res);
    have = opts->kind == JV_STR ? len16(opts->s) : NAN; /* options.length */
  }
  if (rc) {
    cJSON_Delete(res);
    return rc;
  }
  struct jv present = jv_num(have - cJSON_GetArraySize(res));
  if (js_lt(cx, &present, need) == LT_FALSE) /* present >= need */
    while (res->child)
      cJSON_DeleteItemFromArray(res, 0);
  *out = jv_owned(res);
  return 0;
}

/* log: writes its argument as JSON to stderr and passes it through. */
static int op_log(APPLY_PARAMS) {
  struct jv copy = *A(0);
  copy.owned = 0;
  cJSON *j = copy.kind == JV_UNDEF ? NULL : jv_take(&copy);
  char *text = j ? cJSON_PrintUnformatted(j) : NULL;
  fprintf(stderr, "jsonlogic log: %s\n", text ? text : "undefined");
  cJSON_free(text);
  cJSON_Delete(j);
  *out = argc ? jv_move(&args[0]) : undef_jv;
  return 0;
}

/* ------------------------------------------------------------------------------------------
 * The operator table. min_args is set only where the reference throws with fewer arguments. */

struct opdef {
  const char *name;
  eval_fn eval;   /* operators that evaluate their own arguments */
  apply_fn apply; /* operators over evaluated arguments */
  int min_args;
};

static const struct opdef ops[] = {
    {"==", NULL, op_eq, 0},        {"===", NULL, op_seq, 0},
    {"!=", NULL, op_ne, 0},        {"!==", NULL, op_sne, 0},
    {">", NULL, op_gt, 0},         {">=", NULL, op_ge, 0},
    {"<", NULL, op_lt, 0},         {"<=", NULL, op_le, 0},
    {"!", NULL, op_not, 0},        {"!!", NULL, op_notnot, 0},
    {"or", ev_or, NULL, 0},        {"and", ev_and, NULL, 0},
    {"if", ev_if, NULL, 0},        {"?:", ev_if, NULL, 0},
    {"in", NULL, op_in, 0},        {"cat", NULL, op_cat, 0},
    {"substr", NULL, op_substr, 0}, {"%", NULL, op_mod, 0},
    {"max", NULL, op_max, 0},      {"min", NULL, op_min, 0},
    {"+", NULL, op_add, 0},        {"-", NULL, op_sub, 0},
    {"*", NULL, op_mul, 1},        {"/", NULL, op_div, 0},
    {"merge", NULL, op_merge, 0},  {"var", ev_var, NULL, 0},
    {"missing", NULL, op_missing, 0}, {"missing_some", NULL, op_missing_some, 2},
    {"filter", ev_filter, NULL, 0}, {"map", ev_map, NULL, 0},
    {"reduce", ev_reduce, NULL, 0}, {"all", ev_all, NULL, 0},
    {"none", ev_none, NULL, 0},    {"some", ev_some, NULL, 0},
    {"log", NULL, op_log, 0},
};

static const struct opdef *find_op(const char *name) {
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (strcmp(ops[i].name, name) == 0)
      return &ops[i];
  return NULL;
}

/* ------------------------------------------------------------------------------------------
 * Compilation. struct cpath is the JSON Pointer of the value being compiled. */

struct cpath {
  char buf[1024];
  size_t len;
};

/* Appends "/" and seg (escaped: ~ as ~0, / as ~1); returns the length to pop back to. */
static size_t cp_push(struct cpath *p, const char *seg) {
  size_t old = p->len;
  if (p->len + 2 < sizeof p->buf)
    p->buf[p->len++] = '/';
  for (; *seg && p->len + 3 < sizeof p->buf; seg++) {
    if (*seg == '~' || *seg == '/') {
      p->buf[p->len++] = '~';
      p->buf[p->len++] = *seg == '~' ? '0' : '1';
    } else {
      p->buf[p->len++] = *seg;
    }
  }
  p->buf[p->len] = '\0';
  return old;
}

static size_t cp_push_index(struct cpath *p, int i) {
  char s[16];
  snprintf(s, sizeof s, "%d", i);
  return cp_push(p, s);
}

static void cp_pop(struct cpath *p, size_t old) {
  p->len = old;
  p->buf[old] = '\0';
}

static int compile(const cJSON *j, struct cpath *p, int depth, struct node **out,
                   struct err_detail *d);

static int compile_const(const cJSON *j, struct node **out) {
  struct node *n = calloc(1, sizeof *n);
  if (!n)
    return ERR_NOMEM;
  n->eval = ev_const;
  n->k = jv_of(j);
  if (n->k.kind >= JV_STR) {
    n->kjson = cJSON_Duplicate(j, 1);
    if (!n->kjson) {
      free(n);
      return ERR_NOMEM;
    }
    strip_key(n->kjson);
    n->k = jv_of(n->kjson);
  }
  *out = n;
  return 0;
}

/* Compiles the elements of list into n->argv, each at path /i. */
static int compile_list(const cJSON *list, struct cpath *p, int depth, struct node *n,
                        struct err_detail *d) {
  n->argc = cJSON_GetArraySize(list);
  n->argv = calloc(n->argc ? (size_t)n->argc : 1, sizeof *n->argv);
  if (!n->argv)
    return ERR_NOMEM;
  int i = 0;
  for (const cJSON *c = list->child; c; c = c->next, i++) {
    size_t mark = cp_push_index(p, i);
    int rc = compile(c, p, depth + 1, &n->argv[i], d);
    cp_pop(p, mark);
    if (rc)
      return rc;
  }
  return 0;
}

/* A literal array: a constant when no element holds logic, else evaluated element-wise. */
static int compile_array(const cJSON *j, struct cpath *p, int depth, struct node **out,
                         struct err_detail *d) {
  struct node *n = calloc(1, sizeof *n);
  if (!n)
    return ERR_NOMEM;
  n->eval = ev_array;
  int rc = compile_list(j, p, depth, n, d), all_const = 1;
  for (int i = 0; !rc && i < n->argc; i++)
    all_const &= n->argv[i]->eval == ev_const;
  if (rc || all_const) {
    node_free(n);
    return rc ? rc : compile_const(j, out);
  }
  *out = n;
  return 0;
}

/* An operation {"op": args}. args that is not an array is one argument ({"var":"x"}). */
static int compile_op(const cJSON *j, struct cpath *p, int depth, struct node **out,
                      struct err_detail *d) {
  const cJSON *kv = j->child;
  if (!kv)
    return compile_const(j, out); /* {} is a literal */
  if (kv->next)
    return err_set(d, ERR_PARSE, p->buf,
                   "an operation must be an object with exactly one key, the operator; "
                   "this one has %d keys", cJSON_GetArraySize(j));
  const struct opdef *def = find_op(kv->string);
  if (!def)
    return err_set(d, ERR_PARSE, p->buf, "unknown operator \"%s\"", kv->string);
  struct node *n = calloc(1, sizeof *n);
  if (!n)
    return ERR_NOMEM;
  n->eval = def->eval ? def->eval : ev_eager;
  n->apply = def->apply;
  size_t mark = cp_push(p, kv->string);
  int rc = (n->path = strdup(p->buf)) ? 0 : ERR_NOMEM;
  if (!rc && cJSON_IsArray(kv)) {
    rc = compile_list(kv, p, depth, n, d);
  } else if (!rc) {
    n->argv = calloc(1, sizeof *n->argv);
    rc = n->argv ? compile(kv, p, depth + 1, &n->argv[0], d) : ERR_NOMEM;
    n->argc = 1;
  }
  if (!rc && n->argc < def->min_args)
    rc = err_set(d, ERR_PARSE, p->buf, "operator \"%s\" needs at least %d argument%s, got %d",
                 def->name, def->min_args, def->min_args == 1 ? "" : "s", n->argc);
  if (!rc && def->eval == ev_var)
    rc = var_prepare(n);
  cp_pop(p, mark);
  if (rc) {
    node_free(n);
    return rc;
  }
  *out = n;
  return 0;
}

static int compile(const cJSON *j, struct cpath *p, int depth, struct node **out,
                   struct err_detail *d) {
  *out = NULL;
  if (depth > MAX_DEPTH)
    return err_set(d, ERR_TOODEEP, p->buf, "rule nested more than %d levels deep", MAX_DEPTH);
  if (cJSON_IsArray(j))
    return compile_array(j, p, depth, out, d);
  if (cJSON_IsObject(j))
    return compile_op(j, p, depth, out, d);
  return compile_const(j, out);
}

/* ------------------------------------------------------------------------------------------
 * Public interface */

int jsonlogic_compile(const cJSON *rule, struct jsonlogic **out, struct err_detail *detail) {
  struct cpath p = {.len = 0};
  struct jsonlogic *jl;
  if (!out)
    return err_set(detail, ERR_INVAL, "", "no place for the compiled rule");
  *out = NULL;
  if (!rule)
    return err_set(detail, ERR_INVAL, "", "no rule");
  if (!(jl = calloc(1, sizeof *jl)))
    return err_set(detail, ERR_NOMEM, "", "out of memory compiling the rule");
  p.buf[0] = '\0';
  int rc = compile(rule, &p, 0, &jl->root, detail);
  if (rc) {
    if (rc == ERR_NOMEM)
      err_set(detail, rc, "", "out of memory compiling the rule");
    jsonlogic_free(jl);
    return rc;
  }
  *out = jl;
  return 0;
}

static int evaluate(const struct jsonlogic *jl, const cJSON *data, struct err_detail *detail,
                    struct jv *v) {
  struct ctx cx = {.d = detail, .oom = 0};
  if (!jl)
    return err_set(detail, ERR_INVAL, "", "no rule");
  int rc = EVAL(jl->root, data, &cx, v);
  if (!rc && cx.oom) {
    jv_drop(v);
    rc = ERR_NOMEM;
  }
  if (rc == ERR_NOMEM)
    err_set(detail, rc, "", "out of memory evaluating the rule");
  return rc;
}

int jsonlogic_eval(const struct jsonlogic *jl, const cJSON *data, cJSON **result,
                   struct err_detail *detail) {
  struct jv v;
  if (!result)
    return err_set(detail, ERR_INVAL, "", "no place for the result");
  *result = NULL;
  int rc = evaluate(jl, data, detail, &v);
  if (rc)
    return rc;
  *result = jv_take(&v);
  return *result ? 0 : err_set(detail, ERR_NOMEM, "", "out of memory evaluating the rule");
}

int jsonlogic_test(const struct jsonlogic *jl, const cJSON *data, struct err_detail *detail) {
  struct jv v;
  int rc = evaluate(jl, data, detail, &v);
  if (rc)
    return rc;
  rc = jv_truthy(&v);
  jv_drop(&v);
  return rc;
}

int jsonlogic_truthy(const cJSON *v) {
  struct jv x = jv_data(v);
  return jv_truthy(&x);
}

void jsonlogic_free(struct jsonlogic *jl) {
  if (!jl)
    return;
  node_free(jl->root);
  free(jl);
}
