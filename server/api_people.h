/* api_people: the handlers of people and access (SPEC §2): staff, teams, presence, login
 * sessions, API keys and the audit log. Who may call what:
 *
 *   route                          staff            manager              admin
 *   POST /api/login                (open)
 *   POST /api/logout, GET /api/me  any authenticated caller (API keys included)
 *   GET  /api/staff                public fields    yes                  yes
 *   POST /api/staff                -                access "staff" only  yes
 *   GET  /api/staff/{id}           self             yes                  yes
 *   PATCH /api/staff/{id}          self: name,      self as staff; others yes
 *                                  phone, password  with access "staff"
 *   DELETE /api/staff/{id}         -                access "staff" only  yes
 *   PUT  /api/staff/{id}/presence  self             yes                  yes
 *   GET  /api/presence             yes              yes                  yes
 *   GET  /api/teams[/{id}]         yes              yes                  yes
 *   POST/PATCH/DELETE teams        -                yes                  yes
 *   /api/keys, GET /api/audit      -                -                    yes */
#ifndef FLOWD_API_PEOPLE_H
#define FLOWD_API_PEOPLE_H

struct http_req;

/* api_staff.c */
void api_staff_list(struct http_req *req);
void api_staff_create(struct http_req *req);
void api_staff_get(struct http_req *req);
void api_staff_update(struct http_req *req);
void api_staff_delete(struct http_req *req);

/* api_presence.c */
void api_presence_put(struct http_req *req);
void api_presence_list(struct http_req *req);

/* api_teams.c */
void api_teams_list(struct http_req *req);
void api_teams_create(struct http_req *req);
void api_teams_get(struct http_req *req);
void api_teams_update(struct http_req *req);
void api_teams_delete(struct http_req *req);

/* api_login.c */
void api_login(struct http_req *req);
void api_logout(struct http_req *req);
void api_me(struct http_req *req);

/* api_keys.c */
void api_keys_list(struct http_req *req);
void api_keys_create(struct http_req *req);
void api_keys_delete(struct http_req *req);
void api_audit_list(struct http_req *req);

/* Write batches here run their statements unnamed (not prepared): a batch whose check or
 * constraint fails aborts the pipeline, and a Prepare sent after the failing statement never
 * happens although db.c then believes the name prepared on that connection.
 *
 * SQL shared by the staff and login handlers: a staff row (alias s) as JSON. */
#define PEOPLE_TEAMS_OF                                                                   \
  "(SELECT coalesce(json_agg(m.team_id ORDER BY m.team_id), '[]') FROM team_members m "   \
  "WHERE m.staff_id = s.id)"
#define PEOPLE_ONLINE_OF                                                                  \
  "coalesce((SELECT p.online FROM staff_presence p WHERE p.staff_id = s.id), false)"
/* The full staff JSON, for managers, admins and the member themselves. */
#define STAFF_JSON                                                                        \
  "json_build_object('id', s.id, 'name', s.name, 'email', s.email, 'phone', s.phone, "    \
  "'roles', s.roles, 'teams', " PEOPLE_TEAMS_OF ", 'pages', s.pages, 'attrs', s.attrs, "  \
  "'access', s.access_role, 'has_password', s.password_hash IS NOT NULL, 'online', "      \
  PEOPLE_ONLINE_OF ", 'created_at', s.created_at, 'updated_at', s.updated_at)"
/* What staff members see of each other: no contact details, no attrs. */
#define STAFF_PUBLIC_JSON                                                                 \
  "json_build_object('id', s.id, 'name', s.name, 'roles', s.roles, 'teams', "             \
  PEOPLE_TEAMS_OF ", 'pages', s.pages, 'online', " PEOPLE_ONLINE_OF ")"

#endif
