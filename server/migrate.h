/* migrate: applies schema/NNN_name.sql (embedded in the binary) in order at start-up.
 * Each migration runs in its own transaction and is recorded in schema_migrations. An
 * advisory lock makes several flowd processes starting together on one database take turns.
 * A database migrated by a newer flowd (a version this binary does not know) is refused.
 * Blocking: runs before the loop starts. */
#ifndef FLOWD_MIGRATE_H
#define FLOWD_MIGRATE_H
#include "graph/err.h"

/* Connects to conninfo (retrying for up to wait_s seconds while the server is unreachable),
 * applies what is missing, and sets *version to the schema version now in force.
 * Returns 0, ERR_DBDOWN (unreachable), ERR_BADSTATE (schema newer than this binary; detail says
 * so) or ERR_DB (a migration failed; nothing of it was applied). */
int migrate_run(const char *conninfo, int wait_s, int *version, struct err_detail *detail);

/* The same, applying only the migrations numbered up to upto (tests of an upgrade). */
int migrate_run_upto(const char *conninfo, int wait_s, int upto, int *version,
                     struct err_detail *detail);

/* The newest migration this binary carries. */
int migrate_latest(void);

#endif
