/* pick: the run side of a picker (picker.h): chooses one staff member for action.assign,
 * action.create_task's assignee and action.notify's staff (SPEC §1, action.assign).
 *
 * One pick is: the first rule whose `when` holds decides the source (its staff or candidates,
 * else the top-level ones); a fixed staff member is taken as is (if they exist); candidates
 * are read from the database in one query (staff, presence, teams, load, the customer's last
 * assignment) and filtered here (`where`, team and member domains, max_per_day); stickiness
 * may keep the current owner or the customer's last staff member; otherwise the strategy
 * picks: round_robin takes the next turn of a durable cursor (one atomic upsert, so runs on
 * any number of processes each get their own turn), least_loaded the candidate with the
 * fewest open tasks and conversations (ties take turns the same way).
 *
 * Invariant: a pick reports exactly once: it calls cb with the result, or it fails the step
 * (a condition or template that does not evaluate, a database error) and never calls cb. */
#ifndef FLOWD_PICK_H
#define FLOWD_PICK_H
#include <cjson/cJSON.h>

struct step;
struct picker;

struct pick_result {
  const char *staff;    /* the staff member picked; NULL: nobody is eligible */
  const char *team;     /* the team they were picked through, or NULL */
  const char *previous; /* the subject record's owner before the pick, or NULL */
  const char *customer; /* the subject's customer id, or NULL */
  const char *scope;    /* the rendered sticky_scope ("" when none) */
  /* The staff member as flows see them ({id, name, email, phone, roles, pages, attrs, access,
   * online} plus the keys of attrs), or NULL: what `staff` in the scope should become. */
  const cJSON *profile;
  /* {staff, team, strategy, rule (index or null), sticky, reason, candidates, previous}:
   * the callback takes it over (hands it to step_done or frees it). */
  cJSON *output;
};

/* Called once with the result; the strings in res live until the callback returns. */
typedef void (*pick_cb)(struct step *s, struct pick_result *res);

/* Picks for p in step s. subject is the record kind in scope that team domains, stickiness
 * and reassignment look at (NULL: none); kind is the kind this node records its assignments
 * under (pick_record), whose latest one per customer sticky customer reuses. Reports through
 * cb or fails the step (see above). */
void pick_run(struct step *s, const struct picker *p, const char *subject, const char *kind,
              pick_cb cb);

/* Adds to the step's transaction the assignment of record kind/id to res->staff (what sticky
 * customer and max_per_day read later). Nothing in test runs or when nobody was picked. */
void pick_record(struct step *s, const struct pick_result *res, const char *kind,
                 const char *id);

/* The record a create_task or notify picks for: the first kind present in the scope among
 * order, lead, conversation, task and customer; NULL when there is none. */
const char *pick_subject(struct step *s);

#endif
