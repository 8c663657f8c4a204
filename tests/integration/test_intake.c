/* The set-based intake and the group commit of run segments (schema/008_intake_set.sql,
 * 011_lighter_commits.sql, 013_intake_json.sql) against a real flowd and PostgreSQL: one
 * request carrying records, inline customers that repeat, a status change that cancels a held
 * run, keys repeated inside the request and from before; a request that touches one record
 * twice (event by event); a group of segments in which one run was cancelled meanwhile (the
 * others still commit); the runs of one request committed together; a queue that built up
 * behind a call, sent in two halves; a second call sent behind the first; plain patches, which
 * leave what the whole intake leaves; and the intake's json answer against its jsonb form. */
#include <libpq-fe.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/helpers.h"
#include "tests/integration/exec_util.h"
#include "tests/test.h"

static struct flowd_proc P;

static void start(void) {
  flowd_start(&P, NULL, "test", NULL);
  flowd_wait_ready(&P, 60000);
}

static void stop(void) { ASSERT_INT_EQ(flowd_stop(&P, SIGTERM, 30000), 0); }

/* Every new order gets a note from its customer as the run sees it. */
#define NOTE_FLOW                                                                             \
  "{\"id\":\"f_note\",\"name\":\"Note\",\"nodes\":["                                        \
  "{\"id\":\"t\",\"type\":\"trigger.record\",\"config\":{\"kind\":\"order\",\"on\":\"created\"}}," \
  "{\"id\":\"u\",\"type\":\"action.update_record\",\"config\":{\"target\":\"order\","       \
  "\"set\":{\"note\":\"{{customer.name}}/{{customer.phone}}\"}}}],"                         \
  "\"edges\":[{\"from\":\"t\",\"to\":\"u\"}]}"

/* Holds an order in status "new" (and waits an hour). */
#define HOLD_FLOW                                                                             \
  "{\"id\":\"f_hold\",\"name\":\"Hold\",\"nodes\":["                                        \
  "{\"id\":\"t\",\"type\":\"trigger.record\",\"config\":{\"kind\":\"order\","               \
  "\"on\":\"status_changed\",\"to\":\"new\"}},"                                             \
  "{\"id\":\"d\",\"type\":\"delay\",\"config\":{\"for\":\"1h\"}}],"                        \
  "\"edges\":[{\"from\":\"t\",\"to\":\"d\"}]}"

/* Marks paid orders. */
#define PAID_FLOW                                                                             \
  "{\"id\":\"f_paid\",\"name\":\"Paid\",\"nodes\":["                                        \
  "{\"id\":\"t\",\"type\":\"trigger.record\",\"config\":{\"kind\":\"order\","               \
  "\"on\":\"status_changed\",\"to\":\"paid\"}},"                                            \
  "{\"id\":\"u\",\"type\":\"action.update_record\",\"config\":{\"target\":\"order\","       \
  "\"set\":{\"paid_seen\":\"yes\"}}}],"                                                     \
  "\"edges\":[{\"from\":\"t\",\"to\":\"u\"}]}"

static const cJSON *accepted_at(const struct http_resp *r, int i) {
  return cJSON_GetArrayItem(cJSON_GetObjectItem(r->json, "accepted"), i);
}

static double id_of(const cJSON *a) { return cJSON_GetNumberValue(cJSON_GetObjectItem(a, "id")); }
static int dup_of(const cJSON *a) { return cJSON_IsTrue(cJSON_GetObjectItem(a, "duplicate")); }

TEST_PG(intake_one_request_with_records_customers_status_and_keys) {
  start();
  flow_install(&P, NOTE_FLOW);
  flow_install(&P, HOLD_FLOW);
  flow_install(&P, PAID_FLOW);
  event_post(&P, "{\"type\":\"order.created\",\"data\":{\"id\":\"O3\",\"status\":\"new\"}}");
  wait_sql("SELECT status FROM runs WHERE flow_id = 'f_hold'", "waiting", 10000);
  long long k0 = event_post(&P, "{\"type\":\"call.missed\",\"key\":\"k0\",\"data\":{}}");

  struct http_resp r;
  ASSERT_INT_EQ(
      api_do(&P, "POST", "/api/events",
             "[{\"type\":\"order.created\",\"data\":{\"id\":\"O1\",\"source\":\"web\","
             "\"customer\":{\"id\":\"C1\",\"name\":\"An\"}}},"
             "{\"type\":\"order.created\",\"data\":{\"id\":\"O2\","
             "\"customer\":{\"id\":\"C1\",\"phone\":\"090\"}}},"
             "{\"type\":\"order.updated\",\"data\":{\"id\":\"O3\",\"status\":\"paid\"}},"
             "{\"type\":\"call.missed\",\"key\":\"k1\",\"data\":{\"n\":1}},"
             "{\"type\":\"call.missed\",\"key\":\"k1\",\"data\":{\"n\":2}},"
             "{\"type\":\"call.missed\",\"key\":\"k0\",\"data\":{}}]",
             &r),
      0);
  ASSERT_INT_EQ(r.status, 202);
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "accepted")), 6);
  for (int i = 0; i < 4; i++)
    ASSERT(!dup_of(accepted_at(&r, i)));
  /* Ids follow the request's order. */
  for (int i = 1; i < 4; i++)
    ASSERT(id_of(accepted_at(&r, i)) > id_of(accepted_at(&r, i - 1)));
  /* A key repeated inside the request and one from before are duplicates of the first. */
  ASSERT(dup_of(accepted_at(&r, 4)));
  ASSERT(id_of(accepted_at(&r, 4)) == id_of(accepted_at(&r, 3)));
  ASSERT(dup_of(accepted_at(&r, 5)));
  ASSERT(id_of(accepted_at(&r, 5)) == (double)k0);
  http_resp_free(&r);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM events WHERE key = 'k1'"), 1);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM events WHERE key = 'k0'"), 1);

  /* The customer's two patches are merged in order, and linked from both orders. */
  wait_sql("SELECT data->>'name' || '/' || (data->>'phone') FROM records "
           "WHERE kind = 'customer' AND id = 'C1'", "An/090", 5000);
  wait_sql("SELECT string_agg(customer_id, ',' ORDER BY id) FROM records WHERE kind = 'order' "
           "AND id IN ('O1', 'O2')", "C1,C1", 5000);
  /* Both runs saw the customer as the request left it. */
  wait_sql("SELECT string_agg(data->>'note', ',' ORDER BY id) FROM records WHERE kind = 'order' "
           "AND id IN ('O1', 'O2')", "An/090,An/090", 10000);
  /* O3 left "new": its held run is cancelled with the reason, and "paid" started its flow. */
  wait_sql("SELECT status FROM runs WHERE flow_id = 'f_hold'", "cancelled", 5000);
  char *why = sql_value(test_pg_conninfo(), "SELECT reason FROM runs WHERE flow_id = 'f_hold'");
  ASSERT_STR_CONTAINS(why, "left status \"new\"");
  free(why);
  wait_sql("SELECT data->>'from' || '>' || (data->>'to') FROM events "
           "WHERE type = 'order.status_changed' AND record_id = 'O3' ORDER BY id DESC LIMIT 1",
           "new>paid", 5000);
  wait_sql("SELECT data->>'paid_seen' FROM records WHERE kind = 'order' AND id = 'O3'", "yes",
           10000);
  wait_sql("SELECT count(*) FROM runs WHERE flow_id IN ('f_note', 'f_paid') AND "
           "status = 'succeeded'", "4", 10000);
  stop();
}

TEST_PG(intake_one_request_touching_a_record_twice_applies_events_in_order) {
  start();
  event_post(&P, "{\"type\":\"order.created\",\"data\":{\"id\":\"O5\",\"status\":\"a\"}}");
  struct http_resp r;
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/events",
                       "[{\"type\":\"order.updated\",\"data\":{\"id\":\"O5\",\"status\":\"b\","
                       "\"x\":1}},"
                       "{\"type\":\"order.updated\",\"data\":{\"id\":\"O5\",\"status\":\"c\"}}]",
                       &r),
                0);
  ASSERT_INT_EQ(r.status, 202);
  http_resp_free(&r);
  wait_sql("SELECT string_agg(coalesce(data->>'from', '-') || '>' || (data->>'to'), ',' "
           "ORDER BY id) FROM events WHERE type = 'order.status_changed' AND record_id = 'O5'",
           "->a,a>b,b>c", 5000);
  wait_sql("SELECT status || (data->>'x') FROM records WHERE kind = 'order' AND id = 'O5'", "c1",
           5000);
  stop();
}

/* Marks the customer of an order whose source changes. */
#define VIP_FLOW                                                                              \
  "{\"id\":\"f_vip\",\"name\":\"VIP\",\"nodes\":["                                          \
  "{\"id\":\"t\",\"type\":\"trigger.record\",\"config\":{\"kind\":\"order\",\"on\":\"updated\"," \
  "\"fields\":[\"source\"]}},"                                                              \
  "{\"id\":\"u\",\"type\":\"action.update_record\",\"config\":{\"target\":\"customer\","    \
  "\"set\":{\"vip\":\"yes\"}}}],"                                                           \
  "\"edges\":[{\"from\":\"t\",\"to\":\"u\"}]}"

static void post_update(const char *order) {
  char body[160];
  snprintf(body, sizeof body,
           "{\"type\":\"order.updated\",\"data\":{\"id\":\"%s\",\"source\":\"x\"}}", order);
  event_post(&P, body);
}

/* A connection of its own holding the customer records of ids (an SQL list, such as
 * "'C1', 'C2'", of n customers) in a transaction: ROLLBACK and PQfinish it to let them go. */
static PGconn *hold_customers(const char *ids, int n) {
  PGconn *c = PQconnectdb(test_pg_conninfo());
  ASSERT_INT_EQ(PQstatus(c), CONNECTION_OK);
  PQclear(PQexec(c, "BEGIN"));
  char sql[200];
  snprintf(sql, sizeof sql, "SELECT 1 FROM records WHERE kind = 'customer' AND id IN (%s) "
           "ORDER BY id FOR UPDATE", ids);
  PGresult *lk = PQexec(c, sql);
  ASSERT_INT_EQ(PQntuples(lk), n);
  PQclear(lk);
  return c;
}

TEST_PG(intake_group_of_segments_with_a_cancelled_run_commits_the_others) {
  start();
  flow_install(&P, VIP_FLOW);
  for (int i = 1; i <= 4; i++) {
    char body[160];
    snprintf(body, sizeof body, "{\"type\":\"order.created\",\"data\":{\"id\":\"O%d\","
             "\"customer\":{\"id\":\"C%d\"}}}", i, i);
    event_post(&P, body);
  }
  /* Hold C1 and C2: the segment of O1's run, committing, waits for C1, so O2's, O3's and
   * O4's segments queue up behind it as one group (a second commit goes out beside the first
   * only when many segments wait). */
  PGconn *c = hold_customers("'C1', 'C2'", 2);
  post_update("O1");
  post_update("O2");
  sleep_ms(300);
  post_update("O3");
  post_update("O4");
  sleep_ms(500);
  /* O3's run is cancelled while its segment waits to commit. */
  char *run = sql_value(test_pg_conninfo(), "SELECT id FROM runs WHERE record_id = 'O3'");
  ASSERT_NOT_NULL(run);
  char path[96];
  snprintf(path, sizeof path, "/api/runs/%s/cancel", run);
  free(run);
  struct http_resp r;
  ASSERT_INT_EQ(api_do(&P, "POST", path, NULL, &r), 0);
  ASSERT_INT_EQ(r.status, 200);
  http_resp_free(&r);
  PQclear(PQexec(c, "ROLLBACK"));
  PQfinish(c);
  /* The others commit (O4's group fell back to one by one); O3's segment left nothing. */
  wait_sql("SELECT string_agg(record_id || ':' || status, ',' ORDER BY record_id) FROM runs",
           "O1:succeeded,O2:succeeded,O3:cancelled,O4:succeeded", 10000);
  wait_sql("SELECT string_agg(id || ':' || coalesce(data->>'vip', '-'), ',' ORDER BY id) "
           "FROM records WHERE kind = 'customer'", "C1:yes,C2:yes,C3:-,C4:yes", 5000);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM steps s JOIN runs r ON r.id = s.run_id "
                        "WHERE r.record_id = 'O3'"), 0);
  stop();
}

/* The runs that one request's events start are committed together, in one call of
 * flowd_commit_segments (server/xcommit.c: the queue goes out at the end of the loop turn
 * that executed them), not the first run alone, the second alone and then the rest. */
TEST_PG(intake_runs_of_one_request_commit_together) {
  start();
  flow_install(&P, NOTE_FLOW);
  long long commits = metric_value(&P, "flowd_segment_commits_total");
  long long segments = metric_value(&P, "flowd_run_segments_total");
  ASSERT(commits >= 0 && segments >= 0);
  char body[8192];
  size_t len = 0;
  for (int i = 1; i <= 40; i++)
    len += (size_t)snprintf(body + len, sizeof body - len,
                            "%s{\"type\":\"order.created\",\"data\":{\"id\":\"G%d\","
                            "\"customer\":{\"id\":\"K%d\",\"name\":\"Khách %d\"}}}",
                            i == 1 ? "[" : ",", i, i % 7, i % 7);
  snprintf(body + len, sizeof body - len, "]");
  event_post(&P, body);
  wait_sql("SELECT count(*) FROM records WHERE kind = 'order' AND data->>'note' LIKE 'Khách %'",
           "40", 10000);
  for (int t = 0; t < 100 && metric_value(&P, "flowd_run_segments_total") < segments + 40; t++)
    sleep_ms(50);
  ASSERT_INT_EQ(metric_value(&P, "flowd_run_segments_total") - segments, 40);
  ASSERT_INT_EQ(metric_value(&P, "flowd_segment_commits_total") - commits, 1);
  stop();
}

/* Posts order.created of order <prefix><i> (of customer cust, if any) from a child process:
 * exits 0 when it got its 202. */
/* POSTs body from a child process, which exits 0 when it was answered 202. */
static pid_t post_in_child(const char *body) {
  pid_t pid = fork();
  if (pid != 0)
    return pid;
  struct http_resp r;
  int ok = api_do(&P, "POST", "/api/events", body, &r) == 0 && r.status == 202;
  http_resp_free(&r);
  _exit(ok ? 0 : 1);
}

static pid_t post_order_in_child(const char *prefix, int i, const char *cust) {
  char body[200];
  snprintf(body, sizeof body, "{\"type\":\"order.created\",\"data\":{\"id\":\"%s%d\"%s%s%s}}",
           prefix, i, cust ? ",\"customer\":{\"id\":\"" : "", cust ? cust : "",
           cust ? "\"}" : "");
  return post_in_child(body);
}

static void wait_child_ok(pid_t pid) {
  int st = 0;
  waitpid(pid, &st, 0);
  ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void wait_metric(const char *name, long long want) {
  for (int t = 0; t < 500 && metric_value(&P, name) != want; t++)
    sleep_ms(20);
  ASSERT_INT_EQ(metric_value(&P, name), want);
}

/* When an intake call returns, the next takes at most half of the events then queued or
 * just answered (server/intake.c): 20 requests that queued up behind a call of one event go
 * as calls of 11 and 9 events, not as one of 20 (under load the lane then alternates two
 * groups of about equal size instead of a big one and a tiny one). */
TEST_PG(intake_queue_behind_a_call_goes_in_two_halves) {
  start();
  event_post(&P, "{\"type\":\"customer.created\",\"data\":{\"id\":\"L\"}}");
  /* The first call waits on customer L, which this connection holds. */
  PGconn *c = hold_customers("'L'", 1);
  long long calls = metric_value(&P, "flowd_intake_calls_total");
  long long events = metric_value(&P, "flowd_intake_events_total");
  ASSERT(calls >= 1 && events >= 1);
  enum { QUEUED = 20 };
  pid_t kids[QUEUED + 1];
  kids[0] = post_order_in_child("H", 0, "L");
  wait_metric("flowd_intake_calls_total", calls + 1);
  for (int i = 1; i <= QUEUED; i++)
    kids[i] = post_order_in_child("Q", i, NULL);
  wait_metric("flowd_intake_queued", QUEUED);
  PQclear(PQexec(c, "ROLLBACK"));
  PQfinish(c);
  for (int i = 0; i <= QUEUED; i++)
    wait_child_ok(kids[i]);
  ASSERT_INT_EQ(metric_value(&P, "flowd_intake_calls_total") - calls, 3);
  ASSERT_INT_EQ(metric_value(&P, "flowd_intake_events_total") - events, QUEUED + 1);
  ASSERT_INT_EQ(metric_value(&P, "flowd_intake_queued"), 0);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM records WHERE kind = 'order'"), QUEUED + 1);
  stop();
}

/* Under heavy load a second call goes behind the one in flight, on its connection
 * (server/intake.c): PostgreSQL starts it as soon as the first commits. Here the first call,
 * which sets order X's status to "s1", waits before it touches anything: on the lock that
 * the intake takes for its event's key, held here. A request of 70 events, one of which sets
 * X's status to "s2", goes at once behind it. Had it gone on another connection, it would
 * have updated X before the first call could, and X would end up in "s1". */
TEST_PG(intake_second_call_goes_behind_the_first_on_its_connection) {
  start();
  event_post(&P, "{\"type\":\"order.created\",\"data\":{\"id\":\"X\",\"status\":\"s0\"}}");
  PGconn *c = PQconnectdb(test_pg_conninfo());
  ASSERT_INT_EQ(PQstatus(c), CONNECTION_OK);
  PQclear(PQexec(c, "BEGIN"));
  /* the lock of key "k1" (schema/013_intake_json.sql: pg_advisory_xact_lock(74635, ...)) */
  PGresult *lk = PQexec(c, "SELECT pg_advisory_xact_lock(74635, hashtext('k1'))");
  ASSERT_INT_EQ(PQresultStatus(lk), PGRES_TUPLES_OK);
  PQclear(lk);
  long long calls = metric_value(&P, "flowd_intake_calls_total");
  pid_t first = post_in_child("{\"type\":\"order.updated\",\"key\":\"k1\",\"data\":"
                              "{\"id\":\"X\",\"status\":\"s1\"}}");
  wait_metric("flowd_intake_calls_total", calls + 1);
  enum { MANY = 70 };
  char *body = malloc(MANY * 64 + 64);
  size_t len = (size_t)sprintf(body, "[{\"type\":\"order.updated\",\"data\":{\"id\":\"X\","
                                     "\"status\":\"s2\"}}");
  for (int i = 1; i < MANY; i++)
    len += (size_t)sprintf(body + len, ",{\"type\":\"order.created\",\"data\":{\"id\":"
                                       "\"M%d\"}}", i);
  sprintf(body + len, "]");
  pid_t second = post_in_child(body);
  free(body);
  /* The second call is sent while the first still waits. */
  wait_metric("flowd_intake_calls_total", calls + 2);
  ASSERT_INT_EQ(metric_value(&P, "flowd_intake_queued"), 0);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM records WHERE kind = 'order' AND id LIKE 'M%'"), 0);
  PQclear(PQexec(c, "ROLLBACK"));
  PQfinish(c);
  wait_child_ok(first);
  wait_child_ok(second);
  ASSERT_INT_EQ(metric_value(&P, "flowd_intake_calls_total"), calls + 2);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM records WHERE kind = 'order' AND id LIKE 'M%'"),
                MANY - 1);
  char *now = sql_value(test_pg_conninfo(),
                        "SELECT status FROM records WHERE kind = 'order' AND id = 'X'");
  ASSERT_STR_EQ(now, "s2");
  free(now);
  char *chain = sql_value(test_pg_conninfo(),
                          "SELECT string_agg((data->>'from') || '>' || (data->>'to'), ' ' "
                          "ORDER BY id) FROM events WHERE type = 'order.status_changed' AND "
                          "record_id = 'X' AND data->>'from' IS NOT NULL");
  ASSERT_STR_EQ(chain, "s0>s1 s1>s2");
  free(chain);
  stop();
}

/* Posts updates to order X (and orders of its own) from one of several processes. */
static void post_updates(struct flowd_proc *p, int who, int n) {
  for (int i = 0; i < n; i++) {
    char body[400];
    snprintf(body, sizeof body,
             "[{\"type\":\"order.updated\",\"data\":{\"id\":\"X\",\"status\":\"p%d-%d\","
             "\"customer\":{\"id\":\"C%d\"}}},"
             "{\"type\":\"order.created\",\"data\":{\"id\":\"Y%d-%d\",\"status\":\"new\","
             "\"customer\":{\"id\":\"C%d\"}}}]",
             who, i, i % 3, who, i, (i + who) % 3);
    struct http_resp r;
    int ok = api_do(p, "POST", "/api/events", body, &r) == 0 && r.status == 202;
    http_resp_free(&r);
    if (!ok)
      _exit(1);
  }
}

/* Events on one record are applied in the order of their ids even when several clients post
 * to it at once (intake groups are committed one after the other, on one connection when two
 * are in flight: two lanes side by side, for groups that touch different records, were tried
 * and measured slower: smaller groups). */
TEST_PG(intake_concurrent_requests_on_one_record_apply_in_event_order) {
  start();
  event_post(&P, "{\"type\":\"order.created\",\"data\":{\"id\":\"X\",\"status\":\"p0\"}}");
  enum { POSTERS = 4, EACH = 60 };
  pid_t kids[POSTERS];
  for (int k = 0; k < POSTERS; k++) {
    kids[k] = fork();
    if (kids[k] == 0) {
      post_updates(&P, k + 1, EACH);
      _exit(0);
    }
  }
  for (int k = 0; k < POSTERS; k++)
    wait_child_ok(kids[k]);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM events WHERE type = 'order.updated' AND "
                        "record_id = 'X'"), POSTERS * EACH);
  /* The record holds what the last event (by id) said, and the status changes chain up. */
  char *last = sql_value(test_pg_conninfo(),
                         "SELECT data->>'status' FROM events WHERE type = 'order.updated' AND "
                         "record_id = 'X' ORDER BY id DESC LIMIT 1");
  char *now = sql_value(test_pg_conninfo(),
                        "SELECT status FROM records WHERE kind = 'order' AND id = 'X'");
  ASSERT_STR_EQ(now, last);
  free(last);
  free(now);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM (SELECT data->>'from' AS f, lag(data->>'to') "
                        "OVER (ORDER BY id) AS prev FROM events WHERE type = "
                        "'order.status_changed' AND record_id = 'X') c "
                        "WHERE prev IS NOT NULL AND f IS DISTINCT FROM prev"), 0);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM events WHERE type = 'order.status_changed' AND "
                        "record_id = 'X'"), POSTERS * EACH + 1);
  stop();
}

/* The records and events that one set of patches leaves, for orders whose id ends in sfx. */
static char *patched(const char *sfx) {
  char q[1024];
  snprintf(q, sizeof q,
           "SELECT jsonb_build_object('records', (SELECT jsonb_agg(jsonb_build_object('id', "
           "left(id, 1), 'data', data - 'id', 'status', status, 'owner', owner_id, 'customer', "
           "customer_id, 'deleted', deleted, 'version', version) ORDER BY id) FROM records "
           "WHERE kind = 'order' AND id LIKE '_%s'), 'events', (SELECT jsonb_agg("
           "jsonb_build_object('id', left(record_id, 1), 'data', data - 'id', 'cause', "
           "cause_run, 'depth', depth) ORDER BY record_id) FROM events WHERE type = "
           "'order.updated' AND record_id LIKE '_%s'))",
           sfx, sfx);
  return sql_value(test_pg_conninfo(), q);
}

/* flowd_patch_records (schema/011) stands in for the whole intake when the record updates
 * are plain patches nothing listens to: it must leave exactly what flowd_intake_set leaves,
 * for a record that exists (with a status), one that was deleted and one never seen. */
TEST_PG(intake_plain_patches_leave_what_the_whole_intake_leaves) {
  start();
  const char *setup[] = {
      "[{\"type\":\"order.created\",\"data\":{\"id\":\"A%s\",\"status\":\"new\",\"x\":1,"
      "\"customer\":{\"id\":\"c\"}}}, {\"type\":\"order.created\",\"data\":{\"id\":\"B%s\","
      "\"x\":2}}]",
      "[{\"type\":\"order.deleted\",\"data\":{\"id\":\"B%s\"}}]"};
  const char *patch =
      "[{\"type\":\"order.updated\",\"cause\":7,\"depth\":1,\"data\":{\"id\":\"A%s\","
      "\"owner_id\":\"s1\",\"x\":3}}, {\"type\":\"order.updated\",\"cause\":7,\"depth\":1,"
      "\"data\":{\"id\":\"B%s\",\"owner_id\":\"s2\"}}, {\"type\":\"order.updated\","
      "\"cause\":8,\"depth\":9,\"data\":{\"id\":\"C%s\",\"owner_id\":\"s3\",\"team_id\":\"t\"}}]";
  char ev[1024], q[1400];
  for (int k = 1; k <= 2; k++) {
    const char *s = k == 1 ? "1" : "2";
    for (size_t i = 0; i < 2; i++) {
      snprintf(ev, sizeof ev, setup[i], s, s);
      snprintf(q, sizeof q, "SELECT flowd_intake_set('%s', 'nobody', NULL, 0, 8, 30000)", ev);
      free(sql_value(test_pg_conninfo(), q));
    }
  }
  snprintf(ev, sizeof ev, patch, "1", "1", "1");
  snprintf(q, sizeof q, "SELECT flowd_patch_records('%s', 8)->>'depth_limited'", ev);
  char *limited = sql_value(test_pg_conninfo(), q);
  ASSERT_STR_EQ(limited, "true"); /* C's event is at depth 9 */
  free(limited);
  snprintf(ev, sizeof ev, patch, "2", "2", "2");
  snprintf(q, sizeof q, "SELECT flowd_intake_set('%s', 'nobody', NULL, 0, 8, 30000)", ev);
  free(sql_value(test_pg_conninfo(), q));

  char *a = patched("1"), *b = patched("2");
  cJSON *ja = cJSON_Parse(a), *jb = cJSON_Parse(b);
  if (!json_same(ja, jb))
    test_fail(__FILE__, __LINE__, "patch path:\n%s\nwhole intake:\n%s", a, b);
  /* and what it left is what a patch means */
  const cJSON *recs = cJSON_GetObjectItem(ja, "records");
  ASSERT_INT_EQ(cJSON_GetArraySize(recs), 3);
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(ja, "events")), 3);
  const cJSON *ra = cJSON_GetArrayItem(recs, 0);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(ra, "owner")), "s1");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(ra, "status")), "new");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(ra, "customer")), "c");
  cJSON_Delete(ja);
  cJSON_Delete(jb);
  free(a);
  free(b);
  stop();
}

/* Whether the first run context of an intake answer (text) is the context of that run as a
 * claim loads it (flowd_run_context), but for the event_id only the intake's answer has. */
static int context_as_loaded(const char *answer) {
  char *q = malloc(strlen(answer) + 256);
  sprintf(q, "WITH x AS (SELECT $a$%s$a$::jsonb->'runs'->0 AS r) "
             "SELECT (r - 'event_id') = flowd_run_context((r->>'id')::bigint) FROM x", answer);
  char *same = sql_value(test_pg_conninfo(), q);
  int ok = same && !strcmp(same, "t");
  free(same);
  free(q);
  return ok;
}

/* flowd's intake answers in json (flowd_intake_json, schema/013); PostgreSQL's own callers
 * get the same answer as jsonb (flowd_intake_set). In both, a new run's context is the one a
 * claim would load for it: the record and customer as the events left them. */
TEST_PG(intake_json_and_jsonb_answers_carry_the_same_contexts) {
  start();
  flow_install(&P, NOTE_FLOW);
  char *a = sql_value(test_pg_conninfo(),
                      "SELECT flowd_intake_json('[{\"type\":\"order.created\",\"data\":{\"id\":"
                      "\"J1\",\"total\":5,\"customer\":{\"id\":\"CJ\",\"name\":\"An\"}}}]',"
                      " 'test-owner', NULL, 0, 8, 600000)");
  char *b = sql_value(test_pg_conninfo(),
                      "SELECT flowd_intake_set('[{\"type\":\"order.created\",\"data\":{\"id\":"
                      "\"J2\",\"total\":5,\"customer\":{\"id\":\"CS\",\"name\":\"An\"}}}]',"
                      " 'test-owner', NULL, 0, 8, 600000)");
  ASSERT(context_as_loaded(a));
  ASSERT(context_as_loaded(b));
  cJSON *ja = cJSON_Parse(a);
  const cJSON *runs = cJSON_GetObjectItem(ja, "runs");
  ASSERT_INT_EQ(cJSON_GetArraySize(runs), 1);
  const cJSON *r = cJSON_GetArrayItem(runs, 0);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r, "flow_id")), "f_note");
  const cJSON *rec = cJSON_GetObjectItem(r, "record");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(rec, "customer_id")), "CJ");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "customer"),
                                                         "name")), "An");
  const cJSON *data = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "event"), "data");
  ASSERT(cJSON_GetNumberValue(cJSON_GetObjectItem(data, "total")) == 5);
  cJSON_Delete(ja);
  free(a);
  free(b);
  stop();
}
