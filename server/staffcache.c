/* staffcache: see staffcache.h. A small chained hash table; it is emptied on every change,
 * and when it holds MAX_ENTRIES (the people fixed assignments name are few). An entry also
 * expires after TTL_MS, which bounds how stale it can be if a notification is lost while the
 * LISTEN connection reconnects. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "graph/text.h"
#include "server/db.h"
#include "server/server.h"
#include "server/staffcache.h"

#define BUCKETS 256
#define MAX_ENTRIES 4096
#define CHANNEL "flowd_staff"
#define TTL_MS 10000

struct entry {
  char *id;
  cJSON *row;
  uint64_t at; /* uv_now when it was read */
  struct entry *next;
};

static struct {
  uv_loop_t *loop;
  struct entry *buckets[BUCKETS];
  int n;
  unsigned gen;
  int stopped;
} S;

static unsigned bucket_of(const char *id) { return (unsigned)(text_hash(id) % BUCKETS); }

static struct entry *find(const char *id) {
  for (struct entry *e = S.buckets[bucket_of(id)]; e; e = e->next)
    if (!strcmp(e->id, id))
      return e;
  return NULL;
}

const cJSON *staffcache_get(const char *id) {
  struct entry *e = S.loop ? find(id) : NULL;
  return e && uv_now(S.loop) - e->at <= TTL_MS ? e->row : NULL;
}

unsigned staffcache_generation(void) { return S.gen; }

void staffcache_clear(void) {
  S.gen++;
  for (int b = 0; b < BUCKETS; b++) {
    for (struct entry *e = S.buckets[b], *next; e; e = next) {
      next = e->next;
      free(e->id);
      cJSON_Delete(e->row);
      free(e);
    }
    S.buckets[b] = NULL;
  }
  S.n = 0;
}

void staffcache_put(const char *id, const cJSON *row, unsigned gen) {
  if (gen != S.gen || !row || S.stopped || !S.loop)
    return;
  struct entry *e = find(id);
  if (e) { /* expired: read again */
    cJSON *copy = cJSON_Duplicate(row, 1);
    if (copy) {
      cJSON_Delete(e->row);
      e->row = copy;
      e->at = uv_now(S.loop);
    }
    return;
  }
  if (S.n >= MAX_ENTRIES)
    return; /* full until the next change empties it */
  e = malloc(sizeof *e);
  if (!e)
    return;
  e->id = strdup(id);
  e->row = cJSON_Duplicate(row, 1);
  if (!e->id || !e->row) {
    free(e->id);
    cJSON_Delete(e->row);
    free(e);
    return;
  }
  e->at = uv_now(S.loop);
  unsigned b = bucket_of(id);
  e->next = S.buckets[b];
  S.buckets[b] = e;
  S.n++;
}

static void on_notify(void *data, const char *channel, const char *payload) {
  (void)data, (void)channel, (void)payload;
  staffcache_clear();
}

int staffcache_init(struct server *srv) {
  S.loop = srv->loop;
  S.stopped = 0;
  return db_listen(srv->db, CHANNEL, on_notify, NULL);
}

void staffcache_free(void) {
  staffcache_clear();
  S.stopped = 1;
}
