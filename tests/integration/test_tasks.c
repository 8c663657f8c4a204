/* action.create_task and action.notify against a real flowd and PostgreSQL: rendered title,
 * text and project (#ORDER_ID#, {{customer.phone}}), deadlines (duration, time, template),
 * priority, links to the records in scope, the assignee picked like action.assign, and
 * task.created / notify arriving on the staff member's websocket topic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/integration/assign_util.h"
#include "tests/integration/exec_util.h"
#include "tests/test.h"

static struct flowd_proc P;

/* Field f of the task that node made (in the only run of its flow), as text. */
static const char *task_field(const char *node, const char *f) {
  static char buf[4][512];
  static int next;
  char sql[512];
  snprintf(sql, sizeof sql, "SELECT coalesce(data->>'%s', '-') FROM records WHERE kind = "
           "'task' AND id = (SELECT 't_' || run_id || '_%s' FROM steps WHERE node_id = '%s' "
           "LIMIT 1)", f, node, node);
  char *b = buf[next++ % 4];
  return au_sql(sql, b, 512);
}

/* One trigger t, then the nodes (a JSON list body, in jq form) each after t. */
static void flow_of(const char *id, const char *trigger, const char *nodes, const char *edges) {
  char flow[8192];
  snprintf(flow, sizeof flow, "{'id':'%s','name':'%s','nodes':[{'id':'t','type':"
           "'trigger.record','config':%s},%s],'edges':[%s]}", id, id, trigger, nodes, edges);
  au_flow(&P, flow);
}

#define ON_ORDER "{'kind':'order','on':'created'}"

TEST_PG(task_created_with_rendered_fields_deadline_priority_project_and_links) {
  au_start(&P);
  au_staff(&P, "s_lan", NULL);
  flow_of("f_task", ON_ORDER,
          "{'id':'task','type':'action.create_task','config':{"
          "'title':'Call #NAME# about order #ORDER_ID#',"
          "'text':'Phone {{customer.phone}}, total {{order.amount}}','assignee':'s_lan',"
          "'deadline':'2d','priority':'high','project':'Q4 {{order.city}}'}}",
          "{'from':'t','to':'task'}");
  struct au_ws ws;
  au_ws_listen(&ws, &P, "staff:s_lan", "task.created");
  au_ws_ready(&ws);
  au_event(&P, "{'type':'order.created','data':{'id':'DH9','amount':120000,'city':'Hue',"
               "'customer':{'id':'C1','name':'Lan Anh','phone':'0901234567'}}}");
  au_runs_done(1);
  ASSERT_STR_EQ(task_field("task", "title"), "Call Lan Anh about order DH9");
  ASSERT_STR_EQ(task_field("task", "text"), "Phone 0901234567, total 120000");
  ASSERT_STR_EQ(task_field("task", "owner_id"), "s_lan");
  ASSERT_STR_EQ(task_field("task", "status"), "open");
  ASSERT_STR_EQ(task_field("task", "priority"), "high");
  ASSERT_STR_EQ(task_field("task", "project"), "Q4 Hue");
  ASSERT_STR_EQ(task_field("task", "order_id"), "DH9");
  ASSERT_STR_EQ(task_field("task", "customer_id"), "C1");
  ASSERT_STR_EQ(task_field("task", "lead_id"), "-");
  /* Due two days from now (give or take the test's own minute). */
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM records WHERE kind = 'task' AND abs(extract("
                        "epoch FROM (data->>'due_at')::timestamptz - (now() + interval "
                        "'2 days'))) < 60 AND owner_id = 's_lan' AND customer_id = 'C1'"), 1);
  ASSERT_INT_EQ(au_ws_end(&ws), 0);
  char *out = au_ws_output(&ws);
  ASSERT_STR_CONTAINS(out, "\"topic\":\"staff:s_lan\",\"type\":\"task.created\"");
  ASSERT_STR_CONTAINS(out, "Call Lan Anh about order DH9");
  free(out);
  au_stop(&P);
}

TEST_PG(task_deadline_is_a_duration_a_time_or_a_template) {
  au_start(&P);
  flow_of("f_deadlines", ON_ORDER,
          "{'id':'at','type':'action.create_task','config':{'title':'A',"
          "'deadline':'2030-01-02T03:04:05Z'}},"
          "{'id':'tmpl','type':'action.create_task','config':{'title':'B',"
          "'deadline':'{{order.due}}'}},"
          "{'id':'dur','type':'action.create_task','config':{'title':'C',"
          "'deadline':'{{order.wait}}','priority':'low'}},"
          "{'id':'none','type':'action.create_task','config':{'title':'D'}},"
          "{'id':'bad','type':'action.create_task','config':{'title':'E',"
          "'deadline':'{{order.city}}'}},"
          "{'id':'caught','type':'action.update_record','config':{'target':'order',"
          "'set':{'problem':'{{{nodes.bad.error}}}'}}}",
          "{'from':'t','to':'at'},{'from':'t','to':'tmpl'},{'from':'t','to':'dur'},"
          "{'from':'t','to':'none'},{'from':'t','to':'bad'},"
          "{'from':'bad','port':'error','to':'caught'}");
  au_event(&P, "{'type':'order.created','data':{'id':'DH1','city':'Hue','wait':'4h',"
               "'due':'2031-05-06T07:08:09+07:00'}}");
  au_runs_done(1);
  ASSERT_STR_EQ(task_field("at", "due_at"), "2030-01-02T03:04:05.000Z");
  ASSERT_STR_EQ(task_field("tmpl", "due_at"), "2031-05-06T00:08:09.000Z");
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM records WHERE kind = 'task' AND data->>'title' = "
                        "'C' AND abs(extract(epoch FROM (data->>'due_at')::timestamptz - "
                        "(now() + interval '4 hours'))) < 60"), 1);
  ASSERT_STR_EQ(task_field("dur", "priority"), "low");
  ASSERT_STR_EQ(task_field("none", "due_at"), "-");
  ASSERT_STR_EQ(task_field("none", "priority"), "normal");
  ASSERT_STR_EQ(task_field("none", "owner_id"), "-");
  ASSERT_STR_CONTAINS(au_sql("SELECT data->>'problem' FROM records WHERE id = 'DH1'",
                             (char[512]){0}, 512),
                      "deadline: \"Hue\" is neither a duration");
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM records WHERE kind = 'task'"), 4);
  au_stop(&P);
}

TEST_PG(task_assignee_is_picked_like_assign_and_recorded) {
  au_start(&P);
  au_staff(&P, "s_m1", "'roles':['sales manager']");
  au_staff(&P, "s_m2", "'roles':['sales manager']");
  au_staff(&P, "s_x", NULL);
  flow_of("f_leads", "{'kind':'lead','on':'created'}",
          "{'id':'task','type':'action.create_task','config':{'title':'Call {{lead.name}}',"
          "'assignee':{'strategy':'round_robin','candidates':{'roles':['sales manager']}}}},"
          "{'id':'orphan','type':'action.create_task','config':{'title':'Nobody',"
          "'assignee':{'candidates':{'roles':['astronaut']}}}}",
          "{'from':'t','to':'task'},{'from':'t','to':'orphan'}");
  au_event(&P, "{'type':'lead.created','data':{'id':'L1','name':'Minh'}}");
  au_runs_done(1);
  au_event(&P, "{'type':'lead.created','data':{'id':'L2','name':'Hoa'}}");
  au_runs_done(2);
  ASSERT_STR_EQ(au_sql("SELECT string_agg(owner_id || ':' || (data->>'lead_id') || ':' || "
                       "(data->>'title'), ',' ORDER BY data->>'lead_id') FROM records WHERE "
                       "kind = 'task' AND owner_id IS NOT NULL", (char[256]){0}, 256),
                "s_m1:L1:Call Minh,s_m2:L2:Call Hoa");
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM assignments WHERE target_kind = 'task' AND "
                        "target_id LIKE 't\\_%\\_task'"), 2);
  /* Nobody eligible: the task exists unowned and the step says why. */
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM records WHERE kind = 'task' AND owner_id IS "
                        "NULL AND data->>'title' = 'Nobody'"), 2);
  ASSERT_STR_EQ(au_sql("SELECT output->'assignee'->>'reason' FROM steps WHERE node_id = "
                       "'orphan' LIMIT 1", (char[128]){0}, 128), "no candidate is eligible");
  au_stop(&P);
}

TEST_PG(assign_notify_publishes_text_on_the_picked_staff_topic) {
  au_start(&P);
  au_staff(&P, "s_lan", NULL);
  flow_of("f_notify", ON_ORDER,
          "{'id':'n','type':'action.notify','config':{'staff':{'candidates':{'staff':"
          "['s_lan']}},'title':'New order','text':'Order #ORDER_ID# for {{customer.name}}'}},"
          "{'id':'nobody','type':'action.notify','config':{'staff':'{{order.owner_id}}',"
          "'text':'never sent'}}",
          "{'from':'t','to':'n'},{'from':'t','to':'nobody'}");
  struct au_ws ws;
  au_ws_listen(&ws, &P, "staff:s_lan", "notify");
  au_ws_ready(&ws);
  au_event(&P, "{'type':'order.created','data':{'id':'DH3','customer':{'id':'C1',"
               "'name':'Lan Anh'}}}");
  au_runs_done(1);
  ASSERT_INT_EQ(au_ws_end(&ws), 0);
  char *out = au_ws_output(&ws);
  ASSERT_STR_CONTAINS(out, "\"type\":\"notify\"");
  ASSERT_STR_CONTAINS(out, "\"text\":\"Order DH3 for Lan Anh\"");
  ASSERT_STR_CONTAINS(out, "\"title\":\"New order\"");
  ASSERT_STR_CONTAINS(out, "\"run_id\":");
  free(out);
  ASSERT_STR_EQ(au_sql("SELECT status || ': ' || error FROM steps WHERE node_id = 'nobody'",
                       (char[256]){0}, 256),
                "skipped: nobody to notify: fixed: the staff template rendered empty");
  au_stop(&P);
}
