/* outbound: contacts, queueing and delivery outcomes for the sending nodes (see outbound.h).
 * Invariant: every entry point that reports an outcome reports exactly one. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/tmpl.h"
#include "nodes/outbound.h"
#include "nodes/render.h"
#include "nodes/step.h"
#include "server/outbox.h"

/* ---- contacts ---- */

/* A bare lower-case word names a phone/e-mail type; anything else is a template. */
static int is_type_name(const char *s) {
  if (!(s[0] >= 'a' && s[0] <= 'z'))
    return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
      return 0;
  return 1;
}

int outbound_to_compile(struct node_compile *ctx, const cJSON *v, const char *subpath,
                        struct outbound_to *to) {
  to->type = NULL;
  to->tmpl = NULL;
  const char *s = cJSON_GetStringValue(v);
  if (!s || !strcmp(s, "auto"))
    return 0;
  if (is_type_name(s)) {
    to->type = s;
    return 0;
  }
  return node_compile_tmpl(ctx, v, subpath, &to->tmpl);
}

void outbound_to_free(struct outbound_to *to) {
  tmpl_free(to->tmpl);
  to->tmpl = NULL;
}

/* A copy of s without surrounding white space, or NULL when nothing is left. */
static char *trimmed(const char *s) {
  s += strspn(s, " \t\r\n");
  size_t n = strlen(s);
  while (n > 0 && strchr(" \t\r\n", s[n - 1]))
    n--;
  return n ? strndup(s, n) : NULL;
}

/* A contact value as text: a non-empty string, or a number written as digits (phone numbers
 * sometimes arrive as JSON numbers). NULL otherwise. */
static char *contact_text(const cJSON *v) {
  if (cJSON_IsNumber(v) && v->valuedouble >= 0) {
    char buf[32];
    snprintf(buf, sizeof buf, "%.0f", v->valuedouble);
    return strdup(buf);
  }
  const char *s = cJSON_GetStringValue(v);
  return s ? trimmed(s) : NULL;
}

/* The value of one entry of a phones/emails list: a string, or {number|address|value}. */
static char *entry_text(const cJSON *e, enum outbound_medium m) {
  if (!cJSON_IsObject(e))
    return contact_text(e);
  const char *key = m == OUTBOUND_PHONE ? "number" : "address";
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);
  return contact_text(v ? v : cJSON_GetObjectItemCaseSensitive(e, "value"));
}

/* The entry of `type` (NULL: the first usable one) in a phones/emails object or array. */
static char *from_list(const cJSON *list, const char *type, enum outbound_medium m) {
  if (cJSON_IsObject(list) && type)
    return contact_text(cJSON_GetObjectItemCaseSensitive(list, type));
  const cJSON *e;
  cJSON_ArrayForEach(e, list) {
    if (type) {
      const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "type"));
      if (!t || strcmp(t, type))
        continue;
    }
    char *v = cJSON_IsObject(list) ? contact_text(e) : entry_text(e, m);
    if (v)
      return v;
  }
  return NULL;
}

/* The person a send goes to: the customer in scope, else the lead. */
static const cJSON *person(const cJSON *scope, const char **kind) {
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(scope, *kind = "customer");
  if (!cJSON_IsObject(p))
    p = cJSON_GetObjectItemCaseSensitive(scope, *kind = "lead");
  return cJSON_IsObject(p) ? p : NULL;
}

static char *from_person(struct step *s, const char *type, enum outbound_medium m) {
  const char *kind, *what = m == OUTBOUND_PHONE ? "phone" : "e-mail";
  const cJSON *p = person(step_scope(s), &kind);
  if (!p) {
    step_skip(s, "there is no customer in this run to send to");
    return NULL;
  }
  const char *one = m == OUTBOUND_PHONE ? "phone" : "email";
  const char *many = m == OUTBOUND_PHONE ? "phones" : "emails";
  char *v = type ? NULL : contact_text(cJSON_GetObjectItemCaseSensitive(p, one));
  if (!v)
    v = from_list(cJSON_GetObjectItemCaseSensitive(p, many), type, m);
  if (!v) {
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "id"));
    char why[300];
    snprintf(why, sizeof why, "%s %s has no %s%s%s", kind, id ? id : "(no id)",
             type ? type : "", type ? " " : "", what);
    step_skip(s, why);
  }
  return v;
}

char *outbound_to_resolve(struct step *s, const struct outbound_to *to,
                          enum outbound_medium m) {
  if (!to->tmpl)
    return from_person(s, to->type, m);
  char *v = node_render(s, to->tmpl, "to");
  if (!v)
    return NULL;
  char *t = trimmed(v);
  free(v);
  if (!t)
    step_skip(s, "to rendered empty: there is nobody to send to");
  return t;
}

size_t outbound_chars(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

/* ---- queueing ---- */

void outbound_send(struct step *s, struct outbox_item *it, cJSON *what) {
  int max = 0;
  int64_t backoff = 0;
  step_retry(s, &max, &backoff);
  it->run_id = step_run_id(s);
  it->node_id = step_node_id(s);
  it->idempotency_key = step_idempotency_key(s);
  it->max_attempts = max + 1;
  it->backoff_ms = backoff <= 0 ? 1 : backoff > INT_MAX ? INT_MAX : (int)backoff;
  it->test = step_is_test(s);
  int rc = outbox_add(step_batch(s), it);
  if (rc) {
    cJSON_Delete(what);
    step_fail(s, 0, "the %s cannot be queued: %s", it->channel, err_str(rc));
    return;
  }
  if (it->test) {
    /* A test run never waits for a delivery: the outbox only records it. */
    cJSON *out = cJSON_CreateObject();
    cJSON_AddTrueToObject(out, "recorded");
    cJSON_AddItemToObject(out, "would_send", what);
    step_done(s, "out", out);
    return;
  }
  step_wait(s, 0, what);
}

/* ---- outcomes ---- */

static cJSON *default_shape(const cJSON *what, const cJSON *d) {
  cJSON *out = cJSON_IsObject(what) ? cJSON_Duplicate(what, 1) : cJSON_CreateObject();
  cJSON_AddItemToObject(out, "delivery_id",
                        cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(d, "id"), 1));
  cJSON_AddStringToObject(out, "status", "sent");
  cJSON_AddItemToObject(out, "attempts",
                        cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(d, "attempts"), 1));
  const cJSON *resp = cJSON_GetObjectItemCaseSensitive(d, "response");
  cJSON_AddItemToObject(out, "response", resp ? cJSON_Duplicate(resp, 1) : cJSON_CreateNull());
  return out;
}

static int is(const char *a, const char *b) { return a && !strcmp(a, b); }

int outbound_resume(struct step *s, outbound_shape_fn shape) {
  if (!step_resumed(s))
    return 0;
  const cJSON *what = step_waited(s), *d = step_delivery(s);
  const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "status"));
  if (is(status, "sent")) {
    step_done(s, "out", (shape ? shape : default_shape)(what, d));
  } else if (is(status, "recorded")) {
    cJSON *out = cJSON_CreateObject();
    cJSON_AddTrueToObject(out, "recorded");
    cJSON_AddItemToObject(out, "would_send", cJSON_Duplicate(what, 1));
    step_done(s, "out", out);
  } else if (is(status, "failed")) {
    /* The outbox already retried it with this node's policy: not retryable here. */
    const char *err = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "error"));
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(d, "attempts");
    int attempts = cJSON_IsNumber(n) ? n->valueint : 0;
    step_fail(s, 0, "delivery %.0f failed after %d attempt%s: %s",
              cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(d, "id")), attempts,
              attempts == 1 ? "" : "s", err ? err : "no reason given");
  } else {
    /* Pending or sending (or not visible yet): the final status wakes the run again. */
    step_wait(s, 0, what ? cJSON_Duplicate(what, 1) : cJSON_CreateObject());
  }
  return 1;
}
