/* people: start-up and shutdown of what people and access keep running in the background:
 * the mirror of sessions and API keys (authdb) and presence's heartbeat and grace timers. */
#ifndef FLOWD_PEOPLE_H
#define FLOWD_PEOPLE_H

struct server;

/* Call once the database pool exists (before requests arrive). Returns 0 or ERR_*. */
int people_start(struct server *srv);
/* Call when shutting down, before the database pool closes: closes every timer. */
void people_stop(void);

#endif
