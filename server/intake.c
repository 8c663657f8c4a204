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
  int in_flight;
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

static void send_next(void);

static void group_done(void *data, int rc, const struct db_result *r) {
  struct group *g = data;
  I.in_flight--;
  /* The next group goes first: PostgreSQL commits it while this one's runs execute here. */
  send_next();
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

/* Sends every queued waiter with the same cause and depth as the first as one group. */
static void send_next(void) {
  if (I.in_flight || !I.head)
    return;
  struct group *g = calloc(1, sizeof *g);
  cJSON *all = cJSON_CreateArray();
  long long cause = I.head->cause;
  int depth = I.head->depth;
  struct waiter **tail = &g->first;
  while (I.head && I.head->cause == cause && I.head->depth == depth &&
         (g->nevents == 0 || g->nevents + cJSON_GetArraySize(I.head->events) <= GROUP_MAX)) {
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
  char *text = cJSON_PrintUnformatted(all);
  cJSON_Delete(all);
  char cause_s[24], depth_s[16], max_s[16], lease_s[16];
  snprintf(cause_s, sizeof cause_s, "%lld", cause);
  snprintf(depth_s, sizeof depth_s, "%d", depth);
  snprintf(max_s, sizeof max_s, "%d", INTAKE_MAX_DEPTH);
  snprintf(lease_s, sizeof lease_s, "%d", exec_lease_ms());
  const char *params[6] = {text, exec_owner(), cause ? cause_s : NULL, depth_s, max_s, lease_s};
  I.in_flight++;
  db_query(I.srv->db, "intake",
           "SELECT flowd_intake($1::jsonb, $2, $3::bigint, $4::int, $5::int, $6::int)", 6, params,
           group_done, g);
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
  send_next();
}

int intake_init(struct server *srv) {
  I.srv = srv;
  return 0;
}

int intake_pending(void) { return I.queued + I.in_flight; }
