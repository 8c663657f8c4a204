/* Websocket hub: real flowd processes, a real websocket client (tests/tools/ws_client.py under
 * Debian's python3) over loopback, and messages from "other processes" sent the way they send
 * them: NOTIFY flowd_ws payloads in the format of server/ws_peers.h, or the hub's own code
 * running in this test process against the same database. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>
#include "server/db.h"
#include "server/http.h"
#include "server/log.h"
#include "server/server.h"
#include "server/ws.h"
#include "server/ws_peers.h"
#include "tests/helpers.h"
#include "tests/integration/exec_util.h"
#include "tests/integration/people_client.h"
#include "tests/test.h"

#define READY_MS 30000
#define WAIT_MS 10000
#define PYTHON "/usr/bin/python3"
#define FOREIGN "00000000000000aa" /* the origin of a process that is not running */
#define NOTIFY_MAX 7900

/* ---- the websocket client ---- */

struct wsc {
  pid_t pid;
  int in_fd; /* its stdin: commands */
  char out[700];
};

#define AS_ADMIN "/ws?token=" TEST_ADMIN_TOKEN

/* Starts ws_client.py against path (with its query) on p, with the given options. */
static void wsc_start(struct wsc *c, const struct flowd_proc *p, const char *path,
                      const char *const *args) {
  static int n;
  char url[600], script[700], err[720];
  snprintf(url, sizeof url, "ws://127.0.0.1:%d%s", p->port, path);
  snprintf(script, sizeof script, "%s/tests/tools/ws_client.py", test_source_dir());
  snprintf(c->out, sizeof c->out, "%s/wsc-%d.out", p->data_dir, n++);
  snprintf(err, sizeof err, "%s.err", c->out);
  const char *argv[40] = {"python3", script, url};
  int argc = 3;
  for (int i = 0; args && args[i] && argc < 39; i++)
    argv[argc++] = args[i];
  argv[argc] = NULL;
  int fds[2];
  ASSERT_INT_EQ(pipe(fds), 0);
  signal(SIGPIPE, SIG_IGN);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    int o = open(c->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fds[0], STDIN_FILENO);
    dup2(o, STDOUT_FILENO);
    dup2(e, STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    execv(PYTHON, (char *const *)argv);
    _exit(127);
  }
  close(fds[0]);
  c->in_fd = fds[1];
  c->pid = pid;
}

static char *wsc_output(const struct wsc *c) {
  char *t = read_text(c->out);
  return t ? t : strdup("");
}

/* Lines of the client's output that contain needle. */
static int wsc_count(const struct wsc *c, const char *needle) {
  char *t = wsc_output(c);
  int n = 0;
  for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n"))
    n += strstr(line, needle) != NULL;
  free(t);
  return n;
}

/* Waits until n lines contain needle; fails the test with the output after timeout_ms. */
#define wsc_wait(c, needle, n, ms) wsc_wait_at(__FILE__, __LINE__, c, needle, n, ms)
static void wsc_wait_at(const char *file, int line, const struct wsc *c, const char *needle,
                        int n, int timeout_ms) {
  double deadline = mono_ms() + timeout_ms;
  while (wsc_count(c, needle) < n) {
    if (mono_ms() > deadline) {
      char *t = wsc_output(c);
      test_fail(file, line, "waited for %d lines with %s; client output:\n%.20000s", n, needle,
                t);
    }
    sleep_ms(10);
  }
}

/* Waits until the last 64 KiB of the output contain needle (cheap on long outputs). */
static void wsc_wait_tail(const struct wsc *c, const char *needle, int timeout_ms) {
  double deadline = mono_ms() + timeout_ms;
  static char buf[65537];
  for (;;) {
    FILE *f = fopen(c->out, "r");
    size_t n = 0;
    if (f) {
      fseek(f, 0, SEEK_END);
      long size = ftell(f);
      fseek(f, size > 65536 ? size - 65536 : 0, SEEK_SET);
      n = fread(buf, 1, 65536, f);
      fclose(f);
    }
    buf[n] = '\0';
    if (strstr(buf, needle))
      return;
    if (mono_ms() > deadline)
      test_fail(__FILE__, __LINE__, "waited for %s; the client's output ends:\n%s", needle, buf);
    sleep_ms(5);
  }
}

static void wsc_send(const struct wsc *c, const char *line) {
  ASSERT_INT_EQ(write(c->in_fd, line, strlen(line)), (long long)strlen(line));
  ASSERT_INT_EQ(write(c->in_fd, "\n", 1), 1);
}

/* Waits for the client to end; returns its exit code. */
static int wsc_wait_exit(struct wsc *c, int timeout_ms) {
  double deadline = mono_ms() + timeout_ms;
  int status;
  while (waitpid(c->pid, &status, WNOHANG) != c->pid) {
    if (mono_ms() > deadline) {
      kill(c->pid, SIGKILL);
      waitpid(c->pid, &status, 0);
      char *t = wsc_output(c);
      test_fail(__FILE__, __LINE__, "the websocket client did not end; output:\n%.20000s", t);
    }
    sleep_ms(10);
  }
  close(c->in_fd);
  c->pid = 0;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The client's received messages that have an "i" field, in order, as i values. */
static int wsc_sequence(const struct wsc *c, const char *type_prefix, int *out, int max) {
  char *t = wsc_output(c);
  int n = 0;
  for (char *line = strtok(t, "\n"); line && n < max; line = strtok(NULL, "\n")) {
    cJSON *m = cJSON_Parse(line);
    cJSON *i = cJSON_GetObjectItem(m, "i");
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(m, "type"));
    if (cJSON_IsNumber(i) && type && strncmp(type, type_prefix, strlen(type_prefix)) == 0)
      out[n++] = i->valueint;
    cJSON_Delete(m);
  }
  free(t);
  return n;
}

/* The sum of "dropped" over the client's lagged messages for topic. */
static long wsc_dropped(const struct wsc *c, const char *topic) {
  char *t = wsc_output(c);
  long n = 0;
  for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
    cJSON *m = cJSON_Parse(line);
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(m, "type"));
    const char *top = cJSON_GetStringValue(cJSON_GetObjectItem(m, "topic"));
    if (type && top && strcmp(type, "lagged") == 0 && strcmp(top, topic) == 0)
      n += (long)cJSON_GetNumberValue(cJSON_GetObjectItem(m, "dropped"));
    cJSON_Delete(m);
  }
  free(t);
  return n;
}

/* ---- "another process" ---- */

/* A run-progress style message: {"topic","type","i","pad"} with pad bytes of padding. */
static char *message(const char *topic, const char *type, int i, int pad) {
  char *m = malloc(200 + strlen(topic) + pad);
  int n = sprintf(m, "{\"topic\":\"%s\",\"type\":\"%s\",\"i\":%d,\"pad\":\"", topic, type, i);
  memset(m + n, 'x', pad);
  strcpy(m + n + pad, "\"}");
  return m;
}

/* Sends msgs (takes them) as process `origin` does: consecutive numbers from *seq, payloads
 * of at most 7,900 bytes, all in one transaction (so they arrive in this order). */
static void notify_as(const char *origin, uint64_t *seq, char **msgs, int n) {
  size_t cap = 1024, len = 0;
  for (int i = 0; i < n; i++)
    cap += strlen(msgs[i]) + 200;
  char *sql = malloc(cap);
  for (int i = 0; i < n;) {
    len += sprintf(sql + len, "SELECT pg_notify('flowd_ws', $p${\"origin\":\"%s\",\"seq\":%" PRIu64
                   ",\"msgs\":[", origin, *seq);
    size_t start = len;
    for (; i < n && len - start + strlen(msgs[i]) + 60 < NOTIFY_MAX; i++, (*seq)++) {
      len += sprintf(sql + len, "%s%s", len > start ? "," : "", msgs[i]);
      free(msgs[i]);
    }
    len += sprintf(sql + len, "]}$p$);\n");
  }
  free(sql_value(test_pg_conninfo(), sql));
  free(sql);
}

static void notify_one(const char *origin, uint64_t *seq, const char *topic, const char *type,
                       int i) {
  char *m = message(topic, type, i, 0);
  notify_as(origin, seq, &m, 1);
}

static void start_flowd(struct flowd_proc *p, const char **env) {
  flowd_start(p, NULL, "test", env);
  flowd_wait_ready(p, READY_MS);
}

/* ---- subscriptions ---- */

TEST_PG(ws_subscribed_client_gets_messages_until_it_unsubscribes) {
  struct flowd_proc p;
  start_flowd(&p, NULL);
  struct wsc c;
  const char *args[] = {"--sub", "run:1", "--sub", "run:2", NULL};
  wsc_start(&c, &p, AS_ADMIN, args);
  wsc_wait(&c, "\"client\": \"ready\"", 1, WAIT_MS);
  ASSERT_INT_EQ(wsc_count(&c, "{\"topic\":\"run:1\",\"type\":\"subscribed\"}"), 1);
  ASSERT_INT_EQ(wsc_count(&c, "{\"topic\":\"run:2\",\"type\":\"subscribed\"}"), 1);

  uint64_t seq = 0;
  char *batch[] = {message("run:1", "node.started", 1, 0), message("run:3", "node.started", 2, 0),
                   message("run:2", "node.started", 3, 0)};
  notify_as(FOREIGN, &seq, batch, 3);
  wsc_wait(&c, "\"i\":3", 1, WAIT_MS);
  ASSERT_INT_EQ(wsc_count(&c, "{\"topic\":\"run:1\",\"type\":\"node.started\",\"i\":1"), 1);
  ASSERT_INT_EQ(wsc_count(&c, "\"i\":2"), 0); /* run:3: not subscribed */

  wsc_send(&c, "{\"op\":\"unsubscribe\",\"topic\":\"run:1\"}");
  wsc_wait(&c, "{\"topic\":\"run:1\",\"type\":\"unsubscribed\"}", 1, WAIT_MS);
  char *batch2[] = {message("run:1", "node.finished", 4, 0),
                    message("run:2", "node.finished", 5, 0)};
  notify_as(FOREIGN, &seq, batch2, 2);
  wsc_wait(&c, "\"i\":5", 1, WAIT_MS);
  ASSERT_INT_EQ(wsc_count(&c, "\"i\":4"), 0);

  /* Shutting down with the client connected: exit 0 (no leak), and the client is let go. */
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
  wsc_wait(&c, "\"client\": \"closed\"", 1, WAIT_MS);
  ASSERT_INT_EQ(wsc_wait_exit(&c, WAIT_MS), 4);
}

/* ---- authentication and authorization ---- */

TEST_PG(ws_upgrade_without_credentials_is_refused) {
  struct flowd_proc p;
  start_flowd(&p, NULL);
  struct wsc c;
  const char *args[] = {"--sub", "runs", NULL};
  wsc_start(&c, &p, "/ws", args);
  ASSERT_INT_EQ(wsc_wait_exit(&c, WAIT_MS), 2);
  char *out = wsc_output(&c);
  ASSERT_STR_EQ(out, "{\"client\": \"refused\", \"status\": 401}\n");
  free(out);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

TEST_PG(ws_upgrade_with_a_bad_token_is_refused) {
  struct flowd_proc p;
  start_flowd(&p, NULL);
  struct wsc a, b, ok;
  const char *args[] = {"--sub", "runs", NULL};
  wsc_start(&a, &p, "/ws?token=not-the-token", args);
  const char *bearer[] = {"--header", "Authorization: Bearer not-the-token", NULL};
  wsc_start(&b, &p, "/ws", bearer);
  /* The same check accepts the right token in the header. */
  const char *good[] = {"--header", "Authorization: Bearer " TEST_ADMIN_TOKEN, "--sub", "runs",
                        "--count", "1", NULL};
  wsc_start(&ok, &p, "/ws", good);
  ASSERT_INT_EQ(wsc_wait_exit(&a, WAIT_MS), 2);
  ASSERT_INT_EQ(wsc_wait_exit(&b, WAIT_MS), 2);
  ASSERT_INT_EQ(wsc_count(&a, "{\"client\": \"refused\", \"status\": 401}"), 1);
  ASSERT_INT_EQ(wsc_count(&b, "{\"client\": \"refused\", \"status\": 401}"), 1);
  wsc_wait(&ok, "\"client\": \"ready\"", 1, WAIT_MS);
  uint64_t seq = 0;
  notify_one(FOREIGN, &seq, "runs", "run.started", 1);
  ASSERT_INT_EQ(wsc_wait_exit(&ok, WAIT_MS), 0);
  ASSERT_INT_EQ(wsc_count(&ok, "{\"topic\":\"runs\",\"type\":\"run.started\",\"i\":1"), 1);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

TEST_PG(ws_upgrade_on_another_path_is_refused) {
  struct flowd_proc p;
  start_flowd(&p, NULL);
  struct wsc c;
  wsc_start(&c, &p, "/api/flows?token=" TEST_ADMIN_TOKEN, NULL);
  ASSERT_INT_EQ(wsc_wait_exit(&c, WAIT_MS), 2);
  ASSERT_INT_EQ(wsc_count(&c, "{\"client\": \"refused\", \"status\": 404}"), 1);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

TEST_PG(ws_bad_frames_get_error_replies_and_the_connection_stays_open) {
  struct flowd_proc p;
  start_flowd(&p, NULL);
  struct wsc c;
  const char *args[] = {"--send", "{\"op\":\"subscribe\",\"topic\":\"planets\"}",
                        "--send", "{\"op\":\"subscribe\",\"topic\":\"run:\"}",
                        "--send", "{\"op\":\"jump\",\"topic\":\"runs\"}",
                        "--send", "{\"op\":\"subscribe\"}",
                        "--send", "this is not json",
                        "--send", "[1,2]",
                        "--send", "{\"op\":\"subscribe\",\"topic\":\"runs\"}",
                        "--until-type", "run.finished", NULL};
  wsc_start(&c, &p, AS_ADMIN, args);
  wsc_wait(&c, "{\"topic\":\"runs\",\"type\":\"subscribed\"}", 1, WAIT_MS);
  ASSERT_INT_EQ(wsc_count(&c, "\"code\":\"unknown_topic\""), 3);
  ASSERT_INT_EQ(wsc_count(&c, "\"topic\":\"planets\""), 1);
  ASSERT_INT_EQ(wsc_count(&c, "\"code\":\"unknown_op\""), 1);
  ASSERT_INT_EQ(wsc_count(&c, "\"code\":\"bad_json\""), 2);
  ASSERT_INT_EQ(wsc_count(&c, "{\"type\":\"error\",\"code\":"), 6);
  uint64_t seq = 0;
  notify_one(FOREIGN, &seq, "runs", "run.finished", 1);
  ASSERT_INT_EQ(wsc_wait_exit(&c, WAIT_MS), 0);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

TEST_PG(ws_frame_over_64k_gets_an_error_and_close_1009) {
  struct flowd_proc p;
  start_flowd(&p, NULL);
  struct wsc c;
  const char *args[] = {"--send-big", "70000", NULL};
  wsc_start(&c, &p, AS_ADMIN, args);
  ASSERT_INT_EQ(wsc_wait_exit(&c, WAIT_MS), 4);
  ASSERT_INT_EQ(wsc_count(&c, "{\"type\":\"error\",\"code\":\"too_large\""), 1);
  ASSERT_INT_EQ(wsc_count(&c, "{\"client\": \"closed\", \"code\": 1009"), 1);
  /* Still serving. */
  char url[128];
  snprintf(url, sizeof url, "%s/healthz", p.url);
  ASSERT_INT_EQ(http_status(url), 200);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

TEST_PG(ws_staff_may_subscribe_only_to_own_staff_topic_and_presence) {
  struct flowd_proc p;
  start_flowd(&p, NULL);
  pc_add_staff(&p, "s_lan", "lan@example.com", "correct horse", "staff");
  pc_add_staff(&p, "s_mai", "mai@example.com", "battery staple", "manager");
  struct session lan, mai;
  pc_must_login(&p, "lan@example.com", "correct horse", &lan);
  pc_must_login(&p, "mai@example.com", "battery staple", &mai);

  /* The browser's way: the session cookie. */
  char cookie[300];
  snprintf(cookie, sizeof cookie, "Cookie: %s", lan.cookie);
  struct wsc st, mg;
  const char *sargs[] = {"--header", cookie, "--sub", "presence", "--sub", "staff:s_lan",
                         "--sub", "staff:s_mai", "--sub", "runs", "--sub", "run:1",
                         "--sub", "flow:f1", "--until-type", "notify", NULL};
  wsc_start(&st, &p, "/ws", sargs);
  /* The session token as ?token= works too; a manager sees everything. */
  char path[300];
  snprintf(path, sizeof path, "/ws?token=%s", strchr(mai.cookie, '=') + 1);
  const char *margs[] = {"--sub", "runs", "--sub", "staff:s_lan", "--until-type", "notify",
                         NULL};
  wsc_start(&mg, &p, path, margs);
  wsc_wait(&st, "\"client\": \"ready\"", 1, WAIT_MS);
  wsc_wait(&mg, "\"client\": \"ready\"", 1, WAIT_MS);
  ASSERT_INT_EQ(wsc_count(&st, "{\"topic\":\"presence\",\"type\":\"subscribed\"}"), 1);
  ASSERT_INT_EQ(wsc_count(&st, "{\"topic\":\"staff:s_lan\",\"type\":\"subscribed\"}"), 1);
  ASSERT_INT_EQ(wsc_count(&st, "\"code\":\"forbidden\""), 4);
  ASSERT_INT_EQ(wsc_count(&st, "\"type\":\"subscribed\""), 2);
  ASSERT_INT_EQ(wsc_count(&mg, "\"type\":\"subscribed\""), 2);

  uint64_t seq = 0;
  char *batch[] = {message("runs", "run.started", 1, 0), message("staff:s_mai", "notify", 2, 0),
                   message("staff:s_lan", "notify", 3, 0)};
  notify_as(FOREIGN, &seq, batch, 3);
  ASSERT_INT_EQ(wsc_wait_exit(&st, WAIT_MS), 0);
  ASSERT_INT_EQ(wsc_wait_exit(&mg, WAIT_MS), 0);
  ASSERT_INT_EQ(wsc_count(&st, "\"i\":"), 1);
  ASSERT_INT_EQ(wsc_count(&st, "{\"topic\":\"staff:s_lan\",\"type\":\"notify\",\"i\":3"), 1);
  ASSERT_INT_EQ(wsc_count(&mg, "\"i\":1,"), 1);
  ASSERT_INT_EQ(wsc_count(&mg, "\"i\":3,"), 1);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

TEST_PG(ws_api_key_needs_a_reading_scope) {
  struct flowd_proc p;
  start_flowd(&p, NULL);
  char writer[200], reader[200], path[300];
  pc_add_key(&p, "[\"events:write\"]", 0, writer, NULL, NULL);
  pc_add_key(&p, "[\"read\"]", 0, reader, NULL, NULL);
  struct wsc w, r;
  snprintf(path, sizeof path, "/ws?token=%s", writer);
  wsc_start(&w, &p, path, NULL);
  const char *args[] = {"--sub", "runs", "--count", "1", NULL};
  snprintf(path, sizeof path, "/ws?token=%s", reader);
  wsc_start(&r, &p, path, args);
  ASSERT_INT_EQ(wsc_wait_exit(&w, WAIT_MS), 2);
  ASSERT_INT_EQ(wsc_count(&w, "{\"client\": \"refused\", \"status\": 401}"), 1);
  wsc_wait(&r, "\"client\": \"ready\"", 1, WAIT_MS);
  ASSERT_INT_EQ(wsc_count(&r, "{\"topic\":\"runs\",\"type\":\"subscribed\"}"), 1);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
  ASSERT_INT_EQ(wsc_wait_exit(&r, WAIT_MS), 4);
}

/* ---- order, slow clients ---- */

TEST_PG(ws_run_messages_arrive_in_publish_order) {
  struct flowd_proc p;
  start_flowd(&p, NULL);
  struct wsc c;
  const char *args[] = {"--sub", "run:7", "--until-type", "run.finished", NULL};
  wsc_start(&c, &p, AS_ADMIN, args);
  wsc_wait(&c, "\"client\": \"ready\"", 1, WAIT_MS);
  enum { N = 600 };
  char *msgs[N];
  msgs[0] = message("run:7", "run.started", 0, 40);
  for (int i = 1; i < N - 1; i++)
    msgs[i] = message("run:7", i % 2 ? "node.started" : "node.finished", i, 40);
  msgs[N - 1] = message("run:7", "run.finished", N - 1, 40);
  uint64_t seq = 0;
  notify_as(FOREIGN, &seq, msgs, N); /* about 70 bytes each: several payloads */
  ASSERT_INT_EQ(wsc_wait_exit(&c, WAIT_MS), 0);
  static int got[N + 10];
  ASSERT_INT_EQ(wsc_sequence(&c, "", got, N + 10), N);
  for (int i = 0; i < N; i++)
    ASSERT_INT_EQ(got[i], i);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

/* VmRSS of pid in kB (-1 if unknown). */
static long rss_kb(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0)
      kb = atol(line + 6);
  if (f)
    fclose(f);
  return kb;
}

TEST_PG(ws_slow_client_gets_lagged_while_a_fast_client_gets_everything) {
  /* ASan keeps freed memory in quarantine; without one, RSS shows what is kept. */
  const char *env[] = {"ASAN_OPTIONS=quarantine_size_mb=0", NULL};
  struct flowd_proc p;
  start_flowd(&p, env);
  struct wsc fast, slow;
  const char *fargs[] = {"--sub", "run:9", "--until-type", "run.finished", "--timeout", "20",
                         NULL};
  /* The slow client reads nothing until told to: the library holds one message, the socket
   * a few kilobytes; everything else waits in flowd's queue for it. */
  const char *sargs[] = {"--sub", "run:9", "--until-type", "run.finished", "--timeout", "20",
                         "--paused", "--rcvbuf", "4096", "--read-limit", "4096", NULL};
  wsc_start(&fast, &p, AS_ADMIN, fargs);
  wsc_start(&slow, &p, AS_ADMIN, sargs);
  wsc_wait(&fast, "\"client\": \"ready\"", 1, WAIT_MS);
  wsc_wait(&slow, "\"client\": \"ready\"", 1, WAIT_MS);
  long rss0 = rss_kb(p.pid);

  enum { N = 8000, PAD = 1000, BURST = 250 }; /* 8 MB of run progress, 1 MiB queues */
  static char *msgs[N];
  msgs[0] = message("run:9", "run.started", 0, PAD);
  for (int i = 1; i < N - 1; i++)
    msgs[i] = message("run:9", i % 2 ? "node.started" : "node.finished", i, PAD);
  msgs[N - 1] = message("run:9", "run.finished", N - 1, PAD);
  /* In bursts, as runs make progress: a burst bigger than a queue in one loop turn would
   * overflow every client's queue, fast or not. */
  uint64_t seq = 0;
  for (int from = 0; from < N; from += BURST) {
    int n = N - from < BURST ? N - from : BURST;
    notify_as(FOREIGN, &seq, msgs + from, n);
    char last[32];
    snprintf(last, sizeof last, "\"i\":%d,", from + n - 1);
    wsc_wait_tail(&fast, last, WAIT_MS);
  }

  /* The fast client got everything, in order, while the slow one is stuck. */
  ASSERT_INT_EQ(wsc_wait_exit(&fast, WAIT_MS), 0);
  static int got[N + 10];
  ASSERT_INT_EQ(wsc_sequence(&fast, "", got, N + 10), N);
  for (int i = 0; i < N; i++)
    ASSERT_INT_EQ(got[i], i);
  ASSERT_INT_EQ(wsc_count(&fast, "\"type\":\"lagged\""), 0);
  char url[128];
  snprintf(url, sizeof url, "%s/healthz", p.url);
  ASSERT_INT_EQ(http_status(url), 200);
  /* The stuck client's backlog is dropped: flowd holds its 1 MiB queue (and the kernel a few
   * MB of socket buffers), not the 8 MB sent meanwhile (+10 MB when measured unbounded). */
  long rss1 = rss_kb(p.pid);
  test_log("flowd RSS %ld kB before, %ld kB after 8 MB past a stuck client", rss0, rss1);
  ASSERT_INT_OP(rss1 - rss0, <, 6 * 1024);

  /* Reading again, the slow client learns what it missed and sees the run finish. */
  wsc_send(&slow, "resume");
  ASSERT_INT_EQ(wsc_wait_exit(&slow, 20000), 0);
  long dropped = wsc_dropped(&slow, "run:9");
  int n_started = wsc_sequence(&slow, "run.started", got, N + 10);
  ASSERT_INT_EQ(n_started, 1);
  ASSERT_INT_EQ(wsc_sequence(&slow, "run.finished", got, N + 10), 1);
  ASSERT_INT_EQ(got[0], N - 1);
  int n_progress = wsc_sequence(&slow, "node.", got, N + 10);
  for (int i = 1; i < n_progress; i++)
    ASSERT_INT_OP(got[i - 1], <, got[i]);
  test_log("slow client: %d progress messages, %ld dropped", n_progress, dropped);
  ASSERT_INT_OP(dropped, >, 0);
  ASSERT_INT_EQ(n_progress + dropped, N - 2);
  ASSERT_INT_OP(wsc_count(&slow, "\"type\":\"lagged\""), >=, 1);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

/* ---- several processes ---- */

static void set_flag(void *data) { *(int *)data = 1; }

/* Runs loop until the client ends; returns its exit code. */
static int run_until_exit(uv_loop_t *loop, struct wsc *c) {
  double deadline = mono_ms() + WAIT_MS;
  int status;
  while (waitpid(c->pid, &status, WNOHANG) != c->pid) {
    uv_run(loop, UV_RUN_NOWAIT);
    if (mono_ms() > deadline) {
      char *t = wsc_output(c);
      test_fail(__FILE__, __LINE__, "the websocket client did not end; output:\n%.20000s", t);
    }
    sleep_ms(2);
  }
  close(c->in_fd);
  c->pid = 0;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static cJSON *numbered(int i, int pad) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "i", i);
  if (pad) {
    char *s = malloc(pad + 1);
    memset(s, 'x', pad);
    s[pad] = '\0';
    cJSON_AddStringToObject(o, "pad", s);
    free(s);
  }
  return o;
}

/* This test process runs the hub's own code (ws_init, ws_publish) against the test database:
 * it is "process A"; the flowd started here is "process B". */
TEST_PG(ws_message_published_in_one_process_reaches_clients_of_another) {
  struct flowd_proc p;
  start_flowd(&p, NULL);
  struct wsc c;
  const char *args[] = {"--sub", "run:5", "--sub", "flow:f1", "--until-type", "run.finished",
                        NULL};
  wsc_start(&c, &p, AS_ADMIN, args);
  wsc_wait(&c, "\"client\": \"ready\"", 1, WAIT_MS);

  log_set_level(LOG_WARN); /* the hub's start-up lines would land in the test output */
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct server srv = {.loop = &loop};
  srv.db = db_open(&loop, test_pg_conninfo(), 1);
  ASSERT_INT_EQ(ws_init(&srv), 0);
  ws_publish("run:5", "run.started", numbered(0, 0));
  for (int i = 1; i <= 150; i++)
    ws_publish("run:5", i % 2 ? "node.started" : "node.finished", numbered(i, 100));
  uv_run(&loop, UV_RUN_NOWAIT); /* the first batch goes; the next waits for it */
  for (int i = 151; i <= 300; i++)
    ws_publish("run:5", i % 2 ? "node.started" : "node.finished", numbered(i, 100));
  ws_publish("flow:f1", "node.finished", numbered(301, 0));
  ws_publish("run:5", "node.finished", numbered(302, 9000)); /* too big for a NOTIFY */
  cJSON *fin = numbered(303, 0);
  cJSON_AddStringToObject(fin, "status", "succeeded");
  ws_publish("run:5", "run.finished", fin);
  ASSERT_INT_EQ(run_until_exit(&loop, &c), 0);

  static int got[400];
  ASSERT_INT_EQ(wsc_sequence(&c, "", got, 400), 303);
  for (int i = 0; i <= 301; i++)
    ASSERT_INT_EQ(got[i], i);
  ASSERT_INT_EQ(got[302], 303);
  ASSERT_INT_EQ(wsc_count(&c, "{\"topic\":\"flow:f1\",\"type\":\"node.finished\",\"i\":301}"), 1);
  /* The message too big to travel became a hint to refetch, in its place. */
  char *out = wsc_output(&c);
  char *hint = strstr(out, "{\"topic\":\"run:5\",\"type\":\"lagged\",\"dropped\":1}");
  ASSERT_NOT_NULL(hint);
  ASSERT(hint > strstr(out, "\"i\":301") && hint < strstr(out, "\"i\":303"));
  free(out);

  int closed = 0;
  ws_shutdown();
  db_close(srv.db, set_flag, &closed);
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_INT_EQ(closed, 1);
  db_free(srv.db);
  ASSERT_INT_EQ(uv_loop_close(&loop), 0);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

/* "type node" of each run message on topic, in order, into a new string. */
static char *run_story(const struct wsc *c, const char *topic) {
  char *t = wsc_output(c), *story = calloc(1, strlen(t) + 1);
  for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
    cJSON *m = cJSON_Parse(line);
    const char *top = cJSON_GetStringValue(cJSON_GetObjectItem(m, "topic"));
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(m, "type"));
    const char *node = cJSON_GetStringValue(cJSON_GetObjectItem(m, "node"));
    if (top && type && strcmp(top, topic) == 0 && strchr(type, '.'))
      sprintf(story + strlen(story), "%s%s%s\n", type, node ? " " : "", node ? node : "");
    cJSON_Delete(m);
  }
  free(t);
  return story;
}

/* The real thing: two flowd processes on one database, a run executed by whichever takes it,
 * an editor on each; both see the same story, in order. */
TEST_PG(ws_run_progress_reaches_editors_on_every_process) {
  struct flowd_proc a, b;
  start_flowd(&a, NULL);
  start_flowd(&b, NULL);
  flow_install(&a, "{\"id\":\"f_ws\",\"name\":\"Live\",\"nodes\":["
                   "{\"id\":\"t\",\"type\":\"trigger.event\",\"config\":{\"type\":\"ws.check\"}},"
                   "{\"id\":\"s1\",\"type\":\"set\",\"config\":{\"values\":{\"x\":1}}},"
                   "{\"id\":\"s2\",\"type\":\"set\",\"config\":{\"values\":{\"y\":2}}}],"
                   "\"edges\":[{\"from\":\"t\",\"to\":\"s1\"},{\"from\":\"s1\",\"to\":\"s2\"}]}");
  struct wsc ca, cb;
  const char *args[] = {"--sub", "flow:f_ws", "--until-type", "run.finished", NULL};
  wsc_start(&ca, &a, AS_ADMIN, args);
  wsc_start(&cb, &b, AS_ADMIN, args);
  wsc_wait(&ca, "\"client\": \"ready\"", 1, WAIT_MS);
  wsc_wait(&cb, "\"client\": \"ready\"", 1, WAIT_MS);
  event_post(&b, "{\"type\":\"ws.check\",\"data\":{}}");
  ASSERT_INT_EQ(wsc_wait_exit(&ca, WAIT_MS), 0);
  ASSERT_INT_EQ(wsc_wait_exit(&cb, WAIT_MS), 0);
  char *sa = run_story(&ca, "flow:f_ws"), *sb = run_story(&cb, "flow:f_ws");
  test_log("story:\n%s", sa);
  ASSERT_STR_EQ(sa, sb);
  ASSERT(strncmp(sa, "run.started\n", 12) == 0);
  ASSERT_STR_CONTAINS(sa, "node.started s1\nnode.finished s1\nnode.started s2\nnode.finished s2\n"
                          "run.finished\n");
  free(sa);
  free(sb);
  ASSERT_INT_EQ(flowd_stop(&a, SIGTERM, 30000), 0);
  ASSERT_INT_EQ(flowd_stop(&b, SIGTERM, 30000), 0);
}

TEST_PG(ws_process_ignores_notifications_from_its_own_origin) {
  struct flowd_proc p;
  start_flowd(&p, NULL);
  struct wsc c;
  const char *args[] = {"--sub", "runs", "--until-type", "run.finished", NULL};
  wsc_start(&c, &p, AS_ADMIN, args);
  wsc_wait(&c, "\"client\": \"ready\"", 1, WAIT_MS);
  char *log = flowd_log(&p);
  const char *o = strstr(log, "origin=");
  ASSERT_NOT_NULL(o);
  char own[17];
  snprintf(own, sizeof own, "%.16s", o + 7);
  free(log);
  uint64_t seq_own = 0, seq = 0;
  /* What it published itself it delivered already: the echo from PostgreSQL is dropped. */
  notify_one(own, &seq_own, "runs", "run.started", 1);
  notify_one(FOREIGN, &seq, "runs", "run.finished", 2);
  ASSERT_INT_EQ(wsc_wait_exit(&c, WAIT_MS), 0);
  ASSERT_INT_EQ(wsc_count(&c, "\"i\":1"), 0);
  ASSERT_INT_EQ(wsc_count(&c, "\"i\":2"), 1);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

TEST_PG(ws_gap_in_another_process_numbers_is_reported_as_lagged) {
  struct flowd_proc p;
  start_flowd(&p, NULL);
  struct wsc c;
  const char *args[] = {"--sub", "run:1", "--sub", "runs", "--until-type", "run.finished",
                        NULL};
  wsc_start(&c, &p, AS_ADMIN, args);
  wsc_wait(&c, "\"client\": \"ready\"", 1, WAIT_MS);
  uint64_t seq = 0;
  notify_one(FOREIGN, &seq, "run:1", "node.started", 1);
  wsc_wait(&c, "\"i\":1", 1, WAIT_MS);
  seq += 5; /* five messages that never arrived */
  notify_one(FOREIGN, &seq, "run:1", "run.finished", 2);
  ASSERT_INT_EQ(wsc_wait_exit(&c, WAIT_MS), 0);
  ASSERT_INT_EQ(wsc_count(&c, "{\"topic\":\"run:1\",\"type\":\"lagged\",\"dropped\":5}"), 1);
  ASSERT_INT_EQ(wsc_count(&c, "{\"topic\":\"runs\",\"type\":\"lagged\",\"dropped\":5}"), 1);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

/* ---- sending to other processes only while they watch ---- */

/* Heartbeats every 200 ms: a process knows who watches 500 ms after its start. */
#define FAST_HB "FLOWD_WS_HEARTBEAT_MS=200"

/* The origin flowd p logs at start. */
static void origin_of(const struct flowd_proc *p, char own[17]) {
  char *log = flowd_log(p);
  const char *o = strstr(log, "origin=");
  ASSERT_NOT_NULL(o);
  snprintf(own, 17, "%.16s", o + 7);
  free(log);
}

/* A LISTEN on flowd_ws of this test's database, to see what the processes send. */
static PGconn *listen_channel(void) {
  PGconn *l = PQconnectdb(test_pg_conninfo());
  ASSERT_INT_EQ(PQstatus(l), CONNECTION_OK);
  PQclear(PQexec(l, "LISTEN flowd_ws"));
  return l;
}

/* Counts what origin sent since the last call: message payloads and heartbeats (and, in
 * *quiet, whether its latest heartbeat said it sends nothing). */
static void drain(PGconn *l, const char *origin, int *msgs, int *hbs, int *quiet) {
  char prefix[40];
  snprintf(prefix, sizeof prefix, "{\"origin\":\"%s\"", origin);
  *msgs = *hbs = 0;
  PQconsumeInput(l);
  PGnotify *n;
  while ((n = PQnotifies(l))) {
    if (strncmp(n->extra, prefix, strlen(prefix)) == 0) {
      *msgs += strstr(n->extra, "\"msgs\"") != NULL;
      if (strstr(n->extra, "\"hb\"")) {
        (*hbs)++;
        *quiet = strstr(n->extra, "\"sending\":0") != NULL;
      }
    }
    PQfreemem(n);
  }
}

TEST_PG(ws_process_sends_nothing_to_the_database_while_no_other_process_watches) {
  const char *env[] = {FAST_HB, NULL};
  struct flowd_proc p;
  start_flowd(&p, env);
  char own[17];
  origin_of(&p, own);
  PGconn *l = listen_channel();
  flow_install(&p, "{\"id\":\"f_quiet\",\"name\":\"Quiet\",\"nodes\":["
                   "{\"id\":\"t\",\"type\":\"trigger.event\",\"config\":{\"type\":\"ws.quiet\"}},"
                   "{\"id\":\"s\",\"type\":\"set\",\"config\":{\"values\":{\"x\":1}}}],"
                   "\"edges\":[{\"from\":\"t\",\"to\":\"s\"}]}");
  /* Its own editor does not count: only other processes' subscribers do. */
  struct wsc c;
  const char *args[] = {"--sub", "flow:f_quiet", "--until-type", "run.finished", NULL};
  wsc_start(&c, &p, AS_ADMIN, args);
  wsc_wait(&c, "\"client\": \"ready\"", 1, WAIT_MS);
  int msgs = 0, hbs = 0, quiet = 0;
  double deadline = mono_ms() + WAIT_MS;
  while (!quiet) {
    ASSERT(mono_ms() < deadline);
    sleep_ms(50);
    drain(l, own, &msgs, &hbs, &quiet);
  }
  event_post(&p, "{\"type\":\"ws.quiet\",\"data\":{}}");
  ASSERT_INT_EQ(wsc_wait_exit(&c, WAIT_MS), 0);
  ASSERT_INT_EQ(wsc_count(&c, "\"type\":\"node.finished\""), 2);
  sleep_ms(300);
  drain(l, own, &msgs, &hbs, &quiet);
  test_log("%d message payloads, %d heartbeats after the run", msgs, hbs);
  ASSERT_INT_EQ(msgs, 0);
  ASSERT_INT_OP(hbs, >=, 1);

  /* Another process says it watches (again and again, or it would be gone after three
   * heartbeats): from then on the messages go out. */
  char hb[300];
  snprintf(hb, sizeof hb, "SELECT pg_notify('flowd_ws', '{\"origin\":\"%s\",\"hb\":1,"
           "\"watching\":1,\"sending\":0}')", FOREIGN);
  deadline = mono_ms() + WAIT_MS;
  while (quiet) {
    ASSERT(mono_ms() < deadline);
    free(sql_value(test_pg_conninfo(), hb));
    sleep_ms(50);
    drain(l, own, &msgs, &hbs, &quiet);
  }
  event_post(&p, "{\"type\":\"ws.quiet\",\"data\":{}}");
  deadline = mono_ms() + WAIT_MS;
  do {
    ASSERT(mono_ms() < deadline);
    free(sql_value(test_pg_conninfo(), hb));
    sleep_ms(50);
    drain(l, own, &msgs, &hbs, &quiet);
  } while (msgs == 0);
  PQfinish(l);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

/* Runs loop for ms. */
static void spin(uv_loop_t *loop, int ms) {
  double until = mono_ms() + ms;
  while (mono_ms() < until) {
    uv_run(loop, UV_RUN_NOWAIT);
    sleep_ms(2);
  }
}

/* Starts the hub in this test process ("process A") with fast heartbeats. */
static struct db *start_hub(uv_loop_t *loop, struct server *srv) {
  log_set_level(LOG_WARN); /* the hub's start-up lines would land in the test output */
  uv_loop_init(loop);
  *srv = (struct server){.loop = loop};
  srv->db = db_open(loop, test_pg_conninfo(), 1);
  setenv("FLOWD_WS_HEARTBEAT_MS", "200", 1);
  ASSERT_INT_EQ(ws_init(srv), 0);
  unsetenv("FLOWD_WS_HEARTBEAT_MS");
  return srv->db;
}

static void stop_hub(uv_loop_t *loop, struct server *srv) {
  int closed = 0;
  ws_shutdown();
  db_close(srv->db, set_flag, &closed);
  uv_run(loop, UV_RUN_DEFAULT);
  ASSERT_INT_EQ(closed, 1);
  db_free(srv->db);
  ASSERT_INT_EQ(uv_loop_close(loop), 0);
}

/* B's first subscriber is answered only once A has acknowledged that it sends again. */
TEST_PG(ws_subscriber_gets_what_another_process_publishes_right_after_its_answer) {
  const char *env[] = {FAST_HB, NULL};
  struct flowd_proc p; /* process B */
  start_flowd(&p, env);
  uv_loop_t loop;
  struct server srv;
  start_hub(&loop, &srv);
  spin(&loop, 900); /* A hears B, which has no subscribers: A stops sending */
  ASSERT_INT_EQ(ws_peers_sending(), 0);

  struct wsc c;
  const char *args[] = {"--sub", "run:77", "--until-type", "run.finished", NULL};
  wsc_start(&c, &p, AS_ADMIN, args);
  double deadline = mono_ms() + WAIT_MS;
  while (wsc_count(&c, "\"client\": \"ready\"") == 0) {
    ASSERT(mono_ms() < deadline);
    spin(&loop, 5); /* A answers B's ask meanwhile */
  }
  ASSERT_INT_EQ(ws_peers_sending(), 1);
  cJSON *fin = numbered(1, 0);
  cJSON_AddStringToObject(fin, "status", "succeeded");
  ws_publish("run:77", "run.finished", fin); /* at once: no loop turn in between */
  ASSERT_INT_EQ(run_until_exit(&loop, &c), 0);
  ASSERT_INT_EQ(wsc_count(&c, "{\"topic\":\"run:77\",\"type\":\"run.finished\",\"i\":1"), 1);
  ASSERT_INT_EQ(wsc_count(&c, "\"type\":\"lagged\""), 0);

  /* Without subscribers B says so, and A stops sending again. */
  deadline = mono_ms() + WAIT_MS;
  while (ws_peers_sending()) {
    ASSERT(mono_ms() < deadline);
    spin(&loop, 20);
  }
  stop_hub(&loop, &srv);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

/* Process A (this test) stands still while B's client subscribes: B answers it without A's
 * ack; A publishes something without sending it, then runs again. keep_alive: meanwhile A
 * looks alive to B (heartbeats in its name), so B waits for its ack and gives up; else A has
 * been silent for longer than three heartbeats, B takes it for gone and answers at once. When
 * A is heard again, B's client is told to refetch. */
static void stalled_peer(int keep_alive) {
  const char *env[] = {FAST_HB, NULL};
  struct flowd_proc p;
  start_flowd(&p, env);
  uv_loop_t loop;
  struct server srv;
  start_hub(&loop, &srv);
  spin(&loop, 900);
  ASSERT_INT_EQ(ws_peers_sending(), 0);
  char hb[300];
  snprintf(hb, sizeof hb, "SELECT pg_notify('flowd_ws', '{\"origin\":\"%016" PRIx64 "\","
           "\"hb\":1,\"watching\":0,\"sending\":0}')", ws_peers_origin());
  if (!keep_alive)
    sleep_ms(800);

  struct wsc c;
  const char *args[] = {"--sub", "run:78", "--until-type", "lagged", NULL};
  wsc_start(&c, &p, AS_ADMIN, args);
  double deadline = mono_ms() + WAIT_MS;
  while (wsc_count(&c, "\"client\": \"ready\"") == 0) {
    ASSERT(mono_ms() < deadline);
    if (keep_alive)
      free(sql_value(test_pg_conninfo(), hb));
    sleep_ms(50);
  }
  ws_publish("run:78", "node.finished", numbered(1, 0)); /* A does not know: not sent */
  ASSERT_INT_EQ(run_until_exit(&loop, &c), 0);
  ASSERT_INT_EQ(wsc_count(&c, "\"i\":1"), 0);
  ASSERT_INT_OP(wsc_dropped(&c, "run:78"), >=, 1);
  stop_hub(&loop, &srv);
  ASSERT_INT_EQ(flowd_stop(&p, SIGTERM, 30000), 0);
}

TEST_PG(ws_subscriber_answered_without_a_stalled_process_ack_is_told_to_refetch) {
  stalled_peer(1);
}

TEST_PG(ws_subscriber_answered_while_a_process_seemed_gone_is_told_to_refetch) {
  stalled_peer(0);
}
