/* scenario_check: the expectations of a scenario step (tests/scenarios/README.md), checked
 * against the test database and the sinks' records.
 *
 * An expectation object holds collections ("records", "runs", "deliveries", "http_sink",
 * "smtp_sink"), each a list of items. An item selects rows by its selector keys (per
 * collection, plus "where": {path: matcher}), checks how many were selected ("count"; absent:
 * at least one), and checks every other key (a dotted path into the row) on each selected
 * row with a matcher. "unique_keys": true checks that neither sink got one idempotency key
 * twice. Nothing here waits: the runner polls scen_check until it holds. */
#ifndef FLOWD_TEST_SCENARIO_CHECK_H
#define FLOWD_TEST_SCENARIO_CHECK_H
#include <cjson/cJSON.h>
#include <stddef.h>

struct sink;

/* Returns 1 when every expectation of expect holds; else 0, with what failed (and the rows
 * it looked at) in a new string *why (free it). The sinks may be NULL. vars (may be NULL)
 * holds the values steps remembered, which same_as/not_same_as name as "$name". */
int scen_check(const cJSON *expect, const struct sink *http, const struct sink *smtp,
               const cJSON *vars, char **why);

/* The field of a record named "kind/id/path" (e.g. "conversation/m:p1:c1/owner_id"), as a
 * new value, or NULL when there is no such record or field. */
cJSON *scen_record_field(const char *ref);

#endif
