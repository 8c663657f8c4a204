/* main: flowd's process: configuration, the embedded cluster, migrations, the one loop, and
 * an orderly shutdown on SIGINT/SIGTERM (stop taking work, finish what is in flight, close
 * every handle, stop the embedded PostgreSQL, exit 0). */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include "server/auth.h"
#include "nodes/registry.h"
#include "server/config.h"
#include "server/db.h"
#include "server/exec.h"
#include "server/intake.h"
#include "server/http.h"
#include "server/log.h"
#include "server/migrate.h"
#include "server/netallow.h"
#include "server/outbox.h"
#include "server/people.h"
#include "server/pgembed.h"
#include "server/retention.h"
#include "server/sched.h"
#include "server/server.h"
#include "server/ws.h"

#define LAG_INTERVAL_MS 250
#define DRAIN_LIMIT_MS 10000

static struct server srv;
static uv_signal_t sig_int, sig_term;
static uv_timer_t lag_timer, drain_timer;
static uint64_t lag_expected, drain_started;
static int stopping;

static void on_lag(uv_timer_t *t) {
  uint64_t now = uv_now(t->loop);
  double lag = now > lag_expected ? (now - lag_expected) / 1000.0 : 0;
  srv.loop_lag_s = lag;
  if (lag > srv.loop_lag_max_s)
    srv.loop_lag_max_s = lag;
  lag_expected = now + LAG_INTERVAL_MS;
}

static void on_db_closed(void *data) { (void)data; }

/* Work still under way: requests without a reply, run segments, uncommitted events, a
 * schedule firing whose runs are not handed over yet. */
static int busy(void) {
  return http_in_flight() + exec_active() + intake_pending() + sched_pending();
}

static void on_drain(uv_timer_t *t) {
  uint64_t waited = uv_now(t->loop) - drain_started;
  if (busy() > 0 && waited < DRAIN_LIMIT_MS)
    return;
  if (busy() > 0)
    log_warn("giving up on work still in flight", "requests=%d runs=%d events=%d schedules=%d",
             http_in_flight(), exec_active(), intake_pending(), sched_pending());
  uv_close((uv_handle_t *)&drain_timer, NULL);
  uv_close((uv_handle_t *)&lag_timer, NULL);
  uv_close((uv_handle_t *)&sig_int, NULL);
  uv_close((uv_handle_t *)&sig_term, NULL);
  exec_close(); /* the runs' segment commits are done */
  ws_shutdown(); /* before the database and lws go: closes the websocket clients */
  outbox_shutdown(); /* deliveries: cancel sends in flight and give their leases back */
  people_stop(); /* people and access: the mirror's and presence's timers */
  db_close(srv.db, on_db_closed, NULL);
  http_stop();
}

static void on_signal(uv_signal_t *s, int signum) {
  if (stopping)
    return;
  stopping = 1;
  log_info("shutting down", "signal=%d in_flight=%d", signum, http_in_flight());
  http_drain();
  exec_shutdown(); /* claim no more runs; the segments under way finish */
  sched_shutdown(); /* fire no more schedules; a firing in flight still hands its runs over */
  retention_shutdown();
  drain_started = uv_now(s->loop);
  uv_timer_init(s->loop, &drain_timer);
  uv_timer_start(&drain_timer, on_drain, 0, 20);
}

/* The built editor: FLOWD_WEB_DIR, else web/dist beside the build folder of this binary. */
static void find_web_dir(struct config *cfg) {
  if (cfg->web_dir[0])
    return;
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0)
    return;
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (!slash)
    return;
  *slash = '\0';
  char cand[PATH_MAX + 32];
  snprintf(cand, sizeof cand, "%s/../web/dist/index.html", exe);
  if (access(cand, R_OK) == 0)
    snprintf(cfg->web_dir, sizeof cfg->web_dir, "%s/../web/dist", exe);
}

static int prepare_database(const struct config *cfg, char *conninfo, size_t len) {
  struct err_detail d = {{0}, {0}};
  if (cfg->db[0]) {
    snprintf(conninfo, len, "%s", cfg->db);
  } else if (pgembed_start(cfg->data_dir, conninfo, len, &d) != 0) {
    log_error("cannot start the embedded PostgreSQL", "reason=%s", log_quote(d.msg));
    return -1;
  }
  int rc = migrate_run(conninfo, 60, &srv.schema_version, &d);
  if (rc) {
    log_error("database migration failed", "code=%s reason=%s", err_name(rc), log_quote(d.msg));
    return -1;
  }
  retention_prepare(conninfo, cfg->retention_days);
  log_info("database ready", "schema_version=%d", srv.schema_version);
  return 0;
}

int main(int argc, char **argv) {
  struct config cfg;
  switch (config_load(&cfg, argc, argv)) {
  case CONFIG_EXIT_OK: return 0;
  case CONFIG_EXIT_ERROR: return 2;
  case CONFIG_RUN: break;
  }
  log_set_level(cfg.log_level);
  struct err_detail reg = {{0}, {0}};
  if (node_registry_check(&reg) != 0) {
    log_error("the node-type registry is broken", "reason=%s", log_quote(reg.msg));
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  find_web_dir(&cfg);

  /* A wrong allowlist would otherwise only show when the first webhook fails. */
  struct err_detail allow = {{0}, {0}};
  if (netallow_init(&allow) != 0) {
    log_error("invalid FLOWD_HTTP_ALLOW", "reason=%s", log_quote(allow.msg));
    return 2;
  }
  if (auth_init(&cfg) != 0) {
    log_error("cannot set up the admin token", "data=%s", log_quote(cfg.data_dir));
    return 1;
  }
  char conninfo[2048];
  if (prepare_database(&cfg, conninfo, sizeof conninfo) != 0) {
    pgembed_stop();
    return 1;
  }

  uv_loop_t *loop = uv_default_loop();
  srv.loop = loop;
  srv.cfg = &cfg;
  srv.started_ms = uv_now(loop);
  srv.db = db_open(loop, conninfo, cfg.db_pool_size);
  if (!srv.db ||
      people_start(&srv) != 0 || /* sessions/keys mirror (LISTEN flowd_auth), presence */
      http_start(&srv, loop, cfg.listen_host, cfg.listen_port, server_routes,
                            cfg.web_dir) != 0 ||
      ws_init(&srv) != 0 || /* the websocket hub, right after HTTP */
      intake_init(&srv) != 0 || exec_init(&srv) != 0 || retention_init(&srv) != 0 ||
      sched_init(&srv) != 0 || /* trigger.schedule: runs leased to exec_owner() */
      outbox_init(&srv) != 0) { /* deliveries: the outbox worker of this process */
    log_error("start-up failed", NULL);
    http_free();
    pgembed_stop();
    return 1;
  }
  uv_signal_init(loop, &sig_int);
  uv_signal_init(loop, &sig_term);
  uv_signal_start(&sig_int, on_signal, SIGINT);
  uv_signal_start(&sig_term, on_signal, SIGTERM);
  uv_timer_init(loop, &lag_timer);
  lag_expected = uv_now(loop) + LAG_INTERVAL_MS;
  uv_timer_start(&lag_timer, on_lag, LAG_INTERVAL_MS, LAG_INTERVAL_MS);

  const char *h = cfg.listen_host;
  int v6 = strchr(h, ':') != NULL;
  log_info("listening", "url=http://%s%s%s:%d/ web_dir=%s", v6 ? "[" : "", h, v6 ? "]" : "",
           cfg.listen_port, log_quote(cfg.web_dir[0] ? cfg.web_dir : "none"));

  uv_run(loop, UV_RUN_DEFAULT);

  http_free();
  db_free(srv.db);
  int rc = uv_loop_close(loop);
  if (rc)
    log_warn("loop closed with handles open", "error=%s", uv_err_name(rc));
  pgembed_stop();
  log_info("stopped", NULL);
  return 0;
}
