/* server: the state of one flowd process, shared by the HTTP handlers.
 * Owned by main(); everything here lives on the one loop. */
#ifndef FLOWD_SERVER_H
#define FLOWD_SERVER_H
#include <stdint.h>
#include <uv.h>
#include "server/config.h"
#include "server/http.h"

struct db;

struct server {
  uv_loop_t *loop;
  const struct config *cfg;
  struct db *db;
  uint64_t started_ms;  /* uv_now at start */
  double loop_lag_s;    /* the last measured loop lag */
  double loop_lag_max_s;
  int schema_version;   /* migrations applied */
};

/* The route table, terminated by an entry with a NULL pattern. */
extern const struct http_route server_routes[];

#endif
