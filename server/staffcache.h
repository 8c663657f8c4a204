/* staffcache: the rows action.assign reads for a fixed staff member ({id, online, staff}:
 * flowd_assign_candidates' answer for one id), kept in memory so that runs assigning to the
 * same people do not each ask the database.
 *
 * Any change to staff or staff_presence, in any process, empties the cache: the tables have
 * statement triggers that NOTIFY flowd_staff (schema/009_staff_notify.sql), and this
 * process's own writes clear it as soon as they commit (before their reply). A read that
 * started before a change must not fill the cache with what it saw: callers take the
 * generation before reading and pass it to staffcache_put, which ignores stale rows. */
#ifndef FLOWD_STAFFCACHE_H
#define FLOWD_STAFFCACHE_H
#include <cjson/cJSON.h>

struct server;

int staffcache_init(struct server *srv);
void staffcache_free(void);

/* The cached row of staff member id (borrowed, valid until the next change), or NULL. */
const cJSON *staffcache_get(const char *id);
/* The current generation: it moves on with every change. */
unsigned staffcache_generation(void);
/* Keeps a copy of row for id, unless the cache changed since generation gen. */
void staffcache_put(const char *id, const cJSON *row, unsigned gen);
/* Empties the cache (a change to staff or presence committed). */
void staffcache_clear(void);

#endif
