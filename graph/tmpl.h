/* tmpl: text templates, compiled once and rendered many times.
 *
 * Mustache ({{a.b}} HTML-escaped, {{{a.b}}} and {{&a.b}} raw, sections, inverted sections,
 * comments, partials, set-delimiters, standalone-line rules) plus the legacy tokens
 * #ORDER_ID#, #NAME#, #PHONE#, #EMAIL# (= order.id, customer.name, customer.phone,
 * customer.email). Numbers render as written in JSON (1.21, 85). A compiled template is
 * immutable and may be rendered concurrently by any number of callers.
 *
 * Choices the Mustache spec leaves open, made here:
 * - Section truthiness follows mustache.js: missing, null, false, 0, "" and [] are falsy;
 *   "0", {} and every other value are truthy. A truthy non-list value is pushed on the
 *   context stack, as the spec describes, so {{.}} inside {{#flag}} prints "true".
 * - Interpolation: null and missing print nothing; numbers print as JavaScript's String(n)
 *   (jsonnum); booleans print true/false; objects and arrays print as compact JSON.
 *   Escaping replaces exactly & " < > with &amp; &quot; &lt; &gt;.
 * - Legacy tokens are resolved like {{{order.id}}}: raw, never HTML-escaped, because they
 *   feed SMS and plain-text e-mail. Only those four exact words are tokens; #FOO# and a
 *   lone # stay as written. A legacy token counts as text for the standalone-line rule.
 * - Names: "." is the top of the context stack; "a.b" resolves a on the stack and b inside
 *   it only; a numeric segment indexes an array ("items.0.name"). A name with whitespace
 *   or an empty segment ("a..b") is a compile error. Whitespace may pad a tag's sigil
 *   ("{{ #items }}").
 * - Limits: sections nest at most 100 deep per template, sections and partials at most 256
 *   deep during a render (so a partial that includes itself forever is ERR_TOODEEP), and
 *   output is at most 16 MiB (ERR_TOOBIG). */
#ifndef FLOWD_TMPL_H
#define FLOWD_TMPL_H
#include <stddef.h>
#include <cjson/cJSON.h>
#include "graph/err.h"

struct tmpl;

/* Compiles src (NUL-terminated, UTF-8). Keeps no pointer into src.
 * On success returns 0 and *out is a new template (free with tmpl_free). On failure returns
 * ERR_PARSE (ERR_TOODEEP past 100 nested sections) and fills detail: detail->msg names the
 * line and column, counted in characters ("line 2, column 7: unclosed section \"items\""). */
int tmpl_compile(const char *src, struct tmpl **out, struct err_detail *detail);

/* Renders t against data. partials (may be NULL) is a JSON object of name -> template
 * source; a missing partial renders as empty. Partials are compiled on first use, once per
 * render (a partial whose value is not a string is ERR_TYPE; one that does not compile is
 * ERR_PARSE with its name in detail->msg). On success returns 0 and *out is a new
 * NUL-terminated string owned by the caller (free()); on failure *out is NULL. */
int tmpl_render(const struct tmpl *t, const cJSON *data, const cJSON *partials, char **out,
                struct err_detail *detail);

/* Compiles and renders in one call (for one-off use such as the editor's preview). */
int tmpl_render_str(const char *src, const cJSON *data, const cJSON *partials, char **out,
                    struct err_detail *detail);

/* Returns 1 when t has no tags (its output is always the source text). */
int tmpl_is_constant(const struct tmpl *t);

void tmpl_free(struct tmpl *t);

#endif
