/* db: a small pool of non-blocking libpq connections on the flowd loop.
 *
 * Each connection's socket is watched by a uv_poll and runs in pipeline mode. Work is
 * submitted as a batch: one or more statements that run as ONE transaction (everything up to
 * a pipeline sync is one implicit transaction: if one statement fails, none takes effect).
 * Batches are sent as soon as they are submitted, so many batches can be in flight on one
 * connection; each completes through exactly one callback, in submission order per
 * connection. When PostgreSQL goes away, every batch in flight fails with ERR_DBDOWN and the
 * pool reconnects with backoff by itself. */
#ifndef FLOWD_DB_H
#define FLOWD_DB_H
#include <libpq-fe.h>
#include <uv.h>

struct db;
struct db_batch;

struct db_result {
  int n;                /* statements in the batch */
  PGresult **res;       /* res[i]: statement i's result (NULL if it never ran) */
  const char *error;    /* the first error message, or NULL */
  const char *sqlstate; /* the first error's SQLSTATE, or NULL */
};

/* Called once per batch: rc is 0 when every statement succeeded, ERR_DB when one failed
 * (r->error says why; the whole batch was rolled back), ERR_DBDOWN when the database could
 * not be reached or the connection broke before the outcome was known. r and its results
 * are valid only during the call. */
typedef void (*db_cb)(void *data, int rc, const struct db_result *r);

/* Called for each NOTIFY on a channel the pool LISTENs on (db_listen). */
typedef void (*db_notify_cb)(void *data, const char *channel, const char *payload);

/* Creates a pool of size connections to conninfo on loop and starts connecting. */
struct db *db_open(uv_loop_t *loop, const char *conninfo, int size);

/* Closes every connection; batches in flight or queued complete with ERR_CANCELLED. The
 * pool is freed once its handles are closed; done (may be NULL) is called then. */
void db_close(struct db *db, void (*done)(void *data), void *data);

/* Frees the pool's memory: call after db_close's done callback ran, or after the loop's
 * uv_run returned. */
void db_free(struct db *db);

/* A new empty batch. */
struct db_batch *db_batch_new(void);

/* Adds a statement with text parameters (NULL entries are SQL NULLs); copies sql and params.
 * When name is not NULL the statement is prepared once per connection under that name and
 * executed as a prepared statement afterwards (the same name must always mean the same sql).
 * Returns 0 or ERR_NOMEM. */
int db_batch_add(struct db_batch *b, const char *name, const char *sql, int nparams,
                 const char *const *params);

/* Frees a batch that was never submitted. */
void db_batch_free(struct db_batch *b);
/* Number of statements in b. */
int db_batch_count(const struct db_batch *b);
/* Moves src's statements to the end of dst (src stays valid and empty). Returns 0 or
 * ERR_NOMEM. */
int db_batch_append(struct db_batch *dst, struct db_batch *src);

/* Adds copies of src's statements to the end of dst (src is unchanged). Returns 0 or
 * ERR_NOMEM. */
int db_batch_copy(struct db_batch *dst, const struct db_batch *src);

/* Submits b (takes ownership, also on failure) and calls cb when it completes. If no
 * connection is up and none is being established, cb runs with ERR_DBDOWN from the loop
 * soon after (never from inside db_submit). */
void db_submit(struct db *db, struct db_batch *b, db_cb cb, void *data);

/* Convenience: a batch of one statement. */
void db_query(struct db *db, const char *name, const char *sql, int nparams,
              const char *const *params, db_cb cb, void *data);
/* The same on connection *conn when it is up (batches on one connection run in order);
 * otherwise on the one db_query would pick, whose index is left in *conn (-1: none). */
void db_query_on(struct db *db, int *conn, const char *name, const char *sql, int nparams,
                 const char *const *params, db_cb cb, void *data);

/* LISTENs on channel on one dedicated connection (re-established after reconnects). */
int db_listen(struct db *db, const char *channel, db_notify_cb cb, void *data);

/* Connections currently up (for /metrics and /healthz). */
int db_connections_up(const struct db *db);
int db_connections_total(const struct db *db);

/* Batches completed and failed since start (for /metrics). */
unsigned long long db_batches_done(const struct db *db);
unsigned long long db_batches_failed(const struct db *db);

#endif
