/* exec_util: helpers for executor tests: install flows, post events, wait for runs. */
#ifndef FLOWD_TEST_EXEC_UTIL_H
#define FLOWD_TEST_EXEC_UTIL_H
#include "tests/helpers.h"

/* Creates, publishes and activates flow_json on p; fails the test on any error. */
void flow_install(struct flowd_proc *p, const char *flow_json);
/* Posts body to /api/events and returns the first accepted event id (fails unless 202). */
long long event_post(struct flowd_proc *p, const char *body);
/* Waits until SQL query (returning one value) on the test database equals want. */
void wait_sql(const char *sql, const char *want, int timeout_ms);
/* The first value of SQL query on the test database, as a number. */
long long sql_num(const char *sql);

#endif
