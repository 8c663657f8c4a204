/* jsonlogic: a JSON Logic engine (every operator of jsonlogic.com except "method"), with the
 * truthiness and coercion rules of the reference implementation, json-logic-js.
 *
 * A rule is compiled once into an immutable tree (operators resolved, constants converted, var
 * paths split); evaluation walks that tree over cJSON data and never re-reads the rule. One
 * compiled rule may be evaluated any number of times, also from several threads at once.
 *
 * Decisions the reference leaves open, fixed here:
 * - An object with more than one key where a rule is expected is a compile error (the
 *   reference silently treats it as a literal); an empty object {} is a literal.
 * - Strings are indexed by UTF-16 code unit, as in JavaScript (substr, "length", str.0);
 *   a slice that cuts a surrogate pair in half yields U+FFFD for the lone half.
 * - reduce evaluates its initial value as logic (json-logic-js 2.x does; 1.x did not).
 * - log writes the value as JSON to stderr and returns it. */
#ifndef FLOWD_JSONLOGIC_H
#define FLOWD_JSONLOGIC_H
#include <cjson/cJSON.h>
#include "graph/err.h"

struct jsonlogic;

/* Compiles rule (any JSON value). Does not take ownership of rule and keeps no pointer into it.
 * Returns 0 and a new compiled rule in *out (free with jsonlogic_free), or ERR_PARSE (unknown
 * operator, object with several keys, an arity the reference throws on) or ERR_TOODEEP, with
 * *out NULL and detail (may be NULL) naming the place as a JSON Pointer into rule. */
int jsonlogic_compile(const cJSON *rule, struct jsonlogic **out, struct err_detail *detail);

/* Evaluates jl over data (NULL means null). Returns 0 and a new cJSON value in *result, owned
 * by the caller and independent of data; or a negative ERR_* code (ERR_EVAL, ERR_NOMEM). */
int jsonlogic_eval(const struct jsonlogic *jl, const cJSON *data, cJSON **result,
                   struct err_detail *detail);

/* Evaluates jl over data and returns the truthiness of the result (1 or 0), or a negative
 * ERR_* code. Builds no result document, so a rule of comparisons allocates nothing. */
int jsonlogic_test(const struct jsonlogic *jl, const cJSON *data, struct err_detail *detail);

/* JSON Logic truthiness: false, null, 0, NaN, "" and [] are falsy, everything else (also "0"
 * and {}) is truthy. NULL counts as null. */
int jsonlogic_truthy(const cJSON *v);

/* Frees jl; NULL is allowed. */
void jsonlogic_free(struct jsonlogic *jl);

#endif
