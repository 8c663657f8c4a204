/* ws_queue: one websocket client's bounded queue of messages waiting to be written.
 *
 * It holds at most WS_QUEUE_MAX_MSGS entries weighing at most WS_QUEUE_MAX_BYTES. Making room
 * drops the oldest run progress first (node.started/node.finished), then, only if that is not
 * enough, the oldest of any type; every dropped message is counted in one lagged note per
 * topic ({"topic":T,"type":"lagged","dropped":N}), which sits where the first dropped message
 * of that topic was. A queue that holds nothing but lagged notes and still has no room belongs
 * to a client that stopped reading: the caller should close it. */
#ifndef FLOWD_WS_QUEUE_H
#define FLOWD_WS_QUEUE_H
#include <stddef.h>
#include "server/ws_msg.h"

/* One group commit of run segments publishes up to ~3,200 messages at once (400 runs x 8)
 * to a client watching their flow: the count allows such a burst; the bytes bound memory. */
#define WS_QUEUE_MAX_MSGS 4096
#define WS_QUEUE_MAX_BYTES (1024 * 1024)

struct ws_queue {
  struct ws_msg **q; /* q[head .. head + len) */
  size_t cap, head, len, bytes;
  struct ws_msg *lags; /* the WS_MSG_LAGGED entries now in q */
};

/* What adding returns: the caller asks for a write on WS_QUEUE_FIRST and closes the client
 * on WS_QUEUE_STUCK (the queue was emptied). */
enum { WS_QUEUE_STUCK = -1, WS_QUEUE_ADDED = 0, WS_QUEUE_FIRST = 1 };

/* Appends m (with a reference of its own), making room as described above. An entry that
 * cannot be stored for want of memory is dropped silently. */
int ws_queue_add(struct ws_queue *q, struct ws_msg *m);

/* Notes that n messages of topic were lost before they reached this process. */
int ws_queue_missed(struct ws_queue *q, const char *topic, long n);

/* The oldest entry (the caller gets its reference), or NULL when empty. */
struct ws_msg *ws_queue_pop(struct ws_queue *q);

/* Drops every entry and frees the queue's memory (it may be used again). */
void ws_queue_clear(struct ws_queue *q);

#endif
