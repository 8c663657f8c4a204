/* people_client: what the people and access tests share: logging in (keeping the session
 * cookie and CSRF token), requests as a session or with a bearer token, and making staff
 * members and API keys through the admin API. */
#ifndef FLOWD_TEST_PEOPLE_CLIENT_H
#define FLOWD_TEST_PEOPLE_CLIENT_H
#include <stddef.h>
#include "tests/helpers.h"

struct session {
  char cookie[200];      /* "flowd_session=fs_..." */
  char set_cookie[400];  /* the whole Set-Cookie header of the login */
  char csrf[80];
};

/* POST /api/login; returns the status and, on 200, fills s. */
long pc_login(const struct flowd_proc *p, const char *email, const char *password,
              struct session *s);
/* Like pc_login, but fails the test unless the login works. */
void pc_must_login(const struct flowd_proc *p, const char *email, const char *password,
                   struct session *s);

/* A request with the session cookie; csrf: also send its X-CSRF-Token. */
int pc_session_do(const struct flowd_proc *p, const struct session *s, int csrf,
                  const char *method, const char *path, const char *body, struct http_resp *out);
/* A request with "Authorization: Bearer token" and extra headers (may be NULL). */
int pc_bearer_do(const struct flowd_proc *p, const char *token, const char *method,
                 const char *path, const char *body, const char **extra, struct http_resp *out);

/* Creates a staff member through the admin API (password and email may be NULL); fails the
 * test unless 201. */
void pc_add_staff(const struct flowd_proc *p, const char *id, const char *email,
                  const char *password, const char *access);
/* Creates an API key; scopes is a JSON array text. key (and secret, when hmac) receive the
 * values shown once; id (may be NULL) the key's id. */
void pc_add_key(const struct flowd_proc *p, const char *scopes, int hmac, char *key,
                char *secret, char *id);

/* The error code / details.field of an error response, or NULL. */
const char *pc_err_code(const struct http_resp *r);
const char *pc_err_field(const struct http_resp *r);

/* Fails the test (naming the request and the body) unless r has status want. */
#define PC_EXPECT(r, want, what)                                                         \
  do {                                                                                   \
    if ((r).status != (want))                                                            \
      test_fail(__FILE__, __LINE__, "%s: status %ld, want %ld; body: %s", (what),       \
                (r).status, (long)(want), (r).body ? (r).body : "");                     \
  } while (0)

#endif
