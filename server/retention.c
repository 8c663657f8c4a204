/* retention: an hourly call of flowd_maintain() (schema/012_history_periods.sql). */
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

static void maintained(void *data, int rc, const struct db_result *r) {
  (void)data;
  if (rc) {
    log_warn("history maintenance failed; it runs again within the hour", "error=%s",
             log_quote(r && r->error ? r->error : "database unavailable"));
    return;
  }
  const char *dropped = api_row_text(r, 0, 0);
  if (dropped && dropped[1] != '}')
    log_info("dropped expired run history", "periods_from_days=%s", log_quote(dropped));
}

static void on_timer(uv_timer_t *t) {
  (void)t;
  char days[16], ahead[16];
  snprintf(days, sizeof days, "%d", srv_->cfg->retention_days);
  snprintf(ahead, sizeof ahead, "%d", DAYS_AHEAD);
  const char *params[2] = {days, ahead};
  db_query(srv_->db, "retention", "SELECT flowd_maintain($1::int, $2::int)", 2, params,
           maintained, NULL);
}

int retention_init(struct server *srv) {
  srv_ = srv;
  uv_timer_init(srv->loop, &timer);
  uv_timer_start(&timer, on_timer, 0, INTERVAL_MS);
  return 0;
}

void retention_shutdown(void) {
  uv_timer_stop(&timer);
  uv_close((uv_handle_t *)&timer, NULL);
}
