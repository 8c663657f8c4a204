/* retention: keeps the day partitions of run history: creates the days ahead and drops the
 * days older than the retention (FLOWD_RETENTION) once none of their runs is still running
 * or waiting. Runs at start and every hour; several processes take turns in the database. */
#ifndef FLOWD_RETENTION_H
#define FLOWD_RETENTION_H

struct server;

int retention_init(struct server *srv);
void retention_shutdown(void);

#endif
