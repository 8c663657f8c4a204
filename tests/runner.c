/* runner: runs the registered tests, each in a forked child with a time limit.
 *
 * Usage: flowd-tests [--list] [--no-fork] [--timeout SECS] [PATTERN...]
 * A test runs when its name contains any PATTERN (all tests without one). The last line is
 * "N passed, N failed", which CI reads. The shared PostgreSQL cluster for TEST_PG tests is
 * started lazily and stopped (and its folder removed) at exit. */
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "tests/test.h"

#define MAX_TESTS 2048

struct test {
  const char *name;
  test_fn fn;
  const char *file;
  int flags;
};

static struct test tests[MAX_TESTS];
static int ntests;
static char scratch[256];     /* the runner's scratch folder */
static char pg_dir[300];      /* shared cluster: data folder; sockets live in it too */
static char pg_conninfo[512]; /* this test's database */
static int pg_started;
static int pg_port = 5432;
static int tmp_seq;

void test_register(const char *name, test_fn fn, const char *file, int flags) {
  if (ntests == MAX_TESTS) {
    fprintf(stderr, "too many tests\n");
    abort();
  }
  tests[ntests++] = (struct test){name, fn, file, flags};
}

void test_fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "  FAIL %s:%d: ", file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
  exit(1);
}

void test_log(const char *fmt, ...) {
  va_list ap;
  fputs("  # ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

const char *test_pg_conninfo(void) { return pg_conninfo; }
const char *test_pg_host(void) { return pg_dir; }
int test_pg_port(void) { return pg_port; }
const char *test_pg_datadir(void) { return pg_dir; }
const char *test_source_dir(void) { return FLOWD_SOURCE_DIR; }

const char *test_flowd_binary(void) {
  const char *b = getenv("FLOWD_TEST_BINARY");
  return b && *b ? b : FLOWD_BINARY;
}

const char *test_tmpdir(void) {
  static char path[320];
  snprintf(path, sizeof path, "%s/t%d-%d", scratch, (int)getpid(), ++tmp_seq);
  /* 0755: when the tests run as root, postgres runs as the "postgres" user and must reach
   * clusters created in here. */
  if (mkdir(path, 0755) != 0) {
    perror(path);
    abort();
  }
  return path;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int run_cmd(const char *cmd) {
  int rc = system(cmd);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static const char *pg_bindir(void) {
  static char dir[256];
  const char *env = getenv("FLOWD_PG_BINDIR");
  if (env && *env)
    return env;
  for (int v = 17; v >= 13; v--) {
    snprintf(dir, sizeof dir, "/usr/lib/postgresql/%d/bin", v);
    char p[300];
    snprintf(p, sizeof p, "%s/initdb", dir);
    if (access(p, X_OK) == 0)
      return dir;
  }
  return NULL;
}

/* postgres refuses to run as root: as root, run its tools as the "postgres" user. */
static const char *as_pg_user(void) { return geteuid() == 0 ? "runuser -u postgres -- " : ""; }

int test_pg_ctl(const char *action) {
  char cmd[2048];
  if (strcmp(action, "start") == 0)
    snprintf(cmd, sizeof cmd,
             "%s'%s/pg_ctl' -D '%s' -w -t 60 -l '%s/postgres.log' -o \"-k '%s' "
             "-c listen_addresses='' -p %d -F -c max_connections=300\" start >/dev/null",
             as_pg_user(), pg_bindir(), pg_dir, pg_dir, pg_dir, pg_port);
  else
    snprintf(cmd, sizeof cmd, "%s'%s/pg_ctl' -D '%s' -m %s -w stop >/dev/null 2>&1",
             as_pg_user(), pg_bindir(), pg_dir, strcmp(action, "kill") == 0 ? "immediate" : "fast");
  return run_cmd(cmd);
}

static int pg_start_shared(void) {
  const char *bin = pg_bindir();
  if (!bin) {
    fprintf(stderr, "PostgreSQL server binaries not found: apt-get install postgresql-15\n");
    return -1;
  }
  char cmd[2048];
  snprintf(pg_dir, sizeof pg_dir, "%s/pg", scratch);
  if (geteuid() == 0) {
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && chown postgres: '%s'", pg_dir, pg_dir);
    run_cmd(cmd);
  }
  snprintf(cmd, sizeof cmd,
           "%s'%s/initdb' -D '%s' -U postgres -A trust -N -E UTF8 --locale=C >'%s/initdb.log' 2>&1",
           as_pg_user(), bin, pg_dir, scratch);
  if (run_cmd(cmd) != 0) {
    fprintf(stderr, "initdb failed, see %s/initdb.log\n", scratch);
    return -1;
  }
  if (test_pg_ctl("start") != 0) {
    fprintf(stderr, "pg_ctl start failed, see %s/postgres.log\n", pg_dir);
    return -1;
  }
  pg_started = 1;
  return 0;
}

static void pg_stop_shared(void) {
  if (!pg_started)
    return;
  test_pg_ctl("kill");
  pg_started = 0;
}

/* Creates database `name` on the shared cluster and points pg_conninfo at it. */
static int pg_create_db(const char *name) {
  char admin[512];
  snprintf(admin, sizeof admin, "host=%s port=%d user=postgres dbname=postgres", pg_dir, pg_port);
  PGconn *c = PQconnectdb(admin);
  if (PQstatus(c) != CONNECTION_OK) {
    /* A test may have stopped the cluster and failed before restarting it. */
    PQfinish(c);
    test_pg_ctl("start");
    c = PQconnectdb(admin);
    if (PQstatus(c) != CONNECTION_OK) {
      fprintf(stderr, "cannot connect to the test cluster: %s", PQerrorMessage(c));
      PQfinish(c);
      return -1;
    }
  }
  char sql[256];
  snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", name);
  PGresult *r = PQexec(c, sql);
  int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  if (!ok)
    fprintf(stderr, "CREATE DATABASE %s: %s", name, PQerrorMessage(c));
  PQclear(r);
  PQfinish(c);
  snprintf(pg_conninfo, sizeof pg_conninfo, "host=%s port=%d user=postgres dbname=%s", pg_dir,
           pg_port, name);
  return ok ? 0 : -1;
}

static pid_t runner_pid;

/* Runs at exit of the runner only: test children exit() too (so LeakSanitizer checks them). */
static void cleanup(void) {
  if (getpid() != runner_pid)
    return;
  pg_stop_shared();
  if (scratch[0] && !getenv("FLOWD_TEST_KEEP")) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    run_cmd(cmd);
  }
}

static void on_signal(int sig) {
  cleanup();
  signal(sig, SIG_DFL);
  raise(sig);
}

static int matches(const struct test *t, int npat, char **pat) {
  if (npat == 0)
    return 1;
  for (int i = 0; i < npat; i++)
    if (strstr(t->name, pat[i]))
      return 1;
  return 0;
}

static int cmp_tests(const void *a, const void *b) {
  const struct test *x = a, *y = b;
  int c = strcmp(x->file, y->file);
  return c ? c : strcmp(x->name, y->name);
}

/* Runs one test in a child; returns 0 when it passed. */
static int run_one(const struct test *t, int index, int timeout_s, int nofork) {
  if (t->flags & TEST_F_PG) {
    if (!pg_started && pg_start_shared() != 0)
      return -1;
    char db[64];
    snprintf(db, sizeof db, "t%d", index);
    if (pg_create_db(db) != 0)
      return -1;
  }
  if (nofork) {
    t->fn();
    return 0;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    setpgid(0, 0); /* the runner can kill everything the test started on timeout */
    alarm(0);
    t->fn();
    fflush(stdout);
    fflush(stderr);
    exit(0);
  }
  setpgid(pid, pid);
  double deadline = now_ms() + timeout_s * 1000.0;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid)
      break;
    if (now_ms() > deadline) {
      fprintf(stderr, "  FAIL timed out after %d s\n", timeout_s);
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    usleep(2000);
  }
  /* Reap whatever the test left behind in its process group (servers it started). */
  kill(-pid, SIGKILL);
  if (WIFSIGNALED(status)) {
    fprintf(stderr, "  FAIL killed by signal %d\n", WTERMSIG(status));
    return -1;
  }
  return WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv) {
  int list = 0, nofork = 0, timeout_s = 120;
  char *pat[256];
  int npat = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--list"))
      list = 1;
    else if (!strcmp(argv[i], "--no-fork"))
      nofork = 1;
    else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
      timeout_s = atoi(argv[++i]);
    else if (npat < 256)
      pat[npat++] = argv[i];
  }
  qsort(tests, ntests, sizeof tests[0], cmp_tests);
  if (list) {
    for (int i = 0; i < ntests; i++)
      printf("%s\t%s\n", tests[i].name, tests[i].file);
    return 0;
  }
  const char *tmp = getenv("TMPDIR");
  snprintf(scratch, sizeof scratch, "%s/flowd-tests-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(scratch)) {
    perror("mkdtemp");
    return 2;
  }
  chmod(scratch, 0755);
  runner_pid = getpid();
  atexit(cleanup);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);

  int passed = 0, failed = 0, n = 0;
  char failures[8192] = "";
  for (int i = 0; i < ntests; i++) {
    if (!matches(&tests[i], npat, pat))
      continue;
    n++;
    double t0 = now_ms();
    int rc = run_one(&tests[i], i, timeout_s, nofork);
    double dt = now_ms() - t0;
    if (rc == 0) {
      passed++;
      printf("ok %d - %s (%.0f ms)\n", n, tests[i].name, dt);
    } else {
      failed++;
      printf("not ok %d - %s (%.0f ms)\n", n, tests[i].name, dt);
      size_t len = strlen(failures);
      snprintf(failures + len, sizeof failures - len, "  %s\n", tests[i].name);
    }
  }
  if (failed)
    printf("failed tests:\n%s", failures);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : (n == 0 ? 1 : 0);
}
