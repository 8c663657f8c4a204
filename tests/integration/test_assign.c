/* action.assign against a real flowd and PostgreSQL: fixed, round robin (alternating among
 * the online staff of a page, skipping the offline, fair across concurrent runs on two
 * processes), least loaded, candidate filters (staff, roles, where), teams with domains and
 * max_per_day, first-match rules, stickiness per record and per customer (within a
 * livestream), reassignment when the owner went offline, the unassigned and error ports, and
 * presence changes as staff.online / staff.offline events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/integration/assign_util.h"
#include "tests/integration/exec_util.h"
#include "tests/test.h"

static struct flowd_proc P;

/* The owners of records of kind whose id matches the LIKE pattern, in id order. */
static const char *owners(const char *kind, const char *like) {
  static char buf[1024];
  char sql[512];
  snprintf(sql, sizeof sql, "SELECT string_agg(coalesce(owner_id, '-'), ',' ORDER BY id) FROM "
           "records WHERE kind = '%s' AND id LIKE '%s'", kind, like);
  return au_sql(sql, buf, sizeof buf);
}

/* The outputs of node's steps, one field, in run order. */
static const char *outputs(const char *node, const char *field) {
  static char buf[2048];
  char sql[512];
  snprintf(sql, sizeof sql, "SELECT string_agg(coalesce(output->>'%s', '-'), ',' ORDER BY "
           "run_id) FROM steps WHERE node_id = '%s'", field, node);
  return au_sql(sql, buf, sizeof buf);
}

/* A flow: trigger t (config), then assign node a (config). */
static void assign_flow(const char *id, const char *trigger, const char *assign) {
  char flow[8192];
  snprintf(flow, sizeof flow,
           "{'id':'%s','name':'%s','nodes':[{'id':'t','type':'%s','config':%s},"
           "{'id':'a','type':'action.assign','config':%s}],'edges':[{'from':'t','to':'a'}]}",
           id, id, strstr(trigger, "'kind'") ? "trigger.record" : "trigger.event", trigger,
           assign);
  au_flow(&P, flow);
}

static void message(const char *page, const char *customer) {
  char ev[512];
  snprintf(ev, sizeof ev, "{'type':'message.received','data':{'page_id':'%s','customer':"
           "{'id':'%s','name':'Customer %s'},'text':'hello'}}", page, customer, customer);
  au_event(&P, ev);
}

static void order(const char *id, const char *fields) {
  char ev[512];
  snprintf(ev, sizeof ev, "{'type':'order.created','data':{'id':'%s'%s%s}}", id,
           fields ? "," : "", fields ? fields : "");
  au_event(&P, ev);
}

#define ON_MESSAGE "{'type':'message.received'}"
#define ON_ORDER "{'kind':'order','on':'created'}"
#define PAGE_ONLINE "'candidates':{'page':'{{conversation.page_id}}','online':true}"

TEST_PG(assign_fixed_sets_the_owner_through_a_record_update) {
  au_start(&P);
  au_staff(&P, "s_lan", NULL);
  assign_flow("f_fixed", ON_ORDER, "{'target':'order','strategy':'fixed','staff':'s_lan'}");
  order("O1", NULL);
  au_runs_done(1);
  ASSERT_STR_EQ(owners("order", "O1"), "s_lan");
  ASSERT_STR_EQ(outputs("a", "strategy"), "fixed");
  ASSERT_STR_EQ(outputs("a", "rule"), "-");
  ASSERT_STR_EQ(outputs("a", "sticky"), "false");
  ASSERT_STR_EQ(au_sql("SELECT port FROM steps WHERE node_id = 'a'", (char[64]){0}, 64),
                "assigned");
  ASSERT_STR_EQ(au_sql("SELECT output->'profile'->>'name' FROM steps WHERE node_id = 'a'",
                       (char[64]){0}, 64), "Name of s_lan");
  /* Through the event path, caused by the run, and recorded as an assignment. */
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM events WHERE type = 'order.updated' AND "
                        "record_id = 'O1' AND cause_run IS NOT NULL"), 1);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM assignments WHERE target_kind = 'order' AND "
                        "target_id = 'O1' AND staff_id = 's_lan'"), 1);
  au_stop(&P);
}

TEST_PG(assign_fixed_template_naming_nobody_takes_unassigned) {
  au_start(&P);
  au_staff(&P, "s_lan", NULL);
  assign_flow("f_tmpl", ON_ORDER, "{'target':'order','staff':'{{order.seller}}'}");
  order("O1", "'seller':'s_lan'");
  order("O2", "'seller':'s_gone'");
  order("O3", NULL);
  au_runs_done(3);
  ASSERT_STR_EQ(owners("order", "O%"), "s_lan,-,-");
  ASSERT_STR_EQ(outputs("a", "reason"),
                "fixed,fixed: staff s_gone does not exist,"
                "fixed: the staff template rendered empty");
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM steps WHERE node_id = 'a' AND port = "
                        "'unassigned'"), 2);
  au_stop(&P);
}

TEST_PG(assign_round_robin_alternates_among_online_staff_of_the_page_and_skips_offline) {
  au_start(&P);
  au_staff(&P, "s_a", "'pages':['P1']");
  au_staff(&P, "s_b", "'pages':['P1','P2']");
  au_staff(&P, "s_c", "'pages':['P1']");
  au_staff(&P, "s_d", "'pages':['P2']");
  au_presence(&P, "s_a", 1);
  au_presence(&P, "s_b", 1);
  au_presence(&P, "s_d", 1); /* s_c stays offline; s_d works on another page */
  assign_flow("f_rr", ON_MESSAGE, "{'target':'conversation','strategy':'round_robin',"
              PAGE_ONLINE "}");
  const char *customers[] = {"C1", "C2", "C3", "C4", "C5", "C6"};
  for (int i = 0; i < 6; i++) {
    message("P1", customers[i]);
    au_runs_done(i + 1);
  }
  ASSERT_STR_EQ(owners("conversation", "m:P1:%"), "s_a,s_b,s_a,s_b,s_a,s_b");
  /* Once online, s_c takes turns too. */
  au_presence(&P, "s_c", 1);
  message("P1", "C7");
  message("P1", "C8");
  message("P1", "C9");
  au_runs_done(9);
  ASSERT_STR_CONTAINS(owners("conversation", "m:P1:C_"), "s_c");
  au_stop(&P);
}

/* Posted all at once to two processes, 40 runs take 40 different turns. */
TEST_PG(assign_round_robin_stays_fair_with_concurrent_runs_on_two_processes) {
  au_start(&P);
  struct flowd_proc q;
  au_start(&q);
  const char *staff[] = {"s_a", "s_b", "s_c"};
  for (int i = 0; i < 3; i++) {
    au_staff(&P, staff[i], "'pages':['P1']");
    au_presence(&P, staff[i], 1);
  }
  assign_flow("f_rr", ON_MESSAGE, "{'target':'conversation'," PAGE_ONLINE "}");
  for (int k = 0; k < 2; k++) {
    char batch[8192] = "[";
    for (int i = 0; i < 20; i++)
      snprintf(batch + strlen(batch), sizeof batch - strlen(batch),
               "%s{'type':'message.received','data':{'page_id':'P1','customer':{'id':"
               "'C%d_%d'}}}", i ? "," : "", k, i);
    strcat(batch, "]");
    au_event(k ? &q : &P, batch);
  }
  au_runs_done(40);
  char counts[256];
  au_sql("SELECT string_agg(n::text, ',' ORDER BY owner_id) FROM (SELECT owner_id, count(*) "
         "AS n FROM records WHERE kind = 'conversation' GROUP BY owner_id) c",
         counts, sizeof counts);
  test_log("conversations per staff member: %s", counts);
  ASSERT_INT_EQ(sql_num("SELECT count(DISTINCT owner_id) FROM records WHERE kind = "
                        "'conversation'"), 3);
  ASSERT_INT_OP(sql_num("SELECT max(n) - min(n) FROM (SELECT count(*) AS n FROM records "
                        "WHERE kind = 'conversation' GROUP BY owner_id) c"), <=, 1);
  ASSERT_INT_EQ(sql_num("SELECT n FROM assign_cursors"), 40);
  au_stop(&q);
  au_stop(&P);
}

static void task_for(const char *id, const char *owner, const char *status) {
  char path[128], body[256];
  snprintf(path, sizeof path, "/api/records/task/%s", id);
  snprintf(body, sizeof body, "{'owner_id':'%s','status':'%s'}", owner, status);
  au_call(&P, "PUT", path, body, 200);
}

TEST_PG(assign_least_loaded_picks_the_fewest_open_tasks_and_conversations) {
  au_start(&P);
  au_staff(&P, "s_a", NULL);
  au_staff(&P, "s_b", NULL);
  au_staff(&P, "s_c", NULL);
  task_for("T1", "s_a", "open");
  task_for("T2", "s_a", "open");
  task_for("T3", "s_b", "open");
  task_for("T4", "s_b", "done"); /* done: not load */
  task_for("T5", "s_c", "open");
  au_call(&P, "PUT", "/api/records/conversation/K1", "{'owner_id':'s_c','status':'open'}", 200);
  assign_flow("f_ll", ON_ORDER, "{'target':'order','strategy':'least_loaded','candidates':"
              "{'staff':['s_a','s_b','s_c']}}");
  order("O1", NULL);
  au_runs_done(1);
  ASSERT_STR_EQ(owners("order", "O1"), "s_b");
  ASSERT_STR_EQ(outputs("a", "reason"), "least loaded: 1 open");
  /* Now all have two: the ties take turns. */
  task_for("T6", "s_b", "open");
  order("O2", NULL);
  au_runs_done(2);
  order("O3", NULL);
  au_runs_done(3);
  order("O4", NULL);
  au_runs_done(4);
  ASSERT_STR_EQ(owners("order", "O_"), "s_b,s_a,s_b,s_c");
  au_stop(&P);
}

TEST_PG(assign_candidates_filter_by_staff_roles_and_where) {
  au_start(&P);
  au_staff(&P, "s_a", "'roles':['sales','manager'],'attrs':{'city':'Hue'}");
  au_staff(&P, "s_b", "'roles':['sales'],'attrs':{'city':'Hue'}");
  au_staff(&P, "s_c", "'roles':['sales','manager'],'attrs':{'city':'Hanoi'}");
  au_staff(&P, "s_d", "'roles':['sales','manager'],'attrs':{'city':'Hue'}");
  assign_flow("f_filter", ON_ORDER,
              "{'target':'order','candidates':{'staff':['s_a','s_b','s_c'],"
              "'roles':['manager','sales'],'where':{'==':[{'var':'staff.city'},"
              "{'var':'order.city'}]}}}");
  order("O1", "'city':'Hue'");
  order("O2", "'city':'Hanoi'");
  order("O3", "'city':'Danang'");
  au_runs_done(3);
  /* O1: not s_b (no manager role), not s_d (not listed). O3: nobody in Danang. */
  ASSERT_STR_EQ(owners("order", "O_"), "s_a,s_c,-");
  ASSERT_STR_EQ(au_sql("SELECT port FROM steps s JOIN runs r ON r.id = s.run_id WHERE "
                       "s.node_id = 'a' AND r.record_id = 'O3'", (char[64]){0}, 64),
                "unassigned");
  au_stop(&P);
}

#define LEAD(id, fields) "{'type':'lead.created','data':{'id':'" id "'," fields "}}"

TEST_PG(assign_teams_by_domain_then_member_domain_and_max_per_day) {
  au_start(&P);
  au_staff(&P, "s_m1", NULL);
  au_staff(&P, "s_m2", NULL);
  au_staff(&P, "s_e1", NULL);
  au_call(&P, "POST", "/api/teams", "{'id':'t_na','name':'North America','domain':"
          "[['country','in',['United States','Canada']]],'members':["
          "{'staff':'s_m1','domain':[['source','=','web']],'max_per_day':1},"
          "{'staff':'s_m2','domain':[['source','=','phone']]}]}", 201);
  au_call(&P, "POST", "/api/teams", "{'id':'t_eu','name':'Europe','domain':"
          "[['country','=','France']],'members':[{'staff':'s_e1'}]}", 201);
  assign_flow("f_leads", "{'kind':'lead','on':'created'}",
              "{'target':'lead','candidates':{'teams':['t_na','t_eu']}}");
  au_event(&P, LEAD("L1", "'country':'France'"));
  au_event(&P, LEAD("L2", "'country':'United States','source':'web'"));
  au_runs_done(2);
  /* s_m1 had one today: L3 finds nobody under the limit in t_na, and t_eu does not match. */
  au_event(&P, LEAD("L3", "'country':'United States','source':'web'"));
  au_event(&P, LEAD("L4", "'country':'Canada','source':'phone'"));
  au_event(&P, LEAD("L5", "'country':'Germany'"));
  au_runs_done(5);
  ASSERT_STR_EQ(owners("lead", "L_"), "s_e1,s_m1,-,s_m2,-");
  ASSERT_STR_EQ(au_sql("SELECT string_agg(coalesce(data->>'team_id', '-'), ',' ORDER BY id) "
                       "FROM records WHERE kind = 'lead'", (char[128]){0}, 128),
                "t_eu,t_na,-,t_na,-");
  ASSERT_STR_EQ(outputs("a", "team"), "t_eu,t_na,-,t_na,-");
  au_stop(&P);
}

TEST_PG(assign_rules_first_match_wins_in_order) {
  au_start(&P);
  au_staff(&P, "s_boss", NULL);
  au_staff(&P, "s_mgr_hue", "'roles':['sales manager'],'attrs':{'city':'Hue'}");
  au_staff(&P, "s_mgr_hn", "'roles':['sales manager'],'attrs':{'city':'Hanoi'}");
  au_staff(&P, "s_junior", NULL);
  assign_flow("f_rules", ON_ORDER,
              "{'target':'order','strategy':'round_robin','candidates':{'staff':['s_junior']},"
              "'rules':[{'when':{'>=':[{'var':'order.amount'},1000000]},'staff':'s_boss'},"
              "{'when':{'>=':[{'var':'order.amount'},50000]},'candidates':{'roles':"
              "['sales manager'],'where':{'==':[{'var':'staff.attrs.city'},"
              "{'var':'order.city'}]}}}]}");
  order("O1", "'amount':2000000,'city':'Hue'"); /* both rules match: the first wins */
  au_runs_done(1);
  order("O2", "'amount':100000,'city':'Hue'");
  au_runs_done(2);
  order("O3", "'amount':10,'city':'Hue'");
  au_runs_done(3);
  ASSERT_STR_EQ(owners("order", "O_"), "s_boss,s_mgr_hue,s_junior");
  ASSERT_STR_EQ(outputs("a", "rule"), "0,1,-");
  ASSERT_STR_EQ(outputs("a", "strategy"), "fixed,round_robin,round_robin");
  au_stop(&P);
}

TEST_PG(assign_sticky_record_keeps_the_owner_while_still_a_candidate) {
  au_start(&P);
  au_staff(&P, "s_a", "'pages':['P1']");
  au_staff(&P, "s_b", "'pages':['P1']");
  au_presence(&P, "s_a", 1);
  au_presence(&P, "s_b", 1);
  assign_flow("f_sticky", ON_MESSAGE, "{'target':'conversation','sticky':'record',"
              PAGE_ONLINE "}");
  message("P1", "X");
  au_runs_done(1);
  message("P1", "Y");
  au_runs_done(2);
  message("P1", "X");
  au_runs_done(3);
  message("P1", "X");
  au_runs_done(4);
  ASSERT_STR_EQ(owners("conversation", "m:P1:%"), "s_a,s_b");
  ASSERT_STR_EQ(outputs("a", "sticky"), "false,false,true,true");
  /* A sticky pick changes nothing: no conversation.updated from the runs after the first. */
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM events WHERE type = 'conversation.updated' AND "
                        "record_id = 'm:P1:X' AND cause_run IS NOT NULL"), 1);
  /* s_a leaves the page: no longer a candidate, X moves on. */
  au_call(&P, "PATCH", "/api/staff/s_a", "{'pages':[]}", 200);
  message("P1", "X");
  au_runs_done(5);
  ASSERT_STR_EQ(owners("conversation", "m:P1:X"), "s_b");
  au_stop(&P);
}

static void comment(const char *id, const char *customer) {
  char ev[512];
  snprintf(ev, sizeof ev, "{'type':'comment.created','data':{'page_id':'P1','id':'%s',"
           "'post_id':'post1','customer_id':'%s','text':'price?'}}", id, customer);
  au_event(&P, ev);
}

TEST_PG(assign_sticky_customer_reuses_the_last_staff_across_records) {
  au_start(&P);
  const char *staff[] = {"s_a", "s_b", "s_c"};
  for (int i = 0; i < 3; i++) {
    au_staff(&P, staff[i], "'pages':['P1']");
    au_presence(&P, staff[i], 1);
  }
  assign_flow("f_comments", "{'type':'comment.created'}",
              "{'target':'conversation','sticky':'customer'," PAGE_ONLINE "}");
  const char *who[] = {"X", "Y", "X", "Z"};
  char id[8];
  for (int i = 0; i < 4; i++) {
    snprintf(id, sizeof id, "k%d", i + 1);
    comment(id, who[i]);
    au_runs_done(i + 1);
  }
  /* One conversation per comment; X's second comment goes where the first went. */
  ASSERT_STR_EQ(owners("conversation", "c:P1:k%"), "s_a,s_b,s_a,s_c");
  ASSERT_STR_EQ(outputs("a", "sticky"), "false,false,true,false");
  au_stop(&P);
}

static void live_comment(const char *live, const char *customer) {
  char ev[512];
  snprintf(ev, sizeof ev, "{'type':'livestream.comment','data':{'page_id':'P1',"
           "'livestream_id':'%s','customer':{'id':'%s'},'text':'me!'}}", live, customer);
  au_event(&P, ev);
}

TEST_PG(assign_sticky_customer_holds_within_its_livestream_scope) {
  au_start(&P);
  const char *staff[] = {"s_a", "s_b", "s_c"};
  for (int i = 0; i < 3; i++) {
    au_staff(&P, staff[i], "'pages':['P1']");
    au_presence(&P, staff[i], 1);
  }
  assign_flow("f_live", "{'type':'livestream.comment'}",
              "{'target':'conversation','sticky':'customer','sticky_scope':"
              "'{{event.data.livestream_id}}'," PAGE_ONLINE "}");
  const char *lives[] = {"L1", "L1", "L1", "L2", "L2"};
  const char *who[] = {"X", "Y", "X", "X", "X"};
  for (int i = 0; i < 5; i++) {
    live_comment(lives[i], who[i]);
    au_runs_done(i + 1);
  }
  /* In L2, X starts over (a new turn), then sticks there too. */
  ASSERT_STR_EQ(owners("conversation", "l:P1:%"), "s_a,s_b,s_c");
  ASSERT_STR_EQ(outputs("a", "staff"), "s_a,s_b,s_a,s_c,s_c");
  ASSERT_STR_EQ(outputs("a", "sticky"), "false,false,true,false,true");
  ASSERT_STR_EQ(au_sql("SELECT string_agg(scope || ':' || customer_id || ':' || staff_id, ',' "
                       "ORDER BY id) FROM assignments", (char[256]){0}, 256),
                "L1:X:s_a,L1:Y:s_b,L2:X:s_c");
  au_stop(&P);
}

TEST_PG(assign_reassigns_a_record_whose_owner_went_offline) {
  au_start(&P);
  au_staff(&P, "s_a", "'pages':['P1']");
  au_staff(&P, "s_b", "'pages':['P1']");
  au_presence(&P, "s_a", 1);
  au_presence(&P, "s_b", 1);
  /* Not online-only: an offline owner stays a candidate; reassignment is what moves it. */
  assign_flow("f_reassign", ON_MESSAGE,
              "{'target':'conversation','sticky':'record','reassign_when_offline':true,"
              "'candidates':{'page':'{{conversation.page_id}}'}}");
  message("P1", "X");
  au_runs_done(1);
  message("P1", "X");
  au_runs_done(2);
  ASSERT_STR_EQ(owners("conversation", "m:P1:X"), "s_a");
  au_presence(&P, "s_a", 0);
  message("P1", "X");
  au_runs_done(3);
  ASSERT_STR_EQ(owners("conversation", "m:P1:X"), "s_b");
  ASSERT_STR_EQ(outputs("a", "previous"), "-,s_a,s_a");
  ASSERT_STR_CONTAINS(outputs("a", "reason"), "online (the owner is offline)");
  au_stop(&P);
}

TEST_PG(assign_takes_unassigned_when_nobody_is_eligible_and_error_when_it_fails) {
  au_start(&P);
  au_staff(&P, "s_a", "'pages':['P1']");
  au_flow(&P, "{'id':'f_ports','name':'Ports','nodes':["
              "{'id':'t','type':'trigger.record','config':{'kind':'order','on':'created'}},"
              "{'id':'a','type':'action.assign','config':{'target':'order','candidates':"
              "{'page':'P9','online':true}}},"
              "{'id':'nobody','type':'action.update_record','config':{'target':'order',"
              "'set':{'note':'nobody'}}},"
              "{'id':'b','type':'action.assign','config':{'target':'lead','staff':'s_a'}},"
              "{'id':'failed','type':'action.update_record','config':{'target':'order',"
              "'set':{'problem':'{{nodes.b.error}}'}}}],"
              "'edges':[{'from':'t','to':'a'},{'from':'a','port':'unassigned','to':'nobody'},"
              "{'from':'nobody','to':'b'},{'from':'b','port':'error','to':'failed'}]}");
  order("O1", NULL);
  au_runs_done(1);
  ASSERT_STR_EQ(outputs("a", "reason"), "no candidate is eligible");
  ASSERT_STR_EQ(au_sql("SELECT data->>'note' FROM records WHERE id = 'O1'", (char[64]){0}, 64),
                "nobody");
  ASSERT_STR_CONTAINS(au_sql("SELECT data->>'problem' FROM records WHERE id = 'O1'",
                             (char[256]){0}, 256), "there is no lead");
  ASSERT_STR_EQ(au_sql("SELECT status FROM runs", (char[64]){0}, 64), "succeeded");
  au_stop(&P);
}

TEST_PG(assign_presence_changes_become_staff_online_and_offline_events) {
  au_start(&P);
  au_staff(&P, "s_a", NULL);
  au_flow(&P, "{'id':'f_off','name':'Offline','nodes':["
              "{'id':'t','type':'trigger.event','config':{'type':'staff.offline'}},"
              "{'id':'n','type':'action.notify','config':{'staff':'{{event.data.id}}',"
              "'text':'You went offline'}}],'edges':[{'from':'t','to':'n'}]}");
  au_presence(&P, "s_a", 1);
  au_presence(&P, "s_a", 1); /* no flip, no event */
  au_presence(&P, "s_a", 0);
  au_runs_done(1);
  ASSERT_STR_EQ(au_sql("SELECT string_agg(type || ':' || (data->>'id'), ',' ORDER BY id) FROM "
                       "events WHERE type LIKE 'staff.%'", (char[256]){0}, 256),
                "staff.online:s_a,staff.offline:s_a");
  ASSERT_STR_EQ(outputs("n", "text"), "You went offline");
  au_stop(&P);
}

/* A test run shows who would get it, without taking a turn or assigning anything. */
TEST_PG(assign_test_run_moves_no_cursor_and_records_nothing) {
  au_start(&P);
  au_staff(&P, "s_a", "'pages':['P1']");
  au_staff(&P, "s_b", "'pages':['P1']");
  au_call(&P, "POST", "/api/flows", "{'id':'f_try','name':'Try','nodes':["
          "{'id':'t','type':'trigger.record','config':{'kind':'order','on':'created'}},"
          "{'id':'a','type':'action.assign','config':{'target':'order','candidates':"
          "{'page':'P1'}}},"
          "{'id':'task','type':'action.create_task','config':{'title':'T','assignee':"
          "{'strategy':'least_loaded','candidates':{'page':'P1'}}}}],"
          "'edges':[{'from':'t','to':'a'},{'from':'a','port':'assigned','to':'task'}]}", 201);
  for (int i = 0; i < 2; i++)
    au_call(&P, "POST", "/api/flows/f_try/test",
            "{'event':{'type':'order.created','data':{'id':'O1'}}}", 200);
  /* Both runs would give the first turn to s_a; nothing moved, nothing was written. */
  ASSERT_STR_EQ(outputs("a", "staff"), "s_a,s_a");
  ASSERT_STR_EQ(au_sql("SELECT string_agg(output->'assignee'->>'staff', ',') FROM steps "
                       "WHERE node_id = 'task'", (char[64]){0}, 64), "s_a,s_a");
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM assign_cursors"), 0);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM assignments"), 0);
  ASSERT_INT_EQ(sql_num("SELECT count(*) FROM records"), 0);
  au_stop(&P);
}
