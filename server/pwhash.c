/* pwhash: password jobs on the thread pool. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "graph/err.h"
#include "server/pwhash.h"

struct job {
  uv_work_t work;
  char *password;
  char hash[crypto_pwhash_STRBYTES];
  int have_hash; /* verify: hash holds the stored hash */
  int ok;        /* hash: hashing worked; verify: the password matched */
  pwhash_hash_cb hash_cb;
  pwhash_verify_cb verify_cb;
  void *data;
};

static void run_hash(uv_work_t *w) {
  struct job *j = w->data;
  j->ok = crypto_pwhash_str(j->hash, j->password, strlen(j->password),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
}

static void run_verify(uv_work_t *w) {
  struct job *j = w->data;
  if (!j->have_hash) {
    char dummy[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(dummy, j->password, strlen(j->password),
                          crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
      dummy[0] = '\0'; /* only the time it took matters */
    j->ok = 0;
    return;
  }
  j->ok = crypto_pwhash_str_verify(j->hash, j->password, strlen(j->password)) == 0;
}

static void job_free(struct job *j) {
  sodium_memzero(j->password, strlen(j->password));
  free(j->password);
  sodium_memzero(j->hash, sizeof j->hash);
  free(j);
}

static void after(uv_work_t *w, int status) {
  struct job *j = w->data;
  int ok = status == 0 && j->ok;
  if (j->hash_cb)
    j->hash_cb(j->data, ok ? j->hash : NULL);
  else
    j->verify_cb(j->data, ok);
  job_free(j);
}

static struct job *job_new(const char *password, void *data) {
  struct job *j = calloc(1, sizeof *j);
  if (!j)
    return NULL;
  j->password = strdup(password);
  if (!j->password) {
    free(j);
    return NULL;
  }
  j->work.data = j;
  j->data = data;
  return j;
}

int pwhash_hash(uv_loop_t *loop, const char *password, pwhash_hash_cb cb, void *data) {
  struct job *j = job_new(password, data);
  if (!j)
    return ERR_NOMEM;
  j->hash_cb = cb;
  if (uv_queue_work(loop, &j->work, run_hash, after) != 0) {
    job_free(j);
    return ERR_NOMEM;
  }
  return 0;
}

int pwhash_verify(uv_loop_t *loop, const char *hash, const char *password, pwhash_verify_cb cb,
                  void *data) {
  struct job *j = job_new(password, data);
  if (!j)
    return ERR_NOMEM;
  j->verify_cb = cb;
  if (hash && strlen(hash) < sizeof j->hash) {
    strcpy(j->hash, hash);
    j->have_hash = 1;
  }
  if (uv_queue_work(loop, &j->work, run_verify, after) != 0) {
    job_free(j);
    return ERR_NOMEM;
  }
  return 0;
}
