/* pgembed: flowd's own PostgreSQL cluster, used when FLOWD_DB is unset.
 *
 * The cluster lives in DATA/pg. The first start runs initdb; every start runs postgres on a
 * unix socket only (no TCP port), adopting a postgres that is still running for that folder
 * (flowd was killed) and clearing a stale postmaster.pid (postgres was killed). When flowd runs
 * as root, initdb and postgres run as the "postgres" system user, since postgres refuses root.
 * These calls block: they run before the loop starts and after it ends. */
#ifndef FLOWD_PGEMBED_H
#define FLOWD_PGEMBED_H
#include <stddef.h>
#include "graph/err.h"

/* Creates (if needed) and starts the cluster under data_dir/pg; writes a libpq connection
 * string for database "flowd" into conninfo. Returns 0 or a negative ERR_* code with the
 * reason in detail (missing binaries name the package to install). */
int pgembed_start(const char *data_dir, char *conninfo, size_t len, struct err_detail *detail);

/* Stops the cluster started (or adopted) by pgembed_start; waits until it is down. */
void pgembed_stop(void);

/* The folder of the PostgreSQL server binaries (FLOWD_PG_BINDIR or the newest
 * /usr/lib/postgresql/N/bin), or NULL when none is installed. */
const char *pgembed_bindir(void);

#endif
