/* domain: Odoo-style domain filters, per ../shared/conformance/odoo-domain.md (server semantics).
 *
 * A domain is a JSON array in prefix notation: terms [path, operator, value], the logical
 * operators "&" "|" "!", and an implicit AND between consecutive complete expressions; []
 * matches everything. Term operators: = != <> == < <= > >= =? in "not in" like "not like"
 * ilike "not ilike" =like =ilike any "not any" (operators are matched case-insensitively).
 * Paths are dotted and existential through related records (objects, or arrays of them).
 * [1,"=",1] and [0,"=",1] are the constant true and false terms.
 *
 * A domain is compiled once into an immutable tree; matching allocates nothing and may run
 * from several threads at once. Choices where the document leaves room:
 * - child_of and parent_of need a hierarchy resolver, which we do not have: compile error.
 * - An empty pattern ("") for like and its kin is a compile error.
 * - [f, "=", []] means "f is unset" and [f, "!=", []] "f is set" (the newest Odoo's reading).
 * - ilike folds case for ASCII, Latin-1, Latin Extended-A/B letters used in Vietnamese,
 *   Latin Extended Additional (U+1E00..U+1EFF), basic Greek and Cyrillic; accents are kept.
 * - A date-only value ("2024-03-15") compared with a datetime field compares the date part,
 *   so the day counts as a whole (odoo-domain.md section 6). */
#ifndef FLOWD_DOMAIN_H
#define FLOWD_DOMAIN_H
#include <cjson/cJSON.h>
#include "graph/err.h"

struct domain;

/* Compiles list (the domain array). Does not take ownership of list and keeps no pointer into
 * it. Returns 0 and a new domain in *out (free with domain_free), or ERR_PARSE / ERR_TOODEEP
 * with *out NULL and detail (may be NULL) naming the place as a JSON Pointer into list
 * ("/2/1" for the operator of the third item). */
int domain_compile(const cJSON *list, struct domain **out, struct err_detail *detail);

/* Returns 1 when record matches dm, else 0 (never an error: logic is two-valued). record may
 * be NULL or a non-object, in which case every field is unset. */
int domain_match(const struct domain *dm, const cJSON *record);

/* Frees dm; NULL is allowed. */
void domain_free(struct domain *dm);

#endif
