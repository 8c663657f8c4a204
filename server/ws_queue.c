/* ws_queue: a client's bounded queue (see ws_queue.h). Invariants: len <= WS_QUEUE_MAX_MSGS
 * and bytes <= WS_QUEUE_MAX_BYTES after every add; every WS_MSG_LAGGED entry in q is also on
 * the lags list, and there is at most one per topic. */
#include <stdlib.h>
#include <string.h>
#include "graph/err.h"
#include "server/ws_queue.h"

static struct ws_msg *lag_find(struct ws_queue *q, const char *topic) {
  struct ws_msg *m = q->lags;
  while (m && strcmp(m->topic, topic) != 0)
    m = m->next;
  return m;
}

static void lag_unlink(struct ws_queue *q, struct ws_msg *lag) {
  struct ws_msg **pp = &q->lags;
  while (*pp && *pp != lag)
    pp = &(*pp)->next;
  if (*pp)
    *pp = lag->next;
}

static int push(struct ws_queue *q, struct ws_msg *m) {
  if (q->head + q->len == q->cap) {
    if (q->head > 0) {
      memmove(q->q, q->q + q->head, q->len * sizeof *q->q);
      q->head = 0;
    } else {
      size_t cap = q->cap ? q->cap * 2 : 8;
      struct ws_msg **a = realloc(q->q, cap * sizeof *a);
      if (!a)
        return ERR_NOMEM;
      q->q = a;
      q->cap = cap;
    }
  }
  q->q[q->head + q->len++] = m;
  q->bytes += ws_msg_weight(m);
  return 0;
}

struct ws_msg *ws_queue_pop(struct ws_queue *q) {
  if (!q->len)
    return NULL;
  struct ws_msg *m = q->q[q->head++];
  if (--q->len == 0)
    q->head = 0;
  q->bytes -= ws_msg_weight(m);
  if (m->kind == WS_MSG_LAGGED)
    lag_unlink(q, m);
  return m;
}

void ws_queue_clear(struct ws_queue *q) {
  struct ws_msg *m;
  while ((m = ws_queue_pop(q)))
    ws_msg_unref(m);
  free(q->q);
  q->q = NULL;
  q->cap = 0;
}

static int over(const struct ws_queue *q, size_t max_msgs, size_t max_bytes, size_t need) {
  return q->len >= max_msgs || q->bytes + need > max_bytes;
}

/* Counts n lost messages of topic on its lagged note. Returns a new note when there was
 * none (listed in q->lags; the caller puts it in the queue), else NULL. */
static struct ws_msg *count_dropped(struct ws_queue *q, const char *topic, long n) {
  struct ws_msg *lag = lag_find(q, topic);
  if (lag) {
    lag->dropped += n;
    return NULL;
  }
  if (!topic[0])
    return NULL; /* an error reply: nothing to refetch */
  lag = ws_msg_new(WS_MSG_LAGGED, 0, topic);
  if (!lag)
    return NULL;
  lag->dropped = n;
  lag->next = q->lags;
  q->lags = lag;
  return lag;
}

/* Drops entries, oldest first, until the queue is down to 7/8 of its bounds with `need`
 * bytes to spare (dropping more than one at a time keeps a persistently slow client cheap).
 * any = 0 drops only run progress; any = 1 everything but lagged notes. */
static void compact(struct ws_queue *q, int any, size_t need) {
  size_t max_msgs = WS_QUEUE_MAX_MSGS * 7 / 8, max_bytes = WS_QUEUE_MAX_BYTES * 7 / 8;
  size_t end = q->head + q->len, w = 0;
  for (size_t i = q->head; i < end; i++) {
    struct ws_msg *m = q->q[i];
    int droppable = m->kind == WS_MSG_PROGRESS || (any && m->kind == WS_MSG_KEEP);
    if (!droppable || !over(q, max_msgs, max_bytes, need)) {
      q->q[w++] = m;
      continue;
    }
    q->bytes -= ws_msg_weight(m);
    struct ws_msg *lag = count_dropped(q, m->topic, 1);
    ws_msg_unref(m);
    if (lag) {
      q->q[w++] = lag;
      q->bytes += ws_msg_weight(lag);
    } else {
      q->len--;
    }
  }
  q->head = 0;
}

/* Makes room for one more entry of `need` bytes; WS_QUEUE_STUCK (and an empty queue) when
 * only lagged notes are left. */
static int make_room(struct ws_queue *q, size_t need) {
  if (!over(q, WS_QUEUE_MAX_MSGS, WS_QUEUE_MAX_BYTES, need))
    return 0;
  compact(q, 0, need);
  if (over(q, WS_QUEUE_MAX_MSGS, WS_QUEUE_MAX_BYTES, need))
    compact(q, 1, need);
  if (!over(q, WS_QUEUE_MAX_MSGS, WS_QUEUE_MAX_BYTES, need))
    return 0;
  ws_queue_clear(q);
  return WS_QUEUE_STUCK;
}

/* Appends m, taking over the caller's reference (also on failure). */
static int take(struct ws_queue *q, struct ws_msg *m) {
  if (push(q, m) != 0) {
    if (m->kind == WS_MSG_LAGGED)
      lag_unlink(q, m);
    ws_msg_unref(m);
    return WS_QUEUE_ADDED;
  }
  return q->len == 1 ? WS_QUEUE_FIRST : WS_QUEUE_ADDED;
}

int ws_queue_add(struct ws_queue *q, struct ws_msg *m) {
  if (make_room(q, ws_msg_weight(m)) != 0)
    return WS_QUEUE_STUCK;
  m->refs++;
  return take(q, m);
}

int ws_queue_missed(struct ws_queue *q, const char *topic, long n) {
  struct ws_msg *lag = lag_find(q, topic);
  if (lag) {
    lag->dropped += n;
    return WS_QUEUE_ADDED;
  }
  if (make_room(q, 64 + strlen(topic)) != 0)
    return WS_QUEUE_STUCK;
  lag = count_dropped(q, topic, n); /* NULL if making room made one */
  return lag ? take(q, lag) : WS_QUEUE_ADDED;
}
