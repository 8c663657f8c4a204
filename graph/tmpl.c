/* tmpl: Mustache plus flowd's legacy #TOKEN#s, compiled once into a flat array of nodes.
 *
 * Compilation resolves everything that depends only on the source: tag kinds, names split
 * into segments, standalone lines, comments, set-delimiter tags and legacy tokens. What is
 * left is a list of nodes (text, escaped variable, raw variable, section, inverted section,
 * partial). A section's children follow it in the array and its `end` is the index just past
 * them, so rendering walks the tree with indices and never looks at the source again.
 * Key invariant: a compiled template is never modified after tmpl_compile returns, so any
 * number of renders may share it. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/jsonnum.h"
#include "graph/tmpl.h"

#define MAX_NEST 100           /* sections open at once in one template's source */
#define MAX_DEPTH 256          /* sections and partials entered at once during a render */
#define MAX_DELIM 16           /* bytes in a custom delimiter */
#define MAX_SOURCE (64u << 20) /* keeps every offset comfortably inside uint32_t */
#define MAX_OUTPUT (16u << 20) /* a runaway template must not eat the server's memory */
#define NO_SEG UINT32_MAX

enum kind { K_TEXT, K_ESC, K_RAW, K_SECTION, K_INVERTED, K_PARTIAL };

struct node {
  enum kind kind;
  uint32_t off, len;  /* K_TEXT: bytes in pool; K_PARTIAL: NUL-terminated name in pool */
  uint32_t seg, nseg; /* variables and sections: name segments in segs; nseg 0 means "." */
  uint32_t end;       /* sections: index just past the last child */
  uint32_t indent;    /* K_PARTIAL: pool offset of its standalone indentation ("" if none) */
};

struct tmpl {
  struct node *nodes;
  uint32_t nnodes, ncap;
  char *pool; /* text bytes, and NUL-terminated names, indentations and segments */
  uint32_t plen, pcap;
  uint32_t *segs; /* pool offsets of name segments */
  uint32_t nsegs, scap;
  size_t text_bytes; /* total text length: a good first guess of the output size */
  int ntags;         /* tags and legacy tokens seen; 0 means the output is the source */
};

/* ---- building a template ---- */

/* Grows *p (an array of elem-sized items with capacity *cap) to hold need items. */
static int grow(void **p, uint32_t *cap, uint32_t need, size_t elem) {
  if (need <= *cap)
    return 0;
  uint32_t c = *cap ? *cap : 16;
  while (c < need)
    c *= 2;
  void *np = realloc(*p, (size_t)c * elem);
  if (!np)
    return ERR_NOMEM;
  *p = np;
  *cap = c;
  return 0;
}

/* Appends n bytes (and a NUL when nul is set) to the pool; *off receives their offset. */
static int pool_add(struct tmpl *t, const char *s, size_t n, int nul, uint32_t *off) {
  if (grow((void **)&t->pool, &t->pcap, t->plen + (uint32_t)n + 1, 1))
    return ERR_NOMEM;
  memcpy(t->pool + t->plen, s, n);
  *off = t->plen;
  t->plen += (uint32_t)n;
  if (nul)
    t->pool[t->plen++] = '\0';
  return 0;
}

static int node_add(struct tmpl *t, const struct node *nd) {
  if (grow((void **)&t->nodes, &t->ncap, t->nnodes + 1, sizeof *nd))
    return ERR_NOMEM;
  t->nodes[t->nnodes++] = *nd;
  return 0;
}

static int seg_add(struct tmpl *t, const char *s, size_t n) {
  uint32_t off;
  if (grow((void **)&t->segs, &t->scap, t->nsegs + 1, sizeof *t->segs) ||
      pool_add(t, s, n, 1, &off))
    return ERR_NOMEM;
  t->segs[t->nsegs++] = off;
  return 0;
}

/* ---- the parser ---- */

struct open_section {
  uint32_t node;     /* index of the section node */
  size_t pos;        /* source offset of its tag, for "unclosed section" */
  size_t name, nlen; /* its name in the source, to match the closing tag */
};

struct parser {
  const char *src;
  size_t n;
  char open[MAX_DELIM + 1], close[MAX_DELIM + 1];
  size_t olen, clen;
  struct tmpl *t;
  struct open_section stack[MAX_NEST];
  int depth;
  int can_merge;          /* the last node is text that the next text may extend */
  uint32_t legacy_seg[4]; /* first segment of each legacy token's path, once interned */
  struct err_detail *detail;
};

/* A tag as scanned: type is one of # ^ / > & ! = { or 'v' for a plain variable. */
struct tag {
  char type;
  size_t start, end; /* offsets of the open delimiter and just past the close delimiter */
  size_t b, e;       /* the content, trimmed */
};

/* Legacy tokens of the old SMS/e-mail templates. They render raw, not HTML-escaped: their
 * output goes into SMS and plain e-mail text, where "&amp;" would reach the customer. */
static const struct {
  const char *token;
  const char *path[2];
} legacy[4] = {
    {"#ORDER_ID#", {"order", "id"}},
    {"#NAME#", {"customer", "name"}},
    {"#PHONE#", {"customer", "phone"}},
    {"#EMAIL#", {"customer", "email"}},
};

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Returns the offset of pat in s[0..n), or SIZE_MAX. */
static size_t find(const char *s, size_t n, const char *pat, size_t m) {
  for (size_t i = 0; i + m <= n; i++) {
    const char *h = memchr(s + i, pat[0], n - i - m + 1);
    if (!h)
      break;
    i = (size_t)(h - s);
    if (memcmp(h, pat, m) == 0)
      return i;
  }
  return SIZE_MAX;
}

/* Fails with ERR_PARSE (or code) and a message naming the line and column of pos. Columns
 * count characters, not bytes, so that they match what an editor shows for Vietnamese text. */
__attribute__((format(printf, 4, 5))) static int fail(struct parser *ps, size_t pos, int code,
                                                      const char *fmt, ...) {
  int line = 1, col = 1;
  for (size_t i = 0; i < pos && i < ps->n; i++) {
    if (ps->src[i] == '\n') {
      line++;
      col = 1;
    } else if (((unsigned char)ps->src[i] & 0xC0) != 0x80) {
      col++;
    }
  }
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return err_set(ps->detail, code, "", "line %d, column %d: %s", line, col, msg);
}

/* Adds src[b..e) as text, extending the previous text node when nothing stands between. */
static int add_text(struct parser *ps, size_t b, size_t e) {
  struct tmpl *t = ps->t;
  if (b == e)
    return 0;
  uint32_t off;
  if (pool_add(t, ps->src + b, e - b, 0, &off))
    return ERR_NOMEM;
  t->text_bytes += e - b;
  struct node *last = t->nnodes ? &t->nodes[t->nnodes - 1] : NULL;
  if (ps->can_merge && last->off + last->len == off) {
    last->len += (uint32_t)(e - b);
    return 0;
  }
  ps->can_merge = 1;
  return node_add(t, &(struct node){.kind = K_TEXT, .off = off, .len = (uint32_t)(e - b)});
}

static int add_legacy(struct parser *ps, int k) {
  struct tmpl *t = ps->t;
  if (ps->legacy_seg[k] == NO_SEG) {
    ps->legacy_seg[k] = t->nsegs;
    for (int i = 0; i < 2; i++)
      if (seg_add(t, legacy[k].path[i], strlen(legacy[k].path[i])))
        return ERR_NOMEM;
  }
  t->ntags++;
  ps->can_merge = 0;
  return node_add(t, &(struct node){.kind = K_RAW, .seg = ps->legacy_seg[k], .nseg = 2});
}

/* Adds src[b..e) as text, turning the legacy tokens in it into raw variables. */
static int emit_text(struct parser *ps, size_t b, size_t e) {
  size_t scan = b;
  while (scan < e) {
    const char *h = memchr(ps->src + scan, '#', e - scan);
    if (!h)
      break;
    size_t at = (size_t)(h - ps->src);
    int k = -1;
    for (int i = 0; i < 4 && k < 0; i++) {
      size_t len = strlen(legacy[i].token);
      if (len <= e - at && memcmp(h, legacy[i].token, len) == 0)
        k = i;
    }
    if (k < 0) {
      scan = at + 1; /* an unknown #WORD# stays as written */
      continue;
    }
    int rc = add_text(ps, b, at);
    if (!rc)
      rc = add_legacy(ps, k);
    if (rc)
      return rc;
    b = scan = at + strlen(legacy[k].token);
  }
  return add_text(ps, b, e);
}

/* Scans the tag whose open delimiter starts at start. */
static int scan_tag(struct parser *ps, size_t start, struct tag *tg) {
  const char *s = ps->src;
  size_t q = start + ps->olen;
  while (q < ps->n && is_space(s[q]))
    q++;
  tg->start = start;
  tg->type = (q < ps->n && strchr("#^/>&!={", s[q])) ? s[q++] : 'v';
  char closer[MAX_DELIM + 2];
  if (tg->type == '=' || tg->type == '{')
    snprintf(closer, sizeof closer, "%c%s", tg->type == '=' ? '=' : '}', ps->close);
  else
    snprintf(closer, sizeof closer, "%s", ps->close);
  size_t clen = strlen(closer);
  size_t at = find(s + q, ps->n - q, closer, clen);
  if (at == SIZE_MAX)
    return fail(ps, start, ERR_PARSE, "unclosed tag: expected \"%s\"", closer);
  tg->b = q;
  tg->e = q + at;
  tg->end = tg->e + clen;
  while (tg->b < tg->e && is_space(s[tg->b]))
    tg->b++;
  while (tg->e > tg->b && is_space(s[tg->e - 1]))
    tg->e--;
  return 0;
}

/* A section, inverted, closing, partial, comment or set-delimiter tag alone on its line
 * (only spaces and tabs around it) is "standalone": the whole line, indentation and newline
 * included, disappears from the output. On success *line_begin is where the line starts and
 * *next is just past its newline (or the end of the source). */
static int standalone(const struct parser *ps, const struct tag *tg, size_t *line_begin,
                      size_t *next) {
  const char *s = ps->src;
  if (!strchr("#^/>!=", tg->type))
    return 0;
  size_t b = tg->start;
  while (b > 0 && (s[b - 1] == ' ' || s[b - 1] == '\t'))
    b--;
  if (b > 0 && s[b - 1] != '\n')
    return 0;
  size_t e = tg->end;
  while (e < ps->n && (s[e] == ' ' || s[e] == '\t'))
    e++;
  if (e < ps->n) {
    if (s[e] == '\n')
      e++;
    else if (s[e] == '\r' && e + 1 < ps->n && s[e + 1] == '\n')
      e += 2;
    else
      return 0;
  }
  *line_begin = b;
  *next = e;
  return 1;
}

/* Checks a tag's name and stores its segments in nd ("." has none). Names are
 * non-whitespace; "a.b" is resolved step by step, so an empty segment is a mistake. */
static int add_name(struct parser *ps, const struct tag *tg, struct node *nd) {
  const char *s = ps->src;
  size_t b = tg->b, e = tg->e;
  if (b == e)
    return fail(ps, tg->start, ERR_PARSE, "empty tag name");
  for (size_t i = b; i < e; i++)
    if (is_space(s[i]))
      return fail(ps, tg->start, ERR_PARSE, "invalid tag name \"%.*s\"", (int)(e - b), s + b);
  nd->seg = ps->t->nsegs;
  nd->nseg = 0;
  if (e - b == 1 && s[b] == '.')
    return 0;
  for (size_t i = b; i <= e; i++) {
    if (i < e && s[i] != '.')
      continue;
    if (i == b)
      return fail(ps, tg->start, ERR_PARSE, "invalid tag name \"%.*s\"", (int)(e - tg->b),
                  s + tg->b);
    if (seg_add(ps->t, s + b, i - b))
      return ERR_NOMEM;
    nd->nseg++;
    b = i + 1;
  }
  return 0;
}

static int set_delimiters(struct parser *ps, const struct tag *tg) {
  const char *s = ps->src;
  size_t p = tg->b, b1 = p;
  while (p < tg->e && !is_space(s[p]))
    p++;
  size_t e1 = p;
  while (p < tg->e && is_space(s[p]))
    p++;
  size_t b2 = p;
  while (p < tg->e && !is_space(s[p]))
    p++;
  size_t l1 = e1 - b1, l2 = p - b2;
  if (p != tg->e || l1 == 0 || l2 == 0 || l1 > MAX_DELIM || l2 > MAX_DELIM)
    return fail(ps, tg->start, ERR_PARSE,
                "bad delimiters \"%.*s\": expected two delimiters of 1 to %d characters "
                "separated by whitespace",
                (int)(tg->e - tg->b), s + tg->b, MAX_DELIM);
  memcpy(ps->open, s + b1, l1);
  ps->open[l1] = '\0';
  ps->olen = l1;
  memcpy(ps->close, s + b2, l2);
  ps->close[l2] = '\0';
  ps->clen = l2;
  return 0;
}

static int open_section(struct parser *ps, const struct tag *tg) {
  if (ps->depth == MAX_NEST)
    return fail(ps, tg->start, ERR_TOODEEP, "sections nested deeper than %d", MAX_NEST);
  struct node nd = {.kind = tg->type == '#' ? K_SECTION : K_INVERTED};
  int rc = add_name(ps, tg, &nd);
  if (rc)
    return rc;
  ps->stack[ps->depth++] = (struct open_section){
      .node = ps->t->nnodes, .pos = tg->start, .name = tg->b, .nlen = tg->e - tg->b};
  return node_add(ps->t, &nd);
}

static int close_section(struct parser *ps, const struct tag *tg) {
  const char *s = ps->src;
  size_t len = tg->e - tg->b;
  if (ps->depth == 0)
    return fail(ps, tg->start, ERR_PARSE, "closing tag \"%.*s\" without an open section", (int)len,
                s + tg->b);
  const struct open_section *os = &ps->stack[ps->depth - 1];
  if (os->nlen != len || memcmp(s + os->name, s + tg->b, len) != 0)
    return fail(ps, tg->start, ERR_PARSE,
                "closing tag \"%.*s\" does not match open section \"%.*s\"", (int)len, s + tg->b,
                (int)os->nlen, s + os->name);
  ps->t->nodes[os->node].end = ps->t->nnodes;
  ps->depth--;
  return 0;
}

static int add_partial(struct parser *ps, const struct tag *tg, size_t ind_b, size_t ind_e) {
  const char *s = ps->src;
  if (tg->b == tg->e)
    return fail(ps, tg->start, ERR_PARSE, "empty partial name");
  for (size_t i = tg->b; i < tg->e; i++)
    if (is_space(s[i]))
      return fail(ps, tg->start, ERR_PARSE, "invalid partial name \"%.*s\"", (int)(tg->e - tg->b),
                  s + tg->b);
  struct node nd = {.kind = K_PARTIAL};
  if (pool_add(ps->t, s + tg->b, tg->e - tg->b, 1, &nd.off) ||
      pool_add(ps->t, s + ind_b, ind_e - ind_b, 1, &nd.indent))
    return ERR_NOMEM;
  return node_add(ps->t, &nd);
}

/* Turns a scanned tag into nodes. [ind_b, ind_e) is a standalone tag's indentation. */
static int apply_tag(struct parser *ps, const struct tag *tg, size_t ind_b, size_t ind_e) {
  ps->t->ntags++;
  if (tg->type != '!' && tg->type != '=')
    ps->can_merge = 0;
  switch (tg->type) {
  case '!':
    return 0;
  case '=':
    return set_delimiters(ps, tg);
  case '#':
  case '^':
    return open_section(ps, tg);
  case '/':
    return close_section(ps, tg);
  case '>':
    return add_partial(ps, tg, ind_b, ind_e);
  default: {
    struct node nd = {.kind = tg->type == 'v' ? K_ESC : K_RAW};
    int rc = add_name(ps, tg, &nd);
    return rc ? rc : node_add(ps->t, &nd);
  }
  }
}

static int parse(struct parser *ps) {
  size_t text = 0, pos = 0;
  for (;;) {
    size_t at = find(ps->src + pos, ps->n - pos, ps->open, ps->olen);
    if (at == SIZE_MAX)
      return emit_text(ps, text, ps->n);
    struct tag tg;
    int rc = scan_tag(ps, pos + at, &tg);
    if (rc)
      return rc;
    size_t text_end = tg.start, next = tg.end;
    standalone(ps, &tg, &text_end, &next); /* leaves both alone when it is not */
    rc = emit_text(ps, text, text_end);
    if (!rc)
      rc = apply_tag(ps, &tg, text_end, tg.start);
    if (rc)
      return rc;
    text = pos = next;
  }
}

int tmpl_compile(const char *src, struct tmpl **out, struct err_detail *detail) {
  if (out)
    *out = NULL;
  if (!src || !out)
    return err_set(detail, ERR_INVAL, "", "tmpl_compile needs a source and an out pointer");
  size_t n = strlen(src);
  if (n > MAX_SOURCE)
    return err_set(detail, ERR_TOOBIG, "", "template is larger than %u bytes", MAX_SOURCE);
  struct tmpl *t = calloc(1, sizeof *t);
  if (!t)
    return err_set(detail, ERR_NOMEM, "", "out of memory");
  struct parser ps = {.src = src,
                      .n = n,
                      .t = t,
                      .detail = detail,
                      .open = "{{",
                      .close = "}}",
                      .olen = 2,
                      .clen = 2};
  for (int i = 0; i < 4; i++)
    ps.legacy_seg[i] = NO_SEG;
  int rc = parse(&ps);
  if (!rc && ps.depth > 0) {
    const struct open_section *os = &ps.stack[ps.depth - 1];
    rc = fail(&ps, os->pos, ERR_PARSE, "unclosed section \"%.*s\"", (int)os->nlen, src + os->name);
  }
  if (rc == ERR_NOMEM)
    err_set(detail, rc, "", "out of memory");
  if (rc) {
    tmpl_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

int tmpl_is_constant(const struct tmpl *t) { return t && t->ntags == 0; }

void tmpl_free(struct tmpl *t) {
  if (!t)
    return;
  free(t->nodes);
  free(t->pool);
  free(t->segs);
  free(t);
}

/* ---- output ---- */

struct out {
  char *p;
  size_t len, cap;
};

/* Makes room for extra more bytes plus the final NUL. */
static int reserve(struct out *o, size_t extra) {
  if (o->len + extra < o->cap)
    return 0;
  if (o->len + extra > MAX_OUTPUT)
    return ERR_TOOBIG;
  size_t cap = o->cap ? o->cap : 64;
  while (cap <= o->len + extra)
    cap *= 2;
  char *p = realloc(o->p, cap);
  if (!p)
    return ERR_NOMEM;
  o->p = p;
  o->cap = cap;
  return 0;
}

static int put(struct out *o, const char *s, size_t n) {
  int rc = reserve(o, n);
  if (rc)
    return rc;
  memcpy(o->p + o->len, s, n);
  o->len += n;
  return 0;
}

/* Writes s with & " < > HTML-escaped: exactly the four the Mustache spec tests. */
static int put_esc(struct out *o, const char *s, size_t n) {
  size_t b = 0;
  for (size_t i = 0; i < n; i++) {
    const char *ent;
    switch (s[i]) {
    case '&':
      ent = "&amp;";
      break;
    case '"':
      ent = "&quot;";
      break;
    case '<':
      ent = "&lt;";
      break;
    case '>':
      ent = "&gt;";
      break;
    default:
      continue;
    }
    int rc = put(o, s + b, i - b);
    if (!rc)
      rc = put(o, ent, strlen(ent));
    if (rc)
      return rc;
    b = i + 1;
  }
  return put(o, s + b, n - b);
}

static int emit(struct out *o, const char *s, size_t n, int esc) {
  return esc ? put_esc(o, s, n) : put(o, s, n);
}

/* Writes s as a JSON string literal. */
static int put_json_string(struct out *o, const char *s, int esc) {
  int rc = emit(o, "\"", 1, esc);
  size_t b = 0, i = 0;
  for (; !rc && s[i]; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    char e[8];
    if (c == '"' || c == '\\')
      snprintf(e, sizeof e, "\\%c", c);
    else if (c == '\n' || c == '\r' || c == '\t')
      snprintf(e, sizeof e, "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
    else
      snprintf(e, sizeof e, "\\u%04x", c);
    rc = emit(o, s + b, i - b, esc);
    if (!rc)
      rc = emit(o, e, strlen(e), esc);
    b = i + 1;
  }
  if (!rc)
    rc = emit(o, s + b, i - b, esc);
  return rc ? rc : emit(o, "\"", 1, esc);
}

static int put_value(struct out *o, const cJSON *v, int esc);

/* Writes an array or object as compact JSON, numbers as JavaScript prints them. */
static int put_json(struct out *o, const cJSON *v, int esc) {
  int obj = cJSON_IsObject(v);
  int rc = emit(o, obj ? "{" : "[", 1, esc);
  for (const cJSON *c = v->child; c && !rc; c = c->next) {
    if (c != v->child)
      rc = emit(o, ",", 1, esc);
    if (!rc && obj && c->string) {
      rc = put_json_string(o, c->string, esc);
      if (!rc)
        rc = emit(o, ":", 1, esc);
    }
    if (!rc)
      rc = cJSON_IsString(c) ? put_json_string(o, c->valuestring, esc)
           : cJSON_IsNull(c) ? emit(o, "null", 4, esc)
                             : put_value(o, c, esc);
  }
  return rc ? rc : emit(o, obj ? "}" : "]", 1, esc);
}

/* Writes a number as JavaScript's String(n). Integers below 2^53 are the common case (ids,
 * amounts, quantities) and need every digit to round-trip, so they take a short path
 * that gives the same text without jsonnum's search for the shortest digits. */
static int put_number(struct out *o, double n) {
  char buf[JSONNUM_BUFSIZE];
  if (n > -9007199254740992.0 && n < 9007199254740992.0 && n == (double)(int64_t)n) {
    int64_t i = (int64_t)n;
    uint64_t u = i < 0 ? 0 - (uint64_t)i : (uint64_t)i;
    char *p = buf + sizeof buf;
    do
      *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (i < 0)
      *--p = '-';
    return put(o, p, (size_t)(buf + sizeof buf - p));
  }
  jsonnum_format(n, buf);
  return put(o, buf, strlen(buf));
}

/* Interpolates v: missing and null print nothing, numbers as JavaScript's String(n). */
static int put_value(struct out *o, const cJSON *v, int esc) {
  if (!v || cJSON_IsNull(v))
    return 0;
  if (cJSON_IsString(v) || cJSON_IsRaw(v))
    return v->valuestring ? emit(o, v->valuestring, strlen(v->valuestring), esc) : 0;
  if (cJSON_IsNumber(v))
    return put_number(o, v->valuedouble);
  if (cJSON_IsBool(v))
    return cJSON_IsTrue(v) ? put(o, "true", 4) : put(o, "false", 5);
  if (cJSON_IsArray(v) || cJSON_IsObject(v))
    return put_json(o, v, esc);
  return 0;
}

/* ---- rendering ---- */

struct cached {
  const char *name, *indent; /* point into a template that outlives the render */
  struct tmpl *t;            /* NULL: no such partial, renders as empty */
};

struct render {
  const cJSON *partials;
  const cJSON *ctx[MAX_DEPTH + 1]; /* the context stack; ctx[0] is the data */
  int nctx, depth;
  struct cached *cache;
  uint32_t ncache, ccap;
  struct out out;
  struct err_detail *detail;
};

static int render_range(struct render *r, const struct tmpl *t, uint32_t i, uint32_t end);

/* One step of a dotted name: an object's key, or an array's index ("items.0.name"). */
static const cJSON *child(const cJSON *c, const char *key) {
  if (cJSON_IsObject(c))
    return cJSON_GetObjectItemCaseSensitive(c, key);
  if (!cJSON_IsArray(c) || key[0] < '0' || key[0] > '9' || (key[0] == '0' && key[1]))
    return NULL;
  long idx = 0;
  for (const char *k = key; *k; k++) {
    if (*k < '0' || *k > '9' || idx > 100000000)
      return NULL;
    idx = idx * 10 + (*k - '0');
  }
  return cJSON_GetArrayItem(c, (int)idx);
}

/* Resolves a name: the first segment on the context stack from the top down, the others
 * only inside what the first found (a broken chain is a miss, never a fallback). */
static const cJSON *lookup(const struct render *r, const struct tmpl *t, const struct node *nd) {
  if (nd->nseg == 0)
    return r->ctx[r->nctx - 1];
  const char *first = t->pool + t->segs[nd->seg];
  const cJSON *v = NULL;
  for (int i = r->nctx - 1; i >= 0 && !v; i--)
    v = child(r->ctx[i], first);
  for (uint32_t k = 1; k < nd->nseg && v; k++)
    v = child(v, t->pool + t->segs[nd->seg + k]);
  return v;
}

/* Section truthiness follows mustache.js: missing, null, false, 0, "" and [] are falsy. */
static int truthy(const cJSON *v) {
  if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v))
    return 0;
  if (cJSON_IsNumber(v))
    return v->valuedouble != 0;
  if (cJSON_IsString(v))
    return v->valuestring && v->valuestring[0];
  if (cJSON_IsArray(v))
    return v->child != NULL;
  return 1;
}

static int enter(struct render *r) {
  if (r->depth == MAX_DEPTH)
    return err_set(r->detail, ERR_TOODEEP, "",
                   "sections and partials nested deeper than %d while rendering", MAX_DEPTH);
  r->depth++;
  return 0;
}

/* Renders the children of section i once per element of a list, once with a truthy
 * value pushed on the context stack, or (inverted) once when the value is falsy. */
static int render_section(struct render *r, const struct tmpl *t, uint32_t i) {
  const struct node *nd = &t->nodes[i];
  const cJSON *v = lookup(r, t, nd);
  int rc = 0, yes = truthy(v);
  if (nd->kind == K_INVERTED ? yes : !yes)
    return 0;
  if ((rc = enter(r)))
    return rc;
  if (nd->kind == K_INVERTED) {
    rc = render_range(r, t, i + 1, nd->end);
  } else if (cJSON_IsArray(v)) {
    for (const cJSON *e = v->child; e && !rc; e = e->next) {
      r->ctx[r->nctx++] = e;
      rc = render_range(r, t, i + 1, nd->end);
      r->nctx--;
    }
  } else {
    r->ctx[r->nctx++] = v;
    rc = render_range(r, t, i + 1, nd->end);
    r->nctx--;
  }
  r->depth--;
  return rc;
}

/* Compiles a partial with its standalone indentation prepended to each of its lines, as
 * the spec says: indentation belongs to the partial's source, not to the data it prints. */
static int compile_partial(struct render *r, const char *name, const char *src, const char *indent,
                           struct tmpl **out) {
  size_t il = strlen(indent), n = strlen(src), lines = 1;
  int rc;
  if (il == 0) {
    rc = tmpl_compile(src, out, r->detail);
    goto done;
  }
  for (size_t i = 0; i + 1 < n; i++)
    lines += src[i] == '\n';
  char *buf = malloc(n + lines * il + 1);
  if (!buf)
    return err_set(r->detail, ERR_NOMEM, "", "out of memory");
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (i == 0 || src[i - 1] == '\n') {
      memcpy(buf + k, indent, il);
      k += il;
    }
    buf[k++] = src[i];
  }
  buf[k] = '\0';
  rc = tmpl_compile(buf, out, r->detail);
  free(buf);
  if (rc) {
    struct tmpl *plain = NULL; /* the unindented source gives the right columns */
    tmpl_compile(src, &plain, r->detail);
    tmpl_free(plain);
  }
done:
  if (rc && r->detail) {
    char msg[sizeof r->detail->msg];
    snprintf(msg, sizeof msg, "%s", r->detail->msg);
    err_set(r->detail, rc, "", "partial \"%.100s\": %s", name, msg);
  }
  return rc;
}

/* Finds the partial (name, indent) compiled earlier in this render, or compiles it. */
static int get_partial(struct render *r, const char *name, const char *indent, struct tmpl **out) {
  for (uint32_t i = 0; i < r->ncache; i++)
    if (strcmp(r->cache[i].name, name) == 0 && strcmp(r->cache[i].indent, indent) == 0) {
      *out = r->cache[i].t;
      return 0;
    }
  const cJSON *src =
      cJSON_IsObject(r->partials) ? cJSON_GetObjectItemCaseSensitive(r->partials, name) : NULL;
  *out = NULL;
  if (src && !cJSON_IsString(src))
    return err_set(r->detail, ERR_TYPE, "", "partial \"%.100s\" is not a string", name);
  if (src) {
    int rc = compile_partial(r, name, src->valuestring, indent, out);
    if (rc)
      return rc;
  }
  if (grow((void **)&r->cache, &r->ccap, r->ncache + 1, sizeof *r->cache)) {
    tmpl_free(*out);
    return err_set(r->detail, ERR_NOMEM, "", "out of memory");
  }
  r->cache[r->ncache++] = (struct cached){name, indent, *out};
  return 0;
}

static int render_partial(struct render *r, const struct tmpl *t, const struct node *nd) {
  struct tmpl *p;
  int rc = get_partial(r, t->pool + nd->off, t->pool + nd->indent, &p);
  if (rc || !p)
    return rc;
  if ((rc = enter(r)))
    return rc;
  rc = render_range(r, p, 0, p->nnodes);
  r->depth--;
  return rc;
}

static int render_range(struct render *r, const struct tmpl *t, uint32_t i, uint32_t end) {
  int rc = 0;
  while (i < end && !rc) {
    const struct node *nd = &t->nodes[i];
    switch (nd->kind) {
    case K_TEXT:
      rc = put(&r->out, t->pool + nd->off, nd->len);
      break;
    case K_ESC:
    case K_RAW:
      rc = put_value(&r->out, lookup(r, t, nd), nd->kind == K_ESC);
      break;
    case K_SECTION:
    case K_INVERTED:
      rc = render_section(r, t, i);
      i = nd->end;
      continue;
    case K_PARTIAL:
      rc = render_partial(r, t, nd);
      break;
    }
    i++;
  }
  return rc;
}

int tmpl_render(const struct tmpl *t, const cJSON *data, const cJSON *partials, char **out,
                struct err_detail *detail) {
  if (out)
    *out = NULL;
  if (!t || !out)
    return err_set(detail, ERR_INVAL, "", "tmpl_render needs a template and an out pointer");
  struct render r = {.partials = partials, .nctx = 1, .detail = detail};
  r.ctx[0] = data;
  size_t guess = 2 * t->text_bytes + 64; /* sections and values usually add to the text */
  int rc = reserve(&r.out, guess < MAX_OUTPUT ? guess : MAX_OUTPUT);
  if (!rc)
    rc = render_range(&r, t, 0, t->nnodes);
  for (uint32_t i = 0; i < r.ncache; i++)
    tmpl_free(r.cache[i].t);
  free(r.cache);
  if (rc) {
    free(r.out.p);
    if (rc == ERR_TOOBIG)
      err_set(detail, rc, "", "output would be larger than %u bytes", MAX_OUTPUT);
    else if (rc == ERR_NOMEM)
      err_set(detail, rc, "", "out of memory");
    return rc;
  }
  r.out.p[r.out.len] = '\0';
  *out = r.out.p;
  return 0;
}

int tmpl_render_str(const char *src, const cJSON *data, const cJSON *partials, char **out,
                    struct err_detail *detail) {
  struct tmpl *t;
  if (out)
    *out = NULL;
  int rc = tmpl_compile(src, &t, detail);
  if (rc)
    return rc;
  rc = tmpl_render(t, data, partials, out, detail);
  tmpl_free(t);
  return rc;
}
