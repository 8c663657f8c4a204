/* ws_msg: rendering and reference counting of hub messages (see ws_msg.h). Topic and type
 * are written by hand, first, so that clients (and bench/ws_watch) can read them without
 * parsing the rest; the rest is the body as cJSON prints it. */
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include "server/ws_msg.h"

struct ws_msg *ws_msg_new(enum ws_msg_kind kind, size_t len, const char *topic) {
  size_t tl = strlen(topic);
  struct ws_msg *m = malloc(sizeof *m + LWS_PRE + len + 1 + tl + 1);
  if (!m)
    return NULL;
  memset(m, 0, sizeof *m);
  m->refs = 1;
  m->kind = kind;
  m->len = len;
  m->buf[LWS_PRE + len] = '\0';
  char *t = (char *)m->buf + LWS_PRE + len + 1;
  memcpy(t, topic, tl + 1);
  m->topic = t;
  return m;
}

char *ws_msg_text(struct ws_msg *m) { return (char *)m->buf + LWS_PRE; }

void ws_msg_unref(struct ws_msg *m) {
  if (m && --m->refs == 0)
    free(m);
}

size_t ws_msg_weight(const struct ws_msg *m) {
  return m->kind == WS_MSG_LAGGED ? 64 + strlen(m->topic) : m->len;
}

enum ws_msg_kind ws_msg_kind_of(const char *type) {
  return strcmp(type, "node.started") == 0 || strcmp(type, "node.finished") == 0
             ? WS_MSG_PROGRESS : WS_MSG_KEEP;
}

/* Writes s as a JSON string with its quotes into out (NULL: only measures); returns its
 * length. Topics and types are short, so doing this by hand saves cJSON round trips. */
static size_t json_str(char *out, const char *s) {
  static const char hex[] = "0123456789abcdef";
  size_t n = 0;
#define PUT(ch) do { if (out) out[n] = (ch); n++; } while (0)
  PUT('"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      PUT('\\');
      PUT(*p);
    } else if (*p < 0x20) {
      PUT('\\'); PUT('u'); PUT('0'); PUT('0'); PUT(hex[*p >> 4]); PUT(hex[*p & 15]);
    } else {
      PUT(*p);
    }
  }
  PUT('"');
#undef PUT
  return n;
}

struct ws_msg *ws_msg_render(const char *topic, const char *type, cJSON *body) {
  char *rest = NULL;
  if (body) {
    cJSON_DeleteItemFromObjectCaseSensitive(body, "topic");
    cJSON_DeleteItemFromObjectCaseSensitive(body, "type");
    rest = cJSON_PrintUnformatted(body);
  }
  int has_rest = rest && strcmp(rest, "{}") != 0;
  size_t tl = json_str(NULL, topic), yl = json_str(NULL, type);
  size_t rl = has_rest ? strlen(rest) : 1; /* ",..." replaces its "{", or just "}" */
  size_t len = 9 + tl + 8 + yl + rl;
  struct ws_msg *m = ws_msg_new(ws_msg_kind_of(type), len, topic);
  if (m) {
    char *p = ws_msg_text(m);
    memcpy(p, "{\"topic\":", 9);
    p += 9;
    p += json_str(p, topic);
    memcpy(p, ",\"type\":", 8);
    p += 8;
    p += json_str(p, type);
    if (has_rest) {
      *p++ = ',';
      memcpy(p, rest + 1, rl - 1);
    } else {
      *p = '}';
    }
  }
  free(rest);
  return m;
}

struct ws_msg *ws_msg_from_text(char *text, const char *topic, enum ws_msg_kind kind) {
  struct ws_msg *m = text ? ws_msg_new(kind, strlen(text), topic) : NULL;
  if (m)
    memcpy(ws_msg_text(m), text, m->len);
  free(text);
  return m;
}

struct ws_msg *ws_msg_refetch_hint(const char *topic) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "dropped", 1);
  struct ws_msg *m = ws_msg_render(topic, "lagged", o);
  cJSON_Delete(o);
  if (m)
    m->kind = WS_MSG_KEEP;
  return m;
}
