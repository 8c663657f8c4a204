/* picker: compiles the staff-picking configuration and checks what its schema cannot:
 * strategy fixed needs a staff member, referenced staff and teams exist. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/cond.h"
#include "graph/tmpl.h"
#include "nodes/picker.h"

static const cJSON *get(const cJSON *o, const char *k) {
  return cJSON_GetObjectItemCaseSensitive(o, k);
}

static void check_ids(struct node_compile *ctx, const char *kind, const cJSON *arr,
                      const char *path) {
  char at[512], idx[16];
  int i = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, arr) {
    snprintf(idx, sizeof idx, "%d", i++);
    node_check_ref(ctx, kind, it, node_path(at, sizeof at, path, idx));
  }
}

static int compile_candidates(struct node_compile *ctx, const cJSON *c, const char *path,
                              struct picker_candidates *out) {
  if (!cJSON_IsObject(c))
    return 0;
  char at[512];
  out->present = 1;
  out->staff = get(c, "staff");
  out->roles = get(c, "roles");
  out->teams = get(c, "teams");
  out->online = cJSON_IsTrue(get(c, "online"));
  check_ids(ctx, "staff", out->staff, node_path(at, sizeof at, path, "staff"));
  check_ids(ctx, "team", out->teams, node_path(at, sizeof at, path, "teams"));
  int rc = node_compile_tmpl(ctx, get(c, "page"), node_path(at, sizeof at, path, "page"),
                             &out->page);
  if (!rc)
    rc = node_compile_cond(ctx, get(c, "where"), node_path(at, sizeof at, path, "where"),
                           &out->where);
  return rc;
}

static void candidates_free(struct picker_candidates *c) {
  tmpl_free(c->page);
  cond_free(c->where);
}

static int compile_rule(struct node_compile *ctx, const cJSON *r, const char *path,
                        enum picker_strategy strategy, struct picker_rule *out) {
  char at[512];
  int rc = node_compile_cond(ctx, get(r, "when"), node_path(at, sizeof at, path, "when"),
                             &out->when);
  const cJSON *staff = get(r, "staff");
  node_path(at, sizeof at, path, "staff");
  node_check_ref(ctx, "staff", staff, at);
  if (!rc)
    rc = node_compile_tmpl(ctx, staff, at, &out->staff);
  node_path(at, sizeof at, path, "candidates");
  if (!rc)
    rc = compile_candidates(ctx, get(r, "candidates"), at, &out->candidates);
  if (out->candidates.present && strategy == PICK_FIXED)
    node_report(ctx, NODE_ERROR, "schema", at,
                "this rule gives candidates, but strategy fixed never picks among candidates; "
                "use round_robin or least_loaded, or name staff in the rule");
  return rc;
}

static enum picker_strategy parse_strategy(const cJSON *o) {
  const char *s = cJSON_GetStringValue(get(o, "strategy"));
  if (!s) /* unset: a named staff member alone means fixed */
    return get(o, "staff") && !get(o, "candidates") ? PICK_FIXED : PICK_ROUND_ROBIN;
  return !strcmp(s, "fixed") ? PICK_FIXED
         : !strcmp(s, "least_loaded") ? PICK_LEAST_LOADED
                                      : PICK_ROUND_ROBIN;
}

static enum picker_sticky parse_sticky(const cJSON *o) {
  const char *s = cJSON_GetStringValue(get(o, "sticky"));
  return !s ? STICKY_NONE : !strcmp(s, "record") ? STICKY_RECORD
                          : !strcmp(s, "customer") ? STICKY_CUSTOMER : STICKY_NONE;
}

static int compile_rules(struct node_compile *ctx, const cJSON *rules, const char *path,
                         struct picker *p) {
  int n = cJSON_GetArraySize(rules);
  if (n <= 0)
    return 0;
  if (!(p->rules = calloc((size_t)n, sizeof *p->rules)))
    return ERR_NOMEM;
  char at[512], idx[16];
  const cJSON *r;
  cJSON_ArrayForEach(r, rules) {
    snprintf(idx, sizeof idx, "%zu", p->nrules);
    int rc = compile_rule(ctx, r, node_path(at, sizeof at, path, idx), p->strategy,
                          &p->rules[p->nrules++]);
    if (rc)
      return rc;
  }
  return 0;
}

static int compile_object(struct node_compile *ctx, const cJSON *o, const char *path,
                          struct picker *p) {
  char at[512];
  p->strategy = parse_strategy(o);
  p->sticky = parse_sticky(o);
  p->reassign_when_offline = cJSON_IsTrue(get(o, "reassign_when_offline"));
  const cJSON *staff = get(o, "staff");
  node_path(at, sizeof at, path, "staff");
  node_check_ref(ctx, "staff", staff, at);
  if (p->strategy == PICK_FIXED && !staff)
    node_report(ctx, NODE_ERROR, "schema", at, "strategy fixed needs staff");
  else if (p->strategy != PICK_FIXED && staff)
    node_report(ctx, NODE_WARNING, "schema", at,
                "staff is used only with strategy fixed; this picker picks among candidates");
  int rc = node_compile_tmpl(ctx, staff, at, &p->staff);
  if (!rc)
    rc = compile_candidates(ctx, get(o, "candidates"),
                            node_path(at, sizeof at, path, "candidates"), &p->candidates);
  if (!rc)
    rc = node_compile_tmpl(ctx, get(o, "sticky_scope"),
                           node_path(at, sizeof at, path, "sticky_scope"), &p->sticky_scope);
  if (!rc)
    rc = compile_rules(ctx, get(o, "rules"), node_path(at, sizeof at, path, "rules"), p);
  return rc;
}

int picker_compile(struct node_compile *ctx, const cJSON *v, const char *subpath,
                   struct picker **out) {
  struct picker *p = *out = calloc(1, sizeof *p);
  if (!p)
    return ERR_NOMEM;
  if (cJSON_IsString(v)) {
    p->strategy = PICK_FIXED;
    node_check_ref(ctx, "staff", v, subpath);
    return node_compile_tmpl(ctx, v, subpath, &p->staff);
  }
  return cJSON_IsObject(v) ? compile_object(ctx, v, subpath, p) : 0;
}

void picker_free(struct picker *p) {
  if (!p)
    return;
  tmpl_free(p->staff);
  candidates_free(&p->candidates);
  tmpl_free(p->sticky_scope);
  for (size_t i = 0; i < p->nrules; i++) {
    cond_free(p->rules[i].when);
    tmpl_free(p->rules[i].staff);
    candidates_free(&p->rules[i].candidates);
  }
  free(p->rules);
  free(p);
}
