/* The fan-page inbox against a real flowd and PostgreSQL: message.received, comment.created
 * and livestream.comment upsert conversation records (ids per README "Conversations"), their
 * runs have the conversation and its customer in scope, and staff see only the conversations
 * of their pages (only their own on a page with private assignment) and only their own tasks.
 * Also the pages API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/integration/assign_util.h"
#include "tests/integration/exec_util.h"
#include "tests/integration/people_client.h"
#include "tests/test.h"

static struct flowd_proc P;

static const char *conversations(void) {
  static char buf[1024];
  return au_sql("SELECT string_agg(id, ',' ORDER BY id) FROM records WHERE kind = "
                "'conversation'", buf, sizeof buf);
}

TEST_PG(conversation_messages_upsert_one_per_page_and_customer_seen_by_their_runs) {
  au_start(&P);
  au_flow(&P, "{'id':'f_inbox','name':'Inbox','nodes':["
              "{'id':'t','type':'trigger.event','config':{'type':'message.received'}},"
              "{'id':'u','type':'action.update_record','config':{'target':'conversation',"
              "'set':{'seen':'{{customer.name}} on {{conversation.page_id}}'}}}],"
              "'edges':[{'from':'t','to':'u'}]}");
  au_event(&P, "{'type':'message.received','data':{'page_id':'P1','customer':{'id':'C1',"
               "'name':'An','phone':'0901'},'text':'hi'}}");
  au_event(&P, "{'type':'message.received','data':{'page_id':'P1','customer':{'id':'C1',"
               "'name':'An'},'text':'still there?'}}");
  au_event(&P, "{'type':'message.received','data':{'page_id':'P2','customer_id':'C1',"
               "'text':'other page'}}");
  au_event(&P, "{'type':'message.received','data':{'page_id':'P1','conversation_id':"
               "'thread-9','customer':{'id':'C2','name':'Binh'},'text':'new thread'}}");
  au_event(&P, "{'type':'message.received','data':{'text':'no page: no conversation'}}");
  au_runs_done(5);
  ASSERT_STR_EQ(conversations(), "m:P1:C1,m:P2:C1,thread-9");
  char row[512];
  ASSERT_STR_EQ(au_sql("SELECT concat_ws('|', data->>'page_id', data->>'channel', customer_id, "
                       "status, data->>'last_text', data->>'seen') FROM records WHERE id = "
                       "'m:P1:C1'", row, sizeof row),
                "P1|message|C1|open|still there?|An on P1");
  ASSERT_STR_EQ(au_sql("SELECT data->>'seen' FROM records WHERE id = 'thread-9'", row,
                       sizeof row), "Binh on P1");
  /* The inline customer was upserted (and merged: the phone stays). */
  ASSERT_STR_EQ(au_sql("SELECT data->>'name' || ' ' || (data->>'phone') FROM records WHERE "
                       "kind = 'customer' AND id = 'C1'", row, sizeof row), "An 0901");
  /* The runs have the conversation as their record; the event without a page has none. */
  ASSERT_STR_EQ(au_sql("SELECT string_agg(coalesce(record_kind, '-'), ',' ORDER BY id) FROM runs",
                       row, sizeof row),
                "conversation,conversation,conversation,conversation,-");
  /* A new conversation enters status open like any record. */
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM events WHERE type = "
                        "'conversation.status_changed' AND data->>'to' = 'open'"), 3);
  au_stop(&P);
}

TEST_PG(conversation_comments_get_one_each_and_livestream_one_per_customer_per_live) {
  au_start(&P);
  au_event(&P, "{'type':'comment.created','data':{'id':'k1','page_id':'P1','post_id':'p',"
               "'customer_id':'X'}}");
  au_event(&P, "{'type':'comment.created','data':{'id':'k2','page_id':'P1','post_id':'p',"
               "'customer_id':'X'}}");
  au_event(&P, "{'type':'livestream.comment','data':{'page_id':'P1','livestream_id':'L1',"
               "'customer':{'id':'X'}}}");
  au_event(&P, "{'type':'livestream.comment','data':{'page_id':'P1','livestream_id':'L1',"
               "'customer':{'id':'X'}}}");
  au_event(&P, "{'type':'livestream.comment','data':{'page_id':'P1','livestream_id':'L1',"
               "'customer':{'id':'Y'}}}");
  au_event(&P, "{'type':'livestream.comment','data':{'page_id':'P1','livestream_id':'L2',"
               "'customer':{'id':'X'}}}");
  ASSERT_STR_EQ(conversations(), "c:P1:k1,c:P1:k2,l:P1:L1:X,l:P1:L1:Y,l:P1:L2:X");
  char row[256];
  ASSERT_STR_EQ(au_sql("SELECT string_agg(data->>'channel', ',' ORDER BY id) FROM records "
                       "WHERE kind = 'conversation'", row, sizeof row),
                "comment,comment,livestream,livestream,livestream");
  /* A comment with a page is a conversation, not a record of kind comment. */
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM records WHERE kind = 'comment'"), 0);
  au_stop(&P);
}

/* A staff member with a login and pages. */
static void member(const char *id, const char *pages, const char *access, struct session *s) {
  char email[128], body[256], path[128];
  snprintf(email, sizeof email, "%s@example.com", id);
  pc_add_staff(&P, id, email, "a long password", access);
  snprintf(path, sizeof path, "/api/staff/%s", id);
  snprintf(body, sizeof body, "{'pages':%s}", pages);
  au_call(&P, "PATCH", path, body, 200);
  pc_must_login(&P, email, "a long password", s);
}

/* The ids a session sees at path (a list), or the status when not 200. */
static const char *seen(const struct session *s, const char *path) {
  static char buf[512];
  struct http_resp r;
  ASSERT_INT_EQ(pc_session_do(&P, s, 0, "GET", path, NULL, &r), 0);
  if (r.status != 200) {
    snprintf(buf, sizeof buf, "%ld", r.status);
  } else {
    buf[0] = '\0';
    const cJSON *rec;
    cJSON_ArrayForEach(rec, cJSON_GetObjectItem(r.json, "records"))
      snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", buf[0] ? "," : "",
               cJSON_GetStringValue(cJSON_GetObjectItem(rec, "id")));
    if (!cJSON_GetObjectItem(r.json, "records"))
      snprintf(buf, sizeof buf, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "id")));
  }
  http_resp_free(&r);
  return buf;
}

TEST_PG(conversation_staff_see_their_pages_and_with_private_assignment_only_their_own) {
  au_start(&P);
  struct session a, c, m;
  member("s_a", "['P1']", "staff", &a);
  member("s_c", "['P1','P2']", "staff", &c);
  member("s_m", "[]", "manager", &m);
  au_event(&P, "[{'type':'message.received','data':{'page_id':'P1','customer_id':'X'}},"
               "{'type':'message.received','data':{'page_id':'P1','customer_id':'Y'}},"
               "{'type':'message.received','data':{'page_id':'P2','customer_id':'Z'}}]");
  au_call(&P, "PATCH", "/api/records/conversation/m:P1:X", "{'owner_id':'s_a'}", 200);
  au_call(&P, "PATCH", "/api/records/conversation/m:P1:Y", "{'owner_id':'s_c'}", 200);
  au_call(&P, "PUT", "/api/records/task/T1", "{'owner_id':'s_a','status':'open'}", 200);
  au_call(&P, "PUT", "/api/records/task/T2", "{'owner_id':'s_c','status':'open'}", 200);
  au_call(&P, "PUT", "/api/records/order/O1", "{'owner_id':'s_a'}", 200);

  ASSERT_STR_EQ(seen(&a, "/api/records/conversation"), "m:P1:X,m:P1:Y");
  ASSERT_STR_EQ(seen(&c, "/api/records/conversation"), "m:P1:X,m:P1:Y,m:P2:Z");
  ASSERT_STR_EQ(seen(&a, "/api/records/conversation/m:P1:Y"), "m:P1:Y");
  ASSERT_STR_EQ(seen(&a, "/api/records/conversation/m:P2:Z"), "404");
  ASSERT_STR_EQ(seen(&a, "/api/records/task"), "T1");
  ASSERT_STR_EQ(seen(&a, "/api/records/task/T2"), "404");
  ASSERT_STR_EQ(seen(&a, "/api/records/order"), "403");
  ASSERT_STR_EQ(seen(&a, "/api/records/order/O1"), "403");

  /* Private assignment on P1: staff see only what is assigned to them there. */
  au_call(&P, "PUT", "/api/pages/P1", "{'name':'Shop','private_assignment':true}", 200);
  ASSERT_STR_EQ(seen(&a, "/api/records/conversation"), "m:P1:X");
  ASSERT_STR_EQ(seen(&c, "/api/records/conversation"), "m:P1:Y,m:P2:Z");
  ASSERT_STR_EQ(seen(&a, "/api/records/conversation/m:P1:Y"), "404");
  ASSERT_STR_EQ(seen(&m, "/api/records/conversation"), "m:P1:X,m:P1:Y,m:P2:Z");
  ASSERT_STR_EQ(seen(&m, "/api/records/task"), "T1,T2");
  au_stop(&P);
}

TEST_PG(conversation_pages_api_reads_for_managers_and_writes_for_admins) {
  au_start(&P);
  struct session m;
  member("s_m", "[]", "manager", &m);
  au_call(&P, "GET", "/api/pages/P1", NULL, 404);
  au_call(&P, "PUT", "/api/pages/P1", "{'name':'Shop'}", 200);
  au_call(&P, "PUT", "/api/pages/P1", "{'private_assignment':true}", 200);
  struct http_resp r;
  ASSERT_INT_EQ(pc_session_do(&P, &m, 0, "GET", "/api/pages", NULL, &r), 0);
  PC_EXPECT(r, 200, "GET /api/pages as manager");
  cJSON *page = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "pages"), 0);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(page, "name")), "Shop");
  ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(page, "private_assignment")));
  http_resp_free(&r);
  ASSERT_INT_EQ(pc_session_do(&P, &m, 1, "PUT", "/api/pages/P1", jq("{'name':'Mine'}"), &r), 0);
  PC_EXPECT(r, 403, "PUT /api/pages as manager");
  http_resp_free(&r);
  /* Bad input names the field. */
  const char *bad[][2] = {{"{'colour':'red'}", "colour"},
                          {"{'private_assignment':'yes'}", "private_assignment"},
                          {"{'name':''}", "name"},
                          {"{'id':'P2'}", "id"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ASSERT_INT_EQ(api_do(&P, "PUT", "/api/pages/P1", jq(bad[i][0]), &r), 0);
    PC_EXPECT(r, 400, bad[i][0]);
    ASSERT_STR_EQ(pc_err_field(&r), bad[i][1]);
    http_resp_free(&r);
  }
  ASSERT_INT_EQ(api_do(&P, "PUT", "/api/pages/bad%20id", "{}", &r), 0);
  PC_EXPECT(r, 400, "a page id with a space");
  http_resp_free(&r);
  au_stop(&P);
}
