/* ws_peers: the websocket hub's link to the other flowd processes on the same database.
 *
 * Messages published here reach the other processes' clients through PostgreSQL NOTIFY on
 * channel "flowd_ws", and theirs arrive through LISTEN on the pool's listener connection. A
 * process sends its messages only while another process has subscribers (or while it cannot
 * tell): with one flowd, or nobody watching elsewhere, nothing goes to the database. Sending
 * is batched: while one batch of NOTIFYs is in flight, the next collects everything published
 * meanwhile, so other processes see our messages in order and the database sees one short
 * transaction per batch (committed without waiting for the WAL flush).
 *
 * Payloads (JSON objects of at most 7,900 bytes; origin is the sender's random 64-bit id in
 * 16 hex digits; receivers drop their own except heartbeats):
 *   {"origin":O,"seq":S,"msgs":[M, ...]}  messages, each exactly as clients receive it
 *       ({"topic","type",...}); S numbers the first M (0, 1, 2, ... per origin, counting only
 *       messages sent). A receiver that sees S jump past the next number it expected from O
 *       lost messages and tells its clients, per subscribed topic, {"type":"lagged",
 *       "dropped":N}. A message too big for one payload travels as {"topic":T,"type":"lagged",
 *       "dropped":1}: the receivers' clients refetch instead.
 *   {"origin":O,"hb":1,"watching":W,"sending":S,"withheld":H[,"ask":A][,"hello":1]}
 *       a heartbeat, every 5 s (FLOWD_WS_HEARTBEAT_MS): W is whether O has subscribers, S
 *       whether it sends its messages now, H whether it ever did not. With "ask", O has just
 *       got its first subscriber and holds the "subscribed" answer until every process it
 *       knows has acknowledged that it now sends its messages; "hello" (a process that just
 *       started) asks every process for a heartbeat at once.
 *   {"origin":O,"ack":A,"to":P}  O has seen P's ask A and sends everything from now on.
 *
 * Rules. A process sends messages while (a) some process heard within 3 heartbeats says
 * it watches, or (b) it does not know who watches: for 2.5 heartbeats after its own
 * heartbeats start coming back through LISTEN (time to hear every live process), and whenever
 * they stop coming back (then it cannot hear the others either). A process that gets its
 * first subscriber answers it once every process heard within 3 heartbeats has acknowledged
 * its ask (at its own start, it first waits 250 ms for answers to its hello); one that does
 * not within 2/5 of a heartbeat is given up on. An ack that comes later than that, or a
 * process heard of for the first time (or again, after 3 silent heartbeats) that has held
 * messages back before, makes every client refetch, as after a gap. Processes that start
 * meanwhile send everything while they learn. So once a client has its "subscribed" answer,
 * every process sends what it publishes next, or the client is told to refetch. */
#ifndef FLOWD_WS_PEERS_H
#define FLOWD_WS_PEERS_H
#include <stdint.h>
#include "server/ws_msg.h"

struct server;

/* What the hub does with what other processes send. */
struct ws_peers_hooks {
  /* Whether topic has subscribers here (other messages are not even copied). */
  int (*wanted)(const char *topic);
  /* Gives m to this process's subscribers (the caller keeps its reference). */
  void (*deliver)(struct ws_msg *m);
  /* n messages from another process never arrived: every client should refetch. */
  void (*missed)(long n);
  /* The processes have all acknowledged our subscribers (see ws_peers_watch). */
  void (*confirmed)(void);
};

/* LISTENs for the other processes' messages and starts the heartbeat; hooks must stay
 * valid. Call once the db pool exists. Returns 0 or an error code. */
int ws_peers_init(struct server *srv, const struct ws_peers_hooks *hooks);

/* This process's origin id (random, fixed at init). */
uint64_t ws_peers_origin(void);

/* Queues m for the other processes (takes a reference of its own) if any of them watches.
 * Never blocks: while the database is slow or away, up to 20,000 messages or 16 MiB wait;
 * past that they are dropped and the gap in numbers tells the receivers. */
void ws_peers_send(struct ws_msg *m);

/* Notes that a message was published and not given to ws_peers_send because it would not
 * have been sent (nobody here subscribes to it and ws_peers_sending() is 0). */
void ws_peers_withhold(void);

/* Whether this process has subscribers (the hub calls it when that changes). Going from 0 to
 * 1 starts an ask; until hooks->confirmed, new subscribers should not be answered. */
void ws_peers_watch(int watching);

/* Whether no ask is pending: a new subscriber may be answered now. */
int ws_peers_confirmed(void);

/* Whether messages are being sent to other processes now (for tests and metrics). */
int ws_peers_sending(void);

/* Drops what is queued and stops (shutdown). */
void ws_peers_shutdown(void);

#endif
