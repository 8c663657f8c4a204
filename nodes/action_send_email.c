/* action.send_email: sends an e-mail through an smtp provider (by default the first one)
 * from a mailbox ("auto": the provider's) to the customer ("auto"), an address type, or a
 * templated address. A customer without such an address makes the step skipped. */
#include <stdlib.h>
#include "graph/tmpl.h"
#include "nodes/node.h"

enum { T_FROM, T_TO, T_SUBJECT, T_BODY, NT };
static const char *const tmpl_fields[] = {"from", "to", "subject", "body", NULL};

struct state {
  struct tmpl *t[NT]; /* from/to NULL: "auto" */
};

static int compile(struct node_compile *ctx, const cJSON *config, void **out) {
  struct state *st = calloc(1, sizeof *st);
  if (!(*out = st))
    return ERR_NOMEM;
  node_check_ref(ctx, "provider", cJSON_GetObjectItemCaseSensitive(config, "provider"),
                 "/provider");
  return node_compile_fields(ctx, config, tmpl_fields, st->t);
}

static void free_state(void *p) {
  struct state *st = p;
  if (st)
    node_free_tmpls(st->t, NT);
  free(st);
}

static const char *const ports[] = {"out", "error", NULL};

const struct node_type node_type_action_send_email = {
    .name = "action.send_email",
    .group = NODE_ACTION,
    .title = "Send e-mail",
    .description = "Sends an e-mail to the customer.",
    .ports = ports,
    .schema = "schema/nodes/action.send_email.json",
    .ops = {.compile = compile, .free_state = free_state},
};
