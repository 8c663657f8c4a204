/* ws_peers: messages to and from the other flowd processes (see ws_peers.h for the payloads
 * and the rules). Invariants: at most one NOTIFY batch is in flight, so the others see our
 * payloads in the order we queued them; the outbox holds messages numbered consecutively
 * except where one was dropped for lack of room; P.sending is recomputed whenever what it
 * depends on changes (a heartbeat heard or not, time passing: every tick). */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/err.h"
#include "server/db.h"
#include "server/log.h"
#include "server/server.h"
#include "server/ws_peers.h"

#define CHANNEL "flowd_ws"
#define PAYLOAD_MAX 7900      /* PostgreSQL's payload limit is 8000 bytes */
#define PAYLOADS_MAX 64       /* payloads per batch; the rest waits for the next one */
#define OUTBOX_MAX_MSGS 20000 /* while the database is slow or away */
#define OUTBOX_MAX_BYTES (16 * 1024 * 1024)
#define PEERS_MAX 32
#define CONTROL_MAX 64        /* heartbeats and acks waiting to be sent */
#define CONTROL_LEN 160
#define HEARTBEAT_MS 5000     /* FLOWD_WS_HEARTBEAT_MS shortens it for tests */

struct peer { /* another process */
  uint64_t origin, last_used;
  uint64_t seen_ms;  /* when we last heard anything from it (0: slot free) */
  int watching;      /* its last heartbeat said it has subscribers */
  int has_seq;       /* next_seq is known */
  uint64_t next_seq; /* the number we expect on its next message */
  uint64_t acked;    /* our latest ask it acknowledged */
  int unverified;    /* heard of anew, and no heartbeat from it since */
};

static struct {
  struct db *db;
  uv_loop_t *loop;
  const struct ws_peers_hooks *hooks;
  int ready, closing;
  uint64_t origin;
  char own_prefix[40]; /* how our payloads begin */
  uv_idle_t flush;     /* sends the outbox once per loop turn */
  uv_timer_t tick;     /* heartbeats, expiry, asks that take too long */
  uint64_t hb_ms, last_hb_ms;
  struct ws_msg *out_head, *out_tail;
  size_t out_count, out_bytes;
  char control[CONTROL_MAX][CONTROL_LEN];
  int ncontrol;
  uint64_t next_seq;
  int in_flight;
  int warned_outbox, warned_notify;
  struct peer peers[PEERS_MAX];
  uint64_t peer_clock;
  /* what we know */
  uint64_t own_seen_ms; /* our own latest heartbeat came back then */
  uint64_t retry_ms;    /* while blind: the hello's current interval */
  uint64_t sight_ms;    /* they have kept coming back since then (0: blind) */
  int sending;
  int withheld; /* we did not send something once (because nobody watched) */
  /* what we say */
  int watching, announced; /* we have subscribers; our latest heartbeat said so */
  uint64_t ask, ask_ms, next_ask, gave_up_ask;
} P;

static uint64_t now_ms(void) { return uv_now(P.loop); }
static uint64_t expire_ms(void) { return 3 * P.hb_ms; }
static uint64_t grace_ms(void) { return 5 * P.hb_ms / 2; }
static uint64_t ask_timeout_ms(void) { return 2 * P.hb_ms / 5; }
/* How long answers to our hello may take (a few ms unless a process is very busy; later
 * ones are handled in on_heartbeat). */
static uint64_t learn_ms(void) { return P.hb_ms / 5 < 250 ? P.hb_ms / 5 : 250; }

static void on_flush(uv_idle_t *h);

static void wake_flush(void) {
  if (!P.in_flight && !P.closing)
    uv_idle_start(&P.flush, on_flush);
}

/* ---- what we know about the others ---- */

static int alive(const struct peer *p, uint64_t now) {
  return p->seen_ms && now - p->seen_ms < expire_ms();
}

/* The slot of origin, or the least recently used one, reset for it. */
static struct peer *peer_get(uint64_t origin) {
  struct peer *oldest = &P.peers[0];
  for (int i = 0; i < PEERS_MAX; i++) {
    if (P.peers[i].seen_ms && P.peers[i].origin == origin) {
      P.peers[i].last_used = ++P.peer_clock;
      return &P.peers[i];
    }
    if (P.peers[i].last_used < oldest->last_used)
      oldest = &P.peers[i];
  }
  memset(oldest, 0, sizeof *oldest);
  oldest->origin = origin;
  oldest->last_used = ++P.peer_clock;
  return oldest;
}

static void update_sending(void) {
  uint64_t now = now_ms();
  int send = !P.sight_ms || now - P.sight_ms < grace_ms();
  for (int i = 0; i < PEERS_MAX && !send; i++)
    send = P.peers[i].watching && alive(&P.peers[i], now);
  if (send != P.sending)
    log_debug("websocket messages to other processes", "sending=%d", send);
  P.sending = send;
}

/* Ends a pending ask once every live process acknowledged it, or when it took too long. */
static void check_ask(void) {
  if (!P.ask)
    return;
  uint64_t now = now_ms();
  int done = P.sight_ms && now - P.sight_ms >= learn_ms();
  for (int i = 0; i < PEERS_MAX && done; i++)
    if (alive(&P.peers[i], now) && P.peers[i].acked != P.ask)
      done = 0;
  if (!done && now - P.ask_ms < ask_timeout_ms())
    return;
  if (!done) {
    log_warn("websocket subscribers answered before every process acknowledged them", NULL);
    P.gave_up_ask = P.ask;
  }
  P.ask = 0;
  P.hooks->confirmed();
}

/* ---- sending ---- */

/* Queues a control payload: our prefix, then tail. */
static void control(const char *tail) {
  if (P.ncontrol >= CONTROL_MAX)
    return; /* an ack lost: the asker stops waiting after its timeout */
  snprintf(P.control[P.ncontrol++], CONTROL_LEN, "%s%s", P.own_prefix, tail);
  wake_flush();
}

/* Says whether we watch and send; ask (if not 0) asks for acks, hello for heartbeats. */
static void heartbeat(uint64_t ask, int hello) {
  char tail[100];
  int n = snprintf(tail, sizeof tail, ",\"hb\":1,\"watching\":%d,\"sending\":%d,\"withheld\":%d",
                   P.watching, P.sending, P.withheld);
  if (ask)
    n += snprintf(tail + n, sizeof tail - (size_t)n, ",\"ask\":%" PRIu64, ask);
  snprintf(tail + n, sizeof tail - (size_t)n, "%s}", hello ? ",\"hello\":1" : "");
  control(tail);
  P.announced = P.watching;
  P.last_hb_ms = now_ms();
}

void ws_peers_withhold(void) { P.withheld = 1; }

void ws_peers_send(struct ws_msg *m) {
  if (!P.ready || P.closing)
    return;
  if (!P.sending) {
    ws_peers_withhold();
    return;
  }
  m->seq = P.next_seq++;
  if (P.out_count >= OUTBOX_MAX_MSGS || P.out_bytes + m->len > OUTBOX_MAX_BYTES) {
    /* The skipped number tells the other processes that they missed something. */
    if (!P.warned_outbox++)
      log_warn("websocket messages to other processes dropped: the database is too slow",
               NULL);
    return;
  }
  m->refs++;
  m->next = NULL;
  if (P.out_tail)
    P.out_tail->next = m;
  else
    P.out_head = m;
  P.out_tail = m;
  P.out_count++;
  P.out_bytes += m->len;
  wake_flush();
}

static struct ws_msg *outbox_pop(void) {
  struct ws_msg *m = P.out_head;
  if (!m)
    return NULL;
  P.out_head = m->next;
  if (!P.out_head)
    P.out_tail = NULL;
  m->next = NULL;
  P.out_count--;
  P.out_bytes -= m->len;
  return m;
}

/* Fills buf with one payload: the oldest outbox messages that fit and are numbered
 * consecutively. A message too big even alone goes as a refetch hint. */
static void build_payload(char *buf) {
  uint64_t first = P.out_head->seq;
  size_t n = (size_t)snprintf(buf, PAYLOAD_MAX, "%s,\"seq\":%" PRIu64 ",\"msgs\":[",
                              P.own_prefix, first);
  size_t count = 0;
  while (P.out_head && P.out_head->seq == first + count) {
    struct ws_msg *m = P.out_head, *hint = NULL;
    size_t comma = count > 0;
    if (n + comma + m->len + 2 > PAYLOAD_MAX) {
      if (count > 0)
        break; /* the next payload */
      m = hint = ws_msg_refetch_hint(m->topic);
      if (!m || n + m->len + 2 > PAYLOAD_MAX) {
        ws_msg_unref(hint);
        ws_msg_unref(outbox_pop()); /* lost: the gap in numbers tells the receivers */
        break;
      }
    }
    if (comma)
      buf[n++] = ',';
    memcpy(buf + n, ws_msg_text(m), m->len);
    n += m->len;
    count++;
    ws_msg_unref(hint);
    ws_msg_unref(outbox_pop());
  }
  memcpy(buf + n, "]}", 3);
}

static void on_notified(void *data, int rc, const struct db_result *r) {
  (void)data;
  P.in_flight = 0;
  if (rc && rc != ERR_CANCELLED && !P.warned_notify++)
    log_warn("websocket messages to other processes lost", "code=%s reason=%s", err_name(rc),
             log_quote(r && r->error ? r->error : ""));
  if (!rc)
    P.warned_notify = P.warned_outbox = 0;
  if (P.out_head || P.ncontrol)
    wake_flush();
}

/* Once per loop turn while something waits and no batch is in flight: everything queued
 * since goes out as one transaction of NOTIFYs, in order. */
static void on_flush(uv_idle_t *h) {
  uv_idle_stop(h);
  if (P.in_flight || (!P.out_head && !P.ncontrol) || P.closing)
    return;
  char *buf = malloc(PAYLOAD_MAX + 1);
  struct db_batch *b = buf ? db_batch_new() : NULL;
  if (!b) {
    free(buf);
    return; /* retried at the next publish or tick */
  }
  /* Notifications are delivered at commit, flushed or not; losing some in a crash of
   * PostgreSQL itself changes nothing, since the listeners lose their connections too. */
  db_batch_add(b, "flowd_ws_async", "SELECT set_config('synchronous_commit', 'off', true)", 0,
               NULL);
  static const char *const sql = "SELECT pg_notify('" CHANNEL "', $1)";
  for (int i = 0; i < P.ncontrol; i++) {
    const char *params[1] = {P.control[i]};
    db_batch_add(b, "flowd_ws_notify", sql, 1, params);
  }
  P.ncontrol = 0;
  for (int i = 0; P.out_head && i < PAYLOADS_MAX; i++) {
    build_payload(buf);
    const char *params[1] = {buf};
    if (db_batch_add(b, "flowd_ws_notify", sql, 1, params) != 0)
      break;
  }
  free(buf);
  P.in_flight = 1;
  db_submit(P.db, b, on_notified, NULL);
}

static void on_tick(uv_timer_t *t) {
  uint64_t now = now_ms();
  if (P.sight_ms && now - P.own_seen_ms > grace_ms()) {
    log_warn("websocket: our heartbeats no longer come back; sending everything", NULL);
    P.sight_ms = 0; /* blind: we cannot hear the others either */
    P.retry_ms = 0;
  }
  if (!P.sight_ms) {
    /* Until one comes back (at start, the LISTEN may not be in place yet), say hello again
     * soon, less and less often. */
    P.retry_ms = P.retry_ms ? P.retry_ms * 2 : 50;
    if (P.retry_ms > P.hb_ms / 5)
      P.retry_ms = P.hb_ms / 5;
    P.sending = 1;
    heartbeat(0, 1);
    uv_timer_start(t, on_tick, P.retry_ms, P.hb_ms / 5);
  }
  update_sending();
  if (P.sight_ms && (now - P.last_hb_ms >= P.hb_ms || P.announced != P.watching))
    heartbeat(0, 0);
  check_ask();
}

/* ---- receiving ---- */

/* Notes the numbers p sent; returns how many it sent that we never saw. */
static long peer_gap(struct peer *p, uint64_t seq, uint64_t count) {
  long missed = p->has_seq && seq > p->next_seq ? (long)(seq - p->next_seq) : 0;
  p->has_seq = 1; /* before the first: we cannot know what came before */
  p->next_seq = seq + count;
  return missed;
}

static void on_messages(struct peer *p, cJSON *seq, cJSON *msgs) {
  if (!cJSON_IsNumber(seq) || seq->valuedouble < 0 || !cJSON_IsArray(msgs))
    return;
  long missed = peer_gap(p, (uint64_t)seq->valuedouble, cJSON_GetArraySize(msgs));
  if (missed > 0)
    P.hooks->missed(missed);
  cJSON *item;
  cJSON_ArrayForEach(item, msgs) {
    const char *topic = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "topic"));
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "type"));
    if (!topic || !type || !P.hooks->wanted(topic))
      continue;
    struct ws_msg *m = ws_msg_from_text(cJSON_PrintUnformatted(item), topic,
                                        ws_msg_kind_of(type));
    if (m) {
      P.hooks->deliver(m);
      ws_msg_unref(m);
    }
  }
}

static int flag(cJSON *doc, const char *name) {
  return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(doc, name)) > 0;
}

static void unknown_peer(void);

static void on_heartbeat(struct peer *p, cJSON *doc) {
  if (p->unverified && flag(doc, "withheld"))
    unknown_peer();
  p->unverified = 0;
  p->watching = flag(doc, "watching");
  update_sending(); /* before the ack: what we publish from now on goes out */
  cJSON *ask = cJSON_GetObjectItemCaseSensitive(doc, "ask");
  if (cJSON_IsNumber(ask) && p->watching) {
    char tail[80];
    snprintf(tail, sizeof tail, ",\"ack\":%" PRIu64 ",\"to\":\"%016" PRIx64 "\"}",
             (uint64_t)ask->valuedouble, p->origin);
    control(tail);
  }
  if (flag(doc, "hello"))
    heartbeat(0, 0); /* a process that just started learns who is there */
}

static void on_ack(struct peer *p, cJSON *doc) {
  const char *to = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "to"));
  cJSON *ack = cJSON_GetObjectItemCaseSensitive(doc, "ack");
  if (!to || strtoull(to, NULL, 16) != P.origin || !cJSON_IsNumber(ack))
    return;
  uint64_t a = (uint64_t)ack->valuedouble;
  if (a > p->acked)
    p->acked = a;
  if (a && a == P.gave_up_ask) {
    /* We answered our subscribers before this process sent to them: it may have published
     * things they never got. */
    P.gave_up_ask = 0;
    P.hooks->missed(1);
  }
  check_ask();
}

/* A process we did not know of (or had taken for gone) whose first heartbeat since says it
 * has held messages back before: if our subscribers were answered without its ack, it may
 * have published things they never got. (A process that just started has held nothing back.
 * At our own start, until learn_ms, no subscriber was answered yet.) */
static void unknown_peer(void) {
  if (P.announced && P.watching && !P.ask && P.sight_ms && now_ms() - P.sight_ms >= learn_ms()) {
    log_info("websocket: a process we did not know of may have withheld messages", NULL);
    P.hooks->missed(1);
  }
}

/* Our own heartbeat came back: we hear what is committed on the channel. */
static void on_own_heartbeat(void) {
  uint64_t now = now_ms();
  P.own_seen_ms = now;
  if (!P.sight_ms) {
    P.sight_ms = now;
    /* Answers to our hello come within learn_ms; an ask waiting for them ends then. */
    uv_timer_start(&P.tick, on_tick, learn_ms(), P.hb_ms / 5);
  }
}

static void on_notify(void *data, const char *channel, const char *payload) {
  (void)data, (void)channel;
  size_t pl = strlen(P.own_prefix);
  if (P.closing)
    return;
  if (strncmp(payload, P.own_prefix, pl) == 0) {
    if (strncmp(payload + pl, ",\"hb\"", 5) == 0)
      on_own_heartbeat();
    return; /* our messages were delivered here when published */
  }
  cJSON *doc = cJSON_Parse(payload);
  const char *origin = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "origin"));
  uint64_t from = origin ? strtoull(origin, NULL, 16) : 0;
  if (!origin || !cJSON_IsObject(doc)) {
    log_warn("ignoring a malformed websocket notification", "payload=%s", log_quote(payload));
  } else if (from != P.origin) { /* not ours, written some other way */
    struct peer *p = peer_get(from);
    if (!alive(p, now_ms()))
      p->unverified = 1;
    p->seen_ms = now_ms();
    if (cJSON_GetObjectItemCaseSensitive(doc, "hb"))
      on_heartbeat(p, doc);
    else if (cJSON_GetObjectItemCaseSensitive(doc, "ack"))
      on_ack(p, doc);
    else
      on_messages(p, cJSON_GetObjectItemCaseSensitive(doc, "seq"),
                  cJSON_GetObjectItemCaseSensitive(doc, "msgs"));
  }
  cJSON_Delete(doc);
}

/* ---- the hub's side ---- */

void ws_peers_watch(int watching) {
  P.watching = watching != 0;
  if (!P.ready || P.closing || !P.watching || P.announced)
    return; /* stopping watching is said by the next tick's heartbeat */
  P.ask = ++P.next_ask;
  P.ask_ms = now_ms();
  heartbeat(P.ask, 0);
  check_ask(); /* nobody to wait for? */
}

int ws_peers_confirmed(void) { return P.ask == 0; }
int ws_peers_sending(void) { return P.sending; }
uint64_t ws_peers_origin(void) { return P.origin; }

int ws_peers_init(struct server *srv, const struct ws_peers_hooks *hooks) {
  if (sodium_init() < 0)
    return ERR_IO;
  memset(&P, 0, sizeof P); /* a process (a test) may start the hub again after a shutdown */
  P.db = srv->db;
  P.loop = srv->loop;
  P.hooks = hooks;
  const char *hb = getenv("FLOWD_WS_HEARTBEAT_MS");
  P.hb_ms = hb && atoi(hb) >= 20 ? (uint64_t)atoi(hb) : HEARTBEAT_MS;
  randombytes_buf(&P.origin, sizeof P.origin);
  snprintf(P.own_prefix, sizeof P.own_prefix, "{\"origin\":\"%016" PRIx64 "\"", P.origin);
  if (uv_idle_init(srv->loop, &P.flush) != 0)
    return ERR_IO;
  uv_timer_init(srv->loop, &P.tick);
  int rc = db_listen(P.db, CHANNEL, on_notify, NULL);
  if (rc) {
    uv_close((uv_handle_t *)&P.flush, NULL);
    uv_close((uv_handle_t *)&P.tick, NULL);
    return rc;
  }
  P.ready = 1;
  P.sending = 1; /* blind until our first heartbeat comes back */
  heartbeat(0, 1);
  uv_timer_start(&P.tick, on_tick, 50, P.hb_ms / 5);
  return 0;
}

void ws_peers_shutdown(void) {
  if (!P.ready || P.closing)
    return;
  P.closing = 1;
  struct ws_msg *m;
  while ((m = outbox_pop()))
    ws_msg_unref(m);
  uv_idle_stop(&P.flush);
  uv_close((uv_handle_t *)&P.flush, NULL);
  uv_timer_stop(&P.tick);
  uv_close((uv_handle_t *)&P.tick, NULL);
}
