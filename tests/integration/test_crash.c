/* Crash: flowd is killed with SIGKILL while it takes events and runs delays. After a
 * restart, every event that got 202 has exactly one run, every run reaches a final state,
 * and no internal effect happened twice. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tests/helpers.h"
#include "tests/integration/exec_util.h"
#include "tests/test.h"

#define N_EVENTS 1000

#define CRASH_FLOW                                                                           \
  "{\"id\":\"f_crash\",\"name\":\"Crash\",\"nodes\":["                                     \
  "{\"id\":\"t\",\"type\":\"trigger.record\",\"config\":{\"kind\":\"order\",\"on\":\"created\"}}," \
  "{\"id\":\"u1\",\"type\":\"action.update_record\",\"config\":{\"target\":\"order\",\"set\":{\"seen\":\"yes\"}}}," \
  "{\"id\":\"d\",\"type\":\"delay\",\"config\":{\"for\":\"1s\"}},"                         \
  "{\"id\":\"u2\",\"type\":\"action.update_record\",\"config\":{\"target\":\"order\",\"set\":{\"done\":\"yes\"}}}]," \
  "\"edges\":[{\"from\":\"t\",\"to\":\"u1\"},{\"from\":\"u1\",\"to\":\"d\"},{\"from\":\"d\",\"to\":\"u2\"}]}"

/* Posts events k-from .. k-(N-1) until one fails; appends each accepted key to path. */
static void post_all(const struct flowd_proc *p, int from, const char *path) {
  FILE *f = fopen(path, "a");
  for (int i = from; i < N_EVENTS; i++) {
    char body[200];
    snprintf(body, sizeof body, "{\"type\":\"order.created\",\"key\":\"k-%d\",\"data\":"
             "{\"id\":\"O%d\"}}", i, i);
    struct http_resp r;
    if (api_do(p, "POST", "/api/events", body, &r) != 0 || r.status != 202) {
      http_resp_free(&r);
      break;
    }
    http_resp_free(&r);
    fprintf(f, "k-%d\n", i);
    fflush(f);
  }
  fclose(f);
}

TEST_PG_SLOW(exec_survives_kill_9_under_load_without_losing_or_repeating_anything) {
  const char *lease[] = {"FLOWD_LEASE_MS=1500", NULL};
  struct flowd_proc p;
  flowd_start(&p, NULL, "test", lease);
  flowd_wait_ready(&p, 60000);
  flow_install(&p, CRASH_FLOW);

  char accepted[700];
  snprintf(accepted, sizeof accepted, "%s/accepted.txt", p.data_dir);
  pid_t poster = fork();
  if (poster == 0) {
    post_all(&p, 0, accepted);
    _exit(0);
  }
  /* Kill flowd while events are being taken and delays are pending: after the first 150. */
  double deadline = mono_ms() + 30000;
  while (sql_num("SELECT count(*) FROM events WHERE type = 'order.created'") < 150 &&
         mono_ms() < deadline)
    sleep_ms(5);
  kill(p.pid, SIGKILL);
  flowd_wait_exit(&p, 10000);
  waitpid(poster, NULL, 0);
  long long got = sql_num("SELECT count(*) FROM events WHERE type = 'order.created'");
  test_log("%lld events were accepted before the kill", got);
  ASSERT(got > 0 && got < N_EVENTS);

  /* Every event that got 202 is stored. */
  char *keys = read_text(accepted);
  int n202 = 0;
  for (char *line = strtok(keys, "\n"); line; line = strtok(NULL, "\n")) {
    char q[200];
    snprintf(q, sizeof q, "SELECT count(*) FROM events WHERE key = '%s'", line);
    if (sql_num(q) != 1)
      test_fail(__FILE__, __LINE__, "event %s got 202 but is not stored", line);
    n202++;
  }
  free(keys);
  test_log("%d events had their 202", n202);

  /* Back up; the shop resends everything, so the accepted ones arrive again. */
  struct flowd_proc q;
  flowd_start(&q, NULL, "test", lease);
  flowd_wait_ready(&q, 60000);
  post_all(&q, 0, accepted);
  wait_sql("SELECT count(*) FROM events WHERE type = 'order.created'", "1000", 10000);
  wait_sql("SELECT count(*) FROM runs WHERE status = 'succeeded'", "1000", 90000);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM runs"), N_EVENTS);
  ASSERT_INT_EQ(sql_num("SELECT count(DISTINCT event_id) FROM runs"), N_EVENTS);
  /* Each internal effect happened exactly once per order. */
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM (SELECT record_id FROM events WHERE type = "
                        "'order.updated' AND data ? 'done' GROUP BY record_id "
                        "HAVING count(*) = 1) x"), N_EVENTS);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM events WHERE type = 'order.updated'"),
                2 * N_EVENTS);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM records WHERE kind = 'order' AND "
                        "data->>'done' = 'yes' AND data->>'seen' = 'yes'"), N_EVENTS);
  ASSERT_INT_EQ(flowd_stop(&q, SIGTERM, 30000), 0);
}
