/* People against a real flowd and PostgreSQL: staff and teams CRUD with good and bad input,
 * membership seen from both sides, what staff members may see and change of each other,
 * presence through the API. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tests/helpers.h"
#include "tests/integration/people_client.h"
#include "tests/test.h"

static struct flowd_proc P;

static void start(void) {
  flowd_start(&P, NULL, "test", NULL);
  flowd_wait_ready(&P, 60000);
}

static void stop(void) { ASSERT_INT_EQ(flowd_stop(&P, SIGTERM, 30000), 0); }

/* An admin request that must answer want; free the result with http_resp_free. */
static struct http_resp call_at(int line, const char *method, const char *path,
                                const char *body, long want) {
  struct http_resp r;
  if (api_do(&P, method, path, body, &r) != 0)
    test_fail(__FILE__, line, "%s %s: no response", method, path);
  if (r.status != want)
    test_fail(__FILE__, line, "%s %s %s: status %ld, want %ld; body: %s%s%s", method, path,
              body ? body : "", r.status, want, r.body ? r.body : "",
              r.status >= 500 ? "\nflowd log:\n" : "", r.status >= 500 ? flowd_log(&P) : "");
  return r;
}
#define call(m, p, b, w) call_at(__LINE__, m, p, b, w)
/* The same when only the status matters. */
#define run(m, p, b, w)                                                                   \
  do {                                                                                    \
    struct http_resp r_ = call_at(__LINE__, m, p, b, w);                                  \
    http_resp_free(&r_);                                                                  \
  } while (0)

/* The same as a session (with its CSRF token). */
static struct http_resp scall_at(int line, const struct session *s, const char *method,
                                 const char *path, const char *body, long want) {
  struct http_resp r;
  if (pc_session_do(&P, s, 1, method, path, body, &r) != 0)
    test_fail(__FILE__, line, "%s %s: no response", method, path);
  if (r.status != want)
    test_fail(__FILE__, line, "%s %s %s: status %ld, want %ld; body: %s", method, path,
              body ? body : "", r.status, want, r.body ? r.body : "");
  return r;
}
#define scall(s, m, p, b, w) scall_at(__LINE__, s, m, p, b, w)

/* A 400 naming field. */
static void bad_at(int line, const char *method, const char *path, const char *body,
                   const char *field) {
  struct http_resp r = call_at(line, method, path, body, 400);
  if (!pc_err_field(&r) || strcmp(pc_err_field(&r), field) != 0)
    test_fail(__FILE__, line, "%s %s %s: field %s, want %s; body: %s", method, path, body,
              pc_err_field(&r) ? pc_err_field(&r) : "(none)", field, r.body);
  http_resp_free(&r);
}
#define bad(m, p, b, f) bad_at(__LINE__, m, p, b, f)

static const char *str(const cJSON *o, const char *k) {
  return cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
}

static int list_has(const cJSON *list, const char *s) {
  const cJSON *e;
  cJSON_ArrayForEach(e, list) {
    if (cJSON_IsString(e) && strcmp(e->valuestring, s) == 0)
      return 1;
  }
  return 0;
}

#define LAN                                                                               \
  "{\"id\":\"s_lan\",\"name\":\"Lan\",\"email\":\"Lan@Example.com\",\"phone\":\"+8490\","  \
  "\"roles\":[\"sales manager\"],\"pages\":[\"fb_1\"],\"attrs\":{\"city\":\"Hanoi\"},"     \
  "\"password\":\"correct horse\"}"

TEST_PG(people_staff_create_read_list_never_shows_password) {
  start();
  struct http_resp r = call("POST", "/api/staff", LAN, 201);
  ASSERT_STR_EQ(str(r.json, "id"), "s_lan");
  ASSERT_STR_EQ(str(r.json, "email"), "lan@example.com");
  ASSERT_STR_EQ(str(r.json, "access"), "staff");
  ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "has_password")));
  ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(r.json, "online")));
  ASSERT(list_has(cJSON_GetObjectItem(r.json, "roles"), "sales manager"));
  ASSERT_STR_EQ(str(cJSON_GetObjectItem(r.json, "attrs"), "city"), "Hanoi");
  ASSERT(!strstr(r.body, "\"password\"") && !strstr(r.body, "correct horse"));
  ASSERT(!strstr(r.body, "argon2"));
  http_resp_free(&r);
  r = call("GET", "/api/staff/s_lan", NULL, 200);
  ASSERT_STR_EQ(str(r.json, "name"), "Lan");
  ASSERT(!strstr(r.body, "argon2") && !strstr(r.body, "password_hash"));
  http_resp_free(&r);
  /* No id given: one is made. */
  r = call("POST", "/api/staff", "{\"name\":\"Minh\"}", 201);
  ASSERT(strncmp(str(r.json, "id"), "s_", 2) == 0);
  ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(r.json, "has_password")));
  http_resp_free(&r);
  r = call("GET", "/api/staff", NULL, 200);
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "staff")), 2);
  ASSERT(!strstr(r.body, "argon2"));
  http_resp_free(&r);
  stop();
}

TEST_PG(people_staff_bad_input_names_the_field) {
  start();
  bad("POST", "/api/staff", "{}", "name");
  bad("POST", "/api/staff", "[1]", "");
  bad("POST", "/api/staff", "{\"name\":\"\"}", "name");
  bad("POST", "/api/staff", "{\"name\":\"A\",\"id\":\"has space\"}", "id");
  bad("POST", "/api/staff", "{\"name\":\"A\",\"email\":\"nope\"}", "email");
  bad("POST", "/api/staff", "{\"name\":\"A\",\"phone\":5}", "phone");
  bad("POST", "/api/staff", "{\"name\":\"A\",\"roles\":\"sales\"}", "roles");
  bad("POST", "/api/staff", "{\"name\":\"A\",\"roles\":[\"a\",7]}", "roles/1");
  bad("POST", "/api/staff", "{\"name\":\"A\",\"pages\":[\"p\",\"p\"]}", "pages/1");
  bad("POST", "/api/staff", "{\"name\":\"A\",\"attrs\":[]}", "attrs");
  bad("POST", "/api/staff", "{\"name\":\"A\",\"access\":\"root\"}", "access");
  bad("POST", "/api/staff", "{\"name\":\"A\",\"password\":\"short\"}", "password");
  bad("POST", "/api/staff", "{\"name\":\"A\",\"nickname\":\"x\"}", "nickname");
  bad("POST", "/api/staff", "{\"name\":\"A\",\"teams\":[\"t_none\"]}", "teams/0");
  run("POST", "/api/staff", LAN, 201);
  bad("PATCH", "/api/staff/s_lan", "{\"name\":null}", "name");
  bad("PATCH", "/api/staff/s_lan", "{\"id\":\"s_other\"}", "id");
  bad("PATCH", "/api/staff/s_lan", "{\"teams\":[\"t_none\"]}", "teams/0");
  struct http_resp r = call("POST", "/api/staff", "{not json", 400);
  http_resp_free(&r);
  stop();
}

TEST_PG(people_staff_duplicates_are_409_and_unknown_is_404) {
  start();
  run("POST", "/api/staff", LAN, 201);
  struct http_resp r = call("POST", "/api/staff", LAN, 409);
  ASSERT_STR_EQ(pc_err_field(&r), "id");
  http_resp_free(&r);
  r = call("POST", "/api/staff", "{\"name\":\"B\",\"email\":\"LAN@example.com\"}", 409);
  ASSERT_STR_EQ(pc_err_field(&r), "email");
  http_resp_free(&r);
  r = call("POST", "/api/staff", "{\"id\":\"s_b\",\"name\":\"B\",\"email\":\"b@x.io\"}", 201);
  http_resp_free(&r);
  r = call("PATCH", "/api/staff/s_b", "{\"email\":\"lan@example.com\"}", 409);
  ASSERT_STR_EQ(pc_err_field(&r), "email");
  http_resp_free(&r);
  r = call("GET", "/api/staff/s_none", NULL, 404);
  http_resp_free(&r);
  r = call("PATCH", "/api/staff/s_none", "{\"name\":\"X\"}", 404);
  http_resp_free(&r);
  r = call("DELETE", "/api/staff/s_none", NULL, 404);
  http_resp_free(&r);
  r = call("PUT", "/api/staff/s_none/presence", "{\"online\":true}", 404);
  http_resp_free(&r);
  stop();
}

TEST_PG(people_staff_patch_changes_only_given_fields) {
  start();
  run("POST", "/api/staff", LAN, 201);
  struct http_resp r = call("PATCH", "/api/staff/s_lan", "{\"phone\":null,\"roles\":[]}", 200);
  ASSERT(cJSON_IsNull(cJSON_GetObjectItem(r.json, "phone")));
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "roles")), 0);
  ASSERT_STR_EQ(str(r.json, "name"), "Lan");
  ASSERT_STR_EQ(str(r.json, "email"), "lan@example.com");
  ASSERT_STR_EQ(str(cJSON_GetObjectItem(r.json, "attrs"), "city"), "Hanoi");
  http_resp_free(&r);
  /* Sending back what GET returned is fine: read-only fields are ignored. */
  r = call("GET", "/api/staff/s_lan", NULL, 200);
  cJSON *doc = cJSON_Duplicate(r.json, 1);
  http_resp_free(&r);
  cJSON_ReplaceItemInObject(doc, "name", cJSON_CreateString("Lan Nguyen"));
  char *text = cJSON_PrintUnformatted(doc);
  r = call("PATCH", "/api/staff/s_lan", text, 200);
  ASSERT_STR_EQ(str(r.json, "name"), "Lan Nguyen");
  free(text);
  cJSON_Delete(doc);
  http_resp_free(&r);
  r = call("PATCH", "/api/staff/s_lan", "{\"password\":null}", 200);
  ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(r.json, "has_password")));
  http_resp_free(&r);
  struct session s;
  ASSERT_INT_EQ(pc_login(&P, "lan@example.com", "correct horse", &s), 401);
  r = call("PATCH", "/api/staff/s_lan", "{\"password\":\"battery staple\"}", 200);
  http_resp_free(&r);
  pc_must_login(&P, "LAN@example.com", "battery staple", &s);
  stop();
}

TEST_PG(people_teams_members_and_staff_teams_agree) {
  start();
  run("POST", "/api/staff", LAN, 201);
  run("POST", "/api/staff", "{\"id\":\"s_minh\",\"name\":\"Minh\"}", 201);
  struct http_resp r = call(
      "POST", "/api/teams",
      "{\"id\":\"t_na\",\"name\":\"North America\",\"domain\":[[\"country\",\"in\","
      "[\"United States\",\"Canada\"]]],\"members\":[{\"staff\":\"s_minh\",\"max_per_day\":5},"
      "{\"staff\":\"s_lan\",\"domain\":[[\"amount\",\">\",100]]}]}",
      201);
  cJSON *members = cJSON_GetObjectItem(r.json, "members");
  ASSERT_INT_EQ(cJSON_GetArraySize(members), 2);
  ASSERT_STR_EQ(str(cJSON_GetArrayItem(members, 0), "staff"), "s_minh");
  ASSERT_INT_EQ(cJSON_GetObjectItem(cJSON_GetArrayItem(members, 0), "max_per_day")->valueint, 5);
  ASSERT(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(members, 0), "domain")));
  ASSERT(cJSON_IsArray(cJSON_GetObjectItem(cJSON_GetArrayItem(members, 1), "domain")));
  http_resp_free(&r);
  r = call("GET", "/api/staff/s_lan", NULL, 200);
  ASSERT(list_has(cJSON_GetObjectItem(r.json, "teams"), "t_na"));
  http_resp_free(&r);
  /* From the staff side: join a second team, keep the first with its member settings. */
  run("POST", "/api/teams", "{\"id\":\"t_eu\",\"name\":\"Europe\"}", 201);
  r = call("PATCH", "/api/staff/s_minh", "{\"teams\":[\"t_na\",\"t_eu\"]}", 200);
  ASSERT(list_has(cJSON_GetObjectItem(r.json, "teams"), "t_eu"));
  http_resp_free(&r);
  r = call("GET", "/api/teams/t_na", NULL, 200);
  members = cJSON_GetObjectItem(r.json, "members");
  ASSERT_INT_EQ(cJSON_GetObjectItem(cJSON_GetArrayItem(members, 0), "max_per_day")->valueint, 5);
  http_resp_free(&r);
  r = call("PATCH", "/api/staff/s_minh", "{\"teams\":[\"t_eu\"]}", 200);
  http_resp_free(&r);
  r = call("GET", "/api/teams/t_na", NULL, 200);
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "members")), 1);
  http_resp_free(&r);
  /* From the team side: replace the members; deleting staff or team removes membership. */
  r = call("PATCH", "/api/teams/t_eu", "{\"members\":[{\"staff\":\"s_lan\"}]}", 200);
  http_resp_free(&r);
  r = call("GET", "/api/staff/s_minh", NULL, 200);
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "teams")), 0);
  http_resp_free(&r);
  run("DELETE", "/api/staff/s_lan", NULL, 204);
  r = call("GET", "/api/teams/t_eu", NULL, 200);
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "members")), 0);
  http_resp_free(&r);
  run("DELETE", "/api/teams/t_eu", NULL, 204);
  r = call("GET", "/api/teams", NULL, 200);
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "teams")), 1);
  http_resp_free(&r);
  stop();
}

TEST_PG(people_teams_bad_input_names_field_and_domain_path) {
  start();
  run("POST", "/api/staff", LAN, 201);
  bad("POST", "/api/teams", "{}", "name");
  bad("POST", "/api/teams", "{\"name\":\"T\",\"domain\":{\"a\":1}}", "domain");
  struct http_resp r = call("POST", "/api/teams",
                            "{\"name\":\"T\",\"domain\":[[\"country\",\"=\",\"VN\"],"
                            "[\"city\",\"bogus\",\"Hanoi\"]]}",
                            400);
  ASSERT_STR_EQ(pc_err_field(&r), "domain");
  const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(
      cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "error"), "details"), "path"));
  ASSERT_NOT_NULL(path);
  ASSERT(strncmp(path, "/1", 2) == 0);
  http_resp_free(&r);
  bad("POST", "/api/teams",
      "{\"name\":\"T\",\"members\":[{\"staff\":\"s_lan\",\"domain\":[\"|\"]}]}",
      "members/0/domain");
  bad("POST", "/api/teams",
      "{\"name\":\"T\",\"members\":[{\"staff\":\"s_lan\"},{\"staff\":\"s_x\"}]}",
      "members/1/staff");
  bad("POST", "/api/teams",
      "{\"name\":\"T\",\"members\":[{\"staff\":\"s_lan\"},{\"staff\":\"s_lan\"}]}",
      "members/1/staff");
  bad("POST", "/api/teams",
      "{\"name\":\"T\",\"members\":[{\"staff\":\"s_lan\",\"max_per_day\":-1}]}",
      "members/0/max_per_day");
  bad("POST", "/api/teams", "{\"name\":\"T\",\"members\":[{\"staff\":\"s_lan\",\"boss\":true}]}",
      "members/0/boss");
  bad("POST", "/api/teams", "{\"name\":\"T\",\"members\":{}}", "members");
  run("POST", "/api/teams", "{\"id\":\"t_a\",\"name\":\"A\"}", 201);
  r = call("POST", "/api/teams", "{\"id\":\"t_a\",\"name\":\"A again\"}", 409);
  ASSERT_STR_EQ(pc_err_field(&r), "id");
  http_resp_free(&r);
  bad("PATCH", "/api/teams/t_a", "{\"members\":[{\"staff\":\"s_nobody\"}]}", "members/0/staff");
  r = call("GET", "/api/teams/t_none", NULL, 404);
  http_resp_free(&r);
  r = call("PATCH", "/api/teams/t_none", "{\"name\":\"x\"}", 404);
  http_resp_free(&r);
  r = call("DELETE", "/api/teams/t_none", NULL, 404);
  http_resp_free(&r);
  /* Nothing half-saved: the failed writes left t_a as it was and made no other team. */
  r = call("GET", "/api/teams", NULL, 200);
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "teams")), 1);
  ASSERT_INT_EQ(cJSON_GetArraySize(
                    cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "teams"), 0),
                                        "members")),
                0);
  http_resp_free(&r);
  stop();
}

TEST_PG(people_failed_write_saves_nothing) {
  start();
  bad("POST", "/api/staff", "{\"id\":\"s_half\",\"name\":\"Half\",\"teams\":[\"t_none\"]}",
      "teams/0");
  struct http_resp r = call("GET", "/api/staff/s_half", NULL, 404);
  http_resp_free(&r);
  r = call("GET", "/api/audit?target=s_half", NULL, 200);
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "entries")), 0);
  http_resp_free(&r);
  stop();
}

TEST_PG(people_presence_api_flag_and_list) {
  start();
  run("POST", "/api/staff", LAN, 201);
  run("POST", "/api/staff", "{\"id\":\"s_minh\",\"name\":\"Minh\"}", 201);
  struct http_resp r = call("PUT", "/api/staff/s_lan/presence", "{\"online\":true}", 200);
  ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "online")));
  ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "api_online")));
  ASSERT_STR_EQ(str(r.json, "source"), "api");
  http_resp_free(&r);
  r = call("GET", "/api/presence", NULL, 200);
  cJSON *list = cJSON_GetObjectItem(r.json, "presence"), *e;
  int online = 0, offline = 0;
  cJSON_ArrayForEach(e, list) {
    if (strcmp(str(e, "staff"), "s_lan") == 0)
      online += cJSON_IsTrue(cJSON_GetObjectItem(e, "online"));
    if (strcmp(str(e, "staff"), "s_minh") == 0)
      offline += cJSON_IsFalse(cJSON_GetObjectItem(e, "online"));
  }
  ASSERT_INT_EQ(online, 1);
  ASSERT_INT_EQ(offline, 1);
  http_resp_free(&r);
  r = call("GET", "/api/staff/s_lan", NULL, 200);
  ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "online")));
  http_resp_free(&r);
  r = call("PUT", "/api/staff/s_lan/presence", "{\"online\":false}", 200);
  ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(r.json, "online")));
  http_resp_free(&r);
  bad("PUT", "/api/staff/s_lan/presence", "{\"online\":\"yes\"}", "online");
  bad("PUT", "/api/staff/s_lan/presence", "{}", "online");
  stop();
}

TEST_PG(people_staff_member_sees_public_fields_and_sets_own_presence_only) {
  start();
  run("POST", "/api/staff", LAN, 201);
  pc_add_staff(&P, "s_minh", "minh@example.com", "minh password", "staff");
  struct session s;
  pc_must_login(&P, "minh@example.com", "minh password", &s);
  struct http_resp r = scall(&s, "GET", "/api/staff", NULL, 200);
  ASSERT(strstr(r.body, "s_lan"));
  ASSERT(!strstr(r.body, "lan@example.com") && !strstr(r.body, "+8490"));
  ASSERT(!strstr(r.body, "Hanoi"));
  http_resp_free(&r);
  r = scall(&s, "GET", "/api/staff/s_lan", NULL, 403);
  http_resp_free(&r);
  r = scall(&s, "GET", "/api/staff/s_minh", NULL, 200);
  ASSERT_STR_EQ(str(r.json, "email"), "minh@example.com");
  http_resp_free(&r);
  r = scall(&s, "PUT", "/api/staff/s_lan/presence", "{\"online\":true}", 403);
  http_resp_free(&r);
  r = scall(&s, "PUT", "/api/staff/s_minh/presence", "{\"online\":true}", 200);
  ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "online")));
  http_resp_free(&r);
  r = scall(&s, "GET", "/api/presence", NULL, 200);
  http_resp_free(&r);
  /* Own record: name, phone and password only. */
  r = scall(&s, "PATCH", "/api/staff/s_minh", "{\"name\":\"Minh T.\",\"phone\":\"+84\"}", 200);
  ASSERT_STR_EQ(str(r.json, "name"), "Minh T.");
  http_resp_free(&r);
  r = scall(&s, "PATCH", "/api/staff/s_minh", "{\"roles\":[\"boss\"]}", 403);
  ASSERT_STR_EQ(pc_err_field(&r), "roles");
  http_resp_free(&r);
  r = scall(&s, "PATCH", "/api/staff/s_minh", "{\"access\":\"admin\"}", 403);
  http_resp_free(&r);
  r = scall(&s, "PATCH", "/api/staff/s_lan", "{\"name\":\"Hacked\"}", 403);
  http_resp_free(&r);
  r = scall(&s, "POST", "/api/teams", "{\"name\":\"Mine\"}", 403);
  http_resp_free(&r);
  r = scall(&s, "GET", "/api/teams", NULL, 200);
  http_resp_free(&r);
  stop();
}

TEST_PG(people_manager_manages_staff_but_not_admins) {
  start();
  pc_add_staff(&P, "s_boss", "boss@example.com", "boss password", "admin");
  pc_add_staff(&P, "s_mgr", "mgr@example.com", "mgr password", "manager");
  struct session m;
  pc_must_login(&P, "mgr@example.com", "mgr password", &m);
  struct http_resp r = scall(&m, "POST", "/api/staff", "{\"id\":\"s_new\",\"name\":\"New\"}", 201);
  http_resp_free(&r);
  r = scall(&m, "PATCH", "/api/staff/s_new", "{\"roles\":[\"sales\"]}", 200);
  http_resp_free(&r);
  r = scall(&m, "POST", "/api/staff", "{\"name\":\"Boss 2\",\"access\":\"admin\"}", 403);
  ASSERT_STR_EQ(pc_err_field(&r), "access");
  http_resp_free(&r);
  r = scall(&m, "PATCH", "/api/staff/s_new", "{\"access\":\"manager\"}", 403);
  http_resp_free(&r);
  r = scall(&m, "PATCH", "/api/staff/s_boss", "{\"name\":\"Demoted\"}", 403);
  http_resp_free(&r);
  r = scall(&m, "DELETE", "/api/staff/s_boss", NULL, 403);
  http_resp_free(&r);
  r = scall(&m, "GET", "/api/staff/s_boss", NULL, 200);
  ASSERT_STR_EQ(str(r.json, "name"), "Name of s_boss");
  http_resp_free(&r);
  r = scall(&m, "PUT", "/api/staff/s_new/presence", "{\"online\":true}", 200);
  http_resp_free(&r);
  r = scall(&m, "POST", "/api/teams", "{\"id\":\"t_m\",\"name\":\"Mgr team\"}", 201);
  http_resp_free(&r);
  r = scall(&m, "DELETE", "/api/staff/s_new", NULL, 204);
  http_resp_free(&r);
  r = scall(&m, "GET", "/api/keys", NULL, 403);
  http_resp_free(&r);
  stop();
}

/* ---- presence over websockets (tests/tools/ws_client.py, as in test_ws.c) ---- */

struct wsc {
  pid_t pid;
  int in_fd;
  char out[700];
};

/* Starts a websocket client on P's /ws with the given extra arguments (NULL-terminated). */
static void wsc_start(struct wsc *c, const char *query, const char *const *args) {
  static int n;
  char url[600], script[700];
  snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws%s", P.port, query);
  snprintf(script, sizeof script, "%s/tests/tools/ws_client.py", test_source_dir());
  snprintf(c->out, sizeof c->out, "%s/people-wsc-%d.out", P.data_dir, n++);
  const char *argv[16] = {"python3", script, url, "--timeout", "60"};
  int argc = 5;
  for (int i = 0; args && args[i] && argc < 15; i++)
    argv[argc++] = args[i];
  int fds[2];
  ASSERT_INT_EQ(pipe(fds), 0);
  signal(SIGPIPE, SIG_IGN);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    int o = open(c->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fds[0], STDIN_FILENO);
    dup2(o, STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execv("/usr/bin/python3", (char *const *)argv);
    _exit(127);
  }
  close(fds[0]);
  c->in_fd = fds[1];
  c->pid = pid;
}

static int wsc_count(const struct wsc *c, const char *needle) {
  char *t = read_text(c->out);
  int n = 0;
  for (const char *p = t ? strstr(t, needle) : NULL; p; p = strstr(p + 1, needle))
    n++;
  free(t);
  return n;
}

static void wsc_wait_at(int line, const struct wsc *c, const char *needle, int n) {
  double deadline = mono_ms() + 15000;
  while (wsc_count(c, needle) < n) {
    if (mono_ms() > deadline) {
      char *t = read_text(c->out);
      test_fail(__FILE__, line, "waited for %d x %s; client output:\n%s", n, needle,
                t ? t : "");
    }
    sleep_ms(20);
  }
}
#define wsc_wait(c, needle, n) wsc_wait_at(__LINE__, c, needle, n)

/* Closes the client and waits for it to end. */
static void wsc_close(struct wsc *c) {
  ASSERT_INT_EQ(write(c->in_fd, "close\n", 6), 6);
  int status;
  waitpid(c->pid, &status, 0);
  close(c->in_fd);
  c->pid = 0;
}

static int staff_online(const char *id) {
  char path[128];
  snprintf(path, sizeof path, "/api/staff/%s", id);
  struct http_resp r = call("GET", path, NULL, 200);
  int online = cJSON_IsTrue(cJSON_GetObjectItem(r.json, "online"));
  http_resp_free(&r);
  return online;
}

TEST_PG_SLOW(people_presence_follows_websockets_with_a_grace_period) {
  start();
  pc_add_staff(&P, "s_lan", "lan@example.com", "correct horse", "staff");
  struct session s;
  pc_must_login(&P, "lan@example.com", "correct horse", &s);
  struct wsc watch, ws;
  const char *sub[] = {"--sub", "presence", NULL};
  wsc_start(&watch, "?token=" TEST_ADMIN_TOKEN, sub);
  wsc_wait(&watch, "\"client\": \"ready\"", 1);
  /* The session cookie opens the socket; the member is online while it is open. */
  char cookie[256];
  snprintf(cookie, sizeof cookie, "Cookie: %s", s.cookie);
  const char *hdr[] = {"--header", cookie, NULL};
  wsc_start(&ws, "", hdr);
  wsc_wait(&ws, "\"client\": \"ready\"", 1);
  wsc_wait(&watch, "presence.changed", 1);
  ASSERT_INT_EQ(wsc_count(&watch, "\"online\":true"), 1);
  ASSERT(staff_online("s_lan"));
  /* Gone for less than the grace period: no change at all. */
  wsc_close(&ws);
  sleep_ms(1000);
  ASSERT(staff_online("s_lan"));
  wsc_start(&ws, "", hdr);
  wsc_wait(&ws, "\"client\": \"ready\"", 1);
  sleep_ms(6000);
  ASSERT(staff_online("s_lan"));
  ASSERT_INT_EQ(wsc_count(&watch, "presence.changed"), 1);
  /* Gone for good: offline once the grace period is over. */
  wsc_close(&ws);
  sleep_ms(1000);
  ASSERT(staff_online("s_lan"));
  wsc_wait(&watch, "presence.changed", 2);
  ASSERT(!staff_online("s_lan"));
  ASSERT_INT_EQ(wsc_count(&watch, "\"online\":false"), 1);
  wsc_close(&watch);
  stop();
}
