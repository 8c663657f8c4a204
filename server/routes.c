/* routes: every HTTP route of flowd, in one table. Literal routes come before the
 * {param} routes they would otherwise match (/api/flows/validate before /api/flows/{id}). */
#include <stddef.h>
#include "server/api.h"
#include "server/api_deliveries.h"
#include "server/api_pages.h"
#include "server/api_people.h"
#include "server/http.h"
#include "server/server.h"

const struct http_route server_routes[] = {
    {HTTP_GET, "/healthz", api_healthz, NULL},
    {HTTP_GET, "/metrics", api_metrics, NULL},
    {HTTP_GET, "/api/node-types", api_node_types, NULL},
    {HTTP_POST, "/api/conditions/eval", api_conditions_eval, NULL},
    {HTTP_POST, "/api/templates/render", api_templates_render, NULL},
    {HTTP_GET, "/api/flows", api_flows_list, NULL},
    {HTTP_POST, "/api/flows", api_flows_create, NULL},
    {HTTP_POST, "/api/flows/validate", api_flows_validate, NULL},
    {HTTP_POST, "/api/flows/import", api_flows_import, NULL},
    {HTTP_GET, "/api/flows/{id}", api_flows_get, NULL},
    {HTTP_PUT, "/api/flows/{id}", api_flows_update, NULL},
    {HTTP_DELETE, "/api/flows/{id}", api_flows_delete, NULL},
    {HTTP_POST, "/api/flows/{id}/publish", api_flows_publish, NULL},
    {HTTP_POST, "/api/flows/{id}/activate", api_flows_activate, NULL},
    {HTTP_POST, "/api/flows/{id}/deactivate", api_flows_deactivate, NULL},
    {HTTP_GET, "/api/flows/{id}/versions", api_flows_versions, NULL},
    {HTTP_GET, "/api/flows/{id}/versions/{n}", api_flows_version, NULL},
    {HTTP_GET, "/api/flows/{id}/export", api_flows_export, NULL},
    {HTTP_POST, "/api/flows/{id}/test", api_flows_test, NULL},
    {HTTP_POST, "/api/events", api_events_post, NULL},
    {HTTP_GET, "/api/runs", api_runs_list, NULL},
    {HTTP_GET, "/api/runs/{id}", api_runs_get, NULL},
    {HTTP_POST, "/api/runs/{id}/cancel", api_runs_cancel, NULL},
    {HTTP_POST, "/api/runs/{id}/retry", api_runs_retry, NULL},
    {HTTP_GET, "/api/records/{kind}", api_records_list, NULL},
    {HTTP_GET, "/api/records/{kind}/{id}", api_records_get, NULL},
    {HTTP_PUT, "/api/records/{kind}/{id}", api_records_write, NULL},
    {HTTP_PATCH, "/api/records/{kind}/{id}", api_records_write, NULL},
    /* deliveries */
    {HTTP_GET, "/api/providers", api_providers_list, NULL},
    {HTTP_POST, "/api/providers", api_providers_create, NULL},
    {HTTP_GET, "/api/providers/{id}", api_providers_get, NULL},
    {HTTP_PUT, "/api/providers/{id}", api_providers_update, NULL},
    {HTTP_DELETE, "/api/providers/{id}", api_providers_delete, NULL},
    {HTTP_GET, "/api/deliveries", api_deliveries_list, NULL},
    {HTTP_GET, "/api/deliveries/{id}", api_deliveries_get, NULL},
    /* people and access */
    {HTTP_POST, "/api/login", api_login, NULL},
    {HTTP_POST, "/api/logout", api_logout, NULL},
    {HTTP_GET, "/api/me", api_me, NULL},
    {HTTP_GET, "/api/staff", api_staff_list, NULL},
    {HTTP_POST, "/api/staff", api_staff_create, NULL},
    {HTTP_GET, "/api/staff/{id}", api_staff_get, NULL},
    {HTTP_PATCH, "/api/staff/{id}", api_staff_update, NULL},
    {HTTP_DELETE, "/api/staff/{id}", api_staff_delete, NULL},
    {HTTP_PUT, "/api/staff/{id}/presence", api_presence_put, NULL},
    {HTTP_GET, "/api/presence", api_presence_list, NULL},
    {HTTP_GET, "/api/teams", api_teams_list, NULL},
    {HTTP_POST, "/api/teams", api_teams_create, NULL},
    {HTTP_GET, "/api/teams/{id}", api_teams_get, NULL},
    {HTTP_PATCH, "/api/teams/{id}", api_teams_update, NULL},
    {HTTP_DELETE, "/api/teams/{id}", api_teams_delete, NULL},
    {HTTP_GET, "/api/keys", api_keys_list, NULL},
    {HTTP_POST, "/api/keys", api_keys_create, NULL},
    {HTTP_DELETE, "/api/keys/{id}", api_keys_delete, NULL},
    {HTTP_GET, "/api/audit", api_audit_list, NULL},
    /* pages */
    {HTTP_GET, "/api/pages", api_pages_list, NULL},
    {HTTP_GET, "/api/pages/{id}", api_pages_get, NULL},
    {HTTP_PUT, "/api/pages/{id}", api_pages_put, NULL},
    {0, NULL, NULL, NULL},
};
