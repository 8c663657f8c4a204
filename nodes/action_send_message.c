/* action.send_message: sends a chat message to the customer on `channel` ("last": the
 * conversation the customer last wrote in, or a page id); `whisper` makes it an internal note
 * that staff see and the customer does not. */
#include <stdlib.h>
#include "graph/tmpl.h"
#include "nodes/node.h"

enum { T_CHANNEL, T_TEXT, NT };
static const char *const tmpl_fields[] = {"channel", "text", NULL};

struct state {
  int whisper;
  struct tmpl *t[NT]; /* channel NULL: "last" */
};

static int compile(struct node_compile *ctx, const cJSON *config, void **out) {
  struct state *st = calloc(1, sizeof *st);
  if (!(*out = st))
    return ERR_NOMEM;
  st->whisper = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(config, "whisper"));
  return node_compile_fields(ctx, config, tmpl_fields, st->t);
}

static void free_state(void *p) {
  struct state *st = p;
  if (st)
    node_free_tmpls(st->t, NT);
  free(st);
}

static const char *const ports[] = {"out", "error", NULL};

const struct node_type node_type_action_send_message = {
    .name = "action.send_message",
    .group = NODE_ACTION,
    .title = "Send message",
    .description = "Sends a chat message to the customer's conversation.",
    .ports = ports,
    .schema = "schema/nodes/action.send_message.json",
    .ops = {.compile = compile, .free_state = free_state},
};
