/* retention: flowd_maintain() (schema/012_history_periods.sql) once at start, before any
 * event is taken, then every hour on the loop. */
#include <libpq-fe.h>
#include <stdio.h>
#include "server/api_util.h"
#include "server/db.h"
#include "server/log.h"
#include "server/retention.h"
#include "server/server.h"

#define INTERVAL_MS (60 * 60 * 1000)
#define DAYS_AHEAD 7

static struct server *srv_;
static uv_timer_t timer;
static int prepared; /* retention_prepare made the partitions ahead at start */

#define MAINTAIN_SQL "SELECT flowd_maintain($1::int, $2::int)"

/* flowd_maintain's parameters for a retention of days. */
struct maintain_params {
  char days[16], ahead[16];
  const char *v[2];
};

static void maintain_params(struct maintain_params *m, int days) {
  snprintf(m->days, sizeof m->days, "%d", days);
  snprintf(m->ahead, sizeof m->ahead, "%d", DAYS_AHEAD);
  m->v[0] = m->days;
  m->v[1] = m->ahead;
}

/* Logs the answer: error (NULL when it succeeded) or the periods dropped ("{...}"). */
static void log_maintained(const char *error, const char *dropped) {
  if (error)
    log_warn("history maintenance failed; it runs again within the hour", "error=%s",
             log_quote(error));
  else if (dropped && dropped[0] == '{' && dropped[1] != '}')
    log_info("dropped expired run history", "periods_from_days=%s", log_quote(dropped));
}

static void maintained(void *data, int rc, const struct db_result *r) {
  (void)data;
  log_maintained(rc ? (r && r->error ? r->error : "database unavailable") : NULL,
                 rc ? NULL : api_row_text(r, 0, 0));
}

static void on_timer(uv_timer_t *t) {
  (void)t;
  struct maintain_params m;
  maintain_params(&m, srv_->cfg->retention_days);
  db_query(srv_->db, "retention", MAINTAIN_SQL, 2, m.v, maintained, NULL);
}

void retention_prepare(const char *conninfo, int retention_days) {
  struct maintain_params m;
  maintain_params(&m, retention_days);
  PGconn *c = PQconnectdb(conninfo);
  /* Making a partition waits for the transactions of other processes on the table; a start
   * does not wait long for them (the hourly call will make it). */
  if (PQstatus(c) == CONNECTION_OK)
    PQclear(PQexec(c, "SET lock_timeout = '5s'"));
  PGresult *r = PQstatus(c) == CONNECTION_OK
                    ? PQexecParams(c, MAINTAIN_SQL, 2, NULL, m.v, NULL, NULL, 0)
                    : NULL;
  int ok = r && PQresultStatus(r) == PGRES_TUPLES_OK;
  log_maintained(ok ? NULL : r ? PQresultErrorMessage(r) : PQerrorMessage(c),
                 ok ? PQgetvalue(r, 0, 0) : NULL);
  PQclear(r);
  PQfinish(c);
  prepared = ok;
}

int retention_init(struct server *srv) {
  srv_ = srv;
  uv_timer_init(srv->loop, &timer);
  /* retention_prepare ran just before, unless it failed */
  uv_timer_start(&timer, on_timer, prepared ? INTERVAL_MS : 0, INTERVAL_MS);
  return 0;
}

void retention_shutdown(void) {
  uv_timer_stop(&timer);
  uv_close((uv_handle_t *)&timer, NULL);
}
