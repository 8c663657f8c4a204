/* registry: the table of node types, their schemas (compiled once from the embedded files)
 * and the catalog for the editor. Adding a type takes its extern declaration and one entry
 * in `types` below; node_registry_check and the tests catch what is missing. */
#include <pthread.h>
#include <string.h>
#include "graph/jsonschema.h"
#include "nodes/registry.h"
#include "server/embedded.h"

extern const struct node_type node_type_trigger_record, node_type_trigger_event,
    node_type_trigger_schedule, node_type_trigger_manual, node_type_branch_if,
    node_type_branch_switch, node_type_delay, node_type_wait_event, node_type_set,
    node_type_stop, node_type_action_update_record, node_type_action_assign,
    node_type_action_create_task, node_type_action_send_sms, node_type_action_send_email,
    node_type_action_robocall, node_type_action_send_message, node_type_action_http,
    node_type_action_notify;

/* Palette order: triggers, conditions, control, actions. */
static const struct node_type *const types[] = {
    &node_type_trigger_record,      &node_type_trigger_event,
    &node_type_trigger_schedule,    &node_type_trigger_manual,
    &node_type_branch_if,           &node_type_branch_switch,
    &node_type_delay,               &node_type_wait_event,
    &node_type_set,                 &node_type_stop,
    &node_type_action_update_record, &node_type_action_assign,
    &node_type_action_create_task,  &node_type_action_send_sms,
    &node_type_action_send_email,   &node_type_action_robocall,
    &node_type_action_send_message, &node_type_action_http,
    &node_type_action_notify,
};
#define NTYPES (sizeof types / sizeof types[0])

static struct jsonschema *schemas[NTYPES];
static int load_rc;
static struct err_detail load_err;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load_schemas(void) {
  for (size_t i = 0; i < NTYPES; i++) {
    const struct embedded_file *f = embedded_find(types[i]->schema);
    struct err_detail d = {"", ""};
    int rc = f ? jsonschema_parse(f->data, &schemas[i], &d) : ERR_NOTFOUND;
    if (rc && !load_rc) {
      load_rc = err_set(&load_err, rc, types[i]->name, "schema %s: %s%s%s", types[i]->schema,
                        f ? d.msg : "is not among the embedded files",
                        d.path[0] ? " at " : "", d.path);
    }
  }
}

size_t node_type_count(void) { return NTYPES; }

const struct node_type *node_type_at(size_t i) { return i < NTYPES ? types[i] : NULL; }

/* A linear scan: 19 short names cost less than hashing would save. */
const struct node_type *node_type_find(const char *name) {
  for (size_t i = 0; name && i < NTYPES; i++)
    if (types[i]->name[0] == name[0] && strcmp(types[i]->name, name) == 0)
      return types[i];
  return NULL;
}

const struct jsonschema *node_type_schema(const struct node_type *t) {
  pthread_once(&load_once, load_schemas);
  for (size_t i = 0; i < NTYPES; i++)
    if (types[i] == t)
      return schemas[i];
  return NULL;
}

size_t node_type_ports(const struct node_type *t, const cJSON *config, const char **names,
                       size_t cap) {
  if (t->ops.ports)
    return t->ops.ports(config, names, cap);
  size_t n = 0;
  for (; t->ports[n]; n++)
    if (n < cap)
      names[n] = t->ports[n];
  return n;
}

static int has_port(const struct node_type *t, const char *port) {
  for (size_t i = 0; t->ports && t->ports[i]; i++)
    if (strcmp(t->ports[i], port) == 0)
      return 1;
  return 0;
}

/* The fields and ops every type must have. */
static int check_type(const struct node_type *t, struct err_detail *d) {
  const char *n = t->name ? t->name : "(unnamed)";
  if (!t->name || !t->name[0] || !t->title || !t->description || !t->schema || !t->ports)
    return err_set(d, ERR_INVAL, n, "name, title, description, schema and ports are required");
  if (!t->ops.compile || !t->ops.free_state)
    return err_set(d, ERR_INVAL, n, "ops compile and free_state are required");
  if (!t->dynamic_ports != !t->ops.ports)
    return err_set(d, ERR_INVAL, n, "dynamic_ports and ops.ports go together");
  for (size_t i = 0; t->ports[i]; i++)
    for (size_t j = 0; j < i; j++)
      if (!strcmp(t->ports[i], t->ports[j]))
        return err_set(d, ERR_INVAL, n, "port \"%s\" is listed twice", t->ports[i]);
  if (t->group == NODE_ACTION && !has_port(t, "error"))
    return err_set(d, ERR_INVAL, n, "every action needs an error port");
  return 0;
}

/* What the registry promises about each schema: it is embedded, compiles, describes an
 * object, carries the type's title, and (for actions) accepts retry. */
static int check_schema(const struct node_type *t, struct err_detail *d) {
  const struct embedded_file *f = embedded_find(t->schema);
  if (!f)
    return err_set(d, ERR_NOTFOUND, t->name, "schema %s is not among the embedded files",
                   t->schema);
  struct jsonschema *compiled = NULL;
  struct err_detail why = {"", ""};
  int rc = jsonschema_parse(f->data, &compiled, &why);
  jsonschema_free(compiled);
  if (rc)
    return err_set(d, rc, t->name, "schema %s: %s at %s", t->schema, why.msg, why.path);
  cJSON *doc = cJSON_Parse(f->data);
  const cJSON *props = cJSON_GetObjectItemCaseSensitive(doc, "properties");
  const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "type"));
  const char *title = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "title"));
  if (!type || strcmp(type, "object") || !cJSON_IsObject(props))
    rc = err_set(d, ERR_INVAL, t->name, "schema %s must describe an object", t->schema);
  else if (!title || strcmp(title, t->title))
    rc = err_set(d, ERR_INVAL, t->name, "schema title \"%s\" differs from the type's \"%s\"",
                 title ? title : "", t->title);
  else if (t->group == NODE_ACTION && !cJSON_GetObjectItemCaseSensitive(props, "retry"))
    rc = err_set(d, ERR_INVAL, t->name, "an action's schema must accept retry");
  cJSON_Delete(doc);
  return rc;
}

int node_registry_check_types(const struct node_type *const *table, size_t n,
                              struct err_detail *detail) {
  for (size_t i = 0; i < n; i++) {
    int rc = check_type(table[i], detail);
    if (rc)
      return rc;
    for (size_t j = 0; j < i; j++)
      if (!strcmp(table[i]->name, table[j]->name))
        return err_set(detail, ERR_EXISTS, table[i]->name, "two node types share this name");
    if ((rc = check_schema(table[i], detail)))
      return rc;
  }
  return 0;
}

int node_registry_check(struct err_detail *detail) {
  int rc = node_registry_check_types(types, NTYPES, detail);
  if (rc)
    return rc;
  pthread_once(&load_once, load_schemas); /* compile the cache now rather than on first use */
  if (load_rc && detail)
    *detail = load_err;
  return load_rc;
}

static cJSON *catalog_entry(const struct node_type *t) {
  const struct embedded_file *f = embedded_find(t->schema);
  cJSON *e = cJSON_CreateObject(), *ports = cJSON_CreateArray();
  cJSON *schema = f ? cJSON_Parse(f->data) : NULL;
  if (!e || !ports || !schema)
    goto fail;
  for (size_t i = 0; t->ports[i]; i++)
    if (!cJSON_AddItemToArray(ports, cJSON_CreateString(t->ports[i])))
      goto fail;
  if (!cJSON_AddStringToObject(e, "name", t->name) ||
      !cJSON_AddStringToObject(e, "group", node_group_name(t->group)) ||
      !cJSON_AddStringToObject(e, "title", t->title) ||
      !cJSON_AddStringToObject(e, "description", t->description))
    goto fail;
  cJSON_AddItemToObject(e, "ports", ports);
  ports = NULL;
  if (t->dynamic_ports && !cJSON_AddStringToObject(e, "dynamic_ports", t->dynamic_ports))
    goto fail;
  cJSON_AddItemToObject(e, "schema", schema);
  return e;
fail:
  cJSON_Delete(e);
  cJSON_Delete(ports);
  cJSON_Delete(schema);
  return NULL;
}

cJSON *node_catalog_json(void) {
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; arr && i < NTYPES; i++) {
    cJSON *e = catalog_entry(types[i]);
    if (!e) {
      cJSON_Delete(arr);
      return NULL;
    }
    cJSON_AddItemToArray(arr, e);
  }
  return arr;
}
