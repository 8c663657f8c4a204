/* intake: group commit of events through flowd_intake(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/err.h"
#include "server/api_util.h"
#include "server/db.h"
#include "server/exec.h"
#include "server/intake.h"
#include "server/log.h"
#include "server/server.h"

#define GROUP_MAX 2000 /* events per commit */
/* When a call returns, the call that goes next takes at most half of the events then queued
 * or just answered, and at least SPLIT_MIN (see group_done). */
#define SPLIT_MIN 8
/* While a call is in flight, a second goes behind it on the same connection once this many
 * events wait (see send_next). */
#define PIPELINE_MIN 64

struct waiter {
  cJSON *events;
  long long cause;
  int depth;
  intake_cb cb;
  void *data;
  struct waiter *next;
};

struct group {
  struct waiter *first;
  int nevents;
};

static struct {
  struct server *srv;
  struct waiter *head, *tail; /* queued, not yet sent */
  int queued;
  int in_flight; /* calls sent and not answered: 0, 1 or 2 */
  int conn;      /* the connection of the calls in flight (db_query_on), -1 before one */
  unsigned long long calls, events; /* intake calls sent, and the events they carried */
} I;

static int valid_type(const char *t) {
  size_t n = strlen(t);
  if (n == 0 || n > 100 || !(t[0] >= 'a' && t[0] <= 'z'))
    return 0;
  int dots = 0;
  for (const char *p = t; *p; p++) {
    if (*p == '.') {
      if (p[1] == '.' || p[1] == '\0')
        return 0;
      dots++;
    } else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
      return 0;
    }
  }
  return dots >= 1;
}

static int is_record_verb(const char *t) {
  const char *dot = strrchr(t, '.');
  return dot && strchr(t, '.') == dot &&
         (!strcmp(dot, ".created") || !strcmp(dot, ".updated") || !strcmp(dot, ".deleted"));
}

const char *intake_check_event(const cJSON *ev, const char **field) {
  *field = "";
  if (!cJSON_IsObject(ev))
    return "an event must be a JSON object";
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
  const cJSON *key = cJSON_GetObjectItemCaseSensitive(ev, "key");
  const cJSON *data = cJSON_GetObjectItemCaseSensitive(ev, "data");
  *field = "type";
  if (!cJSON_IsString(type))
    return "\"type\" is required: a string such as \"order.created\"";
  if (!valid_type(type->valuestring))
    return "\"type\" must be lowercase words separated by dots, such as \"order.created\"";
  if (strstr(type->valuestring, ".status_changed"))
    return "\"<kind>.status_changed\" is raised by flowd when a status changes; post "
           "\"<kind>.updated\" with the new status";
  *field = "key";
  if (key && !cJSON_IsNull(key) &&
      (!cJSON_IsString(key) || !key->valuestring[0] || strlen(key->valuestring) > 200))
    return "\"key\" must be a non-empty string of at most 200 characters";
  *field = "data";
  if (data && !cJSON_IsObject(data))
    return "\"data\" must be a JSON object";
  /* A comment on a fan page is a conversation event (its record is the conversation), even
   * though its type reads like a record event. */
  int fan_page_comment = !strcmp(type->valuestring, "comment.created") &&
                         cJSON_IsString(cJSON_GetObjectItemCaseSensitive(data, "page_id"));
  if (is_record_verb(type->valuestring) && !fan_page_comment) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(data, "id");
    *field = "data.id";
    if (!cJSON_IsString(id) || !id->valuestring[0] || strlen(id->valuestring) > 200)
      return "a record event needs \"data.id\": the record's id, a non-empty string";
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(data, "status");
    *field = "data.status";
    if (st && !cJSON_IsString(st) && !cJSON_IsNull(st))
      return "\"data.status\" must be a string";
    const cJSON *cust = cJSON_GetObjectItemCaseSensitive(data, "customer");
    *field = "data.customer.id";
    if (cJSON_IsObject(cust) && !cJSON_IsString(cJSON_GetObjectItem(cust, "id")))
      return "an inline customer needs \"id\": a string";
  }
  *field = "";
  return NULL;
}

/* ---- which groups the set-based intake takes (the test of schema/008's flowd_intake) ---- */

struct intake_key {
  char *key;   /* kind, US, id */
  int inline_; /* an inline customer (these may repeat among themselves) */
};

static int is_kind(const char *t, size_t n) {
  if (n == 0 || !(t[0] >= 'a' && t[0] <= 'z'))
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') || t[i] == '_'))
      return 0;
  return 1;
}

static void add_key(struct intake_keys *ks, const char *kind, size_t kn, const char *id,
                    int inline_) {
  if (ks->n == ks->cap) {
    size_t cap = ks->cap ? ks->cap * 2 : 32;
    struct intake_key *k = realloc(ks->keys, cap * sizeof *k);
    if (!k) {
      ks->one_by_one = 1;
      return;
    }
    ks->keys = k;
    ks->cap = cap;
  }
  size_t in = strlen(id);
  char *key = malloc(kn + 1 + in + 1);
  if (!key) {
    ks->one_by_one = 1;
    return;
  }
  memcpy(key, kind, kn);
  key[kn] = '\x1f';
  memcpy(key + kn + 1, id, in + 1);
  ks->keys[ks->n++] = (struct intake_key){key, inline_};
}

void intake_keys_add(struct intake_keys *ks, const cJSON *events) {
  static const char *const fan_page[] = {"message.received", "comment.created",
                                         "livestream.comment"};
  const cJSON *ev;
  cJSON_ArrayForEach(ev, events) {
    if (ks->one_by_one)
      return;
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "type"));
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(ev, "data");
    if (!type) {
      ks->one_by_one = 1;
      return;
    }
    const cJSON *page = cJSON_GetObjectItemCaseSensitive(data, "page_id");
    for (size_t i = 0; i < sizeof fan_page / sizeof fan_page[0]; i++)
      if (!strcmp(type, fan_page[i]) && page && !cJSON_IsNull(page) &&
          !(cJSON_IsString(page) && !page->valuestring[0]))
        ks->one_by_one = 1;
    const char *dot = strchr(type, '.');
    if (!dot || strcmp(dot, ".updated") || !is_kind(type, (size_t)(dot - type)) ||
        !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(data, "id")) ||
        cJSON_GetObjectItemCaseSensitive(data, "status") ||
        cJSON_GetObjectItemCaseSensitive(data, "customer") ||
        cJSON_GetObjectItemCaseSensitive(ev, "replace"))
      ks->not_patch = 1;
    if (ks->one_by_one || !is_record_verb(type) || !is_kind(type, (size_t)(dot - type)) ||
        !cJSON_IsObject(data) || !cJSON_GetObjectItemCaseSensitive(data, "id"))
      continue;
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, "id"));
    const cJSON *cust = cJSON_GetObjectItemCaseSensitive(data, "customer");
    const cJSON *cid = cJSON_GetObjectItemCaseSensitive(cust, "id");
    size_t kn = (size_t)(dot - type);
    int is_customer = kn == 8 && !strncmp(type, "customer", 8);
    if (!id || (!is_customer && cJSON_IsObject(cust) && cid && !cJSON_IsString(cid))) {
      ks->one_by_one = 1; /* ids that are not strings: the careful way */
      return;
    }
    add_key(ks, type, kn, id, 0);
    if (!is_customer && cJSON_IsObject(cust) && cid)
      add_key(ks, "customer", 8, cid->valuestring, 1);
  }
}

static int key_cmp(const void *a, const void *b) {
  return strcmp(((const struct intake_key *)a)->key, ((const struct intake_key *)b)->key);
}

int intake_keys_set_based(struct intake_keys *ks) {
  int ok = !ks->one_by_one;
  if (ok && ks->n > 1)
    qsort(ks->keys, ks->n, sizeof *ks->keys, key_cmp);
  /* A record twice, or a record that is also an inline customer: one by one. */
  for (size_t i = 0, j; ok && i < ks->n; i = j) {
    int records = 0, inlines = 0;
    for (j = i; j < ks->n && !strcmp(ks->keys[j].key, ks->keys[i].key); j++)
      ks->keys[j].inline_ ? inlines++ : records++;
    ok = records == 0 || (records == 1 && inlines == 0);
  }
  for (size_t i = 0; i < ks->n; i++)
    free(ks->keys[i].key);
  free(ks->keys);
  *ks = (struct intake_keys){0};
  return ok;
}

static void send_next(int max_events);

static void group_done(void *data, int rc, const struct db_result *r) {
  struct group *g = data;
  I.in_flight--;
  /* The next group goes first: PostgreSQL commits it while this one's runs execute here.
   * The clients answered now will post again soon (most wait for their 202 first), while
   * the events queued meanwhile are often few. Sent whole, the queue makes the groups
   * alternate between a tiny one and a big one, and the lane spends a whole call on a few
   * events while flowd is still answering the big group. So the next group takes at most
   * half of what is queued plus what was just answered: under load the lane settles into
   * two groups of about equal size, one committing while flowd answers the other and runs
   * its runs (bench/README.md: +9–14% at 32 connections). Arrivals that do not wait for
   * answers queue about as many events per call as the call carried, so it rarely bites. */
  int half = (I.queued + g->nevents + 1) / 2;
  send_next(half > SPLIT_MIN ? half : SPLIT_MIN);
  cJSON *result = rc == 0 ? api_row_json(r, 0, 0) : NULL;
  if (rc == 0 && !result)
    rc = ERR_DB;
  if (rc && r && r->error)
    log_error("event intake failed", "error=%s", log_quote(r->error));
  const cJSON *accepted = cJSON_GetObjectItem(result, "accepted");
  const cJSON *a = accepted ? accepted->child : NULL; /* the next waiter's first answer */
  for (struct waiter *w = g->first; w;) {
    struct waiter *next = w->next;
    int n = cJSON_GetArraySize(w->events);
    cJSON *mine = cJSON_CreateArray();
    for (int k = 0; k < n && a; k++, a = a->next)
      if (rc == 0)
        cJSON_AddItemToArray(mine, cJSON_Duplicate(a, 1));
    w->cb(w->data, rc, mine, result);
    cJSON_Delete(mine);
    cJSON_Delete(w->events);
    free(w);
    w = next;
  }
  if (rc == 0)
    exec_take(result);
  cJSON_Delete(result);
  free(g);
}

/* Sends the queued waiters with the same cause and depth as the first as one group of at
 * most max_events (and at least the first waiter).
 *
 * One call is in flight at a time, except under heavy load: once PIPELINE_MIN events wait
 * behind a call in flight, they go at once behind it on the same connection. PostgreSQL runs
 * the two one after the other (events on one record still apply in order, and the second
 * sees the first's keys as duplicates), but the second starts as soon as the first commits,
 * without waiting for its answer to travel to flowd and for flowd's loop to get to it (with
 * 10–25 events per request, a quarter of the lane's time: bench/README.md). The threshold
 * keeps lighter loads as they were, each call taking all that waits. */
static void send_next(int max_events) {
  if (!I.head || I.in_flight >= 2 ||
      (I.in_flight == 1 && (I.conn < 0 || I.queued < PIPELINE_MIN)))
    return;
  if (max_events > GROUP_MAX)
    max_events = GROUP_MAX;
  struct group *g = calloc(1, sizeof *g);
  cJSON *all = cJSON_CreateArray();
  long long cause = I.head->cause;
  int depth = I.head->depth;
  struct waiter **tail = &g->first;
  while (I.head && I.head->cause == cause && I.head->depth == depth &&
         (g->nevents == 0 || g->nevents + cJSON_GetArraySize(I.head->events) <= max_events)) {
    struct waiter *w = I.head;
    I.head = w->next;
    if (!I.head)
      I.tail = NULL;
    w->next = NULL;
    *tail = w;
    tail = &w->next;
    int n = cJSON_GetArraySize(w->events);
    g->nevents += n;
    I.queued -= n;
    for (int k = 0; k < n; k++)
      cJSON_AddItemReferenceToArray(all, cJSON_GetArrayItem(w->events, k));
  }
  struct intake_keys ks = {0};
  intake_keys_add(&ks, all);
  int set_based = intake_keys_set_based(&ks);
  char *text = cJSON_PrintUnformatted(all);
  cJSON_Delete(all);
  char cause_s[24], depth_s[16], max_s[16], lease_s[16];
  snprintf(cause_s, sizeof cause_s, "%lld", cause);
  snprintf(depth_s, sizeof depth_s, "%d", depth);
  snprintf(max_s, sizeof max_s, "%d", INTAKE_MAX_DEPTH);
  snprintf(lease_s, sizeof lease_s, "%d", exec_lease_ms());
  const char *params[6] = {text, exec_owner(), cause ? cause_s : NULL, depth_s, max_s, lease_s};
  I.calls++;
  I.events += (unsigned long long)g->nevents;
  /* A call alone goes on the least busy connection; a second, behind the first. */
  if (I.in_flight == 0)
    I.conn = -1;
  I.in_flight++;
  if (set_based)
    db_query_on(I.srv->db, &I.conn, "intake_json",
                "SELECT flowd_intake_json($1::jsonb, $2, $3::bigint, $4::int, $5::int, $6::int)",
                6, params, group_done, g);
  else
    db_query_on(I.srv->db, &I.conn, "intake",
                "SELECT flowd_intake($1::jsonb, $2, $3::bigint, $4::int, $5::int, $6::int)", 6,
                params, group_done, g);
  free(text);
}

void intake_submit(cJSON *events, long long cause, int depth, intake_cb cb, void *data) {
  struct waiter *w = calloc(1, sizeof *w);
  if (!w) {
    cb(data, ERR_NOMEM, NULL, NULL);
    cJSON_Delete(events);
    return;
  }
  *w = (struct waiter){events, cause, depth, cb, data, NULL};
  if (I.tail)
    I.tail->next = w;
  else
    I.head = w;
  I.tail = w;
  I.queued += cJSON_GetArraySize(events);
  send_next(GROUP_MAX);
}

int intake_init(struct server *srv) {
  I.srv = srv;
  I.conn = -1;
  return 0;
}

int intake_pending(void) { return I.queued + I.in_flight; }
int intake_queued(void) { return I.queued; }
unsigned long long intake_calls(void) { return I.calls; }
unsigned long long intake_events(void) { return I.events; }
