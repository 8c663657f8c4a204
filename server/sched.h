/* sched: fires the trigger.schedule nodes of active flows.
 *
 * The schedules live in the database (flow_schedules, schema/007_schedules.sql), kept in
 * step with activation, each with its next due time. One timer on the loop is armed for the
 * earliest due time (and at most a few seconds ahead, so that changes made by another flowd
 * process are seen even if their NOTIFY was missed); activation changes (NOTIFY flowd_flows)
 * re-arm it at once. When it fires, one call of flowd_fire_schedules() claims the due
 * schedules with FOR UPDATE SKIP LOCKED and, in the same transaction, stores their
 * schedule.fired events, creates their runs leased to this process and advances their due
 * times, so each due time starts exactly one run across every process on the database. The
 * runs then go to the executor (exec_take). */
#ifndef FLOWD_SCHED_H
#define FLOWD_SCHED_H

struct server;

/* Starts the scheduler of this process (after exec_init: the runs are leased to
 * exec_owner()). Returns 0 or a negative ERR_* code. */
int sched_init(struct server *srv);

/* Fires nothing more; a firing already sent to the database still hands its runs to the
 * executor when it completes (sched_pending() says whether one is under way). */
void sched_shutdown(void);

/* 1 while a firing is in flight in the database (for drain), else 0. */
int sched_pending(void);

/* Runs this process started from schedules since it started (for /metrics). */
unsigned long long sched_fired(void);

#endif
