/* assign_util: helpers of the assignment, task and conversation tests. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tests/integration/assign_util.h"
#include "tests/integration/exec_util.h"
#include "tests/test.h"

#define NBUF 12
#define BUFLEN 16384

const char *jq(const char *s) {
  static char bufs[NBUF][BUFLEN];
  static int next;
  char *b = bufs[next++ % NBUF];
  size_t n = strlen(s);
  if (n >= BUFLEN)
    test_fail(__FILE__, __LINE__, "jq: %zu bytes is too long", n);
  for (size_t i = 0; i <= n; i++)
    b[i] = s[i] == '\'' ? '"' : s[i];
  return b;
}

void au_start(struct flowd_proc *p) {
  flowd_start(p, NULL, "test", NULL);
  flowd_wait_ready(p, 60000);
}

void au_stop(struct flowd_proc *p) { ASSERT_INT_EQ(flowd_stop(p, SIGTERM, 30000), 0); }

void au_call_at(const char *file, int line, const struct flowd_proc *p, const char *method,
                const char *path, const char *body, long want) {
  struct http_resp r;
  if (api_do(p, method, path, body ? jq(body) : NULL, &r) != 0)
    test_fail(file, line, "%s %s: no answer", method, path);
  long status = r.status;
  char msg[2048];
  snprintf(msg, sizeof msg, "%s", r.body ? r.body : "");
  http_resp_free(&r);
  if (status != want)
    test_fail(file, line, "%s %s: status %ld, want %ld; body: %s", method, path, status, want,
              msg);
}

void au_staff(const struct flowd_proc *p, const char *id, const char *fields) {
  char body[2048];
  snprintf(body, sizeof body, "{'id':'%s','name':'Name of %s'%s%s}", id, id,
           fields && *fields ? "," : "", fields ? fields : "");
  au_call(p, "POST", "/api/staff", body, 201);
}

void au_presence(const struct flowd_proc *p, const char *id, int online) {
  char path[256];
  snprintf(path, sizeof path, "/api/staff/%s/presence", id);
  au_call(p, "PUT", path, online ? "{'online':true}" : "{'online':false}", 200);
}

void au_flow(struct flowd_proc *p, const char *flow) { flow_install(p, jq(flow)); }

void au_event(struct flowd_proc *p, const char *event) { event_post(p, jq(event)); }

void au_wait_at(const char *file, int line, const char *sql, const char *want) {
  double deadline = mono_ms() + 10000;
  char got[4096];
  while (strcmp(au_sql(sql, got, sizeof got), want) != 0) {
    if (mono_ms() > deadline)
      test_fail(file, line, "waited 10 s for\n  %s\n  to be \"%s\"; it is \"%s\"", sql, want,
                got);
    sleep_ms(20);
  }
}

const char *au_sql(const char *sql, char *buf, size_t len) {
  char *v = sql_value(test_pg_conninfo(), sql);
  snprintf(buf, len, "%s", v);
  free(v);
  return buf;
}

void au_runs_done_at(const char *file, int line, int n) {
  char want[16];
  snprintf(want, sizeof want, "%d", n);
  au_wait_at(file, line, "SELECT count(*) FROM runs WHERE status IN ('succeeded', 'failed')",
             want);
}

void au_ws_listen(struct au_ws *w, const struct flowd_proc *p, const char *topic,
                  const char *until_type) {
  static int n;
  char url[256], script[700];
  snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws?token=%s", p->port, TEST_ADMIN_TOKEN);
  snprintf(script, sizeof script, "%s/tests/tools/ws_client.py", test_source_dir());
  snprintf(w->out, sizeof w->out, "%s/ws-%d.out", p->data_dir, n++);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    int o = open(w->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int in = open("/dev/null", O_RDONLY);
    dup2(in, STDIN_FILENO);
    dup2(o, STDOUT_FILENO);
    dup2(o, STDERR_FILENO);
    execl("/usr/bin/python3", "python3", script, url, "--sub", topic, "--until-type",
          until_type, "--timeout", "10", (char *)NULL);
    _exit(127);
  }
  w->pid = pid;
}

char *au_ws_output(const struct au_ws *w) {
  char *t = read_text(w->out);
  return t ? t : strdup("");
}

void au_ws_ready(const struct au_ws *w) {
  double deadline = mono_ms() + 10000;
  for (;;) {
    char *t = au_ws_output(w);
    int ready = strstr(t, "\"client\": \"ready\"") != NULL;
    if (!ready && mono_ms() > deadline) {
      char msg[2048];
      snprintf(msg, sizeof msg, "%s", t);
      free(t);
      test_fail(__FILE__, __LINE__, "the websocket client never got ready:\n%s", msg);
    }
    free(t);
    if (ready)
      return;
    sleep_ms(20);
  }
}

int au_ws_end(struct au_ws *w) {
  int status = 0;
  double deadline = mono_ms() + 15000;
  while (waitpid(w->pid, &status, WNOHANG) != w->pid) {
    if (mono_ms() > deadline) {
      kill(w->pid, SIGKILL);
      waitpid(w->pid, &status, 0);
      break;
    }
    sleep_ms(20);
  }
  w->pid = 0;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
