/* presence: whether a staff member is online, for assignment and for the editor.
 *
 * A staff member is online while their API flag is set (PUT /api/staff/{id}/presence, or an
 * event) OR while they have an open authenticated websocket on any flowd process. The result
 * is kept in staff_presence.online (schema/003_people.sql) and every flip is published as
 * "presence.changed" {staff, online, source, at} on the websocket topic "presence", by the
 * process that made it.
 *
 * Websockets are counted per process in memory; the database holds one presence_sockets row
 * per (process, staff member) while the count is above zero. A disconnect starts a grace
 * period (PRESENCE_GRACE_MS) before the row goes, so a page reload does not flap presence.
 * Each process refreshes its rows every 30 s and removes rows of processes that stopped
 * refreshing (died) after 90 s. */
#ifndef FLOWD_PRESENCE_H
#define FLOWD_PRESENCE_H

struct server;
struct db_batch;
struct db_result;

#define PRESENCE_GRACE_MS 5000

/* Starts the heartbeat (and a first sweep of dead processes' rows). */
int presence_start(struct server *srv);
/* Closes every timer; database answers that arrive later are dropped. */
void presence_stop(void);

/* Reports a presence change. source "ws": one authenticated websocket of staff_id opened
 * (online=1) or closed (online=0) on this process; the hub calls it once per connection and
 * once per disconnection. Any other source ("api", "event", ...) sets the staff member's API
 * flag. The database work and the publishing happen later; an unknown staff id is ignored.
 * Returns 0, or ERR_INVAL for a missing/over-long staff id or source. */
int presence_set(struct server *srv, const char *staff_id, int online, const char *source);

/* For PUT /api/staff/{id}/presence: adds to b the statements that set the API flag of
 * staff_id (statement +0 returns one row when the staff member exists), recompute presence
 * (+1) and read the result (+2, one JSON column: presence_json form). */
void presence_batch_api(struct db_batch *b, const char *staff_id, int online,
                        const char *source);
/* Publishes the flips returned by statement stmt of r (a recompute statement). */
void presence_publish(const struct db_result *r, int stmt);

/* SQL: the presence JSON of staff_presence row p (alias) joined with staff s. */
#define PRESENCE_JSON                                                                     \
  "json_build_object('staff', s.id, 'name', s.name, 'online', coalesce(p.online, false), " \
  "'api_online', coalesce(p.api_online, false), 'sockets', (SELECT count(*) FROM "        \
  "presence_sockets k WHERE k.staff_id = s.id AND k.seen_at > now() - interval "         \
  "'90 seconds'), 'changed_at', p.changed_at, 'source', p.source)"

#endif
