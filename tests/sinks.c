/* sinks: starting and reading the python test sinks. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tests/helpers.h"
#include "tests/sinks.h"
#include "tests/test.h"

#define PYTHON "/usr/bin/python3" /* Debian's: python3-aiosmtpd is installed for it */
#define READY_MS 15000

static void paths(struct sink *s, const char *kind) {
  const char *dir = test_tmpdir();
  snprintf(s->log, sizeof s->log, "%s/%s-%d.jsonl", dir, kind, s->port);
  snprintf(s->control, sizeof s->control, "%s/%s-%d.control.json", dir, kind, s->port);
  snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
  write_text(s->log, "");
}

static int port_open(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
  if (fd >= 0)
    close(fd);
  return ok;
}

static void wait_ready(struct sink *s, int http) {
  char url[128];
  snprintf(url, sizeof url, "%s/__health", s->url);
  double deadline = mono_ms() + READY_MS;
  while (mono_ms() < deadline) {
    if (http ? http_status(url) == 200 : port_open(s->port))
      return;
    int status;
    if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
      s->pid = 0;
      test_fail(__FILE__, __LINE__, "the sink on port %d exited at start", s->port);
    }
    sleep_ms(30);
  }
  test_fail(__FILE__, __LINE__, "the sink on port %d did not start", s->port);
}

static pid_t spawn(char *const argv[], const char *pythonpath) {
  pid_t pid = fork();
  if (pid < 0)
    test_fail(__FILE__, __LINE__, "fork: %s", strerror(errno));
  if (pid == 0) {
    if (pythonpath)
      setenv("PYTHONPATH", pythonpath, 1);
    execv(PYTHON, argv);
    fprintf(stderr, "exec %s: %s\n", PYTHON, strerror(errno));
    _exit(127);
  }
  return pid;
}

void sink_control(const struct sink *s, const char *control_json) {
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s.tmp", s->control);
  write_text(tmp, control_json ? control_json : "{}");
  rename(tmp, s->control); /* the sink never reads half a file */
}

void sink_http_start(struct sink *s, int port, const char *control_json) {
  memset(s, 0, sizeof *s);
  s->port = port ? port : free_port();
  paths(s, "http-sink");
  sink_control(s, control_json);
  char script[600], portbuf[16];
  snprintf(script, sizeof script, "%s/tests/tools/http_sink.py", test_source_dir());
  snprintf(portbuf, sizeof portbuf, "%d", s->port);
  char *argv[] = {"python3", script, "--port", portbuf, "--log", s->log, "--control",
                  s->control, NULL};
  s->pid = spawn(argv, NULL);
  wait_ready(s, 1);
}

void sink_smtp_start(struct sink *s) {
  memset(s, 0, sizeof *s);
  s->port = free_port();
  paths(s, "smtp-sink");
  char listen[64], tools[600];
  snprintf(listen, sizeof listen, "127.0.0.1:%d", s->port);
  snprintf(tools, sizeof tools, "%s/tests/tools", test_source_dir());
  char *argv[] = {"python3", "-m", "aiosmtpd", "-n", "-l", listen, "-c", "smtp_sink.Sink",
                  s->log, NULL};
  s->pid = spawn(argv, tools);
  wait_ready(s, 0);
}

void sink_stop(struct sink *s) {
  if (s->pid <= 0)
    return;
  kill(s->pid, SIGTERM);
  waitpid(s->pid, NULL, 0);
  s->pid = 0;
}

cJSON *sink_records(const struct sink *s) {
  cJSON *all = cJSON_CreateArray();
  char *text = read_text(s->log);
  for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n")) {
    cJSON *rec = cJSON_Parse(line);
    if (rec)
      cJSON_AddItemToArray(all, rec);
  }
  free(text);
  return all;
}

int sink_count(const struct sink *s) {
  cJSON *all = sink_records(s);
  int n = cJSON_GetArraySize(all);
  cJSON_Delete(all);
  return n;
}
