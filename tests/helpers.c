/* helpers: process, HTTP and SQL helpers for integration tests. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "tests/helpers.h"
#include "tests/test.h"

extern char **environ;

double mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0)
    test_fail(__FILE__, __LINE__, "cannot find a free port: %s", strerror(errno));
  close(fd);
  return ntohs(a.sin_port);
}

int pid_alive(pid_t pid) { return pid > 0 && kill(pid, 0) == 0; }

char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc(n + 1);
  size_t got = buf ? fread(buf, 1, n, f) : 0;
  fclose(f);
  if (!buf)
    return NULL;
  buf[got] = '\0';
  return buf;
}

int write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  if (!f)
    return -1;
  fputs(text, f);
  return fclose(f);
}

void flowd_start(struct flowd_proc *p, const char *data_dir, const char *db, const char **env) {
  memset(p, 0, sizeof *p);
  p->port = free_port();
  snprintf(p->url, sizeof p->url, "http://127.0.0.1:%d", p->port);
  snprintf(p->data_dir, sizeof p->data_dir, "%s", data_dir ? data_dir : test_tmpdir());
  snprintf(p->log_path, sizeof p->log_path, "%s/flowd-%d.log", p->data_dir, p->port);
  pid_t pid = fork();
  if (pid < 0)
    test_fail(__FILE__, __LINE__, "fork: %s", strerror(errno));
  if (pid == 0) {
    int fd = open(p->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", p->port);
    setenv("FLOWD_LISTEN", listen, 1);
    setenv("FLOWD_DATA", p->data_dir, 1);
    if (!getenv("FLOWD_LOG"))
      setenv("FLOWD_LOG", "info", 1);
    setenv("FLOWD_ADMIN_TOKEN", TEST_ADMIN_TOKEN, 1);
    setenv("FLOWD_SECRET_KEY", TEST_SECRET_KEY, 1);
    if (db && strcmp(db, "test") == 0)
      setenv("FLOWD_DB", test_pg_conninfo(), 1);
    else if (db)
      setenv("FLOWD_DB", db, 1);
    else
      unsetenv("FLOWD_DB");
    for (int i = 0; env && env[i]; i++)
      putenv((char *)env[i]);
    execl(test_flowd_binary(), "flowd", (char *)NULL);
    fprintf(stderr, "exec %s: %s\n", test_flowd_binary(), strerror(errno));
    _exit(127);
  }
  p->pid = pid;
}

char *flowd_log(const struct flowd_proc *p) {
  char *t = read_text(p->log_path);
  return t ? t : strdup("");
}

static void fail_with_log(const struct flowd_proc *p, const char *what) {
  char *log = flowd_log(p);
  test_fail(__FILE__, __LINE__, "%s; flowd log:\n%s", what, log);
}

static int decode_status(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

int flowd_wait_exit(struct flowd_proc *p, int timeout_ms) {
  double deadline = mono_ms() + timeout_ms;
  int status;
  while (mono_ms() < deadline) {
    pid_t r = waitpid(p->pid, &status, WNOHANG);
    if (r == p->pid) {
      p->pid = 0;
      return decode_status(status);
    }
    sleep_ms(20);
  }
  fail_with_log(p, "flowd did not exit in time");
  return -1;
}

void flowd_wait_ready(struct flowd_proc *p, int timeout_ms) {
  double deadline = mono_ms() + timeout_ms;
  char url[128];
  snprintf(url, sizeof url, "%s/healthz", p->url);
  while (mono_ms() < deadline) {
    if (http_status(url) == 200)
      return;
    int status;
    if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
      p->pid = 0;
      fail_with_log(p, "flowd exited before it was ready");
    }
    sleep_ms(50);
  }
  fail_with_log(p, "flowd did not become ready in time");
}

int flowd_stop(struct flowd_proc *p, int sig, int timeout_ms) {
  if (p->pid <= 0)
    return -1;
  kill(p->pid, sig);
  return flowd_wait_exit(p, timeout_ms);
}

static size_t collect(char *ptr, size_t size, size_t n, void *ud) {
  struct http_resp *r = ud;
  size_t len = size * n;
  char *b = realloc(r->body, r->len + len + 1);
  if (!b)
    return 0;
  memcpy(b + r->len, ptr, len);
  r->body = b;
  r->len += len;
  r->body[r->len] = '\0';
  return len;
}

int api_do(const struct flowd_proc *p, const char *method, const char *path, const char *body,
           struct http_resp *out) {
  char url[1200];
  snprintf(url, sizeof url, "%s%s", p->url, path);
  const char *h[] = {"Authorization: Bearer " TEST_ADMIN_TOKEN, NULL};
  return http_do(method, url, body, h, out);
}

int http_do(const char *method, const char *url, const char *body, const char **headers,
            struct http_resp *out) {
  memset(out, 0, sizeof *out);
  CURL *c = curl_easy_init();
  struct curl_slist *h = curl_slist_append(NULL, "Expect:");
  if (body)
    h = curl_slist_append(h, "Content-Type: application/json");
  for (int i = 0; headers && headers[i]; i++)
    h = curl_slist_append(h, headers[i]);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
  }
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK)
    return -1;
  if (out->body)
    out->json = cJSON_Parse(out->body);
  return 0;
}

void http_resp_free(struct http_resp *r) {
  free(r->body);
  cJSON_Delete(r->json);
  memset(r, 0, sizeof *r);
}

long http_status(const char *url) {
  struct http_resp r;
  if (http_do("GET", url, NULL, NULL, &r) != 0)
    return 0;
  long s = r.status;
  http_resp_free(&r);
  return s;
}

char *sql_value(const char *conninfo, const char *sql) {
  PGconn *c = PQconnectdb(conninfo);
  if (PQstatus(c) != CONNECTION_OK) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
    PQfinish(c);
    test_fail(__FILE__, __LINE__, "connect %s: %s", conninfo, msg);
  }
  PGresult *r = PQexec(c, sql);
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    test_fail(__FILE__, __LINE__, "%s: %s", sql, msg);
  }
  char *v = strdup(st == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
  PQclear(r);
  PQfinish(c);
  return v;
}

int json_same(const cJSON *a, const cJSON *b) {
  if (!a || !b)
    return a == b;
  if ((a->type & 0xFF) != (b->type & 0xFF))
    return 0;
  if (cJSON_IsNumber(a))
    return a->valuedouble == b->valuedouble;
  if (cJSON_IsString(a))
    return strcmp(a->valuestring, b->valuestring) == 0;
  if (cJSON_IsArray(a)) {
    const cJSON *x = a->child, *y = b->child;
    for (; x && y; x = x->next, y = y->next)
      if (!json_same(x, y))
        return 0;
    return !x && !y;
  }
  if (cJSON_IsObject(a)) {
    if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
      return 0;
    for (const cJSON *x = a->child; x; x = x->next)
      if (!json_same(x, cJSON_GetObjectItemCaseSensitive(b, x->string)))
        return 0;
  }
  return 1;
}
