/* jsonschema: a JSON Schema (draft 2020-12 subset) validator, compiled once, run many times.
 *
 * The subset is what flowd's node-config schemas use: type (a name or an array of names),
 * properties, required, additionalProperties (false or a schema), propertyNames, items,
 * enum, const, minimum/maximum, exclusiveMinimum/exclusiveMaximum, minLength/maxLength
 * (code points), minItems/maxItems, uniqueItems, minProperties/maxProperties, pattern (POSIX
 * extended regex, unanchored like ECMA), oneOf/anyOf/allOf, $ref to "#" or "#/$defs/<name>",
 * and format: duration, date-time, email, uri, cron, template. Annotations (title,
 * description, default, examples, $schema, $id, $comment, deprecated, readOnly, writeOnly)
 * and every "x-..." keyword are accepted and ignored, except "x-error", which replaces the
 * message when a oneOf/anyOf at that level matches nothing. Any other keyword is a compile
 * error, so a typo in a schema is caught at start-up rather than silently allowing anything.
 *
 * Invariant: a compiled schema is immutable and keeps no pointer into the cJSON it came
 * from; validation never allocates unless it has a violation to report. */
#ifndef FLOWD_JSONSCHEMA_H
#define FLOWD_JSONSCHEMA_H
#include <stddef.h>
#include <cjson/cJSON.h>
#include "graph/err.h"

struct jsonschema;

/* One violation, valid only during the report callback. */
struct jsonschema_error {
  const char *path;    /* JSON Pointer of the offending value: base_path + pointer inside */
  const char *keyword; /* the schema keyword that failed ("type", "required", "format"...) */
  const char *format;  /* for keyword "format": the format's name; otherwise NULL */
  const char *message; /* one sentence that names the field ("retry.max must be >= 0") */
};

typedef void (*jsonschema_report_fn)(void *ud, const struct jsonschema_error *e);

/* Compiles schema (a JSON object, or true/false). Keeps no pointer into schema.
 * Returns 0 and *out (free with jsonschema_free), or a negative ERR_* code with *out NULL
 * and detail (may be NULL) naming the JSON Pointer inside the schema and the reason. */
int jsonschema_compile(const cJSON *schema, struct jsonschema **out, struct err_detail *detail);

/* Parses text as JSON and compiles it; same contract as jsonschema_compile. */
int jsonschema_parse(const char *text, struct jsonschema **out, struct err_detail *detail);

/* Validates value (NULL counts as a missing value and is reported as such) against s and
 * calls report once per violation, depth first; every violation is reported, not just the
 * first. Within a oneOf/anyOf that nothing matches, only the most plausible branch's
 * violations are reported (one that accepted the value's type, with the fewest), or a single
 * type error when every branch rejected the type, or the schema's "x-error". base_path (may be NULL or "") is prefixed to every path; root_name
 * (may be NULL: "value") names the value itself in messages, nested fields are named by
 * their dotted path ("candidates.roles[1]"). Returns the number of violations (0: valid),
 * or ERR_NOMEM. */
int jsonschema_validate(const struct jsonschema *s, const cJSON *value, const char *base_path,
                        const char *root_name, jsonschema_report_fn report, void *ud);

/* Checks s against one of the built-in formats without a schema (the graph uses it for
 * node-level fields). Returns 1 when valid, 0 when not (msg, may be NULL, says why), or
 * ERR_NOTFOUND for an unknown format name. */
int jsonschema_check_format(const char *format, const char *s, char *msg, size_t msglen);

void jsonschema_free(struct jsonschema *s);

#endif
