/* routes: every HTTP route of flowd, in one table. */
#include <stddef.h>
#include "server/api.h"
#include "server/http.h"
#include "server/server.h"

const struct http_route server_routes[] = {
    {HTTP_GET, "/healthz", api_healthz, NULL},
    {HTTP_GET, "/metrics", api_metrics, NULL},
    {0, NULL, NULL, NULL},
};
