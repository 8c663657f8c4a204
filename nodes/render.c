/* render: template and condition evaluation for execute ops. */
#include <stdlib.h>
#include <string.h>
#include "graph/cond.h"
#include "graph/tmpl.h"
#include "nodes/render.h"
#include "nodes/step.h"

char *node_render(struct step *s, const struct tmpl *t, const char *what) {
  if (!t)
    return strdup("");
  char *out = NULL;
  struct err_detail d = {{0}, {0}};
  if (tmpl_render(t, step_scope(s), NULL, &out, &d) != 0) {
    step_fail(s, 0, "%s: %s", what, d.msg[0] ? d.msg : "the template does not render");
    free(out);
    return NULL;
  }
  return out;
}

cJSON *node_render_values(struct step *s, const struct node_value *v, size_t n) {
  cJSON *out = cJSON_CreateObject();
  for (size_t i = 0; i < n; i++) {
    cJSON *val;
    if (v[i].tmpl) {
      char *text = node_render(s, v[i].tmpl, v[i].name);
      if (!text) {
        cJSON_Delete(out);
        return NULL;
      }
      val = cJSON_CreateString(text);
      free(text);
    } else {
      val = cJSON_Duplicate(v[i].value, 1);
    }
    cJSON_AddItemToObject(out, v[i].name, val);
  }
  return out;
}

int node_test(struct step *s, const struct cond *c, const cJSON *incoming, const char *what) {
  if (!c)
    return 1;
  const cJSON *data = step_scope(s);
  cJSON *with = NULL;
  if (incoming) {
    /* The scope plus "incoming", without copying the scope. */
    with = cJSON_CreateObject();
    const cJSON *it;
    cJSON_ArrayForEach(it, data) cJSON_AddItemReferenceToObject(with, it->string, (cJSON *)it);
    cJSON_AddItemReferenceToObject(with, "incoming", (cJSON *)incoming);
    data = with;
  }
  struct err_detail d = {{0}, {0}};
  int rc = cond_test(c, data, &d);
  cJSON_Delete(with);
  if (rc < 0) {
    step_fail(s, 0, "%s: %s", what, d.msg[0] ? d.msg : "the condition cannot be evaluated");
    return -1;
  }
  return rc;
}

cJSON *node_event_copy(struct step *s) {
  const cJSON *ev = cJSON_GetObjectItem(step_scope(s), "event");
  return ev ? cJSON_Duplicate(ev, 1) : cJSON_CreateObject();
}

void node_trigger_fire(struct step *s, const struct cond *when) {
  int ok = node_test(s, when, NULL, "when");
  if (ok < 0)
    return;
  if (!ok)
    step_skip(s, "the trigger's condition does not match this event");
  else
    step_done(s, "out", node_event_copy(s));
}
