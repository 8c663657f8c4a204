/* Faults: PostgreSQL stops and starts again while events pour in. While it is down flowd
 * answers 503 (never a 202 it cannot keep: a 202 means committed); afterwards it recovers by
 * itself, without a restart: every event that got 202 is stored exactly once and has exactly
 * one run, which finishes; retrying the refused ones works and repeats nothing.
 * (kill -9 under load is test_crash.c; sinks down and back, test_deliveries.c; a websocket
 * client that never reads, test_ws.c.) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tests/helpers.h"
#include "tests/integration/exec_util.h"
#include "tests/test.h"

#define MAX_EVENTS 5000
#define POSTED "SELECT count(*) FROM events WHERE type = 'order.created'"
#define DOWN_MS 3000

#define FAULT_FLOW                                                                           \
  "{\"id\":\"f_fault\",\"name\":\"Fault\",\"nodes\":["                                       \
  "{\"id\":\"t\",\"type\":\"trigger.record\",\"config\":{\"kind\":\"order\",\"on\":\"created\"}}," \
  "{\"id\":\"u\",\"type\":\"action.update_record\",\"config\":{\"target\":\"order\",\"set\":{\"seen\":\"yes\"}}}]," \
  "\"edges\":[{\"from\":\"t\",\"to\":\"u\"}]}"

/* The poster: posts event k-i for i = 0, 1, ... until the stop file appears, and writes
 * "<i> <status>" per request to path. */
static void post_until_stopped(const struct flowd_proc *p, const char *path, const char *stop) {
  FILE *f = fopen(path, "w");
  struct stat st;
  for (int i = 0; i < MAX_EVENTS && stat(stop, &st) != 0; i++) {
    char body[200];
    snprintf(body, sizeof body, "{\"type\":\"order.created\",\"key\":\"k-%d\",\"data\":"
             "{\"id\":\"O%d\"}}", i, i);
    struct http_resp r;
    long status = api_do(p, "POST", "/api/events", body, &r) == 0 ? r.status : 0;
    http_resp_free(&r);
    fprintf(f, "%d %ld\n", i, status);
    fflush(f);
    sleep_ms(2);
  }
  fclose(f);
}

/* Reads the poster's record: counts by status, and the 202'd and 503'd keys as SQL lists. */
struct tally {
  int n202, n503, other;
  char *ok, *refused; /* "'k-1','k-2'" */
};

static void append_key(char **list, size_t *len, int i) {
  *list = realloc(*list, *len + 32);
  *len += (size_t)sprintf(*list + *len, "%s'k-%d'", *len ? "," : "", i);
}

static struct tally read_tally(const char *path) {
  struct tally t = {0, 0, 0, strdup(""), strdup("")};
  size_t lok = 0, lref = 0;
  char *text = read_text(path);
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    int i;
    long status;
    if (sscanf(line, "%d %ld", &i, &status) != 2)
      continue;
    if (status == 202) {
      t.n202++;
      append_key(&t.ok, &lok, i);
    } else if (status == 503) {
      t.n503++;
      append_key(&t.refused, &lref, i);
    } else {
      t.other++;
      test_log("event k-%d got %ld", i, status);
    }
  }
  free(text);
  return t;
}

static long long count_sql(const char *fmt, const char *list) {
  size_t n = strlen(fmt) + strlen(list) + 1;
  char *sql = malloc(n);
  snprintf(sql, n, fmt, list);
  long long v = sql_num(sql);
  free(sql);
  return v;
}

TEST_PG_SLOW(fault_postgres_stopped_under_load_answers_503_and_recovers_without_loss) {
  const char *env[] = {"FLOWD_LEASE_MS=1500", "FLOWD_RATE_LIMIT_EVENTS=off", NULL};
  struct flowd_proc p;
  flowd_start(&p, NULL, "test", env);
  flowd_wait_ready(&p, 60000);
  flow_install(&p, FAULT_FLOW);

  char record[700], stop[700];
  snprintf(record, sizeof record, "%s/posted.txt", p.data_dir);
  snprintf(stop, sizeof stop, "%s/stop-posting", p.data_dir);
  pid_t poster = fork();
  if (poster == 0) {
    post_until_stopped(&p, record, stop);
    _exit(0);
  }
  /* Under load: stop PostgreSQL once events are flowing, keep it down, start it again. */
  double deadline = mono_ms() + 30000;
  while (sql_num(POSTED) < 100 && mono_ms() < deadline)
    sleep_ms(10);
  ASSERT_INT_EQ(test_pg_ctl("stop"), 0);
  double down_at = mono_ms();
  char health[128];
  snprintf(health, sizeof health, "%s/healthz", p.url);
  long h = 0;
  while (mono_ms() - down_at < DOWN_MS)
    if ((h = http_status(health)) == 503)
      break;
  ASSERT_INT_EQ(h, 503);
  sleep_ms((int)(DOWN_MS - (mono_ms() - down_at)) > 0 ? (int)(DOWN_MS - (mono_ms() - down_at))
                                                      : 0);
  ASSERT_INT_EQ(test_pg_ctl("start"), 0);
  /* Recovery without a restart: the same process answers 202 again by itself. */
  deadline = mono_ms() + 30000;
  while (http_status(health) != 200 && mono_ms() < deadline)
    sleep_ms(50);
  ASSERT_INT_EQ(http_status(health), 200);
  long long stored_before = sql_num(POSTED);
  while (sql_num(POSTED) < stored_before + 100 && mono_ms() < deadline)
    sleep_ms(20);
  write_text(stop, "stop");
  int st;
  waitpid(poster, &st, 0);
  ASSERT(pid_alive(p.pid));

  struct tally t = read_tally(record);
  test_log("202: %d, 503: %d, other: %d", t.n202, t.n503, t.other);
  ASSERT_INT_OP(t.n503, >, 0);  /* the outage was seen... */
  ASSERT_INT_EQ(t.other, 0);    /* ...as 503 only: no 500s, no lost connections */
  ASSERT_INT_OP(t.n202, >, 200);
  /* Every 202 was kept: stored once, with exactly one run, and every run finishes. */
  ASSERT_INT_EQ(count_sql("SELECT count(*) FROM events WHERE key IN (%s)", t.ok), t.n202);
  ASSERT_INT_EQ(count_sql("SELECT count(DISTINCT key) FROM events WHERE key IN (%s)", t.ok),
                t.n202);
  ASSERT_INT_EQ(count_sql("SELECT count(*) FROM runs r JOIN events e ON e.id = r.event_id "
                          "WHERE e.key IN (%s)", t.ok), t.n202);
  deadline = mono_ms() + 60000;
  while (sql_num("SELECT count(*) FROM runs WHERE status <> 'succeeded'") > 0 &&
         mono_ms() < deadline)
    sleep_ms(100);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM runs WHERE status <> 'succeeded'"), 0);
  /* The same holds for the events that got 503 although their commit went through. */
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM events e WHERE e.type = 'order.created' AND "
                        "NOT EXISTS (SELECT 1 FROM runs r WHERE r.event_id = e.id)"), 0);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM records WHERE kind = 'order' AND "
                        "data->>'seen' = 'yes'"),
                sql_num(POSTED));

  /* A client that retries what got 503 gets 202 now, and nothing is stored twice. */
  char *keys = strdup(t.refused);
  int retried = 0;
  for (char *k = strtok(keys, ","); k && retried < 50; k = strtok(NULL, ","), retried++) {
    char body[200];
    int i = atoi(k + 3);
    snprintf(body, sizeof body, "{\"type\":\"order.created\",\"key\":\"k-%d\",\"data\":"
             "{\"id\":\"O%d\"}}", i, i);
    struct http_resp r;
    ASSERT_INT_EQ(api_do(&p, "POST", "/api/events", body, &r), 0);
    ASSERT_INT_EQ(r.status, 202);
    http_resp_free(&r);
  }
  free(keys);
  ASSERT_INT_EQ(sql_num("SELECT count(key) - count(DISTINCT key) FROM events"), 0);
  free(t.ok);
  free(t.refused);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}
