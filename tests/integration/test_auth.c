/* Authentication and authorization against a real flowd and PostgreSQL: login sessions
 * (cookie, CSRF, logout, sliding expiry), API keys (scopes, revocation, HMAC signatures),
 * the audit log, two processes sharing one database, and the table of who may call each
 * route, checked for every route in server_routes[] with every kind of caller. */
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "server/http.h"
#include "server/server.h"
#include "tests/helpers.h"
#include "tests/integration/people_client.h"
#include "tests/test.h"

static struct flowd_proc P;

static void start_with(const char **env) {
  flowd_start(&P, NULL, "test", env);
  flowd_wait_ready(&P, 60000);
}

static void start(void) { start_with(NULL); }

static void stop(void) { ASSERT_INT_EQ(flowd_stop(&P, SIGTERM, 30000), 0); }

static long status_of(int rc, struct http_resp *r) {
  long s = rc == 0 ? r->status : 0;
  http_resp_free(r);
  return s;
}

/* The status of a request as session s (csrf: send its token). */
static long sstatus(const struct flowd_proc *p, const struct session *s, int csrf,
                    const char *method, const char *path, const char *body) {
  struct http_resp r;
  return status_of(pc_session_do(p, s, csrf, method, path, body, &r), &r);
}

static long bstatus(const struct flowd_proc *p, const char *token, const char *method,
                    const char *path, const char *body) {
  struct http_resp r;
  return status_of(pc_bearer_do(p, token, method, path, body, NULL, &r), &r);
}

/* Polls until f() returns want or timeout_ms passed; returns the last value. */
#define EVENTUALLY(expr, want, timeout_ms)                                               \
  ({                                                                                     \
    long v_ = (expr);                                                                    \
    for (double end_ = mono_ms() + (timeout_ms); v_ != (want) && mono_ms() < end_;) {    \
      sleep_ms(50);                                                                      \
      v_ = (expr);                                                                       \
    }                                                                                    \
    v_;                                                                                  \
  })

static void admin_ok(const char *method, const char *path, const char *body, long want) {
  struct http_resp r;
  ASSERT_INT_EQ(api_do(&P, method, path, body, &r), 0);
  PC_EXPECT(r, want, path);
  http_resp_free(&r);
}

/* ---- sessions ---- */

TEST_PG(auth_login_sets_http_only_cookie_and_returns_csrf_token) {
  start();
  pc_add_staff(&P, "s_lan", "lan@example.com", "correct horse", "staff");
  struct session s;
  pc_must_login(&P, "Lan@Example.com", "correct horse", &s);
  ASSERT(strncmp(s.cookie, "flowd_session=fs_", 17) == 0);
  ASSERT_STR_CONTAINS(s.set_cookie, "HttpOnly");
  ASSERT_STR_CONTAINS(s.set_cookie, "SameSite=Lax");
  ASSERT_STR_CONTAINS(s.set_cookie, "Path=/");
  struct http_resp r;
  ASSERT_INT_EQ(pc_session_do(&P, &s, 0, "GET", "/api/me", NULL, &r), 0);
  PC_EXPECT(r, 200, "GET /api/me");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "kind")), "session");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "role")), "staff");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "csrf_token")), s.csrf);
  cJSON *staff = cJSON_GetObjectItem(r.json, "staff");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(staff, "id")), "s_lan");
  ASSERT(!strstr(r.body, "argon2") && !strstr(r.body, "correct horse"));
  http_resp_free(&r);
  /* The session token also works as a bearer token, without CSRF (no browser adds it). */
  ASSERT_INT_EQ(bstatus(&P, s.cookie + 14, "PUT", "/api/staff/s_lan/presence",
                        "{\"online\":true}"),
                200);
  stop();
}

TEST_PG(auth_login_refuses_wrong_password_unknown_email_and_no_password) {
  start();
  pc_add_staff(&P, "s_lan", "lan@example.com", "correct horse", "staff");
  pc_add_staff(&P, "s_nopw", "nopw@example.com", NULL, "staff");
  struct session s;
  ASSERT_INT_EQ(pc_login(&P, "lan@example.com", "wrong horse", &s), 401);
  ASSERT_INT_EQ(pc_login(&P, "who@example.com", "correct horse", &s), 401);
  ASSERT_INT_EQ(pc_login(&P, "nopw@example.com", "", &s), 400);
  ASSERT_INT_EQ(pc_login(&P, "nopw@example.com", "anything at all", &s), 401);
  char url[128];
  snprintf(url, sizeof url, "%s/api/login", P.url);
  struct http_resp r;
  ASSERT_INT_EQ(http_do("POST", url, "{\"email\":\"lan@example.com\"}", NULL, &r), 0);
  PC_EXPECT(r, 400, "login without password");
  ASSERT_STR_EQ(pc_err_field(&r), "password");
  http_resp_free(&r);
  ASSERT_INT_EQ(http_do("POST", url, "{\"email\":\"a@b\",\"password\":\"x\",\"otp\":1}", NULL, &r),
                0);
  ASSERT_STR_EQ(pc_err_field(&r), "otp");
  http_resp_free(&r);
  ASSERT_INT_EQ(http_do("POST", url, "{\"email\":\"lan@example.com\",\"password\":\"no\"}", NULL,
                        &r),
                0);
  ASSERT_STR_EQ(pc_err_code(&r), "bad_credentials");
  http_resp_free(&r);
  stop();
}

TEST_PG(auth_cookie_writes_need_the_csrf_token) {
  start();
  pc_add_staff(&P, "s_lan", "lan@example.com", "correct horse", "staff");
  struct session s;
  pc_must_login(&P, "lan@example.com", "correct horse", &s);
  const char *path = "/api/staff/s_lan/presence", *body = "{\"online\":true}";
  struct http_resp r;
  ASSERT_INT_EQ(pc_session_do(&P, &s, 0, "PUT", path, body, &r), 0);
  PC_EXPECT(r, 403, "PUT without X-CSRF-Token");
  ASSERT_STR_EQ(pc_err_code(&r), "csrf");
  http_resp_free(&r);
  struct session wrong = s;
  strcpy(wrong.csrf, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  ASSERT_INT_EQ(sstatus(&P, &wrong, 1, "PUT", path, body), 403);
  ASSERT_INT_EQ(sstatus(&P, &s, 1, "PUT", path, body), 200);
  ASSERT_INT_EQ(sstatus(&P, &s, 0, "GET", "/api/presence", NULL), 200);
  ASSERT_INT_EQ(sstatus(&P, &s, 0, "POST", "/api/logout", NULL), 403);
  stop();
}

TEST_PG(auth_logout_ends_the_session) {
  start();
  pc_add_staff(&P, "s_lan", "lan@example.com", "correct horse", "staff");
  struct session s, other;
  pc_must_login(&P, "lan@example.com", "correct horse", &s);
  pc_must_login(&P, "lan@example.com", "correct horse", &other);
  char url[128], cookie[256], token[128];
  snprintf(url, sizeof url, "%s/api/logout", P.url);
  snprintf(cookie, sizeof cookie, "Cookie: %s", s.cookie);
  snprintf(token, sizeof token, "X-CSRF-Token: %s", s.csrf);
  ASSERT_INT_EQ(sstatus(&P, &s, 1, "POST", "/api/logout", NULL), 204);
  ASSERT_INT_EQ(sstatus(&P, &s, 0, "GET", "/api/me", NULL), 401);
  ASSERT_INT_EQ(bstatus(&P, s.cookie + 14, "GET", "/api/me", NULL), 401);
  /* Another session of the same member lives on. */
  ASSERT_INT_EQ(sstatus(&P, &other, 0, "GET", "/api/me", NULL), 200);
  /* The admin token has no session: logout is a no-op for it. */
  admin_ok("POST", "/api/logout", NULL, 204);
  admin_ok("GET", "/api/me", NULL, 200);
  stop();
}

TEST_PG_SLOW(auth_session_expires_unless_used) {
  const char *env[] = {"FLOWD_SESSION_TTL=2s", NULL};
  start_with(env);
  pc_add_staff(&P, "s_lan", "lan@example.com", "correct horse", "staff");
  struct session s;
  pc_must_login(&P, "lan@example.com", "correct horse", &s);
  /* Used every 1.2 s, it outlives its first 2 s... */
  for (int i = 0; i < 3; i++) {
    sleep_ms(1200);
    ASSERT_INT_EQ(sstatus(&P, &s, 0, "GET", "/api/me", NULL), 200);
  }
  /* ...and ends 2 s after the last use. */
  sleep_ms(2600);
  ASSERT_INT_EQ(sstatus(&P, &s, 0, "GET", "/api/me", NULL), 401);
  stop();
}

TEST_PG(auth_session_ended_in_the_database_is_refused) {
  start();
  pc_add_staff(&P, "s_lan", "lan@example.com", "correct horse", "staff");
  struct session s;
  pc_must_login(&P, "lan@example.com", "correct horse", &s);
  ASSERT_INT_EQ(sstatus(&P, &s, 0, "GET", "/api/me", NULL), 200);
  free(sql_value(test_pg_conninfo(),
                 "UPDATE sessions SET expires_at = now() - interval '1 second'"));
  ASSERT_INT_EQ(EVENTUALLY(sstatus(&P, &s, 0, "GET", "/api/me", NULL), 401, 3000), 401);
  stop();
}

TEST_PG(auth_password_change_ends_other_sessions_and_role_change_applies) {
  start();
  pc_add_staff(&P, "s_lan", "lan@example.com", "correct horse", "staff");
  struct session s1, s2;
  pc_must_login(&P, "lan@example.com", "correct horse", &s1);
  pc_must_login(&P, "lan@example.com", "correct horse", &s2);
  ASSERT_INT_EQ(sstatus(&P, &s1, 1, "PATCH", "/api/staff/s_lan",
                        "{\"password\":\"battery staple\"}"),
                200);
  ASSERT_INT_EQ(sstatus(&P, &s1, 0, "GET", "/api/me", NULL), 200);
  ASSERT_INT_EQ(sstatus(&P, &s2, 0, "GET", "/api/me", NULL), 401);
  ASSERT_INT_EQ(pc_login(&P, "lan@example.com", "correct horse", &s2), 401);
  /* A new access role holds for the open session at once. */
  ASSERT_INT_EQ(sstatus(&P, &s1, 0, "GET", "/api/runs", NULL), 403);
  admin_ok("PATCH", "/api/staff/s_lan", "{\"access\":\"manager\"}", 200);
  ASSERT_INT_EQ(sstatus(&P, &s1, 0, "GET", "/api/runs", NULL), 200);
  /* Deleting the member ends their sessions. */
  admin_ok("DELETE", "/api/staff/s_lan", NULL, 204);
  ASSERT_INT_EQ(sstatus(&P, &s1, 0, "GET", "/api/me", NULL), 401);
  stop();
}

/* ---- API keys ---- */

TEST_PG(auth_api_key_scopes_are_enforced) {
  start();
  char ev[128], rd[128], mg[128], ad[128];
  pc_add_key(&P, "[\"events:write\"]", 0, ev, NULL, NULL);
  pc_add_key(&P, "[\"read\"]", 0, rd, NULL, NULL);
  pc_add_key(&P, "[\"manage\"]", 0, mg, NULL, NULL);
  pc_add_key(&P, "[\"admin\"]", 0, ad, NULL, NULL);
  ASSERT(strncmp(ev, "fk_", 3) == 0);
  ASSERT_INT_EQ(bstatus(&P, ev, "GET", "/api/staff", NULL), 403);
  ASSERT_INT_EQ(bstatus(&P, ev, "POST", "/api/teams", "{\"name\":\"T\"}"), 403);
  ASSERT_INT_EQ(bstatus(&P, ev, "GET", "/api/me", NULL), 200);
  ASSERT_INT_EQ(bstatus(&P, rd, "GET", "/api/staff", NULL), 200);
  ASSERT_INT_EQ(bstatus(&P, rd, "GET", "/api/runs", NULL), 200);
  ASSERT_INT_EQ(bstatus(&P, rd, "POST", "/api/teams", "{\"name\":\"T\"}"), 403);
  ASSERT_INT_EQ(bstatus(&P, mg, "POST", "/api/teams", "{\"name\":\"T\"}"), 201);
  ASSERT_INT_EQ(bstatus(&P, mg, "GET", "/api/keys", NULL), 403);
  ASSERT_INT_EQ(bstatus(&P, ad, "GET", "/api/keys", NULL), 200);
  ASSERT_INT_EQ(bstatus(&P, "fk_0000000000000000000000000000000000000000000000000000000000000000",
                        "GET", "/api/me", NULL),
                401);
  ASSERT_INT_EQ(bstatus(&P, "not-a-token", "GET", "/api/me", NULL), 401);
  struct http_resp r;
  ASSERT_INT_EQ(pc_bearer_do(&P, ev, "GET", "/api/me", NULL, NULL, &r), 0);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "kind")), "key");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "scopes"), 0)),
                "events:write");
  http_resp_free(&r);
  stop();
}

TEST_PG(auth_api_keys_are_listed_without_the_key_and_revocable) {
  start();
  char key[128], id[64];
  pc_add_key(&P, "[\"read\"]", 0, key, NULL, id);
  struct http_resp r;
  ASSERT_INT_EQ(api_do(&P, "GET", "/api/keys", NULL, &r), 0);
  PC_EXPECT(r, 200, "GET /api/keys");
  ASSERT(!strstr(r.body, key));
  ASSERT(!strstr(r.body, key + 12));
  char prefix[16];
  snprintf(prefix, sizeof prefix, "%.10s", key);
  ASSERT_STR_CONTAINS(r.body, prefix);
  ASSERT_STR_CONTAINS(r.body, id);
  http_resp_free(&r);
  ASSERT_INT_EQ(bstatus(&P, key, "GET", "/api/staff", NULL), 200);
  admin_ok("DELETE", "/api/keys/nope", NULL, 404);
  char path[128];
  snprintf(path, sizeof path, "/api/keys/%s", id);
  admin_ok("DELETE", path, NULL, 204);
  ASSERT_INT_EQ(bstatus(&P, key, "GET", "/api/staff", NULL), 401);
  admin_ok("DELETE", path, NULL, 204);
  ASSERT_INT_EQ(api_do(&P, "GET", "/api/keys", NULL, &r), 0);
  ASSERT(!cJSON_IsNull(cJSON_GetObjectItem(
      cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "keys"), 0), "revoked_at")));
  http_resp_free(&r);
  /* Bad input names the field. */
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/keys", "{\"name\":\"k\",\"scopes\":[\"root\"]}", &r), 0);
  PC_EXPECT(r, 400, "unknown scope");
  ASSERT_STR_EQ(pc_err_field(&r), "scopes/0");
  http_resp_free(&r);
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/keys", "{\"scopes\":[\"read\"]}", &r), 0);
  ASSERT_STR_EQ(pc_err_field(&r), "name");
  http_resp_free(&r);
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/keys", "{\"name\":\"k\",\"scopes\":[]}", &r), 0);
  ASSERT_STR_EQ(pc_err_field(&r), "scopes");
  http_resp_free(&r);
  ASSERT_INT_EQ(api_do(&P, "POST", "/api/keys", "{\"name\":\"k\",\"scopes\":[\"read\"],"
                                                "\"hmac\":\"yes\"}", &r), 0);
  ASSERT_STR_EQ(pc_err_field(&r), "hmac");
  http_resp_free(&r);
  stop();
}

static long signed_post(const char *key, const char *path, const char *body, const char *sig) {
  char h[160];
  snprintf(h, sizeof h, "X-Flowd-Signature: %s", sig);
  const char *extra[] = {h, NULL};
  struct http_resp r;
  return status_of(pc_bearer_do(&P, key, "POST", path, body, sig ? extra : NULL, &r), &r);
}

TEST_PG(auth_hmac_key_must_sign_its_writes) {
  start();
  char key[128], secret[128];
  pc_add_key(&P, "[\"admin\"]", 1, key, secret, NULL);
  ASSERT_INT_EQ(strlen(secret), 64);
  const char *body = "{\"id\":\"t_signed\",\"name\":\"Signed\"}";
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
  crypto_auth_hmacsha256_final(&st, mac);
  char hex[2 * sizeof mac + 1], sig[80], bad[80];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  snprintf(sig, sizeof sig, "sha256=%s", hex);
  snprintf(bad, sizeof bad, "sha256=%s", hex);
  bad[7] = bad[7] == '0' ? '1' : '0';
  ASSERT_INT_EQ(signed_post(key, "/api/teams", body, NULL), 401);
  ASSERT_INT_EQ(signed_post(key, "/api/teams", body, bad), 401);
  ASSERT_INT_EQ(signed_post(key, "/api/teams", body, "sha256=xyz"), 401);
  ASSERT_INT_EQ(signed_post(key, "/api/teams", body, hex), 401);
  ASSERT_INT_EQ(signed_post(key, "/api/teams", "{\"id\":\"t_other\",\"name\":\"Other\"}", sig),
                401);
  ASSERT_INT_EQ(signed_post(key, "/api/teams", body, sig), 201);
  /* Reads carry no body to sign. */
  ASSERT_INT_EQ(bstatus(&P, key, "GET", "/api/teams/t_signed", NULL), 200);
  stop();
}

/* ---- the audit log ---- */

static int has_action(const cJSON *entries, const char *action, const char *target) {
  const cJSON *e;
  cJSON_ArrayForEach(e, entries) {
    const char *a = cJSON_GetStringValue(cJSON_GetObjectItem(e, "action"));
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(e, "target"));
    if (a && strcmp(a, action) == 0 && (!target || (t && strcmp(t, target) == 0)))
      return 1;
  }
  return 0;
}

TEST_PG(auth_audit_log_records_people_and_access_changes) {
  start();
  pc_add_staff(&P, "s_lan", "lan@example.com", "correct horse", "staff");
  admin_ok("PATCH", "/api/staff/s_lan", "{\"password\":\"battery staple\"}", 200);
  admin_ok("POST", "/api/teams", "{\"id\":\"t_a\",\"name\":\"A\"}", 201);
  admin_ok("PATCH", "/api/teams/t_a", "{\"name\":\"A2\"}", 200);
  admin_ok("DELETE", "/api/teams/t_a", NULL, 204);
  char key[128], id[64];
  pc_add_key(&P, "[\"read\"]", 0, key, NULL, id);
  char path[128];
  snprintf(path, sizeof path, "/api/keys/%s", id);
  admin_ok("DELETE", path, NULL, 204);
  struct session s;
  ASSERT_INT_EQ(pc_login(&P, "lan@example.com", "correct horse", &s), 401);
  pc_must_login(&P, "lan@example.com", "battery staple", &s);
  ASSERT_INT_EQ(sstatus(&P, &s, 0, "GET", "/api/audit", NULL), 403);
  struct http_resp r;
  ASSERT_INT_EQ(api_do(&P, "GET", "/api/audit", NULL, &r), 0);
  PC_EXPECT(r, 200, "GET /api/audit");
  cJSON *entries = cJSON_GetObjectItem(r.json, "entries");
  ASSERT(has_action(entries, "staff.created", "s_lan"));
  ASSERT(has_action(entries, "staff.updated", "s_lan"));
  ASSERT(has_action(entries, "team.created", "t_a"));
  ASSERT(has_action(entries, "team.updated", "t_a"));
  ASSERT(has_action(entries, "team.deleted", "t_a"));
  ASSERT(has_action(entries, "key.created", id));
  ASSERT(has_action(entries, "key.revoked", id));
  ASSERT(has_action(entries, "login.failed", NULL));
  ASSERT(has_action(entries, "login", "s_lan"));
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(entries, 0),
                                                         "actor")),
                "s_lan");
  ASSERT(!strstr(r.body, "battery staple") && !strstr(r.body, "correct horse"));
  ASSERT(!strstr(r.body, key));
  http_resp_free(&r);
  ASSERT_INT_EQ(api_do(&P, "GET", "/api/audit?action=team.deleted&limit=5", NULL, &r), 0);
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "entries")), 1);
  http_resp_free(&r);
  ASSERT_INT_EQ(api_do(&P, "GET", "/api/audit?limit=0", NULL, &r), 0);
  PC_EXPECT(r, 400, "limit=0");
  ASSERT_STR_EQ(pc_err_field(&r), "limit");
  http_resp_free(&r);
  stop();
}

/* ---- two processes, one database ---- */

TEST_PG(auth_sessions_and_keys_reach_every_process) {
  start();
  struct flowd_proc q;
  flowd_start(&q, NULL, "test", NULL);
  flowd_wait_ready(&q, 60000);
  pc_add_staff(&P, "s_lan", "lan@example.com", "correct horse", "staff");
  struct session s;
  pc_must_login(&P, "lan@example.com", "correct horse", &s);
  /* Right away on the other process: it looks up what it has not heard of yet. */
  ASSERT_INT_EQ(sstatus(&q, &s, 0, "GET", "/api/me", NULL), 200);
  char key[128], id[64], path[128];
  pc_add_key(&P, "[\"read\"]", 0, key, NULL, id);
  ASSERT_INT_EQ(bstatus(&q, key, "GET", "/api/staff", NULL), 200);
  /* Ends on one process reach the other. */
  ASSERT_INT_EQ(sstatus(&P, &s, 1, "POST", "/api/logout", NULL), 204);
  ASSERT_INT_EQ(EVENTUALLY(sstatus(&q, &s, 0, "GET", "/api/me", NULL), 401, 3000), 401);
  snprintf(path, sizeof path, "/api/keys/%s", id);
  admin_ok("DELETE", path, NULL, 204);
  ASSERT_INT_EQ(EVENTUALLY(bstatus(&q, key, "GET", "/api/staff", NULL), 401, 3000), 401);
  ASSERT_INT_EQ(flowd_stop(&q, SIGTERM, 30000), 0);
  stop();
}

/* Rows written behind flowd's back (triggers off: no NOTIFY) are found on first use, also
 * by a write whose handler then runs with its body and CSRF header intact. */
TEST_PG(auth_credentials_the_mirror_never_heard_of_are_looked_up) {
  start();
  pc_add_staff(&P, "s_lan", "lan@example.com", "correct horse", "staff");
  const char *token = "fs_00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
  const char *key = "fk_ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
  unsigned char h[32];
  char th[65], kh[65], sql[1024];
  crypto_generichash(h, sizeof h, (const unsigned char *)token, strlen(token), NULL, 0);
  sodium_bin2hex(th, sizeof th, h, sizeof h);
  crypto_generichash(h, sizeof h, (const unsigned char *)key, strlen(key), NULL, 0);
  sodium_bin2hex(kh, sizeof kh, h, sizeof h);
  snprintf(sql, sizeof sql,
           "SET session_replication_role = replica; "
           "INSERT INTO sessions (token_hash, staff_id, csrf_token, expires_at) VALUES "
           "('%s', 's_lan', 'c0ffee', now() + interval '1 hour'); "
           "INSERT INTO api_keys (id, name, key_hash, prefix, scopes) VALUES "
           "('k_sql', 'sql', '%s', 'fk_ffeedd', '{manage}')",
           th, kh);
  free(sql_value(test_pg_conninfo(), sql));
  struct session s = {.csrf = "c0ffee"};
  snprintf(s.cookie, sizeof s.cookie, "flowd_session=%s", token);
  ASSERT_INT_EQ(sstatus(&P, &s, 1, "PUT", "/api/staff/s_lan/presence", "{\"online\":true}"),
                200);
  ASSERT_INT_EQ(bstatus(&P, key, "POST", "/api/teams", "{\"id\":\"t_k\",\"name\":\"K\"}"),
                201);
  /* Unknown ones are refused, and so is a session whose CSRF token is wrong. */
  strcpy(s.csrf, "bad");
  ASSERT_INT_EQ(sstatus(&P, &s, 1, "PUT", "/api/staff/s_lan/presence", "{\"online\":true}"),
                403);
  ASSERT_INT_EQ(bstatus(&P, "fs_0000000000000000000000000000000000000000000000000000000000000000",
                        "GET", "/api/me", NULL),
                401);
  stop();
}

/* ---- who may call what ---- */

/* Every route, and whether each caller gets past authorization: 'y' means any answer but
 * 401/403 (400 and 404 included: the test sends "{}" and ids that do not exist), 'n' means
 * 401 for nobody and 403 for the others. Columns: nobody, a staff session, a manager session,
 * the admin token, an API key with only events:write. */
struct rule {
  const char *method, *pattern, *who;
};

static const struct rule RULES[] = {
    {"GET", "/healthz", "yyyyy"},
    {"GET", "/metrics", "nnyyn"},
    {"GET", "/api/node-types", "nyyyn"},
    {"POST", "/api/conditions/eval", "nnyyn"},
    {"POST", "/api/templates/render", "nnyyn"},
    {"GET", "/api/flows", "nnyyn"},
    {"POST", "/api/flows", "nnnyn"},
    {"POST", "/api/flows/validate", "nnyyn"},
    {"POST", "/api/flows/import", "nnnyn"},
    {"GET", "/api/flows/{id}", "nnyyn"},
    {"PUT", "/api/flows/{id}", "nnnyn"},
    {"DELETE", "/api/flows/{id}", "nnnyn"},
    {"POST", "/api/flows/{id}/publish", "nnnyn"},
    {"POST", "/api/flows/{id}/activate", "nnnyn"},
    {"POST", "/api/flows/{id}/deactivate", "nnnyn"},
    {"GET", "/api/flows/{id}/versions", "nnyyn"},
    {"GET", "/api/flows/{id}/versions/{n}", "nnyyn"},
    {"GET", "/api/flows/{id}/export", "nnyyn"},
    {"POST", "/api/flows/{id}/test", "nnnyn"},
    /* SPEC §2: a key with only events:write exists to post events. */
    {"POST", "/api/events", "nnyyy"},
    {"GET", "/api/runs", "nnyyn"},
    {"GET", "/api/runs/{id}", "nnyyn"},
    {"POST", "/api/runs/{id}/cancel", "nnyyn"},
    {"POST", "/api/runs/{id}/retry", "nnyyn"},
    /* SPEC §2: staff read their own tasks and the conversations of their pages (kinds
     * task and conversation, tested in test_conversations.c); "nope" is neither: 403. */
    {"GET", "/api/records/{kind}", "nnyyn"},
    {"GET", "/api/records/{kind}/{id}", "nnyyn"},
    {"PUT", "/api/records/{kind}/{id}", "nnyyn"},
    {"PATCH", "/api/records/{kind}/{id}", "nnyyn"},
    {"GET", "/api/providers", "nnyyn"},
    {"POST", "/api/providers", "nnnyn"},
    {"GET", "/api/providers/{id}", "nnyyn"},
    {"PUT", "/api/providers/{id}", "nnnyn"},
    {"DELETE", "/api/providers/{id}", "nnnyn"},
    {"GET", "/api/deliveries", "nnyyn"},
    {"GET", "/api/deliveries/{id}", "nnyyn"},
    /* people and access */
    {"POST", "/api/login", "yyyyy"},
    {"POST", "/api/logout", "nyyyy"},
    {"GET", "/api/me", "nyyyy"},
    {"GET", "/api/staff", "nyyyn"},
    {"POST", "/api/staff", "nnyyn"},
    {"GET", "/api/staff/{id}", "nnyyn"}, /* staff: only their own */
    {"PATCH", "/api/staff/{id}", "nnyyn"},
    {"DELETE", "/api/staff/{id}", "nnyyn"},
    {"PUT", "/api/staff/{id}/presence", "nnyyn"},
    {"GET", "/api/presence", "nyyyn"},
    {"GET", "/api/teams", "nyyyn"},
    {"POST", "/api/teams", "nnyyn"},
    {"GET", "/api/teams/{id}", "nyyyn"},
    {"PATCH", "/api/teams/{id}", "nnyyn"},
    {"DELETE", "/api/teams/{id}", "nnyyn"},
    {"GET", "/api/keys", "nnnyn"},
    {"POST", "/api/keys", "nnnyn"},
    {"DELETE", "/api/keys/{id}", "nnnyn"},
    {"GET", "/api/audit", "nnnyn"},
    /* pages: managers read, admins write */
    {"GET", "/api/pages", "nnyyn"},
    {"GET", "/api/pages/{id}", "nnyyn"},
    {"PUT", "/api/pages/{id}", "nnnyn"},
};
#define NRULES (sizeof RULES / sizeof RULES[0])

static const char *method_name(enum http_method m) {
  switch (m) {
  case HTTP_GET: return "GET";
  case HTTP_POST: return "POST";
  case HTTP_PUT: return "PUT";
  case HTTP_PATCH: return "PATCH";
  case HTTP_DELETE: return "DELETE";
  case HTTP_OPTIONS: return "OPTIONS";
  default: return "OTHER";
  }
}

static const struct rule *rule_for(const struct http_route *rt) {
  for (size_t i = 0; i < NRULES; i++)
    if (strcmp(RULES[i].method, method_name(rt->method)) == 0 &&
        strcmp(RULES[i].pattern, rt->pattern) == 0)
      return &RULES[i];
  return NULL;
}

/* Every route has a rule and every rule a route; else fails naming them all. */
static void check_coverage(void) {
  char missing[4096] = "";
  size_t n = 0;
  for (const struct http_route *rt = server_routes; rt->pattern; rt++)
    if (!rule_for(rt))
      n += snprintf(missing + n, n < sizeof missing ? sizeof missing - n : 0,
                    "\n  route without a rule: %s %s", method_name(rt->method), rt->pattern);
  for (size_t i = 0; i < NRULES; i++) {
    int found = 0;
    for (const struct http_route *rt = server_routes; rt->pattern && !found; rt++)
      found = strcmp(RULES[i].method, method_name(rt->method)) == 0 &&
              strcmp(RULES[i].pattern, rt->pattern) == 0;
    if (!found)
      n += snprintf(missing + n, n < sizeof missing ? sizeof missing - n : 0,
                    "\n  rule without a route: %s %s", RULES[i].method, RULES[i].pattern);
  }
  if (n)
    test_fail(__FILE__, __LINE__,
              "the authorization table RULES[] in tests/integration/test_auth.c does not match "
              "server_routes[]: add a row saying who may call each new route%s",
              missing);
}

/* pattern with each {name} replaced by "nope" ({n}: "1"). */
static void concrete(const char *pattern, char *out, size_t len) {
  size_t o = 0;
  for (const char *p = pattern; *p && o + 8 < len;) {
    if (*p == '{') {
      const char *close = strchr(p, '}');
      const char *v = strncmp(p, "{n}", 3) == 0 ? "1" : "nope";
      o += snprintf(out + o, len - o, "%s", v);
      p = close ? close + 1 : p + strlen(p);
    } else {
      out[o++] = *p++;
    }
  }
  out[o] = '\0';
}

struct callers {
  struct session staff, manager;
  char key[128];
};

static long call_as(struct callers *c, int who, const char *method, const char *path) {
  int has_body = strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
                 strcmp(method, "PATCH") == 0;
  const char *body = has_body ? "{}" : NULL;
  char url[1200];
  snprintf(url, sizeof url, "%s%s", P.url, path);
  struct http_resp r;
  switch (who) {
  case 0: return status_of(http_do(method, url, body, NULL, &r), &r);
  case 1: return sstatus(&P, &c->staff, 1, method, path, body);
  case 2: return sstatus(&P, &c->manager, 1, method, path, body);
  case 3: return status_of(api_do(&P, method, path, body, &r), &r);
  default: return bstatus(&P, c->key, method, path, body);
  }
}

TEST_PG(auth_every_route_answers_each_caller_as_its_rule_says) {
  check_coverage();
  start();
  static const char *const names[] = {"nobody", "staff", "manager", "admin", "events:write key"};
  struct callers c;
  pc_add_staff(&P, "s_staff", "staff@example.com", "staff password", "staff");
  pc_add_staff(&P, "s_mgr", "mgr@example.com", "manager password", "manager");
  pc_must_login(&P, "staff@example.com", "staff password", &c.staff);
  pc_must_login(&P, "mgr@example.com", "manager password", &c.manager);
  pc_add_key(&P, "[\"events:write\"]", 0, c.key, NULL, NULL);
  char wrong[8192] = "", path[512];
  size_t n = 0;
  for (const struct http_route *rt = server_routes; rt->pattern; rt++) {
    const struct rule *rule = rule_for(rt);
    const char *m = method_name(rt->method);
    concrete(rt->pattern, path, sizeof path);
    for (int who = 0; who < 5; who++) {
      long st = call_as(&c, who, m, path);
      int denied = st == 401 || st == 403;
      long want_denied = who == 0 ? 401 : 403;
      int ok = rule->who[who] == 'y' ? !denied && st != 0 : st == want_denied;
      if (!ok)
        n += snprintf(wrong + n, n < sizeof wrong ? sizeof wrong - n : 0,
                      "\n  %s %s as %s: %ld, want %s", m, rt->pattern, names[who], st,
                      rule->who[who] == 'y' ? "not 401/403" : who ? "403" : "401");
    }
    if (strcmp(rt->pattern, "/api/logout") == 0) { /* that ended the two sessions */
      pc_must_login(&P, "staff@example.com", "staff password", &c.staff);
      pc_must_login(&P, "mgr@example.com", "manager password", &c.manager);
    }
  }
  if (n)
    test_fail(__FILE__, __LINE__, "answers that break the authorization table:%s", wrong);
  stop();
}
