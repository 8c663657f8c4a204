/* exec_util: helpers for executor tests: install flows, post events, wait for runs. */
#ifndef FLOWD_TEST_EXEC_UTIL_H
#define FLOWD_TEST_EXEC_UTIL_H
#include "tests/helpers.h"

/* Creates, publishes and activates flow_json on p; fails the test on any error. Staff,
 * teams and providers the draft names but that do not exist are created first (publishing
 * refuses missing references). */
void flow_install(struct flowd_proc *p, const char *flow_json);
/* Creates every staff member, team and provider that problems (a draft's problems) report as
 * missing_reference. */
void create_missing_refs(struct flowd_proc *p, const cJSON *problems);
/* Posts body to /api/events and returns the first accepted event id (fails unless 202). */
long long event_post(struct flowd_proc *p, const char *body);
/* Waits until SQL query (returning one value) on the test database equals want. */
void wait_sql(const char *sql, const char *want, int timeout_ms);
/* The first value of SQL query on the test database, as a number. */
long long sql_num(const char *sql);
/* The value of an unlabelled sample in p's /metrics, or -1. */
long long metric_value(struct flowd_proc *p, const char *name);

#endif
