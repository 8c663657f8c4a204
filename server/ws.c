/* ws: the websocket hub (see ws.h for the client protocol).
 *
 * A published message is rendered once (ws_msg) and shared by the queue (ws_queue) of every
 * subscriber (ws_topics) and by the outbox to the other processes (ws_peers). Invariants:
 * - a non-empty queue has a writeable callback pending (requested when it became non-empty,
 *   re-requested after each callback that leaves something in it); each writeable callback
 *   writes the queue's oldest messages, up to WRITE_MAX bytes of frames, in one lws_write,
 *   so a burst of messages costs one loop turn and one send() instead of one per message;
 * - every queued message fits in one callback's WRITE_MAX (published ones are cut at
 *   PUBLISH_MAX, other processes' at PostgreSQL's 8,000-byte payload);
 * - a client with answers in W.held gets every later answer there too (in order); W.held
 *   is emptied when ws_peers confirms, and a client's entries leave with the client;
 * - the lws per-session data is the struct client; it is registered (in W.clients, with
 *   subscriptions) from ESTABLISHED until CLOSED. */
#include <inttypes.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/err.h"
#include "server/auth.h"
#include "server/http.h" /* server.h needs struct http_route */
#include "server/log.h"
#include "server/server.h"
#include "server/ws.h"
#include "server/ws_msg.h"
#include "server/ws_peers.h"
#include "server/ws_queue.h"
#include "server/ws_topics.h"

#define FRAME_MAX (64 * 1024)     /* client frames; bigger ones close the connection */
#define PUBLISH_MAX (64 * 1024)   /* bigger messages travel as a refetch hint */
#define TOPIC_MAX 200
#define SUBS_MAX 256              /* subscriptions per client */
#define RX_CHUNK 1024             /* lws' receive buffer per connection */
#define WRITE_MAX (128 * 1024)    /* bytes of frames per writeable callback (and per send) */
_Static_assert(PUBLISH_MAX + 10 <= WRITE_MAX, "a published message must fit in one write");

struct client { /* libwebsockets' per-session data */
  struct lws *wsi;
  struct principal who;
  int registered;
  int closing;  /* read nothing more; close once the queue is written */
  int oversize; /* reading the rest of a frame that is too large, to drop it */
  struct client *prev, *next;
  struct ws_subs subs;
  struct ws_queue q;
  int held; /* answers of its own waiting in W.held (see answer()) */
  char *rx;
  size_t rxlen;
};

struct held { /* an answer that waits for the other processes (ws_peers_watch) */
  struct client *c;
  struct ws_msg *m;
  struct held *next;
};

static struct {
  struct server *srv;
  int ready, closing;
  struct client *clients;
  struct held *held_head, *held_tail;
  void (*hook)(void *ud, const char *staff_id, int connected);
  void *hook_ud;
} W;

/* ---- subscriptions ---- */

/* The other processes hear whether this one has subscribers at all (ws_peers.h). */
static void watched(long before) {
  long now = ws_topics_count();
  if (!before && now)
    ws_peers_watch(1);
  else if (before && !now)
    ws_peers_watch(0);
}

/* Returns 0, ERR_RANGE (too many subscriptions) or ERR_NOMEM. Subscribing twice is fine. */
static int sub_add(struct client *c, const char *topic) {
  long before = ws_topics_count();
  int rc = ws_subs_add(&c->subs, c, topic, SUBS_MAX);
  watched(before);
  return rc;
}

static void sub_remove(struct client *c, const char *topic) {
  long before = ws_topics_count();
  ws_subs_remove(&c->subs, topic);
  watched(before);
}

static void sub_remove_all(struct client *c) {
  long before = ws_topics_count();
  ws_subs_clear(&c->subs);
  watched(before);
}

/* ---- a client's queue ---- */

static void client_close(struct client *c, int code) {
  if (c->closing)
    return;
  c->closing = 1;
  lws_close_reason(c->wsi, code, NULL, 0); /* sent when lws closes politely, see below */
  lws_callback_on_writable(c->wsi);
  /* A peer that reads nothing never gets its close frame: drop it after a while anyway. */
  lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, 5);
}

/* What adding to c's queue said: ask for a write, or give up on a client that stopped
 * reading long ago (its queue holds nothing but lagged notes). */
static void queued(struct client *c, int rc) {
  if (rc == WS_QUEUE_FIRST) {
    lws_callback_on_writable(c->wsi);
  } else if (rc == WS_QUEUE_STUCK) {
    log_warn("closing a websocket client that stopped reading", NULL);
    client_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION);
  }
}

static void enqueue(struct client *c, struct ws_msg *m) {
  if (!c->closing)
    queued(c, ws_queue_add(&c->q, m));
}

static void deliver(struct ws_msg *m) {
  for (struct ws_sub *s = ws_topic_subscribers(m->topic); s; s = s->tnext)
    enqueue(s->owner, m);
}

/* Gives c an answer of its own (takes m). A "subscribed" answer waits while the other
 * processes are being told that this one has subscribers (ws_peers.h): once a client has it,
 * whatever any process publishes reaches it. Later answers to the same client wait behind it,
 * so that the client gets its answers in order. */
static void answer(struct client *c, struct ws_msg *m, int subscribed) {
  if (!m)
    return;
  if (!c->held && (!subscribed || ws_peers_confirmed())) {
    enqueue(c, m);
    ws_msg_unref(m);
    return;
  }
  struct held *h = malloc(sizeof *h);
  if (!h) {
    ws_msg_unref(m);
    return;
  }
  *h = (struct held){c, m, NULL};
  if (W.held_tail)
    W.held_tail->next = h;
  else
    W.held_head = h;
  W.held_tail = h;
  c->held++;
}

/* The other processes acknowledged: the answers go out. */
static void release_held(void) {
  struct held *h = W.held_head;
  W.held_head = W.held_tail = NULL;
  while (h) {
    struct held *next = h->next;
    h->c->held--;
    enqueue(h->c, h->m);
    ws_msg_unref(h->m);
    free(h);
    h = next;
  }
}

/* Forgets c's waiting answers (c is going away). */
static void drop_held(struct client *c) {
  struct held **pp = &W.held_head, *last = NULL;
  while (*pp) {
    struct held *h = *pp;
    if (h->c == c) {
      *pp = h->next;
      ws_msg_unref(h->m);
      free(h);
    } else {
      last = h;
      pp = &h->next;
    }
  }
  W.held_tail = last;
  c->held = 0;
}

/* Replies to c alone. */
static void reply(struct client *c, const char *topic, const char *type) {
  answer(c, ws_msg_render(topic, type, NULL), strcmp(type, "subscribed") == 0);
}

static void reply_error(struct client *c, const char *topic, const char *code,
                        const char *message) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "type", "error");
  cJSON_AddStringToObject(o, "code", code);
  cJSON_AddStringToObject(o, "message", message);
  if (topic)
    cJSON_AddStringToObject(o, "topic", topic);
  struct ws_msg *m = ws_msg_from_text(cJSON_PrintUnformatted(o), topic ? topic : "",
                                      WS_MSG_KEEP);
  cJSON_Delete(o);
  answer(c, m, 0);
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
  drop_held(c);
  ws_queue_clear(&c->q);
  free(c->rx);
  c->rx = NULL;
  const char *staff = staff_id_of(&c->who);
  if (staff && W.hook)
    W.hook(W.hook_ud, staff, 0);
}

/* ---- writing ---- */

/* A server frame (RFC 6455 5.2: FIN, text, no mask) for len bytes of text: its size, and,
 * when p is not NULL, the frame itself written at p. */
static size_t frame(unsigned char *p, const char *text, size_t len) {
  size_t h = len < 126 ? 2 : len < 65536 ? 4 : 10;
  if (p) {
    p[0] = 0x81;
    if (h == 2) {
      p[1] = (unsigned char)len;
    } else if (h == 4) {
      p[1] = 126;
      p[2] = (unsigned char)(len >> 8);
      p[3] = (unsigned char)len;
    } else {
      p[1] = 127;
      for (int i = 0; i < 8; i++)
        p[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    }
    memcpy(p + h, text, len);
  }
  return h + len;
}

/* The frames of one writeable callback. lws copies what the socket does not take at once. */
static unsigned char out[LWS_PRE + WRITE_MAX];

/* Packs the oldest queued messages into out, as many as fit; returns the bytes packed. A
 * lagged note is rendered now: its count may have grown since it was queued. */
static size_t pack(struct client *c) {
  size_t used = 0;
  while (c->q.len) {
    struct ws_msg *m = c->q.q[c->q.head], *lag = NULL;
    if (m->kind == WS_MSG_LAGGED) {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddNumberToObject(o, "dropped", (double)m->dropped);
      lag = ws_msg_render(m->topic, "lagged", o);
      cJSON_Delete(o);
    }
    const struct ws_msg *text = lag ? lag : m;
    size_t need = m->kind == WS_MSG_LAGGED && !lag ? 0 : frame(NULL, NULL, text->len);
    if (used + need > WRITE_MAX && used > 0) {
      ws_msg_unref(lag);
      break; /* the next callback's */
    }
    if (need > WRITE_MAX) { /* cannot happen (see the invariants); never loop on it */
      log_warn("dropping a websocket message too large to write", "bytes=%zu", text->len);
      need = 0;
    }
    if (need)
      used += frame(out + LWS_PRE + used, (const char *)text->buf + LWS_PRE, text->len);
    ws_msg_unref(lag);
    ws_msg_unref(ws_queue_pop(&c->q));
  }
  return used;
}

/* Writes the queue's oldest messages, as many frames as fit in WRITE_MAX bytes, in ONE
 * lws_write: one send() for a whole burst instead of one per message (the system call and
 * the loopback TCP path per send were most of the hub's cost with busy watchers). lws writes
 * LWS_WRITE_RAW bytes on a websocket connection as they are; no extension is negotiated
 * (the vhost offers none), so the frames are plain RFC 6455 frames. Returns -1 to close. */
static int on_writeable(struct client *c) {
  if (!c->q.len) {
    /* Everything is out: close. Returning -1 here would make lws drop the connection
     * without a close frame (it takes it for a failed write); from the timer callback it
     * closes politely, with the status set by client_close. */
    if (c->closing)
      lws_set_timer_usecs(c->wsi, 1);
    return 0;
  }
  size_t n = pack(c);
  if (n && lws_write(c->wsi, out + LWS_PRE, n, LWS_WRITE_RAW) < (int)n)
    return -1;
  if (c->q.len || c->closing)
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

/* Without tx_packet_size lws sends at most rx_buffer_size (RX_CHUNK) bytes per loop turn. */
static const struct lws_protocols protocol = {
    "flowd-ws", callback, sizeof(struct client), RX_CHUNK, 0, NULL, WRITE_MAX};

const struct lws_protocols *ws_protocol(void) { return &protocol; }

/* ---- the hub ---- */

static int wanted(const char *topic) { return ws_topic_subscribers(topic) != NULL; }

/* Messages from another process were lost: each client should refetch what it watches. */
static void missed(long n) {
  for (struct client *c = W.clients; c; c = c->next)
    for (struct ws_sub *s = c->subs.head; s && !c->closing; s = s->onext)
      queued(c, ws_queue_missed(&c->q, ws_sub_topic(s), n));
}

static const struct ws_peers_hooks peer_hooks = {wanted, deliver, missed, release_held};

int ws_init(struct server *srv) {
  W.srv = srv;
  W.closing = 0;
  int rc = ws_peers_init(srv, &peer_hooks);
  if (rc)
    return rc;
  W.ready = 1;
  log_info("websocket hub ready", "origin=%016" PRIx64, ws_peers_origin());
  return 0;
}

/* Whether a message goes anywhere, given whether some subscriber here wants it; when not, it
 * counts as withheld. */
static int reaches(int here) {
  if (here || ws_peers_sending())
    return 1;
  ws_peers_withhold();
  return 0;
}

int ws_wanted(const char *topic) {
  return W.ready && !W.closing && topic && reaches(ws_topic_subscribers(topic) != NULL);
}

int ws_wanted_any(void) { return W.ready && !W.closing && reaches(ws_topics_count() > 0); }

void ws_publish(const char *topic, const char *type, cJSON *msg) {
  /* Most run:<id> topics have no subscriber anywhere: then there is nothing to render. */
  if (!type || !topic || strlen(topic) > TOPIC_MAX || !ws_wanted(topic)) {
    cJSON_Delete(msg);
    return;
  }
  if (msg && !cJSON_IsObject(msg)) {
    cJSON *wrap = cJSON_CreateObject();
    cJSON_AddItemToObject(wrap, "data", msg);
    msg = wrap;
  }
  struct ws_msg *m = ws_msg_render(topic, type, msg);
  cJSON_Delete(msg);
  if (m && m->len > PUBLISH_MAX) {
    log_warn("websocket message too large: sending a refetch hint", "topic=%s bytes=%zu",
             log_quote(topic), m->len);
    ws_msg_unref(m);
    m = ws_msg_refetch_hint(topic);
  }
  if (!m)
    return;
  deliver(m);
  ws_peers_send(m);
  ws_msg_unref(m);
}

void ws_shutdown(void) {
  if (!W.ready || W.closing)
    return;
  W.closing = 1;
  /* The lws context is destroyed right after this; its CLOSED callbacks free the clients. */
  for (struct client *c = W.clients; c; c = c->next) {
    drop_held(c);
    client_close(c, LWS_CLOSE_STATUS_GOINGAWAY);
  }
  ws_peers_shutdown();
}

void ws_set_connection_hook(void (*fn)(void *ud, const char *staff_id, int connected),
                            void *ud) {
  W.hook = fn;
  W.hook_ud = ud;
}
