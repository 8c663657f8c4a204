/* pick: who gets it, at run time (see pick.h for the model).
 *
 * A pick is a small state machine over at most two database round trips: GATHER (one call
 * returns the candidates that pass the SQL filters, the customer's last assignment, the
 * owner's presence and, for plain round robin, the next turn), then, when the strategy still
 * needs a turn, TURN (the round-robin cursor).
 * step_query's callback carries only the step, so picks waiting for the database are kept
 * in a list keyed by their step (a run has one step executing at a time).
 *
 * Invariant: a struct pick lives from pick_run until it reports (cb or step_fail) and is
 * freed right after; while it waits for the database it is in the waiting list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/cond.h"
#include "graph/tmpl.h"
#include "nodes/pick.h"
#include "nodes/pick_filter.h"
#include "nodes/picker.h"
#include "nodes/render.h"
#include "nodes/step.h"
#include "server/db.h"

/* The candidates and what the filters in C need, and maybe the next turn, in one call
 * (schema/006_assign.sql: flowd_assign_candidates). */
static const char GATHER[] =
    "SELECT flowd_assign_candidates($1::text[], $2::text[], $3::text[], $4, $5::boolean, "
    "$6::boolean, $7, $8, $9, $10, $11, $12::boolean)";

/* Takes the next turn ($2: a test run only peeks at it). */
static const char TURN[] = "SELECT flowd_assign_turn($1, $2::boolean)";

static const char *const strategy_names[] = {"fixed", "round_robin", "least_loaded"};

struct pick {
  struct pick *next; /* in the waiting list */
  struct step *s;
  const struct picker *p;
  const struct picker_candidates *c; /* the candidates in force; NULL: a fixed staff member */
  int rule;                          /* the rule that matched, -1: none */
  const cJSON *rec;                  /* the subject record in scope, or NULL */
  const char *subject, *kind, *customer, *owner;
  char *fixed, *page, *scope; /* rendered templates (NULL when absent) */
  cJSON *gathered;
  struct pick_pool pool;
  int online_only; /* the pick must go to an online candidate */
  long long turn;  /* a round-robin turn GATHER already took (0: none) */
  unsigned staff_gen; /* the staff cache's generation when GATHER was sent */
  char key[640];
  pick_cb cb;
};

static struct pick *waiting;

static void wait_for_db(struct pick *k) {
  k->next = waiting;
  waiting = k;
}

static struct pick *take(struct step *s) {
  for (struct pick **pp = &waiting; *pp; pp = &(*pp)->next)
    if ((*pp)->s == s) {
      struct pick *k = *pp;
      *pp = k->next;
      return k;
    }
  return NULL;
}

static void pick_free(struct pick *k) {
  free(k->fixed);
  free(k->page);
  free(k->scope);
  cJSON_Delete(k->gathered);
  pick_pool_free(&k->pool);
  free(k);
}

static const char *str_of(const cJSON *o, const char *name) {
  return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
}

/* ---- reporting ---- */

/* Reports the outcome (c NULL: nobody) and frees k. */
static void finish(struct pick *k, const struct pick_cand *c, int sticky, const char *reason) {
  const char *staff = c ? c->id : NULL, *team = c ? c->team : NULL;
  cJSON *out = cJSON_CreateObject();
  cJSON_AddItemToObject(out, "staff", staff ? cJSON_CreateString(staff) : cJSON_CreateNull());
  cJSON_AddItemToObject(out, "team", team ? cJSON_CreateString(team) : cJSON_CreateNull());
  cJSON_AddStringToObject(out, "strategy", k->c ? strategy_names[k->p->strategy] : "fixed");
  cJSON_AddItemToObject(out, "rule", k->rule >= 0 ? cJSON_CreateNumber(k->rule)
                                                   : cJSON_CreateNull());
  cJSON_AddBoolToObject(out, "sticky", sticky);
  cJSON_AddStringToObject(out, "reason", reason);
  cJSON_AddNumberToObject(out, "candidates", (double)k->pool.n);
  cJSON_AddItemToObject(out, "previous", k->owner ? cJSON_CreateString(k->owner)
                                                  : cJSON_CreateNull());
  cJSON *profile = c ? pick_profile(c->staff) : NULL;
  struct pick_result res = {staff, team, k->owner, k->customer, k->scope ? k->scope : "",
                            profile, out};
  k->cb(k->s, &res);
  cJSON_Delete(profile);
  pick_free(k);
}

static void fail(struct pick *k, int retryable, const char *what, const char *why) {
  step_fail(k->s, retryable, "%s: %s", what, why ? why : "unknown error");
  pick_free(k);
}

/* ---- choosing among the pool ---- */

/* Gives turn n to the pool's candidate at n modulo its size. */
static void choose(struct pick *k, long long n) {
  const struct pick_cand *c = &k->pool.v[(size_t)((n - 1) % (long long)k->pool.n)];
  char reason[200];
  if (k->p->strategy == PICK_LEAST_LOADED)
    snprintf(reason, sizeof reason, "least loaded (%lld open), tied with %zu others; turn %lld",
             c->load, k->pool.n - 1, n);
  else
    snprintf(reason, sizeof reason, "round robin: turn %lld among %zu candidates%s", n,
             k->pool.n, k->online_only ? " online (the owner is offline)" : "");
  finish(k, c, 0, reason);
}

static void turned(struct step *s, int rc, const struct db_result *r) {
  struct pick *k = take(s);
  if (!k)
    return;
  if (rc || PQntuples(r->res[0]) < 1) {
    fail(k, 1, "taking a round-robin turn", r ? r->error : NULL);
    return;
  }
  choose(k, atoll(PQgetvalue(r->res[0], 0, 0)));
}

/* The cursor of this node, rule, page (and team: each team takes its own turns). */
static void make_key(struct pick *k, const char *team) {
  const cJSON *flow = cJSON_GetObjectItem(step_scope(k->s), "flow");
  char rule[16] = "-";
  if (k->rule >= 0)
    snprintf(rule, sizeof rule, "%d", k->rule);
  snprintf(k->key, sizeof k->key, "%s/%s/%s/%s%s%s%s", str_of(flow, "id"),
           step_node_id(k->s), rule, k->page ? k->page : "", team ? "/" : "",
           team ? team : "", k->p->strategy == PICK_LEAST_LOADED ? "/ll" : "");
}

/* Takes the next turn of this node's cursor among the pool (unless GATHER took it). */
static void take_turn(struct pick *k) {
  if (k->turn > 0) {
    choose(k, k->turn);
    return;
  }
  make_key(k, k->pool.v[0].team);
  const char *params[2] = {k->key, step_is_test(k->s) ? "true" : "false"};
  wait_for_db(k);
  step_query(k->s, TURN, 2, params, turned);
}

/* The candidate(s) with the fewest open records; ties take turns. */
static void least_loaded(struct pick *k) {
  pick_pool_keep_least_loaded(&k->pool);
  if (k->pool.n > 1) {
    take_turn(k);
    return;
  }
  char reason[128];
  snprintf(reason, sizeof reason, "least loaded: %lld open", k->pool.v[0].load);
  finish(k, &k->pool.v[0], 0, reason);
}

/* Stickiness and reassignment, then the strategy. */
static void decide(struct pick *k) {
  if (k->pool.n == 0) {
    finish(k, NULL, 0, "no candidate is eligible");
    return;
  }
  const cJSON *oo = cJSON_GetObjectItem(k->gathered, "owner_online");
  int reassign = k->p->reassign_when_offline;
  const char *keep = k->p->sticky == STICKY_RECORD     ? k->owner
                     : k->p->sticky == STICKY_CUSTOMER ? str_of(k->gathered, "last")
                                                       : NULL;
  const struct pick_cand *kept = keep ? pick_pool_find(&k->pool, keep) : NULL;
  if (kept && (!reassign || kept->online)) {
    finish(k, kept, 1, k->p->sticky == STICKY_RECORD ? "sticky: kept the record's owner"
                                                     : "sticky: the customer's last staff member");
    return;
  }
  k->online_only = reassign && (kept || (k->owner && !cJSON_IsTrue(oo)));
  if (k->online_only && pick_pool_keep_online(&k->pool) == 0) {
    finish(k, NULL, 0, "the owner is offline and no candidate is online");
    return;
  }
  if (k->p->strategy == PICK_LEAST_LOADED)
    least_loaded(k);
  else
    take_turn(k);
}

/* ---- gathering ---- */

/* fixed: the staff member exists (row: {id, online, staff}), or nobody gets it. */
static void fixed_found(struct pick *k, const cJSON *row) {
  struct pick_cand c = {k->fixed, NULL, cJSON_IsTrue(cJSON_GetObjectItem(row, "online")), 0,
                        cJSON_GetObjectItem(row, "staff")};
  char why[300];
  snprintf(why, sizeof why, "fixed: staff %s does not exist", k->fixed);
  finish(k, row ? &c : NULL, 0, row ? "fixed" : why);
}

static void gathered(struct step *s, int rc, const struct db_result *r) {
  struct pick *k = take(s);
  if (!k)
    return;
  if (rc || PQntuples(r->res[0]) < 1 ||
      !(k->gathered = cJSON_Parse(PQgetvalue(r->res[0], 0, 0)))) {
    fail(k, 1, "reading the candidates", r ? r->error : NULL);
    return;
  }
  const cJSON *rows = cJSON_GetObjectItem(k->gathered, "c");
  k->turn = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(k->gathered, "turn"));
  if (!k->c) {
    const cJSON *row = cJSON_GetArrayItem(rows, 0);
    if (row)
      step_staff_remember(k->fixed, row, k->staff_gen);
    fixed_found(k, row);
    return;
  }
  char err[600] = "";
  if (pick_filter(k->s, k->c, k->rec, rows, &k->pool, err, sizeof err) != 0) {
    fail(k, 0, "candidates", err);
    return;
  }
  decide(k);
}

/* A PostgreSQL text[] literal of the strings in arr, or NULL for no array. */
static char *pg_array(const cJSON *arr) {
  if (!cJSON_IsArray(arr))
    return NULL;
  size_t cap = 3;
  const cJSON *it;
  cJSON_ArrayForEach(it, arr) if (cJSON_IsString(it)) cap += strlen(it->valuestring) * 2 + 3;
  char *out = malloc(cap), *o = out;
  *o++ = '{';
  cJSON_ArrayForEach(it, arr) {
    if (!cJSON_IsString(it))
      continue;
    if (o > out + 1)
      *o++ = ',';
    *o++ = '"';
    for (const char *c = it->valuestring; *c; c++) {
      if (*c == '"' || *c == '\\')
        *o++ = '\\';
      *o++ = *c;
    }
    *o++ = '"';
  }
  *o++ = '}';
  *o = '\0';
  return out;
}

/* Round robin without stickiness always takes a turn unless nobody is eligible (a turn
 * lost then is harmless), so GATHER takes it at once. Not with teams: their cursor depends
 * on the team the filters pick. */
static int turn_now(const struct pick *k) {
  return k->c && k->p->strategy == PICK_ROUND_ROBIN && k->p->sticky == STICKY_NONE &&
         !k->c->teams;
}

static void gather(struct pick *k) {
  const struct picker_candidates *c = k->c;
  char *staff = NULL;
  if (!c) {
    cJSON *one = cJSON_CreateArray();
    cJSON_AddItemToArray(one, cJSON_CreateString(k->fixed));
    staff = pg_array(one);
    cJSON_Delete(one);
  } else {
    staff = pg_array(c->staff);
  }
  char *roles = c ? pg_array(c->roles) : NULL, *teams = c ? pg_array(c->teams) : NULL;
  int load = c && k->p->strategy == PICK_LEAST_LOADED;
  int sticky_customer = c && k->p->sticky == STICKY_CUSTOMER;
  if (turn_now(k))
    make_key(k, NULL);
  const char *params[12] = {staff, roles, teams, k->page, c && c->online ? "true" : "false",
                            load ? "true" : "false", sticky_customer ? k->customer : NULL,
                            k->kind, k->scope ? k->scope : "", k->owner,
                            turn_now(k) ? k->key : NULL, step_is_test(k->s) ? "true" : "false"};
  wait_for_db(k);
  step_query(k->s, GATHER, 12, params, gathered);
  free(staff);
  free(roles);
  free(teams);
}

/* ---- starting ---- */

/* The first rule whose condition holds, or -1; -2 after failing the step. */
static int match_rule(struct pick *k) {
  for (size_t i = 0; i < k->p->nrules; i++) {
    char what[48];
    snprintf(what, sizeof what, "rules[%zu].when", i);
    int ok = node_test(k->s, k->p->rules[i].when, NULL, what);
    if (ok < 0)
      return -2;
    if (ok)
      return (int)i;
  }
  return -1;
}

/* Renders t into *out (absent template: stays NULL). Returns 0, or -1 after failing. */
static int render(struct pick *k, const struct tmpl *t, const char *what, char **out) {
  if (!t)
    return 0;
  *out = node_render(k->s, t, what);
  return *out ? 0 : -1;
}

static void find_subject(struct pick *k, const char *subject) {
  const cJSON *scope = step_scope(k->s);
  k->subject = subject;
  k->rec = subject ? cJSON_GetObjectItem(scope, subject) : NULL;
  if (!cJSON_IsObject(k->rec))
    k->rec = NULL;
  k->owner = str_of(k->rec, "owner_id");
  if (k->owner && !*k->owner)
    k->owner = NULL;
  k->customer = subject && !strcmp(subject, "customer") ? str_of(k->rec, "id")
                                                         : str_of(k->rec, "customer_id");
  if (!k->customer)
    k->customer = str_of(cJSON_GetObjectItem(scope, "customer"), "id");
}

void pick_run(struct step *s, const struct picker *p, const char *subject, const char *kind,
              pick_cb cb) {
  struct pick *k = calloc(1, sizeof *k);
  k->s = s;
  k->p = p;
  k->kind = kind;
  k->cb = cb;
  find_subject(k, subject);
  if ((k->rule = match_rule(k)) == -2) {
    pick_free(k);
    return;
  }
  const struct picker_rule *r = k->rule >= 0 ? &p->rules[k->rule] : NULL;
  const struct tmpl *fixed = r ? r->staff : p->strategy == PICK_FIXED ? p->staff : NULL;
  k->c = r ? (r->staff ? NULL : &r->candidates) : p->strategy == PICK_FIXED ? NULL
                                                                             : &p->candidates;
  if (render(k, fixed, "staff", &k->fixed) || (k->c && render(k, k->c->page, "candidates.page",
                                                              &k->page)) ||
      render(k, p->sticky_scope, "sticky_scope", &k->scope)) {
    pick_free(k);
    return;
  }
  if (!k->c && (!k->fixed || !*k->fixed)) {
    finish(k, NULL, 0, fixed ? "fixed: the staff template rendered empty"
                             : "no staff member is configured");
    return;
  }
  if (!k->c) { /* a fixed staff member read a moment ago needs no query */
    const cJSON *row = step_staff_cached(k->fixed);
    if (row) {
      fixed_found(k, row);
      return;
    }
    k->staff_gen = step_staff_generation();
  }
  gather(k);
}

/* ---- effects ---- */

void pick_record(struct step *s, const struct pick_result *res, const char *kind,
                 const char *id) {
  if (!res->staff || step_is_test(s) || !kind || !id)
    return;
  step_record_assignment(s, kind, id, res->customer, res->scope, res->staff, res->team);
}

const char *pick_subject(struct step *s) {
  static const char *const kinds[] = {"order", "lead", "conversation", "task", "customer"};
  const cJSON *scope = step_scope(s);
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (cJSON_IsObject(cJSON_GetObjectItem(scope, kinds[i])))
      return kinds[i];
  return NULL;
}
