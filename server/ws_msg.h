/* ws_msg: a websocket hub message, rendered once into a reference-counted buffer that every
 * subscriber's queue (ws_queue) and the outbox to other processes (ws_peers) share.
 *
 * The text is {"topic":T,"type":Y,...} exactly as clients receive it, preceded by LWS_PRE
 * bytes of headroom for lws_write. A MSG_LAGGED entry is a client's own note that `dropped`
 * messages of `topic` were lost; it has no text until it is written (its count can still grow
 * while it waits in the queue). */
#ifndef FLOWD_WS_MSG_H
#define FLOWD_WS_MSG_H
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

enum ws_msg_kind {
  WS_MSG_PROGRESS, /* node.started / node.finished: dropped first when a client lags */
  WS_MSG_KEEP,     /* everything else */
  WS_MSG_LAGGED    /* a client's own note: `dropped` messages of `topic` were lost */
};

struct ws_msg {
  int refs;
  enum ws_msg_kind kind;
  long dropped;          /* WS_MSG_LAGGED */
  struct ws_msg *next;   /* the peers' outbox (shared messages) or a queue's lagged notes */
  uint64_t seq;          /* outbox: this process's number for the message */
  size_t len;            /* text length (0 for WS_MSG_LAGGED) */
  const char *topic;     /* in buf, after the text */
  unsigned char buf[];   /* LWS_PRE headroom, text, NUL, topic, NUL */
};

/* A new message of len text bytes (to be filled in through ws_msg_text) with one reference,
 * or NULL when out of memory. */
struct ws_msg *ws_msg_new(enum ws_msg_kind kind, size_t len, const char *topic);

/* The text (NUL-terminated), right after the LWS_PRE headroom. */
char *ws_msg_text(struct ws_msg *m);

/* Drops a reference; frees the message with the last one. NULL is fine. */
void ws_msg_unref(struct ws_msg *m);

/* What a message costs against a client's byte bound. */
size_t ws_msg_weight(const struct ws_msg *m);

/* WS_MSG_PROGRESS for node.started and node.finished, else WS_MSG_KEEP. */
enum ws_msg_kind ws_msg_kind_of(const char *type);

/* {"topic":T,"type":Y, ...the other members of body...} (body may be NULL; its own "topic"
 * and "type" members are removed; the caller keeps body). NULL when out of memory. */
struct ws_msg *ws_msg_render(const char *topic, const char *type, cJSON *body);

/* A message with text (takes ownership of text; NULL text gives NULL). */
struct ws_msg *ws_msg_from_text(char *text, const char *topic, enum ws_msg_kind kind);

/* {"topic":T,"type":"lagged","dropped":1} (WS_MSG_KEEP): what clients get instead of a
 * message too big to travel, so that they refetch T. */
struct ws_msg *ws_msg_refetch_hint(const char *topic);

#endif
