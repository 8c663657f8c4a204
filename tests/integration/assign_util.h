/* assign_util: what the assignment, task and conversation tests share: JSON written with
 * single quotes, staff and presence through the API, flows and events, and SQL look-ups. */
#ifndef FLOWD_TEST_ASSIGN_UTIL_H
#define FLOWD_TEST_ASSIGN_UTIL_H
#include <stddef.h>
#include "tests/helpers.h"

/* s with every ' turned into " (so JSON reads well inside C strings). Returns one of a few
 * rotating static buffers: use it before calling jq a dozen more times. */
const char *jq(const char *s);

void au_start(struct flowd_proc *p);
/* SIGTERM; fails unless flowd exits 0 (no leak, no error). */
void au_stop(struct flowd_proc *p);
/* An admin request (body in jq form, may be NULL); fails unless the status is want. */
#define au_call(p, m, path, body, want) au_call_at(__FILE__, __LINE__, p, m, path, body, want)
void au_call_at(const char *file, int line, const struct flowd_proc *p, const char *method,
                const char *path, const char *body, long want);
/* A staff member with more fields in jq form ("'roles':['sales'],'pages':['P1']"). */
void au_staff(const struct flowd_proc *p, const char *id, const char *fields);
void au_presence(const struct flowd_proc *p, const char *id, int online);
void au_flow(struct flowd_proc *p, const char *flow);
void au_event(struct flowd_proc *p, const char *event);
/* Waits (10 s at most) until the SQL's single value is want. */
#define au_wait(sql, want) au_wait_at(__FILE__, __LINE__, sql, want)
void au_wait_at(const char *file, int line, const char *sql, const char *want);
/* The SQL's single value into buf (and returns buf). */
const char *au_sql(const char *sql, char *buf, size_t len);
/* Waits until n runs have finished (succeeded or failed). */
#define au_runs_done(n) au_runs_done_at(__FILE__, __LINE__, n)
void au_runs_done_at(const char *file, int line, int n);

#endif

/* A websocket listener (tests/tools/ws_client.py as the admin): subscribes to topic, writes
 * every message it gets as a line to a file, and ends at the first message of until_type
 * (or after 10 s). */
struct au_ws {
  int pid;
  char out[600];
};
void au_ws_listen(struct au_ws *w, const struct flowd_proc *p, const char *topic,
                  const char *until_type);
/* Waits until it subscribed; then waits for it to end. au_ws_output returns a new string. */
void au_ws_ready(const struct au_ws *w);
int au_ws_end(struct au_ws *w);
char *au_ws_output(const struct au_ws *w);
