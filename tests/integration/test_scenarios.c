/* The five pictures of SPEC as data: each tests/scenarios/<name>.json is played against a real
 * flowd, its own PostgreSQL database, an HTTP sink and an SMTP sink on loopback. The file
 * format is described in tests/scenarios/README.md; expectations live in scenario_check.c.
 *
 * A scenario runs its setup (providers, staff, teams, presence, any API call), installs and
 * activates its flows (fixtures from tests/fixtures/flows, optionally patched per node, or
 * inline), then plays its steps in order: each posts events or changes presence, waits until
 * no run is left running, and polls its expectations until they hold or its time is up. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/helpers.h"
#include "tests/integration/exec_util.h"
#include "tests/integration/scenario_check.h"
#include "tests/sinks.h"
#include "tests/test.h"

#define READY_MS 60000
#define EXPECT_MS 10000 /* a step's expectations must hold within this (default) */
#define SETTLE_MS 10000 /* runs started by a step must stop running within this */
#define POLL_MS 50

struct play {
  const char *name;
  struct flowd_proc p;
  struct sink http, smtp;
  cJSON *vars; /* what steps remembered: {name: value} */
};

/* ---- the file ---- */

/* Replaces ${HTTP_SINK} and ${SMTP_PORT} in every string of v; a string that is only
 * ${SMTP_PORT} becomes the number. */
static void substitute(cJSON *v, const struct play *pl) {
  if (cJSON_IsString(v)) {
    if (!strcmp(v->valuestring, "${SMTP_PORT}")) {
      /* Turned into a number in place: v keeps its place and name in its parent. */
      cJSON_free(v->valuestring);
      v->valuestring = NULL;
      v->type = cJSON_Number;
      v->valueint = pl->smtp.port;
      v->valuedouble = pl->smtp.port;
      return;
    }
    const char *mark = strstr(v->valuestring, "${HTTP_SINK}");
    if (mark) {
      char *s = malloc(strlen(v->valuestring) + strlen(pl->http.url) + 1);
      sprintf(s, "%.*s%s%s", (int)(mark - v->valuestring), v->valuestring, pl->http.url,
              mark + strlen("${HTTP_SINK}"));
      cJSON_SetValuestring(v, s);
      free(s);
    }
    return;
  }
  cJSON *c;
  cJSON_ArrayForEach(c, v) substitute(c, pl);
}

static cJSON *load_json(const char *dir, const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s/%s", test_source_dir(), dir, name);
  char *text = read_text(path);
  if (!text)
    test_fail(__FILE__, __LINE__, "cannot read %s", path);
  cJSON *j = cJSON_Parse(text);
  if (!j)
    test_fail(__FILE__, __LINE__, "%s is not JSON (near: %.60s)", path, cJSON_GetErrorPtr());
  free(text);
  return j;
}

/* ---- setup ---- */

static struct http_resp call(struct play *pl, const char *method, const char *path,
                             const cJSON *body, long want) {
  char *text = body ? cJSON_PrintUnformatted(body) : NULL;
  struct http_resp r;
  if (api_do(&pl->p, method, path, text, &r) != 0)
    test_fail(__FILE__, __LINE__, "%s %s: no response", method, path);
  if (want && r.status != want)
    test_fail(__FILE__, __LINE__, "%s %s %s: status %ld, want %ld: %s", method, path,
              text ? text : "", r.status, want, r.body ? r.body : "");
  free(text);
  return r;
}

static void post_each(struct play *pl, const char *path, const cJSON *list) {
  const cJSON *item;
  cJSON_ArrayForEach(item, list) {
    struct http_resp r = call(pl, "POST", path, item, 201);
    http_resp_free(&r);
  }
}

/* {"s_lan": true, ...}: each staff member's presence. */
static void set_presence(struct play *pl, const cJSON *presence) {
  const cJSON *who;
  cJSON_ArrayForEach(who, presence) {
    char path[256];
    snprintf(path, sizeof path, "/api/staff/%s/presence", who->string);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddBoolToObject(body, "online", cJSON_IsTrue(who));
    struct http_resp r = call(pl, "PUT", path, body, 200);
    http_resp_free(&r);
    cJSON_Delete(body);
  }
}

/* [{"method", "path", "body", "status"}]: API calls the other keys do not cover. */
static void api_calls(struct play *pl, const cJSON *calls) {
  const cJSON *c;
  cJSON_ArrayForEach(c, calls) {
    const cJSON *st = cJSON_GetObjectItem(c, "status");
    struct http_resp r = call(pl, cJSON_GetStringValue(cJSON_GetObjectItem(c, "method")),
                              cJSON_GetStringValue(cJSON_GetObjectItem(c, "path")),
                              cJSON_GetObjectItem(c, "body"), st ? st->valueint : 0);
    if (!st && (r.status < 200 || r.status > 299))
      test_fail(__FILE__, __LINE__, "API call %s: status %ld: %s",
                cJSON_GetStringValue(cJSON_GetObjectItem(c, "path")), r.status,
                r.body ? r.body : "");
    http_resp_free(&r);
  }
}

static void setup(struct play *pl, const cJSON *s) {
  post_each(pl, "/api/providers", cJSON_GetObjectItem(s, "providers"));
  post_each(pl, "/api/staff", cJSON_GetObjectItem(s, "staff"));
  post_each(pl, "/api/teams", cJSON_GetObjectItem(s, "teams"));
  set_presence(pl, cJSON_GetObjectItem(s, "presence"));
  api_calls(pl, cJSON_GetObjectItem(s, "api"));
}

/* ---- flows ---- */

/* RFC 7386 merge patch of target with patch (borrowed). */
static void merge_patch(cJSON *target, const cJSON *patch) {
  const cJSON *m;
  cJSON_ArrayForEach(m, patch) {
    cJSON *cur = cJSON_GetObjectItemCaseSensitive(target, m->string);
    if (cJSON_IsNull(m)) {
      cJSON_DeleteItemFromObjectCaseSensitive(target, m->string);
    } else if (cJSON_IsObject(m) && cJSON_IsObject(cur)) {
      merge_patch(cur, m);
    } else {
      cJSON_DeleteItemFromObjectCaseSensitive(target, m->string);
      cJSON_AddItemToObject(target, m->string, cJSON_Duplicate(m, 1));
    }
  }
}

/* A flow entry: "fixture.json", {"file": "fixture.json", "nodes": {id: merge patch}}, or an
 * inline flow document. Returns a new document. */
static cJSON *flow_doc(const cJSON *entry) {
  const char *file = cJSON_IsString(entry)
                         ? entry->valuestring
                         : cJSON_GetStringValue(cJSON_GetObjectItem(entry, "file"));
  if (!file)
    return cJSON_Duplicate(entry, 1);
  cJSON *doc = load_json("tests/fixtures/flows", file);
  const cJSON *patch;
  cJSON_ArrayForEach(patch, cJSON_GetObjectItem(entry, "nodes")) {
    cJSON *node = NULL, *n;
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(doc, "nodes")) {
      if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(n, "id")), patch->string))
        node = n;
    }
    if (!node)
      test_fail(__FILE__, __LINE__, "%s has no node \"%s\" to patch", file, patch->string);
    merge_patch(node, patch);
  }
  return doc;
}

static void install_flows(struct play *pl, const cJSON *flows) {
  const cJSON *entry;
  cJSON_ArrayForEach(entry, flows) {
    cJSON *doc = flow_doc(entry);
    char *text = cJSON_PrintUnformatted(doc);
    flow_install(&pl->p, text);
    free(text);
    cJSON_Delete(doc);
  }
}

/* ---- steps ---- */

/* Waits until no run is running: the runs the step started have finished or wait. */
static void settle(struct play *pl) {
  double deadline = mono_ms() + SETTLE_MS;
  while (sql_num("SELECT count(*) FROM runs WHERE status = 'running'") > 0) {
    if (mono_ms() > deadline)
      test_fail(__FILE__, __LINE__, "%s: runs still running after %d ms", pl->name, SETTLE_MS);
    sleep_ms(POLL_MS);
  }
}

static void fail_step(struct play *pl, int index, const cJSON *step, const char *why) {
  char *log = flowd_log(&pl->p);
  size_t n = log ? strlen(log) : 0;
  const char *note = cJSON_GetStringValue(cJSON_GetObjectItem(step, "note"));
  test_fail(__FILE__, __LINE__, "scenario %s, step %d (%s): expectations do not hold:\n%s"
            "flowd log (tail):\n%s", pl->name, index, note ? note : "", why,
            log ? log + (n > 3000 ? n - 3000 : 0) : "");
}

/* Polls the step's expectations until they hold; then, with hold_ms, checks that they still
 * hold that much later (for what must NOT happen, such as a cancelled SMS). */
static void expect(struct play *pl, int index, const cJSON *step) {
  const cJSON *want = cJSON_GetObjectItem(step, "expect");
  if (!want)
    return;
  const cJSON *t = cJSON_GetObjectItem(step, "timeout_ms");
  double deadline = mono_ms() + (t ? t->valuedouble : EXPECT_MS);
  char *why = NULL;
  while (!scen_check(want, &pl->http, &pl->smtp, pl->vars, &why)) {
    if (mono_ms() > deadline)
      fail_step(pl, index, step, why);
    if (getenv("SCENARIO_TRACE")) /* every failed poll, to see how a step converges */
      test_log("step %d: %s", index, why);
    free(why);
    sleep_ms(POLL_MS);
  }
  free(why);
  const cJSON *hold = cJSON_GetObjectItem(step, "hold_ms");
  if (!hold)
    return;
  sleep_ms(hold->valueint);
  if (!scen_check(want, &pl->http, &pl->smtp, pl->vars, &why))
    fail_step(pl, index, step, why);
  free(why);
}

/* {"name": "kind/id/path"}: keeps record fields as they are now, for later "$name". */
static void remember(struct play *pl, const cJSON *what) {
  const cJSON *r;
  cJSON_ArrayForEach(r, what) {
    cJSON *v = scen_record_field(cJSON_GetStringValue(r));
    if (!v)
      test_fail(__FILE__, __LINE__, "%s: nothing to remember as %s: no %s", pl->name,
                r->string, cJSON_GetStringValue(r));
    cJSON_DeleteItemFromObjectCaseSensitive(pl->vars, r->string);
    cJSON_AddItemToObject(pl->vars, r->string, v);
  }
}

static void post_events(struct play *pl, const cJSON *step) {
  const cJSON *one = cJSON_GetObjectItem(step, "event"), *e;
  if (one) {
    char *text = cJSON_PrintUnformatted(one);
    event_post(&pl->p, text);
    free(text);
  }
  cJSON_ArrayForEach(e, cJSON_GetObjectItem(step, "events")) {
    char *text = cJSON_PrintUnformatted(e);
    event_post(&pl->p, text);
    free(text);
  }
}

static void play_step(struct play *pl, int index, const cJSON *step) {
  set_presence(pl, cJSON_GetObjectItem(step, "presence"));
  api_calls(pl, cJSON_GetObjectItem(step, "api"));
  post_events(pl, step);
  const cJSON *wait = cJSON_GetObjectItem(step, "wait_ms");
  if (wait)
    sleep_ms(wait->valueint);
  settle(pl);
  expect(pl, index, step);
  remember(pl, cJSON_GetObjectItem(step, "remember"));
}

static void play(const char *name) {
  struct play pl = {.name = name, .vars = cJSON_CreateObject()};
  char file[256];
  snprintf(file, sizeof file, "%s.json", name);
  cJSON *sc = load_json("tests/scenarios", file);
  sink_http_start(&pl.http, 0, NULL);
  sink_smtp_start(&pl.smtp);
  substitute(sc, &pl);
  flowd_start(&pl.p, NULL, "test", NULL);
  flowd_wait_ready(&pl.p, READY_MS);
  setup(&pl, cJSON_GetObjectItem(sc, "setup"));
  install_flows(&pl, cJSON_GetObjectItem(sc, "flows"));
  const cJSON *step;
  int i = 0;
  cJSON_ArrayForEach(step, cJSON_GetObjectItem(sc, "steps")) play_step(&pl, ++i, step);
  ASSERT_INT_EQ(flowd_stop(&pl.p, SIGTERM, 30000), 0);
  sink_stop(&pl.http);
  sink_stop(&pl.smtp);
  cJSON_Delete(pl.vars);
  cJSON_Delete(sc);
}

/* ---- one test per picture ---- */

static const char *const scenarios[] = {"owner_by_source", "status_rules",
                                        "conversation_dispatch", "tasks_on_new_order",
                                        "lead_routing", NULL};

TEST_PG(scenario_owner_by_source) { play("owner_by_source"); }
TEST_PG(scenario_status_rules) { play("status_rules"); }
TEST_PG(scenario_conversation_dispatch) { play("conversation_dispatch"); }
TEST_PG(scenario_tasks_on_new_order) { play("tasks_on_new_order"); }
TEST_PG(scenario_lead_routing) { play("lead_routing"); }

/* A scenario file without a test above would never run. */
TEST(scenario_every_file_has_a_test) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/tests/scenarios", test_source_dir());
  DIR *d = opendir(dir);
  ASSERT_NOT_NULL(d);
  struct dirent *e;
  int files = 0;
  while ((e = readdir(d))) {
    size_t n = strlen(e->d_name);
    if (n < 6 || strcmp(e->d_name + n - 5, ".json"))
      continue;
    files++;
    int known = 0;
    for (int i = 0; scenarios[i]; i++)
      known |= strlen(scenarios[i]) == n - 5 && !strncmp(scenarios[i], e->d_name, n - 5);
    if (!known)
      test_fail(__FILE__, __LINE__, "tests/scenarios/%s has no TEST_PG in test_scenarios.c",
                e->d_name);
  }
  closedir(d);
  ASSERT_INT_EQ(files, 5);
}
