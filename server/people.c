/* people: starts and stops authdb and presence together. */
#include "server/authdb.h"
#include "server/people.h"
#include "server/presence.h"

int people_start(struct server *srv) {
  int rc = authdb_start(srv);
  return rc ? rc : presence_start(srv);
}

void people_stop(void) {
  presence_stop();
  authdb_stop();
}
