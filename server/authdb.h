/* authdb: this process's mirror of the login sessions and API keys stored in PostgreSQL, so
 * that auth.c can check a request without a query.
 *
 * Entries are keyed by the hex BLAKE2b hash of the credential (the database never sees the
 * credential itself). The mirror is loaded at start, reloaded every minute (in case a NOTIFY
 * was lost while the listening connection was down), and kept current between reloads by the
 * 'flowd_auth' NOTIFYs that triggers in schema/003_people.sql raise on every change. It may
 * lag the database by a notification's delay; a credential it does not know is fetched once
 * (authdb_fetch) and remembered, also when invalid (for a few seconds). Everything lives on
 * the loop. */
#ifndef FLOWD_AUTHDB_H
#define FLOWD_AUTHDB_H
#include <stddef.h>
#include <stdint.h>
#include "server/auth.h"

struct server;

enum authdb_found {
  AUTHDB_MISS,  /* unknown here: fetch it */
  AUTHDB_FOUND, /* valid; *out filled */
  AUTHDB_DENIED /* known to be invalid (expired, revoked, never existed) */
};

struct authdb_session {
  char staff_id[64];
  enum auth_role role; /* the staff member's access role */
  char csrf[65];
  int64_t expires_ms;
};

struct authdb_key {
  char id[64];
  unsigned scopes;  /* AUTH_SCOPE_* */
  int has_secret;   /* requests must be signed */
};

/* Starts the mirror: LISTEN flowd_auth, the first load, the periodic reload. */
int authdb_start(struct server *srv);
/* Stops the timer and frees every entry; answers that arrive later are dropped. */
void authdb_stop(void);

/* A new credential: prefix and 64 random hex digits (32 bytes) into out. */
void authdb_random(char *out, size_t len, const char *prefix);
/* hex BLAKE2b-256 of token into out (65 bytes). */
void authdb_hash(const char *token, char out[65]);

enum authdb_found authdb_session(const char *hash, struct authdb_session *out);
enum authdb_found authdb_key(const char *hash, struct authdb_key *out);
/* Copies the key's HMAC secret into buf; returns 0, or ERR_NOTFOUND when it has none. */
int authdb_key_secret(const char *hash, char *buf, int len);

/* Looks the credential up in the database and puts the answer in the mirror; then calls
 * done(data, rc) with 0 or the database's ERR_*, exactly once, from the loop, never from
 * inside this call. Returns 0, or ERR_NOMEM (and done is not called). */
int authdb_fetch(const char *hash, int is_key, void (*done)(void *data, int rc), void *data);

/* Records use: slides the session's expiry (written through to the database at most every
 * minute), or the key's last_used_at. */
void authdb_touch_session(const char *hash);
void authdb_touch_key(const char *hash);

/* A session just committed by this process (login): known at once, without waiting for
 * the NOTIFY. */
void authdb_put_session(const char *hash, const struct authdb_session *s);
/* A session this process just ended (logout). */
void authdb_drop_session(const char *hash);
/* Forgets what this process just changed, without waiting for the NOTIFY: the sessions of
 * staff_id except keep_hash (may be NULL), after a password, access or deletion change; the
 * key with id key_id, after its revocation. */
void authdb_forget_staff(const char *staff_id, const char *keep_hash);
void authdb_forget_key(const char *key_id);

#endif
