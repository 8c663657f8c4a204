/* action.robocall: calls the customer through a provider and reads `text` aloud (mode
 * "text", with `voice` {lang, speed, volume}) or plays the .mp3 at `audio_url` (mode
 * "audio"). The provider's templates see mode, from, voice and audio_url next to to and text.
 * audio_url may be a template: a constant one is checked at compile time, a rendered one
 * before anything is queued. A customer without such a phone makes the step skipped. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "graph/tmpl.h"
#include "nodes/node.h"
#include "nodes/outbound.h"
#include "nodes/render.h"
#include "nodes/step.h"
#include "server/outbox.h"

enum { T_FROM, T_TEXT, T_AUDIO, NT };
static const char *const tmpl_fields[] = {"from", "text", "audio_url", NULL};

struct state {
  int audio;            /* mode "audio": play audio_url */
  const char *provider; /* in the config; NULL: the first http provider */
  const cJSON *voice;   /* in the config; NULL: the defaults */
  struct outbound_to to;
  struct tmpl *t[NT];
};

/* Why url cannot be played (NULL: it can): an http(s) URL whose path ends in .mp3. */
static const char *audio_url_problem(const char *url) {
  if (strncasecmp(url, "https://", 8) && strncasecmp(url, "http://", 7))
    return "it must be an http or https URL";
  if (strpbrk(url, " \t\r\n"))
    return "it contains white space";
  size_t path = strcspn(url, "?#");
  if (path < 4 || strncasecmp(url + path - 4, ".mp3", 4))
    return "it must be an .mp3 file";
  return NULL;
}

static void check_modes(struct node_compile *ctx, struct state *st, const cJSON *config) {
  const cJSON *url = cJSON_GetObjectItemCaseSensitive(config, "audio_url");
  if (st->audio && !url)
    node_report(ctx, NODE_ERROR, "schema", "/audio_url", "mode audio needs audio_url");
  if (!st->audio && !cJSON_GetObjectItemCaseSensitive(config, "text"))
    node_report(ctx, NODE_ERROR, "schema", "/text", "mode text needs text");
  const char *why = st->t[T_AUDIO] && tmpl_is_constant(st->t[T_AUDIO])
                        ? audio_url_problem(url->valuestring) : NULL;
  if (why)
    node_report(ctx, NODE_ERROR, "schema", "/audio_url", "audio_url \"%s\": %s",
                url->valuestring, why);
}

static int compile(struct node_compile *ctx, const cJSON *config, void **out) {
  struct state *st = calloc(1, sizeof *st);
  if (!(*out = st))
    return ERR_NOMEM;
  const char *mode = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(config, "mode"));
  st->audio = mode && !strcmp(mode, "audio");
  const cJSON *provider = cJSON_GetObjectItemCaseSensitive(config, "provider");
  st->provider = cJSON_GetStringValue(provider);
  st->voice = cJSON_GetObjectItemCaseSensitive(config, "voice");
  node_check_ref(ctx, "provider", provider, "/provider");
  int rc = outbound_to_compile(ctx, cJSON_GetObjectItemCaseSensitive(config, "to"), "/to",
                               &st->to);
  if (!rc)
    rc = node_compile_fields(ctx, config, tmpl_fields, st->t);
  if (!rc)
    check_modes(ctx, st, config);
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

/* The voice with the schema's defaults filled in, so a provider template always has them. */
static cJSON *voice(const struct state *st) {
  const cJSON *v = st->voice;
  const cJSON *lang = cJSON_GetObjectItemCaseSensitive(v, "lang");
  const cJSON *speed = cJSON_GetObjectItemCaseSensitive(v, "speed");
  const cJSON *volume = cJSON_GetObjectItemCaseSensitive(v, "volume");
  cJSON *out = cJSON_CreateObject();
  cJSON_AddStringToObject(out, "lang", cJSON_IsString(lang) ? lang->valuestring : "vi-VN");
  cJSON_AddNumberToObject(out, "speed", cJSON_IsNumber(speed) ? speed->valuedouble : 1);
  cJSON_AddNumberToObject(out, "volume", cJSON_IsNumber(volume) ? volume->valuedouble : 1);
  return out;
}

/* Renders what the mode needs into request (and *text); returns 0, or -1 after failing the
 * step. */
static int render_call(struct step *s, const struct state *st, cJSON *request, char **text) {
  *text = NULL;
  if (st->audio) {
    char *url = node_render(s, st->t[T_AUDIO], "audio_url");
    if (!url)
      return -1;
    const char *why = audio_url_problem(url);
    if (why)
      step_fail(s, 0, "audio_url \"%.300s\" cannot be played: %s", url, why);
    cJSON_AddStringToObject(request, "mode", "audio");
    cJSON_AddStringToObject(request, "audio_url", url);
    free(url);
    return why ? -1 : 0;
  }
  char *t = node_render(s, st->t[T_TEXT], "text");
  if (!t)
    return -1;
  if (!t[strspn(t, " \t\r\n")]) {
    step_fail(s, 0, "text rendered empty: there is nothing to read");
    free(t);
    return -1;
  }
  cJSON_AddStringToObject(request, "mode", "text");
  cJSON_AddItemToObject(request, "voice", voice(st));
  *text = t;
  return 0;
}

/* First execution: find the number, render the call, queue it and wait for its delivery;
 * resumed: the delivery's final status decides (outbound_resume). */
static void execute(struct step *s) {
  const struct state *st = step_state(s);
  if (outbound_resume(s, NULL))
    return;
  char *to = outbound_to_resolve(s, &st->to, OUTBOUND_PHONE), *text = NULL, *from = NULL;
  if (!to)
    return;
  cJSON *request = cJSON_CreateObject();
  if (render_call(s, st, request, &text) != 0 ||
      (st->t[T_FROM] && !(from = node_render(s, st->t[T_FROM], "from")))) {
    cJSON_Delete(request);
    free(to);
    free(text);
    return;
  }
  if (from)
    cJSON_AddStringToObject(request, "from", from);
  cJSON *what = cJSON_Duplicate(request, 1);
  cJSON_AddStringToObject(what, "channel", "robocall");
  if (st->provider)
    cJSON_AddStringToObject(what, "provider", st->provider);
  cJSON_AddStringToObject(what, "to", to);
  if (text)
    cJSON_AddStringToObject(what, "text", text);
  struct outbox_item it = {.channel = "robocall", .provider = st->provider, .to = to,
                           .body = text, .request = request};
  outbound_send(s, &it, what);
  cJSON_Delete(request);
  free(to);
  free(text);
  free(from);
}

const struct node_type node_type_action_robocall = {
    .name = "action.robocall",
    .group = NODE_ACTION,
    .title = "Robocall",
    .description = "Calls the customer and reads a text or plays an audio file.",
    .ports = ports,
    .schema = "schema/nodes/action.robocall.json",
    .ops = {.compile = compile, .free_state = free_state, .execute = execute},
};
