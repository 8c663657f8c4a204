/* helpers: what integration tests share: spawning a real flowd, an HTTP client (libcurl),
 * waiting for conditions, and reading files. Everything talks over loopback. */
#ifndef FLOWD_TEST_HELPERS_H
#define FLOWD_TEST_HELPERS_H
#include <cjson/cJSON.h>
#include <stddef.h>
#include <sys/types.h>

struct flowd_proc {
  pid_t pid;
  int port;
  char url[64];       /* http://127.0.0.1:PORT */
  char data_dir[512]; /* FLOWD_DATA */
  char log_path[600]; /* stderr of the process */
};

/* Starts build/flowd on a free loopback port. data_dir NULL: a new temporary folder.
 * db NULL: the embedded cluster; "test": this test's database on the shared cluster; else a
 * conninfo. env (may be NULL) holds more "NAME=value" strings, NULL-terminated. */
void flowd_start(struct flowd_proc *p, const char *data_dir, const char *db, const char **env);
/* Waits until GET /healthz answers 200; fails the test (printing the log) after timeout_ms. */
void flowd_wait_ready(struct flowd_proc *p, int timeout_ms);
/* Sends sig and waits for exit; returns the exit status (128+N when killed by signal N), or
 * fails the test after timeout_ms. */
int flowd_stop(struct flowd_proc *p, int sig, int timeout_ms);
/* Waits for the process to exit by itself; returns the status as flowd_stop does. */
int flowd_wait_exit(struct flowd_proc *p, int timeout_ms);
/* The process's log so far (a new string). */
char *flowd_log(const struct flowd_proc *p);

struct http_resp {
  long status;
  char *body;
  size_t len;
  cJSON *json; /* parsed body, or NULL */
};

/* Makes one request; body may be NULL. headers: "Name: value" strings, NULL-terminated, may be
 * NULL. Returns 0, or -1 when no response came (connection refused, timeout). */
int http_do(const char *method, const char *url, const char *body, const char **headers,
            struct http_resp *out);
void http_resp_free(struct http_resp *r);

/* The admin token every flowd started by flowd_start has (unless env overrides it). */
#define TEST_ADMIN_TOKEN "test-admin-token-0123456789"
/* The FLOWD_SECRET_KEY of every flowd started by flowd_start (unless env overrides it):
 * processes that share a database must share it, and tests restart processes with new data
 * folders, where each would otherwise generate a key of its own. */
#define TEST_SECRET_KEY "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

/* A request to p's path with the admin token. */
int api_do(const struct flowd_proc *p, const char *method, const char *path, const char *body,
           struct http_resp *out);

/* GET url and return the status code (0 if no answer). */
long http_status(const char *url);

int free_port(void);
int pid_alive(pid_t pid);
char *read_text(const char *path);
int write_text(const char *path, const char *text);
void sleep_ms(int ms);
double mono_ms(void);

/* Deep JSON equality: numbers by value, object members in any order. */
int json_same(const cJSON *a, const cJSON *b);

/* Runs a SQL statement on conninfo (blocking libpq); returns the first column of the first
 * row as a new string (empty string for no rows), or fails the test on error. */
char *sql_value(const char *conninfo, const char *sql);

#endif
