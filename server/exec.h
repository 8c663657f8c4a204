/* exec: the executor: runs flows' runs on the loop, durably.
 *
 * A run is executed in segments. A segment starts from the run's committed state (its walk
 * state, scope, the trigger event, the records in play as they are NOW, and signals that
 * arrived), runs every node that can run, and ends when nothing can run before some wait is
 * over. It then commits everything at once: the steps, the effects of its nodes (record
 * updates, created records, deliveries), and the run's new state, after checking that this
 * process still holds the run (a run cancelled meanwhile keeps none of it). Websocket
 * messages go out after the commit, in order. A waiting run has a due time in the database;
 * whichever flowd process claims it when due runs its next segment. */
#ifndef FLOWD_EXEC_H
#define FLOWD_EXEC_H
#include <cjson/cJSON.h>

struct server;
struct graph;

/* Run status as stored in runs.status. */
enum run_status {
  RUN_RUNNING,   /* a segment is executing, or is ready to */
  RUN_WAITING,   /* nothing can run until a delay, wait, retry or delivery ends */
  RUN_SUCCEEDED, /* final */
  RUN_FAILED,    /* final: a node failed without an error port, or a stop node said so */
  RUN_CANCELLED, /* final: by the API, or its record left the status it was started in */
};

const char *run_status_name(enum run_status s);

int exec_init(struct server *srv);
void exec_shutdown(void);
/* After the drain (no run active): closes what exec_shutdown left open for the runs still
 * under way then. */
void exec_close(void);

/* This process's identity as the holder of run leases, and how long a lease lasts. */
const char *exec_owner(void);
int exec_lease_ms(void);

/* Takes the answer of flowd_intake(): starts the runs it created for this process (their
 * contexts are taken out of intake_result; the rest stays the caller's), and tells watchers
 * about the runs it cancelled. */
void exec_take(cJSON *intake_result);

/* Runs graph (taken over) as a test run of flow flow_id's draft with event (borrowed):
 * effects are recorded, not made; delays and waits end at once. cb gets the run id (or a
 * negative ERR_* code) when the run has finished. */
void exec_test_run(struct graph *graph, const char *flow_id, const cJSON *event,
                   void (*cb)(void *data, long long run_id, int rc), void *data);

/* Runs being executed now (for metrics and drain). */
int exec_active(void);
/* Run segments this process committed, and runs it finished (for metrics). */
unsigned long long exec_segments_committed(void);
/* Group commits of run segments (flowd_commit_segments calls) this process made. */
unsigned long long exec_segment_commits(void);
unsigned long long exec_runs_finished(void);

#endif
