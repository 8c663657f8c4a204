/* api: the HTTP handlers, one group per file (api_health.c, api_flows.c, ...). Each handler
 * replies exactly once, now or when its database work completes. */
#ifndef FLOWD_API_H
#define FLOWD_API_H

struct http_req;

/* api_health.c */
void api_healthz(struct http_req *req);
void api_metrics(struct http_req *req);

/* api_flows.c */
void api_flows_list(struct http_req *req);
void api_flows_create(struct http_req *req);
void api_flows_get(struct http_req *req);
void api_flows_update(struct http_req *req);
void api_flows_delete(struct http_req *req);
void api_flows_validate(struct http_req *req);
void api_flows_import(struct http_req *req);

/* api_versions.c */
void api_flows_publish(struct http_req *req);
void api_flows_activate(struct http_req *req);
void api_flows_deactivate(struct http_req *req);
void api_flows_versions(struct http_req *req);
void api_flows_version(struct http_req *req);
void api_flows_export(struct http_req *req);

/* api_events.c */
void api_events_post(struct http_req *req);

/* api_runs.c */
void api_runs_list(struct http_req *req);
void api_runs_get(struct http_req *req);
void api_runs_cancel(struct http_req *req);
void api_runs_retry(struct http_req *req);
void api_flows_test(struct http_req *req);

/* api_records.c */
void api_records_list(struct http_req *req);
void api_records_get(struct http_req *req);
void api_records_write(struct http_req *req);

/* api_tools.c */
void api_node_types(struct http_req *req);
void api_conditions_eval(struct http_req *req);
void api_templates_render(struct http_req *req);

#endif
