/* ws: the websocket hub (see ws.h for the client protocol and the cross-process format).
 *
 * A published message is rendered once into a reference-counted buffer (struct msg) that
 * every subscriber's queue and the outbox to other processes share. Invariants:
 * - a client's queue holds at most QUEUE_MAX_MSGS entries weighing at most QUEUE_MAX_BYTES;
 *   making room drops run progress first, and every dropped message is counted in one
 *   "lagged" note per topic that sits where the first dropped message of that topic was;
 * - a non-empty queue has a writeable callback pending (requested when it became non-empty,
 *   re-requested after each write), and each writeable callback writes one frame;
 * - at most one NOTIFY batch is in flight, so other processes see our messages in order;
 * - the lws per-session data is the struct client; it is registered (in W.clients, with
 *   subscriptions) from ESTABLISHED until CLOSED. */
#include <inttypes.h>
#include <libwebsockets.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/err.h"
#include "server/auth.h"
#include "server/db.h"
#include "server/http.h" /* server.h needs struct http_route */
#include "server/log.h"
#include "server/server.h"
#include "server/ws.h"

#define QUEUE_MAX_MSGS 1000
#define QUEUE_MAX_BYTES (1024 * 1024)
#define FRAME_MAX (64 * 1024)     /* client frames; bigger ones close the connection */
#define PUBLISH_MAX (64 * 1024)   /* bigger messages travel as a refetch hint */
#define TOPIC_MAX 200
#define SUBS_MAX 256              /* subscriptions per client */
#define TOPIC_BUCKETS 1024
#define RX_CHUNK 1024             /* lws' receive buffer per connection */
#define NOTIFY_CHANNEL "flowd_ws"
#define NOTIFY_MAX 7900           /* PostgreSQL's payload limit is 8000 bytes */
#define NOTIFY_CHUNKS_MAX 64      /* payloads per batch; the rest waits for the next one */
#define OUTBOX_MAX_MSGS 20000     /* while the database is slow or away */
#define OUTBOX_MAX_BYTES (16 * 1024 * 1024)
#define PEERS_MAX 32

enum msg_kind {
  MSG_PROGRESS, /* node.started / node.finished: dropped first when a client lags */
  MSG_KEEP,     /* everything else */
  MSG_LAGGED    /* a client's own note: `dropped` messages of `topic` were lost */
};

struct msg {
  int refs;
  enum msg_kind kind;
  long dropped;       /* MSG_LAGGED */
  struct msg *next;   /* the outbox (shared messages) or the client's notes (MSG_LAGGED) */
  uint64_t seq;       /* outbox: this process's number for the message */
  size_t len;         /* text length; MSG_LAGGED is rendered when written */
  const char *topic;  /* in buf, after the text */
  unsigned char buf[]; /* LWS_PRE headroom, text, NUL, topic, NUL */
};

struct topic {
  struct topic *next; /* hash chain */
  struct sub *subs;
  char name[];
};

struct sub {
  struct client *c;
  struct topic *t;
  struct sub *tprev, *tnext; /* the topic's subscribers */
  struct sub *cnext;         /* the client's subscriptions */
};

struct client { /* libwebsockets' per-session data */
  struct lws *wsi;
  struct principal who;
  int registered;
  int closing;  /* read nothing more; close once the queue is written */
  int oversize; /* reading the rest of a frame that is too large, to drop it */
  struct client *prev, *next;
  struct sub *subs;
  int nsubs;
  struct msg **q; /* q[qhead .. qhead + qlen) */
  size_t qcap, qhead, qlen, qbytes;
  struct msg *lags; /* the MSG_LAGGED entries now in q */
  char *rx;
  size_t rxlen;
};

struct peer { /* another process, for gap detection */
  uint64_t origin, next_seq, last_used;
};

static struct {
  struct server *srv;
  struct db *db;
  int ready, closing;
  uint64_t origin;
  char own_prefix[40]; /* how our payloads begin */
  uv_idle_t flush; /* sends the outbox once per loop turn */
  struct client *clients;
  struct topic *buckets[TOPIC_BUCKETS];
  struct msg *out_head, *out_tail;
  size_t out_count, out_bytes;
  uint64_t next_seq;
  int in_flight;
  int warned_outbox, warned_notify;
  struct peer peers[PEERS_MAX];
  uint64_t peer_clock;
  void (*hook)(void *ud, const char *staff_id, int connected);
  void *hook_ud;
} W;

/* ---- messages ---- */

static struct msg *msg_new(enum msg_kind kind, size_t len, const char *topic) {
  size_t tl = strlen(topic);
  struct msg *m = malloc(sizeof *m + LWS_PRE + len + 1 + tl + 1);
  if (!m)
    return NULL;
  memset(m, 0, sizeof *m);
  m->refs = 1;
  m->kind = kind;
  m->len = len;
  m->buf[LWS_PRE + len] = '\0';
  char *t = (char *)m->buf + LWS_PRE + len + 1;
  memcpy(t, topic, tl + 1);
  m->topic = t;
  return m;
}

static char *msg_text(struct msg *m) { return (char *)m->buf + LWS_PRE; }

static void msg_unref(struct msg *m) {
  if (m && --m->refs == 0)
    free(m);
}

/* What a message costs against a client's byte bound. */
static size_t msg_weight(const struct msg *m) {
  return m->kind == MSG_LAGGED ? 64 + strlen(m->topic) : m->len;
}

static enum msg_kind kind_of(const char *type) {
  return strcmp(type, "node.started") == 0 || strcmp(type, "node.finished") == 0
             ? MSG_PROGRESS : MSG_KEEP;
}

/* Writes s as a JSON string with its quotes into out (NULL: only measures); returns its
 * length. Topics and types are short, so doing this by hand saves cJSON round trips. */
static size_t json_str(char *out, const char *s) {
  static const char hex[] = "0123456789abcdef";
  size_t n = 0;
#define PUT(ch) do { if (out) out[n] = (ch); n++; } while (0)
  PUT('"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      PUT('\\');
      PUT(*p);
    } else if (*p < 0x20) {
      PUT('\\'); PUT('u'); PUT('0'); PUT('0'); PUT(hex[*p >> 4]); PUT(hex[*p & 15]);
    } else {
      PUT(*p);
    }
  }
  PUT('"');
#undef PUT
  return n;
}

/* {"topic":T,"type":Y, ...the other members of body...}: topic and type first, as clients
 * read them. body may be NULL. */
static struct msg *render(const char *topic, const char *type, cJSON *body) {
  char *rest = NULL;
  if (body) {
    cJSON_DeleteItemFromObjectCaseSensitive(body, "topic");
    cJSON_DeleteItemFromObjectCaseSensitive(body, "type");
    rest = cJSON_PrintUnformatted(body);
  }
  int has_rest = rest && strcmp(rest, "{}") != 0;
  size_t tl = json_str(NULL, topic), yl = json_str(NULL, type);
  size_t rl = has_rest ? strlen(rest) : 1; /* ",..." replaces its "{", or just "}" */
  size_t len = 9 + tl + 8 + yl + rl;
  struct msg *m = msg_new(kind_of(type), len, topic);
  if (m) {
    char *p = msg_text(m);
    memcpy(p, "{\"topic\":", 9);
    p += 9;
    p += json_str(p, topic);
    memcpy(p, ",\"type\":", 8);
    p += 8;
    p += json_str(p, type);
    if (has_rest) {
      *p++ = ',';
      memcpy(p, rest + 1, rl - 1);
    } else {
      *p = '}';
    }
  }
  free(rest);
  return m;
}

/* A message from cJSON text (takes ownership of text). */
static struct msg *msg_from_text(char *text, const char *topic, enum msg_kind kind) {
  struct msg *m = text ? msg_new(kind, strlen(text), topic) : NULL;
  if (m)
    memcpy(msg_text(m), text, m->len);
  free(text);
  return m;
}

/* {"topic":T,"type":"lagged","dropped":1}: what others get instead of a message too big. */
static struct msg *refetch_hint(const char *topic) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "dropped", 1);
  struct msg *m = render(topic, "lagged", o);
  cJSON_Delete(o);
  if (m)
    m->kind = MSG_KEEP;
  return m;
}

/* ---- topics and subscriptions ---- */

static unsigned bucket_of(const char *s) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h % TOPIC_BUCKETS;
}

static struct topic *topic_find(const char *name) {
  struct topic *t = W.buckets[bucket_of(name)];
  while (t && strcmp(t->name, name) != 0)
    t = t->next;
  return t;
}

static struct topic *topic_get(const char *name) {
  struct topic *t = topic_find(name);
  if (t)
    return t;
  size_t n = strlen(name);
  t = calloc(1, sizeof *t + n + 1);
  if (!t)
    return NULL;
  memcpy(t->name, name, n + 1);
  unsigned b = bucket_of(name);
  t->next = W.buckets[b];
  W.buckets[b] = t;
  return t;
}

static void topic_release(struct topic *t) {
  if (t->subs)
    return;
  struct topic **pp = &W.buckets[bucket_of(t->name)];
  while (*pp != t)
    pp = &(*pp)->next;
  *pp = t->next;
  free(t);
}

static struct sub **sub_slot(struct client *c, const char *topic) {
  struct sub **pp = &c->subs;
  while (*pp && strcmp((*pp)->t->name, topic) != 0)
    pp = &(*pp)->cnext;
  return pp;
}

/* Returns 0, ERR_RANGE (too many subscriptions) or ERR_NOMEM. Subscribing twice is fine. */
static int sub_add(struct client *c, const char *topic) {
  if (*sub_slot(c, topic))
    return 0;
  if (c->nsubs >= SUBS_MAX)
    return ERR_RANGE;
  struct sub *s = calloc(1, sizeof *s);
  struct topic *t = s ? topic_get(topic) : NULL;
  if (!t) {
    free(s);
    return ERR_NOMEM;
  }
  s->c = c;
  s->t = t;
  s->tnext = t->subs;
  if (t->subs)
    t->subs->tprev = s;
  t->subs = s;
  s->cnext = c->subs;
  c->subs = s;
  c->nsubs++;
  return 0;
}

static void sub_unlink(struct sub *s) {
  if (s->tprev)
    s->tprev->tnext = s->tnext;
  else
    s->t->subs = s->tnext;
  if (s->tnext)
    s->tnext->tprev = s->tprev;
  topic_release(s->t);
  free(s);
}

static void sub_remove(struct client *c, const char *topic) {
  struct sub **pp = sub_slot(c, topic);
  struct sub *s = *pp;
  if (!s)
    return;
  *pp = s->cnext;
  c->nsubs--;
  sub_unlink(s);
}

static void sub_remove_all(struct client *c) {
  while (c->subs) {
    struct sub *s = c->subs;
    c->subs = s->cnext;
    sub_unlink(s);
  }
  c->nsubs = 0;
}

/* ---- a client's queue ---- */

static struct msg *lag_find(struct client *c, const char *topic) {
  struct msg *m = c->lags;
  while (m && strcmp(m->topic, topic) != 0)
    m = m->next;
  return m;
}

static void lag_unlink(struct client *c, struct msg *lag) {
  struct msg **pp = &c->lags;
  while (*pp && *pp != lag)
    pp = &(*pp)->next;
  if (*pp)
    *pp = lag->next;
}

static int q_push(struct client *c, struct msg *m) {
  if (c->qhead + c->qlen == c->qcap) {
    if (c->qhead > 0) {
      memmove(c->q, c->q + c->qhead, c->qlen * sizeof *c->q);
      c->qhead = 0;
    } else {
      size_t cap = c->qcap ? c->qcap * 2 : 8;
      struct msg **q = realloc(c->q, cap * sizeof *q);
      if (!q)
        return ERR_NOMEM;
      c->q = q;
      c->qcap = cap;
    }
  }
  c->q[c->qhead + c->qlen++] = m;
  c->qbytes += msg_weight(m);
  return 0;
}

static struct msg *q_pop(struct client *c) {
  if (!c->qlen)
    return NULL;
  struct msg *m = c->q[c->qhead++];
  if (--c->qlen == 0)
    c->qhead = 0;
  c->qbytes -= msg_weight(m);
  if (m->kind == MSG_LAGGED)
    lag_unlink(c, m);
  return m;
}

static void q_clear(struct client *c) {
  struct msg *m;
  while ((m = q_pop(c)))
    msg_unref(m);
  free(c->q);
  c->q = NULL;
  c->qcap = 0;
}

static int q_over(const struct client *c, size_t max_msgs, size_t max_bytes, size_t need) {
  return c->qlen >= max_msgs || c->qbytes + need > max_bytes;
}

/* Counts n lost messages of topic on its lagged note. Returns a new note when there was
 * none (listed in c->lags; the caller puts it in the queue), else NULL. */
static struct msg *count_dropped(struct client *c, const char *topic, long n) {
  struct msg *lag = lag_find(c, topic);
  if (lag) {
    lag->dropped += n;
    return NULL;
  }
  if (!topic[0])
    return NULL; /* an error reply: nothing to refetch */
  lag = msg_new(MSG_LAGGED, 0, topic);
  if (!lag)
    return NULL;
  lag->dropped = n;
  lag->next = c->lags;
  c->lags = lag;
  return lag;
}

/* Drops queued messages, oldest first, until the queue is down to 7/8 of its bounds with
 * `need` bytes to spare (dropping more than one at a time keeps a persistently slow client
 * cheap). any = 0 drops only run progress; any = 1 everything but lagged notes. */
static void compact(struct client *c, int any, size_t need) {
  size_t max_msgs = QUEUE_MAX_MSGS * 7 / 8, max_bytes = QUEUE_MAX_BYTES * 7 / 8;
  size_t end = c->qhead + c->qlen, w = 0;
  for (size_t i = c->qhead; i < end; i++) {
    struct msg *m = c->q[i];
    int droppable = m->kind == MSG_PROGRESS || (any && m->kind == MSG_KEEP);
    if (!droppable || !q_over(c, max_msgs, max_bytes, need)) {
      c->q[w++] = m;
      continue;
    }
    c->qbytes -= msg_weight(m);
    struct msg *lag = count_dropped(c, m->topic, 1);
    msg_unref(m);
    if (lag) {
      c->q[w++] = lag;
      c->qbytes += msg_weight(lag);
    } else {
      c->qlen--;
    }
  }
  c->qhead = 0;
}

static void client_close(struct client *c, int code) {
  if (c->closing)
    return;
  c->closing = 1;
  lws_close_reason(c->wsi, code, NULL, 0); /* sent when lws closes politely, see below */
  lws_callback_on_writable(c->wsi);
  /* A peer that reads nothing never gets its close frame: drop it after a while anyway. */
  lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, 5);
}

/* Makes room for one more entry of `need` bytes by the rules above; returns 0, or -1 when
 * the client was closed instead. */
static int make_room(struct client *c, size_t need) {
  if (!q_over(c, QUEUE_MAX_MSGS, QUEUE_MAX_BYTES, need))
    return 0;
  compact(c, 0, need);
  if (q_over(c, QUEUE_MAX_MSGS, QUEUE_MAX_BYTES, need))
    compact(c, 1, need);
  if (!q_over(c, QUEUE_MAX_MSGS, QUEUE_MAX_BYTES, need))
    return 0;
  /* Only lagged notes are left: the client has not read anything for a long time. */
  log_warn("closing a websocket client that stopped reading", NULL);
  q_clear(c);
  client_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION);
  return -1;
}

/* Appends m, taking over the caller's reference (also on failure), and asks for a write if
 * the queue was empty. */
static void q_take(struct client *c, struct msg *m) {
  if (q_push(c, m) != 0) {
    if (m->kind == MSG_LAGGED)
      lag_unlink(c, m);
    msg_unref(m);
    return;
  }
  if (c->qlen == 1)
    lws_callback_on_writable(c->wsi);
}

static void enqueue(struct client *c, struct msg *m) {
  if (!c->closing && make_room(c, msg_weight(m)) == 0) {
    m->refs++;
    q_take(c, m);
  }
}

/* Tells c that n messages of topic were lost before they reached this process. */
static void note_missed(struct client *c, const char *topic, long n) {
  struct msg *lag = lag_find(c, topic);
  if (lag) {
    lag->dropped += n;
    return;
  }
  if (c->closing || make_room(c, 64 + strlen(topic)) != 0)
    return;
  lag = count_dropped(c, topic, n); /* NULL if making room made one */
  if (lag)
    q_take(c, lag);
}

static void deliver(struct msg *m) {
  struct topic *t = topic_find(m->topic);
  for (struct sub *s = t ? t->subs : NULL; s; s = s->tnext)
    enqueue(s->c, m);
}

/* Replies to c alone. */
static void reply(struct client *c, const char *topic, const char *type) {
  struct msg *m = render(topic, type, NULL);
  if (m) {
    enqueue(c, m);
    msg_unref(m);
  }
}

static void reply_error(struct client *c, const char *topic, const char *code,
                        const char *message) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "type", "error");
  cJSON_AddStringToObject(o, "code", code);
  cJSON_AddStringToObject(o, "message", message);
  if (topic)
    cJSON_AddStringToObject(o, "topic", topic);
  struct msg *m = msg_from_text(cJSON_PrintUnformatted(o), topic ? topic : "", MSG_KEEP);
  cJSON_Delete(o);
  if (m) {
    enqueue(c, m);
    msg_unref(m);
  }
}

/* ---- authorization ---- */

/* The staff member behind a login session (of any role), or NULL. */
static const char *staff_id_of(const struct principal *p) {
  return p->staff_id[0] ? p->staff_id : NULL;
}

static int topic_known(const char *t) {
  static const char *const prefixed[] = {"flow:", "run:", "staff:"};
  size_t n = strlen(t);
  if (n == 0 || n > TOPIC_MAX)
    return 0;
  if (strcmp(t, "runs") == 0 || strcmp(t, "presence") == 0)
    return 1;
  for (size_t i = 0; i < sizeof prefixed / sizeof prefixed[0]; i++) {
    size_t pl = strlen(prefixed[i]);
    if (n > pl && strncmp(t, prefixed[i], pl) == 0) {
      for (const unsigned char *p = (const unsigned char *)t + pl; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
          return 0;
      return 1;
    }
  }
  return 0;
}

/* Admins and managers see everything; staff their own staff:<id> topic and presence. */
static int may_subscribe(const struct principal *p, const char *topic) {
  if (p->role >= AUTH_MANAGER)
    return 1;
  if (p->role != AUTH_STAFF)
    return 0;
  if (strcmp(topic, "presence") == 0)
    return 1;
  const char *id = staff_id_of(p);
  return id && strncmp(topic, "staff:", 6) == 0 && strcmp(topic + 6, id) == 0;
}

/* Who opens this upgrade: ?token=, Authorization: Bearer, or the session cookie. A role of
 * AUTH_NONE (no credentials, or an API key without a reading scope) is refused. */
static enum auth_role identify(struct lws *wsi, struct principal *p) {
  char buf[1100];
  memset(p, 0, sizeof *p);
  const char *tok = lws_get_urlarg_by_name(wsi, "token=", buf, sizeof buf);
  if (tok && auth_identify_token(tok, p) != AUTH_NONE)
    return p->role;
  if (lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_AUTHORIZATION) > 7 &&
      strncmp(buf, "Bearer ", 7) == 0 && auth_identify_token(buf + 7, p) != AUTH_NONE)
    return p->role;
  if (lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_COOKIE) > 0 &&
      auth_identify_cookie(buf, p) != AUTH_NONE)
    return p->role;
  memset(p, 0, sizeof *p);
  return AUTH_NONE;
}

/* ---- client frames ---- */

static void on_op(struct client *c, const char *op, const char *topic) {
  int sub = strcmp(op, "subscribe") == 0;
  if (!sub && strcmp(op, "unsubscribe") != 0) {
    reply_error(c, topic, "unknown_op", "op must be \"subscribe\" or \"unsubscribe\"");
    return;
  }
  if (!topic || !topic_known(topic)) {
    reply_error(c, topic, "unknown_topic",
                "topic must be flow:<id>, run:<id>, runs, presence or staff:<id>");
    return;
  }
  if (!sub) {
    sub_remove(c, topic);
    reply(c, topic, "unsubscribed");
    return;
  }
  if (!may_subscribe(&c->who, topic)) {
    reply_error(c, topic, "forbidden", "your role may not subscribe to this topic");
    return;
  }
  int rc = sub_add(c, topic);
  if (rc == ERR_RANGE)
    reply_error(c, topic, "too_many_subscriptions", "a connection may hold 256 subscriptions");
  else if (rc)
    reply_error(c, topic, "internal", "out of memory");
  else
    reply(c, topic, "subscribed");
}

static void on_frame(struct client *c, const char *text, size_t len, int binary) {
  if (binary) {
    reply_error(c, NULL, "bad_frame", "frames must be JSON text, not binary");
    return;
  }
  cJSON *doc = cJSON_ParseWithLength(text, len);
  if (!cJSON_IsObject(doc)) {
    reply_error(c, NULL, "bad_json",
                "a frame must be a JSON object like {\"op\":\"subscribe\",\"topic\":\"runs\"}");
  } else {
    const char *op = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "op"));
    const char *topic = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "topic"));
    on_op(c, op ? op : "", topic);
  }
  cJSON_Delete(doc);
}

/* Gathers a message's fragments (lws hands them over in RX_CHUNK pieces). A message over
 * FRAME_MAX gets an error reply; the rest of it is read and dropped before the connection
 * is closed (closing a socket with unread input resets it, and the client would never see
 * the reply). */
static void on_receive(struct client *c, const void *in, size_t len) {
  if (c->closing)
    return;
  size_t remaining = lws_remaining_packet_payload(c->wsi);
  int final = lws_is_final_fragment(c->wsi) && !remaining;
  if (!c->oversize && c->rxlen + len + remaining > FRAME_MAX) {
    c->oversize = 1;
    free(c->rx);
    c->rx = NULL;
    c->rxlen = 0;
    reply_error(c, NULL, "too_large", "frames are limited to 64 KiB");
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, 10); /* if the rest never comes */
  }
  if (c->oversize) {
    if (final)
      client_close(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE);
    return;
  }
  char *rx = realloc(c->rx, c->rxlen + len + 1);
  if (!rx)
    return;
  memcpy(rx + c->rxlen, in, len);
  c->rx = rx;
  c->rxlen += len;
  if (!final)
    return;
  on_frame(c, c->rx, c->rxlen, lws_frame_is_binary(c->wsi));
  free(c->rx);
  c->rx = NULL;
  c->rxlen = 0;
}

/* ---- connections ---- */

static int path_is_ws(struct lws *wsi) {
  char uri[64];
  return lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) > 0 && strcmp(uri, "/ws") == 0;
}

/* Refuses an upgrade with an HTTP status; no websocket frame is ever sent to it. */
static int refuse(struct lws *wsi, unsigned status) {
  lws_return_http_status(wsi, status, NULL);
  return -1;
}

static int on_filter(struct lws *wsi, struct client *c) {
  if (!path_is_ws(wsi))
    return refuse(wsi, HTTP_STATUS_NOT_FOUND);
  if (!W.ready || W.closing)
    return refuse(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE);
  if (identify(wsi, &c->who) == AUTH_NONE)
    return refuse(wsi, HTTP_STATUS_UNAUTHORIZED);
  return 0;
}

static void on_established(struct lws *wsi, struct client *c) {
  c->wsi = wsi;
  c->registered = 1;
  c->next = W.clients;
  if (W.clients)
    W.clients->prev = c;
  W.clients = c;
  const char *staff = staff_id_of(&c->who);
  if (staff && W.hook)
    W.hook(W.hook_ud, staff, 1);
}

static void on_closed(struct client *c) {
  if (!c->registered)
    return;
  c->registered = 0;
  if (c->prev)
    c->prev->next = c->next;
  else
    W.clients = c->next;
  if (c->next)
    c->next->prev = c->prev;
  sub_remove_all(c);
  q_clear(c);
  free(c->rx);
  c->rx = NULL;
  const char *staff = staff_id_of(&c->who);
  if (staff && W.hook)
    W.hook(W.hook_ud, staff, 0);
}

/* Writes one lagged note: its count may have grown since it was queued. */
static int write_lagged(struct client *c, struct msg *lag) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "dropped", (double)lag->dropped);
  struct msg *m = render(lag->topic, "lagged", o);
  cJSON_Delete(o);
  if (!m)
    return 0;
  int n = lws_write(c->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
  int rc = n < (int)m->len ? -1 : 0;
  msg_unref(m);
  return rc;
}

/* One frame per call. Returns -1 to close the connection. */
static int on_writeable(struct client *c) {
  struct msg *m = q_pop(c);
  if (!m) {
    /* Everything is out: close. Returning -1 here would make lws drop the connection
     * without a close frame (it takes it for a failed write); from the timer callback it
     * closes politely, with the status set by client_close. */
    if (c->closing)
      lws_set_timer_usecs(c->wsi, 1);
    return 0;
  }
  int rc;
  if (m->kind == MSG_LAGGED)
    rc = write_lagged(c, m);
  else
    rc = lws_write(c->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT) < (int)m->len ? -1 : 0;
  msg_unref(m);
  if (rc)
    return -1;
  if (c->qlen || c->closing)
    lws_callback_on_writable(c->wsi);
  return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len) {
  struct client *c = user;
  if (!c)
    return 0; /* reasons about the HTTP side of the connection */
  switch (reason) {
  case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
    return on_filter(wsi, c);
  case LWS_CALLBACK_ESTABLISHED:
    on_established(wsi, c);
    return 0;
  case LWS_CALLBACK_RECEIVE:
    on_receive(c, in, len);
    return 0;
  case LWS_CALLBACK_SERVER_WRITEABLE:
    return c->registered ? on_writeable(c) : 0;
  case LWS_CALLBACK_TIMER:
    return c->closing ? -1 : 0;
  case LWS_CALLBACK_CLOSED:
    on_closed(c);
    return 0;
  default:
    return 0;
  }
}

static const struct lws_protocols protocol = {
    "flowd-ws", callback, sizeof(struct client), RX_CHUNK, 0, NULL, 0};

const struct lws_protocols *ws_protocol(void) { return &protocol; }

/* ---- other processes: sending ---- */

static void on_flush(uv_idle_t *h);

static void outbox_push(struct msg *m) {
  m->seq = W.next_seq++;
  if (W.out_count >= OUTBOX_MAX_MSGS || W.out_bytes + m->len > OUTBOX_MAX_BYTES) {
    /* The skipped number tells the other processes that they missed something. */
    if (!W.warned_outbox++)
      log_warn("websocket messages to other processes dropped: the database is too slow",
               NULL);
    return;
  }
  m->refs++;
  m->next = NULL;
  if (W.out_tail)
    W.out_tail->next = m;
  else
    W.out_head = m;
  W.out_tail = m;
  W.out_count++;
  W.out_bytes += m->len;
  if (!W.in_flight)
    uv_idle_start(&W.flush, on_flush);
}

static struct msg *outbox_pop(void) {
  struct msg *m = W.out_head;
  if (!m)
    return NULL;
  W.out_head = m->next;
  if (!W.out_head)
    W.out_tail = NULL;
  m->next = NULL;
  W.out_count--;
  W.out_bytes -= m->len;
  return m;
}

/* Fills buf with one payload: the oldest outbox messages that fit and are numbered
 * consecutively. A message too big even alone goes as a refetch hint. */
static void build_payload(char *buf) {
  uint64_t first = W.out_head->seq;
  size_t n = (size_t)snprintf(buf, NOTIFY_MAX, "{\"origin\":\"%016" PRIx64 "\",\"seq\":%" PRIu64
                              ",\"msgs\":[", W.origin, first);
  size_t count = 0;
  while (W.out_head && W.out_head->seq == first + count) {
    struct msg *m = W.out_head, *hint = NULL;
    size_t comma = count > 0;
    if (n + comma + m->len + 2 > NOTIFY_MAX) {
      if (count > 0)
        break; /* the next payload */
      m = hint = refetch_hint(m->topic);
      if (!m || n + m->len + 2 > NOTIFY_MAX) {
        msg_unref(hint);
        msg_unref(outbox_pop()); /* lost: the gap in numbers tells the receivers */
        break;
      }
    }
    if (comma)
      buf[n++] = ',';
    memcpy(buf + n, msg_text(m), m->len);
    n += m->len;
    count++;
    msg_unref(hint);
    msg_unref(outbox_pop());
  }
  memcpy(buf + n, "]}", 3);
}

static void on_notified(void *data, int rc, const struct db_result *r) {
  (void)data;
  W.in_flight = 0;
  if (rc && rc != ERR_CANCELLED && !W.warned_notify++)
    log_warn("websocket messages to other processes lost", "code=%s reason=%s", err_name(rc),
             log_quote(r && r->error ? r->error : ""));
  if (!rc)
    W.warned_notify = W.warned_outbox = 0;
  if (W.out_head && !W.closing)
    uv_idle_start(&W.flush, on_flush);
}

/* Once per loop turn while the outbox has messages and no batch is in flight: everything
 * published since goes out as one transaction of NOTIFYs, in order. */
static void on_flush(uv_idle_t *h) {
  uv_idle_stop(h);
  if (W.in_flight || !W.out_head || W.closing)
    return;
  char *buf = malloc(NOTIFY_MAX + 1);
  struct db_batch *b = buf ? db_batch_new() : NULL;
  if (!b) {
    free(buf);
    return; /* retried at the next publish */
  }
  for (int i = 0; W.out_head && i < NOTIFY_CHUNKS_MAX; i++) {
    build_payload(buf);
    const char *params[1] = {buf};
    if (db_batch_add(b, "flowd_ws_notify", "SELECT pg_notify('" NOTIFY_CHANNEL "', $1)", 1,
                     params) != 0)
      break;
  }
  free(buf);
  W.in_flight = 1;
  db_submit(W.db, b, on_notified, NULL);
}

/* ---- other processes: receiving ---- */

static void lag_everyone(long missed) {
  for (struct client *c = W.clients; c; c = c->next)
    for (struct sub *s = c->subs; s; s = s->cnext)
      note_missed(c, s->t->name, missed);
}

/* Notes the numbers origin sent; returns how many it sent that we never saw. */
static long peer_gap(uint64_t origin, uint64_t seq, uint64_t count) {
  struct peer *p = NULL, *oldest = &W.peers[0];
  for (int i = 0; i < PEERS_MAX && !p; i++) {
    if (W.peers[i].origin == origin && W.peers[i].last_used)
      p = &W.peers[i];
    else if (W.peers[i].last_used < oldest->last_used)
      oldest = &W.peers[i];
  }
  long missed = 0;
  if (p && seq > p->next_seq)
    missed = (long)(seq - p->next_seq);
  if (!p) { /* first sight (or forgotten): we cannot know what came before */
    p = oldest;
    p->origin = origin;
  }
  p->next_seq = seq + count;
  p->last_used = ++W.peer_clock;
  return missed;
}

static void on_notify(void *data, const char *channel, const char *payload) {
  (void)data, (void)channel;
  if (W.closing || strncmp(payload, W.own_prefix, strlen(W.own_prefix)) == 0)
    return; /* ours were delivered locally when published */
  cJSON *doc = cJSON_Parse(payload);
  const char *origin = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "origin"));
  cJSON *seq = cJSON_GetObjectItemCaseSensitive(doc, "seq");
  cJSON *msgs = cJSON_GetObjectItemCaseSensitive(doc, "msgs");
  if (!origin || !cJSON_IsNumber(seq) || seq->valuedouble < 0 || !cJSON_IsArray(msgs)) {
    log_warn("ignoring a malformed websocket notification", "payload=%s", log_quote(payload));
    cJSON_Delete(doc);
    return;
  }
  uint64_t from = strtoull(origin, NULL, 16);
  if (from == W.origin) { /* ours, written some other way */
    cJSON_Delete(doc);
    return;
  }
  long missed = peer_gap(from, (uint64_t)seq->valuedouble, cJSON_GetArraySize(msgs));
  if (missed > 0)
    lag_everyone(missed);
  cJSON *item;
  cJSON_ArrayForEach(item, msgs) {
    const char *topic = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "topic"));
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "type"));
    if (!topic || !type || !topic_find(topic))
      continue;
    struct msg *m = msg_from_text(cJSON_PrintUnformatted(item), topic, kind_of(type));
    if (m) {
      deliver(m);
      msg_unref(m);
    }
  }
  cJSON_Delete(doc);
}

/* ---- the hub ---- */

int ws_init(struct server *srv) {
  if (sodium_init() < 0)
    return ERR_IO;
  W.srv = srv;
  W.db = srv->db;
  randombytes_buf(&W.origin, sizeof W.origin);
  snprintf(W.own_prefix, sizeof W.own_prefix, "{\"origin\":\"%016" PRIx64 "\"", W.origin);
  int rc = uv_idle_init(srv->loop, &W.flush);
  if (rc)
    return ERR_IO;
  rc = db_listen(W.db, NOTIFY_CHANNEL, on_notify, NULL);
  if (rc) {
    uv_close((uv_handle_t *)&W.flush, NULL);
    return rc;
  }
  W.ready = 1;
  log_info("websocket hub ready", "origin=%016" PRIx64, W.origin);
  return 0;
}

void ws_publish(const char *topic, const char *type, cJSON *msg) {
  if (!W.ready || W.closing || !topic || !type || strlen(topic) > TOPIC_MAX) {
    cJSON_Delete(msg);
    return;
  }
  if (msg && !cJSON_IsObject(msg)) {
    cJSON *wrap = cJSON_CreateObject();
    cJSON_AddItemToObject(wrap, "data", msg);
    msg = wrap;
  }
  struct msg *m = render(topic, type, msg);
  cJSON_Delete(msg);
  if (m && m->len > PUBLISH_MAX) {
    log_warn("websocket message too large: sending a refetch hint", "topic=%s bytes=%zu",
             log_quote(topic), m->len);
    msg_unref(m);
    m = refetch_hint(topic);
  }
  if (!m)
    return;
  deliver(m);
  outbox_push(m);
  msg_unref(m);
}

void ws_shutdown(void) {
  if (!W.ready || W.closing)
    return;
  W.closing = 1;
  /* The lws context is destroyed right after this; its CLOSED callbacks free the clients. */
  for (struct client *c = W.clients; c; c = c->next)
    client_close(c, LWS_CLOSE_STATUS_GOINGAWAY);
  struct msg *m;
  while ((m = outbox_pop()))
    msg_unref(m);
  uv_idle_stop(&W.flush);
  uv_close((uv_handle_t *)&W.flush, NULL);
}

void ws_set_connection_hook(void (*fn)(void *ud, const char *staff_id, int connected),
                            void *ud) {
  W.hook = fn;
  W.hook_ud = ud;
}
