/* action.send_message: sends a chat message to the customer on `channel`: "last" (the page
 * of the conversation in play: conversation.page_id, else the page of the event that started
 * the run, event.data.page_id) or a page id (a template). The message goes to the customer
 * of the conversation (conversation.customer_id, else customer.id) through an http chat
 * gateway (`provider`, by default the first http provider), whose templates see page_id,
 * conversation_id, whisper and hidden_from_customer. `whisper` makes it an internal note
 * that staff see and the customer does not: the gateway is told so twice, as whisper and as
 * hidden_from_customer, so a gateway that knows only one of the words still hides it.
 * Nothing to answer in, or nobody to write to, makes the step skipped. */
#include <stdlib.h>
#include <string.h>
#include "graph/tmpl.h"
#include "nodes/node.h"
#include "nodes/outbound.h"
#include "nodes/render.h"
#include "nodes/step.h"
#include "server/outbox.h"

struct state {
  int whisper;
  const char *provider;  /* in the config; NULL: the first http provider */
  struct tmpl *channel;  /* NULL: "last" */
  struct tmpl *text;
};

static int compile(struct node_compile *ctx, const cJSON *config, void **out) {
  struct state *st = calloc(1, sizeof *st);
  if (!(*out = st))
    return ERR_NOMEM;
  st->whisper = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(config, "whisper"));
  const cJSON *provider = cJSON_GetObjectItemCaseSensitive(config, "provider");
  st->provider = cJSON_GetStringValue(provider);
  node_check_ref(ctx, "provider", provider, "/provider");
  const cJSON *channel = cJSON_GetObjectItemCaseSensitive(config, "channel");
  int rc = 0;
  if (cJSON_IsString(channel) && strcmp(channel->valuestring, "last"))
    rc = node_compile_tmpl(ctx, channel, "/channel", &st->channel);
  if (!rc)
    rc = node_compile_tmpl(ctx, cJSON_GetObjectItemCaseSensitive(config, "text"), "/text",
                           &st->text);
  return rc;
}

static void free_state(void *p) {
  struct state *st = p;
  if (!st)
    return;
  tmpl_free(st->channel);
  tmpl_free(st->text);
  free(st);
}

static const char *const ports[] = {"out", "error", NULL};

static const char *str_at(const cJSON *o, const char *a, const char *b) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
  if (b)
    v = cJSON_GetObjectItemCaseSensitive(v, b);
  const char *s = cJSON_GetStringValue(v);
  return s && *s ? s : NULL;
}

/* The page to write on: a new string, or NULL after reporting a skip or failure. */
static char *page_of(struct step *s, const struct state *st) {
  const cJSON *scope = step_scope(s);
  if (!st->channel) {
    const char *page = str_at(scope, "conversation", "page_id");
    if (!page)
      page = str_at(cJSON_GetObjectItemCaseSensitive(scope, "event"), "data", "page_id");
    if (!page)
      step_skip(s, "channel last: the customer has no conversation in this run to answer in");
    return page ? strdup(page) : NULL;
  }
  char *page = node_render(s, st->channel, "channel");
  if (page && !page[strspn(page, " \t\r\n")]) {
    step_skip(s, "channel rendered empty: there is no page to write on");
    free(page);
    return NULL;
  }
  return page;
}

/* What the gateway needs besides the text. The conversation in play goes with it when the
 * message is written on its page (a message to another page starts a thread of its own). */
static cJSON *request_for(const cJSON *scope, const char *page, int whisper) {
  cJSON *r = cJSON_CreateObject();
  cJSON_AddStringToObject(r, "page_id", page);
  const char *conv = str_at(scope, "conversation", "id");
  const char *conv_page = str_at(scope, "conversation", "page_id");
  if (conv && conv_page && !strcmp(conv_page, page))
    cJSON_AddStringToObject(r, "conversation_id", conv);
  cJSON_AddBoolToObject(r, "whisper", whisper);
  cJSON_AddBoolToObject(r, "hidden_from_customer", whisper);
  return r;
}

/* First execution: find the page and the customer, render, queue the message and wait for
 * its delivery; resumed: the delivery's final status decides (outbound_resume). */
static void execute(struct step *s) {
  const struct state *st = step_state(s);
  if (outbound_resume(s, NULL))
    return;
  const cJSON *scope = step_scope(s);
  const char *to = str_at(scope, "conversation", "customer_id");
  if (!to)
    to = str_at(scope, "customer", "id");
  if (!to) {
    step_skip(s, "there is no customer in this run to write to");
    return;
  }
  char *page = page_of(s, st), *text = NULL;
  if (!page || !(text = node_render(s, st->text, "text"))) {
    free(page);
    return;
  }
  if (!text[strspn(text, " \t\r\n")]) {
    step_fail(s, 0, "text rendered empty: there is nothing to send");
    free(page);
    free(text);
    return;
  }
  cJSON *request = request_for(scope, page, st->whisper);
  cJSON *what = cJSON_Duplicate(request, 1);
  cJSON_AddStringToObject(what, "channel", "chat");
  if (st->provider)
    cJSON_AddStringToObject(what, "provider", st->provider);
  cJSON_AddStringToObject(what, "to", to);
  cJSON_AddStringToObject(what, "text", text);
  struct outbox_item it = {.channel = "chat", .provider = st->provider, .to = to,
                           .body = text, .request = request};
  outbound_send(s, &it, what);
  cJSON_Delete(request);
  free(page);
  free(text);
}

const struct node_type node_type_action_send_message = {
    .name = "action.send_message",
    .group = NODE_ACTION,
    .title = "Send message",
    .description = "Sends a chat message to the customer's conversation.",
    .ports = ports,
    .schema = "schema/nodes/action.send_message.json",
    .ops = {.compile = compile, .free_state = free_state, .execute = execute},
};
