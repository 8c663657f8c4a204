/* cond: conditions, compiled once and evaluated many times.
 *
 * A condition document is either a JSON Logic rule (every operator of jsonlogic.com with the
 * reference implementation's truthiness and coercion rules) or an Odoo-style domain wrapped as
 * {"domain": [...]}. cond_compile turns it into an immutable evaluable form; evaluation never
 * re-parses the document. A compiled condition may be shared by any number of evaluations. */
#ifndef FLOWD_COND_H
#define FLOWD_COND_H
#include <cjson/cJSON.h>
#include "graph/err.h"

struct cond;

/* Compiles doc. Does not take ownership of doc and keeps no pointer into it.
 * On success returns 0 and *out is a new condition (free with cond_free).
 * On failure returns a negative ERR_* code, *out is NULL, and detail (may be NULL) says where:
 * detail->path is a JSON Pointer relative to doc (e.g. "/and/1/>=/0"). Unknown operators,
 * wrong arities that the reference rejects, malformed domains are compile errors. */
int cond_compile(const cJSON *doc, struct cond **out, struct err_detail *detail);

/* Evaluates c against data (the run scope, or any JSON value; NULL means null).
 * On success returns 0 and *result is a new cJSON value owned by the caller (JSON Logic
 * returns any value; a domain returns true or false). */
int cond_eval(const struct cond *c, const cJSON *data, cJSON **result, struct err_detail *detail);

/* Evaluates and applies JSON Logic truthiness: returns 1 or 0, or a negative ERR_* code. */
int cond_test(const struct cond *c, const cJSON *data, struct err_detail *detail);

/* JSON Logic truthiness of v: false, null, 0, "" and [] are falsy; everything else
 * (including "0" and {}) is truthy. NULL counts as null. */
int cond_truthy(const cJSON *v);

/* Frees c; NULL is allowed. */
void cond_free(struct cond *c);

#endif
