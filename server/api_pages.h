/* api_pages: fan-page settings (GET /api/pages, GET/PUT /api/pages/{id}) and who may see
 * which conversations and tasks. Managers and admins read pages; admins write them.
 *
 * Visibility of records to a staff member (managers and admins see every record):
 *  - task: only their own (owner_id is them);
 *  - conversation: only those of pages they work on (staff.pages has data.page_id), and on a
 *    page with private_assignment only those assigned to them;
 *  - every other kind: none. */
#ifndef FLOWD_API_PAGES_H
#define FLOWD_API_PAGES_H

struct http_req;

void api_pages_list(struct http_req *req);
void api_pages_get(struct http_req *req);
void api_pages_put(struct http_req *req);

/* 1 when a staff member may read records of kind at all; else replies 403 and returns 0. */
int pages_staff_may_read(struct http_req *req, const char *kind);

/* SQL: true when the record row `alias` is visible to the staff member whose id is the text
 * parameter `param` ("$6"); a NULL parameter (a manager or admin) sees everything. */
#define PAGES_VISIBLE(alias, param)                                                        \
  "(" param "::text IS NULL OR (" alias ".kind = 'task' AND " alias ".owner_id = " param   \
  ") OR (" alias ".kind = 'conversation' AND EXISTS (SELECT 1 FROM staff vs WHERE vs.id = " \
  param " AND (" alias ".data->>'page_id') = ANY (vs.pages)) AND (" alias ".owner_id = "    \
  param " OR NOT coalesce((SELECT vp.private_assignment FROM pages vp WHERE vp.id = "       \
  alias ".data->>'page_id'), false))))"

#endif
