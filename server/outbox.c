/* outbox: the delivery worker of one flowd process.
 *
 * States of a delivery row: pending (due at next_attempt_at) -> sending (claimed: attempts+1,
 * leased to one process until lease_until) -> sent | failed | recorded (final), or back to
 * pending after a retryable failure. A sending row whose lease ran out is claimed again by
 * any process.
 *
 * Invariants: every outcome write is guarded by (lease_owner = us, attempts = the claimed
 * attempt), so an attempt that lost its lease can never overwrite the attempt that took the
 * row over, and a final status is written, and its hooks fired, by exactly one process. A
 * struct delivery is counted in ob.in_flight from its claim until its outcome is written (or
 * abandoned to lease expiry); claims never take more than OUTBOX_MAX_IN_FLIGHT - in_flight.
 * The worker's state is a single static: one worker per process. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "graph/err.h"
#include "server/curlm.h"
#include "server/db.h"
#include "server/http.h" /* server.h needs struct http_route */
#include "server/log.h"
#include "server/outbox.h"
#include "server/provider.h"
#include "server/send.h"
#include "server/server.h"

#define CLAIM_BATCH 100        /* rows per claim */
#define CLAIM_MIN_FREE 50      /* with sends in flight, wait for this much room to claim */
#define SWEEP_MS 15000         /* look for due work at least this often (missed NOTIFYs) */
#define DB_RETRY_MS 1000       /* after the database failed a claim or an outcome write */
#define LEASE_MS 90000         /* longer than any send may take (see timeout_cap_ms) */
#define MAX_RETRY_AFTER_MS 3600000L
#define MAX_HOOKS 8
#define WRITE_BATCH_MAX 200    /* outcomes per transaction */
#define WRITES_IN_FLIGHT 2     /* outcome transactions under way at once */

struct delivery {
  long long id;
  int attempts, max_attempts, backoff_ms, test;
  cJSON *row; /* the claimed row */
  /* The outcome being written. */
  const char *status; /* "sent", "failed", "recorded"; NULL: back to pending */
  char *response;     /* JSON text or NULL */
  char error[512];
  long delay_ms;      /* retry: wait before the next attempt */
  int alone;          /* its batch failed: write it in a transaction of its own */
  struct delivery *next; /* on ob.outq or ob.rewrites */
};

struct hook {
  void (*cb)(void *ud, const cJSON *delivery);
  void *ud;
};

static struct {
  struct db *db;
  uv_loop_t *loop;
  struct curlm *curl;
  uv_timer_t due, rewrite;
  char owner[160];
  long lease_ms, timeout_cap_ms;
  int started, stopping;
  int claiming, want_claim, claim_asked;
  int in_flight;
  uint64_t due_at;
  struct delivery *rewrites;     /* outcomes to write again once the database is back */
  struct delivery *outq, *outq_tail; /* outcomes waiting for the next write */
  int writes_in_flight;
  uv_idle_t flush;
  long long *aborted;
  int naborted, aborted_cap;
  struct hook hooks[MAX_HOOKS];
  int nhooks;
} ob;

static void maybe_claim(void);
static void write_outcome(struct delivery *d);
static void on_flush(uv_idle_t *h);

/* ---- the insert ---- */

const char outbox_insert_sql[] =
    "WITH ins AS (INSERT INTO deliveries (run_id, step_id, node_id, channel, provider, \"to\", "
    "subject, body, request, idempotency_key, max_attempts, backoff_ms, test) VALUES "
    "($1::bigint, $2::bigint, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11::int, $12::int, "
    "$13::boolean) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id) "
    "SELECT coalesce((SELECT id FROM ins), (SELECT id FROM deliveries WHERE idempotency_key = "
    "$10)) AS id, NOT EXISTS (SELECT 1 FROM ins) AS duplicate, "
    "pg_notify('" OUTBOX_CHANNEL "', '') IS NULL AS notified";

static int channel_ok(const char *c) {
  static const char *const channels[] = {"sms", "email", "robocall", "chat", "webhook", NULL};
  for (const char *const *k = channels; c && *k; k++)
    if (strcmp(*k, c) == 0)
      return 1;
  return 0;
}

int outbox_params_fill(struct outbox_params *p, const struct outbox_item *it) {
  memset(p, 0, sizeof *p);
  /* Checked here: the database would refuse it too, but by aborting the caller's whole step
   * transaction. */
  if (!it->idempotency_key || !*it->idempotency_key || !channel_ok(it->channel))
    return ERR_INVAL;
  snprintf(p->nums[0], sizeof p->nums[0], "%lld", it->run_id);
  snprintf(p->nums[1], sizeof p->nums[1], "%lld", it->step_id);
  snprintf(p->nums[2], sizeof p->nums[2], "%d",
           it->max_attempts > 0 ? it->max_attempts : OUTBOX_DEFAULT_ATTEMPTS);
  snprintf(p->nums[3], sizeof p->nums[3], "%d",
           it->backoff_ms > 0 ? it->backoff_ms : OUTBOX_DEFAULT_BACKOFF_MS);
  if (it->request && !(p->request = cJSON_PrintUnformatted(it->request)))
    return ERR_NOMEM;
  const char *v[OUTBOX_NPARAMS] = {
      it->run_id ? p->nums[0] : NULL, it->step_id ? p->nums[1] : NULL, it->node_id,
      it->channel, it->provider, it->to, it->subject, it->body, p->request,
      it->idempotency_key, p->nums[2], p->nums[3], it->test ? "true" : "false"};
  memcpy(p->values, v, sizeof v);
  return 0;
}

void outbox_params_free(struct outbox_params *p) {
  free(p->request);
  p->request = NULL;
}

int outbox_add(struct db_batch *b, const struct outbox_item *it) {
  struct outbox_params p;
  int rc = outbox_params_fill(&p, it);
  if (!rc)
    rc = db_batch_add(b, "outbox_insert", outbox_insert_sql, OUTBOX_NPARAMS, p.values);
  outbox_params_free(&p);
  return rc;
}

void outbox_on_final(void (*cb)(void *ud, const cJSON *delivery), void *ud) {
  if (ob.nhooks < MAX_HOOKS)
    ob.hooks[ob.nhooks++] = (struct hook){cb, ud};
  else
    log_error("too many outbox hooks", "max=%d", MAX_HOOKS);
}

int outbox_in_flight(void) { return ob.in_flight; }

/* ---- the due timer ---- */

static void on_due(uv_timer_t *t) {
  (void)t;
  ob.due_at = 0;
  ob.want_claim = 1;
  maybe_claim();
}

/* Makes sure the worker looks for work within ms (never later than SWEEP_MS). */
static void arm_due(long ms) {
  if (ob.stopping)
    return;
  ms = ms < 0 ? 0 : ms > SWEEP_MS ? SWEEP_MS : ms;
  uint64_t at = uv_now(ob.loop) + (uint64_t)ms;
  if (ob.due_at && ob.due_at <= at)
    return;
  ob.due_at = at;
  uv_timer_start(&ob.due, on_due, (uint64_t)ms, 0);
}

static void on_notify(void *data, const char *channel, const char *payload) {
  (void)data, (void)channel, (void)payload;
  if (ob.stopping)
    return;
  ob.want_claim = 1;
  maybe_claim();
}

/* ---- finishing ---- */

static void delivery_free(struct delivery *d) {
  cJSON_Delete(d->row);
  free(d->response);
  free(d);
}

/* The delivery leaves this process's hands (written, or left to its lease). */
static void done(struct delivery *d) {
  delivery_free(d);
  ob.in_flight--;
  maybe_claim();
}

static void fire_hooks(const char *json) {
  cJSON *row = json ? cJSON_Parse(json) : NULL;
  if (!row)
    return;
  log_debug("delivery final", "id=%.0f status=%s",
            cJSON_GetNumberValue(cJSON_GetObjectItem(row, "id")),
            cJSON_GetStringValue(cJSON_GetObjectItem(row, "status")));
  for (int i = 0; i < ob.nhooks && !ob.stopping; i++)
    ob.hooks[i].cb(ob.hooks[i].ud, row);
  cJSON_Delete(row);
}

/* ---- recording outcomes: one transaction for many (group commit) ---- */

/* Writes a batch of outcomes; o.status NULL means "back to pending after delay_ms". Each row
 * is guarded as the file header says; a final row written before (the commit whose reply
 * was lost) matches again, so writing a batch twice is harmless. Returns the final rows, and
 * announces their runs to every process on OUTBOX_FINAL_CHANNEL when it commits. */
#define WRITE_SQL                                                                           \
  "WITH o AS (SELECT * FROM jsonb_to_recordset($2::jsonb) AS o(id bigint, status text, "    \
  "response jsonb, error text, attempts int, delay_ms bigint)), u AS ("                     \
  "UPDATE deliveries d SET status = coalesce(o.status, 'pending'), response = o.response, " \
  "error = o.error, lease_until = NULL, updated_at = now(), "                              \
  "lease_owner = CASE WHEN o.status IS NULL THEN NULL ELSE d.lease_owner END, "            \
  "next_attempt_at = CASE WHEN o.status IS NULL THEN now() + o.delay_ms * "                \
  "interval '1 millisecond' ELSE d.next_attempt_at END "                                   \
  "FROM o WHERE d.id = o.id AND d.lease_owner = $1 AND d.attempts = o.attempts "           \
  "AND (d.status = 'sending' OR d.status = o.status) "                                      \
  "RETURNING CASE WHEN o.status IS NOT NULL THEN json_build_object('id', d.id, 'run_id', " \
  "d.run_id, 'step_id', d.step_id, 'node_id', d.node_id, 'channel', d.channel, "           \
  "'provider', d.provider, 'idempotency_key', d.idempotency_key, 'status', d.status, "     \
  "'attempts', d.attempts, 'response', d.response, 'error', d.error, 'test', d.test) END " \
  "AS j, d.run_id), n AS (SELECT pg_notify('" OUTBOX_FINAL_CHANNEL "', "                  \
  "json_agg(DISTINCT u.run_id)::text) FROM u WHERE u.j IS NOT NULL AND u.run_id IS NOT "   \
  "NULL HAVING count(*) > 0) "                                                              \
  "SELECT u.j, (SELECT count(*) FROM n) FROM u"

struct wbatch {
  int n;
  struct delivery *items[WRITE_BATCH_MAX];
};

static void queue_push(struct delivery *d) {
  d->next = NULL;
  if (ob.outq_tail)
    ob.outq_tail->next = d;
  else
    ob.outq = d;
  ob.outq_tail = d;
}

static void on_rewrite(uv_timer_t *t) {
  (void)t;
  while (ob.rewrites) {
    struct delivery *d = ob.rewrites;
    ob.rewrites = d->next;
    write_outcome(d);
  }
}

static void on_batch_written(void *data, int rc, const struct db_result *r) {
  struct wbatch *wb = data;
  ob.writes_in_flight--;
  /* One outcome the database refuses must not sink the others: write them one by one. */
  int split = rc == ERR_DB && wb->n > 1 && !ob.stopping;
  for (int i = 0; i < wb->n; i++) {
    struct delivery *d = wb->items[i];
    if (split) {
      d->alone = 1;
      queue_push(d);
      continue;
    }
    if (rc == ERR_DBDOWN && !ob.stopping) {
      /* It may or may not have committed: the guarded write is right either way. */
      d->next = ob.rewrites;
      ob.rewrites = d;
      continue;
    }
    if (!rc && !d->status)
      arm_due(d->delay_ms);
    done(d);
  }
  if (rc == ERR_DBDOWN && !ob.stopping)
    uv_timer_start(&ob.rewrite, on_rewrite, DB_RETRY_MS, 0);
  else if (rc && rc != ERR_CANCELLED)
    log_error(split ? "cannot record delivery outcomes; writing them one by one"
                    : "cannot record a delivery outcome; its lease will run out",
              "count=%d error=%s", wb->n, log_quote(r && r->error ? r->error : err_str(rc)));
  for (int i = 0; !rc && i < PQntuples(r->res[0]); i++)
    if (!PQgetisnull(r->res[0], i, 0))
      fire_hooks(PQgetvalue(r->res[0], i, 0));
  free(wb);
  if (ob.outq && !ob.stopping)
    uv_idle_start(&ob.flush, on_flush);
}

static cJSON *outcome_json(const struct delivery *d) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "id", (double)d->id);
  if (d->status)
    cJSON_AddStringToObject(o, "status", d->status);
  if (d->response)
    cJSON_AddRawToObject(o, "response", d->response);
  if (d->error[0])
    cJSON_AddStringToObject(o, "error", d->error);
  cJSON_AddNumberToObject(o, "attempts", d->attempts);
  cJSON_AddNumberToObject(o, "delay_ms", (double)d->delay_ms);
  return o;
}

/* Writes what is queued in one transaction, unless enough writes are already under way:
 * while they commit, outcomes gather for the next one. */
static int flush(void) {
  struct wbatch *wb = ob.outq ? malloc(sizeof *wb) : NULL;
  cJSON *arr = wb ? cJSON_CreateArray() : NULL;
  if (!arr) {
    free(wb);
    return -1;
  }
  for (wb->n = 0; ob.outq && wb->n < WRITE_BATCH_MAX; wb->n++) {
    struct delivery *d = ob.outq;
    if (wb->n > 0 && (d->alone || wb->items[0]->alone))
      break;
    if (!(ob.outq = d->next))
      ob.outq_tail = NULL;
    wb->items[wb->n] = d;
    cJSON_AddItemToArray(arr, outcome_json(d));
  }
  char *text = cJSON_PrintUnformatted(arr);
  cJSON_Delete(arr);
  const char *p[2] = {ob.owner, text};
  ob.writes_in_flight++;
  db_query(ob.db, "outbox_write", WRITE_SQL, 2, p, on_batch_written, wb);
  free(text);
  return 0;
}

static void on_flush(uv_idle_t *h) {
  if (!ob.outq || ob.writes_in_flight >= WRITES_IN_FLIGHT) {
    uv_idle_stop(h); /* on_batch_written starts it again */
    return;
  }
  flush();
}

/* Queues d's outcome; it is written within one loop iteration, with the others queued by
 * then. */
static void write_outcome(struct delivery *d) {
  queue_push(d);
  if (!ob.stopping)
    uv_idle_start(&ob.flush, on_flush);
}

/* The wait before attempt attempts+1: backoff doubling per attempt, capped, and never
 * shorter than what the server asked for with Retry-After. */
static long backoff(const struct delivery *d, long retry_after_ms) {
  long ms = d->backoff_ms > 0 ? d->backoff_ms : OUTBOX_DEFAULT_BACKOFF_MS;
  for (int i = 1; i < d->attempts && ms < OUTBOX_MAX_BACKOFF_MS; i++)
    ms *= 2;
  if (ms > OUTBOX_MAX_BACKOFF_MS)
    ms = OUTBOX_MAX_BACKOFF_MS;
  if (retry_after_ms > MAX_RETRY_AFTER_MS)
    retry_after_ms = MAX_RETRY_AFTER_MS;
  return retry_after_ms > ms ? retry_after_ms : ms;
}

static void remember_aborted(long long id) {
  if (ob.naborted == ob.aborted_cap) {
    int cap = ob.aborted_cap ? ob.aborted_cap * 2 : 64;
    long long *a = realloc(ob.aborted, cap * sizeof *a);
    if (!a)
      return; /* its lease will run out instead */
    ob.aborted = a;
    ob.aborted_cap = cap;
  }
  ob.aborted[ob.naborted++] = id;
}

/* Turns one attempt's result into the outcome to write. */
static void outcome(struct delivery *d, struct send_result *r) {
  if (r->verdict == SEND_ABORTED) {
    remember_aborted(d->id);
    send_result_free(r);
    done(d);
    return;
  }
  d->response = r->response ? cJSON_PrintUnformatted(r->response) : NULL;
  snprintf(d->error, sizeof d->error, "%s", r->verdict == SEND_OK ? "" : r->error);
  if (r->verdict == SEND_OK) {
    d->status = "sent";
  } else if (r->verdict == SEND_FAIL || d->attempts >= d->max_attempts) {
    d->status = "failed";
    if (r->verdict == SEND_RETRY && d->max_attempts > 1)
      snprintf(d->error, sizeof d->error, "%.450s (gave up after %d attempts)", r->error,
               d->attempts);
    send_utf8_clean(d->error);
  } else {
    d->status = NULL;
    d->delay_ms = backoff(d, r->retry_after_ms);
  }
  if (d->status && strcmp(d->status, "failed") == 0)
    log_info("delivery failed", "id=%lld attempts=%d error=%s", d->id, d->attempts,
             log_quote(d->error));
  send_result_free(r);
  write_outcome(d);
}

static void on_sent(void *ud, struct send_result *r) { outcome(ud, r); }

static int num(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valueint : 0;
}

/* Takes ownership of row (one claimed delivery) and starts its attempt. */
static void start(cJSON *row) {
  struct delivery *d = calloc(1, sizeof *d);
  if (!d) {
    cJSON_Delete(row);
    return; /* its lease will run out and someone will try again */
  }
  d->row = row;
  d->id = (long long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(row, "id"));
  d->attempts = num(row, "attempts");
  d->max_attempts = num(row, "max_attempts");
  d->backoff_ms = num(row, "backoff_ms");
  d->test = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(row, "test"));
  ob.in_flight++;
  if (d->test) {
    d->status = "recorded";
    write_outcome(d);
    return;
  }
  struct send_result r;
  if (send_start(ob.curl, row, ob.timeout_cap_ms, on_sent, d, &r) != 0)
    outcome(d, &r);
}

/* ---- claiming ---- */

/* Two index range scans, each stopping after $3 rows, rather than one OR that would sort
 * the whole backlog on every claim: taken-over leases first, then due rows oldest first.
 * Rows locked by another claim are skipped, never waited for. */
#define CLAIM_SQL                                                                           \
  "WITH l AS (SELECT id FROM deliveries WHERE status = 'sending' AND lease_until < now() "   \
  "ORDER BY lease_until LIMIT $3::int FOR UPDATE SKIP LOCKED), "                             \
  "due AS (SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= now() "\
  "ORDER BY next_attempt_at, id LIMIT $3::int FOR UPDATE SKIP LOCKED), "                    \
  "c AS (SELECT id FROM l UNION ALL SELECT id FROM due LIMIT $3::int) "                     \
  "UPDATE deliveries d SET status = 'sending', attempts = d.attempts + 1, lease_owner = $1, " \
  "lease_until = now() + $2::int * interval '1 millisecond', updated_at = now(), "          \
  "provider = CASE WHEN d.provider IS NULL AND d.channel <> 'webhook' THEN (SELECT p.id "   \
  "FROM providers p WHERE p.type = CASE d.channel WHEN 'email' THEN 'smtp' ELSE 'http' END " \
  "ORDER BY p.id LIMIT 1) ELSE d.provider END FROM c WHERE d.id = c.id "                    \
  "RETURNING json_build_object('id', d.id, 'run_id', d.run_id, 'step_id', d.step_id, "      \
  "'node_id', d.node_id, 'channel', d.channel, 'provider', d.provider, 'to', d.\"to\", "    \
  "'subject', d.subject, 'body', d.body, 'request', d.request, 'idempotency_key', "         \
  "d.idempotency_key, 'attempts', d.attempts, 'max_attempts', d.max_attempts, "             \
  "'backoff_ms', d.backoff_ms, 'test', d.test, "                                           \
  "'provider_type', (SELECT p.type FROM providers p WHERE p.id = d.provider), "             \
  "'provider_config', (SELECT p.config FROM providers p WHERE p.id = d.provider))"

/* Milliseconds until the next delivery falls due or another process's lease runs out (NULL
 * when there is none), seen from the claim's own transaction. */
#define NEXT_DUE_SQL                                                                        \
  "SELECT ceil(extract(epoch FROM least((SELECT min(next_attempt_at) FROM deliveries "      \
  "WHERE status = 'pending'), (SELECT min(lease_until) FROM deliveries WHERE status = "     \
  "'sending' AND lease_owner IS DISTINCT FROM $1)) - now()) * 1000)::bigint"

#define RELEASE_SQL                                                                         \
  "UPDATE deliveries SET status = 'pending', attempts = greatest(attempts - 1, 0), "         \
  "lease_owner = NULL, lease_until = NULL, next_attempt_at = now(), updated_at = now() "    \
  "WHERE id = ANY($2::bigint[]) AND lease_owner = $1 AND status = 'sending'"

static void on_released(void *data, int rc, const struct db_result *r) {
  (void)data;
  if (rc && rc != ERR_CANCELLED)
    log_warn("cannot give deliveries back; their leases will run out", "error=%s",
             log_quote(r && r->error ? r->error : err_str(rc)));
}

/* Gives the deliveries whose sends were cancelled back to every process, the cancelled
 * attempt not counted. */
static void release_aborted(void) {
  if (ob.naborted == 0)
    return;
  size_t cap = (size_t)ob.naborted * 22 + 3, len = 1;
  char *ids = malloc(cap);
  if (ids) {
    ids[0] = '{';
    for (int i = 0; i < ob.naborted; i++)
      len += (size_t)snprintf(ids + len, cap - len, "%s%lld", i ? "," : "", ob.aborted[i]);
    snprintf(ids + len, cap - len, "}");
    const char *p[2] = {ob.owner, ids};
    struct db_batch *b = db_batch_new();
    if (b && db_batch_add(b, "outbox_release", RELEASE_SQL, 2, p) == 0)
      db_batch_add(b, NULL, "SELECT pg_notify('" OUTBOX_CHANNEL "', '')", 0, NULL);
    db_submit(ob.db, b, on_released, NULL);
    free(ids);
  }
  free(ob.aborted);
  ob.aborted = NULL;
  ob.naborted = ob.aborted_cap = 0;
}

static void claim_done(void *data, int rc, const struct db_result *r) {
  (void)data;
  ob.claiming = 0;
  if (rc) {
    if (rc != ERR_DBDOWN && rc != ERR_CANCELLED)
      log_error("cannot claim deliveries", "error=%s", log_quote(r && r->error ? r->error : ""));
    ob.want_claim = 1;
    arm_due(DB_RETRY_MS);
    return;
  }
  int n = PQntuples(r->res[0]);
  for (int i = 0; i < n; i++) {
    cJSON *row = cJSON_Parse(PQgetvalue(r->res[0], i, 0));
    if (!row)
      continue;
    if (ob.stopping) { /* claimed while shutting down: give it straight back */
      remember_aborted((long long)cJSON_GetNumberValue(cJSON_GetObjectItem(row, "id")));
      cJSON_Delete(row);
    } else {
      start(row);
    }
  }
  if (ob.stopping) {
    release_aborted();
    return;
  }
  if (n >= ob.claim_asked)
    ob.want_claim = 1; /* there may be more */
  long next = SWEEP_MS;
  if (PQntuples(r->res[1]) == 1 && !PQgetisnull(r->res[1], 0, 0))
    next = atol(PQgetvalue(r->res[1], 0, 0));
  /* Due rows we did not get are locked by another process's claim: look again shortly. */
  arm_due(next <= 0 ? 100 : next);
  maybe_claim();
}

static void maybe_claim(void) {
  if (!ob.started || ob.stopping || ob.claiming || !ob.want_claim)
    return;
  int room = OUTBOX_MAX_IN_FLIGHT - ob.in_flight;
  if (room < CLAIM_MIN_FREE && ob.in_flight > 0)
    return; /* a completing send calls us again */
  struct db_batch *b = db_batch_new();
  if (!b)
    return;
  char lease[16], limit[16];
  ob.claim_asked = room < CLAIM_BATCH ? room : CLAIM_BATCH;
  snprintf(lease, sizeof lease, "%ld", ob.lease_ms);
  snprintf(limit, sizeof limit, "%d", ob.claim_asked);
  const char *p[3] = {ob.owner, lease, limit};
  db_batch_add(b, "outbox_claim", CLAIM_SQL, 3, p);
  db_batch_add(b, "outbox_next_due", NEXT_DUE_SQL, 1, p);
  ob.want_claim = 0;
  ob.claiming = 1;
  db_submit(ob.db, b, claim_done, NULL);
}

/* ---- start and stop ---- */

static void set_owner_and_lease(void) {
  char host[64] = "flowd";
  unsigned char rnd[4];
  gethostname(host, sizeof host - 1);
  host[sizeof host - 1] = '\0';
  randombytes_buf(rnd, sizeof rnd);
  snprintf(ob.owner, sizeof ob.owner, "%s:%d:%02x%02x%02x%02x", host, (int)getpid(), rnd[0],
           rnd[1], rnd[2], rnd[3]);
  /* FLOWD_OUTBOX_LEASE_MS lets tests watch a lease run out without waiting 90 s. */
  const char *env = getenv("FLOWD_OUTBOX_LEASE_MS");
  long lease = env ? atol(env) : 0;
  ob.lease_ms = lease >= 1000 && lease <= 3600000 ? lease : LEASE_MS;
  /* A send must end well before its lease does, or a second process could start the same
   * delivery while the first is still sending it. */
  ob.timeout_cap_ms = ob.lease_ms * 2 / 3;
  if (ob.timeout_cap_ms > PROVIDER_TIMEOUT_MAX_MS)
    ob.timeout_cap_ms = PROVIDER_TIMEOUT_MAX_MS;
}

int outbox_init(struct server *srv) {
  if (sodium_init() < 0)
    return ERR_NOMEM;
  ob.db = srv->db;
  ob.loop = srv->loop;
  ob.stopping = 0;
  if (!(ob.curl = curlm_new(ob.loop))) {
    log_error("cannot start the outbox", "reason=\"curl multi handle\"");
    return ERR_NOMEM;
  }
  uv_timer_init(ob.loop, &ob.due);
  uv_timer_init(ob.loop, &ob.rewrite);
  uv_idle_init(ob.loop, &ob.flush);
  set_owner_and_lease();
  int rc = db_listen(ob.db, OUTBOX_CHANNEL, on_notify, NULL);
  if (rc)
    log_error("cannot listen for deliveries; polling instead", "every_ms=%d", SWEEP_MS);
  ob.started = 1;
  ob.want_claim = 1;
  maybe_claim();
  log_info("outbox started", "owner=%s lease_ms=%ld", log_quote(ob.owner), ob.lease_ms);
  return 0;
}

void outbox_shutdown(void) {
  if (!ob.started || ob.stopping)
    return;
  ob.stopping = 1;
  uv_timer_stop(&ob.due);
  uv_timer_stop(&ob.rewrite);
  uv_close((uv_handle_t *)&ob.due, NULL);
  uv_close((uv_handle_t *)&ob.rewrite, NULL);
  uv_idle_stop(&ob.flush);
  uv_close((uv_handle_t *)&ob.flush, NULL);
  curlm_shutdown(ob.curl); /* every send in flight ends as SEND_ABORTED, into ob.aborted */
  ob.curl = NULL;
  release_aborted();
  /* Outcomes already known are written while the database is still open. */
  while (ob.outq && flush() == 0)
    ;
  /* What cannot be written now stays with its lease. */
  struct delivery *lists[2] = {ob.outq, ob.rewrites};
  ob.outq = ob.outq_tail = ob.rewrites = NULL;
  for (int i = 0; i < 2; i++)
    while (lists[i]) {
      struct delivery *d = lists[i];
      lists[i] = d->next;
      delivery_free(d);
      ob.in_flight--;
    }
}
