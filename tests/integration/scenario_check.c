/* scenario_check: selecting rows and matching values for scenario expectations (see
 * scenario_check.h and tests/scenarios/README.md). Rows are fetched once per check, as JSON,
 * from the test database and the sinks' JSON-lines records. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/timefmt.h"
#include "tests/helpers.h"
#include "tests/integration/scenario_check.h"
#include "tests/sinks.h"
#include "tests/test.h"

#define SHOW_MAX 2500 /* characters of the rows shown with a failure */

struct chk {
  const struct sink *http, *smtp;
  const cJSON *vars; /* remembered values, for "$name" */
  cJSON *cache[5]; /* rows per collection, fetched on first use */
  char *why;       /* what failed so far */
  size_t len;
};

enum coll { C_RECORDS, C_RUNS, C_DELIVERIES, C_HTTP, C_SMTP, NCOLL };

static const struct {
  const char *name;
  const char *selectors[6]; /* keys that select rows rather than check them */
} colls[NCOLL] = {
    {"records", {"kind", "id", NULL}},
    {"runs", {"flow", "record", "trigger", NULL}},
    {"deliveries", {"flow", "record", "node", "channel", "to", NULL}},
    {"http_sink", {"path", "method", NULL}},
    {"smtp_sink", {"to", NULL}},
};

static void say(struct chk *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct chk *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  c->why = realloc(c->why, c->len + (size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(c->why + c->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  c->len += (size_t)n;
}

/* ---- rows ---- */

static cJSON *sql_rows(const char *sql) {
  char *text = sql_value(test_pg_conninfo(), sql);
  cJSON *rows = cJSON_Parse(text);
  free(text);
  return rows ? rows : cJSON_CreateArray();
}

static const char *const fetch_sql[] = {
    [C_RECORDS] = "SELECT coalesce(jsonb_agg(data || jsonb_build_object('kind', kind, 'id', id, "
                  "'deleted', deleted) ORDER BY created_at, id), '[]') FROM records",
    [C_RUNS] = "SELECT coalesce(json_agg(json_build_object('id', r.id, 'flow', r.flow_id, "
               "'status', r.status, 'record', r.record_kind || ':' || r.record_id, "
               "'trigger', r.trigger_node, 'error', r.error, 'reason', r.reason, "
               "'steps', (SELECT json_object_agg(s.node_id, s.status) FROM (SELECT DISTINCT "
               "ON (node_id) * FROM steps WHERE run_id = r.id ORDER BY node_id, attempt DESC) s),"
               "'ports', (SELECT json_object_agg(s.node_id, s.port) FROM (SELECT DISTINCT ON "
               "(node_id) * FROM steps WHERE run_id = r.id ORDER BY node_id, attempt DESC) s "
               "WHERE s.port IS NOT NULL), "
               "'outputs', (SELECT json_object_agg(s.node_id, s.output) FROM (SELECT DISTINCT "
               "ON (node_id) * FROM steps WHERE run_id = r.id ORDER BY node_id, attempt DESC) s)"
               ") ORDER BY r.id), '[]') FROM runs r WHERE NOT r.test",
    [C_DELIVERIES] = "SELECT coalesce(json_agg(json_build_object('id', d.id, 'flow', r.flow_id, "
                     "'record', r.record_kind || ':' || r.record_id, 'node', d.node_id, "
                     "'channel', d.channel, 'provider', d.provider, 'to', d.\"to\", 'subject', "
                     "d.subject, 'body', d.body, 'request', d.request, 'status', d.status, "
                     "'attempts', d.attempts, 'error', d.error, 'response', d.response, "
                     "'test', d.test, 'key', d.idempotency_key) ORDER BY d.id), '[]') "
                     "FROM deliveries d LEFT JOIN runs r ON r.id = d.run_id",
};

/* Sink records with what checks look at most: the idempotency key, the recipient, and an
 * HTTP body parsed when it is JSON. */
static cJSON *sink_rows(const struct sink *k, int http) {
  cJSON *rows = k ? sink_records(k) : cJSON_CreateArray();
  cJSON *r;
  cJSON_ArrayForEach(r, rows) {
    const cJSON *key = http ? cJSON_GetObjectItem(cJSON_GetObjectItem(r, "headers"),
                                                  "idempotency-key")
                            : cJSON_GetObjectItem(r, "idempotency_key");
    cJSON_AddItemToObject(r, "key", key ? cJSON_Duplicate(key, 1) : cJSON_CreateNull());
    if (http) {
      cJSON *j = cJSON_Parse(cJSON_GetStringValue(cJSON_GetObjectItem(r, "body")));
      cJSON_AddItemToObject(r, "json", j ? j : cJSON_CreateNull());
    } else {
      cJSON *to = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "rcpt_tos"), 0);
      cJSON_DeleteItemFromObject(r, "to");
      cJSON_AddItemToObject(r, "to", to ? cJSON_Duplicate(to, 1) : cJSON_CreateNull());
    }
  }
  return rows;
}

static const cJSON *rows_of(struct chk *c, enum coll k) {
  if (!c->cache[k])
    c->cache[k] = k == C_HTTP ? sink_rows(c->http, 1)
                  : k == C_SMTP ? sink_rows(c->smtp, 0) : sql_rows(fetch_sql[k]);
  return c->cache[k];
}

/* The value at a dotted path ("steps.a1", "json.page_id", "rcpt_tos.0"), or NULL. */
static const cJSON *at_path(const cJSON *v, const char *path) {
  char seg[256];
  while (v && *path) {
    size_t n = strcspn(path, ".");
    snprintf(seg, sizeof seg, "%.*s", (int)n, path);
    if (cJSON_IsArray(v) && seg[0] >= '0' && seg[0] <= '9')
      v = cJSON_GetArrayItem(v, atoi(seg));
    else
      v = cJSON_GetObjectItemCaseSensitive(v, seg);
    path += n + (path[n] == '.');
  }
  return v;
}

/* "kind/id/path": a field of a record, for same_as. */
static const cJSON *record_field(struct chk *c, const char *ref) {
  char kind[64], id[256];
  if (!ref)
    return NULL;
  const char *a = strchr(ref, '/'), *b = a ? strchr(a + 1, '/') : NULL;
  if (!b)
    return NULL;
  snprintf(kind, sizeof kind, "%.*s", (int)(a - ref), ref);
  snprintf(id, sizeof id, "%.*s", (int)(b - a - 1), a + 1);
  const cJSON *r;
  cJSON_ArrayForEach(r, rows_of(c, C_RECORDS)) {
    if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(r, "kind")), kind) &&
        !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(r, "id")), id))
      return at_path(r, b + 1);
  }
  return NULL;
}

/* ---- matchers ---- */

static int match(struct chk *c, const cJSON *have, const cJSON *want);

static int is_null(const cJSON *v) { return !v || cJSON_IsNull(v); }

static int contains(const cJSON *have, const char *needle) {
  if (cJSON_IsString(have))
    return strstr(have->valuestring, needle) != NULL;
  char *text = have ? cJSON_PrintUnformatted(have) : NULL;
  int ok = text && strstr(text, needle);
  free(text);
  return ok;
}

/* have (an RFC 3339 time) lies within [lo, hi] (durations) from now. */
static int from_now(const cJSON *have, const cJSON *range) {
  int64_t at, lo, hi;
  const char *s = cJSON_GetStringValue(have);
  if (!s || time_parse_rfc3339(s, &at, NULL) ||
      duration_parse(cJSON_GetStringValue(cJSON_GetArrayItem(range, 0)), &lo, NULL) ||
      duration_parse(cJSON_GetStringValue(cJSON_GetArrayItem(range, 1)), &hi, NULL))
    return 0;
  int64_t d = at - time_now_ms();
  return d >= lo && d <= hi;
}

/* An operator matcher {"op": arg}; -1 when want is not one. */
static int match_op(struct chk *c, const cJSON *have, const cJSON *want) {
  if (!cJSON_IsObject(want) || cJSON_GetArraySize(want) != 1)
    return -1;
  const cJSON *arg = want->child;
  const char *op = arg->string;
  if (!strcmp(op, "in")) {
    const cJSON *e;
    cJSON_ArrayForEach(e, arg) if (match(c, have, e)) return 1;
    return 0;
  }
  if (!strcmp(op, "not"))
    return !match(c, have, arg);
  if (!strcmp(op, "contains"))
    return cJSON_IsString(arg) && contains(have, arg->valuestring);
  if (!strcmp(op, "same_as") || !strcmp(op, "not_same_as")) {
    const char *ref = cJSON_GetStringValue(arg);
    const cJSON *other = ref && ref[0] == '$' ? cJSON_GetObjectItemCaseSensitive(c->vars, ref + 1)
                                              : record_field(c, ref);
    int same = !is_null(other) && have && cJSON_Compare(have, other, 1);
    return op[0] == 's' ? same : !is_null(other) && !same;
  }
  if (!strcmp(op, "gte") || !strcmp(op, "lte"))
    return cJSON_IsNumber(have) && cJSON_IsNumber(arg) &&
           (op[0] == 'g' ? have->valuedouble >= arg->valuedouble
                         : have->valuedouble <= arg->valuedouble);
  if (!strcmp(op, "from_now"))
    return from_now(have, arg);
  if (!strcmp(op, "time")) { /* the same instant, however it is written */
    int64_t a, b;
    return cJSON_IsString(have) && cJSON_IsString(arg) &&
           !time_parse_rfc3339(have->valuestring, &a, NULL) &&
           !time_parse_rfc3339(arg->valuestring, &b, NULL) && a == b;
  }
  if (!strcmp(op, "exists"))
    return cJSON_IsTrue(arg) == !is_null(have);
  return -1;
}

/* An object matches when each of its members matches (members it does not name are not
 * looked at); anything else must be equal. */
static int match(struct chk *c, const cJSON *have, const cJSON *want) {
  if (cJSON_IsNull(want))
    return is_null(have);
  int m = match_op(c, have, want);
  if (m >= 0)
    return m;
  if (!cJSON_IsObject(want))
    return have && cJSON_Compare(have, want, 1);
  if (!cJSON_IsObject(have))
    return 0;
  const cJSON *w;
  cJSON_ArrayForEach(w, want) {
    if (!match(c, cJSON_GetObjectItemCaseSensitive(have, w->string), w))
      return 0;
  }
  return 1;
}

/* ---- items ---- */

static int is_selector(enum coll k, const char *key) {
  for (int i = 0; colls[k].selectors[i]; i++)
    if (!strcmp(colls[k].selectors[i], key))
      return 1;
  return 0;
}

static int selected(struct chk *c, enum coll k, const cJSON *item, const cJSON *row) {
  const cJSON *w;
  cJSON_ArrayForEach(w, item) {
    if (is_selector(k, w->string) && !match(c, at_path(row, w->string), w))
      return 0;
  }
  cJSON_ArrayForEach(w, cJSON_GetObjectItem(item, "where")) {
    if (!match(c, at_path(row, w->string), w))
      return 0;
  }
  return 1;
}

static void show(struct chk *c, const char *label, const cJSON *v) {
  char *text = v ? cJSON_PrintUnformatted(v) : strdup("(nothing)");
  size_t n = strlen(text);
  say(c, "    %s: %.*s%s\n", label, SHOW_MAX, text, n > SHOW_MAX ? "..." : "");
  free(text);
}

/* Checks every assertion key of item on row; reports the first that fails. */
static int row_holds(struct chk *c, enum coll k, const cJSON *item, const cJSON *row) {
  static const char *const reserved[] = {"count", "where", "note", NULL};
  const cJSON *w;
  cJSON_ArrayForEach(w, item) {
    int skip = is_selector(k, w->string);
    for (int i = 0; reserved[i]; i++)
      skip |= !strcmp(reserved[i], w->string);
    if (skip || match(c, at_path(row, w->string), w))
      continue;
    char *want = cJSON_PrintUnformatted(w);
    say(c, "    %s: want %s, have:\n", w->string, want);
    free(want);
    show(c, "value", at_path(row, w->string));
    show(c, "row", row);
    return 0;
  }
  return 1;
}

static int item_holds(struct chk *c, enum coll k, const cJSON *item) {
  cJSON *sel = cJSON_CreateArray();
  const cJSON *row;
  cJSON_ArrayForEach(row, rows_of(c, k)) {
    if (selected(c, k, item, row))
      cJSON_AddItemReferenceToArray(sel, (cJSON *)row);
  }
  int n = cJSON_GetArraySize(sel), ok = 1;
  const cJSON *count = cJSON_GetObjectItem(item, "count");
  char *text = cJSON_PrintUnformatted(item);
  if (count ? n != count->valueint : n == 0) {
    say(c, "  %s %s: selected %d rows, want %s%d\n", colls[k].name, text, n, count ? "" : ">= ",
        count ? count->valueint : 1);
    show(c, colls[k].name, rows_of(c, k));
    ok = 0;
  }
  cJSON_ArrayForEach(row, sel) {
    if (ok && !row_holds(c, k, item, row)) {
      say(c, "  (in %s %s)\n", colls[k].name, text);
      ok = 0;
    }
  }
  free(text);
  cJSON_Delete(sel);
  return ok;
}

/* No sink got the same idempotency key twice: each message arrived once. */
static int keys_unique(struct chk *c, enum coll k) {
  const cJSON *rows = rows_of(c, k), *a, *b;
  cJSON_ArrayForEach(a, rows) {
    const char *ka = cJSON_GetStringValue(cJSON_GetObjectItem(a, "key"));
    for (b = a->next; ka && b; b = b->next) {
      const char *kb = cJSON_GetStringValue(cJSON_GetObjectItem(b, "key"));
      if (kb && !strcmp(ka, kb)) {
        say(c, "  %s got idempotency key %s twice\n", colls[k].name, ka);
        return 0;
      }
    }
  }
  return 1;
}

cJSON *scen_record_field(const char *ref) {
  struct chk c = {0};
  const cJSON *v = record_field(&c, ref);
  cJSON *copy = v ? cJSON_Duplicate(v, 1) : NULL;
  cJSON_Delete(c.cache[C_RECORDS]);
  return copy;
}

int scen_check(const cJSON *expect, const struct sink *http, const struct sink *smtp,
               const cJSON *vars, char **why) {
  struct chk c = {.http = http, .smtp = smtp, .vars = vars};
  int ok = 1;
  for (int k = 0; k < NCOLL; k++) {
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(expect, colls[k].name)) ok &=
        item_holds(&c, (enum coll)k, item);
  }
  if (cJSON_IsTrue(cJSON_GetObjectItem(expect, "unique_keys")))
    ok &= keys_unique(&c, C_HTTP) & keys_unique(&c, C_SMTP);
  const cJSON *e;
  cJSON_ArrayForEach(e, expect) {
    int known = !strcmp(e->string, "unique_keys");
    for (int k = 0; k < NCOLL; k++)
      known |= !strcmp(e->string, colls[k].name);
    if (!known) {
      say(&c, "  unknown expectation \"%s\"\n", e->string);
      ok = 0;
    }
  }
  for (int k = 0; k < NCOLL; k++)
    cJSON_Delete(c.cache[k]);
  *why = c.why ? c.why : strdup("");
  return ok;
}
