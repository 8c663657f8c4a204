/* ws: the websocket hub on GET /ws (same libwebsockets server and loop as HTTP).
 *
 * Clients subscribe to topics (flow:<id>, run:<id>, runs, presence, staff:<id>); anything in
 * flowd publishes a message to a topic with ws_publish. Messages reach the subscribers of
 * this process directly and those of every other flowd process on the database through
 * PostgreSQL NOTIFY (batched per loop turn, in order; only while some other process has
 * subscribers). Each client has a bounded queue: a slow
 * client loses old run-progress messages and is told so ("lagged"), and never slows anything
 * else. Writes happen only in the writeable callback: each one sends the queue's oldest
 * messages, up to 128 KiB of frames, in one write.
 *
 * Client frames: {"op":"subscribe"|"unsubscribe","topic":T}; the server answers
 * {"topic":T,"type":"subscribed"|"unsubscribed"} (messages published after that answer, by any
 * process, reach the client: the first subscriber of a process waits for its answer until the
 * other processes have acknowledged that they send again, usually a few milliseconds) or
 * {"type":"error","code","message"[,"topic"]}. Codes: bad_json, bad_frame,
 * unknown_op, unknown_topic, forbidden, too_many_subscriptions, internal, too_large (frames
 * over 64 KiB; the connection is then closed with 1009). Upgrades without valid credentials
 * (?token=, Authorization: Bearer, or the session cookie) are refused with HTTP 401.
 *
 * A client's queue holds at most 1,000 messages or 1 MiB (besides up to 128 KiB of frames
 * already handed to a socket that did not take them yet). When it is full, the oldest
 * node.started/node.finished messages go first (then, only if that is not enough, the oldest
 * of any type), and each topic that lost some gets one {"topic":T,"type":"lagged",
 * "dropped":N} in the place of its first lost message: the client should refetch T.
 *
 * How messages travel between processes (NOTIFY on channel "flowd_ws", its payload format, gap
 * detection) is in ws_peers.h; messages are rendered once (ws_msg.h) and queued per client
 * (ws_queue.h); ws_topics.h keeps who subscribes to what. */
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

/* Whether a message published to topic now would go anywhere (a subscriber here, or other
 * processes being sent to); when not, it counts as withheld (ws_peers_withhold). Lets a
 * publisher skip building messages nobody will get. */
int ws_wanted(const char *topic);
/* Whether any message published now could go anywhere (a subscription here to any topic, or
 * other processes being sent to); when not, it counts as withheld. The check a publisher of
 * many messages makes before it names their topics. */
int ws_wanted_any(void);

/* Closes every client and stops the hub (shutdown). */
void ws_shutdown(void);

/* Presence: fn(ud, staff_id, 1) when a client authenticated as a staff member connects and
 * fn(ud, staff_id, 0) when it disconnects (once per connection; a member may hold several).
 * fn may be NULL to remove the hook. */
void ws_set_connection_hook(void (*fn)(void *ud, const char *staff_id, int connected),
                            void *ud);

#endif
