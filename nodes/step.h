/* step: what a node's execute op sees and does while it runs as one step of a run.
 *
 * The executor (server/exec.c) implements these. An execute op reads its config, compiled
 * state and the run scope, and reports EXACTLY ONE outcome: step_done (took a port),
 * step_skip, step_fail, step_wait/step_wait_event (not finished yet: the executor calls
 * execute again when the wait ends, with step_resumed() true), or step_stop. It may report it
 * before returning or later (after asynchronous work it armed on the loop); it MUST NOT block.
 * Effects it asks for (record updates, deliveries, messages) are committed in the same
 * transaction as the step's outcome, so they happen exactly once or not at all. */
#ifndef FLOWD_STEP_H
#define FLOWD_STEP_H
#include <cjson/cJSON.h>
#include <stdint.h>

struct step;
struct db_batch;

/* ---- what the step sees ---- */
const cJSON *step_config(const struct step *s);
const void *step_state(const struct step *s);  /* what the type's compile op built */
const char *step_node_id(const struct step *s);
/* The run scope: event, the records in play by kind (order, customer, ...), staff, nodes
 * (each finished node's output), vars, flow, run. Read-only. */
const cJSON *step_scope(const struct step *s);
int step_attempt(const struct step *s);      /* 1 for the first attempt */
/* The node's retry policy ("retry": {"max", "backoff"}): retries after the first attempt and
 * the first backoff. Sends hand it to the outbox, which retries the delivery itself. */
void step_retry(const struct step *s, int *max, int64_t *backoff_ms);
int step_is_test(const struct step *s);      /* a test run: record effects, send nothing */
int64_t step_now_ms(const struct step *s);
long long step_run_id(const struct step *s);
/* A resumed step: 1 when execute runs again after step_wait/step_wait_event. */
int step_resumed(const struct step *s);
int step_due_reached(const struct step *s);   /* the wait's due time has passed */
const cJSON *step_signal(const struct step *s); /* wait.event: the event that arrived, or NULL */
/* The latest delivery this node made in this run ({id, status: pending|sending|sent|failed|
 * recorded, attempts, response, error, to}), or NULL: what a send resumes on. */
const cJSON *step_delivery(const struct step *s);
/* The idempotency key of this step's outbound message: the same for every retry the outbox
 * makes of it; a new attempt of the step (a retry of the run) makes a new one. */
const char *step_idempotency_key(struct step *s);
/* What this node's previous wait stored with step_wait (its output), or NULL. */
const cJSON *step_waited(const struct step *s);

/* ---- outcomes: exactly one per call of execute ---- */
/* Took port (NULL: "out"); output (taken over, may be NULL) becomes nodes.<id>. */
void step_done(struct step *s, const char *port, cJSON *output);
/* Took several ports at once (branch.switch match "all"): names, NULL-terminated. */
void step_done_ports(struct step *s, const char *const *ports, cJSON *output);
/* Nothing to do (e.g. a customer without a phone): status skipped with the reason; the run
 * goes on through "out". */
void step_skip(struct step *s, const char *reason);
/* Failed. retryable: the node's retry policy applies; else, or when attempts are used up,
 * the "error" port is taken if wired, else the run fails. */
void step_fail(struct step *s, int retryable, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Not finished: call again at due_ms (0: only when a signal arrives). output (taken over)
 * is kept and given back by step_waited(). */
void step_wait(struct step *s, int64_t due_ms, cJSON *output);
/* Waits for an event of `type` (every such event wakes the step with step_signal) or until
 * due_ms (0: no timeout). */
void step_wait_event(struct step *s, const char *type, int64_t due_ms, cJSON *output);
/* Ends the whole run: succeeded (1) or failed (0), with a reason. */
void step_stop(struct step *s, int succeeded, const char *reason);

/* Runs one SQL statement now (not in the step's transaction: for reads, and for counters that
 * must move at once for every process, such as a round-robin cursor) and calls cb with its
 * result on the loop; cb must then report the step's outcome (or query again). rc is 0, ERR_DB
 * or ERR_DBDOWN; r is valid during the call. Params are text, NULL for SQL NULL. sql must be
 * a constant text (it is prepared once per connection). */
struct db_result;
void step_query(struct step *s, const char *sql, int nparams, const char *const *params,
                void (*cb)(struct step *s, int rc, const struct db_result *r));

/* What action.assign's fixed strategy reads about one staff member ({id, online, staff}),
 * kept in memory until staff or presence change anywhere (server/staffcache.h): the cached
 * row (borrowed) or NULL; the generation to take before reading it from the database; and
 * remembering what was read (ignored if something changed since gen). */
const cJSON *step_staff_cached(const char *id);
unsigned step_staff_generation(void);
void step_staff_remember(const char *id, const cJSON *row, unsigned gen);

/* ---- effects, committed with the outcome ---- */
/* Puts a staff member in play: scope.staff (SPEC's run scope) becomes staff (taken over), for
 * the nodes after this one, e.g. {{staff.name}} after an assignment. */
void step_set_staff(struct step *s, cJSON *staff);
/* Sets vars.<name> (takes value). */
void step_set_var(struct step *s, const char *name, cJSON *value);
/* Updates record kind/id with the fields of patch (takes patch) through the same path as an
 * event (<kind>.updated, caused by this run): the scope sees it at once. Returns 0 or
 * ERR_INVAL when the record is unknown to the run and id is NULL. */
int step_update_record(struct step *s, const char *kind, const char *id, cJSON *patch);
/* Creates a record (e.g. a task) through <kind>.created. Takes data (must have "id"). */
void step_create_record(struct step *s, const char *kind, cJSON *data);
/* Records that staff (in team, or NULL) became the owner of record kind/id (customer and
 * scope, or NULL: stickiness per customer): a row of assignments, written with the outcome. */
void step_record_assignment(struct step *s, const char *kind, const char *id,
                            const char *customer, const char *scope, const char *staff,
                            const char *team);
/* The transaction the outcome commits in, for effects of a node's own (outbox rows). */
struct db_batch *step_batch(struct step *s);
/* Publishes a websocket message after the commit (takes msg). */
void step_publish(struct step *s, const char *topic, const char *type, cJSON *msg);

#endif
