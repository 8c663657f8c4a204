/* pick_filter: where, team and member domains, max_per_day (see pick_filter.h).
 *
 * Invariant: the domain cache holds at most CACHE_MAX compiled domains, keyed by their
 * compact JSON text; it is emptied as a whole when full (domains are few: one per team and
 * member), so an entry is never freed while a caller holds it (callers do not keep them
 * across calls). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/cond.h"
#include "graph/text.h"
#include "nodes/pick_filter.h"
#include "nodes/picker.h"
#include "nodes/step.h"

#define BUCKETS 256
#define CACHE_MAX 4096

struct dom {
  struct dom *next;
  char *text;
  struct cond *c;  /* NULL: the domain matches everything ([]) */
  char error[300]; /* it does not compile: why */
};

static struct {
  struct dom *b[BUCKETS];
  int n;
} D;

static void cache_clear(void) {
  for (int i = 0; i < BUCKETS; i++)
    while (D.b[i]) {
      struct dom *d = D.b[i];
      D.b[i] = d->next;
      cond_free(d->c);
      free(d->text);
      free(d);
    }
  D.n = 0;
}

static struct dom *compile(const cJSON *list, char *text) {
  struct dom *d = calloc(1, sizeof *d);
  d->text = text;
  if (cJSON_GetArraySize(list) == 0)
    return d;
  cJSON *doc = cJSON_CreateObject();
  cJSON_AddItemReferenceToObject(doc, "domain", (cJSON *)list);
  struct err_detail e = {{0}, {0}};
  if (cond_compile(doc, &d->c, &e) != 0)
    snprintf(d->error, sizeof d->error, "%.200s%s%.80s", e.msg[0] ? e.msg : "it does not compile",
             e.path[0] ? " at " : "", e.path);
  cJSON_Delete(doc);
  return d;
}

/* The compiled domain list (a JSON array), from the cache. */
static const struct dom *domain_get(const cJSON *list) {
  char *text = cJSON_PrintUnformatted(list);
  unsigned h = (unsigned)(text_hash(text) % BUCKETS);
  for (struct dom *d = D.b[h]; d; d = d->next)
    if (!strcmp(d->text, text)) {
      free(text);
      return d;
    }
  if (D.n >= CACHE_MAX)
    cache_clear();
  struct dom *d = compile(list, text);
  d->next = D.b[h];
  D.b[h] = d;
  D.n++;
  return d;
}

/* 1 when the subject matches the domain list (NULL or not an array: everything), 0 when
 * not, -1 with err filled. */
static int domain_match(const cJSON *list, const cJSON *subject, const char *whose,
                        char *err, size_t len) {
  if (!cJSON_IsArray(list))
    return 1;
  const struct dom *d = domain_get(list);
  if (d->error[0]) {
    snprintf(err, len, "the domain of %s does not compile: %s", whose, d->error);
    return -1;
  }
  if (!d->c)
    return 1;
  struct err_detail e = {{0}, {0}};
  int rc = cond_test(d->c, subject, &e);
  if (rc < 0)
    snprintf(err, len, "the domain of %s does not evaluate: %s", whose, e.msg);
  return rc;
}

/* What domains see: the subject record's fields, plus its `customer` from the scope. */
static cJSON *subject_data(struct step *s, const cJSON *rec) {
  cJSON *d = cJSON_CreateObject();
  const cJSON *it;
  cJSON_ArrayForEach(it, rec) cJSON_AddItemReferenceToObject(d, it->string, (cJSON *)it);
  const cJSON *cust = cJSON_GetObjectItem(step_scope(s), "customer");
  if (cust && rec && !cJSON_GetObjectItem(d, "customer"))
    cJSON_AddItemReferenceToObject(d, "customer", (cJSON *)cust);
  return d;
}

/* What `where` sees: the run scope with `staff` set to the candidate (filled per row). */
static cJSON *where_data(struct step *s) {
  cJSON *d = cJSON_CreateObject();
  const cJSON *it;
  cJSON_ArrayForEach(it, step_scope(s)) {
    if (strcmp(it->string, "staff") != 0)
      cJSON_AddItemReferenceToObject(d, it->string, (cJSON *)it);
  }
  return d;
}

cJSON *pick_profile(const cJSON *staff) {
  cJSON *p = cJSON_CreateObject();
  const cJSON *it;
  cJSON_ArrayForEach(it, cJSON_GetObjectItem(staff, "attrs")) {
    if (it->string && !cJSON_GetObjectItem(staff, it->string))
      cJSON_AddItemToObject(p, it->string, cJSON_Duplicate(it, 1));
  }
  cJSON_ArrayForEach(it, staff) cJSON_AddItemToObject(p, it->string, cJSON_Duplicate(it, 1));
  return p;
}

static int where_ok(const struct picker_candidates *c, cJSON *wdata, const cJSON *row,
                    char *err, size_t len) {
  if (!c->where)
    return 1;
  cJSON_AddItemToObject(wdata, "staff", pick_profile(cJSON_GetObjectItem(row, "staff")));
  struct err_detail e = {{0}, {0}};
  int rc = cond_test(c->where, wdata, &e);
  cJSON_DeleteItemFromObject(wdata, "staff");
  if (rc < 0)
    snprintf(err, len, "where: %s", e.msg[0] ? e.msg : "it does not evaluate");
  return rc;
}

/* A member of a team: their own domain and the day's limit. */
static int member_ok(const cJSON *row, const cJSON *subject, char *err, size_t len) {
  const cJSON *max = cJSON_GetObjectItem(row, "max");
  if (cJSON_IsNumber(max) &&
      cJSON_GetNumberValue(cJSON_GetObjectItem(row, "today")) >= max->valuedouble)
    return 0;
  char whose[200];
  snprintf(whose, sizeof whose, "member %s of team %s",
           cJSON_GetStringValue(cJSON_GetObjectItem(row, "id")),
           cJSON_GetStringValue(cJSON_GetObjectItem(row, "team")));
  return domain_match(cJSON_GetObjectItem(row, "member_domain"), subject, whose, err, len);
}

static void add(struct pick_pool *pool, const cJSON *row, int with_team) {
  struct pick_cand *c = &pool->v[pool->n++];
  c->id = cJSON_GetStringValue(cJSON_GetObjectItem(row, "id"));
  c->team = with_team ? cJSON_GetStringValue(cJSON_GetObjectItem(row, "team")) : NULL;
  c->online = cJSON_IsTrue(cJSON_GetObjectItem(row, "online"));
  c->load = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(row, "load"));
  c->staff = cJSON_GetObjectItem(row, "staff");
}

/* One row: -1 error, 0 not eligible, 1 eligible. *team_ok caches the verdict on the row's
 * team while consecutive rows belong to it. */
static int row_ok(const struct picker_candidates *c, const cJSON *row, const cJSON *subject,
                  cJSON *wdata, const char **team_seen, int *team_ok, char *err, size_t len) {
  if (c->teams) {
    const char *team = cJSON_GetStringValue(cJSON_GetObjectItem(row, "team"));
    if (!*team_seen || strcmp(*team_seen, team) != 0) {
      char whose[200];
      snprintf(whose, sizeof whose, "team %s", team);
      *team_seen = team;
      *team_ok = domain_match(cJSON_GetObjectItem(row, "team_domain"), subject, whose, err,
                              len);
    }
    if (*team_ok <= 0)
      return *team_ok;
    int m = member_ok(row, subject, err, len);
    if (m <= 0)
      return m;
  }
  return where_ok(c, wdata, row, err, len);
}

int pick_filter(struct step *s, const struct picker_candidates *c, const cJSON *rec,
                const cJSON *rows, struct pick_pool *pool, char *err, size_t len) {
  int n = cJSON_GetArraySize(rows), rc = 0, team_ok = 0;
  pool->v = calloc((size_t)n + 1, sizeof *pool->v);
  pool->n = 0;
  cJSON *subject = c->teams ? subject_data(s, rec) : NULL;
  cJSON *wdata = c->where ? where_data(s) : NULL;
  const char *team_seen = NULL;
  const cJSON *row;
  cJSON_ArrayForEach(row, rows) {
    /* With teams, the first team that has an eligible member takes the record. */
    if (c->teams && pool->n > 0 &&
        strcmp(pool->v[0].team, cJSON_GetStringValue(cJSON_GetObjectItem(row, "team"))) != 0)
      break;
    int ok = row_ok(c, row, subject, wdata, &team_seen, &team_ok, err, len);
    if (ok < 0) {
      rc = -1;
      break;
    }
    if (ok)
      add(pool, row, c->teams != NULL);
  }
  cJSON_Delete(subject);
  cJSON_Delete(wdata);
  return rc;
}

const struct pick_cand *pick_pool_find(const struct pick_pool *p, const char *id) {
  for (size_t i = 0; id && i < p->n; i++)
    if (!strcmp(p->v[i].id, id))
      return &p->v[i];
  return NULL;
}

size_t pick_pool_keep_online(struct pick_pool *p) {
  size_t n = 0;
  for (size_t i = 0; i < p->n; i++)
    if (p->v[i].online)
      p->v[n++] = p->v[i];
  return p->n = n;
}

void pick_pool_keep_least_loaded(struct pick_pool *p) {
  long long min = -1;
  for (size_t i = 0; i < p->n; i++)
    if (min < 0 || p->v[i].load < min)
      min = p->v[i].load;
  size_t n = 0;
  for (size_t i = 0; i < p->n; i++)
    if (p->v[i].load == min)
      p->v[n++] = p->v[i];
  p->n = n;
}

void pick_pool_free(struct pick_pool *p) {
  free(p->v);
  p->v = NULL;
  p->n = 0;
}
