/* db: libpq pipeline-mode connections driven by uv_poll.
 *
 * Invariants: a connection is READY only after PQconnectPoll said OK and pipeline mode is on;
 * conn->sent holds the batches written to that connection in order, and results are matched
 * to them strictly in order; every batch's callback runs exactly once. A uv_poll handle is
 * recreated after every PQconnectPoll step because libpq may open a new socket (another
 * address, another attempt) under the same or another fd. */
#include <stdlib.h>
#include <string.h>
#include "graph/err.h"
#include "server/db.h"
#include "server/log.h"

#define MAX_PREPARED 512
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

struct stmt {
  char *name; /* NULL: unnamed */
  char *sql;
  int nparams;
  char **params;
};

struct db_batch {
  int n, cap;
  struct stmt *stmts;
  db_cb cb;
  void *data;
  /* Results, filled as they arrive. */
  PGresult **res;
  char *error, *sqlstate;
  /* Reading state: which item of the send plan the next result belongs to. */
  int nitems;       /* results expected: one per statement plus one per prepare sent */
  int item;         /* current item */
  int item_got;     /* the current item has had its result */
  int *plan;         /* per item: statement index i, or -(i + 1) for the prepare of statement
                        i (its result says whether the name now exists on the connection) */
  int listen;        /* internal LISTEN batch: no callback */
  struct db_batch *next;
};

enum conn_state {
  CONN_IDLE,       /* not connected; a reconnect timer may be armed */
  CONN_CONNECTING, /* PQconnectPoll in progress */
  CONN_READY,      /* connected, pipeline mode on, accepts batches */
};

struct poll_box { /* a uv_poll handle owned separately so it can outlive its conn's socket */
  uv_poll_t handle;
  struct conn *conn;
};

struct conn {
  struct db *db;
  int index;
  int is_listener;
  enum conn_state state;
  PGconn *pg;
  struct poll_box *poll;
  int poll_events;
  uv_timer_t retry;
  int backoff_ms;
  struct db_batch *sent_head, *sent_tail;
  int in_flight;
  char *prepared[MAX_PREPARED];
  int nprepared;
};

struct listen_chan {
  char *channel;
  db_notify_cb cb;
  void *data;
};

struct db {
  uv_loop_t *loop;
  char *conninfo;
  int size;
  struct conn *conns; /* size workers, then the listener at index size (if any) */
  int has_listener;
  struct listen_chan *chans;
  int nchans;
  struct db_batch *queue_head, *queue_tail; /* waiting for a connection */
  struct db_batch *fail_head, *fail_tail;   /* to fail from the loop (never re-entrantly) */
  uv_idle_t fail_idle;
  int closing, open_handles;
  void (*closed)(void *);
  void *closed_data;
  unsigned long long done, failed;
};

static void conn_start(struct conn *c);
static void conn_reset(struct conn *c, const char *why);
static void conn_flush_queue(struct db *db);

/* ---- batches ---- */

struct db_batch *db_batch_new(void) { return calloc(1, sizeof(struct db_batch)); }

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }
static void batch_free(struct db_batch *b);

int db_batch_add(struct db_batch *b, const char *name, const char *sql, int nparams,
                 const char *const *params) {
  if (b->n == b->cap) {
    int cap = b->cap ? b->cap * 2 : 4;
    struct stmt *s = realloc(b->stmts, cap * sizeof *s);
    if (!s)
      return ERR_NOMEM;
    b->stmts = s;
    b->cap = cap;
  }
  struct stmt *s = &b->stmts[b->n];
  memset(s, 0, sizeof *s);
  s->name = dup_or_null(name);
  s->sql = strdup(sql);
  s->nparams = nparams;
  if (nparams > 0) {
    s->params = calloc(nparams, sizeof *s->params);
    for (int i = 0; s->params && i < nparams; i++)
      s->params[i] = dup_or_null(params[i]);
  }
  if (!s->sql || (nparams > 0 && !s->params))
    return ERR_NOMEM;
  b->n++;
  return 0;
}

int db_batch_count(const struct db_batch *b) { return b ? b->n : 0; }

int db_batch_append(struct db_batch *dst, struct db_batch *src) {
  if (!src || src->n == 0)
    return 0;
  if (dst->n + src->n > dst->cap) {
    int cap = dst->n + src->n;
    struct stmt *s = realloc(dst->stmts, cap * sizeof *s);
    if (!s)
      return ERR_NOMEM;
    dst->stmts = s;
    dst->cap = cap;
  }
  memcpy(dst->stmts + dst->n, src->stmts, src->n * sizeof *src->stmts);
  dst->n += src->n;
  src->n = 0;
  return 0;
}

int db_batch_copy(struct db_batch *dst, const struct db_batch *src) {
  for (int i = 0; src && i < src->n; i++) {
    const struct stmt *s = &src->stmts[i];
    int rc = db_batch_add(dst, s->name, s->sql, s->nparams, (const char *const *)s->params);
    if (rc)
      return rc;
  }
  return 0;
}

void db_batch_free(struct db_batch *b) { batch_free(b); }

static void batch_free(struct db_batch *b) {
  for (int i = 0; i < b->n; i++) {
    struct stmt *s = &b->stmts[i];
    free(s->name);
    free(s->sql);
    for (int j = 0; s->params && j < s->nparams; j++)
      free(s->params[j]);
    free(s->params);
    if (b->res && b->res[i])
      PQclear(b->res[i]);
  }
  free(b->stmts);
  free(b->res);
  free(b->plan);
  free(b->error);
  free(b->sqlstate);
  free(b);
}

/* Runs the batch's callback once and frees it. */
static void batch_complete(struct db *db, struct db_batch *b, int rc) {
  if (rc == 0 && b->error)
    rc = ERR_DB;
  if (rc)
    db->failed++;
  else
    db->done++;
  if (b->cb) {
    struct db_result r = {b->n, b->res, b->error, b->sqlstate};
    b->cb(b->data, rc, &r);
  }
  batch_free(b);
}

static void append(struct db_batch **head, struct db_batch **tail, struct db_batch *b) {
  b->next = NULL;
  if (*tail)
    (*tail)->next = b;
  else
    *head = b;
  *tail = b;
}

static struct db_batch *pop(struct db_batch **head, struct db_batch **tail) {
  struct db_batch *b = *head;
  if (b) {
    *head = b->next;
    if (!*head)
      *tail = NULL;
    b->next = NULL;
  }
  return b;
}

static void on_fail_idle(uv_idle_t *h) {
  struct db *db = h->data;
  uv_idle_stop(h);
  struct db_batch *b;
  while ((b = pop(&db->fail_head, &db->fail_tail)))
    batch_complete(db, b, db->closing ? ERR_CANCELLED : ERR_DBDOWN);
}

/* Fails b from the loop, never from inside the caller's own call. */
static void fail_later(struct db *db, struct db_batch *b) {
  append(&db->fail_head, &db->fail_tail, b);
  uv_idle_start(&db->fail_idle, on_fail_idle);
}

/* ---- sending ---- */

static int is_prepared(struct conn *c, const char *name) {
  for (int i = 0; i < c->nprepared; i++)
    if (strcmp(c->prepared[i], name) == 0)
      return 1;
  return 0;
}

static void poll_update(struct conn *c);

/* Writes b's statements and a sync to c. Returns 0, or -1 when the connection broke. */
static int send_batch(struct conn *c, struct db_batch *b) {
  b->res = calloc(b->n, sizeof *b->res);
  b->plan = malloc(2 * (size_t)b->n * sizeof *b->plan);
  if (!b->res || !b->plan)
    return -1;
  b->nitems = 0;
  /* Prepares first: a statement that fails aborts the rest of its pipeline, and a prepare
   * sent after it would be lost while later batches on this connection count on it. */
  for (int i = 0; i < b->n; i++) {
    struct stmt *s = &b->stmts[i];
    if (!s->name || is_prepared(c, s->name) || c->nprepared >= MAX_PREPARED)
      continue;
    if (!PQsendPrepare(c->pg, s->name, s->sql, s->nparams, NULL))
      return -1;
    /* Counted as prepared from now on: later statements on this connection run after the
     * prepare. If the prepare fails (or is aborted), its result takes the name out again. */
    c->prepared[c->nprepared++] = strdup(s->name);
    b->plan[b->nitems++] = -(i + 1);
  }
  for (int i = 0; i < b->n; i++) {
    struct stmt *s = &b->stmts[i];
    const char *const *params = (const char *const *)s->params;
    int ok;
    if (s->name && is_prepared(c, s->name))
      ok = PQsendQueryPrepared(c->pg, s->name, s->nparams, params, NULL, NULL, 0);
    else
      ok = PQsendQueryParams(c->pg, s->sql, s->nparams, NULL, params, NULL, NULL, 0);
    if (!ok)
      return -1;
    b->plan[b->nitems++] = i;
  }
  if (!PQpipelineSync(c->pg))
    return -1;
  append(&c->sent_head, &c->sent_tail, b);
  c->in_flight++;
  poll_update(c);
  return 0;
}

/* ---- receiving ---- */

static void forget_prepared(struct conn *c, const char *name) {
  for (int i = 0; i < c->nprepared; i++)
    if (strcmp(c->prepared[i], name) == 0) {
      free(c->prepared[i]);
      c->prepared[i] = c->prepared[--c->nprepared];
      return;
    }
}

static void store_result(struct conn *c, struct db_batch *b, PGresult *r) {
  int idx = b->item < b->nitems ? b->plan[b->item] : -1;
  ExecStatusType st = PQresultStatus(r);
  if ((st == PGRES_FATAL_ERROR || st == PGRES_PIPELINE_ABORTED) && !b->error) {
    const char *msg = PQresultErrorMessage(r);
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    b->error = strdup(msg && *msg ? msg : "statement aborted");
    b->sqlstate = state ? strdup(state) : NULL;
  }
  if (idx < 0 && b->item < b->nitems) {
    /* The result of a prepare: keep the name only if the server now has it. */
    if (st != PGRES_COMMAND_OK)
      forget_prepared(c, b->stmts[-idx - 1].name);
    PQclear(r);
    return;
  }
  if (idx >= 0 && idx < b->n && !b->res[idx])
    b->res[idx] = r;
  else
    PQclear(r);
}

static void dispatch_notifies(struct conn *c) {
  PGnotify *n;
  while ((n = PQnotifies(c->pg))) {
    for (int i = 0; i < c->db->nchans; i++)
      if (strcmp(c->db->chans[i].channel, n->relname) == 0)
        c->db->chans[i].cb(c->db->chans[i].data, n->relname, n->extra);
    PQfreemem(n);
  }
}

/* Drains every result that has arrived; completes batches whose sync has come back. */
static void read_results(struct conn *c) {
  struct db *db = c->db;
  while (c->sent_head && !PQisBusy(c->pg)) {
    struct db_batch *b = c->sent_head;
    PGresult *r = PQgetResult(c->pg);
    if (!r) {
      if (!b->item_got)
        break; /* nothing more has arrived for this item */
      b->item++;
      b->item_got = 0;
      continue;
    }
    if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
      PQclear(r);
      pop(&c->sent_head, &c->sent_tail);
      c->in_flight--;
      if (b->listen)
        batch_free(b);
      else
        batch_complete(db, b, 0);
      continue;
    }
    store_result(c, b, r);
    b->item_got = 1;
  }
  dispatch_notifies(c);
}

static void on_poll(uv_poll_t *h, int status, int events);

static void poll_close_cb(uv_handle_t *h) {
  struct poll_box *box = h->data;
  struct db *db = box->conn ? box->conn->db : NULL;
  free(box);
  if (db) {
    db->open_handles--;
    if (db->closing && db->open_handles == 0 && db->closed)
      db->closed(db->closed_data);
  }
}

static void poll_drop(struct conn *c) {
  if (!c->poll)
    return;
  uv_poll_stop(&c->poll->handle);
  uv_close((uv_handle_t *)&c->poll->handle, poll_close_cb);
  c->poll = NULL;
  c->poll_events = 0;
}

/* (Re)creates the watcher on the connection's current socket. */
static int poll_watch(struct conn *c, int events) {
  poll_drop(c);
  int fd = PQsocket(c->pg);
  if (fd < 0)
    return -1;
  struct poll_box *box = calloc(1, sizeof *box);
  if (!box)
    return -1;
  box->conn = c;
  box->handle.data = box;
  if (uv_poll_init(c->db->loop, &box->handle, fd) != 0) {
    free(box);
    return -1;
  }
  c->db->open_handles++;
  c->poll = box;
  c->poll_events = events;
  uv_poll_start(&box->handle, events, on_poll);
  return 0;
}

/* Watches for writability only while libpq has unsent output. */
static void poll_update(struct conn *c) {
  int want = UV_READABLE;
  int fl = PQflush(c->pg);
  if (fl < 0) {
    conn_reset(c, PQerrorMessage(c->pg));
    return;
  }
  if (fl == 1)
    want |= UV_WRITABLE;
  if (c->poll && want != c->poll_events) {
    c->poll_events = want;
    uv_poll_start(&c->poll->handle, want, on_poll);
  }
}

static void send_listens(struct conn *c) {
  struct db_batch *b = db_batch_new();
  if (!b)
    return;
  for (int i = 0; i < c->db->nchans; i++) {
    char *quoted = PQescapeIdentifier(c->pg, c->db->chans[i].channel,
                                      strlen(c->db->chans[i].channel));
    char sql[300];
    snprintf(sql, sizeof sql, "LISTEN %s", quoted ? quoted : "flowd");
    PQfreemem(quoted);
    db_batch_add(b, NULL, sql, 0, NULL);
  }
  b->listen = 1;
  if (send_batch(c, b) != 0) {
    batch_free(b);
    conn_reset(c, PQerrorMessage(c->pg));
  }
}

static void on_connected(struct conn *c) {
  if (PQsetnonblocking(c->pg, 1) != 0 || !PQenterPipelineMode(c->pg)) {
    conn_reset(c, "cannot enter pipeline mode");
    return;
  }
  c->state = CONN_READY;
  c->backoff_ms = BACKOFF_MIN_MS;
  log_info("database connection up", "conn=%d", c->index);
  poll_update(c);
  if (c->is_listener)
    send_listens(c);
  else
    conn_flush_queue(c->db);
}

static void connect_step(struct conn *c) {
  PostgresPollingStatusType st = PQconnectPoll(c->pg);
  switch (st) {
  case PGRES_POLLING_OK:
    if (poll_watch(c, UV_READABLE) != 0)
      conn_reset(c, "cannot watch the socket");
    else
      on_connected(c);
    break;
  case PGRES_POLLING_READING:
    if (poll_watch(c, UV_READABLE) != 0)
      conn_reset(c, "cannot watch the socket");
    break;
  case PGRES_POLLING_WRITING:
    if (poll_watch(c, UV_WRITABLE) != 0)
      conn_reset(c, "cannot watch the socket");
    break;
  default:
    conn_reset(c, PQerrorMessage(c->pg));
  }
}

static void on_poll(uv_poll_t *h, int status, int events) {
  struct poll_box *box = h->data;
  struct conn *c = box->conn;
  if (c->state == CONN_CONNECTING) {
    connect_step(c);
    return;
  }
  if (status < 0) {
    conn_reset(c, uv_strerror(status));
    return;
  }
  if (events & UV_READABLE) {
    if (!PQconsumeInput(c->pg)) {
      conn_reset(c, PQerrorMessage(c->pg));
      return;
    }
    read_results(c);
    if (PQstatus(c->pg) == CONNECTION_BAD) {
      conn_reset(c, PQerrorMessage(c->pg));
      return;
    }
  }
  if (c->state == CONN_READY)
    poll_update(c);
}

/* ---- connection lifecycle ---- */

static void on_retry(uv_timer_t *t) {
  struct conn *c = t->data;
  conn_start(c);
}

/* Drops the connection, fails what was in flight on it, and arms a reconnect. */
static void conn_reset(struct conn *c, const char *why) {
  struct db *db = c->db;
  int was_up = c->state == CONN_READY;
  /* why may point into the PGconn (PQerrorMessage): copy it before PQfinish. */
  char reason[256];
  snprintf(reason, sizeof reason, "%s", why ? why : "");
  reason[strcspn(reason, "\n")] = '\0';
  poll_drop(c);
  if (c->pg) {
    PQfinish(c->pg);
    c->pg = NULL;
  }
  for (int i = 0; i < c->nprepared; i++)
    free(c->prepared[i]);
  c->nprepared = 0;
  c->state = CONN_IDLE;
  struct db_batch *b;
  while ((b = pop(&c->sent_head, &c->sent_tail))) {
    if (b->listen)
      batch_free(b);
    else
      batch_complete(db, b, db->closing ? ERR_CANCELLED : ERR_DBDOWN);
  }
  c->in_flight = 0;
  if (db->closing)
    return;
  if (was_up || c->backoff_ms == BACKOFF_MIN_MS)
    log_warn("database connection lost", "conn=%d reason=%s retry_ms=%d", c->index,
             log_quote(reason), c->backoff_ms);
  uv_timer_start(&c->retry, on_retry, c->backoff_ms, 0);
  c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
  /* Nothing may wait for a connection that is not coming soon: fail the queue when no
   * connection is up or being established. */
  int alive = 0;
  for (int i = 0; i < db->size; i++)
    alive |= db->conns[i].state != CONN_IDLE;
  if (!alive)
    while ((b = pop(&db->queue_head, &db->queue_tail)))
      fail_later(db, b);
}

/* NOTICEs (e.g. "relation already exists, skipping") are not errors; keep them off stderr. */
static void ignore_notice(void *arg, const char *msg) { (void)arg, (void)msg; }

static void conn_start(struct conn *c) {
  c->pg = PQconnectStart(c->db->conninfo);
  if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD) {
    conn_reset(c, c->pg ? PQerrorMessage(c->pg) : "out of memory");
    return;
  }
  PQsetNoticeProcessor(c->pg, ignore_notice, NULL);
  c->state = CONN_CONNECTING;
  if (poll_watch(c, UV_WRITABLE) != 0)
    conn_reset(c, "cannot watch the socket");
}

struct db *db_open(uv_loop_t *loop, const char *conninfo, int size) {
  struct db *db = calloc(1, sizeof *db);
  if (!db)
    return NULL;
  db->loop = loop;
  db->conninfo = strdup(conninfo);
  db->size = size;
  db->conns = calloc(size + 1, sizeof *db->conns);
  if (!db->conninfo || !db->conns) {
    free(db->conninfo);
    free(db->conns);
    free(db);
    return NULL;
  }
  uv_idle_init(loop, &db->fail_idle);
  db->fail_idle.data = db;
  db->open_handles = 1;
  for (int i = 0; i <= size; i++) {
    struct conn *c = &db->conns[i];
    c->db = db;
    c->index = i;
    c->is_listener = i == size;
    c->backoff_ms = BACKOFF_MIN_MS;
    uv_timer_init(loop, &c->retry);
    c->retry.data = c;
    db->open_handles++;
    if (i < size)
      conn_start(c);
  }
  return db;
}

static void handle_closed(uv_handle_t *h) {
  struct db *db = h->data;
  if (h->type == UV_TIMER)
    db = ((struct conn *)h->data)->db;
  db->open_handles--;
  if (db->open_handles == 0 && db->closed)
    db->closed(db->closed_data);
}

void db_close(struct db *db, void (*done)(void *data), void *data) {
  db->closing = 1;
  struct db_batch *b;
  while ((b = pop(&db->queue_head, &db->queue_tail)))
    batch_complete(db, b, ERR_CANCELLED);
  for (int i = 0; i <= db->size; i++) {
    struct conn *c = &db->conns[i];
    if (c->pg || c->poll)
      conn_reset(c, "closing");
    uv_timer_stop(&c->retry);
    uv_close((uv_handle_t *)&c->retry, handle_closed);
  }
  while ((b = pop(&db->fail_head, &db->fail_tail)))
    batch_complete(db, b, ERR_CANCELLED);
  uv_idle_stop(&db->fail_idle);
  db->closed = done;
  db->closed_data = data;
  uv_close((uv_handle_t *)&db->fail_idle, handle_closed);
}

void db_free(struct db *db) {
  for (int i = 0; i < db->nchans; i++)
    free(db->chans[i].channel);
  free(db->chans);
  free(db->conns);
  free(db->conninfo);
  free(db);
}

/* ---- dispatch ---- */

static struct conn *pick(struct db *db) {
  struct conn *best = NULL;
  for (int i = 0; i < db->size; i++) {
    struct conn *c = &db->conns[i];
    if (c->state == CONN_READY && (!best || c->in_flight < best->in_flight))
      best = c;
  }
  return best;
}

static void conn_flush_queue(struct db *db) {
  struct conn *c;
  while (db->queue_head && (c = pick(db))) {
    struct db_batch *b = pop(&db->queue_head, &db->queue_tail);
    if (send_batch(c, b) != 0) {
      fail_later(db, b);
      conn_reset(c, PQerrorMessage(c->pg));
    }
  }
}

/* Sends b on c, or queues it while a connection is being established, or fails it. */
static void submit(struct db *db, struct conn *c, struct db_batch *b, db_cb cb, void *data) {
  if (!b) {
    struct db_batch *empty = db_batch_new();
    if (!empty)
      return;
    b = empty;
  }
  b->cb = cb;
  b->data = data;
  if (db->closing) {
    fail_later(db, b);
    return;
  }
  if (c) {
    if (send_batch(c, b) != 0) {
      fail_later(db, b);
      conn_reset(c, PQerrorMessage(c->pg));
    }
    return;
  }
  int connecting = 0;
  for (int i = 0; i < db->size; i++)
    connecting |= db->conns[i].state == CONN_CONNECTING;
  if (connecting)
    append(&db->queue_head, &db->queue_tail, b);
  else
    fail_later(db, b);
}

void db_submit(struct db *db, struct db_batch *b, db_cb cb, void *data) {
  submit(db, db->closing ? NULL : pick(db), b, cb, data);
}

void db_query_on(struct db *db, int *conn, const char *name, const char *sql, int nparams,
                 const char *const *params, db_cb cb, void *data) {
  struct db_batch *b = db_batch_new();
  if (b && db_batch_add(b, name, sql, nparams, params) != 0) {
    batch_free(b);
    b = NULL;
  }
  struct conn *c = NULL;
  if (!db->closing)
    c = *conn >= 0 && *conn < db->size && db->conns[*conn].state == CONN_READY
            ? &db->conns[*conn]
            : pick(db);
  *conn = c ? c->index : -1;
  submit(db, c, b, cb, data);
}

void db_query(struct db *db, const char *name, const char *sql, int nparams,
              const char *const *params, db_cb cb, void *data) {
  int any = -1;
  db_query_on(db, &any, name, sql, nparams, params, cb, data);
}

int db_listen(struct db *db, const char *channel, db_notify_cb cb, void *data) {
  struct listen_chan *ch = realloc(db->chans, (db->nchans + 1) * sizeof *ch);
  if (!ch)
    return ERR_NOMEM;
  db->chans = ch;
  db->chans[db->nchans++] = (struct listen_chan){strdup(channel), cb, data};
  struct conn *l = &db->conns[db->size];
  if (l->state == CONN_READY) {
    send_listens(l);
  } else if (l->state == CONN_IDLE) {
    uv_timer_stop(&l->retry);
    conn_start(l);
  }
  return 0;
}

int db_connections_up(const struct db *db) {
  int n = 0;
  for (int i = 0; i < db->size; i++)
    n += db->conns[i].state == CONN_READY;
  return n;
}

int db_connections_total(const struct db *db) { return db->size; }
unsigned long long db_batches_done(const struct db *db) { return db->done; }
unsigned long long db_batches_failed(const struct db *db) { return db->failed; }
