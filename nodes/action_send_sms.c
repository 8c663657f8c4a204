/* action.send_sms: sends an SMS through a provider to the customer's phone ("auto"), a phone
 * type, or a templated number. A rendered text over 200 characters fails the step; a constant
 * one is caught here already. A customer without such a phone makes the step skipped. */
#include <stdlib.h>
#include <string.h>
#include "graph/tmpl.h"
#include "nodes/node.h"

#define SMS_MAX_CHARS 200

enum { T_TO, T_TEXT, NT };
static const char *const tmpl_fields[] = {"to", "text", NULL};

struct state {
  struct tmpl *t[NT]; /* t[T_TO] NULL: "auto" */
};

static size_t utf8_chars(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

static int compile(struct node_compile *ctx, const cJSON *config, void **out) {
  struct state *st = calloc(1, sizeof *st);
  if (!(*out = st))
    return ERR_NOMEM;
  node_check_ref(ctx, "provider", cJSON_GetObjectItemCaseSensitive(config, "provider"),
                 "/provider");
  int rc = node_compile_fields(ctx, config, tmpl_fields, st->t);
  const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(config, "text"));
  size_t n = text ? utf8_chars(text) : 0;
  if (!rc && st->t[T_TEXT] && tmpl_is_constant(st->t[T_TEXT]) && n > SMS_MAX_CHARS)
    node_report(ctx, NODE_ERROR, "schema", "/text",
                "text has %zu characters; an SMS holds at most %d", n, SMS_MAX_CHARS);
  return rc;
}

static void free_state(void *p) {
  struct state *st = p;
  if (st)
    node_free_tmpls(st->t, NT);
  free(st);
}

static const char *const ports[] = {"out", "error", NULL};

const struct node_type node_type_action_send_sms = {
    .name = "action.send_sms",
    .group = NODE_ACTION,
    .title = "Send SMS",
    .description = "Sends an SMS to the customer (at most 200 characters once rendered).",
    .ports = ports,
    .schema = "schema/nodes/action.send_sms.json",
    .ops = {.compile = compile, .free_state = free_state},
};
