/* The audit log of flow changes against a real flowd: create (and import), update, publish,
 * activate, deactivate and delete each leave one entry naming the actor, and a change that
 * did not happen (a revision conflict, an unknown flow) leaves none. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/helpers.h"
#include "tests/integration/exec_util.h"
#include "tests/test.h"

static struct flowd_proc P;

#define FLOW(id)                                                                             \
  "{\"id\":\"" id "\",\"name\":\"Audit\",\"nodes\":["                                        \
  "{\"id\":\"t\",\"type\":\"trigger.record\",\"config\":{\"kind\":\"order\",\"on\":\"created\"}}," \
  "{\"id\":\"s\",\"type\":\"set\",\"config\":{\"values\":{\"x\":\"1\"}}}],"                   \
  "\"edges\":[{\"from\":\"t\",\"to\":\"s\"}]}"

static void call(const char *method, const char *path, const char *body, long want) {
  struct http_resp r;
  if (api_do(&P, method, path, body, &r) != 0 || r.status != want)
    test_fail(__FILE__, __LINE__, "%s %s: %ld %s, want %ld", method, path, r.status,
              r.body ? r.body : "", want);
  http_resp_free(&r);
}

TEST_PG(audit_records_every_flow_change_with_its_actor) {
  flowd_start(&P, NULL, "test", NULL);
  flowd_wait_ready(&P, 60000);
  call("POST", "/api/flows", FLOW("f_aud"), 201);
  call("POST", "/api/flows/import", "{\"format\":\"flowd.flow/1\",\"flow\":" FLOW("f_imp") "}",
       201);
  call("PUT", "/api/flows/f_aud", "{\"revision\":1,\"flow\":" FLOW("f_aud") "}", 200);
  call("PUT", "/api/flows/f_aud", "{\"revision\":1,\"flow\":" FLOW("f_aud") "}", 409);
  call("POST", "/api/flows/f_aud/publish", NULL, 201);
  call("POST", "/api/flows/f_aud/activate", "{\"version\":1}", 200);
  call("POST", "/api/flows/f_aud/deactivate", NULL, 200);
  call("DELETE", "/api/flows/f_aud", NULL, 204);
  call("DELETE", "/api/flows/f_aud", NULL, 404);
  call("POST", "/api/flows", FLOW("f_imp"), 409);
  /* Entries are written right after each change commits, each in a transaction of its own,
   * so back-to-back changes may land in either order: compare them as a set (sorted), and
   * exactly once each. */
  wait_sql("SELECT count(*) FROM audit_log WHERE action LIKE 'flow.%'", "7", 10000);
  char *log = sql_value(test_pg_conninfo(),
                        "SELECT string_agg(e, '; ' ORDER BY e) FROM (SELECT actor || ' ' || "
                        "action || ' ' || target || ' ' || details::text AS e FROM audit_log "
                        "WHERE action LIKE 'flow.%') x");
  ASSERT_STR_EQ(log, "admin flow.activated f_aud {\"version\": 1}; "
                     "admin flow.created f_aud {\"imported\": false}; "
                     "admin flow.created f_imp {\"imported\": true}; "
                     "admin flow.deactivated f_aud {}; "
                     "admin flow.deleted f_aud {}; "
                     "admin flow.published f_aud {\"version\": 1}; "
                     "admin flow.updated f_aud {}");
  free(log);
  /* GET /api/audit shows them like every other entry. */
  struct http_resp r;
  ASSERT_INT_EQ(api_do(&P, "GET", "/api/audit?action=flow.published", NULL, &r), 0);
  ASSERT_INT_EQ(r.status, 200);
  ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "entries")), 1);
  http_resp_free(&r);
  ASSERT_INT_EQ(flowd_stop(&P, SIGTERM, 30000), 0);
}
