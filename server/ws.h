/* ws: the websocket hub on GET /ws (same libwebsockets server and loop as HTTP).
 *
 * Clients subscribe to topics (flow:<id>, run:<id>, runs, presence, staff:<id>); anything in
 * flowd publishes a message to a topic with ws_publish. Messages reach the subscribers of
 * this process directly and those of every other flowd process on the database through
 * PostgreSQL NOTIFY (batched per loop turn, in order). Each client has a bounded queue: a slow
 * client loses old run-progress messages and is told so ("lagged"), and never slows anything
 * else. Writes happen only in the writeable callback.
 *
 * Client frames: {"op":"subscribe"|"unsubscribe","topic":T}; the server answers
 * {"topic":T,"type":"subscribed"|"unsubscribed"} (messages published after that answer reach
 * the client) or {"type":"error","code","message"[,"topic"]}. Codes: bad_json, bad_frame,
 * unknown_op, unknown_topic, forbidden, too_many_subscriptions, internal, too_large (frames
 * over 64 KiB; the connection is then closed with 1009). Upgrades without valid credentials
 * (?token=, Authorization: Bearer, or the session cookie) are refused with HTTP 401.
 *
 * A client's queue holds at most 1,000 messages or 1 MiB. When it is full, the oldest
 * node.started/node.finished messages go first (then, only if that is not enough, the oldest
 * of any type), and each topic that lost some gets one {"topic":T,"type":"lagged",
 * "dropped":N} in the place of its first lost message: the client should refetch T.
 *
 * Cross-process format (channel "flowd_ws"). Each NOTIFY payload is one JSON object of at most
 * 7,900 bytes:
 *   {"origin":"<16 hex digits>","seq":S,"msgs":[M, M, ...]}
 * origin is the sending process's random 64-bit id (receivers drop their own); each M is a
 * complete message exactly as clients receive it ({"topic","type",...}); S is the sender's
 * number of the first M (messages are numbered 0, 1, 2, ... per origin, consecutively within
 * one payload). A receiver that sees S jump past the next number it expected from that origin
 * lost messages (database outage, sender overload) and tells each of its clients, per
 * subscribed topic, {"type":"lagged","dropped":N}. A message too big for one payload travels
 * as {"topic":T,"type":"lagged","dropped":1}: the receivers' clients refetch instead. */
#ifndef FLOWD_WS_H
#define FLOWD_WS_H
#include <cjson/cJSON.h>

struct server;
struct lws_protocols;

/* Starts the hub: LISTENs for other processes' messages. Call after the db pool exists. */
int ws_init(struct server *srv);

/* The libwebsockets protocol entry for "/ws" (http.c puts it in its protocol table). */
const struct lws_protocols *ws_protocol(void);

/* Publishes msg (takes ownership) to topic; type becomes msg's "type" and topic its "topic".
 * Never blocks and never fails the caller: without subscribers the message is dropped. */
void ws_publish(const char *topic, const char *type, cJSON *msg);

/* Closes every client and stops the hub (shutdown). */
void ws_shutdown(void);

/* Presence: fn(ud, staff_id, 1) when a client authenticated as a staff member connects and
 * fn(ud, staff_id, 0) when it disconnects (once per connection; a member may hold several).
 * fn may be NULL to remove the hook. */
void ws_set_connection_hook(void (*fn)(void *ud, const char *staff_id, int connected),
                            void *ud);

#endif
