/* The sending nodes (send_sms, send_email, robocall, send_message, http) against a real flowd,
 * PostgreSQL and loopback sinks: who a message goes to (and the skip when there is nobody),
 * the SMS length limit, the robocall's audio URL, whisper notes, webhook responses, expect and
 * timeouts, retries with one idempotency key and then the error port, and test runs that
 * record without sending. Test JSON is written with single quotes (see dq). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/helpers.h"
#include "tests/integration/exec_util.h"
#include "tests/sinks.h"
#include "tests/test.h"

#define RUN_MS 10000

static struct flowd_proc P;
static struct sink H, S; /* the HTTP sink (every http provider and webhook) and SMTP sink */

/* Turns single quotes into double quotes, so JSON reads in C strings. */
static char *dq(const char *s) {
  char *out = strdup(s);
  for (char *p = out; *p; p++)
    if (*p == '\'')
      *p = '"';
  return out;
}

static struct http_resp call(const char *method, const char *path, const char *json,
                             long want) {
  char *body = json ? dq(json) : NULL;
  struct http_resp r;
  if (api_do(&P, method, path, body, &r) != 0 || r.status != want)
    test_fail(__FILE__, __LINE__, "%s %s: %ld %s", method, path, r.status, r.body ? r.body : "");
  free(body);
  return r;
}

/* flowd, both sinks, and providers p_sms, p_call, p_chat (http) and p_mail (smtp). */
static void start(const char *sink_control) {
  sink_http_start(&H, 0, sink_control);
  sink_smtp_start(&S);
  flowd_start(&P, NULL, "test", NULL);
  flowd_wait_ready(&P, 60000);
  static const char *const http[] = {"p_sms", "sms", "p_call", "call", "p_chat", "chat", NULL};
  char json[512];
  for (int i = 0; http[i]; i += 2) {
    snprintf(json, sizeof json, "{'id':'%s','type':'http','config':{'url':'%s/%s'}}", http[i],
             H.url, http[i + 1]);
    struct http_resp r = call("POST", "/api/providers", json, 201);
    http_resp_free(&r);
  }
  snprintf(json, sizeof json, "{'id':'p_mail','type':'smtp','config':{'host':'127.0.0.1',"
           "'port':%d,'starttls':'none','from':'shop@example.com'}}", S.port);
  struct http_resp r = call("POST", "/api/providers", json, 201);
  http_resp_free(&r);
}

static void stop(void) {
  ASSERT_INT_EQ(flowd_stop(&P, SIGTERM, 30000), 0);
  sink_stop(&H);
  sink_stop(&S);
}

static void install(const char *json) {
  char *f = dq(json);
  flow_install(&P, f);
  free(f);
}

static void post(const char *json) {
  char *e = dq(json);
  event_post(&P, e);
  free(e);
}

/* The first value of a query, as a new string. */
static char *q(const char *sql) { return sql_value(test_pg_conninfo(), sql); }

static void assert_q(const char *sql, const char *want) {
  char *v = q(sql);
  if (strcmp(v, want) != 0)
    test_fail(__FILE__, __LINE__, "%s\n  is \"%s\", want \"%s\"", sql, v, want);
  free(v);
}

static void assert_q_contains(const char *sql, const char *want) {
  char *v = q(sql);
  if (!strstr(v, want))
    test_fail(__FILE__, __LINE__, "%s\n  is \"%s\", want it to contain \"%s\"", sql, v, want);
  free(v);
}

/* A flow: an order.created trigger `t` followed by the nodes and edges given (JSON text). */
#define ORDER_FLOW(id, nodes, edges)                                                          \
  "{'id':'" id "','name':'" id "','nodes':[{'id':'t','type':'trigger.record','config':"      \
  "{'kind':'order','on':'created'}}," nodes "],'edges':[" edges "]}"

/* ---- who a message goes to ---- */

TEST_PG(send_skips_a_customer_without_phone_or_email_of_the_asked_type) {
  start(NULL);
  install(ORDER_FLOW("f_skip",
      "{'id':'sms','type':'action.send_sms','config':{'provider':'p_sms','text':'Hi #NAME#'}},"
      "{'id':'mail','type':'action.send_email','config':{'to':'work','subject':'S','body':'B'}},"
      "{'id':'call','type':'action.robocall','config':{'provider':'p_call','to':'mobile',"
      "'text':'Xin chao'}},"
      "{'id':'chat','type':'action.send_message','config':{'provider':'p_chat','text':'Hi'}},"
      "{'id':'after','type':'set','config':{'values':{'done':true}}}",
      "{'from':'t','to':'sms'},{'from':'sms','to':'mail'},{'from':'mail','to':'call'},"
      "{'from':'call','to':'chat'},{'from':'chat','to':'after'}"));
  /* A personal e-mail, but no phone at all, and so no mobile phone, and no work e-mail. */
  post("{'type':'order.created','data':{'id':'DH1','customer':{'id':'c1','name':'An',"
       "'emails':[{'type':'personal','address':'an@x.example'}]}}}");
  wait_sql("SELECT status FROM runs", "succeeded", RUN_MS);
  assert_q("SELECT string_agg(node_id || ':' || status, ',' ORDER BY id) FROM steps",
           "t:succeeded,sms:skipped,mail:skipped,call:skipped,chat:skipped,after:succeeded");
  assert_q("SELECT error FROM steps WHERE node_id = 'sms'", "customer c1 has no phone");
  assert_q("SELECT output->>'skipped' FROM steps WHERE node_id = 'mail'",
           "customer c1 has no work e-mail");
  assert_q("SELECT error FROM steps WHERE node_id = 'call'", "customer c1 has no mobile phone");
  assert_q_contains("SELECT error FROM steps WHERE node_id = 'chat'", "no conversation");
  assert_q("SELECT count(*) FROM deliveries", "0");
  stop();
}

TEST_PG(send_finds_phone_and_email_types_or_renders_to) {
  start(NULL);
  install(ORDER_FLOW("f_to",
      "{'id':'sms','type':'action.send_sms','config':{'provider':'p_sms','to':'mobile',"
      "'text':'A'}},"
      "{'id':'sms2','type':'action.send_sms','config':{'provider':'p_sms',"
      "'to':'{{order.contact_phone}}','text':'B'}},"
      "{'id':'mail','type':'action.send_email','config':{'from':'Shop <care@example.com>',"
      "'to':'work','subject':'Order {{order.id}}','body':'Hi {{customer.name}}'}}",
      "{'from':'t','to':'sms'},{'from':'sms','to':'sms2'},{'from':'sms2','to':'mail'}"));
  post("{'type':'order.created','data':{'id':'DH2','contact_phone':' 0988000002 ',"
       "'customer':{'id':'c2','name':'Bình','phone':'0900000000',"
       "'phones':[{'type':'home','number':'0243'},{'type':'mobile','number':'0912000002'}],"
       "'emails':{'work':'binh@corp.example'}}}}");
  wait_sql("SELECT status FROM runs", "succeeded", RUN_MS);
  assert_q("SELECT string_agg(\"to\", ',' ORDER BY id) FROM deliveries",
           "0912000002,0988000002,binh@corp.example");
  assert_q("SELECT output->>'to' FROM steps WHERE node_id = 'sms2'", "0988000002");
  assert_q("SELECT string_agg(status, ',') FROM deliveries", "sent,sent,sent");
  /* The e-mail left from the mailbox the node named, not the provider's. */
  cJSON *mails = sink_records(&S);
  ASSERT_INT_EQ(cJSON_GetArraySize(mails), 1);
  cJSON *m = cJSON_GetArrayItem(mails, 0);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(m, "mail_from")), "care@example.com");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(m, "subject")), "Order DH2");
  cJSON_Delete(mails);
  stop();
}

/* ---- SMS length ---- */

/* 180 characters of Vietnamese: 247 bytes, still one SMS. */
#define VI_180                                                                               \
  "Đơn hàng của quý khách đã được xác nhận và đang được đóng gói cẩn thận. "                 \
  "Chúng tôi sẽ gọi điện trước khi giao. Cảm ơn quý khách đã tin tưởng và "                  \
  "ủng hộ cửa hàng Ánh Dương ở Hà Nội!!!"

TEST_PG(send_sms_counts_characters_and_fails_clearly_over_200) {
  start(NULL);
  install(ORDER_FLOW("f_len",
      "{'id':'sms','type':'action.send_sms','config':{'provider':'p_sms',"
      "'text':'{{order.note}}'}},"
      "{'id':'oops','type':'set','config':{'values':{'why':'{{{nodes.sms.error}}}'}}}",
      "{'from':'t','to':'sms'},{'from':'sms','port':'error','to':'oops'}"));
  ASSERT_INT_EQ(strlen(VI_180) > 200, 1);
  post("{'type':'order.created','data':{'id':'OK1','note':'" VI_180 "',"
       "'customer':{'id':'c1','phone':'0901'}}}");
  post("{'type':'order.created','data':{'id':'LONG','note':'" VI_180 "x12345678901234567890',"
       "'customer':{'id':'c1','phone':'0901'}}}");
  wait_sql("SELECT count(*) FROM runs WHERE status = 'succeeded'", "2", RUN_MS);
  assert_q("SELECT s.status || ':' || (s.output->>'chars') FROM steps s JOIN runs r ON r.id = "
           "s.run_id WHERE r.record_id = 'OK1' AND node_id = 'sms'", "succeeded:180");
  assert_q("SELECT s.status FROM steps s JOIN runs r ON r.id = s.run_id WHERE r.record_id = "
           "'LONG' AND node_id = 'sms'", "failed");
  assert_q("SELECT scope->'vars'->>'why' FROM runs WHERE record_id = 'LONG'",
           "text has 201 characters once rendered; an SMS holds at most 200");
  assert_q("SELECT count(*) FROM deliveries", "1");
  /* A constant text over 200 characters is a problem of the flow, found before it runs. */
  struct http_resp r = call("POST", "/api/flows/validate", ORDER_FLOW("f_v",
      "{'id':'sms','type':'action.send_sms','config':{'text':'" VI_180 "123456789012345678901'}}",
      "{'from':'t','to':'sms'}"), 200);
  ASSERT_STR_CONTAINS(r.body, "text has 201 characters; an SMS holds at most 200");
  http_resp_free(&r);
  stop();
}

/* ---- robocall ---- */

TEST_PG(send_robocall_plays_only_a_rendered_mp3_url) {
  start(NULL);
  install(ORDER_FLOW("f_call",
      "{'id':'call','type':'action.robocall','config':{'provider':'p_call','from':'1900',"
      "'mode':'audio','audio_url':'{{order.audio}}'}},"
      "{'id':'oops','type':'set','config':{'values':{'why':'{{{nodes.call.error}}}'}}}",
      "{'from':'t','to':'call'},{'from':'call','port':'error','to':'oops'}"));
  post("{'type':'order.created','data':{'id':'WAV','audio':'https://cdn.example.com/a.wav',"
       "'customer':{'id':'c1','phone':'0901'}}}");
  post("{'type':'order.created','data':{'id':'MP3','audio':'https://cdn.example.com/a.MP3?v=2',"
       "'customer':{'id':'c1','phone':'0901'}}}");
  wait_sql("SELECT count(*) FROM runs WHERE status = 'succeeded'", "2", RUN_MS);
  assert_q("SELECT scope->'vars'->>'why' FROM runs WHERE record_id = 'WAV'",
           "audio_url \"https://cdn.example.com/a.wav\" cannot be played: it must be an .mp3 "
           "file");
  assert_q("SELECT count(*) FROM deliveries", "1");
  cJSON *recs = sink_records(&H);
  ASSERT_INT_EQ(cJSON_GetArraySize(recs), 1);
  cJSON *body = cJSON_Parse(cJSON_GetStringValue(
      cJSON_GetObjectItem(cJSON_GetArrayItem(recs, 0), "body")));
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(body, "mode")), "audio");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(body, "audio_url")),
                "https://cdn.example.com/a.MP3?v=2");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(body, "from")), "1900");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(body, "to")), "0901");
  cJSON_Delete(body);
  cJSON_Delete(recs);
  /* A constant URL that is no .mp3 is refused before the flow can run. */
  struct http_resp r = call("POST", "/api/flows/validate", ORDER_FLOW("f_v",
      "{'id':'call','type':'action.robocall','config':{'mode':'audio',"
      "'audio_url':'https://x.example/a.wav'}}", "{'from':'t','to':'call'}"), 200);
  ASSERT_STR_CONTAINS(r.body, "/nodes/1/config/audio_url");
  http_resp_free(&r);
  stop();
}

TEST_PG(send_robocall_text_mode_carries_the_voice) {
  start(NULL);
  install(ORDER_FLOW("f_say",
      "{'id':'call','type':'action.robocall','config':{'provider':'p_call','text':"
      "'Xin chào {{customer.name}}, đơn {{order.id}} đang giao.','voice':{'speed':1.2}}}",
      "{'from':'t','to':'call'}"));
  post("{'type':'order.created','data':{'id':'DH5','customer':{'id':'c5','name':'Năm',"
       "'phone':'0905'}}}");
  wait_sql("SELECT status FROM runs", "succeeded", RUN_MS);
  assert_q("SELECT request::text FROM deliveries",
           "{\"mode\": \"text\", \"voice\": {\"lang\": \"vi-VN\", \"speed\": 1.2, \"volume\": 1}}");
  assert_q("SELECT body FROM deliveries", "Xin chào Năm, đơn DH5 đang giao.");
  assert_q("SELECT output->'response'->>'status' FROM steps WHERE node_id = 'call'", "200");
  stop();
}

/* ---- chat ---- */

#define CHAT_FLOW                                                                             \
  "{'id':'f_chat','name':'Chat','nodes':[{'id':'t','type':'trigger.event','config':"         \
  "{'type':'message.received'}},"                                                             \
  "{'id':'note','type':'action.send_message','config':{'provider':'p_chat','whisper':true,"  \
  "'text':'VIP: {{customer.name}} wrote {{event.data.text}}'}},"                              \
  "{'id':'reply','type':'action.send_message','config':{'provider':'p_chat',"                \
  "'text':'Chào {{customer.name}}!'}},"                                                       \
  "{'id':'other','type':'action.send_message','config':{'provider':'p_chat',"                \
  "'channel':'{{event.data.page_id}}-shop','text':'Hi'}}],"                                   \
  "'edges':[{'from':'t','to':'note'},{'from':'note','to':'reply'},{'from':'reply','to':'other'}]}"

static cJSON *sink_json(cJSON *recs, int i) {
  return cJSON_Parse(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(recs, i),
                                                              "body")));
}

TEST_PG(send_message_whisper_is_marked_hidden_from_the_customer) {
  start(NULL);
  install(CHAT_FLOW);
  post("{'type':'message.received','data':{'page_id':'p1','text':'hello',"
       "'customer':{'id':'c1','name':'An'}}}");
  wait_sql("SELECT status FROM runs", "succeeded", RUN_MS);
  cJSON *recs = sink_records(&H);
  ASSERT_INT_EQ(cJSON_GetArraySize(recs), 3);
  cJSON *note = sink_json(recs, 0), *reply = sink_json(recs, 1), *other = sink_json(recs, 2);
  ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(note, "whisper")));
  ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(note, "hidden_from_customer")));
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(note, "text")), "VIP: An wrote hello");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(note, "page_id")), "p1");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(note, "to")), "c1");
  ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(reply, "whisper")));
  ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(reply, "hidden_from_customer")));
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(reply, "text")), "Chào An!");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(other, "page_id")), "p1-shop");
  /* The conversation of the event goes with every message, for the gateway's thread. */
  ASSERT_NOT_NULL(cJSON_GetStringValue(cJSON_GetObjectItem(reply, "conversation_id")));
  cJSON_Delete(note);
  cJSON_Delete(reply);
  cJSON_Delete(other);
  cJSON_Delete(recs);
  assert_q("SELECT string_agg((request->>'whisper'), ',' ORDER BY id) FROM deliveries",
           "true,false,false");
  stop();
}

/* ---- webhooks ---- */

#define HOOK_FLOW(url, extra)                                                                 \
  ORDER_FLOW("f_hook",                                                                       \
      "{'id':'hook','type':'action.http','config':{'method':'PUT','url':'" url "',"          \
      "'headers':{'X-Order':'{{order.id}}','Authorization':'Bearer {{order.token}}'},"       \
      "'body':{'order':'{{order.id}}','amount':'{{order.amount}}','n':7,"                    \
      "'tags':['{{order.source}}',true]}" extra "}},"                                         \
      "{'id':'ok','type':'set','config':{'values':"                                           \
      "{'got':'{{nodes.hook.status}}/{{nodes.hook.body.n}}'}}},"                              \
      "{'id':'oops','type':'set','config':{'values':{'why':'{{{nodes.hook.error}}}'}}}",       \
      "{'from':'t','to':'hook'},{'from':'hook','to':'ok'},"                                   \
      "{'from':'hook','port':'error','to':'oops'}")

TEST_PG(http_webhook_renders_the_request_and_its_response_becomes_the_output) {
  start("{\"response\": {\"n\": 42, \"echo\": \"ok\"}}");
  char flow[4096];
  snprintf(flow, sizeof flow, HOOK_FLOW("%s/hooks/{{order.id}}?src=flowd", ""), H.url);
  install(flow);
  post("{'type':'order.created','data':{'id':'DH7','amount':150000,'token':'t0k',"
       "'source':'web'}}");
  wait_sql("SELECT status FROM runs", "succeeded", RUN_MS);
  assert_q("SELECT scope->'vars'->>'got' FROM runs", "200/42");
  assert_q("SELECT output->'body'->>'echo' FROM steps WHERE node_id = 'hook'", "ok");
  assert_q("SELECT output->'request'->>'method' FROM steps WHERE node_id = 'hook'", "PUT");
  cJSON *recs = sink_records(&H);
  ASSERT_INT_EQ(cJSON_GetArraySize(recs), 1);
  cJSON *r0 = cJSON_GetArrayItem(recs, 0), *h = cJSON_GetObjectItem(r0, "headers");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r0, "method")), "PUT");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r0, "path")), "/hooks/DH7");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r0, "query")), "src=flowd");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(h, "x-order")), "DH7");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(h, "authorization")), "Bearer t0k");
  ASSERT_NOT_NULL(cJSON_GetStringValue(cJSON_GetObjectItem(h, "idempotency-key")));
  cJSON *body = sink_json(recs, 0);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(body, "order")), "DH7");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(body, "amount")), "150000");
  ASSERT_INT_EQ(cJSON_GetObjectItem(body, "n")->valueint, 7);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(body, "tags"), 0)),
                "web");
  cJSON_Delete(body);
  cJSON_Delete(recs);
  /* The delivery keeps the request as sent; the API masks nothing of a webhook's own. */
  assert_q("SELECT channel || ' ' || (request->>'method') || ' ' || (request->>'timeout_ms') "
           "FROM deliveries", "webhook PUT 10000");
  stop();
}

TEST_PG(http_status_outside_expect_takes_the_error_port) {
  start(NULL);
  char flow[4096];
  snprintf(flow, sizeof flow, HOOK_FLOW("%s/hooks?status=200", ",'expect':[201,'3xx']"), H.url);
  install(flow);
  post("{'type':'order.created','data':{'id':'DH8'}}");
  wait_sql("SELECT status FROM runs", "succeeded", RUN_MS);
  assert_q("SELECT string_agg(node_id || ':' || status, ',' ORDER BY id) FROM steps",
           "t:succeeded,hook:failed,oops:succeeded");
  assert_q_contains("SELECT scope->'vars'->>'why' FROM runs", "HTTP 200");
  assert_q("SELECT status || ' ' || attempts FROM deliveries", "failed 1");
  stop();
}

TEST_PG(http_timeout_fails_after_its_attempts_to_the_error_port) {
  start("{\"delay_ms\": 1500}");
  char flow[4096];
  snprintf(flow, sizeof flow,
           HOOK_FLOW("%s/slow", ",'timeout':'300ms','retry':{'max':1,'backoff':'100ms'}"),
           H.url);
  install(flow);
  double t0 = mono_ms();
  post("{'type':'order.created','data':{'id':'DH9'}}");
  wait_sql("SELECT status FROM runs", "succeeded", RUN_MS);
  ASSERT_INT_OP(mono_ms() - t0, <, 1500 * 2); /* neither attempt waited for the answer */
  assert_q("SELECT status || ' ' || attempts FROM deliveries", "failed 2");
  assert_q_contains("SELECT lower(scope->'vars'->>'why') FROM runs", "timeout");
  assert_q_contains("SELECT scope->'vars'->>'why' FROM runs", "after 2 attempts");
  stop();
}

/* ---- retries ---- */

#define RETRY_FLOW                                                                            \
  ORDER_FLOW("f_retry",                                                                      \
      "{'id':'sms','type':'action.send_sms','config':{'provider':'p_sms','text':'Hi',"       \
      "'retry':{'max':2,'backoff':'100ms'}}},"                                                \
      "{'id':'ok','type':'set','config':{'values':{'r':'sent'}}},"                            \
      "{'id':'oops','type':'set','config':{'values':{'r':'{{{nodes.sms.error}}}'}}}",          \
      "{'from':'t','to':'sms'},{'from':'sms','to':'ok'},{'from':'sms','port':'error','to':'oops'}")

/* Every request the sink got carried the same Idempotency-Key; returns how many. */
static int requests_with_one_key(void) {
  cJSON *recs = sink_records(&H), *r;
  const char *key = NULL;
  cJSON_ArrayForEach(r, recs) {
    const char *k = cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(r, "headers"), "idempotency-key"));
    ASSERT_NOT_NULL(k);
    if (!key)
      key = k;
    ASSERT_STR_EQ(k, key);
  }
  int n = cJSON_GetArraySize(recs);
  cJSON_Delete(recs);
  return n;
}

TEST_PG(send_retries_with_one_idempotency_key_then_takes_the_error_port) {
  start("{\"fail_first\": 100, \"fail_status\": 503}");
  install(RETRY_FLOW);
  post("{'type':'order.created','data':{'id':'DH10','customer':{'id':'c1','phone':'0901'}}}");
  wait_sql("SELECT status FROM runs", "succeeded", RUN_MS);
  /* max 2 retries: three attempts, one key, then the error port (not a failed run). */
  ASSERT_INT_EQ(requests_with_one_key(), 3);
  assert_q("SELECT status || ' ' || attempts FROM deliveries", "failed 3");
  assert_q("SELECT string_agg(node_id || ':' || status, ',' ORDER BY id) FROM steps",
           "t:succeeded,sms:failed,oops:succeeded");
  assert_q_contains("SELECT scope->'vars'->>'r' FROM runs", "failed after 3 attempts: HTTP 503");
  /* The executor did not retry the step on top of the outbox: one step, one attempt. */
  assert_q("SELECT max(attempt) FROM steps WHERE node_id = 'sms'", "1");
  stop();
}

TEST_PG(send_retry_that_succeeds_takes_out_with_one_delivery) {
  start("{\"fail_first\": 2, \"fail_status\": 500}");
  install(RETRY_FLOW);
  post("{'type':'order.created','data':{'id':'DH11','customer':{'id':'c1','phone':'0901'}}}");
  wait_sql("SELECT status FROM runs", "succeeded", RUN_MS);
  ASSERT_INT_EQ(requests_with_one_key(), 3);
  assert_q("SELECT scope->'vars'->>'r' FROM runs", "sent");
  assert_q("SELECT count(*) || ' ' || min(status) || ' ' || min(attempts) FROM deliveries",
           "1 sent 3");
  assert_q("SELECT output->>'attempts' FROM steps WHERE node_id = 'sms'", "3");
  stop();
}

/* ---- test runs ---- */

TEST_PG(send_in_a_test_run_is_recorded_and_never_sent) {
  start(NULL);
  char flow[4096];
  snprintf(flow, sizeof flow, ORDER_FLOW("f_test",
      "{'id':'sms','type':'action.send_sms','config':{'provider':'p_sms','text':'Hi #NAME#'}},"
      "{'id':'mail','type':'action.send_email','config':{'subject':'S {{order.id}}','body':'B'}},"
      "{'id':'hook','type':'action.http','config':{'url':'%s/hook'}},"
      "{'id':'after','type':'set','config':{'values':{'x':'{{nodes.sms.would_send.text}}'}}}",
      "{'from':'t','to':'sms'},{'from':'sms','to':'mail'},{'from':'mail','to':'hook'},"
      "{'from':'hook','to':'after'}"), H.url);
  struct http_resp r = call("POST", "/api/flows", flow, 201);
  http_resp_free(&r);
  r = call("POST", "/api/flows/f_test/test", "{'event':{'type':'order.created','data':{"
           "'id':'T1','customer':{'id':'c1','name':'An','phone':'0901','email':'an@x.example'}}}}",
           200);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "status")), "succeeded");
  cJSON *steps = cJSON_GetObjectItem(r.json, "steps"), *st;
  int recorded = 0;
  cJSON_ArrayForEach(st, steps) {
    cJSON *out = cJSON_GetObjectItem(st, "output");
    if (cJSON_IsTrue(cJSON_GetObjectItem(out, "recorded")))
      recorded++;
  }
  ASSERT_INT_EQ(recorded, 3);
  http_resp_free(&r);
  assert_q("SELECT scope->'vars'->>'x' FROM runs", "Hi An");
  /* The outbox records the three and sends none of them. */
  wait_sql("SELECT count(*) FILTER (WHERE status = 'recorded' AND test) FROM deliveries", "3",
           RUN_MS);
  sleep_ms(300);
  ASSERT_INT_EQ(sink_count(&H), 0);
  ASSERT_INT_EQ(sink_count(&S), 0);
  stop();
}
