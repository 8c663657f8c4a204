/* action.robocall: calls the customer through a provider and reads `text` aloud (mode
 * "text", with `voice`) or plays the .mp3 at `audio_url` (mode "audio"). */
#include <stdlib.h>
#include <string.h>
#include "graph/tmpl.h"
#include "nodes/node.h"

enum { T_FROM, T_TO, T_TEXT, NT };
static const char *const tmpl_fields[] = {"from", "to", "text", NULL};

struct state {
  int audio;          /* mode "audio": play audio_url (in the config) */
  struct tmpl *t[NT]; /* to NULL: "auto" */
};

static int compile(struct node_compile *ctx, const cJSON *config, void **out) {
  struct state *st = calloc(1, sizeof *st);
  if (!(*out = st))
    return ERR_NOMEM;
  const char *mode = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(config, "mode"));
  st->audio = mode && !strcmp(mode, "audio");
  if (st->audio && !cJSON_GetObjectItemCaseSensitive(config, "audio_url"))
    node_report(ctx, NODE_ERROR, "schema", "/audio_url", "mode audio needs audio_url");
  if (!st->audio && !cJSON_GetObjectItemCaseSensitive(config, "text"))
    node_report(ctx, NODE_ERROR, "schema", "/text", "mode text needs text");
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

const struct node_type node_type_action_robocall = {
    .name = "action.robocall",
    .group = NODE_ACTION,
    .title = "Robocall",
    .description = "Calls the customer and reads a text or plays an audio file.",
    .ports = ports,
    .schema = "schema/nodes/action.robocall.json",
    .ops = {.compile = compile, .free_state = free_state},
};
