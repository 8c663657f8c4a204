/* authdb: the in-memory mirror of sessions and API keys (see authdb.h).
 *
 * A chained hash table keyed by credential hash. Invariant: an entry is either positive (a
 * valid session or key as the database last said) or negative (known invalid, forgotten
 * after NEGATIVE_MS). Database answers carry copies of the hash, never entry pointers, so an
 * entry may be replaced or freed while a query about it is in flight. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "graph/err.h"
#include "graph/timefmt.h"
#include "server/api_util.h"
#include "server/authdb.h"
#include "server/db.h"
#include "server/log.h"
#include "server/server.h"

#define NBUCKETS 1024
#define RELOAD_MS 60000   /* the safety net for NOTIFYs lost during a reconnect */
#define NEGATIVE_MS 5000  /* how long "no such credential" is believed */
#define TOUCH_MAX_MS 60000 /* use is written to the database at most this often */

struct entry {
  struct entry *next;
  char hash[65];
  int is_key;
  int negative;
  int64_t forget_ms;  /* negatives: when to forget */
  int64_t touched_ms; /* when use was last written to the database */
  int64_t loaded_ms;  /* when it came in (a reload keeps entries newer than its query) */
  unsigned gen;       /* the last reload that saw it */
  struct authdb_session s;
  struct authdb_key k;
  char *secret;       /* keys: the HMAC secret, or NULL */
};

static struct {
  struct server *srv;
  struct entry *buckets[NBUCKETS];
  uv_timer_t reload;
  int started, stopped;
  unsigned gen;
} A;

#define SESSION_COLS                                                                    \
  "SELECT s.token_hash, s.staff_id, st.access_role, s.csrf_token, "                      \
  "(extract(epoch FROM s.expires_at) * 1000)::bigint FROM sessions s "                   \
  "JOIN staff st ON st.id = s.staff_id WHERE s.expires_at > now()"
#define KEY_COLS                                                                        \
  "SELECT key_hash, id, array_to_string(scopes, ' '), hmac_secret FROM api_keys "        \
  "WHERE revoked_at IS NULL"

void authdb_random(char *out, size_t len, const char *prefix) {
  unsigned char raw[32];
  char hex[65];
  randombytes_buf(raw, sizeof raw);
  sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
  snprintf(out, len, "%s%s", prefix, hex);
  sodium_memzero(raw, sizeof raw);
  sodium_memzero(hex, sizeof hex);
}

void authdb_hash(const char *token, char out[65]) {
  unsigned char h[32];
  crypto_generichash(h, sizeof h, (const unsigned char *)token, strlen(token), NULL, 0);
  sodium_bin2hex(out, 65, h, sizeof h);
}

/* ---- the table ---- */

static struct entry **bucket(const char *hash) {
  char head[4] = {hash[0], hash[0] ? hash[1] : 0, hash[0] && hash[1] ? hash[2] : 0, 0};
  return &A.buckets[strtoul(head, NULL, 16) % NBUCKETS];
}

static struct entry *find(const char *hash, int is_key) {
  for (struct entry *e = *bucket(hash); e; e = e->next)
    if (e->is_key == is_key && strcmp(e->hash, hash) == 0)
      return e;
  return NULL;
}

static void entry_free(struct entry *e) {
  if (e->secret) {
    sodium_memzero(e->secret, strlen(e->secret));
    free(e->secret);
  }
  free(e);
}

static void unlink_entry(struct entry *e) {
  for (struct entry **pp = bucket(e->hash); *pp; pp = &(*pp)->next)
    if (*pp == e) {
      *pp = e->next;
      entry_free(e);
      return;
    }
}

/* The entry for hash, created empty when absent (NULL when out of memory). */
static struct entry *upsert(const char *hash, int is_key) {
  struct entry *e = find(hash, is_key);
  if (e)
    return e;
  e = calloc(1, sizeof *e);
  if (!e)
    return NULL;
  snprintf(e->hash, sizeof e->hash, "%s", hash);
  e->is_key = is_key;
  e->loaded_ms = time_now_ms();
  /* A key's first use is always recorded; a session was just written or loaded. */
  e->touched_ms = is_key ? 0 : e->loaded_ms;
  struct entry **b = bucket(hash);
  e->next = *b;
  *b = e;
  return e;
}

static void put_negative(const char *hash, int is_key) {
  struct entry *e = upsert(hash, is_key);
  if (!e)
    return;
  e->negative = 1;
  e->forget_ms = time_now_ms() + NEGATIVE_MS;
  if (e->secret) {
    sodium_memzero(e->secret, strlen(e->secret));
    free(e->secret);
    e->secret = NULL;
  }
}

static enum auth_role role_of(const char *name) {
  if (strcmp(name, "admin") == 0)
    return AUTH_ADMIN;
  return strcmp(name, "manager") == 0 ? AUTH_MANAGER : AUTH_STAFF;
}

/* Row i of a SESSION_COLS result into the mirror. authoritative: the database's expiry
 * wins; otherwise (a periodic reload) the later of ours and its. */
static void put_session_row(PGresult *res, int i, int authoritative, unsigned gen) {
  struct entry *e = upsert(PQgetvalue(res, i, 0), 0);
  if (!e)
    return;
  int64_t exp = strtoll(PQgetvalue(res, i, 4), NULL, 10);
  if (!authoritative && !e->negative && e->s.expires_ms > exp)
    exp = e->s.expires_ms;
  e->negative = 0;
  snprintf(e->s.staff_id, sizeof e->s.staff_id, "%s", PQgetvalue(res, i, 1));
  e->s.role = role_of(PQgetvalue(res, i, 2));
  snprintf(e->s.csrf, sizeof e->s.csrf, "%s", PQgetvalue(res, i, 3));
  e->s.expires_ms = exp;
  e->gen = gen;
}

static unsigned scopes_of(const char *list) {
  unsigned bits = 0;
  char buf[512], *save = NULL;
  snprintf(buf, sizeof buf, "%s", list);
  for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
    bits |= auth_scope_bit(t);
  return bits;
}

static void put_key_row(PGresult *res, int i, unsigned gen) {
  struct entry *e = upsert(PQgetvalue(res, i, 0), 1);
  if (!e)
    return;
  e->negative = 0;
  snprintf(e->k.id, sizeof e->k.id, "%s", PQgetvalue(res, i, 1));
  e->k.scopes = scopes_of(PQgetvalue(res, i, 2));
  if (e->secret) {
    sodium_memzero(e->secret, strlen(e->secret));
    free(e->secret);
  }
  e->secret = PQgetisnull(res, i, 3) ? NULL : strdup(PQgetvalue(res, i, 3));
  e->k.has_secret = e->secret != NULL;
  e->gen = gen;
}

/* ---- lookups ---- */

enum authdb_found authdb_session(const char *hash, struct authdb_session *out) {
  struct entry *e = find(hash, 0);
  if (!e)
    return AUTHDB_MISS;
  int64_t now = time_now_ms();
  if (e->negative) {
    if (now < e->forget_ms)
      return AUTHDB_DENIED;
    unlink_entry(e);
    return AUTHDB_MISS;
  }
  /* Expired here, but another process may have slid it: ask the database. */
  if (e->s.expires_ms <= now)
    return AUTHDB_MISS;
  *out = e->s;
  return AUTHDB_FOUND;
}

enum authdb_found authdb_key(const char *hash, struct authdb_key *out) {
  struct entry *e = find(hash, 1);
  if (!e)
    return AUTHDB_MISS;
  if (e->negative) {
    if (time_now_ms() < e->forget_ms)
      return AUTHDB_DENIED;
    unlink_entry(e);
    return AUTHDB_MISS;
  }
  *out = e->k;
  return AUTHDB_FOUND;
}

int authdb_key_secret(const char *hash, char *buf, int len) {
  struct entry *e = find(hash, 1);
  if (!e || e->negative || !e->secret)
    return ERR_NOTFOUND;
  snprintf(buf, len, "%s", e->secret);
  return 0;
}

void authdb_put_session(const char *hash, const struct authdb_session *s) {
  struct entry *e = upsert(hash, 0);
  if (!e)
    return;
  e->negative = 0;
  e->s = *s;
  e->touched_ms = time_now_ms();
}

void authdb_drop_session(const char *hash) {
  struct entry *e = find(hash, 0);
  if (e)
    unlink_entry(e);
}

/* ---- fetching one credential ---- */

struct fetch {
  char hash[65];
  int is_key;
  void (*done)(void *data, int rc);
  void *data;
};

static void fetch_done(void *data, int rc, const struct db_result *r) {
  struct fetch *f = data;
  if (A.stopped && !rc)
    rc = ERR_CANCELLED;
  if (!rc) {
    PGresult *res = r->res[0];
    if (api_rows(r, 0) == 0)
      put_negative(f->hash, f->is_key);
    else if (f->is_key)
      put_key_row(res, 0, A.gen);
    else
      put_session_row(res, 0, 1, A.gen);
  }
  f->done(f->data, rc);
  free(f);
}

int authdb_fetch(const char *hash, int is_key, void (*done)(void *data, int rc), void *data) {
  struct fetch *f = calloc(1, sizeof *f);
  if (!f)
    return ERR_NOMEM;
  snprintf(f->hash, sizeof f->hash, "%s", hash);
  f->is_key = is_key;
  f->done = done;
  f->data = data;
  const char *p = f->hash;
  if (is_key)
    db_query(A.srv->db, "authdb_key", KEY_COLS " AND key_hash = $1", 1, &p, fetch_done, f);
  else
    db_query(A.srv->db, "authdb_session", SESSION_COLS " AND s.token_hash = $1", 1, &p,
             fetch_done, f);
  return 0;
}

/* ---- use ---- */

static void touch_done(void *data, int rc, const struct db_result *r) {
  if (rc && rc != ERR_CANCELLED)
    log_warn("could not record the use of a credential", "error=%s",
             log_quote(r && r->error ? r->error : err_str(rc)));
}

static int64_t touch_every(void) {
  int64_t quarter = auth_session_ttl_ms() / 4;
  return quarter < TOUCH_MAX_MS ? quarter : TOUCH_MAX_MS;
}

void authdb_touch_session(const char *hash) {
  struct entry *e = find(hash, 0);
  if (!e || e->negative)
    return;
  int64_t now = time_now_ms(), ttl = auth_session_ttl_ms();
  e->s.expires_ms = now + ttl;
  if (now - e->touched_ms < touch_every() || A.stopped)
    return;
  e->touched_ms = now;
  char ttlbuf[24];
  snprintf(ttlbuf, sizeof ttlbuf, "%lld", (long long)ttl);
  const char *params[2] = {hash, ttlbuf};
  db_query(A.srv->db, "authdb_touch_session",
           "UPDATE sessions SET expires_at = now() + $2::bigint * interval '1 millisecond', "
           "last_seen_at = now() WHERE token_hash = $1",
           2, params, touch_done, NULL);
}

void authdb_touch_key(const char *hash) {
  struct entry *e = find(hash, 1);
  if (!e || e->negative || A.stopped)
    return;
  int64_t now = time_now_ms();
  if (now - e->touched_ms < TOUCH_MAX_MS)
    return;
  e->touched_ms = now;
  db_query(A.srv->db, "authdb_touch_key",
           "UPDATE api_keys SET last_used_at = now() WHERE key_hash = $1", 1, &hash, touch_done,
           NULL);
}

/* ---- keeping the mirror current ---- */

struct reload {
  int64_t started_ms;
};

/* After a full reload: drop what the database no longer has (unless it came in after the
 * reload's query was sent) and negatives past their time. */
static void sweep(int64_t started_ms) {
  int64_t now = time_now_ms();
  for (int b = 0; b < NBUCKETS; b++) {
    struct entry **pp = &A.buckets[b];
    while (*pp) {
      struct entry *e = *pp;
      int stale = e->negative ? now >= e->forget_ms
                              : e->gen != A.gen && e->loaded_ms < started_ms;
      if (stale) {
        *pp = e->next;
        entry_free(e);
      } else {
        pp = &e->next;
      }
    }
  }
}

static void reload_done(void *data, int rc, const struct db_result *r) {
  struct reload *rl = data;
  if (rc && rc != ERR_CANCELLED)
    log_warn("could not reload sessions and API keys", "error=%s",
             log_quote(r && r->error ? r->error : err_str(rc)));
  if (!rc && !A.stopped) {
    A.gen++;
    for (int i = 0; i < api_rows(r, 0); i++)
      put_session_row(r->res[0], i, 0, A.gen);
    for (int i = 0; i < api_rows(r, 1); i++)
      put_key_row(r->res[1], i, A.gen);
    sweep(rl->started_ms);
  }
  free(rl);
}

static void on_reload(uv_timer_t *t) {
  struct reload *rl = malloc(sizeof *rl);
  if (!rl)
    return;
  rl->started_ms = time_now_ms();
  struct db_batch *b = db_batch_new();
  db_batch_add(b, "authdb_all_sessions", SESSION_COLS, 0, NULL);
  db_batch_add(b, "authdb_all_keys", KEY_COLS, 0, NULL);
  /* Housekeeping: sessions long expired are of no use to anyone. */
  db_batch_add(b, "authdb_purge",
               "DELETE FROM sessions WHERE expires_at < now() - interval '1 day'", 0, NULL);
  db_submit(A.srv->db, b, reload_done, rl);
}

struct reload_one {
  char what[80];
};

static void reload_one_done(void *data, int rc, const struct db_result *r) {
  struct reload_one *o = data;
  if (!rc && !A.stopped) {
    int is_key = o->what[0] == 'k';
    if (o->what[0] != 'u' && api_rows(r, 0) == 0) {
      struct entry *e = find(o->what + 2, is_key);
      if (e)
        unlink_entry(e);
    }
    for (int i = 0; i < api_rows(r, 0); i++)
      if (is_key)
        put_key_row(r->res[0], i, A.gen);
      else
        put_session_row(r->res[0], i, 1, A.gen);
  }
  free(o);
}

/* Frees every positive entry for which drop(e, arg) says so. */
static void drop_where(int (*drop)(const struct entry *e, const char *a, const char *b),
                       const char *a, const char *b) {
  for (int i = 0; i < NBUCKETS; i++) {
    struct entry **pp = &A.buckets[i];
    while (*pp) {
      struct entry *e = *pp;
      if (!e->negative && drop(e, a, b)) {
        *pp = e->next;
        entry_free(e);
      } else {
        pp = &e->next;
      }
    }
  }
}

static int of_staff(const struct entry *e, const char *staff_id, const char *keep_hash) {
  return !e->is_key && strcmp(e->s.staff_id, staff_id) == 0 &&
         !(keep_hash && strcmp(e->hash, keep_hash) == 0);
}

static int with_key_id(const struct entry *e, const char *key_id, const char *unused) {
  return e->is_key && strcmp(e->k.id, key_id) == 0;
}

void authdb_forget_staff(const char *staff_id, const char *keep_hash) {
  drop_where(of_staff, staff_id, keep_hash);
}

void authdb_forget_key(const char *key_id) { drop_where(with_key_id, key_id, NULL); }

/* payload: "s:<hash>" (a session changed), "k:<hash>" (a key), "u:<staff id>" (a staff
 * member's role changed: their sessions' role with it). */
static void on_notify(void *data, const char *channel, const char *payload) {
  if (A.stopped || strlen(payload) < 3 || payload[1] != ':' || strlen(payload) > 70)
    return;
  struct reload_one *o = calloc(1, sizeof *o);
  if (!o)
    return;
  snprintf(o->what, sizeof o->what, "%s", payload);
  const char *p = o->what + 2;
  switch (payload[0]) {
  case 's':
    db_query(A.srv->db, "authdb_session", SESSION_COLS " AND s.token_hash = $1", 1, &p,
             reload_one_done, o);
    break;
  case 'k':
    db_query(A.srv->db, "authdb_key", KEY_COLS " AND key_hash = $1", 1, &p, reload_one_done, o);
    break;
  case 'u':
    authdb_forget_staff(p, NULL);
    db_query(A.srv->db, "authdb_staff_sessions", SESSION_COLS " AND s.staff_id = $1", 1, &p,
             reload_one_done, o);
    break;
  default:
    free(o);
  }
}

int authdb_start(struct server *srv) {
  A.srv = srv;
  int rc = db_listen(srv->db, "flowd_auth", on_notify, NULL);
  if (rc)
    return rc;
  uv_timer_init(srv->loop, &A.reload);
  uv_timer_start(&A.reload, on_reload, 0, RELOAD_MS);
  A.started = 1;
  return 0;
}

void authdb_stop(void) {
  if (A.started && !A.stopped)
    uv_close((uv_handle_t *)&A.reload, NULL);
  A.stopped = 1;
  for (int b = 0; b < NBUCKETS; b++) {
    while (A.buckets[b]) {
      struct entry *e = A.buckets[b];
      A.buckets[b] = e->next;
      entry_free(e);
    }
  }
}
