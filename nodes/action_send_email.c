/* action.send_email: sends an e-mail through an smtp provider (by default the first one)
 * from a mailbox ("auto": the provider's `from`) to the customer ("auto"), an address type,
 * or a templated address (see outbound.h for how `to` is found). A customer without such an
 * address makes the step skipped. */
#include <stdlib.h>
#include <string.h>
#include "graph/tmpl.h"
#include "nodes/node.h"
#include "nodes/outbound.h"
#include "nodes/render.h"
#include "nodes/step.h"
#include "server/outbox.h"

enum { T_FROM, T_SUBJECT, T_BODY, NT };
static const char *const tmpl_fields[] = {"from", "subject", "body", NULL};

struct state {
  const char *provider; /* in the config; NULL: the first smtp provider */
  struct outbound_to to;
  struct tmpl *t[NT];   /* t[T_FROM] NULL: "auto" */
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
  if (!rc)
    rc = node_compile_fields(ctx, config, tmpl_fields, st->t);
  const char *from = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(config, "from"));
  if (from && !strcmp(from, "auto")) {
    tmpl_free(st->t[T_FROM]);
    st->t[T_FROM] = NULL;
  }
  return rc;
}

static void free_state(void *p) {
  struct state *st = p;
  if (!st)
    return;
  outbound_to_free(&st->to);
  node_free_tmpls(st->t, NT);
  free(st);
}

static const char *const ports[] = {"out", "error", NULL};

/* Renders from/subject/body into r[]; returns 0, or -1 after failing the step. */
static int render_all(struct step *s, const struct state *st, char *r[NT]) {
  static const char *const names[NT] = {"from", "subject", "body"};
  for (int i = 0; i < NT; i++) {
    r[i] = NULL;
    if (i == T_FROM && !st->t[T_FROM])
      continue;
    if (!(r[i] = node_render(s, st->t[i], names[i]))) {
      for (int k = 0; k < i; k++)
        free(r[k]);
      return -1;
    }
  }
  return 0;
}

/* First execution: find the address, render, queue the e-mail and wait for its delivery;
 * resumed: the delivery's final status decides (outbound_resume). */
static void execute(struct step *s) {
  const struct state *st = step_state(s);
  if (outbound_resume(s, NULL))
    return;
  char *to = outbound_to_resolve(s, &st->to, OUTBOUND_EMAIL);
  if (!to)
    return;
  char *r[NT];
  if (render_all(s, st, r) != 0) {
    free(to);
    return;
  }
  cJSON *what = cJSON_CreateObject(), *request = NULL;
  cJSON_AddStringToObject(what, "channel", "email");
  if (st->provider)
    cJSON_AddStringToObject(what, "provider", st->provider);
  if (r[T_FROM]) {
    cJSON_AddStringToObject(what, "from", r[T_FROM]);
    request = cJSON_CreateObject();
    cJSON_AddStringToObject(request, "from", r[T_FROM]);
  }
  cJSON_AddStringToObject(what, "to", to);
  cJSON_AddStringToObject(what, "subject", r[T_SUBJECT]);
  cJSON_AddStringToObject(what, "body", r[T_BODY]);
  struct outbox_item it = {.channel = "email", .provider = st->provider, .to = to,
                           .subject = r[T_SUBJECT], .body = r[T_BODY], .request = request};
  outbound_send(s, &it, what);
  cJSON_Delete(request);
  free(to);
  for (int i = 0; i < NT; i++)
    free(r[i]);
}

const struct node_type node_type_action_send_email = {
    .name = "action.send_email",
    .group = NODE_ACTION,
    .title = "Send e-mail",
    .description = "Sends an e-mail to the customer.",
    .ports = ports,
    .schema = "schema/nodes/action.send_email.json",
    .ops = {.compile = compile, .free_state = free_state, .execute = execute},
};
