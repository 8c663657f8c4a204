/* presence: the API flag, websocket counting with a grace period, and the heartbeat that
 * keeps this process's websocket rows alive and clears dead processes' rows (see presence.h).
 *
 * Invariant: one struct sock per staff member with websockets on this process; at most one
 * database write per sock is in flight, and when it completes the sock writes again if what
 * it wants changed meanwhile. Answers carry a copy of the staff id, never a sock pointer; a
 * sock is freed from its timer's close callback once nothing refers to it. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "graph/err.h"
#include "server/api_util.h"
#include "server/db.h"
#include "server/intake.h"
#include "server/log.h"
#include "server/presence.h"
#include "server/server.h"
#include "server/staffcache.h"
#include "server/ws.h"

#define HEARTBEAT_MS 30000
#define ID_MAX 64
#define LIVE "interval '90 seconds'" /* a process that has not refreshed for this long is dead */

struct sock {
  struct sock *next;
  uv_timer_t grace; /* armed while conns == 0, before the row goes */
  char staff_id[ID_MAX];
  int conns;   /* open authenticated websockets on this process */
  int want;    /* the presence_sockets row should exist */
  int written; /* the database has it, as far as the last write said */
  int busy;    /* a write is in flight */
};

static struct {
  struct server *srv;
  struct sock *socks;
  uv_timer_t heartbeat;
  char process_id[33];
  int started, stopped;
} P;

/* Sets online from the flag and live websocket rows for staff $1 (NULL: everyone); returns
 * one JSON row per member whose online flipped. */
static const char RECOMPUTE[] =
    "WITH c AS (SELECT q.staff_id, q.api_online OR EXISTS (SELECT 1 FROM presence_sockets k "
    "WHERE k.staff_id = q.staff_id AND k.seen_at > now() - " LIVE ") AS online "
    "FROM staff_presence q WHERE $1::text IS NULL OR q.staff_id = $1) "
    "UPDATE staff_presence p SET online = c.online, changed_at = now(), source = $2 FROM c "
    "WHERE p.staff_id = c.staff_id AND p.online <> c.online "
    "RETURNING json_build_object('staff', p.staff_id, 'online', p.online, 'source', p.source, "
    "'at', p.changed_at)";

static void event_done(void *data, int rc, const cJSON *accepted, const cJSON *result) {
  (void)data, (void)accepted, (void)result;
  if (rc)
    log_warn("could not submit a presence event", "error=%s", err_name(rc));
}

/* Every flip becomes the event staff.online / staff.offline {id} that flows trigger on; the
 * process that made the flip (and publishes it) submits it, so there is one per flip. */
static void submit_event(const cJSON *msg) {
  const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(msg, "staff"));
  if (!id)
    return;
  cJSON *ev = cJSON_CreateObject();
  cJSON_AddStringToObject(ev, "type", cJSON_IsTrue(cJSON_GetObjectItem(msg, "online"))
                                          ? "staff.online" : "staff.offline");
  cJSON_AddStringToObject(cJSON_AddObjectToObject(ev, "data"), "id", id);
  cJSON *events = cJSON_CreateArray();
  cJSON_AddItemToArray(events, ev);
  intake_submit(events, 0, 0, event_done, NULL);
}

void presence_publish(const struct db_result *r, int stmt) {
  if (api_rows(r, stmt) > 0)
    staffcache_clear(); /* the staff rows action.assign keeps say who is online */
  for (int i = 0; i < api_rows(r, stmt); i++) {
    cJSON *msg = cJSON_Parse(PQgetvalue(r->res[stmt], i, 0));
    if (!msg)
      continue;
    submit_event(msg); /* presence as events (the sales-actions issue) */
    ws_publish("presence", "presence.changed", msg);
  }
}

static void log_failure(const char *what, int rc, const struct db_result *r) {
  if (rc && rc != ERR_CANCELLED)
    log_warn(what, "error=%s", log_quote(r && r->error ? r->error : err_str(rc)));
}

/* ---- the API flag ---- */

void presence_batch_api(struct db_batch *b, const char *staff_id, int online,
                        const char *source) {
  const char *params[3] = {staff_id, online ? "true" : "false", source};
  db_batch_add(b, "presence_api",
               "UPDATE staff_presence SET api_online = $2::boolean, api_changed_at = now() "
               "WHERE staff_id = $1 RETURNING staff_id",
               2, params);
  const char *rparams[2] = {staff_id, source};
  db_batch_add(b, "presence_recompute", RECOMPUTE, 2, rparams);
  db_batch_add(b, "presence_get",
               "SELECT " PRESENCE_JSON " FROM staff s LEFT JOIN staff_presence p "
               "ON p.staff_id = s.id WHERE s.id = $1",
               1, params);
}

static void api_done(void *data, int rc, const struct db_result *r) {
  log_failure("could not record presence", rc, r);
  if (!rc)
    presence_publish(r, 1);
}

/* ---- websockets ---- */

static struct sock *find(const char *staff_id) {
  for (struct sock *s = P.socks; s; s = s->next)
    if (strcmp(s->staff_id, staff_id) == 0)
      return s;
  return NULL;
}

static void free_sock(uv_handle_t *h) { free(h->data); }

static void release(struct sock *s) {
  for (struct sock **pp = &P.socks; *pp; pp = &(*pp)->next)
    if (*pp == s) {
      *pp = s->next;
      break;
    }
  uv_timer_stop(&s->grace);
  uv_close((uv_handle_t *)&s->grace, free_sock);
}

struct write {
  char staff_id[ID_MAX];
  int want;
};

static void sync_sock(struct sock *s);

static void write_done(void *data, int rc, const struct db_result *r) {
  struct write *w = data;
  struct sock *s = P.stopped ? NULL : find(w->staff_id);
  log_failure("could not record a websocket's presence", rc, r);
  if (!rc)
    presence_publish(r, 1);
  if (s) {
    s->busy = 0;
    if (!rc)
      s->written = w->want;
    /* After a failure the heartbeat tries again; retrying now would spin while the
     * database is down. */
    if (!rc)
      sync_sock(s);
  }
  free(w);
}

/* Brings the database in line with s->want, or frees s when there is nothing left to do. */
static void sync_sock(struct sock *s) {
  if (s->busy)
    return;
  if (s->want == s->written) {
    if (s->conns == 0 && !s->want && !uv_is_active((uv_handle_t *)&s->grace))
      release(s);
    return;
  }
  struct write *w = malloc(sizeof *w);
  if (!w)
    return;
  snprintf(w->staff_id, sizeof w->staff_id, "%s", s->staff_id);
  w->want = s->want;
  const char *params[2] = {P.process_id, s->staff_id};
  struct db_batch *b = db_batch_new();
  if (s->want)
    db_batch_add(b, "presence_sock_add",
                 "INSERT INTO presence_sockets (process_id, staff_id) SELECT $1, id FROM staff "
                 "WHERE id = $2 ON CONFLICT (process_id, staff_id) DO UPDATE SET seen_at = now()",
                 2, params);
  else
    db_batch_add(b, "presence_sock_del",
                 "DELETE FROM presence_sockets WHERE process_id = $1 AND staff_id = $2", 2,
                 params);
  const char *rparams[2] = {s->staff_id, "ws"};
  db_batch_add(b, "presence_recompute", RECOMPUTE, 2, rparams);
  s->busy = 1;
  db_submit(P.srv->db, b, write_done, w);
}

static void on_grace(uv_timer_t *t) {
  struct sock *s = t->data;
  if (s->conns == 0) {
    s->want = 0;
    sync_sock(s);
  }
}

static struct sock *sock_new(const char *staff_id) {
  struct sock *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  snprintf(s->staff_id, sizeof s->staff_id, "%s", staff_id);
  uv_timer_init(P.srv->loop, &s->grace);
  s->grace.data = s;
  s->next = P.socks;
  P.socks = s;
  return s;
}

static int set_ws(const char *staff_id, int online) {
  struct sock *s = find(staff_id);
  if (online) {
    if (!s && !(s = sock_new(staff_id)))
      return ERR_NOMEM;
    s->conns++;
    uv_timer_stop(&s->grace); /* back within the grace period: nothing changed */
    s->want = 1;
    sync_sock(s);
    return 0;
  }
  if (!s || s->conns == 0) {
    log_warn("a websocket closed that presence never saw open", "staff=%s",
             log_quote(staff_id));
    return 0;
  }
  if (--s->conns == 0)
    uv_timer_start(&s->grace, on_grace, PRESENCE_GRACE_MS, 0);
  return 0;
}

int presence_set(struct server *srv, const char *staff_id, int online, const char *source) {
  if (!staff_id || !*staff_id || strlen(staff_id) >= ID_MAX ||
      !source || !*source || strlen(source) > 32)
    return ERR_INVAL;
  if (P.stopped || !P.started)
    return 0;
  if (strcmp(source, "ws") == 0)
    return set_ws(staff_id, online);
  struct db_batch *b = db_batch_new();
  if (!b)
    return ERR_NOMEM;
  presence_batch_api(b, staff_id, online, source);
  db_submit(srv->db, b, api_done, NULL);
  return 0;
}

static void on_ws_hook(void *ud, const char *staff_id, int connected) {
  int rc = presence_set(ud, staff_id, connected, "ws");
  if (rc)
    log_warn("could not track a websocket's presence", "staff=%s error=%s",
             log_quote(staff_id), err_name(rc));
}

/* ---- the heartbeat ---- */

static void heartbeat_done(void *data, int rc, const struct db_result *r) {
  log_failure("presence heartbeat failed", rc, r);
  if (rc || P.stopped)
    return;
  presence_publish(r, 2);
  for (struct sock *s = P.socks, *next; s; s = next) {
    next = s->next; /* sync_sock may free s */
    sync_sock(s);
  }
}

static void on_heartbeat(uv_timer_t *t) {
  const char *params[2] = {P.process_id, NULL};
  struct db_batch *b = db_batch_new();
  db_batch_add(b, "presence_refresh",
               "UPDATE presence_sockets SET seen_at = now() WHERE process_id = $1", 1, params);
  db_batch_add(b, "presence_sweep",
               "DELETE FROM presence_sockets WHERE seen_at < now() - " LIVE, 0, NULL);
  const char *rparams[2] = {NULL, "sweep"};
  db_batch_add(b, "presence_recompute", RECOMPUTE, 2, rparams);
  db_submit(P.srv->db, b, heartbeat_done, NULL);
}

int presence_start(struct server *srv) {
  P.srv = srv;
  unsigned char raw[16];
  randombytes_buf(raw, sizeof raw);
  sodium_bin2hex(P.process_id, sizeof P.process_id, raw, sizeof raw);
  uv_timer_init(srv->loop, &P.heartbeat);
  uv_timer_start(&P.heartbeat, on_heartbeat, 0, HEARTBEAT_MS);
  ws_set_connection_hook(on_ws_hook, srv);
  P.started = 1;
  return 0;
}

void presence_stop(void) {
  if (!P.started || P.stopped)
    return;
  P.stopped = 1;
  ws_set_connection_hook(NULL, NULL);
  uv_close((uv_handle_t *)&P.heartbeat, NULL);
  while (P.socks)
    release(P.socks);
}
