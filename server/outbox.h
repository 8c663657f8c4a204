/* outbox: durable outbound deliveries (SMS, e-mail, robocalls, chat messages, webhooks).
 *
 * The executor adds a delivery to the batch of the step that sends it (outbox_add), so the
 * delivery exists exactly when the step's effects are committed. A worker in every flowd
 * process then claims due deliveries (FOR UPDATE SKIP LOCKED, with a lease, at most
 * OUTBOX_MAX_IN_FLIGHT at once), sends them (send.h) and records the outcome:
 * - `sent` (with the response), or `recorded` for test deliveries, which are never sent;
 * - a retryable failure goes back to `pending` with next_attempt_at = now + backoff_ms *
 *   2^(attempts-1), capped at 5 minutes (or later when the server said Retry-After), until
 *   max_attempts attempts were made; then `failed`;
 * - a permanent failure is `failed` at once.
 * A process that dies leaves its leases (90 s; FLOWD_OUTBOX_LEASE_MS overrides it, for
 * tests) to expire; another process then takes the deliveries over. A send never runs longer
 * than two thirds of the lease (at most 60 s), so a live process never loses one mid-send. Every attempt carries the delivery's idempotency key, so a receiver can drop a
 * message it already has: delivery is at least once, and exactly once for receivers that
 * honour the key.
 *
 * Hooks registered with outbox_on_final run after a delivery's final status is committed,
 * exactly once per delivery across all processes (in the process that finalised it). */
#ifndef FLOWD_OUTBOX_H
#define FLOWD_OUTBOX_H
#include <cjson/cJSON.h>

struct db_batch;
struct server;

#define OUTBOX_MAX_IN_FLIGHT 200
#define OUTBOX_CHANNEL "flowd_outbox"  /* NOTIFY channel: a delivery may be due */
/* NOTIFY channel: deliveries of these runs became final; payload a JSON array of run ids
 * ([12, 15]), sent when the outcome commits. For an executor waiting on a delivery that
 * another process finalised: the hooks run only in the process that wrote the outcome. */
#define OUTBOX_FINAL_CHANNEL "flowd_delivery_final"
#define OUTBOX_DEFAULT_ATTEMPTS 5
#define OUTBOX_DEFAULT_BACKOFF_MS 2000
#define OUTBOX_MAX_BACKOFF_MS 300000

struct outbox_item {
  long long run_id;            /* 0: none */
  long long step_id;           /* 0: none */
  const char *node_id;         /* may be NULL */
  const char *channel;         /* "sms", "email", "robocall", "chat" or "webhook" */
  const char *provider;        /* NULL: the first provider (by id) of the channel's type:
                                  smtp for email, http for the others; unused for webhook */
  const char *to, *subject, *body; /* may be NULL */
  /* Borrowed. webhook: {method, url, headers {name: value}, body (a string is sent as it
   * is, other JSON as JSON), timeout_ms, expect (a status, "2xx", or a list; default 2xx)}.
   * Other channels: extra template data for the provider (from, voice, audio_url, ...), or
   * NULL. */
  const cJSON *request;
  const char *idempotency_key; /* required; the same for every retry of one step */
  int max_attempts;            /* <= 0: OUTBOX_DEFAULT_ATTEMPTS */
  int backoff_ms;              /* <= 0: OUTBOX_DEFAULT_BACKOFF_MS (the first wait) */
  int test;                    /* 1: record it, never send it */
};

/* Adds to b (which the caller submits) the INSERT of the delivery (a second one with the same
 * idempotency key is not inserted) and a NOTIFY that wakes the workers on commit. The
 * statement returns one row: the delivery's id (NULL in the rare case that a concurrent
 * transaction inserted the same key and had not committed when this one started) and
 * `duplicate` (t/f). Returns 0, ERR_INVAL (no idempotency key, or not one of the five
 * channels; nothing was added) or ERR_NOMEM. */
int outbox_add(struct db_batch *b, const struct outbox_item *it);

/* For tools and tests that insert without a batch: the statement outbox_add adds, and its
 * OUTBOX_NPARAMS text parameters. outbox_params_fill returns 0, ERR_INVAL or ERR_NOMEM;
 * outbox_params_free releases what it allocated (also after a failure). */
#define OUTBOX_NPARAMS 13
extern const char outbox_insert_sql[];
struct outbox_params {
  const char *values[OUTBOX_NPARAMS];
  char nums[4][24];
  char *request;
};
int outbox_params_fill(struct outbox_params *p, const struct outbox_item *it);
void outbox_params_free(struct outbox_params *p);

/* Registers a hook, called with the delivery as JSON {id, run_id, step_id, node_id, channel,
 * provider, idempotency_key, status (sent|failed|recorded), attempts, response, error, test}
 * (borrowed, valid during the call) once its final status is committed. Up to 8 hooks; the
 * hooks stop after outbox_shutdown. */
void outbox_on_final(void (*cb)(void *ud, const cJSON *delivery), void *ud);

/* Starts the worker of this process on srv's loop and database. Returns 0 or a negative
 * ERR_* (logged). */
int outbox_init(struct server *srv);

/* Stops claiming, cancels the sends in flight and gives their deliveries back (pending, the
 * attempt not counted) so any process can take them at once; outcomes being written still
 * complete if the database allows. Closes the worker's loop handles. */
void outbox_shutdown(void);

/* Deliveries claimed by this process and not yet recorded (for /metrics). */
int outbox_in_flight(void);

#endif
