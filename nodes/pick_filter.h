/* pick_filter: the candidate filters of a pick that run in C, after the database has applied
 * the ones it can (staff ids, roles, teams, page, online): `where` (a condition that sees the
 * candidate as `staff` plus the run scope), the team's and the member's domain (matched
 * against the subject record, with its `customer`), and the member's max_per_day.
 *
 * Team domains are compiled once per distinct domain text and kept in a process-wide cache
 * (a team's domain changing makes a new text, so nothing goes stale). */
#ifndef FLOWD_PICK_FILTER_H
#define FLOWD_PICK_FILTER_H
#include <cjson/cJSON.h>
#include <stddef.h>

struct step;
struct picker_candidates;

struct pick_cand {
  const char *id;   /* points into the gathered rows */
  const char *team; /* the team it is eligible through, or NULL */
  int online;
  long long load;   /* open tasks and conversations owned (least_loaded only) */
  const cJSON *staff; /* their profile (flowd_staff_profile), in the gathered rows */
};

/* The eligible candidates, in round-robin order. */
struct pick_pool {
  struct pick_cand *v;
  size_t n;
};

/* Fills pool from rows (GATHER's "c", ordered by team order, member position, id): without
 * teams every row that passes `where`; with teams the eligible members of the first listed
 * team that matches the subject record and has any. rec is the subject record (may be NULL).
 * Returns 0, or -1 with a message in err (a domain or condition that does not evaluate). */
int pick_filter(struct step *s, const struct picker_candidates *c, const cJSON *rec,
                const cJSON *rows, struct pick_pool *pool, char *err, size_t len);

const struct pick_cand *pick_pool_find(const struct pick_pool *p, const char *id);
/* Keeps only online candidates; returns how many are left. */
size_t pick_pool_keep_online(struct pick_pool *p);
/* Keeps only the candidates with the smallest load. */
void pick_pool_keep_least_loaded(struct pick_pool *p);
void pick_pool_free(struct pick_pool *p);

/* A staff profile from the database with the keys of its attrs lifted to the top (the
 * standard fields win over attrs of the same name): a new object. */
cJSON *pick_profile(const cJSON *staff);

#endif
