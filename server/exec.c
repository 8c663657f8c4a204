/* exec: segments of runs: load, walk, execute nodes, commit, publish.
 *
 * Invariants: a struct xrun exists while this process executes one segment of a run; it
 * holds the run's lease. Exactly one outcome is accepted per started step (step_* calls after
 * the first are logged and ignored). The commit's first statement checks the lease, so a run
 * that was cancelled, or taken over after our lease expired, keeps nothing of the segment. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <sodium.h>
#include "graph/err.h"
#include "graph/graph.h"
#include "graph/text.h"
#include "graph/timefmt.h"
#include "graph/walk.h"
#include "nodes/node.h"
#include "nodes/step.h"
#include "server/api_util.h"
#include "server/db.h"
#include "server/exec.h"
#include "server/exec_internal.h"
#include "server/intake.h"
#include "server/log.h"
#include "server/outbox.h"
#include "server/server.h"
#include "server/staffcache.h"
#include "server/ws.h"

#define POLL_MS 200
#define CLAIM_BATCH 100
#define RETRY_CAP_MS (10 * 60 * 1000)

static struct {
  struct server *srv;
  char owner[96];
  uv_timer_t poll;
  int claiming;
  int active;
  int stopping;
  int lease_ms;
  unsigned long long segments, finished;
} X;

static const char *const status_names[] = {"running", "waiting", "succeeded", "failed",
                                           "cancelled"};

const char *run_status_name(enum run_status s) { return status_names[s]; }
const char *exec_owner(void) { return X.owner; }
int exec_lease_ms(void) { return X.lease_ms; }
int exec_active(void) { return X.active; }

/* ---- the step API for nodes ---- */

const cJSON *step_config(const struct step *s) { return graph_node_config(s->node); }
const void *step_state(const struct step *s) { return graph_node_state(s->node); }
const char *step_node_id(const struct step *s) { return graph_node_id(s->node); }
const cJSON *step_scope(const struct step *s) { return s->run->scope; }
int step_attempt(const struct step *s) { return s->run->walk.nodes[s->index].attempt; }
int step_is_test(const struct step *s) { return s->run->test; }
void step_retry(const struct step *s, int *max, int64_t *backoff_ms) {
  graph_node_retry(s->node, max, backoff_ms);
}
int64_t step_now_ms(const struct step *s) { return s->run->now_ms; }
long long step_run_id(const struct step *s) { return s->run->id; }
int step_resumed(const struct step *s) { return s->resumed; }
int step_due_reached(const struct step *s) { return s->due_reached; }
const cJSON *step_signal(const struct step *s) { return s->signal; }

const cJSON *step_delivery(const struct step *s) {
  const cJSON *d, *found = NULL;
  cJSON_ArrayForEach(d, cJSON_GetObjectItem(s->run->ctx, "deliveries")) {
    const char *node = cJSON_GetStringValue(cJSON_GetObjectItem(d, "node"));
    if (node && !strcmp(node, step_node_id(s)))
      found = d;
  }
  return found;
}

const char *step_idempotency_key(struct step *s) {
  snprintf(s->key, sizeof s->key, "run:%lld:%s:%d", s->run->id, step_node_id(s),
           step_attempt(s));
  return s->key;
}

const cJSON *step_waited(const struct step *s) {
  return cJSON_GetObjectItem(cJSON_GetObjectItem(s->run->scope, "~waits"), step_node_id(s));
}

static int claim_outcome(struct step *s) {
  if (s->outcome) {
    log_error("a node reported a second outcome", "run=%lld node=%s", s->run->id,
              step_node_id(s));
    return 0;
  }
  s->outcome = 1;
  return 1;
}

void step_done(struct step *s, const char *port, cJSON *output) {
  const char *ports[2] = {port ? port : "out", NULL};
  step_done_ports(s, ports, output);
}

void step_done_ports(struct step *s, const char *const *ports, cJSON *output) {
  if (!claim_outcome(s)) {
    cJSON_Delete(output);
    return;
  }
  uint64_t mask = 0;
  for (int k = 0; ports[k]; k++) {
    int p = graph_node_port_index(s->node, ports[k]);
    if (p >= 0 && p < 64)
      mask |= 1ull << p;
  }
  xrun_step_finished(s, STEP_SUCCEEDED, mask, ports[0], output, NULL);
}

void step_skip(struct step *s, const char *reason) {
  if (!claim_outcome(s))
    return;
  int p = graph_node_port_index(s->node, "out");
  cJSON *out = cJSON_CreateObject();
  cJSON_AddStringToObject(out, "skipped", reason);
  xrun_step_finished(s, STEP_SKIPPED, p >= 0 ? 1ull << p : 0, "out", out, reason);
}

void step_fail(struct step *s, int retryable, const char *fmt, ...) {
  if (!claim_outcome(s))
    return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  xrun_step_failed(s, retryable, msg);
}

void step_wait(struct step *s, int64_t due_ms, cJSON *output) {
  if (!claim_outcome(s)) {
    cJSON_Delete(output);
    return;
  }
  xrun_step_waits(s, due_ms, NULL, output);
}

void step_wait_event(struct step *s, const char *type, int64_t due_ms, cJSON *output) {
  if (!claim_outcome(s)) {
    cJSON_Delete(output);
    return;
  }
  xrun_step_waits(s, due_ms, type, output);
}

void step_stop(struct step *s, int succeeded, const char *reason) {
  if (!claim_outcome(s))
    return;
  xrun_step_stops(s, succeeded, reason);
}

void step_set_var(struct step *s, const char *name, cJSON *value) {
  cJSON *vars = cJSON_GetObjectItem(s->run->scope, "vars");
  if (cJSON_GetObjectItem(vars, name))
    cJSON_ReplaceItemInObject(vars, name, value);
  else
    cJSON_AddItemToObject(vars, name, value);
}

struct db_batch *step_batch(struct step *s) { return s->run->effects; }

static void add_str(cJSON *o, const char *k, const char *v) {
  cJSON_AddItemToObject(o, k, v ? cJSON_CreateString(v) : cJSON_CreateNull());
}

void step_record_assignment(struct step *s, const char *kind, const char *id,
                            const char *customer, const char *scope, const char *staff,
                            const char *team) {
  cJSON *a = cJSON_CreateObject();
  add_str(a, "node_id", graph_node_id(s->node));
  add_str(a, "target_kind", kind);
  add_str(a, "target_id", id);
  add_str(a, "customer_id", customer);
  add_str(a, "scope", scope);
  add_str(a, "staff_id", staff);
  add_str(a, "team_id", team);
  cJSON_AddItemToArray(s->run->assignments, a);
}

void step_set_staff(struct step *s, cJSON *staff) {
  cJSON *scope = s->run->scope;
  if (cJSON_GetObjectItem(scope, "staff"))
    cJSON_ReplaceItemInObject(scope, "staff", staff);
  else
    cJSON_AddItemToObject(scope, "staff", staff);
}

const cJSON *step_staff_cached(const char *id) { return staffcache_get(id); }
unsigned step_staff_generation(void) { return staffcache_generation(); }
void step_staff_remember(const char *id, const cJSON *row, unsigned gen) {
  staffcache_put(id, row, gen);
}

struct step_q {
  struct step *s;
  void (*cb)(struct step *s, int rc, const struct db_result *r);
};

static void step_query_done(void *data, int rc, const struct db_result *r) {
  struct step_q *q = data;
  struct step *s = q->s;
  void (*cb)(struct step *, int, const struct db_result *) = q->cb;
  free(q);
  /* The run waits for this step (busy), so s is still the run's current step. */
  cb(s, rc, r);
}

void step_query(struct step *s, const char *sql, int nparams, const char *const *params,
                void (*cb)(struct step *s, int rc, const struct db_result *r)) {
  struct step_q *q = malloc(sizeof *q);
  q->s = s;
  q->cb = cb;
  /* Nodes pass constant statements: each is prepared once per connection, under a name made
   * from its text, instead of being parsed and planned on every call. */
  char name[24];
  snprintf(name, sizeof name, "sq_%016llx", (unsigned long long)text_hash(sql));
  db_query(X.srv->db, name, sql, nparams, params, step_query_done, q);
}

void step_publish(struct step *s, const char *topic, const char *type, cJSON *msg) {
  xrun_publish(s->run, topic, type, msg);
}

/* Applies patch to the scope's copy of the record, so later nodes see it at once. */
static void patch_scope(struct xrun *xr, const char *kind, const cJSON *patch) {
  cJSON *rec = cJSON_GetObjectItem(xr->scope, kind);
  if (!cJSON_IsObject(rec))
    return;
  const cJSON *f;
  cJSON_ArrayForEach(f, patch) {
    if (cJSON_GetObjectItem(rec, f->string))
      cJSON_ReplaceItemInObject(rec, f->string, cJSON_Duplicate(f, 1));
    else
      cJSON_AddItemToObject(rec, f->string, cJSON_Duplicate(f, 1));
  }
}

int step_update_record(struct step *s, const char *kind, const char *id, cJSON *patch) {
  struct xrun *xr = s->run;
  if (!id) {
    cJSON *rec = cJSON_GetObjectItem(xr->scope, kind);
    id = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "id"));
  }
  if (!id) {
    cJSON_Delete(patch);
    return ERR_INVAL;
  }
  patch_scope(xr, kind, patch);
  cJSON_AddStringToObject(patch, "id", id);
  char type[96];
  snprintf(type, sizeof type, "%s.updated", kind);
  xrun_add_record_event(xr, type, patch);
  return 0;
}

void step_create_record(struct step *s, const char *kind, cJSON *data) {
  char type[96];
  snprintf(type, sizeof type, "%s.created", kind);
  xrun_add_record_event(s->run, type, data);
}

/* ---- claiming and starting runs ---- */

static void on_poll(uv_timer_t *t);

static void on_claimed(void *data, int rc, const struct db_result *r) {
  (void)data;
  X.claiming = 0;
  if (rc) {
    if (rc != ERR_DBDOWN)
      log_error("claiming due runs failed", "error=%s", log_quote(r ? r->error : ""));
    return;
  }
  cJSON *runs = api_row_json(r, 0, 0);
  int n = cJSON_GetArraySize(runs);
  cJSON *ctx;
  cJSON_ArrayForEach(ctx, runs) xrun_start(cJSON_Duplicate(ctx, 1), NULL, NULL, NULL);
  cJSON_Delete(runs);
  /* A full batch means more may be due: look again on the next turn. */
  if (n == CLAIM_BATCH && !X.stopping)
    uv_timer_start(&X.poll, on_poll, 0, POLL_MS);
}

static void on_poll(uv_timer_t *t) {
  if (X.claiming || X.stopping)
    return;
  X.claiming = 1;
  char limit[16], lease[16];
  snprintf(limit, sizeof limit, "%d", CLAIM_BATCH);
  snprintf(lease, sizeof lease, "%d", X.lease_ms);
  const char *params[3] = {X.owner, limit, lease};
  db_query(X.srv->db, "exec_claim", "SELECT flowd_claim($1, $2::int, $3::int)", 3, params,
           on_claimed, NULL);
  (void)t;
}

static void on_loaded(void *data, int rc, const struct db_result *r) {
  (void)data;
  if (rc) {
    /* The runs stay leased to us until the lease expires; then anyone takes them. */
    log_warn("loading new runs failed; they resume after their lease", "error=%s",
             log_quote(r && r->error ? r->error : err_str(rc)));
    return;
  }
  cJSON *runs = api_row_json(r, 0, 0);
  cJSON *ctx;
  cJSON_ArrayForEach(ctx, runs) xrun_start(cJSON_Duplicate(ctx, 1), NULL, NULL, NULL);
  cJSON_Delete(runs);
}

void exec_take(cJSON *result) {
  const cJSON *c;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(result, "cancelled")) {
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddNumberToObject(msg, "run_id", cJSON_GetObjectItem(c, "id")->valuedouble);
    cJSON_AddStringToObject(msg, "status", "cancelled");
    cJSON_AddStringToObject(msg, "reason", cJSON_GetStringValue(cJSON_GetObjectItem(c, "reason")));
    exec_publish_run(cJSON_GetObjectItem(c, "id")->valuedouble,
                     cJSON_GetStringValue(cJSON_GetObjectItem(c, "flow_id")), "run.finished",
                     msg);
  }
  /* New runs come with their contexts (flowd_intake); any that come as bare ids are loaded. */
  cJSON *runs = cJSON_GetObjectItem(result, "runs");
  int n = cJSON_GetArraySize(runs);
  size_t cap = (size_t)n * 24 + 4, len = 0;
  char *ids = n > 0 ? malloc(cap) : NULL;
  for (cJSON *run = runs ? runs->child : NULL, *next; run; run = next) {
    next = run->next;
    if (cJSON_GetObjectItem(run, "event")) {
      xrun_start(cJSON_DetachItemViaPointer(runs, run), NULL, NULL, NULL);
      continue;
    }
    len += snprintf(ids + len, cap - len, "%s%.0f", len ? "," : "{",
                    cJSON_GetObjectItem(run, "id")->valuedouble);
  }
  if (len > 0) {
    snprintf(ids + len, cap - len, "}");
    const char *params[1] = {ids};
    db_query(X.srv->db, "exec_load", "SELECT flowd_load_runs($1::bigint[])", 1, params,
             on_loaded, NULL);
  }
  free(ids);
  /* Runs woken by these events are due now: look for them at once. */
  if (cJSON_GetArraySize(cJSON_GetObjectItem(result, "woken")) > 0 && !X.stopping)
    uv_timer_start(&X.poll, on_poll, 0, POLL_MS);
}

/* Whether a message of that type about the run would reach anybody (see ws_wanted). */
static int run_watched(double run_id, const char *flow_id, const char *type) {
  if (!ws_wanted_any()) /* mostly, under load: naming the topics cost ~4% of flowd's CPU */
    return 0;
  char topic[128];
  snprintf(topic, sizeof topic, "flow:%s", flow_id ? flow_id : "");
  if (ws_wanted(topic))
    return 1;
  if ((!strcmp(type, "run.started") || !strcmp(type, "run.finished")) && ws_wanted("runs"))
    return 1;
  snprintf(topic, sizeof topic, "run:%.0f", run_id);
  return ws_wanted(topic);
}

static void publish_run(double run_id, const char *flow_id, const char *type, cJSON *msg) {
  char topic[128];
  cJSON_AddStringToObject(msg, "flow_id", flow_id ? flow_id : "");
  if (!cJSON_GetObjectItem(msg, "run_id"))
    cJSON_AddNumberToObject(msg, "run_id", run_id);
  snprintf(topic, sizeof topic, "flow:%s", flow_id ? flow_id : "");
  ws_publish(topic, type, cJSON_Duplicate(msg, 1));
  if (!strcmp(type, "run.started") || !strcmp(type, "run.finished"))
    ws_publish("runs", type, cJSON_Duplicate(msg, 1));
  snprintf(topic, sizeof topic, "run:%.0f", run_id);
  ws_publish(topic, type, msg);
}

void exec_publish_run(double run_id, const char *flow_id, const char *type, cJSON *msg) {
  if (run_watched(run_id, flow_id, type))
    publish_run(run_id, flow_id, type, msg);
  else
    cJSON_Delete(msg);
}

void exec_publish_run_copy(double run_id, const char *flow_id, const char *type,
                           const cJSON *msg) {
  if (run_watched(run_id, flow_id, type))
    publish_run(run_id, flow_id, type, cJSON_Duplicate(msg, 1));
}

/* A delivery of one of our runs became final: its run is due now (the database trigger on
 * deliveries already says so durably); look for it at once instead of at the next poll. */
static void on_delivery_final(void *ud, const cJSON *delivery) {
  (void)ud;
  if (cJSON_IsNumber(cJSON_GetObjectItem(delivery, "run_id")) && !X.stopping)
    uv_timer_start(&X.poll, on_poll, 0, POLL_MS);
}

static void on_final_notify(void *ud, const char *channel, const char *payload) {
  (void)ud, (void)channel, (void)payload;
  if (!X.stopping)
    uv_timer_start(&X.poll, on_poll, 0, POLL_MS);
}

void exec_active_add(int d) { X.active += d; }
void exec_count_commit(int finished) {
  X.segments++;
  X.finished += finished != 0;
}
unsigned long long exec_segments_committed(void) { return X.segments; }
unsigned long long exec_segment_commits(void) { return xcommit_calls(); }
unsigned long long exec_runs_finished(void) { return X.finished; }
struct server *exec_server(void) { return X.srv; }

int exec_init(struct server *srv) {
  X.srv = srv;
  /* How long a run stays with the process that claimed it before another may take it over
   * (it only matters when that process died). FLOWD_LEASE_MS shortens it for tests. */
  const char *lease = getenv("FLOWD_LEASE_MS");
  X.lease_ms = lease && atoi(lease) >= 200 ? atoi(lease) : 30000;
  unsigned char raw[6];
  randombytes_buf(raw, sizeof raw);
  char hex[16];
  sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
  char host[48] = "flowd";
  gethostname(host, sizeof host - 1);
  snprintf(X.owner, sizeof X.owner, "%s:%d:%s", host, (int)getpid(), hex);
  uv_timer_init(srv->loop, &X.poll);
  uv_timer_start(&X.poll, on_poll, POLL_MS, POLL_MS);
  outbox_on_final(on_delivery_final, NULL);
  xcommit_init(srv);
  if (staffcache_init(srv) != 0)
    return -1;
  return db_listen(srv->db, OUTBOX_FINAL_CHANNEL, on_final_notify, NULL);
}

void exec_shutdown(void) {
  X.stopping = 1;
  staffcache_free();
  uv_timer_stop(&X.poll);
  uv_close((uv_handle_t *)&X.poll, NULL);
}

void exec_close(void) { xcommit_close(); }

/* ---- test runs ---- */

struct test_run {
  struct graph *g;
  cJSON *ctx;
  void (*cb)(void *data, long long run_id, int rc);
  void *data;
};

static void test_done(void *data, long long run_id, int rc) {
  struct test_run *t = data;
  graph_free(t->g);
  t->cb(t->data, run_id, rc);
  free(t);
}

static void test_inserted(void *data, int rc, const struct db_result *r) {
  struct test_run *t = data;
  const char *id = rc == 0 ? api_row_text(r, 0, 0) : NULL;
  if (!id) {
    cJSON_Delete(t->ctx);
    test_done(t, 0, rc ? rc : ERR_DB);
    return;
  }
  cJSON_AddNumberToObject(t->ctx, "id", (double)atoll(id));
  xrun_start(t->ctx, t->g, test_done, t);
}

/* The trigger a test event is for: the one whose event type it carries, else the first. */
static const char *pick_trigger(const struct graph *g, const char *type) {
  size_t n;
  const size_t *tr = graph_triggers(g, &n);
  for (size_t k = 0; type && k < n; k++) {
    const struct graph_node *gn = graph_node_at(g, tr[k]);
    const cJSON *cfg = graph_node_config(gn);
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItem(cfg, "kind"));
    const char *on = cJSON_GetStringValue(cJSON_GetObjectItem(cfg, "on"));
    const char *et = cJSON_GetStringValue(cJSON_GetObjectItem(cfg, "type"));
    char want[160] = "";
    if (kind)
      snprintf(want, sizeof want, "%s.%s", kind, on ? on : "");
    if ((et && !strcmp(et, type)) || (kind && !strcmp(want, type)))
      return graph_node_id(gn);
  }
  return n ? graph_node_id(graph_node_at(g, tr[0])) : NULL;
}

void exec_test_run(struct graph *g, const char *flow_id, const cJSON *event,
                   void (*cb)(void *data, long long run_id, int rc), void *data) {
  const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(event, "type"));
  const char *trigger = pick_trigger(g, type);
  struct test_run *t = calloc(1, sizeof *t);
  t->g = g;
  t->cb = cb;
  t->data = data;
  if (!trigger) {
    test_done(t, 0, ERR_INVAL);
    return;
  }
  /* Without data, a manual trigger's sample stands in for the event. */
  const cJSON *sample = cJSON_GetObjectItem(graph_node_config(graph_find(g, trigger)), "sample");
  cJSON *ev = cJSON_CreateObject();
  cJSON_AddNullToObject(ev, "id");
  cJSON_AddStringToObject(ev, "type", type ? type : "manual");
  cJSON_AddNullToObject(ev, "key");
  char at[40];
  time_format_rfc3339(time_now_ms(), at, sizeof at);
  cJSON_AddStringToObject(ev, "at", at);
  const cJSON *d = cJSON_GetObjectItem(event, "data");
  if (!d && cJSON_IsObject(sample))
    d = cJSON_GetObjectItem(sample, "data") ? cJSON_GetObjectItem(sample, "data") : sample;
  cJSON_AddItemToObject(ev, "data", d ? cJSON_Duplicate(d, 1) : cJSON_CreateObject());

  cJSON *ctx = cJSON_CreateObject();
  cJSON_AddStringToObject(ctx, "flow_id", flow_id);
  cJSON_AddNumberToObject(ctx, "version", 0);
  cJSON_AddStringToObject(ctx, "trigger", trigger);
  cJSON_AddTrueToObject(ctx, "test");
  cJSON_AddNumberToObject(ctx, "depth", 0);
  cJSON_AddItemToObject(ctx, "state", cJSON_CreateObject());
  cJSON *scope = cJSON_AddObjectToObject(ctx, "scope");
  cJSON_AddItemToObject(scope, "~event", cJSON_Duplicate(ev, 1));
  if (type && strchr(type, '.')) {
    char kind[96];
    snprintf(kind, sizeof kind, "%.*s", (int)(strchr(type, '.') - type), type);
    cJSON *data = cJSON_GetObjectItem(ev, "data");
    cJSON_AddStringToObject(ctx, "record_kind", kind);
    cJSON_AddItemToObject(ctx, "record", cJSON_Duplicate(data, 1));
    if (cJSON_IsObject(cJSON_GetObjectItem(data, "customer")))
      cJSON_AddItemToObject(ctx, "customer",
                            cJSON_Duplicate(cJSON_GetObjectItem(data, "customer"), 1));
  }
  cJSON_AddItemToObject(ctx, "event", ev);
  cJSON_AddItemToObject(ctx, "signals", cJSON_CreateArray());
  t->ctx = ctx;
  char *scope_text = cJSON_PrintUnformatted(scope);
  char lease[16];
  snprintf(lease, sizeof lease, "%d", X.lease_ms);
  const char *params[5] = {flow_id, trigger, scope_text, X.owner, lease};
  db_query(X.srv->db, "exec_test_insert",
           "INSERT INTO runs (flow_id, flow_version, trigger_node, test, scope, lease_owner, "
           "lease_until, due_at) VALUES ($1, 0, $2, true, $3::jsonb, $4, now() + $5::int * "
           "interval '1 millisecond', now() + $5::int * interval '1 millisecond') RETURNING id",
           5, params, test_inserted, t);
  free(scope_text);
}
