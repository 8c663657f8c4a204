/* api_health: GET /healthz and GET /metrics. /healthz runs a real query, so it turns 503 as
 * soon as the database cannot answer, not when a connection happens to notice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "server/api.h"
#include "server/auth.h"
#include "server/db.h"
#include "server/exec.h"
#include "server/http.h"
#include "server/intake.h"
#include "server/sched.h"
#include "server/server.h"
#include "server/ws_peers.h"

static void health_done(void *data, int rc, const struct db_result *r) {
  struct http_req *req = data;
  cJSON *body = cJSON_CreateObject();
  cJSON_AddStringToObject(body, "status", rc == 0 ? "ok" : "unavailable");
  cJSON_AddStringToObject(body, "version", FLOWD_VERSION);
  cJSON_AddStringToObject(body, "db", rc == 0 ? "up" : "down");
  if (rc)
    http_add_header(req, "Retry-After", "1");
  http_reply_json(req, rc == 0 ? 200 : 503, body);
}

void api_healthz(struct http_req *req) {
  db_query(req->srv->db, "healthz", "SELECT 1", 0, NULL, health_done, req);
}

void api_metrics(struct http_req *req) {
  if (!auth_require(req, AUTH_MANAGER, NULL))
    return;
  struct server *srv = req->srv;
  char *http = http_metrics_text();
  char head[4096];
  snprintf(head, sizeof head,
           "# HELP flowd_uptime_seconds Seconds since this flowd started.\n"
           "# TYPE flowd_uptime_seconds gauge\nflowd_uptime_seconds %.3f\n"
           "# HELP flowd_db_connections Database connections by state.\n"
           "# TYPE flowd_db_connections gauge\n"
           "flowd_db_connections{state=\"up\"} %d\nflowd_db_connections{state=\"down\"} %d\n"
           "# HELP flowd_db_batches_total Database batches by outcome.\n"
           "# TYPE flowd_db_batches_total counter\n"
           "flowd_db_batches_total{outcome=\"ok\"} %llu\n"
           "flowd_db_batches_total{outcome=\"error\"} %llu\n"
           "# HELP flowd_loop_lag_seconds How late the loop ran a timer, last and max.\n"
           "# TYPE flowd_loop_lag_seconds gauge\n"
           "flowd_loop_lag_seconds %.6f\nflowd_loop_lag_max_seconds %.6f\n"
           "# HELP flowd_intake_calls_total Intake calls (group commits of events) this "
           "process made.\n"
           "# TYPE flowd_intake_calls_total counter\nflowd_intake_calls_total %llu\n"
           "# HELP flowd_intake_events_total Events those calls carried (events per call: "
           "this over flowd_intake_calls_total).\n"
           "# TYPE flowd_intake_events_total counter\nflowd_intake_events_total %llu\n"
           "# HELP flowd_intake_queued Events waiting for the next intake call.\n"
           "# TYPE flowd_intake_queued gauge\nflowd_intake_queued %d\n"
           "# HELP flowd_run_segments_total Run segments this process committed.\n"
           "# TYPE flowd_run_segments_total counter\nflowd_run_segments_total %llu\n"
           "# HELP flowd_segment_commits_total Group commits of run segments this process "
           "made (segments per commit: flowd_run_segments_total over this).\n"
           "# TYPE flowd_segment_commits_total counter\nflowd_segment_commits_total %llu\n"
           "# HELP flowd_runs_finished_total Runs this process brought to a final status.\n"
           "# TYPE flowd_runs_finished_total counter\nflowd_runs_finished_total %llu\n"
           "# HELP flowd_runs_active Run segments executing now.\n"
           "# TYPE flowd_runs_active gauge\nflowd_runs_active %d\n"
           "# HELP flowd_schedules_fired_total Runs this process started from schedules.\n"
           "# TYPE flowd_schedules_fired_total counter\nflowd_schedules_fired_total %llu\n"
           "# HELP flowd_ws_sending_to_peers Whether this process sends its websocket messages "
           "to other processes now (1 while one has subscribers, and for a while after start).\n"
           "# TYPE flowd_ws_sending_to_peers gauge\nflowd_ws_sending_to_peers %d\n"
           "# HELP flowd_schema_version Database schema version.\n"
           "# TYPE flowd_schema_version gauge\nflowd_schema_version %d\n",
           (uv_now(srv->loop) - srv->started_ms) / 1000.0, db_connections_up(srv->db),
           db_connections_total(srv->db) - db_connections_up(srv->db),
           db_batches_done(srv->db), db_batches_failed(srv->db), srv->loop_lag_s,
           srv->loop_lag_max_s, intake_calls(), intake_events(), intake_queued(),
           exec_segments_committed(), exec_segment_commits(),
           exec_runs_finished(), exec_active(),
           sched_fired(), ws_peers_sending(), srv->schema_version);
  size_t hl = strlen(head), ml = http ? strlen(http) : 0;
  char *all = malloc(hl + ml + 1);
  if (!all) {
    free(http);
    http_error(req, 500, "internal", "out of memory", NULL);
    return;
  }
  memcpy(all, head, hl);
  if (http)
    memcpy(all + hl, http, ml);
  all[hl + ml] = '\0';
  http_reply(req, 200, "text/plain; version=0.0.4", all, hl + ml);
  free(all);
  free(http);
}
