/* migrate: schema migrations with an advisory lock. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "server/embedded.h"
#include "server/log.h"
#include "server/migrate.h"

#define MIGRATE_LOCK_KEY 7463520011 /* any constant shared by every flowd */

/* The version of an embedded migration path "schema/NNN_name.sql", or -1. */
static int version_of(const char *path) {
  if (strncmp(path, "schema/", 7) != 0 || strchr(path + 7, '/'))
    return -1;
  const char *name = path + 7;
  size_t len = strlen(name);
  if (len < 5 || strcmp(name + len - 4, ".sql") != 0)
    return -1;
  char *end;
  long v = strtol(name, &end, 10);
  return end != name && *end == '_' ? (int)v : -1;
}

int migrate_latest(void) {
  int latest = 0;
  for (const struct embedded_file *f = embedded_files; f->path; f++) {
    int v = version_of(f->path);
    if (v > latest)
      latest = v;
  }
  return latest;
}

static int exec_ok(PGconn *c, const char *sql, struct err_detail *d) {
  PGresult *r = PQexec(c, sql);
  ExecStatusType st = PQresultStatus(r);
  int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
  if (!ok)
    err_set(d, ERR_DB, "", "%s", PQerrorMessage(c));
  PQclear(r);
  return ok ? 0 : ERR_DB;
}

static PGconn *connect_with_retry(const char *conninfo, int wait_s, struct err_detail *d) {
  int waited_ms = 0, delay_ms = 100;
  for (;;) {
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) == CONNECTION_OK)
      return c;
    if (waited_ms >= wait_s * 1000) {
      err_set(d, ERR_DBDOWN, "", "cannot connect to PostgreSQL: %s", PQerrorMessage(c));
      PQfinish(c);
      return NULL;
    }
    if (waited_ms == 0)
      log_warn("waiting for PostgreSQL", "reason=%s", log_quote(PQerrorMessage(c)));
    PQfinish(c);
    usleep(delay_ms * 1000);
    waited_ms += delay_ms;
    delay_ms = delay_ms * 2 > 2000 ? 2000 : delay_ms * 2;
  }
}

/* Runs sql (with one text parameter, or none) and reads the first column of its first row
 * as a number into *out (0 when there is no row). */
static int query_int(PGconn *c, const char *sql, const char *param, int *out,
                     struct err_detail *d) {
  const char *params[1] = {param};
  PGresult *r = PQexecParams(c, sql, param ? 1 : 0, NULL, param ? params : NULL, NULL, NULL, 0);
  int rc = 0;
  if (PQresultStatus(r) == PGRES_TUPLES_OK)
    *out = PQntuples(r) > 0 ? atoi(PQgetvalue(r, 0, 0)) : 0;
  else
    rc = err_set(d, ERR_DB, "", "%s", PQerrorMessage(c));
  PQclear(r);
  return rc;
}

static int apply(PGconn *c, const struct embedded_file *f, int v, struct err_detail *d) {
  log_info("applying migration", "file=%s", f->path);
  int rc = exec_ok(c, "BEGIN", d);
  if (rc)
    return rc;
  PGresult *r = PQexec(c, f->data);
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    rc = err_set(d, ERR_DB, "", "migration %s failed: %s", f->path, PQerrorMessage(c));
    PQclear(r);
    exec_ok(c, "ROLLBACK", NULL);
    return rc;
  }
  PQclear(r);
  char vbuf[16];
  snprintf(vbuf, sizeof vbuf, "%d", v);
  const char *params[2] = {vbuf, f->path + 7};
  r = PQexecParams(c, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2, NULL,
                   params, NULL, NULL, 0);
  if (PQresultStatus(r) != PGRES_COMMAND_OK)
    rc = err_set(d, ERR_DB, "", "recording migration %s: %s", f->path, PQerrorMessage(c));
  PQclear(r);
  if (rc) {
    exec_ok(c, "ROLLBACK", NULL);
    return rc;
  }
  return exec_ok(c, "COMMIT", d);
}

static int migrate_locked(PGconn *c, int upto, int *version, struct err_detail *d) {
  int rc = exec_ok(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                      " version int PRIMARY KEY, name text NOT NULL,"
                      " applied_at timestamptz NOT NULL DEFAULT now())", d);
  int cur = 0;
  if (rc || (rc = query_int(c, "SELECT coalesce(max(version), 0) FROM schema_migrations", NULL,
                            &cur, d)))
    return rc;
  int latest = migrate_latest();
  if (cur > latest)
    return err_set(d, ERR_BADSTATE, "",
                   "the database schema is at version %d, newer than this flowd knows (%d): it "
                   "was migrated by a newer flowd; run that version or a newer one", cur, latest);
  /* Every embedded migration the database has not had yet, in order: also one numbered
   * below the latest applied (two branches that each added a migration). embedded_files is
   * sorted by path, and paths sort by their zero-padded number. */
  for (const struct embedded_file *f = embedded_files; f->path; f++) {
    int v = version_of(f->path);
    if (v < 0 || v > upto)
      continue;
    char vbuf[16];
    snprintf(vbuf, sizeof vbuf, "%d", v);
    int have = 0;
    if ((rc = query_int(c, "SELECT count(*) FROM schema_migrations WHERE version = $1::int",
                        vbuf, &have, d)))
      return rc;
    if (have)
      continue;
    if ((rc = apply(c, f, v, d)))
      return rc;
    if (v > cur)
      cur = v;
  }
  *version = cur;
  return 0;
}

/* "relation already exists, skipping" and the like are not worth a line on stderr. */
static void quiet_notice(void *arg, const char *msg) { (void)arg, (void)msg; }

int migrate_run(const char *conninfo, int wait_s, int *version, struct err_detail *d) {
  return migrate_run_upto(conninfo, wait_s, migrate_latest(), version, d);
}

int migrate_run_upto(const char *conninfo, int wait_s, int upto, int *version,
                     struct err_detail *d) {
  PGconn *c = connect_with_retry(conninfo, wait_s, d);
  if (!c)
    return ERR_DBDOWN;
  PQsetNoticeProcessor(c, quiet_notice, NULL);
  char lock[96];
  snprintf(lock, sizeof lock, "SELECT pg_advisory_lock(%lld)", (long long)MIGRATE_LOCK_KEY);
  int rc = exec_ok(c, lock, d);
  if (!rc) {
    rc = migrate_locked(c, upto, version, d);
    snprintf(lock, sizeof lock, "SELECT pg_advisory_unlock(%lld)", (long long)MIGRATE_LOCK_KEY);
    exec_ok(c, lock, NULL);
  }
  PQfinish(c);
  return rc;
}
