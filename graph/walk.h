/* walk: the state machine of one run over its flow's DAG, with no I/O.
 *
 * Each node is in one state (enum walk_state). An edge leaves a node's port and is FIRED when
 * its node finished taking that port, DEAD when its node finished without it or will never
 * run; it is undecided otherwise. A node becomes READY when every incoming edge is decided
 * and at least one fired ("join": "any": as soon as one fires), and DEAD when all incoming
 * edges are dead; death propagates. The executor asks for READY nodes, runs them, and
 * reports each outcome with one walk_* call; walk_status says what the run is then.
 *
 * Invariant: states only move forward (UNREACHED -> READY -> RUNNING -> WAITING/DONE/FAILED,
 * UNREACHED -> DEAD), except WAITING -> READY when a wait ends (walk_wake). Ports are a
 * 64-bit mask, so a node has at most 64 ports. */
#ifndef FLOWD_WALK_H
#define FLOWD_WALK_H
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

struct graph;

enum walk_state {
  WALK_UNREACHED = 0, /* some incoming edge is still undecided */
  WALK_READY,         /* may run now */
  WALK_RUNNING,       /* executing in this segment */
  WALK_WAITING,       /* delay, wait.event, retry backoff or an outstanding delivery */
  WALK_DONE,          /* finished; took the ports in its mask */
  WALK_DEAD,          /* will never run: every incoming edge is dead */
  WALK_FAILED,        /* failed with no error port: the run fails */
};

enum walk_run_status {
  WALK_RUN_RUNNING,   /* some node is READY or RUNNING */
  WALK_RUN_WAITING,   /* nothing can run now; some node waits */
  WALK_RUN_SUCCEEDED, /* every node is DONE or DEAD */
  WALK_RUN_FAILED,    /* a node FAILED, or a stop node ended the run as failed */
  WALK_RUN_STOPPED,   /* a stop node ended the run as succeeded */
};

enum walk_flags {
  WALK_F_RESUME = 1, /* READY again after a wait: the same attempt goes on */
  WALK_F_RETRY = 2,  /* WAITING for a retry: waking it starts a new attempt */
};

struct walk_node {
  uint8_t state;
  uint8_t flags;    /* enum walk_flags */
  uint16_t attempt; /* attempts started so far */
  uint64_t ports;   /* DONE: the ports taken */
  int64_t due_ms;   /* WAITING: when it must be looked at again (0: only on a signal) */
};

struct walk {
  const struct graph *g;
  size_t n;
  struct walk_node *nodes;
  size_t *in_off, *in_src; /* incoming edges of node i: in_src[in_off[i] .. in_off[i+1]) */
  uint8_t *in_port;        /* and the source port of each */
  int stopped;             /* 0, or WALK_RUN_STOPPED / WALK_RUN_FAILED from a stop node */
};

/* Prepares w for graph g (every node UNREACHED). Returns 0 or ERR_NOMEM. */
int walk_init(struct walk *w, const struct graph *g);
void walk_free(struct walk *w);

/* The trigger node `trigger` fired: it is DONE with its "out" port. */
void walk_start(struct walk *w, size_t trigger);

/* The lowest-index READY node in topological order, or -1. It becomes RUNNING. */
long walk_next(struct walk *w);

/* Node i finished taking the ports in mask (bit p = port index p). */
void walk_done(struct walk *w, size_t i, uint64_t mask);
/* Node i finished taking the single port named port (must exist). Returns 0 or ERR_INVAL. */
int walk_done_port(struct walk *w, size_t i, const char *port);
/* Node i waits until due_ms (0: until a signal). */
void walk_wait(struct walk *w, size_t i, int64_t due_ms);
/* Node i failed and will be tried again at due_ms (a new attempt). */
void walk_retry(struct walk *w, size_t i, int64_t due_ms);
/* A waiting node i can run again: its delay ended, a signal came (the same attempt goes on),
 * or its retry is due (a new attempt). */
void walk_wake(struct walk *w, size_t i);
/* Node i failed for good: takes its "error" port if one is wired, else the run fails.
 * Returns 1 when the error port was taken. */
int walk_fail(struct walk *w, size_t i);
/* Retry from the failed steps: every FAILED node gets a new attempt (READY), and what its
 * failure made DEAD downstream is undecided again. Returns how many nodes were retried. */
int walk_retry_failed(struct walk *w);
/* A stop node ended the run (succeeded: 1 or failed: 0). */
void walk_stop(struct walk *w, size_t i, int succeeded);

enum walk_run_status walk_status(const struct walk *w);
/* The earliest due time of a waiting node (0 when none has one). */
int64_t walk_next_due(const struct walk *w);

/* Serialises the state of every node that left UNREACHED: {"<node id>": [state, ports,
 * attempt, due_ms, flags], ...}, and restores it (nodes missing from the graph are ignored).
 * Ports are written as a decimal string to keep 64 bits exact. */
cJSON *walk_save(const struct walk *w);
int walk_load(struct walk *w, const cJSON *saved);

const char *walk_state_name(enum walk_state s);

#endif
