/* sched: one timer armed for the earliest due schedule; see sched.h.
 *
 * Invariant: at most one flowd_fire_schedules() call is in flight per process (S.firing);
 * the timer is re-armed only from its completion, or at once by a NOTIFY while none is in
 * flight. Which process fires a due schedule is decided by the row lock in the database,
 * never here: every process may look at the same moment. */
#include <stdio.h>
#include "graph/err.h"
#include "server/api_util.h"
#include "server/db.h"
#include "server/exec.h"
#include "server/log.h"
#include "server/sched.h"
#include "server/server.h"

/* Look again at least this often: a NOTIFY from another process can be lost while the
 * listening connection reconnects, and this is one index look-up. */
#define RECHECK_MS 5000
/* A due schedule that another process is firing right now: look again shortly. */
#define HELD_MS 250
/* Schedules fired per transaction; a full batch means more may be due. */
#define FIRE_BATCH 100

static struct {
  struct server *srv;
  uv_timer_t timer;
  int firing;   /* a flowd_fire_schedules() call is in flight */
  int again;    /* activation changed while firing: look again as soon as it completes */
  int stopping;
  unsigned long long fired;
} S;

static void on_timer(uv_timer_t *t);

static void arm(uint64_t ms) {
  if (!S.stopping)
    uv_timer_start(&S.timer, on_timer, ms, 0);
}

/* When to look next, from the answer of flowd_fire_schedules(). */
static uint64_t next_delay(const cJSON *result, int fired) {
  if (fired >= FIRE_BATCH)
    return 0;
  const cJSON *next = cJSON_GetObjectItem(result, "next_ms");
  if (!cJSON_IsNumber(next))
    return RECHECK_MS; /* no schedule at all */
  if (next->valuedouble <= 0)
    return HELD_MS;
  return next->valuedouble < RECHECK_MS ? (uint64_t)next->valuedouble : RECHECK_MS;
}

static void on_fired(void *data, int rc, const struct db_result *r) {
  (void)data;
  S.firing = 0;
  if (rc) {
    if (rc != ERR_DBDOWN && rc != ERR_CANCELLED)
      log_error("firing due schedules failed", "error=%s",
                log_quote(r && r->error ? r->error : err_str(rc)));
    arm(RECHECK_MS);
    return;
  }
  cJSON *result = api_row_json(r, 0, 0);
  const cJSON *runs = cJSON_GetObjectItem(result, "runs");
  int n = cJSON_GetArraySize(runs);
  if (n > 0) {
    const cJSON *run;
    cJSON_ArrayForEach(run, runs)
      log_debug("schedule fired", "flow=%s node=%s run=%.0f",
                log_quote(cJSON_GetStringValue(cJSON_GetObjectItem(run, "flow_id"))),
                log_quote(cJSON_GetStringValue(cJSON_GetObjectItem(run, "trigger"))),
                cJSON_GetNumberValue(cJSON_GetObjectItem(run, "id")));
    S.fired += (unsigned long long)n;
    /* The runs are committed and leased to this process: the executor starts them (if this
     * process dies first, another takes them over when the lease expires). */
    exec_take(result);
  }
  uint64_t delay = next_delay(result, n);
  if (S.again)
    delay = 0;
  S.again = 0;
  cJSON_Delete(result);
  arm(delay);
}

static void on_timer(uv_timer_t *t) {
  (void)t;
  if (S.firing || S.stopping)
    return;
  S.firing = 1;
  char lease[16], limit[16];
  snprintf(lease, sizeof lease, "%d", exec_lease_ms());
  snprintf(limit, sizeof limit, "%d", FIRE_BATCH);
  const char *params[3] = {exec_owner(), lease, limit};
  db_query(S.srv->db, "sched_fire", "SELECT flowd_fire_schedules($1, $2::int, $3::int)", 3,
           params, on_fired, NULL);
}

/* A flow was activated, deactivated or deleted (by any process): its schedules may now be
 * due earlier than the timer is armed for. */
static void on_flows_changed(void *data, const char *channel, const char *payload) {
  (void)data, (void)channel, (void)payload;
  if (S.stopping)
    return;
  if (S.firing)
    S.again = 1;
  else
    arm(0);
}

int sched_init(struct server *srv) {
  S.srv = srv;
  uv_timer_init(srv->loop, &S.timer);
  /* At once: schedules that came due while every process was down fire now (once). */
  uv_timer_start(&S.timer, on_timer, 0, 0);
  return db_listen(srv->db, "flowd_flows", on_flows_changed, NULL);
}

void sched_shutdown(void) {
  if (S.stopping)
    return;
  S.stopping = 1;
  uv_timer_stop(&S.timer);
  uv_close((uv_handle_t *)&S.timer, NULL);
}

int sched_pending(void) { return S.firing; }
unsigned long long sched_fired(void) { return S.fired; }
