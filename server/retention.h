/* retention: keeps the partitions of run history (events, runs, steps), each holding a
 * period of min(7, retention / 4) days: creates those of the days ahead and drops a period
 * once all its days are older than the retention (FLOWD_RETENTION) and none of its runs is
 * still running or waiting. Runs at start and every hour; several processes take turns in
 * the database (schema/012_history_periods.sql). */
#ifndef FLOWD_RETENTION_H
#define FLOWD_RETENTION_H

struct server;

/* Blocking, before the loop starts and before any event is taken: makes the partitions of
 * the days ahead (and drops expired periods), so that after a long stop no row of today
 * lands in the default partition (which would then keep today's partition from being
 * made). A failure is logged, and retention_init's timer then tries again at once. */
void retention_prepare(const char *conninfo, int retention_days);

int retention_init(struct server *srv);
void retention_shutdown(void);

#endif
