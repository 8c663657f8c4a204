/* api: the HTTP handlers, one group per file (api_health.c, api_flows.c, ...). Each handler
 * replies exactly once, now or when its database work completes. */
#ifndef FLOWD_API_H
#define FLOWD_API_H

struct http_req;

void api_healthz(struct http_req *req);
void api_metrics(struct http_req *req);

#endif
