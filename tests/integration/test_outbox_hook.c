/* The outbox in-process, as the executor uses it: deliveries added to a batch with outbox_add,
 * a worker on our own loop, and the final hook, which must fire exactly once per delivery
 * with the committed row. The loop must close with no handle left open. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "graph/err.h"
#include "server/db.h"
#include "server/http.h"
#include "server/migrate.h"
#include "server/outbox.h"
#include "server/server.h"
#include "tests/helpers.h"
#include "tests/sinks.h"
#include "tests/test.h"

#define PER_KIND 10
#define TOTAL (3 * PER_KIND)
#define GRACE_MS 600  /* after the last hook: time for a wrong second one */
#define LIMIT_MS 30000

struct state {
  struct server srv;
  uv_timer_t check;
  double started, all_done;
  int added_rc, added, duplicate_ok;
  long long ids[TOTAL + 1];
  int fired[TOTAL + 1];
  char status[TOTAL + 1][16];
  int finals, unknown, bad_json;
  int announced[TOTAL + 1]; /* runs seen on OUTBOX_FINAL_CHANNEL */
};

static int index_of(struct state *st, long long id) {
  for (int i = 0; i < TOTAL; i++)
    if (st->ids[i] == id)
      return i;
  return -1;
}

static void on_final(void *ud, const cJSON *d) {
  struct state *st = ud;
  const char *keys[] = {"id", "run_id", "step_id", "node_id", "status", "attempts",
                        "response", "error"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (!cJSON_GetObjectItem(d, keys[i]))
      st->bad_json++;
  int i = index_of(st, (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(d, "id")));
  if (i < 0) {
    st->unknown++;
    return;
  }
  st->fired[i]++;
  snprintf(st->status[i], sizeof st->status[i], "%s",
           cJSON_GetStringValue(cJSON_GetObjectItem(d, "status")));
  st->finals++;
}

static void on_announce(void *data, const char *channel, const char *payload) {
  struct state *st = data;
  cJSON *runs = cJSON_Parse(payload), *r;
  (void)channel;
  cJSON_ArrayForEach(r, runs) {
    int i = (int)cJSON_GetNumberValue(r) - 100;
    if (i >= 0 && i < TOTAL)
      st->announced[i]++;
  }
  cJSON_Delete(runs);
}

static void on_added(void *data, int rc, const struct db_result *r) {
  struct state *st = data;
  st->added_rc = rc;
  if (rc)
    return;
  for (int i = 0; i < TOTAL; i++)
    st->ids[i] = atoll(PQgetvalue(r->res[i], 0, 0));
  /* The last statement repeated the first key: no new row, the first one's id. */
  st->duplicate_ok = strcmp(PQgetvalue(r->res[TOTAL], 0, 1), "t") == 0 &&
                     atoll(PQgetvalue(r->res[TOTAL], 0, 0)) == st->ids[0];
  st->added = 1;
}

static void on_check(uv_timer_t *t) {
  struct state *st = t->data;
  double now = mono_ms();
  if (st->finals >= TOTAL && st->all_done == 0)
    st->all_done = now;
  int over = now - st->started > LIMIT_MS;
  if (!over && (st->all_done == 0 || now - st->all_done < GRACE_MS))
    return;
  uv_close((uv_handle_t *)t, NULL);
  outbox_shutdown();
  db_close(st->srv.db, NULL, NULL);
}

static void add_all(struct state *st) {
  struct db_batch *b = db_batch_new();
  char keys[TOTAL + 1][32];
  for (int i = 0; i <= TOTAL; i++) {
    int kind = i == TOTAL ? 0 : i / PER_KIND; /* 0: sent, 1: failed (400), 2: test */
    snprintf(keys[i], sizeof keys[i], "hook-%d", i == TOTAL ? 0 : i);
    struct outbox_item it = {.run_id = 100 + i, .step_id = 200 + i, .node_id = "n",
                             .channel = "sms", .provider = kind == 1 ? "gw400" : "gw",
                             .to = "0900", .body = "hello", .idempotency_key = keys[i],
                             .max_attempts = 3, .backoff_ms = 50, .test = kind == 2};
    ASSERT_INT_EQ(outbox_add(b, &it), 0);
  }
  db_submit(st->srv.db, b, on_added, st);
}

TEST_PG(outbox_final_hook_fires_exactly_once_per_delivery) {
  int version;
  struct err_detail e = {{0}, {0}};
  ASSERT_INT_EQ(migrate_run(test_pg_conninfo(), 10, &version, &e), 0);
  struct sink k;
  sink_http_start(&k, 0, NULL);
  char sql[512];
  snprintf(sql, sizeof sql,
           "INSERT INTO providers (id, type, config) VALUES "
           "('gw', 'http', '{\"url\": \"%s/ok\"}'), "
           "('gw400', 'http', '{\"url\": \"%s/no?status=400\"}')",
           k.url, k.url);
  free(sql_value(test_pg_conninfo(), sql));

  static struct state st; /* the hook keeps a pointer to it */
  uv_loop_t loop;
  ASSERT_INT_EQ(uv_loop_init(&loop), 0);
  st.srv.loop = &loop;
  st.srv.db = db_open(&loop, test_pg_conninfo(), 2);
  ASSERT_NOT_NULL(st.srv.db);
  outbox_on_final(on_final, &st);
  ASSERT_INT_EQ(db_listen(st.srv.db, OUTBOX_FINAL_CHANNEL, on_announce, &st), 0);
  ASSERT_INT_EQ(outbox_init(&st.srv), 0);
  add_all(&st);
  st.started = mono_ms();
  uv_timer_init(&loop, &st.check);
  st.check.data = &st;
  uv_timer_start(&st.check, on_check, 50, 50);
  uv_run(&loop, UV_RUN_DEFAULT);
  db_free(st.srv.db);
  ASSERT_INT_EQ(uv_loop_close(&loop), 0);

  ASSERT_INT_EQ(st.added_rc, 0);
  ASSERT(st.duplicate_ok);
  ASSERT_INT_EQ(st.unknown, 0);
  ASSERT_INT_EQ(st.bad_json, 0);
  ASSERT_INT_EQ(st.finals, TOTAL);
  for (int i = 0; i < TOTAL; i++) {
    ASSERT_INT_EQ(st.fired[i], 1);
    ASSERT_INT_EQ(st.announced[i], 1);
    const char *want = i < PER_KIND ? "sent" : i < 2 * PER_KIND ? "failed" : "recorded";
    ASSERT_STR_EQ(st.status[i], want);
    snprintf(sql, sizeof sql, "SELECT status FROM deliveries WHERE id = %lld", st.ids[i]);
    char *db_status = sql_value(test_pg_conninfo(), sql);
    ASSERT_STR_EQ(db_status, want);
    free(db_status);
  }
  ASSERT_INT_EQ(sink_count(&k), 2 * PER_KIND); /* test deliveries never arrive */
  sink_stop(&k);
}
