/* action.send_sms: sends an SMS through a provider to the customer's phone ("auto"), a phone
 * type, or a templated number (see outbound.h for how `to` is found). A rendered text over
 * 200 characters (code points: Vietnamese letters are several bytes each) fails the step; a
 * constant one is caught at compile time already. A customer without such a phone makes the
 * step skipped. */
#include <stdlib.h>
#include <string.h>
#include "graph/tmpl.h"
#include "nodes/node.h"
#include "nodes/outbound.h"
#include "nodes/render.h"
#include "nodes/step.h"
#include "server/outbox.h"

#define SMS_MAX_CHARS 200

struct state {
  const char *provider; /* in the config; NULL: the first http provider */
  struct outbound_to to;
  struct tmpl *text;
};

static int compile(struct node_compile *ctx, const cJSON *config, void **out) {
  struct state *st = calloc(1, sizeof *st);
  if (!(*out = st))
    return ERR_NOMEM;
  const cJSON *provider = cJSON_GetObjectItemCaseSensitive(config, "provider");
  st->provider = cJSON_GetStringValue(provider);
  node_check_ref(ctx, "provider", provider, "/provider");
  int rc = outbound_to_compile(ctx, cJSON_GetObjectItemCaseSensitive(config, "to"), "/to",
                               &st->to);
  const cJSON *text = cJSON_GetObjectItemCaseSensitive(config, "text");
  if (!rc)
    rc = node_compile_tmpl(ctx, text, "/text", &st->text);
  size_t n = cJSON_IsString(text) ? outbound_chars(text->valuestring) : 0;
  if (!rc && st->text && tmpl_is_constant(st->text) && n > SMS_MAX_CHARS)
    node_report(ctx, NODE_ERROR, "schema", "/text",
                "text has %zu characters; an SMS holds at most %d", n, SMS_MAX_CHARS);
  return rc;
}

static void free_state(void *p) {
  struct state *st = p;
  if (!st)
    return;
  outbound_to_free(&st->to);
  tmpl_free(st->text);
  free(st);
}

static const char *const ports[] = {"out", "error", NULL};

/* First execution: find the number, render and check the text, queue the SMS and wait for
 * its delivery; resumed: the delivery's final status decides (outbound_resume). */
static void execute(struct step *s) {
  const struct state *st = step_state(s);
  if (outbound_resume(s, NULL))
    return;
  char *to = outbound_to_resolve(s, &st->to, OUTBOUND_PHONE);
  if (!to)
    return;
  char *text = node_render(s, st->text, "text");
  if (!text) {
    free(to);
    return;
  }
  size_t n = outbound_chars(text);
  if (n == 0 || n > SMS_MAX_CHARS) {
    if (n == 0)
      step_fail(s, 0, "text rendered empty: there is nothing to send");
    else
      step_fail(s, 0, "text has %zu characters once rendered; an SMS holds at most %d", n,
                SMS_MAX_CHARS);
    free(to);
    free(text);
    return;
  }
  cJSON *what = cJSON_CreateObject();
  cJSON_AddStringToObject(what, "channel", "sms");
  if (st->provider)
    cJSON_AddStringToObject(what, "provider", st->provider);
  cJSON_AddStringToObject(what, "to", to);
  cJSON_AddStringToObject(what, "text", text);
  cJSON_AddNumberToObject(what, "chars", (double)n);
  struct outbox_item it = {.channel = "sms", .provider = st->provider, .to = to, .body = text};
  outbound_send(s, &it, what);
  free(to);
  free(text);
}

const struct node_type node_type_action_send_sms = {
    .name = "action.send_sms",
    .group = NODE_ACTION,
    .title = "Send SMS",
    .description = "Sends an SMS to the customer (at most 200 characters once rendered).",
    .ports = ports,
    .schema = "schema/nodes/action.send_sms.json",
    .ops = {.compile = compile, .free_state = free_state, .execute = execute},
};
