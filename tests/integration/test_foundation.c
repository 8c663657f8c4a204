/* Foundation: the process starts on its own PostgreSQL or a given one, answers /healthz and
 * /metrics, shuts down cleanly, survives its database going away, and migrates safely. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "server/config.h"
#include "server/migrate.h"
#include "tests/helpers.h"
#include "tests/test.h"

#define READY_MS 60000

static pid_t postmaster_pid(const char *data_dir) {
  char path[700];
  snprintf(path, sizeof path, "%s/pg/postmaster.pid", data_dir);
  char *t = read_text(path);
  pid_t pid = t ? (pid_t)atol(t) : 0;
  free(t);
  return pid;
}

static int count_in(const char *text, const char *needle) {
  int n = 0;
  for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
    n++;
  return n;
}

TEST_SLOW(flowd_first_start_creates_cluster_and_answers_healthz) {
  struct flowd_proc p;
  flowd_start(&p, NULL, NULL, NULL);
  flowd_wait_ready(&p, READY_MS);
  char path[700];
  snprintf(path, sizeof path, "%s/pg/PG_VERSION", p.data_dir);
  ASSERT_INT_EQ(access(path, F_OK), 0);

  char url[128];
  snprintf(url, sizeof url, "%s/healthz", p.url);
  struct http_resp r;
  ASSERT_INT_EQ(http_do("GET", url, NULL, NULL, &r), 0);
  ASSERT_INT_EQ(r.status, 200);
  ASSERT_NOT_NULL(r.json);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "status")), "ok");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "db")), "up");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "version")), FLOWD_VERSION);
  http_resp_free(&r);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

TEST_SLOW(flowd_second_start_reuses_the_cluster) {
  struct flowd_proc p;
  flowd_start(&p, NULL, NULL, NULL);
  flowd_wait_ready(&p, READY_MS);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
  char dir[512];
  snprintf(dir, sizeof dir, "%s", p.data_dir);

  struct flowd_proc q;
  flowd_start(&q, dir, NULL, NULL);
  flowd_wait_ready(&q, READY_MS);
  ASSERT_INT_EQ(flowd_stop(&q, SIGTERM, 30000), 0);
  /* Both processes log into the same folder; the cluster was created exactly once and the
   * migrations were applied exactly once. */
  char *log1 = flowd_log(&p), *log2 = flowd_log(&q);
  ASSERT_INT_EQ(count_in(log1, "creating the embedded PostgreSQL cluster"), 1);
  ASSERT_INT_EQ(count_in(log2, "creating the embedded PostgreSQL cluster"), 0);
  ASSERT_INT_EQ(count_in(log2, "applying migration"), 0);
  free(log1);
  free(log2);
}

TEST_SLOW(flowd_sigterm_exits_zero_and_leaves_no_postgres) {
  struct flowd_proc p;
  flowd_start(&p, NULL, NULL, NULL);
  flowd_wait_ready(&p, READY_MS);
  pid_t pm = postmaster_pid(p.data_dir);
  ASSERT(pm > 0);
  ASSERT(pid_alive(pm));
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
  double deadline = mono_ms() + 5000;
  while (pid_alive(pm) && mono_ms() < deadline)
    sleep_ms(20);
  ASSERT(!pid_alive(pm));
  ASSERT_INT_EQ(postmaster_pid(p.data_dir), 0);
  char *log = flowd_log(&p);
  ASSERT_STR_CONTAINS(log, "embedded PostgreSQL stopped");
  free(log);
}

TEST_SLOW(flowd_sigint_also_shuts_down_cleanly) {
  struct flowd_proc p;
  flowd_start(&p, NULL, NULL, NULL);
  flowd_wait_ready(&p, READY_MS);
  ASSERT_INT_EQ(flowd_stop(&p, SIGINT, 30000), 0);
}

TEST_SLOW(flowd_recovers_from_a_stale_postmaster_pid) {
  struct flowd_proc p;
  flowd_start(&p, NULL, NULL, NULL);
  flowd_wait_ready(&p, READY_MS);
  pid_t pm = postmaster_pid(p.data_dir);
  /* A machine crash: flowd and postgres die at once, the pid file stays behind and names a
   * pid that now belongs to an unrelated live process (here: this test). */
  flowd_stop(&p, SIGKILL, 10000);
  kill(pm, SIGKILL);
  double deadline = mono_ms() + 10000;
  while (pid_alive(pm) && mono_ms() < deadline)
    sleep_ms(20);
  char path[700], content[64];
  snprintf(path, sizeof path, "%s/pg/postmaster.pid", p.data_dir);
  char *old = read_text(path);
  ASSERT_NOT_NULL(old);
  free(old);
  snprintf(content, sizeof content, "%d\n", (int)getpid());
  ASSERT_INT_EQ(write_text(path, content), 0);
  /* Let the postmaster's children notice their parent is gone. */
  sleep_ms(1500);

  struct flowd_proc q;
  char dir[512];
  snprintf(dir, sizeof dir, "%s", p.data_dir);
  flowd_start(&q, dir, NULL, NULL);
  flowd_wait_ready(&q, READY_MS);
  char *log = flowd_log(&q);
  ASSERT_STR_CONTAINS(log, "removing stale postmaster.pid");
  free(log);
  ASSERT_INT_EQ(flowd_stop(&q, SIGTERM, 30000), 0);
}

TEST_SLOW(flowd_adopts_the_postgres_a_killed_flowd_left_running) {
  struct flowd_proc p;
  flowd_start(&p, NULL, NULL, NULL);
  flowd_wait_ready(&p, READY_MS);
  pid_t pm = postmaster_pid(p.data_dir);
  flowd_stop(&p, SIGKILL, 10000);
  ASSERT(pid_alive(pm));

  struct flowd_proc q;
  char dir[512];
  snprintf(dir, sizeof dir, "%s", p.data_dir);
  flowd_start(&q, dir, NULL, NULL);
  flowd_wait_ready(&q, READY_MS);
  char *log = flowd_log(&q);
  ASSERT_STR_CONTAINS(log, "adopting the running embedded PostgreSQL");
  free(log);
  ASSERT_INT_EQ(flowd_stop(&q, SIGTERM, 30000), 0);
  double deadline = mono_ms() + 5000;
  while (pid_alive(pm) && mono_ms() < deadline)
    sleep_ms(20);
  ASSERT(!pid_alive(pm));
}

TEST_PG(migrations_run_once) {
  struct flowd_proc p;
  flowd_start(&p, NULL, "test", NULL);
  flowd_wait_ready(&p, READY_MS);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
  flowd_start(&p, NULL, "test", NULL);
  flowd_wait_ready(&p, READY_MS);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
  char *log = flowd_log(&p);
  ASSERT_INT_EQ(count_in(log, "applying migration"), 0);
  free(log);
  char *n = sql_value(test_pg_conninfo(), "SELECT count(*) FROM schema_migrations");
  char *max = sql_value(test_pg_conninfo(), "SELECT max(version) FROM schema_migrations");
  ASSERT_INT_EQ(atoi(max), migrate_latest());
  ASSERT(atoi(n) >= 1);
  free(n);
  free(max);
}

TEST_PG(migrations_refuse_a_schema_newer_than_the_binary) {
  struct flowd_proc p;
  flowd_start(&p, NULL, "test", NULL);
  flowd_wait_ready(&p, READY_MS);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
  free(sql_value(test_pg_conninfo(),
                 "INSERT INTO schema_migrations (version, name) VALUES (99999, '99999_future.sql')"));
  flowd_start(&p, NULL, "test", NULL);
  int status = flowd_wait_exit(&p, 30000);
  ASSERT_INT_NE(status, 0);
  char *log = flowd_log(&p);
  ASSERT_STR_CONTAINS(log, "newer than this flowd knows");
  free(log);
}

TEST_PG_SLOW(migrations_from_processes_starting_together_do_not_race) {
  struct flowd_proc p[3];
  for (int i = 0; i < 3; i++)
    flowd_start(&p[i], NULL, "test", NULL);
  for (int i = 0; i < 3; i++)
    flowd_wait_ready(&p[i], READY_MS);
  int applied = 0;
  for (int i = 0; i < 3; i++) {
    ASSERT_INT_EQ(flowd_stop(&p[i], SIGTERM, 30000), 0);
    char *log = flowd_log(&p[i]);
    applied += count_in(log, "applying migration");
    free(log);
  }
  char *n = sql_value(test_pg_conninfo(), "SELECT count(*) FROM schema_migrations");
  ASSERT_INT_EQ(applied, atoi(n));
  free(n);
}

TEST_PG_SLOW(flowd_survives_postgres_restarting_under_it) {
  struct flowd_proc p;
  flowd_start(&p, NULL, "test", NULL);
  flowd_wait_ready(&p, READY_MS);
  char url[128];
  snprintf(url, sizeof url, "%s/healthz", p.url);
  ASSERT_INT_EQ(http_status(url), 200);

  ASSERT_INT_EQ(test_pg_ctl("stop"), 0);
  long st = 0;
  double deadline = mono_ms() + 10000;
  while ((st = http_status(url)) != 503 && mono_ms() < deadline)
    sleep_ms(50);
  ASSERT_INT_EQ(st, 503);

  ASSERT_INT_EQ(test_pg_ctl("start"), 0);
  deadline = mono_ms() + 20000;
  while ((st = http_status(url)) != 200 && mono_ms() < deadline)
    sleep_ms(100);
  ASSERT_INT_EQ(st, 200);
  ASSERT(pid_alive(p.pid));
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

TEST_PG(metrics_report_uptime_requests_latency_db_and_loop_lag) {
  struct flowd_proc p;
  flowd_start(&p, NULL, "test", NULL);
  flowd_wait_ready(&p, READY_MS);
  char url[128];
  snprintf(url, sizeof url, "%s/metrics", p.url);
  struct http_resp r;
  /* Only /healthz is open. */
  ASSERT_INT_EQ(http_do("GET", url, NULL, NULL, &r), 0);
  ASSERT_INT_EQ(r.status, 401);
  http_resp_free(&r);
  /* /healthz answers once one connection works; the pool's others may still be connecting
   * then: all four are up within a moment. */
  for (int i = 0;; i++) {
    ASSERT_INT_EQ(api_do(&p, "GET", "/metrics", NULL, &r), 0);
    ASSERT_INT_EQ(r.status, 200);
    if (i == 50 || strstr(r.body, "flowd_db_connections{state=\"up\"} 4\n"))
      break;
    http_resp_free(&r);
    sleep_ms(100);
  }
  ASSERT_STR_CONTAINS(r.body, "flowd_uptime_seconds ");
  ASSERT_STR_CONTAINS(r.body, "flowd_http_requests_total{route=\"/healthz\",status=\"200\"}");
  ASSERT_STR_CONTAINS(r.body, "flowd_http_request_duration_seconds_bucket{le=\"+Inf\"}");
  ASSERT_STR_CONTAINS(r.body, "flowd_db_connections{state=\"up\"} 4");
  ASSERT_STR_CONTAINS(r.body, "flowd_loop_lag_seconds ");
  http_resp_free(&r);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

/* A process alone stops sending its websocket messages to others once it has heard that
 * nobody else is there (the benchmarks wait for this steady state). */
TEST_PG(metrics_say_whether_websocket_messages_go_to_other_processes) {
  const char *env[] = {"FLOWD_WS_HEARTBEAT_MS=200", NULL};
  struct flowd_proc p;
  flowd_start(&p, NULL, "test", env);
  flowd_wait_ready(&p, READY_MS);
  int quiet = 0;
  for (int i = 0; i < 100 && !quiet; i++) {
    struct http_resp r;
    ASSERT_INT_EQ(api_do(&p, "GET", "/metrics", NULL, &r), 0);
    ASSERT_STR_CONTAINS(r.body, "flowd_ws_sending_to_peers ");
    quiet = strstr(r.body, "flowd_ws_sending_to_peers 0\n") != NULL;
    http_resp_free(&r);
    if (!quiet)
      sleep_ms(100);
  }
  ASSERT(quiet);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

TEST_PG(unknown_api_routes_get_json_404_and_wrong_methods_405) {
  struct flowd_proc p;
  flowd_start(&p, NULL, "test", NULL);
  flowd_wait_ready(&p, READY_MS);
  char url[128];
  snprintf(url, sizeof url, "%s/api/nope", p.url);
  struct http_resp r;
  ASSERT_INT_EQ(http_do("GET", url, NULL, NULL, &r), 0);
  ASSERT_INT_EQ(r.status, 404);
  cJSON *err = cJSON_GetObjectItem(r.json, "error");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(err, "code")), "not_found");
  http_resp_free(&r);
  snprintf(url, sizeof url, "%s/healthz", p.url);
  ASSERT_INT_EQ(http_do("DELETE", url, NULL, NULL, &r), 0);
  ASSERT_INT_EQ(r.status, 405);
  http_resp_free(&r);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

TEST_PG(flowd_reports_a_clear_error_when_it_cannot_listen) {
  struct flowd_proc p;
  flowd_start(&p, NULL, "test", NULL);
  flowd_wait_ready(&p, READY_MS);
  char listen[64];
  snprintf(listen, sizeof listen, "FLOWD_LISTEN=127.0.0.1:%d", p.port);
  const char *env[] = {listen, NULL};
  struct flowd_proc q;
  flowd_start(&q, NULL, "test", env);
  ASSERT_INT_NE(flowd_wait_exit(&q, 30000), 0);
  char *log = flowd_log(&q);
  ASSERT_STR_CONTAINS(log, "cannot listen");
  free(log);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

static int run_flowd(const char *arg, char *out, size_t len) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", test_flowd_binary(), arg);
  FILE *f = popen(cmd, "r");
  size_t n = fread(out, 1, len - 1, f);
  out[n] = '\0';
  int st = pclose(f);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(flowd_prints_version_help_and_rejects_bad_flags) {
  char out[4096];
  ASSERT_INT_EQ(run_flowd("--version", out, sizeof out), 0);
  ASSERT_STR_CONTAINS(out, "flowd " FLOWD_VERSION);
  ASSERT_INT_EQ(run_flowd("--help", out, sizeof out), 0);
  ASSERT_STR_CONTAINS(out, "FLOWD_LISTEN");
  ASSERT_STR_CONTAINS(out, "FLOWD_ADMIN_TOKEN");
  ASSERT_INT_EQ(run_flowd("--bogus", out, sizeof out), 2);
  ASSERT_INT_EQ(run_flowd("--listen nowhere", out, sizeof out), 2);
  ASSERT_STR_CONTAINS(out, "invalid listen address");
}

TEST(config_parses_listen_addresses) {
  char host[128];
  int port = 0;
  ASSERT_INT_EQ(config_parse_listen("127.0.0.1:8080", host, sizeof host, &port), 0);
  ASSERT_STR_EQ(host, "127.0.0.1");
  ASSERT_INT_EQ(port, 8080);
  ASSERT_INT_EQ(config_parse_listen("[::1]:9000", host, sizeof host, &port), 0);
  ASSERT_STR_EQ(host, "::1");
  ASSERT_INT_EQ(port, 9000);
  ASSERT_INT_EQ(config_parse_listen(":7000", host, sizeof host, &port), 0);
  ASSERT_STR_EQ(host, "127.0.0.1");
  ASSERT(config_parse_listen("localhost", host, sizeof host, &port) != 0);
  ASSERT(config_parse_listen("h:99999", host, sizeof host, &port) != 0);
  ASSERT(config_parse_listen("h:", host, sizeof host, &port) != 0);
}

TEST(flowd_without_postgresql_binaries_names_the_package_to_install) {
  const char *env[] = {"FLOWD_PG_BINDIR=/nonexistent/bin", NULL};
  struct flowd_proc p;
  flowd_start(&p, NULL, NULL, env);
  ASSERT_INT_NE(flowd_wait_exit(&p, 30000), 0);
  char *log = flowd_log(&p);
  ASSERT_STR_CONTAINS(log, "apt-get install postgresql-15");
  ASSERT_STR_CONTAINS(log, "FLOWD_DB");
  free(log);
}
