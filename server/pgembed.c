/* pgembed: initdb, start, adopt and stop a private PostgreSQL cluster.
 * Invariant: after pgembed_start returns 0, a postmaster for DATA/pg is running and accepts
 * connections on DATA/pg/.s.PGSQL.5432 (or a short /tmp folder when that path is too long). */
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "server/log.h"
#include "server/pgembed.h"

#define PG_PORT 5432

static char pg_dir[PATH_MAX + 8]; /* the cluster's data folder */
static char sock_dir[PATH_MAX + 8]; /* where its unix socket lives */
static int started;
static uid_t run_uid;
static gid_t run_gid;
static int drop_privileges;

const char *pgembed_bindir(void) {
  static char dir[256];
  const char *env = getenv("FLOWD_PG_BINDIR");
  if (env && *env) {
    char p[600];
    snprintf(p, sizeof p, "%s/postgres", env);
    return access(p, X_OK) == 0 ? env : NULL;
  }
  for (int v = 17; v >= 12; v--) {
    char p[300];
    snprintf(dir, sizeof dir, "/usr/lib/postgresql/%d/bin", v);
    snprintf(p, sizeof p, "%s/postgres", dir);
    if (access(p, X_OK) == 0)
      return dir;
  }
  return NULL;
}

/* Runs argv (argv[0] relative to the PostgreSQL bindir) as the cluster's user, with output
 * appended to log_path; returns the exit status, or -1 if it could not run. */
static int run_pg_tool(char *const argv[], const char *log_path) {
  char prog[PATH_MAX];
  snprintf(prog, sizeof prog, "%s/%s", pgembed_bindir(), argv[0]);
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0)
      dup2(devnull, STDIN_FILENO);
    /* postgres must not die with flowd's terminal: it is stopped explicitly. */
    setsid();
    if (drop_privileges && (setgid(run_gid) != 0 || setuid(run_uid) != 0))
      _exit(126);
    execv(prog, argv);
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int mkdir_owned(const char *path, mode_t mode) {
  if (mkdir(path, mode) != 0 && errno != EEXIST)
    return -1;
  if (drop_privileges && chown(path, run_uid, run_gid) != 0)
    return -1;
  return 0;
}

/* A postmaster.pid whose process is gone, or is not a postgres (the pid was reused), is
 * stale. Returns the live postmaster's pid, or 0. Removes stale lock files. */
static pid_t check_pidfile(void) {
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/postmaster.pid", pg_dir);
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  long pid = 0;
  if (fscanf(f, "%ld", &pid) != 1)
    pid = 0;
  fclose(f);
  if (pid > 0 && kill((pid_t)pid, 0) == 0) {
    char comm_path[64], comm[64] = "";
    snprintf(comm_path, sizeof comm_path, "/proc/%ld/comm", pid);
    FILE *c = fopen(comm_path, "r");
    if (c) {
      if (!fgets(comm, sizeof comm, c))
        comm[0] = '\0';
      fclose(c);
    }
    if (strncmp(comm, "postgres", 8) == 0)
      return (pid_t)pid;
  }
  log_warn("removing stale postmaster.pid", "pid=%ld path=%s", pid, log_quote(path));
  unlink(path);
  snprintf(path, sizeof path, "%s/.s.PGSQL.%d.lock", sock_dir, PG_PORT);
  unlink(path);
  return 0;
}

static int find_user(struct err_detail *d) {
  if (geteuid() != 0)
    return 0;
  struct passwd *pw = getpwnam("postgres");
  if (!pw)
    return err_set(d, ERR_INVAL, "", "flowd runs as root and there is no \"postgres\" user to "
                   "run the embedded cluster as: apt-get install postgresql-15, or set FLOWD_DB");
  drop_privileges = 1;
  run_uid = pw->pw_uid;
  run_gid = pw->pw_gid;
  return 0;
}

static int set_paths(const char *data_dir, struct err_detail *d) {
  char abs_data[PATH_MAX];
  if (mkdir(data_dir, 0755) != 0 && errno != EEXIST)
    return err_set(d, ERR_IO, "", "cannot create data folder %s: %s", data_dir, strerror(errno));
  if (!realpath(data_dir, abs_data))
    return err_set(d, ERR_IO, "", "cannot resolve data folder %s: %s", data_dir, strerror(errno));
  if (drop_privileges)
    chmod(abs_data, 0755); /* the postgres user must be able to reach DATA/pg */
  snprintf(pg_dir, sizeof pg_dir, "%s/pg", abs_data);
  /* A unix socket path must fit in 107 bytes. */
  if (strlen(pg_dir) + sizeof "/.s.PGSQL.5432.lock" < 100) {
    snprintf(sock_dir, sizeof sock_dir, "%s", pg_dir);
  } else {
    unsigned long h = 5381;
    for (const char *p = pg_dir; *p; p++)
      h = h * 33 + (unsigned char)*p;
    snprintf(sock_dir, sizeof sock_dir, "/tmp/flowd-pg-%lx", h);
  }
  return 0;
}

static int init_cluster(struct err_detail *d) {
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/PG_VERSION", pg_dir);
  if (access(path, F_OK) == 0)
    return 0;
  if (mkdir_owned(pg_dir, 0700) != 0)
    return err_set(d, ERR_IO, "", "cannot create %s: %s", pg_dir, strerror(errno));
  char log_path[PATH_MAX + 32];
  snprintf(log_path, sizeof log_path, "%s/../initdb.log", pg_dir);
  log_info("creating the embedded PostgreSQL cluster", "dir=%s", log_quote(pg_dir));
  char *argv[] = {"initdb", "-D", pg_dir, "-U", "flowd", "-A", "trust", "-E", "UTF8",
                  "--locale=C", NULL};
  if (run_pg_tool(argv, log_path) != 0)
    return err_set(d, ERR_IO, "", "initdb failed for %s; see %s", pg_dir, log_path);
  return 0;
}

static int start_server(struct err_detail *d) {
  if (check_pidfile() > 0) {
    log_info("adopting the running embedded PostgreSQL", "dir=%s", log_quote(pg_dir));
    return 0;
  }
  if (strcmp(sock_dir, pg_dir) != 0 && mkdir_owned(sock_dir, 0700) != 0)
    return err_set(d, ERR_IO, "", "cannot create %s: %s", sock_dir, strerror(errno));
  /* postgres writes its own log (as the cluster's user); pg_ctl's output goes beside it. */
  char opts[PATH_MAX + 128], log_path[PATH_MAX + 32], tool_log[PATH_MAX + 32];
  snprintf(opts, sizeof opts, "-k '%s' -p %d -c listen_addresses=''", sock_dir, PG_PORT);
  snprintf(log_path, sizeof log_path, "%s/postgres.log", pg_dir);
  snprintf(tool_log, sizeof tool_log, "%s/../pg_ctl.log", pg_dir);
  char *argv[] = {"pg_ctl", "-D", pg_dir, "-w", "-t", "60", "-l", log_path, "-o", opts,
                  "start", NULL};
  int rc = run_pg_tool(argv, tool_log);
  if (rc != 0)
    return err_set(d, ERR_IO, "", "postgres did not start (pg_ctl exit %d); see %s and %s",
                   rc, tool_log, log_path);
  return 0;
}

/* The cluster has a "postgres" database; flowd keeps its data in "flowd". */
static int ensure_database(struct err_detail *d) {
  char ci[PATH_MAX + 128];
  snprintf(ci, sizeof ci, "host=%s port=%d user=flowd dbname=postgres", sock_dir, PG_PORT);
  PGconn *c = PQconnectdb(ci);
  if (PQstatus(c) != CONNECTION_OK) {
    int rc = err_set(d, ERR_DBDOWN, "", "cannot connect to the embedded cluster: %s",
                     PQerrorMessage(c));
    PQfinish(c);
    return rc;
  }
  PGresult *r = PQexec(c, "SELECT 1 FROM pg_database WHERE datname = 'flowd'");
  int exists = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
  PQclear(r);
  int rc = 0;
  if (!exists) {
    r = PQexec(c, "CREATE DATABASE flowd");
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
      rc = err_set(d, ERR_DB, "", "CREATE DATABASE flowd: %s", PQerrorMessage(c));
    PQclear(r);
  }
  PQfinish(c);
  return rc;
}

int pgembed_start(const char *data_dir, char *conninfo, size_t len, struct err_detail *d) {
  if (!pgembed_bindir())
    return err_set(d, ERR_NOTFOUND, "",
                   "PostgreSQL server binaries not found (in %s): install them with "
                   "\"apt-get install postgresql-15\", or set FLOWD_DB to use a server",
                   getenv("FLOWD_PG_BINDIR") && *getenv("FLOWD_PG_BINDIR")
                       ? getenv("FLOWD_PG_BINDIR") : "/usr/lib/postgresql/*/bin");
  int rc;
  if ((rc = find_user(d)) || (rc = set_paths(data_dir, d)) || (rc = init_cluster(d)) ||
      (rc = start_server(d)))
    return rc;
  started = 1;
  if ((rc = ensure_database(d)))
    return rc;
  snprintf(conninfo, len, "host=%s port=%d user=flowd dbname=flowd", sock_dir, PG_PORT);
  log_info("embedded PostgreSQL is up", "dir=%s socket=%s", log_quote(pg_dir),
           log_quote(sock_dir));
  return 0;
}

void pgembed_stop(void) {
  if (!started)
    return;
  started = 0;
  char log_path[PATH_MAX + 32];
  snprintf(log_path, sizeof log_path, "%s/../pg_ctl.log", pg_dir);
  char *argv[] = {"pg_ctl", "-D", pg_dir, "-w", "-t", "60", "-m", "fast", "stop", NULL};
  int rc = run_pg_tool(argv, log_path);
  if (rc != 0)
    log_warn("pg_ctl stop failed", "exit=%d dir=%s", rc, log_quote(pg_dir));
  else
    log_info("embedded PostgreSQL stopped", "dir=%s", log_quote(pg_dir));
}
