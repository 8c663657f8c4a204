/* intake: events into the database with group commit.
 *
 * Every caller's events go into the next group; one group at a time is committed with a
 * single call of flowd_intake_json() (schema/013_intake_json.sql), or of flowd_intake()
 * when its events must go one by one (intake_keys below), so while one commit is in flight
 * the next group fills up and throughput grows with load. Each caller's callback runs once,
 * after its events are committed (or failed), with the ids in its own order. Runs that the
 * commit created are handed to the executor of this process, which holds their lease. */
#ifndef FLOWD_INTAKE_H
#define FLOWD_INTAKE_H
#include <cjson/cJSON.h>

struct server;

#define INTAKE_MAX_DEPTH 8 /* a chain of flows deeper than this starts no further runs */

/* rc is 0 or a negative ERR_* code; accepted is [{"id","duplicate"}] (borrowed, valid during
 * the call). result is the whole flowd_intake answer (borrowed), for callers that need the
 * runs it created or cancelled. */
typedef void (*intake_cb)(void *data, int rc, const cJSON *accepted, const cJSON *result);

int intake_init(struct server *srv);

/* Queues events (a JSON array of {type, key?, data, replace?}; takes ownership) caused by run
 * `cause` (0: from outside) at chain depth `depth`. Events of one call stay in order. */
void intake_submit(cJSON *events, long long cause, int depth, intake_cb cb, void *data);

/* Checks one event from outside: returns NULL when fine, else a message; *field receives the
 * offending field's name relative to the event ("type", "data.id", ...). */
const char *intake_check_event(const cJSON *ev, const char **field);

/* Whether a group of events may take the set-based intake (flowd_intake_json, schema/013;
 * flowd_intake_set inside PostgreSQL): none is a fan-page conversation event and none
 * touches a record another one touches (an inline customer may repeat). Otherwise each event
 * must see the record as the one before it left it: flowd_intake takes them one by one. Add
 * each array of events, then ask once (which also frees what was added). */
struct intake_key;
struct intake_keys {
  struct intake_key *keys;
  size_t n, cap;
  int one_by_one; /* decided already */
  int not_patch;  /* an event is not a plain patch: "<kind>.updated" of a record by its
                     string id, without "status", "customer" or "replace" (read it before
                     intake_keys_set_based) */
};
void intake_keys_add(struct intake_keys *ks, const cJSON *events);
int intake_keys_set_based(struct intake_keys *ks);

/* Events waiting for a commit, and commits in flight (for metrics and drain). */
int intake_pending(void);
/* For /metrics: events waiting for the next call; calls sent so far and the events they
 * carried (events per call is the one over the other). */
int intake_queued(void);
unsigned long long intake_calls(void);
unsigned long long intake_events(void);

#endif
