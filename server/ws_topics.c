/* ws_topics: the topic table (see ws_topics.h). Invariants: a topic is in its hash chain
 * exactly while it has subscribers; every ws_sub is on its topic's list and on its owner's,
 * and T.count is the number of ws_subs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "graph/err.h"
#include "graph/text.h"
#include "server/ws_topics.h"

#define BUCKETS 1024

struct ws_topic {
  struct ws_topic *next; /* hash chain */
  struct ws_sub *subs;
  char name[];
};

static struct {
  struct ws_topic *buckets[BUCKETS];
  long count;
} T;

static unsigned bucket_of(const char *s) { return (unsigned)(text_hash(s) % BUCKETS); }

static struct ws_topic *find(const char *name) {
  struct ws_topic *t = T.buckets[bucket_of(name)];
  while (t && strcmp(t->name, name) != 0)
    t = t->next;
  return t;
}

static struct ws_topic *get(const char *name) {
  struct ws_topic *t = find(name);
  if (t)
    return t;
  size_t n = strlen(name);
  t = calloc(1, sizeof *t + n + 1);
  if (!t)
    return NULL;
  memcpy(t->name, name, n + 1);
  unsigned b = bucket_of(name);
  t->next = T.buckets[b];
  T.buckets[b] = t;
  return t;
}

static void release(struct ws_topic *t) {
  if (t->subs)
    return;
  struct ws_topic **pp = &T.buckets[bucket_of(t->name)];
  while (*pp != t)
    pp = &(*pp)->next;
  *pp = t->next;
  free(t);
}

struct ws_sub *ws_topic_subscribers(const char *topic) {
  struct ws_topic *t = find(topic);
  return t ? t->subs : NULL;
}

const char *ws_sub_topic(const struct ws_sub *s) { return s->topic->name; }

long ws_topics_count(void) { return T.count; }

static struct ws_sub **slot(struct ws_subs *subs, const char *topic) {
  struct ws_sub **pp = &subs->head;
  while (*pp && strcmp((*pp)->topic->name, topic) != 0)
    pp = &(*pp)->onext;
  return pp;
}

int ws_subs_add(struct ws_subs *subs, void *owner, const char *topic, int max) {
  if (*slot(subs, topic))
    return 0;
  if (subs->n >= max)
    return ERR_RANGE;
  struct ws_sub *s = calloc(1, sizeof *s);
  struct ws_topic *t = s ? get(topic) : NULL;
  if (!t) {
    free(s);
    return ERR_NOMEM;
  }
  s->owner = owner;
  s->topic = t;
  s->tnext = t->subs;
  if (t->subs)
    t->subs->tprev = s;
  t->subs = s;
  s->onext = subs->head;
  subs->head = s;
  subs->n++;
  T.count++;
  return 0;
}

/* Takes s off its topic's list and frees it (the owner's list is the caller's). */
static void unlink_sub(struct ws_sub *s) {
  if (s->tprev)
    s->tprev->tnext = s->tnext;
  else
    s->topic->subs = s->tnext;
  if (s->tnext)
    s->tnext->tprev = s->tprev;
  release(s->topic);
  free(s);
  T.count--;
}

void ws_subs_remove(struct ws_subs *subs, const char *topic) {
  struct ws_sub **pp = slot(subs, topic);
  struct ws_sub *s = *pp;
  if (!s)
    return;
  *pp = s->onext;
  subs->n--;
  unlink_sub(s);
}

void ws_subs_clear(struct ws_subs *subs) {
  while (subs->head) {
    struct ws_sub *s = subs->head;
    subs->head = s->onext;
    unlink_sub(s);
  }
  subs->n = 0;
}
