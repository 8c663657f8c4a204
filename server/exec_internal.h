/* exec_internal: what the executor's files share (exec.c: the step API, claiming; xrun.c:
 * one segment of one run; flowcache.c: parsed flow versions). Not for other modules. */
#ifndef FLOWD_EXEC_INTERNAL_H
#define FLOWD_EXEC_INTERNAL_H
#include <cjson/cJSON.h>
#include <stdint.h>
#include "graph/walk.h"

struct graph;
struct graph_node;
struct db_batch;
struct server;
struct db_result;

enum step_status { STEP_SUCCEEDED, STEP_FAILED, STEP_SKIPPED, STEP_WAITING, STEP_CANCELLED };

struct xrun;

/* The step being executed (one per run at a time: nodes of a run execute one after another;
 * side-by-side branches interleave at waits). */
struct step {
  struct xrun *run;
  const struct graph_node *node;
  size_t index;
  int outcome;     /* an outcome was reported */
  int resumed;     /* running again after a wait */
  int due_reached; /* its wait's due time passed */
  const cJSON *signal;
  int64_t started_ms;
  char key[192]; /* step_idempotency_key */
};

struct flow_entry; /* flowcache.c */

struct xrun {
  long long id;
  char flow_id[128];
  char ctx_trigger[128];
  int version;
  int test;
  int depth;
  int fresh;       /* first segment: the trigger has not run yet */
  int waited;      /* it had a waiting node when this segment began */
  int discard;     /* the trigger's condition did not match: the run never existed */
  int in_execute;  /* inside a node's execute call */
  int busy;        /* a step is executing (maybe asynchronously) */
  int64_t now_ms;
  struct flow_entry *flow;
  const struct graph *g;
  struct walk walk;
  cJSON *ctx;      /* the loaded context (flowd_run_context) */
  cJSON *scope;    /* event, records, nodes, vars, flow, run, ~waits */
  cJSON *steps;    /* step rows to upsert */
  cJSON *record_events; /* effects through flowd_intake, caused by this run */
  cJSON *assignments;   /* rows of assignments (step_record_assignment) */
  cJSON *waits_add;     /* [{node, type}] */
  cJSON *waits_del;     /* [node] */
  cJSON *signals;       /* loaded signals not consumed yet */
  long long max_signal; /* signals up to this id were consumed */
  cJSON *publish;       /* [{type, msg}] run messages, after the commit */
  cJSON *extra_publish; /* [{topic, type, msg}] node messages, after the commit */
  struct db_batch *effects; /* nodes' own statements, committed with the segment */
  char *error, *reason;
  int intake_stmt; /* index of the flowd_intake statement in the commit, or -1 */
  int final;       /* enum run_status the commit wrote */
  struct step cur;
  void (*done_cb)(void *data, long long run_id, int rc);
  void *done_data;
  struct xrun *next_waiting; /* waiting for its flow to load */
};

/* xrun.c */
void xrun_start(cJSON *ctx, const struct graph *test_graph,
                void (*done)(void *data, long long run_id, int rc), void *data);
void xrun_step_finished(struct step *s, enum step_status st, uint64_t mask, const char *port,
                        cJSON *output, const char *error);
void xrun_step_failed(struct step *s, int retryable, const char *msg);
void xrun_step_waits(struct step *s, int64_t due_ms, const char *event_type, cJSON *output);
void xrun_step_stops(struct step *s, int succeeded, const char *reason);
void xrun_add_record_event(struct xrun *xr, const char *type, cJSON *data);
void xrun_publish(struct xrun *xr, const char *topic, const char *type, cJSON *msg);
void xrun_begin(struct xrun *xr);
void xrun_fail_load(struct xrun *xr, const char *why);
/* The segment reads or writes waits, signals or wake-ups (it cannot commit in a group). */
int xrun_touches_waits(const struct xrun *xr);
/* Commits the segment on its own (flowd_commit_segment). */
void xrun_commit_alone(struct xrun *xr);
/* The segment committed: publishes, counts, takes the runs its record updates started
 * (intake_result, borrowed, may be NULL) and ends the segment. */
void xrun_committed(struct xrun *xr, cJSON *intake_result);
/* The segment did not commit (rc, r as in db_cb): logs and ends it. */
void xrun_commit_failed(struct xrun *xr, int rc, const struct db_result *r);
/* Gives up the segment without committing: the run comes back when its lease expires. */
void xrun_drop(struct xrun *xr);

/* xcommit.c: group commit of run segments. Takes seg (a flowd_commit_segments element);
 * the run's effects batch is copied, so a group that fails can fall back to committing
 * each segment alone. */
int xcommit_init(struct server *srv);
void xcommit_close(void);
void xcommit_add(struct xrun *xr, cJSON *seg);
/* Groups of segments sent to PostgreSQL so far. */
unsigned long long xcommit_calls(void);

/* exec.c */
/* Publishes msg (taken) about the run to its flow's, its own and (run.started/finished)
 * the "runs" topics; nothing is built when nobody anywhere would get it (ws_wanted). */
void exec_publish_run(double run_id, const char *flow_id, const char *type, cJSON *msg);
/* The same with a copy of msg (borrowed), made only when somebody would get it. */
void exec_publish_run_copy(double run_id, const char *flow_id, const char *type,
                           const cJSON *msg);
void exec_active_add(int d);
/* A segment committed (finished: the run reached a final status). */
void exec_count_commit(int finished);
struct server *exec_server(void);

/* flowcache.c: the parsed graph of flow_id's version (immutable, so cached for good).
 * Calls xrun_begin(xr) when it is there (maybe at once), or xrun_fail_load. */
void flowcache_get(struct xrun *xr);
void flowcache_free_all(void);

#endif
