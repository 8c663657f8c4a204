/* xcommit: group commit of run segments.
 *
 * A run's segment (not a test run's, nor a discarded one's) is queued here instead of
 * committing on its own; the queue goes to PostgreSQL as one call of flowd_commit_segments
 * (schema/011_lighter_commits.sql) followed by the segments' own effects, all one transaction.
 * The queue goes out at the end of the loop turn that filled it (a uv_prepare: before the
 * loop polls again), so the runs one turn executed, such as a group of events' new runs,
 * commit together. While a group is being committed the next one fills up, so commits per
 * second stay bounded while runs per second grow with load. A second group goes out beside
 * the first only when BACKLOG segments wait: each commit in flight is a PostgreSQL backend
 * taking a core, which the event intake (the lane every 202 waits for) then waits for.
 *
 * If a group fails because one of its runs is no longer ours (cancelled, or taken over
 * after our lease expired: FD001), or for any other error but a lost connection, each of its
 * segments is committed alone instead (xrun_commit_alone), so one lost run costs the others
 * nothing. The effects batches are copied into the group for that reason. */
#include <stdio.h>
#include <stdlib.h>
#include "graph/err.h"
#include "server/api_util.h"
#include "server/db.h"
#include "server/exec.h"
#include "server/exec_internal.h"
#include "server/intake.h"
#include "server/server.h"

#define MAX_IN_FLIGHT 2
#define BACKLOG 64    /* segments waiting that justify a second commit in flight */
#define GROUP_MAX 400 /* segments per commit */

struct pending {
  struct xrun *xr;
  cJSON *seg;
  struct pending *next;
};

static struct {
  struct server *srv;
  struct pending *head, *tail;
  int in_flight;
  uv_prepare_t turn_end; /* flushes before the loop polls again */
  int queued; /* segments in the queue */
  unsigned long long calls; /* groups sent */
} C;

static void flush(void);

static int may_send(void) {
  return C.head && !uv_is_closing((uv_handle_t *)&C.turn_end) &&
         (C.in_flight == 0 || (C.in_flight < MAX_IN_FLIGHT && C.queued >= BACKLOG));
}

static void on_turn_end(uv_prepare_t *h) {
  uv_prepare_stop(h);
  flush();
}

/* The queue goes out before the loop next polls: the segments of every run this turn
 * executed (a group of new runs, say) are then one commit, instead of the first one or two
 * going alone while the rest wait for them. */
static void flush_at_turn_end(void) {
  if (may_send())
    uv_prepare_start(&C.turn_end, on_turn_end);
}

static void free_group(struct pending *p) {
  while (p) {
    struct pending *next = p->next;
    free(p);
    p = next;
  }
}

static void group_done(void *data, int rc, const struct db_result *r) {
  struct pending *first = data;
  C.in_flight--;
  /* The segments refer to their runs' steps and events: gone before the runs are. */
  for (struct pending *p = first; p; p = p->next) {
    cJSON_Delete(p->seg);
    p->seg = NULL;
  }
  if (rc == 0) {
    cJSON *res = api_row_json(r, 0, 0);
    /* The runs the record updates started are taken once, by the first segment. */
    int taken = 0;
    for (struct pending *p = first; p; p = p->next) {
      xrun_committed(p->xr, taken ? NULL : res);
      taken = 1;
    }
    cJSON_Delete(res);
  } else if (rc == ERR_DBDOWN || rc == ERR_CANCELLED) {
    for (struct pending *p = first; p; p = p->next)
      xrun_commit_failed(p->xr, rc, r);
  } else {
    for (struct pending *p = first; p; p = p->next)
      xrun_commit_alone(p->xr);
  }
  free_group(first);
  flush_at_turn_end();
}

static void flush(void) {
  while (may_send()) {
    struct pending *first = C.head, *last = C.head;
    int n = 1;
    while (last->next && n < GROUP_MAX) {
      last = last->next;
      n++;
    }
    C.queued -= n;
    C.head = last->next;
    if (!C.head)
      C.tail = NULL;
    last->next = NULL;

    cJSON *all = cJSON_CreateArray();
    struct intake_keys ks = {0};
    int fresh = 1;
    for (struct pending *p = first; p; p = p->next) {
      cJSON_AddItemReferenceToArray(all, p->seg);
      intake_keys_add(&ks, p->xr->record_events);
      fresh &= p->xr->fresh;
    }
    char *text = cJSON_PrintUnformatted(all);
    cJSON_Delete(all);
    char maxd[16], lease[16];
    snprintf(maxd, sizeof maxd, "%d", INTAKE_MAX_DEPTH);
    snprintf(lease, sizeof lease, "%d", exec_lease_ms());
    int patches = !ks.not_patch;
    const char *params[7] = {text, exec_owner(), maxd, lease,
                             intake_keys_set_based(&ks) ? "true" : "false",
                             patches ? "true" : "false", fresh ? "true" : "false"};
    struct db_batch *b = db_batch_new();
    db_batch_add(b, "xcommit",
                 "SELECT flowd_commit_segments($1::jsonb, $2, $3::int, $4::int, $5::boolean, "
                 "$6::boolean, $7::boolean)", 7, params);
    for (struct pending *p = first; p; p = p->next)
      db_batch_copy(b, p->xr->effects);
    free(text);
    C.in_flight++;
    C.calls++;
    db_submit(C.srv->db, b, group_done, first);
  }
}

void xcommit_add(struct xrun *xr, cJSON *seg) {
  struct pending *p = calloc(1, sizeof *p);
  if (!p) {
    cJSON_Delete(seg);
    xrun_commit_alone(xr);
    return;
  }
  p->xr = xr;
  p->seg = seg;
  if (C.tail)
    C.tail->next = p;
  else
    C.head = p;
  C.tail = p;
  C.queued++;
  flush_at_turn_end();
}

unsigned long long xcommit_calls(void) { return C.calls; }

int xcommit_init(struct server *srv) {
  C.srv = srv;
  uv_prepare_init(srv->loop, &C.turn_end);
  return 0;
}

/* After the drain; a segment queued later (the drain gave up) is cancelled with the pool. */
void xcommit_close(void) { uv_close((uv_handle_t *)&C.turn_end, NULL); }
