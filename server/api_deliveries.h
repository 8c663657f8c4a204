/* api_deliveries: the providers that carry outbound messages, and the deliveries themselves.
 *
 * GET/POST /api/providers, GET/PUT/DELETE /api/providers/{id} (secrets are shown as
 * "********"; sending "********" back in a PUT keeps the stored secret), and
 * GET /api/deliveries?run=&status=&channel=&limit=&before= (newest first; `before` is a
 * delivery id for the next page), GET /api/deliveries/{id}. Reads need a manager, provider
 * writes an admin. */
#ifndef FLOWD_API_DELIVERIES_H
#define FLOWD_API_DELIVERIES_H

struct http_req;

void api_providers_list(struct http_req *req);
void api_providers_create(struct http_req *req);
void api_providers_get(struct http_req *req);
void api_providers_update(struct http_req *req);
void api_providers_delete(struct http_req *req);
void api_deliveries_list(struct http_req *req);
void api_deliveries_get(struct http_req *req);

#endif
